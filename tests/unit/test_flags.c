/* Unit tests: cmd/flags.c — parsing from a table, --help, "did you mean". */
#include "cm_compat.h"

#include <stdbool.h>

#include "cmd/flags.h"

struct opts {
	bool o_all;
	bool o_quiet;
	bool o_props;
	char o_name[16];
	char o_key[64];
	unsigned o_ms;
};

#define O(field) offsetof(struct opts, field), sizeof(((struct opts *)0)->field)

static const struct flag table[] = {
	{ "all", 0, NULL, "everything", flag_bool, O(o_all) },
	{ "quiet", 'q', NULL, "only IDs", flag_bool, O(o_quiet) },
	{ "properties", 'p', NULL, "more\ncolumns", flag_bool, O(o_props) },
	{ "name", 0, "NAME", "the name", flag_string, O(o_name) },
	{ "identity", 'i', "FILE", "a key", flag_string, O(o_key) },
	{ "timeout", 0, "D", NULL, flag_duration, O(o_ms) },
	{ "a-very-long-flag-name", 0, "X", "aligned after two spaces",
	    flag_string, O(o_key) },
	{ NULL, 0, NULL, NULL, NULL, 0, 0 },
};
static const struct flag *const tables[] = { table, NULL };

/* Runs flags_parse on a NULL-terminated argv; stderr's text into err. */
static int
parse(const char *const *args, unsigned mode, struct opts *o, char **ops,
    char *err, size_t errlen)
{
	char *argv[32];
	int argc = 0, rc, saved = dup(2);
	FILE *tmp = tmpfile();
	size_t n;

	assert_non_null(tmp);
	argv[argc++] = (char *)"prog";
	for (size_t i = 0; args[i] != NULL; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	memset(o, 0, sizeof(*o));
	fflush(stderr);
	assert_int_not_equal(dup2(fileno(tmp), 2), -1);
	rc = flags_parse(tables, mode, "test", argc, argv, o, ops);
	fflush(stderr);
	assert_int_not_equal(dup2(saved, 2), -1);
	close(saved);
	rewind(tmp);
	n = fread(err, 1, errlen - 1, tmp);
	err[n] = '\0';
	fclose(tmp);
	return rc;
}

static void
test_forms(void **state)
{
	static const char *const a[] = { "x", "--all", "-qp", "--name=web",
		"-ikey1", "y", "--timeout", "2m0.5s", "--", "--all", NULL };
	struct opts o;
	char *ops[32], err[512];

	(void)state;
	assert_int_equal(parse(a, FLAGS_PERMUTE, &o, ops, err, sizeof(err)), 3);
	assert_true(o.o_all && o.o_quiet && o.o_props);
	assert_string_equal(o.o_name, "web");
	assert_string_equal(o.o_key, "key1");
	assert_int_equal(o.o_ms, 120500); /* Go's syntax (util/dur.h) */
	/* Operands in order; "--" ends the flags. */
	assert_string_equal(ops[0], "x");
	assert_string_equal(ops[1], "y");
	assert_string_equal(ops[2], "--all");
	assert_string_equal(err, "");
}

static void
test_stop_at_operand(void **state)
{
	static const char *const a[] = { "-q", "ID", "--all", "-", NULL };
	struct opts o;
	char *ops[32], err[512];

	(void)state;
	assert_int_equal(parse(a, 0, &o, ops, err, sizeof(err)), 3);
	assert_true(o.o_quiet);
	assert_false(o.o_all);
	assert_string_equal(ops[1], "--all");
	assert_string_equal(ops[2], "-");
}

static void
test_values(void **state)
{
	static const char *const sep[] = { "-i", "k2", "--name", "n", NULL };
	static const char *const missing[] = { "--name", NULL };
	static const char *const unwanted[] = { "--all=yes", NULL };
	static const char *const toolong[] = { "--name",
		"a-name-over-fifteen-bytes", NULL };
	static const char *const baddur[] = { "--timeout", "soon", NULL };
	struct opts o;
	char *ops[32], err[512];

	(void)state;
	assert_int_equal(parse(sep, 0, &o, ops, err, sizeof(err)), 0);
	assert_string_equal(o.o_key, "k2");
	assert_int_equal(
	    parse(missing, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_non_null(strstr(err, "test: --name needs a value"));
	assert_int_equal(
	    parse(unwanted, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_non_null(strstr(err, "--all takes no value"));
	assert_int_equal(
	    parse(toolong, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_non_null(strstr(err, "--name: at most 15 bytes"));
	assert_int_equal(
	    parse(baddur, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_non_null(strstr(err,
	    "--timeout \"soon\" is not a duration; write a duration such "
	    "as 30s"));
}

static void
test_prefix_and_hint(void **state)
{
	static const char *const pre[] = { "--prop", NULL };
	static const char *const typo[] = { "--quite", NULL };
	static const char *const swap[] = { "--nmae", "x", NULL };
	static const char *const dash[] = { "-all", NULL };
	static const char *const none[] = { "--bogus", NULL };
	struct opts o;
	char *ops[32], err[512];

	(void)state;
	/* An unambiguous prefix is the flag, as with getopt_long. */
	assert_int_equal(parse(pre, 0, &o, ops, err, sizeof(err)), 0);
	assert_true(o.o_props);
	assert_int_equal(parse(typo, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_string_equal(err,
	    "test: unknown flag --quite (did you mean --quiet?); see --help\n");
	assert_int_equal(parse(swap, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_non_null(strstr(err, "did you mean --name?"));
	/* One dash before a long name. */
	assert_int_equal(parse(dash, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_non_null(strstr(err, "unknown flag -all (did you mean --all?)"));
	assert_int_equal(parse(none, 0, &o, ops, err, sizeof(err)), FLAGS_ERR);
	assert_string_equal(err, "test: unknown flag --bogus (see --help)\n");
	assert_null(flags_closest("zzzzzz", (const char *[]){ "all", NULL }));
	assert_int_equal(flags_distance("kitten", "sitting", 5), 3);
	assert_int_equal(flags_distance("abc", "xyz123", 2), 3);
}

static void
test_help(void **state)
{
	static const char *const h[] = { "--all", "--help", "--quiet", NULL };
	static const char *const hs[] = { "-h", NULL };
	struct opts o;
	char *ops[32], err[512], out[2048];
	FILE *f = tmpfile();
	size_t n;

	(void)state;
	/* The flags before --help are set, none after it. */
	assert_int_equal(parse(h, 0, &o, ops, err, sizeof(err)), FLAGS_HELP);
	assert_true(o.o_all);
	assert_false(o.o_quiet);
	assert_int_equal(parse(hs, 0, &o, ops, err, sizeof(err)), FLAGS_HELP);
	assert_non_null(f);
	flags_help(f, tables);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	assert_string_equal(out,
	    "  --all                everything\n"
	    "  -q, --quiet          only IDs\n"
	    "  -p, --properties     more\n"
	    "                       columns\n"
	    "  --name NAME          the name\n"
	    "  -i, --identity FILE  a key\n"
	    "  --a-very-long-flag-name X  aligned after two spaces\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_stop_at_operand),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_prefix_and_hint),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
