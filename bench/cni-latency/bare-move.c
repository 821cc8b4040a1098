// SPDX-License-Identifier: GPL-2.0-only
/*
 * bare-move: the kernel's floor for a CNI ADD or DEL of an ENI: one link moved into a network
 * namespace, taking a new name, and nothing else. Looks the link up by name and moves it with
 * one RTM_NEWLINK (IFLA_NET_NS_FD, IFLA_IFNAME) on a raw rtnetlink socket, acknowledged.
 *
 *   bare-move [-s SRCNS] IFNAME DSTNS NEWNAME     (-s: the link is in SRCNS; entered first)
 */
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>

#include "util.h"

struct req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char attrs[64];
};

static void put_attr(struct req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Send r and wait for its acknowledgement: 0 or -errno. */
static int talk(int fd, struct req *r)
{
	char buf[4096];
	ssize_t n;

	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
	     h = NLMSG_NEXT(h, n))
		if (h->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	return -EPROTO;
}

int main(int argc, char **argv)
{
	_cleanup_close_ int sock = -1, nsfd = -1;
	uint32_t fd32;
	struct req r;
	unsigned int idx;
	int i = 1, err;

	if (argc > 2 && streq(argv[1], "-s")) {
		_cleanup_close_ int src = open(argv[2], O_RDONLY | O_CLOEXEC);

		if (src < 0 || setns(src, CLONE_NEWNET) < 0) {
			fprintf(stderr, "bare-move: cannot enter '%s': %m\n", argv[2]);
			return 1;
		}
		i = 3;
	}
	if (argc - i != 3 || strlen(argv[i + 2]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: bare-move [-s SRCNS] IFNAME DSTNS NEWNAME\n");
		return 2;
	}
	idx = if_nametoindex(argv[i]);
	nsfd = open(argv[i + 1], O_RDONLY | O_CLOEXEC);
	sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (!idx || nsfd < 0 || sock < 0) {
		fprintf(stderr, "bare-move: %s: %m\n", !idx ? argv[i] : argv[i + 1]);
		return 1;
	}
	r = (struct req){
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nh.nlmsg_type = RTM_NEWLINK,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		.nh.nlmsg_seq = 1,
		.ifi.ifi_family = AF_UNSPEC,
		.ifi.ifi_index = (int)idx,
	};
	fd32 = (uint32_t)nsfd;
	put_attr(&r, IFLA_NET_NS_FD, &fd32, sizeof(fd32));
	put_attr(&r, IFLA_IFNAME, argv[i + 2], strlen(argv[i + 2]) + 1);
	err = talk(sock, &r);
	if (err < 0) {
		fprintf(stderr, "bare-move: moving '%s': %s\n", argv[i], strerror(-err));
		return 1;
	}
	return 0;
}
