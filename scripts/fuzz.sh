#!/bin/sh
# Runs every libFuzzer target for a bounded time (default 60 s each, two at
# a time) with clang, ASan and UBSan. Seeds: tests/data/fuzz/<target>/,
# tests/data/vectors and ../shared/vectors/vmx when present. A crash fails the run and leaves the
# input in build-fuzz/artifacts/<target>/: copy it into
# tests/data/fuzz/<target>/ so it becomes a regression test, then fix it.
# Usage: scripts/fuzz.sh [SECONDS]
set -u
cd "$(dirname "$0")/.."
secs=${1:-60}
[ -n "$secs" ] || secs=60
targets="jsonrpc vmx leases http"
shared=tests/data/vectors		# our copy of the recorded InfraKit traffic

if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        --buildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C build-fuzz >/dev/null || { echo "fuzz build failed"; exit 1; }

seed() {
    t=$1; c=build-fuzz/corpus/$t
    mkdir -p "$c" "build-fuzz/artifacts/$t"
    cp tests/data/fuzz/"$t"/* "$c"/ 2>/dev/null
    case $t in
    jsonrpc)
        if [ -f "$shared/infrakit-rpc.jsonl" ]; then
            python3 - "$shared/infrakit-rpc.jsonl" "$c" <<'PY'
import sys
src, out = sys.argv[1], sys.argv[2]
for i, raw in enumerate(open(src, "rb").read().splitlines()):
    if not raw.strip():
        continue
    a = raw.index(b'"request":') + len(b'"request":')
    b = raw.index(b',"response_example":')
    open("%s/vector-%02d.json" % (out, i), "wb").write(raw[a:b])
PY
        fi ;;
    http) cp "$shared"/http-request-*.txt "$c"/ 2>/dev/null ;;
    vmx) cp ../shared/vectors/vmx/*.vmx "$c"/ 2>/dev/null; cp tests/data/vmx/*.vmx "$c"/ 2>/dev/null ;;
    esac
    return 0
}

run() {
    t=$1
    seed "$t"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build-fuzz/tests/fuzz_$t" "build-fuzz/corpus/$t" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="build-fuzz/artifacts/$t/" -print_final_stats=1 \
        >"build-fuzz/fuzz-$t.log" 2>&1
    rc=$?
    execs=$(grep -m1 'stat::number_of_executed_units' "build-fuzz/fuzz-$t.log" | awk '{print $2}')
    if [ $rc -eq 0 ]; then
        echo "fuzz $t: ${secs} s, ${execs:-?} inputs, no crash"
    else
        echo "fuzz $t: FAILED (exit $rc); input in build-fuzz/artifacts/$t/, log build-fuzz/fuzz-$t.log"
        tail -30 "build-fuzz/fuzz-$t.log"
    fi
    return $rc
}

fail=0
set -- $targets
while [ $# -gt 0 ]; do
    run "$1" & p1=$!
    p2=""
    if [ $# -gt 1 ]; then run "$2" & p2=$!; fi
    wait $p1 || fail=1
    [ -n "$p2" ] && { wait $p2 || fail=1; }
    shift; [ $# -gt 0 ] && shift
done
exit $fail
