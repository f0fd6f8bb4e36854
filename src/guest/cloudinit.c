/*
 * cloud-init user-data and meta-data, and the appender they are written
 * with (shared with guestinfo.c through ci_int.h). See cloudinit.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "guest/ci_int.h"
#include "guest/cloudinit.h"
#include "util/compat.h"
#include "util/err.h"
#include "model/tags.h"

/* Longest line a 7bit MIME body may have (RFC 5322), without its LF. */
#define MIME_LINE_MAX 998
/* Characters per line of a base64 MIME body (RFC 2045). */
#define MIME_B64_LINE 76
#define BOUNDARY_PREFIX "==ikvf-boundary-"
#define BOUNDARY_SUFFIX "=="

/*
 * The user-data markers cloud-init recognises, longest first where one is
 * a prefix of another, with the MIME type of each
 * (cloudinit/handlers/__init__.py INCLUSION_TYPES_MAP).
 */
static const struct {
	const char *m_prefix;
	const char *m_type;
} markers[] = {
	{ "#cloud-config-archive", "text/cloud-config-archive" },
	{ "#cloud-config-jsonp", "text/cloud-config-jsonp" },
	{ "#cloud-config", "text/cloud-config" },
	{ "#cloud-boothook", "text/cloud-boothook" },
	{ "#include-once", "text/x-include-once-url" },
	{ "#include", "text/x-include-url" },
	{ "#part-handler", "text/part-handler" },
	{ "#upstart-job", "text/upstart-job" },
	{ "## template: jinja", "text/jinja2" },
	{ "#!", "text/x-shellscript" },
};

enum ud_kind {
	UD_MIME,   /* a MIME document: passed through, never wrapped */
	UD_MARKED, /* starts with a cloud-init marker: passed through */
	UD_BLANK,  /* empty or white space only */
	UD_PLAIN   /* shell lines */
};

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
ci_wr_add(struct ci_wr *w, const void *p, size_t n)
{
	if (w->w_errno != 0)
		return;
	if (buf_add(w->w_b, p, n) == -1)
		w->w_errno = errno != 0 ? errno : ENOMEM;
}

void
ci_wr_str(struct ci_wr *w, const char *s)
{
	ci_wr_add(w, s, strlen(s));
}

int
ci_wr_done(const struct ci_wr *w, const char *what, struct err *err)
{
	if (w->w_errno == 0)
		return 0;
	if (w->w_errno == E2BIG)
		err_set(err, EIK_INVAL, "%s would exceed the %zu-byte limit",
		    what, w->w_b->b_max);
	else
		err_set(
		    err, EIK_INTERNAL, "%s: %s", what, strerror(w->w_errno));
	return -1;
}

/*
 * Appends s as the inside of a JSON string (no quotes), which is also a
 * valid YAML double-quoted scalar: \" \\ \n \r \t, \uXXXX for control
 * characters, DEL, the C1 controls, U+2028/U+2029 (YAML line breaks) and
 * U+FFFE/U+FFFF (not printable in YAML). s must be valid UTF-8.
 */
static void
wr_json_body(struct ci_wr *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len, *run = p;

	while (p < end) {
		const char *esc = NULL;
		unsigned cp = 0;
		size_t skip = 1;
		char u[8];

		switch (*p) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				cp = *p;
			} else if (*p == 0xc2 && end - p >= 2 && p[1] >= 0x80 &&
			    p[1] <= 0x9f) {
				cp = p[1];
				skip = 2;
			} else if (*p == 0xe2 && end - p >= 3 && p[1] == 0x80 &&
			    (p[2] == 0xa8 || p[2] == 0xa9)) {
				cp = 0x2000u | (0x28u + (p[2] - 0xa8u));
				skip = 3;
			} else if (*p == 0xef && end - p >= 3 && p[1] == 0xbf &&
			    (p[2] == 0xbe || p[2] == 0xbf)) {
				cp = p[2] == 0xbe ? 0xfffeu : 0xffffu;
				skip = 3;
			} else {
				p++;
				continue;
			}
			(void)snprintf(u, sizeof(u), "\\u%04x", cp);
			esc = u;
			break;
		}
		ci_wr_add(w, run, (size_t)(p - run));
		ci_wr_str(w, esc);
		p += skip;
		run = p;
	}
	ci_wr_add(w, run, (size_t)(p - run));
}

/* Appends s as a JSON string with its quotes. */
static void
wr_json(struct ci_wr *w, const char *s)
{
	ci_wr_str(w, "\"");
	wr_json_body(w, s, strlen(s));
	ci_wr_str(w, "\"");
}

