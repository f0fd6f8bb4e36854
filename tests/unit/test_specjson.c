/*
 * Unit tests: specjson.c, specjson_props.c — a spec survives JSON and back
 * unchanged; every strict error message is exactly the golden one in
 * tests/data/specjson/errors.txt; lenient decoding of stored records keeps
 * what it can and never fails over content.
 */
#include "cm_compat.h"

#include <jansson.h>
#include <limits.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "model/specjson.h"

static void
test_round_trip(void **state)
{
	const char *text =
	    "{\"Properties\":{\"VMX\":\"alpine\",\"MemorySizeMBs\":1024,"
	    "\"NumCPUs\":2,\"LaunchGUI\":true,\"Tags\":{\"p\":\"1\"},"
	    "\"GuestInit\":\"guestinfo\",\"Clone\":\"linked\","
	    "\"SSHAuthorizedKeys\":[\"ssh-ed25519 AAAA me@host\"],"
	    "\"Note\":\"n\"},\"Tags\":{\"infrakit.group\":\"g\",\"t\":"
	    "\"\\u00e9\\\"q\"},\"Init\":\"echo \\u003e x\\nline2\","
	    "\"LogicalID\":\"web-1\",\"Attachments\":[{\"ID\":\"d\","
	    "\"Type\":\"vmdk\"}]}";
	struct inst_spec a, b;
	struct err err;
	json_t *v, *w;
	char *t2;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	v = json_loads(text, 0, NULL);
	assert_non_null(v);
	assert_int_equal(specjson_spec(v, "Spec", &a, &err), 0);
	w = specjson_spec_new(&a);
	assert_non_null(w);
	t2 = json_dumps(w, JSON_COMPACT);
	json_decref(w);
	w = json_loads(t2, 0, NULL);
	free(t2);
	assert_int_equal(specjson_spec(w, "Spec", &b, &err), 0);
	assert_string_equal(a.s_props.p_vmx, b.s_props.p_vmx);
	assert_int_equal(b.s_props.p_memsize_mb, 1024);
	assert_int_equal(b.s_props.p_numcpus, 2);
	assert_true(b.s_props.p_launch_gui);
	assert_int_equal(b.s_props.p_guest_init, GUEST_INIT_GUESTINFO);
	assert_int_equal(b.s_props.p_clone, CLONE_LINKED);
	assert_int_equal(b.s_props.p_n_ssh_keys, 1);
	assert_string_equal(
	    b.s_props.p_ssh_keys[0], "ssh-ed25519 AAAA me@host");
	assert_true(tags_equal(&a.s_tags, &b.s_tags));
	assert_string_equal(tags_get(&b.s_tags, "t"), "\xc3\xa9\"q");
	assert_string_equal(b.s_init, "echo > x\nline2");
	assert_string_equal(b.s_logical_id, "web-1");
	assert_int_equal(b.s_n_att, 1);
	assert_string_equal(b.s_att[0].a_type, "vmdk");
	/* Properties verbatim (as JSON). */
	assert_true(json_equal(json_object_get(v, "Properties"),
	    json_object_get(w, "Properties")));
	inst_spec_free(&a);
	inst_spec_free(&b);
	json_decref(v);
	json_decref(w);
}

static void
test_defaults(void **state)
{
	struct inst_props p;
	struct err err;
	json_t *v = json_loads("{\"vmx\":\"x\"}", 0, NULL);

	(void)state;
	memset(&p, 0, sizeof(p));
	/* Go matches field names case-insensitively; so do we. */
	assert_int_equal(specjson_props(v, "P", &p, &err), 0);
	assert_string_equal(p.p_vmx, "x");
	assert_int_equal(p.p_memsize_mb, 512);
	assert_int_equal(p.p_numcpus, 1);
	assert_false(p.p_launch_gui);
	assert_int_equal(p.p_guest_init, GUEST_INIT_AUTO);
	assert_int_equal(p.p_clone, CLONE_UNSET);
	inst_props_free(&p);
	json_decref(v);
}

static void
test_copy(void **state)
{
	struct inst_spec a, b;
	struct err err;
	json_t *v = json_loads("{\"Properties\":{\"VMX\":\"x\","
			       "\"SSHAuthorizedKeys\":[\"k1\",\"k2\"]},"
			       "\"Attachments\":[{\"ID\":\"1\"}]}",
	    0, NULL);

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(specjson_spec(v, "Spec", &a, &err), 0);
	assert_int_equal(inst_spec_copy(&b, &a), 0);
	inst_spec_free(&a);
	assert_string_equal(b.s_props.p_ssh_keys[1], "k2");
	assert_string_equal(b.s_att[0].a_id, "1");
	assert_string_equal(b.s_att[0].a_type, "");
	assert_string_equal(b.s_init, "");
	inst_spec_free(&b);
	json_decref(v);
}

