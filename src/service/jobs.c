/*
 * Jobs: what runs on a worker thread. A job is a copy of everything the
 * work needs (built by the owner in job_prepare); the worker runs backend
 * operations under a deadline with the job's cancel token bound to its
 * thread, writes its findings into the job and posts it back. A worker
 * never reads or writes the owner's state, and never decides an
 * instance's state: it reports, the owner decides (work.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "store/attach.h"
#include "util/compat.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/net.h"

static int
job_paths(struct service *sv, const char *id, struct job *j)
{
	int n;

	if (store_staging_dir(
		&sv->sv_store, id, j->j_staging, sizeof(j->j_staging)) == -1 ||
	    store_inst_dir(&sv->sv_store, id, j->j_dir, sizeof(j->j_dir)) ==
		-1 ||
	    store_bundle_dir(
		&sv->sv_store, id, j->j_bundle, sizeof(j->j_bundle)) == -1 ||
	    store_vmx_path(&sv->sv_store, id, j->j_vmx, sizeof(j->j_vmx)) == -1)
		return -1;
	n = snprintf(j->j_staging_vmx, sizeof(j->j_staging_vmx), "%s/%s.vmx",
	    j->j_staging, id);
	return n < 0 || (size_t)n >= sizeof(j->j_staging_vmx) ? -1 : 0;
}

int
job_prepare(
    struct service *sv, struct inst *in, enum job_kind kind, struct job **out)
{
	const struct record *r = &in->in_rec;
	struct job *j = calloc(1, sizeof(*j));

	*out = NULL;
	if (j == NULL)
		return -1;
	j->j_om.om_kind = OM_JOB;
	j->j_kind = kind;
	proc_cancel_init(&j->j_cancel);
	j->j_bk = in->in_bk;
	j->j_inst = in;
	j->j_results = &sv->sv_results;
	j->j_op_timeout_ms = sv->sv_conf.sc_op_timeout_ms;
	j->j_stop_soft_ms = sv->sv_conf.sc_stop_soft_ms;
	(void)strlcpy(j->j_id, r->r_id, sizeof(j->j_id));
	j->j_reqno = kind == JOB_POWEROP && in->in_power_req != NULL
	    ? in->in_power_req->sr_reqno
	    : in->in_reqno;
	j->j_ssh_port = r->r_ssh_port;
	j->j_ssh_key = sv->sv_conf.sc_ssh_key;
	if (r->r_ip != NULL)
		(void)strlcpy(j->j_known_ip, r->r_ip, sizeof(j->j_known_ip));
	/* Before the worker starts: it reads j_op at once. */
	if (kind == JOB_POWEROP && in->in_power_req != NULL)
		j->j_op = in->in_power_req->sr_power;
	(void)strlcpy(j->j_template, r->r_template != NULL ? r->r_template : "",
	    sizeof(j->j_template));
	err_clear(&j->j_err);
	if (inst_spec_copy(&j->j_spec, &r->r_spec) == -1 ||
	    tags_copy(&j->j_tags, &r->r_tags) == -1 ||
	    job_paths(sv, r->r_id, j) == -1) {
		job_free(j);
		return -1;
	}
	/* Disks a record names that cannot be used fail the create with
	 * why (a strict Provision never records such a one). */
	if (kind == JOB_CREATE && att_job_disks(sv, in, j, &j->j_err) == -1)
		j->j_disks_bad = true;
	*out = j;
	return 0;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	inst_spec_free(&j->j_spec);
	tags_free(&j->j_tags);
	for (size_t i = 0; i < j->j_npower; i++) {
		free((char *)j->j_power[i].bp_id);
		free((char *)j->j_power[i].bp_dir);
		free((char *)j->j_power[i].bp_vmx);
	}
	free(j->j_power);
	att_list_free(&j->j_atts);
	free(j);
}

/* ---- helpers ----------------------------------------------------------- */

static void
bi_fill(const struct job *j, bool staging, struct bk_inst *bi)
{
	bi->bi_id = j->j_id;
	bi->bi_dir = staging ? j->j_staging : j->j_bundle;
	bi->bi_vmx = staging ? j->j_staging_vmx : j->j_vmx;
	bi->bi_template = j->j_template;
	bi->bi_spec = &j->j_spec;
	bi->bi_tags = &j->j_tags;
	bi->bi_deadline = mono_ms() + j->j_op_timeout_ms;
	bi->bi_ssh_port = j->j_ssh_port;
	bi->bi_disks = j->j_bk_disks;
	bi->bi_ndisks = j->j_ndisks;
	bi->bi_ssh_key = j->j_ssh_key;
}

