/* Placeholder: being written. */
#ifndef VMX_H
#define VMX_H
#endif
