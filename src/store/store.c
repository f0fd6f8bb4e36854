/*
 * The durable instance store. See store.h.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "store/attach.h"
#include "store/ids.h"
#include "util/log.h"
#include "store/record.h"
#include "store/store.h"

#define RECORD_NAME "instance.json"
#define STAGING_NAME ".staging"
#define LOCK_NAME ".lock"
#define BUNDLE_SUFFIX ".vmwarevm"

/* Whether path is a directory itself (not a link to one). */
static bool
real_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A name of ours under vm-dir that must be a plain directory. */
static int
own_dir(const char *path, struct err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		if (errno != ENOENT) {
			err_set(
			    err, EIK_IO, "stat %s: %s", path, strerror(errno));
			return -1;
		}
		return mkdir_p(path, STATE_DIR_MODE, err);
	}
	if (!S_ISDIR(st.st_mode)) {
		err_set(err, EIK_IO,
		    "%s is %s, not a directory; the plugin only uses a plain "
		    "directory of its own there: move it away and start again",
		    path, S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
		return -1;
	}
	return 0;
}

static int
take_lock(struct store *st, const char *path, struct err *err)
{
	char pidtext[32];
	int n;

	st->st_lockfd =
	    open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (st->st_lockfd == -1) {
		err_set(err, EIK_IO, "open %s: %s%s", path, strerror(errno),
		    errno == ELOOP ? " (a symbolic link: remove it)" : "");
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
		    pidtext[0] != '\0' ? pidtext : "unknown", st->st_dir);
		(void)close(st->st_lockfd);
		st->st_lockfd = -1;
		return -1;
	}
	n = snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (ftruncate(st->st_lockfd, 0) == -1 ||
	    pwrite(st->st_lockfd, pidtext, (size_t)n, 0) != n)
		log_warn("cannot write PID into %s", path);
	return 0;
}

