/*
 * Group specs: decode (Go's rules), validate (InfraKit's order, then ours),
 * hash, serialise. See gspec.h and spec infrakit-group.md §1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/dur.h"
#include "util/err.h"
#include "util/suggest.h"
#include "model/jsonutil.h"
#include "group/gjson.h"
#include "group/gspec.h"

#define FIELD_MAX 128 /* a field path in messages */
#define KEYS_MAX 8    /* names of one schema object */

/* The schema: the keys of each object, and what they are called in
 * messages. */
static const char *const top_keys[] = { "ID", "Properties", NULL };
static const char *const props_keys[] = { "Allocation", "Instance", "Flavor",
	"Updating", "Recovery", NULL };
static const char *const alloc_keys[] = { "Size", "LogicalIDs", NULL };
static const char *const plugin_keys[] = { "Plugin", "Properties", NULL };
static const char *const plugin_ignored[] = { "Options", NULL };
static const char *const upd_keys[] = { "Count", "Duration",
	"SkipBeforeInstanceDestroy", "MaxUnavailable", "MaxSurge", NULL };
static const char *const rec_keys[] = { "RestartPolicy", "MaxFailures",
	"Backoff", "BackoffMax", NULL };
static const char *const no_keys[] = { NULL };

/* What decoding leaves for validation: the nodes it must still look at
 * while the document lives. */
struct dec {
	unsigned d_flags;
	const struct gjson_doc *d_doc;
	const struct gjson *d_plugin[2]; /* Instance, Flavor Plugin */
	const struct gjson *d_flavor_props;
};

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

/* "a, b and c" of a NULL-terminated list. */
static void
list_names(const char *const *names, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	while (names[n] != NULL)
		n++;
	for (size_t i = 0; i < n; i++)
		(void)snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i == 0	     ? ""
			: i + 1 == n ? " and "
				     : ", ",
		    names[i]);
}

static int
index_of(const char *k, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcasecmp(k, names[i]) == 0)
			return i;
	return -1;
}

/*
 * The keys of a schema object. Strict: an unknown key is refused with a
 * hint, and so is one key spelt two ways ("Size" and "size"). Compat:
 * both pass (unknown ones are ignored, the last spelling wins).
 */
static int
check_keys(const struct dec *d, const struct gjson *obj, const char *field,
    const char *const *names, const char *const *ignored, struct err *err)
{
	const char *seen[KEYS_MAX] = { NULL };
	char known[256];

	if (d->d_flags & GSPEC_COMPAT)
		return 0;
	for (size_t i = 0; i < obj->j_n; i++) {
		const char *k = obj->j_mem[i].m_key, *hint;
		int ix = index_of(k, names);

		if (ix >= 0 && seen[ix] != NULL) {
			err_set(err, EIK_INVAL,
			    "%s has both \"%s\" and \"%s\" (keys match "
			    "ignoring case): keep one",
			    field, seen[ix], k);
			return -1;
		}
		if (ix >= 0) {
			seen[ix] = k;
			continue;
		}
		if (index_of(k, ignored) >= 0)
			continue;
		hint = suggest_name(k, names);
		list_names(names, known, sizeof(known));
		if (hint != NULL)
			err_set(err, EIK_INVAL,
			    "%s has an unknown key \"%s\"; did you mean "
			    "\"%s\"?",
			    field, k, hint);
		else
			err_set(err, EIK_INVAL,
			    "%s has an unknown key \"%s\"; the known keys are "
			    "%s",
			    field, k, known);
		return -1;
	}
	return 0;
}

/* A schema object: absent or null → NULL and success (all defaults). */
static int
object_at(const struct dec *d, const struct gjson *v, const char *field,
    const char *shape, const char *const *names, const char *const *ignored,
    const struct gjson **out, struct err *err)
{
	char got[JGOT_MAX];
	*out = NULL;
	if (gjson_is_null(v))
		return 0;
	if (v->j_type != GJSON_OBJECT) {
		err_set(err, EIK_INVAL, "%s must be an object %s, got %s",
		    field, shape, gjson_got(v, got));
		return -1;
	}
	*out = v;
	return check_keys(d, v, field, names, ignored, err);
}

