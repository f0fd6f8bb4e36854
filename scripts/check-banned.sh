#!/bin/sh
# The calls the conventions ban (unbounded or shell-running); the bounded
# helpers in compat.c, buf.c and proc.c replace them.
cd "$(dirname "$0")/.."
hits=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|system|popen|strtok)\s*\(' \
    src/*.c src/*.h tests/support/*.c tests/bench/*.c tests/fuzz/*.c tests/fuzz/*.h 2>/dev/null)
if [ -n "$hits" ]; then
    echo "banned calls found:"
    echo "$hits"
    exit 1
fi
exit 0
