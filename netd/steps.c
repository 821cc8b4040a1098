// SPDX-License-Identifier: GPL-2.0-only
/*
 * The attach sequence. Each step changes the kernel one way, can be undone (also when it never
 * ran, or ran half-way before a crash) and can be checked against the task's record. task.c runs
 * them in order, journalling before each, and undoes them in reverse on failure or detach.
 */
#include <linux/rtnetlink.h>
#include <stdarg.h>

#include "counters.h"
#include "guards.h"
#include "log.h"
#include "netd.h"

/* Errors that mean "already gone" when undoing. */
static bool gone(int r)
{
	return r == -ENODEV || r == -ENOENT || r == -ESRCH || r == -EADDRNOTAVAIL;
}

void check_diff(json_t *diffs, const char *what, const char *expected, const char *actual)
{
	json_array_append_new(diffs, json_pack("{s:s, s:s, s:s}", "what", what, "expected",
					       expected, "actual", actual));
}

int attach_ctx_open_tnl(struct attach_ctx *c)
{
	if (c->tnl)
		return 0;
	if (c->netns_fd < 0)
		return -ENOENT;
	return netlink_open(c->netns_fd, &c->tnl);
}

void attach_ctx_done(struct attach_ctx *c)
{
	counters_prep_done(c);
	c->tnl = netlink_free(c->tnl);
	c->netns_fd = safe_close(c->netns_fd);
}

_printf_(3, 4) static void ctx_error(struct attach_ctx *c, int r, const char *fmt, ...)
{
	const char *ext = c->tnl ? netlink_extack(c->tnl) : "";
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s%s%s", what, strerror(-r), *ext ? ": " : "",
		 ext);
}

int attach_ctx_find_link(struct attach_ctx *c, struct link_info *ret)
{
	struct eni_attachment *t = c->a;
	int r;

	r = attach_ctx_open_tnl(c);
	if (r < 0)
		return r;
	if (t->ifindex > 0) {
		r = netlink_link_get(c->tnl, t->ifindex, NULL, ret);
		if (r == 0 && ret->has_mac && memcmp(ret->mac, t->mac, ADDR_MAC_LEN) == 0)
			return 0;
	}
	r = netlink_link_find_mac(c->tnl, t->mac, ret);
	if (r < 0)
		return r;
	t->ifindex = ret->ifindex;
	return 0;
}

/* --- move: into the namespace, renamed, in one request ------------------------------------ */

static int step_move_run(struct attach_ctx *c)
{
	struct eni_attachment *t = c->a;
	struct eni *e = t->eni;
	char mac[ADDR_MAC_STRLEN];
	struct link_info li;
	int r;

	addr_mac_format(t->mac, mac);
	r = netlink_link_get(c->d->host_nl, e->ifindex, NULL, &li);
	if (r < 0 || !li.has_mac || memcmp(li.mac, t->mac, ADDR_MAC_LEN) != 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "ENI %s is no longer on the host", mac);
		return -ENODEV;
	}
	r = netlink_link_move(c->d->host_nl, li.ifindex, c->netns_fd, t->ifname);
	if (r < 0) {
		const char *ext = netlink_extack(c->d->host_nl);

		if (r == -EEXIST)
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "Interface '%s' already exists in namespace '%s'", t->ifname,
				 t->netns_path);
		else
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "Failed to move ENI %s ('%s') into '%s' as '%s': %s%s%s", mac,
				 li.ifname, t->netns_path, t->ifname, strerror(-r),
				 *ext ? ": " : "", ext);
		return r;
	}
	r = attach_ctx_open_tnl(c);
	if (r < 0) {
		ctx_error(c, r, "Failed to open rtnetlink in '%s'", t->netns_path);
		return r;
	}
	r = netlink_link_get(c->tnl, 0, t->ifname, &li);
	if (r < 0) {
		ctx_error(c, r, "Moved ENI not found as '%s'", t->ifname);
		return r;
	}
	t->ifindex = li.ifindex;
	return 0;
}

