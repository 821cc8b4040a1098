// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the HTTP side of the metadata endpoint: request paths (runtime/http.h), the
 * per-task token bucket (runtime/ratelimit.h), and the registry (runtime/registry.h) that ties a
 * request to its task: by source address on the task listener, by id on the local listener;
 * another task's id is not found; the limit applies per task. Also: lookups racing with the main
 * thread's updates (run under ASan+UBSan too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>

#include "http.h"
#include "ratelimit.h"
#include "registry.h"
#include "taskdef.h"
#include "tmds.h"
#include "util.h"

/* --- paths --------------------------------------------------------------------------------- */

static void test_routes(void **state)
{
	static const struct {
		const char *path;
		enum reg_body body;
		const char *id;
	} good[] = {
		{ "/v4/abc-1", REG_BODY_CONTAINER, "abc-1" },
		{ "/v4/abc-1/task", REG_BODY_TASK, "abc-1" },
		{ "/v4/abc-1/stats", REG_BODY_CONTAINER_STATS, "abc-1" },
		{ "/v4/abc-1/task/stats", REG_BODY_TASK_STATS, "abc-1" },
		{ "/v2/credentials/0f-1", REG_BODY_CREDENTIALS, "0f-1" },
		{ "/v2/credentials", REG_BODY_CREDENTIALS, "" },
		{ "/v2/credentials/", REG_BODY_CREDENTIALS, "" },
	};
	static const char *const bad[] = {
		"/",
		"/v4",
		"/v4/",
		"/v4//task",
		"/v4/a/",
		"/v4/a/tasks",
		"/v4/a/task/",
		"/v4/a/taskWithTags",
		"/v4/a/stats/x",
		"/v3/a",
		"/v2/credentials/a/b",
		"/v2/credentialsX",
		"/v1/credentials",
		"/v2/metadata",
		"/v4/0123456789012345678901234567890123456789012345678901234567890123456789"
		"012345678901234567890123456789012345678901234567890123456789/task",
	};
	struct http_route r;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		if (http_route_parse(good[i].path, &r) != 0)
			fail_msg("no route for %s", good[i].path);
		assert_int_equal(r.body, good[i].body);
		assert_string_equal(r.id, good[i].id);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (http_route_parse(bad[i], &r) != -ENOENT)
			fail_msg("a route for %s", bad[i]);
}

static void test_listen_parse(void **state)
{
	struct sockaddr_in sin;

	assert_int_equal(http_parse_listen("169.254.170.2:80", &sin), 0);
	assert_int_equal(ntohs(sin.sin_port), 80);
	assert_string_equal(inet_ntoa(sin.sin_addr), "169.254.170.2");
	assert_int_equal(http_parse_listen("127.0.0.1:51679", &sin), 0);
	assert_int_equal(http_parse_listen("169.254.170.2", &sin), -EINVAL);
	assert_int_equal(http_parse_listen("169.254.170.2:0", &sin), -EINVAL);
	assert_int_equal(http_parse_listen("169.254.170.2:65536", &sin), -EINVAL);
	assert_int_equal(http_parse_listen("host:80", &sin), -EINVAL);
	assert_int_equal(http_parse_listen(":80", &sin), -EINVAL);
}

/* --- the token bucket ---------------------------------------------------------------------- */

static unsigned int take_n(struct ratelimit *rl, const struct ratelimit_opts *o, uint64_t now,
			   unsigned int n)
{
	unsigned int ok = 0;

	for (unsigned int i = 0; i < n; i++)
		ok += ratelimit_take(rl, o, now);
	return ok;
}

