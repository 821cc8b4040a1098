// SPDX-License-Identifier: GPL-2.0-only
/* The final counters of detached attachments (finals.h). */
#include <limits.h>

#include "finals.h"
#include "ident.h"
#include "journal.h"
#include "log.h"
#include "netd.h"

#define FINALS_MAX (4 * NETD_MAX_TASKS)

struct finals {
	struct journal *journal;
	struct final *list; /* newest first */
	unsigned int n;
	unsigned int retention_sec;
};

static void final_name(const char *id, uint64_t created_ns, char *buf, size_t size)
{
	snprintf(buf, size, "%s@%llu", id, (unsigned long long)created_ns);
}

static void final_free(struct finals *k, struct final *f, bool remove_file)
{
	char name[IDENT_TASK_ID_MAX + 32];
	int r;

	final_name(f->id, f->created_ns, name, sizeof(name));
	r = remove_file ? journal_remove(k->journal, JOURNAL_FINAL, name) : 0;
	if (r < 0)
		log_warn_errno(r, "Failed to remove the final counters '%s': %m, ignoring", name);
	free(f->text);
	free(f);
}

/* Keep a detached task's stats (text is stolen), replacing an earlier record of that task. */
static void final_add(struct finals *k, const char *id, uint64_t created_ns, uint64_t detached_usec,
		      char *text, size_t len, bool save)
{
	char name[IDENT_TASK_ID_MAX + 32];
	struct final *f, **pp;
	int r;

	for (pp = &k->list; *pp; pp = &(*pp)->next)
		if (streq((*pp)->id, id) && (*pp)->created_ns == created_ns) {
			f = *pp;
			*pp = f->next;
			k->n--;
			final_free(k, f, false);
			break;
		}
	while (k->n >= FINALS_MAX) {
		/* The oldest goes: they are kept newest first. */
		for (pp = &k->list; (*pp)->next; pp = &(*pp)->next)
			;
		log_warn("Too many final counters kept; dropping those of task '%s'", (*pp)->id);
		final_free(k, *pp, true);
		*pp = NULL;
		k->n--;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(text);
		return;
	}
	strscpy(f->id, id, sizeof(f->id));
	f->created_ns = created_ns;
	f->detached_usec = detached_usec;
	f->text = text;
	f->len = len;
	f->next = k->list;
	k->list = f;
	k->n++;
	if (!save)
		return;
	final_name(id, created_ns, name, sizeof(name));
	r = journal_save_text(k->journal, JOURNAL_FINAL, name, text, len);
	if (r < 0)
		log_warn_errno(r, "Failed to save the final counters of task '%s': %m, ignoring",
			       id);
}

static void expire(struct finals *k)
{
	uint64_t now = now_usec(), keep = (uint64_t)k->retention_sec * 1000000ULL;
	struct final **pp = &k->list;

	while (*pp) {
		struct final *f = *pp;

		if (now - f->detached_usec >= keep) {
			log_info("Final counters of task '%s' expired after %u s", f->id,
				 k->retention_sec);
			*pp = f->next;
			k->n--;
			final_free(k, f, true);
		} else {
			pp = &f->next;
		}
	}
}

/* One record of state/final/, its age taken from when it was written. */
static int load_final(struct journal *j, const char *name, void *data)
{
	struct finals *k = data;
	_cleanup_free_ char *buf = NULL;
	uint64_t age_usec = 0, mtime = 0, now_ns = realtime_nsec(), now = now_usec();
	unsigned long long created = 0;
	json_auto_t *v = NULL;
	char path[PATH_MAX];
	const char *id, *at;
	size_t len;

	if (journal_load_text(j, JOURNAL_FINAL, name, &buf, &len, &mtime) < 0)
		return 0;
	v = json_loadb(buf, len, 0, NULL);
	id = json_string_value(json_object_get(v, "task_id"));
	if (!v || !json_is_object(v) || !id || !ident_task_id_valid(id)) {
		(void)journal_path(j, JOURNAL_FINAL, name, path, sizeof(path));
		log_warn("Final counters '%s' are invalid, removing them", path);
		(void)journal_remove(j, JOURNAL_FINAL, name);
		return 0;
	}
	at = strrchr(name, '@');
	if (at)
		created = strtoull(at + 1, NULL, 10);
	if (mtime && now_ns > mtime)
		age_usec = (now_ns - mtime) / 1000;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	final_add(k, id, created, now > age_usec ? now - age_usec : 0, TAKE_PTR(buf), len, false);
	return 0;
}

int finals_init(struct netd *d, unsigned int retention_sec)
{
	struct finals *k;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return log_oom();
	k->journal = d->journal;
	k->retention_sec = retention_sec;
	d->finals = k;
	r = journal_foreach(k->journal, JOURNAL_FINAL, load_final, k);
	if (r < 0)
		log_warn_errno(r, "Failed to read the final counters in '%s': %m, ignoring",
			       journal_dir(k->journal, JOURNAL_FINAL));
	expire(k);
	return 0;
}

void finals_exit(struct netd *d)
{
	struct finals *k = d->finals;

	if (!k)
		return;
	while (k->list) {
		struct final *f = k->list;

		k->list = f->next;
		final_free(k, f, false);
	}
	free(k);
	d->finals = NULL;
}

unsigned int finals_retention(struct netd *d)
{
	return d->finals->retention_sec;
}

void finals_keep(struct netd *d, const char *id, uint64_t created_ns, char *text, size_t len)
{
	final_add(d->finals, id, created_ns, now_usec(), text, len, true);
}

void finals_expire(struct netd *d)
{
	expire(d->finals);
}

const struct final *finals_list(struct netd *d)
{
	return d->finals->list;
}

unsigned int finals_count(struct netd *d)
{
	return d->finals->n;
}

struct final *finals_take(struct netd *d, const char *id)
{
	struct finals *k = d->finals;
	struct final **pp = &k->list, *taken = NULL;

	while (*pp) {
		struct final *f = *pp;

		if (id && !streq(f->id, id)) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		k->n--;
		f->next = taken;
		taken = f;
	}
	return taken;
}

void finals_drop(struct netd *d, struct final *list)
{
	while (list) {
		struct final *f = list;

		list = f->next;
		final_free(d->finals, f, true);
	}
}
