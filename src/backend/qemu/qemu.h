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

/*
 * The unix socket of the serial console of instance id whose bundle is
 * dir: dir/console.sock, or, when that path is too long for a sockaddr_un,
 * $TMPDIR (else /tmp)/ikvf-qmp-UID/ID.console.sock. QEMU listens there
 * while the VM runs (one client at a time; what the guest prints also goes
 * to dir/serial.log). Nothing is created. 0, or -1 when no path fits len.
 */
int qemu_console_path(const char *dir, const char *id, char *out, size_t len);

/* The QMP socket: dir/qmp.sock, or the same fallback as the console's
 * (ID.sock), whose directory is made. 0 or -1. */
int qemu_qmp_path(const char *dir, const char *id, char *out, size_t len);

/* QEMU's PID from dir's pidfile, when that process is alive and is this
 * VM's (its command line names the bundle); else -1. */
pid_t qemu_vm_pid(const char *dir);

#endif /* QEMU_H */
