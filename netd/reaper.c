// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reaper (reaper.h). It knows no step: the work is the classes' (step.h), which the steps'
 * defer hand over; a job is an attachment's slot and namespace and the parts pending, by class.
 */
#include <limits.h>

#include "attachment.h"
#include "ctl-server.h"
#include "event.h"
#include "journal.h"
#include "log.h"
#include "netd.h"
#include "reaper.h"
#include "slots.h"
#include "step.h"

#define REAP_IDLE_USEC	   200000ULL
#define REAP_MAX_WAIT_USEC 5000000ULL
#define REAP_MAX_PENDING   128
#define REAP_MAX_CLASSES   8

struct reap_job {
	struct reap_job *next;
	unsigned int slot;
	char *netns_path;
	struct netns_id netns_id;
	uint64_t queued_usec;
	/* by class: its part, pending when it has params */
	struct reap_item parts[REAP_MAX_CLASSES];
};

struct reaper {
	const struct reap_class *classes[REAP_MAX_CLASSES]; /* in the order they are done */
	unsigned int nclasses;
	struct reap_job *jobs;
	unsigned int njobs;
	int timer_id;
	bool draining; /* at start or exit, everything at once: no retries */
};

static bool part_pending(const struct reap_job *j, unsigned int c)
{
	return j->parts[c].params != NULL;
}

static bool job_pending(const struct reaper *rp, const struct reap_job *j)
{
	for (unsigned int c = 0; c < rp->nclasses; c++)
		if (part_pending(j, c))
			return true;
	return false;
}

static void job_name(unsigned int slot, char buf[16])
{
	snprintf(buf, 16, "%u", slot);
}

/* {slot, netns, netns_dev, netns_ino, CLASS: pending..., and the pending parts' params}. */
static int job_save(struct netd *d, const struct reap_job *j)
{
	struct reaper *rp = d->reaper;
	char name[16];
	json_t *o;

	o = json_pack("{s:i, s:s, s:I, s:I}", "slot", j->slot, "netns", j->netns_path ?: "",
		      "netns_dev", (json_int_t)j->netns_id.dev, "netns_ino",
		      (json_int_t)j->netns_id.ino);
	for (unsigned int c = 0; o && c < rp->nclasses; c++) {
		json_object_set_new(o, rp->classes[c]->name, json_boolean(part_pending(j, c)));
		if (part_pending(j, c))
			json_object_update(o, j->parts[c].params);
	}
	job_name(j->slot, name);
	return journal_save(d->journal, JOURNAL_REAP, name, o);
}

static void job_free(struct reap_job *j)
{
	for (unsigned int c = 0; c < REAP_MAX_CLASSES; c++)
		json_decref(j->parts[c].params);
	free(j->netns_path);
	free(j);
}

/* A job is done: forget it and let its slot go. */
static void job_done(struct netd *d, struct reap_job *j)
{
	struct reaper *rp = d->reaper;
	char name[16];

	for (struct reap_job **pp = &rp->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			rp->njobs--;
			break;
		}
	job_name(j->slot, name);
	(void)journal_remove(d->journal, JOURNAL_REAP, name);
	slots_drop(d->slots, j->slot, SLOT_OWNER_REAP);
	job_free(j);
}

static struct reap_job *job_new(unsigned int slot, const char *netns_path,
				const struct netns_id *id)
{
	struct reap_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->slot = slot;
	j->netns_id = *id;
	j->queued_usec = now_usec();
	if (netns_path && *netns_path && !(j->netns_path = strdup(netns_path))) {
		free(j);
		return NULL;
	}
	for (unsigned int c = 0; c < REAP_MAX_CLASSES; c++)
		j->parts[c] = (struct reap_item){ .slot = slot,
						  .netns_path = j->netns_path,
						  .netns_id = *id };
	return j;
}

/* Part c of every job is done, but for those its class asks to retry; jobs that have more
 * to do are journalled as they are now. */
static void parts_done(struct netd *d, struct reap_item *const *items, struct reap_job **jobs,
		       unsigned int n, unsigned int c)
{
	for (unsigned int i = 0; i < n; i++) {
		bool retry = items[i]->retry && !d->reaper->draining;

		items[i]->retry = false;
		if (retry)
			continue;
		json_decref(items[i]->params);
		items[i]->params = NULL;
		if (job_pending(d->reaper, jobs[i]))
			(void)job_save(d, jobs[i]);
	}
}

