// SPDX-License-Identifier: GPL-2.0-only
/* Platform ENIs (platform.h): the platform.* methods over the engine and the platform plan. */
#include <limits.h>

#include "attach.h"
#include "counters-bpf.h"
#include "devstats.h"
#include "drops.h"
#include "eni.h"
#include "events.h"
#include "guards.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "netd.h"
#include "params.h"
#include "plans.h"
#include "platform.h"
#include "reaper.h"
#include "slots.h"
#include "stats-json.h"
#include "step-counters.h"

#define PLATFORM_DEFAULT_MTU	9001
#define PLATFORM_DEFAULT_IFNAME "eth0"
#define PLATFORM_MAX		64

static const char *const state_names[] = {
	[ATTACH_STATE_ATTACHING] = "ATTACHING",
	[ATTACH_STATE_ATTACHED] = "ATTACHED",
	[ATTACH_STATE_DETACHING] = "DETACHING",
};

static const char *state_to_string(enum attach_state s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "UNKNOWN";
}

static int state_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++)
		if (streq(state_names[i], s))
			return (int)i;
	return -EINVAL;
}

static struct platform *platform_find(struct netd *d, const char *name)
{
	for (struct platform *p = d->platforms; p; p = p->next)
		if (streq(p->name, name))
			return p;
	return NULL;
}

static struct platform *platform_of(struct eni_attachment *a)
{
	return (struct platform *)((char *)a - offsetof(struct platform, att));
}

static int platform_journal_save(struct platform *p);

static int platform_att_save(struct eni_attachment *a)
{
	return platform_journal_save(platform_of(a));
}

static const struct attach_owner_ops platform_att_ops = { .save = platform_att_save };

static struct platform *platform_new(struct netd *d)
{
	struct platform *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->d = d;
	p->att.ops = &platform_att_ops;
	p->att.plan = &plan_platform;
	p->att.kind = "Platform ENI";
	p->att.id = p->id;
	/* The platform's namespace: nothing comes in from outside, IMDS is not blocked. */
	p->att.refuse_inbound = true;
	return p;
}

static struct platform *platform_free(struct platform *p)
{
	if (p) {
		attachment_done(&p->att);
		free(p);
	}
	return NULL;
}

static void platform_link(struct netd *d, struct platform *p)
{
	p->next = d->platforms;
	d->platforms = p;
	d->nplatforms++;
	attachment_register(d, &p->att);
}

/* Forget a platform ENI: list, slot, ENI claim, journal. */
static void platform_remove(struct netd *d, struct platform *p)
{
	int r;

	attachment_unregister(d, &p->att);
	for (struct platform **pp = &d->platforms; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			d->nplatforms--;
			slots_drop(d->slots, p->att.slot, SLOT_OWNER_ATTACH);
			break;
		}
	if (p->att.eni && p->att.eni->att == &p->att)
		p->att.eni->att = NULL;
	r = journal_remove(d->journal, JOURNAL_PLATFORM, p->name);
	if (r < 0)
		log_warn_errno(r, "Failed to remove the journal of platform ENI '%s': %m, ignoring",
			       p->name);
	platform_free(p);
}

/* --- JSON ---------------------------------------------------------------------------------- */

