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

struct err;

enum inst_state { ST_PROVISIONING = 0, ST_RUNNING, ST_DESTROYING, ST_FAILED };

struct record {
	char r_id[ID_MAX];
	char r_backend[16];
	enum inst_state r_state;
	struct inst_spec r_spec; /* as Provision received it */
	struct tags r_tags;	 /* effective: props, spec, labels */
	char *r_template;	 /* template .vmx, absolute */
	int64_t r_created_ms;	 /* wall clock */
	int64_t r_updated_ms;
	char *r_error;	/* last error, or NULL */
	char *r_reason; /* Destroy's Context.Reason */
	char *r_ip;
	char *r_mac;
	unsigned r_attempts; /* provision attempts so far */
};

struct store {
	char st_dir[PATH_BUF]; /* --vm-dir, absolute */
	int st_lockfd;
};

/* Opens (creating) vm_dir and takes its lock: a second plugin on the same
 * directory is refused with a message naming the holder's PID. */
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

/*
 * Calls fn for every record on disk, in ID order. fn takes ownership of the
 * record (it must free it with record_free). Orphan directories (an ID-named
 * directory without a record and without quarantined records) are removed.
 * *max_id receives the highest ID value seen. Returns the number loaded.
 */
long store_load(const struct store *st, int (*fn)(void *arg, struct record *r),
    void *arg, uint64_t *max_id, struct err *err);

void record_free(struct record *r);
/* JSON text of a record; caller frees. NULL on failure. */
char *record_to_text(const struct record *r);
/* Parses a record; r must be zeroed. -1 with err naming the problem. */
int record_from_text(
    const char *text, size_t len, struct record *r, struct err *err);

const char *inst_state_name(enum inst_state s);

#endif /* STORE_H */
