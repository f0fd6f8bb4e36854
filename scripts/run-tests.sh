#!/bin/sh
# Runs the whole suite the way CI does and ends with one plain line
# "N passed, N failed". Exit status is non-zero on any failure.
#   scripts/run-tests.sh          gcc build + suite, clang ASan+UBSan build +
#                                 suite, unit tests under valgrind, libFuzzer
#                                 targets (FUZZ_SECONDS each, default 60),
#                                 style checks, the macOS compile gate
#   scripts/run-tests.sh quick    the gcc build and its suite only
set -u
cd "$(dirname "$0")/.."
mode=${1:-full}
logs=""
extra_pass=0
extra_fail=0

note() { printf '\n=== %s\n' "$*"; }

# A step that is one test of its own (a build, a style check).
check() {
    name=$1; shift
    if "$@"; then
        extra_pass=$((extra_pass + 1)); echo "ok: $name"
    else
        extra_fail=$((extra_fail + 1)); echo "FAILED: $name"
    fi
}

run_suite() {
    dir=$1; shift
    # Each meson test has its own timeout; a hung test is killed.
    meson test -C "$dir" --print-errorlogs "$@"
    logs="$logs $dir/meson-logs/testlog.json"
}

note "gcc build (-Werror)"
check "gcc build" sh -c '[ -f build/build.ninja ] || CC=gcc meson setup build >/dev/null; meson configure build -Dtests=true >/dev/null && ninja -C build'
if [ -f build/build.ninja ]; then
    note "suite (gcc)"
    run_suite build
fi

if [ "$mode" != quick ]; then
    note "clang build with ASan+UBSan (-Werror)"
    check "clang asan build" sh -c '[ -f build-asan/build.ninja ] || CC=clang meson setup build-asan -Dtests=true --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false >/dev/null; ninja -C build-asan'
    if [ -f build-asan/build.ninja ]; then
        note "suite under ASan+UBSan"
        # The load test runs 60 s in the plain build; 20 s is enough here.
        LOAD_SECONDS=20 LOAD_RSS_CHECK=0 RPC_LATENCY_LIMIT=5 \
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            run_suite build-asan --timeout-multiplier 2
    fi

    note "the daemon under valgrind (protocol replay, life cycle)"
    PLUGIN_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --quiet" \
        meson test -C build protocol lifecycle --print-errorlogs \
        --logbase daemon-valgrind --timeout-multiplier 10
    logs="$logs build/meson-logs/daemon-valgrind.json"

    note "unit tests under valgrind"
    meson test -C build --suite unit --print-errorlogs --logbase valgrind \
        --wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --quiet' \
        --timeout-multiplier 10
    # meson appends the wrapper's name: valgrind-valgrind.json.
    vg=$(ls build/meson-logs/valgrind*.json 2>/dev/null | head -n 1)
    logs="$logs ${vg:-build/meson-logs/valgrind.json}"

    note "fuzzing (libFuzzer, ${FUZZ_SECONDS:-60} s per target)"
    check "fuzz" scripts/fuzz.sh "${FUZZ_SECONDS:-60}"

    note "style and safety checks"
    check "no banned calls" scripts/check-banned.sh
    check "clang-format" scripts/check-format.sh

    note "macOS compile gate (zig cc: aarch64-macos, x86_64-macos)"
    check "macos compile gate" scripts/check-macos.sh
fi

note "summary"
python3 - "$extra_pass" "$extra_fail" $logs <<'PY'
import json, sys
passed, failed = int(sys.argv[1]), int(sys.argv[2])
skipped = 0
bad = []
for path in sys.argv[3:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        bad.append("missing log " + path)
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        r = t.get("result")
        label = "%s (%s)" % (t.get("name"), path.split("/")[0])
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            bad.append("%s: %s" % (label, r))
for b in bad:
    print("failed:", b)
if skipped:
    print("%d skipped" % skipped)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
