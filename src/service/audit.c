/*
 * The audit log of destroys (store/audit.h), the service's side. The owner
 * notes each line into the open journal batch; the journal writer appends
 * them to <vm-dir>/audit.log with one flush, around the batch's journal
 * entries:
 *
 *   before the entries: "requested" (a Destroy of a live instance: so
 *   its line is durable before the destroy is, and before it is
 *   acknowledged), and the lines that wait for nothing ("joined",
 *   "already-destroying", "gone", "failed");
 *   after them: "refused" when a requested destroy's entry could not be
 *   written (the client is told so), "destroyed" once a tombstone is.
 *
 * An append that fails is logged with the lines' text (so they are kept in
 * the daemon's log) and counted; the destroy goes on: on a full disk,
 * destroying is what frees space.
 */
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "util/compat.h"
#include "util/log.h"

/* A new line in the open batch; NULL when out of memory (then the line
 * goes to the daemon's log only). */
static struct jaudit *
note(
    struct service *sv, enum audit_outcome o, const char *id, enum ja_when when)
{
	struct jbatch *b = durable_batch(sv);
	struct jaudit *a;

	if (b == NULL)
		goto oom;
	if (b->jb_naudit == b->jb_capaudit) {
		size_t cap = b->jb_capaudit == 0 ? 8 : 2 * b->jb_capaudit;
		struct jaudit *nv = realloc(b->jb_audit, cap * sizeof(*nv));

		if (nv == NULL)
			goto oom;
		b->jb_audit = nv;
		b->jb_capaudit = cap;
	}
	a = &b->jb_audit[b->jb_naudit++];
	memset(a, 0, sizeof(*a));
	a->ja_when = when;
	a->ja_entry = b->jb_n > 0 ? b->jb_n - 1 : 0;
	a->ja_rec.ar_time_ms = wall_ms();
	a->ja_rec.ar_outcome = o;
	(void)strlcpy(a->ja_rec.ar_instance, id, sizeof(a->ja_rec.ar_instance));
	return a;
oom:
	log_error("audit: out of memory: not recorded: %s %s",
	    audit_outcome_name(o), id);
	return NULL;
}

static void
fill_inst(struct audit_rec *ar, const struct inst *in)
{
	if (in == NULL)
		return;
	(void)strlcpy(ar->ar_state,
	    in->in_rec.r_state == ST_RUNNING
		? power_state_name(in->in_power)
		: inst_state_name(in->in_rec.r_state),
	    sizeof(ar->ar_state));
}

void
audit_destroy(struct service *sv, const struct inst *in,
    const struct svc_req *r, enum audit_outcome o)
{
	struct jaudit *a = note(sv, o, r->sr_id, JA_BEFORE);

	if (a == NULL)
		return;
	fill_inst(&a->ja_rec, in);
	(void)strlcpy(
	    a->ja_rec.ar_reason, r->sr_reason, sizeof(a->ja_rec.ar_reason));
	a->ja_rec.ar_reqno = r->sr_reqno;
	a->ja_rec.ar_from = r->sr_from;
	if (o != AUDIT_REQUESTED)
		return;
	/* And the refusal, should its entry not be written. */
	if ((a = note(sv, AUDIT_REFUSED, r->sr_id, JA_IF_FAILED)) == NULL)
		return;
	(void)strlcpy(
	    a->ja_rec.ar_reason, r->sr_reason, sizeof(a->ja_rec.ar_reason));
	a->ja_rec.ar_reqno = r->sr_reqno;
	a->ja_rec.ar_from = r->sr_from;
}

void
audit_destroy_failed(
    struct service *sv, const struct inst *in, const struct err *err)
{
	struct jaudit *a = note(sv, AUDIT_FAILED, in->in_rec.r_id, JA_BEFORE);

	if (a == NULL)
		return;
	if (in->in_rec.r_reason != NULL)
		(void)strlcpy(a->ja_rec.ar_reason, in->in_rec.r_reason,
		    sizeof(a->ja_rec.ar_reason));
	a->ja_rec.ar_reqno = in->in_reqno;
	if (in->in_from != NULL)
		a->ja_rec.ar_from = *in->in_from;
	a->ja_rec.ar_attempt = in->in_retries + 1;
	(void)strlcpy(a->ja_rec.ar_error, err->msg, sizeof(a->ja_rec.ar_error));
}

void
audit_destroyed(struct service *sv, const struct inst *in)
{
	struct jaudit *a = note(sv, AUDIT_DESTROYED, in->in_rec.r_id, JA_IF_OK);

	if (a == NULL)
		return;
	a->ja_rec.ar_reqno = in->in_reqno;
	if (in->in_rec.r_state == ST_DESTROYING) {
		if (in->in_from != NULL)
			a->ja_rec.ar_from = *in->in_from;
		if (in->in_rec.r_reason != NULL)
			(void)strlcpy(a->ja_rec.ar_reason, in->in_rec.r_reason,
			    sizeof(a->ja_rec.ar_reason));
		return;
	}
	/* The record of a failed provision, dropped beyond FAILED_KEEP. */
	a->ja_rec.ar_from.o_via = ORIGIN_DAEMON;
	(void)strlcpy(
	    a->ja_rec.ar_reason, "prune-failed", sizeof(a->ja_rec.ar_reason));
	fill_inst(&a->ja_rec, in);
}

/* ---- the journal writer ------------------------------------------------- */

static bool
due(const struct jbatch *b, const struct jaudit *a, enum ja_when when)
{
	if (when == JA_BEFORE)
		return a->ja_when == JA_BEFORE;
	if (a->ja_when == JA_BEFORE || a->ja_entry >= b->jb_n)
		return false;
	return b->jb_v[a->ja_entry].je_ok == (a->ja_when == JA_IF_OK);
}

void
audit_write(struct service *sv, struct jbatch *b, enum ja_when when)
{
	struct audit_rec *v;
	struct err err;
	size_t n = 0;

	if (b->jb_naudit == 0)
		return;
	if ((v = calloc(b->jb_naudit, sizeof(*v))) == NULL) {
		log_error("audit: out of memory: %zu lines not recorded",
		    b->jb_naudit);
		return;
	}
	for (size_t i = 0; i < b->jb_naudit; i++) {
		struct jaudit *a = &b->jb_audit[i];

		if (!due(b, a, when))
			continue;
		v[n] = a->ja_rec;
		if (a->ja_when == JA_IF_FAILED)
			(void)strlcpy(v[n].ar_error, b->jb_err.msg,
			    sizeof(v[n].ar_error));
		n++;
	}
	err_clear(&err);
	if (n > 0 && audit_log_append(&sv->sv_audit, v, n, &err) == -1)
		for (size_t i = 0; i < n; i++) {
			char *line = audit_line(&v[i]);

			log_error("audit: %s; not recorded there: %s", err.msg,
			    line != NULL ? line : v[i].ar_instance);
			free(line);
		}
	free(v);
}
