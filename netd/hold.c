// SPDX-License-Identifier: GPL-2.0-only
/*
 * Holds. A client that answers for a task by its metadata address (the taskvm agent ties a
 * request to its task by the request's source address) holds the task under a name while it
 * does. A held task's slot, from which its metadata address, its host link's name and its
 * counter key derive, stays reserved after the task is detached, until the last holder releases
 * it: no new task is given an address that a holder may still answer for. A hold names one
 * instance of a task (an id can be attached again; an instance never is).
 *
 * One record per slot, journalled in state/holds/<slot>.json, so that a restart of netd keeps
 * both the holds of live tasks and the reserved slots of detached ones. Records are bounded by
 * the slots (NETD_MAX_TASKS), holders per task by NETD_MAX_HOLDERS.
 */
#include <limits.h>

#include "ctl-server.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "netd.h"

struct hold {
	struct hold *next;
	char task_id[IDENT_TASK_ID_MAX + 1];
	char instance[IDENT_INSTANCE_LEN + 1];
	unsigned int slot;
	bool detached;	      /* the task is gone; its slot is kept for the holders */
	uint64_t detached_ns; /* when it went */
	char holders[NETD_MAX_HOLDERS][IDENT_HOLDER_MAX + 1];
	unsigned int nholders;
};

static void hold_name(unsigned int slot, char buf[16])
{
	snprintf(buf, 16, "%u", slot);
}

static json_t *holders_to_json(const struct hold *h)
{
	json_t *arr = json_array();

	for (unsigned int i = 0; i < h->nholders; i++)
		json_array_append_new(arr, json_string(h->holders[i]));
	return arr;
}

static int hold_save(struct netd *d, const struct hold *h)
{
	char name[16];

	hold_name(h->slot, name);
	return journal_save(d->journal, JOURNAL_HOLD, name,
			    json_pack("{s:i, s:s, s:s, s:i, s:b, s:I, s:o}", "version", 1,
				      "task_id", h->task_id, "instance", h->instance, "slot",
				      h->slot, "detached", h->detached, "detached_ns",
				      (json_int_t)h->detached_ns, "holders", holders_to_json(h)));
}

static void hold_unlink_file(struct netd *d, const struct hold *h)
{
	char name[16];
	int r;

	hold_name(h->slot, name);
	r = journal_remove(d->journal, JOURNAL_HOLD, name);
	if (r < 0)
		log_warn_errno(r, "Failed to remove the hold journal of slot %u: %m, ignoring",
			       h->slot);
}

static struct hold *hold_of_task(struct netd *d, const struct task *t)
{
	for (struct hold *h = d->holds; h; h = h->next)
		if (!h->detached && h->slot == t->slot && streq(h->instance, t->instance))
			return h;
	return NULL;
}

static int holder_index(const struct hold *h, const char *holder)
{
	for (unsigned int i = 0; i < h->nholders; i++)
		if (streq(h->holders[i], holder))
			return (int)i;
	return -1;
}

static void hold_remove(struct netd *d, struct hold *h)
{
	for (struct hold **pp = &d->holds; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			d->nholds--;
			break;
		}
	free(h);
}

static json_t *hold_to_json(const struct hold *h)
{
	char addr[INET6_ADDRSTRLEN], host[IFNAMSIZ], ts[40];
	struct in_prefix a;
	json_t *j;

	j = json_pack("{s:s, s:s, s:i, s:s, s:o}", "task_id", h->task_id, "instance", h->instance,
		      "slot", h->slot, "state", h->detached ? "detached" : "attached", "holders",
		      holders_to_json(h));
	if (!j)
		return NULL;
	if (mdlink_address(h->slot, &a) == 0) {
		mdlink_host_ifname(h->slot, host);
		json_object_set_new(j, "metadata_address",
				    json_string(addr_ip_format(&a, addr, sizeof(addr))));
		json_object_set_new(j, "host_ifname", json_string(host));
	}
	if (h->detached && format_rfc3339_nsec(h->detached_ns, ts, sizeof(ts)) == 0)
		json_object_set_new(j, "detached", json_string(ts));
	return j;
}

bool hold_slot_held(struct netd *d, unsigned int slot)
{
	for (struct hold *h = d->holds; h; h = h->next)
		if (h->slot == slot)
			return true;
	return false;
}

json_t *hold_task_holders(struct netd *d, const struct task *t)
{
	struct hold *h = hold_of_task(d, t);

	return h ? holders_to_json(h) : NULL;
}

