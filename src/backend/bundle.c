/*
 * VM bundles: devices, disks inside the bundle, copying, identity reset and
 * configuring; guest initialisation is in bundle_guest.c. See bundle.h and
 * bundle_int.h.
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
#include "backend/bundle.h"
#include "backend/bundle_int.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "backend/leases.h"
#include "model/tags.h"
#include "util/log.h"
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

/*
 * Folds the absolute path in into out: empty and "." components dropped,
 * ".." removing the one before it (at "/" it stays "/"), as the kernel
 * walks a path without symbolic links. -1 when in is not absolute or out
 * is too small.
 */
static int
fold_path(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	if (in[0] != '/' || outlen < 2)
		return -1;
	out[0] = '\0';
	for (const char *p = in; *p != '\0';) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(out, '/');

			n = slash != NULL ? (size_t)(slash - out) : 0;
			out[n] = '\0';
		} else {
			if (n + 1 + len >= outlen)
				return -1;
			out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
			out[n] = '\0';
		}
		p += len;
	}
	if (n == 0)
		(void)strlcpy(out, "/", outlen);
	return 0;
}

/* Whether path lies inside the directory dir (both folded). */
static bool
path_under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/' &&
	    path[n + 1] != '\0';
}

static int
outside(const char *tvmx, const struct vmx_device *d, const char *dir,
    const char *where, bool through_link, struct err *err)
{
	err_set(err, EIK_INVAL,
	    "template %s: %s.fileName \"%s\" is outside the template's "
	    "directory %s (%s%s): every instance would share that disk; move "
	    "the disk into the bundle and refer to it by a relative name "
	    "(only CD-ROM images, read-only media, may live elsewhere)",
	    tvmx, d->vd_slot, d->vd_file, dir,
	    through_link ? "through a symbolic link it is " : "it is ", where);
	return -1;
}

