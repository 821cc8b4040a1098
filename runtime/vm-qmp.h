/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A QMP client (the QEMU Machine Protocol: JSON objects, one a line) that does no I/O itself, so
 * that it fits any event loop: the owner feeds it what it read from qemu's monitor socket and
 * writes out what it has queued. It answers the greeting with qmp_capabilities; commands queued
 * before that are held until the negotiation is done, then sent in order. Each command gets an
 * "id" and its reply goes to its callback; asynchronous events (SHUTDOWN, POWERDOWN, STOP, ...)
 * go to the event callback. Non-logging: errors as -errno.
 */
#ifndef TP_VM_QMP_H
#define TP_VM_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct qmp;

/*
 * The reply of a command: ret is its "return" (borrowed), or NULL and error_class/error_desc
 * say why it failed ("GenericError", ...), or the connection went away ("Disconnected").
 */
typedef void (*qmp_reply_fn)(struct qmp *q, json_t *ret, const char *error_class,
			     const char *error_desc, void *data);
/* An event: its name and its "data" (borrowed, may be NULL). */
typedef void (*qmp_event_fn)(struct qmp *q, const char *event, json_t *data, void *userdata);

/* A client; events go to on_event (may be NULL). */
int qmp_new(qmp_event_fn on_event, void *userdata, struct qmp **ret);
/* Free; the replies still awaited are called with "Disconnected". Returns NULL. */
struct qmp *qmp_free(struct qmp *q);
/*
 * Bytes read from the monitor. Lines are parsed as they complete: -EBADMSG for a line that is not
 * a JSON object or a reply to no command of ours, -EPROTO for a server without the greeting's
 * shape, -EMSGSIZE for a line over 1 MiB. Callbacks run from here.
 */
int qmp_feed(struct qmp *q, const void *buf, size_t len);
/*
 * Queue command name with args (stolen, may be NULL); cb (may be NULL) gets its reply. Returns
 * the command's id (> 0) or -errno.
 */
int qmp_command(struct qmp *q, const char *name, json_t *args, qmp_reply_fn cb, void *data);
/* What is queued for writing: a pointer into the client and its length (0: nothing). */
const char *qmp_output(struct qmp *q, size_t *ret_len);
/* n bytes of qmp_output() were written. */
void qmp_output_consumed(struct qmp *q, size_t n);
/* The greeting was answered and qmp_capabilities succeeded. */
bool qmp_ready(const struct qmp *q);
/* qemu's version from the greeting ("7.2.22"), NULL before it. */
const char *qmp_version(const struct qmp *q);

#endif
