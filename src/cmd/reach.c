/*
 * The verbs that reach a guest: ssh (exec the system ssh with the
 * guest's address, user and the plugin's key), ip, console (the QEMU
 * serial socket, raw, "~." leaves), logs (serial.log, -f follows),
 * start/stop/restart (the plugin's Machine.* methods) and the wait of
 * provision --wait. Everything about an instance comes from the plugin:
 * Describe's Properties (SSH, IP, VMX, Backend, State, Ready) and
 * Machine.Info (the key), never from guessed paths.
 */
#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/client.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/proc.h"
#include "vmx/vmx.h"

static const char *
pstr(const json_t *desc, const char *k)
{
	return json_string_value(
	    json_object_get(json_object_get(desc, "Properties"), k));
}

json_t *
client_find(const struct copts *o, const char *id, struct err *err)
{
	json_t *params, *res, *d, *found = NULL;
	size_t i;

	params = json_pack("{s:s,s:{},s:b,s:b}", "Type", o->co_type, "Tags",
	    "Properties", 1, "All", 1);
	res =
	    client_call(&o->co_conf, "Instance.DescribeInstances", params, err);
	json_decref(params);
	if (res == NULL)
		return NULL;
	json_array_foreach(json_object_get(res, "Descriptions"), i, d)
	{
		const char *did = json_string_value(json_object_get(d, "ID"));

		if (did != NULL && strcmp(did, id) == 0) {
			found = json_incref(d);
			break;
		}
	}
	json_decref(res);
	if (found == NULL)
		err_set(err, EIK_NOTFOUND,
		    "no instance %s%s%s (`" PLUGIN_PROGNAME
		    " describe --all` lists them)",
		    id, o->co_type[0] != '\0' ? " of type " : "", o->co_type);
	return found;
}

/* ---- ip, ssh ------------------------------------------------------------ */

/* HOST and PORT of desc's SSH property ("HOST:PORT", "[V6]:PORT"). */
static int
ssh_address(const json_t *desc, char *host, size_t hlen, char *port,
    size_t plen, struct err *err)
{
	const char *ssh = pstr(desc, "SSH"), *colon;
	size_t n;

	if (ssh == NULL || (colon = strrchr(ssh, ':')) == NULL) {
		err_set(err, EIK_NOTFOUND,
		    "%s has no SSH address yet (State %s, PowerState %s): "
		    "start it (`" PLUGIN_PROGNAME " start %s`) or wait "
		    "for it (`describe --properties`)",
		    json_string_value(json_object_get(desc, "ID")),
		    pstr(desc, "State") != NULL ? pstr(desc, "State") : "?",
		    pstr(desc, "PowerState") != NULL ? pstr(desc, "PowerState")
						     : "?",
		    json_string_value(json_object_get(desc, "ID")));
		return -1;
	}
	n = (size_t)(colon - ssh);
	if (n > 1 && ssh[0] == '[' && ssh[n - 1] == ']')
		ssh++, n -= 2;
	if (n == 0 || n >= hlen || strlcpy(port, colon + 1, plen) >= plen) {
		err_set(
		    err, EIK_INVAL, "bad SSH address %s", pstr(desc, "SSH"));
		return -1;
	}
	memcpy(host, ssh, n);
	host[n] = '\0';
	return 0;
}

int
reach_ip(const struct copts *o, int argc, char **argv)
{
	struct err err;
	json_t *d;
	const char *ip;

	(void)argc;
	err_clear(&err);
	if ((d = client_find(o, argv[0], &err)) == NULL)
		return client_fail(&err);
	if ((ip = pstr(d, "IP")) != NULL)
		printf("%s\n", ip);
	else if (pstr(d, "SSH") != NULL) {
		printf("%s\n", pstr(d, "SSH"));
		fprintf(stderr,
		    "%s has no address of its own reachable from this host "
		    "(QEMU user-mode networking): that is its SSH port "
		    "forwarded on loopback; `" PLUGIN_PROGNAME
		    " ssh %s` uses it\n",
		    argv[0], argv[0]);
	} else {
		err_set(&err, EIK_NOTFOUND,
		    "no address of %s known yet (PowerState %s)", argv[0],
		    pstr(d, "PowerState") != NULL ? pstr(d, "PowerState")
						  : "?");
		json_decref(d);
		return client_fail(&err);
	}
	json_decref(d);
	return CLI_OK;
}

