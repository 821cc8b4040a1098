// SPDX-License-Identifier: GPL-2.0-only
/*
 * The move step: the ENI goes from the host into the attachment's namespace, renamed, in one
 * RTM_NEWLINK. Its undo gives it back to the host under its old name, down, with its old MTU,
 * from wherever it is: the namespace, the host (a physical NIC comes back there when its
 * namespace dies), or nowhere (then it is lost, and stays registered).
 */
#include "eni.h"
#include "json-util.h"
#include "log.h"
#include "netd.h"
#include "step-move.h"

/* The ENI must be on the host; what to give back at the undo is read now. */
static int move_prepare(struct attach_ctx *c)
{
	struct eni_attachment *a = c->a;
	char mac[ADDR_MAC_STRLEN];
	struct link_info li;
	int r;

	r = a->eni ? netlink_link_get(c->d->host_nl, a->eni->ifindex, NULL, &li) : -ENODEV;
	if (r < 0 || !li.has_mac || memcmp(li.mac, a->mac, ADDR_MAC_LEN) != 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "ENI %s is no longer on the host",
			 addr_mac_format(a->mac, mac));
		c->reason = "eni";
		return -ENODEV;
	}
	strscpy(a->orig_ifname, li.ifname, sizeof(a->orig_ifname));
	a->orig_mtu = li.mtu;
	return 0;
}

static int move_run(struct attach_ctx *c)
{
	struct eni_attachment *a = c->a;
	char mac[ADDR_MAC_STRLEN];
	struct link_info li;
	int r;

	addr_mac_format(a->mac, mac);
	r = a->eni ? netlink_link_get(c->d->host_nl, a->eni->ifindex, NULL, &li) : -ENODEV;
	if (r < 0 || !li.has_mac || memcmp(li.mac, a->mac, ADDR_MAC_LEN) != 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "ENI %s is no longer on the host", mac);
		return -ENODEV;
	}
	r = netlink_link_move(c->d->host_nl, li.ifindex, c->netns_fd, a->ifname);
	if (r < 0) {
		const char *ext = netlink_extack(c->d->host_nl);

		if (r == -EEXIST)
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "Interface '%s' already exists in namespace '%s'", a->ifname,
				 a->netns_path);
		else
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "Failed to move ENI %s ('%s') into '%s' as '%s': %s%s%s", mac,
				 li.ifname, a->netns_path, a->ifname, strerror(-r),
				 *ext ? ": " : "", ext);
		return r;
	}
	r = step_open_tnl(c);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to open rtnetlink in '%s'", a->netns_path);
	r = netlink_link_get(c->tnl, 0, a->ifname, &li);
	if (r < 0)
		return step_fail_tnl(c, r, "Moved ENI not found as '%s'", a->ifname);
	a->ifindex = li.ifindex;
	return 0;
}

/* Give a link found on the host its original name back, down, with its original MTU. */
static void restore_on_host(struct attach_ctx *c, const struct link_info *li)
{
	struct eni_attachment *a = c->a;
	int r;

	if (a->orig_ifname[0] && !streq(li->ifname, a->orig_ifname)) {
		(void)netlink_link_set_up(c->d->host_nl, li->ifindex, false);
		r = netlink_link_set_name(c->d->host_nl, li->ifindex, a->orig_ifname);
		if (r < 0)
			log_warn_errno(r, "Failed to rename '%s' back to '%s': %m, ignoring",
				       li->ifname, a->orig_ifname);
	}
	if (a->orig_mtu && li->mtu != a->orig_mtu)
		(void)netlink_link_set_mtu(c->d->host_nl, li->ifindex, a->orig_mtu);
}

/* A name for a returned ENI when its original name is taken: "enx" and the MAC, as udev does. */
static void fallback_name(const uint8_t *mac, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, "enx%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static int move_undo(struct attach_ctx *c)
{
	struct eni_attachment *a = c->a;
	char mac[ADDR_MAC_STRLEN], alt[IFNAMSIZ];
	const char *name = a->orig_ifname[0] ? a->orig_ifname : NULL;
	struct link_info li;
	int r;

	addr_mac_format(a->mac, mac);
	r = c->netns_fd >= 0 ? step_find_link(c, &li) : -ENOENT;
	if (r == 0) {
		(void)netlink_link_set_up(c->tnl, li.ifindex, false);
		r = netlink_link_move(c->tnl, li.ifindex, c->d->host_netns_fd, name);
		if (r == -EEXIST && name) {
			fallback_name(a->mac, alt);
			log_warn("Name '%s' is taken on the host, returning ENI %s as '%s'", name,
				 mac, alt);
			r = netlink_link_move(c->tnl, li.ifindex, c->d->host_netns_fd, alt);
		}
		if (r < 0)
			return step_fail_tnl(c, r, "Failed to move ENI back to the host from '%s'",
					     a->netns_path);
		a->ifindex = 0;
		if (a->eni)
			(void)eni_rescan(c->d, a->eni);
		return 0;
	}
	if (r < 0 && !step_gone(r))
		return r;

	/* Not in its namespace: the namespace is gone, or the ENI was taken out of it. */
	r = netlink_link_find_mac(c->d->host_nl, a->mac, &li);
	if (r == 0) {
		log_info("ENI %s is already back on the host as '%s'", mac, li.ifname);
		restore_on_host(c, &li);
		if (a->eni)
			(void)eni_rescan(c->d, a->eni);
		return 0;
	}
	if (r != -ENODEV)
		return r;
	if (a->eni)
		eni_mark_lost(c->d, a->eni, a->id);
	return 0;
}

static int move_check(struct attach_ctx *c, json_t *diffs)
{
	char mac[ADDR_MAC_STRLEN], want[64];
	struct link_info li;
	int r;

	r = step_find_link(c, &li);
	if (r == -ENODEV) {
		/* Nothing the other steps made on it can be there. */
		snprintf(want, sizeof(want), "%s (%s)", c->a->ifname,
			 addr_mac_format(c->a->mac, mac));
		json_diff_append(diffs, "link", want, "missing");
		return 1;
	}
	if (r < 0)
		return r;
	if (!streq(li.ifname, c->a->ifname))
		json_diff_append(diffs, "ifname", c->a->ifname, li.ifname);
	return 0;
}

const struct attach_step step_move = {
	.name = "move",
	.prepare = move_prepare,
	.run = move_run,
	.undo = move_undo,
	.check = move_check,
};