/* A non-negative integer at most max; absent or null keeps *out. */
static int
uint_at(const struct gjson *v, const char *field, uint64_t max, uint64_t *out,
    struct err *err)
{
	char got[JGOT_MAX];
	bool digits = v != NULL && v->j_type == GJSON_NUMBER &&
	    strspn(v->j_str, "0123456789") == v->j_len;

	if (gjson_is_null(v))
		return 0;
	if (gjson_uint(v, max, out) == 0)
		return 0;
	if (digits)
		err_set(err, EIK_INVAL, "%s is %s; the limit is %llu", field,
		    v->j_str, (unsigned long long)max);
	else
		err_set(err, EIK_INVAL, "%s must be an integer >= 0, got %s",
		    field, gjson_got(v, got));
	return -1;
}

static int
unsigned_at(const struct gjson *v, const char *field, unsigned max,
    unsigned *out, struct err *err)
{
	uint64_t n = *out;

	if (uint_at(v, field, max, &n, err) == -1)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* A string without NUL bytes; absent or null gives NULL. */
static int
str_at(const struct gjson *v, const char *field, const char *example,
    const char **out, struct err *err)
{
	char got[JGOT_MAX];
	*out = NULL;
	if (gjson_is_null(v))
		return 0;
	if (v->j_type != GJSON_STRING) {
		err_set(err, EIK_INVAL,
		    "%s must be a string such as %s, got %s", field, example,
		    gjson_got(v, got));
		return -1;
	}
	if (strlen(v->j_str) != v->j_len) {
		err_set(err, EIK_INVAL,
		    "%s contains a NUL byte (\\u0000), which is not allowed",
		    field);
		return -1;
	}
	*out = v->j_str;
	return 0;
}

/* A Go duration string, 0 .. GSPEC_DURATION_MAX_NS; absent keeps *ns. */
static int
duration_at(
    const struct gjson *v, const char *field, int64_t *ns, struct err *err)
{
	char got[JGOT_MAX];
	const char *s, *why;

	if (gjson_is_null(v))
		return 0;
	if (v->j_type != GJSON_STRING) {
		err_set(err, EIK_INVAL,
		    "%s must be a Go duration string such as \"30s\" or "
		    "\"1m30s\", got %s",
		    field, gjson_got(v, got));
		return -1;
	}
	s = v->j_str;
	if (dur_parse(s, GSPEC_DURATION_MAX_NS, ns, &why) == -1) {
		err_set(err, EIK_INVAL,
		    "%s \"%s\" %s; write a Go duration such as \"30s\", "
		    "\"1m30s\" or \"2h\" (units ns, us, ms, s, m, h; at most "
		    "24h)",
		    field, s, why);
		return -1;
	}
	if (*ns < 0) {
		err_set(err, EIK_INVAL, "%s \"%s\" is negative", field, s);
		return -1;
	}
	return 0;
}

static int
dec_lids(const struct gjson *v, struct group_spec *g, struct err *err)
{
	char got[JGOT_MAX];
	const char *field = "Spec.Properties.Allocation.LogicalIDs";
	char name[FIELD_MAX];

	if (gjson_is_null(v))
		return 0;
	if (v->j_type != GJSON_ARRAY) {
		err_set(err, EIK_INVAL,
		    "%s must be an array of strings (one per member) or null, "
		    "got %s",
		    field, gjson_got(v, got));
		return -1;
	}
	if (v->j_n > GSPEC_SIZE_MAX) {
		err_set(err, EIK_INVAL, "%s has %zu entries; the limit is %d",
		    field, v->j_n, GSPEC_SIZE_MAX);
		return -1;
	}
	if (v->j_n == 0)
		return 0;
	g->g_lids = calloc(v->j_n, sizeof(char *));
	if (g->g_lids == NULL) {
		oom(err);
		return -1;
	}
	for (size_t i = 0; i < v->j_n; i++) {
		const char *s;

		(void)snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (str_at(&v->j_el[i], name, "\"db-1\"", &s, err) == -1)
			return -1;
		if (s == NULL) {
			err_set(err, EIK_INVAL,
			    "%s must be a string such as \"db-1\", got null",
			    name);
			return -1;
		}
		if ((g->g_lids[i] = strdup(s)) == NULL) {
			oom(err);
			return -1;
		}
		g->g_n_lids = i + 1;
	}
	return 0;
}

static int
dec_alloc(const struct dec *d, const struct gjson *v, struct group_spec *g,
    struct err *err)
{
	const struct gjson *a;
	uint64_t size = 0;

	if (object_at(d, v, "Spec.Properties.Allocation",
		"such as {\"Size\": 3} or {\"LogicalIDs\": [\"a\", \"b\"]}",
		alloc_keys, no_keys, &a, err) == -1)
		return -1;
	if (uint_at(gjson_get(a, "Size"), "Spec.Properties.Allocation.Size",
		GSPEC_SIZE_MAX, &size, err) == -1)
		return -1;
	g->g_size = (size_t)size;
	return dec_lids(gjson_get(a, "LogicalIDs"), g, err);
}

/* Splits name at the first '/' into lookup and type (spec protocol
 * §2.3). */
static int
set_plugin_name(struct gspec_plugin *p, const char *name)
{
	const char *slash = strchr(name, '/');
	size_t n = slash != NULL ? (size_t)(slash - name) : strlen(name);

	p->gp_name = strdup(name);
	p->gp_lookup = strndup(name, n);
	p->gp_type = strdup(slash != NULL ? slash + 1 : "");
	return p->gp_name == NULL || p->gp_lookup == NULL || p->gp_type == NULL
	    ? -1
	    : 0;
}

static int
dec_plugin(struct dec *d, const struct gjson *v, int which,
    struct gspec_plugin *p, struct err *err)
{
	const char *sect = which == 0 ? "Instance" : "Flavor";
	char field[FIELD_MAX], pf[FIELD_MAX];
	const struct gjson *o, *plugin, *props;
	const char *name;

	(void)snprintf(field, sizeof(field), "Spec.Properties.%s", sect);
	(void)snprintf(pf, sizeof(pf), "%s.Plugin", field);
	if (object_at(d, v, field, "{\"Plugin\": ..., \"Properties\": ...}",
		plugin_keys, plugin_ignored, &o, err) == -1)
		return -1;
	plugin = gjson_get(o, "Plugin");
	if (plugin != NULL && plugin->j_type == GJSON_NULL) {
		/* Go's plugin.Name wants a quoted token. */
		err_set(err, EIK_INVAL,
		    "%s must be a string such as %s, got null", pf,
		    which == 0 ? "\"vmware-fusion\"" : "\"vanilla\"");
		return -1;
	}
	if (str_at(plugin, pf, which == 0 ? "\"vmware-fusion\"" : "\"vanilla\"",
		&name, err) == -1)
		return -1;
	d->d_plugin[which] = plugin;
	if (set_plugin_name(p, name != NULL ? name : "") == -1) {
		oom(err);
		return -1;
	}
	props = gjson_get(o, "Properties");
	if (which == 1)
		d->d_flavor_props = props;
	if (!gjson_is_null(props) &&
	    (p->gp_props = gjson_compact(d->d_doc, props)) == NULL) {
		oom(err);
		return -1;
	}
	return 0;
}

static int
dec_updating(const struct dec *d, const struct gjson *v, struct group_spec *g,
    struct err *err)
{
	const struct gjson *u, *skip;
	const char *s;

	if (object_at(d, v, "Spec.Properties.Updating",
		"such as {\"Count\": 1} or {\"MaxUnavailable\": 1}", upd_keys,
		no_keys, &u, err) == -1)
		return -1;
	if (unsigned_at(gjson_get(u, "Count"), "Spec.Properties.Updating.Count",
		GSPEC_COUNT_MAX, &g->g_count, err) == -1 ||
	    duration_at(gjson_get(u, "Duration"),
		"Spec.Properties.Updating.Duration", &g->g_duration_ns,
		err) == -1 ||
	    unsigned_at(gjson_get(u, "MaxUnavailable"),
		"Spec.Properties.Updating.MaxUnavailable", GSPEC_SIZE_MAX,
		&g->g_max_unavailable, err) == -1 ||
	    unsigned_at(gjson_get(u, "MaxSurge"),
		"Spec.Properties.Updating.MaxSurge", GSPEC_SIZE_MAX,
		&g->g_max_surge, err) == -1)
		return -1;
	skip = gjson_get(u, "SkipBeforeInstanceDestroy");
	if (str_at(skip, "Spec.Properties.Updating.SkipBeforeInstanceDestroy",
		"\"drain\"", &s, err) == -1)
		return -1;
	if (s != NULL && strcmp(s, "drain") != 0) {
		/* InfraKit accepts it, then fails every later inspection
		 * (quirk Q22). */
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Updating.SkipBeforeInstanceDestroy is "
		    "\"%s\"; it must be \"drain\" (skip the drain before a "
		    "rolling update destroys a member) or null",
		    s);
		return -1;
	}
	g->g_skip_drain = s != NULL;
	return 0;
}

