/*
 * Unit tests for leases.c and leases_dnsmasq.c: MAC normalisation and lease
 * lookup in ISC dhcpd (VMware vmnet), Apple bootpd, dnsmasq and libvirt
 * lease files, including broken input.
 * Every lookup runs on an exact-size heap copy of the text, so that a read
 * past the end shows up under ASan and valgrind.
 */
#include "cm_compat.h"

#include "util/err.h"
#include "backend/leases.h"

/* 2020-05-13 12:10:00 UTC, inside the first fixture's newest lease. */
#define NOW_MAY13 INT64_C(1589371800)

/* Looks mac up in a heap copy of text (no terminating NUL). */
static int
find(const char *text, const char *mac, int64_t now, char *ip, struct err *err)
{
	size_t len = strlen(text);
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = leases_find(copy, len, mac, now, ip, LEASES_IP_LEN, err);
	free(copy);
	return rc;
}

/* Expects mac to be found with address want. */
static void
expect_ip(const char *text, const char *mac, int64_t now, const char *want)
{
	char ip[LEASES_IP_LEN];
	struct err err = { 0 };

	memset(ip, 'x', sizeof(ip));
	if (find(text, mac, now, ip, &err) != 0)
		fail_msg("%s: %s", mac, err.msg);
	assert_string_equal(ip, want);
}

/* Expects mac not to be found. */
static void
expect_none(const char *text, const char *mac, int64_t now)
{
	char ip[LEASES_IP_LEN];
	struct err err = { 0 };

	assert_int_equal(find(text, mac, now, ip, &err), -1);
	assert_int_equal(err.code, EIK_NOTFOUND);
	assert_non_null(strstr(err.msg, "no DHCP lease"));
}

static void
test_norm_mac(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: rejected */
	} cases[] = {
		{ "00:0c:29:ab:cd:ef", "00:0c:29:ab:cd:ef" },
		{ "00:0C:29:AB:CD:EF", "00:0c:29:ab:cd:ef" },
		{ "00-0C-29-AB-CD-EF", "00:0c:29:ab:cd:ef" },
		{ "0:c:29:ab:cd:ef", "00:0c:29:ab:cd:ef" },
		{ "d:ea:d0:6:77:88", "0d:ea:d0:06:77:88" },
		{ "0-0-0-0-0-0", "00:00:00:00:00:00" },
		{ "", NULL },
		{ "00:0c:29:ab:cd", NULL },
		{ "00:0c:29:ab:cd:ef:01", NULL },
		{ "00:0c:29:ab:cd:ef:", NULL },
		{ "00:0c-29:ab:cd:ef", NULL },
		{ "000:0c:29:ab:cd:ef", NULL },
		{ "00:0g:29:ab:cd:ef", NULL },
		{ "00::29:ab:cd:ef", NULL },
		{ " 00:0c:29:ab:cd:ef", NULL },
		{ "00:0c:29:ab:cd:ef ", NULL },
		{ "000c29abcdef", NULL },
		{ "00.0c.29.ab.cd.ef", NULL },
	};
	char out[LEASES_MAC_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = leases_norm_mac(cases[i].in, out, sizeof(out));

		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("accepted \"%s\"", cases[i].in);
		} else {
			if (rc != 0)
				fail_msg("rejected \"%s\"", cases[i].in);
			assert_string_equal(out, cases[i].out);
		}
	}
	assert_int_equal(leases_norm_mac("00:0c:29:ab:cd:ef", out, 17), -1);
	assert_int_equal(leases_norm_mac(NULL, out, sizeof(out)), -1);
}

/*
 * VMware vmnet-dhcpd style: several leases for one MAC, tabs, a comment,
 * another MAC in between, and a lease with a later start that has already
 * expired.
 */
