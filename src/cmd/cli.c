/*
 * Command-line dispatch and usage. See cli.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cli.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "version.h"

void
cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: " PLUGIN_PROGNAME " [serve] [flags]        run the plugin\n"
	    "       " PLUGIN_PROGNAME " describe [--tags k=v,...] "
	    "[--properties] [--all] [-q] [--json]\n"
	    "       " PLUGIN_PROGNAME " provision FILE.json   (an "
	    "instance Spec; - reads stdin)\n"
	    "       " PLUGIN_PROGNAME " validate FILE.json    (instance "
	    "Properties)\n"
	    "       " PLUGIN_PROGNAME " destroy ID...\n"
	    "       " PLUGIN_PROGNAME " label ID k=v...\n"
	    "       " PLUGIN_PROGNAME " group commit|ls|describe|destroy|free|"
	    "scale|inspect ...\n"
	    "                          (the built-in group controller; "
	    "`group --help`)\n"
	    "       " PLUGIN_PROGNAME " version\n"
	    "\n"
	    "The client verbs talk to a running plugin; they accept --name "
	    "NAME,\n--listen PATH|tcp://HOST:PORT and --type TYPE like serve.\n"
	    "`" PLUGIN_PROGNAME " serve --help` lists the plugin's flags.\n");
}

int
cli_set_name(struct config *c, const char *arg)
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
cli_set_listen(struct config *c, const char *arg, bool serving)
{
	if (strncmp(arg, "tcp://", 6) == 0) {
		const char *hp = arg + 6;
		const char *colon = strrchr(hp, ':');

		if (colon == NULL || colon[1] == '\0' ||
		    strlen(hp) >= sizeof(c->c_tcp)) {
			fprintf(stderr,
			    "--listen %s: use tcp://HOST:PORT, e.g. "
			    "tcp://127.0.0.1:24865\n",
			    arg);
			return -1;
		}
		if (check_port(arg, colon + 1, serving) == -1)
			return -1;
		(void)strlcpy(c->c_tcp, hp, sizeof(c->c_tcp));
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
cli_resolve_socket(struct config *c)
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

static int
version_main(void)
{
	printf("{\"version\":\"%s\",\"revision\":\"%s\"}\n", PLUGIN_VERSION,
	    PLUGIN_REVISION);
	return 0;
}

int
cli_main(int argc, char **argv, const struct backend_ops *const *extra)
{
	const char *verb = argc > 1 ? argv[1] : NULL;

	/* Time zone rules read once, before any thread starts: libarchive's
	 * ISO writer asks for local time from several workers at once. */
	tzset();

	if (verb == NULL || verb[0] == '-') {
		if (verb != NULL && (strcmp(verb, "--version") == 0))
			return version_main();
		if (verb != NULL &&
		    (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0)) {
			cli_usage(stdout);
			printf("\n");
			serve_usage(stdout);
			return 0;
		}
		return serve_main(argc, argv, extra);
	}
	if (strcmp(verb, "serve") == 0)
		return serve_main(argc - 1, argv + 1, extra);
	if (strcmp(verb, "version") == 0)
		return version_main();
	if (strcmp(verb, "help") == 0) {
		cli_usage(stdout);
		printf("\n");
		serve_usage(stdout);
		return 0;
	}
	if (strcmp(verb, "group") == 0)
		return group_main(argc - 1, argv + 1);
	if (strcmp(verb, "describe") == 0 || strcmp(verb, "provision") == 0 ||
	    strcmp(verb, "destroy") == 0 || strcmp(verb, "validate") == 0 ||
	    strcmp(verb, "label") == 0)
		return client_main(argc - 1, argv + 1);
	fprintf(stderr, "unknown command \"%s\"\n\n", verb);
	cli_usage(stderr);
	return 2;
}
