// SPDX-License-Identifier: GPL-2.0-only
/* The link steps: the ENI's MTU and its being up, and lo up in the namespace. */
#include "json-util.h"
#include "step-link.h"

/* --- mtu ------------------------------------------------------------------------------------ */

static int mtu_run(struct attach_ctx *c)
{
	int r = netlink_link_set_mtu(c->tnl, c->a->ifindex, c->a->mtu);

	return r < 0 ? step_fail_tnl(c, r, "Failed to set MTU %u", c->a->mtu) : 0;
}

static int mtu_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	if (!c->a->orig_mtu)
		return 0;
	r = step_find_link(c, &li);
	if (r < 0)
		return step_gone(r) ? 0 : r;
	r = netlink_link_set_mtu(c->tnl, li.ifindex, c->a->orig_mtu);
	return step_gone(r) ? 0 : r;
}

static int mtu_check(struct attach_ctx *c, json_t *diffs)
{
	char want[16], have[16];
	struct link_info li;
	int r;

	r = step_find_link(c, &li);
	if (r < 0)
		return r;
	if (li.mtu != c->a->mtu) {
		snprintf(want, sizeof(want), "%u", c->a->mtu);
		snprintf(have, sizeof(have), "%u", li.mtu);
		json_diff_append(diffs, "mtu", want, have);
	}
	return 0;
}

const struct attach_step step_mtu = {
	.name = "mtu",
	.run = mtu_run,
	.undo = mtu_undo,
	.check = mtu_check,
};

/* --- up --------------------------------------------------------------------------------------- */

static int up_run(struct attach_ctx *c)
{
	int r = netlink_link_set_up(c->tnl, c->a->ifindex, true);

	return r < 0 ? step_fail_tnl(c, r, "Failed to set '%s' up", c->a->ifname) : 0;
}

static int up_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	r = step_find_link(c, &li);
	if (r < 0)
		return step_gone(r) ? 0 : r;
	r = netlink_link_set_up(c->tnl, li.ifindex, false);
	return step_gone(r) ? 0 : r;
}

static int up_check(struct attach_ctx *c, json_t *diffs)
{
	struct link_info li;
	int r;

	r = step_find_link(c, &li);
	if (r < 0)
		return r;
	if (!(li.flags & IFF_UP))
		json_diff_append(diffs, "link", "up", "down");
	return 0;
}

const struct attach_step step_up = {
	.name = "up",
	.run = up_run,
	.undo = up_undo,
	.check = up_check,
};

/* --- loopback: lo up, which every namespace's own traffic needs ------------------------------- */

static int loopback_run(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	r = step_open_tnl(c);
	if (r == 0)
		r = netlink_link_get(c->tnl, 0, "lo", &li);
	if (r == 0 && !(li.flags & IFF_UP))
		r = netlink_link_set_up(c->tnl, li.ifindex, true);
	return r < 0 ? step_fail_tnl(c, r, "Failed to set 'lo' up") : 0;
}

/*
 * lo stays up: it is the namespace's, not the ENI's (another ENI of the namespace, and anything
 * running in it, use it), and up is what every runtime leaves it.
 */
static int loopback_undo(struct attach_ctx *c)
{
	return 0;
}

static int loopback_check(struct attach_ctx *c, json_t *diffs)
{
	struct link_info li;
	int r;

	r = step_open_tnl(c);
	if (r == 0)
		r = netlink_link_get(c->tnl, 0, "lo", &li);
	if (r < 0)
		return r;
	if (!(li.flags & IFF_UP))
		json_diff_append(diffs, "loopback", "up", "down");
	return 0;
}

const struct attach_step step_loopback = {
	.name = "loopback",
	.run = loopback_run,
	.undo = loopback_undo,
	.check = loopback_check,
};
