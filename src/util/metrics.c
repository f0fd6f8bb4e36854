/*
 * Metrics: the registry and the text exposition format. See metrics.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/metrics.h"

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mfamily *metrics_head, *metrics_tail;

static _Atomic uint64_t start_cells[1];
static struct mfamily start_family = {
	.mf_name = "process_start_time_seconds",
	.mf_help =
	    "Start time of the process since the Unix epoch, in seconds.",
	.mf_type = MT_GAUGE,
	.mf_cells = start_cells,
	.mf_ncells = 1,
};

size_t
metrics_outcome(int err_code)
{
	if (err_code < 0 || err_code >= METRICS_N_OUTCOMES)
		return EIK_INTERNAL;
	return (size_t)err_code;
}

int64_t
mono_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
metrics_init(void)
{
	if (metrics_register(&start_family) == 0 &&
	    atomic_load_explicit(&start_cells[0], memory_order_relaxed) == 0)
		metrics_set(&start_family, 0, 0, (uint64_t)(wall_ms() / 1000));
}

/* ---- registering -------------------------------------------------------- */

static bool
name_ok(const char *s, bool colon)
{
	if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '_' ||
			(colon && *s == ':')))
			return false;
	return true;
}

static size_t
nlabels(const struct mfamily *f)
{
	size_t n = 0;

	while (n < METRICS_MAX_LABELS && f->mf_label[n] != NULL)
		n++;
	return n;
}

static size_t
nvalues(const struct mfamily *f, size_t l)
{
	return l < nlabels(f) ? f->mf_nvalues[l] : 1;
}

/* Whether f can be rendered and counted into as declared. */
static bool
family_ok(const struct mfamily *f)
{
	size_t nb = f->mf_type == MT_HISTOGRAM ? f->mf_nbounds : 0;
	size_t len = strlen(f->mf_name != NULL ? f->mf_name : "");

	if (!name_ok(f->mf_name, true) || f->mf_help == NULL ||
	    strchr(f->mf_help, '\n') != NULL || f->mf_cells == NULL)
		return false;
	if ((f->mf_type == MT_COUNTER) !=
	    (len > 6 && strcmp(f->mf_name + len - 6, "_total") == 0))
		return false;
	for (size_t l = 0; l < nlabels(f); l++) {
		if (!name_ok(f->mf_label[l], false) ||
		    strncmp(f->mf_label[l], "__", 2) == 0 ||
		    strcmp(f->mf_label[l], "le") == 0 ||
		    f->mf_values[l] == NULL || f->mf_nvalues[l] == 0)
			return false;
		for (size_t v = 0; v < f->mf_nvalues[l]; v++)
			if (f->mf_values[l][v] == NULL)
				return false;
	}
	if (f->mf_type == MT_HISTOGRAM) {
		if (f->mf_sums == NULL || f->mf_bounds_ns == NULL || nb == 0)
			return false;
		for (size_t i = 1; i < nb; i++)
			if (f->mf_bounds_ns[i] <= f->mf_bounds_ns[i - 1])
				return false;
	}
	return f->mf_ncells >= METRICS_CELLS(nvalues(f, 0), nvalues(f, 1), nb);
}

int
metrics_register(struct mfamily *f)
{
	int rc = 0;

	(void)pthread_mutex_lock(&metrics_mu);
	if (f->mf_registered)
		goto out;
	if (!family_ok(f)) {
		rc = -1;
		goto out;
	}
	f->mf_next = NULL;
	if (metrics_tail != NULL)
		metrics_tail->mf_next = f;
	else
		metrics_head = f;
	metrics_tail = f;
	f->mf_registered = true;
out:
	(void)pthread_mutex_unlock(&metrics_mu);
	return rc;
}

/* ---- updating ----------------------------------------------------------- */

