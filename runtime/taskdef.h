/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ECS task definitions: what the metadata endpoint reports (family, revision, cpu and memory, task
 * role, containers with their image, limits, ports and log configuration) and what launching a
 * task needs (entryPoint, command, environment, user, dependsOn, capabilities, volumes and
 * mountPoints, ephemeral storage, ulimits). Parsing only; no I/O.
 *
 * The rules that hold on every Fargate platform version are checked here (keys Fargate rejects,
 * such as privileged or linuxParameters.devices, are refused with an error naming them); the
 * rules of one platform version are platform_check_taskdef()'s (platform.h). Keys taskvm does not
 * use and that change nothing about a launch are accepted and ignored, as in ECS's own JSON files.
 * Keys Fargate accepts but taskvm cannot launch yet (healthCheck, ...) are recorded in
 * `unsupported` so that a launch refuses them, while registering such a task for its metadata
 * still works.
 */
#ifndef TP_TASKDEF_H
#define TP_TASKDEF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define TASKDEF_MAX_CONTAINERS 16
#define TASKDEF_MAX_PORTS      64
#define TASKDEF_MAX_STRING     1024
#define TASKDEF_MAX_ARGS       256 /* entryPoint, command */
#define TASKDEF_MAX_ENV	       1024
#define TASKDEF_MAX_VOLUMES    32
#define TASKDEF_MAX_MOUNTS     32
/* stopTimeout: Fargate's maximum and its default, seconds */
#define TASKDEF_STOP_TIMEOUT_MAX     120
#define TASKDEF_STOP_TIMEOUT_DEFAULT 30
/* ulimits nofile: the largest value Fargate accepts */
#define TASKDEF_NOFILE_MAX 1048576

/* dependsOn conditions. */
enum taskdef_condition {
	TASKDEF_CONDITION_START,    /* the dependency has been started */
	TASKDEF_CONDITION_COMPLETE, /* it has exited (any status) */
	TASKDEF_CONDITION_SUCCESS,  /* it has exited with status 0 */
	TASKDEF_CONDITION_HEALTHY,  /* its health check passed */
};

/* One portMappings entry. */
struct taskdef_port {
	unsigned int container_port;
	unsigned int host_port; /* = container_port in awsvpc mode */
	char protocol[4];	/* "tcp" or "udp" */
};

/* One environment entry. */
struct taskdef_env {
	char *name;
	char *value;
};

/* One dependsOn entry. */
struct taskdef_dependency {
	size_t container; /* index in taskdef.containers */
	enum taskdef_condition condition;
};

/* One mountPoints entry. */
struct taskdef_mount {
	size_t volume;	      /* index in taskdef.volumes */
	char *container_path; /* absolute */
	bool read_only;
};

/* One task-level volumes entry: a bind volume, empty at start, shared by the task's containers. */
struct taskdef_volume {
	char *name;
};

/* One containerDefinitions entry. */
struct taskdef_container {
	char *name;
	char *image;
	bool has_cpu;
	int64_t cpu; /* CPU units (1024 = one vCPU) */
	bool has_memory;
	int64_t memory; /* hard limit, MiB */
	bool has_memory_reservation;
	int64_t memory_reservation; /* soft limit, MiB */
	bool essential;
	char *log_driver;    /* logConfiguration.logDriver, or NULL */
	json_t *log_options; /* logConfiguration.options: object of strings, or NULL */
	struct taskdef_port *ports;
	size_t n_ports;

	/* launching */
	char **entry_point; /* NULL-terminated; NULL when absent (an empty list is not absent) */
	char **command;	    /* the same */
	struct taskdef_env *env;
	size_t n_env;
	char *working_directory; /* absolute, or NULL */
	char *user;		 /* "user", "uid", "user:group", "uid:gid", ... or NULL */
	struct taskdef_dependency *depends_on;
	size_t n_depends_on;
	unsigned int stop_timeout;  /* seconds */
	unsigned int start_timeout; /* seconds, 0 = none */
	uint64_t cap_add;	    /* linuxParameters.capabilities.add, bit n = capability n */
	uint64_t cap_drop;
	bool cap_add_all; /* "ALL" in add */
	bool cap_drop_all;
	struct taskdef_mount *mounts;
	size_t n_mounts;
	bool readonly_rootfs;
	bool has_nofile; /* ulimits nofile */
	uint64_t nofile_soft;
	uint64_t nofile_hard;
	bool has_health_check;
	char *unsupported; /* a key Fargate accepts and taskvm cannot launch yet, or NULL */
};

struct taskdef {
	char *family;
	char *revision;		  /* a string, as the metadata endpoint reports it */
	char *task_role_arn;	  /* or NULL */
	char *execution_role_arn; /* or NULL */
	bool has_cpu;
	double cpu_vcpu; /* task cpu in vCPUs ("256" and ".25 vCPU" are both 0.25) */
	bool has_memory;
	int64_t memory_mib;	    /* task memory in MiB ("1 GB" is 1024) */
	unsigned int ephemeral_gib; /* ephemeralStorage.sizeInGiB, 20 when absent */
	bool has_ephemeral;	    /* ephemeralStorage was given */
	struct taskdef_container *containers;
	size_t n_containers;
	struct taskdef_volume *volumes;
	size_t n_volumes;
	char *unsupported; /* a task-level key taskvm cannot launch yet, or NULL */
};

/* An ECS name (container, cluster, family): 1-255 letters, digits, '-' and '_'. */
bool ecs_name_valid(const char *s);
/* Parse a task definition. On failure returns -EINVAL and *ret_error says what is wrong. */
int taskdef_parse(json_t *j, struct taskdef **ret, char **ret_error);
/* Free; returns NULL. */
struct taskdef *taskdef_free(struct taskdef *d);
/* The container of that name, or NULL. */
const struct taskdef_container *taskdef_find_container(const struct taskdef *d, const char *name);

/*
 * The order to start the containers in: every container after those it depends on (dependsOn),
 * otherwise in definition order. ret_order gets n_containers indexes. taskdef_parse() has already
 * refused cycles, so this cannot fail.
 */
void taskdef_start_order(const struct taskdef *d, size_t *ret_order);
/* The dependsOn condition's name ("START", ...). */
const char *taskdef_condition_name(enum taskdef_condition c);

/* A capability's number by its ECS name ("SYS_PTRACE", no CAP_ prefix); -EINVAL if unknown. */
int taskdef_cap_from_name(const char *name);
/* The ECS name of capability number cap, or NULL. */
const char *taskdef_cap_name(unsigned int cap);

/* Task cpu: "256", 256, "1 vCPU", ".25 vcpu" → vCPUs. -EINVAL if malformed or out of range. */
int taskdef_parse_cpu(json_t *v, double *ret_vcpu);
/* The task's CPU limit as a cgroup quota per TASKDEF_CPU_PERIOD_US; 0: none (no task cpu). */
#define TASKDEF_CPU_PERIOD_US 100000
uint64_t taskdef_cpu_quota_us(const struct taskdef *d);
/* Task memory: "512", 512, "1 GB", "0.5GB" → MiB. -EINVAL if malformed or out of range. */
int taskdef_parse_memory(json_t *v, int64_t *ret_mib);

static inline void taskdef_freep(struct taskdef **d)
{
	taskdef_free(*d);
}
#define _cleanup_taskdef_ _cleanup_(taskdef_freep)

#endif
