/* Unit tests: plan.c — one reconcile pass per rule (§2.4, §2.6, §3.4 and
 * our fixes), rolling updates simulated pass by pass, and every case of the
 * commit plan table (§3.2) with InfraKit's exact text. */
#include "cm_compat.h"

#include "util/compat.h"
#include "util/err.h"
#include "group/plan.h"

#define NEW "new-hash"
#define OLD "old-hash"

static struct group_spec *
spec(const char *alloc, const char *extra)
{
	struct group_spec *g = calloc(1, sizeof(*g));
	char text[1024];
	struct err err;

	assert_non_null(g);
	(void)snprintf(text, sizeof(text),
	    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":%s,\"Instance\":{"
	    "\"Plugin\":\"vmware-fusion\",\"Properties\":{\"VMX\":\"a\"}},"
	    "\"Flavor\":{\"Plugin\":\"vanilla\"}%s}}",
	    alloc, extra);
	if (gspec_parse(text, strlen(text), GSPEC_COMPAT, g, &err) != 0)
		fail_msg("%s: %s", text, err.msg);
	return g;
}

static void
spec_free(struct group_spec *g)
{
	gspec_free(g);
	free(g);
}

static const char *const why_names[] = { [WHY_GROW] = "grow",
	[WHY_SURGE] = "surge",
	[WHY_MISSING] = "missing",
	[WHY_SHRINK] = "shrink",
	[WHY_UNKNOWN] = "unknown",
	[WHY_ROLL] = "roll",
	[WHY_STOPPED] = "stopped",
	[WHY_BOOTSTRAP] = "bootstrap" };
static const char *const op_names[] = { [PLAN_CREATE] = "create",
	[PLAN_DESTROY] = "destroy",
	[PLAN_RESTART] = "restart",
	[PLAN_LABEL] = "label" };

/* "op[ id][ @lid] why; ..." of a pass. */
static void
describe(const struct plan_pass *p, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < p->pp_n; i++) {
		const struct plan_action *a = &p->pp_act[i];
		char one[128];

		(void)snprintf(one, sizeof(one), "%s%s%s%s%s %s",
		    i > 0 ? "; " : "", op_names[a->a_op],
		    a->a_id != NULL ? " " : "", a->a_id != NULL ? a->a_id : "",
		    a->a_logical_id != NULL && a->a_id == NULL ? " @" : "",
		    a->a_why < sizeof(why_names) / sizeof(why_names[0])
			? why_names[a->a_why]
			: "?");
		if (a->a_logical_id != NULL && a->a_id == NULL) {
			/* create @lid why */
			(void)snprintf(one, sizeof(one), "%s%s @%s %s",
			    i > 0 ? "; " : "", op_names[a->a_op],
			    a->a_logical_id, why_names[a->a_why]);
		}
		(void)strlcat(out, one, len);
	}
}

struct run {
	struct plan_input in;
	struct plan_pass out;
	char text[2048];
};

/* One pass at t = 1000 s; out described into r->text. */
static void
pass(struct run *r, const struct group_spec *g, const struct member *m,
    size_t n, bool rolling)
{
	struct err err;

	if (r->in.pi_spec == NULL) {
		r->in.pi_now_ms = 1000000;
		r->in.pi_poll_ms = 200;
	}
	r->in.pi_spec = g;
	r->in.pi_hash = NEW;
	r->in.pi_members = m;
	r->in.pi_n = n;
	r->in.pi_rolling = rolling;
	plan_pass_free(&r->out);
	assert_int_equal(plan_pass(&r->in, &r->out, &err), 0);
	describe(&r->out, r->text, sizeof(r->text));
}

#define RUN_INIT                                                               \
	{                                                                      \
		.in = { 0 }                                                    \
	}
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define P MEMBER_PROVISIONING
#define R MEMBER_RUNNING
#define S MEMBER_STOPPED
#define F MEMBER_FAILED

/* ---- cattle (§2.4) ----------------------------------------------------- */

