// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ENI inventory (eni.h).
 */
#include <limits.h>
#include <sys/epoll.h>

#include "attachment.h"
#include "eni.h"
#include "event.h"
#include "events.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "netd.h"

struct eni *eni_find(struct netd *d, const uint8_t mac[ADDR_MAC_LEN])
{
	for (struct eni *e = d->enis; e; e = e->next)
		if (memcmp(e->mac, mac, ADDR_MAC_LEN) == 0)
			return e;
	return NULL;
}

enum eni_state eni_get_state(const struct eni *e)
{
	if (e->att)
		return ENI_STATE_ATTACHED;
	if (e->ifindex > 0)
		return ENI_STATE_AVAILABLE;
	if (e->lost)
		return ENI_STATE_LOST;
	return ENI_STATE_MISSING;
}

const char *eni_state_to_string(enum eni_state s)
{
	switch (s) {
	case ENI_STATE_MISSING:
		return "missing";
	case ENI_STATE_AVAILABLE:
		return "available";
	case ENI_STATE_ATTACHED:
		return "attached";
	case ENI_STATE_LOST:
		return "lost";
	}
	return "unknown";
}

json_t *eni_to_json(const struct eni *e)
{
	char mac[ADDR_MAC_STRLEN], buf[ADDR_PREFIX_STRLEN], ts[40];
	json_t *j;

	format_rfc3339_nsec(e->registered_ns, ts, sizeof(ts));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "mac", addr_mac_format(e->mac, mac), "name",
		      e->name, "state", eni_state_to_string(eni_get_state(e)), "subnet",
		      addr_prefix_format(&e->subnet, buf, sizeof(buf)), "gateway", "", "registered",
		      ts);
	if (!j)
		return NULL;
	json_object_set_new(j, "gateway",
			    json_string(addr_ip_format(&e->gateway, buf, sizeof(buf))));
	if (e->subnet6.family) {
		json_object_set_new(j, "subnet6",
				    json_string(addr_prefix_format(&e->subnet6, buf, sizeof(buf))));
		if (e->gateway6.family)
			json_object_set_new(
				j, "gateway6",
				json_string(addr_ip_format(&e->gateway6, buf, sizeof(buf))));
	}
	if (e->ifindex > 0) {
		json_object_set_new(j, "ifname", json_string(e->ifname));
		json_object_set_new(j, "ifindex", json_integer(e->ifindex));
		json_object_set_new(j, "mtu", json_integer(e->mtu));
	}
	if (e->att)
		json_object_set_new(j, "task_id", json_string(e->att->id));
	if (e->lost)
		json_object_set_new(j, "lost", json_true());
	return j;
}

/* The parameters of eni.register, with what each wants, for the messages. */
static const struct {
	const char *key, *want;
	bool required;
} register_params[] = {
	{ "mac", "the ENI's MAC address, xx:xx:xx:xx:xx:xx", true },
	{ "subnet", "the ENI's IPv4 subnet, such as 198.18.0.0/16", true },
	{ "gateway", "the subnet's gateway, an IPv4 address such as 198.18.0.1", true },
	{ "name", "a label of at most 63 bytes", false },
	{ "subnet6", "the ENI's IPv6 subnet, such as 2001:db8::/64", false },
	{ "gateway6", "its gateway, an IPv6 address such as fe80::1", false },
};

/* Every parameter known and a string, the required ones there: or say which is not. */
static int register_params_check(json_t *params, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(params)) {
		snprintf(err, errlen,
			 "Parameters must be an object {\"mac\", \"subnet\", \"gateway\"}");
		return -EINVAL;
	}
	json_object_foreach(params, k, v) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(register_params); i++)
			if (streq(k, register_params[i].key))
				break;
		if (i == ARRAY_SIZE(register_params)) {
			snprintf(
				err, errlen,
				"Unknown parameter '%.64s' (known: mac, subnet, gateway, name, subnet6, gateway6)",
				k);
			return -EINVAL;
		}
		if (!json_is_string(v)) {
			snprintf(err, errlen, "Parameter '%s' must be a string: %s", k,
				 register_params[i].want);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(register_params); i++)
		if (register_params[i].required &&
		    !json_object_get(params, register_params[i].key)) {
			snprintf(err, errlen, "Missing parameter '%s': %s", register_params[i].key,
				 register_params[i].want);
			return -EINVAL;
		}
	return 0;
}

