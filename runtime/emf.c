// SPDX-License-Identifier: GPL-2.0-only
/*
 * The events follow CloudWatch's "Container Insights performance log events for Amazon ECS"
 * (Type Task and Container, their members) and the metrics of "Amazon ECS Container Insights
 * (with enhanced observability) metrics" (names, units, dimension sets), written in the EMF
 * specification's form: the directives in "_aws" (Container Insights' own log events carry them
 * in a top-level CloudWatchMetrics, a form that predates EMF).
 */
#include "emf.h"
#include "platform.h"
#include "util.h"

/* CloudWatch's units (MetricDatum), as the EMF schema lists them. */
static const char *const units[] = {
	"Seconds",
	"Microseconds",
	"Milliseconds",
	"Bytes",
	"Kilobytes",
	"Megabytes",
	"Gigabytes",
	"Terabytes",
	"Bits",
	"Kilobits",
	"Megabits",
	"Gigabits",
	"Terabits",
	"Percent",
	"Count",
	"Bytes/Second",
	"Kilobytes/Second",
	"Megabytes/Second",
	"Gigabytes/Second",
	"Terabytes/Second",
	"Bits/Second",
	"Kilobits/Second",
	"Megabits/Second",
	"Gigabits/Second",
	"Terabits/Second",
	"Count/Second",
	"None",
};

/* A metric: its member, unit and value. */
struct metric {
	const char *name;
	const char *unit;
	double value;
};

