/*
 * QMP client. See qmp.h.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "backend/qemu/qmp.h"

#define QMP_MAX_LINE (1024 * 1024)

#define QMP_NAME "qmp.sock"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SIGPIPE is ignored by serve */
#endif

struct qconn {
	int qc_fd;
	struct buf qc_in;
	int64_t qc_deadline;
	const char *qc_path;
};

static int wait_fd(struct qconn *q, short events, struct err *err);

static int
qconn_open(struct qconn *q, const char *path, int64_t deadline, struct err *err)
{
	struct sockaddr_un sun;

	memset(q, 0, sizeof(*q));
	q->qc_fd = -1;
	q->qc_deadline = deadline;
	q->qc_path = path;
	buf_init(&q->qc_in, QMP_MAX_LINE);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		err_set(err, EIK_INVAL, "QMP socket path too long: %s", path);
		return -1;
	}
	/* Close-on-exec from the start where the system can (not macOS):
	 * a child spawned by another thread meanwhile must not inherit it. */
#ifdef SOCK_CLOEXEC
	q->qc_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
	q->qc_fd = socket(AF_UNIX, SOCK_STREAM, 0);
#endif
	if (q->qc_fd == -1) {
		err_set(err, EIK_IO, "socket: %s", strerror(errno));
		return -1;
	}
#ifndef SOCK_CLOEXEC
	(void)fd_cloexec(q->qc_fd);
#endif
	/*
	 * Non-blocking before connect(): a hung QEMU stops accepting, and
	 * once its listen backlog is full a blocking connect() to a unix
	 * socket waits forever, past any deadline. Linux then answers
	 * EAGAIN: retry until the deadline.
	 */
	(void)fd_nonblock(q->qc_fd);
	while (connect(q->qc_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int soerr = errno;
		socklen_t sl = sizeof(soerr);

		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (mono_ms() >= q->qc_deadline) {
				err_set(err, EIK_TIMEOUT,
				    "QMP %s: QEMU accepts no connection", path);
				return -1;
			}
			sleep_ms(20);
			continue;
		}
		if (errno == EINPROGRESS || errno == EINTR) {
			if (wait_fd(q, POLLOUT, err) == -1)
				return -1;
			if (getsockopt(q->qc_fd, SOL_SOCKET, SO_ERROR, &soerr,
				&sl) == -1)
				soerr = errno;
			if (soerr == 0)
				break;
		}
		err_set(err,
		    soerr == ENOENT || soerr == ECONNREFUSED ? EIK_NOTFOUND
							     : EIK_IO,
		    "QMP %s: %s", path, strerror(soerr));
		return -1;
	}
	return 0;
}

static void
qconn_close(struct qconn *q)
{
	if (q->qc_fd != -1)
		(void)close(q->qc_fd);
	buf_free(&q->qc_in);
}

