// SPDX-License-Identifier: GPL-2.0-only
/* Tasks (task.h): the task.* methods over the engine (attach.h) and the task plan (plans.h). */
#include <limits.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>

#include "attach.h"
#include "attachment.h"
#include "ctl-server.h"
#include "eni.h"
#include "event.h"
#include "events.h"
#include "guards.h"
#include "hold.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "mdlink.h"
#include "metrics.h"
#include "netd.h"
#include "params.h"
#include "plans.h"
#include "reaper.h"
#include "slots.h"
#include "step-tap.h"
#include "task.h"

#define TASK_MAX_ATTRS	32
#define TASK_MAX_STRING 256

static const char *const phase_names[] = {
	[TASK_PHASE_ATTACHING] = "ATTACHING",
	[TASK_PHASE_READY_PULL] = "READY_PULL",
	[TASK_PHASE_READY] = "READY",
	[TASK_PHASE_DETACHING] = "DETACHING",
};

const char *task_phase_to_string(enum task_phase p)
{
	return p < ARRAY_SIZE(phase_names) ? phase_names[p] : "UNKNOWN";
}

int task_phase_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(phase_names); i++)
		if (streq(phase_names[i], s))
			return (int)i;
	return -EINVAL;
}

struct task *task_find(struct netd *d, const char *id)
{
	for (struct task *t = d->tasks; t; t = t->next)
		if (streq(t->id, id))
			return t;
	return NULL;
}

static struct task *task_of(struct eni_attachment *a)
{
	return (struct task *)((char *)a - offsetof(struct task, att));
}

/* The task's phase, and its attachment's state with it. */
static void task_set_phase(struct task *t, enum task_phase p)
{
	static const enum attach_state states[] = {
		[TASK_PHASE_ATTACHING] = ATTACH_STATE_ATTACHING,
		[TASK_PHASE_READY_PULL] = ATTACH_STATE_ATTACHED,
		[TASK_PHASE_READY] = ATTACH_STATE_ATTACHED,
		[TASK_PHASE_DETACHING] = ATTACH_STATE_DETACHING,
	};

	t->phase = p;
	/*
	 * A task VM's ENI is shared with the namespace's own sockets in both ready phases
	 * (step-tap.h): its pulls in READY_PULL, its log shippers in READY.
	 */
	if (p == TASK_PHASE_READY_PULL || p == TASK_PHASE_READY)
		t->att.vm_share = true;
	t->att.state = states[p];
}

static int task_att_save(struct eni_attachment *a)
{
	struct task *t = task_of(a);

	return task_journal_save(t->d, t);
}

static const struct attach_owner_ops task_att_ops = { .save = task_att_save };

/* A task, empty, of netd d. */
static struct task *task_new(struct netd *d)
{
	struct task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->d = d;
	t->att.ops = &task_att_ops;
	t->att.plan = &plan_task;
	t->att.kind = "Task";
	t->att.id = t->id;
	return t;
}

struct task *task_free(struct task *t)
{
	if (!t)
		return NULL;
	attachment_done(&t->att);
	json_decref(t->attrs);
	free(t);
	return NULL;
}

bool task_is_live(struct netd *d, const char *id, const char *instance, unsigned int slot)
{
	struct task *t = task_find(d, id);

	return t && streq(t->instance, instance) && t->att.slot == slot;
}

/* A task joins netd's list, its attachment netd's attachments. */
static void task_link(struct netd *d, struct task *t)
{
	t->next = d->tasks;
	d->tasks = t;
	d->ntasks++;
	attachment_register(d, &t->att);
}

static void task_unlink(struct netd *d, struct task *t)
{
	attachment_unregister(d, &t->att);
	for (struct task **pp = &d->tasks; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			d->ntasks--;
			slots_drop(d->slots, t->att.slot, SLOT_OWNER_ATTACH);
			break;
		}
	if (t->att.eni && t->att.eni->att == &t->att)
		t->att.eni->att = NULL;
}

/* Forget a task: list, ENI claim, journal, waiter. */
static void task_remove(struct netd *d, struct task *t)
{
	int r;

	hold_task_gone(d, t->id, t->instance, t->att.slot);
	task_unlink(d, t);
	event_cancel(d->loop, t->wait_timer_id);
	t->wait_timer_id = 0;
	t->waiter = ctl_call_unref(t->waiter);
	r = journal_remove(d->journal, JOURNAL_TASK, t->id);
	if (r < 0)
		log_warn_errno(r, "Failed to remove the journal of task '%s': %m, ignoring", t->id);
	task_free(t);
}

/* --- JSON ---------------------------------------------------------------------------------- */

