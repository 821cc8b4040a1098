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
struct counters_prep;
struct ctl_server;
struct ctl_call;

struct netd_events;
struct netd_counters;
struct netd_metrics;
struct hold;
struct slots;

#define NETD_MAX_ENIS	     4096
#define NETD_MAX_TASKS	     4096
#define NETD_DEFAULT_MTU     9001
#define NETD_DEFAULT_WAIT_MS 10000
#define NETD_MAX_WAIT_MS     600000
/* The metadata link: task side md0, host side tpmd<slot>, endpoint 169.254.170.2:80. */
#define NETD_MD_IFNAME	    "md0"
#define NETD_MD_HOST_PREFIX "tpmd"
#define NETD_MD_ENDPOINT    "169.254.170.2"
#define NETD_MD_PORT	    80
#define NETD_MD_SUBNET	    "169.254.172.0/22"
#define NETD_MD_MAX_SLOT    1021 /* 169.254.172.2 .. 169.254.175.255 */
/* The device group of metadata links handed to the reaper, deleted together. */
#define NETD_MD_REAP_GROUP 0x74706d64 /* "tpmd" */
#define NETD_MAX_HOLDERS   8	      /* holders of one task (task.hold) */

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
	struct netd_counters *counters;
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
	struct reap_job *reap_jobs;
	unsigned int nreap;
	int reap_timer_id;
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

/* mdlink.c: the task's point-to-point link to the metadata endpoint */
/* The task side's address (169.254.172.N) for a slot; -ERANGE past NETD_MD_MAX_SLOT. */
int mdlink_address(unsigned int slot, struct in_prefix *ret);
/* The host side's name for a slot. */
void mdlink_host_ifname(unsigned int slot, char buf[IFNAMSIZ]);
/* The metadata member of a task's JSON, or NULL when it has no link. */
json_t *mdlink_to_json(const struct eni_attachment *t);

/* steps.c: the attach sequence, each step with its undo and its check */
struct attach_ctx {
	struct netd *d;
	struct eni_attachment *a;
	bool detach;  /* an undo of a detach (not a rollback): what is kept of it is kept now */
	int netns_fd; /* the task's namespace */
	struct netlink *tnl; /* rtnetlink in the task's namespace, opened after the move */
	struct counters_prep *counters_prep; /* the counter programs loading meanwhile */
	char errmsg[512];		     /* what failed, for the caller */
};

struct attach_step {
	const char *name;
	int (*run)(struct attach_ctx *c);
	/* undo must succeed when the step never ran or only partly ran */
	int (*undo)(struct attach_ctx *c);
	/*
	 * Optional, for a detach: prepare the undo for the reaper instead of doing it (1 handed
	 * over, 0 nothing to undo, -errno: undo now instead).
	 */
	int (*defer)(struct attach_ctx *c);
	/* append differences between the task's record and the kernel to diffs */
	int (*check)(struct attach_ctx *c, json_t *diffs);
};

extern const struct attach_step attach_steps[];
extern const unsigned int attach_nsteps;
/* Index of a step by name, or -ENOENT. */
int attach_step_find(const char *name);
/* Open the task netlink socket in c->netns_fd if not open yet. */
int attach_ctx_open_tnl(struct attach_ctx *c);
/* Release what the context holds. */
void attach_ctx_done(struct attach_ctx *c);
/* Find the task's ENI inside its namespace: by the index known, checked by MAC, else by MAC.
 * Updates t->ifindex; -ENODEV when it is not there. */
int attach_ctx_find_link(struct attach_ctx *c, struct link_info *ret);
/* The metadata link step (mdlink.c). */
int mdlink_step_run(struct attach_ctx *c);
int mdlink_step_undo(struct attach_ctx *c);
int mdlink_step_defer(struct attach_ctx *c);
int mdlink_step_check(struct attach_ctx *c, json_t *diffs);
/* The dns step (resolv.c): /etc/netns/NAME/resolv.conf for a namespace /run/netns/NAME. */
int resolv_step_run(struct attach_ctx *c);
int resolv_step_undo(struct attach_ctx *c);
int resolv_step_check(struct attach_ctx *c, json_t *diffs);
/* Append one difference {what, expected, actual} to diffs. */
void check_diff(json_t *diffs, const char *what, const char *expected, const char *actual);

/* reaper.c: teardown done after a detach has answered, while the socket is idle */
int reaper_init(struct netd *d);
void reaper_exit(struct netd *d);
/* Take over a detached task's metadata link (already in NETD_MD_REAP_GROUP) and/or guards. */
int reaper_queue(struct netd *d, const struct eni_attachment *t, bool mdlink, bool guards);
unsigned int reaper_pending(struct netd *d);
/* Finish now what is pending in one namespace (before attaching to it again). */
int reaper_flush_netns(struct netd *d, const struct netns_id *id);

#include "events.h"

#endif
