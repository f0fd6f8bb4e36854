/*
 * Unit tests: bundle.c — a template bundle copied into a temp dir (what is
 * copied and what is left behind), the identity reset, memory and CPUs,
 * displayName, guestinfo keys, the seed CD-ROM in the first free IDE/SATA
 * slot, relative CD-ROM paths made absolute, devices, paths and MACs.
 */
#include "cm_compat.h"

#include <sys/stat.h>

#include "backend/backend.h"
#include "backend/bundle.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "vmx/vmx.h"

#define ID "i-test1"

/* A template library in a temp dir, and an empty instance directory. */
struct fixture {
	char *f_root;
	char f_tdir[PATH_BUF]; /* <root>/tmpl.vmwarevm */
	char f_tvmx[PATH_BUF]; /* .../tmpl.vmx */
	char f_idir[PATH_BUF]; /* <root>/inst */
	char f_ivmx[PATH_BUF]; /* .../<ID>.vmx */
	struct inst_spec f_spec;
	struct tags f_tags;
	struct bk_inst f_bi;
};

static const char template_vmx[] =
    ".encoding = \"UTF-8\"\n"
    "displayName = \"tmpl\"\n"
    "memsize = \"256\"\n"
    "numvcpus = \"1\"\n"
    "uuid.bios = \"56 4d 11 22 33 44 55 66-77 88 99 aa bb cc dd ee\"\n"
    "uuid.location = \"56 4d 11 22 33 44 55 66-77 88 99 aa bb cc dd ee\"\n"
    "uuid.action = \"keep\"\n"
    "vc.uuid = \"52 00 11 22 33 44 55 66-77 88 99 aa bb cc dd ee\"\n"
    "msg.autoAnswer = \"FALSE\"\n"
    "checkpoint.vmState = \"tmpl.vmss\"\n"
    "checkpoint.vmState.readOnly = \"FALSE\"\n"
    "vmotion.checkpointFBSize = \"4194304\"\n"
    "vmotion.checkpointSVGAPrimarySize = \"4194304\"\n"
    "sched.swap.derivedName = \"/old/tmpl-1234.vswp\"\n"
    "extendedConfigFile = \"tmpl.vmxf\"\n"
    "ethernet0.present = \"TRUE\"\n"
    "ethernet0.addressType = \"generated\"\n"
    "ethernet0.generatedAddress = \"00:0C:29:11:22:33\"\n"
    "ethernet0.generatedAddressOffset = \"0\"\n"
    "ethernet1.generatedAddress = \"00:0c:29:44:55:66\"\n"
    "guestinfo.infrakit.logical-id = \"stale\"\n"
    "ide0:0.present = \"TRUE\"\n"
    "ide0:0.fileName = \"disk.vmdk\"\n"
    "ide1:0.present = \"TRUE\"\n"
    "ide1:0.deviceType = \"cdrom-image\"\n"
    "ide1:0.fileName = \"alpine.iso\"\n"
    "sata0.present = \"TRUE\"\n"
    "sata0:0.present = \"TRUE\"\n"
    "sata0:0.deviceType = \"cdrom-image\"\n"
    "sata0:0.fileName = \"/srv/iso/tools.iso\"\n";

static void
put(const char *dir, const char *name, const char *text)
{
	char path[PATH_BUF];
	struct err err;

	assert_int_equal(path_join(path, sizeof(path), dir, name), 0);
	if (atomic_write_file(path, text, strlen(text), 0644, &err) == -1)
		fail_msg("%s", err.msg);
}

static bool
exists(const char *dir, const char *name)
{
	char path[PATH_BUF];
	struct stat st;

	assert_int_equal(path_join(path, sizeof(path), dir, name), 0);
	return lstat(path, &st) == 0;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char real[PATH_BUF];

	assert_non_null(f);
	f->f_root = cm_tmpdir();
	assert_non_null(realpath(f->f_root, real));
	free(f->f_root);
	f->f_root = strdup(real);
	(void)snprintf(f->f_tdir, sizeof(f->f_tdir), "%s/tmpl.vmwarevm", real);
	(void)snprintf(f->f_tvmx, sizeof(f->f_tvmx), "%s/tmpl.vmx", f->f_tdir);
	(void)snprintf(f->f_idir, sizeof(f->f_idir), "%s/inst", real);
	(void)snprintf(
	    f->f_ivmx, sizeof(f->f_ivmx), "%s/" ID ".vmx", f->f_idir);
	assert_int_equal(mkdir(f->f_tdir, 0755), 0);
	assert_int_equal(mkdir(f->f_idir, 0755), 0);
	put(f->f_tdir, "tmpl.vmx", template_vmx);
	put(f->f_tdir, "disk.vmdk", "disk-bytes");
	put(f->f_tdir, "tmpl.nvram", "nvram");
	put(f->f_tdir, "alpine.iso", "iso");
	/* Left behind by a clone (spec §2.3). */
	put(f->f_tdir, "tmpl.vmss", "suspended");
	put(f->f_tdir, "tmpl.vmem", "memory");
	put(f->f_tdir, "tmpl.vmsd", "snapshots");
	put(f->f_tdir, "tmpl.vmxf", "foundry");
	put(f->f_tdir, "tmpl.scoreboard", "sb");
	put(f->f_tdir, "vmware.log", "log");
	put(f->f_tdir, "vmware-0.log", "log");
	put(f->f_tdir, "tmpl.vmx~", "backup");
	put(f->f_tdir, "disk.vmdk.lck", "lock");
	put(f->f_tdir, ".DS_Store", "finder");
	{
		char sub[PATH_BUF];

		(void)snprintf(sub, sizeof(sub), "%s/tmpl.vmx.lck", f->f_tdir);
		assert_int_equal(mkdir(sub, 0755), 0);
		put(sub, "M12345.lck", "lock");
	}
	f->f_spec.s_props.p_memsize_mb = 1024;
	f->f_spec.s_props.p_numcpus = 2;
	f->f_spec.s_props.p_guest_init = GUEST_INIT_AUTO;
	f->f_spec.s_init = strdup("echo hello");
	f->f_spec.s_logical_id = strdup("web-1");
	f->f_bi.bi_id = ID;
	f->f_bi.bi_dir = f->f_idir;
	f->f_bi.bi_vmx = f->f_ivmx;
	f->f_bi.bi_template = f->f_tvmx;
	f->f_bi.bi_spec = &f->f_spec;
	f->f_bi.bi_tags = &f->f_tags;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	(void)rm_tree(f->f_root, NULL);
	free(f->f_root);
	inst_spec_free(&f->f_spec);
	tags_free(&f->f_tags);
	free(f);
	return 0;
}

