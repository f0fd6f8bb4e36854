/*
 * The TLS front of the TCP listener: one thread, poll(2), every socket
 * non-blocking. See tls.h.
 *
 * A connection is first a handshake (only its socket), then a relay: its
 * socket, an SSL session and one end of a socket pair whose other end the
 * HTTP server owns. Two buffers of one TLS record each carry the bytes
 * (up: decrypted, to the server; down: from the server, to encrypt). When
 * the client ends its side the pair is half-closed; when the server ends
 * its side (an answer with "Connection: close", its timeout, the
 * connection table's eviction) what is buffered is flushed within
 * TLS_LINGER_MS, close_notify is sent and everything is closed.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http/httpd.h"
#include "http/tls.h"
#include "http/tls_int.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/log.h"

/* TC_CLOSING: refused; the alert (or the plain-HTTP answer) is on its way,
 * our side is shut and what the client still sends is read and dropped
 * until it closes or TLS_REFUSE_LINGER_MS pass: closing with unread bytes
 * would reset the connection, and a reset destroys the alert before the
 * client reads it. Counted with the handshakes. */
enum tc_state { TC_HANDSHAKE, TC_OPEN, TC_CLOSING };

struct tconn {
	struct tconn *tc_prev, *tc_next; /* by arrival, oldest first */
	enum tc_state tc_state;
	int tc_fd;   /* the client's socket */
	int tc_pair; /* our end of the pair; -1 while handshaking */
	SSL *tc_ssl;
	int64_t tc_deadline; /* mono ms; 0 = none */
	short tc_rd_ev;	     /* what SSL_read / SSL_accept waits for */
	short tc_wr_ev;	     /* what SSL_write waits for */
	bool tc_ssl_eof;     /* the client ended its side */
	bool tc_pair_eof;    /* the server ended its side */
	bool tc_pair_shut;   /* we half-closed the pair */
	bool tc_fatal;	     /* the session failed: no close_notify */
	int tc_pi;	     /* index in the poll set, -1 = not there */
	unsigned char *tc_up, *tc_dn;
	size_t tc_up_off, tc_up_len, tc_dn_off, tc_dn_len;
	struct sockaddr_storage tc_addr;
	socklen_t tc_alen;
	char tc_peer[80];
	struct tls_why tc_why;
};

struct tlsfront {
	pthread_t tf_thread;
	int tf_listen;
	int tf_wake[2];
	atomic_bool tf_quiesce, tf_stop;
	struct tls_ctx *tf_ctx;
	struct httpd *tf_httpd;
	struct tconn *tf_head, *tf_tail;
	size_t tf_n, tf_handshakes;
	struct pollfd *tf_pfd;
	size_t tf_pcap;
	int64_t tf_log_t0; /* the refusal log's window */
	unsigned tf_log_n, tf_log_dropped;
};

/* What a plain-HTTP client gets before the connection is closed: the
 * reason in JSON-RPC's error form, which InfraKit's client shows. */
static const char http_body[] =
    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":"
    "\"this port speaks TLS: use https:// (client verbs: --host "
    "tcps://HOST:PORT)\"},\"id\":null}\n";

static void
answer_plain_http(int fd)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
	    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
	    sizeof(http_body) - 1, http_body);

	/* Best effort: the socket is non-blocking and closed next. */
	if (n > 0 && (size_t)n < sizeof(msg))
		(void)write(fd, msg, (size_t)n);
}

static void
refused(struct tlsfront *tf, const struct tconn *c, const char *why)
{
	int64_t now = mono_ms();

	if (now - tf->tf_log_t0 >= TLS_LOG_WINDOW_MS) {
		if (tf->tf_log_dropped > 0)
			log_warnx("tls: %u more refused connections were not "
				  "logged",
			    tf->tf_log_dropped);
		tf->tf_log_t0 = now;
		tf->tf_log_n = tf->tf_log_dropped = 0;
	}
	if (tf->tf_log_n++ < TLS_LOG_BURST)
		log_warnx("tls %s: refused: %s", c->tc_peer, why);
	else
		tf->tf_log_dropped++;
}

