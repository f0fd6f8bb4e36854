/*
 * Child processes, the libvirt virCommand / libuv way: argv only (never a
 * shell), posix_spawn into a process group of its own with default signal
 * handling, stdin from /dev/null, stdout and stderr captured into capped
 * buffers, a CLOCK_MONOTONIC deadline after which the group gets SIGTERM,
 * then SIGKILL, and the child is always reaped. The only module that calls
 * posix_spawn or waitpid.
 *
 * A dry-run hook (proc_set_dryrun) sends every run to a callback instead,
 * so tests compare command lines with expected transcripts.
 */
#ifndef PROC_H
#define PROC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct err;

struct proc_spec {
	const char *const *ps_argv; /* argv[0]: an absolute path */
	int64_t ps_timeout_ms;	    /* 0: PROC_DEFAULT_TIMEOUT_MS */
	int64_t ps_deadline;	    /* mono_ms(); 0: none. The
				       earlier of the two wins */
	size_t ps_max_output;	    /* 0: PROC_MAX_OUTPUT */
	const char *const *ps_env;  /* NULL: inherit */
};

struct proc_result {
	int pr_status; /* exit status, or -1 */
	int pr_signal; /* terminating signal, or 0 */
	bool pr_timed_out;
	struct buf pr_out; /* stdout */
	struct buf pr_err; /* stderr */
	char pr_desc[128]; /* "exited 3", "killed by signal 9
			      (timeout after 120 s)" */
};

/*
 * Runs ps and waits for it. Returns 0 when the program ran and exited (any
 * status: look at pr_status), -1 with err set when it could not be started,
 * passed its deadline (killed), wrote more than the cap, or was cancelled by
 * proc_cancel_all(). res is initialised here; free it with
 * proc_result_free() in every case.
 */
int proc_run(
    const struct proc_spec *ps, struct proc_result *res, struct err *err);
void proc_result_free(struct proc_result *res);

/*
 * Cancellation, per operation: a token bound to the thread that runs the
 * operation. A cancelled token kills the running child (its process
 * group: SIGTERM, grace, SIGKILL, reaped) and makes new runs on that thread
 * fail at once.
 */
struct proc_cancel {
	atomic_int pc_flag;
};
void proc_cancel_init(struct proc_cancel *c);	 /* not cancelled */
void proc_cancel_request(struct proc_cancel *c); /* from any thread */
/* Binds c (NULL: none) to the calling thread: every proc_run and
 * proc_sleep on this thread then watches it. */
void proc_cancel_bind(struct proc_cancel *c);
/* Whether the calling thread's token is cancelled. */
bool proc_cancelled(void);
/* Deprecated: cancels every run in the process (tests). */
void proc_cancel_all(void);
/* Undoes proc_cancel_all (tests that open several services). */
void proc_cancel_reset(void);

/* Sleeps up to ms, returning early (-1) if proc_cancel_all() is called. */
int proc_sleep(int64_t ms);

/*
 * Dry run: when fn is set, proc_run calls fn(opaque, argv, res) instead of
 * running anything; fn fills pr_out / pr_status and returns 0, or -1 with
 * err set. NULL restores real runs. Not thread-safe to change while runs
 * are in flight.
 */
typedef int (*proc_dryrun_fn)(void *opaque, const char *const *argv,
    struct proc_result *res, struct err *err);
void proc_set_dryrun(proc_dryrun_fn fn, void *opaque);

/* Looks for name in the directories of $PATH; writes the absolute path.
 * 0 or -1. */
int proc_find_in_path(const char *name, char *out, size_t outlen);

#endif /* PROC_H */
