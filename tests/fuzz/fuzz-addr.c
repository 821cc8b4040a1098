// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the address parsers every interface uses (netd's parameters, task-eni's
 * configuration, the listen options): whatever parses formats back to text that parses to the
 * same value.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input as a C string. Not strndup(): with strict_string_checks (tests/run.sh) ASan's
 * strndup wants its source NUL-terminated, which fuzzer inputs are not.
 */
static char *cstring(const void *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void check_prefix(const struct in_prefix *p, int (*parse)(const char *, struct in_prefix *))
{
	char buf[ADDR_PREFIX_STRLEN];
	struct in_prefix q;

	if (p->family != AF_INET && p->family != AF_INET6)
		abort();
	if (p->len > addr_family_len(p->family) * 8)
		abort();
	if (parse(addr_prefix_format(p, buf, sizeof(buf)), &q) < 0 || !addr_prefix_equal(p, &q))
		abort();
	if (!addr_prefix_contains(p, p))
		abort();
}

static int parse_ip_any(const char *s, struct in_prefix *ret)
{
	return addr_ip_parse(s, 0, ret);
}

static int parse_prefix_any(const char *s, struct in_prefix *ret)
{
	return addr_prefix_parse_any(s, ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct in_prefix p;
	uint8_t mac[ADDR_MAC_LEN], mac2[ADDR_MAC_LEN];
	char buf[ADDR_PREFIX_STRLEN], macbuf[ADDR_MAC_STRLEN];
	socklen_t sl;
	char *s;

	if (size > 256)
		return 0;
	s = cstring(data, size);

	if (addr_prefix_parse(s, &p) == 0)
		check_prefix(&p, addr_prefix_parse);
	if (addr_prefix_parse_any(s, &p) == 0)
		check_prefix(&p, parse_prefix_any);
	if (addr_ip_parse(s, 0, &p) == 0) {
		struct in_prefix q;

		if (p.len != addr_family_len(p.family) * 8)
			abort();
		if (parse_ip_any(addr_ip_format(&p, buf, sizeof(buf)), &q) < 0 ||
		    !addr_prefix_equal(&p, &q))
			abort();
	}
	if (addr_ip_parse(s, AF_INET, &p) == 0 && p.family != AF_INET)
		abort();
	if (addr_ip_parse(s, AF_INET6, &p) == 0 && p.family != AF_INET6)
		abort();
	for (int need = 0; need <= 1; need++) {
		if (addr_sockaddr_parse(s, need, &ss, &sl) < 0)
			continue;
		bool v4 = ss.ss_family == AF_INET && sl == sizeof(struct sockaddr_in);
		bool v6 = ss.ss_family == AF_INET6 && sl == sizeof(struct sockaddr_in6);

		if (!v4 && !v6)
			abort();
	}
	if (addr_mac_parse(s, mac) == 0) {
		if (addr_mac_parse(addr_mac_format(mac, macbuf), mac2) < 0 ||
		    memcmp(mac, mac2, sizeof(mac)) != 0)
			abort();
	}
	free(s);
	return 0;
}
