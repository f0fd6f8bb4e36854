/*
 * Unit tests: store/journal.c — batches appended and replayed in order,
 * binary-safe entries, torn tails dropped silently, damage in the middle
 * skipped with every later entry kept, reset by epoch (stale entries never
 * come back), and reading the journal of 0.1.0.
 */
#include "cm_compat.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "store/journal.h"
#include "util/err.h"
#include "util/fsutil.h"

struct seen {
	char **v;
	size_t n;
};

static int
collect(void *arg, const char *key, const char *data, size_t len)
{
	struct seen *s = arg;

	if (key != NULL && strcmp(key, "k") != 0)
		return -1;
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n] = strndup(data, len);
	s->n++;
	return 0;
}

static void
seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Appends each string as one entry of one batch. */
static void
append(struct journal *j, const char *const *v, size_t n)
{
	struct journal_entry e[16];
	struct err err;

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		e[i].je_key = i % 2 == 0 ? "k" : NULL;
		e[i].je_data = v[i];
		e[i].je_len = strlen(v[i]);
		e[i].je_reserve = false;
		e[i].je_ok = false;
	}
	err_clear(&err);
	assert_int_equal(journal_append(j, e, n, &err), (long)n);
	for (size_t i = 0; i < n; i++)
		assert_true(e[i].je_ok);
}

/* Opens path afresh and replays it into s. */
static void
replay(const char *path, struct seen *s, struct journal_stats *st)
{
	struct journal *j;
	struct err err;

	err_clear(&err);
	assert_int_equal(journal_open(&j, path, &err), 0);
	assert_int_equal(journal_replay(j, collect, s, st, &err), 0);
	journal_close(j);
}

static char *
jpath(const char *dir)
{
	char p[600];

	(void)snprintf(p, sizeof(p), "%s/.journal", dir);
	return strdup(p);
}

static void
test_append_replay_reset(void **state)
{
	static const char *const a[] = { "{\"a\":1}", "x\ny\n" };
	static const char *const b[] = { "three" };
	char *dir = cm_tmpdir(), *path = jpath(dir);
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct journal_stats st;
	struct err err;

	(void)state;
	replay(path, &s, &st);
	assert_int_equal(s.n, 0);
	assert_int_equal(journal_open(&j, path, &err), 0);
	/* One batch, one flush; binary-safe: newlines inside an entry. */
	append(j, a, 2);
	append(j, b, 1);
	assert_true(journal_used(j) > 0);
	replay(path, &s, &st);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0], "{\"a\":1}");
	assert_string_equal(s.v[1], "x\ny\n");
	assert_string_equal(s.v[2], "three");
	assert_int_equal(st.js_damaged, 0);
	assert_false(st.js_torn_tail);
	seen_free(&s);
	/* Reset: nothing comes back, not even the stale bytes behind the
	 * new, shorter epoch. */
	assert_int_equal(journal_reset(j, &err), 0);
	assert_int_equal(journal_used(j), 0);
	replay(path, &s, &st);
	assert_int_equal(s.n, 0);
	append(j, b, 1);
	replay(path, &s, &st);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "three");
	seen_free(&s);
	journal_close(j);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(path);
	free(dir);
}

/* Byte offset of the k-th "IKE2 " (from 0). */
static long
entry_offset(const char *path, int k)
{
	char *text = NULL;
	size_t len;
	long off = -1;

	assert_int_equal(read_file_max(path, 1 << 24, &text, &len, NULL), 0);
	for (size_t i = 0; i + 5 < len; i++)
		if (memcmp(text + i, "IKE2 ", 5) == 0 && k-- == 0) {
			off = (long)i;
			break;
		}
	free(text);
	return off;
}

static void
poke(const char *path, long off, const char *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	(void)close(fd);
}

static void
test_torn_tail(void **state)
{
	static const char *const v[] = { "one", "two", "three" };
	char *dir = cm_tmpdir(), *path = jpath(dir);
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct journal_stats st;
	struct err err;
	long off;

	(void)state;
	assert_int_equal(journal_open(&j, path, &err), 0);
	append(j, v, 3);
	journal_close(j);
	/* A crash in the middle of the last write: its data never made it. */
	off = entry_offset(path, 2);
	assert_true(off > 0);
	poke(path, off + 22, "\0\0\0\0\0\0\0\0\0\0", 10);
	replay(path, &s, &st);
	assert_int_equal(s.n, 2);
	assert_true(st.js_torn_tail);
	assert_int_equal(st.js_damaged, 0);
	seen_free(&s);
	/* Appending after recovery overwrites the torn entry. */
	assert_int_equal(journal_open(&j, path, &err), 0);
	assert_int_equal(journal_replay(j, collect, &s, &st, &err), 0);
	seen_free(&s);
	append(j, v + 2, 1);
	journal_close(j);
	replay(path, &s, &st);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[2], "three");
	seen_free(&s);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(path);
	free(dir);
}

