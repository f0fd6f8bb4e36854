/*
 * The controller thread, its mailboxes, the table of groups and the
 * requests it sends the service. See gctl.h; the clients' requests are in
 * greq.c and keeping groups at their spec in reconcile.c.
 *
 * The loop: wait on the doorbell (or the next timer), take every answer of
 * the service and every client request, handle them, start the next
 * client request, then look at every group that needs it. Handling never
 * blocks on another thread; the only slow thing it does is writing a
 * group file (a commit, the end of a roll, a failure), which is rare.
 *
 * Stopping: gctl_stop posts GCTL_STOP. The controller closes its inbox
 * (later submits are answered "shutting down" inline), refuses what waits,
 * lets the request in progress finish, starts nothing new and waits for
 * every service request it has out. The watch and restarts are the
 * exceptions: the service answers the watch only when something changes
 * and a start only when the VM has started (a hung hypervisor: up to
 * --op-timeout), so the controller orphans them (o_state) and the callback
 * frees each whenever its answer comes.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/ginternal.h"
#include "group/vanilla.h"
#include "model/specjson.h"
#include "util/compat.h"
#include "util/log.h"

/* ---- requests to the service -------------------------------------------- */

/* On the service's thread: post, nothing else. */
static void
gop_done(struct svc_req *r, void *arg)
{
	struct gop *o = arg;

	(void)r;
	if (atomic_exchange(&o->o_state, GOP_ANSWERED) == GOP_ORPHANED) {
		svc_req_free(o->o_sr);
		free(o);
		return;
	}
	if (mbox_post(&o->o_ctl->c_results, &o->o_msg) == -1)
		abort(); /* c_results is never closed while gops are out */
}

struct gop *
gop_new(struct gctl *c, enum gop_kind kind, struct group *g, struct gctl_req *r,
    enum svc_op op)
{
	struct gop *o = calloc(1, sizeof(*o));

	if (o == NULL || (o->o_sr = svc_req_new(op)) == NULL) {
		free(o);
		return NULL;
	}
	o->o_kind = kind;
	o->o_ctl = c;
	o->o_group = g;
	o->o_req = r;
	atomic_init(&o->o_state, GOP_OUT);
	o->o_sr->sr_reqno = r != NULL ? r->gr_reqno
	    : g != NULL		      ? g->g_reqno
				      : 0;
	o->o_sr->sr_done = gop_done;
	o->o_sr->sr_done_arg = o;
	if (g != NULL)
		g->g_refs++;
	return o;
}

void
gop_submit(struct gctl *c, struct gop *o)
{
	if (o->o_kind != GOP_WATCH)
		c->c_out++;
	c->c_conf.gc_svc->ops->submit(c->c_conf.gc_svc->ctx, o->o_sr);
}

static void
group_free(struct group *g)
{
	gstore_rec_free(&g->g_rec);
	free(g->g_mem);
	inst_list_free(&g->g_last);
	free(g);
}

void
gop_free(struct gctl *c, struct gop *o)
{
	struct group *g = o->o_group;

	(void)c;
	if (g != NULL && --g->g_refs == 0 && g->g_gone)
		group_free(g);
	svc_req_free(o->o_sr);
	free(o);
}

/* ---- the watch and the orphans ------------------------------------------ */

static void
watch_keep(struct gctl *c, int64_t now)
{
	struct gop *o;

	if (c->c_watch != NULL || c->c_stopping || now < c->c_watch_at)
		return;
	if ((o = gop_new(c, GOP_WATCH, NULL, NULL, SVC_WATCH)) == NULL) {
		c->c_watch_at = now + GCTL_WATCH_RETRY_MS;
		return;
	}
	o->o_sr->sr_gen = c->c_gen;
	c->c_watch = o;
	gop_submit(c, o);
}

static void
watch_on(struct gctl *c, struct gop *o)
{
	if (o->o_orphaned) {
		/* Answered as the controller orphaned it (stopping). */
		c->c_out--;
		gop_free(c, o);
		return;
	}
	c->c_watch = NULL;
	if (o->o_sr->sr_rc == 0) {
		c->c_gen = o->o_sr->sr_gen;
		rec_dirty_all(c);
	} else {
		log_debug(
		    "group controller: watch refused: %s", o->o_sr->sr_err.msg);
		c->c_watch_at = mono_ms() + GCTL_WATCH_RETRY_MS;
	}
	gop_free(c, o);
}

