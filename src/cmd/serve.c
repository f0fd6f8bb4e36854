/*
 * `serve`: the plugin daemon's life cycle. Flags → config; the plugins
 * directory and socket (a live plugin on the same name is never disturbed);
 * backends; the service with its crash recovery; the HTTP server; then wait
 * for SIGINT/SIGTERM on a self-pipe and shut down in order: stop accepting,
 * stop the service (in-flight work parks safely), remove socket, pid file
 * and .listen file, exit 0.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "group/gctl.h"
#include "http/httpd.h"
#include "rpc/rpc.h"
#include "service/service.h"
#include "store/store.h"
#include "util/log.h"
#include "version.h"

extern const struct backend_ops *const builtin_backends[];

static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	/* Only async-signal-safe work here: one byte into the self-pipe. */
	(void)write(sig_pipe[1], &c, 1);
	errno = saved;
}

void
serve_usage(FILE *f)
{
	fprintf(f,
	    "serve flags (--flag=value and --flag value both work):\n"
	    "  --name NAME          socket name in the plugins directory "
	    "(default " PLUGIN_DEFAULT_NAME ")\n"
	    "  --listen PATH        explicit unix socket path\n"
	    "  --listen tcp://H:P   also serve TCP and write NAME.listen "
	    "(loopback only\n"
	    "                       unless --allow-remote: the protocol has "
	    "no\n"
	    "                       authentication); P is 1 to %d, 0 = any "
	    "free port\n"
	    "  --allow-remote       allow a non-loopback --listen tcp:// "
	    "address\n"
	    "  --log 0..5           verbosity (InfraKit convention; 5 logs "
	    "every request)\n"
	    "  --vm-dir DIR         where instances live (default "
	    "~/.infrakit/NAME/vms)\n"
	    "  --vm-lib DIR         template library: VMX \"x\" is "
	    "DIR/x.vmwarevm/x.vmx or\n"
	    "                       DIR/x/x.vmx (default "
	    "~/.infrakit/NAME/vmx)\n"
	    "  --backend B          vmware, qemu or auto (default auto: "
	    "vmware if vmrun is\n"
	    "                       found, else qemu if qemu-system-x86_64 "
	    "is found)\n"
	    "  --vmrun PATH         vmrun to use (default: search Fusion, "
	    "Workstation, PATH)\n"
	    "  --qemu PATH          qemu-system-x86_64 to use (default: "
	    "search PATH)\n"
	    "  --qemu-network N     user (default: each guest's SSH on a "
	    "loopback port) or\n"
	    "                       bridge=NAME[,leases=FILE][,helper=PATH]: "
	    "a tap on a host\n"
	    "                       bridge, the guest's IP from its DHCP "
	    "leases\n"
	    "  --clone MODE         auto, linked, full or copy (default "
	    "auto)\n"
	    "  --max-parallel N     background VM operations at once "
	    "(default %d)\n"
	    "  --poll-interval D    power-state refresh, e.g. 5s, 500ms "
	    "(default 1s): a VM\n"
	    "                       stopped behind the plugin's back is "
	    "seen (and its group\n"
	    "                       reacts) within this time\n"
	    "  --op-timeout D       deadline of one backend operation "
	    "(default 30m)\n"
	    "  --stop-timeout D     soft power-off budget before a hard one "
	    "(default 30s)\n"
	    "  --group-hash-tag E   the config-hash tag the built-in group "
	    "controller writes:\n"
	    "                       master (infrakit.config.hash, default) or "
	    "v0.5\n"
	    "                       (infrakit.config_sha, InfraKit v0.5 and "
	    "master before\n"
	    "                       2018-01-18); v0.1 for v0.1-v0.4 "
	    "(base64url)\n"
	    "  --group-restart-wait D  a group with RestartPolicy \"restart\": "
	    "how long a\n"
	    "                       restarted member may take to run again "
	    "before the next\n"
	    "                       try (2 tries, then it is replaced; default "
	    "15s)\n"
	    "Environment: INFRAKIT_PLUGINS_DIR, else INFRAKIT_HOME/plugins, "
	    "else\n~/.infrakit/plugins holds the socket NAME and NAME.pid.\n",
	    TCP_PORT_MAX, MAX_PARALLEL_DEFAULT);
}

