/*
 * The instance service. See instance.h for the threading model and
 * design.md §2 for the semantics.
 *
 * Life of an instance (record state, and what Describe reports):
 *
 *   Provision RPC ──► provisioning ──worker: create, start──► running
 *        (reported at once)   │                         (reported while
 *                             │ failure: rolled back     powered on)
 *                             ▼
 *                           failed (not reported; kept for describe --all)
 *
 *   Destroy RPC ──► destroying (hidden at once) ──worker: stop, delete──► gone
 *
 * Every transition is written to the instance's record before anyone can
 * observe it, so a crash at any point resumes from the record.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "store/ids.h"
#include "service/instance.h"
#include "store/journal.h"
#include "util/log.h"
#include "util/proc.h"
#include "store/store.h"

#define DESTROY_RETRY_MIN_MS 1000
#define DESTROY_RETRY_MAX_MS 300000
#define IP_TRIES 8
#define IP_RETRY_MS 15000
#define MAT_IDLE_MS 50	      /* journal quiet this long: write records */
#define MAT_DEFER_MAX_MS 1000 /* but never wait longer than this */

struct inst {
	unsigned in_refs;
	struct record in_rec;
	const struct bkent *in_bk;
	enum power_state in_power;
	bool in_busy; /* a worker holds it */
	bool in_queued;
	bool in_again; /* run again when done */
	bool in_gone;  /* removed from the index */
	bool in_need_ip;
	unsigned in_ip_tries;
	uint64_t in_group_hash; /* of tag infrakit.group; 0: none */
	bool in_journaled;	/* its record may still be in the journal */
	unsigned long in_jgen;	/* ... until journal_gen() passes this */
	bool in_mat_queued;
	unsigned in_retries;
	int64_t in_not_before;	/* mono ms; 0 = no timer */
	pthread_mutex_t in_wmu; /* orders record writes */
};

struct service {
	struct svc sv_svc;
	struct service_conf sv_conf;
	struct bkent *sv_bk;
	size_t sv_nbk;
	struct store sv_store;
	struct idgen sv_ids;
	bool sv_ids_open;

	pthread_mutex_t sv_mu;
	pthread_cond_t sv_cv;	   /* work queued / stopping */
	pthread_cond_t sv_tick_cv; /* wakes the ticker */
	struct inst **sv_v;	   /* index, sorted by ID */
	size_t sv_n, sv_cap;
	struct inst **sv_q; /* FIFO ring of work */
	size_t sv_qhead, sv_qlen, sv_qcap;
	size_t sv_nbusy;
	bool sv_stopping;

	pthread_t *sv_workers;
	size_t sv_nworkers;
	pthread_t sv_ticker;
	bool sv_ticker_started;

	/* The provision journal and its materializer thread. */
	struct journal *sv_journal;
	struct inst **sv_mq; /* records to write as instance.json */
	size_t sv_mqlen, sv_mqcap;
	unsigned long sv_materialized; /* since the last truncate */
	pthread_cond_t sv_mat_cv;      /* work for the materializer */
	pthread_cond_t sv_ckpt_cv;     /* the journal was truncated */
	pthread_t sv_mat;
	bool sv_mat_started;
	bool sv_ckpt_wanted;  /* a worker waits for the journal */
	int64_t sv_mat_since; /* last batch started (mono ms) */
};

const char *
power_state_name(enum power_state p)
{
	switch (p) {
	case POWER_RUNNING:
		return "running";
	case POWER_PAUSED:
		return "paused";
	case POWER_SUSPENDED:
		return "suspended";
	case POWER_OFF:
		return "off";
	default:
		return "unknown";
	}
}

/* ---- time ------------------------------------------------------------- */

/*
 * Condition variables here wait on the monotonic clock (where pthreads
 * offers it): a wall clock set back or forward must not stall or spin the
 * background threads.
 */
static void
cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	(void)pthread_condattr_init(&ca);
#if defined(CLOCK_MONOTONIC) && !defined(__APPLE__)
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
#endif
	(void)pthread_cond_init(cv, &ca);
	(void)pthread_condattr_destroy(&ca);
}

