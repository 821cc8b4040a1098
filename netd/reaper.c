// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reaper: teardown that need not delay a detach. Deleting a task's metadata link and its
 * nftables table each cost the kernel an RCU grace period (tens of milliseconds), while the detach
 * is done once the ENI is back on the host. So a detach hands them over here and answers. The
 * reaper works while the control socket is idle: the metadata links of every finished task go in
 * one RTM_DELLINK by device group (one batch, one grace period for all of them), then the tables,
 * one per tick so that requests are served in between. It does not wait for idleness longer than
 * REAP_MAX_WAIT_USEC or past REAP_MAX_PENDING jobs. A job keeps its task's slot (the link's name
 * and address derive from it) and is journalled (state/reap/<slot>.json), so that a restart
 * finishes it.
 */
#include <limits.h>

#include "event.h"
#include "guards.h"
#include "journal.h"
#include "log.h"
#include "mdfilter.h"
#include "netd.h"
#include "slots.h"

#define REAP_IDLE_USEC	   200000ULL
#define REAP_MAX_WAIT_USEC 5000000ULL
#define REAP_MAX_PENDING   128

struct reap_job {
	struct reap_job *next;
	unsigned int slot;
	bool mdlink; /* the host side is in NETD_MD_REAP_GROUP */
	bool guards;
	char guards_table[GUARDS_TABLE_MAX];
	char guards_owner[GUARDS_OWNER_MAX];
	char *netns_path;
	struct netns_id netns_id;
	uint64_t queued_usec;
};

static void job_name(unsigned int slot, char buf[16])
{
	snprintf(buf, 16, "%u", slot);
}

static int job_save(struct netd *d, const struct reap_job *j)
{
	char name[16];

	job_name(j->slot, name);
	return journal_save(d->journal, JOURNAL_REAP, name,
			    json_pack("{s:i, s:b, s:b, s:s, s:s, s:s, s:I, s:I}", "slot", j->slot,
				      "mdlink", j->mdlink, "guards", j->guards, "guards_table",
				      j->guards_table, "guards_owner", j->guards_owner, "netns",
				      j->netns_path ?: "", "netns_dev", (json_int_t)j->netns_id.dev,
				      "netns_ino", (json_int_t)j->netns_id.ino));
}

static void job_free(struct reap_job *j)
{
	free(j->netns_path);
	free(j);
}

/* A job is done: forget it and give its slot back. */
static void job_done(struct netd *d, struct reap_job *j)
{
	char name[16];

	for (struct reap_job **pp = &d->reap_jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			d->nreap--;
			break;
		}
	job_name(j->slot, name);
	(void)journal_remove(d->journal, JOURNAL_REAP, name);
	slots_drop(d->slots, j->slot, SLOT_OWNER_REAP);
	job_free(j);
}

static void reaper_arm(struct netd *d, uint64_t usec);

/* Delete every metadata link handed over, in one request, and their elements in netd's filter
 * of the links, in one transaction. */
static void reap_mdlinks(struct netd *d)
{
	_cleanup_free_ unsigned int *slots = calloc(d->nreap + 1, sizeof(*slots));
	uint64_t t0 = now_usec();
	unsigned int n = 0, nslots = 0;
	int r;

	for (struct reap_job *j = d->reap_jobs; slots && j; j = j->next)
		if (j->mdlink)
			slots[nslots++] = j->slot;
	r = slots ? mdfilter_remove(d, slots, nslots) : -ENOMEM;
	if (r < 0)
		log_warn_errno(r, "Failed to remove links from table inet " MDFILTER_TABLE
				  ": %m, ignoring");
	r = netlink_link_delete_group(d->host_nl, NETD_MD_REAP_GROUP);
	if (r < 0 && r != -ENODEV && r != -ENOENT)
		log_warn_errno(r,
			       "Failed to delete metadata links by group: %m, trying one by one");
	for (struct reap_job *j = d->reap_jobs; j; j = j->next) {
		char name[IFNAMSIZ];
		struct link_info li;

		if (!j->mdlink)
			continue;
		/* One that missed the group (or the group delete failed): by name. */
		mdlink_host_ifname(j->slot, name);
		if (netlink_link_get(d->host_nl, 0, name, &li) == 0 && streq(li.kind, "veth")) {
			r = netlink_link_delete(d->host_nl, li.ifindex);
			if (r < 0 && r != -ENODEV) {
				log_warn_errno(r, "Failed to delete metadata link '%s': %m", name);
				continue;
			}
		}
		j->mdlink = false;
		n++;
		if (!j->guards)
			(void)job_save(d, j);
	}
	log_debug("Reaper: deleted %u metadata links in %llu us", n,
		  (unsigned long long)(now_usec() - t0));
}

