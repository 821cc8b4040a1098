/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What is counted outside the tc programs, copied into an attachment's counters before they are
 * read: the guards' nftables counters into its drops (imds, policy), the metadata link's link
 * statistics into its metadata flow, and what netd's filter of the metadata links dropped into
 * its drops (metadata_filter). Reading costs netlink round trips in each namespace.
 */
#ifndef NETD_DROPS_H
#define NETD_DROPS_H

struct netd;
struct eni_attachment;

/* One attachment, exactly (its stats are about to be read). */
void drops_refresh(struct netd *d, struct eni_attachment *a);
/* Every attachment not refreshed for max_age_sec, and the filter's counts of all in one dump. */
void drops_refresh_all(struct netd *d, unsigned int max_age_sec);

#endif
