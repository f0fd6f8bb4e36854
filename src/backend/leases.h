/*
 * DHCP lease lookup: which IPv4 address did the host's DHCP server give to
 * a MAC address? Used as the fallback when `vmrun getGuestIPAddress` has no
 * answer (spec/vmware.md §4). Two file formats are understood, in the same
 * text if need be:
 *
 * - VMware's vmnet-dhcpd (ISC dhcpd) lease files:
 *	lease 172.16.5.20 {
 *		starts 3 2020/05/13 12:00:37;
 *		ends 3 2020/05/13 12:30:37;
 *		hardware ethernet 00:0c:29:ab:cd:ef;
 *	}
 *   Times are UTC ("W YYYY/MM/DD HH:MM:SS", the weekday digit optional);
 *   "ends never" and "ends epoch <seconds>" are accepted too.
 * - Apple bootpd's /var/db/dhcpd_leases:
 *	{
 *		ip_address=192.168.64.2
 *		hw_address=1,d:ea:d0:6:77:88
 *		lease=0x5fd78ae2
 *	}
 *   where lease= is the expiry in hexadecimal unix seconds.
 *
 * Both are plain functions over a buffer; reading the files is the
 * caller's job. Nothing is allocated.
 */
#ifndef LEASES_H
#define LEASES_H

#include <stddef.h>
#include <stdint.h>

struct err;

/* Room for a normalised MAC, "xx:xx:xx:xx:xx:xx" and its NUL. */
#define LEASES_MAC_LEN 18
/* Room for a dotted IPv4 address, "255.255.255.255" and its NUL. */
#define LEASES_IP_LEN 16
/* Room for one lease file's path. */
#define LEASES_PATH_LEN 256

/*
 * Finds the IPv4 address leased to mac in len bytes of text (need not be
 * NUL-terminated). mac may be in any case, with octets with or without
 * leading zeros, separated by ':' or '-'.
 *
 * Among several leases for the MAC, those still valid at now (unix seconds:
 * the lease ends after now, and an ISC "binding state" if present is
 * "active") win over expired ones; within each group the latest end wins,
 * and on equal ends the later entry in the text. For Apple entries the end
 * is the lease= value. Entries without a closing brace (a file cut short
 * while being written), with an address that is not dotted IPv4, or with a
 * bad MAC are ignored, as are comments (# to end of line), CR, tabs, NUL
 * bytes and any other junk.
 *
 * On success writes the dotted address into ip (iplen ≥ LEASES_IP_LEN) and
 * returns 0. Returns -1 when no lease matches (err code EIK_NOTFOUND) or
 * mac is not a MAC address or ip is too small (EIK_INVAL). err may be NULL.
 */
int leases_find(const char *text, size_t len, const char *mac, int64_t now,
    char *ip, size_t iplen, struct err *err);

/*
 * The same lookup in the files of a dnsmasq DHCP server (the QEMU
 * backend's bridge mode), in either of its two forms, told apart by the
 * first byte that is not blank ('[' is JSON):
 *
 * - dnsmasq's own lease file (--dhcp-leasefile, e.g.
 *   /var/lib/misc/dnsmasq.leases), one lease a line:
 *	1700000000 52:54:00:12:34:56 192.168.122.45 myhost 01:52:54:00:12:34:56
 *   <expiry, unix seconds, 0 = never> <MAC> <IPv4> <hostname> <client-id>;
 *   the DHCPv6 lines ("duid ...", and leases whose second field is an
 *   IAID and third an IPv6 address) do not match any MAC and are skipped;
 * - libvirt's /var/lib/libvirt/dnsmasq/<bridge>.status, a JSON array of
 *   objects with "ip-address", "mac-address" and "expiry-time" (a number;
 *   a missing one counts as never), other members ignored.
 *
 * The choice among several leases, the arguments and the return value are
 * those of leases_find. Lines or objects cut short are ignored.
 */
int leases_find_dnsmasq(const char *text, size_t len, const char *mac,
    int64_t now, char *ip, size_t iplen, struct err *err);

/*
 * The dnsmasq lease files worth reading for host bridge br, most likely
 * first, written into paths (max entries):
 * libvirt's status file of br, then plain dnsmasq's default lease files
 * (Debian /var/lib/misc/dnsmasq.leases, Fedora /var/lib/dnsmasq/
 * dnsmasq.leases, BSD /var/db/dnsmasq.leases). Returns how many were
 * written (at most max).
 */
size_t leases_dnsmasq_paths(
    const char *br, char paths[][LEASES_PATH_LEN], size_t max);

/*
 * Writes mac as "xx:xx:xx:xx:xx:xx" in lower case into out (outlen ≥
 * LEASES_MAC_LEN). Accepts six octets of one or two hex digits separated
 * by ':' or by '-' (one kind throughout). Returns 0, or -1 when in is not
 * such a MAC or out is too small.
 */
int leases_norm_mac(const char *in, char *out, size_t outlen);

/*
 * The lease files worth reading on this OS, most likely first:
 * macOS: /var/db/vmware/vmnet-dhcpd-vmnet8.leases (NAT), the other
 * vmnet-dhcpd-vmnetN.leases, then Apple's /var/db/dhcpd_leases (Fusion 12.0
 * and 12.1 on macOS 11); elsewhere: /etc/vmware/vmnet8/dhcpd/dhcpd.leases,
 * its dhcp/ dhcpd.leases / dhcp.leases variants, then the same for vmnet1.
 * A static NULL-terminated array; many entries will not exist on a given
 * host.
 */
const char *const *leases_default_paths(void);

#endif /* LEASES_H */
