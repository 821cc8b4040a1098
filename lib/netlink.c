// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "netlink.h"
#include "netns.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct netlink {
	struct nl_sock *sk;
	uint32_t raw_seq; /* of the requests sent past libnl (netlink_nsid, netlink_link_query) */
	int last_errno;	  /* the kernel's errno from the last NLMSG_ERROR, positive */
	char extack[256];
	/* monitor dispatch */
	netlink_monitor_fn monitor_fn;
	void *monitor_data;
};

int netlink_nle_to_errno(int nle)
{
	if (nle < 0)
		nle = -nle;
	switch (nle) {
	case NLE_SUCCESS:
		return 0;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
	case NLE_MSG_TRUNC:
	case NLE_MSG_OVERFLOW:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
	case NLE_SRCRT_NOSUPPORT:
	case NLE_MSGTYPE_NOSUPPORT:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
	case NLE_AF_MISMATCH:
		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOATTR:
	case NLE_MISSING_ATTR:
		return -ENODATA;
	case NLE_SEQ_MISMATCH:
	case NLE_MSG_TOOSHORT:
	case NLE_PARSE_ERR:
	case NLE_PROTO_MISMATCH:
		return -EPROTO;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_PERM:
	case NLE_IMMUTABLE:
		return -EPERM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_DUMP_INTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

/* Turn a libnl result into -errno, preferring the kernel's own errno. */
static int nl_result(struct netlink *nl, int nle)
{
	int err = nl->last_errno;

	nl->last_errno = 0;
	if (nle >= 0)
		return nle;
	if (err > 0)
		return -err;
	return netlink_nle_to_errno(nle);
}

static void nl_request_begin(struct netlink *nl)
{
	nl->last_errno = 0;
	nl->extack[0] = '\0';
}

/* Record the kernel's errno and extended ack before libnl maps them away. */
static int nl_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct netlink *nl = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);

	nl->last_errno = e->error < 0 ? -e->error : e->error;
	nl->extack[0] = '\0';
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* With NETLINK_CAP_ACK the request is not echoed: TLVs follow nlmsgerr. */
		size_t off = NLMSG_HDRLEN + sizeof(*e);
		const char *tlvs = (const char *)nlh;

		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		while (off + sizeof(struct nlattr) <= nlh->nlmsg_len) {
			const struct nlattr *a = (const struct nlattr *)(tlvs + off);

			if (a->nla_len < sizeof(*a) || off + a->nla_len > nlh->nlmsg_len)
				break;
			if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
				size_t n = a->nla_len - sizeof(*a);

				if (n >= sizeof(nl->extack))
					n = sizeof(nl->extack) - 1;
				memcpy(nl->extack, (const char *)(a + 1), n);
				nl->extack[n] = '\0';
				break;
			}
			off += NLA_ALIGN(a->nla_len);
		}
	}
	return NL_STOP;
}

static int netlink_alloc(int netns_fd, bool monitor, struct netlink **ret)
{
	struct netlink *nl;
	struct nl_cb *cb;
	int saved = -1, one = 1, r;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return -ENOMEM;
	}
	if (monitor)
		nl_socket_disable_seq_check(nl->sk);
	/* Far from libnl's own sequence numbers, which start at the time of day. */
	nl->raw_seq = 0x40000000;

	if (netns_fd >= 0) {
		r = netns_enter(netns_fd, &saved);
		if (r < 0)
			goto out_free;
	}
	r = netlink_nle_to_errno(nl_connect(nl->sk, NETLINK_ROUTE));
	if (netns_fd >= 0) {
		int q = netns_restore(saved);

		if (q < 0 && r == 0)
			r = q;
	}
	if (r < 0)
		goto out_free;

	/* libnl's sockets are not close-on-exec by default. */
	r = RET_NERRNO(fcntl(nl_socket_get_fd(nl->sk), F_SETFD, FD_CLOEXEC));
	if (r < 0)
		goto out_free;
	(void)setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	cb = nl_socket_get_cb(nl->sk);
	nl_cb_err(cb, NL_CB_CUSTOM, nl_error_cb, nl);
	nl_cb_put(cb);

	if (monitor) {
		r = netlink_nle_to_errno(nl_socket_add_membership(nl->sk, RTNLGRP_LINK));
		if (r < 0)
			goto out_free;
		r = netlink_nle_to_errno(nl_socket_set_nonblocking(nl->sk));
		if (r < 0)
			goto out_free;
		(void)nl_socket_set_buffer_size(nl->sk, 4 * 1024 * 1024, 0);
	}
	*ret = nl;
	return 0;

out_free:
	nl_socket_free(nl->sk);
	free(nl);
	return r;
}

int netlink_open(int netns_fd, struct netlink **ret)
{
	return netlink_alloc(netns_fd, false, ret);
}

int netlink_monitor_open(int netns_fd, struct netlink **ret)
{
	return netlink_alloc(netns_fd, true, ret);
}

struct netlink *netlink_free(struct netlink *nl)
{
	if (!nl)
		return NULL;
	nl_socket_free(nl->sk);
	free(nl);
	return NULL;
}