int
store_open(struct store *st, const char *vm_dir, struct err *err)
{
	char path[PATH_BUF];

	st->st_lockfd = -1;
	if (strlcpy(st->st_dir, vm_dir, sizeof(st->st_dir)) >=
		sizeof(st->st_dir) ||
	    strlen(vm_dir) > STORE_DIR_MAX) {
		err_set(err, EIK_INVAL,
		    "--vm-dir is %zu bytes long; at most %d (STORE_DIR_MAX) "
		    "leave room for the paths the plugin makes below it: "
		    "choose a shorter directory (it begins %.64s...)",
		    strlen(vm_dir), STORE_DIR_MAX, vm_dir);
		return -1;
	}
	if (mkdir_p(vm_dir, STATE_DIR_MODE, err) == -1)
		return -1;
	if (path_join(path, sizeof(path), vm_dir, LOCK_NAME) == -1 ||
	    take_lock(st, path, err) == -1)
		return -1;
	if (path_join(path, sizeof(path), vm_dir, STAGING_NAME) == -1 ||
	    own_dir(path, err) == -1 || store_att_check(st, err) == -1) {
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
	} else if (!real_dir(dir)) {
		err_set(err, EIK_IO,
		    "%s is not a plain directory (a symbolic link?); the "
		    "plugin will not write through it",
		    dir);
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
	struct stat sb;

	if (store_inst_dir(st, id, dir, sizeof(dir)) == -1 ||
	    path_join(path, sizeof(path), dir, RECORD_NAME) == -1) {
		err_set(err, EIK_INVAL, "path too long for %s", id);
		return -1;
	}
	if (lstat(dir, &sb) == -1)
		return errno == ENOENT ? 0
				       : (err_set(err, EIK_IO, "stat %s: %s",
					      dir, strerror(errno)),
					     -1);
	if (!S_ISDIR(sb.st_mode)) {
		/* Never through a link: only the link itself goes. */
		log_warnx("%s is not a plain directory; removing only it", dir);
		return rm_tree(dir, err);
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
	int rc = 0, fd;

	if (path_join(path, sizeof(path), st->st_dir, STAGING_NAME) == -1 ||
	    own_dir(path, err) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		err_set(err, EIK_IO, "open %s: %s", path, strerror(errno));
		if (fd != -1)
			(void)close(fd);
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
		/* rm_tree never follows links: a link is removed itself. */
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

/* The sorted names of vm-dir that are our IDs; *max_id the highest. */
static char **
list_ids(const struct store *st, size_t *n, uint64_t *max_id, struct err *err)
{
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	*max_id = 0;
	d = opendir(st->st_dir);
	if (d == NULL) {
		err_set(
		    err, EIK_IO, "opendir %s: %s", st->st_dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t v;

		/* Only our own IDs: vm-dir may hold other things. */
		if (id_decode(de->d_name, &v) == -1)
			continue;
		if (v > *max_id)
			*max_id = v;
		if (*n == cap) {
			size_t nc = cap == 0 ? 256 : cap * 2;
			char **nn = realloc(names, nc * sizeof(*nn));

			if (nn == NULL)
				goto oom;
			names = nn;
			cap = nc;
		}
		if ((names[*n] = strdup(de->d_name)) == NULL)
			goto oom;
		(*n)++;
	}
	(void)closedir(d);
	if (*n > 0)
		qsort(names, *n, sizeof(*names), cmp_str);
	else if (names == NULL)
		names = calloc(1, sizeof(*names));
	if (names == NULL)
		err_set(err, EIK_INTERNAL, "out of memory");
	return names;
oom:
	(void)closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(names[i]);
	free(names);
	err_set(err, EIK_INTERNAL, "out of memory loading %s", st->st_dir);
	return NULL;
}

/* Loads one ID directory: 1 when a record went to the callback, 0 when
 * there was none (orphan handled, or quarantined), -1 on a callback error. */
static int
load_one(const struct store *st, const char *name, const struct store_scan *sc,
    struct err *err)
{
	char dir[PATH_BUF], path[PATH_BUF], note[512];
	struct record *r;
	struct err e;
	char *text = NULL;
	size_t len;

	if (store_inst_dir(st, name, dir, sizeof(dir)) == -1 ||
	    path_join(path, sizeof(path), dir, RECORD_NAME) == -1)
		return 0;
	if (!real_dir(dir)) {
		log_warnx("%s is not a plain directory (a symbolic link?); "
			  "it is not managed and left alone",
		    dir);
		return 0;
	}
	err_clear(&e);
	if (read_file_max(path, RECORD_MAX_SIZE, &text, &len, &e) == -1) {
		if (e.code == EIK_NOTFOUND && !has_quarantine(dir)) {
			if (sc->ss_orphan(sc->ss_arg, name) == 1) {
				log_info("removing %s: no record in it", dir);
				(void)rm_tree(dir, NULL);
			}
		} else if (e.code != EIK_NOTFOUND)
			quarantine(path, e.msg);
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		free(text);
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	if (record_from_text(text, len, r, note, sizeof(note), &e) == -1 ||
	    strcmp(r->r_id, name) != 0 || r->r_removed) {
		if (e.msg[0] == '\0')
			err_set(
			    &e, EIK_IO, "its ID is not its directory's name");
		record_free(r);
		free(r);
		free(text);
		quarantine(path, e.msg);
		return 0;
	}
	free(text);
	if (note[0] != '\0')
		log_warnx("%s: loaded leniently: %s", path, note);
	if (sc->ss_record(sc->ss_arg, r) == -1) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	return 1;
}

long
store_load(const struct store *st, const struct store_scan *sc,
    uint64_t *max_id, struct err *err)
{
	char **names;
	size_t n;
	long loaded = 0;

	names = list_ids(st, &n, max_id, err);
	if (names == NULL)
		return -1;
	for (size_t i = 0; i < n && loaded >= 0; i++) {
		int r = load_one(st, names[i], sc, err);

		if (r == -1)
			loaded = -1;
		else
			loaded += r;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return loaded;
}
