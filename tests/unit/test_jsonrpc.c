/*
 * Unit tests: jsonrpc.c and the RPC layer (rpc.c, rpc_plugin.c,
 * rpc_instance.c) against a test double of the service interface, which
 * records what it was called with.
 */
#include "cm_compat.h"

#include <jansson.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"
#include "rpc/jsonrpc.h"
#include "util/log.h"
#include "model/model.h"
#include "rpc/rpc.h"

/* ---- the service double ---- */

static struct {
	int calls;
	char method[32];
	char type[64];
	char id[128];
	char reason[64];
	struct inst_spec spec;
	struct inst_props props;
	struct tags tags; /* filter or labels */
	unsigned flags;
	int fail; /* answer with an error */
} dbl;

static void
dbl_reset(void)
{
	inst_spec_free(&dbl.spec);
	inst_props_free(&dbl.props);
	tags_free(&dbl.tags);
	memset(&dbl, 0, sizeof(dbl));
}

static void
dbl_note(const char *m, const char *type)
{
	dbl.calls++;
	(void)strlcpy(dbl.method, m, sizeof(dbl.method));
	(void)strlcpy(dbl.type, type, sizeof(dbl.type));
}

static int
d_validate(void *ctx, const char *type, const struct inst_props *p, char *tmpl,
    size_t tmpllen, struct err *err)
{
	(void)ctx;
	dbl_note("validate", type);
	inst_props_free(&dbl.props);
	assert_int_equal(inst_props_copy(&dbl.props, p), 0);
	if (strcmp(p->p_vmx, "nope") == 0) {
		/* As the service says it: from the Properties. */
		err_set(err, EIK_NOTFOUND,
		    "Properties.VMX: template \"%s\" not found", p->p_vmx);
		return -1;
	}
	(void)strlcpy(tmpl, "/lib/t.vmx", tmpllen);
	return 0;
}

static void
d_provision(struct svc_req *r)
{
	dbl_note("provision", r->sr_type);
	assert_int_equal(inst_spec_copy(&dbl.spec, &r->sr_spec), 0);
	assert_string_equal(r->sr_template, "/lib/t.vmx");
	if (dbl.fail) {
		struct err err;

		err_set(&err, EIK_NOSPACE, "disk full");
		svc_req_answer(r, -1, &err);
		return;
	}
	(void)strlcpy(r->sr_out_id, "i-0000000000a", sizeof(r->sr_out_id));
	svc_req_answer(r, 0, NULL);
}

static void
d_destroy(struct svc_req *r)
{
	dbl_note("destroy", r->sr_type);
	(void)strlcpy(dbl.id, r->sr_id, sizeof(dbl.id));
	(void)strlcpy(dbl.reason, r->sr_reason, sizeof(dbl.reason));
	svc_req_answer(r, 0, NULL);
}

static void
d_describe(struct svc_req *r)
{
	struct inst_list *out = &r->sr_list;
	struct inst_view *v;

	dbl_note("describe", r->sr_type);
	assert_int_equal(tags_copy(&dbl.tags, &r->sr_tags), 0);
	dbl.flags = r->sr_flags;
	v = inst_list_add(out);
	(void)strlcpy(v->v_id, "i-0000000000a", sizeof(v->v_id));
	v->v_logical_id = strdup("192.168.0.11");
	(void)tags_set(&v->v_tags, "infrakit.group", "pets");
	(void)strlcpy(v->v_state, "running", sizeof(v->v_state));
	(void)strlcpy(v->v_power, "running", sizeof(v->v_power));
	(void)strlcpy(v->v_backend, "test", sizeof(v->v_backend));
	v->v_ip = strdup("172.16.0.5");
	v->v_created_ms = 1800000000000LL;
	v->v_reported = true;
	v = inst_list_add(out);
	(void)strlcpy(v->v_id, "i-0000000000b", sizeof(v->v_id));
	v->v_reported = true;
	svc_req_answer(r, 0, NULL);
}

static void
d_label(struct svc_req *r)
{
	dbl_note("label", r->sr_type);
	(void)strlcpy(dbl.id, r->sr_id, sizeof(dbl.id));
	assert_int_equal(tags_copy(&dbl.tags, &r->sr_tags), 0);
	if (dbl.fail) {
		struct err err;

		err_set(&err, EIK_NOTFOUND, "no instance %s", r->sr_id);
		svc_req_answer(r, -1, &err);
		return;
	}
	svc_req_answer(r, 0, NULL);
}

