/*
 * The QEMU backend: the same template .vmx bundles, run by
 * qemu-system-x86_64 where VMware is absent (Linux servers, CI). A template
 * .vmx is translated into a QEMU machine: memsize, numvcpus, its disks (as
 * qcow2 overlays backed by the template's disks, so the template is never
 * written, or standalone copies for Clone full/copy), CD-ROM images, one
 * NIC on user-mode networking with a loopback port forwarded to the
 * guest's SSH or on a host bridge (qemu_net.c), the serial port on a unix
 * socket in the bundle whose output QEMU also appends to serial.log there
 * (qemu_log.c reads the guest's readiness from it). Each VM is its own
 * daemonised QEMU with a pidfile and a QMP socket in its bundle; power
 * state, pause, ACPI power-off and quit go through QMP, so a restarted
 * plugin re-attaches to the VMs that kept running. The command line itself
 * is built from the .vmx by qemu_argv.c, one helper per device.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend/backend.h"
#include "util/buf.h"
#include "backend/bundle.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/proc.h"
#include "backend/qemu/qemu.h"
#include "backend/qemu/qemu_argv.h"
#include "backend/qemu/qemu_log.h"
#include "backend/qemu/qemu_net.h"
#include "backend/qemu/qmp.h"
#include "vmx/vmx.h"

#define QEMU_START_TIMEOUT_MS 60000
#define QEMU_IMG_TIMEOUT_MS 120000
#define QEMU_CONVERT_TIMEOUT_MS (30 * 60000) /* a full copy of a disk */
#define QEMU_ACPI_REPEAT_MS 3000 /* power button pressed again after */
#define QEMU_QUIT_WAIT_MS 10000
#define QMP_TIMEOUT_MS 5000
#define KVM_PROBE_MS 1500
#define VNC_NAME "vnc.address" /* LaunchGUI on VNC: HOST:PORT */

struct qemu {
	char qe_bin[PATH_BUF];
	char qe_img[PATH_BUF];
	struct qemu_net qe_net;
	enum clone_mode qe_clone; /* --clone */
	atomic_bool qe_kvm;	  /* KVM works here */
	pthread_mutex_t qe_probe_mu;
	bool qe_probed; /* under qe_probe_mu */
	/* Why the private QMP directory was last refused ("" when it was
	 * not): logged when it changes, not at every refresh. */
	pthread_mutex_t qe_qmp_mu;
	char qe_qmp_bad[ERR_MSG_MAX];
};

/* ---- open / validate -------------------------------------------------- */

/* The tool at flag, else name in PATH; -1 with why (a flag's errno). */
static int
find_tool(
    const char *flag, const char *name, char *out, size_t len, const char **why)
{
	*why = "not in PATH";
	if (flag != NULL && flag[0] != '\0') {
		if (access(flag, X_OK) == -1) {
			*why = strerror(errno);
			return -1;
		}
		if (is_dir(flag)) {
			*why = "a directory, not the program";
			return -1;
		}
		return strlcpy(out, flag, len) < len ? 0 : -1;
	}
	return proc_find_in_path(name, out, len);
}

/* Runs a throw-away VM with KVM for a moment: /dev/kvm may open and still
 * fail at the first instruction (nested virtualisation without support). */