json_t *task_to_json(const struct task *t, bool journal)
{
	char mac[ADDR_MAC_STRLEN], buf[ADDR_PREFIX_STRLEN], ts[40];
	json_t *j, *ifaces, *ips, *routes;

	addr_mac_format(t->att.mac, mac);
	format_rfc3339_nsec(t->att.created_ns, ts, sizeof(ts));
	j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:b, s:s}", "task_id", t->id,
		      "instance", t->instance, "slot", t->att.slot, "phase",
		      task_phase_to_string(t->phase), "netns", t->att.netns_path, "mac", mac,
		      "ifname", t->att.ifname, "mtu", t->att.mtu, "block_imds", t->att.block_imds,
		      "created", ts);
	if (!j)
		return NULL;
	/* The holds have their own journal. */
	if (!journal && t->d) {
		json_t *holders = hold_holders_json(t->d, t->att.slot, t->instance);

		if (holders)
			json_object_set_new(j, "holders", holders);
	}
	if (t->att.orig_ifname[0])
		json_object_set_new(j, "host_ifname", json_string(t->att.orig_ifname));

	ifaces = json_pack("[{s:s, s:s, s:i, s:s}]", "name", t->att.ifname, "mac", mac, "mtu",
			   t->att.mtu, "sandbox", t->att.netns_path);
	json_object_set_new(j, "interfaces", ifaces);

	ips = json_array();
	for (unsigned int i = 0; i < t->att.naddrs; i++) {
		const struct in_prefix *a = &t->att.addrs[i];
		json_t *ip = json_pack("{s:s, s:i}", "address",
				       addr_prefix_format(a, buf, sizeof(buf)), "interface", 0);
		const struct in_prefix *gw = NULL;

		if (t->att.eni && a->family == AF_INET)
			gw = &t->att.eni->gateway;
		else if (t->att.eni && a->family == AF_INET6 && t->att.eni->gateway6.family)
			gw = &t->att.eni->gateway6;
		if (gw)
			json_object_set_new(ip, "gateway",
					    json_string(addr_ip_format(gw, buf, sizeof(buf))));
		json_array_append_new(ips, ip);
	}
	json_object_set_new(j, "ips", ips);

	routes = json_array();
	for (unsigned int i = 0; i < t->att.nroutes; i++)
		json_array_append_new(routes, params_route_to_json(&t->att.routes[i]));
	json_object_set_new(j, "routes", routes);
	if (t->att.metadata_link)
		json_object_set_new(j, "metadata", mdlink_to_json(&t->att));
	json_object_set_new(j, "dns", t->att.dns ? json_incref(t->att.dns) : json_object());
	if (t->att.plan == &plan_task_vm)
		json_object_set_new(j, "wiring", json_string("vm"));
	json_object_set_new(j, "attrs", t->attrs ? json_incref(t->attrs) : json_object());
	if (t->phase == TASK_PHASE_ATTACHING && t->waiter)
		json_object_set_new(j, "waiting_for_eni", json_true());

	if (journal) {
		json_object_set_new(
			j, "journal",
			json_pack("{s:I, s:I, s:I, s:s, s:i, s:i, s:i, s:s, s:s}", "netns_dev",
				  (json_int_t)t->att.netns_id.dev, "netns_ino",
				  (json_int_t)t->att.netns_id.ino, "created_ns",
				  (json_int_t)t->att.created_ns, "orig_ifname", t->att.orig_ifname,
				  "orig_mtu", t->att.orig_mtu, "ifindex", t->att.ifindex,
				  "steps_begun", t->att.steps_begun, "target_phase",
				  task_phase_to_string(t->target_phase), "fault", t->att.fault));
		json_t *jr = json_object_get(j, "journal");

		json_object_set_new(jr, "guards_table", json_string(t->att.guards_table));
		if (t->att.vm_port_range[0])
			json_object_set_new(jr, "vm_port_range", json_string(t->att.vm_port_range));
		if (t->att.resolv_written)
			json_object_set_new(
				jr, "resolv_conf",
				json_pack("{s:b}", "dir_created", t->att.resolv_dir_created));
	}
	return j;
}

/* --- parameters ---------------------------------------------------------------------------- */

static int parse_attrs(json_t *attrs, struct params_err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(attrs))
		return params_fail(e, "'attrs' must be an object of strings");
	if (json_object_size(attrs) > TASK_MAX_ATTRS)
		return params_fail(e, "'attrs' has more than %d keys", TASK_MAX_ATTRS);
	json_object_foreach(attrs, k, v) {
		if (strlen(k) == 0 || strlen(k) > 64)
			return params_fail(e, "attrs: keys must be 1..64 bytes");
		if (!json_is_string(v) || json_string_length(v) > TASK_MAX_STRING)
			return params_fail(e, "attrs['%s'] must be a string of at most %d bytes", k,
					   TASK_MAX_STRING);
	}
	return 0;
}

/*
 * Fill a new task from attach parameters (journal false) or from its journal (journal true).
 * ENI-dependent parts (default routes) are added by the caller.
 */
