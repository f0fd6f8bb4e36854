/* Unit tests: buf.c — the bounded buffer never truncates silently. */
#include "cm_compat.h"

#include <errno.h>

#include "util/buf.h"

static void
test_add_and_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_addstr(&b, "abcd"), 0);
	assert_int_equal(buf_addstr(&b, "efgh"), 0);
	assert_int_equal(b.b_len, 8);
	assert_string_equal(buf_str(&b), "abcdefgh");
	/* One byte over the cap fails and leaves the content alone. */
	errno = 0;
	assert_int_equal(buf_addc(&b, 'x'), -1);
	assert_int_equal(errno, E2BIG);
	assert_string_equal(buf_str(&b), "abcdefgh");
	buf_free(&b);
}

static void
test_printf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(buf_str(&b), "42-x");
	assert_int_equal(buf_printf(&b, "%s", "1234567"), -1);
	assert_string_equal(buf_str(&b), "42-x");
	buf_reset(&b);
	assert_int_equal(b.b_len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void
test_steal(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 1 << 20);
	s = buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), 0);
	s = buf_steal(&b);
	assert_int_equal(strlen(s), 10000);
	assert_int_equal(b.b_len, 0);
	assert_null(b.b_data);
	free(s);
	buf_free(&b);
}

static void
test_binary(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.b_len, 3);
	assert_memory_equal(b.b_data, "a\0b", 4);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_cap),
		cmocka_unit_test(test_printf_cap),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
