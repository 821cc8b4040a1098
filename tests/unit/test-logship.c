// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/logship.h's pure part and its source: the awslogs options (accepted
 * forms, defaults, Docker's and ECS's refusals), sizes and endpoints, stream names, the RFC 5424
 * frames byte for byte (fields, escaping, BOM, limits), and the line splitting of a source
 * reading real pipes on the event loop into a log file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>

#include "event.h"
#include "logfile.h"
#include "logship.h"
#include "util.h"

/* 2023-11-14T22:13:20.123456789Z */
#define T0 (1700000000ULL * 1000000000ULL + 123456789ULL)

static json_t *opts_of(const char *json)
{
	json_t *j = json_loads(json, 0, NULL);

	assert_non_null(j);
	return j;
}

#define BASE_OPTS                                                                                  \
	"\"awslogs-group\":\"/ecs/web\",\"awslogs-region\":\"us-east-1\","                         \
	"\"awslogs-stream-prefix\":\"svc\",\"awslogs-endpoint\":\"tcp://198.18.0.1:5514\""

static void test_config(void **state)
{
	json_auto_t *j = opts_of("{" BASE_OPTS ",\"awslogs-create-group\":\"true\","
				 "\"awslogs-credentials-endpoint\":\"/v2/credentials/x\"}");
	struct logship_config *c = NULL;
	struct sockaddr_in *sin;
	char *err = NULL;

	assert_int_equal(logship_config_parse(j, &c, &err), 0);
	assert_null(err);
	assert_string_equal(c->group, "/ecs/web");
	assert_string_equal(c->region, "us-east-1");
	assert_string_equal(c->stream_prefix, "svc");
	assert_string_equal(c->endpoint, "tcp://198.18.0.1:5514");
	assert_string_equal(c->host, "198.18.0.1");
	assert_int_equal(c->port, 5514);
	assert_int_equal(c->addr_len, sizeof(struct sockaddr_in));
	sin = (struct sockaddr_in *)&c->addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5514);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc6120001);
	/* Docker's defaults: blocking, and a buffer of 1,000,000 bytes */
	assert_int_equal(c->mode, LOGSHIP_MODE_BLOCKING);
	assert_int_equal(c->max_buffer, 1000000);
	logship_config_free(c);

	json_decref(j);
	j = opts_of("{" BASE_OPTS ",\"mode\":\"non-blocking\",\"max-buffer-size\":\"4m\"}");
	assert_int_equal(logship_config_parse(j, &c, &err), 0);
	assert_int_equal(c->mode, LOGSHIP_MODE_NON_BLOCKING);
	assert_int_equal(c->max_buffer, 4 << 20);
	logship_config_free(c);

	json_decref(j);
	j = opts_of("{" BASE_OPTS ",\"mode\":\"non-blocking\"}");
	assert_int_equal(logship_config_parse(j, &c, &err), 0);
	assert_int_equal(c->max_buffer, LOGSHIP_BUFFER_DEFAULT);
	logship_config_free(c);
}

static void expect_config_error(const char *json, const char *needle)
{
	json_auto_t *j = opts_of(json);
	struct logship_config *c = NULL;
	char *err = NULL;

	assert_int_equal(logship_config_parse(j, &c, &err), -EINVAL);
	assert_null(c);
	assert_non_null(err);
	if (!strstr(err, needle))
		fail_msg("'%s' does not say '%s'", err, needle);
	free(err);
}

