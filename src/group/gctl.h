/*
 * The built-in group controller: InfraKit's group plugin (spec
 * infrakit-group.md §2-§5) inside the daemon, driving the instance service
 * through its request interface (service/svc.h) like any other client.
 *
 * One thread owns every group (its spec, hash, members seen, rolling
 * update, failure count, restarts): the controller thread. Nothing else
 * reads or writes that state, so there is no lock to share. Clients (the
 * RPC layer) fill a struct gctl_req and submit it; the answer comes
 * through gr_done, called once on the controller's thread (or on the
 * caller's, before submit returns, when the controller is stopped). The
 * service's answers reach the controller the same way, through its
 * mailbox: its callbacks only post.
 *
 * A rolling update waits for each replacement to run and, when its guest
 * reports readiness (Describe's ready), to be ready (GCTL_READY_WAIT_MS
 * at most).
 *
 * The controller reacts to events: it keeps one SVC_WATCH outstanding and
 * looks at a group again when anything visible changed (a provision that
 * failed, a VM that stopped, a member that came up), when its own
 * requests are answered, and when a timer it set (back-off, restart, roll
 * settling) is due; a slow resync (GCTL_RESYNC_MS) is only insurance.
 * Groups are durable under <vm-dir>/groups (gstore.h) and resume after a
 * restart, rolling updates included.
 */
#ifndef GCTL_H
#define GCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "group/ghash.h"
#include "group/gspec.h"
#include "group/gstore.h"
#include "group/policy.h"
#include "model/model.h"
#include "model/origin.h"
#include "service/svc.h"
#include "util/err.h"
#include "util/mbox.h"

struct gctl;

#define GCTL_RESYNC_MS 30000 /* a look at every group without events */
#define GCTL_RETRY_MS 1000   /* after a pass whose requests all failed */
/* A member of the target config that runs but whose guest says it is not
 * ready yet counts as not up (a rolling update waits for it) for at most
 * this long after it started running; then it counts as up anyway. */
#define GCTL_READY_WAIT_MS (5 * 60 * 1000)
#define GCTL_WATCH_RETRY_MS 1000  /* after a watch the service refused */
#define GCTL_MAX_GROUPS 1024	  /* groups one controller manages */
#define GCTL_MAX_DESTROY_IDS 1024 /* IDs of one DestroyInstances */
#define GCTL_TEXT_MAX 512	  /* a commit's answer text */

struct gctl_conf {
	const char *gc_vm_dir;	  /* absolute; groups/ is made below it */
	const struct svc *gc_svc; /* the instance service */
	/* The instance plugin name that means this daemon (its --name): a
	 * spec's Instance.Plugin lookup must be it. */
	const char *gc_plugin;
	enum ghash_era gc_era; /* which InfraKit's hash tag and encoding */
	unsigned gc_poll_ms; /* the service's power refresh (Updating.Count) */
	/* RestartPolicy "restart": how long a started member may take to
	 * run again before the next try (0: the default). */
	unsigned gc_restart_wait_ms;
};

enum gctl_op {
	GCTL_COMMIT = 1,	/* gr_spec (from gctl_check), gr_pretend */
	GCTL_FREE,		/* gr_id */
	GCTL_DESTROY,		/* gr_id: destroy every member, then free */
	GCTL_DESCRIBE,		/* gr_id: status and members */
	GCTL_INSPECT,		/* every group's status */
	GCTL_SIZE,		/* gr_id: gr_size */
	GCTL_SET_SIZE,		/* gr_id, gr_size: a commit with that Size */
	GCTL_DESTROY_INSTANCES, /* gr_id, gr_ids: destroy those, shrink */
	GCTL_STOP		/* internal */
};

/* One group as `group ls` / `group describe` show it. */
struct gctl_status {
	char *st_id;
	char *st_spec_json; /* canonical {"ID", "Properties"} */
	enum gstore_state st_state;
	bool st_pets;
	char st_hash[GHASH_TEXT_MAX + 1];
	const char *st_hash_tag; /* static */
	size_t st_target;	 /* Size, or the number of LogicalIDs */
	size_t st_running, st_provisioning, st_stopped, st_failed;
	size_t st_outdated; /* counted members with another hash */
	bool st_rolling;
	bool st_converged; /* InfraKit's: no rolling update running */
	bool st_steady;	   /* target running, all current, nothing held */
	unsigned st_failures, st_max_failures;
	char st_doing[POLICY_DOING_MAX];
	char st_error[ERR_MSG_MAX]; /* the last failure, or "" */
};

struct gctl_req {
	struct msg gr_msg; /* the controller's link: first */
	enum gctl_op gr_op;
	unsigned long gr_reqno; /* for log lines */
	struct origin gr_from;	/* who asked (destroys: the audit log) */

	/* Inputs; the request owns them. */
	char gr_id[GSPEC_ID_MAX + 1];
	char gr_name[GSPEC_PLUGIN_MAX + 1]; /* master's Name: echoed */
	struct group_spec gr_spec;	    /* COMMIT */
	unsigned gr_flags;		    /* COMMIT: GSPEC_COMPAT */
	bool gr_pretend;		    /* COMMIT, SET_SIZE */
	bool gr_all;			    /* DESCRIBE: also hidden members */
	size_t gr_size;			    /* SET_SIZE in; SIZE out */
	char **gr_ids;			    /* DESTROY_INSTANCES */
	size_t gr_n_ids;

	/* The answer: gr_rc 0, or -1 with gr_err. */
	int gr_rc;
	struct err gr_err;
	char gr_text[GCTL_TEXT_MAX]; /* COMMIT: "Committed web: ..." */
	struct plan_commit gr_plan;  /* COMMIT: the predictions */
	struct gctl_status *gr_st;   /* DESCRIBE: 1; INSPECT: gr_n_st */
	size_t gr_n_st;
	struct inst_list gr_members; /* DESCRIBE */

	void (*gr_done)(struct gctl_req *r, void *arg);
	void *gr_done_arg;

	/* The controller's, while it holds the request. */
	size_t gr_pending; /* service requests still out */
	bool gr_failed;
};

/*
 * Loads the groups under conf's vm-dir and starts the controller thread;
 * conf's strings must outlive it. NULL with err set on failure.
 */
struct gctl *gctl_open(const struct gctl_conf *conf, struct err *err);

/* Hands r over (see above). Never blocks. */
void gctl_submit(struct gctl *c, struct gctl_req *r);

/*
 * Checks a group spec as a commit does, on the caller's thread (any): the
 * spec's own rules (gspec_parse with flags), the instance plugin's name,
 * the Instance Properties through the service's Validate (so a template
 * that is not there is refused now) and one vanilla Prepare. g must be
 * zeroed; the caller frees it with gspec_free, also after a failure.
 */
int gctl_check(struct gctl *c, const char *text, size_t len, unsigned flags,
    struct group_spec *g, struct err *err);

/* The era whose hash tag the controller writes. */
enum ghash_era gctl_era(const struct gctl *c);

/*
 * Answers every request it took (those in the middle of a commit or a
 * destroy finish it), waits for its service requests, and ends the thread.
 * Later submits are answered "shutting down" at once. Call before the
 * service stops. Idempotent.
 */
void gctl_stop(struct gctl *c);
/* gctl_stop, then frees c. NULL is fine. */
void gctl_close(struct gctl *c);

/* A zeroed request of op; NULL when out of memory. */
struct gctl_req *gctl_req_new(enum gctl_op op);
/* Frees r and what it owns. NULL is fine. */
void gctl_req_free(struct gctl_req *r);
void gctl_status_free(struct gctl_status *st);

#endif /* GCTL_H */