static json_t *platform_to_json(const struct platform *p, bool journal)
{
	const struct eni_attachment *a = &p->att;
	char mac[ADDR_MAC_STRLEN], buf[ADDR_PREFIX_STRLEN], ts[40];
	json_t *j, *addrs, *routes;

	addr_mac_format(a->mac, mac);
	format_rfc3339_nsec(a->created_ns, ts, sizeof(ts));
	j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:s}", "name", p->name, "id", p->id,
		      "slot", a->slot, "state", state_to_string(a->state), "netns", a->netns_path,
		      "mac", mac, "ifname", a->ifname, "mtu", a->mtu, "created", ts);
	if (!j)
		return NULL;
	if (a->orig_ifname[0])
		json_object_set_new(j, "host_ifname", json_string(a->orig_ifname));
	addrs = json_array();
	for (unsigned int i = 0; i < a->naddrs; i++)
		json_array_append_new(
			addrs, json_string(addr_prefix_format(&a->addrs[i], buf, sizeof(buf))));
	json_object_set_new(j, "addresses", addrs);
	routes = json_array();
	for (unsigned int i = 0; i < a->nroutes; i++)
		json_array_append_new(routes, params_route_to_json(&a->routes[i]));
	json_object_set_new(j, "routes", routes);
	json_object_set_new(j, "dns", a->dns ? json_incref(a->dns) : json_object());
	if (journal) {
		json_t *jr = json_pack(
			"{s:I, s:I, s:I, s:s, s:i, s:i, s:i, s:s, s:s}", "netns_dev",
			(json_int_t)a->netns_id.dev, "netns_ino", (json_int_t)a->netns_id.ino,
			"created_ns", (json_int_t)a->created_ns, "orig_ifname", a->orig_ifname,
			"orig_mtu", a->orig_mtu, "ifindex", a->ifindex, "steps_begun",
			a->steps_begun, "fault", a->fault, "guards_table", a->guards_table);

		if (jr && a->resolv_written)
			json_object_set_new(
				jr, "resolv_conf",
				json_pack("{s:b}", "dir_created", a->resolv_dir_created));
		json_object_set_new(j, "journal", jr);
	}
	return j;
}

static bool name_valid(const char *name)
{
	return strlen(name) <= PLATFORM_NAME_MAX && ident_task_id_valid(name);
}

/* A platform ENI from platform.attach's parameters, or from its journal. */
static int platform_parse(struct netd *d, json_t *j, bool journal, struct platform *p,
			  struct params_err *e)
{
	const char *name, *netns, *mac, *ifname = NULL, *fault = NULL, *state = NULL;
	json_t *addrs = NULL, *routes = NULL, *dns = NULL, *mtu = NULL, *jr = NULL;
	struct eni_attachment *a = &p->att;
	int slot = -1, r;
	json_error_t jerr;

	if (!j)
		return params_fail(e, "Missing parameters 'name', 'netns', 'mac', 'addresses'");
	if (journal)
		r = json_unpack_ex(j, &jerr, 0,
				   "{s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
				   "name", &name, "slot", &slot, "state", &state, "netns", &netns,
				   "mac", &mac, "ifname", &ifname, "mtu", &mtu, "addresses", &addrs,
				   "routes", &routes, "dns", &dns, "journal", &jr);
	else
		r = json_unpack_ex(
			j, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:o, s?s, s?o, s?o, s?o, s?s}",
			"name", &name, "netns", &netns, "mac", &mac, "addresses", &addrs, "ifname",
			&ifname, "mtu", &mtu, "routes", &routes, "dns", &dns, "fault", &fault);
	if (r < 0)
		return params_fail(e, "Invalid parameters: %s", jerr.text);
	if (!name_valid(name))
		return params_fail(
			e,
			"Invalid name '%.64s' (1-64 characters: a letter or digit, then letters, digits, '_', '.', '-')",
			name);
	strscpy(p->name, name, sizeof(p->name));
	snprintf(p->id, sizeof(p->id), PLATFORM_ID_PREFIX "%s", name);
	if (journal) {
		if (slot < 0 || slot >= NETD_MAX_TASKS)
			return params_fail(e, "Invalid slot %d", slot);
		a->slot = (unsigned int)slot;
		r = state_from_string(state);
		if (r < 0)
			return params_fail(e, "Invalid state '%.32s'", state);
		a->state = (enum attach_state)r;
	}
	r = params_link(a, netns, mac, ifname, PLATFORM_DEFAULT_IFNAME, mtu, PLATFORM_DEFAULT_MTU,
			e);
	if (r < 0)
		return r;

	if (!json_is_array(addrs))
		return params_fail(e, "'addresses' must be an array of CIDR strings");
	if (json_array_size(addrs) == 0 || json_array_size(addrs) > ATTACH_MAX_ADDRS)
		return params_fail(e, "'addresses' must have 1 to %d addresses", ATTACH_MAX_ADDRS);
	r = params_addresses(a, addrs, e);
	if (r >= 0 && routes)
		r = params_routes(a, routes, journal, e);
	if (r >= 0)
		r = params_attach_dns(a, dns, e);
	if (r < 0)
		return r;
	/* Its resolv.conf, if it has DNS: the platform's sockets resolve through it. */
	a->resolv_conf = a->dns != NULL;
	if (fault && attach_fault_parse(d, a, fault, e) < 0)
		return -EINVAL;
	if (!journal) {
		guards_table_name(a->ifname, a->guards_table);
		return 0;
	}

	{
		json_int_t dev = 0, ino = 0, cns = 0;
		int orig_mtu = 0, ifindex = 0, begun = 0, dir_created = 0;
		const char *orig = NULL, *jfault = NULL, *table = NULL;
		json_t *resolv = NULL;

		if (json_unpack_ex(jr, &jerr, 0,
				   "{s:I, s:I, s:I, s:s, s:i, s:i, s:i, s?s, s:s, s?o}",
				   "netns_dev", &dev, "netns_ino", &ino, "created_ns", &cns,
				   "orig_ifname", &orig, "orig_mtu", &orig_mtu, "ifindex", &ifindex,
				   "steps_begun", &begun, "fault", &jfault, "guards_table", &table,
				   "resolv_conf", &resolv) < 0 ||
		    (resolv &&
		     json_unpack_ex(resolv, &jerr, 0, "{s:b}", "dir_created", &dir_created) < 0))
			return params_fail(e, "journal: %s", jerr.text);
		if (strlen(table) >= sizeof(a->guards_table))
			return params_fail(e, "journal: guards_table '%.40s' is too long", table);
		strscpy(a->guards_table, table, sizeof(a->guards_table));
		a->resolv_written = resolv != NULL;
		a->resolv_dir_created = dir_created;
		a->netns_id = (struct netns_id){ .dev = (uint64_t)dev, .ino = (uint64_t)ino };
		a->created_ns = (uint64_t)cns;
		strscpy(a->orig_ifname, orig, sizeof(a->orig_ifname));
		a->orig_mtu = (unsigned int)orig_mtu;
		a->ifindex = ifindex;
		a->steps_begun = MIN((unsigned int)begun, plan_platform.nsteps);
		if (jfault)
			strscpy(a->fault, jfault, sizeof(a->fault));
	}
	return 0;
}

