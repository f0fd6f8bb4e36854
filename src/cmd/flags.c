/*
 * Flags from tables. See flags.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/config.h"
#include "cmd/flags.h"
#include "util/compat.h"
#include "util/dur.h"
#include "util/err.h"
#include "util/suggest.h"

/* The help column: "  --name NAME" is padded to it. */
#define HELP_COL 23

struct parse {
	const struct flag *const *p_tables;
	const char *p_who;
	void *p_ctx;
};

int
flag_bool(void *ctx, const struct flag *f, const char *arg)
{
	(void)arg;
	*(bool *)((char *)ctx + f->f_off) = true;
	return 0;
}

int
flag_string(void *ctx, const struct flag *f, const char *arg)
{
	if (strlcpy((char *)ctx + f->f_off, arg, f->f_size) >= f->f_size) {
		fprintf(stderr, "--%s: at most %zu bytes\n", f->f_long,
		    f->f_size - 1);
		return -1;
	}
	return 0;
}

int
flag_path(void *ctx, const struct flag *f, const char *arg)
{
	char *dst = (char *)ctx + f->f_off;

	if (arg[0] == '\0' || strlcpy(dst, arg, f->f_size) >= f->f_size ||
	    config_absolute(dst, f->f_size) == -1) {
		fprintf(stderr, "--%s %s: not a usable path\n", f->f_long, arg);
		return -1;
	}
	return 0;
}

int
flag_duration(void *ctx, const struct flag *f, const char *arg)
{
	char name[64];
	struct err err;
	uint32_t ms;

	(void)snprintf(name, sizeof(name), "--%s", f->f_long);
	if (dur_flag_ms(name, arg, UINT32_MAX, &ms, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*(unsigned *)((char *)ctx + f->f_off) = ms;
	return 0;
}

/* util/suggest.c's distance (ignoring ASCII case: "--VM-DIR" is a typo of
 * "--vm-dir" too), capped at max + 1. */
size_t
flags_distance(const char *a, const char *b, size_t max)
{
	size_t d = suggest_distance(a, b);

	return d > max ? max + 1 : d;
}

const char *
flags_closest(const char *s, const char *const *names)
{
	size_t len = strlen(s);
	size_t max = len <= 3 ? 1 : 2, best = max + 1;
	const char *pick = NULL;

	for (size_t i = 0; names[i] != NULL; i++) {
		size_t d = flags_distance(s, names[i], max);

		if (len > 0 && strncmp(names[i], s, len) == 0)
			d = 0;
		if (d < best) {
			best = d;
			pick = names[i];
		}
	}
	return pick;
}

/* Every flag f of the tables, while fn returns 0. */
#define EACH_FLAG(tables, f)                                                   \
	for (size_t t_ = 0; (tables)[t_] != NULL; t_++)                        \
		for (const struct flag *f = (tables)[t_]; f->f_long != NULL;   \
		     f++)                                                      \
			if (f->f_set != NULL)

/* The flag --name (len bytes of name): an exact match, else the one flag
 * it is a prefix of; NULL, with *ambiguous when several. */
static const struct flag *
find_long(const struct flag *const *tables, const char *name, size_t len,
    bool *ambiguous)
{
	const struct flag *pre = NULL;
	int npre = 0;

	*ambiguous = false;
	EACH_FLAG(tables, f)
	{
		if (strncmp(f->f_long, name, len) != 0)
			continue;
		if (f->f_long[len] == '\0')
			return f;
		npre++;
		pre = f;
	}
	*ambiguous = npre > 1;
	return npre == 1 ? pre : NULL;
}

static const struct flag *
find_short(const struct flag *const *tables, char c)
{
	EACH_FLAG(tables, f)
	if (f->f_short == c)
		return f;
	return NULL;
}

/* "describe: unknown flag --x (did you mean --y?); see --help". */
static void
unknown(const struct parse *p, const char *shown, const char *name)
{
	const char *names[128];
	const char *near;
	size_t n = 0;

	EACH_FLAG(p->p_tables, f)
	if (n + 1 < sizeof(names) / sizeof(names[0]))
		names[n++] = f->f_long;
	names[n] = NULL;
	near = flags_closest(name, names);
	if (near != NULL)
		fprintf(stderr,
		    "%s: unknown flag %s (did you mean --%s?); see --help\n",
		    p->p_who, shown, near);
	else
		fprintf(stderr, "%s: unknown flag %s (see --help)\n", p->p_who,
		    shown);
}

static void
ambiguous(const struct parse *p, const char *name, size_t len)
{
	char list[512] = "";

	EACH_FLAG(p->p_tables, f)
	if (strncmp(f->f_long, name, len) == 0) {
		(void)strlcat(
		    list, list[0] != '\0' ? ", --" : "--", sizeof(list));
		(void)strlcat(list, f->f_long, sizeof(list));
	}
	fprintf(stderr, "%s: --%.*s is ambiguous: %s\n", p->p_who, (int)len,
	    name, list);
}

/* One long flag at argv[*i]; 0, FLAGS_ERR or FLAGS_HELP. */
static int
parse_long(const struct parse *p, int argc, char **argv, int *i)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	const char *value = eq != NULL ? eq + 1 : NULL;
	const struct flag *f;
	bool amb;

	f = find_long(p->p_tables, name, len, &amb);
	/* --help, unless the command has a flag of that name itself. */
	if (len == 4 && strncmp(name, "help", 4) == 0 && value == NULL &&
	    (f == NULL || strcmp(f->f_long, "help") != 0))
		return FLAGS_HELP;
	if (f == NULL) {
		if (amb)
			ambiguous(p, name, len);
		else {
			char shown[128];

			(void)snprintf(
			    shown, sizeof(shown), "--%.*s", (int)len, name);
			unknown(p, shown, shown + 2);
		}
		return FLAGS_ERR;
	}
	if (f->f_arg == NULL && value != NULL) {
		fprintf(
		    stderr, "%s: --%s takes no value\n", p->p_who, f->f_long);
		return FLAGS_ERR;
	}
	if (f->f_arg != NULL && value == NULL) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "%s: --%s needs a value\n", p->p_who,
			    f->f_long);
			return FLAGS_ERR;
		}
		value = argv[++*i];
	}
	return f->f_set(p->p_ctx, f, value) == -1 ? FLAGS_ERR : 0;
}