/* Remove one task's guards, if its namespace is still there (else they went with it). */
static void reap_guards(struct netd *d, struct reap_job *j)
{
	struct netns_id id;
	int fd, r;

	j->guards = false;
	if (!j->netns_path || netns_open(j->netns_path, &fd) < 0)
		return;
	if (netns_get_id(fd, &id) == 0 && netns_id_equal(&id, &j->netns_id)) {
		r = guards_remove(fd, j->guards_table, j->guards_owner);
		if (r < 0)
			log_warn_errno(r,
				       "Failed to remove the guards of a detached task in '%s': %m",
				       j->netns_path);
	}
	close(fd);
}

/* One unit of work; returns true if more remains. */
static bool reap_step(struct netd *d)
{
	struct reap_job *j, *next;

	for (j = d->reap_jobs; j; j = j->next)
		if (j->mdlink) {
			reap_mdlinks(d);
			break;
		}
	for (j = d->reap_jobs; j; j = j->next)
		if (j->guards) {
			reap_guards(d, j);
			break;
		}
	for (j = d->reap_jobs; j; j = next) {
		next = j->next;
		if (!j->mdlink && !j->guards)
			job_done(d, j);
	}
	return d->reap_jobs != NULL;
}

static void reaper_timer(struct event_loop *loop, void *data)
{
	struct netd *d = data;
	uint64_t now = now_usec(), last = 0, oldest = now;
	bool force;

	d->reap_timer_id = 0;
	if (!d->reap_jobs)
		return;
	if (d->ctl)
		last = ctl_server_last_request_usec(d->ctl);
	for (struct reap_job *j = d->reap_jobs; j; j = j->next)
		oldest = MIN(oldest, j->queued_usec);
	force = d->nreap >= REAP_MAX_PENDING || now - oldest >= REAP_MAX_WAIT_USEC;
	if (!force && last && now - last < REAP_IDLE_USEC) {
		reaper_arm(d, REAP_IDLE_USEC - (now - last));
		return;
	}
	if (reap_step(d))
		reaper_arm(d, force ? 1 : REAP_IDLE_USEC);
}

static void reaper_arm(struct netd *d, uint64_t usec)
{
	int r;

	if (d->reap_timer_id)
		return;
	r = event_add_timer(d->loop, usec, reaper_timer, d, NULL);
	if (r < 0) {
		log_warn_errno(r, "Failed to arm the reaper: %m; reaping now");
		while (reap_step(d))
			;
		return;
	}
	d->reap_timer_id = r;
}

int reaper_flush_netns(struct netd *d, const struct netns_id *id)
{
	struct reap_job *j, *next;
	unsigned int n = 0;

	for (j = d->reap_jobs; j; j = next) {
		next = j->next;
		if (!netns_id_equal(&j->netns_id, id))
			continue;
		if (j->mdlink) {
			char name[IFNAMSIZ];
			struct link_info li;

			(void)mdfilter_remove(d, &j->slot, 1);
			mdlink_host_ifname(j->slot, name);
			if (netlink_link_get(d->host_nl, 0, name, &li) == 0 &&
			    streq(li.kind, "veth"))
				(void)netlink_link_delete(d->host_nl, li.ifindex);
			j->mdlink = false;
		}
		if (j->guards)
			reap_guards(d, j);
		job_done(d, j);
		n++;
	}
	if (n)
		log_debug("Reaper: finished %u pending teardowns in a namespace being attached", n);
	return (int)n;
}

