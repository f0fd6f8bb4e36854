/*
 * The .vmx codec. See vmx.h.
 *
 * The input is copied once; each line points into that copy until it is
 * edited, when it gets its own buffer. An entry line also records where its
 * value sits in the line (inside the quotes), so that vmx_set can swap the
 * value and leave every other byte of the line alone.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "vmx/vmx.h"

#ifndef FNM_CASEFOLD
#error "vmx_del_matching needs fnmatch(3) with FNM_CASEFOLD"
#endif

/* How much of a bad line an error message shows. */
#define VMX_SHOW_MAX 60

enum vmx_eol {
	EOL_NONE = 0, /* last line without a line ending */
	EOL_LF,
	EOL_CRLF
};

struct vmx_line {
	const char *l_text; /* line without its ending, not NUL-terminated */
	size_t l_len;
	char *l_own;   /* l_text when the line was edited (owned), else NULL */
	int l_eol;     /* enum vmx_eol */
	int l_entry;   /* 1 for key = value, 0 for blank and comment lines */
	int l_quoted;  /* value was written in double quotes */
	size_t l_voff; /* value in l_text: after the opening quote */
	size_t l_vlen; /* ... up to, not including, the closing quote */
	char *l_key;   /* key as spelled, NUL-terminated; owns l_val too */
	char *l_val;   /* decoded value (unquoted values as written) */
};

struct vmx {
	char *v_data;		  /* copy of the input */
	int v_bom;		  /* input began with a UTF-8 byte order mark */
	struct vmx_line *v_lines; /* in file order */
	size_t v_nlines;
	size_t v_cap;
};

static const char utf8_bom[] = "\xef\xbb\xbf";

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_key_first(int c)
{
	return is_alpha(c) || c == '.';
}

static int
is_key_char(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
	    c == '.' || c == '-' || c == '*';
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive equality of keys, ASCII only and independent of the
 * locale. */
static int
key_eq(const char *a, const char *b)
{
	while (*a != '\0' &&
	    ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

static int
needs_escape(unsigned char c)
{
	return c == '"' || c == '|' || c < 0x20 || c == 0x7f;
}

/* Decodes n bytes of s into dst (room for n + 1) and NUL-terminates it. */
static void
unescape_into(char *dst, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (s[i] == '|' && n - i >= 3) {
			int hi = hex_digit((unsigned char)s[i + 1]);
			int lo = hex_digit((unsigned char)s[i + 2]);

			/* |00 would cut the C string short: keep it. */
			if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
				*dst++ = (char)(hi << 4 | lo);
				i += 3;
				continue;
			}
		}
		*dst++ = s[i++];
	}
	*dst = '\0';
}

/* Returns 1 if s names UTF-8 as an .encoding value. */
static int
is_utf8_name(const char *s)
{
	return key_eq(s, "UTF-8") || key_eq(s, "utf8");
}

/* Returns the offset of the first byte of s that is not valid UTF-8, or
 * n when all of it is. */
static size_t
utf8_bad_offset(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t m;

		if (c < 0x80)
			m = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			m = 2;
		else if (c >= 0xe0 && c <= 0xef)
			m = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			m = 4;
		else
			return i;
		if (n - i < m || !utf8_valid(s + i, m))
			return i;
		i += m;
	}
	return n;
}

/* Copies at most VMX_SHOW_MAX bytes of s into out for an error message:
 * bytes that are not printable ASCII become '?', and "..." marks a cut. */
static const char *
show(const char *s, size_t n, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < VMX_SHOW_MAX && o + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
	if (i < n)
		(void)strlcpy(out + o, "...", size - o);
	return out;
}

/* Sets l's key and decoded value (one allocation). 0 or -1 (ENOMEM). */
static int
line_set_kv(struct vmx_line *l, const char *key, size_t klen, const char *val,
    size_t vlen, int decode)
{
	char *kv;

	kv = malloc(klen + vlen + 2);
	if (kv == NULL)
		return -1;
	memcpy(kv, key, klen);
	kv[klen] = '\0';
	if (decode)
		unescape_into(kv + klen + 1, val, vlen);
	else {
		memcpy(kv + klen + 1, val, vlen);
		kv[klen + 1 + vlen] = '\0';
	}
	free(l->l_key);
	l->l_key = kv;
	l->l_val = kv + klen + 1;
	return 0;
}

