/*
 * Unit tests: specjson.c, specjson_props.c — a spec survives JSON and back
 * unchanged; every strict error message is exactly the golden one in
 * tests/data/specjson/errors.txt.
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
	assert_int_equal(n, 9);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_prop_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