/* Two disks: one held, one free (the service double's answer). */
static void
d_att_list(struct svc_req *r)
{
	struct att_view *a = att_list_get(&r->sr_atts, "logs");
	struct att_view *b = att_list_get(&r->sr_atts, "db-1");

	dbl_note("att-ls", r->sr_type);
	(void)strlcpy(a->av_id, "logs", sizeof(a->av_id));
	(void)strlcpy(a->av_type, "vmdk", sizeof(a->av_type));
	a->av_on_disk = true;
	(void)strlcpy(b->av_id, "DB-1", sizeof(b->av_id));
	(void)strlcpy(b->av_type, "disk", sizeof(b->av_type));
	(void)strlcpy(b->av_format, "qcow2", sizeof(b->av_format));
	(void)strlcpy(b->av_backend, "qemu", sizeof(b->av_backend));
	(void)strlcpy(b->av_made_for, "i-0000000000a", sizeof(b->av_made_for));
	b->av_size_gb = 10;
	b->av_created_ms = 1800000000000LL;
	b->av_on_disk = true;
	(void)strlcpy(b->av_holder, "i-0000000000b", sizeof(b->av_holder));
	(void)strlcpy(
	    b->av_holder_state, "running", sizeof(b->av_holder_state));
	b->av_holder_lid = strdup("db-1");
	svc_req_answer(r, 0, NULL);
}

/* Answers inline, on the caller's thread: the RPC layer must cope with an
 * answer that arrives before submit returns. */
static void
d_submit(void *ctx, struct svc_req *r)
{
	(void)ctx;
	switch (r->sr_op) {
	case SVC_PROVISION:
		d_provision(r);
		break;
	case SVC_DESTROY:
		d_destroy(r);
		break;
	case SVC_DESCRIBE:
		d_describe(r);
		break;
	case SVC_LABEL:
		d_label(r);
		break;
	case SVC_ATT_LIST:
		d_att_list(r);
		break;
	case SVC_ATT_REMOVE:
		dbl_note("att-rm", r->sr_type);
		(void)strlcpy(dbl.id, r->sr_att, sizeof(dbl.id));
		svc_req_answer(r, 0, NULL);
		break;
	case SVC_WATCH:
	case SVC_POWER:
		dbl_note("power", r->sr_type);
		(void)strlcpy(dbl.id, r->sr_id, sizeof(dbl.id));
		svc_req_answer(r, 0, NULL);
		break;
	case SVC_STATS:
		r->sr_stats.ss_instances[SS_RUNNING] = 2;
		r->sr_stats.ss_queued[0] = 1;
		svc_req_answer(r, 0, NULL);
		break;
	}
}

static size_t
d_types(void *ctx, const char **names, size_t max)
{
	(void)ctx;
	if (max < 2)
		return 0;
	names[0] = "vmware";
	names[1] = "qemu";
	return 2;
}

static const struct svc_ops dbl_ops = {
	.validate = d_validate,
	.submit = d_submit,
	.types = d_types,
};
static const struct svc dbl_svc = { &dbl_ops, NULL };

/* Runs body through the RPC layer; returns the answer (caller frees). */
static char *
call(const char *body)
{
	struct buf out;

	buf_init(&out, 1 << 24);
	assert_int_equal(rpc_handle(&dbl_svc, body, strlen(body), &out, 1), 0);
	return buf_steal(&out);
}

static json_t *
call_json(const char *body)
{
	char *ans = call(body);
	json_error_t je;
	json_t *v;

	v = json_loads(ans, 0, &je);
	if (v == NULL)
		fail_msg("answer is not JSON: %s", ans);
	free(ans);
	return v;
}

static const char *
error_message(json_t *ans)
{
	json_t *e = json_object_get(ans, "error");

	if (e == NULL)
		fail_msg("expected an error, got %s", json_dumps(ans, 0));
	assert_null(json_object_get(ans, "result"));
	return json_string_value(json_object_get(e, "message"));
}

static int
error_code(json_t *ans)
{
	return (int)json_integer_value(
	    json_object_get(json_object_get(ans, "error"), "code"));
}

/* ---- envelope ---- */

static void
test_raw_member(void **state)
{
	const char *s;
	size_t n;
	const char *t =
	    " {\"a\":{\"id\":1,\"x\":[\"}\",{}]},\"s\":\"\\\"id\\\"\", "
	    "\"id\" : 9223372036854775807 , \"z\":null}";

	(void)state;
	assert_int_equal(json_raw_member(t, strlen(t), "id", &s, &n), 0);
	assert_int_equal(n, 19);
	assert_memory_equal(s, "9223372036854775807", 19);
	assert_int_equal(json_raw_member(t, strlen(t), "z", &s, &n), 0);
	assert_memory_equal(s, "null", 4);
	assert_int_equal(json_raw_member(t, strlen(t), "x", &s, &n), -1);
	t = "{\"ID\":\"abc\"}";
	assert_int_equal(json_raw_member(t, strlen(t), "id", &s, &n), 0);
	assert_memory_equal(s, "\"abc\"", 5);
}

