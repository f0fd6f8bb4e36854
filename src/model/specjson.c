/*
 * InfraKit's instance.Spec and instance Properties, JSON to typed structs and
 * back. Used by the RPC layer (requests) and by the store (instance.json), so
 * a stored spec is read back by exactly the checks a request passes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "model/jsonutil.h"
#include "model/specjson.h"

const char *const specjson_prop_names[] = { "VMX", "MemorySizeMBs", "NumCPUs",
	"LaunchGUI", "Tags", "GuestInit", "SSHAuthorizedKeys", "Clone", "Note",
	NULL };

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

/* Levenshtein distance of two short strings, ignoring ASCII case. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) ==
				tolower((unsigned char)b[j - 1])
			    ? 0
			    : 1;
			size_t best = prev + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static const char *
did_you_mean(const char *key)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	for (size_t i = 0; specjson_prop_names[i] != NULL; i++) {
		size_t d = edit_distance(key, specjson_prop_names[i]);

		if (d < bestd) {
			bestd = d;
			best = specjson_prop_names[i];
		}
	}
	/* Close enough to be a typo: a third of the name, at least 2. */
	if (best != NULL &&
	    bestd <= (strlen(best) / 3 > 2 ? strlen(best) / 3 : 2))
		return best;
	return NULL;
}

static int
prop_int(const json_t *v, const char *field, unsigned min, unsigned max,
    unsigned *out, struct err *err)
{
	json_int_t n;

	if (!json_is_integer(v)) {
		err_set(err, EIK_INVAL,
		    "%s must be a whole number between %u and %u, got %s",
		    field, min, max, jtype(v));
		return -1;
	}
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max) {
		err_set(err, EIK_INVAL,
		    "%s is %lld; it must be between %u and %u", field,
		    (long long)n, min, max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int
prop_enum(const json_t *v, const char *field, int (*parse)(const char *),
    const char *choices, int *out, struct err *err)
{
	const char *s = jstr(v, field, 64, err);
	int r;

	if (s == NULL) {
		if (err != NULL)
			err->code = EIK_INVAL;
		return -1;
	}
	r = parse(s);
	if (r < 0) {
		err_set(err, EIK_INVAL, "%s is \"%s\"; use one of %s", field, s,
		    choices);
		return -1;
	}
	*out = r;
	return 0;
}

/*
 * A template name: the original rule maps "VMX": "alpine-3.4.4" to
 * ${vm-lib}/alpine-3.4.4.vmwarevm/alpine-3.4.4.vmx. It is a name, never a
 * path: no '/', '\', no leading dot (so no "." or ".."), no control bytes.
 */
static int
check_template_name(const char *s, const char *field, struct err *err)
{
	if (s[0] == '\0') {
		err_set(err, EIK_INVAL,
		    "%s is empty; give the name of a template in --vm-lib, "
		    "e.g. \"alpine-3.4.4\" for alpine-3.4.4.vmwarevm",
		    field);
		return -1;
	}
	if (s[0] == '.') {
		err_set(err, EIK_INVAL,
		    "%s \"%s\" starts with a dot; it must be a template name, "
		    "not a path",
		    field, s);
		return -1;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '/' || *p == '\\') {
			err_set(err, EIK_INVAL,
			    "%s \"%s\" contains '%c'; it must be a template "
			    "name in --vm-lib (e.g. \"alpine-3.4.4\"), not a "
			    "path",
			    field, s, *p);
			return -1;
		}
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			err_set(err, EIK_INVAL,
			    "%s contains a control character; use a plain "
			    "template name",
			    field);
			return -1;
		}
	}
	return 0;
}

