/*
 * Go's time.Duration text, which InfraKit master uses for
 * Updating.Duration ("30s", "1m30s", "1.5h", "300ms") and which the group
 * controller's own durations reuse. Values are nanoseconds in an int64, as
 * in Go.
 */
#ifndef GDUR_H
#define GDUR_H

#include <stdint.h>

#define GDUR_TEXT_MAX 32 /* a formatted duration, NUL included */
#define GDUR_NS_PER_MS INT64_C(1000000)

/*
 * Parses s as time.ParseDuration does: an optional sign, then one or more
 * decimal numbers each with a unit (ns, us, µs, μs, ms, s, m, h); "0" alone
 * needs no unit. Values beyond max_ns (in magnitude; at most INT64_MAX / 2)
 * are refused. Returns 0,
 * or -1 with *why a static phrase: "has no unit", "has an unknown unit",
 * "is not a duration" or "is too long".
 */
int gdur_parse(const char *s, int64_t max_ns, int64_t *ns, const char **why);

/* Formats ns as Go's Duration.String does ("0s", "1.5s", "1m0s",
 * "1h2m3s", "300ms", "1.5µs", "-2s"). out has GDUR_TEXT_MAX bytes. */
void gdur_format(int64_t ns, char out[GDUR_TEXT_MAX]);

#endif /* GDUR_H */
