/*
 * Work: which job an instance needs, the run queues, starting worker
 * threads, and what the owner makes of a finished job. Owner thread only.
 *
 * Two classes run side by side, each up to --max-parallel jobs: creates,
 * and everything else (destroys, cleanups, address lookups). A Destroy
 * never waits behind creates that hang until their deadline. Power
 * queries run one per backend, beside both. Work starts only from a
 * durable record, and never while a user change of the instance is in
 * flight; a Destroy cancels a create that is still running.
 */
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/log.h"

/* Creates; destroys and other changes; address and readiness probes
 * (which may wait for a guest's tools): none waits behind another. */
enum { Q_CREATE = 0, Q_OTHER = 1, Q_NET = 2, Q_CLASSES = 3 };

static int
job_class(enum job_kind k)
{
	return k == JOB_CREATE ? Q_CREATE : k == JOB_NET ? Q_NET : Q_OTHER;
}

/* The job in needs now, or 0. */
static enum job_kind
needed(struct service *sv, struct inst *in, int64_t now)
{
	if (!in->in_indexed || in->in_tomb || in->in_grave ||
	    in->in_change != NULL || in->in_job != NULL ||
	    in->in_durable_seq < in->in_rec.r_seq ||
	    (in->in_not_before != 0 && in->in_not_before > now))
		return 0;
	if (in->in_power_req != NULL && in->in_rec.r_state == ST_RUNNING)
		return JOB_POWEROP;
	switch (in->in_rec.r_state) {
	case ST_PROVISIONING:
		/* Not while another instance may still use its disks. */
		return att_blocked(sv, in) ? 0 : JOB_CREATE;
	case ST_DESTROYING:
		return JOB_DESTROY;
	case ST_FAILED:
		return in->in_cleanup ? JOB_CLEANUP : 0;
	case ST_RUNNING:
		return in->in_need_net && in->in_power != POWER_OFF &&
			in->in_power != POWER_SUSPENDED &&
			in->in_power != POWER_PAUSED
		    ? JOB_NET
		    : 0;
	}
	return 0;
}

void
work_timer(struct service *sv, struct inst *in, int64_t at)
{
	in->in_not_before = at;
	if (sv->sv_next_timer == 0 || at < sv->sv_next_timer)
		sv->sv_next_timer = at;
}

static void
queue_push(struct service *sv, int c, struct inst *in)
{
	if (sv->sv_runq_n[c] == sv->sv_runq_cap[c]) {
		size_t cap =
		    sv->sv_runq_cap[c] == 0 ? 64 : sv->sv_runq_cap[c] * 2;
		struct inst **nv = realloc(sv->sv_runq[c], cap * sizeof(*nv));

		if (nv == NULL) {
			work_timer(sv, in, mono_ms() + SPAWN_RETRY_MS);
			return;
		}
		sv->sv_runq[c] = nv;
		sv->sv_runq_cap[c] = cap;
	}
	sv->sv_runq[c][sv->sv_runq_n[c]++] = in;
	in->in_queued = true;
}

void
work_kick(struct service *sv, struct inst *in)
{
	enum job_kind k;

	if (in->in_job != NULL) {
		/* A Destroy makes a running create (or address lookup)
		 * pointless, a power request an address lookup: cancel it;
		 * the other follows. */
		if ((in->in_rec.r_state == ST_DESTROYING &&
			in->in_job->j_kind != JOB_DESTROY) ||
		    (in->in_power_req != NULL && in->in_job->j_kind == JOB_NET))
			proc_cancel_request(&in->in_job->j_cancel);
		return;
	}
	if (in->in_queued || sv->sv_stopping)
		return;
	k = needed(sv, in, mono_ms());
	if (k != 0)
		queue_push(sv, job_class(k), in);
}

static int
start_job(struct job *j)
{
	if (pthread_create(&j->j_thread, NULL, job_main, j) != 0) {
		log_warnx("cannot start a worker thread; trying again soon");
		return -1;
	}
	return 0;
}

