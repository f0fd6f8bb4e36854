/*
 * Records as JSON. See record.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/jsonutil.h"
#include "model/specjson.h"
#include "store/record.h"
#include "util/compat.h"
#include "util/err.h"

static const char *const state_names[] = {
	[ST_PROVISIONING] = "provisioning",
	[ST_RUNNING] = "running",
	[ST_DESTROYING] = "destroying",
	[ST_FAILED] = "failed",
};

const char *
inst_state_name(enum inst_state s)
{
	return state_names[s];
}

static int
state_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]);
	     i++)
		if (strcmp(s, state_names[i]) == 0)
			return (int)i;
	return -1;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

char *
record_to_text(const struct record *r)
{
	json_t *o;
	char *text;

	if (r->r_removed)
		o = json_pack("{s:i,s:s,s:I,s:b}", "Version", RECORD_VERSION,
		    "ID", r->r_id, "Seq", (json_int_t)r->r_seq, "Removed", 1);
	else
		o = json_pack("{s:i,s:s,s:I,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:I,"
			      "s:o,s:o,s:o,s:o,s:i,s:i}",
		    "Version", RECORD_VERSION, "ID", r->r_id, "Seq",
		    (json_int_t)r->r_seq, "Backend", r->r_backend, "State",
		    inst_state_name(r->r_state), "Spec",
		    specjson_spec_new(&r->r_spec), "Tags",
		    jtags_new(&r->r_tags), "LogicalID",
		    str_or_null(r->r_spec.s_logical_id), "Template",
		    str_or_null(r->r_template), "CreatedAt",
		    (json_int_t)r->r_created_ms, "UpdatedAt",
		    (json_int_t)r->r_updated_ms, "Error",
		    str_or_null(r->r_error), "Reason", str_or_null(r->r_reason),
		    "IP", str_or_null(r->r_ip), "MAC", str_or_null(r->r_mac),
		    "Attempts", (int)r->r_attempts, "SSHPort",
		    (int)r->r_ssh_port);
	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

static void
note_add(char *note, size_t len, const char *what)
{
	if (note == NULL || len == 0)
		return;
	if (note[0] != '\0')
		(void)strlcat(note, "; ", len);
	(void)strlcat(note, what, len);
}

/*
 * The tolerant Spec reader: today's strict decoder first; when it refuses
 * (a property this release does not know, a value outside today's range),
 * the lenient one (model/specjson.h), and a note saying why.
 */
static int
lenient_spec(const json_t *v, struct inst_spec *s, char *note, size_t notelen,
    struct err *err)
{
	struct err strict;

	err_clear(&strict);
	if (specjson_spec(v, "Spec", s, &strict) == 0)
		return 0;
	inst_spec_free(s);
	note_add(note, notelen, strict.msg);
	return specjson_spec_lenient(v, "Spec", s, err);
}

static int
opt_dup(const json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return 0; /* absent, null or odd: tolerated as absent */
	*out = strdup(json_string_value(v));
	return *out == NULL ? -1 : 0;
}

static int64_t
opt_int(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* ID, Version and the tombstone flag: what every entry has. */
static int
read_head(const json_t *o, struct record *r, char *note, size_t notelen,
    struct err *err)
{
	json_t *v = json_object_get(o, "Version");
	const char *s;

	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		err_set(err, EIK_IO, "no record Version");
		return -1;
	}
	if (json_integer_value(v) > RECORD_VERSION)
		note_add(note, notelen,
		    "written by a newer release (record version is newer)");
	s = jstr(json_object_get(o, "ID"), "ID", ID_MAX - 1, err);
	if (s == NULL)
		return -1;
	(void)strlcpy(r->r_id, s, sizeof(r->r_id));
	r->r_seq = (uint64_t)opt_int(o, "Seq");
	r->r_removed = json_is_true(json_object_get(o, "Removed"));
	return 0;
}

static int
read_body(const json_t *o, struct record *r, char *note, size_t notelen,
    struct err *err)
{
	const char *s;
	int st;

	s = jstr(json_object_get(o, "Backend"), "Backend",
	    sizeof(r->r_backend) - 1, err);
	if (s == NULL)
		return -1;
	(void)strlcpy(r->r_backend, s, sizeof(r->r_backend));
	s = jstr(json_object_get(o, "State"), "State", 32, err);
	if (s == NULL)
		return -1;
	st = state_parse(s);
	if (st < 0) {
		err_set(err, EIK_IO, "unknown State \"%s\"", s);
		return -1;
	}
	r->r_state = (enum inst_state)st;
	if (lenient_spec(json_object_get(o, "Spec"), &r->r_spec, note, notelen,
		err) == -1)
		return -1;
	if (jtags(json_object_get(o, "Tags"), "Tags", &r->r_tags, err) == -1) {
		/* Unreadable tags would lose the group membership: refuse. */
		return -1;
	}
	r->r_created_ms = opt_int(o, "CreatedAt");
	r->r_updated_ms = opt_int(o, "UpdatedAt");
	r->r_attempts = (unsigned)opt_int(o, "Attempts");
	{
		int64_t port = opt_int(o, "SSHPort");

		r->r_ssh_port = port > 0 && port < 65536 ? (unsigned)port : 0;
	}
	if (opt_dup(o, "Template", &r->r_template) == -1 ||
	    opt_dup(o, "Error", &r->r_error) == -1 ||
	    opt_dup(o, "Reason", &r->r_reason) == -1 ||
	    opt_dup(o, "IP", &r->r_ip) == -1 ||
	    opt_dup(o, "MAC", &r->r_mac) == -1) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

int
record_from_text(const char *text, size_t len, struct record *r,
    char *lenient_note, size_t notelen, struct err *err)
{
	json_error_t je;
	json_t *o;
	int rc = -1;

	if (lenient_note != NULL && notelen > 0)
		lenient_note[0] = '\0';
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		err_set(err, EIK_IO, "not valid JSON: %s (line %d)", je.text,
		    je.line);
		return -1;
	}
	if (!json_is_object(o)) {
		err_set(err, EIK_IO, "not a JSON object");
		goto out;
	}
	if (read_head(o, r, lenient_note, notelen, err) == -1)
		goto out;
	if (!r->r_removed && read_body(o, r, lenient_note, notelen, err) == -1)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void
record_free(struct record *r)
{
	inst_spec_free(&r->r_spec);
	tags_free(&r->r_tags);
	free(r->r_template);
	free(r->r_error);
	free(r->r_reason);
	free(r->r_ip);
	free(r->r_mac);
	memset(r, 0, sizeof(*r));
}

static int
dup_opt(char **dst, const char *src)
{
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

int
record_copy(struct record *dst, const struct record *src)
{
	*dst = *src;
	memset(&dst->r_spec, 0, sizeof(dst->r_spec));
	memset(&dst->r_tags, 0, sizeof(dst->r_tags));
	dst->r_template = dst->r_error = dst->r_reason = NULL;
	dst->r_ip = dst->r_mac = NULL;
	if (inst_spec_copy(&dst->r_spec, &src->r_spec) == -1 ||
	    tags_copy(&dst->r_tags, &src->r_tags) == -1 ||
	    dup_opt(&dst->r_template, src->r_template) == -1 ||
	    dup_opt(&dst->r_error, src->r_error) == -1 ||
	    dup_opt(&dst->r_reason, src->r_reason) == -1 ||
	    dup_opt(&dst->r_ip, src->r_ip) == -1 ||
	    dup_opt(&dst->r_mac, src->r_mac) == -1) {
		record_free(dst);
		return -1;
	}
	return 0;
}