static int
dec_recovery(const struct dec *d, const struct gjson *v, struct group_spec *g,
    struct err *err)
{
	const struct gjson *r;
	const char *s;

	if (object_at(d, v, "Spec.Properties.Recovery",
		"such as {\"RestartPolicy\": \"restart\"}", rec_keys, no_keys,
		&r, err) == -1)
		return -1;
	if (str_at(gjson_get(r, "RestartPolicy"),
		"Spec.Properties.Recovery.RestartPolicy", "\"replace\"", &s,
		err) == -1)
		return -1;
	if (s != NULL && strcmp(s, "replace") != 0 &&
	    strcmp(s, "restart") != 0) {
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Recovery.RestartPolicy is \"%s\"; use "
		    "\"replace\" (leave a stopped member and create another) "
		    "or \"restart\" (start it again)",
		    s);
		return -1;
	}
	if (s != NULL && strcmp(s, "restart") == 0)
		g->g_restart = GSPEC_RESTART_RESTART;
	if (unsigned_at(gjson_get(r, "MaxFailures"),
		"Spec.Properties.Recovery.MaxFailures", GSPEC_COUNT_MAX,
		&g->g_max_failures, err) == -1)
		return -1;
	if (duration_at(gjson_get(r, "Backoff"),
		"Spec.Properties.Recovery.Backoff", &g->g_backoff_ns,
		err) == -1)
		return -1;
	return duration_at(gjson_get(r, "BackoffMax"),
	    "Spec.Properties.Recovery.BackoffMax", &g->g_backoff_max_ns, err);
}

