/*
 * Reading .vmx files: the line splitter, the lexer of one line (key, '=',
 * quoted or unquoted value) and the encoding checks, with the error
 * messages that name and show the offending line. See vmx.h and vmx_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "vmx/vmx.h"
#include "vmx/vmx_int.h"

/* How much of a bad line an error message shows. */
#define VMX_SHOW_MAX 60

/*
 * One line being lexed: a cursor that the lex_* helpers advance, and the
 * key once lex_key has read it. The whole line and its number are kept for
 * error messages.
 */
struct lex {
	const char *x_text; /* the line, without its ending */
	size_t x_len;
	size_t x_lineno;
	const char *x_p; /* next byte to read */
	const char *x_end;
	const char *x_key; /* the key as spelled, not NUL-terminated */
	const char *x_key_end;
};

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

int
vmx_read_key_valid(const char *s)
{
	if (!is_key_first((unsigned char)*s))
		return 0;
	while (*++s != '\0')
		if (!is_key_char((unsigned char)*s))
			return 0;
	return 1;
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

/* The line being lexed, as an error message shows it. */
static const char *
lex_show(const struct lex *x, char *out, size_t size)
{
	return show(x->x_text, x->x_len, out, size);
}

/* The length of the key, as printf's "%.*s" takes it. */
static int
lex_klen(const struct lex *x)
{
	return (int)(x->x_key_end - x->x_key);
}

static void
lex_blanks(struct lex *x)
{
	while (x->x_p < x->x_end && is_blank((unsigned char)*x->x_p))
		x->x_p++;
}

/*
 * Reads the key at the cursor (the first non-blank byte of the line, which
 * is not '#') and checks what ends it: a blank, '=' or the end of the line.
 */
static int
lex_key(struct lex *x, struct err *err)
{
	char shown[VMX_SHOW_MAX + 8];
	unsigned char c;

	if (!is_key_first((unsigned char)*x->x_p)) {
		err_set(err, EIK_INVAL,
		    "line %zu: expected key = \"value\", a comment (#) or a "
		    "blank line; keys start with a letter or '.': %s",
		    x->x_lineno, lex_show(x, shown, sizeof(shown)));
		return -1;
	}
	x->x_key = x->x_p;
	while (x->x_p < x->x_end && is_key_char((unsigned char)*x->x_p))
		x->x_p++;
	x->x_key_end = x->x_p;
	if (x->x_p == x->x_end || is_blank((unsigned char)*x->x_p) ||
	    *x->x_p == '=')
		return 0;
	c = (unsigned char)*x->x_p;
	if (c >= 0x20 && c < 0x7f)
		err_set(err, EIK_INVAL,
		    "line %zu: character '%c' is not allowed in a key "
		    "(letters, digits and _ : . - * only), or '=' is "
		    "missing: %s",
		    x->x_lineno, c, lex_show(x, shown, sizeof(shown)));
	else
		err_set(err, EIK_INVAL,
		    "line %zu: byte 0x%02X is not allowed in a key "
		    "(letters, digits and _ : . - * only): %s",
		    x->x_lineno, c, lex_show(x, shown, sizeof(shown)));
	return -1;
}

/*
 * Reads the '=' after the key, with the blanks around it, and checks that
 * a value follows: the cursor is left on its first byte.
 */
static int
lex_equals(struct lex *x, struct err *err)
{
	char shown[VMX_SHOW_MAX + 8];

	lex_blanks(x);
	if (x->x_p == x->x_end || *x->x_p != '=') {
		err_set(err, EIK_INVAL,
		    "line %zu: expected '=' after key \"%.*s\"; write "
		    "key = \"value\": %s",
		    x->x_lineno, lex_klen(x), x->x_key,
		    lex_show(x, shown, sizeof(shown)));
		return -1;
	}
	x->x_p++;
	lex_blanks(x);
	if (x->x_p == x->x_end) {
		err_set(err, EIK_INVAL,
		    "line %zu: no value after '=' for key \"%.*s\"; write "
		    "key = \"\" for an empty value: %s",
		    x->x_lineno, lex_klen(x), x->x_key,
		    lex_show(x, shown, sizeof(shown)));
		return -1;
	}
	return 0;
}

/*
 * Reads a value in double quotes (the cursor is on the opening quote) into
 * [*val, *val_end), without the quotes and still escaped. After the closing
 * quote come blanks, an optional ';', blanks and an optional comment, all
 * kept verbatim; anything else is an error.
 */
static int
lex_quoted(
    struct lex *x, const char **val, const char **val_end, struct err *err)
{
	char shown[VMX_SHOW_MAX + 8];
	const char *q;

	*val = x->x_p + 1;
	q = memchr(*val, '"', (size_t)(x->x_end - *val));
	if (q == NULL) {
		err_set(err, EIK_INVAL,
		    "line %zu: unterminated quoted value for key "
		    "\"%.*s\"; a value must close its '\"' on the same "
		    "line (write a quote inside a value as |22): %s",
		    x->x_lineno, lex_klen(x), x->x_key,
		    lex_show(x, shown, sizeof(shown)));
		return -1;
	}
	*val_end = q;
	x->x_p = q + 1;
	lex_blanks(x);
	if (x->x_p < x->x_end && *x->x_p == ';')
		x->x_p++;
	lex_blanks(x);
	if (x->x_p < x->x_end && *x->x_p != '#') {
		err_set(err, EIK_INVAL,
		    "line %zu: unexpected text after the closing quote "
		    "of key \"%.*s\" (write a quote inside a value as "
		    "|22): %s",
		    x->x_lineno, lex_klen(x), x->x_key,
		    lex_show(x, shown, sizeof(shown)));
		return -1;
	}
	return 0;
}

/*
 * Tolerated: an unquoted value runs from the cursor to the end of the line,
 * trailing blanks excluded, and is kept as written.
 */
static void
lex_unquoted(struct lex *x, const char **val, const char **val_end)
{
	*val = x->x_p;
	*val_end = x->x_end;
	while (*val_end > *val && is_blank((unsigned char)(*val_end)[-1]))
		(*val_end)--;
	x->x_p = x->x_end;
}

/*
 * Lexes one line: blank, comment, or key = value. Fills the entry fields of
 * l; on error fills err with a message naming line number lineno.
 */
static int
parse_line(struct vmx_line *l, size_t lineno, struct err *err)
{
	struct lex x;
	const char *val, *val_end;

	memset(&x, 0, sizeof(x));
	x.x_text = l->l_text;
	x.x_len = l->l_len;
	x.x_lineno = lineno;
	x.x_p = l->l_text;
	x.x_end = l->l_text + l->l_len;
	lex_blanks(&x);
	if (x.x_p == x.x_end || *x.x_p == '#')
		return 0;
	if (lex_key(&x, err) == -1 || lex_equals(&x, err) == -1)
		return -1;
	if (*x.x_p == '"') {
		if (lex_quoted(&x, &val, &val_end, err) == -1)
			return -1;
		l->l_quoted = 1;
	} else {
		lex_unquoted(&x, &val, &val_end);
		l->l_quoted = 0;
	}
	l->l_voff = (size_t)(val - l->l_text);
	l->l_vlen = (size_t)(val_end - val);
	if (vmx_line_set_kv(l, x.x_key, (size_t)(x.x_key_end - x.x_key), val,
		l->l_vlen, l->l_quoted) == -1) {
		err_set(err, EIK_INTERNAL, "line %zu: out of memory", lineno);
		return -1;
	}
	l->l_entry = 1;
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

		if (!l->l_entry || !vmx_key_eq(l->l_key, ".encoding"))
			continue;
		if (!vmx_utf8_name(l->l_val)) {
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
	if (len >= VMX_UTF8_BOM_LEN &&
	    memcmp(p, VMX_UTF8_BOM, VMX_UTF8_BOM_LEN) == 0) {
		v->v_bom = 1;
		p += VMX_UTF8_BOM_LEN;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct vmx_line *l;

		if (vmx_lines_grow(v) == -1) {
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
