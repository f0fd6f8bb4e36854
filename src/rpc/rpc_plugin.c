/*
 * The handshake methods and the GET /info endpoints. Every InfraKit release
 * asks for exactly one Instance version and scans the whole list, so the
 * plugin answers with the superset of all of them
 * (spec/infrakit-protocol.md §5.1), followed by the Group versions (v0.x
 * 0.1.0, master 0.1.1) when the daemon runs the group controller: a socket
 * may serve several interfaces and every client looks for its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/defaults.h"
#include "util/err.h"
#include "rpc/rpc.h"
#include "version.h"

static const char *const instance_versions[] = { "0.1.0", "0.3.0", "0.5.0",
	"0.6.0", "0.6.1" };
#define N_VERSIONS (sizeof(instance_versions) / sizeof(instance_versions[0]))

#define MAX_TYPES 16

static json_t *
apis_array(const struct svc *svc)
{
	json_t *a = json_array();

	for (size_t i = 0; i < N_VERSIONS; i++)
		json_array_append_new(a,
		    json_pack("{s:s,s:s}", "Name", "Instance", "Version",
			instance_versions[i]));
	for (size_t i = 0;
	     rpc_group_of(svc) != NULL && i < rpc_n_group_versions; i++)
		json_array_append_new(a,
		    json_pack("{s:s,s:s}", "Name", "Group", "Version",
			rpc_group_versions[i]));
	return a;
}

static size_t
served_types(const struct svc *svc, const char **names, size_t max)
{
	if (svc == NULL || svc->ops->types == NULL)
		return 0;
	return svc->ops->types(svc->ctx, names, max);
}

int
rpc_plugin_implements(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	(void)params;
	*result = json_pack("{s:o}", "APIs", apis_array(env->re_svc));
	if (*result == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

int
rpc_handshake_types(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	const char *names[MAX_TYPES];
	size_t n = served_types(env->re_svc, names, MAX_TYPES);
	json_t *types = json_object();

	(void)params;
	for (size_t i = 0; i < N_VERSIONS; i++) {
		char key[64];
		json_t *list = json_array();

		json_array_append_new(list, json_string("."));
		for (size_t j = 0; j < n; j++)
			json_array_append_new(list, json_string(names[j]));
		(void)snprintf(
		    key, sizeof(key), "Instance/%s", instance_versions[i]);
		json_object_set_new(types, key, list);
	}
	for (size_t i = 0;
	     rpc_group_of(env->re_svc) != NULL && i < rpc_n_group_versions;
	     i++) {
		char key[64];

		(void)snprintf(
		    key, sizeof(key), "Group/%s", rpc_group_versions[i]);
		json_object_set_new(types, key, json_pack("[s]", "."));
	}
	*result = json_pack("{s:o}", "Types", types);
	if (*result == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

int
rpc_handshake_hello(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	const char *names[MAX_TYPES];
	size_t n = served_types(env->re_svc, names, MAX_TYPES);
	json_t *objects = json_object();

	(void)params;
	for (size_t i = 0; i < N_VERSIONS; i++) {
		char key[64];
		json_t *list = json_array();

		json_array_append_new(
		    list, json_pack("{s:s,s:s}", "Name", ".", "ProxyFor", ""));
		for (size_t j = 0; j < n; j++)
			json_array_append_new(list,
			    json_pack(
				"{s:s,s:s}", "Name", names[j], "ProxyFor", ""));
		(void)snprintf(
		    key, sizeof(key), "Instance/%s", instance_versions[i]);
		json_object_set_new(objects, key, list);
	}
	for (size_t i = 0;
	     rpc_group_of(env->re_svc) != NULL && i < rpc_n_group_versions;
	     i++) {
		char key[64];

		(void)snprintf(
		    key, sizeof(key), "Group/%s", rpc_group_versions[i]);
		json_object_set_new(objects, key,
		    json_pack("[{s:s,s:s}]", "Name", ".", "ProxyFor", ""));
	}
	*result = json_pack("{s:o}", "Objects", objects);
	if (*result == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

/* A documentation sample for /info/api.json, in the Go plugins' shape. */
static json_t *
method_sample(const char *method, json_t *params, json_t *result)
{
	return json_pack("{s:{s:s,s:s,s:o,s:s},s:{s:o,s:s}}", "Request",
	    "jsonrpc", "2.0", "method", method, "params", params, "id", "1",
	    "Response", "result", result, "id", "1");
}

