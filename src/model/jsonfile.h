/*
 * JSON files a user names (a Spec, Properties, a group spec): read and
 * parsed with messages that name the file and say what is wrong with it,
 * "cannot read spec.json: No such file or directory" or "spec.json line 3
 * column 7: '}' expected near ']'", never jansson's "line -1, column -1".
 */
#ifndef JSONFILE_H
#define JSONFILE_H

#include <jansson.h>
#include <stddef.h>

struct err;

/*
 * Reads the whole of path ("-" is standard input, named "stdin" in
 * messages), at most max bytes, following symbolic links as any program
 * reading a user's file does. *text is NUL-terminated (caller frees), *len
 * its length. 0, or -1 with err (EIK_INVAL) "cannot read PATH: REASON".
 */
int jfile_read(
    const char *path, size_t max, char **text, size_t *len, struct err *err);

/*
 * Parses len bytes of text read from path (named as jfile_read names it)
 * with jansson's flags. The value (caller decrefs), or NULL with err
 * (EIK_INVAL) "PATH line L column C: WHAT" ("PATH line L: WHAT" at the
 * start of a line, "PATH: WHAT" when jansson has no position, "PATH is
 * empty: ..." for no JSON at all).
 */
json_t *jfile_parse(const char *path, const char *text, size_t len,
    size_t flags, struct err *err);

/* jfile_read then jfile_parse. */
json_t *json_load_path(
    const char *path, size_t max, size_t flags, struct err *err);

#endif /* JSONFILE_H */
