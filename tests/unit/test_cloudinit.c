/*
 * Unit tests: cloudinit.c — user-data forms, meta-data YAML, host names,
 * Init checks and the guestinfo encodings. Expected documents are exact
 * bytes; the base64 constants were computed with Python's base64 module.
 */
#include "cm_compat.h"

#include "util/buf.h"
#include "guest/cloudinit.h"
#include "guest/guestinfo.h"
#include "util/defaults.h"
#include "util/err.h"
#include "model/tags.h"

#define K1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0 alice@example.com"
#define K2 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob@example.com"

static const char *const keys2[] = { K1, K2 };

/* The multipart pieces every keyed document shares. */
#define B "==ikvf-boundary-0=="
#define MP_HEAD                                                                \
	"Content-Type: multipart/mixed; boundary=\"" B "\"\n"                  \
	"MIME-Version: 1.0\n"                                                  \
	"\n"
#define PART(type, cte, file)                                                  \
	"--" B "\n"                                                            \
	"Content-Type: " type "; charset=\"utf-8\"\n"                          \
	"MIME-Version: 1.0\n"                                                  \
	"Content-Transfer-Encoding: " cte "\n"                                 \
	"Content-Disposition: attachment; filename=\"" file "\"\n"             \
	"\n"
#define KEYS_PART                                                              \
	PART("text/cloud-config", "7bit", "ssh-authorized-keys.cfg")           \
	"#cloud-config\n"                                                      \
	"ssh_authorized_keys:\n"                                               \
	"  - \"" K1 "\"\n"                                                     \
	"  - \"" K2 "\"\n"                                                     \
	"\n"
#define INIT_PART(type, cte) PART(type, cte, "infrakit-init")
#define MP_END "\n--" B "--\n"
#define WRAP(type, body) MP_HEAD KEYS_PART INIT_PART(type, "7bit") body MP_END

#define MIME_INIT                                                              \
	"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"                  \
	"MIME-Version: 1.0\r\n"                                                \
	"\r\n"                                                                 \
	"--XYZ\r\n"                                                            \
	"Content-Type: text/x-shellscript\r\n"                                 \
	"\r\n"                                                                 \
	"#!/bin/sh\r\n"                                                        \
	"echo mime\r\n"                                                        \
	"--XYZ--\r\n"
#define MIME_LF                                                                \
	"Content-Type: multipart/mixed; boundary=\"XYZ\"\n"                    \
	"MIME-Version: 1.0\n"                                                  \
	"\n"                                                                   \
	"--XYZ\n"                                                              \
	"Content-Type: text/x-shellscript\n"                                   \
	"\n"                                                                   \
	"#!/bin/sh\n"                                                          \
	"echo mime\n"                                                          \
	"--XYZ--\n"

struct ud_case {
	const char *uc_name;
	const char *uc_init;
	const char *uc_plain;	  /* without SSH keys */
	const char *uc_with_keys; /* with K1 and K2 */
};

