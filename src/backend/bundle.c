/*
 * VM bundles. See bundle.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend/backend.h"
#include "util/buf.h"
#include "backend/bundle.h"
#include "guest/cloudinit.h"
#include "guest/guestinfo.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "backend/leases.h"
#include "guest/seediso.h"
#include "vmx/vmx.h"

/* ---- devices ---------------------------------------------------------- */

struct devscan {
	struct vmx_device *d;
	size_t n, cap;
	int oom;
};

/* Splits "scsi0:1.fileName" into bus "scsi", ctl 0, unit 1, attr. */
static int
parse_dev_key(const char *key, char *bus, size_t buslen, int *ctl, int *unit,
    const char **attr)
{
	static const char *const buses[] = { "scsi", "sata", "ide", "nvme" };
	const char *p;

	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		size_t bl = strlen(buses[i]);
		long c, u;
		char *end;

		if (strncasecmp(key, buses[i], bl) != 0 ||
		    !isdigit((unsigned char)key[bl]))
			continue;
		c = strtol(key + bl, &end, 10);
		if (*end != ':' || !isdigit((unsigned char)end[1]) || c > 99)
			return -1;
		u = strtol(end + 1, &end, 10);
		if (*end != '.' || u > 99)
			return -1;
		p = end + 1;
		(void)strlcpy(bus, buses[i], buslen);
		*ctl = (int)c;
		*unit = (int)u;
		*attr = p;
		return 0;
	}
	return -1;
}

static struct vmx_device *
dev_get(struct devscan *s, const char *bus, int ctl, int unit)
{
	struct vmx_device *d;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->d[i].vd_bus, bus) == 0 && s->d[i].vd_ctl == ctl &&
		    s->d[i].vd_unit == unit)
			return &s->d[i];
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 8 : s->cap * 2;
		struct vmx_device *nd = realloc(s->d, cap * sizeof(*nd));

		if (nd == NULL) {
			s->oom = 1;
			return NULL;
		}
		s->d = nd;
		s->cap = cap;
	}
	d = &s->d[s->n++];
	memset(d, 0, sizeof(*d));
	(void)strlcpy(d->vd_bus, bus, sizeof(d->vd_bus));
	d->vd_ctl = ctl;
	d->vd_unit = unit;
	(void)snprintf(
	    d->vd_slot, sizeof(d->vd_slot), "%s%d:%d", bus, ctl, unit);
	return d;
}

static int
scan_dev(void *arg, const char *key, const char *value)
{
	struct devscan *s = arg;
	struct vmx_device *d;
	const char *attr;
	char bus[8];
	int ctl, unit;

	if (parse_dev_key(key, bus, sizeof(bus), &ctl, &unit, &attr) == -1)
		return 0;
	d = dev_get(s, bus, ctl, unit);
	if (d == NULL)
		return 1;
	if (strcasecmp(attr, "present") == 0)
		d->vd_present = strcasecmp(value, "TRUE") == 0;
	else if (strcasecmp(attr, "deviceType") == 0)
		(void)strlcpy(d->vd_type, value, sizeof(d->vd_type));
	else if (strcasecmp(attr, "fileName") == 0)
		(void)strlcpy(d->vd_file, value, sizeof(d->vd_file));
	return 0;
}

static int
cmp_dev(const void *a, const void *b)
{
	const struct vmx_device *x = a, *y = b;
	int c = strcmp(x->vd_bus, y->vd_bus);

	if (c != 0)
		return c;
	if (x->vd_ctl != y->vd_ctl)
		return x->vd_ctl - y->vd_ctl;
	return x->vd_unit - y->vd_unit;
}

long
bundle_devices(const struct vmx *v, struct vmx_device **out)
{
	struct devscan s = { NULL, 0, 0, 0 };

	*out = NULL;
	(void)vmx_foreach(v, scan_dev, &s);
	if (s.oom) {
		free(s.d);
		return -1;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct vmx_device *d = &s.d[i];

		d->vd_cdrom = strncasecmp(d->vd_type, "cdrom", 5) == 0 ||
		    strncasecmp(d->vd_type, "atapi", 5) == 0;
		d->vd_image = d->vd_file[0] != '\0' &&
		    strcasecmp(d->vd_type, "cdrom-raw") != 0 &&
		    strcasecmp(d->vd_type, "atapi-cdrom") != 0;
	}
	if (s.n > 0)
		qsort(s.d, s.n, sizeof(s.d[0]), cmp_dev);
	*out = s.d;
	return (long)s.n;
}

