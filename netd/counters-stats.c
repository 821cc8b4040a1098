// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reading side of the counters: a task's stats as JSON (docs/PROTOCOL.md, stats.get), the
 * samples behind the rates and the stats subscriptions, the final counters of detached tasks,
 * the stats.* methods and the Prometheus exposition.
 *
 * Stats are written as JSON text here rather than built with jansson: all 1,000 tasks of a
 * host are about 1.6 MB of JSON, which jansson takes about 100 ms to build and dump on this
 * project's reference machine, five times the budget for reading them all (20 ms). The writer
 * is small, covers only this shape, and the tests parse what it writes.
 */
#include <limits.h>

#include "counters-internal.h"
#include "event.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"

#define COUNTERS_MAX_FINALS (4 * NETD_MAX_TASKS)

/* --- a JSON text writer ---------------------------------------------------------------------- */

struct jbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

static bool jb_reserve(struct jbuf *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = MAX(b->cap * 2, b->len + n + 4096);
		char *p = realloc(b->buf, ncap);

		if (!p) {
			b->oom = true;
			return false;
		}
		b->buf = p;
		b->cap = ncap;
	}
	return true;
}

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (!jb_reserve(b, n))
		return;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

/* A string literal (only: sizeof gives its length). */
#define jb_lit(b, s) jb_put(b, "" s "", sizeof(s) - 1)

static void jb_u64(struct jbuf *b, uint64_t v)
{
	char t[24];
	size_t i = sizeof(t);

	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	jb_put(b, t + i, sizeof(t) - i);
}

/* A real as jansson writes one: %.17g, with ".0" when that looks like an integer. */
static void jb_real(struct jbuf *b, double v)
{
	char t[40];
	int n;

	if (v != v || v > 1e300 || v < -1e300)
		v = 0;
	n = snprintf(t, sizeof(t), "%.17g", v);
	if (n < 0 || (size_t)n >= sizeof(t) - 2)
		return;
	if (!strpbrk(t, ".eE")) {
		t[n++] = '.';
		t[n++] = '0';
	}
	jb_put(b, t, (size_t)n);
}

/* A string, quoted; printable ASCII goes as is (ids and names here are validated ASCII). */
static void jb_str(struct jbuf *b, const char *s)
{
	jb_lit(b, "\"");
	while (*s) {
		size_t n = 0;

		while (s[n] && s[n] != '"' && s[n] != '\\' && (unsigned char)s[n] >= 0x20 &&
		       (unsigned char)s[n] < 0x7f)
			n++;
		jb_put(b, s, n);
		s += n;
		if (*s) {
			char e[8];

			if (*s == '"' || *s == '\\')
				snprintf(e, sizeof(e), "\\%c", *s);
			else
				snprintf(e, sizeof(e), "\\u%04x", (unsigned char)*s);
			jb_put(b, e, strlen(e));
			s++;
		}
	}
	jb_lit(b, "\"");
}

static void jb_key(struct jbuf *b, const char *key)
{
	jb_str(b, key);
	jb_lit(b, ":");
}

static void jb_done(struct jbuf *b)
{
	free(b->buf);
	*b = (struct jbuf){};
}

/* --- one task's stats ------------------------------------------------------------------------ */

struct stats_in {
	const char *id;
	unsigned int slot;
	const char *phase;
	bool detached;
	uint64_t time_ns;
	const char *ifname;
	const struct counters_snapshot *snap;
	const struct link_stats *dev;	 /* NULL: unknown */
	const struct link_stats *base;	 /* NULL: unknown */
	const struct counters_task *rec; /* for the rates and the attach time; NULL: none */
	unsigned int window_sec;
};

static void write_pair(struct jbuf *b, const struct counters_pair *p)
{
	jb_lit(b, "{\"bytes\":");
	jb_u64(b, p->bytes);
	jb_lit(b, ",\"packets\":");
	jb_u64(b, p->packets);
	jb_lit(b, ",\"segments\":");
	jb_u64(b, p->segs);
	jb_lit(b, "}");
}

static void write_dirs(struct jbuf *b, const struct counters_pair p[TC_DIR_COUNT])
{
	jb_lit(b, "{\"rx\":");
	write_pair(b, &p[TC_DIR_RX]);
	jb_lit(b, ",\"tx\":");
	write_pair(b, &p[TC_DIR_TX]);
	jb_lit(b, "}");
}