void
ci_wr_base64(
    struct ci_wr *w, const unsigned char *p, size_t len, size_t linelen)
{
	char chunk[4096 + 1];
	size_t n = 0, col = 0;

	while (len > 0) {
		unsigned v;
		size_t take = len < 3 ? len : 3;

		v = (unsigned)p[0] << 16;
		if (take > 1)
			v |= (unsigned)p[1] << 8;
		if (take > 2)
			v |= p[2];
		if (linelen > 0 && col == linelen) {
			chunk[n++] = '\n';
			col = 0;
		}
		chunk[n++] = b64_alphabet[(v >> 18) & 0x3f];
		chunk[n++] = b64_alphabet[(v >> 12) & 0x3f];
		chunk[n++] = take > 1 ? b64_alphabet[(v >> 6) & 0x3f] : '=';
		chunk[n++] = take > 2 ? b64_alphabet[v & 0x3f] : '=';
		col += 4;
		p += take;
		len -= take;
		if (n + 5 > sizeof(chunk)) {
			ci_wr_add(w, chunk, n);
			n = 0;
		}
	}
	ci_wr_add(w, chunk, n);
}

int
ci_check_init(const char *init, size_t len, struct err *err)
{
	const char *nul;

	if (len > INIT_MAX_SIZE) {
		err_set(err, EIK_INVAL,
		    "Spec.Init is %zu bytes; the limit is %d bytes: ship large "
		    "files in the image or fetch them from the script",
		    len, INIT_MAX_SIZE);
		return -1;
	}
	if (len == 0)
		return 0;
	if (init == NULL) {
		err_set(err, EIK_INVAL, "Spec.Init is missing");
		return -1;
	}
	nul = memchr(init, '\0', len);
	if (nul != NULL) {
		err_set(err, EIK_INVAL,
		    "Spec.Init contains a NUL byte at offset %zu: Init must be "
		    "text (a shell script or a cloud-config document)",
		    (size_t)(nul - init));
		return -1;
	}
	if (!utf8_valid(init, len)) {
		err_set(err, EIK_INVAL,
		    "Spec.Init is not valid UTF-8: send the script as UTF-8 "
		    "text");
		return -1;
	}
	return 0;
}

static int
is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\n\r\v\f", s[i]) == NULL)
			return 0;
	return 1;
}

static int
has_prefix_nocase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

/* Classifies normalised user-data; *type gets the MIME type if marked. */
static enum ud_kind
ud_classify(const char *s, size_t len, const char **type)
{
	*type = NULL;
	if (has_prefix_nocase(s, len, "Content-Type:") ||
	    has_prefix_nocase(s, len, "MIME-Version:"))
		return UD_MIME;
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		size_t n = strlen(markers[i].m_prefix);

		if (len >= n && memcmp(s, markers[i].m_prefix, n) == 0) {
			*type = markers[i].m_type;
			return UD_MARKED;
		}
	}
	if (is_blank(s, len)) {
		*type = "text/cloud-config";
		return UD_BLANK;
	}
	*type = "text/x-shellscript";
	return UD_PLAIN;
}

/* True when the body can go into MIME as 7bit: printable ASCII, tabs and
 * LFs, no line longer than MIME_LINE_MAX. */
static int
is_7bit(const char *s, size_t len)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			col = 0;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return 0;
		if (++col > MIME_LINE_MAX)
			return 0;
	}
	return 1;
}

/*
 * Picks the smallest n such that BOUNDARY_PREFIX n BOUNDARY_SUFFIX occurs
 * in no body. With c occurrences of the prefix, some n <= c is free.
 */
static int
pick_boundary(
    const struct buf *bodies, size_t nbodies, unsigned long *n, struct err *err)
{
	const size_t plen = strlen(BOUNDARY_PREFIX);
	const size_t slen = strlen(BOUNDARY_SUFFIX);
	unsigned char *used = NULL;
	size_t count = 0;
	int pass, rc = -1;

	for (pass = 0; pass < 2; pass++) {
		for (size_t b = 0; b < nbodies; b++) {
			const char *s = bodies[b].b_data;
			size_t left = bodies[b].b_len;
			const char *hit;

			while (s != NULL &&
			    (hit = memmem(s, left, BOUNDARY_PREFIX, plen)) !=
				NULL) {
				const char *d = hit + plen;
				const char *end = s + left;
				unsigned long v = 0;
				int digits = 0;

				while (d < end && *d >= '0' && *d <= '9' &&
				    digits < 19 && v <= count) {
					v = v * 10 + (unsigned long)(*d - '0');
					d++;
					digits++;
				}
				if (pass == 0)
					count++;
				else if (digits > 0 && v <= count &&
				    (size_t)(end - d) >= slen &&
				    memcmp(d, BOUNDARY_SUFFIX, slen) == 0)
					used[v] = 1;
				left -= (size_t)(hit + 1 - s);
				s = hit + 1;
			}
		}
		if (pass == 0) {
			used = calloc(count + 1, 1);
			if (used == NULL) {
				err_set(err, EIK_INTERNAL,
				    "user-data: out of memory");
				goto out;
			}
		}
	}
	for (*n = 0; used[*n]; (*n)++)
		;
	rc = 0;
out:
	free(used);
	return rc;
}

