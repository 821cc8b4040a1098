// SPDX-License-Identifier: GPL-2.0-only
/*
 * A container's stdout and stderr pipes on the event loop: split into lines (pieces of
 * LOGSHIP_LINE_MAX bytes for longer ones, the last line flushed at the end even without its
 * "\n"), each handed to the shipper and then to the log file. When the shipper's buffer is full
 * (blocking mode), the pipe is no longer read until the shipper has room: the line that did not
 * fit stays in the pipe's buffer, the pipe fills and the container blocks in write().
 */
#include <fcntl.h>
#include <sys/epoll.h>

#include "event.h"
#include "log.h"
#include "logship.h"

#define PIPE_BUF_SIZE (64u << 10)

struct pipe_in {
	struct logship_source *src;
	enum logfile_stream stream;
	int fd;
	int io_id;
	bool eof;    /* the pipe reached its end */
	bool done;   /* ... and every line of it was handed on */
	bool paused; /* waiting for room in the shipper */
	char *buf;
	size_t off, len;
	uint64_t time_nsec; /* when the last bytes were read */
};

struct logship_source {
	struct event_loop *loop;
	struct pipe_in pipes[2];
	struct logfile *file;
	struct logship *ship;
	logship_source_eof_fn on_eof;
	void *data;
	int eof_timer_id;
	bool eof_reported;
	uint64_t last_time; /* of the last line handed on */
	uint64_t lines, split;
	int file_error;
};

/* Hand one line on: -ENOBUFS if the shipper has no room for it now. */
static int emit(struct pipe_in *p, const char *data, size_t n, bool newline, bool piece)
{
	struct logship_source *src = p->src;
	/* A line's time is when it was read, or later if the shipper held it back while the
	 * other pipe went on: a container's lines are handed on in time order. */
	uint64_t t = MAX(p->time_nsec, src->last_time);
	int r;

	if (src->ship) {
		r = logship_submit(src->ship, p->stream, t, data, n);
		if (r == -ENOBUFS)
			return r;
		if (r < 0)
			log_debug_errno(r, "logship: a line was not shipped: %m");
	}
	if (src->file) {
		r = logfile_append(src->file, p->stream, t, data, n, newline);
		if (r < 0)
			src->file_error = r;
	}
	src->last_time = t;
	src->lines++;
	if (piece)
		src->split++;
	return 0;
}

/* Hand on the buffer's complete lines (and its rest, at the end of the pipe). */
static int pipe_lines(struct pipe_in *p)
{
	int r = 0;

	while (p->off < p->len) {
		const char *start = p->buf + p->off;
		size_t avail = p->len - p->off, n, used;
		const char *nl = memchr(start, '\n', MIN(avail, (size_t)LOGSHIP_LINE_MAX + 1));
		bool newline = false, piece = false;

		if (nl) {
			n = (size_t)(nl - start);
			used = n + 1;
			newline = true;
		} else if (avail > LOGSHIP_LINE_MAX) {
			n = used = LOGSHIP_LINE_MAX;
			piece = true;
		} else if (p->eof) {
			n = used = avail;
		} else {
			break;
		}
		r = emit(p, start, n, newline, piece);
		if (r < 0)
			break;
		p->off += used;
	}
	if (p->off > 0) {
		memmove(p->buf, p->buf + p->off, p->len - p->off);
		p->len -= p->off;
		p->off = 0;
	}
	if (p->src->file) {
		int k = logfile_flush(p->src->file);

		if (k < 0)
			p->src->file_error = k;
	}
	return r;
}

static void eof_report(struct event_loop *loop, void *data)
{
	struct logship_source *src = data;

	src->eof_timer_id = 0;
	src->eof_reported = true;
	if (src->on_eof)
		src->on_eof(src, src->data);
}

static void pipe_check_done(struct pipe_in *p)
{
	struct logship_source *src = p->src;
	int id;

	if (!p->eof || p->len > 0 || p->done)
		return;
	p->done = true;
	if (p->io_id > 0)
		event_cancel(src->loop, p->io_id);
	p->io_id = 0;
	p->fd = safe_close(p->fd);
	if (!src->pipes[0].done || !src->pipes[1].done || src->eof_reported || src->eof_timer_id)
		return;
	/* From the loop, so that the callback may free the source (and drain the shipper). */
	id = event_add_timer(src->loop, 0, eof_report, src, NULL);
	if (id > 0)
		src->eof_timer_id = id;
}

static void pipe_io(struct event_loop *loop, int fd, uint32_t events, void *data);

/*
 * Stop or resume reading. A paused pipe leaves the loop altogether: epoll reports a hang-up
 * whatever events are asked for, and the pipe must not be read while its buffer waits.
 */
