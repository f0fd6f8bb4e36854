/*
 * The owner thread, and the service's life cycle. See service.h.
 *
 * The loop: wait on the doorbell (or the next timer), take every request
 * and every result that arrived, handle them, then hand the gathered
 * journal entries to the writer in one batch, write records, start jobs.
 * Handling never blocks: slow things are messages to other threads.
 *
 * Stopping: service_stop posts OM_STOP. The owner closes the request box
 * (later requests are answered "shutting down" by svc_submit itself),
 * cancels every job, and keeps looping until every request it took is
 * answered, every job is back and the journal writer is idle. Then the
 * helpers are told to stop, and the owner returns; service_close joins
 * everything before anything is freed.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/fsutil.h"
#include "util/log.h"

static void
on_result(struct service *sv, struct omsg *om)
{
	switch (om->om_kind) {
	case OM_JOB:
		work_on_job(sv, (struct job *)om);
		break;
	case OM_JBATCH:
		durable_on_batch(sv, (struct jbatch *)om);
		break;
	case OM_JRESET:
		durable_on_reset(sv, (struct jbatch *)om);
		break;
	case OM_STORE:
		durable_on_store(sv, (struct smsg *)om);
		break;
	case OM_STOP:
		if (!sv->sv_stopping) {
			log_debug("service: stopping");
			sv->sv_stopping = true;
			mbox_close(&sv->sv_inbox);
			work_cancel_all(sv);
			req_notify(sv);
			req_drop_power(sv);
		}
		break;
	}
}

/* Whether everything taken is finished (stopping). */
static bool
quiescent(const struct service *sv)
{
	if (!work_idle(sv) || sv->sv_jbusy || durable_pending(sv))
		return false;
	for (size_t i = 0; i < sv->sv_n; i++)
		if (sv->sv_v[i]->in_change != NULL ||
		    sv->sv_v[i]->in_deferred != NULL ||
		    sv->sv_v[i]->in_power_req != NULL)
			return false;
	return true;
}

static void
handle_all(struct service *sv)
{
	struct msg *m, *next;

	for (m = mbox_take(&sv->sv_results); m != NULL; m = next) {
		next = m->m_next;
		on_result(sv, (struct omsg *)m);
	}
	for (m = mbox_take(&sv->sv_inbox); m != NULL; m = next) {
		next = m->m_next;
		req_handle(sv, (struct svc_req *)m);
	}
}

static void *
owner_main(void *arg)
{
	struct service *sv = arg;

	for (;;) {
		int64_t now = mono_ms();
		int64_t wait = work_next_deadline(sv, now);
		struct pollfd p = { bell_fd(&sv->sv_bell), POLLIN, 0 };

		if (sv->sv_stopping && wait > 100)
			wait = 100;
		if (poll(&p, 1, wait > INT32_MAX ? INT32_MAX : (int)wait) ==
			-1 &&
		    errno != EINTR)
			log_warn("service: poll");
		bell_drain(&sv->sv_bell);
		handle_all(sv);
		now = mono_ms();
		work_timers(sv, now);
		work_dispatch(sv);
		durable_pump(sv);
		req_notify(sv);
		if (sv->sv_stopping && quiescent(sv)) {
			/* Requests that raced the close. */
			handle_all(sv);
			if (quiescent(sv))
				break;
		}
	}
	mbox_close(&sv->sv_jq);
	mbox_close(&sv->sv_sq);
	return NULL;
}

/* ---- life cycle -------------------------------------------------------- */

static int
open_threads(struct service *sv, struct err *err)
{
	if (bell_open(&sv->sv_bell, err) == -1 ||
	    mbox_init(&sv->sv_inbox, &sv->sv_bell, err) == -1 ||
	    mbox_init(&sv->sv_results, &sv->sv_bell, err) == -1 ||
	    mbox_init(&sv->sv_jq, NULL, err) == -1 ||
	    mbox_init(&sv->sv_sq, NULL, err) == -1)
		return -1;
	if (pthread_create(&sv->sv_jthread, NULL, journal_main, sv) != 0) {
		err_set(err, EIK_INTERNAL, "cannot start the journal thread");
		return -1;
	}
	sv->sv_jstarted = true;
	if (pthread_create(&sv->sv_sthread, NULL, recwriter_main, sv) != 0) {
		err_set(err, EIK_INTERNAL, "cannot start the record thread");
		return -1;
	}
	sv->sv_sstarted = true;
	if (pthread_create(&sv->sv_owner, NULL, owner_main, sv) != 0) {
		err_set(err, EIK_INTERNAL, "cannot start the service thread");
		return -1;
	}
	sv->sv_owner_started = true;
	return 0;
}

/*
 * Where pick_ssh_port's round robin starts: a port derived from the vm-dir
 * (FNV-1a of its path), so that two plugins on one host (two users, or
 * tests run in parallel) hand out ports from far-apart places instead of
 * racing for SSH_PORT_MIN. An instance's port is still chosen once and
 * kept in its record.
 */