/* {"name": {"rx": ..., "tx": ...}, ...} for n named counter pairs (flows, drop reasons). */
static void write_named_dirs(struct jbuf *b, const char *const *names,
			     const struct counters_pair (*p)[TC_DIR_COUNT], unsigned int n)
{
	jb_lit(b, "{");
	for (unsigned int i = 0; i < n; i++) {
		if (i)
			jb_lit(b, ",");
		jb_key(b, names[i]);
		write_dirs(b, p[i]);
	}
	jb_lit(b, "}");
}

static void write_u64_member(struct jbuf *b, const char *key, uint64_t v, bool comma)
{
	if (comma)
		jb_lit(b, ",");
	jb_key(b, key);
	jb_u64(b, v);
}

static double rate(uint64_t a, uint64_t b, uint64_t usec)
{
	return usec > 0 && b >= a ? (double)(b - a) * 1e6 / (double)usec : 0.0;
}

/* One task's stats, in the shape of docs/PROTOCOL.md (stats.get). */
static void write_stats(struct jbuf *b, const struct stats_in *in)
{
	struct counters_pair tot[TC_DIR_COUNT], eni[TC_DIR_COUNT];
	double rx = 0, tx = 0;
	char ts[40];

	counters_totals(in->snap, tot);
	for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
		const struct counters_pair *a = &in->snap->aux[dir];

		eni[dir] = (struct counters_pair){ .bytes = tot[dir].bytes - a->bytes,
						   .packets = tot[dir].packets - a->packets,
						   .segs = tot[dir].segs - a->segs };
	}
	if (in->rec && in->rec->last.usec > in->rec->prev.usec) {
		uint64_t us = in->rec->last.usec - in->rec->prev.usec;

		rx = rate(in->rec->prev.rx_bytes, in->rec->last.rx_bytes, us);
		tx = rate(in->rec->prev.tx_bytes, in->rec->last.tx_bytes, us);
	}

	jb_lit(b, "{\"task_id\":");
	jb_str(b, in->id);
	write_u64_member(b, "slot", in->slot, true);
	jb_lit(b, ",\"phase\":");
	jb_str(b, in->phase);
	if (in->detached)
		jb_lit(b, ",\"detached\":true");
	else
		jb_lit(b, ",\"detached\":false");
	format_rfc3339_nsec(in->time_ns, ts, sizeof(ts));
	jb_lit(b, ",\"time\":");
	jb_str(b, ts);
	if (in->detached) {
		jb_lit(b, ",\"detached_at\":");
		jb_str(b, ts);
	}
	if (in->dev) {
		const struct link_stats *v = in->dev;

		jb_lit(b, ",\"device\":{\"ifname\":");
		jb_str(b, in->ifname);
		write_u64_member(b, "rx_bytes", v->rx_bytes, true);
		write_u64_member(b, "rx_packets", v->rx_packets, true);
		write_u64_member(b, "rx_errors", v->rx_errors, true);
		write_u64_member(b, "rx_dropped", v->rx_dropped, true);
		write_u64_member(b, "tx_bytes", v->tx_bytes, true);
		write_u64_member(b, "tx_packets", v->tx_packets, true);
		write_u64_member(b, "tx_errors", v->tx_errors, true);
		write_u64_member(b, "tx_dropped", v->tx_dropped, true);
		jb_lit(b, "}");
	}
	if (in->base) {
		jb_lit(b, ",\"device_at_attach\":{");
		write_u64_member(b, "rx_bytes", in->base->rx_bytes, false);
		write_u64_member(b, "rx_packets", in->base->rx_packets, true);
		write_u64_member(b, "tx_bytes", in->base->tx_bytes, true);
		write_u64_member(b, "tx_packets", in->base->tx_packets, true);
		jb_lit(b, "}");
	}
	jb_lit(b, ",\"totals\":");
	write_dirs(b, tot);
	jb_lit(b, ",\"eni\":");
	write_dirs(b, eni);
	jb_lit(b, ",\"flows\":");
	write_named_dirs(b, counters_flow_names, in->snap->flows, TC_FLOW_COUNT);
	jb_lit(b, ",\"drops\":");
	write_named_dirs(b, counters_drop_names, in->snap->drops, TC_DROP_COUNT);
	jb_lit(b, ",\"rates\":{");
	write_u64_member(b, "window_sec", in->window_sec, false);
	jb_lit(b, ",\"rx_bytes_per_sec\":");
	jb_real(b, rx);
	jb_lit(b, ",\"tx_bytes_per_sec\":");
	jb_real(b, tx);
	jb_lit(b, "}");
	if (in->rec && in->rec->attached_ns) {
		format_rfc3339_nsec(in->rec->attached_ns, ts, sizeof(ts));
		jb_lit(b, ",\"attached\":");
		jb_str(b, ts);
	}
	jb_lit(b, "}");
}

