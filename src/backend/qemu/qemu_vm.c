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
#include "util/fsutil.h"

#define QMP_NAME "qmp.sock"

/*
 * A unix socket of a VM: dir/name when the path fits a sockaddr_un, else in
 * a private runtime directory under the instance ID and suffix (so a
 * restarted plugin finds it again), which is made when create is set.
 */
static int
sock_path(const char *dir, const char *id, const char *name, const char *suffix,
    bool create, char *out, size_t len)
{
	char base[PATH_BUF];
	const char *tmp = getenv("TMPDIR");
	int n;

	n = snprintf(out, len, "%s/%s", dir, name);
	if (n > 0 && (size_t)n < len && (size_t)n < 100)
		return 0;
	n = snprintf(base, sizeof(base), "%s/ikvf-qmp-%ld",
	    tmp != NULL && tmp[0] == '/' && strlen(tmp) < 40 ? tmp : "/tmp",
	    (long)getuid());
	if (n < 0 || (size_t)n >= sizeof(base))
		return -1;
	if (create && mkdir(base, 0700) == -1 && errno != EEXIST)
		return -1;
	n = snprintf(out, len, "%s/%s%s", base, id, suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
qemu_qmp_path(const char *dir, const char *id, char *out, size_t len)
{
	return sock_path(dir, id, QMP_NAME, ".sock", true, out, len);
}

int
qemu_console_path(const char *dir, const char *id, char *out, size_t len)
{
	return sock_path(
	    dir, id, QEMU_CONSOLE_NAME, ".console.sock", false, out, len);
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
