/* Unit tests: metrics.c — families render in the text exposition format
 * 0.0.4 (escaped labels, cumulative buckets, +Inf == _count), malformed
 * families are refused; log.c's RFC 3339 time stamps. */
#include "cm_compat.h"

#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"

static const char *const ops[] = { "create", "we\"ird\\op\nx" };
static const char *const outs[] = { "ok", "backend" };

static void
test_counter_labels_escaped(void **state)
{
	static _Atomic uint64_t cells[4];
	static struct mfamily f = {
		.mf_name = "t_ops_total",
		.mf_help = "Ops \\ done, by kind.",
		.mf_type = MT_COUNTER,
		.mf_label = { "op", "outcome" },
		.mf_values = { ops, outs },
		.mf_nvalues = { 2, 2 },
		.mf_cells = cells,
		.mf_ncells = 4,
	};
	struct buf b;

	(void)state;
	assert_int_equal(metrics_register(&f), 0);
	metrics_inc(&f, 0, 0);
	metrics_add(&f, 1, 1, 41);
	metrics_inc(&f, 1, 1);
	metrics_inc(&f, 2, 0); /* out of range: ignored */
	assert_int_equal(metrics_get(&f, 1, 1), 42);
	buf_init(&b, 1 << 16);
	assert_int_equal(metrics_render_family(&b, &f), 0);
	assert_string_equal(buf_str(&b),
	    "# HELP t_ops_total Ops \\\\ done, by kind.\n"
	    "# TYPE t_ops_total counter\n"
	    "t_ops_total{op=\"create\",outcome=\"ok\"} 1\n"
	    "t_ops_total{op=\"we\\\"ird\\\\op\\nx\",outcome=\"backend\"} 42\n");
	buf_free(&b);
}

static void
test_histogram_cumulative(void **state)
{
	static const uint64_t bounds[] = { 1000000, 1000000000 }; /* 1ms, 1s */
	static _Atomic uint64_t cells[3], sums[1];
	static struct mfamily f = {
		.mf_name = "t_seconds",
		.mf_help = "Durations.",
		.mf_type = MT_HISTOGRAM,
		.mf_bounds_ns = bounds,
		.mf_nbounds = 2,
		.mf_cells = cells,
		.mf_sums = sums,
		.mf_ncells = 3,
	};
	struct buf b;

	(void)state;
	assert_int_equal(metrics_register(&f), 0);
	metrics_observe(&f, 0, 0, 1000000);    /* le is inclusive: 0.001 */
	metrics_observe(&f, 0, 0, 500000000);  /* 1 */
	metrics_observe(&f, 0, 0, 3000000000); /* +Inf */
	metrics_observe(&f, 0, 0, -5);	       /* a clock step: 0 */
	assert_int_equal(metrics_get(&f, 0, 0), 4);
	buf_init(&b, 1 << 16);
	assert_int_equal(metrics_render_family(&b, &f), 0);
	assert_string_equal(buf_str(&b),
	    "# HELP t_seconds Durations.\n"
	    "# TYPE t_seconds histogram\n"
	    "t_seconds_bucket{le=\"0.001\"} 2\n"
	    "t_seconds_bucket{le=\"1\"} 3\n"
	    "t_seconds_bucket{le=\"+Inf\"} 4\n"
	    "t_seconds_sum 3.501000000\n"
	    "t_seconds_count 4\n");
	buf_free(&b);
}

static void
test_malformed_refused(void **state)
{
	static _Atomic uint64_t cells[2];
	static const uint64_t down[] = { 2, 1 };
	static _Atomic uint64_t sums[1];
	struct mfamily no_total = { .mf_name = "t_ops",
		.mf_help = "x",
		.mf_type = MT_COUNTER,
		.mf_cells = cells,
		.mf_ncells = 1 };
	struct mfamily bad_name = { .mf_name = "t-ops_total",
		.mf_help = "x",
		.mf_type = MT_COUNTER,
		.mf_cells = cells,
		.mf_ncells = 1 };
	struct mfamily le_label = { .mf_name = "t_g",
		.mf_help = "x",
		.mf_type = MT_GAUGE,
		.mf_label = { "le" },
		.mf_values = { outs },
		.mf_nvalues = { 2 },
		.mf_cells = cells,
		.mf_ncells = 2 };
	struct mfamily few_cells = { .mf_name = "t_g2",
		.mf_help = "x",
		.mf_type = MT_GAUGE,
		.mf_label = { "outcome" },
		.mf_values = { outs },
		.mf_nvalues = { 2 },
		.mf_cells = cells,
		.mf_ncells = 1 };
	struct mfamily descending = { .mf_name = "t_h",
		.mf_help = "x",
		.mf_type = MT_HISTOGRAM,
		.mf_bounds_ns = down,
		.mf_nbounds = 2,
		.mf_cells = cells,
		.mf_sums = sums,
		.mf_ncells = 3 };

	(void)state;
	assert_int_equal(metrics_register(&no_total), -1);
	assert_int_equal(metrics_register(&bad_name), -1);
	assert_int_equal(metrics_register(&le_label), -1);
	no_total.mf_name = "t_two_lines_total";
	no_total.mf_help = "one\ntwo";
	assert_int_equal(metrics_register(&no_total), -1);
	assert_int_equal(metrics_register(&few_cells), -1);
	assert_int_equal(metrics_register(&descending), -1);
}

static void
test_log_time_and_reqid(void **state)
{
	char t[LOG_TIME_MAX], r1[LOG_REQID_MAX], r2[LOG_REQID_MAX];
	unsigned long a, b;

	(void)state;
	assert_string_equal(
	    log_time(0, t, sizeof(t)), "1970-01-01T00:00:00.000Z");
	assert_string_equal(
	    log_time(1234567890123, t, sizeof(t)), "2009-02-13T23:31:30.123Z");
	a = log_reqid_next();
	b = log_reqid_next();
	assert_true(a != 0 && b != a);
	assert_string_equal(log_reqid(0, r1, sizeof(r1)), "");
	(void)log_reqid(a, r1, sizeof(r1));
	(void)log_reqid(b, r2, sizeof(r2));
	assert_string_not_equal(r1, r2);
	/* The same random prefix, then the number. */
	assert_non_null(strchr(r1, '-'));
	assert_memory_equal(r1, r2, (size_t)(strchr(r1, '-') - r1) + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_labels_escaped),
		cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_log_time_and_reqid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
