/*
 * The `group` verbs: the built-in group controller driven over the
 * plugin's socket, with InfraKit's Group methods (the same calls
 * InfraKit's own CLI makes, plus our Status members).
 *
 *   group commit FILE [--pretend] [--compat]   create, scale or update
 *   group ls                                   the groups and what they do
 *   group describe ID [--all]                  one group and its members
 *   group destroy ID                           destroy every member
 *   group free ID                              stop managing; VMs stay
 *   group scale ID N                           commit the same spec, Size N
 *   group inspect ID                           the committed spec
 *
 * Exit status as the other verbs: 0, 1 the plugin refused, 2 usage, 3 no
 * plugin reachable.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd/client.h"
#include "cmd/flags.h"
#include "cmd/group.h"
#include "model/jsonfile.h"
#include "util/compat.h"
#include "util/err.h"

struct gopts {
	struct config go_conf;
	bool go_pretend;
	bool go_compat;
	bool go_all;
	bool go_json;
	bool go_quiet;
	bool go_help;
};

struct gverb {
	const char *v_name;
	const char *v_args; /* usage operands */
	const char *v_help;
	int v_nargs; /* operands wanted; -1: any */
	int (*v_run)(const struct gopts *o, char **argv);
};

/* ---- helpers ------------------------------------------------------------ */

static const char *
jget_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static long long
jget_int(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static int
print_json(json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2));

	printf("%s\n", text != NULL ? text : "{}");
	free(text);
	json_decref(v);
	return 0;
}

/* ---- verbs --------------------------------------------------------------- */

static int
do_commit(const struct gopts *o, char **argv)
{
	struct err err;
	json_t *check, *res, *plan;
	char *text, *params;
	size_t n;

	err_clear(&err);
	if (jfile_read(argv[0], RPC_MAX_BODY, &text, &n, &err) == -1)
		return client_fail(&err);
	/* Say where the JSON is wrong here, not as a parse error of the
	 * whole request. */
	if ((check = jfile_parse(argv[0], text, n, JSON_DECODE_ANY, &err)) ==
	    NULL) {
		free(text);
		return client_fail(&err);
	}
	json_decref(check);
	/* The spec goes as written, so the daemon hashes the same bytes. */
	n = strlen(text) + 64;
	if ((params = malloc(n)) == NULL) {
		free(text);
		return 1;
	}
	(void)snprintf(params, n, "{\"Spec\":%s,\"Pretend\":%s,\"Compat\":%s}",
	    text, o->go_pretend ? "true" : "false",
	    o->go_compat ? "true" : "false");
	free(text);
	res = client_call_raw(&o->go_conf, "Group.CommitGroup", params, &err);
	free(params);
	if (res == NULL)
		return client_fail(&err);
	if (o->go_json)
		return print_json(res);
	plan = json_object_get(res, "Plan");
	printf("%s\n", jget_str(res, "Details"));
	printf("plan: create %lld, destroy %lld, roll %lld%s\n",
	    jget_int(plan, "Create"), jget_int(plan, "Destroy"),
	    jget_int(plan, "Roll"),
	    o->go_pretend ? " (pretend: nothing changed)" : "");
	json_decref(res);
	return 0;
}

/* Group.InspectGroups: every group with its status. */
static json_t *
call_inspect(const struct gopts *o, struct err *err)
{
	json_t *p = json_object();
	json_t *res = client_call(&o->go_conf, "Group.InspectGroups", p, err);

	json_decref(p);
	return res;
}

static json_t *
call_id(
    const struct gopts *o, const char *method, const char *id, struct err *err)
{
	json_t *p = json_pack("{s:s,s:b}", "ID", id, "All", o->go_all);
	json_t *res = client_call(&o->go_conf, method, p, err);

	json_decref(p);
	return res;
}

