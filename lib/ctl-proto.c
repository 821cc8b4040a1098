// SPDX-License-Identifier: GPL-2.0-only
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl-proto.h"

void ctl_error_done(struct ctl_error *e)
{
	if (!e)
		return;
	free(e->message);
	json_decref(e->data);
	*e = (struct ctl_error){};
}

/*
 * A message goes into a JSON reply, which takes UTF-8 only: bytes of it that are not (a request's
 * own, quoted in a parse error) become '?', or there would be no reply at all.
 */
static void utf8_scrub(char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t l = utf8_char_len(s + i, n - i);

		if (l == 0)
			s[i++] = '?';
		else
			i += l;
	}
}

static _printf_(4, 0) int ctl_error_vset(struct ctl_error *e, int code, json_t *data,
					 const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (!e) {
		json_decref(data);
		return code;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg)
		utf8_scrub(msg);
	ctl_error_done(e);
	e->code = code;
	e->message = msg;
	e->data = data;
	return code;
}

int ctl_error_set(struct ctl_error *e, int code, json_t *data, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = ctl_error_vset(e, code, data, fmt, ap);
	va_end(ap);
	return r;
}

const char *ctl_errno_name(int err)
{
	const char *n;

	if (err < 0)
		err = -err;
	n = strerrorname_np(err);
	return n ?: "E?";
}

int ctl_error_code_from_errno(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ESRCH:
	case ENXIO:
		return CTL_ERR_NOT_FOUND;
	case EEXIST:
	case EADDRINUSE:
		return CTL_ERR_EXISTS;
	case EPERM:
	case EACCES:
		return CTL_ERR_PERMISSION;
	case ETIMEDOUT:
		return CTL_ERR_TIMEOUT;
	case EBUSY:
	case EALREADY:
	case EINPROGRESS:
		return CTL_ERR_BUSY;
	case EINVAL:
	case EDOM:
	case ERANGE:
		return CTL_ERR_INVALID_PARAMS;
	case E2BIG:
	case EMSGSIZE:
	case EMFILE:
	case ENOSPC:
	case EDQUOT:
		return CTL_ERR_LIMIT;
	case ECANCELED:
		return CTL_ERR_CANCELLED;
	case ESHUTDOWN:
	case EAGAIN:
		return CTL_ERR_UNAVAILABLE;
	case ENOMEM:
		return CTL_ERR_INTERNAL;
	default:
		return CTL_ERR_KERNEL;
	}
}

int ctl_error_set_errno(struct ctl_error *e, int err, const char *fmt, ...)
{
	json_t *data;
	va_list ap;
	int r;

	data = json_pack("{s:s}", "errno", ctl_errno_name(err));
	va_start(ap, fmt);
	r = ctl_error_vset(e, ctl_error_code_from_errno(err), data, fmt, ap);
	va_end(ap);
	return r;
}

int ctl_error_errno(const struct ctl_error *e)
{
	const char *name;

	if (!e->data || !json_is_object(e->data))
		return 0;
	name = json_string_value(json_object_get(e->data, "errno"));
	if (!name)
		return 0;
	for (int i = 1; i < 200; i++) {
		const char *n = strerrorname_np(i);

		if (n && streq(n, name))
			return -i;
	}
	return 0;
}

bool ctl_json_too_deep(const char *buf, size_t len, unsigned int max)
{
	unsigned int depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return true;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return false;
}

void ctl_request_done(struct ctl_request *r)
{
	json_decref(r->root);
	*r = (struct ctl_request){};
}

