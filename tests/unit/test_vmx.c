/*
 * Unit tests for the .vmx codec: round trips of tests/data/vmx/ and (when
 * present) ../shared/vectors/vmx/, golden edit scripts, error messages,
 * escaping, lookups and the atomic save.
 */
#include "cm_compat.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "vmx/vmx.h"

#define PATH_MAX_T 1024

struct names {
	char **n_v;
	size_t n_len;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Lists the names in dir ending in suffix, sorted. Returns -1 if dir
 * cannot be opened. */
static int
list_dir(const char *dir, const char *suffix, struct names *out)
{
	struct dirent *de;
	DIR *d;

	out->n_v = NULL;
	out->n_len = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, suffix))
			continue;
		out->n_v = realloc(out->n_v, (out->n_len + 1) * sizeof(char *));
		assert_non_null(out->n_v);
		out->n_v[out->n_len] = strdup(de->d_name);
		assert_non_null(out->n_v[out->n_len]);
		out->n_len++;
	}
	(void)closedir(d);
	if (out->n_len > 0)
		qsort(out->n_v, out->n_len, sizeof(char *), cmp_str);
	return 0;
}

static void
names_free(struct names *n)
{
	size_t i;

	for (i = 0; i < n->n_len; i++)
		free(n->n_v[i]);
	free(n->n_v);
}

static void
data_dir(char *out, size_t size)
{
	const char *t = getenv("TESTS_DIR");

	assert_non_null(t);
	assert_true((size_t)snprintf(out, size, "%s/data/vmx", t) < size);
}

static void
join(char *out, size_t size, const char *dir, const char *name)
{
	assert_int_equal(path_join(out, size, dir, name), 0);
}

static char *
slurp(const char *path, size_t *len)
{
	struct err err = { 0 };
	char *data = NULL;

	if (read_file_max(path, 2 * VMX_MAX_SIZE, &data, len, &err) == -1)
		fail_msg("%s", err.msg);
	return data;
}

/* Fails with the offset and surroundings of the first difference. */
static void
assert_same_bytes(const char *what, const char *got, size_t glen,
    const char *want, size_t wlen)
{
	size_t i;

	for (i = 0; i < glen && i < wlen && got[i] == want[i]; i++)
		;
	if (i == glen && i == wlen)
		return;
	fail_msg("%s: differs at byte %zu (got %zu bytes, want %zu):\n"
		 "got:  [%.40s]\nwant: [%.40s]",
	    what, i, glen, wlen, got + (i < glen ? i : glen),
	    want + (i < wlen ? i : wlen));
}

static struct vmx *
parse_ok(const char *what, const char *data, size_t len)
{
	struct err err = { 0 };
	struct vmx *v = NULL;

	if (vmx_parse(data, len, &v, &err) != 0)
		fail_msg("%s: %s", what, err.msg);
	assert_non_null(v);
	return v;
}

static struct vmx *
parse_str(const char *s)
{
	return parse_ok(s, s, strlen(s));
}

static struct vmx *
load_fixture(const char *name)
{
	char dir[PATH_MAX_T], path[PATH_MAX_T];
	struct err err = { 0 };
	struct vmx *v = NULL;

	data_dir(dir, sizeof(dir));
	join(path, sizeof(path), dir, name);
	if (vmx_load(path, &v, &err) != 0)
		fail_msg("%s", err.msg);
	return v;
}

static void
assert_emits(const struct vmx *v, const char *want)
{
	size_t len;
	char *got = vmx_emit(v, &len);

	assert_non_null(got);
	assert_same_bytes("emit", got, len, want, strlen(want));
	free(got);
}

/* Parses path, emits, and compares with the input bytes. */
static struct vmx *
roundtrip(const char *path)
{
	struct vmx *v;
	size_t len, olen;
	char *data, *out;

	data = slurp(path, &len);
	v = parse_ok(path, data, len);
	out = vmx_emit(v, &olen);
	assert_non_null(out);
	assert_same_bytes(path, out, olen, data, len);
	assert_int_equal(out[olen], '\0');
	free(out);
	free(data);
	return v;
}

