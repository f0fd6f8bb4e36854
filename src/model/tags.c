/*
 * Sorted tag sets. See tags.h.
 */
#include <stdlib.h>
#include <string.h>

#include "model/tags.h"

/* Binary search; returns the index of key or where it would go. */
static size_t
tags_find(const struct tags *t, const char *key, bool *found)
{
	size_t lo = 0, hi = t->tg_n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->tg_v[mid].t_key, key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
tags_set(struct tags *t, const char *key, const char *value)
{
	bool found;
	size_t i = tags_find(t, key, &found);
	char *v;

	v = strdup(value);
	if (v == NULL)
		return -1;
	if (found) {
		free(t->tg_v[i].t_value);
		t->tg_v[i].t_value = v;
		return 0;
	}
	if (t->tg_n == t->tg_cap) {
		size_t cap = t->tg_cap == 0 ? 8 : t->tg_cap * 2;
		struct tag *nv = realloc(t->tg_v, cap * sizeof(*nv));

		if (nv == NULL) {
			free(v);
			return -1;
		}
		t->tg_v = nv;
		t->tg_cap = cap;
	}
	{
		char *k = strdup(key);

		if (k == NULL) {
			free(v);
			return -1;
		}
		memmove(&t->tg_v[i + 1], &t->tg_v[i],
		    (t->tg_n - i) * sizeof(t->tg_v[0]));
		t->tg_v[i].t_key = k;
		t->tg_v[i].t_value = v;
		t->tg_n++;
	}
	return 0;
}

const char *
tags_get(const struct tags *t, const char *key)
{
	bool found;
	size_t i = tags_find(t, key, &found);

	return found ? t->tg_v[i].t_value : NULL;
}

int
tags_del(struct tags *t, const char *key)
{
	bool found;
	size_t i = tags_find(t, key, &found);

	if (!found)
		return 0;
	free(t->tg_v[i].t_key);
	free(t->tg_v[i].t_value);
	memmove(&t->tg_v[i], &t->tg_v[i + 1],
	    (t->tg_n - i - 1) * sizeof(t->tg_v[0]));
	t->tg_n--;
	return 1;
}

int
tags_merge(struct tags *dst, const struct tags *src)
{
	for (size_t i = 0; i < src->tg_n; i++)
		if (tags_set(dst, src->tg_v[i].t_key, src->tg_v[i].t_value) ==
		    -1)
			return -1;
	return 0;
}

int
tags_copy(struct tags *dst, const struct tags *src)
{
	dst->tg_v = NULL;
	dst->tg_n = 0;
	dst->tg_cap = 0;
	if (tags_merge(dst, src) == -1) {
		tags_free(dst);
		return -1;
	}
	return 0;
}

bool
tags_match(const struct tags *have, const struct tags *filter)
{
	size_t i = 0, j = 0;

	/* Both are sorted: one merge pass. */
	while (j < filter->tg_n) {
		int c;

		if (i == have->tg_n)
			return false;
		c = strcmp(have->tg_v[i].t_key, filter->tg_v[j].t_key);
		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0)
			return false;
		if (strcmp(have->tg_v[i].t_value, filter->tg_v[j].t_value) != 0)
			return false;
		i++;
		j++;
	}
	return true;
}

bool
tags_equal(const struct tags *a, const struct tags *b)
{
	return a->tg_n == b->tg_n && tags_match(a, b);
}

void
tags_free(struct tags *t)
{
	for (size_t i = 0; i < t->tg_n; i++) {
		free(t->tg_v[i].t_key);
		free(t->tg_v[i].t_value);
	}
	free(t->tg_v);
	t->tg_v = NULL;
	t->tg_n = 0;
	t->tg_cap = 0;
}
