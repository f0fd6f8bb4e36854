/*
 * The provision journal. See journal.h.
 *
 * Group commit: an appender adds its bytes to a shared buffer and waits
 * until a flush covering them has completed. Whoever finds no flush in
 * progress becomes the leader: it takes the whole buffer, writes it, calls
 * fdatasync once and wakes everyone it covered. While it flushes, new
 * appenders fill the next buffer.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "store/journal.h"

#define JOURNAL_MAGIC "IKJ1"
#define JOURNAL_MAX_ENTRY RECORD_MAX_SIZE
#define JOURNAL_MAX_BATCH (64 * 1024 * 1024)

struct journal {
	int j_fd;
	char j_path[PATH_BUF];
	pthread_mutex_t j_mu;
	pthread_cond_t j_cv;
	struct buf j_pending;	   /* the batch being filled */
	unsigned long j_pending_n; /* entries in it */
	unsigned long j_open_gen;  /* batch number being filled */
	unsigned long j_done_gen;  /* last batch flushed (or failed) */
	unsigned long j_ok_gen;	   /* last batch flushed successfully */
	unsigned long j_durable;   /* entries durable since truncate */
	unsigned long j_trunc_gen; /* truncations so far */
	int j_broken;		   /* errno of a failed flush, or 0 */
	int64_t j_last_append;	   /* mono_ms() */
	bool j_flushing;
};

int
journal_open(struct journal **out, const char *path, struct err *err)
{
	struct journal *j;
	char dir[PATH_BUF];
	const char *slash;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	if (strlcpy(j->j_path, path, sizeof(j->j_path)) >= sizeof(j->j_path)) {
		free(j);
		err_set(err, EIK_INVAL, "journal path too long");
		return -1;
	}
	j->j_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->j_fd == -1) {
		err_set(err, err_from_errno(errno), "open %s: %s", path,
		    strerror(errno));
		free(j);
		return -1;
	}
	/* The journal's own directory entry must be durable. */
	slash = strrchr(path, '/');
	if (slash != NULL && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (fsync_dir(dir[0] != '\0' ? dir : "/", err) == -1) {
			(void)close(j->j_fd);
			free(j);
			return -1;
		}
	}
	buf_init(&j->j_pending, JOURNAL_MAX_BATCH);
	j->j_open_gen = 1;
	(void)pthread_mutex_init(&j->j_mu, NULL);
	(void)pthread_cond_init(&j->j_cv, NULL);
	*out = j;
	return 0;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	(void)close(j->j_fd);
	buf_free(&j->j_pending);
	(void)pthread_mutex_destroy(&j->j_mu);
	(void)pthread_cond_destroy(&j->j_cv);
	free(j);
}

