/*
 * VMDK disks made without VMware's tools: a monolithicFlat disk, a text
 * descriptor NAME.vmdk naming one extent NAME-flat.vmdk beside it, the raw
 * data, created as a sparse file of the whole size (spec/vmware.md §2.4 for
 * the descriptor's fields; QEMU writes the same shape with `qemu-img create
 * -f vmdk -o subformat=monolithicFlat`). Fusion and Workstation open such
 * disks as "preallocated" ones, and QEMU reads them too. Used for the
 * persistent disks of pets when vmware-vdiskmanager is not there; with
 * it, VMware's own growable disk (vmdk_create_tool).
 */
#ifndef VMDK_H
#define VMDK_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define VMDK_SECTOR 512

/*
 * The descriptor of a monolithicFlat disk of sectors sectors whose data is
 * the file extent (a name relative to the descriptor), with content ID cid,
 * into out. 0, or -1 when it does not fit or extent is not a plain name.
 */
int vmdk_flat_descriptor(
    char *out, size_t len, uint64_t sectors, const char *extent, uint32_t cid);

/*
 * Makes the disk path (a .vmdk that must not exist) of size_gb GiB: its
 * extent, <path without .vmdk>-flat.vmdk, sparse and flushed, then the
 * descriptor, atomically. 0, or -1 with err (the extent removed).
 */
int vmdk_create_flat(const char *path, unsigned size_gb, struct err *err);

#define VMDK_TOOL "vmware-vdiskmanager"
#define VMDK_TOOL_TIMEOUT_MS 300000

/* VMware's disk tool: beside vmrun (Fusion's Contents/Library, Linux's
 * /usr/bin), else in $PATH. 0 with its path in out, or -1. */
int vmdk_tool_find(const char *vmrun, char *out, size_t len);

/*
 * `vmware-vdiskmanager -c -s <size_gb>GB -a lsilogic -t 0 path`: a
 * growable (monolithicSparse) disk, by the deadline. 0, or -1 with err
 * holding the tool's message.
 */
int vmdk_create_tool(const char *tool, const char *path, unsigned size_gb,
    int64_t deadline, struct err *err);

#endif /* VMDK_H */