static int task_parse(struct netd *d, json_t *p, bool journal, struct task *t, struct params_err *e)
{
	const char *id = NULL, *netns = NULL, *mac = NULL, *ifname = NULL, *phase = NULL;
	json_t *addrs = NULL, *routes = NULL, *dns = NULL, *attrs = NULL, *mtu = NULL;
	json_t *timeout = NULL, *jr = NULL;
	const char *fault = NULL, *created = NULL, *host_ifname = NULL, *instance = NULL;
	const char *wiring = NULL;
	json_t *ifaces = NULL, *ips = NULL;
	int block_imds = 1, waiting = 0, slot = -1, metadata_link = 1, resolv_conf = 1;
	json_t *metadata = NULL;
	json_error_t jerr;
	size_t i;
	json_t *v;
	int r;

	if (!p)
		return params_fail(e, "Missing parameters 'task_id', 'netns', 'mac'");
	/* The journal is our own file, and newer netd versions may add members: not strict. */
	if (journal)
		r = json_unpack_ex(
			p, &jerr, 0,
			"{s:s, s?s, s:i, s:s, s:s, s:s, s:s, s:o, s:b, s:s, s?s, s:o, s:o, "
			"s:o, s:o, s:o, s?b, s?o, s:o, s?s}",
			"task_id", &id, "instance", &instance, "slot", &slot, "phase", &phase,
			"netns", &netns, "mac", &mac, "ifname", &ifname, "mtu", &mtu, "block_imds",
			&block_imds, "created", &created, "host_ifname", &host_ifname, "interfaces",
			&ifaces, "ips", &ips, "routes", &routes, "dns", &dns, "attrs", &attrs,
			"waiting_for_eni", &waiting, "metadata", &metadata, "journal", &jr,
			"wiring", &wiring);
	else
		r = json_unpack_ex(p, &jerr, JSON_STRICT,
				   "{s:s, s:s, s:s, s?s, s?o, s?o, s?o, s?o, s?b, s?b, s?b, s?s, "
				   "s?o, s?o, s?s, s?s}",
				   "task_id", &id, "netns", &netns, "mac", &mac, "ifname", &ifname,
				   "addresses", &addrs, "mtu", &mtu, "routes", &routes, "dns", &dns,
				   "block_imds", &block_imds, "metadata_link", &metadata_link,
				   "resolv_conf", &resolv_conf, "phase", &phase, "timeout_ms",
				   &timeout, "attrs", &attrs, "fault", &fault, "wiring", &wiring);
	if (r < 0)
		return params_fail(e, "Invalid parameters: %s", jerr.text);
	/* The VM wiring: the task's plan with the taps (step-tap.h) at its end. */
	if (wiring && streq(wiring, "vm"))
		t->att.plan = &plan_task_vm;
	else if (wiring && !streq(wiring, "none"))
		return params_fail(e, "Invalid wiring '%.32s' (want \"none\" or \"vm\")", wiring);

	if (journal) {
		if (slot < 0 || slot >= NETD_MAX_TASKS)
			return params_fail(e, "Invalid slot %d", slot);
		t->att.slot = (unsigned int)slot;
	}
	if (!ident_task_id_valid(id))
		return params_fail(
			e,
			"Invalid task_id '%.64s' (1-128 characters: a letter or digit, then letters, digits, '_', '.', '-')",
			id);
	strscpy(t->id, id, sizeof(t->id));
	/* A journal of an older netd has none: the task gets one now. */
	if (ident_instance_valid(instance))
		strscpy(t->instance, instance, sizeof(t->instance));
	else if (random_hex(t->instance, IDENT_INSTANCE_LEN / 2) < 0)
		return params_fail(e, "Failed to draw an instance id for task '%s'", id);
	r = params_link(&t->att, netns, mac, ifname, "eth1", mtu, TASK_DEFAULT_MTU, e);
	if (r < 0)
		return r;
	if (!journal)
		guards_table_name(t->att.ifname, t->att.guards_table);
	t->att.block_imds = block_imds;
	t->att.resolv_conf = resolv_conf;
	t->att.metadata_link = journal ? metadata != NULL : metadata_link;
	if (t->att.metadata_link && streq(t->att.ifname, MDLINK_IFNAME))
		return params_fail(e, "ifname '%s' is the metadata link's name; choose another",
				   MDLINK_IFNAME);

	t->target_phase = TASK_PHASE_READY;
	if (phase) {
		r = task_phase_from_string(phase);
		if (r < 0 || (!journal && r != TASK_PHASE_READY && r != TASK_PHASE_READY_PULL))
			return params_fail(e, "Invalid phase '%.32s' (want READY or READY_PULL)",
					   phase);
		if (journal)
			task_set_phase(t, (enum task_phase)r);
		else
			t->target_phase = (enum task_phase)r;
	}
	if (!journal)
		t->att.vm_share = true;

	if (journal) {
		/* addresses come back from the ips list */
		json_array_foreach(ips, i, v) {
			const char *a = json_string_value(json_object_get(v, "address"));

			if (t->att.naddrs >= ATTACH_MAX_ADDRS || !a ||
			    addr_prefix_parse(a, &t->att.addrs[t->att.naddrs]) < 0)
				return params_fail(e, "Invalid ips[%zu]", i);
			t->att.naddrs++;
		}
	} else if (addrs) {
		if (!json_is_array(addrs))
			return params_fail(e, "'addresses' must be an array of CIDR strings");
		if (json_array_size(addrs) > ATTACH_MAX_ADDRS)
			return params_fail(e, "Too many addresses (at most %d)", ATTACH_MAX_ADDRS);
		r = params_addresses(&t->att, addrs, e);
		if (r < 0)
			return r;
	}
	if (!journal && t->att.naddrs == 0)
		return params_fail(
			e, "At least one address is needed ('addresses': [\"198.18.1.2/16\"])");

	if (routes) {
		r = params_routes(&t->att, routes, journal, e);
		if (r < 0)
			return r;
	}
	r = params_attach_dns(&t->att, dns, e);
	if (r < 0)
		return r;
	if (attrs) {
		if (parse_attrs(attrs, e) < 0)
			return -EINVAL;
		if (json_object_size(attrs) > 0)
			t->attrs = json_incref(attrs);
	}
	if (fault && attach_fault_parse(d, &t->att, fault, e) < 0)
		return -EINVAL;
	if (timeout) {
		uint32_t ms;

		if (params_uint(timeout, "timeout_ms", 0, TASK_MAX_WAIT_MS, &ms, e) < 0)
			return -EINVAL;
		t->wait_ms = ms;
	} else {
		t->wait_ms = TASK_DEFAULT_WAIT_MS;
	}

	if (journal) {
		json_int_t dev = 0, ino = 0, cns = 0;
		int orig_mtu = 0, ifindex = 0, begun = 0;
		const char *orig = NULL, *target = NULL, *jfault = NULL, *table = NULL;
		const char *ports = NULL;
		int dir_created = 0;
		json_t *resolv = NULL;

		if (json_unpack_ex(jr, &jerr, 0,
				   "{s:I, s:I, s:I, s:s, s:i, s:i, s:i, s:s, s?s, s?s, s?o, s?s}",
				   "netns_dev", &dev, "netns_ino", &ino, "created_ns", &cns,
				   "orig_ifname", &orig, "orig_mtu", &orig_mtu, "ifindex", &ifindex,
				   "steps_begun", &begun, "target_phase", &target, "fault", &jfault,
				   "guards_table", &table, "resolv_conf", &resolv, "vm_port_range",
				   &ports) < 0 ||
		    (resolv &&
		     json_unpack_ex(resolv, &jerr, 0, "{s:b}", "dir_created", &dir_created) < 0))
			return params_fail(e, "journal: %s", jerr.text);
		/* Journals of netd versions with one table per namespace do not name it. */
		if (table && strlen(table) >= sizeof(t->att.guards_table))
			return params_fail(e, "journal: guards_table '%.40s' is too long", table);
		strscpy(t->att.guards_table, table ?: GUARDS_TABLE_LEGACY,
			sizeof(t->att.guards_table));
		t->att.resolv_written = resolv != NULL;
		if (ports)
			strscpy(t->att.vm_port_range, ports, sizeof(t->att.vm_port_range));
		t->att.resolv_dir_created = dir_created;
		t->att.netns_id = (struct netns_id){ .dev = (uint64_t)dev, .ino = (uint64_t)ino };
		t->att.created_ns = (uint64_t)cns;
		strscpy(t->att.orig_ifname, orig, sizeof(t->att.orig_ifname));
		t->att.orig_mtu = (unsigned int)orig_mtu;
		t->att.ifindex = ifindex;
		t->att.steps_begun = (unsigned int)MIN((unsigned int)begun, t->att.plan->nsteps);
		r = task_phase_from_string(target);
		t->target_phase = r < 0 ? TASK_PHASE_READY : (enum task_phase)r;
		/* An attach a restart cut: the phase it was going to. */
		if (t->phase == TASK_PHASE_ATTACHING)
			t->att.vm_share = true;
		if (jfault)
			strscpy(t->att.fault, jfault, sizeof(t->att.fault));
	}
	return 0;
}

