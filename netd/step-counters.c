// SPDX-License-Identifier: GPL-2.0-only
/* The counters step (step-counters.h). */
#include <limits.h>

#include "devstats.h"
#include "drops.h"
#include "events.h"
#include "finals.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "netd.h"
#include "step-counters.h"

struct counters_records {
	struct counters_rec *slots[TC_SLOTS];
};

/* --- the counters journal: what a restarted netd needs to know of an attach ---------------- */

static json_t *dev_json(const struct link_stats *v, const char *ifname)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes",
			      (json_int_t)v->rx_bytes, "rx_packets", (json_int_t)v->rx_packets,
			      "rx_errors", (json_int_t)v->rx_errors, "rx_dropped",
			      (json_int_t)v->rx_dropped, "tx_bytes", (json_int_t)v->tx_bytes,
			      "tx_packets", (json_int_t)v->tx_packets, "tx_errors",
			      (json_int_t)v->tx_errors, "tx_dropped", (json_int_t)v->tx_dropped);

	if (j && ifname)
		json_object_set_new(j, "ifname", json_string(ifname));
	return j;
}

static void dev_from_json(json_t *j, struct link_stats *ret)
{
	*ret = (struct link_stats){
		.rx_bytes = (uint64_t)json_integer_value(json_object_get(j, "rx_bytes")),
		.rx_packets = (uint64_t)json_integer_value(json_object_get(j, "rx_packets")),
		.rx_errors = (uint64_t)json_integer_value(json_object_get(j, "rx_errors")),
		.rx_dropped = (uint64_t)json_integer_value(json_object_get(j, "rx_dropped")),
		.tx_bytes = (uint64_t)json_integer_value(json_object_get(j, "tx_bytes")),
		.tx_packets = (uint64_t)json_integer_value(json_object_get(j, "tx_packets")),
		.tx_errors = (uint64_t)json_integer_value(json_object_get(j, "tx_errors")),
		.tx_dropped = (uint64_t)json_integer_value(json_object_get(j, "tx_dropped")),
	};
}

static int rec_save(struct netd *d, const struct counters_rec *rec)
{
	json_t *j;

	j = json_pack("{s:i, s:I, s:I, s:i, s:b, s:I}", "slot", rec->slot, "created_ns",
		      (json_int_t)rec->created_ns, "cookie", (json_int_t)rec->cookie, "ifindex",
		      rec->ifindex, "hook_created", rec->hook_created, "attached_ns",
		      (json_int_t)rec->attached_ns);
	if (j && rec->have_base)
		json_object_set_new(j, "device_at_attach", dev_json(&rec->base, NULL));
	return journal_save(d->journal, JOURNAL_COUNTERS, rec->id, j);
}

static void rec_unsave(struct netd *d, const char *id)
{
	int r = journal_remove(d->journal, JOURNAL_COUNTERS, id);

	if (r < 0)
		log_warn_errno(r, "Failed to remove the counters journal of '%s': %m, ignoring",
			       id);
}

