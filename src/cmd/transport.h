/*
 * How the client verbs reach a running plugin: its unix socket, the TCP
 * address in NAME.listen, or an explicit --host/--listen tcp:// or
 * tcps:// (TLS, http/tls.h) address. One connection per call.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

struct config;
struct err;
struct tls_conn;

struct transport {
	int tr_fd;		 /* -1 once a TLS session took it */
	struct tls_conn *tr_tls; /* tcps:// */
};

/* For tcps://: the --tls-* files load and fit together, before anything
 * connects. 0, or -1 with the message printed. */
int transport_check_files(const struct config *c);

/*
 * Connects: an explicit tcp:// or tcps:// address, else the unix socket,
 * else the tcp:// address in NAME.listen. Reads and writes wait at most
 * timeout_s. 0, or -1 with err (code EIK_IO when no plugin answered).
 */
int transport_open(const struct config *c, int timeout_s, struct transport *t,
    struct err *err);
/* All of it. 0, or -1 with err. */
int transport_send(
    struct transport *t, const void *data, size_t len, struct err *err);
/* Bytes read, 0 at the end, -1 with err. */
ssize_t transport_recv(
    struct transport *t, void *buf, size_t len, struct err *err);
void transport_close(struct transport *t);

#endif /* TRANSPORT_H */
