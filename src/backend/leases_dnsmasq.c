/*
 * DHCP lease lookup in dnsmasq's lease files and libvirt's status files.
 * See leases.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/compat.h"
#include "util/err.h"
#include "backend/leases.h"
#include "backend/leases_int.h"

struct jlex {
	const char *lx_p;
	const char *lx_end;
};

static bool
is_blank(char c)
{
	return (unsigned char)c <= ' ' || c == 0x7f;
}

/* The next blank-separated field of a line, copied into w (left empty when
 * it does not fit); false at the end of the line. */
static bool
line_field(const char **pp, const char *end, char *w, size_t wlen)
{
	const char *p = *pp, *s;
	size_t n;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p >= end) {
		*pp = p;
		return false;
	}
	s = p;
	while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
		p++;
	n = (size_t)(p - s);
	w[0] = '\0';
	if (n < wlen) {
		memcpy(w, s, n);
		w[n] = '\0';
	}
	*pp = p;
	return true;
}

/* One line of a dnsmasq lease file into le; false when it is not an IPv4
 * lease. */
static bool
dnsmasq_line(const char *p, const char *end, struct lease *le)
{
	char w[LEASES_WORD_MAX];
	uint64_t t;

	memset(le, 0, sizeof(*le));
	le->le_bound = true;
	if (!line_field(&p, end, w, sizeof(w)) ||
	    !leases_field_uint(w, strlen(w), 0, INT64_MAX / 2, &t) ||
	    !line_field(&p, end, le->le_mac, sizeof(le->le_mac)) ||
	    !line_field(&p, end, le->le_ip, sizeof(le->le_ip)))
		return false;
	le->le_ends = t == 0 ? LEASES_NEVER : (int64_t)t;
	return true;
}

enum jtok { J_EOF, J_OPEN, J_CLOSE, J_COLON, J_COMMA, J_STRING, J_WORD };

/*
 * The next JSON token; a string's or a number's text into w (escapes kept
 * as the character after the backslash; empty when it does not fit). A
 * string cut short ends the text.
 */
static enum jtok
json_next(struct jlex *lx, char *w, size_t wlen)
{
	size_t n = 0;
	bool fits = true;

	w[0] = '\0';
	while (lx->lx_p < lx->lx_end && is_blank(*lx->lx_p))
		lx->lx_p++;
	if (lx->lx_p >= lx->lx_end)
		return J_EOF;
	switch (*lx->lx_p++) {
	case '{':
	case '[':
		return J_OPEN;
	case '}':
	case ']':
		return J_CLOSE;
	case ':':
		return J_COLON;
	case ',':
		return J_COMMA;
	case '"':
		while (lx->lx_p < lx->lx_end && *lx->lx_p != '"') {
			if (*lx->lx_p == '\\' && ++lx->lx_p >= lx->lx_end)
				break;
			if (n + 1 < wlen)
				w[n++] = *lx->lx_p;
			else
				fits = false;
			lx->lx_p++;
		}
		if (lx->lx_p >= lx->lx_end)
			return J_EOF;
		lx->lx_p++;
		w[fits ? n : 0] = '\0';
		return J_STRING;
	default:
		lx->lx_p--;
		while (lx->lx_p < lx->lx_end && !is_blank(*lx->lx_p) &&
		    strchr("{}[]:,\"", *lx->lx_p) == NULL) {
			if (n + 1 < wlen)
				w[n++] = *lx->lx_p;
			else
				fits = false;
			lx->lx_p++;
		}
		w[fits ? n : 0] = '\0';
		return J_WORD;
	}
}

/* A member of a libvirt lease object into le. */
static void
libvirt_member(const char *key, const char *val, struct lease *le)
{
	uint64_t t;

	if (strcmp(key, "ip-address") == 0)
		(void)strlcpy(le->le_ip, val, sizeof(le->le_ip));
	else if (strcmp(key, "mac-address") == 0)
		(void)strlcpy(le->le_mac, val, sizeof(le->le_mac));
	else if (strcmp(key, "expiry-time") == 0)
		le->le_ends =
		    leases_field_uint(val, strlen(val), 0, INT64_MAX / 2, &t) &&
			t > 0
		    ? (int64_t)t
		    : 0;
}

