/*
 * The Group methods: InfraKit's Group API (spec infrakit-group.md §5.7,
 * pkg/rpc/group of v0.x and master) in front of the built-in controller
 * (group/gctl.h). Params are the union of both eras (master adds Name,
 * which is echoed; unknown members are ignored as the Go server does);
 * results carry both eras' members (v0.x OK, master ID), plus ours under
 * names InfraKit's decoders ignore (Status, Plan).
 *
 * Group.CommitGroup reads its Spec from the request's text, not from the
 * parsed params, so the Properties keep their exact bytes: the config hash
 * and InspectGroups are computed from what the client sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/gctl.h"
#include "model/jsonutil.h"
#include "rpc/jsonrpc.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"

/* Group/0.1.0 (v0.x) and Group/0.1.1 (master). */
const char *const rpc_group_versions[] = { "0.1.0", "0.1.1" };
const size_t rpc_n_group_versions =
    sizeof(rpc_group_versions) / sizeof(rpc_group_versions[0]);

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

static void
toobig(struct err *err)
{
	err_set(err, EIK_INTERNAL,
	    "the answer would exceed %d bytes (DESCRIBE_MAX_ANSWER)",
	    DESCRIBE_MAX_ANSWER);
}

/* An optional boolean member: absent or null gives false. */
static int
opt_bool(const json_t *params, const char *key, bool *out, struct err *err)
{
	json_t *v = jget(params, key);
	char got[JGOT_MAX];

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		err_set(err, EIK_PARAMS, "%s must be true or false, got %s",
		    key, jgot(v, got));
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Master's Name (the plugin name the client used), echoed. */
static int
prep_name(const json_t *params, struct gctl_req *r, struct err *err)
{
	const char *name;

	if (jopt_str(params, "Name", "Name", sizeof(r->gr_name) - 1, &name,
		err) == -1)
		return -1;
	if (name != NULL)
		(void)strlcpy(r->gr_name, name, sizeof(r->gr_name));
	return 0;
}

int
rpc_gprep_id(const struct rpc_env *env, json_t *params, struct gctl_req *r,
    struct err *err)
{
	const char *id;

	(void)env;
	if (prep_name(params, r, err) == -1 ||
	    jopt_str(params, "ID", "ID", GSPEC_ID_MAX, &id, err) == -1)
		return -1;
	if (id == NULL || id[0] == '\0') {
		err_set(
		    err, EIK_PARAMS, "ID is missing: give the ID of the group");
		return -1;
	}
	(void)strlcpy(r->gr_id, id, sizeof(r->gr_id));
	return 0;
}

/* The raw text of params.Spec in the request, or NULL. */
static const char *
raw_spec(const struct rpc_env *env, size_t *len)
{
	const char *p, *s;
	size_t pl;

	if (env->re_body == NULL ||
	    json_raw_member(env->re_body, env->re_len, "params", &p, &pl) ==
		-1 ||
	    json_raw_member(p, pl, "Spec", &s, len) == -1)
		return NULL;
	return s;
}

int
rpc_gprep_commit(const struct rpc_env *env, json_t *params, struct gctl_req *r,
    struct err *err)
{
	json_t *spec = jget(params, "Spec");
	const char *text;
	char *dumped = NULL;
	bool compat;
	size_t len;
	int rc;

	if (prep_name(params, r, err) == -1 ||
	    opt_bool(params, "Pretend", &r->gr_pretend, err) == -1 ||
	    opt_bool(params, "Compat", &compat, err) == -1)
		return -1;
	if (spec == NULL || json_is_null(spec)) {
		err_set(err, EIK_PARAMS,
		    "Spec is missing: give the group spec {\"ID\": ..., "
		    "\"Properties\": ...}");
		return -1;
	}
	r->gr_flags = compat ? GSPEC_COMPAT : 0;
	if ((text = raw_spec(env, &len)) == NULL) {
		/* Spelt "spec" or so: the parsed value, as jansson keeps it. */
		if ((dumped = jdump(spec)) == NULL) {
			oom(err);
			return -1;
		}
		text = dumped;
		len = strlen(dumped);
	}
	rc =
	    gctl_check(env->re_group, text, len, r->gr_flags, &r->gr_spec, err);
	free(dumped);
	if (rc == 0)
		(void)strlcpy(r->gr_id, r->gr_spec.g_id, sizeof(r->gr_id));
	return rc;
}

int
rpc_gprep_describe(const struct rpc_env *env, json_t *params,
    struct gctl_req *r, struct err *err)
{
	if (rpc_gprep_id(env, params, r, err) == -1)
		return -1;
	/* Ours: also the members InfraKit does not see. */
	return opt_bool(params, "All", &r->gr_all, err);
}

int
rpc_gprep_inspect(const struct rpc_env *env, json_t *params, struct gctl_req *r,
    struct err *err)
{
	(void)env;
	return prep_name(params, r, err);
}

int
rpc_gprep_set_size(const struct rpc_env *env, json_t *params,
    struct gctl_req *r, struct err *err)
{
	json_t *v = jget(params, "Size");
	char got[JGOT_MAX];

	if (rpc_gprep_id(env, params, r, err) == -1)
		return -1;
	if (!json_is_integer(v)) {
		err_set(err, EIK_PARAMS, "Size must be an integer, got %s",
		    jgot(v, got));
		return -1;
	}
	if (json_integer_value(v) < 0) {
		err_set(err, EIK_INVAL, "size cannot be negative");
		return -1;
	}
	if (json_integer_value(v) > GSPEC_SIZE_MAX) {
		err_set(err, EIK_INVAL, "Size %lld: at most %d",
		    (long long)json_integer_value(v), GSPEC_SIZE_MAX);
		return -1;
	}
	r->gr_size = (size_t)json_integer_value(v);
	return 0;
}

int
rpc_gprep_destroy_instances(const struct rpc_env *env, json_t *params,
    struct gctl_req *r, struct err *err)
{
	json_t *v = jget(params, "Instances"), *e;
	size_t i;

	if (rpc_gprep_id(env, params, r, err) == -1)
		return -1;
	if (!json_is_array(v) || json_array_size(v) > GCTL_MAX_DESTROY_IDS) {
		err_set(err, EIK_PARAMS,
		    "Instances must be an array of at most %d instance "
		    "IDs",
		    GCTL_MAX_DESTROY_IDS);
		return -1;
	}
	r->gr_ids = calloc(json_array_size(v) + 1, sizeof(*r->gr_ids));
	if (r->gr_ids == NULL) {
		oom(err);
		return -1;
	}
	json_array_foreach(v, i, e)
	{
		char name[32];
		const char *id;

		(void)snprintf(name, sizeof(name), "Instances[%zu]", i);
		if ((id = jstr(e, name, RPC_MAX_ID, err)) == NULL)
			return -1;
		if ((r->gr_ids[r->gr_n_ids] = strdup(id)) == NULL) {
			oom(err);
			return -1;
		}
		r->gr_n_ids++;
	}
	return 0;
}

/* ---- answers ------------------------------------------------------------- */

/* {"ID": id[, "Name": name] — left open for more members. */
static json_t *
result_head(const struct gctl_req *r)
{
	json_t *o = json_pack("{s:s}", "ID", r->gr_id);

	if (o != NULL && r->gr_name[0] != '\0')
		json_object_set_new(o, "Name", json_string(r->gr_name));
	return o;
}

int
rpc_gdone_ok(const struct gctl_req *r, struct buf *out, struct err *err)
{
	json_t *o = result_head(r);

	if (o != NULL)
		json_object_set_new(o, "OK", json_true());
	return rpc_add_json(out, o, err);
}

int
rpc_gdone_size(const struct gctl_req *r, struct buf *out, struct err *err)
{
	json_t *o = result_head(r);

	if (o != NULL)
		json_object_set_new(
		    o, "Size", json_integer((json_int_t)r->gr_size));
	return rpc_add_json(out, o, err);
}

int
rpc_gdone_commit(const struct gctl_req *r, struct buf *out, struct err *err)
{
	json_t *o = result_head(r);

	if (o != NULL) {
		json_object_set_new(o, "Details", json_string(r->gr_text));
		json_object_set_new(o, "Plan",
		    json_pack("{s:I,s:I,s:I,s:b}", "Create",
			(json_int_t)r->gr_plan.pc_create, "Destroy",
			(json_int_t)r->gr_plan.pc_destroy, "Roll",
			(json_int_t)r->gr_plan.pc_roll, "Pretend",
			r->gr_pretend));
	}
	return rpc_add_json(out, o, err);
}

static json_t *
status_json(const struct gctl_status *st)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b,"
			 "s:b,s:I,s:I,s:s,s:s}",
	    "State", gstore_state_name(st->st_state), "Kind",
	    st->st_pets ? "pets" : "cattle", "HashTag", st->st_hash_tag, "Hash",
	    st->st_hash, "Target", (json_int_t)st->st_target, "Running",
	    (json_int_t)st->st_running, "Provisioning",
	    (json_int_t)st->st_provisioning, "Stopped",
	    (json_int_t)st->st_stopped, "Failed", (json_int_t)st->st_failed,
	    "Outdated", (json_int_t)st->st_outdated, "Rolling", st->st_rolling,
	    "Converged", st->st_converged, "Steady", st->st_steady, "Failures",
	    (json_int_t)st->st_failures, "MaxFailures",
	    (json_int_t)st->st_max_failures, "Doing", st->st_doing, "Error",
	    st->st_error);
}

