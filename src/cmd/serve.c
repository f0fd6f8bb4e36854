/*
 * `serve`: the plugin daemon's life cycle, in steps. Flags (one table) →
 * config; the plugins directory and socket (a live plugin on the same name
 * is never disturbed); backends; the service with its crash recovery and
 * the group controller; the HTTP servers; then wait for SIGINT/SIGTERM on
 * a self-pipe and shut down in order: stop accepting, stop the service
 * (in-flight work parks safely), remove socket, pid file and .listen file,
 * exit 0.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/backends.h"
#include "cmd/config.h"
#include "cmd/flags.h"
#include "cmd/serve.h"
#include "cmd/sigwait.h"
#include "cmd/sshkey.h"
#include "group/gctl.h"
#include "group/ghash.h"
#include "http/httpd.h"
#include "http/tls.h"
#include "rpc/rpc.h"
#include "service/service.h"
#include "store/store.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/metrics.h"
#include "version.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- flags -------------------------------------------------------------- */

#define CF(field)                                                              \
	offsetof(struct config, field), sizeof(((struct config *)0)->field)

static int
set_name(void *ctx, const struct flag *f, const char *arg)
{
	(void)f;
	return config_set_name(ctx, arg);
}

static int
set_listen(void *ctx, const struct flag *f, const char *arg)
{
	(void)f;
	return config_set_listen(ctx, arg, true);
}

static int
set_log(void *ctx, const struct flag *f, const char *arg)
{
	const char *e;

	(void)f;
	((struct config *)ctx)->c_log = (int)parse_uint(arg, 0, 5, &e);
	if (e != NULL) {
		fprintf(stderr, "--log %s: %s; use 0 to 5\n", arg, e);
		return -1;
	}
	return 0;
}

static int
set_log_format(void *ctx, const struct flag *f, const char *arg)
{
	(void)f;
	if ((((struct config *)ctx)->c_log_format = log_format_parse(arg)) <
	    0) {
		fprintf(stderr, "--log-format %s: use text or json\n", arg);
		return -1;
	}
	return 0;
}

static int
set_backend(void *ctx, const struct flag *f, const char *arg)
{
	struct config *c = ctx;

	(void)f;
	if (strlcpy(c->c_backend, arg, sizeof(c->c_backend)) >=
	    sizeof(c->c_backend)) {
		fprintf(
		    stderr, "--backend %s: use vmware, qemu or auto\n", arg);
		return -1;
	}
	return 0;
}

static int
set_clone(void *ctx, const struct flag *f, const char *arg)
{
	int m = clone_mode_parse(arg);

	(void)f;
	if (m < 0) {
		fprintf(stderr, "--clone %s: use auto, linked, full or copy\n",
		    arg);
		return -1;
	}
	((struct config *)ctx)->c_clone = (enum clone_mode)m;
	return 0;
}

static int
set_max_parallel(void *ctx, const struct flag *f, const char *arg)
{
	const char *e;

	(void)f;
	((struct config *)ctx)->c_max_parallel =
	    (unsigned)parse_uint(arg, 1, MAX_PARALLEL_MAX, &e);
	if (e != NULL) {
		fprintf(stderr, "--max-parallel %s: %s; use 1 to %d\n", arg, e,
		    MAX_PARALLEL_MAX);
		return -1;
	}
	return 0;
}

/* A duration of at least min_ms (min_ms 0: more than 0). */
static int
set_duration_min(
    void *ctx, const struct flag *f, const char *arg, unsigned min_ms)
{
	unsigned v;

	if (flag_duration(ctx, f, arg) == -1)
		return -1;
	v = *(unsigned *)((char *)ctx + f->f_off);
	if (min_ms > 0 && v < min_ms) {
		fprintf(
		    stderr, "--%s %s: at least %ums\n", f->f_long, arg, min_ms);
		return -1;
	}
	if (min_ms == 0 && v == 0) {
		fprintf(stderr, "--%s must be > 0\n", f->f_long);
		return -1;
	}
	return 0;
}

