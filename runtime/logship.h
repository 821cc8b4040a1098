/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Container logs on their way out: what a container writes to its stdout and stderr pipes is
 * split into lines (pieces of LOGSHIP_LINE_MAX bytes for longer ones), written to the
 * container's local log file (logfile.h) and, for an `awslogs` container, shipped to a syslog
 * collector as RFC 5424 messages with octet-counting framing (RFC 6587 section 3.4.1) over TCP.
 * docs/logs.md has the format, the options and the guarantees.
 *
 * - logship_config: the container's awslogs options (logConfiguration.options), validated.
 * - logship_fmt: the message format (pure; the constant parts of a stream's messages are built
 *   once).
 * - logship: the shipper of one container's stream: a bounded buffer of framed messages and one
 *   TCP connection on the caller's event loop (non-blocking connect, reconnects with bounded
 *   exponential backoff), the socket created in a given network namespace and marked with a
 *   given SO_MARK. A message is kept until the collector's TCP has acknowledged all of it
 *   (SIOCOUTQ), and after a reconnect the first message not fully acknowledged is sent again,
 *   whole. mode blocking: when the buffer is full the source stops reading the pipes (the
 *   container blocks, nothing is lost); non-blocking: the oldest messages not yet handed to TCP
 *   are dropped, and counted.
 * - logship_source: a container's stdout and stderr pipes on the event loop, feeding its log
 *   file and its shipper, each line stamped with the time it was read (or, if the shipper held
 *   it back while the other pipe went on, when it was handed on: a container's lines are in
 *   time order).
 *
 * Single-threaded, on lib/event.h; nothing blocks; no logging above debug.
 */
#ifndef TP_LOGSHIP_H
#define TP_LOGSHIP_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "logfile.h"
#include "util.h"

struct event_loop;
struct logship;
struct logship_fmt;
struct logship_source;

/* Lines longer than this are shipped (and written) in pieces of this many bytes, as Docker. */
#define LOGSHIP_LINE_MAX 16384
/* The buffer of a shipper: max-buffer-size's default (Docker's ring buffer's) and its range. */
#define LOGSHIP_BUFFER_DEFAULT 1000000
#define LOGSHIP_BUFFER_MIN     (64u << 10)
#define LOGSHIP_BUFFER_MAX     (1u << 30)
/*
 * The SD-ID of the structured data element with the awslogs group and stream. 32473 is the
 * private enterprise number reserved for documentation and examples (RFC 5612): taskplane has
 * none of its own.
 */
#define LOGSHIP_SD_ID "awslogs@32473"
/* RFC 5424 field limits. */
#define LOGSHIP_HOSTNAME_MAX 255
#define LOGSHIP_APPNAME_MAX  48
/* CloudWatch Logs' limits of group and stream names. */
#define LOGSHIP_GROUP_MAX  512
#define LOGSHIP_STREAM_MAX 512
/* The default TCP port of an endpoint given without one (rsyslog's imtcp, RFC 6587's usage). */
#define LOGSHIP_PORT_DEFAULT 514

enum logship_mode {
	LOGSHIP_MODE_BLOCKING = 0,
	LOGSHIP_MODE_NON_BLOCKING = 1,
};

/* A container's awslogs options. */
struct logship_config {
	char *group;	     /* awslogs-group */
	char *region;	     /* awslogs-region (checked, carried, not used for shipping) */
	char *stream_prefix; /* awslogs-stream-prefix */
	char *endpoint;	     /* awslogs-endpoint as given: tcp://HOST[:PORT] */
	char *host;	     /* its host: an IP address or a DNS name */
	uint16_t port;
	/* The collector's address if host is an IP address; addr_len 0 if it is a name. */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	enum logship_mode mode;
	size_t max_buffer; /* max-buffer-size (non-blocking), or the default */
};

/* What a formatter puts in every message of one stream. */
struct logship_fmt_opts {
	const char *hostname;  /* HOSTNAME: PRINTUSASCII, at most 255; NULL or "": "-" */
	const char *container; /* APP-NAME (its first 48 characters) */
	const char *group;     /* SD-PARAM group */
	const char *stream;    /* SD-PARAM stream */
};