static void
test_roundtrip_fixtures(void **state)
{
	char dir[PATH_MAX_T], path[PATH_MAX_T];
	struct names n;
	size_t i;

	(void)state;
	data_dir(dir, sizeof(dir));
	assert_int_equal(list_dir(dir, ".vmx", &n), 0);
	assert_true(n.n_len >= 25);
	for (i = 0; i < n.n_len; i++) {
		join(path, sizeof(path), dir, n.n_v[i]);
		vmx_free(roundtrip(path));
	}
	names_free(&n);
}

/* Decodes an .ops value: \n \r \t \\ \xHH. */
static char *
ops_value(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			*o++ = s[i];
			continue;
		}
		switch (s[++i]) {
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case 'x': {
			char hex[3] = { 0 };

			assert_true(i + 2 < n);
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			*o++ = (char)strtoul(hex, NULL, 16);
			i += 2;
			break;
		}
		default:
			fail_msg("bad escape \\%c in ops value", s[i]);
		}
	}
	*o = '\0';
	return out;
}

static void
apply_ops(const char *what, struct vmx *v, const char *ops, size_t len)
{
	const char *p = ops, *end = ops + len;
	size_t lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end, *arg, *sp;
		char key[256];
		char *val;

		lineno++;
		if (p == eol || *p == '#') {
			p = nl != NULL ? nl + 1 : end;
			continue;
		}
		if (strncmp(p, "set ", 4) == 0) {
			arg = p + 4;
			sp = memchr(arg, ' ', (size_t)(eol - arg));
			if (sp == NULL)
				sp = eol;
			assert_true((size_t)(sp - arg) < sizeof(key));
			memcpy(key, arg, (size_t)(sp - arg));
			key[sp - arg] = '\0';
			val = ops_value(sp < eol ? sp + 1 : eol,
			    sp < eol ? (size_t)(eol - sp - 1) : 0);
			if (vmx_set(v, key, val) != 0)
				fail_msg("%s:%zu: vmx_set %s: %s", what, lineno,
				    key, strerror(errno));
			assert_string_equal(vmx_get(v, key), val);
			free(val);
		} else if (strncmp(p, "del ", 4) == 0 ||
		    strncmp(p, "delmatch ", 9) == 0) {
			int match = p[3] == 'm';

			arg = p + (match ? 9 : 4);
			assert_true((size_t)(eol - arg) < sizeof(key));
			memcpy(key, arg, (size_t)(eol - arg));
			key[eol - arg] = '\0';
			if ((match ? vmx_del_matching(v, key)
				   : vmx_del(v, key)) < 1)
				fail_msg(
				    "%s:%zu: nothing removed", what, lineno);
		} else
			fail_msg("%s:%zu: unknown op", what, lineno);
		p = nl != NULL ? nl + 1 : end;
	}
}

static void
test_golden_edits(void **state)
{
	char dir[PATH_MAX_T], path[PATH_MAX_T], base[256];
	struct names n;
	size_t i, len, olen, wlen;

	(void)state;
	data_dir(dir, sizeof(dir));
	assert_int_equal(list_dir(dir, ".ops", &n), 0);
	assert_true(n.n_len >= 8);
	for (i = 0; i < n.n_len; i++) {
		struct vmx *v;
		char *ops, *out, *want;

		assert_true(strlen(n.n_v[i]) - 4 < sizeof(base));
		memcpy(base, n.n_v[i], strlen(n.n_v[i]) - 4);
		base[strlen(n.n_v[i]) - 4] = '\0';

		(void)snprintf(path, sizeof(path), "%s/%s.in.vmx", dir, base);
		v = roundtrip(path);
		(void)snprintf(path, sizeof(path), "%s/%s.ops", dir, base);
		ops = slurp(path, &len);
		apply_ops(path, v, ops, len);
		out = vmx_emit(v, &olen);
		assert_non_null(out);
		(void)snprintf(path, sizeof(path), "%s/%s.out.vmx", dir, base);
		want = slurp(path, &wlen);
		assert_same_bytes(path, out, olen, want, wlen);
		free(want);
		free(out);
		free(ops);
		vmx_free(v);
	}
	names_free(&n);
}