int task_from_json(struct netd *d, json_t *j, struct task **ret)
{
	struct params_err pe = {};
	struct task *t;
	int r;

	t = task_new(d);
	if (!t)
		return -ENOMEM;
	r = task_parse(d, j, true, t, &pe);
	if (r < 0) {
		log_warn("Journal of a task is invalid: %s", pe.msg);
		task_free(t);
		return r;
	}
	r = slots_take(d->slots, (int)t->att.slot, SLOT_OWNER_ATTACH);
	if (r < 0) {
		r = slots_take(d->slots, -1, SLOT_OWNER_ATTACH);
		if (r < 0) {
			task_free(t);
			return r;
		}
		log_warn("Task '%s': slot %u is taken twice in the journal, using %d", t->id,
			 t->att.slot, r);
		t->att.slot = (unsigned int)r;
	}
	t->d = d;
	/* The instance drawn for a journal without one must stay the task's. */
	if (!json_object_get(j, "instance"))
		(void)task_journal_save(d, t);
	*ret = t;
	return 0;
}

int task_journal_save(struct netd *d, const struct task *t)
{
	return journal_save(d->journal, JOURNAL_TASK, t->id, task_to_json(t, true));
}

static int load_task(struct journal *j, const char *name, void *data)
{
	struct netd *d = data;
	char path[PATH_MAX];
	json_auto_t *v = NULL;
	struct task *t;
	int r;

	(void)journal_path(j, JOURNAL_TASK, name, path, sizeof(path));
	r = journal_load_warn(j, JOURNAL_TASK, name, &v);
	if (r < 0)
		return 0;
	r = task_from_json(d, v, &t);
	if (r < 0) {
		log_warn_errno(r, "Ignoring journal file '%s': %m", path);
		return 0;
	}
	task_link(d, t);
	return 0;
}