static const char isc_leases[] =
    "# All times in this file are in UTC (GMT), not your local timezone.\n"
    "# This is not a bug, so please don't ask about it.\n"
    "lease 172.16.5.20 {\n"
    "\tstarts 3 2020/05/13 11:00:37;\n"
    "\tends 3 2020/05/13 11:30:37;\n"
    "\thardware ethernet 00:0c:29:ab:cd:ef;\n"
    "\tclient-hostname \"web-1\";\n"
    "}\n"
    "lease 172.16.5.21 {\n"
    "\tstarts 3 2020/05/13 12:00:00;\n"
    "\tends 3 2020/05/13 12:30:00;\n"
    "\thardware ethernet 00:0c:29:ab:cd:ef;\n"
    "\tuid \"\\001\\000\\014)\\253\\315\\357;}{#\";\n"
    "}\n"
    "lease 172.16.5.99 {\n"
    "\tstarts 3 2020/05/13 12:05:00;\n"
    "\tends 3 2020/05/13 13:05:00;\n"
    "\thardware ethernet 00:50:56:00:00:01;\n"
    "}\n"
    "lease 172.16.5.22 {\n"
    "\tstarts 3 2020/05/13 12:08:00;\n"
    "\tends 3 2020/05/13 12:09:00;\n"
    "\thardware ethernet 00:0c:29:ab:cd:ef;\n"
    "}\n";

static void
test_isc_latest_valid(void **state)
{
	(void)state;
	/* .22 started last but expired at 12:09; .21 is valid until 12:30. */
	expect_ip(isc_leases, "00:0c:29:ab:cd:ef", NOW_MAY13, "172.16.5.21");
	expect_ip(isc_leases, "00:50:56:00:00:01", NOW_MAY13, "172.16.5.99");
	/* At 11:10 every lease of the MAC is still valid: the latest end wins.
	 */
	expect_ip(
	    isc_leases, "00:0c:29:ab:cd:ef", NOW_MAY13 - 3600, "172.16.5.21");
}

static void
test_isc_all_expired(void **state)
{
	(void)state;
	/* A day later everything has expired: the latest end still wins. */
	expect_ip(
	    isc_leases, "00:0c:29:ab:cd:ef", NOW_MAY13 + 86400, "172.16.5.21");
}

static void
test_isc_mac_forms(void **state)
{
	(void)state;
	expect_ip(isc_leases, "00-0C-29-AB-CD-EF", NOW_MAY13, "172.16.5.21");
	expect_ip(isc_leases, "0:C:29:AB:CD:EF", NOW_MAY13, "172.16.5.21");
	expect_ip(isc_leases, "0-50-56-0-0-1", NOW_MAY13, "172.16.5.99");
}

static void
test_isc_never_epoch_binding(void **state)
{
	static const char text[] =
	    "lease 10.0.0.1 {\n"
	    "  starts 1 2020/01/06 00:00:00;\n"
	    "  ends never;\n"
	    "  hardware ethernet 00:50:56:3f:00:01;\n"
	    "}\n"
	    "lease 10.0.0.2 {\n"
	    "  starts epoch 1589371200; # Wed May 13 12:00:00 2020\n"
	    "  ends epoch 1999999999; # 2033\n"
	    "  hardware ethernet 00:50:56:3f:00:01;\n"
	    "}\n"
	    "lease 10.0.0.3 {\n"
	    "  starts 3 2020/05/13 12:00:00;\n"
	    "  ends 3 2030/05/13 12:00:00;\n"
	    "  binding state free;\n"
	    "  next binding state free;\n"
	    "  hardware ethernet 00:50:56:3f:00:02;\n"
	    "}\n"
	    "lease 10.0.0.4 {\n"
	    "  starts 3 2020/05/13 12:00:00;\n"
	    "  ends 3 2020/05/13 12:20:00;\n"
	    "  binding state active;\n"
	    "  on expiry { set x = \"}\"; }\n"
	    "  hardware ethernet 00:50:56:3f:00:02;\n"
	    "}\n";

	(void)state;
	/* "never" outlasts any date. */
	expect_ip(text, "00:50:56:3f:00:01", NOW_MAY13, "10.0.0.1");
	/* A freed lease counts as expired even with a later end. */
	expect_ip(text, "00:50:56:3f:00:02", NOW_MAY13, "10.0.0.4");
	/* Once both are past their end, the later end wins again. */
	expect_ip(text, "00:50:56:3f:00:02", NOW_MAY13 + 86400, "10.0.0.3");
}