static void test_ratelimit(void **state)
{
	const struct ratelimit_opts o = { .rate = 40, .burst = 60 };
	struct ratelimit rl = {};
	uint64_t t0 = 1000000000;

	/* a burst of 60, then nothing */
	assert_int_equal(take_n(&rl, &o, t0, 100), 60);
	/* 40 a second after that */
	assert_int_equal(take_n(&rl, &o, t0 + 1000000, 100), 40);
	/* 25 ms bring one token, 24 ms none */
	assert_int_equal(take_n(&rl, &o, t0 + 1024000, 10), 0);
	assert_int_equal(take_n(&rl, &o, t0 + 1025000, 10), 1);
	/* a long pause fills the bucket, never past the burst */
	assert_int_equal(take_n(&rl, &o, t0 + 3600000000ULL, 100), 60);
	/* steady 40/s over 10 s of 1 ms steps: 40 * 10 (+ what the bucket held) */
	{
		struct ratelimit r2 = {};
		unsigned int ok = take_n(&r2, &o, 0, 60);

		for (uint64_t t = 1000; t <= 10000000; t += 1000)
			ok += take_n(&r2, &o, t, 1);
		assert_int_equal(ok, 60 + 400);
	}
	/* 0 is off */
	{
		const struct ratelimit_opts off = { .rate = 0, .burst = 1 };
		struct ratelimit r3 = {};

		assert_int_equal(take_n(&r3, &off, 0, 1000), 1000);
	}
}

static void test_ratelimit_parse(void **state)
{
	struct ratelimit_opts o;

	assert_int_equal(ratelimit_opts_parse("40:60", &o), 0);
	assert_int_equal(o.rate, 40);
	assert_int_equal(o.burst, 60);
	assert_int_equal(ratelimit_opts_parse("100", &o), 0);
	assert_int_equal(o.burst, 150);
	assert_int_equal(ratelimit_opts_parse("0", &o), 0);
	assert_int_equal(o.rate, 0);
	assert_int_equal(ratelimit_opts_parse("40:0", &o), -EINVAL);
	assert_int_equal(ratelimit_opts_parse("-1", &o), -EINVAL);
	assert_int_equal(ratelimit_opts_parse("40:", &o), -EINVAL);
	assert_int_equal(ratelimit_opts_parse("x", &o), -EINVAL);
	assert_int_equal(ratelimit_opts_parse("40:60:1", &o), -EINVAL);
}

/* --- the registry -------------------------------------------------------------------------- */

struct fixture {
	struct registry *reg;
	struct tmds_task *ta, *tb;
	struct reg_task *a, *b;
	struct in_addr addr_a, addr_b;
};

static struct tmds_task *make_task(const char *id)
{
	json_auto_t *j =
		json_loads("{\"family\":\"f\",\"taskRoleArn\":"
			   "\"arn:aws:iam::111122223333:role/r\",\"containerDefinitions\":"
			   "[{\"name\":\"a\",\"image\":\"i\"},{\"name\":\"b\",\"image\":\"i\"}]}",
			   0, NULL);
	struct taskdef *def = NULL;
	struct tmds_task *t = NULL;
	char *err = NULL;

	assert_int_equal(taskdef_parse(j, &def, &err), 0);
	assert_int_equal(
		tmds_task_new(&(struct tmds_task_opts){ .task_id = id,
							.cluster = "c",
							.region = "eu-west-1",
							.availability_zone = "eu-west-1a" },
			      def, &t, &err),
		0);
	return t;
}

/* A view whose statuses say which body and which task answered: base + 10 * body + idx. */
static struct reg_view *marked_view(unsigned int base)
{
	struct reg_view *v = reg_view_new(2);

