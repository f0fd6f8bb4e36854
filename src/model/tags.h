/*
 * Tag sets: string keys to string values, kept sorted by key (byte order)
 * with unique keys. The filter of DescribeInstances is an AND of exact
 * key=value matches (InfraKit's semantics: case-sensitive, no wildcards).
 */
#ifndef TAGS_H
#define TAGS_H

#include <stdbool.h>
#include <stddef.h>

struct tag {
	char *t_key;
	char *t_value;
};

struct tags {
	struct tag *tg_v;
	size_t tg_n;
	size_t tg_cap;
};

#define TAGS_INIT                                                              \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Sets key to value (both copied), replacing an existing value. 0 or -1. */
int tags_set(struct tags *t, const char *key, const char *value);
/* Borrowed; NULL when absent. */
const char *tags_get(const struct tags *t, const char *key);
/* Removes key; returns 1 if it was there. */
int tags_del(struct tags *t, const char *key);
/* dst gets every tag of src, src winning on conflicts. 0 or -1. */
int tags_merge(struct tags *dst, const struct tags *src);
/* dst = copy of src (dst must be empty or freed). 0 or -1. */
int tags_copy(struct tags *dst, const struct tags *src);
/* True when every tag of filter is in have with an equal value. An empty
 * filter matches everything. */
bool tags_match(const struct tags *have, const struct tags *filter);
bool tags_equal(const struct tags *a, const struct tags *b);
void tags_free(struct tags *t);

#endif /* TAGS_H */