/* Asks the backend whether the VM of j runs. */
static enum power_state
query_power(const struct job *j)
{
	struct bk_power p = { j->j_id, j->j_bundle, j->j_vmx, POWER_UNKNOWN };
	struct err e;
	int64_t t0 = mono_ns();
	int rc;

	if (j->j_bk->be_ops->power == NULL)
		return POWER_UNKNOWN;
	err_clear(&e);
	rc = j->j_bk->be_ops->power(
	    j->j_bk->be_ctx, &p, 1, mono_ms() + j->j_op_timeout_ms, &e);
	stats_bkop(BKOP_POWER, t0, rc, &e);
	return rc == -1 ? POWER_UNKNOWN : p.bp_state;
}

/* The backend's stop, hard, counted. */
static int
stop_hard(const struct job *j, const struct bk_inst *bi, struct err *err)
{
	int64_t t0 = mono_ns();
	int rc = j->j_bk->be_ops->stop(j->j_bk->be_ctx, bi, true, err);

	stats_bkop(BKOP_STOP_HARD, t0, rc, err);
	return rc;
}

/* The backend's remove, counted. */
static int
remove_vm(const struct job *j, const struct bk_inst *bi, struct err *err)
{
	int64_t t0 = mono_ns();
	int rc = j->j_bk->be_ops->remove(j->j_bk->be_ctx, bi, err);

	stats_bkop(BKOP_REMOVE, t0, rc, err);
	return rc;
}

/* The backend's create or start, counted. */
static int
create_or_start(struct job *j, bool create, struct bk_inst *bi)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	int64_t t0 = mono_ns();
	int rc = create ? ops->create(j->j_bk->be_ctx, bi, &j->j_err)
			: ops->start(j->j_bk->be_ctx, bi, &j->j_err);

	stats_bkop(create ? BKOP_CREATE : BKOP_START, t0, rc, &j->j_err);
	return rc;
}

/* Stops a VM: soft within its budget, then hard. */
static int
stop_vm(const struct job *j, struct err *err)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	struct bk_inst bi;
	struct err soft;

	if (ops->stop == NULL)
		return 0;
	bi_fill(j, false, &bi);
	if (j->j_stop_soft_ms > 0) {
		int64_t t0 = mono_ns();
		int rc;

		bi.bi_deadline = mono_ms() + j->j_stop_soft_ms;
		err_clear(&soft);
		rc = ops->stop(j->j_bk->be_ctx, &bi, false, &soft);
		stats_bkop(BKOP_STOP_SOFT, t0, rc, &soft);
		if (rc == 0)
			return 0;
		if (proc_cancelled()) {
			*err = soft;
			return -1;
		}
		log_info("instance %s: soft power-off failed (%s); powering "
			 "off hard",
		    j->j_id, soft.msg);
	}
	bi.bi_deadline = mono_ms() + j->j_op_timeout_ms;
	return stop_hard(j, &bi, err);
}

/* ---- the steps --------------------------------------------------------- */

/* Nothing half-made stays behind a failed provision. */
static void
rollback(struct job *j, bool started)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	struct bk_inst bi;
	struct err e;

	err_clear(&e);
	if (started || is_dir(j->j_bundle)) {
		if (stop_vm(j, &e) == -1)
			log_warnx("instance %s: rollback power-off: %s",
			    j->j_id, e.msg);
		if (ops->remove != NULL) {
			bi_fill(j, false, &bi);
			err_clear(&e);
			(void)remove_vm(j, &bi, &e);
		}
	}
	err_clear(&e);
	if (rm_tree(j->j_staging, &e) == -1 || rm_tree(j->j_bundle, &e) == -1)
		log_error("instance %s: rollback left files behind: %s",
		    j->j_id, e.msg);
}

/*
 * A pet's disk, made on first use: in its scratch directory (.staging),
 * flushed, described by attachment.json and renamed into place whole. An
 * existing one is used as it is, if this backend can attach it.
 */
