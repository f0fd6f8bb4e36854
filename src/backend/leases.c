/*
 * DHCP lease lookup. See leases.h.
 *
 * One pointer-advancing lexer serves both formats. Tokens are braces, ';',
 * quoted strings (skipped, never longer than a line) and words (runs of
 * anything else); '#' starts a comment up to the end of the line and every
 * byte up to ' ' (CR, tab, NUL, ...) is blank. At the top level the word
 * "lease" opens an ISC lease, a bare '{' an Apple bootpd entry, and any
 * other word a statement that is skipped up to its ';' or its block.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/compat.h"
#include "util/err.h"
#include "backend/leases.h"
#include "backend/leases_int.h"

/* Arguments kept per ISC statement after its keyword. */
#define LEASES_ARGS_MAX 4

enum tok { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI };

struct lex {
	const char *lx_p;
	const char *lx_end;
};

static bool
is_blank(char c)
{
	return (unsigned char)c <= ' ' || c == 0x7f;
}

static bool
is_delim(char c)
{
	return is_blank(c) || c == '{' || c == '}' || c == ';' || c == '"' ||
	    c == '#';
}

static void
lex_skip(struct lex *lx)
{
	while (lx->lx_p < lx->lx_end) {
		if (*lx->lx_p == '#') {
			while (lx->lx_p < lx->lx_end && *lx->lx_p != '\n')
				lx->lx_p++;
		} else if (is_blank(*lx->lx_p))
			lx->lx_p++;
		else
			break;
	}
}

/*
 * Reads the next token. A word is copied into w (wlen bytes), or w is left
 * empty when the word does not fit; w is empty for every other token.
 */
static enum tok
lex_next(struct lex *lx, char *w, size_t wlen)
{
	const char *s;
	size_t n;

	w[0] = '\0';
	lex_skip(lx);
	if (lx->lx_p >= lx->lx_end)
		return T_EOF;
	switch (*lx->lx_p) {
	case '{':
		lx->lx_p++;
		return T_LBRACE;
	case '}':
		lx->lx_p++;
		return T_RBRACE;
	case ';':
		lx->lx_p++;
		return T_SEMI;
	case '"':
		/* dhcpd writes one-line strings with \ escapes; a quote left
		 * open ends with its line so junk cannot swallow the file. */
		lx->lx_p++;
		while (lx->lx_p < lx->lx_end && *lx->lx_p != '"' &&
		    *lx->lx_p != '\n') {
			if (*lx->lx_p == '\\' && lx->lx_p + 1 < lx->lx_end &&
			    lx->lx_p[1] != '\n')
				lx->lx_p++;
			lx->lx_p++;
		}
		if (lx->lx_p < lx->lx_end && *lx->lx_p == '"')
			lx->lx_p++;
		return T_STRING;
	default:
		break;
	}
	s = lx->lx_p;
	while (lx->lx_p < lx->lx_end && !is_delim(*lx->lx_p))
		lx->lx_p++;
	n = (size_t)(lx->lx_p - s);
	if (n < wlen) {
		memcpy(w, s, n);
		w[n] = '\0';
	}
	return T_WORD;
}

/*
 * Skips the rest of a block whose '{' has been read. Returns false when the
 * text ends first.
 */
static bool
skip_block(struct lex *lx)
{
	char w[LEASES_WORD_MAX];
	unsigned depth = 1;

	for (;;) {
		switch (lex_next(lx, w, sizeof(w))) {
		case T_EOF:
			return false;
		case T_LBRACE:
			depth++;
			break;
		case T_RBRACE:
			if (--depth == 0)
				return true;
			break;
		default:
			break;
		}
	}
}

/* Skips a top-level statement: up to its ';', or over its block. */
static void
skip_statement(struct lex *lx)
{
	char w[LEASES_WORD_MAX];

	for (;;) {
		switch (lex_next(lx, w, sizeof(w))) {
		case T_EOF:
		case T_SEMI:
		case T_RBRACE:
			return;
		case T_LBRACE:
			(void)skip_block(lx);
			return;
		default:
			break;
		}
	}
}

