// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metadata step: the attachment's metadata link (mdlink.h), its host side let into netd's
 * filter (mdfilter.h). Deleting a link costs the kernel an RCU grace period: a detach puts the
 * host side in a device group, and the reaper deletes the links of every detached attachment in
 * one request, and their filter elements in one transaction.
 */
#include <linux/ip.h>
#include <linux/rtnetlink.h>

#include "json-util.h"
#include "log.h"
#include "mdfilter.h"
#include "mdlink.h"
#include "netd.h"
#include "step-mdlink.h"

static void md_routes(const struct eni_attachment *a, int host_ifindex, int task_ifindex,
		      struct route_spec *back, struct route_spec *to_endpoint)
{
	*back = (struct route_spec){ .type = RTN_UNICAST,
				     .scope = RT_SCOPE_LINK,
				     .ifindex = host_ifindex };
	mdlink_address(a->slot, &back->dst);
	*to_endpoint = (struct route_spec){ .type = RTN_UNICAST,
					    .scope = RT_SCOPE_LINK,
					    .ifindex = task_ifindex };
	addr_prefix_parse(MDLINK_ENDPOINT "/32", &to_endpoint->dst);
}

static int mdlink_run(struct attach_ctx *c)
{
	struct netlink *hnl = c->d->host_nl;
	struct eni_attachment *a = c->a;
	struct route_spec back, to_ep;
	struct link_info host, peer;
	struct in_prefix addr, ep;
	char hname[IFNAMSIZ];
	int r;

	if (!a->metadata_link)
		return 0;
	r = mdlink_address(a->slot, &addr);
	if (r < 0)
		return step_fail(c, r, "No metadata link address for slot %u (at most %d tasks)",
				 a->slot, MDLINK_MAX_SLOT + 1);
	addr_prefix_parse(MDLINK_ENDPOINT "/32", &ep);
	mdlink_host_ifname(a->slot, hname);

	/* The peer is created in the task's namespace directly: no move, no RCU wait. */
	r = netlink_veth_create(hnl, hname, MDLINK_IFNAME, c->netns_fd);
	if (r < 0)
		return step_fail(c, r, "Failed to create the metadata link %s/%s", hname,
				 MDLINK_IFNAME);
	r = netlink_link_get(hnl, 0, hname, &host);
	if (r < 0)
		return step_fail(c, r, "Metadata link '%s' not found after creating it", hname);
	r = step_open_tnl(c);
	if (r == 0)
		r = netlink_link_get(c->tnl, 0, MDLINK_IFNAME, &peer);
	if (r < 0)
		return step_fail(c, r, "Metadata link '%s' not found in '%s'", MDLINK_IFNAME,
				 a->netns_path);

	(void)netlink_link_set_no_ipv6ll(hnl, host.ifindex);
	(void)netlink_link_set_no_ipv6ll(c->tnl, peer.ifindex);
	/* Before the link is up: the host's filter lets it in, strict reverse-path filtering. */
	r = netlink_link_set_ipv4_conf(hnl, host.ifindex, IPV4_DEVCONF_RP_FILTER, 1);
	if (r < 0)
		return step_fail(c, r, "Failed to set rp_filter on '%s'", hname);
	r = mdfilter_add(c->d, a);
	if (r < 0)
		return step_fail(c, r, "Failed to add '%s' to table inet %s", hname,
				 MDFILTER_TABLE);
	r = netlink_addr_add(hnl, host.ifindex, &ep, false);
	if (r < 0)
		return step_fail(c, r, "Failed to add %s to '%s'", MDLINK_ENDPOINT, hname);
	r = netlink_addr_add(c->tnl, peer.ifindex, &addr, false);
	if (r < 0)
		return step_fail(c, r, "Failed to add the metadata link address to '%s'",
				 MDLINK_IFNAME);
	r = netlink_link_set_up(hnl, host.ifindex, true);
	if (r == 0)
		r = netlink_link_set_up(c->tnl, peer.ifindex, true);
	if (r < 0)
		return step_fail(c, r, "Failed to set the metadata link up");
	md_routes(a, host.ifindex, peer.ifindex, &back, &to_ep);
	r = netlink_route_add(hnl, &back);
	if (r < 0)
		return step_fail(c, r, "Failed to add the host's route back to the task");
	r = netlink_route_add(c->tnl, &to_ep);
	if (r < 0)
		return step_fail(c, r, "Failed to add the route to %s", MDLINK_ENDPOINT);
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

static int mdlink_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	if (!c->a->metadata_link)
		return 0;
	mdfilter_keep_count(c->d, c->a);
	r = mdfilter_remove(c->d, &c->a->slot, 1);
	if (r < 0)
		return step_fail(c, r, "Failed to remove the link from table inet %s",
				 MDFILTER_TABLE);
	/* Deleting the host side takes the task side with it, wherever that is. */
	r = md_host_link(c, &li);
	if (r == -EEXIST)
		return step_fail(c, r, "'%s' on the host is not our metadata link", li.ifname);
	if (r <= 0)
		return r;
	r = netlink_link_delete(c->d->host_nl, li.ifindex);
	return r == -ENODEV ? 0 : r;
}

