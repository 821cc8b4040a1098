// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for lib/ctl-proto.h: request parsing, reply serialisation, errors, the line buffer,
 * and a client talking to a small scripted server (a forked child on a Unix socket in a
 * temporary directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "ctl-proto.h"
#include "util.h"

/* --- helpers ----------------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* A serialised message: len bytes, one '\n' at the end and none before. Returns it parsed. */
static json_t *load_line(const char *s, size_t len)
{
	json_error_t e;
	json_t *v;

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	assert_true(len >= 2);
	assert_int_equal(s[len - 1], '\n');
	assert_null(memchr(s, '\n', len - 1));
	assert_null(memchr(s, '\r', len));
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)s[i] < 0x80);
	v = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
	if (!v)
		assert_string_equal(e.text, "");
	assert_true(json_is_object(v));
	return v;
}

/* In a forked child: crash as a child, not into cmocka's handlers (a second test run). */
static void child_default_signals(void)
{
	static const int sigs[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGSYS, SIGABRT };

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
}

/* --- ctl_request_parse ------------------------------------------------------------------- */

static void parse_ok(const char *s, struct ctl_request *req)
{
	struct ctl_error err = {};
	int r;

	*req = (struct ctl_request){};
	r = ctl_request_parse(s, strlen(s), req, &err);
	if (r < 0)
		assert_string_equal(err.message, "");
	assert_int_equal(r, 0);
	assert_non_null(req->root);
	/* Success leaves the error alone. */
	assert_int_equal(err.code, 0);
	assert_null(err.message);
	assert_null(err.data);
}

static void test_parse_valid(void **state)
{
	struct ctl_request req;

	parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"task.show\",\"params\":{\"task_id\":\"t1\"},"
		 "\"id\":7}",
		 &req);
	assert_string_equal(req.method, "task.show");
	assert_true(json_is_object(req.params));
	assert_string_equal(jstr(req.params, "task_id"), "t1");
	assert_true(json_is_integer(req.id));
	assert_int_equal(json_integer_value(req.id), 7);
	ctl_request_done(&req);
	assert_null(req.root);
	assert_null(req.method);

	/* Members in any order, whitespace around, string id. */
	parse_ok(
		"  { \"id\" : \"abc\", \"params\" : {}, \"method\" : \"m\", \"jsonrpc\" : \"2.0\" }\t",
		&req);
	assert_string_equal(req.method, "m");
	assert_true(json_is_object(req.params));
	assert_int_equal(json_object_size(req.params), 0);
	assert_string_equal(json_string_value(req.id), "abc");
	ctl_request_done(&req);

	/* Without params; id null. */
	parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"eni.list\",\"id\":null}", &req);
	assert_string_equal(req.method, "eni.list");
	assert_null(req.params);
	assert_non_null(req.id);
	assert_true(json_is_null(req.id));
	ctl_request_done(&req);

	/* params null counts as absent. */
	parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":null,\"id\":-1}", &req);
	assert_null(req.params);
	assert_int_equal(json_integer_value(req.id), -1);
	ctl_request_done(&req);

	/* A notification: no id at all. */
	parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"subscribe\",\"params\":{\"a\":[1,{\"b\":2}]}}",
		 &req);
	assert_string_equal(req.method, "subscribe");
	assert_null(req.id);
	assert_int_equal(json_array_size(json_object_get(req.params, "a")), 2);
	ctl_request_done(&req);

	parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", &req);
	assert_null(req.id);
	assert_null(req.params);
	ctl_request_done(&req);

	/* Unicode escapes in the method. */
	parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"caf\\u00e9\",\"id\":\"\"}", &req);
	assert_string_equal(req.method, "caf\xc3\xa9");
	assert_string_equal(json_string_value(req.id), "");
	ctl_request_done(&req);

	/* The length given is what counts, not a NUL. */
	{
		static const char two[] = "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}{\"x\":1}";

		req = (struct ctl_request){};
		assert_int_equal(ctl_request_parse(two, 30, &req, NULL), 0);
		assert_string_equal(req.method, "a");
		ctl_request_done(&req);
	}
}

struct bad_request {
	const char *in;
	int code;
	int ret;
};

static void check_bad(const char *in, size_t len, int code, int ret)
{
	struct ctl_request req = {};
	struct ctl_error err = {};
	char g[200], w[200];
	int r;

	r = ctl_request_parse(in, len, &req, &err);
	snprintf(g, sizeof(g), "'%.120s' -> %d, code %d", in, r, err.code);
	snprintf(w, sizeof(w), "'%.120s' -> %d, code %d", in, ret, code);
	assert_string_equal(g, w);
	assert_non_null(err.message);
	assert_true(strlen(err.message) > 0);
	assert_null(err.data);
	/* Nothing is handed out on failure. */
	assert_null(req.root);
	assert_null(req.id);
	assert_null(req.method);
	assert_null(req.params);
	ctl_error_done(&err);
}

static void test_parse_invalid(void **state)
{
	static const struct bad_request bad[] = {
		/* not JSON */
		{ "", CTL_ERR_PARSE, -EBADMSG },
		{ "   ", CTL_ERR_PARSE, -EBADMSG },
		{ "not json", CTL_ERR_PARSE, -EBADMSG },
		{ "{", CTL_ERR_PARSE, -EBADMSG },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\"", CTL_ERR_PARSE, -EBADMSG },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\"} x", CTL_ERR_PARSE, -EBADMSG },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\"}{}", CTL_ERR_PARSE, -EBADMSG },
		{ "{'jsonrpc':'2.0','method':'m'}", CTL_ERR_PARSE, -EBADMSG },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",}", CTL_ERR_PARSE, -EBADMSG },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}", CTL_ERR_PARSE, -EBADMSG },
		/* duplicate keys */
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"method\":\"b\"}", CTL_ERR_PARSE,
		  -EBADMSG },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":{\"k\":1,\"k\":2}}",
		  CTL_ERR_PARSE, -EBADMSG },
		{ "{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"method\":\"a\"}", CTL_ERR_PARSE,
		  -EBADMSG },
		/* JSON, but not an object */
		{ "[1,2]", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "[]", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "[{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}]", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		{ "42", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "\"task.show\"", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "null", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "true", CTL_ERR_INVALID_REQUEST, -EINVAL },
		/* jsonrpc */
		{ "{\"method\":\"m\",\"id\":1}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"id\":1}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0 \",\"method\":\"m\"}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"\",\"method\":\"m\"}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":2.0,\"method\":\"m\",\"id\":1}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":2,\"method\":\"m\"}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":null,\"method\":\"m\"}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		/* method */
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":1}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":null}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":[\"m\"]}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":{}}", CTL_ERR_INVALID_REQUEST, -EINVAL },
		/* id */
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":{}}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":[1]}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1.5}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":true}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		/* params */
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[1,2],\"id\":1}",
		  CTL_ERR_INVALID_PARAMS, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[]}", CTL_ERR_INVALID_PARAMS,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":\"t1\",\"id\":1}",
		  CTL_ERR_INVALID_PARAMS, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":5}", CTL_ERR_INVALID_PARAMS,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":false}", CTL_ERR_INVALID_PARAMS,
		  -EINVAL },
		/* unknown members */
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1,\"extra\":1}",
		  CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"ID\":1}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"result\":1,\"id\":1}",
		  CTL_ERR_INVALID_REQUEST, -EINVAL },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"\":1}", CTL_ERR_INVALID_REQUEST,
		  -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		check_bad(bad[i].in, strlen(bad[i].in), bad[i].code, bad[i].ret);

	/* A NUL inside the line. */
	{
		static const char nul[] = "{\"jsonrpc\":\"2.0\",\"method\":\"a\0b\"}";

		check_bad(nul, sizeof(nul) - 1, CTL_ERR_PARSE, -EBADMSG);
	}
}