int task_journal_load(struct netd *d)
{
	int r;

	r = journal_foreach(d->journal, JOURNAL_TASK, load_task, d);
	if (r < 0)
		return log_err_errno(r, "Failed to read the journal in '%s': %m",
				     journal_dir(d->journal, JOURNAL_TASK));
	return 0;
}

/* --- running the steps --------------------------------------------------------------------- */

static void attach_fail(struct netd *d, struct task *t, struct ctl_call *call, int err,
			const char *msg)
{
	char mac[ADDR_MAC_STRLEN];

	addr_mac_format(t->att.mac, mac);
	events_emit(d, "task.attach_failed",
		    json_pack("{s:s, s:s, s:s}", "task_id", t->id, "mac", mac, "error", msg),
		    "Attach of task '%s' failed: %s", t->id, msg);
	if (call)
		ctl_call_fail_errno(call, err, "%s", msg);
	task_remove(d, t);
}

/* Run the plan; on failure it is undone in reverse. Answers call (which may be NULL). */
static void task_run_attach(struct netd *d, struct task *t, struct ctl_call *call)
{
	uint64_t started = now_usec();
	struct attach_failure f;
	char mac[ADDR_MAC_STRLEN];
	int r;

	addr_mac_format(t->att.mac, mac);
	r = attach_run(d, &t->att, &f);
	if (r < 0) {
		metrics_attach_failed(d, f.reason);
		if (!f.rolled_back) {
			/* Keep the record so that a detach can finish the job. */
			task_set_phase(t, TASK_PHASE_DETACHING);
			(void)task_journal_save(d, t);
			if (call)
				ctl_call_failf(
					call, ctl_error_code_from_errno(r),
					"%s; rollback incomplete (%s); 'netdctl task detach %s' retries it",
					f.message, f.undo_message, t->id);
			events_emit(d, "task.attach_failed",
				    json_pack("{s:s, s:s, s:s}", "task_id", t->id, "mac", mac,
					      "error", f.message),
				    "Attach of task '%s' failed and rollback is incomplete: %s",
				    t->id, f.undo_message);
			return;
		}
		attach_fail(d, t, call, r, f.message);
		return;
	}
	task_set_phase(t, t->target_phase);
	r = task_journal_save(d, t);
	if (r < 0)
		log_warn_errno(r, "Failed to journal task '%s': %m, ignoring", t->id);
	metrics_attach_done(d, now_usec() - started);
	events_emit(d, "task.attached",
		    json_pack("{s:s, s:s, s:s, s:s}", "task_id", t->id, "mac", mac, "netns",
			      t->att.netns_path, "phase", task_phase_to_string(t->phase)),
		    "Task '%s' attached: ENI %s ('%s') is '%s' in %s", t->id, mac,
		    t->att.orig_ifname, t->att.ifname, t->att.netns_path);
	if (call)
		ctl_call_reply(call, task_to_json(t, false));
}

/* --- waiting for the ENI ------------------------------------------------------------------- */

static void wait_timeout(struct event_loop *loop, void *data)
{
	struct task *t = data;
	char mac[ADDR_MAC_STRLEN], msg[200];
	struct ctl_call *call;

	t->wait_timer_id = 0;
	call = TAKE_PTR(t->waiter);
	addr_mac_format(t->att.mac, mac);
	snprintf(msg, sizeof(msg), "ENI %s did not appear within %u ms", mac, t->wait_ms);
	metrics_attach_failed(t->d, "timeout");
	attach_fail(t->d, t, call, -ETIMEDOUT, msg);
	ctl_call_unref(call);
}

void task_eni_appeared(struct netd *d, struct eni *e)
{
	/* A platform ENI's attachment is not a task's. */
	struct task *t = e->att && e->att->plan != &plan_platform ? task_of(e->att) : NULL;
	struct ctl_call *call;

	if (!t || !t->waiter || e->ifindex <= 0)
		return;
	event_cancel(d->loop, t->wait_timer_id);
	t->wait_timer_id = 0;
	call = TAKE_PTR(t->waiter);
	log_debug("Task '%s': ENI appeared after %llu ms", t->id,
		  (unsigned long long)((now_usec() - t->wait_started_usec) / 1000));
	if (!ctl_call_is_connected(call)) {
		metrics_attach_failed(d, "cancelled");
		attach_fail(d, t, NULL, -ECANCELED,
			    "The caller went away while waiting for the ENI");
		ctl_call_unref(call);
		return;
	}
	task_run_attach(d, t, call);
	ctl_call_unref(call);
}

/* --- methods ------------------------------------------------------------------------------- */

/* A platform namespace is the platform's alone: no task's ENI goes there (docs/PROTOCOL.md). */
static int task_netns_refused(struct ctl_call *call, struct netd *d, struct task *t)
{
	struct eni_attachment *other = params_netns_attachment(d, &t->att.netns_id);

	if (!other || other->plan != &plan_platform)
		return 0;
	ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
		       "Namespace '%s' is the platform namespace of '%s', not a task's",
		       t->att.netns_path, other->id);
	return -EINVAL;
}

