/*
 * Private to src/guest/: the appender that cloudinit.c (the documents) and
 * guestinfo.c (their guestinfo encodings) both write with. Code outside
 * src/guest/ uses cloudinit.h and guestinfo.h.
 *
 * A helper shared by the files is declared here and named after the file
 * that defines it: ci_* from cloudinit.c. Unlike the ci_* functions of
 * cloudinit.h, they are not API.
 */
#ifndef CI_INT_H
#define CI_INT_H

#include <stddef.h>

struct buf;
struct err;

/*
 * An appender with a sticky error: after the first failure nothing more is
 * added and ci_wr_done() reports it once.
 */
struct ci_wr {
	struct buf *w_b;
	int w_errno; /* 0, or the errno of the first failure */
};

/* cloudinit.c */

/* Appends n bytes of p, unless an earlier append failed. */
void ci_wr_add(struct ci_wr *w, const void *p, size_t n);

/* Appends the string s, unless an earlier append failed. */
void ci_wr_str(struct ci_wr *w, const char *s);

/*
 * Returns 0 when every append succeeded, else -1 with err naming what was
 * being written (EIK_INVAL when it would exceed the buffer's cap).
 */
int ci_wr_done(const struct ci_wr *w, const char *what, struct err *err);

/*
 * Appends the base64 of len bytes. With linelen (a multiple of 4) the
 * output is broken into lines of that many characters, separated (not
 * terminated) by LF.
 */
void ci_wr_base64(
    struct ci_wr *w, const unsigned char *p, size_t len, size_t linelen);

#endif /* CI_INT_H */
