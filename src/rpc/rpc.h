/*
 * The RPC layer: method dispatch over the JSON-RPC envelope, the handshake
 * methods (rpc_plugin.c), the Instance methods (rpc_instance.c) and the
 * informational GET endpoints. Only this layer turns JSON into the typed
 * structs of model.h; the service behind it never sees JSON.
 */
#ifndef RPC_H
#define RPC_H

#include <jansson.h>
#include <stddef.h>

#include "model/model.h"

struct buf;
struct err;

struct rpc_env {
	const struct svc *re_svc;
	unsigned long re_reqno; /* for log lines */
};

typedef int (*rpc_method_fn)(const struct rpc_env *env, json_t *params,
    json_t **result, struct err *err);

/*
 * Handles one POST body and appends the answer to out (nothing for a
 * notification). Bad requests are answered with a JSON-RPC error naming the
 * problem; returns -1 only if no answer could be built (out of memory).
 */
int rpc_handle(const struct svc *svc, const char *body, size_t len,
    struct buf *out, unsigned long reqno);

/* Answers GET path into out: 0, or -1 for an unknown path. */
int rpc_info(const struct svc *svc, const char *path, struct buf *out);

/* Handshake methods (rpc_plugin.c). */
int rpc_plugin_implements(
    const struct rpc_env *, json_t *, json_t **, struct err *);
int rpc_handshake_types(
    const struct rpc_env *, json_t *, json_t **, struct err *);
int rpc_handshake_hello(
    const struct rpc_env *, json_t *, json_t **, struct err *);
json_t *rpc_api_info(const struct svc *svc);

/* Instance methods (rpc_instance.c). */
int rpc_instance_validate(
    const struct rpc_env *, json_t *, json_t **, struct err *);
int rpc_instance_provision(
    const struct rpc_env *, json_t *, json_t **, struct err *);
int rpc_instance_destroy(
    const struct rpc_env *, json_t *, json_t **, struct err *);
int rpc_instance_describe(
    const struct rpc_env *, json_t *, json_t **, struct err *);
int rpc_instance_label(
    const struct rpc_env *, json_t *, json_t **, struct err *);

/* The JSON object of one description (with Properties when props). */
json_t *rpc_desc_json(const struct inst_view *v, int props);

#endif /* RPC_H */