int
work_spawn(struct service *sv, struct job *j)
{
	if (start_job(j) == -1)
		return -1;
	sv->sv_free_jobs++;
	return 0;
}

static void
dispatch_class(struct service *sv, int c)
{
	size_t i = 0;
	int64_t now = mono_ms();

	while (i < sv->sv_runq_n[c] &&
	    sv->sv_running[c] < sv->sv_conf.sc_max_parallel) {
		struct inst *in = sv->sv_runq[c][i++];
		enum job_kind k;
		struct job *j;

		in->in_queued = false;
		k = needed(sv, in, now);
		if (k == 0)
			continue;
		if (job_class(k) != c) {
			/* It changed its mind (a Destroy while it waited to
			 * be created): to the other queue. */
			queue_push(sv, job_class(k), in);
			continue;
		}
		if (job_prepare(sv, in, k, &j) == -1 || start_job(j) == -1) {
			job_free(j);
			work_timer(sv, in, now + SPAWN_RETRY_MS);
			continue;
		}
		if (k == JOB_CREATE)
			in->in_rec.r_attempts++;
		in->in_job = j;
		sv->sv_running[c]++;
	}
	if (i == 0)
		return;
	memmove(sv->sv_runq[c], sv->sv_runq[c] + i,
	    (sv->sv_runq_n[c] - i) * sizeof(sv->sv_runq[c][0]));
	sv->sv_runq_n[c] -= i;
}

void
work_dispatch(struct service *sv)
{
	if (sv->sv_stopping)
		return;
	dispatch_class(sv, Q_OTHER);
	dispatch_class(sv, Q_CREATE);
	dispatch_class(sv, Q_NET);
}

/* ---- outcomes ---------------------------------------------------------- */

static void
set_str(char **dst, const char *src)
{
	char *d = src != NULL ? strdup(src) : NULL;

	free(*dst);
	*dst = d;
}

static void
on_create(struct service *sv, struct inst *in, struct job *j)
{
	if (j->j_cancelled) {
		if (sv->sv_stopping)
			log_info("instance %s: provision interrupted by "
				 "shutdown; resumed at the next start",
			    j->j_id);
		return; /* or a Destroy took over: work_kick starts it */
	}
	if (in->in_rec.r_state != ST_PROVISIONING)
		return;
	if (j->j_rc == 0) {
		in->in_rec.r_state = ST_RUNNING;
		in->in_power = POWER_RUNNING;
		set_str(&in->in_rec.r_error, NULL);
		work_net_reset(in);
		log_info("instance %s: running", j->j_id);
	} else {
		log_error(
		    "instance %s: provision failed: %s", j->j_id, j->j_err.msg);
		in->in_rec.r_state = ST_FAILED;
		set_str(&in->in_rec.r_error, j->j_err.msg);
		sv->sv_failed++;
	}
	durable_note(sv, in);
	if (in->in_rec.r_state == ST_FAILED)
		work_prune_failed(sv);
}

static void
on_destroy(struct service *sv, struct inst *in, struct job *j)
{
	int64_t delay;

	if (in->in_rec.r_state != ST_DESTROYING)
		return;
	if (j->j_rc == 0) {
		durable_tomb(sv, in);
		return;
	}
	if (j->j_cancelled && sv->sv_stopping) {
		log_info("instance %s: destroy interrupted by shutdown (%s)",
		    j->j_id, j->j_err.msg);
		return;
	}
	delay = (int64_t)DESTROY_RETRY_MIN_MS
	    << (in->in_retries < 9 ? in->in_retries : 9);
	if (delay > DESTROY_RETRY_MAX_MS)
		delay = DESTROY_RETRY_MAX_MS;
	audit_destroy_failed(sv, in, &j->j_err);
	in->in_retries++;
	set_str(&in->in_rec.r_error, j->j_err.msg);
	work_timer(sv, in, mono_ms() + delay);
	log_error("instance %s: destroy failed, retrying in %lld s: %s",
	    j->j_id, (long long)(delay / 1000), j->j_err.msg);
}

