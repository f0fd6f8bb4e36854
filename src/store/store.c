/*
 * The durable instance store. See store.h.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "store/ids.h"
#include "model/jsonutil.h"
#include "util/log.h"
#include "model/specjson.h"
#include "store/store.h"

#define RECORD_NAME "instance.json"
#define RECORD_VERSION 1
#define STAGING_NAME ".staging"
#define LOCK_NAME ".lock"
#define BUNDLE_SUFFIX ".vmwarevm"

static const char *state_names[] = {
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

int
store_open(struct store *st, const char *vm_dir, struct err *err)
{
	char path[PATH_BUF], pidtext[32];
	int n;

	st->st_lockfd = -1;
	if (strlcpy(st->st_dir, vm_dir, sizeof(st->st_dir)) >=
	    sizeof(st->st_dir)) {
		err_set(err, EIK_INVAL, "--vm-dir is too long");
		return -1;
	}
	if (mkdir_p(vm_dir, STATE_DIR_MODE, err) == -1)
		return -1;
	if (path_join(path, sizeof(path), vm_dir, LOCK_NAME) == -1) {
		err_set(err, EIK_INVAL, "--vm-dir is too long");
		return -1;
	}
	st->st_lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->st_lockfd == -1) {
		err_set(err, EIK_IO, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(st->st_lockfd, LOCK_EX | LOCK_NB) == -1) {
		ssize_t r =
		    pread(st->st_lockfd, pidtext, sizeof(pidtext) - 1, 0);

		pidtext[r > 0 ? r : 0] = '\0';
		pidtext[strcspn(pidtext, "\n")] = '\0';
		err_set(err, EIK_BUSY,
		    "another plugin (PID %s) is using --vm-dir %s; stop it or "
		    "give this one its own --vm-dir",
		    pidtext[0] != '\0' ? pidtext : "unknown", vm_dir);
		(void)close(st->st_lockfd);
		st->st_lockfd = -1;
		return -1;
	}
	n = snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (ftruncate(st->st_lockfd, 0) == -1 ||
	    pwrite(st->st_lockfd, pidtext, (size_t)n, 0) != n)
		log_warn("cannot write PID into %s", path);
	if (path_join(path, sizeof(path), vm_dir, STAGING_NAME) == -1 ||
	    mkdir_p(path, STATE_DIR_MODE, err) == -1) {
		store_close(st);
		return -1;
	}
	return 0;
}

void
store_close(struct store *st)
{
	if (st->st_lockfd != -1)
		(void)close(st->st_lockfd);
	st->st_lockfd = -1;
}

int
store_inst_dir(const struct store *st, const char *id, char *out, size_t len)
{
	return path_join(out, len, st->st_dir, id);
}

int
store_bundle_dir(const struct store *st, const char *id, char *out, size_t len)
{
	int n =
	    snprintf(out, len, "%s/%s/%s" BUNDLE_SUFFIX, st->st_dir, id, id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
store_vmx_path(const struct store *st, const char *id, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s/%s" BUNDLE_SUFFIX "/%s.vmx",
	    st->st_dir, id, id, id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
store_staging_dir(const struct store *st, const char *id, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/" STAGING_NAME "/%s", st->st_dir, id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
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

	o = json_pack("{s:i,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:I,s:o,s:o,s:o,"
		      "s:o,s:i}",
	    "Version", RECORD_VERSION, "ID", r->r_id, "Backend", r->r_backend,
	    "State", inst_state_name(r->r_state), "Spec",
	    specjson_spec_new(&r->r_spec), "Tags", jtags_new(&r->r_tags),
	    "LogicalID", str_or_null(r->r_spec.s_logical_id), "Template",
	    str_or_null(r->r_template), "CreatedAt",
	    (json_int_t)r->r_created_ms, "UpdatedAt",
	    (json_int_t)r->r_updated_ms, "Error", str_or_null(r->r_error),
	    "Reason", str_or_null(r->r_reason), "IP", str_or_null(r->r_ip),
	    "MAC", str_or_null(r->r_mac), "Attempts", (int)r->r_attempts);
	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

static int
opt_dup(const json_t *o, const char *key, char **out, struct err *err)
{
	const char *s;

	if (jopt_str(o, key, key, PATH_BUF, &s, err) == -1)
		return -1;
	if (s == NULL)
		return 0;
	*out = strdup(s);
	if (*out == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

int
record_from_text(
    const char *text, size_t len, struct record *r, struct err *err)
{
	json_error_t je;
	json_t *o, *v;
	const char *s;
	int rc = -1, st;

	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		err_set(err, EIK_IO, "not valid JSON: %s (line %d)", je.text,
		    je.line);
		return -1;
	}
	v = json_object_get(o, "Version");
	if (!json_is_integer(v) || json_integer_value(v) != RECORD_VERSION) {
		err_set(err, EIK_IO, "unknown record version");
		goto out;
	}
	s = jstr(json_object_get(o, "ID"), "ID", ID_MAX - 1, err);
	if (s == NULL)
		goto out;
	(void)strlcpy(r->r_id, s, sizeof(r->r_id));
	s = jstr(json_object_get(o, "Backend"), "Backend",
	    sizeof(r->r_backend) - 1, err);
	if (s == NULL)
		goto out;
	(void)strlcpy(r->r_backend, s, sizeof(r->r_backend));
	s = jstr(json_object_get(o, "State"), "State", 32, err);
	if (s == NULL)
		goto out;
	st = state_parse(s);
	if (st < 0) {
		err_set(err, EIK_IO, "unknown State \"%s\"", s);
		goto out;
	}
	r->r_state = (enum inst_state)st;
	if (specjson_spec(
		json_object_get(o, "Spec"), "Spec", &r->r_spec, err) == -1)
		goto out;
	if (jtags(json_object_get(o, "Tags"), "Tags", &r->r_tags, err) == -1)
		goto out;
	v = json_object_get(o, "CreatedAt");
	r->r_created_ms = json_is_integer(v) ? json_integer_value(v) : 0;
	v = json_object_get(o, "UpdatedAt");
	r->r_updated_ms = json_is_integer(v) ? json_integer_value(v) : 0;
	v = json_object_get(o, "Attempts");
	r->r_attempts = json_is_integer(v) && json_integer_value(v) >= 0
	    ? (unsigned)json_integer_value(v)
	    : 0;
	if (opt_dup(o, "Template", &r->r_template, err) == -1 ||
	    opt_dup(o, "Error", &r->r_error, err) == -1 ||
	    opt_dup(o, "Reason", &r->r_reason, err) == -1 ||
	    opt_dup(o, "IP", &r->r_ip, err) == -1 ||
	    opt_dup(o, "MAC", &r->r_mac, err) == -1)
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

int
store_write_text(const struct store *st, const char *id, const char *text,
    unsigned flags, struct err *err)
{
	char dir[PATH_BUF], path[PATH_BUF];
	int rc, created = 0;

	if (store_inst_dir(st, id, dir, sizeof(dir)) == -1 ||
	    path_join(path, sizeof(path), dir, RECORD_NAME) == -1) {
		err_set(err, EIK_INVAL, "path too long for %s", id);
		return -1;
	}
	if (mkdir(dir, STATE_DIR_MODE) == 0)
		created = 1;
	else if (errno != EEXIST) {
		err_set(err, err_from_errno(errno), "mkdir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	rc = atomic_write_file_flags(
	    path, text, strlen(text), RECORD_MODE, flags, err);
	/* A new directory entry in vm-dir must reach the disk as well. */
	if (rc == 0 && created && !(flags & ATOMIC_NOSYNC))
		rc = fsync_dir(st->st_dir, err);
	if (rc == -1 && created)
		(void)rm_tree(dir, NULL);
	return rc;
}

