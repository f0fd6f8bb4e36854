/*
 * Go's time.Duration text: the syntax of time.ParseDuration ("30s",
 * "1m30s", "1.5h", "300ms", "2µs") and the form of Duration.String. InfraKit
 * master uses it for Updating.Duration; the group controller's own durations
 * and the daemon's duration flags reuse it. Values are nanoseconds in an
 * int64, as in Go.
 */
#ifndef DUR_H
#define DUR_H

#include <stdint.h>

struct err;

#define DUR_TEXT_MAX 32 /* a formatted duration, NUL included */
#define DUR_NS_PER_MS INT64_C(1000000)

/*
 * Parses s exactly as time.ParseDuration does: an optional sign, then one
 * or more decimal numbers, each with an optional fraction and a unit (ns,
 * us, µs (U+00B5), μs (U+03BC), ms, s, m, h); "0" alone needs no unit.
 * Fractions are added as Go adds them (through a double, exact to the
 * nanosecond for fractions of up to an hour). Values beyond max_ns in
 * magnitude are refused (max_ns may be INT64_MAX; a negative result may
 * then reach INT64_MIN, as in Go). Returns 0, or -1 with *why a static
 * phrase: "has no unit", "has an unknown unit", "is not a duration" or "is
 * too long".
 */
int dur_parse(const char *s, int64_t max_ns, int64_t *ns, const char **why);

/* Formats ns as Go's Duration.String does ("0s", "1.5s", "1m0s",
 * "1h2m3s", "300ms", "1.5µs", "-2s"). out has DUR_TEXT_MAX bytes. */
void dur_format(int64_t ns, char out[DUR_TEXT_MAX]);

/*
 * The value of a duration flag (flag names it in messages, e.g.
 * "--stop-timeout"): Go's syntax as above, or a bare whole number of
 * seconds (the daemon's older form: "30" is 30s). Not negative, at most
 * max_ms, rounded up to whole milliseconds (so "1us" is 1ms, never 0).
 * Returns 0, or -1 with err (EIK_INVAL) naming the flag and the value and
 * showing valid examples.
 */
int dur_flag_ms(const char *flag, const char *arg, uint32_t max_ms,
    uint32_t *ms, struct err *err);

#endif /* DUR_H */
