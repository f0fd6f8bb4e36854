/*
 * Unit tests: journal.c — group commit from many threads, replay order,
 * torn tails, truncation rules.
 */
#include "cm_compat.h"

#include <fcntl.h>
#include <pthread.h>

#include "util/err.h"
#include "util/fsutil.h"
#include "store/journal.h"

struct seen {
	char **v;
	size_t n;
};

static int
collect(void *arg, const char *data, size_t len)
{
	struct seen *s = arg;

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

static void
test_append_replay_truncate(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct err err;
	unsigned long gen;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/.journal", dir);
	assert_int_equal(journal_replay(path, collect, &s, &err), 0);
	assert_int_equal(journal_open(&j, path, &err), 0);
	assert_int_equal(journal_append(j, "{\"a\":1}", 7, &gen, &err), 0);
	assert_int_equal(gen, 0);
	/* Binary-safe: newlines inside an entry. */
	assert_int_equal(journal_append(j, "x\ny\n", 4, &gen, &err), 0);
	assert_int_equal(journal_replay(path, collect, &s, &err), 2);
	assert_string_equal(s.v[0], "{\"a\":1}");
	assert_string_equal(s.v[1], "x\ny\n");
	seen_free(&s);
	/* Truncate only when the caller wrote exactly what is durable. */
	assert_int_equal(journal_truncate(j, 1, &err), 1);
	assert_int_equal(journal_truncate(j, 3, &err), 1);
	assert_int_equal(journal_truncate(j, 2, &err), 0);
	assert_int_equal(journal_gen(j), 1);
	assert_int_equal(journal_replay(path, collect, &s, &err), 0);
	assert_int_equal(journal_append(j, "z", 1, &gen, &err), 0);
	assert_int_equal(gen, 1);
	assert_int_equal(journal_replay(path, collect, &s, &err), 1);
	seen_free(&s);
	journal_close(j);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

static void
test_torn_tail(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	struct journal *j;
	struct seen s = { NULL, 0 };
	struct err err;
	int fd;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/.journal", dir);
	assert_int_equal(journal_open(&j, path, &err), 0);
	assert_int_equal(journal_append(j, "one", 3, NULL, &err), 0);
	assert_int_equal(journal_append(j, "two", 3, NULL, &err), 0);
	journal_close(j);
	/* A crash in the middle of the third write. */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "IKJ1 100 0000", 13), 13);
	(void)close(fd);
	assert_int_equal(journal_replay(path, collect, &s, &err), 2);
	seen_free(&s);
	/* A damaged entry (bad checksum) ends the replay too. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "IKJ1 3 00000000\nabc\n", 20), 20);
	(void)close(fd);
	assert_int_equal(journal_replay(path, collect, &s, &err), 0);
	seen_free(&s);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

#define THREADS 16
#define PER 200

static struct journal *shared;

static void *
appender(void *arg)
{
	long t = (long)arg;
	struct err err;

	for (int i = 0; i < PER; i++) {
		char rec[64];
		int n = snprintf(rec, sizeof(rec), "t%ld-%d", t, i);

		if (journal_append(shared, rec, (size_t)n, NULL, &err) != 0)
			return (void *)1;
	}
	return NULL;
}

static void
test_group_commit(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	pthread_t th[THREADS];
	struct seen s = { NULL, 0 };
	struct err err;
	int found[THREADS][PER];

	(void)state;
	memset(found, 0, sizeof(found));
	(void)snprintf(path, sizeof(path), "%s/.journal", dir);
	assert_int_equal(journal_open(&shared, path, &err), 0);
	for (long i = 0; i < THREADS; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, appender, (void *)i), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;

		(void)pthread_join(th[i], &r);
		assert_null(r);
	}
	/* Every acknowledged entry is there, intact, exactly once. */
	assert_int_equal(
	    journal_replay(path, collect, &s, &err), THREADS * PER);
	for (size_t k = 0; k < s.n; k++) {
		long t;
		int i;

		assert_int_equal(sscanf(s.v[k], "t%ld-%d", &t, &i), 2);
		assert_int_equal(found[t][i], 0);
		found[t][i] = 1;
	}
	seen_free(&s);
	assert_int_equal(journal_truncate(shared, THREADS * PER, &err), 0);
	journal_close(shared);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_replay_truncate),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_group_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
