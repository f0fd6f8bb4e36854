/*
 * The service's private structures, shared by the files of service/ and
 * by nothing else. Ownership, in one place:
 *
 *   struct service, struct inst, struct change, the index, the run queues,
 *   the open journal batch: the owner thread only.
 *   struct job: the owner builds it, hands it to a worker thread (which
 *   alone touches it until it posts it back), then the owner again. The
 *   only field two threads touch at once is j_cancel (an atomic).
 *   struct jbatch, struct smsg: the same hand-over with the journal writer
 *   and the record writer.
 *
 * Everything a helper needs travels inside its message as a copy; a helper
 * never follows a pointer into the owner's state (jent's je_inst and
 * je_change are carried through for the owner and never dereferenced by
 * the journal writer).
 */
#ifndef SERVICE_INTERNAL_H
#define SERVICE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "model/attach.h"
#include "service/service.h"
#include "service/svc.h"
#include "store/audit.h"
#include "store/ids.h"
#include "store/journal.h"
#include "store/record.h"
#include "store/store.h"
#include "util/mbox.h"
#include "util/proc.h"

#define GROUP_TAG "infrakit.group"

/* Messages the owner receives besides requests. */
enum omsg_kind {
	OM_JOB = 1, /* a job is done (struct job) */
	OM_JBATCH,  /* a journal batch is written (struct jbatch) */
	OM_JRESET,  /* the journal was emptied (struct jbatch, no entries) */
	OM_STORE,   /* the record writer finished (struct smsg) */
	OM_STOP,    /* service_stop */
};

struct omsg {
	struct msg om_msg;
	enum omsg_kind om_kind;
};

/* A user change (Provision, Destroy, Label) waiting for its flush. The
 * record it proposes becomes the instance's only once it is durable. */
struct change {
	enum svc_op ch_op;
	struct inst *ch_inst;	    /* the instance (a new one: PROVISION) */
	struct record ch_rec;	    /* the proposed record */
	struct svc_req *ch_waiters; /* answered with the flush's outcome */
	char *ch_text;		    /* the entry, kept for materializing */
	unsigned long ch_reqno;	    /* the request's ID (log lines) */
	struct origin ch_from;	    /* DESTROY: who asked */
};

/* One instance, as the owner knows it. */
struct inst {
	struct record in_rec; /* durable, or an internal change on its way */
	const struct bkent *in_bk;
	enum power_state in_power;
	uint64_t in_group_hash; /* of tag infrakit.group; 0: none */
	bool in_indexed;

	/* Durability: seq numbers of in_rec. */
	uint64_t in_durable_seq; /* the journal holds this one */
	uint64_t in_mat_seq;	 /* instance.json holds this one */
	char *in_text;		 /* durable text not yet in instance.json */
	bool in_mat_listed;	 /* in sv_mat */
	bool in_mat_busy;	 /* the record writer has it */
	bool in_jdirty;		 /* an internal change failed to journal */
	bool in_tomb;		 /* destroyed: the tombstone is on its way */
	bool in_grave;		 /* tombstone durable; directory to remove */
	bool in_counted;	 /* counted in sv_unmat */

	/* A user change in flight; requests that arrive meanwhile wait in
	 * in_deferred (in order, linked by sr_msg), a job's result in
	 * in_held_job, until it is resolved. */
	struct change *in_change;
	struct svc_req *in_deferred, *in_deferred_tail;
	struct job *in_held_job;

	/* Work. */
	struct job *in_job; /* running, or NULL */
	bool in_queued;	    /* in a run queue */
	bool in_cleanup;    /* a failed one with files left (recovery) */
	bool in_need_net;   /* address or readiness still to find */
	unsigned in_net_tries;
	int64_t in_net_since;	      /* mono ms the VM (re)started */
	int in_ready;		      /* 1, 0, or -1 not known */
	struct svc_req *in_power_req; /* a start/stop/restart to run */
	unsigned in_retries;
	int64_t in_not_before; /* mono ms; 0: no timer */
	/* Its create waits for a disk another instance still holds
	 * (service/attach.c). */
	bool in_att_wait;

	/* The request whose work this is (the last Provision or Destroy):
	 * its ID on the jobs' log lines, its origin in the audit log (the
	 * last Destroy's, owned; NULL until one: most instances never have
	 * one, and 10,000 of them would carry 3 MiB of empty origins). */
	unsigned long in_reqno;
	struct origin *in_from;
};

enum job_kind {
	JOB_CREATE = 1, /* clone/copy, configure, start (or resume) */
	JOB_DESTROY,	/* stop soft then hard, release, delete the bundle */
	JOB_CLEANUP,	/* finish a rollback a crash interrupted */
	JOB_NET,	/* the guest's address, and whether it is ready */
	JOB_POWEROP,	/* start, stop or restart for a client */
	JOB_POWER,	/* one power query for many instances */
	JOB_ATT,	/* list or delete the disks of pets (no instance) */
};

