// SPDX-License-Identifier: GPL-2.0-only
/* The VM wiring step (step-tap.h). */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "json-util.h"
#include "mdlink.h"
#include "step-tap.h"
#include "util.h"

/* A persistent tap named name in the namespace netns_fd. */
static int tap_create(int netns_fd, const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int saved = -1, fd, r;

	strscpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	r = netns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	/* /dev/net/tun makes the device in the namespace of the caller. */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		r = -errno;
	else if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		r = -errno;
	safe_close(fd);
	if (netns_restore(saved) < 0)
		abort(); /* netd cannot go on in a task's namespace */
	return r;
}

/* One pair: the tap beside dev, its MTU, up, and the redirects both ways. */
static int wire(struct attach_ctx *c, const char *dev, const char *tap)
{
	struct link_info dl, tl;
	int r;

	r = netlink_link_get(c->tnl, 0, dev, &dl);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to find '%s'", dev);
	r = tap_create(c->netns_fd, tap);
	if (r < 0)
		return step_fail(c, r, "Failed to create tap '%s'", tap);
	r = netlink_link_get(c->tnl, 0, tap, &tl);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to find tap '%s'", tap);
	r = netlink_link_set_mtu(c->tnl, tl.ifindex, dl.mtu);
	if (r >= 0)
		r = netlink_link_set_up(c->tnl, tl.ifindex, true);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to set tap '%s' up with MTU %u", tap, dl.mtu);
	r = netlink_clsact_add(c->tnl, dl.ifindex);
	if (r >= 0)
		r = netlink_clsact_add(c->tnl, tl.ifindex);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to add the clsact qdiscs of '%s' and '%s'", dev,
				     tap);
	r = netlink_redirect_add(c->tnl, dl.ifindex, STEP_TAP_PRIO, tl.ifindex);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to redirect '%s' to '%s'", dev, tap);
	r = netlink_redirect_add(c->tnl, tl.ifindex, STEP_TAP_PRIO, dl.ifindex);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to redirect '%s' to '%s'", tap, dev);
	return 0;
}

static int tap_run(struct attach_ctx *c)
{
	int r;

	r = step_open_tnl(c);
	if (r < 0)
		return step_fail(c, r, "Failed to open rtnetlink in '%s'", c->a->netns_path);
	r = wire(c, c->a->ifname, STEP_TAP_ENI);
	if (r < 0 || !c->a->metadata_link)
		return r;
	return wire(c, MDLINK_IFNAME, STEP_TAP_METADATA);
}

/* Undo one pair: dev's redirect, and the tap if it is one (its own filters go with it). */
static int unwire(struct attach_ctx *c, const char *dev, const char *tap)
{
	struct link_info li;
	int r;

	r = netlink_link_get(c->tnl, 0, dev, &li);
	if (r == 0) {
		r = netlink_redirect_del(c->tnl, li.ifindex, STEP_TAP_PRIO);
		if (r < 0)
			return step_fail_tnl(c, r, "Failed to remove the redirect of '%s'", dev);
	} else if (!step_gone(r)) {
		return step_fail_tnl(c, r, "Failed to find '%s'", dev);
	}
	r = netlink_link_get(c->tnl, 0, tap, &li);
	if (step_gone(r))
		return 0;
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to find tap '%s'", tap);
	/* The attach checked that no link of that name was there: a tap of that name is ours. */
	if (!streq(li.kind, "tun"))
		return 0;
	r = netlink_link_delete(c->tnl, li.ifindex);
	return r < 0 && !step_gone(r) ? step_fail_tnl(c, r, "Failed to delete tap '%s'", tap) : 0;
}

static int tap_undo(struct attach_ctx *c)
{
	int r, q;

	if (c->netns_fd < 0)
		return 0;
	r = step_open_tnl(c);
	if (r < 0)
		return step_gone(r) ? 0 : r;
	r = unwire(c, c->a->ifname, STEP_TAP_ENI);
	q = c->a->metadata_link ? unwire(c, MDLINK_IFNAME, STEP_TAP_METADATA) : 0;
	return r < 0 ? r : q;
}

/* One pair as built: the tap, and a redirect on each side. */
static int check_pair(struct attach_ctx *c, json_t *diffs, const char *dev, const char *tap)
{
	struct link_info dl, tl;
	char want[64];
	int r;

	r = netlink_link_get(c->tnl, 0, tap, &tl);
	if (r == -ENODEV) {
		snprintf(want, sizeof(want), "tap %s beside %s", tap, dev);
		json_diff_append(diffs, "vm", want, "missing");
		return 0;
	}
	if (r < 0)
		return r;
	r = netlink_link_get(c->tnl, 0, dev, &dl);
	if (r < 0)
		return r == -ENODEV ? 0 : r; /* the link's own step says so */
	r = netlink_redirect_exists(c->tnl, dl.ifindex, STEP_TAP_PRIO);
	if (r == 0) {
		snprintf(want, sizeof(want), "tc ingress filter of %s to %s", dev, tap);
		json_diff_append(diffs, "vm", want, "missing");
	}
	if (r < 0)
		return r;
	r = netlink_redirect_exists(c->tnl, tl.ifindex, STEP_TAP_PRIO);
	if (r == 0) {
		snprintf(want, sizeof(want), "tc ingress filter of %s to %s", tap, dev);
		json_diff_append(diffs, "vm", want, "missing");
	}
	return r < 0 ? r : 0;
}

static int tap_check(struct attach_ctx *c, json_t *diffs)
{
	int r;

	r = step_open_tnl(c);
	if (r < 0)
		return r;
	r = check_pair(c, diffs, c->a->ifname, STEP_TAP_ENI);
	if (r < 0 || !c->a->metadata_link)
		return r;
	return check_pair(c, diffs, MDLINK_IFNAME, STEP_TAP_METADATA);
}

/* Last in a plan: the ENI is configured and up, the metadata link made. */
const struct attach_step step_tap = {
	.name = "vm",
	.run = tap_run,
	.undo = tap_undo,
	.check = tap_check,
};
