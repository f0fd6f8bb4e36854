/*
 * NoCloud seed images: an ISO 9660 file system labelled "cidata" with
 * user-data, meta-data and network-config at its root, attached to a guest
 * as a CD-ROM (cloud-init's NoCloud datasource; works without guest tools,
 * under VMware and QEMU alike). Built with libarchive's ISO 9660 writer,
 * with Joliet and Rock Ridge so the lowercase hyphenated names survive.
 */
#ifndef SEEDISO_H
#define SEEDISO_H

#include <stddef.h>

struct err;

/* Largest image seediso_write() builds (it is built in memory). */
#define SEEDISO_MAX_SIZE (64 * 1024 * 1024)
/* Mode of the image file on the host: user-data may hold secrets. */
#define SEEDISO_FILE_MODE 0600
/* Mode of each file inside the image. */
#define SEEDISO_ENTRY_MODE 0644
/* Every timestamp in the image (seconds since the epoch, UTC), so that the
 * same files always give the same bytes. */
#define SEEDISO_MTIME 0
/* Longest file name and volume ID accepted. */
#define SEEDISO_NAME_MAX 64
#define SEEDISO_VOLID_MAX 16

/* One file of the image; every pointer is borrowed. */
struct seed_file {
	const char *sf_name; /* [A-Za-z0-9._-], e.g. "user-data" */
	const void *sf_data;
	size_t sf_len;
};

/*
 * Writes an ISO 9660 image to path holding the n files at its root. The
 * volume ID (1-SEEDISO_VOLID_MAX characters of [A-Za-z0-9_-], e.g.
 * "cidata") is stored exactly as given in the primary and the Joliet
 * volume descriptors, as genisoimage -volid does. Files get mode
 * SEEDISO_ENTRY_MODE, owner 0:0 and time SEEDISO_MTIME; the same input
 * always gives the same bytes. The file is replaced atomically (temporary
 * file in the same directory, fsync, rename) with mode SEEDISO_FILE_MODE.
 * Returns 0, or -1 with err naming path and the cause.
 */
int seediso_write(const char *path, const char *volume_id,
    const struct seed_file *files, size_t n, struct err *err);

#endif /* SEEDISO_H */
