/*
 * The connection table. See conns.h.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "http/conns.h"
#include "util/compat.h"
#include "util/log.h"

int
conns_init(struct conns *cs, size_t cap, size_t body_max, int64_t idle_ms)
{
	memset(cs, 0, sizeof(*cs));
	if (pthread_mutex_init(&cs->cs_mu, NULL) != 0)
		return -1;
	cs->cs_cap = cap > 0 ? cap : 1;
	cs->cs_body_max = body_max;
	cs->cs_idle_ms = idle_ms;
	atomic_init(&cs->cs_body, 0);
	return 0;
}

void
conns_fini(struct conns *cs)
{
	struct conn *c, *next;

	for (c = cs->cs_head; c != NULL; c = next) {
		next = c->cn_next;
		free(c);
	}
	(void)pthread_mutex_destroy(&cs->cs_mu);
}

static void
unlink_node(struct conns *cs, struct conn *c)
{
	if (c->cn_prev != NULL)
		c->cn_prev->cn_next = c->cn_next;
	else
		cs->cs_head = c->cn_next;
	if (c->cn_next != NULL)
		c->cn_next->cn_prev = c->cn_prev;
	else
		cs->cs_tail = c->cn_prev;
	c->cn_prev = c->cn_next = NULL;
}

static void
append_node(struct conns *cs, struct conn *c)
{
	c->cn_prev = cs->cs_tail;
	c->cn_next = NULL;
	if (cs->cs_tail != NULL)
		cs->cs_tail->cn_next = c;
	else
		cs->cs_head = c;
	cs->cs_tail = c;
}

/* Ends c at the socket level; the server notices and closes it. */
static void
shut(struct conn *c)
{
	c->cn_shut = true;
	(void)shutdown(c->cn_fd, SHUT_RDWR);
}

/* Connections that completed nothing for cs_idle_ms. cs_mu held. */
static void
reap(struct conns *cs, int64_t now)
{
	for (struct conn *c = cs->cs_head; c != NULL; c = c->cn_next) {
		if (c->cn_since + cs->cs_idle_ms > now)
			break; /* the rest are younger */
		if (c->cn_waiting || c->cn_shut)
			continue;
		shut(c);
		cs->cs_reaped++;
	}
}

/* The oldest connection not waiting for the service. cs_mu held. */
static bool
evict_one(struct conns *cs)
{
	for (struct conn *c = cs->cs_head; c != NULL; c = c->cn_next) {
		if (c->cn_waiting || c->cn_shut)
			continue;
		shut(c);
		cs->cs_evicted++;
		return true;
	}
	return false;
}

struct conn *
conns_open(struct conns *cs, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	int64_t now = mono_ms();
	size_t live = 0;

	if (c == NULL)
		return NULL;
	c->cn_fd = fd;
	c->cn_since = now;
	(void)pthread_mutex_lock(&cs->cs_mu);
	reap(cs, now);
	for (struct conn *o = cs->cs_head; o != NULL; o = o->cn_next)
		live += o->cn_shut ? 0 : 1;
	if (live >= cs->cs_cap && evict_one(cs) && cs->cs_evicted % 100 == 1)
		log_warnx("http: %zu connections, the limit: closing the ones "
			  "that waited longest (%lu so far)",
		    live, cs->cs_evicted);
	append_node(cs, c);
	cs->cs_n++;
	(void)pthread_mutex_unlock(&cs->cs_mu);
	return c;
}

void
conns_close(struct conns *cs, struct conn *c)
{
	(void)pthread_mutex_lock(&cs->cs_mu);
	unlink_node(cs, c);
	cs->cs_n--;
	(void)pthread_mutex_unlock(&cs->cs_mu);
	free(c);
}

void
conns_waiting(struct conns *cs, struct conn *c, bool waiting)
{
	(void)pthread_mutex_lock(&cs->cs_mu);
	c->cn_waiting = waiting;
	(void)pthread_mutex_unlock(&cs->cs_mu);
}

void
conns_done(struct conns *cs, struct conn *c)
{
	(void)pthread_mutex_lock(&cs->cs_mu);
	c->cn_since = mono_ms();
	unlink_node(cs, c);
	append_node(cs, c);
	(void)pthread_mutex_unlock(&cs->cs_mu);
}

int
conns_body_take(struct conns *cs, size_t n)
{
	size_t had = atomic_fetch_add(&cs->cs_body, n);

	if (had + n <= cs->cs_body_max)
		return 0;
	(void)atomic_fetch_sub(&cs->cs_body, n);
	return -1;
}

void
conns_body_give(struct conns *cs, size_t n)
{
	(void)atomic_fetch_sub(&cs->cs_body, n);
}
