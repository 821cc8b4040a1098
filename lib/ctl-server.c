// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl-server.h"
#include "event.h"
#include "log.h"
#include "sock.h"

#define CTL_MAX_OUTPUT (16 * 1024 * 1024) /* a slower reader than this is disconnected */
#define CTL_MAX_GROUPS 64
#define CTL_MAX_TOPICS 4
/* A client that leaves half a request unfinished this long is disconnected. */
#define CTL_PARTIAL_TIMEOUT_USEC (30ULL * 1000000)

struct ctl_conn {
	struct ctl_conn *next;
	struct ctl_server *srv;
	int fd;
	int io_id;
	struct ucred peer;
	gid_t groups[CTL_MAX_GROUPS];
	int ngroups;
	struct ctl_linebuf in;
	char *out;
	size_t out_len, out_cap;
	unsigned int refs;     /* the I/O handler while it runs, and each call in flight */
	unsigned int inflight; /* calls not yet finished */
	char *topics[CTL_MAX_TOPICS];
	bool closing; /* flush what is queued, then close */
	bool dead;
	uint64_t partial_since; /* when an unfinished request line started; 0 if none */
};

struct ctl_call {
	unsigned int ref;
	struct ctl_conn *conn; /* NULL once the connection is gone */
	json_t *id;
	char *method;
	bool done;
};

struct ctl_server {
	struct event_loop *loop;
	struct ctl_server_opts opts;
	char *path;
	int fd;
	int io_id;
	struct ctl_conn *conns;
	unsigned int nconns;
	struct ctl_server_stats stats;
	int sweep_id;
	uint64_t last_request_usec;
	/* calls whose connection closed while they were pending still point here; see conn_free */
};

static void conn_io(struct event_loop *loop, int fd, uint32_t events, void *data);

static void conn_update_events(struct ctl_conn *c)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;

	if (c->out_len > 0)
		ev |= EPOLLOUT;
	if (c->closing)
		ev &= ~(uint32_t)(EPOLLIN | EPOLLRDHUP);
	event_modify_io(c->srv->loop, c->io_id, ev);
}

static void conn_free(struct ctl_conn *c)
{
	ctl_linebuf_done(&c->in);
	free(c->out);
	for (int i = 0; i < CTL_MAX_TOPICS; i++)
		free(c->topics[i]);
	safe_close(c->fd);
	free(c);
}

