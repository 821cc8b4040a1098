// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's network from the kernel command line, over rtnetlink with nothing but libc: lo
 * up; each tp.net interface found by its MAC address, renamed (eth1 as in a Fargate task), its
 * MTU set, addressed and brought up; then the tp.route routes. Requests are built iproute2's
 * way, one stack struct with attributes appended, and each is acknowledged before the next.
 */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

struct nl {
	int fd;
	uint32_t seq;
};

struct nl_req {
	struct nlmsghdr n;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rtm;
	};
	char buf[512];
};

static int addattr(struct nlmsghdr *n, size_t max, unsigned short type, const void *data,
		   size_t len)
{
	size_t total = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(RTA_LENGTH(len));
	struct rtattr *rta;

	if (total > max)
		return -EMSGSIZE;
	rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	n->nlmsg_len = total;
	return 0;
}

static int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(nl->fd);
		return r;
	}
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

/* Send a request with NLM_F_ACK and wait for its acknowledgement: 0 or the kernel's -errno. */
static int nl_talk(struct nl *nl, struct nlmsghdr *n)
{
	char buf[8192];
	ssize_t len;

	n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	n->nlmsg_seq = ++nl->seq;
	if (send(nl->fd, n, n->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		len = recv(nl->fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
		}
	}
}

/* The index and name of the link with this MAC address (a dump of every link). */
static int link_by_mac(struct nl *nl, const uint8_t mac[6], int *ret_index, char *ret_name)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg ifi;
	} req = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.n.nlmsg_type = RTM_GETLINK,
		.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.n.nlmsg_seq = ++nl->seq,
		.ifi.ifi_family = AF_UNSPEC,
	};
	char buf[16384];
	int found = -ENODEV;
	ssize_t len;

	if (send(nl->fd, &req, req.n.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		len = recv(nl->fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			const uint8_t *addr = NULL;
			const char *name = NULL;
			struct rtattr *a;
			int alen;

			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return found;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error ?: found;
			if (h->nlmsg_type != RTM_NEWLINK)
				continue;
			alen = IFLA_PAYLOAD(h);
			for (a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6)
					addr = RTA_DATA(a);
				else if (a->rta_type == IFLA_IFNAME)
					name = RTA_DATA(a);
			}
			if (found < 0 && addr && name && memcmp(addr, mac, 6) == 0 &&
			    ifi->ifi_type == ARPHRD_ETHER) {
				*ret_index = ifi->ifi_index;
				strncpy(ret_name, name, IFNAMSIZ - 1);
				ret_name[IFNAMSIZ - 1] = '\0';
				found = 0;
			}
		}
	}
}

/* Name, MTU and up/down of a link. */
static int link_set(struct nl *nl, int index, const char *name, uint32_t mtu, bool up)
{
	struct nl_req req = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.n.nlmsg_type = RTM_NEWLINK,
		.ifi.ifi_family = AF_UNSPEC,
		.ifi.ifi_index = index,
		.ifi.ifi_change = IFF_UP,
		.ifi.ifi_flags = up ? IFF_UP : 0,
	};
	int r = 0;

	if (name)
		r = addattr((struct nlmsghdr *)&req, sizeof(req), IFLA_IFNAME, name,
			    strlen(name) + 1);
	if (r == 0 && mtu)
		r = addattr((struct nlmsghdr *)&req, sizeof(req), IFLA_MTU, &mtu, sizeof(mtu));
	return r < 0 ? r : nl_talk(nl, &req.n);
}

static int addr_add(struct nl *nl, int index, uint32_t addr, uint8_t prefixlen)
{
	struct nl_req req = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
		.n.nlmsg_type = RTM_NEWADDR,
		.n.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL,
		.ifa.ifa_family = AF_INET,
		.ifa.ifa_prefixlen = prefixlen,
		.ifa.ifa_index = index,
		.ifa.ifa_scope = RT_SCOPE_UNIVERSE,
	};
	int r;

	r = addattr((struct nlmsghdr *)&req, sizeof(req), IFA_LOCAL, &addr, 4);
	if (r == 0)
		r = addattr((struct nlmsghdr *)&req, sizeof(req), IFA_ADDRESS, &addr, 4);
	return r < 0 ? r : nl_talk(nl, &req.n);
}