static int
ensure_disk(struct job *j, const struct job_disk *jd, struct err *err)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	char file[PATH_BUF];
	struct bk_disk d;
	struct att_meta m;

	if (is_dir(jd->jd_dir)) {
		if (is_file(jd->jd_file))
			return 0;
		if (store_att_meta_read(jd->jd_dir, &m, NULL) == -1)
			memset(&m, 0, sizeof(m));
		err_set(err, EIK_INVAL,
		    "disk \"%s\" (%s) has no %s file: it is a %s disk%s%s; "
		    "the %s backend attaches %s disks: give this pet another "
		    "attachment ID, or delete the disk (attachment rm %s)",
		    jd->jd_name, jd->jd_dir, ops->disk_format,
		    m.am_format[0] != '\0' ? m.am_format : "different",
		    m.am_backend[0] != '\0' ? " made by the " : "",
		    m.am_backend[0] != '\0' ? m.am_backend : "", ops->name,
		    ops->disk_format, jd->jd_name);
		return -1;
	}
	if (rm_tree(jd->jd_scratch, err) == -1 ||
	    mkdir_p(jd->jd_scratch, STATE_DIR_MODE, err) == -1 ||
	    path_join(file, sizeof(file), jd->jd_scratch,
		strrchr(jd->jd_file, '/') + 1) == -1)
		return -1;
	d.bd_name = jd->jd_name;
	d.bd_file = file;
	d.bd_size_gb = j->j_spec.s_props.p_att_size_gb;
	memset(&m, 0, sizeof(m));
	(void)strlcpy(m.am_id, jd->jd_id, sizeof(m.am_id));
	(void)strlcpy(m.am_type, jd->jd_type, sizeof(m.am_type));
	(void)strlcpy(m.am_format, ops->disk_format, sizeof(m.am_format));
	(void)strlcpy(m.am_backend, ops->name, sizeof(m.am_backend));
	(void)strlcpy(m.am_made_for, j->j_id, sizeof(m.am_made_for));
	m.am_size_gb = d.bd_size_gb;
	m.am_created_ms = wall_ms();
	if (ops->make_disk(j->j_bk->be_ctx, &d, mono_ms() + j->j_op_timeout_ms,
		err) == -1 ||
	    fsync_files_in(jd->jd_scratch, err) == -1 ||
	    store_att_meta_write(jd->jd_scratch, &m, err) == -1 ||
	    store_att_commit(j->j_store, jd->jd_scratch, jd->jd_name, err) ==
		-1) {
		err_prefix(err, "disk %s", jd->jd_name);
		(void)rm_tree(jd->jd_scratch, NULL);
		return -1;
	}
	log_info("instance %s: made disk %s (%u GB %s)", j->j_id, jd->jd_name,
	    d.bd_size_gb, ops->disk_format);
	return 0;
}

static void
step_create(struct job *j)
{
	struct bk_inst bi;
	bool started = false;
	enum power_state pw = POWER_UNKNOWN;

	/* The record may still be only in the journal: the instance's
	 * directory may not exist yet. */
	if (mkdir_p(j->j_dir, STATE_DIR_MODE, &j->j_err) == -1)
		goto fail;
	if (j->j_disks_bad)
		goto fail;
	if (!is_dir(j->j_bundle)) {
		for (size_t i = 0; i < j->j_ndisks; i++)
			if (ensure_disk(j, &j->j_disks[i], &j->j_err) == -1)
				goto fail;
		if (rm_tree(j->j_staging, &j->j_err) == -1 ||
		    mkdir_p(j->j_staging, STATE_DIR_MODE, &j->j_err) == -1)
			goto fail;
		bi_fill(j, true, &bi);
		if (create_or_start(j, true, &bi) == -1)
			goto fail;
		if (proc_cancelled())
			goto fail;
		if (rename_durable(j->j_staging, j->j_bundle, &j->j_err) == -1)
			goto fail;
	} else
		pw = query_power(j); /* resumed: the bundle is complete */
	if (pw != POWER_RUNNING) {
		bi_fill(j, false, &bi);
		if (create_or_start(j, false, &bi) == -1)
			goto fail;
	}
	started = true;
	j->j_rc = 0;
	return;
fail:
	j->j_rc = -1;
	if (proc_cancelled()) {
		/* Parked: shutdown (the record still says provisioning, so
		 * the next start resumes it) or a Destroy (which removes
		 * whatever exists). Staging never survives. */
		(void)rm_tree(j->j_staging, NULL);
		return;
	}
	if (j->j_err.msg[0] == '\0')
		err_set(&j->j_err, EIK_INTERNAL, "provision failed");
	rollback(j, started);
}

static void
step_destroy(struct job *j)
{
	j->j_rc = -1;
	if (is_dir(j->j_bundle)) {
		enum power_state pw;

		if (stop_vm(j, &j->j_err) == -1 && query_power(j) != POWER_OFF)
			return;
		/* Never delete the files of a VM that still runs. */
		pw = query_power(j);
		if (pw == POWER_RUNNING || pw == POWER_PAUSED) {
			err_set(&j->j_err, EIK_BACKEND,
			    "the VM is still %s after powering it off",
			    power_state_name(pw));
			return;
		}
		if (j->j_bk->be_ops->remove != NULL) {
			struct bk_inst bi;

			bi_fill(j, false, &bi);
			if (remove_vm(j, &bi, &j->j_err) == -1)
				return;
		}
	}
	if (rm_tree(j->j_staging, &j->j_err) == -1 ||
	    rm_tree(j->j_bundle, &j->j_err) == -1)
		return;
	err_clear(&j->j_err);
	j->j_rc = 0;
}

