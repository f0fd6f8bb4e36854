/*
 * The backends built into the plugin, in the order --backend auto tries
 * them (the first that opens is the default Type ""), and their opening.
 * See backends.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "backend/backend.h"
#include "cmd/backends.h"
#include "cmd/config.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/log.h"

extern const struct backend_ops backend_vmware_ops;
extern const struct backend_ops backend_qemu_ops;

const struct backend_ops *const builtin_backends[] = {
	&backend_vmware_ops,
	&backend_qemu_ops,
	NULL,
};

#define MAX_BACKENDS 16

struct opening {
	const struct backend_ops *op_all[MAX_BACKENDS];
	size_t op_n;
	const struct backend_ops *const *op_extra;
	struct backend_conf op_bc;
	char op_why[1024]; /* "vmware: ...; qemu: ..." of open_others */
};

static bool
is_extra(const struct opening *o, const struct backend_ops *ops)
{
	for (size_t k = 0; o->op_extra != NULL && o->op_extra[k] != NULL; k++)
		if (o->op_extra[k] == ops)
			return true;
	return false;
}

static void
opening_init(struct opening *o, const struct config *c,
    const struct backend_ops *const *extra)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0;
	     builtin_backends[i] != NULL && o->op_n < MAX_BACKENDS - 1; i++)
		o->op_all[o->op_n++] = builtin_backends[i];
	for (size_t i = 0;
	     extra != NULL && extra[i] != NULL && o->op_n < MAX_BACKENDS - 1;
	     i++)
		o->op_all[o->op_n++] = extra[i];
	o->op_extra = extra;
	o->op_bc.bc_vm_dir = c->c_vm_dir;
	o->op_bc.bc_vm_lib = c->c_vm_lib;
	o->op_bc.bc_vmrun = c->c_vmrun[0] != '\0' ? c->c_vmrun : NULL;
	o->op_bc.bc_qemu = c->c_qemu[0] != '\0' ? c->c_qemu : NULL;
	o->op_bc.bc_qemu_network =
	    c->c_qemu_network[0] != '\0' ? c->c_qemu_network : NULL;
	o->op_bc.bc_clone = c->c_clone;
}

/* The backend --backend names, into out[0]. 0, or -1 logged. */
static int
open_named(struct opening *o, const char *name, struct bkent *out)
{
	char list[256] = "";

	for (size_t i = 0; i < o->op_n; i++) {
		struct err err;

		if (strcmp(o->op_all[i]->name, name) != 0)
			continue;
		err_clear(&err);
		if (o->op_all[i]->open(&o->op_bc, &out->be_ctx, &err) == -1) {
			log_error("--backend %s: %s", name, err.msg);
			return -1;
		}
		out->be_ops = o->op_all[i];
		return 0;
	}
	for (size_t i = 0; i < o->op_n; i++) {
		(void)strlcat(list, i ? ", " : "", sizeof(list));
		(void)strlcat(list, o->op_all[i]->name, sizeof(list));
	}
	log_error("--backend %s: unknown; use %s or auto", name, list);
	return -1;
}

/* Whether the user pointed at ops's hypervisor (--vmrun, --qemu). */
static bool
explicit_path(const struct opening *o, const struct backend_ops *ops)
{
	return (strcmp(ops->name, "vmware") == 0 &&
		   o->op_bc.bc_vmrun != NULL) ||
	    (strcmp(ops->name, "qemu") == 0 && o->op_bc.bc_qemu != NULL);
}

/* Every other backend that opens here, quietly: a missing hypervisor is
 * no error here. */
static void
open_others(
    struct opening *o, bool is_auto, struct bkent *out, size_t max, size_t *n)
{
	o->op_bc.bc_quiet = true;
	for (size_t i = 0; i < o->op_n && *n < max; i++) {
		struct err err;

		if (*n > 0 && o->op_all[i] == out[0].be_ops)
			continue;
		/* Test doubles only when asked for by name. */
		if (is_auto && is_extra(o, o->op_all[i]))
			continue;
		err_clear(&err);
		if (o->op_all[i]->open(&o->op_bc, &out[*n].be_ctx, &err) == 0) {
			out[*n].be_ops = o->op_all[i];
			(*n)++;
			continue;
		}
		/* A path the user gave that does not work is worth saying
		 * even when another backend opens. */
		if (explicit_path(o, o->op_all[i]))
			log_warnx(
			    "backend %s: %s", o->op_all[i]->name, err.msg);
		else
			log_debug("backend %s not available: %s",
			    o->op_all[i]->name, err.msg);
		(void)snprintf(o->op_why + strlen(o->op_why),
		    sizeof(o->op_why) - strlen(o->op_why), "%s%s: %s",
		    o->op_why[0] != '\0' ? "; " : "", o->op_all[i]->name,
		    err.msg);
	}
}

int
backends_open(const struct config *c, const struct backend_ops *const *extra,
    struct bkent *out, size_t max, size_t *n)
{
	struct opening o;
	bool is_auto = strcmp(c->c_backend, "auto") == 0;

	opening_init(&o, c, extra);
	*n = 0;
	if (!is_auto) {
		if (open_named(&o, c->c_backend, &out[0]) == -1)
			return -1;
		*n = 1;
	}
	open_others(&o, is_auto, out, max, n);
	if (*n == 0 && (c->c_vmrun[0] != '\0' || c->c_qemu[0] != '\0')) {
		log_error("no backend could be opened: %s", o.op_why);
		return -1;
	}
	if (*n == 0) {
		log_error("no hypervisor found: vmrun (VMware Fusion, "
			  "Workstation or Player) is not installed or not in "
			  "PATH, and neither is qemu-system-x86_64. Install "
			  "one, or point --vmrun / --qemu at it (%s)",
		    o.op_why);
		return -1;
	}
	return 0;
}

void
backends_close(struct bkent *bks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bks[i].be_ops->close != NULL)
			bks[i].be_ops->close(bks[i].be_ctx);
}
