/*
 * Fuzz target: the DHCP lease parsers (ISC dhcpd, Apple bootpd, dnsmasq and
 * libvirt files).
 */
#include "fuzz_common.h"
#include "backend/leases.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ip[LEASES_IP_LEN], mac[LEASES_MAC_LEN];
	char small[64];
	size_t n = size < sizeof(small) - 1 ? size : sizeof(small) - 1;

	(void)leases_find((const char *)data, size, "00:0c:29:12:34:56",
	    1800000000, ip, sizeof(ip), NULL);
	(void)leases_find(
	    (const char *)data, size, "1:2:3:4:5:6", 0, ip, sizeof(ip), NULL);
	(void)leases_find_dnsmasq((const char *)data, size, "52:54:00:12:34:56",
	    1700000000, ip, sizeof(ip), NULL);
	memcpy(small, data, n);
	small[n] = '\0';
	(void)leases_norm_mac(small, mac, sizeof(mac));
	return 0;
}
