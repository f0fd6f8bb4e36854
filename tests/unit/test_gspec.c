/* Unit tests: gspec.c, gspecjson.c — group specs decoded and validated as
 * InfraKit does (with our fixes), every refusal's exact message, and the
 * canonical JSON round trip. */
#include "cm_compat.h"

#include "util/err.h"
#include "group/gspec.h"
#include "group/gspecjson.h"

#define INST                                                                   \
	"\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{\"VMX\":\"a\"}}"
#define FLAV "\"Flavor\":{\"Plugin\":\"vanilla\"}"
#define CATTLE(extra)                                                          \
	"{\"ID\":\"g\",\"Properties\":{\"Allocation\":{\"Size\":2}," INST      \
	"," FLAV extra "}}"
#define WITH(alloc, rest)                                                      \
	"{\"ID\":\"g\",\"Properties\":{\"Allocation\":" alloc "," rest "}}"

static const struct bad {
	const char *spec;
	unsigned flags;
	const char *msg;
} bad[] = {
	/* Shape of the envelope. */
	{ "[1]", 0,
	    "Spec must be an object {\"ID\": ..., \"Properties\": "
	    "...}, got an array" },
	{ "{\"ID\":", 0,
	    "the group spec is not valid: invalid JSON at line 1, column 7: "
	    "unexpected end of the text" },
	{ "{\"ID\":5}", 0,
	    "Spec.ID must be a string such as \"workers\", got 5 (a "
	    "number)" },
	{ "{\"Propertes\":{}}", 0,
	    "Spec has an unknown key \"Propertes\"; did you mean "
	    "\"Properties\"?" },
	/* §1.3 step 1, before anything in Properties is looked at. */
	{ "{\"Properties\":{\"Allocation\":{\"Size\":1}}}", 0,
	    "Group ID must not be blank: name the group in \"ID\", e.g. "
	    "\"workers\"" },
	{ "{\"ID\":\"\",\"Properties\":[1]}", 0,
	    "Group ID must not be blank: name the group in \"ID\", e.g. "
	    "\"workers\"" },
	{ "{\"ID\":\"a\\tb\",\"Properties\":{}}", 0,
	    "Spec.ID contains a control character; it becomes the value of the "
	    "infrakit.group tag on every member: use a plain name such as "
	    "\"workers\"" },
	{ "{\"ID\":\"g\",\"Properties\":[1]}", 0,
	    "Spec.Properties must be an object {\"Allocation\": ..., "
	    "\"Instance\": ..., \"Flavor\": ...}, got an array" },
	{ "{\"ID\":\"g\",\"Properties\":{\"Extra\":1}}", 0,
	    "Spec.Properties has an unknown key \"Extra\"; the known keys are "
	    "Allocation, Instance, Flavor, Updating and Recovery" },
	/* Allocation. */
	{ WITH("{\"Size\":\"3\"}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.Size must be an integer >= 0, "
	    "got \"3\" (a string)" },
	{ WITH("{\"Size\":-1}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.Size must be an integer >= 0, "
	    "got -1 (a number)" },
	{ WITH("{\"Size\":3.0}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.Size must be an integer >= 0, "
	    "got 3.0 (a number)" },
	{ WITH("{\"Size\":1e1}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.Size must be an integer >= 0, "
	    "got 1e1 (a number)" },
	{ WITH("{\"Size\":5000}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.Size is 5000; the limit is 1024" },
	{ WITH("{\"Size\":99999999999999999999999}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.Size is 99999999999999999999999; the "
	    "limit is 1024" },
	{ WITH("[3]", INST "," FLAV), 0,
	    "Spec.Properties.Allocation must be an object such as "
	    "{\"Size\": 3} or {\"LogicalIDs\": [\"a\", \"b\"]}, got an "
	    "array" },
	{ WITH("{\"Sise\":3}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation has an unknown key \"Sise\"; did you "
	    "mean \"Size\"?" },
	{ WITH("{\"Size\":3,\"size\":4}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation has both \"Size\" and \"size\" (keys "
	    "match ignoring case): keep one" },
	{ WITH("{\"Size\":3,\"Size\":4}", INST "," FLAV), 0,
	    "the group spec is not valid: invalid JSON at line 1, column 48: "
	    "the key \"Size\" appears twice in one object; keep one" },
	/* Q4: Size 0 is no group. */
	{ WITH("{\"Size\":0}", INST "," FLAV), 0,
	    "Allocation must not be blank: set Spec.Properties.Allocation.Size "
	    "to the number of members (at least 1) or list "
	    "Spec.Properties.Allocation.LogicalIDs" },
	{ WITH("{\"LogicalIDs\":[]}", INST "," FLAV), GSPEC_COMPAT,
	    "Allocation must not be blank: set Spec.Properties.Allocation.Size "
	    "to the number of members (at least 1) or list "
	    "Spec.Properties.Allocation.LogicalIDs" },
	{ "{\"ID\":\"g\"}", 0,
	    "Allocation must not be blank: set Spec.Properties.Allocation.Size "
	    "to the number of members (at least 1) or list "
	    "Spec.Properties.Allocation.LogicalIDs" },
	{ WITH("{\"Size\":2,\"LogicalIDs\":[\"a\"]}", INST "," FLAV), 0,
	    "Only one Allocation method may be used: set "
	    "Spec.Properties.Allocation.Size (cattle) or "
	    "Spec.Properties.Allocation.LogicalIDs (pets), not both" },
	{ WITH("{\"LogicalIDs\":\"a\"}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.LogicalIDs must be an array of "
	    "strings (one per member) or null, got \"a\" (a string)" },
	{ WITH("{\"LogicalIDs\":[\"a\",7]}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.LogicalIDs[1] must be a string "
	    "such as \"db-1\", got 7 (a number)" },
	{ WITH("{\"LogicalIDs\":[null]}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.LogicalIDs[0] must be a string such as "
	    "\"db-1\", got null" },
	{ WITH("{\"LogicalIDs\":[\"a\",\"\"]}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.LogicalIDs[1] must be a non-empty name "
	    "of at most 253 bytes without control characters, such as \"db-1\" "
	    "or \"192.168.0.11\"" },
	{ WITH("{\"LogicalIDs\":[\"a\",\"b\",\"a\"]}", INST "," FLAV), 0,
	    "Spec.Properties.Allocation.LogicalIDs[2] \"a\" is also [0]; each "
	    "LogicalID names one member: list it once" },
	/* Instance and Flavor sections. */
	{ WITH("{\"Size\":1}", "\"Instance\":\"vmware\"," FLAV), 0,
	    "Spec.Properties.Instance must be an object {\"Plugin\": "
	    "..., \"Properties\": ...}, got \"vmware\" (a string)" },
	{ WITH("{\"Size\":1}", "\"Instance\":{\"Plugin\":null}," FLAV), 0,
	    "Spec.Properties.Instance.Plugin must be a string such as "
	    "\"vmware-fusion\", got null" },
	{ WITH("{\"Size\":1}", "\"Instance\":{\"Plugin\":7}," FLAV), 0,
	    "Spec.Properties.Instance.Plugin must be a string such as "
	    "\"vmware-fusion\", got 7 (a number)" },
	{ WITH("{\"Size\":1}", INST ",\"Flavor\":{\"Plugin\":\"swarm\"}"), 0,
	    "Failed to find Flavor plugin 'swarm': only the vanilla flavor is "
	    "built in; set Spec.Properties.Flavor.Plugin to \"vanilla\" or "
	    "\"flavor-vanilla\"" },
	{ WITH("{\"Size\":1}", INST), 0,
	    "Failed to find Flavor plugin '': only the vanilla flavor is built "
	    "in; set Spec.Properties.Flavor.Plugin to \"vanilla\" or "
	    "\"flavor-vanilla\"" },
	{ WITH("{\"Size\":1}", INST ",\"Flavor\":{\"Plugin\":\"vanilla/x\"}"),
	    0,
	    "Spec.Properties.Flavor.Plugin \"vanilla/x\" names the type \"x\", "
	    "but the vanilla flavor has no types: write \"vanilla\"" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanill\\u0061\"}"),
	    0,
	    "Spec.Properties.Flavor.Plugin must be written without escape "
	    "sequences (InfraKit looks the name up exactly as written)" },
	{ WITH("{\"Size\":1}", "\"Instance\":{\"Properties\":{}}," FLAV), 0,
	    "Failed to find Instance plugin '': name the instance plugin in "
	    "Spec.Properties.Instance.Plugin, e.g. \"vmware-fusion\" or "
	    "\"vmware-fusion/qemu\"" },
	{ WITH("{\"Size\":1}", "\"Instance\":{\"Plugin\":\"/qemu\"}," FLAV), 0,
	    "Failed to find Instance plugin '/qemu': name the instance plugin "
	    "in Spec.Properties.Instance.Plugin, e.g. \"vmware-fusion\" or "
	    "\"vmware-fusion/qemu\"" },
	{ WITH("{\"Size\":1}", "\"Instance\":{\"Plugin\":\"a\\u0001\"}," FLAV),
	    0,
	    "Spec.Properties.Instance.Plugin must be written without escape "
	    "sequences (InfraKit looks the name up exactly as written)" },
	{ WITH("{\"Size\":1}",
	      "\"Instance\":{\"Plugin\":\"p\",\"Propertys\":{}}," FLAV),
	    0,
	    "Spec.Properties.Instance has an unknown key \"Propertys\"; did "
	    "you mean \"Properties\"?" },
	/* Updating: InfraKit master's, then ours. */
	{ CATTLE(",\"Updating\":{\"Count\":2,\"Duration\":\"1m\"}"), 0,
	    "Only one Updating method may be used: set "
	    "Spec.Properties.Updating.Count or "
	    "Spec.Properties.Updating.Duration, not both" },
	{ CATTLE(",\"Updating\":{\"Count\":-1}"), 0,
	    "Spec.Properties.Updating.Count must be an integer >= 0, "
	    "got -1 (a number)" },
	{ CATTLE(",\"Updating\":{\"Duration\":5}"), 0,
	    "Spec.Properties.Updating.Duration must be a Go duration "
	    "string such as \"30s\" or \"1m30s\", got 5 (a number)" },
	{ CATTLE(",\"Updating\":{\"Duration\":\"5\"}"), 0,
	    "Spec.Properties.Updating.Duration \"5\" has no unit; write a Go "
	    "duration such as \"30s\", \"1m30s\" or \"2h\" (units ns, us, ms, "
	    "s, m, h; at most 24h)" },
	{ CATTLE(",\"Updating\":{\"Duration\":\"-5s\"}"), 0,
	    "Spec.Properties.Updating.Duration \"-5s\" is negative" },
	{ CATTLE(",\"Updating\":{\"Duration\":\"48h\"}"), 0,
	    "Spec.Properties.Updating.Duration \"48h\" is too long; write a Go "
	    "duration such as \"30s\", \"1m30s\" or \"2h\" (units ns, us, ms, "
	    "s, m, h; at most 24h)" },
	/* Q22: InfraKit takes any string and then cannot inspect. */
	{ CATTLE(",\"Updating\":{\"SkipBeforeInstanceDestroy\":\"yes\"}"), 0,
	    "Spec.Properties.Updating.SkipBeforeInstanceDestroy is \"yes\"; it "
	    "must be \"drain\" (skip the drain before a rolling update "
	    "destroys a member) or null" },
	{ CATTLE(",\"Updating\":{\"MaxUnavailable\":0}"), 0,
	    "Spec.Properties.Updating.MaxUnavailable and MaxSurge are both 0, "
	    "so a rolling update could never replace a member: set "
	    "MaxUnavailable to 1 or more, or MaxSurge to 1 or more" },
	{ CATTLE(",\"Updating\":{\"MaxSurge\":\"1\"}"), 0,
	    "Spec.Properties.Updating.MaxSurge must be an integer >= "
	    "0, got \"1\" (a string)" },
	{ CATTLE(",\"Updating\":{\"MaxUnavailabel\":2}"), 0,
	    "Spec.Properties.Updating has an unknown key \"MaxUnavailabel\"; "
	    "did you mean \"MaxUnavailable\"?" },
	{ WITH("{\"LogicalIDs\":[\"a\"]}",
	      INST "," FLAV ",\"Updating\":{\"MaxSurge\":1}"),
	    0,
	    "Spec.Properties.Updating.MaxSurge is 1, but a pets group cannot "
	    "surge (each LogicalID has exactly one member): remove it" },
	{ WITH("{\"LogicalIDs\":[\"a\"]}",
	      INST "," FLAV ",\"Updating\":{\"MaxUnavailable\":0}"),
	    0,
	    "Spec.Properties.Updating.MaxUnavailable and MaxSurge are both 0, "
	    "so a rolling update could never replace a member: set "
	    "MaxUnavailable to 1 or more" },
	/* Recovery. */
	{ CATTLE(",\"Recovery\":{\"RestartPolicy\":\"never\"}"), 0,
	    "Spec.Properties.Recovery.RestartPolicy is \"never\"; use "
	    "\"replace\" (leave a stopped member and create another) or "
	    "\"restart\" (start it again)" },
	{ CATTLE(",\"Recovery\":{\"Backoff\":\"1h\"}"), 0,
	    "Spec.Properties.Recovery.Backoff (1h0m0s) is longer than "
	    "Spec.Properties.Recovery.BackoffMax (5m0s)" },
	{ CATTLE(",\"Recovery\":{\"MaxFailure\":1}"), 0,
	    "Spec.Properties.Recovery has an unknown key \"MaxFailure\"; did "
	    "you mean \"MaxFailures\"?" },
	{ CATTLE(",\"Recovery\":true"), 0,
	    "Spec.Properties.Recovery must be an object such as "
	    "{\"RestartPolicy\": \"restart\"}, got true (a boolean)" },
	/* The vanilla flavor's Properties (§4.1 and our fixes). */
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":[]}"),
	    0,
	    "Spec.Properties.Flavor.Properties must be an object "
	    "{\"Init\": [...], \"Tags\": {...}, \"Attachments\": "
	    "[...]}, got an array" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Init\":\"echo hi\"}}"),
	    0,
	    "Spec.Properties.Flavor.Properties.Init must be an array "
	    "of strings, one per line of the init script, got \"echo "
	    "hi\" (a string)" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Init\":[\"a\",1]}}"),
	    0,
	    "Spec.Properties.Flavor.Properties.Init[1] must be a "
	    "string, got 1 (a number)" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Inti\":[]}}"),
	    0,
	    "Spec.Properties.Flavor.Properties has an unknown key \"Inti\"; "
	    "did you mean \"Init\"?" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Tags\":{\"tier\":1}}}"),
	    0,
	    "Spec.Properties.Flavor.Properties.Tags[\"tier\"] must be "
	    "a string, got 1 (a number)" },
	/* Q12: a flavor tag must not take the group's tags over. */
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Tags\":{\"infrakit.group\":\"hijack\"}}}"),
	    GSPEC_COMPAT,
	    "Spec.Properties.Flavor.Properties.Tags[\"infrakit.group\"] is set "
	    "by the group on every member; a flavor tag would replace it and "
	    "hide members from their group: remove it" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"InitScriptTemplateURL\":\"http://x/t\"}}"),
	    GSPEC_COMPAT,
	    "Spec.Properties.Flavor.Properties.InitScriptTemplateURL is not "
	    "supported by the built-in vanilla flavor (it would fetch and "
	    "render a template): put the script's lines in Init" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Attachments\":[{\"ID\":\"d\",\"Typ\":\"vmdk\"}]}}"),
	    0,
	    "Spec.Properties.Flavor.Properties.Attachments[0] has an unknown "
	    "key \"Typ\"; did you mean \"Type\"?" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Attachments\":{\"ID\":\"d\"}}}"),
	    0,
	    "Spec.Properties.Flavor.Properties.Attachments must be an "
	    "array of {\"ID\": ..., \"Type\": ...}, got an object" },
	{ WITH("{\"Size\":1}",
	      INST ",\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":"
		   "{\"Attachments\":[{\"ID\":5}]}}"),
	    0,
	    "Spec.Properties.Flavor.Properties.Attachments[0].ID must "
	    "be a string, got 5 (a number)" },
};

