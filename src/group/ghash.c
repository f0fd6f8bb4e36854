/*
 * The configuration hash: Go's stable-format rendering, SHA-1, base64url or
 * base32. See ghash.h and spec infrakit-group.md §3.1.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "group/gjson.h"
#include "group/ghash.h"

#define INDENT "  "   /* MarshalIndent's prefix and indent, both */
#define DIGITS_MAX 17 /* significant digits that identify any double */

/* Where the rendering goes: a SHA-1 or a buffer. */
struct sink {
	struct sha1_ctx *k_sha;
	struct buf *k_buf;
	bool k_full;
	bool k_go16;
};

static void
put(struct sink *k, const void *d, size_t n)
{
	if (k->k_sha != NULL)
		sha1_update(k->k_sha, d, n);
	else if (!k->k_full && buf_add(k->k_buf, d, n) == -1)
		k->k_full = true;
}

static void
puts_(struct sink *k, const char *s)
{
	put(k, s, strlen(s));
}

static void
newline(struct sink *k, int depth)
{
	puts_(k, "\n" INDENT);
	for (int i = 0; i < depth; i++)
		puts_(k, INDENT);
}

/* ---- numbers ----------------------------------------------------------- */

static bool
reads_back(const char *s, double x)
{
	return strtod(s, NULL) == x;
}

/* Sets dig/nd/dp from m * 10^e: value = 0.dig * 10^dp, no trailing 0s. */
static void
set_digits(uint64_t m, int e, char dig[DIGITS_MAX + 2], int *nd, int *dp)
{
	int n = snprintf(dig, DIGITS_MAX + 2, "%" PRIu64, m);

	*dp = n + e;
	while (n > 1 && dig[n - 1] == '0')
		n--;
	dig[n] = '\0';
	*nd = n;
}

/* The digits of printf's "%.*e" text b as an integer m, and the exponent
 * e such that the text's value is m * 10^e. */
static void
split_e(const char *b, int prec, uint64_t *m, int *e)
{
	const char *p;

	*m = 0;
	for (p = b; *p != 'e'; p++)
		if (*p != '.')
			*m = *m * 10 + (uint64_t)(*p - '0');
	*e = (int)strtol(p + 1, NULL, 10) - prec;
}

/*
 * The shortest decimal that reads back as x (finite, > 0), and of those the
 * nearest, as Go's strconv finds it: printf's correctly rounded "%.*e" is
 * the nearest decimal of each length, so the first length that reads back
 * wins. (Only at powers of two, where the interval that reads back is
 * lopsided, could the next decimal up read back when the nearest does not;
 * all 2098 of them were checked against a shortest-digits reference: it
 * never happens for doubles.) 17 digits always read back.
 */
static void
shortest(double x, char dig[DIGITS_MAX + 2], int *nd, int *dp)
{
	char b[48];
	uint64_t m;
	int e, prec;

	for (prec = 0; prec < DIGITS_MAX - 1; prec++) {
		(void)snprintf(b, sizeof(b), "%.*e", prec, x);
		if (reads_back(b, x))
			break;
	}
	if (prec == DIGITS_MAX - 1)
		(void)snprintf(b, sizeof(b), "%.*e", prec, x);
	split_e(b, prec, &m, &e);
	set_digits(m, e, dig, nd, dp);
}

