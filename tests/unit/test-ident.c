// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for lib/ident.h: task id and interface name validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ident.h"
#include "util.h"

/* Check a verdict and name the input in the failure message. */
static void assert_verdict(const char *what, const char *input, bool got, bool want)
{
	char g[300], w[300];

	snprintf(g, sizeof(g), "%s(\"%.200s\") = %s", what, input, got ? "true" : "false");
	snprintf(w, sizeof(w), "%s(\"%.200s\") = %s", what, input, want ? "true" : "false");
	assert_string_equal(g, w);
}

static void check_task_ids(const char *const *ids, size_t n, bool want)
{
	for (size_t i = 0; i < n; i++)
		assert_verdict("ident_task_id_valid", ids[i], ident_task_id_valid(ids[i]), want);
}

static void check_ifnames(const char *const *names, size_t n, bool want)
{
	for (size_t i = 0; i < n; i++)
		assert_verdict("ident_ifname_valid", names[i], ident_ifname_valid(names[i]), want);
}

static void test_task_id_good(void **state)
{
	static const char *const good[] = {
		"a",
		"Z",
		"0",
		"t1",
		"task-1",
		"Task_1.v2",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"a.",
		"a-",
		"a_",
		"a..b",
		"a--b",
		"9.9.9",
	};

	check_task_ids(good, ARRAY_SIZE(good), true);
}

static void test_task_id_bad(void **state)
{
	static const char *const bad[] = {
		"",
		".",
		"..",
		".a",
		"-a",
		"_a",
		" a",
		"a b",
		"a\tb",
		"a\n",
		"a/b",
		"../etc",
		"a:b",
		"a@b",
		"a$b",
		"a*",
		"a+b",
		"a,b",
		"a;b",
		"a=b",
		"a'b",
		"a\"b",
		"a\\b",
		"a%d",
		"a~",
		/* UTF-8 'é' */
		"t\xc3\xa9",
		"\xc3\xa9t",
		"a\x7f",
		"a\x01",
	};

	check_task_ids(bad, ARRAY_SIZE(bad), false);
	assert_false(ident_task_id_valid(NULL));
}

static void test_task_id_length(void **state)
{
	char id[IDENT_TASK_ID_MAX + 2];

	assert_int_equal(IDENT_TASK_ID_MAX, 128);

	memset(id, 'a', sizeof(id));
	id[IDENT_TASK_ID_MAX] = '\0';
	assert_int_equal(strlen(id), 128);
	assert_true(ident_task_id_valid(id));

	/* The limit holds for every allowed character at the end. */
	id[IDENT_TASK_ID_MAX - 1] = '-';
	assert_true(ident_task_id_valid(id));

	id[IDENT_TASK_ID_MAX - 1] = 'a';
	id[IDENT_TASK_ID_MAX] = 'a';
	id[IDENT_TASK_ID_MAX + 1] = '\0';
	assert_int_equal(strlen(id), 129);
	assert_false(ident_task_id_valid(id));

	/* A bad character at the very end of a maximal id. */
	id[IDENT_TASK_ID_MAX] = '\0';
	id[IDENT_TASK_ID_MAX - 1] = '/';
	assert_false(ident_task_id_valid(id));
}

static void test_task_id_each_char(void **state)
{
	char id[3] = { 'a', 0, 0 };
	char first[2] = { 0, 0 };

	/* Every byte as the second character, and as the first. */
	for (int c = 1; c < 256; c++) {
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		bool later = alnum || c == '_' || c == '.' || c == '-';

		id[1] = (char)c;
		assert_verdict("ident_task_id_valid", id, ident_task_id_valid(id), later);
		first[0] = (char)c;
		assert_verdict("ident_task_id_valid", first, ident_task_id_valid(first), alnum);
	}
}

static void test_ifname_good(void **state)
{
	static const char *const good[] = {
		"e",	"eth0",	 "lo",	 "veth-a_b", "eth0.100",
		"ens5", "-eth",	 "_x",	 ".a",	     "a.",
		"...",	"tap+1", "br@0", "0",	     "123456789012345",
	};

	check_ifnames(good, ARRAY_SIZE(good), true);
}

static void test_ifname_bad(void **state)
{
	static const char *const bad[] = {
		"",
		".",
		"..",
		"1234567890123456",
		"a/b",
		"/",
		"a:b",
		"eth0:1",
		"a b",
		" eth0",
		"eth0 ",
		"a\tb",
		"a\nb",
		"a\rb",
		"a\vb",
		"a\fb",
		"a\x01",
		"a\x7f",
		/* non-ASCII */
		"eth\xc3\xa9",
		/* the kernel would take it as a pattern and pick the name itself */
		"eth%d",
		"%",
	};

	check_ifnames(bad, ARRAY_SIZE(bad), false);
	assert_false(ident_ifname_valid(NULL));
}

static void test_ifname_length(void **state)
{
	char name[32];

	for (size_t n = 1; n < sizeof(name) - 1; n++) {
		memset(name, 'x', n);
		name[n] = '\0';
		assert_verdict("ident_ifname_valid", name, ident_ifname_valid(name), n <= 15);
	}
}

static void test_instance(void **state)
{
	static const char *const bad[] = {
		"",
		"0123456789abcdef0123456789abcde",   /* 31 */
		"0123456789abcdef0123456789abcdef0", /* 33 */
		"0123456789ABCDEF0123456789abcdef",  /* upper case */
		"0123456789abcdef0123456789abcdeg",
		"0123456789abcdef 123456789abcdef",
	};

	assert_true(ident_instance_valid("0123456789abcdef0123456789abcdef"));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_verdict("ident_instance_valid", bad[i], ident_instance_valid(bad[i]), false);
	assert_false(ident_instance_valid(NULL));
}

static void test_holder(void **state)
{
	static const char *const good[] = { "taskvm", "a", "agent@host-1", "x.y:z_0", "0" };
	static const char *const bad[] = { "", "-a", ".a", "a b", "a/b", "a\n", "a\x01", "a,b" };
	char name[IDENT_HOLDER_MAX + 2];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_verdict("ident_holder_valid", good[i], ident_holder_valid(good[i]), true);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_verdict("ident_holder_valid", bad[i], ident_holder_valid(bad[i]), false);
	assert_false(ident_holder_valid(NULL));
	memset(name, 'h', IDENT_HOLDER_MAX);
	name[IDENT_HOLDER_MAX] = '\0';
	assert_true(ident_holder_valid(name));
	name[IDENT_HOLDER_MAX] = 'h';
	name[IDENT_HOLDER_MAX + 1] = '\0';
	assert_false(ident_holder_valid(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_task_id_good),   cmocka_unit_test(test_task_id_bad),
		cmocka_unit_test(test_task_id_length), cmocka_unit_test(test_task_id_each_char),
		cmocka_unit_test(test_ifname_good),    cmocka_unit_test(test_ifname_bad),
		cmocka_unit_test(test_ifname_length),  cmocka_unit_test(test_instance),
		cmocka_unit_test(test_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
