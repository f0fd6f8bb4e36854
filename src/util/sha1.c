/*
 * SHA-1 from FIPS 180-4: 80 rounds over a 16-word schedule kept in a ring
 * (§6.1.3, the alternative method), big-endian words, the length in bits
 * appended after a 0x80 byte and zero padding. See sha1.h.
 */
#include <string.h>

#include "util/sha1.h"

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static uint32_t
load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* One 512-bit block into the chaining state (FIPS 180-4 §6.1.2). */
static void
sha1_block(uint32_t h[5], const unsigned char *blk)
{
	uint32_t w[16], a, b, c, d, e, f, k, t;

	for (int i = 0; i < 16; i++)
		w[i] = load_be32(blk + 4 * i);
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	for (int i = 0; i < 80; i++) {
		if (i >= 16) {
			t = w[(i + 13) & 15] ^ w[(i + 8) & 15] ^
			    w[(i + 2) & 15] ^ w[i & 15];
			w[i & 15] = ROTL(t, 1);
		}
		if (i < 20) {
			f = (b & c) | (~b & d); /* Ch */
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d; /* Parity */
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d); /* Maj */
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = ROTL(a, 5) + f + e + k + w[i & 15];
		e = d;
		d = c;
		c = ROTL(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
sha1_init(struct sha1_ctx *c)
{
	/* FIPS 180-4 §5.3.1. */
	c->sc_h[0] = 0x67452301;
	c->sc_h[1] = 0xefcdab89;
	c->sc_h[2] = 0x98badcfe;
	c->sc_h[3] = 0x10325476;
	c->sc_h[4] = 0xc3d2e1f0;
	c->sc_len = 0;
	c->sc_nbuf = 0;
}

void
sha1_update(struct sha1_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	c->sc_len += len;
	if (c->sc_nbuf > 0) {
		size_t take = SHA1_BLOCK_LEN - c->sc_nbuf;

		if (take > len)
			take = len;
		memcpy(c->sc_buf + c->sc_nbuf, p, take);
		c->sc_nbuf += take;
		p += take;
		len -= take;
		if (c->sc_nbuf < SHA1_BLOCK_LEN)
			return;
		sha1_block(c->sc_h, c->sc_buf);
		c->sc_nbuf = 0;
	}
	for (; len >= SHA1_BLOCK_LEN;
	     p += SHA1_BLOCK_LEN, len -= SHA1_BLOCK_LEN)
		sha1_block(c->sc_h, p);
	if (len > 0) {
		memcpy(c->sc_buf, p, len);
		c->sc_nbuf = len;
	}
}

void
sha1_final(struct sha1_ctx *c, unsigned char out[SHA1_DIGEST_LEN])
{
	uint64_t bits = c->sc_len * 8;

	/* 0x80, zeros up to 56 bytes into a block, the 64-bit length. */
	c->sc_buf[c->sc_nbuf++] = 0x80;
	if (c->sc_nbuf > SHA1_BLOCK_LEN - 8) {
		memset(c->sc_buf + c->sc_nbuf, 0, SHA1_BLOCK_LEN - c->sc_nbuf);
		sha1_block(c->sc_h, c->sc_buf);
		c->sc_nbuf = 0;
	}
	memset(c->sc_buf + c->sc_nbuf, 0, SHA1_BLOCK_LEN - 8 - c->sc_nbuf);
	store_be32(c->sc_buf + 56, (uint32_t)(bits >> 32));
	store_be32(c->sc_buf + 60, (uint32_t)bits);
	sha1_block(c->sc_h, c->sc_buf);
	for (int i = 0; i < 5; i++)
		store_be32(out + 4 * i, c->sc_h[i]);
	c->sc_nbuf = 0;
}

void
sha1(const void *data, size_t len, unsigned char out[SHA1_DIGEST_LEN])
{
	struct sha1_ctx c;

	sha1_init(&c);
	sha1_update(&c, data, len);
	sha1_final(&c, out);
}

void
sha1_hex(const unsigned char d[SHA1_DIGEST_LEN], char out[SHA1_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < SHA1_DIGEST_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[SHA1_HEX_LEN] = '\0';
}
