/*
 * Method dispatch. See rpc.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "group/gctl.h"
#include "model/jsonutil.h"
#include "rpc/jsonrpc.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/log.h"
#include "util/metrics.h"
#include "version.h"

struct method {
	const char *name;
	rpc_method_fn now; /* answered at once */
	enum svc_op op;	   /* or by the service: */
	rpc_prep_fn prep;
	rpc_done_fn done;
	enum gctl_op gop; /* or by the group controller: */
	rpc_gprep_fn gprep;
	rpc_gdone_fn gdone;
};

#define NOW(n, f)                                                              \
	{                                                                      \
		.name = (n), .now = (f)                                        \
	}
#define SVC(n, o, p, d)                                                        \
	{                                                                      \
		.name = (n), .op = (o), .prep = (p), .done = (d)               \
	}
#define GRP(n, o, p, d)                                                        \
	{                                                                      \
		.name = (n), .gop = (o), .gprep = (p), .gdone = (d)            \
	}

/* Every member of params some method reads: two spellings of one of
 * them ("Spec" and "spec") are refused, since Go's decoder would take the
 * last and jget() takes the exact one. Unknown members stay ignored. */
static const char *const param_names[] = { "Type", "Spec", "Properties",
	"Instance", "Context", "Tags", "Labels", "All", "Hard", "Name", "ID",
	"Pretend", "Compat", "Size", "Instances", NULL };

static const struct method rpc_methods[] = {
	NOW("Plugin.Implements", rpc_plugin_implements),
	NOW("Handshake.Implements", rpc_plugin_implements),
	NOW("Handshake.Types", rpc_handshake_types),
	NOW("Handshake.Hello", rpc_handshake_hello),
	NOW("Instance.Validate", rpc_instance_validate),
	SVC("Instance.Provision", SVC_PROVISION, rpc_prep_provision,
	    rpc_done_provision),
	SVC("Instance.Destroy", SVC_DESTROY, rpc_prep_destroy, rpc_done_ok),
	SVC("Instance.DescribeInstances", SVC_DESCRIBE, rpc_prep_describe,
	    rpc_done_describe),
	SVC("Instance.Label", SVC_LABEL, rpc_prep_label, rpc_done_ok),
	/* Ours, for the client verbs; not part of InfraKit's API. */
	NOW("Machine.Info", rpc_machine_info),
	SVC("Machine.Start", SVC_POWER, rpc_prep_start, rpc_done_ok),
	SVC("Machine.Stop", SVC_POWER, rpc_prep_stop, rpc_done_ok),
	SVC("Machine.Restart", SVC_POWER, rpc_prep_restart, rpc_done_ok),
	SVC("Attachment.List", SVC_ATT_LIST, rpc_prep_att_list,
	    rpc_done_att_list),
	SVC("Attachment.Remove", SVC_ATT_REMOVE, rpc_prep_att_remove,
	    rpc_done_ok),
	GRP("Group.CommitGroup", GCTL_COMMIT, rpc_gprep_commit,
	    rpc_gdone_commit),
	GRP("Group.FreeGroup", GCTL_FREE, rpc_gprep_id, rpc_gdone_ok),
	GRP("Group.DestroyGroup", GCTL_DESTROY, rpc_gprep_id, rpc_gdone_ok),
	GRP("Group.DescribeGroup", GCTL_DESCRIBE, rpc_gprep_describe,
	    rpc_gdone_describe),
	GRP("Group.InspectGroups", GCTL_INSPECT, rpc_gprep_inspect,
	    rpc_gdone_inspect),
	GRP("Group.Size", GCTL_SIZE, rpc_gprep_id, rpc_gdone_size),
	GRP("Group.SetSize", GCTL_SET_SIZE, rpc_gprep_set_size,
	    rpc_gdone_commit),
	GRP("Group.DestroyInstances", GCTL_DESTROY_INSTANCES,
	    rpc_gprep_destroy_instances, rpc_gdone_ok),
};