static void
line_free(struct vmx_line *l)
{
	free(l->l_own);
	free(l->l_key);
	l->l_own = NULL;
	l->l_key = NULL;
}

/*
 * Lexes one line: blank, comment, or key = value. Fills the entry fields of
 * l; on error fills err with a message naming line number lineno.
 */
static int
parse_line(struct vmx_line *l, size_t lineno, struct err *err)
{
	const char *text = l->l_text, *end = text + l->l_len, *p = text;
	const char *key, *key_end, *val, *val_end, *q;
	char shown[VMX_SHOW_MAX + 8];

	while (p < end && is_blank((unsigned char)*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	if (!is_key_first((unsigned char)*p)) {
		err_set(err, EIK_INVAL,
		    "line %zu: expected key = \"value\", a comment (#) or a "
		    "blank line; keys start with a letter or '.': %s",
		    lineno, show(text, l->l_len, shown, sizeof(shown)));
		return -1;
	}
	key = p;
	while (p < end && is_key_char((unsigned char)*p))
		p++;
	key_end = p;
	if (p < end && !is_blank((unsigned char)*p) && *p != '=') {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x20 && c < 0x7f)
			err_set(err, EIK_INVAL,
			    "line %zu: character '%c' is not allowed in a key "
			    "(letters, digits and _ : . - * only), or '=' is "
			    "missing: %s",
			    lineno, c,
			    show(text, l->l_len, shown, sizeof(shown)));
		else
			err_set(err, EIK_INVAL,
			    "line %zu: byte 0x%02X is not allowed in a key "
			    "(letters, digits and _ : . - * only): %s",
			    lineno, c,
			    show(text, l->l_len, shown, sizeof(shown)));
		return -1;
	}
	while (p < end && is_blank((unsigned char)*p))
		p++;
	if (p == end || *p != '=') {
		err_set(err, EIK_INVAL,
		    "line %zu: expected '=' after key \"%.*s\"; write "
		    "key = \"value\": %s",
		    lineno, (int)(key_end - key), key,
		    show(text, l->l_len, shown, sizeof(shown)));
		return -1;
	}
	p++;
	while (p < end && is_blank((unsigned char)*p))
		p++;
	if (p == end) {
		err_set(err, EIK_INVAL,
		    "line %zu: no value after '=' for key \"%.*s\"; write "
		    "key = \"\" for an empty value: %s",
		    lineno, (int)(key_end - key), key,
		    show(text, l->l_len, shown, sizeof(shown)));
		return -1;
	}
	if (*p == '"') {
		val = p + 1;
		q = memchr(val, '"', (size_t)(end - val));
		if (q == NULL) {
			err_set(err, EIK_INVAL,
			    "line %zu: unterminated quoted value for key "
			    "\"%.*s\"; a value must close its '\"' on the same "
			    "line (write a quote inside a value as |22): %s",
			    lineno, (int)(key_end - key), key,
			    show(text, l->l_len, shown, sizeof(shown)));
			return -1;
		}
		val_end = q;
		/* After the closing quote: blanks, an optional ';', blanks,
		 * an optional comment. Kept verbatim. */
		p = q + 1;
		while (p < end && is_blank((unsigned char)*p))
			p++;
		if (p < end && *p == ';')
			p++;
		while (p < end && is_blank((unsigned char)*p))
			p++;
		if (p < end && *p != '#') {
			err_set(err, EIK_INVAL,
			    "line %zu: unexpected text after the closing quote "
			    "of key \"%.*s\" (write a quote inside a value as "
			    "|22): %s",
			    lineno, (int)(key_end - key), key,
			    show(text, l->l_len, shown, sizeof(shown)));
			return -1;
		}
		l->l_quoted = 1;
	} else {
		/* Tolerated: an unquoted value runs to the end of the line,
		 * trailing blanks excluded, and is kept as written. */
		val = p;
		val_end = end;
		while (val_end > val && is_blank((unsigned char)val_end[-1]))
			val_end--;
		l->l_quoted = 0;
	}
	l->l_voff = (size_t)(val - text);
	l->l_vlen = (size_t)(val_end - val);
	if (line_set_kv(l, key, (size_t)(key_end - key), val, l->l_vlen,
		l->l_quoted) == -1) {
		err_set(err, EIK_INTERNAL, "line %zu: out of memory", lineno);
		return -1;
	}
	l->l_entry = 1;
	return 0;
}

/* Makes room for one more line. 0 or -1 (ENOMEM). */
static int
grow(struct vmx *v)
{
	struct vmx_line *nl;
	size_t ncap;

	if (v->v_nlines < v->v_cap)
		return 0;
	ncap = v->v_cap == 0 ? 64 : v->v_cap * 2;
	if (ncap > SIZE_MAX / sizeof(*nl)) {
		errno = ENOMEM;
		return -1;
	}
	nl = realloc(v->v_lines, ncap * sizeof(*nl));
	if (nl == NULL)
		return -1;
	v->v_lines = nl;
	v->v_cap = ncap;
	return 0;
}

/* Checks .encoding and UTF-8 validity once the lines are known. */
static int
check_encoding(const struct vmx *v, struct err *err)
{
	char shown[VMX_SHOW_MAX + 8];
	const char *declared = NULL;
	size_t i, bad;

	for (i = 0; i < v->v_nlines; i++) {
		const struct vmx_line *l = &v->v_lines[i];

		if (!l->l_entry || !key_eq(l->l_key, ".encoding"))
			continue;
		if (!is_utf8_name(l->l_val)) {
			show(l->l_val, strlen(l->l_val), shown, sizeof(shown));
			err_set(err, EIK_INVAL,
			    "line %zu: .encoding = \"%s\" is not supported, "
			    "only UTF-8 is; convert the file (iconv -f %s -t "
			    "UTF-8) and set .encoding = \"UTF-8\"",
			    i + 1, shown, shown);
			return -1;
		}
		if (declared == NULL)
			declared = l->l_key;
	}
	for (i = 0; i < v->v_nlines; i++) {
		const struct vmx_line *l = &v->v_lines[i];

		bad = utf8_bad_offset(l->l_text, l->l_len);
		if (bad == l->l_len)
			continue;
		err_set(err, EIK_INVAL,
		    "line %zu: invalid UTF-8 at byte %zu (the file %s); "
		    "convert it to UTF-8: %s",
		    i + 1, bad + 1,
		    declared != NULL ? "declares .encoding = \"UTF-8\""
				     : "has no .encoding, so UTF-8 is assumed",
		    show(l->l_text, l->l_len, shown, sizeof(shown)));
		return -1;
	}
	return 0;
}

int
vmx_parse(const char *data, size_t len, struct vmx **out, struct err *err)
{
	struct vmx *v = NULL;
	const char *p, *end, *nul;
	int rc = -1;

	*out = NULL;
	if (len > VMX_MAX_SIZE) {
		err_set(err, EIK_INVAL,
		    "VMX data is %zu bytes, more than the %zu-byte limit "
		    "(VMX_MAX_SIZE); is this really a .vmx file?",
		    len, (size_t)VMX_MAX_SIZE);
		goto out;
	}
	if (len > 0 && (nul = memchr(data, '\0', len)) != NULL) {
		size_t lineno = 1;
		const char *bol = data;

		for (p = data; p < nul; p++)
			if (*p == '\n') {
				lineno++;
				bol = p + 1;
			}
		err_set(err, EIK_INVAL,
		    "line %zu: NUL byte at column %zu; a .vmx file is text, "
		    "this looks like a binary or damaged file",
		    lineno, (size_t)(nul - bol) + 1);
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->v_data = malloc(len + 1)) == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory parsing VMX data");
		goto out;
	}
	if (len > 0)
		memcpy(v->v_data, data, len);
	v->v_data[len] = '\0';
	p = v->v_data;
	end = p + len;
	/* Kept, not rejected: VMware does not write a BOM, but a file
	 * saved by a Windows editor may have one, and it does say UTF-8. */
	if (len >= 3 && memcmp(p, utf8_bom, 3) == 0) {
		v->v_bom = 1;
		p += 3;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct vmx_line *l;

		if (grow(v) == -1) {
			err_set(err, EIK_INTERNAL,
			    "out of memory parsing VMX data");
			goto out;
		}
		l = &v->v_lines[v->v_nlines++];
		memset(l, 0, sizeof(*l));
		l->l_text = p;
		if (nl == NULL) {
			l->l_len = (size_t)(end - p);
			l->l_eol = EOL_NONE;
			p = end;
		} else if (nl > p && nl[-1] == '\r') {
			l->l_len = (size_t)(nl - 1 - p);
			l->l_eol = EOL_CRLF;
			p = nl + 1;
		} else {
			l->l_len = (size_t)(nl - p);
			l->l_eol = EOL_LF;
			p = nl + 1;
		}
		if (parse_line(l, v->v_nlines, err) == -1)
			goto out;
	}
	if (check_encoding(v, err) == -1)
		goto out;
	*out = v;
	v = NULL;
	rc = 0;
out:
	vmx_free(v);
	return rc;
}

