// SPDX-License-Identifier: GPL-2.0-only
#include <sys/epoll.h>

#include "event.h"
#include "log.h"
#include "netd-source.h"

/* Reconnecting the event watch: after 1 s, doubling up to 10 s. */
#define WATCH_RETRY_MIN_MS 1000
#define WATCH_RETRY_MAX_MS 10000

struct socket_source {
	struct netd_source base;
	char *path;
	int timeout_ms;
	struct ctl_client *client;
	/* the event watch: a connection of its own, subscribed to events */
	struct event_loop *loop;
	netd_event_fn event_fn;
	void *event_data;
	struct ctl_client *events;
	int io_id, retry_id;
	unsigned int retry_ms;
	char *watch_error; /* why the watch is down, logged once */
};

static int socket_call_timeout(struct socket_source *s, const char *method, json_t *params,
			       int timeout_ms, json_t **ret, struct ctl_error *err)
{
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!s->client) {
			r = ctl_client_open(s->path, &s->client);
			if (r < 0) {
				json_decref(params);
				ctl_error_set_errno(err, r, "Cannot reach netd at '%s': %s",
						    s->path, strerror(-r));
				return r;
			}
		}
		r = ctl_client_call(s->client, method, json_incref(params), timeout_ms, ret, err);
		if (r != -EPIPE && r != -ECONNRESET && r != -ENOTCONN && r != -ECONNREFUSED &&
		    r != -EBADMSG && r != -ETIMEDOUT && r != -ENODATA)
			break;
		/* The connection broke (netd restarted, or a reply was lost): start afresh. */
		s->client = ctl_client_free(s->client);
		if (r == -ETIMEDOUT)
			break;
		ctl_error_done(err);
	}
	json_decref(params);
	return r;
}

static int socket_call(struct socket_source *s, const char *method, json_t *params, json_t **ret,
		       struct ctl_error *err)
{
	return socket_call_timeout(s, method, params, s->timeout_ms, ret, err);
}

static int socket_task_show(struct netd_source *base, const char *task_id, json_t **ret,
			    struct ctl_error *err)
{
	return socket_call((struct socket_source *)base, "task.show",
			   json_pack("{s:s}", "task_id", task_id), ret, err);
}

static int socket_platform_show(struct netd_source *base, const char *name, json_t **ret,
				struct ctl_error *err)
{
	return socket_call((struct socket_source *)base, "platform.show",
			   json_pack("{s:s}", "name", name), ret, err);
}

static int socket_task_list(struct netd_source *base, json_t **ret, struct ctl_error *err)
{
	return socket_call((struct socket_source *)base, "task.list", NULL, ret, err);
}

static int socket_stats_get(struct netd_source *base, const char *task_id, json_t **ret,
			    struct ctl_error *err)
{
	return socket_call((struct socket_source *)base, "stats.get",
			   task_id ? json_pack("{s:s}", "task_id", task_id) : NULL, ret, err);
}

static int socket_task_hold(struct netd_source *base, const char *task_id, const char *instance,
			    const char *holder, struct ctl_error *err)
{
	json_t *res = NULL;
	int r;

	r = socket_call((struct socket_source *)base, "task.hold",
			json_pack("{s:s, s:s, s:s}", "task_id", task_id, "instance", instance,
				  "holder", holder),
			&res, err);
	json_decref(res);
	return r;
}

static int socket_task_release(struct netd_source *base, const char *task_id, const char *instance,
			       const char *holder, struct ctl_error *err)
{
	json_t *res = NULL, *params;
	int r;

	params = json_pack("{s:s, s:s}", "task_id", task_id, "holder", holder);
	if (params && instance)
		json_object_set_new(params, "instance", json_string(instance));
	r = socket_call((struct socket_source *)base, "task.release", params, &res, err);
	json_decref(res);
	return r;
}

static int socket_task_holds(struct netd_source *base, const char *holder, json_t **ret,
			     struct ctl_error *err)
{
	return socket_call((struct socket_source *)base, "task.holds",
			   json_pack("{s:s}", "holder", holder), ret, err);
}

static int socket_task_attach(struct netd_source *base, json_t *params, int timeout_ms,
			      json_t **ret, struct ctl_error *err)
{
	struct socket_source *s = (struct socket_source *)base;

	return socket_call_timeout(s, "task.attach", params, MAX(timeout_ms, s->timeout_ms), ret,
				   err);
}

static int socket_task_set_phase(struct netd_source *base, const char *task_id, const char *phase,
				 struct ctl_error *err)
{
	json_t *res = NULL;
	int r;

	r = socket_call((struct socket_source *)base, "task.set_phase",
			json_pack("{s:s, s:s}", "task_id", task_id, "phase", phase), &res, err);
	json_decref(res);
	return r;
}

static int socket_task_detach(struct netd_source *base, const char *task_id, bool *ret_detached,
			      struct ctl_error *err)
{
	json_t *res = NULL;
	int r;

