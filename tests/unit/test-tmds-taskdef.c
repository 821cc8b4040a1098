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
	json_auto_t *j = json_loads(s, JSON_ALLOW_NUL, NULL);
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

/* What launching a container needs. */
static void test_launch(void **state)
{
	struct taskdef *d = parse_ok(
		"{\"family\":\"f\",\"volumes\":[{\"name\":\"data\"},{\"name\":\"cache\",\"host\":{}}],"
		"\"containerDefinitions\":["
		"{\"name\":\"app\",\"image\":\"i\",\"entryPoint\":[\"/bin/sh\",\"-c\"],"
		"\"command\":[\"echo hi\"],\"environment\":[{\"name\":\"A\",\"value\":\"1\"},"
		"{\"name\":\"EMPTY\"}],\"workingDirectory\":\"/srv\",\"user\":\"app:staff\","
		"\"stopTimeout\":5,\"startTimeout\":10,\"readonlyRootFilesystem\":true,"
		"\"dependsOn\":[{\"containerName\":\"init\",\"condition\":\"SUCCESS\"},"
		"{\"containerName\":\"side\",\"condition\":\"START\"}],"
		"\"linuxParameters\":{\"capabilities\":{\"add\":[\"SYS_PTRACE\"],"
		"\"drop\":[\"NET_RAW\",\"MKNOD\"]}},"
		"\"mountPoints\":[{\"sourceVolume\":\"data\",\"containerPath\":\"/data\"},"
		"{\"sourceVolume\":\"cache\",\"containerPath\":\"/var/cache\",\"readOnly\":true}],"
		"\"ulimits\":[{\"name\":\"nofile\",\"softLimit\":2048,\"hardLimit\":8192}]},"
		"{\"name\":\"init\",\"image\":\"i\",\"essential\":false,\"entryPoint\":[],"
		"\"privileged\":false,\"links\":[],\"linuxParameters\":{\"devices\":[]}},"
		"{\"name\":\"side\",\"image\":\"i\",\"dependsOn\":[{\"containerName\":\"init\","
		"\"condition\":\"COMPLETE\"}]}]}");
	const struct taskdef_container *c = &d->containers[0];
	size_t order[3];

	assert_int_equal(d->n_volumes, 2);
	assert_string_equal(d->volumes[1].name, "cache");
	assert_string_equal(c->entry_point[0], "/bin/sh");
	assert_string_equal(c->entry_point[1], "-c");
	assert_null(c->entry_point[2]);
	assert_string_equal(c->command[0], "echo hi");
	assert_null(c->command[1]);
	assert_int_equal(c->n_env, 2);
	assert_string_equal(c->env[1].name, "EMPTY");
	assert_string_equal(c->env[1].value, "");
	assert_string_equal(c->working_directory, "/srv");
	assert_string_equal(c->user, "app:staff");
	assert_int_equal(c->stop_timeout, 5);
	assert_int_equal(c->start_timeout, 10);
	assert_true(c->readonly_rootfs);
	assert_int_equal(c->n_depends_on, 2);
	assert_int_equal(c->depends_on[0].container, 1);
	assert_int_equal(c->depends_on[0].condition, TASKDEF_CONDITION_SUCCESS);
	assert_int_equal(c->depends_on[1].condition, TASKDEF_CONDITION_START);
	assert_true(c->cap_add == 1ULL << 19);			   /* CAP_SYS_PTRACE */
	assert_true(c->cap_drop == ((1ULL << 13) | (1ULL << 27))); /* NET_RAW, MKNOD */
	assert_false(c->cap_add_all || c->cap_drop_all);
	assert_int_equal(c->n_mounts, 2);
	assert_int_equal(c->mounts[1].volume, 1);
	assert_string_equal(c->mounts[1].container_path, "/var/cache");
	assert_true(c->mounts[1].read_only);
	assert_false(c->mounts[0].read_only);
	assert_true(c->has_nofile);
	assert_true(c->nofile_soft == 2048 && c->nofile_hard == 8192);
	assert_null(c->unsupported);
	assert_null(d->unsupported);
	assert_false(d->has_ephemeral);

	/* an empty entryPoint is not an absent one (Docker's rules tell them apart) */
	c = &d->containers[1];
	assert_non_null(c->entry_point);
	assert_null(c->entry_point[0]);
	assert_null(c->command);
	assert_int_equal(c->stop_timeout, TASKDEF_STOP_TIMEOUT_DEFAULT);
	assert_int_equal(c->start_timeout, 0);
	assert_false(c->has_nofile);

	/* init before side (side waits for it) before app (waits for both) */
	taskdef_start_order(d, order);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 0);
	assert_string_equal(taskdef_condition_name(TASKDEF_CONDITION_HEALTHY), "HEALTHY");
	taskdef_free(d);
}

