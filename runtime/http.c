// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "addr.h"
#include "http.h"
#include "log.h"
#include "sock.h"
#include "tmds.h"

/* The error answers, built once. */
enum canned {
	CANNED_NOT_FOUND,	   /* no route */
	CANNED_NF_CONTAINER,	   /* /v4/<id> */
	CANNED_NF_TASK,		   /* /v4/<id>/task */
	CANNED_NF_CONTAINER_STATS, /* /v4/<id>/stats */
	CANNED_NF_TASK_STATS,	   /* /v4/<id>/task/stats */
	CANNED_NF_CREDENTIALS,	   /* unknown or foreign credentials id */
	CANNED_NO_ID,		   /* /v2/credentials without an id */
	CANNED_THROTTLED,	   /* 429 on /v4 */
	CANNED_THROTTLED_CREDS,	   /* 429 on /v2/credentials */
	CANNED_METHOD,		   /* not GET or HEAD */
	CANNED_UNAVAILABLE,	   /* nothing to serve yet */
	CANNED_BODY,		   /* a request with a body */
	_CANNED_MAX,
};

/* The mark of a request whose head was seen (MHD's per-request pointer). */
static char head_seen;

struct listener {
	struct http_server *srv;
	struct MHD_Daemon *daemon;
	bool by_source;
};

/*
 * A connection whose request head is awaited (MHD's socket context). MHD's idle timeout does
 * not end a head that trickles in a byte at a time, so a watchdog thread shuts down (shutdown(2))
 * connections whose head is not in by its deadline; MHD then sees the end of the stream and
 * closes them. It is race-free with MHD's threads: MHD tells a connection's end
 * (MHD_CONNECTION_NOTIFY_CLOSED) before it closes the fd, and the entry leaves the list under
 * the watchdog's lock then, so the fd of an entry is always the connection's own, never a
 * number closed and reused meanwhile.
 */
struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	uint64_t deadline_usec; /* 0: the head is in, nothing awaited */
	bool by_source;
	struct in_addr src; /* task listener: the task it comes from, to count against */
};

struct watchdog {
	pthread_mutex_t lock; /* guards everything here and every conn_watch */
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
	struct conn_watch *conns;
	uint64_t wake_usec; /* when the thread wakes next (UINT64_MAX: when told) */
};

struct http_server {
	struct registry *reg;
	struct http_opts opts;
	struct listener task, local;
	struct MHD_Response *canned[_CANNED_MAX];
	unsigned int canned_status[_CANNED_MAX];
	uint64_t ok, not_found, throttled, bad_request, unavailable, method; /* atomic */
	uint64_t header_timeout;					     /* atomic */
	struct watchdog wd;
};

/* Cuts are made in rounds at most this far apart, so that a crowd of deadlines costs few wakes. */
#define WATCHDOG_SLACK_USEC 100000ULL

int http_parse_listen(const char *s, struct sockaddr_in *ret)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	r = addr_sockaddr_parse(s, true, &ss, &len);
	if (r < 0)
		return r;
	if (ss.ss_family != AF_INET)
		return -EAFNOSUPPORT;
	memcpy(ret, &ss, sizeof(*ret));
	return 0;
}

/* Copy one path segment (no '/') into id; false if empty or too long. */
static bool segment(const char *p, size_t n, char *id)
{
	if (n == 0 || n > HTTP_ID_MAX)
		return false;
	memcpy(id, p, n);
	id[n] = '\0';
	return true;
}

