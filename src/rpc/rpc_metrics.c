/*
 * GET /metrics: Prometheus' text exposition format 0.0.4. Every family the
 * layers registered (util/metrics.h: counters and histograms any thread
 * updates), then the service's snapshot (SVC_STATS, taken by its owner
 * thread when the scrape asked: instances by state, run queues, jobs in
 * flight, the journal), then the build. rpc.c makes the call.
 */
#include <string.h>

#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/metrics.h"

struct gauge {
	const char *g_name;
	const char *g_help;
};

static int
write_labeled(struct buf *out, const struct gauge *g, const char *label,
    const char *const *values, const uint64_t *v, size_t n)
{
	if (metrics_write_head(out, g->g_name, "gauge", g->g_help) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (metrics_write_sample(
			out, g->g_name, label, values[i], v[i]) == -1)
			return -1;
	return 0;
}

static int
write_one(struct buf *out, const struct gauge *g, uint64_t v)
{
	if (metrics_write_head(out, g->g_name, "gauge", g->g_help) == -1)
		return -1;
	return metrics_write_sample(out, g->g_name, NULL, NULL, v);
}

static const struct gauge g_instances = { "ikvf_instances",
	"Instances the service knows, by state: provisioning, destroying, "
	"failed, or for a running one its power state (running, off, "
	"suspended, paused, unknown)." };
static const struct gauge g_queued = { "ikvf_run_queue_depth",
	"Instances waiting for a worker, by run queue (create; other: "
	"destroys and cleanups; net: address and readiness probes)." };
static const struct gauge g_inflight = { "ikvf_jobs_in_flight",
	"Background jobs running, by run queue; power: power-state "
	"refreshes." };
static const struct gauge g_journal = { "ikvf_journal_used_bytes",
	"Bytes of entries in the journal's current epoch." };
static const struct gauge g_pending = { "ikvf_records_unwritten",
	"Durable records still to be written as instance.json." };
static const struct gauge g_changes = { "ikvf_changes_waiting",
	"User changes (Provision, Destroy, Label) waiting for their journal "
	"flush." };
static const struct gauge g_watchers = { "ikvf_watchers",
	"Clients waiting for the next visible change (the group "
	"controller's watch)." };

static int
write_snapshot(struct buf *out, const struct svc_stats *st)
{
	static const char *const inflight_names[SVC_QUEUES + 1] = { "create",
		"other", "net", "power" };
	uint64_t inflight[SVC_QUEUES + 1];

	memcpy(inflight, st->ss_running, sizeof(st->ss_running));
	inflight[SVC_QUEUES] = st->ss_power_jobs;
	if (write_labeled(out, &g_instances, "state", svc_stat_state_names,
		st->ss_instances, SS_STATES) == -1 ||
	    write_labeled(out, &g_queued, "queue", svc_queue_names,
		st->ss_queued, SVC_QUEUES) == -1 ||
	    write_labeled(out, &g_inflight, "queue", inflight_names, inflight,
		SVC_QUEUES + 1) == -1 ||
	    write_one(out, &g_journal, st->ss_journal_bytes) == -1 ||
	    write_one(out, &g_pending, st->ss_records_pending) == -1 ||
	    write_one(out, &g_changes, st->ss_changes) == -1)
		return -1;
	return write_one(out, &g_watchers, st->ss_watchers);
}

static int
write_build(struct buf *out)
{
	const char *version, *revision;

	rpc_version(&version, &revision);
	if (metrics_write_head(out, "ikvf_build_info", "gauge",
		"The program's version and the revision it was built "
		"from.") == -1 ||
	    buf_addstr(out, "ikvf_build_info{version=\"") == -1 ||
	    metrics_escape_label(out, version) == -1 ||
	    buf_addstr(out, "\",revision=\"") == -1 ||
	    metrics_escape_label(out, revision) == -1)
		return -1;
	return buf_addstr(out, "\"} 1\n");
}

int
rpc_metrics_render(const struct svc_req *r, struct buf *out)
{
	if (metrics_render(out) == -1 ||
	    (r != NULL && write_snapshot(out, &r->sr_stats) == -1))
		return -1;
	return write_build(out);
}
