/*
 * Group spec to canonical JSON. See gspecjson.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/dur.h"
#include "util/err.h"
#include "group/gspecjson.h"

static void
oom(struct err *err)
{
	err_set(err, EIK_INTERNAL, "out of memory");
}

/* The serialiser's output: a capped buffer with a sticky failure, so one
 * check at the end covers every write. */
struct jw {
	struct buf w_b;
	bool w_fail;
};

static void
jw_raw(struct jw *w, const char *s)
{
	if (!w->w_fail && buf_addstr(&w->w_b, s) == -1)
		w->w_fail = true;
}

static void jw_printf(struct jw *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
jw_printf(struct jw *w, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	jw_raw(w, tmp);
}

/* A JSON string: ", \ and control bytes escaped, the rest as is. */
static void
jw_str(struct jw *w, const char *s)
{
	char c[2] = { 0, 0 };

	jw_raw(w, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			jw_printf(w, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			jw_printf(w, "\\u%04x", (unsigned)(unsigned char)*s);
		else {
			c[0] = *s;
			jw_raw(w, c);
		}
	}
	jw_raw(w, "\"");
}

static void
jw_plugin(struct jw *w, const char *key, const struct gspec_plugin *p)
{
	jw_printf(w, "\"%s\":{\"Plugin\":", key);
	jw_str(w, p->gp_name);
	jw_raw(w, ",\"Properties\":");
	jw_raw(w, p->gp_props != NULL ? p->gp_props : "null");
	jw_raw(w, "},");
}

static void
jw_dur(struct jw *w, const char *key, int64_t ns, const char *after)
{
	char d[DUR_TEXT_MAX];

	dur_format(ns, d);
	jw_printf(w, "\"%s\":\"%s\"%s", key, d, after);
}

char *
gspecjson_dump(const struct group_spec *g, struct err *err)
{
	struct jw w = { .w_fail = false };
	char *s = NULL;

	buf_init(&w.w_b, GSPECJSON_MAX);
	jw_raw(&w, "{\"ID\":");
	jw_str(&w, g->g_id);
	jw_printf(&w,
	    ",\"Properties\":{\"Allocation\":{\"Size\":%zu,\"LogicalIDs\":",
	    g->g_size);
	if (g->g_n_lids == 0)
		jw_raw(&w, "null");
	for (size_t i = 0; i < g->g_n_lids; i++) {
		jw_raw(&w, i == 0 ? "[" : ",");
		jw_str(&w, g->g_lids[i]);
	}
	jw_raw(&w, g->g_n_lids > 0 ? "]}," : "},");
	jw_plugin(&w, "Instance", &g->g_instance);
	jw_plugin(&w, "Flavor", &g->g_flavor);
	jw_printf(&w, "\"Updating\":{\"Count\":%u,", g->g_count);
	jw_dur(&w, "Duration", g->g_duration_ns, ",");
	jw_printf(&w,
	    "\"SkipBeforeInstanceDestroy\":%s,\"MaxUnavailable\":%u,"
	    "\"MaxSurge\":%u},",
	    g->g_skip_drain ? "\"drain\"" : "null", g->g_max_unavailable,
	    g->g_max_surge);
	jw_printf(&w,
	    "\"Recovery\":{\"RestartPolicy\":\"%s\",\"MaxFailures\":%u,",
	    g->g_restart == GSPEC_RESTART_RESTART ? "restart" : "replace",
	    g->g_max_failures);
	jw_dur(&w, "Backoff", g->g_backoff_ns, ",");
	jw_dur(&w, "BackoffMax", g->g_backoff_max_ns, "}}}");
	if (w.w_fail)
		err_set(err, EIK_INVAL,
		    "the group spec does not fit in %d bytes of JSON",
		    GSPECJSON_MAX);
	else if ((s = buf_steal(&w.w_b)) == NULL)
		oom(err);
	buf_free(&w.w_b);
	return s;
}