static int
do_ls(const struct gopts *o, char **argv)
{
	struct err err;
	json_t *res, *groups, *g;
	size_t i;

	(void)argv;
	err_clear(&err);
	res = call_inspect(o, &err);
	if (res == NULL)
		return client_fail(&err);
	if (o->go_json)
		return print_json(res);
	groups = json_object_get(res, "Groups");
	if (!o->go_quiet)
		printf("%-20s %-6s %-10s %4s %7s %8s %-7s %s\n", "ID", "KIND",
		    "STATE", "SIZE", "RUNNING", "OUTDATED", "ROLLING", "DOING");
	json_array_foreach(groups, i, g)
	{
		json_t *st = json_object_get(g, "Status");

		if (o->go_quiet) {
			printf("%s\n", jget_str(g, "ID"));
			continue;
		}
		printf("%-20s %-6s %-10s %4lld %7lld %8lld %-7s %s\n",
		    jget_str(g, "ID"), jget_str(st, "Kind"),
		    jget_str(st, "State"), jget_int(st, "Target"),
		    jget_int(st, "Running"), jget_int(st, "Outdated"),
		    json_is_true(json_object_get(st, "Rolling")) ? "yes" : "no",
		    jget_str(st, "Doing"));
	}
	json_decref(res);
	return 0;
}

static void
print_status(const char *id, const json_t *st)
{
	bool pets = strcmp(jget_str(st, "Kind"), "pets") == 0;

	printf("group %s: %s %s, %s %lld\n", id, jget_str(st, "State"),
	    jget_str(st, "Kind"), pets ? "LogicalIDs" : "Size",
	    jget_int(st, "Target"));
	printf("  hash      %s=%s\n", jget_str(st, "HashTag"),
	    jget_str(st, "Hash"));
	printf("  members   %lld running, %lld provisioning, %lld stopped, "
	       "%lld failed; %lld with an older config\n",
	    jget_int(st, "Running"), jget_int(st, "Provisioning"),
	    jget_int(st, "Stopped"), jget_int(st, "Failed"),
	    jget_int(st, "Outdated"));
	printf("  rolling   %s\n",
	    json_is_true(json_object_get(st, "Rolling")) ? "yes" : "no");
	printf("  failures  %lld in a row (Recovery.MaxFailures %lld)\n",
	    jget_int(st, "Failures"), jget_int(st, "MaxFailures"));
	printf("  doing     %s\n", jget_str(st, "Doing"));
	if (jget_str(st, "Error")[0] != '\0')
		printf("  error     %s\n", jget_str(st, "Error"));
}

static int
do_describe(const struct gopts *o, char **argv)
{
	struct err err;
	json_t *res, *st, *insts, *d;
	const char *hash, *tag;
	size_t i;

	err_clear(&err);
	if ((res = call_id(o, "Group.DescribeGroup", argv[0], &err)) == NULL)
		return client_fail(&err);
	if (o->go_json)
		return print_json(res);
	st = json_object_get(res, "Status");
	print_status(argv[0], st);
	hash = jget_str(st, "Hash");
	tag = jget_str(st, "HashTag");
	insts =
	    json_object_get(json_object_get(res, "Description"), "Instances");
	printf("\n%-15s %-13s %-9s %-8s %-16s %s\n", "ID", "STATE", "POWER",
	    "CONFIG", "LOGICAL", "CREATED");
	json_array_foreach(insts, i, d)
	{
		json_t *p = json_object_get(d, "Properties");
		const char *h = jget_str(json_object_get(d, "Tags"), tag);
		const char *lid = jget_str(d, "LogicalID");
		char state[32];

		(void)snprintf(state, sizeof(state), "%s%s",
		    jget_str(p, "State"),
		    json_is_false(json_object_get(p, "Reported")) ? "*" : "");
		printf("%-15s %-13s %-9s %-8s %-16s %s\n", jget_str(d, "ID"),
		    state, jget_str(p, "PowerState"),
		    strcmp(h, hash) == 0 ? "current" : "older",
		    lid[0] != '\0' ? lid : "-", jget_str(p, "CreatedAt"));
		if (o->go_all && jget_str(p, "Error")[0] != '\0')
			printf("    error: %s\n", jget_str(p, "Error"));
	}
	if (o->go_all)
		printf(
		    "(* = not counted: failed, stopped or being destroyed)\n");
	json_decref(res);
	return 0;
}

