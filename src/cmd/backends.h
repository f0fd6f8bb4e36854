/*
 * The backends built into the plugin and how serve opens them.
 */
#ifndef BACKENDS_H
#define BACKENDS_H

#include <stddef.h>

#include "service/service.h"

struct backend_ops;
struct config;

/* In the order --backend auto tries them, ended by NULL. */
extern const struct backend_ops *const builtin_backends[];

/*
 * Opens the backends: the one --backend names first (the default Type ""),
 * then every other one that works here, each reachable by its name as
 * Type; extra ones (tests) only when named. Fills out (room for max) and
 * *n. 0, or -1 with the reason logged.
 */
int backends_open(const struct config *c,
    const struct backend_ops *const *extra, struct bkent *out, size_t max,
    size_t *n);

/* Closes the n backends of bks. */
void backends_close(struct bkent *bks, size_t n);

#endif /* BACKENDS_H */
