/*
 * The backends built into the plugin, in the order --backend auto tries
 * them. The first that opens is the default Type "".
 */
#include <stddef.h>

#include "backend.h"

const struct backend_ops *const builtin_backends[] = { NULL };
