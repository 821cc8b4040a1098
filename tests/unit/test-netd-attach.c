// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for netd's engine (netd/attach.h) on a plan of fake steps and an attachment of no
 * task: a failure at each step undoes exactly the steps begun, in reverse; a journal left at
 * each point of an attach is recovered (finished or undone); a detach hands what steps defer to
 * the reaper, which does it later; a check collects what the steps find. The steps record what
 * they are asked; the journal is a callback that records steps_begun.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attach.h"
#include "event.h"
#include "journal.h"
#include "json-util.h"
#include "netd.h"
#include "reaper.h"
#include "slots.h"
#include "util.h"

#define NSTEPS 5

/* What happened, in order: "prepare:s0", "run:s0", "undo:s0", "release:s0", "save:1"... */
static char events[256][32];
static unsigned int nevents;

/* What the fake steps and the journal do. */
static struct {
	int fail_run;	  /* run of this step fails (-1: none) */
	int fail_undo;	  /* undo of this step fails (-1: none) */
	int fail_save;	  /* the journal write before this step fails (-1: none) */
	int fail_prepare; /* prepare of this step fails (-1: none) */
	int defer;	  /* 1: the steps with a defer hand over; -EAGAIN: undo now */
	int diff_at;	  /* check of this step finds a difference (-1: none) */
	int stop_at;	  /* check of this step stops the check (-1: none) */
	unsigned int reaped;
	char reaped_params[64];
} fake;

static void record(const char *fmt, ...)
{
	va_list ap;

	assert_true(nevents < ARRAY_SIZE(events));
	va_start(ap, fmt);
	vsnprintf(events[nevents++], sizeof(events[0]), fmt, ap);
	va_end(ap);
}

/* The events as one line: "run:s0 run:s1 undo:s1 ...". */
static const char *events_line(void)
{
	static char line[4096];
	size_t n = 0;

	line[0] = '\0';
	for (unsigned int i = 0; i < nevents; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "", events[i]);
	return line;
}

/* Only the events of one kind ("undo:"), as one line. */
static const char *events_of(const char *kind)
{
	static char line[4096];
	size_t n = 0;

	line[0] = '\0';
	for (unsigned int i = 0; i < nevents; i++)
		if (startswith(events[i], kind))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "",
					      events[i]);
	return line;
}

static void events_reset(void)
{
	nevents = 0;
}

/* The step's index: its name is "sN". */
static int index_of(const struct attach_ctx *c, const char *name)
{
	return name[1] - '0';
}

