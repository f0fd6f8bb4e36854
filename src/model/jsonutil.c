/*
 * jansson helpers. See jsonutil.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/defaults.h"
#include "util/err.h"
#include "model/jsonutil.h"

json_t *
jget(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (v != NULL)
		return v;
	json_object_foreach((json_t *)obj, k, v)
	{
		if (strcasecmp(k, key) == 0)
			return v;
	}
	return NULL;
}

const char *
jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

const char *
jstr(const json_t *v, const char *field, size_t max, struct err *err)
{
	const char *s;

	if (!json_is_string(v)) {
		err_set(err, EIK_PARAMS, "%s must be a string, got %s", field,
		    v == NULL ? "nothing" : jtype(v));
		return NULL;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		err_set(err, EIK_PARAMS,
		    "%s contains a NUL byte (\\u0000), which is not allowed",
		    field);
		return NULL;
	}
	if (json_string_length(v) > max) {
		err_set(err, EIK_PARAMS,
		    "%s is %zu bytes long; the limit is %zu", field,
		    json_string_length(v), max);
		return NULL;
	}
	return s;
}

int
jtags(const json_t *v, const char *field, struct tags *t, struct err *err)
{
	const char *k;
	json_t *val;
	size_t n = 0;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		err_set(err, EIK_PARAMS,
		    "%s must be an object of string values, got %s", field,
		    jtype(v));
		return -1;
	}
	json_object_foreach((json_t *)v, k, val)
	{
		char name[RPC_MAX_TAG_KEY + 64];
		const char *s;

		if (++n > RPC_MAX_TAGS) {
			err_set(err, EIK_PARAMS, "%s has more than %d tags",
			    field, RPC_MAX_TAGS);
			return -1;
		}
		if (k[0] == '\0') {
			err_set(err, EIK_PARAMS,
			    "%s has an empty key; tag keys must be non-empty",
			    field);
			return -1;
		}
		if (strlen(k) > RPC_MAX_TAG_KEY) {
			err_set(err, EIK_PARAMS,
			    "%s has a key of %zu bytes; the limit is %d", field,
			    strlen(k), RPC_MAX_TAG_KEY);
			return -1;
		}
		(void)snprintf(name, sizeof(name), "%s[\"%s\"]", field, k);
		if (!json_is_string(val)) {
			err_set(err, EIK_PARAMS,
			    "%s must be a string (InfraKit tag values are "
			    "strings), got %s; quote it",
			    name, jtype(val));
			return -1;
		}
		s = jstr(val, name, RPC_MAX_TAG_VALUE, err);
		if (s == NULL)
			return -1;
		if (tags_set(t, k, s) == -1) {
			err_set(err, EIK_INTERNAL, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* An optional string member: absent or null gives NULL (no error). */
int
jopt_str(const json_t *obj, const char *key, const char *field, size_t max,
    const char **out, struct err *err)
{
	json_t *v = jget(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	*out = jstr(v, field, max, err);
	return *out == NULL ? -1 : 0;
}

json_t *
jtags_new(const struct tags *t)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < t->tg_n; i++) {
		if (json_object_set_new(o, t->tg_v[i].t_key,
			json_string(t->tg_v[i].t_value)) == -1) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

char *
jdump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}
