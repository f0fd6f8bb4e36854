/*
 * Small network probes for the service's workers.
 */
#ifndef NET_H
#define NET_H

#include <stddef.h>

/*
 * Connects to host:port (a numeric IPv4 or IPv6 address) within
 * timeout_ms and reads the first bytes: 1 when they are an SSH server's
 * banner ("SSH-"), 0 otherwise (refused, silent, something else).
 */
int net_probe_ssh(const char *host, unsigned port, int timeout_ms);

/* Whether 127.0.0.1:port can be bound right now (nothing listens there). */
int net_port_free(unsigned port);

/*
 * Who is at the other end of a connected unix socket, as the kernel says
 * (SO_PEERCRED on Linux, getpeereid and LOCAL_PEERPID on macOS and the
 * BSDs): each of uid, gid, pid is -1 where the system does not tell. 0, or
 * -1 when nothing is known.
 */
int net_peer_cred(int fd, long *uid, long *gid, long *pid);

/* The numeric address of a connected socket's peer, "host:port" (IPv6 in
 * brackets), into buf. 0 or -1. */
int net_peer_addr(int fd, char *buf, size_t len);
/* The same for an address (AF_INET or AF_INET6; else -1). */
struct sockaddr;
int net_addr_text(const struct sockaddr *sa, char *buf, size_t len);

#endif /* NET_H */