/* The user to log in as: -l, else guestinfo.infrakit.ssh-user of the
 * instance's .vmx (the Spec's SSHUser, else the template's, copied with
 * it), else the local user. */
static void
ssh_user(const struct copts *o, const json_t *desc, char *out, size_t len)
{
	const char *vmxpath = pstr(desc, "VMX");
	struct vmx *v = NULL;
	const struct passwd *pw;
	const char *u;

	if (o->co_user[0] != '\0') {
		(void)strlcpy(out, o->co_user, len);
		return;
	}
	if (vmxpath != NULL && vmx_load(vmxpath, &v, NULL) == 0 &&
	    (u = vmx_get(v, "guestinfo.infrakit.ssh-user")) != NULL &&
	    u[0] != '\0') {
		(void)strlcpy(out, u, len);
		vmx_free(v);
		return;
	}
	vmx_free(v);
	pw = getpwuid(getuid());
	if (pw != NULL)
		(void)strlcpy(out, pw->pw_name, len);
	else
		(void)strlcpy(
		    out, getenv("USER") != NULL ? getenv("USER") : "root", len);
}

/* The private key: -i, else the plugin's (Machine.Info's SSHKey). */
static int
ssh_key(const struct copts *o, char *out, size_t len, struct err *err)
{
	json_t *info;
	const char *key;

	if (o->co_identity[0] != '\0') {
		(void)strlcpy(out, o->co_identity, len);
		return 0;
	}
	if ((info = client_info(&o->co_conf, err)) == NULL)
		return -1;
	key = json_string_value(json_object_get(info, "SSHKey"));
	if (key == NULL || strlcpy(out, key, len) >= len) {
		err_set(err, EIK_NOTFOUND,
		    "the plugin has no SSH key for its guests (its log says "
		    "why: is ssh-keygen installed?); give one with -i KEY");
		json_decref(info);
		return -1;
	}
	json_decref(info);
	if (access(out, R_OK) == -1) {
		err_set(err, EIK_IO,
		    "cannot read the plugin's key %s: %s (run as the plugin's "
		    "user, or give a key with -i)",
		    out, strerror(errno));
		return -1;
	}
	return 0;
}

#define SSH_ARGV_FIXED 18

int
reach_ssh(const struct copts *o, int argc, char **argv)
{
	char exe[PATH_BUF], key[PATH_BUF], host[256], port[16], user[64];
	char dest[sizeof(user) + sizeof(host) + 1];
	const char **av;
	struct err err;
	json_t *d;
	int n = 0;

	err_clear(&err);
	if ((d = client_find(o, argv[0], &err)) == NULL)
		return client_fail(&err);
	if (ssh_address(d, host, sizeof(host), port, sizeof(port), &err) ==
		-1 ||
	    ssh_key(o, key, sizeof(key), &err) == -1) {
		json_decref(d);
		return client_fail(&err);
	}
	ssh_user(o, d, user, sizeof(user));
	json_decref(d);
	if (proc_find_in_path("ssh", exe, sizeof(exe)) == -1) {
		fprintf(stderr,
		    "error: ssh is not in PATH: install OpenSSH's "
		    "client (Debian: apt-get install "
		    "openssh-client)\n");
		return CLI_FAILED;
	}
	(void)snprintf(dest, sizeof(dest), "%s@%s", user, host);
	if ((av = calloc((size_t)argc + SSH_ARGV_FIXED, sizeof(*av))) == NULL)
		return CLI_FAILED;
	av[n++] = exe;
	av[n++] = "-i", av[n++] = key;
	av[n++] = "-p", av[n++] = port;
	/* Each boot of a guest makes new host keys (the tiny guest, and a
	 * loopback port is reused by the next instance): nothing to pin. */
	av[n++] = "-o", av[n++] = "StrictHostKeyChecking=no";
	av[n++] = "-o", av[n++] = "UserKnownHostsFile=/dev/null";
	av[n++] = "-o", av[n++] = "IdentitiesOnly=yes";
	av[n++] = "-o", av[n++] = "LogLevel=ERROR";
	av[n++] = dest;
	if (argc > 1)
		av[n++] = "--";
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	(void)fflush(stdout);
	execv(exe, (char *const *)av);
	fprintf(stderr, "error: exec %s: %s\n", exe, strerror(errno));
	free(av);
	return CLI_FAILED;
}