enum {
	OPT_NAME = 256,
	OPT_LISTEN,
	OPT_ALLOW_REMOTE,
	OPT_LOG,
	OPT_VM_DIR,
	OPT_VM_LIB,
	OPT_BACKEND,
	OPT_VMRUN,
	OPT_QEMU,
	OPT_QEMU_NETWORK,
	OPT_CLONE,
	OPT_MAX_PARALLEL,
	OPT_POLL,
	OPT_OP_TIMEOUT,
	OPT_STOP_TIMEOUT,
	OPT_GROUP_HASH_TAG,
	OPT_GROUP_RESTART_WAIT,
	OPT_HELP
};

static const struct option serve_opts[] = { { "name", required_argument, NULL,
						OPT_NAME },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "vm-dir", required_argument, NULL, OPT_VM_DIR },
	{ "vm-lib", required_argument, NULL, OPT_VM_LIB },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "vmrun", required_argument, NULL, OPT_VMRUN },
	{ "qemu", required_argument, NULL, OPT_QEMU },
	{ "qemu-network", required_argument, NULL, OPT_QEMU_NETWORK },
	{ "clone", required_argument, NULL, OPT_CLONE },
	{ "max-parallel", required_argument, NULL, OPT_MAX_PARALLEL },
	{ "poll-interval", required_argument, NULL, OPT_POLL },
	{ "op-timeout", required_argument, NULL, OPT_OP_TIMEOUT },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "group-hash-tag", required_argument, NULL, OPT_GROUP_HASH_TAG },
	{ "group-restart-wait", required_argument, NULL,
	    OPT_GROUP_RESTART_WAIT },
	{ "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };

static int
set_path(char *dst, size_t len, const char *arg, const char *flag)
{
	if (arg[0] == '\0' || strlcpy(dst, arg, len) >= len ||
	    config_absolute(dst, len) == -1) {
		fprintf(stderr, "%s %s: not a usable path\n", flag, arg);
		return -1;
	}
	return 0;
}

static int
set_duration(unsigned *dst, const char *arg, const char *flag)
{
	if (config_duration_ms(arg, dst) == -1) {
		fprintf(stderr,
		    "%s %s: not a duration; use e.g. 500ms, 5s or 2m\n", flag,
		    arg);
		return -1;
	}
	return 0;
}

/* The group controller's flags. 0, or -1 with a message printed. */
static int
group_flag(int ch, const char *arg, struct config *c)
{
	if (ch == OPT_GROUP_HASH_TAG) {
		if ((c->c_group_era = ghash_era_parse(arg)) < 0) {
			fprintf(stderr,
			    "--group-hash-tag %s: use master, v0.5, v0.1 or "
			    "v0.1-go1.6\n",
			    arg);
			return -1;
		}
		return 0;
	}
	if (set_duration(
		&c->c_group_restart_wait_ms, arg, "--group-restart-wait") == -1)
		return -1;
	if (c->c_group_restart_wait_ms == 0) {
		fprintf(stderr, "--group-restart-wait must be > 0\n");
		return -1;
	}
	return 0;
}

static int
parse_flags(int argc, char **argv, struct config *c)
{
	const char *e;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", serve_opts, NULL)) != -1) {
		switch (ch) {
		case OPT_NAME:
			if (cli_set_name(c, optarg) == -1)
				return -1;
			break;
		case OPT_LISTEN:
			if (cli_set_listen(c, optarg, true) == -1)
				return -1;
			break;
		case OPT_ALLOW_REMOTE:
			c->c_allow_remote = true;
			break;
		case OPT_LOG:
			c->c_log = (int)parse_uint(optarg, 0, 5, &e);
			if (e != NULL) {
				fprintf(stderr, "--log %s: %s; use 0 to 5\n",
				    optarg, e);
				return -1;
			}
			break;
		case OPT_VM_DIR:
			if (set_path(c->c_vm_dir, sizeof(c->c_vm_dir), optarg,
				"--vm-dir") == -1)
				return -1;
			break;
		case OPT_VM_LIB:
			if (set_path(c->c_vm_lib, sizeof(c->c_vm_lib), optarg,
				"--vm-lib") == -1)
				return -1;
			break;
		case OPT_BACKEND:
			if (strlcpy(c->c_backend, optarg,
				sizeof(c->c_backend)) >= sizeof(c->c_backend)) {
				fprintf(stderr,
				    "--backend %s: use vmware, qemu or auto\n",
				    optarg);
				return -1;
			}
			break;
		case OPT_VMRUN:
			if (set_path(c->c_vmrun, sizeof(c->c_vmrun), optarg,
				"--vmrun") == -1)
				return -1;
			break;
		case OPT_QEMU:
			if (set_path(c->c_qemu, sizeof(c->c_qemu), optarg,
				"--qemu") == -1)
				return -1;
			break;
		case OPT_QEMU_NETWORK:
			if (strlcpy(c->c_qemu_network, optarg,
				sizeof(c->c_qemu_network)) >=
			    sizeof(c->c_qemu_network)) {
				fprintf(stderr, "--qemu-network: too long\n");
				return -1;
			}
			break;
		case OPT_CLONE: {
			int m = clone_mode_parse(optarg);

			if (m < 0) {
				fprintf(stderr,
				    "--clone %s: use auto, linked, full or "
				    "copy\n",
				    optarg);
				return -1;
			}
			c->c_clone = (enum clone_mode)m;
			break;
		}
		case OPT_MAX_PARALLEL:
			c->c_max_parallel = (unsigned)parse_uint(
			    optarg, 1, MAX_PARALLEL_MAX, &e);
			if (e != NULL) {
				fprintf(stderr,
				    "--max-parallel %s: %s; use 1 to %d\n",
				    optarg, e, MAX_PARALLEL_MAX);
				return -1;
			}
			break;
		case OPT_POLL:
			if (set_duration(
				&c->c_poll_ms, optarg, "--poll-interval") == -1)
				return -1;
			if (c->c_poll_ms < POLL_INTERVAL_MIN_MS) {
				fprintf(stderr,
				    "--poll-interval %s: at least %dms\n",
				    optarg, POLL_INTERVAL_MIN_MS);
				return -1;
			}
			break;
		case OPT_OP_TIMEOUT:
			if (set_duration(&c->c_op_timeout_ms, optarg,
				"--op-timeout") == -1)
				return -1;
			if (c->c_op_timeout_ms == 0) {
				fprintf(stderr, "--op-timeout must be > 0\n");
				return -1;
			}
			break;
		case OPT_STOP_TIMEOUT:
			if (set_duration(&c->c_stop_soft_ms, optarg,
				"--stop-timeout") == -1)
				return -1;
			break;
		case OPT_GROUP_HASH_TAG:
		case OPT_GROUP_RESTART_WAIT:
			if (group_flag(ch, optarg, c) == -1)
				return -1;
			break;
		case OPT_HELP:
		case 'h':
			serve_usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "%s needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "unknown flag %s (see --help)\n",
			    argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument \"%s\" (see --help)\n",
		    argv[optind]);
		return -1;
	}
	return 0;
}

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
	return cli_resolve_socket(c);
}

