/*
 * The journal. See journal.h.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "store/journal.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/metrics.h"

#define HDR_MAGIC "IKJH2"
#define ENT_MAGIC "IKE2"
#define OLD_MAGIC "IKJ1" /* 0.1.0: "IKJ1 <len> <crc>\n<data>\n" */
#define SLOT_SIZE 512
#define DATA_OFF (2 * SLOT_SIZE)
#define ENT_HEAD_MAX (96 + JOURNAL_KEY_MAX)

struct journal {
	int j_fd;
	char j_path[PATH_BUF];
	uint64_t j_epoch;
	unsigned j_slot;   /* header slot holding j_epoch */
	uint64_t j_seq;	   /* last sequence number written */
	off_t j_start;	   /* where the current epoch's entries begin */
	off_t j_end;	   /* and end */
	off_t j_alloc;	   /* bytes allocated */
	bool j_old_format; /* holds 0.1.0 entries until the first reset */
};

/* ---- metrics: updated by the one thread that writes ------------------ */

static const char *const flush_kinds[] = { "append", "compact" };
enum { FLUSH_APPEND = 0, FLUSH_COMPACT = 1 };
static _Atomic uint64_t flush_cells[2 * METRICS_N_OUTCOMES];
static struct mfamily flush_family = {
	.mf_name = "ikvf_journal_flushes_total",
	.mf_help = "Journal writes, each flushed once: appends of a batch of "
		   "changes and compactions, by outcome.",
	.mf_type = MT_COUNTER,
	.mf_label = { "kind", "outcome" },
	.mf_values = { flush_kinds, metrics_outcome_names },
	.mf_nvalues = { 2, METRICS_N_OUTCOMES },
	.mf_cells = flush_cells,
	.mf_ncells = 2 * METRICS_N_OUTCOMES,
};
static _Atomic uint64_t bytes_cells[1];
static struct mfamily bytes_family = {
	.mf_name = "ikvf_journal_written_bytes_total",
	.mf_help = "Bytes of journal entries written and flushed.",
	.mf_type = MT_COUNTER,
	.mf_cells = bytes_cells,
	.mf_ncells = 1,
};
static const uint64_t fsync_bounds[] = { 50000, 100000, 250000, 500000, 1000000,
	2500000, 5000000, 10000000, 25000000, 50000000, 100000000, 250000000,
	500000000, 1000000000, 2500000000, 10000000000 };
#define N_FSYNC_BOUNDS (sizeof(fsync_bounds) / sizeof(fsync_bounds[0]))
static _Atomic uint64_t fsync_cells[N_FSYNC_BOUNDS + 1];
static _Atomic uint64_t fsync_sums[1];
static struct mfamily fsync_family = {
	.mf_name = "ikvf_journal_fsync_duration_seconds",
	.mf_help = "Time one flush of the journal (fdatasync; F_FULLFSYNC on "
		   "macOS) took.",
	.mf_type = MT_HISTOGRAM,
	.mf_bounds_ns = fsync_bounds,
	.mf_nbounds = N_FSYNC_BOUNDS,
	.mf_cells = fsync_cells,
	.mf_sums = fsync_sums,
	.mf_ncells = N_FSYNC_BOUNDS + 1,
};

static void
count_flush(int kind, int rc, const struct err *err)
{
	metrics_inc(&flush_family, (size_t)kind,
	    rc == 0
		? 0
		: metrics_outcome(
		      err != NULL && err->code != EIK_OK ? err->code : EIK_IO));
}

static int
data_sync(int fd)
{
	int64_t t0 = mono_ns();
	int rc = 0;

#if defined(__APPLE__)
	rc = fsync_full(fd);
#else
	while (fdatasync(fd) == -1) {
		if (errno != EINTR) {
			rc = -1;
			break;
		}
	}
#endif
	metrics_observe(&fsync_family, 0, 0, mono_ns() - t0);
	return rc;
}

static uint32_t
crc_fields(
    uint64_t epoch, uint64_t seq, size_t len, const char *key, const char *data)
{
	char f[64 + JOURNAL_KEY_MAX];
	int n = snprintf(f, sizeof(f), "%" PRIu64 " %" PRIu64 " %zu %s", epoch,
	    seq, len, key);
	uLong c = crc32(0L, (const Bytef *)f, (uInt)n);

	return (uint32_t)crc32(c, (const Bytef *)data, (uInt)len);
}

/* ---- header slots ------------------------------------------------------ */

