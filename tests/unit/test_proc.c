/*
 * Unit tests: proc.c — output capture and caps, deadlines that kill the
 * whole process group, per-thread cancellation, descriptors not inherited,
 * no zombies, dry runs.
 */
#include "cm_compat.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "util/compat.h"
#include "util/err.h"
#include "util/proc.h"

static void
no_children_left(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_capture(void **state)
{
	const char *argv[] = { "/bin/sh", "-c",
		"echo out; echo err >&2; exit 3", NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 10000 };
	struct proc_result res;
	struct err err;

	(void)state;
	assert_int_equal(proc_run(&ps, &res, &err), 0);
	assert_int_equal(res.pr_status, 3);
	assert_string_equal(buf_str(&res.pr_out), "out\n");
	assert_string_equal(buf_str(&res.pr_err), "err\n");
	assert_string_equal(res.pr_desc, "exited 3");
	proc_result_free(&res);
	no_children_left();
}

static void
test_stdin_is_devnull(void **state)
{
	const char *argv[] = { "/bin/cat", NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 5000 };
	struct proc_result res;
	struct err err;

	(void)state;
	assert_int_equal(proc_run(&ps, &res, &err), 0);
	assert_int_equal(res.pr_status, 0);
	assert_int_equal(res.pr_out.b_len, 0);
	proc_result_free(&res);
}

static void
test_deadline_kills_group(void **state)
{
	char *dir = cm_tmpdir(), script[700], marker[600];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 300 };
	struct proc_result res;
	struct err err;
	int64_t t0;

	(void)state;
	(void)snprintf(marker, sizeof(marker), "%s/grandchild-lived", dir);
	/* A grandchild that would outlive its parent if not killed. */
	(void)snprintf(
	    script, sizeof(script), "(sleep 2; touch %s) & sleep 30", marker);
	t0 = mono_ms();
	assert_int_equal(proc_run(&ps, &res, &err), -1);
	assert_int_equal(err.code, EIK_TIMEOUT);
	assert_true(res.pr_timed_out);
	assert_non_null(strstr(err.msg, "killed"));
	assert_true(mono_ms() - t0 < 5000);
	proc_result_free(&res);
	no_children_left();
	sleep_ms(2500);
	assert_int_equal(access(marker, F_OK), -1);
	(void)rmdir(dir);
	free(dir);
}

static void
test_sigterm_ignored(void **state)
{
	const char *argv[] = { "/bin/sh", "-c", "trap '' TERM; sleep 30",
		NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 200 };
	struct proc_result res;
	struct err err;
	int64_t t0 = mono_ms();

	(void)state;
	assert_int_equal(proc_run(&ps, &res, &err), -1);
	assert_int_equal(res.pr_signal, SIGKILL);
	assert_true(mono_ms() - t0 < 200 + 2000 + 2000);
	proc_result_free(&res);
	no_children_left();
}

static void
test_output_cap(void **state)
{
	const char *argv[] = { "/bin/sh", "-c",
		"i=0; while [ $i -lt 100000 ]; do echo 0123456789; "
		"i=$((i+1)); done",
		NULL };
	struct proc_spec ps = {
		.ps_argv = argv, .ps_timeout_ms = 20000, .ps_max_output = 4096
	};
	struct proc_result res;
	struct err err;

	(void)state;
	assert_int_equal(proc_run(&ps, &res, &err), -1);
	assert_non_null(strstr(err.msg, "more than 4096 bytes"));
	proc_result_free(&res);
	no_children_left();
}

static void
test_missing_program(void **state)
{
	const char *argv[] = { "/nonexistent/vmrun", "list", NULL };
	struct proc_spec ps = { .ps_argv = argv };
	struct proc_result res;
	struct err err;
	int rc;

	(void)state;
	rc = proc_run(&ps, &res, &err);
	/* glibc reports exec failure as exit 127 or as a spawn error. */
	if (rc == 0)
		assert_int_equal(res.pr_status, 127);
	else
		assert_non_null(strstr(err.msg, "/nonexistent/vmrun"));
	proc_result_free(&res);
	no_children_left();
}

static void
test_daemon_holding_pipe(void **state)
{
	/* The child exits but leaves a background process holding stdout
	 * (like a VM process started by vmrun): we must not wait for it. */
	const char *argv[] = { "/bin/sh", "-c", "sleep 3 & echo started",
		NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 10000 };
	struct proc_result res;
	struct err err;
	int64_t t0 = mono_ms();

	(void)state;
	assert_int_equal(proc_run(&ps, &res, &err), 0);
	assert_int_equal(res.pr_status, 0);
	assert_string_equal(buf_str(&res.pr_out), "started\n");
	assert_true(mono_ms() - t0 < 2000);
	proc_result_free(&res);
}

/* The deprecated process-wide shim: every thread stops, every bound token
 * is cancelled, and so is one bound afterwards. */
struct canceller {
	struct proc_cancel *cl_tok;
	int64_t cl_delay_ms;
	int64_t cl_at; /* mono_ms() of the request */
};

