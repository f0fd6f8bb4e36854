/*
 * The instance Properties, JSON to struct inst_props: one entry per
 * property in prop_decs[] (its name and its decoder, which does both the
 * strict and the lenient mode), walked once over the object's members.
 * See specjson.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/suggest.h"
#include "model/jsonutil.h"
#include "model/specjson.h"
#include "model/specjson_int.h"

const char *const specjson_prop_names[] = { "VMX", "MemorySizeMBs", "NumCPUs",
	"LaunchGUI", "Tags", "GuestInit", "SSHAuthorizedKeys", "Clone", "Note",
	"AttachmentSizeGB", "SSHUser", NULL };

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

/* How to write v as the whole number it means ("512" or 512.0), or "". */
static const char *
int_hint(const json_t *v, char hint[64])
{
	const char *s = json_string_value(v);
	double d = json_real_value(v);

	hint[0] = '\0';
	if (s != NULL && s[0] != '\0' && strlen(s) < 20 &&
	    strspn(s, "0123456789") == json_string_length(v))
		(void)snprintf(hint, 64, "; write %s without quotes", s);
	else if (json_is_real(v) && jreal_whole(d) && d > -1e18 && d < 1e18)
		(void)snprintf(hint, 64, "; write %lld", (long long)d);
	return hint;
}

