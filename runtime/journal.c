// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <limits.h>

#include "journal.h"
#include "util.h"

#define JOURNAL_MAX_FILE (1024 * 1024)

struct journal {
	char *dir; /* <state dir>/tasks */
};

void journal_record_done(struct journal_record *r)
{
	json_decref(r->params);
	json_decref(r->ids);
	r->params = r->ids = NULL;
}

json_t *journal_record_to_json(const struct journal_record *r)
{
	return json_pack("{s:i, s:s, s:s, s:I, s:O, s:O}", "version", JOURNAL_VERSION, "task_id",
			 r->task_id, "netd_instance", r->instance, "registered_ns",
			 (json_int_t)r->registered_ns, "params", r->params, "ids", r->ids);
}

int journal_record_from_json(json_t *j, struct journal_record *ret, char **ret_error)
{
	const char *id = NULL, *instance = NULL;
	json_int_t registered = 0;
	json_t *params = NULL, *ids = NULL;
	json_error_t jerr;
	int version = 0;

	/* Not strict: a later version may add members (a runtime's launch state). */
	if (json_unpack_ex(j, &jerr, 0, "{s:i, s:s, s:s, s:I, s:o, s:o}", "version", &version,
			   "task_id", &id, "netd_instance", &instance, "registered_ns", &registered,
			   "params", &params, "ids", &ids) < 0)
		return fail_with(ret_error, "%s", jerr.text);
	if (version != JOURNAL_VERSION)
		return fail_with(ret_error, "version %d, not %d", version, JOURNAL_VERSION);
	if (!ident_task_id_valid(id))
		return fail_with(ret_error, "invalid task_id");
	if (!ident_instance_valid(instance))
		return fail_with(ret_error, "invalid netd_instance");
	if (!json_is_object(params) || !json_is_object(ids) || registered <= 0)
		return fail_with(ret_error, "params, ids or registered_ns invalid");
	*ret = (struct journal_record){ .registered_ns = (uint64_t)registered,
					.params = json_incref(params),
					.ids = json_incref(ids) };
	strscpy(ret->task_id, id, sizeof(ret->task_id));
	strscpy(ret->instance, instance, sizeof(ret->instance));
	return 0;
}

int journal_open(const char *dir, struct journal **ret)
{
	struct journal *j;
	int r;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	if (asprintf(&j->dir, "%s/tasks", dir) < 0) {
		free(j);
		return -ENOMEM;
	}
	r = mkdir_p(j->dir, 0700);
	if (r < 0) {
		journal_free(j);
		return r;
	}
	*ret = j;
	return 0;
}

struct journal *journal_free(struct journal *j)
{
	if (!j)
		return NULL;
	free(j->dir);
	free(j);
	return NULL;
}

static int record_path(struct journal *j, const char *task_id, char *buf, size_t size)
{
	int n;

	if (!ident_task_id_valid(task_id))
		return -EINVAL;
	n = snprintf(buf, size, "%s/%s.json", j->dir, task_id);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int journal_save(struct journal *j, const struct journal_record *r)
{
	_cleanup_free_ char *s = NULL;
	char path[PATH_MAX];
	json_t *o;
	int e;

	e = record_path(j, r->task_id, path, sizeof(path));
	if (e < 0)
		return e;
	o = journal_record_to_json(r);
	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	return write_file_exchange(path, s, strlen(s), 0600);
}

int journal_remove(struct journal *j, const char *task_id)
{
	char path[PATH_MAX];
	int r;

	r = record_path(j, task_id, path, sizeof(path));
	if (r < 0)
		return r;
	return unlink_file_exchange(path);
}

/* Read one file as a record: 0, or -errno with *why. */
static int load_one(const char *path, const char *name, struct journal_record *ret, char **why)
{
	_cleanup_free_ char *buf = NULL;
	json_auto_t *o = NULL;
	json_error_t jerr;
	size_t len, n = strlen(name);
	int r;

	r = read_file(path, JOURNAL_MAX_FILE, &buf, &len);
	if (r < 0)
		return fail_with(why, "%s", strerror(-r));
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return fail_with(why, "not JSON: %s (line %d)", jerr.text, jerr.line);
	r = journal_record_from_json(o, ret, why);
	if (r < 0)
		return r;
	/* The file's name is the task's: a record copied under another name is not taken. */
	if (n != strlen(ret->task_id) + 5 || strncmp(name, ret->task_id, n - 5) != 0) {
		journal_record_done(ret);
		return fail_with(why, "it is the record of task '%s'", ret->task_id);
	}
	return 0;
}

int journal_load(struct journal *j, void (*fn)(struct journal_record *r, void *data),
		 void (*bad)(const char *path, const char *why, void *data), void *data)
{
	struct dirent *de;
	DIR *dh;

	dh = opendir(j->dir);
	if (!dh)
		return -errno;
	while ((de = readdir(dh))) {
		char path[PATH_MAX];
		struct journal_record rec;
		_cleanup_free_ char *why = NULL;
		size_t n = strlen(de->d_name);

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", j->dir, de->d_name) >=
		    sizeof(path))
			continue;
		/* The temporary file of a write that was interrupted: the record is the old one. */
		if (strstr(de->d_name, ".json.tmp.")) {
			unlink(path);
			continue;
		}
		/* The contents before the last write (journal_save()): not the record. */
		if (file_exchange_sibling(j->dir, de->d_name, ".json"))
			continue;
		/* Not ours: reported, left alone. */
		if (n < 6 || !streq(de->d_name + n - 5, ".json") || de->d_type == DT_DIR) {
			bad(path, "not a record (ignored)", data);
			continue;
		}
		if (load_one(path, de->d_name, &rec, &why) < 0) {
			bad(path, why ?: "unreadable", data);
			unlink(path);
			continue;
		}
		fn(&rec, data);
	}
	closedir(dh);
	return 0;
}
