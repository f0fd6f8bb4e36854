/*
 * One JSON-RPC call to the running plugin, in steps: connect (unix socket,
 * else NAME.listen's TCP address, else --listen tcp://), write the HTTP
 * request, read the whole answer, take its "result" or "error". See
 * client.h.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/client.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"

static int
connect_unix(const char *path, struct err *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		err_set(err, EIK_INVAL, "socket path too long: %s", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1) {
		err_set(err, EIK_IO, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err_set(err, EIK_IO,
		    "cannot reach the plugin at %s: %s (is it running? start "
		    "it with `make run` or `" PLUGIN_PROGNAME " serve`)",
		    path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

static int
connect_tcp(const char *url, struct err *err)
{
	char host[256];
	struct addrinfo hints, *res = NULL, *ai;
	char *colon;
	int fd = -1, r;

	if (strncmp(url, "tcp://", 6) != 0 ||
	    strlcpy(host, url + 6, sizeof(host)) >= sizeof(host) ||
	    (colon = strrchr(host, ':')) == NULL) {
		err_set(err, EIK_INVAL, "bad address %s", url);
		return -1;
	}
	*colon = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(host, colon + 1, &hints, &res);
	if (r != 0) {
		err_set(err, EIK_IO, "%s: %s", url, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		(void)close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		err_set(err, EIK_IO, "cannot reach the plugin at %s", url);
	return fd;
}

/* Connects to the plugin: its unix socket, else the address in
 * NAME.listen, else an explicit tcp:// --listen. */
static int
plugin_connect(const struct config *c, struct err *err)
{
	char listenfile[PATH_BUF], *url = NULL;
	size_t len;
	int fd;

	if (c->c_tcp[0] != '\0') {
		char u[300];

		(void)snprintf(u, sizeof(u), "tcp://%s", c->c_tcp);
		return connect_tcp(u, err);
	}
	fd = connect_unix(c->c_socket, err);
	if (fd != -1)
		return fd;
	if (snprintf(listenfile, sizeof(listenfile), "%s/%s.listen",
		c->c_plugins_dir, c->c_name) < (int)sizeof(listenfile) &&
	    read_file_max(listenfile, 512, &url, &len, NULL) == 0) {
		struct err e2;

		url[strcspn(url, "\r\n")] = '\0';
		err_clear(&e2);
		fd = connect_tcp(url, &e2);
		free(url);
		if (fd != -1)
			return fd;
	}
	return -1;
}

/* The HTTP request of one call into req. 0, or -1 with err set. */
static int
build_request(
    const char *method, const char *params, struct buf *req, struct err *err)
{
	size_t n = strlen(method) + strlen(params) + 96;
	char *body = malloc(n);
	int rc = -1;

	if (body != NULL) {
		(void)snprintf(body, n,
		    "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,"
		    "\"id\":%ld}",
		    method, params, (long)(time(NULL) & 0x7fffffff));
		rc = buf_printf(req,
		    "POST / HTTP/1.1\r\nHost: h\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s",
		    strlen(body), body);
	}
	if (rc == -1)
		err_set(err, EIK_INVAL, "request too large (limit %d bytes)",
		    RPC_MAX_BODY);
	free(body);
	return rc;
}

/* Reads until the plugin closes the connection. 0, or -1 with err. */
static int
read_answer(int fd, struct buf *ans, struct err *err)
{
	for (;;) {
		char chunk[65536];
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(err, EIK_IO, "reading the answer: %s",
			    errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
		if (r == 0)
			return 0;
		if (buf_add(ans, chunk, (size_t)r) == -1) {
			err_set(err, EIK_IO, "answer too large");
			return -1;
		}
	}
}

/* The "result" of the HTTP answer in ans (a new reference), or NULL with
 * err: the plugin's error message, or what is wrong with the answer. */
static json_t *
answer_result(const struct buf *ans, struct err *err)
{
	const char *sep = strstr(buf_str(ans), "\r\n\r\n");
	json_t *root, *result = NULL, *e;
	json_error_t je;

	if (sep == NULL) {
		err_set(err, EIK_IO,
		    "the plugin closed the connection "
		    "without a complete answer");
		return NULL;
	}
	sep += 4;
	root =
	    json_loadb(sep, ans->b_len - (size_t)(sep - ans->b_data), 0, &je);
	if (root == NULL) {
		err_set(err, EIK_IO, "the plugin's answer is not JSON: %s",
		    je.text);
		return NULL;
	}
	e = json_object_get(root, "error");
	if (e != NULL && !json_is_null(e)) {
		json_t *m = json_object_get(e, "message");

		err_set(err, EIK_BACKEND, "%s",
		    json_is_string(m) ? json_string_value(m) : "error");
	} else if ((result = json_object_get(root, "result")) == NULL ||
	    json_is_null(result)) {
		err_set(err, EIK_IO, "the plugin answered no result");
		result = NULL;
	} else
		json_incref(result);
	json_decref(root);
	return result;
}

json_t *
client_call_raw(const struct config *c, const char *method, const char *params,
    struct err *err)
{
	struct buf req, ans;
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 };
	json_t *result = NULL;
	int fd;

	buf_init(&req, RPC_MAX_BODY);
	buf_init(&ans, CLIENT_MAX_ANSWER);
	if ((fd = plugin_connect(c, err)) == -1) {
		err->code = EIK_IO;
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (build_request(method, params, &req, err) == -1)
		goto out;
	if (fd_write_all(fd, req.b_data, req.b_len) == -1) {
		err_set(
		    err, EIK_IO, "sending the request: %s", strerror(errno));
		goto out;
	}
	if (read_answer(fd, &ans, err) == 0)
		result = answer_result(&ans, err);
out:
	if (fd != -1)
		(void)close(fd);
	buf_free(&req);
	buf_free(&ans);
	return result;
}

json_t *
client_call(
    const struct config *c, const char *method, json_t *params, struct err *err)
{
	char *text = json_dumps(params, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *res;

	if (text == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	res = client_call_raw(c, method, text, err);
	free(text);
	return res;
}

int
client_fail(const struct err *err)
{
	fprintf(stderr, "error: %s\n", err->msg);
	return err->code == EIK_IO ? CLI_UNREACHABLE : CLI_FAILED;
}