static void
test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct group_spec g;
		struct err err;
		int rc;

		memset(&g, 0, sizeof(g));
		err.msg[0] = '\0';
		rc = gspec_parse(
		    bad[i].spec, strlen(bad[i].spec), bad[i].flags, &g, &err);
		gspec_free(&g);
		if (rc != -1)
			fail_msg("accepted: %s", bad[i].spec);
		if (strcmp(err.msg, bad[i].msg) != 0)
			fail_msg("%s\n got: %s\nwant: %s", bad[i].spec, err.msg,
			    bad[i].msg);
		assert_int_not_equal(err.code, EIK_OK);
	}
}

static void
parse_ok(const char *text, unsigned flags, struct group_spec *g)
{
	struct err err;

	memset(g, 0, sizeof(*g));
	if (gspec_parse(text, strlen(text), flags, g, &err) != 0)
		fail_msg("%s: %s", text, err.msg);
}

/* Spec §8 V1 (the protocol's sample config), strict. */
static const char v1[] =
    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":3},"
    "\"Instance\":{\"Plugin\":\"instance-vmware\",\"Properties\":{\"VMX\": "
    "\"alpine-3.4.4\",\"MemorySizeMBs\":512,\"NumCPUs\":1}},\"Flavor\":{"
    "\"Plugin\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"echo "
    "hello\"],\"Tags\":{\"tier\":\"web\"}}}}}";

