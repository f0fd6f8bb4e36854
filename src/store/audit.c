/*
 * The audit log of destroys. See audit.h.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "store/audit.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/metrics.h"

static const char *const outcome_names[] = {
	[AUDIT_REQUESTED] = "requested",
	[AUDIT_REFUSED] = "refused",
	[AUDIT_JOINED] = "joined",
	[AUDIT_ALREADY] = "already-destroying",
	[AUDIT_GONE] = "gone",
	[AUDIT_FAILED] = "failed",
	[AUDIT_DESTROYED] = "destroyed",
};
#define N_OUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))

/* Lines by outcome ("" at 0: none), and appends that failed. */
static _Atomic uint64_t lines_cells[N_OUTCOMES];
static struct mfamily lines_family = {
	.mf_name = "ikvf_audit_lines_total",
	.mf_help = "Lines appended to the audit log of destroys, by outcome.",
	.mf_type = MT_COUNTER,
	.mf_label = { "outcome" },
	.mf_values = { outcome_names + 1 },
	.mf_nvalues = { N_OUTCOMES - 1 },
	.mf_cells = lines_cells,
	.mf_ncells = N_OUTCOMES,
};
static _Atomic uint64_t fail_cells[1];
static struct mfamily fail_family = {
	.mf_name = "ikvf_audit_write_failures_total",
	.mf_help = "Appends to the audit log that failed (the lines are in the "
		   "daemon's log instead).",
	.mf_type = MT_COUNTER,
	.mf_cells = fail_cells,
	.mf_ncells = 1,
};

const char *
audit_outcome_name(enum audit_outcome o)
{
	if ((size_t)o == 0 || (size_t)o >= N_OUTCOMES)
		return "unknown";
	return outcome_names[o];
}

/* Whether path's last line was cut (a crash in mid-append): its last byte
 * is not a newline. Not there, empty or unreadable: no. */
static bool
ends_cut(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char c = '\n';

	if (fd == -1)
		return false;
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &c, 1, st.st_size - 1) != 1)
		c = '\n';
	(void)close(fd);
	return c != '\n';
}

int
audit_log_init(struct audit_log *a, const char *vm_dir, struct err *err)
{
	memset(a, 0, sizeof(*a));
	if (path_join(a->al_path, sizeof(a->al_path), vm_dir, AUDIT_FILE) ==
	    -1) {
		err_set(
		    err, EIK_INVAL, "%s/%s: path too long", vm_dir, AUDIT_FILE);
		return -1;
	}
	(void)metrics_register(&lines_family);
	(void)metrics_register(&fail_family);
	a->al_torn = ends_cut(a->al_path);
	return 0;
}

static json_t *
by_json(const struct origin *o)
{
	json_t *by = json_object();

	if (by == NULL)
		return NULL;
	if (o->o_via != ORIGIN_NONE)
		json_object_set_new(
		    by, "via", json_string(origin_via_name(o->o_via)));
	if (o->o_group[0] != '\0')
		json_object_set_new(by, "group", json_string(o->o_group));
	if (o->o_transport == ORIGIN_UNIX) {
		json_object_set_new(by, "transport", json_string("unix"));
		if (o->o_uid >= 0)
			json_object_set_new(by, "uid", json_integer(o->o_uid));
		if (o->o_gid >= 0)
			json_object_set_new(by, "gid", json_integer(o->o_gid));
		if (o->o_pid >= 0)
			json_object_set_new(by, "pid", json_integer(o->o_pid));
	} else if (o->o_transport == ORIGIN_TCP) {
		json_object_set_new(by, "transport", json_string("tcp"));
		if (o->o_addr[0] != '\0')
			json_object_set_new(
			    by, "address", json_string(o->o_addr));
	}
	if (o->o_agent[0] != '\0')
		json_object_set_new(by, "agent", json_string(o->o_agent));
	return by;
}

/* A string as JSON: one that is not UTF-8 (an ID from a request) as its
 * bytes with the others replaced, never dropped. */
static json_t *
jstr(const char *s)
{
	json_t *v = json_string(s);
	char *t;

	if (v != NULL)
		return v;
	if ((t = strdup(s)) == NULL)
		return NULL;
	for (char *p = t; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	v = json_string(t);
	free(t);
	return v;
}

char *
audit_line(const struct audit_rec *r)
{
	char ts[LOG_TIME_MAX], rid[LOG_REQID_MAX];
	json_t *o = json_object();
	char *text = NULL, *line;
	size_t n;

	if (o == NULL)
		return NULL;
	json_object_set_new(
	    o, "time", json_string(log_time(r->ar_time_ms, ts, sizeof(ts))));
	json_object_set_new(o, "instance", jstr(r->ar_instance));
	json_object_set_new(
	    o, "outcome", json_string(audit_outcome_name(r->ar_outcome)));
	if (r->ar_reason[0] != '\0')
		json_object_set_new(o, "reason", jstr(r->ar_reason));
	if (r->ar_state[0] != '\0')
		json_object_set_new(o, "state", json_string(r->ar_state));
	json_object_set_new(o, "by", by_json(&r->ar_from));
	if (r->ar_reqno != 0)
		json_object_set_new(o, "request_id",
		    json_string(log_reqid(r->ar_reqno, rid, sizeof(rid))));
	if (r->ar_error[0] != '\0')
		json_object_set_new(o, "error", jstr(r->ar_error));
	if (r->ar_attempt > 0)
		json_object_set_new(o, "attempt", json_integer(r->ar_attempt));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	if ((line = malloc(n + 2)) != NULL) {
		memcpy(line, text, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	free(text);
	return line;
}

int
audit_log_append(
    struct audit_log *a, const struct audit_rec *v, size_t n, struct err *err)
{
	struct buf b;
	int rc = -1;

	buf_init(&b, AUDIT_BATCH_MAX);
	/* A line the last failure may have cut ends here, not in ours. */
	if (a->al_torn && buf_addc(&b, '\n') == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char *line = audit_line(&v[i]);

		if (line == NULL || buf_addstr(&b, line) == -1) {
			free(line);
			err_set(err, EIK_INTERNAL,
			    "out of memory formatting the audit log's lines");
			goto out;
		}
		free(line);
	}
	if (append_durable(
		a->al_path, b.b_data, b.b_len, AUDIT_FILE_MODE, err) == -1) {
		a->al_torn = true;
		goto out;
	}
	a->al_torn = false;
	for (size_t i = 0; i < n; i++)
		metrics_inc(&lines_family, (size_t)v[i].ar_outcome - 1, 0);
	rc = 0;
out:
	if (rc == -1)
		metrics_inc(&fail_family, 0, 0);
	buf_free(&b);
	return rc;
}
