// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stats of tasks (stats.h): every read pass reads the maps of all live tasks in one batch
 * per map and their ENIs' link statistics pipelined, after the counts kept outside the
 * programs are copied in (drops.h).
 */
#include "counters-bpf.h"
#include "devstats.h"
#include "drops.h"
#include "event.h"
#include "finals.h"
#include "log.h"
#include "metrics.h"
#include "netd.h"
#include "prom.h"
#include "stats-json.h"
#include "stats.h"
#include "step-counters.h"
#include "task.h"

struct stats {
	unsigned int interval_sec;
	char *metrics_listen;
	int timer_id;
	struct metrics_server *metrics;
};

/* A live task's stats, from snap (fresh) or from its last sample (snap NULL). */
static void write_live(struct netd *d, struct jbuf *b, const struct task *t,
		       const struct counters_rec *rec, const struct counters_snapshot *snap)
{
	struct stats_in in = {
		.id = t->id,
		.slot = t->att.slot,
		.phase = task_phase_to_string(t->phase),
		.time_ns = realtime_nsec(),
		.ifname = t->att.ifname,
		.snap = snap ?: &rec->snap,
		.dev = rec->have_dev ? &rec->dev : NULL,
		.base = rec->have_base ? &rec->base : NULL,
		.prev = &rec->prev,
		.last = &rec->last,
		.attached_ns = rec->attached_ns,
		.window_sec = d->stats->interval_sec,
	};

	stats_json_write(b, &in);
}

/* --- a pass over every live task: one batch per map, the links' statistics pipelined -------- */

struct pass {
	unsigned int n;
	struct task **tasks;
	struct counters_rec **recs;
	struct counters_snapshot *snaps;
};

static void pass_done(struct pass *p)
{
	free(p->tasks);
	free(p->recs);
	free(p->snaps);
	*p = (struct pass){};
}

/* The ENIs' link statistics of n attachments at once; one whose read fails keeps what it had. */
static void read_devstats(struct netd *d, struct counters_rec **recs, unsigned int n)
{
	_cleanup_free_ struct devstats_query *q = calloc(MAX(n, 1u), sizeof(*q));
	int r;

	if (!q) {
		log_oom();
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		q[i] = (struct devstats_query){ .nsid = recs[i]->nsid,
						.ifindex = recs[i]->ifindex,
						.mac = recs[i]->mac };
	r = devstats_read(d->devstats, q, n);
	if (r < 0)
		log_debug_errno(r, "Link statistics requests failed: %m");
	for (unsigned int i = 0; i < n; i++)
		if (q[i].error == 0) {
			recs[i]->dev = q[i].stats;
			recs[i]->have_dev = true;
		}
}

static int pass_read(struct netd *d, struct pass *p)
{
	_cleanup_free_ struct counters_snapshot *all = NULL;
	uint64_t t0 = now_usec(), t1;
	unsigned int nslots = 0;
	int r;

	*p = (struct pass){};
	p->tasks = calloc(d->ntasks ?: 1, sizeof(*p->tasks));
	p->recs = calloc(d->ntasks ?: 1, sizeof(*p->recs));
	p->snaps = calloc(d->ntasks ?: 1, sizeof(*p->snaps));
	if (!p->tasks || !p->recs || !p->snaps) {
		pass_done(p);
		return -ENOMEM;
	}
	for (struct task *t = d->tasks; t && p->n < d->ntasks; t = t->next) {
		struct counters_rec *rec = step_counters_rec(d, &t->att);

		if (!rec)
			continue;
		p->tasks[p->n] = t;
		p->recs[p->n] = rec;
		p->n++;
		nslots = MAX(nslots, t->att.slot + 1);
	}
	if (p->n == 0)
		return 0;
	all = calloc(nslots, sizeof(*all));
	if (!all) {
		pass_done(p);
		return -ENOMEM;
	}
	r = counters_bpf_read_slots(d->bpf, nslots, all);
	if (r < 0) {
		pass_done(p);
		return r;
	}
	for (unsigned int i = 0; i < p->n; i++)
		p->snaps[i] = all[p->tasks[i]->att.slot];
	t1 = now_usec();
	read_devstats(d, p->recs, p->n);
	log_debug("Read the counters of %u tasks in %llu us (maps %llu us, links %llu us)", p->n,
		  (unsigned long long)(now_usec() - t0), (unsigned long long)(t1 - t0),
		  (unsigned long long)(now_usec() - t1));
	return 0;
}

/* --- the stats of every task --------------------------------------------------------------- */

/* A task's stats to write: a live one (off: its index), or a final's text. */
struct piece {
	const char *id;
	bool detached;
	uint64_t created_ns;
	const char *text;
	size_t off, len;
};

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c)
		return c;
	if (x->detached != y->detached)
		return x->detached ? 1 : -1;
	return x->created_ns < y->created_ns ? -1 : x->created_ns > y->created_ns;
}