int http_route_parse(const char *path, struct http_route *ret)
{
	const char *id, *slash, *rest;

	*ret = (struct http_route){};
	if (startswith(path, "/v2/credentials")) {
		rest = path + strlen("/v2/credentials");
		ret->body = REG_BODY_CREDENTIALS;
		if (*rest == '\0' || streq(rest, "/"))
			return 0; /* no id: 400 NoIdInRequest */
		if (*rest != '/' || strchr(rest + 1, '/'))
			return -ENOENT;
		return segment(rest + 1, strlen(rest + 1), ret->id) ? 0 : -ENOENT;
	}
	if (!startswith(path, "/v4/"))
		return -ENOENT;
	id = path + 4;
	slash = strchr(id, '/');
	if (!segment(id, slash ? (size_t)(slash - id) : strlen(id), ret->id))
		return -ENOENT;
	rest = slash ?: "";
	if (streq(rest, ""))
		ret->body = REG_BODY_CONTAINER;
	else if (streq(rest, "/task"))
		ret->body = REG_BODY_TASK;
	else if (streq(rest, "/stats"))
		ret->body = REG_BODY_CONTAINER_STATS;
	else if (streq(rest, "/task/stats"))
		ret->body = REG_BODY_TASK_STATS;
	else
		return -ENOENT;
	return 0;
}

static const enum canned not_found_of[] = {
	[REG_BODY_CONTAINER] = CANNED_NF_CONTAINER,
	[REG_BODY_TASK] = CANNED_NF_TASK,
	[REG_BODY_CONTAINER_STATS] = CANNED_NF_CONTAINER_STATS,
	[REG_BODY_TASK_STATS] = CANNED_NF_TASK_STATS,
	[REG_BODY_CREDENTIALS] = CANNED_NF_CREDENTIALS,
};

static int canned_init(struct http_server *s)
{
	static const struct {
		unsigned int status;
		const char *code;    /* credentials style {code, message} */
		const char *message; /* or a JSON string, as the ECS agent's v4 handlers answer */
	} defs[_CANNED_MAX] = {
		[CANNED_NOT_FOUND] = { 404, NULL, "Not found" },
		[CANNED_NF_CONTAINER] = { 404, NULL,
					  "V4 container metadata handler: unable to find the container for this endpoint ID" },
		[CANNED_NF_TASK] = { 404, NULL,
				     "V4 task metadata handler: unable to find the task for this endpoint ID" },
		[CANNED_NF_CONTAINER_STATS] = { 404, NULL,
						"V4 container stats handler: unable to find the container for this endpoint ID" },
		[CANNED_NF_TASK_STATS] = { 404, NULL,
					   "V4 task stats handler: unable to find the task for this endpoint ID" },
		[CANNED_NF_CREDENTIALS] = { 404, "InvalidIdInRequest",
					    "CredentialsV2Request: Credentials not found" },
		[CANNED_NO_ID] = { 400, "NoIdInRequest",
				   "CredentialsV2Request: No Credential ID in the request" },
		[CANNED_THROTTLED] = { 429, NULL, "You have reached maximum request limit." },
		[CANNED_THROTTLED_CREDS] = { 429, "TooManyRequests",
					     "You have reached maximum request limit." },
		[CANNED_METHOD] = { 405, NULL,
				    "Method not allowed: the endpoint serves GET and HEAD" },
		[CANNED_UNAVAILABLE] = { 503, NULL, "Not ready yet" },
		[CANNED_BODY] = { 413, NULL, "Requests with a body are not served" },
	};

	for (int i = 0; i < _CANNED_MAX; i++) {
		json_t *body = defs[i].code ? tmds_error_json(defs[i].code, defs[i].message)
					    : json_string(defs[i].message);

		s->canned[i] = reg_json_response(body);
		s->canned_status[i] = defs[i].status;
		if (!s->canned[i])
			return -ENOMEM;
	}
	if (MHD_add_response_header(s->canned[CANNED_METHOD], MHD_HTTP_HEADER_ALLOW, "GET, HEAD") !=
		    MHD_YES ||
	    MHD_add_response_header(s->canned[CANNED_THROTTLED], MHD_HTTP_HEADER_RETRY_AFTER,
				    "1") != MHD_YES ||
	    MHD_add_response_header(s->canned[CANNED_THROTTLED_CREDS], MHD_HTTP_HEADER_RETRY_AFTER,
				    "1") != MHD_YES)
		return -ENOMEM;
	return 0;
}

static enum MHD_Result queue_canned(struct http_server *s, struct MHD_Connection *conn,
				    enum canned c)
{
	return MHD_queue_response(conn, s->canned_status[c], s->canned[c]);
}

