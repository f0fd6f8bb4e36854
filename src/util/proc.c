/*
 * Child processes. See proc.h.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/proc.h"

extern char **environ;

static atomic_int proc_cancel_flag;
static proc_dryrun_fn dryrun_fn;
static void *dryrun_opaque;

/* Wake-up granularity of the wait loop, so cancellation is noticed. */
#define PROC_TICK_MS 50

static _Thread_local struct proc_cancel *proc_token;

void
proc_cancel_init(struct proc_cancel *c)
{
	atomic_init(&c->pc_flag, 0);
}

void
proc_cancel_request(struct proc_cancel *c)
{
	atomic_store(&c->pc_flag, 1);
}

void
proc_cancel_bind(struct proc_cancel *c)
{
	proc_token = c;
}

void
proc_cancel_all(void)
{
	atomic_store(&proc_cancel_flag, 1);
}

bool
proc_cancelled(void)
{
	return atomic_load(&proc_cancel_flag) != 0 ||
	    (proc_token != NULL && atomic_load(&proc_token->pc_flag) != 0);
}

void
proc_cancel_reset(void)
{
	atomic_store(&proc_cancel_flag, 0);
}

int
proc_sleep(int64_t ms)
{
	int64_t end = mono_ms() + ms;

	while (!proc_cancelled()) {
		int64_t left = end - mono_ms();

		if (left <= 0)
			return 0;
		sleep_ms(left < PROC_TICK_MS ? left : PROC_TICK_MS);
	}
	return -1;
}

void
proc_set_dryrun(proc_dryrun_fn fn, void *opaque)
{
	dryrun_fn = fn;
	dryrun_opaque = opaque;
}

void
proc_result_free(struct proc_result *res)
{
	buf_free(&res->pr_out);
	buf_free(&res->pr_err);
}

int
proc_find_in_path(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	const char *p;

	if (strchr(name, '/') != NULL) {
		if (access(name, X_OK) == 0 &&
		    strlcpy(out, name, outlen) < outlen)
			return 0;
		return -1;
	}
	if (path == NULL || *path == '\0')
		path = "/usr/bin:/bin";
	for (p = path;;) {
		size_t n = strcspn(p, ":");
		char cand[PATH_BUF];
		struct stat st;
		int r;

		r = snprintf(cand, sizeof(cand), "%.*s/%s", (int)n,
		    n == 0 ? "." : p, name);
		if (r > 0 && (size_t)r < sizeof(cand) && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			if (cand[0] != '/') {
				char abs[PATH_BUF];

				if (realpath(cand, abs) == NULL)
					goto next;
				return strlcpy(out, abs, outlen) < outlen ? 0
									  : -1;
			}
			return strlcpy(out, cand, outlen) < outlen ? 0 : -1;
		}
next:
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return -1;
}

static void
describe_status(struct proc_result *res, int64_t timeout_ms)
{
	if (res->pr_signal != 0)
		(void)snprintf(res->pr_desc, sizeof(res->pr_desc),
		    "killed by signal %d%s", res->pr_signal,
		    res->pr_timed_out ? " (deadline passed)" : "");
	else
		(void)snprintf(res->pr_desc, sizeof(res->pr_desc), "exited %d",
		    res->pr_status);
	if (res->pr_timed_out && res->pr_signal == 0) {
		size_t n = strlen(res->pr_desc);

		(void)snprintf(res->pr_desc + n, sizeof(res->pr_desc) - n,
		    " (deadline passed after %lld ms)", (long long)timeout_ms);
	}
}

/* Reaps pid, blocking, retrying on EINTR. */
static void
reap(pid_t pid, struct proc_result *res)
{
	int st;

	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			return;
	}
	if (WIFEXITED(st))
		res->pr_status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		res->pr_signal = WTERMSIG(st);
}

/* SIGTERM to the group, a grace period, SIGKILL, then reap. */
static void
kill_group(pid_t pid, struct proc_result *res)
{
	int64_t end;
	int st;

	(void)kill(-pid, SIGTERM);
	end = mono_ms() + PROC_KILL_GRACE_MS;
	while (mono_ms() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			if (WIFEXITED(st))
				res->pr_status = WEXITSTATUS(st);
			else if (WIFSIGNALED(st))
				res->pr_signal = WTERMSIG(st);
			/* Others in the group may linger: finish them. */
			(void)kill(-pid, SIGKILL);
			return;
		}
		sleep_ms(10);
	}
	(void)kill(-pid, SIGKILL);
	reap(pid, res);
}

/* Reads what is available on fd into b; 1 at EOF, 0 otherwise, -1 when b
 * overflows. */
static int
drain(int fd, struct buf *b)
{
	char chunk[8192];

	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r == 0)
			return 1;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return 1;
		}
		if (buf_add(b, chunk, (size_t)r) == -1)
			return -1;
	}
}

