/*
 * A QEMU VM's process and sockets: its verified PID, the paths of its QMP
 * and console sockets. See qemu.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/qemu/qemu.h"
#include "backend/qemu/qemu_argv.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"

#define QMP_NAME "qmp.sock"

/*
 * Checks the private runtime directory base (and makes it, when missing and
 * create is set): whoever controls it could plant a socket that lies about
 * a VM ("paused" hides a running one) or reads what is typed on its
 * console, so, as tmux checks its socket directory, it is refused unless
 * lstat() shows a directory (not a symlink) owned by our effective uid with
 * no group or other permission bit.
 */
static int
private_dir(const char *base, bool create, struct err *err)
{
	struct stat sb;
	uid_t uid = geteuid();

	if (lstat(base, &sb) == -1) {
		if (errno == ENOENT && !create)
			return 0; /* nothing there to trust or distrust */
		if (errno != ENOENT) {
			err_set(err, EIK_IO, "socket directory %s: %s", base,
			    strerror(errno));
			return -1;
		}
		if (mkdir(base, QMP_RUNDIR_MODE) == -1 && errno != EEXIST) {
			err_set(err, EIK_IO,
			    "cannot make the socket directory %s: %s", base,
			    strerror(errno));
			return -1;
		}
		if (lstat(base, &sb) == -1) {
			err_set(err, EIK_IO, "socket directory %s: %s", base,
			    strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(sb.st_mode)) {
		err_set(err, EIK_INVAL,
		    "socket directory %s is %s, not a directory: whoever "
		    "made it could plant sockets that misreport VMs; remove it "
		    "(the plugin makes it again) or set TMPDIR to a private "
		    "directory",
		    base, S_ISLNK(sb.st_mode) ? "a symbolic link" : "a file");
		return -1;
	}
	if (sb.st_uid != uid) {
		err_set(err, EIK_INVAL,
		    "socket directory %s belongs to uid %ld, not to this "
		    "plugin's uid %ld: its owner could plant sockets that "
		    "misreport VMs; remove it (the plugin makes it again) or "
		    "set TMPDIR to a private directory",
		    base, (long)sb.st_uid, (long)uid);
		return -1;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		err_set(err, EIK_INVAL,
		    "socket directory %s has mode %04o: others could plant "
		    "sockets in it that misreport VMs; chmod %o it (after "
		    "checking its sockets are this plugin's) or remove it",
		    base, (unsigned)(sb.st_mode & 07777),
		    (unsigned)QMP_RUNDIR_MODE);
		return -1;
	}
	return 0;
}

/*
 * A unix socket of a VM: dir/name when the path fits a sockaddr_un, else
 * <run>/<id><suffix> in the private directory <run> =
 * $TMPDIR/ikvf-qmp-<euid> ($TMPDIR when absolute and shorter than
 * QMP_TMPDIR_MAX, else /tmp), so that a restarted plugin finds it again.
 */
static int
sock_path(const char *dir, const char *id, const char *name, const char *suffix,
    bool create, char *out, size_t len, struct err *err)
{
	char base[PATH_BUF];
	const char *tmp = getenv("TMPDIR");
	int n;

	n = snprintf(out, len, "%s/%s", dir, name);
	if (n > 0 && (size_t)n < len && n < QMP_SOCK_PATH_MAX)
		return 0;
	if (tmp == NULL || tmp[0] != '/' || strlen(tmp) >= QMP_TMPDIR_MAX)
		tmp = "/tmp";
	n = snprintf(
	    base, sizeof(base), "%s/ikvf-qmp-%ld", tmp, (long)geteuid());
	if (n < 0 || (size_t)n >= sizeof(base)) {
		err_set(err, EIK_INVAL, "socket directory path too long");
		return -1;
	}
	if (private_dir(base, create, err) == -1)
		return -1;
	n = snprintf(out, len, "%s/%s%s", base, id, suffix);
	if (n < 0 || (size_t)n >= len || n >= QMP_SOCK_PATH_MAX) {
		err_set(err, EIK_INVAL,
		    "no usable path for the %s of %s: %s/%s%s is too long for "
		    "a unix socket",
		    name, id, base, id, suffix);
		return -1;
	}
	return 0;
}

int
qemu_qmp_path(
    const char *dir, const char *id, char *out, size_t len, struct err *err)
{
	return sock_path(dir, id, QMP_NAME, ".sock", true, out, len, err);
}

int
qemu_console_path(
    const char *dir, const char *id, char *out, size_t len, struct err *err)
{
	return sock_path(
	    dir, id, QEMU_CONSOLE_NAME, ".console.sock", false, out, len, err);
}

pid_t
qemu_vm_pid(const char *dir)
{
	char path[PATH_BUF], *text = NULL;
	const char *e;
	size_t len;
	pid_t pid;

	if (path_join(path, sizeof(path), dir, QEMU_PID_NAME) == -1 ||
	    read_file_max(path, 64, &text, &len, NULL) == -1)
		return -1;
	text[strcspn(text, "\r\n")] = '\0';
	pid = (pid_t)parse_uint(text, 1, 0x7fffffff, &e);
	free(text);
	if (e != NULL || kill(pid, 0) == -1)
		return -1;
#if defined(__linux__)
	{
		char proc[64], *cmd = NULL, *stat = NULL;
		bool ours = false;

		/* A PID reused by something else, or a zombie, is not ours. */
		(void)snprintf(proc, sizeof(proc), "/proc/%ld/stat", (long)pid);
		if (read_file_max(proc, 4096, &stat, &len, NULL) == 0) {
			const char *rp = strrchr(stat, ')');

			if (rp != NULL && rp[1] == ' ' && rp[2] == 'Z') {
				free(stat);
				return -1;
			}
			free(stat);
		}
		(void)snprintf(
		    proc, sizeof(proc), "/proc/%ld/cmdline", (long)pid);
		if (read_file_max(proc, 1 << 20, &cmd, &len, NULL) == 0) {
			for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
				if (strstr(cmd + i, dir) != NULL)
					ours = true;
			free(cmd);
		}
		if (!ours)
			return -1;
	}
#endif
	return pid;
}
