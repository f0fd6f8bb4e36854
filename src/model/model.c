/*
 * Life cycle of the typed request structs. See model.h.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

void
inst_props_free(struct inst_props *p)
{
	tags_free(&p->p_tags);
	for (size_t i = 0; i < p->p_n_ssh_keys; i++)
		free(p->p_ssh_keys[i]);
	free(p->p_ssh_keys);
	p->p_ssh_keys = NULL;
	p->p_n_ssh_keys = 0;
}

void
inst_spec_free(struct inst_spec *s)
{
	free(s->s_properties_json);
	inst_props_free(&s->s_props);
	tags_free(&s->s_tags);
	free(s->s_init);
	free(s->s_logical_id);
	for (size_t i = 0; i < s->s_n_att; i++) {
		free(s->s_att[i].a_id);
		free(s->s_att[i].a_type);
	}
	free(s->s_att);
	memset(s, 0, sizeof(*s));
}

void
inst_view_free(struct inst_view *v)
{
	free(v->v_logical_id);
	tags_free(&v->v_tags);
	free(v->v_vmx);
	free(v->v_ip);
	free(v->v_mac);
	free(v->v_error);
	free(v->v_reason);
	memset(v, 0, sizeof(*v));
}

void
inst_list_free(struct inst_list *l)
{
	for (size_t i = 0; i < l->l_n; i++)
		inst_view_free(&l->l_v[i]);
	free(l->l_v);
	l->l_v = NULL;
	l->l_n = 0;
	l->l_cap = 0;
}

struct inst_view *
inst_list_add(struct inst_list *l)
{
	struct inst_view *nv;

	if (l->l_n == l->l_cap) {
		size_t cap = l->l_cap == 0 ? 16 : l->l_cap * 2;

		nv = realloc(l->l_v, cap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		l->l_v = nv;
		l->l_cap = cap;
	}
	nv = &l->l_v[l->l_n++];
	memset(nv, 0, sizeof(*nv));
	return nv;
}

void
att_list_free(struct att_list *l)
{
	for (size_t i = 0; i < l->al_n; i++)
		free(l->al_v[i].av_holder_lid);
	free(l->al_v);
	memset(l, 0, sizeof(*l));
}

struct att_view *
att_list_get(struct att_list *l, const char *name)
{
	struct att_view *nv;

	for (size_t i = 0; i < l->al_n; i++)
		if (strcmp(l->al_v[i].av_name, name) == 0)
			return &l->al_v[i];
	if (l->al_n == l->al_cap) {
		size_t cap = l->al_cap == 0 ? 16 : l->al_cap * 2;

		nv = realloc(l->al_v, cap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		l->al_v = nv;
		l->al_cap = cap;
	}
	nv = &l->al_v[l->al_n++];
	memset(nv, 0, sizeof(*nv));
	if (strlen(name) < sizeof(nv->av_name))
		memcpy(nv->av_name, name, strlen(name) + 1);
	return nv;
}

static char *
dup_or_null(const char *s, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*fail = 1;
	return d;
}

int
inst_props_copy(struct inst_props *dst, const struct inst_props *src)
{
	int fail = 0;

	*dst = *src;
	dst->p_ssh_keys = NULL;
	dst->p_n_ssh_keys = 0;
	if (tags_copy(&dst->p_tags, &src->p_tags) == -1)
		return -1;
	if (src->p_n_ssh_keys > 0) {
		dst->p_ssh_keys = calloc(src->p_n_ssh_keys, sizeof(char *));
		if (dst->p_ssh_keys == NULL)
			fail = 1;
		else {
			dst->p_n_ssh_keys = src->p_n_ssh_keys;
			for (size_t i = 0; i < src->p_n_ssh_keys; i++)
				dst->p_ssh_keys[i] =
				    dup_or_null(src->p_ssh_keys[i], &fail);
		}
	}
	if (fail) {
		inst_props_free(dst);
		return -1;
	}
	return 0;
}

int
inst_spec_copy(struct inst_spec *dst, const struct inst_spec *src)
{
	int fail = 0;

	memset(dst, 0, sizeof(*dst));
	if (inst_props_copy(&dst->s_props, &src->s_props) == -1)
		return -1;
	dst->s_properties_json = dup_or_null(src->s_properties_json, &fail);
	dst->s_init =
	    dup_or_null(src->s_init != NULL ? src->s_init : "", &fail);
	dst->s_logical_id = dup_or_null(src->s_logical_id, &fail);
	if (tags_copy(&dst->s_tags, &src->s_tags) == -1)
		fail = 1;
	if (!fail && src->s_n_att > 0) {
		dst->s_att = calloc(src->s_n_att, sizeof(*dst->s_att));
		if (dst->s_att == NULL)
			fail = 1;
		else {
			dst->s_n_att = src->s_n_att;
			for (size_t i = 0; i < src->s_n_att; i++) {
				dst->s_att[i].a_id =
				    dup_or_null(src->s_att[i].a_id, &fail);
				dst->s_att[i].a_type =
				    dup_or_null(src->s_att[i].a_type, &fail);
			}
		}
	}
	if (fail) {
		inst_spec_free(dst);
		return -1;
	}
	return 0;
}

static const char *guest_init_names[] = {
	[GUEST_INIT_AUTO] = "auto",
	[GUEST_INIT_GUESTINFO] = "guestinfo",
	[GUEST_INIT_CIDATA] = "cidata",
	[GUEST_INIT_NONE] = "none",
};

static const char *clone_mode_names[] = {
	[CLONE_UNSET] = "",
	[CLONE_AUTO] = "auto",
	[CLONE_LINKED] = "linked",
	[CLONE_FULL] = "full",
	[CLONE_COPY] = "copy",
};

const char *
guest_init_name(enum guest_init g)
{
	return guest_init_names[g];
}

const char *
clone_mode_name(enum clone_mode c)
{
	return clone_mode_names[c];
}

int
guest_init_parse(const char *s)
{
	for (size_t i = 0;
	     i < sizeof(guest_init_names) / sizeof(guest_init_names[0]); i++)
		if (strcmp(s, guest_init_names[i]) == 0)
			return (int)i;
	return -1;
}

int
clone_mode_parse(const char *s)
{
	for (size_t i = 1;
	     i < sizeof(clone_mode_names) / sizeof(clone_mode_names[0]); i++)
		if (strcmp(s, clone_mode_names[i]) == 0)
			return (int)i;
	return -1;
}