/*
 * {"tasks": [...]}: every live task (fresh: read now; else its last sample) and every detached
 * one, sorted by task_id, written into out.
 */
static int write_tasks(struct netd *d, bool fresh, struct jbuf *out)
{
	_cleanup_free_ struct piece *pieces = NULL;
	_cleanup_free_ struct task **tasks = NULL;
	_cleanup_free_ struct counters_rec **recs = NULL;
	const struct counters_snapshot *snaps = NULL;
	struct pass p = {};
	size_t n = 0, live = 0;
	int r;

	if (fresh) {
		r = pass_read(d, &p);
		if (r < 0)
			return r;
		tasks = TAKE_PTR(p.tasks);
		recs = TAKE_PTR(p.recs);
		snaps = p.snaps;
		live = p.n;
	} else {
		tasks = calloc(d->ntasks ?: 1, sizeof(*tasks));
		recs = calloc(d->ntasks ?: 1, sizeof(*recs));
		if (!tasks || !recs)
			return -ENOMEM;
		for (struct task *t = d->tasks; t && live < d->ntasks; t = t->next) {
			recs[live] = step_counters_rec(d, &t->att);
			if (recs[live])
				tasks[live++] = t;
		}
	}
	pieces = calloc(live + finals_count(d) + 1, sizeof(*pieces));
	if (!pieces) {
		pass_done(&p);
		return -ENOMEM;
	}
	/* Live ones carry their index in off; finals their text. */
	for (size_t i = 0; i < live; i++)
		pieces[n++] = (struct piece){ .id = tasks[i]->id,
					      .created_ns = tasks[i]->att.created_ns,
					      .off = i };
	for (const struct final *f = finals_list(d); f; f = f->next)
		pieces[n++] = (struct piece){ .id = f->id,
					      .detached = true,
					      .created_ns = f->created_ns,
					      .text = f->text,
					      .len = f->len };
	qsort(pieces, n, sizeof(*pieces), piece_cmp);

	jb_reserve(out, (live + finals_count(d)) * 1700 + 64);
	jb_lit(out, "{\"tasks\":[");
	for (size_t i = 0; i < n; i++) {
		size_t x = pieces[i].off;

		if (i)
			jb_lit(out, ",");
		if (pieces[i].text)
			jb_put(out, pieces[i].text, pieces[i].len);
		else
			write_live(d, out, tasks[x], recs[x], snaps ? &snaps[x] : NULL);
	}
	jb_lit(out, "]}");
	pass_done(&p);
	return out->oom ? -ENOMEM : 0;
}

/* One task's stats: live, else its most recent final counters. Fails the call if none. */
static int write_one(struct netd *d, struct ctl_call *call, const char *id, struct jbuf *out)
{
	struct task *t = task_find(d, id);
	struct counters_rec *rec = t ? step_counters_rec(d, &t->att) : NULL;

	if (rec) {
		struct counters_snapshot snap;
		int r;

		r = counters_bpf_read(d->bpf, t->att.slot, &snap);
		if (r < 0) {
			ctl_call_fail_errno(call, r, "Failed to read the counters of task '%s': %s",
					    id, strerror(-r));
			return r;
		}
		read_devstats(d, &rec, 1);
		write_live(d, out, t, rec, &snap);
		return out->oom ? -ENOMEM : 0;
	}
	for (const struct final *f = finals_list(d); f; f = f->next)
		if (streq(f->id, id)) {
			jb_put(out, f->text, f->len);
			return out->oom ? -ENOMEM : 0;
		}
	if (t)
		ctl_call_failf(call, CTL_ERR_BUSY, "Task '%s' has no counters yet (phase %s)", id,
			       task_phase_to_string(t->phase));
	else
		ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task '%s'", id);
	return -ENOENT;
}

/* --- sampling and subscriptions ------------------------------------------------------------ */

