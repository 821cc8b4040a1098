// SPDX-License-Identifier: GPL-2.0-only
#include <microhttpd.h>
#include <pthread.h>
#include <search.h>

#include "registry.h"
#include "tmds.h"
#include "util.h"

/* An index entry: an id (or address) and what it leads to. */
struct reg_key {
	const char *id; /* endpoint or credentials id; NULL for address keys */
	uint32_t addr;	/* network order */
	struct reg_task *task;
	int idx; /* container index; -1 for the credentials id */
};

struct reg_view {
	size_t n;
	struct MHD_Response *task, *task_stats, *creds;
	unsigned int task_status, task_stats_status, creds_status;
	struct MHD_Response **container, **container_stats;
	unsigned int *container_status, *container_stats_status;
};

struct reg_task {
	struct tmds_task *t;
	pthread_mutex_t lock;
	struct reg_view *view;	 /* under lock */
	struct ratelimit bucket; /* under lock */
	struct reg_key *keys;	 /* one per container, then the credentials id */
	size_t n_keys;
	struct reg_key addr_key;
	bool has_addr; /* under the registry's write lock */
	bool added;
	uint64_t served, throttled, denied, header_timeouts; /* atomic */
};

struct registry {
	pthread_rwlock_t lock;
	void *ids;   /* tsearch tree of reg_key by id */
	void *addrs; /* tsearch tree of reg_key by address */
};

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct reg_key *)a)->id, ((const struct reg_key *)b)->id);
}

static int cmp_addr(const void *a, const void *b)
{
	uint32_t x = ((const struct reg_key *)a)->addr, y = ((const struct reg_key *)b)->addr;

	return x < y ? -1 : x > y;
}

int registry_new(struct registry **ret)
{
	pthread_rwlockattr_t attr;
	struct registry *r;
	int e;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_rwlockattr_init(&attr);
	/* A steady stream of readers must not starve the main thread's updates. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	e = pthread_rwlock_init(&r->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (e) {
		free(r);
		return -e;
	}
	*ret = r;
	return 0;
}

static void noop_free(void *p)
{
}

struct registry *registry_free(struct registry *r)
{
	if (!r)
		return NULL;
	tdestroy(r->ids, noop_free);
	tdestroy(r->addrs, noop_free);
	pthread_rwlock_destroy(&r->lock);
	free(r);
	return NULL;
}

int reg_task_new(struct tmds_task *t, struct reg_task **ret)
{
	struct reg_task *rt;

	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->t = t;
	rt->n_keys = t->n_containers + (t->creds_id[0] ? 1 : 0);
	rt->keys = calloc(rt->n_keys, sizeof(*rt->keys));
	if (!rt->keys) {
		free(rt);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n_containers; i++)
		rt->keys[i] = (struct reg_key){ .id = t->containers[i].docker_id,
						.task = rt,
						.idx = (int)i };
	if (t->creds_id[0])
		rt->keys[t->n_containers] =
			(struct reg_key){ .id = t->creds_id, .task = rt, .idx = -1 };
	rt->addr_key = (struct reg_key){ .task = rt, .idx = -1 };
	pthread_mutex_init(&rt->lock, NULL);
	*ret = rt;
	return 0;
}

struct reg_task *reg_task_free(struct reg_task *rt)
{
	if (!rt)
		return NULL;
	reg_view_free(rt->view);
	pthread_mutex_destroy(&rt->lock);
	free(rt->keys);
	free(rt);
	return NULL;
}

int registry_add(struct registry *r, struct reg_task *rt)
{
	size_t i;
	int ret = 0;

	pthread_rwlock_wrlock(&r->lock);
	for (i = 0; i < rt->n_keys; i++)
		if (tfind(&rt->keys[i], &r->ids, cmp_id)) {
			ret = -EEXIST;
			break;
		}
	for (size_t k = 0; ret == 0 && k < rt->n_keys; k++) {
		if (!tsearch(&rt->keys[k], &r->ids, cmp_id)) {
			while (k-- > 0)
				tdelete(&rt->keys[k], &r->ids, cmp_id);
			ret = -ENOMEM;
		}
	}
	if (ret == 0)
		rt->added = true;
	pthread_rwlock_unlock(&r->lock);
	return ret;
}

void registry_remove(struct registry *r, struct reg_task *rt)
{
	if (!rt->added)
		return;
	pthread_rwlock_wrlock(&r->lock);
	for (size_t i = 0; i < rt->n_keys; i++)
		tdelete(&rt->keys[i], &r->ids, cmp_id);
	if (rt->has_addr)
		tdelete(&rt->addr_key, &r->addrs, cmp_addr);
	rt->has_addr = false;
	rt->added = false;
	pthread_rwlock_unlock(&r->lock);
}

int registry_set_address(struct registry *r, struct reg_task *rt, const struct in_addr *addr)
{
	struct reg_key probe = { .addr = addr ? addr->s_addr : 0 };
	struct reg_key **found;
	int ret = 0;

	pthread_rwlock_wrlock(&r->lock);
	if (addr) {
		found = tfind(&probe, &r->addrs, cmp_addr);
		if (found && (*found)->task != rt) {
			ret = -EADDRINUSE;
			goto out;
		}
		if (found)
			goto out; /* unchanged */
	}
	if (rt->has_addr) {
		tdelete(&rt->addr_key, &r->addrs, cmp_addr);
		rt->has_addr = false;
	}
	if (addr) {
		rt->addr_key.addr = addr->s_addr;
		if (!tsearch(&rt->addr_key, &r->addrs, cmp_addr)) {
			ret = -ENOMEM;
			goto out;
		}
		rt->has_addr = true;
	}
