/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A control socket server: a Unix stream socket speaking line-delimited JSON-RPC 2.0 (netd's,
 * and taskvm agent's).
 * Callers are identified with SO_PEERCRED; methods flagged CTL_METHOD_WRITE need uid 0 or the
 * configured group. Replies may be deferred: a handler keeps a reference to its call and answers
 * later (an attach that waits for its ENI, for example).
 */
#ifndef TP_CTL_SERVER_H
#define TP_CTL_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl-proto.h"

struct event_loop;
struct ctl_server;
struct ctl_call;

enum ctl_method_flags {
	CTL_METHOD_WRITE = 1 << 0, /* changes state: uid 0 or the configured group only */
};

/* One method: the handler must reply or fail the call, or keep a reference and do so later. */
struct ctl_method {
	const char *name;
	int (*fn)(struct ctl_call *call, json_t *params, void *userdata);
	unsigned int flags;
};

struct ctl_server_opts {
	const char *path;
	bool has_group;
	gid_t group;
	unsigned int max_clients;
	unsigned int max_pending; /* per connection */
	/* NULL-terminated list of NULL-name-terminated method tables */
	const struct ctl_method *const *tables;
	void *userdata;
};

/* Bind and listen (replacing a stale socket file), and watch it in loop. */
int ctl_server_new(struct event_loop *loop, const struct ctl_server_opts *opts,
		   struct ctl_server **ret);
/* Close every connection and the socket, unlink it; returns NULL. */
struct ctl_server *ctl_server_free(struct ctl_server *srv);
/* Send a notification to every connection subscribed to topic; params is not stolen. */
void ctl_server_broadcast(struct ctl_server *srv, const char *topic, const char *method,
			  json_t *params);
/* What the server has seen. */
struct ctl_server_stats {
	unsigned int clients;	       /* open now */
	unsigned long requests;	       /* dispatched to a method */
	unsigned long refused;	       /* connections refused: too many clients */
	unsigned long slow_dropped;    /* clients disconnected for not reading their replies */
	unsigned long stalled_dropped; /* clients disconnected for leaving a request unfinished */
};

/* The same with params given as JSON text. */
void ctl_server_broadcast_raw(struct ctl_server *srv, const char *topic, const char *method,
			      const char *params, size_t len);
/* Whether some connection is subscribed to topic (to skip building what nobody reads). */
bool ctl_server_has_topic(struct ctl_server *srv, const char *topic);
/* Number of open connections. */
unsigned int ctl_server_clients(struct ctl_server *srv);
/* When the last request was dispatched (now_usec() clock), 0 if none yet. */
uint64_t ctl_server_last_request_usec(struct ctl_server *srv);
/* Counters of connections and requests. */
void ctl_server_get_stats(struct ctl_server *srv, struct ctl_server_stats *ret);

/* Answer a call with a result (stolen). Returns 0. */
int ctl_call_reply(struct ctl_call *call, json_t *result);
/* Answer a call with a result given as JSON text (see ctl_reply_result_raw). Returns 0. */
int ctl_call_reply_raw(struct ctl_call *call, const char *result, size_t len);
/* Answer a call with an error. Returns 0. */
int ctl_call_fail(struct ctl_call *call, const struct ctl_error *err);
/* Answer with an error code and message. Returns 0. */
int ctl_call_failf(struct ctl_call *call, int code, const char *fmt, ...) _printf_(3, 4);
/* Answer with the protocol error for -errno, the message given and {"errno": name}. Returns 0. */
int ctl_call_fail_errno(struct ctl_call *call, int err, const char *fmt, ...) _printf_(3, 4);
/* Keep a call for a deferred answer. */
struct ctl_call *ctl_call_ref(struct ctl_call *call);
/* Drop a reference; returns NULL. */
struct ctl_call *ctl_call_unref(struct ctl_call *call);
/* Whether the call has been answered. */
bool ctl_call_is_done(struct ctl_call *call);
/* Whether the caller is still connected. */
bool ctl_call_is_connected(struct ctl_call *call);
/* The caller's credentials. */
const struct ucred *ctl_call_peer(struct ctl_call *call);
/* Subscribe the caller's connection to notifications of topic ("events", "stats"...). */
int ctl_call_subscribe(struct ctl_call *call, const char *topic);
/* The method's name. */
const char *ctl_call_method(struct ctl_call *call);

#endif