void hold_task_gone(struct netd *d, const struct task *t)
{
	struct hold *h = hold_of_task(d, t);
	char addr[INET6_ADDRSTRLEN] = "no address";
	struct in_prefix a;
	int r;

	if (!h)
		return;
	h->detached = true;
	h->detached_ns = realtime_nsec();
	r = hold_save(d, h);
	if (r < 0)
		log_warn_errno(r, "Failed to journal the hold of detached task '%s': %m, ignoring",
			       t->id);
	if (mdlink_address(h->slot, &a) == 0)
		addr_ip_format(&a, addr, sizeof(addr));
	events_emit(d, "task.held",
		    json_pack("{s:s, s:s, s:i, s:o}", "task_id", h->task_id, "instance",
			      h->instance, "slot", h->slot, "holders", holders_to_json(h)),
		    "Task '%s' is gone; its slot %u (%s) stays reserved until %s it", h->task_id,
		    h->slot, addr,
		    h->nholders == 1 ? "its holder releases" : "its holders release");
}

/* The last holder of a detached task is gone: its slot is free again. */
static void hold_free_slot(struct netd *d, struct hold *h, const char *why)
{
	unsigned int slot = h->slot;

	events_emit(d, "task.released",
		    json_pack("{s:s, s:s, s:i}", "task_id", h->task_id, "instance", h->instance,
			      "slot", slot),
		    "Slot %u of detached task '%s' is free again (%s)", slot, h->task_id, why);
	hold_unlink_file(d, h);
	hold_remove(d, h);
	/* The reaper may still need it for the task's metadata link; it frees it then. */
	if (!reaper_slot_pending(d, slot))
		task_slot_release(d, slot);
}

/* --- journal --------------------------------------------------------------------------------- */

static int hold_from_json(json_t *o, struct hold *h)
{
	const char *id = NULL, *instance = NULL;
	json_int_t detached_ns = 0;
	int slot = -1, detached = 0;
	json_t *holders = NULL, *v;
	size_t i;

	if (json_unpack(o, "{s:s, s:s, s:i, s:b, s:I, s:o}", "task_id", &id, "instance", &instance,
			"slot", &slot, "detached", &detached, "detached_ns", &detached_ns,
			"holders", &holders) < 0 ||
	    !ident_task_id_valid(id) || !ident_instance_valid(instance) || slot < 0 ||
	    slot >= NETD_MAX_TASKS || !json_is_array(holders) || json_array_size(holders) == 0 ||
	    json_array_size(holders) > NETD_MAX_HOLDERS)
		return -EINVAL;
	*h = (struct hold){ .slot = (unsigned int)slot,
			    .detached = detached,
			    .detached_ns = (uint64_t)detached_ns };
	strscpy(h->task_id, id, sizeof(h->task_id));
	strscpy(h->instance, instance, sizeof(h->instance));
	json_array_foreach(holders, i, v) {
		if (!ident_holder_valid(json_string_value(v)))
			return -EINVAL;
		strscpy(h->holders[h->nholders++], json_string_value(v), IDENT_HOLDER_MAX + 1);
	}
	return 0;
}

/* Take a hold from the journal into account: 0 kept, -errno dropped (logged). */
static int hold_adopt(struct netd *d, struct hold *h)
{
	struct task *t = task_find(d, h->task_id);

	if (t && streq(t->instance, h->instance) && t->slot == h->slot) {
		h->detached = false;
		return 0;
	}
	/* The task went while netd was not looking (a detach finished at start): keep its slot. */
	if (!h->detached) {
		h->detached = true;
		h->detached_ns = realtime_nsec();
		(void)hold_save(d, h);
	}
	if (task_slot_alloc(d, (int)h->slot) < 0 && !reaper_slot_pending(d, h->slot)) {
		log_warn("The hold of detached task '%s' on slot %u is lost: the slot is taken",
			 h->task_id, h->slot);
		return -EEXIST;
	}
	return 0;
}