static void on_sample(struct event_loop *loop, void *data)
{
	struct netd *d = data;
	char topic[IDENT_TASK_ID_MAX + 8];
	uint64_t now;
	struct pass p;
	int r;

	drops_refresh_all(d, d->stats_interval_sec);
	r = pass_read(d, &p);
	if (r < 0) {
		log_warn_errno(r, "Failed to sample the counters: %m, ignoring");
		return;
	}
	now = now_usec();
	for (unsigned int i = 0; i < p.n; i++) {
		struct counters_rec *rec = p.recs[i];
		struct counters_pair tot[TC_DIR_COUNT];

		rec->snap = p.snaps[i];
		counters_totals(&rec->snap, tot);
		rec->prev = rec->last;
		rec->last = (struct counters_sample){ .usec = now,
						      .rx_bytes = tot[TC_DIR_RX].bytes,
						      .tx_bytes = tot[TC_DIR_TX].bytes };
	}
	pass_done(&p);
	finals_expire(d);
	if (!d->ctl)
		return;
	if (ctl_server_has_topic(d->ctl, "stats")) {
		struct jbuf b = {};

		if (write_tasks(d, false, &b) == 0)
			ctl_server_broadcast_raw(d->ctl, "stats", "stats", b.buf, b.len);
		jb_done(&b);
	}
	for (struct task *t = d->tasks; t; t = t->next) {
		struct counters_rec *rec = step_counters_rec(d, &t->att);
		struct jbuf b = {};

		if (!rec)
			continue;
		snprintf(topic, sizeof(topic), "stats/%s", t->id);
		if (!ctl_server_has_topic(d->ctl, topic))
			continue;
		write_live(d, &b, t, rec, NULL);
		if (!b.oom)
			ctl_server_broadcast_raw(d->ctl, topic, "stats", b.buf, b.len);
		jb_done(&b);
	}
}

/* --- control methods ----------------------------------------------------------------------- */

static int parse_opt_task_id(struct ctl_call *call, json_t *params, const char **ret)
{
	json_error_t jerr;

	*ret = NULL;
	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s}", "task_id", ret) < 0) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s", jerr.text);
		return -EINVAL;
	}
	if (*ret && !ident_task_id_valid(*ret)) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid task_id '%.64s'", *ret);
		return -EINVAL;
	}
	return 0;
}

static int reply(struct ctl_call *call, struct jbuf *b, int r)
{
	if (r == -ENOENT && ctl_call_is_done(call))
		r = 0;
	else if (r < 0 && !ctl_call_is_done(call))
		ctl_call_fail_errno(call, r, "Failed to read the counters: %s", strerror(-r));
	else if (r >= 0 && !ctl_call_is_done(call))
		ctl_call_reply_raw(call, b->buf, b->len);
	jb_done(b);
	return 0;
}

static int do_stats_get(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct jbuf b = {};
	struct task *t;
	const char *id;
	uint64_t start;
	int r;

	if (parse_opt_task_id(call, params, &id) < 0)
		return 0;
	t = id ? task_find(d, id) : NULL;
	if (t)
		drops_refresh(d, &t->att);
	else
		drops_refresh_all(d, d->stats_interval_sec);
	if (id)
		return reply(call, &b, write_one(d, call, id, &b));
	start = now_usec();
	r = write_tasks(d, true, &b);
	log_debug("stats.get: %u tasks read in %llu us (%zu bytes)", d->ntasks,
		  (unsigned long long)(now_usec() - start), b.len);
	return reply(call, &b, r);
}

static int do_stats_subscribe(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	char topic[IDENT_TASK_ID_MAX + 8];
	struct jbuf b = {};
	const char *id;
	int r;

	if (parse_opt_task_id(call, params, &id) < 0)
		return 0;
	drops_refresh_all(d, d->stats_interval_sec);
	if (id)
		snprintf(topic, sizeof(topic), "stats/%s", id);
	else
		strscpy(topic, "stats", sizeof(topic));
	jb_lit(&b, "{\"subscribed\":");
	jb_str(&b, topic);
	jb_lit(&b, ",\"interval_sec\":");
	jb_u64(&b, d->stats->interval_sec);
	jb_lit(&b, ",\"stats\":");
	r = id ? write_one(d, call, id, &b) : write_tasks(d, true, &b);
	if (r < 0)
		return reply(call, &b, r);
	jb_lit(&b, "}");
	r = ctl_call_subscribe(call, topic);
	if (r < 0) {
		jb_done(&b);
		return ctl_call_fail_errno(call, r, "Failed to subscribe: %s", strerror(-r));
	}
	return reply(call, &b, b.oom ? -ENOMEM : 0);
}