int
store_write(const struct store *st, const struct record *r, struct err *err)
{
	char *text;
	int rc;

	text = record_to_text(r);
	if (text == NULL) {
		err_set(err, EIK_INTERNAL, "cannot encode the record of %s",
		    r->r_id);
		return -1;
	}
	rc = store_write_text(st, r->r_id, text, 0, err);
	free(text);
	return rc;
}

int
store_remove(const struct store *st, const char *id, struct err *err)
{
	char dir[PATH_BUF], path[PATH_BUF];

	if (store_inst_dir(st, id, dir, sizeof(dir)) == -1 ||
	    path_join(path, sizeof(path), dir, RECORD_NAME) == -1) {
		err_set(err, EIK_INVAL, "path too long for %s", id);
		return -1;
	}
	/* The record goes first: without it the rest is an orphan that the
	 * next start removes, never an instance that comes back. */
	if (unlink_durable(path, err) == -1)
		return -1;
	if (rm_tree(dir, err) == -1)
		return -1;
	return fsync_dir(st->st_dir, err);
}

int
store_clean_staging(const struct store *st, struct err *err)
{
	char path[PATH_BUF];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (path_join(path, sizeof(path), st->st_dir, STAGING_NAME) == -1)
		return -1;
	d = opendir(path);
	if (d == NULL) {
		if (errno == ENOENT)
			return mkdir_p(path, STATE_DIR_MODE, err);
		err_set(err, EIK_IO, "opendir %s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[PATH_BUF];

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (path_join(sub, sizeof(sub), path, de->d_name) == -1)
			continue;
		log_info("removing unfinished bundle %s", sub);
		if (rm_tree(sub, err) == -1)
			rc = -1;
	}
	(void)closedir(d);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when dir holds a quarantined record (instance.json.corrupt-*). */
static int
has_quarantine(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int found = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, RECORD_NAME ".corrupt",
			strlen(RECORD_NAME ".corrupt")) == 0)
			found = 1;
	(void)closedir(d);
	return found;
}

