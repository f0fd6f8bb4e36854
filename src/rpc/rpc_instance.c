/*
 * The Instance methods: InfraKit's JSON params checked and turned into the
 * typed structs of model.h, the service called, its answer turned back into
 * JSON. Params are the union of every Instance version (0.1.0 .. 0.6.1):
 * Type optional, Context optional, Properties flag optional, Tags null or {}
 * meaning all; unknown params members are ignored as the Go server does.
 * Unknown *instance Properties* are an error: a typo in a group config must
 * not silently make a wrong VM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "model/jsonutil.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "model/specjson.h"

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

/* The optional Type member; "" when absent or null. */
static int
param_type(const json_t *params, const char **type, struct err *err)
{
	if (jopt_str(params, "Type", "Type", RPC_MAX_TYPE, type, err) == -1)
		return -1;
	if (*type == NULL)
		*type = "";
	return 0;
}

/* The Instance member of Destroy and Label. */
static int
param_instance(const json_t *params, const char **id, struct err *err)
{
	json_t *v = jget(params, "Instance");

	if (v == NULL || json_is_null(v)) {
		err_set(err, EIK_PARAMS,
		    "Instance is missing: give the ID of the instance");
		return -1;
	}
	*id = jstr(v, "Instance", RPC_MAX_ID, err);
	if (*id == NULL)
		return -1;
	if ((*id)[0] == '\0') {
		err_set(err, EIK_PARAMS,
		    "Instance is empty: give the ID of the instance");
		return -1;
	}
	return 0;
}

static json_t *
ok_result(const char *type)
{
	return json_pack("{s:s,s:b}", "Type", type, "OK", 1);
}

int
rpc_instance_validate(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	struct inst_props props;
	char tmpl[PATH_BUF];
	const char *type;
	int rc = -1;

	memset(&props, 0, sizeof(props));
	if (param_type(params, &type, err) == -1)
		return -1;
	if (specjson_props(
		jget(params, "Properties"), "Properties", &props, err) == -1)
		goto out;
	if (env->re_svc->ops->validate(
		env->re_svc->ctx, type, &props, tmpl, sizeof(tmpl), err) == -1)
		goto out;
	*result = ok_result(type);
	rc = *result != NULL ? 0 : -1;
	if (rc == -1)
		oom(err);
out:
	inst_props_free(&props);
	return rc;
}

/* The optional Type into r. */
static int
prep_type(const json_t *params, struct svc_req *r, struct err *err)
{
	const char *type;

	if (param_type(params, &type, err) == -1)
		return -1;
	(void)strlcpy(r->sr_type, type, sizeof(r->sr_type));
	return 0;
}

int
rpc_prep_provision(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	const struct svc *sv = env->re_svc;
	int rc;

	(void)props;
	if (prep_type(params, r, err) == -1 ||
	    specjson_spec(jget(params, "Spec"), "Spec", &r->sr_spec, err) == -1)
		return -1;
	/* Checked here, on this thread, against the template library: the
	 * whole Spec where the service can (what Init makes counts too). */
	if (sv->ops->validate_spec != NULL)
		rc = sv->ops->validate_spec(sv->ctx, r->sr_type, &r->sr_spec,
		    r->sr_template, sizeof(r->sr_template), err);
	else
		rc = sv->ops->validate(sv->ctx, r->sr_type, &r->sr_spec.s_props,
		    r->sr_template, sizeof(r->sr_template), err);
	/* The service names property values from the Properties. */
	if (rc == -1)
		err_reroot(err, "Properties", "Spec.Properties");
	return rc;
}

int
rpc_add_json(struct buf *out, json_t *v, struct err *err)
{
	char *text =
	    v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int rc;

	json_decref(v);
	if (text == NULL) {
		oom(err);
		return -1;
	}
	rc = buf_addstr(out, text);
	free(text);
	if (rc == -1)
		err_set(err, EIK_INTERNAL,
		    "the answer would exceed %d bytes (DESCRIBE_MAX_ANSWER)",
		    DESCRIBE_MAX_ANSWER);
	return rc;
}

int
rpc_done_provision(
    const struct svc_req *r, bool props, struct buf *out, struct err *err)
{
	(void)props;
	if (r->sr_out_id[0] == '\0') {
		/* A null ID crashes v0.x groups: never answer one. */
		err_set(err, EIK_INTERNAL, "internal error: no instance ID");
		return -1;
	}
	return rpc_add_json(out,
	    json_pack("{s:s,s:s}", "Type", r->sr_type, "ID", r->sr_out_id),
	    err);
}

int
rpc_done_ok(
    const struct svc_req *r, bool props, struct buf *out, struct err *err)
{
	(void)props;
	return rpc_add_json(out, ok_result(r->sr_type), err);
}

int
rpc_prep_destroy(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	const char *id, *reason = NULL;
	char got[JGOT_MAX];
	json_t *ctx;

	(void)props;
	r->sr_from = *env->re_from;
	if (prep_type(params, r, err) == -1 ||
	    param_instance(params, &id, err) == -1)
		return -1;
	ctx = jget(params, "Context");
	if (ctx != NULL && !json_is_null(ctx)) {
		if (!json_is_object(ctx)) {
			err_set(err, EIK_PARAMS,
			    "Context must be an object {\"Reason\": "
			    "\"terminate\"}, got %s",
			    jgot(ctx, got));
			return -1;
		}
		if (jopt_str(ctx, "Reason", "Context.Reason",
			sizeof(r->sr_reason) - 1, &reason, err) == -1)
			return -1;
	}
	if (reason == NULL || reason[0] == '\0')
		reason = "terminate";
	(void)strlcpy(r->sr_id, id, sizeof(r->sr_id));
	(void)strlcpy(r->sr_reason, reason, sizeof(r->sr_reason));
	return 0;
}

