/* SPDX-License-Identifier: GPL-2.0-only */
/* The per-task nftables table: IMDS block and metadata-link filter, with named counters. */
#ifndef NETD_GUARDS_H
#define NETD_GUARDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netd;
struct task;

/* What the guards counted. */
struct guards_counters {
	uint64_t imds_packets, imds_bytes;	     /* rejected on the way to IMDS (tx) */
	uint64_t policy_tx_packets, policy_tx_bytes; /* dropped on the metadata link, out */
	uint64_t policy_rx_packets, policy_rx_bytes; /* dropped on the metadata link, in */
};

/* Does the task have guards (IMDS block or metadata link)? No table is made for it otherwise. */
bool guards_wanted(const struct task *t);
/* Create the task's table in one transaction; err says what failed. */
int guards_install(int netns_fd, const struct task *t, char *err, size_t errlen);
/* Delete the table in one transaction (no table is not an error). */
int guards_remove(int netns_fd);
/* Append a difference for a missing table or a rule that is not as built. */
int guards_check(int netns_fd, const struct task *t, json_t *diffs);
/* Read the counters (all zero if there is no table). */
int guards_read(int netns_fd, struct guards_counters *ret);
/*
 * The counters' read hook: copy the guards' counts into the task's drops (imds, policy), and the
 * metadata link's link statistics into its metadata flow. The one task being read is refreshed
 * always; for all tasks, only those not refreshed for a sampling interval, since reading them
 * costs netlink round trips in each namespace.
 */
void guards_stats_hook(struct netd *d, const struct task *t, void *data);

#endif
