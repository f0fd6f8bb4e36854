/*
 * Listening sockets, set up the vmd way: a 0700 directory (made by the
 * caller), umask around bind, a 0600 socket, stale sockets replaced, live
 * ones left alone; TCP on loopback unless told otherwise. See httpd.h.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/conns.h"
#include "http/httpd.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/log.h"

/* A socket that no child process inherits: atomically where the system
 * can (QEMU is spawned from other threads at any time). */
static int
socket_cloexec(int domain, int type, int proto)
{
#if defined(SOCK_CLOEXEC)
	return socket(domain, type | SOCK_CLOEXEC, proto);
#else
	int fd = socket(domain, type, proto);

	if (fd != -1)
		(void)fd_cloexec(fd);
	return fd;
#endif
}

static int
set_sun(struct sockaddr_un *sun, const char *path, struct err *err)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		err_set(err, EIK_INVAL,
		    "socket path %s is %zu bytes; unix sockets allow at most "
		    "%zu: use a shorter --listen path or plugins directory",
		    path, strlen(path), sizeof(sun->sun_path) - 1);
		return -1;
	}
	return 0;
}

int
httpd_socket_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, live;

	if (set_sun(&sun, path, NULL) == -1)
		return 0;
	fd = socket_cloexec(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1)
		return 0;
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	(void)close(fd);
	return live;
}

int
httpd_listen_unix(const char *path, struct err *err)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd = -1, rc;

	if (set_sun(&sun, path, err) == -1)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			err_set(err, EIK_INVAL,
			    "%s exists and is not a socket; move it away or "
			    "choose another --name",
			    path);
			return -1;
		}
		if (httpd_socket_live(path)) {
			err_set(err, EIK_BUSY,
			    "a plugin is already listening on %s", path);
			return -1;
		}
		log_info(
		    "removing stale socket %s (nothing listens on it)", path);
		if (unlink(path) == -1 && errno != ENOENT) {
			err_set(err, EIK_IO, "unlink stale socket %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	fd = socket_cloexec(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1) {
		err_set(err, EIK_IO, "socket: %s", strerror(errno));
		return -1;
	}
	/* No window in which the socket is reachable with wider modes. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rc == -1) {
		err_set(err, errno == EADDRINUSE ? EIK_BUSY : EIK_IO,
		    "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, SOCKET_MODE) == -1) {
		err_set(err, EIK_IO, "chmod %s: %s", path, strerror(errno));
		(void)unlink(path);
		goto fail;
	}
	if (listen(fd, HTTP_LISTEN_BACKLOG) == -1) {
		err_set(err, EIK_IO, "listen %s: %s", path, strerror(errno));
		(void)unlink(path);
		goto fail;
	}
	return fd;
fail:
	(void)close(fd);
	return -1;
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

int
httpd_listen_tcp(const char *host, const char *port, bool allow_remote,
    char *bound, size_t boundlen, struct err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char hbuf[NI_MAXHOST], pbuf[NI_MAXSERV];
	int fd = -1, on = 1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	r = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (r != 0) {
		err_set(err, EIK_INVAL, "cannot resolve %s:%s: %s", host, port,
		    gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!allow_remote && !is_loopback(ai->ai_addr)) {
			err_set(err, EIK_INVAL,
			    "refusing to listen on %s:%s, which is not a "
			    "loopback address, without client certificates: "
			    "the InfraKit protocol has no authentication, so "
			    "anyone who can connect could create and destroy "
			    "VMs. Serve TLS with client certificates "
			    "(--listen tcps://HOST:PORT --tls-cert --tls-key "
			    "--tls-client-ca; README, \"Remote managers\"), "
			    "or pass --allow-remote if you really want that",
			    host, port);
			goto out;
		}
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket_cloexec(
		    ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, HTTP_LISTEN_BACKLOG) == 0)
			break;
		err_set(err, EIK_IO, "listen on %s:%s: %s", host, port,
		    strerror(errno));
		(void)close(fd);
		fd = -1;
	}
	if (fd == -1) {
		if (ai == NULL && res != NULL && err != NULL &&
		    err->msg[0] == '\0')
			err_set(
			    err, EIK_IO, "cannot listen on %s:%s", host, port);
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf,
		sizeof(pbuf), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		if (ss.ss_family == AF_INET6)
			(void)snprintf(bound, boundlen, "[%s]:%s", hbuf, pbuf);
		else
			(void)snprintf(bound, boundlen, "%s:%s", hbuf, pbuf);
	} else
		(void)snprintf(bound, boundlen, "%s:%s", host, port);
out:
	freeaddrinfo(res);
	return fd;
}

size_t
httpd_conn_budget(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return HTTP_CONN_MIN;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = rl;

		want.rlim_cur = rl.rlim_max;
#if defined(__APPLE__) && defined(OPEN_MAX)
		/* macOS refuses a soft limit above OPEN_MAX. */
		if (want.rlim_cur == RLIM_INFINITY || want.rlim_cur > OPEN_MAX)
			want.rlim_cur = OPEN_MAX;
#endif
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	n = rl.rlim_cur;
	if (n == RLIM_INFINITY || n > HTTP_CONN_LIMIT + HTTP_FD_RESERVE)
		return HTTP_CONN_LIMIT;
	if (n < HTTP_FD_RESERVE + HTTP_CONN_MIN) {
		/* A tiny limit: keep half for the backends. */
		n /= 2;
		return n > HTTP_CONN_MIN ? (size_t)n : HTTP_CONN_MIN;
	}
	return (size_t)(n - HTTP_FD_RESERVE);
}

struct conns *
httpd_conns_new(size_t cap)
{
	struct conns *cs = malloc(sizeof(*cs));

	if (cs == NULL)
		return NULL;
	if (conns_init(cs, cap, HTTP_BODY_BUDGET,
		(int64_t)HTTP_CONN_TIMEOUT_S * 1000) == -1) {
		free(cs);
		return NULL;
	}
	return cs;
}

void
httpd_conns_free(struct conns *cs)
{
	if (cs == NULL)
		return;
	conns_fini(cs);
	free(cs);
}