static void
conn_free(struct tlsfront *tf, struct tconn *c)
{
	if (c->tc_prev != NULL)
		c->tc_prev->tc_next = c->tc_next;
	else
		tf->tf_head = c->tc_next;
	if (c->tc_next != NULL)
		c->tc_next->tc_prev = c->tc_prev;
	else
		tf->tf_tail = c->tc_prev;
	tf->tf_n--;
	if (c->tc_state != TC_OPEN)
		tf->tf_handshakes--;
	else if (!c->tc_fatal)
		(void)SSL_shutdown(c->tc_ssl); /* close_notify, if it fits */
	SSL_free(c->tc_ssl);
	ERR_clear_error();
	(void)close(c->tc_fd);
	if (c->tc_pair != -1)
		(void)close(c->tc_pair);
	free(c->tc_up);
	free(c->tc_dn);
	free(c);
}

static bool
would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Client → server. 1 moved, 0 waits, -1 over. */
static int
pump_up(struct tconn *c)
{
	int moved = 0;

	if (c->tc_up_len == 0 && !c->tc_ssl_eof) {
		int r = SSL_read(c->tc_ssl, c->tc_up, TLS_BUF);

		c->tc_rd_ev = POLLIN;
		if (r > 0) {
			c->tc_up_off = 0;
			c->tc_up_len = (size_t)r;
			moved = 1;
		} else {
			int e = SSL_get_error(c->tc_ssl, r);

			if (e == SSL_ERROR_WANT_WRITE)
				c->tc_rd_ev = POLLOUT;
			else if (e == SSL_ERROR_ZERO_RETURN)
				c->tc_ssl_eof = true;
			else if (e != SSL_ERROR_WANT_READ) {
				c->tc_fatal = true; /* reset, no close_notify */
				return -1;
			}
		}
	}
	if (c->tc_up_len > 0) {
		ssize_t w =
		    write(c->tc_pair, c->tc_up + c->tc_up_off, c->tc_up_len);

		if (w > 0) {
			c->tc_up_off += (size_t)w;
			c->tc_up_len -= (size_t)w;
			moved = 1;
		} else if (w == -1 && !would_block())
			return -1;
	}
	if (c->tc_ssl_eof && c->tc_up_len == 0 && !c->tc_pair_shut) {
		(void)shutdown(c->tc_pair, SHUT_WR);
		c->tc_pair_shut = true;
	}
	return moved;
}

/* Server → client. 1 moved, 0 waits, -1 over. */
static int
pump_down(struct tconn *c)
{
	int moved = 0;

	if (c->tc_dn_len == 0 && !c->tc_pair_eof) {
		ssize_t r = read(c->tc_pair, c->tc_dn, TLS_BUF);

		if (r > 0) {
			c->tc_dn_off = 0;
			c->tc_dn_len = (size_t)r;
			moved = 1;
		} else if (r == 0)
			c->tc_pair_eof = true;
		else if (!would_block())
			return -1;
	}
	if (c->tc_dn_len > 0) {
		int r = SSL_write(
		    c->tc_ssl, c->tc_dn + c->tc_dn_off, (int)c->tc_dn_len);

		c->tc_wr_ev = POLLOUT;
		if (r > 0) {
			c->tc_dn_off += (size_t)r;
			c->tc_dn_len -= (size_t)r;
			moved = 1;
		} else {
			int e = SSL_get_error(c->tc_ssl, r);

			if (e == SSL_ERROR_WANT_READ)
				c->tc_wr_ev = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE) {
				c->tc_fatal = true;
				return -1;
			}
		}
	}
	return moved;
}

/* Moves bytes both ways until nothing moves. -1: the connection is over
 * (the caller frees it). */
static int
relay(struct tconn *c)
{
	int up, down;

	do {
		if ((up = pump_up(c)) == -1 || (down = pump_down(c)) == -1)
			return -1;
		if (c->tc_pair_eof && c->tc_dn_len == 0)
			return -1; /* the server is done, all of it sent */
	} while (up > 0 || down > 0);
	if (c->tc_pair_eof && c->tc_deadline == 0)
		c->tc_deadline = mono_ms() + TLS_LINGER_MS;
	return 0;
}

