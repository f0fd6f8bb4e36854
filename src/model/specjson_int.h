/*
 * Shared by specjson.c (the Spec) and specjson_props.c (its Properties);
 * not for other modules, which use specjson.h.
 */
#ifndef SPECJSON_INT_H
#define SPECJSON_INT_H

#include <jansson.h>

#include "model/model.h"

struct err;

/* Decoding flags. */
#define SPECJSON_LENIENT 0x1 /* see specjson_spec_lenient() */

/* The defaults of every property (no VMX). */
void specjson_props_defaults(struct inst_props *p);

/* specjson_props() (flags 0) or specjson_props_lenient(). */
int specjson_props_decode(const json_t *v, const char *field, unsigned flags,
    struct inst_props *p, struct err *err);

/* A string without NUL bytes (borrowed), or NULL: what lenient decoding
 * takes where a string belongs (a NUL would cut the value short). */
const char *specjson_lenient_str(const json_t *v);

/* Lenient tags into t: every string value kept, whatever the count or
 * length; other types (or with a NUL byte) dropped; not an object: none.
 * -1 only when out of memory. */
int specjson_lenient_tags(const json_t *v, struct tags *t, struct err *err);

#endif /* SPECJSON_INT_H */
