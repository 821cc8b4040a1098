/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ECS task definitions: the subset that the metadata endpoint reports (family, revision, cpu and
 * memory, task role, containers with their image, limits, ports and log configuration). Parsing
 * only; no I/O. Keys taskvm does not use are accepted and ignored, as in ECS's own JSON files.
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

/* One portMappings entry. */
struct taskdef_port {
	unsigned int container_port;
	unsigned int host_port; /* = container_port in awsvpc mode */
	char protocol[4];	/* "tcp" or "udp" */
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
	struct taskdef_container *containers;
	size_t n_containers;
};

/* An ECS name (container, cluster, family): 1-255 letters, digits, '-' and '_'. */
bool ecs_name_valid(const char *s);
/* Parse a task definition. On failure returns -EINVAL and *ret_error says what is wrong. */
int taskdef_parse(json_t *j, struct taskdef **ret, char **ret_error);
/* Free; returns NULL. */
struct taskdef *taskdef_free(struct taskdef *d);
/* The container of that name, or NULL. */
const struct taskdef_container *taskdef_find_container(const struct taskdef *d, const char *name);

/* Task cpu: "256", 256, "1 vCPU", ".25 vcpu" → vCPUs. -EINVAL if malformed or out of range. */
int taskdef_parse_cpu(json_t *v, double *ret_vcpu);
/* Task memory: "512", 512, "1 GB", "0.5GB" → MiB. -EINVAL if malformed or out of range. */
int taskdef_parse_memory(json_t *v, int64_t *ret_mib);

static inline void taskdef_freep(struct taskdef **d)
{
	taskdef_free(*d);
}
#define _cleanup_taskdef_ _cleanup_(taskdef_freep)

#endif
