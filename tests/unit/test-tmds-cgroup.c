// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/cgroup.h: finding the hierarchies in a mountinfo file, reading a
 * cgroup's CPU and memory statistics from v1 and from v2 files (laid out in a temporary
 * directory as the kernel writes them), and the host's CPU time from a /proc/stat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "tmds.h"
#include "util.h"

static void put(const char *dir, const char *name, const char *content)
{
	char path[PATH_MAX], parent[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	strscpy(parent, path, sizeof(parent));
	*strrchr(parent, '/') = '\0';
	assert_int_equal(mkdir_p(parent, 0755), 0);
	assert_int_equal(write_file_atomic(path, content, strlen(content), 0644), 0);
}

static int setup(void **state)
{
	char *dir = strdup("/tmp/tp-test-cgroup.XXXXXX");

	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	rm_rf(*state);
	free(*state);
	return 0;
}

static void test_detect_v1(void **state)
{
	const char *dir = *state;
	struct cgroup_roots r;
	char path[PATH_MAX];

	/* split cpu and cpuacct (as on this project's test machine), and a \040 in a path */
	put(dir, "mountinfo",
	    "22 1 0:20 / /sys rw,nosuid - sysfs sysfs rw\n"
	    "30 22 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	    "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu\n"
	    "32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	    "33 30 0:29 / /sys/fs/cgroup/mem\\040ory rw,relatime - cgroup cgroup rw,memory\n"
	    "34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	    "35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n");
	snprintf(path, sizeof(path), "%s/mountinfo", dir);
	assert_int_equal(cgroup_roots_detect(path, &r), 0);
	assert_string_equal(r.cpu, "/sys/fs/cgroup/cpu");
	assert_string_equal(r.cpuacct, "/sys/fs/cgroup/cpuacct");
	assert_string_equal(r.memory, "/sys/fs/cgroup/mem ory");
	assert_string_equal(r.unified, "/sys/fs/cgroup/unified");

	/* the usual combined cpu,cpuacct */
	put(dir, "mountinfo2",
	    "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
	snprintf(path, sizeof(path), "%s/mountinfo2", dir);
	assert_int_equal(cgroup_roots_detect(path, &r), 0);
	assert_string_equal(r.cpu, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(r.cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(r.memory, "");
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(cgroup_roots_detect(path, &r), -ENOENT);
}

static void test_read_v1(void **state)
{
	const char *dir = *state;
	struct cgroup_roots r = {};
	struct tmds_cpu_stats cpu = {};
	struct tmds_mem_stats mem = {};
	long hz = sysconf(_SC_CLK_TCK);

	snprintf(r.cpuacct, sizeof(r.cpuacct), "%s/cpuacct", dir);
	snprintf(r.cpu, sizeof(r.cpu), "%s/cpu", dir);
	snprintf(r.memory, sizeof(r.memory), "%s/memory", dir);
	put(dir, "cpuacct/tp/t1/cpuacct.usage", "4817594472\n");
	put(dir, "cpuacct/tp/t1/cpuacct.usage_percpu", "2130796487 2686797985 \n");
	put(dir, "cpuacct/tp/t1/cpuacct.stat", "user 230\nsystem 54\n");
	put(dir, "cpu/tp/t1/cpu.stat", "nr_periods 12\nnr_throttled 3\nthrottled_time 4500\n");
	put(dir, "memory/tp/t1/memory.usage_in_bytes", "160886784\n");
	put(dir, "memory/tp/t1/memory.max_usage_in_bytes", "205619200\n");
	put(dir, "memory/tp/t1/memory.limit_in_bytes", "9223372036854771712\n");
	put(dir, "memory/tp/t1/memory.stat", "cache 4096\nrss 8192\ntotal_rss 8192\nbogus line\n");

	assert_true(cgroup_exists(&r, "tp/t1"));
	assert_false(cgroup_exists(&r, "tp/t2"));
	assert_int_equal(cgroup_read(&r, "tp/t1", &cpu, &mem), 0);
	assert_true(cpu.total_usage == 4817594472ULL);
	assert_int_equal(cpu.n_percpu, 2);
	assert_true(cpu.percpu_usage[1] == 2686797985ULL);
	assert_true(cpu.usage_in_usermode == 230ULL * (1000000000ULL / (uint64_t)hz));
	assert_true(cpu.usage_in_kernelmode == 54ULL * (1000000000ULL / (uint64_t)hz));
	assert_int_equal(cpu.periods, 12);
	assert_int_equal(cpu.throttled_periods, 3);
	assert_int_equal(cpu.throttled_time, 4500);
	assert_int_equal(mem.usage, 160886784);
	assert_int_equal(mem.max_usage, 205619200);
	assert_true(mem.limit == 9223372036854771712ULL);
	assert_int_equal(json_object_size(mem.stats), 3);
	assert_int_equal(json_integer_value(json_object_get(mem.stats, "rss")), 8192);
	free(cpu.percpu_usage);
	json_decref(mem.stats);

	/* no such cgroup; a path that climbs out */
	assert_int_equal(cgroup_read(&r, "tp/t2", &cpu, &mem), -ENOENT);
	assert_int_equal(cgroup_read(&r, "../t1", &cpu, &mem), -EINVAL);
}

static void test_read_v2(void **state)
{
	const char *dir = *state;
	struct cgroup_roots r = {};
	struct tmds_cpu_stats cpu = {};
	struct tmds_mem_stats mem = {};

	snprintf(r.unified, sizeof(r.unified), "%s/unified", dir);
	put(dir, "unified/tp/t1/cpu.stat",
	    "usage_usec 4817594\nuser_usec 3000000\nsystem_usec 1817594\nnr_periods 7\n"
	    "nr_throttled 2\nthrottled_usec 1500\n");
	put(dir, "unified/tp/t1/memory.current", "1048576\n");
	put(dir, "unified/tp/t1/memory.peak", "2097152\n");
	put(dir, "unified/tp/t1/memory.max", "536870912\n");
	put(dir, "unified/tp/t1/memory.stat", "anon 4096\nfile 0\n");

	assert_int_equal(cgroup_read(&r, "tp/t1", &cpu, &mem), 0);
	assert_true(cpu.total_usage == 4817594000ULL);
	assert_true(cpu.usage_in_usermode == 3000000000ULL);
	assert_true(cpu.usage_in_kernelmode == 1817594000ULL);
	assert_null(cpu.percpu_usage); /* v2 has none: omitted, as Docker does */
	assert_int_equal(cpu.periods, 7);
	assert_int_equal(cpu.throttled_time, 1500000);
	assert_int_equal(mem.usage, 1048576);
	assert_int_equal(mem.max_usage, 2097152);
	assert_int_equal(mem.limit, 536870912);
	assert_int_equal(json_integer_value(json_object_get(mem.stats, "anon")), 4096);
	json_decref(mem.stats);
	mem = (struct tmds_mem_stats){};

	/* no limit: the host's memory, as Docker reports it */
	put(dir, "unified/tp/t1/memory.max", "max\n");
	assert_int_equal(cgroup_read(&r, "tp/t1", &cpu, &mem), 0);
	assert_true(mem.limit > 0);
	json_decref(mem.stats);
}

static void test_paths(void **state)
{
	static const char *const good[] = { "t1", "taskplane/t1", "a.b/c-d_e", "a/..b" };
	static const char *const bad[] = { "", "/abs", "a/../b", "..", ".", "a//b", "a/", "./a" };

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!cgroup_path_valid(good[i]))
			fail_msg("refused: '%s'", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (cgroup_path_valid(bad[i]))
			fail_msg("accepted: '%s'", bad[i]);
	assert_false(cgroup_path_valid(NULL));
}

static void test_system_cpu(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX];
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ns;

	put(dir, "stat", "cpu  100 2 30 4000 5 6 7 8 0 0\ncpu0 50 1 15 2000 2 3 3 4 0 0\n");
	snprintf(path, sizeof(path), "%s/stat", dir);
	assert_int_equal(host_system_cpu_usage(path, &ns), 0);
	/* user+nice+system+idle+iowait+irq+softirq, not steal */
	assert_true(ns == 4150ULL * (1000000000ULL / (uint64_t)hz));
	put(dir, "stat", "intr 1 2 3\n");
	assert_int_equal(host_system_cpu_usage(path, &ns), -EINVAL);
	/* the real one */
	assert_int_equal(host_system_cpu_usage("/proc/stat", &ns), 0);
	assert_true(ns > 0);
}

static void test_clock(void **state)
{
	struct tmds_clock c;

	assert_int_equal(host_clock(&c), 0);
	assert_true(c.error_bound_ms >= 0);
	assert_true(c.reference_ns > 1700000000ULL * 1000000000ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_detect_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_v2, setup, teardown),
		cmocka_unit_test(test_paths),
		cmocka_unit_test_setup_teardown(test_system_cpu, setup, teardown),
		cmocka_unit_test(test_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