static void test_config_errors(void **state)
{
	struct logship_config *c = NULL;
	char *err = NULL;

	assert_int_equal(logship_config_parse(NULL, &c, &err), -EINVAL);
	free(err);
	expect_config_error("{\"awslogs-region\":\"us-east-1\",\"awslogs-stream-prefix\":\"s\","
			    "\"awslogs-endpoint\":\"tcp://198.18.0.1\"}",
			    "awslogs-group is required");
	expect_config_error("{\"awslogs-group\":\"g\",\"awslogs-stream-prefix\":\"s\","
			    "\"awslogs-endpoint\":\"tcp://198.18.0.1\"}",
			    "awslogs-region is required");
	expect_config_error("{\"awslogs-group\":\"g\",\"awslogs-region\":\"us-east-1\","
			    "\"awslogs-endpoint\":\"tcp://198.18.0.1\"}",
			    "awslogs-stream-prefix is required on Fargate");
	expect_config_error("{\"awslogs-group\":\"g\",\"awslogs-region\":\"us-east-1\","
			    "\"awslogs-stream-prefix\":\"s\"}",
			    "awslogs-endpoint is required");
	expect_config_error("{" BASE_OPTS ",\"max-buffer-size\":\"1m\"}",
			    "max-buffer-size is only supported with mode=non-blocking");
	expect_config_error("{" BASE_OPTS ",\"mode\":\"blocking\",\"max-buffer-size\":\"1m\"}",
			    "only supported with mode=non-blocking");
	expect_config_error("{" BASE_OPTS ",\"mode\":\"lossy\"}", "mode 'lossy'");
	expect_config_error("{" BASE_OPTS ",\"mode\":\"non-blocking\",\"max-buffer-size\":\"1k\"}",
			    "max-buffer-size '1k'");
	expect_config_error("{" BASE_OPTS ",\"mode\":\"non-blocking\",\"max-buffer-size\":\"2g\"}",
			    "max-buffer-size '2g'");
	expect_config_error("{" BASE_OPTS ",\"mode\":\"non-blocking\",\"max-buffer-size\":\"x\"}",
			    "max-buffer-size 'x'");
	expect_config_error("{" BASE_OPTS ",\"awslogs-datetime-format\":\"%Y\"}",
			    "awslogs-datetime-format is not supported");
	expect_config_error("{" BASE_OPTS ",\"awslogs-multiline-pattern\":\"^x\"}",
			    "awslogs-multiline-pattern is not supported");
	expect_config_error("{" BASE_OPTS ",\"tag\":\"x\"}", "unknown awslogs option 'tag'");
	expect_config_error("{" BASE_OPTS ",\"awslogs-stream\":\"x\"}",
			    "unknown awslogs option 'awslogs-stream'");
	expect_config_error("{" BASE_OPTS ",\"awslogs-create-group\":\"yes\"}",
			    "awslogs-create-group 'yes'");
	expect_config_error("{\"awslogs-group\":\"a b\"}", "awslogs-group 'a b'");
	expect_config_error("{\"awslogs-region\":\"US EAST\"}", "awslogs-region 'US EAST'");
	expect_config_error("{\"awslogs-stream-prefix\":\"a:b\"}", "awslogs-stream-prefix 'a:b'");
	expect_config_error("{\"awslogs-stream-prefix\":\"a*\"}", "awslogs-stream-prefix 'a*'");
	expect_config_error("{\"awslogs-stream-prefix\":\"\"}", "awslogs-stream-prefix ''");
	expect_config_error("{\"awslogs-group\":1}", "must be a string");
	expect_config_error("{\"awslogs-endpoint\":\"https://logs.us-east-1.amazonaws.com\"}",
			    "give tcp://HOST[:PORT]");
}

static void test_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "65536", 65536 },    { "1m", 1 << 20 },      { "1M", 1 << 20 },
		{ "512k", 512 << 10 }, { "512kb", 512 << 10 }, { "1.5MiB", 3 << 19 },
		{ "1 g", 1ULL << 30 }, { "2GB", 2ULL << 30 },  { "1t", 1ULL << 40 },
		{ "100b", 100 },       { "0.5k", 512 },	       { "7i", 7 },
	};
	static const char *const bad[] = { "",	   "m",	  "1.",	 ".5m", "1x",  "-1",  "1.2.3m",
					   "1  m", "1mm", " 1m", "1m ", "1e3", "0x10" };
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(logship_parse_size(ok[i].s, &v), 0);
		if (v != ok[i].v)
			fail_msg("'%s' is %" PRIu64 ", not %" PRIu64, ok[i].s, v, ok[i].v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (logship_parse_size(bad[i], &v) >= 0)
			fail_msg("'%s' was taken", bad[i]);
	assert_int_equal(logship_parse_size("99999999p", &v), -ERANGE);
}