static int
set_poll(void *ctx, const struct flag *f, const char *arg)
{
	return set_duration_min(ctx, f, arg, POLL_INTERVAL_MIN_MS);
}

static int
set_positive(void *ctx, const struct flag *f, const char *arg)
{
	return set_duration_min(ctx, f, arg, 0);
}

static int
set_hash_tag(void *ctx, const struct flag *f, const char *arg)
{
	(void)f;
	if ((((struct config *)ctx)->c_group_era = ghash_era_parse(arg)) < 0) {
		fprintf(stderr,
		    "--group-hash-tag %s: use master, v0.5, v0.1 or "
		    "v0.1-go1.6\n",
		    arg);
		return -1;
	}
	return 0;
}

static int
set_guest_key(void *ctx, const struct flag *f, const char *arg)
{
	(void)f;
	if (strcmp(arg, "auto") != 0 && strcmp(arg, "none") != 0) {
		fprintf(stderr, "--guest-key %s: use auto or none\n", arg);
		return -1;
	}
	((struct config *)ctx)->c_no_guest_key = strcmp(arg, "none") == 0;
	return 0;
}

/* Numbers in the help texts. */
#define PORT_MAX_S STR(TCP_PORT_MAX)
#define PARALLEL_S STR(MAX_PARALLEL_DEFAULT)
#define NAME_S PLUGIN_DEFAULT_NAME

/*
 * The flags of serve, in the order --help lists them. An entry without a
 * setter is one more help line for the flag above it.
 */
