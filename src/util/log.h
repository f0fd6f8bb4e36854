/*
 * Logging, in the shape of OpenBSD vmd's log.c. Levels follow InfraKit's
 * --log convention (0..5, 5 logs every request). The level is checked before
 * anything is formatted. Each line is written with one write(2), so lines
 * from different threads never interleave. Never call from a signal handler.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

#define LOG_LVL_QUIET 0
#define LOG_LVL_FATAL 1
#define LOG_LVL_ERROR 2
#define LOG_LVL_WARN 3
#define LOG_LVL_INFO 4
#define LOG_LVL_DEBUG 5

#define LOG_ATTR(f, a) __attribute__((format(printf, f, a)))

void log_init(int level, const char *tag);
int log_getlevel(void);

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