int
vmx_load(const char *path, struct vmx **out, struct err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	if (read_file_max(path, VMX_MAX_SIZE, &data, &len, err) == -1)
		goto out;
	if (vmx_parse(data, len, out, err) == -1) {
		err_prefix(err, "%s", path);
		goto out;
	}
	rc = 0;
out:
	free(data);
	return rc;
}

static size_t
eol_len(int eol)
{
	return eol == EOL_CRLF ? 2 : eol == EOL_LF ? 1 : 0;
}

char *
vmx_emit(const struct vmx *v, size_t *len)
{
	size_t i, total = 0;
	char *data, *o;

	if (v->v_bom)
		total += 3;
	for (i = 0; i < v->v_nlines; i++)
		total += v->v_lines[i].l_len + eol_len(v->v_lines[i].l_eol);
	if ((data = malloc(total + 1)) == NULL)
		return NULL;
	o = data;
	if (v->v_bom) {
		memcpy(o, utf8_bom, 3);
		o += 3;
	}
	for (i = 0; i < v->v_nlines; i++) {
		const struct vmx_line *l = &v->v_lines[i];

		if (l->l_len > 0)
			memcpy(o, l->l_text, l->l_len);
		o += l->l_len;
		if (l->l_eol == EOL_CRLF)
			*o++ = '\r';
		if (l->l_eol != EOL_NONE)
			*o++ = '\n';
	}
	*o = '\0';
	if (len != NULL)
		*len = total;
	return data;
}

