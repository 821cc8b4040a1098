// SPDX-License-Identifier: GPL-2.0-only
/*
 * The QMP client: a line splitter, the greeting and capabilities negotiation, commands with ids
 * matched to their replies, events. No I/O: see vm-qmp.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "util.h"
#include "vm-qmp.h"

#define QMP_LINE_MAX (1024 * 1024)

struct qmp_cmd {
	struct qmp_cmd *next;
	long id;
	char *line; /* the serialized command, with its newline */
	qmp_reply_fn cb;
	void *data;
	bool sent;
};

struct qmp {
	qmp_event_fn on_event;
	void *userdata;
	char *in;
	size_t in_len, in_size;
	char *out;
	size_t out_len, out_size;
	struct qmp_cmd *cmds; /* in order: sent ones first, then those held until ready */
	long next_id;
	bool greeted;
	bool ready;
	char version[32];
};

int qmp_new(qmp_event_fn on_event, void *userdata, struct qmp **ret)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->on_event = on_event;
	q->userdata = userdata;
	q->next_id = 1;
	*ret = q;
	return 0;
}

static struct qmp_cmd *cmd_free(struct qmp_cmd *c)
{
	if (c) {
		free(c->line);
		free(c);
	}
	return NULL;
}

struct qmp *qmp_free(struct qmp *q)
{
	struct qmp_cmd *c;

	if (!q)
		return NULL;
	while ((c = q->cmds)) {
		q->cmds = c->next;
		if (c->cb)
			c->cb(q, NULL, "Disconnected", "the monitor connection is closed", c->data);
		cmd_free(c);
	}
	free(q->in);
	free(q->out);
	free(q);
	return NULL;
}

static int out_append(struct qmp *q, const char *s, size_t n)
{
	if (q->out_len + n > q->out_size) {
		size_t size = q->out_size ? q->out_size : 1024;
		char *p;

		while (size < q->out_len + n)
			size *= 2;
		p = realloc(q->out, size);
		if (!p)
			return -ENOMEM;
		q->out = p;
		q->out_size = size;
	}
	memcpy(q->out + q->out_len, s, n);
	q->out_len += n;
	return 0;
}

/* Put every command not sent yet on the wire, if the session is ready (or it is the first). */
static int flush_cmds(struct qmp *q)
{
	for (struct qmp_cmd *c = q->cmds; c; c = c->next) {
		int r;

		if (c->sent)
			continue;
		if (!q->ready && c->id != 0)
			break;
		r = out_append(q, c->line, strlen(c->line));
		if (r < 0)
			return r;
		c->sent = true;
	}
	return 0;
}

static int queue(struct qmp *q, long id, const char *name, json_t *args, qmp_reply_fn cb,
		 void *data, bool first)
{
	json_auto_t *j = NULL;
	struct qmp_cmd *c, **tail;
	char *s;

	j = json_pack("{s:s, s:I}", "execute", name, "id", (json_int_t)id);
	if (!j) {
		json_decref(args);
		return -ENOMEM;
	}
	if (args && json_object_set_new(j, "arguments", args) < 0)
		return -ENOMEM;
	s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c || asprintf(&c->line, "%s\n", s) < 0) {
		free(s);
		free(c);
		return -ENOMEM;
	}
	free(s);
	c->id = id;
	c->cb = cb;
	c->data = data;
	if (first) {
		c->next = q->cmds;
		q->cmds = c;
	} else {
		for (tail = &q->cmds; *tail; tail = &(*tail)->next)
			;
		*tail = c;
	}
	return flush_cmds(q);
}

int qmp_command(struct qmp *q, const char *name, json_t *args, qmp_reply_fn cb, void *data)
{
	long id = q->next_id++;
	int r;

	r = queue(q, id, name, args, cb, data, false);
	return r < 0 ? r : (int)id;
}

static void capabilities_done(struct qmp *q, json_t *ret, const char *error_class,
			      const char *error_desc, void *data)
{
	if (!ret)
		return; /* the commands held stay held; their owner sees no ready */
	q->ready = true;
	(void)flush_cmds(q);
}