static int load_hold(struct journal *j, const char *name, void *data)
{
	struct netd *d = data;
	json_auto_t *o = NULL;
	char path[PATH_MAX];
	struct hold *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (journal_load(j, JOURNAL_HOLD, name, &o, NULL) < 0 || hold_from_json(o, h) < 0 ||
	    strchr(name, '.') || (unsigned int)atoi(name) != h->slot ||
	    hold_slot_held(d, h->slot)) {
		(void)journal_path(j, JOURNAL_HOLD, name, path, sizeof(path));
		log_warn("Ignoring hold journal '%s'", path);
		(void)journal_remove(j, JOURNAL_HOLD, name);
		free(h);
		return 0;
	}
	if (hold_adopt(d, h) < 0) {
		(void)journal_remove(j, JOURNAL_HOLD, name);
		free(h);
		return 0;
	}
	h->next = d->holds;
	d->holds = h;
	d->nholds++;
	return 0;
}

int hold_init(struct netd *d)
{
	int r;

	r = journal_foreach(d->journal, JOURNAL_HOLD, load_hold, d);
	if (r < 0)
		return r;
	if (d->nholds)
		log_info("%u tasks are held", d->nholds);
	return 0;
}

void hold_exit(struct netd *d)
{
	while (d->holds) {
		struct hold *h = d->holds;

		d->holds = h->next;
		free(h);
	}
	d->nholds = 0;
}

/* --- methods --------------------------------------------------------------------------------- */

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
	bool created = false;
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
	h = hold_of_task(d, t);
	if (h && holder_index(h, p.holder) >= 0)
		return ctl_call_reply(call, hold_to_json(h));
	if (h && h->nholders >= NETD_MAX_HOLDERS)
		return ctl_call_failf(call, CTL_ERR_LIMIT, "Task '%s' has %d holders already",
				      t->id, NETD_MAX_HOLDERS);
	if (!h) {
		/* A detached task's record of this slot would have kept it from the new task. */
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		strscpy(h->task_id, t->id, sizeof(h->task_id));
		strscpy(h->instance, t->instance, sizeof(h->instance));
		h->slot = t->slot;
		created = true;
	}
	strscpy(h->holders[h->nholders++], p.holder, IDENT_HOLDER_MAX + 1);
	r = hold_save(d, h);
	if (r < 0) {
		h->nholders--;
		if (created)
			free(h);
		return ctl_call_fail_errno(call, r, "Failed to journal the hold: %s", strerror(-r));
	}
	if (created) {
		h->next = d->holds;
		d->holds = h;
		d->nholds++;
	}
	log_info("Task '%s' is held by '%s'", t->id, p.holder);
	return ctl_call_reply(call, hold_to_json(h));
}

static int do_task_release(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct hold_params p;
	struct hold *h, *next;
	unsigned int n = 0;
	int r;

	if (hold_params_parse(call, params, &p) < 0)
		return 0;
	for (h = d->holds; h; h = next) {
		int i;

		next = h->next;
		if (!streq(h->task_id, p.task_id) ||
		    (p.instance && !streq(h->instance, p.instance)))
			continue;
		i = holder_index(h, p.holder);
		if (i < 0)
			continue;
		memmove(h->holders[i], h->holders[i + 1],
			(h->nholders - (unsigned int)i - 1) * sizeof(h->holders[0]));
		h->nholders--;
		n++;
		log_info("Task '%s' released by '%s'", h->task_id, p.holder);
		if (h->nholders > 0) {
			r = hold_save(d, h);
			if (r < 0)
				log_warn_errno(r, "Failed to journal the hold of task '%s': %m",
					       h->task_id);
		} else if (h->detached) {
			hold_free_slot(d, h, "released by its last holder");
		} else {
			hold_unlink_file(d, h);
			hold_remove(d, h);
		}
	}
	return ctl_call_reply(call, json_pack("{s:s, s:s, s:i}", "task_id", p.task_id, "holder",
					      p.holder, "released", n));
}

static int do_task_holds(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	const char *holder = NULL;
	json_error_t jerr;
	json_t *arr;

	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s}", "holder", &holder) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      jerr.text);
	if (holder && !ident_holder_valid(holder))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid holder '%.80s'",
				      holder);
	arr = json_array();
	for (struct hold *h = d->holds; h; h = h->next)
		if (!holder || holder_index(h, holder) >= 0)
			json_array_append_new(arr, hold_to_json(h));
	json_array_sort_by_key(arr, "task_id");
	return ctl_call_reply(call, arr);
}

const struct ctl_method hold_methods[] = { { "task.hold", do_task_hold, CTL_METHOD_WRITE },
					   { "task.release", do_task_release, CTL_METHOD_WRITE },
					   { "task.holds", do_task_holds, 0 },
					   {} };