/* Give a link found on the host its original name back, down, with its original MTU. */
static int restore_on_host(struct attach_ctx *c, const struct link_info *li)
{
	struct eni_attachment *t = c->a;
	int r;

	if (t->orig_ifname[0] && !streq(li->ifname, t->orig_ifname)) {
		(void)netlink_link_set_up(c->d->host_nl, li->ifindex, false);
		r = netlink_link_set_name(c->d->host_nl, li->ifindex, t->orig_ifname);
		if (r < 0)
			log_warn_errno(r, "Failed to rename '%s' back to '%s': %m, ignoring",
				       li->ifname, t->orig_ifname);
	}
	if (t->orig_mtu && li->mtu != t->orig_mtu)
		(void)netlink_link_set_mtu(c->d->host_nl, li->ifindex, t->orig_mtu);
	return 0;
}

/* A name for a returned ENI when its original name is taken: "enx" and the MAC, as udev does. */
static void fallback_name(const uint8_t *mac, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, "enx%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static int step_move_undo(struct attach_ctx *c)
{
	struct eni_attachment *t = c->a;
	char mac[ADDR_MAC_STRLEN], alt[IFNAMSIZ];
	const char *name = t->orig_ifname[0] ? t->orig_ifname : NULL;
	struct link_info li;
	int r;

	addr_mac_format(t->mac, mac);
	r = c->netns_fd >= 0 ? attach_ctx_find_link(c, &li) : -ENOENT;
	if (r == 0) {
		(void)netlink_link_set_up(c->tnl, li.ifindex, false);
		r = netlink_link_move(c->tnl, li.ifindex, c->d->host_netns_fd, name);
		if (r == -EEXIST && name) {
			fallback_name(t->mac, alt);
			log_warn("Name '%s' is taken on the host, returning ENI %s as '%s'", name,
				 mac, alt);
			r = netlink_link_move(c->tnl, li.ifindex, c->d->host_netns_fd, alt);
		}
		if (r < 0) {
			ctx_error(c, r, "Failed to move ENI back to the host from '%s'",
				  t->netns_path);
			return r;
		}
		t->ifindex = 0;
		if (t->eni)
			(void)eni_rescan(c->d, t->eni);
		return 0;
	}
	if (r < 0 && !gone(r))
		return r;

	/* Not in the task's namespace: the namespace is gone, or the ENI was taken out of it. */
	r = netlink_link_find_mac(c->d->host_nl, t->mac, &li);
	if (r == 0) {
		log_info("ENI %s is already back on the host as '%s'", mac, li.ifname);
		restore_on_host(c, &li);
		if (t->eni)
			(void)eni_rescan(c->d, t->eni);
		return 0;
	}
	if (r != -ENODEV)
		return r;
	if (t->eni)
		eni_mark_lost(c->d, t->eni, t->id);
	return 0;
}

static int step_move_check(struct attach_ctx *c, json_t *diffs)
{
	struct link_info li;
	int r;

	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return r;
	if (!streq(li.ifname, c->a->ifname))
		check_diff(diffs, "ifname", c->a->ifname, li.ifname);
	return 0;
}

/* --- mtu ----------------------------------------------------------------------------------- */

static int step_mtu_run(struct attach_ctx *c)
{
	char buf[16];
	int r;

	r = netlink_link_set_mtu(c->tnl, c->a->ifindex, c->a->mtu);
	if (r < 0) {
		snprintf(buf, sizeof(buf), "%u", c->a->mtu);
		ctx_error(c, r, "Failed to set MTU %s", buf);
	}
	return r;
}

static int step_mtu_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	if (!c->a->orig_mtu)
		return 0;
	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return gone(r) ? 0 : r;
	r = netlink_link_set_mtu(c->tnl, li.ifindex, c->a->orig_mtu);
	return gone(r) ? 0 : r;
}

static int step_mtu_check(struct attach_ctx *c, json_t *diffs)
{
	char want[16], have[16];
	struct link_info li;
	int r;

	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return r;
	if (li.mtu != c->a->mtu) {
		snprintf(want, sizeof(want), "%u", c->a->mtu);
		snprintf(have, sizeof(have), "%u", li.mtu);
		check_diff(diffs, "mtu", want, have);
	}
	return 0;
}