/* Go's %e with all digits: d[.ddd]e±XX, at least two exponent digits. */
static void
fmt_exp(char *o, size_t len, const char *dig, int nd, int dp)
{
	int exp = dp - 1;

	(void)snprintf(o, len, "%c%s%se%c%02d", dig[0], nd > 1 ? "." : "",
	    dig + 1, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* Go's %f with all digits. */
static void
fmt_plain(char *o, size_t len, const char *dig, int nd, int dp)
{
	size_t w = 0;

	if (dp <= 0) {
		w += (size_t)snprintf(o, len, "0.");
		for (int i = 0; i < -dp && w + 1 < len; i++)
			o[w++] = '0';
		(void)snprintf(o + w, len - w, "%s", dig);
	} else if (dp >= nd) {
		w += (size_t)snprintf(o, len, "%s", dig);
		for (int i = nd; i < dp && w + 1 < len; i++)
			o[w++] = '0';
		o[w] = '\0';
	} else
		(void)snprintf(o, len, "%.*s.%s", dp, dig, dig + dp);
}

static void
fmt_double(double x, bool go16, char out[GHASH_NUMBER_MAX])
{
	char dig[DIGITS_MAX + 2], body[GHASH_NUMBER_MAX];
	int nd, dp, exp;
	bool e_form;

	if (x == 0) {
		(void)snprintf(
		    out, GHASH_NUMBER_MAX, "%s", signbit(x) ? "-0" : "0");
		return;
	}
	shortest(fabs(x), dig, &nd, &dp);
	exp = dp - 1;
	if (go16) /* strconv 'g', shortest: %e below 1e-4 or from 1e6 */
		e_form = exp < -4 || exp >= 6;
	else /* encoding/json since Go 1.8 */
		e_form = fabs(x) < 1e-6 || fabs(x) >= 1e21;
	if (e_form) {
		fmt_exp(body, sizeof(body), dig, nd, dp);
		/* json since Go 1.8 writes e-07 as e-7. */
		if (!go16 && exp < 0 && exp > -10) {
			size_t n = strlen(body);

			body[n - 2] = body[n - 1];
			body[n - 1] = '\0';
		}
	} else
		fmt_plain(body, sizeof(body), dig, nd, dp);
	(void)snprintf(out, GHASH_NUMBER_MAX, "%s%s", x < 0 ? "-" : "", body);
}

static int
literal_double(const char *lit, double *x, struct err *err)
{
	char *end;

	errno = 0;
	*x = strtod(lit, &end);
	if (end == lit || *end != '\0') {
		err_set(err, EIK_INVAL, "\"%s\" is not a JSON number", lit);
		return -1;
	}
	if (errno == ERANGE && isinf(*x)) {
		err_set(err, EIK_INVAL,
		    "the number %s is too large for a double (InfraKit reads "
		    "numbers as doubles); write a smaller number or a string",
		    lit);
		return -1;
	}
	return 0;
}

int
ghash_number(const char *literal, enum ghash_era era,
    char out[GHASH_NUMBER_MAX], struct err *err)
{
	double x;

	if (literal_double(literal, &x, err) == -1)
		return -1;
	fmt_double(x, era == GHASH_V01_GO16, out);
	return 0;
}

/* ---- strings ----------------------------------------------------------- */

/* Go's encodeState.string with HTML escaping (what Marshal does). */
static void
put_string(struct sink *k, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0; /* start of bytes not yet written */
	char esc[8];

	put(k, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		const char *e = NULL;

		if (u[i] == '"')
			e = "\\\"";
		else if (u[i] == '\\')
			e = "\\\\";
		else if (u[i] == '\n')
			e = "\\n";
		else if (u[i] == '\r')
			e = "\\r";
		else if (u[i] == '\t')
			e = "\\t";
		else if (u[i] < 0x20 || u[i] == '<' || u[i] == '>' ||
		    u[i] == '&') {
			(void)snprintf(esc, sizeof(esc), "\\u00%c%c",
			    hex[u[i] >> 4], hex[u[i] & 15]);
			e = esc;
		} else if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
			/* U+2028, U+2029: JSONP-safe escapes. */
			e = u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			put(k, s + run, i - run);
			puts_(k, e);
			i += 2;
			run = i + 1;
			continue;
		}
		if (e != NULL) {
			put(k, s + run, i - run);
			puts_(k, e);
			run = i + 1;
		}
	}
	put(k, s + run, len - run);
	put(k, "\"", 1);
}

/* ---- values ------------------------------------------------------------ */

static int render(
    struct sink *k, const struct gjson *v, int depth, struct err *err);

static int
member_cmp(const void *a, const void *b)
{
	const struct gjson_member *x = *(const struct gjson_member *const *)a;
	const struct gjson_member *y = *(const struct gjson_member *const *)b;
	size_t n = x->m_klen < y->m_klen ? x->m_klen : y->m_klen;
	int c = memcmp(x->m_key, y->m_key, n);

	if (c != 0)
		return c;
	if (x->m_klen != y->m_klen)
		return x->m_klen < y->m_klen ? -1 : 1;
	/* Equal keys: document order, so the last one ends the run. */
	return x < y ? -1 : x > y;
}

static bool
same_key(const struct gjson_member *x, const struct gjson_member *y)
{
	return x->m_klen == y->m_klen &&
	    memcmp(x->m_key, y->m_key, x->m_klen) == 0;
}

/* An object as Go's map: duplicate keys collapse to the last, keys sorted
 * byte-wise. */
static int
render_object(struct sink *k, const struct gjson *v, int depth, struct err *err)
{
	const struct gjson_member **ix;
	bool first = true;
	int rc = 0;

	if (v->j_n == 0) {
		puts_(k, "{}");
		return 0;
	}
	ix = calloc(v->j_n, sizeof(*ix));
	if (ix == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->j_n; i++)
		ix[i] = &v->j_mem[i];
	qsort(ix, v->j_n, sizeof(*ix), member_cmp);
	puts_(k, "{");
	for (size_t i = 0; i < v->j_n && rc == 0; i++) {
		if (i + 1 < v->j_n && same_key(ix[i], ix[i + 1]))
			continue;
		if (!first)
			puts_(k, ",");
		first = false;
		newline(k, depth + 1);
		put_string(k, ix[i]->m_key, ix[i]->m_klen);
		puts_(k, ": ");
		rc = render(k, &ix[i]->m_val, depth + 1, err);
	}
	newline(k, depth);
	puts_(k, "}");
	free(ix);
	return rc;
}

static int
render_array(struct sink *k, const struct gjson *v, int depth, struct err *err)
{
	if (v->j_n == 0) {
		puts_(k, "[]");
		return 0;
	}
	puts_(k, "[");
	for (size_t i = 0; i < v->j_n; i++) {
		if (i > 0)
			puts_(k, ",");
		newline(k, depth + 1);
		if (render(k, &v->j_el[i], depth + 1, err) == -1)
			return -1;
	}
	newline(k, depth);
	puts_(k, "]");
	return 0;
}

static int
render(struct sink *k, const struct gjson *v, int depth, struct err *err)
{
	char num[GHASH_NUMBER_MAX];
	double x;

	switch (v->j_type) {
	case GJSON_NULL:
		puts_(k, "null");
		return 0;
	case GJSON_TRUE:
		puts_(k, "true");
		return 0;
	case GJSON_FALSE:
		puts_(k, "false");
		return 0;
	case GJSON_NUMBER:
		if (literal_double(v->j_str, &x, err) == -1)
			return -1;
		fmt_double(x, k->k_go16, num);
		puts_(k, num);
		return 0;
	case GJSON_STRING:
		put_string(k, v->j_str, v->j_len);
		return 0;
	case GJSON_ARRAY:
		return render_array(k, v, depth, err);
	case GJSON_OBJECT:
		return render_object(k, v, depth, err);
	}
	return 0;
}

/* {"Plugin": P, "Properties": X} at depth 0 (members at 4 spaces). */
static int
render_section(struct sink *k, const struct ghash_section *s, struct err *err)
{
	struct gjson_doc doc;
	int rc = -1;

	memset(&doc, 0, sizeof(doc));
	puts_(k, "{");
	newline(k, 1);
	puts_(k, "\"Plugin\": ");
	put_string(k, s->hs_plugin != NULL ? s->hs_plugin : "",
	    s->hs_plugin != NULL ? strlen(s->hs_plugin) : 0);
	puts_(k, ",");
	newline(k, 1);
	puts_(k, "\"Properties\": ");
	if (s->hs_props == NULL)
		puts_(k, "null");
	else {
		if (gjson_parse(s->hs_props, s->hs_props_len, GJSON_GO, &doc,
			err) == -1)
			goto out;
		if (render(k, &doc.d_root, 1, err) == -1)
			goto out;
	}
	newline(k, 0);
	puts_(k, "}");
	rc = 0;
out:
	gjson_doc_free(&doc);
	return rc;
}

int
ghash_render(const struct ghash_section *s, enum ghash_era era, struct buf *out,
    struct err *err)
{
	struct sink k = { NULL, out, false, era == GHASH_V01_GO16 };

	if (render_section(&k, s, err) == -1)
		return -1;
	if (k.k_full) {
		err_set(err, EIK_INVAL,
		    "the rendering of the section is over %zu bytes",
		    out->b_max);
		return -1;
	}
	return 0;
}

int
ghash_digest(const struct ghash_section *instance,
    const struct ghash_section *flavor, enum ghash_era era,
    unsigned char digest[SHA1_DIGEST_LEN], struct err *err)
{
	struct sha1_ctx c;
	struct sink k = { &c, NULL, false, era == GHASH_V01_GO16 };

	sha1_init(&c);
	if (render_section(&k, instance, err) == -1 ||
	    render_section(&k, flavor, err) == -1)
		return -1;
	sha1_final(&c, digest);
	return 0;
}

/* ---- encodings and eras ----------------------------------------------- */

/* RFC 4648 §5 with padding (Go's base64.URLEncoding). */
static void
base64url(const unsigned char *d, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t w = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)d[i] << 16;
		size_t have = n - i < 3 ? n - i : 3;

		if (have > 1)
			v |= (unsigned long)d[i + 1] << 8;
		if (have > 2)
			v |= d[i + 2];
		out[w++] = a[v >> 18 & 63];
		out[w++] = a[v >> 12 & 63];
		out[w++] = have > 1 ? a[v >> 6 & 63] : '=';
		out[w++] = have > 2 ? a[v & 63] : '=';
	}
	out[w] = '\0';
}