void
work_net_reset(struct inst *in)
{
	const struct backend_ops *ops = in->in_bk->be_ops;

	/* Only where an address or an SSH port can be found: otherwise
	 * readiness is not known (the test backend). */
	in->in_need_net = ops->guest_ip != NULL || in->in_rec.r_ssh_port != 0;
	in->in_net_tries = 0;
	in->in_net_since = mono_ms();
	in->in_ready = in->in_need_net ? 0 : -1;
}

static void
on_net(struct service *sv, struct inst *in, struct job *j)
{
	bool changed = false;
	int64_t now = mono_ms(), since = now - in->in_net_since;

	if (in->in_rec.r_state != ST_RUNNING)
		return;
	if (j->j_mac[0] != '\0' &&
	    (in->in_rec.r_mac == NULL ||
		strcmp(in->in_rec.r_mac, j->j_mac) != 0)) {
		set_str(&in->in_rec.r_mac, j->j_mac);
		changed = true;
	}
	if (j->j_ip[0] != '\0' &&
	    (in->in_rec.r_ip == NULL ||
		strcmp(in->in_rec.r_ip, j->j_ip) != 0)) {
		set_str(&in->in_rec.r_ip, j->j_ip);
		changed = true;
		log_info("instance %s: IP %s", j->j_id, j->j_ip);
	}
	if (in->in_ready != j->j_ready) {
		in->in_ready = j->j_ready;
		req_changed(sv);
		if (j->j_ready == 1)
			log_info("instance %s: ready", j->j_id);
	}
	in->in_net_tries++;
	if (j->j_ready == 1 &&
	    (in->in_rec.r_ip != NULL || in->in_rec.r_ssh_port != 0 ||
		j->j_bk->be_ops->guest_ip == NULL))
		in->in_need_net = false;
	else if (since > NET_GIVE_UP_MS) {
		in->in_need_net = false;
		log_info("instance %s: not ready after %lld s; no longer "
			 "probing (start or restart it to probe again)",
		    j->j_id, (long long)(since / 1000));
	} else if (!j->j_cancelled)
		work_timer(sv, in,
		    now +
			(since < NET_FAST_FOR_MS ? NET_FAST_MS : NET_SLOW_MS));
	if (changed)
		durable_note(sv, in);
}

static void
on_powerop(struct service *sv, struct inst *in, struct job *j)
{
	struct svc_req *r = in->in_power_req;

	in->in_power_req = NULL;
	if (j->j_rc == 0) {
		in->in_power =
		    j->j_op == SVC_POWER_STOP || j->j_op == SVC_POWER_STOP_HARD
		    ? POWER_OFF
		    : POWER_RUNNING;
		in->in_ready = 0;
		if (in->in_power == POWER_RUNNING)
			work_net_reset(in);
		req_changed(sv);
		log_info("instance %s: %s", j->j_id,
		    in->in_power == POWER_OFF ? "stopped" : "started");
	}
	if (r != NULL)
		svc_req_answer(r, j->j_rc, &j->j_err);
}