void
rpc_fmt_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)strlcpy(buf, "", size);
}

json_t *
rpc_desc_json(const struct inst_view *v, int props)
{
	json_t *d, *p;
	char when[32];

	d = json_pack("{s:s,s:o,s:o}", "ID", v->v_id, "LogicalID",
	    v->v_logical_id != NULL ? json_string(v->v_logical_id)
				    : json_null(),
	    "Tags", jtags_new(&v->v_tags));
	if (d == NULL || !props)
		return d;
	rpc_fmt_time(v->v_created_ms, when, sizeof(when));
	p = json_pack("{s:s,s:s,s:s,s:s,s:s}", "State", v->v_state,
	    "PowerState", v->v_power, "Backend", v->v_backend, "Template",
	    v->v_template, "CreatedAt", when);
	if (p == NULL) {
		json_decref(d);
		return NULL;
	}
	if (v->v_vmx != NULL)
		json_object_set_new(p, "VMX", json_string(v->v_vmx));
	if (v->v_ip != NULL)
		json_object_set_new(p, "IP", json_string(v->v_ip));
	if (v->v_mac != NULL)
		json_object_set_new(p, "MAC", json_string(v->v_mac));
	if (v->v_error != NULL)
		json_object_set_new(p, "Error", json_string(v->v_error));
	if (v->v_reason != NULL)
		json_object_set_new(p, "Reason", json_string(v->v_reason));
	if (v->v_ssh[0] != '\0')
		json_object_set_new(p, "SSH", json_string(v->v_ssh));
	if (v->v_ready >= 0)
		json_object_set_new(p, "Ready", json_boolean(v->v_ready == 1));
	if (!v->v_reported)
		json_object_set_new(p, "Reported", json_false());
	json_object_set_new(d, "Properties", p);
	return d;
}

/* An optional boolean member: absent or null gives false. */
static int
opt_bool(const json_t *params, const char *key, const char *field, bool *out,
    struct err *err)
{
	json_t *v = jget(params, key);
	char got[JGOT_MAX];

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		err_set(err, EIK_PARAMS, "%s must be true or false, got %s",
		    field, jgot(v, got));
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
rpc_prep_describe(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	bool all;

	(void)env;
	if (prep_type(params, r, err) == -1 ||
	    jtags(jget(params, "Tags"), "Tags", &r->sr_tags, err) == -1 ||
	    opt_bool(params, "Properties", "Properties", props, err) == -1 ||
	    /* Our extension for `describe --all`; InfraKit never sends it. */
	    opt_bool(params, "All", "All", &all, err) == -1)
		return -1;
	if (all) {
		r->sr_flags |= DESCRIBE_ALL;
		*props = true;
	}
	return 0;
}

int
rpc_done_describe(
    const struct svc_req *r, bool props, struct buf *out, struct err *err)
{
	json_t *type = json_string(r->sr_type);

	/* One description at a time: no answer is ever one big tree. */
	if (buf_addstr(out, "{\"Type\":") == -1 ||
	    rpc_add_json(out, type, err) == -1 ||
	    buf_addstr(out, ",\"Descriptions\":[") == -1)
		goto toobig;
	for (size_t i = 0; i < r->sr_list.l_n; i++) {
		if (i > 0 && buf_addc(out, ',') == -1)
			goto toobig;
		if (rpc_add_json(out, rpc_desc_json(&r->sr_list.l_v[i], props),
			err) == -1)
			return -1;
	}
	if (buf_addstr(out, "]}") == -1)
		goto toobig;
	return 0;
toobig:
	err_set(err, EIK_INTERNAL,
	    "the answer would exceed %d bytes (DESCRIBE_MAX_ANSWER): filter "
	    "on tags",
	    DESCRIBE_MAX_ANSWER);
	return -1;
}

/*
 * Machine.Start / Stop / Restart {"Type", "Instance", "Hard"}: our own
 * methods for the client verbs (InfraKit has none and is never told of
 * them); answered when the VM is on or off.
 */
static int
prep_power(
    json_t *params, struct svc_req *r, enum svc_power op, struct err *err)
{
	const char *id;
	bool hard = false;

	if (prep_type(params, r, err) == -1 ||
	    param_instance(params, &id, err) == -1 ||
	    opt_bool(params, "Hard", "Hard", &hard, err) == -1)
		return -1;
	(void)strlcpy(r->sr_id, id, sizeof(r->sr_id));
	r->sr_power = op == SVC_POWER_STOP && hard ? SVC_POWER_STOP_HARD : op;
	return 0;
}

int
rpc_prep_start(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	(void)env;
	(void)props;
	return prep_power(params, r, SVC_POWER_START, err);
}

int
rpc_prep_stop(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	(void)env;
	(void)props;
	return prep_power(params, r, SVC_POWER_STOP, err);
}

int
rpc_prep_restart(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	(void)env;
	(void)props;
	return prep_power(params, r, SVC_POWER_RESTART, err);
}

int
rpc_prep_label(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	const char *id;

	(void)env;
	(void)props;
	if (prep_type(params, r, err) == -1 ||
	    param_instance(params, &id, err) == -1)
		return -1;
	(void)strlcpy(r->sr_id, id, sizeof(r->sr_id));
	return jtags(jget(params, "Labels"), "Labels", &r->sr_tags, err);
}
