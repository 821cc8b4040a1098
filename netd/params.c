// SPDX-License-Identifier: GPL-2.0-only
/* What the owners of attachments share of their parameters and checks (params.h). */
#include <linux/rtnetlink.h>
#include <stdarg.h>

#include "attachment.h"
#include "ctl-server.h"
#include "eni.h"
#include "ident.h"
#include "mdlink.h"
#include "netd.h"
#include "params.h"

#define PARAMS_MAX_DNS_ITEMS 8
#define PARAMS_MAX_STRING    256

static const char *route_kind_to_string(enum route_kind k)
{
	switch (k) {
	case ROUTE_KIND_DEFAULT:
		return "default";
	case ROUTE_KIND_EXTRA:
		return "extra";
	}
	return "extra";
}

json_t *params_route_to_json(const struct attach_route *tr)
{
	char buf[ADDR_PREFIX_STRLEN];
	json_t *j;

	j = json_pack("{s:s, s:s}", "dst", addr_prefix_format(&tr->spec.dst, buf, sizeof(buf)),
		      "kind", route_kind_to_string(tr->kind));
	if (!j)
		return NULL;
	if (tr->spec.gw.family)
		json_object_set_new(j, "gw",
				    json_string(addr_ip_format(&tr->spec.gw, buf, sizeof(buf))));
	if (tr->spec.type == RTN_UNREACHABLE)
		json_object_set_new(j, "type", json_string("unreachable"));
	if (tr->spec.mtu)
		json_object_set_new(j, "mtu", json_integer(tr->spec.mtu));
	if (tr->spec.advmss)
		json_object_set_new(j, "advmss", json_integer(tr->spec.advmss));
	if (tr->spec.priority)
		json_object_set_new(j, "priority", json_integer(tr->spec.priority));
	if (tr->spec.table && tr->spec.table != RT_TABLE_MAIN)
		json_object_set_new(j, "table", json_integer(tr->spec.table));
	if (tr->spec.onlink)
		json_object_set_new(j, "onlink", json_true());
	return j;
}

int params_fail(struct params_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int params_uint(json_t *v, const char *what, uint32_t min, uint32_t max, uint32_t *ret,
		struct params_err *e)
{
	json_int_t n;

	if (!json_is_integer(v))
		return params_fail(e, "'%s' must be an integer", what);
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return params_fail(e, "'%s' is %lld, want %u..%u", what, (long long)n, min, max);
	*ret = (uint32_t)n;
	return 0;
}

int params_route(json_t *j, unsigned int idx, struct attach_route *ret, struct params_err *e)
{
	const char *dst = NULL, *gw = NULL, *type = NULL, *kind = NULL;
	json_t *mtu = NULL, *advmss = NULL, *prio = NULL, *table = NULL;
	struct route_spec rs = { .type = RTN_UNICAST };
	int onlink = 0;
	json_error_t jerr;
	uint32_t v;

	if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s?s, s?o, s?o, s?o, s?o, s?s, s?s, s?b}",
			   "dst", &dst, "gw", &gw, "mtu", &mtu, "advmss", &advmss, "priority",
			   &prio, "table", &table, "type", &type, "kind", &kind, "onlink",
			   &onlink) < 0)
		return params_fail(e, "routes[%u]: %s", idx, jerr.text);
	if (addr_prefix_parse(dst, &rs.dst) < 0)
		return params_fail(e, "routes[%u]: invalid destination '%s' (want a CIDR)", idx,
				   dst);
	addr_prefix_mask(&rs.dst);
	if (gw) {
		if (addr_ip_parse(gw, rs.dst.family, &rs.gw) < 0)
			return params_fail(e, "routes[%u]: invalid gateway '%s' for %s", idx, gw,
					   dst);
	}
	if (mtu && params_uint(mtu, "routes[].mtu", 68, 65535, &rs.mtu, e) < 0)
		return -EINVAL;
	if (advmss && params_uint(advmss, "routes[].advmss", 1, 65535, &rs.advmss, e) < 0)
		return -EINVAL;
	if (prio && params_uint(prio, "routes[].priority", 0, UINT32_MAX, &rs.priority, e) < 0)
		return -EINVAL;
	if (table && params_uint(table, "routes[].table", 1, 0xfffffffe, &v, e) < 0)
		return -EINVAL;
	if (table)
		rs.table = v;
	if (type && streq(type, "unreachable"))
		rs.type = RTN_UNREACHABLE;
	else if (type && !streq(type, "unicast"))
		return params_fail(e, "routes[%u]: unknown type '%s'", idx, type);
	rs.onlink = onlink;
	rs.scope = RT_SCOPE_UNIVERSE;
	*ret = (struct attach_route){ .kind = ROUTE_KIND_EXTRA, .spec = rs };
	if (kind && streq(kind, "default"))
		ret->kind = ROUTE_KIND_DEFAULT;
	return 0;
}

