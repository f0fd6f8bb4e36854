/*
 * Unit tests: vmrun.c and the command lines of the VMware backend.
 *
 * The parsers (list, Error: lines, listSnapshots, clone refusals) are tested
 * on canned outputs. The backend is driven through backend_vmware_ops with
 * proc_set_dryrun: a callback plays vmrun (a Pro product, non-Pro Fusion or
 * Player), records every command line with the vmrun path as VMRUN and the
 * temporary directory as $T, and the transcript is compared byte for byte
 * with tests/data/vmrun/NAME.argv (libvirt's *xml2argv). VMRUN_REGEN=1 in
 * the environment rewrites the golden files instead. bundle_configure runs
 * for real, so the dry-run "clone" writes the destination .vmx the way
 * vmrun would (a copy of the template's).
 */
#include "cm_compat.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdbool.h>

#include "backend/backend.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "model/model.h"
#include "util/proc.h"
#include "backend/vmware/vmdk.h"
#include "backend/vmware/vmrun.h"
#include "vmx/vmx.h"

extern const struct backend_ops backend_vmware_ops;

#define LEASES_ENV "INFRAKIT_VMWARE_LEASES"

#define PLAYER_ERROR                                                           \
	"Unable to connect to host.\n"                                         \
	"Error: Service type VIX_SERVICEPROVIDER_VMWARE_WORKSTATION was "      \
	"specified, but not installed\n"

#define TEMPLATE_VMX                                                           \
	".encoding = \"UTF-8\"\n"                                              \
	"config.version = \"8\"\n"                                             \
	"virtualHW.version = \"19\"\n"                                         \
	"displayName = \"tmpl\"\n"                                             \
	"guestOS = \"other5xlinux-64\"\n"                                      \
	"memsize = \"512\"\n"                                                  \
	"numvcpus = \"1\"\n"                                                   \
	"scsi0.present = \"TRUE\"\n"                                           \
	"scsi0:0.present = \"TRUE\"\n"                                         \
	"scsi0:0.fileName = \"Virtual Disk.vmdk\"\n"                           \
	"ide1:0.present = \"TRUE\"\n"                                          \
	"ide1:0.deviceType = \"cdrom-image\"\n"                                \
	"ide1:0.fileName = \"tools.iso\"\n"                                    \
	"ethernet0.present = \"TRUE\"\n"                                       \
	"ethernet0.addressType = \"generated\"\n"                              \
	"ethernet0.generatedAddress = \"00:0C:29:AA:BB:CC\"\n"                 \
	"ethernet0.generatedAddressOffset = \"0\"\n"                           \
	"uuid.bios = \"56 4d 01 02 03 04 05 06-07 08 09 0a 0b 0c 0d 0e\"\n"    \
	"uuid.location = \"56 4d 01 02 03 04 05 06-07 08 09 0a 0b 0c 0d 0e\"\n"

#define DISK_DESCRIPTOR                                                        \
	"# Disk DescriptorFile\n"                                              \
	"version=1\n"                                                          \
	"encoding=\"UTF-8\"\n"                                                 \
	"CID=fb183c20\n"                                                       \
	"parentCID=ffffffff\n"                                                 \
	"createType=\"monolithicSparse\"\n"                                    \
	"\n"                                                                   \
	"RW 2048 SPARSE \"Virtual Disk-s001.vmdk\"\n"

enum product { PROD_PRO, PROD_STD, PROD_PLAYER };

/* The dry-run vmrun: what it answers and what it was asked. */
struct dry {
	char d_t[PATH_BUF]; /* the test's directory ($T), a real path */
	struct buf d_log;   /* the transcript */
	enum product d_product;
	bool d_snapshot;	 /* the template has infrakit-base */
	const char *d_list_out;	 /* answer of list */
	bool d_list_fail;	 /* list: Error:, exit 255 */
	const char *d_ip_out;	 /* answer of getGuestIPAddress */
	bool d_stop_off;	 /* stop: "not powered on" */
	bool d_start_timeout;	 /* start: killed at the deadline */
	bool d_start_noise_fail; /* start: noise, then Error: */
};

static struct dry D;

/* One instance as the service would hand it to the backend. */
struct inst {
	char i_id[32];
	char i_dir[PATH_BUF];
	char i_vmx[PATH_BUF];
	char i_tmpl[PATH_BUF];
	struct inst_spec i_spec;
	struct tags i_tags;
	struct bk_inst i_bi;
};

struct fx {
	void *f_ctx;
	char f_tmpl[PATH_BUF];
	char f_vms[PATH_BUF];
	char f_lib[PATH_BUF];
};

/* ---- helpers ---------------------------------------------------------- */

static void
write_text(const char *path, const char *text)
{
	struct err err;

	if (atomic_write_file(path, text, strlen(text), 0644, &err) == -1)
		fail_msg("%s", err.msg);
}

static void
mkdirs(const char *path)
{
	struct err err;

	if (mkdir_p(path, 0755, &err) == -1)
		fail_msg("%s", err.msg);
}

static void
join(char *dst, size_t len, const char *a, const char *b)
{
	assert_int_equal(path_join(dst, len, a, b), 0);
}

static char *
slurp(const char *path)
{
	struct err err;
	char *text = NULL;
	size_t len;

	if (read_file_max(path, 1 << 20, &text, &len, &err) == -1)
		fail_msg("%s", err.msg);
	return text;
}

/* The value of key in the .vmx at path (a new string), or NULL. */
static char *
vmx_value(const char *path, const char *key)
{
	struct vmx *v = NULL;
	struct err err;
	const char *s;
	char *r;

	if (vmx_load(path, &v, &err) == -1)
		fail_msg("%s", err.msg);
	s = vmx_get(v, key);
	r = s != NULL ? strdup(s) : NULL;
	vmx_free(v);
	return r;
}

static void
assert_vmx(const char *path, const char *key, const char *want)
{
	char *got = vmx_value(path, key);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s: %s = \"%s\", want none", path, key, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s: no %s, want \"%s\"", path, key, want);
	if (strcmp(got, want) != 0)
		fail_msg("%s: %s = \"%s\", want \"%s\"", path, key, got, want);
	free(got);
}

