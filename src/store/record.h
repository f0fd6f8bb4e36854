/*
 * An instance's record, and its JSON form (instance.json and journal
 * entries). The writer emits the current format; the reader is tolerant,
 * because a record is what keeps a running VM managed: a record written by
 * an older or newer release, holding a property this release does not know
 * or a value outside today's range, must still load. Only what the service
 * cannot work without (the ID, the state, the backend) makes a record
 * unreadable.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "util/defaults.h"

struct err;

/* 1: up to 0.1.0; 2: adds Seq. Readers accept any version >= 1. */
#define RECORD_VERSION 2

enum inst_state { ST_PROVISIONING = 0, ST_RUNNING, ST_DESTROYING, ST_FAILED };

struct record {
	char r_id[ID_MAX];
	char r_backend[16];
	enum inst_state r_state;
	struct inst_spec r_spec; /* as Provision received it */
	struct tags r_tags;	 /* effective: props, spec, labels */
	char *r_template;	 /* template .vmx, absolute */
	int64_t r_created_ms;	 /* wall clock */
	int64_t r_updated_ms;
	char *r_error;	/* last error, or NULL */
	char *r_reason; /* Destroy's Context.Reason */
	char *r_ip;
	char *r_mac;
	unsigned r_attempts; /* provision attempts so far */
	unsigned r_ssh_port; /* loopback port forwarded to the guest's 22 */
	uint64_t r_seq;	     /* durable changes so far; newest wins */
	bool r_removed;	     /* a tombstone: the instance is gone */
};

void record_free(struct record *r);
/* Deep copy; dst must be zeroed. 0 or -1. */
int record_copy(struct record *dst, const struct record *src);

/* JSON text of a record (or of a tombstone); caller frees. NULL when out
 * of memory. */
char *record_to_text(const struct record *r);

/*
 * Parses a record or a tombstone; r must be zeroed (free it even on
 * failure). -1 with err naming the problem when the text is not JSON, not
 * an object, or lacks a usable ID, State or Backend. When lenient_note is
 * not NULL it receives what the tolerant reader overlooked ("" when
 * nothing): an unknown version, properties or values out of range.
 */
int record_from_text(const char *text, size_t len, struct record *r,
    char *lenient_note, size_t notelen, struct err *err);

const char *inst_state_name(enum inst_state s);

#endif /* RECORD_H */