/* A persistent disk a create attaches (made first when it is new). */
struct job_disk {
	char jd_name[ATTACH_ID_MAX + 1];
	char jd_id[ATTACH_ID_MAX + 1]; /* as the Spec gives it */
	char jd_type[8];	       /* disk, vmdk */
	char jd_dir[PATH_BUF];	       /* <vm-dir>/attachments/<name> */
	char jd_file[PATH_BUF];	       /* jd_dir/<name>.<disk_format> */
	char jd_scratch[PATH_BUF];     /* where a new one is made */
};

enum att_op { ATT_LIST = 1, ATT_REMOVE };

/* What a worker needs, copied; and what it found. */
struct job {
	struct omsg j_om;
	enum job_kind j_kind;
	pthread_t j_thread;
	bool j_thread_joined;
	struct proc_cancel j_cancel; /* the owner may cancel; atomic */
	const struct bkent *j_bk;    /* immutable */
	int64_t j_op_timeout_ms;
	int64_t j_stop_soft_ms;
	struct inst *j_inst;	/* the owner's; never touched by the worker */
	struct mbox *j_results; /* where the worker posts the job back */

	char j_id[ID_MAX];
	unsigned long j_reqno; /* the request that caused it, or 0 */
	struct inst_spec j_spec;
	struct tags j_tags;
	char j_template[PATH_BUF];
	char j_staging[PATH_BUF];
	char j_dir[PATH_BUF]; /* <vm-dir>/<id> */
	char j_bundle[PATH_BUF];
	char j_vmx[PATH_BUF];
	char j_staging_vmx[PATH_BUF];

	unsigned j_ssh_port;
	const char *j_ssh_key;	  /* sc_ssh_key, borrowed */
	char j_known_ip[64];	  /* JOB_NET: the address already recorded */
	enum svc_power j_op;	  /* JOB_POWEROP */
	struct bk_power *j_power; /* JOB_POWER: owned strings */
	size_t j_npower;
	struct job_disk j_disks[ATTACH_MAX_DISKS]; /* JOB_CREATE */
	struct bk_disk j_bk_disks[ATTACH_MAX_DISKS];
	size_t j_ndisks;
	bool j_disks_bad;	     /* JOB_CREATE: fails with j_err at once */
	const struct store *j_store; /* JOB_CREATE, JOB_ATT: immutable */
	enum att_op j_att_op;	     /* JOB_ATT */
	char j_att_name[ATTACH_ID_MAX + 1];
	struct svc_req *j_req;	/* JOB_ATT: the owner's, never touched */
	struct att_list j_atts; /* JOB_ATT list: what is on disk */

	/* Results. */
	int j_rc;
	struct err j_err;
	bool j_cancelled; /* stopped by its token */
	char j_ip[64], j_mac[64];
	int j_ready; /* JOB_NET: 1, 0, -1 */
};

/* One journal entry on its way. */
struct jent {
	char je_key[JOURNAL_KEY_MAX + 1]; /* "<id>,<seq>,R|T" */
	char *je_text;			  /* owned */
	bool je_reserve;
	bool je_ok;		  /* out */
	struct inst *je_inst;	  /* owner's */
	struct change *je_change; /* owner's; NULL for internal ones */
	uint64_t je_seq;
	bool je_tomb;
};

/* A line of the audit log on its way with a batch (service/audit.c):
 * written before the batch's journal entries (JA_BEFORE), or after them
 * when entry ja_entry was made durable (JA_IF_OK) or was not (JA_IF_FAILED).
 */
enum ja_when { JA_BEFORE = 1, JA_IF_OK, JA_IF_FAILED };
struct jaudit {
	struct audit_rec ja_rec;
	enum ja_when ja_when;
	size_t ja_entry; /* in jb_v (JA_IF_*) */
};

struct jbatch {
	struct omsg jb_om;
	struct jent *jb_v;
	size_t jb_n, jb_cap;
	struct jaudit *jb_audit; /* owned */
	size_t jb_naudit, jb_capaudit;
	uint64_t jb_mark; /* OM_JRESET: the ID high-water mark to save */
	int jb_rc;
	struct err jb_err;
	size_t jb_used; /* out: journal bytes in use afterwards */
};