/* "IKJH2 <epoch> <start> <crc of "<epoch> <start>">\n" */
static int
slot_read(const char *p, uint64_t *epoch, off_t *start)
{
	char magic[8];
	uint64_t e, st;
	unsigned long crc;
	int used = 0;
	char f[64];
	int n;

	if (memchr(p, '\n', SLOT_SIZE) == NULL ||
	    sscanf(p, "%7s %" SCNu64 " %" SCNu64 " %lx%n", magic, &e, &st, &crc,
		&used) != 4 ||
	    strcmp(magic, HDR_MAGIC) != 0 || p[used] != '\n' || st < DATA_OFF)
		return -1;
	n = snprintf(f, sizeof(f), "%" PRIu64 " %" PRIu64, e, st);
	if (crc32(0L, (const Bytef *)f, (uInt)n) != crc)
		return -1;
	*epoch = e;
	*start = (off_t)st;
	return 0;
}

static int
slot_write(struct journal *j, uint64_t epoch, off_t start, struct err *err)
{
	char slot[SLOT_SIZE], f[64];
	unsigned which = (unsigned)(epoch % 2);
	int n;

	memset(slot, 0, sizeof(slot));
	n = snprintf(
	    f, sizeof(f), "%" PRIu64 " %" PRIu64, epoch, (uint64_t)start);
	(void)snprintf(slot, sizeof(slot), HDR_MAGIC " %s %08lx\n", f,
	    crc32(0L, (const Bytef *)f, (uInt)n));
	if (pwrite(j->j_fd, slot, sizeof(slot), (off_t)which * SLOT_SIZE) !=
		(ssize_t)sizeof(slot) ||
	    data_sync(j->j_fd) == -1) {
		err_set(err, err_from_errno(errno), "write %s: %s", j->j_path,
		    strerror(errno));
		return -1;
	}
	j->j_epoch = epoch;
	j->j_slot = which;
	j->j_start = start;
	return 0;
}

/* ---- open -------------------------------------------------------------- */

static int
ensure_alloc(struct journal *j, off_t want, struct err *err)
{
	off_t len;

	if (want <= j->j_alloc)
		return 0;
	len = want + JOURNAL_CHUNK - (want % JOURNAL_CHUNK);
	if (fd_preallocate(j->j_fd, len, err) == -1) {
		err_prefix(err, "%s", j->j_path);
		return -1;
	}
	j->j_alloc = len;
	return 0;
}

static int
open_file(struct journal *j, const char *path, struct err *err)
{
	struct stat st;

	j->j_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->j_fd == -1) {
		if (errno == ELOOP)
			err_set(err, EIK_IO,
			    "%s is a symbolic link; the journal must be a "
			    "plain file of the plugin's: remove the link",
			    path);
		else
			err_set(err, err_from_errno(errno), "open %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (fstat(j->j_fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, EIK_IO,
		    "%s is not a regular file; move it away and restart", path);
		return -1;
	}
	j->j_alloc = st.st_size;
	return 0;
}

/* Reads the header slots; a new (or 0.1.0) journal gets epoch 1 later. */
static void
read_header(struct journal *j, const char *head, size_t len)
{
	uint64_t e0 = 0, e1 = 0;
	off_t s0 = DATA_OFF, s1 = DATA_OFF;
	int ok0, ok1;

	ok0 = len >= SLOT_SIZE && slot_read(head, &e0, &s0) == 0;
	ok1 = len >= DATA_OFF && slot_read(head + SLOT_SIZE, &e1, &s1) == 0;
	j->j_start = DATA_OFF;
	if (ok0 && (!ok1 || e0 >= e1)) {
		j->j_epoch = e0;
		j->j_slot = 0;
		j->j_start = s0;
	} else if (ok1) {
		j->j_epoch = e1;
		j->j_slot = 1;
		j->j_start = s1;
	}
	j->j_old_format = j->j_epoch == 0 && len >= strlen(OLD_MAGIC) &&
	    memcmp(head, OLD_MAGIC, strlen(OLD_MAGIC)) == 0;
}

