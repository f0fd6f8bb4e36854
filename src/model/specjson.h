/*
 * InfraKit's instance.Spec and instance Properties between JSON and the
 * typed structs of model.h. See specjson.c.
 */
#ifndef SPECJSON_H
#define SPECJSON_H

#include <jansson.h>

#include "model/model.h"

struct err;

/* The names of the instance properties, NULL-terminated. */
extern const char *const specjson_prop_names[];

/*
 * Parses instance Properties: types and ranges checked, unknown keys refused
 * with a "did you mean" hint, defaults applied. field names the value in
 * messages ("params.Properties"). p must be zeroed; free it even on failure.
 */
int specjson_props(
    const json_t *v, const char *field, struct inst_props *p, struct err *err);

/* Parses an instance.Spec (Properties as above). s must be zeroed; free it
 * even on failure. */
int specjson_spec(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err);

/* The JSON form of a spec, Properties verbatim. New reference or NULL. */
json_t *specjson_spec_new(const struct inst_spec *s);

#endif /* SPECJSON_H */
