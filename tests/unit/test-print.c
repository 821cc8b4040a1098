// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for lib/print.h: the one text/JSON output path, captured from stdout and stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>

#include "print.h"
#include "util.h"

/* An fd redirected to a temporary file. No cmocka assertion may run while it is active. */
struct capture {
	int fd;
	int saved;
	FILE *f;
};

static void capture_begin(struct capture *c, int fd)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = fd;
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(fd);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(fileno(c->f), fd), fd);
}

/* Restore the fd; returns what was written (NUL-terminated, to be freed). */
static char *capture_end(struct capture *c)
{
	char *buf;
	long n;

	fflush(stdout);
	fflush(stderr);
	assert_int_equal(dup2(c->saved, c->fd), c->fd);
	close(c->saved);
	n = lseek(fileno(c->f), 0, SEEK_END);
	assert_true(n >= 0);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fileno(c->f), buf, (size_t)n, 0), n);
	fclose(c->f);
	return buf;
}

/* Parse s, which must be exactly one JSON document followed by one newline. */
static json_t *load_line(const char *s)
{
	size_t n = strlen(s);
	json_error_t e;
	json_t *v;

	assert_true(n > 0);
	assert_int_equal(s[n - 1], '\n');
	assert_null(memchr(s, '\n', n - 1));
	v = json_loadb(s, n, 0, &e);
	if (!v)
		assert_string_equal(e.text, "");
	return v;
}

static int reset_text(void **state)
{
	print_init(false, false);
	return 0;
}

static const char *const headers[] = { "NAME", "ADDRESS", "RX", NULL };

/* The table both tests print: two rows, with a value for JSON only and one for text only. */
static void print_list(void)
{
	json_t *base;

	print_table_begin(headers);
	print_open_array(NULL);

	base = json_pack("{s:s, s:i, s:s}", "name", "overwritten", "mtu", 9001, "kind", "eni");
	print_open_object(NULL, base);
	json_decref(base);
	print_string(PRINT_ANY, "name", "%s", "web");
	print_string(PRINT_JSON, "id", "%s", "t-1");
	print_string(PRINT_ANY, "address", "%s", "10.0.0.1/24");
	print_u64(PRINT_ANY, "rx", "%" PRIu64, 1234567);
	print_close_object();

	print_open_object(NULL, NULL);
	print_string(PRINT_ANY, "name", "%s", "database-1");
	print_string(PRINT_JSON, "id", "%s", NULL);
	print_string(PRINT_ANY, "address", "%s", NULL);
	print_u64(PRINT_ANY, "rx", "%" PRIu64, 0);
	print_string(PRINT_FP, "text-only", "%s", "ignored");
	print_close_object();

	print_close_array();
	print_table_end();
	print_flush();
}

static void test_json_list(void **state)
{
	struct capture c;
	json_t *root, *o;
	char *out;

	print_init(true, false);
	assert_true(print_is_json());
	capture_begin(&c, STDOUT_FILENO);
	print_list();
	out = capture_end(&c);

	root = load_line(out);
	assert_true(json_is_array(root));
	assert_int_equal(json_array_size(root), 2);

	o = json_array_get(root, 0);
	assert_int_equal(json_object_size(o), 6);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "web");
	assert_string_equal(json_string_value(json_object_get(o, "id")), "t-1");
	assert_string_equal(json_string_value(json_object_get(o, "address")), "10.0.0.1/24");
	assert_int_equal(json_integer_value(json_object_get(o, "rx")), 1234567);
	/* Members of the base object the text form leaves out. */
	assert_int_equal(json_integer_value(json_object_get(o, "mtu")), 9001);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "eni");

	o = json_array_get(root, 1);
	assert_int_equal(json_object_size(o), 4);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "database-1");
	assert_true(json_is_null(json_object_get(o, "id")));
	assert_true(json_is_null(json_object_get(o, "address")));
	assert_true(json_is_integer(json_object_get(o, "rx")));
	assert_int_equal(json_integer_value(json_object_get(o, "rx")), 0);
	assert_null(json_object_get(o, "text-only"));

	json_decref(root);
	free(out);
}

static void test_json_pretty(void **state)
{
	struct capture c;
	json_t *root;
	char *out;

	print_init(false, true);
	assert_true(print_is_json());
	capture_begin(&c, STDOUT_FILENO);
	print_list();
	out = capture_end(&c);

	/* Indented over several lines, and the same document. */
	assert_non_null(strstr(out, "[\n  {\n"));
	root = json_loads(out, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_array_size(root), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(root, 1), "name")),
			    "database-1");
	json_decref(root);
	free(out);
}

