// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal: what netd meant to build. Each task is a file in the run directory
 * (state/tasks/<id>.json), so that a step of one attach rewrites a few hundred bytes, not the
 * state of every task; tasks do not outlive a reboot, and neither does the run directory. The
 * ENI registrations do: they are one file in the state directory (enis.json). Files are
 * replaced atomically (write, then rename).
 */
#include <dirent.h>
#include <limits.h>

#include "log.h"
#include "netd.h"

#define STATE_MAX_FILE (1024 * 1024)

static int state_path(struct netd *d, const char *rel, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", d->state_dir, rel);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The ENI registrations, in the state directory; and where netd before 0.x kept them. */
static int enis_path(struct netd *d, bool old, char *buf, size_t size)
{
	int n = old ? snprintf(buf, size, "%s/enis.json", d->state_dir)
		    : snprintf(buf, size, "%s/enis.json", d->persist_dir);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int state_init(struct netd *d)
{
	char path[PATH_MAX];
	int r;

	if (asprintf(&d->state_dir, "%s/state", d->run_dir) < 0)
		return -ENOMEM;
	r = state_path(d, "tasks", path, sizeof(path));
	if (r < 0)
		return r;
	r = mkdir_p(path, 0700);
	if (r < 0)
		return r;
	return mkdir_p(d->persist_dir, 0755);
}

static int write_json(const char *path, json_t *j)
{
	_cleanup_free_ char *s = NULL;

	if (!j)
		return -ENOMEM;
	s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		return -ENOMEM;
	return write_file_atomic(path, s, strlen(s), 0600);
}

int state_save_enis(struct netd *d)
{
	char path[PATH_MAX];
	json_t *arr, *root;
	int r;

	r = enis_path(d, false, path, sizeof(path));
	if (r < 0)
		return r;
	arr = json_array();
	for (struct eni *e = d->enis; e; e = e->next)
		json_array_append_new(arr, eni_to_journal(e));
	root = json_pack("{s:i, s:o}", "version", 1, "enis", arr);
	return write_json(path, root);
}

int state_save_task(struct netd *d, const struct task *t)
{
	char path[PATH_MAX], rel[IDENT_TASK_ID_MAX + 16];
	int r;

	snprintf(rel, sizeof(rel), "tasks/%s.json", t->id);
	r = state_path(d, rel, path, sizeof(path));
	if (r < 0)
		return r;
	return write_json(path, task_to_json(t, true));
}

int state_remove_task(struct netd *d, const char *id)
{
	char path[PATH_MAX], rel[IDENT_TASK_ID_MAX + 16];
	int r;

	snprintf(rel, sizeof(rel), "tasks/%s.json", id);
	r = state_path(d, rel, path, sizeof(path));
	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int load_json(const char *path, json_t **ret)
{
	_cleanup_free_ char *buf = NULL;
	json_error_t jerr;
	size_t len;
	json_t *j;
	int r;

	r = read_file(path, STATE_MAX_FILE, &buf, &len);
	if (r < 0)
		return r;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		log_warn("Journal file '%s' is corrupt (%s at line %d), ignoring it", path,
			 jerr.text, jerr.line);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

static void load_enis_from(struct netd *d, json_t *root)
{
	json_t *arr, *v;
	size_t i;

	arr = json_object_get(root, "enis");
	json_array_foreach(arr, i, v) {
		struct eni *e;

		if (eni_from_json(v, &e) < 0)
			continue;
		if (eni_find(d, e->mac) || d->nenis >= NETD_MAX_ENIS) {
			free(e);
			continue;
		}
		e->next = d->enis;
		d->enis = e;
		d->nenis++;
	}
}

/*
 * The ENI registrations from the state directory. A file that cannot be parsed is kept aside
 * (enis.json.broken) rather than overwritten by the next registration. A journal of the ENIs in
 * the run directory (where older netds kept them) is read once, written to the state directory
 * and removed. Logs its errors.
 */
static int load_enis(struct netd *d)
{
	char path[PATH_MAX], old[PATH_MAX], aside[PATH_MAX + 8];
	json_auto_t *root = NULL, *old_root = NULL;
	int r;

	r = enis_path(d, false, path, sizeof(path));
	if (r >= 0)
		r = enis_path(d, true, old, sizeof(old));
	if (r < 0)
		return r;
	r = load_json(path, &root);
	if (r == -EBADMSG) {
		snprintf(aside, sizeof(aside), "%s.broken", path);
		if (rename(path, aside) < 0)
			return log_err_errno(errno, "Failed to move '%s' aside: %m", path);
		log_warn(
			"The ENI registrations in '%s' cannot be read: kept as '%s', starting without them",
			path, aside);
	} else if (r < 0 && r != -ENOENT) {
		return log_err_errno(r, "Failed to read '%s': %m", path);
	}

	if (load_json(old, &old_root) == 0) {
		if (root) {
			log_warn(
				"Ignoring the ENI journal '%s' of an older netd: '%s' holds the registrations",
				old, path);
		} else {
			load_enis_from(d, old_root);
			r = state_save_enis(d);
			if (r < 0)
				return log_err_errno(r, "Failed to write '%s': %m", path);
			log_notice("Moved %u ENI registrations from '%s' to '%s'", d->nenis, old,
				   path);
		}
	}
	if (unlink(old) < 0 && errno != ENOENT)
		log_warn_errno(errno, "Failed to remove '%s': %m, ignoring", old);
	if (root)
		load_enis_from(d, root);
	return 0;
}

static int load_tasks(struct netd *d)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *dh;
	int r;

	r = state_path(d, "tasks", dir, sizeof(dir));
	if (r < 0)
		return r;
	dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh))) {
		char path[PATH_MAX + 256];
		json_auto_t *j = NULL;
		size_t n = strlen(de->d_name);
		struct task *t;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* Temporary files of a write that was interrupted. */
		if (n < 6 || !streq(de->d_name + n - 5, ".json")) {
			unlink(path);
			continue;
		}
		if (load_json(path, &j) < 0)
			continue;
		r = task_from_json(d, j, &t);
		if (r < 0) {
			log_warn_errno(r, "Ignoring journal file '%s': %m", path);
			continue;
		}
		t->next = d->tasks;
		d->tasks = t;
		d->ntasks++;
	}
	closedir(dh);
	return 0;
}

int state_load(struct netd *d)
{
	int r;

	r = load_enis(d);
	if (r < 0)
		return r;
	r = load_tasks(d);
	if (r < 0)
		return log_err_errno(r, "Failed to read the journal in '%s': %m", d->state_dir);
	return 0;
}
