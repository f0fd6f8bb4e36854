/*
 * Keeping each group at its spec, on the controller thread. One round of a
 * group: list its members (one DESCRIBE_ALL filtered by the group tag),
 * plan a pass (plan_pass), carry out the actions as service requests, and
 * wait until every one is answered; then list again if anything changed
 * meanwhile. A pass therefore always sees the outcome of the previous one
 * (Provision answers once the instance is recorded and listed, Destroy
 * once it is hidden): no over-provisioning, no double destroys (Q2).
 *
 * Around the pass (policy.h): failed provisions of the target config are
 * counted once each, durably; a success resets the count; creates are
 * capped while the config has not shown that it boots; stopped members
 * are restarted in place before they are replaced (RestartPolicy
 * "restart"); a finished rolling update is recorded.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/ginternal.h"
#include "group/vanilla.h"
#include "util/compat.h"
#include "util/log.h"

void
rec_dirty_all(struct gctl *c)
{
	for (struct group *g = c->c_groups; g != NULL; g = g->g_next)
		g->g_dirty = true;
}

int64_t
rec_next_wake(const struct gctl *c)
{
	int64_t t = 0;

	for (const struct group *g = c->c_groups; g != NULL; g = g->g_next)
		if (g->g_wake != 0 && (t == 0 || g->g_wake < t))
			t = g->g_wake;
	return t;
}

static void
wake_at(struct group *g, int64_t at)
{
	if (at > 0 && (g->g_wake == 0 || at < g->g_wake))
		g->g_wake = at;
}

struct member *
rec_members(const struct gctl *c, const struct inst_list *l, size_t *n)
{
	struct member *mv = calloc(l->l_n + 1, sizeof(*mv));

	*n = 0;
	if (mv == NULL)
		return NULL;
	for (size_t i = 0; i < l->l_n; i++)
		if (plan_member_of(&l->l_v[i], c->c_hash_tag, &mv[*n]) == 1)
			(*n)++;
	return mv;
}

/* ---- what the controller remembers of members --------------------------- */

