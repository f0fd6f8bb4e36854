/*
 * Command-line flags from tables: every command (serve, each client verb,
 * each group verb) lists its flags once, as an array of struct flag (name,
 * value, help text, setter), and the same table parses argv, prints the
 * command's --help and finds the "did you mean --X?" hint for a flag it
 * does not know (edit distance).
 *
 * Accepted forms: --name VALUE, --name=VALUE, an unambiguous prefix of a
 * long name (as getopt_long), -q, -qp (short flags without values
 * together), -i VALUE, -iVALUE, and "--", after which everything is an
 * operand. -h and --help ask for the help. With FLAGS_PERMUTE, flags and
 * operands may be mixed; otherwise the first operand ends the flags.
 */
#ifndef FLAGS_H
#define FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct flag;

/* Sets what flag f says from arg (NULL for a flag that takes no value)
 * into ctx, the command's options. 0, or -1 with a message printed. */
typedef int (*flag_set_fn)(void *ctx, const struct flag *f, const char *arg);

struct flag {
	const char *f_long; /* "vm-dir" for --vm-dir; NULL ends a table */
	char f_short;	    /* 'q' for -q, or 0 */
	const char *f_arg;  /* the value's name in the help ("DIR"), or NULL:
			       the flag takes no value */
	const char *f_help; /* lines separated by "\n"; NULL: not listed */
	flag_set_fn f_set;
	size_t f_off;  /* for the generic setters: where in ctx, */
	size_t f_size; /* and the size of a string there */
};

/* Generic setters, writing at ctx + f_off: true into a bool; a string of
 * at most f_size - 1 bytes; a non-empty path made absolute (f_size
 * bytes); a duration (Go's syntax, "1m30s", or bare seconds: dur_flag_ms
 * in util/dur.h) in ms into an unsigned. */
int flag_bool(void *ctx, const struct flag *f, const char *arg);
int flag_string(void *ctx, const struct flag *f, const char *arg);
int flag_path(void *ctx, const struct flag *f, const char *arg);
int flag_duration(void *ctx, const struct flag *f, const char *arg);

#define FLAGS_PERMUTE 0x1 /* operands may come before flags */
#define FLAGS_ERR (-1)	  /* a usage error, printed */
#define FLAGS_HELP (-2)	  /* -h or --help */

/*
 * Parses argv[1..argc-1] with the flags of tables (a NULL-terminated list
 * of tables), in order, calling each setter. The operands are written to
 * ops (room for argc pointers, borrowed from argv) in order. who prefixes
 * the messages ("describe: unknown flag --x"). Returns the number of
 * operands, FLAGS_ERR (message printed: an unknown flag with the closest
 * known one, a missing or unwanted value, a setter's refusal) or
 * FLAGS_HELP (the flags before -h were set; none after it).
 */
int flags_parse(const struct flag *const *tables, unsigned mode,
    const char *who, int argc, char **argv, void *ctx, char **ops);

/* Prints one line per listed flag of tables to f:
 * "  -q, --quiet          help", continued lines aligned under the help. */
void flags_help(FILE *f, const struct flag *const *tables);

/* Levenshtein distance between a and b, at most max + 1 (the search
 * stops there). */
size_t flags_distance(const char *a, const char *b, size_t max);

/* The candidate of names (NULL-terminated) closest to s, when near enough
 * to be a likely typo (or s is a prefix of it); NULL otherwise. */
const char *flags_closest(const char *s, const char *const *names);

#endif /* FLAGS_H */
