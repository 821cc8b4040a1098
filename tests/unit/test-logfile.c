// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/logfile.h: the entry format byte for byte (Docker's json-file shape,
 * JSON escaping, bytes that are not UTF-8), parsing it back, and, in a temporary directory, the
 * writer's bound and rotation and the reader: one container, all of them merged by time,
 * lines that are not entries, following a file as it grows and rotates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include "logfile.h"
#include "util.h"

/* 2023-11-14T22:13:20.123456789Z */
#define T0 (1700000000ULL * 1000000000ULL + 123456789ULL)

static void expect_line(enum logfile_stream s, uint64_t t, const char *data, size_t len,
			bool newline, const char *want)
{
	char *line = NULL;
	int n;

	n = logfile_format_line(s, t, data, len, newline, &line);
	assert_true(n > 0);
	if ((size_t)n != strlen(want) || memcmp(line, want, (size_t)n) != 0)
		fail_msg("line '%.*s', expected '%s'", n, line, want);
	free(line);
}

static void test_format(void **state)
{
	expect_line(LOGFILE_STDOUT, T0, "hello", 5, true,
		    "{\"log\":\"hello\\n\",\"stream\":\"stdout\","
		    "\"time\":\"2023-11-14T22:13:20.123456789Z\"}\n");
	expect_line(LOGFILE_STDERR, 1700000000ULL * 1000000000ULL, "piece", 5, false,
		    "{\"log\":\"piece\",\"stream\":\"stderr\","
		    "\"time\":\"2023-11-14T22:13:20.000000000Z\"}\n");
	/* JSON's escapes; UTF-8 and DEL as they are; what is not UTF-8 as U+FFFD, byte by byte */
	expect_line(LOGFILE_STDOUT, T0, "\"\\\t\r\x01\x1f\x7f h\xc3\xa9 \xff\xc3(", 15, false,
		    "{\"log\":\"\\\"\\\\\\t\\r\\u0001\\u001f\x7f h\xc3\xa9 \\ufffd\\ufffd(\","
		    "\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.123456789Z\"}\n");
	expect_line(LOGFILE_STDOUT, T0, "a\0b", 3, true,
		    "{\"log\":\"a\\u0000b\\n\",\"stream\":\"stdout\","
		    "\"time\":\"2023-11-14T22:13:20.123456789Z\"}\n");
	/* a truncated sequence at the end, a surrogate, an overlong form */
	expect_line(LOGFILE_STDOUT, T0, "\xe2\x82 \xed\xa0\x80 \xc0\xaf", 9, false,
		    "{\"log\":\"\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\","
		    "\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.123456789Z\"}\n");
}

static void test_parse(void **state)
{
	static const char *const bad[] = {
		"",
		"{}",
		"[]",
		"not json",
		"{\"log\":\"x\",\"stream\":\"stdout\"}",
		"{\"log\":1,\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}",
		"{\"log\":\"x\",\"stream\":\"stdin\",\"time\":\"2023-11-14T22:13:20Z\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14 22:13:20Z\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20+01:00\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-02-30T22:13:20Z\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T24:00:00Z\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"1969-12-31T23:59:59Z\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.Z\"}",
		"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.1234567890Z\"}",
		"{\"log\":\"x\",\"log\":\"y\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}",
	};
	static const char ok[] = "{\"time\":\"2023-11-14T22:13:20.5Z\",\"stream\":\"stderr\","
				 "\"log\":\"a\\u0000\\u00e9\\n\",\"extra\":true}";
	struct logfile_entry e;
	char *buf = NULL;

	assert_int_equal(logfile_parse_line(ok, strlen(ok), &e, &buf), 0);
	assert_int_equal(e.stream, LOGFILE_STDERR);
	assert_true(e.time_nsec == 1700000000ULL * 1000000000ULL + 500000000ULL);
	assert_int_equal(e.len, 5);
	assert_memory_equal(e.data, "a\0\xc3\xa9\n", 5);
	free(buf);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (logfile_parse_line(bad[i], strlen(bad[i]), &e, &buf) != -EINVAL)
			fail_msg("'%s' was taken", bad[i]);
}

