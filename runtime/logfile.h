/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The local log files of a task's containers, which `taskvm logs` reads: one file per container,
 * DIR/<container>.log, in Docker's json-file shape (one JSON object per line:
 * {"log":"...","stream":"stdout"|"stderr","time":"<RFC 3339, 9 digits, UTC>"}), "log" ending in
 * "\n" for a complete line and not for a piece of a split line or a last line without a newline.
 * A file is bounded: when the next entry would take it over its size, it is renamed to
 * <container>.log.1 (replacing the previous one) and a new file is started, so a container keeps
 * at most twice the bound. Bytes that are not UTF-8 are written as U+FFFD, as Docker does.
 *
 * The reader returns the entries of one container, or of all containers of the directory merged
 * in time order, and follows the files (inotify) as they grow and rotate. docs/logs.md.
 * Single-threaded; no logging above debug.
 */
#ifndef TP_LOGFILE_H
#define TP_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct logfile;
struct logfile_reader;

#define LOGFILE_SUFFIX		 ".log"
#define LOGFILE_MAX_SIZE_DEFAULT (10u << 20)
/* Large enough for the longest entry (16 KiB of control characters, each written as \u00XX). */
#define LOGFILE_MAX_SIZE_MIN (128u << 10)
#define LOGFILE_MAX_SIZE_MAX (1ull << 40)
/* The longest line a reader takes; longer lines are skipped as malformed. */
#define LOGFILE_LINE_MAX (256u << 10)

/* Which of the container's outputs an entry came from. */
enum logfile_stream {
	LOGFILE_STDOUT = 0,
	LOGFILE_STDERR = 1,
};

struct logfile_opts {
	const char *dir;       /* existing directory */
	const char *container; /* an ECS container name: the file is <dir>/<container>.log */
	uint64_t max_size;     /* 0: LOGFILE_MAX_SIZE_DEFAULT; else LOGFILE_MAX_SIZE_MIN..MAX */
};

/* One entry, as read back. data/container stay valid until the next call on the reader. */
struct logfile_entry {
	uint64_t time_nsec; /* realtime, nanoseconds since the epoch */
	enum logfile_stream stream;
	const char *container;
	const char *data; /* the "log" value, with its "\n" if the line was complete */
	size_t len;
};

struct logfile_reader_opts {
	const char *dir;
	const char *container; /* NULL: every <name>.log of dir, merged by time */
	bool follow;	       /* watch the directory (logfile_reader_fd()) */
};

/* "stdout" or "stderr". */
const char *logfile_stream_to_string(enum logfile_stream s);

/* Open (append to) a container's log file. -EINVAL for a bad name or size. */
int logfile_open(const struct logfile_opts *o, struct logfile **ret);
/* Flush and close; returns NULL. */
struct logfile *logfile_close(struct logfile *f);
/*
 * Add one entry (buffered: written by logfile_flush() or when the buffer fills). newline says
 * whether the line was complete; data holds the line without its "\n".
 */
int logfile_append(struct logfile *f, enum logfile_stream s, uint64_t time_nsec, const void *data,
		   size_t len, bool newline);
/* Write what is buffered. */
int logfile_flush(struct logfile *f);
/* Bytes in the current file, buffered ones included. */
uint64_t logfile_size(const struct logfile *f);
/* Rotations done since the file was opened. */
unsigned int logfile_rotations(const struct logfile *f);

/*
 * Parse one line of a log file (without its "\n"). *ret's data points into a buffer *ret_buf
 * that the caller frees (container is left NULL). -EINVAL if the line is not an entry.
 */
int logfile_parse_line(const char *line, size_t len, struct logfile_entry *ret, char **ret_buf);
/* Format one entry as a line with its "\n" (into *ret, to free); returns its length. */
int logfile_format_line(enum logfile_stream s, uint64_t time_nsec, const void *data, size_t len,
			bool newline, char **ret);

/* Open a reader. -ENOENT if a named container has no file. */
int logfile_reader_open(const struct logfile_reader_opts *o, struct logfile_reader **ret);
/* Free; returns NULL. */
struct logfile_reader *logfile_reader_free(struct logfile_reader *r);
/*
 * The next entry in time order: 1 and *ret filled, 0 when there is nothing more for now (with
 * follow: wait for logfile_reader_fd() to be readable, call logfile_reader_wake(), try again).
 */
int logfile_reader_next(struct logfile_reader *r, struct logfile_entry *ret);
/* With follow: an fd that becomes readable when the directory changes; -1 without. */
int logfile_reader_fd(const struct logfile_reader *r);
/* With follow: consume the fd's events and pick up new containers' files. */
int logfile_reader_wake(struct logfile_reader *r);
/* Lines skipped because they were not entries (a torn write, a foreign file). */
uint64_t logfile_reader_skipped(const struct logfile_reader *r);

static inline void logfile_closep(struct logfile **f)
{
	logfile_close(*f);
}
#define _cleanup_logfile_ _cleanup_(logfile_closep)

static inline void logfile_reader_freep(struct logfile_reader **r)
{
	logfile_reader_free(*r);
}
#define _cleanup_logfile_reader_ _cleanup_(logfile_reader_freep)

#endif
