/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's view of netd: a small provider interface for the calls it makes (task.show,
 * task.list, stats.get, task.hold, task.release, task.holds, and for the tasks it launches
 * task.attach, task.set_phase, task.detach, platform.show; docs/PROTOCOL.md) and for following
 * netd's events, and the implementation over netd's control socket. Tests put a fake netd behind
 * the same socket; other sources (a library) can implement the same operations.
 */
#ifndef TP_NETD_SOURCE_H
#define TP_NETD_SOURCE_H

#include <jansson.h>
#include <stdbool.h>

#include "ctl-proto.h"

struct event_loop;
struct netd_source;

/* One of netd's events (borrowed), or NULL: the stream (re)started, events may have been missed. */
typedef void (*netd_event_fn)(json_t *event, void *data);

struct netd_source_ops {
	/* netd's task object (docs/PROTOCOL.md "Task"). */
	int (*task_show)(struct netd_source *s, const char *task_id, json_t **ret,
			 struct ctl_error *err);
	/* An array of tasks. */
	int (*task_list)(struct netd_source *s, json_t **ret, struct ctl_error *err);
	/* stats.get: one task's stats (task_id) or {"tasks": [...]} (task_id NULL). */
	int (*stats_get)(struct netd_source *s, const char *task_id, json_t **ret,
			 struct ctl_error *err);
	/* Hold instance of task_id under the name holder (task.hold). */
	int (*task_hold)(struct netd_source *s, const char *task_id, const char *instance,
			 const char *holder, struct ctl_error *err);
	/* Release holder's hold of task_id (of one instance, or of any with instance NULL). */
	int (*task_release)(struct netd_source *s, const char *task_id, const char *instance,
			    const char *holder, struct ctl_error *err);
	/* The holds of holder: an array of {task_id, instance, state, ...} (task.holds). */
	int (*task_holds)(struct netd_source *s, const char *holder, json_t **ret,
			  struct ctl_error *err);
	/*
	 * task.attach with these parameters (stolen); *ret is the task. Waits up to timeout_ms
	 * (netd's own wait for the ENI, params' timeout_ms, comes on top).
	 */
	int (*task_attach)(struct netd_source *s, json_t *params, int timeout_ms, json_t **ret,
			   struct ctl_error *err);
	/* task.set_phase: "READY" or "READY_PULL". */
	int (*task_set_phase)(struct netd_source *s, const char *task_id, const char *phase,
			      struct ctl_error *err);
	/* platform.show: the platform ENI of that name (docs/PROTOCOL.md "platform.show"). */
	int (*platform_show)(struct netd_source *s, const char *name, json_t **ret,
			     struct ctl_error *err);
	/* task.detach (an unknown task is no error: *ret_detached false). */
	int (*task_detach)(struct netd_source *s, const char *task_id, bool *ret_detached,
			   struct ctl_error *err);
	/*
	 * Follow netd's events on loop: fn gets each, and NULL whenever the stream starts or starts
	 * again (after netd went away and came back), since events may have been missed before.
	 * The source reconnects by itself; it stops when freed. Once per source.
	 */
	int (*watch_events)(struct netd_source *s, struct event_loop *loop, netd_event_fn fn,
			    void *data);
	void (*free)(struct netd_source *s);
};

struct netd_source {
	const struct netd_source_ops *ops;
};

/*
 * A source that calls netd on its socket at path, each call bounded by timeout_ms. The
 * connection is opened on first use and reopened after a transport failure. Errors: -EPROTO
 * with err filled for netd's error replies; -errno for transport failures. The event watch has
 * a connection of its own.
 */
int netd_source_socket_new(const char *path, int timeout_ms, struct netd_source **ret);
/* Free; returns NULL. */
struct netd_source *netd_source_free(struct netd_source *s);

#endif