int
leases_norm_mac(const char *in, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	const char *p = in;
	char sep = '\0';
	int i;

	if (in == NULL || out == NULL || outlen < LEASES_MAC_LEN)
		return -1;
	for (i = 0; i < 6; i++) {
		int hi, lo;

		if (i > 0) {
			if (*p != ':' && *p != '-')
				return -1;
			if (sep == '\0')
				sep = *p;
			else if (*p != sep)
				return -1;
			p++;
		}
		if ((hi = hex_digit((unsigned char)*p)) < 0)
			return -1;
		p++;
		if ((lo = hex_digit((unsigned char)*p)) >= 0)
			p++;
		else {
			lo = hi;
			hi = 0;
		}
		out[i * 3] = digits[hi];
		out[i * 3 + 1] = digits[lo];
		out[i * 3 + 2] = i < 5 ? ':' : '\0';
	}
	return *p == '\0' ? 0 : -1;
}

/* Parses n bytes at s as a decimal number in [min, max]. */
bool
leases_field_uint(
    const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
	char buf[24];
	const char *errstr;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = parse_uint(buf, min, max, &errstr);
	return errstr == NULL;
}

/*
 * Splits s at sep into exactly three decimal fields within the given
 * bounds ("2020/05/13", "12:00:37").
 */