/* The pending parts of class c, all (all) or the first one. */
static void reap_class(struct netd *d, unsigned int c, bool all)
{
	struct reaper *rp = d->reaper;
	_cleanup_free_ struct reap_item **items = calloc(rp->njobs + 1, sizeof(*items));
	_cleanup_free_ struct reap_job **jobs = calloc(rp->njobs + 1, sizeof(*jobs));
	unsigned int n = 0;

	if (!items || !jobs) {
		log_oom();
		return;
	}
	for (struct reap_job *j = rp->jobs; j && (all || n == 0); j = j->next)
		if (part_pending(j, c)) {
			items[n] = &j->parts[c];
			jobs[n++] = j;
		}
	if (n == 0)
		return;
	rp->classes[c]->reap(d, items, n, all);
	parts_done(d, items, jobs, n, c);
}

/* One unit of work: every class's (all of a batching class's items, one of another's); returns
 * true if more remains. */
static bool reap_step(struct netd *d)
{
	struct reaper *rp = d->reaper;
	struct reap_job *j, *next;

	for (unsigned int c = 0; c < rp->nclasses; c++)
		reap_class(d, c, rp->classes[c]->batch);
	for (j = rp->jobs; j; j = next) {
		next = j->next;
		if (!job_pending(rp, j))
			job_done(d, j);
	}
	return rp->jobs != NULL;
}

static void reaper_arm(struct netd *d, uint64_t usec);

static void reaper_timer(struct event_loop *loop, void *data)
{
	struct netd *d = data;
	struct reaper *rp = d->reaper;
	uint64_t now = now_usec(), last = 0, oldest = now;
	bool force;

	rp->timer_id = 0;
	if (!rp->jobs)
		return;
	if (d->ctl)
		last = ctl_server_last_request_usec(d->ctl);
	for (struct reap_job *j = rp->jobs; j; j = j->next)
		oldest = MIN(oldest, j->queued_usec);
	force = rp->njobs >= REAP_MAX_PENDING || now - oldest >= REAP_MAX_WAIT_USEC;
	if (!force && last && now - last < REAP_IDLE_USEC) {
		reaper_arm(d, REAP_IDLE_USEC - (now - last));
		return;
	}
	if (reap_step(d))
		reaper_arm(d, force ? 1 : REAP_IDLE_USEC);
}

static void reaper_arm(struct netd *d, uint64_t usec)
{
	struct reaper *rp = d->reaper;
	int r;

	if (rp->timer_id)
		return;
	r = event_add_timer(d->loop, usec, reaper_timer, d, NULL);
	if (r < 0) {
		log_warn_errno(r, "Failed to arm the reaper: %m; reaping now");
		rp->draining = true;
		while (reap_step(d))
			;
		rp->draining = false;
		return;
	}
	rp->timer_id = r;
}

int reaper_flush_netns(struct netd *d, const struct netns_id *id)
{
	struct reaper *rp = d->reaper;
	struct reap_job *j, *next;
	unsigned int n = 0;

	for (j = rp->jobs; j; j = next) {
		next = j->next;
		if (!netns_id_equal(&j->netns_id, id))
			continue;
		for (unsigned int c = 0; c < rp->nclasses; c++) {
			struct reap_item *it = &j->parts[c];

			if (part_pending(j, c))
				rp->classes[c]->reap(d, &it, 1, false);
		}
		job_done(d, j);
		n++;
	}
	if (n)
		log_debug("Reaper: finished %u pending teardowns in a namespace being attached", n);
	return (int)n;
}

void reaper_flush_netns_path(struct netd *d, const char *path)
{
	struct netns_id id;
	int fd;

	if (netns_open(path, &fd) < 0)
		return;
	if (netns_get_id(fd, &id) == 0)
		(void)reaper_flush_netns(d, &id);
	close(fd);
}

static int class_index(const struct reaper *rp, const struct reap_class *class)
{
	for (unsigned int c = 0; c < rp->nclasses; c++)
		if (rp->classes[c] == class)
			return (int)c;
	return -ENOENT;
}

