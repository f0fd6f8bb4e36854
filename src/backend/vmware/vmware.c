/*
 * The VMware backend: Fusion (macOS) and Workstation / Player (Linux,
 * Windows) through vmrun (spec/vmware.md). Clones are made by `vmrun
 * clone` (linked from one snapshot per template, or full) or, where the
 * product cannot clone, by copying the bundle and resetting its identity;
 * the power-state view comes from one `vmrun list` per refresh.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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
#include "backend/leases.h"
#include "util/log.h"
#include "backend/vmware/vmdk.h"
#include "backend/vmware/vmrun.h"
#include "vmx/vmx.h"

#define SNAPSHOT_NAME "infrakit-base"
#define CLONE_MARKER ".infrakit-clone" /* made by vmrun clone */
#define LEASES_MAX_SIZE (16 * 1024 * 1024)
/* A DHCP lease file read before the system's (a custom vmnet, tests). */
#define ENV_VMWARE_LEASES "INFRAKIT_VMWARE_LEASES"

/* One lock per template: snapshot and clone both rewrite its .vmsd. */
struct tmpl_lock {
	struct tmpl_lock *tl_next;
	char *tl_path;
	pthread_mutex_t tl_mu;
};

struct vmw {
	struct vmrun vw_vr;
	enum clone_mode vw_clone;
	atomic_int vw_no_clone;	  /* the product cannot clone */
	char vw_leases[PATH_BUF]; /* $INFRAKIT_VMWARE_LEASES, or "" */
	char vw_vdisk[PATH_BUF];  /* vmware-vdiskmanager, or "" */
	pthread_mutex_t vw_locks_mu;
	struct tmpl_lock *vw_locks;
	/* What was last wrong with `vmrun list` ("" when nothing): logged
	 * when it changes, not at every refresh. */
	pthread_mutex_t vw_list_mu;
	char vw_list_bad[ERR_MSG_MAX];
};

static pthread_mutex_t *
tmpl_lock(struct vmw *vw, const char *path)
{
	struct tmpl_lock *tl;

	(void)pthread_mutex_lock(&vw->vw_locks_mu);
	for (tl = vw->vw_locks; tl != NULL; tl = tl->tl_next)
		if (strcmp(tl->tl_path, path) == 0)
			break;
	if (tl == NULL) {
		tl = calloc(1, sizeof(*tl));
		if (tl != NULL && (tl->tl_path = strdup(path)) != NULL) {
			(void)pthread_mutex_init(&tl->tl_mu, NULL);
			tl->tl_next = vw->vw_locks;
			vw->vw_locks = tl;
		} else {
			free(tl);
			tl = NULL;
		}
	}
	(void)pthread_mutex_unlock(&vw->vw_locks_mu);
	return tl != NULL ? &tl->tl_mu : &vw->vw_locks_mu;
}

