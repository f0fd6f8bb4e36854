/*
 * The network of the QEMU backend's VMs (--qemu-network), and where a
 * guest's address comes from:
 *
 * - "user" (the default): QEMU's user-mode networking. The guest's
 *   10.0.2.15 cannot be reached from the host; the service forwards a
 *   loopback port to each guest's SSH instead (qemu_argv.c's hostfwd).
 * - "bridge=NAME[,leases=FILE][,helper=PATH]": a tap on the existing host
 *   bridge NAME (libvirt's virbr0, or one with a DHCP server of your own),
 *   made by QEMU's qemu-bridge-helper, as root too: the helper attaches
 *   the tap and it goes away with QEMU. The helper obeys its ACL,
 *   /etc/qemu/bridge.conf, which must allow NAME. The guest's address is
 *   its DHCP lease, by MAC, in FILE or else in libvirt's or dnsmasq's
 *   usual lease files (leases.h).
 */
#ifndef QEMU_NET_H
#define QEMU_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "util/defaults.h"

struct err;

#define QEMU_BRIDGE_NAME_MAX 15	       /* Linux IFNAMSIZ - 1 */
#define QEMU_LEASES_FILE_MAX (8 << 20) /* a lease file is read whole */
#define QEMU_ACL_FILE_MAX (1 << 20)    /* one bridge.conf */
#define QEMU_ACL_DEPTH 8	       /* bridge.conf "include" nesting */

struct qemu_net {
	bool qn_bridge;			      /* else user mode */
	char qn_br[QEMU_BRIDGE_NAME_MAX + 1]; /* the bridge */
	char qn_leases[PATH_BUF];	      /* leases=, or "" */
	char qn_helper[PATH_BUF];	      /* helper=, or "" until found */
	char qn_acl[PATH_BUF];		      /* the helper's bridge.conf */
};

/*
 * Parses spec (NULL or "" is "user") into n. -1 with err naming the
 * wrong part and the accepted forms.
 */
int qemu_net_parse(const char *spec, struct qemu_net *n, struct err *err);

/*
 * What bridge.conf at path (and the files it includes) says about bridge
 * br, as qemu-bridge-helper reads it: "allow NAME", "allow all", "deny
 * NAME", "deny all", "include FILE", '#' comments; a deny wins. 1 allowed,
 * 0 not (err says which line or what is missing, and the fix), -1 when a
 * file cannot be read (err names it).
 */
int qemu_net_acl(const char *path, const char *br, struct err *err);

/*
 * For bridge mode: checks that the bridge exists, finds the helper (next
 * to qemu, then the distributions' places) and that its bridge.conf
 * allows the bridge. 0, or -1 with err saying what to fix. warn gets a
 * note to log when the helper may not work for a non-root user (empty
 * otherwise). User mode: nothing to check.
 */
int qemu_net_check(struct qemu_net *n, const char *qemu_bin, char *warn,
    size_t wlen, struct err *err);

/*
 * The address the bridge's DHCP server leased to mac, into ip. -1 with
 * EIK_NOTFOUND when no lease file read has one (err names the files).
 */
int qemu_net_lease(const struct qemu_net *n, const char *mac, char *ip,
    size_t iplen, struct err *err);

#endif /* QEMU_NET_H */