int
vmx_save(const struct vmx *v, const char *path, struct err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = -1;

	if ((data = vmx_emit(v, &len)) == NULL) {
		err_set(err, EIK_INTERNAL, "out of memory writing %s", path);
		goto out;
	}
	if (len > VMX_MAX_SIZE) {
		err_set(err, EIK_INVAL,
		    "%s: the edited file would be %zu bytes, more than the "
		    "%zu-byte limit (VMX_MAX_SIZE); not written",
		    path, len, (size_t)VMX_MAX_SIZE);
		goto out;
	}
	if (atomic_write_file(path, data, len, 0644, err) == -1)
		goto out;
	rc = 0;
out:
	free(data);
	return rc;
}

void
vmx_free(struct vmx *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->v_nlines; i++)
		line_free(&v->v_lines[i]);
	free(v->v_lines);
	free(v->v_data);
	free(v);
}

const char *
vmx_get(const struct vmx *v, const char *key)
{
	size_t i;

	if (key == NULL)
		return NULL;
	for (i = 0; i < v->v_nlines; i++)
		if (v->v_lines[i].l_entry && key_eq(v->v_lines[i].l_key, key))
			return v->v_lines[i].l_val;
	return NULL;
}

/* Returns 1 if s is a key the parser would accept. */
static int
key_valid(const char *s)
{
	if (!is_key_first((unsigned char)*s))
		return 0;
	while (*++s != '\0')
		if (!is_key_char((unsigned char)*s))
			return 0;
	return 1;
}

