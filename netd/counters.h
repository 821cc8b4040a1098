/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-task network counters: the tc programs of ebpf/tc_counters.bpf.c on each task's ENI (and
 * on other links of a task, with a fixed flow), their pinned maps, the stats they are read into
 * (stats.get, stats.subscribe, stats.collect, Prometheus), and the final counters of detached
 * tasks. docs/counters.md describes the model; this header is the module's API.
 */
#ifndef NETD_COUNTERS_H
#define NETD_COUNTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl-server.h"
#include "tc_counters.h"

struct netd;
struct eni_attachment;
struct attach_step;
struct in_prefix;

#define COUNTERS_DEFAULT_BPFFS	   "/sys/fs/bpf/netd"
#define COUNTERS_DEFAULT_INTERVAL  10	/* seconds between samples (rates, subscriptions) */
#define COUNTERS_DEFAULT_RETENTION 3600 /* seconds a detached task's final counters are kept */
#define COUNTERS_TC_HANDLE	   0x54
#define COUNTERS_TC_PRIO_INGRESS   1 /* first on ingress: the device counted the packet already */
#define COUNTERS_TC_PRIO_EGRESS	   0xfff0 /* last on egress: a packet a filter drops is not sent */

struct counters_opts {
	const char *bpffs;	    /* pin directory (bpffs mounted there if it is not one) */
	unsigned int interval_sec;  /* sampling interval */
	unsigned int retention_sec; /* how long final counters are kept */
	const char *metrics_listen; /* ADDR:PORT for Prometheus, NULL: off */
};

/* bytes (skb->len, L2 included), packets (skbs), segs (wire segments of GSO packets) */
struct counters_pair {
	uint64_t bytes, packets, segs;
};

/* What the kernel counted for one slot, summed over CPUs. */
struct counters_snapshot {
	struct counters_pair flows[TC_FLOW_COUNT][TC_DIR_COUNT];
	struct counters_pair drops[TC_DROP_COUNT][TC_DIR_COUNT];
	struct counters_pair aux[TC_DIR_COUNT]; /* the part counted on the task's other links */
};

/* Attaching the programs to a link of a task other than its ENI. */
struct counters_attach_opts {
	int ifindex;		 /* the link, in the task namespace */
	unsigned int fixed_flow; /* every packet counts for this flow (TC_FLOW_*) */
	/* anti-spoofing on egress: the source must be one of these (naddrs 0: no check) */
	const struct in_prefix *addrs;
	unsigned int naddrs;
};

/* Hooks run before every read pass (stats, samples, metrics, final snapshot): t is the one task
 * about to be read, or NULL for all of them. */
typedef void (*counters_read_hook_fn)(struct netd *d, struct eni_attachment *t, void *data);

extern const struct ctl_method counters_methods[];

/* Open or create the pinned maps (mounting bpffs if needed), load the final counters kept in
 * the run directory, start the sampling timer. After state_load, before task_recover. */
int counters_init(struct netd *d, const struct counters_opts *opts);
/* Re-adopt the filters of every ready task after a start (re-attaching missing ones). */
int counters_adopt(struct netd *d);
/* Serve Prometheus on opts->metrics_listen, if set (after the control socket). */
int counters_metrics_start(struct netd *d);
/* Free everything in memory; the programs stay attached and keep counting. */
void counters_exit(struct netd *d);

/* The counters step: the task's programs loaded for its slot and attached to its ENI. */
extern const struct attach_step step_counters;

/* Attach the programs to another link of task t, counting into one flow (e.g. the metadata
 * link). netns_fd is the task's namespace. The ENI's counters must be attached. */
int counters_attach(struct netd *d, const struct eni_attachment *t, int netns_fd,
		    const struct counters_attach_opts *opts);
/* Detach them from that link; 0 when they are not there. */
int counters_detach(struct netd *d, const struct eni_attachment *t, int netns_fd, int ifindex);
/* Whether our filters with the task's slot are on that link: 1 yes, 0 no, or -errno. */
int counters_link_attached(struct netd *d, const struct eni_attachment *t, int netns_fd,
			   int ifindex);

/* Read a slot's counters from the maps. */
int counters_read(struct netd *d, unsigned int slot, struct counters_snapshot *ret);
/* Set the drops of a reason the program does not count (imds, policy) for a task: absolute
 * values, e.g. an nftables counter. Kept in the pinned map, zeroed when the slot is reused. */
int counters_set_drops(struct netd *d, const struct eni_attachment *t, enum tc_drop reason,
		       enum tc_dir dir, uint64_t bytes, uint64_t packets);
/* Set a flow of a task to the counters of another of its links, read from the kernel (absolute
 * values, e.g. the metadata link's link statistics); they count as the other links' share. */
int counters_set_link_flow(struct netd *d, const struct eni_attachment *t, enum tc_flow flow,
			   enum tc_dir dir, uint64_t bytes, uint64_t packets);
/* Call fn before each read pass (one hook). */
void counters_set_read_hook(struct netd *d, counters_read_hook_fn fn, void *data);

/* Flow, direction and drop reason names as in the stats ("app", "rx", "spoof"). */
const char *counters_flow_to_string(unsigned int flow);
int counters_flow_from_string(const char *s);
const char *counters_dir_to_string(unsigned int dir);
const char *counters_drop_to_string(unsigned int reason);

#endif
