/*
 * Logging to stderr, one line per write(2). See log.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/log.h"

#define LOG_MSG_MAX 2048  /* the formatted message */
#define LOG_LINE_MAX 8192 /* a JSON line, escapes included */
#define LOG_CTX_ID_MAX 128

static volatile int log_level = LOG_LVL_INFO;
static const char *log_tag = "";
static int log_fmt = LOG_FMT_TEXT;

struct log_ctx {
	unsigned long lc_req;
	char lc_instance[LOG_CTX_ID_MAX];
	char lc_method[LOG_CTX_ID_MAX];
	char lc_group[LOG_CTX_ID_MAX];
};

static _Thread_local struct log_ctx log_ctx;

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

void
log_set_format(int fmt)
{
	log_fmt = fmt == LOG_FMT_JSON ? LOG_FMT_JSON : LOG_FMT_TEXT;
}

int
log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_FMT_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
}

/* ---- request IDs and the context ---------------------------------------- */

static char reqid_prefix[8];
static pthread_once_t reqid_once = PTHREAD_ONCE_INIT;
static atomic_ulong reqid_counter;

static void
reqid_init(void)
{
	unsigned char r[3];

	if (random_bytes(r, sizeof(r)) == -1) {
		unsigned long v =
		    (unsigned long)getpid() ^ (unsigned long)wall_ms();

		r[0] = (unsigned char)v;
		r[1] = (unsigned char)(v >> 8);
		r[2] = (unsigned char)(v >> 16);
	}
	(void)snprintf(reqid_prefix, sizeof(reqid_prefix), "%02x%02x%02x", r[0],
	    r[1], r[2]);
}

unsigned long
log_reqid_next(void)
{
	return atomic_fetch_add_explicit(
		   &reqid_counter, 1, memory_order_relaxed) +
	    1;
}

const char *
log_reqid(unsigned long n, char *buf, size_t len)
{
	(void)pthread_once(&reqid_once, reqid_init);
	if (n == 0 || snprintf(buf, len, "%s-%lu", reqid_prefix, n) >= (int)len)
		buf[0] = '\0';
	return buf;
}

static void
ctx_copy(char *dst, const char *src)
{
	(void)strlcpy(dst, src != NULL ? src : "", LOG_CTX_ID_MAX);
}

void
log_ctx_set(unsigned long req, const char *instance, const char *method,
    const char *group)
{
	log_ctx.lc_req = req;
	ctx_copy(log_ctx.lc_instance, instance);
	ctx_copy(log_ctx.lc_method, method);
	ctx_copy(log_ctx.lc_group, group);
}

void
log_ctx_instance(const char *instance)
{
	ctx_copy(log_ctx.lc_instance, instance);
}

void
log_ctx_clear(void)
{
	log_ctx_set(0, NULL, NULL, NULL);
}

unsigned long
log_ctx_req(void)
{
	return log_ctx.lc_req;
}

const char *
log_time(int64_t wall_ms, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char s[24];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
	    snprintf(buf, len, "%s.%03dZ", s, (int)(wall_ms % 1000)) >=
		(int)len)
		buf[0] = '\0';
	return buf;
}

/* ---- JSON --------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned cp, min;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1fu, min = 0x80;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0fu, min = 0x800;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Appends s (len bytes) to line (at *n, cap bytes) as the inside of a JSON
 * string: quotes, backslashes and control characters escaped, bytes that
 * are not UTF-8 replaced by U+FFFD. Stops, marking "...", where the rest
 * would not leave room for tail bytes. Returns false when it stopped.
 */
static bool
json_escape(
    char *line, size_t *n, size_t cap, const char *s, size_t len, size_t tail)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		char esc[8];
		size_t k = utf8_seq(p + i, len - i), w;
		const char *src = esc;

		if (k == 0) {
			(void)strlcpy(esc, "\\ufffd", sizeof(esc));
			k = 1;
		} else if (p[i] == '"' || p[i] == '\\')
			(void)snprintf(esc, sizeof(esc), "\\%c", p[i]);
		else if (p[i] == '\n')
			(void)strlcpy(esc, "\\n", sizeof(esc));
		else if (p[i] == '\t')
			(void)strlcpy(esc, "\\t", sizeof(esc));
		else if (p[i] < 0x20 || p[i] == 0x7f)
			(void)snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
		else
			src = s + i;
		w = src == esc ? strlen(esc) : k;
		if (*n + w + 3 + tail > cap) {
			memcpy(line + *n, "...", 3);
			*n += 3;
			return false;
		}
		memcpy(line + *n, src, w);
		*n += w;
		i += k;
	}
	return true;
}

