/* Unit tests: gdur.c — Go's duration syntax and its String() form. */
#include "cm_compat.h"

#include "group/gdur.h"

#define S INT64_C(1000000000)
#define MAX (INT64_C(24) * 3600 * S)

static void
parses_to(const char *s, int64_t want)
{
	const char *why = NULL;
	int64_t ns = -12345;

	if (gdur_parse(s, MAX, &ns, &why) != 0)
		fail_msg("%s: %s", s, why);
	if (ns != want)
		fail_msg(
		    "%s: %lld, want %lld", s, (long long)ns, (long long)want);
}

static void
refused(const char *s, const char *want_why)
{
	const char *why = NULL;
	int64_t ns;

	assert_int_equal(gdur_parse(s, MAX, &ns, &why), -1);
	assert_string_equal(why, want_why);
}

static void
test_parse(void **state)
{
	(void)state;
	parses_to("0", 0);
	parses_to("-0", 0);
	parses_to("0s", 0);
	parses_to("30s", 30 * S);
	parses_to("1m", 60 * S);
	parses_to("1m30s", 90 * S);
	parses_to("1h2m3s", 3723 * S);
	parses_to("1.5h", 5400 * S);
	parses_to(".5s", S / 2);
	parses_to("5.s", 5 * S);
	parses_to("300ms", 300 * INT64_C(1000000));
	parses_to("1.5ms", 1500000);
	parses_to("2us", 2000);
	parses_to("2\xc2\xb5s", 2000);
	parses_to("2\xce\xbcs", 2000);
	parses_to("7ns", 7);
	parses_to("+2s", 2 * S);
	parses_to("-2s", -2 * S);
	parses_to("1h1h", 7200 * S);
	parses_to("0.000000001s", 1);
	parses_to("24h", MAX);
}

static void
test_refuse(void **state)
{
	(void)state;
	refused("5", "has no unit");
	refused("1m5", "has no unit");
	refused("5x", "has an unknown unit");
	refused("5 s", "has an unknown unit");
	refused("5sec", "has an unknown unit");
	refused("", "is not a duration");
	refused("-", "is not a duration");
	refused("s", "is not a duration");
	refused(".s", "is not a duration");
	refused("25h", "is too long");
	refused("24h1ns", "is too long");
	refused("99999999999999999999h", "is too long");
}

static void
formats_as(int64_t ns, const char *want)
{
	char out[GDUR_TEXT_MAX];

	gdur_format(ns, out);
	assert_string_equal(out, want);
}

static void
test_format(void **state)
{
	(void)state;
	formats_as(0, "0s");
	formats_as(1, "1ns");
	formats_as(999, "999ns");
	formats_as(1500, "1.5\xc2\xb5s");
	formats_as(1000000, "1ms");
	formats_as(300000000, "300ms");
	formats_as(1500000, "1.5ms");
	formats_as(S, "1s");
	formats_as(S + 500000000, "1.5s");
	formats_as(10 * S, "10s");
	formats_as(60 * S, "1m0s");
	formats_as(90 * S, "1m30s");
	formats_as(300 * S, "5m0s");
	formats_as(3600 * S, "1h0m0s");
	formats_as(3723 * S + 1, "1h2m3.000000001s");
	formats_as(-2 * S, "-2s");
	formats_as(MAX, "24h0m0s");
}

/* Whatever it prints, it reads back. */
static void
test_round_trip(void **state)
{
	static const int64_t v[] = { 0, 1, 999, 1001, 123456789, S, 61 * S,
		3601 * S + 7, MAX };
	char out[GDUR_TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		gdur_format(v[i], out);
		parses_to(out, v[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