static void *
cancel_later(void *arg)
{
	struct canceller *cl = arg;

	sleep_ms(cl->cl_delay_ms);
	cl->cl_at = mono_ms();
	proc_cancel_request(cl->cl_tok);
	return NULL;
}

/* A token cancelled from another thread kills the running child at once;
 * later runs on the thread fail without starting anything. */
static void
test_cancel_from_other_thread(void **state)
{
	const char *argv[] = { "/bin/sleep", "30", NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 60000 };
	struct proc_result res;
	struct proc_cancel tok;
	struct canceller cl = { &tok, 300, 0 };
	struct err err;
	pthread_t t;
	int64_t t0, t1;

	(void)state;
	proc_cancel_init(&tok);
	proc_cancel_bind(&tok);
	assert_false(proc_cancelled());
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &cl), 0);
	t0 = mono_ms();
	assert_int_equal(proc_run(&ps, &res, &err), -1);
	t1 = mono_ms();
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(err.code, EIK_BUSY);
	assert_string_equal(
	    err.msg, "/bin/sleep: stopped: operation cancelled");
	assert_int_equal(res.pr_signal, SIGTERM);
	assert_string_equal(res.pr_desc, "killed by signal 15");
	assert_true(t1 - t0 >= 300);
	assert_true(t1 - cl.cl_at < 1000);
	proc_result_free(&res);
	no_children_left();

	/* Cancelled stays cancelled: nothing starts. */
	t0 = mono_ms();
	assert_int_equal(proc_run(&ps, &res, &err), -1);
	assert_int_equal(err.code, EIK_BUSY);
	assert_string_equal(
	    err.msg, "/bin/sleep: not started: operation cancelled");
	assert_true(mono_ms() - t0 < 100);
	proc_result_free(&res);
	no_children_left();

	/* A fresh token runs again. */
	proc_cancel_init(&tok);
	argv[1] = "0";
	assert_int_equal(proc_run(&ps, &res, &err), 0);
	assert_int_equal(res.pr_status, 0);
	proc_result_free(&res);
	proc_cancel_bind(NULL);
}

struct other {
	struct proc_cancel o_tok;
	int o_rc, o_code;
	bool o_cancelled, o_main_done;
	pthread_mutex_t o_mu;
};

/* Thread A: binds its own token, cancels it, and sees its runs refused. */
static void *
other_thread(void *arg)
{
	struct other *o = arg;
	const char *argv[] = { "/bin/true", NULL };
	struct proc_spec ps = { .ps_argv = argv };
	struct proc_result res;
	struct err err;

	proc_cancel_init(&o->o_tok);
	proc_cancel_bind(&o->o_tok);
	proc_cancel_request(&o->o_tok);
	o->o_cancelled = proc_cancelled();
	o->o_rc = proc_run(&ps, &res, &err);
	o->o_code = err.code;
	proc_result_free(&res);
	/* Stays bound (and cancelled) while the main thread's run goes on. */
	for (;;) {
		bool done;

		(void)pthread_mutex_lock(&o->o_mu);
		done = o->o_main_done;
		(void)pthread_mutex_unlock(&o->o_mu);
		if (done)
			break;
		sleep_ms(10);
	}
	proc_cancel_bind(NULL);
	return NULL;
}

static void
test_token_is_per_thread(void **state)
{
	const char *argv[] = { "/bin/sh", "-c", "sleep 0.5; echo done", NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 10000 };
	struct proc_result res;
	struct other o;
	struct err err;
	pthread_t t;

	(void)state;
	memset(&o, 0, sizeof(o));
	(void)pthread_mutex_init(&o.o_mu, NULL);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &o), 0);
	assert_false(proc_cancelled());
	assert_int_equal(proc_run(&ps, &res, &err), 0);
	assert_int_equal(res.pr_status, 0);
	assert_string_equal(buf_str(&res.pr_out), "done\n");
	assert_int_equal(proc_sleep(20), 0);
	proc_result_free(&res);
	(void)pthread_mutex_lock(&o.o_mu);
	o.o_main_done = true;
	(void)pthread_mutex_unlock(&o.o_mu);
	assert_int_equal(pthread_join(t, NULL), 0);
	(void)pthread_mutex_destroy(&o.o_mu);
	assert_true(o.o_cancelled);
	assert_int_equal(o.o_rc, -1);
	assert_int_equal(o.o_code, EIK_BUSY);
	no_children_left();
}

static void
test_sleep_cancelled(void **state)
{
	struct proc_cancel tok;
	struct canceller cl = { &tok, 100, 0 };
	pthread_t t;
	int64_t t0;

	(void)state;
	proc_cancel_init(&tok);
	proc_cancel_bind(&tok);
	assert_int_equal(proc_sleep(20), 0);
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &cl), 0);
	t0 = mono_ms();
	assert_int_equal(proc_sleep(10000), -1);
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* Already cancelled: at once. */
	t0 = mono_ms();
	assert_int_equal(proc_sleep(10000), -1);
	assert_true(mono_ms() - t0 < 100);
	proc_cancel_bind(NULL);
	assert_int_equal(proc_sleep(10), 0);
}

