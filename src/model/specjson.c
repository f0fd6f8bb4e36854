/*
 * InfraKit's instance.Spec, JSON to typed structs and back. Used by the RPC
 * layer (requests) and by the store (instance.json), so a stored spec is
 * read back by exactly the checks a request passes; the lenient mode reads
 * records of other releases (see specjson.h). The Properties inside are
 * decoded by specjson_props.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/defaults.h"
#include "util/err.h"
#include "model/attach.h"
#include "model/jsonutil.h"
#include "model/specjson.h"
#include "model/specjson_int.h"

/* The members of a Spec and of an attachment. */
static const char *const spec_names[] = { "Properties", "Tags", "Init",
	"LogicalID", "Attachments", NULL };
static const char *const att_names[] = { "ID", "Type", NULL };

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

static int
parse_attachments(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err)
{
	char got[JGOT_MAX];
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		err_set(err, EIK_PARAMS,
		    "%s must be null or an array of {\"ID\":..., \"Type\":...}, "
		    "got %s",
		    field, jgot(v, got));
		return -1;
	}
	n = json_array_size(v);
	if (n > RPC_MAX_ATTACHMENTS) {
		err_set(err, EIK_PARAMS, "%s has %zu entries; the limit is %d",
		    field, n, RPC_MAX_ATTACHMENTS);
		return -1;
	}
	if (n == 0)
		return 0;
	s->s_att = calloc(n, sizeof(*s->s_att));
	if (s->s_att == NULL) {
		oom(err);
		return -1;
	}
	s->s_n_att = n;
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(v, i);
		char en[128], idn[160], typen[160];
		const char *id, *type;

		(void)snprintf(en, sizeof(en), "%s[%zu]", field, i);
		if (!json_is_object(a)) {
			err_set(err, EIK_PARAMS,
			    "%s must be an object {\"ID\":..., \"Type\":...}, "
			    "got %s",
			    en, jgot(a, got));
			return -1;
		}
		if (jdup_names(a, en, att_names, EIK_PARAMS, err) == -1)
			return -1;
		(void)snprintf(idn, sizeof(idn), "%s.ID", en);
		(void)snprintf(typen, sizeof(typen), "%s.Type", en);
		if (jopt_str(a, "ID", idn, RPC_MAX_TAG_VALUE, &id, err) == -1 ||
		    jopt_str(a, "Type", typen, RPC_MAX_TAG_VALUE, &type, err) ==
			-1)
			return -1;
		s->s_att[i].a_id = strdup(id != NULL ? id : "");
		s->s_att[i].a_type = strdup(type != NULL ? type : "");
		if (s->s_att[i].a_id == NULL || s->s_att[i].a_type == NULL) {
			oom(err);
			return -1;
		}
	}
	/* Disks name files: their IDs are checked here, at the edge. */
	{
		struct att_name names[ATTACH_MAX_DISKS];

		if (attach_disks(s, field, names, ATTACH_MAX_DISKS, err) == -1)
			return -1;
	}
	return 0;
}

/* Lenient attachments: entries that are not objects are dropped, an ID or
 * Type that is not a string is empty, any count. */
static int
lenient_attachments(const json_t *v, struct inst_spec *s, struct err *err)
{
	size_t n = json_array_size(v);

	if (!json_is_array(v) || n == 0)
		return 0;
	s->s_att = calloc(n, sizeof(*s->s_att));
	if (s->s_att == NULL) {
		oom(err);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *a = json_array_get(v, i);
		const char *id, *type;
		struct attachment *at;

		if (!json_is_object(a))
			continue;
		id = specjson_lenient_str(jget(a, "ID"));
		type = specjson_lenient_str(jget(a, "Type"));
		at = &s->s_att[s->s_n_att++];
		at->a_id = strdup(id != NULL ? id : "");
		at->a_type = strdup(type != NULL ? type : "");
		if (at->a_id == NULL || at->a_type == NULL) {
			oom(err);
			return -1;
		}
	}
	return 0;
}

/* Spec.Init. Lenient: any length; not a string (or with a NUL byte):
 * empty. */
static int
spec_init(const json_t *v, const char *field, unsigned flags,
    struct inst_spec *s, struct err *err)
{
	const json_t *init = jget(v, "Init");
	const char *str;