static void test_capabilities(void **state)
{
	struct taskdef *d = parse_ok(
		"{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
		"\"linuxParameters\":{\"capabilities\":{\"add\":[\"ALL\"],\"drop\":[\"ALL\"]}}}]}");

	assert_true(d->containers[0].cap_add_all && d->containers[0].cap_drop_all);
	assert_true(d->containers[0].cap_add == 0 && d->containers[0].cap_drop == 0);
	taskdef_free(d);
	assert_int_equal(taskdef_cap_from_name("SYS_PTRACE"), 19);
	assert_int_equal(taskdef_cap_from_name("CHOWN"), 0);
	assert_int_equal(taskdef_cap_from_name("CAP_CHOWN"), -EINVAL);
	assert_int_equal(taskdef_cap_from_name("sys_ptrace"), -EINVAL);
	assert_int_equal(taskdef_cap_from_name("ALL"), -EINVAL);
	assert_string_equal(taskdef_cap_name(31), "SETFCAP");
	/* not in ECS's list */
	assert_null(taskdef_cap_name(38)); /* CAP_PERFMON */
	for (unsigned int cap = 0; cap < 64; cap++)
		if (taskdef_cap_name(cap))
			assert_int_equal(taskdef_cap_from_name(taskdef_cap_name(cap)), cap);
}

/* Keys Fargate accepts and taskvm cannot launch: parsed (the metadata endpoint can serve the
 * task), remembered for platform_check_taskdef(). */
static void test_unsupported_noted(void **state)
{
	struct taskdef *d = parse_ok(
		"{\"family\":\"f\",\"pidMode\":\"task\",\"volumes\":[{\"name\":\"efs\","
		"\"efsVolumeConfiguration\":{\"fileSystemId\":\"fs-1\"}}],"
		"\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
		"\"secrets\":[{\"name\":\"S\",\"valueFrom\":\"arn\"}],\"healthCheck\":{\"command\":"
		"[\"true\"]}},{\"name\":\"b\",\"image\":\"i\",\"linuxParameters\":"
		"{\"initProcessEnabled\":true},\"dependsOn\":[{\"containerName\":\"a\","
		"\"condition\":\"HEALTHY\"}]},{\"name\":\"c\",\"image\":\"i\","
		"\"logConfiguration\":{\"logDriver\":\"awslogs\",\"secretOptions\":[{\"name\":\"x\","
		"\"valueFrom\":\"y\"}]}}]}");

	assert_string_equal(d->unsupported, "task: pidMode");
	assert_string_equal(d->containers[0].unsupported, "container 'a': healthCheck");
	assert_true(d->containers[0].has_health_check);
	assert_string_equal(d->containers[1].unsupported,
			    "container 'b': linuxParameters.initProcessEnabled");
	assert_string_equal(d->containers[2].unsupported,
			    "container 'c': logConfiguration.secretOptions");
	taskdef_free(d);
	d = parse_ok("{\"family\":\"f\",\"volumes\":[{\"name\":\"efs\","
		     "\"efsVolumeConfiguration\":{\"fileSystemId\":\"fs-1\"}}],"
		     "\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\"}]}");
	assert_string_equal(d->unsupported, "volume 'efs': efsVolumeConfiguration");
	taskdef_free(d);
}

