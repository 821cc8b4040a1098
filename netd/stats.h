/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The stats of tasks: stats.get, stats.subscribe and stats.collect (docs/PROTOCOL.md), a
 * sampling timer that keeps the last two samples of every task for the rates and feeds the
 * subscriptions, and the Prometheus exposition of every task's counters (with netd's own
 * metrics, metrics.h).
 */
#ifndef NETD_STATS_H
#define NETD_STATS_H

#include "ctl-server.h"

struct netd;

#define STATS_DEFAULT_INTERVAL 10 /* seconds between samples (rates, subscriptions) */

struct stats_opts {
	unsigned int interval_sec;  /* sampling interval */
	const char *metrics_listen; /* ADDR:PORT for Prometheus, NULL: off */
};

extern const struct ctl_method stats_methods[];

/* Start sampling (after the counters' records are there). */
int stats_init(struct netd *d, const struct stats_opts *o);
/* Serve Prometheus on o->metrics_listen, if set (after the control socket). */
int stats_metrics_start(struct netd *d);
void stats_exit(struct netd *d);

#endif
