/*
 * VM bundles: the persistent disks of pets in an instance's .vmx. Each disk
 * goes on the first free port of SATA controller 0, which both VMware
 * (every virtual hardware version we meet) and QEMU (ahci, six ports) have,
 * and which a Linux guest's stock kernel drives (ahci), unlike the SCSI
 * models whose drivers small guests leave out. The disk lies outside the
 * bundle, so its fileName is absolute, and its mode is
 * independent-persistent: VMware's snapshots leave it alone. See bundle.h
 * and bundle_int.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/backend.h"
#include "backend/bundle.h"
#include "backend/bundle_int.h"
#include "util/compat.h"
#include "util/err.h"
#include "vmx/vmx.h"

/* SATA ports a disk may take: QEMU's ahci has six. */
#define DISK_PORTS 6

/* Whether sata0:unit is taken by a present device of devs. */
static bool
port_taken(const struct vmx_device *devs, long n, int unit)
{
	for (long i = 0; i < n; i++)
		if (strcmp(devs[i].vd_bus, "sata") == 0 &&
		    devs[i].vd_ctl == 0 && devs[i].vd_unit == unit &&
		    devs[i].vd_present)
			return true;
	return false;
}

/* Whether a present device of devs is the disk file already (a second
 * configure of the same bundle). */
static bool
already(const struct vmx_device *devs, long n, const char *file)
{
	for (long i = 0; i < n; i++)
		if (devs[i].vd_present && devs[i].vd_image &&
		    !devs[i].vd_cdrom && strcmp(devs[i].vd_file, file) == 0)
			return true;
	return false;
}

/* Puts the disk d on sata0:unit, replacing whatever a device that is not
 * present left of that slot's keys. */
static int
disk_keys(struct vmx *v, int unit, const struct bk_disk *d, struct err *err)
{
	char key[64];

	(void)snprintf(key, sizeof(key), "sata0:%d.*", unit);
	(void)vmx_del_matching(v, key);
	(void)snprintf(key, sizeof(key), "sata0:%d.present", unit);
	if (bundle_vset(v, key, "TRUE", err) == -1)
		return -1;
	(void)snprintf(key, sizeof(key), "sata0:%d.fileName", unit);
	if (bundle_vset(v, key, d->bd_file, err) == -1)
		return -1;
	(void)snprintf(key, sizeof(key), "sata0:%d.mode", unit);
	return bundle_vset(v, key, "independent-persistent", err);
}

/* See bundle_int.h. */
int
bundle_disks_attach(struct vmx *v, const struct bk_inst *bi, struct err *err)
{
	struct vmx_device *devs = NULL;
	int unit = 0, rc = -1;
	long n;

	if (bi->bi_ndisks == 0)
		return 0;
	n = bundle_devices(v, &devs);
	if (n < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	if (bundle_vset(v, "sata0.present", "TRUE", err) == -1)
		goto out;
	for (size_t k = 0; k < bi->bi_ndisks; k++) {
		if (already(devs, n, bi->bi_disks[k].bd_file))
			continue;
		while (unit < DISK_PORTS && port_taken(devs, n, unit))
			unit++;
		if (unit == DISK_PORTS) {
			err_set(err, EIK_INVAL,
			    "no free SATA port for disk \"%s\" in %s: the "
			    "template and the seed CD-ROM leave fewer than %zu "
			    "of sata0:0 to sata0:%d free; attach fewer disks "
			    "or free ports in the template",
			    bi->bi_disks[k].bd_name, bi->bi_template,
			    bi->bi_ndisks, DISK_PORTS - 1);
			goto out;
		}
		if (disk_keys(v, unit, &bi->bi_disks[k], err) == -1)
			goto out;
		unit++;
	}
	rc = 0;
out:
	free(devs);
	return rc;
}

int
bundle_detach_outside(const char *vmx_path, const char *dir, struct err *err)
{
	struct vmx_device *devs = NULL;
	struct vmx *v = NULL;
	size_t dl = strlen(dir);
	int dropped = 0, rc = -1;
	long n;

	if (vmx_load(vmx_path, &v, err) == -1)
		return -1;
	n = bundle_devices(v, &devs);
	if (n < 0) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	for (long i = 0; i < n; i++) {
		char abs[PATH_BUF], key[64];

		if (!devs[i].vd_image || devs[i].vd_cdrom ||
		    bundle_resolve(
			vmx_path, devs[i].vd_file, abs, sizeof(abs)) == -1)
			continue;
		/* A disk of the bundle is its own; one elsewhere is not. */
		if (strncmp(abs, dir, dl) == 0 && abs[dl] == '/' &&
		    strstr(abs + dl, "/../") == NULL)
			continue;
		(void)snprintf(key, sizeof(key), "%s.*", devs[i].vd_slot);
		dropped += vmx_del_matching(v, key);
	}
	rc = dropped > 0 ? vmx_save(v, vmx_path, err) : 0;
out:
	free(devs);
	vmx_free(v);
	return rc;
}