static void
test_cattle(void **state)
{
	struct group_spec g;
	char h[GHASH_TEXT_MAX + 1];
	struct err err;

	(void)state;
	parse_ok(v1, 0, &g);
	assert_string_equal(g.g_id, "cattle");
	assert_int_equal(g.g_size, 3);
	assert_int_equal(g.g_n_lids, 0);
	assert_false(gspec_is_pets(&g));
	assert_int_equal(gspec_target(&g), 3);
	assert_string_equal(g.g_instance.gp_name, "instance-vmware");
	assert_string_equal(g.g_instance.gp_lookup, "instance-vmware");
	assert_string_equal(g.g_instance.gp_type, "");
	/* As committed, compacted: order and spelling kept. */
	assert_string_equal(g.g_instance.gp_props,
	    "{\"VMX\":\"alpine-3.4.4\",\"MemorySizeMBs\":512,\"NumCPUs\":1}");
	assert_string_equal(g.g_flavor.gp_lookup, "flavor-vanilla");
	assert_int_equal(g.g_vanilla.vp_n_init, 1);
	assert_string_equal(g.g_vanilla.vp_init[0], "echo hello");
	assert_string_equal(tags_get(&g.g_vanilla.vp_tags, "tier"), "web");
	/* Defaults: InfraKit's behaviour, plus our failure limit. */
	assert_int_equal(g.g_count, 0);
	assert_int_equal(g.g_duration_ns, 0);
	assert_false(g.g_skip_drain);
	assert_int_equal(g.g_max_unavailable, 1);
	assert_int_equal(g.g_max_surge, 0);
	assert_int_equal(g.g_restart, GSPEC_RESTART_REPLACE);
	assert_int_equal(g.g_max_failures, 3);
	assert_true(g.g_backoff_ns == INT64_C(10000000000));
	assert_true(g.g_backoff_max_ns == INT64_C(300000000000));
	assert_int_equal(gspec_hash(&g, GHASH_MASTER, h, &err), 0);
	assert_string_equal(h, "aszpg6rn65qd77waeizd6xqqogf7t6n2");
	gspec_free(&g);
}