/* Member names are compared as jansson decodes them (issue 11 #15). */
static void
test_raw_member_escaped_keys(void **state)
{
	static const struct {
		const char *text, *key;
		int rc;
		const char *want;
	} cases[] = {
		{ "{\"\\u0069d\":7}", "id", 0, "7" },
		{ "{\"i\\u0064\":7}", "id", 0, "7" },
		{ "{\"\\u0049\\u0044\":7}", "id", 0, "7" },
		{ "{\"\\u0069\\u0064\\u0000\":7}", "id", -1, NULL },
		{ "{\"\\u0069d\":7,\"ID\":{\"a\":1}}", "id", JSON_RAW_AMBIGUOUS,
		    NULL },
		{ "{\"ID\":{\"a\":1},\"\\u0069d\":7}", "id", JSON_RAW_AMBIGUOUS,
		    NULL },
		{ "{\"id\":1,\"Id\":2}", "id", JSON_RAW_AMBIGUOUS, NULL },
		{ "{\"a\\\"id\":1,\"id\":2}", "id", 0, "2" },
		{ "{\"\\/id\":1,\"id\":2}", "id", 0, "2" },
		{ "{\"\\u00e9\":1,\"\xc3\xa9\":2}", "\xc3\xa9",
		    JSON_RAW_AMBIGUOUS, NULL },
		{ "{\"\\ud83d\\ude00\":\"smile\"}", "\xf0\x9f\x98\x80", 0,
		    "\"smile\"" },
		{ "{\"\\u00C9\":1}", "\xc3\xa9", -1, NULL },
		{ "{\"\\n\":3}", "\n", 0, "3" },
	};
	const char *s;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text;
		int rc = json_raw_member(t, strlen(t), cases[i].key, &s, &n);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): %d, want %d", i, t, rc,
			    cases[i].rc);
		if (rc == 0 &&
		    (n != strlen(cases[i].want) ||
			memcmp(s, cases[i].want, n) != 0))
			fail_msg("case %zu (%s): \"%.*s\", want \"%s\"", i, t,
			    (int)n, s, cases[i].want);
	}
}

/* The id echoed is the member jansson read; two candidates are refused
 * (never an object echoed as the id). */
static void
test_id_ambiguous(void **state)
{
	static const char *const refused[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		"\"params\":{},\"\\u0069d\":7,\"ID\":{\"evil\":1}}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		"\"params\":{},\"id\":7,\"iD\":8}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		"\"params\":{},\"Id\":[1],\"id\":7}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		"\"METHOD\":\"Nope.Nope\",\"id\":7}",
	};
	char *ans;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_t *a = call_json(refused[i]);

		assert_int_equal(error_code(a), -32600);
		if (strstr(error_message(a), "members are named") == NULL)
			fail_msg("case %zu: %s", i, error_message(a));
		assert_true(json_is_null(json_object_get(a, "id")));
		json_decref(a);
	}
	/* An escaped name alone is the id, echoed as sent. */
	ans = call("{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		   "\"params\":{},\"\\u0069d\":9223372036854775807}");
	assert_non_null(strstr(ans, ",\"id\":9223372036854775807}\n"));
	assert_null(strstr(ans, "\"error\""));
	free(ans);
	ans = call("{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		   "\"params\":{},\"I\\u0044\":\"x\\u00e9\"}");
	assert_non_null(strstr(ans, ",\"id\":\"x\\u00e9\"}\n"));
	free(ans);
}

static void
test_id_echo(void **state)
{
	static const char *const ids[] = {
		"9223372036854775807",
		"1964822202203200888",
		"0",
		"\"a string \\u00e9 \\\"quoted\\\"\"",
		"null",
		"-5",
		"1.5e3",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char body[256], want[256];
		char *ans;

		(void)snprintf(body, sizeof(body),
		    "{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		    "\"params\":{},\"id\":%s}",
		    ids[i]);
		ans = call(body);
		(void)snprintf(want, sizeof(want), ",\"id\":%s}\n", ids[i]);
		assert_non_null(strstr(ans, want));
		free(ans);
	}
}

static void
test_notification(void **state)
{
	char *ans;

	(void)state;
	ans = call("{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		   "\"params\":{}}");
	assert_string_equal(ans, "");
	free(ans);
	/* An unknown method as a notification: still no answer. */
	ans = call("{\"jsonrpc\":\"2.0\",\"method\":\"Nope.Nope\"}");
	assert_string_equal(ans, "");
	free(ans);
}

