/* Unit tests: gstore.c — safe file names for any group ID, the group file
 * round trip (the spec's bytes and hash kept, compat mode kept), refusals
 * naming what is wrong, and save / load / quarantine / remove on disk. */
#include "cm_compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <unistd.h>

#include "group/gstore.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"

static void
name_is(const char *id, const char *want)
{
	char out[GSTORE_NAME_MAX];

	assert_int_equal(gstore_name(id, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_names(void **state)
{
	char a[GSTORE_NAME_MAX], b[GSTORE_NAME_MAX], id[300];

	(void)state;
	name_is("web", "web.json");
	name_is("web-1_a", "web-1_a.json");
	/* Case-insensitive file systems must not merge "Web" and "web". */
	name_is("Web", "%57eb.json");
	name_is(".hidden", "%2ehidden.json");
	name_is("a/b", "a%2fb.json");
	name_is("../x", "%2e%2e%2fx.json");
	name_is("caf\xc3\xa9", "caf%c3%a9.json");
	name_is("a~b", "a%7eb.json");
	/* Long IDs: a prefix, then the whole ID's digest. */
	memset(id, 'a', 200);
	id[200] = '\0';
	assert_int_equal(gstore_name(id, a, sizeof(a)), 0);
	assert_int_equal(strlen(a), GSTORE_NAME_KEEP + 1 + 40 + 5);
	assert_int_equal(strncmp(a, id, GSTORE_NAME_KEEP), 0);
	assert_int_equal(a[GSTORE_NAME_KEEP], '~');
	assert_string_equal(a + strlen(a) - 5, ".json");
	id[199] = 'b';
	assert_int_equal(gstore_name(id, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_true(strlen(a) < 255);
	/* Every escaped byte costs 3: 54 of them still fit under the cut. */
	memset(id, 'A', 100);
	id[100] = '\0';
	assert_int_equal(gstore_name(id, a, sizeof(a)), 0);
	assert_non_null(strchr(a, '~'));
	assert_int_equal(gstore_name("x", a, 8), -1);
}

static void
rec_of(const char *spec, unsigned flags, struct gstore_rec *r)
{
	struct err err;

	memset(r, 0, sizeof(*r));
	if (gspec_parse(spec, strlen(spec), flags, &r->gr_spec, &err) != 0)
		fail_msg("%s", err.msg);
	r->gr_flags = flags;
	r->gr_spec_json = gspecjson_dump(&r->gr_spec, &err);
	assert_non_null(r->gr_spec_json);
}

#define SPEC                                                                   \
	"{\"ID\":\"web\",\"Properties\":{\"Allocation\":{\"Size\":3},"         \
	"\"Instance\":{\"Plugin\":\"vmware-fusion\",\"Properties\":{"          \
	"\"VMX\":\"a\",\"NumCPUs\":1.0,\"MemorySizeMBs\":5.12e2}},"            \
	"\"Flavor\":{\"Plugin\":\"vanilla\",\"Properties\":{\"Init\":["        \
	"\"echo \\u003chi\\u003e\"]}},\"Recovery\":{\"MaxFailures\":5}}}"

static void
test_round_trip(void **state)
{
	struct gstore_rec r, back;
	char h1[GHASH_TEXT_MAX + 1], h2[GHASH_TEXT_MAX + 1], *text;
	struct err err;

	(void)state;
	rec_of(SPEC, 0, &r);
	r.gr_state = GSTORE_DESTROYING;
	r.gr_rolling = true;
	r.gr_failures = 2;
	r.gr_failed_at = INT64_C(1764590000123);
	(void)strlcpy(r.gr_error, "i-1: boom \xff", sizeof(r.gr_error));
	text = gstore_encode(&r, &err);
	assert_non_null(text);
	/* The spec's own bytes are in the file. */
	assert_non_null(
	    strstr(text, "\"NumCPUs\":1.0,\"MemorySizeMBs\":5.12e2"));
	assert_non_null(strstr(text, "\\u003chi\\u003e"));
	memset(&back, 0, sizeof(back));
	if (gstore_decode(text, strlen(text), &back, &err) != 0)
		fail_msg("%s: %s", text, err.msg);
	assert_string_equal(back.gr_spec_json, r.gr_spec_json);
	assert_int_equal(back.gr_state, GSTORE_DESTROYING);
	assert_true(back.gr_rolling);
	assert_int_equal(back.gr_failures, 2);
	assert_true(back.gr_failed_at == INT64_C(1764590000123));
	/* Not UTF-8 in an error message: made '?', never a refused file. */
	assert_string_equal(back.gr_error, "i-1: boom ?");
	assert_int_equal(back.gr_spec.g_max_failures, 5);
	assert_int_equal(gspec_hash(&r.gr_spec, GHASH_MASTER, h1, &err), 0);
	assert_int_equal(gspec_hash(&back.gr_spec, GHASH_MASTER, h2, &err), 0);
	assert_string_equal(h1, h2);
	free(text);
	gstore_rec_free(&back);
	gstore_rec_free(&r);
}

static void
test_compat_kept(void **state)
{
	/* A duplicate key only compat mode takes: the file says Compat. */
	const char *spec =
	    "{\"ID\":\"c\",\"Properties\":{\"Allocation\":{\"Size\":1},"
	    "\"Instance\":{\"Plugin\":\"p\",\"Properties\":{\"a\":1,\"a\":2}},"
	    "\"Flavor\":{\"Plugin\":\"vanilla\"},\"Bogus\":1}}";
	struct gstore_rec r, back;
	struct err err;
	char *text;

	(void)state;
	rec_of(spec, GSPEC_COMPAT, &r);
	text = gstore_encode(&r, &err);
	assert_non_null(strstr(text, "\"Compat\":true"));
	memset(&back, 0, sizeof(back));
	assert_int_equal(gstore_decode(text, strlen(text), &back, &err), 0);
	assert_int_equal(back.gr_flags, GSPEC_COMPAT);
	assert_string_equal(back.gr_spec_json, r.gr_spec_json);
	free(text);
	gstore_rec_free(&back);
	gstore_rec_free(&r);
}

static void
refused(const char *text, const char *want)
{
	struct gstore_rec r;
	struct err err;

	memset(&r, 0, sizeof(r));
	err_clear(&err);
	assert_int_equal(gstore_decode(text, strlen(text), &r, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err.msg, want);
	gstore_rec_free(&r);
}

#define HEAD(v, st, id)                                                        \
	"{\"Version\":" v ",\"ID\":\"" id "\",\"State\":\"" st                 \
	"\",\"Compat\":false,\"Rolling\":false,\"Failures\":0,"                \
	"\"FailedAt\":0,\"Error\":\"\",\"Spec\":"

static void
test_refusals(void **state)
{
	(void)state;
	refused("[]", "not a JSON object");
	refused(HEAD("2", "managing", "web") SPEC "}", "Version 2");
	refused(HEAD("1", "gone", "web") SPEC "}", "State \"gone\"");
	refused(HEAD("1", "managing", "other") SPEC "}", "is not the Spec's");
	refused(HEAD("1", "managing", "web") "[]}", "Spec must be");
	refused(
	    HEAD("1", "managing", "web") "{\"ID\":\"web\",\"Properties\":{}}}",
	    "Allocation must not be blank");
	refused("{\"Version\":1,\"ID\":\"web\",\"State\":\"managing\"}",
	    "Compat must be true or false");
}

static int
take(void *arg, struct gstore_rec *r)
{
	char *ids = arg;

	(void)strlcat(ids, r->gr_spec.g_id, 256);
	(void)strlcat(ids, ",", 256);
	gstore_rec_free(r);
	free(r);
	return 0;
}

static size_t
count_corrupt(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".corrupt-") != NULL;
	(void)closedir(d);
	return n;
}

/* A groups "directory" that is a symbolic link or a file is refused. */
static void
test_open_refusals(void **state)
{
	char *base = cm_tmpdir(), dir[PATH_BUF], other[PATH_BUF];
	struct err err;

	(void)state;
	(void)snprintf(other, sizeof(other), "%s/elsewhere", base);
	assert_int_equal(mkdir(other, 0700), 0);
	(void)snprintf(dir, sizeof(dir), "%s/groups", base);
	assert_int_equal(symlink(other, dir), 0);
	err_clear(&err);
	assert_int_equal(gstore_open(base, dir, sizeof(dir), &err), -1);
	assert_non_null(strstr(err.msg, "a symbolic link"));
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(atomic_write_file(dir, "x", 1, 0600, &err), 0);
	assert_int_equal(gstore_open(base, dir, sizeof(dir), &err), -1);
	assert_non_null(strstr(err.msg, "is not a directory (a file)"));
	(void)rm_tree(base, NULL);
	free(base);
}

static void
test_files(void **state)
{
	char *base = cm_tmpdir(), dir[PATH_BUF], p[PATH_BUF], ids[256] = "";
	struct gstore_rec a, b;
	struct err err;

	(void)state;
	log_init(LOG_LVL_QUIET, NULL);
	assert_int_equal(gstore_open(base, dir, sizeof(dir), &err), 0);
	/* Nothing made until a group is saved; an empty load meanwhile. */
	assert_false(is_dir(dir));
	assert_int_equal(gstore_load(dir, take, ids, &err), 0);
	rec_of(SPEC, 0, &a);
	rec_of("{\"ID\":\"Alpha\",\"Properties\":{\"Allocation\":{\"Size\":1},"
	       "\"Instance\":{\"Plugin\":\"p\"},\"Flavor\":{\"Plugin\":"
	       "\"vanilla\"}}}",
	    0, &b);
	assert_int_equal(gstore_save(dir, &a, &err), 0);
	assert_true(is_dir(dir));
	assert_int_equal(gstore_save(dir, &b, &err), 0);
	a.gr_rolling = true;
	assert_int_equal(gstore_save(dir, &a, &err), 0); /* replaces */
	(void)snprintf(p, sizeof(p), "%s/zz.json", dir);
	assert_int_equal(
	    atomic_write_file(p, "{\"Version\":", 11, 0600, &err), 0);
	(void)snprintf(p, sizeof(p), "%s/web.json.tmp.abc", dir);
	assert_int_equal(atomic_write_file(p, "x", 1, 0600, &err), 0);
	assert_int_equal(gstore_load(dir, take, ids, &err), 2);
	/* Name order: "%41lpha" sorts before "web". */
	assert_string_equal(ids, "Alpha,web,");
	assert_int_equal(count_corrupt(dir), 1);
	(void)snprintf(p, sizeof(p), "%s/zz.json", dir);
	assert_false(is_file(p));
	assert_int_equal(gstore_remove(dir, "web", &err), 0);
	assert_int_equal(gstore_remove(dir, "web", &err), 0); /* missing */
	ids[0] = '\0';
	assert_int_equal(gstore_load(dir, take, ids, &err), 1);
	assert_string_equal(ids, "Alpha,");
	gstore_rec_free(&a);
	gstore_rec_free(&b);
	(void)rm_tree(base, NULL);
	free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_compat_kept),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
