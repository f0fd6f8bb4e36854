/*
 * InfraKit's group configuration hash (spec infrakit-group.md §3.1): SHA-1
 * over Go's json.MarshalIndent(v, "  ", "  ") rendering of the Instance
 * section {"Plugin", "Properties"} followed by that of the Flavor section,
 * where v is the section re-read the way Go reads JSON into interface{}
 * (maps with the last duplicate key winning, numbers as doubles). The
 * digest is then encoded as the era of InfraKit asks for, and carried by
 * every member in the era's tag. Nothing else of a group spec (ID,
 * Allocation, Updating, unknown keys) contributes.
 *
 * The rendering follows Go's encoder byte for byte: keys sorted by their
 * UTF-8 bytes; strings with \", \\, \n, \r, \t, other bytes below 0x20 as
 * \u00xx (lower-case hex), <, >, & as \u003c, \u003e, \u0026 and U+2028,
 * U+2029 escaped, everything else raw; numbers as the shortest decimal that
 * reads back as the same double (Go 1.8+ json: plain notation for 0 and
 * 1e-6 <= |x| < 1e21, else exponent form like 1e+21, 1e-7; -0 stays "-0");
 * empty {} and [] on one line; no trailing newline.
 */
#ifndef GHASH_H
#define GHASH_H

#include <stddef.h>

#include "util/sha1.h"

struct buf;
struct err;

/* The tag that carries the hash: every v0.x release and master until
 * 2018-01-18 (#837), then master. */
#define GHASH_TAG_CONFIG_SHA "infrakit.config_sha"
#define GHASH_TAG_CONFIG_HASH "infrakit.config.hash"

#define GHASH_TEXT_MAX 32 /* base32 of a SHA-1: 32 chars; base64url: 28 */
#define GHASH_NUMBER_MAX                                                       \
	32 /* a rendered double, e.g. -1.7976931348623157e+308 */

/* The hash value a member created outside InfraKit carries until the group
 * labels it (spec §2.3). */
#define GHASH_BOOTSTRAP "bootstrap"

enum ghash_era {
	/* v0.1.0 - v0.4.1: config_sha, URL-safe base64 with padding, numbers
	 * as Go 1.8+ prints them (the v0.1-v0.4 column of spec §8). */
	GHASH_V01,
	/* The same as the released v0.1-v0.4 binaries (Go 1.6/1.7) computed
	 * it: numbers in %g form, exponent when the decimal exponent is below
	 * -4 or at least 6 (1e+06, 1.048576e+06, 1e-07). */
	GHASH_V01_GO16,
	/* v0.5 and master until 2018-01-17: config_sha, lower-case base32
	 * without padding. */
	GHASH_V05,
	/* master from 2018-01-18: config.hash, base32 as v0.5. */
	GHASH_MASTER
};

#define GHASH_ERA_DEFAULT GHASH_MASTER

/* One section as committed. plugin: the Plugin string (decoded; "" when
 * absent). props: the JSON text of its Properties, NULL (or "null") when
 * absent or null. Both borrowed for the call. */
struct ghash_section {
	const char *hs_plugin;
	const char *hs_props;
	size_t hs_props_len;
};

/* The tag key of an era (a static string). */
const char *ghash_tag(enum ghash_era era);
/* "v0.1", "v0.1-go1.6", "v0.5", "master"; parse gives -1 when unknown. */
const char *ghash_era_name(enum ghash_era era);
int ghash_era_parse(const char *name);

/* Appends the stable-format rendering of one section to out. 0, or -1
 * with err set (Properties not JSON, a number out of double range, out
 * goes over its cap). */
int ghash_render(const struct ghash_section *s, enum ghash_era era,
    struct buf *out, struct err *err);

/* The SHA-1 of the two renderings, Instance first. */
int ghash_digest(const struct ghash_section *instance,
    const struct ghash_section *flavor, enum ghash_era era,
    unsigned char digest[SHA1_DIGEST_LEN], struct err *err);

/* The hash text of the era (the tag value) into out. */
int ghash_compute(const struct ghash_section *instance,
    const struct ghash_section *flavor, enum ghash_era era,
    char out[GHASH_TEXT_MAX + 1], struct err *err);

/* Encodes a digest as the era does. */
void ghash_encode(const unsigned char digest[SHA1_DIGEST_LEN],
    enum ghash_era era, char out[GHASH_TEXT_MAX + 1]);

/* Renders a JSON number literal as the era's Go encoder prints the double
 * it reads as. 0, or -1 (literal out of double range, or not a number). */
int ghash_number(const char *literal, enum ghash_era era,
    char out[GHASH_NUMBER_MAX], struct err *err);

#endif /* GHASH_H */
