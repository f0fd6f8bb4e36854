/*
 * Metrics: counters, gauges and histograms that any thread updates with one
 * relaxed atomic add (no lock, no allocation), and their rendering in
 * Prometheus' text exposition format 0.0.4 for GET /metrics.
 *
 * A family is a static struct mfamily in the module that counts, with
 * static storage for its cells: one per combination of label values (at
 * most two labels, each with a fixed list of values, so the number of
 * series is bounded), and for a histogram one per bucket of each
 * combination plus a sum. The module registers it once (metrics_register,
 * at start-up: the registry's mutex is taken there and while rendering,
 * never by an update). Values that only one thread knows (the service's
 * instances by state) are not families: that thread answers a snapshot
 * and the renderer writes them with metrics_write_head/_sample.
 *
 * A histogram keeps the count of each bucket, not cumulative ones: the
 * renderer reads every bucket once, adds them up for the cumulative le
 * lines, and prints that total as both +Inf and _count, so the two always
 * agree and the buckets always rise even while others observe.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct buf;

#define METRICS_MAX_LABELS 2

enum mtype { MT_COUNTER = 1, MT_GAUGE, MT_HISTOGRAM };

/* mf_flags */
#define MF_ALL                                                                 \
	0x1 /* every combination is written, zeros too (else only              \
	     * the combinations that were ever counted) */

struct mfamily {
	const char *mf_name; /* counters end in _total */
	const char *mf_help; /* one line */
	enum mtype mf_type;
	unsigned mf_flags;
	const char *mf_label[METRICS_MAX_LABELS]; /* NULL after the last */
	const char *const *mf_values[METRICS_MAX_LABELS];
	size_t mf_nvalues[METRICS_MAX_LABELS];
	const uint64_t *mf_bounds_ns; /* histograms: ascending upper bounds */
	size_t mf_nbounds;
	/* Counters and gauges: one cell per combination; histograms:
	 * mf_nbounds + 1 per combination (the last: above every bound). */
	_Atomic uint64_t *mf_cells;
	_Atomic uint64_t *mf_sums; /* histograms: nanoseconds */
	size_t mf_ncells;	   /* the cells' size, checked */
	/* The registry's. */
	struct mfamily *mf_next;
	bool mf_registered;
};

/* The cells a family of n0 x n1 combinations (and nb bounds) needs. */
#define METRICS_CELLS(n0, n1, nb) ((size_t)(n0) * (size_t)(n1) * ((nb) + 1))

/* The outcome label's values: "ok", then the name of each error code
 * (err_code_name) at its code's index. */
#define METRICS_N_OUTCOMES EIK_NCODES
#define metrics_outcome_names err_code_names
/* The index of err_code (an enum err_code; EIK_OK for success) among
 * them. */
size_t metrics_outcome(int err_code);

/* Notes the process start time (process_start_time_seconds). */
void metrics_init(void);

/*
 * Adds f to what metrics_render writes (once; later calls do nothing).
 * Returns -1, registering nothing, when f is malformed (a name or label
 * outside Prometheus' grammar, cells too few): a programming error.
 */
int metrics_register(struct mfamily *f);

/* Updates; an index past its label's values is ignored. */
void metrics_add(struct mfamily *f, size_t i0, size_t i1, uint64_t n);
void metrics_sub(struct mfamily *f, size_t i0, size_t i1, uint64_t n);
void metrics_set(struct mfamily *f, size_t i0, size_t i1, uint64_t v);
void metrics_observe(struct mfamily *f, size_t i0, size_t i1, int64_t ns);
#define metrics_inc(f, i0, i1) metrics_add((f), (i0), (i1), 1)
/* A counter's or gauge's value; a histogram's count. */
uint64_t metrics_get(const struct mfamily *f, size_t i0, size_t i1);

/* Writes every registered family. 0, or -1 when out grew past its cap. */
int metrics_render(struct buf *out);
int metrics_render_family(struct buf *out, const struct mfamily *f);

/* For values taken at scrape time: the HELP and TYPE lines, then samples
 * with no label (label NULL) or one. */
int metrics_write_head(
    struct buf *out, const char *name, const char *type, const char *help);
int metrics_write_sample(struct buf *out, const char *name, const char *label,
    const char *value, uint64_t v);
/* Appends s as a label value: \ " and newline escaped. */
int metrics_escape_label(struct buf *out, const char *s);

/* Monotonic nanoseconds, for durations. */
int64_t mono_ns(void);

#endif /* METRICS_H */
