/* Unit tests: compat.c — parse_uint, strlcpy, utf8_valid, clocks. */
#include "cm_compat.h"

#include "util/compat.h"

static void
test_parse_uint(void **state)
{
	static const struct {
		const char *in;
		uint64_t min, max, want;
		const char *err;
	} cases[] = {
		{ "0", 0, 10, 0, NULL },
		{ "10", 0, 10, 10, NULL },
		{ "11", 0, 10, 0, "too large" },
		{ "4", 5, 10, 0, "too small" },
		{ "", 0, 10, 0, "invalid" },
		{ "-1", 0, 10, 0, "invalid" },
		{ "1x", 0, 10, 0, "invalid" },
		{ " 1", 0, 10, 0, "invalid" },
		{ "18446744073709551615", 0, UINT64_MAX, UINT64_MAX, NULL },
		{ "18446744073709551616", 0, UINT64_MAX, 0, "too large" },
		{ "99999999999999999999999", 0, UINT64_MAX, 0, "too large" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *e = "unset";
		uint64_t v =
		    parse_uint(cases[i].in, cases[i].min, cases[i].max, &e);

		if (cases[i].err == NULL) {
			assert_null(e);
			assert_true(v == cases[i].want);
		} else {
			assert_non_null(e);
			assert_string_equal(e, cases[i].err);
		}
	}
	{
		const char *e;

		(void)parse_uint(NULL, 0, 1, &e);
		assert_string_equal(e, "invalid");
	}
}

static void
test_strlcpy(void **state)
{
	char b[4];

	(void)state;
	assert_int_equal(strlcpy(b, "ab", sizeof(b)), 2);
	assert_string_equal(b, "ab");
	assert_int_equal(strlcpy(b, "abcdef", sizeof(b)), 6);
	assert_string_equal(b, "abc");
	assert_int_equal(strlcat(b, "x", sizeof(b)), 4);
	assert_string_equal(b, "abc");
	(void)strlcpy(b, "a", sizeof(b));
	assert_int_equal(strlcat(b, "bc", sizeof(b)), 3);
	assert_string_equal(b, "abc");
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("plain", 5));
	assert_true(utf8_valid("\xc3\xa9t\xc3\xa9", 6)); /* été */
	assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));	 /* emoji */
	assert_false(utf8_valid("\xc3", 1));		 /* truncated */
	assert_false(utf8_valid("\xc0\xaf", 2));	 /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));	 /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid("\xff", 1));
}

static void
test_clocks(void **state)
{
	int64_t a, b;

	(void)state;
	a = mono_ms();
	sleep_ms(20);
	b = mono_ms();
	assert_true(b - a >= 19);
	assert_true(wall_ms() > 1700000000000LL);
}

static void
test_random(void **state)
{
	unsigned char x[32], y[32];

	(void)state;
	assert_int_equal(random_bytes(x, sizeof(x)), 0);
	assert_int_equal(random_bytes(y, sizeof(y)), 0);
	assert_memory_not_equal(x, y, sizeof(x));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
