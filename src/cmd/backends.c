/*
 * The backends built into the plugin, in the order --backend auto tries
 * them. The first that opens is the default Type "".
 */
#include <stddef.h>

#include "backend/backend.h"

extern const struct backend_ops backend_vmware_ops;
extern const struct backend_ops backend_qemu_ops;

const struct backend_ops *const builtin_backends[] = {
	&backend_vmware_ops,
	&backend_qemu_ops,
	NULL,
};
