// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "util.h"

size_t addr_family_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int addr_ip_parse(const char *s, int family, struct in_prefix *ret)
{
	struct in_prefix p = {};

	if (!s || !*s || strlen(s) >= INET6_ADDRSTRLEN)
		return -EINVAL;
	if ((family == 0 || family == AF_INET) && inet_pton(AF_INET, s, &p.u.v4) == 1) {
		p.family = AF_INET;
		p.len = 32;
	} else if ((family == 0 || family == AF_INET6) && inet_pton(AF_INET6, s, &p.u.v6) == 1) {
		p.family = AF_INET6;
		p.len = 128;
	} else {
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

int addr_prefix_parse(const char *s, struct in_prefix *ret)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash;
	struct in_prefix p;
	unsigned long n;
	char *end;
	size_t alen;
	int r;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	r = addr_ip_parse(buf, 0, &p);
	if (r < 0)
		return r;
	/* Decimal digits only; no leading zero, which iproute2 would read as octal ("/010" is 8). */
	if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3 ||
	    (slash[1] == '0' && slash[2] != '\0'))
		return -EINVAL;
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno || *end || n > (p.family == AF_INET ? 32U : 128U))
		return -EINVAL;
	p.len = (uint8_t)n;
	*ret = p;
	return 0;
}

int addr_prefix_parse_any(const char *s, struct in_prefix *ret)
{
	if (s && strchr(s, '/'))
		return addr_prefix_parse(s, ret);
	return addr_ip_parse(s, 0, ret);
}

const char *addr_ip_format(const struct in_prefix *p, char *buf, size_t size)
{
	if (!inet_ntop(p->family, p->u.bytes, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	return buf;
}

const char *addr_prefix_format(const struct in_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, size, "%s/%u", addr_ip_format(p, a, sizeof(a)), p->len);
	return buf;
}

static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int bytes = bits / 8, rem = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));

		return (a[bytes] & mask) == (b[bytes] & mask);
	}
	return true;
}

bool addr_prefix_contains(const struct in_prefix *net, const struct in_prefix *ip)
{
	if (net->family != ip->family)
		return false;
	return bits_equal(net->u.bytes, ip->u.bytes, net->len);
}

void addr_prefix_mask(struct in_prefix *p)
{
	size_t n = addr_family_len(p->family);

	for (size_t i = 0; i < n; i++) {
		unsigned int bit = (unsigned int)i * 8;

		if (bit >= p->len)
			p->u.bytes[i] = 0;
		else if (bit + 8 > p->len)
			p->u.bytes[i] &= (uint8_t)(0xff << (8 - (p->len - bit)));
	}
}

bool addr_prefix_equal(const struct in_prefix *a, const struct in_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->u.bytes, b->u.bytes, addr_family_len(a->family)) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int addr_mac_parse(const char *s, uint8_t ret[ADDR_MAC_LEN])
{
	uint8_t mac[ADDR_MAC_LEN];
	char sep = 0;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < ADDR_MAC_LEN; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		if (i < ADDR_MAC_LEN - 1) {
			char c = s[i * 3 + 2];

			if (c != ':' && c != '-')
				return -EINVAL;
			if (sep && c != sep)
				return -EINVAL;
			sep = c;
		}
	}
	memcpy(ret, mac, ADDR_MAC_LEN);
	return 0;
}

const char *addr_mac_format(const uint8_t mac[ADDR_MAC_LEN], char buf[ADDR_MAC_STRLEN])
{
	snprintf(buf, ADDR_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	return buf;
}

bool addr_mac_is_unicast(const uint8_t mac[ADDR_MAC_LEN])
{
	static const uint8_t zero[ADDR_MAC_LEN];

	return !(mac[0] & 1) && memcmp(mac, zero, ADDR_MAC_LEN) != 0;
}

int addr_sockaddr_parse(const char *s, bool port_needed, struct sockaddr_storage *ret,
			socklen_t *ret_len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = NULL, *end_host;
	unsigned long port = 0;
	size_t hlen;

	if (!s || !*s)
		return -EINVAL;
	/* "[v6]:port", "v4:port", or a bare address ("v6" has colons of its own). */
	if (s[0] == '[') {
		end_host = strchr(s, ']');
		if (!end_host)
			return -EINVAL;
		if (end_host[1] == ':')
			colon = end_host + 1;
		else if (end_host[1] != '\0')
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		end_host = colon ? colon : s + strlen(s);
	}
	if (port_needed && !colon)
		return -EINVAL;
	if (colon) {
		char *end;

		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || *end || end == colon + 1 || colon[1] == '-' || port == 0 ||
		    port > 65535)
			return -EINVAL;
	}
	if (s[0] == '[')
		s++;
	hlen = (size_t)(end_host - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	*ret = (struct sockaddr_storage){};
	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ret;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ret;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*ret_len = sizeof(*sin);
	}
	return 0;
}

const char *addr_sockaddr_format(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	}
	return buf;
}
