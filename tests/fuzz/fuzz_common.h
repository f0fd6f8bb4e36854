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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_validate(
    void *ctx, const char *type, const struct inst_props *p, struct err *err)
{
	(void)ctx;
	(void)type;
	(void)p;
	(void)err;
	return 0;
}

static int
fz_provision(void *ctx, const char *type, const struct inst_spec *s, char *id,
    size_t idlen, struct err *err)
{
	(void)ctx;
	(void)type;
	(void)s;
	(void)err;
	(void)strlcpy(id, "i-00000000001", idlen);
	return 0;
}

static int
fz_destroy(void *ctx, const char *type, const char *id, const char *reason,
    struct err *err)
{
	(void)ctx;
	(void)type;
	(void)id;
	(void)reason;
	(void)err;
	return 0;
}

static int
fz_describe(void *ctx, const char *type, const struct tags *filter,
    unsigned flags, struct inst_list *out, struct err *err)
{
	struct inst_view *v;

	(void)ctx;
	(void)type;
	(void)flags;
	(void)err;
	v = inst_list_add(out);
	if (v == NULL)
		return -1;
	(void)strlcpy(v->v_id, "i-00000000001", sizeof(v->v_id));
	(void)tags_copy(&v->v_tags, filter);
	(void)strlcpy(v->v_state, "running", sizeof(v->v_state));
	(void)strlcpy(v->v_power, "running", sizeof(v->v_power));
	v->v_reported = true;
	return 0;
}

static int
fz_label(void *ctx, const char *type, const char *id, const struct tags *l,
    struct err *err)
{
	(void)ctx;
	(void)type;
	(void)id;
	(void)l;
	(void)err;
	return 0;
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
	.provision = fz_provision,
	.destroy = fz_destroy,
	.describe = fz_describe,
	.label = fz_label,
	.types = fz_types,
};

static const struct svc fz_svc = { &fz_ops, NULL };

#endif /* FUZZ_COMMON_H */
