/*
 * Reconcile passes and commit plans. See plan.h and spec infrakit-group.md
 * §2-§3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dur.h"
#include "util/err.h"
#include "group/plan.h"

/* One pass in the making. */
struct pass {
	const struct plan_input *p_in;
	const struct group_spec *p_g;
	struct plan_pass *p_out;
	const struct member **p_live; /* counted members, ascending ID */
	bool *p_dead;		      /* destroyed by this pass */
	size_t p_n;
	bool p_hold; /* no creates (and so no roll) this pass */
};

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

static int
add(struct plan_pass *out, enum plan_op op, enum plan_why why, const char *id,
    const char *lid, struct err *err)
{
	if (out->pp_n == out->pp_cap) {
		size_t cap = out->pp_cap == 0 ? 16 : 2 * out->pp_cap;
		struct plan_action *a =
		    realloc(out->pp_act, cap * sizeof(*out->pp_act));

		if (a == NULL) {
			oom(err);
			return -1;
		}
		out->pp_act = a;
		out->pp_cap = cap;
	}
	out->pp_act[out->pp_n++] = (struct plan_action){ op, why, id, lid };
	return 0;
}

static bool
is_bootstrap(const struct member *m)
{
	return m->m_hash != NULL && strcmp(m->m_hash, GHASH_BOOTSTRAP) == 0;
}

/* Carries the target config: the hash, or "bootstrap" (labelled with the
 * hash in this pass, §2.3). */
static bool
is_current(const struct member *m, const char *hash)
{
	return m->m_hash != NULL &&
	    (strcmp(m->m_hash, hash) == 0 || is_bootstrap(m));
}

static bool
counts(const struct group_spec *g, const struct member *m)
{
	switch (m->m_state) {
	case MEMBER_PROVISIONING:
	case MEMBER_RUNNING:
		return true;
	case MEMBER_STOPPED:
		return g->g_restart == GSPEC_RESTART_RESTART;
	default:
		return false;
	}
}

/* How long a new member must have run before it counts as up in a roll:
 * master's Updating.Duration, or Count checks one poll interval apart. */
int64_t
plan_settle_ms(const struct plan_input *in)
{
	const struct group_spec *g = in->pi_spec;

	if (g->g_duration_ns > 0)
		return g->g_duration_ns / DUR_NS_PER_MS;
	if (g->g_count > 1)
		return (int64_t)(g->g_count - 1) * in->pi_poll_ms;
	return 0;
}

static bool
is_up(const struct plan_input *in, const struct member *m)
{
	if (m->m_state != MEMBER_RUNNING)
		return false;
	if (!is_current(m, in->pi_hash))
		return true; /* old members are never health-checked */
	return in->pi_now_ms - m->m_since_ms >= plan_settle_ms(in);
}

int64_t
plan_backoff_ms(const struct group_spec *g, unsigned failures)
{
	int64_t b = g->g_backoff_ns / DUR_NS_PER_MS;
	int64_t max = g->g_backoff_max_ns / DUR_NS_PER_MS;

	if (failures == 0)
		return 0;
	for (unsigned i = 1; i < failures && b < max; i++)
		b *= 2;
	return b < max ? b : max;
}

/* Whether failed provisions hold creation back in this pass. */
static bool
check_hold(const struct plan_input *in, struct plan_pass *out)
{
	const struct group_spec *g = in->pi_spec;
	int64_t wait;

	if (g->g_max_failures > 0 && in->pi_failures >= g->g_max_failures) {
		out->pp_hold = PLAN_HOLD_STALLED;
		(void)snprintf(out->pp_note, sizeof(out->pp_note),
		    "%u provisions failed in a row (Recovery.MaxFailures is "
		    "%u): no new members until the group is committed again",
		    in->pi_failures, g->g_max_failures);
		return true;
	}
	wait = plan_backoff_ms(g, in->pi_failures) -
	    (in->pi_now_ms - in->pi_last_failure_ms);
	if (in->pi_failures > 0 && wait > 0) {
		out->pp_hold = PLAN_HOLD_BACKOFF;
		out->pp_wait_ms = wait;
		(void)snprintf(out->pp_note, sizeof(out->pp_note),
		    "%u provision%s failed in a row: next try in %lld ms",
		    in->pi_failures, in->pi_failures == 1 ? "" : "s",
		    (long long)wait);
		return true;
	}
	return false;
}

static int
id_cmp(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;

	return strcmp(x->m_id, y->m_id);
}

