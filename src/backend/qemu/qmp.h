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
 * The QMP socket of the VM whose bundle is dir: dir/qmp.sock when that
 * path is shorter than QMP_SOCK_PATH_MAX (it must fit a sockaddr_un), else
 * <run>/<id>.sock in the private directory <run> =
 * $TMPDIR/ikvf-qmp-<euid> ($TMPDIR when absolute and shorter than
 * QMP_TMPDIR_MAX, else /tmp), so that a restarted plugin finds it again.
 * Whoever controls that directory could plant a socket that lies about a
 * VM ("paused" hides a running one), so, as tmux checks its socket
 * directory, it is made QMP_RUNDIR_MODE when missing and refused unless
 * lstat() shows a directory (not a symlink) owned by our effective uid
 * with no group or other permission bit. Writes the path into out; 0, or
 * -1 with err naming the directory, what is wrong and the fix.
 */
int qmp_sock_path(
    const char *dir, const char *id, char *out, size_t len, struct err *err);

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

#endif /* QMP_H */
