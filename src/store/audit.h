/*
 * The audit log of destroys: <vm-dir>/audit.log, one JSON object per line,
 * appended (O_APPEND) and flushed, never truncated or rewritten by the
 * daemon. Each line says when, which instance, what happened (outcome),
 * InfraKit's Context.Reason, who asked (model/origin.h) and the request ID
 * that ties it to the log. See docs/STATE.md for the fields and outcomes,
 * and README ("Observability") for rotation.
 *
 * The service's journal writer appends: the line of a destroy that changes
 * an instance is flushed before the journal entry that records it, so no
 * destroy is acknowledged (or happens) without its line.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "model/origin.h"
#include "util/defaults.h"
#include "util/err.h"

#define AUDIT_FILE "audit.log"
#define AUDIT_FILE_MODE 0600

enum audit_outcome {
	AUDIT_REQUESTED = 1, /* a destroy of a live instance, being recorded */
	AUDIT_REFUSED,	     /* ... that could not be recorded: not done */
	AUDIT_JOINED,	     /* a destroy while one is being recorded */
	AUDIT_ALREADY,	     /* the instance is being destroyed already */
	AUDIT_GONE,	     /* no such instance (destroyed, or never was) */
	AUDIT_FAILED,	     /* an attempt failed; it is tried again */
	AUDIT_DESTROYED,     /* the VM and its files are gone */
};

struct audit_rec {
	int64_t ar_time_ms; /* wall clock */
	enum audit_outcome ar_outcome;
	char ar_instance[RPC_MAX_ID + 1];
	char ar_reason[64];	/* Context.Reason */
	char ar_state[16];	/* the instance's state when asked, or "" */
	unsigned long ar_reqno; /* the request ID's number, 0: none */
	struct origin ar_from;
	char ar_error[AUDIT_ERROR_MAX]; /* FAILED, REFUSED */
	unsigned ar_attempt;		/* FAILED: which one */
};

struct audit_log {
	char al_path[PATH_BUF];
	bool al_torn; /* the last append failed: a line may be cut */
};

/* The log of vm_dir (nothing is opened yet). 0, or -1 with err. */
int audit_log_init(struct audit_log *a, const char *vm_dir, struct err *err);

/* "requested", "refused", ... */
const char *audit_outcome_name(enum audit_outcome o);

/* One record as its line (ending in a newline). Caller frees; NULL when
 * out of memory. */
char *audit_line(const struct audit_rec *r);

/* Appends the n records with one write and one flush. 0, or -1 with err
 * (the caller logs the records it could not keep). */
int audit_log_append(
    struct audit_log *a, const struct audit_rec *v, size_t n, struct err *err);

#endif /* AUDIT_H */