/* The instance's .vmx, parsed; caller frees. */
static struct vmx *
instance_vmx(const struct fixture *f)
{
	struct vmx *v = NULL;
	struct err err;

	if (vmx_load(f->f_ivmx, &v, &err) == -1)
		fail_msg("%s", err.msg);
	return v;
}

static void
assert_key(const struct vmx *v, const char *key, const char *want)
{
	const char *got = vmx_get(v, key);

	if (want == NULL && got != NULL)
		fail_msg("%s = \"%s\", want it gone", key, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("%s = %s%s%s, want \"%s\"", key, got ? "\"" : "",
		    got ? got : "(none)", got ? "\"" : "", want);
}

static int
b64val(int c)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(a, c) : NULL;

	return p != NULL ? (int)(p - a) : -1;
}

/* Decodes padded standard base64 into a new string. */
static char *
unbase64(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n / 4 * 3 + 1);

	assert_non_null(out);
	assert_int_equal(n % 4, 0);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' ? 0 : b64val(s[i + k]);
		for (int k = 0; k < 4; k++)
			assert_true(v[k] >= 0);
		out[o++] = (char)(v[0] << 2 | v[1] >> 4);
		if (s[i + 2] != '=')
			out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		if (s[i + 3] != '=')
			out[o++] = (char)((v[2] & 3) << 6 | v[3]);
	}
	out[o] = '\0';
	return out;
}

/* ---- devices and paths ------------------------------------------------ */

static void
test_devices(void **state)
{
	const char *text = "scsi0:1.fileName = \"b.vmdk\"\n"
			   "scsi0:1.present = \"TRUE\"\n"
			   "IDE1:0.Present = \"true\"\n"
			   "ide1:0.deviceType = \"atapi-cdrom\"\n"
			   "ide1:0.fileName = \"/dev/sr0\"\n"
			   "sata0:2.present = \"FALSE\"\n"
			   "sata0:2.deviceType = \"cdrom-image\"\n"
			   "sata0:2.fileName = \"x.iso\"\n"
			   "nvme0:0.present = \"TRUE\"\n"
			   "nvme0:0.deviceType = \"cdrom-raw\"\n"
			   "nvme0:0.fileName = \"auto detect\"\n"
			   "scsi0:0.present = \"TRUE\"\n"
			   "scsi100:0.present = \"TRUE\"\n"
			   "scsi0.present = \"TRUE\"\n"
			   "usb:0.present = \"TRUE\"\n";
	struct vmx_device *d = NULL;
	struct vmx *v = NULL;
	struct err err;

	(void)state;
	assert_int_equal(vmx_parse(text, strlen(text), &v, &err), 0);
	assert_int_equal(bundle_devices(v, &d), 5);
	/* Sorted by bus name, controller, unit. */
	assert_string_equal(d[0].vd_slot, "ide1:0");
	assert_true(d[0].vd_present);
	assert_true(d[0].vd_cdrom);
	assert_false(d[0].vd_image); /* a host drive */
	assert_string_equal(d[1].vd_slot, "nvme0:0");
	assert_true(d[1].vd_cdrom); /* cdrom-raw: a host CD drive */
	assert_false(d[1].vd_image);
	assert_string_equal(d[2].vd_slot, "sata0:2");
	assert_false(d[2].vd_present);
	assert_true(d[2].vd_cdrom);
	assert_true(d[2].vd_image);
	assert_string_equal(d[2].vd_file, "x.iso");
	assert_string_equal(d[3].vd_slot, "scsi0:0");
	assert_string_equal(d[3].vd_file, "");
	assert_false(d[3].vd_image);
	assert_string_equal(d[4].vd_slot, "scsi0:1");
	assert_string_equal(d[4].vd_bus, "scsi");
	assert_int_equal(d[4].vd_ctl, 0);
	assert_int_equal(d[4].vd_unit, 1);
	assert_true(d[4].vd_image);
	assert_string_equal(d[4].vd_type, "");
	free(d);
	vmx_free(v);
}

static void
test_resolve(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(bundle_resolve("/a/b/c.vmx", "d.vmdk", out, 64), 0);
	assert_string_equal(out, "/a/b/d.vmdk");
	assert_int_equal(bundle_resolve("/a/b/c.vmx", "/x/y.iso", out, 64), 0);
	assert_string_equal(out, "/x/y.iso");
	assert_int_equal(bundle_resolve("c.vmx", "d.vmdk", out, 64), 0);
	assert_string_equal(out, "d.vmdk");
	assert_int_equal(bundle_resolve("/a/b/c.vmx", "d.vmdk", out, 11), -1);
	assert_int_equal(bundle_resolve("/a/b/c.vmx", "d.vmdk", out, 12), 0);
}

/* ---- copying ---------------------------------------------------------- */

