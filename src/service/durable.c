/*
 * Durability: the journal writer and record writer threads, and the
 * owner's side of them.
 *
 * Every change goes into the open batch as a journal entry holding the
 * whole record. When the journal writer is idle, the owner hands it the
 * batch: one append, one flush, however many entries (group commit; while
 * it flushes, the next batch gathers). When the batch comes back, user
 * changes are applied and answered, or refused with the error. Durable
 * records are then written as instance.json by the record writer, lazily;
 * once instance.json files hold everything the journal holds, the journal
 * is emptied (the ID high-water mark saved first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "util/compat.h"
#include "util/fsutil.h"
#include "util/defaults.h"
#include "util/log.h"

/* ---- the journal writer ------------------------------------------------ */

static void
jw_append(struct service *sv, struct jbatch *b)
{
	struct journal_entry *je;

	err_clear(&b->jb_err);
	je = calloc(b->jb_n > 0 ? b->jb_n : 1, sizeof(*je));
	if (je == NULL) {
		err_set(&b->jb_err, EIK_INTERNAL, "out of memory");
		b->jb_rc = -1;
		return;
	}
	for (size_t i = 0; i < b->jb_n; i++) {
		je[i].je_key = b->jb_v[i].je_key;
		je[i].je_data = b->jb_v[i].je_text;
		je[i].je_len = strlen(b->jb_v[i].je_text);
		je[i].je_reserve = b->jb_v[i].je_reserve;
	}
	/* The audit lines of destroys go first: none is acknowledged, or
	 * happens, without its line (service/audit.c). */
	audit_write(sv, b, JA_BEFORE);
	b->jb_rc = b->jb_n > 0 &&
		journal_append(sv->sv_journal, je, b->jb_n, &b->jb_err) < 0
	    ? -1
	    : 0;
	for (size_t i = 0; i < b->jb_n; i++)
		b->jb_v[i].je_ok = je[i].je_ok;
	free(je);
	audit_write(sv, b, JA_IF_OK);
}

/* A new epoch with only what is still needed (b's entries), the ID
 * high-water mark saved first. */