static void
test_envelope_errors(void **state)
{
	static const struct {
		const char *body;
		int code;
		const char *needle;
	} cases[] = {
		{ "", -32700, "empty" },
		{ "{", -32700, "parse error" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\"",
		    -32700, "parse error" },
		{ "[1,2]", -32600, "array" },
		{ "\"x\"", -32600, "string" },
		{ "{\"jsonrpc\":\"1.0\",\"method\":\"Plugin.Implements\","
		  "\"id\":1}",
		    -32600, "jsonrpc must be 2.0" },
		{ "{\"method\":\"Plugin.Implements\",\"id\":1}", -32600,
		    "jsonrpc must be 2.0" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", -32600, "method" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}", -32600,
		    "method" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Nope\",\"id\":1}",
		    -32000, "can't find method \"Instance.Nope\"" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":{}}", -32600,
		    "id must be" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		  "\"params\":5,\"id\":1}",
		    -32600, "params must be an object" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		  "\"params\":[{},{}],\"id\":1}",
		    -32600, "exactly one" },
		{ "{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\","
		  "\"method\":\"Plugin.Implements\",\"id\":1}",
		    -32700, "duplicate" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		  "\"id\":1,\"x\":\"\xff\xfe\"}",
		    -32700, "parse error" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *a = call_json(cases[i].body);
		const char *m = error_message(a);

		assert_int_equal(error_code(a), cases[i].code);
		if (strstr(m, cases[i].needle) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, m,
			    cases[i].needle);
		json_decref(a);
	}
}

static void
test_deep_nesting(void **state)
{
	size_t depth = 100000, n = 0;
	char *body = malloc(depth * 2 + 128);
	json_t *a;

	(void)state;
	n += (size_t)snprintf(
	    body, 64, "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":1,\"p\":");
	for (size_t i = 0; i < depth; i++)
		body[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		body[n++] = ']';
	body[n++] = '}';
	body[n] = '\0';
	a = call_json(body);
	assert_int_equal(error_code(a), -32700);
	assert_non_null(strstr(error_message(a), "depth"));
	json_decref(a);
	free(body);
}

static void
test_params_array_unwrapped(void **state)
{
	json_t *a;

	(void)state;
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Destroy\","
		      "\"params\":[{\"Instance\":\"i-1\"}],\"id\":3}");
	assert_non_null(json_object_get(a, "result"));
	assert_string_equal(dbl.id, "i-1");
	json_decref(a);
}

/* ---- handshakes ---- */

static void
test_handshakes(void **state)
{
	json_t *a, *apis, *v;
	size_t i;
	static const char *const want[] = { "0.1.0", "0.3.0", "0.5.0", "0.6.0",
		"0.6.1" };

	(void)state;
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Implements\","
		      "\"params\":{},\"id\":1}");
	apis = json_object_get(json_object_get(a, "result"), "APIs");
	assert_int_equal(json_array_size(apis), 5);
	json_array_foreach(apis, i, v)
	{
		assert_string_equal(
		    json_string_value(json_object_get(v, "Name")), "Instance");
		assert_string_equal(
		    json_string_value(json_object_get(v, "Version")), want[i]);
	}
	json_decref(a);

	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Types\","
		      "\"params\":{},\"id\":1}");
	v = json_object_get(
	    json_object_get(json_object_get(a, "result"), "Types"),
	    "Instance/0.5.0");
	assert_int_equal(json_array_size(v), 3);
	assert_string_equal(json_string_value(json_array_get(v, 0)), ".");
	assert_string_equal(json_string_value(json_array_get(v, 1)), "vmware");
	json_decref(a);

	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\","
		      "\"params\":{},\"id\":1}");
	v = json_object_get(
	    json_object_get(json_object_get(a, "result"), "Objects"),
	    "Instance/0.6.1");
	assert_int_equal(json_array_size(v), 3);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(v, 0), "Name")),
	    ".");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(v, 0), "ProxyFor")),
	    "");
	json_decref(a);
}

/* ---- Instance methods through the double ---- */