static void test_roundtrip(void **state)
{
	unsigned int seed = 1;

	/* Random UTF-8 (and control characters) comes back byte for byte. */
	for (int round = 0; round < 2000; round++) {
		static const char *const pieces[] = { "a",
						      "\n",
						      "\t",
						      "\x01",
						      "\"",
						      "\\",
						      "\xc3\xa9",
						      "\xe2\x82\xac",
						      "\xf0\x9f\x98\x80",
						      "\x7f",
						      "\0" };
		static const size_t piece_len[] = { 1, 1, 1, 1, 1, 1, 2, 3, 4, 1, 1 };
		char data[256], *line = NULL, *buf = NULL;
		size_t len = 0;
		struct logfile_entry e;
		bool nl = rand_r(&seed) & 1;
		uint64_t t = T0 + (uint64_t)rand_r(&seed) * 1000;
		int n, count = rand_r(&seed) % 40;

		for (int i = 0; i < count; i++) {
			int k = rand_r(&seed) % (int)ARRAY_SIZE(pieces);

			memcpy(data + len, pieces[k], piece_len[k]);
			len += piece_len[k];
		}
		n = logfile_format_line(LOGFILE_STDOUT, t, data, len, nl, &line);
		assert_true(n > 0 && line[n - 1] == '\n');
		assert_null(memchr(line, '\n', (size_t)n - 1));
		assert_int_equal(logfile_parse_line(line, (size_t)n - 1, &e, &buf), 0);
		assert_int_equal(e.len, len + nl);
		assert_memory_equal(e.data, data, len);
		if (nl)
			assert_int_equal(e.data[len], '\n');
		assert_true(e.time_nsec == t);
		free(buf);
		free(line);
	}
}

/* --- files ------------------------------------------------------------------------------------ */

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test-logfile.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->dir);
	free(f);
	return 0;
}

static struct logfile *open_file(struct fixture *f, const char *name, uint64_t max)
{
	struct logfile *lf = NULL;

	assert_int_equal(
		logfile_open(
			&(struct logfile_opts){ .dir = f->dir, .container = name, .max_size = max },
			&lf),
		0);
	return lf;
}

static struct logfile_reader *open_reader(struct fixture *f, const char *name, bool follow)
{
	struct logfile_reader *r = NULL;

	assert_int_equal(logfile_reader_open(&(struct logfile_reader_opts){ .dir = f->dir,
									    .container = name,
									    .follow = follow },
					     &r),
			 0);
	return r;
}