	assert_non_null(v);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(reg_view_set(v, REG_BODY_CONTAINER, i, base + i, json_object()),
				 0);
		assert_int_equal(
			reg_view_set(v, REG_BODY_CONTAINER_STATS, i, base + 20 + i, json_object()),
			0);
	}
	assert_int_equal(reg_view_set(v, REG_BODY_TASK, 0, base + 10, json_object()), 0);
	assert_int_equal(reg_view_set(v, REG_BODY_TASK_STATS, 0, base + 30, json_object()), 0);
	assert_int_equal(reg_view_set(v, REG_BODY_CREDENTIALS, 0, base + 40, json_object()), 0);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(registry_new(&f->reg), 0);
	f->ta = make_task("ta");
	f->tb = make_task("tb");
	assert_int_equal(reg_task_new(f->ta, &f->a), 0);
	assert_int_equal(reg_task_new(f->tb, &f->b), 0);
	reg_task_publish(f->a, marked_view(100));
	reg_task_publish(f->b, marked_view(300));
	assert_int_equal(registry_add(f->reg, f->a), 0);
	assert_int_equal(registry_add(f->reg, f->b), 0);
	inet_pton(AF_INET, "169.254.172.2", &f->addr_a);
	inet_pton(AF_INET, "169.254.172.3", &f->addr_b);
	assert_int_equal(registry_set_address(f->reg, f->a, &f->addr_a), 0);
	assert_int_equal(registry_set_address(f->reg, f->b, &f->addr_b), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	registry_remove(f->reg, f->a);
	registry_remove(f->reg, f->b);
	reg_task_free(f->a);
	reg_task_free(f->b);
	tmds_task_free(f->ta);
	tmds_task_free(f->tb);
	registry_free(f->reg);
	free(f);
	return 0;
}

static int grab_status(struct MHD_Response *resp, unsigned int status, void *data)
{
	assert_non_null(resp);
	*(unsigned int *)data = status;
	return 0;
}

/* Ask, from src (NULL: the local listener), for body of id: the result, and the status. */
static enum reg_result ask(struct fixture *f, const struct in_addr *src, enum reg_body body,
			   const char *id, const struct ratelimit_opts *limit, uint64_t now,
			   unsigned int *ret_status)
{
	struct reg_query q = { .by_source = src != NULL,
			       .src = src ? *src : (struct in_addr){},
			       .body = body,
			       .id = id,
			       .now_usec = now,
			       .limit = limit };

	*ret_status = 0;
	return registry_answer(f->reg, &q, grab_status, ret_status);
}

static void test_own_task(void **state)
{
	struct fixture *f = *state;
	const char *c0 = f->ta->containers[0].docker_id, *c1 = f->ta->containers[1].docker_id;
	unsigned int st;

	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CONTAINER, c0, NULL, 0, &st),
			 REG_RESULT_FOUND);
	assert_int_equal(st, 100);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CONTAINER, c1, NULL, 0, &st),
			 REG_RESULT_FOUND);
	assert_int_equal(st, 101);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_TASK, c1, NULL, 0, &st), REG_RESULT_FOUND);
	assert_int_equal(st, 110);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CONTAINER_STATS, c1, NULL, 0, &st),
			 REG_RESULT_FOUND);
	assert_int_equal(st, 121);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_TASK_STATS, c0, NULL, 0, &st),
			 REG_RESULT_FOUND);
	assert_int_equal(st, 130);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CREDENTIALS, f->ta->creds_id, NULL, 0, &st),
			 REG_RESULT_FOUND);
	assert_int_equal(st, 140);
}

static void test_other_task_is_not_found(void **state)
{
	struct fixture *f = *state;
	const char *b0 = f->tb->containers[0].docker_id;
	struct reg_counters rc;
	unsigned int st;

	/* A asks with B's ids (guessed or stolen): not found, and counted against A */
	for (enum reg_body body = REG_BODY_CONTAINER; body <= REG_BODY_TASK_STATS; body++)
		assert_int_equal(ask(f, &f->addr_a, body, b0, NULL, 0, &st), REG_RESULT_NOT_FOUND);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CREDENTIALS, f->tb->creds_id, NULL, 0, &st),
			 REG_RESULT_NOT_FOUND);
	assert_int_equal(st, 0);
	reg_task_counters(f->a, &rc);
	assert_int_equal(rc.denied, 5);
	assert_int_equal(rc.served, 0);
	reg_task_counters(f->b, &rc);
	assert_int_equal(rc.served, 0);
	/* an unknown id is not found either */
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CONTAINER, "nope", NULL, 0, &st),
			 REG_RESULT_NOT_FOUND);
	/* ids do not cross kinds: the credentials id is no endpoint id, nor the reverse */
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_TASK, f->ta->creds_id, NULL, 0, &st),
			 REG_RESULT_NOT_FOUND);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CREDENTIALS, f->ta->containers[0].docker_id,
			     NULL, 0, &st),
			 REG_RESULT_NOT_FOUND);
	/* a source no task has */
	{
		struct in_addr x;

		inet_pton(AF_INET, "169.254.172.99", &x);
		assert_int_equal(ask(f, &x, REG_BODY_CONTAINER, b0, NULL, 0, &st),
				 REG_RESULT_UNKNOWN_SOURCE);
	}
}

