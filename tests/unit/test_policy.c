/* Unit tests: policy.c — the slow start that bounds what a template that
 * cannot boot costs, restart decisions, when a roll waiting for new
 * members to settle must look again, and the "doing" line. */
#include "cm_compat.h"

#include "group/policy.h"
#include "util/err.h"

static struct group_spec *
spec(const char *extra)
{
	struct group_spec *g = calloc(1, sizeof(*g));
	char text[1024];
	struct err err;

	assert_non_null(g);
	(void)snprintf(text, sizeof(text),
	    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":5},"
	    "\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{"
	    "\"VMX\":\"a\"}},\"Flavor\":{\"Plugin\":\"vanilla\"}%s}}",
	    extra);
	if (gspec_parse(text, strlen(text), 0, g, &err) != 0)
		fail_msg("%s: %s", text, err.msg);
	return g;
}

static void
spec_free(struct group_spec *g)
{
	gspec_free(g);
	free(g);
}

static void
test_create_cap(void **state)
{
	struct group_spec *g = spec(""); /* MaxFailures 3 */
	struct group_spec *never = spec(",\"Recovery\":{\"MaxFailures\":0}");

	(void)state;
	/* Nothing known about the config: at most MaxFailures at once. */
	assert_int_equal(policy_create_cap(g, 0, 0, 0), 3);
	assert_int_equal(policy_create_cap(g, 0, 0, 2), 1);
	assert_int_equal(policy_create_cap(g, 0, 0, 3), 0);
	/* One member of it runs and nothing failed since: full speed. */
	assert_true(policy_create_cap(g, 0, 1, 0) == POLICY_NO_CAP);
	assert_true(policy_create_cap(g, 0, 1, 4) == POLICY_NO_CAP);
	/* Failures since: only what is left of the budget. */
	assert_int_equal(policy_create_cap(g, 1, 1, 0), 2);
	assert_int_equal(policy_create_cap(g, 2, 0, 1), 0);
	assert_int_equal(policy_create_cap(g, 3, 0, 0), 0);
	assert_int_equal(policy_create_cap(g, 7, 0, 0), 0);
	/* MaxFailures 0 is InfraKit's endless retry: no cap. */
	assert_true(policy_create_cap(never, 5, 0, 9) == POLICY_NO_CAP);
	spec_free(g);
	spec_free(never);
}

static void
test_restart(void **state)
{
	struct policy_restart r = { 0, 0, false };
	int64_t at;

	(void)state;
	assert_int_equal(
	    policy_restart(&r, 1000, 500, &at), POLICY_RESTART_NOW);
	r.pr_tries = 1;
	r.pr_last_ms = 1000;
	assert_int_equal(
	    policy_restart(&r, 1200, 500, &at), POLICY_RESTART_WAIT);
	assert_int_equal(at, 1500);
	assert_int_equal(
	    policy_restart(&r, 1500, 500, &at), POLICY_RESTART_NOW);
	r.pr_tries = POLICY_RESTART_TRIES;
	r.pr_last_ms = 2000;
	assert_int_equal(
	    policy_restart(&r, 2100, 500, &at), POLICY_RESTART_WAIT);
	assert_int_equal(
	    policy_restart(&r, 2500, 500, &at), POLICY_RESTART_REPLACE);
}

static void
test_settle_wake(void **state)
{
	struct group_spec *d = spec(",\"Updating\":{\"Duration\":\"30s\"}");
	struct group_spec *c = spec(",\"Updating\":{\"Count\":3}");
	struct group_spec *none = spec("");
	struct member m[3] = {
		{ "i-1", NULL, "new", MEMBER_RUNNING, 1000 },
		{ "i-2", NULL, "new", MEMBER_RUNNING, 4000 },
		{ "i-3", NULL, "old", MEMBER_RUNNING, 0 },
	};
	struct plan_input in;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.pi_spec = d;
	in.pi_hash = "new";
	in.pi_members = m;
	in.pi_n = 3;
	in.pi_rolling = true;
	in.pi_now_ms = 5000;
	in.pi_poll_ms = 1000;
	assert_int_equal(policy_settle_wake(&in), 31000);
	in.pi_now_ms = 31000; /* i-1 has settled; i-2 not yet */
	assert_int_equal(policy_settle_wake(&in), 34000);
	in.pi_spec = c; /* Count 3: two poll intervals */
	in.pi_now_ms = 5000;
	assert_int_equal(policy_settle_wake(&in), 6000);
	in.pi_rolling = false;
	assert_int_equal(policy_settle_wake(&in), 0);
	in.pi_rolling = true;
	in.pi_spec = none;
	assert_int_equal(policy_settle_wake(&in), 0);
	spec_free(d);
	spec_free(c);
	spec_free(none);
}

static void
doing_is(const struct policy_view *v, const char *want)
{
	char out[POLICY_DOING_MAX];

	policy_doing(v, out, sizeof(out));
	assert_string_equal(out, want);
}

static void
test_doing(void **state)
{
	struct policy_view v;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.v_target = 3;
	v.v_running = 3;
	v.v_note = "";
	doing_is(&v, "converged: 3 of 3 running");
	v.v_outdated = 1;
	doing_is(&v, "converged: 3 of 3 running (some with an older config)");
	v.v_rolling = true;
	v.v_roll_id = "i-0ab";
	doing_is(&v, "rolling update: replacing i-0ab (1 outdated left)");
	v.v_roll_id = NULL;
	v.v_running = 2;
	v.v_provisioning = 1;
	doing_is(&v,
	    "rolling update: waiting for 1 new member to run (1 outdated "
	    "left)");
	v.v_hold = PLAN_HOLD_STALLED;
	v.v_note = "3 provisions failed in a row";
	doing_is(&v, "rolling update halted: 3 provisions failed in a row");
	v.v_rolling = false;
	v.v_outdated = 0;
	v.v_held = 2;
	doing_is(&v, "holding 2 creates: 3 provisions failed in a row");
	v.v_hold = PLAN_HOLD_NONE;
	v.v_note = "";
	v.v_creates = 3;
	v.v_held = 2;
	v.v_provisioning = 0;
	v.v_running = 0;
	v.v_target = 5;
	doing_is(&v, "slow start: creating 3, destroying 0 (0 of 5 up)");
	v.v_creates = 0;
	doing_is(&v, "slow start: 2 creates held until a member runs");
	v.v_held = 0;
	v.v_provisioning = 2;
	v.v_running = 3;
	doing_is(&v, "waiting for 2 provisioning members to run (3 of 5 up)");
	v.v_destroying = true;
	v.v_running = 1;
	v.v_provisioning = 0;
	doing_is(&v, "destroying the group: 1 member left");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_cap),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_settle_wake),
		cmocka_unit_test(test_doing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
