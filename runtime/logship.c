// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shipper: a queue of framed messages and one TCP connection to the collector.
 *
 * Every message is kept, framed, until the collector's TCP has acknowledged all of its bytes.
 * The queue has two parts: inflight (written to the current connection, whole, not yet known
 * to be acknowledged) and pending (not written yet; the first one may be written in part,
 * pend_off bytes). The bytes of a connection are counted (conn_written); a frame's end is its
 * last byte's position in that count, and SIOCOUTQ (written but not acknowledged) tells how far
 * the collector acknowledged: every inflight frame ending there or before is delivered. When a
 * connection ends, what is left of inflight goes back in front of pending, and the next
 * connection sends it again from its first byte: a receiver drops an incomplete frame at the
 * end of a stream (rsyslog: "Incomplete frame at end of stream"), so nothing is lost and no
 * frame is delivered twice by the shipper.
 *
 * The socket's send buffer is set to a quarter of the queue's bound (the kernel doubles it),
 * so at most about half of the queue is inflight: a full queue always has pending frames, the
 * socket then reports EPOLLOUT as acknowledgements free its buffer, and each write reads
 * SIOCOUTQ again. No timer polls.
 */
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "event.h"
#include "log.h"
#include "logship.h"
#include "netns.h"

#define BACKOFF_MIN_DEFAULT	(100 * 1000ULL)
#define BACKOFF_MAX_DEFAULT	(5 * 1000 * 1000ULL)
#define CONNECT_TIMEOUT_DEFAULT (10 * 1000 * 1000ULL)
#define USER_TIMEOUT_DEFAULT	30000u
#define WRITE_IOV_MAX		64
#define WRITE_ROUNDS		16

struct frame {
	struct frame *next;
	uint64_t end;	  /* position of its last byte in the connection's stream, plus one */
	uint32_t len;	  /* frame bytes */
	uint32_t msg_len; /* the container's bytes */
	bool sent;	  /* some of it was written to a connection */
	char data[];
};

struct fqueue {
	struct frame *head;
	struct frame *tail;
	uint64_t n;
	uint64_t bytes;
};

enum conn_state {
	CONN_BACKOFF,	 /* waiting to connect (timer) */
	CONN_CONNECTING, /* connect() in progress (EPOLLOUT, timer) */
	CONN_CONNECTED,
	CONN_CLOSED, /* drained or failed for good */
};

struct logship {
	struct event_loop *loop;
	struct logship_fmt *fmt;
	enum logship_mode mode;
	uint64_t max_buffer;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int netns_fd;
	uint32_t mark;
	uint64_t backoff_min, backoff_max, backoff, connect_timeout;
	uint32_t user_timeout;
	uint64_t rng;
	logship_conn_fn on_conn;
	void *data;
	logship_room_fn room_fn;
	void *room_data;
	bool want_room;

	enum conn_state state;
	int fd;
	int io_id;
	uint32_t io_events;
	int timer_id;
	uint64_t conn_written;
	uint64_t conn_delivered; /* frames this connection delivered */
	bool half_closed;

	struct fqueue inflight, pending;
	size_t pend_off;

	bool draining;
	int drain_timer_id;
	logship_drained_fn drained_fn;
	void *drained_data;

	struct logship_stats st;
};

static void fq_push(struct fqueue *q, struct frame *f)
{
	f->next = NULL;
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->n++;
	q->bytes += f->len;
}

static struct frame *fq_pop(struct fqueue *q)
{
	struct frame *f = q->head;

	if (!f)
		return NULL;
	q->head = f->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= f->len;
	f->next = NULL;
	return f;
}

/* Remove the frame after prev (the head if prev is NULL). */
static struct frame *fq_remove_after(struct fqueue *q, struct frame *prev)
{
	struct frame *f;

	if (!prev)
		return fq_pop(q);
	f = prev->next;
	if (!f)
		return NULL;
	prev->next = f->next;
	if (q->tail == f)
		q->tail = prev;
	q->n--;
	q->bytes -= f->len;
	f->next = NULL;
	return f;
}

