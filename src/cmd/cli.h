/*
 * The command line: `serve` (the plugin) and the client verbs that talk to a
 * running plugin over its socket. main.c only calls cli_main; the test
 * daemon calls it with an extra backend.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "backend/backend.h"
#include "cmd/config.h"

/* Runs the program; extra is a NULL-terminated list of additional backends
 * (tests), or NULL. Returns the exit status. */
int cli_main(int argc, char **argv, const struct backend_ops *const *extra);

/* serve.c */
int serve_main(int argc, char **argv, const struct backend_ops *const *extra);

/* client.c: the verbs. argv[0] is the verb. */
int client_main(int argc, char **argv);

/* Usage texts. */
void cli_usage(FILE *f);
void serve_usage(FILE *f);

/* --listen VALUE: a unix socket path (or unix://PATH), or tcp://HOST:PORT
 * with PORT from 1 to TCP_PORT_MAX (or 0, any free port, when serving).
 * 0, or -1 with a message printed. */
int cli_set_listen(struct config *c, const char *arg, bool serving);

/* Fills c->c_socket from --listen or <plugins dir>/<name>. 0 or -1. */
int cli_resolve_socket(struct config *c);

/* Checks a --name value: a plain file name. 0 or -1 (message printed). */
int cli_set_name(struct config *c, const char *arg);

#endif /* CLI_H */