static void test_parse_error_messages(void **state)
{
	static const char unknown[] = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"bogus\":1}";
	static const char notjson[] = "{\"jsonrpc\":\"2.0\",";
	struct ctl_request req = {};
	struct ctl_error err = {};

	/* The message names what is wrong. */
	assert_int_equal(ctl_request_parse(unknown, strlen(unknown), &req, &err), -EINVAL);
	assert_string_equal(err.message, "Unknown member 'bogus' in request");
	assert_int_equal(ctl_request_parse(notjson, strlen(notjson), &req, &err), -EBADMSG);
	assert_int_equal(err.code, CTL_ERR_PARSE);
	assert_true(startswith(err.message, "Parse error at line 1 column "));
	ctl_error_done(&err);

	/* err may be NULL. */
	assert_int_equal(ctl_request_parse(unknown, strlen(unknown), &req, NULL), -EINVAL);
	assert_null(req.root);
}

/* A request whose params hold an array nested so that the whole has the given depth. */
static char *nested_request(unsigned int depth, bool in_string)
{
	const char *head = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":";
	unsigned int arrays = depth - 2;
	size_t n = strlen(head) + 2 * arrays + 8;
	char *s = malloc(n), *p;

	assert_non_null(s);
	p = stpcpy(s, head);
	if (in_string)
		*p++ = '"';
	memset(p, '[', arrays);
	p += arrays;
	memset(p, ']', arrays);
	p += arrays;
	if (in_string)
		*p++ = '"';
	strcpy(p, "}}");
	return s;
}

static void test_parse_depth(void **state)
{
	struct ctl_request req = {};
	struct ctl_error err = {};
	char *s;

	assert_int_equal(CTL_MAX_DEPTH, 32);

	/* Exactly the maximum is fine. */
	s = nested_request(CTL_MAX_DEPTH, false);
	assert_int_equal(ctl_request_parse(s, strlen(s), &req, &err), 0);
	assert_true(json_is_array(json_object_get(req.params, "a")));
	ctl_request_done(&req);
	free(s);

	/* One more is a parse error, found before jansson builds anything. */
	s = nested_request(CTL_MAX_DEPTH + 1, false);
	assert_int_equal(ctl_request_parse(s, strlen(s), &req, &err), -E2BIG);
	assert_int_equal(err.code, CTL_ERR_PARSE);
	assert_null(req.root);
	free(s);

	s = nested_request(1000, false);
	assert_int_equal(ctl_request_parse(s, strlen(s), &req, &err), -E2BIG);
	assert_int_equal(err.code, CTL_ERR_PARSE);
	free(s);
	ctl_error_done(&err);

	/* Brackets inside a string are text, however many. */
	s = nested_request(1000, true);
	assert_int_equal(ctl_request_parse(s, strlen(s), &req, &err), 0);
	assert_int_equal(json_string_length(json_object_get(req.params, "a")), 2 * 998);
	ctl_request_done(&req);
	free(s);
	assert_null(err.message);
}

/* --- ctl_json_too_deep ------------------------------------------------------------------- */

static bool too_deep(const char *s, unsigned int max)
{
	return ctl_json_too_deep(s, strlen(s), max);
}

static void test_json_too_deep(void **state)
{
	assert_false(too_deep("", 0));
	assert_false(too_deep("42", 0));
	assert_true(too_deep("{}", 0));
	assert_false(too_deep("{}", 1));
	assert_false(too_deep("[[[]]]", 3));
	assert_true(too_deep("[[[]]]", 2));
	assert_true(too_deep("{\"a\":[{\"b\":[]}]}", 3));
	assert_false(too_deep("{\"a\":[{\"b\":[]}]}", 4));
	/* Siblings do not add up. */
	assert_false(too_deep("[[],[],[],{},{}]", 2));
	assert_false(too_deep("[][][][]", 1));

	/* Strings are skipped, including escaped quotes and backslashes. */
	assert_false(too_deep("\"[[[[\"", 0));
	assert_false(too_deep("\"{{{{", 0));
	assert_false(too_deep("[\"\\\"[[[[\"]", 1));   /* ["\"[[[["] */
	assert_false(too_deep("[\"\\\\\\\"[[\"]", 1)); /* ["\\\"[["] */
	assert_true(too_deep("[\"\\\\\",[[[]]]]", 3)); /* ["\\",[[[]]]] */
	assert_false(too_deep("[\"\\\\\",[[[]]]]", 4));
	assert_true(too_deep("[\"a\\\\\"[[]]]", 2)); /* ["a\\"[[]]] */
	assert_false(too_deep("[\"\\u005b\\u005b\"]", 1));
	/* Single quotes are not strings in JSON. */
	assert_true(too_deep("'[['", 1));

	/* Stray closers do not buy depth. */
	assert_true(too_deep("]]]]}}}[[[", 2));
	assert_false(too_deep("]]]]}}}[[[", 3));

	/* Only len bytes are looked at. */
	assert_false(ctl_json_too_deep("[[[[", 2, 2));
	assert_true(ctl_json_too_deep("[[[[", 3, 2));
	assert_false(ctl_json_too_deep("\"[[[[", 5, 0));
}

/* --- serialisation ----------------------------------------------------------------------- */

