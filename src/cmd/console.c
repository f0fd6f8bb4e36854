/*
 * console and logs: the QEMU serial console of an instance (its chardev
 * socket, stdin in raw mode when it is a terminal, "~." at the start of a
 * line leaves, "~~" sends one "~") and the log QEMU keeps of it
 * (serial.log in the bundle; -f follows it as tail -f).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "backend/qemu/qemu.h"
#include "backend/qemu/qemu_argv.h"
#include "cmd/client.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"

static const char *
pstr(const json_t *desc, const char *k)
{
	return json_string_value(
	    json_object_get(json_object_get(desc, "Properties"), k));
}

/* The QEMU bundle of instance id: its directory into dir. 0, or -1 with
 * err (not a QEMU instance: what to use instead). */
static int
qemu_bundle(const struct copts *o, const char *id, const char *what, char *dir,
    size_t len, struct err *err)
{
	json_t *d = client_find(o, id, err);
	const char *be, *vmx;
	char *slash;
	int rc = -1;

	if (d == NULL)
		return -1;
	be = pstr(d, "Backend");
	vmx = pstr(d, "VMX");
	if (be != NULL && strcmp(be, "vmware") == 0)
		err_set(err, EIK_INVAL,
		    "%s runs on VMware, where the plugin keeps no %s: use the "
		    "VM's window in Fusion or Workstation (its serial port is "
		    "what the template's .vmx says), or `" PLUGIN_PROGNAME
		    " ssh %s`",
		    id, what, id);
	else if (be == NULL || strcmp(be, "qemu") != 0)
		err_set(err, EIK_INVAL,
		    "%s runs on the %s backend: only QEMU's have a %s; try `" PLUGIN_PROGNAME
		    " ssh %s`",
		    id, be != NULL ? be : "?", what, id);
	else if (vmx == NULL || strlcpy(dir, vmx, len) >= len ||
	    (slash = strrchr(dir, '/')) == NULL)
		err_set(err, EIK_NOTFOUND,
		    "%s has no bundle yet (State %s): wait for it", id,
		    pstr(d, "State") != NULL ? pstr(d, "State") : "?");
	else {
		*slash = '\0';
		rc = 0;
	}
	json_decref(d);
	return rc;
}

/* ---- logs -----------------------------------------------------------------
 */

/* Copies what fd holds from *off on to stdout. 0, or -1. */
static int
copy_out(int fd, off_t *off)
{
	char chunk[65536];
	ssize_t r;

	while ((r = pread(fd, chunk, sizeof(chunk), *off)) > 0) {
		if (fd_write_all(STDOUT_FILENO, chunk, (size_t)r) == -1)
			return -1;
		*off += r;
	}
	return r == -1 && errno != EINTR ? -1 : 0;
}

int
reach_logs(const struct copts *o, int argc, char **argv)
{
	char dir[PATH_BUF], path[PATH_BUF];
	struct stat st;
	struct err err;
	off_t off = 0;
	int fd;

	(void)argc;
	err_clear(&err);
	if (qemu_bundle(o, argv[0], "serial log", dir, sizeof(dir), &err) == -1)
		return client_fail(&err);
	if (path_join(path, sizeof(path), dir, QEMU_SERIAL_NAME) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr,
		    "error: %s: %s (the VM has not started yet, or you cannot "
		    "read the plugin's files: run as its user)\n",
		    path, strerror(errno));
		return CLI_FAILED;
	}
	for (;;) {
		if (copy_out(fd, &off) == -1 || !o->co_follow)
			break;
		sleep_ms(CLIENT_FOLLOW_POLL_MS);
		/* Replaced or truncated (a new bundle, a cleared log): from
		 * its start. */
		if (stat(path, &st) == 0 && st.st_size < off) {
			(void)close(fd);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
				return CLI_FAILED;
			off = 0;
		}
	}
	(void)close(fd);
	return CLI_OK;
}

/* ---- console --------------------------------------------------------------
 */

static int
console_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	(void)fd_cloexec(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;

		(void)close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The escape state: what stdin gave is sent on, except "~." at the start
 * of a line (leave) and "~~" (one "~"). */
struct esc {
	bool e_bol;   /* at the start of a line */
	bool e_tilde; /* a "~" held back */
};

/* Sends n bytes of in to fd through the escape filter. 1: leave; 0 on;
 * -1 the console is gone. */
static int
console_keys(struct esc *e, int fd, const char *in, size_t n)
{
	char out[1024];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (e->e_tilde) {
			e->e_tilde = false;
			if (c == '.')
				return 1;
			if (c != '~')
				out[k++] = '~';
		} else if (e->e_bol && c == '~') {
			e->e_tilde = true;
			continue;
		}
		out[k++] = c;
		e->e_bol = c == '\r' || c == '\n';
		if (k + 2 >= sizeof(out)) {
			if (fd_write_all(fd, out, k) == -1)
				return -1;
			k = 0;
		}
	}
	return k > 0 && fd_write_all(fd, out, k) == -1 ? -1 : 0;
}

/* Relays between the terminal and the console until "~.", the console
 * closing, or (stdin not a terminal) stdin's end and a quiet moment. */
static void
console_relay(int fd)
{
	struct esc e = { true, false };
	bool in_open = true;

	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 },
			{ STDIN_FILENO, POLLIN, 0 } };
		char buf[4096];
		ssize_t r;
		int n = poll(
		    p, in_open ? 2 : 1, in_open ? -1 : CLIENT_CONSOLE_DRAIN_MS);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (p[0].revents != 0) {
			if ((r = read(fd, buf, sizeof(buf))) <= 0 ||
			    fd_write_all(STDOUT_FILENO, buf, (size_t)r) == -1)
				return;
		}
		if (in_open && p[1].revents != 0) {
			r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r <= 0)
				in_open = false;
			else if (console_keys(&e, fd, buf, (size_t)r) != 0)
				return;
		}
	}
}

int
reach_console(const struct copts *o, int argc, char **argv)
{
	char dir[PATH_BUF], path[PATH_BUF];
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO) == 1;
	struct err err;
	int fd;

	(void)argc;
	err_clear(&err);
	if (qemu_bundle(o, argv[0], "console", dir, sizeof(dir), &err) == -1 ||
	    qemu_console_path(dir, argv[0], path, sizeof(path), &err) == -1)
		return client_fail(&err);
	if ((fd = console_connect(path)) == -1) {
		fprintf(stderr,
		    "error: %s: %s (is %s running? `" PLUGIN_PROGNAME
		    " start %s`; one client at a time)\n",
		    path, strerror(errno), argv[0], argv[0]);
		return CLI_FAILED;
	}
	fprintf(stderr,
	    "connected to the console of %s; ~. at the start of a line "
	    "leaves (press Enter for a prompt)\r\n",
	    argv[0]);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else
		tty = false;
	console_relay(fd);
	if (tty)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	(void)close(fd);
	fprintf(stderr, "\r\nleft the console of %s\n", argv[0]);
	return CLI_OK;
}
