/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus for netd: the HTTP endpoint and netd's own metrics.
 *
 * The endpoint is libmicrohttpd driven from netd's event loop, with no thread of its own: GET
 * and HEAD /metrics get the text exposition, rendered by a callback per request; another method
 * is 405 (with Allow: GET, HEAD), another path 404. Bounded: at most 16 connections, request
 * heads of 8 KiB (431 above), 10 s of idleness per connection.
 *
 * netd's own metrics are the durations of attaches and detaches (histograms), their failures by
 * reason, the ENIs by state and the build (docs/counters.md lists them).
 */
#ifndef NETD_METRICS_H
#define NETD_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct event_loop;
struct metrics_server;
struct netd;

/* Write the exposition to f; a negative errno fails the scrape with 500. */
typedef int (*metrics_render_fn)(FILE *f, void *data);

/* Listen on "ADDR:PORT" (IPv4, or [IPv6]:PORT; PORT 0 picks one) and serve in loop. */
int metrics_server_new(struct event_loop *loop, const char *address, metrics_render_fn render,
		       void *data, struct metrics_server **ret);
/* The address actually bound, "ADDR:PORT". */
const char *metrics_server_address(const struct metrics_server *m);
/* Close every connection and the socket; returns NULL. */
struct metrics_server *metrics_server_free(struct metrics_server *m);

/* Set up netd's own metrics (d->metrics); metrics_exit() frees them. The attach failures are
 * counted by reason from the start: steps[0..nsteps) (static strings) and the others. */
int metrics_init(struct netd *d, const char *const *steps, unsigned int nsteps);
void metrics_exit(struct netd *d);
/* An attach that netd carried out took usec, from its first step to its answer. */
void metrics_attach_done(struct netd *d, uint64_t usec);
/* An attach netd had started failed: at a step (its name), or reason (a static string). */
void metrics_attach_failed(struct netd *d, const char *reason);
/* A detach of a task took usec, or failed for reason (a static string). */
void metrics_detach_done(struct netd *d, uint64_t usec);
void metrics_detach_failed(struct netd *d, const char *reason);
/* Write netd's own metrics in the exposition format. */
void metrics_render_netd(struct netd *d, FILE *f);

#endif