static void test_reply_result(void **state)
{
	json_t *msg, *id;
	size_t len = 0;
	char *s;

	id = json_integer(7);
	s = ctl_reply_result(id, json_pack("{s:i, s:s}", "a", 1, "text", "two\nlines\r\t\"q\""),
			     &len);
	msg = load_line(s, len);
	assert_int_equal(json_object_size(msg), 3);
	assert_string_equal(jstr(msg, "jsonrpc"), "2.0");
	assert_int_equal(jint(msg, "id"), 7);
	assert_int_equal(jint(json_object_get(msg, "result"), "a"), 1);
	assert_string_equal(jstr(json_object_get(msg, "result"), "text"), "two\nlines\r\t\"q\"");
	/* id is borrowed. */
	assert_int_equal(id->refcount, 1);
	json_decref(id);
	json_decref(msg);
	free(s);

	/* String id, non-ASCII result (escaped on the wire), no length wanted. */
	id = json_string("req-1");
	s = ctl_reply_result(id, json_string("caf\xc3\xa9"), NULL);
	assert_non_null(strcasestr(s, "\"caf\\u00e9\""));
	msg = load_line(s, strlen(s));
	assert_string_equal(jstr(msg, "id"), "req-1");
	assert_string_equal(jstr(msg, "result"), "caf\xc3\xa9");
	json_decref(id);
	json_decref(msg);
	free(s);

	/* No id and no result: both null. */
	s = ctl_reply_result(NULL, NULL, &len);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":null}\n");
	assert_int_equal(len, strlen(s));
	free(s);
}

static void test_reply_error(void **state)
{
	struct ctl_error e = {};
	json_t *msg, *err, *id = json_integer(3);
	size_t len;
	char *s;

	ctl_error_set_errno(&e, -ENOENT, "No such task '%s'", "t9");
	s = ctl_reply_error(id, &e, &len);
	msg = load_line(s, len);
	assert_int_equal(json_object_size(msg), 3);
	assert_string_equal(jstr(msg, "jsonrpc"), "2.0");
	assert_int_equal(jint(msg, "id"), 3);
	err = json_object_get(msg, "error");
	assert_int_equal(json_object_size(err), 3);
	assert_int_equal(jint(err, "code"), CTL_ERR_NOT_FOUND);
	assert_string_equal(jstr(err, "message"), "No such task 't9'");
	assert_string_equal(jstr(json_object_get(err, "data"), "errno"), "ENOENT");
	/* The exact line, as docs/PROTOCOL.md shows it. */
	assert_string_equal(s,
			    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32001,\"message\":"
			    "\"No such task 't9'\",\"data\":{\"errno\":\"ENOENT\"}},\"id\":3}\n");
	/* The error keeps its data. */
	assert_int_equal(e.data->refcount, 1);
	json_decref(msg);
	free(s);

	/* Without data and with a null id. */
	ctl_error_set(&e, CTL_ERR_INVALID_PARAMS, NULL, "Missing parameter '%s'", "task_id");
	s = ctl_reply_error(NULL, &e, &len);
	msg = load_line(s, len);
	assert_true(json_is_null(json_object_get(msg, "id")));
	err = json_object_get(msg, "error");
	assert_int_equal(json_object_size(err), 2);
	assert_int_equal(jint(err, "code"), CTL_ERR_INVALID_PARAMS);
	assert_string_equal(jstr(err, "message"), "Missing parameter 'task_id'");
	json_decref(msg);
	free(s);

	/* No message at all. */
	ctl_error_done(&e);
	e.code = CTL_ERR_INTERNAL;
	s = ctl_reply_error(id, &e, &len);
	msg = load_line(s, len);
	assert_string_equal(jstr(json_object_get(msg, "error"), "message"), "Unknown error");
	json_decref(msg);
	free(s);
	json_decref(id);
}

static void test_notification(void **state)
{
	json_t *msg;
	size_t len;
	char *s;

	s = ctl_notification("event", json_pack("{s:s, s:i}", "type", "task.ready", "seq", 9),
			     &len);
	msg = load_line(s, len);
	assert_int_equal(json_object_size(msg), 3);
	assert_string_equal(jstr(msg, "jsonrpc"), "2.0");
	assert_string_equal(jstr(msg, "method"), "event");
	assert_null(json_object_get(msg, "id"));
	assert_string_equal(jstr(json_object_get(msg, "params"), "type"), "task.ready");
	assert_int_equal(jint(json_object_get(msg, "params"), "seq"), 9);
	json_decref(msg);
	free(s);

	/* No params: an empty object. */
	s = ctl_notification("ping", NULL, &len);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":{}}\n");
	assert_int_equal(len, strlen(s));
	free(s);
}

static void test_raw_result_and_notification(void **state)
{
	json_t *msg, *id = json_string("s\"1");
	size_t len;
	char *s;

	/* A result given as text is put in as it is; the id is encoded like any. */
	s = ctl_reply_result_raw(id, "{\"tasks\":[1,2]}", 15, &len);
	assert_string_equal(
		s, "{\"jsonrpc\":\"2.0\",\"result\":{\"tasks\":[1,2]},\"id\":\"s\\\"1\"}\n");
	assert_int_equal(len, strlen(s));
	msg = load_line(s, len);
	assert_int_equal(json_array_size(json_object_get(json_object_get(msg, "result"), "tasks")),
			 2);
	assert_string_equal(jstr(msg, "id"), "s\"1");
	json_decref(msg);
	free(s);
	json_decref(id);

	/* Only len bytes of the text are used; a null id. */
	s = ctl_reply_result_raw(NULL, "[3]garbage", 3, NULL);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"result\":[3],\"id\":null}\n");
	free(s);

	s = ctl_notification_raw("stats", "{\"a\":1}", 7, &len);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"method\":\"stats\",\"params\":{\"a\":1}}\n");
	msg = load_line(s, len);
	assert_int_equal(jint(json_object_get(msg, "params"), "a"), 1);
	json_decref(msg);
	free(s);
}

static void test_request_format(void **state)
{
	struct ctl_request req = {};
	struct ctl_error err = {};
	json_t *msg;
	size_t len;
	char *s;

	s = ctl_request_format("task.show", json_pack("{s:s}", "task_id", "t1"), 12345678901LL,
			       &len);
	msg = load_line(s, len);
	assert_int_equal(json_object_size(msg), 4);
	assert_string_equal(jstr(msg, "jsonrpc"), "2.0");
	assert_string_equal(jstr(msg, "method"), "task.show");
	assert_int_equal(jint(msg, "id"), 12345678901LL);
	assert_string_equal(jstr(json_object_get(msg, "params"), "task_id"), "t1");
	json_decref(msg);

	/* What the client sends, the server takes (without the newline, as the line buffer gives). */
	assert_int_equal(ctl_request_parse(s, len - 1, &req, &err), 0);
	assert_string_equal(req.method, "task.show");
	assert_int_equal(json_integer_value(req.id), 12345678901LL);
	assert_string_equal(jstr(req.params, "task_id"), "t1");
	ctl_request_done(&req);
	free(s);

	s = ctl_request_format("eni.list", NULL, 1, &len);
	assert_string_equal(
		s, "{\"jsonrpc\":\"2.0\",\"method\":\"eni.list\",\"params\":{},\"id\":1}\n");
	assert_int_equal(ctl_request_parse(s, len, &req, &err), 0);
	assert_int_equal(json_object_size(req.params), 0);
	ctl_request_done(&req);
	free(s);
}

