/*
 * Instance IDs: "i-" and 11 base32hex digits (0-9a-v) of a 55-bit value
 * (milliseconds since 1970 << 12 | sequence). Properties:
 *  - byte order is creation order, so InfraKit's scale-down (destroy the
 *    byte-wise lowest IDs first) removes the oldest VMs;
 *  - unique under parallel Provision (one mutex, strictly increasing) and
 *    across restarts, even if the clock goes back: a high-water mark is
 *    reserved ahead on disk (ID_RESERVE_MS at a time) and never reused;
 *  - [a-z0-9-] and 13 bytes: a safe file name and VM display name.
 */
#ifndef IDS_H
#define IDS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/defaults.h"

struct err;

#define ID_DIGITS 11
#define ID_LEN (sizeof(ID_PREFIX) - 1 + ID_DIGITS)
#define ID_SEQ_BITS 12 /* IDs per millisecond: 4096 */

struct idgen {
	pthread_mutex_t ig_mu;
	uint64_t ig_last;     /* last value handed out */
	uint64_t ig_reserved; /* on disk: values <= this may be used */
	char ig_path[PATH_BUF];
	int64_t (*ig_clock)(void); /* wall_ms, or a test clock */
};

/* Loads the high-water mark from path (missing: 0) and makes sure new IDs
 * sort after floor (the highest ID already in the store). */
int idgen_open(
    struct idgen *g, const char *path, uint64_t floor, struct err *err);
void idgen_close(struct idgen *g);

/* Writes a new ID into out (at least ID_LEN + 1 bytes). 0 or -1. */
int idgen_next(struct idgen *g, char *out, size_t outlen, struct err *err);

/* Encodes/decodes; id_decode returns -1 if s is not one of our IDs. */
void id_encode(uint64_t v, char *out, size_t outlen);
int id_decode(const char *s, uint64_t *v);

#endif /* IDS_H */
