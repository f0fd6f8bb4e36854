/*
 * HTTP server on libmicrohttpd. See httpd.h.
 *
 * Threading: libmicrohttpd runs one polling thread per core (at most
 * HTTP_THREADS_MAX); a request is handled on the thread that read it.
 * Handlers never wait: what the service must answer is submitted and the
 * connection suspended (MHD_suspend_connection) until the service's
 * callback resumes it, so a small pool serves any number of calls in
 * flight, and an idle or trickling client only costs a socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "http/httpd.h"
#include "rpc/jsonrpc.h"
#include "util/log.h"
#include "rpc/rpc.h"

struct httpd {
	struct MHD_Daemon *h_mhd;
	const struct svc *h_svc;
	MHD_socket h_listen; /* after httpd_quiesce; closed at stop */
	bool h_quiesced;
};

/* Per-request state, from the first header callback to completion. */
struct hreq {
	struct buf r_body;
	unsigned long r_reqno;
	bool r_too_big;
	struct MHD_Connection *r_conn;
	struct rpc_call *r_call; /* with the service; connection suspended */
	atomic_int r_phase;	 /* CALL_* */
};

/* r_phase of a call with the service. */
#define CALL_PENDING 0
#define CALL_ANSWERED 1 /* the service answered; resumed */
#define CALL_ORPHANED 2 /* the connection ended first */

/* 413; its libmicrohttpd name changed between releases. */
#define HTTP_STATUS_TOO_LARGE 413

static atomic_ulong httpd_reqno;

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
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
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
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1) {
		err_set(err, EIK_IO, "socket: %s", strerror(errno));
		return -1;
	}
	(void)fd_cloexec(fd);
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
			    "loopback address: the InfraKit protocol has no "
			    "authentication, so anyone who can connect can "
			    "create and destroy VMs; pass --allow-remote if "
			    "you really want that",
			    host, port);
			goto out;
		}
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd == -1)
			continue;
		(void)fd_cloexec(fd);
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

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, struct buf *body,
    const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = body->b_len;
	char *data = buf_steal(body);

	if (data == NULL)
		return MHD_NO;
	resp =
	    MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(data);
		return MHD_NO;
	}
	(void)MHD_add_response_header(
	    resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (allow != NULL)
		(void)MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Answers an HTTP-level problem with a JSON-RPC error body: InfraKit's Go
 * client ignores the status and shows the message. */
static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status,
    const char *allow, unsigned long reqno, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result
respond_error(struct MHD_Connection *c, unsigned status, const char *allow,
    unsigned long reqno, const char *fmt, ...)
{
	struct buf body;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("req %lu refused: HTTP %u: %s", reqno, status, msg);
	buf_init(&body, 4096);
	if (jsonrpc_error(&body, NULL, JSONRPC_INVALID_REQUEST, msg) == -1) {
		buf_free(&body);
		return MHD_NO;
	}
	return respond(c, status, &body, allow);
}

/* application/json, with or without parameters, or no type at all, like
 * gorilla's json2 codec selection. */
static bool
content_type_ok(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return true;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (*ct == '\0')
		return true;
	n = strcspn(ct, "; \t");
	return n == strlen("application/json") &&
	    strncasecmp(ct, "application/json", n) == 0;
}

static enum MHD_Result
on_get(struct MHD_Connection *c, struct httpd *h, const char *url,
    unsigned long reqno)
{
	struct buf body;

	if (strcmp(url, "/") == 0)
		return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST",
		    reqno,
		    "rpc: POST method required, received GET (send JSON-RPC "
		    "2.0 requests as POST /)");
	buf_init(&body, RPC_MAX_BODY);
	if (rpc_info(h->h_svc, url, &body) == 0)
		return respond(c, MHD_HTTP_OK, &body, NULL);
	buf_free(&body);
	return respond_error(c, MHD_HTTP_NOT_FOUND, NULL, reqno,
	    "no such endpoint GET %.200s; this plugin serves POST / "
	    "(JSON-RPC), GET /info/api.json and GET /info/functions.json",
	    url);
}

/* The service answered: let libmicrohttpd call on_request again. */
static void
on_wake(void *arg)
{
	struct hreq *r = arg;
	struct buf scratch;

	if (atomic_exchange(&r->r_phase, CALL_ANSWERED) == CALL_ORPHANED) {
		/* Nobody to answer: drop it. */
		buf_init(&scratch, DESCRIBE_MAX_ANSWER);
		(void)rpc_call_finish(r->r_call, &scratch);
		buf_free(&scratch);
		buf_free(&r->r_body);
		free(r);
		return;
	}
	MHD_resume_connection(r->r_conn);
}

/*
 * The body is complete: answer it, at once or, when the service must,
 * suspend the connection (no thread waits) until on_wake resumes it and
 * libmicrohttpd calls here again.
 */
