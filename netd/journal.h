/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The journal: every record netd keeps on disk, written by this one module. A record is a file,
 * replaced atomically: written into its sibling NAME.json.next, then the two names exchanged
 * (write_file_exchange(): no inode allocated per write). What does not outlive a reboot lives in
 * the run directory's state/: tasks, holds, pending teardowns, counters, final counters; the
 * ENI registrations, which do, in the state directory.
 */
#ifndef NETD_JOURNAL_H
#define NETD_JOURNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct journal;

/* The kinds of record, each with its place and its format. */
enum journal_kind {
	JOURNAL_ENIS,	  /* STATE_DIR/enis.json: the ENI registrations, one record */
	JOURNAL_ENIS_OLD, /* RUN_DIR/state/enis.json: where older netds kept them */
	JOURNAL_TASK,	  /* RUN_DIR/state/tasks/ID.json */
	JOURNAL_HOLD,	  /* RUN_DIR/state/holds/SLOT.json */
	JOURNAL_REAP,	  /* RUN_DIR/state/reap/SLOT.json: teardown handed to the reaper */
	JOURNAL_COUNTERS, /* RUN_DIR/state/counters/ID.json: an attach's counters */
	JOURNAL_FINAL,	  /* RUN_DIR/state/final/ID@CREATED.json: final counters, JSON text */
	JOURNAL_PLATFORM, /* RUN_DIR/state/platforms/NAME.json: a platform ENI */
	_JOURNAL_KIND_MAX,
};

/* Called for each record of a kind by journal_foreach(); a non-zero return stops it. */
typedef int (*journal_record_fn)(struct journal *j, const char *name, void *data);

/* Create the directories of every kind (run_dir's state/, and state_dir). */
int journal_new(const char *run_dir, const char *state_dir, struct journal **ret);
/* Returns NULL. */
struct journal *journal_free(struct journal *j);
/* The file of a record (name NULL for the one-record kinds), for messages. */
int journal_path(struct journal *j, enum journal_kind kind, const char *name, char *buf,
		 size_t size);
/* The directory of a kind's records. */
const char *journal_dir(struct journal *j, enum journal_kind kind);

/* Write a record: v is stolen (NULL is -ENOMEM). */
int journal_save(struct journal *j, enum journal_kind kind, const char *name, json_t *v);
/* Write a record of JSON text as it is (final counters). */
int journal_save_text(struct journal *j, enum journal_kind kind, const char *name, const char *text,
		      size_t len);
/* Remove a record; one that is not there is no error. */
int journal_remove(struct journal *j, enum journal_kind kind, const char *name);
/* Move a record that cannot be read aside, as NAME.broken, rather than overwrite it. */
int journal_set_aside(struct journal *j, enum journal_kind kind, const char *name);

/*
 * Read a record: -ENOENT when there is none, -EBADMSG when it is not JSON (error, if given,
 * says why), -EFBIG past the kind's size.
 */
int journal_load(struct journal *j, enum journal_kind kind, const char *name, json_t **ret,
		 json_error_t *error);
/* journal_load(), with a warning that names the file of a record that is not JSON. */
int journal_load_warn(struct journal *j, enum journal_kind kind, const char *name, json_t **ret);
/* Read a record's text, and when it was written (CLOCK_REALTIME, ns; 0 if unknown). */
int journal_load_text(struct journal *j, enum journal_kind kind, const char *name, char **ret,
		      size_t *ret_len, uint64_t *ret_mtime_ns);
/*
 * Call fn with the name of every record of a kind (file name without ".json"); files that are
 * no record (a write cut short leaves a temporary file) are removed. 0 when the directory is
 * not there.
 */
int journal_foreach(struct journal *j, enum journal_kind kind, journal_record_fn fn, void *data);

#endif
