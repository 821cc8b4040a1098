/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rtnetlink through libnl-route-3: links, addresses, routes and link statistics, in any network
 * namespace. The only module that talks libnl; every call returns 0/-errno (the kernel's errno
 * when it sent one, not libnl's NLE codes) and keeps the kernel's extended-ack text.
 */
#ifndef TP_NETLINK_H
#define TP_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct netlink;

/* A link's counters (IFLA_STATS64), the part we report. */
struct link_stats {
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/* What we read of a link. */
struct link_info {
	int ifindex;
	char ifname[IFNAMSIZ];
	char kind[16]; /* rtnl kind ("veth", "bridge"), empty for a device without one */
	uint8_t mac[ADDR_MAC_LEN];
	bool has_mac;
	unsigned int mtu;
	unsigned int flags; /* IFF_* */
	uint8_t operstate;
	struct link_stats stats;
};

/* A route as we add, delete and compare it. */
struct route_spec {
	struct in_prefix dst;
	struct in_prefix gw; /* family 0: no gateway */
	int ifindex;	     /* 0: none (e.g. unreachable) */
	uint8_t type;	     /* RTN_UNICAST, RTN_UNREACHABLE, RTN_BLACKHOLE... */
	uint8_t scope;	     /* RT_SCOPE_* */
	uint8_t protocol;    /* RTPROT_*; 0 means RTPROT_STATIC when adding */
	uint32_t table;	     /* 0 means RT_TABLE_MAIN */
	uint32_t priority;
	uint32_t mtu, advmss; /* route metrics, 0: unset */
	bool onlink;
};

typedef int (*netlink_link_fn)(const struct link_info *link, void *data);
typedef int (*netlink_addr_fn)(int ifindex, const struct in_prefix *addr, uint32_t flags,
			       void *data);
typedef int (*netlink_route_fn)(const struct route_spec *route, void *data);
/* Link events from a monitor: removed is true for RTM_DELLINK. */
typedef void (*netlink_monitor_fn)(const struct link_info *link, bool removed, void *data);

/* Open an rtnetlink socket in the namespace netns_fd (-1: the caller's). */
int netlink_open(int netns_fd, struct netlink **ret);
/* Open a non-blocking socket subscribed to link events in netns_fd (-1: the caller's). */
int netlink_monitor_open(int netns_fd, struct netlink **ret);
/* Close; returns NULL. */
struct netlink *netlink_free(struct netlink *nl);
/* The socket fd (for epoll on a monitor). */
int netlink_fd(struct netlink *nl);
/* Extended-ack text of the last failed request, or "". */
const char *netlink_extack(struct netlink *nl);
/* Read pending monitor messages and call fn for each link event; -ENOBUFS on overrun. */
int netlink_monitor_dispatch(struct netlink *nl, netlink_monitor_fn fn, void *data);

/* Read one link by index (ifname NULL) or by name (ifindex 0). */
int netlink_link_get(struct netlink *nl, int ifindex, const char *ifname, struct link_info *ret);
/* Call fn for every link (stops early when fn returns non-zero, which is returned). */
int netlink_link_foreach(struct netlink *nl, netlink_link_fn fn, void *data);
/* Find the link with this MAC: 0 with *ret, -ENODEV if none. */
int netlink_link_find_mac(struct netlink *nl, const uint8_t mac[ADDR_MAC_LEN],
			  struct link_info *ret);
/* Move a link into another namespace and, if newname is set, rename it: one request. */
int netlink_link_move(struct netlink *nl, int ifindex, int target_netns_fd, const char *newname);
/* Rename a link (it must be down). */
int netlink_link_set_name(struct netlink *nl, int ifindex, const char *name);
/* Set a link's MTU. */
int netlink_link_set_mtu(struct netlink *nl, int ifindex, unsigned int mtu);
/* Set a link administratively up or down. */
int netlink_link_set_up(struct netlink *nl, int ifindex, bool up);
/* Delete a link. */
int netlink_link_delete(struct netlink *nl, int ifindex);
/* Put a link in a device group. */
int netlink_link_set_group(struct netlink *nl, int ifindex, uint32_t group);
/* Delete every link of a device group in one request (one batch in the kernel). */
int netlink_link_delete_group(struct netlink *nl, uint32_t group);
/* Create a veth pair: name here, peer in peer_netns_fd (-1: here), neither with an IPv6
 * link-local address (addrgenmode none, when IPv6 is on). */
int netlink_veth_create(struct netlink *nl, const char *name, const char *peer, int peer_netns_fd);
/* Stop the kernel from giving a link an IPv6 link-local address (no-op without IPv6). */
int netlink_link_set_no_ipv6ll(struct netlink *nl, int ifindex);
/* Set or read one of a link's IPv4 settings (IPV4_DEVCONF_*, e.g. RP_FILTER: the kernel's
 * net.ipv4.conf.IFNAME.rp_filter). */
int netlink_link_set_ipv4_conf(struct netlink *nl, int ifindex, int id, uint32_t value);
int netlink_link_get_ipv4_conf(struct netlink *nl, int ifindex, int id, uint32_t *ret);

/* Add an address; IPv6 addresses can skip duplicate address detection. -EEXIST if present. */
int netlink_addr_add(struct netlink *nl, int ifindex, const struct in_prefix *addr, bool nodad);
/* Delete an address. */
int netlink_addr_del(struct netlink *nl, int ifindex, const struct in_prefix *addr);
/* Call fn for every address of ifindex (0: of every link). */
int netlink_addr_foreach(struct netlink *nl, int ifindex, netlink_addr_fn fn, void *data);
/* Whether ifindex (0: any link) has the address: 1, 0, or -errno. */
int netlink_addr_exists(struct netlink *nl, int ifindex, const struct in_prefix *addr);

/* Add a route (exclusive: -EEXIST if the same route exists). */
int netlink_route_add(struct netlink *nl, const struct route_spec *route);
/* Delete a route. */
int netlink_route_del(struct netlink *nl, const struct route_spec *route);
/* Call fn for every route of the family (AF_INET, AF_INET6) in every table. */
int netlink_route_foreach(struct netlink *nl, int family, netlink_route_fn fn, void *data);
/* Whether a route equal to route (netlink_route_equal) is there, in any table: 1, 0, -errno. */
int netlink_route_exists(struct netlink *nl, const struct route_spec *route);
/* Same destination, gateway, type, table, device and metrics? (priority 0 matches any) */
bool netlink_route_equal(const struct route_spec *want, const struct route_spec *have);
/* Describe a route as `ip route` would, for messages. */
const char *netlink_route_format(const struct route_spec *route, char *buf, size_t size);

/*
 * tc: a clsact qdisc, and filters on its ingress hook that redirect every frame to another
 * link's egress (u32 "match u32 0 0" with a mirred egress redirect: this kernel has no
 * matchall), the wiring of a tap to an ENI.
 */
/* A clsact qdisc on the link (0 when it has one already). */
int netlink_clsact_add(struct netlink *nl, int ifindex);
/* Every frame arriving at ifindex goes out of to_ifindex: a filter of priority prio. */
int netlink_redirect_add(struct netlink *nl, int ifindex, uint16_t prio, int to_ifindex);
/* Remove the ingress filters of priority prio (0 when there are none). */
int netlink_redirect_del(struct netlink *nl, int ifindex, uint16_t prio);
/* Whether a u32 filter of priority prio is on the link's ingress: 1, 0, or -errno. */
int netlink_redirect_exists(struct netlink *nl, int ifindex, uint16_t prio);

/*
 * Links of other namespaces, read from this socket's namespace: a socket inside a namespace
 * would keep it alive (a physical ENI comes back to the host only when its namespace dies).
 */
/* The id the namespace netns_fd has in the socket's namespace (given one if it has none). */
int netlink_nsid(struct netlink *nl, int netns_fd, int *ret_nsid);

/* One link to read: the namespace's id (netlink_nsid) and the link's index there. */
struct netlink_link_query {
	int nsid;
	int ifindex;
	/* out: 0 with info (index, name, MAC, MTU, flags, statistics), or -errno: the kernel's,
	 * -ENODATA for a link without statistics, -EINVAL for a query without an id or index,
	 * -ETIMEDOUT for one not answered in time */
	int error;
	struct link_info info;
};

/*
 * Read queries[0..n) through RTM_GETLINK with IFLA_TARGET_NETNSID, pipelined: the requests go
 * in batches of one send each, the answers are matched by sequence number. 0, or -errno when
 * the socket fails (the queries not answered keep their error).
 */
int netlink_link_query(struct netlink *nl, struct netlink_link_query *queries, unsigned int n);
/* Room for many answers at once (SO_RCVBUF, forced when allowed), and how long a read waits. */
int netlink_set_rcvbuf(struct netlink *nl, int bytes, unsigned int timeout_ms);

/* Map a libnl NLE_* code (negative or positive) to -errno. */
int netlink_nle_to_errno(int nle);

#endif
