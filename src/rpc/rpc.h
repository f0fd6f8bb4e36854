/*
 * The RPC layer: method dispatch over the JSON-RPC envelope, the handshake
 * methods (rpc_plugin.c), the Instance methods (rpc_instance.c) and the
 * informational GET endpoints. Only this layer turns JSON into the typed
 * structs of model.h; the service behind it never sees JSON.
 *
 * A call either answers at once (handshakes, Validate, bad requests) or
 * needs the service (Provision, Destroy, DescribeInstances, Label): then it
 * is submitted (service/svc.h) and answered when the service calls back,
 * without any thread waiting for it. The HTTP layer suspends the
 * connection meanwhile.
 */
#ifndef RPC_H
#define RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"
#include "service/svc.h"

struct buf;
struct err;
struct gctl;
struct gctl_req;
struct rpc_call;

struct rpc_env {
	const struct svc *re_svc;
	unsigned long re_reqno;	      /* for log lines */
	const struct origin *re_from; /* who asks (never NULL) */
	struct gctl *re_group;	      /* the group controller, or NULL */
	const char *re_body; /* the request's text (Group.CommitGroup's */
	size_t re_len;	     /* spec is read from it, byte for byte) */
};

/*
 * What the HTTP layer serves: the instance service and, when the daemon
 * runs one, the group controller behind the same svc interface (calls go
 * through to rf_inner). rpc_begin finds the controller by rf_svc's ops.
 */
struct rpc_front {
	struct svc rf_svc;
	const struct svc *rf_inner;
	struct gctl *rf_group;
	/* For Machine.Info (set after rpc_front_init, or NULL): */
	const char *rf_vm_dir;
	const char *rf_ssh_key; /* the plugin's private key for the guests */
};

void rpc_front_init(
    struct rpc_front *f, const struct svc *inner, struct gctl *group);
/* The controller behind svc (an rpc_front's), or NULL. */
struct gctl *rpc_group_of(const struct svc *svc);
/* The rpc_front svc belongs to, or NULL. */
const struct rpc_front *rpc_front_of(const struct svc *svc);

/* A method answered at once. */
typedef int (*rpc_method_fn)(const struct rpc_env *env, json_t *params,
    json_t **result, struct err *err);
/* A method the service answers: prep fills the request from params
 * (validating them), done appends the JSON text of the result to out
 * (streamed for DescribeInstances: an answer is never built as one tree). */
typedef int (*rpc_prep_fn)(const struct rpc_env *env, json_t *params,
    struct svc_req *r, bool *props, struct err *err);
typedef int (*rpc_done_fn)(
    const struct svc_req *r, bool props, struct buf *out, struct err *err);
/* The same for a method the group controller answers. */
typedef int (*rpc_gprep_fn)(const struct rpc_env *env, json_t *params,
    struct gctl_req *r, struct err *err);
typedef int (*rpc_gdone_fn)(
    const struct gctl_req *r, struct buf *out, struct err *err);

/*
 * Handles one POST body. Returns 0 when it was answered at once (out holds
 * the answer, or nothing for a notification), 1 when the service must
 * answer (*callp: submit it with rpc_call_submit), -1 when no answer could
 * be built (out of memory). reqno is the request's ID (log.h), from who
 * sent it (its o_via is set here: "cli" when its User-Agent is this
 * program's client, else "rpc"). Every call is counted for GET /metrics.
 */
int rpc_begin(const struct svc *svc, const char *body, size_t len,
    struct buf *out, unsigned long reqno, const struct origin *from,
    struct rpc_call **callp);

/*
 * GET /metrics: a call that asks the service for its snapshot (SVC_STATS);
 * submit it with rpc_call_submit, and rpc_call_finish writes the whole
 * text exposition (every registered family, the snapshot, build info).
 * 1, or -1 out of memory.
 */
int rpc_metrics_begin(const struct svc *svc, struct rpc_call **callp);
/* The text of GET /metrics with the service's snapshot r (an answered
 * SVC_STATS, or NULL when the service could not answer). 0 or -1. */
