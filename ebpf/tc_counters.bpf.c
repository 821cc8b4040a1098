// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-task network counters: tc (clsact) programs on a task's ENI inside the task namespace.
 *
 * Every packet is counted once, by (task slot, flow, direction), in a per-CPU array: bytes
 * (skb->len, L2 header included, as veth and most drivers count), packets (skbs) and wire segments
 * (GSO). Egress is classified by the socket mark (tc_counters.h), and a marked TCP/UDP packet
 * teaches the flow table its connection so that the replies count for the same flow; port 2049 is
 * efs; everything else, non-IP included, is app, so the flows add up to the device's counters.
 * Egress packets with a source address the task was not given are dropped and counted as spoof.
 *
 * netd loads the object once per task, with the task's slot and addresses in .rodata, reusing
 * the pinned counters, drops, auxcnt and flowtab maps. With fixed_flow set, every packet goes to
 * that flow (a task's other links, e.g. its metadata link) and is also counted in auxcnt.
 * The programs never stop a packet except a spoofed one: they return TC_ACT_UNSPEC, so that
 * filters after them still run.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tc_counters.h"
#include "tc_common.bpf.h"

/* Knobs, set by netd before load (and slot and cookie, tc_common.bpf.h). */
const volatile __u32 fixed_flow = TC_FLOW_COUNT; /* < TC_FLOW_COUNT: count everything there */
const volatile __u32 check_source = 0;
const volatile __u32 n_addr4 = 0;
const volatile __u32 n_addr6 = 0;
const volatile __be32 addr4[TC_MAX_ADDRS] = {};
const volatile __be32 addr6[TC_MAX_ADDRS][4] = {};

/* Set once this instance has learned a connection: until then ingress skips the lookup. */
__u32 learned = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_DROP_ENTRIES);
	__type(key, __u32);
	__type(value, struct tc_count);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_AUX_ENTRIES);
	__type(key, __u32);
	__type(value, struct tc_count);
} auxcnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TC_FLOWTAB_ENTRIES);
	__type(key, struct tc_flow_key);
	__type(value, struct tc_flow_value);
} flowtab SEC(".maps");

static __always_inline int count(struct __sk_buff *skb, __u32 flow, __u32 dir)
{
	tc_add(&counters, TC_COUNTER_INDEX(slot, flow, dir), skb);
	if (fixed_flow < TC_FLOW_COUNT)
		tc_add(&auxcnt, TC_AUX_INDEX(slot, dir), skb);
	return TC_ACT_UNSPEC;
}

static __always_inline int drop(struct __sk_buff *skb, __u32 reason, __u32 dir)
{
	tc_add(&drops, TC_DROP_INDEX(slot, reason, dir), skb);
	return TC_ACT_SHOT;
}

static __always_inline bool addr4_given(__be32 a)
{
	for (__u32 i = 0; i < TC_MAX_ADDRS; i++) {
		if (i >= n_addr4)
			break;
		if (addr4[i] == a)
			return true;
	}
	return false;
}

static __always_inline bool addr6_given(const struct in6_addr *a)
{
	__be32 w0 = a->in6_u.u6_addr32[0], w1 = a->in6_u.u6_addr32[1];
	__be32 w2 = a->in6_u.u6_addr32[2], w3 = a->in6_u.u6_addr32[3];

	/* Link-local (fe80::/10) and the unspecified address (DAD) are every interface's. */
	if ((w0 & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000))
		return true;
	if (!(w0 | w1 | w2 | w3))
		return true;
	for (__u32 i = 0; i < TC_MAX_ADDRS; i++) {
		if (i >= n_addr6)
			break;
		if (addr6[i][0] == w0 && addr6[i][1] == w1 && addr6[i][2] == w2 &&
		    addr6[i][3] == w3)
			return true;
	}
	return false;
}

/* A marked packet teaches the table its connection (a lookup first: updates are dear). */
static __always_inline void learn(const struct tc_flow_key *k, __u32 flow)
{
	struct tc_flow_value v = { .flow = flow }, *have;

	have = bpf_map_lookup_elem(&flowtab, k);
	if (have && have->flow == flow)
		return;
	bpf_map_update_elem(&flowtab, k, &v, BPF_ANY);
	if (!learned)
		learned = 1;
}

/* The flow a marked connection's reply belongs to, or TC_FLOW_COUNT. */
static __always_inline __u32 learned_flow(const struct tc_flow_key *k)
{
	struct tc_flow_value *v = bpf_map_lookup_elem(&flowtab, k);

	return v && v->flow < TC_FLOW_COUNT ? v->flow : TC_FLOW_COUNT;
}

