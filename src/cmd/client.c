/*
 * One JSON-RPC call to the running plugin, in steps: connect (transport.c:
 * unix socket, else NAME.listen's TCP address, else --listen/--host tcp://
 * or tcps://), write the HTTP request, read the whole answer, take its
 * "result" or "error". See client.h.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/client.h"
#include "cmd/transport.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "version.h"

/* The HTTP request of one call into req. 0, or -1 with err set. */
static int
build_request(
    const char *method, const char *params, struct buf *req, struct err *err)
{
	size_t n = strlen(method) + strlen(params) + 96;
	char *body = malloc(n);
	int rc = -1;

	if (body != NULL) {
		(void)snprintf(body, n,
		    "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,"
		    "\"id\":%ld}",
		    method, params, (long)(time(NULL) & 0x7fffffff));
		rc = buf_printf(req,
		    "POST / HTTP/1.1\r\nHost: h\r\n"
		    "Content-Type: application/json\r\n"
		    /* Marks this program's client (the audit log's "cli"). */
		    "User-Agent: " PLUGIN_PROGNAME "/" PLUGIN_VERSION "\r\n"
		    "Content-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s",
		    strlen(body), body);
	}
	if (rc == -1)
		err_set(err, EIK_INVAL, "request too large (limit %d bytes)",
		    RPC_MAX_BODY);
	free(body);
	return rc;
}

/* Reads until the plugin closes the connection. 0, or -1 with err. */
static int
read_answer(struct transport *t, struct buf *ans, struct err *err)
{
	for (;;) {
		char chunk[65536];
		ssize_t r = transport_recv(t, chunk, sizeof(chunk), err);

		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		if (buf_add(ans, chunk, (size_t)r) == -1) {
			err_set(err, EIK_IO, "answer too large");
			return -1;
		}
	}
}

/* The "result" of the HTTP answer in ans (a new reference), or NULL with
 * err: the plugin's error message, or what is wrong with the answer. */
static json_t *
answer_result(const struct buf *ans, struct err *err)
{
	const char *sep = strstr(buf_str(ans), "\r\n\r\n");
	json_t *root, *result = NULL, *e;
	json_error_t je;

	if (sep == NULL) {
		err_set(err, EIK_IO,
		    "the plugin closed the connection "
		    "without a complete answer");
		return NULL;
	}
	sep += 4;
	root =
	    json_loadb(sep, ans->b_len - (size_t)(sep - ans->b_data), 0, &je);
	if (root == NULL) {
		err_set(err, EIK_IO, "the plugin's answer is not JSON: %s",
		    je.text);
		return NULL;
	}
	e = json_object_get(root, "error");
	if (e != NULL && !json_is_null(e)) {
		json_t *m = json_object_get(e, "message");

		err_set(err, EIK_BACKEND, "%s",
		    json_is_string(m) ? json_string_value(m) : "error");
	} else if ((result = json_object_get(root, "result")) == NULL ||
	    json_is_null(result)) {
		err_set(err, EIK_IO, "the plugin answered no result");
		result = NULL;
	} else
		json_incref(result);
	json_decref(root);
	return result;
}

json_t *
client_call_raw(const struct config *c, const char *method, const char *params,
    struct err *err)
{
	struct buf req, ans;
	struct transport t;
	json_t *result = NULL;

	buf_init(&req, RPC_MAX_BODY);
	buf_init(&ans, CLIENT_MAX_ANSWER);
	if (transport_open(c, CLIENT_TIMEOUT_S, &t, err) == -1)
		goto out;
	if (build_request(method, params, &req, err) == -1)
		goto out;
	if (transport_send(&t, req.b_data, req.b_len, err) == -1)
		goto out;
	if (read_answer(&t, &ans, err) == 0)
		result = answer_result(&ans, err);
out:
	transport_close(&t);
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
client_check_tls(const struct config *c)
{
	if (config_check_tls(c, false) == -1)
		return -1;
	return c->c_tls ? transport_check_files(c) : 0;
}

json_t *
client_info(const struct config *c, struct err *err)
{
	return client_call_raw(c, "Machine.Info", "{}", err);
}

int
client_fail(const struct err *err)
{
	/* The plugin names its RPC methods; a person at this prompt wants
	 * the verb. */
	static const char rpc_word[] = "with DescribeInstances";
	const char *at = strstr(err->msg, rpc_word);

	if (at != NULL)
		fprintf(stderr,
		    "error: %.*swith `" PLUGIN_PROGNAME " describe --all`%s\n",
		    (int)(at - err->msg), err->msg, at + sizeof(rpc_word) - 1);
	else
		fprintf(stderr, "error: %s\n", err->msg);
	return err->code == EIK_IO ? CLI_UNREACHABLE : CLI_FAILED;
}
