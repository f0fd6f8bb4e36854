/*
 * Persistent disks of pets on disk (model/attach.h for what they are):
 *
 *   <vm-dir>/attachments/<name>/                  one disk per directory
 *   <vm-dir>/attachments/<name>/attachment.json   what made it, and when
 *   <vm-dir>/attachments/<name>/<name>.<format>   the disk (+ extents)
 *   <vm-dir>/.staging/disk.<name>/                a disk being made
 *   <vm-dir>/.staging/rm.<name>.<ms>/             a disk being deleted
 *
 * A disk is made in .staging (which every start empties) and renamed into
 * attachments/ complete: a crash never leaves half a disk under its name.
 * Deleting renames it back into .staging first, so it is gone from its
 * name at once and for good, and the slow part is done where a crash
 * leaves nothing visible. Instances are not recorded here: which one holds
 * a disk comes from their records (service/attach.c).
 */
#ifndef STORE_ATTACH_H
#define STORE_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "store/store.h"

struct err;

#define ATT_DIR_NAME "attachments"
#define ATT_META_NAME "attachment.json"

/* What attachment.json holds. */
struct att_meta {
	char am_id[ATTACH_ID_MAX + 1]; /* as first given */
	char am_type[8];
	char am_format[16];
	char am_backend[16];
	unsigned am_size_gb;
	int64_t am_created_ms;
	char am_made_for[ID_MAX];
};

/* <vm-dir>/attachments/<name> and the scratch directory a new disk of that
 * name is made in. 0, or -1 when too long. */
int store_att_dir(
    const struct store *st, const char *name, char *out, size_t len);
int store_att_scratch(
    const struct store *st, const char *name, char *out, size_t len);

/* Writes m as dir/attachment.json (atomically), or reads it back (-1 with
 * err when missing or unreadable). */
int store_att_meta_write(
    const char *dir, const struct att_meta *m, struct err *err);
int store_att_meta_read(const char *dir, struct att_meta *m, struct err *err);

/* Renames the complete scratch directory to the disk's own (making
 * attachments/ when it is missing). -1 with err, EEXIST's when the disk
 * exists already. */
int store_att_commit(const struct store *st, const char *scratch,
    const char *name, struct err *err);

/*
 * Every disk under attachments/ into out (att_list_get by name: entries
 * already there are completed): its attachment.json, or what its files say
 * when that is unreadable (logged). Entries that are not directories with
 * a disk's name are skipped and logged. 0, or -1 with err.
 */
int store_att_list(
    const struct store *st, struct att_list *out, struct err *err);

/* Deletes a disk: its directory renamed into .staging (gone from its name
 * at once), then removed. EIK_NOTFOUND when there is none. */
int store_att_remove(const struct store *st, const char *name, struct err *err);

/* Refuses an attachments/ that is not a plain directory (a symbolic link
 * would put every disk elsewhere); a missing one is fine. */
int store_att_check(const struct store *st, struct err *err);

#endif /* STORE_ATTACH_H */