static void
test_validate(void **state)
{
	json_t *a, *r;

	(void)state;
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Validate\","
		      "\"params\":{\"Properties\":{\"Note\":\"x\",\"VMX\":"
		      "\"alpine\",\"NumCPUs\":2,\"memorysizembs\":1024,"
		      "\"LaunchGUI\":true,\"Tags\":{\"a\":\"b\"},"
		      "\"GuestInit\":\"cidata\",\"Clone\":\"copy\"}},"
		      "\"id\":1}");
	r = json_object_get(a, "result");
	assert_non_null(r);
	/* v0.1.0 sends no Type: the answer still carries "" (spec §7). */
	assert_string_equal(json_string_value(json_object_get(r, "Type")), "");
	assert_true(json_is_true(json_object_get(r, "OK")));
	assert_string_equal(dbl.method, "validate");
	assert_string_equal(dbl.props.p_vmx, "alpine");
	assert_int_equal(dbl.props.p_numcpus, 2);
	assert_int_equal(dbl.props.p_memsize_mb, 1024);
	assert_true(dbl.props.p_launch_gui);
	assert_int_equal(dbl.props.p_guest_init, GUEST_INIT_CIDATA);
	assert_int_equal(dbl.props.p_clone, CLONE_COPY);
	assert_string_equal(tags_get(&dbl.props.p_tags, "a"), "b");
	json_decref(a);

	/* The service's error reaches the client as -32000. */
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Validate\","
		      "\"params\":{\"Type\":\"\",\"Properties\":{\"VMX\":"
		      "\"nope\"}},\"id\":1}");
	assert_int_equal(error_code(a), -32000);
	assert_string_equal(
	    error_message(a), "Properties.VMX: template \"nope\" not found");
	json_decref(a);
	/* Provision names it where it is in params (issue 13). */
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Provision\","
		      "\"params\":{\"Spec\":{\"Properties\":{\"VMX\":"
		      "\"nope\"}}},\"id\":1}");
	assert_int_equal(error_code(a), -32000);
	assert_string_equal(error_message(a),
	    "Spec.Properties.VMX: template \"nope\" not found");
	json_decref(a);
	dbl_reset();
}

