/*
 * Unit tests: proc.c — output capture and caps, deadlines that kill the
 * whole process group, cancellation, no zombies, dry runs.
 */
#include "cm_compat.h"

#include <errno.h>
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

static void
test_cancel(void **state)
{
	const char *argv[] = { "/bin/sleep", "30", NULL };
	struct proc_spec ps = { .ps_argv = argv, .ps_timeout_ms = 60000 };
	struct proc_result res;
	struct err err;

	(void)state;
	proc_cancel_all();
	assert_int_equal(proc_run(&ps, &res, &err), -1);
	assert_int_equal(err.code, EIK_BUSY);
	proc_result_free(&res);
	assert_int_equal(proc_sleep(1000), -1);
	proc_cancel_reset();
	assert_int_equal(proc_sleep(10), 0);
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
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_dryrun),
		cmocka_unit_test(test_find_in_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