/* --- ctl_error --------------------------------------------------------------------------- */

static void test_error_set(void **state)
{
	struct ctl_error e = {};
	json_t *data;

	data = json_pack("{s:s}", "hint", "x");
	assert_int_equal(
		ctl_error_set(&e, CTL_ERR_BUSY, data, "ENI %s is attached to %s", "eni-1", "t2"),
		CTL_ERR_BUSY);
	assert_int_equal(e.code, CTL_ERR_BUSY);
	assert_string_equal(e.message, "ENI eni-1 is attached to t2");
	/* data was stolen. */
	assert_ptr_equal(e.data, data);
	assert_int_equal(data->refcount, 1);
	assert_int_equal(ctl_error_errno(&e), 0);

	/* Setting again replaces (and frees) the old contents; the message may use the old one. */
	assert_int_equal(ctl_error_set(&e, CTL_ERR_LIMIT, NULL, "%s (again)", e.message),
			 CTL_ERR_LIMIT);
	assert_string_equal(e.message, "ENI eni-1 is attached to t2 (again)");
	assert_null(e.data);

	ctl_error_done(&e);
	assert_int_equal(e.code, 0);
	assert_null(e.message);
	ctl_error_done(&e);
	ctl_error_done(NULL);

	/* Without an error to fill, data is still consumed. */
	assert_int_equal(ctl_error_set(NULL, CTL_ERR_KERNEL, json_object(), "x"), CTL_ERR_KERNEL);
	assert_int_equal(ctl_error_set_errno(NULL, -EIO, "x"), CTL_ERR_KERNEL);
}

static void test_error_errno(void **state)
{
	struct ctl_error e = {};

	assert_int_equal(ctl_error_set_errno(&e, -ENOENT, "No such task '%s'", "t9"),
			 CTL_ERR_NOT_FOUND);
	assert_int_equal(e.code, CTL_ERR_NOT_FOUND);
	assert_string_equal(e.message, "No such task 't9'");
	assert_string_equal(jstr(e.data, "errno"), "ENOENT");
	assert_int_equal(json_object_size(e.data), 1);
	assert_int_equal(ctl_error_errno(&e), -ENOENT);

	/* Positive errno works the same. */
	assert_int_equal(ctl_error_set_errno(&e, EEXIST, "exists"), CTL_ERR_EXISTS);
	assert_string_equal(jstr(e.data, "errno"), "EEXIST");
	assert_int_equal(ctl_error_errno(&e), -EEXIST);

	/* Every errno with a name survives the trip through its name. */
	for (int i = 1; i < 200; i++) {
		if (!strerrorname_np(i))
			continue;
		ctl_error_set_errno(&e, -i, "errno %d", i);
		assert_int_equal(ctl_error_errno(&e), -i);
		assert_string_equal(jstr(e.data, "errno"), strerrorname_np(i));
	}

	/* data without a usable errno. */
	ctl_error_set(&e, CTL_ERR_KERNEL, json_pack("{s:s}", "errno", "EBOGUS"), "x");
	assert_int_equal(ctl_error_errno(&e), 0);
	ctl_error_set(&e, CTL_ERR_KERNEL, json_pack("{s:i}", "errno", 2), "x");
	assert_int_equal(ctl_error_errno(&e), 0);
	ctl_error_set(&e, CTL_ERR_KERNEL, json_pack("{s:s}", "other", "ENOENT"), "x");
	assert_int_equal(ctl_error_errno(&e), 0);
	ctl_error_set(&e, CTL_ERR_KERNEL, json_string("ENOENT"), "x");
	assert_int_equal(ctl_error_errno(&e), 0);
	ctl_error_set(&e, CTL_ERR_KERNEL, NULL, "x");
	assert_int_equal(ctl_error_errno(&e), 0);
	ctl_error_done(&e);

	assert_string_equal(ctl_errno_name(-ENODEV), "ENODEV");
	assert_string_equal(ctl_errno_name(ENODEV), "ENODEV");
	assert_string_equal(ctl_errno_name(-EWOULDBLOCK), "EAGAIN");
	assert_string_equal(ctl_errno_name(4095), "E?");
	assert_string_equal(ctl_errno_name(-4095), "E?");
}

static void test_error_wire_roundtrip(void **state)
{
	struct ctl_error e = {}, back = {};
	json_t *msg, *err;
	size_t len;
	char *s;

	/* Server side: an errno becomes a reply; client side: the reply becomes the errno. */
	ctl_error_set_errno(&e, -EBUSY, "Task '%s' is busy", "t1");
	s = ctl_reply_error(NULL, &e, &len);
	msg = load_line(s, len);
	err = json_object_get(msg, "error");
	ctl_error_set(&back, (int)jint(err, "code"), json_incref(json_object_get(err, "data")),
		      "%s", jstr(err, "message"));
	assert_int_equal(back.code, CTL_ERR_BUSY);
	assert_string_equal(back.message, "Task 't1' is busy");
	assert_int_equal(ctl_error_errno(&back), -EBUSY);
	assert_true(json_equal(back.data, e.data));
	json_decref(msg);
	free(s);
	ctl_error_done(&e);
	ctl_error_done(&back);
}