/* A subnet: an address with its host bits clear (else the message says which was meant). */
static int parse_subnet(const char *key, const char *s, int family, struct in_prefix *ret,
			char *err, size_t errlen)
{
	char buf[ADDR_PREFIX_STRLEN];
	struct in_prefix masked;

	if (addr_prefix_parse(s, ret) < 0 || ret->family != family) {
		snprintf(err, errlen, "Invalid %s '%.64s' (want %s)", key, s,
			 family == AF_INET ? "an IPv4 CIDR such as 198.18.0.0/16"
					   : "an IPv6 CIDR such as 2001:db8::/64");
		return -EINVAL;
	}
	masked = *ret;
	addr_prefix_mask(&masked);
	if (!addr_prefix_equal(&masked, ret)) {
		snprintf(err, errlen, "The %s %s has host bits set; did you mean %s?", key, s,
			 addr_prefix_format(&masked, buf, sizeof(buf)));
		return -EINVAL;
	}
	return 0;
}

/*
 * Validate and fill an ENI from registration parameters, or (journal) from the form
 * eni_to_journal() writes. A registration is refused with a message that says what is wrong:
 * a parameter missing, unknown or not a string; an invalid MAC, subnet or gateway; a subnet with
 * host bits set; a gateway outside its subnet or on its network or broadcast address.
 */
