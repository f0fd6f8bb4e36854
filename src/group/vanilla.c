/*
 * The built-in vanilla flavor. See vanilla.h and spec infrakit-group.md §4.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/defaults.h"
#include "util/err.h"
#include "util/suggest.h"
#include "model/jsonutil.h"
#include "model/specjson.h"
#include "group/ghash.h"
#include "group/gjson.h"
#include "group/gspec.h"
#include "group/vanilla.h"

#define FIELD_MAX 192 /* a field path in messages */

static const char *const prop_names[] = { "Init", "Tags", "Attachments",
	"InitScriptTemplateURL", NULL };
static const char *const att_names[] = { "ID", "Type", NULL };

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

bool
vanilla_is_name(const char *lookup)
{
	return strcmp(lookup, VANILLA_NAME) == 0 ||
	    strcmp(lookup, VANILLA_NAME_V0) == 0;
}

bool
vanilla_reserved_tag(const char *key)
{
	return strcmp(key, GSPEC_TAG_GROUP) == 0 ||
	    strcmp(key, GSPEC_TAG_LOGICAL_ID) == 0 ||
	    strcmp(key, GHASH_TAG_CONFIG_SHA) == 0 ||
	    strcmp(key, GHASH_TAG_CONFIG_HASH) == 0;
}

/* A string without NUL bytes and at most max bytes long. */
static const char *
str_of(const struct gjson *v, const char *field, size_t max, struct err *err)
{
	char got[JGOT_MAX];
	if (v == NULL || v->j_type != GJSON_STRING) {
		err_set(err, EIK_INVAL, "%s must be a string, got %s", field,
		    gjson_got(v, got));
		return NULL;
	}
	if (strlen(v->j_str) != v->j_len) {
		err_set(err, EIK_INVAL,
		    "%s contains a NUL byte (\\u0000), which is not allowed",
		    field);
		return NULL;
	}
	if (v->j_len > max) {
		err_set(err, EIK_INVAL,
		    "%s is %zu bytes long; the limit is %zu", field, v->j_len,
		    max);
		return NULL;
	}
	return v->j_str;
}

static int
parse_init(const struct gjson *v, const char *field, struct vanilla_props *vp,
    struct err *err)
{
	char got[JGOT_MAX];
	char name[FIELD_MAX];
	size_t total = 0;

	if (gjson_is_null(v))
		return 0;
	if (v->j_type != GJSON_ARRAY) {
		err_set(err, EIK_INVAL,
		    "%s must be an array of strings, one per line of the "
		    "init script, got %s",
		    field, gjson_got(v, got));
		return -1;
	}
	if (v->j_n == 0)
		return 0;
	vp->vp_init = calloc(v->j_n, sizeof(char *));
	if (vp->vp_init == NULL) {
		oom(err);
		return -1;
	}
	for (size_t i = 0; i < v->j_n; i++) {
		const char *s;

		(void)snprintf(name, sizeof(name), "%s[%zu]", field, i);
		s = str_of(&v->j_el[i], name, INIT_MAX_SIZE, err);
		if (s == NULL)
			return -1;
		total += v->j_el[i].j_len + (i > 0);
		if (total > INIT_MAX_SIZE) {
			err_set(err, EIK_INVAL,
			    "%s joins to more than %d bytes; ship large files "
			    "in the image or fetch them from the script",
			    field, INIT_MAX_SIZE);
			return -1;
		}
		vp->vp_init[i] = strdup(s);
		if (vp->vp_init[i] == NULL) {
			oom(err);
			return -1;
		}
		vp->vp_n_init = i + 1;
	}
	return 0;
}

static int
parse_tags(const struct gjson *v, const char *field, struct vanilla_props *vp,
    struct err *err)
{
	char got[JGOT_MAX];
	char name[FIELD_MAX + RPC_MAX_TAG_KEY];

	if (gjson_is_null(v))
		return 0;
	if (v->j_type != GJSON_OBJECT) {
		err_set(err, EIK_INVAL,
		    "%s must be an object of string values, got %s", field,
		    gjson_got(v, got));
		return -1;
	}
	for (size_t i = 0; i < v->j_n; i++) {
		const struct gjson_member *m = &v->j_mem[i];
		const char *s;

		if (m->m_klen == 0 || m->m_klen > RPC_MAX_TAG_KEY ||
		    strlen(m->m_key) != m->m_klen) {
			err_set(err, EIK_INVAL,
			    "%s has a key that is empty, longer than %d bytes "
			    "or contains a NUL byte",
			    field, RPC_MAX_TAG_KEY);
			return -1;
		}
		(void)snprintf(
		    name, sizeof(name), "%s[\"%s\"]", field, m->m_key);
		if (vanilla_reserved_tag(m->m_key)) {
			err_set(err, EIK_INVAL,
			    "%s is set by the group on every member; a flavor "
			    "tag would replace it and hide members from their "
			    "group: remove it",
			    name);
			return -1;
		}
		if ((s = str_of(&m->m_val, name, RPC_MAX_TAG_VALUE, err)) ==
		    NULL)
			return -1;
		if (tags_set(&vp->vp_tags, m->m_key, s) == -1) {
			oom(err);
			return -1;
		}
	}
	/* Room for the group's own three. */
	if (vp->vp_tags.tg_n > RPC_MAX_TAGS - 3) {
		err_set(err, EIK_INVAL, "%s has %zu tags; the limit is %d",
		    field, vp->vp_tags.tg_n, RPC_MAX_TAGS - 3);
		return -1;
	}
	return 0;
}

