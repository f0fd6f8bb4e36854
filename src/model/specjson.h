/*
 * InfraKit's instance.Spec and instance Properties between JSON and the
 * typed structs of model.h. See specjson.c.
 */
#ifndef SPECJSON_H
#define SPECJSON_H

#include <jansson.h>

#include "model/model.h"

struct err;

/* The names of the instance properties, NULL-terminated, in the order of
 * the decoder table in specjson.c. */
extern const char *const specjson_prop_names[];

/*
 * Parses instance Properties: types and ranges checked, names matched
 * ignoring case (as Go's encoding/json does), one property spelt twice and
 * unknown keys refused (the latter with a "did you mean" hint), defaults
 * applied. field names the value in
 * messages ("params.Properties"). p must be zeroed; free it even on failure.
 */
int specjson_props(
    const json_t *v, const char *field, struct inst_props *p, struct err *err);

/* Parses an instance.Spec (Properties as above; a member of the Spec or of
 * an attachment spelt twice is refused too). s must be zeroed; free it even
 * on failure. */
int specjson_spec(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err);

/*
 * Lenient decoding, for stored records written by an older or a newer
 * release: it never fails over what a record contains, only when v is not
 * an object (Properties: also null or missing) or memory runs out.
 *  - Unknown properties are ignored; they stay in s_properties_json, the
 *    verbatim Properties, and so in what is written back. A property spelt
 *    twice takes the last value, as Go does.
 *  - Values of the right type are kept as they are, even outside today's
 *    ranges and limits (MemorySizeMBs 16 or 513, NumCPUs 0, 300 tags, a
 *    1 MiB Init, an empty LogicalID).
 *  - Values of the wrong type (or a string with a NUL byte) leave the
 *    default: no VMX, 512 MB, 1 CPU, LaunchGUI false, GuestInit auto, Clone
 *    unset, no tags, keys or attachments, Init "", LogicalID null; so do a
 *    GuestInit or Clone name this release does not know. A Properties that
 *    is not an object gives all defaults.
 *  - Clamped or dropped only where using the value would be unsafe: a VMX
 *    that is not a plain template name or is longer than
 *    TEMPLATE_NAME_MAX (a path would leave --vm-lib; a cut name would name
 *    another template) leaves no VMX; an SSH key that is empty or has a
 *    line break (it would inject lines into authorized_keys) is dropped; a
 *    MemorySizeMBs or NumCPUs that is negative or beyond UINT_MAX (it would
 *    wrap) is clamped to today's minimum or maximum; a tag or attachment
 *    entry of the wrong type is dropped.
 * No message is produced for what was ignored; err is only set on failure.
 * p and s must be zeroed; free them even on failure.
 */
int specjson_props_lenient(
    const json_t *v, const char *field, struct inst_props *p, struct err *err);
int specjson_spec_lenient(
    const json_t *v, const char *field, struct inst_spec *s, struct err *err);

/* The JSON form of a spec, Properties verbatim. New reference or NULL. */
json_t *specjson_spec_new(const struct inst_spec *s);

#endif /* SPECJSON_H */
