/*
 * Shared by the fuzz targets: a service double that accepts everything, so
 * inputs reach every parser and result builder of the RPC layer.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/compat.h"
#include "util/log.h"
#include "model/model.h"
#include "service/svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_validate(void *ctx, const char *type, const struct inst_props *p, char *tmpl,
    size_t tmpllen, struct err *err)
{
	(void)ctx;
	(void)type;
	(void)p;
	(void)err;
	(void)strlcpy(tmpl, "/t.vmx", tmpllen);
	return 0;
}

/* Answers every request at once, on the caller's thread. */
static void
fz_submit(void *ctx, struct svc_req *r)
{
	struct inst_view *v;

	(void)ctx;
	switch (r->sr_op) {
	case SVC_PROVISION:
		(void)strlcpy(
		    r->sr_out_id, "i-00000000001", sizeof(r->sr_out_id));
		break;
	case SVC_DESCRIBE:
		v = inst_list_add(&r->sr_list);
		if (v == NULL)
			break;
		(void)strlcpy(v->v_id, "i-00000000001", sizeof(v->v_id));
		(void)tags_copy(&v->v_tags, &r->sr_tags);
		(void)strlcpy(v->v_state, "running", sizeof(v->v_state));
		(void)strlcpy(v->v_power, "running", sizeof(v->v_power));
		v->v_reported = true;
		break;
	default:
		break;
	}
	svc_req_answer(r, 0, NULL);
}

static size_t
fz_types(void *ctx, const char **names, size_t max)
{
	(void)ctx;
	if (max < 1)
		return 0;
	names[0] = "vmware";
	return 1;
}

static const struct svc_ops fz_ops = {
	.validate = fz_validate,
	.submit = fz_submit,
	.types = fz_types,
};

static const struct svc fz_svc = { &fz_ops, NULL };

#endif /* FUZZ_COMMON_H */
