/*
 * serve's wait: signals and the socket watch. See sigwait.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cmd/sigwait.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/fsutil.h"
#include "util/log.h"

static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	/* Only async-signal-safe work here: one byte into the self-pipe. */
	(void)write(sig_pipe[1], &c, 1);
	errno = saved;
}

void
sigwait_init(void)
{
	struct sigaction sa;

	/* Close-on-exec from the start where the system can: threads spawn
	 * long-lived children (QEMU), and one spawned between pipe() and
	 * fcntl() would keep our ends open for its whole life. */
#ifdef HAVE_PIPE2
	if (pipe2(sig_pipe, O_CLOEXEC) == -1)
		fatal("pipe2");
#else
	if (pipe(sig_pipe) == -1)
		fatal("pipe");
	(void)fd_cloexec(sig_pipe[0]);
	(void)fd_cloexec(sig_pipe[1]);
#endif
	(void)fd_nonblock(sig_pipe[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
}

/* Whether the socket at sock is still ours (not removed, not replaced by
 * another file: type, inode, ctime). Logs why not. */
static bool
socket_still_ours(const char *sock, const struct stat *ours)
{
	struct stat st;

	if (lstat(sock, &st) == -1) {
		log_error(
		    "the socket %s is gone (%s): no client can reach this "
		    "plugin any more; exiting 1 so that the service "
		    "manager starts it again, which makes it anew (the "
		    "VMs keep running)",
		    sock, strerror(errno));
		return false;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_ino != ours->st_ino ||
	    st.st_dev != ours->st_dev || st.st_ctime != ours->st_ctime) {
		log_error("the socket %s was replaced by another file: clients "
			  "reach whatever made it, not this plugin; exiting 1 "
			  "and leaving it alone (the VMs keep running)",
		    sock);
		return false;
	}
	return true;
}

int
sigwait_until(const char *sock, const struct stat *ours)
{
	for (;;) {
		struct pollfd pfd = { sig_pipe[0], POLLIN, 0 };
		unsigned char sig;
		int n = poll(&pfd, 1, SOCKET_CHECK_MS);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("poll");
			return 0;
		}
		if (n == 0 && sock != NULL && !socket_still_ours(sock, ours))
			return 1;
		if (n > 0 && read(sig_pipe[0], &sig, 1) == 1) {
			log_info("signal %d: shutting down", sig);
			return 0;
		}
	}
}

void
sigwait_close(void)
{
	if (sig_pipe[0] != -1) {
		(void)close(sig_pipe[0]);
		(void)close(sig_pipe[1]);
		sig_pipe[0] = sig_pipe[1] = -1;
	}
}