#define FAKE_STEP(N)                                                                               \
	static int prepare_##N(struct attach_ctx *c)                                               \
	{                                                                                          \
		record("prepare:s" #N);                                                            \
		if (fake.fail_prepare == N) {                                                      \
			c->reason = "early";                                                       \
			snprintf(c->errmsg, sizeof(c->errmsg), "prepare of s" #N " failed");       \
			return -EIO;                                                               \
		}                                                                                  \
		c->priv = strdup("s" #N);                                                          \
		return 0;                                                                          \
	}                                                                                          \
	static int run_##N(struct attach_ctx *c)                                                   \
	{                                                                                          \
		/* the step's own pointer, from its prepare */                                     \
		assert_string_equal(c->priv, "s" #N);                                              \
		record("run:s" #N);                                                                \
		if (fake.fail_run == N) {                                                          \
			snprintf(c->errmsg, sizeof(c->errmsg), "s" #N " broke");                   \
			return -EIO;                                                               \
		}                                                                                  \
		return 0;                                                                          \
	}                                                                                          \
	static int undo_##N(struct attach_ctx *c)                                                  \
	{                                                                                          \
		record("undo:s%d%s", index_of(c, "s" #N), c->detach ? "(detach)" : "");            \
		if (fake.fail_undo == N) {                                                         \
			snprintf(c->errmsg, sizeof(c->errmsg), "s" #N " stuck");                   \
			return -EBUSY;                                                             \
		}                                                                                  \
		return 0;                                                                          \
	}                                                                                          \
	static int check_##N(struct attach_ctx *c, json_t *diffs)                                  \
	{                                                                                          \
		record("check:s" #N);                                                              \
		if (fake.diff_at == N)                                                             \
			json_diff_append(diffs, "s" #N, "made", "missing");                        \
		return fake.stop_at == N ? 1 : 0;                                                  \
	}                                                                                          \
	static void release_##N(struct attach_ctx *c)                                              \
	{                                                                                          \
		if (c->priv)                                                                       \
			record("release:s" #N);                                                    \
		free(c->priv);                                                                     \
		c->priv = NULL;                                                                    \
	}

FAKE_STEP(0)
FAKE_STEP(1)
FAKE_STEP(2)
FAKE_STEP(3)
FAKE_STEP(4)

/* A class's params are members of the reaper's journal record: each class has its own. */
static int defer_any(struct attach_ctx *c, const char *name, const char *key)
{
	record("defer:%s", name);
	if (fake.defer < 0)
		return fake.defer;
	c->reap_params = json_pack("{s:s}", key, name);
	return 1;
}

static int defer_1(struct attach_ctx *c)
{
	return defer_any(c, "s1", "what1");
}

static int defer_3(struct attach_ctx *c)
{
	return defer_any(c, "s3", "what3");
}

static json_t *params_from_1(json_t *record)
{
	return json_pack("{s:s}", "what1", json_str(record, "what1") ?: "?");
}

static json_t *params_from_3(json_t *record)
{
	return json_pack("{s:s}", "what3", json_str(record, "what3") ?: "?");
}

/* The value of an item's one param. */
static const char *param(const struct reap_item *it)
{
	return json_str(it->params, "what1") ?: json_str(it->params, "what3");
}

static void reap(struct netd *d, struct reap_item *const *items, unsigned int n, bool all)
{
	for (unsigned int i = 0; i < n; i++) {
		fake.reaped++;
		snprintf(fake.reaped_params, sizeof(fake.reaped_params), "%s slot %u",
			 param(items[i]), items[i]->slot);
		record("reap:%s", param(items[i]));
	}
}

static const struct reap_class reap_1 = {
	.name = "r1", .batch = true, .reap = reap, .params_from = params_from_1
};
static const struct reap_class reap_3 = { .name = "r3",
					  .reap = reap,
					  .params_from = params_from_3 };

#define STEP(N, ...)                                                                               \
	{                                                                                          \
		.name = "s" #N, .prepare = prepare_##N, .run = run_##N, .undo = undo_##N,          \
		.check = check_##N, .release = release_##N, __VA_ARGS__                            \
	}

static const struct attach_step steps[NSTEPS] = {
	STEP(0), STEP(1, .defer = defer_1, .reap = &reap_1),
	STEP(2), STEP(3, .defer = defer_3, .reap = &reap_3),
	STEP(4),
};
static const struct attach_step *const plan_steps[NSTEPS] = {
	&steps[0], &steps[1], &steps[2], &steps[3], &steps[4],
};
static const struct attach_plan plan = { .name = "fake", .steps = plan_steps, .nsteps = NSTEPS };
static const struct attach_plan *const plans[] = { &plan, NULL };

static int fake_save(struct eni_attachment *a)
{
	if (fake.fail_save == (int)a->steps_begun - 1)
		return -ENOSPC;
	record("save:%u", a->steps_begun);
	return 0;
}

static const struct attach_owner_ops owner_ops = { .save = fake_save };

struct fixture {
	struct netd d;
	struct eni_attachment a;
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char run[96], persist[96];
	int fd;

	assert_non_null(f);
	strscpy(f->dir, "/tmp/test-netd-attach.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	snprintf(run, sizeof(run), "%s/run", f->dir);
	snprintf(persist, sizeof(persist), "%s/state", f->dir);
	assert_int_equal(event_loop_new(&f->d.loop), 0);
	assert_int_equal(journal_new(run, persist, &f->d.journal), 0);
	assert_int_equal(slots_new(NETD_MAX_TASKS, &f->d.slots), 0);
	assert_int_equal(reaper_init(&f->d, plans), 0);

	/* No task: an attachment with an owner of its own, in the test's namespace. */
	f->a = (struct eni_attachment){ .ops = &owner_ops,
					.kind = "Test",
					.id = "a1",
					.slot = 7,
					.plan = &plan,
					.netns_path = strdup("/proc/self/ns/net") };
	assert_non_null(f->a.netns_path);
	if (netns_open(f->a.netns_path, &fd) < 0) {
		/* Entering a namespace (even one's own) takes CAP_SYS_ADMIN. */
		*state = f;
		return 0;
	}
	assert_int_equal(netns_get_id(fd, &f->a.netns_id), 0);
	close(fd);
	assert_int_equal(slots_take(f->d.slots, 7, SLOT_OWNER_ATTACH), 7);
	fake = (typeof(fake)){ .fail_run = -1,
			       .fail_undo = -1,
			       .fail_save = -1,
			       .fail_prepare = -1,
			       .defer = 1,
			       .diff_at = -1,
			       .stop_at = -1 };
	events_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	reaper_exit(&f->d);
	f->d.slots = slots_free(f->d.slots);
	f->d.journal = journal_free(f->d.journal);
	f->d.loop = event_loop_free(f->d.loop);
	attachment_done(&f->a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void need_netns(struct fixture *f)
{
	if (f->a.netns_id.ino == 0)
		skip();
}

static void test_run_all(void **state)
{
	struct fixture *f = *state;
	struct attach_failure fail;

	need_netns(f);
	assert_int_equal(attach_run(&f->d, &f->a, &fail), 0);
	/* Prepared in order before the first journal write; journalled before each step; the
	 * prepares' leftovers released at the end. */
	assert_string_equal(events_line(),
			    "prepare:s0 prepare:s1 prepare:s2 prepare:s3 prepare:s4 "
			    "save:1 run:s0 save:2 run:s1 save:3 run:s2 save:4 run:s3 save:5 run:s4 "
			    "release:s0 release:s1 release:s2 release:s3 release:s4");
	assert_int_equal(f->a.state, ATTACH_STATE_ATTACHED);
	assert_int_equal(f->a.steps_begun, NSTEPS);
}

/* A failure at each step undoes exactly the steps begun (the failing one too), in reverse. */
static void test_fail_each_step(void **state)
{
	struct fixture *f = *state;

	need_netns(f);
	for (int k = 0; k < NSTEPS; k++) {
		struct attach_failure fail;
		char want[128], name[16];
		size_t n = 0;

		f->a.state = ATTACH_STATE_ATTACHING;
		f->a.steps_begun = 0;
		fake.fail_run = k;
		events_reset();
		assert_int_equal(attach_run(&f->d, &f->a, &fail), -EIO);
		for (int i = k; i >= 0; i--)
			n += (size_t)snprintf(want + n, sizeof(want) - n, "%sundo:s%d",
					      i == k ? "" : " ", i);
		assert_string_equal(events_of("undo:"), want);
		snprintf(name, sizeof(name), "s%d", k);
		assert_string_equal(fail.reason, name);
		snprintf(want, sizeof(want), "Step 's%d' failed: s%d broke", k, k);
		assert_string_equal(fail.message, want);
		assert_true(fail.rolled_back);
		assert_int_equal(f->a.steps_begun, 0);
		assert_int_equal(f->a.state, ATTACH_STATE_ATTACHING);
		/* What was prepared is released, run or not. */
		assert_string_equal(events_of("release:"),
				    "release:s0 release:s1 release:s2 release:s3 release:s4");
	}
}

/* The journal write before a step fails: that step did not begin, and is not undone. */
static void test_fail_journal(void **state)
{
	struct fixture *f = *state;
	struct attach_failure fail;

	need_netns(f);
	fake.fail_save = 2;
	assert_int_equal(attach_run(&f->d, &f->a, &fail), -ENOSPC);
	assert_string_equal(events_of("undo:"), "undo:s1 undo:s0");
	assert_string_equal(events_of("run:"), "run:s0 run:s1");
	assert_string_equal(fail.reason, "journal");
	assert_true(startswith(fail.message, "Step 's2' failed: Failed to write the journal"));
}

/* A prepare that fails: nothing begins, nothing is undone, the failure has the name it gave. */
static void test_fail_prepare(void **state)
{
	struct fixture *f = *state;
	struct attach_failure fail;

	need_netns(f);
	fake.fail_prepare = 2;
	assert_int_equal(attach_run(&f->d, &f->a, &fail), -EIO);
	assert_string_equal(events_line(),
			    "prepare:s0 prepare:s1 prepare:s2 release:s0 release:s1");
	assert_string_equal(fail.reason, "early");
	assert_string_equal(fail.message, "prepare of s2 failed");
	assert_int_equal(f->a.steps_begun, 0);
}

/* An undo that fails in a rollback: every other step is still undone, and the attachment stays
 * detaching for a retry. */
static void test_fail_rollback(void **state)
{
	struct fixture *f = *state;
	struct attach_failure fail;

	need_netns(f);
	fake.fail_run = 3;
	fake.fail_undo = 2;
	assert_int_equal(attach_run(&f->d, &f->a, &fail), -EIO);
	assert_string_equal(events_of("undo:"), "undo:s3 undo:s2 undo:s1 undo:s0");
	assert_false(fail.rolled_back);
	assert_string_equal(fail.undo_message, "undoing step 's2' failed: Device or resource busy: "
					       "s2 stuck");
	assert_int_equal(f->a.state, ATTACH_STATE_DETACHING);
	assert_int_equal(f->a.steps_begun, 4);
}

/* An injected fault after a step: that step is undone with the others. */
static void test_fault(void **state)
{
	struct fixture *f = *state;
	struct attach_failure fail;

	need_netns(f);
	strscpy(f->a.fault, "s1", sizeof(f->a.fault));
	assert_int_equal(attach_plan_find(&plan, "s1"), 1);
	assert_int_equal(attach_plan_find(&plan, "nope"), -ENOENT);
	assert_int_equal(attach_run(&f->d, &f->a, &fail), -EIO);
	assert_string_equal(fail.message, "Step 's1' failed: Injected fault after step 's1'");
	assert_string_equal(events_of("undo:"), "undo:s1 undo:s0");
}

/* A journal left at each point of an attach (a crash), recovered at start. */
static void test_recover(void **state)
{
	struct fixture *f = *state;
	char err[300];

	need_netns(f);
	for (unsigned int k = 0; k <= NSTEPS; k++) {
		char want[128] = "";
		size_t n = 0;
		int r;

		f->a.state = ATTACH_STATE_ATTACHING;
		f->a.steps_begun = k;
		events_reset();
		r = attach_recover(&f->d, &f->a, err, sizeof(err));
		if (k == NSTEPS) {
			/* Every step began and the check finds nothing: finished. */
			assert_int_equal(r, 1);
			assert_int_equal(f->a.state, ATTACH_STATE_ATTACHED);
			assert_string_equal(events_of("undo:"), "");
			assert_int_equal(f->a.steps_begun, NSTEPS);
			continue;
		}
		/* Else undone: the steps begun, in reverse, no more. */
		assert_int_equal(r, 0);
		for (unsigned int i = k; i-- > 0;)
			n += (size_t)snprintf(want + n, sizeof(want) - n, "%sundo:s%u",
					      n ? " " : "", i);
		assert_string_equal(events_of("undo:"), want);
		assert_string_equal(events_of("check:"), "");
		assert_int_equal(f->a.steps_begun, 0);
	}
}

/* Every step began, but the kernel does not have what one made: undone, all of it. */
static void test_recover_diff(void **state)
{
	struct fixture *f = *state;
	char err[300];

	need_netns(f);
	f->a.steps_begun = NSTEPS;
	fake.diff_at = 3;
	assert_int_equal(attach_recover(&f->d, &f->a, err, sizeof(err)), 0);
	assert_string_equal(events_of("undo:"), "undo:s4 undo:s3 undo:s2 undo:s1 undo:s0");
	assert_int_equal(f->a.steps_begun, 0);
}

/* A recovery whose undo fails: the attachment stays detaching, err says which step. */
static void test_recover_fail(void **state)
{
	struct fixture *f = *state;
	char err[300];

	need_netns(f);
	f->a.steps_begun = 3;
	fake.fail_undo = 1;
	assert_int_equal(attach_recover(&f->d, &f->a, err, sizeof(err)), -EBUSY);
	assert_int_equal(f->a.state, ATTACH_STATE_DETACHING);
	assert_string_equal(err, "undoing step 's1' failed: Device or resource busy: s1 stuck");
	assert_string_equal(events_of("undo:"), "undo:s2 undo:s1 undo:s0");
}

/* A detach: the steps that defer hand their part to the reaper, the others are undone now;
 * the reaper does the parts later (here: at its exit, which finishes what is pending). */
static void test_defer(void **state)
{
	struct fixture *f = *state;
	char err[300];

	need_netns(f);
	f->a.steps_begun = NSTEPS;
	f->a.state = ATTACH_STATE_DETACHING;
	assert_int_equal(attach_undo(&f->d, &f->a, true, err, sizeof(err)), 0);
	assert_string_equal(events_line(),
			    "undo:s4(detach) defer:s3 undo:s2(detach) defer:s1 undo:s0(detach)");
	assert_int_equal(f->a.steps_begun, 0);
	assert_int_equal(reaper_pending(&f->d), 1);
	/* The reaper keeps the slot until it is done. */
	assert_int_equal(slots_owners(f->d.slots, 7), SLOT_OWNER_ATTACH | SLOT_OWNER_REAP);
	assert_int_equal(fake.reaped, 0);
	events_reset();
	reaper_exit(&f->d);
	/* In the order of undo: s3's, then s1's. */
	assert_string_equal(events_line(), "reap:s3 reap:s1");
	assert_int_equal(fake.reaped, 2);
	assert_string_equal(fake.reaped_params, "s1 slot 7");
	assert_int_equal(slots_owners(f->d.slots, 7), SLOT_OWNER_ATTACH);
	assert_int_equal(reaper_init(&f->d, plans), 0);
}

/* A defer that declines: the step is undone now. Without defer nothing is handed over. */
static void test_defer_declined(void **state)
{
	struct fixture *f = *state;
	char err[300];

	need_netns(f);
	f->a.steps_begun = NSTEPS;
	fake.defer = -EAGAIN;
	assert_int_equal(attach_undo(&f->d, &f->a, true, err, sizeof(err)), 0);
	assert_string_equal(events_line(),
			    "undo:s4 defer:s3 undo:s3 undo:s2 defer:s1 undo:s1 undo:s0");
	assert_int_equal(reaper_pending(&f->d), 0);
	events_reset();
	f->a.steps_begun = 2;
	assert_int_equal(attach_undo(&f->d, &f->a, false, err, sizeof(err)), 0);
	assert_string_equal(events_line(), "undo:s1 undo:s0");
}

/* A job the reaper journalled is found again by the reaper of a netd started after a crash
 * (one with its own memory, over the same journal), and done. */
static void test_defer_restart(void **state)
{
	struct fixture *f = *state;
	struct netd d2 = { .loop = f->d.loop };
	char err[300], run[96], persist[96];

	need_netns(f);
	f->a.steps_begun = NSTEPS;
	assert_int_equal(attach_undo(&f->d, &f->a, true, err, sizeof(err)), 0);
	assert_int_equal(reaper_pending(&f->d), 1);
	snprintf(run, sizeof(run), "%s/run", f->dir);
	snprintf(persist, sizeof(persist), "%s/state", f->dir);
	assert_int_equal(journal_new(run, persist, &d2.journal), 0);
	assert_int_equal(slots_new(NETD_MAX_TASKS, &d2.slots), 0);
	events_reset();
	assert_int_equal(reaper_init(&d2, plans), 0);
	assert_string_equal(events_line(), "reap:s3 reap:s1");
	assert_string_equal(fake.reaped_params, "s1 slot 7");
	assert_int_equal(reaper_pending(&d2), 0);
	/* The slot was the reaper's until it was done. */
	assert_int_equal(slots_owners(d2.slots, 7), 0);
	reaper_exit(&d2);
	d2.slots = slots_free(d2.slots);
	d2.journal = journal_free(d2.journal);
}

/* A check collects what every step finds, in order; a step may stop it. */
static void test_check(void **state)
{
	struct fixture *f = *state;
	json_auto_t *diffs = json_array(), *more = json_array();

	need_netns(f);
	f->a.steps_begun = NSTEPS;
	fake.diff_at = 2;
	assert_int_equal(attach_check(&f->d, &f->a, diffs), 0);
	assert_string_equal(events_line(), "check:s0 check:s1 check:s2 check:s3 check:s4");
	assert_int_equal(json_array_size(diffs), 1);
	assert_string_equal(json_str(json_array_get(diffs, 0), "what"), "s2");
	events_reset();
	fake.stop_at = 1;
	assert_int_equal(attach_check(&f->d, &f->a, more), 0);
	assert_string_equal(events_line(), "check:s0 check:s1");
	assert_int_equal(json_array_size(more), 0);
}

/* A namespace that is gone is a difference of its own; an undo goes on without it. */
static void test_netns_gone(void **state)
{
	struct fixture *f = *state;
	json_auto_t *diffs = json_array();
	struct attach_failure fail;
	char err[300];

	need_netns(f);
	f->a.netns_id.ino++; /* the path names another namespace now */
	assert_int_equal(attach_check(&f->d, &f->a, diffs), 0);
	assert_string_equal(json_str(json_array_get(diffs, 0), "what"), "netns");
	assert_string_equal(json_str(json_array_get(diffs, 0), "actual"), "missing");
	assert_int_equal(attach_run(&f->d, &f->a, &fail), -ENOENT);
	assert_string_equal(fail.reason, "netns");
	f->a.steps_begun = 2;
	events_reset();
	assert_int_equal(attach_undo(&f->d, &f->a, false, err, sizeof(err)), 0);
	assert_string_equal(events_line(), "undo:s1 undo:s0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_declined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netns_gone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
