/* Unit tests: sha1.c — FIPS 180-4 / RFC 3174 vectors, padding edges and
 * streaming in uneven chunks. */
#include "cm_compat.h"

#include "util/sha1.h"

static void
check(const void *data, size_t len, const char *want)
{
	unsigned char d[SHA1_DIGEST_LEN];
	char hex[SHA1_HEX_LEN + 1];

	sha1(data, len, d);
	sha1_hex(d, hex);
	assert_string_equal(hex, want);
}

static void
test_fips_vectors(void **state)
{
	(void)state;
	check("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	/* FIPS 180-2 Appendix A.1, RFC 3174 TEST1. */
	check("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	/* A.2, TEST2: the message needs a second padding block. */
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	/* The two-block example of the NIST examples for FIPS 180-4. */
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	      "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	    112, "a49b2446a02c645bf419f995b67091253a04a259");
}

static void
test_million_a(void **state)
{
	char *a = malloc(1000000);

	(void)state;
	assert_non_null(a);
	memset(a, 'a', 1000000);
	/* A.3, RFC 3174 TEST3. */
	check(a, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(a);
}

static void
test_rfc3174_test4(void **state)
{
	struct sha1_ctx c;
	unsigned char d[SHA1_DIGEST_LEN];
	char hex[SHA1_HEX_LEN + 1];

	(void)state;
	/* TEST4 exactly as RFC 3174 runs it: 80 updates of 8 bytes. */
	sha1_init(&c);
	for (int i = 0; i < 80; i++)
		sha1_update(&c, "01234567", 8);
	sha1_final(&c, d);
	sha1_hex(d, hex);
	assert_string_equal(hex, "dea356a2cddd90c7a7ecedc5ebb563934f460452");
}

static void
test_padding_edges(void **state)
{
	static const struct {
		size_t n;
		const char *hex;
	} v[] = {
		{ 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a" },
		{ 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699" },
		{ 57, "f08f24908d682555111be7ff6f004e78283d989a" },
		{ 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5" },
		{ 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d" },
		{ 65, "11655326c708d70319be2610e8a57d9a5b959d3b" },
		{ 119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56" },
		{ 120, "f34c1488385346a55709ba056ddd08280dd4c6d6" },
	};
	char a[128];

	(void)state;
	memset(a, 'a', sizeof(a));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check(a, v[i].n, v[i].hex);
}

/* Every split of a 300-byte message, and 1..70-byte chunks, give the
 * one-shot digest. */
static void
test_streaming_chunks(void **state)
{
	unsigned char msg[300], one[SHA1_DIGEST_LEN], d[SHA1_DIGEST_LEN];
	struct sha1_ctx c;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	sha1(msg, sizeof(msg), one);
	for (size_t cut = 0; cut <= sizeof(msg); cut++) {
		sha1_init(&c);
		sha1_update(&c, msg, cut);
		sha1_update(&c, msg + cut, 0);
		sha1_update(&c, msg + cut, sizeof(msg) - cut);
		sha1_final(&c, d);
		assert_memory_equal(d, one, SHA1_DIGEST_LEN);
	}
	for (size_t step = 1; step <= 70; step++) {
		sha1_init(&c);
		for (size_t off = 0; off < sizeof(msg); off += step) {
			size_t n =
			    sizeof(msg) - off < step ? sizeof(msg) - off : step;

			sha1_update(&c, msg + off, n);
		}
		sha1_final(&c, d);
		assert_memory_equal(d, one, SHA1_DIGEST_LEN);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_rfc3174_test4),
		cmocka_unit_test(test_padding_edges),
		cmocka_unit_test(test_streaming_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
