/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tasks: a task's ENI attached to its network namespace, through the task plan (plans.h) run by
 * the engine (attach.h). The task.* methods: attach validates everything first, waits for the
 * ENI if it has not appeared, then has the plan run; detach undoes it and copes with a namespace
 * that is already gone; check compares the record with the kernel. The task keeps its phase,
 * its attrs and its instance; its journal record carries its attachment's.
 */
#ifndef NETD_TASK_H
#define NETD_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "attachment.h"
#include "ctl-server.h"
#include "ident.h"

struct netd;
struct eni;

#define TASK_DEFAULT_MTU     9001
#define TASK_DEFAULT_WAIT_MS 10000
#define TASK_MAX_WAIT_MS     600000

enum task_phase {
	TASK_PHASE_ATTACHING,
	TASK_PHASE_READY_PULL,
	TASK_PHASE_READY,
	TASK_PHASE_DETACHING,
};

struct task {
	struct task *next;
	struct netd *d;
	char id[IDENT_TASK_ID_MAX + 1];
	/* this attach of the task: an id can be attached again later, an instance never */
	char instance[IDENT_INSTANCE_LEN + 1];
	enum task_phase phase;
	enum task_phase target_phase; /* phase once attached */
	json_t *attrs;		      /* string map given by the caller, or NULL */
	/* an attach waiting for its ENI to appear */
	struct ctl_call *waiter;
	int wait_timer_id;
	uint32_t wait_ms;
	uint64_t wait_started_usec;
	/* its ENI, attached (id is the task's) */
	struct eni_attachment att;
};

extern const struct ctl_method task_methods[];
int task_init(struct netd *d);
void task_exit(struct netd *d);
struct task *task_find(struct netd *d, const char *id);
const char *task_phase_to_string(enum task_phase p);
int task_phase_from_string(const char *s);
json_t *task_to_json(const struct task *t, bool journal);
int task_from_json(struct netd *d, json_t *j, struct task **ret);
struct task *task_free(struct task *t);
/* Write a task's journal; read every task's at start. */
int task_journal_save(struct netd *d, const struct task *t);
int task_journal_load(struct netd *d);
/* Whether a task of that id, instance and slot is attached (holds). */
bool task_is_live(struct netd *d, const char *id, const char *instance, unsigned int slot);
/* An ENI a task waits for has appeared on the host (eni_appeared_fn). */
void task_eni_appeared(struct netd *d, struct eni *e);
/* Recover tasks loaded from the journal: finish or undo half-done work. */
int task_recover(struct netd *d);

#endif