static int route_add(struct nl *nl, const struct vm_guest_route *rt, int index)
{
	struct nl_req req = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.n.nlmsg_type = RTM_NEWROUTE,
		.n.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL,
		.rtm.rtm_family = AF_INET,
		.rtm.rtm_dst_len = rt->prefixlen,
		.rtm.rtm_table = RT_TABLE_MAIN,
		.rtm.rtm_protocol = RTPROT_BOOT,
		.rtm.rtm_scope = rt->gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
		.rtm.rtm_type = RTN_UNICAST,
	};
	uint32_t oif = index;
	int r = 0;

	if (rt->prefixlen)
		r = addattr((struct nlmsghdr *)&req, sizeof(req), RTA_DST, &rt->dst, 4);
	if (r == 0 && rt->gateway)
		r = addattr((struct nlmsghdr *)&req, sizeof(req), RTA_GATEWAY, &rt->gateway, 4);
	if (r == 0)
		r = addattr((struct nlmsghdr *)&req, sizeof(req), RTA_OIF, &oif, sizeof(oif));
	return r < 0 ? r : nl_talk(nl, &req.n);
}

int guest_net_setup(const struct vm_guest_config *c)
{
	int ifindex[VM_NICS_MAX], r;
	struct nl nl;
	size_t i, j;

	r = nl_open(&nl);
	if (r < 0) {
		guest_log("netlink: %s", strerror(-r));
		return r;
	}
	r = link_set(&nl, 1, NULL, 0, true);
	if (r < 0) {
		guest_log("lo up: %s", strerror(-r));
		goto out;
	}
	/*
	 * Found by MAC and renamed in two rounds, through names of our own: the kernel's names
	 * (eth0, eth1, ...) may be the ones wanted by other NICs.
	 */
	for (i = 0; i < c->n_nics; i++) {
		const struct vm_guest_nic *nic = &c->nics[i];
		char name[IFNAMSIZ], tmp[IFNAMSIZ];

		r = link_by_mac(&nl, nic->mac, &ifindex[i], name);
		if (r < 0) {
			guest_log("%s: no interface with MAC %02x:%02x:%02x:%02x:%02x:%02x: %s",
				  nic->ifname, nic->mac[0], nic->mac[1], nic->mac[2], nic->mac[3],
				  nic->mac[4], nic->mac[5], strerror(-r));
			goto out;
		}
		snprintf(tmp, sizeof(tmp), "tpnic%zu", i);
		r = link_set(&nl, ifindex[i], tmp, 0, false);
		if (r < 0) {
			guest_log("%s (was %s): rename: %s", nic->ifname, name, strerror(-r));
			goto out;
		}
	}
	for (i = 0; i < c->n_nics; i++) {
		const struct vm_guest_nic *nic = &c->nics[i];

		r = link_set(&nl, ifindex[i], nic->ifname, nic->mtu, false);
		if (r == 0)
			r = addr_add(&nl, ifindex[i], nic->addr, nic->prefixlen);
		if (r == 0)
			r = link_set(&nl, ifindex[i], NULL, 0, true);
		if (r < 0) {
			guest_log("%s: %s", nic->ifname, strerror(-r));
			goto out;
		}
		guest_debug("%s: up, MTU %u", nic->ifname, nic->mtu);
	}
	for (i = 0; i < c->n_routes; i++) {
		for (j = 0; j < c->n_nics; j++)
			if (strcmp(c->routes[i].ifname, c->nics[j].ifname) == 0)
				break;
		r = route_add(&nl, &c->routes[i], ifindex[j]);
		if (r < 0) {
			guest_log("route %zu via %s: %s", i, c->routes[i].ifname, strerror(-r));
			goto out;
		}
	}
	r = 0;
out:
	close(nl.fd);
	return r;
}
