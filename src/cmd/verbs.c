/*
 * The instance verbs: describe, provision, validate, destroy, label. Each
 * is one JSON-RPC request to a running plugin (client.c), so people and
 * tests can drive the plugin without InfraKit installed. Each verb's flags
 * are one table; --help prints the verb's own text.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/client.h"
#include "cmd/flags.h"
#include "model/jsonfile.h"
#include "model/jsonutil.h"
#include "model/tags.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"

static json_t *
load_json_file(const char *path, struct err *err)
{
	return json_load_path(path, RPC_MAX_BODY, JSON_REJECT_DUPLICATES, err);
}

static int
parse_kv(const char *s, struct tags *t)
{
	const char *eq = strchr(s, '=');
	char key[RPC_MAX_TAG_KEY + 1];
	size_t kl;

	if (eq == NULL || eq == s)
		return -1;
	kl = (size_t)(eq - s);
	if (kl >= sizeof(key))
		return -1;
	memcpy(key, s, kl);
	key[kl] = '\0';
	return tags_set(t, key, eq + 1);
}

/* --tags k=v,k=v into filter. 0, or -1 with a message printed. */
static int
parse_tag_list(const char *arg, struct tags *filter)
{
	char *list = strdup(arg), *save = NULL, *tok;
	int rc = list != NULL ? 0 : -1;

	for (tok = list != NULL ? strtok_r(list, ",", &save) : NULL;
	     tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (parse_kv(tok, filter) == -1) {
			fprintf(
			    stderr, "--tags: \"%s\" is not key=value\n", tok);
			rc = -1;
			break;
		}
	free(list);
	return rc;
}

static const char *
dstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* "k=v,k=v" of a description's tags into line. */
static void
tags_text(const json_t *d, struct buf *line)
{
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(d, "Tags"), k, v)
	{
		if (line->b_len > 0)
			(void)buf_addc(line, ',');
		(void)buf_printf(line, "%s=%s", k, json_string_value(v));
	}
}

static void
print_row(const struct copts *o, const json_t *d)
{
	const json_t *p = json_object_get(d, "Properties");
	const char *logical = dstr(d, "LogicalID");
	struct buf line;

	buf_init(&line, 1 << 20);
	tags_text(d, &line);
	if (o->co_props || o->co_all) {
		const char *power = dstr(p, "PowerState"), *ip = dstr(p, "IP");
		char st[32];

		(void)snprintf(st, sizeof(st), "%s%s",
		    dstr(p, "State") != NULL ? dstr(p, "State") : "-",
		    json_is_false(json_object_get(p, "Reported")) ? "*" : "");
		printf("%-15s %-13s %-9s %-15s %-16s %s\n", dstr(d, "ID"), st,
		    power != NULL ? power : "-", ip != NULL ? ip : "-",
		    logical != NULL ? logical : "-", buf_str(&line));
		if (o->co_all && dstr(p, "Error") != NULL)
			printf("    error: %s\n", dstr(p, "Error"));
	} else
		printf("%-15s %-16s %s\n", dstr(d, "ID"),
		    logical != NULL ? logical : "-", buf_str(&line));
	buf_free(&line);
}

static void
print_table(const struct copts *o, const json_t *descs)
{
	const json_t *d;
	size_t i;

	if (!o->co_quiet) {
		if (o->co_props || o->co_all)
			printf("%-15s %-13s %-9s %-15s %-16s %s\n", "ID",
			    "STATE", "POWER", "IP", "LOGICAL", "TAGS");
		else
			printf("%-15s %-16s %s\n", "ID", "LOGICAL", "TAGS");
	}
	json_array_foreach(descs, i, d)
	{
		if (o->co_quiet)
			printf("%s\n", dstr(d, "ID"));
		else
			print_row(o, d);
	}
	if (o->co_all && !o->co_quiet)
		printf("(* = not reported to InfraKit)\n");
}

