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
	if (jopt_str(params, "Type", "params.Type", RPC_MAX_TYPE, type, err) ==
	    -1)
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
		    "params.Instance is missing: give the ID of the instance");
		return -1;
	}
	*id = jstr(v, "params.Instance", RPC_MAX_ID, err);
	if (*id == NULL)
		return -1;
	if ((*id)[0] == '\0') {
		err_set(err, EIK_PARAMS, "params.Instance is empty");
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
	const char *type;
	int rc = -1;

	memset(&props, 0, sizeof(props));
	if (param_type(params, &type, err) == -1)
		return -1;
	if (specjson_props(jget(params, "Properties"), "params.Properties",
		&props, err) == -1)
		goto out;
	if (env->re_svc->ops->validate(env->re_svc->ctx, type, &props, err) ==
	    -1)
		goto out;
	*result = ok_result(type);
	rc = *result != NULL ? 0 : -1;
	if (rc == -1)
		oom(err);
out:
	inst_props_free(&props);
	return rc;
}

int
rpc_instance_provision(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	struct inst_spec spec;
	char id[RPC_MAX_ID + 1];
	const char *type;
	int rc = -1;

	memset(&spec, 0, sizeof(spec));
	if (param_type(params, &type, err) == -1)
		return -1;
	if (specjson_spec(jget(params, "Spec"), "params.Spec", &spec, err) ==
	    -1)
		goto out;
	id[0] = '\0';
	if (env->re_svc->ops->provision(
		env->re_svc->ctx, type, &spec, id, sizeof(id), err) == -1)
		goto out;
	if (id[0] == '\0') {
		/* A null ID crashes v0.x groups: never answer one. */
		err_set(err, EIK_INTERNAL, "internal error: no instance ID");
		goto out;
	}
	*result = json_pack("{s:s,s:s}", "Type", type, "ID", id);
	rc = *result != NULL ? 0 : -1;
	if (rc == -1)
		oom(err);
out:
	inst_spec_free(&spec);
	return rc;
}

int
rpc_instance_destroy(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	const char *type, *id, *reason = NULL;
	json_t *ctx;

	if (param_type(params, &type, err) == -1 ||
	    param_instance(params, &id, err) == -1)
		return -1;
	ctx = jget(params, "Context");
	if (ctx != NULL && !json_is_null(ctx)) {
		if (!json_is_object(ctx)) {
			err_set(err, EIK_PARAMS,
			    "params.Context must be an object {\"Reason\": "
			    "\"terminate\"}, got %s",
			    jtype(ctx));
			return -1;
		}
		if (jopt_str(ctx, "Reason", "params.Context.Reason", 64,
			&reason, err) == -1)
			return -1;
	}
	if (reason == NULL || reason[0] == '\0')
		reason = "terminate";
	if (env->re_svc->ops->destroy(
		env->re_svc->ctx, type, id, reason, err) == -1)
		return -1;
	*result = ok_result(type);
	if (*result == NULL) {
		oom(err);
		return -1;
	}
	return 0;
}

static void
fmt_time(int64_t ms, char *buf, size_t size)
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
	fmt_time(v->v_created_ms, when, sizeof(when));
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
	if (!v->v_reported)
		json_object_set_new(p, "Reported", json_false());
	json_object_set_new(d, "Properties", p);
	return d;
}

int
rpc_instance_describe(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	struct tags filter = TAGS_INIT;
	struct inst_list list = { NULL, 0, 0 };
	const char *type;
	json_t *v, *descs = NULL;
	int props = 0, all = 0, rc = -1;

	if (param_type(params, &type, err) == -1)
		return -1;
	if (jtags(jget(params, "Tags"), "params.Tags", &filter, err) == -1)
		goto out;
	v = jget(params, "Properties");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			err_set(err, EIK_PARAMS,
			    "params.Properties must be true or false, got %s",
			    jtype(v));
			goto out;
		}
		props = json_is_true(v);
	}
	/* Our extension for `describe --all`; InfraKit never sends it. */
	v = jget(params, "All");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			err_set(err, EIK_PARAMS,
			    "params.All must be true or false, got %s",
			    jtype(v));
			goto out;
		}
		all = json_is_true(v);
	}
	if (env->re_svc->ops->describe(env->re_svc->ctx, type, &filter,
		all ? DESCRIBE_ALL : 0, &list, err) == -1)
		goto out;
	descs = json_array();
	if (descs == NULL) {
		oom(err);
		goto out;
	}
	for (size_t i = 0; i < list.l_n; i++) {
		json_t *d = rpc_desc_json(&list.l_v[i], props || all);

		if (d == NULL || json_array_append_new(descs, d) == -1) {
			oom(err);
			goto out;
		}
	}
	*result = json_pack("{s:s,s:o}", "Type", type, "Descriptions", descs);
	descs = NULL;
	if (*result == NULL) {
		oom(err);
		goto out;
	}
	rc = 0;
out:
	json_decref(descs);
	inst_list_free(&list);
	tags_free(&filter);
	return rc;
}

int
rpc_instance_label(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	struct tags labels = TAGS_INIT;
	const char *type, *id;
	int rc = -1;

	if (param_type(params, &type, err) == -1 ||
	    param_instance(params, &id, err) == -1)
		return -1;
	if (jtags(jget(params, "Labels"), "params.Labels", &labels, err) == -1)
		goto out;
	if (env->re_svc->ops->label(env->re_svc->ctx, type, id, &labels, err) ==
	    -1)
		goto out;
	*result = ok_result(type);
	if (*result == NULL) {
		oom(err);
		goto out;
	}
	rc = 0;
out:
	tags_free(&labels);
	return rc;
}