/* --- the journal --------------------------------------------------------------------------- */

static int platform_journal_save(struct platform *p)
{
	return journal_save(p->d->journal, JOURNAL_PLATFORM, p->name, platform_to_json(p, true));
}

static int load_platform(struct journal *j, const char *name, void *data)
{
	struct params_err pe = {};
	struct netd *d = data;
	char path[PATH_MAX];
	json_auto_t *v = NULL;
	struct platform *p;
	int r;

	(void)journal_path(j, JOURNAL_PLATFORM, name, path, sizeof(path));
	r = journal_load_warn(j, JOURNAL_PLATFORM, name, &v);
	if (r < 0)
		return 0;
	p = platform_new(d);
	if (!p)
		return log_oom();
	r = platform_parse(d, v, true, p, &pe);
	if (r == 0 && !streq(p->name, name))
		r = params_fail(&pe, "it names platform ENI '%s'", p->name);
	if (r == 0 && slots_take(d->slots, (int)p->att.slot, SLOT_OWNER_ATTACH) < 0) {
		/* As a task's journal (task_from_json()): a slot taken twice gets another. */
		r = slots_take(d->slots, -1, SLOT_OWNER_ATTACH);
		if (r < 0)
			params_fail(&pe, "no free slot for it");
		else
			log_warn(
				"Platform ENI '%s': slot %u is taken twice in the journal, using %d",
				p->name, p->att.slot, r);
		if (r >= 0)
			p->att.slot = (unsigned int)r;
	}
	if (r < 0) {
		log_warn("Ignoring journal file '%s': %s", path, pe.msg);
		platform_free(p);
		return 0;
	}
	platform_link(d, p);
	return 0;
}

int platform_journal_load(struct netd *d)
{
	int r;

	r = journal_foreach(d->journal, JOURNAL_PLATFORM, load_platform, d);
	if (r < 0)
		return log_err_errno(r, "Failed to read the journal in '%s': %m",
				     journal_dir(d->journal, JOURNAL_PLATFORM));
	return 0;
}

/* --- methods ------------------------------------------------------------------------------- */