/* Appends a MIME body: 7bit as is, otherwise base64 in 76-column lines. */
static void
wr_part_body(struct ci_wr *w, const struct buf *body)
{
	if (is_7bit(buf_str(body), body->b_len))
		ci_wr_add(w, buf_str(body), body->b_len);
	else
		ci_wr_base64(w, (const unsigned char *)buf_str(body),
		    body->b_len, MIME_B64_LINE);
}

static void
wr_part_head(struct ci_wr *w, const char *boundary, const char *type,
    const struct buf *body, const char *filename)
{
	ci_wr_str(w, "--");
	ci_wr_str(w, boundary);
	ci_wr_str(w, "\nContent-Type: ");
	ci_wr_str(w, type);
	ci_wr_str(w,
	    "; charset=\"utf-8\"\nMIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: ");
	ci_wr_str(w, is_7bit(buf_str(body), body->b_len) ? "7bit" : "base64");
	ci_wr_str(w, "\nContent-Disposition: attachment; filename=\"");
	ci_wr_str(w, filename);
	ci_wr_str(w, "\"\n\n");
}

/* Checks the SSH keys: one non-empty UTF-8 line each. */
static int
check_keys(const struct ci_input *in, struct err *err)
{
	for (size_t i = 0; i < in->ci_n_ssh_keys; i++) {
		const char *k = in->ci_ssh_keys[i];

		if (k == NULL || k[0] == '\0' || strchr(k, '\n') != NULL ||
		    strchr(k, '\r') != NULL || !utf8_valid(k, strlen(k))) {
			err_set(err, EIK_INVAL,
			    "SSHAuthorizedKeys[%zu] must be one non-empty "
			    "UTF-8 public key line without line breaks",
			    i);
			return -1;
		}
	}
	return 0;
}

/* Copies len bytes of init into norm with CRLF normalised to LF; a lone CR
 * stays. */
static int
ud_normalise(const char *init, size_t len, struct buf *norm, struct err *err)
{
	struct ci_wr wn = { norm, 0 };
	const char *p, *end;

	for (p = init, end = init + len; p < end;) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));

		if (cr == NULL) {
			ci_wr_add(&wn, p, (size_t)(end - p));
			break;
		}
		if (cr + 1 < end && cr[1] == '\n') {
			ci_wr_add(&wn, p, (size_t)(cr - p));
			p = cr + 1; /* the LF starts the next run */
		} else {
			ci_wr_add(&wn, p, (size_t)(cr + 1 - p));
			p = cr + 1;
		}
	}
	return ci_wr_done(&wn, "user-data", err);
}

/*
 * Chooses the form of the user-data proper for the normalised Init norm
 * and writes it into body: a blank Init becomes an empty cloud-config,
 * shell lines get "#!/bin/sh" (and a last LF), a marked or MIME Init stays
 * as it is. *kind gets what norm is, *type its MIME type.
 */
static int
ud_form(const struct buf *norm, struct buf *body, enum ud_kind *kind,
    const char **type, struct err *err)
{
	struct ci_wr wu = { body, 0 };

	*kind = ud_classify(buf_str(norm), norm->b_len, type);
	if (*kind == UD_BLANK) {
		ci_wr_str(&wu, "#cloud-config\n{}\n");
	} else if (*kind == UD_PLAIN) {
		ci_wr_str(&wu, "#!/bin/sh\n");
		ci_wr_add(&wu, buf_str(norm), norm->b_len);
		if (norm->b_data[norm->b_len - 1] != '\n')
			ci_wr_str(&wu, "\n");
	} else
		ci_wr_add(&wu, buf_str(norm), norm->b_len);
	return ci_wr_done(&wu, "user-data", err);
}