/* Opens the backends: the chosen one first (the default Type ""), then
 * every other one that works here, each reachable by its name as Type. */
static int
open_backends(const struct config *c, const struct backend_ops *const *extra,
    struct bkent *out, size_t max, size_t *n)
{
	const struct backend_ops *all[16];
	struct backend_conf bc;
	size_t na = 0;
	bool is_auto = strcmp(c->c_backend, "auto") == 0;
	bool found = false;

	for (size_t i = 0; builtin_backends[i] != NULL && na < 15; i++)
		all[na++] = builtin_backends[i];
	for (size_t i = 0; extra != NULL && extra[i] != NULL && na < 15; i++)
		all[na++] = extra[i];
	memset(&bc, 0, sizeof(bc));
	bc.bc_vm_dir = c->c_vm_dir;
	bc.bc_vm_lib = c->c_vm_lib;
	bc.bc_vmrun = c->c_vmrun[0] != '\0' ? c->c_vmrun : NULL;
	bc.bc_qemu = c->c_qemu[0] != '\0' ? c->c_qemu : NULL;
	bc.bc_qemu_network =
	    c->c_qemu_network[0] != '\0' ? c->c_qemu_network : NULL;
	bc.bc_clone = c->c_clone;
	*n = 0;
	if (!is_auto) {
		for (size_t i = 0; i < na; i++) {
			struct err err;

			if (strcmp(all[i]->name, c->c_backend) != 0)
				continue;
			found = true;
			err_clear(&err);
			if (all[i]->open(&bc, &out[0].be_ctx, &err) == -1) {
				log_error(
				    "--backend %s: %s", c->c_backend, err.msg);
				return -1;
			}
			out[0].be_ops = all[i];
			*n = 1;
		}
		if (!found) {
			char list[256] = "";

			for (size_t i = 0; i < na; i++) {
				(void)strlcat(
				    list, i ? ", " : "", sizeof(list));
				(void)strlcat(list, all[i]->name, sizeof(list));
			}
			log_error("--backend %s: unknown; use %s or auto",
			    c->c_backend, list);
			return -1;
		}
	}
	/* The others, quietly: a missing hypervisor is no error here. */
	bc.bc_quiet = true;
	for (size_t i = 0; i < na && *n < max; i++) {
		struct err err;

		if (*n > 0 && all[i] == out[0].be_ops)
			continue;
		/* Test doubles only when asked for by name. */
		if (is_auto && extra != NULL) {
			bool is_extra = false;

			for (size_t k = 0; extra[k] != NULL; k++)
				if (extra[k] == all[i])
					is_extra = true;
			if (is_extra)
				continue;
		}
		err_clear(&err);
		if (all[i]->open(&bc, &out[*n].be_ctx, &err) == 0) {
			out[*n].be_ops = all[i];
			(*n)++;
		} else
			log_debug("backend %s not available: %s", all[i]->name,
			    err.msg);
	}
	if (*n == 0) {
		log_error("no hypervisor found: vmrun (VMware Fusion, "
			  "Workstation or Player) is not installed or not in "
			  "PATH, and neither is qemu-system-x86_64. Install "
			  "one, or point --vmrun / --qemu at it");
		return -1;
	}
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

/* Removes path only if it is still the socket we made. */
static void
remove_socket(const char *path, const struct stat *ours)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_ino == ours->st_ino &&
	    st.st_dev == ours->st_dev)
		(void)unlink(path);
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

