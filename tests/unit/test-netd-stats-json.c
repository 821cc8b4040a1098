// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of netd/stats-json.c: a task's stats carry its share on platform ENIs apart from its
 * own flows; a platform ENI's stats say what it attributed and what was its own. The text is
 * parsed back with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "stats-json.h"
#include "util.h"

static json_t *write_parse(const struct stats_in *in)
{
	struct jbuf b = {};
	json_error_t e;
	json_t *j;

	stats_json_write(&b, in);
	assert_false(b.oom);
	j = json_loadb(b.buf, b.len, 0, &e);
	if (!j)
		print_message("# %s: %s\n", e.text, b.buf);
	assert_non_null(j);
	jb_done(&b);
	return j;
}

static json_int_t at(json_t *j, const char *path)
{
	char buf[256], *save = NULL;

	strscpy(buf, path, sizeof(buf));
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		j = json_object_get(j, k);
	assert_true(json_is_integer(j));
	return json_integer_value(j);
}

static void fill(struct counters_snapshot *s)
{
	*s = (struct counters_snapshot){};
	s->flows[TC_FLOW_APP][TC_DIR_TX] = (struct counters_pair){ 1000, 10, 10 };
	s->flows[TC_FLOW_PULL][TC_DIR_RX] = (struct counters_pair){ 5000, 5, 5 };
	s->platform[TC_FLOW_PULL][TC_DIR_RX] = (struct counters_pair){ 3000, 3, 3 };
	s->platform[TC_FLOW_LOGS][TC_DIR_TX] = (struct counters_pair){ 700, 7, 7 };
}

static void test_task_platform_share(void **state)
{
	struct counters_snapshot s;
	struct stats_in in = { .id = "t1", .slot = 3, .phase = "READY", .snap = &s };
	json_t *j;

	fill(&s);
	j = write_parse(&in);
	assert_string_equal(json_string_value(json_object_get(j, "task_id")), "t1");
	/* Its own ENI's flows and totals: the platform share is not in them. */
	assert_int_equal(at(j, "totals.rx.bytes"), 5000);
	assert_int_equal(at(j, "flows.pull.rx.bytes"), 5000);
	/* Its share on platform ENIs, apart. */
	assert_int_equal(at(j, "platform.flows.pull.rx.bytes"), 3000);
	assert_int_equal(at(j, "platform.flows.logs.tx.packets"), 7);
	assert_int_equal(at(j, "platform.totals.rx.bytes"), 3000);
	assert_int_equal(at(j, "platform.totals.tx.bytes"), 700);
	assert_int_equal(json_object_size(json_object_get(json_object_get(j, "platform"), "flows")),
			 TC_FLOW_COUNT);
	assert_null(json_object_get(j, "attributed"));
	json_decref(j);
}

static void test_platform_eni_attributed(void **state)
{
	struct counters_snapshot s;
	struct stats_in in = {
		.id = "p1", .slot = 0, .phase = "ATTACHED", .snap = &s, .platform_eni = true
	};
	json_t *j;

	fill(&s);
	/* The platform ENI counted every packet; 3000 of the 5000 pull bytes were a task's. */
	s.platform[TC_FLOW_LOGS][TC_DIR_TX] = (struct counters_pair){};
	j = write_parse(&in);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "p1");
	assert_null(json_object_get(j, "task_id"));
	assert_null(json_object_get(j, "platform"));
	assert_int_equal(at(j, "totals.rx.bytes"), 5000);
	assert_int_equal(at(j, "attributed.totals.rx.bytes"), 3000);
	assert_int_equal(at(j, "unattributed.flows.pull.rx.bytes"), 2000);
	assert_int_equal(at(j, "unattributed.flows.pull.rx.packets"), 2);
	assert_int_equal(at(j, "unattributed.flows.app.tx.bytes"), 1000);
	assert_int_equal(at(j, "unattributed.totals.rx.bytes") +
				 at(j, "attributed.totals.rx.bytes"),
			 at(j, "totals.rx.bytes"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_task_platform_share),
		cmocka_unit_test(test_platform_eni_attributed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