/* One bad entry in the middle must not drop the ones after it (0.1.0 lost
 * every later entry, silently). */
static void
test_damage_in_the_middle(void **state)
{
	static const char *const v[] = { "r1", "r2", "r3", "r4", "r5" };
	char *dir = cm_tmpdir(), *path = jpath(dir);
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct journal_stats st;
	struct err err;
	long off;

	(void)state;
	assert_int_equal(journal_open(&j, path, &err), 0);
	append(j, v, 5);
	journal_close(j);
	off = entry_offset(path, 1);
	assert_true(off > 0);
	poke(path, off + 2, "X", 1); /* "IKE2" -> "IKX2" */
	replay(path, &s, &st);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.v[0], "r1");
	assert_string_equal(s.v[1], "r3");
	assert_string_equal(s.v[3], "r5");
	assert_int_equal(st.js_damaged, 1);
	assert_int_equal(st.js_lost, 1);
	assert_false(st.js_torn_tail);
	seen_free(&s);
	/* A flipped data byte of r4 (now the third "IKE2"): the checksum
	 * catches it. */
	off = entry_offset(path, 2);
	poke(path, off + 22, "#", 1);
	replay(path, &s, &st);
	assert_int_equal(s.n, 3);
	assert_int_equal(st.js_damaged, 2);
	seen_free(&s);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(path);
	free(dir);
}

/* 0.1.0 wrote "IKJ1 <len> <crc>\n<data>\n" from byte 0. */
static void
test_reads_0_1_0(void **state)
{
	char *dir = cm_tmpdir(), *path = jpath(dir);
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct journal_stats st;
	struct err err;
	static const char old[] = "IKJ1 3 352441c2\nabc\nIKJ1 3 0000";

	(void)state;
	assert_int_equal(
	    atomic_write_file(path, old, sizeof(old) - 1, 0600, &err), 0);
	replay(path, &s, &st);
	assert_true(st.js_migrated);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "abc");
	seen_free(&s);
	/* The first append starts the new format; the old entries are
	 * gone from it. */
	assert_int_equal(journal_open(&j, path, &err), 0);
	assert_int_equal(journal_replay(j, collect, &s, &st, &err), 0);
	seen_free(&s);
	{
		static const char *const v[] = { "new" };

		append(j, v, 1);
	}
	journal_close(j);
	replay(path, &s, &st);
	assert_false(st.js_migrated);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "new");
	seen_free(&s);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(path);
	free(dir);
}

/* A torn header write falls back to the other slot: the epoch before. */
static void
test_header_slots(void **state)
{
	static const char *const v[] = { "e1" };
	char *dir = cm_tmpdir(), *path = jpath(dir);
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct journal_stats st;
	struct err err;

	(void)state;
	assert_int_equal(journal_open(&j, path, &err), 0);
	append(j, v, 1);			     /* epoch 1, slot 1 */
	assert_int_equal(journal_reset(j, &err), 0); /* epoch 2, slot 0 */
	journal_close(j);
	poke(path, 8, "9", 1); /* damage slot 0 */
	replay(path, &s, &st);
	assert_true(st.js_epoch == 1);
	assert_int_equal(s.n, 1);
	seen_free(&s);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(path);
	free(dir);
}

/* Compaction keeps what is given, in a new epoch placed so that nothing
 * of the current one is overwritten; then appends follow it. */
static void
test_compact(void **state)
{
	static const char *const v[] = { "a", "b", "c", "d", "e" };
	char *dir = cm_tmpdir(), *path = jpath(dir);
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct journal_stats st;
	struct journal_entry keep[2];
	struct err err;

	(void)state;
	assert_int_equal(journal_open(&j, path, &err), 0);
	append(j, v, 5);
	memset(keep, 0, sizeof(keep));
	keep[0].je_key = "k";
	keep[0].je_data = "c2";
	keep[0].je_len = 2;
	keep[1].je_data = "e2";
	keep[1].je_len = 2;
	err_clear(&err);
	assert_int_equal(journal_compact(j, keep, 2, &err), 0);
	assert_true(journal_used(j) > 0);
	append(j, v + 1, 1);
	replay(path, &s, &st);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0], "c2");
	assert_string_equal(s.v[1], "e2");
	assert_string_equal(s.v[2], "b");
	seen_free(&s);
	/* A second compaction fits before the first one's entries? Not
	 * here (they start at the front): it goes after them, and a third
	 * one can use the front again. */
	assert_int_equal(journal_compact(j, keep, 1, &err), 0);
	assert_int_equal(journal_compact(j, keep + 1, 1, &err), 0);
	replay(path, &s, &st);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "e2");
	assert_int_equal(st.js_damaged, 0);
	seen_free(&s);
	journal_close(j);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_replay_reset),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_damage_in_the_middle),
		cmocka_unit_test(test_reads_0_1_0),
		cmocka_unit_test(test_header_slots),
		cmocka_unit_test(test_compact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
