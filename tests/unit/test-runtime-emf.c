// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/emf.h: Container Insights events of a task on each platform revision,
 * valid by the EMF specification, with the members and metrics Container Insights has (network
 * metrics on 1.4.0 only); and the validator refusing what breaks the specification's rules, for
 * the right reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emf.h"
#include "platform.h"
#include "util.h"

#define NOW 1735689600000ULL /* 2025-01-01T00:00:00Z */

static const struct emf_usage usage = {
	.cpu_utilized = 12.5,
	.cpu_reserved = 256,
	.memory_utilized_mib = 37,
	.memory_reserved_mib = 512,
	.storage_read_bytes = 4096,
	.storage_write_bytes = 1 << 20,
	.ephemeral_utilized_gb = 0.25,
	.ephemeral_reserved_gb = 20,
	.net = { .rx_bytes_per_sec = 1911.33,
		 .tx_bytes_per_sec = 2390.9,
		 .rx_packets = 527514,
		 .tx_packets = 6117,
		 .rx_dropped = 1 },
};

static struct emf_task task_on(const char *version, unsigned int revision)
{
	const struct platform *p = NULL;
	char *err = NULL;

	if (revision)
		assert_int_equal(platform_lookup_revision(version, revision, &p, &err), 0);
	else
		assert_int_equal(platform_lookup(version, &p, &err), 0);
	return (struct emf_task){
		.platform = p,
		.cluster = "tp-cluster",
		.task_id = "67cd8a22b533459696d4ccab5278e009",
		.family = "web",
		.revision = "3",
		.account_id = "123456789012",
		.region = "us-east-1",
		.availability_zone = "us-east-1a",
		.known_status = "RUNNING",
		.launch_type = "FARGATE",
		.pull_started_at_ms = NOW - 9000,
		.pull_stopped_at_ms = NOW - 7000,
		.created_at_ms = NOW - 10000,
		.started_at_ms = NOW - 6000,
	};
}

static void assert_valid(json_t *e)
{
	_cleanup_free_ char *text = json_dumps(e, JSON_COMPACT);
	char *err = NULL;

	if (emf_validate(e, NOW, &err) < 0)
		fail_msg("invalid: %s: %s", err, text);
	assert_int_equal(emf_validate_text(text, strlen(text), NOW, &err), 0);
}

/* The metric names of the event's first directive, "A B C". */
static char *metric_names(json_t *e)
{
	json_t *m = json_object_get(
		json_array_get(json_object_get(json_object_get(e, "_aws"), "CloudWatchMetrics"), 0),
		"Metrics");
	char *out = NULL;
	size_t len = 0, i;
	json_t *d;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	json_array_foreach(m, i, d)
		fprintf(f, "%s%s", i ? " " : "", json_string_value(json_object_get(d, "Name")));
	fclose(f);
	return out;
}

static char *dims_text(json_t *e)
{
	json_t *d = json_object_get(
		json_array_get(json_object_get(json_object_get(e, "_aws"), "CloudWatchMetrics"), 0),
		"Dimensions");

	return json_dumps(d, JSON_COMPACT);
}

