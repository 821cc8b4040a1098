/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An attachment's stats as JSON text, in the shape of docs/PROTOCOL.md (stats.get), through a
 * small JSON text writer that the stats methods use for the envelopes too.
 */
#ifndef NETD_STATS_JSON_H
#define NETD_STATS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters-bpf.h"
#include "netlink.h"

/* JSON text being written; on a failed allocation it stops growing and says oom. */
struct jbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

/* Room for n more bytes (false: out of memory). */
bool jb_reserve(struct jbuf *b, size_t n);
/* Append n bytes as they are. */
void jb_put(struct jbuf *b, const char *s, size_t n);
/* A string literal (only: sizeof gives its length). */
#define jb_lit(b, s) jb_put(b, "" s "", sizeof(s) - 1)
/* A number; a real as jansson writes one (%.17g, ".0" when it looks like an integer). */
void jb_u64(struct jbuf *b, uint64_t v);
void jb_real(struct jbuf *b, double v);
/* A string, quoted and escaped; a member's key and its colon. */
void jb_str(struct jbuf *b, const char *s);
void jb_key(struct jbuf *b, const char *key);
/* Free the text. */
void jb_done(struct jbuf *b);

/* Total bytes received and sent at a time: a sample, of which two make the rates. */
struct counters_sample {
	uint64_t usec; /* CLOCK_MONOTONIC */
	uint64_t rx_bytes, tx_bytes;
};

/* What one attachment's stats say. */
struct stats_in {
	const char *id;
	unsigned int slot;
	const char *phase;
	bool detached;
	uint64_t time_ns;
	const char *ifname;
	const struct counters_snapshot *snap;
	const struct link_stats *dev;		   /* the ENI's link statistics; NULL: unknown */
	const struct link_stats *base;		   /* the same at the attach; NULL: unknown */
	const struct counters_sample *prev, *last; /* the rates; NULL: none */
	uint64_t attached_ns;			   /* 0: unknown */
	unsigned int window_sec;		   /* of the rates */
	/* A platform ENI's (name in id): what it attributed to tasks and the platform's own,
	 * instead of a task's share on the platform ENIs */
	bool platform_eni;
};

/* Write one attachment's stats object. */
void stats_json_write(struct jbuf *b, const struct stats_in *in);

#endif