int
rpc_gdone_describe(const struct gctl_req *r, struct buf *out, struct err *err)
{
	const struct gctl_status *st = r->gr_n_st > 0 ? &r->gr_st[0] : NULL;
	json_t *head = result_head(r);
	char *h;
	size_t hl;
	int rc = -1;

	if (st == NULL || head == NULL) {
		json_decref(head);
		oom(err);
		return -1;
	}
	json_object_set_new(head, "Status", status_json(st));
	if ((h = json_dumps(head, JSON_COMPACT)) == NULL) {
		json_decref(head);
		oom(err);
		return -1;
	}
	json_decref(head);
	/* {"ID":..,"Status":{..},"Description":{"Instances":[...],
	 * "Converged":b}}, one description at a time. */
	hl = strlen(h);
	if (buf_add(out, h, hl - 1) == -1 ||
	    buf_addstr(out, ",\"Description\":{\"Instances\":[") == -1)
		goto big;
	for (size_t i = 0; i < r->gr_members.l_n; i++) {
		if (i > 0 && buf_addc(out, ',') == -1)
			goto big;
		if (rpc_add_json(out, rpc_desc_json(&r->gr_members.l_v[i], 1),
			err) == -1)
			goto out;
	}
	if (buf_printf(out, "],\"Converged\":%s}}",
		st->st_converged ? "true" : "false") == -1)
		goto big;
	rc = 0;
	goto out;
big:
	toobig(err);
out:
	free(h);
	return rc;
}