struct answer {
	struct MHD_Connection *conn;
	enum MHD_Result result;
};

static int answer_fn(struct MHD_Response *resp, unsigned int status, void *data)
{
	struct answer *a = data;

	a->result = MHD_queue_response(a->conn, status, resp);
	return 0;
}

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* --- the request head's deadline --------------------------------------------------------- */

/* Await a head until deadline; the watchdog is woken if that is before its next round. */
static void watch_arm(struct http_server *s, struct conn_watch *w, uint64_t deadline)
{
	struct watchdog *wd = &s->wd;

	pthread_mutex_lock(&wd->lock);
	w->deadline_usec = deadline;
	if (deadline < wd->wake_usec)
		pthread_cond_signal(&wd->wake);
	pthread_mutex_unlock(&wd->lock);
}

static struct conn_watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* The access handler's first call for a request: its head is in. */
static void head_in(struct http_server *s, struct MHD_Connection *conn)
{
	struct conn_watch *w = watch_of(conn);

	if (!w)
		return;
	pthread_mutex_lock(&s->wd.lock);
	w->deadline_usec = 0;
	pthread_mutex_unlock(&s->wd.lock);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;
	struct http_server *s = l->srv;
	struct watchdog *wd = &s->wd;
	struct conn_watch *w = *socket_context;
	const union MHD_ConnectionInfo *ci;

	switch (toe) {
	case MHD_CONNECTION_NOTIFY_STARTED:
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		w = ci ? calloc(1, sizeof(*w)) : NULL;
		if (!w)
			return; /* not watched: the idle timeout still applies */
		w->fd = ci->connect_fd;
		w->by_source = l->by_source;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
			w->src = ((const struct sockaddr_in *)ci->client_addr)->sin_addr;
		pthread_mutex_lock(&wd->lock);
		w->next = wd->conns;
		if (wd->conns)
			wd->conns->prev = w;
		wd->conns = w;
		pthread_mutex_unlock(&wd->lock);
		*socket_context = w;
		watch_arm(s, w, now_usec() + (uint64_t)s->opts.header_timeout_sec * 1000000ULL);
		break;
	case MHD_CONNECTION_NOTIFY_CLOSED:
		if (!w)
			return;
		/* MHD closes the fd after this returns: from now on the watchdog must not see it. */
		pthread_mutex_lock(&wd->lock);
		if (w->prev)
			w->prev->next = w->next;
		else
			wd->conns = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&wd->lock);
		free(w);
		*socket_context = NULL;
		break;
	}
}

/* A request is answered: on a kept-alive connection the next head is awaited, after an idle time. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct http_server *s = l->srv;
	struct conn_watch *w = watch_of(conn);

	if (w)
		watch_arm(s, w,
			  now_usec() +
				  (uint64_t)(s->opts.timeout_sec + s->opts.header_timeout_sec) *
					  1000000ULL);
}

static void *watchdog_main(void *data)
{
	struct http_server *s = data;
	struct watchdog *wd = &s->wd;

	pthread_mutex_lock(&wd->lock);
	while (!wd->stop) {
		uint64_t now = now_usec(), next = UINT64_MAX;

		for (struct conn_watch *w = wd->conns; w; w = w->next) {
			if (!w->deadline_usec)
				continue;
			if (w->deadline_usec > now + WATCHDOG_SLACK_USEC) {
				next = MIN(next, w->deadline_usec);
				continue;
			}
			/* MHD reads the end of the stream, and closes the connection. */
			w->deadline_usec = 0;
			(void)shutdown(w->fd, SHUT_RDWR);
			__atomic_add_fetch(&s->header_timeout, 1, __ATOMIC_RELAXED);
			if (w->by_source)
				registry_count_header_timeout(s->reg, w->src);
		}
		wd->wake_usec = next;
		if (next == UINT64_MAX) {
			pthread_cond_wait(&wd->wake, &wd->lock);
		} else {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000ULL),
					       .tv_nsec = (long)(next % 1000000ULL) * 1000 };

			pthread_cond_timedwait(&wd->wake, &wd->lock, &ts);
		}
	}
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