int ctl_request_parse(const char *buf, size_t len, struct ctl_request *ret, struct ctl_error *err)
{
	json_auto_t *root = NULL;
	json_t *id, *method, *params, *version;
	json_error_t jerr;
	const char *key;
	json_t *v;

	if (ctl_json_too_deep(buf, len, CTL_MAX_DEPTH)) {
		ctl_error_set(err, CTL_ERR_PARSE, NULL, "Request nests deeper than %d levels",
			      CTL_MAX_DEPTH);
		return -E2BIG;
	}
	/* Any JSON value: one that is not an object is an invalid request, not a parse error. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		ctl_error_set(err, CTL_ERR_PARSE, NULL, "Parse error at line %d column %d: %s",
			      jerr.line, jerr.column, jerr.text);
		return -EBADMSG;
	}
	if (!json_is_object(root)) {
		ctl_error_set(err, CTL_ERR_INVALID_REQUEST, NULL,
			      "A request must be a JSON object");
		return -EINVAL;
	}
	id = json_object_get(root, "id");
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) {
		ctl_error_set(err, CTL_ERR_INVALID_REQUEST, NULL,
			      "Member 'id' must be a string, an integer or null");
		return -EINVAL;
	}
	version = json_object_get(root, "jsonrpc");
	if (!version || !json_is_string(version) || !streq(json_string_value(version), "2.0")) {
		ctl_error_set(err, CTL_ERR_INVALID_REQUEST, NULL,
			      "Member 'jsonrpc' must be the string \"2.0\"");
		return -EINVAL;
	}
	method = json_object_get(root, "method");
	if (!method || !json_is_string(method) || json_string_length(method) == 0) {
		ctl_error_set(err, CTL_ERR_INVALID_REQUEST, NULL,
			      "Member 'method' must be a non-empty string");
		return -EINVAL;
	}
	params = json_object_get(root, "params");
	if (params && !json_is_object(params) && !json_is_null(params)) {
		ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL,
			      "Member 'params' must be an object (by-name parameters)");
		return -EINVAL;
	}
	json_object_foreach(root, key, v) {
		if (!streq(key, "jsonrpc") && !streq(key, "method") && !streq(key, "params") &&
		    !streq(key, "id")) {
			ctl_error_set(err, CTL_ERR_INVALID_REQUEST, NULL,
				      "Unknown member '%s' in request", key);
			return -EINVAL;
		}
	}

	/* Only now: on failure root is freed, and ret must not point into it. */
	ret->id = id;
	ret->method = json_string_value(method);
	ret->params = json_is_object(params) ? params : NULL;
	ret->root = TAKE_PTR(root);
	return 0;
}

static char *dump_line(json_t *msg, size_t *ret_len)
{
	char *s;
	size_t n;

	if (!msg)
		return NULL;
	s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(msg);
	if (!s)
		return NULL;
	n = strlen(s);
	/* json_dumps allocates exactly; grow by one for the newline. */
	{
		char *t = realloc(s, n + 2);

		if (!t) {
			free(s);
			return NULL;
		}
		s = t;
	}
	s[n] = '\n';
	s[n + 1] = '\0';
	if (ret_len)
		*ret_len = n + 1;
	return s;
}

char *ctl_reply_result(json_t *id, json_t *result, size_t *ret_len)
{
	json_t *msg;

	msg = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result", result ?: json_null(), "id",
			id ?: json_null());
	return dump_line(msg, ret_len);
}

/* prefix + text + suffix + '\n', NUL-terminated. */
static char *join_line(const char *prefix, const char *text, size_t len, const char *suffix,
		       size_t *ret_len)
{
	size_t a = strlen(prefix), c = strlen(suffix), n = a + len + c + 1;
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	memcpy(s, prefix, a);
	memcpy(s + a, text, len);
	memcpy(s + a + len, suffix, c);
	s[n - 1] = '\n';
	s[n] = '\0';
	if (ret_len)
		*ret_len = n;
	return s;
}

char *ctl_reply_result_raw(json_t *id, const char *result, size_t len, size_t *ret_len)
{
	_cleanup_free_ char *ids = NULL, *suffix = NULL;

	ids = json_dumps(id ?: json_null(), JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!ids || asprintf(&suffix, ",\"id\":%s}", ids) < 0)
		return NULL;
	return join_line("{\"jsonrpc\":\"2.0\",\"result\":", result, len, suffix, ret_len);
}

char *ctl_reply_error(json_t *id, const struct ctl_error *e, size_t *ret_len)
{
	json_t *err, *msg;

	err = json_pack("{s:i, s:s}", "code", e->code, "message", e->message ?: "Unknown error");
	if (!err)
		return NULL;
	if (e->data)
		json_object_set(err, "data", e->data);
	msg = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "error", err, "id", id ?: json_null());
	return dump_line(msg, ret_len);
}

char *ctl_notification(const char *method, json_t *params, size_t *ret_len)
{
	json_t *msg;

	msg = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method, "params",
			params ?: json_object());
	return dump_line(msg, ret_len);
}

