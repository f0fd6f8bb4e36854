/*
 * The group controller's decisions beyond one plan pass (plan.h), pure so
 * they are unit-tested without threads or a service:
 *
 * - Slow start: while a config has not shown that it boots (no member of
 *   the target hash runs yet) or provisions failed since it last did, the
 *   creates whose outcome is unknown never exceed what is left of
 *   Recovery.MaxFailures. A template that cannot boot is therefore tried
 *   at most MaxFailures times, however large the group; a config that
 *   works is created at full speed (the service's --max-parallel).
 * - Restarts (Recovery.RestartPolicy "restart"): a stopped member is
 *   started again in place, up to POLICY_RESTART_TRIES times, each given
 *   a wait (serve --group-restart-wait) to run again; then it is replaced
 *   like InfraKit does.
 * - When the next look is due without an event: a rolling update waiting
 *   for a new member to have run Updating.Duration / Count.
 * - The one-line "what the controller is doing now" of `group describe`.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "group/plan.h"

#define POLICY_RESTART_TRIES 2
#define POLICY_RESTART_WAIT_DEFAULT_MS 15000 /* serve --group-restart-wait */
#define POLICY_DOING_MAX 384
#define POLICY_NO_CAP SIZE_MAX

/*
 * How many more creates may start now. running and provisioning count the
 * members of the target hash in those states (provisioning ones are
 * creates whose outcome is unknown). POLICY_NO_CAP when the config is
 * trusted or MaxFailures is 0.
 */
size_t policy_create_cap(const struct group_spec *g, unsigned failures,
    size_t running, size_t provisioning);

/* One stopped member's restarts. */
struct policy_restart {
	unsigned pr_tries;  /* starts asked for */
	int64_t pr_last_ms; /* mono ms the last one ended; 0: never */
	bool pr_inflight;   /* one is being carried out */
};

enum policy_restart_do {
	POLICY_RESTART_NOW,    /* ask for a start */
	POLICY_RESTART_WAIT,   /* one was asked for recently: wait */
	POLICY_RESTART_REPLACE /* the tries are spent: replace it */
};

/* What to do with a stopped member now, each start given wait_ms after
 * it ended to show the member running; *at (WAIT) is when to look again
 * (0: when the start in flight ends). */
enum policy_restart_do policy_restart(
    const struct policy_restart *r, int64_t now, int64_t wait_ms, int64_t *at);

/* The earliest mono ms after now at which a running member of in's
 * target hash has run long enough for a roll to count it (plan_settle_ms),
 * or 0 when no roll waits for that. */
int64_t policy_settle_wake(const struct plan_input *in);

/* What one pass found and did, for policy_doing. */
struct policy_view {
	bool v_destroying; /* the group is being destroyed */
	bool v_rolling;	   /* a rolling update is under way */
	size_t v_target;   /* Size or the number of LogicalIDs */
	size_t v_running;  /* members up */
	size_t v_provisioning;
	size_t v_stopped;  /* off behind our back */
	size_t v_outdated; /* left to roll */
	size_t v_creates;  /* started by this pass */
	size_t v_destroys;
	size_t v_restarts;
	size_t v_held; /* creates held back (hold or slow start) */
	enum plan_hold v_hold;
	const char *v_note;    /* plan_pass's pp_note, or "" */
	const char *v_roll_id; /* the member this pass rolled, or NULL */
};

/* E.g. "rolling update: replacing i-0ab (2 outdated left)",
 * "creating 2 members (3 of 5 up)", "converged: 3 of 3 running". */
void policy_doing(const struct policy_view *v, char *out, size_t len);

#endif /* POLICY_H */
