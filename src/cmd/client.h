/*
 * The client side of the plugin's socket: one JSON-RPC call to a running
 * plugin (its unix socket, else the TCP address in NAME.listen, else an
 * explicit --listen tcp://), the options every client verb shares, the
 * verb table and the exit statuses.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cmd/config.h"
#include "util/defaults.h"

struct err;
struct flag;

/* Exit statuses of the client verbs (README, the .1 page). */
#define CLI_OK 0
#define CLI_FAILED 1	  /* the plugin refused or failed the request */
#define CLI_USAGE 2	  /* bad flags or operands */
#define CLI_UNREACHABLE 3 /* no plugin answered */
#define CLI_TIMEOUT 4	  /* provision --wait: not ready in time */

/* The options of the client verbs; starts with the struct config that
 * config_client_flags fill. */
struct copts {
	struct config co_conf;
	char co_type[RPC_MAX_TYPE + 1];
	const char *co_tags; /* describe --tags k=v,k=v */
	bool co_props;
	bool co_all;
	bool co_quiet;
	bool co_json;
	char co_reason[64]; /* destroy --reason */
	bool co_wait;	    /* provision --wait */
	unsigned co_timeout_ms;
	bool co_hard;		    /* stop --hard */
	bool co_follow;		    /* logs -f */
	char co_identity[PATH_BUF]; /* ssh -i */
	char co_user[64];	    /* ssh -l */
};

/* A client verb: PROG NAME [flags] OPERANDS. */
struct verb {
	const char *v_name;
	const char *v_usage; /* the global usage's line, after the name */
	const char *v_help;  /* what VERB --help says it does */
	const struct flag *v_flags; /* its own flags, or NULL */
	int v_min, v_max;	    /* operands; v_max -1: any number */
	int (*v_run)(const struct copts *o, int argc, char **argv);
};

/* The instance verbs (verbs.c), ended by a NULL v_name. */
extern const struct verb client_verbs[];

/* Runs verb v: argv[0] is the verb, then its flags and operands. Returns
 * the exit status. */
int client_verb_main(const struct verb *v, int argc, char **argv);

/*
 * One JSON-RPC call to the running plugin: the "result" (a new
 * reference), or NULL with err holding the plugin's message (code EIK_IO
 * when no plugin answered). client_call_raw sends params_text as it is,
 * byte for byte (a group spec's numbers keep their spelling).
 */
json_t *client_call(const struct config *c, const char *method, json_t *params,
    struct err *err);
json_t *client_call_raw(const struct config *c, const char *method,
    const char *params_text, struct err *err);

/* The client's TLS flags fit together (config_check_tls) and, for
 * tcps://, its files load: a bad one is a usage error found before any
 * connection (the plugin would log a client that hung up). 0, or -1 with
 * the message printed. */
int client_check_tls(const struct config *c);

/* Machine.Info of the plugin (a new reference), or NULL with err. */
json_t *client_info(const struct config *c, struct err *err);

/* Prints "error: ..." and returns the exit status for err. */
int client_fail(const struct err *err);

/* The description of instance id with its Properties, whether InfraKit
 * sees it or not (a new reference), or NULL with err (EIK_NOTFOUND
 * naming `describe --all`). reach.c. */
json_t *client_find(const struct copts *o, const char *id, struct err *err);

/* The verbs that reach a guest (reach.c): ssh, ip, console, logs, start,
 * stop, restart; and provision --wait's wait. */
int reach_ssh(const struct copts *o, int argc, char **argv);
int reach_ip(const struct copts *o, int argc, char **argv);
int reach_console(const struct copts *o, int argc, char **argv);
int reach_logs(const struct copts *o, int argc, char **argv);
int reach_start(const struct copts *o, int argc, char **argv);
int reach_stop(const struct copts *o, int argc, char **argv);
int reach_restart(const struct copts *o, int argc, char **argv);
int reach_wait_ready(const struct copts *o, const char *id);

#endif /* CLIENT_H */
