// SPDX-License-Identifier: GPL-2.0-only
/* The addresses step: the attachment's addresses on its ENI (IPv6 without duplicate detection). */
#include "json-util.h"
#include "step-addrs.h"

static int addrs_run(struct attach_ctx *c)
{
	char buf[ADDR_PREFIX_STRLEN];

	for (unsigned int i = 0; i < c->a->naddrs; i++) {
		int r = netlink_addr_add(c->tnl, c->a->ifindex, &c->a->addrs[i], true);

		if (r < 0)
			return step_fail_tnl(c, r, "Failed to add address %s",
					     addr_prefix_format(&c->a->addrs[i], buf, sizeof(buf)));
	}
	return 0;
}

static int addrs_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	r = step_find_link(c, &li);
	if (r < 0)
		return step_gone(r) ? 0 : r;
	for (unsigned int i = 0; i < c->a->naddrs; i++) {
		r = netlink_addr_del(c->tnl, li.ifindex, &c->a->addrs[i]);
		if (r < 0 && !step_gone(r))
			return r;
	}
	return 0;
}

static int addrs_check(struct attach_ctx *c, json_t *diffs)
{
	char buf[ADDR_PREFIX_STRLEN];
	struct link_info li;
	int r;

	r = step_find_link(c, &li);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < c->a->naddrs; i++) {
		r = netlink_addr_exists(c->tnl, li.ifindex, &c->a->addrs[i]);
		if (r < 0)
			return r;
		if (r == 0)
			json_diff_append(diffs, "address",
					 addr_prefix_format(&c->a->addrs[i], buf, sizeof(buf)),
					 "missing");
	}
	return 0;
}

const struct attach_step step_addrs = {
	.name = "addresses",
	.run = addrs_run,
	.undo = addrs_undo,
	.check = addrs_check,
};