static void test_error_code_from_errno(void **state)
{
	static const struct {
		int err;
		int code;
	} map[] = {
		{ ENOENT, CTL_ERR_NOT_FOUND },
		{ ENODEV, CTL_ERR_NOT_FOUND },
		{ ESRCH, CTL_ERR_NOT_FOUND },
		{ ENXIO, CTL_ERR_NOT_FOUND },
		{ EEXIST, CTL_ERR_EXISTS },
		{ EADDRINUSE, CTL_ERR_EXISTS },
		{ EPERM, CTL_ERR_PERMISSION },
		{ EACCES, CTL_ERR_PERMISSION },
		{ ETIMEDOUT, CTL_ERR_TIMEOUT },
		{ EBUSY, CTL_ERR_BUSY },
		{ EALREADY, CTL_ERR_BUSY },
		{ EINPROGRESS, CTL_ERR_BUSY },
		{ EINVAL, CTL_ERR_INVALID_PARAMS },
		{ EDOM, CTL_ERR_INVALID_PARAMS },
		{ ERANGE, CTL_ERR_INVALID_PARAMS },
		{ E2BIG, CTL_ERR_LIMIT },
		{ EMSGSIZE, CTL_ERR_LIMIT },
		{ EMFILE, CTL_ERR_LIMIT },
		{ ENOSPC, CTL_ERR_LIMIT },
		{ EDQUOT, CTL_ERR_LIMIT },
		{ ECANCELED, CTL_ERR_CANCELLED },
		{ ESHUTDOWN, CTL_ERR_UNAVAILABLE },
		{ EAGAIN, CTL_ERR_UNAVAILABLE },
		{ ENOMEM, CTL_ERR_INTERNAL },
		{ EIO, CTL_ERR_KERNEL },
		{ ENETDOWN, CTL_ERR_KERNEL },
		{ EOPNOTSUPP, CTL_ERR_KERNEL },
		{ EBADMSG, CTL_ERR_KERNEL },
		{ 0, CTL_ERR_KERNEL },
		{ 4095, CTL_ERR_KERNEL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		char g[64], w[64];

		snprintf(g, sizeof(g), "%s: %d %d", ctl_errno_name(map[i].err),
			 ctl_error_code_from_errno(-map[i].err),
			 ctl_error_code_from_errno(map[i].err));
		snprintf(w, sizeof(w), "%s: %d %d", ctl_errno_name(map[i].err), map[i].code,
			 map[i].code);
		assert_string_equal(g, w);
	}
}

/* --- ctl_linebuf ------------------------------------------------------------------------- */

struct lb_fixture {
	struct ctl_linebuf lb;
	int rfd, wfd;
};

static int lb_setup(void **state)
{
	struct lb_fixture *f = calloc(1, sizeof(*f));
	int fds[2];

	if (!f || pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(f);
		return -1;
	}
	f->rfd = fds[0];
	f->wfd = fds[1];
	ctl_linebuf_init(&f->lb, 16);
	*state = f;
	return 0;
}

static int lb_teardown(void **state)
{
	struct lb_fixture *f = *state;

	ctl_linebuf_done(&f->lb);
	safe_close(f->rfd);
	safe_close(f->wfd);
	free(f);
	return 0;
}

/* Write s into the pipe and read it all into the line buffer with one fill. */
static void lb_feed(struct lb_fixture *f, const char *s, size_t n)
{
	assert_int_equal(write_all(f->wfd, s, n), 0);
	assert_int_equal(ctl_linebuf_fill(&f->lb, f->rfd), (int)n);
}

static void lb_feed_str(struct lb_fixture *f, const char *s)
{
	lb_feed(f, s, strlen(s));
}

static void lb_expect(struct lb_fixture *f, const char *want)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(ctl_linebuf_next(&f->lb, &line, &len), 1);
	assert_int_equal(len, strlen(want));
	assert_string_equal(line, want);
}

static void lb_expect_ret(struct lb_fixture *f, int want)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(ctl_linebuf_next(&f->lb, &line, &len), want);
}

static void test_linebuf_lines_in_one_read(void **state)
{
	struct lb_fixture *f = *state;

	lb_expect_ret(f, 0);
	lb_feed_str(f, "one\ntwo\r\n\nthree\n");
	lb_expect(f, "one");
	lb_expect(f, "two");
	lb_expect(f, "");
	lb_expect(f, "three");
	lb_expect_ret(f, 0);
	lb_expect_ret(f, 0);

	/* A NUL inside a line is kept; len tells. */
	{
		char *line;
		size_t len;

		lb_feed(f, "a\0b\n", 4);
		assert_int_equal(ctl_linebuf_next(&f->lb, &line, &len), 1);
		assert_int_equal(len, 3);
		assert_memory_equal(line, "a\0b", 4);
	}
	lb_expect_ret(f, 0);
}

static void test_linebuf_split(void **state)
{
	struct lb_fixture *f = *state;

	lb_feed_str(f, "hel");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "lo wor");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "ld\nnext");
	lb_expect(f, "hello world");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "\n");
	lb_expect(f, "next");
	lb_expect_ret(f, 0);

	/* CR and LF in different reads. */
	lb_feed_str(f, "crlf\r");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "\n");
	lb_expect(f, "crlf");

	/* A line taken, then more data before the next call. */
	lb_feed_str(f, "first\nsec");
	lb_expect(f, "first");
	lb_feed_str(f, "ond\n");
	lb_expect(f, "second");
	lb_expect_ret(f, 0);
}

static void test_linebuf_crlf(void **state)
{
	struct lb_fixture *f = *state;

	lb_feed_str(f, "x\r\n\r\na\rb\na\r\r\n\r\r\n");
	lb_expect(f, "x");
	lb_expect(f, "");
	lb_expect(f, "a\rb");
	lb_expect(f, "a\r");
	lb_expect(f, "\r");
	lb_expect_ret(f, 0);
}

static void test_linebuf_oversized(void **state)
{
	struct lb_fixture *f = *state;

	/* max is 16 bytes with the newline: 15 characters fit, 16 do not. */
	lb_feed_str(f, "0123456789abcdef\n0123456789abcde\nok\n");
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect(f, "0123456789abcde");
	lb_expect(f, "ok");
	lb_expect_ret(f, 0);

	/* Oversized lines in a row, each reported once. */
	lb_feed_str(f, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nyyyyyyyyyyyyyyyyyyyy\nz\n");
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect(f, "z");
	lb_expect_ret(f, 0);

	/* A CR counts towards the limit. */
	lb_feed_str(f, "0123456789abcde\r\nend\n");
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect(f, "end");
	lb_expect_ret(f, 0);
}

static void test_linebuf_oversized_no_newline(void **state)
{
	struct lb_fixture *f = *state;

	/* Too long before its newline shows up: reported once, then dropped up to the newline. */
	lb_feed_str(f, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect_ret(f, 0);
	lb_expect_ret(f, 0);
	lb_feed_str(f, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "yyyy");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "tail\ngood\n");
	lb_expect(f, "good");
	lb_expect_ret(f, 0);

	/* Growing past the limit over several reads. */
	lb_feed_str(f, "0123456789");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "0123456789");
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect_ret(f, 0);
	lb_feed_str(f, "\nafter\n");
	lb_expect(f, "after");
	lb_expect_ret(f, 0);

	/* Exactly max bytes without the newline, then the newline: one byte too many. */
	lb_feed_str(f, "0123456789abcdef");
	lb_expect_ret(f, 0);
	lb_feed_str(f, "\nfine\n");
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect(f, "fine");
	lb_expect_ret(f, 0);

	/* A good line first, then the start of an oversized one in the same read. */
	lb_feed_str(f, "good\nxxxxxxxxxxxxxxxxxxxxxxxx");
	lb_expect(f, "good");
	lb_expect_ret(f, -EMSGSIZE);
	lb_expect_ret(f, 0);
	lb_feed_str(f, "xx\nlast\n");
	lb_expect(f, "last");
	lb_expect_ret(f, 0);
}