static const struct ud_case ud_cases[] = {
	{ "empty", "", "#cloud-config\n{}\n",
	    WRAP("text/cloud-config", "#cloud-config\n{}\n") },
	{ "null", NULL, "#cloud-config\n{}\n",
	    WRAP("text/cloud-config", "#cloud-config\n{}\n") },
	{ "blank", " \n\t\r\n  \n", "#cloud-config\n{}\n",
	    WRAP("text/cloud-config", "#cloud-config\n{}\n") },
	{ "shell lines", "apt-get update\napt-get install -y docker.io",
	    "#!/bin/sh\napt-get update\napt-get install -y docker.io\n",
	    WRAP("text/x-shellscript",
		"#!/bin/sh\napt-get update\napt-get install -y docker.io\n") },
	{ "shell lines with final newline", "echo one\necho two\n",
	    "#!/bin/sh\necho one\necho two\n",
	    WRAP("text/x-shellscript", "#!/bin/sh\necho one\necho two\n") },
	{ "bash script", "#!/bin/bash\nset -eu\necho \"$HOSTNAME\"\n",
	    "#!/bin/bash\nset -eu\necho \"$HOSTNAME\"\n",
	    WRAP("text/x-shellscript",
		"#!/bin/bash\nset -eu\necho \"$HOSTNAME\"\n") },
	{ "cloud-config", "#cloud-config\npackages:\n  - nginx\n",
	    "#cloud-config\npackages:\n  - nginx\n",
	    WRAP(
		"text/cloud-config", "#cloud-config\npackages:\n  - nginx\n") },
	{ "cloud-config without final newline", "#cloud-config\nhostname: x",
	    "#cloud-config\nhostname: x",
	    WRAP("text/cloud-config", "#cloud-config\nhostname: x") },
	{ "unicode", "echo 'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93'\n",
	    "#!/bin/sh\necho 'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93'\n",
	    MP_HEAD KEYS_PART INIT_PART("text/x-shellscript",
		"base64") "IyEvYmluL3NoCmVjaG8gJ2jDqWxsbyB3w7ZybGQg4pyTJwo=" MP_END },
	{ "windows line endings", "echo a\r\necho b\r\n",
	    "#!/bin/sh\necho a\necho b\n",
	    WRAP("text/x-shellscript", "#!/bin/sh\necho a\necho b\n") },
	{ "windows cloud-config", "#cloud-config\r\nruncmd:\r\n  - [ls]\r\n",
	    "#cloud-config\nruncmd:\n  - [ls]\n",
	    WRAP("text/cloud-config", "#cloud-config\nruncmd:\n  - [ls]\n") },
	{ "lone CR kept", "echo a\rb\r\n", "#!/bin/sh\necho a\rb\n",
	    MP_HEAD KEYS_PART INIT_PART("text/x-shellscript",
		"base64") "IyEvYmluL3NoCmVjaG8gYQ1iCg==" MP_END },
	{ "leading blank line is not a marker", "\n#!/bin/bash\necho x",
	    "#!/bin/sh\n\n#!/bin/bash\necho x\n",
	    WRAP("text/x-shellscript", "#!/bin/sh\n\n#!/bin/bash\necho x\n") },
	{ "MIME multipart passes through", MIME_INIT, MIME_LF, MIME_LF },
	{ "MIME-Version first, any case", "mime-version: 1.0\nX: y\n",
	    "mime-version: 1.0\nX: y\n", "mime-version: 1.0\nX: y\n" },
};

static void
test_user_data_table(void **state)
{
	const struct ud_case *c;
	struct ci_input in;
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	for (size_t i = 0; i < sizeof(ud_cases) / sizeof(ud_cases[0]); i++) {
		c = &ud_cases[i];
		memset(&in, 0, sizeof(in));
		in.ci_instance_id = "i-6h26tjjs800";
		in.ci_init = c->uc_init;
		print_message("case: %s\n", c->uc_name);
		assert_int_equal(ci_user_data(&in, &out, &err), 0);
		assert_string_equal(buf_str(&out), c->uc_plain);
		assert_int_equal(out.b_len, strlen(c->uc_plain));
		in.ci_ssh_keys = keys2;
		in.ci_n_ssh_keys = 2;
		assert_int_equal(ci_user_data(&in, &out, &err), 0);
		assert_string_equal(buf_str(&out), c->uc_with_keys);
	}
	buf_free(&out);
}

/* One full document spelled out, in case the macros above hide a slip. */
static void
test_user_data_literal(void **state)
{
	static const char *const k[] = { "ssh-ed25519 AAAA a@b" };
	struct ci_input in = { "i-1", NULL, "echo hi", k, 1, NULL };
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out),
	    "Content-Type: multipart/mixed; boundary=\"==ikvf-boundary-0==\"\n"
	    "MIME-Version: 1.0\n"
	    "\n"
	    "--==ikvf-boundary-0==\n"
	    "Content-Type: text/cloud-config; charset=\"utf-8\"\n"
	    "MIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "Content-Disposition: attachment; "
	    "filename=\"ssh-authorized-keys.cfg\"\n"
	    "\n"
	    "#cloud-config\n"
	    "ssh_authorized_keys:\n"
	    "  - \"ssh-ed25519 AAAA a@b\"\n"
	    "\n"
	    "--==ikvf-boundary-0==\n"
	    "Content-Type: text/x-shellscript; charset=\"utf-8\"\n"
	    "MIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "Content-Disposition: attachment; filename=\"infrakit-init\"\n"
	    "\n"
	    "#!/bin/sh\n"
	    "echo hi\n"
	    "\n"
	    "--==ikvf-boundary-0==--\n");
	buf_free(&out);
}

