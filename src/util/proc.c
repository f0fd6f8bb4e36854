/*
 * Child processes. See proc.h.
 *
 * A run is three steps: spawn_child (pipes, posix_spawn into a group of its
 * own), wait_child (poll the pipes into the capped buffers, reap, watch the
 * deadline and the thread's cancellation token) and kill_group (SIGTERM,
 * grace, SIGKILL, reap) when it must end early.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

static proc_dryrun_fn dryrun_fn;
static void *dryrun_opaque;

/* ---- cancellation ----------------------------------------------------- */

/* The token the calling thread watches (NULL: none). */
static _Thread_local struct proc_cancel *tl_token;

void
proc_cancel_init(struct proc_cancel *c)
{
	atomic_store(&c->pc_flag, 0);
}

void
proc_cancel_request(struct proc_cancel *c)
{
	atomic_store(&c->pc_flag, 1);
}

void
proc_cancel_bind(struct proc_cancel *c)
{
	tl_token = c;
}

bool
proc_cancelled(void)
{
	return tl_token != NULL && atomic_load(&tl_token->pc_flag) != 0;
}

/* Why runs on this thread stop, for messages. */
static const char *
cancel_reason(void)
{
	return "operation cancelled";
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

/* ---- helpers ---------------------------------------------------------- */

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

/* ---- running ---------------------------------------------------------- */

/* One child being run. */
struct child {
	pid_t c_pid;
	int c_out, c_err; /* read ends of the pipes; -1 once at EOF */
	int64_t c_start;  /* mono_ms() */
	int64_t c_deadline;
	size_t c_cap;
};

static void
set_status(struct proc_result *res, int st)
{
	if (WIFEXITED(st))
		res->pr_status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		res->pr_signal = WTERMSIG(st);
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
	set_status(res, st);
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
			set_status(res, st);
			/* Others in the group may linger: finish them. */
			(void)kill(-pid, SIGKILL);
			return;
		}
		sleep_ms(10);
	}
	(void)kill(-pid, SIGKILL);
	reap(pid, res);
}

/*
 * A pipe whose ends are close-on-exec from the start: other threads spawn
 * long-lived children (QEMU) at any time, and one spawned between pipe()
 * and fcntl() would inherit our ends and hold them open for its lifetime.
 */
static int
cloexec_pipe(int fds[2])
{
#ifdef HAVE_PIPE2
	return pipe2(fds, O_CLOEXEC);
#else
	if (pipe(fds) == -1)
		return -1;
	if (fd_cloexec(fds[0]) == -1 || fd_cloexec(fds[1]) == -1) {
		int saved = errno;

		(void)close(fds[0]);
		(void)close(fds[1]);
		errno = saved;
		return -1;
	}
	return 0;
#endif
}

/* Process group of its own, default signal handling, nothing blocked;
 * on macOS nothing inherited but the three descriptors set up. */
static void
spawn_attrs(posix_spawnattr_t *attr)
{
	sigset_t none, all;
	short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK;

#ifdef POSIX_SPAWN_CLOEXEC_DEFAULT
	flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
	(void)posix_spawnattr_init(attr);
	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	(void)sigdelset(&all, SIGKILL);
	(void)sigdelset(&all, SIGSTOP);
	(void)posix_spawnattr_setsigmask(attr, &none);
	(void)posix_spawnattr_setsigdefault(attr, &all);
	(void)posix_spawnattr_setpgroup(attr, 0);
	(void)posix_spawnattr_setflags(attr, flags);
}

/*
 * Starts ps with stdin from /dev/null and stdout, stderr into pipes whose
 * read ends (non-blocking) go to ch. 0, or -1 with err set and nothing left
 * open.
 */