static void
test_validate_bad_properties(void **state)
{
	static const struct {
		const char *props;
		const char *needle;
	} cases[] = {
		{ "null", "Properties is missing" },
		{ "[]", "must be an object" },
		{ "{}", "VMX is missing" },
		{ "{\"VMX\":\"a\",\"MemorySizeMB\":512}",
		    "did you mean \"MemorySizeMBs\"" },
		{ "{\"VMX\":\"a\",\"NumCPU\":1}", "did you mean \"NumCPUs\"" },
		{ "{\"VMX\":\"a\",\"Bogus\":1}", "unknown property \"Bogus\"" },
		{ "{\"VMX\":\"../etc\"}", "not a path" },
		{ "{\"VMX\":\"/abs/x\"}", "contains '/'" },
		{ "{\"VMX\":\".hidden\"}", "starts with a dot" },
		{ "{\"VMX\":\"a\\u0000b\"}", "NUL" },
		{ "{\"VMX\":\"\"}", "is empty" },
		{ "{\"VMX\":5}", "must be a string" },
		{ "{\"VMX\":\"a\",\"MemorySizeMBs\":513}", "multiple of 4" },
		{ "{\"VMX\":\"a\",\"MemorySizeMBs\":\"512\"}", "whole number" },
		{ "{\"VMX\":\"a\",\"MemorySizeMBs\":512.5}", "whole number" },
		{ "{\"VMX\":\"a\",\"MemorySizeMBs\":4}", "between" },
		{ "{\"VMX\":\"a\",\"NumCPUs\":0}", "between" },
		{ "{\"VMX\":\"a\",\"NumCPUs\":100000000000}", "between" },
		{ "{\"VMX\":\"a\",\"LaunchGUI\":\"yes\"}", "true or false" },
		{ "{\"VMX\":\"a\",\"Tags\":{\"k\":3}}", "must be a string" },
		{ "{\"VMX\":\"a\",\"Tags\":[\"k\"]}", "must be an object" },
		{ "{\"VMX\":\"a\",\"GuestInit\":\"ssh\"}", "\"auto\"" },
		{ "{\"VMX\":\"a\",\"Clone\":\"deep\"}", "\"linked\"" },
		{ "{\"VMX\":\"a\",\"SSHAuthorizedKeys\":\"ssh-rsa x\"}",
		    "array" },
		{ "{\"VMX\":\"a\",\"SSHAuthorizedKeys\":[\"a\\nb\"]}",
		    "line breaks" },
		{ "{\"VMX\":\"a\",\"Note\":5}", "free-text" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[512];
		json_t *a;
		const char *m;

		dbl_reset();
		(void)snprintf(body, sizeof(body),
		    "{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Validate\","
		    "\"params\":{\"Properties\":%s},\"id\":7}",
		    cases[i].props);
		a = call_json(body);
		m = error_message(a);
		if (strstr(m, cases[i].needle) == NULL)
			fail_msg("case %zu (%s): \"%s\" lacks \"%s\"", i,
			    cases[i].props, m, cases[i].needle);
		/* Refused before the service is asked. */
		assert_int_equal(dbl.calls, 0);
		if (json_integer_value(json_object_get(a, "id")) != 7)
			fail_msg(
			    "case %zu: id not echoed: %s", i, json_dumps(a, 0));
		json_decref(a);
	}
	dbl_reset();
}

static void
test_provision(void **state)
{
	json_t *a, *r;

	(void)state;
	dbl_reset();
	/* The exact v0.1.0 body, \u003e escape included. */
	a = call_json(
	    "{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Provision\",\"params\":"
	    "{\"Spec\":{\"Properties\":{\"Note\":\"Instance properties are "
	    "opaque to the group plugin\",\"VMX\":\"alpine\",\"NumCPUs\":1},"
	    "\"Tags\":{\"infrakit.config_sha\":\"ujv8_D5MIXv4pcLIL7qH1eHDC-s=\","
	    "\"infrakit.group\":\"cattle\",\"project\":\"infrakit\",\"tier\":"
	    "\"web\"},\"Init\":\"sh -c \\\"echo 'Hello, World!' \\u003e "
	    "/hello\\\"\",\"LogicalID\":null,\"Attachments\":null}},\"id\":"
	    "1758313591537413785}");
	r = json_object_get(a, "result");
	assert_string_equal(
	    json_string_value(json_object_get(r, "ID")), "i-0000000000a");
	assert_string_equal(json_string_value(json_object_get(r, "Type")), "");
	assert_string_equal(
	    dbl.spec.s_init, "sh -c \"echo 'Hello, World!' > /hello\"");
	assert_null(dbl.spec.s_logical_id);
	assert_int_equal(dbl.spec.s_tags.tg_n, 4);
	assert_string_equal(tags_get(&dbl.spec.s_tags, "tier"), "web");
	assert_non_null(strstr(dbl.spec.s_properties_json, "\"VMX\""));
	json_decref(a);

	/* A pet with Attachments and a Type. */
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Provision\","
		      "\"params\":{\"Type\":\"qemu\",\"Spec\":{\"Properties\":"
		      "{\"VMX\":\"alpine\"},\"Tags\":null,\"Init\":\"echo "
		      "pet\",\"LogicalID\":\"192.168.0.12\",\"Attachments\":"
		      "[{\"ID\":\"disk-1\",\"Type\":\"vmdk\"}]}},\"id\":2}");
	r = json_object_get(a, "result");
	assert_string_equal(
	    json_string_value(json_object_get(r, "Type")), "qemu");
	assert_string_equal(dbl.type, "qemu");
	assert_string_equal(dbl.spec.s_logical_id, "192.168.0.12");
	assert_int_equal(dbl.spec.s_n_att, 1);
	assert_string_equal(dbl.spec.s_att[0].a_id, "disk-1");
	json_decref(a);

	/* Failure in the service: an error, never "ID":null. */
	dbl_reset();
	dbl.fail = 1;
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Provision\","
		      "\"params\":{\"Spec\":{\"Properties\":{\"VMX\":\"a\"}}},"
		      "\"id\":2}");
	assert_non_null(strstr(error_message(a), "disk full"));
	json_decref(a);
	dbl_reset();
}

static void
test_provision_bad_spec(void **state)
{
	static const struct {
		const char *params;
		const char *needle;
	} cases[] = {
		{ "{}", "Spec must be an object" },
		{ "{\"Spec\":[]}", "Spec must be an object" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},\"Tags\":{\"n\":1}}}",
		    "Spec.Tags[\"n\"] must be a string" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},\"Tags\":[1]}}",
		    "Spec.Tags must be an object" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},\"Init\":5}}",
		    "Spec.Init must be a string" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},\"Init\":\"a\\u0000"
		  "b\"}}",
		    "NUL" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},\"LogicalID\":7}}",
		    "Spec.LogicalID must be a string" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},\"LogicalID\":\"\"}}",
		    "use null" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},\"Attachments\":{}}}",
		    "Attachments must be null or an array" },
		{ "{\"Type\":5,\"Spec\":{\"Properties\":{\"VMX\":\"a\"}}}",
		    "Type must be a string" },
		{ "{\"Spec\":{\"Properties\":{\"VMX\":\"a\",\"X\":1}}}",
		    "Spec.Properties has an unknown property" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[512];
		json_t *a;
		const char *m;

		dbl_reset();
		(void)snprintf(body, sizeof(body),
		    "{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Provision\","
		    "\"params\":%s,\"id\":1}",
		    cases[i].params);
		a = call_json(body);
		m = error_message(a);
		if (strstr(m, cases[i].needle) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, m,
			    cases[i].needle);
		assert_int_equal(dbl.calls, 0);
		json_decref(a);
	}
	dbl_reset();
}