static void
test_shared_vectors(void **state)
{
	char dir[PATH_MAX_T], path[PATH_MAX_T];
	const char *shared = getenv("SHARED_DIR");
	struct names n;
	size_t i, seen_dup = 0;

	(void)state;
	if (shared == NULL ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/vectors/vmx", shared) >=
		sizeof(dir) ||
	    list_dir(dir, ".vmx", &n) == -1) {
		print_message("no shared vectors; skipped\n");
		skip();
		return;
	}
	for (i = 0; i < n.n_len; i++) {
		struct vmx *v;
		const char *dup;

		join(path, sizeof(path), dir, n.n_v[i]);
		v = roundtrip(path);
		dup = vmx_first_dup(v);
		if (strncmp(n.n_v[i], "synthetic-dup-", 14) == 0) {
			assert_non_null(dup);
			assert_string_equal(dup, "memsize");
			seen_dup++;
		} else if (dup != NULL)
			fail_msg("%s: unexpected duplicate %s", path, dup);
		if (strstr(n.n_v[i], "crlf") != NULL) {
			size_t len;
			char *out;

			assert_int_equal(vmx_set(v, "guestinfo.test", "x"), 0);
			out = vmx_emit(v, &len);
			assert_true(len > 2 && out[len - 2] == '\r');
			free(out);
		}
		if (strcmp(n.n_v[i], "libvirt-annotation.vmx") == 0)
			assert_string_equal(vmx_get(v, "ANNOTATION"),
			    "Some |text| to test the \"escaping\": "
			    "||\"\"||\"| Escaped!");
		if (strcmp(n.n_v[i], "libvirt-case-insensitive-1.vmx") == 0)
			assert_string_equal(vmx_get(v, "memSize"), "1024");
		vmx_free(v);
	}
	assert_int_equal(seen_dup, 1);
	names_free(&n);
}

struct bad_case {
	const char *name;
	const char *data;
	size_t len; /* 0: strlen(data) */
	const char *want[3];
};

static const struct bad_case bad_cases[] = {
	{ "nul byte", "a = \"1\"\nb = \"x\0y\"\n", 18,
	    { "line 2", "NUL byte", "column 7" } },
	{ "no '='", ".encoding = \"UTF-8\"\nmemsize \"512\"\n", 0,
	    { "line 2", "expected '='", "memsize \"512\"" } },
	{ "bare word", "a = \"1\"\n\nhello\n", 0,
	    { "line 3", "expected '='", "hello" } },
	{ "not a key", "a = \"1\"\n= \"x\"\n", 0,
	    { "line 2", "expected key = \"value\"", "= \"x\"" } },
	{ "unterminated quote", "a = \"1\"\r\nb = \"open\r\nc = \"2\"\r\n", 0,
	    { "line 2", "unterminated", "b = \"open" } },
	{ "text after quote", "a = \"1\" \"2\"\n", 0,
	    { "line 1", "after the closing quote", "a = \"1\" \"2\"" } },
	{ "bad key char", "x = \"1\"\na/b = \"1\"\n", 0,
	    { "line 2", "'/'", "a/b" } },
	{ "no value", "a = \"1\"\nb =   \n", 0,
	    { "line 2", "no value", "key = \"\"" } },
	{ "windows-1252", ".encoding = \"windows-1252\"\nmemsize = \"4\"\n", 0,
	    { "line 1", "windows-1252", "UTF-8" } },
	{ "GBK after shebang", "#!/usr/bin/vmware\n\n.encoding = \"GBK\"\n", 0,
	    { "line 3", "\"GBK\"", "not supported" } },
	{ "invalid UTF-8", ".encoding = \"UTF-8\"\nd = \"caf\xe9\"\n", 0,
	    { "line 2", "invalid UTF-8", "d = \"caf?\"" } },
	{ "invalid UTF-8 no encoding", "# ok\n# \xff here\n", 0,
	    { "line 2", "invalid UTF-8", "no .encoding" } },
	{ "surrogate", "a = \"\xed\xa0\x80\"\n", 0,
	    { "line 1", "invalid UTF-8", "byte 6" } },
	{ "truncated sequence", "a = \"1\"\nb = \"\xe2\x82\"\n", 0,
	    { "line 2", "invalid UTF-8", NULL } },
	{ "long line shown truncated",
	    "key with a very long tail "
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "END-OF-LINE\n",
	    0, { "line 1", "...", NULL } },
};

