/*
 * A small JSON reader for group specs that keeps what jansson drops and Go's
 * encoding/json keeps: every number's literal text (so 12345678901234567890,
 * 1.0 and 5.12e2 survive), duplicate keys in document order, and the byte
 * span of every value in the text (so an opaque Properties blob can be stored
 * exactly as committed). InfraKit's config hash and its spec decoding are Go
 * semantics over such a tree; jansson would refuse or normalise the input
 * first.
 *
 * Two modes. GJSON_GO reads text the way Go's json.Unmarshal does: invalid
 * UTF-8 bytes and lone \uD800-\uDFFF escapes become U+FFFD, duplicate keys are
 * kept (lookups take the last). Without it (strict) both are refused, and so
 * is any key that appears twice in one object.
 */
#ifndef GJSON_H
#define GJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/defaults.h"

struct err;

#define GJSON_MAX_DEPTH 64	    /* nesting of arrays and objects */
#define GJSON_MAX_TEXT RPC_MAX_BODY /* bytes of one document */

#define GJSON_GO 0x1 /* Go's json.Unmarshal leniency, see above */

enum gjson_type {
	GJSON_NULL,
	GJSON_FALSE,
	GJSON_TRUE,
	GJSON_NUMBER,
	GJSON_STRING,
	GJSON_ARRAY,
	GJSON_OBJECT
};

struct gjson_member;

struct gjson {
	enum gjson_type j_type;
	/* STRING: the decoded UTF-8 (NUL-terminated; may contain NUL bytes,
	 * j_len counts them); NUMBER: the literal as written. */
	char *j_str;
	size_t j_len;
	struct gjson *j_el;	    /* ARRAY: j_n elements */
	struct gjson_member *j_mem; /* OBJECT: j_n members, document order */
	size_t j_n;
	size_t j_off, j_end; /* the value is text[j_off, j_end) */
};

struct gjson_member {
	char *m_key; /* decoded, NUL-terminated */
	size_t m_klen;
	size_t m_off; /* the key's opening quote in the text */
	struct gjson m_val;
};

/* A parsed document: owns a copy of the text and the whole tree. */
struct gjson_doc {
	char *d_text;
	size_t d_len;
	struct gjson d_root;
};

/*
 * Parses text[0, len) (one JSON value, surrounded by optional white space)
 * into doc. Errors give line and column. doc must be zeroed; free it with
 * gjson_doc_free, also after a failure.
 */
int gjson_parse(const char *text, size_t len, unsigned flags,
    struct gjson_doc *doc, struct err *err);
void gjson_doc_free(struct gjson_doc *doc);

/* Go's struct-field lookup: the last member whose key equals name ignoring
 * ASCII case. Borrowed from the document; NULL when absent or when obj is
 * NULL or not an object. */
const struct gjson *gjson_get(const struct gjson *obj, const char *name);

/* Absent (NULL) or JSON null: what Go leaves at the zero value. */
bool gjson_is_null(const struct gjson *v);

/* "object", "array", "string", "number", "boolean" or "null". */
const char *gjson_type_name(const struct gjson *v);

/* What v is, for the "got ..." of a type error, as jgot() (jsonutil.h)
 * says it: "3 (a number)" (the literal as written), "\"3\" (a string)",
 * "true (a boolean)", "null", "an object", "an array", "nothing". buf has
 * JGOT_MAX bytes; returns buf or a static string. */
const char *gjson_got(const struct gjson *v, char *buf);

/*
 * An unsigned integer number exactly as Go decodes into uint: the literal
 * must be plain digits (no sign, fraction or exponent). 0 with *out set,
 * or -1 when v is not such a number or is above max.
 */
int gjson_uint(const struct gjson *v, uint64_t max, uint64_t *out);

/* The value's text as committed with the white space between tokens
 * removed (strings, escapes and number spellings untouched). Returns a new
 * string (caller frees) or NULL when out of memory. */
char *gjson_compact(const struct gjson_doc *doc, const struct gjson *v);

#endif /* GJSON_H */
