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
#include "http/conns.h"
#include "http/httpd.h"
#include "rpc/jsonrpc.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/net.h"
#include "rpc/rpc.h"

struct httpd {
	struct MHD_Daemon *h_mhd;
	const struct svc *h_svc;
	struct httpd_opts h_opts;
	MHD_socket h_listen; /* after httpd_quiesce; closed at stop */
	bool h_quiesced;
};

/* Per-request state, from the first header callback to completion. */
struct hreq {
	struct buf r_body;
	unsigned long r_reqno;
	bool r_too_big;
	bool r_too_busy;   /* the body budget ran out */
	bool r_get;	   /* GET or HEAD: answered once the request is in */
	size_t r_budget;   /* body bytes taken from the budget */
	struct conn *r_cn; /* the connection's entry (conns.h) */
	struct MHD_Connection *r_conn;
	struct rpc_call *r_call; /* with the service; connection suspended */
	atomic_int r_phase;	 /* CALL_* */
	const char *r_ctype;	 /* of the answer; NULL: application/json */
	struct origin r_from;	 /* who sent it */
};

/* The Content-Type of GET /metrics (text exposition format 0.0.4). */
#define METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* r_phase of a call with the service. */
#define CALL_PENDING 0
#define CALL_ANSWERED 1 /* the service answered; resumed */
#define CALL_ORPHANED 2 /* the connection ended first */

/* 413; its libmicrohttpd name changed between releases. */
#define HTTP_STATUS_TOO_LARGE 413

/* ---- metrics -------------------------------------------------------------
 */

static const char *const listener_names[] = { "unix", "tcp" };
static _Atomic uint64_t conn_cells[2];
static struct mfamily conn_family = {
	.mf_name = "ikvf_http_connections",
	.mf_help = "Connections open, by listener.",
	.mf_type = MT_GAUGE,
	.mf_flags = MF_ALL,
	.mf_label = { "listener" },
	.mf_values = { listener_names },
	.mf_nvalues = { 2 },
	.mf_cells = conn_cells,
	.mf_ncells = 2,
};
/* The statuses respond_error answers with. */
static const char *const status_names[] = { "403", "404", "405", "413", "415",
	"500", "503", "other" };
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))
static _Atomic uint64_t refused_cells[N_STATUS];
static struct mfamily refused_family = {
	.mf_name = "ikvf_http_refused_total",
	.mf_help = "HTTP requests refused before any method ran (a browser's "
		   "Origin, a wrong Host, Content-Type, path or method, a body "
		   "too large, a full body budget), by status.",
	.mf_type = MT_COUNTER,
	.mf_label = { "status" },
	.mf_values = { status_names },
	.mf_nvalues = { N_STATUS },
	.mf_cells = refused_cells,
	.mf_ncells = N_STATUS,
};

static void
count_refused(unsigned status)
{
	char s[16];
	size_t i;

	(void)snprintf(s, sizeof(s), "%u", status);
	for (i = 0; i < N_STATUS - 1; i++)
		if (strcmp(s, status_names[i]) == 0)
			break;
	metrics_inc(&refused_family, i, 0);
}

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, struct buf *body,
    const char *allow, const char *ctype)
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
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    ctype != NULL ? ctype : "application/json");
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
	log_ctx_set(reqno, NULL, NULL, NULL);
	log_info("refused: HTTP %u: %s", status, msg);
	log_ctx_clear();
	count_refused(status);
	buf_init(&body, 4096);
	if (jsonrpc_error(&body, NULL, JSONRPC_INVALID_REQUEST, msg) == -1) {
		buf_free(&body);
		return MHD_NO;
	}
	return respond(c, status, &body, allow, NULL);
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

static struct conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* Whether a Host header names this machine's loopback ("h" and "a" are
 * the placeholder hosts InfraKit's clients put in every request). */