int
journal_open(struct journal **out, const char *path, struct err *err)
{
	struct journal *j;
	char head[DATA_OFF];
	ssize_t r;

	*out = NULL;
	(void)metrics_register(&flush_family);
	(void)metrics_register(&bytes_family);
	(void)metrics_register(&fsync_family);
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	j->j_fd = -1;
	if (strlcpy(j->j_path, path, sizeof(j->j_path)) >= sizeof(j->j_path)) {
		err_set(err, EIK_INVAL, "journal path too long");
		goto fail;
	}
	if (open_file(j, path, err) == -1)
		goto fail;
	memset(head, 0, sizeof(head));
	r = pread(j->j_fd, head, sizeof(head), 0);
	read_header(j, head, r > 0 ? (size_t)r : 0);
	j->j_end = j->j_start;
	*out = j;
	return 0;
fail:
	journal_close(j);
	return -1;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->j_fd != -1)
		(void)close(j->j_fd);
	free(j);
}

/* ---- replay ------------------------------------------------------------ */

struct ent {
	uint64_t e_epoch, e_seq;
	char e_key[JOURNAL_KEY_MAX + 1];
	const char *e_data;
	size_t e_len;
	size_t e_total; /* bytes from the magic to after the data's '\n' */
};

/* Parses the entry at p (len bytes available). 0 when intact. */
static int
ent_parse(const char *p, size_t len, struct ent *e)
{
	char magic[8];
	unsigned long crc;
	int used = 0;
	const char *nl;

	nl = memchr(p, '\n', len < ENT_HEAD_MAX ? len : ENT_HEAD_MAX);
	if (nl == NULL ||
	    sscanf(p, "%7s %" SCNu64 " %" SCNu64 " %zu %lx %64s%n", magic,
		&e->e_epoch, &e->e_seq, &e->e_len, &crc, e->e_key,
		&used) != 6 ||
	    strcmp(magic, ENT_MAGIC) != 0 || p + used != nl ||
	    e->e_len > JOURNAL_MAX_ENTRY ||
	    (size_t)(nl + 1 - p) + e->e_len + 1 > len ||
	    nl[1 + e->e_len] != '\n')
		return -1;
	e->e_data = nl + 1;
	e->e_total = (size_t)(nl + 1 - p) + e->e_len + 1;
	return crc_fields(
		   e->e_epoch, e->e_seq, e->e_len, e->e_key, e->e_data) == crc
	    ? 0
	    : -1;
}

/* The next intact entry of epoch after off, or -1. */
static long
resync(const char *text, size_t len, size_t off, uint64_t epoch)
{
	for (size_t i = off + 1; i + strlen(ENT_MAGIC) < len; i++) {
		struct ent e;

		if (text[i] != 'I' || text[i - 1] != '\n' ||
		    memcmp(text + i, ENT_MAGIC " ", strlen(ENT_MAGIC) + 1) != 0)
			continue;
		if (ent_parse(text + i, len - i, &e) == 0 && e.e_epoch == epoch)
			return (long)i;
	}
	return -1;
}

static int
replay_current(struct journal *j, const char *text, size_t len,
    int (*fn)(void *, const char *, const char *, size_t), void *arg,
    struct journal_stats *st, struct err *err)
{
	size_t off = (size_t)j->j_start, end = (size_t)j->j_start;
	uint64_t expect = 1;

	while (off < len) {
		struct ent e;
		long next;

		if (ent_parse(text + off, len - off, &e) == 0 &&
		    e.e_epoch == j->j_epoch) {
			if (e.e_seq != expect) {
				st->js_lost += e.e_seq > expect
				    ? (long)(e.e_seq - expect)
				    : 1;
			}
			if (fn(arg, strcmp(e.e_key, "-") == 0 ? NULL : e.e_key,
				e.e_data, e.e_len) == -1)
				return -1;
			st->js_entries++;
			expect = e.e_seq + 1;
			j->j_seq = e.e_seq;
			off += e.e_total;
			end = off;
			continue;
		}
		next = resync(text, len, off, j->j_epoch);
		if (next < 0) {
			/* Nothing intact follows: a torn last write (or the
			 * stale end of an older epoch). */
			st->js_torn_tail = text[off] != '\0' &&
			    memcmp(text + off, ENT_MAGIC " ",
				strlen(ENT_MAGIC) + 1) == 0;
			break;
		}
		log_error("journal %s: damaged data at offset %zu (%zu bytes "
			  "skipped); the entries after it are recovered",
		    j->j_path, off, (size_t)next - off);
		st->js_damaged++;
		st->js_skipped += (size_t)next - off;
		off = (size_t)next;
	}
	(void)err;
	j->j_end = (off_t)end;
	return 0;
}