static void
test_errors(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct err err = { 0 };
		struct vmx *v = (struct vmx *)&err; /* must be reset */
		size_t len = c->len != 0 ? c->len : strlen(c->data);

		if (vmx_parse(c->data, len, &v, &err) != -1)
			fail_msg("%s: parsed", c->name);
		assert_null(v);
		assert_int_equal(err.code, EIK_INVAL);
		for (j = 0; j < 3 && c->want[j] != NULL; j++)
			if (strstr(err.msg, c->want[j]) == NULL)
				fail_msg("%s: \"%s\" not in \"%s\"", c->name,
				    c->want[j], err.msg);
		if (strstr(c->name, "truncated") != NULL)
			assert_null(strstr(err.msg, "END-OF-LINE"));
	}
}

static void
test_oversize(void **state)
{
	char *big, *dir, path[PATH_MAX_T];
	struct err err = { 0 };
	struct vmx *v = NULL;
	size_t i;
	FILE *f;

	(void)state;
	big = malloc(VMX_MAX_SIZE + 1);
	assert_non_null(big);
	for (i = 0; i < VMX_MAX_SIZE + 1; i++)
		big[i] = i % 64 == 63 ? '\n' : '#';
	/* Exactly at the limit is fine. */
	v = parse_ok("limit", big, VMX_MAX_SIZE);
	assert_int_equal(vmx_count(v), 0);
	vmx_free(v);
	v = NULL;
	assert_int_equal(vmx_parse(big, VMX_MAX_SIZE + 1, &v, &err), -1);
	assert_null(v);
	assert_non_null(strstr(err.msg, "VMX_MAX_SIZE"));

	dir = cm_tmpdir();
	join(path, sizeof(path), dir, "big.vmx");
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(big, 1, VMX_MAX_SIZE + 1, f), VMX_MAX_SIZE + 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(vmx_load(path, &v, &err), -1);
	assert_null(v);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
	free(big);
}

static void
test_load_errors(void **state)
{
	char *dir, path[PATH_MAX_T];
	struct err err = { 0 };
	struct vmx *v = NULL;
	static const char bad[] = ".encoding = \"UTF-8\"\nmemsize 512\n";

	(void)state;
	dir = cm_tmpdir();
	join(path, sizeof(path), dir, "missing.vmx");
	assert_int_equal(vmx_load(path, &v, &err), -1);
	assert_null(v);
	assert_non_null(strstr(err.msg, path));

	join(path, sizeof(path), dir, "bad.vmx");
	assert_int_equal(
	    atomic_write_file(path, bad, sizeof(bad) - 1, 0644, NULL), 0);
	assert_int_equal(vmx_load(path, &v, &err), -1);
	assert_null(v);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "line 2"));
	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

