/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Container Insights performance events of a Fargate task (docs/insights.md) in CloudWatch's
 * embedded metric format (EMF): one JSON object per event, its metrics and dimensions as root
 * members and an "_aws" member that tells CloudWatch Logs which of them are metrics (namespace
 * ECS/ContainerInsights, dimension sets, names and units). What is reported follows the task's
 * platform revision (platform.h: insights): none without Container Insights, no network metrics
 * on 1.3.0, ephemeral storage metrics from 1.4.0 revision 5.
 *
 * And a validator of the EMF specification's rules, so that the agent can check what it sends.
 * Pure; no I/O.
 */
#ifndef TP_EMF_H
#define TP_EMF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct platform;

#define EMF_NAMESPACE	    "ECS/ContainerInsights"
#define EMF_MAX_METRICS	    100 /* MetricDefinitions of a directive */
#define EMF_MAX_DIMENSIONS  30	/* keys of a DimensionSet */
#define EMF_MAX_VALUES	    100 /* numbers of an array metric */
#define EMF_MAX_EVENT_BYTES (1024 * 1024)
#define EMF_MAX_PAST_MS	    (14ULL * 24 * 3600 * 1000) /* how old _aws.Timestamp may be */
#define EMF_MAX_FUTURE_MS   (2ULL * 3600 * 1000)       /* how far ahead */

/* The task an event is about. */
struct emf_task {
	const struct platform *platform; /* its revision decides what is reported */
	const char *cluster;		 /* ClusterName: the cluster's name, not its ARN */
	const char *service;		 /* ServiceName, or NULL */
	const char *task_id;
	const char *family;   /* TaskDefinitionFamily */
	const char *revision; /* TaskDefinitionRevision */
	const char *account_id;
	const char *region;
	const char *availability_zone; /* left out when NULL or the metadata has none */
	const char *known_status;      /* "RUNNING" */
	const char *launch_type;       /* "FARGATE" */
	uint64_t pull_started_at_ms;   /* epoch ms; 0: left out */
	uint64_t pull_stopped_at_ms;
	uint64_t created_at_ms;
	uint64_t started_at_ms;
	bool enhanced; /* with enhanced observability: TaskId dimensions, container metrics */
};

/* The task's (or a container's) network over the interval. */
struct emf_network {
	double rx_bytes_per_sec;
	double tx_bytes_per_sec;
	uint64_t rx_packets, tx_packets; /* cumulative, as the device counts them */
	uint64_t rx_dropped, tx_dropped;
	uint64_t rx_errors, tx_errors;
};

/* Usage over the interval, and what is reserved. */
struct emf_usage {
	double cpu_utilized;	    /* CPU units busy on average (1024 = one vCPU) */
	double cpu_reserved;	    /* CPU units */
	double memory_utilized_mib; /* CloudWatch's unit is Megabytes; the values are MiB */
	double memory_reserved_mib;
	uint64_t storage_read_bytes; /* cumulative (the unit says Bytes/Second, as on AWS) */
	uint64_t storage_write_bytes;
	double ephemeral_utilized_gb; /* task only, where the platform reports it */
	double ephemeral_reserved_gb;
	struct emf_network net;	 /* task only, where the platform reports it */
	bool storage_io_unknown; /* not measured: StorageReadBytes, StorageWriteBytes left out */
	bool net_unknown;	 /* no figures for the interval: the network's members left out */
};

/*
 * A "Type": "Task" event at timestamp_ms (epoch). -EOPNOTSUPP when the platform revision has no
 * Container Insights, -EINVAL for a task without cluster, id, family or revision.
 */
int emf_task_event(const struct emf_task *t, const struct emf_usage *u, uint64_t timestamp_ms,
		   json_t **ret);
/*
 * A "Type": "Container" event of one container, with its metrics (ContainerCpuUtilized...).
 * Those exist with enhanced observability only: -EOPNOTSUPP without t->enhanced.
 */
int emf_container_event(const struct emf_task *t, const char *container, const char *image,
			const char *known_status, const struct emf_usage *u, uint64_t timestamp_ms,
			json_t **ret);

/*
 * Check an event against the EMF specification: _aws (Timestamp, an integer of epoch ms, within
 * two weeks before and two hours after now_ms unless now_ms is 0; CloudWatchMetrics), each
 * MetricDirective (Namespace of 1-1024 characters and not AWS/..., Dimensions: 1 or more
 * DimensionSets of at most 30 keys, each a root member with a string value of 1-1024
 * characters; Metrics: at most 100, each a Name that is a root member holding a number or an
 * array of at most 100 numbers, a Unit CloudWatch knows, StorageResolution 1 or 60), and no
 * member the specification does not define. -EINVAL and *ret_error says where and what.
 */
int emf_validate(json_t *event, uint64_t now_ms, char **ret_error);
/* The same for a log event's text: one JSON object, nothing around it, at most 1 MiB, no key
 * twice. */
int emf_validate_text(const char *text, size_t len, uint64_t now_ms, char **ret_error);

#endif
