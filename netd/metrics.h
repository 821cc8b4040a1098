/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small HTTP/1.x responder for Prometheus scrapes, served from netd's event loop: GET (or
 * HEAD) /metrics gets the text exposition format, rendered by a callback per request. Bounded:
 * at most 16 clients, request heads of 8 KiB, 10 s per connection; every response closes it.
 */
#ifndef NETD_METRICS_H
#define NETD_METRICS_H

#include <stdio.h>

struct event_loop;
struct metrics_server;

/* Write the exposition to f; a negative errno fails the scrape with 500. */
typedef int (*metrics_render_fn)(FILE *f, void *data);

/* Listen on "ADDR:PORT" (IPv4, or [IPv6]:PORT; PORT 0 picks one) and serve in loop. */
int metrics_server_new(struct event_loop *loop, const char *address, metrics_render_fn render,
		       void *data, struct metrics_server **ret);
/* The address actually bound, "ADDR:PORT". */
const char *metrics_server_address(const struct metrics_server *m);
/* Close every connection and the socket; returns NULL. */
struct metrics_server *metrics_server_free(struct metrics_server *m);

#endif
