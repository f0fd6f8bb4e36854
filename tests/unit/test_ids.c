/* Unit tests: ids.c — order, uniqueness, restarts, clock jumps. */
#include "cm_compat.h"

#include <pthread.h>

#include "util/err.h"
#include "util/fsutil.h"
#include "store/ids.h"

static int64_t fake_now;

static int64_t
fake_clock(void)
{
	return fake_now;
}

static void
test_encode_decode(void **state)
{
	char a[ID_LEN + 1], b[ID_LEN + 1];
	uint64_t v;

	(void)state;
	id_encode(0, a, sizeof(a));
	assert_string_equal(a, "i-00000000000");
	id_encode(((uint64_t)1 << 55) - 1, a, sizeof(a));
	assert_string_equal(a, "i-vvvvvvvvvvv");
	assert_int_equal(id_decode(a, &v), 0);
	assert_true(v == ((uint64_t)1 << 55) - 1);
	/* Byte order follows numeric order. */
	for (uint64_t x = 1; x < ((uint64_t)1 << 54); x = x * 3 + 7) {
		id_encode(x, a, sizeof(a));
		id_encode(x + 1, b, sizeof(b));
		assert_true(strcmp(a, b) < 0);
		assert_int_equal(id_decode(a, &v), 0);
		assert_true(v == x);
	}
	/* Not ours. */
	assert_int_equal(id_decode("instance-123", &v), -1);
	assert_int_equal(id_decode("i-0000000000", &v), -1);
	assert_int_equal(id_decode("i-0000000000w", &v), -1);
	assert_int_equal(id_decode("i-000000000000", &v), -1);
	assert_int_equal(id_decode("../etc", &v), -1);
	assert_int_equal(id_decode("i-ABCDEFGHIJK", &v), -1);
}

static void
test_charset(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	struct idgen g;
	struct err err;
	char id[ID_LEN + 1];

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(idgen_open(&g, path, 0, &err), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(idgen_next(&g, id, sizeof(id), &err), 0);
		assert_int_equal(strlen(id), ID_LEN);
		for (const char *p = id; *p != '\0'; p++)
			assert_true((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-');
	}
	idgen_close(&g);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

/* A clock that goes back across a restart must not reuse IDs. */
static void
test_restart_clock_back(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	char last[ID_LEN + 1], id[ID_LEN + 1];
	struct idgen g;
	struct err err;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(idgen_open(&g, path, 0, &err), 0);
	g.ig_clock = fake_clock;
	fake_now = 1800000000000LL;
	for (int i = 0; i < 5000; i++)
		assert_int_equal(idgen_next(&g, last, sizeof(last), &err), 0);
	idgen_close(&g);

	/* Restart an hour earlier, with no instance left on disk. */
	assert_int_equal(idgen_open(&g, path, 0, &err), 0);
	g.ig_clock = fake_clock;
	fake_now -= 3600 * 1000;
	assert_int_equal(idgen_next(&g, id, sizeof(id), &err), 0);
	assert_true(strcmp(id, last) > 0);
	idgen_close(&g);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

/* The store's highest ID is a floor even without a high-water file. */
static void
test_floor(void **state)
{
	char *dir = cm_tmpdir(), path[600], id[ID_LEN + 1], fl[ID_LEN + 1];
	struct idgen g;
	struct err err;
	uint64_t floor = ((uint64_t)1 << 54) + 12345;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(idgen_open(&g, path, floor, &err), 0);
	assert_int_equal(idgen_next(&g, id, sizeof(id), &err), 0);
	id_encode(floor, fl, sizeof(fl));
	assert_true(strcmp(id, fl) > 0);
	idgen_close(&g);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

static void
test_corrupt_seq(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	struct idgen g;
	struct err err;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(atomic_write_file(path, "garbage", 7, 0600, &err), 0);
	assert_int_equal(idgen_open(&g, path, 0, &err), -1);
	assert_non_null(strstr(err.msg, "corrupt"));
	idgen_close(&g);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

#define THREADS 8
#define PER_THREAD 2000

struct par {
	struct idgen *g;
	char (*ids)[ID_LEN + 1];
};

static void *
gen_many(void *arg)
{
	struct par *p = arg;
	struct err err;

	for (int i = 0; i < PER_THREAD; i++)
		if (idgen_next(p->g, p->ids[i], sizeof(p->ids[i]), &err) != 0)
			p->ids[i][0] = '\0';
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_parallel_unique(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	static char ids[THREADS * PER_THREAD][ID_LEN + 1];
	pthread_t th[THREADS];
	struct par p[THREADS];
	struct idgen g;
	struct err err;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(idgen_open(&g, path, 0, &err), 0);
	for (int i = 0; i < THREADS; i++) {
		p[i].g = &g;
		p[i].ids = &ids[i * PER_THREAD];
		assert_int_equal(
		    pthread_create(&th[i], NULL, gen_many, &p[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		(void)pthread_join(th[i], NULL);
	/* Each thread's IDs increase... */
	for (int i = 0; i < THREADS; i++)
		for (int j = 1; j < PER_THREAD; j++)
			assert_true(strcmp(ids[i * PER_THREAD + j - 1],
					ids[i * PER_THREAD + j]) < 0);
	/* ...and all are distinct. */
	qsort(ids, THREADS * PER_THREAD, sizeof(ids[0]), cmp);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	idgen_close(&g);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_restart_clock_back),
		cmocka_unit_test(test_floor),
		cmocka_unit_test(test_corrupt_seq),
		cmocka_unit_test(test_parallel_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
