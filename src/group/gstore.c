/*
 * Group files. See gstore.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/gjson.h"
#include "group/gspecjson.h"
#include "group/gstore.h"
#include "util/compat.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/sha1.h"

static const char *const state_names[] = {
	[GSTORE_MANAGING] = "managing", [GSTORE_DESTROYING] = "destroying"
};

const char *
gstore_state_name(enum gstore_state s)
{
	return (size_t)s < sizeof(state_names) / sizeof(state_names[0])
	    ? state_names[s]
	    : "unknown";
}

static bool
name_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '-';
}

int
gstore_name(const char *id, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t w = 0;

	if (len < GSTORE_NAME_MAX)
		return -1;
	for (const unsigned char *p = (const unsigned char *)id; *p != '\0';
	     p++) {
		if (name_safe(*p) && w + 1 <= GSTORE_NAME_KEEP) {
			out[w++] = (char)*p;
			continue;
		}
		if (w + 3 > GSTORE_NAME_KEEP) {
			unsigned char d[SHA1_DIGEST_LEN];
			char dh[SHA1_HEX_LEN + 1];

			/* Too long: a prefix, then the whole ID's digest. */
			sha1(id, strlen(id), d);
			sha1_hex(d, dh);
			(void)snprintf(
			    out + w, len - w, "~%s%s", dh, GSTORE_SUFFIX);
			return 0;
		}
		out[w++] = '%';
		out[w++] = hex[*p >> 4];
		out[w++] = hex[*p & 0xf];
	}
	(void)snprintf(out + w, len - w, "%s", GSTORE_SUFFIX);
	return 0;
}

/* ---- encoding ----------------------------------------------------------- */