/* The absolute time ms from now, on the clock of cond_init_mono. */
static void
cond_deadline(struct timespec *ts, int64_t ms)
{
#if defined(CLOCK_MONOTONIC) && !defined(__APPLE__)
	(void)clock_gettime(CLOCK_MONOTONIC, ts);
#else
	(void)clock_gettime(CLOCK_REALTIME, ts);
#endif
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* ---- index ------------------------------------------------------------ */

static void
inst_unref(struct inst *in)
{
	if (--in->in_refs > 0)
		return;
	record_free(&in->in_rec);
	(void)pthread_mutex_destroy(&in->in_wmu);
	free(in);
}

static struct inst *
inst_new(void)
{
	struct inst *in = calloc(1, sizeof(*in));

	if (in == NULL)
		return NULL;
	if (pthread_mutex_init(&in->in_wmu, NULL) != 0) {
		free(in);
		return NULL;
	}
	in->in_refs = 1;
	return in;
}

#define GROUP_TAG "infrakit.group"

/* InfraKit's group filters on this one tag on every poll: a hash of its
 * value lets Describe skip non-members without comparing strings. */
static uint64_t
group_hash(const char *v)
{
	uint64_t h = 1469598103934665603ULL;

	if (v == NULL)
		return 0;
	for (const char *p = v; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h | 1;
}

static void
inst_rehash(struct inst *in)
{
	in->in_group_hash = group_hash(tags_get(&in->in_rec.r_tags, GROUP_TAG));
}

static size_t
index_find(const struct service *sv, const char *id, bool *found)
{
	size_t lo = 0, hi = sv->sv_n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sv->sv_v[mid]->in_rec.r_id, id);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Takes the caller's reference. sv_mu held. */
static int
index_insert(struct service *sv, struct inst *in)
{
	bool found;
	size_t i = index_find(sv, in->in_rec.r_id, &found);

	if (found)
		return -1;
	if (sv->sv_n == sv->sv_cap) {
		size_t cap = sv->sv_cap == 0 ? 64 : sv->sv_cap * 2;
		struct inst **nv = realloc(sv->sv_v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		sv->sv_v = nv;
		sv->sv_cap = cap;
	}
	memmove(&sv->sv_v[i + 1], &sv->sv_v[i],
	    (sv->sv_n - i) * sizeof(sv->sv_v[0]));
	sv->sv_v[i] = in;
	sv->sv_n++;
	return 0;
}

static struct inst *
index_get(const struct service *sv, const char *id)
{
	bool found;
	size_t i = index_find(sv, id, &found);

	return found ? sv->sv_v[i] : NULL;
}

/* Drops the index's reference. sv_mu held. */
static void
index_remove(struct service *sv, struct inst *in)
{
	bool found;
	size_t i = index_find(sv, in->in_rec.r_id, &found);

	if (!found || sv->sv_v[i] != in)
		return;
	memmove(&sv->sv_v[i], &sv->sv_v[i + 1],
	    (sv->sv_n - i - 1) * sizeof(sv->sv_v[0]));
	sv->sv_n--;
	in->in_gone = true;
	inst_unref(in);
}

/* ---- work queue ------------------------------------------------------- */

/* Asks a worker to look at in. sv_mu held. */
static void
enqueue(struct service *sv, struct inst *in)
{
	if (in->in_gone)
		return;
	if (in->in_busy) {
		in->in_again = true;
		return;
	}
	if (in->in_queued)
		return;
	if (sv->sv_qlen == sv->sv_qcap) {
		size_t cap = sv->sv_qcap == 0 ? 64 : sv->sv_qcap * 2;
		struct inst **nq = malloc(cap * sizeof(*nq));

		if (nq == NULL) {
			/* The ticker retries it. */
			in->in_not_before = mono_ms() + 1000;
			return;
		}
		for (size_t i = 0; i < sv->sv_qlen; i++)
			nq[i] = sv->sv_q[(sv->sv_qhead + i) % sv->sv_qcap];
		free(sv->sv_q);
		sv->sv_q = nq;
		sv->sv_qcap = cap;
		sv->sv_qhead = 0;
	}
	sv->sv_q[(sv->sv_qhead + sv->sv_qlen) % sv->sv_qcap] = in;
	sv->sv_qlen++;
	in->in_refs++;
	in->in_queued = true;
	(void)pthread_cond_signal(&sv->sv_cv);
}

static struct inst *
dequeue(struct service *sv)
{
	struct inst *in;

	if (sv->sv_qlen == 0)
		return NULL;
	in = sv->sv_q[sv->sv_qhead];
	sv->sv_qhead = (sv->sv_qhead + 1) % sv->sv_qcap;
	sv->sv_qlen--;
	in->in_queued = false;
	return in;
}

/* ---- records ---------------------------------------------------------- */

/* Writes in's record as it is now. Called without sv_mu. */
static int
persist_locked(
    struct service *sv, struct inst *in, unsigned flags, struct err *err)
{
	char *text;
	char id[ID_MAX];
	int rc;

	(void)pthread_mutex_lock(&sv->sv_mu);
	in->in_rec.r_updated_ms = wall_ms();
	text = record_to_text(&in->in_rec);
	(void)strlcpy(id, in->in_rec.r_id, sizeof(id));
	(void)pthread_mutex_unlock(&sv->sv_mu);
	if (text == NULL) {
		err_set(
		    err, EIK_INTERNAL, "cannot encode the record of %s", id);
		rc = -1;
	} else
		rc = store_write_text(&sv->sv_store, id, text, flags, err);
	free(text);
	return rc;
}

/* Writes in's record as it is now. Called without sv_mu. */
static int
persist_flags(
    struct service *sv, struct inst *in, unsigned flags, struct err *err)
{
	int rc;

	(void)pthread_mutex_lock(&in->in_wmu);
	rc = persist_locked(sv, in, flags, err);
	(void)pthread_mutex_unlock(&in->in_wmu);
	return rc;
}

static int
persist(struct service *sv, struct inst *in, struct err *err)
{
	return persist_flags(sv, in, 0, err);
}

static void
set_str(char **dst, const char *src)
{
	char *d = src != NULL ? strdup(src) : NULL;

	free(*dst);
	*dst = d;
}

/* ---- types and templates ---------------------------------------------- */

static const struct bkent *
resolve_type(const struct service *sv, const char *type, struct err *err)
{
	char list[512];
	size_t n = 0;

	if (type == NULL || type[0] == '\0')
		return &sv->sv_bk[0];
	for (size_t i = 0; i < sv->sv_nbk; i++)
		if (strcmp(sv->sv_bk[i].be_ops->name, type) == 0)
			return &sv->sv_bk[i];
	list[0] = '\0';
	for (size_t i = 0; i < sv->sv_nbk && n < sizeof(list); i++) {
		int r = snprintf(list + n, sizeof(list) - n, ", \"%s\"",
		    sv->sv_bk[i].be_ops->name);

		if (r > 0)
			n += (size_t)r;
	}
	err_set(err, EIK_INVAL,
	    "no-plugin:%s: this plugin has no object of Type \"%s\"; it serves "
	    "\"\" (the default, %s)%s: fix the part after '/' in the group's "
	    "\"Plugin\" reference",
	    type, type, sv->sv_bk[0].be_ops->name, list);
	return NULL;
}

int
template_find(const char *vm_lib, const char *name, char *out, size_t outlen,
    struct err *err)
{
	char a[PATH_BUF], b[PATH_BUF];
	int na, nb;

	na =
	    snprintf(a, sizeof(a), "%s/%s.vmwarevm/%s.vmx", vm_lib, name, name);
	nb = snprintf(b, sizeof(b), "%s/%s/%s.vmx", vm_lib, name, name);
	if (na < 0 || (size_t)na >= sizeof(a) || nb < 0 ||
	    (size_t)nb >= sizeof(b)) {
		err_set(
		    err, EIK_INVAL, "template name \"%s\" is too long", name);
		return -1;
	}
	if (is_file(a)) {
		if (strlcpy(out, a, outlen) >= outlen)
			goto toolong;
		return 0;
	}
	if (is_file(b)) {
		if (strlcpy(out, b, outlen) >= outlen)
			goto toolong;
		return 0;
	}
	err_set(err, EIK_NOTFOUND,
	    "template \"%s\" not found: looked for %s and %s; copy the VM "
	    "bundle into --vm-lib (%s) or fix Properties.VMX",
	    name, a, b, vm_lib);
	return -1;
toolong:
	err_set(err, EIK_INVAL, "template path too long");
	return -1;
}

/* ---- the journal's materializer --------------------------------------- */

/* Queues in for its instance.json. sv_mu held. */
static void
mat_push(struct service *sv, struct inst *in)
{
	if (in->in_mat_queued)
		return;
	if (sv->sv_mqlen == sv->sv_mqcap) {
		size_t cap = sv->sv_mqcap == 0 ? 64 : sv->sv_mqcap * 2;
		struct inst **nq = realloc(sv->sv_mq, cap * sizeof(*nq));

		if (nq == NULL)
			return; /* it stays in the journal until a restart */
		sv->sv_mq = nq;
		sv->sv_mqcap = cap;
	}
	sv->sv_mq[sv->sv_mqlen++] = in;
	in->in_refs++;
	in->in_mat_queued = true;
	(void)pthread_cond_signal(&sv->sv_mat_cv);
}

/*
 * Writes journalled records as instance.json, then empties the journal
 * once everything in it is written. Records are written from the current
 * state (persist), so a worker that got there first is never overwritten
 * with older data.
 */
static void *
materializer_main(void *arg)
{
	struct service *sv = arg;

	(void)pthread_mutex_lock(&sv->sv_mu);
	while (!sv->sv_stopping) {
		struct inst *batch[64];
		size_t n = 0;
		struct err err;
		bool synced = false;
		int r;

		/* Let a burst of Provisions pass first: their journal
		 * flushes must not queue behind this thread's writes. Never
		 * more than MAT_DEFER_MAX_MS, and not when someone waits. */
		if (sv->sv_mqlen > 0 && sv->sv_mqlen < 512 &&
		    !sv->sv_ckpt_wanted) {
			int64_t idle =
			    mono_ms() - journal_last_append(sv->sv_journal);

			if (idle < MAT_IDLE_MS &&
			    mono_ms() - sv->sv_mat_since < MAT_DEFER_MAX_MS) {
				struct timespec ts;

				cond_deadline(&ts, MAT_IDLE_MS - idle);
				(void)pthread_cond_timedwait(
				    &sv->sv_mat_cv, &sv->sv_mu, &ts);
				continue;
			}
		}
		sv->sv_mat_since = mono_ms();
		while (sv->sv_mqlen > 0 && n < 64) {
			batch[n] = sv->sv_mq[--sv->sv_mqlen];
			batch[n]->in_mat_queued = false;
			n++;
		}
		(void)pthread_mutex_unlock(&sv->sv_mu);
#if defined(__linux__)
		/* Write the batch unflushed, then make all of it durable with
		 * one syncfs: one disk flush per batch instead of three per
		 * record. Until then the journal still holds the records. */
		if (n > 0) {
			synced = true;
			for (size_t i = 0; i < n && synced; i++) {
				err_clear(&err);
				if (persist_flags(sv, batch[i], ATOMIC_NOSYNC,
					&err) == -1)
					synced = false;
			}
			err_clear(&err);
			if (synced &&
			    sync_filesystem(sv->sv_conf.sc_vm_dir, &err) == -1)
				synced = false;
			if (synced)
				sv->sv_materialized += n;
		}
#endif
		for (size_t i = 0; i < n && !synced; i++) {
			err_clear(&err);
			if (persist(sv, batch[i], &err) == 0) {
				sv->sv_materialized++;
				continue;
			}
			/* Kept in the journal; tried again in a while. */
			log_error("instance %s: %s (the journal keeps it)",
			    batch[i]->in_rec.r_id, err.msg);
			(void)pthread_mutex_lock(&sv->sv_mu);
			mat_push(sv, batch[i]);
			(void)pthread_mutex_unlock(&sv->sv_mu);
			sleep_ms(1000);
		}
		(void)pthread_mutex_lock(&sv->sv_mu);
		for (size_t i = 0; i < n; i++)
			inst_unref(batch[i]);
		if (sv->sv_mqlen > 0)
			continue;
		(void)pthread_mutex_unlock(&sv->sv_mu);
		err_clear(&err);
		r = journal_truncate(sv->sv_journal, sv->sv_materialized, &err);
		if (r == -1)
			log_error("%s", err.msg);
		(void)pthread_mutex_lock(&sv->sv_mu);
		if (r == 0) {
			sv->sv_materialized = 0;
			sv->sv_ckpt_wanted = false;
			(void)pthread_cond_broadcast(&sv->sv_ckpt_cv);
		}
		if (sv->sv_mqlen == 0 && !sv->sv_stopping) {
			struct timespec ts;

			/* Woken by new work; a skipped truncate is retried. */
			cond_deadline(&ts, r == 1 ? 20 : 500);
			(void)pthread_cond_timedwait(
			    &sv->sv_mat_cv, &sv->sv_mu, &ts);
		}
	}
	(void)pthread_mutex_unlock(&sv->sv_mu);
	return NULL;
}

/*
 * Waits until in's record has left the journal, so that removing the
 * record cannot be undone by a replay. False when stopping.
 */
static bool
wait_unjournaled(struct service *sv, struct inst *in)
{
	bool ok;

	(void)pthread_mutex_lock(&sv->sv_mu);
	while (in->in_journaled && !sv->sv_stopping &&
	    journal_gen(sv->sv_journal) <= in->in_jgen) {
		struct timespec ts;

		sv->sv_ckpt_wanted = true;
		(void)pthread_cond_signal(&sv->sv_mat_cv);
		cond_deadline(&ts, 1000);
		(void)pthread_cond_timedwait(&sv->sv_ckpt_cv, &sv->sv_mu, &ts);
	}
	if (in->in_journaled && journal_gen(sv->sv_journal) > in->in_jgen)
		in->in_journaled = false;
	ok = !in->in_journaled;
	(void)pthread_mutex_unlock(&sv->sv_mu);
	return ok;
}

/* Whether path holds a record we can read (a newer one than the journal's:
 * the journal is only ever written first). */
static bool
record_readable(const char *path)
{
	struct record r;
	struct err err;
	char *text = NULL;
	size_t len;
	bool ok;

	if (read_file_max(path, RECORD_MAX_SIZE, &text, &len, NULL) == -1)
		return false;
	memset(&r, 0, sizeof(r));
	err_clear(&err);
	ok = record_from_text(text, len, &r, &err) == 0;
	record_free(&r);
	free(text);
	return ok;
}

/* Start-up: a journalled record whose instance.json is missing or torn
 * (an unflushed write cut by a crash) is written from the journal. */
static int
replay_one(void *arg, const char *data, size_t len)
{
	struct service *sv = arg;
	struct record r;
	struct err err;
	char dir[PATH_BUF], path[PATH_BUF];

	memset(&r, 0, sizeof(r));
	err_clear(&err);
	if (record_from_text(data, len, &r, &err) == -1) {
		log_error(
		    "journal: an entry is unreadable (%s); skipped", err.msg);
		record_free(&r);
		return 0;
	}
	if (store_inst_dir(&sv->sv_store, r.r_id, dir, sizeof(dir)) == 0 &&
	    path_join(path, sizeof(path), dir, "instance.json") == 0 &&
	    !record_readable(path)) {
		log_info("journal: recording instance %s", r.r_id);
		if (store_write(&sv->sv_store, &r, &err) == -1) {
			log_error("journal: %s", err.msg);
			record_free(&r);
			return -1;
		}
	}
	record_free(&r);
	return 0;
}

/* ---- the svc interface ------------------------------------------------ */

static int
svc_validate_bk(struct service *sv, const struct bkent *bk,
    const struct inst_props *props, char *tmpl, size_t tmpllen, struct err *err)
{
	if (template_find(sv->sv_conf.sc_vm_lib, props->p_vmx, tmpl, tmpllen,
		err) == -1) {
		err_prefix(err, "Properties.VMX");
		return -1;
	}
	if (bk->be_ops->validate != NULL &&
	    bk->be_ops->validate(bk->be_ctx, props, tmpl, err) == -1)
		return -1;
	return 0;
}

static int
svc_validate(void *ctx, const char *type, const struct inst_props *props,
    struct err *err)
{
	struct service *sv = ctx;
	const struct bkent *bk = resolve_type(sv, type, err);
	char tmpl[PATH_BUF];

	if (bk == NULL)
		return -1;
	return svc_validate_bk(sv, bk, props, tmpl, sizeof(tmpl), err);
}

static int
svc_provision(void *ctx, const char *type, const struct inst_spec *spec,
    char *id, size_t idlen, struct err *err)
{
	struct service *sv = ctx;
	const struct bkent *bk = resolve_type(sv, type, err);
	char tmpl[PATH_BUF];
	struct inst *in = NULL;
	struct record *r;

	if (bk == NULL)
		return -1;
	if (svc_validate_bk(sv, bk, &spec->s_props, tmpl, sizeof(tmpl), err) ==
	    -1)
		return -1;
	in = inst_new();
	if (in == NULL)
		goto oom;
	in->in_bk = bk;
	r = &in->in_rec;
	if (inst_spec_copy(&r->r_spec, spec) == -1)
		goto oom;
	/* Properties.Tags first, Spec.Tags win on conflicts. */
	if (tags_copy(&r->r_tags, &spec->s_props.p_tags) == -1 ||
	    tags_merge(&r->r_tags, &spec->s_tags) == -1)
		goto oom;
	r->r_template = strdup(tmpl);
	if (r->r_template == NULL)
		goto oom;
	inst_rehash(in);
	(void)strlcpy(r->r_backend, bk->be_ops->name, sizeof(r->r_backend));
	r->r_state = ST_PROVISIONING;
	if (idgen_next(&sv->sv_ids, r->r_id, sizeof(r->r_id), err) == -1)
		goto fail;
	/* Creation time is the ID's: the two orders are one. */
	{
		uint64_t v = 0;

		(void)id_decode(r->r_id, &v);
		r->r_created_ms = r->r_updated_ms = (int64_t)(v >> ID_SEQ_BITS);
	}
	/* Durable before anyone hears of it: appended to the journal (one
	 * flush shared with concurrent Provisions), or, when the journal is
	 * out of order, written as instance.json directly. */
	{
		char *text = record_to_text(r);

		if (text == NULL)
			goto oom;
		if (journal_append(sv->sv_journal, text, strlen(text),
			&in->in_jgen, err) == 0)
			in->in_journaled = true;
		else if (err->code == EIK_IO) {
			err_clear(err);
			if (store_write_text(
				&sv->sv_store, r->r_id, text, 0, err) == -1) {
				free(text);
				err_prefix(
				    err, "cannot record the new instance");
				goto fail;
			}
		} else {
			free(text);
			err_prefix(err, "cannot record the new instance");
			goto fail;
		}
		free(text);
	}
	(void)pthread_mutex_lock(&sv->sv_mu);
	if (in->in_journaled)
		mat_push(sv, in);
	if (sv->sv_stopping) {
		/* Recorded: the next start provisions it. */
		log_info("instance %s recorded while stopping", r->r_id);
	}
	if (index_insert(sv, in) == -1) {
		(void)pthread_mutex_unlock(&sv->sv_mu);
		err_set(err, EIK_INTERNAL, "duplicate instance ID %s",
		    in->in_rec.r_id);
		goto fail;
	}
	if (!sv->sv_stopping)
		enqueue(sv, in);
	(void)strlcpy(id, in->in_rec.r_id, idlen);
	(void)pthread_mutex_unlock(&sv->sv_mu);
	log_info("instance %s: provisioning from %s (%s)", id, tmpl,
	    bk->be_ops->name);
	return 0;
oom:
	err_set(err, EIK_INTERNAL, "out of memory");
fail:
	if (in != NULL)
		inst_unref(in);
	return -1;
}

static int
svc_destroy(void *ctx, const char *type, const char *id, const char *reason,
    struct err *err)
{
	struct service *sv = ctx;
	const struct bkent *bk = resolve_type(sv, type, err);
	struct inst *in;
	enum inst_state old;
	char *old_reason = NULL;

	if (bk == NULL)
		return -1;
	(void)pthread_mutex_lock(&sv->sv_mu);
	in = index_get(sv, id);
	if (in == NULL || in->in_rec.r_state == ST_DESTROYING) {
		(void)pthread_mutex_unlock(&sv->sv_mu);
		/* Idempotent: unknown or already going means done. */
		log_info("destroy %s: %s", id,
		    in == NULL ? "no such instance (already gone)"
			       : "already being destroyed");
		return 0;
	}
	in->in_refs++;
	(void)pthread_mutex_unlock(&sv->sv_mu);

	/*
	 * The record's writer lock is held from the change to its outcome:
	 * no worker acts on (or writes) "destroying" before it is durable,
	 * and a failed write is undone before anyone else writes.
	 */
	(void)pthread_mutex_lock(&in->in_wmu);
	(void)pthread_mutex_lock(&sv->sv_mu);
	if (in->in_gone || in->in_rec.r_state == ST_DESTROYING) {
		/* Another Destroy got here first. */
		inst_unref(in);
		(void)pthread_mutex_unlock(&sv->sv_mu);
		(void)pthread_mutex_unlock(&in->in_wmu);
		return 0;
	}
	old = in->in_rec.r_state;
	old_reason = in->in_rec.r_reason;
	in->in_rec.r_reason = strdup(reason);
	in->in_rec.r_state = ST_DESTROYING;
	(void)pthread_mutex_unlock(&sv->sv_mu);

	if (persist_locked(sv, in, 0, err) == -1 && err->code == EIK_NOSPACE) {
		/*
		 * A full disk must not keep the group from scaling down:
		 * destroying is what frees space. Go on in memory; only a
		 * restart before the files are gone could bring it back.
		 */
		log_warnx("instance %s: cannot record the destroy (%s); "
			  "destroying it anyway",
		    id, err->msg);
		err_clear(err);
	} else if (err->code != EIK_OK) {
		/* Not recorded: undo, so nothing differs from the disk. */
		(void)pthread_mutex_lock(&sv->sv_mu);
		in->in_rec.r_state = old;
		free(in->in_rec.r_reason);
		in->in_rec.r_reason = old_reason;
		(void)pthread_mutex_unlock(&sv->sv_mu);
		(void)pthread_mutex_unlock(&in->in_wmu);
		(void)pthread_mutex_lock(&sv->sv_mu);
		inst_unref(in);
		(void)pthread_mutex_unlock(&sv->sv_mu);
		err_prefix(err, "cannot record the destroy of %s", id);
		return -1;
	}
	(void)pthread_mutex_unlock(&in->in_wmu);
	free(old_reason);
	(void)pthread_mutex_lock(&sv->sv_mu);
	in->in_retries = 0;
	in->in_not_before = 0;
	if (!sv->sv_stopping)
		enqueue(sv, in);
	inst_unref(in);
	(void)pthread_mutex_unlock(&sv->sv_mu);
	log_info("instance %s: destroying (%s)", id, reason);
	return 0;
}

/* Whether InfraKit sees the instance. sv_mu held. */
static bool
is_reported(const struct inst *in)
{
	switch (in->in_rec.r_state) {
	case ST_PROVISIONING:
		return true;
	case ST_RUNNING:
		/* Suspended, paused or off behind our back: the group
		 * replaces it; it rejoins when it runs again. */
		return in->in_power == POWER_RUNNING ||
		    in->in_power == POWER_UNKNOWN;
	default:
		return false;
	}
}

static int
view_fill(const struct service *sv, const struct inst *in, struct inst_view *v)
{
	const struct record *r = &in->in_rec;
	char vmx[PATH_BUF];
	int fail = 0;

	(void)strlcpy(v->v_id, r->r_id, sizeof(v->v_id));
	if (r->r_spec.s_logical_id != NULL &&
	    (v->v_logical_id = strdup(r->r_spec.s_logical_id)) == NULL)
		fail = 1;
	if (tags_copy(&v->v_tags, &r->r_tags) == -1)
		fail = 1;
	(void)strlcpy(
	    v->v_state, inst_state_name(r->r_state), sizeof(v->v_state));
	(void)strlcpy(v->v_power,
	    r->r_state == ST_RUNNING ? power_state_name(in->in_power) : "off",
	    sizeof(v->v_power));
	(void)strlcpy(v->v_backend, r->r_backend, sizeof(v->v_backend));
	(void)strlcpy(
	    v->v_template, r->r_spec.s_props.p_vmx, sizeof(v->v_template));
	if (r->r_state != ST_FAILED &&
	    store_vmx_path(&sv->sv_store, r->r_id, vmx, sizeof(vmx)) == 0 &&
	    (v->v_vmx = strdup(vmx)) == NULL)
		fail = 1;
	if (r->r_ip != NULL && (v->v_ip = strdup(r->r_ip)) == NULL)
		fail = 1;
	if (r->r_mac != NULL && (v->v_mac = strdup(r->r_mac)) == NULL)
		fail = 1;
	if (r->r_error != NULL && (v->v_error = strdup(r->r_error)) == NULL)
		fail = 1;
	if (r->r_reason != NULL && r->r_state == ST_DESTROYING &&
	    (v->v_reason = strdup(r->r_reason)) == NULL)
		fail = 1;
	v->v_created_ms = r->r_created_ms;
	v->v_reported = is_reported(in);
	return fail ? -1 : 0;
}

static int
svc_describe(void *ctx, const char *type, const struct tags *filter,
    unsigned flags, struct inst_list *out, struct err *err)
{
	struct service *sv = ctx;
	const struct bkent *bk = resolve_type(sv, type, err);
	bool all = (flags & DESCRIBE_ALL) != 0;
	const char *fg = tags_get(filter, GROUP_TAG);
	uint64_t fh = group_hash(fg);
	bool any_backend = all && (type == NULL || type[0] == '\0');

	if (bk == NULL)
		return -1;
	(void)pthread_mutex_lock(&sv->sv_mu);
	for (size_t i = 0; i < sv->sv_n; i++) {
		const struct inst *in = sv->sv_v[i];
		struct inst_view *v;

		if (!any_backend && in->in_bk != bk)
			continue;
		if (!all && !is_reported(in))
			continue;
		if (fg != NULL && in->in_group_hash != fh)
			continue;
		if (!tags_match(&in->in_rec.r_tags, filter))
			continue;
		v = inst_list_add(out);
		if (v == NULL || view_fill(sv, in, v) == -1) {
			(void)pthread_mutex_unlock(&sv->sv_mu);
			err_set(err, EIK_INTERNAL, "out of memory");
			return -1;
		}
	}
	(void)pthread_mutex_unlock(&sv->sv_mu);
	return 0;
}

static int
svc_label(void *ctx, const char *type, const char *id,
    const struct tags *labels, struct err *err)
{
	struct service *sv = ctx;
	const struct bkent *bk = resolve_type(sv, type, err);
	struct tags old = TAGS_INIT;
	struct inst *in;
	int rc = -1;

	if (bk == NULL)
		return -1;
	(void)pthread_mutex_lock(&sv->sv_mu);
	in = index_get(sv, id);
	if (in != NULL)
		in->in_refs++;
	(void)pthread_mutex_unlock(&sv->sv_mu);
	if (in == NULL) {
		err_set(err, EIK_NOTFOUND,
		    "no instance %s: list them with DescribeInstances", id);
		return -1;
	}
	/* Held until the labels are durable or undone (see svc_destroy). */
	(void)pthread_mutex_lock(&in->in_wmu);
	(void)pthread_mutex_lock(&sv->sv_mu);
	if (in->in_gone || in->in_rec.r_state == ST_DESTROYING ||
	    in->in_rec.r_state == ST_FAILED) {
		err_set(err, EIK_NOTFOUND,
		    "no instance %s%s: list them with DescribeInstances", id,
		    in->in_rec.r_state == ST_FAILED
			? " (its provision failed)"
			: " (it is being destroyed)");
		goto out_locked;
	}
	if (tags_copy(&old, &in->in_rec.r_tags) == -1 ||
	    tags_merge(&in->in_rec.r_tags, labels) == -1) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out_locked;
	}
	inst_rehash(in);
	(void)pthread_mutex_unlock(&sv->sv_mu);
	if (persist_locked(sv, in, 0, err) == -1) {
		(void)pthread_mutex_lock(&sv->sv_mu);
		tags_free(&in->in_rec.r_tags);
		in->in_rec.r_tags = old;
		old = (struct tags)TAGS_INIT;
		inst_rehash(in);
		err_prefix(err, "cannot record the labels of %s", id);
		goto out_locked;
	}
	(void)pthread_mutex_lock(&sv->sv_mu);
	rc = 0;
	log_info("instance %s: labelled (%zu labels)", id, labels->tg_n);
out_locked:
	(void)pthread_mutex_unlock(&sv->sv_mu);
	(void)pthread_mutex_unlock(&in->in_wmu);
	(void)pthread_mutex_lock(&sv->sv_mu);
	inst_unref(in);
	(void)pthread_mutex_unlock(&sv->sv_mu);
	tags_free(&old);
	return rc;
}

static size_t
svc_types(void *ctx, const char **names, size_t max)
{
	struct service *sv = ctx;
	size_t n = 0;

	for (size_t i = 0; i < sv->sv_nbk && n < max; i++)
		names[n++] = sv->sv_bk[i].be_ops->name;
	return n;
}

static const struct svc_ops service_ops = {
	.validate = svc_validate,
	.provision = svc_provision,
	.destroy = svc_destroy,
	.describe = svc_describe,
	.label = svc_label,
	.types = svc_types,
};

/* ---- workers ---------------------------------------------------------- */

/* What a worker needs of an instance, copied under sv_mu. */
struct job {
	char j_id[ID_MAX];
	enum inst_state j_state;
	const struct bkent *j_bk;
	struct inst_spec j_spec;
	struct tags j_tags;
	char j_template[PATH_BUF];
	char j_staging[PATH_BUF];
	char j_dir[PATH_BUF]; /* <vm-dir>/<id> */
	char j_bundle[PATH_BUF];
	char j_vmx[PATH_BUF];
	char j_staging_vmx[PATH_BUF];
	bool j_need_ip;
};

static int
job_load(struct service *sv, struct inst *in, struct job *j)
{
	const struct record *r = &in->in_rec;
	int n;

	memset(j, 0, sizeof(*j));
	(void)strlcpy(j->j_id, r->r_id, sizeof(j->j_id));
	j->j_state = r->r_state;
	j->j_bk = in->in_bk;
	j->j_need_ip = in->in_need_ip;
	(void)strlcpy(j->j_template, r->r_template != NULL ? r->r_template : "",
	    sizeof(j->j_template));
	if (inst_spec_copy(&j->j_spec, &r->r_spec) == -1 ||
	    tags_copy(&j->j_tags, &r->r_tags) == -1)
		return -1;
	if (store_staging_dir(&sv->sv_store, r->r_id, j->j_staging,
		sizeof(j->j_staging)) == -1 ||
	    store_inst_dir(
		&sv->sv_store, r->r_id, j->j_dir, sizeof(j->j_dir)) == -1 ||
	    store_bundle_dir(&sv->sv_store, r->r_id, j->j_bundle,
		sizeof(j->j_bundle)) == -1 ||
	    store_vmx_path(
		&sv->sv_store, r->r_id, j->j_vmx, sizeof(j->j_vmx)) == -1)
		return -1;
	n = snprintf(j->j_staging_vmx, sizeof(j->j_staging_vmx), "%s/%s.vmx",
	    j->j_staging, r->r_id);
	return n < 0 || (size_t)n >= sizeof(j->j_staging_vmx) ? -1 : 0;
}

static void
job_free(struct job *j)
{
	inst_spec_free(&j->j_spec);
	tags_free(&j->j_tags);
}

static void
bk_inst_fill(const struct service *sv, const struct job *j, bool staging,
    struct bk_inst *bi)
{
	bi->bi_id = j->j_id;
	bi->bi_dir = staging ? j->j_staging : j->j_bundle;
	bi->bi_vmx = staging ? j->j_staging_vmx : j->j_vmx;
	bi->bi_template = j->j_template;
	bi->bi_spec = &j->j_spec;
	bi->bi_tags = &j->j_tags;
	bi->bi_deadline = mono_ms() + sv->sv_conf.sc_op_timeout_ms;
}

static enum inst_state
current_state(struct service *sv, struct inst *in)
{
	enum inst_state s;

	(void)pthread_mutex_lock(&sv->sv_mu);
	s = in->in_rec.r_state;
	(void)pthread_mutex_unlock(&sv->sv_mu);
	return s;
}

static bool
stopping(struct service *sv)
{
	bool s;

	(void)pthread_mutex_lock(&sv->sv_mu);
	s = sv->sv_stopping;
	(void)pthread_mutex_unlock(&sv->sv_mu);
	return s;
}

/* Asks the backend whether the VM of j runs (for resumed work). */
static enum power_state
query_power(struct service *sv, const struct job *j)
{
	struct bk_power p = { j->j_id, j->j_bundle, j->j_vmx, POWER_UNKNOWN };
	struct err e;

	if (j->j_bk->be_ops->power == NULL)
		return POWER_UNKNOWN;
	err_clear(&e);
	if (j->j_bk->be_ops->power(j->j_bk->be_ctx, &p, 1,
		mono_ms() + sv->sv_conf.sc_op_timeout_ms, &e) == -1)
		return POWER_UNKNOWN;
	return p.bp_state;
}

/* Stops a VM: soft within its budget, then hard. */
static int
stop_vm(struct service *sv, const struct job *j, struct err *err)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	struct bk_inst bi;
	struct err soft;

	if (ops->stop == NULL)
		return 0;
	bk_inst_fill(sv, j, false, &bi);
	if (sv->sv_conf.sc_stop_soft_ms > 0) {
		bi.bi_deadline = mono_ms() + sv->sv_conf.sc_stop_soft_ms;
		err_clear(&soft);
		if (ops->stop(j->j_bk->be_ctx, &bi, false, &soft) == 0)
			return 0;
		if (proc_cancelled()) {
			*err = soft;
			return -1;
		}
		log_info("instance %s: soft power-off failed (%s); powering "
			 "off hard",
		    j->j_id, soft.msg);
	}
	bi.bi_deadline = mono_ms() + sv->sv_conf.sc_op_timeout_ms;
	return ops->stop(j->j_bk->be_ctx, &bi, true, err);
}

static void
prune_failed(struct service *sv)
{
	char victim[ID_MAX];
	size_t failed;

	for (;;) {
		victim[0] = '\0';
		failed = 0;
		(void)pthread_mutex_lock(&sv->sv_mu);
		for (size_t i = 0; i < sv->sv_n; i++) {
			struct inst *in = sv->sv_v[i];

			if (in->in_rec.r_state != ST_FAILED || in->in_busy)
				continue;
			if (failed++ == 0)
				(void)strlcpy(
				    victim, in->in_rec.r_id, sizeof(victim));
		}
		if (failed <= FAILED_KEEP) {
			(void)pthread_mutex_unlock(&sv->sv_mu);
			return;
		}
		{
			struct inst *in = index_get(sv, victim);

			in->in_refs++;
			(void)pthread_mutex_unlock(&sv->sv_mu);
			if (!wait_unjournaled(sv, in) ||
			    store_remove(&sv->sv_store, victim, NULL) == -1) {
				(void)pthread_mutex_lock(&sv->sv_mu);
				inst_unref(in);
				(void)pthread_mutex_unlock(&sv->sv_mu);
				return;
			}
			(void)pthread_mutex_lock(&sv->sv_mu);
			index_remove(sv, in);
			inst_unref(in);
			(void)pthread_mutex_unlock(&sv->sv_mu);
		}
	}
}

static void
step_provision(struct service *sv, struct inst *in, struct job *j)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	struct bk_inst bi;
	struct err err, e2;
	bool started = false;
	enum power_state pw = POWER_UNKNOWN;

	err_clear(&err);
	(void)pthread_mutex_lock(&sv->sv_mu);
	in->in_rec.r_attempts++;
	(void)pthread_mutex_unlock(&sv->sv_mu);
	/* The record may still be only in the journal (its writer is
	 * behind): the bundle's directory may not exist yet. A crash before
	 * the record is written is fine: the journal's replay writes it. */
	if (mkdir_p(j->j_dir, STATE_DIR_MODE, &err) == -1)
		goto fail;
	if (!is_dir(j->j_bundle)) {
		if (rm_tree(j->j_staging, &err) == -1 ||
		    mkdir_p(j->j_staging, STATE_DIR_MODE, &err) == -1)
			goto fail;
		bk_inst_fill(sv, j, true, &bi);
		if (ops->create(j->j_bk->be_ctx, &bi, &err) == -1)
			goto fail;
		if (current_state(sv, in) != ST_PROVISIONING) {
			(void)rm_tree(j->j_staging, NULL);
			return;
		}
		if (rename_durable(j->j_staging, j->j_bundle, &err) == -1)
			goto fail;
	} else {
		/* Resumed after a restart: the bundle is complete. */
		pw = query_power(sv, j);
	}
	if (current_state(sv, in) != ST_PROVISIONING)
		return;
	if (pw != POWER_RUNNING) {
		bk_inst_fill(sv, j, false, &bi);
		if (ops->start(j->j_bk->be_ctx, &bi, &err) == -1)
			goto fail;
	}
	started = true;
	(void)pthread_mutex_lock(&sv->sv_mu);
	if (in->in_rec.r_state == ST_PROVISIONING) {
		in->in_rec.r_state = ST_RUNNING;
		in->in_power = POWER_RUNNING;
		set_str(&in->in_rec.r_error, NULL);
		in->in_need_ip = ops->guest_ip != NULL;
		in->in_ip_tries = 0;
		if (in->in_need_ip)
			in->in_again = true;
	}
	(void)pthread_mutex_unlock(&sv->sv_mu);
	if (persist(sv, in, &err) == -1)
		log_error("instance %s: running, but %s", j->j_id, err.msg);
	else
		log_info("instance %s: running", j->j_id);
	return;
fail:
	if (proc_cancelled() || stopping(sv)) {
		/* Parked: the record still says provisioning, so the next
		 * start resumes it. */
		log_info("instance %s: provision interrupted by shutdown (%s)",
		    j->j_id, err.msg);
		return;
	}
	log_error("instance %s: provision failed: %s", j->j_id, err.msg);
	/* Roll back: nothing half-made stays behind. */
	err_clear(&e2);
	if (started || is_dir(j->j_bundle)) {
		struct err e3;

		err_clear(&e3);
		if (stop_vm(sv, j, &e3) == -1)
			log_warnx("instance %s: rollback power-off: %s",
			    j->j_id, e3.msg);
		if (ops->remove != NULL) {
			bk_inst_fill(sv, j, false, &bi);
			(void)ops->remove(j->j_bk->be_ctx, &bi, &e3);
		}
	}
	if (rm_tree(j->j_staging, &e2) == -1 || rm_tree(j->j_bundle, &e2) == -1)
		log_error("instance %s: rollback left files behind: %s",
		    j->j_id, e2.msg);
	(void)pthread_mutex_lock(&sv->sv_mu);
	if (in->in_rec.r_state == ST_PROVISIONING) {
		in->in_rec.r_state = ST_FAILED;
		set_str(&in->in_rec.r_error, err.msg);
	}
	(void)pthread_mutex_unlock(&sv->sv_mu);
	if (persist(sv, in, &e2) == -1)
		log_error("instance %s: %s", j->j_id, e2.msg);
	prune_failed(sv);
}

