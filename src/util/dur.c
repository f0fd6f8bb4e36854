/*
 * Go durations: parse and format, and the daemon's duration flags. See
 * dur.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/compat.h"
#include "util/dur.h"
#include "util/err.h"

#define NS_US INT64_C(1000)
#define NS_MS INT64_C(1000000)
#define NS_S INT64_C(1000000000)
#define NS_M (60 * NS_S)
#define NS_H (60 * NS_M)
#define FRAC_DIGITS_MAX 18 /* fraction digits kept; more cannot matter */

static const struct {
	const char *u_name;
	uint64_t u_ns;
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

/* The unit at p (its letters run up to the next digit, '.' or NUL, as in
 * Go). Returns its length, 0 when there is none, -1 when unknown. */
static int
unit_at(const char *p, uint64_t *ns)
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

/* Digits at *pp as Go's leadingFraction reads them: those beyond what a
 * uint64 holds are skipped. *scale is 10 to the number of digits kept. */
static uint64_t
fraction(const char **pp, double *scale, bool *digits)
{
	const char *p = *pp;
	uint64_t f = 0;
	bool full = false;

	*scale = 1;
	for (; *p >= '0' && *p <= '9'; p++) {
		*digits = true;
		if (full || f > (uint64_t)INT64_MAX / 10 ||
		    f * 10 + (uint64_t)(*p - '0') > (UINT64_C(1) << 63)) {
			full = true;
			continue;
		}
		f = f * 10 + (uint64_t)(*p - '0');
		*scale *= 10;
	}
	*pp = p;
	return f;
}

/* One "<int>[.<frac>]<unit>" term at *pp, added to *total (<= bound). */
static int
term(const char **pp, uint64_t bound, uint64_t *total, const char **why)
{
	const char *p = *pp;
	uint64_t whole = 0, frac = 0, unit, v;
	double scale = 1;
	bool digits = false;
	int n;

	for (; *p >= '0' && *p <= '9'; p++, digits = true) {
		if (whole > (bound - (uint64_t)(*p - '0')) / 10) {
			*why = "is too long";
			return -1;
		}
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		frac = fraction(&p, &scale, &digits);
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
	if (whole > bound / unit) {
		*why = "is too long";
		return -1;
	}
	v = whole * unit;
	/* The fraction through a double, exactly as Go adds it. */
	if (frac > 0)
		v += (uint64_t)((double)frac * ((double)unit / scale));
	if (v > bound - *total) {
		*why = "is too long";
		return -1;
	}
	*total += v;
	*pp = p + n;
	return 0;
}

int
dur_parse(const char *s, int64_t max_ns, int64_t *ns, const char **why)
{
	const char *p = s;
	uint64_t total = 0, bound;
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
	/* INT64_MIN is one more than INT64_MAX in magnitude (Go takes it). */
	bound = max_ns < 0 ? 0 : (uint64_t)max_ns;
	if (neg && max_ns == INT64_MAX)
		bound++;
	while (*p != '\0')
		if (term(&p, bound, &total, why) == -1)
			return -1;
	if (neg)
		*ns =
		    total == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)total;
	else
		*ns = (int64_t)total;
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
dur_format(int64_t ns, char out[DUR_TEXT_MAX])
{
	uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	const char *sign = ns < 0 ? "-" : "";
	char frac[FRAC_DIGITS_MAX + 2];
	uint64_t whole;

	if (u == 0) {
		(void)snprintf(out, DUR_TEXT_MAX, "0s");
	} else if (u < (uint64_t)NS_US) {
		(void)snprintf(
		    out, DUR_TEXT_MAX, "%s%lluns", sign, (unsigned long long)u);
	} else if (u < (uint64_t)NS_MS) {
		whole = frac_part(frac, sizeof(frac), u, 3);
		(void)snprintf(out, DUR_TEXT_MAX, "%s%llu%s\xc2\xb5s", sign,
		    (unsigned long long)whole, frac);
	} else if (u < (uint64_t)NS_S) {
		whole = frac_part(frac, sizeof(frac), u, 6);
		(void)snprintf(out, DUR_TEXT_MAX, "%s%llu%sms", sign,
		    (unsigned long long)whole, frac);
	} else {
		unsigned long long s, m, h;

		whole = frac_part(frac, sizeof(frac), u, 9);
		s = whole % 60;
		m = whole / 60 % 60;
		h = whole / 3600;
		if (h > 0)
			(void)snprintf(out, DUR_TEXT_MAX, "%s%lluh%llum%llu%ss",
			    sign, h, m, s, frac);
		else if (m > 0)
			(void)snprintf(out, DUR_TEXT_MAX, "%s%llum%llu%ss",
			    sign, m, s, frac);
		else
			(void)snprintf(
			    out, DUR_TEXT_MAX, "%s%llu%ss", sign, s, frac);
	}
}

int
dur_flag_ms(const char *flag, const char *arg, uint32_t max_ms, uint32_t *ms,
    struct err *err)
{
	const char *why = NULL, *e;
	char most[DUR_TEXT_MAX];
	int64_t ns = 0;
	uint64_t v;

	dur_format((int64_t)max_ms * DUR_NS_PER_MS, most);
	if (arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg)) {
		/* The older form: whole seconds. */
		v = parse_uint(arg, 0, max_ms / 1000, &e);
		if (e != NULL)
			why = "is too long";
		else
			ns = (int64_t)v * 1000 * DUR_NS_PER_MS;
	} else if (dur_parse(arg, INT64_MAX, &ns, &why) == 0 && ns < 0) {
		err_set(err, EIK_INVAL,
		    "%s \"%s\" is negative; give a duration such as 30s", flag,
		    arg);
		return -1;
	}
	/* Whole milliseconds, rounded up. */
	v = (uint64_t)(ns / DUR_NS_PER_MS) + (ns % DUR_NS_PER_MS != 0);
	if (why == NULL && v > max_ms)
		why = "is too long";
	if (why != NULL && strcmp(why, "is too long") == 0) {
		err_set(err, EIK_INVAL, "%s \"%s\" is too long; at most %s",
		    flag, arg, most);
		return -1;
	}
	if (why != NULL) {
		err_set(err, EIK_INVAL,
		    "%s \"%s\" %s; write a duration such as 30s, 1m30s, 1.5h "
		    "or 500ms (units ns, us, ms, s, m, h)",
		    flag, arg, why);
		return -1;
	}
	*ms = (uint32_t)v;
	return 0;
}