static int do_stats_collect(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	_cleanup_free_ struct piece *pieces = NULL;
	struct final *taken;
	struct jbuf b = {};
	const char *id;
	size_t n = 0;

	if (parse_opt_task_id(call, params, &id) < 0)
		return 0;
	pieces = calloc(finals_count(d) + 1, sizeof(*pieces));
	if (!pieces)
		return -ENOMEM;
	taken = finals_take(d, id);
	for (const struct final *f = taken; f; f = f->next)
		pieces[n++] = (struct piece){ .id = f->id,
					      .detached = true,
					      .created_ns = f->created_ns,
					      .text = f->text,
					      .len = f->len };
	qsort(pieces, n, sizeof(*pieces), piece_cmp);
	jb_lit(&b, "{\"tasks\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			jb_lit(&b, ",");
		jb_put(&b, pieces[i].text, pieces[i].len);
	}
	jb_lit(&b, "]}");
	finals_drop(d, taken);
	return reply(call, &b, b.oom ? -ENOMEM : 0);
}

const struct ctl_method stats_methods[] = {
	{ "stats.get", do_stats_get, 0 },
	{ "stats.subscribe", do_stats_subscribe, 0 },
	{ "stats.collect", do_stats_collect, CTL_METHOD_WRITE },
	{},
};

/* --- Prometheus ------------------------------------------------------------------------------ */

/*
 * One task's series of name by key (flow, reason: names[0..n), the rows of pairs) and direction;
 * labels: more of them, after those.
 */
static void task_lines(FILE *f, const char *name, const char *id, const char *key,
		       const char *const *names, unsigned int n,
		       const struct counters_pair (*pairs)[TC_DIR_COUNT], const char *labels,
		       bool packets)
{
	for (unsigned int k = 0; k < n; k++)
		for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
			const struct counters_pair *v = &pairs[k][dir];

			fprintf(f, "%s{task_id=\"%s\",%s=\"%s\",direction=\"%s\"%s} %llu\n", name,
				id, key, names[k], counters_dir_names[dir], labels,
				(unsigned long long)(packets ? v->packets : v->bytes));
		}
}

static void flow_series(FILE *f, const struct pass *p, const char *name, bool packets)
{
	for (unsigned int i = 0; i < p->n; i++)
		task_lines(f, name, p->tasks[i]->id, "flow", counters_flow_names, TC_FLOW_COUNT,
			   p->snaps[i].flows, "", packets);
	/* A task's share on platform ENIs (1.3.0), once it has one: its own series. */
	for (unsigned int i = 0; i < p->n; i++) {
		struct counters_pair tot[TC_DIR_COUNT] = {};

		for (unsigned int fl = 0; fl < TC_FLOW_COUNT; fl++)
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++)
				tot[dir].packets += p->snaps[i].platform[fl][dir].packets;
		if (!tot[TC_DIR_RX].packets && !tot[TC_DIR_TX].packets)
			continue;
		task_lines(f, name, p->tasks[i]->id, "flow", counters_flow_names, TC_FLOW_COUNT,
			   p->snaps[i].platform, ",eni=\"platform\"", packets);
	}
}

static void drop_series(FILE *f, const struct pass *p, const char *name, bool packets)
{
	for (unsigned int i = 0; i < p->n; i++)
		task_lines(f, name, p->tasks[i]->id, "reason", counters_drop_names, TC_DROP_COUNT,
			   p->snaps[i].drops, "", packets);
}

