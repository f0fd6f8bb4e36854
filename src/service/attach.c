/*
 * Persistent disks of pets, the owner's side (model/attach.h for what
 * they are, store/attach.h for where they live).
 *
 * Which instance holds a disk is decided here, on the owner thread, and
 * nowhere else; it is never written down on its own: it follows from the
 * instances' records (and from the Provisions being journalled), so what
 * a crash leaves needs no repair: the next start reads the same answer
 * from the same records. An instance holds the disks its Spec names
 *   - "live" while its record is provisioning or running (whether its VM
 *     runs or not: a pet stopped behind our back keeps its disk), and
 *     while its Provision is being journalled;
 *   - "releasing" while it is being destroyed, or a failed one's rollback
 *     is unfinished: its VM may still have the disk open;
 *   - not at all once its destroy is done, or it failed and was rolled
 *     back.
 * A Provision naming a disk held live is refused, naming both. One held
 * by a releasing instance is taken, and its create waits until the disk
 * is let go (att_blocked, att_released): a replacement never starts
 * while the instance it replaces may still run. So no disk is ever in two
 * running VMs, and the check cannot race: one thread makes every change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "store/attach.h"
#include "util/compat.h"
#include "util/fsutil.h"
#include "util/log.h"

#define SPEC_FIELD "Spec.Attachments"

enum hold { HOLD_NONE = 0, HOLD_RELEASING, HOLD_LIVE };

/* The spec an instance is (or is about to be) made from. */
static const struct inst_spec *
spec_of(const struct inst *in)
{
	if (!in->in_indexed && in->in_change != NULL &&
	    in->in_change->ch_op == SVC_PROVISION)
		return &in->in_change->ch_rec.r_spec;
	return &in->in_rec.r_spec;
}

static const char *
id_of(const struct inst *in)
{
	return in->in_rec.r_id[0] != '\0' ? in->in_rec.r_id
					  : in->in_change->ch_rec.r_id;
}

static enum hold
hold_of(const struct inst *in)
{
	if (in->in_tomb || in->in_grave)
		return HOLD_NONE;
	if (!in->in_indexed)
		return in->in_change != NULL ? HOLD_LIVE : HOLD_NONE;
	switch (in->in_rec.r_state) {
	case ST_PROVISIONING:
	case ST_RUNNING:
		return HOLD_LIVE;
	case ST_DESTROYING:
		return HOLD_RELEASING;
	case ST_FAILED:
		return in->in_cleanup || in->in_job != NULL ? HOLD_RELEASING
							    : HOLD_NONE;
	}
	return HOLD_NONE;
}

/* The disks of in; a record whose Attachments are not usable names
 * none (a strict Provision never made one). */
static long
disks_of(const struct inst *in, struct att_name *out)
{
	const struct inst_spec *s = spec_of(in);

	if (s->s_n_att == 0)
		return 0;
	return attach_disks(s, SPEC_FIELD, out, ATTACH_MAX_DISKS, NULL);
}

static bool
names(const struct inst *in, const char *name)
{
	struct att_name d[ATTACH_MAX_DISKS];
	long n = disks_of(in, d);

	for (long i = 0; i < n; i++)
		if (strcmp(d[i].an_name, name) == 0)
			return true;
	return false;
}

/* The instance other than except that holds name most strongly (live
 * first), or NULL. */
static struct inst *
holder(const struct service *sv, const char *name, const struct inst *except,
    enum hold *how)
{
	struct inst *best = NULL;

	*how = HOLD_NONE;
	for (size_t k = 0; k < 2; k++) {
		struct inst **v = k == 0 ? sv->sv_v : sv->sv_pending;
		size_t n = k == 0 ? sv->sv_n : sv->sv_npending;

		for (size_t i = 0; i < n; i++) {
			enum hold h = hold_of(v[i]);

			if (v[i] == except || h <= *how || !names(v[i], name))
				continue;
			best = v[i];
			*how = h;
		}
	}
	return best;
}

/* "running, LogicalID db-1" and the like, for messages. */
static void
describe_holder(const struct inst *in, enum hold how, char *out, size_t len)
{
	const char *lid = spec_of(in)->s_logical_id;
	const char *what = !in->in_indexed	    ? "being provisioned"
	    : how == HOLD_RELEASING		    ? "being destroyed"
	    : in->in_rec.r_state == ST_PROVISIONING ? "provisioning"
	    : in->in_power == POWER_OFF || in->in_power == POWER_SUSPENDED
	    ? "running, but its VM is off or suspended: InfraKit does not "
	      "see it"
	    : "running";

	(void)snprintf(out, len, "%s%s%s", what,
	    lid != NULL ? ", LogicalID " : "", lid != NULL ? lid : "");
}