static bool
kvm_works(const struct qemu *q)
{
	char dir[] = "/tmp/ikvf-kvmprobe-XXXXXX";
	char sock[PATH_BUF], pidf[PATH_BUF], status[64] = "";
	struct proc_result res;
	struct proc_spec ps;
	struct err e;
	bool ok = false;
	int fd;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd == -1)
		return false;
	(void)close(fd);
	if (mkdtemp(dir) == NULL)
		return false;
	(void)snprintf(sock, sizeof(sock), "%s/q", dir);
	(void)snprintf(pidf, sizeof(pidf), "%s/p", dir);
	{
		char qmparg[PATH_BUF + 32];
		const char *argv[] = { q->qe_bin, "-accel", "kvm", "-machine",
			"pc", "-m", "32", "-nodefaults", "-no-user-config",
			"-display", "none", "-qmp", qmparg, "-daemonize",
			"-pidfile", pidf, NULL };

		(void)snprintf(
		    qmparg, sizeof(qmparg), "unix:%s,server,nowait", sock);
		memset(&ps, 0, sizeof(ps));
		ps.ps_argv = argv;
		ps.ps_timeout_ms = 10000;
		err_clear(&e);
		if (proc_run(&ps, &res, &e) == 0 && res.pr_status == 0) {
			/* A KVM that lacks CPU features QEMU's default model
			 * asks for runs the BIOS, then stops the guest with
			 * "KVM internal error" once the kernel uses them. */
			if (strstr(buf_str(&res.pr_err),
				"doesn't support requested feature") != NULL)
				(void)strlcpy(status, "lacks CPU features",
				    sizeof(status));
			sleep_ms(KVM_PROBE_MS);
			if (status[0] == '\0' &&
			    qmp_status(sock, status, sizeof(status),
				mono_ms() + QMP_TIMEOUT_MS, &e) == 0)
				ok = strcmp(status, "running") == 0;
			(void)qmp_call(sock, "quit", NULL, NULL,
			    mono_ms() + QMP_TIMEOUT_MS, &e);
		}
		proc_result_free(&res);
	}
	sleep_ms(100);
	(void)rm_tree(dir, NULL);
	if (!ok)
		log_info("qemu: /dev/kvm opens but KVM %s here; using TCG",
		    status[0] != '\0' ? status : "does not run a guest");
	return ok;
}

