/*
 * Instance IDs. See ids.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "store/ids.h"

static const char b32hex[] = "0123456789abcdefghijklmnopqrstuv";

#define VALUE_MAX ((UINT64_C(1) << (5 * ID_DIGITS)) - 1)

void
id_encode(uint64_t v, char *out, size_t outlen)
{
	char tmp[ID_LEN + 1];
	size_t plen = sizeof(ID_PREFIX) - 1;

	memcpy(tmp, ID_PREFIX, plen);
	for (int i = ID_DIGITS - 1; i >= 0; i--) {
		tmp[plen + (size_t)i] = b32hex[v & 31];
		v >>= 5;
	}
	tmp[ID_LEN] = '\0';
	(void)strlcpy(out, tmp, outlen);
}

int
id_decode(const char *s, uint64_t *v)
{
	size_t plen = sizeof(ID_PREFIX) - 1;
	uint64_t r = 0;

	if (strncmp(s, ID_PREFIX, plen) != 0 || strlen(s) != ID_LEN)
		return -1;
	for (size_t i = plen; i < ID_LEN; i++) {
		const char *p = strchr(b32hex, s[i]);

		if (s[i] == '\0' || p == NULL)
			return -1;
		r = (r << 5) | (uint64_t)(p - b32hex);
	}
	*v = r;
	return 0;
}

#define SEQ_TEXT_MAX 64

/* "<value> <crc32 of value>\n"; 0.1.0 wrote "<value>\n". */
static int
parse_mark(const char *text, uint64_t *v)
{
	char num[32];
	const char *e, *p;
	size_t n = strspn(text, "0123456789");

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, text, n);
	num[n] = '\0';
	*v = parse_uint(num, 0, VALUE_MAX, &e);
	if (e != NULL)
		return -1;
	p = text + n + strspn(text + n, " ");
	if (*p == '\n' || *p == '\r' || *p == '\0')
		return 0; /* 0.1.0: the number alone */
	{
		char want[16];

		(void)snprintf(want, sizeof(want), "%08lx",
		    crc32(0L, (const Bytef *)num, (uInt)n));
		if (strncmp(p, want, 8) != 0)
			return -1;
	}
	return 0;
}

int
idgen_open(struct idgen *g, const char *path, uint64_t floor, struct err *err)
{
	char text[SEQ_TEXT_MAX];
	uint64_t v = 0;
	ssize_t r;

	memset(g, 0, sizeof(*g));
	g->ig_clock = wall_ms;
	g->ig_fd = -1;
	if (strlcpy(g->ig_path, path, sizeof(g->ig_path)) >=
	    sizeof(g->ig_path)) {
		err_set(err, EIK_INVAL, "path too long: %s", path);
		return -1;
	}
	g->ig_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (g->ig_fd == -1) {
		err_set(err, err_from_errno(errno), "open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	r = pread(g->ig_fd, text, sizeof(text) - 1, 0);
	if (r > 0) {
		text[r] = '\0';
		if (parse_mark(text, &v) == -1) {
			err_set(err, EIK_IO,
			    "%s is corrupt; it holds the last instance ID "
			    "handed out: fix or remove it",
			    path);
			return -1;
		}
	}
	g->ig_saved = v;
	g->ig_last = v > floor ? v : floor;
	return 0;
}

void
idgen_close(struct idgen *g)
{
	if (g->ig_fd == -1)
		return;
	if (g->ig_last != g->ig_saved)
		(void)idgen_save(g, NULL);
	(void)close(g->ig_fd);
	g->ig_fd = -1;
}

void
idgen_raise(struct idgen *g, uint64_t v)
{
	if (v > g->ig_last)
		g->ig_last = v;
}

int
idgen_next(struct idgen *g, char *out, size_t outlen, struct err *err)
{
	uint64_t now, v;
	int64_t ms;

	ms = g->ig_clock();
	now = ms > 0 ? (uint64_t)ms << ID_SEQ_BITS : 0;
	v = g->ig_last + 1;
	if (now > v)
		v = now;
	if (v > VALUE_MAX) {
		err_set(err, EIK_INTERNAL, "instance ID space exhausted");
		return -1;
	}
	g->ig_last = v;
	id_encode(v, out, outlen);
	return 0;
}

int
idgen_write_mark(const struct idgen *g, uint64_t v, struct err *err)
{
	char text[SEQ_TEXT_MAX], num[32];
	int n, m;

	if (g->ig_fd == -1) {
		err_set(err, EIK_INTERNAL, "%s is not open", g->ig_path);
		return -1;
	}
	m = snprintf(num, sizeof(num), "%" PRIu64, v);
	/* Fixed width: each save overwrites the whole previous text. */
	n = snprintf(text, sizeof(text), "%-20s %08lx\n", num,
	    crc32(0L, (const Bytef *)num, (uInt)m));
	if (fd_pwrite_all(g->ig_fd, text, (size_t)n, 0) == -1 ||
	    fsync_full(g->ig_fd) == -1) {
		err_set(err, err_from_errno(errno), "write %s: %s", g->ig_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
idgen_save(struct idgen *g, struct err *err)
{
	if (idgen_write_mark(g, g->ig_last, err) == -1)
		return -1;
	g->ig_saved = g->ig_last;
	return 0;
}