/* --- addresses ----------------------------------------------------------------------------- */

static int step_addrs_run(struct attach_ctx *c)
{
	char buf[ADDR_PREFIX_STRLEN];

	for (unsigned int i = 0; i < c->a->naddrs; i++) {
		int r = netlink_addr_add(c->tnl, c->a->ifindex, &c->a->addrs[i], true);

		if (r < 0) {
			ctx_error(c, r, "Failed to add address %s",
				  addr_prefix_format(&c->a->addrs[i], buf, sizeof(buf)));
			return r;
		}
	}
	return 0;
}

static int step_addrs_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return gone(r) ? 0 : r;
	for (unsigned int i = 0; i < c->a->naddrs; i++) {
		r = netlink_addr_del(c->tnl, li.ifindex, &c->a->addrs[i]);
		if (r < 0 && !gone(r))
			return r;
	}
	return 0;
}

static int step_addrs_check(struct attach_ctx *c, json_t *diffs)
{
	char buf[ADDR_PREFIX_STRLEN];
	struct link_info li;
	int r;

	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < c->a->naddrs; i++) {
		r = netlink_addr_exists(c->tnl, li.ifindex, &c->a->addrs[i]);
		if (r < 0)
			return r;
		if (r == 0)
			check_diff(diffs, "address",
				   addr_prefix_format(&c->a->addrs[i], buf, sizeof(buf)),
				   "missing");
	}
	return 0;
}

/* --- up ------------------------------------------------------------------------------------ */

static int step_up_run(struct attach_ctx *c)
{
	int r = netlink_link_set_up(c->tnl, c->a->ifindex, true);

	if (r < 0)
		ctx_error(c, r, "Failed to set '%s' up", c->a->ifname);
	return r;
}

static int step_up_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return gone(r) ? 0 : r;
	r = netlink_link_set_up(c->tnl, li.ifindex, false);
	return gone(r) ? 0 : r;
}

static int step_up_check(struct attach_ctx *c, json_t *diffs)
{
	struct link_info li;
	int r;

	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return r;
	if (!(li.flags & IFF_UP))
		check_diff(diffs, "link", "up", "down");
	return 0;
}

/* --- routes (default and extra) ---------------------------------------------------------- */

static int step_routes_run(struct attach_ctx *c)
{
	char buf[160];

	for (unsigned int i = 0; i < c->a->nroutes; i++) {
		struct attach_route *tr = &c->a->routes[i];
		int r;

		if (tr->spec.type == RTN_UNICAST || tr->spec.type == 0)
			tr->spec.ifindex = c->a->ifindex;
		r = netlink_route_add(c->tnl, &tr->spec);
		if (r < 0) {
			ctx_error(c, r, "Failed to add route '%s'",
				  netlink_route_format(&tr->spec, buf, sizeof(buf)));
			return r;
		}
	}
	return 0;
}

static int step_routes_undo(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	if (c->netns_fd < 0)
		return 0;
	/* Device routes went with the link if it is not here any more. */
	r = attach_ctx_find_link(c, &li);
	if (r < 0)
		return gone(r) ? 0 : r;
	for (unsigned int i = c->a->nroutes; i-- > 0;) {
		struct route_spec rs = c->a->routes[i].spec;

		if (rs.type == RTN_UNICAST || rs.type == 0)
			rs.ifindex = c->a->ifindex;
		r = netlink_route_del(c->tnl, &rs);
		if (r < 0 && !gone(r))
			return r;
	}
	return 0;
}

static int step_routes_check(struct attach_ctx *c, json_t *diffs)
{
	char buf[160];
	int r;

	r = attach_ctx_open_tnl(c);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < c->a->nroutes; i++) {
		struct route_spec rs = c->a->routes[i].spec;

		if (rs.type == RTN_UNICAST || rs.type == 0)
			rs.ifindex = c->a->ifindex;
		r = netlink_route_exists(c->tnl, &rs);
		if (r < 0)
			return r;
		if (r == 0)
			check_diff(diffs, "route", netlink_route_format(&rs, buf, sizeof(buf)),
				   "missing");
	}
	return 0;
}

