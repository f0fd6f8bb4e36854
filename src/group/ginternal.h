/*
 * The group controller's private structures, shared by ctl.c (the thread,
 * its mailboxes, the group table), greq.c (the clients' requests) and
 * reconcile.c (keeping each group at its spec). Ownership, in one place:
 *
 *   struct gctl's tables, every struct group and struct gmem: the
 *   controller thread only.
 *   struct gop: built by the controller, which submits its svc_req to the
 *   service; the service owns the svc_req until it calls back; the
 *   callback (on the service's thread) only posts the gop into c_results.
 *   The exceptions are the watch and the restarts at stop (o_state, an
 *   atomic): see ctl.c.
 *   struct gctl_req: the client's until submitted, then the controller's
 *   until gr_done is called.
 */
#ifndef GROUP_INTERNAL_H
#define GROUP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "group/gctl.h"
#include "group/plan.h"
#include "group/policy.h"

/* What the controller remembers of one member between passes. */
struct gmem {
	char gm_id[RPC_MAX_ID + 1];
	int64_t gm_up_since;	  /* mono ms its VM was first seen running */
	int64_t gm_running_since; /* ... and counted as up (ready) */
	struct policy_restart gm_restart;
	bool gm_counted; /* its failed provision was counted */
	bool gm_seen;	 /* in the latest listing */
};

struct group {
	struct gstore_rec g_rec; /* what is durable */
	char g_hash[GHASH_TEXT_MAX + 1];
	int64_t g_failed_mono; /* mono ms of the last failure; 0: none */

	/* Reconciling: list, plan, act, wait for the answers, again. */
	bool g_dirty;	    /* look again once idle */
	bool g_listing;	    /* a listing is out */
	size_t g_inflight;  /* its requests out */
	size_t g_round_ops; /* requests of the current round */
	size_t g_round_err; /* of those, refused */
	int64_t g_wake;	    /* mono ms of its timer; 0: none */
	bool g_seeded;	    /* failures from before the start noted */
	struct gmem *g_mem; /* sorted by ID */
	size_t g_nmem, g_capmem;
	struct inst_list g_last; /* the latest listing */
	char g_doing[POLICY_DOING_MAX];

	/* The request ID of the current round (its listing and actions):
	 * the commit's or destroy's that caused it (g_cause), else a new
	 * one (log.h). */
	unsigned long g_reqno;
	unsigned long g_cause;

	unsigned g_refs; /* gops pointing at it */
	bool g_gone;	 /* freed or destroyed: dropped at g_refs 0 */
	struct group *g_next;
};

enum gop_kind {
	GOP_WATCH = 1,	 /* SVC_WATCH */
	GOP_LIST,	 /* a reconcile listing */
	GOP_CREATE,	 /* SVC_PROVISION of a member */
	GOP_DESTROY,	 /* SVC_DESTROY of a member */
	GOP_START,	 /* SVC_POWER start of a stopped member */
	GOP_LABEL,	 /* SVC_LABEL of a bootstrap member */
	GOP_REQ_LIST,	 /* a client request's listing */
	GOP_REQ_DESTROY, /* a client request's destroy */
};

/* The watch's hand-over between the service's thread and the
 * controller at stop. */
enum { GOP_OUT = 0, GOP_ANSWERED, GOP_ORPHANED };

struct gop {
	struct msg o_msg; /* c_results' link: first */
	enum gop_kind o_kind;
	struct gctl *o_ctl;
	struct group *o_group;	/* held (g_refs); NULL for the watch */
	struct gctl_req *o_req; /* GOP_REQ_*: whose */
	struct svc_req *o_sr;
	atomic_int o_state;
	bool o_orphaned; /* let go at stop (set before o_state) */
};

struct gctl {
	struct gctl_conf c_conf;
	char c_dir[PATH_BUF]; /* <vm-dir>/groups */
	const char *c_hash_tag;

	pthread_t c_thread;
	bool c_started;
	struct bell c_bell;
	struct mbox c_inbox;   /* gctl_req: clients -> controller */
	struct mbox c_results; /* gop: the service's answers */
	bool c_boxes;

	struct group *c_groups; /* sorted by ID */
	size_t c_ngroups;

	/* Client requests run one at a time, in order. */
	struct gctl_req *c_qhead, *c_qtail;
	struct gctl_req *c_cur;

	struct gop *c_watch; /* outstanding, or NULL */
	/* Restarts out: answered only once the start is done, so a stop lets
	 * them go like the watch. */
	struct gop **c_starts;
	size_t c_nstarts, c_capstarts;
	uint64_t c_gen;
	int64_t c_watch_at; /* mono ms to try a refused watch again */
	size_t c_out;	    /* gops out, the watch excluded */
	int64_t c_next_resync;

	bool c_stopping;
	bool c_stop_posted;
	struct gctl_req *c_stop_req;
};

/* ctl.c */
struct gop *gop_new(struct gctl *c, enum gop_kind kind, struct group *g,
    struct gctl_req *r, enum svc_op op);
void gop_submit(struct gctl *c, struct gop *o);
/* Tracks a restart's gop until it is answered (0, or -1 out of memory). */
int gop_track_start(struct gctl *c, struct gop *o);
void gop_free(struct gctl *c, struct gop *o);
struct group *group_find(struct gctl *c, const char *id);
/* A new group from rec (taken: a calloc'd struct); NULL on failure. */
struct group *group_add(
    struct gctl *c, struct gstore_rec *rec, struct err *err);
/* Forgets g (its file is the caller's business). */
void group_drop(struct gctl *c, struct group *g);
/* Writes g's durable part. */
int group_save(struct gctl *c, struct group *g, struct err *err);
/* Recomputes g_hash from g_rec.gr_spec. */
int group_rehash(struct gctl *c, struct group *g, struct err *err);

/* greq.c */
void greq_run(struct gctl *c);
void greq_on_gop(struct gctl *c, struct gop *o);
void greq_answer(struct gctl_req *r, int rc, const struct err *err);
/* Whether the request in progress keeps g's reconciling back (destroys
 * of its members are under way). */
bool greq_holds(const struct gctl *c, const struct group *g);
/* Answers every waiting request "shutting down" (stopping). */
void greq_refuse_waiting(struct gctl *c);

/* gmetrics.c: counters for GET /metrics. */
enum gact { GACT_CREATE = 0, GACT_DESTROY, GACT_RESTART, GACT_LABEL, GACT_N };
void gmetrics_register(void);
void gmetrics_action(enum gact a, int rc, const struct err *err);
void gmetrics_commit(int rc, bool pretend, const struct err *err);
void gmetrics_roll(bool started);
void gmetrics_groups(size_t n);

/* reconcile.c */
void rec_pump(struct gctl *c, int64_t now);
void rec_on_gop(struct gctl *c, struct gop *o);
void rec_dirty_all(struct gctl *c);
/* The earliest timer of any group, or 0. */
int64_t rec_next_wake(const struct gctl *c);
/* Fills st from g and a listing (DESCRIBE_ALL of its members). */
int rec_status(const struct gctl *c, const struct group *g,
    const struct inst_list *l, struct gctl_status *st);
/* The members of a listing for the planner (borrowing from l). */
struct member *rec_members(
    const struct gctl *c, const struct inst_list *l, size_t *n);

#endif /* GROUP_INTERNAL_H */