static int
vw_open(const struct backend_conf *conf, void **ctx, struct err *err)
{
	const char *args[] = { "list", NULL };
	char path[PATH_BUF];
	const char *leases = getenv(ENV_VMWARE_LEASES);
	struct vmw *vw;

	if (vmrun_find(conf->bc_vmrun, path, sizeof(path), err) == -1)
		return -1;
	vw = calloc(1, sizeof(*vw));
	if (vw == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	if (leases != NULL &&
	    strlcpy(vw->vw_leases, leases, sizeof(vw->vw_leases)) >=
		sizeof(vw->vw_leases))
		vw->vw_leases[0] = '\0';
	if (vmrun_init(&vw->vw_vr, path, err) == -1) {
		free(vw);
		return -1;
	}
	(void)pthread_mutex_init(&vw->vw_locks_mu, NULL);
	(void)pthread_mutex_init(&vw->vw_list_mu, NULL);
	vw->vw_clone =
	    conf->bc_clone == CLONE_UNSET ? CLONE_AUTO : conf->bc_clone;
	/* One `list` proves vmrun works here and settles -T ws vs player. */
	if (vmrun_run(&vw->vw_vr, args, VMRUN_PROBE_TIMEOUT_MS, 0, NULL, err) ==
	    -1) {
		err_prefix(err, "%s does not work", path);
		vmrun_fini(&vw->vw_vr);
		(void)pthread_mutex_destroy(&vw->vw_locks_mu);
		(void)pthread_mutex_destroy(&vw->vw_list_mu);
		free(vw);
		return -1;
	}
	if (vmdk_tool_find(path, vw->vw_vdisk, sizeof(vw->vw_vdisk)) == -1)
		vw->vw_vdisk[0] = '\0';
	log_info("vmware: %s (-T %s), clone mode %s; disks of pets made by %s",
	    path, vw->vw_vr.vr_type, clone_mode_name(vw->vw_clone),
	    vw->vw_vdisk[0] != '\0'
		? vw->vw_vdisk
		: "the plugin (monolithicFlat: no " VMDK_TOOL " here)");
	*ctx = vw;
	return 0;
}

static void
vw_close(void *ctx)
{
	struct vmw *vw = ctx;
	struct tmpl_lock *tl, *next;

	for (tl = vw->vw_locks; tl != NULL; tl = next) {
		next = tl->tl_next;
		(void)pthread_mutex_destroy(&tl->tl_mu);
		free(tl->tl_path);
		free(tl);
	}
	(void)pthread_mutex_destroy(&vw->vw_locks_mu);
	(void)pthread_mutex_destroy(&vw->vw_list_mu);
	vmrun_fini(&vw->vw_vr);
	free(vw);
}

/*
 * The template checks: it parses, has no key twice (VMware refuses such
 * files), keeps its disks inside its bundle, and with spec, the .vmx the
 * instance would get fits VMware's limit.
 */
static int
check_template(const char *tmpl, const struct inst_spec *spec, struct err *err)
{
	struct vmx *v = NULL;
	const char *dup;
	int rc = -1;

	if (vmx_load(tmpl, &v, err) == -1) {
		err_prefix(err, "template");
		return -1;
	}
	dup = vmx_first_dup(v);
	if (dup != NULL) {
		err_set(err, EIK_INVAL,
		    "template %s has the key \"%s\" twice; VMware refuses such "
		    "files: remove one of them",
		    tmpl, dup);
		goto out;
	}
	if (bundle_check_disks(tmpl, v, err) == -1 ||
	    bundle_check_vmx_size(tmpl, spec, err) == -1)
		goto out;
	rc = 0;
out:
	vmx_free(v);
	return rc;
}

static int
vw_validate(void *ctx, const struct inst_props *props, const char *tmpl,
    struct err *err)
{
	struct inst_spec spec;

	(void)ctx;
	/* Properties alone: the .vmx with an empty Init must fit. */
	memset(&spec, 0, sizeof(spec));
	spec.s_props = *props; /* borrowed, not freed */
	spec.s_init = (char *)"";
	return check_template(tmpl, &spec, err);
}

static int
vw_validate_spec(
    void *ctx, const struct inst_spec *spec, const char *tmpl, struct err *err)
{
	(void)ctx;
	return check_template(tmpl, spec, err);
}

static int
vmrun_clone(
    struct vmw *vw, const struct bk_inst *bi, bool linked, struct err *err)
{
	char snap[64], name[ID_MAX + 16];
	const char *args[8];
	int n = 0;

	args[n++] = "clone";
	args[n++] = bi->bi_template;
	args[n++] = bi->bi_vmx;
	args[n++] = linked ? "linked" : "full";
	if (linked) {
		(void)snprintf(
		    snap, sizeof(snap), "-snapshot=%s", SNAPSHOT_NAME);
		args[n++] = snap;
	}
	(void)snprintf(name, sizeof(name), "-cloneName=%s", bi->bi_id);
	args[n++] = name;
	args[n] = NULL;
	return vmrun_run(&vw->vw_vr, args, VMRUN_CLONE_TIMEOUT_MS,
	    bi->bi_deadline, NULL, err);
}

/*
 * The template's snapshot for linked clones, made once. Lock held. With
 * probe (clone mode auto), a template without it is first asked for the
 * linked clone itself: a product that cannot clone refuses at once ("One of
 * the parameters was invalid" on non-Pro Fusion, "not supported" with
 * Player), and its template must not get a snapshot (a new delta disk under
 * its .vmx) for nothing; a Pro product says "Invalid snapshot name" and
 * gets the snapshot. Returns 0 when the snapshot is there, 1 when the
 * probe made the clone already, -1 with err.
 */
static int
ensure_snapshot(
    struct vmw *vw, const struct bk_inst *bi, bool probe, struct err *err)
{
	const char *list[] = { "listSnapshots", bi->bi_template, NULL };
	const char *make[] = { "snapshot", bi->bi_template, SNAPSHOT_NAME,
		NULL };
	struct buf out;
	int has;

	buf_init(&out, 1 << 20);
	if (vmrun_run(&vw->vw_vr, list, VMRUN_SHORT_TIMEOUT_MS, bi->bi_deadline,
		&out, err) == -1) {
		buf_free(&out);
		return -1;
	}
	has = vmrun_has_snapshot(buf_str(&out), SNAPSHOT_NAME);
	buf_free(&out);
	if (has == 1)
		return 0;
	if (probe) {
		struct err pe;

		err_clear(&pe);
		if (vmrun_clone(vw, bi, true, &pe) == 0)
			return 1;
		if (vmrun_clone_unsupported(pe.msg)) {
			*err = pe;
			return -1;
		}
	}
	log_info("vmware: snapshotting template %s as \"%s\" for linked "
		 "clones",
	    bi->bi_template, SNAPSHOT_NAME);
	return vmrun_run(&vw->vw_vr, make, VMRUN_SNAPSHOT_TIMEOUT_MS,
	    bi->bi_deadline, NULL, err);
}

static int
mark_clone(const struct bk_inst *bi, const char *how, struct err *err)
{
	char p[PATH_BUF];

	if (path_join(p, sizeof(p), bi->bi_dir, CLONE_MARKER) == -1) {
		err_set(err, EIK_INVAL, "path too long");
		return -1;
	}
	return atomic_write_file(p, how, strlen(how), 0644, err);
}

static int
vw_create(void *ctx, const struct bk_inst *bi, struct err *err)
{
	struct vmw *vw = ctx;
	enum clone_mode mode = bi->bi_spec->s_props.p_clone != CLONE_UNSET
	    ? bi->bi_spec->s_props.p_clone
	    : vw->vw_clone;
	struct copy_stats st;
	struct err e;
	int rc;

	if (mode == CLONE_AUTO && atomic_load(&vw->vw_no_clone))
		mode = CLONE_COPY;
	if (mode == CLONE_LINKED || mode == CLONE_AUTO) {
		pthread_mutex_t *mu = tmpl_lock(vw, bi->bi_template);

		err_clear(&e);
		(void)pthread_mutex_lock(mu);
		rc = ensure_snapshot(vw, bi, mode == CLONE_AUTO, &e);
		if (rc == 0)
			rc = vmrun_clone(vw, bi, true, &e);
		else if (rc == 1)
			rc = 0;
		(void)pthread_mutex_unlock(mu);
		if (rc == 0) {
			if (mark_clone(bi, "linked", err) == -1)
				return -1;
			goto configure;
		}
		if (mode == CLONE_LINKED) {
			*err = e;
			return -1;
		}
		if (vmrun_clone_unsupported(e.msg)) {
			log_info("vmware: this product cannot clone (%s); "
				 "copying bundles instead",
			    e.msg);
			atomic_store(&vw->vw_no_clone, 1);
			mode = CLONE_COPY;
		} else {
			log_info("vmware: linked clone of %s failed (%s); "
				 "trying a full clone",
			    bi->bi_template, e.msg);
			mode = CLONE_FULL;
		}
		/* vmrun may have left pieces: start from an empty dir. */
		(void)rm_tree(bi->bi_dir, NULL);
		if (mkdir_p(bi->bi_dir, 0700, err) == -1)
			return -1;
		if (mode == CLONE_FULL) {
			err_clear(&e);
			if (vmrun_clone(vw, bi, false, &e) == 0) {
				if (mark_clone(bi, "full", err) == -1)
					return -1;
				goto configure;
			}
			if (!vmrun_clone_unsupported(e.msg)) {
				*err = e;
				return -1;
			}
			atomic_store(&vw->vw_no_clone, 1);
			(void)rm_tree(bi->bi_dir, NULL);
			if (mkdir_p(bi->bi_dir, 0700, err) == -1)
				return -1;
			mode = CLONE_COPY;
		}
	} else if (mode == CLONE_FULL) {
		if (vmrun_clone(vw, bi, false, err) == -1)
			return -1;
		if (mark_clone(bi, "full", err) == -1)
			return -1;
		goto configure;
	}
	/* CLONE_COPY */
	if (bundle_copy(
		bi->bi_template, bi->bi_dir, bi->bi_id, true, &st, err) == -1)
		return -1;
	log_debug("vmware: %s: copied %u files, %llu bytes (%u copy-on-write)",
	    bi->bi_id, st.cs_files, (unsigned long long)st.cs_bytes,
	    st.cs_cloned);
configure:
	return bundle_configure(bi,
	    BUNDLE_RESET_IDENTITY | BUNDLE_ABS_MEDIA | BUNDLE_VMX_LIMIT, err);
}

/* Whether `vmrun list` shows vmx (after realpath). */
struct listed {
	const char *want;
	bool found;
	char **paths;
	size_t n, cap;
	bool oom;
};

static void
collect_path(void *arg, const char *path)
{
	struct listed *l = arg;
	char real[PATH_BUF];
	char **np;

	if (realpath(path, real) == NULL)
		(void)strlcpy(real, path, sizeof(real));
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 16 : l->cap * 2;

		np = realloc(l->paths, cap * sizeof(*np));
		if (np == NULL) {
			l->oom = true;
			return;
		}
		l->paths = np;
		l->cap = cap;
	}
	l->paths[l->n] = strdup(real);
	if (l->paths[l->n] == NULL)
		l->oom = true;
	else
		l->n++;
}

