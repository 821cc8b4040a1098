/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The counters' BPF side: the tc programs of ebpf/tc_counters.bpf.c (a task's ENI) and
 * ebpf/tc_platform.bpf.c (a platform ENI), and their pinned maps. The maps (counters, drops,
 * auxcnt, flowtab, platcnt, slotowner, platflows) are pinned under a bpffs directory and shared by
 * every attachment; the programs are loaded once per attachment with its slot, a cookie and its
 * addresses in .rodata, and attached (tc clsact, fixed handle and priorities) to a link from
 * inside its namespace. Only the filters hold the programs: nothing of them stays open in netd,
 * so counting goes on while netd is down, and a new netd finds them again with bpf_tc_query.
 * docs/counters.md describes the model.
 */
#ifndef NETD_COUNTERS_BPF_H
#define NETD_COUNTERS_BPF_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "tc_counters.h"

struct counters_bpf;
struct counters_prog;
struct counters_load;

#define COUNTERS_DEFAULT_BPFFS	 "/sys/fs/bpf/netd"
#define COUNTERS_TC_HANDLE	 0x54
#define COUNTERS_TC_PRIO_INGRESS 1 /* first on ingress: the device counted the packet already */
#define COUNTERS_TC_PRIO_EGRESS	 0xfff0 /* last on egress: a packet a filter drops is not sent */
#define COUNTERS_LOAD_MAX_ADDRS	 16
/* The fixed_flow of a platform ENI's programs (tc_platform.bpf.c): they classify by the marks'
 * slots, not by the attachment's own. */
#define COUNTERS_PLATFORM (TC_FLOW_COUNT + 1)

/* bytes (skb->len, L2 included), packets (skbs), segs (wire segments of GSO packets) */
struct counters_pair {
	uint64_t bytes, packets, segs;
};

/* What the kernel counted for one slot, summed over CPUs. */
struct counters_snapshot {
	struct counters_pair flows[TC_FLOW_COUNT][TC_DIR_COUNT];
	struct counters_pair drops[TC_DROP_COUNT][TC_DIR_COUNT];
	struct counters_pair
		aux[TC_DIR_COUNT]; /* the part counted on the attachment's other links */
	/* A task's slot: what crossed a platform ENI for it; a platform ENI's slot: what it
	 * attributed to any task (platcnt). */
	struct counters_pair platform[TC_FLOW_COUNT][TC_DIR_COUNT];
};

/* The programs of one slot, loaded. */
struct counters_load_opts {
	unsigned int slot;
	uint32_t cookie; /* tells this attach's programs from an earlier one's */
	/* TC_FLOW_COUNT: classify (a task's ENI); < TC_FLOW_COUNT: every packet counts for it;
	 * COUNTERS_PLATFORM: a platform ENI's programs (addrs ignored) */
	unsigned int fixed_flow;
	/* anti-spoofing on egress: the source must be one of these (naddrs 0: no check) */
	const struct in_prefix *addrs;
	unsigned int naddrs;
};

extern const char *const counters_flow_names[TC_FLOW_COUNT];
extern const char *const counters_dir_names[TC_DIR_COUNT];
extern const char *const counters_drop_names[TC_DROP_COUNT];

/* Flow, direction and drop reason names as in the stats ("app", "rx", "spoof"). */
const char *counters_flow_to_string(unsigned int flow);
int counters_flow_from_string(const char *s);
const char *counters_dir_to_string(unsigned int dir);
const char *counters_drop_to_string(unsigned int reason);
/* Sum the flows of a snapshot per direction. */
void counters_totals(const struct counters_snapshot *s, struct counters_pair ret[TC_DIR_COUNT]);

/* Open or create the pinned maps in bpffs (mounting a bpf filesystem there if it is not one);
 * libbpf's messages go to netd's log. Logs what failed. */
int counters_bpf_new(const char *bpffs, struct counters_bpf **ret);
/* Close the maps (the pins, and the filters, stay); returns NULL. */
struct counters_bpf *counters_bpf_free(struct counters_bpf *b);

/* Read a slot's counters, or slots [0, nslots) (one batch lookup per map). */
int counters_bpf_read(struct counters_bpf *b, unsigned int slot, struct counters_snapshot *ret);
int counters_bpf_read_slots(struct counters_bpf *b, unsigned int nslots,
			    struct counters_snapshot *ret);
/* Zero a slot's counters (before a new attachment gets it). */
int counters_bpf_zero(struct counters_bpf *b, unsigned int slot);
/* A live task has the slot, with that cookie: platform ENIs attribute its marks to it. */
int counters_bpf_set_owner(struct counters_bpf *b, unsigned int slot, uint32_t cookie);
/* It has not any more (cookie 0: whoever had it; else only if that cookie's attach had it). */
int counters_bpf_clear_owner(struct counters_bpf *b, unsigned int slot, uint32_t cookie);
/* Set the drops of a reason the program does not count (imds, policy, metadata_filter):
 * absolute values, e.g. an nftables counter. Kept in the pinned map. */
int counters_bpf_set_drops(struct counters_bpf *b, unsigned int slot, enum tc_drop reason,
			   enum tc_dir dir, uint64_t bytes, uint64_t packets);
/* Set a flow to the counters of another link of the attachment, read from the kernel (absolute
 * values, e.g. the metadata link's link statistics); they count as the other links' share. */
int counters_bpf_set_link_flow(struct counters_bpf *b, unsigned int slot, enum tc_flow flow,
			       enum tc_dir dir, uint64_t bytes, uint64_t packets);

/* A cookie for a new attach (never 0). */
uint32_t counters_bpf_cookie(void);
/* Load the programs (the verifier runs now). */
int counters_bpf_load(struct counters_bpf *b, const struct counters_load_opts *o,
		      struct counters_prog **ret);
/* Drop loaded programs that were not attached; returns NULL. */
struct counters_prog *counters_prog_free(struct counters_prog *p);
/* Load them on a helper thread, which touches only its own programs and reads the map fds. */
int counters_bpf_load_start(struct counters_bpf *b, const struct counters_load_opts *o,
			    struct counters_load **ret);
/* Wait for such a load: 1 with the programs and their cookie, or -errno; frees l. */
int counters_load_finish(struct counters_load *l, struct counters_prog **ret, uint32_t *ret_cookie);

/* Attach the programs to link ifindex of the namespace netns_fd (its clsact qdisc made if it has
 * none: ret_hook_created). The filters hold the programs then: p can be freed. */
int counters_bpf_attach(int netns_fd, int ifindex, struct counters_prog *p, bool *ret_hook_created);
/* Detach them (and the qdisc if we made it); 0 when they are not there. */
int counters_bpf_detach(int netns_fd, int ifindex, bool hook_created);
/* Whether both our filters are on the link, for slot and fixed_flow: 1 yes, 0 no (ret_what:
 * "ingress" or "egress", the one missing or foreign), or -errno; ret_cookie gets the cookie of
 * the first one found (when not NULL and 0). */
int counters_bpf_verify(struct counters_bpf *b, int netns_fd, int ifindex, unsigned int slot,
			unsigned int fixed_flow, const char **ret_what, uint32_t *ret_cookie);
/* Whether our ingress filter of slot is on the link: 1, 0, or -errno. */
int counters_bpf_attached(struct counters_bpf *b, int netns_fd, int ifindex, unsigned int slot);

#endif
