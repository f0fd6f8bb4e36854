/*
 * Logging, in the shape of OpenBSD vmd's log.c. Levels follow InfraKit's
 * --log convention (0..5, 5 logs every request). The level is checked before
 * anything is formatted. Each line is written with one write(2), so lines
 * from different threads never interleave. Never call from a signal handler.
 *
 * Two formats (--log-format): text, "<time> <level>: <message>", and json,
 * one object per line: {"time" (RFC 3339, milliseconds, UTC), "level",
 * "msg", and the calling thread's context where it has one: "request_id",
 * "method", "instance", "group"}. The context is per thread (log_ctx_set):
 * the RPC layer sets it while it handles a call, the service's owner while
 * it handles a request or a job's outcome, a worker for its whole job, so
 * every line about one request carries its ID, also from the backends. The
 * text format shows the request ID as " [req ID]" at the end of the line.
 *
 * Request IDs are "<prefix>-<n>": a random prefix chosen once per run and a
 * counter, so they are short, unique within a run and unlikely to repeat
 * across runs (grep finds one request, not its namesakes from yesterday).
 * Code carries the number (0: none) and formats it only to print.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_LVL_QUIET 0
#define LOG_LVL_FATAL 1
#define LOG_LVL_ERROR 2
#define LOG_LVL_WARN 3
#define LOG_LVL_INFO 4
#define LOG_LVL_DEBUG 5

#define LOG_ATTR(f, a) __attribute__((format(printf, f, a)))

void log_init(int level, const char *tag);
int log_getlevel(void);

#define LOG_FMT_TEXT 0
#define LOG_FMT_JSON 1
/* Sets the format; call before other threads log. */
void log_set_format(int fmt);
/* "text" or "json": LOG_FMT_*, or -1. */
int log_format_parse(const char *s);

/* A new request ID's number (never 0). Any thread. */
unsigned long log_reqid_next(void);
/* n formatted into buf ("" for 0); returns buf. */
#define LOG_REQID_MAX 32
const char *log_reqid(unsigned long n, char *buf, size_t len);

/*
 * The calling thread's context for the lines it logs from now on: each
 * string is copied (NULL or 0: that field is empty). log_ctx_clear empties
 * it; log_ctx_instance sets only the instance.
 */
void log_ctx_set(unsigned long req, const char *instance, const char *method,
    const char *group);
void log_ctx_instance(const char *instance);
void log_ctx_clear(void);
/* The calling thread's request number, or 0. */
unsigned long log_ctx_req(void);

/* wall_ms as RFC 3339 in UTC with milliseconds: 2006-01-02T15:04:05.000Z.
 * Returns buf ("" when it does not fit). */
#define LOG_TIME_MAX 32
const char *log_time(int64_t wall_ms, char *buf, size_t len);

/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) LOG_ATTR(1, 2);
void log_warnx(const char *fmt, ...) LOG_ATTR(1, 2);
void log_error(const char *fmt, ...) LOG_ATTR(1, 2);
void log_info(const char *fmt, ...) LOG_ATTR(1, 2);
void log_debug(const char *fmt, ...) LOG_ATTR(1, 2);

/* For start-up failures only: log and exit(1). */
void fatal(const char *fmt, ...) LOG_ATTR(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_ATTR(1, 2) __attribute__((noreturn));

#define log_enabled(lvl) (log_getlevel() >= (lvl))

#endif /* LOG_H */