/* A live task's stats, from snap (fresh) or from its last sample (snap NULL). */
static void write_live(struct netd *d, struct jbuf *b, const struct task *t,
		       const struct counters_task *rec, const struct counters_snapshot *snap)
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
		.rec = rec,
		.window_sec = d->counters->interval_sec,
	};

	write_stats(b, &in);
}

/* --- a pass over every live task: one batch per map, the links' statistics pipelined -------- */

struct pass {
	unsigned int n;
	struct task **tasks;
	struct counters_task **recs;
	struct counters_snapshot *snaps;
};

static void pass_done(struct pass *p)
{
	free(p->tasks);
	free(p->recs);
	free(p->snaps);
	*p = (struct pass){};
}

static int pass_read(struct netd *d, struct pass *p)
{
	struct netd_counters *k = d->counters;
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
		struct counters_task *rec = counters_task_rec(d, &t->att);

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
	r = counters_read_slots(k, nslots, all);
	if (r < 0) {
		pass_done(p);
		return r;
	}
	for (unsigned int i = 0; i < p->n; i++)
		p->snaps[i] = all[p->tasks[i]->att.slot];
	t1 = now_usec();
	counters_devstats_read_many(k, p->recs, p->n);
	log_debug("Read the counters of %u tasks in %llu us (maps %llu us, links %llu us)", p->n,
		  (unsigned long long)(now_usec() - t0), (unsigned long long)(t1 - t0),
		  (unsigned long long)(now_usec() - t1));
	return 0;
}

/* --- final counters ------------------------------------------------------------------------ */

static void final_name(const char *id, uint64_t created_ns, char *buf, size_t size)
{
	snprintf(buf, size, "%s@%llu", id, (unsigned long long)created_ns);
}

static void final_free(struct netd_counters *k, struct counters_final *f, bool remove_file)
{
	char name[IDENT_TASK_ID_MAX + 32];
	int r;

	final_name(f->id, f->created_ns, name, sizeof(name));
	r = remove_file ? journal_remove(k->journal, JOURNAL_FINAL, name) : 0;
	if (r < 0)
		log_warn_errno(r, "Failed to remove the final counters '%s': %m, ignoring", name);
	free(f->text);
	free(f);
}

/* Keep a detached task's stats (text is stolen), replacing an earlier record of that task. */
static void final_add(struct netd_counters *k, const char *id, uint64_t created_ns,
		      uint64_t detached_usec, char *text, size_t len, bool save)
{
	char name[IDENT_TASK_ID_MAX + 32];
	struct counters_final *f, **pp;
	int r;

	for (pp = &k->finals; *pp; pp = &(*pp)->next)
		if (streq((*pp)->id, id) && (*pp)->created_ns == created_ns) {
			f = *pp;
			*pp = f->next;
			k->nfinals--;
			final_free(k, f, false);
			break;
		}
	while (k->nfinals >= COUNTERS_MAX_FINALS) {
		/* The oldest goes: they are kept newest first. */
		for (pp = &k->finals; (*pp)->next; pp = &(*pp)->next)
			;
		log_warn("Too many final counters kept; dropping those of task '%s'", (*pp)->id);
		final_free(k, *pp, true);
		*pp = NULL;
		k->nfinals--;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(text);
		return;
	}
	strscpy(f->id, id, sizeof(f->id));
	f->created_ns = created_ns;
	f->detached_usec = detached_usec;
	f->text = text;
	f->len = len;
	f->next = k->finals;
	k->finals = f;
	k->nfinals++;
	if (!save)
		return;
	final_name(id, created_ns, name, sizeof(name));
	r = journal_save_text(k->journal, JOURNAL_FINAL, name, text, len);
	if (r < 0)
		log_warn_errno(r, "Failed to save the final counters of task '%s': %m, ignoring",
			       id);
}

