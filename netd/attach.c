// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine (attach.h). Its one context per attach, detach or check holds the attachment's
 * namespace, the rtnetlink socket the steps share in it, and each step's private pointer from
 * its prepare to its release.
 */
#include <signal.h>

#include "attach.h"
#include "json-util.h"
#include "log.h"
#include "netd.h"
#include "params.h"
#include "reaper.h"

/* Steps in a plan at the most (a detach records the steps handed over in a bit mask). */
#define ATTACH_MAX_STEPS 32

struct engine_ctx {
	struct attach_ctx c;
	const struct attach_plan *plan;
	void *priv[ATTACH_MAX_STEPS];
};

int attach_plan_find(const struct attach_plan *p, const char *name)
{
	for (unsigned int i = 0; i < p->nsteps; i++)
		if (streq(p->steps[i]->name, name))
			return (int)i;
	return -ENOENT;
}

int attach_fault_parse(struct netd *d, struct eni_attachment *a, const char *fault,
		       struct params_err *e)
{
	const char *step = startswith(fault, "crash:") ? fault + 6 : fault;

	if (!d->fault_injection)
		return params_fail(e, "Parameter 'fault' needs netd --enable-fault-injection");
	if (attach_plan_find(a->plan, step) < 0)
		return params_fail(e, "Unknown step '%.32s' in 'fault'", step);
	strscpy(a->fault, fault, sizeof(a->fault));
	return 0;
}

/* Open a's namespace: -ENOENT when it is gone (the context is usable still, netns_fd -1). */
static int ctx_open(struct netd *d, struct eni_attachment *a, struct engine_ctx *e)
{
	*e = (struct engine_ctx){
		.c = { .d = d,
		       .a = a,
		       .detach = a->state == ATTACH_STATE_DETACHING,
		       .netns_fd = -1 },
		.plan = a->plan,
	};
	if (!a->plan || a->plan->nsteps > ATTACH_MAX_STEPS)
		return -EINVAL;
	return attachment_netns_open(a, &e->c.netns_fd);
}

/* Step i's callbacks see its own private pointer. */
static void ctx_enter(struct engine_ctx *e, unsigned int i)
{
	e->c.priv = e->priv[i];
	e->c.errmsg[0] = '\0';
}

static void ctx_leave(struct engine_ctx *e, unsigned int i)
{
	e->priv[i] = e->c.priv;
	e->c.priv = NULL;
}

/* Release what the steps' prepares took, and what the context holds. */
static void ctx_done(struct engine_ctx *e)
{
	for (unsigned int i = 0; e->plan && i < e->plan->nsteps; i++) {
		if (!e->plan->steps[i]->release)
			continue;
		ctx_enter(e, i);
		e->plan->steps[i]->release(&e->c);
		ctx_leave(e, i);
	}
	e->c.tnl = netlink_free(e->c.tnl);
	e->c.netns_fd = safe_close(e->c.netns_fd);
}

/*
 * Undo steps [0, upto) in reverse. Returns the first error; every step is tried. With handed,
 * steps that can defer to the reaper do (a bit per step handed over, its params in parts).
 */
static int undo_steps(struct engine_ctx *e, unsigned int upto, uint32_t *handed,
		      struct reap_part *parts, char *err, size_t errlen)
{
	struct eni_attachment *a = e->c.a;
	int first = 0;

	for (unsigned int i = upto; i-- > 0;) {
		const struct attach_step *s = e->plan->steps[i];
		uint64_t t0 = now_usec();
		int r = -EAGAIN;

		ctx_enter(e, i);
		if (handed && s->defer && s->reap) {
			e->c.reap_params = NULL;
			r = s->defer(&e->c);
			if (r > 0) {
				/* the params go to the reaper with the step's class */
				*handed |= 1u << i;
				parts[i].class = s->reap;
				parts[i].params = e->c.reap_params;
			} else {
				json_decref(e->c.reap_params);
			}
			e->c.reap_params = NULL;
		}
		if (r < 0)
			r = s->undo(&e->c);
		log_debug("%s '%s': undoing step '%s' took %llu us%s", a->kind, a->id, s->name,
			  (unsigned long long)(now_usec() - t0),
			  handed && (*handed & (1u << i)) ? " (rest handed to the reaper)" : "");
		if (r < 0) {
			log_warn_errno(r, "%s '%s': undoing step '%s' failed: %m%s%s", a->kind,
				       a->id, s->name, e->c.errmsg[0] ? ": " : "", e->c.errmsg);
			if (!first) {
				first = r;
				snprintf(err, errlen, "undoing step '%s' failed: %s%s%s", s->name,
					 strerror(-r), e->c.errmsg[0] ? ": " : "", e->c.errmsg);
			}
		}
		ctx_leave(e, i);
	}
	return first;
}