/* A record for t from its counters journal (-ENOENT if none, or if it is another task's). */
static int rec_load(struct netd *d, const struct eni_attachment *t, struct counters_rec *rec)
{
	json_int_t created = 0, cookie = 0, attached = 0;
	int slot = -1, ifindex = 0, hook = 0;
	json_t *base = NULL;
	char path[PATH_MAX];
	json_auto_t *j = NULL;
	json_error_t jerr;
	int r;

	r = journal_load(d->journal, JOURNAL_COUNTERS, t->id, &j, &jerr);
	if (r == -EBADMSG ||
	    (r == 0 && json_unpack_ex(j, &jerr, 0, "{s:i, s:I, s:I, s:i, s:b, s:I, s?o}", "slot",
				      &slot, "created_ns", &created, "cookie", &cookie, "ifindex",
				      &ifindex, "hook_created", &hook, "attached_ns", &attached,
				      "device_at_attach", &base) < 0)) {
		(void)journal_path(d->journal, JOURNAL_COUNTERS, t->id, path, sizeof(path));
		log_warn("Counters journal '%s' is invalid (%s), ignoring it", path, jerr.text);
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	if ((unsigned int)slot != t->slot || (uint64_t)created != t->created_ns)
		return -ENOENT;
	rec->cookie = (uint32_t)cookie;
	rec->ifindex = ifindex;
	rec->hook_created = hook;
	rec->attached_ns = (uint64_t)attached;
	if (base) {
		dev_from_json(base, &rec->base);
		rec->have_base = true;
	}
	return 0;
}

/* --- records ------------------------------------------------------------------------------- */

static struct counters_rec *rec_free(struct counters_rec *rec)
{
	free(rec);
	return NULL;
}

static struct counters_rec *rec_new(const struct eni_attachment *t)
{
	struct counters_rec *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->slot = t->slot;
	strscpy(rec->id, t->id, sizeof(rec->id));
	rec->created_ns = t->created_ns;
	rec->ifindex = t->ifindex;
	rec->nsid = -1;
	memcpy(rec->mac, t->mac, ADDR_MAC_LEN);
	return rec;
}

/* The ENI's link statistics, from netd's namespace. */
static int rec_devstats(struct netd *d, const struct counters_rec *rec, struct link_stats *ret)
{
	struct devstats_query q = { .nsid = rec->nsid, .ifindex = rec->ifindex, .mac = rec->mac };
	int r;

	r = devstats_read(d->devstats, &q, 1);
	if (r == 0)
		r = q.error;
	if (r == 0)
		*ret = q.stats;
	return r;
}

/* --- the step ---------------------------------------------------------------------------------- */

/* Which programs an attachment's ENI has: a task's (TC_FLOW_COUNT) or a platform ENI's. */
static unsigned int prog_kind(const struct eni_attachment *a)
{
	for (unsigned int i = 0; a->plan && i < a->plan->nsteps; i++)
		if (a->plan->steps[i] == &step_counters_platform)
			return COUNTERS_PLATFORM;
	return TC_FLOW_COUNT;
}

/*
 * Loading the programs (the verifier) takes a few milliseconds of CPU and needs nothing of the
 * namespace, while the move that comes first in an attach spends ~16 ms asleep in the kernel
 * waiting for an RCU grace period. So an attach starts the load on a helper thread before the
 * move (prepare), and the step takes the result.
 */
static int counters_prepare(struct attach_ctx *c)
{
	struct counters_load_opts o = { .slot = c->a->slot,
					.cookie = counters_bpf_cookie(),
					.fixed_flow = prog_kind(c->a),
					.addrs = c->a->addrs,
					.naddrs = c->a->naddrs };
	struct counters_load *l = NULL;
	int r;

	if (c->priv || c->a->slot >= TC_SLOTS)
		return 0;
	r = counters_bpf_load_start(c->d->bpf, &o, &l);
	if (r < 0) {
		/* The step loads them itself then. */
		log_debug_errno(r, "%s '%s': no early load of the counters (%m)", c->a->kind,
				c->a->id);
		return 0;
	}
	c->priv = l;
	return 0;
}

/* The early load, if there was one: 1 with its programs and cookie, 0 none, -errno failed. */
static int prepared_take(struct attach_ctx *c, struct counters_prog **ret, uint32_t *ret_cookie)
{
	struct counters_load *l = c->priv;

	if (!l)
		return 0;
	c->priv = NULL;
	return counters_load_finish(l, ret, ret_cookie);
}

static void counters_release(struct attach_ctx *c)
{
	struct counters_prog *p = NULL;
	uint32_t cookie;

	if (prepared_take(c, &p, &cookie) > 0)
		counters_prog_free(p);
}

static int counters_run(struct attach_ctx *c)
{
	struct counters_records *k = c->d->counter_recs;
	struct counters_prog *prog = NULL;
	struct eni_attachment *a = c->a;
	struct counters_rec *rec;
	uint64_t start = now_usec();
	struct counters_load_opts lo;
	int r;

	if (a->slot >= TC_SLOTS) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Slot %u is out of range", a->slot);
		return -EINVAL;
	}
	rec = rec_new(a);
	if (!rec) {
		counters_release(c);
		return -ENOMEM;
	}
	/* The load started before the move, if it did (counters_prepare()). */
	r = prepared_take(c, &prog, &rec->cookie);
	if (r <= 0) {
		if (r < 0)
			log_debug_errno(r, "%s '%s': the early load failed (%m), loading now",
					a->kind, a->id);
		rec->cookie = counters_bpf_cookie();
	}
	lo = (struct counters_load_opts){ .slot = a->slot,
					  .cookie = rec->cookie,
					  .fixed_flow = prog_kind(a),
					  .addrs = a->addrs,
					  .naddrs = a->naddrs };

	/* The previous attachment of this slot is gone and its final counters are copied out. */
	r = counters_bpf_zero(c->d->bpf, a->slot);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to zero the counters of slot %u: %s",
			 a->slot, strerror(-r));
		goto out_free;
	}
	if (!prog)
		r = counters_bpf_load(c->d->bpf, &lo, &prog);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to load the counter programs: %s",
			 strerror(-r));
		goto out_free;
	}
	r = counters_bpf_attach(c->netns_fd, a->ifindex, prog, &rec->hook_created);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "Failed to attach tc counters to '%s' in '%s': %s", a->ifname,
			 a->netns_path, strerror(-r));
		goto out_free;
	}
	r = devstats_nsid(c->d->devstats, c->netns_fd, &rec->nsid);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to get an id for namespace '%s': %s",
			 a->netns_path, strerror(-r));
		goto out_detach;
	}
	r = rec_devstats(c->d, rec, &rec->base);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to read the statistics of '%s': %s",
			 a->ifname, strerror(-r));
		goto out_detach;
	}
	rec->have_base = true;
	rec->dev = rec->base;
	rec->have_dev = true;
	rec->attached_ns = realtime_nsec();
	rec->last = rec->prev = (struct counters_sample){ .usec = now_usec() };
	r = rec_save(c->d, rec);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to write the counters journal: %s",
			 strerror(-r));
		goto out_detach;
	}
	/* Platform ENIs attribute the marks of the slot to this task from now on. */
	if (lo.fixed_flow == TC_FLOW_COUNT) {
		r = counters_bpf_set_owner(c->d->bpf, a->slot, rec->cookie);
		if (r < 0) {
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "Failed to set the owner of slot %u: %s", a->slot, strerror(-r));
			rec_unsave(c->d, a->id);
			goto out_detach;
		}
	}
	k->slots[a->slot] = rec;
	counters_prog_free(prog);
	log_debug("%s '%s': counters attached to '%s' (slot %u, cookie %08x) in %llu us", a->kind,
		  a->id, a->ifname, a->slot, rec->cookie, (unsigned long long)(now_usec() - start));
	return 0;

