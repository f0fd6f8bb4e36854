/*
 * Requests: the svc interface (svc.h) and what the owner does with each
 * request. Provision, Destroy and Label propose a change and are answered
 * when it is durable (the same flush answers every request that waits for
 * it); Describe is answered from the index at once.
 *
 * An instance has at most one user change in flight. A request that
 * arrives meanwhile waits for it: a second Destroy joins the first one's
 * flush (both are told OK only once it is durable); a Label waits and then
 * proposes its own.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "store/ids.h"
#include "util/compat.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/net.h"

/* ---- requests ---------------------------------------------------------- */

struct svc_req *
svc_req_new(enum svc_op op)
{
	struct svc_req *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->sr_op = op;
	return r;
}

void
svc_req_free(struct svc_req *r)
{
	if (r == NULL)
		return;
	inst_spec_free(&r->sr_spec);
	tags_free(&r->sr_tags);
	inst_list_free(&r->sr_list);
	att_list_free(&r->sr_atts);
	free(r);
}

void
svc_req_answer(struct svc_req *r, int rc, const struct err *err)
{
	r->sr_rc = rc;
	if (rc == -1 && err != NULL)
		r->sr_err = *err;
	else if (rc == -1)
		err_set(&r->sr_err, EIK_INTERNAL, "internal error");
	r->sr_done(r, r->sr_done_arg);
}

static void answer_err(struct svc_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
answer_err(struct svc_req *r, int code, const char *fmt, ...)
{
	struct err err;
	va_list ap;

	err.code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	svc_req_answer(r, -1, &err);
}

/* ---- the interface: any thread ----------------------------------------- */

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
	if (is_file(a) || is_file(b)) {
		if (strlcpy(out, is_file(a) ? a : b, outlen) >= outlen) {
			err_set(err, EIK_INVAL, "template path too long");
			return -1;
		}
		return 0;
	}
	err_set(err, EIK_NOTFOUND,
	    "template \"%s\" not found: looked for %s and %s; copy the VM "
	    "bundle into --vm-lib (%s) or fix the name",
	    name, a, b, vm_lib);
	return -1;
}

