/*
 * The group controller's durable state: one file per group,
 *
 *   <vm-dir>/groups/<name>.json
 *
 * written atomically (temp, fsync, rename, fsync dir; util/fsutil.h), one
 * line of JSON:
 *
 *   {"Version":1,"ID":"web","State":"managing","Compat":false,
 *    "Rolling":true,"Failures":0,"FailedAt":0,"Error":"",
 *    "Spec":{"ID":"web","Properties":{...}}}
 *
 * Spec is the canonical spec (gspecjson_dump), spliced in as text so its
 * opaque Properties keep their bytes (and so the config hash) exactly; it
 * is read back with gspec_parse in the mode it was committed in (Compat).
 *
 * <name> is the group ID made safe as a file name on every file system the
 * plugin runs on (case-insensitive APFS included): bytes [a-z0-9_-] stay,
 * every other byte is %XX (lower-case hex), so "Web" and "web" differ and
 * no name starts with a dot. An escaped ID longer than GSTORE_NAME_KEEP
 * bytes is cut there and followed by "~" and the SHA-1 of the ID in hex.
 * The file's content names the group; the name only has to be unique.
 */
#ifndef GSTORE_H
#define GSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "group/gspec.h"
#include "group/gspecjson.h"
#include "util/err.h"

#define GSTORE_DIR "groups"
#define GSTORE_SUFFIX ".json"
#define GSTORE_VERSION 1
#define GSTORE_NAME_KEEP 160 /* escaped bytes kept before the digest */
#define GSTORE_NAME_MAX                                                        \
	(GSTORE_NAME_KEEP + 1 + 2 * SHA1_DIGEST_LEN + sizeof(GSTORE_SUFFIX))
#define GSTORE_FILE_MAX (GSPECJSON_MAX + 2 * ERR_MSG_MAX + 4096)
#define GSTORE_DIR_MODE 0700
#define GSTORE_FILE_MODE 0600

enum gstore_state {
	GSTORE_MANAGING = 0, /* kept at its spec */
	GSTORE_DESTROYING    /* every member is being destroyed */
};

/* What survives a restart of one group. */
struct gstore_rec {
	struct group_spec gr_spec; /* parsed */
	char *gr_spec_json;	   /* canonical (gspecjson_dump) */
	unsigned gr_flags;	   /* how it was committed: GSPEC_COMPAT */
	enum gstore_state gr_state;
	bool gr_rolling;	    /* a rolling update is under way */
	unsigned gr_failures;	    /* provisions failed in a row */
	int64_t gr_failed_at;	    /* wall ms of the last one; 0: none */
	char gr_error[ERR_MSG_MAX]; /* its message */
};

/* The file name of a group ID (with GSTORE_SUFFIX) into out, which has
 * at least GSTORE_NAME_MAX bytes. 0, or -1 when out is too small. */
int gstore_name(const char *id, char *out, size_t len);

const char *gstore_state_name(enum gstore_state s);

/* The file's text (a new string, caller frees), or NULL with err set. */
char *gstore_encode(const struct gstore_rec *r, struct err *err);
/* Reads a file's text into r (zeroed; free it with gstore_rec_free, also
 * after a failure). Errors say what is wrong with the file. */
int gstore_decode(
    const char *text, size_t len, struct gstore_rec *r, struct err *err);
void gstore_rec_free(struct gstore_rec *r);

/* <vm_dir>/groups into dir; refused when it is there and not a real
 * directory. gstore_save makes it (GSTORE_DIR_MODE) when missing. */
int gstore_open(const char *vm_dir, char *dir, size_t len, struct err *err);
/* Writes r's file durably (atomically replacing the old one). */
int gstore_save(const char *dir, const struct gstore_rec *r, struct err *err);
/* Removes the file of group id durably; a missing file is success. */
int gstore_remove(const char *dir, const char *id, struct err *err);

/*
 * Reads every group file in dir, in name order, handing each record to
 * take (a calloc'd struct it owns from then on: gstore_rec_free, then
 * free; take returns 0, or -1 to stop). A file that
 * cannot be read is quarantined (renamed NAME.corrupt-<ms>), logged and
 * skipped, never deleted. Returns the number of groups loaded, or -1.
 */
long gstore_load(const char *dir, int (*take)(void *arg, struct gstore_rec *r),
    void *arg, struct err *err);

#endif /* GSTORE_H */