/* Unknown keys of obj: refused (strict) with a hint, or ignored. */
static int
check_keys(const struct gjson *obj, const char *field, const char *const *names,
    bool compat, struct err *err)
{
	for (size_t i = 0; !compat && i < obj->j_n; i++) {
		const char *k = obj->j_mem[i].m_key, *hint;
		bool known = false;

		for (size_t j = 0; names[j] != NULL && !known; j++)
			known = strcasecmp(k, names[j]) == 0;
		if (known)
			continue;
		hint = suggest_name(k, names);
		if (hint != NULL)
			err_set(err, EIK_INVAL,
			    "%s has an unknown key \"%s\"; did you mean "
			    "\"%s\"?",
			    field, k, hint);
		else
			err_set(err, EIK_INVAL,
			    "%s has an unknown key \"%s\"; the vanilla flavor "
			    "knows %s",
			    field, k,
			    names == att_names ? "ID and Type"
					       : "Init, Tags and Attachments");
		return -1;
	}
	return 0;
}

static int
parse_att(const struct gjson *a, const char *field, bool compat,
    struct attachment *out, struct err *err)
{
	char got[JGOT_MAX];
	char name[FIELD_MAX + 8];
	const char *s[2];

	if (a->j_type != GJSON_OBJECT) {
		err_set(err, EIK_INVAL,
		    "%s must be an object {\"ID\": ..., \"Type\": ...}, got %s",
		    field, gjson_got(a, got));
		return -1;
	}
	if (check_keys(a, field, att_names, compat, err) == -1)
		return -1;
	for (int k = 0; k < 2; k++) {
		const struct gjson *v = gjson_get(a, att_names[k]);

		(void)snprintf(
		    name, sizeof(name), "%s.%s", field, att_names[k]);
		s[k] = "";
		if (!gjson_is_null(v) &&
		    (s[k] = str_of(v, name, RPC_MAX_TAG_VALUE, err)) == NULL)
			return -1;
	}
	out->a_id = strdup(s[0]);
	out->a_type = strdup(s[1]);
	if (out->a_id == NULL || out->a_type == NULL) {
		oom(err);
		return -1;
	}
	return 0;
}

static int
parse_atts(const struct gjson *v, const char *field, bool compat,
    struct vanilla_props *vp, struct err *err)
{
	char got[JGOT_MAX];
	char name[FIELD_MAX];

	if (gjson_is_null(v))
		return 0;
	if (v->j_type != GJSON_ARRAY) {
		err_set(err, EIK_INVAL,
		    "%s must be an array of {\"ID\": ..., \"Type\": ...}, got "
		    "%s",
		    field, gjson_got(v, got));
		return -1;
	}
	if (v->j_n > RPC_MAX_ATTACHMENTS) {
		err_set(err, EIK_INVAL, "%s has %zu entries; the limit is %d",
		    field, v->j_n, RPC_MAX_ATTACHMENTS);
		return -1;
	}
	if (v->j_n == 0)
		return 0;
	vp->vp_att = calloc(v->j_n, sizeof(*vp->vp_att));
	if (vp->vp_att == NULL) {
		oom(err);
		return -1;
	}
	vp->vp_n_att = v->j_n;
	for (size_t i = 0; i < v->j_n; i++) {
		(void)snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (parse_att(&v->j_el[i], name, compat, &vp->vp_att[i], err) ==
		    -1)
			return -1;
	}
	return 0;
}

int
vanilla_parse(const struct gjson *props, const char *field, bool compat,
    struct vanilla_props *vp, struct err *err)
{
	char got[JGOT_MAX];
	char name[FIELD_MAX];
	const struct gjson *url;

