/* Placeholder: being written. */
#ifndef LEASES_H
#define LEASES_H
#endif