static void
test_isc_epoch_compare(void **state)
{
	static const char text[] =
	    "lease 10.0.1.1 {\n"
	    "  ends epoch 1589373000;\n"
	    "  hardware ethernet 00:50:56:3f:00:03;\n"
	    "}\n"
	    "lease 10.0.1.2 {\n"
	    "  ends 3 2020/05/13 12:30:01;\n" /* 1589373001 */
	    "  hardware ethernet 00:50:56:3f:00:03;\n"
	    "}\n"
	    "lease 10.0.1.3 {\n"
	    "  ends 2020/05/13 12:30:00;\n" /* no weekday; ties .1 */
	    "  hardware ethernet 00:50:56:3f:00:04;\n"
	    "}\n"
	    "lease 10.0.1.4 {\n"
	    "  ends epoch 1589373000;\n"
	    "  hardware ethernet 00:50:56:3f:00:04;\n"
	    "}\n";

	(void)state;
	/* Date parsing agrees with epoch seconds to the second. */
	expect_ip(text, "00:50:56:3f:00:03", NOW_MAY13, "10.0.1.2");
	expect_ip(text, "00:50:56:3f:00:03", 1589373000, "10.0.1.2");
	/* On equal ends the later entry wins. */
	expect_ip(text, "00:50:56:3f:00:04", NOW_MAY13, "10.0.1.4");
}

static void
test_isc_crlf_tabs(void **state)
{
	static const char text[] =
	    "# written on Windows\r\n"
	    "lease\t172.16.9.5\t{\r\n"
	    "\t\tstarts\t3\t2020/05/13\t12:00:00;\r\n"
	    "\t\tends\t3\t2020/05/13\t12:30:00;\r\n"
	    "\t\thardware\tethernet\t00:0C:29:11:22:33;\r\n"
	    "}\r\n"
	    "lease 172.16.9.6{starts 3 2020/05/13 12:01:00;ends 3 "
	    "2020/05/13 12:31:00;hardware ethernet 00:0c:29:11:22:34;}";

	(void)state;
	expect_ip(text, "00:0c:29:11:22:33", NOW_MAY13, "172.16.9.5");
	expect_ip(text, "00-0C-29-11-22-34", NOW_MAY13, "172.16.9.6");
}

/* Apple bootpd: leading zeros stripped, lease= is the hex expiry. */
static const char apple_leases[] = "{\n"
				   "\tname=ubuntu\n"
				   "\tip_address=192.168.64.2\n"
				   "\thw_address=1,d:ea:d0:6:77:88\n"
				   "\tidentifier=1,d:ea:d0:6:77:88\n"
				   "\tlease=0x5ebbed00\n"
				   "}\n"
				   "{\n"
				   "\tname=ubuntu\n"
				   "\tip_address=192.168.64.7\n"
				   "\thw_address=1,d:ea:d0:6:77:88\n"
				   "\tidentifier=1,d:ea:d0:6:77:88\n"
				   "\tlease=0x5ebbf000\n"
				   "}\n"
				   "{\n"
				   "\tname=other\n"
				   "\tip_address=192.168.64.3\n"
				   "\thw_address=1,0:50:56:0:0:9\n"
				   "\tidentifier=1,0:50:56:0:0:9\n"
				   "\tlease=0x5ebbf100\n"
				   "}\n";

static void
test_apple(void **state)
{
	(void)state;
	expect_ip(apple_leases, "0d:ea:d0:06:77:88", NOW_MAY13, "192.168.64.7");
	expect_ip(apple_leases, "0D-EA-D0-06-77-88", 0, "192.168.64.7");
	expect_ip(apple_leases, "00:50:56:00:00:09", NOW_MAY13, "192.168.64.3");
	expect_ip(apple_leases, "00:50:56:00:00:09", INT64_MAX, "192.168.64.3");
	expect_none(apple_leases, "0d:ea:d0:06:77:89", NOW_MAY13);
}