static void
step_destroy(struct service *sv, struct inst *in, struct job *j)
{
	struct err err;
	int64_t delay;

	err_clear(&err);
	/* Wait for the Destroy RPC's record write to finish: it may still
	 * fail and be undone. */
	(void)pthread_mutex_lock(&in->in_wmu);
	(void)pthread_mutex_unlock(&in->in_wmu);
	if (current_state(sv, in) != ST_DESTROYING)
		return;
	if (is_dir(j->j_bundle)) {
		enum power_state pw;

		if (stop_vm(sv, j, &err) == -1 &&
		    query_power(sv, j) != POWER_OFF)
			goto retry;
		/* Never delete the files of a VM that still runs. */
		pw = query_power(sv, j);
		if (pw == POWER_RUNNING || pw == POWER_PAUSED) {
			err_set(&err, EIK_BACKEND,
			    "the VM is still %s after powering it off",
			    power_state_name(pw));
			goto retry;
		}
		if (j->j_bk->be_ops->remove != NULL) {
			struct bk_inst bi;

			bk_inst_fill(sv, j, false, &bi);
			if (j->j_bk->be_ops->remove(
				j->j_bk->be_ctx, &bi, &err) == -1)
				goto retry;
		}
	}
	if (!wait_unjournaled(sv, in)) {
		err_set(&err, EIK_BUSY, "waiting for the journal");
		goto retry;
	}
	if (rm_tree(j->j_staging, &err) == -1 ||
	    store_remove(&sv->sv_store, j->j_id, &err) == -1)
		goto retry;
	(void)pthread_mutex_lock(&sv->sv_mu);
	index_remove(sv, in);
	(void)pthread_mutex_unlock(&sv->sv_mu);
	log_info("instance %s: destroyed", j->j_id);
	return;
retry:
	if (proc_cancelled() || stopping(sv)) {
		log_info("instance %s: destroy interrupted by shutdown (%s)",
		    j->j_id, err.msg);
		return;
	}
	(void)pthread_mutex_lock(&sv->sv_mu);
	delay = DESTROY_RETRY_MIN_MS
	    << (in->in_retries < 9 ? in->in_retries : 9);
	if (delay > DESTROY_RETRY_MAX_MS)
		delay = DESTROY_RETRY_MAX_MS;
	in->in_retries++;
	in->in_not_before = mono_ms() + delay;
	set_str(&in->in_rec.r_error, err.msg);
	(void)pthread_mutex_unlock(&sv->sv_mu);
	log_error("instance %s: destroy failed, retrying in %lld s: %s",
	    j->j_id, (long long)(delay / 1000), err.msg);
}

