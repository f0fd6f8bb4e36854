/*
 * Unit tests: dur.c — Go's duration syntax (Go's own table of accepted and
 * refused examples from time_test.go, with INT64_MAX as the bound), a
 * smaller bound as the group controller uses it, the String() form, and the
 * daemon's duration flags.
 */
#include "cm_compat.h"

#include <stdint.h>

#include "util/dur.h"
#include "util/err.h"

#define US INT64_C(1000)
#define MS INT64_C(1000000)
#define S INT64_C(1000000000)
#define M (60 * S)
#define H (60 * M)
#define DAY (INT64_C(24) * H)

static void
parses_to(const char *s, int64_t max, int64_t want)
{
	const char *why = NULL;
	int64_t ns = -12345;

	if (dur_parse(s, max, &ns, &why) != 0)
		fail_msg("%s: %s", s, why);
	if (ns != want)
		fail_msg(
		    "%s: %lld, want %lld", s, (long long)ns, (long long)want);
}

static void
refused(const char *s, int64_t max, const char *want_why)
{
	const char *why = NULL;
	int64_t ns = 0;

	if (dur_parse(s, max, &ns, &why) != -1)
		fail_msg("%s: accepted as %lld", s, (long long)ns);
	if (want_why != NULL && strcmp(why, want_why) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", s, why, want_why);
}

/* Go's parseDurationTests, every one. */
static void
test_go_accepts(void **state)
{
	static const struct {
		const char *in;
		int64_t want;
	} t[] = {
		{ "0", 0 },
		{ "5s", 5 * S },
		{ "30s", 30 * S },
		{ "1478s", 1478 * S },
		{ "-5s", -5 * S },
		{ "+5s", 5 * S },
		{ "-0", 0 },
		{ "+0", 0 },
		{ "5.0s", 5 * S },
		{ "5.6s", 5 * S + 600 * MS },
		{ "5.s", 5 * S },
		{ ".5s", 500 * MS },
		{ "1.0s", 1 * S },
		{ "1.00s", 1 * S },
		{ "1.004s", 1 * S + 4 * MS },
		{ "1.0040s", 1 * S + 4 * MS },
		{ "100.00100s", 100 * S + 1 * MS },
		{ "10ns", 10 },
		{ "11us", 11 * US },
		{ "12\xc2\xb5s", 12 * US }, /* U+00B5 */
		{ "12\xce\xbcs", 12 * US }, /* U+03BC */
		{ "13ms", 13 * MS },
		{ "14s", 14 * S },
		{ "15m", 15 * M },
		{ "16h", 16 * H },
		{ "3h30m", 3 * H + 30 * M },
		{ "10.5s4m", 4 * M + 10 * S + 500 * MS },
		{ "-2m3.4s", -(2 * M + 3 * S + 400 * MS) },
		{ "1h2m3s4ms5us6ns",
		    1 * H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 },
		{ "39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS },
		{ "52763797000ns", INT64_C(52763797000) },
		{ "0.3333333333333333333h", 20 * M },
		{ "9007199254740993ns", (INT64_C(1) << 53) + 1 },
		{ "9223372036854775807ns", INT64_MAX },
		{ "9223372036854775.807us", INT64_MAX },
		{ "9223372036s854ms775us807ns", INT64_MAX },
		{ "-9223372036854775808ns", INT64_MIN },
		{ "-9223372036854775.808us", INT64_MIN },
		{ "-9223372036s854ms775us808ns", INT64_MIN },
		{ "-2562047h47m16.854775808s", INT64_MIN },
		{ "0.100000000000000000000h", 6 * M },
		{ "0.830103483285477580700h", 49 * M + 48 * S + 372539827 },
		/* The examples. */
		{ "1m30s", 90 * S },
		{ "0.5s", 500 * MS },
		{ "1h2m3.5s", 3723 * S + 500 * MS },
		{ "300ms", 300 * MS },
		{ "1.5h", 90 * M },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parses_to(t[i].in, INT64_MAX, t[i].want);
}

/* Go's parseDurationErrorTests, every one. */
static void
test_go_refuses(void **state)
{
	static const struct {
		const char *in, *why;
	} t[] = {
		{ "", "is not a duration" },
		{ "3", "has no unit" },
		{ "-", "is not a duration" },
		{ "s", "is not a duration" },
		{ ".", "is not a duration" },
		{ "-.", "is not a duration" },
		{ ".s", "is not a duration" },
		{ "+.s", "is not a duration" },
		{ "1d", "has an unknown unit" },
		{ "\x85\x85", "is not a duration" },
		{ "\xff"
		  "ff",
		    "is not a duration" },
		{ "hello \xff"
		  "ff world",
		    "is not a duration" },
		{ "\xef\xbf\xbd", "is not a duration" },
		{ "\xef\xbf\xbd hello \xef\xbf\xbd world",
		    "is not a duration" },
		{ "9223372036854775810ns", "is too long" },
		{ "9223372036854775808ns", "is too long" },
		{ "-9223372036854775809ns", "is too long" },
		{ "9223372036854776us", "is too long" },
		{ "3000000h", "is too long" },
		{ "9223372036854775.808us", "is too long" },
		{ "9223372036854ms775us808ns", "is too long" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		refused(t[i].in, INT64_MAX, t[i].why);
}

/* The group controller's bound (24h) and our words for each refusal. */
static void
test_bound(void **state)
{
	(void)state;
	parses_to("24h", DAY, DAY);
	parses_to("-24h", DAY, -DAY);
	parses_to("1h1h", DAY, 2 * H);
	parses_to("0.000000001s", DAY, 1);
	refused("25h", DAY, "is too long");
	refused("24h1ns", DAY, "is too long");
	refused("-24h1ns", DAY, "is too long");
	refused("99999999999999999999h", DAY, "is too long");
	refused("1m5", DAY, "has no unit");
	refused("5 s", DAY, "has an unknown unit");
	refused("5sec", DAY, "has an unknown unit");
	refused("1h-2m", DAY, "has an unknown unit");
	refused("+-1s", DAY, "is not a duration");
}

static void
formats_as(int64_t ns, const char *want)
{
	char out[DUR_TEXT_MAX];

	dur_format(ns, out);
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
	formats_as(MS, "1ms");
	formats_as(300 * MS, "300ms");
	formats_as(1500000, "1.5ms");
	formats_as(S, "1s");
	formats_as(S + 500 * MS, "1.5s");
	formats_as(10 * S, "10s");
	formats_as(60 * S, "1m0s");
	formats_as(90 * S, "1m30s");
	formats_as(300 * S, "5m0s");
	formats_as(3600 * S, "1h0m0s");
	formats_as(3723 * S + 1, "1h2m3.000000001s");
	formats_as(-2 * S, "-2s");
	formats_as(DAY, "24h0m0s");
	formats_as(INT64_MAX, "2562047h47m16.854775807s");
	formats_as(INT64_MIN, "-2562047h47m16.854775808s");
}

/* Whatever it prints, it reads back (Go's round-trip test included). */
static void
test_round_trip(void **state)
{
	static const int64_t v[] = { 0, 1, 999, 1001, 123456789, S, 61 * S,
		3601 * S + 7, DAY, INT64_MAX, INT64_MIN, -1, -90 * S };
	char out[DUR_TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		dur_format(v[i], out);
		parses_to(out, INT64_MAX, v[i]);
	}
}

static void
flag_ok(const char *arg, uint32_t want)
{
	struct err err;
	uint32_t ms = 12345;

	err_clear(&err);
	if (dur_flag_ms("--stop-timeout", arg, UINT32_MAX, &ms, &err) != 0)
		fail_msg("%s: %s", arg, err.msg);
	if (ms != want)
		fail_msg("%s: %u ms, want %u", arg, ms, want);
}

static void
flag_bad(const char *arg, uint32_t max, const char *want)
{
	struct err err;
	uint32_t ms = 12345;

	err_clear(&err);
	assert_int_equal(
	    dur_flag_ms("--stop-timeout", arg, max, &ms, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_string_equal(err.msg, want);
	assert_int_equal(ms, 12345);
}

static void
test_flag(void **state)
{
	(void)state;
	flag_ok("1m30s", 90000);
	flag_ok("0.5s", 500);
	flag_ok("1h2m3.5s", 3723500);
	flag_ok("300ms", 300);
	flag_ok("1.5h", 5400000);
	flag_ok("0", 0);
	flag_ok("-0", 0);
	flag_ok("0s", 0);
	/* A bare number is seconds, as the flags always took it. */
	flag_ok("30", 30000);
	/* Rounded up to whole milliseconds: never 0 for a positive value. */
	flag_ok("1ns", 1);
	flag_ok("1.0001ms", 2);
	flag_ok("1193h2m47.295s", UINT32_MAX);
	flag_bad("5x", UINT32_MAX,
	    "--stop-timeout \"5x\" has an unknown unit; write a duration such "
	    "as 30s, 1m30s, 1.5h or 500ms (units ns, us, ms, s, m, h)");
	flag_bad("1m5", UINT32_MAX,
	    "--stop-timeout \"1m5\" has no unit; write a duration such as 30s, "
	    "1m30s, 1.5h or 500ms (units ns, us, ms, s, m, h)");
	flag_bad("", UINT32_MAX,
	    "--stop-timeout \"\" is not a duration; write a duration such as "
	    "30s, 1m30s, 1.5h or 500ms (units ns, us, ms, s, m, h)");
	flag_bad("fast", UINT32_MAX,
	    "--stop-timeout \"fast\" is not a duration; write a duration such "
	    "as 30s, 1m30s, 1.5h or 500ms (units ns, us, ms, s, m, h)");
	flag_bad("-5s", UINT32_MAX,
	    "--stop-timeout \"-5s\" is negative; give a duration such as 30s");
	flag_bad("-1ns", UINT32_MAX,
	    "--stop-timeout \"-1ns\" is negative; give a duration such as 30s");
	flag_bad("1193h2m47.296s", UINT32_MAX,
	    "--stop-timeout \"1193h2m47.296s\" is too long; at most "
	    "1193h2m47.295s");
	flag_bad("9999999999999999999999h", UINT32_MAX,
	    "--stop-timeout \"9999999999999999999999h\" is too long; at most "
	    "1193h2m47.295s");
	flag_bad("4294968", UINT32_MAX,
	    "--stop-timeout \"4294968\" is too long; at most 1193h2m47.295s");
	flag_bad(
	    "2m", 60000, "--stop-timeout \"2m\" is too long; at most 1m0s");
	flag_bad(
	    "61", 60000, "--stop-timeout \"61\" is too long; at most 1m0s");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_accepts),
		cmocka_unit_test(test_go_refuses),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
