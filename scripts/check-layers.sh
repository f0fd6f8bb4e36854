#!/bin/sh
# Checks the layering of src/ on the #include lines: a file may include
# headers of its own layer and of the layers below it (the same table as
# src/meson.build, where the link enforces it too). Prints each upward
# include and fails when there is one.
cd "$(dirname "$0")/.." || exit 1
python3 - <<'PY'
import os, re, sys

# layer: the layers it may include (besides itself).
allowed = {
    "util": [],
    "model": ["util"],
    "vmx": ["util"],
    "guest": ["model", "util"],
    "store": ["model", "util"],
    "backend": ["guest", "vmx", "model", "util"],
    "backend/vmware": ["backend", "guest", "vmx", "model", "util"],
    "backend/qemu": ["backend", "guest", "vmx", "model", "util"],
    "service": ["store", "backend", "model", "util"],
    "group": ["service", "store", "model", "util"],
    "rpc": ["group", "service", "model", "util"],
    "http": ["rpc", "group", "service", "model", "util"],
    "cmd": None,  # the top: anything
}

def layer_of(path):
    parts = path.split("/")
    if parts[0] == "backend" and len(parts) > 2:
        return "backend/" + parts[1]
    return parts[0]

bad = []
n = 0
for d, _, fs in os.walk("src"):
    for f in fs:
        if not f.endswith((".c", ".h")):
            continue
        p = os.path.relpath(os.path.join(d, f), "src")
        me = layer_of(p)
        if me not in allowed:
            bad.append("%s: folder %s is not in the layer table" % (p, me))
            continue
        n += 1
        for line in open(os.path.join(d, f)):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m or "/" not in m.group(1):
                continue
            them = layer_of(m.group(1))
            if allowed[me] is None or them == me or them in allowed[me]:
                continue
            bad.append("src/%s (%s) includes %s (%s): an upward or sideways "
                       "dependency" % (p, me, m.group(1), them))
for b in bad:
    print(b)
if n == 0:
    print("no sources found under src/")
    sys.exit(1)
print("%d files, %d layering violations" % (n, len(bad)))
sys.exit(1 if bad else 0)
PY