static void test_endpoint(void **state)
{
	static const char *const bad[] = {
		"udp://198.18.0.1:514",
		"198.18.0.1:514",
		"tcp://",
		"tcp://:514",
		"tcp://198.18.0.256",
		"tcp://1.2.3",
		"tcp://h:0",
		"tcp://h:65536",
		"tcp://h:",
		"tcp://h:+5",
		"tcp://h:5x",
		"tcp://h:514/x",
		"tcp://[fd00::1",
		"tcp://[1.2.3.4]",
		"tcp://-h.vpc",
		"tcp://h_x.vpc",
		"tcp://a..b",
		"tcp://h?x",
		"tcp://[::1]x",
	};
	struct logship_config c = {};
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c.addr;
	char *err = NULL;

	assert_int_equal(logship_parse_endpoint("tcp://198.18.0.1", &c, &err), 0);
	assert_string_equal(c.host, "198.18.0.1");
	assert_int_equal(c.port, LOGSHIP_PORT_DEFAULT);
	assert_int_equal(c.addr_len, sizeof(struct sockaddr_in));

	assert_int_equal(logship_parse_endpoint("TCP://[fd00::5]:601/", &c, &err), 0);
	assert_string_equal(c.host, "fd00::5");
	assert_int_equal(c.port, 601);
	assert_int_equal(c.addr_len, sizeof(struct sockaddr_in6));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 601);

	/* A name is kept for the caller to resolve: no address yet. */
	assert_int_equal(logship_parse_endpoint("tcp://syslog.vpc.test.:5514", &c, &err), 0);
	assert_string_equal(c.host, "syslog.vpc.test.");
	assert_int_equal(c.port, 5514);
	assert_int_equal(c.addr_len, 0);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (logship_parse_endpoint(bad[i], &c, &err) != -EINVAL)
			fail_msg("'%s' was taken", bad[i]);
		assert_non_null(err);
		free(err);
		err = NULL;
	}
	free(c.host);
}

static void test_stream_name(void **state)
{
	char long_prefix[520];
	char *s = NULL;

	assert_int_equal(logship_stream_name("svc", "web", "0123abcd", &s), 0);
	assert_string_equal(s, "svc/web/0123abcd");
	free(s);
	/* '/' and UTF-8 are fine in a prefix; ':' and '*' are not */
	assert_int_equal(logship_stream_name("a/b\xc3\xa9", "web", "t1", &s), 0);
	assert_string_equal(s, "a/b\xc3\xa9/web/t1");
	free(s);
	assert_int_equal(logship_stream_name("a:b", "web", "t1", &s), -EINVAL);
	assert_int_equal(logship_stream_name("svc", "we b", "t1", &s), -EINVAL);
	assert_int_equal(logship_stream_name("svc", "web", "t/1", &s), -EINVAL);
	memset(long_prefix, 'p', sizeof(long_prefix) - 1);
	long_prefix[sizeof(long_prefix) - 1] = '\0';
	assert_int_equal(logship_stream_name(long_prefix, "web", "t1", &s), -EINVAL);
	/* 512 in all is still one */
	long_prefix[512 - strlen("/web/t1")] = '\0';
	assert_int_equal(logship_stream_name(long_prefix, "web", "t1", &s), 0);
	assert_int_equal(strlen(s), 512);
	free(s);
}

