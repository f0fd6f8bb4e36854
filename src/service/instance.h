/*
 * The instance service: what Validate, Provision, Destroy, DescribeInstances
 * and Label mean, independent of any hypervisor. It keeps the durable store
 * (store.c) and an in-memory index in step, answers RPCs from memory, and
 * does slow work (clone, boot, power off, delete) on a bounded worker pool,
 * one operation at a time per instance, every backend call under a
 * deadline. A ticker thread refreshes a cached view of power states (one
 * backend query per refresh, never one per request) and runs retries.
 *
 * Threads: RPC threads (libmicrohttpd), max_parallel workers, one ticker.
 * One mutex guards the index and every instance's fields; it is never held
 * across a backend call or a disk write. A per-instance mutex orders the
 * writes of one instance's record.
 */
#ifndef INSTANCE_H
#define INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "model/model.h"

struct err;
struct service;

/* An opened backend. */
struct bkent {
	const struct backend_ops *be_ops;
	void *be_ctx;
};

struct service_conf {
	const char *sc_vm_dir;		 /* absolute */
	const char *sc_vm_lib;		 /* absolute */
	const struct bkent *sc_backends; /* [0] is the default */
	size_t sc_n_backends;
	unsigned sc_max_parallel;
	unsigned sc_poll_ms;	   /* power-state refresh */
	unsigned sc_op_timeout_ms; /* per backend operation */
	unsigned sc_stop_soft_ms;  /* soft power-off budget */
};

/* Opens the store under sc_vm_dir (locking it), recovers what a crash left
 * (resumes provisions, finishes destroys, removes staging leftovers and
 * orphans, quarantines corrupt records) and starts the workers. */
struct service *service_open(const struct service_conf *conf, struct err *err);

/* The interface the RPC layer calls. Borrowed; valid until close. */
const struct svc *service_svc(struct service *sv);

/* Stops the ticker and the workers: backend calls in flight are cancelled
 * (their child processes killed) and the instances they worked on are left
 * as recorded, for the next start to resume. Frees sv. NULL is fine. */
void service_close(struct service *sv);

/* Finds a template's .vmx in vm_lib: NAME.vmwarevm/NAME.vmx (Fusion) or
 * NAME/NAME.vmx (Workstation). 0, or -1 with err listing where it looked. */
int template_find(const char *vm_lib, const char *name, char *out,
    size_t outlen, struct err *err);

/* Counts for tests and benchmarks. */
struct service_stats {
	size_t ss_instances; /* in the index */
	size_t ss_busy;	     /* operations running */
	size_t ss_queued;
};
void service_stats(struct service *sv, struct service_stats *out);

#endif /* INSTANCE_H */