int
specjson_props(
    const json_t *v, const char *field, struct inst_props *p, struct err *err)
{
	char name[128];
	const char *k;
	json_t *val;
	bool have_vmx = false;

	p->p_memsize_mb = MEMSIZE_DEFAULT_MB;
	p->p_numcpus = NUMCPUS_DEFAULT;
	p->p_launch_gui = false;
	p->p_guest_init = GUEST_INIT_AUTO;
	p->p_clone = CLONE_UNSET;
	if (v == NULL || json_is_null(v)) {
		err_set(err, EIK_INVAL,
		    "%s is missing: give the instance Properties, at least "
		    "{\"VMX\": \"<template name>\"}",
		    field);
		return -1;
	}
	if (!json_is_object(v)) {
		err_set(err, EIK_INVAL,
		    "%s must be an object such as {\"VMX\": \"alpine\"}, got %s",
		    field, jtype(v));
		return -1;
	}
	json_object_foreach((json_t *)v, k, val)
	{
		const char *canon = NULL;

		for (size_t i = 0; specjson_prop_names[i] != NULL; i++)
			if (strcasecmp(k, specjson_prop_names[i]) == 0)
				canon = specjson_prop_names[i];
		if (canon == NULL) {
			const char *hint = did_you_mean(k);

			if (hint != NULL)
				err_set(err, EIK_INVAL,
				    "%s has an unknown property \"%s\"; did "
				    "you mean \"%s\"?",
				    field, k, hint);
			else
				err_set(err, EIK_INVAL,
				    "%s has an unknown property \"%s\"; known "
				    "ones are VMX, MemorySizeMBs, NumCPUs, "
				    "LaunchGUI, Tags, GuestInit, "
				    "SSHAuthorizedKeys, Clone and Note",
				    field, k);
			return -1;
		}
		(void)snprintf(name, sizeof(name), "%s.%s", field, canon);
		if (strcmp(canon, "VMX") == 0) {
			const char *s = jstr(val, name, TEMPLATE_NAME_MAX, err);

			if (s == NULL) {
				if (err != NULL)
					err->code = EIK_INVAL;
				return -1;
			}
			if (check_template_name(s, name, err) == -1)
				return -1;
			(void)strlcpy(p->p_vmx, s, sizeof(p->p_vmx));
			have_vmx = true;
		} else if (strcmp(canon, "MemorySizeMBs") == 0) {
			if (prop_int(val, name, MEMSIZE_MIN_MB, MEMSIZE_MAX_MB,
				&p->p_memsize_mb, err) == -1)
				return -1;
			if (p->p_memsize_mb % 4 != 0) {
				err_set(err, EIK_INVAL,
				    "%s is %u; VMware needs a multiple of 4 "
				    "(e.g. %u or %u)",
				    name, p->p_memsize_mb,
				    p->p_memsize_mb / 4 * 4,
				    p->p_memsize_mb / 4 * 4 + 4);
				return -1;
			}
		} else if (strcmp(canon, "NumCPUs") == 0) {
			if (prop_int(val, name, 1, NUMCPUS_MAX, &p->p_numcpus,
				err) == -1)
				return -1;
		} else if (strcmp(canon, "LaunchGUI") == 0) {
			if (!json_is_boolean(val)) {
				err_set(err, EIK_INVAL,
				    "%s must be true or false, got %s", name,
				    jtype(val));
				return -1;
			}
			p->p_launch_gui = json_is_true(val);
		} else if (strcmp(canon, "Tags") == 0) {
			if (jtags(val, name, &p->p_tags, err) == -1) {
				if (err != NULL)
					err->code = EIK_INVAL;
				return -1;
			}
		} else if (strcmp(canon, "GuestInit") == 0) {
			int g;

			if (prop_enum(val, name, guest_init_parse,
				"\"auto\", \"guestinfo\", \"cidata\" or "
				"\"none\"",
				&g, err) == -1)
				return -1;
			p->p_guest_init = (enum guest_init)g;
		} else if (strcmp(canon, "Clone") == 0) {
			int c;

			if (prop_enum(val, name, clone_mode_parse,
				"\"auto\", \"linked\", \"full\" or \"copy\"",
				&c, err) == -1)
				return -1;
			p->p_clone = (enum clone_mode)c;
		} else if (strcmp(canon, "SSHAuthorizedKeys") == 0) {
			size_t n;

			if (json_is_null(val))
				continue;
			if (!json_is_array(val)) {
				err_set(err, EIK_INVAL,
				    "%s must be an array of public key lines "
				    "(\"ssh-ed25519 AAAA... user@host\"), got "
				    "%s",
				    name, jtype(val));
				return -1;
			}
			n = json_array_size(val);
			if (n > RPC_MAX_SSH_KEYS) {
				err_set(err, EIK_INVAL,
				    "%s has %zu keys; the limit is %d", name, n,
				    RPC_MAX_SSH_KEYS);
				return -1;
			}
			p->p_ssh_keys = calloc(n + 1, sizeof(char *));
			if (p->p_ssh_keys == NULL) {
				oom(err);
				return -1;
			}
			for (size_t i = 0; i < n; i++) {
				char en[160];
				const char *s;

				(void)snprintf(
				    en, sizeof(en), "%s[%zu]", name, i);
				s = jstr(json_array_get(val, i), en,
				    RPC_MAX_SSH_KEY, err);
				if (s == NULL) {
					if (err != NULL)
						err->code = EIK_INVAL;
					return -1;
				}
				if (s[0] == '\0' || strchr(s, '\n') != NULL ||
				    strchr(s, '\r') != NULL) {
					err_set(err, EIK_INVAL,
					    "%s must be one non-empty public "
					    "key line without line breaks",
					    en);
					return -1;
				}
				p->p_ssh_keys[i] = strdup(s);
				if (p->p_ssh_keys[i] == NULL) {
					oom(err);
					return -1;
				}
				p->p_n_ssh_keys = i + 1;
			}
		} else if (strcmp(canon, "Note") == 0) {
			/* Free text, as in InfraKit's own examples. */
			if (!json_is_string(val) && !json_is_null(val)) {
				err_set(err, EIK_INVAL,
				    "%s is a free-text comment and must be a "
				    "string, got %s",
				    name, jtype(val));
				return -1;
			}
		}
	}
	if (!have_vmx) {
		err_set(err, EIK_INVAL,
		    "%s.VMX is missing: name the template to clone, e.g. "
		    "\"VMX\": \"alpine-3.4.4\" for "
		    "${vm-lib}/alpine-3.4.4.vmwarevm/alpine-3.4.4.vmx",
		    field);
		return -1;
	}
	return 0;
}

