/*
 * Unit tests: store.c — records round trip; loading removes orphans and
 * staging leftovers, quarantines corrupt records, and never touches
 * directories that are not ours.
 */
#include "cm_compat.h"

#include <sys/stat.h>

#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "store/attach.h"
#include "store/ids.h"
#include "util/log.h"
#include "store/store.h"

static void
make_record(struct record *r, const char *id)
{
	memset(r, 0, sizeof(*r));
	(void)strlcpy(r->r_id, id, sizeof(r->r_id));
	(void)strlcpy(r->r_backend, "test", sizeof(r->r_backend));
	r->r_state = ST_RUNNING;
	(void)strlcpy(
	    r->r_spec.s_props.p_vmx, "alpine", sizeof(r->r_spec.s_props.p_vmx));
	r->r_spec.s_props.p_memsize_mb = 512;
	r->r_spec.s_props.p_numcpus = 1;
	r->r_spec.s_properties_json = strdup("{\"VMX\":\"alpine\"}");
	r->r_spec.s_init = strdup("echo hi");
	r->r_spec.s_logical_id = strdup("web-1");
	(void)tags_set(&r->r_tags, "infrakit.group", "g");
	(void)tags_set(&r->r_spec.s_tags, "infrakit.group", "g");
	r->r_template = strdup("/lib/alpine.vmwarevm/alpine.vmx");
	r->r_created_ms = 1800000000123LL;
	r->r_ip = strdup("10.0.0.1");
}

static void
test_text_round_trip(void **state)
{
	struct record a, b;
	struct err err;
	char *t;

	(void)state;
	make_record(&a, "i-00000000001");
	a.r_error = strdup("a \"quoted\"\nerror");
	t = record_to_text(&a);
	assert_non_null(t);
	memset(&b, 0, sizeof(b));
	assert_int_equal(record_from_text(t, strlen(t), &b, NULL, 0, &err), 0);
	assert_string_equal(b.r_id, a.r_id);
	assert_int_equal(b.r_state, ST_RUNNING);
	assert_string_equal(b.r_spec.s_logical_id, "web-1");
	assert_string_equal(b.r_spec.s_init, "echo hi");
	assert_string_equal(b.r_error, a.r_error);
	assert_string_equal(b.r_ip, "10.0.0.1");
	assert_null(b.r_mac);
	assert_true(b.r_created_ms == a.r_created_ms);
	assert_true(tags_equal(&a.r_tags, &b.r_tags));
	free(t);
	record_free(&a);
	record_free(&b);
}

static void
test_bad_text(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"Version\":2}",
		"{\"Version\":1,\"ID\":\"i-00000000001\",\"Backend\":\"t\","
		"\"State\":\"weird\"}",
		"{\"Version\":1,\"ID\":\"i-00000000001\",\"Backend\":\"t\","
		"\"State\":\"running\",\"Spec\":[]}",
		"{\"Version\":1,\"ID\":\"i-00000000001\",\"State\":\"running\","
		"\"Spec\":{\"Properties\":{\"VMX\":\"a\"}}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct record r;
		struct err err;

		memset(&r, 0, sizeof(r));
		err_clear(&err);
		assert_int_equal(
		    record_from_text(bad[i], strlen(bad[i]), &r, NULL, 0, &err),
		    -1);
		assert_true(err.msg[0] != '\0');
		record_free(&r);
	}
}

/*
 * A record written by another release (an unknown property, a value out of
 * today's range, a newer format version) still loads: refusing it would
 * orphan a running VM. The reader says what it overlooked.
 */
static void
test_lenient_record(void **state)
{
	static const char text[] =
	    "{\"Version\":3,\"ID\":\"i-00000000001\",\"Backend\":\"test\","
	    "\"State\":\"running\",\"Seq\":7,\"Future\":{\"x\":1},"
	    "\"Spec\":{\"Properties\":{\"VMX\":\"alpine\","
	    "\"MemorySizeMBs\":99999999,\"Hyperthreads\":true},"
	    "\"Tags\":{\"infrakit.group\":\"g\"},\"Init\":\"\"},"
	    "\"Tags\":{\"infrakit.group\":\"g\"}}";
	struct record r;
	struct err err;
	char note[512];

	(void)state;
	memset(&r, 0, sizeof(r));
	err_clear(&err);
	assert_int_equal(
	    record_from_text(text, strlen(text), &r, note, sizeof(note), &err),
	    0);
	assert_string_equal(r.r_id, "i-00000000001");
	assert_int_equal(r.r_state, ST_RUNNING);
	assert_true(r.r_seq == 7);
	assert_string_equal(r.r_spec.s_props.p_vmx, "alpine");
	/* Out of range: kept as it was, not reset. */
	assert_int_equal(r.r_spec.s_props.p_memsize_mb, 99999999);
	/* The unknown property survives in the verbatim Properties. */
	assert_non_null(strstr(r.r_spec.s_properties_json, "Hyperthreads"));
	assert_string_equal(tags_get(&r.r_tags, "infrakit.group"), "g");
	assert_non_null(strstr(note, "newer release"));
	assert_non_null(strstr(note, "Spec.Properties."));
	record_free(&r);
}

