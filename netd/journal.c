// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "journal.h"
#include "log.h"
#include "util.h"

/* Where and how each kind is kept. */
static const struct {
	bool persistent;  /* in the state directory, else the run directory's state/ */
	const char *sub;  /* a directory of records, or NULL: the kind is the one file */
	const char *file; /* the one file */
	size_t dump;	  /* jansson's dump flags; 0: JSON text given as is */
	size_t load;	  /* jansson's load flags */
	size_t max;	  /* bytes read at the most */
} kinds[_JOURNAL_KIND_MAX] = {
	[JOURNAL_ENIS] = { .persistent = true,
			   .file = "enis.json",
			   .dump = JSON_INDENT(1) | JSON_SORT_KEYS,
			   .load = JSON_REJECT_DUPLICATES,
			   .max = 1024 * 1024 },
	[JOURNAL_ENIS_OLD] = { .file = "enis.json",
			       .dump = JSON_INDENT(1) | JSON_SORT_KEYS,
			       .load = JSON_REJECT_DUPLICATES,
			       .max = 1024 * 1024 },
	[JOURNAL_TASK] = { .sub = "tasks",
			   .dump = JSON_INDENT(1) | JSON_SORT_KEYS,
			   .load = JSON_REJECT_DUPLICATES,
			   .max = 1024 * 1024 },
	[JOURNAL_HOLD] = { .sub = "holds",
			   .dump = JSON_COMPACT | JSON_SORT_KEYS,
			   .load = JSON_REJECT_DUPLICATES,
			   .max = 64 * 1024 },
	[JOURNAL_REAP] = { .sub = "reap", .dump = JSON_COMPACT, .max = 4096 },
	[JOURNAL_COUNTERS] = { .sub = "counters", .dump = JSON_SORT_KEYS, .max = 256 * 1024 },
	[JOURNAL_FINAL] = { .sub = "final", .max = 256 * 1024 },
	[JOURNAL_PLATFORM] = { .sub = "platforms",
			       .dump = JSON_INDENT(1) | JSON_SORT_KEYS,
			       .load = JSON_REJECT_DUPLICATES,
			       .max = 1024 * 1024 },
};

struct journal {
	char *run_state; /* RUN_DIR/state */
	char *persist;	 /* STATE_DIR */
	char *dirs[_JOURNAL_KIND_MAX];
};

struct journal *journal_free(struct journal *j)
{
	if (!j)
		return NULL;
	for (size_t k = 0; k < _JOURNAL_KIND_MAX; k++)
		free(j->dirs[k]);
	free(j->run_state);
	free(j->persist);
	free(j);
	return NULL;
}

int journal_new(const char *run_dir, const char *state_dir, struct journal **ret)
{
	struct journal *j;
	int r;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	if (asprintf(&j->run_state, "%s/state", run_dir) < 0 || !(j->persist = strdup(state_dir))) {
		journal_free(j);
		return -ENOMEM;
	}
	for (size_t k = 0; k < _JOURNAL_KIND_MAX; k++) {
		const char *base = kinds[k].persistent ? j->persist : j->run_state;

		if (kinds[k].sub ? asprintf(&j->dirs[k], "%s/%s", base, kinds[k].sub) < 0
				 : !(j->dirs[k] = strdup(base))) {
			journal_free(j);
			return -ENOMEM;
		}
		r = mkdir_p(j->dirs[k], kinds[k].persistent ? 0755 : 0700);
		if (r < 0) {
			journal_free(j);
			return r;
		}
	}
	*ret = j;
	return 0;
}

const char *journal_dir(struct journal *j, enum journal_kind kind)
{
	return j->dirs[kind];
}

