// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events: what netd did or saw (an ENI appeared, a task attached, an ENI was lost with its
 * namespace). Each is logged, kept in a ring of the most recent, and sent to subscribers. The
 * events.* methods are events-methods.c's.
 */
#include <stdarg.h>

#include "ctl-server.h"
#include "events.h"
#include "log.h"
#include "netd.h"

#define EVENTS_RING 1024

struct netd_events {
	json_t *ring[EVENTS_RING];
	uint64_t next_seq; /* seq of the next event; ring[(seq - 1) % EVENTS_RING] is the last */
};

int events_init(struct netd *d)
{
	d->events = calloc(1, sizeof(*d->events));
	if (!d->events)
		return -ENOMEM;
	d->events->next_seq = 1;
	return 0;
}

void events_exit(struct netd *d)
{
	if (!d->events)
		return;
	for (size_t i = 0; i < EVENTS_RING; i++)
		json_decref(d->events->ring[i]);
	free(d->events);
	d->events = NULL;
}

void events_emit(struct netd *d, const char *type, json_t *fields, const char *fmt, ...)
{
	struct netd_events *ev = d->events;
	char msg[512], ts[40];
	json_t *e;
	va_list ap;
	size_t slot;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s", msg);

	format_rfc3339_nsec(realtime_nsec(), ts, sizeof(ts));
	e = fields && json_is_object(fields) ? fields : json_object();
	if (fields && e != fields)
		json_decref(fields);
	json_object_set_new(e, "seq", json_integer((json_int_t)ev->next_seq));
	json_object_set_new(e, "time", json_string(ts));
	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "message", json_string(msg));

	slot = (size_t)((ev->next_seq - 1) % EVENTS_RING);
	json_decref(ev->ring[slot]);
	ev->ring[slot] = e;
	ev->next_seq++;
	if (d->ctl)
		ctl_server_broadcast(d->ctl, "events", "event", e);
}

json_t *events_list(struct netd *d, uint64_t since)
{
	struct netd_events *ev = d->events;
	uint64_t first = ev->next_seq > EVENTS_RING ? ev->next_seq - EVENTS_RING : 1;
	json_t *arr = json_array();

	if (since > 0 && since + 1 > first)
		first = since + 1;
	for (uint64_t s = first; s < ev->next_seq; s++)
		json_array_append(arr, ev->ring[(s - 1) % EVENTS_RING]);
	return arr;
}

uint64_t events_next_seq(struct netd *d)
{
	return d->events->next_seq;
}
