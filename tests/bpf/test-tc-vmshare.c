// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF tests of ebpf/tc_vmshare.bpf.c, the READY_PULL sharing of a task VM's ENI, on crafted
 * frames (bpf_prog_test_run_opts) in a network namespace of the test's own, with real sockets
 * there: a packet of a connected TCP socket or of a bound UDP socket stays on the host
 * (TC_ACT_OK), one for a listener or for no socket goes on to the VM's redirect
 * (TC_ACT_UNSPEC), ARP goes to both (TC_ACT_OK and a copy). Needs root; exits 77 without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "tc_vmshare.skel.h"
#include "util.h"

static struct tc_vmshare *skel;

struct pkt {
	uint8_t data[256];
	uint32_t len;
};

static void frame(struct pkt *p, uint16_t proto)
{
	memset(p->data, 0, sizeof(p->data));
	p->data[0] = 0x02;
	p->data[6] = 0x02;
	p->data[12] = (uint8_t)(proto >> 8);
	p->data[13] = (uint8_t)proto;
	p->len = 14;
}

static void l4(uint8_t *h, int proto, uint16_t sport, uint16_t dport)
{
	h[0] = (uint8_t)(sport >> 8);
	h[1] = (uint8_t)sport;
	h[2] = (uint8_t)(dport >> 8);
	h[3] = (uint8_t)dport;
	if (proto == IPPROTO_TCP) {
		h[12] = 5 << 4;
		h[13] = 0x10; /* ACK */
	} else {
		h[5] = 8;
	}
}

static void v4(struct pkt *p, int proto, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport)
{
	uint8_t *ip = p->data + 14;
	uint32_t hl = proto == IPPROTO_TCP ? 20 : 8;

	frame(p, ETH_P_IP);
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + hl);
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	assert_int_equal(inet_pton(AF_INET, src, ip + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
	l4(ip + 20, proto, sport, dport);
	p->len = 14 + 20 + hl;
}

static void v6(struct pkt *p, int proto, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport)
{
	uint8_t *ip = p->data + 14;
	uint32_t hl = proto == IPPROTO_TCP ? 20 : 8;

	frame(p, ETH_P_IPV6);
	ip[0] = 0x60;
	ip[5] = (uint8_t)hl;
	ip[6] = (uint8_t)proto;
	ip[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
	l4(ip + 40, proto, sport, dport);
	p->len = 14 + 40 + hl;
}

static int run(const struct pkt *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data, .data_size_in = p->len, .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tc_vmshare), &o), 0);
	return (int)o.retval;
}

