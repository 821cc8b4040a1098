// SPDX-License-Identifier: GPL-2.0-only
#include <limits.h>

#include "events.h"
#include "hold.h"
#include "ident.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "mdlink.h"
#include "netd.h"
#include "slots.h"

struct hold {
	struct hold *next;
	char task_id[IDENT_TASK_ID_MAX + 1];
	char instance[IDENT_INSTANCE_LEN + 1];
	unsigned int slot;
	bool detached;	      /* the task is gone; its slot is kept for the holders */
	uint64_t detached_ns; /* when it went */
	char holders[HOLD_MAX_HOLDERS][IDENT_HOLDER_MAX + 1];
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

struct hold *hold_find(struct netd *d, unsigned int slot, const char *instance)
{
	for (struct hold *h = d->holds; h; h = h->next)
		if (!h->detached && h->slot == slot && streq(h->instance, instance))
			return h;
	return NULL;
}

unsigned int hold_count(struct netd *d)
{
	return d->nholds;
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

json_t *hold_to_json(const struct hold *h)
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

/* Whether a record keeps the slot (of a live task or a gone one). */
static bool slot_held(struct netd *d, unsigned int slot)
{
	for (struct hold *h = d->holds; h; h = h->next)
		if (h->slot == slot)
			return true;
	return false;
}

json_t *hold_holders_json(struct netd *d, unsigned int slot, const char *instance)
{
	struct hold *h = hold_find(d, slot, instance);

	return h ? holders_to_json(h) : NULL;
}

void hold_task_gone(struct netd *d, const char *task_id, const char *instance, unsigned int slot)
{
	struct hold *h = hold_find(d, slot, instance);
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
			       task_id);
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
	/* The reaper may still need it for the task's metadata link: free once it is done too. */
	slots_drop(d->slots, slot, SLOT_OWNER_HOLD);
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
	    json_array_size(holders) > HOLD_MAX_HOLDERS)
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
static int hold_adopt(struct netd *d, struct hold *h, hold_live_fn live)
{
	if (live(d, h->task_id, h->instance, h->slot)) {
		h->detached = false;
		return slots_share(d->slots, h->slot, SLOT_OWNER_HOLD);
	}
	/* The task went while netd was not looking (a detach finished at start): keep its slot,
	 * which may be the reaper's still. */
	if (!h->detached) {
		h->detached = true;
		h->detached_ns = realtime_nsec();
		(void)hold_save(d, h);
	}
	if (slots_owners(d->slots, h->slot) & ~(unsigned int)SLOT_OWNER_REAP) {
		log_warn("The hold of detached task '%s' on slot %u is lost: the slot is taken",
			 h->task_id, h->slot);
		return -EEXIST;
	}
	return slots_share(d->slots, h->slot, SLOT_OWNER_HOLD);
}

struct load_ctx {
	struct netd *d;
	hold_live_fn live;
};

static int load_hold(struct journal *j, const char *name, void *data)
{
	struct load_ctx *c = data;
	struct netd *d = c->d;
	json_auto_t *o = NULL;
	char path[PATH_MAX];
	struct hold *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (journal_load(j, JOURNAL_HOLD, name, &o, NULL) < 0 || hold_from_json(o, h) < 0 ||
	    strchr(name, '.') || (unsigned int)atoi(name) != h->slot || slot_held(d, h->slot)) {
		(void)journal_path(j, JOURNAL_HOLD, name, path, sizeof(path));
		log_warn("Ignoring hold journal '%s'", path);
		(void)journal_remove(j, JOURNAL_HOLD, name);
		free(h);
		return 0;
	}
	if (hold_adopt(d, h, c->live) < 0) {
		(void)journal_remove(j, JOURNAL_HOLD, name);
		free(h);
		return 0;
	}
	h->next = d->holds;
	d->holds = h;
	d->nholds++;
	return 0;
}

int hold_init(struct netd *d, hold_live_fn live)
{
	struct load_ctx c = { .d = d, .live = live };
	int r;

	r = journal_foreach(d->journal, JOURNAL_HOLD, load_hold, &c);
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

/* --- changes ---------------------------------------------------------------------------------- */

int hold_add(struct netd *d, const char *task_id, const char *instance, unsigned int slot,
	     const char *holder, struct hold **ret)
{
	struct hold *h = hold_find(d, slot, instance);
	bool created = false;
	int r;

	if (h && holder_index(h, holder) >= 0) {
		*ret = h;
		return 0;
	}
	if (h && h->nholders >= HOLD_MAX_HOLDERS)
		return -E2BIG;
	if (!h) {
		/* A detached task's record of this slot would have kept it from the new task. */
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		strscpy(h->task_id, task_id, sizeof(h->task_id));
		strscpy(h->instance, instance, sizeof(h->instance));
		h->slot = slot;
		created = true;
	}
	strscpy(h->holders[h->nholders++], holder, IDENT_HOLDER_MAX + 1);
	r = hold_save(d, h);
	if (r < 0) {
		h->nholders--;
		if (created)
			free(h);
		return r;
	}
	if (created) {
		(void)slots_share(d->slots, slot, SLOT_OWNER_HOLD);
		h->next = d->holds;
		d->holds = h;
		d->nholds++;
	}
	log_info("Task '%s' is held by '%s'", task_id, holder);
	*ret = h;
	return 1;
}

unsigned int hold_release(struct netd *d, const char *task_id, const char *instance,
			  const char *holder)
{
	struct hold *h, *next;
	unsigned int n = 0;
	int r;

	for (h = d->holds; h; h = next) {
		int i;

		next = h->next;
		if (!streq(h->task_id, task_id) || (instance && !streq(h->instance, instance)))
			continue;
		i = holder_index(h, holder);
		if (i < 0)
			continue;
		memmove(h->holders[i], h->holders[i + 1],
			(h->nholders - (unsigned int)i - 1) * sizeof(h->holders[0]));
		h->nholders--;
		n++;
		log_info("Task '%s' released by '%s'", h->task_id, holder);
		if (h->nholders > 0) {
			r = hold_save(d, h);
			if (r < 0)
				log_warn_errno(r, "Failed to journal the hold of task '%s': %m",
					       h->task_id);
		} else if (h->detached) {
			hold_free_slot(d, h, "released by its last holder");
		} else {
			unsigned int slot = h->slot;

			hold_unlink_file(d, h);
			hold_remove(d, h);
			slots_drop(d->slots, slot, SLOT_OWNER_HOLD);
		}
	}
	return n;
}

json_t *hold_list_json(struct netd *d, const char *holder)
{
	json_t *arr = json_array();

	for (struct hold *h = d->holds; h; h = h->next)
		if (!holder || holder_index(h, holder) >= 0)
			json_array_append_new(arr, hold_to_json(h));
	json_array_sort_by_key(arr, "task_id");
	return arr;
}