static void test_local_listener_by_id(void **state)
{
	struct fixture *f = *state;
	unsigned int st;

	assert_int_equal(ask(f, NULL, REG_BODY_TASK, f->tb->containers[1].docker_id, NULL, 0, &st),
			 REG_RESULT_FOUND);
	assert_int_equal(st, 310);
	assert_int_equal(
		ask(f, NULL, REG_BODY_CONTAINER, f->ta->containers[1].docker_id, NULL, 0, &st),
		REG_RESULT_FOUND);
	assert_int_equal(st, 101);
	assert_int_equal(ask(f, NULL, REG_BODY_CREDENTIALS, f->tb->creds_id, NULL, 0, &st),
			 REG_RESULT_FOUND);
	assert_int_equal(st, 340);
	assert_int_equal(ask(f, NULL, REG_BODY_CONTAINER, "nope", NULL, 0, &st),
			 REG_RESULT_NOT_FOUND);
	assert_int_equal(ask(f, NULL, REG_BODY_CONTAINER, f->tb->creds_id, NULL, 0, &st),
			 REG_RESULT_NOT_FOUND);
}

static void test_rate_limit_per_task(void **state)
{
	struct fixture *f = *state;
	const struct ratelimit_opts lim = { .rate = 40, .burst = 60 };
	const char *a0 = f->ta->containers[0].docker_id, *b0 = f->tb->containers[0].docker_id;
	unsigned int st, found = 0, throttled = 0;
	struct reg_counters rc;

	for (int i = 0; i < 100; i++) {
		/* every request counts, a refused id too */
		enum reg_result r = ask(f, &f->addr_a, REG_BODY_CONTAINER, i % 10 ? a0 : "x", &lim,
					5000000, &st);

		found += r == REG_RESULT_FOUND;
		throttled += r == REG_RESULT_THROTTLED;
	}
	assert_int_equal(found + 6, 60);
	assert_int_equal(throttled, 40);
	reg_task_counters(f->a, &rc);
	assert_int_equal(rc.throttled, 40);
	/* B's bucket is B's own */
	assert_int_equal(ask(f, &f->addr_b, REG_BODY_CONTAINER, b0, &lim, 5000000, &st),
			 REG_RESULT_FOUND);
	/* A again a second later */
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_CONTAINER, a0, &lim, 6000000, &st),
			 REG_RESULT_FOUND);
}

static void test_addresses(void **state)
{
	struct fixture *f = *state;
	struct in_addr other, got;
	unsigned int st;

	/* B cannot take A's address */
	assert_int_equal(registry_set_address(f->reg, f->b, &f->addr_a), -EADDRINUSE);
	assert_int_equal(
		ask(f, &f->addr_a, REG_BODY_TASK, f->ta->containers[0].docker_id, NULL, 0, &st),
		REG_RESULT_FOUND);
	/* A moves: its old address is nobody's */
	inet_pton(AF_INET, "169.254.173.7", &other);
	assert_int_equal(registry_set_address(f->reg, f->a, &other), 0);
	assert_true(reg_task_address(f->a, &got) && got.s_addr == other.s_addr);
	assert_int_equal(
		ask(f, &f->addr_a, REG_BODY_TASK, f->ta->containers[0].docker_id, NULL, 0, &st),
		REG_RESULT_UNKNOWN_SOURCE);
	assert_int_equal(
		ask(f, &other, REG_BODY_TASK, f->ta->containers[0].docker_id, NULL, 0, &st),
		REG_RESULT_FOUND);
	/* setting the same address again is fine; none removes it */
	assert_int_equal(registry_set_address(f->reg, f->a, &other), 0);
	assert_int_equal(registry_set_address(f->reg, f->a, NULL), 0);
	assert_false(reg_task_address(f->a, &got));
	assert_int_equal(
		ask(f, &other, REG_BODY_TASK, f->ta->containers[0].docker_id, NULL, 0, &st),
		REG_RESULT_UNKNOWN_SOURCE);
	/* and the local listener still finds A by id */
	assert_int_equal(ask(f, NULL, REG_BODY_TASK, f->ta->containers[0].docker_id, NULL, 0, &st),
			 REG_RESULT_FOUND);
}

