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

#endif /* NET_H */