/* Keys match ignoring case (V13), also for our extensions. */
static void
test_case_insensitive(void **state)
{
	struct group_spec g;

	(void)state;
	parse_ok(
	    "{\"id\":\"c\",\"properties\":{\"allocation\":{\"size\":3},"
	    "\"instance\":{\"plugin\":\"vmware-fusion/qemu\",\"PROPERTIES\""
	    ":{\"VMX\":\"a\"}},\"flavor\":{\"PLUGIN\":\"vanilla\"},"
	    "\"updating\":{\"maxsurge\":2,\"MAXUNAVAILABLE\":0,\"count\":"
	    "3},\"recovery\":{\"restartpolicy\":\"restart\","
	    "\"maxfailures\":0,\"backoff\":\"1s\",\"backoffmax\":\"2m\"}}}",
	    0, &g);
	assert_string_equal(g.g_id, "c");
	assert_int_equal(g.g_size, 3);
	assert_string_equal(g.g_instance.gp_lookup, "vmware-fusion");
	assert_string_equal(g.g_instance.gp_type, "qemu");
	assert_string_equal(g.g_instance.gp_props, "{\"VMX\":\"a\"}");
	assert_null(g.g_flavor.gp_props);
	assert_int_equal(g.g_max_surge, 2);
	assert_int_equal(g.g_max_unavailable, 0);
	assert_int_equal(g.g_count, 3);
	assert_int_equal(g.g_restart, GSPEC_RESTART_RESTART);
	assert_int_equal(g.g_max_failures, 0);
	assert_true(g.g_backoff_ns == INT64_C(1000000000));
	assert_true(g.g_backoff_max_ns == INT64_C(120000000000));
	gspec_free(&g);
}

