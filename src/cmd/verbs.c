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

/* The JSON in path ("-": stdin). NULL with err: the file cannot be read
 * (and why), or where its JSON is wrong. */
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

/* The columns of the table: the short one and that of --properties. The
 * last (TAGS) is never padded; the others are as wide as their longest
 * cell, so long LogicalIDs keep the table aligned. */
static const char *const cols_short[] = { "ID", "LOGICAL", "TAGS", NULL };
static const char *const cols_props[] = { "ID", "STATE", "POWER", "READY",
	"ADDRESS", "MAC", "LOGICAL", "TAGS", NULL };

static json_t *
cell(const char *s)
{
	return json_string(s != NULL && s[0] != '\0' ? s : "-");
}

/* POWER: "provisioning" while the VM is being made (it is off then, but
 * not stopped). */
static const char *
power_cell(const json_t *p)
{
	const char *st = dstr(p, "State"), *pw = dstr(p, "PowerState");

	if (st != NULL && strcmp(st, "provisioning") == 0 &&
	    (pw == NULL || strcmp(pw, "off") == 0 ||
		strcmp(pw, "unknown") == 0))
		return "provisioning";
	return pw;
}

/* One row of cells (a new array of strings). */
static json_t *
row_of(const struct copts *o, const json_t *d)
{
	const json_t *p = json_object_get(d, "Properties");
	const json_t *ready = json_object_get(p, "Ready");
	json_t *row = json_array();
	struct buf tags;
	char st[32];

	buf_init(&tags, 1 << 20);
	tags_text(d, &tags);
	json_array_append_new(row, cell(dstr(d, "ID")));
	if (o->co_props || o->co_all) {
		(void)snprintf(st, sizeof(st), "%s%s",
		    dstr(p, "State") != NULL ? dstr(p, "State") : "-",
		    json_is_false(json_object_get(p, "Reported")) ? "*" : "");
		json_array_append_new(row, cell(st));
		json_array_append_new(row, cell(power_cell(p)));
		json_array_append_new(row,
		    cell(ready == NULL		  ? NULL
			    : json_is_true(ready) ? "yes"
						  : "no"));
		json_array_append_new(row,
		    cell(dstr(p, "IP") != NULL ? dstr(p, "IP")
					       : dstr(p, "SSH")));
		json_array_append_new(row, cell(dstr(p, "MAC")));
	}
	json_array_append_new(row, cell(dstr(d, "LogicalID")));
	json_array_append_new(row, cell(buf_str(&tags)));
	buf_free(&tags);
	return row;
}

/* Display width of UTF-8 text: its code points. */
static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
print_cells(const json_t *row, const size_t *w, size_t ncol)
{
	for (size_t c = 0; c < ncol; c++) {
		const char *t = json_string_value(json_array_get(row, c));

		if (c + 1 == ncol) {
			printf("%s\n", t);
			break;
		}
		printf("%s%*s", t, (int)(w[c] - text_width(t) + 2), "");
	}
}

static void
print_table(const struct copts *o, const json_t *descs)
{
	const char *const *cols =
	    o->co_props || o->co_all ? cols_props : cols_short;
	json_t *rows = json_array(), *head = json_array(), *r;
	size_t w[8] = { 0 }, ncol = 0, i;
	const json_t *d;

	for (; cols[ncol] != NULL; ncol++)
		json_array_append_new(head, json_string(cols[ncol]));
	json_array_append_new(rows, head);
	json_array_foreach(descs, i, d)
	{
		if (o->co_quiet)
			printf("%s\n", dstr(d, "ID"));
		else
			json_array_append_new(rows, row_of(o, d));
	}
	json_array_foreach(rows, i, r)
	{
		for (size_t c = 0; c < ncol; c++) {
			size_t n =
			    text_width(json_string_value(json_array_get(r, c)));

			w[c] = n > w[c] ? n : w[c];
		}
	}
	json_array_foreach(rows, i, r)
	{
		if (!o->co_quiet)
			print_cells(r, w, ncol);
		if (i > 0 && o->co_all && !o->co_quiet) {
			const json_t *p = json_object_get(
			    json_array_get(descs, i - 1), "Properties");

			if (dstr(p, "Error") != NULL)
				printf("    error: %s\n", dstr(p, "Error"));
		}
	}
	if (o->co_all && !o->co_quiet)
		printf("(* = not reported to InfraKit)\n");
	json_decref(rows);
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
	(void)fflush(stdout);
	if (o->co_wait && dstr(res, "ID") != NULL) {
		int rc = reach_wait_ready(o, dstr(res, "ID"));

		json_decref(res);
		return rc;
	}
	json_decref(res);
	return CLI_OK;
}

/* The Properties of a file that is {"Properties": {...}} or a whole
 * instance Spec (Properties with Tags, Init, LogicalID, Attachments), or
 * NULL: the file holds bare Properties. */
