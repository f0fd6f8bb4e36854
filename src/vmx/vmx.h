/*
 * The .vmx codec: VMware's "key = "value"" configuration files, read and
 * rewritten without losing anything it does not need to change.
 *
 * A parsed file is an ordered list of lines (entries, comments, blank
 * lines) that keeps each line's exact bytes and its own line ending (LF,
 * CRLF, or none on a last line). Emitting an unedited file reproduces the
 * input byte for byte. Keys compare case-insensitively and keep their
 * spelling; edits touch only the lines they change (spec/vmware.md §2.1,
 * §2.2; libvirt virconf.c VMX mode, javerous/vm-config).
 *
 * Values are written quoted with '"', '|' and control bytes as |XX (upper
 * case hex) and read back with |XX decoded in either case. Only UTF-8 files
 * are accepted (.encoding = "UTF-8", or no .encoding); other encodings are
 * refused rather than mangled.
 *
 * Tolerated on input and kept verbatim: a UTF-8 byte order mark at the very
 * start of the file, leading whitespace before a key, any spacing around
 * '=', whitespace and a ';' or a "# comment" after the closing quote, and an
 * unquoted value (the rest of the line without trailing whitespace, which
 * vmx_get returns as written, without decoding |XX).
 *
 * Nothing here knows about vmrun, bundles or instance properties.
 */
#ifndef VMX_H
#define VMX_H

#include <stddef.h>

struct err;
struct vmx;

/*
 * Parses len bytes of data (need not be NUL-terminated) into a new *out,
 * which the caller frees with vmx_free(). On error returns -1, leaves *out
 * NULL and fills err (code EIK_INVAL) with a message naming the line and
 * showing it, truncated and reduced to printable ASCII. Errors: more than
 * VMX_MAX_SIZE bytes; a NUL byte; an .encoding other than UTF-8 (accepted
 * spellings "UTF-8" and "utf8", any case); invalid UTF-8; a line that is
 * not blank, not a comment (first non-blank byte '#', which includes a
 * "#!/usr/bin/vmware" first line) and not key = "value".
 */
int vmx_parse(const char *data, size_t len, struct vmx **out, struct err *err);

/*
 * Reads path (at most VMX_MAX_SIZE bytes) and parses it as vmx_parse()
 * does. Every error message names path. *out is caller-owned.
 */
int vmx_load(const char *path, struct vmx **out, struct err *err);

/*
 * Returns the file as bytes: a new NUL-terminated buffer (caller frees) of
 * *len bytes (len may be NULL). An unedited file comes back byte-identical
 * to the input. NULL when out of memory.
 */
char *vmx_emit(const struct vmx *v, size_t *len);

/*
 * Writes the file to path atomically (atomic_write_file(), mode 0644):
 * readers see the old or the new file, never a mix. Refuses a result larger
 * than VMX_MAX_SIZE, since vmx_load() could not read it back.
 */
int vmx_save(const struct vmx *v, const char *path, struct err *err);

/* Frees v and everything borrowed from it. NULL is fine. */
void vmx_free(struct vmx *v);

/*
 * Returns the value of the first entry whose key matches key
 * case-insensitively, with |XX escapes decoded (either hex case; |00 is left
 * as written), or NULL if there is none. Borrowed from v; valid until the
 * next vmx_set/vmx_del/vmx_del_matching or vmx_free().
 */
const char *vmx_get(const struct vmx *v, const char *key);

/*
 * Sets key to value (raw; escaped on output: '"' -> |22, '|' -> |7C, bytes
 * below 0x20 and 0x7f -> |XX in upper case hex).
 * If an entry matches key case-insensitively, its value is replaced in
 * place: the key keeps its spelling and the line keeps its indentation,
 * spacing around '=', trailing text and line ending (an unquoted value
 * becomes quoted). Later entries for the same key are removed.
 * Otherwise `key = "value"` is appended as the last line, ending with the
 * file's line ending (CRLF when most lines end in CRLF, else LF); a last
 * line that had no line ending gets one first.
 * Returns 0, or -1 with errno EINVAL (key not of the .vmx key syntax, value
 * not valid UTF-8, .encoding set to something other than UTF-8) or ENOMEM.
 * Pointers from vmx_get() are invalid afterwards.
 */
int vmx_set(struct vmx *v, const char *key, const char *value);

/*
 * Removes every entry whose key matches key case-insensitively, with its
 * line ending. Returns the number of entries removed.
 */
int vmx_del(struct vmx *v, const char *key);

/*
 * Calls fn(arg, key, value) for each entry in file order, with the key as
 * spelled in the file and the value as vmx_get() returns it (both borrowed
 * for the duration of the call; fn must not edit v). Stops at the first
 * non-zero return of fn and returns it; returns 0 otherwise.
 */
int vmx_foreach(const struct vmx *v,
    int (*fn)(void *arg, const char *key, const char *value), void *arg);

/*
 * Removes every entry whose key matches the shell pattern (fnmatch(3),
 * case-insensitive, '*' also matches '.'), e.g. "ethernet*.generatedAddress*".
 * Returns the number of entries removed.
 */
int vmx_del_matching(struct vmx *v, const char *pattern);

/*
 * Returns the first key (in file order of the repeat, spelled as at its
 * first occurrence) that occurs more than once case-insensitively, or NULL
 * if keys are unique. VMware refuses such files; callers decide. Borrowed;
 * valid until the next edit or vmx_free().
 */
const char *vmx_first_dup(const struct vmx *v);

/* Returns the number of key = value entries. */
size_t vmx_count(const struct vmx *v);

/*
 * Returns raw escaped for a .vmx value ('"', '|' and control bytes as |XX,
 * upper case hex), as a new string the caller frees; NULL when out of
 * memory.
 */
char *vmx_escape(const char *raw);

/*
 * Returns escaped with every |XX (hex digits of either case, XX not 00)
 * decoded, as a new string the caller frees; a '|' not followed by two hex
 * digits stays as it is. NULL when out of memory.
 */
char *vmx_unescape(const char *escaped);

#endif /* VMX_H */