static bool
path_eq(const char *a, const char *b)
{
#if defined(__APPLE__)
	/* APFS and HFS+ are case-insensitive by default. */
	return strcasecmp(a, b) == 0;
#else
	return strcmp(a, b) == 0;
#endif
}

/*
 * One `vmrun list` into l. Returns 0; -1 with err when vmrun failed; 1 with
 * err when it answered something that cannot be believed (not a list, or a
 * list that contradicts itself): then l says nothing.
 */
static int
running_list(
    struct vmw *vw, int64_t deadline, struct listed *l, struct err *err)
{
	const char *args[] = { "list", NULL };
	struct buf out;
	int rc;

	memset(l, 0, sizeof(*l));
	buf_init(&out, 4 << 20);
	rc = vmrun_run(
	    &vw->vw_vr, args, VMRUN_LIST_TIMEOUT_MS, deadline, &out, err);
	if (rc == 0 &&
	    vmrun_parse_list(buf_str(&out), collect_path, l, err) < 0)
		rc = 1;
	if (rc == 0 && l->oom) {
		err_set(err, EIK_INTERNAL, "out of memory");
		rc = -1;
	}
	buf_free(&out);
	return rc;
}

static void
listed_free(struct listed *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

static bool
listed_has(const struct listed *l, const char *vmx)
{
	char real[PATH_BUF];

	if (realpath(vmx, real) == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (path_eq(l->paths[i], real))
			return true;
	return false;
}

/* A suspended VM: a *.vmss in its directory or checkpoint.vmState set
 * (spec §1.4, vagrant's read_state). */
static bool
is_suspended(const char *dir, const char *vmx)
{
	struct dirent *de;
	struct vmx *v = NULL;
	bool susp = false;
	DIR *d = opendir(dir);

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			size_t n = strlen(de->d_name);

			if (n > 5 &&
			    strcasecmp(de->d_name + n - 5, ".vmss") == 0)
				susp = true;
		}
		(void)closedir(d);
	}
	if (!susp && vmx_load(vmx, &v, NULL) == 0) {
		const char *s = vmx_get(v, "checkpoint.vmState");

		susp = s != NULL && s[0] != '\0';
		vmx_free(v);
	}
	return susp;
}

