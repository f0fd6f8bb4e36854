/*
 * Bounded growable buffer. See buf.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
	b->b_max = max;
}

static int
buf_grow(struct buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need > b->b_max) {
		errno = E2BIG;
		return -1;
	}
	if (need + 1 <= b->b_cap)
		return 0;
	cap = b->b_cap < 64 ? 64 : b->b_cap;
	while (cap < need + 1)
		cap = cap > ((size_t)-1) / 2 ? need + 1 : cap * 2;
	if (cap > b->b_max + 1)
		cap = b->b_max + 1;
	p = realloc(b->b_data, cap);
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->b_data = p;
	b->b_cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (len > b->b_max - b->b_len) {
		errno = E2BIG;
		return -1;
	}
	if (buf_grow(b, b->b_len + len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->b_data + b->b_len, data, len);
	b->b_len += len;
	b->b_data[b->b_len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n > b->b_max - b->b_len) {
		errno = E2BIG;
		return -1;
	}
	if (buf_grow(b, b->b_len + (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(b->b_data + b->b_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->b_len += (size_t)n;
	return 0;
}

void
buf_reset(struct buf *b)
{
	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
}

char *
buf_steal(struct buf *b)
{
	char *p = b->b_data;

	if (p == NULL)
		p = strdup("");
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	free(b->b_data);
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
}

const char *
buf_str(const struct buf *b)
{
	return b->b_data != NULL ? b->b_data : "";
}
