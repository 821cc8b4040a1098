/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Platform ENIs (platform version 1.3.0): an ENI per host (or per pool: a name) attached into a
 * platform namespace that belongs to no task, through the platform plan (plans.h) run by the
 * engine (attach.h), journalled with a record of its own and recovered like a task's. The
 * runtime opens a 1.3.0 task's pull, auth, secrets and logs sockets in that namespace, marked
 * with the task's slot and flow; the platform ENI's counters attribute them to the task
 * (docs/counters.md). Its guards accept no connection from outside. The platform.* methods.
 */
#ifndef NETD_PLATFORM_H
#define NETD_PLATFORM_H

#include <stdbool.h>

#include "attachment.h"
#include "ctl-server.h"

struct netd;

#define PLATFORM_NAME_MAX 64
/* The attachment's id, apart from every task id: "platform:NAME". */
#define PLATFORM_ID_PREFIX "platform:"

struct platform {
	struct platform *next;
	struct netd *d;
	char name[PLATFORM_NAME_MAX + 1];
	char id[sizeof(PLATFORM_ID_PREFIX) + PLATFORM_NAME_MAX];
	struct eni_attachment att;
};

extern const struct ctl_method platform_methods[];
/* Read every platform ENI's journal (at start, after the ENIs'). */
int platform_journal_load(struct netd *d);
/* Finish or undo what a restart interrupted; re-adopt the attached ones. */
int platform_recover(struct netd *d);
/* Forget them (in memory: the ENIs stay attached). */
void platform_exit(struct netd *d);

#endif