static int parse_name(struct ctl_call *call, json_t *params, const char **ret)
{
	json_error_t jerr;

	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s}", "name", ret) < 0) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
			       params ? jerr.text : "missing 'name'");
		return -EINVAL;
	}
	if (!name_valid(*ret)) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid name '%.64s'", *ret);
		return -EINVAL;
	}
	return 0;
}

/* A platform namespace holds the platform ENI alone: no task's ENI, no other platform ENI. */
static int netns_refused(struct ctl_call *call, struct netd *d, struct platform *p)
{
	struct eni_attachment *other = params_netns_attachment(d, &p->att.netns_id);

	if (!other)
		return 0;
	ctl_call_failf(
		call, CTL_ERR_INVALID_PARAMS,
		"Namespace '%s' holds the ENI of %s '%s': a platform namespace is the platform's alone",
		p->att.netns_path, other->kind, other->id);
	return -EINVAL;
}

static int do_platform_attach(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct params_err pe = {};
	struct attach_failure f;
	char mac[ADDR_MAC_STRLEN];
	struct platform *p;
	struct eni *e;
	int r;

	p = platform_new(d);
	if (!p)
		return -ENOMEM;
	r = platform_parse(d, params, false, p, &pe);
	if (r < 0) {
		platform_free(p);
		if (r == -ENOMEM)
			return r;
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", pe.msg);
	}
	addr_mac_format(p->att.mac, mac);
	if (platform_find(d, p->name)) {
		ctl_call_failf(call, CTL_ERR_EXISTS, "Platform ENI '%s' already exists", p->name);
		platform_free(p);
		return 0;
	}
	if (d->nplatforms >= PLATFORM_MAX) {
		platform_free(p);
		return ctl_call_failf(call, CTL_ERR_LIMIT, "Too many platform ENIs (at most %d)",
				      PLATFORM_MAX);
	}
	e = eni_find(d, p->att.mac);
	if (!e || e->att || e->ifindex <= 0) {
		if (!e)
			ctl_call_failf(call, CTL_ERR_NOT_FOUND,
				       "Unknown ENI %s: it is not registered with netd", mac);
		else if (e->att)
			ctl_call_failf(call, CTL_ERR_BUSY, "ENI %s is attached to '%s'", mac,
				       e->att->id);
		else
			ctl_call_failf(call, CTL_ERR_NOT_FOUND, "ENI %s is not on the host", mac);
		platform_free(p);
		return 0;
	}
	reaper_flush_netns_path(d, p->att.netns_path);
	r = slots_take(d->slots, -1, SLOT_OWNER_ATTACH);
	if (r < 0) {
		platform_free(p);
		return ctl_call_failf(call, CTL_ERR_LIMIT, "No free slot");
	}
	p->att.slot = (unsigned int)r;
	r = params_precheck(call, d, &p->att);
	if (r >= 0)
		r = netns_refused(call, d, p);
	if (r >= 0) {
		r = params_eni_routes(&p->att, e, true, &pe);
		if (r < 0)
			ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", pe.msg);
	}
	if (r < 0) {
		slots_drop(d->slots, p->att.slot, SLOT_OWNER_ATTACH);
		platform_free(p);
		return 0;
	}

	p->att.created_ns = realtime_nsec();
	p->att.state = ATTACH_STATE_ATTACHING;
	p->att.eni = e;
	e->att = &p->att;
	platform_link(d, p);
	r = attach_run(d, &p->att, &f);
	if (r < 0) {
		if (!f.rolled_back) {
			/* Keep the record so that a detach can finish the job. */
			(void)platform_journal_save(p);
			ctl_call_failf(
				call, ctl_error_code_from_errno(r),
				"%s; rollback incomplete (%s); 'netdctl platform detach %s' retries it",
				f.message, f.undo_message, p->name);
			return 0;
		}
		events_emit(d, "platform.attach_failed",
			    json_pack("{s:s, s:s, s:s}", "name", p->name, "mac", mac, "error",
				      f.message),
			    "Attach of platform ENI '%s' failed: %s", p->name, f.message);
		ctl_call_fail_errno(call, r, "%s", f.message);
		platform_remove(d, p);
		return 0;
	}
	r = platform_journal_save(p);
	if (r < 0)
		log_warn_errno(r, "Failed to journal platform ENI '%s': %m, ignoring", p->name);
	events_emit(d, "platform.attached",
		    json_pack("{s:s, s:s, s:s}", "name", p->name, "mac", mac, "netns",
			      p->att.netns_path),
		    "Platform ENI '%s' attached: ENI %s ('%s') is '%s' in %s", p->name, mac,
		    p->att.orig_ifname, p->att.ifname, p->att.netns_path);
	return ctl_call_reply(call, platform_to_json(p, false));
}