static void
test_pets(void **state)
{
	struct group_spec g;

	(void)state;
	parse_ok(
	    "{\"ID\":\"pets\",\"Properties\":{\"Allocation\":{"
	    "\"LogicalIDs\":[\"192.168.0.11\",\"192.168.0.12\"],\"Size\":0},"
	    "\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{"
	    "\"VMX\":\"alpine\"},\"Options\":{\"x\":1}},\"Flavor\":{"
	    "\"Plugin\":\"vanilla\",\"Options\":{},\"Properties\":{\"Init\":"
	    "[\"echo pet\"],\"Tags\":{\"tier\":\"db\"},\"Attachments\":[{"
	    "\"ID\":\"disk-1\",\"Type\":\"vmdk\"}]}},\"Updating\":{"
	    "\"Duration\":\"1m30s\",\"SkipBeforeInstanceDestroy\":"
	    "\"drain\"}}}",
	    0, &g);
	assert_true(gspec_is_pets(&g));
	assert_int_equal(gspec_target(&g), 2);
	assert_int_equal(g.g_size, 0);
	assert_string_equal(g.g_lids[0], "192.168.0.11");
	assert_string_equal(g.g_lids[1], "192.168.0.12");
	assert_int_equal(g.g_vanilla.vp_n_att, 1);
	assert_string_equal(g.g_vanilla.vp_att[0].a_id, "disk-1");
	assert_string_equal(g.g_vanilla.vp_att[0].a_type, "vmdk");
	assert_true(g.g_duration_ns == INT64_C(90000000000));
	assert_true(g.g_skip_drain);
	gspec_free(&g);
}

