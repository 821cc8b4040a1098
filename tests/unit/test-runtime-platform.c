// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for runtime/platform.h: the platform versions and the checks of a task against one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "platform.h"
#include "taskdef.h"
#include "util.h"

/* Docker's default capabilities as CapEff shows them: 00000000a80425fb. */
#define CAPS_DOCKER 0xa80425fbULL

static struct taskdef *parse(const char *s)
{
	json_auto_t *j = json_loads(s, 0, NULL);
	struct taskdef *d = NULL;
	char *err = NULL;

	assert_non_null(j);
	if (taskdef_parse(j, &d, &err) < 0)
		fail_msg("taskdef_parse(%s): %s", s, err);
	return d;
}

/* A task of cpu/memory with container definitions cs and task keys extra. */
static struct taskdef *task(const char *cpu, const char *mem, const char *cs, const char *extra)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"family\":\"f\",\"cpu\":\"%s\",\"memory\":\"%s\"%s,"
		 "\"containerDefinitions\":[%s]}",
		 cpu, mem, extra, cs);
	return parse(buf);
}

static void check_ok(const char *version, struct taskdef *d)
{
	char *err = NULL;

	if (platform_check_taskdef(platform_find(version), d, &err) < 0)
		fail_msg("refused on %s: %s", version, err);
	assert_null(err);
	taskdef_free(d);
}

