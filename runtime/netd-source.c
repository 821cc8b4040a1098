// SPDX-License-Identifier: GPL-2.0-only
#include "netd-source.h"

struct socket_source {
	struct netd_source base;
	char *path;
	int timeout_ms;
	struct ctl_client *client;
};

static int socket_call(struct socket_source *s, const char *method, json_t *params, json_t **ret,
		       struct ctl_error *err)
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
		r = ctl_client_call(s->client, method, json_incref(params), s->timeout_ms, ret,
				    err);
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

static int socket_task_show(struct netd_source *base, const char *task_id, json_t **ret,
			    struct ctl_error *err)
{
	return socket_call((struct socket_source *)base, "task.show",
			   json_pack("{s:s}", "task_id", task_id), ret, err);
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

static void socket_free(struct netd_source *base)
{
	struct socket_source *s = (struct socket_source *)base;

	ctl_client_free(s->client);
	free(s->path);
	free(s);
}

static const struct netd_source_ops socket_ops = {
	.task_show = socket_task_show,
	.task_list = socket_task_list,
	.stats_get = socket_stats_get,
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
