/* Unit tests: tags.c — sorted sets and InfraKit's AND filter. */
#include "cm_compat.h"

#include "model/tags.h"

static void
set_all(struct tags *t, const char *const *kv)
{
	for (size_t i = 0; kv[i] != NULL; i += 2)
		assert_int_equal(tags_set(t, kv[i], kv[i + 1]), 0);
}

static void
test_sorted_unique(void **state)
{
	struct tags t = TAGS_INIT;
	static const char *const kv[] = { "tier", "web", "infrakit.group",
		"cattle", "a", "1", "tier", "db", NULL };

	(void)state;
	set_all(&t, kv);
	assert_int_equal(t.tg_n, 3);
	assert_string_equal(t.tg_v[0].t_key, "a");
	assert_string_equal(t.tg_v[1].t_key, "infrakit.group");
	assert_string_equal(t.tg_v[2].t_key, "tier");
	assert_string_equal(tags_get(&t, "tier"), "db");
	assert_null(tags_get(&t, "Tier"));
	assert_int_equal(tags_del(&t, "a"), 1);
	assert_int_equal(tags_del(&t, "a"), 0);
	assert_int_equal(t.tg_n, 2);
	tags_free(&t);
}

static void
test_match(void **state)
{
	struct tags have = TAGS_INIT, f = TAGS_INIT;
	static const char *const kv[] = { "infrakit.group", "cattle",
		"infrakit.config.hash", "abc", "tier", "web", NULL };

	(void)state;
	set_all(&have, kv);
	/* Empty filter: everything. */
	assert_true(tags_match(&have, &f));
	assert_int_equal(tags_set(&f, "infrakit.group", "cattle"), 0);
	assert_true(tags_match(&have, &f));
	/* AND of two. */
	assert_int_equal(tags_set(&f, "tier", "web"), 0);
	assert_true(tags_match(&have, &f));
	/* Exact values: case-sensitive, no prefix matching. */
	assert_int_equal(tags_set(&f, "tier", "Web"), 0);
	assert_false(tags_match(&have, &f));
	assert_int_equal(tags_set(&f, "tier", "we"), 0);
	assert_false(tags_match(&have, &f));
	/* A key the instance lacks. */
	assert_int_equal(tags_set(&f, "tier", "web"), 0);
	assert_int_equal(tags_set(&f, "zone", "a"), 0);
	assert_false(tags_match(&have, &f));
	tags_free(&have);
	tags_free(&f);
}

static void
test_merge_copy(void **state)
{
	struct tags a = TAGS_INIT, b = TAGS_INIT, c;
	static const char *const ka[] = { "k", "props", "only-a", "1", NULL };
	static const char *const kb[] = { "k", "spec", "only-b", "2", NULL };

	(void)state;
	set_all(&a, ka);
	set_all(&b, kb);
	assert_int_equal(tags_copy(&c, &a), 0);
	assert_true(tags_equal(&a, &c));
	assert_int_equal(tags_merge(&c, &b), 0);
	assert_int_equal(c.tg_n, 3);
	assert_string_equal(tags_get(&c, "k"), "spec");
	assert_false(tags_equal(&a, &c));
	tags_free(&a);
	tags_free(&b);
	tags_free(&c);
}

static void
test_many(void **state)
{
	struct tags t = TAGS_INIT;
	char k[16];

	(void)state;
	for (int i = 999; i >= 0; i--) {
		(void)snprintf(k, sizeof(k), "k%04d", i);
		assert_int_equal(tags_set(&t, k, k), 0);
	}
	assert_int_equal(t.tg_n, 1000);
	for (size_t i = 1; i < t.tg_n; i++)
		assert_true(strcmp(t.tg_v[i - 1].t_key, t.tg_v[i].t_key) < 0);
	assert_string_equal(tags_get(&t, "k0500"), "k0500");
	tags_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_unique),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_merge_copy),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