/* Collects the counted members (pets: with a LogicalID) sorted by ID. */
static int
collect(struct pass *p, bool pets, struct err *err)
{
	const struct plan_input *in = p->p_in;

	p->p_live = calloc(in->pi_n + 1, sizeof(*p->p_live));
	p->p_dead = calloc(in->pi_n + 1, sizeof(*p->p_dead));
	if (p->p_live == NULL || p->p_dead == NULL) {
		oom(err);
		return -1;
	}
	for (size_t i = 0; i < in->pi_n; i++) {
		const struct member *m = &in->pi_members[i];

		if (counts(p->p_g, m) && (!pets || m->m_logical_id != NULL))
			p->p_live[p->p_n++] = m;
	}
	qsort(p->p_live, p->p_n, sizeof(*p->p_live), id_cmp);
	return 0;
}

static size_t
n_outdated(const struct pass *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->p_n; i++)
		n += !p->p_dead[i] &&
		    !is_current(p->p_live[i], p->p_in->pi_hash);
	return n;
}

static int
destroy(struct pass *p, size_t i, enum plan_why why, struct err *err)
{
	p->p_dead[i] = true;
	return add(p->p_out, PLAN_DESTROY, why, p->p_live[i]->m_id,
	    p->p_live[i]->m_logical_id, err);
}

/*
 * The rolling phase: destroy outdated members, lowest ID first, keeping at
 * least target - MaxUnavailable members up. A member that is down anyway
 * costs nothing to replace.
 */
static int
roll(struct pass *p, size_t target, struct err *err)
{
	const struct plan_input *in = p->p_in;
	long long up = 0, floor, room;

	if (!in->pi_rolling || p->p_hold)
		return 0;
	for (size_t i = 0; i < p->p_n; i++)
		up += !p->p_dead[i] && is_up(in, p->p_live[i]);
	floor = (long long)target - (long long)p->p_g->g_max_unavailable;
	room = up - (floor > 0 ? floor : 0);
	for (size_t i = 0; i < p->p_n; i++) {
		const struct member *m = p->p_live[i];

		if (p->p_dead[i] || is_current(m, in->pi_hash))
			continue;
		if (m->m_state == MEMBER_RUNNING) {
			if (room <= 0)
				continue;
			room--;
		}
		if (destroy(p, i, WHY_ROLL, err) == -1)
			return -1;
	}
	return 0;
}

/* Restarts (RestartPolicy "restart") and bootstrap labels of the members
 * that stay. */
static int
tend(struct pass *p, struct err *err)
{
	for (size_t i = 0; i < p->p_n; i++) {
		const struct member *m = p->p_live[i];

		if (p->p_dead[i])
			continue;
		if (is_bootstrap(m) &&
		    add(p->p_out, PLAN_LABEL, WHY_BOOTSTRAP, m->m_id,
			m->m_logical_id, err) == -1)
			return -1;
		if (m->m_state == MEMBER_STOPPED &&
		    add(p->p_out, PLAN_RESTART, WHY_STOPPED, m->m_id,
			m->m_logical_id, err) == -1)
			return -1;
	}
	return 0;
}

/* §2.4: cattle at Size (plus the surge of a roll). */
static int
pass_cattle(struct pass *p, struct err *err)
{
	const struct group_spec *g = p->p_g;
	size_t old = n_outdated(p), surge = 0, cap;

	if (p->p_in->pi_rolling && old > 0)
		surge = g->g_max_surge < old ? g->g_max_surge : old;
	cap = g->g_size + surge;
	/* Scale down: the smallest IDs, whatever their hash (Q1). */
	for (size_t i = 0; p->p_n > cap && i < p->p_n - cap; i++)
		if (destroy(p, i, WHY_SHRINK, err) == -1)
			return -1;
	if (roll(p, g->g_size, err) == -1)
		return -1;
	/* Grow to the cap from what was counted: the roll's destroys are
	 * replaced by the next pass, as in InfraKit. */
	for (size_t i = p->p_n < cap ? p->p_n : cap; i < cap; i++) {
		if (p->p_hold) {
			p->p_out->pp_held++;
			continue;
		}
		if (add(p->p_out, PLAN_CREATE,
			i < g->g_size ? WHY_GROW : WHY_SURGE, NULL, NULL,
			err) == -1)
			return -1;
	}
	return tend(p, err);
}

static bool
listed(const struct group_spec *g, const char *lid)
{
	for (size_t i = 0; i < g->g_n_lids; i++)
		if (strcmp(g->g_lids[i], lid) == 0)
			return true;
	return false;
}

