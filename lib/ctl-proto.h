/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control protocol shared by netd, netdctl, task-eni and taskvm: JSON-RPC 2.0 over a Unix
 * stream socket, one JSON object per line. docs/PROTOCOL.md is the reference.
 */
#ifndef TP_CTL_PROTO_H
#define TP_CTL_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct ctl_client;

#define CTL_DEFAULT_SOCKET "/run/netd/netd.sock"
#define CTL_MAX_REQUEST	   (64 * 1024) /* one request line, newline included */
#define CTL_MAX_DEPTH	   32	       /* nesting of arrays and objects */
#define CTL_MAX_REPLY	   (64 * 1024 * 1024)
#define CTL_SCHEMA_VERSION 1

enum ctl_error_code {
	/* JSON-RPC 2.0 */
	CTL_ERR_PARSE = -32700,
	CTL_ERR_INVALID_REQUEST = -32600,
	CTL_ERR_METHOD_NOT_FOUND = -32601,
	CTL_ERR_INVALID_PARAMS = -32602,
	CTL_ERR_INTERNAL = -32603,
	/* taskplane, in the server range */
	CTL_ERR_NOT_FOUND = -32001,
	CTL_ERR_EXISTS = -32002,
	CTL_ERR_PERMISSION = -32003,
	CTL_ERR_TIMEOUT = -32004,
	CTL_ERR_BUSY = -32005,
	CTL_ERR_KERNEL = -32006,
	CTL_ERR_LIMIT = -32007,
	CTL_ERR_CANCELLED = -32008,
	CTL_ERR_UNAVAILABLE = -32009,
};

/* An error that crosses the socket: {code, message, data}. */
struct ctl_error {
	int code;
	char *message;
	json_t *data; /* optional object, e.g. {"errno": "ENODEV"} */
};

/* A parsed request; method and params point into root. */
struct ctl_request {
	json_t *root;
	json_t *id; /* NULL for a notification */
	const char *method;
	json_t *params; /* object, or NULL when absent */
};

/* A bounded line reader over a non-blocking or blocking fd. */
struct ctl_linebuf {
	char *buf;
	size_t len, cap, max;
	size_t scanned;	 /* bytes already searched for '\n' */
	size_t pending;	 /* length of the line handed out last, dropped on the next call */
	bool discarding; /* inside an oversized line, dropping bytes up to its newline */
};

/* Free the contents of e and zero it. */
void ctl_error_done(struct ctl_error *e);
/* Fill e (freeing what it held); data is stolen. Returns code. */
int ctl_error_set(struct ctl_error *e, int code, json_t *data, const char *fmt, ...) _printf_(4, 5);
/* Fill e from a -errno with the message given; data gets {"errno": "EXXX"}. Returns the code. */
int ctl_error_set_errno(struct ctl_error *e, int err, const char *fmt, ...) _printf_(3, 4);
/* The protocol code for a -errno. */
int ctl_error_code_from_errno(int err);
/* "ENODEV" for -ENODEV or ENODEV; "E?" when unknown. */
const char *ctl_errno_name(int err);
/* The errno recorded in an error's data, as -errno, or 0. */
int ctl_error_errno(const struct ctl_error *e);

/* True if buf nests arrays/objects deeper than max (strings are skipped). */
bool ctl_json_too_deep(const char *buf, size_t len, unsigned int max);
/* Parse one request line. On failure fills err and returns a negative errno. */
int ctl_request_parse(const char *buf, size_t len, struct ctl_request *ret, struct ctl_error *err);
/* Release a parsed request. */
void ctl_request_done(struct ctl_request *r);

/* Serialise a result reply as one line ending in '\n'; result is stolen. NULL on ENOMEM. */
char *ctl_reply_result(json_t *id, json_t *result, size_t *ret_len);
/* The same with the result given as JSON text (compact, ASCII, valid: not checked), for large
 * results built without jansson. NULL on ENOMEM. */
char *ctl_reply_result_raw(json_t *id, const char *result, size_t len, size_t *ret_len);
/* Serialise an error reply as one line ending in '\n'. */
char *ctl_reply_error(json_t *id, const struct ctl_error *e, size_t *ret_len);
/* Serialise a notification (no id) as one line; params is stolen. */
char *ctl_notification(const char *method, json_t *params, size_t *ret_len);
/* The same with params given as JSON text. */
char *ctl_notification_raw(const char *method, const char *params, size_t len, size_t *ret_len);
/* Serialise a request as one line; params is stolen (may be NULL). */
char *ctl_request_format(const char *method, json_t *params, json_int_t id, size_t *ret_len);

/* Prepare a line buffer that accepts lines of up to max bytes. */
void ctl_linebuf_init(struct ctl_linebuf *lb, size_t max);
/* Free the buffer's memory. */
void ctl_linebuf_done(struct ctl_linebuf *lb);
/* read() once into the buffer: >0 bytes, 0 on EOF, -EAGAIN, or -errno. */
int ctl_linebuf_fill(struct ctl_linebuf *lb, int fd);
/*
 * Take the next complete line (without '\n', NUL-terminated in place, valid until the next
 * call). Returns 1 with a line, 0 when none is complete, -EMSGSIZE once for each oversized line
 * (its bytes are discarded up to and including its newline).
 */
int ctl_linebuf_next(struct ctl_linebuf *lb, char **ret_line, size_t *ret_len);

/* Connect to a control socket. */
int ctl_client_open(const char *path, struct ctl_client **ret);
/* Close and free; returns NULL. */
struct ctl_client *ctl_client_free(struct ctl_client *c);
/*
 * Call a method and wait up to timeout_ms (<0: forever) for its reply. params is stolen.
 * 0 with *ret_result set; -EPROTO with *ret_err filled for an error reply; other -errno for
 * transport failures (ret_err then says what failed).
 */
int ctl_client_call(struct ctl_client *c, const char *method, json_t *params, int timeout_ms,
		    json_t **ret_result, struct ctl_error *ret_err);
/*
 * Wait for the next notification on a subscribed connection: 1 with one, 0 on EOF, -errno
 * (-ETIMEDOUT when none came in time; with timeout_ms 0, when none is there now).
 */
int ctl_client_next_notification(struct ctl_client *c, int timeout_ms, json_t **ret_msg);
/* The socket fd, for poll(). */
int ctl_client_fd(struct ctl_client *c);

static inline void ctl_client_freep(struct ctl_client **c)
{
	ctl_client_free(*c);
}
#define _cleanup_ctl_client_ _cleanup_(ctl_client_freep)

static inline void ctl_error_donep(struct ctl_error *e)
{
	ctl_error_done(e);
}
#define _cleanup_ctl_error_ _cleanup_(ctl_error_donep)

#endif
