// SPDX-License-Identifier: GPL-2.0-only
/*
 * The platform ENI's counters: tc (clsact) programs on an ENI in a platform namespace, which
 * carries the platform flows (pull, auth, secrets, logs) of many tasks (platform version 1.3.0).
 *
 * Every packet is counted once in the platform ENI's own slot of the counters map, by flow and
 * direction, so that its flows add up to the device's counters as a task's do. A packet that
 * belongs to a task is also counted for that task in platcnt, under the task's slot (its share on
 * the platform ENI) and under the platform ENI's slot (everything it attributed):
 *
 *  - egress: a socket mark (tc_counters.h) gives the task's slot and the flow. The slot counts
 *    only if slotowner says a live task has it: a mark of a slot with no task, or of a task gone,
 *    is the platform's own. A marked TCP/UDP packet teaches platflows its connection with its
 *    owner and the owner's cookie;
 *  - ingress: a TCP/UDP packet of a learned connection belongs to its owner if the slot still
 *    has that owner (the cookie: a reply to a connection of an earlier task of the slot is the
 *    platform's own).
 *
 * Unmarked traffic (ARP, anything the platform sends for itself) is app, or efs by port 2049, and
 * the platform's own. No anti-spoofing: only the runtime sends from the platform namespace. The
 * programs return TC_ACT_UNSPEC: they never stop a packet.
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

/* Knobs (tc_common.bpf.h): slot is the platform ENI's own. */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_PLATCNT_ENTRIES);
	__type(key, __u32);
	__type(value, struct tc_count);
} platcnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TC_SLOTOWNER_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} slotowner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TC_PLATFLOWS_ENTRIES);
	__type(key, struct tc_flow_key);
	__type(value, struct tc_plat_value);
} platflows SEC(".maps");

/* Count a packet for the platform ENI, and for its owner when it has one. */
static __always_inline int count(struct __sk_buff *skb, __u32 flow, __u32 dir, __u32 owner)
{
	tc_add(&counters, TC_COUNTER_INDEX(slot, flow, dir), skb);
	if (owner < TC_SLOTS) {
		tc_add(&platcnt, TC_COUNTER_INDEX(owner, flow, dir), skb);
		tc_add(&platcnt, TC_COUNTER_INDEX(slot, flow, dir), skb);
	}
	return TC_ACT_UNSPEC;
}

/* The cookie of a slot's live task, or 0. */
static __always_inline __u32 owner_cookie(__u32 s)
{
	__u32 *c = bpf_map_lookup_elem(&slotowner, &s);

	return c ? *c : 0;
}

static __always_inline void learn(const struct tc_flow_key *k, __u32 flow, __u32 owner,
				  __u32 ocookie)
{
	struct tc_plat_value v = { .flow = flow, .owner = owner, .owner_cookie = ocookie };
	struct tc_plat_value *have = bpf_map_lookup_elem(&platflows, k);

	if (have && have->flow == flow && have->owner == owner && have->owner_cookie == ocookie)
		return;
	bpf_map_update_elem(&platflows, k, &v, BPF_ANY);
}

/* A reply: its learned flow and owner (if the owner's slot still has that task). */
static __always_inline int reply(struct __sk_buff *skb, const struct tc_flow_key *k, __u32 ports)
{
	struct tc_plat_value *v = bpf_map_lookup_elem(&platflows, k);

	if (v && v->flow < TC_FLOW_COUNT) {
		__u32 owner = v->owner;

		if (owner >= TC_SLOTS || owner_cookie(owner) != v->owner_cookie)
			owner = TC_NO_OWNER;
		return count(skb, v->flow, TC_DIR_RX, owner);
	}
	return count(skb, tc_efs_ports(ports) ? TC_FLOW_EFS : TC_FLOW_APP, TC_DIR_RX, TC_NO_OWNER);
}

SEC("tc")
int tc_platform_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tc_flow_key k = {};
	__u32 mark = skb->mark, flow = TC_FLOW_APP, owner = TC_NO_OWNER, ocookie = 0, *l4;
	bool marked = TC_MARK_IS_OURS(mark) && TC_MARK_FLOW(mark) < TC_FLOW_COUNT;

	if (marked) {
		__u32 s = TC_MARK_SLOT(mark);

		flow = TC_MARK_FLOW(mark);
		if (s < TC_SLOTS && s != slot) {
			ocookie = owner_cookie(s);
			if (ocookie)
				owner = s;
		}
	}
	if ((void *)(eth + 1) > end)
		return count(skb, flow, TC_DIR_TX, owner);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end ||
		    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
		    (ip->frag_off & bpf_htons(IP_OFFSET_MASK)) || ip->ihl < 5)
			return count(skb, flow, TC_DIR_TX, owner);
		l4 = (void *)ip + ip->ihl * 4;
		if ((void *)(l4 + 1) > end)
			return count(skb, flow, TC_DIR_TX, owner);
		if (!marked)
			return count(skb, tc_efs_ports(*l4) ? TC_FLOW_EFS : TC_FLOW_APP, TC_DIR_TX,
				     owner);
		tc_key4(&k, ip->protocol, ip->saddr, ip->daddr, *l4, true);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end ||
		    (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP))
			return count(skb, flow, TC_DIR_TX, owner);
		l4 = (void *)(ip6 + 1);
		if ((void *)(l4 + 1) > end)
			return count(skb, flow, TC_DIR_TX, owner);
		if (!marked)
			return count(skb, tc_efs_ports(*l4) ? TC_FLOW_EFS : TC_FLOW_APP, TC_DIR_TX,
				     owner);
		tc_key6(&k, ip6->nexthdr, &ip6->saddr, &ip6->daddr, *l4, true);
	} else {
		return count(skb, flow, TC_DIR_TX, owner);
	}
	/* Marked TCP/UDP: its replies are its owner's (or the platform's, with no owner). */
	learn(&k, flow, owner, ocookie);
	return count(skb, flow, TC_DIR_TX, owner);
}

SEC("tc")
int tc_platform_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tc_flow_key k = {};
	__u32 *l4;

	if ((void *)(eth + 1) > end)
		return count(skb, TC_FLOW_APP, TC_DIR_RX, TC_NO_OWNER);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end ||
		    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
		    (ip->frag_off & bpf_htons(IP_OFFSET_MASK)) || ip->ihl < 5)
			return count(skb, TC_FLOW_APP, TC_DIR_RX, TC_NO_OWNER);
		l4 = (void *)ip + ip->ihl * 4;
		if ((void *)(l4 + 1) > end)
			return count(skb, TC_FLOW_APP, TC_DIR_RX, TC_NO_OWNER);
		tc_key4(&k, ip->protocol, ip->daddr, ip->saddr, *l4, false);
		return reply(skb, &k, *l4);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end ||
		    (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP))
			return count(skb, TC_FLOW_APP, TC_DIR_RX, TC_NO_OWNER);
		l4 = (void *)(ip6 + 1);
		if ((void *)(l4 + 1) > end)
			return count(skb, TC_FLOW_APP, TC_DIR_RX, TC_NO_OWNER);
		tc_key6(&k, ip6->nexthdr, &ip6->daddr, &ip6->saddr, *l4, false);
		return reply(skb, &k, *l4);
	}
	return count(skb, TC_FLOW_APP, TC_DIR_RX, TC_NO_OWNER);
}

char LICENSE[] SEC("license") = "GPL";
