/*
 * Error reporting. See err.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

void
err_set(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
err_prefix(struct err *err, const char *fmt, ...)
{
	char pre[256], old[ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	(void)snprintf(err->msg, sizeof(err->msg), "%s: %s", pre, old);
}

void
err_reroot(struct err *err, const char *from, const char *to)
{
	char old[ERR_MSG_MAX];
	size_t n = strlen(from);

	if (err == NULL || strncmp(err->msg, from, n) != 0 ||
	    strchr(".[: ", err->msg[n]) == NULL)
		return;
	memcpy(old, err->msg, sizeof(old));
	(void)snprintf(err->msg, sizeof(err->msg), "%s%s", to, old + n);
}

void
err_clear(struct err *err)
{
	if (err == NULL)
		return;
	err->code = EIK_OK;
	err->msg[0] = '\0';
}

int
err_from_errno(int e)
{
	switch (e) {
	case ENOSPC:
#ifdef EDQUOT
	case EDQUOT:
#endif
		return EIK_NOSPACE;
	case ENOENT:
		return EIK_NOTFOUND;
	case ETIMEDOUT:
		return EIK_TIMEOUT;
	default:
		return EIK_IO;
	}
}

const char *const err_code_names[EIK_NCODES] = {
	[EIK_OK] = "ok",
	[EIK_INVAL] = "invalid",
	[EIK_PARAMS] = "params",
	[EIK_PARSE] = "parse",
	[EIK_REQUEST] = "request",
	[EIK_METHOD] = "method",
	[EIK_NOTFOUND] = "not-found",
	[EIK_IO] = "io",
	[EIK_BACKEND] = "backend",
	[EIK_TIMEOUT] = "timeout",
	[EIK_BUSY] = "busy",
	[EIK_NOSPACE] = "no-space",
	[EIK_INTERNAL] = "internal",
};

const char *
err_code_name(int code)
{
	if (code < 0 || code >= EIK_NCODES)
		return "unknown";
	return err_code_names[code];
}