/* The VM wiring's taps have fixed names: none may be there yet (one VM per namespace). */
static int task_vm_precheck(struct ctl_call *call, struct task *t)
{
	static const char *const taps[] = { STEP_TAP_ENI, STEP_TAP_METADATA };
	struct netlink *tnl = NULL;
	struct link_info li;
	int fd = -1, r;

	if (t->att.plan != &plan_task_vm)
		return 0;
	r = attachment_netns_open(&t->att, &fd);
	if (r >= 0)
		r = netlink_open(fd, &tnl);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(taps); i++) {
		r = netlink_link_get(tnl, 0, taps[i], &li);
		if (r == 0) {
			ctl_call_failf(
				call, CTL_ERR_EXISTS,
				"Interface '%s' (a task VM's tap) already exists in namespace '%s'; nothing was changed",
				taps[i], t->att.netns_path);
			r = -EEXIST;
		} else if (r == -ENODEV) {
			r = 0;
		}
	}
	if (r < 0 && !ctl_call_is_done(call))
		ctl_call_fail_errno(call, r, "Failed to inspect namespace '%s': %s",
				    t->att.netns_path, strerror(-r));
	netlink_free(tnl);
	safe_close(fd);
	return r;
}

static int parse_task_id(struct ctl_call *call, json_t *params, const char **ret)
{
	json_error_t jerr;

	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s}", "task_id", ret) < 0) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
			       params ? jerr.text : "missing 'task_id'");
		return -EINVAL;
	}
	if (!ident_task_id_valid(*ret)) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid task_id '%.64s'", *ret);
		return -EINVAL;
	}
	return 0;
}

static int do_task_attach(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	uint64_t t0;
	struct params_err pe = {};
	char mac[ADDR_MAC_STRLEN];
	struct task *t, *old;
	struct eni *e;
	int r;

	t = task_new(d);
	if (!t)
		return -ENOMEM;
	r = task_parse(d, params, false, t, &pe);
	if (r < 0) {
		task_free(t);
		if (r == -ENOMEM)
			return r;
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", pe.msg);
	}
	addr_mac_format(t->att.mac, mac);

	old = task_find(d, t->id);
	if (old) {
		ctl_call_failf(call, CTL_ERR_EXISTS, "Task '%s' already exists (phase %s, ENI %s)",
			       t->id, task_phase_to_string(old->phase),
			       addr_mac_format(old->att.mac, mac));
		task_free(t);
		return 0;
	}
	if (d->ntasks >= NETD_MAX_TASKS) {
		task_free(t);
		return ctl_call_failf(call, CTL_ERR_LIMIT, "Too many tasks (at most %d)",
				      NETD_MAX_TASKS);
	}
	e = eni_find(d, t->att.mac);
	if (!e) {
		task_free(t);
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND,
				      "Unknown ENI %s: it is not registered with netd", mac);
	}
	if (e->att) {
		ctl_call_failf(call, CTL_ERR_BUSY, "ENI %s is attached to task '%s'", mac,
			       e->att->id);
		task_free(t);
		return 0;
	}
	/*
	 * A task detached from this namespace a moment ago may still have its metadata link and
	 * guards there, waiting for the reaper: finish them first (and free their slot).
	 */
	reaper_flush_netns_path(d, t->att.netns_path);
	r = slots_take(d->slots, -1, SLOT_OWNER_ATTACH);
	if (r < 0) {
		task_free(t);
		return ctl_call_failf(call, CTL_ERR_LIMIT, "No free task slot");
	}
	t->att.slot = (unsigned int)r;
	t0 = now_usec();
	r = params_precheck(call, d, &t->att);
	log_debug("Task '%s': checks before the attach took %llu us", t->id,
		  (unsigned long long)(now_usec() - t0));
	if (r < 0) {
		slots_drop(d->slots, t->att.slot, SLOT_OWNER_ATTACH);
		task_free(t);
		return 0;
	}
	r = task_netns_refused(call, d, t);
	if (r >= 0)
		r = task_vm_precheck(call, t);
	if (r < 0) {
		slots_drop(d->slots, t->att.slot, SLOT_OWNER_ATTACH);
		task_free(t);
		return 0;
	}
	r = params_eni_routes(&t->att, e, !params_netns_attachment(d, &t->att.netns_id), &pe);
	if (r < 0) {
		slots_drop(d->slots, t->att.slot, SLOT_OWNER_ATTACH);
		task_free(t);
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", pe.msg);
	}

	t->att.created_ns = realtime_nsec();
	task_set_phase(t, TASK_PHASE_ATTACHING);
	t->att.eni = e;
	e->att = &t->att;
	task_link(d, t);

	if (e->ifindex <= 0) {
		if (t->wait_ms == 0) {
			attach_fail(d, t, call, -ETIMEDOUT,
				    "ENI is not on the host and timeout_ms is 0");
			return 0;
		}
		r = event_add_timer(d->loop, (uint64_t)t->wait_ms * 1000, wait_timeout, t, NULL);
		if (r < 0) {
			attach_fail(d, t, call, r, "Failed to arm the wait timer");
			return 0;
		}
		t->wait_timer_id = r;
		t->waiter = ctl_call_ref(call);
		t->wait_started_usec = now_usec();
		(void)task_journal_save(d, t);
		log_info("Task '%s': waiting up to %u ms for ENI %s to appear", t->id, t->wait_ms,
			 mac);
		return 0;
	}
	task_run_attach(d, t, call);
	return 0;
}