int netlink_fd(struct netlink *nl)
{
	return nl_socket_get_fd(nl->sk);
}

const char *netlink_extack(struct netlink *nl)
{
	return nl->extack;
}

static void link_info_from(struct rtnl_link *l, struct link_info *ret)
{
	struct nl_addr *a;
	const char *s;

	*ret = (struct link_info){};
	ret->ifindex = rtnl_link_get_ifindex(l);
	s = rtnl_link_get_name(l);
	if (s)
		strscpy(ret->ifname, s, sizeof(ret->ifname));
	s = rtnl_link_get_type(l);
	if (s)
		strscpy(ret->kind, s, sizeof(ret->kind));
	a = rtnl_link_get_addr(l);
	if (a && nl_addr_get_len(a) == ADDR_MAC_LEN) {
		memcpy(ret->mac, nl_addr_get_binary_addr(a), ADDR_MAC_LEN);
		ret->has_mac = true;
	}
	ret->mtu = rtnl_link_get_mtu(l);
	ret->flags = rtnl_link_get_flags(l);
	ret->operstate = rtnl_link_get_operstate(l);
	ret->stats.rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
	ret->stats.rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
	ret->stats.rx_errors = rtnl_link_get_stat(l, RTNL_LINK_RX_ERRORS);
	ret->stats.rx_dropped = rtnl_link_get_stat(l, RTNL_LINK_RX_DROPPED);
	ret->stats.tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
	ret->stats.tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
	ret->stats.tx_errors = rtnl_link_get_stat(l, RTNL_LINK_TX_ERRORS);
	ret->stats.tx_dropped = rtnl_link_get_stat(l, RTNL_LINK_TX_DROPPED);
}

struct monitor_ctx {
	struct netlink *nl;
};

static void monitor_parse_cb(struct nl_object *obj, void *arg)
{
	struct netlink *nl = arg;
	struct link_info li;

	if (!streq(nl_object_get_type(obj), "route/link"))
		return;
	link_info_from((struct rtnl_link *)obj, &li);
	nl->monitor_fn(&li, nl_object_get_msgtype(obj) == RTM_DELLINK, nl->monitor_data);
}

static int monitor_valid_cb(struct nl_msg *msg, void *arg)
{
	nl_msg_parse(msg, monitor_parse_cb, arg);
	return NL_OK;
}

int netlink_monitor_dispatch(struct netlink *nl, netlink_monitor_fn fn, void *data)
{
	struct nl_cb *cb, *sk_cb;
	int r;

	nl->monitor_fn = fn;
	nl->monitor_data = data;
	/* nl_socket_get_cb() takes a reference: give it back, or the socket's callbacks leak */
	sk_cb = nl_socket_get_cb(nl->sk);
	cb = nl_cb_clone(sk_cb);
	nl_cb_put(sk_cb);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, monitor_valid_cb, nl);
	for (;;) {
		r = nl_recvmsgs(nl->sk, cb);
		if (r < 0)
			break;
	}
	nl_cb_put(cb);
	r = nl_result(nl, r);
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return 0;
	/* libnl maps ENOBUFS (overrun) to NLE_NOMEM; say what happened. */
	if (r == -ENOMEM)
		return -ENOBUFS;
	return r;
}

int netlink_link_get(struct netlink *nl, int ifindex, const char *ifname, struct link_info *ret)
{
	struct rtnl_link *l = NULL;
	int r;

	nl_request_begin(nl);
	r = nl_result(nl, rtnl_link_get_kernel(nl->sk, ifindex, ifname, &l));
	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;
	link_info_from(l, ret);
	rtnl_link_put(l);
	return 0;
}

struct foreach_ctx {
	netlink_link_fn link_fn;
	netlink_addr_fn addr_fn;
	netlink_route_fn route_fn;
	void *data;
	int ifindex;
	int r;
};

/*
 * The end of a foreach: nle is what filling *cache returned; cb is called for every object of
 * it with c, which keeps the first non-zero answer of the caller's function.
 */
static int foreach_cached(struct netlink *nl, int nle, struct nl_cache **cache,
			  void (*cb)(struct nl_object *obj, void *arg), struct foreach_ctx *c)
{
	int r;

	r = nl_result(nl, nle);
	if (r < 0)
		return r;
	nl_cache_foreach(*cache, cb, c);
	nl_cache_free(*cache);
	return c->r;
}

static void link_foreach_cb(struct nl_object *obj, void *arg)
{
	struct foreach_ctx *c = arg;
	struct link_info li;

	if (c->r)
		return;
	link_info_from((struct rtnl_link *)obj, &li);
	c->r = c->link_fn(&li, c->data);
}

int netlink_link_foreach(struct netlink *nl, netlink_link_fn fn, void *data)
{
	struct foreach_ctx c = { .link_fn = fn, .data = data };
	struct nl_cache *cache = NULL;

	nl_request_begin(nl);
	return foreach_cached(nl, rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache), &cache,
			      link_foreach_cb, &c);
}

struct find_mac_ctx {
	const uint8_t *mac;
	struct link_info *ret;
};