static int mdlink_defer(struct attach_ctx *c)
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
	r = netlink_link_set_group(c->d->host_nl, li.ifindex, MDLINK_REAP_GROUP);
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
		json_diff_append(diffs, what, ifname, "missing");
		return 0;
	}
	if (r < 0)
		return r;
	if (!(li.flags & IFF_UP))
		json_diff_append(diffs, what, "up", "down");
	r = netlink_addr_exists(nl, li.ifindex, addr);
	if (r < 0)
		return r;
	if (r == 0)
		json_diff_append(diffs, what, addr_prefix_format(addr, buf, sizeof(buf)),
				 "missing");
	rs.ifindex = li.ifindex;
	r = netlink_route_exists(nl, &rs);
	if (r < 0)
		return r;
	if (r == 0) {
		snprintf(want, sizeof(want), "route %s dev %s",
			 addr_prefix_format(&rs.dst, buf, sizeof(buf)), ifname);
		json_diff_append(diffs, what, want, "missing");
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
		json_diff_append(diffs, "metadata-link (host)", "rp_filter 1", have);
	}
	return 0;
}

static int mdlink_check(struct attach_ctx *c, json_t *diffs)
{
	struct route_spec back, to_ep;
	struct in_prefix addr, ep;
	char hname[IFNAMSIZ];
	int r;

	if (!c->a->metadata_link)
		return 0;
	if (mdlink_address(c->a->slot, &addr) < 0)
		return 0;
	addr_prefix_parse(MDLINK_ENDPOINT "/32", &ep);
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
	r = step_open_tnl(c);
	if (r < 0)
		return r;
	return check_side(c->tnl, "task", MDLINK_IFNAME, &addr, &to_ep, diffs);
}

/* Delete the links handed over (in one request by device group when they are all there is to
 * delete) and their elements in netd's filter (in one transaction). */
static void mdlink_reap(struct netd *d, struct reap_item *const *items, unsigned int n, bool all)
{
	_cleanup_free_ unsigned int *slots = calloc(MAX(n, 1u), sizeof(*slots));
	uint64_t t0 = now_usec();
	unsigned int done = 0;
	int r;

	for (unsigned int i = 0; slots && i < n; i++)
		slots[i] = items[i]->slot;
	r = slots ? mdfilter_remove(d, slots, n) : -ENOMEM;
	if (r < 0)
		log_warn_errno(r, "Failed to remove links from table inet " MDFILTER_TABLE
				  ": %m, ignoring");
	if (all) {
		r = netlink_link_delete_group(d->host_nl, MDLINK_REAP_GROUP);
		if (r < 0 && r != -ENODEV && r != -ENOENT)
			log_warn_errno(
				r,
				"Failed to delete metadata links by group: %m, trying one by one");
	}
	for (unsigned int i = 0; i < n; i++) {
		char name[IFNAMSIZ];
		struct link_info li;

		/* One that missed the group (or the group delete failed): by name. */
		mdlink_host_ifname(items[i]->slot, name);
		if (netlink_link_get(d->host_nl, 0, name, &li) == 0 && streq(li.kind, "veth")) {
			r = netlink_link_delete(d->host_nl, li.ifindex);
			if (r < 0 && r != -ENODEV) {
				log_warn_errno(r, "Failed to delete metadata link '%s': %m", name);
				items[i]->retry = true;
				continue;
			}
		}
		done++;
	}
	log_debug("Reaper: deleted %u metadata links in %llu us", done,
		  (unsigned long long)(now_usec() - t0));
}

static const struct reap_class mdlink_reap_class = {
	.name = "mdlink",
	.batch = true,
	.reap = mdlink_reap,
};

const struct attach_step step_mdlink = {
	.name = "metadata",
	.run = mdlink_run,
	.undo = mdlink_undo,
	.defer = mdlink_defer,
	.reap = &mdlink_reap_class,
	.check = mdlink_check,
};

bool step_mdlink_may_exist(const struct eni_attachment *a)
{
	return a->metadata_link && step_began(a, &step_mdlink) && a->slot <= MDLINK_MAX_SLOT;
}