static void test_linebuf_eof_eagain(void **state)
{
	struct lb_fixture *f = *state;

	assert_int_equal(ctl_linebuf_fill(&f->lb, f->rfd), -EAGAIN);
	lb_feed_str(f, "partial");
	f->wfd = safe_close(f->wfd);
	assert_int_equal(ctl_linebuf_fill(&f->lb, f->rfd), 0);
	lb_expect_ret(f, 0);
	assert_int_equal(ctl_linebuf_fill(&f->lb, -1), -EBADF);
}

/* Feed data to a fresh line buffer (limit max) from a child writing in pieces of chunk bytes;
 * describe each result of ctl_linebuf_next() as "<len>" or "E" into out, comma separated. */
static void linebuf_collect(const char *data, size_t n, size_t chunk, size_t max, char *out,
			    size_t size)
{
	struct ctl_linebuf lb;
	int fds[2], status;
	size_t used = 0;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_default_signals();
		close(fds[0]);
		for (size_t off = 0; off < n; off += chunk)
			if (write_all(fds[1], data + off, MIN(chunk, n - off)) < 0)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);

	ctl_linebuf_init(&lb, max);
	out[0] = '\0';
	for (;;) {
		char *line;
		size_t len;
		int r;

		while ((r = ctl_linebuf_next(&lb, &line, &len)) != 0) {
			int k = r > 0 ? snprintf(out + used, size - used, "%s%zu", used ? "," : "",
						 len)
				      : snprintf(out + used, size - used, "%sE", used ? "," : "");

			assert_true(k > 0 && (size_t)k < size - used);
			used += (size_t)k;
			if (r > 0)
				for (size_t i = 0; i < len; i++)
					assert_int_equal(line[i], 'a' + (int)(len % 26));
		}
		r = ctl_linebuf_fill(&lb, fds[0]);
		assert_true(r >= 0);
		if (r == 0)
			break;
	}
	ctl_linebuf_done(&lb);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Append a line of len letters (each 'a' + len % 26) and a newline (unless nl is false). */
static size_t put_line(char *buf, size_t off, size_t len, bool nl)
{
	memset(buf + off, 'a' + (int)(len % 26), len);
	off += len;
	if (nl)
		buf[off++] = '\n';
	return off;
}

static void test_linebuf_full_size(void **state)
{
	static const size_t chunks[] = { 1 << 20, 65536, 4096, 1000, 7 };
	const size_t max = CTL_MAX_REQUEST;
	size_t total = 8 * max, n = 0;
	char *data = malloc(total), out[256];

	assert_non_null(data);
	n = put_line(data, n, 3, true);
	n = put_line(data, n, max - 1, true); /* the largest line that fits */
	n = put_line(data, n, max, true);     /* one byte too long */
	n = put_line(data, n, 5, true);
	n = put_line(data, n, 3 * max, false); /* far too long, newline comes later */
	n = put_line(data, n, 0, true);
	n = put_line(data, n, 0, true);
	n = put_line(data, n, max - 1, true);
	n = put_line(data, n, 4, false); /* unterminated at EOF */
	assert_true(n <= total);

	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		linebuf_collect(data, n, chunks[i], max, out, sizeof(out));
		assert_string_equal(out, "3,65535,E,5,E,0,65535");
	}
	free(data);
}

/* --- the client against a scripted server ------------------------------------------------ */

struct server {
	char dir[64];
	char path[128];
	pid_t pid;
	struct ctl_client *client;
};

/* Write and free a serialised line (NULL: allocation failed). */
static int send_line(int fd, char *line, size_t len)
{
	int r;

	if (!line)
		return -ENOMEM;
	r = write_all(fd, line, len);
	free(line);
	return r;
}

static int send_result(int fd, json_t *id, json_t *result)
{
	size_t len = 0;
	char *line = ctl_reply_result(id, result, &len);

	return send_line(fd, line, len);
}

static int send_error(int fd, json_t *id, const struct ctl_error *e)
{
	size_t len = 0;
	char *line = ctl_reply_error(id, e, &len);

	return send_line(fd, line, len);
}

static int send_event(int fd, int seq)
{
	size_t len = 0;
	char *line = ctl_notification("event", json_pack("{s:i}", "seq", seq), &len);

	return send_line(fd, line, len);
}

/* Answer one request; 1 means close the connection. Runs in the child: no cmocka here. */
static int serve_request(int fd, const struct ctl_request *req)
{
	_cleanup_ctl_error_ struct ctl_error e = {};
	char *line, *extra;
	size_t len, elen;
	json_t *stale;
	int r;

	if (streq(req->method, "echo"))
		return send_result(fd, req->id,
				   json_pack("{s:s, s:O?, s:O}", "method", req->method, "params",
					     req->params, "id", req->id));
	if (streq(req->method, "fail")) {
		ctl_error_set_errno(&e, -ENOENT, "No such task '%s'", "t9");
		return send_error(fd, req->id, &e);
	}
	if (streq(req->method, "fail-plain")) {
		ctl_error_set(&e, CTL_ERR_INVALID_PARAMS, NULL, "Unknown parameter 'x'");
		return send_error(fd, req->id, &e);
	}
	if (streq(req->method, "notify")) {
		/* Two notifications, a reply to some other request, then ours. */
		stale = json_integer(json_integer_value(req->id) + 1000);
		r = send_event(fd, 1);
		if (r == 0)
			r = send_event(fd, 2);
		if (r == 0)
			r = send_result(fd, stale, json_string("stale"));
		if (r == 0)
			r = send_result(fd, req->id, json_pack("{s:b}", "ok", 1));
		json_decref(stale);
		return r;
	}
	if (streq(req->method, "reply-later-notify")) {
		/* The reply, then a notification in a write of its own a moment later. */
		r = send_result(fd, req->id, json_string("done"));
		if (r == 0) {
			usleep(20000);
			r = send_event(fd, 4);
		}
		return r;
	}
	if (streq(req->method, "reply-then-notify")) {
		/* The reply and a notification in one write. */
		line = ctl_reply_result(req->id, json_string("done"), &len);
		extra = ctl_notification("event", json_pack("{s:i}", "seq", 3), &elen);
		if (!line || !extra)
			return -ENOMEM;
		line = realloc(line, len + elen + 1);
		if (!line)
			return -ENOMEM;
		memcpy(line + len, extra, elen + 1);
		free(extra);
		return send_line(fd, line, len + elen);
	}
	if (streq(req->method, "split")) {
		/* One byte per write. */
		line = ctl_reply_result(req->id, json_pack("{s:s}", "k", "split reply"), &len);
		if (!line)
			return -ENOMEM;
		r = 0;
		for (size_t i = 0; i < len && r == 0; i++)
			r = write_all(fd, line + i, 1);
		free(line);
		return r;
	}
	if (streq(req->method, "garbage"))
		return write_all(fd, "this is not json\n", 17);
	if (streq(req->method, "close"))
		return 1;
	if (streq(req->method, "hang"))
		return 0;
	ctl_error_set(&e, CTL_ERR_METHOD_NOT_FOUND, NULL, "Unknown method '%s'", req->method);
	return send_error(fd, req->id, &e);
}

