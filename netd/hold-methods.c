// SPDX-License-Identifier: GPL-2.0-only
#include "hold-methods.h"
#include "hold.h"
#include "netd.h"
#include "task.h"

struct hold_params {
	const char *task_id, *holder, *instance;
};

static int hold_params_parse(struct ctl_call *call, json_t *params, struct hold_params *p)
{
	json_error_t jerr;

	*p = (struct hold_params){};
	if (!params ||
	    json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s, s:s, s?s}", "task_id", &p->task_id,
			   "holder", &p->holder, "instance", &p->instance) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing 'task_id', 'holder'"),
		       -EINVAL;
	if (!ident_task_id_valid(p->task_id))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid task_id '%.64s'",
				      p->task_id),
		       -EINVAL;
	if (!ident_holder_valid(p->holder))
		return ctl_call_failf(
			       call, CTL_ERR_INVALID_PARAMS,
			       "Invalid holder '%.80s' (1-64 of [A-Za-z0-9_.:@-], first a letter or digit)",
			       p->holder),
		       -EINVAL;
	if (p->instance && !ident_instance_valid(p->instance))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "Invalid instance '%.64s' (32 lower-case hex digits)",
				      p->instance),
		       -EINVAL;
	return 0;
}

static int do_task_hold(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct hold_params p;
	struct hold *h;
	struct task *t;
	int r;

	if (hold_params_parse(call, params, &p) < 0)
		return 0;
	t = task_find(d, p.task_id);
	if (!t || (p.instance && !streq(p.instance, t->instance)))
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task '%s'%s%s", p.task_id,
				      p.instance ? " of instance " : "", p.instance ?: "");
	if (t->phase != TASK_PHASE_READY && t->phase != TASK_PHASE_READY_PULL)
		return ctl_call_failf(call, CTL_ERR_BUSY,
				      "Task '%s' is %s: hold it once it is ready", t->id,
				      task_phase_to_string(t->phase));
	r = hold_add(d, t->id, t->instance, t->att.slot, p.holder, &h);
	if (r == -E2BIG)
		return ctl_call_failf(call, CTL_ERR_LIMIT, "Task '%s' has %d holders already",
				      t->id, HOLD_MAX_HOLDERS);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return ctl_call_fail_errno(call, r, "Failed to journal the hold: %s", strerror(-r));
	return ctl_call_reply(call, hold_to_json(h));
}

static int do_task_release(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct hold_params p;
	unsigned int n;

	if (hold_params_parse(call, params, &p) < 0)
		return 0;
	n = hold_release(d, p.task_id, p.instance, p.holder);
	return ctl_call_reply(call, json_pack("{s:s, s:s, s:i}", "task_id", p.task_id, "holder",
					      p.holder, "released", n));
}

static int do_task_holds(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	const char *holder = NULL;
	json_error_t jerr;

	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s}", "holder", &holder) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      jerr.text);
	if (holder && !ident_holder_valid(holder))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid holder '%.80s'",
				      holder);
	return ctl_call_reply(call, hold_list_json(d, holder));
}

const struct ctl_method hold_methods[] = { { "task.hold", do_task_hold, CTL_METHOD_WRITE },
					   { "task.release", do_task_release, CTL_METHOD_WRITE },
					   { "task.holds", do_task_holds, 0 },
					   {} };
