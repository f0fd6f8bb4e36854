/*
 * The index: every instance the service knows, in a vector sorted by ID
 * (IDs grow with time, so inserts land at the end). Owner thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"

struct inst *
inst_new(void)
{
	return calloc(1, sizeof(struct inst));
}

/* The caller has answered or freed what waited on in (in_deferred) and
 * no job refers to it. */
void
inst_free(struct inst *in)
{
	if (in == NULL)
		return;
	record_free(&in->in_rec);
	free(in->in_from);
	free(in->in_text);
	free(in);
}

/* InfraKit's group filters on this one tag on every poll: a hash of its
 * value lets Describe skip non-members without comparing strings. */
uint64_t
group_hash(const char *v)
{
	uint64_t h = 1469598103934665603ULL;

	if (v == NULL)
		return 0;
	for (const char *p = v; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h | 1;
}

void
inst_rehash(struct inst *in)
{
	in->in_group_hash = group_hash(tags_get(&in->in_rec.r_tags, GROUP_TAG));
}

static size_t
index_find(const struct service *sv, const char *id, bool *found)
{
	size_t lo = 0, hi = sv->sv_n;

	*found = false;
	/* The common insert: a new, highest ID. */
	if (hi > 0 && strcmp(sv->sv_v[hi - 1]->in_rec.r_id, id) < 0)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sv->sv_v[mid]->in_rec.r_id, id);

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

struct inst *
index_get(const struct service *sv, const char *id)
{
	bool found;
	size_t i = index_find(sv, id, &found);

	return found ? sv->sv_v[i] : NULL;
}

int
index_insert(struct service *sv, struct inst *in)
{
	bool found;
	size_t i = index_find(sv, in->in_rec.r_id, &found);

	if (found)
		return -1;
	if (sv->sv_n == sv->sv_cap) {
		size_t cap = sv->sv_cap == 0 ? 64 : sv->sv_cap * 2;
		struct inst **nv = realloc(sv->sv_v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		sv->sv_v = nv;
		sv->sv_cap = cap;
	}
	memmove(&sv->sv_v[i + 1], &sv->sv_v[i],
	    (sv->sv_n - i) * sizeof(sv->sv_v[0]));
	sv->sv_v[i] = in;
	sv->sv_n++;
	in->in_indexed = true;
	return 0;
}

void
index_remove(struct service *sv, struct inst *in)
{
	bool found;
	size_t i = index_find(sv, in->in_rec.r_id, &found);

	if (!found || sv->sv_v[i] != in)
		return;
	memmove(&sv->sv_v[i], &sv->sv_v[i + 1],
	    (sv->sv_n - i - 1) * sizeof(sv->sv_v[0]));
	sv->sv_n--;
	in->in_indexed = false;
}
