/*
 * VM bundles, shared by the vmware and qemu backends: copying a template's
 * directory into an instance's (copy-on-write where the file system can),
 * reading a .vmx's devices, and configuring an instance's .vmx before its
 * first boot: identity reset (spec/vmware.md §2.3), memory and CPUs, the
 * instance's own guestinfo keys, and guest initialisation through cloud-init
 * (guestinfo.userdata/metadata and a NoCloud seed ISO, design.md §4).
 */
#ifndef BUNDLE_H
#define BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/defaults.h"
#include "util/fsutil.h"

struct bk_inst;
struct err;
struct inst_spec;
struct vmx;

#define BUNDLE_SEED_ISO "seed.iso"
#define BUNDLE_SEED_LABEL "cidata"

/* One storage device of a .vmx: <bus><ctl>:<unit>.* keys. */
struct vmx_device {
	char vd_slot[24]; /* "scsi0:0" */
	char vd_bus[8];	  /* scsi, sata, ide, nvme */
	int vd_ctl, vd_unit;
	bool vd_present;
	bool vd_cdrom;		/* deviceType cdrom-image/-raw, atapi */
	bool vd_image;		/* backed by a file (not a host drive) */
	char vd_type[32];	/* deviceType, "" for a disk */
	char vd_file[PATH_BUF]; /* fileName as written */
};

/*
 * Lists the storage devices of v (present or not) in slot order. *out is a
 * new array (caller frees). Returns the count, or -1 when out of memory.
 */
long bundle_devices(const struct vmx *v, struct vmx_device **out);

/* fileName resolved against the .vmx's directory when relative. */
int bundle_resolve(
    const char *vmx_path, const char *file, char *out, size_t outlen);

/*
 * Checks that every disk of the template at template_vmx (a present device
 * backed by a file, not a CD-ROM) lies inside the template's directory:
 * its fileName resolved against that directory with "." and ".." folded
 * ("../shared.vmdk" escapes), absolute names included, and, when the file
 * exists, with symbolic links resolved. Instances would otherwise all
 * write one disk. CD-ROM images may live anywhere: instances share them
 * as read-only media. v is the template parsed, or NULL to load it.
 * Returns 0, or -1 with err (EIK_INVAL) naming the template, the key, the
 * path and the fix.
 */
int bundle_check_disks(
    const char *template_vmx, const struct vmx *v, struct err *err);

/* What bundle_copy did, for logs and benchmarks. */
struct copy_stats {
	uint64_t cs_bytes;
	unsigned cs_files;
	unsigned cs_cloned; /* files copied copy-on-write */
};

/*
 * Copies the template's bundle into dir (existing, empty) as a manual clone:
 * every file except locks (*.lck), suspend state (*.vmss, *.vmem), logs,
 * snapshot and Foundry metadata (*.vmsd, *.vmxf, *.scoreboard); the .vmx
 * becomes <id>.vmx. CD-ROM images inside the template are not copied: the
 * instance refers to the template's (read-only media). With cow, files are
 * cloned copy-on-write where the file system can (FICLONE, clonefile).
 * A template disk outside its bundle is refused: instances would share it.
 */
int bundle_copy(const char *template_vmx, const char *dir, const char *id,
    bool cow, struct copy_stats *st, struct err *err);

/* Options of bundle_configure. */
#define BUNDLE_RESET_IDENTITY 0x1 /* a copy or clone of a template */
#define BUNDLE_ABS_MEDIA                                                       \
	0x2		     /* make relative CD-ROM paths absolute            \
				(to the template's directory) */
#define BUNDLE_VMX_LIMIT 0x4 /* keep the .vmx within BUNDLE_VMX_BUDGET */

/* The largest .vmx we write with BUNDLE_VMX_LIMIT: what VMware takes, less
 * room for the keys it adds itself at power-on. */
#define BUNDLE_VMX_BUDGET (VMX_VMWARE_MAX_SIZE - VMX_VMWARE_HEADROOM)

/*
 * Configures the powered-off instance bundle bi (bi_vmx, bi_dir) before its
 * first boot and saves the .vmx atomically:
 *  - with BUNDLE_RESET_IDENTITY, what makes a copy a new VM: *.lck removed,
 *    uuid.action = "create", msg.autoAnswer = "TRUE", uuid.bios,
 *    uuid.location, vc.uuid, ethernetN.generatedAddress(Offset),
 *    checkpoint.vmState*, sched.swap.derivedName removed,
 *    extendedConfigFile = <id>.vmxf;
 *  - displayName = the instance ID; memsize, numvcpus from Properties;
 *    guestinfo.infrakit.id and .logical-id;
 *  - guest init per Properties.GuestInit: guestinfo.metadata/userdata
 *    (+ .encoding) and/or seed.iso (label cidata) attached as a CD-ROM in a
 *    free IDE/SATA slot;
 *  - bi_disks, the persistent disks of a pet, on free ports of sata0;
 *  - with BUNDLE_VMX_LIMIT (VMware), when the guestinfo keys would make the
 *    .vmx larger than BUNDLE_VMX_BUDGET: GuestInit auto leaves them out
 *    (the seed ISO carries the same documents) and logs it; GuestInit
 *    guestinfo is refused (EIK_INVAL, naming Spec.Init).
 */
int bundle_configure(const struct bk_inst *bi, unsigned flags, struct err *err);

/*
 * Decides, before Provision answers, what bundle_configure with
 * BUNDLE_VMX_LIMIT would decide for an instance of spec from the template
 * (the .vmx VMware would be given, for the longest instance ID): -1 with
 * bundle_configure's error when GuestInit "guestinfo" would not fit; 0
 * otherwise, at once for any other GuestInit (auto falls back to the seed
 * ISO alone when the instance is made).
 */
int bundle_check_vmx_size(
    const char *template_vmx, const struct inst_spec *spec, struct err *err);

/*
 * Removes from the .vmx at vmx_path every disk that lies outside dir (the
 * bundle): the persistent disks of pets, which `vmrun deleteVM` would
 * otherwise delete with the VM. Saved only when something was removed.
 */
int bundle_detach_outside(
    const char *vmx_path, const char *dir, struct err *err);

/* The MAC address of ethernet0 (address or generatedAddress), normalised,
 * or -1 when the .vmx has none yet. */
int bundle_mac(const char *vmx_path, char *mac, size_t maclen);

#endif /* BUNDLE_H */