/* A job for the record writer. */
enum sop { SOP_WRITE = 1, SOP_REMOVE, SOP_STOP };
struct sitem {
	struct inst *si_inst; /* owner's; never touched by the writer */
	char si_id[ID_MAX];
	char *si_text; /* SOP_WRITE: owned */
	uint64_t si_seq;
	bool si_ok;
};
struct smsg {
	struct omsg sm_om;
	enum sop sm_op;
	struct sitem *sm_v;
	size_t sm_n;
	struct err sm_err;
};

struct service {
	struct svc sv_svc;
	struct service_conf sv_conf;
	struct bkent *sv_bk;
	size_t sv_nbk;
	struct store sv_store;
	bool sv_store_open;
	struct idgen sv_ids;
	bool sv_ids_open;
	struct journal *sv_journal;
	struct audit_log sv_audit; /* the journal writer's */

	/* Threads and mailboxes. */
	struct bell sv_bell;	/* wakes the owner */
	struct mbox sv_inbox;	/* requests: clients -> owner */
	struct mbox sv_results; /* jobs, completions -> owner */
	struct mbox sv_jq;	/* owner -> journal writer */
	struct mbox sv_sq;	/* owner -> record writer */
	pthread_t sv_owner, sv_jthread, sv_sthread;
	bool sv_owner_started, sv_jstarted, sv_sstarted;
	bool sv_stop_posted;
	struct omsg sv_stop_msg;

	/* The owner's state. */
	struct inst **sv_v; /* the index, sorted by ID */
	size_t sv_n, sv_cap;
	bool sv_stopping;

	struct jbatch *sv_open; /* entries gathering for the next flush */
	bool sv_jbusy;		/* a batch or a reset is with the writer */
	size_t sv_jused;	/* journal bytes in use */
	size_t sv_jcarry; /* journal bytes right after the last compaction */
	size_t sv_unmat;  /* instances the journal holds newer */
	struct inst **sv_mat; /* to write as instance.json */
	size_t sv_nmat, sv_capmat;
	bool sv_sbusy;		   /* the record writer has a job */
	int64_t sv_mat_not_before; /* back-off after a failed write */
	unsigned sv_mat_failures;
	bool sv_journal_damaged;     /* recovery skipped damaged entries */
	int64_t sv_reset_not_before; /* back-off after a failed reset */
	struct inst **sv_graves;     /* destroyed; directory still to remove */
	size_t sv_ngraves, sv_capgraves;
	int64_t sv_graves_not_before;

	struct inst **sv_runq[3]; /* creates, other changes, probes */
	size_t sv_runq_n[3], sv_runq_cap[3];
	size_t sv_running[3];
	struct job **sv_power_jobs; /* per backend; NULL when idle */
	int64_t sv_next_poll;
	int64_t sv_next_timer;	     /* earliest in_not_before (0: none) */
	size_t sv_failed;	     /* records in state failed */
	uint64_t sv_gen;	     /* bumped by every visible change */
	unsigned sv_last_ssh_port;   /* round robin of pick_ssh_port */
	struct svc_req *sv_watchers; /* SVC_WATCH waiting, by sr_msg */

	/* Disks of pets (service/attach.c). */
	struct inst **sv_pending; /* new instances whose Provision is
				     being journalled (not indexed yet) */
	size_t sv_npending, sv_cappending;
	char (*sv_att_rm)[ATTACH_ID_MAX + 1]; /* disks being deleted */
	size_t sv_natt_rm, sv_capatt_rm;
	size_t sv_att_waiting; /* instances with in_att_wait */
	size_t sv_free_jobs;   /* jobs of no instance (JOB_ATT) running */
};

/* index.c */
struct inst *inst_new(void);
void inst_free(struct inst *in);
void inst_rehash(struct inst *in);
uint64_t group_hash(const char *v);
struct inst *index_get(const struct service *sv, const char *id);
int index_insert(struct service *sv, struct inst *in);
void index_remove(struct service *sv, struct inst *in);

/* durable.c: the journal and record writers, and the owner's side. */
void *journal_main(void *arg);
void *recwriter_main(void *arg);
/* Adds an entry for in's current record (an internal change). */
void durable_note(struct service *sv, struct inst *in);
/* Adds a user change's entry; its waiters are answered at the flush. */
int durable_propose(
    struct service *sv, struct change *ch, bool reserve, struct err *err);
/* Adds a tombstone for in (its destroy is complete). */
void durable_tomb(struct service *sv, struct inst *in);
/* Hands the open batch to the journal writer when it is idle, writes
 * records, empties the journal when everything is materialized. */
void durable_pump(struct service *sv);
void durable_on_batch(struct service *sv, struct jbatch *b);
void durable_on_reset(struct service *sv, struct jbatch *b);
void durable_on_store(struct service *sv, struct smsg *m);
/* Marks in's durable text for writing as instance.json. */
void durable_dirty(struct service *sv, struct inst *in);
/* The open batch, made when there is none; NULL when out of memory. */
struct jbatch *durable_batch(struct service *sv);
/* Whether the open batch holds anything to write. */
bool durable_pending(const struct service *sv);
void durable_batch_free(struct jbatch *b);
bool durable_idle(const struct service *sv);
void change_free(struct change *ch);