static void test_task_1_4(void **state)
{
	struct emf_task t = task_on("1.4.0", 0);
	json_auto_t *e = NULL;
	_cleanup_free_ char *names = NULL, *dims = NULL;
	json_t *aws, *metric;
	size_t i;

	assert_int_equal(emf_task_event(&t, &usage, NOW, &e), 0);
	assert_valid(e);
	names = metric_names(e);
	assert_string_equal(names,
			    "CpuUtilized CpuReserved MemoryUtilized MemoryReserved "
			    "StorageReadBytes StorageWriteBytes NetworkRxBytes NetworkTxBytes "
			    "EphemeralStorageUtilized EphemeralStorageReserved");
	dims = dims_text(e);
	assert_string_equal(dims, "[[\"ClusterName\"],[\"ClusterName\",\"TaskDefinitionFamily\"]]");
	aws = json_object_get(e, "_aws");
	assert_int_equal(json_integer_value(json_object_get(aws, "Timestamp")), NOW);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(aws, "CloudWatchMetrics"), 0), "Namespace")),
		"ECS/ContainerInsights");
	/* Container Insights' members of a Task event */
	assert_string_equal(json_string_value(json_object_get(e, "Type")), "Task");
	assert_string_equal(json_string_value(json_object_get(e, "Version")), "0");
	assert_string_equal(json_string_value(json_object_get(e, "AvailabilityZone")),
			    "us-east-1a");
	assert_string_equal(json_string_value(json_object_get(e, "LaunchType")), "FARGATE");
	assert_int_equal(json_integer_value(json_object_get(e, "PullStartedAt")), NOW - 9000);
	assert_int_equal(json_integer_value(json_object_get(e, "NetworkRxPackets")), 527514);
	assert_true(json_real_value(json_object_get(e, "NetworkRxBytes")) == 1911.33);
	assert_int_equal(json_integer_value(json_object_get(e, "CpuReserved")), 256);
	/* each unit is Container Insights' */
	json_array_foreach(
		json_object_get(json_array_get(json_object_get(aws, "CloudWatchMetrics"), 0),
				"Metrics"),
		i, metric) {
		const char *n = json_string_value(json_object_get(metric, "Name"));
		const char *u = json_string_value(json_object_get(metric, "Unit"));
		const char *want = startswith(n, "Cpu")		? "None"
				   : startswith(n, "Memory")	? "Megabytes"
				   : startswith(n, "Ephemeral") ? "Gigabytes"
								: "Bytes/Second";

		assert_string_equal(u, want);
	}
}

/* 1.3.0 has no network metrics and no Availability Zone; 1.4.0 before revision 5 no ephemeral
 * storage metrics; 1.3.0 before revision 3 no Container Insights at all. */
/* What was not measured is left out, not sent as zero: storage I/O, and the network of an
 * interval netd had no figures for. */
static void test_unknown_left_out(void **state)
{
	struct emf_task t = task_on("1.4.0", 0);
	struct emf_usage u = usage;
	json_auto_t *e = NULL;
	_cleanup_free_ char *names = NULL;

	u.storage_io_unknown = true;
	u.net_unknown = true;
	assert_int_equal(emf_task_event(&t, &u, NOW, &e), 0);
	assert_valid(e);
	names = metric_names(e);
	assert_string_equal(names, "CpuUtilized CpuReserved MemoryUtilized MemoryReserved "
				   "EphemeralStorageUtilized EphemeralStorageReserved");
	assert_null(json_object_get(e, "StorageReadBytes"));
	assert_null(json_object_get(e, "NetworkRxBytes"));
	assert_null(json_object_get(e, "NetworkRxPackets"));
}

static void test_per_revision(void **state)
{
	struct emf_task t13 = task_on("1.3.0", 0), t14r4 = task_on("1.4.0", 4);
	struct emf_task t13r2 = task_on("1.3.0", 2);
	json_auto_t *e13 = NULL, *e14 = NULL, *none = NULL;
	_cleanup_free_ char *n13 = NULL, *n14 = NULL;

	assert_int_equal(emf_task_event(&t13, &usage, NOW, &e13), 0);
	assert_valid(e13);
	n13 = metric_names(e13);
	assert_string_equal(n13, "CpuUtilized CpuReserved MemoryUtilized MemoryReserved "
				 "StorageReadBytes StorageWriteBytes");
	assert_null(json_object_get(e13, "NetworkRxBytes"));
	assert_null(json_object_get(e13, "NetworkRxPackets"));
	assert_null(json_object_get(e13, "AvailabilityZone"));

	assert_int_equal(emf_task_event(&t14r4, &usage, NOW, &e14), 0);
	assert_valid(e14);
	n14 = metric_names(e14);
	assert_string_equal(n14,
			    "CpuUtilized CpuReserved MemoryUtilized MemoryReserved "
			    "StorageReadBytes StorageWriteBytes NetworkRxBytes NetworkTxBytes");

	assert_int_equal(emf_task_event(&t13r2, &usage, NOW, &none), -EOPNOTSUPP);
	assert_null(none);
}