static void test_json_nested(void **state)
{
	json_t *root, *v, *extra = json_pack("{s:[i,i]}", "ports", 80, 443);
	struct capture c;
	char *out;

	print_init(true, false);
	capture_begin(&c, STDOUT_FILENO);
	print_open_object(NULL, NULL);
	print_string(PRINT_ANY, "task", "task %s\n", "t1");
	print_text("text only %d\n", 1);
	print_bool(PRINT_ANY, "up", "%s", true);
	print_int(PRINT_ANY, "delta", "%" PRId64, -5);
	print_u64(PRINT_ANY, "big", "%" PRIu64, (uint64_t)INT64_MAX);
	print_open_object("stats", NULL);
	print_u64(PRINT_ANY, "rx", "%" PRIu64, 1);
	print_close_object();
	print_open_array("list");
	print_u64(PRINT_ANY, NULL, "%" PRIu64, 7);
	print_string(PRINT_ANY, NULL, "%s", "x");
	print_close_array();
	print_json("extra", extra);
	print_json("none", NULL);
	print_close_object();
	print_flush();
	out = capture_end(&c);

	/* print_json borrows. */
	assert_int_equal(extra->refcount, 1);
	json_decref(extra);

	root = load_line(out);
	assert_int_equal(json_object_size(root), 8);
	assert_string_equal(json_string_value(json_object_get(root, "task")), "t1");
	assert_true(json_is_true(json_object_get(root, "up")));
	assert_int_equal(json_integer_value(json_object_get(root, "delta")), -5);
	assert_int_equal(json_integer_value(json_object_get(root, "big")), INT64_MAX);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "stats"), "rx")),
			 1);
	assert_int_equal(json_array_size(json_object_get(root, "list")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(root, "list"), 0)), 7);
	assert_string_equal(json_string_value(json_array_get(json_object_get(root, "list"), 1)),
			    "x");
	v = json_object_get(json_object_get(root, "extra"), "ports");
	assert_int_equal(json_integer_value(json_array_get(v, 1)), 443);
	assert_true(json_is_null(json_object_get(root, "none")));
	json_decref(root);
	free(out);
}

static void test_json_flush_closes(void **state)
{
	struct capture c;
	json_t *root, *v;
	char *out;

	/* print_flush() closes what is still open; a second flush writes nothing. */
	print_init(true, false);
	capture_begin(&c, STDOUT_FILENO);
	print_open_object(NULL, NULL);
	print_open_array("items");
	print_open_object(NULL, NULL);
	print_string(PRINT_ANY, "k", "%s", "v");
	print_flush();
	print_flush();
	out = capture_end(&c);

	root = load_line(out);
	v = json_array_get(json_object_get(root, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "k")), "v");
	json_decref(root);
	free(out);
}

/* The column at which the n-th (0-based) field of line starts, fields split by 2+ spaces. */
static int column_of(const char *line, int n)
{
	int col = 0;

	for (int i = 0; i < n; i++) {
		const char *sp = strstr(line + col, "  ");

		if (!sp)
			return -1;
		col = (int)(sp - line);
		while (line[col] == ' ')
			col++;
	}
	return col;
}