static bool
three_fields(const char *s, char sep, const uint64_t lim[3][2], uint64_t v[3])
{
	const char *p = s;
	int i;

	for (i = 0; i < 3; i++) {
		const char *q = p;

		while (*q != '\0' && *q != sep)
			q++;
		if ((i < 2) != (*q == sep))
			return false;
		if (!leases_field_uint(
			p, (size_t)(q - p), lim[i][0], lim[i][1], &v[i]))
			return false;
		p = *q == sep ? q + 1 : q;
	}
	return true;
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/*
 * The value of an ISC starts/ends statement: "never", "epoch <seconds>" or
 * "[W] YYYY/MM/DD HH:MM:SS" in UTC.
 */
static bool
isc_time(char args[][LEASES_WORD_MAX], int nargs, int64_t *out)
{
	static const uint64_t dlim[3][2] = { { 1970, 9999 }, { 1, 12 },
		{ 1, 31 } };
	static const uint64_t tlim[3][2] = { { 0, 23 }, { 0, 59 }, { 0, 60 } };
	uint64_t d[3], t[3], secs;
	int i = 0;

	if (nargs >= 1 && strcmp(args[0], "never") == 0) {
		*out = LEASES_NEVER;
		return true;
	}
	if (nargs >= 2 && strcmp(args[0], "epoch") == 0) {
		if (!leases_field_uint(
			args[1], strlen(args[1]), 0, INT64_MAX / 2, &secs))
			return false;
		*out = (int64_t)secs;
		return true;
	}
	if (nargs >= 3 && args[0][0] >= '0' && args[0][0] <= '6' &&
	    args[0][1] == '\0')
		i = 1;
	if (nargs - i < 2)
		return false;
	if (!three_fields(args[i], '/', dlim, d) ||
	    !three_fields(args[i + 1], ':', tlim, t))
		return false;
	*out = days_from_civil((int64_t)d[0], (unsigned)d[1], (unsigned)d[2]) *
		86400 +
	    (int64_t)(t[0] * 3600 + t[1] * 60 + t[2]);
	return true;
}

/* Takes the statement that starts with keyword kw into le. */
static void
isc_statement(
    const char *kw, char args[][LEASES_WORD_MAX], int nargs, struct lease *le)
{
	int64_t t;

	if (strcmp(kw, "ends") == 0) {
		if (isc_time(args, nargs, &t))
			le->le_ends = t;
	} else if (strcmp(kw, "hardware") == 0) {
		if (nargs >= 2 && strcmp(args[0], "ethernet") == 0)
			(void)strlcpy(le->le_mac, args[1], sizeof(le->le_mac));
	} else if (strcmp(kw, "binding") == 0) {
		if (nargs >= 2 && strcmp(args[0], "state") == 0)
			le->le_bound = strcmp(args[1], "active") == 0;
	}
}

/*
 * Parses an ISC lease after its "lease" keyword. Returns true with le
 * filled when the entry is complete, false when it is malformed or cut
 * short (the lexer then stands after whatever was read).
 */
static bool
isc_lease(struct lex *lx, struct lease *le)
{
	char w[LEASES_WORD_MAX], kw[LEASES_WORD_MAX];
	char args[LEASES_ARGS_MAX][LEASES_WORD_MAX];
	enum tok t;
	int nargs;

	memset(le, 0, sizeof(*le));
	le->le_bound = true;
	if (lex_next(lx, le->le_ip, sizeof(le->le_ip)) != T_WORD)
		return false;
	if ((t = lex_next(lx, w, sizeof(w))) != T_LBRACE) {
		if (t != T_SEMI && t != T_EOF)
			skip_statement(lx);
		return false;
	}
	for (;;) {
		switch (lex_next(lx, kw, sizeof(kw))) {
		case T_EOF:
			return false;
		case T_RBRACE:
			return true;
		case T_LBRACE:
			if (!skip_block(lx))
				return false;
			continue;
		case T_WORD:
			break;
		default: /* ';' or a string where a keyword should be */
			continue;
		}
		for (nargs = 0;;) {
			t = lex_next(lx, w, sizeof(w));
			if (t != T_WORD && t != T_STRING)
				break;
			if (nargs < LEASES_ARGS_MAX)
				memcpy(args[nargs++], w, sizeof(w));
		}
		isc_statement(kw, args, nargs, le);
		if (t == T_EOF)
			return false;
		if (t == T_RBRACE)
			return true;
		if (t == T_LBRACE && !skip_block(lx)) /* "on expiry { ... }" */
			return false;
	}
}

/* Parses "0x5fd78ae2" (or plain hex digits). */
static bool
parse_hex64(const char *s, int64_t *out)
{
	uint64_t v = 0;
	int d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if ((d = hex_digit((unsigned char)*s)) < 0 ||
		    v > ((uint64_t)INT64_MAX >> 4))
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = (int64_t)v;
	return true;
}

/*
 * Parses an Apple bootpd entry after its '{': key=value words up to '}'.
 * Returns true when the entry is complete.
 */
static bool
apple_entry(struct lex *lx, struct lease *le)
{
	char w[LEASES_WORD_MAX];
	const char *v, *comma;
	int64_t t;

	memset(le, 0, sizeof(*le));
	le->le_bound = true;
	for (;;) {
		switch (lex_next(lx, w, sizeof(w))) {
		case T_EOF:
			return false;
		case T_RBRACE:
			return true;
		case T_LBRACE:
			if (!skip_block(lx))
				return false;
			continue;
		case T_WORD:
			break;
		default:
			continue;
		}
		if ((v = strchr(w, '=')) == NULL)
			continue;
		v++;
		if (strncmp(w, "ip_address=", 11) == 0)
			(void)strlcpy(le->le_ip, v, sizeof(le->le_ip));
		else if (strncmp(w, "hw_address=", 11) == 0) {
			/* "1,d:ea:d0:66:77:88": hardware type, then the MAC. */
			comma = strchr(v, ',');
			(void)strlcpy(le->le_mac, comma != NULL ? comma + 1 : v,
			    sizeof(le->le_mac));
		} else if (strncmp(w, "lease=", 6) == 0) {
			if (parse_hex64(v, &t))
				le->le_ends = t;
		}
	}
}

/* True when s is a dotted quad of decimal numbers 0-255. */
bool
leases_ipv4_valid(const char *s)
{
	const char *p = s;
	int i;

	for (i = 0; i < 4; i++) {
		const char *q = p;
		uint64_t v;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q - p > 3 ||
		    !leases_field_uint(p, (size_t)(q - p), 0, 255, &v))
			return false;
		if (i < 3 && *q != '.')
			return false;
		p = q + (i < 3);
	}
	return *p == '\0';
}

/* Takes le into sel when it beats the best so far: valid beats expired;
 * then the later end; then the later entry, since lease files are
 * appended to. */
