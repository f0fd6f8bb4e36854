/* Placeholder: being written. */
#ifndef SEEDISO_H
#define SEEDISO_H
#endif