out_detach:
	(void)counters_bpf_detach(c->netns_fd, a->ifindex, rec->hook_created);
out_free:
	counters_prog_free(prog);
	rec_free(rec);
	return r;
}

/* The final counters of an attachment that is detaching: read while its ENI is still there. */
static void keep_final(struct attach_ctx *c, struct counters_rec *rec, const struct link_info *li)
{
	struct counters_rec fallback = {};
	struct eni_attachment *a = c->a;
	struct counters_pair tot[TC_DIR_COUNT];
	struct counters_snapshot snap;
	struct jbuf b = {};
	struct stats_in in;

	in = (struct stats_in){
		.id = a->id,
		.slot = a->slot,
		.phase = "DELETED",
		.detached = true,
		.ifname = a->ifname,
		.snap = &snap,
		.window_sec = c->d->stats_interval_sec,
	};
	if (li)
		in.dev = &li->stats;
	else if (rec && rec->have_dev)
		in.dev = &rec->dev; /* the namespace is gone: the last we read */
	/* After a restart that did not adopt it: what its journal says. */
	if (!rec && rec_load(c->d, a, &fallback) == 0)
		rec = &fallback;
	if (rec) {
		in.base = rec->have_base ? &rec->base : NULL;
		in.prev = &rec->prev;
		in.last = &rec->last;
		in.attached_ns = rec->attached_ns;
	}

	drops_refresh(c->d, a);
	if (counters_bpf_read(c->d->bpf, a->slot, &snap) < 0) {
		log_warn("%s '%s': failed to read its final counters, ignoring", a->kind, a->id);
		return;
	}
	in.time_ns = realtime_nsec();
	stats_json_write(&b, &in);
	if (b.oom) {
		jb_done(&b);
		log_oom();
		return;
	}
	counters_totals(&snap, tot);
	finals_keep(c->d, a->id, a->created_ns, TAKE_PTR(b.buf), b.len);
	log_info("%s '%s': final counters kept for %u s (rx %llu bytes, tx %llu bytes)", a->kind,
		 a->id, finals_retention(c->d), (unsigned long long)tot[TC_DIR_RX].bytes,
		 (unsigned long long)tot[TC_DIR_TX].bytes);
}