static int do_platform_detach(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	char err[600] = "", mac[ADDR_MAC_STRLEN];
	struct platform *p;
	const char *name;
	json_t *result;
	int r;

	if (parse_name(call, params, &name) < 0)
		return 0;
	p = platform_find(d, name);
	if (!p)
		return ctl_call_reply(call, json_pack("{s:s, s:b, s:s}", "name", name, "detached",
						      0, "message",
						      "No such platform ENI: nothing to detach"));
	addr_mac_format(p->att.mac, mac);
	p->att.state = ATTACH_STATE_DETACHING;
	(void)platform_journal_save(p);
	r = attach_undo(d, &p->att, true, err, sizeof(err));
	if (r < 0) {
		(void)platform_journal_save(p);
		return ctl_call_fail_errno(
			call, r,
			"Detach of platform ENI '%s' failed: %s; it stays DETACHING and a new detach retries",
			p->name, err);
	}
	result = json_pack("{s:s, s:b, s:s}", "name", p->name, "detached", 1, "mac", mac);
	attachment_release_eni(&p->att, result);
	events_emit(d, "platform.detached", json_pack("{s:s, s:s}", "name", p->name, "mac", mac),
		    "Platform ENI '%s' detached", p->name);
	platform_remove(d, p);
	return ctl_call_reply(call, result);
}

static int platform_check(struct netd *d, struct platform *p, json_t *diffs)
{
	if (p->att.state != ATTACH_STATE_ATTACHED) {
		json_diff_append(diffs, "state", "ATTACHED", state_to_string(p->att.state));
		return 0;
	}
	return attach_check(d, &p->att, diffs);
}

static int do_platform_check(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct platform *p;
	const char *name;
	json_t *diffs;
	int r;

	if (parse_name(call, params, &name) < 0)
		return 0;
	p = platform_find(d, name);
	if (!p)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such platform ENI '%s'", name);
	diffs = json_array();
	r = platform_check(d, p, diffs);
	if (r < 0) {
		json_decref(diffs);
		return ctl_call_fail_errno(call, r, "Failed to check platform ENI '%s': %s", name,
					   strerror(-r));
	}
	return ctl_call_reply(call, json_pack("{s:s, s:s, s:b, s:o}", "name", p->name, "state",
					      state_to_string(p->att.state), "ok",
					      json_array_size(diffs) == 0, "differences", diffs));
}

static int do_platform_list(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	json_error_t jerr;
	json_t *arr;

	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{}") < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      jerr.text);
	arr = json_array();
	for (struct platform *p = d->platforms; p; p = p->next)
		json_array_append_new(arr, platform_to_json(p, false));
	json_array_sort_by_key(arr, "name");
	return ctl_call_reply(call, arr);
}

/* Its counters now: every packet by flow, what it attributed to tasks, the platform's own. */
static json_t *platform_stats(struct netd *d, struct platform *p)
{
	struct counters_rec *rec = step_counters_rec(d, &p->att);
	struct counters_snapshot snap;
	struct jbuf b = {};
	struct stats_in in;
	json_t *j;

	if (!rec)
		return NULL;
	drops_refresh(d, &p->att);
	if (counters_bpf_read(d->bpf, p->att.slot, &snap) < 0)
		return NULL;
	{
		struct devstats_query q = { .nsid = rec->nsid,
					    .ifindex = rec->ifindex,
					    .mac = rec->mac };

		if (devstats_read(d->devstats, &q, 1) == 0 && q.error == 0) {
			rec->dev = q.stats;
			rec->have_dev = true;
		}
	}
	in = (struct stats_in){
		.id = p->name,
		.slot = p->att.slot,
		.phase = state_to_string(p->att.state),
		.time_ns = realtime_nsec(),
		.ifname = p->att.ifname,
		.snap = &snap,
		.dev = rec->have_dev ? &rec->dev : NULL,
		.base = rec->have_base ? &rec->base : NULL,
		.attached_ns = rec->attached_ns,
		.window_sec = d->stats_interval_sec,
		.platform_eni = true,
	};
	stats_json_write(&b, &in);
	j = b.oom ? NULL : json_loadb(b.buf, b.len, 0, NULL);
	jb_done(&b);
	return j;
}

