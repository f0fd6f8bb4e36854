/*
 * The vanilla flavor, built in (spec infrakit-group.md §4): its Properties
 * {"Init": [lines], "Tags": {k: v}, "Attachments": [{"ID", "Type"}]} and
 * Prepare, which turns them and the group's tags into the instance.Spec a
 * member is provisioned with. Healthy is always Healthy and Drain does
 * nothing, so neither is here.
 *
 * Differences from InfraKit's vanilla, all refusals of configs that could
 * not work as written:
 * - Flavor Tags may not set the tags the group itself puts on members
 *   (infrakit.group, infrakit.logical_id, infrakit.config_sha,
 *   infrakit.config.hash): InfraKit lets them overwrite the group's, which
 *   hides members from their group (quirk Q12).
 * - InitScriptTemplateURL (master) is refused: it would fetch and render a
 *   template, which the built-in flavor does not do.
 * - Without compat, unknown keys are refused with a "did you mean" (Go's
 *   decoder ignores them); with it they are ignored, as in InfraKit.
 */
#ifndef VANILLA_H
#define VANILLA_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

struct err;
struct gjson;

/* The names the flavor answers to (the lookup part of Flavor.Plugin). */
#define VANILLA_NAME "vanilla"		 /* master's socket */
#define VANILLA_NAME_V0 "flavor-vanilla" /* v0.x binary's default --name */

/* The flavor's Properties, typed. */
struct vanilla_props {
	char **vp_init; /* lines, in order */
	size_t vp_n_init;
	struct tags vp_tags;
	struct attachment *vp_att;
	size_t vp_n_att;
};

/* What Prepare needs to know about the member being created. Borrowed. */
struct vanilla_member {
	const char *vm_group;	   /* group ID: tag infrakit.group */
	const char *vm_hash_tag;   /* the era's hash tag key (ghash_tag) */
	const char *vm_hash;	   /* the config hash */
	const char *vm_logical_id; /* pets: the LogicalID; NULL for cattle */
	/* Instance.Properties as committed (JSON text), NULL when null. */
	const char *vm_props;
};

/* True for "vanilla" and "flavor-vanilla". */
bool vanilla_is_name(const char *lookup);

/* True for the tag keys the group sets on every member. */
bool vanilla_reserved_tag(const char *key);

/*
 * Flavor.Validate: reads Properties (NULL or null = all empty) into vp.
 * field names the value in messages ("Properties.Flavor.Properties").
 * compat: unknown keys ignored as InfraKit does. vp must be zeroed; free it
 * with vanilla_props_free, also after a failure.
 */
int vanilla_parse(const struct gjson *props, const char *field, bool compat,
    struct vanilla_props *vp, struct err *err);
void vanilla_props_free(struct vanilla_props *vp);

/*
 * Flavor.Prepare of a new member: the group's tags (infrakit.group, then
 * infrakit.logical_id for pets, then the hash tag), the flavor's Tags over
 * them, Init = the flavor's lines joined with "\n" (no trailing newline; ""
 * for none), the flavor's Attachments, LogicalID = the member's, and the
 * Instance Properties parsed by the instance plugin's own rules (specjson),
 * so out is what Provision takes. out must be zeroed; the caller frees it
 * with inst_spec_free, also after a failure.
 */
int vanilla_prepare(const struct vanilla_props *vp,
    const struct vanilla_member *m, struct inst_spec *out, struct err *err);

#endif /* VANILLA_H */