static void
on_power(struct service *sv, struct job *j)
{
	for (size_t i = 0; i < sv->sv_nbk; i++)
		if (sv->sv_power_jobs[i] == j)
			sv->sv_power_jobs[i] = NULL;
	if (j->j_rc == -1 && !j->j_cancelled)
		log_warnx("%s: power-state refresh failed: %s",
		    j->j_bk->be_ops->name, j->j_err.msg);
	for (size_t i = 0; i < j->j_npower; i++) {
		struct inst *in = index_get(sv, j->j_power[i].bp_id);
		enum power_state ps = j->j_power[i].bp_state;

		/* Instances a job changes skip this look (a probe of the
		 * network changes nothing). */
		if (in == NULL || in->in_rec.r_state != ST_RUNNING ||
		    (in->in_job != NULL && in->in_job->j_kind != JOB_NET))
			continue;
		if (in->in_power != ps && ps != POWER_UNKNOWN) {
			log_ctx_set(0, in->in_rec.r_id, NULL, NULL);
			log_info("instance %s: power %s -> %s", in->in_rec.r_id,
			    power_state_name(in->in_power),
			    power_state_name(ps));
			log_ctx_clear();
		}
		if (in->in_power != ps && ps != POWER_UNKNOWN) {
			req_changed(sv);
			if (ps == POWER_RUNNING)
				work_net_reset(in);
			else
				in->in_ready = 0;
		}
		in->in_power = ps;
		if (in->in_need_net)
			work_kick(sv, in);
	}
}

void
work_on_job(struct service *sv, struct job *j)
{
	struct inst *in = j->j_inst;

	if (j->j_thread_joined == false) {
		(void)pthread_join(j->j_thread, NULL);
		j->j_thread_joined = true;
		if (j->j_kind == JOB_ATT)
			sv->sv_free_jobs--;
		else if (j->j_kind != JOB_POWER)
			sv->sv_running[job_class(j->j_kind)]--;
	}
	if (j->j_kind == JOB_POWER || j->j_kind == JOB_ATT) {
		if (j->j_kind == JOB_POWER)
			on_power(sv, j);
		else
			att_on_job(sv, j);
		job_free(j);
		return;
	}
	if (in->in_change != NULL) {
		/* Its outcome waits for the user change in flight. */
		in->in_held_job = j;
		return;
	}
	log_ctx_set(j->j_reqno, j->j_id, NULL, NULL);
	in->in_job = NULL;
	switch (j->j_kind) {
	case JOB_CREATE:
		on_create(sv, in, j);
		break;
	case JOB_DESTROY:
		on_destroy(sv, in, j);
		break;
	case JOB_CLEANUP:
		in->in_cleanup = false;
		break;
	case JOB_NET:
		on_net(sv, in, j);
		break;
	case JOB_POWEROP:
		on_powerop(sv, in, j);
		break;
	case JOB_POWER:
	case JOB_ATT:
		break;
	}
	job_free(j);
	work_kick(sv, in);
	/* A destroy done, a rollback finished: a disk may be free. */
	att_released(sv);
	log_ctx_clear();
}

/* Removes the oldest failed records beyond FAILED_KEEP. */
void
work_prune_failed(struct service *sv)
{
	for (size_t i = 0; i < sv->sv_n && sv->sv_failed > FAILED_KEEP; i++) {
		struct inst *in = sv->sv_v[i];

		if (in->in_rec.r_state != ST_FAILED || in->in_job != NULL ||
		    in->in_change != NULL || in->in_tomb)
			continue;
		sv->sv_failed--;
		durable_tomb(sv, in);
	}
}

/* ---- timers ------------------------------------------------------------ */