/* RFC 4648 §6 lower-cased, padding trimmed (what InfraKit does with Go's
 * base32.StdEncoding). */
static void
base32_lower(const unsigned char *d, size_t n, char *out)
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned long acc = 0;
	int bits = 0;
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | d[i]) & 0xffff;
		bits += 8;
		while (bits >= 5) {
			out[w++] = a[acc >> (bits - 5) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[w++] = a[acc << (5 - bits) & 31];
	out[w] = '\0';
}

void
ghash_encode(const unsigned char digest[SHA1_DIGEST_LEN], enum ghash_era era,
    char out[GHASH_TEXT_MAX + 1])
{
	if (era == GHASH_V01 || era == GHASH_V01_GO16)
		base64url(digest, SHA1_DIGEST_LEN, out);
	else
		base32_lower(digest, SHA1_DIGEST_LEN, out);
}

int
ghash_compute(const struct ghash_section *instance,
    const struct ghash_section *flavor, enum ghash_era era,
    char out[GHASH_TEXT_MAX + 1], struct err *err)
{
	unsigned char d[SHA1_DIGEST_LEN];

	if (ghash_digest(instance, flavor, era, d, err) == -1)
		return -1;
	ghash_encode(d, era, out);
	return 0;
}

static const char *const era_names[] = {
	[GHASH_V01] = "v0.1",
	[GHASH_V01_GO16] = "v0.1-go1.6",
	[GHASH_V05] = "v0.5",
	[GHASH_MASTER] = "master",
};

const char *
ghash_tag(enum ghash_era era)
{
	return era == GHASH_MASTER ? GHASH_TAG_CONFIG_HASH
				   : GHASH_TAG_CONFIG_SHA;
}

const char *
ghash_era_name(enum ghash_era era)
{
	return era_names[era];
}

int
ghash_era_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(era_names) / sizeof(era_names[0]); i++)
		if (strcmp(name, era_names[i]) == 0)
			return (int)i;
	return -1;
}