/* §2.6: one member per listed LogicalID. */
static int
pass_pets(struct pass *p, struct err *err)
{
	const struct group_spec *g = p->p_g;

	for (size_t i = 0; i < p->p_n; i++)
		if (!listed(g, p->p_live[i]->m_logical_id) &&
		    destroy(p, i, WHY_UNKNOWN, err) == -1)
			return -1;
	if (roll(p, g->g_n_lids, err) == -1)
		return -1;
	for (size_t l = 0; l < g->g_n_lids; l++) {
		bool have = false;

		/* Every listed entry that no member counted at the start of
		 * the pass carries (a pet rolled now comes back next pass). */
		for (size_t i = 0; i < p->p_n && !have; i++)
			have = strcmp(p->p_live[i]->m_logical_id,
				   g->g_lids[l]) == 0;
		if (have)
			continue;
		if (p->p_hold) {
			p->p_out->pp_held++;
			continue;
		}
		if (add(p->p_out, PLAN_CREATE, WHY_MISSING, NULL, g->g_lids[l],
			err) == -1)
			return -1;
	}
	return tend(p, err);
}

int
plan_pass(const struct plan_input *in, struct plan_pass *out, struct err *err)
{
	struct pass p = { in, in->pi_spec, out, NULL, NULL, 0, false };
	bool pets = gspec_is_pets(in->pi_spec);
	int rc = -1;

	p.p_hold = check_hold(in, out);
	if (collect(&p, pets, err) == -1)
		goto out;
	if ((pets ? pass_pets(&p, err) : pass_cattle(&p, err)) == -1)
		goto out;
	out->pp_outdated = n_outdated(&p);
	out->pp_roll_done = in->pi_rolling && out->pp_outdated == 0;
	rc = 0;
out:
	free(p.p_live);
	free(p.p_dead);
	return rc;
}

void
plan_pass_free(struct plan_pass *p)
{
	free(p->pp_act);
	memset(p, 0, sizeof(*p));
}

const char *
plan_reason(enum plan_why why)
{
	return why == WHY_ROLL ? "rolling_update" : "terminate";
}

int
plan_member_of(
    const struct inst_view *v, const char *hash_tag, struct member *m)
{
	memset(m, 0, sizeof(*m));
	if (strcmp(v->v_state, "destroying") == 0)
		return 0;
	m->m_id = v->v_id;
	m->m_logical_id = v->v_logical_id != NULL
	    ? v->v_logical_id
	    : tags_get(&v->v_tags, GSPEC_TAG_LOGICAL_ID);
	m->m_hash = tags_get(&v->v_tags, hash_tag);
	if (strcmp(v->v_state, "failed") == 0)
		m->m_state = MEMBER_FAILED;
	else if (strcmp(v->v_state, "provisioning") == 0)
		m->m_state = MEMBER_PROVISIONING;
	else
		m->m_state = v->v_reported ? MEMBER_RUNNING : MEMBER_STOPPED;
	return 1;
}

/* ---- commit plans (§3.2) ---------------------------------------------- */

/* Members that count, ascending ID; pets: only those with a LogicalID. */
static const struct member **
sorted_members(const struct plan_commit_in *in, bool pets, size_t *n)
{
	const struct member **v = calloc(in->ci_n + 1, sizeof(*v));

	*n = 0;
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < in->ci_n; i++) {
		const struct member *m = &in->ci_members[i];

		if (counts(in->ci_new, m) && (!pets || m->m_logical_id != NULL))
			v[(*n)++] = m;
	}
	qsort(v, *n, sizeof(*v), id_cmp);
	return v;
}

static bool
same_lids(const struct group_spec *a, const struct group_spec *b)
{
	if (a->g_n_lids != b->g_n_lids)
		return false;
	for (size_t i = 0; i < a->g_n_lids; i++)
		if (strcmp(a->g_lids[i], b->g_lids[i]) != 0)
			return false;
	return true;
}

/* What the controller refuses to change in an existing group. */
static int
check_change(
    const struct group_spec *o, const struct group_spec *n, struct err *err)
{
	if (gspec_is_pets(o) != gspec_is_pets(n)) {
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Allocation: group '%s' has %s and cannot "
		    "switch to %s (InfraKit would destroy every member): "
		    "destroy the group and commit it again",
		    n->g_id,
		    gspec_is_pets(o) ? "LogicalIDs (pets)" : "a Size (cattle)",
		    gspec_is_pets(o) ? "a Size (cattle)" : "LogicalIDs (pets)");
		return -1;
	}
	if (gspec_is_pets(o) && !same_lids(o, n)) {
		err_set(err, EIK_INVAL,
		    "Logical ID changes to a quorum is not currently "
		    "supported: commit the same "
		    "Spec.Properties.Allocation.LogicalIDs in the same order, "
		    "or destroy the group and commit it again");
		return -1;
	}
	if (strcmp(o->g_instance.gp_name, n->g_instance.gp_name) != 0) {
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Instance.Plugin changes from '%s' to "
		    "'%s': the members on '%s' would be left unmanaged; keep "
		    "the plugin, or destroy the group and commit it again",
		    o->g_instance.gp_name, n->g_instance.gp_name,
		    o->g_instance.gp_name);
		return -1;
	}
	return 0;
}

