/*
 * Unit tests: qemu_net.c (the --qemu-network option, bridge.conf as
 * qemu-bridge-helper reads it, the guest's lease from a lease file) and
 * qemu_log.c (the guest's readiness from its serial log, only what the
 * current run wrote); qemu_vm.c's socket paths.
 */
#include "cm_compat.h"

#include <sys/stat.h>

#include <unistd.h>

#include "backend/leases.h"
#include "backend/qemu/qemu.h"
#include "backend/qemu/qemu_log.h"
#include "backend/qemu/qemu_net.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"

static char tmpdir[PATH_BUF];

static int
setup(void **state)
{
	(void)state;
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_qemu_net.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rm_tree(tmpdir, NULL);
}

/* Writes text to tmpdir/name; returns the path (static). */
static const char *
put(const char *name, const char *text)
{
	static char path[4][PATH_BUF];
	static int k;
	char *p = path[k++ % 4];
	struct err err;

	assert_int_equal(path_join(p, PATH_BUF, tmpdir, name), 0);
	if (atomic_write_file(p, text, strlen(text), 0644, &err) == -1)
		fail_msg("%s", err.msg);
	return p;
}

static void
test_parse(void **state)
{
	struct qemu_net n;
	struct err err;
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "bridge",
		    "--qemu-network bridge: use user or "
		    "bridge=NAME[,leases=FILE][,helper=PATH]" },
		{ "tap=x",
		    "--qemu-network tap=x: use user or "
		    "bridge=NAME[,leases=FILE][,helper=PATH]" },
		{ "bridge=",
		    "--qemu-network bridge=: \"\" is not a network "
		    "interface name (1 to 15 of A-Z a-z 0-9 _ - .)" },
		{ "bridge=a-very-long-bridge", NULL },
		{ "bridge=br 0", NULL },
		{ "bridge=br0,leases=rel/x",
		    "--qemu-network "
		    "bridge=br0,leases=rel/x: "
		    "leases=rel/x: give an absolute "
		    "path" },
		{ "bridge=br0,speed=9",
		    "--qemu-network bridge=br0,speed=9: "
		    "unknown option speed: use user or "
		    "bridge=NAME[,leases=FILE][,helper="
		    "PATH]" },
		{ "bridge=br0,leases", NULL },
	};

	(void)state;
	assert_int_equal(qemu_net_parse(NULL, &n, &err), 0);
	assert_false(n.qn_bridge);
	assert_int_equal(qemu_net_parse("", &n, &err), 0);
	assert_false(n.qn_bridge);
	assert_int_equal(qemu_net_parse("user", &n, &err), 0);
	assert_false(n.qn_bridge);
	assert_int_equal(qemu_net_parse("bridge=virbr0", &n, &err), 0);
	assert_true(n.qn_bridge);
	assert_string_equal(n.qn_br, "virbr0");
	assert_string_equal(n.qn_leases, "");
	assert_string_equal(n.qn_helper, "");
	assert_int_equal(qemu_net_parse("bridge=br-test.1,leases=/t/l,"
					"helper=/opt/q/helper",
			     &n, &err),
	    0);
	assert_string_equal(n.qn_br, "br-test.1");
	assert_string_equal(n.qn_leases, "/t/l");
	assert_string_equal(n.qn_helper, "/opt/q/helper");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&err);
		if (qemu_net_parse(bad[i].spec, &n, &err) != -1)
			fail_msg("accepted %s", bad[i].spec);
		assert_int_equal(err.code, EIK_INVAL);
		if (bad[i].msg != NULL)
			assert_string_equal(err.msg, bad[i].msg);
	}
}

