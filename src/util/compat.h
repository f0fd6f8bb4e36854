/*
 * Portability shims and small checked helpers: strlcpy/strlcat where libc
 * lacks them, a strtonum-like integer parser, clocks, fsync that reaches the
 * disk on macOS, and random bytes.
 */
#ifndef COMPAT_H
#define COMPAT_H

#include <stddef.h>
#include <stdint.h>

#ifndef HAVE_STRLCPY
size_t strlcpy(char *dst, const char *src, size_t size);
size_t strlcat(char *dst, const char *src, size_t size);
#endif

/*
 * Parses a decimal unsigned integer in [min, max]. The whole string must be
 * digits. On error returns 0 and points *errstr at "invalid", "too small" or
 * "too large"; on success *errstr is NULL.
 */
uint64_t parse_uint(
    const char *s, uint64_t min, uint64_t max, const char **errstr);

/* Milliseconds of CLOCK_MONOTONIC (never jumps) and of the wall clock. */
int64_t mono_ms(void);
int64_t wall_ms(void);

/* Sleeps for ms milliseconds, resuming after signals. */
void sleep_ms(int64_t ms);

/* fsync(2) that also flushes the drive cache where the OS needs asking. */
int fsync_full(int fd);

/* Fills buf with n cryptographically random bytes. Returns 0 or -1. */
int random_bytes(void *buf, size_t n);

/* Sets FD_CLOEXEC (and O_NONBLOCK when nonblock) on fd. Returns 0 or -1. */
int fd_cloexec(int fd);
int fd_nonblock(int fd);

/* Writes all len bytes to fd, resuming after EINTR and short writes.
 * 0, or -1 with errno set. */
int fd_write_all(int fd, const void *data, size_t len);

/* The same at offset off (pwrite), fd's position unchanged. */
int fd_pwrite_all(int fd, const void *data, size_t len, int64_t off);
/* The value of a hexadecimal digit (either case), or -1. */
int hex_digit(int c);

/* Returns 1 when s is valid UTF-8 of length len, else 0. */
int utf8_valid(const char *s, size_t len);

#endif /* COMPAT_H */