static void
step_ip(struct service *sv, struct inst *in, struct job *j)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	char ip[64] = "", mac[64] = "";
	struct bk_inst bi;
	struct err err;
	int rc;

	err_clear(&err);
	bk_inst_fill(sv, j, false, &bi);
	rc = ops->guest_ip(
	    j->j_bk->be_ctx, &bi, ip, sizeof(ip), mac, sizeof(mac), &err);
	(void)pthread_mutex_lock(&sv->sv_mu);
	if (mac[0] != '\0')
		set_str(&in->in_rec.r_mac, mac);
	if (rc == 0 && ip[0] != '\0') {
		set_str(&in->in_rec.r_ip, ip);
		in->in_need_ip = false;
	} else if (++in->in_ip_tries >= IP_TRIES) {
		in->in_need_ip = false;
		log_info(
		    "instance %s: no IP address found: %s", j->j_id, err.msg);
	} else
		in->in_not_before = mono_ms() + IP_RETRY_MS;
	(void)pthread_mutex_unlock(&sv->sv_mu);
	if (rc == 0 && ip[0] != '\0') {
		log_info("instance %s: IP %s", j->j_id, ip);
		if (persist(sv, in, &err) == -1)
			log_error("instance %s: %s", j->j_id, err.msg);
	}
}

