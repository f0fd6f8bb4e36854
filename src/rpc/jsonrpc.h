/*
 * The JSON-RPC 2.0 envelope as gorilla/rpc v2 json2 (InfraKit's server)
 * speaks it: request parsing with the id kept as the exact token received
 * (63-bit integers never pass through a double), params as an object or a
 * one-element array, notifications, and result / error bodies.
 */
#ifndef JSONRPC_H
#define JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct err;

/* JSON-RPC error codes, as InfraKit's Go server uses them. */
#define JSONRPC_PARSE_ERROR (-32700)
#define JSONRPC_INVALID_REQUEST (-32600)
#define JSONRPC_SERVER_ERROR (-32000) /* method errors, unknown method */

struct jsonrpc_req {
	json_t *jr_root;       /* owned */
	const char *jr_method; /* borrowed from jr_root */
	json_t *jr_params;     /* borrowed; an object or NULL */
	char *jr_id;	       /* exact id token; NULL = none */
	bool jr_notify;	       /* no id member at all */
};

/*
 * Parses body. On failure returns -1 with err set (EIK_PARSE, EIK_REQUEST
 * or EIK_PARAMS) and, when it could be recovered, req->jr_id set so the error
 * answer carries it. Always release with jsonrpc_req_free().
 */
int jsonrpc_parse(
    const char *body, size_t len, struct jsonrpc_req *req, struct err *err);
void jsonrpc_req_free(struct jsonrpc_req *req);

/* Appends {"jsonrpc":"2.0","result":R,"id":ID}\n to out. Steals result. */
int jsonrpc_result(struct buf *out, const char *id, json_t *result);
/* The same with the result already encoded (len bytes of JSON text). */
int jsonrpc_result_text(
    struct buf *out, const char *id, const char *result, size_t len);
/* Appends an error answer; id NULL means null. */
int jsonrpc_error(
    struct buf *out, const char *id, int code, const char *message);
/* The JSON-RPC code for an err code. */
int jsonrpc_code(int err_code);

/* What json_raw_member returns when several members match. */
#define JSON_RAW_AMBIGUOUS (-2)

/*
 * Finds the raw text of member key of the top-level object in the JSON text
 * [text, text+len), which must already be valid JSON. Member names are
 * compared as jansson decodes them (escapes, \uXXXX and surrogate pairs:
 * "\u0069d" is "id"): the exact name, else one equal but for ASCII letter
 * case, as jget() finds it. Iterative: nesting depth costs no stack.
 * Returns 0 and the span; -1 when absent; JSON_RAW_AMBIGUOUS when more than
 * one member's name matches key, letter case aside.
 */
int json_raw_member(const char *text, size_t len, const char *key,
    const char **start, size_t *vlen);

#endif /* JSONRPC_H */