/* Compat takes what InfraKit's decoder takes. */
static void
test_compat(void **state)
{
	struct group_spec g;
	char h[GHASH_TEXT_MAX + 1];
	struct err err;

	(void)state;
	/* V10: unknown keys ignored and lost; hash = V1's. */
	parse_ok(
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":3},"
	    "\"Extra\":1,\"Instance\":{\"Plugin\":\"instance-vmware\","
	    "\"Options\":{\"x\":1},\"Properties\":{\"VMX\":\"alpine-3.4.4\","
	    "\"MemorySizeMBs\":512,\"NumCPUs\":1}},\"Flavor\":{\"Plugin\":"
	    "\"flavor-vanilla\",\"Options\":{\"y\":2},\"Properties\":{"
	    "\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}}",
	    GSPEC_COMPAT, &g);
	assert_int_equal(gspec_hash(&g, GHASH_MASTER, h, &err), 0);
	assert_string_equal(h, "aszpg6rn65qd77waeizd6xqqogf7t6n2");
	gspec_free(&g);
	/* An unknown vanilla property is ignored by the flavor but, being
	 * inside the opaque Properties, changes the hash. */
	parse_ok(
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":3},"
	    "\"Instance\":{\"Plugin\":\"instance-vmware\",\"Properties\":{"
	    "\"VMX\":\"alpine-3.4.4\",\"MemorySizeMBs\":512,\"NumCPUs\":1}},"
	    "\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\":{"
	    "\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"},"
	    "\"Color\":\"red\"}}}}",
	    GSPEC_COMPAT, &g);
	assert_int_equal(g.g_vanilla.vp_n_init, 1);
	assert_int_equal(gspec_hash(&g, GHASH_MASTER, h, &err), 0);
	assert_string_not_equal(h, "aszpg6rn65qd77waeizd6xqqogf7t6n2");
	gspec_free(&g);
	/* Duplicates: the last wins, spelt any way; LogicalIDs twice are
	 * kept (Q10); bad UTF-8 becomes U+FFFD. */
	parse_ok("{\"ID\":\"p\xff\",\"Properties\":{\"Allocation\":{"
		 "\"LogicalIDs\":[\"a\"],\"logicalids\":[\"b\",\"b\"]}," INST
		 "," FLAV "}}",
	    GSPEC_COMPAT, &g);
	assert_string_equal(g.g_id, "p\xef\xbf\xbd");
	assert_int_equal(g.g_n_lids, 2);
	assert_string_equal(g.g_lids[0], "b");
	assert_string_equal(g.g_lids[1], "b");
	gspec_free(&g);
}

