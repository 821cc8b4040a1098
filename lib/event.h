/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The event loop: epoll, with signalfd and timerfd sources. Single-threaded. Every source is
 * (callback, user_data, destroy) and has an id that cancels it; destroy runs once when the source
 * goes away, whether cancelled or at loop teardown.
 */
#ifndef TP_EVENT_H
#define TP_EVENT_H

#include <stdbool.h>
#include <stdint.h>

struct event_loop;

typedef void (*event_io_fn)(struct event_loop *loop, int fd, uint32_t events, void *data);
typedef void (*event_timer_fn)(struct event_loop *loop, void *data);
typedef void (*event_signal_fn)(struct event_loop *loop, int signo, void *data);
typedef void (*event_destroy_fn)(void *data);

/* Create a loop. */
int event_loop_new(struct event_loop **ret);
/* Cancel every source (running their destroy) and free; returns NULL. */
struct event_loop *event_loop_free(struct event_loop *loop);
/* Run until event_loop_exit(); returns the exit code given there. */
int event_loop_run(struct event_loop *loop);
/* Make event_loop_run() return code after the current dispatch. */
void event_loop_exit(struct event_loop *loop, int code);

/* Watch fd for EPOLLIN/EPOLLOUT...; returns an id (>0) or -errno. The fd stays the caller's. */
int event_add_io(struct event_loop *loop, int fd, uint32_t events, event_io_fn fn, void *data,
		 event_destroy_fn destroy);
/* Change the events watched by an io source. */
int event_modify_io(struct event_loop *loop, int id, uint32_t events);
/* Call fn once after usec microseconds (CLOCK_MONOTONIC); returns an id or -errno. */
int event_add_timer(struct event_loop *loop, uint64_t usec, event_timer_fn fn, void *data,
		    event_destroy_fn destroy);
/* Call fn every usec microseconds; returns an id or -errno. */
int event_add_periodic(struct event_loop *loop, uint64_t usec, event_timer_fn fn, void *data,
		       event_destroy_fn destroy);
/* Block signo and deliver it through a signalfd; returns an id or -errno. */
int event_add_signal(struct event_loop *loop, int signo, event_signal_fn fn, void *data);
/* Cancel a source by id (0 and unknown ids are ignored). Safe from within callbacks. */
void event_cancel(struct event_loop *loop, int id);

#endif