/* Compares the transcript with tests/data/vmrun/<name>.argv. */
static void
check_golden(const char *name)
{
	const char *dir = getenv("TESTS_DIR");
	char path[PATH_BUF];
	struct err err;
	char *want = NULL;
	size_t len = 0;
	int n;

	n = snprintf(path, sizeof(path), "%s/data/vmrun/%s.argv",
	    dir != NULL ? dir : "tests", name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	if (getenv("VMRUN_REGEN") != NULL) {
		write_text(path, buf_str(&D.d_log));
		return;
	}
	if (read_file_max(path, 1 << 20, &want, &len, &err) == -1)
		fail_msg("%s (VMRUN_REGEN=1 writes it)", err.msg);
	if (len != D.d_log.b_len || memcmp(want, buf_str(&D.d_log), len) != 0)
		fail_msg("transcript differs from %s\n--- want\n%s--- got\n%s",
		    path, want, buf_str(&D.d_log));
	free(want);
}

/* ---- the dry-run vmrun ------------------------------------------------ */

static void
record(struct dry *d, const char *const *argv)
{
	size_t tl = strlen(d->d_t);

	for (size_t i = 0; argv[i] != NULL; i++) {
		const char *a = argv[i];

		if (i > 0)
			assert_int_equal(buf_addc(&d->d_log, ' '), 0);
		if (i == 0)
			a = "VMRUN";
#if defined(__APPLE__)
		/* The goldens are written on Linux, where -T ws is the
		 * default service type. */
		else if (i == 2 && strcmp(a, "fusion") == 0)
			a = "ws";
#endif
		else if (strncmp(a, d->d_t, tl) == 0 &&
		    (a[tl] == '/' || a[tl] == '\0')) {
			assert_int_equal(buf_addstr(&d->d_log, "$T"), 0);
			a += tl;
		}
		assert_int_equal(buf_addstr(&d->d_log, a), 0);
	}
	assert_int_equal(buf_addc(&d->d_log, '\n'), 0);
}

static int
reply(struct proc_result *res, int status, const char *out)
{
	res->pr_status = status;
	if (out != NULL)
		assert_int_equal(buf_addstr(&res->pr_out, out), 0);
	return 0;
}

/* clone SRC DST full|linked [-snapshot=S] [-cloneName=N] */
static int
dry_clone(struct dry *d, const char *const *a, struct proc_result *res)
{
	struct err err;
	bool linked;

	if (d->d_product == PROD_STD)
		return reply(
		    res, 255, "Error: One of the parameters was invalid\n");
	if (d->d_product == PROD_PLAYER)
		return reply(res, 255,
		    "Error: The operation is not supported for the specified "
		    "parameters\n");
	assert_non_null(a[0]);
	assert_non_null(a[1]);
	assert_non_null(a[2]);
	linked = strcmp(a[2], "linked") == 0;
	/* Real vmrun's text (bottkars/vmxtoolkit#32). */
	if (linked && !d->d_snapshot)
		return reply(
		    res, 255, "Error: Invalid snapshot name 'infrakit-base'\n");
	/* What vmrun makes: the destination .vmx (the rest is not needed
	 * here). */
	if (copy_file(a[0], a[1], 0644, 0, NULL, &err) == -1)
		fail_msg("dry clone: %s", err.msg);
	return reply(res, 0, NULL);
}

static int
dry_run(void *opaque, const char *const *argv, struct proc_result *res,
    struct err *err)
{
	struct dry *d = opaque;
	const char *cmd;

	record(d, argv);
	assert_non_null(argv[1]);
	assert_string_equal(argv[1], "-T");
	assert_non_null(argv[2]);
	assert_non_null(argv[3]);
	cmd = argv[3];
	if (d->d_product == PROD_PLAYER && strcmp(argv[2], "player") != 0)
		return reply(res, 255, PLAYER_ERROR);
	if (strcmp(cmd, "list") == 0 && d->d_list_fail)
		return reply(res, 255, "Error: The operation was canceled\n");
	if (strcmp(cmd, "list") == 0)
		return reply(res, 0,
		    d->d_list_out != NULL ? d->d_list_out
					  : "Total running VMs: 0\n");
	if (strcmp(cmd, "listSnapshots") == 0)
		return reply(res, 0,
		    d->d_snapshot ? "Total snapshots: 1\ninfrakit-base\n"
				  : "Total snapshots: 0\n");
	if (strcmp(cmd, "snapshot") == 0) {
		d->d_snapshot = true;
		return reply(res, 0, NULL);
	}
	if (strcmp(cmd, "clone") == 0)
		return dry_clone(d, argv + 4, res);
	if (strcmp(cmd, "start") == 0) {
		if (d->d_start_timeout) {
			/* What proc_run says when it killed the child. */
			err_set(err, EIK_TIMEOUT,
			    "%s start: no answer within 3000 ms; killed it",
			    argv[0]);
			return -1;
		}
		if (d->d_start_noise_fail)
			return reply(res, 255,
			    "2013-09-07T15:26:59.560| ServiceImpl_Opener: PID "
			    "4119\nError: The operation was canceled\n");
		return reply(res, 0, NULL);
	}
	if (strcmp(cmd, "stop") == 0)
		return reply(res, d->d_stop_off ? 255 : 0,
		    d->d_stop_off ? "Error: The virtual machine is not powered "
				    "on\n"
				  : NULL);
	if (strcmp(cmd, "getGuestIPAddress") == 0)
		return reply(res, 0, d->d_ip_out);
	if (strcmp(cmd, "deleteVM") == 0)
		return reply(res, 0, NULL);
	return reply(res, 255, "Error: Unrecognized command\n");
}

/* ---- fixtures --------------------------------------------------------- */

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *tmp = cm_tmpdir(), dir[PATH_BUF], p[PATH_BUF];

	assert_non_null(f);
	memset(&D, 0, sizeof(D));
	assert_non_null(realpath(tmp, D.d_t));
	free(tmp);
	buf_init(&D.d_log, 1 << 20);
	join(f->f_lib, sizeof(f->f_lib), D.d_t, "lib");
	join(f->f_vms, sizeof(f->f_vms), D.d_t, "vms");
	join(dir, sizeof(dir), f->f_lib, "tmpl.vmwarevm");
	mkdirs(dir);
	mkdirs(f->f_vms);
	join(f->f_tmpl, sizeof(f->f_tmpl), dir, "tmpl.vmx");
	write_text(f->f_tmpl, TEMPLATE_VMX);
	join(p, sizeof(p), dir, "Virtual Disk.vmdk");
	write_text(p, DISK_DESCRIPTOR);
	join(p, sizeof(p), dir, "Virtual Disk-s001.vmdk");
	write_text(p, "");
	join(p, sizeof(p), dir, "tools.iso");
	write_text(p, "an iso image");
	join(p, sizeof(p), dir, "tmpl.nvram");
	write_text(p, "nvram");
	proc_set_dryrun(dry_run, &D);
	unsetenv(LEASES_ENV);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->f_ctx != NULL)
		backend_vmware_ops.close(f->f_ctx);
	proc_set_dryrun(NULL, NULL);
	unsetenv(LEASES_ENV);
	if (getenv("KEEP_TMP") == NULL)
		(void)rm_tree(D.d_t, NULL);
	buf_free(&D.d_log);
	free(f);
	return 0;
}

