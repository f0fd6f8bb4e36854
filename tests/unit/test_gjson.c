/* Unit tests: gjson.c — the reader keeps literals, spans and duplicates,
 * decodes strings as Go does, and says where the text is wrong. */
#include "cm_compat.h"

#include "util/compat.h"
#include "util/err.h"
#include "util/suggest.h"
#include "group/gjson.h"

static void
parse_ok(const char *text, unsigned flags, struct gjson_doc *doc)
{
	struct err err;

	memset(doc, 0, sizeof(*doc));
	if (gjson_parse(text, strlen(text), flags, doc, &err) != 0)
		fail_msg("%s: %s", text, err.msg);
}

static void
parse_fails(const char *text, unsigned flags, const char *msg)
{
	struct gjson_doc doc;
	struct err err;

	memset(&doc, 0, sizeof(doc));
	assert_int_equal(
	    gjson_parse(text, strlen(text), flags, &doc, &err), -1);
	assert_string_equal(err.msg, msg);
	gjson_doc_free(&doc);
}

static void
test_tree(void **state)
{
	struct gjson_doc doc;
	const struct gjson *a, *n;
	char *c;

	(void)state;
	parse_ok(" { \"a\" : [ 1.50 , -0 , 12345678901234567890 , true , "
		 "null ] ,\n \"b\" : { } , \"s\" : \"x\" } ",
	    0, &doc);
	assert_int_equal(doc.d_root.j_type, GJSON_OBJECT);
	assert_int_equal(doc.d_root.j_n, 3);
	a = gjson_get(&doc.d_root, "A"); /* any case */
	assert_non_null(a);
	assert_int_equal(a->j_type, GJSON_ARRAY);
	assert_int_equal(a->j_n, 5);
	/* Literals exactly as written. */
	assert_string_equal(a->j_el[0].j_str, "1.50");
	assert_string_equal(a->j_el[1].j_str, "-0");
	assert_string_equal(a->j_el[2].j_str, "12345678901234567890");
	assert_int_equal(a->j_el[3].j_type, GJSON_TRUE);
	assert_true(gjson_is_null(&a->j_el[4]));
	assert_true(gjson_is_null(gjson_get(&doc.d_root, "missing")));
	assert_string_equal(
	    gjson_type_name(gjson_get(&doc.d_root, "b")), "object");
	/* Spans and compaction: white space between tokens only. */
	c = gjson_compact(&doc, a);
	assert_string_equal(c, "[1.50,-0,12345678901234567890,true,null]");
	free(c);
	c = gjson_compact(&doc, &doc.d_root);
	assert_string_equal(c,
	    "{\"a\":[1.50,-0,12345678901234567890,true,null],\"b\":{},\"s\":"
	    "\"x\"}");
	free(c);
	n = gjson_get(&doc.d_root, "s");
	assert_int_equal(n->j_off, 81);
	assert_int_equal(n->j_end, 84);
	gjson_doc_free(&doc);
}

static void
test_compact_keeps_strings(void **state)
{
	struct gjson_doc doc;
	char *c;

	(void)state;
	parse_ok("{ \"k y\" : \" a \\\" b \\\\\" , \"e\": \"\\u00e9 \\n\" }", 0,
	    &doc);
	c = gjson_compact(&doc, &doc.d_root);
	assert_string_equal(
	    c, "{\"k y\":\" a \\\" b \\\\\",\"e\":\"\\u00e9 \\n\"}");
	free(c);
	assert_string_equal(gjson_get(&doc.d_root, "k y")->j_str, " a \" b \\");
	assert_string_equal(gjson_get(&doc.d_root, "e")->j_str, "\xc3\xa9 \n");
	gjson_doc_free(&doc);
}

static void
test_strings_decoded(void **state)
{
	struct gjson_doc doc;
	const struct gjson *a;

	(void)state;
	parse_ok("[\"\\u0000x\",\"\\ud83d\\ude00\",\"\\/\\b\\f\\r\\t\","
		 "\"\xe2\x82\xac\"]",
	    0, &doc);
	a = &doc.d_root;
	assert_int_equal(a->j_el[0].j_len, 2);
	assert_memory_equal(a->j_el[0].j_str, "\0x", 2);
	assert_string_equal(a->j_el[1].j_str, "\xf0\x9f\x98\x80");
	assert_string_equal(a->j_el[2].j_str, "/\b\f\r\t");
	assert_string_equal(a->j_el[3].j_str, "\xe2\x82\xac");
	gjson_doc_free(&doc);
}

/* Go's leniency: bad bytes and lone surrogates become U+FFFD, duplicate
 * keys are kept and the last one is found. */
