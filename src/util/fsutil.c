/*
 * File-system helpers. See fsutil.h.
 */
#include <sys/stat.h>
#include <sys/types.h>
#if defined(__linux__)
#include <linux/fs.h>
#include <sys/ioctl.h>
#endif
#if defined(__APPLE__)
#include <sys/clonefile.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"

int
path_join(char *dst, size_t size, const char *a, const char *b)
{
	int n;

	if (a[0] != '\0' && a[strlen(a) - 1] == '/')
		n = snprintf(dst, size, "%s%s", a, b);
	else
		n = snprintf(dst, size, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
parent_of(const char *path, char *dst, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		if (strlcpy(dst, ".", size) >= size)
			return -1;
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return -1;
	memcpy(dst, path, n);
	dst[n] = '\0';
	return 0;
}

int
mkdir_p(const char *path, mode_t mode, struct err *err)
{
	char tmp[PATH_BUF];
	struct stat st;
	char *p;

	if (strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		err_set(err, EIK_IO, "path too long: %.100s...", path);
		return -1;
	}
	for (p = tmp + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char c = *p;

			*p = '\0';
			if (mkdir(tmp, mode) == -1 && errno != EEXIST) {
				err_set(err, err_from_errno(errno),
				    "mkdir %s: %s", tmp, strerror(errno));
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		err_set(err, EIK_IO, "%s exists and is not a directory", path);
		return -1;
	}
	return 0;
}

/* Opens a directory for syncing; -1 with err naming it. */
static int
open_dir(const char *path, struct err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		err_set(err, err_from_errno(errno), "open %s: %s", path,
		    strerror(errno));
	return fd;
}

int
fsync_dir(const char *path, struct err *err)
{
	int fd, rc;

	if ((fd = open_dir(path, err)) == -1)
		return -1;
	rc = fsync_full(fd);
	if (rc == -1)
		err_set(err, err_from_errno(errno), "fsync %s: %s", path,
		    strerror(errno));
	(void)close(fd);
	return rc;
}

int
append_durable(const char *path, const void *data, size_t len, mode_t mode,
    struct err *err)
{
	char dir[PATH_BUF];
	bool created = false;
	int fd, rc = -1;

	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		fd = open(path,
		    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
			O_CLOEXEC,
		    mode);
		created = fd != -1;
	}
	if (fd == -1) {
		err_set(err, err_from_errno(errno), "open %s: %s", path,
		    errno == ELOOP ? "a symbolic link (refused)"
				   : strerror(errno));
		return -1;
	}
	if (fd_write_all(fd, data, len) == -1 || fsync_full(fd) == -1) {
		err_set(err, err_from_errno(errno), "append to %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (created &&
	    (parent_of(path, dir, sizeof(dir)) == -1 ||
		fsync_dir(dir, err) == -1))
		goto out;
	rc = 0;
out:
	(void)close(fd);
	return rc;
}

int
atomic_write_file(const char *path, const void *data, size_t len, mode_t mode,
    struct err *err)
{
	return atomic_write_file_flags(path, data, len, mode, 0, err);
}

int
atomic_write_file_flags(const char *path, const void *data, size_t len,
    mode_t mode, unsigned flags, struct err *err)
{
	char tmp[PATH_BUF], dir[PATH_BUF];
	int fd = -1, rc = -1, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
		(int)sizeof(tmp) ||
	    parent_of(path, dir, sizeof(dir)) == -1) {
		err_set(err, EIK_IO, "path too long: %.100s...", path);
		return -1;
	}
	/* Close-on-exec from the start where the system can: a child
	 * spawned by another thread meanwhile must not inherit it. */
#ifdef HAVE_MKOSTEMP
	fd = mkostemp(tmp, O_CLOEXEC);
#else
	fd = mkstemp(tmp);
#endif
	if (fd == -1) {
		err_set(err, err_from_errno(errno), "create %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
#ifndef HAVE_MKOSTEMP
	(void)fd_cloexec(fd);
#endif
	if (fchmod(fd, mode) == -1 || fd_write_all(fd, data, len) == -1 ||
	    (!(flags & ATOMIC_NOSYNC) && fsync_full(fd) == -1)) {
		saved = errno;
		err_set(err, err_from_errno(saved), "write %s: %s", tmp,
		    strerror(saved));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		saved = errno;
		err_set(err, err_from_errno(saved), "close %s: %s", tmp,
		    strerror(saved));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		saved = errno;
		err_set(err, err_from_errno(saved), "rename %s: %s", path,
		    strerror(saved));
		goto fail;
	}
	if (!(flags & ATOMIC_NOSYNC) && fsync_dir(dir, err) == -1)
		return -1;
	return 0;
fail:
	if (fd != -1)
		(void)close(fd);
	(void)unlink(tmp);
	errno = saved;
	return rc;
}

/* Reads path to its end, whatever its reported size, up to max bytes. */
static int
read_stream(
    const char *path, size_t max, char **out, size_t *len, struct err *err)
{
	char *data = NULL, *nd;
	size_t got = 0, cap = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		err_set(err, err_from_errno(errno), "open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (got == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if (got == cap) {
				err_set(err, EIK_INVAL,
				    "%s is more than the %zu-byte limit", path,
				    max);
				goto fail;
			}
			nd = realloc(data, cap + 1);
			if (nd == NULL) {
				err_set(err, EIK_INTERNAL,
				    "out of memory reading %s", path);
				goto fail;
			}
			data = nd;
		}
		r = read(fd, data + got, cap - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(
			    err, EIK_IO, "read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (data == NULL && (data = malloc(1)) == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory reading %s", path);
		goto fail;
	}
	data[got] = '\0';
	(void)close(fd);
	*out = data;
	if (len != NULL)
		*len = got;
	return 0;
fail:
	free(data);
	(void)close(fd);
	return -1;
}

int
read_file_max(
    const char *path, size_t max, char **out, size_t *len, struct err *err)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		err_set(err, err_from_errno(errno), "open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, EIK_IO, "%s is not a regular file", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		err_set(err, EIK_INVAL,
		    "%s is %lld bytes, more than the %zu-byte limit", path,
		    (long long)st.st_size, max);
		goto fail;
	}
	if (st.st_size == 0) {
		/* procfs and friends report 0: read to the end instead. */
		(void)close(fd);
		return read_stream(path, max, out, len, err);
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory reading %s", path);
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (got == (size_t)st.st_size) {
			/* The file may have grown since fstat: probe. */
			char probe;

			r = read(fd, &probe, 1);
			if (r == -1 && errno == EINTR)
				continue;
			if (r != 0) {
				err_set(
				    err, EIK_IO, "%s changed while read", path);
				goto fail;
			}
			break;
		}
		r = read(fd, data + got, (size_t)st.st_size - got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			err_set(
			    err, EIK_IO, "read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	data[got] = '\0';
	(void)close(fd);
	*out = data;
	if (len != NULL)
		*len = got;
	return 0;
fail:
	free(data);
	(void)close(fd);
	return -1;
}

/* Removes everything inside the directory open as dfd; closes dfd. */
static int
rm_contents(int dfd, const char *path, int depth, struct err *err)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > 64) {
		(void)close(dfd);
		err_set(err, EIK_IO, "%s: directory tree too deep", path);
		return -1;
	}
	d = fdopendir(dfd);
	if (d == NULL) {
		(void)close(dfd);
		err_set(err, EIK_IO, "opendir %s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		const char *n = de->d_name;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			rc = -1;
			err_set(err, EIK_IO, "stat %s/%s: %s", path, n,
			    strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dirfd(d), n,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd == -1 ||
			    rm_contents(cfd, path, depth + 1, err) == -1) {
				if (cfd == -1)
					err_set(err, EIK_IO, "open %s/%s: %s",
					    path, n, strerror(errno));
				rc = -1;
				break;
			}
			if (unlinkat(dirfd(d), n, AT_REMOVEDIR) == -1 &&
			    errno != ENOENT) {
				err_set(err, EIK_IO, "rmdir %s/%s: %s", path, n,
				    strerror(errno));
				rc = -1;
				break;
			}
		} else if (unlinkat(dirfd(d), n, 0) == -1 && errno != ENOENT) {
			err_set(err, EIK_IO, "unlink %s/%s: %s", path, n,
			    strerror(errno));
			rc = -1;
			break;
		}
	}
	(void)closedir(d);
	return rc;
}

int
rm_tree(const char *path, struct err *err)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		err_set(err, EIK_IO, "stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) == -1 && errno != ENOENT) {
			err_set(err, EIK_IO, "unlink %s: %s", path,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		err_set(err, EIK_IO, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (rm_contents(fd, path, 0, err) == -1)
		return -1;
	if (rmdir(path) == -1 && errno != ENOENT) {
		err_set(err, EIK_IO, "rmdir %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
rename_durable(const char *from, const char *to, struct err *err)
{
	char d1[PATH_BUF], d2[PATH_BUF];

	if (rename(from, to) == -1) {
		err_set(err, err_from_errno(errno), "rename %s to %s: %s", from,
		    to, strerror(errno));
		return -1;
	}
	if (parent_of(from, d1, sizeof(d1)) == -1 ||
	    parent_of(to, d2, sizeof(d2)) == -1) {
		err_set(err, EIK_IO, "path too long: %.100s", to);
		return -1;
	}
	if (fsync_dir(d2, err) == -1)
		return -1;
	if (strcmp(d1, d2) != 0 && fsync_dir(d1, err) == -1)
		return -1;
	return 0;
}

int
unlink_durable(const char *path, struct err *err)
{
	char dir[PATH_BUF];

	if (unlink(path) == -1) {
		if (errno == ENOENT)
			return 0;
		err_set(err, err_from_errno(errno), "unlink %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (parent_of(path, dir, sizeof(dir)) == -1)
		return 0;
	return fsync_dir(dir, err);
}

int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Streams src to dst, skipping holes so sparse disks stay sparse. */
static int
copy_stream(int in, int out, off_t size, const char *src, struct err *err)
{
	static const size_t chunk = 1024 * 1024;
	char *buf = NULL;
	off_t pos = 0;
	int rc = -1;

	buf = malloc(chunk);
	if (buf == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory copying %s", src);
		return -1;
	}
	while (pos < size) {
		off_t data = pos, hole = size;

#ifdef SEEK_DATA
		data = lseek(in, pos, SEEK_DATA);
		if (data == -1) {
			if (errno == ENXIO)
				break; /* only a hole remains */
			data = pos;    /* no SEEK_DATA support here */
			hole = size;
		} else {
			hole = lseek(in, data, SEEK_HOLE);
			if (hole == -1)
				hole = size;
		}
#endif
		pos = data;
		if (lseek(in, pos, SEEK_SET) == -1 ||
		    lseek(out, pos, SEEK_SET) == -1)
			goto ioerr;
		while (pos < hole) {
			size_t want = (size_t)(hole - pos) < chunk
			    ? (size_t)(hole - pos)
			    : chunk;
			ssize_t r = read(in, buf, want);

			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				goto ioerr;
			if (r == 0) {
				pos = hole;
				break;
			}
			if (fd_write_all(out, buf, (size_t)r) == -1)
				goto ioerr;
			pos += r;
		}
	}
	if (ftruncate(out, size) == -1)
		goto ioerr;
	rc = 0;
	goto out;
ioerr:
	err_set(
	    err, err_from_errno(errno), "copy %s: %s", src, strerror(errno));
out:
	free(buf);
	return rc;
}

int
copy_file(const char *src, const char *dst, mode_t mode, int allow_cow,
    enum copy_how *how, struct err *err)
{
	struct stat st;
	int in = -1, out = -1, rc = -1;

#if defined(__APPLE__)
	if (allow_cow && clonefile(src, dst, CLONE_NOFOLLOW) == 0) {
		(void)chmod(dst, mode);
		if (how != NULL)
			*how = COPY_CLONED;
		return 0;
	}
#endif
	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in == -1) {
		err_set(err, err_from_errno(errno), "open %s: %s", src,
		    strerror(errno));
		return -1;
	}
	if (fstat(in, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, EIK_IO, "%s is not a regular file", src);
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out == -1) {
		err_set(err, err_from_errno(errno), "create %s: %s", dst,
		    strerror(errno));
		goto out;
	}
#if defined(__linux__) && defined(FICLONE)
	if (allow_cow && ioctl(out, FICLONE, in) == 0) {
		if (how != NULL)
			*how = COPY_CLONED;
		rc = 0;
		goto out;
	}
#endif
	if (how != NULL)
		*how = COPY_STREAM;
	rc = copy_stream(in, out, st.st_size, src, err);
	if (rc == 0 && fsync_full(out) == -1) {
		err_set(err, err_from_errno(errno), "fsync %s: %s", dst,
		    strerror(errno));
		rc = -1;
	}
out:
	if (in != -1)
		(void)close(in);
	if (out != -1 && close(out) == -1 && rc == 0) {
		err_set(err, err_from_errno(errno), "close %s: %s", dst,
		    strerror(errno));
		rc = -1;
	}
	if (rc == -1 && out != -1)
		(void)unlink(dst);
	return rc;
}

int
sync_filesystem(const char *path, struct err *err)
{
#if defined(__linux__)
	int fd, rc;

	if ((fd = open_dir(path, err)) == -1)
		return -1;
	rc = syncfs(fd);
	if (rc == -1)
		err_set(err, err_from_errno(errno), "syncfs %s: %s", path,
		    strerror(errno));
	(void)close(fd);
	return rc;
#else
	(void)path;
	err_set(err, EIK_IO, "no syncfs(2) here");
	errno = ENOTSUP;
	return -1;
#endif
}

int
fd_preallocate(int fd, off_t len, struct err *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		err_set(
		    err, err_from_errno(errno), "fstat: %s", strerror(errno));
		return -1;
	}
#if defined(__APPLE__)
	{
		fstore_t fs = { F_ALLOCATECONTIG, F_PEOFPOSMODE, 0,
			len - st.st_size, 0 };

		if (len > st.st_size && fcntl(fd, F_PREALLOCATE, &fs) == -1) {
			fs.fst_flags = F_ALLOCATEALL;
			if (fcntl(fd, F_PREALLOCATE, &fs) == -1) {
				err_set(err, err_from_errno(errno),
				    "preallocate: %s", strerror(errno));
				return -1;
			}
		}
		if (len > st.st_size && ftruncate(fd, len) == -1) {
			err_set(err, err_from_errno(errno), "ftruncate: %s",
			    strerror(errno));
			return -1;
		}
	}
#else
	{
		int r = posix_fallocate(fd, 0, len);

		/* posix_fallocate returns the error instead of setting errno.
		 */
		if (r != 0) {
			err_set(err, err_from_errno(r), "preallocate: %s",
			    strerror(r));
			return -1;
		}
	}
#endif
	return 0;
}

int
sparse_file_create(
    const char *path, uint64_t size, mode_t mode, struct err *err)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd == -1) {
		err_set(err, err_from_errno(errno), "create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((off_t)size < 0 || ftruncate(fd, (off_t)size) == -1 ||
	    fsync_full(fd) == -1) {
		err_set(err, err_from_errno(errno),
		    "%s: cannot make it %llu "
		    "bytes: %s",
		    path, (unsigned long long)size, strerror(errno));
		(void)close(fd);
		(void)unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		err_set(err, err_from_errno(errno), "close %s: %s", path,
		    strerror(errno));
		(void)unlink(path);
		return -1;
	}
	return 0;
}

int
fsync_files_in(const char *dir, struct err *err)
{
	struct dirent *de;
	DIR *d;
	int dfd, rc = 0;

	if ((dfd = open_dir(dir, err)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		err_set(err, err_from_errno(errno), "open %s: %s", dir,
		    strerror(errno));
		(void)close(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		int fd;

		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 || fsync_full(fd) == -1) {
			err_set(err, err_from_errno(errno), "flush %s/%s: %s",
			    dir, de->d_name, strerror(errno));
			rc = -1;
		}
		if (fd != -1)
			(void)close(fd);
	}
	(void)closedir(d);
	return rc == 0 ? fsync_dir(dir, err) : -1;
}