static int watchdog_start(struct http_server *s)
{
	struct watchdog *wd = &s->wd;
	pthread_condattr_t attr;
	int e;

	/* The deadlines are CLOCK_MONOTONIC (now_usec()), and so are the waits. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	e = pthread_cond_init(&wd->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (e)
		return -e;
	pthread_mutex_init(&wd->lock, NULL);
	wd->wake_usec = UINT64_MAX;
	e = pthread_create(&wd->thread, NULL, watchdog_main, s);
	if (e) {
		pthread_cond_destroy(&wd->wake);
		pthread_mutex_destroy(&wd->lock);
		return -e;
	}
	wd->running = true;
	return 0;
}

/* After the daemons are stopped (every connection closed, so every entry gone). */
static void watchdog_stop(struct http_server *s)
{
	struct watchdog *wd = &s->wd;

	if (!wd->running)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->stop = true;
	pthread_cond_signal(&wd->wake);
	pthread_mutex_unlock(&wd->lock);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->wake);
	pthread_mutex_destroy(&wd->lock);
	wd->running = false;
}

/* --- requests ------------------------------------------------------------------------------ */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct listener *l = cls;
	struct http_server *s = l->srv;
	struct answer a = { .conn = conn, .result = MHD_NO };
	struct http_route route;
	struct reg_query q;

	/*
	 * MHD calls this first with the request head, then again once the body is in. An answer
	 * queued on the first call makes MHD close the connection afterwards: fine for requests
	 * we refuse, not for the GETs of keep-alive clients, which are answered on the second.
	 */
	if (!*req_cls)
		head_in(s, conn);
	if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD)) {
		count(&s->method);
		return queue_canned(s, conn, CANNED_METHOD);
	}
	if (!*req_cls) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		/* A GET with a body is not read: refused at once, and the connection closed. */
		if ((cl && !streq(cl, "0")) ||
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
			count(&s->bad_request);
			return queue_canned(s, conn, CANNED_BODY);
		}
		*req_cls = &head_seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (http_route_parse(url, &route) < 0) {
		count(&s->not_found);
		return queue_canned(s, conn, CANNED_NOT_FOUND);
	}
	if (route.body == REG_BODY_CREDENTIALS && !route.id[0]) {
		count(&s->bad_request);
		return queue_canned(s, conn, CANNED_NO_ID);
	}
	q = (struct reg_query){
		.by_source = l->by_source,
		.body = route.body,
		.id = route.id,
		.now_usec = now_usec(),
		.limit = l->by_source ? &s->opts.limit : NULL,
	};
	if (l->by_source) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const struct sockaddr *sa = ci ? ci->client_addr : NULL;

		if (!sa || sa->sa_family != AF_INET) {
			count(&s->not_found);
			return queue_canned(s, conn, not_found_of[route.body]);
		}
		q.src = ((const struct sockaddr_in *)sa)->sin_addr;
	}

	switch (registry_answer(s->reg, &q, answer_fn, &a)) {
	case REG_RESULT_FOUND:
		count(&s->ok);
		return a.result;
	case REG_RESULT_UNKNOWN_SOURCE:
	case REG_RESULT_NOT_FOUND:
		count(&s->not_found);
		return queue_canned(s, conn, not_found_of[route.body]);
	case REG_RESULT_THROTTLED:
		count(&s->throttled);
		return queue_canned(s, conn,
				    route.body == REG_BODY_CREDENTIALS ? CANNED_THROTTLED_CREDS
								       : CANNED_THROTTLED);
	case REG_RESULT_UNAVAILABLE:
		count(&s->unavailable);
		return queue_canned(s, conn, CANNED_UNAVAILABLE);
	}
	return MHD_NO;
}

/* MHD's own messages go through our logger, at debug level (clients' protocol errors). */
static _printf_(2, 0) void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("http: %s", buf);
}