struct loaded {
	char ids[16][ID_MAX];
	int n;
};

static int
collect(void *arg, struct record *r)
{
	struct loaded *l = arg;

	(void)strlcpy(l->ids[l->n++], r->r_id, ID_MAX);
	record_free(r);
	free(r);
	return 0;
}

/* The service decides about orphans; this test removes them all. */
static int
remove_orphan(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return 1;
}

static void
write_file(const char *dir, const char *rel, const char *text)
{
	char p[PATH_BUF];
	struct err err;

	(void)snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(
	    atomic_write_file(p, text, strlen(text), 0600, &err), 0);
}

static void
test_load_and_recover(void **state)
{
	char *dir = cm_tmpdir(), p[PATH_BUF];
	struct store st;
	struct record r;
	struct loaded l;
	struct err err;
	struct stat sb;
	uint64_t maxid;
	long n;

	(void)state;
	assert_int_equal(store_open(&st, dir, &err), 0);
	/* Two good records, written out of order. */
	make_record(&r, "i-00000000002");
	assert_int_equal(store_write(&st, &r, &err), 0);
	record_free(&r);
	make_record(&r, "i-00000000001");
	assert_int_equal(store_write(&st, &r, &err), 0);
	record_free(&r);
	/* A corrupt record. */
	(void)snprintf(p, sizeof(p), "%s/i-00000000003", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(dir, "i-00000000003/instance.json", "{not json");
	/* A record whose ID is not its directory. */
	make_record(&r, "i-00000000009");
	(void)snprintf(p, sizeof(p), "%s/i-00000000004", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	{
		char *t = record_to_text(&r);

		write_file(dir, "i-00000000004/instance.json", t);
		free(t);
	}
	record_free(&r);
	/* An orphan (no record) and a directory that is not ours. */
	(void)snprintf(p, sizeof(p), "%s/i-00000000005", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(dir, "i-00000000005/leftover", "x");
	(void)snprintf(p, sizeof(p), "%s/user-stuff", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	/* A staging leftover. */
	(void)snprintf(p, sizeof(p), "%s/.staging/i-00000000006", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(dir, ".staging/i-00000000006/disk.vmdk", "x");

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_clean_staging(&st, &err), 0);
	{
		struct store_scan sc = { collect, remove_orphan, &l };

		n = store_load(&st, &sc, &maxid, &err);
	}
	assert_int_equal(n, 2);
	assert_string_equal(l.ids[0], "i-00000000001");
	assert_string_equal(l.ids[1], "i-00000000002");
	{
		uint64_t v5;

		assert_int_equal(id_decode("i-00000000005", &v5), 0);
		assert_true(maxid == v5);
	}
	/* Corrupt ones quarantined, never deleted. */
	(void)snprintf(p, sizeof(p), "%s/i-00000000003/instance.json", dir);
	assert_int_equal(stat(p, &sb), -1);
	(void)snprintf(p, sizeof(p), "%s/i-00000000003", dir);
	assert_true(is_dir(p));
	(void)snprintf(p, sizeof(p), "%s/i-00000000004", dir);
	assert_true(is_dir(p));
	/* Orphan and staging removed; the user's directory kept. */
	(void)snprintf(p, sizeof(p), "%s/i-00000000005", dir);
	assert_false(is_dir(p));
	(void)snprintf(p, sizeof(p), "%s/.staging/i-00000000006", dir);
	assert_false(is_dir(p));
	(void)snprintf(p, sizeof(p), "%s/user-stuff", dir);
	assert_true(is_dir(p));

	/* A quarantined directory is not an orphan on the next load. */
	memset(&l, 0, sizeof(l));
	{
		struct store_scan sc = { collect, remove_orphan, &l };

		assert_int_equal(store_load(&st, &sc, &maxid, &err), 2);
	}
	(void)snprintf(p, sizeof(p), "%s/i-00000000003", dir);
	assert_true(is_dir(p));

	/* Remove: gone from disk. */
	assert_int_equal(store_remove(&st, "i-00000000001", &err), 0);
	(void)snprintf(p, sizeof(p), "%s/i-00000000001", dir);
	assert_false(is_dir(p));
	store_close(&st);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

static void
test_lock(void **state)
{
	char *dir = cm_tmpdir();
	struct store a, b;
	struct err err;

	(void)state;
	assert_int_equal(store_open(&a, dir, &err), 0);
	err_clear(&err);
	/* flock is per open file: a second open in one process conflicts. */
	assert_int_equal(store_open(&b, dir, &err), -1);
	assert_int_equal(err.code, EIK_BUSY);
	assert_non_null(strstr(err.msg, "another plugin"));
	store_close(&a);
	assert_int_equal(store_open(&b, dir, &err), 0);
	store_close(&b);
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

/* Disks of pets: made in .staging, renamed in complete, listed from their
 * attachment.json (or their files), removed through .staging; a symbolic
 * link named attachments is refused. */
static void
test_attachments(void **state)
{
	char *dir = cm_tmpdir();
	char scratch[PATH_BUF], p[PATH_BUF], tmp[PATH_BUF];
	struct att_meta m, back;
	struct att_list l;
	struct store st;
	struct err err;

	(void)state;
	assert_int_equal(store_open(&st, dir, &err), 0);
	assert_int_equal(
	    store_att_scratch(&st, "db-1", scratch, sizeof(scratch)), 0);
	(void)snprintf(p, sizeof(p), "%s/.staging/disk.db-1", dir);
	assert_string_equal(scratch, p);
	assert_int_equal(mkdir_p(scratch, 0700, &err), 0);
	write_file(dir, ".staging/disk.db-1/db-1.qcow2", "QFI");
	memset(&m, 0, sizeof(m));
	(void)strlcpy(m.am_id, "DB-1", sizeof(m.am_id));
	(void)strlcpy(m.am_type, "disk", sizeof(m.am_type));
	(void)strlcpy(m.am_format, "qcow2", sizeof(m.am_format));
	(void)strlcpy(m.am_backend, "qemu", sizeof(m.am_backend));
	(void)strlcpy(m.am_made_for, "i-00000000001", sizeof(m.am_made_for));
	m.am_size_gb = 3;
	m.am_created_ms = 1800000000123LL;
	assert_int_equal(store_att_meta_write(scratch, &m, &err), 0);
	assert_int_equal(store_att_commit(&st, scratch, "db-1", &err), 0);
	assert_false(is_dir(scratch));
	assert_int_equal(store_att_dir(&st, "db-1", p, sizeof(p)), 0);
	assert_int_equal(store_att_meta_read(p, &back, &err), 0);
	assert_string_equal(back.am_id, "DB-1");
	assert_int_equal(back.am_size_gb, 3);
	assert_true(back.am_created_ms == 1800000000123LL);
	/* A second commit of the same name does not replace the disk. */
	assert_int_equal(mkdir_p(scratch, 0700, &err), 0);
	write_file(dir, ".staging/disk.db-1/db-1.qcow2", "other");
	assert_int_equal(store_att_commit(&st, scratch, "db-1", &err), -1);

	/* Listed: ours with its metadata, one without (from its files),
	 * and names that are not disks of ours left alone. */
	(void)snprintf(p, sizeof(p), "%s/attachments/logs", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(dir, "attachments/logs/logs.vmdk", "# Disk DescriptorFile");
	(void)snprintf(p, sizeof(p), "%s/attachments/Upper", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(dir, "attachments/stray-file", "x");
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_att_list(&st, &l, &err), 0);
	assert_int_equal(l.al_n, 2);
	{
		struct att_view *a = att_list_get(&l, "db-1");
		struct att_view *b = att_list_get(&l, "logs");

		assert_int_equal(l.al_n, 2);
		assert_true(a->av_on_disk && b->av_on_disk);
		assert_string_equal(a->av_id, "DB-1");
		assert_string_equal(a->av_format, "qcow2");
		assert_int_equal(a->av_size_gb, 3);
		assert_string_equal(b->av_id, "logs");
		assert_string_equal(b->av_format, "vmdk");
		assert_int_equal(b->av_size_gb, 0);
	}
	att_list_free(&l);

	/* Removed: gone from its name, nothing left in .staging. */
	assert_int_equal(store_att_remove(&st, "db-1", &err), 0);
	assert_int_equal(store_att_dir(&st, "db-1", p, sizeof(p)), 0);
	assert_false(is_dir(p));
	err_clear(&err);
	assert_int_equal(store_att_remove(&st, "db-1", &err), -1);
	assert_int_equal(err.code, EIK_NOTFOUND);
	assert_int_equal(rm_tree(scratch, NULL), 0);
	/* Nothing of it is left in .staging (rmdir works on an empty
	 * directory only). */
	(void)snprintf(p, sizeof(p), "%s/.staging", dir);
	assert_int_equal(rmdir(p), 0);
	store_close(&st);

	/* attachments as a symbolic link: the store does not open. */
	(void)snprintf(p, sizeof(p), "%s/attachments", dir);
	(void)snprintf(tmp, sizeof(tmp), "%s/elsewhere", dir);
	assert_int_equal(rm_tree(p, NULL), 0);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(symlink(tmp, p), 0);
	err_clear(&err);
	assert_int_equal(store_open(&st, dir, &err), -1);
	assert_non_null(strstr(err.msg, "is a symbolic link, not a directory"));
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_round_trip),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_lenient_record),
		cmocka_unit_test(test_load_and_recover),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_attachments),
	};

	log_init(LOG_LVL_QUIET, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
