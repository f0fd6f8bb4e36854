/*
 * Logging to stderr, one line per write(2). See log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/log.h"

static volatile int log_level = LOG_LVL_INFO;
static const char *log_tag = "";

void
log_init(int level, const char *tag)
{
	log_level = level;
	log_tag = tag != NULL ? tag : "";
}

int
log_getlevel(void)
{
	return log_level;
}

static void
vlog(const char *lvl, int with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	char ts[32];
	struct tm tm;
	time_t now;
	int saved = errno;
	size_t n;
	int r;

	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		ts[0] = '\0';
	r = snprintf(line, sizeof(line), "%s %s%s%s ", ts, log_tag,
	    log_tag[0] != '\0' ? " " : "", lvl);
	n = r < 0 ? 0 : (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (with_errno && n < sizeof(line)) {
		r = snprintf(
		    line + n, sizeof(line) - n, ": %s", strerror(saved));
		if (r > 0)
			n += (size_t)r;
	}
	if (n >= sizeof(line) - 1) {
		/* Mark truncation so nobody mistakes it for the whole line. */
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	/* Control characters in messages (from requests) become spaces. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = ' ';
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) == -1 && errno == EINTR)
		;
	errno = saved;
}

#define LOG_BODY(min, tag, err)                                                \
	do {                                                                   \
		va_list ap;                                                    \
		if (log_level < (min))                                         \
			return;                                                \
		va_start(ap, fmt);                                             \
		vlog(tag, err, fmt, ap);                                       \
		va_end(ap);                                                    \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, "warning:", 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, "warning:", 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, "error:", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, "info:", 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, "debug:", 0);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal:", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal:", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
