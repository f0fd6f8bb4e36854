/*
 * Small helpers over jansson shared by the modules that speak JSON (the RPC
 * layer, the store's instance.json, the client verbs): member lookup with Go's
 * case-insensitive field matching, strict string access, tag maps.
 */
#ifndef JSONUTIL_H
#define JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "model/tags.h"

struct err;

/* Object member as Go's encoding/json finds it: an exact key match first,
 * else the first key equal ignoring ASCII case. Borrowed; NULL if absent
 * or if obj is not an object. */
json_t *jget(const json_t *obj, const char *key);

/*
 * Refuses an object with two keys naming one of names (NULL-terminated)
 * in different letter cases, such as "Tags" and "tags": Go's decoder takes
 * the last, jget() the exact one, so neither reading is safe. field names
 * obj in the message; code is the error code. 0, or -1 with err set. Not
 * an object: 0.
 */
int jdup_names(const json_t *obj, const char *field, const char *const *names,
    int code, struct err *err);

/* Name of a JSON value's type for messages ("number", "array", ...). */
const char *jtype(const json_t *v);

#define JGOT_MAX 272 /* what jgot() writes, NUL included */

/*
 * What v is, for the "got ..." of a type error: a scalar by its value
 * ("5 (a number)", "512.0 (a number)", "512.5 (a fractional number)",
 * "\"2\" (a string)",
 * "true (a boolean)", "null"; a long string cut with "..."), an object or
 * an array by its type ("an object", "an array"), NULL as "nothing".
 * Returns buf.
 */
const char *jgot(const json_t *v, char buf[JGOT_MAX]);

/* True when d has no fraction part (a JSON real such as 512.0 or 5e2). */
bool jreal_whole(double d);

/* Borrowed string value of v, or NULL (with err naming field) when v is not
 * a string, contains a NUL byte, or is longer than max bytes. */
const char *jstr(
    const json_t *v, const char *field, size_t max, struct err *err);

/* An optional string member of obj (Go-style key match): absent or null
 * gives *out = NULL and success. */
int jopt_str(const json_t *obj, const char *key, const char *field, size_t max,
    const char **out, struct err *err);

/* Reads a JSON object of string values into t (sorted). null counts as
 * empty. Errors name field and the offending key. */
int jtags(const json_t *v, const char *field, struct tags *t, struct err *err);

/* Builds a JSON object from a tag set. New reference, or NULL. */
json_t *jtags_new(const struct tags *t);

/* Compact JSON text of v (any JSON value); caller frees. NULL on failure. */
char *jdump(const json_t *v);

#endif /* JSONUTIL_H */
