/*
 * Unit tests: model/attach.c — which attachments are disks, the names
 * their IDs give (lower case: macOS's file systems ignore case), and what
 * a Spec's list of disks may hold. The messages for bad IDs are golden
 * cases of tests/data/specjson/errors.txt (test_specjson).
 */
#include "cm_compat.h"

#include <string.h>

#include "model/attach.h"
#include "util/err.h"

static void
test_types(void **state)
{
	(void)state;
	assert_true(attach_is_disk("disk"));
	assert_true(attach_is_disk("vmdk"));
	assert_true(attach_is_disk("Disk"));
	assert_false(attach_is_disk("nic"));
	assert_false(attach_is_disk(""));
	assert_false(attach_is_disk(NULL));
}

static void
test_names(void **state)
{
	static const char *const good[][2] = { { "db-data", "db-data" },
		{ "Disk-1", "disk-1" }, { "a", "a" }, { "0.x_y-Z", "0.x_y-z" },
		{ "vol-0ABCdef", "vol-0abcdef" } };
	static const char *const bad[] = { "", ".", "..", "../x", "a/b", "/abs",
		"-x", "_x", "a b", "a\tb", "a:b", "caf\xc3\xa9", "x\\y", "a*",
		"a?", "%2e%2e" };
	char out[ATTACH_ID_MAX + 1], longid[ATTACH_ID_MAX + 2];
	struct err err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(
		    attach_disk_name(good[i][0], "ID", out, sizeof(out), &err),
		    0);
		assert_string_equal(out, good[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&err);
		assert_int_equal(
		    attach_disk_name(bad[i], "ID", out, sizeof(out), &err), -1);
		assert_int_equal(err.code, EIK_INVAL);
		assert_non_null(strstr(err.msg, "ID"));
	}
	memset(longid, 'a', ATTACH_ID_MAX);
	longid[ATTACH_ID_MAX] = '\0';
	assert_int_equal(
	    attach_disk_name(longid, "ID", out, sizeof(out), &err), 0);
	longid[ATTACH_ID_MAX] = 'a';
	longid[ATTACH_ID_MAX + 1] = '\0';
	assert_int_equal(
	    attach_disk_name(longid, "ID", out, sizeof(out), &err), -1);
}

static void
test_disks_of_a_spec(void **state)
{
	struct attachment att[] = { { (char *)"nic-0", (char *)"nic" },
		{ (char *)"Data", (char *)"disk" },
		{ (char *)"../not-a-disk", (char *)"gpu" },
		{ (char *)"logs", (char *)"vmdk" } };
	struct inst_spec s;
	struct att_name names[ATTACH_MAX_DISKS];
	struct err err;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.s_att = att;
	s.s_n_att = 4;
	/* Other types are not disks: their IDs are not looked at. */
	assert_int_equal(
	    attach_disks(&s, "A", names, ATTACH_MAX_DISKS, &err), 2);
	assert_string_equal(names[0].an_name, "data");
	assert_int_equal(names[0].an_index, 1);
	assert_string_equal(names[1].an_name, "logs");
	assert_int_equal(names[1].an_index, 3);
	/* One slot only: the second disk is one too many. */
	assert_int_equal(attach_disks(&s, "A", names, 1, &err), -1);
	assert_string_equal(err.msg,
	    "A[3].ID: an instance has at most 1 disk attachments "
	    "(ATTACH_MAX_DISKS); this is one more");
	/* The same disk twice, in another case. */
	att[3].a_id = (char *)"DATA";
	assert_int_equal(
	    attach_disks(&s, "A", names, ATTACH_MAX_DISKS, &err), -1);
	assert_string_equal(err.msg,
	    "A[3].ID \"DATA\" names the disk of A[1] again (IDs ignore "
	    "case); each disk is attached once");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_disks_of_a_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