/*
 * The hot path decides the flow while it parses, keeping little alive: the mark is checked once
 * (magic and slot in one compare), the ports are one 32-bit word compared as on the wire, and a
 * flow key is built only to learn (a marked packet) or to look up (after something was learned).
 * IPv6 extension headers and IPv4 fragments after the first leave the ports unknown.
 */
SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 mark = skb->mark, flow = TC_FLOW_APP, *l4;
	bool marked = (mark >> 8) == (TC_MARK_MAGIC << 16 | slot) && (mark & 0xff) < TC_FLOW_COUNT;

	if (fixed_flow < TC_FLOW_COUNT)
		flow = fixed_flow;
	else if (marked)
		flow = mark & 0xff;
	if ((void *)(eth + 1) > end)
		return count(skb, flow, TC_DIR_TX);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return count(skb, flow, TC_DIR_TX);
		if (check_source && !addr4_given(ip->saddr))
			return drop(skb, TC_DROP_SPOOF, TC_DIR_TX);
		if (fixed_flow < TC_FLOW_COUNT ||
		    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
		    (ip->frag_off & bpf_htons(IP_OFFSET_MASK)) || ip->ihl < 5)
			return count(skb, flow, TC_DIR_TX);
		l4 = (void *)ip + ip->ihl * 4;
		if ((void *)(l4 + 1) > end)
			return count(skb, flow, TC_DIR_TX);
		if (marked) {
			if (flow != TC_FLOW_APP) {
				struct tc_flow_key k = {};

				tc_key4(&k, ip->protocol, ip->saddr, ip->daddr, *l4, true);
				learn(&k, flow);
			}
		} else if (tc_efs_ports(*l4)) {
			flow = TC_FLOW_EFS;
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return count(skb, flow, TC_DIR_TX);
		if (check_source && !addr6_given(&ip6->saddr))
			return drop(skb, TC_DROP_SPOOF, TC_DIR_TX);
		if (fixed_flow < TC_FLOW_COUNT ||
		    (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP))
			return count(skb, flow, TC_DIR_TX);
		l4 = (void *)(ip6 + 1);
		if ((void *)(l4 + 1) > end)
			return count(skb, flow, TC_DIR_TX);
		if (marked) {
			if (flow != TC_FLOW_APP) {
				struct tc_flow_key k = {};

				tc_key6(&k, ip6->nexthdr, &ip6->saddr, &ip6->daddr, *l4, true);
				learn(&k, flow);
			}
		} else if (tc_efs_ports(*l4)) {
			flow = TC_FLOW_EFS;
		}
	}
	return count(skb, flow, TC_DIR_TX);
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 flow = TC_FLOW_APP, *l4;

	if (fixed_flow < TC_FLOW_COUNT)
		return count(skb, fixed_flow, TC_DIR_RX);
	if ((void *)(eth + 1) > end)
		return count(skb, flow, TC_DIR_RX);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end ||
		    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
		    (ip->frag_off & bpf_htons(IP_OFFSET_MASK)) || ip->ihl < 5)
			return count(skb, flow, TC_DIR_RX);
		l4 = (void *)ip + ip->ihl * 4;
		if ((void *)(l4 + 1) > end)
			return count(skb, flow, TC_DIR_RX);
		if (learned) {
			struct tc_flow_key k = {};

			tc_key4(&k, ip->protocol, ip->daddr, ip->saddr, *l4, false);
			flow = learned_flow(&k);
			if (flow < TC_FLOW_COUNT)
				return count(skb, flow, TC_DIR_RX);
			flow = TC_FLOW_APP;
		}
		if (tc_efs_ports(*l4))
			flow = TC_FLOW_EFS;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end ||
		    (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP))
			return count(skb, flow, TC_DIR_RX);
		l4 = (void *)(ip6 + 1);
		if ((void *)(l4 + 1) > end)
			return count(skb, flow, TC_DIR_RX);
		if (learned) {
			struct tc_flow_key k = {};

			tc_key6(&k, ip6->nexthdr, &ip6->daddr, &ip6->saddr, *l4, false);
			flow = learned_flow(&k);
			if (flow < TC_FLOW_COUNT)
				return count(skb, flow, TC_DIR_RX);
			flow = TC_FLOW_APP;
		}
		if (tc_efs_ports(*l4))
			flow = TC_FLOW_EFS;
	}
	return count(skb, flow, TC_DIR_RX);
}

char LICENSE[] SEC("license") = "GPL";
