/*
 * `serve`: the plugin daemon (serve.c).
 */
#ifndef SERVE_H
#define SERVE_H

#include <stdio.h>

struct backend_ops;

/* Runs the plugin until SIGINT or SIGTERM; argv[0] is "serve" (or the
 * program). extra: NULL-terminated additional backends, or NULL. Returns
 * the exit status. */
int serve_main(int argc, char **argv, const struct backend_ops *const *extra);

/* Prints serve's flags ("serve flags ..."). */
void serve_usage(FILE *f);

#endif /* SERVE_H */
