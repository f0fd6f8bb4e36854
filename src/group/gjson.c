/*
 * A recursive-descent JSON (RFC 8259) reader with Go's decoding rules as an
 * option. See gjson.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "util/err.h"
#include "model/jsonutil.h"
#include "group/gjson.h"

struct parser {
	const unsigned char *p_s;
	size_t p_len;
	size_t p_pos;
	unsigned p_flags;
	int p_depth;
	struct err *p_err;
};

static void perr(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets "invalid JSON at line L, column C: <what>", counting from 1. */
static void
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	char what[256];
	size_t line = 1, col = 1;
	va_list ap;

	for (size_t i = 0; i < off && i < p->p_len; i++) {
		if (p->p_s[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err_set(p->p_err, EIK_PARSE, "invalid JSON at line %zu, column %zu: %s",
	    line, col, what);
}

static void
oom(struct parser *p)
{
	err_set(p->p_err, EIK_INTERNAL, "out of memory");
}

static void
skip_ws(struct parser *p)
{
	while (p->p_pos < p->p_len &&
	    (p->p_s[p->p_pos] == ' ' || p->p_s[p->p_pos] == '\t' ||
		p->p_s[p->p_pos] == '\n' || p->p_s[p->p_pos] == '\r'))
		p->p_pos++;
}

/* A description of the byte at pos for messages. */
static const char *
what_at(struct parser *p, char *buf, size_t len)
{
	unsigned char c;

	if (p->p_pos >= p->p_len)
		return "the end of the text";
	c = p->p_s[p->p_pos];
	if (c >= 0x20 && c < 0x7f)
		(void)snprintf(buf, len, "'%c'", c);
	else
		(void)snprintf(buf, len, "byte 0x%02x", c);
	return buf;
}

/*
 * One UTF-8 sequence as Go's utf8.DecodeRune accepts it (shortest form, no
 * surrogates, at most U+10FFFF). Returns its length, or 0 when invalid.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len;
	unsigned long c, min;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static size_t
put_utf8(char *d, unsigned long c)
{
	if (c < 0x80) {
		d[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (char)(0xc0 | c >> 6);
		d[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (char)(0xe0 | c >> 12);
		d[1] = (char)(0x80 | (c >> 6 & 0x3f));
		d[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | c >> 18);
	d[1] = (char)(0x80 | (c >> 12 & 0x3f));
	d[2] = (char)(0x80 | (c >> 6 & 0x3f));
	d[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* Four hex digits at s (which has at least 4 bytes), or -1. */
static long
hex4(const unsigned char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int c = s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * A \u escape at s (pointing at the backslash, n bytes left), with a
 * following low surrogate if the first is a high one. Writes the code
 * point, U+FFFD for a lone surrogate; returns the bytes consumed, or 0 for a
 * malformed escape. *lone is set for a lone surrogate.
 */
static size_t
unicode_escape(const unsigned char *s, size_t n, unsigned long *cp, bool *lone)
{
	long hi, lo;

	*lone = false;
	if (n < 6 || (hi = hex4(s + 2)) < 0)
		return 0;
	if (hi < 0xd800 || hi > 0xdfff) {
		*cp = (unsigned long)hi;
		return 6;
	}
	if (hi < 0xdc00 && n >= 12 && s[6] == '\\' && s[7] == 'u' &&
	    (lo = hex4(s + 8)) >= 0xdc00 && lo <= 0xdfff) {
		*cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) +
		    ((unsigned long)lo - 0xdc00);
		return 12;
	}
	*cp = 0xfffd; /* Go's utf16.DecodeRune failing: one U+FFFD */
	*lone = true;
	return 6;
}

static int
escape_char(unsigned char c, char *out)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *f = memchr(from, c, sizeof(from) - 1);

	if (c == '\0' || f == NULL)
		return -1;
	*out = to[f - from];
	return 0;
}

/* Decodes the string token at p_pos (at its opening quote). */
static int
parse_string(struct parser *p, char **out, size_t *outlen)
{
	const unsigned char *s = p->p_s;
	size_t start = p->p_pos, i = start + 1, w = 0, end = i;
	bool go = (p->p_flags & GJSON_GO) != 0;
	char *d;

	/* Find the closing quote; decoding never turns one byte of the
	 * token into more than 3 (a bad byte becomes U+FFFD). */
	while (end < p->p_len && s[end] != '"')
		end += s[end] == '\\' ? 2 : 1;
	d = malloc(3 * (end - start) + 1);
	if (d == NULL) {
		oom(p);
		return -1;
	}
	for (;;) {
		unsigned long cp;
		size_t n;
		bool lone;

		if (i >= p->p_len) {
			perr(p, start, "a string is not closed with '\"'");
			goto fail;
		}
		if (s[i] == '"')
			break;
		if (s[i] < 0x20) {
			perr(p, i,
			    "control byte 0x%02x inside a string; write it as "
			    "an escape such as \\n or \\u%04x",
			    s[i], s[i]);
			goto fail;
		}
		if (s[i] == '\\' && i + 1 < p->p_len && s[i + 1] == 'u') {
			n = unicode_escape(s + i, p->p_len - i, &cp, &lone);
			if (n == 0) {
				perr(p, i,
				    "\\u must be followed by 4 hex "
				    "digits");
				goto fail;
			}
			if (lone && !go) {
				perr(p, i,
				    "\\u%.4s is half of a UTF-16 surrogate "
				    "pair; escape the whole character",
				    (const char *)s + i + 2);
				goto fail;
			}
			w += put_utf8(d + w, cp);
			i += n;
		} else if (s[i] == '\\') {
			if (i + 1 >= p->p_len || escape_char(s[i + 1], d + w)) {
				perr(p, i, "unknown escape in a string");
				goto fail;
			}
			w++;
			i += 2;
		} else if ((n = utf8_decode(s + i, p->p_len - i, &cp)) > 0) {
			memcpy(d + w, s + i, n);
			w += n;
			i += n;
		} else if (go) {
			w += put_utf8(d + w, 0xfffd);
			i++;
		} else {
			perr(p, i, "byte 0x%02x is not valid UTF-8", s[i]);
			goto fail;
		}
	}
	d[w] = '\0';
	p->p_pos = i + 1;
	*out = d;
	*outlen = w;
	return 0;
fail:
	free(d);
	return -1;
}

static size_t
digits(struct parser *p)
{
	size_t n = 0;

	while (p->p_pos < p->p_len && isdigit(p->p_s[p->p_pos])) {
		p->p_pos++;
		n++;
	}
	return n;
}

static int
parse_number(struct parser *p, struct gjson *v)
{
	size_t start = p->p_pos;
	char b[16];

	if (p->p_s[p->p_pos] == '-')
		p->p_pos++;
	if (p->p_pos < p->p_len && p->p_s[p->p_pos] == '0')
		p->p_pos++;
	else if (digits(p) == 0)
		goto bad;
	if (p->p_pos < p->p_len && p->p_s[p->p_pos] == '.') {
		p->p_pos++;
		if (digits(p) == 0)
			goto bad;
	}
	if (p->p_pos < p->p_len &&
	    (p->p_s[p->p_pos] == 'e' || p->p_s[p->p_pos] == 'E')) {
		p->p_pos++;
		if (p->p_pos < p->p_len &&
		    (p->p_s[p->p_pos] == '+' || p->p_s[p->p_pos] == '-'))
			p->p_pos++;
		if (digits(p) == 0)
			goto bad;
	}
	v->j_type = GJSON_NUMBER;
	v->j_len = p->p_pos - start;
	v->j_str = malloc(v->j_len + 1);
	if (v->j_str == NULL) {
		oom(p);
		return -1;
	}
	memcpy(v->j_str, p->p_s + start, v->j_len);
	v->j_str[v->j_len] = '\0';
	return 0;
bad:
	perr(p, p->p_pos, "malformed number (unexpected %s)",
	    what_at(p, b, sizeof(b)));
	return -1;
}

static int parse_value(struct parser *p, struct gjson *v);

static int
key_cmp(const void *a, const void *b)
{
	const struct gjson_member *x = *(const struct gjson_member *const *)a;
	const struct gjson_member *y = *(const struct gjson_member *const *)b;
	size_t n = x->m_klen < y->m_klen ? x->m_klen : y->m_klen;
	int c = memcmp(x->m_key, y->m_key, n);

	if (c != 0)
		return c;
	return x->m_klen < y->m_klen ? -1 : x->m_klen > y->m_klen;
}

/* Strict mode: a key twice in one object is refused (sorted, so
 * n log n even for huge objects). */
static int
check_dups(struct parser *p, const struct gjson *o)
{
	const struct gjson_member **ix;
	int rc = 0;

	if (o->j_n < 2)
		return 0;
	ix = calloc(o->j_n, sizeof(*ix));
	if (ix == NULL) {
		oom(p);
		return -1;
	}
	for (size_t i = 0; i < o->j_n; i++)
		ix[i] = &o->j_mem[i];
	qsort(ix, o->j_n, sizeof(*ix), key_cmp);
	for (size_t i = 1; i < o->j_n && rc == 0; i++) {
		if (key_cmp(&ix[i - 1], &ix[i]) == 0) {
			size_t a = ix[i - 1]->m_off, b = ix[i]->m_off;

			/* At the later of the two. */
			perr(p, a > b ? a : b,
			    "the key \"%s\" appears twice in one object; keep "
			    "one",
			    ix[i]->m_key);
			rc = -1;
		}
	}
	free(ix);
	return rc;
}

/* Makes room for one more element of size sz in *arr (n used, *cap). */
static int
grow(struct parser *p, void **arr, size_t n, size_t *cap, size_t sz)
{
	void *na;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap == 0 ? 4 : *cap * 2;
	na = realloc(*arr, nc * sz);
	if (na == NULL) {
		oom(p);
		return -1;
	}
	*arr = na;
	*cap = nc;
	return 0;
}

static int
expect_more(struct parser *p, char close, const char *what)
{
	char b[16];

	skip_ws(p);
	if (p->p_pos < p->p_len && p->p_s[p->p_pos] == ',') {
		p->p_pos++;
		return 1;
	}
	if (p->p_pos < p->p_len && p->p_s[p->p_pos] == close) {
		p->p_pos++;
		return 0;
	}
	perr(p, p->p_pos, "expected ',' or '%c' after %s, found %s", close,
	    what, what_at(p, b, sizeof(b)));
	return -1;
}

static int
parse_object(struct parser *p, struct gjson *v)
{
	size_t cap = 0;
	char b[16];
	int more;

	v->j_type = GJSON_OBJECT;
	p->p_pos++;
	skip_ws(p);
	if (p->p_pos < p->p_len && p->p_s[p->p_pos] == '}') {
		p->p_pos++;
		return 0;
	}
	do {
		struct gjson_member *m;

		skip_ws(p);
		if (p->p_pos >= p->p_len || p->p_s[p->p_pos] != '"') {
			perr(p, p->p_pos, "expected a quoted key, found %s",
			    what_at(p, b, sizeof(b)));
			return -1;
		}
		if (grow(p, (void **)&v->j_mem, v->j_n, &cap,
			sizeof(*v->j_mem)) == -1)
			return -1;
		m = &v->j_mem[v->j_n++];
		memset(m, 0, sizeof(*m));
		m->m_off = p->p_pos;
		if (parse_string(p, &m->m_key, &m->m_klen) == -1)
			return -1;
		skip_ws(p);
		if (p->p_pos >= p->p_len || p->p_s[p->p_pos] != ':') {
			perr(p, p->p_pos, "expected ':' after the key \"%s\"",
			    m->m_key);
			return -1;
		}
		p->p_pos++;
		if (parse_value(p, &m->m_val) == -1)
			return -1;
		more = expect_more(p, '}', "an object member");
		if (more == -1)
			return -1;
	} while (more);
	if (!(p->p_flags & GJSON_GO))
		return check_dups(p, v);
	return 0;
}

static int
parse_array(struct parser *p, struct gjson *v)
{
	size_t cap = 0;
	int more;

	v->j_type = GJSON_ARRAY;
	p->p_pos++;
	skip_ws(p);
	if (p->p_pos < p->p_len && p->p_s[p->p_pos] == ']') {
		p->p_pos++;
		return 0;
	}
	do {
		struct gjson *e;

		if (grow(p, (void **)&v->j_el, v->j_n, &cap,
			sizeof(*v->j_el)) == -1)
			return -1;
		e = &v->j_el[v->j_n++];
		memset(e, 0, sizeof(*e));
		if (parse_value(p, e) == -1)
			return -1;
		more = expect_more(p, ']', "an array element");
		if (more == -1)
			return -1;
	} while (more);
	return 0;
}

static int
parse_literal(struct parser *p, struct gjson *v)
{
	static const struct {
		const char *word;
		enum gjson_type type;
	} lit[] = { { "null", GJSON_NULL }, { "true", GJSON_TRUE },
		{ "false", GJSON_FALSE } };
	char b[16];

	for (size_t i = 0; i < sizeof(lit) / sizeof(lit[0]); i++) {
		size_t n = strlen(lit[i].word);

		if (p->p_len - p->p_pos >= n &&
		    memcmp(p->p_s + p->p_pos, lit[i].word, n) == 0) {
			p->p_pos += n;
			v->j_type = lit[i].type;
			return 0;
		}
	}
	perr(p, p->p_pos, "expected a value, found %s",
	    what_at(p, b, sizeof(b)));
	return -1;
}

static int
parse_value(struct parser *p, struct gjson *v)
{
	unsigned char c;
	int rc;

	skip_ws(p);
	v->j_off = p->p_pos;
	if (p->p_pos >= p->p_len) {
		perr(p, p->p_pos, "unexpected end of the text");
		return -1;
	}
	c = p->p_s[p->p_pos];
	if (c == '{' || c == '[') {
		if (++p->p_depth > GJSON_MAX_DEPTH) {
			perr(p, p->p_pos, "nested deeper than %d levels",
			    GJSON_MAX_DEPTH);
			return -1;
		}
		rc = c == '{' ? parse_object(p, v) : parse_array(p, v);
		p->p_depth--;
	} else if (c == '"') {
		v->j_type = GJSON_STRING;
		rc = parse_string(p, &v->j_str, &v->j_len);
	} else if (c == '-' || isdigit(c))
		rc = parse_number(p, v);
	else
		rc = parse_literal(p, v);
	v->j_end = p->p_pos;
	return rc;
}

static void
gjson_free_value(struct gjson *v)
{
	for (size_t i = 0; v->j_type == GJSON_ARRAY && i < v->j_n; i++)
		gjson_free_value(&v->j_el[i]);
	for (size_t i = 0; v->j_type == GJSON_OBJECT && i < v->j_n; i++) {
		free(v->j_mem[i].m_key);
		gjson_free_value(&v->j_mem[i].m_val);
	}
	free(v->j_el);
	free(v->j_mem);
	free(v->j_str);
	memset(v, 0, sizeof(*v));
}

int
gjson_parse(const char *text, size_t len, unsigned flags, struct gjson_doc *doc,
    struct err *err)
{
	struct parser p = { (const unsigned char *)text, len, 0, flags, 0,
		err };
	char b[16];

	if (len > GJSON_MAX_TEXT) {
		err_set(err, EIK_PARSE,
		    "the JSON text is %zu bytes; the limit is %d", len,
		    GJSON_MAX_TEXT);
		return -1;
	}
	doc->d_text = malloc(len + 1);
	if (doc->d_text == NULL) {
		oom(&p);
		return -1;
	}
	memcpy(doc->d_text, text, len);
	doc->d_text[len] = '\0';
	doc->d_len = len;
	if (parse_value(&p, &doc->d_root) == -1)
		return -1;
	skip_ws(&p);
	if (p.p_pos != len) {
		perr(&p, p.p_pos, "unexpected %s after the value",
		    what_at(&p, b, sizeof(b)));
		return -1;
	}
	return 0;
}

void
gjson_doc_free(struct gjson_doc *doc)
{
	gjson_free_value(&doc->d_root);
	free(doc->d_text);
	doc->d_text = NULL;
	doc->d_len = 0;
}

const struct gjson *
gjson_get(const struct gjson *obj, const char *name)
{
	const struct gjson *found = NULL;
	size_t nl = strlen(name);

	if (obj == NULL || obj->j_type != GJSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->j_n; i++) {
		const struct gjson_member *m = &obj->j_mem[i];

		if (m->m_klen == nl && strncasecmp(m->m_key, name, nl) == 0)
			found = &m->m_val;
	}
	return found;
}

bool
gjson_is_null(const struct gjson *v)
{
	return v == NULL || v->j_type == GJSON_NULL;
}

const char *
gjson_type_name(const struct gjson *v)
{
	static const char *const names[] = { [GJSON_NULL] = "null",
		[GJSON_FALSE] = "boolean",
		[GJSON_TRUE] = "boolean",
		[GJSON_NUMBER] = "number",
		[GJSON_STRING] = "string",
		[GJSON_ARRAY] = "array",
		[GJSON_OBJECT] = "object" };

	return v == NULL ? "nothing" : names[v->j_type];
}

const char *
gjson_got(const struct gjson *v, char *buf)
{
	json_t *j;
	const char *r;

	if (v == NULL || v->j_type == GJSON_NULL)
		return v == NULL ? "nothing" : "null";
	if (v->j_type == GJSON_NUMBER) {
		bool plain = strcspn(v->j_str, ".eE") == v->j_len;

		(void)snprintf(buf, JGOT_MAX, "%.64s (a %snumber)", v->j_str,
		    plain || jreal_whole(strtod(v->j_str, NULL))
			? ""
			: "fractional ");
		return buf;
	}
	switch (v->j_type) {
	case GJSON_STRING:
		j = json_stringn(v->j_str, v->j_len);
		break;
	case GJSON_ARRAY:
		return "an array";
	case GJSON_OBJECT:
		return "an object";
	default:
		j = json_boolean(v->j_type == GJSON_TRUE);
		break;
	}
	if (j == NULL)
		return gjson_type_name(v);
	r = jgot(j, buf);
	json_decref(j);
	return r;
}

int
gjson_uint(const struct gjson *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (v == NULL || v->j_type != GJSON_NUMBER)
		return -1;
	for (size_t i = 0; i < v->j_len; i++) {
		unsigned d;

		if (!isdigit((unsigned char)v->j_str[i]))
			return -1;
		d = (unsigned)(v->j_str[i] - '0');
		if (n > max / 10)
			return -1;
		n *= 10;
		if (d > max - n)
			return -1;
		n += d;
	}
	*out = n;
	return 0;
}

char *
gjson_compact(const struct gjson_doc *doc, const struct gjson *v)
{
	const char *s = doc->d_text;
	bool in_str = false;
	size_t w = 0;
	char *d = malloc(v->j_end - v->j_off + 1);

	if (d == NULL)
		return NULL;
	for (size_t i = v->j_off; i < v->j_end; i++) {
		char c = s[i];

		if (in_str) {
			d[w++] = c;
			if (c == '\\')
				d[w++] = s[++i];
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
			d[w++] = c;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			d[w++] = c;
	}
	d[w] = '\0';
	return d;
}