int reaper_queue(struct netd *d, const struct eni_attachment *a, struct reap_part *parts,
		 unsigned int n)
{
	struct reaper *rp = d->reaper;
	struct reap_job *j;
	int r = 0;

	if (n == 0)
		return 0;
	j = job_new(a->slot, a->netns_path, &a->netns_id);
	if (!j)
		r = -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		int c = class_index(rp, parts[i].class);

		if (r == 0 && c < 0)
			r = -EINVAL;
		if (r == 0 && !parts[i].params && !(parts[i].params = json_object()))
			r = -ENOMEM;
		if (r == 0)
			j->parts[c].params = TAKE_PTR(parts[i].params);
		json_decref(parts[i].params);
		parts[i].params = NULL;
	}
	if (r == 0)
		r = job_save(d, j);
	if (r < 0) {
		if (j)
			job_free(j);
		return r;
	}
	/* What is named after the slot (a link, an address) is the reaper's until it is done. */
	(void)slots_share(d->slots, j->slot, SLOT_OWNER_REAP);
	j->next = rp->jobs;
	rp->jobs = j;
	rp->njobs++;
	reaper_arm(d, REAP_IDLE_USEC);
	return 0;
}

/* A job of the journal: taken up, or dropped (and its record removed) when it is not valid. */
static int load_job(struct journal *jl, const char *name, void *data)
{
	struct netd *d = data;
	struct reaper *rp = d->reaper;
	json_int_t dev = 0, ino = 0;
	json_auto_t *o = NULL;
	const char *ns = NULL;
	char path[PATH_MAX];
	struct reap_job *j;
	int slot = -1;

	if (journal_load(jl, JOURNAL_REAP, name, &o, NULL) < 0 ||
	    json_unpack(o, "{s:i, s:s, s:I, s:I}", "slot", &slot, "netns", &ns, "netns_dev", &dev,
			"netns_ino", &ino) < 0 ||
	    slots_take(d->slots, slot, SLOT_OWNER_REAP) < 0) {
		(void)journal_path(jl, JOURNAL_REAP, name, path, sizeof(path));
		log_warn("Ignoring reaper journal '%s'", path);
		(void)journal_remove(jl, JOURNAL_REAP, name);
		return 0;
	}
	j = job_new((unsigned int)slot, ns,
		    &(struct netns_id){ .dev = (uint64_t)dev, .ino = (uint64_t)ino });
	if (!j) {
		slots_drop(d->slots, (unsigned int)slot, SLOT_OWNER_REAP);
		return 0;
	}
	for (unsigned int c = 0; c < rp->nclasses; c++) {
		const struct reap_class *class = rp->classes[c];

		if (!json_is_true(json_object_get(o, class->name)))
			continue;
		j->parts[c].params = class->params_from ? class->params_from(o) : json_object();
	}
	j->next = rp->jobs;
	rp->jobs = j;
	rp->njobs++;
	return 0;
}

int reaper_init(struct netd *d, const struct attach_plan *const *plans)
{
	struct reaper *rp;
	int r;

	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	d->reaper = rp;
	for (size_t p = 0; plans[p]; p++)
		for (unsigned int i = plans[p]->nsteps; i-- > 0;) {
			const struct reap_class *class = plans[p]->steps[i]->reap;

			if (!class || class_index(rp, class) >= 0)
				continue;
			if (rp->nclasses >= REAP_MAX_CLASSES)
				return -E2BIG;
			rp->classes[rp->nclasses++] = class;
		}
	r = journal_foreach(d->journal, JOURNAL_REAP, load_job, d);
	if (r < 0)
		return r;
	if (rp->jobs) {
		log_info("Finishing the teardown of %u detached tasks", rp->njobs);
		rp->draining = true;
		while (reap_step(d))
			;
		rp->draining = false;
	}
	return 0;
}

void reaper_exit(struct netd *d)
{
	struct reaper *rp = d->reaper;

	if (!rp)
		return;
	/* Finish before leaving (what a crash leaves, the next start finishes from the journal). */
	if (rp->jobs) {
		log_info("Finishing the teardown of %u detached tasks before exiting", rp->njobs);
		rp->draining = true;
		while (reap_step(d))
			;
	}
	event_cancel(d->loop, rp->timer_id);
	while (rp->jobs) {
		struct reap_job *j = rp->jobs;

		rp->jobs = j->next;
		job_free(j);
	}
	free(rp);
	d->reaper = NULL;
}

unsigned int reaper_pending(struct netd *d)
{
	return d->reaper ? d->reaper->njobs : 0;
}
