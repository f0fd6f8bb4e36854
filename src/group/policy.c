/*
 * The controller's decisions beyond a plan pass. See policy.h.
 */
#include <stdio.h>
#include <string.h>

#include "group/policy.h"

size_t
policy_create_cap(const struct group_spec *g, unsigned failures, size_t running,
    size_t provisioning)
{
	size_t budget;

	if (g->g_max_failures == 0 || (failures == 0 && running > 0))
		return POLICY_NO_CAP;
	budget =
	    failures < g->g_max_failures ? g->g_max_failures - failures : 0;
	return budget > provisioning ? budget - provisioning : 0;
}

enum policy_restart_do
policy_restart(
    const struct policy_restart *r, int64_t now, int64_t wait_ms, int64_t *at)
{
	*at = 0;
	if (r->pr_inflight)
		return POLICY_RESTART_WAIT;
	if (r->pr_tries > 0 && now - r->pr_last_ms < wait_ms) {
		*at = r->pr_last_ms + wait_ms;
		return POLICY_RESTART_WAIT;
	}
	return r->pr_tries >= POLICY_RESTART_TRIES ? POLICY_RESTART_REPLACE
						   : POLICY_RESTART_NOW;
}

int64_t
policy_settle_wake(const struct plan_input *in)
{
	int64_t settle = plan_settle_ms(in), best = 0;

	if (!in->pi_rolling || settle <= 0)
		return 0;
	for (size_t i = 0; i < in->pi_n; i++) {
		const struct member *m = &in->pi_members[i];
		int64_t at = m->m_since_ms + settle;

		if (m->m_state != MEMBER_RUNNING || m->m_hash == NULL ||
		    strcmp(m->m_hash, in->pi_hash) != 0 || at <= in->pi_now_ms)
			continue;
		if (best == 0 || at < best)
			best = at;
	}
	return best;
}

static const char *
plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* The rolling update's part. */
static void
doing_roll(const struct policy_view *v, char *out, size_t len)
{
	if (v->v_roll_id != NULL)
		(void)snprintf(out, len,
		    "rolling update: replacing %s (%zu outdated left)",
		    v->v_roll_id, v->v_outdated);
	else if (v->v_hold != PLAN_HOLD_NONE)
		(void)snprintf(
		    out, len, "rolling update halted: %s", v->v_note);
	else if (v->v_provisioning > 0 || v->v_creates > 0)
		(void)snprintf(out, len,
		    "rolling update: waiting for %zu new member%s to run (%zu "
		    "outdated left)",
		    v->v_provisioning + v->v_creates,
		    plural(v->v_provisioning + v->v_creates), v->v_outdated);
	else
		(void)snprintf(out, len,
		    "rolling update: waiting for new members to settle (%zu "
		    "outdated left)",
		    v->v_outdated);
}

void
policy_doing(const struct policy_view *v, char *out, size_t len)
{
	size_t up = v->v_running;

	if (v->v_destroying)
		(void)snprintf(out, len,
		    "destroying the group: %zu member%s left",
		    v->v_running + v->v_provisioning + v->v_stopped,
		    plural(v->v_running + v->v_provisioning + v->v_stopped));
	else if (v->v_rolling && v->v_outdated > 0)
		doing_roll(v, out, len);
	else if (v->v_hold != PLAN_HOLD_NONE && v->v_held > 0)
		(void)snprintf(out, len, "holding %zu create%s: %s", v->v_held,
		    plural(v->v_held), v->v_note);
	else if (v->v_creates > 0 || v->v_destroys > 0)
		(void)snprintf(out, len,
		    "%s%zu, destroying %zu (%zu of %zu up)",
		    v->v_held > 0 ? "slow start: creating " : "creating ",
		    v->v_creates, v->v_destroys, up, v->v_target);
	else if (v->v_held > 0)
		(void)snprintf(out, len,
		    "slow start: %zu create%s held until a member runs",
		    v->v_held, plural(v->v_held));
	else if (v->v_restarts > 0)
		(void)snprintf(out, len, "restarting %zu stopped member%s",
		    v->v_restarts, plural(v->v_restarts));
	else if (v->v_provisioning > 0)
		(void)snprintf(out, len,
		    "waiting for %zu provisioning member%s to run (%zu of %zu "
		    "up)",
		    v->v_provisioning, plural(v->v_provisioning), up,
		    v->v_target);
	else if (up == v->v_target)
		(void)snprintf(out, len, "converged: %zu of %zu running%s", up,
		    v->v_target,
		    v->v_outdated > 0 ? " (some with an older config)" : "");
	else
		(void)snprintf(out, len, "%zu of %zu running", up, v->v_target);
}