	if (gjson_is_null(props))
		return 0;
	if (props->j_type != GJSON_OBJECT) {
		err_set(err, EIK_INVAL,
		    "%s must be an object {\"Init\": [...], \"Tags\": {...}, "
		    "\"Attachments\": [...]}, got %s",
		    field, gjson_got(props, got));
		return -1;
	}
	if (check_keys(props, field, prop_names, compat, err) == -1)
		return -1;
	url = gjson_get(props, "InitScriptTemplateURL");
	if (!gjson_is_null(url) &&
	    !(url->j_type == GJSON_STRING && url->j_len == 0)) {
		err_set(err, EIK_INVAL,
		    "%s.InitScriptTemplateURL is not supported by the built-in "
		    "vanilla flavor (it would fetch and render a template): "
		    "put the script's lines in Init",
		    field);
		return -1;
	}
	(void)snprintf(name, sizeof(name), "%s.Init", field);
	if (parse_init(gjson_get(props, "Init"), name, vp, err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.Tags", field);
	if (parse_tags(gjson_get(props, "Tags"), name, vp, err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.Attachments", field);
	return parse_atts(
	    gjson_get(props, "Attachments"), name, compat, vp, err);
}

void
vanilla_props_free(struct vanilla_props *vp)
{
	for (size_t i = 0; i < vp->vp_n_init; i++)
		free(vp->vp_init[i]);
	free(vp->vp_init);
	tags_free(&vp->vp_tags);
	for (size_t i = 0; i < vp->vp_n_att; i++) {
		free(vp->vp_att[i].a_id);
		free(vp->vp_att[i].a_type);
	}
	free(vp->vp_att);
	memset(vp, 0, sizeof(*vp));
}

/* Init: the lines joined with "\n". */
static char *
join_init(const struct vanilla_props *vp)
{
	size_t len = 0, w = 0;
	char *s;

	for (size_t i = 0; i < vp->vp_n_init; i++)
		len += strlen(vp->vp_init[i]) + 1;
	s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < vp->vp_n_init; i++) {
		size_t n = strlen(vp->vp_init[i]);

		if (i > 0)
			s[w++] = '\n';
		memcpy(s + w, vp->vp_init[i], n);
		w += n;
	}
	s[w] = '\0';
	return s;
}

/* Tags: the group's, then the flavor's over them (InfraKit's order). */
static int
member_tags(const struct vanilla_props *vp, const struct vanilla_member *m,
    struct tags *t, struct err *err)
{
	for (size_t i = 0; i < vp->vp_tags.tg_n; i++) {
		if (vanilla_reserved_tag(vp->vp_tags.tg_v[i].t_key)) {
			err_set(err, EIK_INVAL,
			    "the flavor tag \"%s\" is set by the group; remove "
			    "it from Spec.Properties.Flavor.Properties.Tags",
			    vp->vp_tags.tg_v[i].t_key);
			return -1;
		}
	}
	if (tags_set(t, GSPEC_TAG_GROUP, m->vm_group) == -1 ||
	    (m->vm_logical_id != NULL &&
		tags_set(t, GSPEC_TAG_LOGICAL_ID, m->vm_logical_id) == -1) ||
	    tags_set(t, m->vm_hash_tag, m->vm_hash) == -1 ||
	    tags_merge(t, &vp->vp_tags) == -1) {
		oom(err);
		return -1;
	}
	return 0;
}

/* The Instance Properties through the instance plugin's own parser. */
static int
member_props(const char *text, struct inst_spec *out, struct err *err)
{
	const char *field = "Spec.Properties.Instance.Properties";
	json_error_t je;
	json_t *v = NULL;
	int rc = -1;

	if (text != NULL) {
		v = json_loads(
		    text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		if (v == NULL) {
			err_set(err, EIK_INVAL, "%s: %s", field, je.text);
			return -1;
		}
	}
	if (specjson_props(v, field, &out->s_props, err) == -1)
		goto out;
	out->s_properties_json = jdump(v);
	if (out->s_properties_json == NULL) {
		oom(err);
		goto out;
	}
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int
vanilla_prepare(const struct vanilla_props *vp, const struct vanilla_member *m,
    struct inst_spec *out, struct err *err)
{
	if (member_props(m->vm_props, out, err) == -1 ||
	    member_tags(vp, m, &out->s_tags, err) == -1)
		return -1;
	out->s_init = join_init(vp);
	if (out->s_init == NULL)
		goto oom;
	if (m->vm_logical_id != NULL &&
	    (out->s_logical_id = strdup(m->vm_logical_id)) == NULL)
		goto oom;
	if (vp->vp_n_att > 0) {
		out->s_att = calloc(vp->vp_n_att, sizeof(*out->s_att));
		if (out->s_att == NULL)
			goto oom;
		out->s_n_att = vp->vp_n_att;
		for (size_t i = 0; i < vp->vp_n_att; i++) {
			out->s_att[i].a_id = strdup(vp->vp_att[i].a_id);
			out->s_att[i].a_type = strdup(vp->vp_att[i].a_type);
			if (out->s_att[i].a_id == NULL ||
			    out->s_att[i].a_type == NULL)
				goto oom;
		}
	}
	return 0;
oom:
	oom(err);
	return -1;
}
