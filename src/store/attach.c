/*
 * Persistent disks of pets on disk. See attach.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "model/attach.h"
#include "model/jsonutil.h"
#include "store/attach.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"

#define META_VERSION 1

static int
joined(char *out, size_t len, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(out, len, fmt, a, b);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
store_att_dir(const struct store *st, const char *name, char *out, size_t len)
{
	return joined(out, len, "%s/" ATT_DIR_NAME "/%s", st->st_dir, name);
}

int
store_att_scratch(
    const struct store *st, const char *name, char *out, size_t len)
{
	return joined(out, len, "%s/.staging/disk.%s", st->st_dir, name);
}

int
store_att_check(const struct store *st, struct err *err)
{
	char path[PATH_BUF];
	struct stat sb;

	if (path_join(path, sizeof(path), st->st_dir, ATT_DIR_NAME) == -1) {
		err_set(err, EIK_INVAL, "--vm-dir too long");
		return -1;
	}
	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		err_set(err, EIK_IO, "stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		err_set(err, EIK_IO,
		    "%s is %s, not a directory; the plugin keeps the disks of "
		    "pets in a plain directory of its own there: move it away "
		    "and start again",
		    path, S_ISLNK(sb.st_mode) ? "a symbolic link" : "a file");
		return -1;
	}
	return 0;
}

/* ---- attachment.json ---------------------------------------------------- */

int
store_att_meta_write(const char *dir, const struct att_meta *m, struct err *err)
{
	char path[PATH_BUF], *text;
	json_t *o;
	int rc;

	if (path_join(path, sizeof(path), dir, ATT_META_NAME) == -1) {
		err_set(err, EIK_INVAL, "path too long: %.100s", dir);
		return -1;
	}
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:i,s:I,s:s}", "Version",
	    META_VERSION, "ID", m->am_id, "Type", m->am_type, "Format",
	    m->am_format, "Backend", m->am_backend, "SizeGB",
	    (int)m->am_size_gb, "Created", (json_int_t)m->am_created_ms,
	    "MadeFor", m->am_made_for);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	rc = atomic_write_file(path, text, strlen(text), RECORD_MODE, err);
	free(text);
	return rc;
}

static void
meta_str(const json_t *o, const char *key, char *out, size_t len)
{
	const char *s = json_string_value(jget(o, key));

	if (s != NULL && strlen(s) < len)
		memcpy(out, s, strlen(s) + 1);
}

int
store_att_meta_read(const char *dir, struct att_meta *m, struct err *err)
{
	char path[PATH_BUF], *text = NULL;
	json_error_t je;
	json_t *o;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (path_join(path, sizeof(path), dir, ATT_META_NAME) == -1) {
		err_set(err, EIK_INVAL, "path too long: %.100s", dir);
		return -1;
	}
	if (read_file_max(path, ATTACH_META_MAX, &text, &len, err) == -1)
		return -1;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!json_is_object(o)) {
		err_set(err, EIK_IO, "%s: not a JSON object (%s)", path,
		    o == NULL ? je.text : jtype(o));
		json_decref(o);
		return -1;
	}
	meta_str(o, "ID", m->am_id, sizeof(m->am_id));
	meta_str(o, "Type", m->am_type, sizeof(m->am_type));
	meta_str(o, "Format", m->am_format, sizeof(m->am_format));
	meta_str(o, "Backend", m->am_backend, sizeof(m->am_backend));
	meta_str(o, "MadeFor", m->am_made_for, sizeof(m->am_made_for));
	if (json_integer_value(jget(o, "SizeGB")) > 0 &&
	    json_integer_value(jget(o, "SizeGB")) <= ATTACH_SIZE_MAX_GB)
		m->am_size_gb = (unsigned)json_integer_value(jget(o, "SizeGB"));
	m->am_created_ms = (int64_t)json_integer_value(jget(o, "Created"));
	json_decref(o);
	return 0;
}

/* ---- making and deleting ------------------------------------------------ */

int
store_att_commit(const struct store *st, const char *scratch, const char *name,
    struct err *err)
{
	char root[PATH_BUF], to[PATH_BUF];

	if (path_join(root, sizeof(root), st->st_dir, ATT_DIR_NAME) == -1 ||
	    store_att_dir(st, name, to, sizeof(to)) == -1) {
		err_set(err, EIK_INVAL, "--vm-dir too long");
		return -1;
	}
	if (store_att_check(st, err) == -1 ||
	    mkdir_p(root, STATE_DIR_MODE, err) == -1)
		return -1;
	return rename_durable(scratch, to, err);
}

