/* SPDX-License-Identifier: GPL-2.0-only */
/* The per-ENI nftables table: IMDS block and metadata-link filter, with named counters. */
#ifndef NETD_GUARDS_H
#define NETD_GUARDS_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netd;
struct eni_attachment;

/* A task's table is "taskplane-<ifname>": one per ENI, several ENIs can share a namespace. */
#define GUARDS_TABLE_PREFIX "taskplane-"
#define GUARDS_TABLE_MAX    (IFNAMSIZ + 16)
/* The one table per namespace of netd versions before that, found in their journals. */
#define GUARDS_TABLE_LEGACY "taskplane"
/* A table's owner, its comment: which attach made it. */
#define GUARDS_OWNER_MAX 128

/* What the guards counted. */
struct guards_counters {
	uint64_t imds_packets, imds_bytes;	     /* rejected on the way to IMDS (tx) */
	uint64_t policy_tx_packets, policy_tx_bytes; /* dropped on the metadata link, out */
	uint64_t policy_rx_packets, policy_rx_bytes; /* dropped on the metadata link, in */
};

/* Does the task have guards (IMDS block or metadata link)? No table is made for it otherwise. */
bool guards_wanted(const struct eni_attachment *t);
/* The table name for an ENI named ifname in the task. */
void guards_table_name(const char *ifname, char buf[GUARDS_TABLE_MAX]);
/* The task's owner mark, the comment of the table its attach creates. */
void guards_owner(const struct eni_attachment *t, char buf[GUARDS_OWNER_MAX]);
/* Create the task's table, marked as its own, in one transaction (-EEXIST if the name is
 * taken: nothing is changed then); err says what failed. */
int guards_install(int netns_fd, const struct eni_attachment *t, char *err, size_t errlen);
/* Delete the table in one transaction if it is owner's; no table, or another's, is left alone
 * and is not an error. A legacy table has no owner mark and is deleted. */
int guards_remove(int netns_fd, const char *table, const char *owner);
/* Append a difference for a missing table (or one that is not the task's), or a rule that is
 * not as built. */
int guards_check(int netns_fd, const struct eni_attachment *t, json_t *diffs);
/* Read the counters of a table (all zero if there is none). */
int guards_read(int netns_fd, const char *table, struct guards_counters *ret);
#endif