/* --- loopback: lo up, which every namespace's own traffic needs ----------------------------- */

static int step_lo_run(struct attach_ctx *c)
{
	struct link_info li;
	int r;

	r = attach_ctx_open_tnl(c);
	if (r == 0)
		r = netlink_link_get(c->tnl, 0, "lo", &li);
	if (r == 0 && !(li.flags & IFF_UP))
		r = netlink_link_set_up(c->tnl, li.ifindex, true);
	if (r < 0)
		ctx_error(c, r, "Failed to set 'lo' up");
	return r;
}

/*
 * lo stays up: it is the namespace's, not the ENI's (another ENI of the namespace, and anything
 * running in it, use it), and up is what every runtime leaves it.
 */
static int step_lo_undo(struct attach_ctx *c)
{
	return 0;
}

static int step_lo_check(struct attach_ctx *c, json_t *diffs)
{
	struct link_info li;
	int r;

	r = attach_ctx_open_tnl(c);
	if (r == 0)
		r = netlink_link_get(c->tnl, 0, "lo", &li);
	if (r < 0)
		return r;
	if (!(li.flags & IFF_UP))
		check_diff(diffs, "loopback", "up", "down");
	return 0;
}

/* --- guards: the task's nftables table (IMDS block, metadata-link filter) ------------------ */

static int step_guards_run(struct attach_ctx *c)
{
	return guards_install(c->netns_fd, c->a, c->errmsg, sizeof(c->errmsg));
}

static int step_guards_undo(struct attach_ctx *c)
{
	char owner[GUARDS_OWNER_MAX];
	int r;

	/* No table was made: skip a transaction that costs an RCU grace period for nothing. */
	if (c->netns_fd < 0 || !guards_wanted(c->a))
		return 0;
	/* Only the table this attach made: not one of that name it found (and failed on). */
	guards_owner(c->a, owner);
	r = guards_remove(c->netns_fd, c->a->guards_table, owner);
	return gone(r) ? 0 : r;
}

static int step_guards_check(struct attach_ctx *c, json_t *diffs)
{
	return guards_check(c->netns_fd, c->a, diffs);
}

static int step_guards_defer(struct attach_ctx *c)
{
	/* With the namespace gone the table went with it. */
	return c->netns_fd >= 0 && (c->a->block_imds || c->a->metadata_link) ? 1 : 0;
}

/*
 * In order. The guards come right after the move, before the link is up, so that no packet of
 * the task leaves before they are in force.
 */
const struct attach_step attach_steps[] = {
	{ "move", step_move_run, step_move_undo, NULL, step_move_check },
	{ "guards", step_guards_run, step_guards_undo, step_guards_defer, step_guards_check },
	/* Right after the move (which drops qdiscs), before the link is up: the filters see every
	 * packet the device counts. */
	{ "counters", counters_step_run, counters_step_undo, NULL, counters_step_check },
	{ "mtu", step_mtu_run, step_mtu_undo, NULL, step_mtu_check },
	{ "addresses", step_addrs_run, step_addrs_undo, NULL, step_addrs_check },
	{ "metadata", mdlink_step_run, mdlink_step_undo, mdlink_step_defer, mdlink_step_check },
	{ "up", step_up_run, step_up_undo, NULL, step_up_check },
	{ "routes", step_routes_run, step_routes_undo, NULL, step_routes_check },
	/* After the ones above, so that a journal of an older netd keeps its step numbers. */
	{ "loopback", step_lo_run, step_lo_undo, NULL, step_lo_check },
	{ "dns", resolv_step_run, resolv_step_undo, NULL, resolv_step_check },
};

const unsigned int attach_nsteps = ARRAY_SIZE(attach_steps);

int attach_step_find(const char *name)
{
	for (unsigned int i = 0; i < attach_nsteps; i++)
		if (streq(attach_steps[i].name, name))
			return (int)i;
	return -ENOENT;
}