/* The handshake is done: the HTTP server gets the pair's other end. */
static int
established(struct tlsfront *tf, struct tconn *c)
{
	struct err err;
	char subj[256] = "(none)";
	const X509 *peer = SSL_get0_peer_certificate(c->tc_ssl);
	int sv[2];

	tf->tf_handshakes--;
	c->tc_state = TC_OPEN;
	c->tc_deadline = 0;
	c->tc_up = malloc(TLS_BUF);
	c->tc_dn = malloc(TLS_BUF);
	if (c->tc_up == NULL || c->tc_dn == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		log_warn("tls %s: no socket pair for it", c->tc_peer);
		return -1;
	}
	(void)fd_cloexec(sv[0]);
	(void)fd_cloexec(sv[1]);
	(void)fd_nonblock(sv[0]);
	(void)fd_nonblock(sv[1]);
	c->tc_pair = sv[0];
	err_clear(&err);
	if (httpd_add_conn(tf->tf_httpd, sv[1],
		(const struct sockaddr *)&c->tc_addr, c->tc_alen, &err) == -1) {
		log_warnx("tls %s: %s", c->tc_peer, err.msg);
		return -1;
	}
	if (peer != NULL)
		(void)X509_NAME_oneline(
		    X509_get_subject_name(peer), subj, (int)sizeof(subj));
	log_debug("tls %s: %s, client certificate %s", c->tc_peer,
	    SSL_get_version(c->tc_ssl), subj);
	return relay(c);
}

/* TC_CLOSING: drops what arrives. -1 at the client's end. */
static int
drain(struct tconn *c)
{
	char junk[4096];
	ssize_t r;

	while ((r = read(c->tc_fd, junk, sizeof(junk))) > 0)
		;
	return r == 0 || !would_block() ? -1 : 0;
}

/* One step of the handshake. -1: over (the caller frees). */
static int
handshake(struct tlsfront *tf, struct tconn *c)
{
	char why[512];
	int r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_accept(c->tc_ssl);
	if (r == 1)
		return established(tf, c);
	e = SSL_get_error(c->tc_ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->tc_rd_ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 0;
	}
	tls_server_refusal(c->tc_ssl, r, &c->tc_why, why, sizeof(why));
	refused(tf, c, why);
	if (strncmp(why, TLS_WHY_HTTP, strlen(TLS_WHY_HTTP)) == 0)
		answer_plain_http(c->tc_fd);
	c->tc_state = TC_CLOSING;
	c->tc_deadline = mono_ms() + TLS_REFUSE_LINGER_MS;
	(void)shutdown(c->tc_fd, SHUT_WR);
	return drain(c);
}