int
bundle_resolve(const char *vmx_path, const char *file, char *out, size_t outlen)
{
	const char *slash;
	int n;

	if (file[0] == '/')
		return strlcpy(out, file, outlen) < outlen ? 0 : -1;
	slash = strrchr(vmx_path, '/');
	if (slash == NULL)
		return strlcpy(out, file, outlen) < outlen ? 0 : -1;
	n = snprintf(
	    out, outlen, "%.*s/%s", (int)(slash - vmx_path), vmx_path, file);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---- copying ---------------------------------------------------------- */

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Files a manual clone must not copy (spec §2.3). */
static bool
skip_file(const char *name)
{
	static const char *const suffixes[] = { ".lck", ".vmss", ".vmem",
		".vmsd", ".vmxf", ".scoreboard", ".log", ".vmx~", ".vmx.tmp" };

	if (name[0] == '.')
		return true;
	if (strncasecmp(name, "vmware", 6) == 0 && strstr(name, ".log") != NULL)
		return true;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(name, suffixes[i]))
			return true;
	return false;
}

int
bundle_copy(const char *template_vmx, const char *dir, const char *id, bool cow,
    struct copy_stats *st, struct err *err)
{
	char src_dir[PATH_BUF], vmx_name[PATH_BUF];
	struct vmx *v = NULL;
	struct vmx_device *devs = NULL;
	struct dirent *de;
	DIR *d = NULL;
	const char *slash;
	long ndev;
	int rc = -1;

