/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Steps: what an attach plan (attach.h) is made of, and what every step may use. A step changes
 * the kernel one way for an ENI attachment, can undo that (also when it never ran, or ran
 * half-way before a crash) and can check it against the attachment's record. A step calls only
 * what lies below it: this module, the models (attachment, eni, journal...), lib/; never the
 * engine, another step, or whoever owns the attachment.
 */
#ifndef NETD_STEP_H
#define NETD_STEP_H

#include <jansson.h>
#include <stdbool.h>

#include "attachment.h"
#include "netns.h"

struct netd;
struct netlink;
struct link_info;

/* What a step's callbacks are given: one per attach, detach or check, by the engine. */
struct attach_ctx {
	struct netd *d;
	struct eni_attachment *a;
	/* An undo for a detach (not the rollback of a failed attach): what is to be kept of the
	 * attachment (its final counters) is kept now. */
	bool detach;
	int netns_fd;	     /* the attachment's namespace, -1 when it is gone */
	struct netlink *tnl; /* rtnetlink in it, opened on first use (step_open_tnl()) */
	/* The step's own: what its prepare took, kept by the engine for the step's later
	 * callbacks of the same attach and dropped by its release. */
	void *priv;
	/* A prepare that fails may name the failure (the metrics' reason); else the step's name. */
	const char *reason;
	/* Set by a defer that hands its work over: what the reaper needs, journalled with it (a
	 * JSON object, taken by the engine). */
	json_t *reap_params;
	char errmsg[512]; /* what failed, for the caller */
};

/* One attachment's part of a teardown handed to the reaper (reaper.h). */
struct reap_item {
	unsigned int slot; /* kept for it until the part is done */
	const char *netns_path;
	struct netns_id netns_id;
	json_t *params; /* what the step's defer gave */
	bool retry;	/* set by the class's reap: the part stays pending, for another try */
};

/*
 * Work of one kind that a step's defer hands to the reaper, done later for every attachment
 * that has it, while netd is idle.
 */
struct reap_class {
	const char *name; /* its part's flag in the reaper's journal ("mdlink", "guards") */
	/* All the pending items in one call (one RCU grace period for all of them), or one item per
	 * reaper tick (false), so that requests are served in between. */
	bool batch;
	/*
	 * Do the work of items[0..n): an item is done afterwards unless reap set its retry (what
	 * failed otherwise is logged; what is left is gone with its namespace, or found by the
	 * checks). all says that they are all the pending items of the class.
	 */
	void (*reap)(struct netd *d, struct reap_item *const *items, unsigned int n, bool all);
	/*
	 * The params of an item from its journal record (NULL: the class has none). They are
	 * members of the record beside the job's own and the other classes': each class's are
	 * named apart. A record of an older netd may lack them.
	 */
	json_t *(*params_from)(json_t *record);
};

/*
 * A step. Every callback but run and undo is optional. Callbacks return 0 (or what is said) on
 * success and -errno on failure, with c->errmsg saying what failed.
 */
struct attach_step {
	/* Its name: in messages, the metrics' reasons, the attach parameter 'fault'. The plan's
	 * order is journalled (steps begun): a new step goes at the end of a plan. */
	const char *name;
	/*
	 * Work done before the journal's first write of an attach, in plan order: what must be
	 * read before anything changes, or can start early, e.g. loading the BPF programs on a
	 * helper thread while the move waits in the kernel. It may set c->priv. A failure fails
	 * the attach before any step began.
	 */
	int (*prepare)(struct attach_ctx *c);
	/* Make the change; what a failure left half-done is undone by undo. */
	int (*run)(struct attach_ctx *c);
	/* Undo what the step made (and only that): succeeds when it never ran or only partly. */
	int (*undo)(struct attach_ctx *c);
	/*
	 * At a detach: hand what is slow and no longer in the ENI's way to the reaper instead of
	 * undoing it. 1: handed over (c->reap_params set, or NULL), 0: nothing to undo, -errno:
	 * undo now instead.
	 */
	int (*defer)(struct attach_ctx *c);
	/* What the reaper does of it later (with defer). */
	const struct reap_class *reap;
	/*
	 * Append the differences between the record and the kernel to diffs ({what, expected,
	 * actual}): 0, or 1 when nothing after this step can be checked (what it made is gone).
	 */
	int (*check)(struct attach_ctx *c, json_t *diffs);
	/* Drop what prepare took (c->priv), whether the plan ran, failed or was not run. */
	void (*release)(struct attach_ctx *c);
};

/* A named table of steps, run in order and undone in reverse (attach.h). */
struct attach_plan {
	const char *name;
	const struct attach_step *const *steps;
	unsigned int nsteps;
};

/* Whether the step is in the attachment's plan and has begun (it may have changed the kernel). */
bool step_began(const struct eni_attachment *a, const struct attach_step *s);
/* Errors that mean "already gone" when undoing. */
bool step_gone(int r);
/* Open the rtnetlink socket in the attachment's namespace if it is not open yet. */
int step_open_tnl(struct attach_ctx *c);
/* Find the attachment's ENI in its namespace: by the index known, checked by MAC, else by MAC.
 * Updates a->ifindex; -ENODEV when it is not there. */
int step_find_link(struct attach_ctx *c, struct link_info *ret);
/* Say what failed in c->errmsg, "WHAT: strerror(r)"; returns r. */
int step_fail(struct attach_ctx *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for a request on c->tnl, with the kernel's extended ack when it sent one. */
int step_fail_tnl(struct attach_ctx *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
