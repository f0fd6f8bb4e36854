/*
 * A minimal QMP (QEMU Machine Protocol) client over a unix socket: one
 * connection per call, greeting and qmp_capabilities, one command, its
 * answer; events are skipped. Every read and write is under a deadline.
 */
#ifndef QMP_H
#define QMP_H

#include <stddef.h>
#include <stdint.h>

struct err;

/*
 * Runs command (e.g. "query-status", "stop", "cont", "system_powerdown",
 * "quit") on the QMP socket at path. args_json is the text of an
 * "arguments" object or NULL. On success returns 0 and, when ret is not
 * NULL, the compact JSON text of the "return" value (caller frees). A
 * socket nobody listens on is EIK_NOTFOUND; QEMU's own error is
 * EIK_BACKEND with its "desc". For "quit", a connection QEMU closes or
 * resets instead of answering counts as success.
 */
int qmp_call(const char *path, const char *command, const char *args_json,
    char **ret, int64_t deadline, struct err *err);

/* query-status: writes QEMU's status word ("running", "paused",
 * "internal-error", ...) into status. 0 or -1 as qmp_call. */
int qmp_status(const char *path, char *status, size_t len, int64_t deadline,
    struct err *err);

/* query-vnc: the VNC server's "HOST:PORT" into addr. EIK_NOTFOUND when
 * VNC is off; otherwise 0 or -1 as qmp_call. */
int qmp_vnc(const char *path, char *addr, size_t len, int64_t deadline,
    struct err *err);

#endif /* QMP_H */
