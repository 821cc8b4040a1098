// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for netd's models that need no kernel: the journal (netd/journal.h: every kind
 * round trips, in its format on disk), slots and their owners (netd/slots.h), holds
 * (netd/hold.h: what keeps a slot, and a restart over their journal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "events.h"
#include "hold.h"
#include "journal.h"
#include "json-util.h"
#include "netd.h"
#include "slots.h"
#include "util.h"

struct fixture {
	char dir[64], run[96], state[96];
	struct netd d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strscpy(f->dir, "/tmp/test-netd-models.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->run, sizeof(f->run), "%s/run", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	assert_int_equal(journal_new(f->run, f->state, &f->d.journal), 0);
	assert_int_equal(slots_new(NETD_MAX_TASKS, &f->d.slots), 0);
	assert_int_equal(events_init(&f->d), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	hold_exit(&f->d);
	events_exit(&f->d);
	f->d.slots = slots_free(f->d.slots);
	f->d.journal = journal_free(f->d.journal);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The file of a record, as text. */
static char *file_text(struct fixture *f, enum journal_kind kind, const char *name)
{
	char path[256];
	char *buf = NULL;

	assert_int_equal(journal_path(f->d.journal, kind, name, path, sizeof(path)), 0);
	assert_int_equal(read_file(path, 1 << 20, &buf, NULL), 0);
	return buf;
}

/* --- journal ---------------------------------------------------------------------------------- */

static void test_journal_places(void **state)
{
	struct fixture *f = *state;
	char path[256], want[256];

	assert_int_equal(journal_path(f->d.journal, JOURNAL_TASK, "t1", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/state/tasks/t1.json", f->run);
	assert_string_equal(path, want);
	assert_int_equal(journal_path(f->d.journal, JOURNAL_ENIS, NULL, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/enis.json", f->state);
	assert_string_equal(path, want);
	assert_int_equal(journal_path(f->d.journal, JOURNAL_ENIS_OLD, NULL, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/state/enis.json", f->run);
	assert_string_equal(path, want);
	assert_int_equal(journal_path(f->d.journal, JOURNAL_FINAL, "t1@5", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/state/final/t1@5.json", f->run);
	assert_string_equal(path, want);
	/* A kind of many records needs a name. */
	assert_int_equal(journal_path(f->d.journal, JOURNAL_HOLD, NULL, path, sizeof(path)),
			 -EINVAL);
}

/* Each kind in the format it always had on disk; each reads back. */
static void test_journal_formats(void **state)
{
	static const struct {
		enum journal_kind kind;
		const char *name, *text;
	} want[] = {
		{ JOURNAL_TASK, "t1", "{\n \"a\": 1,\n \"b\": [\n  2\n ]\n}" },
		{ JOURNAL_ENIS, NULL, "{\n \"a\": 1,\n \"b\": [\n  2\n ]\n}" },
		{ JOURNAL_HOLD, "7", "{\"a\":1,\"b\":[2]}" },
		{ JOURNAL_REAP, "7", "{\"b\":[2],\"a\":1}" },
		{ JOURNAL_COUNTERS, "t1", "{\"a\": 1, \"b\": [2]}" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		json_auto_t *v = NULL;
		_cleanup_free_ char *text = NULL;

		assert_int_equal(journal_save(f->d.journal, want[i].kind, want[i].name,
					      json_pack("{s:[i], s:i}", "b", 2, "a", 1)),
				 0);
		text = file_text(f, want[i].kind, want[i].name);
		assert_string_equal(text, want[i].text);
		assert_int_equal(journal_load(f->d.journal, want[i].kind, want[i].name, &v, NULL),
				 0);
		assert_int_equal(json_int(v, "a"), 1);
		assert_int_equal(journal_remove(f->d.journal, want[i].kind, want[i].name), 0);
		/* Removing what is not there is no error; loading it is -ENOENT. */
		assert_int_equal(journal_remove(f->d.journal, want[i].kind, want[i].name), 0);
		assert_int_equal(journal_load(f->d.journal, want[i].kind, want[i].name, &v, NULL),
				 -ENOENT);
	}
	/* NULL to save: the caller's allocation failed. */
	assert_int_equal(journal_save(f->d.journal, JOURNAL_TASK, "t1", NULL), -ENOMEM);
}

static void test_journal_text(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *text = NULL;
	uint64_t mtime = 0;
	size_t len;

	assert_int_equal(journal_save_text(f->d.journal, JOURNAL_FINAL, "t1@5", "{\"x\":1}", 7), 0);
	assert_int_equal(
		journal_load_text(f->d.journal, JOURNAL_FINAL, "t1@5", &text, &len, &mtime), 0);
	assert_string_equal(text, "{\"x\":1}");
	assert_int_equal(len, 7);
	assert_true(mtime > 0 && mtime <= realtime_nsec());
}

static void test_journal_broken(void **state)
{
	struct fixture *f = *state;
	json_auto_t *v = NULL;
	json_error_t jerr;
	char path[256];
	struct stat st;

	/* Duplicate keys are refused where the kind says so, and the error says why. */
	assert_int_equal(
		journal_save_text(f->d.journal, JOURNAL_ENIS, NULL, "{\"a\":1,\"a\":2}", 13), 0);
	assert_int_equal(journal_load(f->d.journal, JOURNAL_ENIS, NULL, &v, &jerr), -EBADMSG);
	assert_non_null(strstr(jerr.text, "duplicate"));
	assert_int_equal(journal_set_aside(f->d.journal, JOURNAL_ENIS, NULL), 0);
	assert_int_equal(journal_path(f->d.journal, JOURNAL_ENIS, NULL, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &st), -1);
	strcat(path, ".broken");
	assert_int_equal(stat(path, &st), 0);
	/* Past its kind's size. */
	{
		_cleanup_free_ char *big = malloc(8192);

		assert_non_null(big);
		memset(big, ' ', 8192);
		assert_int_equal(journal_save_text(f->d.journal, JOURNAL_REAP, "1", big, 8192), 0);
		assert_int_equal(journal_load(f->d.journal, JOURNAL_REAP, "1", &v, NULL), -EFBIG);
	}
}

static int count_record(struct journal *j, const char *name, void *data)
{
	char *seen = data;

	strcat(seen, name);
	strcat(seen, ",");
	return 0;
}

/* Every record of a kind by name; what is no record (a write cut short) is removed. */
static void test_journal_foreach(void **state)
{
	struct fixture *f = *state;
	char seen[256] = "", stray[256];
	struct stat st;
	FILE *fp;

	assert_int_equal(journal_save(f->d.journal, JOURNAL_TASK, "t1", json_object()), 0);
	snprintf(stray, sizeof(stray), "%s/state/tasks/.t2.json.tmp123", f->run);
	fp = fopen(stray, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(stray, sizeof(stray), "%s/state/tasks/t3.json~", f->run);
	fp = fopen(stray, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(journal_foreach(f->d.journal, JOURNAL_TASK, count_record, seen), 0);
	assert_string_equal(seen, "t1,");
	assert_int_equal(stat(stray, &st), -1);
	/* One-record kinds are not walked. */
	assert_int_equal(journal_foreach(f->d.journal, JOURNAL_ENIS, count_record, seen), -EINVAL);
}

/* --- slots ------------------------------------------------------------------------------------ */

static void test_slots(void **state)
{
	struct slots *s = NULL;

	assert_int_equal(slots_new(4, &s), 0);
	assert_int_equal(slots_take(s, -1, SLOT_OWNER_ATTACH), 0);
	assert_int_equal(slots_take(s, -1, SLOT_OWNER_ATTACH), 1);
	assert_int_equal(slots_take(s, 1, SLOT_OWNER_REAP), -EEXIST);
	assert_int_equal(slots_take(s, 4, SLOT_OWNER_ATTACH), -ERANGE);
	assert_int_equal(slots_take(s, 3, SLOT_OWNER_ATTACH), 3);
	assert_int_equal(slots_take(s, -1, SLOT_OWNER_ATTACH), 2);
	assert_int_equal(slots_take(s, -1, SLOT_OWNER_ATTACH), -ENOSPC);

	/* Slot 1: its attachment hands it to the reaper and goes; holders keep it too. */
	assert_int_equal(slots_share(s, 1, SLOT_OWNER_REAP), 0);
	assert_int_equal(slots_share(s, 1, SLOT_OWNER_HOLD), 0);
	slots_drop(s, 1, SLOT_OWNER_ATTACH);
	assert_int_equal(slots_owners(s, 1), SLOT_OWNER_REAP | SLOT_OWNER_HOLD);
	assert_int_equal(slots_take(s, -1, SLOT_OWNER_ATTACH), -ENOSPC);
	slots_drop(s, 1, SLOT_OWNER_REAP);
	assert_int_equal(slots_take(s, -1, SLOT_OWNER_ATTACH), -ENOSPC);
	/* Free once the last owner lets it go, and the lowest free is given. */
	slots_drop(s, 1, SLOT_OWNER_HOLD);
	assert_int_equal(slots_owners(s, 1), 0);
	assert_int_equal(slots_take(s, -1, SLOT_OWNER_ATTACH), 1);
	/* Dropping an owner it has not is nothing; past the last, nothing either. */
	slots_drop(s, 0, SLOT_OWNER_HOLD);
	assert_int_equal(slots_owners(s, 0), SLOT_OWNER_ATTACH);
	slots_drop(s, 9, SLOT_OWNER_ATTACH);
	assert_int_equal(slots_owners(s, 9), 0);
	assert_int_equal(slots_share(s, 9, SLOT_OWNER_HOLD), -ERANGE);
	slots_free(s);
}

/* --- holds ------------------------------------------------------------------------------------ */

#define INST_A "0123456789abcdef0123456789abcdef"
#define INST_B "fedcba9876543210fedcba9876543210"

/* What is live after a restart, for hold_init(). */
static const char *live_instance;

static bool live(struct netd *d, const char *task_id, const char *instance, unsigned int slot)
{
	return live_instance && streq(instance, live_instance);
}

static void test_holds(void **state)
{
	struct fixture *f = *state;
	struct hold *h = NULL;
	json_auto_t *holders = NULL, *list = NULL;

	assert_int_equal(hold_init(&f->d, live), 0);
	assert_int_equal(slots_take(f->d.slots, 5, SLOT_OWNER_ATTACH), 5);
	assert_int_equal(hold_add(&f->d, "t1", INST_A, 5, "agent", &h), 1);
	assert_int_equal(hold_add(&f->d, "t1", INST_A, 5, "agent", &h), 0);
	assert_int_equal(hold_add(&f->d, "t1", INST_A, 5, "other", &h), 1);
	assert_int_equal(hold_count(&f->d), 1);
	holders = hold_holders_json(&f->d, 5, INST_A);
	assert_int_equal(json_array_size(holders), 2);
	assert_null(hold_holders_json(&f->d, 5, INST_B));
	assert_int_equal(slots_owners(f->d.slots, 5), SLOT_OWNER_ATTACH | SLOT_OWNER_HOLD);

	/* The task goes: its slot stays reserved for the holders. */
	hold_task_gone(&f->d, "t1", INST_A, 5);
	slots_drop(f->d.slots, 5, SLOT_OWNER_ATTACH);
	assert_null(hold_find(&f->d, 5, INST_A));
	list = hold_list_json(&f->d, "agent");
	assert_string_equal(json_str(json_array_get(list, 0), "state"), "detached");
	assert_int_equal(slots_take(f->d.slots, 5, SLOT_OWNER_ATTACH), -EEXIST);
	assert_int_equal(hold_release(&f->d, "t1", NULL, "agent"), 1);
	assert_int_equal(slots_owners(f->d.slots, 5), SLOT_OWNER_HOLD);
	assert_int_equal(hold_release(&f->d, "t1", INST_B, "other"), 0);
	/* The last holder goes: the slot is free. */
	assert_int_equal(hold_release(&f->d, "t1", INST_A, "other"), 1);
	assert_int_equal(slots_owners(f->d.slots, 5), 0);
	assert_int_equal(hold_count(&f->d), 0);
}

/* A restart over the holds' journal: a live task's hold is kept, a gone one's keeps its slot
 * unless the slot is taken by then. */
static void test_holds_restart(void **state)
{
	struct fixture *f = *state;
	struct hold *h = NULL;

	assert_int_equal(hold_init(&f->d, live), 0);
	assert_int_equal(hold_add(&f->d, "t1", INST_A, 5, "agent", &h), 1);
	assert_int_equal(hold_add(&f->d, "t2", INST_B, 6, "agent", &h), 1);
	assert_int_equal(hold_add(&f->d, "t3", INST_B, 8, "agent", &h), 1);
	hold_exit(&f->d);
	slots_drop(f->d.slots, 5, SLOT_OWNER_HOLD);
	slots_drop(f->d.slots, 6, SLOT_OWNER_HOLD);
	slots_drop(f->d.slots, 8, SLOT_OWNER_HOLD);

	/* t1 is live again (its attachment has slot 5); t2 and t3 went while netd was down, and
	 * slot 8 was given to another attachment meanwhile. */
	live_instance = INST_A;
	assert_int_equal(slots_take(f->d.slots, 5, SLOT_OWNER_ATTACH), 5);
	assert_int_equal(slots_take(f->d.slots, 8, SLOT_OWNER_ATTACH), 8);
	assert_int_equal(hold_init(&f->d, live), 0);
	live_instance = NULL;
	assert_int_equal(hold_count(&f->d), 2);
	assert_non_null(hold_find(&f->d, 5, INST_A));
	assert_null(hold_find(&f->d, 6, INST_B)); /* detached: found by slot no more */
	assert_int_equal(slots_owners(f->d.slots, 6), SLOT_OWNER_HOLD);
	assert_int_equal(slots_owners(f->d.slots, 8), SLOT_OWNER_ATTACH);
	{
		_cleanup_free_ char *text = file_text(f, JOURNAL_HOLD, "6");

		assert_non_null(strstr(text, "\"detached\":true"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_places, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_foreach, setup, teardown),
		cmocka_unit_test(test_slots),
		cmocka_unit_test_setup_teardown(test_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holds_restart, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