/* The combination's index, or -1 when an index is out of range. */
static long
combo(const struct mfamily *f, size_t i0, size_t i1)
{
	size_t n0 = nvalues(f, 0), n1 = nvalues(f, 1);

	if (i0 >= n0 || i1 >= n1)
		return -1;
	return (long)(i0 * n1 + i1);
}

void
metrics_add(struct mfamily *f, size_t i0, size_t i1, uint64_t n)
{
	long c = combo(f, i0, i1);

	if (c >= 0 && f->mf_type != MT_HISTOGRAM)
		(void)atomic_fetch_add_explicit(
		    &f->mf_cells[c], n, memory_order_relaxed);
}

void
metrics_sub(struct mfamily *f, size_t i0, size_t i1, uint64_t n)
{
	long c = combo(f, i0, i1);

	if (c >= 0 && f->mf_type == MT_GAUGE)
		(void)atomic_fetch_sub_explicit(
		    &f->mf_cells[c], n, memory_order_relaxed);
}

void
metrics_set(struct mfamily *f, size_t i0, size_t i1, uint64_t v)
{
	long c = combo(f, i0, i1);

	if (c >= 0 && f->mf_type == MT_GAUGE)
		atomic_store_explicit(&f->mf_cells[c], v, memory_order_relaxed);
}

void
metrics_observe(struct mfamily *f, size_t i0, size_t i1, int64_t ns)
{
	long c = combo(f, i0, i1);
	size_t b = 0, nb = f->mf_nbounds;
	uint64_t v = ns > 0 ? (uint64_t)ns : 0;

	if (c < 0 || f->mf_type != MT_HISTOGRAM)
		return;
	/* The first bound at or above v (le: less than or equal). */
	while (b < nb && v > f->mf_bounds_ns[b])
		b++;
	(void)atomic_fetch_add_explicit(
	    &f->mf_cells[(size_t)c * (nb + 1) + b], 1, memory_order_relaxed);
	(void)atomic_fetch_add_explicit(
	    &f->mf_sums[c], v, memory_order_relaxed);
}

uint64_t
metrics_get(const struct mfamily *f, size_t i0, size_t i1)
{
	long c = combo(f, i0, i1);
	uint64_t n = 0;

	if (c < 0)
		return 0;
	if (f->mf_type != MT_HISTOGRAM)
		return atomic_load_explicit(
		    &f->mf_cells[c], memory_order_relaxed);
	for (size_t b = 0; b <= f->mf_nbounds; b++)
		n += atomic_load_explicit(
		    &f->mf_cells[(size_t)c * (f->mf_nbounds + 1) + b],
		    memory_order_relaxed);
	return n;
}

/* ---- writing ------------------------------------------------------------ */

int
metrics_escape_label(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		int rc;

		if (*s == '\\')
			rc = buf_addstr(out, "\\\\");
		else if (*s == '"')
			rc = buf_addstr(out, "\\\"");
		else if (*s == '\n')
			rc = buf_addstr(out, "\\n");
		else
			rc = buf_addc(out, *s);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* HELP text: \ and newline escaped. */
static int
escape_help(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s == '\\'		 ? buf_addstr(out, "\\\\")
			    : *s == '\n' ? buf_addstr(out, "\\n")
					 : buf_addc(out, *s)) == -1)
			return -1;
	return 0;
}