static int counters_undo(struct attach_ctx *c)
{
	struct counters_records *k = c->d->counter_recs;
	struct eni_attachment *a = c->a;
	struct counters_rec *rec = step_counters_rec(c->d, a);
	struct counters_rec fallback = {};
	struct link_info li;
	bool have_link = false, hook_created;
	int r;

	if (c->netns_fd >= 0 && step_find_link(c, &li) == 0)
		have_link = true;
	/* Nothing more is attributed to the slot on platform ENIs: its final counters are
	 * final. (A record lost to a crash: whoever has it, no task does now.) */
	if (prog_kind(a) == TC_FLOW_COUNT) {
		r = counters_bpf_clear_owner(c->d->bpf, a->slot, rec ? rec->cookie : 0);
		if (r < 0)
			log_warn_errno(r, "%s '%s': failed to clear the owner of slot %u: %m",
				       a->kind, a->id, a->slot);
	}
	/* A platform ENI's final counters are not a task's: none are kept (docs/counters.md). */
	if (c->detach && prog_kind(a) == TC_FLOW_COUNT)
		keep_final(c, rec, have_link ? &li : NULL);

	hook_created = rec ? rec->hook_created : false;
	if (!rec && rec_load(c->d, a, &fallback) == 0)
		hook_created = fallback.hook_created;
	if (have_link) {
		for (unsigned int i = 0; rec && i < rec->nlinks; i++)
			(void)counters_bpf_detach(c->netns_fd, rec->links[i].ifindex,
						  rec->links[i].hook_created);
		r = counters_bpf_detach(c->netns_fd, li.ifindex, hook_created);
		if (r < 0) {
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "Failed to detach tc counters from '%s': %s", li.ifname,
				 strerror(-r));
			return r;
		}
	}
	rec_unsave(c->d, a->id);
	if (rec) {
		k->slots[a->slot] = NULL;
		rec_free(rec);
	}
	return 0;
}

static int counters_check(struct attach_ctx *c, json_t *diffs)
{
	struct eni_attachment *a = c->a;
	const char *what = NULL;
	char want[64], have[64];
	struct link_info li;
	int r;

	r = step_find_link(c, &li);
	if (r < 0)
		return r;
	r = counters_bpf_verify(c->d->bpf, c->netns_fd, li.ifindex, a->slot, prog_kind(a), &what,
				NULL);
	if (r < 0)
		return r;
	if (r == 0) {
		snprintf(want, sizeof(want), "tc %s filter of slot %u on %s", what, a->slot,
			 a->ifname);
		snprintf(have, sizeof(have), "missing or not ours");
		json_diff_append(diffs, "counters", want, have);
	}
	return 0;
}

/* Right after the move (which drops qdiscs), before the link is up: the filters see every packet
 * the device counts. */
const struct attach_step step_counters = {
	.name = "counters",
	.prepare = counters_prepare,
	.run = counters_run,
	.undo = counters_undo,
	.check = counters_check,
	.release = counters_release,
};

/* The same for a platform ENI, with its programs (tc_platform.bpf.c). */
const struct attach_step step_counters_platform = {
	.name = "counters",
	.prepare = counters_prepare,
	.run = counters_run,
	.undo = counters_undo,
	.check = counters_check,
	.release = counters_release,
};

struct counters_rec *step_counters_rec(struct netd *d, const struct eni_attachment *a)
{
	struct counters_rec *rec = a->slot < TC_SLOTS ? d->counter_recs->slots[a->slot] : NULL;