static void
test_copy(void **state)
{
	/* Not copied: read-only media, suspend state, locks, snapshots,
	 * Foundry metadata, logs, backups, hidden files. */
	static const char *const left[] = { "alpine.iso", "tmpl.vmss",
		"tmpl.vmem", "tmpl.vmsd", "tmpl.vmxf", "tmpl.scoreboard",
		"vmware.log", "vmware-0.log", "tmpl.vmx~", "disk.vmdk.lck",
		"tmpl.vmx.lck", ".DS_Store" };
	struct fixture *f = *state;
	struct copy_stats st;
	struct err err;
	char *text = NULL;
	size_t len;

	if (bundle_copy(f->f_tvmx, f->f_idir, ID, false, &st, &err) == -1)
		fail_msg("%s", err.msg);
	/* The .vmx under the instance's name, the disk, the NVRAM. */
	assert_true(exists(f->f_idir, ID ".vmx"));
	assert_false(exists(f->f_idir, "tmpl.vmx"));
	assert_true(exists(f->f_idir, "disk.vmdk"));
	assert_true(exists(f->f_idir, "tmpl.nvram"));
	assert_int_equal(st.cs_files, 3);
	assert_int_equal(st.cs_bytes, strlen(template_vmx) + 10 + 5);
	assert_int_equal(
	    read_file_max(f->f_ivmx, 1 << 20, &text, &len, &err), 0);
	assert_string_equal(text, template_vmx);
	free(text);
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
		if (exists(f->f_idir, left[i]))
			fail_msg("%s was copied", left[i]);
}