static bool
being_removed(const struct service *sv, const char *name)
{
	for (size_t i = 0; i < sv->sv_natt_rm; i++)
		if (strcmp(sv->sv_att_rm[i], name) == 0)
			return true;
	return false;
}

/* ---- Provision ---------------------------------------------------------- */

int
att_check_provision(struct service *sv, const struct bkent *bk,
    const struct svc_req *r, struct err *err)
{
	struct att_name d[ATTACH_MAX_DISKS];
	const char *lid = r->sr_spec.s_logical_id;
	long n =
	    attach_disks(&r->sr_spec, SPEC_FIELD, d, ATTACH_MAX_DISKS, err);

	if (n <= 0)
		return (int)n;
	if (bk->be_ops->make_disk == NULL || bk->be_ops->disk_format == NULL) {
		err_set(err, EIK_INVAL,
		    "%s[%zu]: the %s backend has no persistent disks; use the "
		    "vmware or qemu backend for pets with disk attachments",
		    SPEC_FIELD, d[0].an_index, bk->be_ops->name);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		enum hold how;
		struct inst *h = holder(sv, d[i].an_name, NULL, &how);
		char what[256];

		if (being_removed(sv, d[i].an_name)) {
			err_set(err, EIK_BUSY,
			    "%s[%zu]: disk \"%s\" is being deleted (attachment "
			    "rm); try again once it is gone",
			    SPEC_FIELD, d[i].an_index, d[i].an_name);
			return -1;
		}
		if (h == NULL || how != HOLD_LIVE)
			continue;
		describe_holder(h, how, what, sizeof(what));
		err_set(err, EIK_BUSY,
		    "%s[%zu]: disk \"%s\" is attached to instance %s (%s); a "
		    "disk is attached to one VM at a time, so this Provision%s%s "
		    "is refused: destroy %s first (the disk is kept for the "
		    "next instance with this attachment) or use another ID",
		    SPEC_FIELD, d[i].an_index, d[i].an_name, id_of(h), what,
		    lid != NULL ? " of LogicalID " : "", lid != NULL ? lid : "",
		    id_of(h));
		return -1;
	}
	return 0;
}

int
att_pending_add(struct service *sv, struct inst *in, struct err *err)
{
	if (sv->sv_npending == sv->sv_cappending) {
		size_t cap =
		    sv->sv_cappending == 0 ? 16 : sv->sv_cappending * 2;
		struct inst **nv = realloc(sv->sv_pending, cap * sizeof(*nv));

		if (nv == NULL) {
			err_set(err, EIK_INTERNAL, "out of memory");
			return -1;
		}
		sv->sv_pending = nv;
		sv->sv_cappending = cap;
	}
	sv->sv_pending[sv->sv_npending++] = in;
	return 0;
}

void
att_pending_done(struct service *sv, struct inst *in)
{
	for (size_t i = 0; i < sv->sv_npending; i++)
		if (sv->sv_pending[i] == in) {
			sv->sv_pending[i] = sv->sv_pending[--sv->sv_npending];
			return;
		}
}

/* ---- waiting for a disk ------------------------------------------------- */

bool
att_blocked(struct service *sv, struct inst *in)
{
	struct att_name d[ATTACH_MAX_DISKS];
	long n = disks_of(in, d);

	for (long i = 0; i < n; i++) {
		enum hold how;
		struct inst *h = holder(sv, d[i].an_name, in, &how);
		char what[256];

		if (h == NULL)
			continue;
		if (!in->in_att_wait) {
			describe_holder(h, how, what, sizeof(what));
			log_info("instance %s: waiting for disk %s, which "
				 "instance %s still holds (%s)",
			    in->in_rec.r_id, d[i].an_name, id_of(h), what);
			in->in_att_wait = true;
			sv->sv_att_waiting++;
		}
		return true;
	}
	if (in->in_att_wait) {
		log_info("instance %s: its disks are free", in->in_rec.r_id);
		in->in_att_wait = false;
		sv->sv_att_waiting--;
	}
	return false;
}

