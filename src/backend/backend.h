/*
 * The hypervisor interface: what the instance service needs from VMware,
 * QEMU or a test double, as a table of designated initialisers (libvirt's
 * driver vtables). A NULL operation is "not supported". Every operation runs
 * on a worker thread, never inside an RPC, and must give up by the deadline
 * it is handed (a CLOCK_MONOTONIC time in ms, see compat.h mono_ms()).
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

struct err;

/* Plugin-wide settings a backend may use. */
struct backend_conf {
	const char *bc_vm_dir; /* absolute */
	const char *bc_vm_lib; /* absolute */
	const char *bc_vmrun;  /* --vmrun, or NULL to search */
	const char *bc_qemu;   /* --qemu, or NULL to search */
	/* --qemu-network: "user" (or NULL: user-mode networking with a
	 * loopback port forwarded to each guest's SSH) or
	 * "bridge=NAME[,leases=FILE][,helper=PATH]" (a tap on the host
	 * bridge NAME, the guest's address from its DHCP server's leases). */
	const char *bc_qemu_network;
	enum clone_mode bc_clone; /* --clone */
	bool bc_quiet;		  /* probing for --backend auto */
};

/* A persistent disk of a pet (model/attach.h), as a backend sees it. */
struct bk_disk {
	const char *bd_name; /* its ID in lower case */
	const char *bd_file; /* absolute: <vm-dir>/attachments/<name>/
				<name>.<disk_format> */
	unsigned bd_size_gb; /* make_disk: how large */
};

/* One instance, as a backend sees it during an operation. */
struct bk_inst {
	const char *bi_id;
	const char *bi_dir;	 /* the bundle directory */
	const char *bi_vmx;	 /* bi_dir/<id>.vmx */
	const char *bi_template; /* template's .vmx, absolute */
	const struct inst_spec *bi_spec;
	const struct tags *bi_tags; /* effective tags */
	int64_t bi_deadline;	    /* mono_ms() limit */
	unsigned bi_ssh_port; /* host port forwarded to the guest's 22, or 0 */
	/* create: the persistent disks to attach, made already. */
	const struct bk_disk *bi_disks;
	size_t bi_ndisks;
	/* The plugin's own public key line (serve's <vm-dir>/.ssh key pair),
	 * authorized in the guest besides SSHAuthorizedKeys; NULL: none. */
	const char *bi_ssh_key;
};

enum power_state {
	POWER_UNKNOWN = 0,
	POWER_RUNNING,
	POWER_PAUSED,
	POWER_SUSPENDED,
	POWER_OFF
};

/* One entry of a power query: the backend fills bp_state. */
struct bk_power {
	const char *bp_id;
	const char *bp_dir;
	const char *bp_vmx;
	enum power_state bp_state;
};

struct backend_ops {
	const char *name;

	/* Probes the host and makes a context. With bc_quiet, a missing
	 * hypervisor is reported in err without logging. */
	int (*open)(
	    const struct backend_conf *conf, void **ctx, struct err *err);
	void (*close)(void *ctx);

	/* Extra checks of Properties against a template (optional). */
	int (*validate)(void *ctx, const struct inst_props *props,
	    const char *template_vmx, struct err *err);

	/* The checks of validate for a whole Spec, which Provision must make
	 * before it answers: those of validate, and what depends on more
	 * than Properties (VMware: the size of the .vmx that Init and the
	 * SSH keys make). Optional: NULL means validate on the Spec's
	 * Properties is all there is. */
	int (*validate_spec)(void *ctx, const struct inst_spec *spec,
	    const char *template_vmx, struct err *err);

	/* Builds the complete, powered-off bundle in bi_dir (an existing
	 * empty staging directory that is renamed into place afterwards, so
	 * files inside refer to each other by relative names). */
	int (*create)(void *ctx, const struct bk_inst *bi, struct err *err);

	/* Powers the VM on (or resumes it). */
	int (*start)(void *ctx, const struct bk_inst *bi, struct err *err);

	/* Powers the VM off: softly (guest shutdown) or hard. A VM that is
	 * already off is success. */
	int (*stop)(
	    void *ctx, const struct bk_inst *bi, bool hard, struct err *err);

	/* Releases what the hypervisor holds outside bi_dir (optional); the
	 * service deletes bi_dir itself afterwards. */
	int (*remove)(void *ctx, const struct bk_inst *bi, struct err *err);

	/* Fills the power state of n instances with one look at the
	 * hypervisor (one `vmrun list`), by the deadline. */
	int (*power)(void *ctx, struct bk_power *v, size_t n, int64_t deadline,
	    struct err *err);

	/* Finds the guest's IP address (optional). */
	int (*guest_ip)(void *ctx, const struct bk_inst *bi, char *ip,
	    size_t iplen, char *mac, size_t maclen, struct err *err);

	/* Whether instances need a loopback port forwarded to their SSH port
	 * (QEMU user-mode networking); the service then picks one per
	 * instance, records it and hands it over as bi_ssh_port (optional;
	 * NULL: no). */
	bool (*wants_ssh_port)(void *ctx);

	/* Whether the guest says its initialisation finished: 1 yes, 0 not
	 * yet, -1 the guest does not tell (optional). Readiness is then its
	 * SSH port answering alone. */
	int (*guest_ready)(void *ctx, const struct bk_inst *bi);

	/* Persistent disks (optional; NULL: Provisions with disk Attachments
	 * are refused). disk_format is the format and file extension of the
	 * disks this backend makes and attaches ("vmdk", "qcow2"). make_disk
	 * makes a new, empty disk d->bd_file of d->bd_size_gb in an empty
	 * directory that is renamed into place afterwards (so its files
	 * refer to each other by relative names), sparse where the format
	 * allows; create then attaches bi_disks to the VM. */
	const char *disk_format;
	int (*make_disk)(void *ctx, const struct bk_disk *d, int64_t deadline,
	    struct err *err);
};

const char *power_state_name(enum power_state p);

#endif /* BACKEND_H */