char *ctl_notification_raw(const char *method, const char *params, size_t len, size_t *ret_len)
{
	_cleanup_free_ char *ms = NULL, *prefix = NULL;
	json_t *m = json_string(method);

	ms = m ? json_dumps(m, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(m);
	if (!ms || asprintf(&prefix, "{\"jsonrpc\":\"2.0\",\"method\":%s,\"params\":", ms) < 0)
		return NULL;
	return join_line(prefix, params, len, "}", ret_len);
}

char *ctl_request_format(const char *method, json_t *params, json_int_t id, size_t *ret_len)
{
	json_t *msg;

	msg = json_pack("{s:s, s:s, s:o, s:I}", "jsonrpc", "2.0", "method", method, "params",
			params ?: json_object(), "id", id);
	return dump_line(msg, ret_len);
}

void ctl_linebuf_init(struct ctl_linebuf *lb, size_t max)
{
	*lb = (struct ctl_linebuf){ .max = max };
}

void ctl_linebuf_done(struct ctl_linebuf *lb)
{
	free(lb->buf);
	*lb = (struct ctl_linebuf){};
}

static void linebuf_consume(struct ctl_linebuf *lb, size_t n)
{
	memmove(lb->buf, lb->buf + n, lb->len - n);
	lb->len -= n;
	lb->scanned = 0;
}

static void linebuf_release(struct ctl_linebuf *lb)
{
	if (lb->pending) {
		linebuf_consume(lb, lb->pending);
		lb->pending = 0;
	}
}

int ctl_linebuf_fill(struct ctl_linebuf *lb, int fd)
{
	ssize_t n;

	linebuf_release(lb);

	if (lb->cap - lb->len < 4096) {
		size_t ncap = lb->cap ? lb->cap * 2 : 8192;
		char *nbuf;

		/* Never hold much more than one maximal line plus one read. */
		if (ncap > lb->max + 8192)
			ncap = lb->max + 8192;
		if (ncap <= lb->len)
			return -ENOBUFS;
		nbuf = realloc(lb->buf, ncap + 1);
		if (!nbuf)
			return -ENOMEM;
		lb->buf = nbuf;
		lb->cap = ncap;
	}
	do
		n = read(fd, lb->buf + lb->len, lb->cap - lb->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	lb->len += (size_t)n;
	return (int)n;
}

int ctl_linebuf_next(struct ctl_linebuf *lb, char **ret_line, size_t *ret_len)
{
	char *nl;
	size_t n;

	linebuf_release(lb);
	for (;;) {
		if (lb->len == 0)
			return 0;
		nl = memchr(lb->buf + lb->scanned, '\n', lb->len - lb->scanned);
		if (lb->discarding) {
			if (!nl) {
				lb->len = 0;
				lb->scanned = 0;
				return 0;
			}
			linebuf_consume(lb, (size_t)(nl - lb->buf) + 1);
			lb->discarding = false;
			continue;
		}
		if (!nl) {
			if (lb->len > lb->max) {
				lb->discarding = true;
				lb->len = 0;
				lb->scanned = 0;
				return -EMSGSIZE;
			}
			lb->scanned = lb->len;
			return 0;
		}
		if ((size_t)(nl - lb->buf) + 1 > lb->max) {
			linebuf_consume(lb, (size_t)(nl - lb->buf) + 1);
			return -EMSGSIZE;
		}
		break;
	}
	n = (size_t)(nl - lb->buf);
	lb->pending = n + 1;
	if (n > 0 && lb->buf[n - 1] == '\r')
		n--;
	lb->buf[n] = '\0';
	*ret_line = lb->buf;
	*ret_len = n;
	return 1;
}

struct ctl_client {
	int fd;
	json_int_t next_id;
	struct ctl_linebuf lb;
	json_t *queued; /* notifications that arrived while waiting for a reply */
};

int ctl_client_open(const char *path, struct ctl_client **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct ctl_client *c;

	if (strscpy(sa.sun_path, path, sizeof(sa.sun_path)) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = TAKE_FD(fd);
	c->next_id = 1;
	c->queued = json_array();
	ctl_linebuf_init(&c->lb, CTL_MAX_REPLY);
	*ret = c;
	return 0;
}

struct ctl_client *ctl_client_free(struct ctl_client *c)
{
	if (!c)
		return NULL;
	safe_close(c->fd);
	ctl_linebuf_done(&c->lb);
	json_decref(c->queued);
	free(c);
	return NULL;
}

int ctl_client_fd(struct ctl_client *c)
{
	return c->fd;
}

static int client_wait(struct ctl_client *c, uint64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int timeout = -1, r;

	/* Past the deadline, one look without waiting: what is there already is read. */
	if (deadline != UINT64_MAX) {
		uint64_t now = now_usec();

		timeout = now >= deadline
				  ? 0
				  : (int)MIN((deadline - now + 999) / 1000, (uint64_t)INT32_MAX);
	}
	do
		r = poll(&pfd, 1, timeout);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return 0;
}

/* Read the next message from the server: 1 with *ret, 0 on EOF, -errno. */
static int client_read_msg(struct ctl_client *c, uint64_t deadline, json_t **ret)
{
	for (;;) {
		json_error_t jerr;
		size_t len;
		char *line;
		int r;

		r = ctl_linebuf_next(&c->lb, &line, &len);
		if (r == -EMSGSIZE)
			return -EMSGSIZE;
		if (r > 0) {
			json_t *msg = json_loadb(line, len, 0, &jerr);

			if (!msg || !json_is_object(msg)) {
				json_decref(msg);
				return -EBADMSG;
			}
			*ret = msg;
			return 1;
		}
		r = client_wait(c, deadline);
		if (r < 0)
			return r;
		r = ctl_linebuf_fill(&c->lb, c->fd);
		if (r == 0)
			return 0;
		if (r < 0 && r != -EAGAIN)
			return r;
	}
}

int ctl_client_call(struct ctl_client *c, const char *method, json_t *params, int timeout_ms,
		    json_t **ret_result, struct ctl_error *ret_err)
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : now_usec() + (uint64_t)timeout_ms * 1000;
	_cleanup_free_ char *line = NULL;
	json_int_t id = c->next_id++;
	size_t len;
	int r;

	line = ctl_request_format(method, params, id, &len);
	if (!line)
		return -ENOMEM;
	r = write_all(c->fd, line, len);
	if (r < 0) {
		ctl_error_set_errno(ret_err, r, "Failed to send request: %s", strerror(-r));
		return r;
	}

	for (;;) {
		json_auto_t *msg = NULL;
		json_t *mid, *err;

		r = client_read_msg(c, deadline, &msg);
		if (r == 0) {
			ctl_error_set(ret_err, CTL_ERR_UNAVAILABLE, NULL,
				      "Connection closed before the reply arrived");
			return -ECONNRESET;
		}
		if (r < 0) {
			ctl_error_set_errno(ret_err, r, "Failed to read the reply: %s",
					    strerror(-r));
			return r;
		}
		mid = json_object_get(msg, "id");
		if (!mid) {
			/* A notification (subscriptions); keep it for ctl_client_next_notification(). */
			json_array_append(c->queued, msg);
			continue;
		}
		err = json_object_get(msg, "error");
		/*
		 * Replies to other ids are stale. An error with id null is the server failing to read
		 * our request (e.g. too long); with one call at a time, it is ours.
		 */
		if (!(err && json_is_null(mid)) &&
		    (!json_is_integer(mid) || json_integer_value(mid) != id))
			continue;
		if (err) {
			json_t *data = json_object_get(err, "data");

			ctl_error_set(
				ret_err, (int)json_integer_value(json_object_get(err, "code")),
				data ? json_incref(data) : NULL, "%s",
				json_string_value(json_object_get(err, "message")) ?: "error");
			return -EPROTO;
		}
		if (ret_result)
			*ret_result = json_incref(json_object_get(msg, "result"));
		return 0;
	}
}

int ctl_client_next_notification(struct ctl_client *c, int timeout_ms, json_t **ret_msg)
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : now_usec() + (uint64_t)timeout_ms * 1000;

	if (json_array_size(c->queued) > 0) {
		*ret_msg = json_incref(json_array_get(c->queued, 0));
		json_array_remove(c->queued, 0);
		return 1;
	}
	for (;;) {
		json_t *msg = NULL;
		int r;

		r = client_read_msg(c, deadline, &msg);
		if (r <= 0)
			return r;
		if (json_object_get(msg, "id")) {
			json_decref(msg);
			continue;
		}
		*ret_msg = msg;
		return 1;
	}
}