static size_t
count_outdated(
    const struct member *const *v, size_t from, size_t n, const char *hash)
{
	size_t u = 0;

	for (size_t i = from; i < n; i++)
		u += !is_current(v[i], hash);
	return u;
}

/* The scaler's plan: shrink first, then roll, then grow (§3.2, §3.3). */
static void
plan_cattle(const struct plan_commit_in *in, const struct member *const *v,
    size_t n, struct plan_commit *pc)
{
	size_t old = in->ci_old->g_size, new = in->ci_new->g_size;
	bool v0 = in->ci_style != GHASH_MASTER;
	const char *h = in->ci_new_hash;
	char *t = pc->pc_text;

	pc->pc_destroy = n > new ? n - new : 0;
	pc->pc_create = n < new ? new - n : 0;
	/* Who is left after the smallest IDs went. */
	pc->pc_roll = count_outdated(v, pc->pc_destroy, n, h);
	pc->pc_roll_start = pc->pc_roll > 0;
	if (new < old && pc->pc_roll == 0)
		(void)snprintf(t, PLAN_TEXT_MAX,
		    "Terminating %zu instances to reduce the group size to %zu",
		    old - new, new);
	else if (new < old)
		(void)snprintf(t, PLAN_TEXT_MAX,
		    "Terminating %zu instances to reduce the group size to "
		    "%zu,%s then performing a rolling update on %zu instances",
		    old - new, new,
		    in->ci_style == GHASH_V01 || in->ci_style == GHASH_V01_GO16
			? " "
			: "",
		    pc->pc_roll);
	else if (new > old && pc->pc_roll == 0)
		(void)snprintf(t, PLAN_TEXT_MAX,
		    "Adding %zu instances to increase the group size to %zu",
		    new - old, new);
	else if (new > old)
		(void)snprintf(t, PLAN_TEXT_MAX,
		    "Performing a rolling update on %zu instances, then adding "
		    "%zu instances to increase the group size to %zu",
		    pc->pc_roll, new - old, new);
	else if (pc->pc_roll > 0)
		(void)snprintf(t, PLAN_TEXT_MAX,
		    "Performing a rolling update on %zu instances",
		    pc->pc_roll);
	else if (v0 && strcmp(in->ci_old_hash, h) != 0)
		(void)snprintf(t, PLAN_TEXT_MAX,
		    "Adjusting the instance configuration, no restarts "
		    "necessary");
	else
		(void)snprintf(t, PLAN_TEXT_MAX, "Noop");
}

int
plan_commit(
    const struct plan_commit_in *in, struct plan_commit *out, struct err *err)
{
	const struct group_spec *g = in->ci_new;
	bool pets = gspec_is_pets(g);
	const struct member **v;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (in->ci_old != NULL && check_change(in->ci_old, g, err) == -1)
		return -1;
	if ((v = sorted_members(in, pets, &n)) == NULL) {
		oom(err);
		return -1;
	}
	if (in->ci_old == NULL) {
		/* A new group: its supervisor adopts what carries the tag. */
		out->pc_create = n < gspec_target(g) ? gspec_target(g) - n : 0;
		(void)snprintf(out->pc_text, sizeof(out->pc_text),
		    "Managing %zu instances", gspec_target(g));
	} else if (pets) {
		out->pc_roll = count_outdated(v, 0, n, in->ci_new_hash);
		out->pc_roll_start = out->pc_roll > 0;
		if (out->pc_roll > 0)
			(void)snprintf(out->pc_text, sizeof(out->pc_text),
			    "Performing a rolling update on %zu instances",
			    out->pc_roll);
		else
			(void)snprintf(
			    out->pc_text, sizeof(out->pc_text), "Noop");
	} else
		plan_cattle(in, v, n, out);
	free(v);
	return 0;
}

void
plan_commit_message(const char *id, const struct plan_commit *pc, bool pretend,
    char *out, size_t len)
{
	if (pretend)
		(void)snprintf(out, len, "Committing %s would involve: %s", id,
		    pc->pc_text);
	else
		(void)snprintf(out, len, "Committed %s: %s", id, pc->pc_text);
}