static struct logship_fmt *fmt_new(const char *host, const char *container, const char *group,
				   const char *stream)
{
	struct logship_fmt *f = NULL;
	char *err = NULL;
	int r;

	r = logship_fmt_new(&(struct logship_fmt_opts){ .hostname = host,
							.container = container,
							.group = group,
							.stream = stream },
			    &f, &err);
	if (r < 0)
		fail_msg("logship_fmt_new: %s", strna(err));
	return f;
}

/* Frame msg and compare with the expected bytes. */
static void expect_frame(struct logship_fmt *f, enum logfile_stream s, uint64_t t, const char *msg,
			 size_t len, const char *want, size_t want_len)
{
	size_t max = logship_fmt_frame_max(f, len);
	char *buf = malloc(max);
	ssize_t n;

	assert_non_null(buf);
	n = logship_fmt_frame(f, s, t, msg, len, buf, max);
	assert_true(n > 0);
	if ((size_t)n != want_len || memcmp(buf, want, want_len) != 0)
		fail_msg("frame '%.*s', expected '%.*s'", (int)n, buf, (int)want_len, want);
	/* One byte short: no partial frame. */
	assert_int_equal(logship_fmt_frame(f, s, t, msg, len, buf, (size_t)n - 1), -ENOSPC);
	free(buf);
}

#define EXPECT_FRAME(f, s, t, msg, want)                                                           \
	expect_frame(f, s, t, msg, sizeof(msg) - 1, want, sizeof(want) - 1)

static void test_frame(void **state)
{
	_cleanup_logship_fmt_ struct logship_fmt *f = NULL, *g = NULL, *h = NULL;

	f = fmt_new("198.18.1.1", "web", "/ecs/g", "p/web/abc");
	EXPECT_FRAME(f, LOGFILE_STDOUT, T0, "hello",
		     "113 <14>1 2023-11-14T22:13:20.123456Z 198.18.1.1 web - stdout "
		     "[awslogs@32473 group=\"/ecs/g\" stream=\"p/web/abc\"] hello");
	EXPECT_FRAME(f, LOGFILE_STDERR, T0, "oops",
		     "112 <11>1 2023-11-14T22:13:20.123456Z 198.18.1.1 web - stderr "
		     "[awslogs@32473 group=\"/ecs/g\" stream=\"p/web/abc\"] oops");
	/* Spaces, tabs, a trailing CR are the container's: kept. */
	EXPECT_FRAME(f, LOGFILE_STDOUT, T0, "  a\tb\r",
		     "114 <14>1 2023-11-14T22:13:20.123456Z 198.18.1.1 web - stdout "
		     "[awslogs@32473 group=\"/ecs/g\" stream=\"p/web/abc\"]   a\tb\r");

	/* No hostname: NILVALUE; an empty message: no SP after the structured data; SD-PARAM
	 * values escape '"', '\' and ']'; the time is cut (not rounded) to microseconds. */
	g = fmt_new(NULL, "web", "g", "a\"b\\c]d");
	EXPECT_FRAME(g, LOGFILE_STDOUT, 1700000000ULL * 1000000000ULL + 999999999ULL, "",
		     "94 <14>1 2023-11-14T22:13:20.999999Z - web - stdout "
		     "[awslogs@32473 group=\"g\" stream=\"a\\\"b\\\\c\\]d\"]");

	/* UTF-8 beyond ASCII gets a BOM (MSG-UTF8); a message with a BOM already, or that is not
	 * UTF-8, goes as it is (MSG-ANY). */
	h = fmt_new("", "web", "g", "s");
	EXPECT_FRAME(h, LOGFILE_STDOUT, T0, "h\xc3\xa9llo",
		     "95 <14>1 2023-11-14T22:13:20.123456Z - web - stdout "
		     "[awslogs@32473 group=\"g\" stream=\"s\"] \xef\xbb\xbfh\xc3\xa9llo");
	EXPECT_FRAME(h, LOGFILE_STDOUT, T0, "\xef\xbb\xbfhi",
		     "91 <14>1 2023-11-14T22:13:20.123456Z - web - stdout "
		     "[awslogs@32473 group=\"g\" stream=\"s\"] \xef\xbb\xbfhi");
	EXPECT_FRAME(h, LOGFILE_STDOUT, T0, "\xff\xc3(",
		     "89 <14>1 2023-11-14T22:13:20.123456Z - web - stdout "
		     "[awslogs@32473 group=\"g\" stream=\"s\"] \xff\xc3(");
	/* CESU-style surrogates and overlong forms are not UTF-8 either. */
	EXPECT_FRAME(h, LOGFILE_STDOUT, T0, "\xed\xa0\x80\xc0\xaf",
		     "91 <14>1 2023-11-14T22:13:20.123456Z - web - stdout "
		     "[awslogs@32473 group=\"g\" stream=\"s\"] \xed\xa0\x80\xc0\xaf");
	/* NUL bytes are the container's too. */
	expect_frame(h, LOGFILE_STDOUT, T0, "a\0b", 3,
		     "89 <14>1 2023-11-14T22:13:20.123456Z - web - stdout "
		     "[awslogs@32473 group=\"g\" stream=\"s\"] a\0b",
		     92);
}

