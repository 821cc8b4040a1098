// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/journal.h: a registration's record as JSON and back (every member
 * checked), and the journal in a temporary directory: saved atomically with the right modes, read
 * back, removed; records that cannot be read are dropped and reported, other files left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <sys/stat.h>

#include "journal.h"
#include "util.h"

#define INSTANCE "0123456789abcdef0123456789abcdef"

static void record_init(struct journal_record *r, const char *task_id)
{
	*r = (struct journal_record){
		.registered_ns = 1700000000123456789ULL,
		.params = json_pack("{s:s, s:{s:s}}", "netd_task", task_id, "task_definition",
				    "family", "f"),
		.ids = json_pack("{s:s}", "task_arn", "arn:aws:ecs:eu-west-1:1:task/c/x"),
	};
	strscpy(r->task_id, task_id, sizeof(r->task_id));
	strscpy(r->instance, INSTANCE, sizeof(r->instance));
}

static void test_record_roundtrip(void **state)
{
	struct journal_record r, back = {};
	char *err = NULL;
	json_t *j;

	record_init(&r, "t1");
	j = journal_record_to_json(&r);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), JOURNAL_VERSION);
	assert_int_equal(journal_record_from_json(j, &back, &err), 0);
	assert_null(err);
	assert_string_equal(back.task_id, "t1");
	assert_string_equal(back.instance, INSTANCE);
	assert_int_equal(back.registered_ns, 1700000000123456789ULL);
	assert_true(json_equal(back.params, r.params));
	assert_true(json_equal(back.ids, r.ids));
	/* A later version's extra member (a runtime's launch state) is no error. */
	json_object_set_new(j, "launch", json_object());
	journal_record_done(&back);
	assert_int_equal(journal_record_from_json(j, &back, &err), 0);
	journal_record_done(&back);
	json_decref(j);
	journal_record_done(&r);
}

static void test_record_invalid(void **state)
{
	static const char *const bad[] = {
		"{}",
		/* another version */
		"{\"version\":2,\"task_id\":\"t\",\"netd_instance\":\"" INSTANCE "\","
		"\"registered_ns\":1,\"params\":{},\"ids\":{}}",
		"{\"version\":1,\"task_id\":\"-t\",\"netd_instance\":\"" INSTANCE "\","
		"\"registered_ns\":1,\"params\":{},\"ids\":{}}",
		"{\"version\":1,\"task_id\":\"t\",\"netd_instance\":\"ABC\","
		"\"registered_ns\":1,\"params\":{},\"ids\":{}}",
		"{\"version\":1,\"task_id\":\"t\",\"netd_instance\":\"" INSTANCE "\","
		"\"registered_ns\":0,\"params\":{},\"ids\":{}}",
		"{\"version\":1,\"task_id\":\"t\",\"netd_instance\":\"" INSTANCE "\","
		"\"registered_ns\":1,\"params\":[],\"ids\":{}}",
		"{\"version\":1,\"task_id\":\"t\",\"netd_instance\":\"" INSTANCE "\","
		"\"registered_ns\":1,\"params\":{}}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		struct journal_record r = {};
		char *err = NULL;

		assert_non_null(j);
		if (journal_record_from_json(j, &r, &err) != -EINVAL)
			fail_msg("taken: %s", bad[i]);
		assert_non_null(err);
		assert_null(r.params);
		free(err);
		json_decref(j);
	}
}

static int tmpdir_setup(void **state)
{
	char *dir = strdup("/tmp/tp-test-journal.XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int tmpdir_teardown(void **state)
{
	char *dir = *state;
	int r;

	r = rm_rf(dir);
	free(dir);
	return r == 0 ? 0 : -1;
}

struct loaded {
	char ids[8][IDENT_TASK_ID_MAX + 1];
	unsigned int n, bad;
	char why[512];
};

static void on_record(struct journal_record *r, void *data)
{
	struct loaded *l = data;

	assert_true(l->n < ARRAY_SIZE(l->ids));
	assert_string_equal(r->instance, INSTANCE);
	strscpy(l->ids[l->n++], r->task_id, sizeof(l->ids[0]));
	journal_record_done(r);
}

static void on_bad(const char *path, const char *why, void *data)
{
	struct loaded *l = data;

	l->bad++;
	snprintf(l->why + strlen(l->why), sizeof(l->why) - strlen(l->why), "%s: %s;",
		 strrchr(path, '/') + 1, why);
}

/* dir/tasks/name */
static const char *task_file(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/tasks/%s", dir, name);

	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];

	task_file(path, sizeof(path), dir, name);
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	return access(task_file(path, sizeof(path), dir, name), F_OK) == 0;
}

static void test_journal_files(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX];
	struct journal *j = NULL;
	struct journal_record r;
	struct loaded l = {};
	struct stat st;

	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(journal_open(path, &j), 0);
	snprintf(path, sizeof(path), "%s/state/tasks", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	record_init(&r, "t1");
	assert_int_equal(journal_save(j, &r), 0);
	journal_record_done(&r);
	record_init(&r, "t2");
	assert_int_equal(journal_save(j, &r), 0);
	/* Saved again: replaced. */
	assert_int_equal(journal_save(j, &r), 0);
	journal_record_done(&r);
	snprintf(path, sizeof(path), "%s/state/tasks/t1.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(journal_load(j, on_record, on_bad, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.bad, 0);
	assert_true(streq(l.ids[0], "t1") ? streq(l.ids[1], "t2") : streq(l.ids[0], "t2"));

	assert_int_equal(journal_remove(j, "t1"), 0);
	assert_int_equal(journal_remove(j, "t1"), 0); /* gone already: no error */
	assert_int_equal(journal_remove(j, "../x"), -EINVAL);
	l = (struct loaded){};
	assert_int_equal(journal_load(j, on_record, on_bad, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], "t2");

	/* What cannot be read: records dropped, said why; other files reported, left alone. */
	snprintf(path, sizeof(path), "%s/state", dir);
	put(path, "broken.json", "{\"version\": 1, ");
	put(path, "t3.json", "{\"version\": 1}");
	record_init(&r, "t4");
	{
		json_t *o = journal_record_to_json(&r);
		char *s = json_dumps(o, 0);

		/* t4's record under another task's name */
		put(path, "t5.json", s);
		free(s);
		json_decref(o);
	}
	journal_record_done(&r);
	put(path, "t2.json.tmp.123", "half");
	put(path, "README", "operator's notes");
	l = (struct loaded){};
	assert_int_equal(journal_load(j, on_record, on_bad, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], "t2");
	assert_int_equal(l.bad, 4);
	assert_non_null(strstr(l.why, "broken.json: not JSON"));
	assert_non_null(strstr(l.why, "t5.json: it is the record of task 't4'"));
	assert_non_null(strstr(l.why, "README: not a record"));
	assert_false(exists(path, "broken.json"));
	assert_false(exists(path, "t3.json"));
	assert_false(exists(path, "t5.json"));
	assert_false(exists(path, "t2.json.tmp.123"));
	assert_true(exists(path, "README"));
	assert_true(exists(path, "t2.json"));
	journal_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_invalid),
		cmocka_unit_test_setup_teardown(test_journal_files, tmpdir_setup, tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