static bool
host_is_loopback(const char *host)
{
	static const char *const names[] = { "localhost", "127.0.0.1", "[::1]",
		"::1", "h", "a" };
	char h[256];

	if (host == NULL || strlcpy(h, host, sizeof(h)) >= sizeof(h))
		return false;
	/* Without the port (IPv6 literals keep their brackets). */
	if (h[0] == '[') {
		char *end = strchr(h, ']');

		if (end == NULL)
			return false;
		end[1] = '\0';
	} else if (strchr(h, ':') != NULL && strchr(h, ':') == strrchr(h, ':'))
		*strchr(h, ':') = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(h, names[i]) == 0)
			return true;
	return strncmp(h, "127.", 4) == 0 &&
	    strspn(h, "0123456789.") == strlen(h);
}

/*
 * What a web page on this machine (or DNS rebinding) could send to a TCP
 * listener is refused: browsers send an Origin on cross-site requests and
 * can only send "simple" content types without a preflight, and a
 * rebinding attack arrives with its own host name. InfraKit's Go client
 * sends Content-Type application/json, no Origin, and the address it
 * dialed as Host. NULL when the request may go on, else the refusal.
 */
static const char *
tcp_refusal(struct MHD_Connection *c, const struct httpd *h, const char *method)
{
	const char *ct, *host;
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (!h->h_opts.ho_tcp)
		return NULL;
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin") != NULL ||
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site") !=
		NULL)
		return "requests from web browsers are refused (an Origin "
		       "header was sent); use the unix socket or a client "
		       "that is not a browser";
	/* A GET only reads (a scraper sends no Content-Type); a page cannot
	 * read the answer without CORS, and a rebinding attack still fails
	 * the Host check. */
	ct = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!get && (ct == NULL || ct[strspn(ct, " \t")] == '\0'))
		return "a Content-Type of application/json is required on "
		       "TCP";
	host = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!h->h_opts.ho_remote && !host_is_loopback(host))
		return "the Host header does not name this machine's "
		       "loopback address (DNS rebinding?); connect to "
		       "127.0.0.1 or localhost";
	return NULL;
}

static void on_wake(void *arg);

/* r's call goes to the service; the connection waits, suspended, until
 * on_wake resumes it and libmicrohttpd calls on_request again. */
static enum MHD_Result
suspend(struct MHD_Connection *c, struct httpd *h, struct hreq *r)
{
	atomic_init(&r->r_phase, CALL_PENDING);
	r->r_conn = c;
	if (r->r_cn != NULL)
		conns_waiting(h->h_opts.ho_conns, r->r_cn, true);
	MHD_suspend_connection(c);
	rpc_call_submit(r->r_call, on_wake, r);
	return MHD_YES;
}

static enum MHD_Result
on_get(
    struct MHD_Connection *c, struct httpd *h, struct hreq *r, const char *url)
{
	struct buf body;

	if (strcmp(url, "/") == 0)
		return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST",
		    r->r_reqno,
		    "rpc: POST method required, received GET (send JSON-RPC "
		    "2.0 requests as POST /)");
	if (strcmp(url, "/metrics") == 0) {
		if (rpc_metrics_begin(h->h_svc, &r->r_call) == -1)
			return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    NULL, r->r_reqno, "internal error: out of memory");
		r->r_ctype = METRICS_CTYPE;
		return suspend(c, h, r);
	}
	buf_init(&body, RPC_MAX_BODY);
	if (rpc_info(h->h_svc, url, &body) == 0)
		return respond(c, MHD_HTTP_OK, &body, NULL, NULL);
	buf_free(&body);
	return respond_error(c, MHD_HTTP_NOT_FOUND, NULL, r->r_reqno,
	    "no such endpoint GET %.200s; this plugin serves POST / "
	    "(JSON-RPC), GET /metrics, GET /info/api.json and GET "
	    "/info/functions.json",
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

	buf_init(&out,
	    r->r_ctype != NULL ? METRICS_MAX_ANSWER : DESCRIBE_MAX_ANSWER);
	conns_body_give(h->h_opts.ho_conns, r->r_budget);
	r->r_budget = 0;
	if (r->r_call != NULL) {
		rc = rpc_call_finish(r->r_call, &out);
		r->r_call = NULL;
		if (r->r_cn != NULL)
			conns_waiting(h->h_opts.ho_conns, r->r_cn, false);
	} else {
		rc = rpc_begin(h->h_svc,
		    r->r_body.b_data != NULL ? r->r_body.b_data : "",
		    r->r_body.b_len, &out, r->r_reqno, &r->r_from, &r->r_call);
		if (rc == 1) {
			buf_free(&out);
			return suspend(c, h, r);
		}
	}
	if (rc == -1) {
		buf_free(&out);
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
		    r->r_reqno, "internal error: out of memory");
	}
	return respond(c, MHD_HTTP_OK, &out, NULL, r->r_ctype);
}