static json_t *
load(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);

	if (v == NULL)
		fail_msg("bad JSON in the test: %s: %s", text, je.text);
	return v;
}

/* Decodes one golden case and fails the test when it differs. */
static void
check_case(const char *path, int line, char *text)
{
	char *kind = text, *json, *code, *msg;
	struct inst_props p;
	struct inst_spec s;
	struct err err;
	json_t *v;
	int rc;

	json = strchr(kind, '\t');
	code = json != NULL ? strchr(json + 1, '\t') : NULL;
	msg = code != NULL ? strchr(code + 1, '\t') : NULL;
	if (msg == NULL)
		fail_msg("%s:%d: want kind, JSON, code, message", path, line);
	*json++ = *code++ = *msg++ = '\0';
	memset(&p, 0, sizeof(p));
	memset(&s, 0, sizeof(s));
	err_clear(&err);
	v = load(json);
	if (strcmp(kind, "P") == 0)
		rc = specjson_props(v, "P", &p, &err);
	else
		rc =
		    specjson_spec(json_is_null(v) ? NULL : v, "Spec", &s, &err);
	inst_props_free(&p);
	inst_spec_free(&s);
	json_decref(v);
	if (rc != -1 || strcmp(err_code_name(err.code), code) != 0 ||
	    strcmp(err.msg, msg) != 0)
		fail_msg("%s:%d: %s\n  want %s: %s\n  got  %d %s: %s", path,
		    line, json, code, msg, rc, err_code_name(err.code),
		    err.msg);
}

static void
test_error_messages(void **state)
{
	const char *dir = getenv("TESTS_DIR");
	char path[PATH_BUF], *text = NULL, *p, *nl;
	struct err err;
	size_t len;
	int line = 0, cases = 0;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/data/specjson/errors.txt",
	    dir != NULL ? dir : "tests");
	if (read_file_max(path, 1 << 20, &text, &len, &err) == -1)
		fail_msg("%s", err.msg);
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			fail_msg("%s: no newline at the end", path);
		*nl = '\0';
		line++;
		if (p[0] == '#' || p[0] == '\0')
			continue;
		check_case(path, line, p);
		cases++;
	}
	assert_true(cases >= 68);
	free(text);
}

/* The exported list of names is the decoder table's: the message that
 * lists the known properties names each, in order. */
static void
test_prop_names(void **state)
{
	char want[512] = "P has an unknown property \"Bogus\"; known ones are ";
	struct inst_props p;
	struct err err;
	json_t *v = load("{\"Bogus\":1}");
	size_t n = 0;

	(void)state;
	while (specjson_prop_names[n] != NULL)
		n++;
	assert_int_equal(n, 11);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			(void)strlcat(
			    want, i + 1 < n ? ", " : " and ", sizeof(want));
		(void)strlcat(want, specjson_prop_names[i], sizeof(want));
	}
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props(v, "P", &p, &err), -1);
	assert_string_equal(err.msg, want);
	inst_props_free(&p);
	json_decref(v);
}

/* Go matches names ignoring case, so two spellings of one property can
 * both be there. Strict decoding refuses that (Go would silently take the
 * last); lenient decoding of a record keeps the later one, as Go does (and
 * frees the earlier keys). One spelling in any case is that property. */
static void
test_repeated_property(void **state)
{
	struct inst_props p;
	struct err err;
	json_t *v = load("{\"VMX\":\"a\",\"SSHAuthorizedKeys\":[\"k1\",\"k2\"],"
			 "\"sshauthorizedkeys\":[\"j\"],\"numcpus\":3}");

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props(v, "P", &p, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_string_equal(err.msg,
	    "P has both \"SSHAuthorizedKeys\" and \"sshauthorizedkeys\" "
	    "(keys match ignoring case): keep one");
	inst_props_free(&p);
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props_lenient(v, "P", &p, &err), 0);
	assert_int_equal(p.p_n_ssh_keys, 1);
	assert_string_equal(p.p_ssh_keys[0], "j");
	assert_int_equal(p.p_numcpus, 3);
	inst_props_free(&p);
	json_decref(v);
	/* Each property once, in any case: accepted, as Go's decoder does. */
	v = load(
	    "{\"vmx\":\"a\",\"memorySizeMBs\":1024,\"NUMCPUS\":2,"
	    "\"launchgui\":true,\"guestInit\":\"none\",\"clone\":\"full\"}");
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props(v, "P", &p, &err), 0);
	assert_string_equal(p.p_vmx, "a");
	assert_int_equal(p.p_memsize_mb, 1024);
	assert_int_equal(p.p_numcpus, 2);
	assert_true(p.p_launch_gui);
	assert_int_equal(p.p_guest_init, GUEST_INIT_NONE);
	assert_int_equal(p.p_clone, CLONE_FULL);
	inst_props_free(&p);
	json_decref(v);
}

