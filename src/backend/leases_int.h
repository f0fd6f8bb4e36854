/*
 * What the lease parsers (leases.c: ISC and Apple; leases_dnsmasq.c:
 * dnsmasq and libvirt) share. Private to them.
 */
#ifndef LEASES_INT_H
#define LEASES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/leases.h"

struct err;

/* The longest word kept; longer ones are read over and come back empty. */
#define LEASES_WORD_MAX 64
/* A lease that never ends (ISC "ends never", dnsmasq expiry 0). */
#define LEASES_NEVER INT64_MAX

/* One complete entry, as the parsers hand it over. */
struct lease {
	char le_ip[LEASES_WORD_MAX];
	char le_mac[LEASES_WORD_MAX]; /* as written; normalised when compared */
	int64_t le_ends;	      /* 0 when the entry has none */
	bool le_bound; /* false for an ISC binding state not active */
};

/* The choice among the leases for one MAC (see leases.h). */
struct leases_pick {
	struct lease pk_best;
	bool pk_found, pk_valid;
};

/* Takes le into sel when it beats the best so far (the rule of leases.h). */
void leases_pick(struct leases_pick *sel, const struct lease *le, int64_t now);
/* The lookup's answer: the address picked into ip, or -1 with err set. */
int leases_picked(const struct leases_pick *sel, const char *want, char *ip,
    size_t iplen, struct err *err);
/* Checks a lookup's arguments; want (LEASES_MAC_LEN) gets the MAC. */
int leases_find_args(
    const char *mac, char *want, char *ip, size_t iplen, struct err *err);
/* True when s is a dotted quad of decimal numbers 0-255. */
bool leases_ipv4_valid(const char *s);
/* n bytes at s as a decimal number in [min, max] into out. */
bool leases_field_uint(
    const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out);

#endif /* LEASES_INT_H */