/* ,"key":"value" when value is not empty. */
static void
json_field(char *line, size_t *n, size_t cap, const char *key, const char *v)
{
	size_t kl = strlen(key);

	if (v[0] == '\0' || *n + kl + 6 + 2 > cap)
		return;
	line[(*n)++] = ',';
	line[(*n)++] = '"';
	memcpy(line + *n, key, kl);
	*n += kl;
	memcpy(line + *n, "\":\"", 3);
	*n += 3;
	(void)json_escape(line, n, cap, v, strlen(v), 2);
	line[(*n)++] = '"';
}

static size_t
json_line(char *line, size_t cap, const char *lvl, const char *msg,
    size_t msglen, bool cut)
{
	char ts[LOG_TIME_MAX], rid[LOG_REQID_MAX];
	size_t n;
	int r;

	r = snprintf(line, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"",
	    log_time(wall_ms(), ts, sizeof(ts)), lvl);
	n = r < 0 ? 0 : (size_t)r;
	/* Room kept for the context and the closing. */
	if (json_escape(
		line, &n, cap - 4 * LOG_CTX_ID_MAX - 64, msg, msglen, 0) &&
	    cut) {
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '"';
	json_field(line, &n, cap - 2, "request_id",
	    log_reqid(log_ctx.lc_req, rid, sizeof(rid)));
	json_field(line, &n, cap - 2, "method", log_ctx.lc_method);
	json_field(line, &n, cap - 2, "instance", log_ctx.lc_instance);
	json_field(line, &n, cap - 2, "group", log_ctx.lc_group);
	json_field(line, &n, cap - 2, "tag", log_tag);
	line[n++] = '}';
	line[n++] = '\n';
	return n;
}

/* ---- the line ----------------------------------------------------------- */

static size_t
text_line(char *line, size_t cap, const char *lvl, const char *msg,
    size_t msglen, bool cut)
{
	char ts[32], rid[LOG_REQID_MAX];
	struct tm tm;
	time_t now = time(NULL);
	size_t n, room;
	int r;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		ts[0] = '\0';
	r = snprintf(line, cap, "%s %s%s%s: ", ts, log_tag,
	    log_tag[0] != '\0' ? " " : "", lvl);
	n = r < 0 ? 0 : (size_t)r;
	(void)log_reqid(log_ctx.lc_req, rid, sizeof(rid));
	room = cap - n - sizeof(rid) - 16;
	if (msglen > room) {
		msglen = room;
		cut = true;
	}
	memcpy(line + n, msg, msglen);
	/* Control characters in messages (from requests) become spaces. */
	for (size_t i = n; i < n + msglen; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = ' ';
	n += msglen;
	if (cut) {
		/* Mark truncation so nobody mistakes it for the whole line. */
		memcpy(line + n, "...", 3);
		n += 3;
	}
	if (rid[0] != '\0')
		n += (size_t)snprintf(line + n, cap - n, " [req %s]", rid);
	line[n++] = '\n';
	return n;
}

static void
vlog(const char *lvl, int with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX], line[LOG_LINE_MAX];
	int saved = errno;
	size_t n, ml;
	bool cut = false;
	int r;

	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	ml = r < 0 ? 0 : (size_t)r;
	if (with_errno && ml < sizeof(msg)) {
		r = snprintf(
		    msg + ml, sizeof(msg) - ml, ": %s", strerror(saved));
		if (r > 0)
			ml += (size_t)r;
	}
	if (ml >= sizeof(msg)) {
		ml = sizeof(msg) - 1;
		cut = true;
	}
	if (log_fmt == LOG_FMT_JSON)
		n = json_line(line, sizeof(line), lvl, msg, ml, cut);
	else
		n = text_line(line, sizeof(line), lvl, msg, ml, cut);
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
	LOG_BODY(LOG_LVL_WARN, "warning", 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, "warning", 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, "error", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, "info", 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, "debug", 0);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