static void test_frame_limits(void **state)
{
	static const char name60[] = "c23456789012345678901234567890123456789012345678901234567890";
	_cleanup_logship_fmt_ struct logship_fmt *f = NULL;
	struct logship_fmt *bad = NULL;
	char big_group[LOGSHIP_GROUP_MAX + 1], big_stream[LOGSHIP_STREAM_MAX + 1];
	char *msg, *buf, *err = NULL;
	size_t max;
	ssize_t n;

	/* APP-NAME is the container name's first 48 characters. */
	f = fmt_new("h", name60, "g", "s");
	buf = malloc(logship_fmt_frame_max(f, 1));
	assert_non_null(buf);
	n = logship_fmt_frame(f, LOGFILE_STDOUT, T0, "x", 1, buf, logship_fmt_frame_max(f, 1));
	assert_true(n > 0);
	assert_non_null(memmem(buf, (size_t)n,
			       " h c23456789012345678901234567890123456789012345678 - ",
			       strlen(" h c23456789012345678901234567890123456789012345678 - ")));
	free(buf);
	f = logship_fmt_free(f);

	/* The longest message with the longest fields, every one escaped, fits frame_max. */
	memset(big_group, 'g', LOGSHIP_GROUP_MAX);
	big_group[LOGSHIP_GROUP_MAX] = '\0';
	memset(big_stream, ']', LOGSHIP_STREAM_MAX);
	big_stream[LOGSHIP_STREAM_MAX] = '\0';
	f = fmt_new("h", name60, big_group, big_stream);
	msg = malloc(LOGSHIP_LINE_MAX);
	assert_non_null(msg);
	memset(msg, 'm', LOGSHIP_LINE_MAX);
	max = logship_fmt_frame_max(f, LOGSHIP_LINE_MAX);
	buf = malloc(max);
	assert_non_null(buf);
	n = logship_fmt_frame(f, LOGFILE_STDERR, T0, msg, LOGSHIP_LINE_MAX, buf, max);
	assert_true(n > LOGSHIP_LINE_MAX + 2 * LOGSHIP_STREAM_MAX && (size_t)n <= max);
	/* The octet count is the length of what follows it. */
	assert_memory_equal(buf, "18049 ", 6);
	assert_int_equal(n, 18049 + 6);
	free(buf);
	free(msg);

	/* Fields that cannot be in a message. */
	assert_int_equal(logship_fmt_new(&(struct logship_fmt_opts){ .hostname = "a b",
								     .container = "web",
								     .group = "g",
								     .stream = "s" },
					 &bad, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "hostname 'a b'"));
	free(err);
	err = NULL;
	assert_int_equal(logship_fmt_new(&(struct logship_fmt_opts){ .container = "w:b",
								     .group = "g",
								     .stream = "s" },
					 &bad, &err),
			 -EINVAL);
	free(err);
	err = NULL;
	assert_int_equal(logship_fmt_new(&(struct logship_fmt_opts){ .container = "web",
								     .group = "g",
								     .stream = "s\xff" },
					 &bad, &err),
			 -EINVAL);
	free(err);
	assert_null(bad);
}

