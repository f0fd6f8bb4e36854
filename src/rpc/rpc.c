/*
 * Method dispatch. See rpc.h.
 */
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "rpc/jsonrpc.h"
#include "util/log.h"
#include "rpc/rpc.h"

static const struct {
	const char *name;
	rpc_method_fn fn;
} rpc_methods[] = {
	{ "Plugin.Implements", rpc_plugin_implements },
	{ "Handshake.Implements", rpc_plugin_implements },
	{ "Handshake.Types", rpc_handshake_types },
	{ "Handshake.Hello", rpc_handshake_hello },
	{ "Instance.Validate", rpc_instance_validate },
	{ "Instance.Provision", rpc_instance_provision },
	{ "Instance.Destroy", rpc_instance_destroy },
	{ "Instance.DescribeInstances", rpc_instance_describe },
	{ "Instance.Label", rpc_instance_label },
};

static rpc_method_fn
rpc_lookup(const char *method)
{
	for (size_t i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]);
	     i++)
		if (strcmp(rpc_methods[i].name, method) == 0)
			return rpc_methods[i].fn;
	return NULL;
}

int
rpc_handle(const struct svc *svc, const char *body, size_t len, struct buf *out,
    unsigned long reqno)
{
	struct jsonrpc_req req;
	struct rpc_env env = { svc, reqno };
	struct err err;
	json_t *result = NULL;
	rpc_method_fn fn;
	int rc;

	err_clear(&err);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("req %lu: %.*s", reqno,
		    (int)(len > 4096 ? 4096 : len), body);
	if (jsonrpc_parse(body, len, &req, &err) == -1)
		goto fail;
	fn = rpc_lookup(req.jr_method);
	if (fn == NULL) {
		err_set(&err, EIK_METHOD,
		    "rpc: can't find method \"%s\" (this plugin serves "
		    "Plugin.Implements, Handshake.Implements|Types|Hello and "
		    "Instance.Validate|Provision|Destroy|DescribeInstances|"
		    "Label)",
		    req.jr_method);
		goto fail;
	}
	if (fn(&env, req.jr_params, &result, &err) == -1)
		goto fail;
	if (result == NULL) {
		/* A handler must never answer "result":null (§4.2). */
		err_set(&err, EIK_INTERNAL, "internal error: empty result");
		goto fail;
	}
	if (req.jr_notify) {
		json_decref(result);
		jsonrpc_req_free(&req);
		return 0;
	}
	rc = jsonrpc_result(out, req.jr_id, result);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("resp %lu: %s", reqno, buf_str(out));
	jsonrpc_req_free(&req);
	return rc;
fail:
	if (err.code == EIK_INTERNAL || err.code == EIK_IO ||
	    err.code == EIK_NOSPACE)
		log_error("req %lu %s: %s", reqno,
		    req.jr_method != NULL ? req.jr_method : "-", err.msg);
	else
		log_info("req %lu %s refused: %s", reqno,
		    req.jr_method != NULL ? req.jr_method : "-", err.msg);
	if (req.jr_notify && err.code != EIK_PARSE && err.code != EIK_REQUEST) {
		jsonrpc_req_free(&req);
		return 0;
	}
	rc = jsonrpc_error(out, req.jr_id, jsonrpc_code(err.code), err.msg);
	jsonrpc_req_free(&req);
	return rc;
}
