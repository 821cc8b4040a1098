/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tasks the metadata endpoint serves, shared between the agent's main thread (which adds,
 * removes and updates them) and the HTTP threads (which only look them up).
 *
 * Locking: the registry's rwlock guards the indexes (source address, endpoint ids, credentials
 * id); the main thread takes it for writing to add or remove a task or change its address, the
 * HTTP threads for reading during one lookup. Each task's mutex guards its view (the responses
 * it serves now, rebuilt by the main thread and swapped in) and its rate-limit bucket. A response
 * is handed to MHD (which counts its own reference) while both locks are held, so a view can be
 * freed as soon as it is swapped out.
 */
#ifndef TP_REGISTRY_H
#define TP_REGISTRY_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "ratelimit.h"

struct MHD_Response;
struct tmds_task;
struct registry;
struct reg_task;
struct reg_view;

/* The bodies a task serves. */
enum reg_body {
	REG_BODY_CONTAINER,	  /* /v4/<id> */
	REG_BODY_TASK,		  /* /v4/<id>/task */
	REG_BODY_CONTAINER_STATS, /* /v4/<id>/stats */
	REG_BODY_TASK_STATS,	  /* /v4/<id>/task/stats */
	REG_BODY_CREDENTIALS,	  /* /v2/credentials/<id> */
};

/* What a lookup found. */
enum reg_result {
	REG_RESULT_FOUND,	   /* fn was called with the response */
	REG_RESULT_UNKNOWN_SOURCE, /* no task has the request's source address */
	REG_RESULT_NOT_FOUND,	   /* no such id (for this task, on the task listener) */
	REG_RESULT_THROTTLED,	   /* the task's rate limit said no */
	REG_RESULT_UNAVAILABLE,	   /* the task has no response of that kind yet */
};

/* One request to answer. */
struct reg_query {
	bool by_source;	    /* task listener: the task is the one with address src */
	struct in_addr src; /* network order */
	enum reg_body body;
	const char *id; /* endpoint id (a DockerId) or credentials id */
	uint64_t now_usec;
	const struct ratelimit_opts *limit; /* NULL: no limit (the local listener) */
};

/* Per-task counters, updated by the HTTP threads. */
struct reg_counters {
	uint64_t served;    /* answered from the task's view */
	uint64_t throttled; /* 429 */
	uint64_t denied;    /* asked, from this task's address, for an id that is not its own */
	uint64_t header_timeouts; /* connections closed because their request head was late */
};

/* Called with the response (and its HTTP status) while it cannot go away. */
typedef int (*reg_answer_fn)(struct MHD_Response *resp, unsigned int status, void *data);

/* Create an empty registry. */
int registry_new(struct registry **ret);
/* Free (every task must have been removed); returns NULL. */
struct registry *registry_free(struct registry *r);

/* A registry entry for t (borrowed: it must outlive the entry; its ids must not change). */
int reg_task_new(struct tmds_task *t, struct reg_task **ret);
/* Free an entry that is not (or no longer) in a registry; returns NULL. */
struct reg_task *reg_task_free(struct reg_task *rt);
/* Add to the registry: -EEXIST if an endpoint or credentials id is taken. */
int registry_add(struct registry *r, struct reg_task *rt);
/* Remove from the registry (HTTP threads no longer find it once this returns). */
void registry_remove(struct registry *r, struct reg_task *rt);
/* Give the task a metadata address (NULL: none); -EADDRINUSE if another task has it. */
int registry_set_address(struct registry *r, struct reg_task *rt, const struct in_addr *addr);
/* The task's metadata address: true and *ret, or false. Main thread. */
bool reg_task_address(struct reg_task *rt, struct in_addr *ret);
/* Swap in a new view (stolen); the old one is freed. */
void reg_task_publish(struct reg_task *rt, struct reg_view *v);
/* Read the task's counters. */
void reg_task_counters(struct reg_task *rt, struct reg_counters *ret);

/* A view for a task of n_containers containers. */
struct reg_view *reg_view_new(size_t n_containers);
/* Free; returns NULL. */
struct reg_view *reg_view_free(struct reg_view *v);
/* Set a body: status and JSON (stolen), served with Content-Type: application/json. */
int reg_view_set(struct reg_view *v, enum reg_body body, size_t idx, unsigned int status,
		 json_t *json);
/* An MHD response with a JSON body (stolen) and the JSON content type; NULL on failure. */
struct MHD_Response *reg_json_response(json_t *json);

/* Count a connection from src closed for a late request head against src's task, if any. */
void registry_count_header_timeout(struct registry *r, struct in_addr src);

/* Answer q: see enum reg_result. HTTP threads. */
enum reg_result registry_answer(struct registry *r, const struct reg_query *q, reg_answer_fn fn,
				void *data);

#endif