/* Detach a connection from the server; pending calls keep running but their answers are dropped. */
static void conn_close(struct ctl_conn *c)
{
	struct ctl_server *srv = c->srv;
	struct ctl_conn **pp;

	if (c->dead)
		return;
	c->dead = true;
	event_cancel(srv->loop, c->io_id);
	for (pp = &srv->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	srv->nconns--;
	log_debug("Control connection from pid %d uid %u closed", (int)c->peer.pid,
		  (unsigned int)c->peer.uid);
	/* Calls in flight hold a pointer to the connection: keep it alive until they finish. */
	if (c->refs == 0)
		conn_free(c);
}

static void conn_hold(struct ctl_conn *c)
{
	c->refs++;
}

static void conn_release(struct ctl_conn *c)
{
	if (--c->refs == 0 && c->dead)
		conn_free(c);
}

static int conn_flush(struct ctl_conn *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	if (c->out_len == 0 && c->closing)
		return -ECONNRESET;
	return 0;
}

/* Queue a line for the connection (and try to send it now). */
static void conn_send(struct ctl_conn *c, const char *line, size_t len)
{
	if (c->dead)
		return;
	if (c->out_len + len > CTL_MAX_OUTPUT) {
		log_debug("Control client pid %d reads too slowly, disconnecting",
			  (int)c->peer.pid);
		c->srv->stats.slow_dropped++;
		conn_close(c);
		return;
	}
	if (c->out_len + len > c->out_cap) {
		size_t ncap = MAX(c->out_cap * 2, c->out_len + len + 4096);
		char *n = realloc(c->out, ncap);

		if (!n) {
			conn_close(c);
			return;
		}
		c->out = n;
		c->out_cap = ncap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
	if (conn_flush(c) < 0) {
		conn_close(c);
		return;
	}
	conn_update_events(c);
}

static void conn_send_error(struct ctl_conn *c, json_t *id, const struct ctl_error *e)
{
	_cleanup_free_ char *line = NULL;
	size_t len;

	line = ctl_reply_error(id, e, &len);
	if (line)
		conn_send(c, line, len);
}

static bool peer_privileged(const struct ctl_conn *c)
{
	const struct ctl_server_opts *o = &c->srv->opts;

	if (c->peer.uid == 0)
		return true;
	if (!o->has_group)
		return false;
	if (c->peer.gid == o->group)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == o->group)
			return true;
	return false;
}

static const struct ctl_method *method_find(struct ctl_server *srv, const char *name)
{
	for (const struct ctl_method *const *t = srv->opts.tables; t && *t; t++)
		for (const struct ctl_method *m = *t; m->name; m++)
			if (streq(m->name, name))
				return m;
	return NULL;
}

static void conn_handle_line(struct ctl_conn *c, const char *line, size_t len)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	struct ctl_request req = {};
	const struct ctl_method *m;
	struct ctl_call *call;
	int r;

	if (len == 0)
		return;
	r = ctl_request_parse(line, len, &req, &err);
	if (r < 0) {
		/* req.root is NULL here; an id found before the failure is not ours to use */
		conn_send_error(c, NULL, &err);
		return;
	}
	m = method_find(c->srv, req.method);
	if (!m) {
		ctl_error_set(&err, CTL_ERR_METHOD_NOT_FOUND, NULL, "Unknown method '%s'",
			      req.method);
		goto out_error;
	}
	if ((m->flags & CTL_METHOD_WRITE) && !peer_privileged(c)) {
		ctl_error_set(&err, CTL_ERR_PERMISSION, NULL,
			      "Method '%s' changes state and needs uid 0%s (caller uid %u)",
			      req.method, c->srv->opts.has_group ? " or the netd group" : "",
			      (unsigned int)c->peer.uid);
		goto out_error;
	}
	if (c->inflight >= c->srv->opts.max_pending) {
		ctl_error_set(&err, CTL_ERR_LIMIT, NULL,
			      "Too many requests in flight on this connection (at most %u)",
			      c->srv->opts.max_pending);
		goto out_error;
	}

	call = calloc(1, sizeof(*call));
	if (!call) {
		ctl_error_set(&err, CTL_ERR_INTERNAL, NULL, "Out of memory");
		goto out_error;
	}
	call->ref = 1;
	call->conn = c;
	call->id = json_incref(req.id);
	call->method = strdup(req.method);
	c->inflight++;
	conn_hold(c);

	c->srv->stats.requests++;
	c->srv->last_request_usec = now_usec();
	r = m->fn(call, req.params, c->srv->opts.userdata);
	if (!call->done) {
		if (r < 0)
			ctl_call_fail_errno(call, r, "Method '%s' failed: %s", req.method,
					    strerror(-r));
		else if (call->ref == 1)
			ctl_call_failf(call, CTL_ERR_INTERNAL, "Method '%s' gave no answer",
				       req.method);
	}
	ctl_call_unref(call);
	ctl_request_done(&req);
	return;

out_error:
	if (req.id)
		conn_send_error(c, req.id, &err);
	ctl_request_done(&req);
}

static void conn_read(struct ctl_conn *c)
{
	for (;;) {
		size_t len;
		char *line;
		int r;

		r = ctl_linebuf_next(&c->in, &line, &len);
		if (r == -EMSGSIZE) {
			_cleanup_ctl_error_ struct ctl_error err = {};

			ctl_error_set(&err, CTL_ERR_INVALID_REQUEST, NULL,
				      "Request longer than %d bytes", CTL_MAX_REQUEST);
			conn_send_error(c, NULL, &err);
			if (c->dead)
				return;
			continue;
		}
		if (r > 0) {
			conn_handle_line(c, line, len);
			if (c->dead)
				return;
			continue;
		}
		r = ctl_linebuf_fill(&c->in, c->fd);
		if (r == -EAGAIN) {
			/* Bytes of a request are waiting for the rest of their line. */
			if (c->in.len == 0 || c->in.discarding)
				c->partial_since = 0;
			else if (!c->partial_since)
				c->partial_since = now_usec();
			return;
		}
		if (r <= 0) {
			conn_close(c);
			return;
		}
	}
}

static void conn_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct ctl_conn *c = data;

	conn_hold(c);
	if (events & EPOLLOUT) {
		if (conn_flush(c) < 0)
			conn_close(c);
		else
			conn_update_events(c);
	}
	if (!c->dead && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		conn_read(c);
	conn_release(c);
}

/* Slow senders would hold their slot for ever: drop those stuck in the middle of a request. */
static void server_sweep(struct event_loop *loop, void *data)
{
	struct ctl_server *srv = data;
	uint64_t now = now_usec();
	struct ctl_conn *c, *next;

	for (c = srv->conns; c; c = next) {
		next = c->next;
		if (c->partial_since && now - c->partial_since > CTL_PARTIAL_TIMEOUT_USEC) {
			log_debug("Control client pid %d left a request unfinished, disconnecting",
				  (int)c->peer.pid);
			srv->stats.stalled_dropped++;
			conn_close(c);
		}
	}
}