static void
set_defaults(struct group_spec *g)
{
	g->g_max_unavailable = GSPEC_MAX_UNAVAILABLE_DEFAULT;
	g->g_max_surge = GSPEC_MAX_SURGE_DEFAULT;
	g->g_restart = GSPEC_RESTART_REPLACE;
	g->g_max_failures = GSPEC_MAX_FAILURES_DEFAULT;
	g->g_backoff_ns = GSPEC_BACKOFF_DEFAULT_NS;
	g->g_backoff_max_ns = GSPEC_BACKOFF_MAX_DEFAULT_NS;
}

/* The envelope {"ID", "Properties"}; *props is the Properties node. */
static int
dec_envelope(const struct dec *d, struct group_spec *g,
    const struct gjson **props, struct err *err)
{
	char got[JGOT_MAX];
	const struct gjson *root = &d->d_doc->d_root;
	const char *id;

	set_defaults(g);
	if (root->j_type != GJSON_OBJECT) {
		err_set(err, EIK_INVAL,
		    "Spec must be an object {\"ID\": ..., \"Properties\": "
		    "...}, got %s",
		    gjson_got(root, got));
		return -1;
	}
	if (check_keys(d, root, "Spec", top_keys, no_keys, err) == -1)
		return -1;
	if (str_at(gjson_get(root, "ID"), "Spec.ID", "\"workers\"", &id, err) ==
	    -1)
		return -1;
	if ((g->g_id = strdup(id != NULL ? id : "")) == NULL) {
		oom(err);
		return -1;
	}
	*props = gjson_get(root, "Properties");
	return 0;
}

