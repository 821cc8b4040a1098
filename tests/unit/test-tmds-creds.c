// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/creds.h: the credentials file format, role names, and the file provider
 * (a temporary directory watched through the event loop: a file appears, changes, breaks, goes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "creds.h"
#include "event.h"
#include "util.h"

#define ROLE_ARN "arn:aws:iam::111122223333:role/service/web-task"

static void test_parse(void **state)
{
	static const char ok[] = "{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s\","
				 "\"Token\":\"t\",\"Expiration\":\"2030-01-02T03:04:05.5Z\","
				 "\"Code\":\"Success\",\"LastUpdated\":\"2029-01-01T00:00:00Z\"}";
	static const char offset[] =
		"{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s\","
		"\"Token\":\"t\",\"Expiration\":\"2030-01-02T05:04:05+02:00\"}";
	static const char early[] = "{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s\","
				    "\"Token\":\"t\",\"Expiration\":\"0911-11-28T12:00:00+01:00\"}";
	struct creds c;
	char *err = NULL;

	assert_int_equal(creds_parse(ok, strlen(ok), &c, &err), 0);
	assert_string_equal(c.access_key_id, "AKIA1");
	assert_string_equal(c.secret_access_key, "s");
	assert_string_equal(c.token, "t");
	/* a UTC time is served as written */
	assert_string_equal(c.expiration, "2030-01-02T03:04:05.5Z");
	assert_true(c.expiration_sec == 1893553445);
	creds_done(&c);
	/* an offset is written out in UTC: the JS SDK's fromHttp parses only "Z" */
	assert_int_equal(creds_parse(offset, strlen(offset), &c, &err), 0);
	assert_string_equal(c.expiration, "2030-01-02T03:04:05Z");
	creds_done(&c);
	/* with a four-digit year, also before 1000 (found by tests/fuzz/fuzz-tmds) */
	assert_int_equal(creds_parse(early, strlen(early), &c, &err), 0);
	assert_string_equal(c.expiration, "0911-11-28T11:00:00Z");
	creds_done(&c);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Token\":\"t\"}",
		"{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Token\":1,\"Expiration\":"
		"\"2030-01-01T00:00:00Z\"}",
		"{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
		"\"2030-01-01T00:00:00Z\"}",
		"{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
		"\"tomorrow\"}",
		"{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
		"\"2030-01-01 00:00:00\"}",
		/* no four-digit year in UTC */
		"{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
		"\"9999-12-31T23:30:00-01:00\"}",
		"{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
		"\"0000-01-01T00:30:00+01:00\"}",
		"{\"AccessKeyId\":\"a\",\"AccessKeyId\":\"b\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
		"\"Expiration\":\"2030-01-01T00:00:00Z\"}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct creds c = {};
		char *err = NULL;

		if (creds_parse(bad[i], strlen(bad[i]), &c, &err) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(err);
		assert_null(c.access_key_id);
		free(err);
	}
}

static void test_role_name(void **state)
{
	char buf[CREDS_ROLE_NAME_MAX + 1];
	static const char *const bad[] = {
		"arn:aws:iam::111122223333:user/x",
		"arn:aws:iam::111122223333:role/",
		"arn:aws:iam::111122223333:role/a/",
		"arn:aws:iam::111122223333:role/.hidden",
		"arn:aws:iam::111122223333:role/a b",
		"arn:aws:iam::111122223333:role/a*b",
		"arn:aws:iam::111122223333:role/"
		"a123456789012345678901234567890123456789012345678901234567890123x",
		"role",
	};

	assert_int_equal(creds_role_name("arn:aws:iam::111122223333:role/web", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "web");
	assert_int_equal(creds_role_name(ROLE_ARN, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "web-task");
	assert_int_equal(
		creds_role_name("arn:aws-cn:iam::111122223333:role/a+=,.@_-b", buf, sizeof(buf)),
		0);
	assert_string_equal(buf, "a+=,.@_-b");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (creds_role_name(bad[i], buf, sizeof(buf)) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(creds_role_name(NULL, buf, sizeof(buf)), -EINVAL);
}

/* --- the file provider ---------------------------------------------------------------------
 * One run of the event loop plays a script: each step changes the directory, and the provider's
 * change callback checks what it serves then and takes the next step (the loop cannot be run
 * again once it exited).
 */

struct fixture {
	char dir[64];
	struct event_loop *loop;
	struct creds_provider *p;
	unsigned int step;
	bool failed;
	char why[256];
};

static void write_creds(struct fixture *f, const char *name, const char *content)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	/* the operator's tools replace the file: written aside, then renamed */
	if (write_file_atomic(path, content, strlen(content), 0600) < 0)
		abort();
}

static void step_fail(struct fixture *f, const char *fmt, ...) _printf_(2, 3);

static void step_fail(struct fixture *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	f->failed = true;
	event_loop_exit(f->loop, 1);
}

/* The token served for the role now, or the error as "-N". */
static const char *served(struct fixture *f, char *buf, size_t size)
{
	struct creds c = {};
	int r = f->p->ops->get(f->p, ROLE_ARN, &c);

	if (r < 0)
		snprintf(buf, size, "%d", r);
	else
		snprintf(buf, size, "%s/%s", c.access_key_id, c.token);
	creds_done(&c);
	return buf;
}

static void on_changed(const char *role, void *data)
{
	struct fixture *f = data;
	char buf[128];

	switch (f->step++) {
	case 0: /* the operator wrote the file: served */
		if (!streq(role, "web-task") || !streq(served(f, buf, sizeof(buf)), "AKIA1/t1"))
			return step_fail(f, "step 0: %s, %s", role, buf);
		write_creds(
			f, "web-task.json",
			"{\"AccessKeyId\":\"AKIA2\",\"SecretAccessKey\":\"s2\",\"Token\":\"t2\","
			"\"Expiration\":\"2030-01-01T01:00:00Z\"}");
		break;
	case 1: /* rotated */
		if (!streq(served(f, buf, sizeof(buf)), "AKIA2/t2"))
			return step_fail(f, "step 1: %s", buf);
		write_creds(f, "web-task.json", "{\"AccessKeyId\":\"AKIA3\"}");
		break;
	case 2: /* broken: not served, rather than half-served */
		if (!streq(served(f, buf, sizeof(buf)), "-22"))
			return step_fail(f, "step 2: %s", buf);
		write_creds(f, "notes.txt", "x"); /* no role's: no call */
		write_creds(f, "other.json", "{}");
		break;
	case 3: /* another role's file, reported under its own name */
		if (!streq(role, "other"))
			return step_fail(f, "step 3: %s", role);
		{
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/web-task.json", f->dir);
			unlink(path);
		}
		break;
	case 4: /* removed */
		if (!streq(role, "web-task") || !streq(served(f, buf, sizeof(buf)), "-2"))
			return step_fail(f, "step 4: %s, %s", role, buf);
		event_loop_exit(f->loop, 0);
		break;
	default:
		step_fail(f, "unexpected change of '%s'", role);
	}
}

static void on_timeout(struct event_loop *loop, void *data)
{
	step_fail(data, "timed out");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/tp-test-creds.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(event_loop_new(&f->loop), 0);
	assert_int_equal(creds_file_provider_new(f->loop, f->dir, on_changed, f, &f->p), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	creds_provider_free(f->p);
	event_loop_free(f->loop);
	rm_rf(f->dir);
	free(f);
	return 0;
}

static void test_file_provider(void **state)
{
	struct fixture *f = *state;
	struct creds c = {};
	char *desc = NULL;

	/* no file yet: no credentials (the endpoint answers 503) */
	assert_int_equal(f->p->ops->get(f->p, ROLE_ARN, &c), -ENOENT);
	assert_int_equal(f->p->ops->describe(f->p, ROLE_ARN, &desc), 0);
	assert_non_null(strstr(desc, "none"));
	free(desc);
	/* a role ARN without a usable name */
	assert_int_equal(f->p->ops->get(f->p, "arn:aws:iam::1:role/a*b", &c), -EINVAL);

	write_creds(f, "web-task.json",
		    "{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s1\",\"Token\":\"t1\","
		    "\"Expiration\":\"2030-01-01T00:00:00Z\"}");
	assert_true(event_add_timer(f->loop, 5000000, on_timeout, f, NULL) > 0);
	event_loop_run(f->loop);
	if (f->failed)
		fail_msg("%s", f->why);
	assert_int_equal(f->step, 5);
}

static void test_describe(void **state)
{
	struct fixture *f = *state;
	char *desc = NULL;

	write_creds(f, "web-task.json",
		    "{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s1\",\"Token\":\"t1\","
		    "\"Expiration\":\"2030-01-01T00:00:00Z\"}");
	assert_int_equal(f->p->ops->describe(f->p, ROLE_ARN, &desc), 0);
	assert_non_null(strstr(desc, "web-task.json, expires 2030-01-01T00:00:00Z"));
	free(desc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_role_name),
		cmocka_unit_test_setup_teardown(test_file_provider, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
