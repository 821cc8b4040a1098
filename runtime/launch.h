/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's launcher: `task.run`, `task.stop`, `task.logs` and the lifecycle of the tasks the
 * agent launches itself (docs/runtime.md, "The launch"). Per task: a network namespace, netd's
 * attach of the task ENI in phase READY_PULL, the metadata registration (the agent's, with the
 * containers' real statuses), the task's cgroup, and a shim (shim.h) that pulls, makes the
 * storage and runs the containers; READY in netd before the containers start; the teardown in
 * reverse; phases PROVISIONING, PENDING, RUNNING, STOPPING, DEPROVISIONING, STOPPED with
 * Fargate's stop codes and reasons. Every step is journalled before it is taken
 * (STATE_DIR/launch/<task>.json), so that an agent killed at any point finds, at its next start,
 * each task's shim to adopt or what to tear down.
 *
 * Also the agent's services the launcher uses (implemented in agent.c), so that the launcher
 * stays out of the agent's own file.
 */
#ifndef TP_LAUNCH_H
#define TP_LAUNCH_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl-proto.h"

struct agent;
struct agent_task;
struct cgroup_roots;
struct ctl_method;
struct ctl_server;
struct event_loop;
struct launch;
struct netd_source;
struct tmds_task;

#define LAUNCH_DEFAULT_RUN_DIR	  "/run/taskvm/tasks"
#define LAUNCH_DEFAULT_NETNS_DIR  "/run/netns"
#define LAUNCH_DEFAULT_VOLUME_DIR "/var/lib/taskvm/volumes"
#define LAUNCH_DEFAULT_CGROUP	  "taskvm"
#define LAUNCH_DEFAULT_RETENTION  3600 /* s: a stopped task stays visible */
#define LAUNCH_MAX_INSECURE	  8
#define LAUNCH_NETNS_PREFIX	  "taskvm-"
#define LAUNCH_DEFAULT_VM_KERNEL  TP_VM_DIR "/vmlinux"
#define LAUNCH_DEFAULT_VM_INITRD  TP_VM_DIR "/initramfs.cpio"
#define LAUNCH_VM_QEMU		  "qemu-system-x86_64"

/* Where a task's containers run: runc containers in the task's namespace, or a task VM. */
enum launch_isolation {
	LAUNCH_ISOLATION_RUNC,
	LAUNCH_ISOLATION_VM,
};

/* The agent's options for launching (taskvm agent --help). */
struct launch_opts {
	const char *run_dir;   /* RUN_DIR/<task>: the shim's directory, the logs */
	const char *netns_dir; /* NETNS_DIR/taskvm-<task>: the task's network namespace */
	const char *image_store;
	const char *volume_dir;	   /* VOLUME_DIR/<task>: the task's volume images */
	const char *cgroup;	   /* CGROUP/<task>: the task's cgroup */
	const char *platforms_dir; /* the agent's platform manifests (NULL: built-in), for shims */
	const char *insecure[LAUNCH_MAX_INSECURE + 1];
	unsigned int retention_sec;
	unsigned int pull_timeout_sec;
	const char *pull_behavior; /* ECS_IMAGE_PULL_BEHAVIOR's values; NULL: "default" */
	/* the secrets' endpoints, "https://host[:port]" or "http://..." (NULL: AWS's of the
	 * task's region) and the bound of a task's fetch */
	const char *secretsmanager_endpoint;
	const char *ssm_endpoint;
	unsigned int secrets_timeout_sec;
	/* Container Insights: the syslog collector of the tasks' events, tcp://IP[:PORT] (NULL:
	 * none made), and their interval */
	const char *insights_endpoint;
	unsigned int insights_interval_sec;
	/* the host's platform ENI (netd's platform.show NAME) for the flows a platform version
	 * sends through one (1.3.0); NULL: none, such versions are refused */
	const char *platform_eni;
	/* the tasks' isolation when taskvm run names none, and what a VM boots */
	enum launch_isolation isolation;
	const char *vm_kernel;
	const char *vm_initrd;
	bool no_spare_shim; /* no spare shim kept ahead of the next task (launch.c) */
	bool no_runc_copy;  /* shims run runc by its path, not from the agent's sealed copy */
	bool fault_injection;
};

/* getopt codes of the launch options (from 0x300). */
enum {
	LAUNCH_ARG_RUN_DIR = 0x300,
	LAUNCH_ARG_NETNS_DIR,
	LAUNCH_ARG_IMAGE_STORE,
	LAUNCH_ARG_VOLUME_DIR,
	LAUNCH_ARG_CGROUP,
	LAUNCH_ARG_INSECURE,
	LAUNCH_ARG_RETENTION,
	LAUNCH_ARG_PULL_TIMEOUT,
	LAUNCH_ARG_FAULT,
	LAUNCH_ARG_SECRETSMANAGER_ENDPOINT,
	LAUNCH_ARG_SSM_ENDPOINT,
	LAUNCH_ARG_SECRETS_TIMEOUT,
	LAUNCH_ARG_INSIGHTS_ENDPOINT,
	LAUNCH_ARG_INSIGHTS_INTERVAL,
	LAUNCH_ARG_PULL_BEHAVIOR,
	LAUNCH_ARG_PLATFORM_ENI,
	LAUNCH_ARG_ISOLATION,
	LAUNCH_ARG_VM_KERNEL,
	LAUNCH_ARG_VM_INITRD,
	LAUNCH_ARG_NO_SPARE_SHIM,
	LAUNCH_ARG_NO_RUNC_COPY,
};

/* The struct option entries of the launch options, for the agent's table. */
/* clang-format off */
#define LAUNCH_OPTIONS                                                                             \
	{ "run-dir", required_argument, NULL, LAUNCH_ARG_RUN_DIR },                                \
	{ "netns-dir", required_argument, NULL, LAUNCH_ARG_NETNS_DIR },                            \
	{ "image-store", required_argument, NULL, LAUNCH_ARG_IMAGE_STORE },                        \
	{ "volume-dir", required_argument, NULL, LAUNCH_ARG_VOLUME_DIR },                          \
	{ "cgroup-parent", required_argument, NULL, LAUNCH_ARG_CGROUP },                           \
	{ "insecure-registry", required_argument, NULL, LAUNCH_ARG_INSECURE },                     \
	{ "retention", required_argument, NULL, LAUNCH_ARG_RETENTION },                            \
	{ "pull-timeout", required_argument, NULL, LAUNCH_ARG_PULL_TIMEOUT },                      \
	{ "secretsmanager-endpoint", required_argument, NULL, LAUNCH_ARG_SECRETSMANAGER_ENDPOINT },\
	{ "ssm-endpoint", required_argument, NULL, LAUNCH_ARG_SSM_ENDPOINT },                      \
	{ "secrets-timeout", required_argument, NULL, LAUNCH_ARG_SECRETS_TIMEOUT },                \
	{ "insights-endpoint", required_argument, NULL, LAUNCH_ARG_INSIGHTS_ENDPOINT },            \
	{ "insights-interval", required_argument, NULL, LAUNCH_ARG_INSIGHTS_INTERVAL },            \
	{ "image-pull-behavior", required_argument, NULL, LAUNCH_ARG_PULL_BEHAVIOR },              \
	{ "platform-eni", required_argument, NULL, LAUNCH_ARG_PLATFORM_ENI },                      \
	{ "isolation", required_argument, NULL, LAUNCH_ARG_ISOLATION },                            \
	{ "vm-kernel", required_argument, NULL, LAUNCH_ARG_VM_KERNEL },                            \
	{ "vm-initrd", required_argument, NULL, LAUNCH_ARG_VM_INITRD },                            \
	{ "no-spare-shim", no_argument, NULL, LAUNCH_ARG_NO_SPARE_SHIM },                          \
	{ "no-runc-copy", no_argument, NULL, LAUNCH_ARG_NO_RUNC_COPY },                            \
	{ "enable-fault-injection", no_argument, NULL, LAUNCH_ARG_FAULT }
/* clang-format on */

/* "runc", "vm", and back (-EINVAL for another name). */
const char *launch_isolation_to_string(enum launch_isolation i);
int launch_isolation_from_string(const char *s, enum launch_isolation *ret);

/* The defaults. */
void launch_opts_init(struct launch_opts *o);
/* One launch option: 1 if c was one (0 if not), -EINVAL (printed) for a bad value. */
int launch_parse_option(struct launch_opts *o, int c, const char *arg);
/* Their lines of the agent's --help. */
void launch_help(FILE *f);

/* --- the launcher, for the agent --------------------------------------------------------- */

/* Start the launcher: its journal in state_dir/launch. Nothing is recovered yet. */
int launch_new(struct agent *a, const struct launch_opts *o, const char *state_dir,
	       struct launch **ret);
/* Free (the shims go on: they outlive the agent). Returns NULL. */
struct launch *launch_free(struct launch *l);
/* Read the journal: adopt the shims that live, tear down the tasks whose shim is gone. */
void launch_recover(struct launch *l);
/* At every sampling: registrations and teardowns that wait for netd, retention, log cursors. */
void launch_tick(struct launch *l);
/* task.run, task.stop, task.logs. */
extern const struct ctl_method launch_methods[];
/* Whether the launcher owns netd's task_id (of that instance, or any with instance NULL). */
bool launch_owns(struct launch *l, const char *task_id, const char *instance);
/* The agent dropped the registration of task_id (netd detached it): stop the task. */
void launch_task_dropped(struct launch *l, const char *task_id);
/* Launch state of a task (phase, stop reason, containers), NULL if not launched here. */
json_t *launch_task_json(struct launch *l, const char *task_id, bool detail);
/* Append the launched tasks the agent has no registration of (provisioning, stopped). */
void launch_list_unregistered(struct launch *l, json_t *arr);

/* --- the agent's services, for the launcher (agent.c) ------------------------------------ */

struct event_loop *agent_loop(struct agent *a);
struct launch *agent_launch(struct agent *a);
struct ctl_server *agent_ctl(struct agent *a);
struct netd_source *agent_netd(struct agent *a);
const struct cgroup_roots *agent_cgroup_roots(struct agent *a);
/* Its stats interval, in seconds. */
unsigned int agent_stats_interval(struct agent *a);
/*
 * Register a task the launcher owns, as task.register does, but not journalled (the launch
 * record is): params as task.register's; ids and instance when restoring (NULL: new).
 * -EAGAIN when netd cannot be reached.
 */
int agent_task_register(struct agent *a, json_t *params, json_t *ids, const char *instance,
			uint64_t registered_ns, struct agent_task **ret, struct ctl_error *err);
/*
 * Ahead of the registration (before netd has the task): the ids a registration with params will
 * have when it is made with them (agent_task_register(..., *ret_ids, ...)), and the containers'
 * environment it gives them ({NAME: {VARIABLE: value}}, as agent_task_env()).
 */
int agent_task_draft(struct agent *a, json_t *params, json_t **ret_ids, json_t **ret_env,
		     struct ctl_error *err);
/* Drop a registration (its hold in netd released); the launcher is not told. */
void agent_task_drop(struct agent *a, struct agent_task *at);
/* The task's metadata model, to update its statuses. */
struct tmds_task *agent_task_model(struct agent_task *at);
/* Render and serve the task's responses again. */
void agent_task_publish(struct agent *a, struct agent_task *at);
/* A container's environment from the agent: ECS_CONTAINER_METADATA_URI_V4, ... */
json_t *agent_task_env(struct agent *a, struct agent_task *at, size_t idx);
/* The task's last sample (cgroups, netd's counters and rates), or NULL before the first. */
const struct tmds_sample *agent_task_sample(struct agent_task *at);
/* The current credentials of a role (the task's execution role), from the agent's provider:
 * {AccessKeyId, SecretAccessKey, Token, Expiration}, or NULL (-errno in *ret_errno). */
json_t *agent_role_credentials(struct agent *a, const char *role_arn, int *ret_errno);
/* The registration's summary (task.list's element) and detail (task.show's). */
json_t *agent_task_json(struct agent *a, struct agent_task *at, bool detail);

#endif