/* The case of the brief: a record from another release. */
static void
test_lenient_unknown_and_out_of_range(void **state)
{
	const char *text =
	    "{\"Properties\":{\"VMX\":\"alpine\",\"MemorySizeMBs\":2000000,"
	    "\"NumCPUs\":0,\"Firmware\":\"efi\"},\"Tags\":{\"a\":\"1\"},"
	    "\"Init\":\"\",\"LogicalID\":null,\"Attachments\":null}";
	struct inst_spec s;
	struct err err;
	json_t *v = load(text);

	(void)state;
	memset(&s, 0, sizeof(s));
	/* Strict refuses it... */
	assert_int_equal(specjson_spec(v, "Spec", &s, &err), -1);
	assert_string_equal(err.msg,
	    "Spec.Properties.MemorySizeMBs is 2000000; it must be between 32 "
	    "and 1048576");
	inst_spec_free(&s);
	/* ...lenient keeps it as it is. */
	err_clear(&err);
	assert_int_equal(specjson_spec_lenient(v, "Spec", &s, &err), 0);
	assert_int_equal(err.code, EIK_OK);
	assert_string_equal(s.s_props.p_vmx, "alpine");
	assert_int_equal(s.s_props.p_memsize_mb, 2000000);
	assert_int_equal(s.s_props.p_numcpus, 0);
	assert_string_equal(s.s_properties_json,
	    "{\"VMX\":\"alpine\",\"MemorySizeMBs\":2000000,\"NumCPUs\":0,"
	    "\"Firmware\":\"efi\"}");
	assert_string_equal(tags_get(&s.s_tags, "a"), "1");
	inst_spec_free(&s);
	json_decref(v);
}

static void
test_lenient_wrong_types(void **state)
{
	struct inst_props p;
	struct err err;
	json_t *v = load("{\"VMX\":5,\"MemorySizeMBs\":\"big\",\"NumCPUs\":1.5,"
			 "\"LaunchGUI\":\"yes\",\"Tags\":[],\"GuestInit\":"
			 "\"ignition\",\"Clone\":7,\"SSHAuthorizedKeys\":\"k\","
			 "\"Note\":{}}");

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props_lenient(v, "P", &p, &err), 0);
	assert_string_equal(p.p_vmx, "");
	assert_int_equal(p.p_memsize_mb, MEMSIZE_DEFAULT_MB);
	assert_int_equal(p.p_numcpus, NUMCPUS_DEFAULT);
	assert_false(p.p_launch_gui);
	assert_int_equal(p.p_tags.tg_n, 0);
	assert_int_equal(p.p_guest_init, GUEST_INIT_AUTO);
	assert_int_equal(p.p_clone, CLONE_UNSET);
	assert_int_equal(p.p_n_ssh_keys, 0);
	inst_props_free(&p);
	json_decref(v);
}

/* Out of today's range but of the right type: kept. */
static void
test_lenient_keeps_values(void **state)
{
	struct inst_props p;
	struct buf b;
	struct err err;
	json_t *v;

	(void)state;
	buf_init(&b, 1 << 20);
	(void)buf_addstr(&b,
	    "{\"VMX\":\"a\",\"MemorySizeMBs\":513,"
	    "\"LaunchGUI\":true,\"GuestInit\":\"cidata\","
	    "\"Clone\":\"full\",\"Note\":5,\"Tags\":{");
	for (int i = 0; i < RPC_MAX_TAGS + 10; i++)
		(void)buf_printf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
	(void)buf_addstr(&b, "},\"SSHAuthorizedKeys\":[");
	for (int i = 0; i < RPC_MAX_SSH_KEYS + 6; i++)
		(void)buf_printf(&b, "%s\"key %d\"", i ? "," : "", i);
	(void)buf_addstr(&b, "]}");
	v = load(buf_str(&b));
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props_lenient(v, "P", &p, &err), 0);
	assert_int_equal(p.p_memsize_mb, 513);
	assert_true(p.p_launch_gui);
	assert_int_equal(p.p_guest_init, GUEST_INIT_CIDATA);
	assert_int_equal(p.p_clone, CLONE_FULL);
	assert_int_equal(p.p_tags.tg_n, RPC_MAX_TAGS + 10);
	assert_int_equal(p.p_n_ssh_keys, RPC_MAX_SSH_KEYS + 6);
	assert_string_equal(p.p_ssh_keys[RPC_MAX_SSH_KEYS + 5], "key 69");
	inst_props_free(&p);
	json_decref(v);
	buf_free(&b);
}