static int
do_simple(
    const struct gopts *o, const char *method, const char *id, const char *fmt)
{
	struct err err;
	json_t *res;

	err_clear(&err);
	if ((res = call_id(o, method, id, &err)) == NULL)
		return client_fail(&err);
	if (o->go_json)
		return print_json(res);
	printf(fmt, id);
	json_decref(res);
	return 0;
}

static int
do_destroy(const struct gopts *o, char **argv)
{
	return do_simple(o, "Group.DestroyGroup", argv[0],
	    "Destroy %s initiated: every member is being destroyed; the "
	    "group is gone once `group ls` no longer lists it\n");
}

static int
do_free(const struct gopts *o, char **argv)
{
	return do_simple(o, "Group.FreeGroup", argv[0],
	    "Freed %s: its members keep running, unmanaged; commit it again "
	    "to adopt them\n");
}

static int
do_scale(const struct gopts *o, char **argv)
{
	struct err err;
	const char *e;
	uint64_t n = parse_uint(argv[1], 0, INT32_MAX, &e);
	json_t *p, *res;

	if (e != NULL) {
		fprintf(stderr, "group scale: size \"%s\" is %s\n", argv[1], e);
		return 2;
	}
	err_clear(&err);
	p = json_pack("{s:s,s:I}", "ID", argv[0], "Size", (json_int_t)n);
	res = client_call(&o->go_conf, "Group.SetSize", p, &err);
	json_decref(p);
	if (res == NULL)
		return client_fail(&err);
	if (o->go_json)
		return print_json(res);
	printf("%s\n", jget_str(res, "Details"));
	json_decref(res);
	return 0;
}

static int
do_inspect(const struct gopts *o, char **argv)
{
	struct err err;
	json_t *res, *groups, *g;
	size_t i;

	err_clear(&err);
	res = call_inspect(o, &err);
	if (res == NULL)
		return client_fail(&err);
	groups = json_object_get(res, "Groups");
	json_array_foreach(groups, i, g)
	{
		if (strcmp(jget_str(g, "ID"), argv[0]) != 0)
			continue;
		(void)json_object_del(g, "Status");
		json_incref(g);
		json_decref(res);
		return print_json(g);
	}
	json_decref(res);
	fprintf(stderr, "error: Group '%s' is not being watched\n", argv[0]);
	return 1;
}