static void test_enhanced_and_containers(void **state)
{
	struct emf_task t = task_on("LATEST", 0);
	json_auto_t *e = NULL, *c = NULL, *plain = NULL;
	_cleanup_free_ char *dims = NULL, *cdims = NULL, *names = NULL;

	assert_int_equal(emf_container_event(&t, "app", "busybox", "RUNNING", &usage, NOW, &plain),
			 -EOPNOTSUPP);
	t.enhanced = true;
	t.service = "web-svc";
	assert_int_equal(emf_task_event(&t, &usage, NOW, &e), 0);
	assert_valid(e);
	dims = dims_text(e);
	assert_string_equal(dims, "[[\"ClusterName\"],[\"ClusterName\",\"TaskDefinitionFamily\"],"
				  "[\"ClusterName\",\"ServiceName\"],[\"ClusterName\","
				  "\"TaskDefinitionFamily\",\"TaskId\"],[\"ClusterName\","
				  "\"ServiceName\",\"TaskId\"]]");
	assert_string_equal(json_string_value(json_object_get(e, "ServiceName")), "web-svc");

	assert_int_equal(emf_container_event(&t, "app", "busybox", "RUNNING", &usage, NOW, &c), 0);
	assert_valid(c);
	names = metric_names(c);
	assert_string_equal(names, "ContainerCpuUtilized ContainerCpuReserved "
				   "ContainerMemoryUtilized ContainerMemoryReserved "
				   "ContainerStorageReadBytes ContainerStorageWriteBytes");
	cdims = dims_text(c);
	assert_non_null(strstr(cdims, "[\"ClusterName\",\"TaskDefinitionFamily\",\"TaskId\","
				      "\"ContainerName\"]"));
	assert_string_equal(json_string_value(json_object_get(c, "Type")), "Container");
	assert_string_equal(json_string_value(json_object_get(c, "ContainerName")), "app");
	assert_string_equal(json_string_value(json_object_get(c, "ContainerKnownStatus")),
			    "RUNNING");
	assert_string_equal(json_string_value(json_object_get(c, "Image")), "busybox");

	t.task_id = NULL;
	assert_int_equal(emf_task_event(&t, &usage, NOW, &plain), -EINVAL);
}

#define AWS_OK                                                                                     \
	"\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":\"ns\","      \
	"\"Dimensions\":[[\"d\"]],\"Metrics\":[{\"Name\":\"m\",\"Unit\":\"Count\"}]}]}"

static void test_validator(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "{" AWS_OK ",\"d\":\"x\",\"m\":1}", NULL },
		{ "{" AWS_OK ",\"d\":\"x\",\"m\":[1,2.5]}", NULL },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":\"ns\","
		  "\"Dimensions\":[[]],\"Metrics\":[]}],\"LogGroupName\":\"g\"}}",
		  NULL },
		{ "[]", "the event must be a JSON object" },
		{ "{\"d\":\"x\"}", "_aws: required, an object" },
		{ "{\"_aws\":{\"CloudWatchMetrics\":[]}}", "_aws.Timestamp: required, an integer" },
		{ "{\"_aws\":{\"Timestamp\":1.5e12,\"CloudWatchMetrics\":[]}}",
		  "_aws.Timestamp: required, an integer" },
		{ "{\"_aws\":{\"Timestamp\":1000,\"CloudWatchMetrics\":[]}}",
		  "_aws.Timestamp: more than two weeks before" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000}}", "_aws.CloudWatchMetrics: required" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[],\"Extra\":1}}",
		  "_aws: member 'Extra' is not defined by the specification" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Dimensions\":[[]],"
		  "\"Metrics\":[]}]}}",
		  "_aws.CloudWatchMetrics[0].Namespace: required" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":"
		  "\"AWS/ECS\",\"Dimensions\":[[]],\"Metrics\":[]}]}}",
		  "AWS/ namespaces are reserved" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":\"ns\","
		  "\"Dimensions\":[],\"Metrics\":[]}]}}",
		  "_aws.CloudWatchMetrics[0].Dimensions: must be an array of 1 or more DimensionSets" },
		{ "{" AWS_OK ",\"m\":1}",
		  "_aws.CloudWatchMetrics[0].Dimensions[0][0]: dimension 'd' is not a member of the "
		  "root" },
		{ "{" AWS_OK ",\"d\":5,\"m\":1}",
		  "dimension 'd' must have a string value of 1 to 1024 characters" },
		{ "{" AWS_OK ",\"d\":\"x\"}",
		  "_aws.CloudWatchMetrics[0].Metrics[0].Name: metric 'm' is not a member of the root" },
		{ "{" AWS_OK ",\"d\":\"x\",\"m\":\"1\"}",
		  "metric 'm': its value must be a number or an array of at most 100 numbers" },
		{ "{" AWS_OK ",\"d\":\"x\",\"m\":[1,\"2\"]}",
		  "metric 'm': value 1 is not a number" },
		{ "{" AWS_OK ",\"d\":\"x\",\"m\":{\"v\":1}}", "its value must be a number" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":\"ns\","
		  "\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"m\",\"Unit\":\"Furlongs\"}]}]},\"m\":1}",
		  "_aws.CloudWatchMetrics[0].Metrics[0].Unit: not a CloudWatch unit" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":\"ns\","
		  "\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"m\",\"StorageResolution\":5}]}]},"
		  "\"m\":1}",
		  "StorageResolution: must be 1 or 60" },
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":\"ns\","
		  "\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"m\",\"Value\":1}]}]},\"m\":1}",
		  "Metrics[0]: member 'Value' is not defined by the specification" },
		{ "{" AWS_OK ",\"d\":\"x\",\"m\":1} trailing", "not one JSON object" },
		{ "{" AWS_OK ",\"d\":\"x\",\"d\":\"y\",\"m\":1}", "duplicate object key" },
		/* AWS's own documentation example of a Task event misspells a metric it lists */
		{ "{\"_aws\":{\"Timestamp\":1735689600000,\"CloudWatchMetrics\":[{\"Namespace\":"
		  "\"ECS/ContainerInsights\",\"Dimensions\":[[\"ClusterName\"]],\"Metrics\":[{\"Name\":"
		  "\"EBSFilesystemSize\",\"Unit\":\"Gigabytes\"},{\"Name\":\"EBSFilesystemUtilzed\","
		  "\"Unit\":\"Gigabytes\"}]}]},\"ClusterName\":\"c\",\"EBSFilesystemSize\":20,"
		  "\"EBSFilesystemUtilized\":10}",
		  "Metrics[1].Name: metric 'EBSFilesystemUtilzed' is not a member of the root" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *err = NULL;
		int r = emf_validate_text(cases[i].text, strlen(cases[i].text), NOW, &err);

		if (!cases[i].want) {
			if (r < 0)
				fail_msg("case %zu refused: %s", i, err);
			continue;
		}
		if (r != -EINVAL || !err || !strstr(err, cases[i].want))
			fail_msg("case %zu: %d '%s', want '%s'", i, r, err, cases[i].want);
		free(err);
	}
}