struct rpc_call {
	struct jsonrpc_req c_req;
	const struct method *c_m; /* NULL: GET /metrics */
	const struct svc *c_svc;
	struct svc_req *c_sr; /* with the service, or */
	struct gctl *c_g;     /* with the group controller: */
	struct gctl_req *c_gr;
	unsigned long c_reqno;
	bool c_props;
	atomic_int c_done;
	void (*c_wake)(void *);
	void *c_wake_arg;
	int64_t c_t0;	      /* mono ns, at rpc_begin */
	struct origin c_from; /* who asked (the info line) */
};

/* ---- metrics ------------------------------------------------------------- */

#define N_METHODS (sizeof(rpc_methods) / sizeof(rpc_methods[0]))
/* Each method's name, then "other" (unknown, or not even JSON-RPC). */
static const char *method_names[N_METHODS + 1];
static _Atomic uint64_t calls_cells[(N_METHODS + 1) * METRICS_N_OUTCOMES];
static struct mfamily calls_family = {
	.mf_name = "ikvf_rpc_requests_total",
	.mf_help = "JSON-RPC requests answered, by method and outcome (ok, "
		   "or the error's kind).",
	.mf_type = MT_COUNTER,
	.mf_label = { "method", "outcome" },
	.mf_values = { method_names, metrics_outcome_names },
	.mf_nvalues = { N_METHODS + 1, METRICS_N_OUTCOMES },
	.mf_cells = calls_cells,
	.mf_ncells = (N_METHODS + 1) * METRICS_N_OUTCOMES,
};
/* 100 us to 15 s (InfraKit's client gives up after 15 s). */
static const uint64_t rpc_bounds[] = { 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000,
	1000000000, 2500000000, 5000000000, 10000000000, 15000000000 };
#define NB (sizeof(rpc_bounds) / sizeof(rpc_bounds[0]))
static _Atomic uint64_t dur_cells[(N_METHODS + 1) * (NB + 1)];
static _Atomic uint64_t dur_sums[N_METHODS + 1];
static struct mfamily dur_family = {
	.mf_name = "ikvf_rpc_duration_seconds",
	.mf_help = "Time from a JSON-RPC request's body to its answer, by "
		   "method.",
	.mf_type = MT_HISTOGRAM,
	.mf_label = { "method" },
	.mf_values = { method_names },
	.mf_nvalues = { N_METHODS + 1 },
	.mf_bounds_ns = rpc_bounds,
	.mf_nbounds = NB,
	.mf_cells = dur_cells,
	.mf_sums = dur_sums,
	.mf_ncells = (N_METHODS + 1) * (NB + 1),
};
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void
metrics_setup(void)
{
	for (size_t i = 0; i < N_METHODS; i++)
		method_names[i] = rpc_methods[i].name;
	method_names[N_METHODS] = "other";
	(void)metrics_register(&calls_family);
	(void)metrics_register(&dur_family);
}

/* Whether a method only reads: its calls are logged at debug level. */
static bool
reads_only(const struct method *m)
{
	return m->now != NULL || (m->prep != NULL && m->op == SVC_DESCRIBE) ||
	    (m->gprep != NULL &&
		(m->gop == GCTL_DESCRIBE || m->gop == GCTL_INSPECT ||
		    m->gop == GCTL_SIZE));
}

/* Who asked, for the log: "cli, unix uid 0 pid 42". */
static void
origin_text(const struct origin *o, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s", origin_via_name(o->o_via));

	if (n < 0 || (size_t)n >= len)
		return;
	if (o->o_transport == ORIGIN_UNIX)
		(void)snprintf(buf + n, len - (size_t)n,
		    ", unix uid %ld pid %ld", o->o_uid, o->o_pid);
	else if (o->o_transport == ORIGIN_TCP)
		(void)snprintf(buf + n, len - (size_t)n, ", tcp %s", o->o_addr);
}

