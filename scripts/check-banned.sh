#!/bin/sh
# The calls the conventions ban (unbounded or shell-running); the bounded
# helpers in util/compat.c, util/buf.c and util/proc.c replace them.
cd "$(dirname "$0")/.."
files=$(find src tests/support tests/bench tests/fuzz tests/unit -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "no C files found: run from the repository"; exit 1; }
# shellcheck disable=SC2086
hits=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|system|popen|strtok)\s*\(' \
    $files)
if [ -n "$hits" ]; then
    echo "banned calls found:"
    echo "$hits"
    exit 1
fi
echo "$(echo "$files" | wc -l) files without banned calls"
exit 0