static bool server_room(void *data)
{
	struct ctl_server *srv = data;

	return srv->nconns < srv->opts.max_clients;
}

static void server_refuse(int fd, void *data)
{
	static const char msg[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32007,\"message\":"
				  "\"Too many clients\"},\"id\":null}\n";
	struct ctl_server *srv = data;

	(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	log_debug("Refused a control connection: %u clients already", srv->nconns);
	srv->stats.refused++;
}

static int server_take(int cfd, const struct sockaddr_storage *peer, void *data)
{
	struct ctl_server *srv = data;
	socklen_t len = sizeof(struct ucred);
	struct ctl_conn *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->fd = cfd;
	ctl_linebuf_init(&c->in, CTL_MAX_REQUEST);
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len) < 0) {
		r = log_debug_errno(errno, "Failed to read the caller's credentials: %m");
		c->fd = -1; /* the caller closes it */
		conn_free(c);
		return r;
	}
	len = sizeof(c->groups);
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) == 0)
		c->ngroups = (int)(len / sizeof(gid_t));
	r = event_add_io(srv->loop, cfd, EPOLLIN | EPOLLRDHUP, conn_io, c, NULL);
	if (r < 0) {
		c->fd = -1;
		conn_free(c);
		return r;
	}
	c->io_id = r;
	c->next = srv->conns;
	srv->conns = c;
	srv->nconns++;
	log_debug("Control connection from pid %d uid %u gid %u", (int)c->peer.pid,
		  (unsigned int)c->peer.uid, (unsigned int)c->peer.gid);
	return 0;
}

static void server_accept(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	static const struct sock_accept_ops ops = {
		.room = server_room,
		.take = server_take,
		.refuse = server_refuse,
	};
	struct ctl_server *srv = data;
	int r;

	r = sock_accept_all(srv->fd, &ops, srv);
	if (r < 0)
		log_debug_errno(r, "Failed to accept a control connection: %m");
}

int ctl_server_new(struct event_loop *loop, const struct ctl_server_opts *opts,
		   struct ctl_server **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *srv;
	mode_t old;
	int r;

	if (strscpy(sa.sun_path, opts->path, sizeof(sa.sun_path)) < 0)
		return -ENAMETOOLONG;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->opts = *opts;
	if (!srv->opts.max_clients)
		srv->opts.max_clients = 256;
	if (!srv->opts.max_pending)
		srv->opts.max_pending = 64;
	srv->path = strdup(opts->path);
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!srv->path || srv->fd < 0) {
		r = srv->path ? -errno : -ENOMEM;
		goto out_free;
	}

	/* A socket file left by a netd that died: connect() tells stale from alive. */
	if (access(opts->path, F_OK) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			r = -EADDRINUSE;
			goto out_free;
		}
		safe_close(probe);
		unlink(opts->path);
	}

	/* Read methods are open to any local user; write methods check SO_PEERCRED. */
	old = umask(0111);
	r = RET_NERRNO(bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa)));
	umask(old);
	if (r < 0)
		goto out_free;
	r = RET_NERRNO(listen(srv->fd, 128));
	if (r < 0)
		goto out_unlink;
	r = event_add_io(loop, srv->fd, EPOLLIN, server_accept, srv, NULL);
	if (r < 0)
		goto out_unlink;
	srv->io_id = r;
	r = event_add_periodic(loop, CTL_PARTIAL_TIMEOUT_USEC / 3, server_sweep, srv, NULL);
	if (r < 0) {
		event_cancel(loop, srv->io_id);
		goto out_unlink;
	}
	srv->sweep_id = r;
	*ret = srv;
	return 0;

out_unlink:
	unlink(opts->path);
out_free:
	safe_close(srv->fd);
	free(srv->path);
	free(srv);
	return r;
}

struct ctl_server *ctl_server_free(struct ctl_server *srv)
{
	if (!srv)
		return NULL;
	while (srv->conns)
		conn_close(srv->conns);
	event_cancel(srv->loop, srv->io_id);
	event_cancel(srv->loop, srv->sweep_id);
	safe_close(srv->fd);
	unlink(srv->path);
	free(srv->path);
	free(srv);
	return NULL;
}

unsigned int ctl_server_clients(struct ctl_server *srv)
{
	return srv->nconns;
}

uint64_t ctl_server_last_request_usec(struct ctl_server *srv)
{
	return srv->last_request_usec;
}

void ctl_server_get_stats(struct ctl_server *srv, struct ctl_server_stats *ret)
{
	*ret = srv->stats;
	ret->clients = srv->nconns;
}