	if (st != NULL)
		memset(st, 0, sizeof(*st));
	slash = strrchr(template_vmx, '/');
	if (slash == NULL ||
	    (size_t)(slash - template_vmx) >= sizeof(src_dir)) {
		err_set(err, EIK_INVAL, "template path %s is not absolute",
		    template_vmx);
		return -1;
	}
	memcpy(src_dir, template_vmx, (size_t)(slash - template_vmx));
	src_dir[slash - template_vmx] = '\0';
	(void)strlcpy(vmx_name, slash + 1, sizeof(vmx_name));
	if (vmx_load(template_vmx, &v, err) == -1)
		return -1;
	ndev = bundle_devices(v, &devs);
	if (ndev < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	/* A disk outside the bundle would be shared by every instance. */
	for (long i = 0; i < ndev; i++) {
		char abs[PATH_BUF];

		if (!devs[i].vd_present || devs[i].vd_cdrom ||
		    !devs[i].vd_image || devs[i].vd_file[0] != '/')
			continue;
		if (bundle_resolve(
			template_vmx, devs[i].vd_file, abs, sizeof(abs)) == 0 &&
		    (strncmp(abs, src_dir, strlen(src_dir)) != 0 ||
			abs[strlen(src_dir)] != '/')) {
			err_set(err, EIK_INVAL,
			    "template %s: disk %s (%s) is outside the template's "
			    "directory, so copies would share it; move it into "
			    "the bundle and refer to it by a relative name",
			    template_vmx, devs[i].vd_slot, devs[i].vd_file);
			goto out;
		}
	}
	d = opendir(src_dir);
	if (d == NULL) {
		err_set(
		    err, EIK_IO, "opendir %s: %s", src_dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char from[PATH_BUF], to[PATH_BUF];
		enum copy_how how;
		struct stat sb;
		bool media = false;

		if (skip_file(de->d_name))
			continue;
		if (path_join(from, sizeof(from), src_dir, de->d_name) == -1)
			continue;
		if (lstat(from, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		/* Read-only media stay in the template (configure makes
		 * their paths absolute). */
		for (long i = 0; i < ndev; i++)
			if (devs[i].vd_cdrom &&
			    strcmp(devs[i].vd_file, de->d_name) == 0)
				media = true;
		if (media)
			continue;
		if (strcmp(de->d_name, vmx_name) == 0) {
			int n = snprintf(to, sizeof(to), "%s/%s.vmx", dir, id);

			if (n < 0 || (size_t)n >= sizeof(to))
				goto toolong;
		} else if (path_join(to, sizeof(to), dir, de->d_name) == -1)
			goto toolong;
		if (copy_file(from, to, sb.st_mode & 0777, cow, &how, err) ==
		    -1)
			goto out;
		if (st != NULL) {
			st->cs_files++;
			st->cs_bytes += (uint64_t)sb.st_size;
			if (how == COPY_CLONED)
				st->cs_cloned++;
		}
	}
	rc = 0;
	goto out;
toolong:
	err_set(err, EIK_INVAL, "path too long under %s", dir);
out:
	if (d != NULL)
		(void)closedir(d);
	free(devs);
	vmx_free(v);
	return rc;
}

/* ---- configuring ------------------------------------------------------ */

/* Removes lock files and directories (*.lck) directly in dir. */
static void
remove_locks(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char p[PATH_BUF];

		if (has_suffix(de->d_name, ".lck") &&
		    path_join(p, sizeof(p), dir, de->d_name) == 0)
			(void)rm_tree(p, NULL);
	}
	(void)closedir(d);
}

static int
vset(struct vmx *v, const char *key, const char *value, struct err *err)
{
	if (vmx_set(v, key, value) == -1) {
		err_set(err, EIK_INTERNAL, "cannot set %s in the .vmx", key);
		return -1;
	}
	return 0;
}

static void
reset_identity(struct vmx *v, const char *id)
{
	static const char *const gone[] = { "uuid.bios", "uuid.location",
		"vc.uuid", "checkpoint.vmState", "checkpoint.vmState.readOnly",
		"vmotion.checkpointFBSize", "vmotion.checkpointSVGAPrimarySize",
		"sched.swap.derivedName", "msg.autoAnswer" };
	char vmxf[ID_MAX + 8];

	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		(void)vmx_del(v, gone[i]);
	(void)vmx_del_matching(v, "ethernet*.generatedAddress*");
	(void)vmx_set(v, "uuid.action", "create");
	(void)vmx_set(v, "msg.autoAnswer", "TRUE");
	(void)snprintf(vmxf, sizeof(vmxf), "%s.vmxf", id);
	(void)vmx_set(v, "extendedConfigFile", vmxf);
}

/* Makes relative CD-ROM image paths absolute, against the template. */
static int
absolute_media(struct vmx *v, const struct vmx_device *devs, long n,
    const char *template_vmx, struct err *err)
{
	for (long i = 0; i < n; i++) {
		char key[64], abs[PATH_BUF];

		if (!devs[i].vd_cdrom || !devs[i].vd_image ||
		    devs[i].vd_file[0] == '/' ||
		    strcmp(devs[i].vd_file, BUNDLE_SEED_ISO) == 0)
			continue;
		if (bundle_resolve(
			template_vmx, devs[i].vd_file, abs, sizeof(abs)) == -1)
			continue;
		(void)snprintf(
		    key, sizeof(key), "%s.fileName", devs[i].vd_slot);
		if (vset(v, key, abs, err) == -1)
			return -1;
	}
	return 0;
}

/* A free IDE or SATA slot for the seed CD-ROM; writes its controller
 * keys when it needs one. */
static int
seed_slot(struct vmx *v, const struct vmx_device *devs, long n, char *slot,
    size_t len)
{
	static const char *const order[] = { "ide1:1", "ide0:1", "ide1:0",
		"ide0:0", "sata0:1", "sata0:2", "sata0:3", "sata0:4",
		"sata0:5" };

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		bool used = false;

		/* Taken: a present device that is not our own seed. */
		for (long i = 0; i < n; i++)
			if (strcmp(devs[i].vd_slot, order[k]) == 0 &&
			    devs[i].vd_present &&
			    strcmp(devs[i].vd_file, BUNDLE_SEED_ISO) != 0)
				used = true;
		if (used)
			continue;
		if (strncmp(order[k], "sata0", 5) == 0)
			(void)vmx_set(v, "sata0.present", "TRUE");
		(void)strlcpy(slot, order[k], len);
		return 0;
	}
	return -1;
}

static int
guest_init(struct vmx *v, const struct bk_inst *bi,
    const struct vmx_device *devs, long ndev, struct err *err)
{
	const struct inst_spec *s = bi->bi_spec;
	enum guest_init how = s->s_props.p_guest_init;
	struct ci_input in;
	struct buf ud, md, enc;
	int rc = -1;

	if (how == GUEST_INIT_NONE)
		return 0;
	memset(&in, 0, sizeof(in));
	in.ci_instance_id = bi->bi_id;
	in.ci_logical_id = s->s_logical_id;
	in.ci_init = s->s_init;
	in.ci_ssh_keys = (const char *const *)s->s_props.p_ssh_keys;
	in.ci_n_ssh_keys = s->s_props.p_n_ssh_keys;
	in.ci_tags = bi->bi_tags;
	buf_init(&ud, CI_BUF_MAX);
	buf_init(&md, CI_BUF_MAX);
	buf_init(&enc, CI_BUF_MAX);
	if (ci_check_init(s->s_init, strlen(s->s_init), err) == -1 ||
	    ci_user_data(&in, &ud, err) == -1 ||
	    ci_meta_data(&in, &md, err) == -1)
		goto out;
	if (how == GUEST_INIT_AUTO || how == GUEST_INIT_GUESTINFO) {
		const char *e;

		if (ci_guestinfo_encode(md.b_data, md.b_len, &enc, &e, err) ==
			-1 ||
		    vset(v, "guestinfo.metadata", buf_str(&enc), err) == -1 ||
		    vset(v, "guestinfo.metadata.encoding", e, err) == -1 ||
		    ci_guestinfo_encode(ud.b_data, ud.b_len, &enc, &e, err) ==
			-1 ||
		    vset(v, "guestinfo.userdata", buf_str(&enc), err) == -1 ||
		    vset(v, "guestinfo.userdata.encoding", e, err) == -1)
			goto out;
	}
	if (how == GUEST_INIT_AUTO || how == GUEST_INIT_CIDATA) {
		struct seed_file files[2] = {
			{ "user-data", ud.b_data, ud.b_len },
			{ "meta-data", md.b_data, md.b_len },
		};
		char iso[PATH_BUF], slot[24], key[64];

		if (path_join(iso, sizeof(iso), bi->bi_dir, BUNDLE_SEED_ISO) ==
			-1 ||
		    seediso_write(iso, BUNDLE_SEED_LABEL, files, 2, err) == -1)
			goto out;
		if (seed_slot(v, devs, ndev, slot, sizeof(slot)) == -1) {
			err_set(err, EIK_INVAL,
			    "no free IDE or SATA slot for the cloud-init seed "
			    "CD-ROM in %s; free one or set GuestInit to "
			    "\"guestinfo\"",
			    bi->bi_template);
			goto out;
		}
		if (strncmp(slot, "ide", 3) == 0) {
			(void)snprintf(key, sizeof(key), "%.4s.present", slot);
			if (vset(v, key, "TRUE", err) == -1)
				goto out;
		}
		(void)snprintf(key, sizeof(key), "%s.present", slot);
		if (vset(v, key, "TRUE", err) == -1)
			goto out;
		(void)snprintf(key, sizeof(key), "%s.deviceType", slot);
		if (vset(v, key, "cdrom-image", err) == -1)
			goto out;
		(void)snprintf(key, sizeof(key), "%s.fileName", slot);
		if (vset(v, key, BUNDLE_SEED_ISO, err) == -1)
			goto out;
		(void)snprintf(key, sizeof(key), "%s.startConnected", slot);
		if (vset(v, key, "TRUE", err) == -1)
			goto out;
	}
	rc = 0;
out:
	buf_free(&ud);
	buf_free(&md);
	buf_free(&enc);
	return rc;
}

int
bundle_configure(const struct bk_inst *bi, unsigned flags, struct err *err)
{
	const struct inst_props *p = &bi->bi_spec->s_props;
	struct vmx *v = NULL;
	struct vmx_device *devs = NULL;
	char num[32];
	long ndev;
	int rc = -1;

	if (vmx_load(bi->bi_vmx, &v, err) == -1)
		return -1;
	if (flags & BUNDLE_RESET_IDENTITY) {
		remove_locks(bi->bi_dir);
		reset_identity(v, bi->bi_id);
	}
	ndev = bundle_devices(v, &devs);
	if (ndev < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	if ((flags & BUNDLE_ABS_MEDIA) &&
	    absolute_media(v, devs, ndev, bi->bi_template, err) == -1)
		goto out;
	if (vset(v, "displayName", bi->bi_id, err) == -1)
		goto out;
	(void)snprintf(num, sizeof(num), "%u", p->p_memsize_mb);
	if (vset(v, "memsize", num, err) == -1)
		goto out;
	(void)snprintf(num, sizeof(num), "%u", p->p_numcpus);
	if (vset(v, "numvcpus", num, err) == -1)
		goto out;
	if (vset(v, "guestinfo.infrakit.id", bi->bi_id, err) == -1)
		goto out;
	if (bi->bi_spec->s_logical_id != NULL) {
		if (vset(v, "guestinfo.infrakit.logical-id",
			bi->bi_spec->s_logical_id, err) == -1)
			goto out;
	} else
		(void)vmx_del(v, "guestinfo.infrakit.logical-id");
	if (guest_init(v, bi, devs, ndev, err) == -1)
		goto out;
	if (vmx_save(v, bi->bi_vmx, err) == -1)
		goto out;
	rc = 0;
out:
	free(devs);
	vmx_free(v);
	return rc;
}

int
bundle_mac(const char *vmx_path, char *mac, size_t maclen)
{
	struct vmx *v = NULL;
	const char *m;
	int rc = -1;

	if (vmx_load(vmx_path, &v, NULL) == -1)
		return -1;
	m = vmx_get(v, "ethernet0.address");
	if (m == NULL || m[0] == '\0')
		m = vmx_get(v, "ethernet0.generatedAddress");
	if (m != NULL && leases_norm_mac(m, mac, maclen) == 0)
		rc = 0;
	vmx_free(v);
	return rc;
}