static int find_mac_cb(const struct link_info *link, void *data)
{
	struct find_mac_ctx *c = data;

	if (!link->has_mac || memcmp(link->mac, c->mac, ADDR_MAC_LEN) != 0)
		return 0;
	*c->ret = *link;
	return 1;
}

int netlink_link_find_mac(struct netlink *nl, const uint8_t mac[ADDR_MAC_LEN],
			  struct link_info *ret)
{
	struct find_mac_ctx c = { .mac = mac, .ret = ret };
	int r;

	r = netlink_link_foreach(nl, find_mac_cb, &c);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -ENODEV;
}

/* Apply the changes in `changes` to link ifindex. */
static int link_change(struct netlink *nl, int ifindex, struct rtnl_link *changes)
{
	struct rtnl_link *orig;
	int r;

	orig = rtnl_link_alloc();
	if (!orig)
		return -ENOMEM;
	rtnl_link_set_ifindex(orig, ifindex);
	nl_request_begin(nl);
	r = nl_result(nl, rtnl_link_change(nl->sk, orig, changes, 0));
	rtnl_link_put(orig);
	return r;
}

/* What one RTM_NEWLINK changes of a link: every member that is set (zero: unchanged). */
struct link_changes {
	const char *name;
	unsigned int mtu;
	enum { LINK_UP_KEEP, LINK_UP, LINK_DOWN } up;
	bool move;
	int netns_fd; /* with move */
	bool set_group;
	uint32_t group;
	bool no_ipv6ll;	  /* addrgenmode none */
	int ipv4_conf_id; /* IPV4_DEVCONF_* */
	uint32_t ipv4_conf_value;
};

/* The alloc, set, change, put run of every link setting. */
static int link_apply(struct netlink *nl, int ifindex, const struct link_changes *c)
{
	struct rtnl_link *ch;
	int r = 0;

	ch = rtnl_link_alloc();
	if (!ch)
		return -ENOMEM;
	if (c->move)
		rtnl_link_set_ns_fd(ch, c->netns_fd);
	if (c->name)
		rtnl_link_set_name(ch, c->name);
	if (c->mtu)
		rtnl_link_set_mtu(ch, c->mtu);
	if (c->up == LINK_UP)
		rtnl_link_set_flags(ch, IFF_UP);
	else if (c->up == LINK_DOWN)
		rtnl_link_unset_flags(ch, IFF_UP);
	if (c->set_group)
		rtnl_link_set_group(ch, c->group);
	if (c->no_ipv6ll)
		r = netlink_nle_to_errno(
			rtnl_link_inet6_set_addr_gen_mode(ch, IN6_ADDR_GEN_MODE_NONE));
	if (r == 0 && c->ipv4_conf_id > 0)
		r = netlink_nle_to_errno(rtnl_link_inet_set_conf(ch, (unsigned int)c->ipv4_conf_id,
								 c->ipv4_conf_value));
	if (r == 0)
		r = link_change(nl, ifindex, ch);
	rtnl_link_put(ch);
	return r;
}

int netlink_link_move(struct netlink *nl, int ifindex, int target_netns_fd, const char *newname)
{
	return link_apply(nl, ifindex,
			  &(struct link_changes){
				  .move = true, .netns_fd = target_netns_fd, .name = newname });
}

int netlink_link_set_name(struct netlink *nl, int ifindex, const char *name)
{
	return link_apply(nl, ifindex, &(struct link_changes){ .name = name });
}

int netlink_link_set_mtu(struct netlink *nl, int ifindex, unsigned int mtu)
{
	return link_apply(nl, ifindex, &(struct link_changes){ .mtu = mtu });
}

int netlink_link_set_up(struct netlink *nl, int ifindex, bool up)
{
	return link_apply(nl, ifindex, &(struct link_changes){ .up = up ? LINK_UP : LINK_DOWN });
}

int netlink_link_delete(struct netlink *nl, int ifindex)
{
	struct rtnl_link *l;
	int r;

	l = rtnl_link_alloc();
	if (!l)
		return -ENOMEM;
	rtnl_link_set_ifindex(l, ifindex);
	nl_request_begin(nl);
	r = nl_result(nl, rtnl_link_delete(nl->sk, l));
	rtnl_link_put(l);
	return r;
}

int netlink_link_set_group(struct netlink *nl, int ifindex, uint32_t group)
{
	return link_apply(nl, ifindex, &(struct link_changes){ .set_group = true, .group = group });
}

int netlink_link_delete_group(struct netlink *nl, uint32_t group)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *msg;
	int r;

	/* libnl's delete wants an index or a name; the kernel also takes IFLA_GROUP alone. */
	msg = nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, IFLA_GROUP, group) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_request_begin(nl);
	r = nl_result(nl, nl_send_sync(nl->sk, msg));
	return r;
}