static void
start_power(struct service *sv, size_t b)
{
	const struct bkent *bk = &sv->sv_bk[b];
	struct job *j;
	size_t n = 0;

	if (bk->be_ops->power == NULL || sv->sv_power_jobs[b] != NULL)
		return;
	for (size_t i = 0; i < sv->sv_n; i++)
		if (sv->sv_v[i]->in_bk == bk &&
		    sv->sv_v[i]->in_rec.r_state == ST_RUNNING)
			n++;
	if (n == 0 || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->j_om.om_kind = OM_JOB;
	j->j_kind = JOB_POWER;
	j->j_bk = bk;
	j->j_results = &sv->sv_results;
	j->j_op_timeout_ms = sv->sv_conf.sc_op_timeout_ms;
	proc_cancel_init(&j->j_cancel);
	j->j_power = calloc(n, sizeof(*j->j_power));
	for (size_t i = 0; j->j_power != NULL && i < sv->sv_n; i++) {
		struct inst *in = sv->sv_v[i];
		char dir[PATH_BUF], vmx[PATH_BUF];
		struct bk_power *p = &j->j_power[j->j_npower];

		if (in->in_bk != bk || in->in_rec.r_state != ST_RUNNING ||
		    store_bundle_dir(&sv->sv_store, in->in_rec.r_id, dir,
			sizeof(dir)) == -1 ||
		    store_vmx_path(
			&sv->sv_store, in->in_rec.r_id, vmx, sizeof(vmx)) == -1)
			continue;
		j->j_npower++;
		p->bp_id = strdup(in->in_rec.r_id);
		p->bp_dir = strdup(dir);
		p->bp_vmx = strdup(vmx);
		if (p->bp_id == NULL || p->bp_dir == NULL || p->bp_vmx == NULL)
			break;
	}
	if (j->j_power == NULL || j->j_npower != n || start_job(j) == -1) {
		job_free(j);
		return;
	}
	sv->sv_power_jobs[b] = j;
}

void
work_timers(struct service *sv, int64_t now)
{
	if (sv->sv_stopping)
		return;
	if (now >= sv->sv_next_poll) {
		for (size_t b = 0; b < sv->sv_nbk; b++)
			start_power(sv, b);
		sv->sv_next_poll = now + sv->sv_conf.sc_poll_ms;
	}
	if (sv->sv_next_timer == 0 || now < sv->sv_next_timer)
		return;
	sv->sv_next_timer = 0;
	for (size_t i = 0; i < sv->sv_n; i++) {
		struct inst *in = sv->sv_v[i];

		if (in->in_not_before == 0)
			continue;
		if (in->in_not_before > now) {
			if (sv->sv_next_timer == 0 ||
			    in->in_not_before < sv->sv_next_timer)
				sv->sv_next_timer = in->in_not_before;
			continue;
		}
		in->in_not_before = 0;
		if (in->in_jdirty && in->in_change == NULL)
			durable_note(sv, in);
		work_kick(sv, in);
	}
}

int64_t
work_next_deadline(const struct service *sv, int64_t now)
{
	/* No power refreshes while stopping: only completions wake it. */
	int64_t t = sv->sv_stopping ? now + 1000 : sv->sv_next_poll;

	if (sv->sv_next_timer != 0 && sv->sv_next_timer < t)
		t = sv->sv_next_timer;
	if (sv->sv_nmat > 0 && sv->sv_mat_not_before > now &&
	    sv->sv_mat_not_before < t)
		t = sv->sv_mat_not_before;
	if (sv->sv_ngraves > 0 && sv->sv_graves_not_before > now &&
	    sv->sv_graves_not_before < t)
		t = sv->sv_graves_not_before;
	if (sv->sv_jused > 0 && sv->sv_reset_not_before > now &&
	    sv->sv_reset_not_before < t)
		t = sv->sv_reset_not_before;
	return t > now ? t - now : 0;
}

void
work_cancel_all(struct service *sv)
{
	for (size_t i = 0; i < sv->sv_n; i++)
		if (sv->sv_v[i]->in_job != NULL &&
		    sv->sv_v[i]->in_held_job == NULL)
			proc_cancel_request(&sv->sv_v[i]->in_job->j_cancel);
	for (size_t b = 0; b < sv->sv_nbk; b++)
		if (sv->sv_power_jobs[b] != NULL)
			proc_cancel_request(&sv->sv_power_jobs[b]->j_cancel);
}

bool
work_idle(const struct service *sv)
{
	for (int c = 0; c < Q_CLASSES; c++)
		if (sv->sv_running[c] > 0)
			return false;
	for (size_t b = 0; b < sv->sv_nbk; b++)
		if (sv->sv_power_jobs[b] != NULL)
			return false;
	return sv->sv_free_jobs == 0;
}
