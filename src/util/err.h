/*
 * Errors: a caller-owned struct filled once by the lowest function that knows
 * what went wrong (Redis anet's char *err, libvirt's "report at the failure
 * site"). Upper layers return -1 and add nothing, except err_prefix() to name
 * the instance or file an error concerns.
 */
#ifndef ERR_H
#define ERR_H

#define ERR_MSG_MAX 1024

enum err_code {
	EIK_OK = 0,
	EIK_INVAL,    /* bad input: a field has a wrong value */
	EIK_PARAMS,   /* request params of the wrong shape */
	EIK_PARSE,    /* body is not JSON */
	EIK_REQUEST,  /* not a JSON-RPC 2.0 request */
	EIK_METHOD,   /* unknown RPC method */
	EIK_NOTFOUND, /* no such instance / template */
	EIK_IO,	      /* file system */
	EIK_BACKEND,  /* hypervisor said no */
	EIK_TIMEOUT,  /* deadline passed */
	EIK_BUSY,     /* shutting down, or out of capacity */
	EIK_NOSPACE,  /* disk full */
	EIK_INTERNAL
};
#define EIK_NCODES (EIK_INTERNAL + 1)

struct err {
	int code;
	char msg[ERR_MSG_MAX];
};

/* Sets code and message; err may be NULL. */
void err_set(struct err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "<formatted>: " to the message already set. */
void err_prefix(struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void err_clear(struct err *err);
/* When the message starts with the path from, ended by '.', '[', ':', ' '
 * or the end ("Properties.VMX: ..."), puts to in its place ("Spec.
 * Properties.VMX: ..."): the service names property values from the
 * Properties, the caller says where in its request they were. */
void err_reroot(struct err *err, const char *from, const char *to);
/* Maps an errno value to an err_code (ENOSPC → EIK_NOSPACE, ...). */
int err_from_errno(int e);
const char *err_code_name(int code);
/* Each code's name, at its index ("ok" at EIK_OK). */
extern const char *const err_code_names[EIK_NCODES];

#endif /* ERR_H */