/*
 * Issue 13: every message names the value by its path from the top of
 * params, as the caller wrote it (Spec.Properties.X, Properties.X for
 * Validate, Instance, Tags["k"], Spec.Attachments[0].ID), never with a
 * "params." prefix; the whole message is checked, so a path anywhere but
 * at the front fails.
 */
static void
test_error_paths(void **state)
{
	static const struct {
		const char *method, *params, *msg;
	} cases[] = {
		{ "Instance.Validate",
		    "{\"Properties\":{\"VMX\":\"a\",\"MemorySizeMBs\":16}}",
		    "Properties.MemorySizeMBs is 16; it must be between 32 and "
		    "1048576" },
		{ "Instance.Validate", "{}",
		    "Properties is missing: give the instance Properties, at "
		    "least {\"VMX\": \"<template name>\"}" },
		{ "Instance.Provision",
		    "{\"Spec\":{\"Properties\":{\"VMX\":\"a\","
		    "\"MemorySizeMBs\":512.5}}}",
		    "Spec.Properties.MemorySizeMBs must be a whole number "
		    "between 32 and 1048576, got 512.5 (a fractional number)" },
		{ "Instance.Provision",
		    "{\"Spec\":{\"Properties\":{\"VMX\":\"a\"},"
		    "\"Attachments\":[{\"ID\":1}]}}",
		    "Spec.Attachments[0].ID must be a string, got 1 (a number)" },
		{ "Instance.Provision", "{\"Type\":5}",
		    "Type must be a string, got 5 (a number)" },
		{ "Instance.Destroy", "{}",
		    "Instance is missing: give the ID of the instance" },
		{ "Instance.Destroy",
		    "{\"Instance\":\"i\",\"Context\":{\"Reason\":5}}",
		    "Context.Reason must be a string, got 5 (a number)" },
		{ "Instance.DescribeInstances", "{\"Tags\":{\"a\":1}}",
		    "Tags[\"a\"] must be a string (InfraKit tag values are "
		    "strings), got 1 (a number); quote it" },
		{ "Instance.Label", "{\"Instance\":\"i\",\"Labels\":[]}",
		    "Labels must be an object of string values, got an array" },
		{ "Machine.Stop", "{\"Instance\":\"i\",\"Hard\":\"yes\"}",
		    "Hard must be true or false, got \"yes\" (a string)" },
		{ "Instance.Destroy", "{\"Instance\":\"i\",\"instance\":\"j\"}",
		    "params has both \"Instance\" and \"instance\" (keys match "
		    "ignoring case): keep one" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[512];
		json_t *a;

		dbl_reset();
		(void)snprintf(body, sizeof(body),
		    "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,"
		    "\"id\":1}",
		    cases[i].method, cases[i].params);
		a = call_json(body);
		if (strcmp(error_message(a), cases[i].msg) != 0)
			fail_msg("%s %s:\n  got  %s\n  want %s",
			    cases[i].method, cases[i].params, error_message(a),
			    cases[i].msg);
		json_decref(a);
	}
	dbl_reset();
}

static void
test_destroy(void **state)
{
	json_t *a;

	(void)state;
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Destroy\","
		      "\"params\":{\"Instance\":\"i-5\"},\"id\":1}");
	assert_true(
	    json_is_true(json_object_get(json_object_get(a, "result"), "OK")));
	assert_string_equal(dbl.reason, "terminate");
	json_decref(a);
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Destroy\","
		      "\"params\":{\"Type\":\"\",\"Instance\":\"i-5\","
		      "\"Context\":{\"Reason\":\"rolling_update\"}},\"id\":1}");
	assert_string_equal(dbl.reason, "rolling_update");
	json_decref(a);
	static const struct {
		const char *params;
		const char *needle;
	} bad[] = {
		{ "{}", "Instance is missing" },
		{ "{\"Instance\":12}", "Instance must be a string" },
		{ "{\"Instance\":\"\"}", "empty" },
		{ "{\"Instance\":\"x\",\"Context\":\"terminate\"}",
		    "Context must be an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[256];

		dbl_reset();
		(void)snprintf(body, sizeof(body),
		    "{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Destroy\","
		    "\"params\":%s,\"id\":1}",
		    bad[i].params);
		a = call_json(body);
		assert_non_null(strstr(error_message(a), bad[i].needle));
		assert_int_equal(dbl.calls, 0);
		json_decref(a);
	}
	dbl_reset();
}