static int eni_parse(json_t *params, bool journal, struct eni *e, char *err, size_t errlen)
{
	const char *mac = NULL, *subnet = NULL, *gateway = NULL, *name = NULL;
	const char *subnet6 = NULL, *gateway6 = NULL;
	char buf[ADDR_PREFIX_STRLEN];
	json_int_t registered = 0;
	json_error_t jerr;
	int lost = 0, r;

	if (!journal && register_params_check(params, err, errlen) < 0)
		return -EINVAL;
	if (journal)
		r = json_unpack_ex(params, &jerr, JSON_STRICT,
				   "{s:s, s:s, s:s, s?s, s?s, s?s, s:I, s:b}", "mac", &mac,
				   "subnet", &subnet, "gateway", &gateway, "name", &name, "subnet6",
				   &subnet6, "gateway6", &gateway6, "registered_ns", &registered,
				   "lost", &lost);
	else
		r = json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s?s, s?s, s?s}",
				   "mac", &mac, "subnet", &subnet, "gateway", &gateway, "name",
				   &name, "subnet6", &subnet6, "gateway6", &gateway6);
	if (r < 0) {
		snprintf(err, errlen, "Invalid parameters: %s", jerr.text);
		return -EINVAL;
	}
	if (addr_mac_parse(mac, e->mac) < 0 || !addr_mac_is_unicast(e->mac)) {
		snprintf(err, errlen,
			 "Invalid MAC address '%.64s' (want a unicast xx:xx:xx:xx:xx:xx)", mac);
		return -EINVAL;
	}
	if (journal) {
		/* Written by netd: masked, as registrations have always been. */
		if (addr_prefix_parse(subnet, &e->subnet) < 0 || e->subnet.family != AF_INET) {
			snprintf(err, errlen, "Invalid subnet '%.64s'", subnet);
			return -EINVAL;
		}
		addr_prefix_mask(&e->subnet);
	} else if (parse_subnet("subnet", subnet, AF_INET, &e->subnet, err, errlen) < 0) {
		return -EINVAL;
	}
	if (addr_ip_parse(gateway, AF_INET, &e->gateway) < 0) {
		snprintf(err, errlen, "Invalid gateway '%.64s' (want an IPv4 address such as %s)",
			 gateway, "198.18.0.1");
		return -EINVAL;
	}
	if (!addr_prefix_contains(&e->subnet, &e->gateway)) {
		snprintf(err, errlen, "Gateway %s is outside subnet %s", gateway,
			 addr_prefix_format(&e->subnet, buf, sizeof(buf)));
		return -EINVAL;
	}
	if (!journal && e->subnet.len <= 30) {
		uint32_t host = ntohl(e->gateway.u.v4.s_addr) & (0xffffffffU >> e->subnet.len);

		if (host == 0 || host == 0xffffffffU >> e->subnet.len) {
			snprintf(err, errlen, "Gateway %s is the %s address of subnet %s", gateway,
				 host == 0 ? "network" : "broadcast",
				 addr_prefix_format(&e->subnet, buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	if (gateway6 && !subnet6) {
		snprintf(err, errlen, "Parameter 'gateway6' needs 'subnet6'");
		return -EINVAL;
	}
	if (subnet6) {
		if (journal) {
			if (addr_prefix_parse(subnet6, &e->subnet6) < 0 ||
			    e->subnet6.family != AF_INET6) {
				snprintf(err, errlen, "Invalid subnet6 '%.64s'", subnet6);
				return -EINVAL;
			}
			addr_prefix_mask(&e->subnet6);
		} else if (parse_subnet("subnet6", subnet6, AF_INET6, &e->subnet6, err, errlen) <
			   0) {
			return -EINVAL;
		}
	}
	/* An IPv6 gateway is usually link-local (fe80::1), so it need not lie in subnet6. */
	if (gateway6 && addr_ip_parse(gateway6, AF_INET6, &e->gateway6) < 0) {
		snprintf(err, errlen, "Invalid gateway6 '%.64s' (want an IPv6 address)", gateway6);
		return -EINVAL;
	}
	if (name) {
		if (strlen(name) >= sizeof(e->name)) {
			snprintf(err, errlen, "Name '%.20s...' is longer than %zu bytes", name,
				 sizeof(e->name) - 1);
			return -EINVAL;
		}
		for (const char *p = name; *p; p++)
			if ((unsigned char)*p < 0x20) {
				snprintf(err, errlen, "Name contains control characters");
				return -EINVAL;
			}
		strscpy(e->name, name, sizeof(e->name));
	}
	e->lost = lost;
	e->registered_ns = journal ? (uint64_t)registered : realtime_nsec();
	return 0;
}

int eni_from_params(json_t *params, struct eni *e, char *err, size_t errlen)
{
	return eni_parse(params, false, e, err, errlen);
}

bool eni_same(const struct eni *a, const struct eni *b)
{
	return streq(a->name, b->name) && addr_prefix_equal(&a->subnet, &b->subnet) &&
	       addr_prefix_equal(&a->gateway, &b->gateway) &&
	       a->subnet6.family == b->subnet6.family &&
	       (!b->subnet6.family || addr_prefix_equal(&a->subnet6, &b->subnet6)) &&
	       a->gateway6.family == b->gateway6.family &&
	       (!b->gateway6.family || addr_prefix_equal(&a->gateway6, &b->gateway6));
}

void eni_add(struct netd *d, struct eni *e)
{
	e->next = d->enis;
	d->enis = e;
	d->nenis++;
}

void eni_remove(struct netd *d, struct eni *e)
{
	for (struct eni **pp = &d->enis; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			d->nenis--;
			break;
		}
	free(e);
}

void eni_mark_lost(struct netd *d, struct eni *e, const char *owner)
{
	char mac[ADDR_MAC_STRLEN];

	if (e->lost)
		return;
	e->lost = true;
	e->ifindex = 0;
	addr_mac_format(e->mac, mac);
	events_emit(
		d, "eni.lost", json_pack("{s:s, s:s}", "mac", mac, "task_id", owner),
		"ENI %s of task '%s' is gone with its namespace; it stays registered and returns if it reappears",
		mac, owner);
}

json_t *eni_to_journal(const struct eni *e)
{
	char mac[ADDR_MAC_STRLEN], buf[ADDR_PREFIX_STRLEN];
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:I, s:b}", "mac", addr_mac_format(e->mac, mac), "name",
		      e->name, "subnet", addr_prefix_format(&e->subnet, buf, sizeof(buf)),
		      "registered_ns", (json_int_t)e->registered_ns, "lost", e->lost);
	if (!j)
		return NULL;
	json_object_set_new(j, "gateway",
			    json_string(addr_ip_format(&e->gateway, buf, sizeof(buf))));
	if (e->subnet6.family)
		json_object_set_new(j, "subnet6",
				    json_string(addr_prefix_format(&e->subnet6, buf, sizeof(buf))));
	if (e->gateway6.family)
		json_object_set_new(j, "gateway6",
				    json_string(addr_ip_format(&e->gateway6, buf, sizeof(buf))));
	return j;
}

int eni_from_json(json_t *j, struct eni **ret)
{
	struct eni *e;
	char err[256];
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = eni_parse(j, true, e, err, sizeof(err));
	if (r < 0) {
		log_warn("Ignoring an ENI in the journal: %s", err);
		free(e);
		return r;
	}
	*ret = e;
	return 0;
}

int eni_rescan(struct netd *d, struct eni *e)
{
	struct link_info li;
	int r;

	r = netlink_link_find_mac(d->host_nl, e->mac, &li);
	if (r == -ENODEV) {
		e->ifindex = 0;
		e->ifname[0] = '\0';
		return 0;
	}
	if (r < 0)
		return r;
	e->ifindex = li.ifindex;
	strscpy(e->ifname, li.ifname, sizeof(e->ifname));
	e->mtu = li.mtu;
	e->lost = false;
	return 0;
}

void eni_link_event(struct netd *d, const struct link_info *link, bool removed)
{
	char mac[ADDR_MAC_STRLEN];
	struct eni *e = NULL;
	struct link_info li;
	bool present;
	int r;

	if (link->has_mac)
		e = eni_find(d, link->mac);
	if (!e) {
		/* A DELLINK may come without an address; match the index we know. */
		if (!removed)
			return;
		for (e = d->enis; e; e = e->next)
			if (e->ifindex == link->ifindex)
				break;
		if (!e)
			return;
	}
	addr_mac_format(e->mac, mac);

	/*
	 * Events arrive after the fact and in bursts (a device moved back into the namespace is
	 * announced under its old name first), so ask the kernel how things are now.
	 */
	r = netlink_link_get(d->host_nl, link->ifindex, NULL, &li);
	present = r == 0 && li.has_mac && memcmp(li.mac, e->mac, ADDR_MAC_LEN) == 0;

	if (present) {
		bool was_away = e->ifindex <= 0;

		e->ifindex = li.ifindex;
		strscpy(e->ifname, li.ifname, sizeof(e->ifname));
		e->mtu = li.mtu;
		if (was_away && !e->att) {
			bool was_lost = e->lost;

			e->lost = false;
			events_emit(d, "eni.appeared",
				    json_pack("{s:s, s:s}", "mac", mac, "ifname", li.ifname),
				    "ENI %s appeared as '%s'%s", mac, li.ifname,
				    was_lost ? " (it was lost)" : "");
		}
	} else if (e->ifindex == link->ifindex) {
		e->ifindex = 0;
		e->ifname[0] = '\0';
		/* Moving into a task's namespace looks like a removal here. */
		if (!e->att)
			events_emit(d, "eni.disappeared", json_pack("{s:s}", "mac", mac),
				    "ENI %s left the host namespace", mac);
	}
	if (e->att && e->ifindex > 0 && d->eni_appeared)
		d->eni_appeared(d, e);
}

static void monitor_cb(const struct link_info *link, bool removed, void *data)
{
	eni_link_event(data, link, removed);
}

static int rescan_all(struct netd *d)
{
	for (struct eni *e = d->enis; e; e = e->next) {
		int r;

		/* An attached ENI lives in its task's namespace. */
		if (e->att && e->att->state != ATTACH_STATE_ATTACHING)
			continue;
		r = eni_rescan(d, e);
		if (r < 0)
			return r;
		if (e->att && e->ifindex > 0 && d->eni_appeared)
			d->eni_appeared(d, e);
	}
	return 0;
}

static void monitor_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd *d = data;
	int r;

	r = netlink_monitor_dispatch(d->monitor, monitor_cb, d);
	if (r == -ENOBUFS) {
		/* Events were lost: read the whole picture again. */
		log_warn("Link event queue overran, rescanning ENIs");
		r = rescan_all(d);
	}
	if (r < 0)
		log_warn_errno(r, "Failed to process link events: %m, ignoring");
}

