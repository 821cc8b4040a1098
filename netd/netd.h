/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netd's shared context and its domain objects: ENIs (registered network interfaces, known by
 * MAC) and tasks (an ENI moved into a task's network namespace and configured there).
 * Internal to netd; modules are eni.c, task.c, steps.c, state.c, events.c.
 */
#ifndef NETD_NETD_H
#define NETD_NETD_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "attachment.h"
#include "ident.h"
#include "netlink.h"
#include "netns.h"
#include "ctl-server.h"
#include "eni.h"

struct event_loop;
struct journal;
struct ctl_server;
struct ctl_call;

struct netd_events;
struct counters_bpf;
struct counters_records;
struct devstats;
struct finals;
struct stats;
struct mdfilter;
struct reaper;
struct netd_metrics;
struct hold;
struct slots;

#define NETD_MAX_ENIS	     4096
#define NETD_MAX_TASKS	     4096
#define NETD_DEFAULT_MTU     9001
#define NETD_DEFAULT_WAIT_MS 10000
#define NETD_MAX_WAIT_MS     600000
#define NETD_MAX_HOLDERS     8 /* holders of one task (task.hold) */

enum task_phase {
	TASK_PHASE_ATTACHING,
	TASK_PHASE_READY_PULL,
	TASK_PHASE_READY,
	TASK_PHASE_DETACHING,
};

struct task {
	struct task *next;
	struct netd *d;
	char id[IDENT_TASK_ID_MAX + 1];
	/* this attach of the task: an id can be attached again later, an instance never */
	char instance[IDENT_INSTANCE_LEN + 1];
	enum task_phase phase;
	enum task_phase target_phase; /* phase once attached */
	json_t *attrs;		      /* string map given by the caller, or NULL */
	/* an attach waiting for its ENI to appear */
	struct ctl_call *waiter;
	int wait_timer_id;
	uint32_t wait_ms;
	uint64_t wait_started_usec;
	/* its ENI, attached (id is the task's) */
	struct eni_attachment att;
};

struct netd {
	struct event_loop *loop;
	struct ctl_server *ctl;
	struct netd_events *events;
	struct counters_bpf *bpf;	       /* the counter maps */
	struct devstats *devstats;	       /* the ENIs' link statistics */
	struct counters_records *counter_recs; /* the counters step's */
	struct finals *finals;
	struct stats *stats;
	struct mdfilter *mdfilter;
	/* netd's own metrics: attach and detach durations, failures */
	struct netd_metrics *metrics;
	struct netlink *host_nl; /* requests in netd's own namespace */
	struct netlink *monitor; /* link events in netd's own namespace */
	int monitor_id;
	eni_appeared_fn eni_appeared; /* an ENI an attach waits for is on the host */
	int host_netns_fd;
	struct netns_id host_netns_id;
	char *run_dir; /* what lasts until a reboot: the tasks' journal */
	struct journal *journal;
	char *persist_dir; /* --state-dir: what survives a reboot, the ENI registrations */
	char *socket_path;
	bool fault_injection;
	struct eni *enis;
	unsigned int nenis;
	struct task *tasks;
	unsigned int ntasks;
	struct eni_attachment *attachments; /* every one, tasks' and others' (attachment.h) */
	struct reaper *reaper;
	struct hold *holds; /* hold.c */
	unsigned int nholds;
	struct slots *slots;
	unsigned int stats_interval_sec; /* how often the counters are sampled */
	uint64_t start_usec;
};

/* task.c */
extern const struct ctl_method task_methods[];
int task_init(struct netd *d);
void task_exit(struct netd *d);
struct task *task_find(struct netd *d, const char *id);
const char *task_phase_to_string(enum task_phase p);
int task_phase_from_string(const char *s);
json_t *task_to_json(const struct task *t, bool journal);
int task_from_json(struct netd *d, json_t *j, struct task **ret);
struct task *task_free(struct task *t);
/* Write a task's journal; read every task's at start. */
int task_journal_save(struct netd *d, const struct task *t);
int task_journal_load(struct netd *d);
/* Whether a task of that id, instance and slot is attached (holds). */
bool task_is_live(struct netd *d, const char *id, const char *instance, unsigned int slot);
/* An ENI a task waits for has appeared on the host (eni_appeared_fn). */
void task_eni_appeared(struct netd *d, struct eni *e);
/* Recover tasks loaded from the journal: finish or undo half-done work. */
int task_recover(struct netd *d);

#include "events.h"

#endif
