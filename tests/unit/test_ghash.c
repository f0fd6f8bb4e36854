/* Unit tests: ghash.c — InfraKit's config hash, byte for byte: every vector
 * of spec infrakit-group.md §8 in every era, the exact stable-format
 * renderings of §3.1, Go's number and string formatting. */
#include "cm_compat.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/sha1.h"
#include "group/ghash.h"
#include "group/gspec.h"

/* §8, as printed there: the spec, the v0.5/master tag value (base32), the
 * v0.1-v0.4.1 value (base64url) and the SHA-1. */
static const struct vector {
	const char *name;
	const char *spec;
	const char *b32;
	const char *b64;
	const char *hex;
} vectors[] = {
	{ "V1", /* protocol §6.6 sample */
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":"
	    "3},\"Instance\":{\"Plugin\":\"instance-vmware\",\"Properties"
	    "\":{\"VMX\":\"alpine-3.4.4\",\"MemorySizeMBs\":512,\"NumCPUs"
	    "\":1}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Propertie"
	    "s\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}"
	    "}}",
	    "aszpg6rn65qd77waeizd6xqqogf7t6n2", "BLLzei33YD_-wCIyP14QcYv5-bo=",
	    "04b2f37a2df7603ffec022323f5e10718bf9f9ba" },
	{ "V2", /* V1 reordered, other ID/Size, Updating, 1.0/5.12e2 → same */
	    "{\"Properties\":{\"Flavor\":{\"Properties\":{\"Tags\":{\"tie"
	    "r\":\"web\"},\"Init\":[\"echo hello\"]},\"Plugin\":\"flavor-"
	    "vanilla\"},\"Updating\":{\"Count\":2},\"Instance\":{\"Proper"
	    "ties\":{\"NumCPUs\":1.0,\"MemorySizeMBs\":5.12e2,\"VMX\":\"a"
	    "lpine-3.4.4\"},\"Plugin\":\"instance-vmware\"},\"Allocation"
	    "\":{\"Size\":7}},\"ID\":\"other\"}",
	    "aszpg6rn65qd77waeizd6xqqogf7t6n2", "BLLzei33YD_-wCIyP14QcYv5-bo=",
	    "04b2f37a2df7603ffec022323f5e10718bf9f9ba" },
	{ "V3", /* real v0.5 traffic (elc5…) */
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":"
	    "3},\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\""
	    ":{\"Note\":\"Instance properties are opaque to the group plu"
	    "gin\",\"VMX\":\"alpine\",\"NumCPUs\":1}},\"Flavor\":{\"Plugi"
	    "n\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"sh -c \\"
	    "\"echo 'Hello, World!' > /hello\\\"\"],\"Tags\":{\"tier\":\""
	    "web\",\"project\":\"infrakit\"}}}}}",
	    "elc5jyxdxbvhvldv4dbzkkgkfjjilm5j", "IsXU4uO4anqsdeDDlSjKKlKFs6k=",
	    "22c5d4e2e3b86a7aac75e0c39528ca2a5285b3a9" },
	{ "V4", /* real v0.1.0/v0.4.1 (ujv8…) and master (xi57…) traffic */
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":"
	    "3},\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\""
	    ":{\"Note\":\"Instance properties are opaque to the group plu"
	    "gin\",\"VMX\":\"alpine\",\"NumCPUs\":1}},\"Flavor\":{\"Plugi"
	    "n\":\"vanilla\",\"Properties\":{\"Init\":[\"sh -c \\\"echo '"
	    "Hello, World!' > /hello\\\"\"],\"Tags\":{\"tier\":\"web\",\""
	    "project\":\"infrakit\"}}}}}",
	    "xi57z7b6jqqxx6ffylec7ouh2xq4gc7l", "ujv8_D5MIXv4pcLIL7qH1eHDC-s=",
	    "ba3bfcfc3e4c217bf8a5c2c82fba87d5e1c30beb" },
	{ "V5", /* real master pets traffic */
	    "{\"ID\":\"pets\",\"Properties\":{\"Allocation\":{\"LogicalID"
	    "s\":[\"192.168.0.11\",\"192.168.0.12\"]},\"Instance\":{\"Plu"
	    "gin\":\"instance-file\",\"Properties\":{\"VMX\":\"alpine\"}}"
	    ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":{\"Init\""
	    ":[\"echo pet\"],\"Tags\":{\"tier\":\"db\"},\"Attachments\":["
	    "{\"ID\":\"disk-1\",\"Type\":\"vmdk\"}]}}}}",
	    "unt474ylaw7343venpgrkeizhlnbx7kf", "o2fP8wsFv75upGvNFREZOtob_UU=",
	    "a367cff30b05bfbe6ea46bcd1511193ada1bfd45" },
	{ "V6", /* pets, VMware plugin name */
	    "{\"ID\":\"pets\",\"Properties\":{\"Allocation\":{\"LogicalID"
	    "s\":[\"192.168.0.11\",\"192.168.0.12\"]},\"Instance\":{\"Plu"
	    "gin\":\"instance-vmware\",\"Properties\":{\"VMX\":\"alpine\""
	    "}},\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":{\"Init"
	    "\":[\"echo pet\"],\"Tags\":{\"tier\":\"db\"},\"Attachments\""
	    ":[{\"ID\":\"disk-1\",\"Type\":\"vmdk\"}]}}}}",
	    "lvxdqlgm3iiplwxaxmcelj5oeeitde2h", "XW44LMzaEPXa4LsERaeuIRExk0c=",
	    "5d6e382cccda10f5dae0bb0445a7ae2111319347" },
	{ "V7", /* typed plugin, ≥2^53 integer, HTML chars, non-ASCII, empty
		   containers */
	    "{\"ID\":\"mixed\",\"Properties\":{\"Allocation\":{\"Size\":1"
	    "},\"Instance\":{\"Plugin\":\"instance-vmware/fusion\",\"Prop"
	    "erties\":{\"MemoryMB\":1048576,\"Ratio\":0.5,\"Big\":1234567"
	    "8901234567890,\"Cmd\":\"a<b && c>d\",\"Name\":\"caf\\u00e9 "
	    "\\u20ac\",\"Nested\":{\"z\":[],\"a\":{}},\"Flag\":true,\"Not"
	    "hing\":null}},\"Flavor\":{\"Plugin\":\"vanilla\",\"Propertie"
	    "s\":{\"Init\":[\"line1\",\"line2\"]}}}}",
	    "66yyf2hldqsecv37dnqexpkql7xenfh2", "97GC6OscJEFXfxtgS71QX-5GlPo=",
	    "f7b182e8eb1c2441577f1b604bbd505fee4694fa" },
	{ "V8", /* no Properties (hashed as null) */
	    "{\"ID\":\"bare\",\"Properties\":{\"Allocation\":{\"Size\":2}"
	    ",\"Instance\":{\"Plugin\":\"instance-vmware\"},\"Flavor\":{"
	    "\"Plugin\":\"vanilla\"}}}",
	    "fvcwlwmbm7vbcpgrszbdnu2gvophauop", "LUVl2YFn6hE80ZZCNtNGq55wUc8=",
	    "2d4565d98167ea113cd1964236d346ab9e7051cf" },
	{ "V9", /* empty Properties (Plugin "", Properties null) */
	    "{\"ID\":\"empty\",\"Properties\":{}}",
	    "z3aypkty3dxozefuvv63j7xdvckkg42o", "zsGHqnjY7uyQtK19tP7jqJSjc04=",
	    "cec187aa78d8eeec90b4ad7db4fee3a894a3734e" },
	{ "V10", /* unknown keys dropped → = V1 */
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":"
	    "3},\"Extra\":1,\"Instance\":{\"Plugin\":\"instance-vmware\","
	    "\"Options\":{\"x\":1},\"Properties\":{\"VMX\":\"alpine-3.4.4"
	    "\",\"MemorySizeMBs\":512,\"NumCPUs\":1}},\"Flavor\":{\"Plugi"
	    "n\":\"flavor-vanilla\",\"Options\":{\"y\":2},\"Properties\":"
	    "{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}}",
	    "aszpg6rn65qd77waeizd6xqqogf7t6n2", "BLLzei33YD_-wCIyP14QcYv5-bo=",
	    "04b2f37a2df7603ffec022323f5e10718bf9f9ba" },
	{ "V11", /* number formatting edge cases */
	    "{\"ID\":\"f\",\"Properties\":{\"Allocation\":{\"Size\":1},\""
	    "Instance\":{\"Plugin\":\"i\",\"Properties\":{\"a\":1e21,\"b"
	    "\":1e-7,\"c\":100.0,\"d\":-0.0,\"e\":1.5e300,\"f\":0.000001,"
	    "\"g\":123456789012345678,\"h\":1e20,\"i\":-12.5}},\"Flavor\""
	    ":{\"Plugin\":\"vanilla\",\"Properties\":{}}}}",
	    "tetub3elsi2az7smc2ipowaksza2url3", "mSdA7IuSNAz-TBaQ91gKlkGqRXs=",
	    "992740ec8b92340cfe4c1690f7580a9641aa457b" },
	{ "V12", /* string escapes */
	    "{\"ID\":\"s\",\"Properties\":{\"Allocation\":{\"Size\":1},\""
	    "Instance\":{\"Plugin\":\"i\",\"Properties\":{\"s\":\"\\u0001"
	    "\\b\\f\\n\\r\\t\\\"\\\\/ \\u2028\\u00e9\"}},\"Flavor\":{\"Pl"
	    "ugin\":\"vanilla\",\"Properties\":{\"Init\":[]}}}}",
	    "7cmjxflavwk3uglujrlpb6x4fcbxresf", "-JiblWCtlboZdExW8Pr8KIN4kkU=",
	    "f8989b9560ad95ba19744c56f0fafc2883789245" },
	{ "V13", /* lower-case struct keys → = V1 */
	    "{\"id\":\"cattle\",\"properties\":{\"allocation\":{\"size\":"
	    "3},\"instance\":{\"plugin\":\"instance-vmware\",\"properties"
	    "\":{\"VMX\":\"alpine-3.4.4\",\"MemorySizeMBs\":512,\"NumCPUs"
	    "\":1}},\"flavor\":{\"PLUGIN\":\"flavor-vanilla\",\"Propertie"
	    "s\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}"
	    "}}",
	    "aszpg6rn65qd77waeizd6xqqogf7t6n2", "BLLzei33YD_-wCIyP14QcYv5-bo=",
	    "04b2f37a2df7603ffec022323f5e10718bf9f9ba" },
	{ "V14", /* key case inside Properties matters */
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":"
	    "3},\"Instance\":{\"Plugin\":\"instance-vmware\",\"Properties"
	    "\":{\"vmx\":\"alpine-3.4.4\",\"MemorySizeMBs\":512,\"NumCPUs"
	    "\":1}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Propertie"
	    "s\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}"
	    "}}",
	    "nmdiq3zvbry63bbgccjhhmsioaq6dcez", "awaIbzUMce2EJhCSc7JIcCHhiJk=",
	    "6b06886f350c71ed8426109273b2487021e18899" },
	{ "V15", /* duplicate key, last wins (= same spec with only "a":2) */
	    "{\"ID\":\"d\",\"Properties\":{\"Allocation\":{\"Size\":1},\""
	    "Instance\":{\"Plugin\":\"i\",\"Properties\":{\"a\":1,\"a\":2"
	    "}},\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":{}}}}",
	    "mhfadmbal3ptgmzd4rrnoptz4nqrkcmc", "YcoBsCBe3zMzI-Ri1z5542EVCYI=",
	    "61ca01b0205edf333323e462d73e79e361150982" },
};