/* A shipper's counters. A message is a line or a piece of a split line. */
struct logship_stats {
	uint64_t messages;	   /* submitted: delivered + dropped + buffered */
	uint64_t delivered;	   /* acknowledged by the collector's TCP, whole */
	uint64_t delivered_bytes;  /* their frames' bytes (octet count included) */
	uint64_t dropped;	   /* non-blocking mode: dropped because the buffer was full */
	uint64_t dropped_bytes;	   /* their message bytes (the container's) */
	uint64_t resent;	   /* sent again on a new connection */
	uint64_t buffered;	   /* kept now: not yet acknowledged */
	uint64_t buffered_bytes;   /* their frames' bytes; at most the buffer's size */
	uint64_t connects;	   /* connections established */
	uint64_t connect_failures; /* attempts that failed */
	uint64_t disconnects;	   /* established connections lost */
	uint64_t resets;	   /* ... of which by a reset (the collector may have discarded
				      * acknowledged data, see docs/logs.md) */
	uint64_t full;		   /* blocking mode: times the buffer was full */
	bool connected;
	bool drained;	/* logship_drain() finished with everything delivered */
	int last_error; /* the last connection error (-errno), 0 if none */
};

/* Called when a connection is established (error 0) or lost or could not be made (-errno). */
typedef void (*logship_conn_fn)(struct logship *ls, int error, void *data);
/* Called when a drain finished: 0 (everything delivered) or -ETIMEDOUT. */
typedef void (*logship_drained_fn)(struct logship *ls, int result, void *data);
/* Called when a full buffer (blocking mode) has room again. */
typedef void (*logship_room_fn)(struct logship *ls, void *data);
/* Called when both pipes of a source reached their end and every line was handed on. */
typedef void (*logship_source_eof_fn)(struct logship_source *src, void *data);

struct logship_opts {
	const struct logship_config *config;
	const char *container; /* ECS container name: APP-NAME and the stream's middle part */
	const char *task_id;   /* the ECS task id: the stream's last part */
	const char *hostname;  /* HOSTNAME of the messages; NULL: "-" */
	int netns_fd;	       /* create sockets in this network namespace; -1: the caller's */
	uint32_t mark;	       /* SO_MARK of the socket (TC_MARK(slot, TC_FLOW_LOGS)); 0: none */
	/* The collector's address when config->host is a name (resolved by the caller). */
	const struct sockaddr *addr;
	socklen_t addr_len;
	uint64_t backoff_min_usec;     /* first reconnect delay; 0: 100 ms */
	uint64_t backoff_max_usec;     /* its bound; 0: 5 s */
	uint64_t connect_timeout_usec; /* 0: 10 s */
	uint32_t user_timeout_msec;    /* TCP_USER_TIMEOUT: unacknowledged data; 0: 30 s */
	logship_conn_fn on_conn;
	void *data;
};

struct logship_source_opts {
	int stdout_fd;	      /* read ends of the container's pipes (-1: none); taken over on */
	int stderr_fd;	      /* success, made non-blocking, closed by logship_source_free() */
	struct logfile *file; /* the container's log file, or NULL */
	struct logship *ship; /* the container's shipper, or NULL */
	logship_source_eof_fn on_eof;
	void *data;
};

/* --- options --------------------------------------------------------------------------------- */

/*
 * Validate a container's awslogs options (an object of strings, as taskdef.h keeps them) and
 * parse them. On failure returns -EINVAL and *ret_error says what is wrong.
 */
int logship_config_parse(json_t *options, struct logship_config **ret, char **ret_error);
/* Free; returns NULL. */
struct logship_config *logship_config_free(struct logship_config *c);
/* Parse a size as Docker's max-buffer-size ("1m", "512k", "1.5MiB", "65536"), in bytes. */
int logship_parse_size(const char *s, uint64_t *ret);
/* Parse an awslogs-endpoint: tcp://HOST[:PORT]; a numeric host fills addr. */
int logship_parse_endpoint(const char *s, struct logship_config *c, char **ret_error);
/* The awslogs stream name: PREFIX/CONTAINER/TASK-ID (into *ret, to free). -EINVAL if it is not
 * one CloudWatch Logs takes. */
