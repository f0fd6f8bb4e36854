/*
 * A growable byte buffer with a hard cap (curl's dynbuf semantics): going
 * over the cap is an error (E2BIG), never a silent truncation. The content is
 * always NUL-terminated, so text can be used as a C string.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char *b_data;
	size_t b_len;
	size_t b_cap;
	size_t b_max; /* hard cap on b_len */
};

void buf_init(struct buf *b, size_t max);
/* Append; on error returns -1 with errno E2BIG (cap) or ENOMEM. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Returns the NUL-terminated data (a new "" when empty); the caller frees
 * it and the buffer is empty afterwards. NULL on allocation failure. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
/* Borrowed; valid until the next change. Never NULL. */
const char *buf_str(const struct buf *b);

#endif /* BUF_H */
