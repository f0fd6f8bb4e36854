#!/bin/sh
# Fails when a C file differs from what clang-format makes of it.
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not installed; skipped"; exit 0; }
bad=""
for f in src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/support/*.c tests/fuzz/*.c; do
    [ -f "$f" ] || continue
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
    echo "not clang-formatted (run make format):$bad"
    exit 1
fi
exit 0
