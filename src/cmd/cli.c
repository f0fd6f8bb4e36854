/*
 * Command-line dispatch and the global usage. See cli.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/attach.h"
#include "cmd/cli.h"
#include "cmd/client.h"
#include "cmd/config.h"
#include "cmd/flags.h"
#include "cmd/group.h"
#include "cmd/serve.h"
#include "util/defaults.h"
#include "util/err.h"
#include "version.h"

static void
cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: " PLUGIN_PROGNAME " [serve] [flags]        run the "
	    "plugin\n");
	for (const struct verb *v = client_verbs; v->v_name != NULL; v++)
		fprintf(f, "       " PLUGIN_PROGNAME " %s %s\n", v->v_name,
		    v->v_usage);
	fprintf(f,
	    "       " PLUGIN_PROGNAME " group commit|ls|describe|destroy|free|"
	    "scale|inspect ...\n"
	    "                          (the built-in group controller; "
	    "`group --help`)\n"
	    "       " PLUGIN_PROGNAME " attachment ls|rm ID   (disks of pets)\n"
	    "       " PLUGIN_PROGNAME " version\n"
	    "\n"
	    "The client verbs talk to a running plugin; they accept --name "
	    "NAME,\n--listen PATH|tcp://HOST:PORT and --type TYPE like serve, "
	    "and each has\nits own --help. TLS: --host tcps://HOST:PORT (or "
	    "--listen), --tls-cert FILE\n--tls-key FILE (the client's "
	    "certificate and key) and --tls-ca FILE (the CA that\nsigned the "
	    "plugin's certificate; default: the system's CAs), PEM files.\n`" PLUGIN_PROGNAME
	    " serve --help` lists the plugin's flags.\n");
}

static int
help_main(void)
{
	cli_usage(stdout);
	printf("\n");
	serve_usage(stdout);
	return 0;
}

/*
 * This program's version and, when a plugin answers on the default socket
 * (or --name/--listen's), the running daemon's as "daemon": the two differ
 * after an upgrade until the daemon is restarted.
 */
static int
version_main(int argc, char **argv)
{
	const struct flag *tables[] = { config_client_flags, NULL };
	struct config c;
	struct err err;
	json_t *info = NULL;
	char **ops = calloc((size_t)argc + 1, sizeof(*ops));

	err_clear(&err);
	if (ops != NULL && config_defaults(&c, &err) == 0 &&
	    flags_parse(
		tables, FLAGS_PERMUTE, "version", argc, argv, &c, ops) == 0 &&
	    config_resolve_socket(&c) == 0)
		info = client_info(&c, &err);
	free(ops);
	printf("{\"version\":\"%s\",\"revision\":\"%s\"", PLUGIN_VERSION,
	    PLUGIN_REVISION);
	if (json_string_value(json_object_get(info, "Version")) != NULL &&
	    json_string_value(json_object_get(info, "Revision")) != NULL)
		printf(",\"daemon\":{\"version\":\"%s\",\"revision\":\"%s\"}",
		    json_string_value(json_object_get(info, "Version")),
		    json_string_value(json_object_get(info, "Revision")));
	printf("}\n");
	json_decref(info);
	return 0;
}

/* "unknown command "x"", with the closest command when there is one. */
static int
unknown_command(const char *verb)
{
	const char *names[32];
	const char *near;
	size_t n = 0;

	names[n++] = "serve";
	names[n++] = "group";
	names[n++] = "attachment";
	names[n++] = "version";
	names[n++] = "help";
	for (const struct verb *v = client_verbs;
	     v->v_name != NULL && n + 1 < sizeof(names) / sizeof(names[0]); v++)
		names[n++] = v->v_name;
	names[n] = NULL;
	near = flags_closest(verb, names);
	if (near != NULL)
		fprintf(stderr, "unknown command \"%s\" (did you mean %s?)\n\n",
		    verb, near);
	else
		fprintf(stderr, "unknown command \"%s\"\n\n", verb);
	cli_usage(stderr);
	return CLI_USAGE;
}

int
cli_main(int argc, char **argv, const struct backend_ops *const *extra)
{
	const char *verb = argc > 1 ? argv[1] : NULL;

	/* Time zone rules read once, before any thread starts: libarchive's
	 * ISO writer asks for local time from several workers at once. */
	tzset();

	if (verb == NULL || verb[0] == '-') {
		if (verb != NULL && strcmp(verb, "--version") == 0)
			return version_main(1, argv);
		if (verb != NULL &&
		    (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0))
			return help_main();
		return serve_main(argc, argv, extra);
	}
	if (strcmp(verb, "serve") == 0)
		return serve_main(argc - 1, argv + 1, extra);
	if (strcmp(verb, "version") == 0)
		return version_main(argc - 1, argv + 1);
	if (strcmp(verb, "help") == 0)
		return help_main();
	if (strcmp(verb, "group") == 0)
		return group_main(argc - 1, argv + 1);
	if (strcmp(verb, "attachment") == 0)
		return attach_main(argc - 1, argv + 1);
	for (const struct verb *v = client_verbs; v->v_name != NULL; v++)
		if (strcmp(verb, v->v_name) == 0)
			return client_verb_main(v, argc - 1, argv + 1);
	return unknown_command(verb);
}
