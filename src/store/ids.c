/*
 * Instance IDs. See ids.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int
save_reserved(struct idgen *g, uint64_t v, struct err *err)
{
	char text[32];
	int n;

	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
	if (atomic_write_file(g->ig_path, text, (size_t)n, 0600, err) == -1) {
		err_prefix(err, "cannot record the ID high-water mark");
		return -1;
	}
	g->ig_reserved = v;
	return 0;
}

int
idgen_open(struct idgen *g, const char *path, uint64_t floor, struct err *err)
{
	char *text = NULL;
	const char *e;
	uint64_t v = 0;
	size_t len;

	memset(g, 0, sizeof(*g));
	if (pthread_mutex_init(&g->ig_mu, NULL) != 0) {
		err_set(err, EIK_INTERNAL, "pthread_mutex_init failed");
		return -1;
	}
	g->ig_clock = wall_ms;
	if (strlcpy(g->ig_path, path, sizeof(g->ig_path)) >=
	    sizeof(g->ig_path)) {
		err_set(err, EIK_INVAL, "path too long: %s", path);
		return -1;
	}
	if (read_file_max(path, 64, &text, &len, err) == 0) {
		text[strcspn(text, "\r\n")] = '\0';
		v = parse_uint(text, 0, VALUE_MAX, &e);
		free(text);
		if (e != NULL) {
			err_set(err, EIK_IO,
			    "%s is corrupt (%s); it holds the last instance ID "
			    "handed out: fix or remove it",
			    path, e);
			return -1;
		}
	} else if (err != NULL && err->code != EIK_NOTFOUND)
		return -1;
	err_clear(err);
	g->ig_last = v > floor ? v : floor;
	g->ig_reserved = g->ig_last;
	return 0;
}

void
idgen_close(struct idgen *g)
{
	(void)pthread_mutex_destroy(&g->ig_mu);
}

int
idgen_next(struct idgen *g, char *out, size_t outlen, struct err *err)
{
	uint64_t now, v;
	int64_t ms;

	(void)pthread_mutex_lock(&g->ig_mu);
	ms = g->ig_clock();
	now = ms > 0 ? (uint64_t)ms << ID_SEQ_BITS : 0;
	v = g->ig_last + 1;
	if (now > v)
		v = now;
	if (v > VALUE_MAX) {
		(void)pthread_mutex_unlock(&g->ig_mu);
		err_set(err, EIK_INTERNAL, "instance ID space exhausted");
		return -1;
	}
	if (v > g->ig_reserved) {
		uint64_t ahead = v + ((uint64_t)ID_RESERVE_MS << ID_SEQ_BITS);

		if (ahead > VALUE_MAX)
			ahead = VALUE_MAX;
		if (save_reserved(g, ahead, err) == -1) {
			(void)pthread_mutex_unlock(&g->ig_mu);
			return -1;
		}
	}
	g->ig_last = v;
	(void)pthread_mutex_unlock(&g->ig_mu);
	id_encode(v, out, outlen);
	return 0;
}