static int
parse_attachments(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err)
{
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		err_set(err, EIK_PARAMS,
		    "%s must be null or an array of {\"ID\":..., \"Type\":...}, "
		    "got %s",
		    field, jtype(v));
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
		char en[128];
		const char *id, *type;

		(void)snprintf(en, sizeof(en), "%s[%zu]", field, i);
		if (!json_is_object(a)) {
			err_set(err, EIK_PARAMS,
			    "%s must be an object {\"ID\":..., \"Type\":...}, "
			    "got %s",
			    en, jtype(a));
			return -1;
		}
		if (jopt_str(a, "ID", en, RPC_MAX_TAG_VALUE, &id, err) == -1 ||
		    jopt_str(a, "Type", en, RPC_MAX_TAG_VALUE, &type, err) ==
			-1)
			return -1;
		s->s_att[i].a_id = strdup(id != NULL ? id : "");
		s->s_att[i].a_type = strdup(type != NULL ? type : "");
		if (s->s_att[i].a_id == NULL || s->s_att[i].a_type == NULL) {
			oom(err);
			return -1;
		}
	}
	return 0;
}

int
specjson_spec(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err)
{
	char name[128];
	json_t *props;
	const char *str;

	if (!json_is_object(v)) {
		err_set(err, EIK_PARAMS,
		    "%s must be an object {\"Properties\":..., \"Tags\":..., "
		    "\"Init\":..., \"LogicalID\":...}, got %s",
		    field, v == NULL ? "nothing" : jtype(v));
		return -1;
	}
	props = jget(v, "Properties");
	(void)snprintf(name, sizeof(name), "%s.Properties", field);
	if (specjson_props(props, name, &s->s_props, err) == -1)
		return -1;
	s->s_properties_json = jdump(props);
	if (s->s_properties_json == NULL) {
		oom(err);
		return -1;
	}
	(void)snprintf(name, sizeof(name), "%s.Tags", field);
	if (jtags(jget(v, "Tags"), name, &s->s_tags, err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.Init", field);
	if (json_is_string(jget(v, "Init")) &&
	    json_string_length(jget(v, "Init")) > INIT_MAX_SIZE) {
		err_set(err, EIK_INVAL,
		    "%s is %zu bytes; the limit is %d bytes: ship large files "
		    "in the image or fetch them from the script",
		    name, json_string_length(jget(v, "Init")), INIT_MAX_SIZE);
		return -1;
	}
	if (jopt_str(v, "Init", name, INIT_MAX_SIZE, &str, err) == -1)
		return -1;
	s->s_init = strdup(str != NULL ? str : "");
	if (s->s_init == NULL) {
		oom(err);
		return -1;
	}
	(void)snprintf(name, sizeof(name), "%s.LogicalID", field);
	if (jopt_str(v, "LogicalID", name, RPC_MAX_LOGICAL_ID, &str, err) == -1)
		return -1;
	if (str != NULL) {
		if (str[0] == '\0') {
			err_set(err, EIK_PARAMS,
			    "%s is empty; use null for an instance without a "
			    "LogicalID",
			    name);
			return -1;
		}
		for (const char *p = str; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				err_set(err, EIK_PARAMS,
				    "%s contains a control character", name);
				return -1;
			}
		s->s_logical_id = strdup(str);
		if (s->s_logical_id == NULL) {
			oom(err);
			return -1;
		}
	}
	(void)snprintf(name, sizeof(name), "%s.Attachments", field);
	return parse_attachments(jget(v, "Attachments"), name, s, err);
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
