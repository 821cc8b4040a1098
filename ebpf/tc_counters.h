/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The counter model shared by the tc programs (ebpf/tc_counters.bpf.c) and netd: flows,
 * directions, drop reasons, the socket mark encoding, and the keys and values of the pinned maps.
 * Struct members are __u32/__u64 only, so that both sides see one layout. docs/counters.md
 * explains the model.
 */
#ifndef TP_TC_COUNTERS_H
#define TP_TC_COUNTERS_H

#include <linux/types.h>

/* What the traffic was for. The ids are part of the socket mark encoding: never renumber. */
enum tc_flow {
	TC_FLOW_APP = 0,      /* everything not classified otherwise */
	TC_FLOW_PULL = 1,     /* image pull */
	TC_FLOW_AUTH = 2,     /* registry authentication */
	TC_FLOW_SECRETS = 3,  /* secrets retrieval */
	TC_FLOW_LOGS = 4,     /* log shipping */
	TC_FLOW_EFS = 5,      /* NFS, TCP/UDP port 2049 */
	TC_FLOW_METADATA = 6, /* the task metadata endpoint */
	TC_FLOW_COUNT = 7,
};

/* Seen from the task: rx is what the task received (tc ingress), tx what it sent (tc egress). */
enum tc_dir {
	TC_DIR_RX = 0,
	TC_DIR_TX = 1,
	TC_DIR_COUNT = 2,
};

/* Why a packet was dropped. The program produces spoof; the others are counted elsewhere
 * (nftables: the task's guards, netd's filter of the metadata links) and written into the same
 * map by netd. New reasons get new ids (the map grows: a map pinned by an older netd is refused). */
enum tc_drop {
	TC_DROP_SPOOF = 0,	     /* egress with a source address the task was not given */
	TC_DROP_IMDS = 1,	     /* the instance metadata service */
	TC_DROP_POLICY = 2,	     /* a network policy */
	TC_DROP_METADATA_FILTER = 3, /* the host side of the metadata link: not the endpoint */
	TC_DROP_COUNT = 4,
};

/* Tasks are numbered by a slot, 0..TC_SLOTS-1, unique among live tasks. */
#define TC_SLOTS 4096

/*
 * The socket mark of a socket opened for a task's flow: 0x54 in the top byte, the task's slot in
 * the next 16 bits, the flow in the low byte. SO_MARK needs CAP_NET_ADMIN, so only the runtime
 * can mark; a mark with another slot or an unknown flow is ignored.
 */
#define TC_MARK_MAGIC 0x54u
#define TC_MARK(slot, flow)                                                                        \
	((__u32)TC_MARK_MAGIC << 24 | ((__u32)(slot)&0xffff) << 8 | ((__u32)(flow)&0xff))
#define TC_MARK_IS_OURS(m) (((__u32)(m) >> 24) == TC_MARK_MAGIC)
#define TC_MARK_SLOT(m)	   (((__u32)(m) >> 8) & 0xffff)
#define TC_MARK_FLOW(m)	   ((__u32)(m)&0xff)

/* NFS is classified by port, either side. */
#define TC_EFS_PORT 2049

/* Anti-spoofing: at most this many addresses per family. */
#define TC_MAX_ADDRS 16

/* Index into the counters map (per-CPU array of struct tc_count). */
#define TC_COUNTER_INDEX(slot, flow, dir) (((slot)*TC_FLOW_COUNT + (flow)) * TC_DIR_COUNT + (dir))
#define TC_COUNTER_ENTRIES		  (TC_SLOTS * TC_FLOW_COUNT * TC_DIR_COUNT)
/* Index into the drops map (per-CPU array of struct tc_count). */
#define TC_DROP_INDEX(slot, reason, dir) (((slot)*TC_DROP_COUNT + (reason)) * TC_DIR_COUNT + (dir))
#define TC_DROP_ENTRIES			 (TC_SLOTS * TC_DROP_COUNT * TC_DIR_COUNT)
/* Index into the auxcnt map: what a task's other links (fixed flow) counted, per direction. */
#define TC_AUX_INDEX(slot, dir) ((slot)*TC_DIR_COUNT + (dir))
#define TC_AUX_ENTRIES		(TC_SLOTS * TC_DIR_COUNT)
/* Entries of the learned flow table (LRU hash, shared by every task). */
#define TC_FLOWTAB_ENTRIES 65536

/* One counter: skb->len bytes (L2 header included), skbs, and wire segments (GSO). */
struct tc_count {
	__u64 bytes;
	__u64 packets;
	__u64 segs;
};

/*
 * A connection of a task, from the task's side: egress learns it from a marked packet (local =
 * source), ingress looks it up (local = destination). IPv4 addresses are IPv4-mapped IPv6,
 * network byte order. cookie tells apart two tasks that had the same slot one after the other.
 */
struct tc_flow_key {
	__u32 slot;
	__u32 cookie;
	__u32 proto; /* IPPROTO_TCP, IPPROTO_UDP */
	__u32 ports; /* local port << 16 | remote port, host byte order */
	__u32 local[4];
	__u32 remote[4];
};

struct tc_flow_value {
	__u32 flow;
	__u32 unused;
};

/*
 * The platform ENI (ebpf/tc_platform.bpf.c): one ENI in a namespace of no task (platform version
 * 1.3.0) carries flows of many tasks, told apart by the slot in their sockets' marks.
 *
 * platcnt: per-CPU array indexed like counters (TC_COUNTER_INDEX): under a task's slot what
 * crossed a platform ENI for that task; under a platform ENI's own slot what that ENI attributed
 * to any task (so that its share stays known when a task's slot is zeroed for the next task).
 */
#define TC_PLATCNT_ENTRIES TC_COUNTER_ENTRIES
/* slotowner: array of TC_SLOTS __u32, the cookie of the live task of a slot (0: none). netd
 * writes it; a platform ENI attributes nothing to a slot without one. */
#define TC_SLOTOWNER_ENTRIES TC_SLOTS
/* platflows: LRU hash of the platform ENIs' connections, keyed by tc_flow_key with the platform
 * ENI's own slot and cookie: whose they are, for the replies. */
#define TC_PLATFLOWS_ENTRIES 16384
/* No task: the flow is the platform's own. */
#define TC_NO_OWNER 0xffffffffu

struct tc_plat_value {
	__u32 flow;
	__u32 owner;	    /* a task's slot, or TC_NO_OWNER */
	__u32 owner_cookie; /* that task's cookie (slotowner) when it was learned */
	__u32 unused;
};

#endif