static void test_text_table(void **state)
{
	struct capture c;
	char *out, *l1, *l2, *l3;

	print_init(false, false);
	assert_false(print_is_json());
	capture_begin(&c, STDOUT_FILENO);
	print_text("before %s\n", "table");
	print_list();
	print_text("after\n");
	print_flush();
	out = capture_end(&c);

	assert_string_equal(out, "before table\n"
				 "NAME        ADDRESS      RX\n"
				 "web         10.0.0.1/24  1234567\n"
				 "database-1  -            0\n"
				 "after\n");

	/* The same, as columns: each cell starts where its header does. */
	l1 = strchr(out, '\n') + 1;
	l2 = strchr(l1, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	for (int col = 1; col < 3; col++) {
		assert_int_equal(column_of(l1, col), column_of(l2, col));
		assert_int_equal(column_of(l1, col), column_of(l3, col));
	}
	assert_int_equal(column_of(l1, 1), 12);
	assert_int_equal(column_of(l1, 2), 25);
	free(out);
}

static void test_text_table_wide_header(void **state)
{
	static const char *const hdr[] = { "A", "A-VERY-WIDE-HEADER", "Z", NULL };
	struct capture c;
	char *out;

	capture_begin(&c, STDOUT_FILENO);
	print_table_begin(hdr);
	print_open_object(NULL, NULL);
	print_string(PRINT_ANY, "a", "%s", "xyz");
	print_u64(PRINT_ANY, "b", "%" PRIu64, 5);
	print_bool(PRINT_ANY, "z", "%s", false);
	/* More cells than columns are dropped. */
	print_string(PRINT_ANY, "extra", "%s", "dropped");
	print_close_object();
	print_open_object(NULL, NULL);
	/* Fewer cells than columns: the rest show "-". */
	print_string(PRINT_ANY, "a", "%s", "1");
	print_close_object();
	print_table_end();
	out = capture_end(&c);

	assert_string_equal(out, "A    A-VERY-WIDE-HEADER  Z\n"
				 "xyz  5                   false\n"
				 "1    -                   -\n");
	free(out);
}

static void test_text_empty_table(void **state)
{
	struct capture c;
	char *out;

	capture_begin(&c, STDOUT_FILENO);
	print_table_begin(headers);
	print_table_end();
	out = capture_end(&c);

	assert_string_equal(out, "NAME  ADDRESS  RX\n");
	free(out);
}

static void test_text_plain(void **state)
{
	struct capture c;
	char *out;

	/* Outside a table, values print as they come, with their formats. */
	capture_begin(&c, STDOUT_FILENO);
	print_open_object(NULL, NULL);
	print_string(PRINT_ANY, "task", "task %s", "t1");
	print_string(PRINT_JSON, "hidden", " %s", "no");
	print_u64(PRINT_FP, "rx", " rx %" PRIu64, 10);
	print_int(PRINT_ANY, "d", " d %" PRId64, -3);
	print_bool(PRINT_ANY, "up", " up=%s", true);
	print_string(PRINT_ANY, "none", " none=%s\n", NULL);
	print_close_object();
	print_flush();
	out = capture_end(&c);

	assert_string_equal(out, "task t1 rx 10 d -3 up=true none=-\n");
	free(out);
}

static void test_error_json(void **state)
{
	json_t *data = json_pack("{s:s}", "errno", "ENOENT"), *empty = json_object(), *want;
	struct capture out, err;
	char *o, *e;
	json_t *v;

	print_init(true, false);
	capture_begin(&err, STDERR_FILENO);
	capture_begin(&out, STDOUT_FILENO);
	print_errorf("netdctl", -32001, data, "No such task '%s'", "t9");
	print_errorf("netdctl", -32602, NULL, "plain");
	print_errorf("netdctl", -32602, empty, "empty data");
	json_decref(empty);
	o = capture_end(&out);
	e = capture_end(&err);

	assert_string_equal(e, "");
	/* One line, one document each: the control protocol's error object under "error". */
	{
		char *second = strchr(o, '\n') + 1, *third = strchr(second, '\n') + 1;
		char *first = strndup(o, (size_t)(second - o));

		v = load_line(first);
		want = json_pack("{s:{s:i, s:s, s:{s:s}}}", "error", "code", -32001, "message",
				 "No such task 't9'", "data", "errno", "ENOENT");
		assert_true(json_equal(v, want));
		json_decref(want);
		json_decref(v);
		free(first);

		first = strndup(second, (size_t)(third - second));
		v = load_line(first);
		free(first);
		want = json_pack("{s:{s:i, s:s}}", "error", "code", -32602, "message", "plain");
		assert_true(json_equal(v, want));
		json_decref(want);
		json_decref(v);

		v = load_line(third);
		assert_null(json_object_get(json_object_get(v, "error"), "data"));
		json_decref(v);
	}
	/* data is borrowed and left as it was. */
	assert_int_equal(data->refcount, 1);
	assert_string_equal(json_string_value(json_object_get(data, "errno")), "ENOENT");
	json_decref(data);
	free(o);
	free(e);
}

static void test_error_text(void **state)
{
	json_t *data = json_pack("{s:i}", "code", 1);
	struct capture out, err;
	char *o, *e;

	capture_begin(&err, STDERR_FILENO);
	capture_begin(&out, STDOUT_FILENO);
	print_errorf("netdctl", -32001, data, "No such task '%s'", "t9");
	o = capture_end(&out);
	e = capture_end(&err);

	assert_string_equal(o, "");
	assert_string_equal(e, "netdctl: No such task 't9'\n");
	json_decref(data);
	free(o);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json_list, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_json_pretty, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_json_nested, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_json_flush_closes, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_text_table, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_text_table_wide_header, reset_text,
						reset_text),
		cmocka_unit_test_setup_teardown(test_text_empty_table, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_text_plain, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_error_json, reset_text, reset_text),
		cmocka_unit_test_setup_teardown(test_error_text, reset_text, reset_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
