/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fargate platform versions: what a task gets on each (storage layout and sizes, capabilities that
 * may be added, task sizes, the nofile limit), looked up in one table, and the check of a task
 * definition against one version before anything of the task is created. Pure; no I/O.
 */
#ifndef TP_PLATFORM_H
#define TP_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct taskdef;
struct taskdef_container;

enum platform_storage {
	PLATFORM_STORAGE_FLAT,	/* one volume for container layers and task volumes (1.4.0) */
	PLATFORM_STORAGE_SPLIT, /* a container-layer volume and a task-volume volume (1.3.0) */
};

/* A task size Fargate offers: cpu units and memory from min to max MiB in steps of step. */
struct platform_size {
	unsigned int cpu;
	unsigned int memory_min;
	unsigned int memory_max;
	unsigned int memory_step;
};

struct platform {
	const char *version; /* "1.4.0" */
	enum platform_storage storage;
	unsigned int storage_gib;     /* FLAT: the volume's size without ephemeralStorage */
	unsigned int storage_min_gib; /* FLAT: ephemeralStorage.sizeInGiB range; 0 = not allowed */
	unsigned int storage_max_gib;
	unsigned int layer_gib;	  /* SPLIT: the container-layer volume */
	unsigned int volumes_gib; /* SPLIT: the task-volume volume */
	uint64_t caps_default;	  /* a container's capabilities, bit n = capability n */
	uint64_t caps_addable;	  /* those linuxParameters.capabilities.add may name */
	const struct platform_size *sizes;
	unsigned int n_sizes;
	uint64_t nofile_soft; /* RLIMIT_NOFILE without ulimits */
	uint64_t nofile_hard;
};

/* The platform version of that name ("1.4.0", "1.3.0", "LATEST"), or NULL. */
const struct platform *platform_find(const char *version);
/* The same; on failure -EINVAL and *ret_error lists the known versions. */
int platform_lookup(const char *version, const struct platform **ret, char **ret_error);
/* Every known version, in order, NULL-terminated. */
const struct platform *const *platform_all(void);

/*
 * Check a task definition against a platform version: task size, container limits against it,
 * ephemeralStorage, capabilities to add, and keys taskvm cannot launch yet. On failure -EINVAL and
 * *ret_error names the container and the rule ("SYS_PTRACE needs platform version 1.4.0 or
 * later").
 */
int platform_check_taskdef(const struct platform *p, const struct taskdef *d, char **ret_error);

/* The size of the task's ephemeral storage in GiB (all its volumes together). */
unsigned int platform_storage_gib(const struct platform *p, const struct taskdef *d);

/*
 * A container's capabilities (Fargate's rules, as the ECS API documents them): drops first, then
 * adds. Without "ALL" in drop: the defaults minus the drops; with it: nothing. Then the adds,
 * where "ALL" in add means the defaults minus the drops. Adds are not checked against the
 * platform here (platform_check_taskdef() does it).
 */
uint64_t platform_container_caps(const struct platform *p, const struct taskdef_container *c);

#endif