/* The limits: 100 metrics and 30 dimension keys pass, one more of either does not. */
static void test_limits(void **state)
{
	for (int extra = 0; extra < 2; extra++) {
		json_auto_t *e = json_pack("{s:{s:I, s:[{s:s, s:[[]], s:[]}]}}", "_aws",
					   "Timestamp", (json_int_t)NOW, "CloudWatchMetrics",
					   "Namespace", "ns", "Dimensions", "Metrics");
		json_t *d = json_array_get(
			json_object_get(json_object_get(e, "_aws"), "CloudWatchMetrics"), 0);
		json_t *set = json_array_get(json_object_get(d, "Dimensions"), 0);
		json_t *metrics = json_object_get(d, "Metrics");
		char *err = NULL;

		for (int i = 0; i < EMF_MAX_METRICS + extra; i++) {
			char name[16];

			snprintf(name, sizeof(name), "m%d", i);
			json_array_append_new(metrics, json_pack("{s:s}", "Name", name));
			json_object_set_new(e, name, json_integer(i));
		}
		for (int i = 0; i < EMF_MAX_DIMENSIONS; i++) {
			char name[16];

			snprintf(name, sizeof(name), "d%d", i);
			json_array_append_new(set, json_string(name));
			json_object_set_new(e, name, json_string("v"));
		}
		if (!extra) {
			assert_int_equal(emf_validate(e, NOW, &err), 0);
			json_array_append_new(set, json_string("d0"));
			assert_int_equal(emf_validate(e, NOW, &err), -EINVAL);
			assert_non_null(strstr(err, "at most 30 dimension keys"));
		} else {
			assert_int_equal(emf_validate(e, NOW, &err), -EINVAL);
			assert_non_null(strstr(err, "at most 100 MetricDefinitions"));
		}
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_task_1_4),     cmocka_unit_test(test_unknown_left_out),
		cmocka_unit_test(test_per_revision), cmocka_unit_test(test_enhanced_and_containers),
		cmocka_unit_test(test_validator),    cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
