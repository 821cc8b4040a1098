/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host side of the metadata links: netd's own nftables table in its namespace. From a task's
 * link (tpmd<slot>) it takes only TCP to 169.254.170.2:80 with the task's own metadata address as
 * the source, and drops everything else, counted per task. The table has a set element per task,
 * never a rule per task.
 */
#ifndef NETD_MDFILTER_H
#define NETD_MDFILTER_H

#include <jansson.h>
#include <stdbool.h>

struct netd;
struct eni_attachment;

#define MDFILTER_TABLE "taskplane-metadata"

/* Whether an attachment's metadata link may exist (its elements belong in the table). */
typedef bool (*mdfilter_link_fn)(const struct eni_attachment *a);

/*
 * At start, after the journal is loaded and before the tasks are recovered: create the table, or
 * adopt the one a previous netd left (rebuilt in the same transaction when it is not as this netd
 * builds it), and give every task of the journal whose metadata link may exist its elements
 * (their counts carried on from the stats); elements of no task are removed.
 */
int mdfilter_init(struct netd *d, mdfilter_link_fn has_link);
/* At exit: delete the table when no task has a metadata link any more (else it stays, in force
 * while netd is down). */
void mdfilter_exit(struct netd *d);
/* Let the task's link in: its elements (the link, and the link with its metadata address). */
int mdfilter_add(struct netd *d, const struct eni_attachment *t);
/* Copy what the task's link dropped into its drops, before its elements go. */
void mdfilter_keep_count(struct netd *d, const struct eni_attachment *t);
/* Remove the elements of the links of slots[0..count) in one transaction (it costs the kernel an
 * RCU grace period: the reaper does it for all detached tasks at once); those not there are no
 * error. */
int mdfilter_remove(struct netd *d, const unsigned int *slots, unsigned int count);
/* Append a "metadata-filter" difference for a missing table, rule or element of the task. */
int mdfilter_check(struct netd *d, const struct eni_attachment *t, json_t *diffs);
/* Copy what the filter dropped into the tasks' drops (reason metadata_filter): of one task, or
 * of every task (t NULL; one dump of the set). */
void mdfilter_refresh(struct netd *d, const struct eni_attachment *t);

#endif