int rpc_metrics_render(const struct svc_req *r, struct buf *out);
/* The version and revision for ikvf_build_info. */
void rpc_version(const char **version, const char **revision);

/* Submits c; wake(arg) is called once, on any thread (possibly before this
 * returns), when rpc_call_finish can write the answer. */
void rpc_call_submit(struct rpc_call *c, void (*wake)(void *), void *arg);

/* Writes the answer into out (nothing for a notification) and frees c.
 * 0, or -1 when no answer could be built. */
int rpc_call_finish(struct rpc_call *c, struct buf *out);

/* The whole round trip, waiting on the calling thread (tests, tools). */
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
/* Machine.Info {}: {"Version", "Revision", "VMDir", "SSHKey"} (ours, for
 * the client's version and ssh verbs; not InfraKit's). */
int rpc_machine_info(const struct rpc_env *, json_t *, json_t **, struct err *);
json_t *rpc_api_info(const struct svc *svc);

/* Instance methods (rpc_instance.c). */
int rpc_instance_validate(
    const struct rpc_env *, json_t *, json_t **, struct err *);
int rpc_prep_provision(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
int rpc_done_provision(
    const struct svc_req *, bool, struct buf *, struct err *);
int rpc_prep_destroy(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
int rpc_prep_describe(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
int rpc_done_describe(const struct svc_req *, bool, struct buf *, struct err *);
int rpc_prep_label(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
int rpc_prep_start(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
int rpc_prep_stop(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
int rpc_prep_restart(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
/* Destroy, Label, Machine.*: {"Type": ..., "OK": true}. */
int rpc_done_ok(const struct svc_req *, bool, struct buf *, struct err *);

/* The disks of pets (rpc_attach.c): Attachment.List, Attachment.Remove
 * (answered by rpc_done_ok). */
int rpc_prep_att_list(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);
int rpc_done_att_list(const struct svc_req *, bool, struct buf *, struct err *);
int rpc_prep_att_remove(
    const struct rpc_env *, json_t *, struct svc_req *, bool *, struct err *);

/* Appends the compact JSON text of v (taken; NULL is out of memory) to
 * out. 0, or -1 with err (EIK_INTERNAL) when out of memory or past
 * DESCRIBE_MAX_ANSWER (rpc_instance.c). */
int rpc_add_json(struct buf *out, json_t *v, struct err *err);

/* ms since the epoch as "2006-01-02T15:04:05Z" (UTC), or "" (rpc_instance.c).
 */
void rpc_fmt_time(int64_t ms, char *buf, size_t size);

/* The JSON object of one description (with Properties when props). */
json_t *rpc_desc_json(const struct inst_view *v, int props);

/* Group methods (rpc_group.c): InfraKit's Group API (spec
 * infrakit-group.md §5.7), v0.x and master shapes at once. */
int rpc_gprep_commit(
    const struct rpc_env *, json_t *, struct gctl_req *, struct err *);
int rpc_gdone_commit(const struct gctl_req *, struct buf *, struct err *);
int rpc_gprep_id(
    const struct rpc_env *, json_t *, struct gctl_req *, struct err *);
int rpc_gdone_ok(const struct gctl_req *, struct buf *, struct err *);
int rpc_gprep_describe(
    const struct rpc_env *, json_t *, struct gctl_req *, struct err *);
int rpc_gdone_describe(const struct gctl_req *, struct buf *, struct err *);
int rpc_gprep_inspect(
    const struct rpc_env *, json_t *, struct gctl_req *, struct err *);
int rpc_gdone_inspect(const struct gctl_req *, struct buf *, struct err *);
int rpc_gdone_size(const struct gctl_req *, struct buf *, struct err *);
int rpc_gprep_set_size(
    const struct rpc_env *, json_t *, struct gctl_req *, struct err *);
int rpc_gprep_destroy_instances(
    const struct rpc_env *, json_t *, struct gctl_req *, struct err *);
/* The Group versions served, for the handshakes. */
extern const char *const rpc_group_versions[];
extern const size_t rpc_n_group_versions;

#endif /* RPC_H */