static uint64_t file_size(struct fixture *f, const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct logfile *lf = NULL;
	struct logfile_reader *r = NULL;

	assert_int_equal(
		logfile_open(&(struct logfile_opts){ .dir = f->dir, .container = "../x" }, &lf),
		-EINVAL);
	assert_int_equal(
		logfile_open(
			&(struct logfile_opts){ .dir = f->dir, .container = "c", .max_size = 1000 },
			&lf),
		-EINVAL);
	assert_int_equal(
		logfile_open(&(struct logfile_opts){ .dir = "/nonexistent/dir", .container = "c" },
			     &lf),
		-ENOENT);
	assert_int_equal(
		logfile_reader_open(
			&(struct logfile_reader_opts){ .dir = f->dir, .container = "nosuch" }, &r),
		-ENOENT);
	assert_int_equal(
		logfile_reader_open(
			&(struct logfile_reader_opts){ .dir = f->dir, .container = "a/b" }, &r),
		-EINVAL);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;
	struct logfile *lf = open_file(f, "web", LOGFILE_MAX_SIZE_MIN);
	struct logfile_reader *r;
	struct logfile_entry e;
	char line[64];
	int first = -1, n = 0, last = -1;

	/* 5000 entries of about 90 bytes: 450 KB through files of 128 KiB. */
	for (int i = 0; i < 5000; i++) {
		snprintf(line, sizeof(line), "line %06d ....................", i);
		assert_int_equal(logfile_append(lf, LOGFILE_STDOUT, T0 + (uint64_t)i, line,
						strlen(line), true),
				 0);
		if (i % 100 == 0)
			assert_int_equal(logfile_flush(lf), 0);
		assert_true(logfile_size(lf) <= LOGFILE_MAX_SIZE_MIN);
	}
	assert_true(logfile_rotations(lf) >= 3);
	logfile_close(lf);
	assert_true(file_size(f, "web.log") <= LOGFILE_MAX_SIZE_MIN);
	assert_true(file_size(f, "web.log.1") <= LOGFILE_MAX_SIZE_MIN);
	/* Full: the rotated file is within one entry of the bound. */
	assert_true(file_size(f, "web.log.1") > LOGFILE_MAX_SIZE_MIN - 100);
	assert_int_equal(file_size(f, "web.log.2"), UINT64_MAX);

	/* The reader: what the two files keep, in order, ending with the last entry. */
	r = open_reader(f, "web", false);
	while (logfile_reader_next(r, &e) > 0) {
		int i = atoi(e.data + 5);

		if (first < 0)
			first = i;
		else
			assert_int_equal(i, last + 1);
		assert_string_equal(e.container, "web");
		assert_true(e.time_nsec == T0 + (uint64_t)i);
		last = i;
		n++;
	}
	assert_int_equal(last, 4999);
	assert_int_equal(n, 5000 - first);
	assert_true(n > 2000); /* two files of 128 KiB hold at least 2800 */
	assert_int_equal(logfile_reader_skipped(r), 0);
	logfile_reader_free(r);

	/* Reopened: appends, and goes on rotating from the size on disk. */
	lf = open_file(f, "web", LOGFILE_MAX_SIZE_MIN);
	assert_true(logfile_size(lf) == file_size(f, "web.log"));
	logfile_close(lf);
}

static void test_merge(void **state)
{
	struct fixture *f = *state;
	struct logfile *a = open_file(f, "a", 0), *b = open_file(f, "b", 0);
	struct logfile_reader *r;
	struct logfile_entry e;
	char got[64] = "";

	/* a: times 1 3 5 (stdout), b: 2 3 4 (stderr); equal times: the first container's first */
	for (int t = 1; t <= 5; t += 2)
		assert_int_equal(logfile_append(a, LOGFILE_STDOUT, T0 + (uint64_t)t, "a", 1, true),
				 0);
	for (int t = 2; t <= 4; t++)
		assert_int_equal(logfile_append(b, LOGFILE_STDERR, T0 + (uint64_t)t, "b", 1, true),
				 0);
	logfile_close(a);
	logfile_close(b);
	r = open_reader(f, NULL, false);
	while (logfile_reader_next(r, &e) > 0) {
		char item[8];

		snprintf(item, sizeof(item), "%s%d", e.container, (int)(e.time_nsec - T0));
		assert_int_equal(e.stream, e.container[0] == 'a' ? LOGFILE_STDOUT : LOGFILE_STDERR);
		strcat(got, item);
	}
	assert_string_equal(got, "a1b2a3b3b4a5");
	logfile_reader_free(r);
}

static void write_raw(struct fixture *f, const char *name, const char *s)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, s, strlen(s)), 0);
	close(fd);
}

