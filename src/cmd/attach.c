/*
 * The `attachment` verbs: the persistent disks of pets (README,
 * "Persistent disks for pets"), through the plugin's own methods
 * Attachment.List and Attachment.Remove (src/rpc/rpc_attach.c).
 *
 *   attachment ls [--json] [-q]   every disk, its size and who holds it
 *   attachment rm ID              delete a disk no instance holds
 *
 * Exit status as the other verbs: 0, 1 the plugin refused, 2 usage, 3 no
 * plugin reachable.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/attach.h"
#include "cmd/client.h"
#include "cmd/flags.h"
#include "util/err.h"

struct aopts {
	struct config ao_conf;
	bool ao_json;
	bool ao_quiet;
	bool ao_help;
};

static void
attach_usage(FILE *f)
{
	fprintf(f,
	    "usage: " PLUGIN_PROGNAME " attachment ls [--json] [-q]\n"
	    "       " PLUGIN_PROGNAME " attachment rm ID\n"
	    "\n"
	    "The persistent disks of pets (Attachments of Type disk or vmdk),\n"
	    "kept under --vm-dir/attachments when their instances go.\n"
	    "  ls     every disk: ID, size, format, the instance holding it\n"
	    "  rm ID  deletes a disk; refused while an instance holds it\n"
	    "  --name NAME, --listen PATH  the plugin to talk to\n"
	    "  --host tcps://H:P           over TLS, with --tls-cert, "
	    "--tls-key, --tls-ca\n"
	    "  --json                      ls: print the answer as JSON\n"
	    "  -q, --quiet                 ls: only the IDs\n");
}

static const char *
str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* One call; params (taken) NULL when it could not be made. The result,
 * or NULL with the failure printed and *rc its exit status. */
static json_t *
call(const struct aopts *o, const char *method, json_t *params, int *rc)
{
	struct err err;
	json_t *res;

	err_clear(&err);
	res = params != NULL ? client_call(&o->ao_conf, method, params, &err)
			     : NULL;
	json_decref(params);
	if (res == NULL) {
		if (err.msg[0] == '\0')
			err_set(&err, EIK_INTERNAL, "out of memory");
		*rc = client_fail(&err);
	}
	return res;
}

static int
do_ls(const struct aopts *o)
{
	json_t *res, *a;
	size_t i;
	int rc;

	if ((res = call(o, "Attachment.List", json_object(), &rc)) == NULL)
		return rc;
	if (o->ao_json) {
		char *text = json_dumps(res, JSON_INDENT(2));

		printf("%s\n", text != NULL ? text : "{}");
		free(text);
		json_decref(res);
		return 0;
	}
	if (!o->ao_quiet)
		printf("%-24s %-5s %6s %-6s %-15s %s\n", "ID", "TYPE", "SIZE",
		    "FORMAT", "HOLDER", "STATE");
	json_array_foreach(json_object_get(res, "Attachments"), i, a)
	{
		const char *holder = str_of(a, "Holder");
		long long gb = json_integer_value(json_object_get(a, "SizeGB"));
		char size[24];

		if (o->ao_quiet) {
			printf("%s\n", str_of(a, "ID"));
			continue;
		}
		if (json_is_true(json_object_get(a, "OnDisk")))
			(void)snprintf(size, sizeof(size), "%lldG", gb);
		else
			(void)snprintf(size, sizeof(size), "-");
		printf("%-24s %-5s %6s %-6s %-15s %s\n", str_of(a, "ID"),
		    str_of(a, "Type"), size,
		    str_of(a, "Format")[0] != '\0' ? str_of(a, "Format") : "-",
		    holder[0] != '\0' ? holder : "-",
		    holder[0] != '\0' ? str_of(a, "HolderState")
			: json_is_true(json_object_get(a, "OnDisk"))
			? "free"
			: "not made");
	}
	json_decref(res);
	return 0;
}

static int
do_rm(const struct aopts *o, const char *id)
{
	json_t *res;
	int rc;

	res = call(o, "Attachment.Remove", json_pack("{s:s}", "ID", id), &rc);
	if (res == NULL)
		return rc;
	json_decref(res);
	printf("deleted disk %s\n", id);
	return 0;
}

#define AO(field)                                                              \
	offsetof(struct aopts, field), sizeof(((struct aopts *)0)->field)

static const struct flag attach_flags[] = {
	{ "json", 0, NULL, NULL, flag_bool, AO(ao_json) },
	{ "quiet", 'q', NULL, NULL, flag_bool, AO(ao_quiet) },
	{ "help", 'h', NULL, NULL, flag_bool, AO(ao_help) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

/* The verb and its operands (flags anywhere) into o and ops; their
 * number, or -1 with a usage error printed. */
static int
parse(int argc, char **argv, struct aopts *o, char **ops)
{
	const struct flag *tables[] = { config_client_flags, attach_flags,
		NULL };
	int n = flags_parse(
	    tables, FLAGS_PERMUTE, "attachment", argc, argv, o, ops);

	if (n == FLAGS_HELP) {
		o->ao_help = true;
		n = 0;
	}
	return n;
}

static int
run(struct aopts *o, int n, char **ops)
{
	bool ls = n == 1 && strcmp(ops[0], "ls") == 0;
	bool rm = n == 2 && strcmp(ops[0], "rm") == 0;

	if (o->ao_help || (n > 0 && strcmp(ops[0], "help") == 0)) {
		attach_usage(stdout);
		return CLI_OK;
	}
	if (!ls && !rm) {
		if (n > 0 && strcmp(ops[0], "ls") != 0 &&
		    strcmp(ops[0], "rm") != 0)
			fprintf(stderr, "attachment: unknown verb \"%s\"\n\n",
			    ops[0]);
		attach_usage(stderr);
		return CLI_USAGE;
	}
	if (config_resolve_socket(&o->ao_conf) == -1 ||
	    client_check_tls(&o->ao_conf) == -1)
		return CLI_USAGE;
	return ls ? do_ls(o) : do_rm(o, ops[1]);
}

int
attach_main(int argc, char **argv)
{
	struct aopts o;
	struct err err;
	char **ops;
	int n, rc = CLI_USAGE;

	memset(&o, 0, sizeof(o));
	err_clear(&err);
	if (config_defaults(&o.ao_conf, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return CLI_USAGE;
	}
	if ((ops = calloc((size_t)argc + 1, sizeof(*ops))) == NULL)
		return CLI_FAILED;
	if ((n = parse(argc, argv, &o, ops)) != -1)
		rc = run(&o, n, ops);
	free(ops);
	return rc;
}