static void
test_acl(void **state)
{
	char missing[PATH_BUF], want[2 * PATH_BUF];
	const char *inc, *conf;
	struct err err;

	(void)state;
	conf = put("a.conf",
	    "# QEMU bridge helper ACL\n\nallow br0\r\n"
	    "allow   virbr0  # libvirt's\n");
	assert_int_equal(qemu_net_acl(conf, "virbr0", &err), 1);
	assert_int_equal(qemu_net_acl(conf, "br0", &err), 1);
	err_clear(&err);
	assert_int_equal(qemu_net_acl(conf, "br1", &err), 0);
	(void)snprintf(want, sizeof(want),
	    "QEMU's bridge helper may not use bridge br1: %s has no \"allow "
	    "br1\" line; add it (echo 'allow br1' >>%s)",
	    conf, conf);
	assert_string_equal(err.msg, want);

	/* allow all, then a deny of one; includes. */
	inc = put("inc.conf", "deny br9\n");
	(void)snprintf(want, sizeof(want), "allow all\ninclude %s\n", inc);
	conf = put("b.conf", want);
	assert_int_equal(qemu_net_acl(conf, "br1", &err), 1);
	err_clear(&err);
	assert_int_equal(qemu_net_acl(conf, "br9", &err), 0);
	(void)snprintf(want, sizeof(want),
	    "QEMU's bridge helper may not use bridge br9: line 1 of %s says "
	    "\"deny br9\"; remove it and add \"allow br9\" to %s",
	    inc, inc);
	assert_string_equal(err.msg, want);
	conf = put("c.conf", "allow br0\ndeny all\n");
	assert_int_equal(qemu_net_acl(conf, "br0", &err), 0);

	/* A file that includes itself stops at the nesting limit. */
	(void)snprintf(want, sizeof(want), "include %s/d.conf\n", tmpdir);
	conf = put("d.conf", want);
	assert_int_equal(qemu_net_acl(conf, "br0", &err), -1);
	assert_non_null(strstr(err.msg, "includes nested deeper than 8"));

	/* Missing: how to create it. */
	(void)snprintf(missing, sizeof(missing), "%s/qemu/bridge.conf", tmpdir);
	assert_int_equal(qemu_net_acl(missing, "br0", &err), 0);
	(void)snprintf(want, sizeof(want),
	    "QEMU's bridge helper reads its ACL %s, which does not exist: "
	    "create it with the line \"allow br0\" (mkdir -p %s/qemu && echo "
	    "'allow br0' >>%s)",
	    missing, tmpdir, missing);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.code, EIK_NOTFOUND);
}

static void
test_check(void **state)
{
	struct qemu_net n;
	struct err err;
	char warn[512];

	(void)state;
	assert_int_equal(qemu_net_parse("user", &n, &err), 0);
	assert_int_equal(
	    qemu_net_check(&n, "/usr/bin/qemu", warn, sizeof(warn), &err), 0);
	assert_string_equal(warn, "");
	assert_int_equal(qemu_net_parse("bridge=ikvf-nosuch0", &n, &err), 0);
	assert_int_equal(
	    qemu_net_check(&n, "/usr/bin/qemu", warn, sizeof(warn), &err), -1);
#if defined(__linux__)
	assert_int_equal(err.code, EIK_NOTFOUND);
	assert_non_null(strstr(err.msg,
	    "there is no network interface ikvf-nosuch0: create the bridge "
	    "(ip link add ikvf-nosuch0 type bridge"));
	/* lo exists and is no bridge. */
	assert_int_equal(qemu_net_parse("bridge=lo", &n, &err), 0);
	assert_int_equal(
	    qemu_net_check(&n, "/usr/bin/qemu", warn, sizeof(warn), &err), -1);
	assert_string_equal(err.msg,
	    "--qemu-network bridge=lo: lo is not a bridge; name a bridge (ip "
	    "-d link show type bridge lists them)");
#endif
}

static void
test_lease(void **state)
{
	char spec[PATH_BUF + 64], ip[LEASES_IP_LEN], want[2 * PATH_BUF];
	const char *file;
	struct qemu_net n;
	struct err err;
	long long later = (long long)(wall_ms() / 1000) + 3600;

	(void)state;
	(void)snprintf(spec, sizeof(spec),
	    "%lld 52:54:00:aa:bb:01 10.99.0.11 a *\n"
	    "%lld 52:54:00:aa:bb:02 10.99.0.12 b *\n",
	    later, later);
	file = put("leases", spec);
	(void)snprintf(spec, sizeof(spec), "bridge=br0,leases=%s", file);
	assert_int_equal(qemu_net_parse(spec, &n, &err), 0);
	assert_int_equal(
	    qemu_net_lease(&n, "52:54:00:AA:BB:02", ip, sizeof(ip), &err), 0);
	assert_string_equal(ip, "10.99.0.12");
	assert_int_equal(
	    qemu_net_lease(&n, "52:54:00:aa:bb:03", ip, sizeof(ip), &err), -1);
	assert_int_equal(err.code, EIK_NOTFOUND);
	(void)snprintf(want, sizeof(want),
	    "no DHCP lease for 52:54:00:aa:bb:03 on bridge br0 yet (read %s)",
	    file);
	assert_string_equal(err.msg, want);
}