#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

static void
hash_of(const char *spec, unsigned flags, enum ghash_era era, char *out)
{
	struct group_spec g;
	struct err err;

	memset(&g, 0, sizeof(g));
	err.msg[0] = '\0';
	if (gspec_decode(spec, strlen(spec), flags, &g, &err) != 0)
		fail_msg("decode: %s", err.msg);
	if (gspec_hash(&g, era, out, &err) != 0)
		fail_msg("hash: %s", err.msg);
	gspec_free(&g);
}

static void
test_vectors(void **state)
{
	char h[GHASH_TEXT_MAX + 1];

	(void)state;
	assert_int_equal(N_VECTORS, 15);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &vectors[i];

		print_message("%s\n", v->name);
		hash_of(v->spec, GSPEC_COMPAT, GHASH_MASTER, h);
		assert_string_equal(h, v->b32);
		hash_of(v->spec, GSPEC_COMPAT, GHASH_V05, h);
		assert_string_equal(h, v->b32);
		hash_of(v->spec, GSPEC_COMPAT, GHASH_V01, h);
		assert_string_equal(h, v->b64);
		assert_int_equal(strlen(v->b32), 32);
		assert_int_equal(strlen(v->b64), 28);
	}
}

/* The SHA-1 column, through ghash_digest on the decoded sections. */
static void
test_vector_digests(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		struct group_spec g;
		struct err err;
		unsigned char d[SHA1_DIGEST_LEN];
		char hex[SHA1_HEX_LEN + 1];
		struct ghash_section in, fl;

		memset(&g, 0, sizeof(g));
		assert_int_equal(gspec_decode(v->spec, strlen(v->spec),
				     GSPEC_COMPAT, &g, &err),
		    0);
		in = (struct ghash_section){ g.g_instance.gp_name,
			g.g_instance.gp_props,
			g.g_instance.gp_props ? strlen(g.g_instance.gp_props)
					      : 0 };
		fl = (struct ghash_section){ g.g_flavor.gp_name,
			g.g_flavor.gp_props,
			g.g_flavor.gp_props ? strlen(g.g_flavor.gp_props) : 0 };
		assert_int_equal(
		    ghash_digest(&in, &fl, GHASH_MASTER, d, &err), 0);
		sha1_hex(d, hex);
		assert_string_equal(hex, v->hex);
		gspec_free(&g);
	}
}

