/*
 * The command line: cli_main picks the command, `serve` (the plugin,
 * serve.h) or a client verb (client.h, group.h), and composes the global
 * usage from their tables. main.c only calls cli_main; the test daemon
 * calls it with an extra backend.
 */
#ifndef CLI_H
#define CLI_H

#include "backend/backend.h"

/* Runs the program; extra is a NULL-terminated list of additional backends
 * (tests), or NULL. Returns the exit status. */
int cli_main(int argc, char **argv, const struct backend_ops *const *extra);

#endif /* CLI_H */