/* What would be unsafe to use is clamped or dropped. */
static void
test_lenient_unsafe(void **state)
{
	static const struct {
		const char *json;
		const char *vmx;
		unsigned mem, cpus;
	} cases[] = {
		{ "{\"VMX\":\"../../etc\",\"MemorySizeMBs\":-4}", "", 32, 1 },
		{ "{\"VMX\":\"a/b\",\"NumCPUs\":99999999999}", "", 512, 128 },
		{ "{\"VMX\":\".hidden\",\"NumCPUs\":-1}", "", 512, 1 },
		{ "{\"VMX\":\"a\\u0001\",\"MemorySizeMBs\":4294967295}", "",
		    UINT_MAX, 1 },
		{ "{\"VMX\":\"a\\u0000b\",\"MemorySizeMBs\":4294967296}", "",
		    1048576, 1 },
		{ "{\"VMX\":\"ok\",\"NumCPUs\":4294967295}", "ok", 512,
		    UINT_MAX },
	};
	char longname[TEMPLATE_NAME_MAX + 32];
	struct inst_props p;
	struct err err;
	json_t *v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = load(cases[i].json);
		memset(&p, 0, sizeof(p));
		assert_int_equal(specjson_props_lenient(v, "P", &p, &err), 0);
		assert_string_equal(p.p_vmx, cases[i].vmx);
		assert_int_equal(p.p_memsize_mb, cases[i].mem);
		assert_int_equal(p.p_numcpus, cases[i].cpus);
		inst_props_free(&p);
		json_decref(v);
	}
	/* Too long for p_vmx: cut, it would name another template. */
	memset(longname, 'a', TEMPLATE_NAME_MAX + 1);
	longname[TEMPLATE_NAME_MAX + 1] = '\0';
	v = json_pack("{s:s}", "VMX", longname);
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props_lenient(v, "P", &p, &err), 0);
	assert_string_equal(p.p_vmx, "");
	inst_props_free(&p);
	json_decref(v);
	/* A key with a line break would inject authorized_keys lines. */
	v = load("{\"SSHAuthorizedKeys\":[\"k1\",\"a\\nb\",\"\",5,\"c\\rd\","
		 "\"n\\u0000ul\",\"k2\"]}");
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props_lenient(v, "P", &p, &err), 0);
	assert_int_equal(p.p_n_ssh_keys, 2);
	assert_string_equal(p.p_ssh_keys[0], "k1");
	assert_string_equal(p.p_ssh_keys[1], "k2");
	inst_props_free(&p);
	json_decref(v);
}

static void
test_lenient_spec(void **state)
{
	struct inst_spec s;
	struct err err;
	json_t *v;
	char *big;

	(void)state;
	v = load(
	    "{\"Properties\":\"x\",\"Tags\":{\"a\":\"1\",\"b\":2,\"\":\"e\"},"
	    "\"Init\":5,\"LogicalID\":\"\",\"Attachments\":[1,{\"ID\":5,"
	    "\"Type\":\"t\"},{\"ID\":\"d\"}],\"Extra\":true}");
	memset(&s, 0, sizeof(s));
	assert_int_equal(specjson_spec_lenient(v, "Spec", &s, &err), 0);
	assert_string_equal(s.s_props.p_vmx, "");
	assert_int_equal(s.s_props.p_memsize_mb, MEMSIZE_DEFAULT_MB);
	assert_string_equal(s.s_properties_json, "\"x\"");
	assert_int_equal(s.s_tags.tg_n, 2);
	assert_string_equal(tags_get(&s.s_tags, "a"), "1");
	assert_string_equal(tags_get(&s.s_tags, ""), "e");
	assert_string_equal(s.s_init, "");
	assert_string_equal(s.s_logical_id, "");
	assert_int_equal(s.s_n_att, 2);
	assert_string_equal(s.s_att[0].a_id, "");
	assert_string_equal(s.s_att[0].a_type, "t");
	assert_string_equal(s.s_att[1].a_id, "d");
	assert_string_equal(s.s_att[1].a_type, "");
	inst_spec_free(&s);
	json_decref(v);

	/* No Properties at all; an Init over today's limit is kept. */
	big = malloc(INIT_MAX_SIZE + 2);
	assert_non_null(big);
	memset(big, 'x', INIT_MAX_SIZE + 1);
	big[INIT_MAX_SIZE + 1] = '\0';
	v = json_pack("{s:s,s:i}", "Init", big, "LogicalID", 7);
	memset(&s, 0, sizeof(s));
	assert_int_equal(specjson_spec_lenient(v, "Spec", &s, &err), 0);
	assert_string_equal(s.s_properties_json, "null");
	assert_int_equal(strlen(s.s_init), INIT_MAX_SIZE + 1);
	assert_null(s.s_logical_id);
	inst_spec_free(&s);
	json_decref(v);
	free(big);
}

