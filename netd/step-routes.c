// SPDX-License-Identifier: GPL-2.0-only
/* The routes step: the attachment's routes, device routes over its ENI. */
#include <linux/rtnetlink.h>

#include "json-util.h"
#include "step-routes.h"

/* A route as the kernel has it: a device route goes over the ENI. */
static struct route_spec route_of(const struct eni_attachment *a, unsigned int i)
{
	struct route_spec rs = a->routes[i].spec;

	if (rs.type == RTN_UNICAST || rs.type == 0)
		rs.ifindex = a->ifindex;
	return rs;
}

static int routes_run(struct attach_ctx *c)
{
	char buf[160];

	for (unsigned int i = 0; i < c->a->nroutes; i++) {
		struct route_spec rs = route_of(c->a, i);
		int r;

		c->a->routes[i].spec.ifindex = rs.ifindex;
		r = netlink_route_add(c->tnl, &rs);
		if (r < 0)
			return step_fail_tnl(c, r, "Failed to add route '%s'",
					     netlink_route_format(&rs, buf, sizeof(buf)));
	}
	return 0;
}

static int routes_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	if (c->netns_fd < 0)
		return 0;
	/* Device routes went with the link if it is not here any more. */
	r = step_find_link(c, &li);
	if (r < 0)
		return step_gone(r) ? 0 : r;
	for (unsigned int i = c->a->nroutes; i-- > 0;) {
		struct route_spec rs = route_of(c->a, i);

		r = netlink_route_del(c->tnl, &rs);
		if (r < 0 && !step_gone(r))
			return r;
	}
	return 0;
}

static int routes_check(struct attach_ctx *c, json_t *diffs)
{
	char buf[160];
	int r;

	r = step_open_tnl(c);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < c->a->nroutes; i++) {
		struct route_spec rs = route_of(c->a, i);

		r = netlink_route_exists(c->tnl, &rs);
		if (r < 0)
			return r;
		if (r == 0)
			json_diff_append(diffs, "route",
					 netlink_route_format(&rs, buf, sizeof(buf)), "missing");
	}
	return 0;
}

const struct attach_step step_routes = {
	.name = "routes",
	.run = routes_run,
	.undo = routes_undo,
	.check = routes_check,
};