static void *
worker_main(void *arg)
{
	struct service *sv = arg;

	(void)pthread_mutex_lock(&sv->sv_mu);
	for (;;) {
		struct inst *in;
		struct job j;
		int rc;

		while (!sv->sv_stopping && sv->sv_qlen == 0)
			(void)pthread_cond_wait(&sv->sv_cv, &sv->sv_mu);
		if (sv->sv_stopping)
			break;
		in = dequeue(sv);
		if (in->in_gone) {
			inst_unref(in);
			continue;
		}
		in->in_busy = true;
		sv->sv_nbusy++;
		rc = job_load(sv, in, &j);
		(void)pthread_mutex_unlock(&sv->sv_mu);

		if (rc == -1)
			log_error("instance %s: out of memory", j.j_id);
		else if (j.j_state == ST_PROVISIONING)
			step_provision(sv, in, &j);
		else if (j.j_state == ST_DESTROYING)
			step_destroy(sv, in, &j);
		else if (j.j_state == ST_RUNNING && j.j_need_ip)
			step_ip(sv, in, &j);
		else if (j.j_state == ST_FAILED &&
		    (is_dir(j.j_bundle) || is_dir(j.j_staging))) {
			/* A rollback a crash interrupted. */
			(void)rm_tree(j.j_staging, NULL);
			(void)rm_tree(j.j_bundle, NULL);
		}
		job_free(&j);

		(void)pthread_mutex_lock(&sv->sv_mu);
		in->in_busy = false;
		sv->sv_nbusy--;
		if (in->in_again) {
			in->in_again = false;
			if (in->in_not_before == 0)
				enqueue(sv, in);
		}
		inst_unref(in);
	}
	(void)pthread_mutex_unlock(&sv->sv_mu);
	return NULL;
}