int
metrics_write_head(
    struct buf *out, const char *name, const char *type, const char *help)
{
	if (buf_printf(out, "# HELP %s ", name) == -1 ||
	    escape_help(out, help) == -1)
		return -1;
	return buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

int
metrics_write_sample(struct buf *out, const char *name, const char *label,
    const char *value, uint64_t v)
{
	if (buf_addstr(out, name) == -1)
		return -1;
	if (label != NULL &&
	    (buf_printf(out, "{%s=\"", label) == -1 ||
		metrics_escape_label(out, value) == -1 ||
		buf_addstr(out, "\"}") == -1))
		return -1;
	return buf_printf(out, " %llu\n", (unsigned long long)v);
}

/* name[suffix]{labels of combination (i0, i1)[,le="..."]} */
static int
write_series(struct buf *out, const struct mfamily *f, const char *suffix,
    size_t i0, size_t i1, const char *le)
{
	size_t idx[2] = { i0, i1 }, n = nlabels(f);

	if (buf_addstr(out, f->mf_name) == -1 || buf_addstr(out, suffix) == -1)
		return -1;
	if (n == 0 && le == NULL)
		return 0;
	if (buf_addc(out, '{') == -1)
		return -1;
	for (size_t l = 0; l < n; l++)
		if (buf_printf(out, "%s%s=\"", l > 0 ? "," : "",
			f->mf_label[l]) == -1 ||
		    metrics_escape_label(out, f->mf_values[l][idx[l]]) == -1 ||
		    buf_addc(out, '"') == -1)
			return -1;
	if (le != NULL &&
	    buf_printf(out, "%sle=\"%s\"", n > 0 ? "," : "", le) == -1)
		return -1;
	return buf_addc(out, '}');
}

static int
write_histogram(
    struct buf *out, const struct mfamily *f, size_t i0, size_t i1, long c)
{
	size_t nb = f->mf_nbounds;
	uint64_t cum = 0, sum;
	char le[32];

	for (size_t b = 0; b <= nb; b++) {
		cum +=
		    atomic_load_explicit(&f->mf_cells[(size_t)c * (nb + 1) + b],
			memory_order_relaxed);
		if (b < nb)
			(void)snprintf(le, sizeof(le), "%g",
			    (double)f->mf_bounds_ns[b] / 1e9);
		else
			(void)strlcpy(le, "+Inf", sizeof(le));
		if (write_series(out, f, "_bucket", i0, i1, le) == -1 ||
		    buf_printf(out, " %llu\n", (unsigned long long)cum) == -1)
			return -1;
	}
	sum = atomic_load_explicit(&f->mf_sums[c], memory_order_relaxed);
	if (write_series(out, f, "_sum", i0, i1, NULL) == -1 ||
	    buf_printf(out, " %llu.%09llu\n",
		(unsigned long long)(sum / 1000000000),
		(unsigned long long)(sum % 1000000000)) == -1 ||
	    write_series(out, f, "_count", i0, i1, NULL) == -1)
		return -1;
	return buf_printf(out, " %llu\n", (unsigned long long)cum);
}

int
metrics_render_family(struct buf *out, const struct mfamily *f)
{
	static const char *const types[] = { [MT_COUNTER] = "counter",
		[MT_GAUGE] = "gauge",
		[MT_HISTOGRAM] = "histogram" };
	size_t n0 = nvalues(f, 0), n1 = nvalues(f, 1);

	if (metrics_write_head(
		out, f->mf_name, types[f->mf_type], f->mf_help) == -1)
		return -1;
	for (size_t i0 = 0; i0 < n0; i0++)
		for (size_t i1 = 0; i1 < n1; i1++) {
			long c = combo(f, i0, i1);
			uint64_t v = metrics_get(f, i0, i1);

			if (v == 0 && (f->mf_flags & MF_ALL) == 0 &&
			    nlabels(f) > 0)
				continue;
			if (f->mf_type == MT_HISTOGRAM) {
				if (write_histogram(out, f, i0, i1, c) == -1)
					return -1;
				continue;
			}
			if (write_series(out, f, "", i0, i1, NULL) == -1 ||
			    buf_printf(out, " %llu\n", (unsigned long long)v) ==
				-1)
				return -1;
		}
	return 0;
}

int
metrics_render(struct buf *out)
{
	int rc = 0;

	(void)pthread_mutex_lock(&metrics_mu);
	for (const struct mfamily *f = metrics_head; f != NULL && rc == 0;
	     f = f->mf_next)
		rc = metrics_render_family(out, f);
	(void)pthread_mutex_unlock(&metrics_mu);
	return rc;
}
