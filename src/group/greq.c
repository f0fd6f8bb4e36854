/*
 * The clients' requests, on the controller thread, one at a time in the
 * order they came: commit (and SetSize), free, destroy, describe, inspect,
 * size, DestroyInstances. A request that needs the group's members lists
 * them from the service first (one DESCRIBE_ALL filtered by the group tag)
 * and is finished when that answer comes; the others are answered at once.
 * See gctl.h and spec infrakit-group.md §5.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/ginternal.h"
#include "group/gspecjson.h"
#include "util/compat.h"
#include "util/log.h"

void
greq_answer(struct gctl_req *r, int rc, const struct err *err)
{
	r->gr_rc = rc;
	if (rc == -1 && err != NULL)
		r->gr_err = *err;
	else if (rc == -1)
		err_set(&r->gr_err, EIK_INTERNAL, "internal error");
	r->gr_done(r, r->gr_done_arg);
}

static void
finish(struct gctl *c, struct gctl_req *r, int rc, const struct err *err)
{
	struct group *g = group_find(c, r->gr_id);

	if (c->c_cur == r)
		c->c_cur = NULL;
	/* What the request changed (or held back) is looked at again. */
	if (g != NULL)
		g->g_dirty = true;
	greq_answer(r, rc, err);
}

bool
greq_holds(const struct gctl *c, const struct group *g)
{
	const struct gctl_req *r = c->c_cur;

	return r != NULL &&
	    (r->gr_op == GCTL_DESTROY || r->gr_op == GCTL_DESTROY_INSTANCES) &&
	    strcmp(r->gr_id, g->g_rec.gr_spec.g_id) == 0;
}

