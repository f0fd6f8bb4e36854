/*
 * The guest's initialisation, from its serial log. See qemu_log.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/qemu/qemu_argv.h"
#include "backend/qemu/qemu_log.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"

#define MARK_MAX 32 /* "N\n" */

/* Whether the n bytes at s contain needle. */
static bool
has(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(s + i, needle, k) == 0)
			return true;
	return false;
}

/* Whether the line (n bytes, no newline) starts with prefix, after the
 * CRs a serial console puts in front. */
static bool
starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	while (n > 0 && *s == '\r') {
		s++;
		n--;
	}
	return n >= k && memcmp(s, prefix, k) == 0;
}

int
qemu_log_ready(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	int state = -1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		if (starts(p, n, "init: done rc="))
			return 1;
		/* "[ 25.0] cloud-init[812]: Cloud-init v. 23.1 finished at
		 * ...": anywhere on its line. */
		if (has(p, n, "Cloud-init v. ")) {
			if (has(p, n, " finished at "))
				return 1;
			if (has(p, n, " running "))
				state = 0;
		}
		if (starts(p, n, "tiny: "))
			state = 0;
		p = nl != NULL ? nl + 1 : end;
	}
	return state;
}

static int
log_paths(const char *dir, char *log, char *mark)
{
	return path_join(log, PATH_BUF, dir, QEMU_SERIAL_NAME) == -1 ||
		path_join(mark, PATH_BUF, dir, QEMU_LOG_MARK_NAME) == -1
	    ? -1
	    : 0;
}

int
qemu_log_mark(const char *dir, struct err *err)
{
	char log[PATH_BUF], mark[PATH_BUF], text[MARK_MAX];
	struct stat st;
	long long size = 0;
	int n;

	if (log_paths(dir, log, mark) == -1) {
		err_set(err, EIK_INVAL, "%s: path too long", dir);
		return -1;
	}
	if (stat(log, &st) == 0)
		size = (long long)st.st_size;
	else if (errno != ENOENT) {
		err_set(err, err_from_errno(errno), "stat %s: %s", log,
		    strerror(errno));
		return -1;
	}
	n = snprintf(text, sizeof(text), "%lld\n", size);
	return atomic_write_file(mark, text, (size_t)n, 0644, err);
}

/* The offset in the log where the current run began (0 without a mark). */
static off_t
run_start(const char *mark)
{
	char *text = NULL;
	const char *e;
	size_t len;
	uint64_t v;

	if (read_file_max(mark, MARK_MAX, &text, &len, NULL) == -1)
		return 0;
	text[strcspn(text, "\r\n")] = '\0';
	v = parse_uint(text, 0, INT64_MAX / 2, &e);
	free(text);
	return e == NULL ? (off_t)v : 0;
}

int
qemu_log_state(const char *dir)
{
	char log[PATH_BUF], mark[PATH_BUF], *buf = NULL;
	struct stat st;
	off_t from;
	ssize_t got;
	int fd = -1, rc = -1;

	if (log_paths(dir, log, mark) == -1)
		return -1;
	from = run_start(mark);
	if ((fd = open(log, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		goto out;
	/* A log that shrank (truncated by hand) is read from its start. */
	if (from > st.st_size)
		from = 0;
	if (st.st_size - from > QEMU_LOG_TAIL)
		from = st.st_size - QEMU_LOG_TAIL;
	if ((buf = malloc(QEMU_LOG_TAIL)) == NULL)
		goto out;
	do
		got = pread(fd, buf, QEMU_LOG_TAIL, from);
	while (got == -1 && errno == EINTR);
	if (got >= 0)
		rc = qemu_log_ready(buf, (size_t)got);
out:
	free(buf);
	if (fd != -1)
		(void)close(fd);
	return rc;
}