/* Without keys, or for a MIME Init: the user-data proper is the document. */
static int
ud_single(const struct buf *body, struct buf *out, struct err *err)
{
	struct ci_wr w = { out, 0 };

	ci_wr_add(&w, buf_str(body), body->b_len);
	return ci_wr_done(&w, "user-data", err);
}

/* Writes the cloud-config that installs the SSH keys into cfg. */
static int
ud_keys_part(const struct ci_input *in, struct buf *cfg, struct err *err)
{
	struct ci_wr wk = { cfg, 0 };

	ci_wr_str(&wk, "#cloud-config\nssh_authorized_keys:\n");
	for (size_t i = 0; i < in->ci_n_ssh_keys; i++) {
		ci_wr_str(&wk, "  - ");
		wr_json(&wk, in->ci_ssh_keys[i]);
		ci_wr_str(&wk, "\n");
	}
	return ci_wr_done(&wk, "user-data", err);
}

/*
 * With keys: writes into out a multipart/mixed document of parts[0] (the
 * keys' cloud-config) and then parts[1] (the user-data proper, of MIME type
 * type), with a boundary that occurs in neither.
 */
static int
ud_multipart(const struct buf parts[2], const char *type, struct buf *out,
    struct err *err)
{
	struct ci_wr w = { out, 0 };
	char boundary[64];
	unsigned long bn;

	if (pick_boundary(parts, 2, &bn, err) == -1)
		return -1;
	(void)snprintf(boundary, sizeof(boundary), "%s%lu%s", BOUNDARY_PREFIX,
	    bn, BOUNDARY_SUFFIX);
	ci_wr_str(&w, "Content-Type: multipart/mixed; boundary=\"");
	ci_wr_str(&w, boundary);
	ci_wr_str(&w, "\"\nMIME-Version: 1.0\n\n");
	wr_part_head(&w, boundary, "text/cloud-config", &parts[0],
	    "ssh-authorized-keys.cfg");
	wr_part_body(&w, &parts[0]);
	ci_wr_str(&w, "\n");
	wr_part_head(&w, boundary, type, &parts[1], "infrakit-init");
	wr_part_body(&w, &parts[1]);
	ci_wr_str(&w, "\n--");
	ci_wr_str(&w, boundary);
	ci_wr_str(&w, "--\n");
	return ci_wr_done(&w, "user-data", err);
}

int
ci_user_data(const struct ci_input *in, struct buf *out, struct err *err)
{
	const char *init = in->ci_init != NULL ? in->ci_init : "";
	size_t len = strlen(init);
	struct buf norm;     /* Init with CRLF normalised */
	struct buf parts[2]; /* the keys' cloud-config, the user-data */
	const char *type;
	enum ud_kind kind;
	int rc = -1;

	buf_init(&norm, CI_BUF_MAX);
	buf_init(&parts[0], CI_BUF_MAX);
	buf_init(&parts[1], CI_BUF_MAX);
	if (ci_check_init(init, len, err) == -1 || check_keys(in, err) == -1 ||
	    ud_normalise(init, len, &norm, err) == -1 ||
	    ud_form(&norm, &parts[1], &kind, &type, err) == -1)
		goto out;
	buf_reset(out);
	if (in->ci_n_ssh_keys == 0 || kind == UD_MIME)
		rc = ud_single(&parts[1], out, err);
	else if (ud_keys_part(in, &parts[0], err) == 0)
		rc = ud_multipart(parts, type, out, err);
out:
	buf_free(&norm);
	buf_free(&parts[0]);
	buf_free(&parts[1]);
	return rc;
}

static int
check_utf8(const char *s, const char *what, struct err *err)
{
	if (!utf8_valid(s, strlen(s))) {
		err_set(
		    err, EIK_INVAL, "meta-data: %s is not valid UTF-8", what);
		return -1;
	}
	return 0;
}

