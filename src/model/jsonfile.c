/*
 * Reading and parsing a JSON file a user names, with messages that say
 * which file and where (jsonfile.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "model/jsonfile.h"

static const char *
shown(const char *path)
{
	return strcmp(path, "-") == 0 ? "stdin" : path;
}

/* Reads fd to its end into b; 0, or -1 with errno (E2BIG past the cap). */
static int
read_all(int fd, struct buf *b)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if (buf_add(b, chunk, (size_t)n) == -1)
			return -1;
	}
}

/* path opened for reading (stdin for "-"), refusing a directory; -1 with
 * errno. */
static int
open_file(const char *path, bool in)
{
	struct stat st;
	int fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		return fd;
	else
		e = EISDIR;
	if (!in)
		(void)close(fd);
	errno = e;
	return -1;
}

int
jfile_read(
    const char *path, size_t max, char **text, size_t *len, struct err *err)
{
	bool in = strcmp(path, "-") == 0;
	struct buf b;
	int fd = open_file(path, in), rc = 0;

	*text = NULL;
	if (fd == -1) {
		err_set(err, EIK_INVAL, "cannot read %s: %s", shown(path),
		    strerror(errno));
		return -1;
	}
	buf_init(&b, max);
	if (read_all(fd, &b) == -1) {
		if (errno == E2BIG)
			err_set(err, EIK_INVAL,
			    "cannot read %s: it is more than %zu bytes, the "
			    "limit for a request",
			    shown(path), max);
		else
			err_set(err, EIK_INVAL, "cannot read %s: %s",
			    shown(path), strerror(errno));
		rc = -1;
	}
	if (!in)
		(void)close(fd);
	if (rc == 0) {
		*len = b.b_len;
		if ((*text = buf_steal(&b)) == NULL) {
			err_set(err, EIK_INTERNAL, "out of memory");
			rc = -1;
		}
	}
	buf_free(&b);
	return rc;
}

json_t *
jfile_parse(const char *path, const char *text, size_t len, size_t flags,
    struct err *err)
{
	json_error_t je;
	json_t *v = json_loadb(text, len, flags, &je);
	size_t ws = 0;

	if (v != NULL)
		return v;
	while (ws < len && strchr(" \t\r\n", text[ws]) != NULL)
		ws++;
	if (ws == len)
		err_set(err, EIK_INVAL,
		    "%s is empty: it must hold a JSON object", shown(path));
	else if (je.line > 0 && je.column > 0)
		err_set(err, EIK_INVAL, "%s line %d column %d: %s", shown(path),
		    je.line, je.column, je.text);
	else if (je.line > 0) /* column 0: at the start of the line */
		err_set(err, EIK_INVAL, "%s line %d: %s", shown(path), je.line,
		    je.text);
	else
		err_set(err, EIK_INVAL, "%s: %s", shown(path), je.text);
	return NULL;
}

json_t *
json_load_path(const char *path, size_t max, size_t flags, struct err *err)
{
	char *text;
	size_t len;
	json_t *v;

	if (jfile_read(path, max, &text, &len, err) == -1)
		return NULL;
	v = jfile_parse(path, text, len, flags, err);
	free(text);
	return v;
}