static int
dec_properties(
    struct dec *d, const struct gjson *v, struct group_spec *g, struct err *err)
{
	const struct gjson *p;

	if (object_at(d, v, "Spec.Properties",
		"{\"Allocation\": ..., \"Instance\": ..., \"Flavor\": ...}",
		props_keys, no_keys, &p, err) == -1)
		return -1;
	if (dec_alloc(d, gjson_get(p, "Allocation"), g, err) == -1 ||
	    dec_plugin(d, gjson_get(p, "Instance"), 0, &g->g_instance, err) ==
		-1 ||
	    dec_plugin(d, gjson_get(p, "Flavor"), 1, &g->g_flavor, err) == -1 ||
	    dec_updating(d, gjson_get(p, "Updating"), g, err) == -1)
		return -1;
	return dec_recovery(d, gjson_get(p, "Recovery"), g, err);
}

static int
load(const char *text, size_t len, unsigned flags, struct gjson_doc *doc,
    struct err *err)
{
	if (gjson_parse(text, len, flags & GSPEC_COMPAT ? GJSON_GO : 0, doc,
		err) == -1) {
		err_prefix(err, "the group spec is not valid");
		return -1;
	}
	return 0;
}

int
gspec_decode(const char *text, size_t len, unsigned flags, struct group_spec *g,
    struct err *err)
{
	struct gjson_doc doc;
	struct dec d = { flags, &doc, { NULL, NULL }, NULL };
	const struct gjson *props;
	int rc = -1;

	memset(&doc, 0, sizeof(doc));
	if (load(text, len, flags, &doc, err) == 0 &&
	    dec_envelope(&d, g, &props, err) == 0 &&
	    dec_properties(&d, props, g, err) == 0)
		rc = 0;
	gjson_doc_free(&doc);
	return rc;
}

/* ---- validation --------------------------------------------------------- */

static int
check_id(const char *id, struct err *err)
{
	if (id[0] == '\0') {
		err_set(err, EIK_INVAL,
		    "Group ID must not be blank: name the group in \"ID\", "
		    "e.g. \"workers\"");
		return -1;
	}
	if (strlen(id) > GSPEC_ID_MAX) {
		err_set(err, EIK_INVAL,
		    "Spec.ID is %zu bytes long; the limit is %d", strlen(id),
		    GSPEC_ID_MAX);
		return -1;
	}
	for (const char *p = id; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			err_set(err, EIK_INVAL,
			    "Spec.ID contains a control character; it becomes "
			    "the value of the infrakit.group tag on every "
			    "member: use a plain name such as \"workers\"");
			return -1;
		}
	}
	return 0;
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int
check_lids(const struct group_spec *g, unsigned flags, struct err *err)
{
	for (size_t i = 0; i < g->g_n_lids; i++) {
		const char *s = g->g_lids[i];

		if (s[0] == '\0' || strlen(s) > RPC_MAX_LOGICAL_ID ||
		    has_control(s)) {
			err_set(err, EIK_INVAL,
			    "Spec.Properties.Allocation.LogicalIDs[%zu] must "
			    "be a non-empty name of at most %d bytes without "
			    "control characters, such as \"db-1\" or "
			    "\"192.168.0.11\"",
			    i, RPC_MAX_LOGICAL_ID);
			return -1;
		}
		for (size_t j = 0; !(flags & GSPEC_COMPAT) && j < i; j++) {
			if (strcmp(g->g_lids[j], s) == 0) {
				err_set(err, EIK_INVAL,
				    "Spec.Properties.Allocation.LogicalIDs[%zu] "
				    "\"%s\" is also [%zu]; each LogicalID "
				    "names one member: list it once",
				    i, s, j);
				return -1;
			}
		}
	}
	return 0;
}

