/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the counting tc programs (tc_counters.bpf.c, a task's; tc_platform.bpf.c, a platform
 * ENI's) share, BPF side only: the pinned counters map both count in, a packet added to a
 * counter, the EFS port test, a connection's flow key, and the two knobs that key needs.
 * Included after the UAPI headers, bpf_helpers.h, bpf_endian.h and tc_counters.h.
 */
#ifndef TP_TC_COMMON_BPF_H
#define TP_TC_COMMON_BPF_H

#define IP_OFFSET_MASK 0x1fff

/* Knobs, set by netd before load: the slot counted in, and its attach's cookie. */
const volatile __u32 slot = 0;
const volatile __u32 cookie = 0;

/* Every packet, by (slot, flow, direction): one pinned map for every program (tc_counters.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_COUNTER_ENTRIES);
	__type(key, __u32);
	__type(value, struct tc_count);
} counters SEC(".maps");

/* Count skb in map's entry idx: bytes (L2 header included), packets and wire segments (GSO). */
static __always_inline void tc_add(void *map, __u32 idx, struct __sk_buff *skb)
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

/* Either port is NFS's; ports is the first word of a TCP or UDP header, as on the wire. */
static __always_inline bool tc_efs_ports(__u32 ports)
{
	return (ports & 0xffff) == bpf_htons(TC_EFS_PORT) ||
	       (ports >> 16) == bpf_htons(TC_EFS_PORT);
}

/* The connection of a TCP/UDP packet from the local side (the ENI's), under the slot and the
 * cookie; ports: as on the wire; egress: the packet's source is local. */
static __always_inline void tc_key_ports(struct tc_flow_key *k, __u32 proto, __u32 ports,
					 bool egress)
{
	__u32 sport = bpf_ntohs(ports & 0xffff), dport = bpf_ntohs(ports >> 16);

	k->slot = slot;
	k->cookie = cookie;
	k->proto = proto;
	k->ports = egress ? sport << 16 | dport : dport << 16 | sport;
}

/* The same for IPv4 (as IPv4-mapped IPv6 addresses). */
static __always_inline void tc_key4(struct tc_flow_key *k, __u32 proto, __be32 local, __be32 remote,
				    __u32 ports, bool egress)
{
	tc_key_ports(k, proto, ports, egress);
	k->local[2] = bpf_htonl(0xffff);
	k->remote[2] = bpf_htonl(0xffff);
	k->local[3] = local;
	k->remote[3] = remote;
}

/* The same for IPv6. */
static __always_inline void tc_key6(struct tc_flow_key *k, __u32 proto,
				    const struct in6_addr *local, const struct in6_addr *remote,
				    __u32 ports, bool egress)
{
	tc_key_ports(k, proto, ports, egress);
	__builtin_memcpy(k->local, local, sizeof(k->local));
	__builtin_memcpy(k->remote, remote, sizeof(k->remote));
}

#endif
