/*
 * Instance IDs: "i-" and 11 base32hex digits (0-9a-v) of a 55-bit value
 * (milliseconds since 1970 << 12 | sequence). Properties:
 *  - byte order is creation order, so InfraKit's scale-down (destroy the
 *    byte-wise lowest IDs first) removes the oldest VMs;
 *  - unique (strictly increasing; one owner, the service thread, calls
 *    idgen_next) and across restarts, even if the clock goes back: new IDs
 *    sort after every ID on disk or in the journal and after the saved
 *    high-water mark (<vm-dir>/.idseq), which the service saves before it
 *    empties the journal, so even destroyed instances' IDs never return;
 *  - no drift: the next ID after a restart is the clock's, not a value
 *    reserved ahead;
 *  - [a-z0-9-] and 13 bytes: a safe file name and VM display name.
 */
#ifndef IDS_H
#define IDS_H

#include <stddef.h>
#include <stdint.h>

#include "util/defaults.h"

struct err;

#define ID_DIGITS 11
#define ID_LEN (sizeof(ID_PREFIX) - 1 + ID_DIGITS)
#define ID_SEQ_BITS 12 /* IDs per millisecond: 4096 */

struct idgen {
	uint64_t ig_last;  /* last value handed out (or seen) */
	uint64_t ig_saved; /* the high-water mark on disk */
	int ig_fd;	   /* .idseq, written in place */
	char ig_path[PATH_BUF];
	int64_t (*ig_clock)(void); /* wall_ms, or a test clock */
};

/* Loads the high-water mark from path (missing: 0) and makes sure new IDs
 * sort after floor (the highest ID already in the store). */
int idgen_open(
    struct idgen *g, const char *path, uint64_t floor, struct err *err);
/* Saves the mark (best effort) and closes. */
void idgen_close(struct idgen *g);

/* New IDs sort after v too (an ID seen in the journal). */
void idgen_raise(struct idgen *g, uint64_t v);

/* Writes a new ID into out (at least ID_LEN + 1 bytes); nothing is written
 * to disk. 0 or -1. Not thread-safe: one owner. */
int idgen_next(struct idgen *g, char *out, size_t outlen, struct err *err);

/* Makes the last ID handed out the durable high-water mark: the file is
 * rewritten in place (no new disk space after the first save) and
 * flushed. 0 or -1. */
int idgen_save(struct idgen *g, struct err *err);
/* Writes v as the mark without touching g's fields: the service's journal
 * writer calls it for the owner, who then sets ig_saved. */
int idgen_write_mark(const struct idgen *g, uint64_t v, struct err *err);

/* Encodes/decodes; id_decode returns -1 if s is not one of our IDs. */
void id_encode(uint64_t v, char *out, size_t outlen);
int id_decode(const char *s, uint64_t *v);

#endif /* IDS_H */