static void *
run_sleep(void *arg)
{
	const char *argv[] = { "/bin/sleep", "1", NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 10000 };
	struct proc_result res;
	struct err err;

	*(int *)arg = proc_run(&ps, &res, &err);
	proc_result_free(&res);
	return NULL;
}

/* The pipes this process holds open ("pipe:[inode]" each, one a line). */
static void
own_pipes(struct buf *out)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");

	assert_non_null(d);
	buf_init(out, 1 << 16);
	while ((de = readdir(d)) != NULL) {
		char path[300], target[256];
		ssize_t n;

		(void)snprintf(
		    path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "pipe:", 5) == 0)
			(void)buf_printf(out, "%s\n", target);
	}
	(void)closedir(d);
}

/* Whether line (without its newline) is one of the lines of list. */
static bool
has_line(const char *list, const char *line, size_t len)
{
	for (const char *p = list; *p != '\0'; p += strcspn(p, "\n") + 1)
		if (strcspn(p, "\n") == len && memcmp(p, line, len) == 0)
			return true;
	return false;
}

/*
 * A child inherits stdin, stdout and stderr only: neither the other ends of
 * its own pipes nor the pipes of a run going on in another thread. (Pipes
 * this test process itself inherited without close-on-exec, from whoever
 * started it, pass through to the child and are not counted.)
 */
static void
test_no_inherited_fds(void **state)
{
	const char *argv[] = { "/bin/sh", "-c",
		"for f in /proc/$$/fd/*; do readlink \"$f\"; done; exit 0",
		NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 10000 };
	struct proc_result res;
	struct buf before, during;
	struct err err;
	const char *p;
	pthread_t t;
	int other_rc = -2, ours = 0, others = 0;

	(void)state;
	if (access("/proc/self/fd", R_OK) == -1)
		skip();
	own_pipes(&before);
	assert_int_equal(pthread_create(&t, NULL, run_sleep, &other_rc), 0);
	sleep_ms(200); /* the other run's pipes are open now */
	own_pipes(&during);
	assert_int_equal(proc_run(&ps, &res, &err), 0);
	assert_int_equal(res.pr_status, 0);
	for (p = buf_str(&res.pr_out); *p != '\0'; p += strcspn(p, "\n") + 1) {
		size_t n = strcspn(p, "\n");

		if (strncmp(p, "pipe:", 5) != 0 ||
		    has_line(before.b_data, p, n))
			continue;
		if (has_line(during.b_data, p, n))
			others++; /* the other run's */
		else
			ours++;
	}
	assert_int_equal(others, 0);
	assert_int_equal(ours, 2); /* stdout and stderr, once each */
	assert_non_null(strstr(buf_str(&res.pr_out), "/dev/null"));
	proc_result_free(&res);
	buf_free(&before);
	buf_free(&during);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(other_rc, 0);
	no_children_left();
}

static int
dry(void *opaque, const char *const *argv, struct proc_result *res,
    struct err *err)
{
	struct buf *log = opaque;

	(void)err;
	for (size_t i = 0; argv[i] != NULL; i++)
		(void)buf_printf(log, "%s%s", i ? " " : "", argv[i]);
	(void)buf_addc(log, '\n');
	res->pr_status = 0;
	(void)buf_addstr(&res->pr_out, "Total running VMs: 0\n");
	return 0;
}

static void
test_dryrun(void **state)
{
	const char *argv[] = { "/usr/bin/vmrun", "-T", "ws", "list", NULL };
	struct proc_spec ps = { .ps_argv = argv };
	struct proc_result res;
	struct buf log;
	struct err err;

	(void)state;
	buf_init(&log, 4096);
	proc_set_dryrun(dry, &log);
	assert_int_equal(proc_run(&ps, &res, &err), 0);
	proc_set_dryrun(NULL, NULL);
	assert_string_equal(buf_str(&log), "/usr/bin/vmrun -T ws list\n");
	assert_string_equal(buf_str(&res.pr_out), "Total running VMs: 0\n");
	proc_result_free(&res);
	buf_free(&log);
}

static void
test_find_in_path(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(proc_find_in_path("sh", out, sizeof(out)), 0);
	assert_true(out[0] == '/');
	assert_int_equal(
	    proc_find_in_path("no-such-program-xyz", out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_stdin_is_devnull),
		cmocka_unit_test(test_deadline_kills_group),
		cmocka_unit_test(test_sigterm_ignored),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_daemon_holding_pipe),
		cmocka_unit_test(test_cancel_from_other_thread),
		cmocka_unit_test(test_token_is_per_thread),
		cmocka_unit_test(test_sleep_cancelled),
		cmocka_unit_test(test_no_inherited_fds),
		cmocka_unit_test(test_dryrun),
		cmocka_unit_test(test_find_in_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
