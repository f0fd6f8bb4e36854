/*
 * HTTP/1.1 server for the plugin: listening sockets set up the vmd way
 * (0700 directory, umask around bind, 0600 socket, stale sockets replaced,
 * live ones left alone) and libmicrohttpd serving POST / (JSON-RPC) and the
 * GET /info endpoints. The only module that includes <microhttpd.h>.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct err;
struct svc;
struct httpd;
struct conns;

/* How one listener behaves. */
struct httpd_opts {
	struct conns *ho_conns; /* shared by every listener (borrowed) */
	bool ho_tcp;		/* TCP: browser-origin and Host checks */
	bool ho_remote;		/* TCP beyond loopback (no Host check) */
};

/*
 * Raises the descriptor limit's soft value to the hard one (as Go does at
 * start) and returns how many connections the listeners may hold at once:
 * the limit less HTTP_FD_RESERVE descriptors kept for backend work
 * (hypervisor processes, pipes, records), at most HTTP_CONN_LIMIT.
 */
size_t httpd_conn_budget(void);

/* The connection table all listeners share, with room for cap. NULL when
 * out of memory. */
struct conns *httpd_conns_new(size_t cap);
void httpd_conns_free(struct conns *cs);

/*
 * Binds and listens on the unix socket path. An existing socket that refuses
 * connections is stale and replaced; one that accepts them belongs to a live
 * plugin: that is EIK_BUSY and the file is left untouched. Anything else at
 * path (a regular file, a directory) is an error too. Returns the fd or -1.
 */
int httpd_listen_unix(const char *path, struct err *err);

/*
 * Binds and listens on host:port over TCP. Unless allow_remote (client
 * certificates, or --allow-remote), host must resolve to loopback
 * addresses only. The address actually bound (with the
 * port chosen when port is "0") is written into bound as "host:port".
 */
int httpd_listen_tcp(const char *host, const char *port, bool allow_remote,
    char *bound, size_t boundlen, struct err *err);

/* Returns 1 if something accepts connections at the unix socket path. */
int httpd_socket_live(const char *path);

/* Starts serving fd (taking ownership) with svc behind it. fd -1: no
 * listening socket; httpd_add_conn brings each connection (one thread). */
struct httpd *httpd_start(int fd, const struct svc *svc,
    const struct httpd_opts *opts, struct err *err);

/* Serves the connected socket fd (taken, closed on failure too); sa is
 * the peer's address. 0, or -1 with err. */
int httpd_add_conn(struct httpd *h, int fd, const struct sockaddr *sa,
    socklen_t salen, struct err *err);

/* Stops accepting new connections; open ones are still served. */
void httpd_quiesce(struct httpd *h);

/* Stops, drops open connections, frees. No request may be with the
 * service any more (service_stop answers them all first). NULL is ok. */
void httpd_stop(struct httpd *h);

#endif /* HTTPD_H */
