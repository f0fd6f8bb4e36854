/* Placeholder: being written. */
#include "seediso.h"