/* Counts one answered call of m (NULL: no method), outcome err (NULL: ok),
 * begun at t0, and logs state-changing ones at info level. */
static void
count_call(const struct method *m, const struct err *err, int64_t t0,
    const struct origin *from)
{
	size_t mi = m != NULL ? (size_t)(m - rpc_methods) : N_METHODS;
	int code = err != NULL ? err->code : EIK_OK;
	int64_t ns = mono_ns() - t0;
	char who[160];

	metrics_inc(&calls_family, mi, metrics_outcome(code));
	metrics_observe(&dur_family, mi, 0, ns);
	if (m == NULL || code != EIK_OK || reads_only(m) ||
	    !log_enabled(LOG_LVL_INFO))
		return;
	origin_text(from, who, sizeof(who));
	log_info("%s: ok in %.1f ms (%s)", m->name, (double)ns / 1e6, who);
}

/* ---- the front: the service and the group controller ------------------ */

static int
front_validate(void *ctx, const char *type, const struct inst_props *props,
    char *tmpl, size_t tmpllen, struct err *err)
{
	const struct svc *in = ((struct rpc_front *)ctx)->rf_inner;

	return in->ops->validate(in->ctx, type, props, tmpl, tmpllen, err);
}

static int
front_validate_spec(void *ctx, const char *type, const struct inst_spec *spec,
    char *tmpl, size_t tmpllen, struct err *err)
{
	const struct svc *in = ((struct rpc_front *)ctx)->rf_inner;

	if (in->ops->validate_spec == NULL)
		return in->ops->validate(
		    in->ctx, type, &spec->s_props, tmpl, tmpllen, err);
	return in->ops->validate_spec(in->ctx, type, spec, tmpl, tmpllen, err);
}

static void
front_submit(void *ctx, struct svc_req *r)
{
	const struct svc *in = ((struct rpc_front *)ctx)->rf_inner;

	in->ops->submit(in->ctx, r);
}

static size_t
front_types(void *ctx, const char **names, size_t max)
{
	const struct svc *in = ((struct rpc_front *)ctx)->rf_inner;

	return in->ops->types != NULL ? in->ops->types(in->ctx, names, max) : 0;
}

static const struct svc_ops front_ops = {
	.validate = front_validate,
	.validate_spec = front_validate_spec,
	.submit = front_submit,
	.types = front_types,
};

void
rpc_front_init(struct rpc_front *f, const struct svc *inner, struct gctl *group)
{
	f->rf_svc.ops = &front_ops;
	f->rf_svc.ctx = f;
	f->rf_inner = inner;
	f->rf_group = group;
	f->rf_vm_dir = NULL;
	f->rf_ssh_key = NULL;
}

const struct rpc_front *
rpc_front_of(const struct svc *svc)
{
	if (svc == NULL || svc->ops != &front_ops)
		return NULL;
	return svc->ctx;
}

struct gctl *
rpc_group_of(const struct svc *svc)
{
	if (svc == NULL || svc->ops != &front_ops)
		return NULL;
	return ((const struct rpc_front *)svc->ctx)->rf_group;
}

static const struct method *
rpc_lookup(const char *method)
{
	for (size_t i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]);
	     i++)
		if (strcmp(rpc_methods[i].name, method) == 0)
			return &rpc_methods[i];
	return NULL;
}

/* Logs a failure once, at the boundary, and writes the error answer. */
static int
answer_error(struct buf *out, const struct jsonrpc_req *req,
    unsigned long reqno, const struct err *err)
{
	(void)reqno; /* in the log line's context */
	if (err->code == EIK_INTERNAL || err->code == EIK_IO ||
	    err->code == EIK_NOSPACE)
		log_error("%s: %s",
		    req->jr_method != NULL ? req->jr_method : "-", err->msg);
	else
		log_info("%s refused: %s",
		    req->jr_method != NULL ? req->jr_method : "-", err->msg);
	if (req->jr_notify && err->code != EIK_PARSE &&
	    err->code != EIK_REQUEST)
		return 0;
	return jsonrpc_error(
	    out, req->jr_id, jsonrpc_code(err->code), err->msg);
}

