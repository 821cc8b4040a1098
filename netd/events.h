/* SPDX-License-Identifier: GPL-2.0-only */
/* Events: what netd did or saw, logged, kept in a ring of the most recent, sent to subscribers. */
#ifndef NETD_EVENTS_H
#define NETD_EVENTS_H

#include <jansson.h>
#include <stdint.h>

struct netd;

int events_init(struct netd *d);
void events_exit(struct netd *d);
/* Log, record and broadcast (topic "events") an event; fields is stolen and may be NULL. */
void events_emit(struct netd *d, const char *type, json_t *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The events kept with a sequence number above since (0: every one kept), oldest first. */
json_t *events_list(struct netd *d, uint64_t since);
/* The sequence number the next event gets. */
uint64_t events_next_seq(struct netd *d);

#endif
