/*
 * Unit tests: the service (service/) with the test backend, through its
 * request interface as the RPC layer uses it. Run under ASan and TSan in
 * make test: the shutdown order and the hand-overs between threads are
 * what these tests are for.
 */
#include "cm_compat.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "service/service.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"

extern const struct backend_ops backend_test_ops;

struct fixture {
	char *base;
	char vm_dir[PATH_BUF], vm_lib[PATH_BUF], ctl[PATH_BUF];
	struct bkent bk;
	struct service *sv;
	const struct svc *svc;
};

/* A request answered through a condition variable. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void
wake(struct svc_req *r, void *arg)
{
	struct waiter *w = arg;

	(void)r;
	(void)pthread_mutex_lock(&w->mu);
	w->done = true;
	(void)pthread_cond_signal(&w->cv);
	(void)pthread_mutex_unlock(&w->mu);
}

static struct svc_req *
req(enum svc_op op, struct waiter *w)
{
	struct svc_req *r = svc_req_new(op);

	assert_non_null(r);
	(void)pthread_mutex_init(&w->mu, NULL);
	(void)pthread_cond_init(&w->cv, NULL);
	w->done = false;
	r->sr_done = wake;
	r->sr_done_arg = w;
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

/* Submits r and waits for its answer; returns sr_rc. */
static int
call(struct fixture *f, struct svc_req *r, struct waiter *w)
{
	f->svc->ops->submit(f->svc->ctx, r);
	await(w);
	return r->sr_rc;
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
open_service(struct fixture *f)
{
	struct service_conf sc;
	struct err err;

	memset(&sc, 0, sizeof(sc));
	sc.sc_vm_dir = f->vm_dir;
	sc.sc_vm_lib = f->vm_lib;
	sc.sc_backends = &f->bk;
	sc.sc_n_backends = 1;
	sc.sc_max_parallel = 2;
	sc.sc_poll_ms = 100;
	sc.sc_op_timeout_ms = 10000;
	sc.sc_stop_soft_ms = 200;
	err_clear(&err);
	f->sv = service_open(&sc, &err);
	if (f->sv == NULL)
		fail_msg("service_open: %s", err.msg);
	f->svc = service_svc(f->sv);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
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
	bc.bc_vm_dir = f->vm_dir;
	bc.bc_vm_lib = f->vm_lib;
	f->bk.be_ops = &backend_test_ops;
	assert_int_equal(backend_test_ops.open(&bc, &f->bk.be_ctx, &err), 0);
	open_service(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	service_close(f->sv);
	backend_test_ops.close(f->bk.be_ctx);
	(void)rm_tree(f->base, NULL);
	free(f->base);
	free(f);
	return 0;
}

/* Provisions an instance of alpine with the tag g=v; returns its ID. */
static void
provision(struct fixture *f, const char *v, char *id, size_t idlen)
{
	struct waiter w;
	struct svc_req *r = req(SVC_PROVISION, &w);
	struct err err;

	(void)strlcpy(r->sr_spec.s_props.p_vmx, "alpine",
	    sizeof(r->sr_spec.s_props.p_vmx));
	r->sr_spec.s_props.p_memsize_mb = 512;
	r->sr_spec.s_props.p_numcpus = 1;
	r->sr_spec.s_properties_json = strdup("{\"VMX\":\"alpine\"}");
	r->sr_spec.s_init = strdup("");
	assert_int_equal(tags_set(&r->sr_spec.s_tags, "g", v), 0);
	err_clear(&err);
	assert_int_equal(
	    f->svc->ops->validate(f->svc->ctx, "", &r->sr_spec.s_props,
		r->sr_template, sizeof(r->sr_template), &err),
	    0);
	assert_int_equal(call(f, r, &w), 0);
	(void)strlcpy(id, r->sr_out_id, idlen);
	svc_req_free(r);
}

static int
destroy(struct fixture *f, const char *id)
{
	struct waiter w;
	struct svc_req *r = req(SVC_DESTROY, &w);
	int rc;

	(void)strlcpy(r->sr_id, id, sizeof(r->sr_id));
	(void)strlcpy(r->sr_reason, "terminate", sizeof(r->sr_reason));
	rc = call(f, r, &w);
	svc_req_free(r);
	return rc;
}

/* The state of id in describe --all, or "" when it is gone. */
static void
state_of(struct fixture *f, const char *id, char *out, size_t len)
{
	struct waiter w;
	struct svc_req *r = req(SVC_DESCRIBE, &w);

	r->sr_flags = DESCRIBE_ALL;
	assert_int_equal(call(f, r, &w), 0);
	(void)strlcpy(out, "", len);
	for (size_t i = 0; i < r->sr_list.l_n; i++)
		if (strcmp(r->sr_list.l_v[i].v_id, id) == 0)
			(void)strlcpy(out, r->sr_list.l_v[i].v_state, len);
	svc_req_free(r);
}

/* Waits (watching, not polling) until id is in state want. */
static void
wait_state(struct fixture *f, const char *id, const char *want)
{
	uint64_t gen = 0;
	int64_t end = mono_ms() + 20000;
	char st[32];

	for (;;) {
		struct waiter w;
		struct svc_req *r;

		state_of(f, id, st, sizeof(st));
		if (strcmp(st, want) == 0)
			return;
		if (mono_ms() > end)
			fail_msg("%s: state \"%s\", waited for \"%s\"", id, st,
			    want);
		r = req(SVC_WATCH, &w);
		r->sr_gen = gen;
		assert_int_equal(call(f, r, &w), 0);
		gen = r->sr_gen;
		svc_req_free(r);
	}
}

static void
test_life_cycle(void **state)
{
	struct fixture *f = *state;
	char id[ID_MAX];

	provision(f, "a", id, sizeof(id));
	wait_state(f, id, "running");
	assert_int_equal(destroy(f, id), 0);
	wait_state(f, id, "");
	/* Idempotent: gone, or never there, is success. */
	assert_int_equal(destroy(f, id), 0);
	assert_int_equal(destroy(f, "i-00000000000"), 0);
}

/*
 * 0.1.0's service_close freed the journal before joining its workers; a
 * worker still waiting for the journal then read freed memory. The same
 * sequence: a provision that fails, a Destroy, close at once.
 */
static void
test_close_with_work_in_flight(void **state)
{
	struct fixture *f = *state;
	char id[ID_MAX], id2[ID_MAX];

	ctl_set(f, "fail-create", "no");
	provision(f, "b", id, sizeof(id));
	assert_int_equal(destroy(f, id), 0);
	ctl_set(f, "delay-create", "3000");
	provision(f, "b", id2, sizeof(id2));
	service_close(f->sv);
	f->sv = NULL;
	/* And the next start finds it all consistent. */
	{
		char p[PATH_BUF];

		(void)snprintf(p, sizeof(p), "%s/fail-create", f->ctl);
		(void)unlink(p);
		(void)snprintf(p, sizeof(p), "%s/delay-create", f->ctl);
		(void)unlink(p);
	}
	open_service(f);
	{
		char st[32];

		state_of(f, id2, st, sizeof(st));
		assert_true(strcmp(st, "provisioning") == 0 ||
		    strcmp(st, "running") == 0);
	}
}

static void
test_watch(void **state)
{
	struct fixture *f = *state;
	struct waiter w;
	struct svc_req *r;
	uint64_t gen;
	char id[ID_MAX];

	/* Generation 0 is never current: the first watch answers at once. */
	r = req(SVC_WATCH, &w);
	r->sr_gen = 0;
	assert_int_equal(call(f, r, &w), 0);
	gen = r->sr_gen;
	svc_req_free(r);
	/* A watch at the current generation waits for a change. */
	r = req(SVC_WATCH, &w);
	r->sr_gen = gen;
	f->svc->ops->submit(f->svc->ctx, r);
	usleep(200000);
	(void)pthread_mutex_lock(&w.mu);
	assert_false(w.done);
	(void)pthread_mutex_unlock(&w.mu);
	provision(f, "c", id, sizeof(id));
	await(&w);
	assert_int_equal(r->sr_rc, 0);
	assert_true(r->sr_gen != gen);
	svc_req_free(r);
}

/* Stopping answers what was taken; later submits are refused at once. */
static void
test_stop_answers_everything(void **state)
{
	struct fixture *f = *state;
	struct waiter w[8];
	struct svc_req *r[8];

	for (int i = 0; i < 8; i++) {
		r[i] = req(SVC_WATCH, &w[i]);
		r[i]->sr_gen = (uint64_t)-1;
		if (i == 0)
			continue;
		r[i]->sr_op = SVC_DESCRIBE;
	}
	/* A watch that would wait forever. */
	{
		struct waiter w0;
		struct svc_req *first = req(SVC_WATCH, &w0);

		first->sr_gen = 0;
		assert_int_equal(call(f, first, &w0), 0);
		r[0]->sr_gen = first->sr_gen;
		svc_req_free(first);
	}
	for (int i = 0; i < 8; i++)
		f->svc->ops->submit(f->svc->ctx, r[i]);
	service_stop(f->sv);
	for (int i = 0; i < 8; i++) {
		await(&w[i]);
		if (i == 0) {
			assert_int_equal(r[i]->sr_rc, -1);
			assert_int_equal(r[i]->sr_err.code, EIK_BUSY);
		}
		svc_req_free(r[i]);
	}
	{
		struct waiter wl;
		struct svc_req *late = req(SVC_DESCRIBE, &wl);

		assert_int_equal(call(f, late, &wl), -1);
		assert_int_equal(late->sr_err.code, EIK_BUSY);
		assert_non_null(strstr(late->sr_err.msg, "shutting down"));
		svc_req_free(late);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_life_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_close_with_work_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stop_answers_everything, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
