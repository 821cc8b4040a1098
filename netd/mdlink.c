// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metadata link: a veth pair per task, point to point, never a shared bridge, so that no task
 * reaches another through it. The task side (md0) has 169.254.172.N/32 (N from the task's slot)
 * and a route for 169.254.170.2/32 over it; the host side (tpmd<slot>) holds 169.254.170.2/32,
 * where the metadata endpoint listens, and a /32 route back to the task. No IPv6 link-local
 * addresses on either side, so the link carries nothing but the task's requests. A request is
 * tied to its task by its source address. Its traffic is the task's metadata flow, taken from
 * md0's own link statistics (which count exactly that link's packets) rather than a second
 * counter program: see guards_stats_hook().
 */
#include <arpa/inet.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>

#include "log.h"
#include "mdfilter.h"
#include "netd.h"

int mdlink_address(unsigned int slot, struct in_prefix *ret)
{
	struct in_prefix p;

	if (slot > NETD_MD_MAX_SLOT)
		return -ERANGE;
	addr_prefix_parse(NETD_MD_SUBNET, &p);
	p.u.v4.s_addr = htonl(ntohl(p.u.v4.s_addr) + 2 + slot);
	p.len = 32;
	*ret = p;
	return 0;
}

void mdlink_host_ifname(unsigned int slot, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, NETD_MD_HOST_PREFIX "%u", slot);
}

json_t *mdlink_to_json(const struct eni_attachment *t)
{
	char host[IFNAMSIZ], addr[INET6_ADDRSTRLEN];
	struct in_prefix a;

	if (!t->metadata_link || mdlink_address(t->slot, &a) < 0)
		return NULL;
	mdlink_host_ifname(t->slot, host);
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "ifname", NETD_MD_IFNAME, "host_ifname", host,
			 "address", addr_ip_format(&a, addr, sizeof(addr)), "endpoint",
			 NETD_MD_ENDPOINT, "port", NETD_MD_PORT);
}

static void md_routes(const struct eni_attachment *t, int host_ifindex, int task_ifindex,
		      struct route_spec *back, struct route_spec *to_endpoint)
{
	*back = (struct route_spec){ .type = RTN_UNICAST,
				     .scope = RT_SCOPE_LINK,
				     .ifindex = host_ifindex };
	mdlink_address(t->slot, &back->dst);
	*to_endpoint = (struct route_spec){ .type = RTN_UNICAST,
					    .scope = RT_SCOPE_LINK,
					    .ifindex = task_ifindex };
	addr_prefix_parse(NETD_MD_ENDPOINT "/32", &to_endpoint->dst);
}

_printf_(3, 4) static int md_fail(struct attach_ctx *c, int r, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s", what, strerror(-r));
	return r;
}

int mdlink_step_run(struct attach_ctx *c)
{
	struct netlink *hnl = c->d->host_nl;
	struct eni_attachment *t = c->a;
	struct route_spec back, to_ep;
	struct link_info host, peer;
	struct in_prefix addr, ep;
	char hname[IFNAMSIZ];
	int r;

	if (!t->metadata_link)
		return 0;
	r = mdlink_address(t->slot, &addr);
	if (r < 0)
		return md_fail(c, r, "No metadata link address for slot %u (at most %d tasks)",
			       t->slot, NETD_MD_MAX_SLOT + 1);
	addr_prefix_parse(NETD_MD_ENDPOINT "/32", &ep);
	mdlink_host_ifname(t->slot, hname);

	/* The peer is created in the task's namespace directly: no move, no RCU wait. */
	r = netlink_veth_create(hnl, hname, NETD_MD_IFNAME, c->netns_fd);
	if (r < 0)
		return md_fail(c, r, "Failed to create the metadata link %s/%s", hname,
			       NETD_MD_IFNAME);
	r = netlink_link_get(hnl, 0, hname, &host);
	if (r < 0)
		return md_fail(c, r, "Metadata link '%s' not found after creating it", hname);
	r = attach_ctx_open_tnl(c);
	if (r == 0)
		r = netlink_link_get(c->tnl, 0, NETD_MD_IFNAME, &peer);
	if (r < 0)
		return md_fail(c, r, "Metadata link '%s' not found in '%s'", NETD_MD_IFNAME,
			       t->netns_path);

	(void)netlink_link_set_no_ipv6ll(hnl, host.ifindex);
	(void)netlink_link_set_no_ipv6ll(c->tnl, peer.ifindex);
	/* Before the link is up: the host's filter lets it in, strict reverse-path filtering. */
	r = netlink_link_set_ipv4_conf(hnl, host.ifindex, IPV4_DEVCONF_RP_FILTER, 1);
	if (r < 0)
		return md_fail(c, r, "Failed to set rp_filter on '%s'", hname);
	r = mdfilter_add(c->d, t);
	if (r < 0)
		return md_fail(c, r, "Failed to add '%s' to table inet %s", hname, MDFILTER_TABLE);
	r = netlink_addr_add(hnl, host.ifindex, &ep, false);
	if (r < 0)
		return md_fail(c, r, "Failed to add %s to '%s'", NETD_MD_ENDPOINT, hname);
	r = netlink_addr_add(c->tnl, peer.ifindex, &addr, false);
	if (r < 0)
		return md_fail(c, r, "Failed to add the metadata link address to '%s'",
			       NETD_MD_IFNAME);
	r = netlink_link_set_up(hnl, host.ifindex, true);
	if (r == 0)
		r = netlink_link_set_up(c->tnl, peer.ifindex, true);
	if (r < 0)
		return md_fail(c, r, "Failed to set the metadata link up");
	md_routes(t, host.ifindex, peer.ifindex, &back, &to_ep);
	r = netlink_route_add(hnl, &back);
	if (r < 0)
		return md_fail(c, r, "Failed to add the host's route back to the task");
	r = netlink_route_add(c->tnl, &to_ep);
	if (r < 0)
		return md_fail(c, r, "Failed to add the route to %s", NETD_MD_ENDPOINT);
	return 0;
}