out:
	pthread_rwlock_unlock(&r->lock);
	return ret;
}

bool reg_task_address(struct reg_task *rt, struct in_addr *ret)
{
	if (!rt->has_addr)
		return false;
	ret->s_addr = rt->addr_key.addr;
	return true;
}

void reg_task_publish(struct reg_task *rt, struct reg_view *v)
{
	struct reg_view *old;

	pthread_mutex_lock(&rt->lock);
	old = rt->view;
	rt->view = v;
	pthread_mutex_unlock(&rt->lock);
	reg_view_free(old);
}

void reg_task_counters(struct reg_task *rt, struct reg_counters *ret)
{
	ret->served = __atomic_load_n(&rt->served, __ATOMIC_RELAXED);
	ret->throttled = __atomic_load_n(&rt->throttled, __ATOMIC_RELAXED);
	ret->denied = __atomic_load_n(&rt->denied, __ATOMIC_RELAXED);
	ret->header_timeouts = __atomic_load_n(&rt->header_timeouts, __ATOMIC_RELAXED);
}

void registry_count_header_timeout(struct registry *r, struct in_addr src)
{
	struct reg_key probe = { .addr = src.s_addr }, **k;

	pthread_rwlock_rdlock(&r->lock);
	k = tfind(&probe, &r->addrs, cmp_addr);
	if (k)
		__atomic_add_fetch(&(*k)->task->header_timeouts, 1, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&r->lock);
}

/* --- views ------------------------------------------------------------------------------ */

struct reg_view *reg_view_new(size_t n)
{
	struct reg_view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->n = n;
	v->container = calloc(n, sizeof(*v->container));
	v->container_stats = calloc(n, sizeof(*v->container_stats));
	v->container_status = calloc(n, sizeof(*v->container_status));
	v->container_stats_status = calloc(n, sizeof(*v->container_stats_status));
	if (!v->container || !v->container_stats || !v->container_status ||
	    !v->container_stats_status)
		return reg_view_free(v);
	return v;
}

static void response_drop(struct MHD_Response *r)
{
	/* MHD keeps a response alive while a connection still sends it. */
	if (r)
		MHD_destroy_response(r);
}

struct reg_view *reg_view_free(struct reg_view *v)
{
	if (!v)
		return NULL;
	for (size_t i = 0; i < v->n; i++) {
		if (v->container)
			response_drop(v->container[i]);
		if (v->container_stats)
			response_drop(v->container_stats[i]);
	}
	response_drop(v->task);
	response_drop(v->task_stats);
	response_drop(v->creds);
	free(v->container);
	free(v->container_stats);
	free(v->container_status);
	free(v->container_stats_status);
	free(v);
	return NULL;
}

struct MHD_Response *reg_json_response(json_t *json)
{
	struct MHD_Response *resp;
	char *body;

