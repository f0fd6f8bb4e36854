/*
 * Unit tests: the group controller (group/ctl.c, greq.c, reconcile.c) with
 * the real service and the test backend, through gctl_submit as the RPC
 * layer uses it. Run under ASan and TSan in make test: the hand-overs
 * between the controller, the service and clients, and the stop order, are
 * what these tests are for; the behaviour is tested in depth through the
 * socket (tests/integration/test_group.py).
 */
#include "cm_compat.h"

#include <pthread.h>

#include "group/gctl.h"
#include "service/service.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"

extern const struct backend_ops backend_test_ops;

#define WAIT_MS 20000

struct fixture {
	char *base;
	char vm_dir[PATH_BUF], vm_lib[PATH_BUF], ctl[PATH_BUF];
	struct bkent bk;
	struct service *sv;
	const struct svc *svc; /* the service's, or the double's */
	struct gctl *gc;
};

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void
wake(struct gctl_req *r, void *arg)
{
	struct waiter *w = arg;

	(void)r;
	(void)pthread_mutex_lock(&w->mu);
	w->done = true;
	(void)pthread_cond_signal(&w->cv);
	(void)pthread_mutex_unlock(&w->mu);
}

static struct gctl_req *
req(enum gctl_op op, const char *id, struct waiter *w)
{
	struct gctl_req *r = gctl_req_new(op);

	assert_non_null(r);
	if (id != NULL)
		(void)strlcpy(r->gr_id, id, sizeof(r->gr_id));
	(void)pthread_mutex_init(&w->mu, NULL);
	(void)pthread_cond_init(&w->cv, NULL);
	w->done = false;
	r->gr_done = wake;
	r->gr_done_arg = w;
	return r;
}

static void
await(struct waiter *w)
{
	(void)pthread_mutex_lock(&w->mu);
	while (!w->done)
		(void)pthread_cond_wait(&w->cv, &w->mu);
	(void)pthread_mutex_unlock(&w->mu);
	(void)pthread_mutex_destroy(&w->mu);
	(void)pthread_cond_destroy(&w->cv);
}

static int
call(struct fixture *f, struct gctl_req *r, struct waiter *w)
{
	gctl_submit(f->gc, r);
	await(w);
	return r->gr_rc;
}

static void
ctl_set(struct fixture *f, const char *name, const char *text)
{
	char p[PATH_BUF];
	struct err err;

	(void)snprintf(p, sizeof(p), "%s/%s", f->ctl, name);
	assert_int_equal(
	    atomic_write_file(p, text, strlen(text), 0644, &err), 0);
}

