// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stats as JSON text (stats-json.h). They are written here rather than built with jansson: all
 * 1,000 tasks of a host are about 1.6 MB of JSON, which jansson takes about 100 ms to build and
 * dump on this project's reference machine, five times the budget for reading them all (20 ms).
 * The writer is small, covers only this shape, and the tests parse what it writes.
 */
#include "stats-json.h"
#include "util.h"

/* --- a JSON text writer ---------------------------------------------------------------------- */

bool jb_reserve(struct jbuf *b, size_t n)
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

void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (!jb_reserve(b, n))
		return;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void jb_u64(struct jbuf *b, uint64_t v)
{
	char t[24];
	size_t i = sizeof(t);

	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	jb_put(b, t + i, sizeof(t) - i);
}

/* A real as jansson writes one: %.17g, with ".0" when that looks like an integer. */
void jb_real(struct jbuf *b, double v)
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
void jb_str(struct jbuf *b, const char *s)
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

void jb_key(struct jbuf *b, const char *key)
{
	jb_str(b, key);
	jb_lit(b, ":");
}

void jb_done(struct jbuf *b)
{
	free(b->buf);
	*b = (struct jbuf){};
}

/* --- one task's stats ------------------------------------------------------------------------ */

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

static void sum_flows(const struct counters_pair (*p)[TC_DIR_COUNT],
		      struct counters_pair ret[TC_DIR_COUNT])
{
	for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
		ret[dir] = (struct counters_pair){};
		for (unsigned int f = 0; f < TC_FLOW_COUNT; f++) {
			ret[dir].bytes += p[f][dir].bytes;
			ret[dir].packets += p[f][dir].packets;
			ret[dir].segs += p[f][dir].segs;
		}
	}
}

/* {"totals": ..., "flows": ...} of per-flow pairs. */
static void write_share(struct jbuf *b, const struct counters_pair (*p)[TC_DIR_COUNT])
{
	struct counters_pair tot[TC_DIR_COUNT];

	sum_flows(p, tot);
	jb_lit(b, "{\"totals\":");
	write_dirs(b, tot);
	jb_lit(b, ",\"flows\":");
	write_named_dirs(b, counters_flow_names, p, TC_FLOW_COUNT);
	jb_lit(b, "}");
}

/* A platform ENI's flows less what it attributed to tasks: the platform's own. */
static void write_unattributed(struct jbuf *b, const struct counters_snapshot *s)
{
	struct counters_pair own[TC_FLOW_COUNT][TC_DIR_COUNT];

	for (unsigned int f = 0; f < TC_FLOW_COUNT; f++)
		for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
			const struct counters_pair *all = &s->flows[f][dir];
			const struct counters_pair *att = &s->platform[f][dir];

			own[f][dir] = (struct counters_pair){
				.bytes = all->bytes - MIN(all->bytes, att->bytes),
				.packets = all->packets - MIN(all->packets, att->packets),
				.segs = all->segs - MIN(all->segs, att->segs),
			};
		}
	write_share(b, own);
}

/* One task's stats, in the shape of docs/PROTOCOL.md (stats.get). */
void stats_json_write(struct jbuf *b, const struct stats_in *in)
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
	if (in->prev && in->last && in->last->usec > in->prev->usec) {
		uint64_t us = in->last->usec - in->prev->usec;

		rx = rate(in->prev->rx_bytes, in->last->rx_bytes, us);
		tx = rate(in->prev->tx_bytes, in->last->tx_bytes, us);
	}

	if (in->platform_eni)
		jb_lit(b, "{\"name\":");
	else
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
	if (in->platform_eni) {
		jb_lit(b, ",\"attributed\":");
		write_share(b, in->snap->platform);
		jb_lit(b, ",\"unattributed\":");
		write_unattributed(b, in->snap);
	} else {
		jb_lit(b, ",\"platform\":");
		write_share(b, in->snap->platform);
	}
	jb_lit(b, ",\"rates\":{");
	write_u64_member(b, "window_sec", in->window_sec, false);
	jb_lit(b, ",\"rx_bytes_per_sec\":");
	jb_real(b, rx);
	jb_lit(b, ",\"tx_bytes_per_sec\":");
	jb_real(b, tx);
	jb_lit(b, "}");
	if (in->attached_ns) {
		format_rfc3339_nsec(in->attached_ns, ts, sizeof(ts));
		jb_lit(b, ",\"attached\":");
		jb_str(b, ts);
	}
	jb_lit(b, "}");
}