/* Append {"Name", "Unit"} of each metric to a, and the values to the root. */
static int put_metrics(json_t *root, json_t *a, const struct metric *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool integral = m[i].value >= -9e15 && m[i].value <= 9e15 &&
				m[i].value == (double)(json_int_t)m[i].value;
		json_t *v = integral ? json_integer((json_int_t)m[i].value) : json_real(m[i].value);

		if (json_object_set_new(root, m[i].name, v) < 0 ||
		    json_array_append_new(
			    a, json_pack("{s:s, s:s}", "Name", m[i].name, "Unit", m[i].unit)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A DimensionSet of the NULL-terminated keys. */
static int put_dims(json_t *dims, const char *const *keys)
{
	json_t *set = json_array();

	for (size_t i = 0; set && keys[i]; i++)
		json_array_append_new(set, json_string(keys[i]));
	return json_array_append_new(dims, set) < 0 ? -ENOMEM : 0;
}

#define DIMS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int put_string(json_t *root, const char *key, const char *v)
{
	return v && json_object_set_new(root, key, json_string(v)) < 0 ? -ENOMEM : 0;
}

static int put_ms(json_t *root, const char *key, uint64_t ms)
{
	return ms && json_object_set_new(root, key, json_integer((json_int_t)ms)) < 0 ? -ENOMEM : 0;
}

/* The members of every event, and an "_aws" with one directive; *ret_dims and *ret_metrics are
 * its Dimensions and Metrics. */
static int event_new(const struct emf_task *t, const char *type, uint64_t timestamp_ms,
		     json_t **ret, json_t **ret_dims, json_t **ret_metrics)
{
	json_auto_t *root = NULL;
	json_t *dims = json_array(), *metrics = json_array();

	if (!t->cluster || !t->task_id || !t->family || !t->revision || !t->platform) {
		json_decref(dims);
		json_decref(metrics);
		return -EINVAL;
	}
	root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:{s:I, s:[{s:s, s:o, s:o}]}}",
			 "Version", "0", "Type", type, "TaskId", t->task_id, "TaskDefinitionFamily",
			 t->family, "TaskDefinitionRevision", t->revision, "ClusterName",
			 t->cluster, "Timestamp", (json_int_t)timestamp_ms, "_aws", "Timestamp",
			 (json_int_t)timestamp_ms, "CloudWatchMetrics", "Namespace", EMF_NAMESPACE,
			 "Dimensions", dims, "Metrics", metrics);
	if (!root || put_string(root, "ServiceName", t->service) < 0)
		return -ENOMEM;
	*ret_dims = dims;
	*ret_metrics = metrics;
	*ret = TAKE_PTR(root);
	return 0;
}

int emf_task_event(const struct emf_task *t, const struct emf_usage *u, uint64_t timestamp_ms,
		   json_t **ret)
{
	const struct platform_insights *in = &t->platform->insights;
	const struct metric base[] = {
		{ "CpuUtilized", "None", u->cpu_utilized },
		{ "CpuReserved", "None", u->cpu_reserved },
		{ "MemoryUtilized", "Megabytes", u->memory_utilized_mib },
		{ "MemoryReserved", "Megabytes", u->memory_reserved_mib },
	};
	const struct metric storage_io[] = {
		{ "StorageReadBytes", "Bytes/Second", (double)u->storage_read_bytes },
		{ "StorageWriteBytes", "Bytes/Second", (double)u->storage_write_bytes },
	};
	const struct metric network[] = {
		{ "NetworkRxBytes", "Bytes/Second", u->net.rx_bytes_per_sec },
		{ "NetworkTxBytes", "Bytes/Second", u->net.tx_bytes_per_sec },
	};
	const struct metric ephemeral[] = {
		{ "EphemeralStorageUtilized", "Gigabytes", u->ephemeral_utilized_gb },
		{ "EphemeralStorageReserved", "Gigabytes", u->ephemeral_reserved_gb },
	};
	json_auto_t *root = NULL;
	json_t *dims, *metrics;
	int r;

	if (!t->platform || !in->supported)
		return -EOPNOTSUPP;
	r = event_new(t, "Task", timestamp_ms, &root, &dims, &metrics);
	if (r < 0)
		return r;
	r = put_dims(dims, DIMS("ClusterName"));
	if (r == 0)
		r = put_dims(dims, DIMS("ClusterName", "TaskDefinitionFamily"));
	if (r == 0 && t->service)
		r = put_dims(dims, DIMS("ClusterName", "ServiceName"));
	if (r == 0 && t->enhanced)
		r = put_dims(dims, DIMS("ClusterName", "TaskDefinitionFamily", "TaskId"));
	if (r == 0 && t->enhanced && t->service)
		r = put_dims(dims, DIMS("ClusterName", "ServiceName", "TaskId"));
	if (r == 0)
		r = put_metrics(root, metrics, base, ARRAY_SIZE(base));
	if (r == 0 && !u->storage_io_unknown)
		r = put_metrics(root, metrics, storage_io, ARRAY_SIZE(storage_io));
	if (r == 0 && in->network_metrics && !u->net_unknown)
		r = put_metrics(root, metrics, network, ARRAY_SIZE(network));
	if (r == 0 && in->ephemeral_storage_metrics)
		r = put_metrics(root, metrics, ephemeral, ARRAY_SIZE(ephemeral));
	if (r < 0)
		return r;

	/* the task's own members; the packet counts are log fields, not metrics */
	if (put_string(root, "AccountID", t->account_id) < 0 ||
	    put_string(root, "Region", t->region) < 0 ||
	    put_string(root, "AvailabilityZone",
		       t->platform->metadata.availability_zone ? t->availability_zone : NULL) < 0 ||
	    put_string(root, "KnownStatus", t->known_status) < 0 ||
	    put_string(root, "LaunchType", t->launch_type) < 0 ||
	    put_ms(root, "PullStartedAt", t->pull_started_at_ms) < 0 ||
	    put_ms(root, "PullStoppedAt", t->pull_stopped_at_ms) < 0 ||
	    put_ms(root, "CreatedAt", t->created_at_ms) < 0 ||
	    put_ms(root, "StartedAt", t->started_at_ms) < 0)
		return -ENOMEM;
	if (in->network_metrics && !u->net_unknown) {
		json_auto_t *counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
						"NetworkRxPackets", (json_int_t)u->net.rx_packets,
						"NetworkTxPackets", (json_int_t)u->net.tx_packets,
						"NetworkRxDropped", (json_int_t)u->net.rx_dropped,
						"NetworkTxDropped", (json_int_t)u->net.tx_dropped,
						"NetworkRxErrors", (json_int_t)u->net.rx_errors,
						"NetworkTxErrors", (json_int_t)u->net.tx_errors);

		if (!counts || json_object_update(root, counts) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(root);
	return 0;
}

int emf_container_event(const struct emf_task *t, const char *container, const char *image,
			const char *known_status, const struct emf_usage *u, uint64_t timestamp_ms,
			json_t **ret)
{
	const struct metric m[] = {
		{ "ContainerCpuUtilized", "None", u->cpu_utilized },
		{ "ContainerCpuReserved", "None", u->cpu_reserved },
		{ "ContainerMemoryUtilized", "Megabytes", u->memory_utilized_mib },
		{ "ContainerMemoryReserved", "Megabytes", u->memory_reserved_mib },
		{ "ContainerStorageReadBytes", "Bytes", (double)u->storage_read_bytes },
		{ "ContainerStorageWriteBytes", "Bytes", (double)u->storage_write_bytes },
	};
	json_auto_t *root = NULL;
	json_t *dims, *metrics;
	int r;

	if (!t->platform || !t->platform->insights.supported || !t->enhanced)
		return -EOPNOTSUPP;
	if (!container)
		return -EINVAL;
	r = event_new(t, "Container", timestamp_ms, &root, &dims, &metrics);
	if (r < 0)
		return r;
	r = put_dims(dims, DIMS("ClusterName"));
	if (r == 0)
		r = put_dims(dims, DIMS("ClusterName", "TaskDefinitionFamily", "ContainerName"));
	if (r == 0)
		r = put_dims(dims, DIMS("ClusterName", "TaskDefinitionFamily", "TaskId",
					"ContainerName"));
	if (r == 0 && t->service)
		r = put_dims(dims, DIMS("ClusterName", "ServiceName", "ContainerName"));
	if (r == 0 && t->service)
		r = put_dims(dims, DIMS("ClusterName", "ServiceName", "TaskId", "ContainerName"));
	if (r == 0)
		r = put_metrics(root, metrics, m, ARRAY_SIZE(m));
	if (r < 0)
		return r;
	if (put_string(root, "ContainerName", container) < 0 ||
	    put_string(root, "Image", image) < 0 ||
	    put_string(root, "ContainerKnownStatus", known_status) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(root);
	return 0;
}

/* --- the validator ------------------------------------------------------------------------- */

/* Printable ASCII, at most 64 characters: member names in messages. */
static const char *printable(const char *s, char buf[static 68])
{
	size_t i;

	for (i = 0; i < 64 && s[i]; i++)
		buf[i] = (unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (s[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* Every member of o is one of known. */
static int only_members(json_t *o, const char *where, const char *const *known, char **ret_error)
{
	const char *key;
	char buf[68];
	json_t *v;

	json_object_foreach(o, key, v) {
		bool ok = false;

		for (size_t i = 0; known[i]; i++)
			ok = ok || streq(key, known[i]);
		if (!ok)
			return fail_with(ret_error,
					 "%s: member '%s' is not defined by the specification",
					 where, printable(key, buf));
	}
	return 0;
}

static bool string_of(json_t *v, size_t min, size_t max)
{
	return json_is_string(v) && json_string_length(v) >= min && json_string_length(v) <= max;
}

static int check_dimensions(json_t *event, json_t *dims, const char *where, char **ret_error)
{
	json_t *set, *key;
	size_t i, j;
	char buf[68];

	if (!json_is_array(dims) || json_array_size(dims) == 0)
		return fail_with(ret_error,
				 "%s.Dimensions: must be an array of 1 or more DimensionSets",
				 where);
	json_array_foreach(dims, i, set) {
		if (!json_is_array(set) || json_array_size(set) > EMF_MAX_DIMENSIONS)
			return fail_with(
				ret_error,
				"%s.Dimensions[%zu]: a DimensionSet is an array of at most %d dimension keys",
				where, i, EMF_MAX_DIMENSIONS);
		json_array_foreach(set, j, key) {
			json_t *target;

			if (!string_of(key, 1, 250))
				return fail_with(
					ret_error,
					"%s.Dimensions[%zu][%zu]: a dimension key is a string of 1 to 250 characters",
					where, i, j);
			target = json_object_get(event, json_string_value(key));
			if (!target)
				return fail_with(
					ret_error,
					"%s.Dimensions[%zu][%zu]: dimension '%s' is not a member of the root",
					where, i, j, printable(json_string_value(key), buf));
			if (!string_of(target, 1, 1024))
				return fail_with(
					ret_error,
					"%s: dimension '%s' must have a string value of 1 to 1024 characters",
					where, printable(json_string_value(key), buf));
		}
	}
	return 0;
}

static int check_metric(json_t *event, json_t *m, const char *where, size_t i, char **ret_error)
{
	static const char *const members[] = { "Name", "Unit", "StorageResolution", NULL };
	json_t *name = json_object_get(m, "Name"), *unit, *res, *target, *v;
	char at[128], buf[68];
	size_t k;
	int r;

	snprintf(at, sizeof(at), "%s.Metrics[%zu]", where, i);
	if (!json_is_object(m))
		return fail_with(ret_error, "%s: a MetricDefinition is an object", at);
	r = only_members(m, at, members, ret_error);
	if (r < 0)
		return r;
	if (!string_of(name, 1, 1024))
		return fail_with(ret_error, "%s.Name: required, a string of 1 to 1024 characters",
				 at);
	unit = json_object_get(m, "Unit");
	if (unit) {
		bool known = false;

		for (k = 0; json_is_string(unit) && k < ARRAY_SIZE(units); k++)
			known = known || streq(json_string_value(unit), units[k]);
		if (!known)
			return fail_with(ret_error, "%s.Unit: not a CloudWatch unit", at);
	}
	res = json_object_get(m, "StorageResolution");
	if (res && (!json_is_integer(res) ||
		    (json_integer_value(res) != 1 && json_integer_value(res) != 60)))
		return fail_with(ret_error, "%s.StorageResolution: must be 1 or 60", at);
	target = json_object_get(event, json_string_value(name));
	if (!target)
		return fail_with(ret_error, "%s.Name: metric '%s' is not a member of the root", at,
				 printable(json_string_value(name), buf));
	if (json_is_number(target))
		return 0;
	if (!json_is_array(target) || json_array_size(target) > EMF_MAX_VALUES)
		return fail_with(
			ret_error,
			"metric '%s': its value must be a number or an array of at most %d numbers",
			printable(json_string_value(name), buf), EMF_MAX_VALUES);
	json_array_foreach(target, k, v)
		if (!json_is_number(v))
			return fail_with(ret_error, "metric '%s': value %zu is not a number",
					 printable(json_string_value(name), buf), k);
	return 0;
}

static int check_directive(json_t *event, json_t *d, size_t i, char **ret_error)
{
	static const char *const members[] = { "Namespace", "Dimensions", "Metrics", NULL };
	json_t *ns = json_object_get(d, "Namespace"), *metrics = json_object_get(d, "Metrics"), *m;
	char where[64];
	size_t k;
	int r;

	snprintf(where, sizeof(where), "_aws.CloudWatchMetrics[%zu]", i);
	if (!json_is_object(d))
		return fail_with(ret_error, "%s: a MetricDirective is an object", where);
	r = only_members(d, where, members, ret_error);
	if (r < 0)
		return r;
	if (!string_of(ns, 1, 1024))
		return fail_with(ret_error,
				 "%s.Namespace: required, a string of 1 to 1024 characters", where);
	if (startswith(json_string_value(ns), "AWS/"))
		return fail_with(ret_error,
				 "%s.Namespace: AWS/ namespaces are reserved for AWS's own metrics",
				 where);
	r = check_dimensions(event, json_object_get(d, "Dimensions"), where, ret_error);
	if (r < 0)
		return r;
	if (!json_is_array(metrics) || json_array_size(metrics) > EMF_MAX_METRICS)
		return fail_with(ret_error,
				 "%s.Metrics: required, an array of at most %d MetricDefinitions",
				 where, EMF_MAX_METRICS);
	json_array_foreach(metrics, k, m) {
		r = check_metric(event, m, where, k, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

int emf_validate(json_t *event, uint64_t now_ms, char **ret_error)
{
	static const char *const aws_members[] = { "Timestamp", "CloudWatchMetrics", "LogGroupName",
						   "LogStreamName", NULL };
	json_t *aws = json_object_get(event, "_aws"), *ts, *directives, *d;
	size_t i;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!json_is_object(event))
		return fail_with(ret_error, "the event must be a JSON object");
	if (!json_is_object(aws))
		return fail_with(ret_error, "_aws: required, an object");
	r = only_members(aws, "_aws", aws_members, ret_error);
	if (r < 0)
		return r;
	ts = json_object_get(aws, "Timestamp");
	if (!json_is_integer(ts) || json_integer_value(ts) < 0)
		return fail_with(
			ret_error,
			"_aws.Timestamp: required, an integer of milliseconds since the epoch");
	if (now_ms && ((uint64_t)json_integer_value(ts) + EMF_MAX_PAST_MS < now_ms ||
		       (uint64_t)json_integer_value(ts) > now_ms + EMF_MAX_FUTURE_MS))
		return fail_with(
			ret_error,
			"_aws.Timestamp: more than two weeks before or two hours after now, CloudWatch drops it");
	for (size_t k = 2; aws_members[k]; k++) {
		json_t *v = json_object_get(aws, aws_members[k]);

		if (v && !string_of(v, 1, 512))
			return fail_with(ret_error, "_aws.%s: a string of 1 to 512 characters",
					 aws_members[k]);
	}
	directives = json_object_get(aws, "CloudWatchMetrics");
	if (!json_is_array(directives))
		return fail_with(ret_error,
				 "_aws.CloudWatchMetrics: required, an array of MetricDirectives");
	json_array_foreach(directives, i, d) {
		r = check_directive(event, d, i, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

int emf_validate_text(const char *text, size_t len, uint64_t now_ms, char **ret_error)
{
	json_auto_t *j = NULL;
	json_error_t jerr;

	if (ret_error)
		*ret_error = NULL;
	if (len > EMF_MAX_EVENT_BYTES)
		return fail_with(ret_error, "the event is larger than %d bytes",
				 EMF_MAX_EVENT_BYTES);
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return fail_with(ret_error, "not one JSON object: %s (column %d)", jerr.text,
				 jerr.column);
	return emf_validate(j, now_ms, ret_error);
}
