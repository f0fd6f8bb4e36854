/*
 * The client verbs' connection to the plugin. See transport.h.
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
#include <unistd.h>

#include "cmd/config.h"
#include "cmd/transport.h"
#include "http/tls.h"
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

/* HOST:PORT (HOST may be a bracketed IPv6 literal) into host and port. */
static int
split_hostport(const char *hp, char *host, size_t hostlen, const char **port)
{
	char *colon;

	if (strlcpy(host, hp, hostlen) >= hostlen ||
	    (colon = strrchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	*port = hp + (colon - host) + 1;
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	return 0;
}

/* host is the address's host part, for TLS (NULL: not wanted). */
static int
connect_tcp(const char *url, const char *hp, char *host, size_t hostlen,
    struct err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *port;
	int fd = -1, r;

	if (split_hostport(hp, host, hostlen, &port) == -1) {
		err_set(err, EIK_INVAL, "bad address %s", url);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(host, port, &hints, &res);
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

static void
client_conf(const struct config *c, struct tls_client_conf *tc)
{
	tc->tc_cert = c->c_tls_cert[0] != '\0' ? c->c_tls_cert : NULL;
	tc->tc_key = c->c_tls_key[0] != '\0' ? c->c_tls_key : NULL;
	tc->tc_ca = c->c_tls_ca[0] != '\0' ? c->c_tls_ca : NULL;
}

int
transport_check_files(const struct config *c)
{
	struct tls_client_conf tc;
	struct err err;

	err_clear(&err);
	client_conf(c, &tc);
	if (tls_client_check(&tc, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

/* An explicit --host/--listen address. */
static int
open_explicit(
    const struct config *c, int timeout_s, struct transport *t, struct err *err)
{
	struct tls_client_conf tc;
	char url[300], host[256];
	int fd;

	(void)snprintf(
	    url, sizeof(url), "%s://%s", c->c_tls ? "tcps" : "tcp", c->c_tcp);
	fd = connect_tcp(url, c->c_tcp, host, sizeof(host), err);
	if (fd == -1 || !c->c_tls) {
		struct timeval tv = { timeout_s, 0 };

		if (fd != -1)
			(void)setsockopt(
			    fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		t->tr_fd = fd;
		return fd == -1 ? -1 : 0;
	}
	client_conf(c, &tc);
	t->tr_tls = tls_connect(fd, host, &tc, timeout_s * 1000, err);
	if (t->tr_tls == NULL) {
		err->code = EIK_IO;
		return -1;
	}
	return 0;
}

int
transport_open(
    const struct config *c, int timeout_s, struct transport *t, struct err *err)
{
	struct timeval tv = { timeout_s, 0 };
	char listenfile[PATH_BUF], host[256], *url = NULL;
	size_t len;

	t->tr_fd = -1;
	t->tr_tls = NULL;
	if (c->c_tcp[0] != '\0')
		return open_explicit(c, timeout_s, t, err);
	t->tr_fd = connect_unix(c->c_socket, err);
	if (t->tr_fd == -1 &&
	    snprintf(listenfile, sizeof(listenfile), "%s/%s.listen",
		c->c_plugins_dir, c->c_name) < (int)sizeof(listenfile) &&
	    read_file_max(listenfile, 512, &url, &len, NULL) == 0) {
		struct err e2;

		url[strcspn(url, "\r\n")] = '\0';
		err_clear(&e2);
		if (strncmp(url, "tcp://", 6) == 0)
			t->tr_fd =
			    connect_tcp(url, url + 6, host, sizeof(host), &e2);
		free(url);
	}
	if (t->tr_fd == -1) {
		err->code = EIK_IO;
		return -1;
	}
	(void)setsockopt(t->tr_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

int
transport_send(
    struct transport *t, const void *data, size_t len, struct err *err)
{
	if (t->tr_tls != NULL)
		return tls_conn_write(t->tr_tls, data, len, err);
	if (fd_write_all(t->tr_fd, data, len) == -1) {
		err_set(
		    err, EIK_IO, "sending the request: %s", strerror(errno));
		return -1;
	}
	return 0;
}

ssize_t
transport_recv(struct transport *t, void *buf, size_t len, struct err *err)
{
	ssize_t r;

	if (t->tr_tls != NULL)
		return tls_conn_read(t->tr_tls, buf, len, err);
	do
		r = read(t->tr_fd, buf, len);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		err_set(err, EIK_IO, "reading the answer: %s",
		    errno == EAGAIN ? "timed out" : strerror(errno));
	return r;
}

void
transport_close(struct transport *t)
{
	tls_conn_close(t->tr_tls);
	t->tr_tls = NULL;
	if (t->tr_fd != -1)
		(void)close(t->tr_fd);
	t->tr_fd = -1;
}