/* A socket of the namespace bound to addr:port (0: any), of type type and family. */
static int sock_bound(int family, int type, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int fd, one = 1;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void connect_to(int fd, int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = {};
	socklen_t len;

	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
}

static void test_tcp_connection_stays_listener_does_not(void **state)
{
	int lfd, cfd, afd;
	uint16_t lport, cport;
	struct pkt p;

	lfd = sock_bound(AF_INET, SOCK_STREAM, "127.0.0.1", 0);
	assert_int_equal(listen(lfd, 4), 0);
	lport = local_port(lfd);
	cfd = sock_bound(AF_INET, SOCK_STREAM, "127.0.0.1", 0);
	connect_to(cfd, AF_INET, "127.0.0.1", lport);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(afd >= 0);
	cport = local_port(cfd);

	/* A reply to the namespace's own connection (a pull): the host's. */
	v4(&p, IPPROTO_TCP, "127.0.0.1", lport, "127.0.0.1", cport);
	assert_int_equal(run(&p), TC_ACT_OK);
	/* To the listener from a port of no connection: the VM's (a listener is no pull). */
	v4(&p, IPPROTO_TCP, "127.0.0.1", 40000, "127.0.0.1", lport);
	assert_int_equal(run(&p), TC_ACT_UNSPEC);
	/* No socket at all. */
	v4(&p, IPPROTO_TCP, "127.0.0.1", lport, "127.0.0.1", 1);
	assert_int_equal(run(&p), TC_ACT_UNSPEC);
	close(afd);
	close(cfd);
	close(lfd);
	/* Gone with its socket. */
	v4(&p, IPPROTO_TCP, "127.0.0.1", lport, "127.0.0.1", cport);
	assert_int_equal(run(&p), TC_ACT_UNSPEC);
}

static void test_udp_socket_stays(void **state)
{
	int fd = sock_bound(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
	uint16_t port = local_port(fd);
	struct pkt p;

	connect_to(fd, AF_INET, "127.0.0.2", 53);
	v4(&p, IPPROTO_UDP, "127.0.0.2", 53, "127.0.0.1", port);
	assert_int_equal(run(&p), TC_ACT_OK);
	/* Another port: the VM's. */
	v4(&p, IPPROTO_UDP, "127.0.0.2", 53, "127.0.0.1", (uint16_t)(port + 1));
	assert_int_equal(run(&p), TC_ACT_UNSPEC);
	close(fd);
}

static void test_ipv6(void **state)
{
	int fd = sock_bound(AF_INET6, SOCK_DGRAM, "::1", 0);
	uint16_t port = local_port(fd);
	struct pkt p;

	connect_to(fd, AF_INET6, "::1", 53);
	v6(&p, IPPROTO_UDP, "::1", 53, "::1", port);
	assert_int_equal(run(&p), TC_ACT_OK);
	v6(&p, IPPROTO_TCP, "::1", 443, "::1", port);
	assert_int_equal(run(&p), TC_ACT_UNSPEC);
	close(fd);
}

/* Packets lo (the stand-in tap) sent, in this namespace. */
static uint64_t lo_tx(void)
{
	struct ifaddrs *ifa, *i;
	uint64_t n = UINT64_MAX;

	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET &&
		    streq(i->ifa_name, "lo") && i->ifa_data)
			n = ((struct rtnl_link_stats *)i->ifa_data)->tx_packets;
	freeifaddrs(ifa);
	assert_true(n != UINT64_MAX);
	return n;
}

static void test_arp_to_both_the_rest_to_the_vm(void **state)
{
	uint64_t before;
	struct pkt p;

	frame(&p, ETH_P_ARP);
	p.len = 14 + 28;
	before = lo_tx();
	assert_int_equal(run(&p), TC_ACT_OK);
	assert_int_equal(lo_tx() - before, 1); /* the copy went out of the tap */
	before = lo_tx();
	/* Non-IP, ICMP, a short frame: the VM's. */
	frame(&p, 0x88cc);
	p.len = 60;
	assert_int_equal(run(&p), TC_ACT_UNSPEC);
	v4(&p, IPPROTO_ICMP, "127.0.0.1", 0, "127.0.0.1", 0);
	assert_int_equal(run(&p), TC_ACT_UNSPEC);
	assert_int_equal(lo_tx() - before, 0); /* copies of ARP only */
}

/* lo up in the test's namespace (the sockets above live there). */
static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (r == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_connection_stays_listener_does_not),
		cmocka_unit_test(test_udp_socket_stays),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_arp_to_both_the_rest_to_the_vm),
	};
	int r;

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (CAP_BPF, CAP_NET_ADMIN)\n");
		return 77;
	}
	/* A namespace of our own: its sockets, and the copy of ARP goes to its lo. */
	if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0) {
		printf("1..0 # SKIP cannot make a network namespace: %m\n");
		return 77;
	}
	skel = tc_vmshare__open();
	if (!skel) {
		printf("Bail out! Failed to open the program\n");
		return 1;
	}
	skel->rodata->tap_ifindex = if_nametoindex("lo");
	r = tc_vmshare__load(skel);
	if (r == -EPERM || r == -EACCES) {
		printf("1..0 # SKIP cannot load BPF programs: %s\n", strerror(-r));
		tc_vmshare__destroy(skel);
		return 77;
	}
	if (r < 0) {
		printf("Bail out! Failed to load the program: %s\n", strerror(-r));
		tc_vmshare__destroy(skel);
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	tc_vmshare__destroy(skel);
	return r;
}