static enum MHD_Result
answer(struct MHD_Connection *c, struct httpd *h, struct hreq *r)
{
	struct buf out;
	int rc;

	buf_init(&out, DESCRIBE_MAX_ANSWER);
	if (r->r_call != NULL) {
		rc = rpc_call_finish(r->r_call, &out);
		r->r_call = NULL;
	} else {
		rc = rpc_begin(h->h_svc,
		    r->r_body.b_data != NULL ? r->r_body.b_data : "",
		    r->r_body.b_len, &out, r->r_reqno, &r->r_call);
		if (rc == 1) {
			buf_free(&out);
			atomic_init(&r->r_phase, CALL_PENDING);
			r->r_conn = c;
			MHD_suspend_connection(c);
			rpc_call_submit(r->r_call, on_wake, r);
			return MHD_YES;
		}
	}
	if (rc == -1) {
		buf_free(&out);
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
		    r->r_reqno, "internal error: out of memory");
	}
	return respond(c, MHD_HTTP_OK, &out, NULL);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct hreq *r = *con_cls;

	(void)version;
	if (r == NULL) {
		const char *ct, *cl;
		unsigned long reqno = atomic_fetch_add(&httpd_reqno, 1) + 1;

		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		buf_init(&r->r_body, RPC_MAX_BODY);
		r->r_reqno = reqno;
		*con_cls = r;
		if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
			return on_get(c, h, url, reqno);
		if (strcmp(method, "POST") != 0)
			return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "POST, GET", reqno,
			    "rpc: POST method required, received %.32s",
			    method);
		if (strcmp(url, "/") != 0)
			return respond_error(c, MHD_HTTP_NOT_FOUND, NULL, reqno,
			    "no such endpoint POST %.200s; send JSON-RPC "
			    "requests to POST /",
			    url);
		ct = MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!content_type_ok(ct))
			return respond_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			    NULL, reqno,
			    "rpc: unrecognized Content-Type: %.100s (use "
			    "application/json)",
			    ct);
		cl = MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			const char *e;
			uint64_t n = parse_uint(cl, 0, UINT64_MAX, &e);

			if (e == NULL && n > RPC_MAX_BODY)
				return respond_error(c, HTTP_STATUS_TOO_LARGE,
				    NULL, reqno,
				    "request body of %llu bytes exceeds the "
				    "limit of %d bytes (RPC_MAX_BODY)",
				    (unsigned long long)n, RPC_MAX_BODY);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!r->r_too_big &&
		    buf_add(&r->r_body, upload_data, *upload_data_size) == -1)
			r->r_too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->r_too_big)
		return respond_error(c, HTTP_STATUS_TOO_LARGE, NULL, r->r_reqno,
		    "request body exceeds the limit of %d bytes "
		    "(RPC_MAX_BODY)",
		    RPC_MAX_BODY);
	return answer(c, h, r);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct hreq *r = *con_cls;

	(void)cls;
	(void)c;
	if (r == NULL)
		return;
	*con_cls = NULL;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_debug("req %lu: connection ended early (%d)", r->r_reqno,
		    (int)toe);
	if (r->r_call != NULL) {
		struct buf scratch;

		/* The service still has it: on_wake frees r. */
		if (atomic_exchange(&r->r_phase, CALL_ORPHANED) == CALL_PENDING)
			return;
		buf_init(&scratch, DESCRIBE_MAX_ANSWER);
		(void)rpc_call_finish(r->r_call, &scratch);
		buf_free(&scratch);
	}
	buf_free(&r->r_body);
	free(r);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

/* A thread per core, at most HTTP_THREADS_MAX: handlers never wait (the
 * service answers through on_wake), so more threads only add switches. */
static unsigned int
http_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return (unsigned int)(n > HTTP_THREADS_MAX ? HTTP_THREADS_MAX : n);
}

struct httpd *
httpd_start(int fd, const struct svc *svc, struct err *err)
{
	struct httpd *h;

	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		(void)close(fd);
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	h->h_svc = svc;
	h->h_mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD |
		MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME,
	    0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, h, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_THREAD_POOL_SIZE, http_threads(),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_LIMIT,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (h->h_mhd == NULL) {
		(void)close(fd);
		free(h);
		err_set(err, EIK_IO, "cannot start the HTTP server");
		return NULL;
	}
	return h;
}

void
httpd_quiesce(struct httpd *h)
{
	if (h == NULL || h->h_quiesced)
		return;
	h->h_listen = MHD_quiesce_daemon(h->h_mhd);
	h->h_quiesced = true;
}

void
httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	httpd_quiesce(h);
	MHD_stop_daemon(h->h_mhd);
	/* Only now: a pool thread may have used it until the stop. */
	if (h->h_listen != MHD_INVALID_SOCKET)
		(void)close(h->h_listen);
	free(h);
}