/* Put all of src in front of dst. */
static void fq_prepend(struct fqueue *dst, struct fqueue *src)
{
	if (!src->head)
		return;
	src->tail->next = dst->head;
	if (!dst->tail)
		dst->tail = src->tail;
	dst->head = src->head;
	dst->n += src->n;
	dst->bytes += src->bytes;
	*src = (struct fqueue){};
}

static void fq_clear(struct fqueue *q)
{
	struct frame *f;

	while ((f = fq_pop(q)))
		free(f);
}

static uint64_t buffered_bytes(const struct logship *ls)
{
	return ls->inflight.bytes + ls->pending.bytes;
}

static uint64_t rng_next(struct logship *ls)
{
	/* xorshift64: jitter only. */
	ls->rng ^= ls->rng << 13;
	ls->rng ^= ls->rng >> 7;
	ls->rng ^= ls->rng << 17;
	return ls->rng;
}

static void conn_schedule(struct logship *ls);
static void conn_io(struct event_loop *loop, int fd, uint32_t events, void *data);
static void drain_finish(struct logship *ls, int result);

static void set_events(struct logship *ls, uint32_t events)
{
	if (ls->io_id <= 0 || ls->io_events == events)
		return;
	if (event_modify_io(ls->loop, ls->io_id, events) == 0)
		ls->io_events = events;
}

/* The events a connected socket waits for: its peer's close always, writing if there is
 * something to write. */
static void update_events(struct logship *ls)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;

	if (ls->state != CONN_CONNECTED)
		return;
	if (ls->pending.head && !ls->half_closed)
		ev |= EPOLLOUT;
	set_events(ls, ev);
}

static void conn_close(struct logship *ls)
{
	if (ls->io_id > 0)
		event_cancel(ls->loop, ls->io_id);
	ls->io_id = 0;
	ls->io_events = 0;
	if (ls->timer_id > 0)
		event_cancel(ls->loop, ls->timer_id);
	ls->timer_id = 0;
	ls->fd = safe_close(ls->fd);
	ls->half_closed = false;
	ls->st.connected = false;
}

/* Free the frames the collector acknowledged. */
static void ack_update(struct logship *ls)
{
	uint64_t acked;
	int outq;

	if (ls->fd < 0 || ioctl(ls->fd, SIOCOUTQ, &outq) < 0 || outq < 0 ||
	    (uint64_t)outq > ls->conn_written)
		return;
	acked = ls->conn_written - (uint64_t)outq;
	while (ls->inflight.head && ls->inflight.head->end <= acked) {
		struct frame *f = fq_pop(&ls->inflight);

		ls->st.delivered++;
		ls->st.delivered_bytes += f->len;
		ls->conn_delivered++;
		free(f);
	}
}

/* After frames were freed: tell a blocked source once a quarter of the buffer is free. */
static void room_notify(struct logship *ls)
{
	if (!ls->want_room || buffered_bytes(ls) > ls->max_buffer - ls->max_buffer / 4)
		return;
	ls->want_room = false;
	if (ls->room_fn)
		ls->room_fn(ls, ls->room_data);
}

/* A connection ended: keep what it did not deliver, for the next one. */
static void conn_lost(struct logship *ls, int error)
{
	bool delivered;

	ack_update(ls);
	for (struct frame *f = ls->inflight.head; f; f = f->next)
		ls->st.resent++;
	if (ls->pend_off > 0)
		ls->st.resent++;
	fq_prepend(&ls->pending, &ls->inflight);
	ls->pend_off = 0;
	delivered = ls->conn_delivered > 0;
	conn_close(ls);
	ls->st.disconnects++;
	if (error == -ECONNRESET)
		ls->st.resets++;
	ls->st.last_error = error;
	log_debug_errno(error, "logship: connection to the collector lost: %m");
	if (ls->on_conn)
		ls->on_conn(ls, error, ls->data);
	/* A connection that delivered something starts the backoff over. */
	if (delivered)
		ls->backoff = ls->backoff_min;
	conn_schedule(ls);
	room_notify(ls);
}

