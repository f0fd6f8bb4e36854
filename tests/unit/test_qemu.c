/*
 * Unit tests: qemu_argv.c — whole QEMU command lines for templates with
 * IDE, SATA, SCSI (lsi, pvscsi), NVMe disks, CD-ROMs, NICs and LaunchGUI,
 * compared with the transcripts in tests/data/qemu/; the helpers one by one.
 * The private QMP socket directory (qmp_sock_path) and the QEMU backend's
 * power query against a fake QMP server planted there.
 */
#include "cm_compat.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/bundle.h"
#include "backend/qemu/qemu_argv.h"
#include "backend/qemu/qmp.h"
#include "util/log.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "vmx/vmx.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"

static void
data_path(char *out, size_t len, const char *name)
{
	const char *dir = getenv("TESTS_DIR");
	int n = snprintf(
	    out, len, "%s/data/qemu/%s", dir != NULL ? dir : "tests", name);

	assert_true(n > 0 && (size_t)n < len);
}

/* The .vmx of a case, parsed. */
static struct vmx *
load_vmx(const char *name)
{
	char path[PATH_BUF];
	struct vmx *v = NULL;
	struct err err;

	data_path(path, sizeof(path), name);
	if (vmx_load(path, &v, &err) == -1)
		fail_msg("%s", err.msg);
	return v;
}

/* Instance i-<id> in the bundle /vms/i-<id>. */
struct vm_paths {
	char vp_id[64], vp_dir[128], vp_vmx[192], vp_qmp[192];
};

static void
vm_for(
    struct qemu_vm *vm, struct vm_paths *p, const char *id, bool kvm, bool gui)
{
	(void)snprintf(p->vp_id, sizeof(p->vp_id), "i-%s", id);
	(void)snprintf(p->vp_dir, sizeof(p->vp_dir), "/vms/%s", p->vp_id);
	(void)snprintf(
	    p->vp_vmx, sizeof(p->vp_vmx), "%s/%s.vmx", p->vp_dir, p->vp_id);
	(void)snprintf(p->vp_qmp, sizeof(p->vp_qmp), "%s/qmp.sock", p->vp_dir);
	memset(vm, 0, sizeof(*vm));
	vm->qv_bin = QEMU_BIN;
	vm->qv_id = p->vp_id;
	vm->qv_dir = p->vp_dir;
	vm->qv_vmx = p->vp_vmx;
	vm->qv_qmp = p->vp_qmp;
	vm->qv_kvm = kvm;
	vm->qv_gui = gui;
}

/* The arguments one a line, as in the transcripts. */
static void
transcript(const struct qemu_argv *a, struct buf *out)
{
	buf_init(out, 1 << 20);
	assert_null(a->qa_v[a->qa_n]);
	for (size_t i = 0; i < a->qa_n; i++) {
		assert_int_equal(buf_addstr(out, a->qa_v[i]), 0);
		assert_int_equal(buf_addc(out, '\n'), 0);
	}
}

static const struct golden {
	const char *g_case; /* NAME.argv */
	const char *g_vmx;  /* its .vmx */
	bool g_kvm, g_gui;
} goldens[] = {
	{ "ide", "ide.vmx", false, false },
	{ "ide-kvm", "ide.vmx", true, false },
	{ "sata", "sata.vmx", false, false },
	{ "scsi-lsi", "scsi-lsi.vmx", false, false },
	{ "scsi-pvscsi", "scsi-pvscsi.vmx", false, false },
	{ "nvme", "nvme.vmx", false, false },
	{ "gui", "gui.vmx", false, true },
};