/* 0.1.0's format: entries from byte 0; a bad one ends the replay. */
static int
replay_old(const char *text, size_t len,
    int (*fn)(void *, const char *, const char *, size_t), void *arg,
    struct journal_stats *st)
{
	size_t off = 0;

	while (off < len && text[off] != '\0') {
		const char *p = text + off, *nl;
		char magic[8];
		size_t elen;
		unsigned long crc;
		int used = 0;

		nl = memchr(p, '\n', len - off);
		if (nl == NULL ||
		    sscanf(p, "%7s %zu %lx%n", magic, &elen, &crc, &used) !=
			3 ||
		    strcmp(magic, OLD_MAGIC) != 0 || p + used != nl ||
		    elen > JOURNAL_MAX_ENTRY ||
		    (size_t)(nl + 1 - text) + elen + 1 > len ||
		    nl[1 + elen] != '\n' ||
		    crc32(0L, (const Bytef *)nl + 1, (uInt)elen) != crc) {
			st->js_torn_tail = true;
			break;
		}
		if (fn(arg, NULL, nl + 1, elen) == -1)
			return -1;
		st->js_entries++;
		off = (size_t)(nl + 1 - text) + elen + 1;
	}
	return 0;
}

int
journal_replay(struct journal *j,
    int (*fn)(void *, const char *, const char *, size_t), void *arg,
    struct journal_stats *st, struct err *err)
{
	char *text = NULL;
	size_t len;
	int rc;

	memset(st, 0, sizeof(*st));
	if (read_file_max(j->j_path, JOURNAL_MAX_SIZE, &text, &len, err) ==
	    -1) {
		err_prefix(err, "journal");
		return -1;
	}
	st->js_epoch = j->j_epoch;
	if (j->j_old_format) {
		st->js_migrated = true;
		rc = replay_old(text, len, fn, arg, st);
	} else if (j->j_epoch == 0)
		rc = 0; /* new */
	else
		rc = replay_current(j, text, len, fn, arg, st, err);
	free(text);
	return rc;
}

/* ---- append / reset ---------------------------------------------------- */

/* The first append of a new (or migrated) journal starts epoch 1. */
static int
ensure_started(struct journal *j, struct err *err)
{
	if (j->j_epoch != 0 && !j->j_old_format)
		return 0;
	if (ensure_alloc(j, DATA_OFF + JOURNAL_RESERVE, err) == -1)
		return -1;
	if (slot_write(j, j->j_epoch + 1, DATA_OFF, err) == -1)
		return -1;
	j->j_old_format = false;
	j->j_end = DATA_OFF;
	j->j_seq = 0;
	return 0;
}

/* Whether the file system has room for ordinary work (what a Provision
 * or a Label promises needs disk space of its own, beyond the journal). */
static int
room_for(struct journal *j, size_t bytes, struct err *err)
{
	struct statvfs sf;

	if (fstatvfs(j->j_fd, &sf) == -1)
		return 0; /* cannot tell: let the writes decide */
	if ((uint64_t)sf.f_bavail * sf.f_frsize >= bytes + JOURNAL_CHUNK)
		return 0;
	err_set(err, EIK_NOSPACE,
	    "%s: No space left on device (%llu bytes free): free some space",
	    j->j_path, (unsigned long long)sf.f_bavail * sf.f_frsize);
	return -1;
}

/* Which entries fit: ordinary ones need fresh space beyond the reserve. */
static void
choose(struct journal *j, struct journal_entry *v, size_t n, struct err *err)
{
	size_t normal = 0, all = 0;

	for (size_t i = 0; i < n; i++) {
		size_t sz = v[i].je_len + ENT_HEAD_MAX;

		all += sz;
		if (!v[i].je_reserve)
			normal += sz;
		v[i].je_ok = true;
	}
	if ((normal == 0 || room_for(j, normal, err) == 0) &&
	    ensure_alloc(j, j->j_end + (off_t)all + JOURNAL_RESERVE, err) == 0)
		return;
	/* No fresh space: only what may use the reserve, if it fits. */
	for (size_t i = 0; i < n; i++)
		if (!v[i].je_reserve)
			v[i].je_ok = false;
	if (j->j_end + (off_t)(all - normal) > j->j_alloc)
		for (size_t i = 0; i < n; i++)
			v[i].je_ok = false;
}

/* A key is 1..JOURNAL_KEY_MAX printable bytes without spaces. */
static bool
key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > JOURNAL_KEY_MAX)
		return false;
	for (; *k != '\0'; k++)
		if (*k <= ' ' || *k > '~')
			return false;
	return true;
}

