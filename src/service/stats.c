/*
 * What GET /metrics shows of the service: the snapshot only the owner can
 * take (SVC_STATS: instances by state, the run queues, the journal), and
 * the counters its workers update as they go (backend operations and jobs,
 * by kind and outcome, with their durations). The counters are relaxed
 * atomics (util/metrics.h): a worker never waits for anybody to count.
 */
#include <pthread.h>
#include <string.h>

#include "service/internal.h"
#include "util/log.h"
#include "util/metrics.h"

const char *const svc_stat_state_names[SS_STATES] = {
	[SS_PROVISIONING] = "provisioning",
	[SS_RUNNING] = "running",
	[SS_OFF] = "off",
	[SS_SUSPENDED] = "suspended",
	[SS_PAUSED] = "paused",
	[SS_UNKNOWN] = "unknown",
	[SS_DESTROYING] = "destroying",
	[SS_FAILED] = "failed",
};

const char *const svc_queue_names[SVC_QUEUES] = { "create", "other", "net" };

/* Seconds, in ns: 1 ms to 30 min. */
static const uint64_t op_bounds[] = { 1000000, 5000000, 10000000, 50000000,
	100000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
	30000000000, 60000000000, 120000000000, 300000000000, 600000000000,
	1800000000000 };
#define NB (sizeof(op_bounds) / sizeof(op_bounds[0]))

static const char *const bkop_names[BKOP_N] = {
	[BKOP_CREATE] = "create",
	[BKOP_START] = "start",
	[BKOP_STOP_SOFT] = "stop_soft",
	[BKOP_STOP_HARD] = "stop_hard",
	[BKOP_REMOVE] = "remove",
	[BKOP_POWER] = "power",
	[BKOP_IP] = "ip",
	[BKOP_READY] = "ready",
};

static _Atomic uint64_t bkop_cells[BKOP_N * METRICS_N_OUTCOMES];
static struct mfamily bkop_family = {
	.mf_name = "ikvf_backend_ops_total",
	.mf_help = "Calls into the hypervisor backend, by operation and "
		   "outcome (ok, or the error's kind).",
	.mf_type = MT_COUNTER,
	.mf_label = { "op", "outcome" },
	.mf_values = { bkop_names, metrics_outcome_names },
	.mf_nvalues = { BKOP_N, METRICS_N_OUTCOMES },
	.mf_cells = bkop_cells,
	.mf_ncells = BKOP_N * METRICS_N_OUTCOMES,
};
static _Atomic uint64_t bkdur_cells[BKOP_N * (NB + 1)];
static _Atomic uint64_t bkdur_sums[BKOP_N];
static struct mfamily bkdur_family = {
	.mf_name = "ikvf_backend_op_duration_seconds",
	.mf_help = "Time one call into the hypervisor backend took, by "
		   "operation.",
	.mf_type = MT_HISTOGRAM,
	.mf_label = { "op" },
	.mf_values = { bkop_names },
	.mf_nvalues = { BKOP_N },
	.mf_bounds_ns = op_bounds,
	.mf_nbounds = NB,
	.mf_cells = bkdur_cells,
	.mf_sums = bkdur_sums,
	.mf_ncells = BKOP_N * (NB + 1),
};

/* By enum job_kind - 1. */
static const char *const job_names[] = { "create", "destroy", "cleanup", "net",
	"powerop", "power", "attach" };
