/*
 * The guestinfo encodings: base64, and gzip+base64 for large documents.
 * See guestinfo.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "guest/ci_int.h"
#include "guest/cloudinit.h"
#include "guest/guestinfo.h"
#include "util/buf.h"
#include "util/err.h"

#define INFLATE_CHUNK 16384

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 text (white space skipped, padding required) into w. */
static int
b64_decode(struct ci_wr *w, const char *text, struct err *err)
{
	const unsigned char *p;
	unsigned q[4];
	int nq = 0, pad = 0;

	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			continue;
		if (*p == '=') {
			if (nq < 2 || pad >= 2) {
				err_set(err, EIK_INVAL,
				    "base64: misplaced '=' at offset %zu",
				    (size_t)(p - (const unsigned char *)text));
				return -1;
			}
			pad++;
			q[nq++] = 0;
		} else {
			int v = b64_value(*p);

			if (v < 0 || pad > 0) {
				err_set(err, EIK_INVAL,
				    "base64: unexpected byte 0x%02x at offset "
				    "%zu",
				    *p,
				    (size_t)(p - (const unsigned char *)text));
				return -1;
			}
			q[nq++] = (unsigned)v;
		}
		if (nq == 4) {
			unsigned char o[3];
			unsigned v = q[0] << 18 | q[1] << 12 | q[2] << 6 | q[3];

			o[0] = (unsigned char)(v >> 16);
			o[1] = (unsigned char)(v >> 8);
			o[2] = (unsigned char)v;
			ci_wr_add(w, o, (size_t)(3 - pad));
			nq = 0;
		}
	}
	if (nq != 0) {
		err_set(err, EIK_INVAL,
		    "base64: truncated input (length not a multiple of 4)");
		return -1;
	}
	return 0;
}

int
ci_guestinfo_encode(const char *data, size_t len, struct buf *out,
    const char **encoding, struct err *err)
{
	unsigned char *gz = NULL;
	z_stream zs;
	int zinit = 0, zr, rc = -1;
	struct ci_wr w;

	buf_reset(out);
	w.w_b = out;
	w.w_errno = 0;
	if (len <= CI_GZIP_THRESHOLD) {
		ci_wr_base64(&w, (const unsigned char *)data, len, 0);
		*encoding = "base64";
		return ci_wr_done(&w, "guestinfo data", err);
	}
	if (len > CI_BUF_MAX) {
		err_set(err, EIK_INVAL,
		    "guestinfo data is %zu bytes; the limit is %d bytes", len,
		    CI_BUF_MAX);
		return -1;
	}
	memset(&zs, 0, sizeof(zs));
	/* windowBits 31: a gzip wrapper (zlib's 15 + 16). */
	zr = deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	if (zr != Z_OK) {
		err_set(
		    err, EIK_INTERNAL, "gzip: deflateInit2 failed (%d)", zr);
		goto out;
	}
	zinit = 1;
	zs.avail_out = (uInt)deflateBound(&zs, (uLong)len);
	gz = malloc(zs.avail_out);
	if (gz == NULL) {
		err_set(err, EIK_INTERNAL, "gzip: out of memory");
		goto out;
	}
	zs.next_out = gz;
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zr = deflate(&zs, Z_FINISH);
	if (zr != Z_STREAM_END) {
		err_set(err, EIK_INTERNAL, "gzip: deflate failed (%d)", zr);
		goto out;
	}
	ci_wr_base64(&w, gz, (size_t)zs.total_out, 0);
	*encoding = "gzip+base64";
	rc = ci_wr_done(&w, "guestinfo data", err);
out:
	if (zinit)
		(void)deflateEnd(&zs);
	free(gz);
	return rc;
}

/* Inflates a gzip stream of len bytes into w. */
static int
gunzip(struct ci_wr *w, const unsigned char *gz, size_t len, struct err *err)
{
	unsigned char chunk[INFLATE_CHUNK];
	z_stream zs;
	int zr, rc = -1;

	memset(&zs, 0, sizeof(zs));
	zr = inflateInit2(&zs, 31);
	if (zr != Z_OK) {
		err_set(
		    err, EIK_INTERNAL, "gzip: inflateInit2 failed (%d)", zr);
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)gz;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			err_set(err, EIK_INVAL, "gzip: %s",
			    zr == Z_BUF_ERROR	 ? "truncated stream"
				: zs.msg != NULL ? zs.msg
						 : "corrupt stream");
			goto out;
		}
		ci_wr_add(w, chunk, sizeof(chunk) - zs.avail_out);
		if (ci_wr_done(w, "guestinfo data", err) == -1)
			goto out;
	} while (zr != Z_STREAM_END);
	if (zs.avail_in != 0) {
		err_set(err, EIK_INVAL, "gzip: %u bytes after the stream",
		    zs.avail_in);
		goto out;
	}
	rc = 0;
out:
	(void)inflateEnd(&zs);
	return rc;
}

int
ci_guestinfo_decode(
    const char *text, const char *encoding, struct buf *out, struct err *err)
{
	struct buf raw;
	struct ci_wr w;
	int rc = -1;

	buf_init(&raw, CI_BUF_MAX);
	buf_reset(out);
	w.w_b = out;
	w.w_errno = 0;
	if (text == NULL)
		text = "";
	if (encoding != NULL &&
	    (strcmp(encoding, "base64") == 0 || strcmp(encoding, "b64") == 0)) {
		if (b64_decode(&w, text, err) == -1)
			goto out;
	} else if (encoding != NULL &&
	    (strcmp(encoding, "gzip+base64") == 0 ||
		strcmp(encoding, "gz+b64") == 0)) {
		struct ci_wr wraw = { &raw, 0 };

		if (b64_decode(&wraw, text, err) == -1 ||
		    ci_wr_done(&wraw, "guestinfo data", err) == -1 ||
		    gunzip(&w, (const unsigned char *)buf_str(&raw), raw.b_len,
			err) == -1)
			goto out;
	} else {
		err_set(err, EIK_INVAL,
		    "unknown guestinfo encoding \"%s\": use base64 or "
		    "gzip+base64",
		    encoding != NULL ? encoding : "(null)");
		goto out;
	}
	rc = ci_wr_done(&w, "guestinfo data", err);
out:
	buf_free(&raw);
	return rc;
}