/* Short flags at argv[*i] ("-q", "-qp", "-iKEY", "-i KEY"). */
static int
parse_short(const struct parse *p, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	for (size_t j = 1; a[j] != '\0'; j++) {
		const struct flag *f = find_short(p->p_tables, a[j]);
		const char *value = NULL;

		if (f == NULL && a[j] == 'h')
			return FLAGS_HELP;
		if (f == NULL) {
			char shown[3] = { '-', a[j], '\0' };

			/* "-all" is more likely --all than -a -l -l. */
			unknown(p, j == 1 && a[2] != '\0' ? a : shown,
			    j == 1 && a[2] != '\0' ? a + 1 : shown + 1);
			return FLAGS_ERR;
		}
		if (f->f_arg != NULL) {
			if (a[j + 1] != '\0')
				value = a + j + 1;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else {
				fprintf(stderr, "%s: -%c needs a value\n",
				    p->p_who, a[j]);
				return FLAGS_ERR;
			}
		}
		if (f->f_set(p->p_ctx, f, value) == -1)
			return FLAGS_ERR;
		if (value != NULL)
			break;
	}
	return 0;
}

int
flags_parse(const struct flag *const *tables, unsigned mode, const char *who,
    int argc, char **argv, void *ctx, char **ops)
{
	struct parse p = { tables, who, ctx };
	bool done = false;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (!done && strcmp(a, "--") == 0) {
			done = true;
			continue;
		}
		if (done || a[0] != '-' || a[1] == '\0') {
			ops[n++] = argv[i];
			if (!(mode & FLAGS_PERMUTE))
				done = true;
			continue;
		}
		rc = a[1] == '-' ? parse_long(&p, argc, argv, &i)
				 : parse_short(&p, argc, argv, &i);
		if (rc != 0)
			return rc;
	}
	return n;
}

/* One help entry: the head padded to HELP_COL, then the help's lines. */
static void
help_entry(FILE *fp, const struct flag *f)
{
	char head[128], sh[5] = "";
	const char *h = f->f_help;
	int n;

	if (f->f_short != 0)
		(void)snprintf(sh, sizeof(sh), "-%c, ", f->f_short);
	n = snprintf(head, sizeof(head), "  %s--%s%s%s", sh, f->f_long,
	    f->f_arg != NULL ? " " : "", f->f_arg != NULL ? f->f_arg : "");
	if (n < 0)
		return;
	if (n <= HELP_COL - 2)
		fprintf(fp, "%-*s", HELP_COL, head);
	else
		fprintf(fp, "%s  ", head);
	for (;;) {
		size_t len = strcspn(h, "\n");

		fprintf(fp, "%.*s\n", (int)len, h);
		if (h[len] == '\0' || h[len + 1] == '\0')
			break;
		h += len + 1;
		fprintf(fp, "%*s", HELP_COL, "");
	}
}

void
flags_help(FILE *fp, const struct flag *const *tables)
{
	for (size_t t = 0; tables[t] != NULL; t++)
		for (const struct flag *f = tables[t]; f->f_long != NULL; f++)
			if (f->f_help != NULL)
				help_entry(fp, f);
}
