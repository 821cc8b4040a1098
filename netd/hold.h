/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Holds. A client that answers for a task by its metadata address (the taskvm agent ties a
 * request to its task by the request's source address) holds the task under a name while it
 * does. A held task's slot, from which its metadata address, its host link's name and its
 * counter key derive, stays reserved after the task is detached, until the last holder releases
 * it: no new task is given an address that a holder may still answer for. A hold names one
 * instance of a task (an id can be attached again; an instance never is).
 *
 * One record per slot, journalled (JOURNAL_HOLD), so that a restart of netd keeps both the
 * holds of live tasks and the reserved slots of detached ones. Records are bounded by the slots,
 * holders per task by HOLD_MAX_HOLDERS. The task.hold methods are hold-methods.c's.
 */
#ifndef NETD_HOLD_H
#define NETD_HOLD_H

#include <jansson.h>
#include <stdbool.h>

struct netd;
struct hold;

#define HOLD_MAX_HOLDERS 8 /* holders of one task */

/* Whether the task of a hold is attached: its id, instance and slot are those of a live task. */
typedef bool (*hold_live_fn)(struct netd *d, const char *task_id, const char *instance,
			     unsigned int slot);

/* Read the holds' journal (after the tasks and the reaper's); live tells held tasks from gone. */
int hold_init(struct netd *d, hold_live_fn live);
/* Forget them (in memory; the journal stays). */
void hold_exit(struct netd *d);
/* How many records there are (a task held, or a slot kept for the holders of a gone one). */
unsigned int hold_count(struct netd *d);

/* The hold of a live task (NULL: none). */
struct hold *hold_find(struct netd *d, unsigned int slot, const char *instance);
/* Add holder to the hold of a live task, making it: 1 added, 0 held by it already, -E2BIG
 * when it has HOLD_MAX_HOLDERS, -errno (the journal): nothing changed. */
int hold_add(struct netd *d, const char *task_id, const char *instance, unsigned int slot,
	     const char *holder, struct hold **ret);
/* Take holder off every hold of task_id (of instance only, if given); a detached task's slot
 * is free again when its last holder goes. Returns how many holds it had. */
unsigned int hold_release(struct netd *d, const char *task_id, const char *instance,
			  const char *holder);
/* The task of a hold left the task list: its slot stays reserved until the last release. */
void hold_task_gone(struct netd *d, const char *task_id, const char *instance, unsigned int slot);

/* A hold as the protocol shows it (task.hold, task.holds). */
json_t *hold_to_json(const struct hold *h);
/* Every hold (of holder only, if given), sorted by task id. */
json_t *hold_list_json(struct netd *d, const char *holder);
/* The holders of a live task as a JSON array, or NULL when it has none. */
json_t *hold_holders_json(struct netd *d, unsigned int slot, const char *instance);

#endif