static int
prop_int(const json_t *v, const char *field, unsigned min, unsigned max,
    unsigned *out, struct err *err)
{
	char got[JGOT_MAX], hint[64];
	json_int_t n;

	if (!json_is_integer(v)) {
		err_set(err, EIK_INVAL,
		    "%s must be a whole number between %u and %u, got %s%s",
		    field, min, max, jgot(v, got), int_hint(v, hint));
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

/* See specjson_int.h. */
const char *
specjson_lenient_str(const json_t *v)
{
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
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

/* ---- one decoder per property ----------------------------------------- */

struct prop_dec;

/* Decodes value v of the property d, named name in messages, into p. */
typedef int (*prop_decode_fn)(const struct prop_dec *d, const json_t *v,
    const char *name, unsigned flags, struct inst_props *p, struct err *err);

struct prop_dec {
	const char *pd_name; /* canonical spelling */
	prop_decode_fn pd_decode;
	unsigned pd_min, pd_max;       /* whole numbers */
	int (*pd_parse)(const char *); /* names: -1 when unknown */
	const char *pd_choices;	       /* names, for messages */
};

/*
 * VMX: the template name. Lenient: a name that is not a string, too long
 * for p_vmx or not a plain name (a path: "../x", "a/b") is dropped, leaving
 * no template: a path would reach outside --vm-lib, and a cut name would
 * name another template.
 */
static int
dec_vmx(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	bool lenient = flags & SPECJSON_LENIENT;
	const char *s;

	(void)d;
	s = jstr(v, name, TEMPLATE_NAME_MAX, lenient ? NULL : err);
	if (s == NULL) {
		if (lenient)
			return 0;
		if (err != NULL)
			err->code = EIK_INVAL;
		return -1;
	}
	if (check_template_name(s, name, lenient ? NULL : err) == -1) {
		if (!lenient)
			return -1;
		p->p_vmx[0] = '\0';
		return 0;
	}
	(void)strlcpy(p->p_vmx, s, sizeof(p->p_vmx));
	return 0;
}

/*
 * A whole number in [pd_min, pd_max]. Lenient: any integer that fits an
 * unsigned is kept as it is; a negative one or one beyond UINT_MAX would
 * wrap to an arbitrary value, so it is clamped into [pd_min, pd_max]; other
 * types leave the default.
 */
static int
dec_uint(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, unsigned *out, struct err *err)
{
	json_int_t n;

	if (!(flags & SPECJSON_LENIENT))
		return prop_int(v, name, d->pd_min, d->pd_max, out, err);
	if (!json_is_integer(v))
		return 0;
	n = json_integer_value(v);
	if (n < 0)
		*out = d->pd_min;
	else if ((unsigned long long)n > UINT_MAX)
		*out = d->pd_max;
	else
		*out = (unsigned)n;
	return 0;
}

static int
dec_memsize(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	if (dec_uint(d, v, name, flags, &p->p_memsize_mb, err) == -1)
		return -1;
	if (!(flags & SPECJSON_LENIENT) && p->p_memsize_mb % 4 != 0) {
		err_set(err, EIK_INVAL,
		    "%s is %u; VMware needs a multiple of 4 (e.g. %u or %u)",
		    name, p->p_memsize_mb, p->p_memsize_mb / 4 * 4,
		    p->p_memsize_mb / 4 * 4 + 4);
		return -1;
	}
	return 0;
}

static int
dec_numcpus(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	return dec_uint(d, v, name, flags, &p->p_numcpus, err);
}

static int
dec_launch_gui(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	char got[JGOT_MAX];

	(void)d;
	if (json_is_boolean(v))
		p->p_launch_gui = json_is_true(v);
	else if (!(flags & SPECJSON_LENIENT)) {
		err_set(err, EIK_INVAL, "%s must be true or false, got %s",
		    name, jgot(v, got));
		return -1;
	}
	return 0;
}

/* See specjson_int.h. */
int
specjson_lenient_tags(const json_t *v, struct tags *t, struct err *err)
{
	const char *k, *s;
	json_t *val;

	if (!json_is_object(v))
		return 0;
	json_object_foreach((json_t *)v, k, val)
	{
		if ((s = specjson_lenient_str(val)) != NULL &&
		    tags_set(t, k, s) == -1) {
			oom(err);
			return -1;
		}
	}
	return 0;
}

static int
dec_tags(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	(void)d;
	if (flags & SPECJSON_LENIENT)
		return specjson_lenient_tags(v, &p->p_tags, err);
	if (jtags(v, name, &p->p_tags, err) == -1) {
		if (err != NULL)
			err->code = EIK_INVAL;
		return -1;
	}
	return 0;
}

/* One of d's names into *out. Lenient: a name this release does not know
 * cannot be represented, so it gives -1 (the caller keeps the default). */
static int
dec_name(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, int *out, struct err *err)
{
	const char *s;

	if (!(flags & SPECJSON_LENIENT))
		return prop_enum(v, name, d->pd_parse, d->pd_choices, out, err);
	s = specjson_lenient_str(v);
	*out = s != NULL ? d->pd_parse(s) : -1;
	return 0;
}

static int
dec_guest_init(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	int g;

	if (dec_name(d, v, name, flags, &g, err) == -1)
		return -1;
	if (g >= 0)
		p->p_guest_init = (enum guest_init)g;
	return 0;
}

static int
dec_clone(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	int c;

	if (dec_name(d, v, name, flags, &c, err) == -1)
		return -1;
	if (c >= 0)
		p->p_clone = (enum clone_mode)c;
	return 0;
}

/*
 * Key i of the SSHAuthorizedKeys array a: a borrowed string, or NULL (err
 * set when strict). One line, not empty; lenient keeps any length.
 */
static const char *
ssh_key(const json_t *a, size_t i, const char *name, unsigned flags,
    struct err *err)
{
	char en[160];
	const char *s;

	(void)snprintf(en, sizeof(en), "%s[%zu]", name, i);
	if (flags & SPECJSON_LENIENT)
		s = specjson_lenient_str(json_array_get(a, i));
	else {
		s = jstr(json_array_get(a, i), en, RPC_MAX_SSH_KEY, err);
		if (s == NULL) {
			if (err != NULL)
				err->code = EIK_INVAL;
			return NULL;
		}
	}
	/* A line break would add lines of its own to authorized_keys. */
	if (s != NULL &&
	    (s[0] == '\0' || strchr(s, '\n') != NULL ||
		strchr(s, '\r') != NULL)) {
		if (!(flags & SPECJSON_LENIENT))
			err_set(err, EIK_INVAL,
			    "%s must be one non-empty public key line without "
			    "line breaks",
			    en);
		return NULL;
	}
	return s;
}

static void
free_keys(struct inst_props *p)
{
	for (size_t i = 0; i < p->p_n_ssh_keys; i++)
		free(p->p_ssh_keys[i]);
	free(p->p_ssh_keys);
	p->p_ssh_keys = NULL;
	p->p_n_ssh_keys = 0;
}

/*
 * SSHAuthorizedKeys: an array of key lines (null: none). Lenient: no limit
 * on the count, and keys that are not one non-empty line (a line break
 * would inject lines into authorized_keys) are dropped. A repeated property
 * (keys differing in case) replaces the earlier keys.
 */
static int
dec_ssh_keys(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	bool lenient = flags & SPECJSON_LENIENT;
	char got[JGOT_MAX];
	size_t n;

	(void)d;
	if (json_is_null(v) || (lenient && !json_is_array(v)))
		return 0;
	if (!json_is_array(v)) {
		err_set(err, EIK_INVAL,
		    "%s must be an array of public key lines (\"ssh-ed25519 "
		    "AAAA... user@host\"), got %s",
		    name, jgot(v, got));
		return -1;
	}
	n = json_array_size(v);
	if (!lenient && n > RPC_MAX_SSH_KEYS) {
		err_set(err, EIK_INVAL, "%s has %zu keys; the limit is %d",
		    name, n, RPC_MAX_SSH_KEYS);
		return -1;
	}
	free_keys(p);
	p->p_ssh_keys = calloc(n + 1, sizeof(char *));
	if (p->p_ssh_keys == NULL) {
		oom(err);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = ssh_key(v, i, name, flags, err);

		if (s == NULL) {
			if (lenient)
				continue;
			return -1;
		}
		p->p_ssh_keys[p->p_n_ssh_keys] = strdup(s);
		if (p->p_ssh_keys[p->p_n_ssh_keys] == NULL) {
			oom(err);
			return -1;
		}
		p->p_n_ssh_keys++;
	}
	return 0;
}

/* AttachmentSizeGB: the size of the disks an instance's Attachments
 * create on first use (an existing disk keeps its size). */
static int
dec_att_size(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	return dec_uint(d, v, name, flags, &p->p_att_size_gb, err);
}

/* Note: free text, as in InfraKit's own examples. */
static int
dec_note(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	char got[JGOT_MAX];

	(void)d;
	(void)p;
	if (!(flags & SPECJSON_LENIENT) && !json_is_string(v) &&
	    !json_is_null(v)) {
		err_set(err, EIK_INVAL,
		    "%s is a free-text comment and must be a string, got %s",
		    name, jgot(v, got));
		return -1;
	}
	return 0;
}

/* SSHUser: the user `ssh` logs in as, instead of the template's default
 * (guestinfo.infrakit.ssh-user): a user name as useradd takes it. */
static int
dec_ssh_user(const struct prop_dec *d, const json_t *v, const char *name,
    unsigned flags, struct inst_props *p, struct err *err)
{
	const char *s = json_string_value(v);
	char got[JGOT_MAX];
	size_t n = s != NULL ? strlen(s) : 0;
	bool ok = n >= 1 && n <= SSH_USER_MAX && s[0] != '-' &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-") == n;

	(void)d;
	p->p_ssh_user[0] = '\0';
	if (ok)
		(void)strlcpy(p->p_ssh_user, s, sizeof(p->p_ssh_user));
	if (ok || json_is_null(v) || (flags & SPECJSON_LENIENT))
		return 0;
	err_set(err, EIK_INVAL,
	    "%s must be a user name (1 to %d of A-Z a-z 0-9 . _ -, not "
	    "starting with -), got %s",
	    name, SSH_USER_MAX, jgot(v, got));
	return -1;
}

/* In the order of specjson_prop_names. */
static const struct prop_dec prop_decs[] = {
	{ .pd_name = "VMX", .pd_decode = dec_vmx },
	{ .pd_name = "MemorySizeMBs",
	    .pd_decode = dec_memsize,
	    .pd_min = MEMSIZE_MIN_MB,
	    .pd_max = MEMSIZE_MAX_MB },
	{ .pd_name = "NumCPUs",
	    .pd_decode = dec_numcpus,
	    .pd_min = 1,
	    .pd_max = NUMCPUS_MAX },
	{ .pd_name = "LaunchGUI", .pd_decode = dec_launch_gui },
	{ .pd_name = "Tags", .pd_decode = dec_tags },
	{ .pd_name = "GuestInit",
	    .pd_decode = dec_guest_init,
	    .pd_parse = guest_init_parse,
	    .pd_choices = "\"auto\", \"guestinfo\", \"cidata\" or \"none\"" },
	{ .pd_name = "SSHAuthorizedKeys", .pd_decode = dec_ssh_keys },
	{ .pd_name = "Clone",
	    .pd_decode = dec_clone,
	    .pd_parse = clone_mode_parse,
	    .pd_choices = "\"auto\", \"linked\", \"full\" or \"copy\"" },
	{ .pd_name = "Note", .pd_decode = dec_note },
	{ .pd_name = "AttachmentSizeGB",
	    .pd_decode = dec_att_size,
	    .pd_min = 1,
	    .pd_max = ATTACH_SIZE_MAX_GB },
	{ .pd_name = "SSHUser", .pd_decode = dec_ssh_user },
};

#define N_PROPS (sizeof(prop_decs) / sizeof(prop_decs[0]))

/* The decoder of key (Go's case-insensitive match), or NULL. */
static const struct prop_dec *
prop_lookup(const char *key)
{
	for (size_t i = 0; i < N_PROPS; i++)
		if (strcasecmp(key, prop_decs[i].pd_name) == 0)
			return &prop_decs[i];
	return NULL;
}

static const char *
did_you_mean(const char *key)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	for (size_t i = 0; i < N_PROPS; i++) {
		size_t d = suggest_distance(key, prop_decs[i].pd_name);

		if (d < bestd) {
			bestd = d;
			best = prop_decs[i].pd_name;
		}
	}
	return best != NULL && suggest_is_typo(bestd, best) ? best : NULL;
}

static void
unknown_prop(const char *field, const char *key, struct err *err)
{
	const char *hint = did_you_mean(key);
	char known[256] = "";

	if (hint != NULL) {
		err_set(err, EIK_INVAL,
		    "%s has an unknown property \"%s\"; did you mean \"%s\"?",
		    field, key, hint);
		return;
	}
	for (size_t i = 0; i < N_PROPS; i++) {
		if (i > 0)
			(void)strlcat(known, i + 1 < N_PROPS ? ", " : " and ",
			    sizeof(known));
		(void)strlcat(known, prop_decs[i].pd_name, sizeof(known));
	}
	err_set(err, EIK_INVAL,
	    "%s has an unknown property \"%s\"; known ones are %s", field, key,
	    known);
}

void
specjson_props_defaults(struct inst_props *p)
{
	p->p_vmx[0] = '\0';
	p->p_memsize_mb = MEMSIZE_DEFAULT_MB;
	p->p_numcpus = NUMCPUS_DEFAULT;
	p->p_launch_gui = false;
	p->p_guest_init = GUEST_INIT_AUTO;
	p->p_clone = CLONE_UNSET;
	p->p_att_size_gb = ATTACH_SIZE_DEFAULT_GB;
}

/* Walks the members of v once, each through its decoder. */
int
specjson_props_decode(const json_t *v, const char *field, unsigned flags,
    struct inst_props *p, struct err *err)
{
	char name[128], got[JGOT_MAX];
	const char *k;
	json_t *val;

	specjson_props_defaults(p);
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
		    field, jgot(v, got));
		return -1;
	}
	/* Names match ignoring case, as in Go; one property twice is
	 * refused (Go would silently take the last). */
	if (!(flags & SPECJSON_LENIENT) &&
	    jdup_names(v, field, specjson_prop_names, EIK_INVAL, err) == -1)
		return -1;
	json_object_foreach((json_t *)v, k, val)
	{
		const struct prop_dec *d = prop_lookup(k);

		if (d == NULL) {
			if (flags & SPECJSON_LENIENT)
				continue; /* kept in the verbatim JSON */
			unknown_prop(field, k, err);
			return -1;
		}
		(void)snprintf(name, sizeof(name), "%s.%s", field, d->pd_name);
		if (d->pd_decode(d, val, name, flags, p, err) == -1)
			return -1;
	}
	if (!(flags & SPECJSON_LENIENT) && p->p_vmx[0] == '\0') {
		err_set(err, EIK_INVAL,
		    "%s.VMX is missing: name the template to clone, e.g. "
		    "\"VMX\": \"alpine-3.4.4\" for "
		    "${vm-lib}/alpine-3.4.4.vmwarevm/alpine-3.4.4.vmx",
		    field);
		return -1;
	}
	return 0;
}

int
specjson_props(
    const json_t *v, const char *field, struct inst_props *p, struct err *err)
{
	return specjson_props_decode(v, field, 0, p, err);
}

int
specjson_props_lenient(
    const json_t *v, const char *field, struct inst_props *p, struct err *err)
{
	return specjson_props_decode(v, field, SPECJSON_LENIENT, p, err);
}
