/* Placeholder: being written. */
#include "leases.h"