static void test_publish_and_remove(void **state)
{
	struct fixture *f = *state;
	const char *a0 = f->ta->containers[0].docker_id;
	struct reg_task *dup = NULL;
	unsigned int st;

	reg_task_publish(f->a, marked_view(500));
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_TASK, a0, NULL, 0, &st), REG_RESULT_FOUND);
	assert_int_equal(st, 510);
	/* the same ids cannot be registered twice */
	assert_int_equal(reg_task_new(f->ta, &dup), 0);
	assert_int_equal(registry_add(f->reg, dup), -EEXIST);
	reg_task_free(dup);
	/* removed: found by neither address nor id */
	registry_remove(f->reg, f->a);
	assert_int_equal(ask(f, &f->addr_a, REG_BODY_TASK, a0, NULL, 0, &st),
			 REG_RESULT_UNKNOWN_SOURCE);
	assert_int_equal(ask(f, NULL, REG_BODY_TASK, a0, NULL, 0, &st), REG_RESULT_NOT_FOUND);
	assert_int_equal(ask(f, NULL, REG_BODY_CREDENTIALS, f->ta->creds_id, NULL, 0, &st),
			 REG_RESULT_NOT_FOUND);
	/* B is untouched */
	assert_int_equal(
		ask(f, &f->addr_b, REG_BODY_TASK, f->tb->containers[0].docker_id, NULL, 0, &st),
		REG_RESULT_FOUND);
}

/* --- lookups racing with updates ----------------------------------------------------------- */

struct race {
	struct fixture *f;
	bool stop; /* atomic */
	unsigned long found, other;
};

static int count_status(struct MHD_Response *resp, unsigned int status, void *data)
{
	/* the view is alive: a status out of range would mean a freed or torn view */
	if (status < 100 || status > 999)
		abort();
	return 0;
}

static void *reader(void *data)
{
	struct race *r = data;
	const struct ratelimit_opts lim = { .rate = 1000000, .burst = 1000000 };

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		struct reg_query q = { .by_source = true,
				       .src = r->f->addr_a,
				       .body = REG_BODY_TASK_STATS,
				       .id = r->f->ta->containers[0].docker_id,
				       .now_usec = now_usec(),
				       .limit = &lim };

		if (registry_answer(r->f->reg, &q, count_status, NULL) == REG_RESULT_FOUND)
			__atomic_add_fetch(&r->found, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&r->other, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_concurrent_updates(void **state)
{
	struct race r = { .f = *state };
	pthread_t th[2];
	struct in_addr other;

	inet_pton(AF_INET, "169.254.174.1", &other);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
	for (int i = 0; i < 2000; i++) {
		reg_task_publish(r.f->a, marked_view(100 + (unsigned int)(i % 8) * 100));
		if (i % 10 == 0) {
			registry_set_address(r.f->reg, r.f->a, &other);
			registry_set_address(r.f->reg, r.f->a, &r.f->addr_a);
		}
		if (i % 100 == 0) {
			registry_remove(r.f->reg, r.f->a);
			assert_int_equal(registry_add(r.f->reg, r.f->a), 0);
			registry_set_address(r.f->reg, r.f->a, &r.f->addr_a);
		}
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true(r.found > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_ratelimit_parse),
		cmocka_unit_test_setup_teardown(test_own_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_task_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_listener_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_per_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_updates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
