/*
 * The instance service: what Validate, Provision, Destroy,
 * DescribeInstances and Label mean, independent of any hypervisor.
 *
 * One thread owns it all (the owner: service/loop.c): the index of
 * instances, every record, the journal batch, the run queues. Nothing else
 * ever reads or writes them, so there is no lock to get wrong. Other
 * threads talk to it through mailboxes (util/mbox.h):
 *   - clients (the RPC layer, the group controller) submit requests
 *     (svc.h) and get their answer through a callback;
 *   - workers get a copy of their job, run it (clone, boot, power off,
 *     delete: backend calls under a deadline and a per-job cancel token)
 *     and post the job back with its result;
 *   - the journal writer appends batches of changes and flushes them once
 *     (group commit), the record writer writes instance.json files and
 *     removes directories; both post completions back.
 * See docs/ARCHITECTURE.md for the table of threads and locks.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "service/svc.h"

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
	unsigned sc_max_parallel;  /* creates at once; as many others */
	unsigned sc_poll_ms;	   /* power-state refresh */
	unsigned sc_op_timeout_ms; /* per backend operation */
	unsigned sc_stop_soft_ms;  /* soft power-off budget */
	/* The plugin's public key line for every guest (borrowed for the
	 * service's life), or NULL: bk_inst bi_ssh_key. */
	const char *sc_ssh_key;
};

/*
 * Opens the store under sc_vm_dir (locking it), recovers what a crash left
 * (replays the journal, resumes provisions, finishes destroys, removes
 * staging leftovers, quarantines unreadable records) and starts the owner
 * and its helper threads.
 */
struct service *service_open(const struct service_conf *conf, struct err *err);

/* The interface for clients. Borrowed; valid until service_close. */
const struct svc *service_svc(struct service *sv);

/*
 * Stops taking work and waits until every request already submitted is
 * answered (those waiting for a flush get the flush's outcome; later ones
 * are answered "shutting down" at once). Backend calls in flight are
 * cancelled (their child processes killed) and the instances they worked
 * on are left as recorded, for the next start to resume. Idempotent.
 */
void service_stop(struct service *sv);

/* service_stop, then joins every thread and frees sv. NULL is fine. No
 * client may use the svc interface any more. */
void service_close(struct service *sv);

/* Finds a template's .vmx in vm_lib: NAME.vmwarevm/NAME.vmx (Fusion) or
 * NAME/NAME.vmx (Workstation). 0, or -1 with err listing where it looked. */
int template_find(const char *vm_lib, const char *name, char *out,
    size_t outlen, struct err *err);

#endif /* SERVICE_H */