static int
answer_result(struct buf *out, const struct jsonrpc_req *req,
    unsigned long reqno, json_t *result)
{
	int rc;

	if (req->jr_notify) {
		json_decref(result);
		return 0;
	}
	rc = jsonrpc_result(out, req->jr_id, result);
	(void)reqno;
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("resp: %s", buf_str(out));
	return rc;
}

/* The method, or -1 with err set. */
static int
find_method(const struct jsonrpc_req *req, const struct svc *svc,
    const struct method **m, struct err *err)
{
	*m = rpc_lookup(req->jr_method);
	if (*m != NULL && ((*m)->gprep == NULL || rpc_group_of(svc) != NULL))
		return 0;
	err_set(err, EIK_METHOD,
	    "rpc: can't find method \"%s\" (this plugin serves "
	    "Plugin.Implements, Handshake.Implements|Types|Hello, "
	    "Instance.Validate|Provision|Destroy|DescribeInstances|Label%s; "
	    "and Machine.Info|Start|Stop|Restart, Attachment.List|Remove for "
	    "its own client)",
	    req->jr_method,
	    rpc_group_of(svc) != NULL
		? ", Group.CommitGroup|FreeGroup|DescribeGroup|"
		  "DestroyGroup|InspectGroups|Size|SetSize|DestroyInstances"
		: "");
	return -1;
}

/* A call for the group controller: its request prepared from params. */
static int
begin_group(const struct rpc_env *env, struct jsonrpc_req *req,
    const struct method *m, struct rpc_call **callp, struct err *err)
{
	struct rpc_call *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->c_gr = gctl_req_new(m->gop)) == NULL) {
		free(c);
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	c->c_gr->gr_reqno = env->re_reqno;
	c->c_gr->gr_from = *env->re_from;
	if (m->gprep(env, req->jr_params, c->c_gr, err) == -1) {
		gctl_req_free(c->c_gr);
		free(c);
		return -1;
	}
	c->c_req = *req; /* moved */
	memset(req, 0, sizeof(*req));
	c->c_m = m;
	c->c_svc = env->re_svc;
	c->c_g = env->re_group;
	c->c_reqno = env->re_reqno;
	c->c_from = *env->re_from;
	atomic_init(&c->c_done, 0);
	*callp = c;
	return 1;
}

static int
begin_service(const struct rpc_env *penv, struct jsonrpc_req *req,
    const struct method *m, struct rpc_call **callp, struct err *err)
{
	struct rpc_env env = { penv->re_svc, penv->re_reqno, penv->re_from,
		NULL, NULL, 0 };
	struct rpc_call *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->c_sr = svc_req_new(m->op)) == NULL) {
		free(c);
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	c->c_sr->sr_reqno = env.re_reqno;
	if (m->prep(&env, req->jr_params, c->c_sr, &c->c_props, err) == -1) {
		svc_req_free(c->c_sr);
		free(c);
		return -1;
	}
	c->c_req = *req; /* moved */
	memset(req, 0, sizeof(*req));
	c->c_m = m;
	c->c_svc = env.re_svc;
	c->c_reqno = env.re_reqno;
	c->c_from = *env.re_from;
	atomic_init(&c->c_done, 0);
	*callp = c;
	return 1;
}

/* The method's call prepared for the service or the group controller
 * (1), or answered at once (0 with *result, or -1 with err). */
static int
begin_method(const struct rpc_env *env, struct jsonrpc_req *req,
    const struct method *m, json_t **result, struct rpc_call **callp,
    struct err *err)
{
	int rc;