/* Who sent r: the connection's peer, and the client's User-Agent. */
static void
note_origin(struct MHD_Connection *c, struct hreq *r)
{
	const char *ua = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);

	if (r->r_cn != NULL)
		r->r_from = r->r_cn->cn_from;
	else {
		memset(&r->r_from, 0, sizeof(r->r_from));
		r->r_from.o_uid = r->r_from.o_gid = r->r_from.o_pid = -1;
	}
	if (ua != NULL)
		(void)strlcpy(r->r_from.o_agent, ua, sizeof(r->r_from.o_agent));
}

/* The first call for a request: its headers are in. Refuses it, or sets
 * *con_cls and waits for the body (or, for a GET, the next call). */
static enum MHD_Result
on_headers(struct MHD_Connection *c, struct httpd *h, const char *url,
    const char *method, void **con_cls)
{
	const char *ct, *cl, *why;
	unsigned long reqno = log_reqid_next();
	struct hreq *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return MHD_NO;
	buf_init(&r->r_body, RPC_MAX_BODY);
	r->r_reqno = reqno;
	r->r_cn = conn_of(c);
	*con_cls = r;
	if ((why = tcp_refusal(c, h, method)) != NULL)
		return respond_error(
		    c, MHD_HTTP_FORBIDDEN, NULL, reqno, "%s", why);
	/* Answered at the next call: a response queued before
	 * libmicrohttpd has the whole request closes the connection,
	 * and a scraper keeps its connection alive. */
	r->r_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (r->r_get)
		return MHD_YES;
	note_origin(c, r);
	if (strcmp(method, "POST") != 0)
		return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "POST, GET", reqno,
		    "rpc: POST method required, received %.32s", method);
	if (strcmp(url, "/") != 0)
		return respond_error(c, MHD_HTTP_NOT_FOUND, NULL, reqno,
		    "no such endpoint POST %.200s; send JSON-RPC "
		    "requests to POST /",
		    url);
	ct = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!content_type_ok(ct))
		return respond_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
		    reqno,
		    "rpc: unrecognized Content-Type: %.100s (use "
		    "application/json)",
		    ct);
	cl = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		const char *e;
		uint64_t n = parse_uint(cl, 0, UINT64_MAX, &e);

		if (e == NULL && n > RPC_MAX_BODY)
			return respond_error(c, HTTP_STATUS_TOO_LARGE, NULL,
			    reqno,
			    "request body of %llu bytes exceeds the "
			    "limit of %d bytes (RPC_MAX_BODY)",
			    (unsigned long long)n, RPC_MAX_BODY);
	}
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct hreq *r = *con_cls;

	(void)version;
	if (r == NULL)
		return on_headers(c, h, url, method, con_cls);
	if (r->r_get) {
		*upload_data_size = 0; /* a body with a GET: ignored */
		return r->r_call == NULL ? on_get(c, h, r, url)
					 : answer(c, h, r);
	}
	if (*upload_data_size > 0) {
		if (!r->r_too_big && !r->r_too_busy &&
		    conns_body_take(h->h_opts.ho_conns, *upload_data_size) ==
			-1)
			r->r_too_busy = true;
		else if (!r->r_too_big && !r->r_too_busy) {
			r->r_budget += *upload_data_size;
			if (buf_add(&r->r_body, upload_data,
				*upload_data_size) == -1)
				r->r_too_big = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->r_too_busy)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
		    r->r_reqno,
		    "too many large requests are arriving at once (more than "
		    "%d bytes of bodies in flight); try again",
		    HTTP_BODY_BUDGET);
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
	struct httpd *h = cls;
	struct hreq *r = *con_cls;

	if (r == NULL)
		return;
	*con_cls = NULL;
	if (r->r_cn != NULL)
		conns_done(h->h_opts.ho_conns, r->r_cn);
	conns_body_give(h->h_opts.ho_conns, r->r_budget);
	r->r_budget = 0;
	(void)c;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		log_ctx_set(r->r_reqno, NULL, NULL, NULL);
		log_debug("connection ended early (%d)", (int)toe);
		log_ctx_clear();
	}
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