static int parse_string_array(json_t *arr, const char *what, bool ips, struct params_err *e)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return params_fail(e, "'%s' must be an array of strings", what);
	if (json_array_size(arr) > PARAMS_MAX_DNS_ITEMS)
		return params_fail(e, "'%s' has more than %d entries", what, PARAMS_MAX_DNS_ITEMS);
	json_array_foreach(arr, i, v) {
		struct in_prefix p;

		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > PARAMS_MAX_STRING)
			return params_fail(e, "'%s[%zu]' must be a non-empty string", what, i);
		if (ips && addr_ip_parse(json_string_value(v), 0, &p) < 0)
			return params_fail(e, "'%s[%zu]' is not an IP address: '%s'", what, i,
					   json_string_value(v));
	}
	return 0;
}

int params_dns(json_t *dns, struct params_err *e)
{
	json_t *ns = NULL, *search = NULL, *options = NULL;
	const char *domain = NULL;
	json_error_t jerr;

	if (json_unpack_ex(dns, &jerr, JSON_STRICT, "{s?o, s?s, s?o, s?o}", "nameservers", &ns,
			   "domain", &domain, "search", &search, "options", &options) < 0)
		return params_fail(e, "dns: %s", jerr.text);
	if (ns && parse_string_array(ns, "dns.nameservers", true, e) < 0)
		return -EINVAL;
	if (search && parse_string_array(search, "dns.search", false, e) < 0)
		return -EINVAL;
	if (options && parse_string_array(options, "dns.options", false, e) < 0)
		return -EINVAL;
	if (domain && strlen(domain) > PARAMS_MAX_STRING)
		return params_fail(e, "dns.domain is too long");
	return 0;
}

int params_link(struct eni_attachment *a, const char *netns, const char *mac, const char *ifname,
		const char *default_ifname, json_t *mtu, unsigned int default_mtu,
		struct params_err *e)
{
	if (netns[0] != '/' || strlen(netns) > 4000)
		return params_fail(e, "Invalid netns '%.64s' (want an absolute path)", netns);
	a->netns_path = strdup(netns);
	if (!a->netns_path)
		return -ENOMEM;
	if (addr_mac_parse(mac, a->mac) < 0)
		return params_fail(e, "Invalid MAC address '%.32s'", mac);
	strscpy(a->ifname, default_ifname, sizeof(a->ifname));
	if (ifname) {
		if (!ident_ifname_valid(ifname))
			return params_fail(
				e, "Invalid ifname '%.32s' (1-15 bytes, no '/', ':' or spaces)",
				ifname);
		strscpy(a->ifname, ifname, sizeof(a->ifname));
	}
	a->mtu = default_mtu;
	if (mtu && params_uint(mtu, "mtu", 68, 65535, &a->mtu, e) < 0)
		return -EINVAL;
	return 0;
}