int netlink_veth_create(struct netlink *nl, const char *name, const char *peer, int peer_netns_fd)
{
	struct rtnl_link *veth, *p;
	int r;

	veth = rtnl_link_veth_alloc();
	if (!veth)
		return -ENOMEM;
	p = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(veth, name);
	rtnl_link_set_name(p, peer);
	if (peer_netns_fd >= 0)
		rtnl_link_set_ns_fd(p, peer_netns_fd);
	nl_request_begin(nl);
	r = nl_result(nl, rtnl_link_add(nl->sk, veth, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_link_put(p);
	rtnl_link_veth_release(veth);
	return r;
}

int netlink_link_set_no_ipv6ll(struct netlink *nl, int ifindex)
{
	int r = link_apply(nl, ifindex, &(struct link_changes){ .no_ipv6ll = true });

	/* IPv6 off in this namespace: nothing to stop. */
	return r == -EAFNOSUPPORT || r == -EOPNOTSUPP ? 0 : r;
}

int netlink_link_set_ipv4_conf(struct netlink *nl, int ifindex, int id, uint32_t value)
{
	if (id <= 0)
		return -EINVAL;
	return link_apply(nl, ifindex,
			  &(struct link_changes){ .ipv4_conf_id = id, .ipv4_conf_value = value });
}

int netlink_link_get_ipv4_conf(struct netlink *nl, int ifindex, int id, uint32_t *ret)
{
	struct rtnl_link *l = NULL;
	int r;

	nl_request_begin(nl);
	r = nl_result(nl, rtnl_link_get_kernel(nl->sk, ifindex, NULL, &l));
	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;
	r = netlink_nle_to_errno(rtnl_link_inet_get_conf(l, (unsigned int)id, ret));
	rtnl_link_put(l);
	return r;
}

static struct nl_addr *nladdr_from(const struct in_prefix *p)
{
	struct nl_addr *a;

	a = nl_addr_build(p->family, p->u.bytes, addr_family_len(p->family));
	if (a)
		nl_addr_set_prefixlen(a, p->len);
	return a;
}

static void prefix_from_nladdr(struct nl_addr *a, int family, struct in_prefix *ret)
{
	*ret = (struct in_prefix){ .family = family };
	if (!a)
		return;
	if (nl_addr_get_len(a) == addr_family_len(family))
		memcpy(ret->u.bytes, nl_addr_get_binary_addr(a), addr_family_len(family));
	ret->len = (uint8_t)nl_addr_get_prefixlen(a);
}

static int addr_change(struct netlink *nl, int ifindex, const struct in_prefix *p, bool add,
		       bool nodad)
{
	struct rtnl_addr *a;
	struct nl_addr *local;
	int r;

	a = rtnl_addr_alloc();
	if (!a)
		return -ENOMEM;
	local = nladdr_from(p);
	if (!local) {
		rtnl_addr_put(a);
		return -ENOMEM;
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, p->family);
	r = rtnl_addr_set_local(a, local);
	nl_addr_put(local);
	if (r < 0) {
		rtnl_addr_put(a);
		return netlink_nle_to_errno(r);
	}
	rtnl_addr_set_prefixlen(a, p->len);
	if (nodad && p->family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	nl_request_begin(nl);
	if (add)
		r = nl_result(nl, rtnl_addr_add(nl->sk, a, NLM_F_EXCL));
	else
		r = nl_result(nl, rtnl_addr_delete(nl->sk, a, 0));
	rtnl_addr_put(a);
	return r;
}

int netlink_addr_add(struct netlink *nl, int ifindex, const struct in_prefix *addr, bool nodad)
{
	return addr_change(nl, ifindex, addr, true, nodad);
}

int netlink_addr_del(struct netlink *nl, int ifindex, const struct in_prefix *addr)
{
	return addr_change(nl, ifindex, addr, false, false);
}

static void addr_foreach_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct foreach_ctx *c = arg;
	struct in_prefix p;

	if (c->r)
		return;
	if (c->ifindex && rtnl_addr_get_ifindex(a) != c->ifindex)
		return;
	if (rtnl_addr_get_family(a) != AF_INET && rtnl_addr_get_family(a) != AF_INET6)
		return;
	prefix_from_nladdr(rtnl_addr_get_local(a), rtnl_addr_get_family(a), &p);
	p.len = (uint8_t)rtnl_addr_get_prefixlen(a);
	c->r = c->addr_fn(rtnl_addr_get_ifindex(a), &p, rtnl_addr_get_flags(a), c->data);
}

int netlink_addr_foreach(struct netlink *nl, int ifindex, netlink_addr_fn fn, void *data)
{
	struct foreach_ctx c = { .addr_fn = fn, .data = data, .ifindex = ifindex };
	struct nl_cache *cache = NULL;

	nl_request_begin(nl);
	return foreach_cached(nl, rtnl_addr_alloc_cache(nl->sk, &cache), &cache, addr_foreach_cb,
			      &c);
}

struct addr_find {
	const struct in_prefix *want;
	bool found;
};

static int addr_find_cb(int ifindex, const struct in_prefix *addr, uint32_t flags, void *data)
{
	struct addr_find *f = data;

	if (addr_prefix_equal(addr, f->want))
		f->found = true;
	return 0;
}

int netlink_addr_exists(struct netlink *nl, int ifindex, const struct in_prefix *addr)
{
	struct addr_find f = { .want = addr };
	int r;

	r = netlink_addr_foreach(nl, ifindex, addr_find_cb, &f);
	return r < 0 ? r : f.found;
}

static struct rtnl_route *route_build(const struct route_spec *rs)
{
	struct rtnl_route *rt;
	struct nl_addr *dst;

	rt = rtnl_route_alloc();
	if (!rt)
		return NULL;
	dst = nladdr_from(&rs->dst);
	if (!dst) {
		rtnl_route_put(rt);
		return NULL;
	}
	rtnl_route_set_family(rt, (uint8_t)rs->dst.family);
	rtnl_route_set_dst(rt, dst);
	nl_addr_put(dst);
	rtnl_route_set_table(rt, rs->table ?: RT_TABLE_MAIN);
	rtnl_route_set_type(rt, rs->type ?: RTN_UNICAST);
	rtnl_route_set_scope(rt, rs->scope);
	rtnl_route_set_protocol(rt, rs->protocol ?: RTPROT_STATIC);
	if (rs->priority)
		rtnl_route_set_priority(rt, rs->priority);
	if (rs->mtu)
		rtnl_route_set_metric(rt, RTAX_MTU, rs->mtu);
	if (rs->advmss)
		rtnl_route_set_metric(rt, RTAX_ADVMSS, rs->advmss);
	if (rs->ifindex || rs->gw.family) {
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

		if (!nh) {
			rtnl_route_put(rt);
			return NULL;
		}
		if (rs->ifindex)
			rtnl_route_nh_set_ifindex(nh, rs->ifindex);
		if (rs->gw.family) {
			struct in_prefix gw = rs->gw;
			struct nl_addr *g;

			gw.len = (uint8_t)(addr_family_len(gw.family) * 8);
			g = nladdr_from(&gw);
			if (!g) {
				rtnl_route_nh_free(nh);
				rtnl_route_put(rt);
				return NULL;
			}
			rtnl_route_nh_set_gateway(nh, g);
			nl_addr_put(g);
		}
		if (rs->onlink)
			rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
		rtnl_route_add_nexthop(rt, nh);
	}
	return rt;
}

static int route_change(struct netlink *nl, const struct route_spec *route, bool add)
{
	struct rtnl_route *rt;
	int r;

	rt = route_build(route);
	if (!rt)
		return -ENOMEM;
	nl_request_begin(nl);
	r = nl_result(nl, add ? rtnl_route_add(nl->sk, rt, NLM_F_EXCL)
			      : rtnl_route_delete(nl->sk, rt, 0));
	rtnl_route_put(rt);
	return r;
}

int netlink_route_add(struct netlink *nl, const struct route_spec *route)
{
	return route_change(nl, route, true);
}

int netlink_route_del(struct netlink *nl, const struct route_spec *route)
{
	return route_change(nl, route, false);
}

static void route_foreach_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct foreach_ctx *c = arg;
	struct route_spec rs = {};
	int family = rtnl_route_get_family(rt);
	uint32_t v;

	if (c->r)
		return;
	prefix_from_nladdr(rtnl_route_get_dst(rt), family, &rs.dst);
	rs.type = rtnl_route_get_type(rt);
	rs.scope = rtnl_route_get_scope(rt);
	rs.protocol = rtnl_route_get_protocol(rt);
	rs.table = rtnl_route_get_table(rt);
	rs.priority = rtnl_route_get_priority(rt);
	if (rtnl_route_get_metric(rt, RTAX_MTU, &v) == 0)
		rs.mtu = v;
	if (rtnl_route_get_metric(rt, RTAX_ADVMSS, &v) == 0)
		rs.advmss = v;
	if (rtnl_route_get_nnexthops(rt) > 0) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
		struct nl_addr *g = rtnl_route_nh_get_gateway(nh);

		rs.ifindex = rtnl_route_nh_get_ifindex(nh);
		if (g && nl_addr_get_len(g) > 0) {
			prefix_from_nladdr(g, nl_addr_get_family(g), &rs.gw);
			rs.gw.len = (uint8_t)(addr_family_len(rs.gw.family) * 8);
		}
		rs.onlink = rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK;
	}
	c->r = c->route_fn(&rs, c->data);
}