	if (m->gprep != NULL)
		rc = begin_group(env, req, m, callp, err);
	else if (m->now == NULL)
		rc = begin_service(env, req, m, callp, err);
	else
		return m->now(env, req->jr_params, result, err);
	return rc;
}

int
rpc_begin(const struct svc *svc, const char *body, size_t len, struct buf *out,
    unsigned long reqno, const struct origin *from, struct rpc_call **callp)
{
	struct jsonrpc_req req;
	struct origin who = *from;
	struct rpc_env env = { svc, reqno, &who, rpc_group_of(svc), body, len };
	const struct method *m = NULL;
	struct err err;
	json_t *result = NULL;
	int64_t t0 = mono_ns();
	int rc;

	(void)pthread_once(&metrics_once, metrics_setup);
	*callp = NULL;
	err_clear(&err);
	who.o_via = strncmp(who.o_agent, PLUGIN_PROGNAME "/",
			strlen(PLUGIN_PROGNAME "/")) == 0
	    ? ORIGIN_CLI
	    : ORIGIN_RPC;
	log_ctx_set(reqno, NULL, NULL, NULL);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("req: %.*s", (int)(len > 4096 ? 4096 : len), body);
	if (jsonrpc_parse(body, len, &req, &err) == -1 ||
	    find_method(&req, svc, &m, &err) == -1) {
		m = NULL;
		goto fail;
	}
	if (jdup_names(
		req.jr_params, "params", param_names, EIK_PARAMS, &err) == -1)
		goto fail;
	log_ctx_set(reqno, NULL, m->name, NULL);
	rc = begin_method(&env, &req, m, &result, callp, &err);
	if (rc == 1) {
		(*callp)->c_t0 = t0;
		log_ctx_clear();
		return rc;
	}
	if (rc == -1)
		goto fail;
	if (result == NULL) {
		/* A handler must never answer "result":null (§4.2). */
		err_set(&err, EIK_INTERNAL, "internal error: empty result");
		goto fail;
	}
	rc = answer_result(out, &req, reqno, result);
	count_call(m, NULL, t0, &who);
	jsonrpc_req_free(&req);
	log_ctx_clear();
	return rc;
fail:
	rc = answer_error(out, &req, reqno, &err);
	count_call(m, &err, t0, &who);
	jsonrpc_req_free(&req);
	log_ctx_clear();
	return rc;
}

int
rpc_metrics_begin(const struct svc *svc, struct rpc_call **callp)
{
	struct rpc_call *c = calloc(1, sizeof(*c));

	*callp = NULL;
	if (c == NULL || (c->c_sr = svc_req_new(SVC_STATS)) == NULL) {
		free(c);
		return -1;
	}
	c->c_svc = svc;
	atomic_init(&c->c_done, 0);
	*callp = c;
	return 1;
}

void
rpc_version(const char **version, const char **revision)
{
	*version = PLUGIN_VERSION;
	*revision = PLUGIN_REVISION;
}

static void
answered(struct rpc_call *c)
{
	atomic_store_explicit(&c->c_done, 1, memory_order_release);
	c->c_wake(c->c_wake_arg);
}

static void
on_answer(struct svc_req *r, void *arg)
{
	(void)r;
	answered(arg);
}

static void
on_group_answer(struct gctl_req *r, void *arg)
{
	(void)r;
	answered(arg);
}

void
rpc_call_submit(struct rpc_call *c, void (*wake)(void *), void *arg)
{
	c->c_wake = wake;
	c->c_wake_arg = arg;
	if (c->c_gr != NULL) {
		c->c_gr->gr_done = on_group_answer;
		c->c_gr->gr_done_arg = c;
		gctl_submit(c->c_g, c->c_gr);
		return;
	}
	c->c_sr->sr_done = on_answer;
	c->c_sr->sr_done_arg = c;
	c->c_svc->ops->submit(c->c_svc->ctx, c->c_sr);
}

