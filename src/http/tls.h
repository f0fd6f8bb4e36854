/*
 * TLS (OpenSSL 3) for the TCP listener, and for the client verbs that talk
 * to one. Only http/tls*.c include OpenSSL's headers.
 *
 * The server side is a front: one thread (tlsfront.c) owns the listening
 * socket, every handshake and every TLS connection. Handshakes run without
 * blocking, each with a total deadline (TLS_HANDSHAKE_MS, the 30 s of a
 * plain connection's first request, however slowly it trickles); at most
 * TLS_HANDSHAKE_MAX run at once and a newcomer over that ends the oldest, so
 * a slow or garbage handshake never starves the others. Only TLS 1.2 and
 * later are spoken, and with a client CA a client certificate it signed is
 * required. An established connection is handed to the HTTP server as one
 * end of a socket pair (httpd_add_conn) and the front relays bytes between
 * the TLS session and the pair: from then on the connection table
 * (conns.h) treats it like any other, and when it shuts the pair down the
 * front ends the TLS session. Every refused connection is logged with why.
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct err;
struct httpd;

/* The server's files (PEM). ts_client_ca NULL: no client certificates. */
struct tls_server_conf {
	const char *ts_cert;	  /* --tls-cert: certificate, then its chain */
	const char *ts_key;	  /* --tls-key: its private key, unencrypted */
	const char *ts_client_ca; /* --tls-client-ca: CA(s) of the clients */
};

/* A configured OpenSSL context (opaque). */
struct tls_ctx;

/*
 * Loads and checks the server's files: readable, PEM, the key matching the
 * certificate, the CA file holding certificates. err names the flag, the
 * file and the fix. NULL on failure.
 */
struct tls_ctx *tls_server_ctx(
    const struct tls_server_conf *tc, struct err *err);
void tls_ctx_free(struct tls_ctx *ctx);

/* The front: serves the listening socket lfd (taken) into h (borrowed,
 * started with no listening socket of its own), with ctx (taken). */
struct tlsfront;
struct tlsfront *tls_front_start(
    int lfd, struct tls_ctx *ctx, struct httpd *h, struct err *err);
/* Stops accepting; open connections are still served. */
void tls_front_quiesce(struct tlsfront *tf);
/* Ends every connection, joins the thread, frees. Before httpd_stop of
 * its server. NULL is ok. */
void tls_front_stop(struct tlsfront *tf);

/* How many connections a descriptor budget holds when a TLS listener
 * serves: each costs TLS_FD_COST, and TLS_HANDSHAKE_MAX are kept for
 * handshakes. */
size_t tls_conn_cap(size_t budget);

/* The client's files. tc_ca NULL: the system's CAs. */
struct tls_client_conf {
	const char *tc_cert; /* --tls-cert, or NULL */
	const char *tc_key;  /* --tls-key, or NULL */
	const char *tc_ca;   /* --tls-ca */
};

/* Loads and checks the client's files as tls_connect will (before a
 * connection, so a bad file is a usage error, not a refused client). 0, or
 * -1 with err naming the flag, the file and the fix. */
int tls_client_check(const struct tls_client_conf *tc, struct err *err);

/*
 * A TLS session over the connected socket fd (taken, closed by
 * tls_conn_close even on failure). The server's certificate must chain to
 * tc_ca and name host (a DNS name or an IP address) in its SAN. Every read
 * and write waits at most timeout_ms. NULL with err on failure.
 */
struct tls_conn;
struct tls_conn *tls_connect(int fd, const char *host,
    const struct tls_client_conf *tc, int timeout_ms, struct err *err);
/* 0, or -1 with err. */
int tls_conn_write(
    struct tls_conn *t, const void *data, size_t len, struct err *err);
/* Bytes read, 0 at the end (the server closed), -1 with err. */
ssize_t tls_conn_read(
    struct tls_conn *t, void *buf, size_t len, struct err *err);
/* Closes and frees. NULL is ok. */
void tls_conn_close(struct tls_conn *t);

#endif /* TLS_H */