static void
test_not_found(void **state)
{
	char ip[LEASES_IP_LEN];
	struct err err = { 0 };

	(void)state;
	expect_none(isc_leases, "00:0c:29:ab:cd:ee", NOW_MAY13);
	expect_none("", "00:0c:29:ab:cd:ef", NOW_MAY13);
	expect_none("# only a comment\n", "00:0c:29:ab:cd:ef", NOW_MAY13);
	assert_int_equal(leases_find(NULL, 0, "00:0c:29:ab:cd:ef", NOW_MAY13,
			     ip, sizeof(ip), &err),
	    -1);
	assert_int_equal(err.code, EIK_NOTFOUND);
	assert_non_null(strstr(err.msg, "00:0c:29:ab:cd:ef"));
	/* err may be NULL. */
	assert_int_equal(
	    leases_find(isc_leases, sizeof(isc_leases) - 1, "00:0c:29:ab:cd:ee",
		NOW_MAY13, ip, sizeof(ip), NULL),
	    -1);
	assert_int_equal(
	    leases_find(isc_leases, sizeof(isc_leases) - 1, "00:0c:29:ab:cd:ef",
		NOW_MAY13, ip, sizeof(ip), NULL),
	    0);
	assert_string_equal(ip, "172.16.5.21");
}

static void
test_bad_args(void **state)
{
	char ip[LEASES_IP_LEN];
	struct err err = { 0 };

	(void)state;
	assert_int_equal(leases_find(isc_leases, sizeof(isc_leases) - 1,
			     "not-a-mac", NOW_MAY13, ip, sizeof(ip), &err),
	    -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg, "not-a-mac"));
	err_clear(&err);
	assert_int_equal(leases_find(isc_leases, sizeof(isc_leases) - 1, NULL,
			     NOW_MAY13, ip, sizeof(ip), &err),
	    -1);
	assert_int_equal(err.code, EIK_INVAL);
	err_clear(&err);
	assert_int_equal(leases_find(isc_leases, sizeof(isc_leases) - 1,
			     "00:0c:29:ab:cd:ef", NOW_MAY13, ip, 15, &err),
	    -1);
	assert_int_equal(err.code, EIK_INVAL);
}

static void
test_junk_and_truncation(void **state)
{
	static const char text[] =
	    "authoring-byte-order little-endian;\n"
	    "server-duid \"\\000\\001;{\";\n"
	    "host reserved { hardware ethernet 00:0c:29:aa:aa:aa; "
	    "fixed-address 172.16.7.7; }\n"
	    "}}} ;;; \"unterminated string\n"
	    "garbage\001\002\377 words here;\n"
	    "lease 300.1.2.3 {\n"
	    "  ends never;\n"
	    "  hardware ethernet 00:0c:29:aa:aa:aa;\n"
	    "}\n"
	    "lease 172.16.7.8 {\n"
	    "  ends 3 2020/13/45 99:99:99;\n"
	    "  hardware ethernet 00:0c:29:zz:aa:aa;\n"
	    "}\n"
	    "lease 172.16.7.9 {\n"
	    "  ends 3 2020/05/13 12:30:00;\n"
	    "  hardware ethernet "
	    "00:0c:29:aa:aa:aa:this-word-is-far-too-long-to-be-kept-by-the-"
	    "lexer-at-all;\n"
	    "}\n"
	    "lease 172.16.7.10 {\n"
	    "  ends 3 2020/05/13 12:30:00;\n"
	    "  hardware ethernet 00:0c:29:aa:aa:aa;\n"
	    "}\n"
	    "lease 172.16.7.11 {\n"
	    "  ends never;\n"
	    "  hardware ethernet 00:0c:29:aa:aa:aa;\n";

	(void)state;
	/* The reservation is not a lease, 300.1.2.3 is not an address, and
	 * the last lease ("ends never") is cut short: only .10 counts. */
	expect_ip(text, "00:0c:29:aa:aa:aa", NOW_MAY13, "172.16.7.10");
	/* The bad date leaves .8 without an end, but the bad MAC rules it
	 * out anyway. */
	expect_none(text, "00:0c:29:00:aa:aa", NOW_MAY13);
}

