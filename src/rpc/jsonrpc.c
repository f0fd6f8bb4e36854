/*
 * JSON-RPC 2.0 envelope. See jsonrpc.h.
 */
#include <stdbool.h>
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

/* Four hex digits at p (before end) as a number; -1 if they are not. */
static long
hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * Decodes the character at *pp of a JSON string's contents (before end)
 * as jansson does (escapes, \uXXXX with surrogate pairs) into its UTF-8
 * bytes in out; advances *pp. Returns the byte count, or 0 on an escape
 * jansson would refuse.
 */
static size_t
json_char(const char **pp, const char *end, unsigned char out[4])
{
	const char *p = *pp;
	long cp;

	if (*p != '\\') {
		out[0] = (unsigned char)*p;
		*pp = p + 1;
		return 1;
	}
	if (end - p < 2)
		return 0;
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
		out[0] = (unsigned char)p[1];
		break;
	case 'b':
		out[0] = '\b';
		break;
	case 'f':
		out[0] = '\f';
		break;
	case 'n':
		out[0] = '\n';
		break;
	case 'r':
		out[0] = '\r';
		break;
	case 't':
		out[0] = '\t';
		break;
	case 'u':
		cp = hex4(p + 2, end);
		p += 6;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return 0; /* a lone low surrogate */
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			long lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u'
			    ? hex4(p + 2, end)
			    : -1;

			if (lo < 0xDC00 || lo > 0xDFFF)
				return 0;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			p += 6;
		}
		if (cp < 0)
			return 0;
		*pp = p;
		if (cp < 0x80) {
			out[0] = (unsigned char)cp;
			return 1;
		}
		if (cp < 0x800) {
			out[0] = (unsigned char)(0xC0 | (cp >> 6));
			out[1] = (unsigned char)(0x80 | (cp & 0x3F));
			return 2;
		}
		if (cp < 0x10000) {
			out[0] = (unsigned char)(0xE0 | (cp >> 12));
			out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			out[2] = (unsigned char)(0x80 | (cp & 0x3F));
			return 3;
		}
		out[0] = (unsigned char)(0xF0 | (cp >> 18));
		out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (unsigned char)(0x80 | (cp & 0x3F));
		return 4;
	default:
		return 0;
	}
	*pp = p + 2;
	return 1;
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Compares the contents [s, e) of a JSON string token, decoded as jansson
 * decodes it, with key: KEY_EXACT, KEY_FOLDED (equal but for ASCII letter
 * case, as strcasecmp and jget() compare) or 0.
 */
#define KEY_EXACT 2
#define KEY_FOLDED 1
static int
key_cmp(const char *s, const char *e, const char *key)
{
	size_t klen = strlen(key), n = 0;
	bool exact = true;

	while (s < e) {
		unsigned char b[4];
		size_t bl = json_char(&s, e, b);

		if (bl == 0 || bl > klen - n)
			return 0;
		for (size_t i = 0; i < bl; i++, n++) {
			if (b[i] == (unsigned char)key[n])
				continue;
			if (ascii_lower(b[i]) !=
			    ascii_lower((unsigned char)key[n]))
				return 0;
			exact = false;
		}
	}
	if (n != klen)
		return 0;
	return exact ? KEY_EXACT : KEY_FOLDED;
}

int
json_raw_member(const char *text, size_t len, const char *key,
    const char **start, size_t *vlen)
{
	const char *p = text, *end = text + len;
	const char *ex_start = NULL, *ci_start = NULL;
	size_t ex_len = 0, ci_len = 0, matches = 0;

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *ks = p + 1, *ke, *vs, *ve;
		int c;

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
		/* Keys as jansson reads them: "\u0069d" is "id". */
		c = key_cmp(ks, ke, key);
		if (c != 0)
			matches++;
		if (c == KEY_EXACT && ex_start == NULL) {
			ex_start = vs;
			ex_len = (size_t)(ve - vs);
		} else if (c == KEY_FOLDED && ci_start == NULL) {
			ci_start = vs;
			ci_len = (size_t)(ve - vs);
		}
		p = skip_ws(ve, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	if (matches > 1)
		return JSON_RAW_AMBIGUOUS;
	if (ex_start != NULL) {
		*start = ex_start;
		*vlen = ex_len;
		return 0;
	}
	if (ci_start != NULL) {
		*start = ci_start;
		*vlen = ci_len;
		return 0;
	}
	return -1;
}

/*
 * Refuses a request with two members for one envelope field ("id" and
 * "ID", say): jansson (JSON_REJECT_DUPLICATES) only refuses exact
 * repeats, jget() takes the exact spelling first and gorilla (Go's
 * encoding/json, which matches field names case-insensitively) the last
 * one, so the request means different things to different readers.
 */
static int
check_unambiguous(json_t *root, struct err *err)
{
	static const char *const fields[] = { "jsonrpc", "method", "params",
		"id" };
	const char *k;
	json_t *v;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		size_t n = 0;

		json_object_foreach(root, k, v)
		{
			if (strcasecmp(k, fields[i]) == 0)
				n++;
		}
		if (n > 1) {
			err_set(err, EIK_REQUEST,
			    "invalid request: %zu members are named \"%s\" "
			    "(letter case aside); send exactly one",
			    n, fields[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * The id to echo: its exact token in the body, which must be the member
 * jansson read as v (the same value); else v written back by jansson.
 * A new string (caller frees), or NULL when out of memory.
 */
static char *
id_token(const char *body, size_t len, const json_t *v)
{
	const char *raw;
	size_t rawlen;
	json_error_t je;
	json_t *back;
	bool same;

	if (json_raw_member(body, len, "id", &raw, &rawlen) != 0)
		return jdump(v);
	back = json_loadb(raw, rawlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	same = back != NULL && json_equal(back, (json_t *)v);
	json_decref(back);
	return same ? strndup(raw, rawlen) : jdump(v);
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
	char got[JGOT_MAX];

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
	/* Which member is the id must be beyond doubt (no id echoed). */
	if (check_unambiguous(root, err) == -1)
		return -1;
	/* The id first, so every later error can carry it. */
	v = jget(root, "id");
	if (v == NULL)
		req->jr_notify = true;
	else if (json_is_string(v) || json_is_number(v) || json_is_null(v)) {
		req->jr_id = id_token(body, len, v);
		if (req->jr_id == NULL) {
			err_set(err, EIK_INTERNAL, "out of memory");
			return -1;
		}
	} else {
		err_set(err, EIK_REQUEST,
		    "invalid request: id must be a number, a string or null, "
		    "got %s",
		    jgot(v, got));
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
		    jgot(v, got));
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
		    jgot(params, got));
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