static int
do_describe(const struct copts *o, int argc, char **argv)
{
	struct tags filter = TAGS_INIT;
	struct err err;
	json_t *params, *res;

	(void)argc;
	(void)argv;
	err_clear(&err);
	if (o->co_tags != NULL && parse_tag_list(o->co_tags, &filter) == -1) {
		tags_free(&filter);
		return CLI_USAGE;
	}
	params = json_pack("{s:s,s:o,s:b,s:b}", "Type", o->co_type, "Tags",
	    jtags_new(&filter), "Properties", o->co_props || o->co_all, "All",
	    o->co_all);
	tags_free(&filter);
	res = client_call(
	    &o->co_conf, "Instance.DescribeInstances", params, &err);
	json_decref(params);
	if (res == NULL)
		return client_fail(&err);
	if (o->co_json) {
		char *text = json_dumps(res, JSON_INDENT(2));

		printf("%s\n", text != NULL ? text : "{}");
		free(text);
	} else
		print_table(o, json_object_get(res, "Descriptions"));
	json_decref(res);
	return CLI_OK;
}

static int
do_provision(const struct copts *o, int argc, char **argv)
{
	struct err err;
	json_t *spec, *params, *res, *inner;

	(void)argc;
	err_clear(&err);
	spec = load_json_file(argv[0], &err);
	if (spec == NULL)
		return client_fail(&err);
	/* Accept a bare Spec or {"Spec": {...}} (a provision request). */
	inner = jget(spec, "Spec");
	params = json_pack("{s:s,s:O}", "Type", o->co_type, "Spec",
	    json_is_object(inner) ? inner : spec);
	json_decref(spec);
	res = client_call(&o->co_conf, "Instance.Provision", params, &err);
	json_decref(params);
	if (res == NULL)
		return client_fail(&err);
	printf("%s\n", dstr(res, "ID"));
	json_decref(res);
	return CLI_OK;
}

static int
do_validate(const struct copts *o, int argc, char **argv)
{
	struct err err;
	json_t *props, *params, *res, *inner;

	(void)argc;
	err_clear(&err);
	props = load_json_file(argv[0], &err);
	if (props == NULL)
		return client_fail(&err);
	inner = json_object_size(props) == 1 ? jget(props, "Properties") : NULL;
	params = json_pack("{s:s,s:O}", "Type", o->co_type, "Properties",
	    json_is_object(inner) ? inner : props);
	json_decref(props);
	res = client_call(&o->co_conf, "Instance.Validate", params, &err);
	json_decref(params);
	if (res == NULL)
		return client_fail(&err);
	printf("valid\n");
	json_decref(res);
	return CLI_OK;
}

static int
do_destroy(const struct copts *o, int argc, char **argv)
{
	int rc = CLI_OK;

	for (int i = 0; i < argc; i++) {
		struct err err;
		json_t *params, *res;

		err_clear(&err);
		params = json_pack("{s:s,s:s,s:{s:s}}", "Type", o->co_type,
		    "Instance", argv[i], "Context", "Reason",
		    o->co_reason[0] != '\0' ? o->co_reason : "terminate");
		res =
		    client_call(&o->co_conf, "Instance.Destroy", params, &err);
		json_decref(params);
		if (res == NULL) {
			rc = client_fail(&err);
			continue;
		}
		printf("destroying %s\n", argv[i]);
		json_decref(res);
	}
	return rc;
}

static int
do_label(const struct copts *o, int argc, char **argv)
{
	struct tags labels = TAGS_INIT;
	struct err err;
	json_t *params, *res;

	err_clear(&err);
	for (int i = 1; i < argc; i++)
		if (parse_kv(argv[i], &labels) == -1) {
			fprintf(stderr, "label: \"%s\" is not key=value\n",
			    argv[i]);
			tags_free(&labels);
			return CLI_USAGE;
		}
	params = json_pack("{s:s,s:s,s:o}", "Type", o->co_type, "Instance",
	    argv[0], "Labels", jtags_new(&labels));
	tags_free(&labels);
	res = client_call(&o->co_conf, "Instance.Label", params, &err);
	json_decref(params);
	if (res == NULL)
		return client_fail(&err);
	printf("labelled %s\n", argv[0]);
	json_decref(res);
	return CLI_OK;
}

/* ---- flags and the verb table ------------------------------------------ */

#define OPT(field)                                                             \
	offsetof(struct copts, field), sizeof(((struct copts *)0)->field)

static int
set_tags(void *ctx, const struct flag *f, const char *arg)
{
	(void)f;
	((struct copts *)ctx)->co_tags = arg;
	return 0;
}

