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
 * passed its deadline (killed), wrote more than the cap, or was cancelled
 * (the calling thread's token, see proc_cancel_bind): a cancelled run fails at
 * once with EIK_BUSY, and a running child is killed within PROC_TICK_MS of the
 * request (its group: SIGTERM, PROC_KILL_GRACE_MS, SIGKILL, reaped). res is
 * initialised here; free it with proc_result_free() in every case.
 */
int proc_run(
    const struct proc_spec *ps, struct proc_result *res, struct err *err);
void proc_result_free(struct proc_result *res);

/*
 * Per-operation cancellation. A token belongs to whoever runs the
 * operation (usually on its stack or in the job); proc_cancel_bind ties it
 * to the calling thread, and from then on every proc_run and proc_sleep on
 * that thread watches it. Any thread may cancel it. A cancelled token stays
 * cancelled until proc_cancel_init is called again.
 */
struct proc_cancel {
	atomic_int pc_flag;
};

/* Makes c a token that is not cancelled. */
void proc_cancel_init(struct proc_cancel *c);
/* Cancels c; safe from any thread. */
void proc_cancel_request(struct proc_cancel *c);
/*
 * Binds c (NULL: none) to the calling thread, replacing what was bound
 * before. Borrowed: c must stay valid until the thread binds another token
 * or NULL, or exits.
 */
void proc_cancel_bind(struct proc_cancel *c);
/* True when the calling thread's token is cancelled. */
bool proc_cancelled(void);
/* Sleeps up to ms; returns 0, or -1 early when proc_cancelled() becomes
 * true. */
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