/* §1.3 steps 3-5, then our extensions. */
static int
check_values(const struct group_spec *g, unsigned flags, struct err *err)
{
	char a[DUR_TEXT_MAX], b[DUR_TEXT_MAX];

	if (g->g_size == 0 && g->g_n_lids == 0) {
		err_set(err, EIK_INVAL,
		    "Allocation must not be blank: set "
		    "Spec.Properties.Allocation.Size to the number of members "
		    "(at least 1) or list Spec.Properties.Allocation.LogicalIDs");
		return -1;
	}
	if (g->g_size > 0 && g->g_n_lids > 0) {
		err_set(err, EIK_INVAL,
		    "Only one Allocation method may be used: set "
		    "Spec.Properties.Allocation.Size (cattle) or "
		    "Spec.Properties.Allocation.LogicalIDs (pets), not both");
		return -1;
	}
	if (check_lids(g, flags, err) == -1)
		return -1;
	if (g->g_count > 0 && g->g_duration_ns > 0) {
		err_set(err, EIK_INVAL,
		    "Only one Updating method may be used: set "
		    "Spec.Properties.Updating.Count or "
		    "Spec.Properties.Updating.Duration, not both");
		return -1;
	}
	if (gspec_is_pets(g) && g->g_max_surge > 0) {
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Updating.MaxSurge is %u, but a pets group "
		    "cannot surge (each LogicalID has exactly one member): "
		    "remove it",
		    g->g_max_surge);
		return -1;
	}
	if (g->g_max_unavailable == 0 && g->g_max_surge == 0) {
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Updating.MaxUnavailable and MaxSurge are "
		    "both 0, so a rolling update could never replace a member: "
		    "set MaxUnavailable to 1 or more%s",
		    gspec_is_pets(g) ? "" : ", or MaxSurge to 1 or more");
		return -1;
	}
	if (g->g_backoff_ns > g->g_backoff_max_ns) {
		dur_format(g->g_backoff_ns, a);
		dur_format(g->g_backoff_max_ns, b);
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Recovery.Backoff (%s) is longer than "
		    "Spec.Properties.Recovery.BackoffMax (%s)",
		    a, b);
		return -1;
	}
	return 0;
}

/* A Plugin name as InfraKit looks it up: the raw text between the quotes,
 * so escapes would name another socket than the hash says. */
static int
check_plugin_text(const struct dec *d, int which, const struct gspec_plugin *p,
    struct err *err)
{
	const struct gjson *v = d->d_plugin[which];
	const char *f = which == 0 ? "Spec.Properties.Instance.Plugin"
				   : "Spec.Properties.Flavor.Plugin";

	if (v != NULL &&
	    memchr(d->d_doc->d_text + v->j_off, '\\', v->j_end - v->j_off)) {
		err_set(err, EIK_INVAL,
		    "%s must be written without escape sequences (InfraKit "
		    "looks the name up exactly as written)",
		    f);
		return -1;
	}
	if (strlen(p->gp_name) > GSPEC_PLUGIN_MAX || has_control(p->gp_name) ||
	    strlen(p->gp_type) > RPC_MAX_TYPE) {
		err_set(err, EIK_INVAL,
		    "%s must be a plugin name lookup[/type] of at most %d "
		    "bytes without control characters",
		    f, GSPEC_PLUGIN_MAX);
		return -1;
	}
	return 0;
}

