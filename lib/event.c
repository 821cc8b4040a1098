// SPDX-License-Identifier: GPL-2.0-only
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "event.h"
#include "util.h"

enum source_type {
	SOURCE_IO,
	SOURCE_TIMER,
	SOURCE_SIGNAL,
};

struct source {
	struct source *next;
	int id;
	enum source_type type;
	int fd;	   /* watched fd; owned for timers and signals */
	bool dead; /* cancelled during a dispatch, freed after it */
	bool periodic;
	int signo;
	union {
		event_io_fn io;
		event_timer_fn timer;
		event_signal_fn signal;
	} fn;
	void *data;
	event_destroy_fn destroy;
};

struct event_loop {
	int epfd;
	int next_id;
	struct source *sources;
	bool exiting;
	int exit_code;
	bool dispatching;
};

int event_loop_new(struct event_loop **ret)
{
	struct event_loop *loop;

	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int r = -errno;

		free(loop);
		return r;
	}
	loop->next_id = 1;
	*ret = loop;
	return 0;
}

static void source_free(struct event_loop *loop, struct source *s)
{
	if (s->fd >= 0)
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	if (s->type != SOURCE_IO)
		safe_close(s->fd);
	if (s->type == SOURCE_SIGNAL) {
		sigset_t mask;

		sigemptyset(&mask);
		sigaddset(&mask, s->signo);
		sigprocmask(SIG_UNBLOCK, &mask, NULL);
	}
	if (s->destroy)
		s->destroy(s->data);
	free(s);
}

static void reap_dead(struct event_loop *loop)
{
	struct source **pp = &loop->sources;

	while (*pp) {
		struct source *s = *pp;

		if (s->dead) {
			*pp = s->next;
			source_free(loop, s);
		} else {
			pp = &s->next;
		}
	}
}

struct event_loop *event_loop_free(struct event_loop *loop)
{
	if (!loop)
		return NULL;
	for (struct source *s = loop->sources; s; s = s->next)
		s->dead = true;
	reap_dead(loop);
	safe_close(loop->epfd);
	free(loop);
	return NULL;
}

static int source_add(struct event_loop *loop, struct source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	s->id = loop->next_id++;
	if (loop->next_id <= 0)
		loop->next_id = 1;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	s->next = loop->sources;
	loop->sources = s;
	return s->id;
}

int event_add_io(struct event_loop *loop, int fd, uint32_t events, event_io_fn fn, void *data,
		 event_destroy_fn destroy)
{
	struct source *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct source){
		.type = SOURCE_IO, .fd = fd, .fn.io = fn, .data = data, .destroy = destroy
	};
	r = source_add(loop, s, events);
	if (r < 0)
		free(s);
	return r;
}

static struct source *source_find(struct event_loop *loop, int id)
{
	for (struct source *s = loop->sources; s; s = s->next)
		if (s->id == id && !s->dead)
			return s;
	return NULL;
}

int event_modify_io(struct event_loop *loop, int id, uint32_t events)
{
	struct source *s = source_find(loop, id);
	struct epoll_event ev = { .events = events };

	if (!s || s->type != SOURCE_IO)
		return -ENOENT;
	ev.data.ptr = s;
	return RET_NERRNO(epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s->fd, &ev));
}

static int timer_add(struct event_loop *loop, uint64_t usec, bool periodic, event_timer_fn fn,
		     void *data, event_destroy_fn destroy)
{
	struct itimerspec its = {};
	struct source *s;
	int fd, r;

	if (usec == 0)
		usec = 1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	its.it_value.tv_sec = (time_t)(usec / 1000000);
	its.it_value.tv_nsec = (long)(usec % 1000000) * 1000;
	if (periodic)
		its.it_interval = its.it_value;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	*s = (struct source){ .type = SOURCE_TIMER,
			      .fd = fd,
			      .periodic = periodic,
			      .fn.timer = fn,
			      .data = data,
			      .destroy = destroy };
	r = source_add(loop, s, EPOLLIN);
	if (r < 0) {
		close(fd);
		free(s);
	}
	return r;
}

int event_add_timer(struct event_loop *loop, uint64_t usec, event_timer_fn fn, void *data,
		    event_destroy_fn destroy)
{
	return timer_add(loop, usec, false, fn, data, destroy);
}

int event_add_periodic(struct event_loop *loop, uint64_t usec, event_timer_fn fn, void *data,
		       event_destroy_fn destroy)
{
	return timer_add(loop, usec, true, fn, data, destroy);
}

int event_add_signal(struct event_loop *loop, int signo, event_signal_fn fn, void *data)
{
	struct source *s;
	sigset_t mask;
	int fd, r;

	sigemptyset(&mask);
	sigaddset(&mask, signo);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	*s = (struct source){
		.type = SOURCE_SIGNAL, .fd = fd, .signo = signo, .fn.signal = fn, .data = data
	};
	r = source_add(loop, s, EPOLLIN);
	if (r < 0) {
		close(fd);
		free(s);
	}
	return r;
}

void event_cancel(struct event_loop *loop, int id)
{
	struct source *s;

	if (id <= 0)
		return;
	s = source_find(loop, id);
	if (!s)
		return;
	s->dead = true;
	/* Stop watching at once so a closed-and-reused fd number is not confused with it. */
	if (s->fd >= 0) {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		if (s->type == SOURCE_IO)
			s->fd = -1;
	}
	if (!loop->dispatching)
		reap_dead(loop);
}

void event_loop_exit(struct event_loop *loop, int code)
{
	loop->exiting = true;
	loop->exit_code = code;
}

static void dispatch(struct event_loop *loop, struct source *s, uint32_t events)
{
	switch (s->type) {
	case SOURCE_IO:
		s->fn.io(loop, s->fd, events, s->data);
		break;
	case SOURCE_TIMER: {
		uint64_t n;

		if (read(s->fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
			break;
		if (!s->periodic)
			s->dead = true;
		s->fn.timer(loop, s->data);
		break;
	}
	case SOURCE_SIGNAL: {
		struct signalfd_siginfo si;

		while (read(s->fd, &si, sizeof(si)) == sizeof(si))
			s->fn.signal(loop, (int)si.ssi_signo, s->data);
		break;
	}
	}
}

int event_loop_run(struct event_loop *loop)
{
	struct epoll_event evs[64];

	while (!loop->exiting) {
		int n = epoll_wait(loop->epfd, evs, (int)ARRAY_SIZE(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		loop->dispatching = true;
		for (int i = 0; i < n; i++) {
			struct source *s = evs[i].data.ptr;

			if (s->dead)
				continue;
			dispatch(loop, s, evs[i].events);
		}
		loop->dispatching = false;
		reap_dead(loop);
	}
	return loop->exit_code;
}
