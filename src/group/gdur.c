/*
 * Go durations: parse and format. See gdur.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "group/gdur.h"

#define NS_US INT64_C(1000)
#define NS_MS INT64_C(1000000)
#define NS_S INT64_C(1000000000)
#define NS_M (60 * NS_S)
#define NS_H (60 * NS_M)
#define FRAC_DIGITS_MAX 18 /* fraction digits kept; more cannot matter */

static const struct {
	const char *u_name;
	int64_t u_ns;
} units[] = {
	{ "ns", 1 },
	{ "us", NS_US },
	{ "\xc2\xb5s", NS_US }, /* U+00B5 micro sign */
	{ "\xce\xbcs", NS_US }, /* U+03BC Greek mu */
	{ "ms", NS_MS },
	{ "s", NS_S },
	{ "m", NS_M },
	{ "h", NS_H },
};

/* The unit at p (its letters run up to the next digit, '.' or NUL).
 * Returns its length, 0 when there is none, -1 when unknown. */
static int
unit_at(const char *p, int64_t *ns)
{
	size_t n = 0;

	while (p[n] != '\0' && p[n] != '.' && (p[n] < '0' || p[n] > '9'))
		n++;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].u_name) == n &&
		    memcmp(p, units[i].u_name, n) == 0) {
			*ns = units[i].u_ns;
			return (int)n;
		}
	}
	return -1;
}

/* One "<int>[.<frac>]<unit>" term at *pp, added to *total (<= max). */
static int
term(const char **pp, int64_t max, int64_t *total, const char **why)
{
	const char *p = *pp;
	int64_t whole = 0, frac = 0, scale = 1, unit, fns;
	bool digits = false;
	int n;

	for (; *p >= '0' && *p <= '9'; p++, digits = true) {
		if (whole > max / 10) {
			*why = "is too long";
			return -1;
		}
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
			if (scale < INT64_C(1000000000000000000)) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		}
	}
	if (!digits) {
		*why = "is not a duration";
		return -1;
	}
	n = unit_at(p, &unit);
	if (n <= 0) {
		*why = n == 0 ? "has no unit" : "has an unknown unit";
		return -1;
	}
	/* The fraction in floating point, as Go does (exact to the
	 * nanosecond for fractions of up to an hour). */
	fns = (int64_t)((double)frac * ((double)unit / (double)scale));
	if (whole > (max - *total) / unit ||
	    whole * unit + fns > max - *total) {
		*why = "is too long";
		return -1;
	}
	*total += whole * unit + fns;
	*pp = p + n;
	return 0;
}

int
gdur_parse(const char *s, int64_t max_ns, int64_t *ns, const char **why)
{
	const char *p = s;
	int64_t total = 0;
	bool neg = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*p == '\0') {
		*why = "is not a duration";
		return -1;
	}
	while (*p != '\0')
		if (term(&p, max_ns, &total, why) == -1)
			return -1;
	*ns = neg ? -total : total;
	return 0;
}

/* Appends ".ddd" (v / 10^prec's fraction, trailing zeros dropped) then
 * returns v / 10^prec. */
static uint64_t
frac_part(char *out, size_t len, uint64_t v, int prec)
{
	char d[FRAC_DIGITS_MAX + 1];
	int n = prec;
	bool any = false;

	d[prec] = '\0';
	for (int i = prec - 1; i >= 0; i--) {
		int digit = (int)(v % 10);

		any = any || digit != 0;
		d[i] = (char)('0' + digit);
		if (!any)
			n = i;
		v /= 10;
	}
	d[n] = '\0';
	if (n > 0)
		(void)snprintf(out, len, ".%s", d);
	else
		out[0] = '\0';
	return v;
}

void
gdur_format(int64_t ns, char out[GDUR_TEXT_MAX])
{
	uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	const char *sign = ns < 0 ? "-" : "";
	char frac[FRAC_DIGITS_MAX + 2];
	uint64_t whole;

	if (u == 0) {
		(void)snprintf(out, GDUR_TEXT_MAX, "0s");
	} else if (u < (uint64_t)NS_US) {
		(void)snprintf(out, GDUR_TEXT_MAX, "%s%lluns", sign,
		    (unsigned long long)u);
	} else if (u < (uint64_t)NS_MS) {
		whole = frac_part(frac, sizeof(frac), u, 3);
		(void)snprintf(out, GDUR_TEXT_MAX, "%s%llu%s\xc2\xb5s", sign,
		    (unsigned long long)whole, frac);
	} else if (u < (uint64_t)NS_S) {
		whole = frac_part(frac, sizeof(frac), u, 6);
		(void)snprintf(out, GDUR_TEXT_MAX, "%s%llu%sms", sign,
		    (unsigned long long)whole, frac);
	} else {
		unsigned long long s, m, h;

		whole = frac_part(frac, sizeof(frac), u, 9);
		s = whole % 60;
		m = whole / 60 % 60;
		h = whole / 3600;
		if (h > 0)
			(void)snprintf(out, GDUR_TEXT_MAX,
			    "%s%lluh%llum%llu%ss", sign, h, m, s, frac);
		else if (m > 0)
			(void)snprintf(out, GDUR_TEXT_MAX, "%s%llum%llu%ss",
			    sign, m, s, frac);
		else
			(void)snprintf(
			    out, GDUR_TEXT_MAX, "%s%llu%ss", sign, s, frac);
	}
}
