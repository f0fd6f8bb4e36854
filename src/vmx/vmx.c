/*
 * The .vmx codec: lookups, edits and output of a parsed file, and the |XX
 * escapes. Reading (lexing, parsing, the encoding checks) is in vmx_read.c;
 * the line table both work on is in vmx_int.h. See vmx.h.
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
#include "vmx/vmx_int.h"

#ifndef FNM_CASEFOLD
#error "vmx_del_matching needs fnmatch(3) with FNM_CASEFOLD"
#endif

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
vmx_key_eq(const char *a, const char *b)
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

int
vmx_utf8_name(const char *s)
{
	return vmx_key_eq(s, "UTF-8") || vmx_key_eq(s, "utf8");
}

int
vmx_line_set_kv(struct vmx_line *l, const char *key, size_t klen,
    const char *val, size_t vlen, int decode)
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

int
vmx_lines_grow(struct vmx *v)
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
		total += VMX_UTF8_BOM_LEN;
	for (i = 0; i < v->v_nlines; i++)
		total += v->v_lines[i].l_len + eol_len(v->v_lines[i].l_eol);
	if ((data = malloc(total + 1)) == NULL)
		return NULL;
	o = data;
	if (v->v_bom) {
		memcpy(o, VMX_UTF8_BOM, VMX_UTF8_BOM_LEN);
		o += VMX_UTF8_BOM_LEN;
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

/* Returns the index of the first entry for key, or v->v_nlines if none. */
static size_t
find_entry(const struct vmx *v, const char *key)
{
	size_t i;

	for (i = 0; i < v->v_nlines; i++)
		if (v->v_lines[i].l_entry &&
		    vmx_key_eq(v->v_lines[i].l_key, key))
			break;
	return i;
}

const char *
vmx_get(const struct vmx *v, const char *key)
{
	size_t i;

	if (key == NULL)
		return NULL;
	i = find_entry(v, key);
	return i < v->v_nlines ? v->v_lines[i].l_val : NULL;
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
	return vmx_key_eq(l->l_key, key);
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

/*
 * Replaces the value of entry line l by value, whose escaped form is esc,
 * in place: [pre]["]esc["][post], with the quotes added when the value was
 * unquoted. 0, or -1 (ENOMEM) with l unchanged.
 */
static int
line_replace_value(struct vmx_line *l, const char *value, const char *esc)
{
	size_t elen = strlen(esc), pre, post, q, tlen;
	char *text;

	q = l->l_quoted ? 0 : 1;
	pre = l->l_voff;
	post = l->l_len - l->l_voff - l->l_vlen;
	tlen = pre + q + elen + q + post;
	if ((text = malloc(tlen + 1)) == NULL)
		return -1;
	memcpy(text, l->l_text, pre);
	if (q)
		text[pre] = '"';
	memcpy(text + pre + q, esc, elen);
	if (q)
		text[pre + q + elen] = '"';
	memcpy(text + pre + q + elen + q, l->l_text + pre + l->l_vlen, post);
	text[tlen] = '\0';
	if (vmx_line_set_kv(
		l, l->l_key, strlen(l->l_key), value, strlen(value), 0) == -1) {
		free(text);
		return -1;
	}
	free(l->l_own);
	l->l_own = text;
	l->l_text = text;
	l->l_len = tlen;
	l->l_voff = pre + q;
	l->l_vlen = elen;
	l->l_quoted = 1;
	return 0;
}

/*
 * Appends the line `key = "esc"` for value (esc is its escaped form), with
 * the file's line ending; a last line that had none gets it first. 0, or -1
 * (ENOMEM) with the lines unchanged.
 */
static int
lines_append(struct vmx *v, const char *key, const char *value, const char *esc)
{
	struct vmx_line nl;
	size_t klen = strlen(key), elen = strlen(esc), tlen;
	char *text;
	int eol;

	memset(&nl, 0, sizeof(nl));
	if (vmx_lines_grow(v) == -1)
		return -1;
	tlen = klen + 4 + elen + 1;
	if ((text = malloc(tlen + 1)) == NULL)
		return -1;
	(void)snprintf(text, tlen + 1, "%s = \"%s\"", key, esc);
	if (vmx_line_set_kv(&nl, key, klen, value, strlen(value), 0) == -1) {
		free(text);
		return -1;
	}
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
	return 0;
}

int
vmx_set(struct vmx *v, const char *key, const char *value)
{
	char *esc;
	size_t i;
	int rc;

	if (key == NULL || value == NULL || !vmx_read_key_valid(key) ||
	    !utf8_valid(value, strlen(value)) ||
	    (vmx_key_eq(key, ".encoding") && !vmx_utf8_name(value))) {
		errno = EINVAL;
		return -1;
	}
	if ((esc = vmx_escape(value)) == NULL)
		return -1;
	i = find_entry(v, key);
	if (i == v->v_nlines)
		rc = lines_append(v, key, value, esc);
	else if ((rc = line_replace_value(&v->v_lines[i], value, esc)) == 0)
		(void)remove_entries(v, i + 1, match_key, key);
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
				    vmx_key_eq(v->v_lines[j].l_key, l->l_key)) {
					dup = v->v_lines[j].l_key;
					break;
				}
			continue;
		}
		h = key_hash(l->l_key) & (cap - 1);
		while (slot[h] != 0) {
			if (vmx_key_eq(
				v->v_lines[slot[h] - 1].l_key, l->l_key)) {
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
