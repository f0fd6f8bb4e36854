/* Unit tests: fsutil.c — atomic writes, safe removal, sparse copies. */
#include "cm_compat.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "util/err.h"
#include "util/fsutil.h"

static void
test_atomic_write(void **state)
{
	char *dir = cm_tmpdir(), p[600], *text;
	struct err err;
	struct stat st;
	size_t len;

	(void)state;
	(void)snprintf(p, sizeof(p), "%s/f.json", dir);
	assert_int_equal(atomic_write_file(p, "one", 3, 0600, &err), 0);
	assert_int_equal(atomic_write_file(p, "two!", 4, 0640, &err), 0);
	assert_int_equal(read_file_max(p, 100, &text, &len, &err), 0);
	assert_string_equal(text, "two!");
	assert_int_equal(len, 4);
	free(text);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* No temp files left. */
	assert_int_equal(read_file_max(p, 3, &text, &len, &err), -1);
	assert_non_null(strstr(err.msg, "limit"));
	(void)snprintf(p, sizeof(p), "%s/missing/f", dir);
	assert_int_equal(atomic_write_file(p, "x", 1, 0600, &err), -1);
	assert_non_null(strstr(err.msg, "missing"));
	assert_int_equal(rm_tree(dir, &err), 0);
	free(dir);
}

static void
test_rm_tree_no_follow(void **state)
{
	char *dir = cm_tmpdir(), *outside = cm_tmpdir();
	char p[600], q[600];
	struct err err;

	(void)state;
	(void)snprintf(p, sizeof(p), "%s/keep", outside);
	assert_int_equal(atomic_write_file(p, "x", 1, 0600, &err), 0);
	(void)snprintf(p, sizeof(p), "%s/a/b/c", dir);
	assert_int_equal(mkdir_p(p, 0700, &err), 0);
	(void)snprintf(q, sizeof(q), "%s/a/b/c/file", dir);
	assert_int_equal(atomic_write_file(q, "x", 1, 0600, &err), 0);
	/* A symlink to a directory outside must be removed, not followed. */
	(void)snprintf(q, sizeof(q), "%s/a/link", dir);
	assert_int_equal(symlink(outside, q), 0);
	(void)snprintf(p, sizeof(p), "%s/a", dir);
	assert_int_equal(rm_tree(p, &err), 0);
	assert_false(is_dir(p));
	(void)snprintf(p, sizeof(p), "%s/keep", outside);
	assert_true(is_file(p));
	assert_int_equal(rm_tree(p, &err), 0);
	assert_int_equal(rm_tree("/nonexistent/path/xyz", &err), 0);
	assert_int_equal(rm_tree(outside, &err), 0);
	assert_int_equal(rm_tree(dir, &err), 0);
	free(dir);
	free(outside);
}

static void
test_copy_sparse(void **state)
{
	char *dir = cm_tmpdir(), a[600], b[600], *x, *y;
	struct err err;
	struct stat sa, sb;
	enum copy_how how;
	size_t la, lb;
	int fd;

	(void)state;
	(void)snprintf(a, sizeof(a), "%s/disk.vmdk", dir);
	(void)snprintf(b, sizeof(b), "%s/copy.vmdk", dir);
	fd = open(a, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "head", 4, 0), 4);
	assert_int_equal(pwrite(fd, "tail", 4, 64 * 1024 * 1024), 4);
	assert_int_equal(close(fd), 0);
	assert_int_equal(copy_file(a, b, 0644, 0, &how, &err), 0);
	assert_int_equal(how, COPY_STREAM);
	assert_int_equal(stat(a, &sa), 0);
	assert_int_equal(stat(b, &sb), 0);
	assert_true(sa.st_size == sb.st_size);
	/* Holes stay holes: far fewer blocks than the size. */
	assert_true((long long)sb.st_blocks * 512 < 4 * 1024 * 1024);
	assert_int_equal(read_file_max(a, 128 << 20, &x, &la, &err), 0);
	assert_int_equal(read_file_max(b, 128 << 20, &y, &lb, &err), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(x, y, la);
	free(x);
	free(y);
	/* The destination must not exist. */
	assert_int_equal(copy_file(a, b, 0644, 1, &how, &err), -1);
	assert_int_equal(rm_tree(dir, &err), 0);
	free(dir);
}

/* Files that report size 0 (procfs) are read to their end: the QEMU
 * backend's PID check once failed on this and a destroy deleted a running
 * VM's files. */
static void
test_read_procfs(void **state)
{
	char *text = NULL;
	size_t len = 0;
	struct err err;

	(void)state;
	if (access("/proc/self/stat", R_OK) != 0)
		skip();
	assert_int_equal(
	    read_file_max("/proc/self/stat", 4096, &text, &len, &err), 0);
	assert_true(len > 10);
	assert_non_null(strchr(text, ')'));
	free(text);
	assert_int_equal(
	    read_file_max("/proc/self/cmdline", 1 << 20, &text, &len, &err), 0);
	assert_true(len > 0);
	free(text);
	assert_int_equal(
	    read_file_max("/proc/self/stat", 5, &text, &len, &err), -1);
	assert_non_null(strstr(err.msg, "limit"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_rm_tree_no_follow),
		cmocka_unit_test(test_copy_sparse),
		cmocka_unit_test(test_read_procfs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
