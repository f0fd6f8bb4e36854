/*
 * The plugin's SSH key pair. See sshkey.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/sshkey.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/proc.h"

/* Runs ssh-keygen for a new key pair at path. 0, or -1 with err. */
static int
keygen(const char *path, const char *vm_dir, struct err *err)
{
	char exe[PATH_BUF], comment[PATH_BUF + 32];
	const char *argv[] = { exe, "-q", "-t", "ed25519", "-N", "", "-C",
		comment, "-f", path, NULL };
	struct proc_spec ps;
	struct proc_result res;
	int rc = -1;

	if (proc_find_in_path("ssh-keygen", exe, sizeof(exe)) == -1) {
		err_set(err, EIK_NOTFOUND,
		    "ssh-keygen is not in PATH: install OpenSSH's client "
		    "(Debian: apt-get install openssh-client) so the plugin "
		    "can make its key for the guests, %s",
		    path);
		return -1;
	}
	(void)snprintf(comment, sizeof(comment), PLUGIN_PROGNAME "@%s", vm_dir);
	memset(&ps, 0, sizeof(ps));
	ps.ps_argv = argv;
	ps.ps_timeout_ms = SSH_KEYGEN_TIMEOUT_MS;
	if (proc_run(&ps, &res, err) == -1)
		return -1;
	if (res.pr_status != 0)
		err_set(err, EIK_IO, "ssh-keygen -f %s failed (status %d): %s",
		    path, res.pr_status, buf_str(&res.pr_err));
	else
		rc = 0;
	proc_result_free(&res);
	return rc;
}

int
sshkey_ensure(
    const char *vm_dir, char *path, size_t len, char **pub, struct err *err)
{
	char dir[PATH_BUF], pubpath[PATH_BUF];
	size_t n;

	*pub = NULL;
	if (path_join(dir, sizeof(dir), vm_dir, SSH_KEY_DIR) == -1 ||
	    path_join(path, len, dir, SSH_KEY_NAME) == -1 ||
	    snprintf(pubpath, sizeof(pubpath), "%s.pub", path) >=
		(int)sizeof(pubpath)) {
		err_set(err, EIK_INVAL, "--vm-dir %s: path too long", vm_dir);
		return -1;
	}
	if (mkdir_p(dir, SSH_KEY_DIR_MODE, err) == -1)
		return -1;
	/* Made once: a key the guests already trust is never replaced. */
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		(void)unlink(pubpath);
		if (keygen(path, vm_dir, err) == -1)
			return -1;
	}
	if (read_file_max(pubpath, RPC_MAX_SSH_KEY, pub, &n, err) == -1)
		return -1;
	(*pub)[strcspn(*pub, "\r\n")] = '\0';
	if ((*pub)[0] == '\0') {
		err_set(err, EIK_INVAL,
		    "%s is empty: remove it and %s, and the plugin makes a "
		    "new pair at its next start",
		    pubpath, path);
		free(*pub);
		*pub = NULL;
		return -1;
	}
	return 0;
}
