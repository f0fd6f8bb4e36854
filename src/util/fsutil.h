/*
 * File-system helpers. This is the only module that calls rename(2) and
 * fsync(2): atomic writes (temp → fsync → rename → fsync dir, as Redis saves
 * its RDB), recursive removal that never follows symbolic links, bounded
 * reads, and copies that use copy-on-write clones where the file system can.
 */
#ifndef FSUTIL_H
#define FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

/* dst = a "/" b. Returns -1 (errno ENAMETOOLONG) if it does not fit. */
int path_join(char *dst, size_t size, const char *a, const char *b);

/* Creates path and missing parents with mode. Existing directories are
 * fine; an existing non-directory is an error. */
int mkdir_p(const char *path, mode_t mode, struct err *err);

/* Writes data to path atomically: readers see the old or the new content,
 * never a mix, even after a crash. The file gets mode. */
int atomic_write_file(const char *path, const void *data, size_t len,
    mode_t mode, struct err *err);

/* atomic_write_file with flags: ATOMIC_NOSYNC skips the fsyncs (the
 * caller makes the result durable later, with sync_filesystem). */
#define ATOMIC_NOSYNC 0x1
int atomic_write_file_flags(const char *path, const void *data, size_t len,
    mode_t mode, unsigned flags, struct err *err);

/*
 * Appends data to path (created with mode when missing; a symbolic link is
 * refused) with O_APPEND, never truncating it, then flushes it (and, when
 * it was created, its directory). Writes that others append at the same
 * time never overlap. 0, or -1 with err: then part of data may be there.
 */
int append_durable(const char *path, const void *data, size_t len, mode_t mode,
    struct err *err);

/* Makes everything written to path's file system durable (syncfs(2)).
 * Linux only: elsewhere -1 with errno ENOTSUP. */
int sync_filesystem(const char *path, struct err *err);

/* Makes sure fd's file has len bytes allocated on disk (and is at least
 * len long), so that later writes below len need no new space. 0, or -1
 * (EIK_NOSPACE on a full disk). */
int fd_preallocate(int fd, off_t len, struct err *err);

/* Reads at most max bytes of path into a new NUL-terminated buffer (*out,
 * caller frees). A larger file is an error naming the cap. */
int read_file_max(
    const char *path, size_t max, char **out, size_t *len, struct err *err);

/* Removes path and everything below it without following symbolic links.
 * A missing path is success. */
int rm_tree(const char *path, struct err *err);

/* Renames from to to and makes both parent directories durable. */
int rename_durable(const char *from, const char *to, struct err *err);

/* Unlinks path and makes its directory durable; missing is success. */
int unlink_durable(const char *path, struct err *err);

/* fsyncs a directory so that entries created or renamed in it persist. */
int fsync_dir(const char *path, struct err *err);

/* Creates path (which must not exist) as a file of size bytes without
 * writing them (a sparse file where the file system has holes), flushed
 * to disk with its length. */
int sparse_file_create(
    const char *path, uint64_t size, mode_t mode, struct err *err);

/* Flushes every regular file directly in dir (what a program made there
 * without flushing it), then dir itself. */
int fsync_files_in(const char *dir, struct err *err);

/* Returns 1 if path is a directory, 0 if not or missing. */
int is_dir(const char *path);
/* Returns 1 if path is a regular file, 0 if not or missing. */
int is_file(const char *path);

enum copy_how {
	COPY_CLONED = 1, /* copy-on-write clone (FICLONE / clonefile) */
	COPY_RANGE,	 /* copy_file_range in the kernel */
	COPY_STREAM	 /* read/write, holes kept */
};

/* Copies a regular file. With allow_cow, tries a copy-on-write clone
 * first. *how (may be NULL) says which method did it. The destination
 * must not exist. */
int copy_file(const char *src, const char *dst, mode_t mode, int allow_cow,
    enum copy_how *how, struct err *err);

#endif /* FSUTIL_H */
