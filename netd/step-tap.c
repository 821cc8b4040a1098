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
#include "vmshare.h"

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

/* The ENI shared with the namespace's sockets, or all of it the VM's (a detach). */
static int share(struct attach_ctx *c, bool on)
{
	struct link_info dl, tl;
	int r;

	r = netlink_link_get(c->tnl, 0, c->a->ifname, &dl);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to find '%s'", c->a->ifname);
	if (!on) {
		r = vmshare_detach(c->netns_fd, dl.ifindex);
		return r < 0 ? step_fail(c, r, "Failed to stop sharing '%s'", dl.ifname) : 0;
	}
	r = netlink_link_get(c->tnl, 0, STEP_TAP_ENI, &tl);
	if (r < 0)
		return step_fail_tnl(c, r, "Failed to find tap '%s'", STEP_TAP_ENI);
	r = vmshare_attach(c->netns_fd, dl.ifindex, tl.ifindex);
	return r < 0 ? step_fail(c, r, "Failed to share '%s' with the VM", dl.ifname) : 0;
}

static int tap_run(struct attach_ctx *c)
{
	struct eni_attachment *a = c->a;
	char orig[VMSHARE_PORT_RANGE_MAX];
	int r;

	r = step_open_tnl(c);
	if (r < 0)
		return step_fail(c, r, "Failed to open rtnetlink in '%s'", a->netns_path);
	/* The namespace's connections and the VM's never share a tuple on the ENI. */
	r = vmshare_port_range(c->netns_fd, VMSHARE_PORT_RANGE, orig, sizeof(orig));
	if (r < 0)
		return step_fail(c, r, "Failed to set the ephemeral ports of '%s'", a->netns_path);
	strscpy(a->vm_port_range, orig, sizeof(a->vm_port_range));
	r = attachment_save(a);
	if (r < 0 && r != -EOPNOTSUPP)
		return step_fail(c, r, "Failed to journal the ephemeral ports");
	r = wire(c, a->ifname, STEP_TAP_ENI);
	if (r >= 0 && a->metadata_link)
		r = wire(c, MDLINK_IFNAME, STEP_TAP_METADATA);
	if (r >= 0 && a->vm_share)
		r = share(c, true);
	return r;
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
	r = share(c, false);
	if (r < 0 && !step_gone(r))
		return r;
	r = unwire(c, c->a->ifname, STEP_TAP_ENI);
	q = c->a->metadata_link ? unwire(c, MDLINK_IFNAME, STEP_TAP_METADATA) : 0;
	if (r == 0 && q == 0 && c->a->vm_port_range[0]) {
		r = vmshare_port_range(c->netns_fd, c->a->vm_port_range, NULL, 0);
		if (r < 0)
			return step_fail(c, r, "Failed to set the ephemeral ports back to '%s'",
					 c->a->vm_port_range);
		c->a->vm_port_range[0] = '\0';
	}
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
	struct link_info li;
	int r;

	r = step_open_tnl(c);
	if (r < 0)
		return r;
	r = check_pair(c, diffs, c->a->ifname, STEP_TAP_ENI);
	if (r >= 0 && c->a->metadata_link)
		r = check_pair(c, diffs, MDLINK_IFNAME, STEP_TAP_METADATA);
	if (r < 0 || netlink_link_get(c->tnl, 0, c->a->ifname, &li) < 0)
		return r;
	r = vmshare_attached(c->netns_fd, li.ifindex);
	if (r >= 0 && r != c->a->vm_share)
		json_diff_append(diffs, "vm",
				 c->a->vm_share ? "the ENI shared with the namespace"
						: "the ENI the VM's alone",
				 r ? "shared" : "not shared");
	return r < 0 ? r : 0;
}

int step_tap_share(struct netd *d, struct eni_attachment *a, bool on, char *err, size_t errlen)
{
	struct attach_ctx c = { .d = d, .a = a, .netns_fd = -1 };
	int r;

	if (!step_began(a, &step_tap))
		return 0;
	r = attachment_netns_open(a, &c.netns_fd);
	if (r >= 0)
		r = step_open_tnl(&c);
	if (r >= 0)
		r = share(&c, on);
	else
		snprintf(c.errmsg, sizeof(c.errmsg), "Namespace '%s': %s", a->netns_path,
			 strerror(-r));
	if (r < 0)
		snprintf(err, errlen, "%s", c.errmsg);
	netlink_free(c.tnl);
	safe_close(c.netns_fd);
	return r;
}

/* Last in a plan: the ENI is configured and up, the metadata link made. */
const struct attach_step step_tap = {
	.name = "vm",
	.run = tap_run,
	.undo = tap_undo,
	.check = tap_check,
};