int eni_init(struct netd *d, eni_appeared_fn appeared)
{
	int r;

	d->eni_appeared = appeared;
	r = netlink_monitor_open(-1, &d->monitor);
	if (r < 0)
		return log_err_errno(r, "Failed to subscribe to link events: %m");
	r = event_add_io(d->loop, netlink_fd(d->monitor), EPOLLIN, monitor_io, d, NULL);
	if (r < 0)
		return log_err_errno(r, "Failed to watch link events: %m");
	d->monitor_id = r;
	return 0;
}

void eni_exit(struct netd *d)
{
	event_cancel(d->loop, d->monitor_id);
	d->monitor = netlink_free(d->monitor);
	while (d->enis) {
		struct eni *e = d->enis;

		d->enis = e->next;
		free(e);
	}
	d->nenis = 0;
}

int eni_scan_host(struct netd *d)
{
	return rescan_all(d);
}

/* --- journal --------------------------------------------------------------------------------- */

int eni_journal_save(struct netd *d)
{
	json_t *arr = json_array();

	for (struct eni *e = d->enis; e; e = e->next)
		json_array_append_new(arr, eni_to_journal(e));
	return journal_save(d->journal, JOURNAL_ENIS, NULL,
			    json_pack("{s:i, s:o}", "version", 1, "enis", arr));
}