static int
spawn_child(const struct proc_spec *ps, struct child *ch, struct err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int r;

	if (cloexec_pipe(outp) == -1) {
		err_set(err, EIK_IO, "pipe: %s", strerror(errno));
		return -1;
	}
	if (cloexec_pipe(errp) == -1) {
		err_set(err, EIK_IO, "pipe: %s", strerror(errno));
		(void)close(outp[0]);
		(void)close(outp[1]);
		return -1;
	}
	(void)fd_nonblock(outp[0]);
	(void)fd_nonblock(errp[0]);
	(void)posix_spawn_file_actions_init(&fa);
	(void)posix_spawn_file_actions_addopen(
	    &fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	(void)posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	(void)posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	spawn_attrs(&attr);
	r = posix_spawn(&ch->c_pid, ps->ps_argv[0], &fa, &attr,
	    (char *const *)ps->ps_argv,
	    ps->ps_env != NULL ? (char *const *)ps->ps_env : environ);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&attr);
	(void)close(outp[1]);
	(void)close(errp[1]);
	if (r != 0) {
		(void)close(outp[0]);
		(void)close(errp[0]);
		err_set(err, EIK_BACKEND, "cannot run %s: %s", ps->ps_argv[0],
		    strerror(r));
		return -1;
	}
	ch->c_out = outp[0];
	ch->c_err = errp[0];
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		(void)close(*fd);
	*fd = -1;
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

/*
 * Waits up to wait ms for output and reads what came. 0, -1 when a buffer
 * overflowed, -2 when poll failed (errno set).
 */
static int
capture(struct child *ch, struct proc_result *res, int64_t wait)
{
	struct pollfd pfd[2];
	nfds_t n = 0;
	int r = 0;

	if (ch->c_out != -1) {
		pfd[n].fd = ch->c_out;
		pfd[n++].events = POLLIN;
	}
	if (ch->c_err != -1) {
		pfd[n].fd = ch->c_err;
		pfd[n++].events = POLLIN;
	}
	if (n == 0) {
		sleep_ms(wait);
		return 0;
	}
	if (poll(pfd, n, (int)wait) == -1 && errno != EINTR)
		return -2;
	if (ch->c_out != -1 && (r = drain(ch->c_out, &res->pr_out)) == 1)
		close_fd(&ch->c_out);
	if (r != -1 && ch->c_err != -1 &&
	    (r = drain(ch->c_err, &res->pr_err)) == 1)
		close_fd(&ch->c_err);
	return r == -1 ? -1 : 0;
}

/* Whether a child still running must be stopped now: -1 with err set
 * (deadline passed, or the thread's token cancelled), else 0. */
static int
must_stop(const struct proc_spec *ps, const struct child *ch, int64_t now,
    struct proc_result *res, struct err *err)
{
	if (now >= ch->c_deadline) {
		res->pr_timed_out = true;
		err_set(err, EIK_TIMEOUT,
		    "%s %s: no answer within %lld ms; killed it",
		    ps->ps_argv[0],
		    ps->ps_argv[1] != NULL ? ps->ps_argv[1] : "",
		    (long long)(ch->c_deadline - ch->c_start));
		return -1;
	}
	if (proc_cancelled()) {
		err_set(err, EIK_BUSY, "%s: stopped: %s", ps->ps_argv[0],
		    cancel_reason());
		return -1;
	}
	return 0;
}

/*
 * Captures the child's output until it has exited and closed its output (a
 * grandchild holding the pipes open, a daemon, gets PROC_DAEMON_GRACE_MS),
 * or kills it at the deadline, on cancellation or on too much output. The
 * child is reaped in every case. 0, or -1 with err set.
 */
static int
wait_child(const struct proc_spec *ps, struct child *ch,
    struct proc_result *res, struct err *err)
{
	bool exited = false;
	int64_t exited_at = 0;

	for (;;) {
		int64_t now = mono_ms(), wait = PROC_TICK_MS;
		int st, r;

		if (!exited && waitpid(ch->c_pid, &st, WNOHANG) == ch->c_pid) {
			exited = true;
			exited_at = now;
			set_status(res, st);
		}
		if (exited &&
		    ((ch->c_out == -1 && ch->c_err == -1) ||
			now - exited_at > PROC_DAEMON_GRACE_MS))
			return 0;
		if (!exited && must_stop(ps, ch, now, res, err) == -1) {
			kill_group(ch->c_pid, res);
			return -1;
		}
		if (exited)
			wait = 10;
		else if (ch->c_deadline - now < wait)
			wait = ch->c_deadline - now;
		if (wait < 1)
			wait = 1;
		r = capture(ch, res, wait);
		if (r == 0)
			continue;
		if (r == -2)
			err_set(err, EIK_IO, "poll: %s", strerror(errno));
		else
			err_set(err, EIK_BACKEND,
			    "%s wrote more than %zu bytes of output; killed it",
			    ps->ps_argv[0], ch->c_cap);
		if (!exited)
			kill_group(ch->c_pid, res);
		else
			(void)kill(-ch->c_pid, SIGKILL);
		return -1;
	}
}

int
proc_run(const struct proc_spec *ps, struct proc_result *res, struct err *err)
{
	struct child ch = { .c_pid = -1, .c_out = -1, .c_err = -1 };
	int64_t timeout = ps->ps_timeout_ms != 0 ? ps->ps_timeout_ms
						 : PROC_DEFAULT_TIMEOUT_MS;
	int r;

	ch.c_cap = ps->ps_max_output != 0 ? ps->ps_max_output : PROC_MAX_OUTPUT;
	ch.c_start = mono_ms();
	ch.c_deadline = ch.c_start + timeout;
	if (ps->ps_deadline != 0 && ps->ps_deadline < ch.c_deadline)
		ch.c_deadline = ps->ps_deadline;
	memset(res, 0, sizeof(*res));
	res->pr_status = -1;
	buf_init(&res->pr_out, ch.c_cap);
	buf_init(&res->pr_err, ch.c_cap);
	if (proc_cancelled()) {
		err_set(err, EIK_BUSY, "%s: not started: %s", ps->ps_argv[0],
		    cancel_reason());
		return -1;
	}
	if (dryrun_fn != NULL) {
		r = dryrun_fn(dryrun_opaque, ps->ps_argv, res, err);
		if (r == 0)
			describe_status(res, timeout);
		return r;
	}
	if (ch.c_deadline <= ch.c_start) {
		err_set(err, EIK_TIMEOUT, "%s: not started: deadline passed",
		    ps->ps_argv[0]);
		return -1;
	}
	if (spawn_child(ps, &ch, err) == -1)
		return -1;
	r = wait_child(ps, &ch, res, err);
	describe_status(res, timeout);
	close_fd(&ch.c_out);
	close_fd(&ch.c_err);
	return r;
}