/* The child: accept one connection and answer until EOF. Exit 0 if all went as expected. */
static int serve(int lfd)
{
	struct ctl_linebuf lb;
	int fd;

	child_default_signals();
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0)
		return 10;
	ctl_linebuf_init(&lb, CTL_MAX_REQUEST);
	for (;;) {
		struct ctl_request req = {};
		char *line;
		size_t len;
		int r;

		r = ctl_linebuf_next(&lb, &line, &len);
		if (r == -EMSGSIZE) {
			/* As netd does: an error with id null, and the connection stays. */
			_cleanup_ctl_error_ struct ctl_error e = {};

			ctl_error_set(&e, CTL_ERR_INVALID_REQUEST, NULL,
				      "Request longer than %d bytes", CTL_MAX_REQUEST);
			if (send_error(fd, NULL, &e) < 0)
				return 11;
			continue;
		}
		if (r < 0)
			return 11;
		if (r == 0) {
			r = ctl_linebuf_fill(&lb, fd);
			if (r == 0)
				return 0;
			if (r < 0)
				return 12;
			continue;
		}
		if (ctl_request_parse(line, len, &req, NULL) < 0)
			return 13;
		r = serve_request(fd, &req);
		ctl_request_done(&req);
		if (r < 0)
			return 14;
		if (r > 0)
			return 0;
	}
}

static int server_setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct server *s = calloc(1, sizeof(*s));
	int lfd, r;

	if (!s)
		return -1;
	strcpy(s->dir, "/tmp/tp-test-ctl.XXXXXX");
	if (!mkdtemp(s->dir))
		goto out_free;
	snprintf(s->path, sizeof(s->path), "%s/netd.sock", s->dir);
	strscpy(sa.sun_path, s->path, sizeof(sa.sun_path));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		goto out_rmdir;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		goto out_close;

	fflush(stdout);
	fflush(stderr);
	s->pid = fork();
	if (s->pid < 0)
		goto out_close;
	if (s->pid == 0)
		_exit(serve(lfd));
	close(lfd);

	r = ctl_client_open(s->path, &s->client);
	if (r < 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		goto out_unlink;
	}
	*state = s;
	return 0;

out_close:
	close(lfd);
out_unlink:
	unlink(s->path);
out_rmdir:
	rmdir(s->dir);
out_free:
	free(s);
	return -1;
}

static int server_teardown(void **state)
{
	struct server *s = *state;
	int status = -1;
	pid_t pid;

	/* Closing the connection ends the child. */
	s->client = ctl_client_free(s->client);
	pid = waitpid(s->pid, &status, 0);
	unlink(s->path);
	rmdir(s->dir);
	free(s);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_message("server child failed (status %#x)\n", status);
		return -1;
	}
	return 0;
}

static void test_client_result(void **state)
{
	struct ctl_client *c = ((struct server *)*state)->client;
	struct ctl_error err = {};
	json_t *res = NULL;

	assert_true(ctl_client_fd(c) >= 0);
	assert_int_equal(
		ctl_client_call(c, "echo", json_pack("{s:s}", "task_id", "t1"), 5000, &res, &err),
		0);
	assert_string_equal(jstr(res, "method"), "echo");
	assert_string_equal(jstr(json_object_get(res, "params"), "task_id"), "t1");
	assert_int_equal(jint(res, "id"), 1);
	json_decref(res);
	assert_int_equal(err.code, 0);
	assert_null(err.message);

	/* Without params the server sees an empty object; ids count up. */
	res = NULL;
	assert_int_equal(ctl_client_call(c, "echo", NULL, -1, &res, &err), 0);
	assert_true(json_is_object(json_object_get(res, "params")));
	assert_int_equal(json_object_size(json_object_get(res, "params")), 0);
	assert_int_equal(jint(res, "id"), 2);
	json_decref(res);

	/* The result may be ignored. */
	assert_int_equal(ctl_client_call(c, "echo", NULL, 5000, NULL, &err), 0);

	res = NULL;
	assert_int_equal(ctl_client_call(c, "split", NULL, 5000, &res, &err), 0);
	assert_string_equal(jstr(res, "k"), "split reply");
	json_decref(res);
}

static void test_client_error(void **state)
{
	struct ctl_client *c = ((struct server *)*state)->client;
	struct ctl_error err = {};
	json_t *res = NULL;

	assert_int_equal(
		ctl_client_call(c, "fail", json_pack("{s:s}", "task_id", "t9"), 5000, &res, &err),
		-EPROTO);
	assert_null(res);
	assert_int_equal(err.code, CTL_ERR_NOT_FOUND);
	assert_string_equal(err.message, "No such task 't9'");
	assert_string_equal(jstr(err.data, "errno"), "ENOENT");
	assert_int_equal(ctl_error_errno(&err), -ENOENT);

	assert_int_equal(ctl_client_call(c, "fail-plain", NULL, 5000, &res, &err), -EPROTO);
	assert_null(res);
	assert_int_equal(err.code, CTL_ERR_INVALID_PARAMS);
	assert_string_equal(err.message, "Unknown parameter 'x'");
	assert_null(err.data);
	assert_int_equal(ctl_error_errno(&err), 0);

	assert_int_equal(ctl_client_call(c, "no.such.method", NULL, 5000, &res, &err), -EPROTO);
	assert_int_equal(err.code, CTL_ERR_METHOD_NOT_FOUND);
	assert_string_equal(err.message, "Unknown method 'no.such.method'");
	ctl_error_done(&err);

	/* The connection is still good. */
	assert_int_equal(ctl_client_call(c, "echo", NULL, 5000, &res, &err), 0);
	assert_int_equal(jint(res, "id"), 4);
	json_decref(res);
}

