/*
 * Configuration helpers. See config.h.
 */
#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/config.h"
#include "cmd/flags.h"
#include "util/compat.h"
#include "group/ghash.h"
#include "group/policy.h"
#include "util/err.h"

/* $HOME, as every shell tool reads it (a test, sudo -H, a container
 * that sets it), else the user database. */
static int
home_dir(char *out, size_t len, struct err *err)
{
	const char *h = getenv("HOME");

	if (h == NULL || h[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());

		h = pw != NULL ? pw->pw_dir : NULL;
	}

	if (h == NULL || h[0] == '\0') {
		err_set(err, EIK_INVAL,
		    "cannot find your home directory: set "
		    "INFRAKIT_PLUGINS_DIR or HOME");
		return -1;
	}
	if (strlcpy(out, h, len) >= len) {
		err_set(err, EIK_INVAL, "home directory path too long");
		return -1;
	}
	return 0;
}

int
config_infrakit_home(char *out, size_t len, struct err *err)
{
	const char *e = getenv(ENV_INFRAKIT_HOME);
	char home[PATH_BUF];
	int n;

	if (e != NULL && e[0] != '\0') {
		if (strlcpy(out, e, len) >= len) {
			err_set(err, EIK_INVAL, "INFRAKIT_HOME is too long");
			return -1;
		}
		return 0;
	}
	if (home_dir(home, sizeof(home), err) == -1)
		return -1;
	n = snprintf(out, len, "%s/.infrakit", home);
	if (n < 0 || (size_t)n >= len) {
		err_set(err, EIK_INVAL, "home directory path too long");
		return -1;
	}
	return 0;
}

int
config_plugins_dir(char *out, size_t len, struct err *err)
{
	const char *e = getenv(ENV_PLUGINS_DIR);
	char home[PATH_BUF];
	int n;

	if (e != NULL && e[0] != '\0') {
		if (strlcpy(out, e, len) >= len) {
			err_set(
			    err, EIK_INVAL, "INFRAKIT_PLUGINS_DIR is too long");
			return -1;
		}
		return 0;
	}
	if (config_infrakit_home(home, sizeof(home), err) == -1)
		return -1;
	n = snprintf(out, len, "%s/plugins", home);
	if (n < 0 || (size_t)n >= len) {
		err_set(err, EIK_INVAL, "plugins directory path too long");
		return -1;
	}
	return 0;
}

int
config_defaults(struct config *c, struct err *err)
{
	char home[PATH_BUF];

	memset(c, 0, sizeof(*c));
	(void)strlcpy(c->c_name, PLUGIN_DEFAULT_NAME, sizeof(c->c_name));
	c->c_log = 4;
	(void)strlcpy(c->c_backend, "auto", sizeof(c->c_backend));
	c->c_clone = CLONE_AUTO;
	c->c_max_parallel = MAX_PARALLEL_DEFAULT;
	c->c_poll_ms = POLL_INTERVAL_DEFAULT_MS;
	c->c_group_era = GHASH_ERA_DEFAULT;
	c->c_group_restart_wait_ms = POLICY_RESTART_WAIT_DEFAULT_MS;
	c->c_op_timeout_ms = OP_TIMEOUT_DEFAULT_MS;
	c->c_stop_soft_ms = STOP_SOFT_DEFAULT_MS;
	if (config_plugins_dir(
		c->c_plugins_dir, sizeof(c->c_plugins_dir), err) == -1 ||
	    config_infrakit_home(home, sizeof(home), err) == -1)
		return -1;
	/* vm-dir and vm-lib depend on --name: filled in after parsing. */
	(void)home;
	return 0;
}

int
config_absolute(char *path, size_t len)
{
	char cwd[PATH_BUF], tmp[PATH_BUF];
	int n;

	if (path[0] == '/')
		return 0;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	if (strcmp(path, ".") == 0)
		n = snprintf(tmp, sizeof(tmp), "%s", cwd);
	else
		n = snprintf(tmp, sizeof(tmp), "%s/%s", cwd,
		    strncmp(path, "./", 2) == 0 ? path + 2 : path);
	if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= len)
		return -1;
	memcpy(path, tmp, (size_t)n + 1);
	return 0;
}

int
config_set_name(struct config *c, const char *arg)
{
	if (arg[0] == '\0' || arg[0] == '.' || strchr(arg, '/') != NULL ||
	    strlen(arg) >= sizeof(c->c_name)) {
		fprintf(stderr,
		    "--name %s: must be a plain file name (it names the socket "
		    "in the plugins directory)\n",
		    arg);
		return -1;
	}
	(void)strlcpy(c->c_name, arg, sizeof(c->c_name));
	return 0;
}

/*
 * The PORT of tcp://HOST:PORT: decimal digits only, 1 to TCP_PORT_MAX, or
 * 0 (any free port, which NAME.listen then names) when serving. getaddrinfo
 * would take "99999" and bind port 34463 (99999 mod 65536).
 */
