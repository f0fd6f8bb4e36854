/*
 * Network probes. See net.h.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/net.h"

static int
sock_nb(int family)
{
	int fd;

#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
	fd = socket(family, SOCK_STREAM, 0);
	if (fd != -1 && (fd_cloexec(fd) == -1 || fd_nonblock(fd) == -1)) {
		(void)close(fd);
		fd = -1;
	}
#endif
	return fd;
}

/* Waits for events on fd until end (mono ms): 1 ready, 0 not. */
static int
wait_fd(int fd, short events, int64_t end)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		int64_t left = end - mono_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		return r == 1 ? 1 : 0;
	}
}

int
net_probe_ssh(const char *host, unsigned port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int64_t end = mono_ms() + timeout_ms;
	char banner[8];
	int fd, err = 0, ok = 0;
	socklen_t el = sizeof(err);
	ssize_t n;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host,
		       &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else
		return 0;
	if ((fd = sock_nb(ss.ss_family)) == -1)
		return 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1 &&
	    errno != EINPROGRESS)
		goto out;
	if (!wait_fd(fd, POLLOUT, end) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err != 0)
		goto out;
	if (!wait_fd(fd, POLLIN, end))
		goto out;
	n = recv(fd, banner, 4, 0);
	ok = n == 4 && memcmp(banner, "SSH-", 4) == 0;
out:
	(void)close(fd);
	return ok;
}

int
net_port_free(unsigned port)
{
	struct sockaddr_in sin;
	int fd, ok;

	if ((fd = sock_nb(AF_INET)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	(void)close(fd);
	return ok;
}

int
net_peer_cred(int fd, long *uid, long *gid, long *pid)
{
	*uid = *gid = *pid = -1;
#if defined(SO_PEERCRED) && defined(__linux__)
	{
		struct ucred uc;
		socklen_t len = sizeof(uc);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
			return -1;
		*uid = (long)uc.uid;
		*gid = (long)uc.gid;
		*pid = (long)uc.pid;
		return 0;
	}
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) ||    \
    defined(__NetBSD__)
	{
		uid_t u;
		gid_t g;

		if (getpeereid(fd, &u, &g) == -1)
			return -1;
		*uid = (long)u;
		*gid = (long)g;
#if defined(LOCAL_PEERPID)
		{
			pid_t p;
			socklen_t len = sizeof(p);

			if (getsockopt(
				fd, SOL_LOCAL, LOCAL_PEERPID, &p, &len) == 0)
				*pid = (long)p;
		}
#endif
		return 0;
	}
#else
	(void)fd;
	return -1;
#endif
}

int
net_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];
	socklen_t sl;

	if (sa == NULL ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return -1;
	sl = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
				       : sizeof(struct sockaddr_in);
	if (getnameinfo(sa, sl, host, sizeof(host), port, sizeof(port),
		NI_NUMERICHOST | NI_NUMERICSERV) != 0 ||
	    snprintf(buf, len, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
		host, port) >= (int)len)
		return -1;
	return 0;
}

int
net_peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	return net_addr_text((struct sockaddr *)&ss, buf, len);
}
