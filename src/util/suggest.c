/*
 * "Did you mean": the nearest known name by edit distance (suggest.h).
 */
#include <ctype.h>
#include <string.h>

#include "util/suggest.h"

size_t
suggest_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[SUGGEST_NAME_MAX + 1];

	if (la > SUGGEST_NAME_MAX || lb > SUGGEST_NAME_MAX)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag +
			    (tolower((unsigned char)a[i - 1]) !=
				tolower((unsigned char)b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

bool
suggest_is_typo(size_t d, const char *name)
{
	size_t third = strlen(name) / 3;

	return d <= (third > 2 ? third : 2);
}

const char *
suggest_name(const char *key, const char *const *names)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	for (size_t i = 0; names[i] != NULL; i++) {
		size_t d = suggest_distance(key, names[i]);

		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	return best != NULL && suggest_is_typo(bestd, best) ? best : NULL;
}