/* The encodings alone, from the SHA-1 column. */
static void
test_encodings(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		unsigned char d[SHA1_DIGEST_LEN];
		char out[GHASH_TEXT_MAX + 1];

		for (int j = 0; j < SHA1_DIGEST_LEN; j++) {
			unsigned x;

			assert_int_equal(sscanf(v->hex + 2 * j, "%2x", &x), 1);
			d[j] = (unsigned char)x;
		}
		ghash_encode(d, GHASH_MASTER, out);
		assert_string_equal(out, v->b32);
		ghash_encode(d, GHASH_V05, out);
		assert_string_equal(out, v->b32);
		ghash_encode(d, GHASH_V01, out);
		assert_string_equal(out, v->b64);
		ghash_encode(d, GHASH_V01_GO16, out);
		assert_string_equal(out, v->b64);
	}
}

/* Strict decoding hashes the same where it accepts the vector; it refuses
 * V10 (unknown key "Extra") and V15 (a key twice). */
static void
test_vectors_strict(void **state)
{
	char h[GHASH_TEXT_MAX + 1];

	(void)state;
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		struct group_spec g;
		struct err err;
		int rc;

		memset(&g, 0, sizeof(g));
		rc = gspec_decode(v->spec, strlen(v->spec), 0, &g, &err);
		gspec_free(&g);
		if (strcmp(v->name, "V10") == 0 ||
		    strcmp(v->name, "V15") == 0) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		hash_of(v->spec, 0, GHASH_MASTER, h);
		assert_string_equal(h, v->b32);
	}
}

