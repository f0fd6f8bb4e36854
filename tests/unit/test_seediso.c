/*
 * Unit tests: seediso.c — images are read back with an independent tool,
 * xorriso/osirrox (libisofs), run through proc.c. Skipped when xorriso is
 * not installed.
 */
#include "cm_compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <time.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/proc.h"
#include "guest/seediso.h"

#define TOOL_OUTPUT_MAX (1024 * 1024)

static const char user_data[] = "#cloud-config\n"
				"hostname: web-1\n"
				"runcmd:\n"
				"  - [sh, -c, \"echo h\xc3\xa9llo\"]\n";
static const char meta_data[] = "instance-id: \"i-6h26tjjs800\"\n"
				"local-hostname: \"web-1\"\n";
static const char network_config[] = "version: 2\n"
				     "ethernets:\n"
				     "  id0:\n"
				     "    match: {name: \"e*\"}\n"
				     "    dhcp4: true\n";

static const struct seed_file three[] = {
	{ "user-data", user_data, sizeof(user_data) - 1 },
	{ "meta-data", meta_data, sizeof(meta_data) - 1 },
	{ "network-config", network_config, sizeof(network_config) - 1 },
};

struct fixture {
	char *f_dir;
	char f_xorriso[PATH_BUF];
	char f_osirrox[PATH_BUF];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->f_dir = cm_tmpdir();
	if (proc_find_in_path("xorriso", f->f_xorriso, PATH_BUF) == -1)
		f->f_xorriso[0] = '\0';
	if (proc_find_in_path("osirrox", f->f_osirrox, PATH_BUF) == -1)
		f->f_osirrox[0] = '\0';
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	struct err err;

	if (f->f_dir != NULL) {
		/* A test may have left a read-only directory behind. */
		char p[PATH_BUF];

		(void)snprintf(p, sizeof(p), "%s/ro", f->f_dir);
		(void)chmod(p, 0700);
		(void)rm_tree(f->f_dir, &err);
	}
	free(f->f_dir);
	free(f);
	return 0;
}

static void
need_xorriso(const struct fixture *f)
{
	if (f->f_xorriso[0] == '\0' || f->f_osirrox[0] == '\0') {
		print_message("xorriso/osirrox not installed: skipped\n");
		skip();
	}
}

/* Runs argv (argv[0] absolute), asserts exit 0, returns stdout (caller
 * frees). */
static char *
run(const char *const *argv)
{
	struct proc_spec ps = { .ps_argv = argv,
		.ps_timeout_ms = 60000,
		.ps_max_output = TOOL_OUTPUT_MAX };
	struct proc_result res;
	struct err err;
	char *out;

	if (proc_run(&ps, &res, &err) == -1)
		fail_msg("%s: %s", argv[0], err.msg);
	if (res.pr_status != 0)
		fail_msg("%s %s: %s\n%s", argv[0], argv[1], res.pr_desc,
		    buf_str(&res.pr_err));
	out = buf_steal(&res.pr_out);
	assert_non_null(out);
	proc_result_free(&res);
	return out;
}

static void
read_back(const char *path, char **data, size_t *len)
{
	struct err err;

	if (read_file_max(path, 64 * 1024 * 1024, data, len, &err) == -1)
		fail_msg("%s", err.msg);
}

static void
assert_same_file(const char *path, const char *want, size_t wantlen)
{
	char *got;
	size_t len;

	read_back(path, &got, &len);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, wantlen);
	free(got);
}

/*
 * Checks the xorriso -lsl line of a file, e.g.
 * "-rw-r--r--    1 0        0              53 Jan  1  1970 'meta-data'".
 */
static void
assert_ls_line(const char *out, const struct seed_file *sf)
{
	char name[128], size[32];
	const char *end, *line;

	(void)snprintf(name, sizeof(name), " Jan  1  1970 '%s'\n", sf->sf_name);
	end = strstr(out, name);
	assert_non_null(end);
	for (line = end; line > out && line[-1] != '\n'; line--)
		;
	assert_int_equal(strncmp(line, "-rw-r--r--    1 0        0 ", 27), 0);
	(void)snprintf(size, sizeof(size), " %zu Jan", sf->sf_len);
	/* size ends with " Jan", which is where end points. */
	assert_ptr_equal(strstr(line, size), end - (strlen(size) - 4));
}

