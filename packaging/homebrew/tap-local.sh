#!/bin/sh
# Installs the plugin with Homebrew from this checkout. Homebrew installs
# formulae only from taps, so this makes a local tap (local/infrakit, no
# git, no network) whose formula is a symlink to
# packaging/homebrew/infrakit-instance-vmware-fusion.rb, then runs
# `brew install --HEAD` from it. Extra arguments go to brew install (e.g.
# --verbose). Run it again after `git pull` with --fetch-HEAD to upgrade:
#   packaging/homebrew/tap-local.sh            # install
#   brew upgrade --fetch-HEAD infrakit-instance-vmware-fusion
#   brew services start infrakit-instance-vmware-fusion
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
name=infrakit-instance-vmware-fusion
command -v brew >/dev/null 2>&1 || {
    echo "tap-local: Homebrew (brew) is not installed" >&2
    exit 1
}
tap=$(brew --repository)/Library/Taps/local/homebrew-infrakit
if [ ! -d "$tap" ]; then
    brew tap-new --no-git local/infrakit >/dev/null
fi
mkdir -p "$tap/Formula"
ln -sf "$here/$name.rb" "$tap/Formula/$name.rb"
exec brew install --HEAD "$@" "local/infrakit/$name"
