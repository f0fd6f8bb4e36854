/*
 * Private to src/vmx/: the line table of a parsed file, which vmx_read.c
 * (lexing and parsing) builds and vmx.c (lookups, edits, output) works on.
 * Code outside src/vmx/ uses vmx.h only.
 *
 * A helper shared by the two files is declared here and named after the
 * file that defines it: vmx_* from vmx.c, vmx_read_* from vmx_read.c. Unlike
 * the vmx_* functions of vmx.h, they are not API.
 *
 * The input is copied once; each line points into that copy until it is
 * edited, when it gets its own buffer. An entry line also records where its
 * value sits in the line (inside the quotes), so that vmx_set can swap the
 * value and leave every other byte of the line alone.
 */
#ifndef VMX_INT_H
#define VMX_INT_H

#include <stddef.h>

/* A UTF-8 byte order mark, which a file may start with (kept on output). */
#define VMX_UTF8_BOM "\xef\xbb\xbf"
#define VMX_UTF8_BOM_LEN 3

enum vmx_eol {
	EOL_NONE = 0, /* last line without a line ending */
	EOL_LF,
	EOL_CRLF
};

struct vmx_line {
	const char *l_text; /* line without its ending, not NUL-terminated */
	size_t l_len;
	char *l_own;   /* l_text when the line was edited (owned), else NULL */
	int l_eol;     /* enum vmx_eol */
	int l_entry;   /* 1 for key = value, 0 for blank and comment lines */
	int l_quoted;  /* value was written in double quotes */
	size_t l_voff; /* value in l_text: after the opening quote */
	size_t l_vlen; /* ... up to, not including, the closing quote */
	char *l_key;   /* key as spelled, NUL-terminated; owns l_val too */
	char *l_val;   /* decoded value (unquoted values as written) */
};

struct vmx {
	char *v_data;		  /* copy of the input */
	int v_bom;		  /* input began with a UTF-8 byte order mark */
	struct vmx_line *v_lines; /* in file order */
	size_t v_nlines;
	size_t v_cap;
};

/* vmx.c */

/* Case-insensitive equality of keys, ASCII only and independent of the
 * locale. */
int vmx_key_eq(const char *a, const char *b);

/* Returns 1 if s names UTF-8 as an .encoding value. */
int vmx_utf8_name(const char *s);

/*
 * Sets l's key (klen bytes) and value (vlen bytes, with |XX decoded when
 * decode is set) in one allocation that l owns, replacing the old ones.
 * 0 or -1 (ENOMEM).
 */
int vmx_line_set_kv(struct vmx_line *l, const char *key, size_t klen,
    const char *val, size_t vlen, int decode);

/* Makes room in v->v_lines for one more line. 0 or -1 (ENOMEM). */
int vmx_lines_grow(struct vmx *v);

/* vmx_read.c */

/* Returns 1 if s is a key the parser would accept. */
int vmx_read_key_valid(const char *s);

#endif /* VMX_INT_H */