int logship_stream_name(const char *prefix, const char *container, const char *task_id, char **ret);

/* --- format ---------------------------------------------------------------------------------- */

/* Build a formatter. -EINVAL with *ret_error for a field that cannot go into a message. */
int logship_fmt_new(const struct logship_fmt_opts *o, struct logship_fmt **ret, char **ret_error);
/* Free; returns NULL. */
struct logship_fmt *logship_fmt_free(struct logship_fmt *f);
/* The longest frame of a message of len bytes. */
size_t logship_fmt_frame_max(const struct logship_fmt *f, size_t len);
/*
 * One frame: "MSG-LEN SP SYSLOG-MSG", SYSLOG-MSG being
 * "<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [SD] MSG". Writes at most
 * logship_fmt_frame_max(f, len) bytes to buf and returns the frame's length, or -ENOSPC.
 */
ssize_t logship_fmt_frame(const struct logship_fmt *f, enum logfile_stream s, uint64_t time_nsec,
			  const void *msg, size_t len, char *buf, size_t size);

/* --- shipper --------------------------------------------------------------------------------- */

/* Create a shipper; it connects from the loop. -EINVAL with *ret_error for bad options. The
 * callbacks may not free the shipper, but for a drain's done. */
int logship_new(struct event_loop *loop, const struct logship_opts *o, struct logship **ret,
		char **ret_error);
/* Close the connection and free (what is still buffered is lost; see logship_drain()). */
struct logship *logship_free(struct logship *ls);
/*
 * Queue one message (a line without its "\n", or a piece of one). 0: kept; 1: dropped
 * (non-blocking mode, buffer full: counted); -ENOBUFS: the buffer is full (blocking mode: the
 * room callback tells when to try again); -EPIPE after logship_drain().
 */
int logship_submit(struct logship *ls, enum logfile_stream s, uint64_t time_nsec, const void *msg,
		   size_t len);
/* Set the callback for room in a full buffer (blocking mode). */
void logship_set_room_fn(struct logship *ls, logship_room_fn fn, void *data);
/*
 * No more messages: send what is buffered, half-close the connection and wait until the
 * collector closed its side with everything acknowledged (reconnecting as needed), at most
 * timeout_usec. done is called once, from the loop.
 */
int logship_drain(struct logship *ls, uint64_t timeout_usec, logship_drained_fn done, void *data);
/* Current counters. */
void logship_get_stats(const struct logship *ls, struct logship_stats *ret);
/* The mode the shipper runs in. */
enum logship_mode logship_get_mode(const struct logship *ls);

/* --- source ---------------------------------------------------------------------------------- */

/* Start reading a container's pipes. */
int logship_source_new(struct event_loop *loop, const struct logship_source_opts *o,
		       struct logship_source **ret);
/* Stop and close the pipes; returns NULL. Free a source before its shipper. */
struct logship_source *logship_source_free(struct logship_source *src);
/* Lines (and pieces) read so far, and how many of them were pieces of a longer line. */
void logship_source_get_counts(const struct logship_source *src, uint64_t *ret_lines,
			       uint64_t *ret_split);
/* True while a pipe waits for room in the shipper (blocking mode). */
bool logship_source_paused(const struct logship_source *src);
/* The last error writing the log file (-errno), 0 if none. */
int logship_source_file_error(const struct logship_source *src);

static inline void logship_config_freep(struct logship_config **c)
{
	logship_config_free(*c);
}
#define _cleanup_logship_config_ _cleanup_(logship_config_freep)

static inline void logship_fmt_freep(struct logship_fmt **f)
{
	logship_fmt_free(*f);
}
#define _cleanup_logship_fmt_ _cleanup_(logship_fmt_freep)

#endif
