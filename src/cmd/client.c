/*
 * The client verbs: describe, provision, destroy, validate, label. Each is
 * one JSON-RPC request to a running plugin over its unix socket (or the TCP
 * address in NAME.listen), so people and tests can drive the plugin without
 * InfraKit installed.
 *
 * Exit status: 0 success, 1 the plugin answered with an error, 2 usage,
 * 3 no plugin reachable.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/buf.h"
#include "cmd/cli.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "model/jsonutil.h"

struct client_opts {
	struct config co_conf;
	char co_type[RPC_MAX_TYPE + 1];
	char *co_tags; /* k=v,k=v */
	bool co_props;
	bool co_all;
	bool co_quiet;
	bool co_json;
	char co_reason[64];
};

static int
connect_unix(const char *path, struct err *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		err_set(err, EIK_INVAL, "socket path too long: %s", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1) {
		err_set(err, EIK_IO, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err_set(err, EIK_IO,
		    "cannot reach the plugin at %s: %s (is it running? start "
		    "it with `make run` or `" PLUGIN_PROGNAME " serve`)",
		    path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

static int
connect_tcp(const char *url, struct err *err)
{
	char host[256];
	struct addrinfo hints, *res = NULL, *ai;
	char *colon;
	int fd = -1, r;

	if (strncmp(url, "tcp://", 6) != 0 ||
	    strlcpy(host, url + 6, sizeof(host)) >= sizeof(host) ||
	    (colon = strrchr(host, ':')) == NULL) {
		err_set(err, EIK_INVAL, "bad address %s", url);
		return -1;
	}
	*colon = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(host, colon + 1, &hints, &res);
	if (r != 0) {
		err_set(err, EIK_IO, "%s: %s", url, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		(void)close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		err_set(err, EIK_IO, "cannot reach the plugin at %s", url);
	return fd;
}

/* Connects to the plugin: its unix socket, else the address in
 * NAME.listen, else an explicit tcp:// --listen. */
static int
plugin_connect(const struct config *c, struct err *err)
{
	char listenfile[PATH_BUF], *url = NULL;
	size_t len;
	int fd;

	if (c->c_tcp[0] != '\0') {
		char u[300];

		(void)snprintf(u, sizeof(u), "tcp://%s", c->c_tcp);
		return connect_tcp(u, err);
	}
	fd = connect_unix(c->c_socket, err);
	if (fd != -1)
		return fd;
	if (snprintf(listenfile, sizeof(listenfile), "%s/%s.listen",
		c->c_plugins_dir, c->c_name) < (int)sizeof(listenfile) &&
	    read_file_max(listenfile, 512, &url, &len, NULL) == 0) {
		struct err e2;

		url[strcspn(url, "\r\n")] = '\0';
		err_clear(&e2);
		fd = connect_tcp(url, &e2);
		free(url);
		if (fd != -1)
			return fd;
	}
	return -1;
}

json_t *
client_call_raw(const struct config *c, const char *method, const char *params,
    struct err *err)
{
	struct buf req, ans;
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 };
	char *body = NULL, *sep;
	json_t *root = NULL, *result = NULL, *e;
	json_error_t je;
	int fd;

	buf_init(&req, RPC_MAX_BODY);
	buf_init(&ans, CLIENT_MAX_ANSWER);
	fd = plugin_connect(c, err);
	if (fd == -1) {
		err->code = EIK_IO;
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	{
		/* The params as given, byte for byte (a group spec's numbers
		 * keep their spelling). */
		size_t n = strlen(method) + strlen(params) + 96;

		if ((body = malloc(n)) != NULL)
			(void)snprintf(body, n,
			    "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,"
			    "\"id\":%ld}",
			    method, params, (long)(time(NULL) & 0x7fffffff));
	}
	if (body == NULL ||
	    buf_printf(&req,
		"POST / HTTP/1.1\r\nHost: h\r\n"
		"Content-Type: application/json\r\n"
		"Content-Length: %zu\r\n"
		"Connection: close\r\n\r\n%s",
		strlen(body), body) == -1) {
		err_set(err, EIK_INVAL, "request too large (limit %d bytes)",
		    RPC_MAX_BODY);
		goto out;
	}
	if (fd_write_all(fd, req.b_data, req.b_len) == -1) {
		err_set(
		    err, EIK_IO, "sending the request: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		char chunk[65536];
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(err, EIK_IO, "reading the answer: %s",
			    errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (buf_add(&ans, chunk, (size_t)r) == -1) {
			err_set(err, EIK_IO, "answer too large");
			goto out;
		}
	}
	sep = strstr(buf_str(&ans), "\r\n\r\n");
	if (sep == NULL) {
		err_set(err, EIK_IO,
		    "the plugin closed the connection "
		    "without a complete answer");
		goto out;
	}
	sep += 4;
	root = json_loadb(sep, ans.b_len - (size_t)(sep - ans.b_data), 0, &je);
	if (root == NULL) {
		err_set(err, EIK_IO, "the plugin's answer is not JSON: %s",
		    je.text);
		goto out;
	}
	e = json_object_get(root, "error");
	if (e != NULL && !json_is_null(e)) {
		json_t *m = json_object_get(e, "message");

		err_set(err, EIK_BACKEND, "%s",
		    json_is_string(m) ? json_string_value(m) : "error");
		goto out;
	}
	result = json_object_get(root, "result");
	if (result == NULL || json_is_null(result)) {
		err_set(err, EIK_IO, "the plugin answered no result");
		result = NULL;
		goto out;
	}
	json_incref(result);
out:
	if (fd != -1)
		(void)close(fd);
	free(body);
	json_decref(root);
	buf_free(&req);
	buf_free(&ans);
	return result;
}

json_t *
client_call(
    const struct config *c, const char *method, json_t *params, struct err *err)
{
	char *text = json_dumps(params, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *res;

	if (text == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	res = client_call_raw(c, method, text, err);
	free(text);
	return res;
}

int
client_fail(const struct err *err)
{
	fprintf(stderr, "error: %s\n", err->msg);
	return err->code == EIK_IO ? 3 : 1;
}

static json_t *
load_json_file(const char *path, struct err *err)
{
	json_error_t je;
	json_t *v;

	if (strcmp(path, "-") == 0)
		v = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
	else
		v = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL)
		err_set(err, EIK_INVAL, "%s: %s (line %d, column %d)", path,
		    je.text, je.line, je.column);
	return v;
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

static int
do_describe(const struct client_opts *o)
{
	struct tags filter = TAGS_INIT;
	struct err err;
	json_t *params, *res, *descs, *d;
	size_t i;

	err_clear(&err);
	if (o->co_tags != NULL) {
		char *list = strdup(o->co_tags), *save = NULL, *tok;

		for (tok = strtok_r(list, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save))
			if (parse_kv(tok, &filter) == -1) {
				fprintf(stderr,
				    "--tags: \"%s\" is not key=value\n", tok);
				free(list);
				tags_free(&filter);
				return 2;
			}
		free(list);
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
	descs = json_object_get(res, "Descriptions");
	if (o->co_json) {
		char *text = json_dumps(res, JSON_INDENT(2));

		printf("%s\n", text != NULL ? text : "{}");
		free(text);
		json_decref(res);
		return 0;
	}
	if (!o->co_quiet) {
		if (o->co_props || o->co_all)
			printf("%-15s %-13s %-9s %-15s %-16s %s\n", "ID",
			    "STATE", "POWER", "IP", "LOGICAL", "TAGS");
		else
			printf("%-15s %-16s %s\n", "ID", "LOGICAL", "TAGS");
	}
	json_array_foreach(descs, i, d)
	{
		json_t *tags = json_object_get(d, "Tags"), *v;
		json_t *p = json_object_get(d, "Properties");
		const char *logical =
		    json_string_value(json_object_get(d, "LogicalID"));
		const char *k;
		struct buf line;

		if (o->co_quiet) {
			printf("%s\n",
			    json_string_value(json_object_get(d, "ID")));
			continue;
		}
		buf_init(&line, 1 << 20);
		json_object_foreach(tags, k, v)
		{
			if (line.b_len > 0)
				(void)buf_addc(&line, ',');
			(void)buf_printf(
			    &line, "%s=%s", k, json_string_value(v));
		}
		if (o->co_props || o->co_all) {
			const char *state =
			    json_string_value(json_object_get(p, "State"));
			const char *power =
			    json_string_value(json_object_get(p, "PowerState"));
			const char *ip =
			    json_string_value(json_object_get(p, "IP"));
			char st[32];

			(void)snprintf(st, sizeof(st), "%s%s",
			    state != NULL ? state : "-",
			    json_is_false(json_object_get(p, "Reported")) ? "*"
									  : "");
			printf("%-15s %-13s %-9s %-15s %-16s %s\n",
			    json_string_value(json_object_get(d, "ID")), st,
			    power != NULL ? power : "-", ip != NULL ? ip : "-",
			    logical != NULL ? logical : "-", buf_str(&line));
			if (o->co_all &&
			    json_is_string(json_object_get(p, "Error")))
				printf("    error: %s\n",
				    json_string_value(
					json_object_get(p, "Error")));
		} else
			printf("%-15s %-16s %s\n",
			    json_string_value(json_object_get(d, "ID")),
			    logical != NULL ? logical : "-", buf_str(&line));
		buf_free(&line);
	}
	if (o->co_all && !o->co_quiet)
		printf("(* = not reported to InfraKit)\n");
	json_decref(res);
	return 0;
}

static int
do_provision(const struct client_opts *o, const char *file)
{
	struct err err;
	json_t *spec, *params, *res, *inner;

	err_clear(&err);
	spec = load_json_file(file, &err);
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
	printf("%s\n", json_string_value(json_object_get(res, "ID")));
	json_decref(res);
	return 0;
}

static int
do_validate(const struct client_opts *o, const char *file)
{
	struct err err;
	json_t *props, *params, *res, *inner;

	err_clear(&err);
	props = load_json_file(file, &err);
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
	return 0;
}

static int
do_destroy(const struct client_opts *o, int argc, char **argv)
{
	int rc = 0;

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
do_label(const struct client_opts *o, const char *id, int argc, char **argv)
{
	struct tags labels = TAGS_INIT;
	struct err err;
	json_t *params, *res;

	err_clear(&err);
	for (int i = 0; i < argc; i++)
		if (parse_kv(argv[i], &labels) == -1) {
			fprintf(stderr, "label: \"%s\" is not key=value\n",
			    argv[i]);
			tags_free(&labels);
			return 2;
		}
	params = json_pack("{s:s,s:s,s:o}", "Type", o->co_type, "Instance", id,
	    "Labels", jtags_new(&labels));
	tags_free(&labels);
	res = client_call(&o->co_conf, "Instance.Label", params, &err);
	json_decref(params);
	if (res == NULL)
		return client_fail(&err);
	printf("labelled %s\n", id);
	json_decref(res);
	return 0;
}

enum {
	COPT_NAME = 256,
	COPT_LISTEN,
	COPT_TYPE,
	COPT_TAGS,
	COPT_PROPS,
	COPT_ALL,
	COPT_JSON,
	COPT_REASON,
	COPT_HELP
};

static const struct option client_opts_long[] = { { "name", required_argument,
						      NULL, COPT_NAME },
	{ "listen", required_argument, NULL, COPT_LISTEN },
	{ "type", required_argument, NULL, COPT_TYPE },
	{ "tags", required_argument, NULL, COPT_TAGS },
	{ "properties", no_argument, NULL, COPT_PROPS },
	{ "all", no_argument, NULL, COPT_ALL },
	{ "json", no_argument, NULL, COPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "reason", required_argument, NULL, COPT_REASON },
	{ "help", no_argument, NULL, COPT_HELP }, { NULL, 0, NULL, 0 } };

int
client_main(int argc, char **argv)
{
	struct client_opts o;
	struct err err;
	const char *verb = argv[0];
	int ch;

	memset(&o, 0, sizeof(o));
	err_clear(&err);
	if (config_defaults(&o.co_conf, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	optind = 1;
	opterr = 0;
	/* "+": stop at the first operand, so label values may start with -. */
	while ((ch = getopt_long(argc, argv, "+:qp", client_opts_long, NULL)) !=
	    -1) {
		switch (ch) {
		case COPT_NAME:
			if (cli_set_name(&o.co_conf, optarg) == -1)
				return 2;
			break;
		case COPT_LISTEN:
			if (cli_set_listen(&o.co_conf, optarg, false) == -1)
				return 2;
			break;
		case COPT_TYPE:
			if (strlcpy(o.co_type, optarg, sizeof(o.co_type)) >=
			    sizeof(o.co_type)) {
				fprintf(stderr, "--type: too long\n");
				return 2;
			}
			break;
		case COPT_TAGS:
			o.co_tags = optarg;
			break;
		case COPT_PROPS:
		case 'p':
			o.co_props = true;
			break;
		case COPT_ALL:
			o.co_all = true;
			break;
		case COPT_JSON:
			o.co_json = true;
			break;
		case 'q':
			o.co_quiet = true;
			break;
		case COPT_REASON:
			(void)strlcpy(o.co_reason, optarg, sizeof(o.co_reason));
			break;
		case COPT_HELP:
			cli_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "%s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "%s: unknown flag %s\n", verb,
			    argv[optind - 1]);
			return 2;
		}
	}
	if (cli_resolve_socket(&o.co_conf) == -1)
		return 2;
	argc -= optind;
	argv += optind;
	if (strcmp(verb, "describe") == 0) {
		if (argc != 0)
			goto usage;
		return do_describe(&o);
	}
	if (strcmp(verb, "provision") == 0 && argc == 1)
		return do_provision(&o, argv[0]);
	if (strcmp(verb, "validate") == 0 && argc == 1)
		return do_validate(&o, argv[0]);
	if (strcmp(verb, "destroy") == 0 && argc >= 1)
		return do_destroy(&o, argc, argv);
	if (strcmp(verb, "label") == 0 && argc >= 2)
		return do_label(&o, argv[0], argc - 1, argv + 1);
usage:
	cli_usage(stderr);
	return 2;
}