static char *
render(const char *plugin, const char *props, enum ghash_era era)
{
	struct ghash_section s = { plugin, props,
		props != NULL ? strlen(props) : 0 };
	struct buf b;
	struct err err;

	buf_init(&b, 1 << 20);
	if (ghash_render(&s, era, &b, &err) != 0)
		fail_msg("render: %s", err.msg);
	return buf_steal(&b);
}

/* §3.1's exact rendering of V1: 295 bytes together. */
static void
test_v1_rendering(void **state)
{
	char *a, *b;

	(void)state;
	a = render("instance-vmware",
	    "{\"VMX\":\"alpine-3.4.4\",\"MemorySizeMBs\":512,\"NumCPUs\":1}",
	    GHASH_MASTER);
	b = render("flavor-vanilla",
	    "{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}",
	    GHASH_MASTER);
	assert_string_equal(a,
	    "{\n    \"Plugin\": \"instance-vmware\",\n    \"Properties\": {\n"
	    "      \"MemorySizeMBs\": 512,\n      \"NumCPUs\": 1,\n"
	    "      \"VMX\": \"alpine-3.4.4\"\n    }\n  }");
	assert_string_equal(b,
	    "{\n    \"Plugin\": \"flavor-vanilla\",\n    \"Properties\": {\n"
	    "      \"Init\": [\n        \"echo hello\"\n      ],\n"
	    "      \"Tags\": {\n        \"tier\": \"web\"\n      }\n    }\n  }");
	assert_int_equal(strlen(a) + strlen(b), 295);
	free(a);
	free(b);
}

