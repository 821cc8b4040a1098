/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The task metadata endpoint v4 and the credentials endpoint: the model of a registered task and
 * the builders of every response body, and the mapping of netd's replies onto it. Names, types
 * and formats follow the reference (../shared/reference/fargate-platform-facts.md §2-§4);
 * docs/metadata.md lists them. No I/O here but the random ids of tmds_task_new().
 */
#ifndef TP_TMDS_H
#define TP_TMDS_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct platform;
struct taskdef;
struct taskdef_container;

#define TMDS_ECS_ID_LEN	   32 /* the task id of an ARN: 32 lower-case hex digits */
#define TMDS_DOCKER_ID_MAX 44 /* "<ecs id>-<10 digits>" + NUL */
#define TMDS_CREDS_ID_MAX  37 /* 128 random bits as 8-4-4-4-12 hex + NUL */
#define TMDS_ZERO_TIME	   "0001-01-01T00:00:00Z" /* Docker's "no time" (preread of a first sample) */

/* The metadata address range of task links (DESIGN.md §3): 169.254.172.0/22. */
#define TMDS_MD_NET    0xa9feac00u
#define TMDS_MD_PREFIX 22

/* The statuses of containers and tasks, as the ECS agent names them (KnownStatus...). */
enum tmds_status {
	TMDS_STATUS_NONE,
	TMDS_STATUS_PULLED,  /* containers only: the image is on the host */
	TMDS_STATUS_CREATED, /* the container (every container, for a task) is created */
	TMDS_STATUS_RUNNING,
	TMDS_STATUS_STOPPED,
};

/* What a container launched by taskvm went through (tmds_task.launched). */
struct tmds_container_state {
	enum tmds_status known;
	enum tmds_status desired;
	uint64_t created_ns; /* CreatedAt, StartedAt, FinishedAt; 0: not yet */
	uint64_t started_ns;
	uint64_t finished_ns;
	bool has_exit_code;
	int exit_code;	/* ExitCode: the status, or 128 + the signal that killed it (Docker's) */
	char *image_id; /* ImageID: the pulled image manifest's digest, or NULL */
	/*
	 * A task VM's container: its cgroup in the guest (the shim's status), read instead of a
	 * host cgroup its processes are not in. cpu in us, memory in bytes.
	 */
	bool has_guest_stats;
	uint64_t guest_cpu_usec, guest_memory, guest_memory_peak;
};

struct tmds_container {
	const struct taskdef_container *def;
	char docker_id[TMDS_DOCKER_ID_MAX]; /* also the container's endpoint id */
	char *arn;			    /* ContainerARN */
	struct tmds_container_state state;  /* used when the task is launched */
};

/* A registered task: everything its metadata says. */
struct tmds_task {
	char *task_id; /* the agent's handle for it: netd's task id */
	char ecs_id[TMDS_ECS_ID_LEN + 1];
	char *task_arn;
	char *cluster_arn;
	char *region;
	char *availability_zone;
	char *launch_type;
	/* the platform revision the task runs on: the metadata's shape (platform.h) */
	const struct platform *platform;
	struct taskdef *def;
	struct tmds_container *containers;
	size_t n_containers;
	json_t *network;     /* the Networks[] element (tmds_network_from_netd), or NULL */
	uint64_t created_ns; /* CreatedAt and StartedAt of the containers (registered tasks) */
	char creds_id[TMDS_CREDS_ID_MAX]; /* "" when the task has no task role */
	/*
	 * A task taskvm launched reports what happened to it (the states below and each
	 * container's); a task registered for a runtime of its own reports RUNNING and its
	 * registration time.
	 */
	bool launched;
	enum tmds_status known;
	enum tmds_status desired;
	uint64_t pull_started_ns; /* PullStartedAt, PullStoppedAt; 0: not yet */
	uint64_t pull_stopped_ns;
	uint64_t execution_stopped_ns; /* ExecutionStoppedAt */
	bool has_storage;	       /* EphemeralStorageMetrics */
	uint64_t storage_utilized_mib;
	uint64_t storage_reserved_mib;
};

/* What tmds_task_new() needs besides the task definition. */
struct tmds_task_opts {
	const char *task_id;		 /* required */
	const char *cluster;		 /* name or ARN; required */
	const char *region;		 /* required */
	const char *availability_zone;	 /* required */
	const char *launch_type;	 /* FARGATE (default), EC2 or EXTERNAL */
	const char *task_arn;		 /* optional: otherwise a new task id is drawn */
	const struct platform *platform; /* its revision; NULL: LATEST's latest */
	const char *ecs_id;  /* without task_arn: the task id to use (32 hex digits); NULL: drawn */
	const char *account; /* when neither cluster nor task ARN carries one */
	uint64_t created_ns; /* 0: now */
};

/* Counters of one network interface, as netd reports them, and netd's rates. */
struct tmds_net_stats {
	char ifname[16];
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
	bool has_rates;
	double rx_bytes_per_sec, tx_bytes_per_sec;
};

/* Docker's cpu_stats. */
struct tmds_cpu_stats {
	uint64_t total_usage, usage_in_kernelmode, usage_in_usermode; /* ns */
	uint64_t *percpu_usage; /* ns per CPU; NULL when unknown (then omitted) */
	unsigned int n_percpu;
	uint64_t system_cpu_usage; /* ns, the host's, as Docker computes it */
	unsigned int online_cpus;
	uint64_t periods, throttled_periods, throttled_time;
};