int params_addresses(struct eni_attachment *a, json_t *addrs, struct params_err *e)
{
	size_t i;
	json_t *v;

	json_array_foreach(addrs, i, v) {
		const char *s = json_string_value(v);
		struct in_prefix *ap = &a->addrs[a->naddrs];

		if (!s || addr_prefix_parse(s, ap) < 0)
			return params_fail(
				e,
				"addresses[%zu]: invalid address '%.64s' (want a CIDR such as 198.18.1.2/16)",
				i, s ?: "(not a string)");
		for (unsigned int k = 0; k < a->naddrs; k++)
			if (addr_prefix_equal(&a->addrs[k], ap))
				return params_fail(e, "addresses[%zu]: %s given twice", i, s);
		a->naddrs++;
	}
	return 0;
}

int params_routes(struct eni_attachment *a, json_t *routes, bool journal, struct params_err *e)
{
	size_t i;
	json_t *v;
	int r;

	if (!json_is_array(routes))
		return params_fail(e, "'routes' must be an array");
	if (json_array_size(routes) > ATTACH_MAX_ROUTES - 4)
		return params_fail(e, "Too many routes (at most %d)", ATTACH_MAX_ROUTES - 4);
	json_array_foreach(routes, i, v) {
		r = params_route(v, (unsigned int)i, &a->routes[a->nroutes], e);
		if (r < 0)
			return r;
		if (!journal)
			a->routes[a->nroutes].kind = ROUTE_KIND_EXTRA;
		a->nroutes++;
	}
	return 0;
}

int params_attach_dns(struct eni_attachment *a, json_t *dns, struct params_err *e)
{
	if (!dns || json_is_null(dns))
		return 0;
	if (!json_is_object(dns))
		return params_fail(e, "'dns' must be an object");
	if (params_dns(dns, e) < 0)
		return -EINVAL;
	if (json_object_size(dns) > 0)
		a->dns = json_incref(dns);
	return 0;
}

/*
 * Add the routes that come from the ENI: its default routes, unless another ENI of the namespace
 * has them (with_default false: the ENI's subnet route, from its address, is what it gets).
 */
int params_eni_routes(struct eni_attachment *a, struct eni *e, bool with_default,
		      struct params_err *pe)
{
	struct attach_route extra[ATTACH_MAX_ROUTES];
	unsigned int nextra = a->nroutes, n = 0;
	bool v4 = false, v6 = false, gw_onlink = true;

	memcpy(extra, a->routes, sizeof(extra[0]) * nextra);
	for (unsigned int i = 0; i < a->naddrs; i++) {
		if (a->addrs[i].family == AF_INET) {
			v4 = true;
			if (!addr_prefix_contains(&e->subnet, &a->addrs[i])) {
				char ab[ADDR_PREFIX_STRLEN], sb[ADDR_PREFIX_STRLEN];

				return params_fail(pe, "Address %s is outside the ENI's subnet %s",
						   addr_prefix_format(&a->addrs[i], ab, sizeof(ab)),
						   addr_prefix_format(&e->subnet, sb, sizeof(sb)));
			}
			/* the gateway is on-link when an address prefix covers it */
			{
				struct in_prefix net = a->addrs[i];

				if (addr_prefix_contains(&net, &e->gateway))
					gw_onlink = false;
			}
		} else {
			v6 = true;
		}
	}
	if (!with_default)
		v4 = v6 = false;
	if (v4) {
		struct attach_route *tr = &a->routes[n++];

		*tr = (struct attach_route){ .kind = ROUTE_KIND_DEFAULT };
		tr->spec.type = RTN_UNICAST;
		tr->spec.dst = (struct in_prefix){ .family = AF_INET, .len = 0 };
		tr->spec.gw = e->gateway;
		tr->spec.onlink = gw_onlink;
	}
	if (v6 && e->gateway6.family) {
		struct attach_route *tr = &a->routes[n++];

		*tr = (struct attach_route){ .kind = ROUTE_KIND_DEFAULT };
		tr->spec.type = RTN_UNICAST;
		tr->spec.dst = (struct in_prefix){ .family = AF_INET6, .len = 0 };
		tr->spec.gw = e->gateway6;
	}
	for (unsigned int i = 0; i < nextra; i++) {
		if (extra[i].spec.dst.len == 0 &&
		    ((extra[i].spec.dst.family == AF_INET && v4) ||
		     (extra[i].spec.dst.family == AF_INET6 && v6 && e->gateway6.family)) &&
		    (extra[i].spec.table == 0 || extra[i].spec.table == RT_TABLE_MAIN))
			return params_fail(
				pe,
				"routes: a default route comes from the ENI's gateway; give another table or leave it out");
		a->routes[n++] = extra[i];
	}
	a->nroutes = n;
	return 0;
}