/* A JSON string of s with anything that is not UTF-8 made '?'. */
static json_t *
jstring_lossy(const char *s)
{
	size_t n = strlen(s);
	char *c;
	json_t *v;

	if (utf8_valid(s, n))
		return json_stringn(s, n);
	if ((c = strdup(s)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	v = json_stringn(c, n);
	free(c);
	return v;
}

char *
gstore_encode(const struct gstore_rec *r, struct err *err)
{
	json_t *h;
	char *head = NULL, *out = NULL;
	size_t hl, sl;

	h = json_pack("{s:i,s:o,s:s,s:b,s:b,s:I,s:I,s:o}", "Version",
	    GSTORE_VERSION, "ID", jstring_lossy(r->gr_spec.g_id), "State",
	    gstore_state_name(r->gr_state), "Compat",
	    (r->gr_flags & GSPEC_COMPAT) != 0, "Rolling", r->gr_rolling,
	    "Failures", (json_int_t)r->gr_failures, "FailedAt",
	    (json_int_t)r->gr_failed_at, "Error", jstring_lossy(r->gr_error));
	if (h != NULL)
		head = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(h);
	if (head == NULL || r->gr_spec_json == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	/* {...head...,"Spec":<spec>} */
	hl = strlen(head);
	sl = strlen(r->gr_spec_json);
	if ((out = malloc(hl + sl + 16)) == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(out, head, hl - 1);
	(void)snprintf(out + hl - 1, sl + 17, ",\"Spec\":%s}", r->gr_spec_json);
out:
	free(head);
	return out;
}

/* ---- decoding ----------------------------------------------------------- */

static int
dec_bool(const struct gjson *root, const char *key, bool *out, struct err *err)
{
	const struct gjson *v = gjson_get(root, key);

	if (v == NULL ||
	    (v->j_type != GJSON_TRUE && v->j_type != GJSON_FALSE)) {
		err_set(err, EIK_IO, "%s must be true or false", key);
		return -1;
	}
	*out = v->j_type == GJSON_TRUE;
	return 0;
}

static int
dec_uint(const struct gjson *root, const char *key, uint64_t max, uint64_t *out,
    struct err *err)
{
	if (gjson_uint(gjson_get(root, key), max, out) == -1) {
		err_set(err, EIK_IO, "%s must be an integer of at most %llu",
		    key, (unsigned long long)max);
		return -1;
	}
	return 0;
}

static const char *
dec_str(const struct gjson *root, const char *key, struct err *err)
{
	const struct gjson *v = gjson_get(root, key);

	if (v == NULL || v->j_type != GJSON_STRING ||
	    strlen(v->j_str) != v->j_len) {
		err_set(err, EIK_IO, "%s must be a string", key);
		return NULL;
	}
	return v->j_str;
}

/* State, Compat, Rolling, Failures, FailedAt, Error. */
static int
dec_status(const struct gjson *root, struct gstore_rec *r, struct err *err)
{
	const char *st, *e;
	uint64_t n;
	bool compat;

	if ((st = dec_str(root, "State", err)) == NULL)
		return -1;
	if (strcmp(st, "managing") == 0)
		r->gr_state = GSTORE_MANAGING;
	else if (strcmp(st, "destroying") == 0)
		r->gr_state = GSTORE_DESTROYING;
	else {
		err_set(err, EIK_IO,
		    "State \"%s\" is not managing or destroying", st);
		return -1;
	}
	if (dec_bool(root, "Compat", &compat, err) == -1 ||
	    dec_bool(root, "Rolling", &r->gr_rolling, err) == -1 ||
	    dec_uint(root, "Failures", UINT32_MAX, &n, err) == -1)
		return -1;
	r->gr_flags = compat ? GSPEC_COMPAT : 0;
	r->gr_failures = (unsigned)n;
	if (dec_uint(root, "FailedAt", INT64_MAX, &n, err) == -1 ||
	    (e = dec_str(root, "Error", err)) == NULL)
		return -1;
	r->gr_failed_at = (int64_t)n;
	(void)strlcpy(r->gr_error, e, sizeof(r->gr_error));
	return 0;
}

int
gstore_decode(
    const char *text, size_t len, struct gstore_rec *r, struct err *err)
{
	struct gjson_doc doc;
	const struct gjson *root, *spec;
	const char *id;
	uint64_t ver;
	int rc = -1;

	memset(&doc, 0, sizeof(doc));
	/* Go's leniency for the file as a whole: a spec committed in compat
	 * mode may hold duplicate keys; the Spec is checked in its own mode
	 * below. */
	if (gjson_parse(text, len, GJSON_GO, &doc, err) == -1)
		goto out;
	root = &doc.d_root;
	if (root->j_type != GJSON_OBJECT) {
		err_set(err, EIK_IO, "not a JSON object");
		goto out;
	}
	if (dec_uint(root, "Version", UINT32_MAX, &ver, err) == -1)
		goto out;
	if (ver != GSTORE_VERSION) {
		err_set(err, EIK_IO,
		    "Version %llu: written by another release of the plugin "
		    "(this one reads version %d)",
		    (unsigned long long)ver, GSTORE_VERSION);
		goto out;
	}
	if (dec_status(root, r, err) == -1 ||
	    (id = dec_str(root, "ID", err)) == NULL)
		goto out;
	spec = gjson_get(root, "Spec");
	if (spec == NULL || spec->j_type != GJSON_OBJECT) {
		err_set(err, EIK_IO, "Spec must be a group spec object");
		goto out;
	}
	if (gspec_parse(doc.d_text + spec->j_off, spec->j_end - spec->j_off,
		r->gr_flags, &r->gr_spec, err) == -1) {
		err_prefix(err, "Spec");
		goto out;
	}
	if (strcmp(r->gr_spec.g_id, id) != 0) {
		err_set(err, EIK_IO, "ID \"%s\" is not the Spec's \"%s\"", id,
		    r->gr_spec.g_id);
		goto out;
	}
	if ((r->gr_spec_json = gspecjson_dump(&r->gr_spec, err)) == NULL)
		goto out;
	rc = 0;
out:
	gjson_doc_free(&doc);
	return rc;
}

void
gstore_rec_free(struct gstore_rec *r)
{
	if (r == NULL)
		return;
	gspec_free(&r->gr_spec);
	free(r->gr_spec_json);
	memset(r, 0, sizeof(*r));
}

/* ---- files -------------------------------------------------------------- */

int
gstore_open(const char *vm_dir, char *dir, size_t len, struct err *err)
{
	struct stat sb;

	if (path_join(dir, len, vm_dir, GSTORE_DIR) == -1) {
		err_set(
		    err, EIK_INVAL, "%s/%s: path too long", vm_dir, GSTORE_DIR);
		return -1;
	}
	/* Made by the first save: a plugin that never had a group leaves
	 * the vm-dir as it was. What is there must be a real directory. */
	if (lstat(dir, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		err_set(
		    err, err_from_errno(errno), "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		err_set(err, EIK_INVAL,
		    "%s is not a directory (%s): the group files live there; "
		    "move it away",
		    dir, S_ISLNK(sb.st_mode) ? "a symbolic link" : "a file");
		return -1;
	}
	return 0;
}

static int
file_path(
    const char *dir, const char *id, char *out, size_t len, struct err *err)
{
	char name[GSTORE_NAME_MAX];

	if (gstore_name(id, name, sizeof(name)) == -1 ||
	    path_join(out, len, dir, name) == -1) {
		err_set(err, EIK_INVAL, "group file path too long");
		return -1;
	}
	return 0;
}

int
gstore_save(const char *dir, const struct gstore_rec *r, struct err *err)
{
	char path[PATH_BUF], *text;
	int rc;

	if (file_path(dir, r->gr_spec.g_id, path, sizeof(path), err) == -1 ||
	    mkdir_p(dir, GSTORE_DIR_MODE, err) == -1 ||
	    (text = gstore_encode(r, err)) == NULL)
		return -1;
	rc = atomic_write_file(path, text, strlen(text), GSTORE_FILE_MODE, err);
	free(text);
	if (rc == -1)
		err_prefix(err, "saving group '%s'", r->gr_spec.g_id);
	return rc;
}

int
gstore_remove(const char *dir, const char *id, struct err *err)
{
	char path[PATH_BUF];

	if (file_path(dir, id, path, sizeof(path), err) == -1)
		return -1;
	if (unlink_durable(path, err) == -1) {
		err_prefix(err, "removing group '%s'", id);
		return -1;
	}
	return 0;
}

static bool
is_group_file(const char *name)
{
	size_t n = strlen(name), s = sizeof(GSTORE_SUFFIX) - 1;

	return name[0] != '.' && n > s &&
	    strcmp(name + n - s, GSTORE_SUFFIX) == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The group files in dir, sorted (caller frees each and the array). */
static char **
list_files(const char *dir, size_t *n, struct err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL && errno == ENOENT)
		return calloc(1, sizeof(*v)); /* no group saved yet */
	if (d == NULL) {
		err_set(
		    err, err_from_errno(errno), "%s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_group_file(de->d_name))
			continue;
		if (*n == cap) {
			char **nv;

			cap = cap == 0 ? 16 : 2 * cap;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto oom;
			v = nv;
		}
		if ((v[*n] = strdup(de->d_name)) == NULL)
			goto oom;
		(*n)++;
	}
	(void)closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), name_cmp);
	return v != NULL ? v : calloc(1, sizeof(*v));
oom:
	(void)closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	err_set(err, EIK_INTERNAL, "out of memory");
	return NULL;
}

/* Renames an unreadable file aside and says so. */
static void
quarantine(const char *path, const struct err *why)
{
	char to[PATH_BUF];
	struct err e;

	err_clear(&e);
	if (snprintf(to, sizeof(to), "%s.corrupt-%lld", path,
		(long long)wall_ms()) >= (int)sizeof(to) ||
	    rename_durable(path, to, &e) == -1) {
		log_error("group file %s is unreadable (%s) and could not be "
			  "moved aside: %s",
		    path, why->msg, e.msg);
		return;
	}
	log_error("group file %s is unreadable (%s): moved to %s; the group "
		  "is not managed until it is committed again",
	    path, why->msg, to);
}

/* Loads one file; 1 when taken, 0 when quarantined, -1 to stop. */
static int
load_one(const char *dir, const char *name,
    int (*take)(void *arg, struct gstore_rec *r), void *arg)
{
	char path[PATH_BUF], expect[GSTORE_NAME_MAX], *text = NULL;
	struct gstore_rec *r = calloc(1, sizeof(*r));
	struct err e;
	size_t len;

	err_clear(&e);
	if (r == NULL || path_join(path, sizeof(path), dir, name) == -1) {
		free(r);
		return 0;
	}
	if (read_file_max(path, GSTORE_FILE_MAX, &text, &len, &e) == -1 ||
	    gstore_decode(text, len, r, &e) == -1) {
		free(text);
		gstore_rec_free(r);
		free(r);
		quarantine(path, &e);
		return 0;
	}
	free(text);
	if (gstore_name(r->gr_spec.g_id, expect, sizeof(expect)) == 0 &&
	    strcmp(expect, name) != 0)
		log_warnx("group file %s holds group '%s' (whose file is %s): "
			  "loaded anyway",
		    path, r->gr_spec.g_id, expect);
	return take(arg, r) == -1 ? -1 : 1;
}

long
gstore_load(const char *dir, int (*take)(void *arg, struct gstore_rec *r),
    void *arg, struct err *err)
{
	size_t n;
	char **names = list_files(dir, &n, err);
	long loaded = 0;
	int rc = 0;

	if (names == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (rc != -1 && (rc = load_one(dir, names[i], take, arg)) == 1)
			loaded++;
		free(names[i]);
	}
	free(names);
	if (rc == -1) {
		err_set(err, EIK_INTERNAL, "out of memory loading groups");
		return -1;
	}
	return loaded;
}