/* --- the source: pipes into a log file --------------------------------------------------------- */

struct source_fixture {
	char dir[64];
	struct event_loop *loop;
	struct logfile *file;
	int out[2], err[2];
	bool eof;
};

static int source_setup(void **state)
{
	struct source_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test-logship.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(event_loop_new(&f->loop), 0);
	assert_int_equal(
		logfile_open(&(struct logfile_opts){ .dir = f->dir, .container = "c" }, &f->file),
		0);
	assert_int_equal(pipe2(f->out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(f->err, O_CLOEXEC), 0);
	/* Room for everything a test writes before the loop runs. */
	assert_true(fcntl(f->out[1], F_SETPIPE_SZ, 1 << 20) >= 1 << 20);
	*state = f;
	return 0;
}

static int source_teardown(void **state)
{
	struct source_fixture *f = *state;

	logfile_close(f->file);
	event_loop_free(f->loop);
	for (int i = 0; i < 2; i++) {
		safe_close(f->out[i]);
		safe_close(f->err[i]);
	}
	rm_rf(f->dir);
	free(f);
	return 0;
}

static void on_eof(struct logship_source *src, void *data)
{
	struct source_fixture *f = data;

	f->eof = true;
	event_loop_exit(f->loop, 0);
}

static void write_str(int fd, const void *s, size_t n)
{
	assert_int_equal(write_all(fd, s, n), 0);
}

static void test_source_split(void **state)
{
	struct source_fixture *f = *state;
	struct logship_source *src = NULL;
	struct logfile_reader *r = NULL;
	struct logfile_entry e;
	char *big = malloc(40000);
	static const struct {
		enum logfile_stream s;
		size_t len;
		char c;
		bool nl;
	} want[] = {
		{ LOGFILE_STDOUT, 5, 'h', true },      /* "hello" */
		{ LOGFILE_STDOUT, 0, 0, true },	       /* an empty line */
		{ LOGFILE_STDOUT, 16384, 'x', false }, /* 40000 x: two pieces */
		{ LOGFILE_STDOUT, 16384, 'x', false }, /* ... */
		{ LOGFILE_STDOUT, 7232, 'x', true },   /* and the rest with its newline */
		{ LOGFILE_STDOUT, 16384, 'y', true },  /* exactly 16384: one line */
		{ LOGFILE_STDOUT, 16384, 'z', false }, /* 16385: a piece... */
		{ LOGFILE_STDOUT, 1, 'z', true },      /* and one byte */
		{ LOGFILE_STDOUT, 4, 't', false },     /* the last line, without a newline */
	};
	uint64_t lines, split;
	size_t i = 0;

	assert_non_null(big);
	write_str(f->out[1], "hello\n\n", 7);
	memset(big, 'x', 40000);
	write_str(f->out[1], big, 40000);
	write_str(f->out[1], "\n", 1);
	memset(big, 'y', 16384);
	write_str(f->out[1], big, 16384);
	write_str(f->out[1], "\n", 1);
	memset(big, 'z', 16385);
	write_str(f->out[1], big, 16385);
	write_str(f->out[1], "\ntail", 5);
	free(big);
	f->out[1] = safe_close(f->out[1]);
	f->err[1] = safe_close(f->err[1]);

	assert_int_equal(logship_source_new(f->loop,
					    &(struct logship_source_opts){ .stdout_fd = f->out[0],
									   .stderr_fd = f->err[0],
									   .file = f->file,
									   .on_eof = on_eof,
									   .data = f },
					    &src),
			 0);
	f->out[0] = f->err[0] = -1;
	event_loop_run(f->loop);
	assert_true(f->eof);
	logship_source_get_counts(src, &lines, &split);
	assert_int_equal(lines, ARRAY_SIZE(want));
	assert_int_equal(split, 3);
	assert_int_equal(logship_source_file_error(src), 0);
	logship_source_free(src);
	assert_int_equal(logfile_flush(f->file), 0);

	assert_int_equal(
		logfile_reader_open(
			&(struct logfile_reader_opts){ .dir = f->dir, .container = "c" }, &r),
		0);
	while (logfile_reader_next(r, &e) > 0) {
		size_t n = e.len;

		assert_true(i < ARRAY_SIZE(want));
		assert_int_equal(e.stream, want[i].s);
		if (want[i].nl) {
			assert_true(n > 0 && e.data[n - 1] == '\n');
			n--;
		}
		assert_int_equal(n, want[i].len);
		for (size_t k = 0; k < n; k++)
			if (e.data[k] != (i == 0 ? "hello"[k] : i == 8 ? "tail"[k] : want[i].c))
				fail_msg("entry %zu, byte %zu: '%c'", i, k, e.data[k]);
		i++;
	}
	assert_int_equal(i, ARRAY_SIZE(want));
	logfile_reader_free(r);
}

static void test_source_streams(void **state)
{
	struct source_fixture *f = *state;
	struct logship_source *src = NULL;
	struct logfile_reader *r = NULL;
	struct logfile_entry e;
	int n_out = 0, n_err = 0;

	write_str(f->out[1], "o1\no2\n", 6);
	write_str(f->err[1], "e1\ne2 no newline", 16);
	f->out[1] = safe_close(f->out[1]);
	f->err[1] = safe_close(f->err[1]);
	assert_int_equal(logship_source_new(f->loop,
					    &(struct logship_source_opts){ .stdout_fd = f->out[0],
									   .stderr_fd = f->err[0],
									   .file = f->file,
									   .on_eof = on_eof,
									   .data = f },
					    &src),
			 0);
	f->out[0] = f->err[0] = -1;
	event_loop_run(f->loop);
	logship_source_free(src);
	assert_int_equal(logfile_flush(f->file), 0);
	assert_int_equal(
		logfile_reader_open(
			&(struct logfile_reader_opts){ .dir = f->dir, .container = "c" }, &r),
		0);
	while (logfile_reader_next(r, &e) > 0) {
		if (e.stream == LOGFILE_STDOUT) {
			assert_memory_equal(e.data, n_out ? "o2\n" : "o1\n", 3);
			n_out++;
		} else {
			if (n_err == 0)
				assert_memory_equal(e.data, "e1\n", 3);
			else
				assert_memory_equal(e.data, "e2 no newline", 13);
			n_err++;
		}
	}
	assert_int_equal(n_out, 2);
	assert_int_equal(n_err, 2);
	logfile_reader_free(r);
}

static void test_source_no_pipes(void **state)
{
	struct source_fixture *f = *state;
	struct logship_source *src = NULL;

	/* Nothing to read: the end is reported at once, from the loop. */
	assert_int_equal(logship_source_new(f->loop,
					    &(struct logship_source_opts){ .stdout_fd = -1,
									   .stderr_fd = -1,
									   .on_eof = on_eof,
									   .data = f },
					    &src),
			 0);
	assert_false(f->eof);
	event_loop_run(f->loop);
	assert_true(f->eof);
	logship_source_free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_stream_name),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_frame_limits),
		cmocka_unit_test_setup_teardown(test_source_split, source_setup, source_teardown),
		cmocka_unit_test_setup_teardown(test_source_streams, source_setup, source_teardown),
		cmocka_unit_test_setup_teardown(test_source_no_pipes, source_setup,
						source_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
