/*
 * The durable store: one directory per instance under --vm-dir,
 *
 *   <vm-dir>/.lock                 flock: one plugin per vm-dir
 *   <vm-dir>/.idseq                ID high-water mark (ids.c)
 *   <vm-dir>/.staging/<id>/        a bundle being assembled
 *   <vm-dir>/<id>/instance.json    the record (spec, tags, state, ...)
 *   <vm-dir>/<id>/<id>.vmwarevm/   the VM bundle, renamed in when complete
 *
 * Records are written atomically (temp, fsync, rename, fsync dir). Loading
 * quarantines a record it cannot read (renamed to instance.json.corrupt-<ms>,
 * logged, never silently reset) and removes what a crash left half-made.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>

#include "util/defaults.h"
#include "model/model.h"
#include "store/record.h"

struct err;

struct store {
	char st_dir[PATH_BUF]; /* --vm-dir, absolute */
	int st_lockfd;
};

/* The longest --vm-dir: what is below it (ID directories, bundles, disks,
 * QMP sockets) must fit PATH_BUF and the unix socket limit. */
#define STORE_DIR_MAX 2048

/* Opens (creating) vm_dir and takes its lock: a second plugin on the same
 * directory is refused with a message naming the holder's PID. Names of
 * ours in vm-dir (.lock, .staging) that are symbolic links or of the wrong
 * type are refused with a message saying what to remove. */
int store_open(struct store *st, const char *vm_dir, struct err *err);
void store_close(struct store *st);

/* Paths of an instance's pieces. 0, or -1 when too long. */
int store_inst_dir(
    const struct store *st, const char *id, char *out, size_t len);
int store_bundle_dir(
    const struct store *st, const char *id, char *out, size_t len);
int store_vmx_path(
    const struct store *st, const char *id, char *out, size_t len);
int store_staging_dir(
    const struct store *st, const char *id, char *out, size_t len);

/* Writes r durably, creating its directory when new. */
int store_write(
    const struct store *st, const struct record *r, struct err *err);
/* The same with the record already encoded (record_to_text). With
 * flags ATOMIC_NOSYNC nothing is flushed: the caller syncs the file system
 * before relying on it. */
int store_write_text(const struct store *st, const char *id, const char *text,
    unsigned flags, struct err *err);

/* Removes an instance: its record first (durably), then the rest. */
int store_remove(const struct store *st, const char *id, struct err *err);

/* Empties .staging (what a crash left). */
int store_clean_staging(const struct store *st, struct err *err);

/* What store_load reports. */
struct store_scan {
	/* A readable record; takes ownership of r (record_free + free).
	 * 0, or -1 to stop. */
	int (*ss_record)(void *arg, struct record *r);
	/* An ID directory without a record (and without a quarantined one):
	 * return 1 to have it removed, 0 to leave it. */
	int (*ss_orphan)(void *arg, const char *id);
	void *ss_arg;
};

/*
 * Scans vm-dir in ID order: every readable record goes to ss_record
 * (records written by other releases load leniently, with a warning naming
 * what was overlooked); an unreadable one is quarantined (renamed
 * instance.json.corrupt-<ms>, logged, never deleted); ID directories that
 * are symbolic links are left alone and logged; orphans go to ss_orphan.
 * *max_id receives the highest ID value seen. Returns the number loaded.
 */
long store_load(const struct store *st, const struct store_scan *sc,
    uint64_t *max_id, struct err *err);

#endif /* STORE_H */