int netlink_route_foreach(struct netlink *nl, int family, netlink_route_fn fn, void *data)
{
	struct foreach_ctx c = { .route_fn = fn, .data = data };
	struct nl_cache *cache = NULL;

	nl_request_begin(nl);
	return foreach_cached(nl, rtnl_route_alloc_cache(nl->sk, family, 0, &cache), &cache,
			      route_foreach_cb, &c);
}

struct route_find {
	const struct route_spec *want;
	bool found;
};

static int route_find_cb(const struct route_spec *have, void *data)
{
	struct route_find *f = data;

	if (netlink_route_equal(f->want, have))
		f->found = true;
	return 0;
}

int netlink_route_exists(struct netlink *nl, const struct route_spec *route)
{
	struct route_find f = { .want = route };
	int r;

	r = netlink_route_foreach(nl, route->dst.family, route_find_cb, &f);
	return r < 0 ? r : f.found;
}

bool netlink_route_equal(const struct route_spec *want, const struct route_spec *have)
{
	if (!addr_prefix_equal(&want->dst, &have->dst))
		return false;
	if ((want->table ?: RT_TABLE_MAIN) != have->table)
		return false;
	if ((want->type ?: RTN_UNICAST) != have->type)
		return false;
	if (want->gw.family != have->gw.family)
		return false;
	if (want->gw.family &&
	    memcmp(want->gw.u.bytes, have->gw.u.bytes, addr_family_len(want->gw.family)) != 0)
		return false;
	if (want->ifindex && want->ifindex != have->ifindex)
		return false;
	if (want->priority && want->priority != have->priority)
		return false;
	if (want->mtu != have->mtu || want->advmss != have->advmss)
		return false;
	return true;
}