static void conn_failed(struct logship *ls, int error)
{
	conn_close(ls);
	ls->st.connect_failures++;
	ls->st.last_error = error;
	log_debug_errno(error, "logship: cannot connect to the collector: %m");
	if (ls->on_conn)
		ls->on_conn(ls, error, ls->data);
	conn_schedule(ls);
}

static void conn_timeout(struct event_loop *loop, void *data)
{
	struct logship *ls = data;

	ls->timer_id = 0;
	conn_failed(ls, -ETIMEDOUT);
}

static int socket_open(struct logship *ls, int *ret)
{
	_cleanup_close_ int fd = -1;
	int saved = -1, one = 1, sndbuf, r;

	if (ls->netns_fd >= 0) {
		r = netns_enter(ls->netns_fd, &saved);
		if (r < 0)
			return r;
	}
	fd = socket(ls->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	r = fd < 0 ? -errno : 0;
	if (saved >= 0) {
		int k = netns_restore(saved);

		if (r == 0 && k < 0)
			r = k;
	}
	if (r < 0)
		return r;
	if (ls->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &ls->mark, sizeof(ls->mark)) < 0)
		return -errno;
	sndbuf = (int)(ls->max_buffer / 4);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ls->user_timeout,
		       sizeof(ls->user_timeout)) < 0)
		return -errno;
	*ret = TAKE_FD(fd);
	return 0;
}

static void conn_established(struct logship *ls)
{
	if (ls->timer_id > 0)
		event_cancel(ls->loop, ls->timer_id);
	ls->timer_id = 0;
	ls->state = CONN_CONNECTED;
	ls->conn_written = 0;
	ls->conn_delivered = 0;
	ls->st.connects++;
	ls->st.connected = true;
	log_debug("logship: connected to the collector");
	if (ls->on_conn)
		ls->on_conn(ls, 0, ls->data);
	update_events(ls);
	/* Draining with nothing left to send: say so at once. */
	if (ls->draining && !ls->pending.head && !ls->half_closed) {
		shutdown(ls->fd, SHUT_WR);
		ls->half_closed = true;
		update_events(ls);
	}
}

static void conn_start(struct logship *ls)
{
	int r, id;

	r = socket_open(ls, &ls->fd);
	if (r < 0) {
		ls->fd = -1;
		conn_failed(ls, r);
		return;
	}
	ls->state = CONN_CONNECTING;
	ls->conn_written = 0;
	if (connect(ls->fd, (struct sockaddr *)&ls->addr, ls->addr_len) < 0 &&
	    errno != EINPROGRESS) {
		conn_failed(ls, -errno);
		return;
	}
	id = event_add_io(ls->loop, ls->fd, EPOLLOUT, conn_io, ls, NULL);
	if (id < 0) {
		conn_failed(ls, id);
		return;
	}
	ls->io_id = id;
	ls->io_events = EPOLLOUT;
	id = event_add_timer(ls->loop, ls->connect_timeout, conn_timeout, ls, NULL);
	if (id < 0) {
		conn_failed(ls, id);
		return;
	}
	ls->timer_id = id;
}

static void backoff_done(struct event_loop *loop, void *data)
{
	struct logship *ls = data;

	ls->timer_id = 0;
	conn_start(ls);
}

/* The next attempt, after the backoff (jittered: half of it, plus up to the other half). */
static void conn_schedule(struct logship *ls)
{
	uint64_t delay = ls->backoff / 2 + rng_next(ls) % (ls->backoff / 2 + 1);
	int id;

	ls->state = CONN_BACKOFF;
	ls->backoff = MIN(ls->backoff * 2, ls->backoff_max);
	id = event_add_timer(ls->loop, delay, backoff_done, ls, NULL);
	if (id < 0) {
		/* Out of memory or fds: nothing will retry, say so. */
		ls->state = CONN_CLOSED;
		ls->st.last_error = id;
		return;
	}
	ls->timer_id = id;
}