static int
svc_validate(void *ctx, const char *type, const struct inst_props *props,
    char *tmpl, size_t tmpllen, struct err *err)
{
	struct service *sv = ctx;
	const struct bkent *bk = resolve_type(sv, type, err);

	if (bk == NULL)
		return -1;
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
svc_validate_spec(void *ctx, const char *type, const struct inst_spec *spec,
    char *tmpl, size_t tmpllen, struct err *err)
{
	struct service *sv = ctx;
	const struct bkent *bk = resolve_type(sv, type, err);

	if (bk == NULL)
		return -1;
	if (bk->be_ops->validate_spec == NULL)
		return svc_validate(
		    ctx, type, &spec->s_props, tmpl, tmpllen, err);
	if (template_find(sv->sv_conf.sc_vm_lib, spec->s_props.p_vmx, tmpl,
		tmpllen, err) == -1) {
		err_prefix(err, "Properties.VMX");
		return -1;
	}
	return bk->be_ops->validate_spec(bk->be_ctx, spec, tmpl, err);
}

static void
svc_submit(void *ctx, struct svc_req *r)
{
	struct service *sv = ctx;

	if (mbox_post(&sv->sv_inbox, &r->sr_msg) == -1)
		answer_err(r, EIK_BUSY,
		    "the plugin is shutting down; try again once it is back");
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

const struct svc_ops service_ops = {
	.validate = svc_validate,
	.validate_spec = svc_validate_spec,
	.submit = svc_submit,
	.types = svc_types,
};

/* ---- the owner --------------------------------------------------------- */

/* Refuses tag sets the store could not keep (INSTANCE_MAX_TAGS and
 * INSTANCE_MAX_TAG_BYTES), naming the fix. */
static int
check_tags(const struct tags *t, const char *what, struct err *err)
{
	size_t bytes = 0;

	for (size_t i = 0; i < t->tg_n; i++)
		bytes += strlen(t->tg_v[i].t_key) + strlen(t->tg_v[i].t_value);
	if (t->tg_n > INSTANCE_MAX_TAGS) {
		err_set(err, EIK_INVAL,
		    "%s would give the instance %zu tags; an instance holds at "
		    "most %d (INSTANCE_MAX_TAGS): use fewer or shorter labels",
		    what, t->tg_n, INSTANCE_MAX_TAGS);
		return -1;
	}
	if (bytes > INSTANCE_MAX_TAG_BYTES) {
		err_set(err, EIK_INVAL,
		    "%s would give the instance %zu bytes of tags; an instance "
		    "holds at most %d (INSTANCE_MAX_TAG_BYTES): keep tags short "
		    "and put data in the VM",
		    what, bytes, INSTANCE_MAX_TAG_BYTES);
		return -1;
	}
	return 0;
}

/* The proposed record must load again at the next start. */
static int
check_size(const struct record *r, const char *what, struct err *err)
{
	char *text = record_to_text(r);
	size_t n;

	if (text == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	n = strlen(text);
	free(text);
	if (n > RECORD_MAX_SIZE) {
		err_set(err, EIK_INVAL,
		    "%s would make the instance's record %zu bytes; records are "
		    "at most %d (RECORD_MAX_SIZE): make Init, keys or tags "
		    "smaller",
		    what, n, RECORD_MAX_SIZE);
		return -1;
	}
	return 0;
}

static struct change *
change_new(enum svc_op op, struct inst *in, struct svc_req *r)
{
	struct change *ch = calloc(1, sizeof(*ch));

	if (ch == NULL)
		return NULL;
	ch->ch_op = op;
	ch->ch_inst = in;
	ch->ch_reqno = r->sr_reqno;
	ch->ch_from = r->sr_from;
	r->sr_msg.m_next = NULL;
	ch->ch_waiters = r;
	return ch;
}

/*
 * A loopback port for a new instance's SSH: not recorded for any other
 * instance (journal entries on their way included), and free right now.
 * 0 when none is left.
 */
static unsigned
pick_ssh_port(struct service *sv)
{
	unsigned span = SSH_PORT_MAX - SSH_PORT_MIN + 1;
	unsigned char *used = calloc(span, 1);
	unsigned start, port = 0;

	if (used == NULL)
		return 0;
	for (size_t i = 0; i < sv->sv_n; i++) {
		unsigned p = sv->sv_v[i]->in_rec.r_ssh_port;

		if (p >= SSH_PORT_MIN && p <= SSH_PORT_MAX)
			used[p - SSH_PORT_MIN] = 1;
	}
	if (sv->sv_open != NULL)
		for (size_t i = 0; i < sv->sv_open->jb_n; i++) {
			const struct change *ch =
			    sv->sv_open->jb_v[i].je_change;
			unsigned p = ch != NULL ? ch->ch_rec.r_ssh_port : 0;

			if (p >= SSH_PORT_MIN && p <= SSH_PORT_MAX)
				used[p - SSH_PORT_MIN] = 1;
		}
	/* Round robin from the last one handed out, so a port a destroyed
	 * instance left is not reused at once (a client may still hold its
	 * host key). */
	start = sv->sv_last_ssh_port >= SSH_PORT_MIN &&
		sv->sv_last_ssh_port <= SSH_PORT_MAX
	    ? sv->sv_last_ssh_port - SSH_PORT_MIN + 1
	    : 0;
	for (unsigned k = 0; k < span; k++) {
		unsigned i = (start + k) % span;

		if (!used[i] && net_port_free(SSH_PORT_MIN + i)) {
			port = SSH_PORT_MIN + i;
			break;
		}
	}
	free(used);
	if (port != 0)
		sv->sv_last_ssh_port = port;
	return port;
}

static int
provision_record(struct service *sv, const struct bkent *bk, struct svc_req *r,
    struct record *rec, struct err *err)
{
	uint64_t v = 0;

	rec->r_spec = r->sr_spec; /* moved */
	memset(&r->sr_spec, 0, sizeof(r->sr_spec));
	/* Properties.Tags first, Spec.Tags win on conflicts. */
	if (tags_copy(&rec->r_tags, &rec->r_spec.s_props.p_tags) == -1 ||
	    tags_merge(&rec->r_tags, &rec->r_spec.s_tags) == -1 ||
	    (rec->r_template = strdup(r->sr_template)) == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	if (check_tags(&rec->r_tags, "Spec.Tags with Properties.Tags", err) ==
	    -1)
		return -1;
	(void)strlcpy(rec->r_backend, bk->be_ops->name, sizeof(rec->r_backend));
	rec->r_state = ST_PROVISIONING;
	if (bk->be_ops->wants_ssh_port != NULL &&
	    bk->be_ops->wants_ssh_port(bk->be_ctx) &&
	    (rec->r_ssh_port = pick_ssh_port(sv)) == 0) {
		err_set(err, EIK_BUSY,
		    "no free loopback port left for the guest's SSH between %d "
		    "and %d; destroy instances you no longer need",
		    SSH_PORT_MIN, SSH_PORT_MAX);
		return -1;
	}
	if (idgen_next(&sv->sv_ids, rec->r_id, sizeof(rec->r_id), err) == -1)
		return -1;
	/* Creation time is the ID's: the two orders are one. */
	(void)id_decode(rec->r_id, &v);
	rec->r_created_ms = rec->r_updated_ms = (int64_t)(v >> ID_SEQ_BITS);
	return check_size(rec, "this Spec", err);
}

static void
do_provision(struct service *sv, struct svc_req *r)
{
	struct err err;
	const struct bkent *bk;
	struct inst *in;
	struct change *ch = NULL;

	err_clear(&err);
	if ((bk = resolve_type(sv, r->sr_type, &err)) == NULL) {
		svc_req_answer(r, -1, &err);
		return;
	}
	if ((in = inst_new()) == NULL ||
	    (ch = change_new(SVC_PROVISION, in, r)) == NULL) {
		inst_free(in);
		answer_err(r, EIK_INTERNAL, "out of memory");
		return;
	}
	in->in_bk = bk;
	in->in_power = POWER_UNKNOWN;
	/* Its disks are free (decided here, on the owner: no race), and
	 * until it is indexed it holds them from the pending list. */
	if (att_check_provision(sv, bk, r, &err) == -1 ||
	    provision_record(sv, bk, r, &ch->ch_rec, &err) == -1 ||
	    (ch->ch_rec.r_spec.s_n_att > 0 &&
		att_pending_add(sv, in, &err) == -1) ||
	    durable_propose(sv, ch, false, &err) == -1) {
		att_pending_done(sv, in);
		ch->ch_waiters = NULL;
		change_free(ch);
		inst_free(in);
		svc_req_answer(r, -1, &err);
		return;
	}
	(void)strlcpy(
	    in->in_rec.r_id, ch->ch_rec.r_id, sizeof(in->in_rec.r_id));
}

/* Waits for in's change in flight; 1 when r was deferred. */
static int
defer(struct inst *in, struct svc_req *r)
{
	if (in->in_change == NULL)
		return 0;
	r->sr_msg.m_next = NULL;
	if (in->in_deferred_tail != NULL)
		in->in_deferred_tail->sr_msg.m_next = &r->sr_msg;
	else
		in->in_deferred = r;
	in->in_deferred_tail = r;
	return 1;
}

static void
do_destroy(struct service *sv, struct svc_req *r)
{
	struct inst *in = index_get(sv, r->sr_id);
	struct change *ch;
	struct err err;

	err_clear(&err);
	if (resolve_type(sv, r->sr_type, &err) == NULL) {
		svc_req_answer(r, -1, &err);
		return;
	}
	if (in == NULL || in->in_tomb) {
		/* Idempotent: unknown or already gone means done. */
		log_info(
		    "destroy %s: no such instance (already gone)", r->sr_id);
		audit_destroy(sv, NULL, r, AUDIT_GONE);
		svc_req_answer(r, 0, NULL);
		return;
	}
	if (in->in_change != NULL && in->in_change->ch_op == SVC_DESTROY) {
		/* The same flush answers both. */
		audit_destroy(sv, in, r, AUDIT_JOINED);
		r->sr_msg.m_next = &in->in_change->ch_waiters->sr_msg;
		in->in_change->ch_waiters = r;
		return;
	}
	if (defer(in, r))
		return;
	if (in->in_rec.r_state == ST_DESTROYING) {
		log_info("destroy %s: already being destroyed", r->sr_id);
		audit_destroy(sv, in, r, AUDIT_ALREADY);
		svc_req_answer(r, 0, NULL);
		return;
	}
	err_clear(&err);
	ch = change_new(SVC_DESTROY, in, r);
	if (ch == NULL || record_copy(&ch->ch_rec, &in->in_rec) == -1) {
		if (ch != NULL)
			ch->ch_waiters = NULL;
		change_free(ch);
		answer_err(r, EIK_INTERNAL, "out of memory");
		return;
	}
	ch->ch_rec.r_state = ST_DESTROYING;
	free(ch->ch_rec.r_reason);
	ch->ch_rec.r_reason = strdup(r->sr_reason);
	/* A Destroy may use the journal's reserve: on a full disk,
	 * destroying is what frees space. */
	if (durable_propose(sv, ch, true, &err) == -1) {
		ch->ch_waiters = NULL;
		change_free(ch);
		svc_req_answer(r, -1, &err);
		return;
	}
	audit_destroy(sv, in, r, AUDIT_REQUESTED);
}

static void
do_label(struct service *sv, struct svc_req *r)
{
	struct inst *in = index_get(sv, r->sr_id);
	struct change *ch;
	struct err err;

	err_clear(&err);
	if (resolve_type(sv, r->sr_type, &err) == NULL) {
		svc_req_answer(r, -1, &err);
		return;
	}
	if (in != NULL && !in->in_tomb && defer(in, r))
		return;
	if (in == NULL || in->in_tomb || in->in_rec.r_state == ST_DESTROYING ||
	    in->in_rec.r_state == ST_FAILED) {
		answer_err(r, EIK_NOTFOUND,
		    "no instance %s%s: list them with DescribeInstances",
		    r->sr_id,
		    in == NULL || in->in_tomb ? ""
			: in->in_rec.r_state == ST_FAILED
			? " (its provision failed)"
			: " (it is being destroyed)");
		return;
	}
	err_clear(&err);
	ch = change_new(SVC_LABEL, in, r);
	if (ch == NULL || record_copy(&ch->ch_rec, &in->in_rec) == -1 ||
	    tags_merge(&ch->ch_rec.r_tags, &r->sr_tags) == -1) {
		if (ch != NULL)
			ch->ch_waiters = NULL;
		change_free(ch);
		answer_err(r, EIK_INTERNAL, "out of memory");
		return;
	}
	if (check_tags(&ch->ch_rec.r_tags, "these labels", &err) == -1 ||
	    check_size(&ch->ch_rec, "these labels", &err) == -1 ||
	    durable_propose(sv, ch, false, &err) == -1) {
		ch->ch_waiters = NULL;
		change_free(ch);
		svc_req_answer(r, -1, &err);
	}
}

/* Whether InfraKit sees the instance. */
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
dup_to(char **dst, const char *src)
{
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

static int
view_fill(const struct service *sv, const struct inst *in, struct inst_view *v)
{
	const struct record *r = &in->in_rec;
	char vmx[PATH_BUF];
	int fail = 0;

	(void)strlcpy(v->v_id, r->r_id, sizeof(v->v_id));
	fail |= dup_to(&v->v_logical_id, r->r_spec.s_logical_id);
	fail |= tags_copy(&v->v_tags, &r->r_tags);
	(void)strlcpy(
	    v->v_state, inst_state_name(r->r_state), sizeof(v->v_state));
	(void)strlcpy(v->v_power,
	    r->r_state == ST_RUNNING ? power_state_name(in->in_power) : "off",
	    sizeof(v->v_power));
	(void)strlcpy(v->v_backend, r->r_backend, sizeof(v->v_backend));
	(void)strlcpy(
	    v->v_template, r->r_spec.s_props.p_vmx, sizeof(v->v_template));
	if (r->r_state != ST_FAILED &&
	    store_vmx_path(&sv->sv_store, r->r_id, vmx, sizeof(vmx)) == 0)
		fail |= dup_to(&v->v_vmx, vmx);
	fail |= dup_to(&v->v_ip, r->r_ip);
	fail |= dup_to(&v->v_mac, r->r_mac);
	fail |= dup_to(&v->v_error, r->r_error);
	if (r->r_state == ST_DESTROYING)
		fail |= dup_to(&v->v_reason, r->r_reason);
	v->v_created_ms = r->r_created_ms;
	v->v_reported = is_reported(in);
	v->v_ready = in->in_ready;
	if (r->r_ssh_port != 0)
		(void)snprintf(
		    v->v_ssh, sizeof(v->v_ssh), "127.0.0.1:%u", r->r_ssh_port);
	else if (r->r_ip != NULL)
		(void)snprintf(v->v_ssh, sizeof(v->v_ssh),
		    strchr(r->r_ip, ':') != NULL ? "[%s]:22" : "%s:22",
		    r->r_ip);
	return fail ? -1 : 0;
}

static void
do_describe(struct service *sv, struct svc_req *r)
{
	struct err err;
	const struct bkent *bk;
	bool all = (r->sr_flags & DESCRIBE_ALL) != 0;
	const char *fg = tags_get(&r->sr_tags, GROUP_TAG);
	uint64_t fh = group_hash(fg);
	bool any_backend = all && r->sr_type[0] == '\0';

	err_clear(&err);
	if ((bk = resolve_type(sv, r->sr_type, &err)) == NULL) {
		svc_req_answer(r, -1, &err);
		return;
	}
	for (size_t i = 0; i < sv->sv_n; i++) {
		const struct inst *in = sv->sv_v[i];
		struct inst_view *v;

		if ((!any_backend && in->in_bk != bk) ||
		    (!all && !is_reported(in)) ||
		    (fg != NULL && in->in_group_hash != fh) ||
		    !tags_match(&in->in_rec.r_tags, &r->sr_tags))
			continue;
		v = inst_list_add(&r->sr_list);
		if (v == NULL || view_fill(sv, in, v) == -1) {
			inst_list_free(&r->sr_list);
			answer_err(r, EIK_INTERNAL, "out of memory");
			return;
		}
	}
	svc_req_answer(r, 0, NULL);
}

static void
do_power(struct service *sv, struct svc_req *r)
{
	struct inst *in = index_get(sv, r->sr_id);
	struct err err;

	err_clear(&err);
	if (resolve_type(sv, r->sr_type, &err) == NULL) {
		svc_req_answer(r, -1, &err);
		return;
	}
	if (in != NULL && !in->in_tomb && defer(in, r))
		return;
	if (in == NULL || in->in_tomb || in->in_rec.r_state != ST_RUNNING) {
		answer_err(r,
		    in == NULL || in->in_tomb ? EIK_NOTFOUND : EIK_BUSY,
		    "instance %s is %s: only a running instance can be "
		    "started, stopped or restarted",
		    r->sr_id,
		    in == NULL || in->in_tomb
			? "unknown"
			: inst_state_name(in->in_rec.r_state));
		return;
	}
	if (in->in_power_req != NULL) {
		answer_err(r, EIK_BUSY,
		    "instance %s: a start, stop or restart is already running; "
		    "try again when it is done",
		    r->sr_id);
		return;
	}
	in->in_power_req = r;
	work_kick(sv, in);
}

static void
do_watch(struct service *sv, struct svc_req *r)
{
	if (r->sr_gen != sv->sv_gen) {
		r->sr_gen = sv->sv_gen;
		svc_req_answer(r, 0, NULL);
		return;
	}
	r->sr_msg.m_next =
	    sv->sv_watchers != NULL ? &sv->sv_watchers->sr_msg : NULL;
	sv->sv_watchers = r;
}

/* Power requests no job will run (stopping, or the instance is going):
 * answered with why. */
void
req_drop_power(struct service *sv)
{
	for (size_t i = 0; i < sv->sv_n; i++) {
		struct inst *in = sv->sv_v[i];
		struct svc_req *r = in->in_power_req;

		if (r == NULL ||
		    (in->in_job != NULL && in->in_job->j_kind == JOB_POWEROP))
			continue;
		if (!sv->sv_stopping && in->in_rec.r_state == ST_RUNNING)
			continue;
		in->in_power_req = NULL;
		answer_err(r, EIK_BUSY, "instance %s: %s", in->in_rec.r_id,
		    sv->sv_stopping ? "the plugin is shutting down"
				    : "it is being destroyed");
	}
}

void
req_changed(struct service *sv)
{
	sv->sv_gen++;
}

void
req_notify(struct service *sv)
{
	struct svc_req *w = sv->sv_watchers;

	if (w == NULL || (w->sr_gen == sv->sv_gen && !sv->sv_stopping))
		return;
	sv->sv_watchers = NULL;
	while (w != NULL) {
		struct svc_req *next = (struct svc_req *)w->sr_msg.m_next;

		if (sv->sv_stopping)
			answer_err(w, EIK_BUSY, "the plugin is shutting down");
		else {
			w->sr_gen = sv->sv_gen;
			svc_req_answer(w, 0, NULL);
		}
		w = next;
	}
}

void
req_handle(struct service *sv, struct svc_req *r)
{
	if (sv->sv_stopping && r->sr_op != SVC_DESCRIBE &&
	    r->sr_op != SVC_WATCH && r->sr_op != SVC_STATS) {
		answer_err(r, EIK_BUSY,
		    "the plugin is shutting down; try again once it is back");
		return;
	}
	log_ctx_set(
	    r->sr_reqno, r->sr_id[0] != '\0' ? r->sr_id : NULL, NULL, NULL);
	switch (r->sr_op) {
	case SVC_PROVISION:
		do_provision(sv, r);
		break;
	case SVC_DESTROY:
		do_destroy(sv, r);
		break;
	case SVC_DESCRIBE:
		do_describe(sv, r);
		break;
	case SVC_LABEL:
		do_label(sv, r);
		break;
	case SVC_WATCH:
		do_watch(sv, r);
		break;
	case SVC_POWER:
		do_power(sv, r);
		break;
	case SVC_ATT_LIST:
	case SVC_ATT_REMOVE:
		att_request(sv, r);
		break;
	case SVC_STATS:
		stats_answer(sv, r);
		break;
	default:
		answer_err(r, EIK_INTERNAL, "unknown service request %d",
		    (int)r->sr_op);
	}
	log_ctx_clear();
}

void
req_resolved(struct service *sv, struct inst *in)
{
	struct svc_req *r = in->in_deferred;
	struct job *j = in->in_held_job;

	in->in_deferred = in->in_deferred_tail = NULL;
	in->in_held_job = NULL;
	if (j != NULL)
		work_on_job(sv, j);
	while (r != NULL) {
		struct svc_req *next = (struct svc_req *)r->sr_msg.m_next;

		req_handle(sv, r);
		r = next;
	}
}