void
att_released(struct service *sv)
{
	if (sv->sv_att_waiting == 0)
		return;
	for (size_t i = 0; i < sv->sv_n; i++)
		if (sv->sv_v[i]->in_att_wait)
			work_kick(sv, sv->sv_v[i]);
}

/* ---- the create job's disks --------------------------------------------- */

int
att_job_disks(
    struct service *sv, struct inst *in, struct job *j, struct err *err)
{
	struct att_name d[ATTACH_MAX_DISKS];
	const struct inst_spec *s = &in->in_rec.r_spec;
	const char *fmt = in->in_bk->be_ops->disk_format;
	long n = attach_disks(s, SPEC_FIELD, d, ATTACH_MAX_DISKS, err);

	if (n <= 0)
		return (int)n;
	if (fmt == NULL || in->in_bk->be_ops->make_disk == NULL) {
		err_set(err, EIK_INVAL,
		    "the %s backend has no persistent disks",
		    in->in_bk->be_ops->name);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		struct job_disk *jd = &j->j_disks[i];
		char file[ATTACH_ID_MAX + 24];

		(void)strlcpy(jd->jd_name, d[i].an_name, sizeof(jd->jd_name));
		(void)strlcpy(
		    jd->jd_id, s->s_att[d[i].an_index].a_id, sizeof(jd->jd_id));
		(void)snprintf(jd->jd_type, sizeof(jd->jd_type), "%s",
		    s->s_att[d[i].an_index].a_type);
		(void)snprintf(file, sizeof(file), "%s.%s", jd->jd_name, fmt);
		if (store_att_dir(&sv->sv_store, jd->jd_name, jd->jd_dir,
			sizeof(jd->jd_dir)) == -1 ||
		    store_att_scratch(&sv->sv_store, jd->jd_name,
			jd->jd_scratch, sizeof(jd->jd_scratch)) == -1 ||
		    path_join(jd->jd_file, sizeof(jd->jd_file), jd->jd_dir,
			file) == -1) {
			err_set(err, EIK_INVAL, "--vm-dir too long");
			return -1;
		}
		j->j_bk_disks[i].bd_name = jd->jd_name;
		j->j_bk_disks[i].bd_file = jd->jd_file;
		j->j_bk_disks[i].bd_size_gb = s->s_props.p_att_size_gb;
	}
	j->j_ndisks = (size_t)n;
	j->j_store = &sv->sv_store;
	return 0;
}

/* ---- attachment ls, attachment rm --------------------------------------- */

static void
answer_err(struct svc_req *r, int code, const char *msg)
{
	struct err e;

	err_clear(&e);
	err_set(&e, code, "%s", msg);
	svc_req_answer(r, -1, &e);
}

static int
start_att_job(struct service *sv, struct svc_req *r, enum att_op op)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -1;
	j->j_om.om_kind = OM_JOB;
	j->j_kind = JOB_ATT;
	j->j_att_op = op;
	j->j_req = r;
	j->j_store = &sv->sv_store;
	j->j_results = &sv->sv_results;
	proc_cancel_init(&j->j_cancel);
	err_clear(&j->j_err);
	(void)strlcpy(j->j_att_name, r->sr_att, sizeof(j->j_att_name));
	if (work_spawn(sv, j) == -1) {
		free(j);
		return -1;
	}
	return 0;
}

