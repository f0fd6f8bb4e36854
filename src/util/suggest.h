/*
 * "Did you mean" for names: the nearest of a list of known names to one
 * that is not known, when it is near enough to be a typo. The group spec's
 * keys and the instance Properties use it.
 */
#ifndef SUGGEST_H
#define SUGGEST_H

#include <stdbool.h>
#include <stddef.h>

#define SUGGEST_NAME_MAX 63 /* longer names are never suggested */

/* Levenshtein distance of a and b ignoring ASCII case; (size_t)-1 when
 * either is longer than SUGGEST_NAME_MAX bytes. */
size_t suggest_distance(const char *a, const char *b);

/* True when a name at distance d from name is near enough to be a typo
 * of it: within a third of its length, at least 2. */
bool suggest_is_typo(size_t d, const char *name);

/* The name of names (NULL-terminated) nearest to key when it is a typo of
 * it (the first of equally near ones), else NULL. */
const char *suggest_name(const char *key, const char *const *names);

#endif
