/*
 * Start-up: what a crash (or a kill -9) left becomes the service's state.
 *
 *  1. The store is opened (locked) and .staging emptied.
 *  2. The journal is replayed into an overlay: the newest entry of each ID
 *     (a record, or a tombstone). Damaged entries are skipped and counted;
 *     every intact entry after them still counts.
 *  3. instance.json files are loaded (tolerantly, see store/record.h); an
 *     overlay entry newer than the file wins. An ID directory without a
 *     record is removed only when nothing can claim it: not when the
 *     journal holds it, and not when the journal was damaged (then it is
 *     kept and logged: never delete on a guess).
 *  4. Overlay records without a file are loaded from the journal; records
 *     that came from the journal are written as instance.json later, by the
 *     record writer, before the journal is emptied.
 *  5. Interrupted work is queued: provisions resume, destroys finish,
 *     interrupted rollbacks are completed.
 * Nothing here needs new disk space, so a full disk does not stop a start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"
#include "store/ids.h"
#include "util/compat.h"
#include "util/fsutil.h"
#include "util/log.h"

struct ov {
	char o_id[ID_MAX];
	uint64_t o_seq;
	long o_order; /* position in the journal */
	bool o_tomb;
	bool o_used;
	bool o_parsed;	     /* o_rec filled */
	struct record o_rec; /* parsed (not for tombstones) */
	char *o_text;
};

struct overlay {
	struct ov *v;
	size_t n, cap;
	long order;
	uint64_t max_id;
	struct service *sv;
	bool migrated;
};

static void
overlay_free(struct overlay *o)
{
	for (size_t i = 0; i < o->n; i++) {
		record_free(&o->v[i].o_rec);
		free(o->v[i].o_text);
	}
	free(o->v);
}

static int
ov_cmp(const void *a, const void *b)
{
	const struct ov *x = a, *y = b;
	int c = strcmp(x->o_id, y->o_id);

	if (c != 0)
		return c;
	if (x->o_seq != y->o_seq)
		return x->o_seq < y->o_seq ? -1 : 1;
	return x->o_order < y->o_order ? -1 : x->o_order > y->o_order;
}

/* "<id>,<seq>,R|T": 0, or -1 when it is not such a key. */
static int
parse_key(const char *key, struct ov *e)
{
	const char *c1 = strchr(key, ','), *c2;
	const char *errstr;
	char num[32];

	if (c1 == NULL || (size_t)(c1 - key) >= sizeof(e->o_id) ||
	    (c2 = strchr(c1 + 1, ',')) == NULL ||
	    (size_t)(c2 - c1 - 1) >= sizeof(num) ||
	    (c2[1] != 'R' && c2[1] != 'T') || c2[2] != '\0')
		return -1;
	memcpy(e->o_id, key, (size_t)(c1 - key));
	e->o_id[c1 - key] = '\0';
	memcpy(num, c1 + 1, (size_t)(c2 - c1 - 1));
	num[c2 - c1 - 1] = '\0';
	e->o_seq = parse_uint(num, 0, UINT64_MAX, &errstr);
	e->o_tomb = c2[1] == 'T';
	return errstr == NULL ? 0 : -1;
}

/* Reads an entry's record (for a keyless entry, or the newest one of an
 * ID). 0, or -1 when it is unreadable (logged; the entry is skipped). */
static int
parse_entry(struct ov *e)
{
	struct err err;

	err_clear(&err);
	if (record_from_text(
		e->o_text, strlen(e->o_text), &e->o_rec, NULL, 0, &err) == -1) {
		log_error(
		    "journal: an entry is unreadable (%s); skipped", err.msg);
		record_free(&e->o_rec);
		return -1;
	}
	e->o_parsed = true;
	return 0;
}

