/* Unit tests: vanilla.c — Prepare builds exactly the instance.Spec that the
 * real group + vanilla sent (spec infrakit-protocol.md §5.3), and the
 * flavor's Properties rules. */
#include "cm_compat.h"

#include <jansson.h>

#include "util/err.h"
#include "model/specjson.h"
#include "group/ghash.h"
#include "group/gjson.h"
#include "group/gspec.h"
#include "group/vanilla.h"

static void
parse_ok(const char *text, struct group_spec *g)
{
	struct err err;

	memset(g, 0, sizeof(*g));
	if (gspec_parse(text, strlen(text), 0, g, &err) != 0)
		fail_msg("%s: %s", text, err.msg);
}

/* Prepare for a member of g in the given era. */
static void
prepare(const struct group_spec *g, enum ghash_era era, const char *lid,
    struct inst_spec *out)
{
	char h[GHASH_TEXT_MAX + 1];
	struct vanilla_member m;
	struct err err;

	assert_int_equal(gspec_hash(g, era, h, &err), 0);
	m = (struct vanilla_member){ g->g_id, ghash_tag(era), h, lid,
		g->g_instance.gp_props };
	memset(out, 0, sizeof(*out));
	if (vanilla_prepare(&g->g_vanilla, &m, out, &err) != 0)
		fail_msg("prepare: %s", err.msg);
}

/* The Spec as JSON equals want (a JSON text). */
static void
spec_is(const struct inst_spec *s, const char *want)
{
	json_t *got = specjson_spec_new(s), *w = json_loads(want, 0, NULL);
	char *dump = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(w);
	if (!json_equal(got, w))
		fail_msg("got %s\nwant %s", dump, want);
	free(dump);
	json_decref(got);
	json_decref(w);
}

/* Vector V4, committed to v0.1.0: its real Provision body. */
static void
test_real_v010_cattle(void **state)
{
	struct group_spec g;
	struct inst_spec s;

	(void)state;
	parse_ok(
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":3},"
	    "\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\":{"
	    "\"Note\":\"Instance properties are opaque to the group "
	    "plugin\",\"VMX\":\"alpine\",\"NumCPUs\":1}},\"Flavor\":{"
	    "\"Plugin\":\"vanilla\",\"Properties\":{\"Init\":[\"sh -c "
	    "\\\"echo 'Hello, World!' > /hello\\\"\"],\"Tags\":{\"tier\":"
	    "\"web\",\"project\":\"infrakit\"}}}}}",
	    &g);
	prepare(&g, GHASH_V01, NULL, &s);
	spec_is(&s,
	    "{\"Properties\":{\"Note\":\"Instance properties are opaque to the "
	    "group plugin\",\"VMX\":\"alpine\",\"NumCPUs\":1},\"Tags\":{"
	    "\"infrakit.config_sha\":\"ujv8_D5MIXv4pcLIL7qH1eHDC-s=\","
	    "\"infrakit.group\":\"cattle\",\"project\":\"infrakit\",\"tier\":"
	    "\"web\"},\"Init\":\"sh -c \\\"echo 'Hello, World!' \\u003e "
	    "/hello\\\"\",\"LogicalID\":null,\"Attachments\":null}");
	/* Typed for Provision. */
	assert_string_equal(s.s_props.p_vmx, "alpine");
	assert_int_equal(s.s_props.p_numcpus, 1);
	assert_int_equal(s.s_props.p_memsize_mb, 512);
	assert_string_equal(s.s_properties_json,
	    "{\"Note\":\"Instance properties are opaque to the group plugin\","
	    "\"VMX\":\"alpine\",\"NumCPUs\":1}");
	assert_null(s.s_logical_id);
	inst_spec_free(&s);
	/* The same group as master tags it (traffic of §5.5). */
	prepare(&g, GHASH_MASTER, NULL, &s);
	assert_int_equal(s.s_tags.tg_n, 4);
	assert_string_equal(tags_get(&s.s_tags, "infrakit.config.hash"),
	    "xi57z7b6jqqxx6ffylec7ouh2xq4gc7l");
	assert_null(tags_get(&s.s_tags, "infrakit.config_sha"));
	inst_spec_free(&s);
	gspec_free(&g);
}

