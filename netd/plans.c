// SPDX-License-Identifier: GPL-2.0-only
#include "plans.h"
#include "step-addrs.h"
#include "step-counters.h"
#include "step-dns.h"
#include "step-guards.h"
#include "step-link.h"
#include "step-mdlink.h"
#include "step-move.h"
#include "step-routes.h"
#include "step-tap.h"
#include "util.h"

/*
 * In order. The guards come right after the move, before the link is up, so that no packet of
 * the task leaves before they are in force; the counters too (the move drops qdiscs), so that
 * the filters see every packet the device counts. The journal records how many steps began:
 * a new step goes at the end (loopback and dns came after routes for that reason).
 */
static const struct attach_step *const task_steps[] = {
	&step_move,   &step_guards, &step_counters, &step_mtu,	    &step_addrs,
	&step_mdlink, &step_up,	    &step_routes,   &step_loopback, &step_dns,
};

const struct attach_plan plan_task = {
	.name = "task",
	.steps = task_steps,
	.nsteps = ARRAY_SIZE(task_steps),
};

/* A task whose containers run in a VM ("wiring": "vm"): the task's steps, then the taps. */
static const struct attach_step *const task_vm_steps[] = {
	&step_move, &step_guards, &step_counters, &step_mtu, &step_addrs, &step_mdlink,
	&step_up,   &step_routes, &step_loopback, &step_dns, &step_tap,
};

const struct attach_plan plan_task_vm = {
	.name = "task-vm",
	.steps = task_vm_steps,
	.nsteps = ARRAY_SIZE(task_vm_steps),
};

/*
 * A platform ENI (platform version 1.3.0) in a namespace of no task: no metadata link, guards
 * that refuse connections from outside (and let the platform reach IMDS), and counters that
 * attribute marked traffic to the marks' tasks.
 */
static const struct attach_step *const platform_steps[] = {
	&step_move, &step_guards, &step_counters_platform, &step_mtu, &step_addrs,
	&step_up,   &step_routes, &step_loopback,	   &step_dns,
};

const struct attach_plan plan_platform = {
	.name = "platform",
	.steps = platform_steps,
	.nsteps = ARRAY_SIZE(platform_steps),
};

const struct attach_plan *const netd_plans[] = { &plan_task, &plan_task_vm, &plan_platform, NULL };