static void check_bad(const char *version, struct taskdef *d, const char *want)
{
	char *err = NULL;

	assert_int_equal(platform_check_taskdef(platform_find(version), d, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error on %s is '%s', want '%s' in it", version, err, want);
	free(err);
	taskdef_free(d);
}

#define APP "{\"name\":\"app\",\"image\":\"i\"}"

static void test_lookup(void **state)
{
	const struct platform *const *all = platform_all();
	const struct platform *p;
	char *err = NULL;

	assert_string_equal(platform_find("LATEST")->version, "1.4.0");
	assert_string_equal(platform_find("1.3.0")->version, "1.3.0");
	assert_null(platform_find("1.2.0"));
	assert_null(platform_find("latest"));
	assert_int_equal(platform_lookup("1.4.0", &p, &err), 0);
	assert_ptr_equal(p, platform_find("1.4.0"));
	assert_int_equal(platform_lookup("2.0", &p, &err), -EINVAL);
	assert_string_equal(err, "unknown platform version '2.0' (known: 1.3.0, 1.4.0, LATEST)");
	free(err);
	assert_string_equal(all[0]->version, "1.3.0");
	assert_string_equal(all[1]->version, "1.4.0");
	assert_null(all[2]);
}

/* fargate-platform-facts §7: 1.3.0 10 + 4 GiB, 1.4.0 20 GiB flat or 21-200. */
static void test_storage(void **state)
{
	const struct platform *p13 = platform_find("1.3.0"), *p14 = platform_find("1.4.0");
	struct taskdef *d = task("256", "512", APP, "");

	assert_int_equal(p13->storage, PLATFORM_STORAGE_SPLIT);
	assert_int_equal(p13->layer_gib, 10);
	assert_int_equal(p13->volumes_gib, 4);
	assert_int_equal(p14->storage, PLATFORM_STORAGE_FLAT);
	assert_int_equal(platform_storage_gib(p14, d), 20);
	assert_int_equal(platform_storage_gib(p13, d), 14);
	taskdef_free(d);
	d = task("256", "512", APP, ",\"ephemeralStorage\":{\"sizeInGiB\":21}");
	assert_int_equal(platform_storage_gib(p14, d), 21);
	check_ok("1.4.0", d);
	check_ok("1.4.0", task("256", "512", APP, ",\"ephemeralStorage\":{\"sizeInGiB\":200}"));
	check_bad(
		"1.3.0", task("256", "512", APP, ",\"ephemeralStorage\":{\"sizeInGiB\":21}"),
		"ephemeralStorage is not supported on platform version 1.3.0 (it needs 1.4.0 or later)");
}

static void test_task_sizes(void **state)
{
	static const struct {
		const char *cpu, *mem;
		bool on13, on14;
	} sizes[] = {
		{ "256", "512", true, true },	   { "256", "1 GB", true, true },
		{ "256", "2048", true, true },	   { "256", "3072", false, false },
		{ "512", "4096", true, true },	   { "512", "512", false, false },
		{ "1 vCPU", "8 GB", true, true },  { "1024", "1536", false, false },
		{ "4096", "30 GB", true, true },   { "4096", "31 GB", false, false },
		{ "8192", "16 GB", false, true },  { "8192", "20 GB", false, true },
		{ "8192", "17 GB", false, false }, { "16 vCPU", "120 GB", false, true },
		{ "16384", "40 GB", false, true }, { "16384", "36 GB", false, false },
		{ "384", "1024", false, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (int v = 0; v < 2; v++) {
			struct taskdef *d = task(sizes[i].cpu, sizes[i].mem, APP, "");
			bool ok = v ? sizes[i].on14 : sizes[i].on13;
			char *err = NULL;
			int r = platform_check_taskdef(platform_find(v ? "1.4.0" : "1.3.0"), d,
						       &err);

			if ((r == 0) != ok)
				fail_msg("cpu %s memory %s on %s: %s", sizes[i].cpu, sizes[i].mem,
					 v ? "1.4.0" : "1.3.0", err ?: "accepted");
			if (!ok)
				assert_non_null(strstr(err, "is not offered on platform version"));
			free(err);
			taskdef_free(d);
		}
	}
	check_bad("1.4.0", parse("{\"family\":\"f\",\"containerDefinitions\":[" APP "]}"),
		  "task cpu and memory are required on Fargate");
}

static void test_container_limits(void **state)
{
	check_ok("1.4.0",
		 task("512", "1024",
		      "{\"name\":\"a\",\"image\":\"i\",\"cpu\":256,\"memory\":512},"
		      "{\"name\":\"b\",\"image\":\"i\",\"cpu\":256,\"memoryReservation\":512}",
		      ""));
	check_bad("1.4.0",
		  task("256", "512", "{\"name\":\"a\",\"image\":\"i\",\"memory\":1024}", ""),
		  "container 'a': memory 1024 MiB is more than the task's 512 MiB");
	check_bad("1.4.0",
		  task("256", "512",
		       "{\"name\":\"a\",\"image\":\"i\",\"cpu\":200},"
		       "{\"name\":\"b\",\"image\":\"i\",\"cpu\":100}",
		       ""),
		  "the containers' cpu (300 units) is more than the task's (256 units)");
	check_bad("1.4.0",
		  task("256", "512",
		       "{\"name\":\"a\",\"image\":\"i\",\"memoryReservation\":300},"
		       "{\"name\":\"b\",\"image\":\"i\",\"memory\":300}",
		       ""),
		  "memory reservations (600 MiB) are more than the task's memory (512 MiB)");
}

#define PTRACE                                                                                     \
	"{\"name\":\"app\",\"image\":\"i\",\"linuxParameters\":{\"capabilities\":{\"add\":"        \
	"[\"SYS_PTRACE\"]}}}"

/* fargate-platform-facts §8: only SYS_PTRACE, only on 1.4.0. */
static void test_caps_allowed(void **state)
{
	check_ok("1.4.0", task("256", "512", PTRACE, ""));
	check_ok("LATEST", task("256", "512", PTRACE, ""));
	check_bad(
		"1.3.0", task("256", "512", PTRACE, ""),
		"container 'app': capability SYS_PTRACE needs platform version 1.4.0 or later (platform version 1.3.0 may add none)");
	check_bad(
		"1.4.0",
		task("256", "512",
		     "{\"name\":\"app\",\"image\":\"i\",\"linuxParameters\":{\"capabilities\":"
		     "{\"add\":[\"SYS_PTRACE\",\"NET_ADMIN\"]}}}",
		     ""),
		"capability NET_ADMIN cannot be added on Fargate (platform version 1.4.0 may add SYS_PTRACE)");
	/* dropping is free everywhere */
	check_ok("1.3.0",
		 task("256", "512",
		      "{\"name\":\"app\",\"image\":\"i\",\"linuxParameters\":{\"capabilities\":"
		      "{\"drop\":[\"ALL\"]}}}",
		      ""));
	check_ok("1.4.0",
		 task("256", "512",
		      "{\"name\":\"app\",\"image\":\"i\",\"linuxParameters\":{\"capabilities\":"
		      "{\"add\":[\"ALL\"]}}}",
		      ""));
	check_bad("1.3.0",
		  task("256", "512",
		       "{\"name\":\"app\",\"image\":\"i\",\"linuxParameters\":{\"capabilities\":"
		       "{\"add\":[\"ALL\"]}}}",
		       ""),
		  "capabilities.add is not supported on platform version 1.3.0");
}

/* Drop first, then add; "ALL" in add means the defaults minus the drops. */
static void test_caps_effective(void **state)
{
	static const struct {
		const char *caps;
		uint64_t want;
	} cases[] = {
		{ "{}", CAPS_DOCKER },
		{ "{\"add\":[\"SYS_PTRACE\"]}", CAPS_DOCKER | 1ULL << 19 },
		{ "{\"drop\":[\"NET_RAW\",\"SYS_ADMIN\"]}", CAPS_DOCKER & ~(1ULL << 13) },
		{ "{\"drop\":[\"ALL\"]}", 0 },
		{ "{\"drop\":[\"ALL\"],\"add\":[\"SYS_PTRACE\"]}", 1ULL << 19 },
		{ "{\"drop\":[\"ALL\"],\"add\":[\"SYS_PTRACE\",\"CHOWN\"]}", 1ULL << 19 | 1 },
		{ "{\"add\":[\"ALL\"]}", CAPS_DOCKER },
		{ "{\"add\":[\"ALL\"],\"drop\":[\"CHOWN\"]}", CAPS_DOCKER & ~1ULL },
		{ "{\"add\":[\"ALL\"],\"drop\":[\"ALL\"]}", 0 },
		{ "{\"add\":[\"CHOWN\"],\"drop\":[\"CHOWN\"]}", CAPS_DOCKER },
	};
	const struct platform *p = platform_find("1.4.0");

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[512];
		struct taskdef *d;
		uint64_t got;

		snprintf(
			buf, sizeof(buf),
			"{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
			"\"linuxParameters\":{\"capabilities\":%s}}]}",
			cases[i].caps);
		d = parse(buf);
		got = platform_container_caps(p, &d->containers[0]);
		if (got != cases[i].want)
			fail_msg("%s: %016llx, want %016llx", cases[i].caps,
				 (unsigned long long)got, (unsigned long long)cases[i].want);
		taskdef_free(d);
	}
}

static void test_unsupported(void **state)
{
	check_bad(
		"1.4.0",
		task("256", "512",
		     "{\"name\":\"app\",\"image\":\"i\",\"healthCheck\":{\"command\":[\"true\"]}}",
		     ""),
		"container 'app': healthCheck is not supported by taskvm yet");
	check_bad("1.4.0", task("256", "512", APP, ",\"pidMode\":\"task\""),
		  "task: pidMode is not supported by taskvm yet");
	check_bad("1.4.0",
		  task("256", "512", APP,
		       ",\"volumes\":[{\"name\":\"e\",\"efsVolumeConfiguration\":{\"fileSystemId\":"
		       "\"fs-1\"}}]"),
		  "volume 'e': efsVolumeConfiguration is not supported by taskvm yet");
	check_bad("1.4.0",
		  task("256", "512", APP, ",\"runtimePlatform\":{\"cpuArchitecture\":\"ARM64\"}"),
		  "runtimePlatform.cpuArchitecture is not supported");
	check_ok("1.4.0", task("256", "512", APP,
			       ",\"runtimePlatform\":{\"cpuArchitecture\":\"X86_64\","
			       "\"operatingSystemFamily\":\"LINUX\"}"));
	/* the platform's own refusals come first */
	check_bad("1.3.0", task("256", "512", PTRACE, ",\"pidMode\":\"task\""), "SYS_PTRACE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),	     cmocka_unit_test(test_storage),
		cmocka_unit_test(test_task_sizes),   cmocka_unit_test(test_container_limits),
		cmocka_unit_test(test_caps_allowed), cmocka_unit_test(test_caps_effective),
		cmocka_unit_test(test_unsupported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