int attach_undo(struct netd *d, struct eni_attachment *a, bool defer, char *err, size_t errlen)
{
	struct reap_part parts[ATTACH_MAX_STEPS] = {}, handed_parts[ATTACH_MAX_STEPS];
	struct engine_ctx e;
	uint32_t handed = 0;
	unsigned int nhanded = 0;
	int r;

	r = ctx_open(d, a, &e);
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "Failed to open namespace '%s': %s", a->netns_path,
			 strerror(-r));
		ctx_done(&e);
		return r;
	}
	if (r == -ENOENT)
		log_info("%s '%s': namespace '%s' is gone", a->kind, a->id, a->netns_path);
	r = undo_steps(&e, MIN(a->steps_begun, e.plan->nsteps), defer ? &handed : NULL, parts, err,
		       errlen);
	ctx_done(&e);
	for (unsigned int i = 0; i < e.plan->nsteps; i++)
		if (handed & (1u << i))
			handed_parts[nhanded++] = parts[i];
	if (r == 0 && nhanded) {
		r = reaper_queue(d, a, handed_parts, nhanded);
		if (r < 0) {
			/* Could not hand over: do it now. */
			log_warn_errno(r, "%s '%s': reaper unavailable (%m), tearing down now",
				       a->kind, a->id);
			r = ctx_open(d, a, &e);
			if (r == 0 || r == -ENOENT)
				for (unsigned int i = e.plan->nsteps; i-- > 0;)
					if (handed & (1u << i)) {
						ctx_enter(&e, i);
						(void)e.plan->steps[i]->undo(&e.c);
						ctx_leave(&e, i);
					}
			ctx_done(&e);
			r = 0;
		}
	} else {
		for (unsigned int i = 0; i < nhanded; i++)
			json_decref(handed_parts[i].params);
	}
	if (r == 0)
		a->steps_begun = 0;
	return r;
}

/* Prepare every step, in order; a failure fails the attach with nothing begun. */
static int prepare_steps(struct engine_ctx *e, struct attach_failure *ret)
{
	for (unsigned int i = 0; i < e->plan->nsteps; i++) {
		const struct attach_step *s = e->plan->steps[i];
		int r;

		if (!s->prepare)
			continue;
		ctx_enter(e, i);
		e->c.reason = NULL;
		r = s->prepare(&e->c);
		ctx_leave(e, i);
		if (r < 0) {
			ret->reason = e->c.reason ?: s->name;
			snprintf(ret->message, sizeof(ret->message), "%s",
				 e->c.errmsg[0] ? e->c.errmsg : strerror(-r));
			return r;
		}
	}
	return 0;
}