static void
quarantine(const char *path, const char *why)
{
	char q[PATH_BUF];
	int n;

	n = snprintf(q, sizeof(q), "%s.corrupt-%" PRId64, path, wall_ms());
	if (n > 0 && (size_t)n < sizeof(q) &&
	    rename_durable(path, q, NULL) == 0)
		log_error("QUARANTINED %s: %s; moved to %s. The instance is "
			  "not managed until the file is repaired and renamed "
			  "back (then restart the plugin)",
		    path, why, q);
	else
		log_error("cannot read %s (%s) and cannot quarantine it; "
			  "ignoring it",
		    path, why);
}

long
store_load(const struct store *st, int (*fn)(void *arg, struct record *r),
    void *arg, uint64_t *max_id, struct err *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	long loaded = 0;

	*max_id = 0;
	d = opendir(st->st_dir);
	if (d == NULL) {
		err_set(
		    err, EIK_IO, "opendir %s: %s", st->st_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t v;

		/* Only our own IDs: vm-dir may hold other things. */
		if (id_decode(de->d_name, &v) == -1)
			continue;
		if (v > *max_id)
			*max_id = v;
		if (n == cap) {
			size_t nc = cap == 0 ? 256 : cap * 2;
			char **nn = realloc(names, nc * sizeof(*nn));

			if (nn == NULL)
				goto oom;
			names = nn;
			cap = nc;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL)
			goto oom;
		n++;
	}
	(void)closedir(d);
	d = NULL;
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char dir[PATH_BUF], path[PATH_BUF];
		struct record *r;
		struct err e;
		char *text = NULL;
		size_t len;

		if (store_inst_dir(st, names[i], dir, sizeof(dir)) == -1 ||
		    path_join(path, sizeof(path), dir, RECORD_NAME) == -1)
			continue;
		err_clear(&e);
		if (read_file_max(path, RECORD_MAX_SIZE, &text, &len, &e) ==
		    -1) {
			if (e.code == EIK_NOTFOUND && is_dir(dir) &&
			    !has_quarantine(dir)) {
				/* Made by a Provision that never returned, or
				 * left by a finished Destroy. */
				log_info("removing %s: no record in it", dir);
				(void)rm_tree(dir, NULL);
			} else if (e.code != EIK_NOTFOUND)
				quarantine(path, e.msg);
			continue;
		}
		r = calloc(1, sizeof(*r));
		if (r == NULL) {
			free(text);
			goto oom;
		}
		if (record_from_text(text, len, r, &e) == -1 ||
		    strcmp(r->r_id, names[i]) != 0) {
			if (e.msg[0] == '\0')
				err_set(&e, EIK_IO,
				    "its ID is not its directory's name");
			record_free(r);
			free(r);
			free(text);
			quarantine(path, e.msg);
			continue;
		}
		free(text);
		if (fn(arg, r) == -1) {
			err_set(err, EIK_INTERNAL, "out of memory");
			loaded = -1;
			break;
		}
		loaded++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return loaded;
oom:
	if (d != NULL)
		(void)closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	err_set(err, EIK_INTERNAL, "out of memory loading %s", st->st_dir);
	return -1;
}