static void
test_copy_refuses_shared_disk(void **state)
{
	struct fixture *f = *state;
	char text[1024];
	struct err err;

	(void)snprintf(text, sizeof(text),
	    "ide0:0.present = \"TRUE\"\n"
	    "ide0:0.fileName = \"%s/shared.vmdk\"\n",
	    f->f_root);
	put(f->f_tdir, "tmpl.vmx", text);
	assert_int_equal(
	    bundle_copy(f->f_tvmx, f->f_idir, ID, false, NULL, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	(void)snprintf(text, sizeof(text),
	    "template %s: ide0:0.fileName \"%s/shared.vmdk\" is outside the "
	    "template's directory %s (it is %s/shared.vmdk): every instance "
	    "would share that disk; move the disk into the bundle and refer to "
	    "it by a relative name (only CD-ROM images, read-only media, may "
	    "live elsewhere)",
	    f->f_tvmx, f->f_root, f->f_tdir, f->f_root);
	assert_string_equal(err.msg, text);
	/* The same with a relative name (issue 11 #8): nothing copied. */
	put(f->f_tdir, "tmpl.vmx",
	    "ide0:0.present = \"TRUE\"\n"
	    "ide0:0.fileName = \"../shared.vmdk\"\n");
	assert_int_equal(
	    bundle_copy(f->f_tvmx, f->f_idir, ID, false, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "\"../shared.vmdk\" is outside"));
	assert_false(exists(f->f_idir, ID ".vmx"));
	assert_false(exists(f->f_idir, ID ".vmx"));

	/* An absolute path inside the bundle is fine; so is an absolute
	 * CD-ROM image anywhere (read-only media are shared). */
	(void)snprintf(text, sizeof(text),
	    "ide0:0.present = \"TRUE\"\n"
	    "ide0:0.fileName = \"%s/disk.vmdk\"\n"
	    "ide1:0.present = \"TRUE\"\n"
	    "ide1:0.deviceType = \"cdrom-image\"\n"
	    "ide1:0.fileName = \"/srv/iso/x.iso\"\n",
	    f->f_tdir);
	put(f->f_tdir, "tmpl.vmx", text);
	assert_int_equal(
	    bundle_copy(f->f_tvmx, f->f_idir, ID, false, NULL, &err), 0);
	assert_true(exists(f->f_idir, "disk.vmdk"));
}

static void
test_copy_relative_template(void **state)
{
	struct fixture *f = *state;
	struct err err;

	assert_int_equal(
	    bundle_copy("tmpl.vmx", f->f_idir, ID, false, NULL, &err), -1);
	assert_string_equal(err.msg, "template path tmpl.vmx is not absolute");
}

/* ---- configuring ------------------------------------------------------ */

static void
configure(struct fixture *f, unsigned flags)
{
	struct err err;

	if (bundle_configure(&f->f_bi, flags, &err) == -1)
		fail_msg("%s", err.msg);
}

/* What makes a copy a new VM, and the instance's own settings. */
static void
test_configure_new_identity(void **state)
{
	static const char *const gone[] = { "uuid.bios", "uuid.location",
		"vc.uuid", "checkpoint.vmState", "checkpoint.vmState.readOnly",
		"vmotion.checkpointFBSize", "vmotion.checkpointSVGAPrimarySize",
		"sched.swap.derivedName", "ethernet0.generatedAddress",
		"ethernet0.generatedAddressOffset",
		"ethernet1.generatedAddress" };
	struct fixture *f = *state;
	char abs[PATH_BUF], sub[PATH_BUF], *md;
	struct err err;
	struct vmx *v;

	assert_int_equal(
	    bundle_copy(f->f_tvmx, f->f_idir, ID, false, NULL, &err), 0);
	/* Locks the hypervisor left in the instance (a file, a dir). */
	put(f->f_idir, ID ".vmx.lck", "lock");
	(void)snprintf(sub, sizeof(sub), "%s/disk.vmdk.lck", f->f_idir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put(sub, "M1.lck", "lock");
	configure(f, BUNDLE_RESET_IDENTITY | BUNDLE_ABS_MEDIA);
	assert_false(exists(f->f_idir, ID ".vmx.lck"));
	assert_false(exists(f->f_idir, "disk.vmdk.lck"));
	v = instance_vmx(f);
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		assert_key(v, gone[i], NULL);
	assert_key(v, "uuid.action", "create");
	assert_key(v, "msg.autoAnswer", "TRUE");
	assert_key(v, "extendedConfigFile", ID ".vmxf");
	assert_key(v, "ethernet0.addressType", "generated");
	assert_key(v, "displayName", ID);
	assert_key(v, "memsize", "1024");
	assert_key(v, "numvcpus", "2");
	assert_key(v, "guestinfo.infrakit.id", ID);
	assert_key(v, "guestinfo.infrakit.logical-id", "web-1");
	/* The template's relative CD-ROM made absolute; absolute ones and
	 * disks as they were. */
	(void)snprintf(abs, sizeof(abs), "%s/alpine.iso", f->f_tdir);
	assert_key(v, "ide1:0.fileName", abs);
	assert_key(v, "sata0:0.fileName", "/srv/iso/tools.iso");
	assert_key(v, "ide0:0.fileName", "disk.vmdk");
	/* GuestInit auto: guestinfo documents and the seed in the first free
	 * IDE slot (ide1:1: ide1:0 holds the template's CD-ROM). */
	assert_key(v, "guestinfo.metadata.encoding", "base64");
	assert_key(v, "guestinfo.userdata.encoding", "base64");
	md = unbase64(vmx_get(v, "guestinfo.metadata"));
	assert_non_null(strstr(md, "instance-id: \"" ID "\"\n"));
	assert_non_null(strstr(md, "logical-id: \"web-1\"\n"));
	free(md);
	md = unbase64(vmx_get(v, "guestinfo.userdata"));
	assert_string_equal(md, "#!/bin/sh\necho hello\n");
	free(md);
	assert_key(v, "ide1.present", "TRUE");
	assert_key(v, "ide1:1.present", "TRUE");
	assert_key(v, "ide1:1.deviceType", "cdrom-image");
	assert_key(v, "ide1:1.fileName", BUNDLE_SEED_ISO);
	assert_key(v, "ide1:1.startConnected", "TRUE");
	vmx_free(v);
	assert_true(exists(f->f_idir, BUNDLE_SEED_ISO));
}

/* The seed is an ISO 9660 image labelled cidata (NoCloud). */
static void
test_seed_iso(void **state)
{
	struct fixture *f = *state;
	char path[PATH_BUF], *iso = NULL;
	struct err err;
	size_t len;

	put(f->f_idir, ID ".vmx", template_vmx);
	configure(f, 0);
	assert_int_equal(
	    path_join(path, sizeof(path), f->f_idir, "seed.iso"), 0);
	assert_int_equal(read_file_max(path, 1 << 24, &iso, &len, &err), 0);
	assert_true(len >= 0x8028 + 6);
	assert_memory_equal(iso + 0x8001, "CD001", 5);
	assert_memory_equal(iso + 0x8028, BUNDLE_SEED_LABEL, 6);
	free(iso);
}

/* Without the reset (a VM's own bundle): identity, locks and media paths
 * stay; the instance's settings are written all the same. */
static void
test_configure_keeps_identity(void **state)
{
	struct fixture *f = *state;
	struct vmx *v;

	put(f->f_idir, ID ".vmx", template_vmx);
	put(f->f_idir, ID ".vmx.lck", "lock");
	free(f->f_spec.s_logical_id);
	f->f_spec.s_logical_id = NULL;
	f->f_spec.s_props.p_guest_init = GUEST_INIT_NONE;
	configure(f, 0);
	assert_true(exists(f->f_idir, ID ".vmx.lck"));
	v = instance_vmx(f);
	assert_key(
	    v, "uuid.bios", "56 4d 11 22 33 44 55 66-77 88 99 aa bb cc dd ee");
	assert_key(v, "uuid.action", "keep");
	assert_key(v, "msg.autoAnswer", "FALSE");
	assert_key(v, "ethernet0.generatedAddress", "00:0C:29:11:22:33");
	assert_key(v, "extendedConfigFile", "tmpl.vmxf");
	assert_key(v, "ide1:0.fileName", "alpine.iso");
	assert_key(v, "displayName", ID);
	assert_key(v, "memsize", "1024");
	assert_key(v, "numvcpus", "2");
	assert_key(v, "guestinfo.infrakit.id", ID);
	/* No LogicalID: a stale key from the template goes. */
	assert_key(v, "guestinfo.infrakit.logical-id", NULL);
	/* GuestInit none: neither guestinfo documents nor a seed. */
	assert_key(v, "guestinfo.metadata", NULL);
	assert_key(v, "guestinfo.userdata", NULL);
	assert_key(v, "ide1:1.present", NULL);
	vmx_free(v);
	assert_false(exists(f->f_idir, BUNDLE_SEED_ISO));
}

/* The plugin's own key (bi_ssh_key) joins the Spec's SSHAuthorizedKeys in
 * the guest's documents, once, even when the Spec lists it too; SSHUser
 * goes to the .vmx as the template's user would. */
static void
test_plugin_key(void **state)
{
	static const char plugin[] = "ssh-ed25519 AAAAC3plugin ikvf@vms";
	static const char user[] = "ssh-ed25519 AAAAC3user me@host";
	struct fixture *f = *state;
	struct err err;
	struct vmx *v;
	char *md, *ud;

	assert_int_equal(
	    bundle_copy(f->f_tvmx, f->f_idir, ID, false, NULL, &err), 0);
	f->f_bi.bi_ssh_key = plugin;
	f->f_spec.s_props.p_ssh_keys = calloc(2, sizeof(char *));
	assert_non_null(f->f_spec.s_props.p_ssh_keys);
	f->f_spec.s_props.p_ssh_keys[0] = strdup(user);
	f->f_spec.s_props.p_ssh_keys[1] = strdup(plugin);
	f->f_spec.s_props.p_n_ssh_keys = 1;
	/* SSHUser: the user the client's ssh takes, where the template
	 * declares its own. */
	(void)strlcpy(f->f_spec.s_props.p_ssh_user, "ops",
	    sizeof(f->f_spec.s_props.p_ssh_user));
	configure(f, BUNDLE_RESET_IDENTITY);
	v = instance_vmx(f);
	assert_key(v, "guestinfo.infrakit.ssh-user", "ops");
	md = unbase64(vmx_get(v, "guestinfo.metadata"));
	ud = unbase64(vmx_get(v, "guestinfo.userdata"));
	assert_non_null(strstr(md,
	    "  - \"ssh-ed25519 AAAAC3user me@host\"\n"
	    "  - \"ssh-ed25519 AAAAC3plugin ikvf@vms\"\n"));
	assert_non_null(strstr(ud, "ssh_authorized_keys:\n"));
	assert_non_null(strstr(ud, plugin));
	assert_non_null(strstr(ud, user));
	free(md);
	free(ud);
	vmx_free(v);
	/* Listed by the Spec as well: not twice. */
	f->f_spec.s_props.p_n_ssh_keys = 2;
	configure(f, BUNDLE_RESET_IDENTITY);
	v = instance_vmx(f);
	md = unbase64(vmx_get(v, "guestinfo.metadata"));
	ud = strstr(md, "  - \"ssh-ed25519 AAAAC3plugin");
	assert_non_null(ud);
	assert_null(strstr(ud + 1, "  - \"ssh-ed25519 AAAAC3plugin"));
	free(md);
	vmx_free(v);
}

static void
test_guest_init_modes(void **state)
{
	struct fixture *f = *state;
	struct vmx *v;

	/* guestinfo: the keys, no seed. */
	put(f->f_idir, ID ".vmx", template_vmx);
	f->f_spec.s_props.p_guest_init = GUEST_INIT_GUESTINFO;
	configure(f, 0);
	v = instance_vmx(f);
	assert_non_null(vmx_get(v, "guestinfo.metadata"));
	assert_non_null(vmx_get(v, "guestinfo.userdata"));
	assert_key(v, "ide1:1.present", NULL);
	vmx_free(v);
	assert_false(exists(f->f_idir, BUNDLE_SEED_ISO));
	/* cidata: the seed, no keys. */
	put(f->f_idir, ID ".vmx", template_vmx);
	f->f_spec.s_props.p_guest_init = GUEST_INIT_CIDATA;
	configure(f, 0);
	v = instance_vmx(f);
	assert_key(v, "guestinfo.metadata", NULL);
	assert_key(v, "guestinfo.userdata", NULL);
	assert_key(v, "ide1:1.fileName", BUNDLE_SEED_ISO);
	vmx_free(v);
	assert_true(exists(f->f_idir, BUNDLE_SEED_ISO));
}

/* Slots a present device takes, and where the seed goes. */
static const struct seed_case {
	const char *sc_taken; /* space-separated */
	const char *sc_slot;  /* NULL: no room */
} seed_cases[] = {
	{ "", "ide1:1" },
	{ "ide1:1", "ide0:1" },
	{ "ide1:1 ide0:1", "ide1:0" },
	{ "ide1:1 ide0:1 ide1:0", "ide0:0" },
	{ "ide1:1 ide0:1 ide1:0 ide0:0", "sata0:1" },
	{ "ide1:1 ide0:1 ide1:0 ide0:0 sata0:1 sata0:2 sata0:3", "sata0:4" },
	{ "ide1:1 ide0:1 ide1:0 ide0:0 sata0:1 sata0:2 sata0:3 sata0:4 "
	  "sata0:5",
	    NULL },
};

static void
vmx_taking(struct buf *b, const char *taken)
{
	char slot[16];

	buf_init(b, 1 << 16);
	for (const char *p = taken; *p != '\0';) {
		size_t n = strcspn(p, " ");

		(void)snprintf(slot, sizeof(slot), "%.*s", (int)n, p);
		(void)buf_printf(b,
		    "%s.present = \"TRUE\"\n%s.fileName = \"%s.vmdk\"\n", slot,
		    slot, slot);
		p += n;
		p += *p == ' ';
	}
	/* Not present: free. */
	(void)buf_addstr(b, "ide0:0.fileName = \"old.vmdk\"\n");
}

static void
test_seed_slot(void **state)
{
	struct fixture *f = *state;

	f->f_spec.s_props.p_guest_init = GUEST_INIT_CIDATA;
	for (size_t i = 0; i < sizeof(seed_cases) / sizeof(seed_cases[0]);
	     i++) {
		const struct seed_case *c = &seed_cases[i];
		char key[64], want[PATH_BUF + 128];
		struct buf b;
		struct err err;
		struct vmx *v;
		int rc;

		vmx_taking(&b, c->sc_taken);
		put(f->f_idir, ID ".vmx", buf_str(&b));
		buf_free(&b);
		rc = bundle_configure(&f->f_bi, 0, &err);
		if (c->sc_slot == NULL) {
			assert_int_equal(rc, -1);
			(void)snprintf(want, sizeof(want),
			    "no free IDE or SATA slot for the cloud-init seed "
			    "CD-ROM in %s; free one or set GuestInit to "
			    "\"guestinfo\"",
			    f->f_tvmx);
			assert_string_equal(err.msg, want);
			continue;
		}
		if (rc == -1)
			fail_msg("taken %s: %s", c->sc_taken, err.msg);
		v = instance_vmx(f);
		(void)snprintf(key, sizeof(key), "%s.fileName", c->sc_slot);
		if (vmx_get(v, key) == NULL ||
		    strcmp(vmx_get(v, key), BUNDLE_SEED_ISO) != 0)
			fail_msg("taken %s: seed not in %s", c->sc_taken,
			    c->sc_slot);
		(void)snprintf(key, sizeof(key), "%.*s.present",
		    (int)strcspn(c->sc_slot, ":"), c->sc_slot);
		assert_key(v, key, "TRUE");
		vmx_free(v);
	}
}

/* Configuring twice puts the seed where it already is, not in a second
 * slot. */
static void
test_seed_slot_reused(void **state)
{
	struct fixture *f = *state;
	struct vmx *v;
	size_t seeds = 0;
	char *text;

	put(f->f_idir, ID ".vmx", template_vmx);
	configure(f, 0);
	configure(f, 0);
	v = instance_vmx(f);
	assert_key(v, "ide1:1.fileName", BUNDLE_SEED_ISO);
	assert_key(v, "ide0:1.present", NULL);
	text = vmx_emit(v, NULL);
	for (const char *p = text; (p = strstr(p, "\"seed.iso\"")) != NULL; p++)
		seeds++;
	assert_int_equal(seeds, 1);
	free(text);
	vmx_free(v);
}

static void
test_mac(void **state)
{
	struct fixture *f = *state;
	char mac[32];

	put(f->f_idir, ID ".vmx", template_vmx);
	assert_int_equal(bundle_mac(f->f_ivmx, mac, sizeof(mac)), 0);
	assert_string_equal(mac, "00:0c:29:11:22:33");
	put(f->f_idir, ID ".vmx",
	    "ethernet0.address = \"00-50-56-0A-0B-0C\"\n"
	    "ethernet0.generatedAddress = \"00:0c:29:11:22:33\"\n");
	assert_int_equal(bundle_mac(f->f_ivmx, mac, sizeof(mac)), 0);
	assert_string_equal(mac, "00:50:56:0a:0b:0c");
	put(f->f_idir, ID ".vmx", "ethernet0.present = \"TRUE\"\n");
	assert_int_equal(bundle_mac(f->f_ivmx, mac, sizeof(mac)), -1);
	put(f->f_idir, ID ".vmx", "ethernet0.address = \"nonsense\"\n");
	assert_int_equal(bundle_mac(f->f_ivmx, mac, sizeof(mac)), -1);
}

/* ---- disks inside the bundle (issue 11 #8) ----------------------------- */

static void
test_check_disks(void **state)
{
	struct fixture *f = *state;
	struct {
		const char *key, *file; /* file: %T = the template's dir, %R
					   = its parent */
		const char *type;	/* deviceType, or NULL */
		bool ok;
		const char *is; /* the resolved path in the message */
	} cases[] = {
		{ "ide0:0", "disk.vmdk", NULL, true, NULL },
		{ "scsi0:0", "./disk.vmdk", NULL, true, NULL },
		{ "sata0:1", "sub/../disk.vmdk", NULL, true, NULL },
		{ "nvme0:0", "%T/disk.vmdk", NULL, true, NULL },
		{ "scsi0:1", "%T/./sub/../disk.vmdk", NULL, true, NULL },
		{ "ide0:0", "../shared.vmdk", NULL, false, "%R/shared.vmdk" },
		{ "scsi0:0", "sub/../../shared.vmdk", NULL, false,
		    "%R/shared.vmdk" },
		{ "sata0:0", "../tmpl.vmwarevm-2/disk.vmdk", NULL, false,
		    "%R/tmpl.vmwarevm-2/disk.vmdk" },
		{ "nvme0:0", "../../../../../../../../../etc/passwd", NULL,
		    false, "/etc/passwd" },
		{ "ide0:1", "%R/shared.vmdk", NULL, false, "%R/shared.vmdk" },
		{ "ide0:1", "%T/../shared.vmdk", NULL, false,
		    "%R/shared.vmdk" },
		{ "ide0:1", "%T-evil/disk.vmdk", NULL, false,
		    "%T-evil/disk.vmdk" },
		{ "ide0:1", ".", NULL, false, "%T" },
		{ "ide0:1", "link.vmdk", NULL, false, "%R/shared.vmdk" },
		/* "linkdir/.." is where linkdir points, then up. */
		{ "ide0:1", "linkdir/../shared.vmdk", NULL, false,
		    "%R/shared.vmdk" },
		/* Read-only media may be shared. */
		{ "ide1:0", "../iso/x.iso", "cdrom-image", true, NULL },
		{ "ide1:0", "/srv/iso/x.iso", "cdrom-image", true, NULL },
		{ "sata0:3", "../x.iso", "cdrom-image", true, NULL },
		/* A host drive is not a file of the bundle. */
		{ "ide1:0", "/dev/sr0", "atapi-cdrom", true, NULL },
	};
	char link[PATH_BUF], target[PATH_BUF];
	struct err err;

	/* A link in the bundle to a disk outside it. */
	put(f->f_root, "shared.vmdk", "shared");
	(void)snprintf(target, sizeof(target), "%s/shared.vmdk", f->f_root);
	(void)snprintf(link, sizeof(link), "%s/link.vmdk", f->f_tdir);
	assert_int_equal(symlink(target, link), 0);
	(void)snprintf(target, sizeof(target), "%s/elsewhere", f->f_root);
	assert_int_equal(mkdir(target, 0755), 0);
	(void)snprintf(link, sizeof(link), "%s/linkdir", f->f_tdir);
	assert_int_equal(symlink(target, link), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char file[PATH_BUF], is[PATH_BUF], text[2 * PATH_BUF];
		const char *subst[2][2] = { { "%T", f->f_tdir },
			{ "%R", f->f_root } };
		const char *srcs[2] = { cases[i].file, cases[i].is };
		char *dsts[2] = { file, is };

		for (int k = 0; k < 2; k++) {
			const char *src = srcs[k];

			dsts[k][0] = '\0';
			if (src == NULL)
				continue;
			for (int m = 0; m < 2; m++)
				if (strncmp(src, subst[m][0], 2) == 0) {
					(void)snprintf(dsts[k], PATH_BUF,
					    "%s%s", subst[m][1], src + 2);
					break;
				}
			if (dsts[k][0] == '\0')
				(void)strlcpy(dsts[k], src, PATH_BUF);
		}
		(void)snprintf(text, sizeof(text),
		    "%s.present = \"TRUE\"\n%s.fileName = \"%s\"\n%s%s%s%s",
		    cases[i].key, cases[i].key, file,
		    cases[i].type != NULL ? cases[i].key : "",
		    cases[i].type != NULL ? ".deviceType = \"" : "",
		    cases[i].type != NULL ? cases[i].type : "",
		    cases[i].type != NULL ? "\"\n" : "");
		put(f->f_tdir, "tmpl.vmx", text);
		err_clear(&err);
		if (bundle_check_disks(f->f_tvmx, NULL, &err) ==
		    (cases[i].ok ? 0 : -1)) {
			char want[PATH_BUF * 2];

			if (cases[i].ok)
				continue;
			assert_int_equal(err.code, EIK_INVAL);
			(void)snprintf(want, sizeof(want),
			    "template %s: %s.fileName \"%s\" is outside the "
			    "template's directory %s (%s%s): every instance "
			    "would share that disk",
			    f->f_tvmx, cases[i].key, file, f->f_tdir,
			    strncmp(cases[i].file, "link", 4) == 0
				? "through a symbolic link it is "
				: "it is ",
			    is);
			if (strncmp(err.msg, want, strlen(want)) != 0)
				fail_msg("case %zu:\n got %s\nwant %s...", i,
				    err.msg, want);
			continue;
		}
		fail_msg("case %zu (%s = \"%s\"): want %s, got %s", i,
		    cases[i].key, file, cases[i].ok ? "ok" : "refused",
		    cases[i].ok ? err.msg : "ok");
	}
	/* A disk that is not present is not used. */
	put(f->f_tdir, "tmpl.vmx",
	    "ide0:0.present = \"FALSE\"\n"
	    "ide0:0.fileName = \"../shared.vmdk\"\n");
	assert_int_equal(bundle_check_disks(f->f_tvmx, NULL, &err), 0);
	/* The fixture's template: a disk inside, CD-ROMs in and out. */
	put(f->f_tdir, "tmpl.vmx", template_vmx);
	assert_int_equal(bundle_check_disks(f->f_tvmx, NULL, &err), 0);
}

/* ---- the .vmx VMware is given (issue 11 #12) --------------------------- */

/* SSH keys that gzip cannot shrink much: each key's text goes into the
 * user-data once and the meta-data twice. */
static void
big_keys(struct fixture *f, size_t n, size_t len)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t x = 2463534242u;

	f->f_spec.s_props.p_ssh_keys = calloc(n + 1, sizeof(char *));
	assert_non_null(f->f_spec.s_props.p_ssh_keys);
	for (size_t i = 0; i < n; i++) {
		char *k = malloc(len + 1);

		assert_non_null(k);
		memcpy(k, "ssh-rsa ", 8);
		for (size_t j = 8; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			k[j] = a[x % 64];
		}
		k[len] = '\0';
		f->f_spec.s_props.p_ssh_keys[i] = k;
	}
	f->f_spec.s_props.p_n_ssh_keys = n;
}

static size_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

static void
test_vmx_size_limit(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct vmx *v;

	/* Small: the keys fit; checked and written as always. */
	f->f_spec.s_props.p_guest_init = GUEST_INIT_GUESTINFO;
	err_clear(&err);
	if (bundle_check_vmx_size(f->f_tvmx, &f->f_spec, &err) == -1)
		fail_msg("%s", err.msg);
	put(f->f_idir, ID ".vmx", template_vmx);
	configure(f, BUNDLE_VMX_LIMIT);
	v = instance_vmx(f);
	assert_non_null(vmx_get(v, "guestinfo.userdata"));
	vmx_free(v);

	/* 450 KB of keys: about 1.3 MB of guestinfo. */
	big_keys(f, 30, 15000);
	/* GuestInit guestinfo: refused before anything is written... */
	err_clear(&err);
	assert_int_equal(
	    bundle_check_vmx_size(f->f_tvmx, &f->f_spec, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	if (strstr(err.msg,
		"Spec.Init: with Properties.GuestInit "
		"\"guestinfo\" the instance's .vmx would be ") != err.msg ||
	    strstr(err.msg, "over the 1048576 VMware takes") == NULL ||
	    strstr(err.msg, "use GuestInit \"auto\" or \"cidata\"") == NULL)
		fail_msg("%s", err.msg);
	/* ... and by bundle_configure itself, which leaves the .vmx be. */
	put(f->f_idir, ID ".vmx", template_vmx);
	assert_int_equal(
	    bundle_configure(&f->f_bi, BUNDLE_VMX_LIMIT, &err), -1);
	assert_non_null(strstr(err.msg, "over the 1048576 VMware takes"));
	assert_int_equal(file_size(f->f_ivmx), strlen(template_vmx));

	/* GuestInit auto: no error; the seed ISO alone carries the Init. */
	f->f_spec.s_props.p_guest_init = GUEST_INIT_AUTO;
	err_clear(&err);
	if (bundle_check_vmx_size(f->f_tvmx, &f->f_spec, &err) == -1)
		fail_msg("%s", err.msg);
	configure(
	    f, BUNDLE_RESET_IDENTITY | BUNDLE_ABS_MEDIA | BUNDLE_VMX_LIMIT);
	assert_true(file_size(f->f_ivmx) <= BUNDLE_VMX_BUDGET);
	v = instance_vmx(f);
	assert_key(v, "guestinfo.userdata", NULL);
	assert_key(v, "guestinfo.userdata.encoding", NULL);
	assert_key(v, "guestinfo.metadata", NULL);
	assert_key(v, "guestinfo.metadata.encoding", NULL);
	assert_key(v, "guestinfo.infrakit.id", ID);
	assert_key(v, "ide1:1.fileName", BUNDLE_SEED_ISO);
	vmx_free(v);
	{
		char iso[PATH_BUF];

		assert_int_equal(
		    path_join(iso, sizeof(iso), f->f_idir, BUNDLE_SEED_ISO), 0);
		assert_true(file_size(iso) > 450000);
	}
	/* Without BUNDLE_VMX_LIMIT (QEMU reads no .vmx limit): as asked. */
	put(f->f_idir, ID ".vmx", template_vmx);
	configure(f, 0);
	assert_true(file_size(f->f_ivmx) > VMX_VMWARE_MAX_SIZE);
}

/* The disks of pets: on the free ports of sata0 after the template's
 * devices and the seed, absolute, independent-persistent; a second
 * configure leaves them where they are. */
static void
test_pet_disks(void **state)
{
	struct fixture *f = *state;
	struct bk_disk d[2] = {
		{ "data-1", "/srv/vms/attachments/data-1/data-1.vmdk", 1 },
		{ "logs", "/srv/vms/attachments/logs/logs.vmdk", 1 },
	};
	struct vmx *v;

	put(f->f_idir, ID ".vmx", template_vmx);
	f->f_bi.bi_disks = d;
	f->f_bi.bi_ndisks = 2;
	configure(f, 0);
	configure(f, 0);
	v = instance_vmx(f);
	/* sata0:0 is the template's CD-ROM; the seed took ide1:1. */
	assert_key(v, "sata0:0.fileName", "/srv/iso/tools.iso");
	assert_key(v, "ide1:1.fileName", BUNDLE_SEED_ISO);
	assert_key(v, "sata0:1.present", "TRUE");
	assert_key(v, "sata0:1.fileName", d[0].bd_file);
	assert_key(v, "sata0:1.mode", "independent-persistent");
	assert_key(v, "sata0:1.deviceType", NULL);
	assert_key(v, "sata0:2.fileName", d[1].bd_file);
	assert_key(v, "sata0:2.mode", "independent-persistent");
	assert_key(v, "sata0:3.present", NULL);
	vmx_free(v);
}

/* A template whose sata0 ports are all taken: a clear error. A port a
 * device that is not present left is free, and its old keys go. */
static void
test_pet_disks_no_port(void **state)
{
	struct fixture *f = *state;
	struct bk_disk d = { "data-1", "/srv/a/data-1.vmdk", 1 };
	struct buf b;
	struct err err;
	struct vmx *v;

	f->f_spec.s_props.p_guest_init = GUEST_INIT_NONE;
	f->f_bi.bi_disks = &d;
	f->f_bi.bi_ndisks = 1;
	vmx_taking(&b, "sata0:0 sata0:1 sata0:2 sata0:3 sata0:4 sata0:5");
	put(f->f_idir, ID ".vmx", buf_str(&b));
	buf_free(&b);
	assert_int_equal(bundle_configure(&f->f_bi, 0, &err), -1);
	assert_non_null(
	    strstr(err.msg, "no free SATA port for disk \"data-1\""));
	assert_non_null(strstr(err.msg, f->f_tvmx));

	vmx_taking(&b, "sata0:0 sata0:1 sata0:2");
	(void)buf_addstr(&b,
	    "sata0:3.present = \"FALSE\"\n"
	    "sata0:3.deviceType = \"cdrom-raw\"\n");
	put(f->f_idir, ID ".vmx", buf_str(&b));
	buf_free(&b);
	configure(f, 0);
	v = instance_vmx(f);
	assert_key(v, "sata0:3.fileName", d.bd_file);
	assert_key(v, "sata0:3.present", "TRUE");
	assert_key(v, "sata0:3.deviceType", NULL);
	vmx_free(v);
}

/* Before deleteVM: every disk outside the bundle leaves the .vmx, the
 * bundle's own stay; nothing to drop, nothing written. */
static void
test_detach_outside(void **state)
{
	struct fixture *f = *state;
	char text[2 * PATH_BUF + 512];
	struct stat st0, st1;
	struct err err;
	struct vmx *v;

	(void)snprintf(text, sizeof(text),
	    "scsi0:0.present = \"TRUE\"\n"
	    "scsi0:0.fileName = \"disk.vmdk\"\n"
	    "scsi0:1.present = \"TRUE\"\n"
	    "scsi0:1.fileName = \"%s/disk2.vmdk\"\n"
	    "sata0:1.present = \"TRUE\"\n"
	    "sata0:1.fileName = \"/srv/attachments/d/d.vmdk\"\n"
	    "sata0:1.mode = \"independent-persistent\"\n"
	    "sata0:2.present = \"TRUE\"\n"
	    "sata0:2.fileName = \"../inst2/x.vmdk\"\n"
	    "ide1:0.present = \"TRUE\"\n"
	    "ide1:0.deviceType = \"cdrom-image\"\n"
	    "ide1:0.fileName = \"/srv/iso/a.iso\"\n",
	    f->f_idir);
	put(f->f_idir, ID ".vmx", text);
	if (bundle_detach_outside(f->f_ivmx, f->f_idir, &err) == -1)
		fail_msg("%s", err.msg);
	v = instance_vmx(f);
	assert_key(v, "scsi0:0.fileName", "disk.vmdk");
	assert_non_null(vmx_get(v, "scsi0:1.fileName"));
	assert_key(v, "sata0:1.fileName", NULL);
	assert_key(v, "sata0:1.present", NULL);
	assert_key(v, "sata0:1.mode", NULL);
	assert_key(v, "sata0:2.fileName", NULL);
	/* CD-ROMs are not disks deleteVM deletes. */
	assert_key(v, "ide1:0.fileName", "/srv/iso/a.iso");
	vmx_free(v);
	assert_int_equal(stat(f->f_ivmx, &st0), 0);
	if (bundle_detach_outside(f->f_ivmx, f->f_idir, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(stat(f->f_ivmx, &st1), 0);
	assert_int_equal(st0.st_ino, st1.st_ino);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_resolve),
		T(test_copy),
		T(test_copy_refuses_shared_disk),
		T(test_copy_relative_template),
		T(test_configure_new_identity),
		T(test_seed_iso),
		T(test_configure_keeps_identity),
		T(test_guest_init_modes),
		T(test_plugin_key),
		T(test_seed_slot),
		T(test_seed_slot_reused),
		T(test_mac),
		T(test_check_disks),
		T(test_vmx_size_limit),
		T(test_pet_disks),
		T(test_pet_disks_no_port),
		T(test_detach_outside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