static void
open_gctl(struct fixture *f)
{
	struct gctl_conf gc;
	struct err err;

	memset(&gc, 0, sizeof(gc));
	gc.gc_vm_dir = f->vm_dir;
	gc.gc_svc = f->svc;
	gc.gc_plugin = "vmware-fusion";
	gc.gc_era = GHASH_MASTER;
	gc.gc_poll_ms = 100;
	err_clear(&err);
	f->gc = gctl_open(&gc, &err);
	if (f->gc == NULL)
		fail_msg("gctl_open: %s", err.msg);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct service_conf sc;
	struct backend_conf bc;
	struct err err;
	char p[PATH_BUF];

	log_init(
	    getenv("TEST_LOG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_QUIET, NULL);
	f->base = cm_tmpdir();
	(void)snprintf(f->vm_dir, sizeof(f->vm_dir), "%s/vms", f->base);
	(void)snprintf(f->vm_lib, sizeof(f->vm_lib), "%s/lib", f->base);
	(void)snprintf(f->ctl, sizeof(f->ctl), "%s/ctl", f->base);
	(void)snprintf(p, sizeof(p), "%s/alpine.vmwarevm", f->vm_lib);
	assert_int_equal(mkdir_p(p, 0700, &err), 0);
	assert_int_equal(mkdir_p(f->ctl, 0700, &err), 0);
	(void)snprintf(
	    p, sizeof(p), "%s/alpine.vmwarevm/alpine.vmx", f->vm_lib);
	assert_int_equal(
	    atomic_write_file(p, "memsize = \"512\"\n", 16, 0644, &err), 0);
	assert_int_equal(setenv("TESTBACKEND_CTL", f->ctl, 1), 0);
	memset(&bc, 0, sizeof(bc));
	f->bk.be_ops = &backend_test_ops;
	assert_int_equal(backend_test_ops.open(&bc, &f->bk.be_ctx, &err), 0);
	memset(&sc, 0, sizeof(sc));
	sc.sc_vm_dir = f->vm_dir;
	sc.sc_vm_lib = f->vm_lib;
	sc.sc_backends = &f->bk;
	sc.sc_n_backends = 1;
	sc.sc_max_parallel = 4;
	sc.sc_poll_ms = 100;
	sc.sc_op_timeout_ms = 10000;
	sc.sc_stop_soft_ms = 200;
	f->sv = service_open(&sc, &err);
	if (f->sv == NULL)
		fail_msg("service_open: %s", err.msg);
	f->svc = service_svc(f->sv);
	open_gctl(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	/* The daemon's order: the controller first. */
	gctl_stop(f->gc);
	service_stop(f->sv);
	gctl_close(f->gc);
	service_close(f->sv);
	backend_test_ops.close(f->bk.be_ctx);
	(void)rm_tree(f->base, NULL);
	free(f->base);
	free(f);
	return 0;
}

static const char *
spec(char *buf, size_t len, const char *id, int size, const char *vmx)
{
	(void)snprintf(buf, len,
	    "{\"ID\":\"%s\",\"Properties\":{\"Allocation\":{\"Size\":%d},"
	    "\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{"
	    "\"VMX\":\"%s\"}},\"Flavor\":{\"Plugin\":\"vanilla\","
	    "\"Properties\":{\"Init\":[\"echo hi\"]}}}}",
	    id, size, vmx);
	return buf;
}

/* A commit request of text, checked as the RPC layer does. */
static struct gctl_req *
commit_req(struct fixture *f, const char *text, struct waiter *w)
{
	struct gctl_req *r = req(GCTL_COMMIT, NULL, w);
	struct err err;

	if (gctl_check(f->gc, text, strlen(text), 0, &r->gr_spec, &err) != 0)
		fail_msg("%s", err.msg);
	(void)strlcpy(r->gr_id, r->gr_spec.g_id, sizeof(r->gr_id));
	return r;
}

static void
commit(struct fixture *f, const char *text, const char *want)
{
	struct waiter w;
	struct gctl_req *r = commit_req(f, text, &w);

	if (call(f, r, &w) != 0)
		fail_msg("commit: %s", r->gr_err.msg);
	assert_string_equal(r->gr_text, want);
	gctl_req_free(r);
}

/* Waits until group id is steady with n running; polls its status. */
static void
wait_steady(struct fixture *f, const char *id, size_t n)
{
	int64_t end = mono_ms() + WAIT_MS;

	for (;;) {
		struct waiter w;
		struct gctl_req *r = req(GCTL_DESCRIBE, id, &w);
		bool ok;

		assert_int_equal(call(f, r, &w), 0);
		ok = r->gr_st[0].st_steady && r->gr_st[0].st_running == n;
		if (!ok && mono_ms() > end)
			fail_msg("%s: %s", id, r->gr_st[0].st_doing);
		gctl_req_free(r);
		if (ok)
			return;
		sleep_ms(20);
	}
}

/* The members of group id in any state (failed, stopped ones too). */
static size_t
instances(struct fixture *f, const char *id)
{
	struct waiter w;
	struct gctl_req *r = req(GCTL_DESCRIBE, id, &w);
	size_t n;

	r->gr_all = true;
	assert_int_equal(call(f, r, &w), 0);
	n = r->gr_members.l_n;
	gctl_req_free(r);
	return n;
}

static void
test_commit_and_reload(void **state)
{
	struct fixture *f = *state;
	char s[1024];
	struct waiter w;
	struct gctl_req *r;

	commit(f, spec(s, sizeof(s), "g", 2, "alpine"),
	    "Committed g: Managing 2 instances");
	wait_steady(f, "g", 2);
	assert_int_equal(instances(f, "g"), 2);
	/* A controller started again finds the group and keeps it as is. */
	gctl_close(f->gc);
	open_gctl(f);
	r = req(GCTL_INSPECT, NULL, &w);
	assert_int_equal(call(f, r, &w), 0);
	assert_int_equal(r->gr_n_st, 1);
	assert_string_equal(r->gr_st[0].st_id, "g");
	assert_non_null(strstr(r->gr_st[0].st_spec_json, "\"Size\":2"));
	gctl_req_free(r);
	wait_steady(f, "g", 2);
	assert_int_equal(instances(f, "g"), 2);
	commit(f, spec(s, sizeof(s), "g", 2, "alpine"), "Committed g: Noop");
	r = req(GCTL_SIZE, "g", &w);
	assert_int_equal(call(f, r, &w), 0);
	assert_int_equal(r->gr_size, 2);
	gctl_req_free(r);
}

static void
test_stop_answers_everything(void **state)
{
	struct fixture *f = *state;
	struct waiter w[6];
	struct gctl_req *r[6];
	char s[1024];
	struct waiter wl;
	struct gctl_req *late;

	ctl_set(f, "delay-create", "2000");
	r[0] = commit_req(f, spec(s, sizeof(s), "g", 3, "alpine"), &w[0]);
	r[1] = req(GCTL_DESCRIBE, "g", &w[1]);
	r[2] = req(GCTL_INSPECT, NULL, &w[2]);
	r[3] = commit_req(f, spec(s, sizeof(s), "h", 1, "alpine"), &w[3]);
	r[4] = req(GCTL_DESTROY, "h", &w[4]);
	r[5] = req(GCTL_FREE, "nope", &w[5]);
	for (int i = 0; i < 6; i++)
		gctl_submit(f->gc, r[i]);
	gctl_stop(f->gc);
	for (int i = 0; i < 6; i++) {
		await(&w[i]);
		/* Done, refused for a reason, or "shutting down". */
		assert_true(r[i]->gr_rc == 0 || r[i]->gr_err.code == EIK_BUSY ||
		    r[i]->gr_err.code == EIK_NOTFOUND);
		gctl_req_free(r[i]);
	}
	late = req(GCTL_INSPECT, NULL, &wl);
	assert_int_equal(call(f, late, &wl), -1);
	assert_int_equal(late->gr_err.code, EIK_BUSY);
	assert_non_null(strstr(late->gr_err.msg, "shutting down"));
	gctl_req_free(late);
}

static void
refused(struct fixture *f, const char *text, const char *want)
{
	struct group_spec g;
	struct err err;

	memset(&g, 0, sizeof(g));
	err_clear(&err);
	assert_int_equal(
	    gctl_check(f->gc, text, strlen(text), 0, &g, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err.msg, want);
	gspec_free(&g);
}

static void
test_check(void **state)
{
	struct fixture *f = *state;
	char s[1024];

	refused(f, spec(s, sizeof(s), "g", 1, "nosuch"),
	    "template \"nosuch\" not found");
	refused(f,
	    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},"
	    "\"Instance\":{\"Plugin\":\"other\",\"Properties\":{\"VMX\":"
	    "\"alpine\"}},\"Flavor\":{\"Plugin\":\"vanilla\"}}}",
	    "Failed to find Instance plugin 'other'");
	refused(f,
	    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},"
	    "\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{"
	    "\"VMX\":\"alpine\",\"NumCPU\":1}},\"Flavor\":{\"Plugin\":"
	    "\"vanilla\"}}}",
	    "did you mean");
	refused(f,
	    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},"
	    "\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{"
	    "\"VMX\":\"alpine\"}},\"Flavor\":{\"Plugin\":\"vanilla\","
	    "\"Properties\":{\"Tags\":{\"infrakit.config.hash\":\"x\"}}}}}",
	    "infrakit.config.hash");
}

static void
test_destroy(void **state)
{
	struct fixture *f = *state;
	int64_t end = mono_ms() + WAIT_MS;
	struct waiter w;
	struct gctl_req *r;
	char s[1024];

	commit(f, spec(s, sizeof(s), "g", 2, "alpine"),
	    "Committed g: Managing 2 instances");
	wait_steady(f, "g", 2);
	r = req(GCTL_DESTROY, "g", &w);
	assert_int_equal(call(f, r, &w), 0);
	gctl_req_free(r);
	for (;;) {
		size_t n;

		r = req(GCTL_INSPECT, NULL, &w);
		assert_int_equal(call(f, r, &w), 0);
		n = r->gr_n_st;
		gctl_req_free(r);
		if (n == 0)
			break;
		if (mono_ms() > end)
			fail_msg("the destroyed group is still there");
		sleep_ms(20);
	}
	r = req(GCTL_DESCRIBE, "g", &w);
	assert_int_equal(call(f, r, &w), -1);
	assert_non_null(strstr(r->gr_err.msg, "is not being watched"));
	gctl_req_free(r);
}

/* ---- a service double whose guests report readiness ------------------ */

#define DBL_MAX 32

struct dbl_inst {
	char di_id[ID_MAX];
	struct tags di_tags;
	int di_ready;
};

static struct {
	pthread_mutex_t d_mu;
	struct dbl_inst d_v[DBL_MAX];
	size_t d_n;
	unsigned d_seq, d_destroys;
	int d_new_ready; /* what a new member's guest says */
	struct svc_req *d_watch;
	uint64_t d_gen;
} dbl = { PTHREAD_MUTEX_INITIALIZER, { { "", TAGS_INIT, 0 } }, 0, 0, 0, 0, NULL,
	1 };

static int
dbl_validate(void *ctx, const char *type, const struct inst_props *props,
    char *tmpl, size_t tmpllen, struct err *err)
{
	(void)ctx;
	(void)type;
	(void)props;
	(void)err;
	(void)strlcpy(tmpl, "/lib/alpine.vmx", tmpllen);
	return 0;
}

/* Something changed: the watch (if any) is answered; dbl.d_mu held. */
static struct svc_req *
dbl_changed(void)
{
	struct svc_req *w = dbl.d_watch;

	dbl.d_gen++;
	dbl.d_watch = NULL;
	if (w != NULL)
		w->sr_gen = dbl.d_gen;
	return w;
}

static void
dbl_describe(struct svc_req *r)
{
	const char *g = tags_get(&r->sr_tags, "infrakit.group");

	for (size_t i = 0; i < dbl.d_n; i++) {
		struct inst_view *v;

		if (g != NULL &&
		    (tags_get(&dbl.d_v[i].di_tags, "infrakit.group") == NULL ||
			strcmp(tags_get(&dbl.d_v[i].di_tags, "infrakit.group"),
			    g) != 0))
			continue;
		v = inst_list_add(&r->sr_list);
		assert_non_null(v);
		(void)strlcpy(v->v_id, dbl.d_v[i].di_id, sizeof(v->v_id));
		assert_int_equal(tags_copy(&v->v_tags, &dbl.d_v[i].di_tags), 0);
		(void)strlcpy(v->v_state, "running", sizeof(v->v_state));
		(void)strlcpy(v->v_power, "running", sizeof(v->v_power));
		v->v_reported = true;
		v->v_ready = dbl.d_v[i].di_ready;
		v->v_created_ms = wall_ms();
	}
}

static struct svc_req *
dbl_handle(struct svc_req *r)
{
	switch (r->sr_op) {
	case SVC_PROVISION:
		assert_true(dbl.d_n < DBL_MAX);
		(void)snprintf(
		    dbl.d_v[dbl.d_n].di_id, ID_MAX, "i-%03u", dbl.d_seq++);
		assert_int_equal(
		    tags_copy(&dbl.d_v[dbl.d_n].di_tags, &r->sr_spec.s_tags),
		    0);
		dbl.d_v[dbl.d_n].di_ready = dbl.d_new_ready;
		(void)strlcpy(
		    r->sr_out_id, dbl.d_v[dbl.d_n].di_id, sizeof(r->sr_out_id));
		dbl.d_n++;
		return dbl_changed();
	case SVC_DESTROY:
		for (size_t i = 0; i < dbl.d_n; i++)
			if (strcmp(dbl.d_v[i].di_id, r->sr_id) == 0) {
				tags_free(&dbl.d_v[i].di_tags);
				dbl.d_v[i] = dbl.d_v[--dbl.d_n];
				dbl.d_destroys++;
				return dbl_changed();
			}
		return NULL;
	case SVC_DESCRIBE:
		dbl_describe(r);
		return NULL;
	default:
		return NULL;
	}
}

/* Answers inline, on the controller's thread (the contract allows it),
 * except a watch with nothing new: it waits for a change. */
static void
dbl_submit(void *ctx, struct svc_req *r)
{
	struct svc_req *w;

	(void)ctx;
	(void)pthread_mutex_lock(&dbl.d_mu);
	if (r->sr_op == SVC_WATCH && r->sr_gen == dbl.d_gen) {
		assert_null(dbl.d_watch);
		dbl.d_watch = r;
		(void)pthread_mutex_unlock(&dbl.d_mu);
		return;
	}
	if (r->sr_op == SVC_WATCH)
		r->sr_gen = dbl.d_gen;
	w = dbl_handle(r);
	(void)pthread_mutex_unlock(&dbl.d_mu);
	svc_req_answer(r, 0, NULL);
	if (w != NULL)
		svc_req_answer(w, 0, NULL);
}

static const struct svc_ops dbl_ops = {
	.validate = dbl_validate,
	.submit = dbl_submit,
};
static const struct svc dbl_svc = { &dbl_ops, NULL };

/* Every guest of the double says it is ready now; with and_new, so will
 * the guests of members created from now on. */
static void
dbl_all_ready(bool and_new)
{
	struct svc_req *w;

	(void)pthread_mutex_lock(&dbl.d_mu);
	if (and_new)
		dbl.d_new_ready = 1;
	for (size_t i = 0; i < dbl.d_n; i++)
		dbl.d_v[i].di_ready = 1;
	w = dbl_changed();
	(void)pthread_mutex_unlock(&dbl.d_mu);
	if (w != NULL)
		svc_req_answer(w, 0, NULL);
}

static unsigned
dbl_destroys(void)
{
	unsigned n;

	(void)pthread_mutex_lock(&dbl.d_mu);
	n = dbl.d_destroys;
	(void)pthread_mutex_unlock(&dbl.d_mu);
	return n;
}

static int
setup_dbl(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	log_init(
	    getenv("TEST_LOG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_QUIET, NULL);
	f->base = cm_tmpdir();
	(void)snprintf(f->vm_dir, sizeof(f->vm_dir), "%s/vms", f->base);
	f->svc = &dbl_svc;
	open_gctl(f);
	*state = f;
	return 0;
}

static int
teardown_dbl(void **state)
{
	struct fixture *f = *state;
	struct svc_req *w;

	gctl_close(f->gc);
	/* The orphaned watch: answered as the service would at its stop. */
	(void)pthread_mutex_lock(&dbl.d_mu);
	w = dbl.d_watch;
	dbl.d_watch = NULL;
	for (size_t i = 0; i < dbl.d_n; i++)
		tags_free(&dbl.d_v[i].di_tags);
	dbl.d_n = 0;
	(void)pthread_mutex_unlock(&dbl.d_mu);
	if (w != NULL)
		svc_req_answer(w, -1, NULL);
	(void)rm_tree(f->base, NULL);
	free(f->base);
	free(f);
	return 0;
}

/* A rolling update waits for each replacement's guest to say it is ready,
 * not only for its VM to run. */
static void
test_roll_waits_for_ready(void **state)
{
	struct fixture *f = *state;
	char s[1024];
	int64_t end;

	dbl_all_ready(true);
	commit(f, spec(s, sizeof(s), "g", 2, "alpine"),
	    "Committed g: Managing 2 instances");
	wait_steady(f, "g", 2);
	/* From now on new members' guests are not ready at first. */
	(void)pthread_mutex_lock(&dbl.d_mu);
	dbl.d_new_ready = 0;
	(void)pthread_mutex_unlock(&dbl.d_mu);
	(void)snprintf(s, sizeof(s),
	    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":2},"
	    "\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{"
	    "\"VMX\":\"alpine\"}},\"Flavor\":{\"Plugin\":\"vanilla\","
	    "\"Properties\":{\"Init\":[\"echo v2\"]}}}}");
	commit(f, s, "Committed g: Performing a rolling update on 2 instances");
	/* One old member goes; its replacement runs but is not ready. */
	end = mono_ms() + WAIT_MS;
	while (dbl_destroys() < 1 && mono_ms() < end)
		sleep_ms(10);
	assert_int_equal(dbl_destroys(), 1);
	sleep_ms(300); /* several rounds: nothing more may go meanwhile */
	assert_int_equal(dbl_destroys(), 1);
	{
		struct waiter w;
		struct gctl_req *r = req(GCTL_DESCRIBE, "g", &w);

		assert_int_equal(call(f, r, &w), 0);
		assert_int_equal(r->gr_st[0].st_running, 1);
		assert_int_equal(r->gr_st[0].st_provisioning, 1);
		assert_false(r->gr_st[0].st_steady);
		gctl_req_free(r);
	}
	/* Ready: the next old member goes, and the roll ends. */
	dbl_all_ready(false);
	end = mono_ms() + WAIT_MS;
	while (dbl_destroys() < 2 && mono_ms() < end)
		sleep_ms(10);
	assert_int_equal(dbl_destroys(), 2);
	dbl_all_ready(true);
	wait_steady(f, "g", 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_commit_and_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stop_answers_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_roll_waits_for_ready, setup_dbl, teardown_dbl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