/* One group of InspectGroups: its canonical spec {"ID","Properties"} as
 * committed, with our Status spliced in before the closing brace. */
static int
add_group(struct buf *out, const struct gctl_status *st, struct err *err)
{
	const char *j = st->st_spec_json;
	size_t n = strlen(j);
	json_t *s = status_json(st);

	if (n < 2 || j[n - 1] != '}') {
		json_decref(s);
		err_set(err, EIK_INTERNAL, "group '%s': bad stored spec",
		    st->st_id);
		return -1;
	}
	if (buf_add(out, j, n - 1) == -1 ||
	    buf_addstr(out, ",\"Status\":") == -1) {
		json_decref(s);
		toobig(err);
		return -1;
	}
	if (rpc_add_json(out, s, err) == -1)
		return -1;
	if (buf_addc(out, '}') == -1) {
		toobig(err);
		return -1;
	}
	return 0;
}

int
rpc_gdone_inspect(const struct gctl_req *r, struct buf *out, struct err *err)
{
	if (buf_addstr(out, "{\"ID\":\"\",") == -1 ||
	    (r->gr_name[0] != '\0' &&
		(buf_addstr(out, "\"Name\":") == -1 ||
		    rpc_add_json(out, json_string(r->gr_name), err) == -1 ||
		    buf_addc(out, ',') == -1)) ||
	    buf_addstr(out, "\"Groups\":[") == -1) {
		toobig(err);
		return -1;
	}
	for (size_t i = 0; i < r->gr_n_st; i++) {
		if (i > 0 && buf_addc(out, ',') == -1) {
			toobig(err);
			return -1;
		}
		if (add_group(out, &r->gr_st[i], err) == -1)
			return -1;
	}
	if (buf_addstr(out, "]}") == -1) {
		toobig(err);
		return -1;
	}
	return 0;
}
