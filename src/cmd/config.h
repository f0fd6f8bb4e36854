/*
 * The settings `serve` and the client verbs share: the plugin's name, its
 * socket (--listen, else <plugins dir>/<name>), the plugins directory and
 * the InfraKit home resolved the way InfraKit does it, durations and
 * absolute paths; and the rest of serve's configuration, with defaults.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>

#include "cmd/flags.h"
#include "model/model.h"
#include "util/defaults.h"

struct err;

struct config {
	char c_name[128]; /* --name */
	char c_plugins_dir[PATH_BUF];
	char c_socket[PATH_BUF]; /* unix socket path */
	char c_tcp[256];	 /* --listen tcp://HOST:PORT */
	bool c_allow_remote;
	bool c_tls;		   /* --listen / --host tcps://HOST:PORT */
	char c_tls_cert[PATH_BUF]; /* --tls-cert */
	char c_tls_key[PATH_BUF];  /* --tls-key */
	char c_tls_ca[PATH_BUF];   /* serve --tls-client-ca, client --tls-ca */
	int c_log;		   /* 0..5 */
	int c_log_format;	   /* LOG_FMT_*: --log-format */
	char c_vm_dir[PATH_BUF];
	char c_vm_lib[PATH_BUF];
	char c_backend[16];		   /* vmware|qemu|auto|... */
	char c_vmrun[PATH_BUF];		   /* --vmrun */
	char c_qemu[PATH_BUF];		   /* --qemu */
	char c_qemu_network[3 * PATH_BUF]; /* --qemu-network, "" = user */
	enum clone_mode c_clone;
	unsigned c_max_parallel;
	unsigned c_poll_ms;
	unsigned c_op_timeout_ms;
	unsigned c_stop_soft_ms;
	int c_group_era;		  /* enum ghash_era: --group-hash-tag */
	unsigned c_group_restart_wait_ms; /* --group-restart-wait */
	bool c_no_guest_key;		  /* --guest-key none */
};

/*
 * The plugins directory: $INFRAKIT_PLUGINS_DIR, else $INFRAKIT_HOME/plugins,
 * else ~/.infrakit/plugins (~: $HOME, else the user database).
 */
int config_plugins_dir(char *out, size_t len, struct err *err);

/* The InfraKit home: $INFRAKIT_HOME, else ~/.infrakit. */
int config_infrakit_home(char *out, size_t len, struct err *err);

/* Sets every field to its default (directories resolved for name). */
int config_defaults(struct config *c, struct err *err);

/* Makes path absolute (relative to the working directory) in place; the
 * path need not exist. 0 or -1. */
int config_absolute(char *path, size_t len);

/* --name VALUE: a plain file name (it names the socket). 0, or -1 with a
 * message printed. */
int config_set_name(struct config *c, const char *arg);

/* --listen VALUE: a unix socket path (or unix://PATH), or tcp://HOST:PORT
 * with PORT from 1 to TCP_PORT_MAX (or 0, any free port, when serving).
 * 0, or -1 with a message printed. */
int config_set_listen(struct config *c, const char *arg, bool serving);

/* The TLS flags fit together, and with --listen (serving) or --host
 * tcps://. 0, or -1 with a message printed. */
int config_check_tls(const struct config *c, bool serving);

/* Fills c_socket from --listen or <plugins dir>/<name>. 0, or -1 with a
 * message printed. */
int config_resolve_socket(struct config *c);

/* The flags that find a running plugin, --name and --listen (and --host
 * with the --tls-* files of the client), for commands
 * whose options struct starts with a struct config (flags.h). */
extern const struct flag config_client_flags[];

#endif /* CONFIG_H */