/* Where id is in g_mem, or would be: *found says which. */
static size_t
gmem_pos(const struct group *g, const char *id, bool *found)
{
	size_t lo = 0, hi = g->g_nmem;

	*found = false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(g->g_mem[mid].gm_id, id);

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

/* A stopped member whose restarts are spent (it is being replaced). */
static bool
given_up(const struct group *g, const char *id)
{
	bool found;
	size_t i = gmem_pos(g, id, &found);

	return found && g->g_mem[i].gm_restart.pr_tries > POLICY_RESTART_TRIES;
}

/*
 * A running member whose guest says it is not ready yet (Describe's
 * ready 0), within GCTL_READY_WAIT_MS of its VM starting: not up yet.
 */
static bool
not_ready(const struct group *g, const struct inst_view *v, int64_t now)
{
	bool found;
	size_t i;

	if (v->v_ready != 0)
		return false;
	i = gmem_pos(g, v->v_id, &found);
	return !found || g->g_mem[i].gm_up_since == 0 ||
	    now - g->g_mem[i].gm_up_since < GCTL_READY_WAIT_MS;
}

static struct gmem *
gmem_get(struct group *g, const char *id)
{
	bool found;
	size_t lo = gmem_pos(g, id, &found);

	if (found)
		return &g->g_mem[lo];
	if (g->g_nmem == g->g_capmem) {
		size_t cap = g->g_capmem == 0 ? 16 : 2 * g->g_capmem;
		struct gmem *nv = realloc(g->g_mem, cap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		g->g_mem = nv;
		g->g_capmem = cap;
	}
	memmove(&g->g_mem[lo + 1], &g->g_mem[lo],
	    (g->g_nmem - lo) * sizeof(*g->g_mem));
	g->g_nmem++;
	memset(&g->g_mem[lo], 0, sizeof(g->g_mem[lo]));
	(void)strlcpy(g->g_mem[lo].gm_id, id, sizeof(g->g_mem[lo].gm_id));
	return &g->g_mem[lo];
}

/* Forgets members no longer listed. */
static void
gmem_prune(struct group *g)
{
	size_t w = 0;

	for (size_t i = 0; i < g->g_nmem; i++)
		if (g->g_mem[i].gm_seen)
			g->g_mem[w++] = g->g_mem[i];
	g->g_nmem = w;
}

/* ---- failures ------------------------------------------------------------ */

static void
save_or_log(struct gctl *c, struct group *g)
{
	struct err err;

	err_clear(&err);
	if (group_save(c, g, &err) == -1)
		log_error("group '%s': %s", g->g_rec.gr_spec.g_id, err.msg);
}

/* A provision of the target config failed (refused, or its VM failed). */
static void
count_failure(struct gctl *c, struct group *g, const char *id, const char *why)
{
	struct gstore_rec *r = &g->g_rec;

	r->gr_failures++;
	r->gr_failed_at = wall_ms();
	g->g_failed_mono = mono_ms();
	(void)snprintf(r->gr_error, sizeof(r->gr_error), "%s%s%s",
	    id != NULL ? id : "", id != NULL ? ": " : "", why);
	if (r->gr_spec.g_max_failures > 0 &&
	    r->gr_failures >= r->gr_spec.g_max_failures)
		log_error("group '%s': %u provisions failed in a row "
			  "(Recovery.MaxFailures %u); no new members until the "
			  "group is committed again. Last: %s",
		    r->gr_spec.g_id, r->gr_failures, r->gr_spec.g_max_failures,
		    r->gr_error);
	else
		log_warnx("group '%s': provision failed (%u in a row): %s",
		    r->gr_spec.g_id, r->gr_failures, r->gr_error);
	save_or_log(c, g);
}

/*
 * Notes what the listing says about each member: since when it runs, its
 * failed provision (counted once; those failed before this start only
 * noted), successes (a member of the target config created after the last
 * failure runs: the count starts again).
 */
static void
note_members(
    struct gctl *c, struct group *g, struct member *mv, size_t n, int64_t now)
{
	struct gstore_rec *r = &g->g_rec;
	bool success = false;

	for (size_t i = 0; i < g->g_nmem; i++)
		g->g_mem[i].gm_seen = false;
	for (size_t i = 0; i < n; i++) {
		struct member *m = &mv[i];
		struct gmem *gm = gmem_get(g, m->m_id);
		bool current =
		    m->m_hash != NULL && strcmp(m->m_hash, g->g_hash) == 0;
		/* plan_member_of's m_id is the listed view's v_id. */
		const struct inst_view *v =
		    (const struct inst_view *)(const void *)(m->m_id -
			offsetof(struct inst_view, v_id));

		if (gm == NULL)
			continue;
		gm->gm_seen = true;
		if (m->m_state == MEMBER_RUNNING) {
			if (gm->gm_up_since == 0)
				gm->gm_up_since = now;
			memset(&gm->gm_restart, 0, sizeof(gm->gm_restart));
			success |= current && v->v_created_ms > r->gr_failed_at;
			if (current && not_ready(g, v, now)) {
				/* Counted, not up: a roll waits for it. */
				m->m_state = MEMBER_PROVISIONING;
				wake_at(
				    g, gm->gm_up_since + GCTL_READY_WAIT_MS);
			}
		} else
			gm->gm_up_since = 0;
		if (m->m_state == MEMBER_RUNNING) {
			if (gm->gm_running_since == 0)
				gm->gm_running_since = now;
		} else
			gm->gm_running_since = 0;
		m->m_since_ms = gm->gm_running_since;
		if (m->m_state == MEMBER_FAILED && !gm->gm_counted) {
			gm->gm_counted = true;
			if (g->g_seeded && current)
				count_failure(c, g, m->m_id,
				    v->v_error != NULL ? v->v_error
						       : "provision failed");
		}
	}
	g->g_seeded = true;
	gmem_prune(g);
	if (success && r->gr_failures > 0) {
		log_info("group '%s': a new member runs; the failure count "
			 "(%u) starts again",
		    r->gr_spec.g_id, r->gr_failures);
		r->gr_failures = 0;
		save_or_log(c, g);
	}
}

/* RestartPolicy "restart": a stopped member whose restarts are spent is
 * replaced (shown to the planner as failed: not counted). */
static void
restart_budget(const struct gctl *c, struct group *g, struct member *mv,
    size_t n, int64_t now)
{
	if (g->g_rec.gr_spec.g_restart != GSPEC_RESTART_RESTART)
		return;
	for (size_t i = 0; i < n; i++) {
		struct gmem *gm;
		int64_t at;

		if (mv[i].m_state != MEMBER_STOPPED ||
		    (gm = gmem_get(g, mv[i].m_id)) == NULL)
			continue;
		if (policy_restart(&gm->gm_restart, now,
			c->c_conf.gc_restart_wait_ms,
			&at) == POLICY_RESTART_REPLACE) {
			if (gm->gm_restart.pr_tries == POLICY_RESTART_TRIES) {
				log_warnx("group '%s': %s did not start again "
					  "after %d tries; replacing it",
				    g->g_rec.gr_spec.g_id, mv[i].m_id,
				    POLICY_RESTART_TRIES);
				gm->gm_restart.pr_tries++;
			}
			mv[i].m_state = MEMBER_FAILED;
		}
	}
}

/* ---- the actions -----------------------------------------------------------
 */

static void
sent(struct group *g, struct gop *o, struct gctl *c)
{
	g->g_inflight++;
	g->g_round_ops++;
	gop_submit(c, o);
}

/* The member's whole Spec through the service, as a Provision RPC's. */
static int
validate(const struct gctl *c, struct svc_req *sr, struct err *err)
{
	const struct svc *svc = c->c_conf.gc_svc;

	if (svc->ops->validate_spec != NULL)
		return svc->ops->validate_spec(svc->ctx, sr->sr_type,
		    &sr->sr_spec, sr->sr_template, sizeof(sr->sr_template),
		    err);
	return svc->ops->validate(svc->ctx, sr->sr_type, &sr->sr_spec.s_props,
	    sr->sr_template, sizeof(sr->sr_template), err);
}

static void
act_create(struct gctl *c, struct group *g, const char *lid)
{
	const struct group_spec *s = &g->g_rec.gr_spec;
	struct gop *o = gop_new(c, GOP_CREATE, g, NULL, SVC_PROVISION);
	struct vanilla_member m;
	struct svc_req *sr;
	struct err err;

	err_clear(&err);
	if (o == NULL) {
		wake_at(g, mono_ms() + GCTL_RETRY_MS);
		return;
	}
	sr = o->o_sr;
	memset(&m, 0, sizeof(m));
	m.vm_group = s->g_id;
	m.vm_hash_tag = c->c_hash_tag;
	m.vm_hash = g->g_hash;
	m.vm_logical_id = lid;
	m.vm_props = s->g_instance.gp_props;
	(void)strlcpy(sr->sr_type, s->g_instance.gp_type, sizeof(sr->sr_type));
	if (vanilla_prepare(&s->g_vanilla, &m, &sr->sr_spec, &err) == -1 ||
	    validate(c, sr, &err) == -1) {
		/* The template went away since the commit, say. */
		gmetrics_action(GACT_CREATE, -1, &err);
		count_failure(c, g, NULL, err.msg);
		gop_free(c, o);
		return;
	}
	sent(g, o, c);
}

static void
act_destroy(struct gctl *c, struct group *g, const char *id, const char *why)
{
	struct gop *o = gop_new(c, GOP_DESTROY, g, NULL, SVC_DESTROY);

	if (o == NULL) {
		wake_at(g, mono_ms() + GCTL_RETRY_MS);
		return;
	}
	(void)strlcpy(o->o_sr->sr_id, id, sizeof(o->o_sr->sr_id));
	(void)strlcpy(o->o_sr->sr_reason, why, sizeof(o->o_sr->sr_reason));
	o->o_sr->sr_from.o_via = ORIGIN_GROUP;
	(void)strlcpy(o->o_sr->sr_from.o_group, g->g_rec.gr_spec.g_id,
	    sizeof(o->o_sr->sr_from.o_group));
	log_info(
	    "group '%s': destroying %s (%s)", g->g_rec.gr_spec.g_id, id, why);
	sent(g, o, c);
}

/* Adopts a bootstrap member: labels it with the group's tags (§2.3). */
static void
act_label(struct gctl *c, struct group *g, const char *id)
{
	struct gop *o = gop_new(c, GOP_LABEL, g, NULL, SVC_LABEL);

	if (o == NULL) {
		wake_at(g, mono_ms() + GCTL_RETRY_MS);
		return;
	}
	(void)strlcpy(o->o_sr->sr_id, id, sizeof(o->o_sr->sr_id));
	if (tags_set(&o->o_sr->sr_tags, GSPEC_TAG_GROUP,
		g->g_rec.gr_spec.g_id) == -1 ||
	    tags_set(&o->o_sr->sr_tags, c->c_hash_tag, g->g_hash) == -1) {
		gop_free(c, o);
		return;
	}
	log_info("group '%s': adopting %s", g->g_rec.gr_spec.g_id, id);
	sent(g, o, c);
}

/*
 * RestartPolicy "restart": starts a stopped member again in place
 * (SVC_POWER start) unless a start is under way or ended lately. The
 * service answers once the start is done; meanwhile the group's rounds go
 * on (the start is not one of them).
 */
static bool
act_restart(struct gctl *c, struct group *g, const char *id, int64_t now)
{
	struct gmem *gm = gmem_get(g, id);
	struct gop *o;
	int64_t at;

	if (gm == NULL)
		return false;
	if (policy_restart(&gm->gm_restart, now, c->c_conf.gc_restart_wait_ms,
		&at) != POLICY_RESTART_NOW) {
		wake_at(g, at);
		return false;
	}
	if ((o = gop_new(c, GOP_START, g, NULL, SVC_POWER)) == NULL ||
	    gop_track_start(c, o) == -1) {
		if (o != NULL)
			gop_free(c, o);
		wake_at(g, now + GCTL_RETRY_MS);
		return false;
	}
	(void)strlcpy(o->o_sr->sr_id, id, sizeof(o->o_sr->sr_id));
	o->o_sr->sr_power = SVC_POWER_START;
	gm->gm_restart.pr_tries++;
	gm->gm_restart.pr_inflight = true;
	log_info("group '%s': starting stopped member %s (try %u of %d)",
	    g->g_rec.gr_spec.g_id, id, gm->gm_restart.pr_tries,
	    POLICY_RESTART_TRIES);
	gop_submit(c, o);
	return true;
}

/* A restart is done: the wait for the member to show as running starts
 * now. */
static void
on_started(struct gctl *c, struct group *g, struct gop *o)
{
	struct svc_req *sr = o->o_sr;
	int64_t now = mono_ms();
	bool found;
	size_t i = gmem_pos(g, sr->sr_id, &found);

	gmetrics_action(GACT_RESTART, sr->sr_rc, &sr->sr_err);
	if (found) {
		g->g_mem[i].gm_restart.pr_inflight = false;
		g->g_mem[i].gm_restart.pr_last_ms = now;
	}
	if (sr->sr_rc == -1)
		log_warnx("group '%s': start of %s failed: %s",
		    g->g_rec.gr_spec.g_id, sr->sr_id, sr->sr_err.msg);
	wake_at(g, now + c->c_conf.gc_restart_wait_ms);
	g->g_dirty = true;
}

/* ---- a pass
 * ------------------------------------------------------------------ */

/* Counts the target config's running and provisioning members. */
static void
count_current(const struct group *g, const struct member *mv, size_t n,
    struct policy_view *pv, size_t *running, size_t *provisioning)
{
	*running = *provisioning = 0;
	for (size_t i = 0; i < n; i++) {
		bool cur = mv[i].m_hash != NULL &&
		    strcmp(mv[i].m_hash, g->g_hash) == 0;

		pv->v_running += mv[i].m_state == MEMBER_RUNNING;
		pv->v_provisioning += mv[i].m_state == MEMBER_PROVISIONING;
		pv->v_stopped += mv[i].m_state == MEMBER_STOPPED;
		*running += cur && mv[i].m_state == MEMBER_RUNNING;
		*provisioning += cur && mv[i].m_state == MEMBER_PROVISIONING;
	}
}

/* Carries out a pass's actions; creates up to cap. */
static void
act_all(struct gctl *c, struct group *g, const struct plan_pass *pp, size_t cap,
    struct policy_view *pv, int64_t now)
{
	for (size_t i = 0; i < pp->pp_n; i++) {
		const struct plan_action *a = &pp->pp_act[i];

		switch (a->a_op) {
		case PLAN_CREATE:
			if (pv->v_creates >= cap) {
				pv->v_held++;
				break;
			}
			pv->v_creates++;
			act_create(c, g, a->a_logical_id);
			break;
		case PLAN_DESTROY:
			pv->v_destroys++;
			if (a->a_why == WHY_ROLL && pv->v_roll_id == NULL)
				pv->v_roll_id = a->a_id;
			act_destroy(c, g, a->a_id, plan_reason(a->a_why));
			break;
		case PLAN_RESTART:
			pv->v_restarts += act_restart(c, g, a->a_id, now);
			break;
		case PLAN_LABEL:
			act_label(c, g, a->a_id);
			break;
		}
	}
}

static void
pass_managing(struct gctl *c, struct group *g)
{
	struct gstore_rec *r = &g->g_rec;
	struct plan_input in;
	struct plan_pass pp;
	struct policy_view pv;
	struct member *mv;
	struct err err;
	size_t n, running, provisioning, cap;
	int64_t now = mono_ms();

	err_clear(&err);
	memset(&pp, 0, sizeof(pp));
	memset(&pv, 0, sizeof(pv));
	if ((mv = rec_members(c, &g->g_last, &n)) == NULL) {
		wake_at(g, now + GCTL_RETRY_MS);
		return;
	}
	note_members(c, g, mv, n, now);
	restart_budget(c, g, mv, n, now);
	memset(&in, 0, sizeof(in));
	in.pi_spec = &r->gr_spec;
	in.pi_hash = g->g_hash;
	in.pi_members = mv;
	in.pi_n = n;
	in.pi_rolling = r->gr_rolling;
	in.pi_failures = r->gr_failures;
	in.pi_last_failure_ms = g->g_failed_mono;
	in.pi_now_ms = now;
	in.pi_poll_ms = c->c_conf.gc_poll_ms;
	if (plan_pass(&in, &pp, &err) == -1) {
		log_error("group '%s': %s", r->gr_spec.g_id, err.msg);
		wake_at(g, now + GCTL_RETRY_MS);
		goto out;
	}
	count_current(g, mv, n, &pv, &running, &provisioning);
	cap = policy_create_cap(
	    &r->gr_spec, r->gr_failures, running, provisioning);
	act_all(c, g, &pp, cap, &pv, now);
	if (pp.pp_hold == PLAN_HOLD_BACKOFF)
		wake_at(g, now + pp.pp_wait_ms);
	wake_at(g, policy_settle_wake(&in));
	if (pp.pp_roll_done) {
		gmetrics_roll(false);
		log_info("group '%s': rolling update done: every member has "
			 "hash %s",
		    r->gr_spec.g_id, g->g_hash);
		r->gr_rolling = false;
		save_or_log(c, g);
	}
	pv.v_rolling = r->gr_rolling;
	pv.v_target = gspec_target(&r->gr_spec);
	pv.v_outdated = pp.pp_outdated;
	pv.v_held += pp.pp_held;
	pv.v_hold = pp.pp_hold;
	pv.v_note = pp.pp_note;
	policy_doing(&pv, g->g_doing, sizeof(g->g_doing));
out:
	plan_pass_free(&pp);
	free(mv);
}

/* A group being destroyed: destroy whatever is left; forget it once
 * nothing carries its tag any more (no orphans, Q15). */
static void
pass_destroying(struct gctl *c, struct group *g)
{
	const char *id = g->g_rec.gr_spec.g_id;
	struct policy_view pv;
	struct err err;
	size_t left = 0;

	memset(&pv, 0, sizeof(pv));
	for (size_t i = 0; i < g->g_last.l_n; i++) {
		const struct inst_view *v = &g->g_last.l_v[i];

		left++;
		if (strcmp(v->v_state, "destroying") != 0)
			act_destroy(c, g, v->v_id, "terminate");
	}
	if (left > 0) {
		pv.v_destroying = true;
		pv.v_running = left;
		policy_doing(&pv, g->g_doing, sizeof(g->g_doing));
		return;
	}
	err_clear(&err);
	if (gstore_remove(c->c_dir, id, &err) == -1) {
		log_error("group '%s': %s", id, err.msg);
		wake_at(g, mono_ms() + GCTL_RETRY_MS);
		return;
	}
	log_info("group '%s': destroyed; every member is gone", id);
	group_drop(c, g);
}

static void
on_list(struct gctl *c, struct group *g, struct svc_req *sr)
{
	if (sr->sr_rc == -1) {
		log_warnx("group '%s': listing the members: %s",
		    g->g_rec.gr_spec.g_id, sr->sr_err.msg);
		wake_at(g, mono_ms() + GCTL_RETRY_MS);
		return;
	}
	if (greq_holds(c, g)) {
		g->g_dirty = true; /* after the request */
		return;
	}
	inst_list_free(&g->g_last);
	g->g_last = sr->sr_list; /* moved */
	memset(&sr->sr_list, 0, sizeof(sr->sr_list));
	g->g_round_ops = g->g_round_err = 0;
	if (g->g_rec.gr_state == GSTORE_DESTROYING)
		pass_destroying(c, g);
	else
		pass_managing(c, g);
}

/* One of a round's requests is answered. */
static void
on_op(struct gctl *c, struct group *g, struct gop *o)
{
	struct svc_req *sr = o->o_sr;
	const char *id = g->g_rec.gr_spec.g_id;

	g->g_inflight--;
	gmetrics_action(o->o_kind == GOP_CREATE ? GACT_CREATE
		: o->o_kind == GOP_DESTROY	? GACT_DESTROY
						: GACT_LABEL,
	    sr->sr_rc, &sr->sr_err);
	if (sr->sr_rc == -1) {
		g->g_round_err++;
		if (o->o_kind == GOP_CREATE && !g->g_gone)
			count_failure(c, g, NULL, sr->sr_err.msg);
		else
			log_error("group '%s': %s %s: %s", id,
			    o->o_kind == GOP_DESTROY	 ? "destroy"
				: o->o_kind == GOP_START ? "start"
							 : "label",
			    sr->sr_id, sr->sr_err.msg);
	} else if (o->o_kind == GOP_CREATE)
		log_info("group '%s': created %s%s%s", id, sr->sr_out_id,
		    sr->sr_spec.s_logical_id != NULL ? " as " : "",
		    sr->sr_spec.s_logical_id != NULL ? sr->sr_spec.s_logical_id
						     : "");
	if (g->g_inflight > 0)
		return;
	/* The round is over: look again, at once unless all of it was
	 * refused (then after a pause, never in a tight loop). */
	if (g->g_round_err > 0 && g->g_round_err == g->g_round_ops)
		wake_at(g, mono_ms() + GCTL_RETRY_MS);
	else
		g->g_dirty = true;
}

void
rec_on_gop(struct gctl *c, struct gop *o)
{
	struct group *g = o->o_group;

	log_ctx_set(o->o_sr->sr_reqno, NULL, NULL, g->g_rec.gr_spec.g_id);
	if (o->o_kind == GOP_LIST) {
		g->g_listing = false;
		if (!g->g_gone && !c->c_stopping)
			on_list(c, g, o->o_sr);
	} else if (o->o_kind == GOP_START) {
		if (!g->g_gone)
			on_started(c, g, o);
	} else
		on_op(c, g, o);
	gop_free(c, o);
	log_ctx_clear();
}

static void
list(struct gctl *c, struct group *g, int64_t now)
{
	struct gop *o;

	/* A new round: the request that caused it, or an ID of its own. */
	g->g_reqno = g->g_cause != 0 ? g->g_cause : log_reqid_next();
	g->g_cause = 0;
	o = gop_new(c, GOP_LIST, g, NULL, SVC_DESCRIBE);

	if (o == NULL ||
	    tags_set(&o->o_sr->sr_tags, GSPEC_TAG_GROUP,
		g->g_rec.gr_spec.g_id) == -1) {
		if (o != NULL)
			gop_free(c, o);
		wake_at(g, now + GCTL_RETRY_MS);
		return;
	}
	o->o_sr->sr_flags = DESCRIBE_ALL;
	g->g_dirty = false;
	g->g_listing = true;
	gop_submit(c, o);
}

void
rec_pump(struct gctl *c, int64_t now)
{
	struct group *g, *next;

	for (g = c->c_groups; g != NULL; g = next) {
		next = g->g_next;
		if (g->g_wake != 0 && now >= g->g_wake) {
			g->g_wake = 0;
			g->g_dirty = true;
		}
		if (g->g_dirty && !g->g_listing && g->g_inflight == 0 &&
		    !greq_holds(c, g))
			list(c, g, now);
	}
}

/* ---- status ----------------------------------------------------------------
 */

static void
status_counts(const struct gctl *c, const struct group *g,
    const struct inst_list *l, struct gctl_status *st)
{
	const struct group_spec *s = &g->g_rec.gr_spec;
	int64_t now = mono_ms();
	size_t counted = 0;

	for (size_t i = 0; i < l->l_n; i++) {
		struct member m;
		bool cur;

		if (plan_member_of(&l->l_v[i], c->c_hash_tag, &m) == 0)
			continue;
		cur = m.m_hash != NULL && strcmp(m.m_hash, g->g_hash) == 0;
		if (m.m_state == MEMBER_RUNNING && cur &&
		    not_ready(g, &l->l_v[i], now))
			m.m_state = MEMBER_PROVISIONING;
		st->st_running += m.m_state == MEMBER_RUNNING;
		st->st_provisioning += m.m_state == MEMBER_PROVISIONING;
		st->st_stopped += m.m_state == MEMBER_STOPPED;
		st->st_failed += m.m_state == MEMBER_FAILED;
		if (m.m_state == MEMBER_RUNNING ||
		    m.m_state == MEMBER_PROVISIONING ||
		    (m.m_state == MEMBER_STOPPED &&
			s->g_restart == GSPEC_RESTART_RESTART &&
			!given_up(g, m.m_id))) {
			counted++;
			st->st_outdated += !cur;
		}
	}
	st->st_steady = g->g_rec.gr_state == GSTORE_MANAGING &&
	    !g->g_rec.gr_rolling && counted == st->st_target &&
	    st->st_running == st->st_target && st->st_outdated == 0 &&
	    (s->g_max_failures == 0 ||
		g->g_rec.gr_failures < s->g_max_failures);
}

int
rec_status(const struct gctl *c, const struct group *g,
    const struct inst_list *l, struct gctl_status *st)
{
	const struct gstore_rec *r = &g->g_rec;

	memset(st, 0, sizeof(*st));
	if ((st->st_id = strdup(r->gr_spec.g_id)) == NULL ||
	    (st->st_spec_json = strdup(r->gr_spec_json)) == NULL) {
		gctl_status_free(st);
		return -1;
	}
	st->st_state = r->gr_state;
	st->st_pets = gspec_is_pets(&r->gr_spec);
	(void)strlcpy(st->st_hash, g->g_hash, sizeof(st->st_hash));
	st->st_hash_tag = c->c_hash_tag;
	st->st_target = gspec_target(&r->gr_spec);
	st->st_rolling = r->gr_rolling;
	st->st_converged = !r->gr_rolling;
	st->st_failures = r->gr_failures;
	st->st_max_failures = r->gr_spec.g_max_failures;
	(void)strlcpy(st->st_doing,
	    g->g_doing[0] != '\0' ? g->g_doing : "starting",
	    sizeof(st->st_doing));
	(void)strlcpy(st->st_error, r->gr_error, sizeof(st->st_error));
	status_counts(c, g, l, st);
	return 0;
}
