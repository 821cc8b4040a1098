// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metadata link: a veth pair per task, point to point, never a shared bridge, so that no task
 * reaches another through it. The task side (md0) has 169.254.172.N/32 (N from the task's slot)
 * and a route for 169.254.170.2/32 over it; the host side (tpmd<slot>) holds 169.254.170.2/32,
 * where the metadata endpoint listens, and a /32 route back to the task. No IPv6 link-local
 * addresses on either side, so the link carries nothing but the task's requests. A request is
 * tied to its task by its source address. Its traffic is the task's metadata flow, taken from
 * md0's own link statistics (which count exactly that link's packets) rather than a second
 * counter program. This module names its parts; the metadata step (step-mdlink.c) makes it.
 */
#include <arpa/inet.h>

#include "attachment.h"
#include "mdlink.h"
#include "util.h"

int mdlink_address(unsigned int slot, struct in_prefix *ret)
{
	struct in_prefix p;

	if (slot > MDLINK_MAX_SLOT)
		return -ERANGE;
	addr_prefix_parse(MDLINK_SUBNET, &p);
	p.u.v4.s_addr = htonl(ntohl(p.u.v4.s_addr) + 2 + slot);
	p.len = 32;
	*ret = p;
	return 0;
}

void mdlink_host_ifname(unsigned int slot, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, MDLINK_HOST_PREFIX "%u", slot);
}

json_t *mdlink_to_json(const struct eni_attachment *a)
{
	char host[IFNAMSIZ], addr[INET6_ADDRSTRLEN];
	struct in_prefix p;

	if (!a->metadata_link || mdlink_address(a->slot, &p) < 0)
		return NULL;
	mdlink_host_ifname(a->slot, host);
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "ifname", MDLINK_IFNAME, "host_ifname", host,
			 "address", addr_ip_format(&p, addr, sizeof(addr)), "endpoint",
			 MDLINK_ENDPOINT, "port", MDLINK_PORT);
}