/* Refuse what would change the namespace in ways we do not own: done before any change. */
int params_precheck(struct ctl_call *call, struct netd *d, struct eni_attachment *a)
{
	struct netlink *tnl = NULL;
	struct link_info li;
	int fd = -1, r;

	r = netns_open(a->netns_path, &fd);
	if (r == -ENOENT)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "Namespace '%s' does not exist",
				      a->netns_path),
		       r;
	if (r == -EINVAL)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "'%s' is not a network namespace", a->netns_path),
		       r;
	if (r < 0)
		return ctl_call_fail_errno(call, r, "Failed to open namespace '%s': %s",
					   a->netns_path, strerror(-r)),
		       r;
	r = netns_get_id(fd, &a->netns_id);
	if (r < 0)
		goto out;
	if (netns_id_equal(&a->netns_id, &d->host_netns_id)) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
			       "Namespace '%s' is netd's own namespace", a->netns_path);
		r = -EINVAL;
		goto out;
	}
	r = netlink_open(fd, &tnl);
	if (r < 0)
		goto out;
	r = netlink_link_get(tnl, 0, a->ifname, &li);
	if (r == 0) {
		ctl_call_failf(
			call, CTL_ERR_EXISTS,
			"Interface '%s' already exists in namespace '%s'; nothing was changed",
			a->ifname, a->netns_path);
		r = -EEXIST;
		goto out;
	}
	if (r != -ENODEV)
		goto out;
	if (a->metadata_link) {
		char hname[IFNAMSIZ];

		r = netlink_link_get(tnl, 0, MDLINK_IFNAME, &li);
		if (r == 0) {
			ctl_call_failf(
				call, CTL_ERR_EXISTS,
				"Interface '%s' (the metadata link's name) already exists in namespace '%s'; nothing was changed",
				MDLINK_IFNAME, a->netns_path);
			r = -EEXIST;
			goto out;
		}
		/* A leftover host side would make the attach fail half-way; say so now. */
		mdlink_host_ifname(a->slot, hname);
		r = netlink_link_get(d->host_nl, 0, hname, &li);
		if (r == 0) {
			ctl_call_failf(
				call, CTL_ERR_EXISTS,
				"Interface '%s' already exists on the host; nothing was changed",
				hname);
			r = -EEXIST;
			goto out;
		}
	}
	r = r == -ENODEV ? 0 : r;
out:
	if (r < 0 && !ctl_call_is_done(call))
		ctl_call_fail_errno(call, r, "Failed to inspect namespace '%s': %s", a->netns_path,
				    strerror(-r));
	netlink_free(tnl);
	safe_close(fd);
	return r;
}

/*
 * The first attachment of ours in that namespace (an ENI attached, or being attached), or NULL.
 * One whose namespace is gone is not there, even if the kernel gave its inode number to a new
 * namespace.
 */
struct eni_attachment *params_netns_attachment(struct netd *d, const struct netns_id *id)
{
	for (struct eni_attachment *a = d->attachments; a; a = a->next) {
		int fd;

		if (!netns_id_equal(&a->netns_id, id) || attachment_netns_open(a, &fd) < 0)
			continue;
		close(fd);
		return a;
	}
	return NULL;
}
