/* Placeholder: being written. */
#include "cloudinit.h"