/* Each cloud-init marker passes through, typed in the multipart. */
#define WANT_FMT MP_HEAD KEYS_PART INIT_PART("%s", "7bit") "%s" MP_END

static void
test_user_data_types(void **state)
{
	static const struct {
		const char *init, *type;
	} t[] = {
		{ "#include\nhttp://x/y\n", "text/x-include-url" },
		{ "#include-once\nhttp://x/y\n", "text/x-include-once-url" },
		{ "#cloud-boothook\necho x\n", "text/cloud-boothook" },
		{ "#part-handler\ndef list_types(): pass\n",
		    "text/part-handler" },
		{ "#upstart-job\ndescription \"x\"\n", "text/upstart-job" },
		{ "#cloud-config-archive\n- type: foo\n",
		    "text/cloud-config-archive" },
		{ "#cloud-config-jsonp\n[]\n", "text/cloud-config-jsonp" },
		{ "## template: jinja\n#cloud-config\n", "text/jinja2" },
		{ "#!/usr/bin/env python3\nprint(1)\n", "text/x-shellscript" },
	};
	struct ci_input in;
	struct buf out, want;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	buf_init(&want, CI_BUF_MAX);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.ci_instance_id = "i-1";
		in.ci_init = t[i].init;
		assert_int_equal(ci_user_data(&in, &out, &err), 0);
		assert_string_equal(buf_str(&out), t[i].init);
		in.ci_ssh_keys = keys2;
		in.ci_n_ssh_keys = 2;
		assert_int_equal(ci_user_data(&in, &out, &err), 0);
		buf_reset(&want);
		assert_int_equal(
		    buf_printf(&want, WANT_FMT, t[i].type, t[i].init), 0);
		assert_string_equal(buf_str(&out), buf_str(&want));
	}
	buf_free(&out);
	buf_free(&want);
}

/* Non-ASCII keys and over-long lines go base64, in 76-column lines. */
#define KEYS_B64                                                               \
	MP_HEAD                                                                \
	PART("text/cloud-config", "base64", "ssh-authorized-keys.cfg")         \
	"I2Nsb3VkLWNvbmZpZwpzc2hfYXV0aG9yaXplZF9rZXlzOgogIC0gInNzaC1lZDI1NTE5" \
	"IEFBQUFD\n"                                                           \
	"M056YSDDvG7Dr2NvZGVAaG9zdCIK\n" INIT_PART(                            \
	    "text/cloud-config", "7bit") "#cloud-config\n" MP_END

static void
test_user_data_base64_parts(void **state)
{
	static const char *const k[] = {
		"ssh-ed25519 AAAAC3Nza \xc3\xbcn\xc3\xaf"
		"code@host"
	};
	struct ci_input in = { "i-1", NULL, "#cloud-config\n", k, 1, NULL };
	char *line;
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out), KEYS_B64);
	/* A 998-byte line is still 7bit; 999 bytes is not. */
	line = malloc(1000 + 1);
	assert_non_null(line);
	memset(line, 'x', 998);
	line[998] = '\0';
	in.ci_init = line;
	in.ci_ssh_keys = keys2;
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_non_null(strstr(
	    buf_str(&out), "filename=\"infrakit-init\"\n\n#!/bin/sh\nxxx"));
	line[998] = 'x';
	line[999] = '\0';
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_null(strstr(buf_str(&out), "xxxxxxxx"));
	assert_non_null(strstr(buf_str(&out),
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment; filename=\"infrakit-init\"\n"));
	free(line);
	buf_free(&out);
}

