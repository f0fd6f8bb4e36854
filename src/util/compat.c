/*
 * Portability shims. See compat.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/compat.h"

#ifndef HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len >= size ? size - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
strlcat(char *dst, const char *src, size_t size)
{
	size_t dlen = strnlen(dst, size);

	if (dlen == size)
		return size + strlen(src);
	return dlen + strlcpy(dst + dlen, src, size - dlen);
}
#endif

uint64_t
parse_uint(const char *s, uint64_t min, uint64_t max, const char **errstr)
{
	uint64_t v = 0;
	const char *p;

	*errstr = "invalid";
	if (s == NULL || *s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return 0;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			*errstr = "too large";
			return 0;
		}
		v = v * 10 + d;
	}
	if (v < min) {
		*errstr = "too small";
		return 0;
	}
	if (v > max) {
		*errstr = "too large";
		return 0;
	}
	*errstr = NULL;
	return v;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sleep_ms(int64_t ms)
{
	struct timespec ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

int
fsync_full(int fd)
{
#ifdef F_FULLFSYNC
	/* macOS: fsync(2) does not flush the drive's cache; ask for it. */
	if (fcntl(fd, F_FULLFSYNC) == 0)
		return 0;
#endif
	while (fsync(fd) == -1) {
		if (errno == EINTR)
			continue;
		/* Some filesystems (and directories on some OSes) refuse. */
		if (errno == EINVAL || errno == ENOTSUP)
			return 0;
		return -1;
	}
	return 0;
}

int
random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	int fd;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			(void)close(fd);
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	(void)close(fd);
	return 0;
}

int
fd_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

int
fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

int
fd_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;

	while (p < end) {
		unsigned c = *p++;
		unsigned need, cp;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else
			return 0;
		if ((size_t)(end - p) < need)
			return 0;
		while (need-- > 0) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (*p++ & 0x3f);
		}
		/* Overlong three/four-byte forms, surrogates, > U+10FFFF. */
		if ((c >= 0xe0 && c <= 0xef && cp < 0x800) ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (c >= 0xf0 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
	}
	return 1;
}

int
fd_pwrite_all(int fd, const void *data, size_t len, int64_t off)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		off += w;
		len -= (size_t)w;
	}
	return 0;
}