int
store_att_remove(const struct store *st, const char *name, struct err *err)
{
	char from[PATH_BUF], trash[PATH_BUF], stamp[32];
	struct stat sb;

	(void)snprintf(stamp, sizeof(stamp), "%lld", (long long)wall_ms());
	if (store_att_dir(st, name, from, sizeof(from)) == -1 ||
	    joined(trash, sizeof(trash), "%s/.staging/rm.%s", st->st_dir,
		name) == -1 ||
	    strlcat(trash, ".", sizeof(trash)) >= sizeof(trash) ||
	    strlcat(trash, stamp, sizeof(trash)) >= sizeof(trash)) {
		err_set(err, EIK_INVAL, "--vm-dir too long");
		return -1;
	}
	if (store_att_check(st, err) == -1)
		return -1;
	if (lstat(from, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		err_set(err, EIK_NOTFOUND,
		    "there is no disk \"%s\" (%s): `attachment ls` lists them",
		    name, from);
		return -1;
	}
	if (rename_durable(from, trash, err) == -1)
		return -1;
	if (rm_tree(trash, err) == -1) {
		/* Gone from its name; the next start finishes. */
		log_warnx("disk %s: %s (removed at the next start)", name,
		    err != NULL ? err->msg : "cannot remove its files");
		err_clear(err);
	}
	return 0;
}

/* ---- listing ------------------------------------------------------------ */

/* The format of a disk without a readable attachment.json: its files'. */
static void
guess_format(const char *dir, const char *name, struct att_view *v)
{
	static const char *const fmts[] = { "vmdk", "qcow2", "img" };

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char file[ATTACH_ID_MAX + 16], path[PATH_BUF];

		(void)snprintf(file, sizeof(file), "%s.%s", name, fmts[i]);
		if (path_join(path, sizeof(path), dir, file) == 0 &&
		    is_file(path)) {
			(void)strlcpy(
			    v->av_format, fmts[i], sizeof(v->av_format));
			return;
		}
	}
}

static int
list_one(const struct store *st, const char *entry, struct att_list *out,
    struct err *err)
{
	char name[ATTACH_ID_MAX + 1], dir[PATH_BUF];
	struct att_meta m;
	struct att_view *v;
	struct stat sb;
	struct err e;

	err_clear(&e);
	if (store_att_dir(st, entry, dir, sizeof(dir)) == -1 ||
	    attach_disk_name(entry, "name", name, sizeof(name), &e) == -1 ||
	    strcmp(name, entry) != 0 || lstat(dir, &sb) == -1 ||
	    !S_ISDIR(sb.st_mode)) {
		log_warnx("%s/" ATT_DIR_NAME "/%s is not a disk of ours (a "
			  "directory named by a disk's ID, in lower case); "
			  "left alone",
		    st->st_dir, entry);
		return 0;
	}
	if ((v = att_list_get(out, name)) == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	v->av_on_disk = true;
	if (store_att_meta_read(dir, &m, &e) == -1) {
		log_warnx("disk %s: %s; listed from its files", name, e.msg);
		(void)strlcpy(v->av_id, name, sizeof(v->av_id));
		guess_format(dir, name, v);
		return 0;
	}
	(void)strlcpy(
	    v->av_id, m.am_id[0] != '\0' ? m.am_id : name, sizeof(v->av_id));
	(void)strlcpy(v->av_type, m.am_type, sizeof(v->av_type));
	(void)strlcpy(v->av_format, m.am_format, sizeof(v->av_format));
	(void)strlcpy(v->av_backend, m.am_backend, sizeof(v->av_backend));
	(void)strlcpy(v->av_made_for, m.am_made_for, sizeof(v->av_made_for));
	v->av_size_gb = m.am_size_gb;
	v->av_created_ms = m.am_created_ms;
	return 0;
}

int
store_att_list(const struct store *st, struct att_list *out, struct err *err)
{
	char root[PATH_BUF];
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (path_join(root, sizeof(root), st->st_dir, ATT_DIR_NAME) == -1) {
		err_set(err, EIK_INVAL, "--vm-dir too long");
		return -1;
	}
	if (store_att_check(st, err) == -1)
		return -1;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		err_set(err, EIK_IO, "open %s: %s", root, strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			rc = list_one(st, de->d_name, out, err);
	(void)closedir(d);
	return rc;
}
