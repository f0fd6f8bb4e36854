/*
 * The connections of the HTTP server, kept so that no client can lock the
 * others out (private to http/).
 *
 *   - A cap derived from the descriptor limit (serve.c raises the soft
 *     limit to the hard one and keeps a reserve for backend work): when a
 *     new connection goes over it, the connection that has waited longest
 *     without completing a request is shut down, so a newcomer is always
 *     served and the daemon never runs out of descriptors.
 *   - A total-time rule: a connection that completes no request within
 *     HTTP_CONN_TIMEOUT_S of the previous one (or of being accepted) is
 *     shut down, however slowly it trickles bytes (libmicrohttpd's own
 *     timeout counts idle time only). Connections whose request is with
 *     the service are never touched.
 *   - A budget for request bodies still arriving (HTTP_BODY_BUDGET): a
 *     thousand slow 1 MiB uploads cannot pin a gigabyte.
 *
 * The table is shared by the libmicrohttpd threads of every listener; its
 * mutex is held only to link, unlink or scan nodes, never while calling
 * out. Connections are shut down (shutdown(2)), never closed here: the
 * server closes them and reports it.
 */
#ifndef CONNS_H
#define CONNS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/origin.h"

struct conn {
	struct conn *cn_prev, *cn_next; /* by cn_since, oldest first */
	int cn_fd;
	int64_t cn_since;      /* mono ms: accepted, or last request done */
	bool cn_waiting;       /* a request is with the service */
	bool cn_shut;	       /* shut down by us, not yet closed */
	struct origin cn_from; /* the peer, filled once by httpd.c */
};

struct conns {
	pthread_mutex_t cs_mu;
	struct conn *cs_head, *cs_tail;
	size_t cs_n;
	size_t cs_cap;
	int64_t cs_idle_ms;
	atomic_size_t cs_body;
	size_t cs_body_max;
	unsigned long cs_evicted, cs_reaped; /* counts, for logs and tests */
};

/* 0 or -1. */
int conns_init(struct conns *cs, size_t cap, size_t body_max, int64_t idle_ms);
void conns_fini(struct conns *cs);

/* A new connection on fd: enters the table (reaping and evicting first
 * when needed). NULL when out of memory (the caller refuses it). */
struct conn *conns_open(struct conns *cs, int fd);
/* The server closed it. */
void conns_close(struct conns *cs, struct conn *c);
/* Its request went to the service (waiting) or its answer was sent. */
void conns_waiting(struct conns *cs, struct conn *c, bool waiting);
/* A request completed: its clock starts again. */
void conns_done(struct conns *cs, struct conn *c);

/* Takes n bytes of the body budget; -1 when that would exceed it. */
int conns_body_take(struct conns *cs, size_t n);
void conns_body_give(struct conns *cs, size_t n);

#endif /* CONNS_H */