	/* Not this attachment's (cannot happen: slots are unique). */
	return rec && streq(rec->id, a->id) && rec->created_ns == a->created_ns ? rec : NULL;
}

/* --- other links -------------------------------------------------------------------------------- */

int step_counters_link_attach(struct netd *d, const struct eni_attachment *a, int netns_fd,
			      const struct counters_link_opts *opts)
{
	struct counters_rec *rec = step_counters_rec(d, a);
	struct counters_load_opts lo;
	struct counters_prog *prog = NULL;
	bool created = false;
	int r;

	if (!opts || opts->ifindex <= 0 || opts->fixed_flow >= TC_FLOW_COUNT)
		return -EINVAL;
	if (!rec)
		return -ENOENT;
	if (rec->nlinks >= COUNTERS_MAX_LINKS)
		return -ENOSPC;
	lo = (struct counters_load_opts){ .slot = a->slot,
					  .cookie = rec->cookie,
					  .fixed_flow = opts->fixed_flow,
					  .addrs = opts->addrs,
					  .naddrs = opts->addrs ? opts->naddrs : 0 };
	r = counters_bpf_load(d->bpf, &lo, &prog);
	if (r < 0)
		return r;
	r = counters_bpf_attach(netns_fd, opts->ifindex, prog, &created);
	counters_prog_free(prog);
	if (r < 0)
		return r;
	rec->links[rec->nlinks++] = (struct counters_link){ .ifindex = opts->ifindex,
							    .flow = opts->fixed_flow,
							    .hook_created = created };
	return 0;
}

int step_counters_link_detach(struct netd *d, const struct eni_attachment *a, int netns_fd,
			      int ifindex)
{
	struct counters_rec *rec = step_counters_rec(d, a);
	bool created = false;
	int r;

	for (unsigned int i = 0; rec && i < rec->nlinks; i++)
		if (rec->links[i].ifindex == ifindex) {
			created = rec->links[i].hook_created;
			rec->links[i] = rec->links[--rec->nlinks];
			break;
		}
	r = counters_bpf_detach(netns_fd, ifindex, created);
	return r == -ENODEV ? 0 : r;
}

int step_counters_link_attached(struct netd *d, const struct eni_attachment *a, int netns_fd,
				int ifindex)
{
	return counters_bpf_attached(d->bpf, netns_fd, ifindex, a->slot);
}

/* --- start: re-adopting what a previous netd attached ------------------------------------------ */

