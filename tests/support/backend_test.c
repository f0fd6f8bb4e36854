/*
 * A test double of the hypervisor (struct backend_ops "test"): every
 * operation takes a configurable time and fails on demand, so the service's
 * semantics are tested through the real socket without VMware or QEMU.
 *
 * Control directory: $TESTBACKEND_CTL. Before each operation OP (create,
 * start, stop, remove, power) the backend reads, if present:
 *   delay-OP   milliseconds to sleep first (cut short by the deadline)
 *   fail-OP    fail the operation; the file's text is the error message
 *   hang-OP    sleep until the deadline, then fail with a timeout
 * and appends "OP ID" to ops.log. VM state lives in the bundle directory:
 * a file "running" while powered on; tests create "suspended" or "paused"
 * there to act behind the plugin's back. Persistent disks (op "mkdisk",
 * logged with the disk's name) are sparse files "<name>.img"; create lists
 * the ones it attached in the bundle's file "disks", one path a line.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/proc.h"

struct tb {
	char tb_ctl[PATH_BUF];
};

static int
tb_open(const struct backend_conf *conf, void **ctx, struct err *err)
{
	const char *ctl = getenv("TESTBACKEND_CTL");
	struct tb *tb;

	(void)conf;
	tb = calloc(1, sizeof(*tb));
	if (tb == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	if (ctl != NULL)
		(void)strlcpy(tb->tb_ctl, ctl, sizeof(tb->tb_ctl));
	*ctx = tb;
	return 0;
}

static void
tb_close(void *ctx)
{
	free(ctx);
}

static void
tb_log(const struct tb *tb, const char *op, const char *id)
{
	char path[PATH_BUF], line[256];
	int fd, n;

	if (tb->tb_ctl[0] == '\0' ||
	    path_join(path, sizeof(path), tb->tb_ctl, "ops.log") == -1)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", op, id);
	(void)write(fd, line, (size_t)n);
	(void)close(fd);
}

/* Reads ctl/<what>-<op>; returns its text (caller frees) or NULL. */
static char *
tb_ctl(const struct tb *tb, const char *what, const char *op)
{
	char path[PATH_BUF], *text = NULL;
	size_t len;

	if (tb->tb_ctl[0] == '\0' ||
	    snprintf(path, sizeof(path), "%s/%s-%s", tb->tb_ctl, what, op) >=
		(int)sizeof(path))
		return NULL;
	if (read_file_max(path, 4096, &text, &len, NULL) == -1)
		return NULL;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	return text;
}

/* The common prologue of every operation. */
static int
tb_enter(const struct tb *tb, const char *op, const char *id, int64_t deadline,
    struct err *err)
{
	char *t;

	tb_log(tb, op, id);
	if ((t = tb_ctl(tb, "delay", op)) != NULL) {
		const char *e;
		int64_t ms = (int64_t)parse_uint(t, 0, 3600000, &e);
		int64_t left = deadline - mono_ms();

		free(t);
		if (ms > left) {
			(void)proc_sleep(left > 0 ? left : 0);
			err_set(err, EIK_TIMEOUT,
			    "test %s: deadline passed after %lld ms", op,
			    (long long)(left > 0 ? left : 0));
			return -1;
		}
		if (proc_sleep(ms) == -1) {
			err_set(err, EIK_BUSY, "test %s: cancelled", op);
			return -1;
		}
	}
	if ((t = tb_ctl(tb, "hang", op)) != NULL) {
		int64_t left = deadline - mono_ms();

		free(t);
		(void)proc_sleep(left > 0 ? left : 0);
		err_set(
		    err, EIK_TIMEOUT, "test %s: hung until the deadline", op);
		return -1;
	}
	if ((t = tb_ctl(tb, "fail", op)) != NULL) {
		err_set(err, EIK_BACKEND, "test %s: %s", op,
		    t[0] != '\0' ? t : "injected failure");
		free(t);
		return -1;
	}
	return 0;
}

static int
touch(const char *dir, const char *name, struct err *err)
{
	char path[PATH_BUF];

	if (path_join(path, sizeof(path), dir, name) == -1)
		return -1;
	return atomic_write_file(path, "", 0, 0644, err);
}

