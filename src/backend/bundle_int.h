/*
 * Private to src/backend/bundle*.c: what bundle.c (devices, disk checks,
 * copying, identity reset, configuring) and bundle_guest.c (guest
 * initialisation: guestinfo keys, the seed ISO and its CD-ROM slot) share.
 * Code outside them uses bundle.h only.
 *
 * A helper shared by the files is declared here and named after the file
 * that defines it: bundle_* from bundle.c, bundle_guest_* from
 * bundle_guest.c. Unlike the bundle_* functions of bundle.h, they are not
 * API.
 */
#ifndef BUNDLE_INT_H
#define BUNDLE_INT_H

#include <stddef.h>

struct bk_inst;
struct err;
struct vmx;
struct vmx_device;

/* bundle.c */

/* Sets key to value in v; -1 with err (EIK_INTERNAL) naming the key. */
int bundle_vset(
    struct vmx *v, const char *key, const char *value, struct err *err);

/* bundle_guest.c */

/*
 * Guest initialisation per GuestInit: guestinfo keys and/or the seed
 * CD-ROM (the ISO itself is written into bi_dir only when bi_dir is set).
 * devs (ndev of them) are v's devices, for the CD-ROM's slot. With
 * BUNDLE_VMX_LIMIT in flags, guestinfo keys that would make the .vmx larger
 * than VMware takes (BUNDLE_VMX_BUDGET) are dropped for GuestInit auto (the
 * seed ISO carries the same documents; *dropped is set to the size they
 * would have made, else 0) and refused for GuestInit guestinfo. Returns 0
 * or -1 with err.
 */
int bundle_guest_init(struct vmx *v, const struct bk_inst *bi,
    const struct vmx_device *devs, long ndev, unsigned flags, size_t *dropped,
    struct err *err);

/* bundle_disks.c */

/*
 * Attaches bi's persistent disks (bi_disks) to v, each on the first free
 * port of sata0:0 to sata0:5 (a port is free when no present device uses
 * it; call this after the seed CD-ROM has its slot), by absolute path, mode
 * independent-persistent; one the .vmx has already stays where it is.
 * -1 with err (EIK_INVAL, naming the disk and the
 * template) when the ports run out.
 */
int bundle_disks_attach(
    struct vmx *v, const struct bk_inst *bi, struct err *err);

#endif /* BUNDLE_INT_H */
