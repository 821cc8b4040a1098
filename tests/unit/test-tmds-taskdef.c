// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for runtime/taskdef.h: ECS task definitions as the metadata endpoint reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "taskdef.h"
#include "util.h"

static struct taskdef *parse_ok(const char *s)
{
	json_auto_t *j = json_loads(s, 0, NULL);
	struct taskdef *d = NULL;
	char *err = NULL;
	int r;

	assert_non_null(j);
	r = taskdef_parse(j, &d, &err);
	if (r < 0)
		fail_msg("taskdef_parse(%s): %s", s, err ?: "?");
	assert_null(err);
	return d;
}

/* Parsing fails, and the error message contains want. */
static void parse_bad(const char *s, const char *want)
{
	json_auto_t *j = json_loads(s, 0, NULL);
	struct taskdef *d = NULL;
	char *err = NULL;

	assert_non_null(j);
	assert_int_equal(taskdef_parse(j, &d, &err), -EINVAL);
	assert_null(d);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error for %s is '%s', want '%s' in it", s, err, want);
	free(err);
}

static void test_full(void **state)
{
	struct taskdef *d = parse_ok(
		"{\"family\":\"web\",\"revision\":12,\"cpu\":\"1 vCPU\",\"memory\":\"2 GB\","
		"\"networkMode\":\"awsvpc\",\"requiresCompatibilities\":[\"FARGATE\"],"
		"\"taskRoleArn\":\"arn:aws:iam::111122223333:role/path/web\","
		"\"executionRoleArn\":\"arn:aws:iam::111122223333:role/exec\","
		"\"ephemeralStorage\":{\"sizeInGiB\":50},\"volumes\":[],"
		"\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"nginx:1\",\"cpu\":512,"
		"\"memory\":1024,\"memoryReservation\":256,\"essential\":true,"
		"\"portMappings\":[{\"containerPort\":80,\"hostPort\":80,\"protocol\":\"tcp\"},"
		"{\"containerPort\":53,\"protocol\":\"udp\"}],"
		"\"logConfiguration\":{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\"},"
		"\"secretOptions\":[]},\"linuxParameters\":{\"capabilities\":{\"add\":[\"SYS_PTRACE\"]}},"
		"\"environment\":[{\"name\":\"A\",\"value\":\"b\"}]},"
		"{\"name\":\"log_router\",\"image\":\"fluent-bit\",\"essential\":false}]}");
	const struct taskdef_container *c;

	assert_string_equal(d->family, "web");
	assert_string_equal(d->revision, "12");
	assert_true(d->has_cpu && d->cpu_vcpu == 1.0);
	assert_true(d->has_memory && d->memory_mib == 2048);
	assert_string_equal(d->task_role_arn, "arn:aws:iam::111122223333:role/path/web");
	assert_string_equal(d->execution_role_arn, "arn:aws:iam::111122223333:role/exec");
	assert_int_equal(d->ephemeral_gib, 50);
	assert_int_equal(d->n_containers, 2);
	c = taskdef_find_container(d, "app");
	assert_non_null(c);
	assert_string_equal(c->image, "nginx:1");
	assert_true(c->has_cpu && c->cpu == 512);
	assert_true(c->has_memory && c->memory == 1024);
	assert_true(c->has_memory_reservation && c->memory_reservation == 256);
	assert_true(c->essential);
	assert_string_equal(c->log_driver, "awslogs");
	assert_string_equal(json_string_value(json_object_get(c->log_options, "awslogs-group")),
			    "g");
	assert_int_equal(c->n_ports, 2);
	assert_int_equal(c->ports[1].container_port, 53);
	assert_int_equal(c->ports[1].host_port, 53);
	assert_string_equal(c->ports[1].protocol, "udp");
	c = taskdef_find_container(d, "log_router");
	assert_false(c->essential);
	assert_false(c->has_cpu);
	assert_null(c->log_driver);
	assert_null(taskdef_find_container(d, "nope"));
	taskdef_free(d);
}

static void test_minimal_and_wrapped(void **state)
{
	struct taskdef *d = parse_ok("{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\","
				     "\"image\":\"i\"}]}");

	assert_string_equal(d->revision, "1");
	assert_false(d->has_cpu);
	assert_false(d->has_memory);
	assert_null(d->task_role_arn);
	assert_int_equal(d->ephemeral_gib, 20);
	taskdef_free(d);
	/* the output of `aws ecs describe-task-definition` */
	d = parse_ok("{\"taskDefinition\":{\"family\":\"f\",\"revision\":\"3\","
		     "\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\"}]},\"tags\":[]}");
	assert_string_equal(d->family, "f");
	assert_string_equal(d->revision, "3");
	taskdef_free(d);
}