int
proc_run(const struct proc_spec *ps, struct proc_result *res, struct err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	size_t cap =
	    ps->ps_max_output != 0 ? ps->ps_max_output : PROC_MAX_OUTPUT;
	int64_t timeout = ps->ps_timeout_ms != 0 ? ps->ps_timeout_ms
						 : PROC_DEFAULT_TIMEOUT_MS;
	int64_t start = mono_ms(), deadline = start + timeout;
	bool out_open = true, err_open = true, exited = false;
	int64_t exited_at = 0;
	pid_t pid;
	int r, rc = -1;

	memset(res, 0, sizeof(*res));
	res->pr_status = -1;
	buf_init(&res->pr_out, cap);
	buf_init(&res->pr_err, cap);
	if (ps->ps_deadline != 0 && ps->ps_deadline < deadline)
		deadline = ps->ps_deadline;
	if (proc_cancelled()) {
		err_set(err, EIK_BUSY, "%s: not started: plugin shutting down",
		    ps->ps_argv[0]);
		return -1;
	}
	if (dryrun_fn != NULL) {
		r = dryrun_fn(dryrun_opaque, ps->ps_argv, res, err);
		if (r == 0)
			describe_status(res, timeout);
		return r;
	}
	if (deadline <= start) {
		err_set(err, EIK_TIMEOUT, "%s: not started: deadline passed",
		    ps->ps_argv[0]);
		return -1;
	}
	if (pipe(outp) == -1 || pipe(errp) == -1) {
		err_set(err, EIK_IO, "pipe: %s", strerror(errno));
		goto close_pipes;
	}
	(void)fd_cloexec(outp[0]);
	(void)fd_cloexec(outp[1]);
	(void)fd_cloexec(errp[0]);
	(void)fd_cloexec(errp[1]);
	(void)fd_nonblock(outp[0]);
	(void)fd_nonblock(errp[0]);

	(void)posix_spawn_file_actions_init(&fa);
	(void)posix_spawn_file_actions_addopen(
	    &fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	(void)posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	(void)posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	(void)posix_spawnattr_init(&attr);
	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	(void)sigdelset(&all, SIGKILL);
	(void)sigdelset(&all, SIGSTOP);
	(void)posix_spawnattr_setsigmask(&attr, &none);
	(void)posix_spawnattr_setsigdefault(&attr, &all);
	(void)posix_spawnattr_setpgroup(&attr, 0);
	{
		short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
		    POSIX_SPAWN_SETSIGMASK;
#ifdef POSIX_SPAWN_CLOEXEC_DEFAULT
		flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
		(void)posix_spawnattr_setflags(&attr, flags);
	}
	r = posix_spawn(&pid, ps->ps_argv[0], &fa, &attr,
	    (char *const *)ps->ps_argv,
	    ps->ps_env != NULL ? (char *const *)ps->ps_env : environ);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&attr);
	(void)close(outp[1]);
	(void)close(errp[1]);
	outp[1] = errp[1] = -1;
	if (r != 0) {
		err_set(err, EIK_BACKEND, "cannot run %s: %s", ps->ps_argv[0],
		    strerror(r));
		goto close_pipes;
	}

	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int64_t now = mono_ms(), wait;
		int st;

		if (!exited) {
			pid_t w = waitpid(pid, &st, WNOHANG);

			if (w == pid) {
				exited = true;
				exited_at = now;
				if (WIFEXITED(st))
					res->pr_status = WEXITSTATUS(st);
				else if (WIFSIGNALED(st))
					res->pr_signal = WTERMSIG(st);
			}
		}
		/* Done when the output is closed and the child reaped; a
		 * grandchild holding the pipes open (a daemon) gets 200 ms. */
		if (exited &&
		    ((!out_open && !err_open) || now - exited_at > 200))
			break;
		if (!exited && now >= deadline) {
			res->pr_timed_out = true;
			kill_group(pid, res);
			describe_status(res, timeout);
			err_set(err, EIK_TIMEOUT,
			    "%s %s: no answer within %lld ms; killed it",
			    ps->ps_argv[0],
			    ps->ps_argv[1] != NULL ? ps->ps_argv[1] : "",
			    (long long)(deadline - start));
			goto close_pipes;
		}
		if (!exited && proc_cancelled()) {
			kill_group(pid, res);
			describe_status(res, timeout);
			err_set(err, EIK_BUSY,
			    "%s: stopped: plugin shutting down",
			    ps->ps_argv[0]);
			goto close_pipes;
		}
		if (out_open) {
			pfd[n].fd = outp[0];
			pfd[n++].events = POLLIN;
		}
		if (err_open) {
			pfd[n].fd = errp[0];
			pfd[n++].events = POLLIN;
		}
		wait = deadline - now;
		if (wait > PROC_TICK_MS || exited)
			wait = exited ? 10 : PROC_TICK_MS;
		if (wait < 1)
			wait = 1;
		if (n == 0) {
			sleep_ms(wait);
			continue;
		}
		if (poll(pfd, n, (int)wait) == -1 && errno != EINTR)
			break;
		if (out_open) {
			r = drain(outp[0], &res->pr_out);
			if (r == 1)
				out_open = false;
		} else
			r = 0;
		if (r != -1 && err_open) {
			r = drain(errp[0], &res->pr_err);
			if (r == 1)
				err_open = false;
		}
		if (r == -1) {
			if (!exited)
				kill_group(pid, res);
			else
				(void)kill(-pid, SIGKILL);
			describe_status(res, timeout);
			err_set(err, EIK_BACKEND,
			    "%s wrote more than %zu bytes of output; killed it",
			    ps->ps_argv[0], cap);
			goto close_pipes;
		}
	}
	describe_status(res, timeout);
	rc = 0;
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (outp[i] != -1)
			(void)close(outp[i]);
		if (errp[i] != -1)
			(void)close(errp[i]);
	}
	return rc;
}