static unsigned
ssh_port_seed(const char *dir)
{
	uint32_t h = 2166136261u;

	for (const char *p = dir != NULL ? dir : ""; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return SSH_PORT_MIN + h % (SSH_PORT_MAX - SSH_PORT_MIN + 1);
}

struct service *
service_open(const struct service_conf *conf, struct err *err)
{
	struct service *sv;

	sv = calloc(1, sizeof(*sv));
	if (sv == NULL || conf->sc_n_backends == 0) {
		free(sv);
		err_set(err, EIK_INTERNAL,
		    conf->sc_n_backends == 0 ? "no backend" : "out of memory");
		return NULL;
	}
	sv->sv_store.st_lockfd = -1;
	sv->sv_bell.bl_fd[0] = sv->sv_bell.bl_fd[1] = -1;
	sv->sv_conf = *conf;
	sv->sv_svc.ops = &service_ops;
	sv->sv_svc.ctx = sv;
	sv->sv_stop_msg.om_kind = OM_STOP;
	sv->sv_gen = 1; /* a watch from 0 answers at once */
	sv->sv_last_ssh_port = ssh_port_seed(conf->sc_vm_dir);
	sv->sv_nbk = conf->sc_n_backends;
	sv->sv_bk = calloc(sv->sv_nbk, sizeof(*sv->sv_bk));
	sv->sv_power_jobs = calloc(sv->sv_nbk, sizeof(*sv->sv_power_jobs));
	if (sv->sv_bk == NULL || sv->sv_power_jobs == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto fail;
	}
	memcpy(sv->sv_bk, conf->sc_backends, sv->sv_nbk * sizeof(*sv->sv_bk));
	if (sv->sv_conf.sc_max_parallel == 0)
		sv->sv_conf.sc_max_parallel = MAX_PARALLEL_DEFAULT;
	if (sv->sv_conf.sc_poll_ms < POLL_INTERVAL_MIN_MS)
		sv->sv_conf.sc_poll_ms = POLL_INTERVAL_MIN_MS;
	if (sv->sv_conf.sc_op_timeout_ms == 0)
		sv->sv_conf.sc_op_timeout_ms = OP_TIMEOUT_DEFAULT_MS;
	stats_register();
	if (audit_log_init(&sv->sv_audit, conf->sc_vm_dir, err) == -1 ||
	    recover(sv, err) == -1 || open_threads(sv, err) == -1)
		goto fail;
	return sv;
fail:
	service_close(sv);
	return NULL;
}

const struct svc *
service_svc(struct service *sv)
{
	return &sv->sv_svc;
}

void
service_stop(struct service *sv)
{
	if (sv == NULL || !sv->sv_owner_started)
		return;
	if (!sv->sv_stop_posted) {
		sv->sv_stop_posted = true;
		(void)mbox_post(&sv->sv_results, &sv->sv_stop_msg.om_msg);
	}
	(void)pthread_join(sv->sv_owner, NULL);
	sv->sv_owner_started = false;
}

/* Says how many VMs keep running once the owner has left (read without
 * it: nothing else touches the index). They are left running by design:
 * the next start re-attaches to them. */
static void
log_running(const struct service *sv)
{
	size_t n = 0;

	for (size_t i = 0; i < sv->sv_n; i++)
		if (sv->sv_v[i]->in_rec.r_state == ST_RUNNING &&
		    sv->sv_v[i]->in_power == POWER_RUNNING)
			n++;
	if (n > 0)
		log_info("%zu VM%s still running, left running by design: the "
			 "next start of the plugin on this vm-dir takes %s "
			 "over (destroy %s first to stop %s)",
		    n, n == 1 ? " is" : "s are", n == 1 ? "it" : "them",
		    n == 1 ? "it" : "them", n == 1 ? "it" : "them");
}

/* What is left once every thread is joined: the owner's state. */
static void
free_state(struct service *sv)
{
	for (size_t i = 0; i < sv->sv_n; i++)
		inst_free(sv->sv_v[i]);
	free(sv->sv_v);
	for (size_t i = 0; i < sv->sv_ngraves; i++)
		inst_free(sv->sv_graves[i]);
	free(sv->sv_graves);
	free(sv->sv_mat);
	for (size_t c = 0; c < sizeof(sv->sv_runq) / sizeof(sv->sv_runq[0]);
	     c++)
		free(sv->sv_runq[c]);
	free(sv->sv_power_jobs);
	free(sv->sv_pending);
	free(sv->sv_att_rm);
	durable_batch_free(sv->sv_open);
}

void
service_close(struct service *sv)
{
	if (sv == NULL)
		return;
	service_stop(sv);
	log_running(sv);
	/* The helpers end once their boxes are closed and empty. */
	if (sv->sv_jstarted) {
		mbox_close(&sv->sv_jq);
		(void)pthread_join(sv->sv_jthread, NULL);
	}
	if (sv->sv_sstarted) {
		mbox_close(&sv->sv_sq);
		(void)pthread_join(sv->sv_sthread, NULL);
	}
	/* Completions they posted after the owner left. */
	{
		struct msg *m, *next;

		for (m = mbox_take(&sv->sv_results); m != NULL; m = next) {
			struct omsg *om = (struct omsg *)m;

			next = m->m_next;
			if (om->om_kind == OM_STORE)
				durable_on_store(sv, (struct smsg *)om);
			else if (om->om_kind == OM_JBATCH)
				durable_on_batch(sv, (struct jbatch *)om);
			else if (om->om_kind == OM_JRESET)
				durable_on_reset(sv, (struct jbatch *)om);
		}
	}
	if (sv->sv_bell.bl_fd[0] != -1) {
		mbox_fini(&sv->sv_inbox);
		mbox_fini(&sv->sv_results);
		mbox_fini(&sv->sv_jq);
		mbox_fini(&sv->sv_sq);
	}
	bell_close(&sv->sv_bell);
	free_state(sv);
	journal_close(sv->sv_journal);
	if (sv->sv_ids_open)
		idgen_close(&sv->sv_ids);
	if (sv->sv_store_open)
		store_close(&sv->sv_store);
	free(sv->sv_bk);
	free(sv);
}