int
serve_main(int argc, char **argv, const struct backend_ops *const *extra)
{
	struct config c;
	struct err err;
	struct bkent bks[8];
	size_t nbk = 0;
	struct service_conf sc;
	struct service *sv = NULL;
	struct gctl *gc = NULL;
	struct rpc_front front;
	struct httpd *h = NULL, *ht = NULL;
	struct httpd_opts ho_unix, ho_tcp;
	struct conns *conns = NULL;
	struct sigaction sa;
	struct stat sock_st;
	char pidfile[PATH_BUF], listenfile[PATH_BUF];
	bool wrote_pid = false, wrote_listen = false, have_sock = false;
	int fd = -1, rc = 1;

	err_clear(&err);
	if (config_defaults(&c, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (parse_flags(argc, argv, &c) == -1 || finish_config(&c) == -1)
		return 2;
	log_init(c.c_log, NULL);
	if (snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", c.c_plugins_dir,
		c.c_name) >= (int)sizeof(pidfile) ||
	    snprintf(listenfile, sizeof(listenfile), "%s/%s.listen",
		c.c_plugins_dir, c.c_name) >= (int)sizeof(listenfile))
		fatalx("plugins directory path too long");

	/* The plugins directory: created 0700 when we make it. */
	if (!is_dir(c.c_plugins_dir)) {
		if (mkdir_p(c.c_plugins_dir, PLUGINS_DIR_MODE, &err) == -1)
			fatalx("plugins directory: %s", err.msg);
		(void)chmod(c.c_plugins_dir, PLUGINS_DIR_MODE);
	}
	/* Refuse early, before touching anything, if the name is taken. */
	if (httpd_socket_live(c.c_socket)) {
		report_live(c.c_socket, pidfile);
		return 1;
	}
	if (strlen(c.c_vm_dir) > STORE_DIR_MAX) {
		log_error(
		    "--vm-dir is %zu bytes long; at most %d (STORE_DIR_MAX) "
		    "leave room for the paths the plugin makes below it: "
		    "choose a shorter directory",
		    strlen(c.c_vm_dir), STORE_DIR_MAX);
		return 1;
	}
	if (mkdir_p(c.c_vm_dir, STATE_DIR_MODE, &err) == -1) {
		log_error("--vm-dir: %s", err.msg);
		return 1;
	}
	if (!is_dir(c.c_vm_lib))
		log_warnx("--vm-lib %s does not exist: Validate and Provision "
			  "will fail until templates are there",
		    c.c_vm_lib);

		/* Close-on-exec from the start where the system can: threads
		 * spawn long-lived children (QEMU), and one spawned between
		 * pipe() and fcntl() would keep our ends open for its whole
		 * life. */
#ifdef HAVE_PIPE2
	if (pipe2(sig_pipe, O_CLOEXEC) == -1)
		fatal("pipe2");
#else
	if (pipe(sig_pipe) == -1)
		fatal("pipe");
	(void)fd_cloexec(sig_pipe[0]);
	(void)fd_cloexec(sig_pipe[1]);
#endif
	(void)fd_nonblock(sig_pipe[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);

	if (open_backends(&c, extra, bks, sizeof(bks) / sizeof(bks[0]), &nbk) ==
	    -1)
		goto out;
	memset(&sc, 0, sizeof(sc));
	sc.sc_vm_dir = c.c_vm_dir;
	sc.sc_vm_lib = c.c_vm_lib;
	sc.sc_backends = bks;
	sc.sc_n_backends = nbk;
	sc.sc_max_parallel = c.c_max_parallel;
	sc.sc_poll_ms = c.c_poll_ms;
	sc.sc_op_timeout_ms = c.c_op_timeout_ms;
	sc.sc_stop_soft_ms = c.c_stop_soft_ms;
	sv = service_open(&sc, &err);
	if (sv == NULL) {
		log_error("%s", err.msg);
		goto out;
	}
	/* The group controller: a client of the service, started after it
	 * and stopped before it. */
	if ((gc = open_groups(&c, service_svc(sv))) == NULL)
		goto out;
	rpc_front_init(&front, service_svc(sv), gc);

	fd = httpd_listen_unix(c.c_socket, &err);
	if (fd == -1) {
		if (err.code == EIK_BUSY)
			report_live(c.c_socket, pidfile);
		else
			log_error("%s", err.msg);
		goto out;
	}
	have_sock = lstat(c.c_socket, &sock_st) == 0;
	if (write_pid_file(pidfile, &err) == -1) {
		log_error("pid file: %s", err.msg);
		(void)close(fd);
		goto out;
	}
	wrote_pid = true;
	memset(&ho_unix, 0, sizeof(ho_unix));
	conns = httpd_conns_new(httpd_conn_budget());
	if (conns == NULL) {
		log_error("out of memory");
		(void)close(fd);
		goto out;
	}
	ho_unix.ho_conns = conns;
	if (c.c_tcp[0] != '\0') {
		char host[256], bound[300], url[320];
		char *colon;
		int tfd;

		(void)strlcpy(host, c.c_tcp, sizeof(host));
		colon = strrchr(host, ':');
		*colon = '\0';
		if (host[0] == '[' && colon[-1] == ']') {
			colon[-1] = '\0';
			memmove(host, host + 1, strlen(host));
		}
		tfd = httpd_listen_tcp(host, colon + 1, c.c_allow_remote, bound,
		    sizeof(bound), &err);
		if (tfd == -1) {
			log_error("--listen tcp://%s: %s", c.c_tcp, err.msg);
			goto out;
		}
		if (c.c_allow_remote)
			log_warnx("SERVING ON tcp://%s WITHOUT AUTHENTICATION: "
				  "anyone who can reach it can create and "
				  "destroy VMs",
			    bound);
		ho_tcp = ho_unix;
		ho_tcp.ho_tcp = true;
		ho_tcp.ho_remote = c.c_allow_remote;
		ht = httpd_start(tfd, &front.rf_svc, &ho_tcp, &err);
		if (ht == NULL) {
			log_error("%s", err.msg);
			goto out;
		}
		(void)snprintf(url, sizeof(url), "tcp://%s", bound);
		if (atomic_write_file(
			listenfile, url, strlen(url), 0644, &err) == -1) {
			log_error("%s", err.msg);
			goto out;
		}
		wrote_listen = true;
		log_info("listening on %s (%s)", url, listenfile);
	}
	/* Last: once the socket answers, NAME.listen is in place too. */
	h = httpd_start(fd, &front.rf_svc, &ho_unix, &err);
	if (h == NULL) {
		log_error("%s", err.msg);
		goto out;
	}
	log_info("%s %s (%s) serving %s; backend %s; vm-dir %s; vm-lib %s",
	    PLUGIN_PROGNAME, PLUGIN_VERSION, PLUGIN_REVISION, c.c_socket,
	    bks[0].be_ops->name, c.c_vm_dir, c.c_vm_lib);

	for (;;) {
		struct pollfd pfd = { sig_pipe[0], POLLIN, 0 };
		unsigned char sig;

		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			break;
		}
		if (read(sig_pipe[0], &sig, 1) == 1) {
			log_info("signal %d: shutting down", sig);
			break;
		}
	}
	rc = 0;
out:
	/* Stop accepting first; then the group controller answers what it
	 * took (its own requests to the service still get answers), then the
	 * service answers what it took and parks its work; only then can the
	 * HTTP server stop (no connection may still wait for an answer) and
	 * both be freed. */
	httpd_quiesce(ht);
	httpd_quiesce(h);
	if (have_sock)
		remove_socket(c.c_socket, &sock_st);
	gctl_stop(gc);
	service_stop(sv);
	httpd_stop(ht);
	httpd_stop(h);
	httpd_conns_free(conns);
	gctl_close(gc);
	service_close(sv);
	for (size_t i = 0; i < nbk; i++)
		if (bks[i].be_ops->close != NULL)
			bks[i].be_ops->close(bks[i].be_ctx);
	if (wrote_listen)
		(void)unlink(listenfile);
	if (wrote_pid)
		(void)unlink(pidfile);
	if (sig_pipe[0] != -1) {
		(void)close(sig_pipe[0]);
		(void)close(sig_pipe[1]);
	}
	if (rc == 0)
		log_info("stopped");
	return rc;
}