	if (!json)
		return NULL;
	/* reals with 17 digits: every double reads back as itself (netd's rates pass through) */
	body = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(json);
	if (!body)
		return NULL;
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return NULL;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
	    MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

int reg_view_set(struct reg_view *v, enum reg_body body, size_t idx, unsigned int status,
		 json_t *json)
{
	struct MHD_Response *resp = reg_json_response(json), **slot = NULL;
	unsigned int *st = NULL;

	if (!resp)
		return -ENOMEM;
	switch (body) {
	case REG_BODY_CONTAINER:
		if (idx < v->n) {
			slot = &v->container[idx];
			st = &v->container_status[idx];
		}
		break;
	case REG_BODY_CONTAINER_STATS:
		if (idx < v->n) {
			slot = &v->container_stats[idx];
			st = &v->container_stats_status[idx];
		}
		break;
	case REG_BODY_TASK:
		slot = &v->task;
		st = &v->task_status;
		break;
	case REG_BODY_TASK_STATS:
		slot = &v->task_stats;
		st = &v->task_stats_status;
		break;
	case REG_BODY_CREDENTIALS:
		slot = &v->creds;
		st = &v->creds_status;
		break;
	}
	if (!slot) {
		MHD_destroy_response(resp);
		return -EINVAL;
	}
	response_drop(*slot);
	*slot = resp;
	*st = status;
	return 0;
}

/* The response for a body of container idx (-1: the credentials). */
static struct MHD_Response *view_pick(const struct reg_view *v, enum reg_body body, int idx,
				      unsigned int *ret_status)
{
	if (!v)
		return NULL;
	switch (body) {
	case REG_BODY_CONTAINER:
		*ret_status = idx >= 0 ? v->container_status[idx] : 0;
		return idx >= 0 ? v->container[idx] : NULL;
	case REG_BODY_CONTAINER_STATS:
		*ret_status = idx >= 0 ? v->container_stats_status[idx] : 0;
		return idx >= 0 ? v->container_stats[idx] : NULL;
	case REG_BODY_TASK:
		*ret_status = v->task_status;
		return idx >= 0 ? v->task : NULL;
	case REG_BODY_TASK_STATS:
		*ret_status = v->task_stats_status;
		return idx >= 0 ? v->task_stats : NULL;
	case REG_BODY_CREDENTIALS:
		*ret_status = v->creds_status;
		return idx < 0 ? v->creds : NULL;
	}
	return NULL;
}

/* --- lookups (HTTP threads) -------------------------------------------------------------- */

/* Which of the task's keys q->id is: the container index, -1 for the credentials id, or -2. */
static int task_match(const struct reg_task *rt, const struct reg_query *q)
{
	for (size_t i = 0; i < rt->n_keys; i++)
		if (streq(rt->keys[i].id, q->id))
			return rt->keys[i].idx;
	return -2;
}

enum reg_result registry_answer(struct registry *r, const struct reg_query *q, reg_answer_fn fn,
				void *data)
{
	enum reg_result res = REG_RESULT_NOT_FOUND;
	struct reg_task *rt = NULL;
	struct MHD_Response *resp;
	unsigned int status = 0;
	int idx = -2;

	pthread_rwlock_rdlock(&r->lock);
	if (q->by_source) {
		struct reg_key probe = { .addr = q->src.s_addr }, **k;

		k = tfind(&probe, &r->addrs, cmp_addr);
		if (!k) {
			res = REG_RESULT_UNKNOWN_SOURCE;
			goto out;
		}
		rt = (*k)->task;
		idx = task_match(rt, q);
	} else {
		struct reg_key probe = { .id = q->id }, **k;

		k = tfind(&probe, &r->ids, cmp_id);
		if (!k)
			goto out;
		rt = (*k)->task;
		idx = (*k)->idx;
	}

	pthread_mutex_lock(&rt->lock);
	if (q->limit && !ratelimit_take(&rt->bucket, q->limit, q->now_usec)) {
		pthread_mutex_unlock(&rt->lock);
		__atomic_add_fetch(&rt->throttled, 1, __ATOMIC_RELAXED);
		res = REG_RESULT_THROTTLED;
		goto out;
	}
	/* An endpoint id fits the container paths, the credentials id the credentials path. */
	if (idx == -2 || (idx == -1) != (q->body == REG_BODY_CREDENTIALS)) {
		pthread_mutex_unlock(&rt->lock);
		if (q->by_source)
			__atomic_add_fetch(&rt->denied, 1, __ATOMIC_RELAXED);
		res = REG_RESULT_NOT_FOUND;
		goto out;
	}
	resp = view_pick(rt->view, q->body, idx, &status);
	if (!resp) {
		pthread_mutex_unlock(&rt->lock);
		res = REG_RESULT_UNAVAILABLE;
		goto out;
	}
	fn(resp, status, data);
	pthread_mutex_unlock(&rt->lock);
	__atomic_add_fetch(&rt->served, 1, __ATOMIC_RELAXED);
	res = REG_RESULT_FOUND;
out:
	pthread_rwlock_unlock(&r->lock);
	return res;
}