/* Vector V5 under master: the real pets Provision of §5.3. */
static void
test_real_master_pets(void **state)
{
	struct group_spec g;
	struct inst_spec s;

	(void)state;
	parse_ok(
	    "{\"ID\":\"pets\",\"Properties\":{\"Allocation\":{\"LogicalIDs\":"
	    "[\"192.168.0.11\",\"192.168.0.12\"]},\"Instance\":{\"Plugin\":"
	    "\"instance-file\",\"Properties\":{\"VMX\":\"alpine\"}},"
	    "\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":{\"Init\":"
	    "[\"echo pet\"],\"Tags\":{\"tier\":\"db\"},\"Attachments\":[{"
	    "\"ID\":\"disk-1\",\"Type\":\"vmdk\"}]}}}}",
	    &g);
	prepare(&g, GHASH_MASTER, g.g_lids[1], &s);
	spec_is(&s,
	    "{\"Properties\":{\"VMX\":\"alpine\"},\"Tags\":{"
	    "\"infrakit.config.hash\":\"unt474ylaw7343venpgrkeizhlnbx7kf\","
	    "\"infrakit.group\":\"pets\",\"infrakit.logical_id\":"
	    "\"192.168.0.12\",\"tier\":\"db\"},\"Init\":\"echo pet\","
	    "\"LogicalID\":\"192.168.0.12\",\"Attachments\":[{\"ID\":"
	    "\"disk-1\",\"Type\":\"vmdk\"}]}");
	inst_spec_free(&s);
	gspec_free(&g);
}

/* §4.2: lines joined with one "\n", none trailing; [] and absent give "". */
static void
test_init_join(void **state)
{
	static const struct {
		const char *flavor;
		const char *init;
	} t[] = {
		{ "{\"Init\":[\"echo a\",\"echo b\"]}", "echo a\necho b" },
		{ "{\"Init\":[\"one\"]}", "one" },
		{ "{\"Init\":[\"\",\"x\",\"\"]}", "\nx\n" },
		{ "{\"Init\":[]}", "" },
		{ "{\"Init\":null}", "" },
		{ "{}", "" },
		{ "null", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char spec[512];
		struct group_spec g;
		struct inst_spec s;

		(void)snprintf(spec, sizeof(spec),
		    "{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":1},"
		    "\"Instance\":{\"Plugin\":\"p\",\"Properties\":{\"VMX\":"
		    "\"a\"}},\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		    "%s}}}",
		    t[i].flavor);
		parse_ok(spec, &g);
		prepare(&g, GHASH_MASTER, NULL, &s);
		assert_string_equal(s.s_init, t[i].init);
		assert_int_equal(s.s_n_att, 0);
		/* Only the group's two tags. */
		assert_int_equal(s.s_tags.tg_n, 2);
		inst_spec_free(&s);
		gspec_free(&g);
	}
}

/* The flavor's Tags merge over the group's; the group's are set first and
 * cannot be replaced (Q12). */
