/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The engine: it runs an attachment's plan (a named table of steps, step.h), journalling before
 * each step (the attachment's owner writes the record), undoes the steps begun in reverse when
 * one fails, undoes them for a detach (handing what a step defers to the reaper), checks them
 * against the kernel, and recovers what a crash interrupted. It knows no step by name and no
 * owner: a task and an attachment of no task are run alike.
 */
#ifndef NETD_ATTACH_H
#define NETD_ATTACH_H

#include <jansson.h>
#include <stdbool.h>

#include "step.h"

struct netd;
struct params_err;

/* How an attach failed, for its owner to tell. */
struct attach_failure {
	/* What failed, for the metrics: the failing step's name, "journal", "netns", or the name a
	 * failing prepare gave (NULL before an attach). */
	const char *reason;
	char message[600]; /* "Step 'move' failed: ...", or what failed before any step */
	/* Every step begun was undone (a->state is back to ATTACHING, steps_begun 0). Else the
	 * undo failed too: a->state is DETACHING, and undo_message says why. */
	bool rolled_back;
	char undo_message[300];
};

/* Index of a step in a plan by name, or -ENOENT. */
int attach_plan_find(const struct attach_plan *p, const char *name);
/* The failure to inject into a's plan (a->plan): "STEP" or "crash:STEP", with netd
 * --enable-fault-injection only; -EINVAL with e. */
int attach_fault_parse(struct netd *d, struct eni_attachment *a, const char *fault,
		       struct params_err *e);

/*
 * Run a's plan (a->plan): prepare every step, then for each, journal (steps_begun) and run; on
 * a failure, undo the steps begun in reverse. a->fault injects one (after a step, or a crash).
 * 0: attached (a->state ATTACHED; the owner journals it); -errno with *ret filled in.
 */
int attach_run(struct netd *d, struct eni_attachment *a, struct attach_failure *ret);
/*
 * Undo every step begun, in reverse (detach, rollback, recovery); a->state DETACHING makes it a
 * detach (steps keep what is kept of a detached attachment). With defer, steps hand what they
 * can to the reaper. 0 (steps_begun 0), or the first failure (every step is tried) with err.
 */
int attach_undo(struct netd *d, struct eni_attachment *a, bool defer, char *err, size_t errlen);
/* Append the differences between a's record and the kernel to diffs; a namespace that is gone
 * is one ("netns"). */
int attach_check(struct netd *d, struct eni_attachment *a, json_t *diffs);
/*
 * An attach a restart interrupted (a->state ATTACHING, steps begun): finished when every step
 * began and the check finds nothing (1: a->state ATTACHED), else undone (0). -errno when the
 * undo failed (a->state DETACHING, err says why).
 */
int attach_recover(struct netd *d, struct eni_attachment *a, char *err, size_t errlen);
/* An attached attachment of the journal, at start: find its ENI again (-ENOENT: its namespace
 * is gone). */
int attach_adopt(struct netd *d, struct eni_attachment *a);

#endif
