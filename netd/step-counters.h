/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The counters step: an attachment's tc programs (counters-bpf.h), loaded for its slot and
 * attached to its ENI, and what netd keeps of them: a record per attachment (the cookie, the
 * ENI's link statistics at the attach and as last read, the samples behind the rates),
 * journalled (JOURNAL_COUNTERS) so that a restarted netd re-adopts them. A detach keeps the
 * attachment's final counters (finals.h).
 */
#ifndef NETD_STEP_COUNTERS_H
#define NETD_STEP_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "counters-bpf.h"
#include "ident.h"
#include "netlink.h"
#include "stats-json.h"
#include "step.h"

struct netd;

#define COUNTERS_MAX_LINKS 4

/* A link other than the ENI with the programs (a fixed flow). */
struct counters_link {
	int ifindex;
	unsigned int flow;
	bool hook_created;
};

/* An attachment whose ENI has the programs. */
struct counters_rec {
	unsigned int slot;
	char id[IDENT_TASK_ID_MAX + 1];
	uint64_t created_ns; /* the attach's: tells two attaches of one id apart */
	uint32_t cookie;
	int ifindex;
	bool hook_created;
	uint64_t attached_ns;
	int nsid; /* the attachment's namespace's id in netd's, for the ENI's stats; -1: none */
	uint8_t mac[ADDR_MAC_LEN];   /* the ENI's */
	struct link_stats dev, base; /* last read; at the attach */
	bool have_dev, have_base;
	struct counters_sample prev, last; /* the last two samples */
	struct counters_snapshot snap;	   /* at the last sample */
	struct counters_link links[COUNTERS_MAX_LINKS];
	unsigned int nlinks;
};

/* Attaching the programs to a link of an attachment other than its ENI. */
struct counters_link_opts {
	int ifindex;		 /* the link, in the attachment's namespace */
	unsigned int fixed_flow; /* every packet counts for this flow (TC_FLOW_*) */
	/* anti-spoofing on egress: the source must be one of these (naddrs 0: no check) */
	const struct in_prefix *addrs;
	unsigned int naddrs;
};

extern const struct attach_step step_counters;
/* A platform ENI's: its programs attribute marked traffic to the marks' tasks (docs/counters.md). */
extern const struct attach_step step_counters_platform;

/* The records (after the counter maps, the device statistics and the finals are there). */
int step_counters_init(struct netd *d);
/* Forget them (in memory: the programs stay attached and keep counting). */
void step_counters_exit(struct netd *d);
/* Re-adopt the filters of every attached attachment after a start (re-attaching missing ones);
 * remove the counters journals of no attachment. */
int step_counters_adopt(struct netd *d);
/* The record of an attachment, or NULL. */
struct counters_rec *step_counters_rec(struct netd *d, const struct eni_attachment *a);

/* Attach the programs to another link of a, counting into one flow. netns_fd is its namespace.
 * The ENI's counters must be attached. */
int step_counters_link_attach(struct netd *d, const struct eni_attachment *a, int netns_fd,
			      const struct counters_link_opts *opts);
/* Detach them from that link; 0 when they are not there. */
int step_counters_link_detach(struct netd *d, const struct eni_attachment *a, int netns_fd,
			      int ifindex);
/* Whether our filters with a's slot are on that link: 1 yes, 0 no, or -errno. */
int step_counters_link_attached(struct netd *d, const struct eni_attachment *a, int netns_fd,
				int ifindex);

#endif