static int
on_entry(void *arg, const char *key, const char *data, size_t len)
{
	struct overlay *o = arg;
	struct ov *e;
	uint64_t v;

	if (o->n == o->cap) {
		size_t cap = o->cap == 0 ? 64 : o->cap * 2;
		struct ov *nv = realloc(o->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		o->v = nv;
		o->cap = cap;
	}
	e = &o->v[o->n];
	memset(e, 0, sizeof(*e));
	e->o_text = strndup(data, len);
	if (e->o_text == NULL)
		return -1;
	if (key == NULL || parse_key(key, e) == -1) {
		/* No key (0.1.0): read the record itself. */
		if (parse_entry(e) == -1) {
			free(e->o_text);
			return 0;
		}
		(void)strlcpy(e->o_id, e->o_rec.r_id, sizeof(e->o_id));
		e->o_seq = e->o_rec.r_seq;
		e->o_tomb = e->o_rec.r_removed;
	}
	e->o_order = o->order++;
	if (id_decode(e->o_id, &v) == 0 && v > o->max_id)
		o->max_id = v;
	o->n++;
	return 0;
}

/* Keeps the newest entry of each ID. */
static void
overlay_reduce(struct overlay *o)
{
	size_t w = 0;

	if (o->n > 0)
		qsort(o->v, o->n, sizeof(o->v[0]), ov_cmp);
	for (size_t i = 0; i < o->n; i++) {
		if (i + 1 < o->n &&
		    strcmp(o->v[i].o_id, o->v[i + 1].o_id) == 0) {
			record_free(&o->v[i].o_rec);
			free(o->v[i].o_text);
			continue;
		}
		o->v[w++] = o->v[i];
	}
	o->n = w;
	/* Only the newest entry of each ID is read. */
	w = 0;
	for (size_t i = 0; i < o->n; i++) {
		if (!o->v[i].o_tomb && !o->v[i].o_parsed &&
		    parse_entry(&o->v[i]) == -1) {
			free(o->v[i].o_text);
			continue;
		}
		o->v[w++] = o->v[i];
	}
	o->n = w;
}

static struct ov *
overlay_get(struct overlay *o, const char *id)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(o->v[mid].o_id, id);

		if (c == 0)
			return &o->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- building the index ------------------------------------------------ */

static const struct bkent *
find_backend(const struct service *sv, const char *name)
{
	for (size_t i = 0; i < sv->sv_nbk; i++)
		if (strcmp(sv->sv_bk[i].be_ops->name, name) == 0)
			return &sv->sv_bk[i];
	return NULL;
}

/* Takes r (and text: the journal's, when the record came from there). */
static int
adopt(struct service *sv, struct record *r, char *text)
{
	const struct bkent *bk = find_backend(sv, r->r_backend);
	struct inst *in;

	if (bk == NULL) {
		/* Kept on disk, untouched, for a plugin with that backend. */
		log_warnx("instance %s belongs to backend \"%s\", which is not "
			  "running here; leaving it alone",
		    r->r_id, r->r_backend);
		if (text != NULL)
			(void)store_write_text(
			    &sv->sv_store, r->r_id, text, 0, NULL);
		record_free(r);
		free(text);
		return 0;
	}
	if ((in = inst_new()) == NULL) {
		record_free(r);
		free(text);
		return -1;
	}
	in->in_rec = *r;
	memset(r, 0, sizeof(*r));
	in->in_bk = bk;
	in->in_power = POWER_UNKNOWN;
	in->in_durable_seq = in->in_rec.r_seq;
	in->in_mat_seq = text != NULL ? 0 : in->in_rec.r_seq;
	inst_rehash(in);
	if (index_insert(sv, in) == -1) {
		inst_free(in);
		free(text);
		return -1;
	}
	if (text != NULL) {
		in->in_text = text;
		in->in_counted = true;
		sv->sv_unmat++;
		durable_dirty(sv, in);
	}
	return 0;
}

static int
scan_record(void *arg, struct record *r)
{
	struct overlay *o = arg;
	struct ov *e = overlay_get(o, r->r_id);
	int rc;

	if (e != NULL && !o->migrated && e->o_seq >= r->r_seq) {
		e->o_used = true;
		record_free(r);
		free(r);
		if (e->o_tomb) {
			/* Destroyed; its directory was still to go. */
			log_info("instance %s: finishing its removal", e->o_id);
			(void)store_remove(&o->sv->sv_store, e->o_id, NULL);
			return 0;
		}
		rc = adopt(o->sv, &e->o_rec, e->o_text);
		e->o_text = NULL;
		return rc;
	}
	if (e != NULL)
		e->o_used = true;
	rc = adopt(o->sv, r, NULL);
	free(r);
	return rc;
}

static int
scan_orphan(void *arg, const char *id)
{
	struct overlay *o = arg;
	struct ov *e = overlay_get(o, id);

	if (e != NULL && !e->o_tomb)
		return 0; /* its record is in the journal */
	if (e == NULL && o->sv->sv_journal_damaged) {
		log_warnx("%s/%s has no record, and the journal was damaged: "
			  "kept, not managed; remove it once you are sure it "
			  "is not needed",
		    o->sv->sv_conf.sc_vm_dir, id);
		return 0;
	}
	return 1;
}

/* 0.1.0's journal held only new records: write those whose instance.json
 * is missing, the way 0.1.0 did, before the new format replaces it. */
static int
migrate(struct service *sv, struct overlay *o, struct err *err)
{
	for (size_t i = 0; i < o->n; i++) {
		char dir[PATH_BUF], path[PATH_BUF];
		char *text = NULL;
		size_t len;

		if (store_inst_dir(
			&sv->sv_store, o->v[i].o_id, dir, sizeof(dir)) == -1 ||
		    path_join(path, sizeof(path), dir, "instance.json") == -1)
			continue;
		if (read_file_max(path, RECORD_MAX_SIZE, &text, &len, NULL) ==
		    0) {
			free(text);
			continue;
		}
		log_info("journal: recording instance %s", o->v[i].o_id);
		if (store_write_text(&sv->sv_store, o->v[i].o_id,
			o->v[i].o_text, 0, err) == -1) {
			err_prefix(err,
			    "cannot convert the journal of 0.1.0 (free some "
			    "space on %s and start again)",
			    sv->sv_conf.sc_vm_dir);
			return -1;
		}
	}
	return 0;
}

static void
queue_recovered(struct service *sv)
{
	for (size_t i = 0; i < sv->sv_n; i++) {
		struct inst *in = sv->sv_v[i];
		char d[PATH_BUF], b[PATH_BUF];

		switch (in->in_rec.r_state) {
		case ST_PROVISIONING:
			log_info("instance %s: resuming its provision",
			    in->in_rec.r_id);
			break;
		case ST_DESTROYING:
			log_info("instance %s: finishing its destroy",
			    in->in_rec.r_id);
			break;
		case ST_FAILED:
			sv->sv_failed++;
			in->in_cleanup =
			    (store_staging_dir(&sv->sv_store, in->in_rec.r_id,
				 d, sizeof(d)) == 0 &&
				is_dir(d)) ||
			    (store_bundle_dir(&sv->sv_store, in->in_rec.r_id, b,
				 sizeof(b)) == 0 &&
				is_dir(b));
			break;
		case ST_RUNNING:
			work_net_reset(in);
			break;
		}
		work_kick(sv, in);
	}
}

static int
load_all(
    struct service *sv, struct overlay *o, uint64_t *max_id, struct err *err)
{
	struct store_scan sc = { scan_record, scan_orphan, o };
	long n;

	n = store_load(&sv->sv_store, &sc, max_id, err);
	if (n < 0)
		return -1;
	for (size_t i = 0; i < o->n && !o->migrated; i++) {
		struct ov *e = &o->v[i];

		if (e->o_used || e->o_tomb)
			continue;
		/* Recorded in the journal only (never written out). */
		if (adopt(sv, &e->o_rec, e->o_text) == -1) {
			e->o_text = NULL;
			err_set(err, EIK_INTERNAL, "out of memory");
			return -1;
		}
		e->o_text = NULL;
	}
	return 0;
}

int
recover(struct service *sv, struct err *err)
{
	struct overlay o;
	struct journal_stats js;
	char path[PATH_BUF];
	uint64_t max_id = 0;
	int64_t t0 = mono_ms();
	int rc = -1;

	memset(&o, 0, sizeof(o));
	o.sv = sv;
	if (store_open(&sv->sv_store, sv->sv_conf.sc_vm_dir, err) == -1)
		return -1;
	sv->sv_store_open = true;
	if (store_clean_staging(&sv->sv_store, err) == -1) {
		log_warnx("%s", err->msg);
		err_clear(err);
	}
	if (path_join(path, sizeof(path), sv->sv_conf.sc_vm_dir, ".journal") ==
		-1 ||
	    journal_open(&sv->sv_journal, path, err) == -1 ||
	    journal_replay(sv->sv_journal, on_entry, &o, &js, err) == -1)
		goto out;
	if (js.js_damaged > 0 || js.js_lost > 0) {
		sv->sv_journal_damaged = true;
		log_error("journal %s: %ld damaged region(s), %ld entries "
			  "missing; %ld intact entries recovered. Instances "
			  "without a record are kept, not deleted",
		    path, js.js_damaged, js.js_lost, js.js_entries);
	}
	overlay_reduce(&o);
	o.migrated = js.js_migrated;
	if (o.migrated && migrate(sv, &o, err) == -1)
		goto out;
	if (load_all(sv, &o, &max_id, err) == -1)
		goto out;
	sv->sv_jused = journal_used(sv->sv_journal);
	if (path_join(path, sizeof(path), sv->sv_conf.sc_vm_dir, ".idseq") ==
		-1 ||
	    idgen_open(&sv->sv_ids, path, max_id > o.max_id ? max_id : o.max_id,
		err) == -1)
		goto out;
	sv->sv_ids_open = true;
	queue_recovered(sv);
	log_info("store %s: %zu instances loaded in %lld ms",
	    sv->sv_conf.sc_vm_dir, sv->sv_n, (long long)(mono_ms() - t0));
	rc = 0;
out:
	overlay_free(&o);
	return rc;
}