static int
check_port(const char *arg, const char *port, bool serving)
{
	const char *e;

	(void)parse_uint(port, serving ? 0 : 1, TCP_PORT_MAX, &e);
	if (e == NULL)
		return 0;
	fprintf(stderr,
	    "--listen %s: port \"%s\" is %s; use a number from 1 to %d%s\n",
	    arg, port, e, TCP_PORT_MAX,
	    serving ? " (or 0 for any free port)" : "");
	return -1;
}

int
config_set_listen(struct config *c, const char *arg, bool serving)
{
	bool tls = strncmp(arg, "tcps://", 7) == 0;

	if (tls || strncmp(arg, "tcp://", 6) == 0) {
		const char *hp = arg + (tls ? 7 : 6);
		const char *colon = strrchr(hp, ':');

		if (colon == NULL || colon[1] == '\0' ||
		    strlen(hp) >= sizeof(c->c_tcp)) {
			fprintf(stderr,
			    "--listen %s: use tcp://HOST:PORT, e.g. "
			    "tcp://127.0.0.1:24865 (tcps:// for TLS)\n",
			    arg);
			return -1;
		}
		if (check_port(arg, colon + 1, serving) == -1)
			return -1;
		(void)strlcpy(c->c_tcp, hp, sizeof(c->c_tcp));
		c->c_tls = tls;
		return 0;
	}
	if (strncmp(arg, "unix://", 7) == 0)
		arg += 7;
	if (arg[0] == '\0' ||
	    strlcpy(c->c_socket, arg, sizeof(c->c_socket)) >=
		sizeof(c->c_socket)) {
		fprintf(stderr, "--listen %s: not a usable socket path\n", arg);
		return -1;
	}
	if (config_absolute(c->c_socket, sizeof(c->c_socket)) == -1) {
		fprintf(stderr, "--listen %s: path too long\n", arg);
		return -1;
	}
	return 0;
}

int
config_resolve_socket(struct config *c)
{
	int n;

	if (c->c_socket[0] != '\0')
		return 0;
	n = snprintf(c->c_socket, sizeof(c->c_socket), "%s/%s",
	    c->c_plugins_dir, c->c_name);
	if (n < 0 || (size_t)n >= sizeof(c->c_socket)) {
		fprintf(stderr, "socket path %s/%s is too long\n",
		    c->c_plugins_dir, c->c_name);
		return -1;
	}
	return 0;
}

int
config_check_tls(const struct config *c, bool serving)
{
	const char *ca = serving ? "--tls-client-ca" : "--tls-ca";
	const char *where = serving ? "--listen" : "--host";

	if ((c->c_tls_cert[0] == '\0') != (c->c_tls_key[0] == '\0')) {
		fprintf(stderr,
		    "--tls-cert and --tls-key go together: the certificate "
		    "and its private key (PEM)\n");
		return -1;
	}
	if (!c->c_tls && (c->c_tls_cert[0] != '\0' || c->c_tls_ca[0] != '\0')) {
		fprintf(stderr,
		    "--tls-cert, --tls-key and %s are for TLS: use %s "
		    "tcps://HOST:PORT\n",
		    ca, where);
		return -1;
	}
	if (serving && c->c_tls && c->c_tls_cert[0] == '\0') {
		fprintf(stderr,
		    "--listen tcps://%s needs --tls-cert and --tls-key (the "
		    "server's certificate and key, PEM), and --tls-client-ca "
		    "to require client certificates\n",
		    c->c_tcp);
		return -1;
	}
	return 0;
}

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
	return config_set_listen(ctx, arg, false);
}

static int
set_host(void *ctx, const struct flag *f, const char *arg)
{
	(void)f;
	if (strncmp(arg, "tcp://", 6) != 0 && strncmp(arg, "tcps://", 7) != 0) {
		fprintf(stderr,
		    "--host %s: use tcps://HOST:PORT (TLS) or tcp://HOST:PORT\n",
		    arg);
		return -1;
	}
	return config_set_listen(ctx, arg, false);
}

#define CF(field)                                                              \
	offsetof(struct config, field), sizeof(((struct config *)0)->field)

const struct flag config_client_flags[] = {
	{ "name", 0, "NAME",
	    "the plugin's name: its socket in the plugins directory\n"
	    "(default " PLUGIN_DEFAULT_NAME ")",
	    set_name, 0, 0 },
	{ "listen", 0, "PATH",
	    "the plugin's unix socket, or tcp://HOST:PORT, instead", set_listen,
	    0, 0 },
	{ "host", 0, "tcps://H:P",
	    "the plugin over TLS (or tcp://H:P, as --listen)", set_host, 0, 0 },
	{ "tls-cert", 0, "FILE",
	    "this client's certificate (PEM), with --tls-key", flag_path,
	    CF(c_tls_cert) },
	{ "tls-key", 0, "FILE", "its private key (PEM, unencrypted)", flag_path,
	    CF(c_tls_key) },
	{ "tls-ca", 0, "FILE",
	    "the CA of the plugin's certificate (PEM; default: the\n"
	    "system's CAs); the certificate must name HOST",
	    flag_path, CF(c_tls_ca) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};