static int handle_greeting(struct qmp *q, json_t *greeting)
{
	json_t *v = json_object_get(json_object_get(greeting, "version"), "qemu");

	if (!json_is_object(greeting))
		return -EPROTO;
	if (json_is_object(v))
		snprintf(q->version, sizeof(q->version), "%d.%d.%d", (int)json_int(v, "major"),
			 (int)json_int(v, "minor"), (int)json_int(v, "micro"));
	q->greeted = true;
	/* id 0: the negotiation goes first, before every command queued so far. */
	return queue(q, 0, "qmp_capabilities", NULL, capabilities_done, NULL, true);
}

static int handle_reply(struct qmp *q, json_t *msg)
{
	json_t *id = json_object_get(msg, "id"), *ret = json_object_get(msg, "return");
	json_t *err = json_object_get(msg, "error");
	struct qmp_cmd **p, *c;

	if (!json_is_integer(id))
		return -EBADMSG;
	for (p = &q->cmds; (c = *p); p = &c->next)
		if (c->sent && c->id == json_integer_value(id))
			break;
	if (!c)
		return -EBADMSG;
	*p = c->next;
	if (c->cb) {
		if (ret)
			c->cb(q, ret, NULL, NULL, c->data);
		else
			c->cb(q, NULL, json_str(err, "class") ?: "GenericError",
			      json_str(err, "desc") ?: "", c->data);
	}
	cmd_free(c);
	return 0;
}

static int handle_line(struct qmp *q, const char *line, size_t len)
{
	json_auto_t *msg = NULL;
	json_error_t error;
	const char *event;

	msg = json_loadb(line, len, 0, &error);
	if (!json_is_object(msg))
		return -EBADMSG;
	if (json_object_get(msg, "QMP"))
		return handle_greeting(q, json_object_get(msg, "QMP"));
	if (!q->greeted)
		return -EPROTO;
	event = json_str(msg, "event");
	if (event) {
		if (q->on_event)
			q->on_event(q, event, json_object_get(msg, "data"), q->userdata);
		return 0;
	}
	if (json_object_get(msg, "return") || json_object_get(msg, "error"))
		return handle_reply(q, msg);
	return -EBADMSG;
}

int qmp_feed(struct qmp *q, const void *buf, size_t len)
{
	size_t start = 0;
	char *nl;
	int r = 0;

	if (q->in_len + len > q->in_size) {
		size_t size = q->in_size ? q->in_size : 4096;
		char *p;

		while (size < q->in_len + len)
			size *= 2;
		if (size > 2 * QMP_LINE_MAX)
			return -EMSGSIZE;
		p = realloc(q->in, size);
		if (!p)
			return -ENOMEM;
		q->in = p;
		q->in_size = size;
	}
	memcpy(q->in + q->in_len, buf, len);
	q->in_len += len;

	while ((nl = memchr(q->in + start, '\n', q->in_len - start))) {
		size_t n = nl - (q->in + start);

		/* qemu ends lines with \r\n */
		r = handle_line(q, q->in + start, n && nl[-1] == '\r' ? n - 1 : n);
		start += n + 1;
		if (r < 0)
			break;
	}
	memmove(q->in, q->in + start, q->in_len - start);
	q->in_len -= start;
	if (r == 0 && q->in_len > QMP_LINE_MAX)
		return -EMSGSIZE;
	return r;
}

const char *qmp_output(struct qmp *q, size_t *ret_len)
{
	*ret_len = q->out_len;
	return q->out;
}

void qmp_output_consumed(struct qmp *q, size_t n)
{
	if (n > q->out_len)
		n = q->out_len;
	if (n == 0)
		return;
	memmove(q->out, q->out + n, q->out_len - n);
	q->out_len -= n;
}

bool qmp_ready(const struct qmp *q)
{
	return q->ready;
}

const char *qmp_version(const struct qmp *q)
{
	return q->version[0] ? q->version : NULL;
}