int
ci_meta_data(const struct ci_input *in, struct buf *out, struct err *err)
{
	char host[CI_HOSTNAME_MAX];
	const struct tags *tg = in->ci_tags;
	int have_tags = tg != NULL && tg->tg_n > 0;
	struct ci_wr w;

	if (in->ci_instance_id == NULL || in->ci_instance_id[0] == '\0') {
		err_set(err, EIK_INVAL, "meta-data: the instance ID is empty");
		return -1;
	}
	if (check_utf8(in->ci_instance_id, "the instance ID", err) == -1 ||
	    (in->ci_logical_id != NULL &&
		check_utf8(in->ci_logical_id, "LogicalID", err) == -1) ||
	    check_keys(in, err) == -1)
		return -1;
	for (size_t i = 0; have_tags && i < tg->tg_n; i++)
		if (check_utf8(tg->tg_v[i].t_key, "a tag key", err) == -1 ||
		    check_utf8(tg->tg_v[i].t_value, "a tag value", err) == -1)
			return -1;

	ci_hostname(in->ci_logical_id, in->ci_instance_id, host, sizeof(host));
	buf_reset(out);
	w.w_b = out;
	w.w_errno = 0;
	ci_wr_str(&w, "instance-id: ");
	wr_json(&w, in->ci_instance_id);
	ci_wr_str(&w, "\nlocal-hostname: ");
	wr_json(&w, host);
	ci_wr_str(&w, "\n");
	if (in->ci_n_ssh_keys > 0) {
		ci_wr_str(&w, "public-keys-data: \"");
		for (size_t i = 0; i < in->ci_n_ssh_keys; i++) {
			if (i > 0)
				ci_wr_str(&w, "\\n");
			wr_json_body(
			    &w, in->ci_ssh_keys[i], strlen(in->ci_ssh_keys[i]));
		}
		ci_wr_str(&w, "\"\npublic-keys:\n");
		for (size_t i = 0; i < in->ci_n_ssh_keys; i++) {
			ci_wr_str(&w, "  - ");
			wr_json(&w, in->ci_ssh_keys[i]);
			ci_wr_str(&w, "\n");
		}
	}
	if (in->ci_logical_id != NULL || have_tags)
		ci_wr_str(&w, "infrakit:\n");
	if (in->ci_logical_id != NULL) {
		ci_wr_str(&w, "  logical-id: ");
		wr_json(&w, in->ci_logical_id);
		ci_wr_str(&w, "\n");
	}
	if (have_tags) {
		ci_wr_str(&w, "  tags:\n");
		for (size_t i = 0; i < tg->tg_n; i++) {
			ci_wr_str(&w, "    ");
			wr_json(&w, tg->tg_v[i].t_key);
			ci_wr_str(&w, ": ");
			wr_json(&w, tg->tg_v[i].t_value);
			ci_wr_str(&w, "\n");
		}
	}
	return ci_wr_done(&w, "meta-data", err);
}

/* True for a dotted quad: four decimal parts of 1-3 digits, each <= 255. */
static int
is_ipv4(const char *s)
{
	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return 0;
		if (part < 3 && *s++ != '.')
			return 0;
	}
	return *s == '\0';
}

static int
is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/*
 * True for an RFC 1123 host name (either case): labels of letters, digits
 * and '-', 1-63 characters, no '-' at either end, at most 253 characters,
 * and a last label that is not all digits (so that no resolver takes it
 * for an address, RFC 1123 section 2.1).
 */
static int
is_hostname(const char *s)
{
	size_t total = strlen(s), label = 0;
	int alpha = 0;

	if (total == 0 || total > CI_HOSTNAME_MAX - 1)
		return 0;
	for (size_t i = 0; i <= total; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			if (c == '\0')
				break;
			label = 0;
			alpha = 0;
			continue;
		}
		if (!is_host_char(c) || label == 63 || (label == 0 && c == '-'))
			return 0;
		if (c < '0' || c > '9')
			alpha = 1;
		label++;
	}
	return alpha;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

void
ci_hostname(
    const char *logical_id, const char *instance_id, char *out, size_t outlen)
{
	char h[CI_HOSTNAME_MAX];
	size_t n = 0;

	if (outlen == 0)
		return;
	if (logical_id != NULL && is_ipv4(logical_id)) {
		(void)snprintf(h, sizeof(h), "ip-%s", logical_id);
		for (char *p = h; *p != '\0'; p++)
			if (*p == '.')
				*p = '-';
	} else if (logical_id != NULL && is_hostname(logical_id)) {
		for (; logical_id[n] != '\0'; n++)
			h[n] = lower(logical_id[n]);
		h[n] = '\0';
	} else {
		/* One label from the instance ID. */
		const char *s = instance_id != NULL ? instance_id : "";

		for (; *s != '\0' && n < 63; s++) {
			char c = lower(*s);

			if (!is_host_char(c))
				c = '-';
			if (c == '-' && n == 0)
				continue;
			h[n++] = c;
		}
		while (n > 0 && h[n - 1] == '-')
			n--;
		h[n] = '\0';
		if (n == 0)
			(void)strlcpy(h, "localhost", sizeof(h));
	}
	(void)strlcpy(out, h, outlen);
}