static void test_client_notifications(void **state)
{
	struct ctl_client *c = ((struct server *)*state)->client;
	struct ctl_error err = {};
	json_t *res = NULL, *msg = NULL;

	/* Notifications that come before the reply are kept; a reply to another id is dropped. */
	assert_int_equal(ctl_client_call(c, "notify", NULL, 5000, &res, &err), 0);
	assert_true(json_is_true(json_object_get(res, "ok")));
	json_decref(res);

	assert_int_equal(ctl_client_next_notification(c, 0, &msg), 1);
	assert_string_equal(jstr(msg, "method"), "event");
	assert_int_equal(jint(json_object_get(msg, "params"), "seq"), 1);
	json_decref(msg);
	assert_int_equal(ctl_client_next_notification(c, 0, &msg), 1);
	assert_int_equal(jint(json_object_get(msg, "params"), "seq"), 2);
	json_decref(msg);
	/* Nothing more: the stale reply was not taken for a notification. */
	msg = NULL;
	assert_int_equal(ctl_client_next_notification(c, 0, &msg), -ETIMEDOUT);
	assert_null(msg);

	/* A notification right behind the reply, in the same read. */
	res = NULL;
	assert_int_equal(ctl_client_call(c, "reply-then-notify", NULL, 5000, &res, &err), 0);
	assert_string_equal(json_string_value(res), "done");
	json_decref(res);
	assert_int_equal(ctl_client_next_notification(c, 5000, &msg), 1);
	assert_int_equal(jint(json_object_get(msg, "params"), "seq"), 3);
	assert_null(json_object_get(msg, "id"));
	json_decref(msg);

	/* One that waits in the socket, unread: a look without waiting (timeout 0) finds it. */
	res = NULL;
	assert_int_equal(ctl_client_call(c, "reply-later-notify", NULL, 5000, &res, &err), 0);
	json_decref(res);
	{
		struct pollfd pfd = { .fd = ctl_client_fd(c), .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 5000), 1);
	}
	assert_int_equal(ctl_client_next_notification(c, 0, &msg), 1);
	assert_int_equal(jint(json_object_get(msg, "params"), "seq"), 4);
	json_decref(msg);
	assert_null(err.message);
}

static void test_client_oversized(void **state)
{
	struct ctl_client *c = ((struct server *)*state)->client;
	struct ctl_error err = {};
	json_t *res = NULL;
	char *big;

	/* The server cannot read a request this long and answers with id null; that is ours. */
	big = malloc(CTL_MAX_REQUEST + 1);
	assert_non_null(big);
	memset(big, 'b', CTL_MAX_REQUEST);
	big[CTL_MAX_REQUEST] = '\0';
	assert_int_equal(
		ctl_client_call(c, "echo", json_pack("{s:s}", "blob", big), 5000, &res, &err),
		-EPROTO);
	free(big);
	assert_null(res);
	assert_int_equal(err.code, CTL_ERR_INVALID_REQUEST);
	assert_string_equal(err.message, "Request longer than 65536 bytes");
	ctl_error_done(&err);

	/* The connection goes on. */
	assert_int_equal(ctl_client_call(c, "echo", NULL, 5000, &res, &err), 0);
	assert_int_equal(jint(res, "id"), 2);
	json_decref(res);
}

static void test_client_bad_reply(void **state)
{
	struct ctl_client *c = ((struct server *)*state)->client;
	struct ctl_error err = {};
	json_t *res = NULL;

	assert_int_equal(ctl_client_call(c, "garbage", NULL, 5000, &res, &err), -EBADMSG);
	assert_null(res);
	assert_non_null(err.message);
	assert_int_equal(ctl_error_errno(&err), -EBADMSG);
	ctl_error_done(&err);
}

static void test_client_closed(void **state)
{
	struct ctl_client *c = ((struct server *)*state)->client;
	struct ctl_error err = {};
	json_t *res = NULL, *msg = NULL;

	assert_int_equal(ctl_client_call(c, "close", NULL, 5000, &res, &err), -ECONNRESET);
	assert_null(res);
	assert_int_equal(err.code, CTL_ERR_UNAVAILABLE);
	assert_string_equal(err.message, "Connection closed before the reply arrived");
	ctl_error_done(&err);
	/* And the end of the stream for notifications. */
	assert_int_equal(ctl_client_next_notification(c, 5000, &msg), 0);
	assert_null(msg);
}

static void test_client_timeout(void **state)
{
	struct ctl_client *c = ((struct server *)*state)->client;
	struct ctl_error err = {};
	json_t *res = NULL;
	uint64_t t0, dt;

	t0 = now_usec();
	assert_int_equal(ctl_client_call(c, "hang", NULL, 20, &res, &err), -ETIMEDOUT);
	dt = now_usec() - t0;
	assert_null(res);
	assert_int_equal(err.code, CTL_ERR_TIMEOUT);
	assert_int_equal(ctl_error_errno(&err), -ETIMEDOUT);
	ctl_error_done(&err);
	assert_true(dt >= 20000);
	assert_true(dt < 5000000);
}

static void test_client_open_errors(void **state)
{
	char dir[] = "/tmp/tp-test-ctl.XXXXXX", path[PATH_MAX], longp[200];
	struct ctl_client *c = (struct ctl_client *)0x1;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.sock", dir);
	assert_int_equal(ctl_client_open(path, &c), -ENOENT);

	/* A file that is not a socket. */
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(ctl_client_open(path, &c), -ECONNREFUSED);
	assert_int_equal(unlink(path), 0);

	/* Too long for sun_path. */
	memset(longp, 'p', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(ctl_client_open(longp, &c), -ENAMETOOLONG);

	assert_ptr_equal(c, (struct ctl_client *)0x1);
	assert_null(ctl_client_free(NULL));
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_error_messages),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_json_too_deep),
		cmocka_unit_test(test_reply_result),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_notification),
		cmocka_unit_test(test_raw_result_and_notification),
		cmocka_unit_test(test_request_format),
		cmocka_unit_test(test_error_set),
		cmocka_unit_test(test_error_errno),
		cmocka_unit_test(test_error_wire_roundtrip),
		cmocka_unit_test(test_error_code_from_errno),
		cmocka_unit_test_setup_teardown(test_linebuf_lines_in_one_read, lb_setup,
						lb_teardown),
		cmocka_unit_test_setup_teardown(test_linebuf_split, lb_setup, lb_teardown),
		cmocka_unit_test_setup_teardown(test_linebuf_crlf, lb_setup, lb_teardown),
		cmocka_unit_test_setup_teardown(test_linebuf_oversized, lb_setup, lb_teardown),
		cmocka_unit_test_setup_teardown(test_linebuf_oversized_no_newline, lb_setup,
						lb_teardown),
		cmocka_unit_test_setup_teardown(test_linebuf_eof_eagain, lb_setup, lb_teardown),
		cmocka_unit_test(test_linebuf_full_size),
		cmocka_unit_test_setup_teardown(test_client_result, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_client_error, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_client_notifications, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_client_oversized, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_client_bad_reply, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_client_closed, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_client_timeout, server_setup, server_teardown),
		cmocka_unit_test(test_client_open_errors),
	};

	/* A server that goes away must show up as an error, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
