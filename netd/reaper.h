/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reaper: teardown that need not delay a detach. Deleting a metadata link or an nftables
 * table costs the kernel an RCU grace period (tens of milliseconds each), while a detach is done
 * once the ENI is back on the host. So a detach hands such work over (a step's defer, step.h)
 * and answers; the reaper does it while the control socket is idle, all pending items of a class
 * at once where the class batches them (one grace period for all), one item per tick where not,
 * so that requests are served in between. It does not wait for idleness longer than 5 s or past
 * 128 jobs. A job keeps its attachment's slot (what it tears down is named after the slot) and
 * is journalled (JOURNAL_REAP), so that a restart finishes it.
 */
#ifndef NETD_REAPER_H
#define NETD_REAPER_H

#include <jansson.h>
#include <stdbool.h>

#include "netns.h"

struct netd;
struct eni_attachment;
struct attach_plan;
struct reap_class;

/* A part of an attachment's teardown handed over: its class, and what it needs (stolen). */
struct reap_part {
	const struct reap_class *class;
	json_t *params;
};

/* The classes are those of the plans' steps (NULL-terminated), in reverse plan order (the
 * order of undo). Finishes what the journal says is pending. After the tasks are recovered. */
int reaper_init(struct netd *d, const struct attach_plan *const *plans);
/* Finish what is pending (a crash leaves it to the next start), then forget everything. */
void reaper_exit(struct netd *d);
/* Take over parts[0..n) of a's teardown (their params are taken, also on failure). */
int reaper_queue(struct netd *d, const struct eni_attachment *a, struct reap_part *parts,
		 unsigned int n);
/* How many jobs are pending. */
unsigned int reaper_pending(struct netd *d);
/* Finish now what is pending in one namespace (before attaching to it again). */
int reaper_flush_netns(struct netd *d, const struct netns_id *id);
/* The same for the namespace at path, if there is one there (an attach's, before it starts). */
void reaper_flush_netns_path(struct netd *d, const char *path);

#endif
