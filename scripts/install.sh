#!/bin/sh
# `make install`: builds the program in BUILD and installs it with meson
# under PREFIX, staged under DESTDIR when that is set (packagers, tests).
# Usage: [DESTDIR=DIR] scripts/install.sh BUILD PREFIX
# The build directory's prefix is changed only when it differs, since any
# change makes meson reconfigure (the service files embed the prefix).
set -eu
build=${1:?usage: $0 BUILD PREFIX}
prefix=${2:?usage: $0 BUILD PREFIX}
case $prefix in
/*) ;;
*) echo "install: PREFIX must be an absolute path, not $prefix" >&2; exit 2 ;;
esac
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dtests=false --prefix="$prefix"
fi
current=$(meson introspect --buildoptions "$build" | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
if [ "$current" != "$prefix" ]; then
    meson configure "$build" --prefix="$prefix"
fi
ninja -C "$build" src/infrakit-instance-vmware-fusion
# Only the program is built above (a build with tests would otherwise build
# the whole suite first); everything else installed is a source file or was
# made when meson configured.
if [ -n "${DESTDIR:-}" ]; then
    meson install -C "$build" --no-rebuild --destdir "$DESTDIR"
else
    meson install -C "$build" --no-rebuild
fi