static void
test_cattle_steady_grow(void **state)
{
	struct group_spec *g = spec("{\"Size\":3}", "");
	const struct member three[] = { { "i-1", NULL, NEW, R, 0 },
		{ "i-2", NULL, NEW, R, 0 }, { "i-3", NULL, OLD, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, three, 3, false);
	assert_string_equal(r.text, "");
	assert_int_equal(r.out.pp_outdated, 1);
	assert_false(r.out.pp_roll_done);
	pass(&r, g, three, 1, false);
	assert_string_equal(r.text, "create grow; create grow");
	pass(&r, g, three, 0, false);
	assert_string_equal(r.text, "create grow; create grow; create grow");
	assert_int_equal(r.out.pp_hold, PLAN_HOLD_NONE);
	plan_pass_free(&r.out);
	spec_free(g);
}

/* Scale-down: the byte-wise smallest IDs, whatever their hash (Q1). */
static void
test_cattle_shrink_bytewise(void **state)
{
	struct group_spec *g = spec("{\"Size\":2}", "");
	const struct member m[] = { { "i-9", NULL, OLD, R, 0 },
		{ "i-10", NULL, NEW, R, 0 }, { "i-100", NULL, OLD, P, 0 },
		{ "i-2", NULL, OLD, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, m, N(m), false);
	assert_string_equal(
	    r.text, "destroy i-10 shrink; destroy i-100 shrink");
	assert_string_equal(plan_reason(r.out.pp_act[0].a_why), "terminate");
	plan_pass_free(&r.out);
	spec_free(g);
}

/* Q2 fixed: provisioning members count; failed ones neither count nor are
 * touched. */
static void
test_cattle_provisioning_and_failed(void **state)
{
	struct group_spec *g = spec("{\"Size\":3}", "");
	const struct member m[] = { { "i-1", NULL, NEW, R, 0 },
		{ "i-2", NULL, NEW, P, 0 }, { "i-3", NULL, NEW, F, 0 },
		{ "i-4", NULL, NEW, F, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, m, N(m), false);
	assert_string_equal(r.text, "create grow");
	plan_pass_free(&r.out);
	spec_free(g);
}

/* RestartPolicy: "replace" is InfraKit's (the stopped VM is invisible to
 * it: left alone, replaced); "restart" starts it again and counts it. */
static void
test_cattle_stopped(void **state)
{
	struct group_spec *rep = spec("{\"Size\":2}", "");
	struct group_spec *rst = spec(
	    "{\"Size\":2}", ",\"Recovery\":{\"RestartPolicy\":\"restart\"}");
	struct group_spec *one = spec(
	    "{\"Size\":1}", ",\"Recovery\":{\"RestartPolicy\":\"restart\"}");
	const struct member m[] = { { "i-1", NULL, NEW, S, 0 },
		{ "i-2", NULL, NEW, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, rep, m, N(m), false);
	assert_string_equal(r.text, "create grow");
	pass(&r, rst, m, N(m), false);
	assert_string_equal(r.text, "restart i-1 stopped");
	/* Counted, so also the first to go when the group shrinks. */
	pass(&r, one, m, N(m), false);
	assert_string_equal(r.text, "destroy i-1 shrink");
	plan_pass_free(&r.out);
	spec_free(rep);
	spec_free(rst);
	spec_free(one);
}

/* Q16: outdated members are adopted; only a roll replaces them. */
static void
test_outdated_kept_without_roll(void **state)
{
	struct group_spec *g = spec("{\"Size\":2}", "");
	const struct member m[] = { { "i-1", NULL, OLD, R, 0 },
		{ "i-2", NULL, NULL, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, m, N(m), false);
	assert_string_equal(r.text, "");
	assert_int_equal(r.out.pp_outdated, 2);
	pass(&r, g, m, N(m), true);
	assert_string_equal(r.text, "destroy i-1 roll");
	assert_string_equal(
	    plan_reason(r.out.pp_act[0].a_why), "rolling_update");
	assert_int_equal(r.out.pp_outdated, 1);
	assert_false(r.out.pp_roll_done);
	plan_pass_free(&r.out);
	spec_free(g);
}

/* §2.3: a member labelled "bootstrap" is adopted with the current hash. */
static void
test_bootstrap_label(void **state)
{
	struct group_spec *g = spec("{\"Size\":2}", "");
	const struct member m[] = { { "i-1", NULL, "bootstrap", R, 0 },
		{ "i-2", NULL, NEW, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, m, N(m), true);
	assert_string_equal(r.text, "label i-1 bootstrap");
	assert_true(r.out.pp_roll_done);
	plan_pass_free(&r.out);
	spec_free(g);
}

/* ---- rolling updates (§3.4) -------------------------------------------- */

static void
test_roll_lowest_first_and_waits(void **state)
{
	struct group_spec *g = spec("{\"Size\":3}", "");
	const struct member start[] = { { "i-3", NULL, OLD, R, 0 },
		{ "i-1", NULL, OLD, R, 0 }, { "i-2", NULL, OLD, R, 0 } };
	/* i-1 gone: one down, so nothing more goes; the pass replaces it. */
	const struct member gap[] = { { "i-3", NULL, OLD, R, 0 },
		{ "i-2", NULL, OLD, R, 0 } };
	/* Replacement provisioning: still one down. */
	const struct member wait[] = { { "i-3", NULL, OLD, R, 0 },
		{ "i-2", NULL, OLD, R, 0 }, { "i-4", NULL, NEW, P, 0 } };
	/* It runs: the next one goes. */
	const struct member next[] = { { "i-3", NULL, OLD, R, 0 },
		{ "i-2", NULL, OLD, R, 0 }, { "i-4", NULL, NEW, R, 0 } };
	const struct member done[] = { { "i-4", NULL, NEW, R, 0 },
		{ "i-5", NULL, NEW, R, 0 }, { "i-6", NULL, NEW, P, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, start, N(start), true);
	assert_string_equal(r.text, "destroy i-1 roll");
	pass(&r, g, gap, N(gap), true);
	assert_string_equal(r.text, "create grow");
	pass(&r, g, wait, N(wait), true);
	assert_string_equal(r.text, "");
	pass(&r, g, next, N(next), true);
	assert_string_equal(r.text, "destroy i-2 roll");
	pass(&r, g, done, N(done), true);
	assert_string_equal(r.text, "");
	assert_true(r.out.pp_roll_done);
	plan_pass_free(&r.out);
	spec_free(g);
}

/* An outdated member that is down anyway is replaced without waiting. */
static void
test_roll_down_members_first(void **state)
{
	struct group_spec *g = spec(
	    "{\"Size\":3}", ",\"Recovery\":{\"RestartPolicy\":\"restart\"}");
	const struct member m[] = { { "i-1", NULL, OLD, R, 0 },
		{ "i-2", NULL, OLD, P, 0 }, { "i-3", NULL, OLD, S, 0 },
		{ "i-4", NULL, NEW, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	/* Size 3, 4 counted: i-1 goes as the smallest ID; then 2 up (i-4,
	 * nothing else running) < 3 - 1, so no running member rolls, but
	 * i-2 and i-3 are down and outdated. */
	pass(&r, g, m, N(m), true);
	assert_string_equal(
	    r.text, "destroy i-1 shrink; destroy i-2 roll; destroy i-3 roll");
	assert_true(r.out.pp_roll_done);
	plan_pass_free(&r.out);
	spec_free(g);
}

/* Master's Updating.Duration / Count: a new member counts as up only once
 * it has run that long. */
static void
test_roll_settle(void **state)
{
	struct group_spec *d =
	    spec("{\"Size\":2}", ",\"Updating\":{\"Duration\":\"30s\"}");
	struct group_spec *c =
	    spec("{\"Size\":2}", ",\"Updating\":{\"Count\":3}");
	struct member m[] = { { "i-1", NULL, OLD, R, 0 },
		{ "i-2", NULL, NEW, R, 1000000 - 29999 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, d, m, N(m), true);
	assert_string_equal(r.text, "");
	m[1].m_since_ms = 1000000 - 30000;
	pass(&r, d, m, N(m), true);
	assert_string_equal(r.text, "destroy i-1 roll");
	/* Count 3, polls 200 ms apart: up after 400 ms. */
	m[1].m_since_ms = 1000000 - 399;
	pass(&r, c, m, N(m), true);
	assert_string_equal(r.text, "");
	m[1].m_since_ms = 1000000 - 400;
	pass(&r, c, m, N(m), true);
	assert_string_equal(r.text, "destroy i-1 roll");
	plan_pass_free(&r.out);
	spec_free(d);
	spec_free(c);
}

/*
 * A controller over the planner: every pass applies the actions (a create
 * is a provisioning member with the new hash, running from the next pass;
 * a destroy removes it) and checks the invariants of MaxUnavailable and
 * MaxSurge. Returns the passes until the roll ended; the destroyed IDs are
 * appended to order.
 */
static int
simulate(const struct group_spec *g, size_t start, char *order, size_t olen,
    size_t *min_up, size_t *max_members)
{
	struct member m[64];
	char ids[64][16];
	size_t n = 0, next = 1;
	struct run r = RUN_INIT;

	for (; n < start; n++, next++) {
		(void)snprintf(ids[n], sizeof(ids[n]), "i-%02zu", next);
		m[n] = (struct member){ ids[n], NULL, OLD, R, 0 };
	}
	*min_up = n;
	*max_members = n;
	order[0] = '\0';
	for (int round = 1; round < 100; round++) {
		size_t up = 0, keep = 0;

		for (size_t i = 0; i < n; i++)
			if (m[i].m_state == P)
				m[i].m_state = R;
		pass(&r, g, m, n, true);
		for (size_t i = 0; i < n; i++) {
			bool gone = false;

			for (size_t a = 0; a < r.out.pp_n; a++)
				gone = gone ||
				    (r.out.pp_act[a].a_op == PLAN_DESTROY &&
					r.out.pp_act[a].a_id == m[i].m_id);
			if (gone) {
				(void)strlcat(order, m[i].m_id, olen);
				(void)strlcat(order, " ", olen);
				continue;
			}
			(void)memmove(ids[keep], m[i].m_id, sizeof(ids[0]));
			m[keep] = m[i];
			m[keep].m_id = ids[keep];
			keep++;
		}
		n = keep;
		for (size_t a = 0; a < r.out.pp_n; a++) {
			if (r.out.pp_act[a].a_op != PLAN_CREATE)
				continue;
			(void)snprintf(
			    ids[n], sizeof(ids[n]), "i-%02zu", next++);
			m[n] = (struct member){ ids[n], NULL, NEW, P, 0 };
			n++;
		}
		for (size_t i = 0; i < n; i++)
			up += m[i].m_state == R;
		if (up < *min_up)
			*min_up = up;
		if (n > *max_members)
			*max_members = n;
		if (r.out.pp_roll_done) {
			plan_pass_free(&r.out);
			return round;
		}
	}
	plan_pass_free(&r.out);
	return -1;
}

static void
test_roll_simulated(void **state)
{
	static const struct {
		const char *updating;
		int passes;
		size_t min_up, max_members;
		const char *order;
	} t[] = {
		/* InfraKit's one at a time: destroy, create, destroy once it
		 * runs, ...; never more than one down. */
		{ "", 5, 2, 3, "i-01 i-02 i-03 " },
		/* Surge first: never fewer than 3 up, never more than 4. */
		{ ",\"Updating\":{\"MaxSurge\":1,\"MaxUnavailable\":0}", 6, 3,
		    4, "i-01 i-02 i-03 " },
		/* Two at a time. */
		{ ",\"Updating\":{\"MaxUnavailable\":2}", 3, 1, 3,
		    "i-01 i-02 i-03 " },
		/* Two extra and one down: done in two passes. */
		{ ",\"Updating\":{\"MaxSurge\":2,\"MaxUnavailable\":1}", 2, 2,
		    4, "i-01 i-02 i-03 " },
	};

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		struct group_spec *g = spec("{\"Size\":3}", t[i].updating);
		char order[256];
		size_t min_up, max_members;
		int passes =
		    simulate(g, 3, order, sizeof(order), &min_up, &max_members);

		print_message("%s: %d passes, min up %zu, max %zu, %s\n",
		    t[i].updating, passes, min_up, max_members, order);
		assert_int_equal(passes, t[i].passes);
		assert_int_equal(min_up, t[i].min_up);
		assert_int_equal(max_members, t[i].max_members);
		assert_string_equal(order, t[i].order);
		spec_free(g);
	}
}

/* ---- failures: back-off and the stop (our Recovery) ------------------- */

static void
test_backoff_schedule(void **state)
{
	struct group_spec *g = spec("{\"Size\":1}", "");
	struct group_spec *z =
	    spec("{\"Size\":1}", ",\"Recovery\":{\"Backoff\":\"0s\"}");
	static const int64_t want[] = { 0, 10000, 20000, 40000, 80000, 160000,
		300000, 300000 };

	(void)state;
	for (unsigned f = 0; f < N(want); f++)
		assert_true(plan_backoff_ms(g, f) == want[f]);
	assert_true(plan_backoff_ms(z, 5) == 0);
	assert_true(plan_backoff_ms(g, 1000) == 300000);
	spec_free(g);
	spec_free(z);
}

static void
test_hold_backoff(void **state)
{
	struct group_spec *g = spec("{\"Size\":3}", "");
	const struct member m[] = { { "i-1", NULL, OLD, R, 0 },
		{ "i-2", NULL, OLD, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	/* Two failures, the last 15 s ago: 20 s back-off, 5 s to go. No
	 * creates, and the roll waits too (it could not replace). */
	r.in.pi_failures = 2;
	r.in.pi_last_failure_ms = 1000000 - 15000;
	r.in.pi_now_ms = 1000000;
	r.in.pi_spec = g;
	pass(&r, g, m, N(m), true);
	assert_string_equal(r.text, "");
	assert_int_equal(r.out.pp_hold, PLAN_HOLD_BACKOFF);
	assert_true(r.out.pp_wait_ms == 5000);
	assert_int_equal(r.out.pp_held, 1);
	assert_string_equal(
	    r.out.pp_note, "2 provisions failed in a row: next try in 5000 ms");
	/* Waited out. */
	r.in.pi_last_failure_ms = 1000000 - 20000;
	pass(&r, g, m, N(m), true);
	assert_string_equal(r.text, "create grow");
	assert_int_equal(r.out.pp_hold, PLAN_HOLD_NONE);
	plan_pass_free(&r.out);
	spec_free(g);
}

static void
test_hold_stalled(void **state)
{
	struct group_spec *g = spec("{\"Size\":1}", "");
	struct group_spec *never = spec("{\"Size\":1}",
	    ",\"Recovery\":{\"MaxFailures\":0,"
	    "\"Backoff\":\"0s\"}");
	const struct member m[] = { { "i-1", NULL, NEW, F, 0 },
		{ "i-2", NULL, NEW, R, 0 }, { "i-3", NULL, NEW, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	r.in.pi_failures = 3;
	r.in.pi_now_ms = 1000000;
	r.in.pi_last_failure_ms = 0;
	r.in.pi_spec = g;
	/* Creation stops, destroys still happen. */
	pass(&r, g, m, 1, false);
	assert_string_equal(r.text, "");
	assert_int_equal(r.out.pp_hold, PLAN_HOLD_STALLED);
	assert_int_equal(r.out.pp_held, 1);
	assert_string_equal(r.out.pp_note,
	    "3 provisions failed in a row (Recovery.MaxFailures is 3): no new "
	    "members until the group is committed again");
	pass(&r, g, m, N(m), false);
	assert_string_equal(r.text, "destroy i-2 shrink");
	/* InfraKit's endless retry, every pass. */
	r.in.pi_failures = 50;
	r.in.pi_last_failure_ms = 1000000;
	pass(&r, never, m, 1, false);
	assert_string_equal(r.text, "create grow");
	assert_int_equal(r.out.pp_hold, PLAN_HOLD_NONE);
	plan_pass_free(&r.out);
	spec_free(g);
	spec_free(never);
}

/* ---- pets (§2.6) ------------------------------------------------------- */

static void
test_pets_pass(void **state)
{
	struct group_spec *g =
	    spec("{\"LogicalIDs\":[\"db-2\",\"db-1\",\"db-3\"]}", "");
	const struct member m[] = { { "i-1", "db-1", NEW, R, 0 },
		{ "i-2", "old-1", NEW, R, 0 }, { "i-3", NULL, NEW, R, 0 },
		{ "i-4", "db-1", NEW, P, 0 }, { "i-5", "db-3", NEW, F, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	/* Unknown LogicalID destroyed; no LogicalID ignored; db-1 twice
	 * kept; missing ones created in list order; failed not counted. */
	pass(&r, g, m, N(m), false);
	assert_string_equal(r.text,
	    "destroy i-2 unknown; create @db-2 missing; create @db-3 missing");
	assert_string_equal(r.out.pp_act[0].a_logical_id, "old-1");
	plan_pass_free(&r.out);
	spec_free(g);
}

/* In compat a LogicalID listed twice gets two members, as in InfraKit. */
static void
test_pets_listed_twice(void **state)
{
	struct group_spec *g = spec("{\"LogicalIDs\":[\"a\",\"a\"]}", "");
	const struct member one[] = { { "i-1", "a", NEW, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, one, 0, false);
	assert_string_equal(r.text, "create @a missing; create @a missing");
	pass(&r, g, one, 1, false);
	assert_string_equal(r.text, "");
	plan_pass_free(&r.out);
	spec_free(g);
}

static void
test_pets_stopped(void **state)
{
	struct group_spec *rep = spec("{\"LogicalIDs\":[\"a\",\"b\"]}", "");
	struct group_spec *rst = spec("{\"LogicalIDs\":[\"a\",\"b\"]}",
	    ",\"Recovery\":{\"RestartPolicy\":\"restart\"}");
	const struct member m[] = { { "i-1", "a", NEW, S, 0 },
		{ "i-2", "b", NEW, R, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, rep, m, N(m), false);
	assert_string_equal(r.text, "create @a missing");
	pass(&r, rst, m, N(m), false);
	assert_string_equal(r.text, "restart i-1 stopped");
	plan_pass_free(&r.out);
	spec_free(rep);
	spec_free(rst);
}

/* A pets roll destroys one pet; the next pass recreates its LogicalID
 * with the new config (master, #844: it waits for it). */
static void
test_pets_roll(void **state)
{
	struct group_spec *g = spec("{\"LogicalIDs\":[\"a\",\"b\"]}", "");
	const struct member m[] = { { "i-2", "b", OLD, R, 0 },
		{ "i-1", "a", OLD, R, 0 } };
	const struct member gap[] = { { "i-2", "b", OLD, R, 0 } };
	const struct member wait[] = { { "i-2", "b", OLD, R, 0 },
		{ "i-3", "a", NEW, P, 0 } };
	struct run r = RUN_INIT;

	(void)state;
	pass(&r, g, m, N(m), true);
	assert_string_equal(r.text, "destroy i-1 roll");
	pass(&r, g, gap, N(gap), true);
	assert_string_equal(r.text, "create @a missing");
	pass(&r, g, wait, N(wait), true);
	assert_string_equal(r.text, "");
	plan_pass_free(&r.out);
	spec_free(g);
}

static void
test_member_of(void **state)
{
	struct inst_view v;
	struct member m;

	(void)state;
	memset(&v, 0, sizeof(v));
	(void)strlcpy(v.v_id, "i-1", sizeof(v.v_id));
	(void)strlcpy(v.v_state, "running", sizeof(v.v_state));
	v.v_reported = true;
	assert_int_equal(tags_set(&v.v_tags, "infrakit.config.hash", "h"), 0);
	assert_int_equal(tags_set(&v.v_tags, "infrakit.logical_id", "t"), 0);
	assert_int_equal(plan_member_of(&v, GHASH_TAG_CONFIG_HASH, &m), 1);
	assert_string_equal(m.m_id, "i-1");
	assert_string_equal(m.m_hash, "h");
	/* master: no LogicalID, so the tag's. */
	assert_string_equal(m.m_logical_id, "t");
	assert_int_equal(m.m_state, MEMBER_RUNNING);
	v.v_logical_id = strdup("lid");
	assert_int_equal(plan_member_of(&v, GHASH_TAG_CONFIG_SHA, &m), 1);
	assert_string_equal(m.m_logical_id, "lid");
	assert_null(m.m_hash);
	v.v_reported = false; /* off or suspended */
	assert_int_equal(plan_member_of(&v, GHASH_TAG_CONFIG_HASH, &m), 1);
	assert_int_equal(m.m_state, MEMBER_STOPPED);
	(void)strlcpy(v.v_state, "provisioning", sizeof(v.v_state));
	assert_int_equal(plan_member_of(&v, GHASH_TAG_CONFIG_HASH, &m), 1);
	assert_int_equal(m.m_state, MEMBER_PROVISIONING);
	(void)strlcpy(v.v_state, "failed", sizeof(v.v_state));
	assert_int_equal(plan_member_of(&v, GHASH_TAG_CONFIG_HASH, &m), 1);
	assert_int_equal(m.m_state, MEMBER_FAILED);
	(void)strlcpy(v.v_state, "destroying", sizeof(v.v_state));
	assert_int_equal(plan_member_of(&v, GHASH_TAG_CONFIG_HASH, &m), 0);
	inst_view_free(&v);
}

/* ---- commit plans (§3.2) ---------------------------------------------- */

static void
commit_is(const struct group_spec *old, const char *old_hash,
    const struct group_spec *new, const struct member *m, size_t n,
    enum ghash_era style, const char *text, bool roll)
{
	struct plan_commit_in in = { old, old_hash, new, NEW, m, n, style };
	struct plan_commit pc;
	struct err err;

	if (plan_commit(&in, &pc, &err) != 0)
		fail_msg("plan_commit: %s", err.msg);
	if (strcmp(pc.pc_text, text) != 0)
		fail_msg("got  %s\nwant %s", pc.pc_text, text);
	assert_int_equal(pc.pc_roll_start, roll);
}

static void
test_commit_new_group(void **state)
{
	struct group_spec *c = spec("{\"Size\":3}", "");
	struct group_spec *p = spec("{\"LogicalIDs\":[\"a\",\"b\"]}", "");
	const struct member m[] = { { "i-1", NULL, OLD, R, 0 } };
	struct plan_commit_in in = { NULL, NULL, c, NEW, m, 1, GHASH_MASTER };
	struct plan_commit pc;
	struct err err;
	char msg[PLAN_TEXT_MAX + 64];

	(void)state;
	commit_is(
	    NULL, NULL, c, m, 1, GHASH_MASTER, "Managing 3 instances", false);
	commit_is(
	    NULL, NULL, p, m, 0, GHASH_V05, "Managing 2 instances", false);
	assert_int_equal(plan_commit(&in, &pc, &err), 0);
	assert_int_equal(pc.pc_create, 2);
	plan_commit_message("cattle", &pc, true, msg, sizeof(msg));
	assert_string_equal(
	    msg, "Committing cattle would involve: Managing 3 instances");
	plan_commit_message("cattle", &pc, false, msg, sizeof(msg));
	assert_string_equal(msg, "Committed cattle: Managing 3 instances");
	spec_free(c);
	spec_free(p);
}

/* The scaler rows of §3.2, in order. */
static void
test_commit_cattle_table(void **state)
{
	struct group_spec *s3 = spec("{\"Size\":3}", "");
	struct group_spec *s2 = spec("{\"Size\":2}", "");
	struct group_spec *s5 = spec("{\"Size\":5}", "");
	const struct member cur[] = { { "i-1", NULL, NEW, R, 0 },
		{ "i-2", NULL, NEW, R, 0 }, { "i-3", NULL, NEW, P, 0 } };
	const struct member mix[] = { { "i-3", NULL, OLD, R, 0 },
		{ "i-1", NULL, NEW, R, 0 }, { "i-2", NULL, NULL, R, 0 } };
	const struct member one_old[] = { { "i-1", NULL, OLD, R, 0 },
		{ "i-2", NULL, NEW, R, 0 }, { "i-3", NULL, NEW, R, 0 } };
	const struct member all_old[] = { { "i-1", NULL, OLD, R, 0 },
		{ "i-2", NULL, OLD, R, 0 }, { "i-3", NULL, OLD, R, 0 } };

	(void)state;
	/* new = old, no undesired, same hash: Noop in every era. */
	commit_is(s3, NEW, s3, cur, 3, GHASH_V01, "Noop", false);
	commit_is(s3, NEW, s3, cur, 3, GHASH_MASTER, "Noop", false);
	/* ... hash differs: v0.x adjusts, master says Noop (#852). */
	commit_is(s3, OLD, s3, cur, 3, GHASH_V05,
	    "Adjusting the instance configuration, no restarts necessary",
	    false);
	commit_is(s3, OLD, s3, cur, 3, GHASH_V01,
	    "Adjusting the instance configuration, no restarts necessary",
	    false);
	commit_is(s3, OLD, s3, cur, 3, GHASH_MASTER, "Noop", false);
	/* new = old, U undesired (a missing tag is undesired too). */
	commit_is(s3, NEW, s3, mix, 3, GHASH_MASTER,
	    "Performing a rolling update on 2 instances", true);
	/* new < old, nothing outdated left once the smallest IDs go. */
	commit_is(s3, NEW, s2, one_old, 3, GHASH_MASTER,
	    "Terminating 1 instances to reduce the group size to 2", false);
	/* new < old, R > 0; v0.1-v0.4 print two spaces. */
	commit_is(s3, NEW, s2, all_old, 3, GHASH_MASTER,
	    "Terminating 1 instances to reduce the group size to 2, then "
	    "performing a rolling update on 2 instances",
	    true);
	commit_is(s3, NEW, s2, all_old, 3, GHASH_V05,
	    "Terminating 1 instances to reduce the group size to 2, then "
	    "performing a rolling update on 2 instances",
	    true);
	commit_is(s3, NEW, s2, all_old, 3, GHASH_V01,
	    "Terminating 1 instances to reduce the group size to 2,  then "
	    "performing a rolling update on 2 instances",
	    true);
	/* new > old. */
	commit_is(s3, NEW, s5, cur, 3, GHASH_MASTER,
	    "Adding 2 instances to increase the group size to 5", false);
	commit_is(s3, NEW, s5, all_old, 3, GHASH_MASTER,
	    "Performing a rolling update on 3 instances, then adding 2 "
	    "instances to increase the group size to 5",
	    true);
	spec_free(s3);
	spec_free(s2);
	spec_free(s5);
}

static void
test_commit_numbers(void **state)
{
	struct group_spec *s3 = spec("{\"Size\":3}", "");
	struct group_spec *s1 = spec("{\"Size\":1}", "");
	const struct member m[] = { { "i-1", NULL, NEW, R, 0 },
		{ "i-2", NULL, OLD, R, 0 }, { "i-3", NULL, OLD, R, 0 },
		{ "i-4", NULL, OLD, F, 0 } };
	struct plan_commit_in in = { s3, NEW, s1, NEW, m, N(m), GHASH_MASTER };
	struct plan_commit pc;
	struct err err;

	(void)state;
	/* i-1 and i-2 go (smallest IDs, Q1), i-3 is left to roll; failed
	 * i-4 does not count. */
	assert_int_equal(plan_commit(&in, &pc, &err), 0);
	assert_int_equal(pc.pc_destroy, 2);
	assert_int_equal(pc.pc_roll, 1);
	assert_int_equal(pc.pc_create, 0);
	assert_string_equal(pc.pc_text,
	    "Terminating 2 instances to reduce the group size to 1, then "
	    "performing a rolling update on 1 instances");
	spec_free(s3);
	spec_free(s1);
}

static void
test_commit_pets(void **state)
{
	struct group_spec *p = spec("{\"LogicalIDs\":[\"a\",\"b\"]}", "");
	const struct member cur[] = { { "i-1", "a", NEW, R, 0 },
		{ "i-2", "b", NEW, R, 0 }, { "i-3", NULL, OLD, R, 0 } };
	const struct member stale[] = { { "i-1", "a", OLD, R, 0 },
		{ "i-2", "b", NEW, R, 0 } };

	(void)state;
	/* Members without a LogicalID are not the quorum's (never rolled). */
	commit_is(p, OLD, p, cur, N(cur), GHASH_MASTER, "Noop", false);
	commit_is(p, OLD, p, cur, N(cur), GHASH_V05, "Noop", false);
	/* Q17 fixed: stale pets are rolled even by an identical commit. */
	commit_is(p, NEW, p, stale, N(stale), GHASH_V05,
	    "Performing a rolling update on 1 instances", true);
	spec_free(p);
}

static void
commit_refused(
    const struct group_spec *old, const struct group_spec *new, const char *msg)
{
	struct plan_commit_in in = { old, NEW, new, NEW, NULL, 0,
		GHASH_MASTER };
	struct plan_commit pc;
	struct err err;

	assert_int_equal(plan_commit(&in, &pc, &err), -1);
	assert_string_equal(err.msg, msg);
}

static void
test_commit_refusals(void **state)
{
	struct group_spec *ab = spec("{\"LogicalIDs\":[\"a\",\"b\"]}", "");
	struct group_spec *ba = spec("{\"LogicalIDs\":[\"b\",\"a\"]}", "");
	struct group_spec *abc =
	    spec("{\"LogicalIDs\":[\"a\",\"b\",\"c\"]}", "");
	struct group_spec *s2 = spec("{\"Size\":2}", "");
	struct group_spec *q = calloc(1, sizeof(*q));
	const char *qt =
	    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":2},"
	    "\"Instance\":{\"Plugin\":\"vmware-fusion/qemu\",\"Properties\":{"
	    "\"VMX\":\"a\"}},\"Flavor\":{\"Plugin\":\"vanilla\"}}}";
	struct err err;

	(void)state;
	assert_int_equal(gspec_parse(qt, strlen(qt), 0, q, &err), 0);
	/* Q10: reordering counts as a change, as in InfraKit. */
	commit_refused(ab, ba,
	    "Logical ID changes to a quorum is not currently supported: commit "
	    "the same Spec.Properties.Allocation.LogicalIDs in the same order, "
	    "or destroy the group and commit it again");
	commit_refused(ab, abc,
	    "Logical ID changes to a quorum is not currently supported: commit "
	    "the same Spec.Properties.Allocation.LogicalIDs in the same order, "
	    "or destroy the group and commit it again");
	/* Q9: InfraKit would destroy every member. */
	commit_refused(s2, ab,
	    "Spec.Properties.Allocation: group 'g' has a Size (cattle) and "
	    "cannot switch to LogicalIDs (pets) (InfraKit would destroy every "
	    "member): destroy the group and commit it again");
	commit_refused(ab, s2,
	    "Spec.Properties.Allocation: group 'g' has LogicalIDs (pets) and "
	    "cannot switch to a Size (cattle) (InfraKit would destroy every "
	    "member): destroy the group and commit it again");
	/* Q18: the old plugin's members would be orphaned. */
	commit_refused(s2, q,
	    "Spec.Properties.Instance.Plugin changes from 'vmware-fusion' to "
	    "'vmware-fusion/qemu': the members on 'vmware-fusion' would be "
	    "left unmanaged; keep the plugin, or destroy the group and commit "
	    "it again");
	spec_free(ab);
	spec_free(ba);
	spec_free(abc);
	spec_free(s2);
	spec_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cattle_steady_grow),
		cmocka_unit_test(test_cattle_shrink_bytewise),
		cmocka_unit_test(test_cattle_provisioning_and_failed),
		cmocka_unit_test(test_cattle_stopped),
		cmocka_unit_test(test_outdated_kept_without_roll),
		cmocka_unit_test(test_bootstrap_label),
		cmocka_unit_test(test_roll_lowest_first_and_waits),
		cmocka_unit_test(test_roll_down_members_first),
		cmocka_unit_test(test_roll_settle),
		cmocka_unit_test(test_roll_simulated),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_hold_backoff),
		cmocka_unit_test(test_hold_stalled),
		cmocka_unit_test(test_pets_pass),
		cmocka_unit_test(test_pets_listed_twice),
		cmocka_unit_test(test_pets_stopped),
		cmocka_unit_test(test_pets_roll),
		cmocka_unit_test(test_member_of),
		cmocka_unit_test(test_commit_new_group),
		cmocka_unit_test(test_commit_cattle_table),
		cmocka_unit_test(test_commit_numbers),
		cmocka_unit_test(test_commit_pets),
		cmocka_unit_test(test_commit_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