static void
peer_name(struct tconn *c)
{
	char h[NI_MAXHOST], p[NI_MAXSERV];

	if (getnameinfo((struct sockaddr *)&c->tc_addr, c->tc_alen, h,
		sizeof(h), p, sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		(void)snprintf(c->tc_peer, sizeof(c->tc_peer), "(unknown)");
	else if (c->tc_addr.ss_family == AF_INET6)
		(void)snprintf(c->tc_peer, sizeof(c->tc_peer), "[%s]:%s", h, p);
	else
		(void)snprintf(c->tc_peer, sizeof(c->tc_peer), "%s:%s", h, p);
}

/* Over TLS_HANDSHAKE_MAX: the oldest refused connection still closing
 * makes room, else the oldest handshake. */
static void
evict_handshake(struct tlsfront *tf)
{
	struct tconn *c;

	for (c = tf->tf_head; c != NULL; c = c->tc_next)
		if (c->tc_state == TC_CLOSING) {
			conn_free(tf, c);
			return;
		}
	for (c = tf->tf_head; c != NULL; c = c->tc_next)
		if (c->tc_state == TC_HANDSHAKE) {
			refused(tf, c,
			    "handshake not finished while newer ones waited "
			    "(TLS_HANDSHAKE_MAX at once)");
			conn_free(tf, c);
			return;
		}
}

static void
accept_one(struct tlsfront *tf, int fd, const struct sockaddr_storage *ss,
    socklen_t sl)
{
	struct tconn *c = calloc(1, sizeof(*c));
	int on = 1;

	if (c == NULL || (c->tc_ssl = SSL_new(tf->tf_ctx->tx_ctx)) == NULL ||
	    SSL_set_fd(c->tc_ssl, fd) != 1) {
		log_warnx("tls: out of memory for a connection");
		if (c != NULL)
			SSL_free(c->tc_ssl);
		free(c);
		(void)close(fd);
		ERR_clear_error();
		return;
	}
	(void)fd_cloexec(fd);
	(void)fd_nonblock(fd);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->tc_fd = fd;
	c->tc_pair = -1;
	c->tc_pi = -1;
	c->tc_addr = *ss;
	c->tc_alen = sl;
	c->tc_deadline = mono_ms() + TLS_HANDSHAKE_MS;
	peer_name(c);
	tls_why_attach(c->tc_ssl, &c->tc_why);
	if (tf->tf_handshakes >= TLS_HANDSHAKE_MAX)
		evict_handshake(tf);
	c->tc_prev = tf->tf_tail;
	if (tf->tf_tail != NULL)
		tf->tf_tail->tc_next = c;
	else
		tf->tf_head = c;
	tf->tf_tail = c;
	tf->tf_n++;
	tf->tf_handshakes++;
	/* The ClientHello may be there already. */
	if (handshake(tf, c) == -1)
		conn_free(tf, c);
}

static void
accept_all(struct tlsfront *tf)
{
	for (int i = 0; i < TLS_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept(tf->tf_listen, (struct sockaddr *)&ss, &sl);

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				log_warnx("tls: out of descriptors: a "
					  "connection waits in the backlog");
			return;
		}
		accept_one(tf, fd, &ss, sl);
	}
}

/* The poll set: wake pipe, listener, then each connection's socket and
 * pair. Returns its size. */
static size_t
poll_set(struct tlsfront *tf)
{
	size_t need = 2 + 2 * tf->tf_n, n = 0;

	if (need > tf->tf_pcap) {
		struct pollfd *p = realloc(tf->tf_pfd, need * 2 * sizeof(*p));

		if (p == NULL)
			return 0;
		tf->tf_pfd = p;
		tf->tf_pcap = need * 2;
	}
	tf->tf_pfd[n++] = (struct pollfd){ tf->tf_wake[0], POLLIN, 0 };
	tf->tf_pfd[n++] = (struct pollfd){ tf->tf_listen, POLLIN, 0 };
	for (struct tconn *c = tf->tf_head; c != NULL; c = c->tc_next) {
		short fev = 0, pev = 0;

		c->tc_pi = (int)n;
		if (c->tc_state == TC_HANDSHAKE)
			fev = c->tc_rd_ev != 0 ? c->tc_rd_ev : POLLIN;
		else if (c->tc_state == TC_CLOSING)
			fev = POLLIN;
		else {
			if (c->tc_up_len == 0 && !c->tc_ssl_eof)
				fev |= c->tc_rd_ev != 0 ? c->tc_rd_ev : POLLIN;
			if (c->tc_dn_len > 0)
				fev |= c->tc_wr_ev != 0 ? c->tc_wr_ev : POLLOUT;
			if (c->tc_up_len > 0)
				pev |= POLLOUT;
			if (c->tc_dn_len == 0 && !c->tc_pair_eof)
				pev |= POLLIN;
		}
		/* Nothing wanted: not polled (a hang-up would spin). */
		tf->tf_pfd[n++] =
		    (struct pollfd){ fev != 0 ? c->tc_fd : -1, fev, 0 };
		tf->tf_pfd[n++] =
		    (struct pollfd){ pev != 0 ? c->tc_pair : -1, pev, 0 };
	}
	return n;
}

static int
poll_timeout(const struct tlsfront *tf, int64_t now)
{
	int64_t next = now + 1000;

	for (const struct tconn *c = tf->tf_head; c != NULL; c = c->tc_next)
		if (c->tc_deadline != 0 && c->tc_deadline < next)
			next = c->tc_deadline;
	return next <= now ? 0 : (int)(next - now);
}

static int
step(struct tlsfront *tf, struct tconn *c)
{
	switch (c->tc_state) {
	case TC_HANDSHAKE:
		return handshake(tf, c);
	case TC_OPEN:
		return relay(c);
	case TC_CLOSING:
	default:
		return drain(c);
	}
}

/* The connections poll found ready, then the ones past their deadline. */
static void
serve_conns(struct tlsfront *tf, int64_t now)
{
	struct tconn *c, *next;

	for (c = tf->tf_head; c != NULL; c = next) {
		next = c->tc_next;
		if (c->tc_pi < 0)
			continue; /* accepted after the poll set was made */
		if (tf->tf_pfd[c->tc_pi].revents != 0 ||
		    tf->tf_pfd[c->tc_pi + 1].revents != 0) {
			if (step(tf, c) == -1) {
				conn_free(tf, c);
				continue;
			}
		}
		if (c->tc_deadline != 0 && c->tc_deadline <= now) {
			if (c->tc_state == TC_HANDSHAKE)
				refused(tf, c,
				    "TLS handshake not finished within "
				    "HTTP_CONN_TIMEOUT_S");
			conn_free(tf, c);
		}
	}
}

static void *
front_main(void *arg)
{
	struct tlsfront *tf = arg;

	while (!atomic_load(&tf->tf_stop)) {
		size_t n;
		int64_t now = mono_ms();
		char drain[64];

		if (atomic_load(&tf->tf_quiesce) && tf->tf_listen != -1) {
			(void)close(tf->tf_listen);
			tf->tf_listen = -1;
		}
		if ((n = poll_set(tf)) == 0) {
			log_warnx("tls: out of memory for the poll set");
			sleep_ms(100);
			continue;
		}
		if (poll(tf->tf_pfd, (nfds_t)n, poll_timeout(tf, now)) == -1) {
			if (errno != EINTR) {
				log_warn("tls: poll");
				sleep_ms(100);
			}
			continue;
		}
		if (tf->tf_pfd[0].revents != 0)
			while (read(tf->tf_wake[0], drain, sizeof(drain)) > 0)
				;
		if (tf->tf_listen != -1 && tf->tf_pfd[1].revents != 0)
			accept_all(tf);
		serve_conns(tf, mono_ms());
	}
	while (tf->tf_head != NULL)
		conn_free(tf, tf->tf_head);
	OPENSSL_thread_stop();
	return NULL;
}

static void
wake(struct tlsfront *tf)
{
	char c = 1;

	(void)write(tf->tf_wake[1], &c, 1);
}

struct tlsfront *
tls_front_start(int lfd, struct tls_ctx *ctx, struct httpd *h, struct err *err)
{
	struct tlsfront *tf = calloc(1, sizeof(*tf));

	if (tf == NULL || pipe(tf->tf_wake) == -1) {
		err_set(err, EIK_INTERNAL, "TLS front: %s",
		    tf == NULL ? "out of memory" : strerror(errno));
		free(tf);
		(void)close(lfd);
		tls_ctx_free(ctx);
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		(void)fd_cloexec(tf->tf_wake[i]);
		(void)fd_nonblock(tf->tf_wake[i]);
	}
	(void)fd_nonblock(lfd);
	tf->tf_listen = lfd;
	tf->tf_ctx = ctx;
	tf->tf_httpd = h;
	atomic_init(&tf->tf_quiesce, false);
	atomic_init(&tf->tf_stop, false);
	if (pthread_create(&tf->tf_thread, NULL, front_main, tf) != 0) {
		err_set(err, EIK_INTERNAL, "TLS front: no thread");
		(void)close(tf->tf_wake[0]);
		(void)close(tf->tf_wake[1]);
		(void)close(lfd);
		tls_ctx_free(ctx);
		free(tf);
		return NULL;
	}
	return tf;
}

void
tls_front_quiesce(struct tlsfront *tf)
{
	if (tf == NULL)
		return;
	atomic_store(&tf->tf_quiesce, true);
	wake(tf);
}

void
tls_front_stop(struct tlsfront *tf)
{
	if (tf == NULL)
		return;
	atomic_store(&tf->tf_stop, true);
	wake(tf);
	(void)pthread_join(tf->tf_thread, NULL);
	if (tf->tf_listen != -1)
		(void)close(tf->tf_listen);
	(void)close(tf->tf_wake[0]);
	(void)close(tf->tf_wake[1]);
	tls_ctx_free(tf->tf_ctx);
	free(tf->tf_pfd);
	free(tf);
}

size_t
tls_conn_cap(size_t budget)
{
	size_t n = budget > TLS_HANDSHAKE_MAX ? budget - TLS_HANDSHAKE_MAX : 0;

	n /= TLS_FD_COST;
	return n > HTTP_CONN_MIN ? n : HTTP_CONN_MIN;
}