static const struct flag serve_flags[] = {
	{ "name", 0, "NAME",
	    "socket name in the plugins directory (default " NAME_S ")",
	    set_name, 0, 0 },
	{ "listen", 0, "PATH", "explicit unix socket path", set_listen, 0, 0 },
	{ "listen", 0, "tcp://H:P",
	    "also serve TCP and write NAME.listen (loopback only\n"
	    "unless --allow-remote: the protocol has no\n"
	    "authentication); P is 1 to " PORT_MAX_S ", 0 = any free port",
	    NULL, 0, 0 },
	{ "listen", 0, "tcps://H:P",
	    "the same over TLS (1.2 or later) with --tls-cert and\n"
	    "--tls-key; no NAME.listen. Beyond loopback only with\n"
	    "--tls-client-ca (or --allow-remote)",
	    NULL, 0, 0 },
	{ "tls-cert", 0, "FILE",
	    "the server's certificate (PEM; its chain may follow)", flag_path,
	    CF(c_tls_cert) },
	{ "tls-key", 0, "FILE", "its private key (PEM, unencrypted)", flag_path,
	    CF(c_tls_key) },
	{ "tls-client-ca", 0, "FILE",
	    "require client certificates signed by this CA (PEM)", flag_path,
	    CF(c_tls_ca) },
	{ "allow-remote", 0, NULL,
	    "allow a non-loopback --listen without client\n"
	    "certificates: plain tcp://, or tcps:// without\n"
	    "--tls-client-ca (anyone who reaches it can create and\n"
	    "destroy VMs)",
	    flag_bool, CF(c_allow_remote) },
	{ "log", 0, "0..5",
	    "verbosity (InfraKit convention; 5 logs every request)", set_log, 0,
	    0 },
	{ "log-format", 0, "F",
	    "text (default) or json: one object a line with time,\n"
	    "level, msg and the request ID, method and instance",
	    set_log_format, 0, 0 },
	{ "vm-dir", 0, "DIR",
	    "where instances live (default ~/.infrakit/NAME/vms)", flag_path,
	    CF(c_vm_dir) },
	{ "vm-lib", 0, "DIR",
	    "template library: VMX \"x\" is DIR/x.vmwarevm/x.vmx or\n"
	    "DIR/x/x.vmx (default ~/.infrakit/NAME/vmx)",
	    flag_path, CF(c_vm_lib) },
	{ "backend", 0, "B",
	    "vmware, qemu or auto (default auto: vmware if vmrun is\n"
	    "found, else qemu if qemu-system-x86_64 is found)",
	    set_backend, 0, 0 },
	{ "vmrun", 0, "PATH",
	    "vmrun to use (default: search Fusion, Workstation, PATH)",
	    flag_path, CF(c_vmrun) },
	{ "qemu", 0, "PATH", "qemu-system-x86_64 to use (default: search PATH)",
	    flag_path, CF(c_qemu) },
	{ "qemu-network", 0, "N",
	    "user (default: each guest's SSH on a loopback port) or\n"
	    "bridge=NAME[,leases=FILE][,helper=PATH]: a tap on a host\n"
	    "bridge, the guest's IP from its DHCP leases",
	    flag_string, CF(c_qemu_network) },
	{ "clone", 0, "MODE", "auto, linked, full or copy (default auto)",
	    set_clone, 0, 0 },
	{ "max-parallel", 0, "N",
	    "background VM operations at once (default " PARALLEL_S ")",
	    set_max_parallel, 0, 0 },
	{ "poll-interval", 0, "D",
	    "power-state refresh, e.g. 5s, 500ms (default 1s): a VM\n"
	    "stopped behind the plugin's back is seen (and its group\n"
	    "reacts) within this time",
	    set_poll, CF(c_poll_ms) },
	{ "op-timeout", 0, "D",
	    "deadline of one backend operation (default 30m)", set_positive,
	    CF(c_op_timeout_ms) },
	{ "stop-timeout", 0, "D",
	    "soft power-off budget before a hard one (default 30s)",
	    flag_duration, CF(c_stop_soft_ms) },
	{ "group-hash-tag", 0, "E",
	    "the config-hash tag the built-in group controller writes:\n"
	    "master (infrakit.config.hash, default) or v0.5\n"
	    "(infrakit.config_sha, InfraKit v0.5 and master before\n"
	    "2018-01-18); v0.1 for v0.1-v0.4 (base64url)",
	    set_hash_tag, 0, 0 },
	{ "group-restart-wait", 0, "D",
	    "a group with RestartPolicy \"restart\": how long a\n"
	    "restarted member may take to run again before the next\n"
	    "try (2 tries, then it is replaced; default 15s)",
	    set_positive, CF(c_group_restart_wait_ms) },
	{ "guest-key", 0, "K",
	    "auto (default): make <vm-dir>/.ssh/id_ed25519 once and\n"
	    "authorize it in every guest (the client's ssh uses it);\n"
	    "none: only the Spec's SSHAuthorizedKeys",
	    set_guest_key, 0, 0 },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

void
serve_usage(FILE *f)
{
	const struct flag *tables[] = { serve_flags, NULL };

	fprintf(f, "serve flags (--flag=value and --flag value both work):\n");
	flags_help(f, tables);
	fprintf(f,
	    "Durations D are Go's: 30s, 1m30s, 1.5h, 500ms (units ns, us, "
	    "ms, s, m, h); a\nbare number is seconds.\n"
	    "Environment: INFRAKIT_PLUGINS_DIR, else INFRAKIT_HOME/plugins, "
	    "else\n~/.infrakit/plugins holds the socket NAME and NAME.pid.\n");
}

/* ---- the daemon's state, step by step ------------------------------------ */

struct serve {
	struct config s_c;
	char s_pidfile[PATH_BUF];
	char s_listenfile[PATH_BUF];
	struct bkent s_bks[8];
	size_t s_nbk;
	struct service *s_sv;
	struct gctl *s_gc;
	struct rpc_front s_front;
	struct conns *s_conns;
	struct httpd *s_h, *s_ht; /* unix, TCP */
	struct tlsfront *s_tls;	  /* tcps://: in front of s_ht */
	struct stat s_sock_st;
	bool s_have_sock, s_wrote_pid, s_wrote_listen;
	char s_ssh_key[PATH_BUF]; /* the guests' key pair, or "" */
	char *s_ssh_pub;
};

/* Fills in the directories that default from --name. */
static int
finish_config(struct config *c)
{
	char home[PATH_BUF];
	struct err err;
	int n;

	err_clear(&err);
	if (config_infrakit_home(home, sizeof(home), &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	if (c->c_vm_dir[0] == '\0') {
		n = snprintf(c->c_vm_dir, sizeof(c->c_vm_dir), "%s/%s/vms",
		    home, c->c_name);
		if (n < 0 || (size_t)n >= sizeof(c->c_vm_dir))
			return -1;
	}
	if (c->c_vm_lib[0] == '\0') {
		n = snprintf(c->c_vm_lib, sizeof(c->c_vm_lib), "%s/%s/vmx",
		    home, c->c_name);
		if (n < 0 || (size_t)n >= sizeof(c->c_vm_lib))
			return -1;
	}
	if (config_absolute(c->c_plugins_dir, sizeof(c->c_plugins_dir)) == -1)
		return -1;
	if (config_check_tls(c, true) == -1)
		return -1;
	return config_resolve_socket(c);
}

/* Flags into s->s_c. -1 to go on, else the exit status. */
static int
parse_config(struct serve *s, int argc, char **argv)
{
	const struct flag *tables[] = { serve_flags, NULL };
	struct err err;
	char **ops;
	int n;

	err_clear(&err);
	if (config_defaults(&s->s_c, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if ((ops = calloc((size_t)argc + 1, sizeof(*ops))) == NULL)
		return 1;
	n = flags_parse(
	    tables, FLAGS_PERMUTE, "serve", argc, argv, &s->s_c, ops);
	if (n > 0)
		fprintf(stderr, "unexpected argument \"%s\" (see --help)\n",
		    ops[0]);
	free(ops);
	if (n == FLAGS_HELP) {
		serve_usage(stdout);
		return 0;
	}
	if (n != 0 || finish_config(&s->s_c) == -1)
		return 2;
	return -1;
}

static void
report_live(const char *sock, const char *pidfile)
{
	char *text = NULL;
	size_t len;

	if (read_file_max(pidfile, 64, &text, &len, NULL) == 0 && len > 0)
		log_error("another plugin (PID %s) is serving %s; stop it "
			  "(kill %s) or choose another --name",
		    text, sock, text);
	else
		log_error("another plugin is serving %s; stop it or choose "
			  "another --name",
		    sock);
	free(text);
}

/* The plugins directory, the vm-dir and the checks made before anything
 * is touched. 0, or -1 logged. */
static int
prepare_dirs(struct serve *s)
{
	const struct config *c = &s->s_c;
	struct err err;

	err_clear(&err);
	if (snprintf(s->s_pidfile, sizeof(s->s_pidfile), "%s/%s.pid",
		c->c_plugins_dir, c->c_name) >= (int)sizeof(s->s_pidfile) ||
	    snprintf(s->s_listenfile, sizeof(s->s_listenfile), "%s/%s.listen",
		c->c_plugins_dir, c->c_name) >= (int)sizeof(s->s_listenfile))
		fatalx("plugins directory path too long");
	/* The plugins directory: created 0700 when we make it. */
	if (!is_dir(c->c_plugins_dir)) {
		if (mkdir_p(c->c_plugins_dir, PLUGINS_DIR_MODE, &err) == -1)
			fatalx("plugins directory: %s", err.msg);
		(void)chmod(c->c_plugins_dir, PLUGINS_DIR_MODE);
	}
	/* Refuse early, before touching anything, if the name is taken. */
	if (httpd_socket_live(c->c_socket)) {
		report_live(c->c_socket, s->s_pidfile);
		return -1;
	}
	if (strlen(c->c_vm_dir) > STORE_DIR_MAX) {
		log_error(
		    "--vm-dir is %zu bytes long; at most %d (STORE_DIR_MAX) "
		    "leave room for the paths the plugin makes below it: "
		    "choose a shorter directory",
		    strlen(c->c_vm_dir), STORE_DIR_MAX);
		return -1;
	}
	if (mkdir_p(c->c_vm_dir, STATE_DIR_MODE, &err) == -1) {
		log_error("--vm-dir: %s", err.msg);
		return -1;
	}
	if (!is_dir(c->c_vm_lib))
		log_warnx("--vm-lib %s does not exist: Validate and Provision "
			  "will fail until templates are there",
		    c->c_vm_lib);
	return 0;
}

/* The built-in group controller on the service; NULL (logged) on
 * failure. */
static struct gctl *
open_groups(const struct config *c, const struct svc *svc)
{
	struct gctl_conf gcc;
	struct gctl *gc;
	struct err err;

	memset(&gcc, 0, sizeof(gcc));
	gcc.gc_vm_dir = c->c_vm_dir;
	gcc.gc_svc = svc;
	gcc.gc_plugin = c->c_name;
	gcc.gc_era = (enum ghash_era)c->c_group_era;
	gcc.gc_poll_ms = c->c_poll_ms;
	gcc.gc_restart_wait_ms = c->c_group_restart_wait_ms;
	err_clear(&err);
	if ((gc = gctl_open(&gcc, &err)) == NULL)
		log_error("group controller: %s", err.msg);
	return gc;
}

/* The plugin's key pair for its guests (sshkey.h). Without it (no
 * ssh-keygen) the plugin still serves: `ssh` then needs -i. */
static void
open_ssh_key(struct serve *s)
{
	struct err err;

	if (s->s_c.c_no_guest_key)
		return;
	err_clear(&err);
	if (sshkey_ensure(s->s_c.c_vm_dir, s->s_ssh_key, sizeof(s->s_ssh_key),
		&s->s_ssh_pub, &err) == -1) {
		log_warnx("the guests get no key of the plugin's: %s", err.msg);
		s->s_ssh_key[0] = '\0';
	}
}

/* Backends, the service and the group controller. 0, or -1 logged. */
static int
start_core(struct serve *s, const struct backend_ops *const *extra)
{
	const struct config *c = &s->s_c;
	struct service_conf sc;
	struct err err;

	if (backends_open(c, extra, s->s_bks,
		sizeof(s->s_bks) / sizeof(s->s_bks[0]), &s->s_nbk) == -1)
		return -1;
	memset(&sc, 0, sizeof(sc));
	sc.sc_vm_dir = c->c_vm_dir;
	sc.sc_vm_lib = c->c_vm_lib;
	sc.sc_backends = s->s_bks;
	sc.sc_n_backends = s->s_nbk;
	sc.sc_max_parallel = c->c_max_parallel;
	sc.sc_poll_ms = c->c_poll_ms;
	sc.sc_op_timeout_ms = c->c_op_timeout_ms;
	sc.sc_stop_soft_ms = c->c_stop_soft_ms;
	open_ssh_key(s);
	sc.sc_ssh_key = s->s_ssh_pub;
	err_clear(&err);
	if ((s->s_sv = service_open(&sc, &err)) == NULL) {
		log_error("%s", err.msg);
		return -1;
	}
	/* The group controller: a client of the service, started after it
	 * and stopped before it. */
	if ((s->s_gc = open_groups(c, service_svc(s->s_sv))) == NULL)
		return -1;
	rpc_front_init(&s->s_front, service_svc(s->s_sv), s->s_gc);
	s->s_front.rf_vm_dir = c->c_vm_dir;
	if (s->s_ssh_pub != NULL)
		s->s_front.rf_ssh_key = s->s_ssh_key;
	return 0;
}

static void
split_listen(const char *hp, char *host, size_t len, const char **port)
{
	char *colon;

	(void)strlcpy(host, hp, len);
	colon = strrchr(host, ':');
	*colon = '\0';
	*port = hp + (colon - host) + 1;
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
}

/* The TLS front on tfd (taken), in front of an HTTP server of its own. */
static int
start_tls(struct serve *s, int tfd, struct httpd_opts *ho, struct err *err)
{
	const struct config *c = &s->s_c;
	struct tls_server_conf ts = { c->c_tls_cert, c->c_tls_key,
		c->c_tls_ca[0] != '\0' ? c->c_tls_ca : NULL };
	struct tls_ctx *ctx = tls_server_ctx(&ts, err);

	if (ctx == NULL) {
		(void)close(tfd);
		return -1;
	}
	/* A client certificate is the authentication: no Host check. */
	ho->ho_remote = c->c_allow_remote || ts.ts_client_ca != NULL;
	if ((s->s_ht = httpd_start(-1, &s->s_front.rf_svc, ho, err)) == NULL) {
		(void)close(tfd);
		tls_ctx_free(ctx);
		return -1;
	}
	s->s_tls = tls_front_start(tfd, ctx, s->s_ht, err);
	return s->s_tls == NULL ? -1 : 0;
}

/* --listen tcp://: its server and NAME.listen; tcps://: the TLS front and
 * no NAME.listen (InfraKit would try it, and its client has no
 * certificates). 0, or -1 logged. */
static int
start_tcp(struct serve *s, const struct httpd_opts *ho_unix)
{
	const struct config *c = &s->s_c;
	const char *scheme = c->c_tls ? "tcps" : "tcp", *port;
	bool authed = c->c_tls && c->c_tls_ca[0] != '\0';
	struct httpd_opts ho_tcp = *ho_unix;
	char host[256], bound[300], url[320];
	struct err err;
	int tfd;

	err_clear(&err);
	split_listen(c->c_tcp, host, sizeof(host), &port);
	tfd = httpd_listen_tcp(host, port, c->c_allow_remote || authed, bound,
	    sizeof(bound), &err);
	if (tfd == -1) {
		log_error("--listen %s://%s: %s", scheme, c->c_tcp, err.msg);
		return -1;
	}
	if (c->c_allow_remote && !authed)
		log_warnx("SERVING ON %s://%s WITHOUT AUTHENTICATION: anyone "
			  "who can reach it can create and destroy VMs",
		    scheme, bound);
	ho_tcp.ho_tcp = true;
	ho_tcp.ho_remote = c->c_allow_remote;
	(void)snprintf(url, sizeof(url), "%s://%s", scheme, bound);
	if (c->c_tls) {
		if (start_tls(s, tfd, &ho_tcp, &err) == -1) {
			log_error("%s", err.msg);
			return -1;
		}
		log_info("listening on %s (TLS%s%s)", url,
		    authed ? "; client certificates from "
			   : ", no client certificates",
		    authed ? c->c_tls_ca : "");
		return 0;
	}
	if ((s->s_ht = httpd_start(tfd, &s->s_front.rf_svc, &ho_tcp, &err)) ==
	    NULL) {
		log_error("%s", err.msg);
		return -1;
	}
	if (atomic_write_file(s->s_listenfile, url, strlen(url), 0644, &err) ==
	    -1) {
		log_error("%s", err.msg);
		return -1;
	}
	s->s_wrote_listen = true;
	log_info("listening on %s (%s)", url, s->s_listenfile);
	return 0;
}

static int
write_pid_file(const char *path, struct err *err)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld", (long)getpid());

	/* Decimal, no trailing newline: master's `plugin stop` parses it
	 * strictly. */
	return atomic_write_file(path, text, (size_t)n, 0644, err);
}

/* The unix socket, the pid file, TCP, then serving the socket. 0, or -1
 * logged. */
static int
start_listeners(struct serve *s)
{
	const struct config *c = &s->s_c;
	struct httpd_opts ho_unix;
	struct err err;
	int fd;

	err_clear(&err);
	if ((fd = httpd_listen_unix(c->c_socket, &err)) == -1) {
		if (err.code == EIK_BUSY)
			report_live(c->c_socket, s->s_pidfile);
		else
			log_error("%s", err.msg);
		return -1;
	}
	s->s_have_sock = lstat(c->c_socket, &s->s_sock_st) == 0;
	if (write_pid_file(s->s_pidfile, &err) == -1) {
		log_error("pid file: %s", err.msg);
		(void)close(fd);
		return -1;
	}
	s->s_wrote_pid = true;
	/* A TLS connection costs a socket pair too. */
	if ((s->s_conns =
		    httpd_conns_new(c->c_tls ? tls_conn_cap(httpd_conn_budget())
					     : httpd_conn_budget())) == NULL) {
		log_error("out of memory");
		(void)close(fd);
		return -1;
	}
	memset(&ho_unix, 0, sizeof(ho_unix));
	ho_unix.ho_conns = s->s_conns;
	if (c->c_tcp[0] != '\0' && start_tcp(s, &ho_unix) == -1) {
		(void)close(fd);
		return -1;
	}
	/* Last: once the socket answers, NAME.listen is in place too. */
	if ((s->s_h = httpd_start(fd, &s->s_front.rf_svc, &ho_unix, &err)) ==
	    NULL) {
		log_error("%s", err.msg);
		return -1;
	}
	return 0;
}

/* Removes path only if it is still the socket we made. */
static void
remove_socket(const char *path, const struct stat *ours)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_ino == ours->st_ino &&
	    st.st_dev == ours->st_dev)
		(void)unlink(path);
}

/*
 * Stop accepting first; then the group controller answers what it took
 * (its own requests to the service still get answers), then the service
 * answers what it took and parks its work; only then can the HTTP servers
 * stop (no connection may still wait for an answer) and all be freed.
 */
static void
shut_down(struct serve *s)
{
	tls_front_quiesce(s->s_tls);
	httpd_quiesce(s->s_ht);
	httpd_quiesce(s->s_h);
	if (s->s_have_sock)
		remove_socket(s->s_c.c_socket, &s->s_sock_st);
	gctl_stop(s->s_gc);
	service_stop(s->s_sv);
	tls_front_stop(s->s_tls); /* it adds connections to s_ht */
	httpd_stop(s->s_ht);
	httpd_stop(s->s_h);
	httpd_conns_free(s->s_conns);
	gctl_close(s->s_gc);
	service_close(s->s_sv);
	backends_close(s->s_bks, s->s_nbk);
	if (s->s_wrote_listen)
		(void)unlink(s->s_listenfile);
	if (s->s_wrote_pid)
		(void)unlink(s->s_pidfile);
	sigwait_close();
}

int
serve_main(int argc, char **argv, const struct backend_ops *const *extra)
{
	struct serve *s = calloc(1, sizeof(*s));
	int rc = 1;

	if (s == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	if ((rc = parse_config(s, argc, argv)) != -1) {
		free(s);
		return rc;
	}
	rc = 1;
	log_init(s->s_c.c_log, NULL);
	log_set_format(s->s_c.c_log_format);
	metrics_init();
	if (prepare_dirs(s) == -1) {
		free(s);
		return 1;
	}
	sigwait_init();
	if (start_core(s, extra) == 0 && start_listeners(s) == 0) {
		log_info("%s %s (%s) serving %s; backend %s; vm-dir %s; "
			 "vm-lib %s",
		    PLUGIN_PROGNAME, PLUGIN_VERSION, PLUGIN_REVISION,
		    s->s_c.c_socket, s->s_bks[0].be_ops->name, s->s_c.c_vm_dir,
		    s->s_c.c_vm_lib);
		rc = sigwait_until(
		    s->s_have_sock ? s->s_c.c_socket : NULL, &s->s_sock_st);
	}
	shut_down(s);
	if (rc == 0)
		log_info("stopped");
	else
		log_info("stopped (status %d)", rc);
	free(s->s_ssh_pub);
	free(s);
	return rc;
}