/* Docker's memory_stats. */
struct tmds_mem_stats {
	uint64_t usage, max_usage, limit;
	json_t *stats; /* the cgroup's memory.stat as an object of integers, or NULL */
};

struct tmds_container_sample {
	bool has_cgroup; /* false: CPU and memory are zero */
	struct tmds_cpu_stats cpu;
	struct tmds_mem_stats mem;
};

/* One sampling of a task: its containers' cgroups and the task ENI. */
struct tmds_sample {
	uint64_t read_ns;
	bool has_net;
	struct tmds_net_stats net;
	struct tmds_container_sample *containers; /* n_containers of the task */
	size_t n_containers;
};

/* The host clock as ClockDrift reports it. */
struct tmds_clock {
	double error_bound_ms;
	uint64_t reference_ns;
	bool synchronized;
};

/* Build a task from its definition (stolen, also on failure). -EINVAL with *ret_error set. */
int tmds_task_new(const struct tmds_task_opts *o, struct taskdef *def, struct tmds_task **ret,
		  char **ret_error);
/* Free; returns NULL. */
struct tmds_task *tmds_task_free(struct tmds_task *t);
/*
 * The ids a task hands out, to keep across a restart: {task_arn, created_ns, containers:
 * [{name, docker_id, container_arn}], credentials_id}.
 */
json_t *tmds_task_ids_json(const struct tmds_task *t);
/*
 * Give a task made with the same definition, task ARN and creation time (tmds_task_opts) the ids
 * it handed out before (tmds_task_ids_json()). Each is checked against the task: -EINVAL with
 * *ret_error if one does not fit. The task must not be in a registry yet.
 */
int tmds_task_restore_ids(struct tmds_task *t, json_t *ids, char **ret_error);
/* Replace the Networks[] element (stolen; NULL removes it). */
void tmds_task_set_network(struct tmds_task *t, json_t *network);
/* The container index for an endpoint id (its DockerId), or -ENOENT. */
int tmds_task_find_container(const struct tmds_task *t, const char *endpoint_id);
/* "NONE", "PULLED", "CREATED", "RUNNING", "STOPPED". */
const char *tmds_status_to_string(enum tmds_status s);
/* The reverse; -EINVAL for another name. */
int tmds_status_from_string(const char *s, enum tmds_status *ret);

/* Free a sample's contents. */
void tmds_sample_done(struct tmds_sample *s);

/* ${ECS_CONTAINER_METADATA_URI_V4}: the container object. */
json_t *tmds_container_json(const struct tmds_task *t, size_t idx);
/* .../task: the task object with every container. clock may be NULL (no ClockDrift). */
json_t *tmds_task_json(const struct tmds_task *t, const struct tmds_clock *clock);
/* .../stats: Docker ContainerStats plus network_rate_stats. prev may be NULL (first sample). */
json_t *tmds_container_stats_json(const struct tmds_task *t, size_t idx,
				  const struct tmds_sample *cur, const struct tmds_sample *prev);
/* .../task/stats: {DockerId: stats} for every container. */
json_t *tmds_task_stats_json(const struct tmds_task *t, const struct tmds_sample *cur,
			     const struct tmds_sample *prev);
/* /v2/credentials/<id>: {RoleArn, AccessKeyId, SecretAccessKey, Token, Expiration}. */
json_t *tmds_credentials_json(const char *role_arn, const char *access_key_id,
			      const char *secret_access_key, const char *token,
			      const char *expiration);
/* The credentials endpoint's error body {code, message}. */
json_t *tmds_error_json(const char *code, const char *message);

/* The PrivateDNSName of an IPv4 address ("a.b.c.d" or "a.b.c.d/n") in region, as the
 * network's (tmds_network_from_netd()); -EINVAL for anything else. */
int tmds_private_dns_name(const char *address, const char *region, char *buf, size_t size);

/*
 * Map netd's task (task.show) onto a Networks[] element. The region names the private DNS name
 * (ip-a-b-c-d.<region>.compute.internal). -EINVAL with *ret_error if the task has no IPv4
 * address or a malformed member.
 */
int tmds_network_from_netd(json_t *netd_task, const char *region, json_t **ret, char **ret_error);
/*
 * The task's metadata-link address from netd's task ("metadata": {"address": ...}): 0, -ENOENT
 * when netd reports none, -EINVAL when it is not an address in 169.254.172.0/22.
 */
int tmds_md_address_from_netd(json_t *netd_task, struct in_addr *ret);
/* True if addr (network order) lies in 169.254.172.0/22. */
bool tmds_md_address_valid(struct in_addr addr);
/*
 * Map one task of netd's stats.get onto the network stats: "device" (the task ENI's
 * IFLA_STATS64) gives the counters, "rates" the rates. -EINVAL with *ret_error if malformed.
 */
int tmds_net_stats_from_netd(json_t *task_stats, struct tmds_net_stats *ret, char **ret_error);

/* RFC 3339 time with nanoseconds (Go's RFC3339Nano, trailing zeros kept). */
int tmds_format_time(uint64_t ns, char *buf, size_t size);
/* Parse an RFC 3339 time ("Z" or an offset, optional fraction) into UTC seconds and ns. */
int tmds_parse_time(const char *s, int64_t *ret_sec, uint32_t *ret_nsec);
/* A JSON number as Go writes a float64: an integer when it has no fraction. */
json_t *tmds_json_number(double v);

#endif
