/*
 * Unit tests: qemu_argv.c — whole QEMU command lines for templates with
 * IDE, SATA, SCSI (lsi, pvscsi), NVMe disks, CD-ROMs, NICs (user mode with
 * and without a forwarded SSH port, a host bridge), the console chardev and
 * LaunchGUI (window, VNC), compared with the transcripts in
 * tests/data/qemu/; the helpers one by one.
 */
#include "cm_compat.h"

#include "backend/bundle.h"
#include "backend/qemu/qemu_argv.h"
#include "util/buf.h"
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
	char vp_id[64], vp_dir[128], vp_vmx[192], vp_qmp[192], vp_con[192];
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
	(void)snprintf(
	    p->vp_con, sizeof(p->vp_con), "%s/console.sock", p->vp_dir);
	memset(vm, 0, sizeof(*vm));
	vm->qv_bin = QEMU_BIN;
	vm->qv_id = p->vp_id;
	vm->qv_dir = p->vp_dir;
	vm->qv_vmx = p->vp_vmx;
	vm->qv_qmp = p->vp_qmp;
	vm->qv_console = p->vp_con;
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
	bool g_kvm, g_gui, g_vnc;
	unsigned g_port;      /* forwarded to the guest's SSH, or 0 */
	const char *g_bridge; /* bridge mode, or NULL */
} goldens[] = {
	{ "ide", "ide.vmx", false, false, false, 0, NULL },
	{ "ide-kvm", "ide.vmx", true, false, false, 0, NULL },
	{ "sata", "sata.vmx", false, false, false, 0, NULL },
	{ "scsi-lsi", "scsi-lsi.vmx", false, false, false, 0, NULL },
	{ "scsi-pvscsi", "scsi-pvscsi.vmx", false, false, false, 0, NULL },
	{ "nvme", "nvme.vmx", false, false, false, 0, NULL },
	{ "gui", "gui.vmx", false, true, false, 0, NULL },
	{ "gui-vnc", "gui.vmx", false, true, true, 0, NULL },
	{ "hostfwd", "ide.vmx", false, false, false, 24022, NULL },
	{ "hostfwd-static-mac", "sata.vmx", false, false, false, 32767, NULL },
	{ "bridge", "ide.vmx", false, false, false, 24022, "virbr0" },
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
	vm.qv_vnc = g->g_vnc;
	vm.qv_ssh_port = g->g_port;
	if (g->g_bridge != NULL) {
		/* The port is ignored in bridge mode. */
		vm.qv_bridge = g->g_bridge;
		vm.qv_helper = "/usr/lib/qemu/qemu-bridge-helper";
	}
	qemu_argv_init(&a);
	if (qemu_argv_build(&a, &vm, v, &err) == -1)
		fail_msg("%s: %s", g->g_case, err.msg);
	transcript(&a, &got);
	(void)snprintf(name, sizeof(name), "%s.argv", g->g_case);
	data_path(path, sizeof(path), name);
	if (getenv("QEMU_ARGV_RECORD") != NULL) {
		/* Writes the transcript instead (see tests/data/qemu/README).
		 */
		assert_int_equal(atomic_write_file(path, buf_str(&got),
				     got.b_len, 0644, &err),
		    0);
	}
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

/* Paths inside QEMU option lists have their commas doubled. */
static void
test_option_commas(void **state)
{
	struct qemu_argv a;
	struct qemu_vm vm;
	struct vm_paths p;

	(void)state;
	vm_for(&vm, &p, "x", false, false);
	vm.qv_dir = "/vms,a/i-x";
	vm.qv_console = "/vms,a/i-x/console.sock";
	qemu_argv_init(&a);
	qemu_argv_serial(&a, &vm);
	assert_int_equal(a.qa_n, 4);
	assert_string_equal(a.qa_v[1],
	    "socket,id=ser0,path=/vms,,a/i-x/console.sock,server=on,wait=off,"
	    "logfile=/vms,,a/i-x/serial.log,logappend=on");
	assert_string_equal(a.qa_v[3], "chardev:ser0");
	qemu_argv_free(&a);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_comma_refused),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_option_commas),
		cmocka_unit_test(test_media),
		cmocka_unit_test(test_small_translations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