/* Write pending frames: 0 (all written, or the socket is full), or -errno. */
static int conn_write(struct logship *ls)
{
	for (int round = 0; round < WRITE_ROUNDS && ls->pending.head; round++) {
		struct iovec iov[WRITE_IOV_MAX];
		struct msghdr msg = { .msg_iov = iov };
		size_t off = ls->pend_off;
		struct frame *f;
		ssize_t n;
		int k = 0;

		for (f = ls->pending.head; f && k < WRITE_IOV_MAX; f = f->next, k++) {
			iov[k].iov_base = f->data + off;
			iov[k].iov_len = f->len - off;
			off = 0;
		}
		msg.msg_iovlen = (size_t)k;
		n = sendmsg(ls->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		/* Move what was written whole to inflight; a frame gets its end once its first
		 * byte is written. */
		while (n > 0) {
			size_t left;

			f = ls->pending.head;
			if (ls->pend_off == 0) {
				f->end = ls->conn_written + f->len;
				f->sent = true;
			}
			left = f->len - ls->pend_off;
			if ((size_t)n < left) {
				ls->pend_off += (size_t)n;
				ls->conn_written += (uint64_t)n;
				break;
			}
			n -= (ssize_t)left;
			ls->conn_written += left;
			ls->pend_off = 0;
			fq_push(&ls->inflight, fq_pop(&ls->pending));
		}
	}
	ack_update(ls);
	return 0;
}

static void conn_io_connected(struct logship *ls, uint32_t events)
{
	char buf[4096];
	ssize_t n;
	int r;

	if (events & EPOLLERR) {
		socklen_t len = sizeof(r);

		if (getsockopt(ls->fd, SOL_SOCKET, SO_ERROR, &r, &len) < 0)
			r = errno;
		conn_lost(ls, r ? -r : -EIO);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
		/* The collector sends nothing; what it does send is read and dropped. */
		do
			n = recv(ls->fd, buf, sizeof(buf), MSG_DONTWAIT);
		while (n > 0 || (n < 0 && errno == EINTR));
		if (n == 0) {
			ack_update(ls);
			if (ls->draining && ls->half_closed && !ls->inflight.head &&
			    !ls->pending.head) {
				drain_finish(ls, 0);
				return;
			}
			conn_lost(ls, -EPIPE); /* the collector closed the connection */
			return;
		}
		if (errno != EAGAIN) {
			conn_lost(ls, -errno);
			return;
		}
	}
	if (events & EPOLLOUT) {
		r = conn_write(ls);
		if (r < 0) {
			conn_lost(ls, r);
			return;
		}
		if (ls->draining && !ls->pending.head && !ls->half_closed) {
			shutdown(ls->fd, SHUT_WR);
			ls->half_closed = true;
		}
		update_events(ls);
		room_notify(ls);
	}
}

static void conn_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct logship *ls = data;
	socklen_t len;
	int err = 0;

	switch (ls->state) {
	case CONN_CONNECTING:
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_failed(ls, -err);
			return;
		}
		conn_established(ls);
		return;
	case CONN_CONNECTED:
		conn_io_connected(ls, events);
		return;
	case CONN_BACKOFF:
	case CONN_CLOSED:
		return;
	}
}