static void
test_tags(void **state)
{
	struct vanilla_props vp;
	struct vanilla_member m = { "g", GHASH_TAG_CONFIG_HASH, "h", "lid",
		"{\"VMX\":\"a\"}" };
	struct inst_spec s;
	struct err err;

	(void)state;
	memset(&vp, 0, sizeof(vp));
	memset(&s, 0, sizeof(s));
	assert_int_equal(tags_set(&vp.vp_tags, "tier", "web"), 0);
	assert_int_equal(tags_set(&vp.vp_tags, "a", "1"), 0);
	assert_int_equal(vanilla_prepare(&vp, &m, &s, &err), 0);
	assert_int_equal(s.s_tags.tg_n, 5);
	assert_string_equal(tags_get(&s.s_tags, "infrakit.group"), "g");
	assert_string_equal(tags_get(&s.s_tags, "infrakit.logical_id"), "lid");
	assert_string_equal(tags_get(&s.s_tags, "infrakit.config.hash"), "h");
	assert_string_equal(tags_get(&s.s_tags, "tier"), "web");
	assert_string_equal(s.s_logical_id, "lid");
	inst_spec_free(&s);
	/* Set behind the parser's back: still refused. */
	assert_int_equal(tags_set(&vp.vp_tags, "infrakit.config_sha", "x"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(vanilla_prepare(&vp, &m, &s, &err), -1);
	assert_string_equal(err.msg,
	    "the flavor tag \"infrakit.config_sha\" is set by the group; "
	    "remove it from Spec.Properties.Flavor.Properties.Tags");
	inst_spec_free(&s);
	vanilla_props_free(&vp);
}

/* The Instance Properties go through the instance plugin's own rules. */
static void
test_instance_properties(void **state)
{
	struct vanilla_props vp;
	struct vanilla_member m = { "g", GHASH_TAG_CONFIG_HASH, "h", NULL,
		NULL };
	struct inst_spec s;
	struct err err;

	(void)state;
	memset(&vp, 0, sizeof(vp));
	memset(&s, 0, sizeof(s));
	/* Q3: absent Properties are null, which our plugin refuses. */
	assert_int_equal(vanilla_prepare(&vp, &m, &s, &err), -1);
	assert_string_equal(err.msg,
	    "Spec.Properties.Instance.Properties is missing: give the instance "
	    "Properties, at least {\"VMX\": \"<template name>\"}");
	inst_spec_free(&s);
	m.vm_props = "{\"VMX\":\"a\",\"NumCPU\":2}";
	assert_int_equal(vanilla_prepare(&vp, &m, &s, &err), -1);
	assert_string_equal(err.msg,
	    "Spec.Properties.Instance.Properties has an unknown property "
	    "\"NumCPU\"; did you mean \"NumCPUs\"?");
	inst_spec_free(&s);
	m.vm_props = "{\"VMX\":\"a\",\"VMX\":\"b\"}";
	assert_int_equal(vanilla_prepare(&vp, &m, &s, &err), -1);
	assert_string_equal(err.msg,
	    "Spec.Properties.Instance.Properties: duplicate object key near "
	    "'\"VMX\"'");
	inst_spec_free(&s);
	m.vm_props =
	    "{\"VMX\":\"a\",\"MemorySizeMBs\":1024,\"Clone\":\"full\"}";
	assert_int_equal(vanilla_prepare(&vp, &m, &s, &err), 0);
	assert_int_equal(s.s_props.p_memsize_mb, 1024);
	assert_int_equal(s.s_props.p_clone, CLONE_FULL);
	inst_spec_free(&s);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(vanilla_is_name("vanilla"));
	assert_true(vanilla_is_name("flavor-vanilla"));
	assert_false(vanilla_is_name("Vanilla"));
	assert_false(vanilla_is_name("flavor-swarm"));
	assert_true(vanilla_reserved_tag("infrakit.group"));
	assert_true(vanilla_reserved_tag("infrakit.logical_id"));
	assert_true(vanilla_reserved_tag("infrakit.config_sha"));
	assert_true(vanilla_reserved_tag("infrakit.config.hash"));
	assert_false(vanilla_reserved_tag("infrakit.other"));
}

static int
parse_props(
    const char *text, bool compat, struct vanilla_props *vp, struct err *err)
{
	struct gjson_doc doc;
	int rc;

	memset(&doc, 0, sizeof(doc));
	memset(vp, 0, sizeof(*vp));
	assert_int_equal(gjson_parse(text, strlen(text), 0, &doc, err), 0);
	rc = vanilla_parse(&doc.d_root, "F", compat, vp, err);
	gjson_doc_free(&doc);
	return rc;
}

/* {"Init":["x...x","y"]} with n x's. */
static char *
init_text(size_t n)
{
	char *t = malloc(n + 32);

	assert_non_null(t);
	memcpy(t, "{\"Init\":[\"", 10);
	memset(t + 10, 'x', n);
	memcpy(t + 10 + n, "\",\"y\"]}", 8);
	return t;
}

static void
test_parse_rules(void **state)
{
	struct vanilla_props vp;
	struct err err;
	char *big;

	(void)state;
	assert_int_equal(
	    parse_props("{\"Init\":[\"a\\u0000b\"]}", false, &vp, &err), -1);
	assert_string_equal(err.msg,
	    "F.Init[0] contains a NUL byte (\\u0000), which is not allowed");
	vanilla_props_free(&vp);
	assert_int_equal(parse_props("{\"Bogus\":1}", false, &vp, &err), -1);
	assert_string_equal(err.msg,
	    "F has an unknown key \"Bogus\"; the vanilla flavor knows Init, "
	    "Tags and Attachments");
	vanilla_props_free(&vp);
	assert_int_equal(parse_props("{\"Bogus\":1}", true, &vp, &err), 0);
	vanilla_props_free(&vp);
	assert_int_equal(
	    parse_props("{\"Tags\":{\"\":\"x\"}}", false, &vp, &err), -1);
	assert_string_equal(err.msg,
	    "F.Tags has a key that is empty, longer than 256 bytes or contains "
	    "a NUL byte");
	vanilla_props_free(&vp);
	assert_int_equal(parse_props("{\"InitScriptTemplateURL\":\"\","
				     "\"Attachments\":[{\"ID\":\"x\"}]}",
			     false, &vp, &err),
	    0);
	assert_string_equal(vp.vp_att[0].a_type, "");
	vanilla_props_free(&vp);
	/* Init is capped like a Spec's Init: x..x "\n" y is the limit
	 * exactly, one x more is over. */
	big = init_text(INIT_MAX_SIZE - 2);
	assert_int_equal(parse_props(big, false, &vp, &err), 0);
	vanilla_props_free(&vp);
	free(big);
	big = init_text(INIT_MAX_SIZE - 1);
	assert_int_equal(parse_props(big, false, &vp, &err), -1);
	assert_string_equal(err.msg,
	    "F.Init joins to more than 524288 bytes; ship large files in the "
	    "image or fetch them from the script");
	vanilla_props_free(&vp);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_v010_cattle),
		cmocka_unit_test(test_real_master_pets),
		cmocka_unit_test(test_init_join),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_instance_properties),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