static void
test_embedded_nul(void **state)
{
	static const char text[] = "lease 172.16.8.1 {\0\n"
				   "  ends never;\0\n"
				   "  hardware ethernet 00:0c:29:00:00:01;\n"
				   "}\n";
	char ip[LEASES_IP_LEN];

	(void)state;
	assert_int_equal(
	    leases_find(text, sizeof(text) - 1, "00:0c:29:00:00:01", NOW_MAY13,
		ip, sizeof(ip), NULL),
	    0);
	assert_string_equal(ip, "172.16.8.1");
}

/* Every prefix of every fixture: no crash, no read past the end. */
static void
test_every_prefix(void **state)
{
	const char *texts[] = { isc_leases, apple_leases };
	char ip[LEASES_IP_LEN];
	size_t i, n, len;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		len = strlen(texts[i]);
		for (n = 0; n <= len; n++) {
			char *copy = malloc(n > 0 ? n : 1);
			int rc;

			assert_non_null(copy);
			memcpy(copy, texts[i], n);
			rc = leases_find(copy, n, "00:0c:29:ab:cd:ef",
			    NOW_MAY13, ip, sizeof(ip), NULL);
			if (rc == 0)
				assert_true(strncmp(ip, "172.16.5.", 9) == 0);
			(void)leases_find(copy, n, "0d:ea:d0:06:77:88",
			    NOW_MAY13, ip, sizeof(ip), NULL);
			free(copy);
		}
	}
	/* Complete file: the whole answer again. */
	expect_ip(isc_leases, "00:0c:29:ab:cd:ef", NOW_MAY13, "172.16.5.21");
}

/* Deterministic pseudo-random bytes drawn from lease-file characters. */
static void
test_random_junk(void **state)
{
	static const char alphabet[] =
	    "lease {};\"#\\\n\r\t 0123456789abcdef:./"
	    "=,xhardwaethnspiu";
	char buf[512], ip[LEASES_IP_LEN];
	uint32_t x = 2463534242u;
	int round;
	size_t i;

	(void)state;
	for (round = 0; round < 2000; round++) {
		char *copy;

		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (x & 0x100) != 0
			    ? (char)(x & 0xff)
			    : alphabet[x % (sizeof(alphabet) - 1)];
		}
		copy = malloc(sizeof(buf));
		assert_non_null(copy);
		memcpy(copy, buf, sizeof(buf));
		(void)leases_find(copy, sizeof(buf), "00:0c:29:ab:cd:ef",
		    NOW_MAY13, ip, sizeof(ip), NULL);
		free(copy);
	}
}

/* ---- dnsmasq and libvirt ---------------------------------------------- */

/* 2023-11-14 22:13:20 UTC */
#define NOW_NOV23 INT64_C(1700000000)

/* leases_find_dnsmasq on a heap copy of text; ip as in expect_ip. */
static int
find_dn(
    const char *text, const char *mac, int64_t now, char *ip, struct err *err)
{
	size_t len = strlen(text);
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = leases_find_dnsmasq(copy, len, mac, now, ip, LEASES_IP_LEN, err);
	free(copy);
	return rc;
}

static void
expect_dn(const char *text, const char *mac, int64_t now, const char *want)
{
	char ip[LEASES_IP_LEN];
	struct err err = { 0 };

	if (want == NULL) {
		assert_int_equal(find_dn(text, mac, now, ip, &err), -1);
		assert_int_equal(err.code, EIK_NOTFOUND);
		return;
	}
	if (find_dn(text, mac, now, ip, &err) != 0)
		fail_msg("%s: %s", mac, err.msg);
	assert_string_equal(ip, want);
}

/* A dnsmasq --dhcp-leasefile with a DHCPv6 part, as dnsmasq 2.90 writes
 * it, plus an expired and a newer lease for one MAC and an infinite one. */
static const char dnsmasq_leases[] =
    "1700003600 52:54:00:12:34:56 10.99.0.20 tiny-a "
    "01:52:54:00:12:34:56\n"
    "1699990000 52:54:00:12:34:56 10.99.0.19 tiny-a *\n"
    "1700007200 52:54:00:ab:cd:ef 10.99.0.30 * *\r\n"
    "0 52:54:00:00:00:01 10.99.0.40 forever *\n"
    "1699000000 52:54:00:00:00:02 10.99.0.50 old *\n"
    "duid 00:01:00:01:2c:9d:11:22:52:54:00:12:34:56\n"
    "1700003600 1234567 fd00::20 tiny-a 00:01:00:01:2c:9d\n"
    "junk\n"
    "1700003600 52:54:00:00:00:03 not-an-ip x *\n"
    "1700003600 52:54:00:00:00:04 10.99.0.60";

