/* Placeholder: being written. */
#ifndef CLOUDINIT_H
#define CLOUDINIT_H
#endif
