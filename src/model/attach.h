/*
 * Persistent disks of pets: which of a Spec's Attachments are disks, and
 * the name each one's disk goes by on the host. InfraKit passes
 * Attachments ([{"ID", "Type"}]) with pets and leaves their meaning to the
 * plugin (spec/infrakit-protocol.md §5.3); here Type "disk" (and InfraKit's
 * example type "vmdk") asks for a data disk named by the ID, kept across
 * the instance's destroy and attached to the instance that carries the
 * same ID next. Other types are stored and otherwise ignored.
 *
 * An ID names a file: 1 to ATTACH_ID_MAX bytes of letters, digits, '.',
 * '_' and '-', starting with a letter or a digit (no path, no "..", no
 * leading dash a tool could take for an option). IDs compare without
 * regard to ASCII case, as macOS's file systems do: "Disk-1" and "disk-1"
 * are one disk everywhere, and its name is the ID in lower case.
 */
#ifndef MODEL_ATTACH_H
#define MODEL_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"
#include "util/defaults.h"

struct err;

/* The name of one disk: the ID folded to lower case. */
struct att_name {
	char an_name[ATTACH_ID_MAX + 1];
	size_t an_index; /* in the Spec's Attachments */
};

/* Whether an attachment of type asks for a persistent disk. */
bool attach_is_disk(const char *type);

/*
 * Checks id as a disk's ID (rules above) and writes its name (lower case)
 * into out (ATTACH_ID_MAX + 1 bytes at least). 0, or -1 with err
 * (EIK_PARAMS) saying what is wrong with field and the fix.
 */
int attach_disk_name(
    const char *id, const char *field, char *out, size_t len, struct err *err);

/*
 * The disks of s, in the order of its Attachments, into out (max
 * entries). Returns the count, or -1 with err when an ID is not a usable
 * name (field names the Attachments in messages, e.g. "Spec.Attachments"),
 * the same disk is named twice, or there are more than max.
 */
long attach_disks(const struct inst_spec *s, const char *field,
    struct att_name *out, size_t max, struct err *err);

#endif /* MODEL_ATTACH_H */
