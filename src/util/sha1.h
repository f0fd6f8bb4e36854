/*
 * SHA-1 (FIPS 180-4, §6.1), as InfraKit's group configuration hash needs it.
 * Not for new security uses: SHA-1 is broken for collision resistance; here it
 * only has to reproduce the digests that other InfraKit tools compute.
 *
 * Streaming: sha1_init, any number of sha1_update calls, then sha1_final. The
 * context is plain data (no allocation, nothing to free); after sha1_final it
 * holds no secret state worth keeping and may be re-initialised.
 */
#ifndef SHA1_H
#define SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN 20 /* bytes of a digest */
#define SHA1_BLOCK_LEN 64  /* bytes of one compression block */
#define SHA1_HEX_LEN (2 * SHA1_DIGEST_LEN)

struct sha1_ctx {
	uint32_t sc_h[5];		      /* chaining state */
	uint64_t sc_len;		      /* message bytes so far */
	unsigned char sc_buf[SHA1_BLOCK_LEN]; /* a partial block */
	size_t sc_nbuf;			      /* bytes in sc_buf */
};

void sha1_init(struct sha1_ctx *c);
/* Adds len bytes of data (borrowed for the call only). len may be 0. */
void sha1_update(struct sha1_ctx *c, const void *data, size_t len);
/* Writes the digest of everything added into out. */
void sha1_final(struct sha1_ctx *c, unsigned char out[SHA1_DIGEST_LEN]);
/* One shot: the digest of data[0..len). */
void sha1(const void *data, size_t len, unsigned char out[SHA1_DIGEST_LEN]);
/* Lower-case hex of a digest into out (SHA1_HEX_LEN chars and a NUL). */
void sha1_hex(
    const unsigned char d[SHA1_DIGEST_LEN], char out[SHA1_HEX_LEN + 1]);

#endif /* SHA1_H */