/* The boundary never occurs in a part. */
static void
test_user_data_boundary(void **state)
{
	struct ci_input in = { "i-1", NULL, NULL, keys2, 2, NULL };
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	in.ci_init = "echo ==ikvf-boundary-0==\n";
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_non_null(strstr(buf_str(&out),
	    "Content-Type: multipart/mixed; "
	    "boundary=\"==ikvf-boundary-1==\"\n"));
	assert_non_null(strstr(buf_str(&out), "\n--==ikvf-boundary-1==--\n"));
	assert_null(strstr(buf_str(&out), "--==ikvf-boundary-0==\n"));

	/* "-10==" does not contain "-1==": 1 is free. */
	in.ci_init = "echo ==ikvf-boundary-0== ==ikvf-boundary-10==\n"
		     "echo ==ikvf-boundary-2==";
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_non_null(
	    strstr(buf_str(&out), "boundary=\"==ikvf-boundary-1==\""));

	in.ci_init = "echo ==ikvf-boundary-0====ikvf-boundary-1==\n"
		     "echo ==ikvf-boundary-2==";
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_non_null(
	    strstr(buf_str(&out), "boundary=\"==ikvf-boundary-3==\""));
	buf_free(&out);
}

static void
test_user_data_errors(void **state)
{
	static const char *const bad_keys[] = { "ssh-rsa AAAA\nssh-rsa BBBB" };
	static const char *const empty_key[] = { "" };
	struct ci_input in = { "i-1", NULL, "echo \xff\n", NULL, 0, NULL };
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	assert_int_equal(ci_user_data(&in, &out, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg, "Spec.Init"));
	in.ci_init = "echo ok";
	in.ci_ssh_keys = bad_keys;
	in.ci_n_ssh_keys = 1;
	assert_int_equal(ci_user_data(&in, &out, &err), -1);
	assert_non_null(strstr(err.msg, "SSHAuthorizedKeys[0]"));
	in.ci_ssh_keys = empty_key;
	assert_int_equal(ci_user_data(&in, &out, &err), -1);
	assert_non_null(strstr(err.msg, "SSHAuthorizedKeys[0]"));
	buf_free(&out);
}

/* An Init of INIT_MAX_SIZE bytes fits, with keys, in every encoding. */
static void
test_user_data_max_init(void **state)
{
	char *init = malloc(INIT_MAX_SIZE + 1);
	struct ci_input in = { "i-1", NULL, NULL, keys2, 2, NULL };
	const char *enc;
	struct buf out, gi, back;
	struct err err;

	(void)state;
	assert_non_null(init);
	for (size_t i = 0; i < INIT_MAX_SIZE; i++)
		init[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	init[INIT_MAX_SIZE] = '\0';
	in.ci_init = init;
	buf_init(&out, CI_BUF_MAX);
	buf_init(&gi, CI_BUF_MAX);
	buf_init(&back, CI_BUF_MAX);
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	assert_true(out.b_len > INIT_MAX_SIZE);
	assert_int_equal(
	    ci_guestinfo_encode(out.b_data, out.b_len, &gi, &enc, &err), 0);
	assert_string_equal(enc, "gzip+base64");
	assert_int_equal(
	    ci_guestinfo_decode(buf_str(&gi), enc, &back, &err), 0);
	assert_int_equal(back.b_len, out.b_len);
	assert_memory_equal(back.b_data, out.b_data, out.b_len);
	in.ci_n_ssh_keys = 0;
	assert_int_equal(ci_user_data(&in, &out, &err), 0);
	/* The Init ends with a newline, so none is added. */
	assert_int_equal(out.b_len, strlen("#!/bin/sh\n") + INIT_MAX_SIZE);
	free(init);
	buf_free(&out);
	buf_free(&gi);
	buf_free(&back);
}

static void
test_check_init(void **state)
{
	static const char *const bad_utf8[] = {
		"\xff",		    /* never valid */
		"ok \xc0\xaf",	    /* overlong '/' */
		"euro \xe2\x82",    /* truncated */
		"\xed\xa0\x80",	    /* surrogate */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
	};
	char *big;
	struct err err;

	(void)state;
	assert_int_equal(ci_check_init("", 0, &err), 0);
	assert_int_equal(ci_check_init(NULL, 0, &err), 0);
	assert_int_equal(
	    ci_check_init("echo \xc3\xa9 \xe2\x9c\x93", 11, &err), 0);
	/* A NUL inside: the length is longer than strlen. */
	assert_int_equal(ci_check_init("echo\0rm -rf /", 13, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg, "Spec.Init"));
	assert_non_null(strstr(err.msg, "NUL"));
	assert_non_null(strstr(err.msg, "offset 4"));
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		err.msg[0] = '\0';
		assert_int_equal(
		    ci_check_init(bad_utf8[i], strlen(bad_utf8[i]), &err), -1);
		assert_int_equal(err.code, EIK_INVAL);
		assert_non_null(strstr(err.msg, "Spec.Init"));
		assert_non_null(strstr(err.msg, "UTF-8"));
	}
	big = malloc(INIT_MAX_SIZE + 1);
	assert_non_null(big);
	memset(big, 'x', INIT_MAX_SIZE + 1);
	assert_int_equal(ci_check_init(big, INIT_MAX_SIZE, &err), 0);
	assert_int_equal(ci_check_init(big, INIT_MAX_SIZE + 1, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg, "Spec.Init"));
	assert_non_null(strstr(err.msg, "524288"));
	/* err may be NULL. */
	assert_int_equal(ci_check_init(big, INIT_MAX_SIZE + 1, NULL), -1);
	free(big);
}