static void
check_golden(const struct golden *g)
{
	char path[PATH_BUF], name[64], *want = NULL;
	struct qemu_argv a;
	struct vm_paths p;
	struct qemu_vm vm;
	struct buf got;
	struct err err;
	struct vmx *v = load_vmx(g->g_vmx);
	size_t len;

	/* The instance is named after the .vmx (i-ide for ide-kvm too). */
	(void)snprintf(
	    name, sizeof(name), "%.*s", (int)(strlen(g->g_vmx) - 4), g->g_vmx);
	vm_for(&vm, &p, name, g->g_kvm, g->g_gui);
	qemu_argv_init(&a);
	if (qemu_argv_build(&a, &vm, v, &err) == -1)
		fail_msg("%s: %s", g->g_case, err.msg);
	transcript(&a, &got);
	(void)snprintf(name, sizeof(name), "%s.argv", g->g_case);
	data_path(path, sizeof(path), name);
	if (read_file_max(path, 1 << 20, &want, &len, &err) == -1)
		fail_msg("%s", err.msg);
	if (len != got.b_len || memcmp(want, buf_str(&got), len) != 0)
		fail_msg(
		    "command line differs from %s\n--- want\n%s--- got\n%s",
		    path, want, buf_str(&got));
	free(want);
	buf_free(&got);
	qemu_argv_free(&a);
	vmx_free(v);
}

static void
test_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++)
		check_golden(&goldens[i]);
}