	r = socket_call((struct socket_source *)base, "task.detach",
			json_pack("{s:s}", "task_id", task_id), &res, err);
	if (r >= 0 && ret_detached)
		*ret_detached = json_is_true(json_object_get(res, "detached"));
	json_decref(res);
	return r;
}

/* --- the event watch ------------------------------------------------------------------------ */

static void watch_connect(struct socket_source *s);

static void watch_retry_timer(struct event_loop *loop, void *data)
{
	struct socket_source *s = data;

	s->retry_id = 0;
	watch_connect(s);
}

/* The watch is down: say why (once), and try again later. */
static void watch_down(struct socket_source *s, const char *why)
{
	int r;

	event_cancel(s->loop, s->io_id);
	s->io_id = 0;
	s->events = ctl_client_free(s->events);
	if (!s->watch_error || !streq(s->watch_error, why)) {
		log_warn(
			"netd: following its events failed: %s; its task list is sampled meanwhile",
			why);
		free(s->watch_error);
		s->watch_error = strdup(why);
	}
	s->retry_ms = s->retry_ms ? MIN(s->retry_ms * 2, WATCH_RETRY_MAX_MS) : WATCH_RETRY_MIN_MS;
	r = event_add_timer(s->loop, (uint64_t)s->retry_ms * 1000, watch_retry_timer, s, NULL);
	if (r < 0)
		log_warn_errno(r, "Failed to arm the retry of netd's events: %m");
	else
		s->retry_id = r;
}

/* Hand on every event that is there; the watch goes down on EOF or an error. */
static void watch_drain(struct socket_source *s)
{
	for (;;) {
		json_t *msg = NULL;
		int r;

		r = ctl_client_next_notification(s->events, 0, &msg);
		if (r == -ETIMEDOUT)
			return;
		if (r <= 0) {
			watch_down(s, r == 0 ? "netd closed the connection" : strerror(-r));
			return;
		}
		if (streq_ptr(json_string_value(json_object_get(msg, "method")), "event") &&
		    json_is_object(json_object_get(msg, "params")))
			s->event_fn(json_object_get(msg, "params"), s->event_data);
		json_decref(msg);
		/* The callback may not free the source; the watch is still ours. */
	}
}

static void watch_readable(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	watch_drain(data);
}

static void watch_connect(struct socket_source *s)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	char why[512];
	int r;

	r = ctl_client_open(s->path, &s->events);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot reach netd at '%s': %s", s->path, strerror(-r));
		watch_down(s, why);
		return;
	}
	r = ctl_client_call(s->events, "events.subscribe", NULL, s->timeout_ms, NULL, &err);
	if (r < 0) {
		snprintf(why, sizeof(why), "events.subscribe: %s", err.message ?: strerror(-r));
		watch_down(s, why);
		return;
	}
	r = event_add_io(s->loop, ctl_client_fd(s->events), EPOLLIN, watch_readable, s, NULL);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot watch the connection: %s", strerror(-r));
		watch_down(s, why);
		return;
	}
	s->io_id = r;
	s->retry_ms = 0;
	if (s->watch_error)
		log_notice("netd: following its events again");
	else
		log_info("netd: following its events");
	free(s->watch_error);
	s->watch_error = NULL;
	/* What happened before the subscription is not in the stream: look again. */
	s->event_fn(NULL, s->event_data);
	if (s->events)
		watch_drain(s);
}

static int socket_watch_events(struct netd_source *base, struct event_loop *loop, netd_event_fn fn,
			       void *data)
{
	struct socket_source *s = (struct socket_source *)base;

	if (s->loop)
		return -EBUSY;
	s->loop = loop;
	s->event_fn = fn;
	s->event_data = data;
	watch_connect(s);
	return 0;
}

static void socket_free(struct netd_source *base)
{
	struct socket_source *s = (struct socket_source *)base;

	if (s->loop) {
		event_cancel(s->loop, s->io_id);
		event_cancel(s->loop, s->retry_id);
	}
	ctl_client_free(s->events);
	ctl_client_free(s->client);
	free(s->watch_error);
	free(s->path);
	free(s);
}

static const struct netd_source_ops socket_ops = {
	.task_show = socket_task_show,
	.task_list = socket_task_list,
	.stats_get = socket_stats_get,
	.task_hold = socket_task_hold,
	.task_release = socket_task_release,
	.task_holds = socket_task_holds,
	.task_attach = socket_task_attach,
	.task_set_phase = socket_task_set_phase,
	.task_detach = socket_task_detach,
	.platform_show = socket_platform_show,
	.watch_events = socket_watch_events,
	.free = socket_free,
};

int netd_source_socket_new(const char *path, int timeout_ms, struct netd_source **ret)
{
	struct socket_source *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->base.ops = &socket_ops;
	s->path = strdup(path);
	s->timeout_ms = timeout_ms;
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	*ret = &s->base;
	return 0;
}

struct netd_source *netd_source_free(struct netd_source *s)
{
	if (s)
		s->ops->free(s);
	return NULL;
}