static void
test_unescape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a|7cb|7Cc", "a|b|c" },
		{ "|22q|22", "\"q\"" },
		{ "x|0ay|0Az", "x\ny\nz" },
		{ "|4a|4A|4b|4B", "JJKK" },
		{ "|c3|A9", "\xc3\xa9" },
		{ "||7C", "||" },
		{ "|zz|", "|zz|" },
		{ "end|7", "end|7" },
		{ "end|", "end|" },
		{ "nul|00kept", "nul|00kept" },
		{ "", "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = vmx_unescape(cases[i].in);

		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

static void
test_escape(void **state)
{
	char all[256], *e, *u;
	size_t i;

	(void)state;
	e = vmx_escape("a\"b|c\nd\x01\x1f\x7f#\xc3\xa9 %|");
	assert_string_equal(e, "a|22b|7Cc|0Ad|01|1F|7F#\xc3\xa9 %|7C");
	free(e);
	/* Every byte survives escape + unescape; only printable ASCII other
	 * than '"' and '|' (and bytes >= 0x80) is left as is. */
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	e = vmx_escape(all);
	assert_non_null(e);
	assert_null(strchr(e, '"'));
	assert_null(strchr(e, '\n'));
	u = vmx_unescape(e);
	assert_string_equal(u, all);
	free(u);
	free(e);
}

static void
test_get(void **state)
{
	struct vmx *v;

	(void)state;
	v = load_fixture("odd-case.vmx");
	assert_string_equal(vmx_get(v, "memsize"), "1024");
	assert_string_equal(vmx_get(v, "memSize"), "1024");
	assert_string_equal(vmx_get(v, "MEMSIZE"), "1024");
	assert_string_equal(vmx_get(v, "displayName"), "odd-case");
	assert_string_equal(vmx_get(v, "scsi0:0.fileName"), "odd-case.vmdk");
	assert_string_equal(vmx_get(v, "ethernet0.present"), "true");
	assert_null(vmx_get(v, "memsiz"));
	assert_null(vmx_get(v, "memsizee"));
	assert_null(vmx_get(v, NULL));
	vmx_free(v);

	v = load_fixture("escapes.vmx");
	assert_string_equal(vmx_get(v, "displayname"), "web \"front\" | blue");
	assert_string_equal(vmx_get(v, "annotation"),
	    "Built by CI\nOwner: platform team\nTicket: #4211\n"
	    "lower hex: |\"\n");
	assert_string_equal(
	    vmx_get(v, "guestinfo.motd"), "pipe|quote\"tab\tend");
	assert_string_equal(vmx_get(v, "serial0.fileName"),
	    "telnet://127.0.0.1:2001#no-comment-here");
	assert_string_equal(vmx_get(v, "guestinfo.note"),
	    "100% done! |zz not an escape |0 short");
	vmx_free(v);

	v = load_fixture("tolerated.vmx");
	assert_string_equal(vmx_get(v, ".encoding"), "UTF-8");
	assert_string_equal(vmx_get(v, "displayName"), "tolerant");
	assert_string_equal(vmx_get(v, "memsize"), "768");
	assert_string_equal(vmx_get(v, "numvcpus"), "1");
	assert_string_equal(vmx_get(v, "guestOS"), "other-64");
	assert_string_equal(vmx_get(v, "tools.syncTime"), "FALSE");
	assert_string_equal(vmx_get(v, "scsi0.present"), "TRUE");
	assert_string_equal(vmx_get(v, "checkpoint.vmState"), "");
	assert_string_equal(vmx_get(v, "PCIPASSTHRU*.PRESENT"), "FALSE");
	assert_int_equal(vmx_count(v), 10);
	vmx_free(v);

	v = load_fixture("bom.vmx");
	assert_string_equal(vmx_get(v, ".encoding"), "UTF-8");
	assert_string_equal(
	    vmx_get(v, "annotation"), "caf\xc3\xa9 \xe2\x80\x94 na\xc3\xafve");
	vmx_free(v);

	v = load_fixture("fusion-template.vmx");
	assert_string_equal(
	    vmx_get(v, "SCSI0:0.FILENAME"), "Virtual Disk.vmdk");
	assert_string_equal(
	    vmx_get(v, "ethernet0.generatedaddress"), "00:0c:29:4e:7a:13");
	assert_int_equal(vmx_count(v), 55);
	vmx_free(v);

	v = load_fixture("workstation-crlf.vmx");
	assert_string_equal(vmx_get(v, "displayName"), "Debian 12 builder");
	assert_int_equal(vmx_count(v), 24);
	vmx_free(v);
}

static void
test_set(void **state)
{
	static const char *bad_keys[] = { "", "1abc", "a b", "a=b", "a\"b",
		"a\nb", "a#", " a", "-a" };
	struct vmx *v;
	size_t i;

	(void)state;
	v = parse_str(".encoding = \"UTF-8\"\nmemsize = \"512\"\n");
	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		errno = 0;
		assert_int_equal(vmx_set(v, bad_keys[i], "x"), -1);
		assert_int_equal(errno, EINVAL);
	}
	errno = 0;
	assert_int_equal(vmx_set(v, "annotation", "caf\xe9"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vmx_set(v, ".Encoding", "windows-1252"), -1);
	assert_int_equal(vmx_set(v, "memsize", NULL), -1);
	assert_emits(v, ".encoding = \"UTF-8\"\nmemsize = \"512\"\n");

	assert_int_equal(vmx_set(v, ".ENCODING", "utf8"), 0);
	assert_int_equal(vmx_set(v, "pciPassthru*.present", "FALSE"), 0);
	assert_int_equal(vmx_set(v, "MemSize", "1024"), 0);
	assert_emits(v,
	    ".encoding = \"utf8\"\nmemsize = \"1024\"\n"
	    "pciPassthru*.present = \"FALSE\"\n");
	assert_int_equal(vmx_count(v), 3);
	vmx_free(v);

	/* Empty file: LF by default. */
	v = parse_ok("empty", "", 0);
	assert_int_equal(vmx_count(v), 0);
	assert_emits(v, "");
	assert_int_equal(vmx_set(v, "a", "1"), 0);
	assert_emits(v, "a = \"1\"\n");
	vmx_free(v);

	/* Mixed endings: the majority wins, a tie gives LF. */
	v = parse_str("a = \"1\"\r\nb = \"2\"\nc = \"3\"\r\n");
	assert_int_equal(vmx_set(v, "d", "4"), 0);
	assert_emits(v, "a = \"1\"\r\nb = \"2\"\nc = \"3\"\r\nd = \"4\"\r\n");
	vmx_free(v);
	v = parse_str("a = \"1\"\r\nb = \"2\"\n");
	assert_int_equal(vmx_set(v, "c", "3"), 0);
	assert_emits(v, "a = \"1\"\r\nb = \"2\"\nc = \"3\"\n");
	vmx_free(v);

	/* The BOM stays in front. */
	v = load_fixture("bom.vmx");
	assert_int_equal(vmx_set(v, "numvcpus", "2"), 0);
	{
		size_t len;
		char *out = vmx_emit(v, &len);

		assert_memory_equal(out, "\xef\xbb\xbf.encoding", 12);
		assert_true(has_suffix(out, "\r\nnumvcpus = \"2\"\r\n"));
		free(out);
	}
	vmx_free(v);
}

static void
test_del(void **state)
{
	struct vmx *v;

	(void)state;
	v = parse_str("# c\nA = \"1\"\nb = \"2\"\na = \"3\"\n\nB.x = \"4\"");
	assert_int_equal(vmx_del(v, "nope"), 0);
	assert_int_equal(vmx_del(v, "a"), 2);
	assert_emits(v, "# c\nb = \"2\"\n\nB.x = \"4\"");
	assert_int_equal(vmx_del_matching(v, "b*"), 2);
	assert_emits(v, "# c\n\n");
	assert_int_equal(vmx_count(v), 0);
	assert_int_equal(vmx_del_matching(v, "*"), 0);
	vmx_free(v);

	v = load_fixture("fusion-template.vmx");
	assert_int_equal(vmx_del_matching(v, "ETHERNET?.*"), 7);
	assert_int_equal(vmx_del_matching(v, "powerType.*"), 4);
	assert_int_equal(vmx_del_matching(v, "*"), 44);
	assert_emits(v, "");
	vmx_free(v);
}

struct collect {
	char keys[512];
	int calls;
	int stop_at;
};

static int
collect_fn(void *arg, const char *key, const char *value)
{
	struct collect *c = arg;

	c->calls++;
	(void)strlcat(c->keys, key, sizeof(c->keys));
	(void)strlcat(c->keys, "=", sizeof(c->keys));
	(void)strlcat(c->keys, value, sizeof(c->keys));
	(void)strlcat(c->keys, ";", sizeof(c->keys));
	return c->calls == c->stop_at ? 7 : 0;
}

static void
test_foreach(void **state)
{
	struct collect c;
	struct vmx *v;

	(void)state;
	v = parse_str("#!/usr/bin/vmware\n.encoding = \"UTF-8\"\n# x = \"y\"\n"
		      "DisplayName = \"a|22b\"\n\nmemSize = 12\n");
	memset(&c, 0, sizeof(c));
	assert_int_equal(vmx_foreach(v, collect_fn, &c), 0);
	assert_int_equal(c.calls, 3);
	assert_string_equal(
	    c.keys, ".encoding=UTF-8;DisplayName=a\"b;memSize=12;");
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	assert_int_equal(vmx_foreach(v, collect_fn, &c), 7);
	assert_int_equal(c.calls, 2);
	vmx_free(v);
}

static void
test_first_dup(void **state)
{
	struct vmx *v;
	char *big;
	size_t i, n = 0, cap = 200000;

	(void)state;
	v = load_fixture("duplicate-key.vmx");
	assert_string_equal(vmx_first_dup(v), "msg.autoAnswer");
	assert_int_equal(vmx_count(v), 7);
	assert_int_equal(vmx_set(v, "msg.autoanswer", "TRUE"), 0);
	assert_null(vmx_first_dup(v));
	assert_int_equal(vmx_count(v), 6);
	vmx_free(v);

	v = load_fixture("odd-case.vmx");
	assert_null(vmx_first_dup(v));
	vmx_free(v);

	/* The earliest repeat wins, spelled as first written. */
	v = parse_str("a = \"1\"\nB = \"1\"\nb = \"2\"\nA = \"3\"\n");
	assert_string_equal(vmx_first_dup(v), "B");
	vmx_free(v);

	/* Many keys: the hash set must agree with a plain scan. */
	big = malloc(cap);
	assert_non_null(big);
	for (i = 0; i < 5000; i++)
		n += (size_t)snprintf(
		    big + n, cap - n, "key%zu.x = \"%zu\"\n", i, i);
	n += (size_t)snprintf(big + n, cap - n, "KEY2500.X = \"dup\"\n");
	v = parse_ok("big", big, n);
	assert_int_equal(vmx_count(v), 5001);
	assert_string_equal(vmx_first_dup(v), "key2500.x");
	assert_string_equal(vmx_get(v, "key4999.X"), "4999");
	vmx_free(v);
	free(big);
}

static void
test_save_reload(void **state)
{
	char *dir, path[PATH_MAX_T], *data, *out;
	struct err err = { 0 };
	struct names n;
	struct stat st;
	struct vmx *v, *w;
	size_t len, olen;

	(void)state;
	dir = cm_tmpdir();
	join(path, sizeof(path), dir, "ik-1.vmx");
	v = load_fixture("workstation-crlf.vmx");
	assert_int_equal(vmx_set(v, "displayName", "ik-1 \"x\""), 0);
	assert_int_equal(vmx_set(v, "uuid.action", "create"), 0);
	if (vmx_save(v, path, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* Nothing else left in the directory (no temp file). */
	assert_int_equal(list_dir(dir, "", &n), 0);
	assert_int_equal(n.n_len, 1);
	assert_string_equal(n.n_v[0], "ik-1.vmx");
	names_free(&n);

	data = slurp(path, &len);
	out = vmx_emit(v, &olen);
	assert_same_bytes(path, data, len, out, olen);
	free(out);
	free(data);

	if (vmx_load(path, &w, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(vmx_get(w, "displayname"), "ik-1 \"x\"");
	assert_string_equal(vmx_get(w, "UUID.ACTION"), "create");
	assert_int_equal(vmx_count(w), vmx_count(v));
	/* Save over the existing file. */
	assert_int_equal(vmx_set(w, "memsize", "8192"), 0);
	assert_int_equal(vmx_save(w, path, &err), 0);
	vmx_free(w);
	assert_int_equal(vmx_load(path, &w, &err), 0);
	assert_string_equal(vmx_get(w, "memsize"), "8192");
	vmx_free(w);
	vmx_free(v);

	/* A save into a missing directory names the path. */
	join(path, sizeof(path), dir, "no/such/dir.vmx");
	v = parse_str("a = \"1\"\n");
	assert_int_equal(vmx_save(v, path, &err), -1);
	assert_non_null(strstr(err.msg, "no/such"));
	vmx_free(v);

	assert_int_equal(rm_tree(dir, NULL), 0);
	free(dir);
}

static void
test_free_null(void **state)
{
	(void)state;
	vmx_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_fixtures),
		cmocka_unit_test(test_golden_edits),
		cmocka_unit_test(test_shared_vectors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_del),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_first_dup),
		cmocka_unit_test(test_save_reload),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
