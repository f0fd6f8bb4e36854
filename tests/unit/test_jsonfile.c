/*
 * Unit tests: jsonfile.c — a JSON file a user names is read and parsed
 * with messages that name the file and the place, never jansson's
 * "line -1, column -1" (issue 13).
 */
#include "cm_compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fsutil.h"
#include "model/jsonfile.h"

struct fx {
	char *dir;
	char path[600];
};

static const char *
put(struct fx *f, const char *name, const char *text)
{
	struct err err;

	(void)snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	assert_int_equal(
	    atomic_write_file(f->path, text, strlen(text), 0600, &err), 0);
	return f->path;
}

/* json_load_path(path) fails with exactly want ("%s" is the path). */
static void
fails_with(const char *path, size_t max, const char *want)
{
	char exp[1200];
	struct err err;

	err_clear(&err);
	(void)snprintf(exp, sizeof(exp), want, path);
	assert_null(json_load_path(path, max, 0, &err));
	assert_int_equal(err.code, EIK_INVAL);
	assert_string_equal(err.msg, exp);
	assert_null(strstr(err.msg, "-1"));
}

static void
test_unreadable(void **state)
{
	struct fx f = { cm_tmpdir(), "" };
	struct err err;

	(void)state;
	(void)snprintf(f.path, sizeof(f.path), "%s/missing.json", f.dir);
	fails_with(f.path, 1000, "cannot read %s: No such file or directory");
	fails_with(f.dir, 1000, "cannot read %s: Is a directory");
	put(&f, "big.json", "{\"Properties\": {\"VMX\": \"alpine\"}}");
	fails_with(f.path, 10,
	    "cannot read %s: it is more than 10 bytes, the limit for a "
	    "request");
	assert_int_equal(rm_tree(f.dir, &err), 0);
	free(f.dir);
}

static void
test_syntax(void **state)
{
	struct fx f = { cm_tmpdir(), "" };
	struct err err;

	(void)state;
	put(&f, "bad.json",
	    "{\n  \"Properties\": {\n    \"VMX\": \"a\",,\n  }\n}\n");
	fails_with(f.path, 1000,
	    "%s line 3 column 16: string or '}' expected near ','");
	/* At the end of the text jansson's column is 0: no column shown. */
	put(&f, "cut.json", "{\"a\":\n");
	fails_with(
	    f.path, 1000, "%s line 2: unexpected token near end of file");
	put(&f, "empty.json", " \n\t");
	fails_with(f.path, 1000, "%s is empty: it must hold a JSON object");
	put(&f, "num.json", "5");
	fails_with(
	    f.path, 1000, "%s line 1 column 1: '[' or '{' expected near '5'");
	assert_int_equal(rm_tree(f.dir, &err), 0);
	free(f.dir);
}

static void
test_good(void **state)
{
	static const char text[] =
	    "{\"Spec\": {\"Properties\": {}},\n \"x\": 1}";
	struct fx f = { cm_tmpdir(), "" };
	struct err err;
	json_t *v;
	char *got;
	size_t len;

	(void)state;
	put(&f, "ok.json", text);
	/* The bytes as they are (a group spec is sent as written). */
	assert_int_equal(jfile_read(f.path, 1000, &got, &len, &err), 0);
	assert_int_equal(len, strlen(text));
	assert_string_equal(got, text);
	free(got);
	v = json_load_path(f.path, 1000, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "x")), 1);
	json_decref(v);
	/* A symbolic link to the file is read like the file. */
	(void)snprintf(f.path, sizeof(f.path), "%s/link.json", f.dir);
	assert_int_equal(symlink("ok.json", f.path), 0);
	v = json_load_path(f.path, 1000, 0, &err);
	assert_non_null(v);
	json_decref(v);
	/* jansson's flags apply: a duplicate key refused, with its place. */
	put(&f, "dup.json", "{\"a\": 1, \"a\": 2}");
	assert_null(json_load_path(f.path, 1000, JSON_REJECT_DUPLICATES, &err));
	assert_non_null(strstr(err.msg, "dup.json line 1 column "));
	assert_non_null(strstr(err.msg, "duplicate object key"));
	assert_int_equal(rm_tree(f.dir, &err), 0);
	free(f.dir);
}

static void
test_stdin(void **state)
{
	struct fx f = { cm_tmpdir(), "" };
	struct err err;
	int saved = dup(STDIN_FILENO), fd;

	(void)state;
	assert_true(saved >= 0);
	put(&f, "in.json", "{\"a\":\n\n  tru}");
	fd = open(f.path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	(void)close(fd);
	assert_null(json_load_path("-", 1000, 0, &err));
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	(void)close(saved);
	assert_string_equal(
	    err.msg, "stdin line 3 column 5: invalid token near 'tru'");
	assert_int_equal(rm_tree(f.dir, &err), 0);
	free(f.dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_stdin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
