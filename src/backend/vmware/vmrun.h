/*
 * vmrun, VMware's command-line tool (spec/vmware.md §1): finding it,
 * building its command lines, running them as child processes under a
 * deadline (proc.c), and reading its answers. vmrun writes errors to STDOUT
 * as a line "Error: ..." (possibly after noise) and exits non-zero; those
 * become err messages here. Nothing here knows about instances.
 */
#ifndef VMRUN_H
#define VMRUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/defaults.h"

struct buf;
struct err;

/* Per-command time budgets (ms). vagrant waits 300 s for start because
 * "sometimes vmrun just hangs" (§1.6); every call also honours the caller's
 * deadline, whichever comes first. */
#define VMRUN_LIST_TIMEOUT_MS 30000
#define VMRUN_START_TIMEOUT_MS 300000
#define VMRUN_STOP_TIMEOUT_MS 120000
#define VMRUN_CLONE_TIMEOUT_MS (30 * 60 * 1000)
#define VMRUN_SNAPSHOT_TIMEOUT_MS 300000
#define VMRUN_IP_TIMEOUT_MS 30000
#define VMRUN_SHORT_TIMEOUT_MS 60000
#define VMRUN_PROBE_TIMEOUT_MS 15000

struct vmrun {
	char vr_path[PATH_BUF]; /* absolute */
	char vr_type[16];	/* fusion, ws or player */
	int64_t vr_cap_ms;	/* caps every command; 0: none */
	pthread_mutex_t vr_mu;	/* guards vr_type */
};

/*
 * Finds vmrun: the --vmrun flag when given, else the Fusion application
 * path(s), else Workstation's /usr/bin/vmrun, else $PATH. Writes the
 * absolute path into out. -1 with err listing where it looked.
 */
int vmrun_find(const char *flag, char *out, size_t outlen, struct err *err);

/* Initialises vr for the vmrun at path: -T fusion on macOS, else ws (which
 * falls back to player by itself, see vmrun_run). */
int vmrun_init(struct vmrun *vr, const char *path, struct err *err);
void vmrun_fini(struct vmrun *vr);

/*
 * Runs `vmrun -T TYPE args...` with the command's timeout and the caller's
 * absolute deadline (0: none). Returns 0 with stdout in out (may be NULL)
 * when vmrun exits 0. Otherwise -1 with err "vmrun CMD: <the Error: text>"
 * (EIK_BACKEND), or a timeout (EIK_TIMEOUT: the process group was killed).
 * On Workstation hosts where only Player is installed, the first
 * "Service type VIX_SERVICEPROVIDER_VMWARE_WORKSTATION ... not installed"
 * switches to -T player for good and retries.
 */
int vmrun_run(struct vmrun *vr, const char *const *args, int64_t timeout_ms,
    int64_t deadline, struct buf *out, struct err *err);

/*
 * Finds the message of the "Error: ..." line in vmrun's output (noise lines
 * may come first). Writes it without the prefix; 0 if found, -1 if not.
 */
int vmrun_error_text(const char *out, char *msg, size_t msglen);

/* The first line of `vmrun list` (§1.4), before the count. */
#define VMRUN_LIST_HEADER "Total running VMs:"
/* What vmrun_parse_list returns for a list that contradicts itself. */
#define VMRUN_LIST_INCONSISTENT (-2)

/*
 * Parses `vmrun list`: "Total running VMs: N" and then one absolute .vmx
 * path per line (paths may hold spaces; CRLF tolerated; lines before the
 * header and lines after it that are not absolute paths are noise). Calls
 * fn for each path. Returns the number of paths; -1 when the output is not
 * a list (no header); VMRUN_LIST_INCONSISTENT when it contradicts itself:
 * N is not the number of paths that follow (e.g. "Total running VMs: 2"
 * and no path), N is not a number, the header comes twice, or a line is
 * too long to be read. err says why. After a negative return the paths fn
 * was given mean nothing.
 */
int vmrun_parse_list(const char *out, void (*fn)(void *arg, const char *path),
    void *arg, struct err *err);

/* True when an error text means the product cannot clone at all (non-Pro
 * Fusion, Player, licence), so that copying is the way (§1.3, §1.9). */
bool vmrun_clone_unsupported(const char *msg);

/* True when the text says the VM is not running (stop on an off VM). */
bool vmrun_not_running(const char *msg);

/* Parses `vmrun listSnapshots`: returns 1 if name is among them, 0 if not,
 * -1 on output it does not understand. */
int vmrun_has_snapshot(const char *out, const char *name);

#endif /* VMRUN_H */
