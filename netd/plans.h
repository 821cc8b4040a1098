/* SPDX-License-Identifier: GPL-2.0-only */
/* The plans netd runs: named tables of steps (step.h), for the engine (attach.h) to run. */
#ifndef NETD_PLANS_H
#define NETD_PLANS_H

#include "step.h"

/* A task's ENI: moved, guarded, counted, configured, with its metadata link and DNS. */
extern const struct attach_plan plan_task;
/* The same, and the taps of a task VM beside the ENI and the metadata link (step-tap.h). */
extern const struct attach_plan plan_task_vm;
/* A platform ENI: moved, guarded (nothing in from outside), counted for the tasks, configured. */
extern const struct attach_plan plan_platform;

/* Every plan, NULL-terminated (the reaper's classes, the metrics' reasons). */
extern const struct attach_plan *const netd_plans[];

#endif