static void
test_meta_data(void **state)
{
	struct tags tg = TAGS_INIT;
	struct ci_input in;
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	memset(&in, 0, sizeof(in));
	in.ci_instance_id = "i-6h26tjjs800";

	/* Cattle: no LogicalID, no tags, no keys. */
	assert_int_equal(ci_meta_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out),
	    "instance-id: \"i-6h26tjjs800\"\n"
	    "local-hostname: \"i-6h26tjjs800\"\n");

	/* Cattle with tags and keys. */
	assert_int_equal(tags_set(&tg, "infrakit.group", "workers"), 0);
	assert_int_equal(tags_set(&tg, "infrakit.config.hash", "abc123"), 0);
	in.ci_tags = &tg;
	in.ci_ssh_keys = keys2;
	in.ci_n_ssh_keys = 2;
	assert_int_equal(ci_meta_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out),
	    "instance-id: \"i-6h26tjjs800\"\n"
	    "local-hostname: \"i-6h26tjjs800\"\n"
	    "public-keys-data: \"" K1 "\\n" K2 "\"\n"
	    "public-keys:\n"
	    "  - \"" K1 "\"\n"
	    "  - \"" K2 "\"\n"
	    "infrakit:\n"
	    "  tags:\n"
	    "    \"infrakit.config.hash\": \"abc123\"\n"
	    "    \"infrakit.group\": \"workers\"\n");

	/* Pet with a host name for LogicalID (case folded). */
	in.ci_tags = NULL;
	in.ci_ssh_keys = NULL;
	in.ci_n_ssh_keys = 0;
	in.ci_logical_id = "Web-1.Example.com";
	assert_int_equal(ci_meta_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out),
	    "instance-id: \"i-6h26tjjs800\"\n"
	    "local-hostname: \"web-1.example.com\"\n"
	    "infrakit:\n"
	    "  logical-id: \"Web-1.Example.com\"\n");

	/* Pet with an IPv4 address for LogicalID. */
	in.ci_logical_id = "192.168.0.11";
	assert_int_equal(ci_meta_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out),
	    "instance-id: \"i-6h26tjjs800\"\n"
	    "local-hostname: \"ip-192-168-0-11\"\n"
	    "infrakit:\n"
	    "  logical-id: \"192.168.0.11\"\n");

	/* A LogicalID that is no host name: the instance ID instead. */
	in.ci_logical_id = "web_1!";
	assert_int_equal(ci_meta_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out),
	    "instance-id: \"i-6h26tjjs800\"\n"
	    "local-hostname: \"i-6h26tjjs800\"\n"
	    "infrakit:\n"
	    "  logical-id: \"web_1!\"\n");
	tags_free(&tg);
	buf_free(&out);
}