static void
test_describe(void **state)
{
	json_t *a, *d, *r;

	(void)state;
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":"
		      "\"Instance.DescribeInstances\",\"params\":{\"Tags\":"
		      "{\"infrakit.group\":\"pets\"}},\"id\":1}");
	r = json_object_get(a, "result");
	assert_string_equal(json_string_value(json_object_get(r, "Type")), "");
	d = json_object_get(r, "Descriptions");
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(tags_get(&dbl.tags, "infrakit.group"), "pets");
	/* No Properties unless asked (pre-0.5.0 clients). */
	assert_null(json_object_get(json_array_get(d, 0), "Properties"));
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(d, 0), "LogicalID")),
	    "192.168.0.11");
	assert_true(
	    json_is_null(json_object_get(json_array_get(d, 1), "LogicalID")));
	assert_true(
	    json_is_object(json_object_get(json_array_get(d, 1), "Tags")));
	json_decref(a);

	dbl_reset();
	a = call_json(
	    "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"Instance.DescribeInstances\",\"params\":{\"Type\":\"\","
	    "\"Tags\":null,\"Properties\":true},\"id\":1}");
	d = json_object_get(json_object_get(a, "result"), "Descriptions");
	r = json_object_get(json_array_get(d, 0), "Properties");
	assert_string_equal(
	    json_string_value(json_object_get(r, "State")), "running");
	assert_string_equal(
	    json_string_value(json_object_get(r, "IP")), "172.16.0.5");
	assert_string_equal(json_string_value(json_object_get(r, "CreatedAt")),
	    "2027-01-15T08:00:00Z");
	assert_int_equal(dbl.tags.tg_n, 0);
	json_decref(a);

	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":"
		      "\"Instance.DescribeInstances\",\"params\":{\"Tags\":"
		      "[\"a\"]},\"id\":1}");
	assert_non_null(strstr(error_message(a),
	    "Tags must be an "
	    "object"));
	json_decref(a);
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":"
		      "\"Instance.DescribeInstances\",\"params\":{\"Tags\":"
		      "{\"a\":1}},\"id\":1}");
	assert_non_null(strstr(error_message(a), "Tags[\"a\"]"));
	json_decref(a);
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":"
		      "\"Instance.DescribeInstances\",\"params\":{"
		      "\"Properties\":\"yes\"},\"id\":1}");
	assert_non_null(strstr(error_message(a), "true or false"));
	json_decref(a);
	dbl_reset();
}

static void
test_label(void **state)
{
	json_t *a;

	(void)state;
	dbl_reset();
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Label\","
		      "\"params\":{\"Type\":\"\",\"Instance\":\"i-3\","
		      "\"Labels\":{\"infrakit.config_sha\":\"x\","
		      "\"infrakit.group\":\"cattle\"}},\"id\":1}");
	assert_true(
	    json_is_true(json_object_get(json_object_get(a, "result"), "OK")));
	assert_string_equal(dbl.id, "i-3");
	assert_int_equal(dbl.tags.tg_n, 2);
	json_decref(a);
	dbl_reset();
	dbl.fail = 1;
	a = call_json("{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Label\","
		      "\"params\":{\"Instance\":\"i-x\",\"Labels\":{}},"
		      "\"id\":1}");
	assert_non_null(strstr(error_message(a), "no instance i-x"));
	json_decref(a);
	dbl_reset();
}

static void
test_info(void **state)
{
	struct buf out;
	json_t *v;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(rpc_info(&dbl_svc, "/info/api.json", &out), 0);
	v = json_loads(buf_str(&out), 0, NULL);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(v, "Vendor"), "Name")),
	    "infrakit-instance-vmware-fusion");
	assert_int_equal(json_array_size(json_object_get(v, "Implements")), 5);
	json_decref(v);
	buf_reset(&out);
	assert_int_equal(rpc_info(&dbl_svc, "/info/functions.json", &out), 0);
	assert_string_equal(buf_str(&out), "{}\n");
	buf_reset(&out);
	assert_int_equal(rpc_info(&dbl_svc, "/info/nope", &out), -1);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_member),
		cmocka_unit_test(test_raw_member_escaped_keys),
		cmocka_unit_test(test_id_ambiguous),
		cmocka_unit_test(test_id_echo),
		cmocka_unit_test(test_notification),
		cmocka_unit_test(test_envelope_errors),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_params_array_unwrapped),
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_validate_bad_properties),
		cmocka_unit_test(test_provision),
		cmocka_unit_test(test_provision_bad_spec),
		cmocka_unit_test(test_error_paths),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_info),
	};

	log_init(LOG_LVL_QUIET, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
