/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netd's context: what its modules share (the loop, the control server, the host's namespace
 * and rtnetlink socket, the directories) and where each module keeps its state. No module's API
 * is here: each has its own header (docs/ARCHITECTURE.md lists them by layer).
 */
#ifndef NETD_NETD_H
#define NETD_NETD_H

#include <stdbool.h>
#include <stdint.h>

#include "netns.h"

struct event_loop;
struct netlink;
struct eni;
struct eni_attachment;
struct task;
struct journal;
struct ctl_server;

struct netd_events;
struct counters_bpf;
struct counters_records;
struct devstats;
struct finals;
struct stats;
struct mdfilter;
struct reaper;
struct netd_metrics;
struct hold;
struct slots;

#define NETD_MAX_ENIS  4096
#define NETD_MAX_TASKS 4096 /* attachments, and so slots */

struct netd {
	struct event_loop *loop;
	struct ctl_server *ctl;
	struct netd_events *events;
	struct counters_bpf *bpf;	       /* the counter maps */
	struct devstats *devstats;	       /* the ENIs' link statistics */
	struct counters_records *counter_recs; /* the counters step's */
	struct finals *finals;
	struct stats *stats;
	struct mdfilter *mdfilter;
	/* netd's own metrics: attach and detach durations, failures */
	struct netd_metrics *metrics;
	struct netlink *host_nl; /* requests in netd's own namespace */
	struct netlink *monitor; /* link events in netd's own namespace */
	int monitor_id;
	/* an ENI an attach waits for is on the host (eni_init()) */
	void (*eni_appeared)(struct netd *d, struct eni *e);
	int host_netns_fd;
	struct netns_id host_netns_id;
	char *run_dir; /* what lasts until a reboot: the tasks' journal */
	struct journal *journal;
	char *persist_dir; /* --state-dir: what survives a reboot, the ENI registrations */
	char *socket_path;
	bool fault_injection;
	struct eni *enis;
	unsigned int nenis;
	struct task *tasks;
	unsigned int ntasks;
	struct platform *platforms; /* platform.c */
	unsigned int nplatforms;
	struct eni_attachment *attachments; /* every one, tasks' and others' (attachment.h) */
	struct reaper *reaper;
	struct hold *holds; /* hold.c */
	unsigned int nholds;
	struct slots *slots;
	unsigned int stats_interval_sec; /* how often the counters are sampled */
	uint64_t start_usec;
};

#endif
