/*
 * The journal: a write-ahead log of record changes. Every change the
 * service promises (a Provision, a Destroy, a Label, a state the workers
 * reached, an instance removed) is appended here and flushed before anyone
 * is told; many changes share one flush (the service batches them). The
 * records' own files (instance.json) are written later, lazily; once they
 * hold everything the journal holds, the journal is emptied.
 *
 * Layout of <vm-dir>/.journal:
 *   two 512-byte header slots, "IKJH2 <epoch> <start> <crc>\n": the valid
 *   one with the higher epoch is current, its entries begin at <start>;
 *   emptying or compacting the journal writes the other slot with epoch + 1
 *   (one sector, flushed), so it never needs ftruncate;
 *   from byte 1024 on, entries "IKE2 <epoch> <seq> <len> <crc> <key>\n
 *   <data>\n", seq counting from 1 in each epoch, key "-" for none, crc
 *   (CRC-32) covering the epoch, seq, length, key and data. Entries of an older
 * epoch beyond the end are stale.
 *
 * Recovery tells a torn tail (a last write cut by a crash: never
 * acknowledged, silently dropped) from damage in the middle (an entry that
 * does not check out, followed by entries that do): damage is skipped,
 * counted and reported, and every intact entry after it is still replayed.
 *
 * Space: the file is preallocated and always keeps JOURNAL_RESERVE bytes
 * allocated beyond its end. Ordinary entries need fresh space (they fail
 * with ENOSPC on a full disk); entries marked je_reserve may use the
 * reserve, so that a Destroy can still be recorded when the disk is full.
 *
 * Not thread-safe: one thread (the service's journal writer) uses it.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct journal;

/* Entries may carry a short key (no spaces, at most JOURNAL_KEY_MAX
 * bytes), replayed without the data being parsed. */
#define JOURNAL_KEY_MAX 64

struct journal_entry {
	const char *je_key;  /* borrowed, or NULL */
	const char *je_data; /* borrowed */
	size_t je_len;
	bool je_reserve; /* may use the reserved space */
	bool je_ok;	 /* out: durable */
};

struct journal_stats {
	long js_entries;   /* intact entries replayed */
	long js_damaged;   /* damaged regions skipped */
	long js_lost;	   /* entries missing (sequence gaps) */
	size_t js_skipped; /* bytes of damaged regions */
	bool js_torn_tail; /* the last write was cut short */
	bool js_migrated;  /* an IKJ1 journal of 0.1.0 was read */
	uint64_t js_epoch;
};

/* Opens (creating and preallocating) the journal at path. */
int journal_open(struct journal **out, const char *path, struct err *err);
void journal_close(struct journal *j);

/*
 * Calls fn for each intact entry of the current epoch, in order, with its
 * key (NULL: none) (also for
 * a journal of the previous format, 0.1.0's IKJ1: then js_migrated is set
 * and the caller must make its records durable before the next append,
 * which starts the new format). fn returns 0 to go on, -1 to stop with an
 * error. Fills st. 0 or -1.
 */
int journal_replay(struct journal *j,
    int (*fn)(void *arg, const char *key, const char *data, size_t len),
    void *arg, struct journal_stats *st, struct err *err);

/*
 * Appends the n entries and flushes once. Each entry's je_ok says whether
 * it is durable: on a full disk the ordinary ones fail and the reserve ones
 * may still go. Returns the number made durable, or -1 with err set when
 * none could be written (err is also set when some failed).
 */
long journal_append(
    struct journal *j, struct journal_entry *v, size_t n, struct err *err);

/*
 * Starts a new epoch that holds only the n entries given (what is still
 * needed of the old one): they are written and flushed first, where they
 * overwrite nothing of the current epoch, and only then does the header
 * name the new epoch and where it begins. A crash in between leaves the old
 * epoch current. 0 or -1.
 */
int journal_compact(
    struct journal *j, struct journal_entry *v, size_t n, struct err *err);

/* Empties the journal durably: journal_compact with nothing. 0 or -1. */
int journal_reset(struct journal *j, struct err *err);

/* Bytes of entries in the current epoch. */
size_t journal_used(const struct journal *j);

#endif /* JOURNAL_H */
