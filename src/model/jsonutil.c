/*
 * jansson helpers. See jsonutil.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/compat.h"
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

int
jdup_names(const json_t *obj, const char *field, const char *const *names,
    int code, struct err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return 0;
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *first = NULL;

		json_object_foreach((json_t *)obj, k, v)
		{
			if (strcasecmp(k, names[i]) != 0)
				continue;
			if (first == NULL) {
				first = k;
				continue;
			}
			err_set(err, code,
			    "%s has both \"%s\" and \"%s\" (keys match "
			    "ignoring case): keep one",
			    field, first, k);
			return -1;
		}
	}
	return 0;
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

#define JGOT_STR_MAX 40 /* bytes of a string shown by jgot() */

/* A string value as JSON text, cut after JGOT_STR_MAX bytes (at a UTF-8
 * character boundary) with "..." inside the quotes. */
static void
got_string(const json_t *v, char *buf, size_t len)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), cut = n;
	json_t *part;
	char *text;

	if (cut > JGOT_STR_MAX) {
		cut = JGOT_STR_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	part = json_stringn(s, cut);
	text = part != NULL ? json_dumps(part, JSON_ENCODE_ANY) : NULL;
	json_decref(part);
	if (text == NULL || strlen(text) + 16 > len)
		(void)snprintf(buf, len, "a string");
	else if (cut < n)
		(void)snprintf(buf, len, "%.*s...\" (a string)",
		    (int)strlen(text) - 1, text);
	else
		(void)snprintf(buf, len, "%s (a string)", text);
	free(text);
}

/* A real as jansson writes it ("512.5", "512.0"), with the fewest digits
 * that read back the same. */
static void
got_real(const json_t *v, char *buf, size_t len)
{
	double d = json_real_value(v);
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));

	if (text != NULL && strtod(text, NULL) != d) {
		free(text);
		text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	}
	(void)snprintf(buf, len, "%s (a %snumber)", text != NULL ? text : "?",
	    jreal_whole(d) ? "" : "fractional ");
	free(text);
}

bool
jreal_whole(double d)
{
	/* Beyond 2^63 a double has no fraction bits left. */
	return d <= -9.2e18 || d >= 9.2e18 || d == (double)(long long)d;
}

const char *
jgot(const json_t *v, char buf[JGOT_MAX])
{
	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		got_string(v, buf, JGOT_MAX);
		return buf;
	case JSON_INTEGER:
		(void)snprintf(buf, JGOT_MAX, "%lld (a number)",
		    (long long)json_integer_value(v));
		return buf;
	case JSON_REAL:
		got_real(v, buf, JGOT_MAX);
		return buf;
	case JSON_TRUE:
		return "true (a boolean)";
	case JSON_FALSE:
		return "false (a boolean)";
	case JSON_NULL:
		return v == NULL ? "nothing" : "null";
	}
	return "a value";
}

const char *
jstr(const json_t *v, const char *field, size_t max, struct err *err)
{
	char got[JGOT_MAX];
	const char *s;

	if (!json_is_string(v)) {
		err_set(err, EIK_PARAMS, "%s must be a string, got %s", field,
		    jgot(v, got));
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
	char got[JGOT_MAX];

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		err_set(err, EIK_PARAMS,
		    "%s must be an object of string values, got %s", field,
		    jgot(v, got));
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
			    name, jgot(val, got));
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
