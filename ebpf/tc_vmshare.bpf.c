// SPDX-License-Identifier: GPL-2.0-only
/*
 * A task VM's ENI shared with the task namespace's own sockets while the task is READY_PULL
 * (docs/vm.md): a tc program on the ENI's ingress, after netd's counter program and before the
 * redirect of the VM wiring (netd/step-tap.c), attached only during READY_PULL.
 *
 *  - a TCP or UDP packet of a socket of the namespace (the runtime's pulls: a connection, or a
 *    bound UDP socket; not a listener, which would take the VM's connections) stays on the
 *    host: TC_ACT_OK, the redirect never sees it;
 *  - ARP goes to both: a copy to the tap, the frame to the namespace's stack;
 *  - everything else goes on to the redirect (TC_ACT_UNSPEC), to the VM.
 *
 * The namespace's ephemeral ports are moved out of the VM's (ip_local_port_range) so that a
 * host connection and one of the VM's never share a tuple.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define IP_OFFSET_MASK 0x1fff
#define ETH_P_ARP_BE   0x0608 /* htons(ETH_P_ARP) */

/* The tap the VM reads (set by netd before load). */
const volatile __u32 tap_ifindex = 0;

/* Whether the tuple (the packet's, seen from the namespace) is a socket of the namespace's. */
static __always_inline bool host_socket(struct __sk_buff *skb, struct bpf_sock_tuple *t, __u32 len,
					__u8 proto)
{
	struct bpf_sock *sk;
	bool host = false;

	if (proto == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(skb, t, len, BPF_F_CURRENT_NETNS, 0);
		if (sk) {
			host = sk->state != BPF_TCP_LISTEN;
			bpf_sk_release(sk);
		}
	} else {
		sk = bpf_sk_lookup_udp(skb, t, len, BPF_F_CURRENT_NETNS, 0);
		if (sk) {
			host = true;
			bpf_sk_release(sk);
		}
	}
	return host;
}

SEC("tc")
int tc_vmshare(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct bpf_sock_tuple t = {};
	__u32 *l4;

	if ((void *)(eth + 1) > end)
		return TC_ACT_UNSPEC;
	if (eth->h_proto == ETH_P_ARP_BE) {
		bpf_clone_redirect(skb, tap_ifindex, 0);
		return TC_ACT_OK;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl != 5 ||
		    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
		    (ip->frag_off & bpf_htons(IP_OFFSET_MASK)))
			return TC_ACT_UNSPEC;
		l4 = (void *)(ip + 1);
		if ((void *)(l4 + 1) > end)
			return TC_ACT_UNSPEC;
		/* The lookup's tuple is the packet's as it arrives: saddr the peer's. */
		t.ipv4.saddr = ip->saddr;
		t.ipv4.daddr = ip->daddr;
		t.ipv4.sport = (__be16)(*l4 & 0xffff);
		t.ipv4.dport = (__be16)(*l4 >> 16);
		return host_socket(skb, &t, sizeof(t.ipv4), ip->protocol) ? TC_ACT_OK
									  : TC_ACT_UNSPEC;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end ||
		    (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP))
			return TC_ACT_UNSPEC;
		l4 = (void *)(ip6 + 1);
		if ((void *)(l4 + 1) > end)
			return TC_ACT_UNSPEC;
		__builtin_memcpy(t.ipv6.saddr, &ip6->saddr, sizeof(t.ipv6.saddr));
		__builtin_memcpy(t.ipv6.daddr, &ip6->daddr, sizeof(t.ipv6.daddr));
		t.ipv6.sport = (__be16)(*l4 & 0xffff);
		t.ipv6.dport = (__be16)(*l4 >> 16);
		return host_socket(skb, &t, sizeof(t.ipv6), ip6->nexthdr) ? TC_ACT_OK
									  : TC_ACT_UNSPEC;
	}
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