int logship_new(struct event_loop *loop, const struct logship_opts *o, struct logship **ret,
		char **ret_error)
{
	const struct logship_config *c = o->config;
	_cleanup_free_ char *stream = NULL;
	struct logship *ls;
	int r;

	if (!c)
		return fail_with(ret_error, "no log configuration");
	if (!o->container || !o->task_id ||
	    logship_stream_name(c->stream_prefix, o->container, o->task_id, &stream) < 0)
		return fail_with(
			ret_error,
			"the log stream '%s/%s/%s' is not one CloudWatch Logs takes (1-%d characters, no ':' or '*')",
			c->stream_prefix, strna(o->container), strna(o->task_id),
			LOGSHIP_STREAM_MAX);
	if (!o->addr && c->addr_len == 0)
		return fail_with(
			ret_error,
			"awslogs-endpoint '%s': the host name '%s' must be resolved with the task's DNS servers first (an IP address works as it is)",
			c->endpoint, c->host);
	if (o->addr && (o->addr_len > sizeof(struct sockaddr_storage) ||
			(o->addr->sa_family != AF_INET && o->addr->sa_family != AF_INET6)))
		return fail_with(ret_error, "the collector's address is not IPv4 or IPv6");
	if (c->max_buffer < LOGSHIP_BUFFER_MIN || c->max_buffer > LOGSHIP_BUFFER_MAX)
		return fail_with(ret_error, "the buffer size %zu is out of range", c->max_buffer);

	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	ls->loop = loop;
	ls->fd = -1;
	ls->netns_fd = -1;
	ls->mode = c->mode;
	ls->max_buffer = c->max_buffer;
	if (o->addr) {
		memcpy(&ls->addr, o->addr, o->addr_len);
		ls->addr_len = o->addr_len;
		if (ls->addr.ss_family == AF_INET)
			((struct sockaddr_in *)&ls->addr)->sin_port = htons(c->port);
		else
			((struct sockaddr_in6 *)&ls->addr)->sin6_port = htons(c->port);
	} else {
		ls->addr = c->addr;
		ls->addr_len = c->addr_len;
	}
	ls->mark = o->mark;
	ls->backoff_min = o->backoff_min_usec ?: BACKOFF_MIN_DEFAULT;
	ls->backoff_max = MAX(o->backoff_max_usec ?: BACKOFF_MAX_DEFAULT, ls->backoff_min);
	ls->backoff = ls->backoff_min;
	ls->connect_timeout = o->connect_timeout_usec ?: CONNECT_TIMEOUT_DEFAULT;
	ls->user_timeout = o->user_timeout_msec ?: USER_TIMEOUT_DEFAULT;
	ls->rng = (now_usec() ^ (uint64_t)(uintptr_t)ls) | 1;
	ls->on_conn = o->on_conn;
	ls->data = o->data;

	r = logship_fmt_new(&(struct logship_fmt_opts){ .hostname = o->hostname,
							.container = o->container,
							.group = c->group,
							.stream = stream },
			    &ls->fmt, ret_error);
	if (r < 0)
		goto out_free;
	if (o->netns_fd >= 0) {
		ls->netns_fd = fcntl(o->netns_fd, F_DUPFD_CLOEXEC, 3);
		if (ls->netns_fd < 0) {
			r = -errno;
			goto out_free;
		}
	}
	/* The first connection from the loop, so that no callback runs before this returns. */
	ls->state = CONN_BACKOFF;
	r = event_add_timer(loop, 0, backoff_done, ls, NULL);
	if (r < 0)
		goto out_free;
	ls->timer_id = r;
	*ret = ls;
	return 0;

out_free:
	logship_free(ls);
	return r;
}

struct logship *logship_free(struct logship *ls)
{
	if (!ls)
		return NULL;
	conn_close(ls);
	if (ls->drain_timer_id > 0)
		event_cancel(ls->loop, ls->drain_timer_id);
	fq_clear(&ls->inflight);
	fq_clear(&ls->pending);
	logship_fmt_free(ls->fmt);
	safe_close(ls->netns_fd);
	free(ls);
	return NULL;
}

/* Non-blocking mode: drop the oldest frames no byte of which went to the connection. */
static void drop_oldest(struct logship *ls, uint64_t need)
{
	struct frame *prev = ls->pend_off > 0 ? ls->pending.head : NULL;

	while (buffered_bytes(ls) + need > ls->max_buffer) {
		struct frame *f = fq_remove_after(&ls->pending, prev);

		if (!f)
			return;
		ls->st.dropped++;
		ls->st.dropped_bytes += f->msg_len;
		free(f);
	}
}

