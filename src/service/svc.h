/*
 * The instance service as its clients see it (the RPC layer, the group
 * controller, test doubles): typed requests, answered asynchronously.
 *
 * A client fills a struct svc_req and hands it to submit(). The service
 * answers by filling the answer fields and calling sr_done exactly once,
 * on its own thread (or on the caller's, before submit returns, when it
 * answers at once: shutting down, or a double that answers inline). Until
 * sr_done is called the request belongs to the service; afterwards to the
 * client again, which frees it with svc_req_free(). No client ever touches
 * the service's state: there is nothing to lock.
 *
 * validate() and types() are different: they read only what is fixed for
 * the service's lifetime (the template library, the backends), so they run
 * on the caller's thread, any thread, at once.
 */
#ifndef SVC_H
#define SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "model/origin.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/mbox.h"

enum svc_op {
	SVC_PROVISION = 1,
	SVC_DESTROY,
	SVC_DESCRIBE,
	SVC_LABEL,
	/* Answered once anything a client can see changed since sr_gen (an
	 * instance created, removed, relabelled, or changing state or power
	 * state): sr_gen then holds the new generation. A group controller
	 * keeps one outstanding to react at once instead of polling. */
	SVC_WATCH,
	/* Powers a running instance's VM on or off for a client (our own
	 * verbs; InfraKit never asks). Answered when done. */
	SVC_POWER,
	/* The persistent disks of pets (our own verbs): every disk, made or
	 * only named by a record, with the instance holding it; and the
	 * deletion of one that no instance holds (sr_att: its ID). */
	SVC_ATT_LIST,
	SVC_ATT_REMOVE,
	/* A snapshot of what only the owner knows, for GET /metrics
	 * (sr_stats): answered at once. */
	SVC_STATS,
};

/* SVC_STATS: instances by state (a running one by its power state). */
enum svc_stat_state {
	SS_PROVISIONING = 0,
	SS_RUNNING,
	SS_OFF,
	SS_SUSPENDED,
	SS_PAUSED,
	SS_UNKNOWN, /* running, power state not known (yet) */
	SS_DESTROYING,
	SS_FAILED,
	SS_STATES
};
extern const char *const svc_stat_state_names[SS_STATES];

/* SVC_STATS: the run queues (creates, other changes, address probes). */
#define SVC_QUEUES 3
extern const char *const svc_queue_names[SVC_QUEUES];

struct svc_stats {
	uint64_t ss_instances[SS_STATES];
	uint64_t ss_queued[SVC_QUEUES];	 /* waiting in each run queue */
	uint64_t ss_running[SVC_QUEUES]; /* jobs of each queue running */
	uint64_t ss_power_jobs;		 /* power queries running */
	uint64_t ss_journal_bytes;	 /* in use in the journal */
	uint64_t ss_records_pending;	 /* instance.json still to write */
	uint64_t ss_changes;		 /* user changes waiting for a flush */
	uint64_t ss_watchers;		 /* SVC_WATCH requests waiting */
};

enum svc_power {
	SVC_POWER_START = 1,
	SVC_POWER_STOP,	     /* soft within --stop-timeout, then hard */
	SVC_POWER_STOP_HARD, /* at once */
	SVC_POWER_RESTART,   /* stop (soft, then hard), then start */
};

struct svc_req {
	struct msg sr_msg; /* the service's link: first */
	enum svc_op sr_op;
	unsigned long sr_reqno; /* for log lines */
	char sr_type[RPC_MAX_TYPE + 1];

	/* Inputs; the request owns them. */
	struct inst_spec sr_spec;	/* PROVISION */
	char sr_template[PATH_BUF];	/* PROVISION: from validate() */
	char sr_id[RPC_MAX_ID + 1];	/* DESTROY, LABEL */
	char sr_reason[64];		/* DESTROY: Context.Reason */
	struct tags sr_tags;		/* DESCRIBE filter, LABEL labels */
	unsigned sr_flags;		/* DESCRIBE: DESCRIBE_ALL */
	uint64_t sr_gen;		/* WATCH: in, the last seen; out, now */
	enum svc_power sr_power;	/* POWER */
	char sr_att[ATTACH_ID_MAX + 1]; /* ATT_REMOVE: the disk's ID */
	struct origin sr_from;		/* DESTROY: who asked (the audit log) */

	/* The answer: sr_rc 0, or -1 with sr_err. */
	int sr_rc;
	struct err sr_err;
	char sr_out_id[ID_MAX];	   /* PROVISION: the new ID */
	struct inst_list sr_list;  /* DESCRIBE */
	struct att_list sr_atts;   /* ATT_LIST */
	struct svc_stats sr_stats; /* STATS */

	/* Called once with the answer. */
	void (*sr_done)(struct svc_req *r, void *arg);
	void *sr_done_arg;
};

struct svc_ops {
	/*
	 * Checks Properties for a Type against the template library and the
	 * backend; on success writes the template's .vmx path into tmpl.
	 * Any thread; reads nothing that changes.
	 */
	int (*validate)(void *ctx, const char *type,
	    const struct inst_props *props, char *tmpl, size_t tmpllen,
	    struct err *err);
	/* validate() for a whole Spec, at Provision: what the Init makes of
	 * the instance counts too (a .vmx over VMware's limit). Any thread. */
	int (*validate_spec)(void *ctx, const char *type,
	    const struct inst_spec *spec, char *tmpl, size_t tmpllen,
	    struct err *err);
	/* Hands r over; see above. Never blocks. */
	void (*submit)(void *ctx, struct svc_req *r);
	/* Names of the typed objects served besides the default "."; the
	 * pointers stay valid for the service's lifetime. The count. */
	size_t (*types)(void *ctx, const char **names, size_t max);
};

struct svc {
	const struct svc_ops *ops;
	void *ctx;
};

/* A zeroed request of op; NULL when out of memory. */
struct svc_req *svc_req_new(enum svc_op op);
/* Frees a request and everything it owns. NULL is fine. */
void svc_req_free(struct svc_req *r);
/* Answers r: sets the result and calls sr_done. */
void svc_req_answer(struct svc_req *r, int rc, const struct err *err);

#endif /* SVC_H */