/*
 * The leases of libvirt's JSON status file, each object whose members are
 * plain values, picked into sel for want. Objects inside objects are
 * skipped; text after an unbalanced close is read as more of the same.
 */
static void
libvirt_leases(
    struct jlex *lx, const char *want, int64_t now, struct leases_pick *sel)
{
	char w[LEASES_WORD_MAX], key[LEASES_WORD_MAX], got[LEASES_MAC_LEN];
	struct lease le;
	unsigned depth = 0, in_obj = 0; /* depth of the object read, or 0 */
	bool is_key = false;
	enum jtok t;

	while ((t = json_next(lx, w, sizeof(w))) != J_EOF) {
		if (t == J_OPEN) {
			depth++;
			if (in_obj == 0 && lx->lx_p[-1] == '{') {
				in_obj = depth;
				memset(&le, 0, sizeof(le));
				le.le_bound = true;
				le.le_ends = LEASES_NEVER;
				is_key = true;
			}
		} else if (t == J_CLOSE) {
			if (in_obj != 0 && depth == in_obj) {
				in_obj = 0;
				if (leases_ipv4_valid(le.le_ip) &&
				    leases_norm_mac(
					le.le_mac, got, sizeof(got)) == 0 &&
				    strcmp(got, want) == 0)
					leases_pick(sel, &le, now);
			}
			if (depth > 0)
				depth--;
		} else if (in_obj == 0 || depth != in_obj)
			continue;
		else if (t == J_COMMA)
			is_key = true;
		else if (t == J_COLON)
			is_key = false;
		else if (is_key)
			(void)strlcpy(key, w, sizeof(key));
		else
			libvirt_member(key, w, &le);
	}
}

int
leases_find_dnsmasq(const char *text, size_t len, const char *mac, int64_t now,
    char *ip, size_t iplen, struct err *err)
{
	char want[LEASES_MAC_LEN], got[LEASES_MAC_LEN];
	const char *p = text != NULL ? text : "", *end = p + (text ? len : 0);
	struct lease le;
	struct leases_pick sel;
	struct jlex lx;

	if (leases_find_args(mac, want, ip, iplen, err) == -1)
		return -1;
	memset(&sel, 0, sizeof(sel));
	lx.lx_p = p;
	lx.lx_end = end;
	while (lx.lx_p < end && is_blank(*lx.lx_p))
		lx.lx_p++;
	if (lx.lx_p < end && *lx.lx_p == '[') {
		libvirt_leases(&lx, want, now, &sel);
		return leases_picked(&sel, want, ip, iplen, err);
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		/* The last line counts only when complete. */
		if (nl == NULL)
			break;
		if (dnsmasq_line(p, nl, &le) && leases_ipv4_valid(le.le_ip) &&
		    leases_norm_mac(le.le_mac, got, sizeof(got)) == 0 &&
		    strcmp(got, want) == 0)
			leases_pick(&sel, &le, now);
		p = nl + 1;
	}
	return leases_picked(&sel, want, ip, iplen, err);
}

size_t
leases_dnsmasq_paths(const char *br, char paths[][LEASES_PATH_LEN], size_t max)
{
	static const char *const plain[] = {
		"/var/lib/misc/dnsmasq.leases",
		"/var/lib/dnsmasq/dnsmasq.leases",
		"/var/db/dnsmasq.leases",
	};
	size_t n = 0;
	int k;

	if (n < max && br != NULL && br[0] != '\0') {
		k = snprintf(paths[n], LEASES_PATH_LEN,
		    "/var/lib/libvirt/dnsmasq/%s.status", br);
		if (k > 0 && k < LEASES_PATH_LEN)
			n++;
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && n < max; i++)
		(void)strlcpy(paths[n++], plain[i], LEASES_PATH_LEN);
	return n;
}