static void
test_comma_refused(void **state)
{
	struct vmx *v = load_vmx("comma.vmx");
	struct qemu_argv a;
	struct vm_paths p;
	struct qemu_vm vm;
	struct err err;

	(void)state;
	vm_for(&vm, &p, "comma", false, false);
	qemu_argv_init(&a);
	assert_int_equal(qemu_argv_build(&a, &vm, v, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_string_equal(err.msg,
	    "ide0:0: QEMU cannot take a file name with a comma: "
	    "/vms/i-comma/disk,1.vmdk");
	qemu_argv_free(&a);
	vmx_free(v);
}

/* More arguments than QEMU_ARGV_MAX: an error, never a cut command line. */
static void
test_too_long(void **state)
{
	struct qemu_argv a;
	struct vm_paths p;
	struct qemu_vm vm;
	struct buf text;
	struct vmx *v = NULL;
	struct err err;

	(void)state;
	buf_init(&text, 1 << 20);
	for (int i = 0; i < 40; i++)
		(void)buf_printf(&text,
		    "scsi%d:%d.present = \"TRUE\"\n"
		    "scsi%d:%d.fileName = \"d%d.vmdk\"\n",
		    i / 8, i % 8, i / 8, i % 8, i);
	assert_int_equal(vmx_parse(text.b_data, text.b_len, &v, &err), 0);
	vm_for(&vm, &p, "big", false, false);
	qemu_argv_init(&a);
	assert_int_equal(qemu_argv_build(&a, &vm, v, &err), -1);
	assert_int_equal(err.code, EIK_INTERNAL);
	assert_string_equal(err.msg, "QEMU command line too long");
	assert_int_equal(a.qa_n, QEMU_ARGV_MAX - 1);
	qemu_argv_free(&a);
	vmx_free(v);
	buf_free(&text);
}

/* The parts one by one. */
static void
test_parts(void **state)
{
	struct qemu_argv a;
	struct vm_paths p;
	struct qemu_vm vm;
	struct vmx *v = NULL;
	struct err err;
	const char *text = "memsize = \"64\"\n";

	(void)state;
	assert_int_equal(vmx_parse(text, strlen(text), &v, &err), 0);
	vm_for(&vm, &p, "x", true, true);
	qemu_argv_init(&a);
	qemu_argv_display(&a, &vm);
	vm.qv_gui = false;
	qemu_argv_display(&a, &vm);
	qemu_argv_memory(&a, v);
	qemu_argv_nic(&a, &vm, v); /* no ethernet0: nothing */
	qemu_argv_boot(&a, v);
	qemu_argv_control(&a, &vm);
	assert_false(a.qa_oom);
	assert_int_equal(a.qa_n, 15);
	assert_string_equal(a.qa_v[0], "-vga");
	assert_string_equal(a.qa_v[1], "std");
	assert_string_equal(a.qa_v[2], "-display");
	assert_string_equal(a.qa_v[3], "none");
	assert_string_equal(a.qa_v[5], "64");
	assert_string_equal(a.qa_v[7], "1");
	assert_string_equal(a.qa_v[9], "order=cd");
	assert_string_equal(a.qa_v[11], "unix:/vms/i-x/qmp.sock,server,nowait");
	assert_string_equal(a.qa_v[13], "/vms/i-x/qemu.pid");
	assert_string_equal(a.qa_v[14], "-daemonize");
	qemu_argv_free(&a);
	assert_int_equal(a.qa_n, 0);
	vmx_free(v);
}

/* A CD-ROM is raw and read-only whatever its file is called. */
static void
test_media(void **state)
{
	struct vmx_device d;
	struct qemu_media m;

	(void)state;
	memset(&d, 0, sizeof(d));
	qemu_media(&d, "/a/b.VMDK", &m);
	assert_string_equal(m.qm_format, "vmdk");
	assert_string_equal(m.qm_ide_media, "disk");
	assert_string_equal(m.qm_readonly, "");
	assert_string_equal(m.qm_sata_dev, "ide-hd");
	assert_string_equal(m.qm_scsi_dev, "scsi-hd");
	d.vd_cdrom = true;
	qemu_media(&d, "/a/b.qcow2", &m);
	assert_string_equal(m.qm_format, "raw");
	assert_string_equal(m.qm_ide_media, "cdrom");
	assert_string_equal(m.qm_readonly, ",readonly=on");
	assert_string_equal(m.qm_sata_dev, "ide-cd");
	assert_string_equal(m.qm_scsi_dev, "scsi-cd");
}

static void
test_small_translations(void **state)
{
	char mac[32];

	(void)state;
	assert_string_equal(qemu_backing_format("x.vmdk"), "vmdk");
	assert_string_equal(qemu_backing_format("x.Qcow2"), "qcow2");
	assert_string_equal(qemu_backing_format("x.img"), "raw");
	assert_string_equal(qemu_backing_format(".vmdk"), "raw");
	assert_string_equal(qemu_backing_format("vmdk"), "raw");
	assert_string_equal(qemu_nic_model(NULL), "e1000");
	assert_string_equal(qemu_nic_model("E1000E"), "e1000e");
	assert_string_equal(qemu_nic_model("vmxnet3"), "vmxnet3");
	assert_string_equal(qemu_nic_model("vlance"), "e1000");
	qemu_instance_mac("i-ide", mac, sizeof(mac));
	assert_string_equal(mac, "52:54:00:10:fb:19");
	qemu_instance_mac("i-idf", mac, sizeof(mac));
	assert_string_not_equal(mac, "52:54:00:10:fb:19");
	assert_int_equal(strncmp(mac, "52:54:00:", 9), 0);
}

/* ---- the private QMP socket directory (issue 11 #9) ------------------ */

extern const struct backend_ops backend_qemu_ops;

/* A temporary TMPDIR, a bundle whose path is too long for its own QMP
 * socket, and the private directory qmp_sock_path uses then. */
struct qfx {
	char q_t[PATH_BUF];   /* $TMPDIR, a real path */
	char q_dir[PATH_BUF]; /* the bundle */
	char q_run[PATH_BUF]; /* $TMPDIR/ikvf-qmp-<euid> */
	char q_sock[PATH_BUF];
	char *q_old_tmpdir;
};

static void
qfx_init(struct qfx *f)
{
	char *tmp = cm_tmpdir(), vms[PATH_BUF];
	struct err err;
	int n;

	memset(f, 0, sizeof(*f));
	assert_non_null(realpath(tmp, f->q_t));
	free(tmp);
	assert_true(strlen(f->q_t) < QMP_TMPDIR_MAX);
	f->q_old_tmpdir =
	    getenv("TMPDIR") != NULL ? strdup(getenv("TMPDIR")) : NULL;
	assert_int_equal(setenv("TMPDIR", f->q_t, 1), 0);
	n = snprintf(vms, sizeof(vms),
	    "%s/vms/a-directory-name-long-enough-to-push-the-socket-path-past-"
	    "sun_path",
	    f->q_t);
	assert_true(n > 0 && (size_t)n < sizeof(vms));
	n = snprintf(f->q_dir, sizeof(f->q_dir), "%s/i-qmp.vmwarevm", vms);
	assert_true(n > 0 && (size_t)n < sizeof(f->q_dir));
	assert_true(strlen(f->q_dir) + sizeof("/qmp.sock") > QMP_SOCK_PATH_MAX);
	if (mkdir_p(f->q_dir, 0700, &err) == -1)
		fail_msg("%s", err.msg);
	n = snprintf(f->q_run, sizeof(f->q_run), "%s/ikvf-qmp-%ld", f->q_t,
	    (long)geteuid());
	assert_true(n > 0 && (size_t)n < sizeof(f->q_run));
	n = snprintf(f->q_sock, sizeof(f->q_sock), "%s/i-qmp.sock", f->q_run);
	assert_true(n > 0 && (size_t)n < sizeof(f->q_sock));
}

static void
qfx_fini(struct qfx *f)
{
	if (f->q_old_tmpdir != NULL)
		(void)setenv("TMPDIR", f->q_old_tmpdir, 1);
	else
		(void)unsetenv("TMPDIR");
	free(f->q_old_tmpdir);
	if (getenv("KEEP_TMP") == NULL)
		(void)rm_tree(f->q_t, NULL);
}

static void
expect_refused(const struct qfx *f, const char *needle)
{
	char out[PATH_BUF];
	struct err err;

	err_clear(&err);
	assert_int_equal(
	    qmp_sock_path(f->q_dir, "i-qmp", out, sizeof(out), &err), -1);
	if (strstr(err.msg, needle) == NULL ||
	    strstr(err.msg, f->q_run) == NULL)
		fail_msg(
		    "\"%s\" lacks \"%s\" or the directory", err.msg, needle);
}

static void
test_qmp_private_dir(void **state)
{
	char out[PATH_BUF], other[PATH_BUF];
	struct qfx f;
	struct stat sb;
	struct err err;

	(void)state;
	qfx_init(&f);
	/* A short bundle path: the socket is in the bundle. */
	err_clear(&err);
	assert_int_equal(
	    qmp_sock_path("/vms/i-1", "i-1", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/vms/i-1/qmp.sock");
	assert_int_equal(lstat(f.q_run, &sb), -1);
	/* Missing: made, 0700, ours. */
	assert_int_equal(
	    qmp_sock_path(f.q_dir, "i-qmp", out, sizeof(out), &err), 0);
	assert_string_equal(out, f.q_sock);
	assert_int_equal(lstat(f.q_run, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(sb.st_uid, geteuid());
	/* Group or other bits: refused. */
	assert_int_equal(chmod(f.q_run, 0755), 0);
	expect_refused(&f, "has mode 0755");
	assert_int_equal(chmod(f.q_run, 0770), 0);
	expect_refused(&f, "has mode 0770");
	assert_int_equal(chmod(f.q_run, 01777), 0);
	expect_refused(&f, "has mode 1777");
	/* Another owner (we run as root in CI: chown to nobody). */
	assert_int_equal(chmod(f.q_run, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(f.q_run, 65534, 65534), 0);
		expect_refused(&f, "belongs to uid 65534");
		assert_int_equal(chown(f.q_run, 0, 0), 0);
	}
	assert_int_equal(
	    qmp_sock_path(f.q_dir, "i-qmp", out, sizeof(out), &err), 0);
	/* A symbolic link, even to a private directory of ours. */
	assert_int_equal(rmdir(f.q_run), 0);
	assert_int_equal(path_join(other, sizeof(other), f.q_t, "mine"), 0);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(symlink(other, f.q_run), 0);
	expect_refused(&f, "is a symbolic link, not a directory");
	assert_int_equal(unlink(f.q_run), 0);
	/* A file. */
	{
		struct err e2;

		if (atomic_write_file(f.q_run, "x", 1, 0600, &e2) == -1)
			fail_msg("%s", e2.msg);
	}
	expect_refused(&f, "is a file, not a directory");
	qfx_fini(&f);
}

/* A QMP server that says every VM is paused. */
struct fake_qmp {
	int fq_fd;
	atomic_bool fq_stop;
	atomic_int fq_queries;
	pthread_t fq_thread;
};

static void
fq_serve(struct fake_qmp *fq, int c)
{
	static const char greeting[] =
	    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": "
	    "2, \"major\": 7}}, \"capabilities\": []}}\r\n";
	char in[4096];
	size_t have = 0;

	(void)send(c, greeting, sizeof(greeting) - 1, MSG_NOSIGNAL);
	for (;;) {
		char *nl;
		ssize_t r = recv(c, in + have, sizeof(in) - 1 - have, 0);

		if (r <= 0)
			break;
		have += (size_t)r;
		in[have] = '\0';
		while ((nl = strchr(in, '\n')) != NULL) {
			const char *ans = "{\"return\": {}}\r\n";

			*nl = '\0';
			if (strstr(in, "query-status") != NULL) {
				ans = "{\"return\": {\"status\": \"paused\", "
				      "\"singlestep\": false, \"running\": "
				      "false}}\r\n";
				atomic_fetch_add(&fq->fq_queries, 1);
			}
			(void)send(c, ans, strlen(ans), MSG_NOSIGNAL);
			have -= (size_t)(nl + 1 - in);
			memmove(in, nl + 1, have + 1);
		}
		if (have == sizeof(in) - 1)
			break;
	}
	(void)close(c);
}

static void *
fq_main(void *arg)
{
	struct fake_qmp *fq = arg;

	while (!atomic_load(&fq->fq_stop)) {
		struct pollfd pfd = { fq->fq_fd, POLLIN, 0 };
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept(fq->fq_fd, NULL, NULL);
		if (c != -1)
			fq_serve(fq, c);
	}
	return NULL;
}

static void
fq_start(struct fake_qmp *fq, const char *path)
{
	struct sockaddr_un sun;

	memset(fq, 0, sizeof(*fq));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) <
	    sizeof(sun.sun_path));
	fq->fq_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fq->fq_fd != -1);
	assert_int_equal(
	    bind(fq->fq_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fq->fq_fd, 8), 0);
	assert_int_equal(pthread_create(&fq->fq_thread, NULL, fq_main, fq), 0);
}

static void
fq_stop(struct fake_qmp *fq)
{
	atomic_store(&fq->fq_stop, true);
	(void)pthread_join(fq->fq_thread, NULL);
	(void)close(fq->fq_fd);
}

/* What the backend says of the VM in f's bundle. */
static enum power_state
power_of(void *ctx, const struct qfx *f)
{
	struct bk_power p = { "i-qmp", f->q_dir, NULL, POWER_RUNNING };
	char vmx[PATH_BUF];
	struct err err;

	assert_int_equal(path_join(vmx, sizeof(vmx), f->q_dir, "i-qmp.vmx"), 0);
	p.bp_vmx = vmx;
	err_clear(&err);
	if (backend_qemu_ops.power(ctx, &p, 1, mono_ms() + 10000, &err) == -1)
		fail_msg("power: %s", err.msg);
	return p.bp_state;
}

/*
 * Another user's /tmp/ikvf-qmp-<uid> with a socket that says "paused"
 * must not hide a VM that runs: its power state is unknown (reported)
 * until the directory is ours and private again.
 */
static void
test_qmp_planted_socket(void **state)
{
	char bin[PATH_BUF], img[PATH_BUF], pidf[PATH_BUF], num[32];
	struct backend_conf conf;
	struct fake_qmp fq;
	struct qfx f;
	struct err err;
	void *ctx = NULL;
	pid_t vm;
	int st;

	(void)state;
	qfx_init(&f);
	/* Stand-ins for the QEMU programs: open only checks they exist. */
	assert_int_equal(
	    path_join(bin, sizeof(bin), f.q_t, "qemu-system-x86_64"), 0);
	assert_int_equal(path_join(img, sizeof(img), f.q_t, "qemu-img"), 0);
	assert_int_equal(symlink("/bin/true", bin), 0);
	assert_int_equal(symlink("/bin/true", img), 0);
	memset(&conf, 0, sizeof(conf));
	conf.bc_vm_dir = f.q_t;
	conf.bc_vm_lib = f.q_t;
	conf.bc_qemu = bin;
	err_clear(&err);
	if (backend_qemu_ops.open(&conf, &ctx, &err) == -1)
		fail_msg("open: %s", err.msg);
	/* "QEMU": a live process whose command line names the bundle. */
	vm = fork();
	assert_true(vm != -1);
	if (vm == 0) {
		int null = open("/dev/null", O_RDWR);

		/* Its own group, killed whole below; no hold on our output
		 * (the test runner waits for it to close). */
		(void)setpgid(0, 0);
		if (null != -1) {
			(void)dup2(null, 1);
			(void)dup2(null, 2);
		}
		(void)execl("/bin/sh", "sh", "-c", "sleep 60; :", f.q_dir,
		    (char *)NULL);
		_exit(127);
	}
	(void)setpgid(vm, vm);
	(void)snprintf(num, sizeof(num), "%ld", (long)vm);
	assert_int_equal(
	    path_join(pidf, sizeof(pidf), f.q_dir, QEMU_PID_NAME), 0);
	if (atomic_write_file(pidf, num, strlen(num), 0644, &err) == -1)
		fail_msg("%s", err.msg);
	/* A private directory of ours: its socket is believed. */
	assert_int_equal(mkdir(f.q_run, 0700), 0);
	fq_start(&fq, f.q_sock);
	sleep_ms(200); /* sh has run */
	assert_int_equal(power_of(ctx, &f), POWER_PAUSED);
	assert_int_equal(atomic_load(&fq.fq_queries), 1);
	/* Writable by others: anyone could have put that socket there. */
	assert_int_equal(chmod(f.q_run, 0777), 0);
	assert_int_equal(power_of(ctx, &f), POWER_UNKNOWN);
	/* Someone else's. */
	if (geteuid() == 0) {
		assert_int_equal(chmod(f.q_run, 0700), 0);
		assert_int_equal(chown(f.q_run, 65534, 65534), 0);
		assert_int_equal(power_of(ctx, &f), POWER_UNKNOWN);
		assert_int_equal(chown(f.q_run, 0, 0), 0);
	}
	assert_int_equal(atomic_load(&fq.fq_queries), 1);
	/* Ours again. */
	assert_int_equal(chmod(f.q_run, 0700), 0);
	assert_int_equal(power_of(ctx, &f), POWER_PAUSED);
	/* No QEMU: off, whatever the directory. */
	(void)kill(-vm, SIGKILL);
	assert_int_equal(waitpid(vm, &st, 0), vm);
	assert_int_equal(chmod(f.q_run, 0777), 0);
	assert_int_equal(power_of(ctx, &f), POWER_OFF);
	fq_stop(&fq);
	backend_qemu_ops.close(ctx);
	qfx_fini(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_comma_refused),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_media),
		cmocka_unit_test(test_small_translations),
		cmocka_unit_test(test_qmp_private_dir),
		cmocka_unit_test(test_qmp_planted_socket),
	};

	log_init(LOG_LVL_QUIET, "test_qemu");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
