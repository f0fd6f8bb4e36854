/*
 * The typed requests and answers of the instance service: what the RPC
 * layer turns InfraKit's JSON into (rpc/rpc_instance.c) and what the
 * service (service/) and its test doubles work on. No JSON below this
 * line; the service's request interface is service/svc.h.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/defaults.h"
#include "model/tags.h"

struct err;

enum guest_init {
	GUEST_INIT_AUTO = 0, /* both guestinfo keys and a seed ISO */
	GUEST_INIT_GUESTINFO,
	GUEST_INIT_CIDATA,
	GUEST_INIT_NONE
};

enum clone_mode {
	CLONE_UNSET = 0, /* use the plugin's --clone */
	CLONE_AUTO,
	CLONE_LINKED,
	CLONE_FULL,
	CLONE_COPY
};

/* The instance Properties (InfraKit's opaque Instance.Properties). */
struct inst_props {
	char p_vmx[TEMPLATE_NAME_MAX + 1]; /* template name */
	unsigned p_memsize_mb;
	unsigned p_numcpus;
	bool p_launch_gui;
	struct tags p_tags;
	enum guest_init p_guest_init;
	enum clone_mode p_clone;
	char **p_ssh_keys;
	size_t p_n_ssh_keys;
	unsigned p_att_size_gb;		   /* disks the Attachments create */
	char p_ssh_user[SSH_USER_MAX + 1]; /* "": the template's */
};

struct attachment {
	char *a_id;
	char *a_type;
};

/* InfraKit's instance.Spec. */
struct inst_spec {
	char *s_properties_json; /* verbatim, compact */
	struct inst_props s_props;
	struct tags s_tags;
	char *s_init;	    /* never NULL */
	char *s_logical_id; /* NULL means null */
	struct attachment *s_att;
	size_t s_n_att;
};

/* One instance as DescribeInstances reports it. */
struct inst_view {
	char v_id[RPC_MAX_ID + 1];
	char *v_logical_id; /* NULL means null */
	struct tags v_tags;
	/* Properties, reported when asked for. */
	char v_state[16]; /* provisioning, running, ... */
	char v_power[16]; /* running, paused, suspended, off,
			     unknown */
	char v_backend[16];
	char v_template[TEMPLATE_NAME_MAX + 1];
	char *v_vmx; /* path, or NULL */
	char *v_ip;
	char *v_mac;
	char *v_error;
	char *v_reason;	      /* Destroy's Context.Reason */
	int64_t v_created_ms; /* wall clock */
	bool v_reported;      /* false: hidden from InfraKit */
	char v_ssh[80];	      /* "host:port" to reach the guest's SSH, or "" */
	int v_ready;	      /* 1 ready, 0 not yet, -1 not known */
};

struct inst_list {
	struct inst_view *l_v;
	size_t l_n;
	size_t l_cap;
};

#define DESCRIBE_ALL 0x1 /* also failed, hidden and destroying ones */

/* One persistent disk (model/attach.h), as `attachment ls` shows it: what
 * its attachment.json says, and which instance holds it now. */
struct att_view {
	char av_name[ATTACH_ID_MAX + 1]; /* its directory: the ID, lower case */
	char av_id[ATTACH_ID_MAX + 1];	 /* the ID as first given */
	char av_type[8];		 /* disk, vmdk */
	char av_format[16];		 /* vmdk, qcow2, ... ("" not known) */
	char av_backend[16];		 /* the backend that made it */
	unsigned av_size_gb;		 /* 0: not known */
	int64_t av_created_ms;		 /* wall clock; 0: not known */
	char av_made_for[ID_MAX];	 /* the instance it was made for */
	bool av_on_disk; /* false: named by a record, not made yet */
	/* The instance holding it ("" for none), its state and LogicalID. */
	char av_holder[ID_MAX];
	char av_holder_state[16];
	char *av_holder_lid;
};

struct att_list {
	struct att_view *al_v;
	size_t al_n;
	size_t al_cap;
};

void inst_props_free(struct inst_props *p);
void inst_spec_free(struct inst_spec *s);
void inst_view_free(struct inst_view *v);
void inst_list_free(struct inst_list *l);
/* Appends a zeroed view to l and returns it, or NULL. */
struct inst_view *inst_list_add(struct inst_list *l);
void att_list_free(struct att_list *l);
/* The entry of l named name, or a new zeroed one with that name; NULL when
 * out of memory. */
struct att_view *att_list_get(struct att_list *l, const char *name);
/* Deep copies; 0 or -1. dst must be zeroed. */
int inst_props_copy(struct inst_props *dst, const struct inst_props *src);
int inst_spec_copy(struct inst_spec *dst, const struct inst_spec *src);

const char *guest_init_name(enum guest_init g);
const char *clone_mode_name(enum clone_mode c);
/* Parse a name; -1 when unknown. */
int guest_init_parse(const char *s);
int clone_mode_parse(const char *s);

#endif /* MODEL_H */