static void
open_backend(struct fx *f, enum clone_mode mode)
{
	struct backend_conf conf;
	struct err err;

	memset(&conf, 0, sizeof(conf));
	conf.bc_vm_dir = f->f_vms;
	conf.bc_vm_lib = f->f_lib;
	conf.bc_vmrun = "/bin/true";
	conf.bc_clone = mode;
	err_clear(&err);
	if (backend_vmware_ops.open(&conf, &f->f_ctx, &err) == -1)
		fail_msg("open: %s", err.msg);
}

/* Fills in for id, in <vms>/<id> (made, empty). */
static void
inst_init(struct fx *f, struct inst *in, const char *id)
{
	int n;

	memset(in, 0, sizeof(*in));
	(void)strlcpy(in->i_id, id, sizeof(in->i_id));
	join(in->i_dir, sizeof(in->i_dir), f->f_vms, id);
	mkdirs(in->i_dir);
	n = snprintf(in->i_vmx, sizeof(in->i_vmx), "%s/%s.vmx", in->i_dir, id);
	assert_true(n > 0 && (size_t)n < sizeof(in->i_vmx));
	(void)strlcpy(in->i_tmpl, f->f_tmpl, sizeof(in->i_tmpl));
	in->i_spec.s_init = (char *)"echo hello";
	(void)strlcpy(
	    in->i_spec.s_props.p_vmx, "tmpl", sizeof(in->i_spec.s_props.p_vmx));
	in->i_spec.s_props.p_memsize_mb = 1024;
	in->i_spec.s_props.p_numcpus = 2;
	in->i_spec.s_props.p_guest_init = GUEST_INIT_AUTO;
	in->i_bi.bi_id = in->i_id;
	in->i_bi.bi_dir = in->i_dir;
	in->i_bi.bi_vmx = in->i_vmx;
	in->i_bi.bi_template = in->i_tmpl;
	in->i_bi.bi_spec = &in->i_spec;
	in->i_bi.bi_tags = &in->i_tags;
	in->i_bi.bi_deadline = mono_ms() + 60000;
}

static void
create_ok(struct fx *f, struct inst *in)
{
	struct err err;

	err_clear(&err);
	in->i_bi.bi_deadline = mono_ms() + 60000;
	if (backend_vmware_ops.create(f->f_ctx, &in->i_bi, &err) == -1)
		fail_msg("create %s: %s", in->i_id, err.msg);
}

static bool
has_marker(const struct inst *in)
{
	char p[PATH_BUF];

	join(p, sizeof(p), in->i_dir, ".infrakit-clone");
	return is_file(p) != 0;
}

/* What every created instance must look like. */
static void
check_configured(struct fx *f, const struct inst *in)
{
	char iso[PATH_BUF], p[PATH_BUF];
	int n;

	assert_vmx(in->i_vmx, "displayName", in->i_id);
	assert_vmx(in->i_vmx, "memsize", "1024");
	assert_vmx(in->i_vmx, "numvcpus", "2");
	assert_vmx(in->i_vmx, "guestinfo.infrakit.id", in->i_id);
	assert_vmx(in->i_vmx, "uuid.action", "create");
	assert_vmx(in->i_vmx, "msg.autoAnswer", "TRUE");
	assert_vmx(in->i_vmx, "uuid.bios", NULL);
	assert_vmx(in->i_vmx, "ethernet0.generatedAddress", NULL);
	/* The template's CD-ROM image, by absolute path, not copied. */
	n = snprintf(iso, sizeof(iso), "%s/lib/tmpl.vmwarevm/tools.iso", D.d_t);
	assert_true(n > 0 && (size_t)n < sizeof(iso));
	assert_vmx(in->i_vmx, "ide1:0.fileName", iso);
	join(p, sizeof(p), in->i_dir, "tools.iso");
	assert_false(is_file(p));
	/* The cloud-init seed. */
	join(p, sizeof(p), in->i_dir, "seed.iso");
	assert_true(is_file(p));
	(void)f;
}

/* ---- parsers ---------------------------------------------------------- */

struct paths {
	char p[8][PATH_BUF];
	int n;
};

static void
add_path(void *arg, const char *path)
{
	struct paths *ps = arg;

	assert_true(ps->n < 8);
	(void)strlcpy(ps->p[ps->n++], path, sizeof(ps->p[0]));
}

static void
test_parse_list(void **state)
{
	struct paths ps;
	struct err err;

	(void)state;
	/* Fusion, paths with spaces (spec §1.4, GNS3 #328). */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(
	    vmrun_parse_list("Total running VMs: 2\n"
			     "/Users/noplay/Documents/Virtual "
			     "Machines.localized/GNS3 VM.vmwarevm/GNS3 VM.vmx\n"
			     "/vms/a b/c d.vmx\n",
		add_path, &ps, &err),
	    2);
	assert_int_equal(ps.n, 2);
	assert_string_equal(ps.p[0],
	    "/Users/noplay/Documents/Virtual Machines.localized/GNS3 "
	    "VM.vmwarevm/GNS3 VM.vmx");
	assert_string_equal(ps.p[1], "/vms/a b/c d.vmx");

	/* CRLF, no final newline. */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(vmrun_parse_list("Total running VMs: 2\r\n/a/b.vmx\r\n"
					  "/c/d e.vmx",
			     add_path, &ps, &err),
	    2);
	assert_string_equal(ps.p[0], "/a/b.vmx");
	assert_string_equal(ps.p[1], "/c/d e.vmx");

	/* Noise before the header, blank lines, junk after it. */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(
	    vmrun_parse_list("2013-09-07T15:26:59.560| ServiceImpl_Opener: "
			     "PID 4119\n/not/a/vm.vmx\n\nTotal running VMs: "
			     "1\n\n/x/y.vmx\nsome noise\n",
		add_path, &ps, &err),
	    1);
	assert_int_equal(ps.n, 1);
	assert_string_equal(ps.p[0], "/x/y.vmx");

	/* None running. */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(
	    vmrun_parse_list("Total running VMs: 0\n", add_path, &ps, &err), 0);
	assert_int_equal(ps.n, 0);

	/* No header: not a list, and the error shows what came. */
	memset(&ps, 0, sizeof(ps));
	err_clear(&err);
	assert_int_equal(vmrun_parse_list("\n  Error: The operation was "
					  "canceled\n/a/b.vmx\n",
			     add_path, &ps, &err),
	    -1);
	assert_int_equal(ps.n, 0);
	assert_int_equal(err.code, EIK_BACKEND);
	assert_non_null(strstr(err.msg, "The operation was canceled"));
	err_clear(&err);
	assert_int_equal(vmrun_parse_list("", add_path, &ps, &err), -1);
	assert_int_equal(err.code, EIK_BACKEND);
}