#define NJ (sizeof(job_names) / sizeof(job_names[0]))
_Static_assert(NJ == JOB_ATT, "a name for each enum job_kind");
static _Atomic uint64_t job_cells[NJ * METRICS_N_OUTCOMES];
static struct mfamily job_family = {
	.mf_name = "ikvf_jobs_total",
	.mf_help = "Background jobs done (create: clone, configure, boot; "
		   "destroy: power off, delete; net: address and readiness; "
		   "power: one power-state refresh; attach: pets' disks), by "
		   "kind and outcome.",
	.mf_type = MT_COUNTER,
	.mf_label = { "kind", "outcome" },
	.mf_values = { job_names, metrics_outcome_names },
	.mf_nvalues = { NJ, METRICS_N_OUTCOMES },
	.mf_cells = job_cells,
	.mf_ncells = NJ * METRICS_N_OUTCOMES,
};
static _Atomic uint64_t jobdur_cells[NJ * (NB + 1)];
static _Atomic uint64_t jobdur_sums[NJ];
static struct mfamily jobdur_family = {
	.mf_name = "ikvf_job_duration_seconds",
	.mf_help = "Time one background job took, by kind.",
	.mf_type = MT_HISTOGRAM,
	.mf_label = { "kind" },
	.mf_values = { job_names },
	.mf_nvalues = { NJ },
	.mf_bounds_ns = op_bounds,
	.mf_nbounds = NB,
	.mf_cells = jobdur_cells,
	.mf_sums = jobdur_sums,
	.mf_ncells = NJ * (NB + 1),
};

static void
register_all(void)
{
	(void)metrics_register(&bkop_family);
	(void)metrics_register(&bkdur_family);
	(void)metrics_register(&job_family);
	(void)metrics_register(&jobdur_family);
}

void
stats_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, register_all);
}

void
stats_bkop(enum bkop op, int64_t t0, int rc, const struct err *err)
{
	int code = rc != -1 ? EIK_OK : err != NULL ? err->code : EIK_INTERNAL;

	metrics_inc(&bkop_family, (size_t)op,
	    metrics_outcome(code == EIK_OK && rc == -1 ? EIK_INTERNAL : code));
	metrics_observe(&bkdur_family, (size_t)op, 0, mono_ns() - t0);
}

void
stats_job(const struct job *j, int64_t t0)
{
	size_t k = (size_t)j->j_kind - 1;
	int code = j->j_rc == 0	      ? EIK_OK
	    : j->j_err.code != EIK_OK ? j->j_err.code
				      : EIK_INTERNAL;
	int64_t ns = mono_ns() - t0;

	metrics_inc(&job_family, k, metrics_outcome(code));
	metrics_observe(&jobdur_family, k, 0, ns);
	/* The worker's own line, in its request's context (log.h); not for
	 * the power refreshes, which come every --poll-interval. */
	if (j->j_kind != JOB_POWER && log_enabled(LOG_LVL_DEBUG))
		log_debug("%s job: %s in %.1f ms", job_names[k],
		    j->j_rc == 0 ? "done" : j->j_err.msg, (double)ns / 1e6);
}

static enum svc_stat_state
stat_state(const struct inst *in)
{
	switch (in->in_rec.r_state) {
	case ST_PROVISIONING:
		return SS_PROVISIONING;
	case ST_DESTROYING:
		return SS_DESTROYING;
	case ST_FAILED:
		return SS_FAILED;
	case ST_RUNNING:
		break;
	}
	switch (in->in_power) {
	case POWER_RUNNING:
		return SS_RUNNING;
	case POWER_OFF:
		return SS_OFF;
	case POWER_SUSPENDED:
		return SS_SUSPENDED;
	case POWER_PAUSED:
		return SS_PAUSED;
	default:
		return SS_UNKNOWN;
	}
}

void
stats_answer(struct service *sv, struct svc_req *r)
{
	struct svc_stats *st = &r->sr_stats;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < sv->sv_n; i++) {
		const struct inst *in = sv->sv_v[i];

		st->ss_instances[stat_state(in)]++;
		st->ss_changes += in->in_change != NULL;
	}
	for (size_t q = 0; q < SVC_QUEUES; q++) {
		st->ss_queued[q] = sv->sv_runq_n[q];
		st->ss_running[q] = sv->sv_running[q];
	}
	for (size_t b = 0; b < sv->sv_nbk; b++)
		st->ss_power_jobs += sv->sv_power_jobs[b] != NULL;
	st->ss_journal_bytes = sv->sv_jused;
	st->ss_records_pending = sv->sv_nmat;
	for (const struct svc_req *w = sv->sv_watchers; w != NULL;
	     w = (const struct svc_req *)w->sr_msg.m_next)
		st->ss_watchers++;
	svc_req_answer(r, 0, NULL);
}