static int metrics_render(FILE *f, void *data)
{
	static const struct {
		const char *name, *help;
		size_t rx, tx;
	} dev_metrics[] = {
		{ "taskplane_task_device_bytes_total",
		  "Bytes of the task's ENI, from its link statistics.",
		  offsetof(struct link_stats, rx_bytes), offsetof(struct link_stats, tx_bytes) },
		{ "taskplane_task_device_packets_total",
		  "Packets of the task's ENI, from its link statistics.",
		  offsetof(struct link_stats, rx_packets),
		  offsetof(struct link_stats, tx_packets) },
		{ "taskplane_task_device_errors_total",
		  "Errors of the task's ENI, from its link statistics.",
		  offsetof(struct link_stats, rx_errors), offsetof(struct link_stats, tx_errors) },
		{ "taskplane_task_device_dropped_total",
		  "Packets the task's ENI dropped, from its link statistics.",
		  offsetof(struct link_stats, rx_dropped),
		  offsetof(struct link_stats, tx_dropped) },
	};
	struct netd *d = data;
	struct pass p;
	int r;

	drops_refresh_all(d, d->stats_interval_sec);
	r = pass_read(d, &p);
	if (r < 0)
		return r;

	metrics_render_netd(d, f);
	prom_write_head(f, "taskplane_tasks", "gauge", "Tasks whose network netd counts.");
	fprintf(f, "taskplane_tasks %u\n", p.n);
	prom_write_head(f, "taskplane_task_info", "gauge",
			"A task's slot and phase (always 1; join on task_id).");
	for (unsigned int i = 0; i < p.n; i++)
		fprintf(f, "taskplane_task_info{task_id=\"%s\",slot=\"%u\",phase=\"%s\"} 1\n",
			p.tasks[i]->id, p.tasks[i]->att.slot,
			task_phase_to_string(p.tasks[i]->phase));
	prom_write_head(f, "taskplane_task_network_bytes_total", "counter",
			"Bytes a task received (rx) or sent (tx), by flow, L2 headers included.");
	flow_series(f, &p, "taskplane_task_network_bytes_total", false);
	prom_write_head(
		f, "taskplane_task_network_packets_total", "counter",
		"Packets a task received (rx) or sent (tx), by flow (a GSO packet counts once).");
	flow_series(f, &p, "taskplane_task_network_packets_total", true);
	prom_write_head(
		f, "taskplane_task_network_dropped_packets_total", "counter",
		"Packets of a task dropped, by reason (spoof, imds, policy, metadata_filter).");
	drop_series(f, &p, "taskplane_task_network_dropped_packets_total", true);
	prom_write_head(
		f, "taskplane_task_network_dropped_bytes_total", "counter",
		"Bytes of a task dropped, by reason (spoof, imds, policy, metadata_filter).");
	drop_series(f, &p, "taskplane_task_network_dropped_bytes_total", false);
	for (size_t m = 0; m < ARRAY_SIZE(dev_metrics); m++) {
		prom_write_head(f, dev_metrics[m].name, "counter", dev_metrics[m].help);
		for (unsigned int i = 0; i < p.n; i++) {
			const struct counters_rec *rec = p.recs[i];
			const char *base = (const char *)&rec->dev;

			if (!rec->have_dev)
				continue;
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
				fprintf(f, "%s{task_id=\"%s\",interface=\"", dev_metrics[m].name,
					p.tasks[i]->id);
				prom_write_label_value(f, p.tasks[i]->att.ifname);
				fprintf(f, "\",direction=\"%s\"} %llu\n", counters_dir_names[dir],
					(unsigned long long)*(
						const uint64_t *)(base +
								  (dir == TC_DIR_RX
									   ? dev_metrics[m].rx
									   : dev_metrics[m].tx)));
			}
		}
	}
	pass_done(&p);
	return ferror(f) ? -EIO : 0;
}

/* --- start and stop ------------------------------------------------------------------------ */

int stats_init(struct netd *d, const struct stats_opts *o)
{
	struct stats *st;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return log_oom();
	d->stats = st;
	st->interval_sec = o->interval_sec ?: STATS_DEFAULT_INTERVAL;
	d->stats_interval_sec = st->interval_sec;
	if (o->metrics_listen && !(st->metrics_listen = strdup(o->metrics_listen)))
		return log_oom();
	r = event_add_periodic(d->loop, (uint64_t)st->interval_sec * 1000000ULL, on_sample, d,
			       NULL);
	if (r < 0)
		return log_err_errno(r, "Failed to arm the sampling timer: %m");
	st->timer_id = r;
	return 0;
}

int stats_metrics_start(struct netd *d)
{
	struct stats *st = d->stats;
	int r;

	if (!st->metrics_listen)
		return 0;
	r = metrics_server_new(d->loop, st->metrics_listen, metrics_render, d, &st->metrics);
	if (r < 0)
		return log_err_errno(r, "Failed to serve metrics on '%s': %m", st->metrics_listen);
	log_info("Prometheus metrics on http://%s/metrics", metrics_server_address(st->metrics));
	return 0;
}

void stats_exit(struct netd *d)
{
	struct stats *st = d->stats;

	if (!st)
		return;
	st->metrics = metrics_server_free(st->metrics);
	if (d->loop)
		event_cancel(d->loop, st->timer_id);
	free(st->metrics_listen);
	free(st);
	d->stats = NULL;
}