int logship_submit(struct logship *ls, enum logfile_stream s, uint64_t time_nsec, const void *msg,
		   size_t len)
{
	size_t max;
	struct frame *f;
	ssize_t n;

	if (ls->draining || ls->state == CONN_CLOSED)
		return -EPIPE;
	if (len > LOGSHIP_LINE_MAX)
		return -E2BIG;
	max = logship_fmt_frame_max(ls->fmt, len);
	f = malloc(sizeof(*f) + max);
	if (!f)
		return -ENOMEM;
	n = logship_fmt_frame(ls->fmt, s, time_nsec, msg, len, f->data, max);
	if (n < 0) {
		free(f);
		return (int)n;
	}
	/* Field by field: assigning a whole struct would write its tail padding, which the
	 * frame's data overlaps. */
	f->next = NULL;
	f->end = 0;
	f->len = (uint32_t)n;
	f->msg_len = (uint32_t)len;
	f->sent = false;

	if (buffered_bytes(ls) + f->len > ls->max_buffer) {
		switch (ls->mode) {
		case LOGSHIP_MODE_BLOCKING:
			free(f);
			if (!ls->want_room)
				ls->st.full++;
			ls->want_room = true;
			return -ENOBUFS;
		case LOGSHIP_MODE_NON_BLOCKING:
			drop_oldest(ls, f->len);
			if (buffered_bytes(ls) + f->len > ls->max_buffer) {
				ls->st.messages++;
				ls->st.dropped++;
				ls->st.dropped_bytes += f->msg_len;
				free(f);
				return 1;
			}
			break;
		}
	}
	ls->st.messages++;
	fq_push(&ls->pending, f);
	update_events(ls);
	return 0;
}

void logship_set_room_fn(struct logship *ls, logship_room_fn fn, void *data)
{
	ls->room_fn = fn;
	ls->room_data = data;
}

static void drain_finish(struct logship *ls, int result)
{
	logship_drained_fn fn = ls->drained_fn;

	conn_close(ls);
	ls->state = CONN_CLOSED;
	if (ls->drain_timer_id > 0)
		event_cancel(ls->loop, ls->drain_timer_id);
	ls->drain_timer_id = 0;
	ls->drained_fn = NULL;
	ls->st.drained = result == 0;
	/* Last: the callback may free the shipper. */
	if (fn)
		fn(ls, result, ls->drained_data);
}

static void drain_timeout(struct event_loop *loop, void *data)
{
	struct logship *ls = data;

	ls->drain_timer_id = 0;
	/* Everything acknowledged, but the collector did not close its side: that is done. */
	ack_update(ls);
	drain_finish(ls, buffered_bytes(ls) == 0 ? 0 : -ETIMEDOUT);
}

static void drain_now(struct event_loop *loop, void *data)
{
	struct logship *ls = data;

	ls->drain_timer_id = 0;
	drain_finish(ls, 0);
}

int logship_drain(struct logship *ls, uint64_t timeout_usec, logship_drained_fn done, void *data)
{
	int id;

	if (ls->draining)
		return -EALREADY;
	ls->draining = true;
	ls->drained_fn = done;
	ls->drained_data = data;
	/* Nothing to send and no connection to close: done, from the loop. */
	if (buffered_bytes(ls) == 0 && ls->state != CONN_CONNECTED)
		id = event_add_timer(ls->loop, 0, drain_now, ls, NULL);
	else
		id = event_add_timer(ls->loop, timeout_usec, drain_timeout, ls, NULL);
	if (id < 0) {
		ls->draining = false;
		ls->drained_fn = NULL;
		return id;
	}
	ls->drain_timer_id = id;
	if (ls->state == CONN_CONNECTED && !ls->pending.head && !ls->half_closed) {
		ack_update(ls);
		shutdown(ls->fd, SHUT_WR);
		ls->half_closed = true;
		update_events(ls);
	}
	return 0;
}

void logship_get_stats(const struct logship *ls, struct logship_stats *ret)
{
	*ret = ls->st;
	ret->buffered = ls->inflight.n + ls->pending.n;
	ret->buffered_bytes = buffered_bytes(ls);
}

enum logship_mode logship_get_mode(const struct logship *ls)
{
	return ls->mode;
}
