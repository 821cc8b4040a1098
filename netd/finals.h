/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Final counters: the stats of an attachment as they were when it was detached, kept as JSON
 * text, in memory and in the journal (JOURNAL_FINAL), until collected (stats.collect) or until
 * the retention passes. At most 4 per slot are kept; the oldest go first.
 */
#ifndef NETD_FINALS_H
#define NETD_FINALS_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

struct netd;

#define FINALS_DEFAULT_RETENTION 3600 /* seconds a detached attachment's final counters are kept */

struct final {
	struct final *next;
	char id[IDENT_TASK_ID_MAX + 1];
	uint64_t created_ns;	/* the attach's: tells two attaches of one id apart */
	uint64_t detached_usec; /* CLOCK_MONOTONIC, for the retention */
	char *text;
	size_t len;
};

/* Load the finals the journal has (their age from when they were written) and drop the
 * expired. */
int finals_init(struct netd *d, unsigned int retention_sec);
/* Forget them (in memory; the journal stays). */
void finals_exit(struct netd *d);
/* How long they are kept, in seconds. */
unsigned int finals_retention(struct netd *d);
/* Keep an attachment's final stats (text is taken), replacing an earlier record of that
 * attach, and journal them. */
void finals_keep(struct netd *d, const char *id, uint64_t created_ns, char *text, size_t len);
/* Drop the ones kept past the retention. */
void finals_expire(struct netd *d);
/* Every one kept, newest first; how many. */
const struct final *finals_list(struct netd *d);
unsigned int finals_count(struct netd *d);
/* Take out those of id (every one: NULL), newest last; give them to finals_drop() after. */
struct final *finals_take(struct netd *d, const char *id);
/* Free finals taken out, and remove them from the journal. */
void finals_drop(struct netd *d, struct final *list);

#endif