	if (flags & SPECJSON_LENIENT)
		str = specjson_lenient_str(init);
	else {
		if (json_is_string(init) &&
		    json_string_length(init) > INIT_MAX_SIZE) {
			err_set(err, EIK_INVAL,
			    "%s is %zu bytes; the limit is %d bytes: ship "
			    "large files in the image or fetch them from the "
			    "script",
			    field, json_string_length(init), INIT_MAX_SIZE);
			return -1;
		}
		if (jopt_str(v, "Init", field, INIT_MAX_SIZE, &str, err) == -1)
			return -1;
	}
	s->s_init = strdup(str != NULL ? str : "");
	if (s->s_init == NULL) {
		oom(err);
		return -1;
	}
	return 0;
}

/* Spec.LogicalID. Lenient: any string kept as it is (even empty, long or
 * with control characters: every consumer escapes it); not a string (or
 * with a NUL byte): null. */
static int
spec_logical_id(const json_t *v, const char *field, unsigned flags,
    struct inst_spec *s, struct err *err)
{
	const char *str;

	if (flags & SPECJSON_LENIENT)
		str = specjson_lenient_str(jget(v, "LogicalID"));
	else if (jopt_str(v, "LogicalID", field, RPC_MAX_LOGICAL_ID, &str,
		     err) == -1)
		return -1;
	if (str == NULL)
		return 0;
	if (!(flags & SPECJSON_LENIENT)) {
		if (str[0] == '\0') {
			err_set(err, EIK_PARAMS,
			    "%s is empty; use null for an instance without a "
			    "LogicalID",
			    field);
			return -1;
		}
		for (const char *p = str; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				err_set(err, EIK_PARAMS,
				    "%s contains a control character", field);
				return -1;
			}
	}
	s->s_logical_id = strdup(str);
	if (s->s_logical_id == NULL) {
		oom(err);
		return -1;
	}
	return 0;
}

static int
spec_decode(const json_t *v, const char *field, unsigned flags,
    struct inst_spec *s, struct err *err)
{
	bool lenient = flags & SPECJSON_LENIENT;
	char name[128], got[JGOT_MAX];
	json_t *props;
	int r;

	if (!json_is_object(v)) {
		err_set(err, EIK_PARAMS,
		    "%s must be an object {\"Properties\":..., \"Tags\":..., "
		    "\"Init\":..., \"LogicalID\":...}, got %s",
		    field, jgot(v, got));
		return -1;
	}
	if (!lenient && jdup_names(v, field, spec_names, EIK_PARAMS, err) == -1)
		return -1;
	props = jget(v, "Properties");
	(void)snprintf(name, sizeof(name), "%s.Properties", field);
	if (lenient && !json_is_object(props))
		specjson_props_defaults(&s->s_props);
	else if (specjson_props_decode(props, name, flags, &s->s_props, err) ==
	    -1)
		return -1;
	s->s_properties_json = jdump(props != NULL ? props : json_null());
	if (s->s_properties_json == NULL) {
		oom(err);
		return -1;
	}
	(void)snprintf(name, sizeof(name), "%s.Tags", field);
	r = lenient ? specjson_lenient_tags(jget(v, "Tags"), &s->s_tags, err)
		    : jtags(jget(v, "Tags"), name, &s->s_tags, err);
	if (r == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.Init", field);
	if (spec_init(v, name, flags, s, err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.LogicalID", field);
	if (spec_logical_id(v, name, flags, s, err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.Attachments", field);
	if (lenient)
		return lenient_attachments(jget(v, "Attachments"), s, err);
	return parse_attachments(jget(v, "Attachments"), name, s, err);
}

int
specjson_spec(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err)
{
	return spec_decode(v, field, 0, s, err);
}

int
specjson_spec_lenient(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err)
{
	return spec_decode(v, field, SPECJSON_LENIENT, s, err);
}

json_t *
specjson_spec_new(const struct inst_spec *s)
{
	json_t *props = NULL, *atts, *o;
	json_error_t je;

	if (s->s_properties_json != NULL)
		props = json_loads(s->s_properties_json,
		    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (props == NULL)
		props = json_null();
	if (s->s_n_att == 0)
		atts = json_null();
	else {
		atts = json_array();
		for (size_t i = 0; i < s->s_n_att; i++)
			json_array_append_new(atts,
			    json_pack("{s:s,s:s}", "ID", s->s_att[i].a_id,
				"Type", s->s_att[i].a_type));
	}
	o = json_pack("{s:o,s:o,s:s,s:o,s:o}", "Properties", props, "Tags",
	    jtags_new(&s->s_tags), "Init", s->s_init != NULL ? s->s_init : "",
	    "LogicalID",
	    s->s_logical_id != NULL ? json_string(s->s_logical_id)
				    : json_null(),
	    "Attachments", atts);
	return o;
}