const char *netlink_route_format(const struct route_spec *rs, char *buf, size_t size)
{
	char dst[ADDR_PREFIX_STRLEN], gw[INET6_ADDRSTRLEN];
	const char *type = "";
	size_t n;

	if (rs->type == RTN_UNREACHABLE)
		type = "unreachable ";
	else if (rs->type == RTN_BLACKHOLE)
		type = "blackhole ";
	else if (rs->type == RTN_PROHIBIT)
		type = "prohibit ";
	if (rs->dst.len == 0)
		snprintf(dst, sizeof(dst), "default");
	else
		addr_prefix_format(&rs->dst, dst, sizeof(dst));
	n = (size_t)snprintf(buf, size, "%s%s", type, dst);
	if (rs->gw.family && n < size)
		n += (size_t)snprintf(buf + n, size - n, " via %s",
				      addr_ip_format(&rs->gw, gw, sizeof(gw)));
	if (rs->table && rs->table != RT_TABLE_MAIN && n < size)
		n += (size_t)snprintf(buf + n, size - n, " table %u", rs->table);
	if (rs->priority && n < size)
		n += (size_t)snprintf(buf + n, size - n, " metric %u", rs->priority);
	if (rs->mtu && n < size)
		n += (size_t)snprintf(buf + n, size - n, " mtu %u", rs->mtu);
	if (rs->advmss && n < size)
		snprintf(buf + n, size - n, " advmss %u", rs->advmss);
	return buf;
}

/* --- requests libnl has no object for: built and read here ----------------------------------- */

/* Room for a request's header, its family header and a few u32 attributes. */
struct raw_req {
	struct nlmsghdr nlh;
	union {
		struct ifinfomsg ifi;
		struct rtgenmsg gen;
	};
	char attrs[4 * RTA_SPACE(sizeof(uint32_t))];
};

static void raw_req_init(struct netlink *nl, struct raw_req *q, uint16_t type, uint16_t flags,
			 size_t family_len)
{
	memset(q, 0, sizeof(*q));
	q->nlh.nlmsg_len = NLMSG_LENGTH(family_len);
	q->nlh.nlmsg_type = type;
	q->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	q->nlh.nlmsg_seq = ++nl->raw_seq;
}

static void raw_put_u32(struct raw_req *q, uint16_t type, uint32_t v)
{
	struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->nlh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(sizeof(v));
	memcpy(RTA_DATA(a), &v, sizeof(v));
	q->nlh.nlmsg_len = NLMSG_ALIGN(q->nlh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int raw_send(struct netlink *nl, const void *buf, size_t len)
{
	ssize_t n = send(nl_socket_get_fd(nl->sk), buf, len, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* One datagram of answers; 0 at the socket's timeout is -ETIMEDOUT. */
static ssize_t raw_recv(struct netlink *nl, void *buf, size_t size)
{
	ssize_t n;

	do
		n = recv(nl_socket_get_fd(nl->sk), buf, size, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	return n;
}

/*
 * Send one request and hand each answer of its sequence number to fn, until the kernel's
 * acknowledgement (its errno is returned) or, for a request without NLM_F_ACK, the first answer.
 */
static int raw_call(struct netlink *nl, struct raw_req *q,
		    void (*fn)(const struct nlmsghdr *nlh, void *data), void *data)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool acked = q->nlh.nlmsg_flags & NLM_F_ACK;
	int r;

	nl_request_begin(nl);
	r = raw_send(nl, q, q->nlh.nlmsg_len);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = raw_recv(nl, buf, sizeof(buf));
		size_t len;

		if (n < 0)
			return (int)n;
		len = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != q->nlh.nlmsg_seq)
				continue; /* a late answer of an earlier request */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				nl->last_errno = -e->error;
				return e->error;
			}
			fn(h, data);
			if (!acked)
				return 0;
		}
	}
}

struct nsid_answer {
	int nsid;
};

static void nsid_cb(const struct nlmsghdr *h, void *data)
{
	const struct rtgenmsg *g = NLMSG_DATA(h);
	struct nsid_answer *a = data;
	size_t len;

	if (h->nlmsg_type != RTM_NEWNSID || h->nlmsg_len < NLMSG_LENGTH(sizeof(*g)))
		return;
	len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*g));
	for (const struct rtattr *rta =
		     (const struct rtattr *)((const char *)g + NLMSG_ALIGN(sizeof(*g)));
	     RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == NETNSA_NSID && RTA_PAYLOAD(rta) >= sizeof(int32_t))
			memcpy(&a->nsid, RTA_DATA(rta), sizeof(int32_t));
}

