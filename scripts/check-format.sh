#!/bin/sh
# Fails when a C file differs from what clang-format makes of it, and when
# clang-format is missing (a check that cannot run is not a pass).
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null 2>&1 || {
    echo "clang-format is not installed (scripts/deps.sh test installs it)"
    exit 1
}
files=$(find src tests/unit tests/support tests/fuzz tests/bench \
    -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "no C files found: run from the repository"; exit 1; }
bad=""
n=0
for f in $files; do
    n=$((n + 1))
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
    echo "not clang-formatted (run make format):$bad"
    exit 1
fi
echo "$n files clang-formatted"
exit 0
