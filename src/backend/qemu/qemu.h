/*
 * The QEMU backend (qemu.c): its operations table; a VM's process and
 * sockets (qemu_vm.c), among them its serial console's, for a client that
 * attaches to it.
 */
#ifndef QEMU_H
#define QEMU_H

#include <sys/types.h>

#include <stddef.h>

struct backend_ops;

extern const struct backend_ops backend_qemu_ops;

struct err;

/*
 * The QMP socket of the VM whose bundle is dir: dir/qmp.sock when that path
 * is shorter than QMP_SOCK_PATH_MAX (it must fit a sockaddr_un), else
 * <run>/<id>.sock in the private directory <run> = $TMPDIR/ikvf-qmp-<euid>
 * ($TMPDIR when absolute and shorter than QMP_TMPDIR_MAX, else /tmp), so
 * that a restarted plugin finds it again. Whoever controls that directory
 * could plant a socket that lies about a VM ("paused" hides a running
 * one), so, as tmux checks its socket directory, it is made QMP_RUNDIR_MODE
 * when missing and refused unless lstat() shows a directory (not a
 * symlink) owned by our effective uid with no group or other permission
 * bit. Writes the path into out; 0, or -1 with err (may be NULL) naming
 * the directory, what is wrong and the fix.
 */
int qemu_qmp_path(
    const char *dir, const char *id, char *out, size_t len, struct err *err);

/*
 * The unix socket of the serial console of instance id whose bundle is
 * dir: dir/console.sock, or <run>/ID.console.sock as for the QMP socket,
 * with the same checks of <run> (a planted console would read what the
 * user types), but nothing is created. QEMU listens there while the VM
 * runs (one client at a time; what the guest prints also goes to
 * dir/serial.log). 0 or -1 with err as qemu_qmp_path().
 */
int qemu_console_path(
    const char *dir, const char *id, char *out, size_t len, struct err *err);

/* QEMU's PID from dir's pidfile, when that process is alive and is this
 * VM's (its command line names the bundle); else -1. */
pid_t qemu_vm_pid(const char *dir);

#endif /* QEMU_H */