static int do_platform_show(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct platform *p;
	const char *name;
	json_t *j, *stats;

	if (parse_name(call, params, &name) < 0)
		return 0;
	p = platform_find(d, name);
	if (!p)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such platform ENI '%s'", name);
	j = platform_to_json(p, false);
	stats = p->att.state == ATTACH_STATE_ATTACHED ? platform_stats(d, p) : NULL;
	if (j && stats)
		json_object_set_new(j, "stats", stats);
	else
		json_decref(stats);
	return ctl_call_reply(call, j);
}

const struct ctl_method platform_methods[] = {
	{ "platform.attach", do_platform_attach, CTL_METHOD_WRITE },
	{ "platform.detach", do_platform_detach, CTL_METHOD_WRITE },
	{ "platform.check", do_platform_check, 0 },
	{ "platform.list", do_platform_list, 0 },
	{ "platform.show", do_platform_show, 0 },
	{},
};

/* --- start and stop ------------------------------------------------------------------------ */

int platform_recover(struct netd *d)
{
	struct platform *p, *next;

	for (p = d->platforms; p; p = p->next) {
		struct eni *e = eni_find(d, p->att.mac);

		if (!e) {
			log_warn(
				"Platform ENI '%s' names an ENI that is not registered; detach will look for it by MAC",
				p->name);
			continue;
		}
		if (e->att) {
			log_warn("'%s' and '%s' both claim an ENI; keeping the first", e->att->id,
				 p->id);
			continue;
		}
		e->att = &p->att;
		p->att.eni = e;
	}
	for (p = d->platforms; p; p = next) {
		char err[600] = "";
		int r;

		next = p->next;
		switch (p->att.state) {
		case ATTACH_STATE_ATTACHING:
			r = attach_recover(d, &p->att, err, sizeof(err));
			if (r > 0) {
				(void)platform_journal_save(p);
				events_emit(
					d, "platform.recovered",
					json_pack("{s:s}", "name", p->name),
					"Platform ENI '%s': finished the attach interrupted by a restart",
					p->name);
				break;
			}
			if (r < 0) {
				(void)platform_journal_save(p);
				log_warn(
					"Platform ENI '%s': rolling back an interrupted attach failed: %s",
					p->name, err);
				break;
			}
			events_emit(d, "platform.rolled_back", json_pack("{s:s}", "name", p->name),
				    "Platform ENI '%s': undid an attach interrupted by a restart",
				    p->name);
			platform_remove(d, p);
			break;
		case ATTACH_STATE_DETACHING:
			r = attach_undo(d, &p->att, false, err, sizeof(err));
			if (r < 0) {
				log_warn(
					"Platform ENI '%s': finishing an interrupted detach failed: %s",
					p->name, err);
				break;
			}
			events_emit(d, "platform.detached", json_pack("{s:s}", "name", p->name),
				    "Platform ENI '%s': finished a detach interrupted by a restart",
				    p->name);
			platform_remove(d, p);
			break;
		case ATTACH_STATE_ATTACHED:
			r = attach_adopt(d, &p->att);
			if (r < 0) {
				log_warn(
					"Platform ENI '%s': namespace '%s' is gone; a detach releases its ENI",
					p->name, p->att.netns_path);
				break;
			}
			log_info("Platform ENI '%s' re-adopted (%s in %s)", p->name, p->att.ifname,
				 p->att.netns_path);
			break;
		}
	}
	return 0;
}

void platform_exit(struct netd *d)
{
	while (d->platforms) {
		struct platform *p = d->platforms;

		d->platforms = p->next;
		attachment_unregister(d, &p->att);
		if (p->att.eni && p->att.eni->att == &p->att)
			p->att.eni->att = NULL;
		platform_free(p);
	}
	d->nplatforms = 0;
}