static int do_task_detach(struct ctl_call *call, json_t *params, void *userdata)
{
	uint64_t started = now_usec();
	struct netd *d = userdata;
	char err[600] = "", mac[ADDR_MAC_STRLEN];
	const char *id;
	json_t *result;
	struct task *t;
	int r;

	if (parse_task_id(call, params, &id) < 0)
		return 0;
	t = task_find(d, id);
	if (!t)
		return ctl_call_reply(call,
				      json_pack("{s:s, s:b, s:s}", "task_id", id, "detached", 0,
						"message", "No such task: nothing to detach"));
	addr_mac_format(t->att.mac, mac);
	result = json_pack("{s:s, s:b, s:s}", "task_id", t->id, "detached", 1, "mac", mac);

	if (t->waiter) {
		struct ctl_call *waiter = TAKE_PTR(t->waiter);

		metrics_attach_failed(d, "cancelled");
		ctl_call_failf(waiter, CTL_ERR_CANCELLED,
			       "Attach of task '%s' was cancelled by a detach", t->id);
		ctl_call_unref(waiter);
	} else {
		task_set_phase(t, TASK_PHASE_DETACHING);
		(void)task_journal_save(d, t);
		r = attach_undo(d, &t->att, true, err, sizeof(err));
		if (r < 0) {
			metrics_detach_failed(d, "teardown");
			(void)task_journal_save(d, t);
			json_decref(result);
			return ctl_call_fail_errno(
				call, r,
				"Detach of task '%s' failed: %s; the task stays in phase DETACHING and a new detach retries",
				t->id, err);
		}
	}
	attachment_release_eni(&t->att, result);
	metrics_detach_done(d, now_usec() - started);
	events_emit(
		d, "task.detached",
		json_pack("{s:s, s:s, s:s}", "task_id", t->id, "instance", t->instance, "mac", mac),
		"Task '%s' detached; ENI %s %s", t->id, mac,
		t->att.eni && t->att.eni->ifindex > 0 ? "is back on the host"
						      : "is not on the host");
	task_remove(d, t);
	return ctl_call_reply(call, result);
}

/* Compare a task's record with the kernel; diffs gets {what, expected, actual} entries. */
static int task_check(struct netd *d, struct task *t, json_t *diffs)
{
	if (t->phase != TASK_PHASE_READY && t->phase != TASK_PHASE_READY_PULL) {
		json_diff_append(diffs, "phase", task_phase_to_string(t->target_phase),
				 task_phase_to_string(t->phase));
		return 0;
	}
	return attach_check(d, &t->att, diffs);
}

static int do_task_check(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	json_t *diffs;
	const char *id;
	struct task *t;
	int r;

	if (parse_task_id(call, params, &id) < 0)
		return 0;
	t = task_find(d, id);
	if (!t)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task '%s'", id);
	diffs = json_array();
	r = task_check(d, t, diffs);
	if (r < 0) {
		json_decref(diffs);
		return ctl_call_fail_errno(call, r, "Failed to check task '%s': %s", id,
					   strerror(-r));
	}
	return ctl_call_reply(call, json_pack("{s:s, s:s, s:b, s:o}", "task_id", t->id, "phase",
					      task_phase_to_string(t->phase), "ok",
					      json_array_size(diffs) == 0, "differences", diffs));
}

static bool attrs_match(const struct task *t, json_t *want)
{
	const char *k;
	json_t *v;

	json_object_foreach(want, k, v) {
		json_t *have = t->attrs ? json_object_get(t->attrs, k) : NULL;

		if (!have || !json_equal(have, v))
			return false;
	}
	return true;
}

static int do_task_list(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	json_t *attrs = NULL, *arr;
	json_error_t jerr;

	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{s?o}", "attrs", &attrs) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      jerr.text);
	if (attrs && !json_is_object(attrs))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "'attrs' must be an object");
	arr = json_array();
	for (struct task *t = d->tasks; t; t = t->next)
		if (!attrs || attrs_match(t, attrs))
			json_array_append_new(arr, task_to_json(t, false));
	json_array_sort_by_key(arr, "task_id");
	return ctl_call_reply(call, arr);
}

static int do_task_show(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	const char *id;
	struct task *t;

	if (parse_task_id(call, params, &id) < 0)
		return 0;
	t = task_find(d, id);
	if (!t)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task '%s'", id);
	return ctl_call_reply(call, task_to_json(t, false));
}