/*
 * Logs what is wrong with `vmrun list` when it changes: bad is the new
 * complaint, or NULL when the list was fine.
 */
static void
note_list(struct vmw *vw, const char *bad)
{
	(void)pthread_mutex_lock(&vw->vw_list_mu);
	if (bad != NULL && strcmp(bad, vw->vw_list_bad) != 0) {
		log_warnx("vmware: %s; power states are unknown until it "
			  "agrees with itself (the instances stay reported)",
		    bad);
		(void)strlcpy(vw->vw_list_bad, bad, sizeof(vw->vw_list_bad));
	} else if (bad == NULL && vw->vw_list_bad[0] != '\0') {
		log_info("vmware: vmrun list answers consistently again");
		vw->vw_list_bad[0] = '\0';
	}
	(void)pthread_mutex_unlock(&vw->vw_list_mu);
}

static int
vw_power(
    void *ctx, struct bk_power *p, size_t n, int64_t deadline, struct err *err)
{
	struct vmw *vw = ctx;
	struct listed l;
	struct err e;
	int rc;

	err_clear(&e);
	rc = running_list(vw, deadline, &l, &e);
	if (rc == -1) {
		listed_free(&l);
		if (err != NULL)
			*err = e;
		return -1;
	}
	if (rc == 1) {
		/* Not knowing is not "off": every VM stays as it was seen
		 * (reported), and the group replaces none of them. */
		note_list(vw, e.msg);
		for (size_t i = 0; i < n; i++)
			p[i].bp_state = POWER_UNKNOWN;
		listed_free(&l);
		return 0;
	}
	note_list(vw, NULL);
	for (size_t i = 0; i < n; i++) {
		if (listed_has(&l, p[i].bp_vmx))
			p[i].bp_state = POWER_RUNNING;
		else if (!is_file(p[i].bp_vmx))
			p[i].bp_state = POWER_OFF;
		else if (is_suspended(p[i].bp_dir, p[i].bp_vmx))
			p[i].bp_state = POWER_SUSPENDED;
		else
			p[i].bp_state = POWER_OFF;
	}
	listed_free(&l);
	return 0;
}