int netlink_nsid(struct netlink *nl, int netns_fd, int *ret_nsid)
{
	struct nsid_answer a = { .nsid = -1 };
	struct raw_req q;
	int r;

	/* Ask for one to be given (EEXIST: it has one), then for the one it has. */
	raw_req_init(nl, &q, RTM_NEWNSID, NLM_F_ACK, sizeof(q.gen));
	raw_put_u32(&q, NETNSA_FD, (uint32_t)netns_fd);
	raw_put_u32(&q, NETNSA_NSID, (uint32_t)-1);
	r = raw_call(nl, &q, nsid_cb, &a);
	if (r < 0 && r != -EEXIST)
		return r;
	raw_req_init(nl, &q, RTM_GETNSID, 0, sizeof(q.gen));
	raw_put_u32(&q, NETNSA_FD, (uint32_t)netns_fd);
	r = raw_call(nl, &q, nsid_cb, &a);
	if (r < 0)
		return r;
	if (a.nsid < 0)
		return -ENOENT;
	*ret_nsid = a.nsid;
	return 0;
}

/* The members of link_info an RTM_NEWLINK carries; -ENODATA without IFLA_STATS64. */
static int link_info_parse(const struct nlmsghdr *h, struct link_info *ret)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	bool stats = false;
	size_t len;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return -EPROTO;
	*ret = (struct link_info){ .ifindex = ifi->ifi_index, .flags = ifi->ifi_flags };
	len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	for (const struct rtattr *rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t n = RTA_PAYLOAD(rta);

		switch (rta->rta_type) {
		case IFLA_ADDRESS:
			if (n == ADDR_MAC_LEN) {
				memcpy(ret->mac, RTA_DATA(rta), ADDR_MAC_LEN);
				ret->has_mac = true;
			}
			break;
		case IFLA_IFNAME:
			memcpy(ret->ifname, RTA_DATA(rta), MIN(n, sizeof(ret->ifname) - 1));
			break;
		case IFLA_MTU:
			if (n >= sizeof(uint32_t))
				memcpy(&ret->mtu, RTA_DATA(rta), sizeof(uint32_t));
			break;
		case IFLA_OPERSTATE:
			if (n >= 1)
				ret->operstate = *(const uint8_t *)RTA_DATA(rta);
			break;
		case IFLA_STATS64: {
			struct rtnl_link_stats64 s;

			if (n < sizeof(s))
				return -EPROTO;
			memcpy(&s, RTA_DATA(rta), sizeof(s));
			ret->stats = (struct link_stats){
				.rx_bytes = s.rx_bytes,
				.rx_packets = s.rx_packets,
				.rx_errors = s.rx_errors,
				.rx_dropped = s.rx_dropped,
				.tx_bytes = s.tx_bytes,
				.tx_packets = s.tx_packets,
				.tx_errors = s.tx_errors,
				.tx_dropped = s.tx_dropped,
			};
			stats = true;
			break;
		}
		}
	}
	return stats ? 0 : -ENODATA;
}

/* Requests per send: the answers of one batch (about 1.5 KiB each) fit the receive buffer. */
#define LINK_QUERY_BATCH 32

int netlink_link_query(struct netlink *nl, struct netlink_link_query *q, unsigned int n)
{
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct raw_req reqs[LINK_QUERY_BATCH];

	for (unsigned int start = 0; start < n; start += LINK_QUERY_BATCH) {
		unsigned int batch = MIN(LINK_QUERY_BATCH, n - start), sent = 0, got = 0;
		uint32_t first = nl->raw_seq + 1;
		struct iovec iov[LINK_QUERY_BATCH];
		struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
		struct msghdr mh = { .msg_name = &kernel,
				     .msg_namelen = sizeof(kernel),
				     .msg_iov = iov };

		for (unsigned int i = 0; i < batch; i++) {
			struct netlink_link_query *x = &q[start + i];
			struct raw_req *r = &reqs[i];

			raw_req_init(nl, r, RTM_GETLINK, 0, sizeof(r->ifi));
			x->error = -ETIMEDOUT;
			if (x->nsid < 0 || x->ifindex <= 0) {
				x->error = -EINVAL; /* its sequence number is never answered */
				continue;
			}
			r->ifi.ifi_family = AF_UNSPEC;
			r->ifi.ifi_index = x->ifindex;
			raw_put_u32(r, IFLA_TARGET_NETNSID, (uint32_t)x->nsid);
			iov[mh.msg_iovlen++] =
				(struct iovec){ .iov_base = r, .iov_len = r->nlh.nlmsg_len };
			sent++;
		}
		if (sent == 0)
			continue;
		if (sendmsg(nl_socket_get_fd(nl->sk), &mh, 0) < 0)
			return -errno;
		while (got < sent) {
			ssize_t len = raw_recv(nl, buf, sizeof(buf));
			size_t left;

			/* A lost answer (ENOBUFS) or none in time: those keep their error. */
			if (len < 0)
				break;
			left = (size_t)len;
			for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
			     h = NLMSG_NEXT(h, left)) {
				uint32_t i = h->nlmsg_seq - first;
				struct netlink_link_query *x;

				if (i >= batch)
					continue; /* not of this batch (late) */
				x = &q[start + i];
				got++;
				if (h->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e = NLMSG_DATA(h);

					x->error =
						h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error
							? e->error
							: -EPROTO;
				} else if (h->nlmsg_type == RTM_NEWLINK) {
					x->error = link_info_parse(h, &x->info);
				}
			}
		}
	}
	return 0;
}