/* Every scalar is a JSON string: quotes, backslashes, breaks, controls. */
static void
test_meta_data_escaping(void **state)
{
	struct tags tg = TAGS_INIT;
	struct ci_input in;
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	memset(&in, 0, sizeof(in));
	in.ci_instance_id = "i-1";
	in.ci_logical_id = "a \"b\"\\c: #d";
	assert_int_equal(tags_set(&tg, "quote\"d", "say \"hi\""), 0);
	assert_int_equal(tags_set(&tg, "back\\slash", "C:\\dir\\"), 0);
	assert_int_equal(tags_set(&tg, "multi\nline", "one\ntwo\r\n\tend"), 0);
	assert_int_equal(tags_set(&tg, "k\xc3\xa9y \xe2\x9c\x93",
			     "v\xc3\xa4lue \xf0\x9f\x90\xb3"),
	    0);
	assert_int_equal(tags_set(&tg, "ctl", "\x01\x1b[0m\x7f"), 0);
	/* C1 controls, NEL, LS/PS and U+FFFE: not printable or breaks in
	 * YAML, so escaped; U+00A0 and U+FEFF pass. */
	assert_int_equal(tags_set(&tg, "yaml",
			     "\xc2\x80\xc2\x85\xc2\x9f\xc2\xa0"
			     "\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf"
			     "\xef\xbf\xbe\xef\xbf\xbf"),
	    0);
	assert_int_equal(tags_set(&tg, "", "empty key"), 0);
	in.ci_tags = &tg;
	assert_int_equal(ci_meta_data(&in, &out, &err), 0);
	assert_string_equal(buf_str(&out),
	    "instance-id: \"i-1\"\n"
	    "local-hostname: \"i-1\"\n"
	    "infrakit:\n"
	    "  logical-id: \"a \\\"b\\\"\\\\c: #d\"\n"
	    "  tags:\n"
	    "    \"\": \"empty key\"\n"
	    "    \"back\\\\slash\": \"C:\\\\dir\\\\\"\n"
	    "    \"ctl\": \"\\u0001\\u001b[0m\\u007f\"\n"
	    "    \"k\xc3\xa9y \xe2\x9c\x93\": \"v\xc3\xa4lue \xf0\x9f\x90\xb3\"\n"
	    "    \"multi\\nline\": \"one\\ntwo\\r\\n\\tend\"\n"
	    "    \"quote\\\"d\": \"say \\\"hi\\\"\"\n"
	    "    \"yaml\": \"\\u0080\\u0085\\u009f\xc2\xa0"
	    "\\u2028\\u2029\xef\xbb\xbf\\ufffe\\uffff\"\n");

	/* Invalid UTF-8 in a tag is refused, not passed on. */
	assert_int_equal(tags_set(&tg, "bad", "\xc3"), 0);
	assert_int_equal(ci_meta_data(&in, &out, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	assert_non_null(strstr(err.msg, "tag value"));
	in.ci_tags = NULL;
	in.ci_instance_id = "";
	assert_int_equal(ci_meta_data(&in, &out, &err), -1);
	tags_free(&tg);
	buf_free(&out);
}

static void
test_hostname(void **state)
{
	static const struct {
		const char *lid, *iid, *want;
	} t[] = {
		{ NULL, "i-6h26tjjs800", "i-6h26tjjs800" },
		{ "", "i-1", "i-1" },
		{ "web-1", "i-1", "web-1" },
		{ "WEB-1.Example.COM", "i-1", "web-1.example.com" },
		{ "192.168.0.11", "i-1", "ip-192-168-0-11" },
		{ "10.0.0.255", "i-1", "ip-10-0-0-255" },
		{ "256.1.1.1", "i-1", "i-1" }, /* numeric top label */
		{ "1.2.3", "i-1", "i-1" },
		{ "42", "i-1", "i-1" },
		{ "node42", "i-1", "node42" },
		{ "web_1!", "i-1", "i-1" },
		{ "-web", "i-1", "i-1" },
		{ "web-", "i-1", "i-1" },
		{ "a..b", "i-1", "i-1" },
		{ "web-1.", "i-1", "i-1" },
		{ "h\xc3\xa9", "i-1", "i-1" },
		{ "I-ABC_def", "I-ABC_def", "i-abc-def" },
		{ NULL, "__x__", "x" },
		{ NULL, "", "localhost" },
		{ NULL, NULL, "localhost" },
	};
	char out[CI_HOSTNAME_MAX], lid[300], small[4];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ci_hostname(t[i].lid, t[i].iid, out, sizeof(out));
		assert_string_equal(out, t[i].want);
	}
	/* Labels up to 63 characters, names up to 253. */
	memset(lid, 'a', 63);
	lid[63] = '\0';
	ci_hostname(lid, "i-1", out, sizeof(out));
	assert_string_equal(out, lid);
	memset(lid, 'a', 64);
	lid[64] = '\0';
	ci_hostname(lid, "i-1", out, sizeof(out));
	assert_string_equal(out, "i-1");
	for (size_t i = 0; i < 253; i++)
		lid[i] = i % 2 == 0 ? 'a' : '.';
	lid[253] = '\0';
	ci_hostname(lid, "i-1", out, sizeof(out));
	assert_string_equal(out, lid);
	/* 254 characters: "a.a. ... a.ab". */
	lid[251] = '.';
	lid[252] = 'a';
	lid[253] = 'b';
	lid[254] = '\0';
	ci_hostname(lid, "i-1", out, sizeof(out));
	assert_string_equal(out, "i-1");
	/* The instance ID makes one label of at most 63 characters. */
	memset(lid, 'b', 100);
	lid[100] = '\0';
	ci_hostname(NULL, lid, out, sizeof(out));
	assert_int_equal(strlen(out), 63);
	/* A short buffer truncates. */
	ci_hostname("web-1", "i-1", small, sizeof(small));
	assert_string_equal(small, "web");
}

static void
roundtrip(const char *data, size_t len, const char *want_enc)
{
	const char *enc = NULL;
	struct buf gi, back;
	struct err err;

	buf_init(&gi, CI_BUF_MAX);
	buf_init(&back, CI_BUF_MAX);
	assert_int_equal(ci_guestinfo_encode(data, len, &gi, &enc, &err), 0);
	assert_string_equal(enc, want_enc);
	/* No line breaks, quotes or pipes: a safe .vmx value. */
	assert_int_equal(strcspn(buf_str(&gi), "\n\r\"|"), gi.b_len);
	assert_int_equal(
	    ci_guestinfo_decode(buf_str(&gi), enc, &back, &err), 0);
	assert_int_equal(back.b_len, len);
	if (len > 0)
		assert_memory_equal(back.b_data, data, len);
	buf_free(&gi);
	buf_free(&back);
}

/* RFC 4648 section 10, and the example in the VMware spec. */
static void
test_guestinfo_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "instance-id: instance-0001\nlocal-hostname: web-1\n",
		    "aW5zdGFuY2UtaWQ6IGluc3RhbmNlLTAwMDEKbG9jYWwtaG9zdG5hbWU6IH"
		    "dlYi0xCg==" },
		{ "\xfb\xff\xbf", "+/+/" },
	};
	const char *enc;
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(ci_guestinfo_encode(v[i].in, strlen(v[i].in),
				     &out, &enc, &err),
		    0);
		assert_string_equal(enc, "base64");
		assert_string_equal(buf_str(&out), v[i].out);
		assert_int_equal(
		    ci_guestinfo_decode(v[i].out, "base64", &out, &err), 0);
		assert_string_equal(buf_str(&out), v[i].in);
		assert_int_equal(
		    ci_guestinfo_decode(v[i].out, "b64", &out, &err), 0);
		assert_string_equal(buf_str(&out), v[i].in);
	}
	/* White space (as in wrapped MIME bodies) is skipped. */
	assert_int_equal(
	    ci_guestinfo_decode(" Zm9v\nYmFy\r\n", "base64", &out, &err), 0);
	assert_string_equal(buf_str(&out), "foobar");
	buf_free(&out);
}