static void
test_dnsmasq(void **state)
{
	(void)state;
	expect_dn(dnsmasq_leases, "52:54:00:12:34:56", NOW_NOV23, "10.99.0.20");
	expect_dn(dnsmasq_leases, "52-54-00-12-34-56", NOW_NOV23, "10.99.0.20");
	expect_dn(dnsmasq_leases, "52:54:00:AB:CD:EF", NOW_NOV23, "10.99.0.30");
	/* 0: never expires. */
	expect_dn(
	    dnsmasq_leases, "52:54:00:00:00:01", INT64_MAX - 1, "10.99.0.40");
	/* Only an expired lease: still the answer (the guest may renew). */
	expect_dn(dnsmasq_leases, "52:54:00:00:00:02", NOW_NOV23, "10.99.0.50");
	/* All expired: the one that ended last. */
	expect_dn(dnsmasq_leases, "52:54:00:12:34:56", NOW_NOV23 + 86400,
	    "10.99.0.20");
	/* No IPv4 address; a last line without its newline. */
	expect_dn(dnsmasq_leases, "52:54:00:00:00:03", NOW_NOV23, NULL);
	expect_dn(dnsmasq_leases, "52:54:00:00:00:04", NOW_NOV23, NULL);
	expect_dn(dnsmasq_leases, "52:54:00:99:99:99", NOW_NOV23, NULL);
	expect_dn("", "52:54:00:12:34:56", NOW_NOV23, NULL);
	/* An ISC file is not read as dnsmasq's. */
	expect_dn(isc_leases, "00:0c:29:ab:cd:ef", NOW_MAY13, NULL);
}

/* libvirt's /var/lib/libvirt/dnsmasq/virbr0.status, with extras. */
static const char libvirt_status[] =
    "[\n"
    "  {\n"
    "    \"ip-address\": \"192.168.122.45\",\n"
    "    \"mac-address\": \"52:54:00:12:34:56\",\n"
    "    \"hostname\": \"tiny-a\",\n"
    "    \"client-id\": \"01:52:54:00:12:34:56\",\n"
    "    \"expiry-time\": 1700003600\n"
    "  },\n"
    "  {\n"
    "    \"hostname\": \"a \\\"quoted\\\" } name\",\n"
    "    \"extra\": { \"ip-address\": \"1.2.3.4\", \"x\": [1, 2] },\n"
    "    \"mac-address\": \"52:54:00:AB:CD:EF\",\n"
    "    \"ip-address\": \"192.168.122.46\"\n"
    "  },\n"
    "  {\n"
    "    \"ip-address\": \"192.168.122.44\",\n"
    "    \"mac-address\": \"52:54:00:12:34:56\",\n"
    "    \"expiry-time\": 1699990000\n"
    "  },\n"
    "  { \"ip-address\": \"fd00::5\", \"mac-address\": "
    "\"52:54:00:00:00:05\" },\n"
    "  { \"ip-address\": \"192.168.122.47\", \"mac-address\": "
    "\"52:54:00:00:00:06\"";

static void
test_libvirt(void **state)
{
	(void)state;
	expect_dn(
	    libvirt_status, "52:54:00:12:34:56", NOW_NOV23, "192.168.122.45");
	expect_dn(libvirt_status, "52:54:00:12:34:56", NOW_NOV23 + 86400,
	    "192.168.122.45");
	/* No expiry-time: never; members inside a member are not its own. */
	expect_dn(libvirt_status, "52:54:00:ab:cd:ef", INT64_MAX - 1,
	    "192.168.122.46");
	expect_dn(libvirt_status, "52:54:00:00:00:05", NOW_NOV23, NULL);
	/* Cut short. */
	expect_dn(libvirt_status, "52:54:00:00:00:06", NOW_NOV23, NULL);
	expect_dn("[]", "52:54:00:12:34:56", NOW_NOV23, NULL);
	expect_dn("  [ ", "52:54:00:12:34:56", NOW_NOV23, NULL);
	expect_dn("[{\"mac-address\":\"52:54:00:12:34:56\",\"ip-address\":"
		  "\"10.0.0.1\"}]",
	    "52:54:00:12:34:56", NOW_NOV23, "10.0.0.1");
}