static void finish_err(struct gctl *c, struct gctl_req *r, int code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
finish_err(struct gctl *c, struct gctl_req *r, int code, const char *fmt, ...)
{
	struct err err;
	va_list ap;

	err.code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	finish(c, r, -1, &err);
}

void
greq_refuse_waiting(struct gctl *c)
{
	while (c->c_qhead != NULL) {
		struct gctl_req *r = c->c_qhead;
		struct err err;

		c->c_qhead = (struct gctl_req *)r->gr_msg.m_next;
		if (c->c_qhead == NULL)
			c->c_qtail = NULL;
		err_set(&err, EIK_BUSY,
		    "the plugin is shutting down; try again once it is back");
		greq_answer(r, -1, &err);
	}
}

/* The group of r, or NULL with r answered InfraKit's words. */
static struct group *
watched(struct gctl *c, struct gctl_req *r)
{
	struct group *g = group_find(c, r->gr_id);

	if (g == NULL)
		finish_err(c, r, EIK_NOTFOUND,
		    "Group '%s' is not being watched: list the groups with "
		    "`group ls`",
		    r->gr_id);
	return g;
}

/* Lists the members of group id for r (finished in greq_on_gop). */
static void
list_for(struct gctl *c, struct gctl_req *r, struct group *g)
{
	struct gop *o = gop_new(c, GOP_REQ_LIST, g, r, SVC_DESCRIBE);

	if (o == NULL ||
	    tags_set(&o->o_sr->sr_tags, GSPEC_TAG_GROUP, r->gr_id) == -1) {
		if (o != NULL)
			gop_free(c, o);
		finish_err(c, r, EIK_INTERNAL, "out of memory");
		return;
	}
	o->o_sr->sr_flags = DESCRIBE_ALL;
	gop_submit(c, o);
}

/* Destroys member id for r; the answer comes to greq_on_gop. */
static int
destroy_for(struct gctl *c, struct gctl_req *r, struct group *g, const char *id)
{
	struct gop *o = gop_new(c, GOP_REQ_DESTROY, g, r, SVC_DESTROY);

	if (o == NULL)
		return -1;
	(void)strlcpy(o->o_sr->sr_id, id, sizeof(o->o_sr->sr_id));
	(void)strlcpy(
	    o->o_sr->sr_reason, "terminate", sizeof(o->o_sr->sr_reason));
	/* The group destroys it, because of the client's request. */
	o->o_sr->sr_from = r->gr_from;
	o->o_sr->sr_from.o_via = ORIGIN_GROUP;
	(void)strlcpy(o->o_sr->sr_from.o_group, r->gr_id,
	    sizeof(o->o_sr->sr_from.o_group));
	r->gr_pending++;
	gop_submit(c, o);
	return 0;
}

/* ---- commit ------------------------------------------------------------- */

static void
log_commit(const struct group *g, bool was_rolling, const char *old_hash,
    const struct gctl_req *r)
{
	if (was_rolling && strcmp(old_hash, g->g_hash) != 0)
		log_info("group '%s': rolling update to %s halted by the "
			 "commit of %s",
		    g->g_rec.gr_spec.g_id, old_hash, g->g_hash);
	log_info("group '%s': %s (hash %s)", g->g_rec.gr_spec.g_id, r->gr_text,
	    g->g_hash);
}

/* The new durable record of r's spec (taken from r). */
static struct gstore_rec *
commit_rec(struct gctl_req *r, bool rolling, struct err *err)
{
	struct gstore_rec *rec = calloc(1, sizeof(*rec));

	if (rec == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	rec->gr_spec = r->gr_spec; /* moved */
	memset(&r->gr_spec, 0, sizeof(r->gr_spec));
	rec->gr_flags = r->gr_flags;
	rec->gr_state = GSTORE_MANAGING;
	rec->gr_rolling = rolling;
	if ((rec->gr_spec_json = gspecjson_dump(&rec->gr_spec, err)) == NULL) {
		gstore_rec_free(rec);
		free(rec);
		return NULL;
	}
	return rec;
}

/* Makes r's spec the group's: durable first, then in memory. */
static int
commit_apply(
    struct gctl *c, struct gctl_req *r, struct group *g, struct err *err)
{
	char old_hash[GHASH_TEXT_MAX + 1] = "";
	struct gstore_rec *rec;
	bool was_rolling = g != NULL && g->g_rec.gr_rolling;

	if (g == NULL && c->c_ngroups >= GCTL_MAX_GROUPS) {
		err_set(err, EIK_BUSY,
		    "this controller manages %d groups already "
		    "(GCTL_MAX_GROUPS): free or destroy one first",
		    GCTL_MAX_GROUPS);
		return -1;
	}
	if ((rec = commit_rec(r, g != NULL && r->gr_plan.pc_roll_start, err)) ==
	    NULL)
		return -1;
	if (gstore_save(c->c_dir, rec, err) == -1) {
		gstore_rec_free(rec);
		free(rec);
		return -1;
	}
	if (g == NULL)
		g = group_add(c, rec, err);
	else {
		(void)strlcpy(old_hash, g->g_hash, sizeof(old_hash));
		gstore_rec_free(&g->g_rec);
		g->g_rec = *rec;
		free(rec);
		g->g_failed_mono = 0;
		if (group_rehash(c, g, err) == -1)
			return -1;
		g->g_dirty = true;
	}
	if (g == NULL)
		return -1;
	/* Its next round is this request's doing. */
	g->g_cause = r->gr_reqno;
	if (g->g_rec.gr_rolling && !was_rolling)
		gmetrics_roll(true);
	log_commit(g, was_rolling, old_hash, r);
	return 0;
}

static void
finish_commit(struct gctl *c, struct gctl_req *r, struct inst_list *l)
{
	struct group *g = group_find(c, r->gr_spec.g_id);
	struct plan_commit_in ci;
	char hash[GHASH_TEXT_MAX + 1];
	struct member *mv = NULL;
	struct err err;
	size_t n = 0;
	int rc = -1;

	err_clear(&err);
	if (g != NULL && g->g_rec.gr_state == GSTORE_DESTROYING) {
		err_set(&err, EIK_BUSY,
		    "Group '%s' is being destroyed: commit it again once "
		    "`group ls` no longer lists it",
		    r->gr_id);
		goto out;
	}
	if (gspec_hash(&r->gr_spec, c->c_conf.gc_era, hash, &err) == -1 ||
	    (mv = rec_members(c, l, &n)) == NULL)
		goto out;
	memset(&ci, 0, sizeof(ci));
	ci.ci_old = g != NULL ? &g->g_rec.gr_spec : NULL;
	ci.ci_old_hash = g != NULL ? g->g_hash : NULL;
	ci.ci_new = &r->gr_spec;
	ci.ci_new_hash = hash;
	ci.ci_members = mv;
	ci.ci_n = n;
	ci.ci_style = c->c_conf.gc_era;
	if (plan_commit(&ci, &r->gr_plan, &err) == -1)
		goto out;
	plan_commit_message(r->gr_id, &r->gr_plan, r->gr_pretend, r->gr_text,
	    sizeof(r->gr_text));
	if (!r->gr_pretend && commit_apply(c, r, g, &err) == -1)
		goto out;
	rc = 0;
out:
	free(mv);
	gmetrics_commit(rc, r->gr_pretend, &err);
	finish(c, r, rc, &err);
}

/* SetSize (master): the group's own spec again, with another Size. */
static int
set_size_spec(struct gctl *c, struct gctl_req *r, struct group *g)
{
	const struct gstore_rec *rec = &g->g_rec;
	struct err err;

	err_clear(&err);
	if (gspec_is_pets(&rec->gr_spec)) {
		finish_err(c, r, EIK_INVAL,
		    "cannot set size if logic ids are explicitly set: group "
		    "'%s' has LogicalIDs; commit a spec with other LogicalIDs "
		    "instead",
		    r->gr_id);
		return -1;
	}
	if (r->gr_size == 0 || r->gr_size > GSPEC_SIZE_MAX) {
		finish_err(c, r, EIK_INVAL,
		    r->gr_size == 0 ? "Allocation must not be blank: a Size "
				      "of 0 is not a group; destroy or free it "
				      "instead"
				    : "Size %zu: at most %d",
		    r->gr_size, GSPEC_SIZE_MAX);
		return -1;
	}
	gspec_free(&r->gr_spec);
	if (gspec_parse(rec->gr_spec_json, strlen(rec->gr_spec_json),
		rec->gr_flags, &r->gr_spec, &err) == -1) {
		finish(c, r, -1, &err);
		return -1;
	}
	r->gr_spec.g_size = r->gr_size;
	r->gr_flags = rec->gr_flags;
	return 0;
}

/* ---- destroy, describe ----------------------------------------------------
 */

static void
start_destroy(struct gctl *c, struct gctl_req *r, struct group *g)
{
	struct err err;

	err_clear(&err);
	if (g->g_rec.gr_state != GSTORE_DESTROYING) {
		g->g_rec.gr_state = GSTORE_DESTROYING;
		g->g_rec.gr_rolling = false;
		if (group_save(c, g, &err) == -1) {
			g->g_rec.gr_state = GSTORE_MANAGING;
			finish(c, r, -1, &err);
			return;
		}
		log_info("group '%s': destroying every member", r->gr_id);
	}
	g->g_cause = r->gr_reqno;
	g->g_dirty = true;
	list_for(c, r, g);
}

/* Destroys every listed member of r's group (Destroy: all; Destroy-
 * Instances: those named). */
static void
destroy_members(struct gctl *c, struct gctl_req *r, struct inst_list *l)
{
	struct group *g = group_find(c, r->gr_id);

	for (size_t i = 0; i < l->l_n && g != NULL; i++) {
		const struct inst_view *v = &l->l_v[i];
		bool named = r->gr_op != GCTL_DESTROY_INSTANCES;

		if (strcmp(v->v_state, "destroying") == 0)
			continue;
		for (size_t k = 0; !named && k < r->gr_n_ids; k++)
			named = strcmp(r->gr_ids[k], v->v_id) == 0;
		if (named && destroy_for(c, r, g, v->v_id) == -1)
			r->gr_failed = true;
	}
	if (r->gr_pending == 0)
		finish(c, r, r->gr_failed ? -1 : 0, NULL);
}

/* Lowers g's Size by n, durably. 0, or -1 with r answered. */
static int
shrink(struct gctl *c, struct gctl_req *r, struct group *g, size_t n)
{
	struct group_spec *s = &g->g_rec.gr_spec;
	size_t old = s->g_size;
	struct err err;
	char *json;

	err_clear(&err);
	if (n >= old) {
		finish_err(c, r, EIK_INVAL,
		    "destroying %zu of the %zu members would leave group '%s' "
		    "with Size 0: destroy the group instead",
		    n, old, r->gr_id);
		return -1;
	}
	s->g_size = old - n;
	if ((json = gspecjson_dump(s, &err)) == NULL) {
		s->g_size = old;
		finish(c, r, -1, &err);
		return -1;
	}
	free(g->g_rec.gr_spec_json);
	g->g_rec.gr_spec_json = json;
	if (group_save(c, g, &err) == -1) {
		finish(c, r, -1, &err);
		return -1;
	}
	log_info("group '%s': Size %zu -> %zu (DestroyInstances)", r->gr_id,
	    old, s->g_size);
	return 0;
}

/* DestroyInstances (master, Q14 fixed): the Size shrinks by the number of
 * named IDs that are members, durably, before they are destroyed. */
static void
finish_destroy_some(struct gctl *c, struct gctl_req *r, struct inst_list *l)
{
	struct group *g = group_find(c, r->gr_id);
	struct err err;
	size_t hit = 0;

	err_clear(&err);
	if (g == NULL) {
		finish_err(c, r, EIK_NOTFOUND, "group %s not found", r->gr_id);
		return;
	}
	for (size_t i = 0; i < l->l_n; i++)
		for (size_t k = 0; k < r->gr_n_ids; k++)
			hit += strcmp(l->l_v[i].v_state, "destroying") != 0 &&
			    strcmp(r->gr_ids[k], l->l_v[i].v_id) == 0;
	if (!gspec_is_pets(&g->g_rec.gr_spec) && hit > 0 &&
	    shrink(c, r, g, hit) == -1)
		return;
	destroy_members(c, r, l);
}

static void
finish_describe(struct gctl *c, struct gctl_req *r, struct inst_list *l)
{
	struct group *g = group_find(c, r->gr_id);
	struct err err;

	err_clear(&err);
	if (g == NULL) {
		finish_err(c, r, EIK_NOTFOUND,
		    "Group '%s' is not being watched", r->gr_id);
		return;
	}
	if ((r->gr_st = calloc(1, sizeof(*r->gr_st))) == NULL ||
	    rec_status(c, g, l, r->gr_st) == -1) {
		finish_err(c, r, EIK_INTERNAL, "out of memory");
		return;
	}
	r->gr_n_st = 1;
	for (size_t i = 0; i < l->l_n; i++) {
		struct inst_view *v;

		if (!r->gr_all && !l->l_v[i].v_reported)
			continue;
		if ((v = inst_list_add(&r->gr_members)) == NULL) {
			finish_err(c, r, EIK_INTERNAL, "out of memory");
			return;
		}
		*v = l->l_v[i]; /* moved */
		memset(&l->l_v[i], 0, sizeof(l->l_v[i]));
	}
	finish(c, r, 0, NULL);
}

/* ---- the answers -------------------------------------------------------- */

static void
on_listed(struct gctl *c, struct gctl_req *r, struct svc_req *sr)
{
	if (sr->sr_rc == -1) {
		finish(c, r, -1, &sr->sr_err);
		return;
	}
	switch (r->gr_op) {
	case GCTL_COMMIT:
	case GCTL_SET_SIZE:
		finish_commit(c, r, &sr->sr_list);
		break;
	case GCTL_DESCRIBE:
		finish_describe(c, r, &sr->sr_list);
		break;
	case GCTL_DESTROY:
		destroy_members(c, r, &sr->sr_list);
		break;
	case GCTL_DESTROY_INSTANCES:
		finish_destroy_some(c, r, &sr->sr_list);
		break;
	default:
		finish_err(c, r, EIK_INTERNAL, "unexpected listing");
	}
}

void
greq_on_gop(struct gctl *c, struct gop *o)
{
	struct gctl_req *r = o->o_req;
	struct svc_req *sr = o->o_sr;

	log_ctx_set(r->gr_reqno, NULL, NULL, r->gr_id);
	if (o->o_kind == GOP_REQ_LIST)
		on_listed(c, r, sr);
	else {
		gmetrics_action(GACT_DESTROY, sr->sr_rc, &sr->sr_err);
		if (sr->sr_rc == -1) {
			if (!r->gr_failed)
				r->gr_err = sr->sr_err;
			r->gr_failed = true;
			log_error("group '%s': destroy %s: %s", r->gr_id,
			    sr->sr_id, sr->sr_err.msg);
		}
		if (--r->gr_pending == 0)
			finish(c, r, r->gr_failed ? -1 : 0,
			    r->gr_failed ? &r->gr_err : NULL);
	}
	gop_free(c, o);
	log_ctx_clear();
}

/* ---- starting a request ------------------------------------------------- */

static void
start_status(struct gctl *c, struct gctl_req *r)
{
	size_t n = 0;

	if ((r->gr_st = calloc(c->c_ngroups + 1, sizeof(*r->gr_st))) == NULL) {
		finish_err(c, r, EIK_INTERNAL, "out of memory");
		return;
	}
	for (struct group *g = c->c_groups; g != NULL; g = g->g_next) {
		if (rec_status(c, g, &g->g_last, &r->gr_st[n]) == -1) {
			r->gr_n_st = n;
			finish_err(c, r, EIK_INTERNAL, "out of memory");
			return;
		}
		n++;
	}
	r->gr_n_st = n;
	finish(c, r, 0, NULL);
}

static void
start_free(struct gctl *c, struct gctl_req *r, struct group *g)
{
	struct err err;

	err_clear(&err);
	if (gstore_remove(c->c_dir, r->gr_id, &err) == -1) {
		finish(c, r, -1, &err);
		return;
	}
	log_info(
	    "group '%s': freed; its members keep running, unmanaged", r->gr_id);
	group_drop(c, g);
	finish(c, r, 0, NULL);
}

static void
start(struct gctl *c, struct gctl_req *r)
{
	struct group *g;

	if (r->gr_op == GCTL_COMMIT) {
		list_for(c, r, group_find(c, r->gr_id));
		return;
	}
	if (r->gr_op == GCTL_INSPECT) {
		start_status(c, r);
		return;
	}
	if ((g = watched(c, r)) == NULL)
		return;
	switch (r->gr_op) {
	case GCTL_FREE:
		start_free(c, r, g);
		break;
	case GCTL_DESTROY:
		start_destroy(c, r, g);
		break;
	case GCTL_DESCRIBE:
	case GCTL_DESTROY_INSTANCES:
		list_for(c, r, g);
		break;
	case GCTL_SIZE:
		r->gr_size = gspec_target(&g->g_rec.gr_spec);
		finish(c, r, 0, NULL);
		break;
	case GCTL_SET_SIZE:
		if (set_size_spec(c, r, g) == 0)
			list_for(c, r, g);
		break;
	default:
		finish_err(c, r, EIK_INTERNAL, "unknown group request %d",
		    (int)r->gr_op);
	}
}

void
greq_run(struct gctl *c)
{
	while (c->c_cur == NULL && c->c_qhead != NULL) {
		struct gctl_req *r = c->c_qhead;

		c->c_qhead = (struct gctl_req *)r->gr_msg.m_next;
		if (c->c_qhead == NULL)
			c->c_qtail = NULL;
		if (c->c_stopping) {
			struct err err;

			err_set(&err, EIK_BUSY,
			    "the plugin is shutting down; try again once it "
			    "is back");
			greq_answer(r, -1, &err);
			continue;
		}
		c->c_cur = r;
		log_ctx_set(r->gr_reqno, NULL, NULL, r->gr_id);
		start(c, r);
		log_ctx_clear();
	}
}