/* The guest's address (when the backend finds one), then whether SSH
 * answers there and the guest says it finished its initialisation. */
static void
step_net(struct job *j)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	struct bk_inst bi;
	char host[64];
	unsigned port = 22;
	int ssh, init;

	bi_fill(j, false, &bi);
	j->j_rc = 0;
	/* The address once known is kept: asking the hypervisor again can
	 * take long (vmrun getGuestIPAddress waits for the guest's tools). */
	if (j->j_known_ip[0] != '\0')
		(void)strlcpy(j->j_ip, j->j_known_ip, sizeof(j->j_ip));
	else if (ops->guest_ip != NULL) {
		int64_t t0 = mono_ns();

		j->j_rc = ops->guest_ip(j->j_bk->be_ctx, &bi, j->j_ip,
		    sizeof(j->j_ip), j->j_mac, sizeof(j->j_mac), &j->j_err);
		stats_bkop(BKOP_IP, t0, j->j_rc, &j->j_err);
	}
	if (j->j_ssh_port != 0) {
		(void)strlcpy(host, "127.0.0.1", sizeof(host));
		port = j->j_ssh_port;
	} else if (j->j_ip[0] != '\0')
		(void)strlcpy(host, j->j_ip, sizeof(host));
	else {
		j->j_ready = 0;
		return;
	}
	ssh = net_probe_ssh(host, port, NET_PROBE_TIMEOUT_MS);
	init = -1;
	if (ops->guest_ready != NULL) {
		int64_t t0 = mono_ns();

		init = ops->guest_ready(j->j_bk->be_ctx, &bi);
		stats_bkop(BKOP_READY, t0, 0, NULL);
	}
	j->j_ready = ssh && init != 0 ? 1 : 0;
}

/* Start, stop or restart for a client. */
static void
step_powerop(struct job *j)
{
	const struct backend_ops *ops = j->j_bk->be_ops;
	struct bk_inst bi;

	j->j_rc = 0;
	if (j->j_op != SVC_POWER_START) {
		if (j->j_op == SVC_POWER_STOP_HARD) {
			bi_fill(j, false, &bi);
			j->j_rc = ops->stop != NULL
			    ? stop_hard(j, &bi, &j->j_err)
			    : 0;
		} else
			j->j_rc = stop_vm(j, &j->j_err);
	}
	if (j->j_rc == 0 &&
	    (j->j_op == SVC_POWER_START || j->j_op == SVC_POWER_RESTART)) {
		bi_fill(j, false, &bi);
		j->j_rc = create_or_start(j, false, &bi);
	}
}

static void
step_power(struct job *j)
{
	int64_t t0 = mono_ns();

	j->j_rc = j->j_bk->be_ops->power(j->j_bk->be_ctx, j->j_power,
	    j->j_npower, mono_ms() + j->j_op_timeout_ms, &j->j_err);
	stats_bkop(BKOP_POWER, t0, j->j_rc, &j->j_err);
	if (j->j_rc == -1)
		for (size_t i = 0; i < j->j_npower; i++)
			j->j_power[i].bp_state = POWER_UNKNOWN;
}

/* attachment ls / rm: the disks on disk, or one deleted. */
static void
step_att(struct job *j)
{
	if (j->j_att_op == ATT_REMOVE)
		j->j_rc =
		    store_att_remove(j->j_store, j->j_att_name, &j->j_err);
	else
		j->j_rc = store_att_list(j->j_store, &j->j_atts, &j->j_err);
}

void *
job_main(void *arg)
{
	struct job *j = arg;
	int64_t t0 = mono_ns();

	proc_cancel_bind(&j->j_cancel);
	log_ctx_set(
	    j->j_reqno, j->j_id[0] != '\0' ? j->j_id : NULL, NULL, NULL);
	switch (j->j_kind) {
	case JOB_CREATE:
		step_create(j);
		break;
	case JOB_DESTROY:
		step_destroy(j);
		break;
	case JOB_CLEANUP:
		(void)rm_tree(j->j_staging, NULL);
		(void)rm_tree(j->j_bundle, NULL);
		j->j_rc = 0;
		break;
	case JOB_NET:
		step_net(j);
		break;
	case JOB_POWEROP:
		step_powerop(j);
		break;
	case JOB_POWER:
		step_power(j);
		break;
	case JOB_ATT:
		step_att(j);
		break;
	}
	j->j_cancelled = proc_cancelled();
	proc_cancel_bind(NULL);
	stats_job(j, t0);
	log_ctx_clear();
	/* The last thing this thread does with the job. */
	if (mbox_post(j->j_results, &j->j_om.om_msg) == -1)
		abort();
	return NULL;
}