/* Decoding alone (what the hash of any spec needs) checks no values. */
static void
test_decode_only(void **state)
{
	struct group_spec g;
	struct err err;
	const char *empty = "{\"ID\":\"\",\"Properties\":{}}";
	const char *badtype = "{\"Properties\":{\"Allocation\":{\"Size\":-1}}}";

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(gspec_decode(empty, strlen(empty), 0, &g, &err), 0);
	assert_string_equal(g.g_id, "");
	assert_string_equal(g.g_instance.gp_name, "");
	assert_null(g.g_instance.gp_props);
	gspec_free(&g);
	assert_int_equal(
	    gspec_decode(badtype, strlen(badtype), 0, &g, &err), -1);
	assert_string_equal(err.msg,
	    "Spec.Properties.Allocation.Size must be an integer >= 0, "
	    "got -1 (a number)");
	gspec_free(&g);
}

static char *
dump(const struct group_spec *g)
{
	struct err err;
	char *s = gspecjson_dump(g, &err);

	if (s == NULL)
		fail_msg("dump: %s", err.msg);
	return s;
}

static void
test_canonical_json(void **state)
{
	struct group_spec g, g2;
	char *s, *s2, h[GHASH_TEXT_MAX + 1], h2[GHASH_TEXT_MAX + 1];
	struct err err;

	(void)state;
	parse_ok(v1, 0, &g);
	s = dump(&g);
	assert_string_equal(s,
	    "{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":3,"
	    "\"LogicalIDs\":null},\"Instance\":{\"Plugin\":\"instance-vmware\","
	    "\"Properties\":{\"VMX\":\"alpine-3.4.4\",\"MemorySizeMBs\":512,"
	    "\"NumCPUs\":1}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\","
	    "\"Properties\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":"
	    "\"web\"}}},\"Updating\":{\"Count\":0,\"Duration\":\"0s\","
	    "\"SkipBeforeInstanceDestroy\":null,\"MaxUnavailable\":1,"
	    "\"MaxSurge\":0},\"Recovery\":{\"RestartPolicy\":\"replace\","
	    "\"MaxFailures\":3,\"Backoff\":\"10s\",\"BackoffMax\":\"5m0s\"}}}");
	/* Read back: the same text and the same hash. */
	parse_ok(s, 0, &g2);
	s2 = dump(&g2);
	assert_string_equal(s, s2);
	assert_int_equal(gspec_hash(&g, GHASH_V05, h, &err), 0);
	assert_int_equal(gspec_hash(&g2, GHASH_V05, h2, &err), 0);
	assert_string_equal(h, h2);
	free(s);
	free(s2);
	gspec_free(&g);
	gspec_free(&g2);
}