/* Every verb's: which plugin, which of its types. */
static const struct flag common_flags[] = {
	{ "type", 0, "TYPE",
	    "the InfraKit type to address: a backend name (vmware, qemu);\n"
	    "default: the plugin's default backend",
	    flag_string, OPT(co_type) },
	{ "help", 'h', NULL, "print this help", NULL, 0, 0 },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

static const struct flag describe_flags[] = {
	{ "tags", 0, "k=v,...", "only the instances that have all these tags",
	    set_tags, 0, 0 },
	{ "properties", 'p', NULL,
	    "also each instance's state, power state and IP", flag_bool,
	    OPT(co_props) },
	{ "all", 0, NULL,
	    "also the instances InfraKit does not see (failed, being\n"
	    "destroyed, powered off), marked *, with their errors",
	    flag_bool, OPT(co_all) },
	{ "quiet", 'q', NULL, "only the IDs, without a heading", flag_bool,
	    OPT(co_quiet) },
	{ "json", 0, NULL, "the plugin's answer as JSON", flag_bool,
	    OPT(co_json) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

static const struct flag destroy_flags[] = {
	{ "reason", 0, "REASON",
	    "Context.Reason sent with the request: terminate (default)\n"
	    "or rolling_update",
	    flag_string, OPT(co_reason) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

const struct verb client_verbs[] = {
	{ "describe", "[--tags k=v,...] [--properties] [--all] [-q] [--json]",
	    "Lists the instances InfraKit sees, one per line: the ID, the\n"
	    "LogicalID and the tags.\n",
	    describe_flags, 0, 0, do_describe },
	{ "provision", "FILE.json   (an instance Spec; - reads stdin)",
	    "Creates an instance from the InfraKit instance Spec in FILE (or\n"
	    "{\"Spec\": {...}}) and prints its ID. The plugin answers once the\n"
	    "instance is recorded; the clone and the boot happen in the\n"
	    "background (describe --properties shows how far they are).\n",
	    NULL, 1, 1, do_provision },
	{ "validate", "FILE.json    (instance Properties)",
	    "Checks instance Properties (bare or as {\"Properties\": {...}})\n"
	    "against the plugin and its templates, and prints \"valid\".\n",
	    NULL, 1, 1, do_validate },
	{ "destroy", "ID...",
	    "Destroys each instance: the plugin hides it at once, powers it\n"
	    "off and deletes it in the background. An unknown ID is no "
	    "error.\n",
	    destroy_flags, 1, -1, do_destroy },
	{ "label", "ID k=v...",
	    "Merges the labels into the instance's tags, durably.\n", NULL, 2,
	    -1, do_label },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

static void
verb_usage(FILE *f, const struct verb *v)
{
	const struct flag *tables[4] = { v->v_flags, config_client_flags,
		common_flags, NULL };

	if (v->v_flags == NULL)
		tables[0] = config_client_flags, tables[1] = common_flags,
		tables[2] = NULL;
	fprintf(f, "usage: " PLUGIN_PROGNAME " %s %s\n\n%s\nflags:\n",
	    v->v_name, v->v_usage, v->v_help);
	flags_help(f, tables);
}

int
client_verb_main(const struct verb *v, int argc, char **argv)
{
	const struct flag *tables[4] = { config_client_flags, common_flags,
		v->v_flags, NULL };
	struct copts o;
	struct err err;
	char **ops;
	int n, rc = CLI_USAGE;

	memset(&o, 0, sizeof(o));
	err_clear(&err);
	if (config_defaults(&o.co_conf, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return CLI_USAGE;
	}
	if ((ops = calloc((size_t)argc + 1, sizeof(*ops))) == NULL)
		return CLI_FAILED;
	n = flags_parse(tables, FLAGS_PERMUTE, v->v_name, argc, argv, &o, ops);
	if (n == FLAGS_HELP) {
		verb_usage(stdout, v);
		rc = CLI_OK;
	} else if (n >= 0 && (n < v->v_min || (v->v_max >= 0 && n > v->v_max)))
		verb_usage(stderr, v);
	else if (n >= 0 && config_resolve_socket(&o.co_conf) == 0 &&
	    client_check_tls(&o.co_conf) == 0)
		rc = v->v_run(&o, n, ops);
	free(ops);
	return rc;
}