int reaper_queue(struct netd *d, const struct eni_attachment *t, bool mdlink, bool guards)
{
	struct reap_job *j;
	int r;

	if (!mdlink && !guards)
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->slot = t->slot;
	j->mdlink = mdlink;
	j->guards = guards;
	j->netns_path = strdup(t->netns_path);
	j->netns_id = t->netns_id;
	j->queued_usec = now_usec();
	strscpy(j->guards_table, t->guards_table, sizeof(j->guards_table));
	guards_owner(t, j->guards_owner);
	if (!j->netns_path) {
		job_free(j);
		return -ENOMEM;
	}
	r = job_save(d, j);
	if (r < 0) {
		job_free(j);
		return r;
	}
	/* What derives from the slot (the link's name, its address) is the reaper's until done. */
	(void)slots_share(d->slots, j->slot, SLOT_OWNER_REAP);
	j->next = d->reap_jobs;
	d->reap_jobs = j;
	d->nreap++;
	reaper_arm(d, REAP_IDLE_USEC);
	return 0;
}

/* A job of the journal: taken up, or dropped (and its record removed) when it is not valid. */
static int load_job(struct journal *jl, const char *name, void *data)
{
	json_int_t dev = 0, ino = 0;
	const char *ns = NULL, *table = NULL, *owner = NULL;
	int slot = -1, md = 0, guards = 0;
	struct netd *d = data;
	json_auto_t *o = NULL;
	char path[PATH_MAX];
	struct reap_job *j;

	if (journal_load(jl, JOURNAL_REAP, name, &o, NULL) < 0 ||
	    json_unpack(o, "{s:i, s:b, s:b, s?s, s?s, s:s, s:I, s:I}", "slot", &slot, "mdlink", &md,
			"guards", &guards, "guards_table", &table, "guards_owner", &owner, "netns",
			&ns, "netns_dev", &dev, "netns_ino", &ino) < 0 ||
	    slots_take(d->slots, slot, SLOT_OWNER_REAP) < 0) {
		(void)journal_path(jl, JOURNAL_REAP, name, path, sizeof(path));
		log_warn("Ignoring reaper journal '%s'", path);
		(void)journal_remove(jl, JOURNAL_REAP, name);
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		slots_drop(d->slots, (unsigned int)slot, SLOT_OWNER_REAP);
		return 0;
	}
	*j = (struct reap_job){ .slot = (unsigned int)slot,
				.mdlink = md,
				.guards = guards,
				.netns_path = *ns ? strdup(ns) : NULL,
				.netns_id = { .dev = (uint64_t)dev, .ino = (uint64_t)ino },
				.queued_usec = now_usec() };
	/* A job of a netd with one table per namespace: that table, without owner. */
	strscpy(j->guards_table, table ?: GUARDS_TABLE_LEGACY, sizeof(j->guards_table));
	strscpy(j->guards_owner, owner ?: "", sizeof(j->guards_owner));
	j->next = d->reap_jobs;
	d->reap_jobs = j;
	d->nreap++;
	return 0;
}

int reaper_init(struct netd *d)
{
	int r;

	r = journal_foreach(d->journal, JOURNAL_REAP, load_job, d);
	if (r < 0)
		return r;
	if (d->reap_jobs) {
		log_info("Finishing the teardown of %u detached tasks", d->nreap);
		while (reap_step(d))
			;
	}
	return 0;
}

void reaper_exit(struct netd *d)
{
	/* Finish before leaving (what a crash leaves, the next start finishes from the journal). */
	if (d->reap_jobs) {
		log_info("Finishing the teardown of %u detached tasks before exiting", d->nreap);
		while (reap_step(d))
			;
	}
	event_cancel(d->loop, d->reap_timer_id);
	d->reap_timer_id = 0;
	while (d->reap_jobs) {
		struct reap_job *j = d->reap_jobs;

		d->reap_jobs = j->next;
		job_free(j);
	}
	d->nreap = 0;
}

unsigned int reaper_pending(struct netd *d)
{
	return d->nreap;
}
