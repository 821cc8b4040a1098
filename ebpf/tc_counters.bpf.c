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

#define IP_OFFSET_MASK 0x1fff

/* Knobs, set by netd before load. */
const volatile __u32 slot = 0;
const volatile __u32 cookie = 0;
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
	__uint(max_entries, TC_COUNTER_ENTRIES);
	__type(key, __u32);
	__type(value, struct tc_count);
} counters SEC(".maps");

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

/* What the classification needs of a packet. */
struct pkt {
	struct iphdr *ip4;
	struct ipv6hdr *ip6;
	__u32 proto; /* IPPROTO_TCP or IPPROTO_UDP when the ports are known, else 0 */
	__u32 sport, dport;
};

static __always_inline void add(void *map, __u32 idx, struct __sk_buff *skb)
{
	struct tc_count *c = bpf_map_lookup_elem(map, &idx);
	__u32 segs;

	if (!c)
		return;
	segs = skb->gso_segs;
	c->bytes += skb->len;
	c->packets += 1;
	c->segs += segs > 1 ? segs : 1;
}

static __always_inline void count(struct __sk_buff *skb, __u32 flow, __u32 dir)
{
	add(&counters, TC_COUNTER_INDEX(slot, flow, dir), skb);
	if (fixed_flow < TC_FLOW_COUNT)
		add(&auxcnt, TC_AUX_INDEX(slot, dir), skb);
}

static __always_inline int drop(struct __sk_buff *skb, __u32 reason, __u32 dir)
{
	add(&drops, TC_DROP_INDEX(slot, reason, dir), skb);
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

static __always_inline void parse_ports(struct pkt *p, void *l4, void *end, __u32 proto)
{
	__be16 *ports = l4;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return;
	if ((void *)(ports + 2) > end)
		return;
	p->proto = proto;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
}

/*
 * Parse Ethernet, IPv4 or IPv6 and the TCP/UDP ports. On egress, check the source address:
 * returns false for a spoofed packet. IPv6 extension headers and IPv4 fragments after the first
 * leave the ports unknown.
 */
static __always_inline bool parse(struct __sk_buff *skb, struct pkt *p, bool egress)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return true;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return true;
		if (egress && check_source && !addr4_given(ip->saddr))
			return false;
		p->ip4 = ip;
		if (fixed_flow < TC_FLOW_COUNT)
			return true;
		if (ip->ihl >= 5 && !(ip->frag_off & bpf_htons(IP_OFFSET_MASK)))
			parse_ports(p, (void *)ip + ip->ihl * 4, end, ip->protocol);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return true;
		if (egress && check_source && !addr6_given(&ip6->saddr))
			return false;
		p->ip6 = ip6;
		if (fixed_flow < TC_FLOW_COUNT)
			return true;
		parse_ports(p, ip6 + 1, end, ip6->nexthdr);
	}
	return true;
}

/* The connection of a TCP/UDP packet, from the task's side. */
static __always_inline void flow_key(const struct pkt *p, bool egress, struct tc_flow_key *k)
{
	__u32 lport = egress ? p->sport : p->dport, rport = egress ? p->dport : p->sport;

	k->slot = slot;
	k->cookie = cookie;
	k->proto = p->proto;
	k->ports = lport << 16 | rport;
	if (p->ip4) {
		k->local[2] = bpf_htonl(0xffff);
		k->remote[2] = bpf_htonl(0xffff);
		k->local[3] = egress ? p->ip4->saddr : p->ip4->daddr;
		k->remote[3] = egress ? p->ip4->daddr : p->ip4->saddr;
	} else if (p->ip6) {
		const struct in6_addr *l = egress ? &p->ip6->saddr : &p->ip6->daddr;
		const struct in6_addr *r = egress ? &p->ip6->daddr : &p->ip6->saddr;

		__builtin_memcpy(k->local, l, sizeof(k->local));
		__builtin_memcpy(k->remote, r, sizeof(k->remote));
	}
}

static __always_inline void learn(const struct pkt *p, __u32 flow)
{
	struct tc_flow_key k = {};
	struct tc_flow_value v = { .flow = flow }, *have;

	flow_key(p, true, &k);
	have = bpf_map_lookup_elem(&flowtab, &k);
	if (have && have->flow == flow)
		return;
	bpf_map_update_elem(&flowtab, &k, &v, BPF_ANY);
	if (!learned)
		learned = 1;
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	__u32 flow = TC_FLOW_APP, mark;
	struct pkt p = {};

	if (!parse(skb, &p, true))
		return drop(skb, TC_DROP_SPOOF, TC_DIR_TX);
	if (fixed_flow < TC_FLOW_COUNT) {
		count(skb, fixed_flow, TC_DIR_TX);
		return TC_ACT_UNSPEC;
	}
	mark = skb->mark;
	if (TC_MARK_IS_OURS(mark) && TC_MARK_SLOT(mark) == slot &&
	    TC_MARK_FLOW(mark) < TC_FLOW_COUNT) {
		flow = TC_MARK_FLOW(mark);
		if (flow != TC_FLOW_APP && p.proto)
			learn(&p, flow);
	} else if (p.proto && (p.sport == TC_EFS_PORT || p.dport == TC_EFS_PORT)) {
		flow = TC_FLOW_EFS;
	}
	count(skb, flow, TC_DIR_TX);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	__u32 flow = TC_FLOW_APP;
	struct pkt p = {};

	parse(skb, &p, false);
	if (fixed_flow < TC_FLOW_COUNT) {
		count(skb, fixed_flow, TC_DIR_RX);
		return TC_ACT_UNSPEC;
	}
	if (p.proto) {
		struct tc_flow_value *v = NULL;

		if (learned) {
			struct tc_flow_key k = {};

			flow_key(&p, false, &k);
			v = bpf_map_lookup_elem(&flowtab, &k);
		}
		if (v && v->flow < TC_FLOW_COUNT)
			flow = v->flow;
		else if (p.sport == TC_EFS_PORT || p.dport == TC_EFS_PORT)
			flow = TC_FLOW_EFS;
	}
	count(skb, flow, TC_DIR_RX);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