static void
rm_marker(const char *dir, const char *name)
{
	char path[PATH_BUF];

	if (path_join(path, sizeof(path), dir, name) == 0)
		(void)unlink(path);
}

static int
has_marker(const char *dir, const char *name)
{
	char path[PATH_BUF];

	return path_join(path, sizeof(path), dir, name) == 0 &&
	    access(path, F_OK) == 0;
}

/* The bundle's "disks": the disks create attached, one path a line. */
static int
tb_note_disks(const struct bk_inst *bi, struct err *err)
{
	char path[PATH_BUF], text[ATTACH_MAX_DISKS * (PATH_BUF + 1)];
	size_t n = 0;

	text[0] = '\0';
	for (size_t i = 0; i < bi->bi_ndisks && i < ATTACH_MAX_DISKS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\n",
		    bi->bi_disks[i].bd_file);
	if (path_join(path, sizeof(path), bi->bi_dir, "disks") == -1)
		return -1;
	return atomic_write_file(path, text, n, 0644, err);
}

static int
tb_create(void *ctx, const struct bk_inst *bi, struct err *err)
{
	char *tmpl = NULL;
	size_t len;
	int rc;

	if (tb_enter(ctx, "create", bi->bi_id, bi->bi_deadline, err) == -1)
		return -1;
	if (read_file_max(bi->bi_template, 4 * 1024 * 1024, &tmpl, &len, err) ==
	    -1)
		return -1;
	rc = atomic_write_file(bi->bi_vmx, tmpl, len, 0644, err);
	free(tmpl);
	if (rc == 0 && bi->bi_ndisks > 0)
		rc = tb_note_disks(bi, err);
	return rc;
}

static int
tb_start(void *ctx, const struct bk_inst *bi, struct err *err)
{
	if (tb_enter(ctx, "start", bi->bi_id, bi->bi_deadline, err) == -1)
		return -1;
	rm_marker(bi->bi_dir, "suspended");
	rm_marker(bi->bi_dir, "paused");
	return touch(bi->bi_dir, "running", err);
}

static int
tb_stop(void *ctx, const struct bk_inst *bi, bool hard, struct err *err)
{
	if (tb_enter(ctx, hard ? "stop" : "softstop", bi->bi_id,
		bi->bi_deadline, err) == -1)
		return -1;
	rm_marker(bi->bi_dir, "running");
	rm_marker(bi->bi_dir, "suspended");
	rm_marker(bi->bi_dir, "paused");
	return 0;
}

static int
tb_remove(void *ctx, const struct bk_inst *bi, struct err *err)
{
	return tb_enter(ctx, "remove", bi->bi_id, bi->bi_deadline, err);
}

static int
tb_power(
    void *ctx, struct bk_power *v, size_t n, int64_t deadline, struct err *err)
{
	if (tb_enter(ctx, "power", n > 0 ? v[0].bp_id : "-", deadline, err) ==
	    -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (has_marker(v[i].bp_dir, "suspended"))
			v[i].bp_state = POWER_SUSPENDED;
		else if (has_marker(v[i].bp_dir, "paused"))
			v[i].bp_state = POWER_PAUSED;
		else if (has_marker(v[i].bp_dir, "running"))
			v[i].bp_state = POWER_RUNNING;
		else
			v[i].bp_state = POWER_OFF;
	}
	return 0;
}

/* A pet's disk: a sparse file of the size asked for. */
static int
tb_make_disk(
    void *ctx, const struct bk_disk *d, int64_t deadline, struct err *err)
{
	if (tb_enter(ctx, "mkdisk", d->bd_name, deadline, err) == -1)
		return -1;
	return sparse_file_create(
	    d->bd_file, (uint64_t)d->bd_size_gb << 30, 0600, err);
}

const struct backend_ops backend_test_ops = {
	.name = "test",
	.open = tb_open,
	.close = tb_close,
	.create = tb_create,
	.start = tb_start,
	.stop = tb_stop,
	.remove = tb_remove,
	.power = tb_power,
	.disk_format = "img",
	.make_disk = tb_make_disk,
};