static const struct gverb verbs[] = {
	{ "commit", "FILE [--pretend] [--compat]",
	    "Creates the group of the spec FILE (- reads stdin), or updates "
	    "it:\nscales it to the new Size and rolls every member whose config "
	    "hash\nchanged, one at a time. Prints InfraKit's plan text and the "
	    "numbers.\n  --pretend  only print what the commit would do\n"
	    "  --compat   read the spec exactly as InfraKit does (unknown keys\n"
	    "             ignored, the last duplicate wins) instead of "
	    "refusing\n             what InfraKit would silently ignore\n",
	    1, do_commit },
	{ "ls", "[-q]",
	    "Lists the groups: kind, state, size, members up, members left to\n"
	    "roll, and what the controller is doing now.\n",
	    0, do_ls },
	{ "describe", "ID [--all]",
	    "Shows one group: its config hash, member counts, rolling update,\n"
	    "failures, what the controller is doing, and its members.\n"
	    "  --all  also the members InfraKit does not see (failed, "
	    "stopped,\n         being destroyed), with their errors\n",
	    1, do_describe },
	{ "destroy", "ID",
	    "Destroys every member of the group, then forgets the group. The\n"
	    "decision is durable: a restart carries it through.\n",
	    1, do_destroy },
	{ "free", "ID",
	    "Stops managing the group and leaves its VMs running. Committing "
	    "the\nsame spec again (here or to a real InfraKit) adopts them "
	    "without\nreplacing any.\n",
	    1, do_free },
	{ "scale", "ID N",
	    "Commits the group's own spec with Allocation.Size N (InfraKit\n"
	    "master's SetSize).\n",
	    2, do_scale },
	{ "inspect", "ID",
	    "Prints the group's spec as committed (InfraKit's InspectGroups).\n",
	    1, do_inspect },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
group_usage(FILE *f)
{
	fprintf(f, "usage: " PLUGIN_PROGNAME " group VERB [flags]\n");
	for (size_t i = 0; i < N_VERBS; i++)
		fprintf(f, "       " PLUGIN_PROGNAME " group %s %s\n",
		    verbs[i].v_name, verbs[i].v_args);
	fprintf(f,
	    "\nEvery verb takes --name NAME, --listen PATH|tcp://HOST:PORT "
	    "and --json,\nand --help for its own text; TLS: --host "
	    "tcps://HOST:PORT, --tls-cert,\n--tls-key and --tls-ca (as "
	    "the instance verbs).\n");
}

static void
unknown_verb(const char *name)
{
	const char *names[N_VERBS + 1];
	const char *near;

	for (size_t i = 0; i < N_VERBS; i++)
		names[i] = verbs[i].v_name;
	names[N_VERBS] = NULL;
	near = flags_closest(name, names);
	if (near != NULL)
		fprintf(stderr,
		    "group: unknown verb \"%s\" (did you mean %s?)\n\n", name,
		    near);
	else
		fprintf(stderr, "group: unknown verb \"%s\"\n\n", name);
	group_usage(stderr);
}

static void
verb_usage(FILE *f, const struct gverb *v)
{
	fprintf(f, "usage: " PLUGIN_PROGNAME " group %s %s\n\n%s", v->v_name,
	    v->v_args, v->v_help);
	fprintf(f,
	    "  --name NAME, --listen PATH  the plugin to talk to\n"
	    "  --host tcps://H:P           over TLS, with --tls-cert, "
	    "--tls-key, --tls-ca\n"
	    "  --json                      print the answer as JSON\n");
}

#define GO(field)                                                              \
	offsetof(struct gopts, field), sizeof(((struct gopts *)0)->field)

/* One table for every group verb (each verb's --help names its own). */
static const struct flag group_flags[] = {
	{ "pretend", 0, NULL, NULL, flag_bool, GO(go_pretend) },
	{ "compat", 0, NULL, NULL, flag_bool, GO(go_compat) },
	{ "all", 0, NULL, NULL, flag_bool, GO(go_all) },
	{ "json", 0, NULL, NULL, flag_bool, GO(go_json) },
	{ "quiet", 'q', NULL, NULL, flag_bool, GO(go_quiet) },
	{ "help", 'h', NULL, NULL, flag_bool, GO(go_help) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};

/* The verb and its operands from argv (flags anywhere) into o; the
 * number of operands (the verb first), or -1 with a usage error printed. */
static int
parse(int argc, char **argv, struct gopts *o, char **ops)
{
	const struct flag *tables[] = { config_client_flags, group_flags,
		NULL };
	int n = flags_parse(tables, FLAGS_PERMUTE, "group", argc, argv, o, ops);

	if (n == FLAGS_HELP) {
		o->go_help = true;
		n = 0;
	}
	return n;
}

int
group_main(int argc, char **argv)
{
	const struct gverb *v = NULL;
	struct gopts o;
	struct err err;
	char **ops;
	int n, rc = 2;

	memset(&o, 0, sizeof(o));
	err_clear(&err);
	if (config_defaults(&o.go_conf, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	if ((ops = calloc((size_t)argc + 1, sizeof(*ops))) == NULL)
		return 1;
	if ((n = parse(argc, argv, &o, ops)) == -1)
		goto out;
	if (n == 0 || strcmp(ops[0], "help") == 0) {
		group_usage(n == 0 && !o.go_help ? stderr : stdout);
		rc = n == 0 && !o.go_help ? 2 : 0;
		goto out;
	}
	for (size_t i = 0; i < N_VERBS; i++)
		if (strcmp(verbs[i].v_name, ops[0]) == 0)
			v = &verbs[i];
	if (v == NULL)
		unknown_verb(ops[0]);
	else if (o.go_help) {
		verb_usage(stdout, v);
		rc = 0;
	} else if (config_resolve_socket(&o.go_conf) == -1 ||
	    client_check_tls(&o.go_conf) == -1)
		rc = 2;
	else if (v->v_nargs >= 0 && n - 1 != v->v_nargs)
		verb_usage(stderr, v);
	else
		rc = v->v_run(&o, ops + 1);
out:
	free(ops);
	return rc;
}
