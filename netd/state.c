// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal: what netd meant to build, in the run directory. The ENI inventory is one file,
 * each task another (tasks/<id>.json), so that a step of one attach rewrites a few hundred bytes,
 * not the state of every task. Files are replaced atomically (write, then rename).
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

int state_init(struct netd *d)
{
	char path[PATH_MAX];
	int r;

	if (asprintf(&d->state_dir, "%s/state", d->run_dir) < 0)
		return -ENOMEM;
	r = state_path(d, "tasks", path, sizeof(path));
	if (r < 0)
		return r;
	return mkdir_p(path, 0700);
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

	r = state_path(d, "enis.json", path, sizeof(path));
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

static int load_enis(struct netd *d)
{
	char path[PATH_MAX];
	json_auto_t *root = NULL;
	json_t *arr, *v;
	size_t i;
	int r;

	r = state_path(d, "enis.json", path, sizeof(path));
	if (r < 0)
		return r;
	r = load_json(path, &root);
	if (r == -ENOENT || r == -EBADMSG)
		return 0;
	if (r < 0)
		return r;
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
	return load_tasks(d);
}