/* requests.c */
void req_handle(struct service *sv, struct svc_req *r);
/* Answers power requests that will not run. */
void req_drop_power(struct service *sv);
/* Something a client can see changed. */
void req_changed(struct service *sv);
/* Answers the watchers when sv_gen moved (or, stopping, with BUSY). */
void req_notify(struct service *sv);
void req_resolved(struct service *sv, struct inst *in);
extern const struct svc_ops service_ops;

/* work.c: run queues, jobs, timers. */
void work_kick(struct service *sv, struct inst *in);
void work_dispatch(struct service *sv);
void work_on_job(struct service *sv, struct job *j);
void work_timers(struct service *sv, int64_t now);
/* Runs work_kick for in at mono time at (the retry timers). */
void work_timer(struct service *sv, struct inst *in, int64_t at);
int64_t work_next_deadline(const struct service *sv, int64_t now);
void work_cancel_all(struct service *sv);
bool work_idle(const struct service *sv);
void work_prune_failed(struct service *sv);
/* The VM (re)started: find its address and readiness again. */
void work_net_reset(struct inst *in);

/* jobs.c: what runs on a worker thread. */
void *job_main(void *arg);
int job_prepare(
    struct service *sv, struct inst *in, enum job_kind kind, struct job **out);
void job_free(struct job *j);

/* work.c, for jobs of no instance: starts j (counted in sv_free_jobs). */
int work_spawn(struct service *sv, struct job *j);

/* attach.c: which instance holds a disk, decided on the owner only. */
/* Refuses a Provision (r on backend bk) whose disks another instance
 * holds, or that bk cannot attach. 0, or -1 with err. */
int att_check_provision(struct service *sv, const struct bkent *bk,
    const struct svc_req *r, struct err *err);
/* in's Provision (with attachments) is being journalled; and was, either
 * way (also when it was never added). */
int att_pending_add(struct service *sv, struct inst *in, struct err *err);
void att_pending_done(struct service *sv, struct inst *in);
/* Whether in's create must wait: another instance still holds one of its
 * disks (logged once per wait). */
bool att_blocked(struct service *sv, struct inst *in);
/* Something may have let go of a disk: kicks the instances waiting. */
void att_released(struct service *sv);
/* SVC_ATT_LIST, SVC_ATT_REMOVE, and their jobs' outcomes. */
void att_request(struct service *sv, struct svc_req *r);
void att_on_job(struct service *sv, struct job *j);
/* The create job's disks (job_prepare). 0, or -1 with err. */
int att_job_disks(
    struct service *sv, struct inst *in, struct job *j, struct err *err);
/* audit.c: the audit log of destroys (store/audit.h). The owner notes
 * lines into the open batch; the journal writer appends them. */
/* A Destroy r of in (NULL: not known) was handled: outcome REQUESTED
 * (its change is the open batch's last entry), JOINED, ALREADY or GONE. */
void audit_destroy(struct service *sv, const struct inst *in,
    const struct svc_req *r, enum audit_outcome o);
/* An attempt to destroy in failed with err. */
void audit_destroy_failed(
    struct service *sv, const struct inst *in, const struct err *err);
/* in's tombstone is the open batch's last entry. */
void audit_destroyed(struct service *sv, const struct inst *in);
/* The journal writer: the lines of b to write at when (JA_BEFORE, or
 * after the entries: JA_IF_OK for both kinds). */
void audit_write(struct service *sv, struct jbatch *b, enum ja_when when);

/* stats.c: SVC_STATS and the counters of the service's threads. */
void stats_register(void);
void stats_answer(struct service *sv, struct svc_req *r);
/* A backend operation (BKOP_*) that began at t0 (mono_ns) ended with rc. */
enum bkop {
	BKOP_CREATE = 0,
	BKOP_START,
	BKOP_STOP_SOFT,
	BKOP_STOP_HARD,
	BKOP_REMOVE,
	BKOP_POWER,
	BKOP_IP,
	BKOP_READY,
	BKOP_N
};
void stats_bkop(enum bkop op, int64_t t0, int rc, const struct err *err);
/* A job that began at t0 (mono_ns) is done (j_rc, j_err): counted, and
 * logged at debug level by the worker (but for power refreshes). */
void stats_job(const struct job *j, int64_t t0);

/* recover.c */
int recover(struct service *sv, struct err *err);

#endif /* SERVICE_INTERNAL_H */
