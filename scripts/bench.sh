#!/bin/sh
# `make bench`: builds a release build (build-bench) and prints one table of
# figures, measured here and now. Nothing is asserted: these are numbers to
# read, compare and put in the README (docs/BENCHMARKS.md says how).
#
#   handshake requests/s         8 keep-alive clients, 5 s
#   metrics                      one RPC's counting, in-process (ns; 1 and 2
#                                threads), and GET /metrics p50/p99 with
#                                10,000 instances
#   Describe p50/p99             1,000 and 10,000 instances on disk, a filter
#                                matching 100 of them, Properties true
#   Provision RPC p50/p99        50 in flight, 500 in all, backend op 5 s
#   start-up                     plugin exec -> first answer, 10,000 on disk
#   peak RSS                     VmHWM of the plugin after all of the above
#   copy-clone                   1 GiB of random data: streaming copy, and
#                                copy-on-write on a loop-mounted XFS (root)
#   group converge               Size 20 with every backend op 2 s, at the
#                                default --max-parallel (4): 20 Provisions
#                                straight to the service (the backend's own
#                                time), then group commit -> 20 running
#                                (default Recovery, and MaxFailures 4)
#   group replacement            a member powered off behind our back -> its
#                                replacement's Provision (default 1 s poll)
set -u
cd "$(dirname "$0")/.."
B=build-bench
if [ ! -f $B/build.ninja ]; then
    meson setup $B --buildtype=release -Dtests=true >/dev/null || exit 1