static void load_enis_from(struct netd *d, json_t *root)
{
	json_t *arr, *v;
	size_t i;

	arr = json_object_get(root, "enis");
	json_array_foreach(arr, i, v) {
		struct eni *e;

		if (eni_from_json(v, &e) < 0)
			continue;
		if (eni_find(d, e->mac) || d->nenis >= NETD_MAX_ENIS) {
			free(e);
			continue;
		}
		eni_add(d, e);
	}
}

int eni_journal_load(struct netd *d)
{
	char path[PATH_MAX], old[PATH_MAX];
	json_auto_t *root = NULL, *old_root = NULL;
	int r;

	r = journal_path(d->journal, JOURNAL_ENIS, NULL, path, sizeof(path));
	if (r >= 0)
		r = journal_path(d->journal, JOURNAL_ENIS_OLD, NULL, old, sizeof(old));
	if (r < 0)
		return r;
	r = journal_load_warn(d->journal, JOURNAL_ENIS, NULL, &root);
	if (r == -EBADMSG) {
		r = journal_set_aside(d->journal, JOURNAL_ENIS, NULL);
		if (r < 0)
			return log_err_errno(r, "Failed to move '%s' aside: %m", path);
		log_warn(
			"The ENI registrations in '%s' cannot be read: kept as '%s.broken', starting without them",
			path, path);
	} else if (r < 0 && r != -ENOENT) {
		return log_err_errno(r, "Failed to read '%s': %m", path);
	}

	if (journal_load_warn(d->journal, JOURNAL_ENIS_OLD, NULL, &old_root) == 0) {
		if (root) {
			log_warn(
				"Ignoring the ENI journal '%s' of an older netd: '%s' holds the registrations",
				old, path);
		} else {
			load_enis_from(d, old_root);
			r = eni_journal_save(d);
			if (r < 0)
				return log_err_errno(r, "Failed to write '%s': %m", path);
			log_notice("Moved %u ENI registrations from '%s' to '%s'", d->nenis, old,
				   path);
		}
	}
	r = journal_remove(d->journal, JOURNAL_ENIS_OLD, NULL);
	if (r < 0)
		log_warn_errno(r, "Failed to remove '%s': %m, ignoring", old);
	if (root)
		load_enis_from(d, root);
	return 0;
}
