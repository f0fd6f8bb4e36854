/* Placeholder: being written. */
#include "vmx.h"