fi
ninja -C $B >/dev/null || exit 1
BENCH=$B/tests/bench
# BENCH_TESTD runs the same phases against another build of the plugin
# (an older release, for a side-by-side table); BENCH_NO_COPY=1 skips the
# copy-clone phase.
TESTD=${BENCH_TESTD:-$B/tests/plugin-testd}
T=$(mktemp -d /tmp/ikvf-bench-XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    if [ -n "${MNT:-}" ] && mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT"; fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

mkdir -p "$T/lib/alpine.vmwarevm" "$T/ctl"
printf '.encoding = "UTF-8"\nconfig.version = "8"\nmemsize = "512"\n' \
    >"$T/lib/alpine.vmwarevm/alpine.vmx"

start_plugin() { # vm-dir [max-parallel]
    INFRAKIT_PLUGINS_DIR="$T/plugins" TESTBACKEND_CTL="$T/ctl" \
        $TESTD serve --backend test --vm-dir "$1" --vm-lib "$T/lib" --log 2 \
        --max-parallel "${2:-8}" >>"$T/plugin.log" 2>&1 &
    PID=$!
    STARTUP=$($BENCH ready "$T/plugins/vmware-fusion" 30000) || {
        echo "plugin did not start:"; tail "$T/plugin.log"; exit 1; }
}
stop_plugin() {
    HWM=$(awk '/VmHWM/ {print $2}' /proc/$PID/status 2>/dev/null || echo 0)
    kill "$PID"; wait "$PID" 2>/dev/null; PID=""
}

echo "generating 1,000 and 10,000 instance records ..."
$BENCH gen "$T/vms1k" 1000 100 || exit 1
$BENCH gen "$T/vms10k" 10000 100 || exit 1

start_plugin "$T/vms1k"
UP1K=$STARTUP
HS=$($BENCH handshake "$T/plugins/vmware-fusion" 8 5)
D1K=$($BENCH describe "$T/plugins/vmware-fusion" 2000)
stop_plugin

# Peak memory while 1,000 instances are provisioned (every backend
# operation instant): a fresh plugin, 1,000 Provisions from 50 clients.
start_plugin "$T/vms-rss"
PROV1K=$($BENCH provision "$T/plugins/vmware-fusion" 50 1000)
sleep 2
stop_plugin
RSS1K=$HWM

start_plugin "$T/vms10k"
UP10K=$STARTUP
D10K=$($BENCH describe "$T/plugins/vmware-fusion" 2000)
SCRAPE=$($BENCH scrape "$T/plugins/vmware-fusion" 500)
echo 5000 >"$T/ctl/delay-create"
PROV=$($BENCH provision "$T/plugins/vmware-fusion" 50 500)
stop_plugin
RSS=$HWM

MCOST=$($BENCH metrics 10000000)
echo "group controller: Size 20, every backend operation 2 s ..."
rm -f "$T/ctl/delay-create"
echo 2000 >"$T/ctl/delay-create"
echo 2000 >"$T/ctl/delay-start"
start_plugin "$T/vms-group" 4
GBASE=$($BENCH provision-wait "$T/plugins/vmware-fusion" 20)
GDEF=$($BENCH group-wait "$T/plugins/vmware-fusion" 20 bench-g1 0)
GMF4=$($BENCH group-wait "$T/plugins/vmware-fusion" 20 bench-g4 4)
REPL=$($BENCH replace "$T/plugins/vmware-fusion" "$T/vms-group" 5)
stop_plugin
rm -f "$T/ctl/delay-create" "$T/ctl/delay-start"

if [ -n "${BENCH_NO_COPY:-}" ]; then
    CP="0 0"; COW="not measured: BENCH_NO_COPY"
else
echo "copy-clone of 1 GiB ..."
head -c 1073741824 /dev/urandom >"$T/disk.vmdk"
sync
CP=$($BENCH copy "$T/disk.vmdk" "$T/disk-copy.vmdk" 0)
COW="not measured: needs root, mkfs.xfs and loop devices"
if [ "$(id -u)" = 0 ] && command -v mkfs.xfs >/dev/null 2>&1; then
    MNT="$T/xfs"
    mkdir -p "$MNT"
    if truncate -s 3G "$T/xfs.img" && mkfs.xfs -q -m reflink=1 "$T/xfs.img" &&
        mount -o loop "$T/xfs.img" "$MNT" 2>/dev/null; then
        cp "$T/disk.vmdk" "$MNT/disk.vmdk" && sync
        COW=$($BENCH copy "$MNT/disk.vmdk" "$MNT/clone.vmdk" 1)
        COWSTREAM=$($BENCH copy "$MNT/disk.vmdk" "$MNT/stream.vmdk" 0)
        umount "$MNT"
    else
        COW="not measured: cannot loop-mount an XFS image here"
    fi
fi
fi
FS=$(df -T "$T" | awk 'NR==2 {print $2}')

echo
echo "Benchmark, $(date -u +%Y-%m-%d) on $(uname -m), $(nproc) cores, $(uname -sr), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
echo
printf '| %-44s | %-28s |\n' "measure" "result"
printf '|%s|%s|\n' "----------------------------------------------" "------------------------------"
printf '| %-44s | %-28s |\n' "handshake requests/s (8 keep-alive clients)" "$HS"
printf '| %-44s | %-28s |\n' "Describe p50 / p99, 1,000 instances" "$(echo $D1K | awk '{print $1" / "$2" ms"}')"
printf '| %-44s | %-28s |\n' "Describe p50 / p99, 10,000 instances" "$(echo $D10K | awk '{print $1" / "$2" ms"}')"
printf '| %-44s | %-28s |\n' "GET /metrics p50 / p99, 10,000 instances" "$(echo $SCRAPE | awk '{print $1" / "$2" ms"}')"
printf '| %-44s | %-28s |\n' "one RPC's counting, 1 / 2 threads" "$(echo $MCOST | awk '{print $1" / "$2" ns"}')"
printf '| %-44s | %-28s |\n' "Provision RPC p50 / p99, 50 in flight" "$(echo $PROV | awk '{print $1" / "$2" ms"}')"
printf '| %-44s | %-28s |\n' "start-up, 1,000 / 10,000 instances on disk" "$UP1K / $UP10K ms"
printf '| %-44s | %-28s |\n' "peak RSS, 10,000 instances" "$((RSS / 1024)) MiB"
printf '| %-44s | %-28s |\n' "peak RSS, 1,000 provisioned (50 clients)" "$((RSS1K / 1024)) MiB"
printf '| %-44s | %-28s |\n' "copy-clone 1 GiB, streaming ($FS)" "$(echo $CP | awk '{print $1" ms, "$2" MiB/s"}')"
case "$COW" in
not*) printf '| %-44s | %-28s |\n' "copy-clone 1 GiB, copy-on-write" "$COW" ;;
*) printf '| %-44s | %-28s |\n' "copy-clone 1 GiB, copy-on-write (xfs)" "$(echo $COW | awk '{print $1" ms ("$3")"}')"
   printf '| %-44s | %-28s |\n' "copy-clone 1 GiB, streaming (xfs)" "$(echo $COWSTREAM | awk '{print $1" ms, "$2" MiB/s"}')" ;;
esac
printf '| %-44s | %-28s |\n' "20 Provisions -> 20 running (backend alone)" "$GBASE ms"
printf '| %-44s | %-28s |\n' "group commit Size 20 -> 20 running" "$GDEF ms ($(awk -v a=$GDEF -v b=$GBASE 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}'))"
printf '| %-44s | %-28s |\n' "  the same, Recovery.MaxFailures 4" "$GMF4 ms ($(awk -v a=$GMF4 -v b=$GBASE 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}'))"
printf '| %-44s | %-28s |\n' "member off -> replacement's Provision" "$(echo $REPL | awk '{print $1" ms median, "$2" ms max"}')"
echo
echo "(Describe filter: infrakit.group matching 100 instances, Properties true."
echo " Provision: the test backend, every VM operation 5 s; the RPC returns"
echo " once the record is on disk. Group rows: the test backend's create and"
echo " start take 2 s each, --max-parallel 4, --poll-interval 1s; a group"
echo " whose config has not yet run a member creates at most"
echo " Recovery.MaxFailures (default 3) at once: the slow start.)"
