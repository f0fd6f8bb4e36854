/* Unit tests: ids.c — order, uniqueness, restarts, clock jumps. */
#include "cm_compat.h"

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

#define BURST 50000

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The service's owner asks for IDs in bursts far above 4096 a
 * millisecond: all distinct and increasing. (Parallel Provisions reach
 * idgen one at a time through the owner thread: test_service.py checks
 * 200 of them.) */
static void
test_burst_unique(void **state)
{
	char *dir = cm_tmpdir(), path[600];
	static char ids[BURST][ID_LEN + 1];
	struct idgen g;
	struct err err;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(idgen_open(&g, path, 0, &err), 0);
	for (int i = 0; i < BURST; i++)
		assert_int_equal(
		    idgen_next(&g, ids[i], sizeof(ids[i]), &err), 0);
	for (int i = 1; i < BURST; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	qsort(ids, BURST, sizeof(ids[0]), cmp);
	for (int i = 1; i < BURST; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	idgen_close(&g);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

/* 0.1.0 reserved 60 s ahead on disk and resumed from the reservation:
 * every restart moved IDs (and CreatedAt) another minute into the
 * future. Now the first ID after a restart is the clock's. */
static void
test_restart_no_drift(void **state)
{
	char *dir = cm_tmpdir(), path[600], id[ID_LEN + 1];
	struct idgen g;
	struct err err;
	uint64_t v;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	fake_now = 1800000000000LL;
	for (int restart = 0; restart < 5; restart++) {
		assert_int_equal(idgen_open(&g, path, 0, &err), 0);
		g.ig_clock = fake_clock;
		assert_int_equal(idgen_next(&g, id, sizeof(id), &err), 0);
		assert_int_equal(id_decode(id, &v), 0);
		/* Within a millisecond or so of "now", never a minute on. */
		assert_true((int64_t)(v >> ID_SEQ_BITS) - fake_now <= 1);
		idgen_close(&g);
		fake_now += 10;
	}
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

/* The mark is rewritten in place with a checksum; 0.1.0's plain number
 * still reads. */
static void
test_mark_formats(void **state)
{
	char *dir = cm_tmpdir(), path[600], id[ID_LEN + 1], old[ID_LEN + 1];
	struct idgen g;
	struct err err;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(
	    atomic_write_file(path, "7372800000000000\n", 17, 0600, &err), 0);
	assert_int_equal(idgen_open(&g, path, 0, &err), 0);
	g.ig_clock = fake_clock;
	fake_now = 1;
	assert_int_equal(idgen_next(&g, id, sizeof(id), &err), 0);
	id_encode(7372800000000000ULL, old, sizeof(old));
	assert_true(strcmp(id, old) > 0);
	assert_int_equal(idgen_save(&g, &err), 0);
	idgen_close(&g);
	assert_int_equal(idgen_open(&g, path, 0, &err), 0);
	g.ig_clock = fake_clock;
	assert_int_equal(idgen_next(&g, old, sizeof(old), &err), 0);
	assert_true(strcmp(old, id) > 0);
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
		cmocka_unit_test(test_burst_unique),
		cmocka_unit_test(test_restart_no_drift),
		cmocka_unit_test(test_mark_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