/* The peer of a new connection, as the kernel says; on TCP the address
 * libmicrohttpd has (accepted, or given by the TLS front, whose socket pair
 * has no address of its own). */
static void
peer_of(struct MHD_Connection *c, int fd, bool tcp, struct origin *o)
{
	memset(o, 0, sizeof(*o));
	o->o_uid = o->o_gid = o->o_pid = -1;
	if (tcp) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		o->o_transport = ORIGIN_TCP;
		if (ci == NULL ||
		    net_addr_text(
			ci->client_addr, o->o_addr, sizeof(o->o_addr)) == -1)
			(void)net_peer_addr(fd, o->o_addr, sizeof(o->o_addr));
	} else {
		o->o_transport = ORIGIN_UNIX;
		(void)net_peer_cred(fd, &o->o_uid, &o->o_gid, &o->o_pid);
	}
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	size_t l = h->h_opts.ho_tcp ? 1 : 0;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn *cn = ci != NULL
		    ? conns_open(h->h_opts.ho_conns, ci->connect_fd)
		    : NULL;

		if (cn != NULL)
			peer_of(
			    c, ci->connect_fd, h->h_opts.ho_tcp, &cn->cn_from);
		*socket_context = cn;
		metrics_inc(&conn_family, l, 0);
	} else {
		metrics_sub(&conn_family, l, 0, 1);
		if (*socket_context != NULL) {
			conns_close(h->h_opts.ho_conns, *socket_context);
			*socket_context = NULL;
		}
	}
}

/*
 * HTTP_THREADS_PER_CORE polling threads a core, at most HTTP_THREADS_MAX.
 * Handlers never wait (the service answers through on_wake), so the pool
 * is not there to cover blocked calls: it spreads keep-alive connections
 * so that a request and its answer rarely wait for another connection's
 * turn (scripts/bench.sh: handshakes/s rise up to about 8 a core here).
 */
static unsigned int
http_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	n *= HTTP_THREADS_PER_CORE;
	return (unsigned int)(n > HTTP_THREADS_MAX ? HTTP_THREADS_MAX : n);
}

struct httpd *
httpd_start(int fd, const struct svc *svc, const struct httpd_opts *opts,
    struct err *err)
{
	struct MHD_OptionItem listen_opts[] = {
		{ MHD_OPTION_LISTEN_SOCKET, 0, NULL },
		{ MHD_OPTION_THREAD_POOL_SIZE, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct httpd *h;

	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		if (fd != -1)
			(void)close(fd);
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	h->h_svc = svc;
	h->h_opts = *opts;
	h->h_listen = MHD_INVALID_SOCKET;
	/* Without a listening socket (fd -1: the TLS front adds each
	 * connection) libmicrohttpd runs one thread, not a pool. */
	if (fd != -1) {
		listen_opts[0].value = fd;
		listen_opts[1].value = (intptr_t)http_threads();
	} else
		listen_opts[0].option = MHD_OPTION_END;
	(void)metrics_register(&conn_family);
	(void)metrics_register(&refused_family);
	h->h_mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD |
		MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
		(fd == -1 ? MHD_USE_NO_LISTEN_SOCKET : 0),
	    0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, h, MHD_OPTION_ARRAY, listen_opts,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)(opts->ho_conns->cs_cap + HTTP_CONN_SLACK),
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (h->h_mhd == NULL) {
		if (fd != -1)
			(void)close(fd);
		free(h);
		err_set(err, EIK_IO, "cannot start the HTTP server");
		return NULL;
	}
	return h;
}

int
httpd_add_conn(struct httpd *h, int fd, const struct sockaddr *sa,
    socklen_t salen, struct err *err)
{
	if (MHD_add_connection(h->h_mhd, fd, sa, salen) == MHD_YES)
		return 0;
	err_set(err, EIK_BUSY, "the HTTP server refused the connection: %s",
	    strerror(errno));
	return -1;
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