static void test_skip(void **state)
{
	struct fixture *f = *state;
	struct logfile_reader *r;
	struct logfile_entry e;
	char *big = malloc(LOGFILE_LINE_MAX + 10);

	assert_non_null(big);
	write_raw(f, "c.log",
		  "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}\n"
		  "garbage\n");
	memset(big, 'x', LOGFILE_LINE_MAX + 9);
	big[LOGFILE_LINE_MAX + 9] = '\0';
	write_raw(f, "c.log", big);
	write_raw(f, "c.log",
		  "\n{\"log\":\"two\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:21Z\"}\n"
		  "{\"log\":\"torn");
	free(big);
	/* Not containers' files: skipped by the directory scan. */
	write_raw(f, "notes.txt", "x\n");
	write_raw(f, "bad name.log", "x\n");

	r = open_reader(f, NULL, false);
	assert_int_equal(logfile_reader_next(r, &e), 1);
	assert_memory_equal(e.data, "one\n", 4);
	assert_int_equal(logfile_reader_next(r, &e), 1);
	assert_memory_equal(e.data, "two\n", 4);
	/* The torn last line may still be completed by its writer: not an entry, not yet skipped. */
	assert_int_equal(logfile_reader_next(r, &e), 0);
	assert_int_equal(logfile_reader_skipped(r), 2);
	logfile_reader_free(r);
}

static void wait_readable(struct logfile_reader *r)
{
	struct pollfd p = { .fd = logfile_reader_fd(r), .events = POLLIN };

	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(logfile_reader_wake(r), 0);
}

static int next_index(struct logfile_reader *r)
{
	struct logfile_entry e;

	if (logfile_reader_next(r, &e) <= 0)
		return -1;
	return atoi(e.data + 5);
}

static void test_follow(void **state)
{
	struct fixture *f = *state;
	struct logfile *lf = open_file(f, "web", LOGFILE_MAX_SIZE_MIN);
	struct logfile_reader *r = open_reader(f, "web", true);
	char line[80];
	int i = 0, seen = 0, k;

	assert_int_equal(logfile_reader_next(r, &(struct logfile_entry){}), 0);
	/* Grow, rotate once (the reader is on the old file), rotate again (the reader is still on
	 * the first one, the second is .log.1 now): every entry is read, in order. */
	for (int round = 0; round < 3; round++) {
		uint32_t start = logfile_rotations(lf);

		while (logfile_rotations(lf) == start || i % 10) {
			snprintf(line, sizeof(line),
				 "line %06d .......................................", i);
			assert_int_equal(logfile_append(lf, LOGFILE_STDOUT, T0 + (uint64_t)i, line,
							strlen(line), true),
					 0);
			i++;
		}
		assert_int_equal(logfile_flush(lf), 0);
		if (round == 1)
			continue; /* two rotations before the reader looks */
		wait_readable(r);
		while ((k = next_index(r)) >= 0) {
			assert_int_equal(k, seen);
			seen++;
		}
		assert_int_equal(seen, i);
	}
	/* A line still being written is not returned until it is complete. */
	logfile_close(lf);
	write_raw(f, "web.log", "{\"log\":\"line 999999\\n\",\"stream\":\"stdout\",");
	wait_readable(r);
	assert_int_equal(next_index(r), -1);
	write_raw(f, "web.log", "\"time\":\"2030-01-01T00:00:00Z\"}\n");
	wait_readable(r);
	assert_int_equal(next_index(r), 999999);
	logfile_reader_free(r);
}

static void test_follow_new_container(void **state)
{
	struct fixture *f = *state;
	struct logfile_reader *r = open_reader(f, NULL, true);
	struct logfile *lf;
	struct logfile_entry e;

	assert_int_equal(logfile_reader_next(r, &e), 0);
	lf = open_file(f, "late", 0);
	assert_int_equal(logfile_append(lf, LOGFILE_STDERR, T0, "line 000007", 11, true), 0);
	logfile_close(lf);
	wait_readable(r);
	assert_int_equal(logfile_reader_next(r, &e), 1);
	assert_string_equal(e.container, "late");
	assert_int_equal(e.stream, LOGFILE_STDERR);
	logfile_reader_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_new_container, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
