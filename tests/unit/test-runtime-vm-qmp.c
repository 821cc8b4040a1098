// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/vm-qmp.h: the greeting and the capabilities negotiation, commands held
 * until it is done and then sent in order, replies matched by id, errors, events, lines in
 * pieces, and what a server that is not qemu's QMP gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util.h"
#include "vm-qmp.h"

#define GREETING                                                                                   \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "         \
	"\"package\": \"Debian\"}, \"capabilities\": [\"oob\"]}}\r\n"

struct seen {
	int replies;
	char last[256];
	int events;
	char event[64];
	char reason[64];
};

static void on_reply(struct qmp *q, json_t *ret, const char *error_class, const char *error_desc,
		     void *data)
{
	struct seen *s = data;
	char *dump = ret ? json_dumps(ret, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	s->replies++;
	if (ret)
		snprintf(s->last, sizeof(s->last), "ok %s", dump);
	else
		snprintf(s->last, sizeof(s->last), "error %s: %s", error_class, error_desc);
	free(dump);
}

static void on_event(struct qmp *q, const char *event, json_t *data, void *userdata)
{
	struct seen *s = userdata;

	s->events++;
	snprintf(s->event, sizeof(s->event), "%s", event);
	snprintf(s->reason, sizeof(s->reason), "%s",
		 strna(json_string_value(json_object_get(data, "reason"))));
}

/* What the client wants written, as a string; consumed. */
static char *take_output(struct qmp *q)
{
	size_t len;
	const char *out = qmp_output(q, &len);
	char *s = malloc(len + 1);

	assert_non_null(s);
	if (len)
		memcpy(s, out, len);
	s[len] = '\0';

	qmp_output_consumed(q, len);
	return s;
}

static void feed(struct qmp *q, const char *s)
{
	assert_int_equal(qmp_feed(q, s, strlen(s)), 0);
}

static void test_session(void **state)
{
	struct seen s = {};
	struct qmp *q;
	char *out;
	int id1, id2;

	assert_int_equal(qmp_new(on_event, &s, &q), 0);
	/* Before the greeting: held. */
	id1 = qmp_command(q, "query-status", NULL, on_reply, &s);
	assert_true(id1 > 0);
	out = take_output(q);
	assert_string_equal(out, "");
	free(out);
	assert_false(qmp_ready(q));
	assert_null(qmp_version(q));

	/* The greeting, in two pieces: the negotiation goes out first, alone. */
	assert_int_equal(qmp_feed(q, GREETING, 20), 0);
	assert_int_equal(qmp_feed(q, GREETING + 20, strlen(GREETING) - 20), 0);
	assert_string_equal(qmp_version(q), "7.2.22");
	out = take_output(q);
	assert_string_equal(out, "{\"execute\":\"qmp_capabilities\",\"id\":0}\n");
	free(out);
	id2 = qmp_command(q, "system_powerdown", NULL, on_reply, &s);
	assert_int_equal(id2, id1 + 1);
	out = take_output(q);
	assert_string_equal(out, "");
	free(out);

	/* Negotiated: the held commands go, in order. */
	feed(q, "{\"return\": {}, \"id\": 0}\r\n");
	assert_true(qmp_ready(q));
	out = take_output(q);
	assert_string_equal(out, "{\"execute\":\"query-status\",\"id\":1}\n"
				 "{\"execute\":\"system_powerdown\",\"id\":2}\n");
	free(out);

	/* Replies by id, in any order; an event in between. */
	feed(q,
	     "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"POWERDOWN\"}\r\n"
	     "{\"return\": {}, \"id\": 2}\r\n");
	assert_int_equal(s.events, 1);
	assert_string_equal(s.event, "POWERDOWN");
	assert_int_equal(s.replies, 1);
	assert_string_equal(s.last, "ok {}");
	feed(q, "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 1}\n");
	assert_int_equal(s.replies, 2);
	assert_string_equal(s.last, "ok {\"status\":\"running\",\"running\":true}");

	/* An error reply; arguments are sent. */
	qmp_command(q, "nope", json_pack("{s:i}", "x", 1), on_reply, &s);
	out = take_output(q);
	assert_string_equal(out, "{\"execute\":\"nope\",\"id\":3,\"arguments\":{\"x\":1}}\n");
	free(out);
	feed(q,
	     "{\"id\": 3, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope "
	     "has not been found\"}}\r\n");
	assert_string_equal(s.last, "error CommandNotFound: The command nope has not been found");

	feed(q, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
		"\"guest-shutdown\"}}\n");
	assert_string_equal(s.reason, "guest-shutdown");

	/* Freed with a reply awaited: it hears so. */
	qmp_command(q, "quit", NULL, on_reply, &s);
	qmp_free(q);
	assert_string_equal(s.last, "error Disconnected: the monitor connection is closed");
	assert_int_equal(s.replies, 4);
}

static void test_not_qmp(void **state)
{
	struct seen s = {};
	struct qmp *q;

	assert_int_equal(qmp_new(on_event, &s, &q), 0);
	assert_int_equal(qmp_feed(q, "{\"return\": {}}\n", 15), -EPROTO); /* no greeting */
	qmp_free(q);

	assert_int_equal(qmp_new(on_event, &s, &q), 0);
	feed(q, GREETING);
	assert_int_equal(qmp_feed(q, "not json\n", 9), -EBADMSG);
	assert_int_equal(qmp_feed(q, "[1]\n", 4), -EBADMSG);
	assert_int_equal(qmp_feed(q, "{\"return\": {}, \"id\": 77}\n", 25),
			 -EBADMSG); /* not ours */
	assert_int_equal(qmp_feed(q, "{\"hello\": 1}\n", 13), -EBADMSG);
	qmp_free(q);

	/* A line that never ends is bounded. */
	assert_int_equal(qmp_new(on_event, &s, &q), 0);
	{
		size_t n = 1024 * 1024 + 1;
		char *big = malloc(n);
		int r;

		memset(big, ' ', n);
		r = qmp_feed(q, big, n);
		assert_int_equal(r, -EMSGSIZE);
		free(big);
	}
	qmp_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_not_qmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