json_t *
rpc_api_info(const struct svc *svc)
{
	json_t *methods, *ifaces;

	methods = json_array();
	json_array_append_new(methods,
	    method_sample("Instance.DescribeInstances",
		json_pack(
		    "{s:s,s:{},s:b}", "Type", "", "Tags", "Properties", 0),
		json_pack("{s:s,s:[]}", "Type", "", "Descriptions")));
	json_array_append_new(methods,
	    method_sample("Instance.Destroy",
		json_pack("{s:s,s:s,s:{s:s}}", "Type", "", "Instance", "",
		    "Context", "Reason", "terminate"),
		json_pack("{s:s,s:b}", "Type", "", "OK", 1)));
	json_array_append_new(methods,
	    method_sample("Instance.Label",
		json_pack(
		    "{s:s,s:s,s:{}}", "Type", "", "Instance", "", "Labels"),
		json_pack("{s:s,s:b}", "Type", "", "OK", 1)));
	json_array_append_new(methods,
	    method_sample("Instance.Provision",
		json_pack("{s:s,s:{s:{s:s,s:i,s:i},s:{},s:s,s:n,s:n}}", "Type",
		    "", "Spec", "Properties", "VMX", "alpine", "MemorySizeMBs",
		    MEMSIZE_DEFAULT_MB, "NumCPUs", NUMCPUS_DEFAULT, "Tags",
		    "Init", "", "LogicalID", "Attachments"),
		json_pack("{s:s,s:s}", "Type", "", "ID", ID_PREFIX "...")));
	json_array_append_new(methods,
	    method_sample("Instance.Validate",
		json_pack(
		    "{s:s,s:{s:s}}", "Type", "", "Properties", "VMX", "alpine"),
		json_pack("{s:s,s:b}", "Type", "", "OK", 1)));
	ifaces = json_array();
	json_array_append_new(ifaces,
	    json_pack("{s:s,s:s,s:o}", "Name", "Instance", "Version",
		instance_versions[N_VERSIONS - 1], "Methods", methods));
	return json_pack("{s:{s:s,s:s,s:s},s:o,s:o}", "Vendor", "Name",
	    PLUGIN_PROGNAME, "Version", PLUGIN_VERSION, "URL", PLUGIN_URL,
	    "Implements", apis_array(svc), "Interfaces", ifaces);
}

int
rpc_info(const struct svc *svc, const char *path, struct buf *out)
{
	json_t *doc;
	char *text;
	int rc;

	if (strcmp(path, "/info/api.json") == 0)
		doc = rpc_api_info(svc);
	else if (strcmp(path, "/info/functions.json") == 0)
		doc = json_object();
	else
		return -1;
	if (doc == NULL)
		return -1;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return -1;
	rc = buf_addstr(out, text);
	if (rc == 0)
		rc = buf_addc(out, '\n');
	free(text);
	return rc;
}

int
rpc_machine_info(
    const struct rpc_env *env, json_t *params, json_t **result, struct err *err)
{
	const struct rpc_front *f = rpc_front_of(env->re_svc);
	const char *dir = f != NULL ? f->rf_vm_dir : NULL;
	const char *key = f != NULL ? f->rf_ssh_key : NULL;

	(void)params;
	*result = json_pack("{s:s,s:s,s:o,s:o}", "Version", PLUGIN_VERSION,
	    "Revision", PLUGIN_REVISION, "VMDir",
	    dir != NULL ? json_string(dir) : json_null(), "SSHKey",
	    key != NULL ? json_string(key) : json_null());
	if (*result == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}