/* ---- ticker: power states and timers ---------------------------------- */

static void
refresh_power(struct service *sv, const struct bkent *bk)
{
	struct bk_power *v = NULL;
	size_t n = 0, cap = 0;
	struct err err;

	if (bk->be_ops->power == NULL)
		return;
	(void)pthread_mutex_lock(&sv->sv_mu);
	for (size_t i = 0; i < sv->sv_n; i++)
		if (sv->sv_v[i]->in_bk == bk &&
		    sv->sv_v[i]->in_rec.r_state == ST_RUNNING)
			cap++;
	if (cap > 0)
		v = calloc(cap, sizeof(*v));
	for (size_t i = 0; v != NULL && i < sv->sv_n && n < cap; i++) {
		struct inst *in = sv->sv_v[i];
		char dir[PATH_BUF], vmx[PATH_BUF];

		if (in->in_bk != bk || in->in_rec.r_state != ST_RUNNING)
			continue;
		if (store_bundle_dir(&sv->sv_store, in->in_rec.r_id, dir,
			sizeof(dir)) == -1 ||
		    store_vmx_path(
			&sv->sv_store, in->in_rec.r_id, vmx, sizeof(vmx)) == -1)
			continue;
		v[n].bp_id = strdup(in->in_rec.r_id);
		v[n].bp_dir = strdup(dir);
		v[n].bp_vmx = strdup(vmx);
		v[n].bp_state = POWER_UNKNOWN;
		if (v[n].bp_id == NULL || v[n].bp_dir == NULL ||
		    v[n].bp_vmx == NULL) {
			n++;
			break;
		}
		n++;
	}
	(void)pthread_mutex_unlock(&sv->sv_mu);
	if (n == 0 || v[n - 1].bp_vmx == NULL)
		goto out;
	err_clear(&err);
	if (bk->be_ops->power(bk->be_ctx, v, n,
		mono_ms() + sv->sv_conf.sc_op_timeout_ms, &err) == -1) {
		log_warnx("%s: power-state refresh failed: %s",
		    bk->be_ops->name, err.msg);
		for (size_t i = 0; i < n; i++)
			v[i].bp_state = POWER_UNKNOWN;
	}
	(void)pthread_mutex_lock(&sv->sv_mu);
	for (size_t i = 0; i < n; i++) {
		struct inst *in = index_get(sv, v[i].bp_id);

		/* Busy instances change under the worker; skip them. */
		if (in == NULL || in->in_busy ||
		    in->in_rec.r_state != ST_RUNNING)
			continue;
		if (in->in_power != v[i].bp_state &&
		    v[i].bp_state != POWER_UNKNOWN)
			log_info("instance %s: power %s -> %s", v[i].bp_id,
			    power_state_name(in->in_power),
			    power_state_name(v[i].bp_state));
		in->in_power = v[i].bp_state;
	}
	(void)pthread_mutex_unlock(&sv->sv_mu);
out:
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].bp_id);
		free((char *)v[i].bp_dir);
		free((char *)v[i].bp_vmx);
	}
	free(v);
}

