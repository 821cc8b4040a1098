/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ENIs' link statistics (IFLA_STATS64), read through lib/netlink from netd's own namespace:
 * one socket there reads every task's ENI by the id netd's namespace gives the task's. Nothing is
 * held open inside a task namespace: a socket there would keep the namespace alive, and a
 * deleted namespace must die, and give a physical ENI back to the host, when its last process
 * goes.
 */
#ifndef NETD_DEVSTATS_H
#define NETD_DEVSTATS_H

#include <stdint.h>

#include "netlink.h"

struct devstats;

/* One ENI to read: its namespace's id (devstats_nsid()), its index there and its MAC. */
struct devstats_query {
	int nsid;
	int ifindex;
	const uint8_t *mac;
	/* out: 0 with stats; -ENOTCONN without an id or index; -ENODEV when the link is not the
	 * ENI (ids are reused once a namespace is gone); -errno else */
	int error;
	struct link_stats stats;
};

/* Open the socket in netd's namespace (the caller's). */
int devstats_new(struct devstats **ret);
/* Close it; returns NULL. */
struct devstats *devstats_free(struct devstats *s);
/* The id of a task's namespace in netd's, given one if it has none. */
int devstats_nsid(struct devstats *s, int netns_fd, int *ret_nsid);
/* Read queries[0..n), pipelined; -errno only when the socket fails (each query has its error). */
int devstats_read(struct devstats *s, struct devstats_query *queries, unsigned int n);

#endif
