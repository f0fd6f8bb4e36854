/*
 * How serve waits (sigwait.c): SIGINT and SIGTERM through a self-pipe,
 * and, meanwhile, a look every SOCKET_CHECK_MS at its unix socket.
 */
#ifndef SIGWAIT_H
#define SIGWAIT_H

#include <sys/stat.h>

/* The self-pipe (close-on-exec) and the handlers: SIGINT and SIGTERM
 * end the wait, SIGPIPE and SIGHUP are ignored. Startup only: fatal()
 * when no pipe can be made. */
void sigwait_init(void);

/*
 * Until SIGINT or SIGTERM: 0. Or, when sock is not NULL, until the file
 * at sock is no longer the socket ours describes (removed, or replaced by
 * another file): 1, with why logged.
 */
int sigwait_until(const char *sock, const struct stat *ours);

/* Closes the self-pipe. */
void sigwait_close(void);

#endif /* SIGWAIT_H */