static void
jw_compact(struct service *sv, struct jbatch *b)
{
	struct journal_entry *je;

	err_clear(&b->jb_err);
	b->jb_rc = -1;
	je = calloc(b->jb_n > 0 ? b->jb_n : 1, sizeof(*je));
	if (je == NULL) {
		err_set(&b->jb_err, EIK_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < b->jb_n; i++) {
		je[i].je_key = b->jb_v[i].je_key;
		je[i].je_data = b->jb_v[i].je_text;
		je[i].je_len = strlen(b->jb_v[i].je_text);
	}
	if (idgen_write_mark(&sv->sv_ids, b->jb_mark, &b->jb_err) == 0 &&
	    journal_compact(sv->sv_journal, je, b->jb_n, &b->jb_err) == 0)
		b->jb_rc = 0;
	free(je);
}

void *
journal_main(void *arg)
{
	struct service *sv = arg;
	struct msg *m, *next;

	while ((m = mbox_wait(&sv->sv_jq, -1)) != NULL) {
		for (; m != NULL; m = next) {
			struct jbatch *b = (struct jbatch *)m;

			next = m->m_next;
			if (b->jb_om.om_kind == OM_JBATCH)
				jw_append(sv, b);
			else
				jw_compact(sv, b);
			b->jb_used = journal_used(sv->sv_journal);
			if (mbox_post(&sv->sv_results, &b->jb_om.om_msg) == -1)
				abort(); /* the results box is never closed */
		}
	}
	return NULL;
}

/* ---- the record writer ------------------------------------------------- */

static void
rw_write(struct service *sv, struct smsg *m)
{
	unsigned flags = 0;
	bool all = true;

#if defined(__linux__)
	/* Written unflushed, then one syncfs for the batch: one flush
	 * instead of three per record. */
	flags = ATOMIC_NOSYNC;
#endif
	for (size_t i = 0; i < m->sm_n; i++) {
		struct sitem *it = &m->sm_v[i];

		it->si_ok = store_write_text(&sv->sv_store, it->si_id,
				it->si_text, flags, &m->sm_err) == 0;
		all = all && it->si_ok;
	}
	if (flags != 0 && m->sm_n > 0 &&
	    sync_filesystem(sv->sv_conf.sc_vm_dir, &m->sm_err) == -1)
		for (size_t i = 0; i < m->sm_n; i++)
			m->sm_v[i].si_ok = false;
	(void)all;
}

void *
recwriter_main(void *arg)
{
	struct service *sv = arg;
	struct msg *mm, *next;

	while ((mm = mbox_wait(&sv->sv_sq, -1)) != NULL) {
		for (; mm != NULL; mm = next) {
			struct smsg *m = (struct smsg *)mm;

			next = mm->m_next;
			err_clear(&m->sm_err);
			if (m->sm_op == SOP_WRITE)
				rw_write(sv, m);
			else
				for (size_t i = 0; i < m->sm_n; i++)
					m->sm_v[i].si_ok =
					    store_remove(&sv->sv_store,
						m->sm_v[i].si_id,
						&m->sm_err) == 0;
			if (mbox_post(&sv->sv_results, &m->sm_om.om_msg) == -1)
				abort();
		}
	}
	return NULL;
}

/* ---- the owner's side: gathering --------------------------------------- */

struct jbatch *
durable_batch(struct service *sv)
{
	struct jbatch *b = sv->sv_open;

	if (b == NULL) {
		b = sv->sv_open = calloc(1, sizeof(*b));
		if (b == NULL)
			return NULL;
		b->jb_om.om_kind = OM_JBATCH;
	}
	return b;
}

bool
durable_pending(const struct service *sv)
{
	return sv->sv_open != NULL &&
	    (sv->sv_open->jb_n > 0 || sv->sv_open->jb_naudit > 0);
}

static struct jent *
batch_add(struct service *sv)
{
	struct jbatch *b = durable_batch(sv);

	if (b == NULL)
		return NULL;
	if (b->jb_n == b->jb_cap) {
		size_t cap = b->jb_cap == 0 ? 16 : b->jb_cap * 2;
		struct jent *nv = realloc(b->jb_v, cap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		b->jb_v = nv;
		b->jb_cap = cap;
	}
	memset(&b->jb_v[b->jb_n], 0, sizeof(b->jb_v[0]));
	return &b->jb_v[b->jb_n++];
}

void
durable_batch_free(struct jbatch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->jb_n; i++)
		free(b->jb_v[i].je_text);
	free(b->jb_v);
	free(b->jb_audit);
	free(b);
}

/* Queues an entry of text (taken). 0, or -1 out of memory (text freed). */
static int
add_entry(struct service *sv, char *text, struct inst *in, struct change *ch,
    uint64_t seq, bool reserve, bool tomb)
{
	struct jent *e;

	if (text == NULL || (e = batch_add(sv)) == NULL) {
		free(text);
		return -1;
	}
	e->je_text = text;
	/* The key lets a start-up find each instance's newest entry without
	 * parsing the others. */
	(void)snprintf(e->je_key, sizeof(e->je_key), "%s,%llu,%c",
	    in->in_rec.r_id[0] != '\0' ? in->in_rec.r_id : ch->ch_rec.r_id,
	    (unsigned long long)seq, tomb ? 'T' : 'R');
	e->je_inst = in;
	e->je_change = ch;
	e->je_seq = seq;
	e->je_reserve = reserve;
	e->je_tomb = tomb;
	return 0;
}

void
durable_note(struct service *sv, struct inst *in)
{
	req_changed(sv);
	in->in_rec.r_seq++;
	in->in_rec.r_updated_ms = wall_ms();
	in->in_jdirty = false;
	if (add_entry(sv, record_to_text(&in->in_rec), in, NULL,
		in->in_rec.r_seq, true, false) == -1) {
		/* Tried again by the timer. */
		in->in_jdirty = true;
		work_timer(sv, in, mono_ms() + RESET_RETRY_MS);
	}
}

int
durable_propose(
    struct service *sv, struct change *ch, bool reserve, struct err *err)
{
	ch->ch_rec.r_seq = ch->ch_inst->in_rec.r_seq + 1;
	ch->ch_rec.r_updated_ms = wall_ms();
	if (add_entry(sv, record_to_text(&ch->ch_rec), ch->ch_inst, ch,
		ch->ch_rec.r_seq, reserve, false) == -1) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	ch->ch_inst->in_change = ch;
	return 0;
}

void
durable_tomb(struct service *sv, struct inst *in)
{
	struct record t;

	memset(&t, 0, sizeof(t));
	(void)strlcpy(t.r_id, in->in_rec.r_id, sizeof(t.r_id));
	t.r_seq = ++in->in_rec.r_seq;
	t.r_removed = true;
	in->in_tomb = true;
	if (add_entry(sv, record_to_text(&t), in, NULL, t.r_seq, true, true) ==
	    -1) {
		in->in_tomb = false;
		work_timer(sv, in, mono_ms() + RESET_RETRY_MS);
		return;
	}
	audit_destroyed(sv, in);
}

void
change_free(struct change *ch)
{
	if (ch == NULL)
		return;
	record_free(&ch->ch_rec);
	free(ch->ch_text);
	free(ch);
}

/* ---- the owner's side: outcomes ---------------------------------------- */

/* in's durable seq moved to seq; text is the entry (taken). */
static void
now_durable(struct service *sv, struct inst *in, uint64_t seq, char *text)
{
	if (seq <= in->in_durable_seq) {
		free(text);
		return;
	}
	in->in_durable_seq = seq;
	free(in->in_text);
	in->in_text = text;
	if (!in->in_counted) {
		in->in_counted = true;
		sv->sv_unmat++;
	}
	durable_dirty(sv, in);
}

static void
answer_all(struct svc_req *w, int rc, const struct err *err)
{
	while (w != NULL) {
		struct svc_req *next = (struct svc_req *)w->sr_msg.m_next;

		svc_req_answer(w, rc, err);
		w = next;
	}
}

static void
change_done(struct service *sv, struct jent *e, const struct err *err)
{
	struct change *ch = e->je_change;
	struct inst *in = ch->ch_inst;
	struct err why;

	if (ch->ch_op == SVC_PROVISION)
		att_pending_done(sv, in);
	in->in_change = NULL;
	if (!e->je_ok) {
		err_clear(&why);
		err_set(&why, err->code != EIK_OK ? err->code : EIK_IO,
		    "cannot record %s%s: %s",
		    ch->ch_op == SVC_PROVISION	   ? "the new instance"
			: ch->ch_op == SVC_DESTROY ? "the destroy of "
						   : "the labels of ",
		    ch->ch_op == SVC_PROVISION ? "" : in->in_rec.r_id,
		    err->msg[0] != '\0' ? err->msg : "write failed");
		log_error("%s", why.msg);
		answer_all(ch->ch_waiters, -1, &why);
		ch->ch_waiters = NULL;
		if (ch->ch_op == SVC_PROVISION)
			inst_free(in);
		else
			req_resolved(sv, in);
		change_free(ch);
		return;
	}
	req_changed(sv);
	record_free(&in->in_rec);
	in->in_rec = ch->ch_rec;
	memset(&ch->ch_rec, 0, sizeof(ch->ch_rec));
	inst_rehash(in);
	now_durable(sv, in, e->je_seq, e->je_text);
	e->je_text = NULL;
	if (ch->ch_op == SVC_PROVISION) {
		if (index_insert(sv, in) == -1)
			log_error("instance %s: cannot index it (out of "
				  "memory); it is recorded and returns at the "
				  "next start",
			    in->in_rec.r_id);
		in->in_reqno = ch->ch_reqno;
		log_ctx_set(in->in_reqno, in->in_rec.r_id, NULL, NULL);
		log_info("instance %s: provisioning from %s (%s)",
		    in->in_rec.r_id, in->in_rec.r_template,
		    in->in_bk->be_ops->name);
	} else if (ch->ch_op == SVC_DESTROY) {
		in->in_reqno = ch->ch_reqno;
		if (in->in_from == NULL)
			in->in_from = malloc(sizeof(*in->in_from));
		if (in->in_from != NULL) /* else the audit line says "" */
			*in->in_from = ch->ch_from;
		log_info("instance %s: destroying (%s)", in->in_rec.r_id,
		    in->in_rec.r_reason != NULL ? in->in_rec.r_reason : "");
		if (in->in_power_req != NULL)
			req_drop_power(sv);
		in->in_retries = 0;
		in->in_not_before = 0;
	} else
		log_info("instance %s: labelled", in->in_rec.r_id);
	for (struct svc_req *w = ch->ch_waiters; w != NULL;
	     w = (struct svc_req *)w->sr_msg.m_next)
		if (ch->ch_op == SVC_PROVISION)
			(void)strlcpy(w->sr_out_id, in->in_rec.r_id,
			    sizeof(w->sr_out_id));
	answer_all(ch->ch_waiters, 0, NULL);
	ch->ch_waiters = NULL;
	change_free(ch);
	if (in->in_indexed)
		work_kick(sv, in);
	req_resolved(sv, in);
}

static void
grave_add(struct service *sv, struct inst *in)
{
	if (sv->sv_ngraves == sv->sv_capgraves) {
		size_t cap = sv->sv_capgraves == 0 ? 16 : sv->sv_capgraves * 2;
		struct inst **nv = realloc(sv->sv_graves, cap * sizeof(*nv));

		if (nv == NULL) {
			/* Removed at the next start instead (the tombstone is
			 * durable). */
			if (in->in_counted)
				sv->sv_unmat--;
			inst_free(in);
			return;
		}
		sv->sv_graves = nv;
		sv->sv_capgraves = cap;
	}
	in->in_grave = true;
	sv->sv_graves[sv->sv_ngraves++] = in;
}

static void
tomb_done(struct service *sv, struct jent *e)
{
	struct inst *in = e->je_inst;

	if (!e->je_ok) {
		/* Tried again by the timer. */
		in->in_tomb = false;
		work_timer(sv, in, mono_ms() + RESET_RETRY_MS);
		return;
	}
	log_info("instance %s: destroyed", in->in_rec.r_id);
	req_changed(sv);
	index_remove(sv, in);
	/* It stays counted as unwritten until its directory is gone: the
	 * journal must keep the tombstone until then. */
	if (!in->in_counted) {
		in->in_counted = true;
		sv->sv_unmat++;
	}
	grave_add(sv, in);
}

void
durable_on_batch(struct service *sv, struct jbatch *b)
{
	sv->sv_jbusy = false;
	sv->sv_jused = b->jb_used;
	if (b->jb_rc == -1 || b->jb_err.code != EIK_OK)
		log_error("journal: %s", b->jb_err.msg);
	for (size_t i = 0; i < b->jb_n; i++) {
		struct jent *e = &b->jb_v[i];

		log_ctx_set(e->je_change != NULL ? e->je_change->ch_reqno
						 : e->je_inst->in_reqno,
		    e->je_inst->in_rec.r_id[0] != '\0' ? e->je_inst->in_rec.r_id
						       : NULL,
		    NULL, NULL);
		if (e->je_change != NULL)
			change_done(sv, e, &b->jb_err);
		else if (e->je_tomb)
			tomb_done(sv, e);
		else if (e->je_ok) {
			now_durable(sv, e->je_inst, e->je_seq, e->je_text);
			e->je_text = NULL;
			if (e->je_inst->in_indexed)
				work_kick(sv, e->je_inst);
		} else {
			e->je_inst->in_jdirty = true;
			work_timer(sv, e->je_inst, mono_ms() + RESET_RETRY_MS);
		}
	}
	log_ctx_clear();
	durable_batch_free(b);
}

void
durable_on_reset(struct service *sv, struct jbatch *b)
{
	sv->sv_jbusy = false;
	if (b->jb_rc == 0) {
		sv->sv_ids.ig_saved = b->jb_mark;
		sv->sv_jused = b->jb_used;
		sv->sv_jcarry = b->jb_used;
		log_debug("journal started over, %zu entries carried (%zu "
			  "bytes)",
		    b->jb_n, b->jb_used);
	} else {
		log_error("journal: cannot empty it: %s", b->jb_err.msg);
		sv->sv_reset_not_before = mono_ms() + RESET_RETRY_MS;
	}
	durable_batch_free(b);
}

/* ---- the owner's side: records ---------------------------------------- */

void
durable_dirty(struct service *sv, struct inst *in)
{
	if (in->in_mat_listed || in->in_mat_busy || in->in_text == NULL)
		return;
	if (sv->sv_nmat == sv->sv_capmat) {
		size_t cap = sv->sv_capmat == 0 ? 64 : sv->sv_capmat * 2;
		struct inst **nv = realloc(sv->sv_mat, cap * sizeof(*nv));

		if (nv == NULL)
			return; /* the journal keeps it; a restart writes it */
		sv->sv_mat = nv;
		sv->sv_capmat = cap;
	}
	in->in_mat_listed = true;
	sv->sv_mat[sv->sv_nmat++] = in;
}

static struct smsg *
smsg_new(enum sop op, size_t n)
{
	struct smsg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->sm_om.om_kind = OM_STORE;
	m->sm_op = op;
	m->sm_v = calloc(n > 0 ? n : 1, sizeof(*m->sm_v));
	if (m->sm_v == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

static void
smsg_free(struct smsg *m)
{
	for (size_t i = 0; i < m->sm_n; i++)
		free(m->sm_v[i].si_text);
	free(m->sm_v);
	free(m);
}

static void
pump_records(struct service *sv)
{
	size_t n = sv->sv_nmat < MAT_BATCH ? sv->sv_nmat : MAT_BATCH;
	struct smsg *m;

	if (n == 0 || sv->sv_sbusy || mono_ms() < sv->sv_mat_not_before ||
	    (m = smsg_new(SOP_WRITE, n)) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct inst *in = sv->sv_mat[sv->sv_nmat - n + i];
		struct sitem *it = &m->sm_v[m->sm_n];

		in->in_mat_listed = false;
		if (in->in_grave) {
			/* Its tombstone is durable and its directory goes
			 * next: writing the record would only take space
			 * that the removal is about to free (a full disk). */
			free(in->in_text);
			in->in_text = NULL;
		}
		if (in->in_text == NULL)
			continue;
		it->si_inst = in;
		(void)strlcpy(it->si_id, in->in_rec.r_id, sizeof(it->si_id));
		it->si_text = in->in_text;
		it->si_seq = in->in_durable_seq;
		in->in_text = NULL;
		in->in_mat_busy = true;
		m->sm_n++;
	}
	sv->sv_nmat -= n;
	if (m->sm_n == 0) {
		smsg_free(m);
		return;
	}
	sv->sv_sbusy = true;
	(void)mbox_post(&sv->sv_sq, &m->sm_om.om_msg);
}

static void
pump_graves(struct service *sv)
{
	struct smsg *m;

	size_t keep = 0;

	if (sv->sv_ngraves == 0 || sv->sv_sbusy ||
	    mono_ms() < sv->sv_graves_not_before ||
	    (m = smsg_new(SOP_REMOVE, sv->sv_ngraves)) == NULL)
		return;
	for (size_t i = 0; i < sv->sv_ngraves; i++) {
		struct inst *in = sv->sv_graves[i];

		/* Still in the records' list (pump_records drops its text
		 * when it gets there): removed, and freed, after that. */
		if (in->in_mat_listed || in->in_mat_busy) {
			sv->sv_graves[keep++] = in;
			continue;
		}
		m->sm_v[m->sm_n].si_inst = in;
		(void)strlcpy(m->sm_v[m->sm_n].si_id, in->in_rec.r_id,
		    sizeof(m->sm_v[m->sm_n].si_id));
		m->sm_n++;
	}
	sv->sv_ngraves = keep;
	if (m->sm_n == 0) {
		smsg_free(m);
		return;
	}
	sv->sv_sbusy = true;
	(void)mbox_post(&sv->sv_sq, &m->sm_om.om_msg);
}

static void
mat_done(struct service *sv, struct sitem *it, const struct err *err)
{
	struct inst *in = it->si_inst;

	in->in_mat_busy = false;
	if (!it->si_ok) {
		log_error("instance %s: %s (the journal keeps it)", it->si_id,
		    err->msg);
		if (in->in_text == NULL) {
			in->in_text = it->si_text;
			it->si_text = NULL;
		}
		durable_dirty(sv, in);
		return;
	}
	if (it->si_seq > in->in_mat_seq)
		in->in_mat_seq = it->si_seq;
	/* A grave stays counted until its directory is gone (its tombstone
	 * must outlive the file). */
	if (in->in_counted && in->in_mat_seq >= in->in_durable_seq &&
	    !in->in_grave) {
		in->in_counted = false;
		sv->sv_unmat--;
	}
	durable_dirty(sv, in); /* a newer text may be waiting */
}

void
durable_on_store(struct service *sv, struct smsg *m)
{
	bool failed = false;

	sv->sv_sbusy = false;
	for (size_t i = 0; i < m->sm_n; i++) {
		struct sitem *it = &m->sm_v[i];

		failed = failed || !it->si_ok;
		if (m->sm_op == SOP_WRITE) {
			mat_done(sv, it, &m->sm_err);
			continue;
		}
		if (!it->si_ok) {
			log_error("instance %s: cannot remove its files: %s",
			    it->si_id, m->sm_err.msg);
			grave_add(sv, it->si_inst);
			continue;
		}
		if (it->si_inst->in_counted)
			sv->sv_unmat--;
		inst_free(it->si_inst);
	}
	if (failed) {
		int64_t d = (int64_t)MAT_RETRY_MIN_MS
		    << (sv->sv_mat_failures < 6 ? sv->sv_mat_failures : 6);

		if (d > MAT_RETRY_MAX_MS)
			d = MAT_RETRY_MAX_MS;
		sv->sv_mat_failures++;
		sv->sv_mat_not_before = mono_ms() + d;
		sv->sv_graves_not_before = sv->sv_mat_not_before;
	} else
		sv->sv_mat_failures = 0;
	smsg_free(m);
}

/* ---- the pump ---------------------------------------------------------- */

/* One carried entry: text (taken), keyed like the original. */
static int
carry(struct jbatch *b, const char *id, uint64_t seq, bool tomb, char *text)
{
	struct jent *nv;

	if (text == NULL)
		return -1;
	if (b->jb_n == b->jb_cap) {
		size_t cap = b->jb_cap == 0 ? 16 : b->jb_cap * 2;

		nv = realloc(b->jb_v, cap * sizeof(*nv));
		if (nv == NULL) {
			free(text);
			return -1;
		}
		b->jb_v = nv;
		b->jb_cap = cap;
	}
	nv = &b->jb_v[b->jb_n++];
	memset(nv, 0, sizeof(*nv));
	nv->je_text = text;
	(void)snprintf(nv->je_key, sizeof(nv->je_key), "%s,%llu,%c", id,
	    (unsigned long long)seq, tomb ? 'T' : 'R');
	return 0;
}

/*
 * The compaction batch: every durable record instance.json does not hold
 * yet, and every tombstone whose directory is still to go. Built only while
 * neither writer has work, so nothing is in between.
 */
static struct jbatch *
compaction(struct service *sv)
{
	struct jbatch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->jb_om.om_kind = OM_JRESET;
	b->jb_mark = sv->sv_ids.ig_last;
	for (size_t i = 0; i < sv->sv_n; i++) {
		struct inst *in = sv->sv_v[i];

		if (!in->in_counted || in->in_text == NULL)
			continue;
		if (carry(b, in->in_rec.r_id, in->in_durable_seq, false,
			strdup(in->in_text)) == -1)
			goto fail;
	}
	for (size_t i = 0; i < sv->sv_ngraves; i++) {
		struct record t;
		struct inst *in = sv->sv_graves[i];

		memset(&t, 0, sizeof(t));
		(void)strlcpy(t.r_id, in->in_rec.r_id, sizeof(t.r_id));
		t.r_seq = in->in_rec.r_seq;
		t.r_removed = true;
		if (carry(b, t.r_id, t.r_seq, true, record_to_text(&t)) == -1)
			goto fail;
	}
	return b;
fail:
	durable_batch_free(b);
	return NULL;
}

void
durable_pump(struct service *sv)
{
	size_t big = sv->sv_jcarry * 2 > JOURNAL_RESET_AT ? sv->sv_jcarry * 2
							  : JOURNAL_RESET_AT;

	/*
	 * The journal starts over when instance.json files hold everything
	 * (nothing to carry), or when it passed JOURNAL_RESET_AT under
	 * steady load: then what is still needed is carried into the new
	 * epoch. Entries still gathering go after it (the writer takes the
	 * compaction first). Both writers must be idle.
	 */
	if (!sv->sv_jbusy && !sv->sv_sbusy && sv->sv_jused > 0 &&
	    (sv->sv_unmat == 0 || sv->sv_jused > big) &&
	    mono_ms() >= sv->sv_reset_not_before) {
		struct jbatch *r = compaction(sv);

		if (r != NULL) {
			sv->sv_jbusy = true;
			(void)mbox_post(&sv->sv_jq, &r->jb_om.om_msg);
		}
	}
	if (!sv->sv_jbusy && durable_pending(sv)) {
		struct jbatch *b = sv->sv_open;

		sv->sv_open = NULL;
		sv->sv_jbusy = true;
		(void)mbox_post(&sv->sv_jq, &b->jb_om.om_msg);
	}
	pump_records(sv);
	pump_graves(sv);
}

bool
durable_idle(const struct service *sv)
{
	return !sv->sv_jbusy && !sv->sv_sbusy && !durable_pending(sv);
}
