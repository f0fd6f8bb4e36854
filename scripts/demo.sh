#!/bin/sh
# The end of `make run`'s demo, from a second terminal while `make run`
# serves: provision the tiny guest (or TEMPLATE), wait until it is Ready,
# show it, and log into it with ssh and the plugin's own key.
#   scripts/demo.sh [PROGRAM] [TEMPLATE]
# Leaves the VM running and prints how to destroy it.
set -eu
B=${1:-build/src/infrakit-instance-vmware-fusion}
T=${2:-tiny}
spec=$(mktemp "${TMPDIR:-/tmp}/ikvf-demo.XXXXXX")
trap 'rm -f "$spec"' EXIT
printf '{"Properties":{"VMX":"%s"},"Tags":{"infrakit.group":"demo"},"LogicalID":"demo-1","Init":"echo hello from $(hostname)"}\n' \
    "$T" >"$spec"
"$B" version
id=$("$B" provision --wait --timeout 5m "$spec")
"$B" describe --properties --tags infrakit.group=demo
"$B" ip "$id" || true
echo "+ $B ssh $id -- 'cat /etc/hostname; uname -sr'"
"$B" ssh "$id" -- 'cat /etc/hostname; uname -sr'
echo "demo: $id runs on; \`$B ssh $id\` for a shell, \`$B console $id\`," \
    "\`$B destroy $id\` when done"