static void
test_guestinfo_roundtrip(void **state)
{
	char bin[CI_GZIP_THRESHOLD + 1], *script;
	struct buf line;
	size_t n = 0;

	(void)state;
	/* Every byte value, base64. */
	for (size_t i = 0; i < 256; i++)
		bin[i] = (char)i;
	roundtrip(bin, 256, "base64");
	roundtrip("", 0, "base64");
	/* The threshold: at it base64, above it gzip. */
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (char)(i * 7 + i / 13);
	roundtrip(bin, CI_GZIP_THRESHOLD, "base64");
	roundtrip(bin, CI_GZIP_THRESHOLD + 1, "gzip+base64");

	/* A 200 KB script: gzip+base64, byte-exact, and much smaller. */
	script = malloc(200 * 1024 + 1);
	assert_non_null(script);
	buf_init(&line, 256);
	for (unsigned i = 0; n < 200 * 1024; i++) {
		buf_reset(&line);
		assert_int_equal(buf_printf(&line,
				     "echo \"step %u of the provisioning "
				     "script\" >> /var/log/init.log\n",
				     i),
		    0);
		for (size_t j = 0; j < line.b_len && n < 200 * 1024; j++)
			script[n++] = line.b_data[j];
	}
	script[n] = '\0';
	roundtrip(script, n, "gzip+base64");
	{
		const char *enc;
		struct buf gi, raw;
		struct err err;

		buf_init(&gi, CI_BUF_MAX);
		buf_init(&raw, CI_BUF_MAX);
		assert_int_equal(
		    ci_guestinfo_encode(script, n, &gi, &enc, &err), 0);
		assert_true(gi.b_len < n / 4);
		/* The base64 holds a gzip stream (magic 1f 8b, deflate). */
		assert_int_equal(
		    ci_guestinfo_decode(buf_str(&gi), "base64", &raw, &err), 0);
		assert_true(raw.b_len > 10);
		assert_int_equal((unsigned char)raw.b_data[0], 0x1f);
		assert_int_equal((unsigned char)raw.b_data[1], 0x8b);
		assert_int_equal((unsigned char)raw.b_data[2], 8);
		/* cloud-init's other spelling decodes too. */
		assert_int_equal(
		    ci_guestinfo_decode(buf_str(&gi), "gz+b64", &raw, &err), 0);
		assert_int_equal(raw.b_len, n);
		buf_free(&gi);
		buf_free(&raw);
	}
	buf_free(&line);
	free(script);
}

