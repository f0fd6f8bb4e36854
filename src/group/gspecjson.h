/*
 * The canonical JSON of a group spec, for storage and for InspectGroups:
 *
 *   {"ID":"w","Properties":{"Allocation":{"Size":3,"LogicalIDs":null},
 *    "Instance":{"Plugin":"vmware-fusion","Properties":{...}},
 *    "Flavor":{"Plugin":"vanilla","Properties":{...}},
 *    "Updating":{"Count":0,"Duration":"0s","SkipBeforeInstanceDestroy":null,
 *                "MaxUnavailable":1,"MaxSurge":0},
 *    "Recovery":{"RestartPolicy":"replace","MaxFailures":3,
 *                "Backoff":"10s","BackoffMax":"5m0s"}}}
 *
 * (one line, no spaces): every field present in this order, unknown keys
 * gone, both Properties exactly as committed (compacted), durations as Go
 * prints them. gspec_parse of the text gives the same spec and hash. It is
 * also InfraKit's own shape (master's InspectGroups has the same Allocation,
 * Instance, Flavor and Updating members), so an InfraKit manager can take
 * it back; InfraKit ignores our additions.
 */
#ifndef GSPECJSON_H
#define GSPECJSON_H

#include "group/gspec.h"

struct err;

#define GSPECJSON_MAX (2 * GJSON_MAX_TEXT) /* bytes of the output */

/* Returns a new string (caller frees), or NULL with err set. */
char *gspecjson_dump(const struct group_spec *g, struct err *err);

#endif /* GSPECJSON_H */
