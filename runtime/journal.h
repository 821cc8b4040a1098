/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's journal: one record per registered task, kept in a state directory (the agent's
 * --state-dir, /var/lib/taskvm: registrations outlive a restart of the agent and of the host's
 * services) as tasks/<task id>.json, each replaced atomically (write_file_exchange(), with
 * tasks/<task id>.json.next beside it: the record before). A record is what the
 * registration said and the ids it handed out; the agent validates each against netd when it
 * starts. A runtime that launches tasks itself adds its launch state as a member of its own.
 */
#ifndef TP_JOURNAL_H
#define TP_JOURNAL_H

#include <jansson.h>
#include <stdint.h>

#include "ident.h"

struct journal;

#define JOURNAL_VERSION 1

/* One registration. */
struct journal_record {
	char task_id[IDENT_TASK_ID_MAX + 1];   /* netd's task id, and the file's name */
	char instance[IDENT_INSTANCE_LEN + 1]; /* the instance of netd's task it is bound to */
	uint64_t registered_ns;
	json_t *params; /* task.register's parameters, as given */
	json_t *ids;	/* the ids handed out (tmds_task_ids_json()) */
};

/* Release a record's contents. */
void journal_record_done(struct journal_record *r);
/* The record as the file holds it. */
json_t *journal_record_to_json(const struct journal_record *r);
/* Read a record (its contents are taken by reference); -EINVAL with *ret_error if invalid. */
int journal_record_from_json(json_t *j, struct journal_record *ret, char **ret_error);

/* Open (and create, mode 0700) the journal in dir. */
int journal_open(const char *dir, struct journal **ret);
/* Close; returns NULL. */
struct journal *journal_free(struct journal *j);
/* Write a task's record, atomically (mode 0600: it holds the task's bearer ids). */
int journal_save(struct journal *j, const struct journal_record *r);
/* Remove a task's record (none there is no error). */
int journal_remove(struct journal *j, const char *task_id);
/*
 * Call fn for every record, in no order (r is the callee's to release). Records that cannot be
 * read are removed, each reported to bad with why; other files are reported and left alone.
 * Returns 0 or -errno for the directory itself.
 */
int journal_load(struct journal *j, void (*fn)(struct journal_record *r, void *data),
		 void (*bad)(const char *path, const char *why, void *data), void *data);

#endif
