/* SPDX-License-Identifier: GPL-2.0-only */
/* IP prefixes, addresses and MAC addresses: parsing, formatting, comparison. */
#ifndef TP_ADDR_H
#define TP_ADDR_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

#define ADDR_MAC_LEN	     6
#define ADDR_MAC_STRLEN	     18 /* "xx:xx:xx:xx:xx:xx" + NUL */
#define ADDR_PREFIX_STRLEN   (INET6_ADDRSTRLEN + 4)
#define ADDR_SOCKADDR_STRLEN (INET6_ADDRSTRLEN + 8) /* "[addr]:port" */

/* An IPv4 or IPv6 address with a prefix length. */
struct in_prefix {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} u;
	uint8_t len;
};

/* Parse "a.b.c.d/n" or "x::y/n"; the length is required, in decimal without leading zeros. */
int addr_prefix_parse(const char *s, struct in_prefix *ret);
/* Parse a bare address (no "/n"); family 0 accepts both. len is set to 32 or 128. */
int addr_ip_parse(const char *s, int family, struct in_prefix *ret);
/* Parse either form; a bare address gets a host prefix. */
int addr_prefix_parse_any(const char *s, struct in_prefix *ret);
/* Format as "addr/len". */
const char *addr_prefix_format(const struct in_prefix *p, char *buf, size_t size);
/* Format only the address. */
const char *addr_ip_format(const struct in_prefix *p, char *buf, size_t size);
/* Address bytes length for the family (4 or 16). */
size_t addr_family_len(int family);
/* True if ip (its address part) lies within net. */
bool addr_prefix_contains(const struct in_prefix *net, const struct in_prefix *ip);
/* Zero the host bits of p. */
void addr_prefix_mask(struct in_prefix *p);
/* Same family, address and length. */
bool addr_prefix_equal(const struct in_prefix *a, const struct in_prefix *b);

/*
 * Parse "ADDR:PORT" ("198.18.0.1:80", "[fd00::1]:80") into a socket address; with port_needed
 * false a bare address is taken too (port 0). Port 0 is refused when a port is given.
 */
int addr_sockaddr_parse(const char *s, bool port_needed, struct sockaddr_storage *ret,
			socklen_t *ret_len);

/* Format a socket address as "ADDR:PORT" or "[ADDR6]:PORT" (ADDR_SOCKADDR_STRLEN bytes fit). */
const char *addr_sockaddr_format(const struct sockaddr_storage *ss, char *buf, size_t size);

/* Parse "xx:xx:xx:xx:xx:xx" (also '-' separated), case-insensitive. */
int addr_mac_parse(const char *s, uint8_t ret[ADDR_MAC_LEN]);
/* Format lower-case, colon separated. */
const char *addr_mac_format(const uint8_t mac[ADDR_MAC_LEN], char buf[ADDR_MAC_STRLEN]);
/* Not multicast and not all zeros. */
bool addr_mac_is_unicast(const uint8_t mac[ADDR_MAC_LEN]);

#endif