static bool
is_running(struct vmw *vw, const char *vmx, int64_t deadline)
{
	struct listed l;
	struct err e;
	bool r = false;

	err_clear(&e);
	if (running_list(vw, deadline, &l, &e) == 0)
		r = listed_has(&l, vmx);
	listed_free(&l);
	return r;
}

static int
vw_start(void *ctx, const struct bk_inst *bi, struct err *err)
{
	struct vmw *vw = ctx;
	const char *args[] = { "start", bi->bi_vmx,
		bi->bi_spec->s_props.p_launch_gui ? "gui" : "nogui", NULL };

	if (vmrun_run(&vw->vw_vr, args, VMRUN_START_TIMEOUT_MS, bi->bi_deadline,
		NULL, err) == 0)
		return 0;
	/* "Cannot connect to the virtual machine" after a nogui start: the
	 * VM may well be running (vagrant #2159). Believe `list`. */
	if (err != NULL && strstr(err->msg, "Cannot connect") != NULL &&
	    is_running(vw, bi->bi_vmx, bi->bi_deadline)) {
		log_info("vmware: %s: start said \"%s\" but the VM runs",
		    bi->bi_id, err->msg);
		err_clear(err);
		return 0;
	}
	return -1;
}

static int
vw_stop(void *ctx, const struct bk_inst *bi, bool hard, struct err *err)
{
	struct vmw *vw = ctx;
	const char *args[] = { "stop", bi->bi_vmx, hard ? "hard" : "soft",
		NULL };

	if (!is_file(bi->bi_vmx))
		return 0;
	if (vmrun_run(&vw->vw_vr, args, VMRUN_STOP_TIMEOUT_MS, bi->bi_deadline,
		NULL, err) == 0)
		return 0;
	if (err != NULL && err->code == EIK_BACKEND &&
	    (vmrun_not_running(err->msg) ||
		is_suspended(bi->bi_dir, bi->bi_vmx))) {
		/* Off (or suspended: nothing runs) is what we wanted. */
		err_clear(err);
		return 0;
	}
	return -1;
}