static void test_launch_errors(void **state)
{
#define T(c, extra) "{\"family\":\"f\"" extra ",\"containerDefinitions\":[" c "]}"
#define C(x)	    "{\"name\":\"a\",\"image\":\"i\"" x "}"
	/* what Fargate refuses, on every platform version */
	parse_bad(T(C(",\"privileged\":true"), ""), "privileged is not supported on Fargate");
	parse_bad(T(C(",\"links\":[\"b\"]"), ""), "links is not supported on Fargate");
	parse_bad(T(C(",\"extraHosts\":[{\"hostname\":\"h\",\"ipAddress\":\"1.2.3.4\"}]"), ""),
		  "extraHosts is not supported");
	parse_bad(T(C(",\"dnsServers\":[\"1.1.1.1\"]"), ""), "dnsServers");
	parse_bad(T(C(",\"dnsSearchDomains\":[\"x\"]"), ""), "dnsSearchDomains");
	parse_bad(T(C(",\"dockerSecurityOptions\":[\"no-new-privileges\"]"), ""),
		  "dockerSecurityOptions");
	parse_bad(T(C(",\"systemControls\":[{\"namespace\":\"n\",\"value\":\"1\"}]"), ""),
		  "systemControls");
	parse_bad(T(C(",\"hostname\":\"h\""), ""), "hostname is not supported");
	parse_bad(T(C(",\"resourceRequirements\":[{\"type\":\"GPU\",\"value\":\"1\"}]"), ""),
		  "resourceRequirements");
	parse_bad(T(C(",\"linuxParameters\":{\"devices\":[{\"hostPath\":\"/dev/kvm\"}]}"), ""),
		  "linuxParameters.devices is not supported on Fargate");
	parse_bad(T(C(",\"linuxParameters\":{\"sharedMemorySize\":64}"), ""), "sharedMemorySize");
	parse_bad(T(C(",\"linuxParameters\":{\"tmpfs\":[{\"containerPath\":\"/t\"}]}"), ""),
		  "tmpfs");
	parse_bad(T(C(",\"linuxParameters\":{\"maxSwap\":1}"), ""), "maxSwap");
	parse_bad(T(C(",\"linuxParameters\":{\"swappiness\":10}"), ""), "swappiness");
	parse_bad(T(C(""), ",\"ipcMode\":\"host\""), "ipcMode is not supported on Fargate");
	parse_bad(T(C(""), ",\"pidMode\":\"host\""), "pidMode must be task");
	parse_bad(T(C(""), ",\"volumes\":[{\"name\":\"v\",\"host\":{\"sourcePath\":\"/etc\"}}]"),
		  "host.sourcePath is not supported on Fargate");
	parse_bad(T(C(""), ",\"volumes\":[{\"name\":\"v\",\"dockerVolumeConfiguration\":"
			   "{\"scope\":\"task\"}}]"),
		  "only bind and EFS volumes");
	/* capabilities */
	parse_bad(
		T(C(",\"linuxParameters\":{\"capabilities\":{\"add\":[\"CAP_SYS_PTRACE\"]}}"), ""),
		"without the CAP_ prefix: 'SYS_PTRACE'");
	parse_bad(T(C(",\"linuxParameters\":{\"capabilities\":{\"drop\":[\"BOGUS\"]}}"), ""),
		  "unknown capability 'BOGUS' in drop");
	parse_bad(T(C(",\"linuxParameters\":{\"capabilities\":{\"add\":\"SYS_PTRACE\"}}"), ""),
		  "capabilities.add must be an array");
	parse_bad(T(C(",\"linuxParameters\":{\"capabilities\":{\"add\":[1]}}"), ""),
		  "add[0] must be a string");
	/* command line, environment, user */
	parse_bad(T(C(",\"command\":\"echo hi\""), ""), "command must be an array of strings");
	parse_bad(T(C(",\"entryPoint\":[\"sh\",1]"), ""), "entryPoint must be a string");
	parse_bad(T(C(",\"command\":[\"a\\u0000b\"]"), ""), "contains a NUL character");
	parse_bad(T(C(",\"environment\":[{\"value\":\"v\"}]"), ""), "environment[0] needs a name");
	parse_bad(T(C(",\"environment\":[{\"name\":\"A=B\",\"value\":\"v\"}]"), ""),
		  "non-empty and without '='");
	parse_bad(T(C(",\"environment\":[{\"name\":\"\",\"value\":\"v\"}]"), ""), "non-empty");
	parse_bad(T(C(",\"workingDirectory\":\"srv\""), ""), "must be an absolute path");
	parse_bad(T(C(",\"workingDirectory\":\"/srv/../etc\""), ""), "without '.' or '..'");
	parse_bad(T(C(",\"user\":\"app:\""), ""), "user 'app:' must be");
	parse_bad(T(C(",\"user\":\":staff\""), ""), "user ':staff' must be");
	parse_bad(T(C(",\"user\":\"a b\""), ""), "user 'a b' must be");
	parse_bad(T(C(",\"user\":\"a:b:c\""), ""), "must be");
	/* timeouts, limits */
	parse_bad(T(C(",\"stopTimeout\":121"), ""), "stopTimeout must be an integer from 0 to 120");
	parse_bad(T(C(",\"startTimeout\":1"), ""), "startTimeout must be 2-120");
	parse_bad(T(C(",\"memory\":4"), ""), "memory must be at least 6 MiB");
	parse_bad(T(C(",\"memory\":256,\"memoryReservation\":512"), ""),
		  "memoryReservation must not be more than memory");
	parse_bad(T(C(",\"ulimits\":[{\"name\":\"nproc\",\"softLimit\":1,\"hardLimit\":1}]"), ""),
		  "ulimit 'nproc' is not supported on Fargate (only nofile)");
	parse_bad(T(C(",\"ulimits\":[{\"name\":\"nofile\",\"softLimit\":9,\"hardLimit\":8}]"), ""),
		  "softLimit is more than its hardLimit");
	parse_bad(T(C(",\"ulimits\":[{\"name\":\"nofile\",\"softLimit\":1,\"hardLimit\":1048577}]"),
		    ""),
		  "hardLimit must be an integer from 0 to 1048576");
	parse_bad(T(C(",\"ulimits\":[{\"name\":\"nofile\",\"softLimit\":1,\"hardLimit\":1},"
		      "{\"name\":\"nofile\",\"softLimit\":1,\"hardLimit\":1}]"),
		    ""),
		  "given twice");
	parse_bad(T(C(",\"readonlyRootFilesystem\":\"yes\""), ""),
		  "readonlyRootFilesystem must be a boolean");
	/* volumes and mount points */
	parse_bad(T(C(",\"mountPoints\":[{\"sourceVolume\":\"v\",\"containerPath\":\"/v\"}]"), ""),
		  "sourceVolume 'v' is not a volume of the task");
	parse_bad(T(C(",\"mountPoints\":[{\"sourceVolume\":\"v\",\"containerPath\":\"v\"}]"),
		    ",\"volumes\":[{\"name\":\"v\"}]"),
		  "containerPath 'v' must be an absolute path");
	parse_bad(T(C(",\"mountPoints\":[{\"sourceVolume\":\"v\",\"containerPath\":\"/\"}]"),
		    ",\"volumes\":[{\"name\":\"v\"}]"),
		  "other than /");
	parse_bad(T(C(",\"mountPoints\":[{\"sourceVolume\":\"v\",\"containerPath\":\"/v\"},"
		      "{\"sourceVolume\":\"v\",\"containerPath\":\"/v\"}]"),
		    ",\"volumes\":[{\"name\":\"v\"}]"),
		  "is mounted twice");
	parse_bad(T(C(""), ",\"volumes\":[{\"name\":\"v\"},{\"name\":\"v\"}]"),
		  "volume name 'v' is used twice");
	parse_bad(T(C(""), ",\"volumes\":[{\"name\":\"a/b\"}]"), "volume name 'a/b' is not");
	parse_bad(T(C(""), ",\"volumes\":[{}]"), "volumes[0] needs a name");
	/* dependsOn: a is the container above, B a second one */
#define B     ",{\"name\":\"b\",\"image\":\"i\"}"
#define D(x)  ",\"dependsOn\":[" x "]"
#define BD(x) ",{\"name\":\"b\",\"image\":\"i\"" D(x) "}"
	parse_bad(T(C(D("{\"containerName\":\"x\",\"condition\":\"START\"}")), ""),
		  "dependsOn names 'x', which is not a container of the task");
	parse_bad(T(C(D("{\"containerName\":\"a\",\"condition\":\"START\"}")), ""),
		  "container 'a' depends on itself");
	parse_bad(T(C(D("{\"containerName\":\"b\"}")) B, ""),
		  "dependsOn[0] needs containerName and condition");
	parse_bad(T(C(D("{\"containerName\":\"b\",\"condition\":\"READY\"}")) B, ""),
		  "condition 'READY' is not START, COMPLETE, SUCCESS or HEALTHY");
	parse_bad(T(C(D("{\"containerName\":\"b\",\"condition\":\"COMPLETE\"}")) B, ""),
		  "condition COMPLETE cannot be set on 'b', an essential container");
	parse_bad(T(C(D("{\"containerName\":\"b\",\"condition\":\"HEALTHY\"}")) B, ""),
		  "condition HEALTHY needs a healthCheck on 'b'");
	parse_bad(T(C(D("{\"containerName\":\"b\",\"condition\":\"START\"}"))
			    BD("{\"containerName\":\"a\",\"condition\":\"START\"}"),
		    ""),
		  "dependsOn has a cycle through container 'a'");
	parse_bad(T(C(D("{\"containerName\":\"b\",\"condition\":\"START\"},"
			"{\"containerName\":\"b\",\"condition\":\"START\"}")) B,
		    ""),
		  "dependsOn names 'b' twice");
#undef BD
#undef D
#undef B
	parse_bad(T(C(",\"essential\":false"), ""), "at least one container must be essential");
#undef C
#undef T
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_and_wrapped),
		cmocka_unit_test(test_cpu_memory_units),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many_containers),
		cmocka_unit_test(test_launch),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_unsupported_noted),
		cmocka_unit_test(test_launch_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