/* V8: absent Properties render as null, and "absent" = "null" (Q3). */
static void
test_null_properties(void **state)
{
	char *a, *b;

	(void)state;
	a = render("instance-vmware", NULL, GHASH_MASTER);
	assert_string_equal(a,
	    "{\n    \"Plugin\": \"instance-vmware\",\n    \"Properties\": "
	    "null\n  }");
	b = render("instance-vmware", "null", GHASH_MASTER);
	assert_string_equal(a, b);
	free(a);
	free(b);
	a = render("", NULL, GHASH_MASTER);
	assert_string_equal(
	    a, "{\n    \"Plugin\": \"\",\n    \"Properties\": null\n  }");
	free(a);
}

/* Go's string encoder: the escapes of §3.1, HTML escaping, U+2028/2029,
 * everything else raw; keys sorted byte-wise, duplicates last-wins. */
static void
test_strings_and_keys(void **state)
{
	char *a;

	(void)state;
	a = render("p<&>",
	    "{\"s\":\"\\u0001\\b\\f\\n\\r\\t\\\"\\\\\\/ \\u2028\\u2029"
	    "\\u00e9\x7f<a&b>\",\"b\":\"x\",\"B\":1,\"_\":2,\"\xc3\xa9\":3,"
	    "\"b\":\"last\",\"Z\":[]}",
	    GHASH_MASTER);
	assert_string_equal(a,
	    "{\n    \"Plugin\": \"p\\u003c\\u0026\\u003e\",\n"
	    "    \"Properties\": {\n      \"B\": 1,\n      \"Z\": [],\n"
	    "      \"_\": 2,\n      \"b\": \"last\",\n"
	    "      \"s\": \"\\u0001\\u0008\\u000c\\n\\r\\t\\\"\\\\/ "
	    "\\u2028\\u2029\xc3\xa9\x7f\\u003ca\\u0026b\\u003e\",\n"
	    "      \"\xc3\xa9\": 3\n    }\n  }");
	free(a);
	/* Go reads bad UTF-8 and lone surrogates as U+FFFD. */
	a = render(
	    "p", "[\"\xff\",\"\\ud800\",\"\\ud83d\\ude00\"]", GHASH_MASTER);
	assert_string_equal(a,
	    "{\n    \"Plugin\": \"p\",\n    \"Properties\": [\n"
	    "      \"\xef\xbf\xbd\",\n      \"\xef\xbf\xbd\",\n"
	    "      \"\xf0\x9f\x98\x80\"\n    ]\n  }");
	free(a);
}

/* Nested containers, empties and scalars at depth. */
static void
test_nesting(void **state)
{
	char *a;

	(void)state;
	a = render("p", "{\"a\":[{},[],[1,[true,false,null]],{\"k\":{}}]}",
	    GHASH_MASTER);
	assert_string_equal(a,
	    "{\n    \"Plugin\": \"p\",\n    \"Properties\": {\n"
	    "      \"a\": [\n        {},\n        [],\n        [\n"
	    "          1,\n          [\n            true,\n"
	    "            false,\n            null\n          ]\n"
	    "        ],\n        {\n          \"k\": {}\n        }\n"
	    "      ]\n    }\n  }");
	free(a);
	a = render("p", " \"just a string\" ", GHASH_MASTER);
	assert_string_equal(a,
	    "{\n    \"Plugin\": \"p\",\n    \"Properties\": \"just a "
	    "string\"\n  }");
	free(a);
}

static void
number_is(const char *lit, enum ghash_era era, const char *want)
{
	char out[GHASH_NUMBER_MAX];
	struct err err;

	if (ghash_number(lit, era, out, &err) != 0)
		fail_msg("%s: %s", lit, err.msg);
	if (strcmp(out, want) != 0)
		fail_msg("%s rendered as %s, want %s", lit, out, want);
}

