/*
 * The group controller's counters for GET /metrics (util/metrics.h): what
 * it asked of the service (creates, destroys, restarts, adoptions) by
 * outcome, the commits it answered, the rolling updates it began and
 * finished, and how many groups it manages. Updated on the controller's
 * thread, read by the renderer: relaxed atomics.
 */
#include <pthread.h>

#include "group/ginternal.h"
#include "util/metrics.h"

static const char *const act_names[GACT_N] = {
	[GACT_CREATE] = "create",
	[GACT_DESTROY] = "destroy",
	[GACT_RESTART] = "restart",
	[GACT_LABEL] = "label",
};
static _Atomic uint64_t act_cells[GACT_N * METRICS_N_OUTCOMES];
static struct mfamily act_family = {
	.mf_name = "ikvf_group_actions_total",
	.mf_help = "What the group controller asked of the service for its "
		   "groups (create a member, destroy one, restart a stopped "
		   "one, adopt one by labelling it), by outcome.",
	.mf_type = MT_COUNTER,
	.mf_label = { "action", "outcome" },
	.mf_values = { act_names, metrics_outcome_names },
	.mf_nvalues = { GACT_N, METRICS_N_OUTCOMES },
	.mf_cells = act_cells,
	.mf_ncells = GACT_N * METRICS_N_OUTCOMES,
};

/* "ok", "pretend", then the error kinds (outcome index + 1). */
static const char *commit_names[METRICS_N_OUTCOMES + 1];
static _Atomic uint64_t commit_cells[METRICS_N_OUTCOMES + 1];
static struct mfamily commit_family = {
	.mf_name = "ikvf_group_commits_total",
	.mf_help = "Group commits (CommitGroup, SetSize) the controller "
		   "answered, by outcome (pretend: a plan only).",
	.mf_type = MT_COUNTER,
	.mf_label = { "outcome" },
	.mf_values = { commit_names },
	.mf_nvalues = { METRICS_N_OUTCOMES + 1 },
	.mf_cells = commit_cells,
	.mf_ncells = METRICS_N_OUTCOMES + 1,
};

static const char *const roll_names[] = { "started", "done" };
static _Atomic uint64_t roll_cells[2];
static struct mfamily roll_family = {
	.mf_name = "ikvf_group_rolls_total",
	.mf_help = "Rolling updates the controller began (a commit that "
		   "changed the config of members) and finished.",
	.mf_type = MT_COUNTER,
	.mf_label = { "event" },
	.mf_values = { roll_names },
	.mf_nvalues = { 2 },
	.mf_cells = roll_cells,
	.mf_ncells = 2,
};

static _Atomic uint64_t groups_cells[1];
static struct mfamily groups_family = {
	.mf_name = "ikvf_groups",
	.mf_help = "Groups the built-in controller manages.",
	.mf_type = MT_GAUGE,
	.mf_cells = groups_cells,
	.mf_ncells = 1,
};

static void
register_all(void)
{
	commit_names[0] = "ok";
	commit_names[1] = "pretend";
	for (size_t i = 1; i < METRICS_N_OUTCOMES; i++)
		commit_names[i + 1] = metrics_outcome_names[i];
	(void)metrics_register(&act_family);
	(void)metrics_register(&commit_family);
	(void)metrics_register(&roll_family);
	(void)metrics_register(&groups_family);
}

void
gmetrics_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, register_all);
}

void
gmetrics_action(enum gact a, int rc, const struct err *err)
{
	metrics_inc(&act_family, (size_t)a,
	    rc == 0 ? 0
		    : metrics_outcome(err != NULL && err->code != EIK_OK
			      ? err->code
			      : EIK_INTERNAL));
}

void
gmetrics_commit(int rc, bool pretend, const struct err *err)
{
	size_t i = rc == 0 ? (pretend ? 1 : 0)
			   : metrics_outcome(err != NULL && err->code != EIK_OK
				     ? err->code
				     : EIK_INTERNAL) +
		1;

	metrics_inc(&commit_family, i, 0);
}

void
gmetrics_roll(bool started)
{
	metrics_inc(&roll_family, started ? 0 : 1, 0);
}

void
gmetrics_groups(size_t n)
{
	metrics_set(&groups_family, 0, 0, n);
}