static void test_cpu_memory_units(void **state)
{
	static const struct {
		const char *json;
		double vcpu;
	} cpus[] = {
		{ "\"256\"", 0.25 },	  { "256", 0.25 },     { "\"1024\"", 1 },
		{ "\".25 vCPU\"", 0.25 }, { "\"2 vcpu\"", 2 }, { "\"0.5vCPU\"", 0.5 },
		{ "\"16 vCPU\"", 16 },
	};
	static const struct {
		const char *json;
		int64_t mib;
	} mems[] = {
		{ "\"512\"", 512 },   { "512", 512 },	      { "\"1 GB\"", 1024 },
		{ "\"0.5GB\"", 512 }, { "\"30 gb\"", 30720 }, { "\"2048 MiB\"", 2048 },
	};
	static const char *const bad_cpu[] = { "\"\"", "\"-256\"", "\"1 GB\"",	   "\"abc\"",
					       "0",    "true",	   "\"256 units\"" };
	static const char *const bad_mem[] = { "\"\"",	  "\"1 vCPU\"", "\"0\"",
					       "\"1.5\"", "-1",		"\"x GB\"" };

	for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
		json_auto_t *v = json_loads(cpus[i].json, JSON_DECODE_ANY, NULL);
		double x;

		assert_int_equal(taskdef_parse_cpu(v, &x), 0);
		if (x != cpus[i].vcpu)
			fail_msg("cpu %s: %g, want %g", cpus[i].json, x, cpus[i].vcpu);
	}
	for (size_t i = 0; i < ARRAY_SIZE(mems); i++) {
		json_auto_t *v = json_loads(mems[i].json, JSON_DECODE_ANY, NULL);
		int64_t x;

		assert_int_equal(taskdef_parse_memory(v, &x), 0);
		assert_true(x == mems[i].mib);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_cpu); i++) {
		json_auto_t *v = json_loads(bad_cpu[i], JSON_DECODE_ANY, NULL);
		double x;

		if (taskdef_parse_cpu(v, &x) != -EINVAL)
			fail_msg("cpu %s accepted", bad_cpu[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_mem); i++) {
		json_auto_t *v = json_loads(bad_mem[i], JSON_DECODE_ANY, NULL);
		int64_t x;

		if (taskdef_parse_memory(v, &x) != -EINVAL)
			fail_msg("memory %s accepted", bad_mem[i]);
	}
}

static void test_errors(void **state)
{
#define C(x) "\"containerDefinitions\":[" x "]"
	parse_bad("[]", "JSON object");
	parse_bad("{" C("{\"name\":\"a\",\"image\":\"i\"}") "}", "family is missing");
	parse_bad("{\"family\":\"\"," C("{\"name\":\"a\",\"image\":\"i\"}") "}",
		  "family '' must be");
	/* the family goes into an ARN: no ':' or '/' */
	parse_bad("{\"family\":\"web:1\"," C("{\"name\":\"a\",\"image\":\"i\"}") "}",
		  "family 'web:1' must be 1-255 letters, digits");
	parse_bad("{\"family\":\"f\"}", "containerDefinitions must be a non-empty array");
	parse_bad("{\"family\":\"f\"," C("") "}", "non-empty");
	parse_bad("{\"family\":\"f\",\"networkMode\":\"bridge\"," C(
			  "{\"name\":\"a\",\"image\":\"i\"}") "}",
		  "awsvpc");
	parse_bad("{\"family\":\"f\",\"revision\":0," C("{\"name\":\"a\",\"image\":\"i\"}") "}",
		  "revision");
	parse_bad(
		"{\"family\":\"f\",\"revision\":\"01\"," C("{\"name\":\"a\",\"image\":\"i\"}") "}",
		"revision");
	parse_bad("{\"family\":\"f\",\"cpu\":\"lots\"," C("{\"name\":\"a\",\"image\":\"i\"}") "}",
		  "cpu must be");
	parse_bad(
		"{\"family\":\"f\",\"memory\":\"lots\"," C("{\"name\":\"a\",\"image\":\"i\"}") "}",
		"memory must be");
	parse_bad("{\"family\":\"f\",\"taskRoleArn\":\"role/x\"," C(
			  "{\"name\":\"a\",\"image\":\"i\"}") "}",
		  "not an IAM role ARN");
	parse_bad("{\"family\":\"f\",\"ephemeralStorage\":{\"sizeInGiB\":20}," C(
			  "{\"name\":\"a\",\"image\":\"i\"}") "}",
		  "21-200");
	parse_bad("{\"family\":\"f\"," C("{\"image\":\"i\"}") "}", "name is missing");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a b\",\"image\":\"i\"}") "}", "is not 1-255");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\"}") "}", "image is missing");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\",\"image\":\"\"}") "}", "image is empty");
	parse_bad("{\"family\":\"f\"," C(
			  "{\"name\":\"a\",\"image\":\"i\"},{\"name\":\"a\",\"image\":\"j\"}") "}",
		  "used twice");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\",\"image\":\"i\",\"cpu\":-1}") "}",
		  "cpu must be an integer");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\",\"image\":\"i\",\"memory\":\"512\"}") "}",
		  "memory must be an integer");
	parse_bad("{\"family\":\"f\"," C(
			  "{\"name\":\"a\",\"image\":\"i\",\"logConfiguration\":{}}") "}",
		  "logDriver is missing");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\",\"image\":\"i\",\"logConfiguration\":{"
					 "\"logDriver\":\"awslogs\",\"options\":{\"k\":1}}}") "}",
		  "options.k must be a string");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\",\"image\":\"i\",\"portMappings\":[{"
					 "\"containerPort\":80,\"hostPort\":81}]}") "}",
		  "hostPort must equal containerPort");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\",\"image\":\"i\",\"portMappings\":[{"
					 "\"containerPort\":0}]}") "}",
		  "containerPort must be 1-65535");
	parse_bad("{\"family\":\"f\"," C("{\"name\":\"a\",\"image\":\"i\",\"portMappings\":[{"
					 "\"containerPort\":80,\"protocol\":\"sctp\"}]}") "}",
		  "tcp or udp");
	parse_bad("{\"family\":\"f\"," C(
			  "{\"name\":\"a\",\"image\":\"i\",\"essential\":\"yes\"}") "}",
		  "essential must be a boolean");
#undef C
}

static void test_too_many_containers(void **state)
{
	char buf[4096] = "{\"family\":\"f\",\"containerDefinitions\":[";

	for (int i = 0; i <= TASKDEF_MAX_CONTAINERS; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 "%s{\"name\":\"c%d\",\"image\":\"i\"}", i ? "," : "", i);
	strcat(buf, "]}");
	parse_bad(buf, "more than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_and_wrapped),
		cmocka_unit_test(test_cpu_memory_units),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many_containers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