/* Only a value that is not an object fails, with the strict message. */
static void
test_lenient_not_object(void **state)
{
	struct inst_props p;
	struct inst_spec s;
	struct err err;
	json_t *v = load("[1]");

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(specjson_spec_lenient(v, "Spec", &s, &err), -1);
	assert_int_equal(err.code, EIK_PARAMS);
	assert_string_equal(err.msg,
	    "Spec must be an object {\"Properties\":..., \"Tags\":..., "
	    "\"Init\":..., \"LogicalID\":...}, got an array");
	inst_spec_free(&s);
	assert_int_equal(specjson_spec_lenient(NULL, "Spec", &s, &err), -1);
	inst_spec_free(&s);
	memset(&p, 0, sizeof(p));
	assert_int_equal(specjson_props_lenient(v, "P", &p, &err), -1);
	assert_string_equal(err.msg,
	    "P must be an object such as {\"VMX\": \"alpine\"}, got an array");
	assert_int_equal(specjson_props_lenient(NULL, "P", &p, &err), -1);
	inst_props_free(&p);
	json_decref(v);
}

/* A record today's release wrote decodes the same in both modes. */
static void
test_lenient_same_as_strict(void **state)
{
	const char *text =
	    "{\"Properties\":{\"VMX\":\"alpine\",\"MemorySizeMBs\":1024,"
	    "\"NumCPUs\":2,\"LaunchGUI\":true,\"Tags\":{\"p\":\"1\"},"
	    "\"GuestInit\":\"guestinfo\",\"Clone\":\"linked\","
	    "\"SSHAuthorizedKeys\":[\"ssh-ed25519 AAAA me@host\"],"
	    "\"Note\":\"n\"},\"Tags\":{\"t\":\"v\"},\"Init\":\"echo\","
	    "\"LogicalID\":\"web-1\",\"Attachments\":[{\"ID\":\"d\","
	    "\"Type\":\"vmdk\"}]}";
	struct inst_spec a, b;
	struct err err;
	json_t *v = load(text), *ja, *jb;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(specjson_spec(v, "Spec", &a, &err), 0);
	assert_int_equal(specjson_spec_lenient(v, "Spec", &b, &err), 0);
	ja = specjson_spec_new(&a);
	jb = specjson_spec_new(&b);
	assert_true(json_equal(ja, jb));
	assert_string_equal(a.s_props.p_vmx, b.s_props.p_vmx);
	assert_int_equal(b.s_props.p_memsize_mb, 1024);
	assert_int_equal(b.s_props.p_numcpus, 2);
	assert_true(b.s_props.p_launch_gui);
	assert_true(tags_equal(&a.s_props.p_tags, &b.s_props.p_tags));
	assert_int_equal(b.s_props.p_guest_init, GUEST_INIT_GUESTINFO);
	assert_int_equal(b.s_props.p_clone, CLONE_LINKED);
	assert_int_equal(b.s_props.p_n_ssh_keys, 1);
	assert_string_equal(b.s_props.p_ssh_keys[0], a.s_props.p_ssh_keys[0]);
	json_decref(ja);
	json_decref(jb);
	inst_spec_free(&a);
	inst_spec_free(&b);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_prop_names),
		cmocka_unit_test(test_repeated_property),
		cmocka_unit_test(test_lenient_unknown_and_out_of_range),
		cmocka_unit_test(test_lenient_wrong_types),
		cmocka_unit_test(test_lenient_keeps_values),
		cmocka_unit_test(test_lenient_unsafe),
		cmocka_unit_test(test_lenient_spec),
		cmocka_unit_test(test_lenient_not_object),
		cmocka_unit_test(test_lenient_same_as_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