int
bundle_check_disks(
    const char *template_vmx, const struct vmx *v, struct err *err)
{
	char dir[PATH_BUF], rdir[PATH_BUF];
	struct vmx_device *devs = NULL;
	struct vmx *own = NULL;
	const char *slash = strrchr(template_vmx, '/');
	bool have_rdir;
	long ndev;
	int rc = -1;

	if (template_vmx[0] != '/' || slash == NULL ||
	    (size_t)(slash - template_vmx) >= sizeof(dir)) {
		err_set(err, EIK_INVAL, "template path %s is not absolute",
		    template_vmx);
		return -1;
	}
	memcpy(dir, template_vmx, (size_t)(slash - template_vmx));
	dir[slash - template_vmx] = '\0';
	if (dir[0] == '\0')
		(void)strlcpy(dir, "/", sizeof(dir));
	if (fold_path(dir, rdir, sizeof(rdir)) == -1) {
		err_set(err, EIK_INVAL, "template path %s is too long",
		    template_vmx);
		return -1;
	}
	(void)strlcpy(dir, rdir, sizeof(dir));
	have_rdir = realpath(dir, rdir) != NULL;
	if (v == NULL) {
		if (vmx_load(template_vmx, &own, err) == -1)
			return -1;
		v = own;
	}
	ndev = bundle_devices(v, &devs);
	if (ndev < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	for (long i = 0; i < ndev; i++) {
		char abs[PATH_BUF], folded[PATH_BUF], real[PATH_BUF];

		/* Read-only media may be shared: only disks must stay in. */
		if (!devs[i].vd_present || devs[i].vd_cdrom ||
		    !devs[i].vd_image)
			continue;
		if (bundle_resolve(template_vmx, devs[i].vd_file, abs,
			sizeof(abs)) == -1 ||
		    fold_path(abs, folded, sizeof(folded)) == -1) {
			err_set(err, EIK_INVAL,
			    "template %s: %s.fileName is too long",
			    template_vmx, devs[i].vd_slot);
			goto out;
		}
		if (!path_under(dir, folded)) {
			(void)outside(
			    template_vmx, &devs[i], dir, folded, false, err);
			goto out;
		}
		/* A symbolic link out of the bundle escapes it as well (the
		 * name as the kernel walks it: "link/.." follows link). */
		if (have_rdir && realpath(abs, real) != NULL &&
		    !path_under(rdir, real)) {
			(void)outside(
			    template_vmx, &devs[i], dir, real, true, err);
			goto out;
		}
	}
	rc = 0;
out:
	free(devs);
	vmx_free(own);
	return rc;
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

/*
 * Splits template_vmx into its directory (src_dir) and the .vmx's name
 * (vmx_name); -1 with err when it has no directory part or that is too
 * long.
 */
static int
copy_template_path(const char *template_vmx, char *src_dir, size_t dirlen,
    char *vmx_name, size_t namelen, struct err *err)
{
	const char *slash = strrchr(template_vmx, '/');

	if (slash == NULL || (size_t)(slash - template_vmx) >= dirlen) {
		err_set(err, EIK_INVAL, "template path %s is not absolute",
		    template_vmx);
		return -1;
	}
	memcpy(src_dir, template_vmx, (size_t)(slash - template_vmx));
	src_dir[slash - template_vmx] = '\0';
	(void)strlcpy(vmx_name, slash + 1, namelen);
	return 0;
}

/* What bundle_copy copies from and to, for copy_one. */
struct copy_job {
	const char *cj_src_dir;	 /* the template's directory */
	const char *cj_vmx_name; /* the template's .vmx, in cj_src_dir */
	const struct vmx_device *cj_devs; /* the template's devices */
	long cj_ndev;
	const char *cj_dir; /* the instance's directory */
	const char *cj_id;
	bool cj_cow;
	struct copy_stats *cj_st; /* or NULL */
};

/* Whether name (in the template's directory) is a CD-ROM image of devs. */
static bool
is_media(const struct vmx_device *devs, long ndev, const char *name)
{
	for (long i = 0; i < ndev; i++)
		if (devs[i].vd_cdrom && strcmp(devs[i].vd_file, name) == 0)
			return true;
	return false;
}

/*
 * Copies the template's file name into the instance's directory, the .vmx
 * as <id>.vmx, unless a clone leaves it out (skip_file, not a regular file,
 * a CD-ROM image), and counts it in cj_st. Returns 0 (copied or left out)
 * or -1 with err.
 */
static int
copy_one(const struct copy_job *j, const char *name, struct err *err)
{
	char from[PATH_BUF], to[PATH_BUF];
	enum copy_how how;
	struct stat sb;

	if (skip_file(name))
		return 0;
	if (path_join(from, sizeof(from), j->cj_src_dir, name) == -1)
		return 0;
	if (lstat(from, &sb) == -1 || !S_ISREG(sb.st_mode))
		return 0;
	/* Read-only media stay in the template (configure makes their paths
	 * absolute). */
	if (is_media(j->cj_devs, j->cj_ndev, name))
		return 0;
	if (strcmp(name, j->cj_vmx_name) == 0) {
		int n =
		    snprintf(to, sizeof(to), "%s/%s.vmx", j->cj_dir, j->cj_id);

		if (n < 0 || (size_t)n >= sizeof(to))
			goto toolong;
	} else if (path_join(to, sizeof(to), j->cj_dir, name) == -1)
		goto toolong;
	if (copy_file(from, to, sb.st_mode & 0777, j->cj_cow, &how, err) == -1)
		return -1;
	if (j->cj_st != NULL) {
		j->cj_st->cs_files++;
		j->cj_st->cs_bytes += (uint64_t)sb.st_size;
		if (how == COPY_CLONED)
			j->cj_st->cs_cloned++;
	}
	return 0;
toolong:
	err_set(err, EIK_INVAL, "path too long under %s", j->cj_dir);
	return -1;
}

int
bundle_copy(const char *template_vmx, const char *dir, const char *id, bool cow,
    struct copy_stats *st, struct err *err)
{
	char src_dir[PATH_BUF], vmx_name[PATH_BUF];
	struct copy_job j;
	struct vmx *v = NULL;
	struct vmx_device *devs = NULL;
	struct dirent *de;
	DIR *d = NULL;
	long ndev;
	int rc = -1;

	if (st != NULL)
		memset(st, 0, sizeof(*st));
	if (copy_template_path(template_vmx, src_dir, sizeof(src_dir), vmx_name,
		sizeof(vmx_name), err) == -1)
		return -1;
	if (vmx_load(template_vmx, &v, err) == -1)
		return -1;
	ndev = bundle_devices(v, &devs);
	if (ndev < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	/* A disk outside the bundle would be shared by every instance
	 * (validate refuses it already; the copy must not rely on that). */
	if (bundle_check_disks(template_vmx, v, err) == -1)
		goto out;
	d = opendir(src_dir);
	if (d == NULL) {
		err_set(
		    err, EIK_IO, "opendir %s: %s", src_dir, strerror(errno));
		goto out;
	}
	j.cj_src_dir = src_dir;
	j.cj_vmx_name = vmx_name;
	j.cj_devs = devs;
	j.cj_ndev = ndev;
	j.cj_dir = dir;
	j.cj_id = id;
	j.cj_cow = cow;
	j.cj_st = st;
	while ((de = readdir(d)) != NULL)
		if (copy_one(&j, de->d_name, err) == -1)
			goto out;
	rc = 0;
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

/* See bundle_int.h. */
int
bundle_vset(struct vmx *v, const char *key, const char *value, struct err *err)
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
		if (bundle_vset(v, key, abs, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * Everything bundle_configure does to the .vmx, on v in memory. The seed
 * ISO is written only when bi_dir is set.
 */
static int
configure_vmx(struct vmx *v, const struct bk_inst *bi, unsigned flags,
    size_t *dropped, struct err *err)
{
	const struct inst_props *p = &bi->bi_spec->s_props;
	struct vmx_device *devs = NULL;
	char num[32];
	long ndev;
	int rc = -1;

	if (flags & BUNDLE_RESET_IDENTITY)
		reset_identity(v, bi->bi_id);
	ndev = bundle_devices(v, &devs);
	if (ndev < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	if ((flags & BUNDLE_ABS_MEDIA) &&
	    absolute_media(v, devs, ndev, bi->bi_template, err) == -1)
		goto out;
	if (bundle_vset(v, "displayName", bi->bi_id, err) == -1)
		goto out;
	(void)snprintf(num, sizeof(num), "%u", p->p_memsize_mb);
	if (bundle_vset(v, "memsize", num, err) == -1)
		goto out;
	(void)snprintf(num, sizeof(num), "%u", p->p_numcpus);
	if (bundle_vset(v, "numvcpus", num, err) == -1)
		goto out;
	if (bundle_vset(v, "guestinfo.infrakit.id", bi->bi_id, err) == -1)
		goto out;
	if (bi->bi_spec->s_logical_id != NULL) {
		if (bundle_vset(v, "guestinfo.infrakit.logical-id",
			bi->bi_spec->s_logical_id, err) == -1)
			goto out;
	} else
		(void)vmx_del(v, "guestinfo.infrakit.logical-id");
	/* SSHUser: the image's user as the template would say it. */
	if (p->p_ssh_user[0] != '\0' &&
	    bundle_vset(v, "guestinfo.infrakit.ssh-user", p->p_ssh_user, err) ==
		-1)
		goto out;
	if (bundle_guest_init(v, bi, devs, ndev, flags, dropped, err) == -1 ||
	    bundle_disks_attach(v, bi, err) == -1)
		goto out;
	rc = 0;
out:
	free(devs);
	return rc;
}

int
bundle_configure(const struct bk_inst *bi, unsigned flags, struct err *err)
{
	struct vmx *v = NULL;
	size_t dropped = 0;
	int rc = -1;

	if (vmx_load(bi->bi_vmx, &v, err) == -1)
		return -1;
	if (flags & BUNDLE_RESET_IDENTITY)
		remove_locks(bi->bi_dir);
	if (configure_vmx(v, bi, flags, &dropped, err) == -1)
		goto out;
	if (vmx_save(v, bi->bi_vmx, err) == -1)
		goto out;
	if (dropped > 0)
		log_info("%s: with its guestinfo keys the .vmx would be %zu "
			 "bytes, over the %d VMware takes (less %d for its own "
			 "keys): the Init reaches the guest through the seed "
			 "ISO only",
		    bi->bi_id, dropped, VMX_VMWARE_MAX_SIZE,
		    VMX_VMWARE_HEADROOM);
	rc = 0;
out:
	vmx_free(v);
	return rc;
}

int
bundle_check_vmx_size(
    const char *template_vmx, const struct inst_spec *spec, struct err *err)
{
	char id[ID_MAX];
	struct tags tags;
	struct bk_inst bi;
	struct vmx *v = NULL;
	size_t dropped = 0;
	int rc = -1;

	/* Only "guestinfo" can be refused; "auto" falls back to the seed ISO
	 * when the instance is made (and Provision stays fast). */
	if (spec->s_props.p_guest_init != GUEST_INIT_GUESTINFO)
		return 0;
	/* The longest ID ours can be, the tags the instance will have
	 * (Properties.Tags, then Spec.Tags winning), no seed ISO written. */
	memset(id, 'x', sizeof(id) - 1);
	memcpy(id, ID_PREFIX, sizeof(ID_PREFIX) - 1);
	id[sizeof(id) - 1] = '\0';
	memset(&tags, 0, sizeof(tags));
	if (tags_copy(&tags, &spec->s_props.p_tags) == -1 ||
	    tags_merge(&tags, &spec->s_tags) == -1) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	memset(&bi, 0, sizeof(bi));
	bi.bi_id = id;
	bi.bi_vmx = template_vmx;
	bi.bi_template = template_vmx;
	bi.bi_spec = spec;
	bi.bi_tags = &tags;
	if (vmx_load(template_vmx, &v, err) == -1)
		goto out;
	rc = configure_vmx(v, &bi,
	    BUNDLE_RESET_IDENTITY | BUNDLE_ABS_MEDIA | BUNDLE_VMX_LIMIT,
	    &dropped, err);
out:
	vmx_free(v);
	tags_free(&tags);
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
