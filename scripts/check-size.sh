#!/bin/sh
# Lists source files over FILE_MAX lines and functions over FUNC_MAX lines
# (KNF: a definition starts at column 0 with the name, ends at "}" in
# column 0), and fails when there is one. The limits are the project's:
# files that show the architecture, functions that do one thing.
cd "$(dirname "$0")/.." || exit 1
FILE_MAX=${FILE_MAX:-800}
FUNC_MAX=${FUNC_MAX:-85}
python3 - "$FILE_MAX" "$FUNC_MAX" <<'PY'
import os, re, sys
file_max, func_max = int(sys.argv[1]), int(sys.argv[2])
bad = []
n = 0
for d, _, fs in os.walk("src"):
    for f in sorted(fs):
        if not f.endswith((".c", ".h")):
            continue
        p = os.path.join(d, f)
        lines = open(p).read().split("\n")
        n += 1
        if len(lines) > file_max:
            bad.append("%s: %d lines (at most %d)" % (p, len(lines), file_max))
        start = name = None
        for i, l in enumerate(lines):
            m = re.match(r"^([a-z_][a-z0-9_]*)\(", l)
            if m and start is None:
                start, name = i, m.group(1)
            elif l == "}" and start is not None:
                if i - start + 1 > func_max:
                    bad.append("%s:%d: %s() is %d lines (at most %d)" %
                               (p, start + 1, name, i - start + 1, func_max))
                start = None
for b in bad:
    print(b)
print("%d files; %d over the limits" % (n, len(bad)))
sys.exit(1 if bad else 0)
PY
