#!/bin/sh
# Runs the whole suite the way CI does and ends with one plain line
# "N passed, N failed". Exit status is non-zero on any failure.
#   scripts/run-tests.sh          gcc build + suite, clang ASan+UBSan build +
#                                 suite, unit tests under valgrind, libFuzzer
#                                 targets (FUZZ_SECONDS each, default 30 here;
#                                 `make fuzz` alone: 60),
#                                 style and size checks, the manual pages, make
#                                 install and the service files, the macOS
#                                 compile gate
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

# A Python test file that meson does not run, counted like meson's
# integration tests (one result per test case): its output goes into a
# testlog line of its own for the summary below.
run_py() {
    name=$1; shift
    mkdir -p build/meson-logs
    out=$(python3 "$@" -v 2>&1)
    st=$?
    printf '%s\n' "$out"
    printf '%s\n' "$out" | python3 -c '
import json, sys
print(json.dumps({"name": "infrakit-instance-vmware-fusion:integration / " + sys.argv[1],
                  "result": "OK" if sys.argv[2] == "0" else "FAIL",
                  "stdout": sys.stdin.read()}))' "$name" "$st" >"build/meson-logs/$name-py.json"
    logs="$logs build/meson-logs/$name-py.json"
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

    note "clang build with ThreadSanitizer (-Werror)"
    check "clang tsan build" sh -c '[ -f build-tsan/build.ninja ] || CC=clang meson setup build-tsan -Dtests=true --buildtype=debug -Db_sanitize=thread -Db_lundef=false >/dev/null; ninja -C build-tsan'
    if [ -f build-tsan/build.ninja ]; then
        note "suite under ThreadSanitizer"
        # tests/tsan.supp names the races inside uninstrumented libraries
        # (with the reason for each); the project's own code has none.
        LOAD_SECONDS=20 LOAD_RSS_CHECK=0 RPC_LATENCY_LIMIT=5 CRASH_ITERATIONS=20 \
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
            run_suite build-tsan --timeout-multiplier 3
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

    note "fuzzing (libFuzzer, ${FUZZ_SECONDS:-30} s per target)"
    check "fuzz" scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

    note "style and safety checks"
    check "no banned calls" scripts/check-banned.sh
    check "clang-format" scripts/check-format.sh
    check "layers" scripts/check-layers.sh
    # Files within FILE_MAX lines, functions within FUNC_MAX (85).
    check "sizes" scripts/check-size.sh
    # mandoc -Tlint, and the pages in step with --help (scripts/check-man.sh).
    check "man pages" scripts/check-man.sh build/src/infrakit-instance-vmware-fusion

    note "make install, the systemd unit, the launchd agent, the Homebrew formula"
    run_py install tests/integration/test_install.py

    note "macOS compile gate (zig cc: aarch64-macos, x86_64-macos)"
    check "macos compile gate" scripts/check-macos.sh
fi

note "summary"
python3 - "$extra_pass" "$extra_fail" $logs <<'PY'
# Counts every check, every unit test program and every Python test case
# (a test file of 14 cases is 14 results): a skipped case is counted as
# skipped and named, never as passed. The last line is the one CI reads.
import json, re, sys
passed, failed = int(sys.argv[1]), int(sys.argv[2])
skipped = 0
bad, skips = [], []
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
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        ran = re.search(r"^Ran (\d+) tests? in", out, re.M)
        if ran and ":integration /" in (t.get("name") or ""):
            n = int(ran.group(1))
            k = len(re.findall(r"\.\.\. skipped", out))
            skips += ["%s: %s" % (label, m) for m in
                      re.findall(r"^(\S+ \([^)]*\)) \.\.\. skipped", out, re.M)]
            bad_cases = len(re.findall(r"^(?:FAIL|ERROR): ", out, re.M))
            if r in ("OK", "EXPECTEDFAIL") and bad_cases == 0:
                passed += n - k
                skipped += k
                continue
            failed += max(bad_cases, 1)
            passed += max(n - k - bad_cases, 0)
            skipped += k
            bad.append("%s: %s" % (label, r))
            continue
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
            skips.append(label)
        else:
            failed += 1
            bad.append("%s: %s" % (label, r))
for b in bad:
    print("failed:", b)
for s in skips:
    print("skipped:", s)
print("%d skipped" % skipped)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
