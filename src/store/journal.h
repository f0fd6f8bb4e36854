/*
 * The provision journal: a write-ahead log with group commit. InfraKit's
 * group provisions many instances at once and times out slow calls, but a
 * new instance's record written the usual way (temp file, fsync, rename,
 * fsync two directories) costs three disk flushes, one after the other.
 * Provision instead appends the record to <vm-dir>/.journal and returns as
 * soon as it is durable; appends that arrive together share one
 * fdatasync. A background thread then writes each instance.json the usual
 * way and, once every journalled record is on disk, empties the journal.
 * At start-up, journalled records without an instance.json are written
 * before anything else is read.
 *
 * Entry format: "IKJ1 <length> <crc32 hex>\n<record bytes>\n". A torn or
 * damaged entry ends the replay (it was never acknowledged).
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct journal;

/* Opens (creating) the journal at path. */
int journal_open(struct journal **out, const char *path, struct err *err);
void journal_close(struct journal *j);

/*
 * Calls fn for each intact entry of the journal at path, in order; a
 * missing journal is empty. fn returns 0 to go on, -1 to stop with an
 * error. Returns the number of entries, or -1.
 */
long journal_replay(const char *path,
    int (*fn)(void *arg, const char *data, size_t len), void *arg,
    struct err *err);

/*
 * Appends one entry and returns once it is on disk (group commit). *gen
 * receives the journal's truncation generation the entry belongs to: the
 * entry is gone from the journal once journal_gen() is greater. After a
 * failed write the journal refuses appends (EIK_IO) until a truncate
 * succeeds; callers then write records the slow way.
 */
int journal_append(struct journal *j, const char *data, size_t len,
    unsigned long *gen, struct err *err);

/*
 * Empties the journal durably if exactly `expected` entries became durable
 * since the last truncate (the caller has written each of their records
 * elsewhere) and none is being written. Returns 0 when truncated, 1 when
 * skipped (try again later), -1 on error.
 */
int journal_truncate(
    struct journal *j, unsigned long expected, struct err *err);

/* mono_ms() of the last append (0: none yet). */
int64_t journal_last_append(struct journal *j);

/* The truncation generation: incremented by every successful truncate. */
unsigned long journal_gen(struct journal *j);

#endif /* JOURNAL_H */