static int
vw_remove(void *ctx, const struct bk_inst *bi, struct err *err)
{
	struct vmw *vw = ctx;
	const char *args[] = { "deleteVM", bi->bi_vmx, NULL };
	char marker[PATH_BUF];
	struct err e;

	(void)err;
	/* Clones made by vmrun are registered with their template's snapshot
	 * tree: let VMware forget them. Copies need nothing. */
	if (path_join(marker, sizeof(marker), bi->bi_dir, CLONE_MARKER) == -1 ||
	    !is_file(marker) || !is_file(bi->bi_vmx))
		return 0;
	/* deleteVM deletes every disk of the VM: never a pet's. Without
	 * them in the .vmx, no deleteVM (the bundle's files go anyway). */
	err_clear(&e);
	if (bundle_detach_outside(bi->bi_vmx, bi->bi_dir, &e) == -1) {
		log_warnx("vmware: %s: cannot detach the disks of pets (%s); "
			  "deleting the files without deleteVM",
		    bi->bi_id, e.msg);
		return 0;
	}
	err_clear(&e);
	if (vmrun_run(&vw->vw_vr, args, VMRUN_SHORT_TIMEOUT_MS, bi->bi_deadline,
		NULL, &e) == -1)
		log_info("vmware: %s: deleteVM: %s (deleting the files anyway)",
		    bi->bi_id, e.msg);
	return 0;
}

static int
vw_make_disk(
    void *ctx, const struct bk_disk *d, int64_t deadline, struct err *err)
{
	struct vmw *vw = ctx;

	if (vw->vw_vdisk[0] != '\0')
		return vmdk_create_tool(
		    vw->vw_vdisk, d->bd_file, d->bd_size_gb, deadline, err);
	return vmdk_create_flat(d->bd_file, d->bd_size_gb, err);
}

static int
lease_file(const char *path, const char *mac, char *ip, size_t iplen)
{
	char *text = NULL;
	size_t len;
	int r;

	if (read_file_max(path, LEASES_MAX_SIZE, &text, &len, NULL) == -1)
		return -1;
	r = leases_find(text, len, mac, wall_ms() / 1000, ip, iplen, NULL);
	free(text);
	return r;
}

static int
lease_lookup(const struct vmw *vw, const char *mac, char *ip, size_t iplen)
{
	const char *const *paths = leases_default_paths();

	if (vw->vw_leases[0] != '\0' &&
	    lease_file(vw->vw_leases, mac, ip, iplen) == 0)
		return 0;
	for (size_t i = 0; paths[i] != NULL; i++)
		if (lease_file(paths[i], mac, ip, iplen) == 0)
			return 0;
	return -1;
}

static int
vw_guest_ip(void *ctx, const struct bk_inst *bi, char *ip, size_t iplen,
    char *mac, size_t maclen, struct err *err)
{
	struct vmw *vw = ctx;
	const char *args[] = { "getGuestIPAddress", bi->bi_vmx, "-wait", NULL };
	struct in_addr a;
	struct buf out;
	char got[64];
	struct err e;
	size_t n;

	(void)bundle_mac(bi->bi_vmx, mac, maclen);
	buf_init(&out, 4096);
	err_clear(&e);
	if (vmrun_run(&vw->vw_vr, args, VMRUN_IP_TIMEOUT_MS, bi->bi_deadline,
		&out, &e) == 0) {
		const char *s = buf_str(&out);

		while (*s == ' ' || *s == '\n' || *s == '\r')
			s++;
		n = strcspn(s, " \r\n");
		if (n < sizeof(got)) {
			memcpy(got, s, n);
			got[n] = '\0';
			if (inet_pton(AF_INET, got, &a) == 1 &&
			    strlcpy(ip, got, iplen) < iplen) {
				buf_free(&out);
				return 0;
			}
		}
		/* The first word only: the message is one log line. */
		err_set(&e, EIK_BACKEND, "getGuestIPAddress gave \"%.*s\"",
		    (int)(n < 40 ? n : 40), s);
	}
	buf_free(&out);
	/* Tools may never report under nogui (§1.7): try the DHCP leases. */
	if (mac[0] != '\0' && lease_lookup(vw, mac, ip, iplen) == 0)
		return 0;
	err_set(err, EIK_BACKEND, "%s; no DHCP lease for %s either", e.msg,
	    mac[0] != '\0' ? mac : "its MAC (not known yet)");
	return -1;
}

const struct backend_ops backend_vmware_ops = {
	.name = "vmware",
	.open = vw_open,
	.close = vw_close,
	.validate = vw_validate,
	.validate_spec = vw_validate_spec,
	.create = vw_create,
	.start = vw_start,
	.stop = vw_stop,
	.remove = vw_remove,
	.power = vw_power,
	.guest_ip = vw_guest_ip,
	.disk_format = "vmdk",
	.make_disk = vw_make_disk,
};