static int
qe_open(const struct backend_conf *conf, void **ctx, struct err *err)
{
	struct qemu *q = calloc(1, sizeof(*q));
	const char *why;
	char warn[1024];

	if (q == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	if (find_tool(conf->bc_qemu, "qemu-system-x86_64", q->qe_bin,
		sizeof(q->qe_bin), &why) == -1) {
		if (conf->bc_qemu != NULL)
			err_set(err, EIK_NOTFOUND,
			    "qemu-system-x86_64 not found at %s: %s (--qemu "
			    "names the qemu-system-x86_64 program itself)",
			    conf->bc_qemu, why);
		else
			err_set(err, EIK_NOTFOUND,
			    "qemu-system-x86_64 not found in PATH: install "
			    "QEMU (Debian: apt-get install qemu-system-x86 "
			    "qemu-utils) or point --qemu at it");
		free(q);
		return -1;
	}
	/* qemu-img next to it, else in PATH. */
	{
		char *slash = strrchr(q->qe_bin, '/');
		int n = slash != NULL
		    ? snprintf(q->qe_img, sizeof(q->qe_img), "%.*s/qemu-img",
			  (int)(slash - q->qe_bin), q->qe_bin)
		    : -1;

		if (n < 0 || access(q->qe_img, X_OK) == -1) {
			if (proc_find_in_path("qemu-img", q->qe_img,
				sizeof(q->qe_img)) == -1) {
				err_set(err, EIK_NOTFOUND,
				    "qemu-img not found: install qemu-utils");
				free(q);
				return -1;
			}
		}
	}
	if (qemu_net_parse(conf->bc_qemu_network, &q->qe_net, err) == -1 ||
	    qemu_net_check(&q->qe_net, q->qe_bin, warn, sizeof(warn), err) ==
		-1) {
		free(q);
		return -1;
	}
	if (warn[0] != '\0' && !conf->bc_quiet)
		log_warnx("qemu: %s", warn);
	q->qe_clone = conf->bc_clone;
	(void)pthread_mutex_init(&q->qe_probe_mu, NULL);
	(void)pthread_mutex_init(&q->qe_qmp_mu, NULL);
	log_info("qemu: %s (%s); network: %s%s", q->qe_bin, q->qe_img,
	    q->qe_net.qn_bridge ? "bridge " : "user mode, SSH forwarded",
	    q->qe_net.qn_br);
	*ctx = q;
	return 0;
}

/* Whether to use KVM, probed once, when the first VM starts (the probe
 * runs a VM for a moment: not at every plugin start). */
static bool
use_kvm(struct qemu *q)
{
	(void)pthread_mutex_lock(&q->qe_probe_mu);
	if (!q->qe_probed) {
		atomic_store(&q->qe_kvm, kvm_works(q));
		q->qe_probed = true;
		log_info("qemu: %s",
		    atomic_load(&q->qe_kvm) ? "KVM"
					    : "TCG (software emulation)");
	}
	(void)pthread_mutex_unlock(&q->qe_probe_mu);
	return atomic_load(&q->qe_kvm);
}

static void
qe_close(void *ctx)
{
	struct qemu *q = ctx;

	(void)pthread_mutex_destroy(&q->qe_probe_mu);
	(void)pthread_mutex_destroy(&q->qe_qmp_mu);
	free(q);
}

static int
qe_validate(
    void *ctx, const struct inst_props *p, const char *tmpl, struct err *err)
{
	struct vmx *v = NULL;
	struct vmx_device *d = NULL;
	long n;
	int rc = -1, bootable = 0;

	(void)ctx;
	if (p->p_guest_init == GUEST_INIT_GUESTINFO) {
		err_set(err, EIK_INVAL,
		    "Properties.GuestInit \"guestinfo\" needs VMware: QEMU has "
		    "no guestinfo channel; use \"cidata\" or \"auto\"");
		return -1;
	}
	if (vmx_load(tmpl, &v, err) == -1) {
		err_prefix(err, "template");
		return -1;
	}
	/* The overlays' backing disks are read only, but a disk outside the
	 * bundle would still be every instance's (and the template must be
	 * one self-contained bundle for both backends). */
	if (bundle_check_disks(tmpl, v, err) == -1)
		goto out;
	n = bundle_devices(v, &d);
	for (long i = 0; i < n; i++) {
		char abs[PATH_BUF];

		if (!d[i].vd_present || !d[i].vd_image)
			continue;
		if (bundle_resolve(tmpl, d[i].vd_file, abs, sizeof(abs)) ==
			-1 ||
		    !is_file(abs)) {
			err_set(err, EIK_INVAL,
			    "template %s: %s refers to %s, which does not "
			    "exist (for templates made by make vmx-alpine, give "
			    "the ISO path again)",
			    tmpl, d[i].vd_slot, d[i].vd_file);
			goto out;
		}
		bootable++;
	}
	if (bootable == 0) {
		err_set(err, EIK_INVAL,
		    "template %s has no disk or CD-ROM image to boot from",
		    tmpl);
		goto out;
	}
	rc = 0;
out:
	free(d);
	vmx_free(v);
	return rc;
}

/* ---- create ----------------------------------------------------------- */

static int
run_tool(
    const char *const *argv, int64_t timeout, int64_t deadline, struct err *err)
{
	struct proc_result res;
	struct proc_spec ps;
	int rc = -1;

	memset(&ps, 0, sizeof(ps));
	ps.ps_argv = argv;
	ps.ps_timeout_ms = timeout;
	ps.ps_deadline = deadline;
	if (proc_run(&ps, &res, err) == 0) {
		if (res.pr_status == 0)
			rc = 0;
		else {
			char msg[512];
			const char *t = buf_str(&res.pr_err);

			(void)strlcpy(msg,
			    t[0] != '\0' ? t : buf_str(&res.pr_out),
			    sizeof(msg));
			msg[strcspn(msg, "\n")] = '\0';
			err_set(err, EIK_BACKEND, "%s: %s (%s)", argv[0], msg,
			    res.pr_desc);
		}
	}
	proc_result_free(&res);
	return rc;
}

/*
 * One disk of the clone at ov from the template's base: a qcow2 overlay
 * backed by it (linked, auto), or a standalone qcow2 copy (full, copy:
 * the bundle then no longer needs the template).
 */
static int
clone_disk(const struct qemu *q, enum clone_mode mode, const char *base,
    const char *ov, int64_t deadline, struct err *err)
{
	const char *fmt = qemu_backing_format(base);

	if (mode == CLONE_FULL || mode == CLONE_COPY) {
		const char *argv[] = { q->qe_img, "convert", "-q", "-f", fmt,
			"-O", "qcow2", base, ov, NULL };

		return run_tool(argv, QEMU_CONVERT_TIMEOUT_MS, deadline, err);
	} else {
		const char *argv[] = { q->qe_img, "create", "-q", "-f", "qcow2",
			"-F", fmt, "-b", base, ov, NULL };

		return run_tool(argv, QEMU_IMG_TIMEOUT_MS, deadline, err);
	}
}

static int
qe_create(void *ctx, const struct bk_inst *bi, struct err *err)
{
	struct qemu *q = ctx;
	struct vmx *v = NULL;
	struct vmx_device *d = NULL;
	enum clone_mode mode = bi->bi_spec->s_props.p_clone != CLONE_UNSET
	    ? bi->bi_spec->s_props.p_clone
	    : q->qe_clone;
	long n;
	int rc = -1;

	if (vmx_load(bi->bi_template, &v, err) == -1)
		return -1;
	n = bundle_devices(v, &d);
	if (n < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	/* Each disk becomes a qcow2 overlay on the template's disk (a linked
	 * clone by QEMU's own means) or a copy. The template is only read. */
	for (long i = 0; i < n; i++) {
		char base[PATH_BUF], ov[PATH_BUF], name[64], key[64];

		if (!d[i].vd_present || d[i].vd_cdrom || !d[i].vd_image)
			continue;
		if (bundle_resolve(bi->bi_template, d[i].vd_file, base,
			sizeof(base)) == -1) {
			err_set(err, EIK_INVAL, "disk path too long");
			goto out;
		}
		(void)snprintf(name, sizeof(name), "disk-%s-%d-%d.qcow2",
		    d[i].vd_bus, d[i].vd_ctl, d[i].vd_unit);
		if (path_join(ov, sizeof(ov), bi->bi_dir, name) == -1) {
			err_set(err, EIK_INVAL, "path too long");
			goto out;
		}
		if (clone_disk(q, mode, base, ov, bi->bi_deadline, err) == -1)
			goto out;
		(void)snprintf(key, sizeof(key), "%s.fileName", d[i].vd_slot);
		if (vmx_set(v, key, name) == -1) {
			err_set(err, EIK_INTERNAL, "out of memory");
			goto out;
		}
	}
	if (vmx_save(v, bi->bi_vmx, err) == -1)
		goto out;
	rc =
	    bundle_configure(bi, BUNDLE_RESET_IDENTITY | BUNDLE_ABS_MEDIA, err);
out:
	free(d);
	vmx_free(v);
	return rc;
}

/* ---- start ------------------------------------------------------------ */

/*
 * The command line of bi's QEMU (qemu_argv.c) into a, with the QMP socket's
 * path in qmp. The KVM probe runs here, at the first start.
 */
/* Whether a LaunchGUI window has nowhere to go here: then QEMU's screen
 * is put on VNC, on loopback, explicitly. */
static bool
headless(void)
{
#if defined(__APPLE__)
	return false;
#else
	const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");

	return (x == NULL || x[0] == '\0') && (w == NULL || w[0] == '\0');
#endif
}

static int
start_argv(struct qemu *q, const struct bk_inst *bi, struct qemu_argv *a,
    char *qmp, size_t qmplen, struct err *err)
{
	struct vmx *v = NULL;
	struct qemu_vm vm;
	char con[PATH_BUF];
	int rc = -1;

	if (vmx_load(bi->bi_vmx, &v, err) == -1)
		return -1;
	if (qemu_qmp_path(bi->bi_dir, bi->bi_id, qmp, qmplen, err) == -1 ||
	    qemu_console_path(bi->bi_dir, bi->bi_id, con, sizeof(con), err) ==
		-1)
		goto out;
	(void)unlink(con);
	memset(&vm, 0, sizeof(vm));
	vm.qv_bin = q->qe_bin;
	vm.qv_id = bi->bi_id;
	vm.qv_dir = bi->bi_dir;
	vm.qv_vmx = bi->bi_vmx;
	vm.qv_qmp = qmp;
	vm.qv_console = con;
	vm.qv_kvm = use_kvm(q);
	vm.qv_gui = bi->bi_spec->s_props.p_launch_gui;
	vm.qv_vnc = vm.qv_gui && headless();
	if (q->qe_net.qn_bridge) {
		vm.qv_bridge = q->qe_net.qn_br;
		vm.qv_helper = q->qe_net.qn_helper;
	} else
		vm.qv_ssh_port = bi->bi_ssh_port;
	rc = qemu_argv_build(a, &vm, v, err);
out:
	vmx_free(v);
	return rc;
}

/*
 * LaunchGUI on VNC (no window system here): says where, in the log and in
 * the bundle's vnc.address, instead of QEMU's silence.
 */
static void
vnc_note(const struct bk_inst *bi, const char *qmp)
{
	char addr[128], path[PATH_BUF];
	struct err e;

	err_clear(&e);
	if (path_join(path, sizeof(path), bi->bi_dir, VNC_NAME) == -1)
		return;
	if (qmp_vnc(qmp, addr, sizeof(addr) - 1, mono_ms() + QMP_TIMEOUT_MS,
		&e) == -1) {
		(void)unlink(path);
		return;
	}
	log_info("instance %s: LaunchGUI, but no window system here (no "
		 "DISPLAY): its screen is on VNC at %s (written to %s)",
	    bi->bi_id, addr, path);
	(void)strlcat(addr, "\n", sizeof(addr));
	(void)atomic_write_file(path, addr, strlen(addr), 0644, &e);
}

static int
qe_start(void *ctx, const struct bk_inst *bi, struct err *err)
{
	struct qemu *q = ctx;
	char qmp[PATH_BUF], status[32];
	struct qemu_argv a;
	struct err e;
	int rc = -1;

	/* A socket we cannot trust says nothing: never start then. */
	if (qemu_qmp_path(bi->bi_dir, bi->bi_id, qmp, sizeof(qmp), err) == -1)
		return -1;
	/* Already running (a resumed start): resume it if paused. */
	err_clear(&e);
	if (qmp_status(qmp, status, sizeof(status), mono_ms() + QMP_TIMEOUT_MS,
		&e) == 0) {
		if (strcmp(status, "paused") == 0)
			return qmp_call(qmp, "cont", NULL, NULL,
			    mono_ms() + QMP_TIMEOUT_MS, err);
		return 0;
	}
	if (qemu_vm_pid(bi->bi_dir) != -1) {
		/* Its QEMU lives but does not answer: never start a second
		 * one on the same disks. */
		err_set(err, EIK_BACKEND,
		    "QEMU of %s runs but does not answer on %s (%s)", bi->bi_id,
		    qmp, e.msg);
		return -1;
	}
	qemu_argv_init(&a);
	if (start_argv(q, bi, &a, qmp, sizeof(qmp), err) == -1 ||
	    qemu_log_mark(bi->bi_dir, err) == -1)
		goto out;
	(void)unlink(qmp);
	rc = run_tool(a.qa_v, QEMU_START_TIMEOUT_MS, bi->bi_deadline, err);
	if (rc == -1 && bi->bi_ssh_port != 0 &&
	    strstr(err->msg, "forwarding") != NULL)
		err_set(err, EIK_BUSY,
		    "QEMU cannot forward 127.0.0.1:%u to the guest's SSH: "
		    "another program holds that port; free it, or destroy "
		    "the instance and provision a new one (%s)",
		    bi->bi_ssh_port, err->msg);
	if (rc == 0 && bi->bi_spec->s_props.p_launch_gui)
		vnc_note(bi, qmp);
out:
	qemu_argv_free(&a);
	return rc;
}

/* ---- stop, power ------------------------------------------------------ */

/* Waits until QEMU's process is gone; 0, or -1 at the deadline. */
static int
wait_gone(const char *dir, int64_t deadline)
{
	while (qemu_vm_pid(dir) != -1) {
		if (mono_ms() >= deadline || proc_cancelled())
			return -1;
		sleep_ms(50);
	}
	return 0;
}

/*
 * The ACPI power button, pressed again every QEMU_ACPI_REPEAT_MS until the
 * guest is gone or bi's deadline: a guest early in its boot has nothing
 * listening to the button yet and misses the first press.
 */
static int
soft_stop(const struct bk_inst *bi, const char *qmp, struct err *err)
{
	int presses = 0;

	for (;;) {
		int64_t next = mono_ms() + QEMU_ACPI_REPEAT_MS;

		if (qmp_call(qmp, "system_powerdown", NULL, NULL,
			mono_ms() + QMP_TIMEOUT_MS, err) == -1) {
			/* Gone between the presses: done. */
			if (presses > 0 && qemu_vm_pid(bi->bi_dir) == -1)
				return 0;
			return -1;
		}
		presses++;
		if (wait_gone(bi->bi_dir,
			next < bi->bi_deadline ? next : bi->bi_deadline) == 0)
			return 0;
		if (mono_ms() >= bi->bi_deadline || proc_cancelled())
			break;
	}
	err_set(err, EIK_TIMEOUT,
	    "the guest did not power off after %d presses of the ACPI power "
	    "button",
	    presses);
	return -1;
}

static int
qe_stop(void *ctx, const struct bk_inst *bi, bool hard, struct err *err)
{
	char qmp[PATH_BUF];
	bool have_qmp;
	pid_t pid;
	struct err e, pe;

	(void)ctx;
	err_clear(&pe);
	have_qmp =
	    qemu_qmp_path(bi->bi_dir, bi->bi_id, qmp, sizeof(qmp), &pe) == 0;
	pid = qemu_vm_pid(bi->bi_dir);
	if (pid == -1) {
		if (have_qmp)
			(void)unlink(qmp);
		return 0; /* nothing runs */
	}
	err_clear(&e);
	if (!hard) {
		/* ACPI power button: the guest shuts down by itself. */
		if (!have_qmp) {
			if (err != NULL)
				*err = pe;
			return -1;
		}
		return soft_stop(bi, qmp, err);
	}
	if (have_qmp) {
		(void)qmp_call(
		    qmp, "quit", NULL, NULL, mono_ms() + QMP_TIMEOUT_MS, &e);
		if (wait_gone(bi->bi_dir, mono_ms() + QEMU_QUIT_WAIT_MS) == 0)
			return 0;
	}
	/* QMP did not help: the process, by its verified PID. */
	log_warnx("qemu: %s: %s PID %ld; killing it", bi->bi_id,
	    have_qmp ? "quit did not end" : "no QMP socket to quit", (long)pid);
	(void)kill(pid, SIGKILL);
	if (wait_gone(bi->bi_dir, mono_ms() + QEMU_QUIT_WAIT_MS) == 0)
		return 0;
	err_set(err, EIK_BACKEND, "QEMU (PID %ld) of %s does not exit",
	    (long)pid, bi->bi_id);
	return -1;
}

static int
qe_remove(void *ctx, const struct bk_inst *bi, struct err *err)
{
	char path[PATH_BUF];

	(void)ctx;
	(void)err;
	if (qemu_qmp_path(bi->bi_dir, bi->bi_id, path, sizeof(path), NULL) == 0)
		(void)unlink(path);
	if (qemu_console_path(
		bi->bi_dir, bi->bi_id, path, sizeof(path), NULL) == 0)
		(void)unlink(path);
	return 0;
}

/*
 * Logs why the private QMP directory is refused when that changes: bad is
 * the reason, or NULL when a socket there was just found usable.
 */
static void
note_qmp(struct qemu *q, const char *bad)
{
	(void)pthread_mutex_lock(&q->qe_qmp_mu);
	if (bad != NULL && strcmp(bad, q->qe_qmp_bad) != 0) {
		log_warnx("qemu: %s; the VMs whose sockets live there are "
			  "reported with power state unknown",
		    bad);
		(void)strlcpy(q->qe_qmp_bad, bad, sizeof(q->qe_qmp_bad));
	} else if (bad == NULL)
		q->qe_qmp_bad[0] = '\0';
	(void)pthread_mutex_unlock(&q->qe_qmp_mu);
}

static int
qe_power(
    void *ctx, struct bk_power *p, size_t n, int64_t deadline, struct err *err)
{
	struct qemu *q = ctx;

	(void)err;
	for (size_t i = 0; i < n; i++) {
		char qmp[PATH_BUF], status[32];
		struct err e;
		int64_t dl = mono_ms() + QMP_TIMEOUT_MS;

		if (dl > deadline)
			dl = deadline;
		err_clear(&e);
		if (qemu_qmp_path(
			p[i].bp_dir, p[i].bp_id, qmp, sizeof(qmp), &e) == -1) {
			/* Its socket cannot be trusted: a VM that runs is
			 * unknown (reported), never what a planted socket
			 * says. */
			note_qmp(q, e.msg);
			p[i].bp_state = qemu_vm_pid(p[i].bp_dir) == -1
			    ? POWER_OFF
			    : POWER_UNKNOWN;
			continue;
		}
		if (strncmp(qmp, p[i].bp_dir, strlen(p[i].bp_dir)) != 0)
			note_qmp(q, NULL);
		if (qmp_status(qmp, status, sizeof(status), dl, &e) == -1) {
			/* No QEMU behind the socket: off. A QEMU that does
			 * not answer in time: unknown (never assume off). */
			p[i].bp_state = e.code == EIK_TIMEOUT ? POWER_UNKNOWN
			    : qemu_vm_pid(p[i].bp_dir) == -1  ? POWER_OFF
							      : POWER_UNKNOWN;
			continue;
		}
		if (strcmp(status, "running") == 0)
			p[i].bp_state = POWER_RUNNING;
		else if (strcmp(status, "paused") == 0 ||
		    strcmp(status, "prelaunch") == 0)
			p[i].bp_state = POWER_PAUSED;
		else if (strcmp(status, "suspended") == 0)
			p[i].bp_state = POWER_SUSPENDED;
		else {
			p[i].bp_state = POWER_OFF; /* shutdown, errors */
			/* A KVM that passed the probe and still fails: the
			 * group replaces this VM, with TCG from now on. */
			if (strcmp(status, "internal-error") == 0 &&
			    atomic_exchange(&q->qe_kvm, false))
				log_warnx(
				    "qemu: %s stopped with a KVM internal "
				    "error; new VMs use TCG",
				    p[i].bp_id);
		}
	}
	return 0;
}

/* ---- the guest's network and readiness ---------------------------------- */

static bool
qe_wants_ssh_port(void *ctx)
{
	const struct qemu *q = ctx;

	return !q->qe_net.qn_bridge;
}

/* The MAC always (the instance's, from its .vmx); the IP in bridge mode,
 * from the bridge's DHCP leases (user mode has none the host can reach). */
static int
qe_guest_ip(void *ctx, const struct bk_inst *bi, char *ip, size_t iplen,
    char *mac, size_t maclen, struct err *err)
{
	const struct qemu *q = ctx;
	struct vmx *v = NULL;

	ip[0] = '\0';
	if (vmx_load(bi->bi_vmx, &v, err) == -1)
		return -1;
	qemu_vm_mac(v, bi->bi_id, mac, maclen);
	vmx_free(v);
	if (!q->qe_net.qn_bridge)
		return 0;
	return qemu_net_lease(&q->qe_net, mac, ip, iplen, err);
}

static int
qe_guest_ready(void *ctx, const struct bk_inst *bi)
{
	(void)ctx;
	return qemu_log_state(bi->bi_dir);
}

/* A pet's disk: an empty qcow2, which grows as the guest writes. */
static int
qe_make_disk(
    void *ctx, const struct bk_disk *d, int64_t deadline, struct err *err)
{
	const struct qemu *q = ctx;
	char size[32];
	const char *argv[] = { q->qe_img, "create", "-q", "-f", "qcow2",
		d->bd_file, size, NULL };

	(void)snprintf(size, sizeof(size), "%uG", d->bd_size_gb);
	return run_tool(argv, QEMU_IMG_TIMEOUT_MS, deadline, err);
}

const struct backend_ops backend_qemu_ops = {
	.name = "qemu",
	.open = qe_open,
	.close = qe_close,
	.validate = qe_validate,
	.create = qe_create,
	.start = qe_start,
	.stop = qe_stop,
	.remove = qe_remove,
	.power = qe_power,
	.guest_ip = qe_guest_ip,
	.wants_ssh_port = qe_wants_ssh_port,
	.guest_ready = qe_guest_ready,
	.disk_format = "qcow2",
	.make_disk = qe_make_disk,
};