/* The answer's text (into text), or -1 with err: the callee's error or
 * the done function's. */
static int
answer_text(const struct rpc_call *c, struct buf *text, struct err *err)
{
	if (c->c_gr != NULL) {
		if (c->c_gr->gr_rc == -1) {
			*err = c->c_gr->gr_err;
			return -1;
		}
		return c->c_m->gdone(c->c_gr, text, err);
	}
	if (c->c_sr->sr_rc == -1) {
		*err = c->c_sr->sr_err;
		return -1;
	}
	return c->c_m->done(c->c_sr, c->c_props, text, err);
}

int
rpc_call_finish(struct rpc_call *c, struct buf *out)
{
	struct buf text;
	struct err err;
	int rc;

	if (atomic_load_explicit(&c->c_done, memory_order_acquire) == 0)
		abort(); /* finish before the answer: a caller's bug */
	if (c->c_m == NULL) {
		/* GET /metrics: the text, without the service's snapshot
		 * when it could not answer (shutting down). */
		rc = rpc_metrics_render(
		    c->c_sr->sr_rc == 0 ? c->c_sr : NULL, out);
		svc_req_free(c->c_sr);
		free(c);
		return rc;
	}
	err_clear(&err);
	log_ctx_set(c->c_reqno, NULL, c->c_m->name, NULL);
	buf_init(&text, DESCRIBE_MAX_ANSWER);
	if (answer_text(c, &text, &err) == -1) {
		rc = answer_error(out, &c->c_req, c->c_reqno, &err);
		count_call(c->c_m, &err, c->c_t0, &c->c_from);
	} else if (c->c_req.jr_notify) {
		rc = 0;
		count_call(c->c_m, NULL, c->c_t0, &c->c_from);
	} else {
		rc = jsonrpc_result_text(out, c->c_req.jr_id,
		    text.b_data != NULL ? text.b_data : "null", text.b_len);
		count_call(c->c_m, NULL, c->c_t0, &c->c_from);
		if (log_enabled(LOG_LVL_DEBUG))
			log_debug("resp: %.4096s", buf_str(out));
	}
	log_ctx_clear();
	buf_free(&text);
	jsonrpc_req_free(&c->c_req);
	svc_req_free(c->c_sr);
	gctl_req_free(c->c_gr);
	free(c);
	return rc;
}

/* ---- the synchronous round trip ---------------------------------------- */

struct waiter {
	pthread_mutex_t w_mu;
	pthread_cond_t w_cv;
	bool w_done;
};

static void
wake_waiter(void *arg)
{
	struct waiter *w = arg;

	(void)pthread_mutex_lock(&w->w_mu);
	w->w_done = true;
	(void)pthread_cond_signal(&w->w_cv);
	(void)pthread_mutex_unlock(&w->w_mu);
}

int
rpc_handle(const struct svc *svc, const char *body, size_t len, struct buf *out,
    unsigned long reqno)
{
	struct origin from;
	struct rpc_call *c;
	struct waiter w;
	int rc;

	memset(&from, 0, sizeof(from));
	from.o_uid = from.o_gid = from.o_pid = -1;
	rc = rpc_begin(svc, body, len, out, reqno, &from, &c);
	if (rc != 1)
		return rc;
	(void)pthread_mutex_init(&w.w_mu, NULL);
	(void)pthread_cond_init(&w.w_cv, NULL);
	w.w_done = false;
	rpc_call_submit(c, wake_waiter, &w);
	(void)pthread_mutex_lock(&w.w_mu);
	while (!w.w_done)
		(void)pthread_cond_wait(&w.w_cv, &w.w_mu);
	(void)pthread_mutex_unlock(&w.w_mu);
	(void)pthread_mutex_destroy(&w.w_mu);
	(void)pthread_cond_destroy(&w.w_cv);
	return rpc_call_finish(c, out);
}