/* ---- start, stop, restart ------------------------------------------------ */

static int
power_verb(
    const struct copts *o, const char *method, const char *id, const char *done)
{
	struct err err;
	json_t *params, *res;

	err_clear(&err);
	params = json_pack("{s:s,s:s,s:b}", "Type", o->co_type, "Instance", id,
	    "Hard", o->co_hard);
	res = client_call(&o->co_conf, method, params, &err);
	json_decref(params);
	if (res == NULL)
		return client_fail(&err);
	json_decref(res);
	printf("%s %s\n", done, id);
	return CLI_OK;
}

int
reach_start(const struct copts *o, int argc, char **argv)
{
	(void)argc;
	return power_verb(o, "Machine.Start", argv[0], "started");
}

int
reach_stop(const struct copts *o, int argc, char **argv)
{
	(void)argc;
	return power_verb(o, "Machine.Stop", argv[0], "stopped");
}

int
reach_restart(const struct copts *o, int argc, char **argv)
{
	(void)argc;
	return power_verb(o, "Machine.Restart", argv[0], "restarted");
}

/* ---- provision --wait -----------------------------------------------------
 */

/* One line of how far id is: "state provisioning, power off, ssh -". */
static void
wait_line(const json_t *d, char *out, size_t len)
{
	const char *st = pstr(d, "State"), *pw = pstr(d, "PowerState");
	const char *ssh = pstr(d, "SSH");

	(void)snprintf(out, len, "state %s, power %s, ssh %s",
	    st != NULL ? st : "-", pw != NULL ? pw : "-",
	    ssh != NULL ? ssh : "-");
}

/* 1 ready, 0 not yet, -1 never (failed or gone: message printed). */
static int
wait_check(const json_t *d, const char *id)
{
	const char *st = pstr(d, "State"), *pw = pstr(d, "PowerState");
	const json_t *ready =
	    json_object_get(json_object_get(d, "Properties"), "Ready");

	if (st != NULL &&
	    (strcmp(st, "failed") == 0 || strcmp(st, "destroying") == 0)) {
		fprintf(stderr, "error: %s is %s%s%s\n", id, st,
		    pstr(d, "Error") != NULL ? ": " : "",
		    pstr(d, "Error") != NULL ? pstr(d, "Error") : "");
		return -1;
	}
	if (json_is_true(ready))
		return 1;
	/* A backend that cannot tell (no address, no SSH port): running
	 * is as ready as it gets. */
	return ready == NULL && st != NULL && strcmp(st, "running") == 0 &&
	    pw != NULL && strcmp(pw, "running") == 0;
}

int
reach_wait_ready(const struct copts *o, const char *id)
{
	int64_t t0 = mono_ms(),
		limit = o->co_timeout_ms != 0 ? o->co_timeout_ms
					      : CLIENT_WAIT_DEFAULT_MS;
	bool tty = isatty(STDERR_FILENO) == 1;
	char line[512] = "not described yet";
	struct err err;

	for (;;) {
		int64_t spent = mono_ms() - t0;
		json_t *d;
		int r;

		err_clear(&err);
		if ((d = client_find(o, id, &err)) == NULL)
			return client_fail(&err);
		wait_line(d, line, sizeof(line));
		r = wait_check(d, id);
		json_decref(d);
		if (tty)
			fprintf(stderr, "\r\033[Kwaiting for %s: %s (%llds)%s",
			    id, line, (long long)(spent / 1000),
			    r != 0 ? "\n" : "");
		if (r == 1)
			return CLI_OK;
		if (r == -1)
			return CLI_FAILED;
		if (spent >= limit)
			break;
		sleep_ms(CLIENT_WAIT_POLL_MS);
	}
	if (tty)
		fprintf(stderr, "\n");
	fprintf(stderr,
	    "error: %s is not ready after %llds (%s); the plugin goes on "
	    "with it: `" PLUGIN_PROGNAME " describe --all`, `" PLUGIN_PROGNAME
	    " logs %s`\n",
	    id, (long long)(limit / 1000), line, id);
	return CLI_TIMEOUT;
}