int attach_run(struct netd *d, struct eni_attachment *a, struct attach_failure *ret)
{
	uint64_t started = now_usec();
	const char *failed_at = NULL;
	struct engine_ctx e;
	unsigned int i = 0;
	int r;

	*ret = (struct attach_failure){ .rolled_back = true };
	r = ctx_open(d, a, &e);
	if (r < 0) {
		snprintf(ret->message, sizeof(ret->message), "Namespace '%s' is gone: %s",
			 a->netns_path, strerror(-r));
		ret->reason = "netns";
		ctx_done(&e);
		return r;
	}
	r = prepare_steps(&e, ret);
	if (r < 0) {
		ctx_done(&e);
		return r;
	}

	for (i = 0; i < e.plan->nsteps; i++) {
		const struct attach_step *s = e.plan->steps[i];
		const char *crash = startswith(a->fault, "crash:") ? a->fault + 6 : NULL;
		uint64_t t0;

		a->steps_begun = i + 1;
		r = attachment_save(a);
		if (r < 0) {
			snprintf(e.c.errmsg, sizeof(e.c.errmsg), "Failed to write the journal: %s",
				 strerror(-r));
			a->steps_begun = i; /* nothing of this step happened */
			failed_at = "journal";
			break;
		}
		ctx_enter(&e, i);
		t0 = now_usec();
		r = s->run(&e.c);
		ctx_leave(&e, i);
		log_debug("%s '%s': step '%s' took %llu us%s", a->kind, a->id, s->name,
			  (unsigned long long)(now_usec() - t0), r < 0 ? " and failed" : "");
		if (r < 0)
			break;
		if (crash && streq(crash, s->name)) {
			log_warn("Fault injection: crashing after step '%s' of %s '%s'", crash,
				 a->kind, a->id);
			raise(SIGKILL);
		}
		if (streq(a->fault, s->name)) {
			snprintf(e.c.errmsg, sizeof(e.c.errmsg), "Injected fault after step '%s'",
				 s->name);
			r = -EIO;
			break;
		}
	}

	if (r < 0) {
		const char *name = e.plan->steps[MIN(i, e.plan->nsteps - 1)]->name;
		int q;

		ret->reason = failed_at ?: name;
		snprintf(ret->message, sizeof(ret->message), "Step '%s' failed: %s", name,
			 e.c.errmsg[0] ? e.c.errmsg : strerror(-r));
		q = undo_steps(&e, a->steps_begun, NULL, NULL, ret->undo_message,
			       sizeof(ret->undo_message));
		ctx_done(&e);
		if (q < 0) {
			/* The record stays, so that a detach can finish the job. */
			ret->rolled_back = false;
			a->state = ATTACH_STATE_DETACHING;
			return r;
		}
		a->steps_begun = 0;
		return r;
	}
	ctx_done(&e);
	a->state = ATTACH_STATE_ATTACHED;
	log_debug("%s '%s': all steps done in %llu us", a->kind, a->id,
		  (unsigned long long)(now_usec() - started));
	return 0;
}

int attach_check(struct netd *d, struct eni_attachment *a, json_t *diffs)
{
	struct engine_ctx e;
	int r;

	r = ctx_open(d, a, &e);
	if (r == -ENOENT) {
		json_diff_append(diffs, "netns", a->netns_path, "missing");
		ctx_done(&e);
		return 0;
	}
	for (unsigned int i = 0; r == 0 && i < e.plan->nsteps; i++) {
		const struct attach_step *s = e.plan->steps[i];

		if (!s->check)
			continue;
		ctx_enter(&e, i);
		r = s->check(&e.c, diffs);
		ctx_leave(&e, i);
		if (r > 0) {
			r = 0; /* what the later steps made cannot be there */
			break;
		}
	}
	ctx_done(&e);
	return r;
}

int attach_recover(struct netd *d, struct eni_attachment *a, char *err, size_t errlen)
{
	int r;

	if (a->plan && a->steps_begun == a->plan->nsteps) {
		json_auto_t *diffs = json_array();

		if (attach_check(d, a, diffs) == 0 && json_array_size(diffs) == 0) {
			a->state = ATTACH_STATE_ATTACHED;
			return 1;
		}
	}
	a->state = ATTACH_STATE_ATTACHING;
	r = attach_undo(d, a, false, err, errlen);
	if (r < 0) {
		a->state = ATTACH_STATE_DETACHING;
		return r;
	}
	return 0;
}

int attach_adopt(struct netd *d, struct eni_attachment *a)
{
	struct link_info li;
	struct engine_ctx e;
	int r;

	r = ctx_open(d, a, &e);
	/* Where the ENI is now (an ENI that is not there is what a check reports). */
	if (r == 0)
		(void)step_find_link(&e.c, &li);
	ctx_done(&e);
	return r;
}