/* §3.1's examples for Go 1.8+, plus the extremes of a double. */
static void
test_numbers(void **state)
{
	static const char *const t[][2] = {
		{ "100.0", "100" },
		{ "5.12e2", "512" },
		{ "12345678901234567890", "12345678901234567000" },
		{ "123456789012345678", "123456789012345680" },
		{ "1e20", "100000000000000000000" },
		{ "0.000001", "0.000001" },
		{ "1e21", "1e+21" },
		{ "1e-7", "1e-7" },
		{ "1.5e300", "1.5e+300" },
		{ "-0.0", "-0" },
		{ "-0", "-0" },
		{ "0", "0" },
		{ "0e5", "0" },
		{ "-12.5", "-12.5" },
		{ "1048576", "1048576" },
		{ "0.1", "0.1" },
		{ "1e-10", "1e-10" },
		{ "-1e-7", "-1e-7" },
		{ "9.999999999999999e20", "999999999999999900000" },
		{ "5e-324", "5e-324" },
		{ "4.9e-324", "5e-324" },
		{ "1.7976931348623157e308", "1.7976931348623157e+308" },
		{ "2.2250738585072014e-308", "2.2250738585072014e-308" },
		{ "9007199254740993", "9007199254740992" },
		{ "0.30000000000000004", "0.30000000000000004" },
		{ "1e-400", "0" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		number_is(t[i][0], GHASH_MASTER, t[i][1]);
}

/* The released v0.1-v0.4 binaries (Go 1.6/1.7): %g, exponent from 1e6 and
 * below 1e-4, two exponent digits at least. */
static void
test_numbers_go16(void **state)
{
	static const char *const t[][2] = {
		{ "1000000", "1e+06" },
		{ "1048576", "1.048576e+06" },
		{ "1e-7", "1e-07" },
		{ "123456", "123456" },
		{ "999999", "999999" },
		{ "0.0001", "0.0001" },
		{ "0.00001", "1e-05" },
		{ "12345678901234567890", "1.2345678901234567e+19" },
		{ "1e21", "1e+21" },
		{ "1.5e300", "1.5e+300" },
		{ "-0.0", "-0" },
		{ "100.0", "100" },
		{ "-12.5", "-12.5" },
	};
	char *a, *b;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		number_is(t[i][0], GHASH_V01_GO16, t[i][1]);
	/* Only the numbers differ: same rendering otherwise. */
	a = render("p", "{\"a\":[1,\"x\"]}", GHASH_V01_GO16);
	b = render("p", "{\"a\":[1,\"x\"]}", GHASH_V01);
	assert_string_equal(a, b);
	free(a);
	free(b);
	a = render("p", "{\"MemoryMB\":1048576}", GHASH_V01_GO16);
	assert_non_null(strstr(a, "\"MemoryMB\": 1.048576e+06\n"));
	free(a);
}

static void
test_errors(void **state)
{
	struct ghash_section i = { "p", "{\"a\":1e400}", 11 };
	struct ghash_section f = { "vanilla", NULL, 0 };
	char out[GHASH_TEXT_MAX + 1], num[GHASH_NUMBER_MAX];
	struct err err;

	(void)state;
	assert_int_equal(ghash_compute(&i, &f, GHASH_MASTER, out, &err), -1);
	assert_string_equal(err.msg,
	    "the number 1e400 is too large for a double (InfraKit reads "
	    "numbers as doubles); write a smaller number or a string");
	i.hs_props = "{\"a\":";
	i.hs_props_len = strlen(i.hs_props);
	assert_int_equal(ghash_compute(&i, &f, GHASH_MASTER, out, &err), -1);
	assert_string_equal(err.msg,
	    "invalid JSON at line 1, column 6: unexpected end of the text");
	assert_int_equal(ghash_number("-1e999", GHASH_MASTER, num, &err), -1);
	assert_int_equal(ghash_number("12x", GHASH_MASTER, num, &err), -1);
	assert_string_equal(err.msg, "\"12x\" is not a JSON number");
}

static void
test_eras(void **state)
{
	(void)state;
	assert_string_equal(ghash_tag(GHASH_V01), "infrakit.config_sha");
	assert_string_equal(ghash_tag(GHASH_V01_GO16), "infrakit.config_sha");
	assert_string_equal(ghash_tag(GHASH_V05), "infrakit.config_sha");
	assert_string_equal(ghash_tag(GHASH_MASTER), "infrakit.config.hash");
	for (int e = GHASH_V01; e <= GHASH_MASTER; e++)
		assert_int_equal(ghash_era_parse(ghash_era_name(e)), e);
	assert_string_equal(ghash_era_name(GHASH_V05), "v0.5");
	assert_int_equal(ghash_era_parse("v0.6"), -1);
	assert_int_equal(GHASH_ERA_DEFAULT, GHASH_MASTER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vector_digests),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_vectors_strict),
		cmocka_unit_test(test_v1_rendering),
		cmocka_unit_test(test_null_properties),
		cmocka_unit_test(test_strings_and_keys),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_numbers_go16),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_eras),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
