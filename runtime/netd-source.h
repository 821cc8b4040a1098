/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's view of netd: a small provider interface for the three calls it makes (task.show,
 * task.list, stats.get; docs/PROTOCOL.md), and the implementation over netd's control socket.
 * Tests put a fake netd behind the same socket; other sources (a subscription, a library) can
 * implement the same operations.
 */
#ifndef TP_NETD_SOURCE_H
#define TP_NETD_SOURCE_H

#include <jansson.h>

#include "ctl-proto.h"

struct netd_source;

struct netd_source_ops {
	/* netd's task object (docs/PROTOCOL.md "Task"). */
	int (*task_show)(struct netd_source *s, const char *task_id, json_t **ret,
			 struct ctl_error *err);
	/* An array of tasks. */
	int (*task_list)(struct netd_source *s, json_t **ret, struct ctl_error *err);
	/* stats.get: one task's stats (task_id) or {"tasks": [...]} (task_id NULL). */
	int (*stats_get)(struct netd_source *s, const char *task_id, json_t **ret,
			 struct ctl_error *err);
	void (*free)(struct netd_source *s);
};

struct netd_source {
	const struct netd_source_ops *ops;
};

/*
 * A source that calls netd on its socket at path, each call bounded by timeout_ms. The
 * connection is opened on first use and reopened after a transport failure. Errors: -EPROTO
 * with err filled for netd's error replies; -errno for transport failures.
 */
int netd_source_socket_new(const char *path, int timeout_ms, struct netd_source **ret);
/* Free; returns NULL. */
struct netd_source *netd_source_free(struct netd_source *s);

#endif