int journal_path(struct journal *j, enum journal_kind kind, const char *name, char *buf,
		 size_t size)
{
	int n;

	if (kinds[kind].sub)
		n = name ? snprintf(buf, size, "%s/%s.json", j->dirs[kind], name) : -1;
	else
		n = snprintf(buf, size, "%s/%s", j->dirs[kind], kinds[kind].file);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int journal_save_text(struct journal *j, enum journal_kind kind, const char *name, const char *text,
		      size_t len)
{
	char path[PATH_MAX];
	int r;

	r = journal_path(j, kind, name, path, sizeof(path));
	if (r < 0)
		return r;
	/* (a record is rewritten at every step: write_file_exchange() allocates no inode) */
	return write_file_exchange(path, text, len, 0600);
}

int journal_save(struct journal *j, enum journal_kind kind, const char *name, json_t *v)
{
	_cleanup_free_ char *s = NULL;

	if (!v)
		return -ENOMEM;
	s = json_dumps(v, kinds[kind].dump);
	json_decref(v);
	if (!s)
		return -ENOMEM;
	return journal_save_text(j, kind, name, s, strlen(s));
}

int journal_remove(struct journal *j, enum journal_kind kind, const char *name)
{
	char path[PATH_MAX];
	int r;

	r = journal_path(j, kind, name, path, sizeof(path));
	if (r < 0)
		return r;
	return unlink_file_exchange(path);
}

int journal_set_aside(struct journal *j, enum journal_kind kind, const char *name)
{
	char path[PATH_MAX], aside[PATH_MAX + 8];
	int r;

	r = journal_path(j, kind, name, path, sizeof(path));
	if (r < 0)
		return r;
	snprintf(aside, sizeof(aside), "%s.broken", path);
	return RET_NERRNO(rename(path, aside));
}

int journal_load_warn(struct journal *j, enum journal_kind kind, const char *name, json_t **ret)
{
	char path[PATH_MAX];
	json_error_t jerr;
	int r;

	r = journal_load(j, kind, name, ret, &jerr);
	if (r == -EBADMSG && journal_path(j, kind, name, path, sizeof(path)) == 0)
		log_warn("Journal file '%s' is corrupt (%s at line %d), ignoring it", path,
			 jerr.text, jerr.line);
	return r;
}

int journal_load_text(struct journal *j, enum journal_kind kind, const char *name, char **ret,
		      size_t *ret_len, uint64_t *ret_mtime_ns)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = journal_path(j, kind, name, path, sizeof(path));
	if (r < 0)
		return r;
	r = read_file(path, kinds[kind].max, ret, ret_len);
	if (r < 0)
		return r;
	if (ret_mtime_ns)
		*ret_mtime_ns = stat(path, &st) == 0 ? (uint64_t)st.st_mtim.tv_sec * 1000000000ULL +
							       (uint64_t)st.st_mtim.tv_nsec
						     : 0;
	return 0;
}

int journal_load(struct journal *j, enum journal_kind kind, const char *name, json_t **ret,
		 json_error_t *error)
{
	_cleanup_free_ char *buf = NULL;
	json_error_t jerr;
	size_t len;
	json_t *v;
	int r;

	r = journal_load_text(j, kind, name, &buf, &len, NULL);
	if (r < 0)
		return r;
	v = json_loadb(buf, len, kinds[kind].load, error ?: &jerr);
	if (!v)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int journal_foreach(struct journal *j, enum journal_kind kind, journal_record_fn fn, void *data)
{
	struct dirent *de;
	DIR *dh;
	int r = 0;

	if (!kinds[kind].sub)
		return -EINVAL;
	dh = opendir(j->dirs[kind]);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (de = readdir(dh))) {
		char name[NAME_MAX + 1];
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' ||
		    file_exchange_sibling(j->dirs[kind], de->d_name, ".json"))
			continue;
		if (n < 6 || !streq(de->d_name + n - 5, ".json")) {
			(void)unlinkat(dirfd(dh), de->d_name, 0);
			continue;
		}
		memcpy(name, de->d_name, n - 5);
		name[n - 5] = '\0';
		r = fn(j, name, data);
	}
	closedir(dh);
	return r;
}