static int
wait_fd(struct qconn *q, short events, struct err *err)
{
	struct pollfd pfd = { q->qc_fd, events, 0 };

	for (;;) {
		int64_t left = q->qc_deadline - mono_ms();
		int r;

		if (left <= 0) {
			err_set(err, EIK_TIMEOUT, "QMP %s: no answer in time",
			    q->qc_path);
			return -1;
		}
		r = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR) {
			err_set(err, EIK_IO, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static int
qconn_send(struct qconn *q, const char *text, struct err *err)
{
	size_t n = strlen(text), off = 0;

	while (off < n) {
		ssize_t w = send(q->qc_fd, text + off, n - off, MSG_NOSIGNAL);

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(q, POLLOUT, err) == -1)
				return -1;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		err_set(err, EIK_IO, "QMP %s: send: %s", q->qc_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads the next JSON message (one line). 1 at EOF / reset. */
static int
qconn_recv(struct qconn *q, json_t **msg, struct err *err)
{
	for (;;) {
		char *nl = q->qc_in.b_data != NULL
		    ? memchr(q->qc_in.b_data, '\n', q->qc_in.b_len)
		    : NULL;
		char chunk[4096];
		ssize_t r;

		if (nl != NULL) {
			size_t len = (size_t)(nl - q->qc_in.b_data) + 1;
			json_error_t je;

			*msg = json_loadb(q->qc_in.b_data, len, 0, &je);
			memmove(q->qc_in.b_data, q->qc_in.b_data + len,
			    q->qc_in.b_len - len);
			q->qc_in.b_len -= len;
			q->qc_in.b_data[q->qc_in.b_len] = '\0';
			if (*msg == NULL) {
				err_set(err, EIK_BACKEND,
				    "QMP %s: not JSON: %s", q->qc_path,
				    je.text);
				return -1;
			}
			return 0;
		}
		r = recv(q->qc_fd, chunk, sizeof(chunk), 0);
		if (r > 0) {
			if (buf_add(&q->qc_in, chunk, (size_t)r) == -1) {
				err_set(err, EIK_BACKEND,
				    "QMP %s: message too long", q->qc_path);
				return -1;
			}
			continue;
		}
		if (r == 0 || (r == -1 && errno == ECONNRESET))
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(q, POLLIN, err) == -1)
				return -1;
			continue;
		}
		err_set(err, EIK_IO, "QMP %s: recv: %s", q->qc_path,
		    strerror(errno));
		return -1;
	}
}

/* Reads until a "return" or "error" message; events are skipped. */
static int
qconn_answer(struct qconn *q, json_t **ret, bool eof_ok, struct err *err)
{
	for (;;) {
		json_t *m = NULL, *e;
		int r = qconn_recv(q, &m, err);

		if (r == 1) {
			if (eof_ok)
				return 0;
			err_set(err, EIK_BACKEND,
			    "QMP %s: QEMU closed the connection", q->qc_path);
			return -1;
		}
		if (r == -1)
			return -1;
		if ((e = json_object_get(m, "error")) != NULL) {
			json_t *d = json_object_get(e, "desc");

			err_set(err, EIK_BACKEND, "QEMU: %s",
			    json_is_string(d) ? json_string_value(d) : "error");
			json_decref(m);
			return -1;
		}
		if (json_object_get(m, "return") != NULL) {
			if (ret != NULL) {
				*ret = json_object_get(m, "return");
				json_incref(*ret);
			}
			json_decref(m);
			return 0;
		}
		json_decref(m); /* greeting or event */
	}
}

int
qmp_call(const char *path, const char *command, const char *args_json,
    char **ret, int64_t deadline, struct err *err)
{
	struct qconn q;
	json_t *greeting = NULL, *r = NULL;
	char cmd[4096];
	bool is_quit = strcmp(command, "quit") == 0;
	int rc = -1, n;

	if (ret != NULL)
		*ret = NULL;
	if (qconn_open(&q, path, deadline, err) == -1)
		goto out;
	if (qconn_recv(&q, &greeting, err) != 0 ||
	    json_object_get(greeting, "QMP") == NULL) {
		if (err != NULL && err->msg[0] == '\0')
			err_set(err, EIK_BACKEND, "QMP %s: no greeting", path);
		goto out;
	}
	if (qconn_send(&q, "{\"execute\":\"qmp_capabilities\"}\n", err) == -1 ||
	    qconn_answer(&q, NULL, false, err) == -1)
		goto out;
	n = snprintf(cmd, sizeof(cmd), "{\"execute\":\"%s\"%s%s}\n", command,
	    args_json != NULL ? ",\"arguments\":" : "",
	    args_json != NULL ? args_json : "");
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		err_set(err, EIK_INVAL, "QMP command too long");
		goto out;
	}
	if (qconn_send(&q, cmd, err) == -1) {
		/* quit may close the socket under us. */
		if (is_quit) {
			err_clear(err);
			rc = 0;
		}
		goto out;
	}
	if (qconn_answer(&q, &r, is_quit, err) == -1)
		goto out;
	if (ret != NULL && r != NULL) {
		*ret = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
		if (*ret == NULL) {
			err_set(err, EIK_INTERNAL, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(greeting);
	json_decref(r);
	qconn_close(&q);
	return rc;
}

int
qmp_status(const char *path, char *status, size_t len, int64_t deadline,
    struct err *err)
{
	char *ret = NULL;
	json_t *v;
	int rc = -1;

	if (qmp_call(path, "query-status", NULL, &ret, deadline, err) == -1)
		return -1;
	v = json_loads(ret, 0, NULL);
	if (json_is_string(json_object_get(v, "status"))) {
		(void)strlcpy(status,
		    json_string_value(json_object_get(v, "status")), len);
		rc = 0;
	} else
		err_set(
		    err, EIK_BACKEND, "QMP %s: query-status: no status", path);
	json_decref(v);
	free(ret);
	return rc;
}

/* Checks (and makes, when missing) the private directory base; see
 * qmp_sock_path(). */
static int
private_dir(const char *base, struct err *err)
{
	struct stat sb;
	uid_t uid = geteuid();

	if (lstat(base, &sb) == -1) {
		if (errno != ENOENT) {
			err_set(err, EIK_IO, "QMP socket directory %s: %s",
			    base, strerror(errno));
			return -1;
		}
		if (mkdir(base, QMP_RUNDIR_MODE) == -1 && errno != EEXIST) {
			err_set(err, EIK_IO,
			    "cannot make the QMP socket directory %s: %s", base,
			    strerror(errno));
			return -1;
		}
		if (lstat(base, &sb) == -1) {
			err_set(err, EIK_IO, "QMP socket directory %s: %s",
			    base, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(sb.st_mode)) {
		err_set(err, EIK_INVAL,
		    "QMP socket directory %s is %s, not a directory: whoever "
		    "made it could plant sockets that misreport VMs; remove it "
		    "(the plugin makes it again) or set TMPDIR to a private "
		    "directory",
		    base, S_ISLNK(sb.st_mode) ? "a symbolic link" : "a file");
		return -1;
	}
	if (sb.st_uid != uid) {
		err_set(err, EIK_INVAL,
		    "QMP socket directory %s belongs to uid %ld, not to this "
		    "plugin's uid %ld: its owner could plant sockets that "
		    "misreport VMs; remove it (the plugin makes it again) or "
		    "set TMPDIR to a private directory",
		    base, (long)sb.st_uid, (long)uid);
		return -1;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		err_set(err, EIK_INVAL,
		    "QMP socket directory %s has mode %04o: others could plant "
		    "sockets in it that misreport VMs; chmod %o it (after "
		    "checking its sockets are this plugin's) or remove it",
		    base, (unsigned)(sb.st_mode & 07777),
		    (unsigned)QMP_RUNDIR_MODE);
		return -1;
	}
	return 0;
}

int
qmp_sock_path(
    const char *dir, const char *id, char *out, size_t len, struct err *err)
{
	char base[PATH_BUF];
	const char *tmp = getenv("TMPDIR");
	int n;

	n = snprintf(out, len, "%s/" QMP_NAME, dir);
	if (n > 0 && (size_t)n < len && n < QMP_SOCK_PATH_MAX)
		return 0;
	if (tmp == NULL || tmp[0] != '/' || strlen(tmp) >= QMP_TMPDIR_MAX)
		tmp = "/tmp";
	n = snprintf(
	    base, sizeof(base), "%s/ikvf-qmp-%ld", tmp, (long)geteuid());
	if (n < 0 || (size_t)n >= sizeof(base)) {
		err_set(err, EIK_INVAL, "QMP socket directory path too long");
		return -1;
	}
	if (private_dir(base, err) == -1)
		return -1;
	n = snprintf(out, len, "%s/%s.sock", base, id);
	if (n < 0 || (size_t)n >= len || n >= QMP_SOCK_PATH_MAX) {
		err_set(err, EIK_INVAL,
		    "no usable path for the QMP socket of %s: %s/%s.sock is "
		    "too long for a unix socket",
		    id, base, id);
		return -1;
	}
	return 0;
}