static void
test_go_mode(void **state)
{
	struct gjson_doc doc;
	const struct gjson *a;

	(void)state;
	parse_ok("{\"a\":[\"\xff\xfe\",\"\\udc00x\",\"\xed\xa0\x80\","
		 "\"\xc0\xaf\"],\"k\":1,\"K\":2,\"k\":3}",
	    GJSON_GO, &doc);
	a = gjson_get(&doc.d_root, "a");
	assert_string_equal(a->j_el[0].j_str, "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(a->j_el[1].j_str, "\xef\xbf\xbdx");
	/* An encoded surrogate and an overlong form: one U+FFFD a byte. */
	assert_string_equal(
	    a->j_el[2].j_str, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(a->j_el[3].j_str, "\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(doc.d_root.j_n, 4);
	assert_string_equal(gjson_get(&doc.d_root, "k")->j_str, "3");
	gjson_doc_free(&doc);
}

static void
test_strict_refusals(void **state)
{
	(void)state;
	parse_fails("{\"a\":1,\"b\":2,\"a\":3}", 0,
	    "invalid JSON at line 1, column 14: the key \"a\" appears twice in "
	    "one object; keep one");
	parse_fails("[\"ok\",\n \"\xff\"]", 0,
	    "invalid JSON at line 2, column 3: byte 0xff is not valid UTF-8");
	parse_fails("\"\\ud800\"", 0,
	    "invalid JSON at line 1, column 2: \\ud800 is half of a UTF-16 "
	    "surrogate pair; escape the whole character");
	/* Keys differing only in case are distinct JSON keys. */
	{
		struct gjson_doc doc;

		parse_ok("{\"a\":1,\"A\":2}", 0, &doc);
		gjson_doc_free(&doc);
	}
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	parse_fails("", 0,
	    "invalid JSON at line 1, column 1: unexpected end of the text");
	parse_fails("{\"a\":1,}", 0,
	    "invalid JSON at line 1, column 8: expected a quoted key, found "
	    "'}'");
	parse_fails("{\"a\" 1}", 0,
	    "invalid JSON at line 1, column 6: expected ':' after the key "
	    "\"a\"");
	parse_fails("[1 2]", 0,
	    "invalid JSON at line 1, column 4: expected ',' or ']' after an "
	    "array element, found '2'");
	parse_fails("01", 0,
	    "invalid JSON at line 1, column 2: unexpected '1' after the value");
	parse_fails("1.", 0,
	    "invalid JSON at line 1, column 3: malformed number (unexpected "
	    "the end of the text)");
	parse_fails("-x", 0,
	    "invalid JSON at line 1, column 2: malformed number (unexpected "
	    "'x')");
	parse_fails("\"a\nb\"", GJSON_GO,
	    "invalid JSON at line 1, column 3: control byte 0x0a inside a "
	    "string; write it as an escape such as \\n or \\u000a");
	parse_fails("\"\\x\"", 0,
	    "invalid JSON at line 1, column 2: unknown escape in a string");
	parse_fails("\"\\u12\"", 0,
	    "invalid JSON at line 1, column 2: \\u must be followed by 4 hex "
	    "digits");
	parse_fails("\"abc", 0,
	    "invalid JSON at line 1, column 1: a string is not closed with "
	    "'\"'");
	parse_fails("nul", 0,
	    "invalid JSON at line 1, column 1: expected a value, found 'n'");
	parse_fails("{} {}", 0,
	    "invalid JSON at line 1, column 4: unexpected '{' after the value");
}

static void
test_depth(void **state)
{
	char deep[2 * (GJSON_MAX_DEPTH + 1) + 1];
	struct gjson_doc doc;
	struct err err;

	(void)state;
	for (int i = 0; i < GJSON_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * GJSON_MAX_DEPTH - 1 - i] = ']';
	}
	deep[2 * GJSON_MAX_DEPTH] = '\0';
	memset(&doc, 0, sizeof(doc));
	assert_int_equal(gjson_parse(deep, strlen(deep), 0, &doc, &err), 0);
	gjson_doc_free(&doc);
	memmove(deep + 1, deep, strlen(deep) + 1);
	deep[0] = '[';
	(void)strlcat(deep, "]", sizeof(deep));
	parse_fails(deep, 0,
	    "invalid JSON at line 1, column 65: nested deeper than 64 levels");
}

static void
test_uint(void **state)
{
	struct gjson_doc doc;
	const struct gjson *a;
	uint64_t n = 7;

	(void)state;
	parse_ok("[0, 42, 1024, 1025, 3.0, -1, 1e2, 18446744073709551615, "
		 "18446744073709551616, \"3\"]",
	    0, &doc);
	a = &doc.d_root;
	assert_int_equal(gjson_uint(&a->j_el[0], 1024, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(gjson_uint(&a->j_el[1], 1024, &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(gjson_uint(&a->j_el[2], 1024, &n), 0);
	assert_int_equal(gjson_uint(&a->j_el[3], 1024, &n), -1);
	assert_int_equal(gjson_uint(&a->j_el[4], 1024, &n), -1);
	assert_int_equal(gjson_uint(&a->j_el[5], 1024, &n), -1);
	assert_int_equal(gjson_uint(&a->j_el[6], 1024, &n), -1);
	assert_int_equal(gjson_uint(&a->j_el[7], UINT64_MAX, &n), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(gjson_uint(&a->j_el[8], UINT64_MAX, &n), -1);
	assert_int_equal(gjson_uint(&a->j_el[9], 1024, &n), -1);
	assert_int_equal(gjson_uint(NULL, 1024, &n), -1);
	gjson_doc_free(&doc);
}

static void
test_suggest(void **state)
{
	static const char *const names[] = { "Allocation", "Instance", "Flavor",
		"Updating", NULL };

	(void)state;
	assert_string_equal(suggest_name("Allocaton", names), "Allocation");
	assert_string_equal(suggest_name("flavour", names), "Flavor");
	assert_string_equal(suggest_name("INSTANCES", names), "Instance");
	assert_null(suggest_name("Extra", names));
	assert_null(suggest_name("", names));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_compact_keeps_strings),
		cmocka_unit_test(test_strings_decoded),
		cmocka_unit_test(test_go_mode),
		cmocka_unit_test(test_strict_refusals),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_suggest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