static void *
ticker_main(void *arg)
{
	struct service *sv = arg;

	for (;;) {
		struct timespec ts;
		int64_t now;

		for (size_t b = 0; b < sv->sv_nbk; b++) {
			if (stopping(sv))
				return NULL;
			refresh_power(sv, &sv->sv_bk[b]);
		}
		(void)pthread_mutex_lock(&sv->sv_mu);
		now = mono_ms();
		for (size_t i = 0; i < sv->sv_n; i++) {
			struct inst *in = sv->sv_v[i];

			if (in->in_not_before != 0 &&
			    in->in_not_before <= now) {
				in->in_not_before = 0;
				enqueue(sv, in);
			}
		}
		if (sv->sv_stopping) {
			(void)pthread_mutex_unlock(&sv->sv_mu);
			return NULL;
		}
		cond_deadline(&ts, sv->sv_conf.sc_poll_ms);
		(void)pthread_cond_timedwait(&sv->sv_tick_cv, &sv->sv_mu, &ts);
		(void)pthread_mutex_unlock(&sv->sv_mu);
	}
}

/* ---- open / close ----------------------------------------------------- */

static int
load_one(void *arg, struct record *r)
{
	struct service *sv = arg;
	const struct bkent *bk = NULL;
	struct inst *in;

	for (size_t i = 0; i < sv->sv_nbk; i++)
		if (strcmp(sv->sv_bk[i].be_ops->name, r->r_backend) == 0)
			bk = &sv->sv_bk[i];
	if (bk == NULL) {
		/* Kept on disk, untouched, for a plugin with that backend. */
		log_warnx("instance %s belongs to backend \"%s\", which is not "
			  "running here; leaving it alone",
		    r->r_id, r->r_backend);
		record_free(r);
		free(r);
		return 0;
	}
	in = inst_new();
	if (in == NULL) {
		record_free(r);
		free(r);
		return -1;
	}
	in->in_rec = *r;
	free(r);
	in->in_bk = bk;
	in->in_power = POWER_UNKNOWN;
	inst_rehash(in);
	if (index_insert(sv, in) == -1) {
		inst_unref(in);
		return -1;
	}
	switch (in->in_rec.r_state) {
	case ST_PROVISIONING:
		log_info(
		    "instance %s: resuming its provision", in->in_rec.r_id);
		enqueue(sv, in);
		break;
	case ST_DESTROYING:
		log_info("instance %s: finishing its destroy", in->in_rec.r_id);
		enqueue(sv, in);
		break;
	case ST_FAILED:
		enqueue(sv, in); /* finishes an interrupted rollback */
		break;
	case ST_RUNNING:
		in->in_need_ip =
		    bk->be_ops->guest_ip != NULL && in->in_rec.r_ip == NULL;
		break;
	}
	return 0;
}