static int
rm_mark(struct service *sv, const char *name)
{
	if (sv->sv_natt_rm == sv->sv_capatt_rm) {
		size_t cap = sv->sv_capatt_rm == 0 ? 4 : sv->sv_capatt_rm * 2;
		char(*nv)[ATTACH_ID_MAX + 1] =
		    realloc(sv->sv_att_rm, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		sv->sv_att_rm = nv;
		sv->sv_capatt_rm = cap;
	}
	(void)strlcpy(
	    sv->sv_att_rm[sv->sv_natt_rm++], name, sizeof(sv->sv_att_rm[0]));
	return 0;
}

static void
rm_unmark(struct service *sv, const char *name)
{
	for (size_t i = 0; i < sv->sv_natt_rm; i++)
		if (strcmp(sv->sv_att_rm[i], name) == 0) {
			memmove(sv->sv_att_rm[i],
			    sv->sv_att_rm[--sv->sv_natt_rm],
			    sizeof(sv->sv_att_rm[0]));
			return;
		}
}

static void
att_remove(struct service *sv, struct svc_req *r)
{
	char name[ATTACH_ID_MAX + 1], what[256], msg[ERR_MSG_MAX];
	struct err err;
	enum hold how;
	struct inst *h;

	err_clear(&err);
	if (attach_disk_name(r->sr_att, "ID", name, sizeof(name), &err) == -1) {
		svc_req_answer(r, -1, &err);
		return;
	}
	(void)strlcpy(r->sr_att, name, sizeof(r->sr_att));
	if (being_removed(sv, name)) {
		answer_err(r, EIK_BUSY, "that disk is being deleted already");
		return;
	}
	if ((h = holder(sv, name, NULL, &how)) != NULL) {
		describe_holder(h, how, what, sizeof(what));
		(void)snprintf(msg, sizeof(msg),
		    "disk \"%s\" is in use: instance %s holds it (%s); destroy "
		    "%s first, then delete the disk",
		    name, id_of(h), what, id_of(h));
		answer_err(r, EIK_BUSY, msg);
		return;
	}
	if (rm_mark(sv, name) == -1 || start_att_job(sv, r, ATT_REMOVE) == -1) {
		rm_unmark(sv, name);
		answer_err(r, EIK_BUSY, "cannot start a worker; try again");
	}
}

void
att_request(struct service *sv, struct svc_req *r)
{
	if (r->sr_op == SVC_ATT_REMOVE) {
		att_remove(sv, r);
		return;
	}
	if (start_att_job(sv, r, ATT_LIST) == -1)
		answer_err(r, EIK_BUSY, "cannot start a worker; try again");
}

/* The disks holders name that are not made yet (records name them; the
 * create makes them), then who holds each disk of l. -1 when out of
 * memory. */
static int
add_holders(struct service *sv, struct att_list *l)
{
	for (size_t k = 0; k < 2; k++) {
		struct inst **v = k == 0 ? sv->sv_v : sv->sv_pending;
		size_t n = k == 0 ? sv->sv_n : sv->sv_npending;

		for (size_t i = 0; i < n; i++) {
			struct att_name d[ATTACH_MAX_DISKS];
			long nd =
			    hold_of(v[i]) != HOLD_NONE ? disks_of(v[i], d) : 0;

			for (long x = 0; x < nd; x++) {
				const struct attachment *a =
				    &spec_of(v[i])->s_att[d[x].an_index];
				struct att_view *av =
				    att_list_get(l, d[x].an_name);

				if (av == NULL)
					return -1;
				if (av->av_id[0] == '\0')
					(void)snprintf(av->av_id,
					    sizeof(av->av_id), "%s", a->a_id);
				if (av->av_type[0] == '\0')
					(void)snprintf(av->av_type,
					    sizeof(av->av_type), "%s",
					    a->a_type);
			}
		}
	}
	for (size_t i = 0; i < l->al_n; i++) {
		struct att_view *av = &l->al_v[i];
		enum hold how;
		struct inst *h = holder(sv, av->av_name, NULL, &how);
		const char *lid;

		if (h == NULL)
			continue;
		lid = spec_of(h)->s_logical_id;
		(void)strlcpy(av->av_holder, id_of(h), sizeof(av->av_holder));
		(void)strlcpy(av->av_holder_state,
		    h->in_indexed ? inst_state_name(h->in_rec.r_state)
				  : "provisioning",
		    sizeof(av->av_holder_state));
		if (lid != NULL && (av->av_holder_lid = strdup(lid)) == NULL)
			return -1;
	}
	return 0;
}

void
att_on_job(struct service *sv, struct job *j)
{
	struct svc_req *r = j->j_req;

	if (j->j_att_op == ATT_REMOVE) {
		rm_unmark(sv, j->j_att_name);
		if (j->j_rc == 0)
			log_info("disk %s: deleted", j->j_att_name);
		svc_req_answer(r, j->j_rc, &j->j_err);
		return;
	}
	if (j->j_rc == 0) {
		r->sr_atts = j->j_atts; /* moved */
		memset(&j->j_atts, 0, sizeof(j->j_atts));
		if (add_holders(sv, &r->sr_atts) == -1) {
			answer_err(r, EIK_INTERNAL, "out of memory");
			return;
		}
	}
	svc_req_answer(r, j->j_rc, &j->j_err);
}