static void finals_expire(struct netd_counters *k)
{
	uint64_t now = now_usec(), keep = (uint64_t)k->retention_sec * 1000000ULL;
	struct counters_final **pp = &k->finals;

	while (*pp) {
		struct counters_final *f = *pp;

		if (now - f->detached_usec >= keep) {
			log_info("Final counters of task '%s' expired after %u s", f->id,
				 k->retention_sec);
			*pp = f->next;
			k->nfinals--;
			final_free(k, f, true);
		} else {
			pp = &f->next;
		}
	}
}

/* One record of state/final/, its age taken from when it was written. */
static int load_final(struct journal *j, const char *name, void *data)
{
	struct netd_counters *k = data;
	_cleanup_free_ char *buf = NULL;
	uint64_t age_usec = 0, mtime = 0, now_ns = realtime_nsec(), now = now_usec();
	unsigned long long created = 0;
	json_auto_t *v = NULL;
	char path[PATH_MAX];
	const char *id, *at;
	size_t len;

	if (journal_load_text(j, JOURNAL_FINAL, name, &buf, &len, &mtime) < 0)
		return 0;
	v = json_loadb(buf, len, 0, NULL);
	id = json_string_value(json_object_get(v, "task_id"));
	if (!v || !json_is_object(v) || !id || !ident_task_id_valid(id)) {
		(void)journal_path(j, JOURNAL_FINAL, name, path, sizeof(path));
		log_warn("Final counters '%s' are invalid, removing them", path);
		(void)journal_remove(j, JOURNAL_FINAL, name);
		return 0;
	}
	at = strrchr(name, '@');
	if (at)
		created = strtoull(at + 1, NULL, 10);
	if (mtime && now_ns > mtime)
		age_usec = (now_ns - mtime) / 1000;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	final_add(k, id, created, now > age_usec ? now - age_usec : 0, TAKE_PTR(buf), len, false);
	return 0;
}

/* Load state/final/ at start. The age of a record is taken from its modification time. */
static int finals_load(struct netd_counters *k)
{
	return journal_foreach(k->journal, JOURNAL_FINAL, load_final, k);
}