/* Every prefix of both fixtures, on exact-size copies: no read past the
 * end, and bad arguments are refused. */
static void
test_dnsmasq_prefixes(void **state)
{
	const char *texts[] = { dnsmasq_leases, libvirt_status };
	char ip[LEASES_IP_LEN];
	struct err err = { 0 };

	(void)state;
	for (size_t t = 0; t < 2; t++) {
		size_t len = strlen(texts[t]);

		for (size_t n = 0; n <= len; n++) {
			char *copy = malloc(n > 0 ? n : 1);

			assert_non_null(copy);
			memcpy(copy, texts[t], n);
			(void)leases_find_dnsmasq(copy, n, "52:54:00:12:34:56",
			    NOW_NOV23, ip, sizeof(ip), NULL);
			free(copy);
		}
	}
	assert_int_equal(
	    leases_find_dnsmasq(dnsmasq_leases, strlen(dnsmasq_leases), "nope",
		0, ip, sizeof(ip), &err),
	    -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_int_equal(
	    leases_find_dnsmasq(dnsmasq_leases, strlen(dnsmasq_leases),
		"52:54:00:12:34:56", 0, ip, 8, &err),
	    -1);
	assert_int_equal(leases_find_dnsmasq(NULL, 0, "52:54:00:12:34:56", 0,
			     ip, sizeof(ip), &err),
	    -1);
	assert_int_equal(err.code, EIK_NOTFOUND);
}

static void
test_dnsmasq_paths(void **state)
{
	char p[8][LEASES_PATH_LEN];
	char longname[LEASES_PATH_LEN];

	(void)state;
	assert_int_equal(leases_dnsmasq_paths("virbr0", p, 8), 4);
	assert_string_equal(p[0], "/var/lib/libvirt/dnsmasq/virbr0.status");
	assert_string_equal(p[1], "/var/lib/misc/dnsmasq.leases");
	assert_string_equal(p[2], "/var/lib/dnsmasq/dnsmasq.leases");
	assert_string_equal(p[3], "/var/db/dnsmasq.leases");
	assert_int_equal(leases_dnsmasq_paths("virbr0", p, 2), 2);
	assert_int_equal(leases_dnsmasq_paths(NULL, p, 8), 3);
	assert_string_equal(p[0], "/var/lib/misc/dnsmasq.leases");
	memset(longname, 'b', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(leases_dnsmasq_paths(longname, p, 8), 3);
}

static void
test_default_paths(void **state)
{
	const char *const *p = leases_default_paths();
	size_t n = 0;

	(void)state;
	assert_non_null(p);
	assert_non_null(p[0]);
#ifdef __APPLE__
	assert_string_equal(p[0], "/var/db/vmware/vmnet-dhcpd-vmnet8.leases");
#else
	assert_string_equal(p[0], "/etc/vmware/vmnet8/dhcpd/dhcpd.leases");
#endif
	for (; *p != NULL; p++, n++)
		assert_true((*p)[0] == '/');
	assert_true(n >= 2 && n < 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_mac),
		cmocka_unit_test(test_isc_latest_valid),
		cmocka_unit_test(test_isc_all_expired),
		cmocka_unit_test(test_isc_mac_forms),
		cmocka_unit_test(test_isc_never_epoch_binding),
		cmocka_unit_test(test_isc_epoch_compare),
		cmocka_unit_test(test_isc_crlf_tabs),
		cmocka_unit_test(test_apple),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_junk_and_truncation),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_random_junk),
		cmocka_unit_test(test_default_paths),
		cmocka_unit_test(test_dnsmasq),
		cmocka_unit_test(test_libvirt),
		cmocka_unit_test(test_dnsmasq_prefixes),
		cmocka_unit_test(test_dnsmasq_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