/* A list whose header disagrees with its lines is not believed: read as
 * "no VM runs", it would make the group replace every VM (issue 11 #6). */
static void
test_parse_list_inconsistent(void **state)
{
	static const struct {
		const char *out;
		const char *needle;
	} cases[] = {
		{ "Total running VMs: 2\n", "header says 2 running VMs but 0" },
		{ "Total running VMs: 2\r\n\r\n", "says 2 running VMs but 0" },
		{ "Total running VMs: 2\n/a/b.vmx\n",
		    "says 2 running VMs but 1" },
		{ "Total running VMs: 0\n/a/b.vmx\n",
		    "says 0 running VMs but 1" },
		{ "Total running VMs: 1\n/a/b.vmx\nTotal running VMs: 1\n"
		  "/c/d.vmx\n",
		    "2 \"Total running VMs:\" lines" },
		{ "Total running VMs: two\n/a/b.vmx\n", "count" },
		{ "Total running VMs:\n", "count" },
		{ "Total running VMs: -1\n", "count" },
		{ "Total running VMs: 99999999999999999999\n", "count" },
	};
	struct paths ps;
	struct err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ps, 0, sizeof(ps));
		err_clear(&err);
		assert_int_equal(
		    vmrun_parse_list(cases[i].out, add_path, &ps, &err),
		    VMRUN_LIST_INCONSISTENT);
		assert_int_equal(err.code, EIK_BACKEND);
		if (strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			    cases[i].needle);
	}
	/* A path too long to read is one the header counts, not nothing. */
	{
		size_t n = PATH_BUF + 64, h;
		char *out = malloc(n + 64);

		assert_non_null(out);
		(void)strlcpy(out, "Total running VMs: 1\n/", n + 64);
		h = strlen(out);
		memset(out + h, 'x', n);
		out[h + n] = '\0';
		(void)strlcat(out, ".vmx\n", n + 64);
		memset(&ps, 0, sizeof(ps));
		err_clear(&err);
		assert_int_equal(vmrun_parse_list(out, add_path, &ps, &err),
		    VMRUN_LIST_INCONSISTENT);
		assert_non_null(strstr(err.msg, "longer than"));
		free(out);
	}
}