void counters_keep_final(struct netd *d, struct eni_attachment *a, const struct counters_task *rec,
			 const struct link_stats *dev)
{
	struct netd_counters *k = d->counters;
	struct counters_snapshot snap;
	struct counters_pair tot[TC_DIR_COUNT];
	struct jbuf b = {};
	struct stats_in in;

	counters_run_hook(d, a);
	if (counters_read(d, a->slot, &snap) < 0) {
		log_warn("Task '%s': failed to read its final counters, ignoring", a->id);
		return;
	}
	in = (struct stats_in){
		.id = a->id,
		.slot = a->slot,
		.phase = "DELETED",
		.detached = true,
		.time_ns = realtime_nsec(),
		.ifname = a->ifname,
		.snap = &snap,
		.dev = dev,
		.base = rec && rec->have_base ? &rec->base : NULL,
		.rec = rec,
		.window_sec = k->interval_sec,
	};
	write_stats(&b, &in);
	if (b.oom) {
		jb_done(&b);
		log_oom();
		return;
	}
	counters_totals(&snap, tot);
	final_add(k, a->id, a->created_ns, now_usec(), TAKE_PTR(b.buf), b.len, true);
	log_info("Task '%s': final counters kept for %u s (rx %llu bytes, tx %llu bytes)", a->id,
		 k->retention_sec, (unsigned long long)tot[TC_DIR_RX].bytes,
		 (unsigned long long)tot[TC_DIR_TX].bytes);
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
	struct netd_counters *k = d->counters;
	_cleanup_free_ struct piece *pieces = NULL;
	_cleanup_free_ struct task **tasks = NULL;
	_cleanup_free_ struct counters_task **recs = NULL;
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
			recs[live] = counters_task_rec(d, &t->att);
			if (recs[live])
				tasks[live++] = t;
		}
	}
	pieces = calloc(live + k->nfinals + 1, sizeof(*pieces));
	if (!pieces) {
		pass_done(&p);
		return -ENOMEM;
	}
	/* Live ones carry their index in off; finals their text. */
	for (size_t i = 0; i < live; i++)
		pieces[n++] = (struct piece){ .id = tasks[i]->id,
					      .created_ns = tasks[i]->att.created_ns,
					      .off = i };
	for (struct counters_final *f = k->finals; f; f = f->next)
		pieces[n++] = (struct piece){ .id = f->id,
					      .detached = true,
					      .created_ns = f->created_ns,
					      .text = f->text,
					      .len = f->len };
	qsort(pieces, n, sizeof(*pieces), piece_cmp);

	jb_reserve(out, (live + k->nfinals) * 1700 + 64);
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
	struct netd_counters *k = d->counters;
	struct task *t = task_find(d, id);
	struct counters_task *rec = t ? counters_task_rec(d, &t->att) : NULL;

	if (rec) {
		struct counters_snapshot snap;
		struct link_stats dev;
		int r;

		r = counters_read(d, t->att.slot, &snap);
		if (r < 0) {
			ctl_call_fail_errno(call, r, "Failed to read the counters of task '%s': %s",
					    id, strerror(-r));
			return r;
		}
		if (counters_devstats_read(k, rec, &dev) == 0) {
			rec->dev = dev;
			rec->have_dev = true;
		}
		write_live(d, out, t, rec, &snap);
		return out->oom ? -ENOMEM : 0;
	}
	for (struct counters_final *f = k->finals; f; f = f->next)
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
	struct netd_counters *k = d->counters;
	char topic[IDENT_TASK_ID_MAX + 8];
	uint64_t now;
	struct pass p;
	int r;

	counters_run_hook(d, NULL);
	r = pass_read(d, &p);
	if (r < 0) {
		log_warn_errno(r, "Failed to sample the counters: %m, ignoring");
		return;
	}
	now = now_usec();
	for (unsigned int i = 0; i < p.n; i++) {
		struct counters_task *rec = p.recs[i];
		struct counters_pair tot[TC_DIR_COUNT];

		rec->snap = p.snaps[i];
		counters_totals(&rec->snap, tot);
		rec->prev = rec->last;
		rec->last = (struct counters_sample){ .usec = now,
						      .rx_bytes = tot[TC_DIR_RX].bytes,
						      .tx_bytes = tot[TC_DIR_TX].bytes };
	}
	pass_done(&p);
	finals_expire(k);
	if (!d->ctl)
		return;
	if (ctl_server_has_topic(d->ctl, "stats")) {
		struct jbuf b = {};

		if (write_tasks(d, false, &b) == 0)
			ctl_server_broadcast_raw(d->ctl, "stats", "stats", b.buf, b.len);
		jb_done(&b);
	}
	for (struct task *t = d->tasks; t; t = t->next) {
		struct counters_task *rec = counters_task_rec(d, &t->att);
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
	counters_run_hook(d, t ? &t->att : NULL);
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
	counters_run_hook(d, NULL);
	if (id)
		snprintf(topic, sizeof(topic), "stats/%s", id);
	else
		strscpy(topic, "stats", sizeof(topic));
	jb_lit(&b, "{\"subscribed\":");
	jb_str(&b, topic);
	jb_lit(&b, ",\"interval_sec\":");
	jb_u64(&b, d->counters->interval_sec);
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
	struct netd_counters *k = d->counters;
	_cleanup_free_ struct piece *pieces = NULL;
	struct counters_final **pp = &k->finals, *taken = NULL;
	struct jbuf b = {};
	const char *id;
	size_t n = 0;

	if (parse_opt_task_id(call, params, &id) < 0)
		return 0;
	pieces = calloc(k->nfinals + 1, sizeof(*pieces));
	if (!pieces)
		return -ENOMEM;
	while (*pp) {
		struct counters_final *f = *pp;

		if (id && !streq(f->id, id)) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		k->nfinals--;
		f->next = taken;
		taken = f;
		pieces[n++] = (struct piece){ .id = f->id,
					      .detached = true,
					      .created_ns = f->created_ns,
					      .text = f->text,
					      .len = f->len };
	}
	qsort(pieces, n, sizeof(*pieces), piece_cmp);
	jb_lit(&b, "{\"tasks\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			jb_lit(&b, ",");
		jb_put(&b, pieces[i].text, pieces[i].len);
	}
	jb_lit(&b, "]}");
	while (taken) {
		struct counters_final *f = taken;

		taken = f->next;
		final_free(k, f, true);
	}
	return reply(call, &b, b.oom ? -ENOMEM : 0);
}

const struct ctl_method counters_methods[] = {
	{ "stats.get", do_stats_get, 0 },
	{ "stats.subscribe", do_stats_subscribe, 0 },
	{ "stats.collect", do_stats_collect, CTL_METHOD_WRITE },
	{},
};

/* --- Prometheus ------------------------------------------------------------------------------ */