/* §1.3 steps 6-8: the flavor must be the built-in vanilla; the instance
 * plugin needs a name (the lookup and Validate are the caller's). */
static int
check_plugins(const struct dec *d, struct group_spec *g, struct err *err)
{
	const struct gspec_plugin *f = &g->g_flavor, *i = &g->g_instance;

	if (check_plugin_text(d, 1, f, err) == -1)
		return -1;
	if (!vanilla_is_name(f->gp_lookup)) {
		err_set(err, EIK_INVAL,
		    "Failed to find Flavor plugin '%s': only the vanilla "
		    "flavor is built in; set Spec.Properties.Flavor.Plugin to "
		    "\"vanilla\" or \"flavor-vanilla\"",
		    f->gp_name);
		return -1;
	}
	if (f->gp_type[0] != '\0') {
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Flavor.Plugin \"%s\" names the type "
		    "\"%s\", but the vanilla flavor has no types: write \"%s\"",
		    f->gp_name, f->gp_type, f->gp_lookup);
		return -1;
	}
	if (vanilla_parse(d->d_flavor_props,
		"Spec.Properties.Flavor.Properties",
		(d->d_flags & GSPEC_COMPAT) != 0, &g->g_vanilla, err) == -1)
		return -1;
	if (check_plugin_text(d, 0, i, err) == -1)
		return -1;
	if (i->gp_lookup[0] == '\0') {
		err_set(err, EIK_INVAL,
		    "Failed to find Instance plugin '%s': name the instance "
		    "plugin in Spec.Properties.Instance.Plugin, e.g. "
		    "\"vmware-fusion\" or \"vmware-fusion/qemu\"",
		    i->gp_name);
		return -1;
	}
	return 0;
}

int
gspec_parse(const char *text, size_t len, unsigned flags, struct group_spec *g,
    struct err *err)
{
	struct gjson_doc doc;
	struct dec d = { flags, &doc, { NULL, NULL }, NULL };
	const struct gjson *props;
	int rc = -1;

	memset(&doc, 0, sizeof(doc));
	if (load(text, len, flags, &doc, err) == -1 ||
	    dec_envelope(&d, g, &props, err) == -1 ||
	    check_id(g->g_id, err) == -1 ||
	    dec_properties(&d, props, g, err) == -1 ||
	    check_values(g, flags, err) == -1 ||
	    check_plugins(&d, g, err) == -1)
		goto out;
	rc = 0;
out:
	gjson_doc_free(&doc);
	return rc;
}

/* ---- the rest ----------------------------------------------------------- */

int
gspec_hash(const struct group_spec *g, enum ghash_era era,
    char out[GHASH_TEXT_MAX + 1], struct err *err)
{
	struct ghash_section i = { g->g_instance.gp_name,
		g->g_instance.gp_props,
		g->g_instance.gp_props != NULL ? strlen(g->g_instance.gp_props)
					       : 0 };
	struct ghash_section f = { g->g_flavor.gp_name, g->g_flavor.gp_props,
		g->g_flavor.gp_props != NULL ? strlen(g->g_flavor.gp_props)
					     : 0 };

	return ghash_compute(&i, &f, era, out, err);
}

bool
gspec_is_pets(const struct group_spec *g)
{
	return g->g_n_lids > 0;
}

size_t
gspec_target(const struct group_spec *g)
{
	return gspec_is_pets(g) ? g->g_n_lids : g->g_size;
}

static void
plugin_free(struct gspec_plugin *p)
{
	free(p->gp_name);
	free(p->gp_lookup);
	free(p->gp_type);
	free(p->gp_props);
}

void
gspec_free(struct group_spec *g)
{
	free(g->g_id);
	for (size_t i = 0; i < g->g_n_lids; i++)
		free(g->g_lids[i]);
	free(g->g_lids);
	plugin_free(&g->g_instance);
	plugin_free(&g->g_flavor);
	vanilla_props_free(&g->g_vanilla);
	memset(g, 0, sizeof(*g));
}
