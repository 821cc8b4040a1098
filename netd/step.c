// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>

#include "netlink.h"
#include "step.h"
#include "util.h"

bool step_began(const struct eni_attachment *a, const struct attach_step *s)
{
	for (unsigned int i = 0; a->plan && i < MIN(a->steps_begun, a->plan->nsteps); i++)
		if (a->plan->steps[i] == s)
			return true;
	return false;
}

bool step_gone(int r)
{
	return r == -ENODEV || r == -ENOENT || r == -ESRCH || r == -EADDRNOTAVAIL;
}

int step_open_tnl(struct attach_ctx *c)
{
	if (c->tnl)
		return 0;
	if (c->netns_fd < 0)
		return -ENOENT;
	return netlink_open(c->netns_fd, &c->tnl);
}

int step_find_link(struct attach_ctx *c, struct link_info *ret)
{
	struct eni_attachment *a = c->a;
	int r;

	r = step_open_tnl(c);
	if (r < 0)
		return r;
	if (a->ifindex > 0) {
		r = netlink_link_get(c->tnl, a->ifindex, NULL, ret);
		if (r == 0 && ret->has_mac && memcmp(ret->mac, a->mac, ADDR_MAC_LEN) == 0)
			return 0;
	}
	r = netlink_link_find_mac(c->tnl, a->mac, ret);
	if (r < 0)
		return r;
	a->ifindex = ret->ifindex;
	return 0;
}

static int fail(struct attach_ctx *c, int r, const char *ext, const char *fmt, va_list ap)
{
	char what[256];

	vsnprintf(what, sizeof(what), fmt, ap);
	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s%s%s", what, strerror(-r), *ext ? ": " : "",
		 ext);
	return r;
}

int step_fail(struct attach_ctx *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = fail(c, r, "", fmt, ap);
	va_end(ap);
	return r;
}

int step_fail_tnl(struct attach_ctx *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = fail(c, r, c->tnl ? netlink_extack(c->tnl) : "", fmt, ap);
	va_end(ap);
	return r;
}