static json_t *
spec_properties(json_t *o)
{
	static const char *const spec_keys[] = { "Properties", "Tags", "Init",
		"LogicalID", "Attachments", NULL };
	json_t *p = jget(o, "Properties"), *v;
	const char *k;

	if (!json_is_object(p))
		return NULL;
	json_object_foreach(o, k, v)
	{
		size_t i = 0;

		while (spec_keys[i] != NULL && strcmp(spec_keys[i], k) != 0)
			i++;
		if (spec_keys[i] == NULL)
			return NULL;
	}
	return p;
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
	inner = spec_properties(props);
	if (inner != NULL && json_object_size(props) > 1)
		fprintf(stderr,
		    "validate: %s is an instance Spec; checking its "
		    "\"Properties\" (validate takes Properties, bare or as "
		    "{\"Properties\": {...}})\n",
		    argv[0]);
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
	    "also each instance's state, power state, readiness,\n"
	    "address (IP, or the SSH HOST:PORT) and MAC",
	    flag_bool, OPT(co_props) },
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
	    "or rolling_update; recorded in the plugin's audit.log",
	    flag_string, OPT(co_reason) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

static const struct flag provision_flags[] = {
	{ "wait", 0, NULL,
	    "after printing the ID, wait until the instance is Ready\n"
	    "(its SSH answers and its Init finished); exit 4 when\n"
	    "--timeout passes first",
	    flag_bool, OPT(co_wait) },
	{ "timeout", 0, "D", "how long --wait waits: 90s, 5m (default 5m)",
	    flag_duration, OPT(co_timeout_ms) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

static const struct flag ssh_flags[] = {
	{ "identity", 'i', "KEY",
	    "the private key (default: the one the plugin made for\n"
	    "its vm-dir and gave every guest)",
	    flag_path, OPT(co_identity) },
	{ "user", 'l', "USER",
	    "the user (default: the Spec's SSHUser, else the\n"
	    "template's guestinfo.infrakit.ssh-user, else yours)",
	    flag_string, OPT(co_user) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

static const struct flag stop_flags[] = {
	{ "hard", 0, NULL,
	    "power off at once instead of the ACPI button and\n"
	    "--stop-timeout",
	    flag_bool, OPT(co_hard) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

static const struct flag logs_flags[] = {
	{ "follow", 'f', NULL, "keep printing what the guest prints", flag_bool,
	    OPT(co_follow) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

const struct verb client_verbs[] = {
	{ "describe", "[--tags k=v,...] [--properties] [--all] [-q] [--json]",
	    "Lists the instances InfraKit sees, one per line: the ID, the\n"
	    "LogicalID and the tags.\n",
	    describe_flags, 0, 0, do_describe },
	{ "provision",
	    "[--wait [--timeout D]] FILE.json   (an instance Spec; - reads "
	    "stdin)",
	    "Creates an instance from the InfraKit instance Spec in FILE (or\n"
	    "{\"Spec\": {...}}) and prints its ID. The plugin answers once the\n"
	    "instance is recorded; the clone and the boot happen in the\n"
	    "background (describe --properties shows how far they are), or\n"
	    "--wait waits for them, with a progress line on a terminal.\n",
	    provision_flags, 1, 1, do_provision },
	{ "validate", "FILE.json    (instance Properties)",
	    "Checks instance Properties (bare, as {\"Properties\": {...}}, or\n"
	    "the Properties of a whole instance Spec, saying so) against the\n"
	    "plugin and its templates, and prints \"valid\".\n",
	    NULL, 1, 1, do_validate },
	{ "destroy", "ID...",
	    "Destroys each instance: the plugin hides it at once, powers it\n"
	    "off and deletes it in the background. An unknown ID is no "
	    "error.\nEach destroy is recorded in <vm-dir>/audit.log as asked "
	    "by \"cli\".\n",
	    destroy_flags, 1, -1, do_destroy },
	{ "label", "ID k=v...",
	    "Merges the labels into the instance's tags, durably.\n", NULL, 2,
	    -1, do_label },
	{ "ssh", "[-i KEY] [-l USER] ID [-- COMMAND...]",
	    "Runs the system ssh into the instance: its SSH address from the\n"
	    "plugin (a loopback port under QEMU user-mode networking), the\n"
	    "user, and the plugin's key. Host keys are not checked or kept\n"
	    "(each boot of a guest makes new ones). The exit status is ssh's.\n",
	    ssh_flags, 1, -1, reach_ssh },
	{ "ip", "ID",
	    "Prints the instance's IP address; under QEMU user-mode\n"
	    "networking, which gives the guest none reachable from here, its\n"
	    "SSH address HOST:PORT (and says so on stderr).\n",
	    NULL, 1, 1, reach_ip },
	{ "console", "ID",
	    "Attaches the terminal to the instance's serial console (QEMU):\n"
	    "raw mode, ~. at the start of a line leaves, ~~ sends a ~. For\n"
	    "VMware it says what to use instead.\n",
	    NULL, 1, 1, reach_console },
	{ "logs", "[-f] ID",
	    "Prints the instance's serial log (QEMU: serial.log in its\n"
	    "bundle, across restarts); -f keeps following it.\n",
	    logs_flags, 1, 1, reach_logs },
	{ "start", "ID",
	    "Powers the instance on again (same disks, same ID, same SSH\n"
	    "port) and returns once it runs.\n",
	    NULL, 1, 1, reach_start },
	{ "stop", "[--hard] ID",
	    "Powers the instance off (the ACPI button, then hard after\n"
	    "serve's --stop-timeout) and keeps it; InfraKit no longer sees\n"
	    "it until it is started again.\n",
	    stop_flags, 1, 1, reach_stop },
	{ "restart", "ID", "Stops the instance softly and starts it again.\n",
	    NULL, 1, 1, reach_restart },
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