/* Encodes the entries marked je_ok into b for epoch, sequence numbers
 * from *seq + 1; the count encoded (entries that cannot be are unmarked). */
static long
encode(struct journal_entry *v, size_t n, uint64_t epoch, uint64_t *seq,
    struct buf *b, struct err *err)
{
	long ok = 0;

	for (size_t i = 0; i < n; i++) {
		const char *key = v[i].je_key != NULL ? v[i].je_key : "-";

		if (!v[i].je_ok)
			continue;
		if (v[i].je_len > JOURNAL_MAX_ENTRY || !key_ok(key) ||
		    buf_printf(b,
			ENT_MAGIC " %" PRIu64 " %" PRIu64 " %zu %08lx %s\n",
			epoch, *seq + 1, v[i].je_len,
			(unsigned long)crc_fields(
			    epoch, *seq + 1, v[i].je_len, key, v[i].je_data),
			key) == -1 ||
		    buf_add(b, v[i].je_data, v[i].je_len) == -1 ||
		    buf_addc(b, '\n') == -1) {
			v[i].je_ok = false;
			err_set(err, EIK_BUSY, "journal batch too large");
			continue;
		}
		(*seq)++;
		ok++;
	}
	return ok;
}

static int
write_flush(struct journal *j, const struct buf *b, off_t off, struct err *err)
{
	if (fd_pwrite_all(j->j_fd, b->b_data, b->b_len, (int64_t)off) == -1 ||
	    data_sync(j->j_fd) == -1) {
		err_set(err, err_from_errno(errno), "write %s: %s", j->j_path,
		    strerror(errno));
		return -1;
	}
	metrics_add(&bytes_family, 0, 0, b->b_len);
	return 0;
}

long
journal_append(
    struct journal *j, struct journal_entry *v, size_t n, struct err *err)
{
	struct buf b;
	uint64_t seq = j->j_seq;
	long ok;

	if (ensure_started(j, err) == -1) {
		for (size_t i = 0; i < n; i++)
			v[i].je_ok = false;
		return -1;
	}
	choose(j, v, n, err);
	buf_init(&b, JOURNAL_MAX_SIZE);
	ok = encode(v, n, j->j_epoch, &seq, &b, err);
	if (ok > 0 && write_flush(j, &b, j->j_end, err) == -1) {
		for (size_t i = 0; i < n; i++)
			v[i].je_ok = false;
		ok = 0;
	} else if (ok > 0) {
		j->j_end += (off_t)b.b_len;
		j->j_seq = seq;
	}
	buf_free(&b);
	if (ok == 0 && n > 0 && err != NULL && err->code == EIK_OK)
		err_set(
		    err, EIK_NOSPACE, "%s: No space left on device", j->j_path);
	if (n > 0)
		count_flush(FLUSH_APPEND, ok == 0 ? -1 : 0, err);
	return ok == 0 && n > 0 ? -1 : ok;
}

int
journal_compact(
    struct journal *j, struct journal_entry *v, size_t n, struct err *err)
{
	struct buf b;
	uint64_t seq = 0;
	off_t off;
	int rc = -1;

	if (ensure_started(j, err) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		v[i].je_ok = true;
	buf_init(&b, JOURNAL_MAX_SIZE);
	if (encode(v, n, j->j_epoch + 1, &seq, &b, err) != (long)n)
		goto out;
	/* Never over the current epoch's entries: before them when they fit
	 * there, else after them. */
	off = DATA_OFF + (off_t)b.b_len <= j->j_start ? DATA_OFF : j->j_end;
	if (ensure_alloc(j, off + (off_t)b.b_len + JOURNAL_RESERVE, err) ==
		-1 ||
	    (b.b_len > 0 && write_flush(j, &b, off, err) == -1) ||
	    slot_write(j, j->j_epoch + 1, off, err) == -1)
		goto out;
	j->j_end = off + (off_t)b.b_len;
	j->j_seq = seq;
	j->j_old_format = false;
	rc = 0;
out:
	count_flush(FLUSH_COMPACT, rc, err);
	buf_free(&b);
	return rc;
}

int
journal_reset(struct journal *j, struct err *err)
{
	return journal_compact(j, NULL, 0, err);
}

size_t
journal_used(const struct journal *j)
{
	return (size_t)(j->j_end - j->j_start);
}