void
leases_pick(struct leases_pick *sel, const struct lease *le, int64_t now)
{
	bool valid = le->le_bound && le->le_ends > now;

	if (!sel->pk_found || (valid && !sel->pk_valid) ||
	    (valid == sel->pk_valid && le->le_ends >= sel->pk_best.le_ends)) {
		sel->pk_best = *le;
		sel->pk_valid = valid;
		sel->pk_found = true;
	}
}

/* The answer of a lookup: the address picked, or why there is none. */
int
leases_picked(const struct leases_pick *sel, const char *want, char *ip,
    size_t iplen, struct err *err)
{
	if (!sel->pk_found) {
		err_set(err, EIK_NOTFOUND, "no DHCP lease for %s", want);
		return -1;
	}
	if (strlcpy(ip, sel->pk_best.le_ip, iplen) >= iplen) {
		err_set(
		    err, EIK_INVAL, "leases_find: address buffer too small");
		return -1;
	}
	return 0;
}

/* Checks the arguments of a lookup; want gets the normalised MAC. */
int
leases_find_args(
    const char *mac, char *want, char *ip, size_t iplen, struct err *err)
{
	if (leases_norm_mac(mac, want, LEASES_MAC_LEN) == -1) {
		err_set(err, EIK_INVAL, "not a MAC address: \"%s\"",
		    mac != NULL ? mac : "(null)");
		return -1;
	}
	if (ip == NULL || iplen < LEASES_IP_LEN) {
		err_set(
		    err, EIK_INVAL, "leases_find: address buffer too small");
		return -1;
	}
	return 0;
}

int
leases_find(const char *text, size_t len, const char *mac, int64_t now,
    char *ip, size_t iplen, struct err *err)
{
	struct lex lx;
	struct lease le;
	struct leases_pick sel;
	char want[LEASES_MAC_LEN], got[LEASES_MAC_LEN];
	char w[LEASES_WORD_MAX];

	if (leases_find_args(mac, want, ip, iplen, err) == -1)
		return -1;
	memset(&sel, 0, sizeof(sel));
	lx.lx_p = text != NULL ? text : "";
	lx.lx_end = text != NULL ? text + len : lx.lx_p;
	for (;;) {
		enum tok t = lex_next(&lx, w, sizeof(w));
		bool complete;

		if (t == T_EOF)
			break;
		if (t == T_WORD && strcmp(w, "lease") == 0)
			complete = isc_lease(&lx, &le);
		else if (t == T_LBRACE)
			complete = apple_entry(&lx, &le);
		else {
			if (t == T_WORD)
				skip_statement(&lx);
			continue;
		}
		if (!complete || !leases_ipv4_valid(le.le_ip) ||
		    leases_norm_mac(le.le_mac, got, sizeof(got)) == -1 ||
		    strcmp(got, want) != 0)
			continue;
		leases_pick(&sel, &le, now);
	}
	return leases_picked(&sel, want, ip, iplen, err);
}

const char *const *
leases_default_paths(void)
{
#ifdef __APPLE__
	static const char *const paths[] = {
		"/var/db/vmware/vmnet-dhcpd-vmnet8.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet1.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet2.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet3.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet4.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet5.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet6.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet7.leases",
		"/var/db/vmware/vmnet-dhcpd-vmnet9.leases",
		"/var/db/dhcpd_leases",
		NULL,
	};
#else
	static const char *const paths[] = {
		"/etc/vmware/vmnet8/dhcpd/dhcpd.leases",
		"/etc/vmware/vmnet8/dhcpd/dhcp.leases",
		"/etc/vmware/vmnet8/dhcp/dhcpd.leases",
		"/etc/vmware/vmnet8/dhcp/dhcp.leases",
		"/etc/vmware/vmnet1/dhcpd/dhcpd.leases",
		"/etc/vmware/vmnet1/dhcpd/dhcp.leases",
		"/etc/vmware/vmnet1/dhcp/dhcpd.leases",
		"/etc/vmware/vmnet1/dhcp/dhcp.leases",
		NULL,
	};
#endif
	return paths;
}