static void
test_read_back(void **state)
{
	struct fixture *f = *state;
	char iso[PATH_BUF], x[PATH_BUF], p[PATH_BUF], *out;
	struct stat st;
	struct err err;

	need_xorriso(f);
	(void)snprintf(iso, sizeof(iso), "%s/seed.iso", f->f_dir);
	assert_int_equal(seediso_write(iso, "cidata", three, 3, &err), 0);
	assert_int_equal(stat(iso, &st), 0);
	assert_int_equal(st.st_mode & 0777, SEEDISO_FILE_MODE);
	assert_int_equal(st.st_size % 2048, 0);

	/* The volume ID, exactly as given (not upper-cased). */
	{
		const char *argv[] = { f->f_xorriso, "-indev", iso, "-pvd_info",
			NULL };

		out = run(argv);
		assert_non_null(strstr(out, "Volume Id    : cidata\n"));
		/* Every descriptor date is the fixed time, in UTC. */
		assert_non_null(strstr(out, "Creation Time: 1970010100000000"));
		assert_non_null(strstr(out, "Modif. Time  : 1970010100000000"));
		free(out);
	}
	/* Rock Ridge: exact names, mode 0644, owner 0:0. */
	{
		const char *argv[] = { f->f_xorriso, "-indev", iso, "-lsl", "/",
			NULL };

		out = run(argv);
		assert_non_null(strstr(out, "total 3\n"));
		for (size_t i = 0; i < 3; i++)
			assert_ls_line(out, &three[i]);
		free(out);
	}
	/* Joliet alone keeps the names too. */
	{
		const char *argv[] = { f->f_xorriso, "-rockridge", "off",
			"-indev", iso, "-ls", "/", NULL };

		out = run(argv);
		assert_non_null(strstr(
		    out, "'meta-data'\n'network-config'\n'user-data'\n"));
		free(out);
	}
	/* Extracted contents are byte-identical. */
	(void)snprintf(x, sizeof(x), "%s/x", f->f_dir);
	{
		const char *argv[] = { f->f_osirrox, "-indev", iso, "-extract",
			"/", x, NULL };

		free(run(argv));
	}
	for (size_t i = 0; i < 3; i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", x, three[i].sf_name);
		assert_same_file(p, three[i].sf_data, three[i].sf_len);
	}
	/* Nothing else in the image. */
	{
		DIR *d = opendir(x);
		struct dirent *de;
		int n = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		(void)closedir(d);
		assert_int_equal(n, 3);
	}
}