static int listen_socket(const char *addr, bool freebind, int *ret_fd)
{
	/* 169.254.170.2 lives on the task links, which may come after the agent. */
	struct sock_listen_opts o = { .backlog = 4096, .freebind = freebind };
	struct sockaddr_in sin;

	/* IPv4 only: a task's requests are known by their IPv4 source address. */
	if (http_parse_listen(addr, &sin) < 0)
		return -EINVAL;
	return sock_listen(addr, &o, ret_fd, NULL, 0);
}

static struct MHD_Daemon *daemon_start(struct listener *l, int fd, unsigned int threads)
{
	const struct http_opts *o = &l->srv->opts;
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_LISTEN_SOCKET, fd, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_sec, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_address, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->memory_limit, NULL },
		{ MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, NULL },
		/* a pool of one is no pool: MHD wants the option left out then */
		{ threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	/* The logger goes first, so that MHD's messages about the other options reach it. */
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, l, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

static int listener_start(struct http_server *s, struct listener *l, const char *addr,
			  bool by_source, unsigned int threads)
{
	int fd = -1, r;

	r = listen_socket(addr, by_source, &fd);
	if (r < 0)
		return r;
	l->srv = s;
	l->by_source = by_source;
	l->daemon = daemon_start(l, fd, threads);
	if (!l->daemon) {
		close(fd);
		return -EIO;
	}
	return 0;
}

int http_server_start(const struct http_opts *o, struct registry *reg, struct http_server **ret)
{
	struct http_server *s;
	unsigned int threads = o->threads;
	long ncpu;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->reg = reg;
	s->opts = *o;
	if (!s->opts.timeout_sec)
		s->opts.timeout_sec = 5;
	if (!s->opts.header_timeout_sec)
		s->opts.header_timeout_sec = 5;
	if (!s->opts.max_connections)
		s->opts.max_connections = 4096;
	if (!s->opts.max_per_address)
		s->opts.max_per_address = 64;
	if (!s->opts.memory_limit)
		s->opts.memory_limit = 16 * 1024;
	if (!threads) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = (unsigned int)MIN(MAX(ncpu, 1L), 4L);
	}
	r = canned_init(s);
	if (r < 0) {
		log_err_errno(r, "Failed to prepare the error responses: %m");
		goto out_free;
	}
	r = watchdog_start(s);
	if (r < 0) {
		log_err_errno(r, "Failed to start the request head watchdog: %m");
		goto out_free;
	}
	if (o->listen) {
		r = listener_start(s, &s->task, o->listen, true, threads);
		if (r < 0) {
			log_err_errno(r, "Failed to listen on %s: %m", o->listen);
			goto out_free;
		}
	}
	if (o->local_listen) {
		r = listener_start(s, &s->local, o->local_listen, false, 1);
		if (r < 0) {
			log_err_errno(r, "Failed to listen on %s: %m", o->local_listen);
			goto out_free;
		}
	}
	*ret = s;
	return 0;

out_free:
	http_server_stop(s);
	return r;
}

struct http_server *http_server_stop(struct http_server *s)
{
	if (!s)
		return NULL;
	if (s->task.daemon)
		MHD_stop_daemon(s->task.daemon);
	if (s->local.daemon)
		MHD_stop_daemon(s->local.daemon);
	watchdog_stop(s);
	for (int i = 0; i < _CANNED_MAX; i++)
		if (s->canned[i])
			MHD_destroy_response(s->canned[i]);
	free(s);
	return NULL;
}

void http_server_stats(struct http_server *s, struct http_stats *ret)
{
	*ret = (struct http_stats){
		.ok = __atomic_load_n(&s->ok, __ATOMIC_RELAXED),
		.not_found = __atomic_load_n(&s->not_found, __ATOMIC_RELAXED),
		.throttled = __atomic_load_n(&s->throttled, __ATOMIC_RELAXED),
		.bad_request = __atomic_load_n(&s->bad_request, __ATOMIC_RELAXED),
		.unavailable = __atomic_load_n(&s->unavailable, __ATOMIC_RELAXED),
		.method_not_allowed = __atomic_load_n(&s->method, __ATOMIC_RELAXED),
		.header_timeout = __atomic_load_n(&s->header_timeout, __ATOMIC_RELAXED),
	};
}
