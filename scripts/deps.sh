#!/bin/sh
# Installs what the project needs and is missing, idempotently, saying what
# it installs. Usage: scripts/deps.sh build|run|test|fuzz
#   build  compiler, meson, ninja, pkg-config and the libraries
#   run    build + QEMU and what `make vmx-tiny` needs (the qemu backend)
#   test   run + cmocka, clang, valgrind, openssh-client (the whole suite;
#          ssh and ssh-keygen for the tiny guest test), dnsmasq-base and
#          iproute2 (the namespaces of the QEMU bridge-mode test and of the
#          TLS test), openssl (the TLS test's CA and certificates), mandoc
#          (the manual pages' lint) and ruby (loads the Homebrew formula in
#          tests/integration/test_install.py)
#   bench  test + xfsprogs (copy-on-write figures on a loop-mounted XFS)
set -eu

what=${1:-build}
cmds=""

deb_build="gcc meson ninja-build pkg-config python3 git libmicrohttpd-dev libjansson-dev libarchive-dev zlib1g-dev libssl-dev"
deb_run="qemu-system-x86 qemu-utils xorriso busybox-static isolinux syslinux-common cpio"
deb_test="libcmocka-dev clang clang-format valgrind curl libclang-rt-dev openssh-client mandoc ruby dnsmasq-base iproute2 openssl"
deb_bench="xfsprogs"
# Wanted as commands, not as packages: a Node.js from elsewhere (NodeSource)
# already brings npm, and Debian's npm package would conflict with it.
# npm installs zig for the macOS compile gate (scripts/check-macos.sh).
cmd_test="node:nodejs npm:npm"
brew_build="meson ninja pkg-config libmicrohttpd jansson libarchive openssl@3"
brew_run="qemu xorriso"
brew_test="cmocka"

case $what in
build) deb="$deb_build"; brew="$brew_build" ;;
run) deb="$deb_build $deb_run"; brew="$brew_build $brew_run" ;;
test) deb="$deb_build $deb_run $deb_test"; brew="$brew_build $brew_run $brew_test"; cmds="$cmd_test" ;;
fuzz) deb="$deb_build $deb_run $deb_test"; brew="$brew_build $brew_run $brew_test" ;;
bench) deb="$deb_build $deb_run $deb_test $deb_bench"; brew="$brew_build $brew_run $brew_test"; cmds="$cmd_test" ;;
*) echo "usage: $0 build|run|test|fuzz|bench" >&2; exit 2 ;;
esac

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for p in $deb; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $p"
        fi
    done
    for e in $cmds; do
        command -v "${e%%:*}" >/dev/null 2>&1 || missing="$missing ${e#*:}"
    done
    [ -z "$missing" ] && exit 0
    echo "deps: installing$missing"
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "deps: need root to install$missing (run as root or install sudo)" >&2
            exit 1
        }
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the package lists when they are missing or a day old.
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
        $sudo apt-get update -q
    fi
    # shellcheck disable=SC2086
    $sudo apt-get install -y -q --no-install-recommends $missing
elif command -v brew >/dev/null 2>&1; then
    missing=""
    for p in $brew; do
        brew list --versions "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] && exit 0
    echo "deps: brew install$missing"
    # shellcheck disable=SC2086
    brew install $missing
else
    echo "deps: no apt-get or brew here; install by hand: $deb" >&2
    exit 1
fi