/* The line ending for new lines: CRLF if most lines use it. */
static int
file_eol(const struct vmx *v)
{
	size_t i, crlf = 0, lf = 0;

	for (i = 0; i < v->v_nlines; i++) {
		if (v->v_lines[i].l_eol == EOL_CRLF)
			crlf++;
		else if (v->v_lines[i].l_eol == EOL_LF)
			lf++;
	}
	return crlf > lf ? EOL_CRLF : EOL_LF;
}

static int
match_key(const struct vmx_line *l, const void *key)
{
	return key_eq(l->l_key, key);
}

static int
match_pattern(const struct vmx_line *l, const void *pattern)
{
	return fnmatch(pattern, l->l_key, FNM_CASEFOLD) == 0;
}

/* Removes the entries from index from on that match; returns how many. */
static int
remove_entries(struct vmx *v, size_t from,
    int (*match)(const struct vmx_line *, const void *), const void *arg)
{
	size_t i, j = from;
	int n = 0;

	for (i = from; i < v->v_nlines; i++) {
		struct vmx_line *l = &v->v_lines[i];

		if (l->l_entry && match(l, arg)) {
			line_free(l);
			n++;
			continue;
		}
		if (j != i)
			v->v_lines[j] = *l;
		j++;
	}
	v->v_nlines = j;
	return n;
}

int
vmx_set(struct vmx *v, const char *key, const char *value)
{
	struct vmx_line *l, nl;
	size_t i, klen, vlen, elen, pre, post, q, tlen;
	char *esc = NULL, *text = NULL;
	int eol, rc = -1;

	memset(&nl, 0, sizeof(nl));
	if (key == NULL || value == NULL || !key_valid(key) ||
	    !utf8_valid(value, strlen(value)) ||
	    (key_eq(key, ".encoding") && !is_utf8_name(value))) {
		errno = EINVAL;
		goto out;
	}
	klen = strlen(key);
	vlen = strlen(value);
	if ((esc = vmx_escape(value)) == NULL)
		goto out;
	elen = strlen(esc);
	for (i = 0; i < v->v_nlines; i++)
		if (v->v_lines[i].l_entry && key_eq(v->v_lines[i].l_key, key))
			break;
	if (i < v->v_nlines) {
		/* Replace in place: [pre]["]esc["][post]. */
		l = &v->v_lines[i];
		q = l->l_quoted ? 0 : 1;
		pre = l->l_voff;
		post = l->l_len - l->l_voff - l->l_vlen;
		tlen = pre + q + elen + q + post;
		if ((text = malloc(tlen + 1)) == NULL)
			goto out;
		memcpy(text, l->l_text, pre);
		if (q)
			text[pre] = '"';
		memcpy(text + pre + q, esc, elen);
		if (q)
			text[pre + q + elen] = '"';
		memcpy(text + pre + q + elen + q, l->l_text + pre + l->l_vlen,
		    post);
		text[tlen] = '\0';
		if (line_set_kv(
			l, l->l_key, strlen(l->l_key), value, vlen, 0) == -1)
			goto out;
		free(l->l_own);
		l->l_own = text;
		l->l_text = text;
		l->l_len = tlen;
		l->l_voff = pre + q;
		l->l_vlen = elen;
		l->l_quoted = 1;
		text = NULL;
		(void)remove_entries(v, i + 1, match_key, key);
		rc = 0;
		goto out;
	}
	/* Append `key = "esc"`. */
	if (grow(v) == -1)
		goto out;
	tlen = klen + 4 + elen + 1;
	if ((text = malloc(tlen + 1)) == NULL)
		goto out;
	(void)snprintf(text, tlen + 1, "%s = \"%s\"", key, esc);
	if (line_set_kv(&nl, key, klen, value, vlen, 0) == -1)
		goto out;
	eol = file_eol(v);
	if (v->v_nlines > 0 && v->v_lines[v->v_nlines - 1].l_eol == EOL_NONE)
		v->v_lines[v->v_nlines - 1].l_eol = eol;
	nl.l_text = text;
	nl.l_own = text;
	nl.l_len = tlen;
	nl.l_eol = eol;
	nl.l_entry = 1;
	nl.l_quoted = 1;
	nl.l_voff = klen + 4;
	nl.l_vlen = elen;
	v->v_lines[v->v_nlines++] = nl;
	memset(&nl, 0, sizeof(nl));
	text = NULL;
	rc = 0;
out:
	line_free(&nl);
	free(text);
	free(esc);
	return rc;
}

