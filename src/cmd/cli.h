/*
 * The command line: `serve` (the plugin) and the client verbs that talk to a
 * running plugin over its socket. main.c only calls cli_main; the test
 * daemon calls it with an extra backend.
 */
#ifndef CLI_H
#define CLI_H

#include <jansson.h>
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

/* cmd/group.c: the `group` verbs. argv[0] is "group". */
int group_main(int argc, char **argv);

/*
 * One JSON-RPC call to the running plugin (client.c): the "result" (a new
 * reference), or NULL with err holding the plugin's message (code EIK_IO
 * when no plugin answered). params_text is sent as it is.
 */
#define CLIENT_TIMEOUT_S 60
#define CLIENT_MAX_ANSWER (256 * 1024 * 1024)
struct err;
json_t *client_call(const struct config *c, const char *method, json_t *params,
    struct err *err);
json_t *client_call_raw(const struct config *c, const char *method,
    const char *params_text, struct err *err);
/* Prints "error: ..." and returns the exit status for err (3: no plugin
 * reachable, else 1). */
int client_fail(const struct err *err);

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