struct service *
service_open(const struct service_conf *conf, struct err *err)
{
	struct service *sv;
	char path[PATH_BUF];
	uint64_t max_id = 0;
	long n;
	int64_t t0 = mono_ms();

	sv = calloc(1, sizeof(*sv));
	if (sv == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	sv->sv_store.st_lockfd = -1;
	sv->sv_conf = *conf;
	sv->sv_svc.ops = &service_ops;
	sv->sv_svc.ctx = sv;
	sv->sv_nbk = conf->sc_n_backends;
	sv->sv_bk = calloc(sv->sv_nbk, sizeof(*sv->sv_bk));
	if (sv->sv_bk == NULL || sv->sv_nbk == 0) {
		free(sv->sv_bk);
		free(sv);
		err_set(err, EIK_INTERNAL, "no backend");
		return NULL;
	}
	memcpy(sv->sv_bk, conf->sc_backends, sv->sv_nbk * sizeof(*sv->sv_bk));
	(void)pthread_mutex_init(&sv->sv_mu, NULL);
	(void)pthread_cond_init(&sv->sv_cv, NULL);
	cond_init_mono(&sv->sv_mat_cv);
	cond_init_mono(&sv->sv_ckpt_cv);
	cond_init_mono(&sv->sv_tick_cv);
	if (sv->sv_conf.sc_max_parallel == 0)
		sv->sv_conf.sc_max_parallel = MAX_PARALLEL_DEFAULT;
	if (sv->sv_conf.sc_poll_ms < POLL_INTERVAL_MIN_MS)
		sv->sv_conf.sc_poll_ms = POLL_INTERVAL_MIN_MS;
	if (sv->sv_conf.sc_op_timeout_ms == 0)
		sv->sv_conf.sc_op_timeout_ms = OP_TIMEOUT_DEFAULT_MS;

	if (store_open(&sv->sv_store, conf->sc_vm_dir, err) == -1)
		goto fail;
	if (store_clean_staging(&sv->sv_store, err) == -1)
		log_warnx("%s", err->msg);
	if (path_join(path, sizeof(path), conf->sc_vm_dir, ".journal") == -1 ||
	    journal_replay(path, replay_one, sv, err) < 0 ||
	    journal_open(&sv->sv_journal, path, err) == -1 ||
	    journal_truncate(sv->sv_journal, 0, err) == -1)
		goto fail;
	n = store_load(&sv->sv_store, load_one, sv, &max_id, err);
	if (n < 0)
		goto fail;
	if (path_join(path, sizeof(path), conf->sc_vm_dir, ".idseq") == -1 ||
	    idgen_open(&sv->sv_ids, path, max_id, err) == -1)
		goto fail;
	sv->sv_ids_open = true;
	log_info("store %s: %ld instances loaded in %lld ms", conf->sc_vm_dir,
	    n, (long long)(mono_ms() - t0));

	sv->sv_workers =
	    calloc(sv->sv_conf.sc_max_parallel, sizeof(*sv->sv_workers));
	if (sv->sv_workers == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < sv->sv_conf.sc_max_parallel; i++) {
		if (pthread_create(&sv->sv_workers[i], NULL, worker_main, sv) !=
		    0) {
			err_set(
			    err, EIK_INTERNAL, "cannot start worker thread");
			goto fail;
		}
		sv->sv_nworkers++;
	}
	if (pthread_create(&sv->sv_ticker, NULL, ticker_main, sv) != 0) {
		err_set(err, EIK_INTERNAL, "cannot start ticker thread");
		goto fail;
	}
	sv->sv_ticker_started = true;
	if (pthread_create(&sv->sv_mat, NULL, materializer_main, sv) != 0) {
		err_set(err, EIK_INTERNAL, "cannot start the journal thread");
		goto fail;
	}
	sv->sv_mat_started = true;
	return sv;
fail:
	service_close(sv);
	return NULL;
}

const struct svc *
service_svc(struct service *sv)
{
	return &sv->sv_svc;
}

void
service_stats(struct service *sv, struct service_stats *out)
{
	(void)pthread_mutex_lock(&sv->sv_mu);
	out->ss_instances = sv->sv_n;
	out->ss_busy = sv->sv_nbusy;
	out->ss_queued = sv->sv_qlen;
	(void)pthread_mutex_unlock(&sv->sv_mu);
}

void
service_close(struct service *sv)
{
	if (sv == NULL)
		return;
	(void)pthread_mutex_lock(&sv->sv_mu);
	sv->sv_stopping = true;
	(void)pthread_cond_broadcast(&sv->sv_cv);
	(void)pthread_cond_broadcast(&sv->sv_tick_cv);
	(void)pthread_cond_broadcast(&sv->sv_mat_cv);
	(void)pthread_cond_broadcast(&sv->sv_ckpt_cv);
	(void)pthread_mutex_unlock(&sv->sv_mu);
	/* Child processes in flight are killed; their steps park. */
	proc_cancel_all();
	if (sv->sv_ticker_started)
		(void)pthread_join(sv->sv_ticker, NULL);
	if (sv->sv_mat_started)
		(void)pthread_join(sv->sv_mat, NULL);
	/* Records still only in the journal are replayed at the next start. */
	while (sv->sv_mqlen > 0)
		inst_unref(sv->sv_mq[--sv->sv_mqlen]);
	free(sv->sv_mq);
	journal_close(sv->sv_journal);
	for (size_t i = 0; i < sv->sv_nworkers; i++)
		(void)pthread_join(sv->sv_workers[i], NULL);
	free(sv->sv_workers);
	while (sv->sv_qlen > 0)
		inst_unref(dequeue(sv));
	free(sv->sv_q);
	for (size_t i = 0; i < sv->sv_n; i++)
		inst_unref(sv->sv_v[i]);
	free(sv->sv_v);
	if (sv->sv_ids_open)
		idgen_close(&sv->sv_ids);
	store_close(&sv->sv_store);
	(void)pthread_mutex_destroy(&sv->sv_mu);
	(void)pthread_cond_destroy(&sv->sv_cv);
	(void)pthread_cond_destroy(&sv->sv_tick_cv);
	(void)pthread_cond_destroy(&sv->sv_mat_cv);
	(void)pthread_cond_destroy(&sv->sv_ckpt_cv);
	free(sv->sv_bk);
	free(sv);
}
