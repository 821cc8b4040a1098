/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPU and memory statistics of a cgroup, in Docker's shape (tmds.h), from cgroup v1 (cpuacct,
 * cpu, memory hierarchies) or v2 (the unified hierarchy), and the host figures Docker's stats
 * carry (system_cpu_usage, online_cpus) and ClockDrift's clock state (adjtimex(2)). Also a
 * task's own cgroup: created with the task's cpu and memory limits (its containers' cgroups,
 * made by runc, go below it), and removed with everything below it in every hierarchy.
 */
#ifndef TP_CGROUP_H
#define TP_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct tmds_cpu_stats;
struct tmds_mem_stats;
struct tmds_clock;

/* Where the hierarchies are mounted ("" when not). */
struct cgroup_roots {
	char cpuacct[PATH_MAX]; /* v1 */
	char cpu[PATH_MAX];	/* v1, for throttling */
	char memory[PATH_MAX];	/* v1 */
	char unified[PATH_MAX]; /* v2 */
};

/* Find the hierarchies in a mountinfo file (/proc/self/mountinfo). */
int cgroup_roots_detect(const char *mountinfo, struct cgroup_roots *ret);
/* True if path (relative to the roots, e.g. "taskplane/t1") exists in a hierarchy we read. */
bool cgroup_exists(const struct cgroup_roots *roots, const char *path);
/*
 * Read the CPU and memory statistics of cgroup path. v1 is read where its hierarchies are
 * mounted, v2 otherwise. -ENOENT if the cgroup exists in none of them. system_cpu_usage and
 * online_cpus are left as they were.
 */
int cgroup_read(const struct cgroup_roots *roots, const char *path, struct tmds_cpu_stats *cpu,
		struct tmds_mem_stats *mem);
/* A task's limits: v1 cpu.cfs_quota_us/cfs_period_us and memory.limit_in_bytes (v2 cpu.max and
 * memory.max). */
struct cgroup_limits {
	uint64_t cpu_quota_us; /* per cpu_period_us; 0 = no limit */
	uint64_t cpu_period_us;
	uint64_t memory_bytes; /* 0 = no limit */
};

/* Create cgroup path (relative) where the limits are set (v1: cpu and memory) and set them. */
int cgroup_create(const struct cgroup_roots *roots, const char *path,
		  const struct cgroup_limits *l);
/* Set the CPU limit of cgroup path (made by cgroup_create()): quota_us per period_us (0: 100 ms). */
int cgroup_set_cpu_limit(const struct cgroup_roots *roots, const char *path, uint64_t quota_us,
			 uint64_t period_us);
/*
 * Remove cgroup path and every cgroup below it from every cgroup hierarchy mounted (read from
 * mountinfo, e.g. /proc/self/mountinfo), children first. 0 if none is left (or there was none);
 * -EBUSY if a process is still in one of them.
 */
int cgroup_remove(const char *mountinfo, const char *path);
/* A cgroup path given by the operator: relative, no "." or ".." components. */
bool cgroup_path_valid(const char *path);

/* The host's CPU time as Docker counts it: the "cpu" line of proc_stat (/proc/stat), in ns. */
int host_system_cpu_usage(const char *proc_stat, uint64_t *ret_ns);
/* The kernel clock's state and error bound (adjtimex(2)), read now. */
int host_clock(struct tmds_clock *ret);

#endif