/* Same input, same bytes: across seconds, time zones and rewrites. */
static void
test_deterministic(void **state)
{
	struct fixture *f = *state;
	char a[PATH_BUF], b[PATH_BUF], *da, *db;
	const char *tz = getenv("TZ");
	char *saved = tz != NULL ? strdup(tz) : NULL;
	size_t la, lb;
	struct err err;

	(void)snprintf(a, sizeof(a), "%s/a.iso", f->f_dir);
	(void)snprintf(b, sizeof(b), "%s/b.iso", f->f_dir);
	assert_int_equal(seediso_write(a, "cidata", three, 3, &err), 0);
	sleep_ms(1100);
	assert_int_equal(setenv("TZ", "Asia/Kolkata", 1), 0);
	tzset();
	assert_int_equal(seediso_write(b, "cidata", three, 3, &err), 0);
	if (saved != NULL)
		assert_int_equal(setenv("TZ", saved, 1), 0);
	else
		assert_int_equal(unsetenv("TZ"), 0);
	tzset();
	free(saved);
	read_back(a, &da, &la);
	read_back(b, &db, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	free(db);

	/* Rewriting replaces the file; no temporary file is left. */
	assert_int_equal(seediso_write(a, "cidata", three, 2, &err), 0);
	read_back(a, &db, &lb);
	assert_true(la != lb || memcmp(da, db, la) != 0);
	free(da);
	free(db);
	{
		DIR *d = opendir(f->f_dir);
		struct dirent *de;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			assert_null(strstr(de->d_name, ".tmp."));
		(void)closedir(d);
	}
}

/* Larger files span many sectors; empty ones and other names work. */
static void
test_sizes(void **state)
{
	struct fixture *f = *state;
	char iso[PATH_BUF], x[PATH_BUF], p[PATH_BUF], *big;
	const size_t bigsz = 600 * 1024 + 7;
	struct seed_file files[3];
	struct err err;

	need_xorriso(f);
	big = malloc(bigsz);
	assert_non_null(big);
	for (size_t i = 0; i < bigsz; i++)
		big[i] = (char)(i * 31 + i / 2048);
	files[0] = (struct seed_file){ "user-data", big, bigsz };
	files[1] = (struct seed_file){ "meta-data", "", 0 };
	files[2] = (struct seed_file){ "vendor-data", "#cloud-config\n", 14 };
	(void)snprintf(iso, sizeof(iso), "%s/big.iso", f->f_dir);
	assert_int_equal(seediso_write(iso, "CIDATA", files, 3, &err), 0);
	{
		const char *argv[] = { f->f_xorriso, "-indev", iso, "-pvd_info",
			NULL };
		char *out = run(argv);

		assert_non_null(strstr(out, "Volume Id    : CIDATA\n"));
		free(out);
	}
	(void)snprintf(x, sizeof(x), "%s/bx", f->f_dir);
	{
		const char *argv[] = { f->f_osirrox, "-indev", iso, "-extract",
			"/", x, NULL };

		free(run(argv));
	}
	for (size_t i = 0; i < 3; i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", x, files[i].sf_name);
		assert_same_file(p, files[i].sf_data, files[i].sf_len);
	}
	free(big);
}

static void
test_errors(void **state)
{
	struct fixture *f = *state;
	char p[PATH_BUF], ro[PATH_BUF];
	struct seed_file dup[2] = { three[0], three[0] };
	struct seed_file bad = { "a/b", "x", 1 };
	struct err err;

	/* A directory that does not exist. */
	(void)snprintf(p, sizeof(p), "%s/missing/seed.iso", f->f_dir);
	assert_int_equal(seediso_write(p, "cidata", three, 3, &err), -1);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "No such file"));
	/* A parent that is a file. */
	(void)snprintf(p, sizeof(p), "%s/file", f->f_dir);
	assert_int_equal(atomic_write_file(p, "x", 1, 0600, &err), 0);
	(void)snprintf(p, sizeof(p), "%s/file/seed.iso", f->f_dir);
	assert_int_equal(seediso_write(p, "cidata", three, 3, &err), -1);
	assert_non_null(strstr(err.msg, p));
	/* A read-only directory (root may write anyway). */
	(void)snprintf(ro, sizeof(ro), "%s/ro", f->f_dir);
	assert_int_equal(mkdir(ro, 0500), 0);
	(void)snprintf(p, sizeof(p), "%s/seed.iso", ro);
	if (geteuid() != 0) {
		assert_int_equal(
		    seediso_write(p, "cidata", three, 3, &err), -1);
		assert_non_null(strstr(err.msg, p));
		assert_non_null(strstr(err.msg, "Permission denied"));
	}
	(void)chmod(ro, 0700);

	/* Bad input is refused before anything is written. */
	(void)snprintf(p, sizeof(p), "%s/bad.iso", f->f_dir);
	assert_int_equal(seediso_write(p, "ci data", three, 3, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg, "volume ID"));
	assert_int_equal(
	    seediso_write(p, "abcdefghijklmnopq", three, 3, &err), -1);
	assert_int_equal(seediso_write(p, "", three, 3, &err), -1);
	assert_int_equal(seediso_write(p, "cidata", dup, 2, &err), -1);
	assert_non_null(strstr(err.msg, "twice"));
	assert_int_equal(seediso_write(p, "cidata", &bad, 1, &err), -1);
	assert_non_null(strstr(err.msg, "a/b"));
	assert_false(is_file(p));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