static int
data_sync(int fd)
{
#if defined(__APPLE__)
	return fsync_full(fd);
#else
	while (fdatasync(fd) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
#endif
}

int
journal_append(struct journal *j, const char *data, size_t len,
    unsigned long *gen, struct err *err)
{
	char head[64];
	unsigned long mine;
	int n;

	n = snprintf(head, sizeof(head), JOURNAL_MAGIC " %zu %08lx\n", len,
	    crc32(0L, (const unsigned char *)data, (uInt)len));
	(void)pthread_mutex_lock(&j->j_mu);
	if (j->j_broken != 0) {
		int e = j->j_broken;

		(void)pthread_mutex_unlock(&j->j_mu);
		err_set(err, EIK_IO,
		    "journal %s unusable since a write failed "
		    "(%s)",
		    j->j_path, strerror(e));
		return -1;
	}
	if (len > JOURNAL_MAX_ENTRY ||
	    j->j_pending.b_len + (size_t)n + len + 1 > JOURNAL_MAX_BATCH) {
		(void)pthread_mutex_unlock(&j->j_mu);
		err_set(err, EIK_BUSY, "journal backlog full; try again");
		return -1;
	}
	(void)buf_add(&j->j_pending, head, (size_t)n);
	(void)buf_add(&j->j_pending, data, len);
	(void)buf_addc(&j->j_pending, '\n');
	j->j_pending_n++;
	j->j_last_append = mono_ms();
	mine = j->j_open_gen;
	while (j->j_done_gen < mine && j->j_broken == 0) {
		struct buf batch;
		unsigned long bg, bn;
		int rc, e = 0;

		if (j->j_flushing) {
			(void)pthread_cond_wait(&j->j_cv, &j->j_mu);
			continue;
		}
		/* Lead: flush the batch gathered so far. */
		j->j_flushing = true;
		batch = j->j_pending;
		bn = j->j_pending_n;
		bg = j->j_open_gen++;
		buf_init(&j->j_pending, JOURNAL_MAX_BATCH);
		j->j_pending_n = 0;
		(void)pthread_mutex_unlock(&j->j_mu);
		rc = fd_write_all(j->j_fd, batch.b_data, batch.b_len);
		if (rc == 0)
			rc = data_sync(j->j_fd);
		if (rc == -1)
			e = errno != 0 ? errno : EIO;
		buf_free(&batch);
		(void)pthread_mutex_lock(&j->j_mu);
		if (rc == 0) {
			j->j_ok_gen = bg;
			j->j_durable += bn;
		} else {
			/* The file may end in a torn entry: no more appends
			 * (and nothing queued behind it) until a truncate. */
			j->j_broken = e;
			buf_reset(&j->j_pending);
			j->j_pending_n = 0;
		}
		j->j_done_gen = bg;
		j->j_flushing = false;
		(void)pthread_cond_broadcast(&j->j_cv);
	}
	if (j->j_ok_gen < mine || j->j_done_gen < mine) {
		int e = j->j_broken != 0 ? j->j_broken : EIO;

		(void)pthread_mutex_unlock(&j->j_mu);
		err_set(err, err_from_errno(e), "write %s: %s", j->j_path,
		    strerror(e));
		return -1;
	}
	if (gen != NULL)
		*gen = j->j_trunc_gen;
	(void)pthread_mutex_unlock(&j->j_mu);
	return 0;
}

int
journal_truncate(struct journal *j, unsigned long expected, struct err *err)
{
	int rc = 0;

	(void)pthread_mutex_lock(&j->j_mu);
	if (j->j_flushing || j->j_pending_n > 0 || j->j_durable != expected) {
		(void)pthread_mutex_unlock(&j->j_mu);
		return 1;
	}
	if (ftruncate(j->j_fd, 0) == -1 || data_sync(j->j_fd) == -1) {
		err_set(err, err_from_errno(errno), "truncate %s: %s",
		    j->j_path, strerror(errno));
		rc = -1;
	} else {
		j->j_durable = 0;
		j->j_trunc_gen++;
		j->j_broken = 0;
	}
	(void)pthread_mutex_unlock(&j->j_mu);
	return rc;
}

int64_t
journal_last_append(struct journal *j)
{
	int64_t t;

	(void)pthread_mutex_lock(&j->j_mu);
	t = j->j_last_append;
	(void)pthread_mutex_unlock(&j->j_mu);
	return t;
}

unsigned long
journal_gen(struct journal *j)
{
	unsigned long g;

	(void)pthread_mutex_lock(&j->j_mu);
	g = j->j_trunc_gen;
	(void)pthread_mutex_unlock(&j->j_mu);
	return g;
}

long
journal_replay(const char *path, int (*fn)(void *, const char *, size_t),
    void *arg, struct err *err)
{
	char *text = NULL;
	size_t len, off = 0;
	long n = 0;

	if (read_file_max(
		path, (size_t)JOURNAL_MAX_BATCH * 4, &text, &len, err) == -1) {
		if (err != NULL && err->code == EIK_NOTFOUND) {
			err_clear(err);
			return 0;
		}
		return -1;
	}
	while (off < len) {
		const char *p = text + off, *nl;
		char magic[8];
		size_t elen;
		unsigned long crc;
		int used = 0;

		nl = memchr(p, '\n', len - off);
		if (nl == NULL ||
		    sscanf(p, "%4s %zu %lx%n", magic, &elen, &crc, &used) !=
			3 ||
		    strcmp(magic, JOURNAL_MAGIC) != 0 || p + used != nl ||
		    elen > JOURNAL_MAX_ENTRY ||
		    (size_t)(nl + 1 - text) + elen + 1 > len ||
		    nl[1 + elen] != '\n' ||
		    crc32(0L, (const unsigned char *)nl + 1, (uInt)elen) != crc)
			break; /* torn tail: never acknowledged */
		if (fn(arg, nl + 1, elen) == -1) {
			free(text);
			return -1;
		}
		n++;
		off = (size_t)(nl + 1 - text) + elen + 1;
	}
	free(text);
	return n;
}