static void metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void flow_series(FILE *f, const struct pass *p, const char *name, bool packets)
{
	for (unsigned int i = 0; i < p->n; i++)
		for (unsigned int fl = 0; fl < TC_FLOW_COUNT; fl++)
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
				const struct counters_pair *v = &p->snaps[i].flows[fl][dir];

				fprintf(f, "%s{task_id=\"%s\",flow=\"%s\",direction=\"%s\"} %llu\n",
					name, p->tasks[i]->id, counters_flow_names[fl],
					counters_dir_names[dir],
					(unsigned long long)(packets ? v->packets : v->bytes));
			}
}

static void drop_series(FILE *f, const struct pass *p, const char *name, bool packets)
{
	for (unsigned int i = 0; i < p->n; i++)
		for (unsigned int r = 0; r < TC_DROP_COUNT; r++)
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
				const struct counters_pair *v = &p->snaps[i].drops[r][dir];

				fprintf(f,
					"%s{task_id=\"%s\",reason=\"%s\",direction=\"%s\"} %llu\n",
					name, p->tasks[i]->id, counters_drop_names[r],
					counters_dir_names[dir],
					(unsigned long long)(packets ? v->packets : v->bytes));
			}
}

int counters_metrics_render(FILE *f, void *data)
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

	counters_run_hook(d, NULL);
	r = pass_read(d, &p);
	if (r < 0)
		return r;

	metrics_render_netd(d, f);
	metric_head(f, "taskplane_tasks", "gauge", "Tasks whose network netd counts.");
	fprintf(f, "taskplane_tasks %u\n", p.n);
	metric_head(f, "taskplane_task_info", "gauge",
		    "A task's slot and phase (always 1; join on task_id).");
	for (unsigned int i = 0; i < p.n; i++)
		fprintf(f, "taskplane_task_info{task_id=\"%s\",slot=\"%u\",phase=\"%s\"} 1\n",
			p.tasks[i]->id, p.tasks[i]->att.slot,
			task_phase_to_string(p.tasks[i]->phase));
	metric_head(f, "taskplane_task_network_bytes_total", "counter",
		    "Bytes a task received (rx) or sent (tx), by flow, L2 headers included.");
	flow_series(f, &p, "taskplane_task_network_bytes_total", false);
	metric_head(
		f, "taskplane_task_network_packets_total", "counter",
		"Packets a task received (rx) or sent (tx), by flow (a GSO packet counts once).");
	flow_series(f, &p, "taskplane_task_network_packets_total", true);
	metric_head(f, "taskplane_task_network_dropped_packets_total", "counter",
		    "Packets of a task dropped, by reason (spoof, imds, policy, metadata_filter).");
	drop_series(f, &p, "taskplane_task_network_dropped_packets_total", true);
	metric_head(f, "taskplane_task_network_dropped_bytes_total", "counter",
		    "Bytes of a task dropped, by reason (spoof, imds, policy, metadata_filter).");
	drop_series(f, &p, "taskplane_task_network_dropped_bytes_total", false);
	for (size_t m = 0; m < ARRAY_SIZE(dev_metrics); m++) {
		metric_head(f, dev_metrics[m].name, "counter", dev_metrics[m].help);
		for (unsigned int i = 0; i < p.n; i++) {
			const struct counters_task *rec = p.recs[i];
			const char *base = (const char *)&rec->dev;

			if (!rec->have_dev)
				continue;
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
				fprintf(f, "%s{task_id=\"%s\",interface=\"", dev_metrics[m].name,
					p.tasks[i]->id);
				label(f, p.tasks[i]->att.ifname);
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

int counters_stats_init(struct netd *d)
{
	struct netd_counters *k = d->counters;
	int r;

	r = finals_load(k);
	if (r < 0)
		log_warn_errno(r, "Failed to read the final counters in '%s': %m, ignoring",
			       journal_dir(k->journal, JOURNAL_FINAL));
	finals_expire(k);
	r = event_add_periodic(d->loop, (uint64_t)k->interval_sec * 1000000ULL, on_sample, d, NULL);
	if (r < 0)
		return log_err_errno(r, "Failed to arm the sampling timer: %m");
	k->timer_id = r;
	return 0;
}

void counters_stats_exit(struct netd *d)
{
	struct netd_counters *k = d->counters;

	if (d->loop)
		event_cancel(d->loop, k->timer_id);
	k->timer_id = 0;
	while (k->finals) {
		struct counters_final *f = k->finals;

		k->finals = f->next;
		final_free(k, f, false);
	}
	k->nfinals = 0;
}
