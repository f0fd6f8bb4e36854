/*
 * The disks of pets, for our own client verbs (`attachment ls`,
 * `attachment rm`); not part of InfraKit's API:
 *
 *   Attachment.List   {}            -> {"Attachments": [{"ID", "Name",
 *                                      "Type", "Format", "Backend",
 *                                      "SizeGB", "CreatedAt", "MadeFor",
 *                                      "OnDisk", "Holder", "HolderState",
 *                                      "LogicalID"}...]}
 *   Attachment.Remove {"ID": "..."} -> {"Type": "", "OK": true}
 *
 * A disk no instance holds is removed; one held is refused, naming the
 * holder (the service decides: service/attach.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/jsonutil.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"

int
rpc_prep_att_list(const struct rpc_env *env, json_t *params, struct svc_req *r,
    bool *props, struct err *err)
{
	(void)env;
	(void)params;
	(void)r;
	(void)props;
	(void)err;
	return 0;
}

int
rpc_prep_att_remove(const struct rpc_env *env, json_t *params,
    struct svc_req *r, bool *props, struct err *err)
{
	json_t *v = jget(params, "ID");
	const char *id;

	(void)env;
	(void)props;
	if (v == NULL || json_is_null(v)) {
		err_set(err, EIK_PARAMS,
		    "params.ID is missing: give the ID of the disk to delete "
		    "(`attachment ls` lists them)");
		return -1;
	}
	if ((id = jstr(v, "params.ID", ATTACH_ID_MAX, err)) == NULL)
		return -1;
	(void)strlcpy(r->sr_att, id, sizeof(r->sr_att));
	return 0;
}

static json_t *
att_json(const struct att_view *a)
{
	char when[32];

	when[0] = '\0';
	if (a->av_created_ms > 0)
		rpc_fmt_time(a->av_created_ms, when, sizeof(when));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:b,s:s,s:s,s:o}",
	    "ID", a->av_id, "Name", a->av_name, "Type", a->av_type, "Format",
	    a->av_format, "Backend", a->av_backend, "SizeGB",
	    (int)a->av_size_gb, "CreatedAt", when, "MadeFor", a->av_made_for,
	    "OnDisk", a->av_on_disk, "Holder", a->av_holder, "HolderState",
	    a->av_holder_state, "LogicalID",
	    a->av_holder_lid != NULL ? json_string(a->av_holder_lid)
				     : json_null());
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(((const struct att_view *)x)->av_name,
	    ((const struct att_view *)y)->av_name);
}

int
rpc_done_att_list(
    const struct svc_req *r, bool props, struct buf *out, struct err *err)
{
	size_t n = r->sr_atts.al_n;
	struct att_view *v = n > 0 ? malloc(n * sizeof(*v)) : NULL;
	json_t *arr = n == 0 || v != NULL ? json_array() : NULL, *o = NULL;
	char *text = NULL;
	int rc;

	(void)props;
	if (v != NULL) {
		/* A shallow copy, sorted: the strings stay r's. */
		memcpy(v, r->sr_atts.al_v, n * sizeof(*v));
		qsort(v, n, sizeof(*v), by_name);
	}
	for (size_t i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, att_json(&v[i])) == -1) {
			json_decref(arr);
			arr = NULL;
		}
	free(v);
	if (arr != NULL)
		o = json_pack("{s:o}", "Attachments", arr);
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	rc = buf_addstr(out, text);
	free(text);
	if (rc == -1)
		err_set(err, EIK_INTERNAL, "answer too large");
	return rc;
}
