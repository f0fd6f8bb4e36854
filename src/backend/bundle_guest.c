/*
 * VM bundles: guest initialisation of an instance's .vmx (guestinfo keys,
 * the NoCloud seed ISO and the CD-ROM slot it goes in). See bundle.h and
 * bundle_int.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "util/buf.h"
#include "backend/bundle.h"
#include "backend/bundle_int.h"
#include "guest/cloudinit.h"
#include "guest/guestinfo.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "guest/seediso.h"
#include "vmx/vmx.h"

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

/* The guestinfo keys bundle_guest_init writes. */
static const char *const guestinfo_keys[] = { "guestinfo.metadata",
	"guestinfo.metadata.encoding", "guestinfo.userdata",
	"guestinfo.userdata.encoding" };

/*
 * The size in bytes v would have on disk, in *size; -1 when out of
 * memory.
 */
static int
emitted_size(const struct vmx *v, size_t *size, struct err *err)
{
	char *text = vmx_emit(v, size);

	if (text == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	free(text);
	return 0;
}

/* The guestinfo keys: the meta-data md and user-data ud, encoded, each
 * with its .encoding. */
static int
guestinfo_set(
    struct vmx *v, const struct buf *md, const struct buf *ud, struct err *err)
{
	struct buf enc;
	const char *e;
	int rc = -1;

	buf_init(&enc, CI_BUF_MAX);
	if (ci_guestinfo_encode(md->b_data, md->b_len, &enc, &e, err) == -1 ||
	    bundle_vset(v, "guestinfo.metadata", buf_str(&enc), err) == -1 ||
	    bundle_vset(v, "guestinfo.metadata.encoding", e, err) == -1 ||
	    ci_guestinfo_encode(ud->b_data, ud->b_len, &enc, &e, err) == -1 ||
	    bundle_vset(v, "guestinfo.userdata", buf_str(&enc), err) == -1 ||
	    bundle_vset(v, "guestinfo.userdata.encoding", e, err) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&enc);
	return rc;
}

/* Writes the seed ISO (label cidata) with the user-data ud and meta-data
 * md into dir. */
static int
seed_write(const char *dir, const struct buf *ud, const struct buf *md,
    struct err *err)
{
	struct seed_file files[2] = {
		{ "user-data", ud->b_data, ud->b_len },
		{ "meta-data", md->b_data, md->b_len },
	};
	char iso[PATH_BUF];

	if (path_join(iso, sizeof(iso), dir, BUNDLE_SEED_ISO) == -1 ||
	    seediso_write(iso, BUNDLE_SEED_LABEL, files, 2, err) == -1)
		return -1;
	return 0;
}

/* Attaches the seed ISO as a CD-ROM in a free slot of v (devs, ndev);
 * -1 with err naming the template when there is none. */
static int
seed_cdrom(struct vmx *v, const struct bk_inst *bi,
    const struct vmx_device *devs, long ndev, struct err *err)
{
	char slot[24], key[64];

	if (seed_slot(v, devs, ndev, slot, sizeof(slot)) == -1) {
		err_set(err, EIK_INVAL,
		    "no free IDE or SATA slot for the cloud-init seed "
		    "CD-ROM in %s; free one or set GuestInit to "
		    "\"guestinfo\"",
		    bi->bi_template);
		return -1;
	}
	if (strncmp(slot, "ide", 3) == 0) {
		(void)snprintf(key, sizeof(key), "%.4s.present", slot);
		if (bundle_vset(v, key, "TRUE", err) == -1)
			return -1;
	}
	(void)snprintf(key, sizeof(key), "%s.present", slot);
	if (bundle_vset(v, key, "TRUE", err) == -1)
		return -1;
	(void)snprintf(key, sizeof(key), "%s.deviceType", slot);
	if (bundle_vset(v, key, "cdrom-image", err) == -1)
		return -1;
	(void)snprintf(key, sizeof(key), "%s.fileName", slot);
	if (bundle_vset(v, key, BUNDLE_SEED_ISO, err) == -1)
		return -1;
	(void)snprintf(key, sizeof(key), "%s.startConnected", slot);
	if (bundle_vset(v, key, "TRUE", err) == -1)
		return -1;
	return 0;
}

/*
 * Keeps v within BUNDLE_VMX_BUDGET once its guestinfo keys are set: over
 * it, GuestInit guestinfo (how) is refused and auto loses the keys, with
 * *dropped set to the size they made.
 */
static int
fit_budget(struct vmx *v, enum guest_init how, size_t *dropped, struct err *err)
{
	size_t size;

	if (emitted_size(v, &size, err) == -1)
		return -1;
	if (size > BUNDLE_VMX_BUDGET && how == GUEST_INIT_GUESTINFO) {
		err_set(err, EIK_INVAL,
		    "Spec.Init: with Properties.GuestInit \"guestinfo\" "
		    "the instance's .vmx would be %zu bytes, over the "
		    "%d VMware takes (VMX_VMWARE_MAX_SIZE, less %d "
		    "bytes for the keys it adds itself); use GuestInit "
		    "\"auto\" or \"cidata\" (the seed ISO has no such "
		    "limit), or a smaller Init or fewer "
		    "SSHAuthorizedKeys",
		    size, VMX_VMWARE_MAX_SIZE, VMX_VMWARE_HEADROOM);
		return -1;
	}
	if (size > BUNDLE_VMX_BUDGET) {
		for (size_t i = 0;
		     i < sizeof(guestinfo_keys) / sizeof(guestinfo_keys[0]);
		     i++)
			(void)vmx_del(v, guestinfo_keys[i]);
		*dropped = size;
	}
	return 0;
}

/* The keys the guest authorizes: SSHAuthorizedKeys, then the plugin's own
 * (bi_ssh_key) unless the spec lists it already. A new array of borrowed
 * strings (caller frees), or NULL (out of memory); *n its length. */
static const char **
guest_keys(const struct bk_inst *bi, size_t *n, struct err *err)
{
	const struct inst_props *p = &bi->bi_spec->s_props;
	const char **keys = calloc(p->p_n_ssh_keys + 1, sizeof(*keys));
	bool have = bi->bi_ssh_key == NULL;

	*n = 0;
	if (keys == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < p->p_n_ssh_keys; i++) {
		keys[(*n)++] = p->p_ssh_keys[i];
		if (!have && strcmp(p->p_ssh_keys[i], bi->bi_ssh_key) == 0)
			have = true;
	}
	if (!have)
		keys[(*n)++] = bi->bi_ssh_key;
	return keys;
}

int
bundle_guest_init(struct vmx *v, const struct bk_inst *bi,
    const struct vmx_device *devs, long ndev, unsigned flags, size_t *dropped,
    struct err *err)
{
	const struct inst_spec *s = bi->bi_spec;
	enum guest_init how = s->s_props.p_guest_init;
	bool keys = how == GUEST_INIT_AUTO || how == GUEST_INIT_GUESTINFO;
	bool seed = how == GUEST_INIT_AUTO || how == GUEST_INIT_CIDATA;
	struct ci_input in;
	struct buf ud, md;
	const char **akeys;
	int rc = -1;

	*dropped = 0;
	if (how == GUEST_INIT_NONE)
		return 0;
	memset(&in, 0, sizeof(in));
	if ((akeys = guest_keys(bi, &in.ci_n_ssh_keys, err)) == NULL)
		return -1;
	in.ci_instance_id = bi->bi_id;
	in.ci_logical_id = s->s_logical_id;
	in.ci_init = s->s_init;
	in.ci_ssh_keys = akeys;
	in.ci_tags = bi->bi_tags;
	buf_init(&ud, CI_BUF_MAX);
	buf_init(&md, CI_BUF_MAX);
	if (ci_check_init(s->s_init, strlen(s->s_init), err) == -1 ||
	    ci_user_data(&in, &ud, err) == -1 ||
	    ci_meta_data(&in, &md, err) == -1)
		goto out;
	if (keys && guestinfo_set(v, &md, &ud, err) == -1)
		goto out;
	if (seed && bi->bi_dir != NULL &&
	    seed_write(bi->bi_dir, &ud, &md, err) == -1)
		goto out;
	if (seed && seed_cdrom(v, bi, devs, ndev, err) == -1)
		goto out;
	if ((flags & BUNDLE_VMX_LIMIT) && keys &&
	    fit_budget(v, how, dropped, err) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&ud);
	buf_free(&md);
	free(akeys);
	return rc;
}