/*
 * The host side of the task's metadata link: 1 with *li, 0 when there is none, -EEXIST when
 * that name on the host is something else than our veth.
 */
static int md_host_link(struct attach_ctx *c, struct link_info *li)
{
	char hname[IFNAMSIZ];
	int r;

	mdlink_host_ifname(c->a->slot, hname);
	r = netlink_link_get(c->d->host_nl, 0, hname, li);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	return strcmp(li->kind, "veth") == 0 ? 1 : -EEXIST;
}

int mdlink_step_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	if (!c->a->metadata_link)
		return 0;
	mdfilter_keep_count(c->d, c->a);
	r = mdfilter_remove(c->d, &c->a->slot, 1);
	if (r < 0)
		return md_fail(c, r, "Failed to remove the link from table inet %s",
			       MDFILTER_TABLE);
	/* Deleting the host side takes the task side with it, wherever that is. */
	r = md_host_link(c, &li);
	if (r == -EEXIST)
		return md_fail(c, r, "'%s' on the host is not our metadata link", li.ifname);
	if (r <= 0)
		return r;
	r = netlink_link_delete(c->d->host_nl, li.ifindex);
	return r == -ENODEV ? 0 : r;
}

int mdlink_step_defer(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	if (!c->a->metadata_link)
		return 0;
	/* Its count now, for the final counters; the reaper removes its elements with the link
	 * (it keeps the slot until then, so no next task of the slot finds them). */
	mdfilter_keep_count(c->d, c->a);
	r = md_host_link(c, &li);
	if (r <= 0)
		return r;
	r = netlink_link_set_group(c->d->host_nl, li.ifindex, NETD_MD_REAP_GROUP);
	return r < 0 ? r : 1;
}

static int check_side(struct netlink *nl, const char *side, const char *ifname,
		      const struct in_prefix *addr, const struct route_spec *route, json_t *diffs)
{
	char what[64], want[96], buf[ADDR_PREFIX_STRLEN];
	struct link_info li;
	struct route_spec rs = *route;
	int r;

	snprintf(what, sizeof(what), "metadata-link (%s)", side);
	r = netlink_link_get(nl, 0, ifname, &li);
	if (r == -ENODEV) {
		check_diff(diffs, what, ifname, "missing");
		return 0;
	}
	if (r < 0)
		return r;
	if (!(li.flags & IFF_UP))
		check_diff(diffs, what, "up", "down");
	r = netlink_addr_exists(nl, li.ifindex, addr);
	if (r < 0)
		return r;
	if (r == 0)
		check_diff(diffs, what, addr_prefix_format(addr, buf, sizeof(buf)), "missing");
	rs.ifindex = li.ifindex;
	r = netlink_route_exists(nl, &rs);
	if (r < 0)
		return r;
	if (r == 0) {
		snprintf(want, sizeof(want), "route %s dev %s",
			 addr_prefix_format(&rs.dst, buf, sizeof(buf)), ifname);
		check_diff(diffs, what, want, "missing");
	}
	return 0;
}

/* The host side's own rp_filter setting (the kernel applies the higher of it and conf.all's). */
static int check_rp_filter(struct netlink *nl, const char *ifname, json_t *diffs)
{
	struct link_info li;
	uint32_t v = 0;
	char have[16];
	int r;

	r = netlink_link_get(nl, 0, ifname, &li);
	if (r == -ENODEV)
		return 0; /* reported as missing already */
	if (r == 0)
		r = netlink_link_get_ipv4_conf(nl, li.ifindex, IPV4_DEVCONF_RP_FILTER, &v);
	if (r < 0)
		return r;
	if (v != 1) {
		snprintf(have, sizeof(have), "rp_filter %u", v);
		check_diff(diffs, "metadata-link (host)", "rp_filter 1", have);
	}
	return 0;
}

int mdlink_step_check(struct attach_ctx *c, json_t *diffs)
{
	struct route_spec back, to_ep;
	struct in_prefix addr, ep;
	char hname[IFNAMSIZ];
	int r;

	if (!c->a->metadata_link)
		return 0;
	if (mdlink_address(c->a->slot, &addr) < 0)
		return 0;
	addr_prefix_parse(NETD_MD_ENDPOINT "/32", &ep);
	mdlink_host_ifname(c->a->slot, hname);
	md_routes(c->a, 0, 0, &back, &to_ep);
	r = check_side(c->d->host_nl, "host", hname, &ep, &back, diffs);
	if (r < 0)
		return r;
	r = check_rp_filter(c->d->host_nl, hname, diffs);
	if (r < 0)
		return r;
	r = mdfilter_check(c->d, c->a, diffs);
	if (r < 0)
		return r;
	r = attach_ctx_open_tnl(c);
	if (r < 0)
		return r;
	return check_side(c->tnl, "task", NETD_MD_IFNAME, &addr, &to_ep, diffs);
}
