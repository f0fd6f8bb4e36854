/*
 * JSON-RPC 2.0 envelope. See jsonrpc.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"
#include "rpc/jsonrpc.h"
#include "model/jsonutil.h"

/* Skips whitespace. */
static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Skips a string starting at its opening quote; returns past the closing
 * quote, or NULL. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Skips one JSON value of valid JSON text, without recursion. */
static const char *
skip_value(const char *p, const char *end)
{
	size_t depth = 0;

	p = skip_ws(p, end);
	do {
		if (p >= end)
			return NULL;
		switch (*p) {
		case '"':
			p = skip_string(p, end);
			if (p == NULL)
				return NULL;
			break;
		case '{':
		case '[':
			depth++;
			p++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return NULL;
			depth--;
			p++;
			break;
		default:
			/* Numbers, literals, separators inside containers. */
			if (depth == 0) {
				while (p < end && *p != ',' && *p != '}' &&
				    *p != ']' && *p != ' ' && *p != '\t' &&
				    *p != '\n' && *p != '\r')
					p++;
				return p;
			}
			p++;
			break;
		}
	} while (depth > 0);
	return p;
}

int
json_raw_member(const char *text, size_t len, const char *key,
    const char **start, size_t *vlen)
{
	const char *p = text, *end = text + len;
	size_t klen = strlen(key);
	const char *ci_start = NULL;
	size_t ci_len = 0;

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *ks = p + 1, *ke, *vs, *ve;

		p = skip_string(p, end);
		if (p == NULL)
			return -1;
		ke = p - 1;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return -1;
		vs = skip_ws(p + 1, end);
		ve = skip_value(vs, end);
		if (ve == NULL)
			return -1;
		if ((size_t)(ke - ks) == klen) {
			if (memcmp(ks, key, klen) == 0) {
				*start = vs;
				*vlen = (size_t)(ve - vs);
				return 0;
			}
			if (ci_start == NULL &&
			    strncasecmp(ks, key, klen) == 0) {
				ci_start = vs;
				ci_len = (size_t)(ve - vs);
			}
		}
		p = skip_ws(ve, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	if (ci_start != NULL) {
		*start = ci_start;
		*vlen = ci_len;
		return 0;
	}
	return -1;
}

/* Describes a jansson parse error in words a user can act on. */
static void
parse_error(struct err *err, const json_error_t *je, size_t len)
{
	if (len == 0) {
		err_set(err, EIK_PARSE,
		    "parse error: the request body is empty; send a JSON-RPC "
		    "2.0 request object");
		return;
	}
	err_set(err, EIK_PARSE,
	    "parse error: %s at line %d column %d (byte %d); the body must be "
	    "one JSON-RPC 2.0 request object in UTF-8",
	    je->text, je->line, je->column, je->position);
}

int
jsonrpc_parse(
    const char *body, size_t len, struct jsonrpc_req *req, struct err *err)
{
	json_error_t je;
	json_t *root, *v, *params;
	const char *raw;
	size_t rawlen;

	memset(req, 0, sizeof(*req));
	root = json_loadb(body, len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (root == NULL) {
		parse_error(err, &je, len);
		return -1;
	}
	req->jr_root = root;
	if (!json_is_object(root)) {
		err_set(err, EIK_REQUEST,
		    "invalid request: the body is a JSON %s; it must be a "
		    "JSON-RPC 2.0 request object",
		    jtype(root));
		return -1;
	}
	/* The id first, so every later error can carry it. */
	v = jget(root, "id");
	if (v == NULL)
		req->jr_notify = true;
	else if (json_is_string(v) || json_is_number(v) || json_is_null(v)) {
		if (json_raw_member(body, len, "id", &raw, &rawlen) == 0)
			req->jr_id = strndup(raw, rawlen);
		else
			req->jr_id = jdump(v);
		if (req->jr_id == NULL) {
			err_set(err, EIK_INTERNAL, "out of memory");
			return -1;
		}
	} else {
		err_set(err, EIK_REQUEST,
		    "invalid request: id must be a number, a string or null, "
		    "got %s",
		    jtype(v));
		return -1;
	}
	v = jget(root, "jsonrpc");
	if (!json_is_string(v) || json_string_length(v) != 3 ||
	    strcmp(json_string_value(v), "2.0") != 0) {
		err_set(err, EIK_REQUEST,
		    "invalid request: jsonrpc must be 2.0 (add "
		    "\"jsonrpc\":\"2.0\")");
		return -1;
	}
	v = jget(root, "method");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		err_set(err, EIK_REQUEST,
		    "invalid request: method must be a non-empty string such "
		    "as \"Instance.DescribeInstances\", got %s",
		    v == NULL ? "nothing" : jtype(v));
		return -1;
	}
	req->jr_method = json_string_value(v);
	params = jget(root, "params");
	if (json_is_array(params)) {
		/* gorilla unwraps a one-element array [{...}]. */
		if (json_array_size(params) != 1) {
			err_set(err, EIK_PARAMS,
			    "invalid params: an array of params must hold "
			    "exactly one object, got %zu elements",
			    json_array_size(params));
			return -1;
		}
		params = json_array_get(params, 0);
	}
	if (params != NULL && json_is_null(params))
		params = NULL;
	if (params != NULL && !json_is_object(params)) {
		err_set(err, EIK_PARAMS,
		    "invalid params: params must be an object, got %s",
		    jtype(params));
		return -1;
	}
	req->jr_params = params;
	return 0;
}

void
jsonrpc_req_free(struct jsonrpc_req *req)
{
	json_decref(req->jr_root);
	free(req->jr_id);
	memset(req, 0, sizeof(*req));
}

int
jsonrpc_result(struct buf *out, const char *id, json_t *result)
{
	char *text;
	int rc;

	text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(result);
	if (text == NULL)
		return -1;
	rc = buf_printf(out, "{\"jsonrpc\":\"2.0\",\"result\":%s,\"id\":%s}\n",
	    text, id != NULL ? id : "null");
	free(text);
	return rc;
}

int
jsonrpc_result_text(
    struct buf *out, const char *id, const char *result, size_t len)
{
	if (buf_addstr(out, "{\"jsonrpc\":\"2.0\",\"result\":") == -1 ||
	    buf_add(out, result, len) == -1)
		return -1;
	return buf_printf(out, ",\"id\":%s}\n", id != NULL ? id : "null");
}

int
jsonrpc_error(struct buf *out, const char *id, int code, const char *message)
{
	json_t *m;
	char *text;
	int rc;

	/* Messages may quote request bytes: keep the answer valid JSON. */
	m = json_string(message);
	if (m == NULL)
		m = json_string("error (message was not valid UTF-8)");
	text = json_dumps(m, JSON_ENCODE_ANY);
	json_decref(m);
	if (text == NULL)
		return -1;
	rc = buf_printf(out,
	    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":%s,"
	    "\"data\":null},\"id\":%s}\n",
	    code, text, id != NULL ? id : "null");
	free(text);
	return rc;
}

int
jsonrpc_code(int err_code)
{
	switch (err_code) {
	case EIK_PARSE:
		return JSONRPC_PARSE_ERROR;
	case EIK_REQUEST:
	case EIK_PARAMS:
		return JSONRPC_INVALID_REQUEST;
	default:
		return JSONRPC_SERVER_ERROR;
	}
}