/* Take up the filters of an attached attachment after a start (attaching missing ones again). */
static int adopt(struct netd *d, struct eni_attachment *a)
{
	struct counters_records *k = d->counter_recs;
	struct attach_ctx c = { .d = d, .a = a, .netns_fd = -1 };
	struct counters_prog *prog = NULL;
	struct counters_rec *rec;
	const char *what = NULL;
	struct link_info li;
	uint32_t cookie = 0;
	bool save = false;
	int r;

	rec = rec_new(a);
	if (!rec)
		return -ENOMEM;
	r = rec_load(d, a, rec);
	if (r < 0 && r != -ENOENT && r != -EBADMSG)
		log_warn_errno(r, "%s '%s': failed to read its counters journal: %m, ignoring",
			       a->kind, a->id);
	save = r < 0; /* write it again only if it was not there or changed */
	r = attachment_netns_open(a, &c.netns_fd);
	if (r == 0)
		r = step_find_link(&c, &li);
	if (r < 0) {
		/* Nothing to count any more; keep the record so that detach keeps the finals. */
		log_warn_errno(
			r, "%s '%s': its ENI is not in '%s' (%m); its counters stay as they are",
			a->kind, a->id, a->netns_path);
		k->slots[a->slot] = rec;
		c.tnl = netlink_free(c.tnl);
		c.netns_fd = safe_close(c.netns_fd);
		return 0;
	}
	save = save || rec->ifindex != li.ifindex;
	rec->ifindex = li.ifindex;

	r = counters_bpf_verify(d->bpf, c.netns_fd, li.ifindex, a->slot, prog_kind(a), &what,
				&cookie);
	if (r == 0) {
		/* A filter is missing or not ours: attach again (a restart must not stop counting). */
		struct counters_load_opts lo = {
			.slot = a->slot,
			.cookie = cookie ?: (rec->cookie ?: counters_bpf_cookie()),
			.fixed_flow = prog_kind(a),
			.addrs = a->addrs,
			.naddrs = a->naddrs
		};
		bool created = false;

		r = counters_bpf_load(d->bpf, &lo, &prog);
		if (r >= 0)
			r = counters_bpf_attach(c.netns_fd, li.ifindex, prog, &created);
		prog = counters_prog_free(prog);
		if (r == 0) {
			rec->cookie = lo.cookie;
			rec->hook_created = rec->hook_created || created;
			save = true;
			events_emit(
				d, "counters.reattached", json_pack("{s:s}", "task_id", a->id),
				"%s '%s': the tc %s counter filter was missing or foreign; attached again",
				a->kind, a->id, what);
		}
	} else if (r > 0) {
		save = save || rec->cookie != cookie;
		rec->cookie = cookie;
	}
	if (r < 0)
		goto out;
	/* A netd before the platform ENIs did not set it. */
	if (prog_kind(a) == TC_FLOW_COUNT) {
		r = counters_bpf_set_owner(d->bpf, a->slot, rec->cookie);
		if (r < 0)
			goto out;
	}
	r = devstats_nsid(d->devstats, c.netns_fd, &rec->nsid);
	if (r < 0)
		goto out;
	if (rec_devstats(d, rec, &rec->dev) == 0)
		rec->have_dev = true;
	rec->last = rec->prev = (struct counters_sample){ .usec = now_usec() };
	if (counters_bpf_read(d->bpf, a->slot, &rec->snap) == 0) {
		struct counters_pair tot[TC_DIR_COUNT];

		counters_totals(&rec->snap, tot);
		rec->last.rx_bytes = rec->prev.rx_bytes = tot[TC_DIR_RX].bytes;
		rec->last.tx_bytes = rec->prev.tx_bytes = tot[TC_DIR_TX].bytes;
	}
	if (!rec->attached_ns)
		rec->attached_ns = a->created_ns;
	k->slots[a->slot] = TAKE_PTR(rec);
	if (save)
		(void)rec_save(d, k->slots[a->slot]);
	log_info("%s '%s': counters re-adopted on '%s' (slot %u)", a->kind, a->id, a->ifname,
		 a->slot);
	r = 0;
out:
	c.tnl = netlink_free(c.tnl);
	c.netns_fd = safe_close(c.netns_fd);
	rec_free(rec);
	return r;
}

static int sweep_one(struct journal *j, const char *name, void *data)
{
	char path[PATH_MAX];

	if (attachment_find(data, name))
		return 0;
	(void)journal_path(j, JOURNAL_COUNTERS, name, path, sizeof(path));
	log_debug("Removing the counters journal '%s' of no attachment", path);
	(void)journal_remove(j, JOURNAL_COUNTERS, name);
	return 0;
}

int step_counters_adopt(struct netd *d)
{
	struct counters_records *k = d->counter_recs;

	for (struct eni_attachment *a = d->attachments; a; a = a->next) {
		int r;

		if (a->state != ATTACH_STATE_ATTACHED ||
		    (!step_began(a, &step_counters) && !step_began(a, &step_counters_platform)))
			continue;
		if (a->slot >= TC_SLOTS || k->slots[a->slot])
			continue;
		r = adopt(d, a);
		if (r < 0)
			log_warn_errno(
				r,
				"%s '%s': failed to re-adopt its counters: %m; 'netdctl task check' reports it",
				a->kind, a->id);
	}
	(void)journal_foreach(d->journal, JOURNAL_COUNTERS, sweep_one, d);
	return 0;
}

int step_counters_init(struct netd *d)
{
	d->counter_recs = calloc(1, sizeof(*d->counter_recs));
	return d->counter_recs ? 0 : -ENOMEM;
}

void step_counters_exit(struct netd *d)
{
	struct counters_records *k = d->counter_recs;

	if (!k)
		return;
	for (unsigned int s = 0; s < TC_SLOTS; s++)
		k->slots[s] = rec_free(k->slots[s]);
	free(k);
	d->counter_recs = NULL;
}