/*
 * Lets o go: from now on its callback frees it (if the service has not
 * answered yet) or its answer arrives in c_results and is dropped there.
 * counted: whether o is in c_out. Nothing of o is touched after the
 * exchange unless it was answered already (then it is ours again).
 */
static void
gop_orphan(struct gctl *c, struct gop *o, bool counted)
{
	struct group *g = o->o_group;

	o->o_group = NULL;
	o->o_orphaned = true;
	if (atomic_exchange(&o->o_state, GOP_ORPHANED) == GOP_ANSWERED) {
		/* On its way into c_results (or there): wait for it. */
		if (!counted)
			c->c_out++;
	} else if (counted)
		c->c_out--;
	if (g != NULL && --g->g_refs == 0 && g->g_gone)
		group_free(g);
}

static void
watch_orphan(struct gctl *c)
{
	struct gop *o = c->c_watch;

	if (o == NULL)
		return;
	c->c_watch = NULL;
	gop_orphan(c, o, false);
}

int
gop_track_start(struct gctl *c, struct gop *o)
{
	if (c->c_nstarts == c->c_capstarts) {
		size_t cap = c->c_capstarts == 0 ? 16 : 2 * c->c_capstarts;
		struct gop **nv = realloc(c->c_starts, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		c->c_starts = nv;
		c->c_capstarts = cap;
	}
	c->c_starts[c->c_nstarts++] = o;
	return 0;
}

static void
untrack_start(struct gctl *c, struct gop *o)
{
	for (size_t i = 0; i < c->c_nstarts; i++)
		if (c->c_starts[i] == o) {
			c->c_starts[i] = c->c_starts[--c->c_nstarts];
			return;
		}
}

static void
starts_orphan(struct gctl *c)
{
	while (c->c_nstarts > 0)
		gop_orphan(c, c->c_starts[--c->c_nstarts], true);
}

/* ---- the group table ---------------------------------------------------- */

struct group *
group_find(struct gctl *c, const char *id)
{
	for (struct group *g = c->c_groups; g != NULL; g = g->g_next)
		if (strcmp(g->g_rec.gr_spec.g_id, id) == 0)
			return g;
	return NULL;
}

int
group_rehash(struct gctl *c, struct group *g, struct err *err)
{
	return gspec_hash(&g->g_rec.gr_spec, c->c_conf.gc_era, g->g_hash, err);
}

struct group *
group_add(struct gctl *c, struct gstore_rec *rec, struct err *err)
{
	struct group *g, **pp;
	int64_t now = mono_ms(), wall = wall_ms();

	if (c->c_ngroups >= GCTL_MAX_GROUPS) {
		err_set(err, EIK_BUSY,
		    "this controller manages %d groups already "
		    "(GCTL_MAX_GROUPS): free or destroy one first",
		    GCTL_MAX_GROUPS);
		return NULL;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	g->g_rec = *rec; /* moved */
	memset(rec, 0, sizeof(*rec));
	free(rec);
	if (group_rehash(c, g, err) == -1) {
		group_free(g);
		return NULL;
	}
	if (g->g_rec.gr_failed_at > 0)
		g->g_failed_mono = now -
		    (wall > g->g_rec.gr_failed_at ? wall - g->g_rec.gr_failed_at
						  : 0);
	g->g_dirty = true;
	for (pp = &c->c_groups; *pp != NULL &&
	     strcmp((*pp)->g_rec.gr_spec.g_id, g->g_rec.gr_spec.g_id) < 0;
	     pp = &(*pp)->g_next)
		;
	g->g_next = *pp;
	*pp = g;
	c->c_ngroups++;
	gmetrics_groups(c->c_ngroups);
	return g;
}

void
group_drop(struct gctl *c, struct group *g)
{
	for (struct group **pp = &c->c_groups; *pp != NULL; pp = &(*pp)->g_next)
		if (*pp == g) {
			*pp = g->g_next;
			c->c_ngroups--;
			gmetrics_groups(c->c_ngroups);
			break;
		}
	g->g_gone = true;
	g->g_next = NULL;
	if (g->g_refs == 0)
		group_free(g);
}

int
group_save(struct gctl *c, struct group *g, struct err *err)
{
	return gstore_save(c->c_dir, &g->g_rec, err);
}

/* ---- checking a spec (any thread) --------------------------------------- */

static int
check_instance(struct gctl *c, const struct group_spec *g, struct err *err)
{
	const struct gspec_plugin *ip = &g->g_instance;
	struct inst_props props;
	char tmpl[PATH_BUF];
	json_error_t je;
	json_t *v = NULL;
	int rc = -1;

	if (strcmp(ip->gp_lookup, c->c_conf.gc_plugin) != 0) {
		err_set(err, EIK_INVAL,
		    "Failed to find Instance plugin '%s': the built-in group "
		    "controller drives this daemon's instances, served as "
		    "'%s' (its --name); set Spec.Properties.Instance.Plugin to "
		    "\"%s\" or \"%s/<type>\"",
		    ip->gp_name, c->c_conf.gc_plugin, c->c_conf.gc_plugin,
		    c->c_conf.gc_plugin);
		return -1;
	}
	memset(&props, 0, sizeof(props));
	if (ip->gp_props != NULL &&
	    (v = json_loads(ip->gp_props,
		 JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je)) == NULL) {
		err_set(err, EIK_INVAL,
		    "Spec.Properties.Instance.Properties: %s", je.text);
		return -1;
	}
	/* Instance.Validate's own words (spec §1.3 step 9). */
	if (specjson_props(
		v, "Spec.Properties.Instance.Properties", &props, err) == -1)
		goto out;
	if (c->c_conf.gc_svc->ops->validate(c->c_conf.gc_svc->ctx, ip->gp_type,
		&props, tmpl, sizeof(tmpl), err) == -1) {
		err_reroot(
		    err, "Properties", "Spec.Properties.Instance.Properties");
		goto out;
	}
	rc = 0;
out:
	json_decref(v);
	inst_props_free(&props);
	return rc;
}

int
gctl_check(struct gctl *c, const char *text, size_t len, unsigned flags,
    struct group_spec *g, struct err *err)
{
	char hash[GHASH_TEXT_MAX + 1], tmpl[PATH_BUF];
	struct vanilla_member m;
	struct inst_spec s;
	int rc;

	if (gspec_parse(text, len, flags, g, err) == -1 ||
	    check_instance(c, g, err) == -1 ||
	    gspec_hash(g, c->c_conf.gc_era, hash, err) == -1)
		return -1;
	/* One Prepare, so what every create would refuse is refused now. */
	memset(&m, 0, sizeof(m));
	m.vm_group = g->g_id;
	m.vm_hash_tag = c->c_hash_tag;
	m.vm_hash = hash;
	m.vm_logical_id = gspec_is_pets(g) ? g->g_lids[0] : NULL;
	m.vm_props = g->g_instance.gp_props;
	memset(&s, 0, sizeof(s));
	rc = vanilla_prepare(&g->g_vanilla, &m, &s, err);
	/* And that Spec as the service checks a Provision's (what the Init
	 * makes of a .vmx, say). */
	if (rc == 0 && c->c_conf.gc_svc->ops->validate_spec != NULL)
		rc = c->c_conf.gc_svc->ops->validate_spec(c->c_conf.gc_svc->ctx,
		    g->g_instance.gp_type, &s, tmpl, sizeof(tmpl), err);
	inst_spec_free(&s);
	return rc;
}

enum ghash_era
gctl_era(const struct gctl *c)
{
	return c->c_conf.gc_era;
}

/* ---- the thread -----------------------------------------------------------
 */

static void
on_gop(struct gctl *c, struct gop *o)
{
	switch (o->o_kind) {
	case GOP_WATCH:
		watch_on(c, o);
		return;
	case GOP_REQ_LIST:
	case GOP_REQ_DESTROY:
		c->c_out--;
		greq_on_gop(c, o);
		return;
	case GOP_START:
		c->c_out--;
		if (o->o_orphaned) {
			gop_free(c, o);
			return;
		}
		untrack_start(c, o);
		rec_on_gop(c, o);
		return;
	default:
		c->c_out--;
		rec_on_gop(c, o);
		return;
	}
}

static void
begin_stop(struct gctl *c)
{
	if (c->c_stopping)
		return;
	log_debug("group controller: stopping");
	c->c_stopping = true;
	mbox_close(&c->c_inbox);
	greq_refuse_waiting(c);
	watch_orphan(c);
	starts_orphan(c);
}

static void
enqueue(struct gctl *c, struct gctl_req *r)
{
	r->gr_msg.m_next = NULL;
	if (c->c_qtail != NULL)
		c->c_qtail->gr_msg.m_next = &r->gr_msg;
	else
		c->c_qhead = r;
	c->c_qtail = r;
}

static void
take_all(struct gctl *c)
{
	struct msg *m, *next;

	for (m = mbox_take(&c->c_results); m != NULL; m = next) {
		next = m->m_next;
		on_gop(c, (struct gop *)m);
	}
	for (m = mbox_take(&c->c_inbox); m != NULL; m = next) {
		struct gctl_req *r = (struct gctl_req *)m;

		next = m->m_next;
		if (r->gr_op == GCTL_STOP)
			begin_stop(c);
		else
			enqueue(c, r);
	}
	if (c->c_stopping)
		greq_refuse_waiting(c);
}

static int64_t
next_wait(const struct gctl *c, int64_t now)
{
	int64_t t = c->c_next_resync, w = rec_next_wake(c);

	if (c->c_stopping)
		return 100;
	if (w != 0 && w < t)
		t = w;
	if (c->c_watch == NULL && c->c_watch_at < t)
		t = c->c_watch_at;
	return t > now ? t - now : 0;
}

static bool
idle(const struct gctl *c)
{
	return c->c_cur == NULL && c->c_qhead == NULL && c->c_out == 0;
}

static void *
gctl_main(void *arg)
{
	struct gctl *c = arg;

	for (;;) {
		int64_t now = mono_ms(), wait = next_wait(c, now);
		struct pollfd p = { bell_fd(&c->c_bell), POLLIN, 0 };

		if (poll(&p, 1, wait > INT32_MAX ? INT32_MAX : (int)wait) ==
			-1 &&
		    errno != EINTR)
			log_warn("group controller: poll");
		bell_drain(&c->c_bell);
		take_all(c);
		now = mono_ms();
		if (!c->c_stopping) {
			if (now >= c->c_next_resync) {
				rec_dirty_all(c);
				c->c_next_resync = now + GCTL_RESYNC_MS;
			}
			watch_keep(c, now);
		}
		greq_run(c);
		if (!c->c_stopping)
			rec_pump(c, now);
		if (c->c_stopping && idle(c)) {
			/* Requests that raced the inbox's closing. */
			take_all(c);
			if (idle(c))
				break;
		}
	}
	return NULL;
}

/* ---- life cycle -----------------------------------------------------------
 */

static int
load_one(void *arg, struct gstore_rec *rec)
{
	struct gctl *c = arg;
	struct err err;
	char id[GSPEC_ID_MAX + 1];
	struct group *g;

	err_clear(&err);
	(void)strlcpy(id, rec->gr_spec.g_id, sizeof(id));
	if ((g = group_add(c, rec, &err)) == NULL) {
		log_error("group '%s': %s; not managed", id, err.msg);
		gstore_rec_free(rec);
		free(rec);
		return 0;
	}
	log_info("group '%s': %s %zu %s (%s, hash %s)%s", id,
	    gstore_state_name(g->g_rec.gr_state),
	    gspec_target(&g->g_rec.gr_spec),
	    gspec_is_pets(&g->g_rec.gr_spec) ? "pets" : "cattle", c->c_hash_tag,
	    g->g_hash,
	    g->g_rec.gr_rolling ? "; resuming its rolling update" : "");
	return 0;
}

static int
open_threads(struct gctl *c, struct err *err)
{
	if (bell_open(&c->c_bell, err) == -1)
		return -1;
	if (mbox_init(&c->c_inbox, &c->c_bell, err) == -1)
		return -1;
	if (mbox_init(&c->c_results, &c->c_bell, err) == -1) {
		mbox_fini(&c->c_inbox);
		return -1;
	}
	c->c_boxes = true;
	if (pthread_create(&c->c_thread, NULL, gctl_main, c) != 0) {
		err_set(err, EIK_INTERNAL,
		    "cannot start the group controller's thread");
		return -1;
	}
	c->c_started = true;
	return 0;
}

struct gctl *
gctl_open(const struct gctl_conf *conf, struct err *err)
{
	struct gctl *c = calloc(1, sizeof(*c));
	long n;

	if (c == NULL || (c->c_stop_req = gctl_req_new(GCTL_STOP)) == NULL) {
		free(c);
		err_set(err, EIK_INTERNAL, "out of memory");
		return NULL;
	}
	gmetrics_register();
	c->c_conf = *conf;
	if (c->c_conf.gc_restart_wait_ms == 0)
		c->c_conf.gc_restart_wait_ms = POLICY_RESTART_WAIT_DEFAULT_MS;
	c->c_bell.bl_fd[0] = c->c_bell.bl_fd[1] = -1;
	c->c_hash_tag = ghash_tag(conf->gc_era);
	c->c_next_resync = mono_ms() + GCTL_RESYNC_MS;
	if (gstore_open(conf->gc_vm_dir, c->c_dir, sizeof(c->c_dir), err) == -1)
		goto fail;
	n = gstore_load(c->c_dir, load_one, c, err);
	if (n == -1 || open_threads(c, err) == -1)
		goto fail;
	log_info("group controller: %ld group%s, hash tag %s (%s)", n,
	    n == 1 ? "" : "s", c->c_hash_tag, ghash_era_name(conf->gc_era));
	return c;
fail:
	gctl_close(c);
	return NULL;
}

void
gctl_submit(struct gctl *c, struct gctl_req *r)
{
	if (mbox_post(&c->c_inbox, &r->gr_msg) == -1) {
		struct err err;

		err_set(&err, EIK_BUSY,
		    "the plugin is shutting down; try again once it is back");
		greq_answer(r, -1, &err);
	}
}

void
gctl_stop(struct gctl *c)
{
	if (c == NULL || !c->c_started)
		return;
	if (!c->c_stop_posted) {
		c->c_stop_posted = true;
		if (mbox_post(&c->c_inbox, &c->c_stop_req->gr_msg) == -1)
			abort();
	}
	(void)pthread_join(c->c_thread, NULL);
	c->c_started = false;
}

void
gctl_close(struct gctl *c)
{
	if (c == NULL)
		return;
	gctl_stop(c);
	while (c->c_groups != NULL)
		group_drop(c, c->c_groups);
	if (c->c_boxes) {
		mbox_fini(&c->c_inbox);
		mbox_fini(&c->c_results);
	}
	bell_close(&c->c_bell);
	gctl_req_free(c->c_stop_req);
	free(c->c_starts);
	free(c);
}

/* ---- requests and statuses ------------------------------------------------
 */

struct gctl_req *
gctl_req_new(enum gctl_op op)
{
	struct gctl_req *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->gr_op = op;
	return r;
}

void
gctl_status_free(struct gctl_status *st)
{
	if (st == NULL)
		return;
	free(st->st_id);
	free(st->st_spec_json);
	memset(st, 0, sizeof(*st));
}

void
gctl_req_free(struct gctl_req *r)
{
	if (r == NULL)
		return;
	gspec_free(&r->gr_spec);
	for (size_t i = 0; i < r->gr_n_ids; i++)
		free(r->gr_ids[i]);
	free(r->gr_ids);
	for (size_t i = 0; i < r->gr_n_st; i++)
		gctl_status_free(&r->gr_st[i]);
	free(r->gr_st);
	inst_list_free(&r->gr_members);
	free(r);
}