int
vmx_del(struct vmx *v, const char *key)
{
	if (key == NULL)
		return 0;
	return remove_entries(v, 0, match_key, key);
}

int
vmx_foreach(const struct vmx *v,
    int (*fn)(void *arg, const char *key, const char *value), void *arg)
{
	size_t i;
	int r;

	for (i = 0; i < v->v_nlines; i++) {
		const struct vmx_line *l = &v->v_lines[i];

		if (l->l_entry && (r = fn(arg, l->l_key, l->l_val)) != 0)
			return r;
	}
	return 0;
}

int
vmx_del_matching(struct vmx *v, const char *pattern)
{
	if (pattern == NULL)
		return 0;
	return remove_entries(v, 0, match_pattern, pattern);
}

/* FNV-1a over the lower-cased key. */
static size_t
key_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (uint32_t)ascii_lower((unsigned char)*s++);
		h *= 16777619u;
	}
	return (size_t)h;
}

const char *
vmx_first_dup(const struct vmx *v)
{
	const char *dup = NULL;
	size_t *slot = NULL, cap = 16, n, i, j, h;

	n = vmx_count(v);
	while (cap < n * 2 && cap < SIZE_MAX / 4)
		cap *= 2;
	slot = calloc(cap, sizeof(*slot)); /* line index + 1; 0 is empty */
	for (i = 0; i < v->v_nlines && dup == NULL; i++) {
		const struct vmx_line *l = &v->v_lines[i];

		if (!l->l_entry)
			continue;
		if (slot == NULL) {
			/* Out of memory: the slow way, same answer. */
			for (j = 0; j < i; j++)
				if (v->v_lines[j].l_entry &&
				    key_eq(v->v_lines[j].l_key, l->l_key)) {
					dup = v->v_lines[j].l_key;
					break;
				}
			continue;
		}
		h = key_hash(l->l_key) & (cap - 1);
		while (slot[h] != 0) {
			if (key_eq(v->v_lines[slot[h] - 1].l_key, l->l_key)) {
				dup = v->v_lines[slot[h] - 1].l_key;
				break;
			}
			h = (h + 1) & (cap - 1);
		}
		if (dup == NULL)
			slot[h] = i + 1;
	}
	free(slot);
	return dup;
}

size_t
vmx_count(const struct vmx *v)
{
	size_t i, n = 0;

	for (i = 0; i < v->v_nlines; i++)
		n += v->v_lines[i].l_entry ? 1 : 0;
	return n;
}

char *
vmx_escape(const char *raw)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s;
	size_t n = 0;
	char *out, *o;

	for (s = (const unsigned char *)raw; *s != '\0'; s++)
		n += needs_escape(*s) ? 3 : 1;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	o = out;
	for (s = (const unsigned char *)raw; *s != '\0'; s++) {
		if (needs_escape(*s)) {
			*o++ = '|';
			*o++ = hex[*s >> 4];
			*o++ = hex[*s & 0x0f];
		} else
			*o++ = (char)*s;
	}
	*o = '\0';
	return out;
}

char *
vmx_unescape(const char *escaped)
{
	size_t n = strlen(escaped);
	char *out;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	unescape_into(out, escaped, n);
	return out;
}
