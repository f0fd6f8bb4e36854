/*
 * A group spec (spec infrakit-group.md §1) as the built-in group controller
 * takes it:
 *
 *   {"ID": "workers",
 *    "Properties": {
 *      "Allocation": {"Size": 3} | {"LogicalIDs": ["a", "b"]},
 *      "Instance": {"Plugin": "vmware-fusion", "Properties": {...}},
 *      "Flavor": {"Plugin": "vanilla", "Properties": {"Init": [...],
 *                 "Tags": {...}, "Attachments": [...]}},
 *      "Updating": {"Count": 0, "Duration": "0s",
 *                   "SkipBeforeInstanceDestroy": null,
 *                   "MaxUnavailable": 1, "MaxSurge": 0},
 *      "Recovery": {"RestartPolicy": "replace", "MaxFailures": 3,
 *                   "Backoff": "10s", "BackoffMax": "5m0s"}}}
 *
 * Decoding follows Go's encoding/json as InfraKit uses it: struct keys match
 * ignoring ASCII case ("size", "PLUGIN"), the two Properties blobs are opaque
 * and kept as committed (compacted; key order, escapes and number spelling
 * untouched), JSON types are checked (Size must be a plain non-negative
 * integer literal, Plugin a string).
 *
 * Our additions to InfraKit's schema, which InfraKit itself ignores (unknown
 * keys), so a spec that uses them still commits to a real InfraKit and
 * hashes the same (the hash covers Instance and Flavor only):
 *   Updating.MaxUnavailable  members of the group that may be down at once
 *                            during a rolling update (default 1, InfraKit's
 *                            one at a time);
 *   Updating.MaxSurge        members created beyond the target before old
 *                            ones are destroyed in a roll (default 0; cattle
 *                            only: a LogicalID has exactly one member);
 *   Recovery.RestartPolicy   "replace" (default, InfraKit's behaviour: a
 *                            stopped member is left alone and replaced) or
 *                            "restart" (start it again in place first);
 *   Recovery.MaxFailures     consecutive failed provisions after which the
 *                            group stops creating members and reports it
 *                            until the next commit (default 3; 0 = never
 *                            stop, InfraKit's endless retry);
 *   Recovery.Backoff         wait after a failed provision before the next
 *                            try, doubled after each further failure
 *                            (default "10s"; "0s" = retry every pass);
 *   Recovery.BackoffMax      the ceiling of that wait (default "5m").
 *
 * Two modes. Strict (the default, for specs committed to the controller)
 * refuses what InfraKit would silently ignore or mishandle: unknown keys
 * (with a "did you mean"), the same key twice, invalid UTF-8, a LogicalID
 * listed twice. GSPEC_COMPAT takes a spec exactly as InfraKit's decoder does
 * (unknown keys ignored and lost, the last duplicate wins, bad UTF-8 becomes
 * U+FFFD, duplicate LogicalIDs kept, quirk Q10) — for specs handed over from
 * a real InfraKit manager and for reproducing InfraKit's hashes. In both
 * modes Instance.Options and Flavor.Options (master's plugin starter reads
 * them, not the group) are accepted and dropped, and these InfraKit
 * behaviours are refused as fixes (spec §7): flavor tags that overwrite the
 * group's (Q12), a SkipBeforeInstanceDestroy other than "drain" (Q22), any
 * flavor but vanilla, a Plugin written with escapes.
 */
#ifndef GSPEC_H
#define GSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "group/ghash.h"
#include "group/gjson.h"
#include "group/vanilla.h"

struct err;

#define GSPEC_COMPAT 0x1 /* decode as InfraKit does; see above */

/* Tags the group puts on every member (besides the era's hash tag). */
#define GSPEC_TAG_GROUP "infrakit.group"
#define GSPEC_TAG_LOGICAL_ID "infrakit.logical_id" /* pets (master) */

/* Bounds. */
#define GSPEC_ID_MAX 128     /* bytes of a group ID */
#define GSPEC_SIZE_MAX 1024  /* Allocation.Size, and LogicalIDs entries */
#define GSPEC_PLUGIN_MAX 128 /* bytes of a Plugin name */
#define GSPEC_COUNT_MAX 1000 /* Updating.Count */
#define GSPEC_DURATION_MAX_NS (INT64_C(24) * 3600 * 1000000000)

/* Defaults of the extensions. */
#define GSPEC_MAX_UNAVAILABLE_DEFAULT 1
#define GSPEC_MAX_SURGE_DEFAULT 0
#define GSPEC_MAX_FAILURES_DEFAULT 3
#define GSPEC_BACKOFF_DEFAULT_NS (INT64_C(10) * 1000000000)
#define GSPEC_BACKOFF_MAX_DEFAULT_NS (INT64_C(300) * 1000000000)

enum gspec_restart {
	GSPEC_RESTART_REPLACE = 0, /* InfraKit: leave it, create another */
	GSPEC_RESTART_RESTART	   /* start the stopped member again */
};

/* Instance or Flavor. */
struct gspec_plugin {
	char *gp_name;	 /* Plugin as committed; "" when absent */
	char *gp_lookup; /* the part before the first '/' */
	char *gp_type;	 /* the part after it; "" when none */
	char *gp_props;	 /* Properties, compacted; NULL when absent/null */
};

struct group_spec {
	char *g_id;
	size_t g_size; /* Allocation.Size; 0 for pets */
	char **g_lids; /* Allocation.LogicalIDs, in order */
	size_t g_n_lids;
	struct gspec_plugin g_instance;
	struct gspec_plugin g_flavor;
	struct vanilla_props g_vanilla; /* Flavor.Properties, typed (filled
					   by gspec_parse only) */
	/* Updating, as InfraKit master has it. */
	unsigned g_count;
	int64_t g_duration_ns;
	bool g_skip_drain; /* SkipBeforeInstanceDestroy: "drain" */
	/* Our extensions (see above). */
	unsigned g_max_unavailable;
	unsigned g_max_surge;
	enum gspec_restart g_restart;
	unsigned g_max_failures;
	int64_t g_backoff_ns;
	int64_t g_backoff_max_ns;
};

/*
 * Decodes text (§1.1-§1.2: shapes and JSON types only, defaults applied)
 * into g, with no check of the values: what InfraKit's ParseProperties
 * accepts, e.g. to compute the hash of any spec. g must be zeroed; free it
 * with gspec_free, also after a failure.
 */
int gspec_decode(const char *text, size_t len, unsigned flags,
    struct group_spec *g, struct err *err);

/*
 * Decodes and validates (§1.3 in InfraKit's order: ID, Properties, the
 * allocation, the Updating method, then our own rules, the flavor plugin,
 * its Properties, the instance plugin's name). The instance plugin's own
 * Validate of Instance.Properties is the caller's (a service call). Errors
 * keep InfraKit's text where it has one ("Allocation must not be blank")
 * followed by the fix. g as for gspec_decode.
 */
int gspec_parse(const char *text, size_t len, unsigned flags,
    struct group_spec *g, struct err *err);

/* The config hash of the spec's Instance and Flavor in the given era. */
int gspec_hash(const struct group_spec *g, enum ghash_era era,
    char out[GHASH_TEXT_MAX + 1], struct err *err);

/* True for a pets group (LogicalIDs); false for cattle (Size). */
bool gspec_is_pets(const struct group_spec *g);
/* The number of members wanted: Size, or the number of LogicalIDs. */
size_t gspec_target(const struct group_spec *g);

/* The spec's canonical JSON is gspecjson_dump (gspecjson.h). */
void gspec_free(struct group_spec *g);

#endif /* GSPEC_H */