static void
test_guestinfo_decode_errors(void **state)
{
	static const char *const bad[] = {
		"Zm9",
		"Zg=a",
		"Z===",
		"Zm9v!",
		"Zg==Zg==",
		"=Zg=",
	};
	struct buf out, small;
	struct err err;

	(void)state;
	buf_init(&out, CI_BUF_MAX);
	buf_init(&small, 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		assert_int_equal(
		    ci_guestinfo_decode(bad[i], "base64", &out, &err), -1);
		assert_int_equal(err.code, EIK_INVAL);
		assert_non_null(strstr(err.msg, "base64"));
	}
	assert_int_equal(ci_guestinfo_decode("Zm9v", "rot13", &out, &err), -1);
	assert_non_null(strstr(err.msg, "rot13"));
	assert_int_equal(ci_guestinfo_decode("Zm9v", NULL, &out, &err), -1);
	/* Valid base64 but no gzip stream. */
	assert_int_equal(
	    ci_guestinfo_decode("Zm9vYmFy", "gzip+base64", &out, &err), -1);
	assert_int_equal(err.code, EIK_INVAL);
	/* A truncated gzip stream: header of "foobar" gzip'd, cut short. */
	assert_int_equal(ci_guestinfo_decode("H4sIAAAAAAACA0vLz09KLA==",
			     "gzip+base64", &out, &err),
	    -1);
	assert_non_null(strstr(err.msg, "gzip"));
	/* Over the output buffer's cap. */
	assert_int_equal(
	    ci_guestinfo_decode("Zm9vYmFy", "base64", &small, &err), -1);
	assert_non_null(strstr(err.msg, "limit"));
	buf_free(&out);
	buf_free(&small);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_data_table),
		cmocka_unit_test(test_user_data_literal),
		cmocka_unit_test(test_user_data_types),
		cmocka_unit_test(test_user_data_base64_parts),
		cmocka_unit_test(test_user_data_boundary),
		cmocka_unit_test(test_user_data_errors),
		cmocka_unit_test(test_user_data_max_init),
		cmocka_unit_test(test_check_init),
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_meta_data_escaping),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_guestinfo_vectors),
		cmocka_unit_test(test_guestinfo_roundtrip),
		cmocka_unit_test(test_guestinfo_decode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