static void pipe_pause(struct pipe_in *p, bool on)
{
	int id;

	if (p->paused == on)
		return;
	p->paused = on;
	if (on) {
		if (p->io_id > 0)
			event_cancel(p->src->loop, p->io_id);
		p->io_id = 0;
		return;
	}
	if (p->eof || p->fd < 0)
		return;
	id = event_add_io(p->src->loop, p->fd, EPOLLIN, pipe_io, p, NULL);
	if (id < 0) {
		/* Cannot watch it again (out of memory): what is in the pipe is lost. */
		log_debug_errno(id, "logship: cannot resume reading the container's %s: %m",
				logfile_stream_to_string(p->stream));
		p->eof = true;
		return;
	}
	p->io_id = id;
}

static void pipe_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct pipe_in *p = data;
	ssize_t n;

	do
		n = read(p->fd, p->buf + p->len, PIPE_BUF_SIZE - p->len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	p->time_nsec = realtime_nsec();
	if (n <= 0) {
		if (n < 0)
			log_debug_errno(-errno, "logship: reading the container's %s: %m",
					logfile_stream_to_string(p->stream));
		p->eof = true;
		if (p->io_id > 0)
			event_cancel(loop, p->io_id);
		p->io_id = 0;
	} else {
		p->len += (size_t)n;
	}
	if (pipe_lines(p) == -ENOBUFS)
		pipe_pause(p, true);
	pipe_check_done(p);
}

static void source_room(struct logship *ls, void *data)
{
	struct logship_source *src = data;

	for (size_t i = 0; i < ARRAY_SIZE(src->pipes); i++) {
		struct pipe_in *p = &src->pipes[i];

		if (!p->paused)
			continue;
		if (pipe_lines(p) == -ENOBUFS)
			continue; /* the shipper asks for room again */
		pipe_pause(p, false);
		pipe_check_done(p);
	}
}

int logship_source_new(struct event_loop *loop, const struct logship_source_opts *o,
		       struct logship_source **ret)
{
	int fds[2] = { o->stdout_fd, o->stderr_fd };
	struct logship_source *src;
	int r;

	src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->loop = loop;
	src->file = o->file;
	src->ship = o->ship;
	src->on_eof = o->on_eof;
	src->data = o->data;
	for (size_t i = 0; i < ARRAY_SIZE(src->pipes); i++) {
		struct pipe_in *p = &src->pipes[i];

		*p = (struct pipe_in){ .src = src, .stream = (enum logfile_stream)i, .fd = -1 };
		if (fds[i] < 0) {
			p->eof = true;
			continue;
		}
		p->buf = malloc(PIPE_BUF_SIZE);
		if (!p->buf) {
			r = -ENOMEM;
			goto out_free;
		}
		r = fcntl(fds[i], F_GETFL);
		if (r < 0 || fcntl(fds[i], F_SETFL, r | O_NONBLOCK) < 0) {
			r = -errno;
			goto out_free;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(src->pipes); i++) {
		struct pipe_in *p = &src->pipes[i];

		if (p->eof)
			continue;
		r = event_add_io(loop, fds[i], EPOLLIN, pipe_io, p, NULL);
		if (r < 0)
			goto out_free;
		p->io_id = r;
		p->fd = fds[i];
	}
	if (src->ship)
		logship_set_room_fn(src->ship, source_room, src);
	/* An absent pipe is done now (both absent: the end is now). */
	pipe_check_done(&src->pipes[0]);
	pipe_check_done(&src->pipes[1]);
	*ret = src;
	return 0;

out_free:
	/* The fds stay the caller's. */
	for (size_t i = 0; i < ARRAY_SIZE(src->pipes); i++)
		src->pipes[i].fd = -1;
	logship_source_free(src);
	return r;
}

struct logship_source *logship_source_free(struct logship_source *src)
{
	if (!src)
		return NULL;
	if (src->ship)
		logship_set_room_fn(src->ship, NULL, NULL);
	if (src->eof_timer_id > 0)
		event_cancel(src->loop, src->eof_timer_id);
	for (size_t i = 0; i < ARRAY_SIZE(src->pipes); i++) {
		struct pipe_in *p = &src->pipes[i];

		if (p->io_id > 0)
			event_cancel(src->loop, p->io_id);
		safe_close(p->fd);
		free(p->buf);
	}
	free(src);
	return NULL;
}

void logship_source_get_counts(const struct logship_source *src, uint64_t *ret_lines,
			       uint64_t *ret_split)
{
	if (ret_lines)
		*ret_lines = src->lines;
	if (ret_split)
		*ret_split = src->split;
}

bool logship_source_paused(const struct logship_source *src)
{
	return src->pipes[0].paused || src->pipes[1].paused;
}

int logship_source_file_error(const struct logship_source *src)
{
	return src->file_error;
}