int netlink_set_rcvbuf(struct netlink *nl, int bytes, unsigned int timeout_ms)
{
	struct timeval tmo = { .tv_sec = timeout_ms / 1000,
			       .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
	int fd = nl_socket_get_fd(nl->sk);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0)
		return -errno;
	return RET_NERRNO(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)));
}

/* --- tc: redirects ------------------------------------------------------------------------ */

int netlink_clsact_add(struct netlink *nl, int ifindex)
{
	struct rtnl_qdisc *q;
	int r;

	q = rtnl_qdisc_alloc();
	if (!q)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_CLSACT);
	rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_CLSACT, 0));
	r = rtnl_tc_set_kind(TC_CAST(q), "clsact");
	if (r < 0) {
		rtnl_qdisc_put(q);
		return netlink_nle_to_errno(r);
	}
	nl_request_begin(nl);
	r = nl_result(nl, rtnl_qdisc_add(nl->sk, q, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_qdisc_put(q);
	return r == -EEXIST ? 0 : r;
}

/* A filter on the ingress hook of clsact, of priority prio. */
static struct rtnl_cls *ingress_cls(int ifindex, uint16_t prio)
{
	struct rtnl_cls *c = rtnl_cls_alloc();

	if (!c)
		return NULL;
	rtnl_tc_set_ifindex(TC_CAST(c), ifindex);
	rtnl_tc_set_parent(TC_CAST(c), TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
	rtnl_cls_set_prio(c, prio);
	return c;
}

int netlink_redirect_add(struct netlink *nl, int ifindex, uint16_t prio, int to_ifindex)
{
	struct rtnl_cls *c;
	struct rtnl_act *a;
	int r;

	c = ingress_cls(ifindex, prio);
	a = rtnl_act_alloc();
	if (!c || !a) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_cls_set_protocol(c, ETH_P_ALL);
	r = rtnl_tc_set_kind(TC_CAST(c), "u32");
	if (r >= 0)
		r = rtnl_tc_set_kind(TC_CAST(a), "mirred");
	/* match u32 0 0 at 0: every frame; terminal, as tc makes a u32 filter with actions */
	if (r >= 0)
		r = rtnl_u32_add_key_uint32(c, 0, 0, 0, 0);
	if (r >= 0)
		r = rtnl_u32_set_cls_terminal(c);
	if (r >= 0)
		r = rtnl_mirred_set_action(a, TCA_EGRESS_REDIR);
	if (r >= 0)
		r = rtnl_mirred_set_policy(a, TC_ACT_STOLEN);
	if (r >= 0) {
		rtnl_mirred_set_ifindex(a, (uint32_t)to_ifindex);
		r = rtnl_u32_add_action(c, a);
	}
	if (r < 0) {
		r = netlink_nle_to_errno(r);
		goto out;
	}
	nl_request_begin(nl);
	r = nl_result(nl, rtnl_cls_add(nl->sk, c, NLM_F_CREATE | NLM_F_EXCL));
out:
	if (a)
		rtnl_act_put(a);
	if (c)
		rtnl_cls_put(c);
	return r;
}

int netlink_redirect_del(struct netlink *nl, int ifindex, uint16_t prio)
{
	struct rtnl_cls *c = ingress_cls(ifindex, prio);
	int r;

	if (!c)
		return -ENOMEM;
	nl_request_begin(nl);
	r = nl_result(nl, rtnl_cls_delete(nl->sk, c, 0));
	rtnl_cls_put(c);
	/* No filter of that priority, or no clsact qdisc (or link) at all. */
	return r == -ENOENT || r == -EINVAL || r == -ENODEV ? 0 : r;
}

int netlink_redirect_exists(struct netlink *nl, int ifindex, uint16_t prio)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int r, found = 0;

	nl_request_begin(nl);
	r = nl_result(nl, rtnl_cls_alloc_cache(nl->sk, ifindex,
					       TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), &cache));
	if (r == -EINVAL || r == -ENOENT)
		return 0; /* no clsact qdisc */
	if (r < 0)
		return r;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_cls *c = (struct rtnl_cls *)o;
		const char *kind = rtnl_tc_get_kind(TC_CAST(c));

		if (rtnl_cls_get_prio(c) == prio && kind && streq(kind, "u32"))
			found = 1;
	}
	nl_cache_free(cache);
	return found;
}