/* Send a prepared line to every connection subscribed to topic. */
static void broadcast_line(struct ctl_server *srv, const char *topic, const char *line, size_t len)
{
	struct ctl_conn *c, *next;

	/* conn_send() may close (and free) a slow reader, so walk with a saved next. */
	for (c = srv->conns; c; c = next) {
		bool match = false;

		next = c->next;
		for (int i = 0; i < CTL_MAX_TOPICS && c->topics[i]; i++)
			if (streq(c->topics[i], topic))
				match = true;
		if (match)
			conn_send(c, line, len);
	}
}

void ctl_server_broadcast_raw(struct ctl_server *srv, const char *topic, const char *method,
			      const char *params, size_t len)
{
	_cleanup_free_ char *line = NULL;
	size_t n = 0;

	if (!ctl_server_has_topic(srv, topic))
		return;
	line = ctl_notification_raw(method, params, len, &n);
	if (line)
		broadcast_line(srv, topic, line, n);
}

void ctl_server_broadcast(struct ctl_server *srv, const char *topic, const char *method,
			  json_t *params)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;

	if (!ctl_server_has_topic(srv, topic))
		return;
	line = ctl_notification(method, json_incref(params), &len);
	if (line)
		broadcast_line(srv, topic, line, len);
}

bool ctl_server_has_topic(struct ctl_server *srv, const char *topic)
{
	for (struct ctl_conn *c = srv->conns; c; c = c->next)
		for (int i = 0; i < CTL_MAX_TOPICS && c->topics[i]; i++)
			if (!c->dead && streq(c->topics[i], topic))
				return true;
	return false;
}

static void call_finish(struct ctl_call *call, char *line, size_t len)
{
	struct ctl_conn *c = call->conn;

	call->done = true;
	if (c && !c->dead && line && call->id)
		conn_send(c, line, len);
	free(line);
}

int ctl_call_reply_raw(struct ctl_call *call, const char *result, size_t len)
{
	size_t n = 0;
	char *line;

	if (call->done)
		return 0;
	line = ctl_reply_result_raw(call->id, result, len, &n);
	call_finish(call, line, n);
	return 0;
}

int ctl_call_reply(struct ctl_call *call, json_t *result)
{
	size_t len = 0;
	char *line;

	if (call->done) {
		json_decref(result);
		return 0;
	}
	line = ctl_reply_result(call->id, result, &len);
	call_finish(call, line, len);
	return 0;
}

int ctl_call_fail(struct ctl_call *call, const struct ctl_error *err)
{
	size_t len = 0;
	char *line;

	if (call->done)
		return 0;
	line = ctl_reply_error(call->id, err, &len);
	call_finish(call, line, len);
	return 0;
}

int ctl_call_failf(struct ctl_call *call, int code, const char *fmt, ...)
{
	_cleanup_ctl_error_ struct ctl_error err = { .code = code };
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&err.message, fmt, ap) < 0)
		err.message = NULL;
	va_end(ap);
	return ctl_call_fail(call, &err);
}

int ctl_call_fail_errno(struct ctl_call *call, int e, const char *fmt, ...)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	va_list ap;

	err.code = ctl_error_code_from_errno(e);
	err.data = json_pack("{s:s}", "errno", ctl_errno_name(e));
	va_start(ap, fmt);
	if (vasprintf(&err.message, fmt, ap) < 0)
		err.message = NULL;
	va_end(ap);
	return ctl_call_fail(call, &err);
}

struct ctl_call *ctl_call_ref(struct ctl_call *call)
{
	call->ref++;
	return call;
}

struct ctl_call *ctl_call_unref(struct ctl_call *call)
{
	struct ctl_conn *c;

	if (!call || --call->ref > 0)
		return NULL;
	c = call->conn;
	if (c) {
		c->inflight--;
		conn_release(c);
	}
	json_decref(call->id);
	free(call->method);
	free(call);
	return NULL;
}

bool ctl_call_is_done(struct ctl_call *call)
{
	return call->done;
}

bool ctl_call_is_connected(struct ctl_call *call)
{
	return call->conn && !call->conn->dead;
}

const struct ucred *ctl_call_peer(struct ctl_call *call)
{
	static const struct ucred nobody = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };

	return call->conn ? &call->conn->peer : &nobody;
}

const char *ctl_call_method(struct ctl_call *call)
{
	return call->method;
}

int ctl_call_subscribe(struct ctl_call *call, const char *topic)
{
	struct ctl_conn *c = call->conn;

	if (!c || c->dead)
		return -ENOTCONN;
	for (int i = 0; i < CTL_MAX_TOPICS; i++) {
		if (c->topics[i] && streq(c->topics[i], topic))
			return 0;
		if (!c->topics[i]) {
			c->topics[i] = strdup(topic);
			return c->topics[i] ? 0 : -ENOMEM;
		}
	}
	return -E2BIG;
}
