/*
 * Method dispatch. See rpc.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/jsonrpc.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/log.h"

struct method {
	const char *name;
	rpc_method_fn now; /* answered at once */
	enum svc_op op;	   /* or by the service: */
	rpc_prep_fn prep;
	rpc_done_fn done;
};

static const struct method rpc_methods[] = {
	{ "Plugin.Implements", rpc_plugin_implements, 0, NULL, NULL },
	{ "Handshake.Implements", rpc_plugin_implements, 0, NULL, NULL },
	{ "Handshake.Types", rpc_handshake_types, 0, NULL, NULL },
	{ "Handshake.Hello", rpc_handshake_hello, 0, NULL, NULL },
	{ "Instance.Validate", rpc_instance_validate, 0, NULL, NULL },
	{ "Instance.Provision", NULL, SVC_PROVISION, rpc_prep_provision,
	    rpc_done_provision },
	{ "Instance.Destroy", NULL, SVC_DESTROY, rpc_prep_destroy,
	    rpc_done_ok },
	{ "Instance.DescribeInstances", NULL, SVC_DESCRIBE, rpc_prep_describe,
	    rpc_done_describe },
	{ "Instance.Label", NULL, SVC_LABEL, rpc_prep_label, rpc_done_ok },
	/* Ours, for the client verbs; not part of InfraKit's API. */
	{ "Machine.Start", NULL, SVC_POWER, rpc_prep_start, rpc_done_ok },
	{ "Machine.Stop", NULL, SVC_POWER, rpc_prep_stop, rpc_done_ok },
	{ "Machine.Restart", NULL, SVC_POWER, rpc_prep_restart, rpc_done_ok },
};

struct rpc_call {
	struct jsonrpc_req c_req;
	const struct method *c_m;
	const struct svc *c_svc;
	struct svc_req *c_sr;
	unsigned long c_reqno;
	bool c_props;
	atomic_int c_done;
	void (*c_wake)(void *);
	void *c_wake_arg;
};

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
	if (err->code == EIK_INTERNAL || err->code == EIK_IO ||
	    err->code == EIK_NOSPACE)
		log_error("req %lu %s: %s", reqno,
		    req->jr_method != NULL ? req->jr_method : "-", err->msg);
	else
		log_info("req %lu %s refused: %s", reqno,
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
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("resp %lu: %s", reqno, buf_str(out));
	return rc;
}

/* The method, or -1 with err set. */
static int
find_method(
    const struct jsonrpc_req *req, const struct method **m, struct err *err)
{
	*m = rpc_lookup(req->jr_method);
	if (*m != NULL)
		return 0;
	err_set(err, EIK_METHOD,
	    "rpc: can't find method \"%s\" (this plugin serves "
	    "Plugin.Implements, Handshake.Implements|Types|Hello and "
	    "Instance.Validate|Provision|Destroy|DescribeInstances|Label; "
	    "and Machine.Start|Stop|Restart for its own client)",
	    req->jr_method);
	return -1;
}

static int
begin_service(const struct svc *svc, struct jsonrpc_req *req,
    const struct method *m, unsigned long reqno, struct rpc_call **callp,
    struct err *err)
{
	struct rpc_env env = { svc, reqno };
	struct rpc_call *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->c_sr = svc_req_new(m->op)) == NULL) {
		free(c);
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	c->c_sr->sr_reqno = reqno;
	if (m->prep(&env, req->jr_params, c->c_sr, &c->c_props, err) == -1) {
		svc_req_free(c->c_sr);
		free(c);
		return -1;
	}
	c->c_req = *req; /* moved */
	memset(req, 0, sizeof(*req));
	c->c_m = m;
	c->c_svc = svc;
	c->c_reqno = reqno;
	atomic_init(&c->c_done, 0);
	*callp = c;
	return 1;
}

int
rpc_begin(const struct svc *svc, const char *body, size_t len, struct buf *out,
    unsigned long reqno, struct rpc_call **callp)
{
	struct jsonrpc_req req;
	struct rpc_env env = { svc, reqno };
	const struct method *m;
	struct err err;
	json_t *result = NULL;
	int rc;

	*callp = NULL;
	err_clear(&err);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("req %lu: %.*s", reqno,
		    (int)(len > 4096 ? 4096 : len), body);
	if (jsonrpc_parse(body, len, &req, &err) == -1 ||
	    find_method(&req, &m, &err) == -1)
		goto fail;
	if (m->now == NULL) {
		rc = begin_service(svc, &req, m, reqno, callp, &err);
		if (rc == -1)
			goto fail;
		return rc;
	}
	if (m->now(&env, req.jr_params, &result, &err) == -1)
		goto fail;
	if (result == NULL) {
		/* A handler must never answer "result":null (§4.2). */
		err_set(&err, EIK_INTERNAL, "internal error: empty result");
		goto fail;
	}
	rc = answer_result(out, &req, reqno, result);
	jsonrpc_req_free(&req);
	return rc;
fail:
	rc = answer_error(out, &req, reqno, &err);
	jsonrpc_req_free(&req);
	return rc;
}

static void
on_answer(struct svc_req *r, void *arg)
{
	struct rpc_call *c = arg;

	(void)r;
	atomic_store_explicit(&c->c_done, 1, memory_order_release);
	c->c_wake(c->c_wake_arg);
}

void
rpc_call_submit(struct rpc_call *c, void (*wake)(void *), void *arg)
{
	c->c_wake = wake;
	c->c_wake_arg = arg;
	c->c_sr->sr_done = on_answer;
	c->c_sr->sr_done_arg = c;
	c->c_svc->ops->submit(c->c_svc->ctx, c->c_sr);
}

int
rpc_call_finish(struct rpc_call *c, struct buf *out)
{
	struct svc_req *r = c->c_sr;
	struct buf text;
	struct err err;
	int rc;

	if (atomic_load_explicit(&c->c_done, memory_order_acquire) == 0)
		abort(); /* finish before the answer: a caller's bug */
	err_clear(&err);
	buf_init(&text, DESCRIBE_MAX_ANSWER);
	if (r->sr_rc == -1) {
		err = r->sr_err;
		rc = answer_error(out, &c->c_req, c->c_reqno, &err);
	} else if (c->c_m->done(r, c->c_props, &text, &err) == -1)
		rc = answer_error(out, &c->c_req, c->c_reqno, &err);
	else if (c->c_req.jr_notify)
		rc = 0;
	else {
		rc = jsonrpc_result_text(out, c->c_req.jr_id,
		    text.b_data != NULL ? text.b_data : "null", text.b_len);
		if (log_enabled(LOG_LVL_DEBUG))
			log_debug(
			    "resp %lu: %.4096s", c->c_reqno, buf_str(out));
	}
	buf_free(&text);
	jsonrpc_req_free(&c->c_req);
	svc_req_free(r);
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
	struct rpc_call *c;
	struct waiter w;
	int rc;

	rc = rpc_begin(svc, body, len, out, reqno, &c);
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