static void
test_log_ready(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "", -1 },
		{ "Booting from DVD/CD...\r\nISOLINUX 6.04\r\n", -1 },
		{ "tiny: seed on /dev/sr1\r\ninstance-id: i-1\r\n", 0 },
		{ "tiny: seed on /dev/sr1\r\nssh: ready on port 22\r\n"
		  "init: done rc=0\r\ntiny: ready\r\n",
		    1 },
		/* A failed Init is finished too. */
		{ "tiny: seed on /dev/sr1\ninit: done rc=3\n", 1 },
		/* Mentioned, not at the start of a line. */
		{ "tiny: x\necho init: done rc=0\n", 0 },
		{ "\r\rinit: done rc=0", 1 },
		{ "[    3.1] cloud-init[512]: Cloud-init v. 23.1.2 running "
		  "'init-local' at Tue, 14 Nov 2023 22:13:20 +0000. Up 3.0 "
		  "seconds.\n",
		    0 },
		{ "[   25.0] cloud-init[812]: Cloud-init v. 23.1.2 running "
		  "'modules:final'\n[   25.1] cloud-init[812]: Cloud-init v. "
		  "23.1.2 finished at Tue, 14 Nov 2023 22:13:42 +0000. "
		  "Datasource DataSourceNoCloud.  Up 25.03 seconds\n",
		    1 },
		{ "Cloud-init v. 23.1 finished at now", 1 },
		{ "cloud-init: something else\n", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		char *copy = malloc(len > 0 ? len : 1);

		assert_non_null(copy);
		memcpy(copy, cases[i].text, len);
		if (qemu_log_ready(copy, len) != cases[i].want)
			fail_msg("case %zu: %d, not %d", i,
			    qemu_log_ready(copy, len), cases[i].want);
		free(copy);
	}
}

/* Appends text to tmpdir/serial.log as QEMU would. */
static void
append_log(const char *text)
{
	char path[PATH_BUF];
	FILE *f;

	assert_int_equal(
	    path_join(path, sizeof(path), tmpdir, "serial.log"), 0);
	f = fopen(path, "a");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_log_runs(void **state)
{
	struct err err;
	char big[1024];

	(void)state;
	/* Nothing yet; no mark (a VM an older plugin started): from 0. */
	assert_int_equal(qemu_log_state(tmpdir), -1);
	append_log("tiny: seed on /dev/sr1\ninit: done rc=0\n");
	assert_int_equal(qemu_log_state(tmpdir), 1);
	/* A new run: the first run's lines no longer count. */
	assert_int_equal(qemu_log_mark(tmpdir, &err), 0);
	assert_int_equal(qemu_log_state(tmpdir), -1);
	append_log("tiny: seed on /dev/sr1\n");
	assert_int_equal(qemu_log_state(tmpdir), 0);
	/* More than the tail between the boot line and the end: only the
	 * tail is read. */
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 0; i <= QEMU_LOG_TAIL / (sizeof(big) - 1); i++)
		append_log(big);
	assert_int_equal(qemu_log_state(tmpdir), -1);
	append_log("init: done rc=0\n");
	assert_int_equal(qemu_log_state(tmpdir), 1);
	/* A log cut shorter than the mark is read from its start. */
	assert_int_equal(qemu_log_mark(tmpdir, &err), 0);
	(void)put("serial.log", "tiny: seed on /dev/sr1\n");
	assert_int_equal(qemu_log_state(tmpdir), 0);
}

static void
test_socket_paths(void **state)
{
	char out[PATH_BUF], dir[300];

	(void)state;
	assert_int_equal(qemu_console_path("/vms/i-1/i-1.vmwarevm", "i-1", out,
			     sizeof(out), NULL),
	    0);
	assert_string_equal(out, "/vms/i-1/i-1.vmwarevm/console.sock");
	assert_int_equal(qemu_qmp_path("/vms/i-1/i-1.vmwarevm", "i-1", out,
			     sizeof(out), NULL),
	    0);
	assert_string_equal(out, "/vms/i-1/i-1.vmwarevm/qmp.sock");
	/* Too long for a sockaddr_un: the private runtime directory. */
	memset(dir, 'd', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_int_equal(
	    qemu_console_path(dir, "i-2", out, sizeof(out), NULL), 0);
	assert_non_null(strstr(out, "/ikvf-qmp-"));
	assert_true(strlen(out) < 100);
	assert_string_equal(out + strlen(out) - 17, "/i-2.console.sock");
	assert_int_equal(qemu_console_path(dir, "i-2", out, 10, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_acl, setup, teardown),
		cmocka_unit_test(test_check),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test(test_log_ready),
		cmocka_unit_test_setup_teardown(test_log_runs, setup, teardown),
		cmocka_unit_test(test_socket_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