/* Everything set, odd characters, and Properties with spellings jansson
 * would change (1.0, 5.12e2, a big integer, escapes) kept as written. */
static void
test_canonical_json_full(void **state)
{
	const char *in =
	    "{\"ID\":\"w \\\"q\\\"\",\"Properties\":{\"Allocation\":{"
	    "\"LogicalIDs\":[\"a\\\\b\",\"c\"]},\"Instance\":{\"Plugin\":"
	    "\"vmware-fusion/qemu\",\"Properties\":{ \"N\" : 1.0 , \"M\": 5.12e2,"
	    " \"B\":12345678901234567890, \"S\":\"\\u003c x \\n\"}},"
	    "\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":null},"
	    "\"Updating\":{\"Count\":2,\"SkipBeforeInstanceDestroy\":\"drain\","
	    "\"MaxUnavailable\":2},\"Recovery\":{\"RestartPolicy\":\"restart\","
	    "\"MaxFailures\":0,\"Backoff\":\"1.5s\",\"BackoffMax\":\"1h\"}}}";
	struct group_spec g, g2;
	char *s, *s2;

	(void)state;
	parse_ok(in, 0, &g);
	s = dump(&g);
	assert_string_equal(s,
	    "{\"ID\":\"w \\\"q\\\"\",\"Properties\":{\"Allocation\":{\"Size\":0,"
	    "\"LogicalIDs\":[\"a\\\\b\",\"c\"]},\"Instance\":{\"Plugin\":"
	    "\"vmware-fusion/qemu\",\"Properties\":{\"N\":1.0,\"M\":5.12e2,"
	    "\"B\":12345678901234567890,\"S\":\"\\u003c x \\n\"}},\"Flavor\":{"
	    "\"Plugin\":\"vanilla\",\"Properties\":null},\"Updating\":{"
	    "\"Count\":2,\"Duration\":\"0s\",\"SkipBeforeInstanceDestroy\":"
	    "\"drain\",\"MaxUnavailable\":2,\"MaxSurge\":0},\"Recovery\":{"
	    "\"RestartPolicy\":\"restart\",\"MaxFailures\":0,\"Backoff\":"
	    "\"1.5s\",\"BackoffMax\":\"1h0m0s\"}}}");
	parse_ok(s, 0, &g2);
	s2 = dump(&g2);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	gspec_free(&g);
	gspec_free(&g2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cattle),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_pets),
		cmocka_unit_test(test_compat),
		cmocka_unit_test(test_decode_only),
		cmocka_unit_test(test_canonical_json),
		cmocka_unit_test(test_canonical_json_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
