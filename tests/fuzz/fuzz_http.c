/*
 * Fuzz target: raw bytes into the HTTP server (libmicrohttpd and our
 * handlers) over a real unix socket, as a client would send them. The
 * server is started once; each input is one connection.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "fuzz_common.h"
#include "http/httpd.h"
#include "util/defaults.h"

static char sock_path[108];

static void
start_server(void)
{
	static struct httpd *h;
	char dir[] = "/tmp/ikvf-fuzz-XXXXXX";
	struct err err;
	int fd;

	if (h != NULL)
		return;
	log_init(LOG_LVL_QUIET, NULL);
	if (mkdtemp(dir) == NULL)
		abort();
	(void)snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	fd = httpd_listen_unix(sock_path, &err);
	if (fd == -1)
		abort();
	{
		static struct httpd_opts ho;

		ho.ho_conns = httpd_conns_new(HTTP_CONN_MIN * 4);
		if (ho.ho_conns == NULL)
			abort();
		h = httpd_start(fd, &fz_svc, &ho, &err);
	}
	if (h == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sun;
	char buf[65536];
	int fd;

	start_server();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, sock_path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		abort(); /* the server must still be there */
	(void)send(fd, data, size, MSG_NOSIGNAL);
	(void)shutdown(fd, SHUT_WR);
	for (int wait = 300;; wait = 20) {
		struct pollfd p = { fd, POLLIN, 0 };

		/* The server answers or closes; once it has answered, a kept
		 * alive connection is not waited for. */
		if (poll(&p, 1, wait) <= 0)
			break;
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
	}
	(void)close(fd);
	return 0;
}