static void
test_error_text(void **state)
{
	char msg[128];

	(void)state;
	assert_int_equal(
	    vmrun_error_text("Error: The virtual machine is not powered on\n",
		msg, sizeof(msg)),
	    0);
	assert_string_equal(msg, "The virtual machine is not powered on");
	/* Noise first (vagrant #2159), CRLF. */
	assert_int_equal(
	    vmrun_error_text("2013-09-07T15:26:59.560| ServiceImpl_Opener: "
			     "PID 4119\r\nError: Cannot connect to the virtual "
			     "machine\r\n",
		msg, sizeof(msg)),
	    0);
	assert_string_equal(msg, "Cannot connect to the virtual machine");
	/* The two-line Player answer. */
	assert_int_equal(vmrun_error_text(PLAYER_ERROR, msg, sizeof(msg)), 0);
	assert_string_equal(msg,
	    "Service type VIX_SERVICEPROVIDER_VMWARE_WORKSTATION was "
	    "specified, but not installed");
	/* Last line without a newline. */
	assert_int_equal(
	    vmrun_error_text("noise\nError: x y", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "x y");
	/* Truncated to the buffer. */
	assert_int_equal(vmrun_error_text("Error: 0123456789", msg, 5), 0);
	assert_string_equal(msg, "0123");
	/* "Error:" only counts at the start of a line. */
	assert_int_equal(
	    vmrun_error_text("no Error: here\n", msg, sizeof(msg)), -1);
	assert_int_equal(vmrun_error_text("", msg, sizeof(msg)), -1);
}

static void
test_has_snapshot(void **state)
{
	(void)state;
	assert_int_equal(vmrun_has_snapshot("Total snapshots: 0\n", "base"), 0);
	assert_int_equal(vmrun_has_snapshot("Total snapshots: 2\nother\n"
					    "infrakit-base\n",
			     "infrakit-base"),
	    1);
	/* showTree indents children; CRLF. */
	assert_int_equal(vmrun_has_snapshot("Total snapshots: 2\r\nroot\r\n"
					    "\tinfrakit-base\r\n",
			     "infrakit-base"),
	    1);
	/* Whole names only. */
	assert_int_equal(vmrun_has_snapshot("Total snapshots: 2\n"
					    "infrakit-base-old\ninfrakit\n",
			     "infrakit-base"),
	    0);
	/* Names before the header do not count. */
	assert_int_equal(
	    vmrun_has_snapshot(
		"infrakit-base\nTotal snapshots: 0\n", "infrakit-base"),
	    0);
	/* Not a snapshot list. */
	assert_int_equal(
	    vmrun_has_snapshot("Error: Cannot open VM\n", "infrakit-base"), -1);
	assert_int_equal(vmrun_has_snapshot("", "infrakit-base"), -1);
}

static void
test_clone_unsupported(void **state)
{
	(void)state;
	assert_true(
	    vmrun_clone_unsupported("One of the parameters was invalid"));
	assert_true(vmrun_clone_unsupported(
	    "The operation is not supported for the specified parameters"));
	assert_true(vmrun_clone_unsupported(
	    "This operation is not supported with the current license"));
	assert_false(
	    vmrun_clone_unsupported("Invalid snapshot name 'infrakit-base'"));
	assert_false(vmrun_clone_unsupported("The file is already in use"));
	assert_false(vmrun_clone_unsupported(
	    "The virtual machine should not be powered on. It is already "
	    "running"));
	assert_false(vmrun_clone_unsupported(""));
	assert_true(vmrun_not_running("The virtual machine is not powered on"));
	assert_false(vmrun_not_running(
	    "The VMware Tools are not running in the virtual machine: /a.vmx"));
}

/* ---- -T ws -> player -------------------------------------------------- */

static void
test_player_fallback(void **state)
{
	struct fx *f = *state;
	const char *args[] = { "list", NULL };
	struct vmrun vr;
	struct buf out;
	struct err err;
	struct inst a;

	/* vmrun_run by itself: retries once with -T player and keeps it. */
	D.d_product = PROD_PLAYER;
	assert_int_equal(vmrun_init(&vr, "/bin/true", &err), 0);
	assert_string_equal(vr.vr_type, "ws");
	buf_init(&out, 4096);
	if (vmrun_run(&vr, args, 1000, 0, &out, &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(buf_str(&out), "Total running VMs: 0\n");
	assert_string_equal(vr.vr_type, "player");
	buf_free(&out);
	if (vmrun_run(&vr, args, 1000, 0, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	vmrun_fini(&vr);

	/* The backend: open settles -T player; auto clones cannot be made
	 * (single-line refusal) so the bundle is copied; start uses player. */
	open_backend(f, CLONE_AUTO);
	inst_init(f, &a, "i-player0001");
	create_ok(f, &a);
	assert_false(has_marker(&a));
	check_configured(f, &a);
	err_clear(&err);
	if (backend_vmware_ops.start(f->f_ctx, &a.i_bi, &err) == -1)
		fail_msg("%s", err.msg);
	check_golden("player-fallback");
}

/* A -T ws failure that is not the Player one is not retried. */
static void
test_no_fallback_on_other_errors(void **state)
{
	const char *args[] = { "bogus", NULL };
	struct vmrun vr;
	struct err err;

	(void)state;
	assert_int_equal(vmrun_init(&vr, "/bin/true", &err), 0);
	err_clear(&err);
	assert_int_equal(vmrun_run(&vr, args, 1000, 0, NULL, &err), -1);
	assert_int_equal(err.code, EIK_BACKEND);
	assert_non_null(strstr(err.msg, "vmrun bogus: Unrecognized command"));
	assert_non_null(strstr(err.msg, "exited 255"));
	assert_string_equal(vr.vr_type, "ws");
	vmrun_fini(&vr);
	assert_string_equal(buf_str(&D.d_log), "VMRUN -T ws bogus\n");
}

/* ---- create ----------------------------------------------------------- */

static void
test_create_linked(void **state)
{
	struct fx *f = *state;
	struct inst a, b;

	open_backend(f, CLONE_LINKED);
	inst_init(f, &a, "i-linked0001");
	create_ok(f, &a);
	assert_true(D.d_snapshot);
	assert_true(has_marker(&a));
	check_configured(f, &a);
	/* The second one finds the snapshot. */
	inst_init(f, &b, "i-linked0002");
	create_ok(f, &b);
	check_configured(f, &b);
	check_golden("create-linked");
}

/* Linked, and the product cannot clone: an error, no copy. */
static void
test_create_linked_unsupported(void **state)
{
	struct fx *f = *state;
	struct inst a;
	struct err err;

	D.d_product = PROD_STD;
	D.d_snapshot = true;
	open_backend(f, CLONE_LINKED);
	inst_init(f, &a, "i-linked0003");
	err_clear(&err);
	assert_int_equal(
	    backend_vmware_ops.create(f->f_ctx, &a.i_bi, &err), -1);
	assert_int_equal(err.code, EIK_BACKEND);
	assert_non_null(strstr(err.msg, "One of the parameters was invalid"));
	assert_false(is_file(a.i_vmx));
	check_golden("create-linked-unsupported");
}

static void
test_create_full(void **state)
{
	struct fx *f = *state;
	struct inst a;

	open_backend(f, CLONE_FULL);
	inst_init(f, &a, "i-full0001");
	create_ok(f, &a);
	assert_true(has_marker(&a));
	check_configured(f, &a);
	assert_false(D.d_snapshot);
	check_golden("create-full");
}

static void
test_create_copy(void **state)
{
	struct fx *f = *state;
	struct inst a;
	char p[PATH_BUF];

	open_backend(f, CLONE_COPY);
	inst_init(f, &a, "i-copy0001");
	create_ok(f, &a);
	assert_false(has_marker(&a));
	check_configured(f, &a);
	join(p, sizeof(p), a.i_dir, "Virtual Disk.vmdk");
	assert_true(is_file(p));
	join(p, sizeof(p), a.i_dir, "tmpl.nvram");
	assert_true(is_file(p));
	join(p, sizeof(p), a.i_dir, "tmpl.vmx");
	assert_false(is_file(p));
	assert_vmx(a.i_vmx, "extendedConfigFile", "i-copy0001.vmxf");
	/* Per-instance Clone overrides --clone. */
	{
		struct inst b;

		inst_init(f, &b, "i-copy0002");
		b.i_spec.s_props.p_clone = CLONE_FULL;
		create_ok(f, &b);
		assert_true(has_marker(&b));
	}
	check_golden("create-copy");
}

/* Auto on a Pro product: the first create asks the product before it
 * snapshots the template, then clones linked. */
static void
test_create_auto_pro(void **state)
{
	struct fx *f = *state;
	struct inst a, b;

	open_backend(f, CLONE_AUTO);
	inst_init(f, &a, "i-auto0001");
	create_ok(f, &a);
	assert_true(D.d_snapshot);
	assert_true(has_marker(&a));
	check_configured(f, &a);
	inst_init(f, &b, "i-auto0002");
	create_ok(f, &b);
	assert_true(has_marker(&b));
	check_golden("create-auto-pro");
}

/* Auto on non-Pro Fusion: the clone is refused, the bundle is copied, the
 * template gets no snapshot, and later creates copy straight away. */
static void
test_create_auto_nonpro(void **state)
{
	struct fx *f = *state;
	struct inst a, b;
	char *before, *after;

	D.d_product = PROD_STD;
	before = slurp(f->f_tmpl);
	open_backend(f, CLONE_AUTO);
	inst_init(f, &a, "i-std0001");
	create_ok(f, &a);
	assert_false(has_marker(&a));
	check_configured(f, &a);
	assert_false(D.d_snapshot);
	inst_init(f, &b, "i-std0002");
	create_ok(f, &b);
	assert_false(has_marker(&b));
	check_configured(f, &b);
	after = slurp(f->f_tmpl);
	assert_string_equal(before, after);
	free(before);
	free(after);
	check_golden("create-auto-nonpro");
}

/* ---- power operations ------------------------------------------------- */

static void
test_start_stop(void **state)
{
	struct fx *f = *state;
	struct inst a;
	struct err err;

	open_backend(f, CLONE_COPY);
	inst_init(f, &a, "i-ops0001");
	create_ok(f, &a);

	err_clear(&err);
	if (backend_vmware_ops.start(f->f_ctx, &a.i_bi, &err) == -1)
		fail_msg("%s", err.msg);
	a.i_spec.s_props.p_launch_gui = true;
	if (backend_vmware_ops.start(f->f_ctx, &a.i_bi, &err) == -1)
		fail_msg("%s", err.msg);
	if (backend_vmware_ops.stop(f->f_ctx, &a.i_bi, false, &err) == -1)
		fail_msg("%s", err.msg);
	if (backend_vmware_ops.stop(f->f_ctx, &a.i_bi, true, &err) == -1)
		fail_msg("%s", err.msg);
	/* Already off: success, soft and hard. */
	D.d_stop_off = true;
	if (backend_vmware_ops.stop(f->f_ctx, &a.i_bi, false, &err) == -1)
		fail_msg("%s", err.msg);
	if (backend_vmware_ops.stop(f->f_ctx, &a.i_bi, true, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(err.code, 0);

	/* A start that fails after noise: the Error: line is the message. */
	D.d_start_noise_fail = true;
	err_clear(&err);
	assert_int_equal(backend_vmware_ops.start(f->f_ctx, &a.i_bi, &err), -1);
	assert_int_equal(err.code, EIK_BACKEND);
	assert_non_null(
	    strstr(err.msg, "vmrun start: The operation was canceled"));
	D.d_start_noise_fail = false;

	/* A start killed at the operation's deadline (3 s away) says so,
	 * with the deadline's length, not start's own 300 s budget. */
	D.d_start_timeout = true;
	err_clear(&err);
	a.i_bi.bi_deadline = mono_ms() + 3000;
	assert_int_equal(backend_vmware_ops.start(f->f_ctx, &a.i_bi, &err), -1);
	assert_int_equal(err.code, EIK_TIMEOUT);
	if (strstr(err.msg, "no answer within 3 s") == NULL ||
	    strstr(err.msg, "killed") == NULL)
		fail_msg("timeout message: %s", err.msg);

	/* No .vmx: nothing to stop, nothing run. */
	{
		struct inst g;

		inst_init(f, &g, "i-ops0002");
		if (backend_vmware_ops.stop(f->f_ctx, &g.i_bi, true, &err) ==
		    -1)
			fail_msg("%s", err.msg);
	}
	check_golden("start-stop");
}

static void
test_power(void **state)
{
	struct fx *f = *state;
	struct bk_power p[5];
	const char *names[5] = { "a", "b c", "susp", "off", "gone" };
	char dirs[5][PATH_BUF], vmxs[5][PATH_BUF], list[4 * PATH_BUF];
	struct err err;
	int n;

	open_backend(f, CLONE_COPY);
	for (int i = 0; i < 5; i++) {
		join(dirs[i], sizeof(dirs[i]), f->f_vms, names[i]);
		n = snprintf(
		    vmxs[i], sizeof(vmxs[i]), "%s/%s.vmx", dirs[i], names[i]);
		assert_true(n > 0 && (size_t)n < sizeof(vmxs[i]));
		if (i < 4) {
			mkdirs(dirs[i]);
			write_text(vmxs[i], ".encoding = \"UTF-8\"\n");
		}
		p[i].bp_id = names[i];
		p[i].bp_dir = dirs[i];
		p[i].bp_vmx = vmxs[i];
		p[i].bp_state = POWER_UNKNOWN;
	}
	{
		char ss[PATH_BUF];

		join(ss, sizeof(ss), dirs[2], "susp.vmss");
		write_text(ss, "suspended");
	}
	/* CRLF, a path with spaces, a VM that is not ours. */
	n = snprintf(list, sizeof(list),
	    "Total running VMs: 3\r\n%s\r\n%s\r\n/elsewhere/x.vmx\r\n", vmxs[0],
	    vmxs[1]);
	assert_true(n > 0 && (size_t)n < sizeof(list));
	D.d_list_out = list;
	err_clear(&err);
	if (backend_vmware_ops.power(f->f_ctx, p, 5, mono_ms() + 10000, &err) ==
	    -1)
		fail_msg("%s", err.msg);
	assert_int_equal(p[0].bp_state, POWER_RUNNING);
	assert_int_equal(p[1].bp_state, POWER_RUNNING);
	assert_int_equal(p[2].bp_state, POWER_SUSPENDED);
	assert_int_equal(p[3].bp_state, POWER_OFF);
	assert_int_equal(p[4].bp_state, POWER_OFF);

	/* Output that is not a list, or a list that contradicts itself, is
	 * "unknown" for every VM, never "all off" (issue 11 #6): the
	 * instances stay reported and the group replaces none. Even a VM
	 * whose .vmx is gone: nothing can be believed of this answer. */
	{
		static const char *const bad[] = {
			"Error: The operation was canceled\n",
			"Total running VMs: 3\n",
			"Total running VMs: 5\n/elsewhere/x.vmx\n",
		};

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			D.d_list_out = bad[k];
			for (int i = 0; i < 5; i++)
				p[i].bp_state = POWER_RUNNING;
			err_clear(&err);
			if (backend_vmware_ops.power(
				f->f_ctx, p, 5, mono_ms() + 10000, &err) == -1)
				fail_msg("case %zu: %s", k, err.msg);
			for (int i = 0; i < 5; i++)
				if (p[i].bp_state != POWER_UNKNOWN)
					fail_msg("case %zu: %s is %s, want "
						 "unknown",
					    k, names[i],
					    power_state_name(p[i].bp_state));
		}
	}
	/* vmrun failing outright is still an error of the refresh. */
	D.d_list_fail = true;
	err_clear(&err);
	assert_int_equal(
	    backend_vmware_ops.power(f->f_ctx, p, 5, mono_ms() + 10000, &err),
	    -1);
	assert_int_equal(err.code, EIK_BACKEND);
	D.d_list_fail = false;
	/* A consistent list again: believed again. */
	n = snprintf(list, sizeof(list), "Total running VMs: 1\n%s\n", vmxs[1]);
	assert_true(n > 0 && (size_t)n < sizeof(list));
	D.d_list_out = list;
	err_clear(&err);
	if (backend_vmware_ops.power(f->f_ctx, p, 5, mono_ms() + 10000, &err) ==
	    -1)
		fail_msg("%s", err.msg);
	assert_int_equal(p[0].bp_state, POWER_OFF);
	assert_int_equal(p[1].bp_state, POWER_RUNNING);
	assert_int_equal(p[2].bp_state, POWER_SUSPENDED);
	D.d_list_out = NULL;
	check_golden("power");
}

static void
test_remove(void **state)
{
	struct fx *f = *state;
	struct inst a, b, c;
	struct err err;

	open_backend(f, CLONE_COPY);
	inst_init(f, &a, "i-rm0001");
	create_ok(f, &a);
	D.d_snapshot = true;
	inst_init(f, &b, "i-rm0002");
	b.i_spec.s_props.p_clone = CLONE_LINKED;
	create_ok(f, &b);
	inst_init(f, &c, "i-rm0003");
	c.i_spec.s_props.p_clone = CLONE_FULL;
	create_ok(f, &c);
	err_clear(&err);
	/* A copy: nothing to tell VMware. */
	assert_int_equal(backend_vmware_ops.remove(f->f_ctx, &a.i_bi, &err), 0);
	/* vmrun clones: deleteVM. */
	assert_int_equal(backend_vmware_ops.remove(f->f_ctx, &b.i_bi, &err), 0);
	assert_int_equal(backend_vmware_ops.remove(f->f_ctx, &c.i_bi, &err), 0);
	/* A clone whose .vmx is gone: nothing either. */
	assert_int_equal(unlink(c.i_vmx), 0);
	assert_int_equal(backend_vmware_ops.remove(f->f_ctx, &c.i_bi, &err), 0);
	check_golden("remove");
}

static void
test_guest_ip(void **state)
{
	struct fx *f = *state;
	struct inst a;
	char ip[64], mac[64], leases[PATH_BUF], text[512];
	struct err err;
	int n;

	/* The lease file the fallback reads, set before open. */
	join(leases, sizeof(leases), D.d_t, "vmnet8.leases");
	assert_int_equal(setenv(LEASES_ENV, leases, 1), 0);
	open_backend(f, CLONE_COPY);
	inst_init(f, &a, "i-ip0001");
	create_ok(f, &a);
	/* As VMware writes it at power-on. */
	{
		struct vmx *v = NULL;

		assert_int_equal(vmx_load(a.i_vmx, &v, &err), 0);
		assert_int_equal(vmx_set(v, "ethernet0.generatedAddress",
				     "00:0c:29:12:34:56"),
		    0);
		assert_int_equal(vmx_save(v, a.i_vmx, &err), 0);
		vmx_free(v);
	}

	D.d_ip_out = "172.16.5.20\n";
	memset(ip, 0, sizeof(ip));
	memset(mac, 0, sizeof(mac));
	err_clear(&err);
	if (backend_vmware_ops.guest_ip(f->f_ctx, &a.i_bi, ip, sizeof(ip), mac,
		sizeof(mac), &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(ip, "172.16.5.20");
	assert_string_equal(mac, "00:0c:29:12:34:56");

	/* Tools without an address: the DHCP lease of the MAC. */
	n = snprintf(text, sizeof(text),
	    "lease 172.16.5.99 {\n\tstarts 0 2020/01/01 00:00:00;\n\tends "
	    "never;\n\thardware ethernet 00:0C:29:12:34:56;\n}\n");
	assert_true(n > 0 && (size_t)n < sizeof(text));
	write_text(leases, text);
	D.d_ip_out = "unknown\n";
	memset(ip, 0, sizeof(ip));
	if (backend_vmware_ops.guest_ip(f->f_ctx, &a.i_bi, ip, sizeof(ip), mac,
		sizeof(mac), &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(ip, "172.16.5.99");

	/* Neither: an error naming both, on one line. */
	write_text(leases, "");
	err_clear(&err);
	assert_int_equal(backend_vmware_ops.guest_ip(f->f_ctx, &a.i_bi, ip,
			     sizeof(ip), mac, sizeof(mac), &err),
	    -1);
	assert_non_null(strstr(err.msg, "unknown"));
	assert_non_null(strstr(err.msg, "00:0c:29:12:34:56"));
	assert_null(strchr(err.msg, '\n'));
	check_golden("guest-ip");
}

/* Validate refuses a template whose disk escapes its bundle (issue 11
 * #8), before any vmrun runs; CD-ROM images outside are fine. */
static void
test_validate_disks(void **state)
{
	struct fx *f = *state;
	struct inst_props props;
	char text[2 * PATH_BUF];
	struct err err;
	size_t calls;

	open_backend(f, CLONE_AUTO);
	calls = D.d_log.b_len;
	memset(&props, 0, sizeof(props));
	props.p_guest_init = GUEST_INIT_AUTO;
	err_clear(&err);
	if (backend_vmware_ops.validate(f->f_ctx, &props, f->f_tmpl, &err) ==
	    -1)
		fail_msg("%s", err.msg);
	(void)snprintf(text, sizeof(text),
	    "%s"
	    "scsi0:1.present = \"TRUE\"\n"
	    "scsi0:1.fileName = \"../shared.vmdk\"\n",
	    TEMPLATE_VMX);
	write_text(f->f_tmpl, text);
	err_clear(&err);
	assert_int_equal(
	    backend_vmware_ops.validate(f->f_ctx, &props, f->f_tmpl, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg,
	    "scsi0:1.fileName \"../shared.vmdk\" is outside the template's "
	    "directory"));
	(void)snprintf(text, sizeof(text),
	    "%s"
	    "scsi0:1.present = \"TRUE\"\n"
	    "scsi0:1.fileName = \"%s/shared.vmdk\"\n",
	    TEMPLATE_VMX, f->f_lib);
	write_text(f->f_tmpl, text);
	err_clear(&err);
	assert_int_equal(
	    backend_vmware_ops.validate(f->f_ctx, &props, f->f_tmpl, &err), -1);
	assert_non_null(strstr(err.msg, "scsi0:1.fileName"));
	/* An ISO outside: read-only media, allowed. */
	(void)snprintf(text, sizeof(text),
	    "%s"
	    "sata0:1.present = \"TRUE\"\n"
	    "sata0:1.deviceType = \"cdrom-image\"\n"
	    "sata0:1.fileName = \"../../iso/install.iso\"\n",
	    TEMPLATE_VMX);
	write_text(f->f_tmpl, text);
	err_clear(&err);
	if (backend_vmware_ops.validate(f->f_ctx, &props, f->f_tmpl, &err) ==
	    -1)
		fail_msg("%s", err.msg);
	/* Validate runs no vmrun. */
	assert_int_equal(D.d_log.b_len, calls);
}

/* The .vmx that Init and SSH keys make must fit VMware's limit: decided
 * by validate_spec before Provision answers (issue 11 #12). */
static void
test_validate_spec_size(void **state)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct fx *f = *state;
	struct inst in;
	char *keys[31];
	uint32_t x = 88172645u;
	struct err err;

	open_backend(f, CLONE_COPY);
	inst_init(f, &in, "i-big0001");
	assert_non_null(backend_vmware_ops.validate_spec);
	for (size_t i = 0; i < 30; i++) {
		keys[i] = malloc(15001);
		assert_non_null(keys[i]);
		memcpy(keys[i], "ssh-rsa ", 8);
		for (size_t j = 8; j < 15000; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			keys[i][j] = a[x % 64];
		}
		keys[i][15000] = '\0';
	}
	keys[30] = NULL;
	/* Small: fine either way. */
	in.i_spec.s_props.p_guest_init = GUEST_INIT_GUESTINFO;
	err_clear(&err);
	if (backend_vmware_ops.validate_spec(
		f->f_ctx, &in.i_spec, f->f_tmpl, &err) == -1)
		fail_msg("%s", err.msg);
	in.i_spec.s_props.p_ssh_keys = keys;
	in.i_spec.s_props.p_n_ssh_keys = 30;
	/* guestinfo only: refused, naming the field and the way out. */
	err_clear(&err);
	assert_int_equal(backend_vmware_ops.validate_spec(
			     f->f_ctx, &in.i_spec, f->f_tmpl, &err),
	    -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg,
	    "Spec.Init: with Properties.GuestInit "
	    "\"guestinfo\" the instance's .vmx"));
	assert_non_null(strstr(err.msg, "use GuestInit \"auto\""));
	/* ... also by Validate (Properties alone: an empty Init). */
	err_clear(&err);
	assert_int_equal(backend_vmware_ops.validate(
			     f->f_ctx, &in.i_spec.s_props, f->f_tmpl, &err),
	    -1);
	assert_non_null(strstr(err.msg, "over the 1048576 VMware takes"));
	/* auto: accepted, and made with the seed ISO alone. */
	in.i_spec.s_props.p_guest_init = GUEST_INIT_AUTO;
	err_clear(&err);
	if (backend_vmware_ops.validate_spec(
		f->f_ctx, &in.i_spec, f->f_tmpl, &err) == -1)
		fail_msg("%s", err.msg);
	create_ok(f, &in);
	assert_vmx(in.i_vmx, "guestinfo.userdata", NULL);
	assert_vmx(in.i_vmx, "guestinfo.metadata", NULL);
	assert_vmx(in.i_vmx, "guestinfo.infrakit.id", in.i_id);
	assert_vmx(in.i_vmx, "ide1:1.fileName", "seed.iso");
	{
		struct stat st;

		assert_int_equal(stat(in.i_vmx, &st), 0);
		assert_true(st.st_size <= VMX_VMWARE_MAX_SIZE);
	}
	in.i_spec.s_props.p_ssh_keys = NULL;
	in.i_spec.s_props.p_n_ssh_keys = 0;
	for (size_t i = 0; i < 30; i++)
		free(keys[i]);
}

/* The flat VMDK the plugin writes for a pet when vdiskmanager is not
 * there: the descriptor's fields, the sparse extent of the whole size. */
static void
test_vmdk_flat(void **state)
{
	char *tmp = cm_tmpdir(), path[PATH_BUF], ext[PATH_BUF], out[1024];
	char *text = NULL;
	size_t len;
	struct stat st;
	struct err err;

	(void)state;
	assert_int_equal(vmdk_flat_descriptor(out, sizeof(out), 2097152,
			     "d-flat.vmdk", 0x1234abcdu),
	    0);
	assert_non_null(strstr(out, "# Disk DescriptorFile\nversion=1\n"));
	assert_non_null(strstr(out, "CID=1234abcd\nparentCID=ffffffff\n"));
	assert_non_null(strstr(out, "createType=\"monolithicFlat\"\n"));
	assert_non_null(strstr(out, "RW 2097152 FLAT \"d-flat.vmdk\" 0\n"));
	/* 2097152 / (255 * 63) */
	assert_non_null(strstr(out, "ddb.geometry.cylinders = \"130\"\n"));
	/* Not a plain name, or too small a buffer: refused. */
	assert_int_equal(
	    vmdk_flat_descriptor(out, sizeof(out), 8, "../x.vmdk", 1), -1);
	assert_int_equal(
	    vmdk_flat_descriptor(out, sizeof(out), 8, "a\"b.vmdk", 1), -1);
	assert_int_equal(vmdk_flat_descriptor(out, 64, 8, "x.vmdk", 1), -1);

	(void)snprintf(path, sizeof(path), "%s/d.vmdk", tmp);
	(void)snprintf(ext, sizeof(ext), "%s/d-flat.vmdk", tmp);
	if (vmdk_create_flat(path, 1, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(stat(ext, &st), 0);
	assert_int_equal((long long)st.st_size, 1LL << 30);
	/* Sparse: nothing like a gigabyte written. */
	assert_true((long long)st.st_blocks * 512 < (1LL << 20));
	assert_int_equal(read_file_max(path, 4096, &text, &len, &err), 0);
	assert_non_null(strstr(text, "RW 2097152 FLAT \"d-flat.vmdk\" 0\n"));
	free(text);
	/* It never overwrites a disk. */
	assert_int_equal(vmdk_create_flat(path, 1, &err), -1);
	(void)snprintf(path, sizeof(path), "%s/d.img", tmp);
	assert_int_equal(vmdk_create_flat(path, 1, &err), -1);
	assert_non_null(strstr(err.msg, "must end in .vmdk"));
	(void)rm_tree(tmp, NULL);
	free(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_list_inconsistent),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_has_snapshot),
		cmocka_unit_test(test_clone_unsupported),
		cmocka_unit_test(test_vmdk_flat),
		cmocka_unit_test_setup_teardown(
		    test_player_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_fallback_on_other_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_create_linked, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_create_linked_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_create_full, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_create_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_create_auto_pro, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_create_auto_nonpro, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_start_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_validate_disks, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_validate_spec_size, setup, teardown),
	};

	log_init(LOG_LVL_QUIET, "test_vmrun");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