static int do_task_set_phase(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	const char *id, *phase;
	json_error_t jerr;
	struct task *t;
	int p, r;

	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s, s:s}", "task_id", &id,
				      "phase", &phase) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing 'task_id', 'phase'");
	p = task_phase_from_string(phase);
	if (p != TASK_PHASE_READY && p != TASK_PHASE_READY_PULL)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "Invalid phase '%.32s' (want READY_PULL or READY)", phase);
	t = task_find(d, id);
	if (!t)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task '%.64s'", id);
	if (t->phase != TASK_PHASE_READY && t->phase != TASK_PHASE_READY_PULL)
		return ctl_call_failf(call, CTL_ERR_BUSY, "Task '%s' is %s", t->id,
				      task_phase_to_string(t->phase));
	if (t->phase != (enum task_phase)p) {
		char err[512];

		/* the sharing stays as it is (both phases); an attachment journalled when READY
		 * took it away gets it back */
		r = t->att.vm_share ? 0 : step_tap_share(d, &t->att, true, err, sizeof(err));
		if (r < 0)
			return ctl_call_fail_errno(call, r, "Task '%s' stays %s: %s", t->id,
						   task_phase_to_string(t->phase), err);
		task_set_phase(t, (enum task_phase)p);
		t->target_phase = (enum task_phase)p;
		(void)task_journal_save(d, t);
		events_emit(d, "task.phase",
			    json_pack("{s:s, s:s}", "task_id", t->id, "phase", phase),
			    "Task '%s' is now %s", t->id, phase);
	}
	return ctl_call_reply(call, task_to_json(t, false));
}

const struct ctl_method task_methods[] = { { "task.attach", do_task_attach, CTL_METHOD_WRITE },
					   { "task.detach", do_task_detach, CTL_METHOD_WRITE },
					   { "task.set_phase", do_task_set_phase,
					     CTL_METHOD_WRITE },
					   { "task.check", do_task_check, 0 },
					   { "task.list", do_task_list, 0 },
					   { "task.show", do_task_show, 0 },
					   {} };

/* --- start and stop ------------------------------------------------------------------------ */

int task_recover(struct netd *d)
{
	struct task *t, *next;

	for (t = d->tasks; t; t = t->next) {
		struct eni *e = eni_find(d, t->att.mac);

		t->d = d;
		if (!e) {
			log_warn(
				"Task '%s' names ENI that is not registered; detach will look for it by MAC",
				t->id);
			continue;
		}
		if (e->att) {
			log_warn("Tasks '%s' and '%s' both claim an ENI; keeping the first",
				 e->att->id, t->id);
			continue;
		}
		e->att = &t->att;
		t->att.eni = e;
	}

	for (t = d->tasks; t; t = next) {
		char err[600] = "";
		int r;

		next = t->next;
		switch (t->phase) {
		case TASK_PHASE_ATTACHING:
			r = attach_recover(d, &t->att, err, sizeof(err));
			if (r > 0) {
				task_set_phase(t, t->target_phase);
				(void)task_journal_save(d, t);
				events_emit(
					d, "task.recovered", json_pack("{s:s}", "task_id", t->id),
					"Task '%s': finished the attach interrupted by a restart",
					t->id);
				break;
			}
			if (r < 0) {
				task_set_phase(t, TASK_PHASE_DETACHING);
				(void)task_journal_save(d, t);
				log_warn("Task '%s': rolling back an interrupted attach failed: %s",
					 t->id, err);
				break;
			}
			events_emit(d, "task.rolled_back", json_pack("{s:s}", "task_id", t->id),
				    "Task '%s': undid an attach interrupted by a restart", t->id);
			task_remove(d, t);
			break;
		case TASK_PHASE_DETACHING:
			r = attach_undo(d, &t->att, false, err, sizeof(err));
			if (r < 0) {
				log_warn("Task '%s': finishing an interrupted detach failed: %s",
					 t->id, err);
				break;
			}
			events_emit(
				d, "task.detached",
				json_pack("{s:s, s:s}", "task_id", t->id, "instance", t->instance),
				"Task '%s': finished a detach interrupted by a restart", t->id);
			task_remove(d, t);
			break;
		case TASK_PHASE_READY_PULL:
		case TASK_PHASE_READY:
			r = attach_adopt(d, &t->att);
			if (r < 0) {
				log_warn(
					"Task '%s': namespace '%s' is gone; a detach releases its ENI",
					t->id, t->att.netns_path);
				break;
			}
			log_info("Task '%s' re-adopted (%s in %s)", t->id, t->att.ifname,
				 t->att.netns_path);
			break;
		}
	}
	return 0;
}

int task_init(struct netd *d)
{
	return 0;
}

void task_exit(struct netd *d)
{
	while (d->tasks) {
		struct task *t = d->tasks;

		d->tasks = t->next;
		attachment_unregister(d, &t->att);
		event_cancel(d->loop, t->wait_timer_id);
		if (t->waiter) {
			ctl_call_failf(t->waiter, CTL_ERR_UNAVAILABLE,
				       "netd is shutting down; attach of task '%s' abandoned",
				       t->id);
			ctl_call_unref(t->waiter);
			/* nothing was changed in the kernel; forget it */
			(void)journal_remove(d->journal, JOURNAL_TASK, t->id);
		}
		if (t->att.eni)
			t->att.eni->att = NULL;
		task_free(t);
	}
	d->ntasks = 0;
}
