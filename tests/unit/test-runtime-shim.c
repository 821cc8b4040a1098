// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the shim's configuration and names (runtime/shim.h). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shim.h"
#include "util.h"

#define CONFIG                                                                                                                           \
	"{\"version\":1,\"task_id\":\"0123456789abcdef0123456789abcdef\","                                                               \
	"\"platform_version\":\"1.4.0\",\"platform_revision\":5,"                                                                        \
	"\"platforms_dir\":\"/usr/share/taskvm/platforms\",\"task_definition\":{\"family\":\"f\"},"                                      \
	"\"netns\":\"/run/netns/taskvm-x\",\"slot\":7,\"address\":\"198.18.1.1\","                                                       \
	"\"hostname\":\"ip-198-18-1-1.us-west-2.compute.internal\","                                                                     \
	"\"nameservers\":[\"198.18.0.1\",\"198.18.0.2\"],\"search\":[\"vpc.test\"],"                                                     \
	"\"image_store\":\"/var/lib/taskvm/images\",\"insecure_registries\":[\"registry:5000\"],"                                        \
	"\"volume_dir\":\"/var/lib/taskvm/volumes/x\",\"cgroup\":\"taskvm/x\","                                                          \
	"\"env\":{\"app\":{\"AWS_REGION\":\"us-west-2\"}},\"pull_timeout_sec\":600,"                                                     \
	"\"usage_interval_sec\":10,\"drain_timeout_sec\":5,\"log_max_size\":1048576,"                                                    \
	"\"region\":\"us-west-2\",\"secretsmanager_endpoint\":\"http://198.18.0.1:8080\","                                               \
	"\"ssm_endpoint\":\"https://ssm.us-west-2.amazonaws.com\",\"secrets_timeout_sec\":30,\"image_pull_behavior\":\"prefer-cached\"," \
	"\"insights\":{\"endpoint\":\"tcp://198.18.0.1:5514\",\"group\":\"/aws/ecs/containerinsights/c/performance\"},"                  \
	"\"platform_eni\":{\"netns\":\"/run/netns/plat\",\"nameservers\":[\"198.18.0.3\"]},"                                             \
	"\"vm\":{\"kernel\":\"/usr/share/taskvm/vm/vmlinux\",\"initrd\":\"/usr/share/taskvm/vm/initramfs.cpio\"}}"

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);

	assert_non_null(j);
	return j;
}

static void test_config_roundtrip(void **state)
{
	json_auto_t *j = parse(CONFIG), *back = NULL;
	struct shim_config c = {}, c2 = {};
	char *err = NULL;

	assert_int_equal(shim_config_parse(j, &c, &err), 0);
	assert_null(err);
	assert_string_equal(c.task_id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(c.slot, 7);
	assert_string_equal(c.nameservers[0], "198.18.0.1");
	assert_string_equal(c.nameservers[1], "198.18.0.2");
	assert_null(c.nameservers[2]);
	assert_string_equal(c.search[0], "vpc.test");
	assert_string_equal(c.insecure_registries[0], "registry:5000");
	assert_string_equal(c.cgroup, "taskvm/x");
	assert_int_equal(c.pull_timeout_sec, 600);
	assert_int_equal(c.log_max_size, 1048576);
	assert_int_equal(c.platform_revision, 5);
	assert_string_equal(c.region, "us-west-2");
	assert_string_equal(c.secretsmanager_endpoint, "http://198.18.0.1:8080");
	assert_string_equal(c.ssm_endpoint, "https://ssm.us-west-2.amazonaws.com");
	assert_int_equal(c.secrets_timeout_sec, 30);
	assert_int_equal(c.pull_behavior, SHIM_PULL_PREFER_CACHED);
	assert_string_equal(c.insights_endpoint, "tcp://198.18.0.1:5514");
	assert_string_equal(c.insights_group, "/aws/ecs/containerinsights/c/performance");
	assert_string_equal(c.platforms_dir, "/usr/share/taskvm/platforms");
	assert_string_equal(c.platform_netns, "/run/netns/plat");
	assert_string_equal(c.platform_nameservers[0], "198.18.0.3");
	assert_null(c.platform_nameservers[1]);
	assert_string_equal(c.vm_kernel, "/usr/share/taskvm/vm/vmlinux");
	assert_string_equal(c.vm_initrd, "/usr/share/taskvm/vm/initramfs.cpio");
	assert_null(c.vm_qemu);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(c.env, "app"), "AWS_REGION")),
		"us-west-2");
	back = shim_config_to_json(&c);
	assert_non_null(back);
	assert_true(json_equal(back, j));
	assert_int_equal(shim_config_parse(back, &c2, &err), 0);
	shim_config_done(&c);
	shim_config_done(&c2);
}

/* Each change makes a valid configuration invalid, with a message. */
static void test_config_errors(void **state)
{
	static const struct {
		const char *key;
		const char *value; /* JSON, or NULL to delete */
		const char *msg;
	} cases[] = {
		{ "version", "2", "version" },
		{ "task_id", "\"bad id!\"", "task_id" },
		{ "task_id", NULL, "task_id" },
		{ "netns", "\"relative\"", "absolute" },
		{ "cgroup", "\"/abs\"", "relative" },
		{ "slot", "-1", "slot" },
		{ "slot", "\"3\"", "integer" },
		{ "nameservers", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
		  "at most" },
		{ "nameservers", "[\"\"]", "non-empty" },
		{ "env", "{\"app\":{\"A=B\":\"c\"}}", "env" },
		{ "env", "{\"app\":[]}", "env" },
		{ "pull_timeout_sec", "-5", "range" },
		{ "platform_revision", "-1", "platform_revision" },
		{ "platform_revision", "\"5\"", "integer" },
		{ "platforms_dir", "\"relative\"", "absolute" },
		{ "secrets_timeout_sec", "3601", "range" },
		{ "image_pull_behavior", "\"sometimes\"", "prefer-cached" },
		{ "insights", "{\"endpoint\":\"tcp://198.18.0.1:5514\"}", "insights" },
		{ "platform_eni", "{\"netns\":\"plat\"}", "absolute" },
		{ "platform_eni", "{\"nameservers\":[]}", "platform_eni" },
		{ "platform_eni", "{\"netns\":\"/run/netns/p\",\"nameservers\":[1]}",
		  "platform_eni.nameservers" },
		{ "vm", "{\"kernel\":\"vmlinux\",\"initrd\":\"/i\"}", "absolute" },
		{ "vm", "{\"kernel\":\"/k\"}", "vm" },
		{ "vm", "{\"kernel\":\"/k\",\"initrd\":\"/i\",\"memory\":1}", "vm" },
		{ "unknown", "1", "unknown" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_auto_t *j = parse(CONFIG);
		struct shim_config c = {};
		char *err = NULL;

		if (cases[i].value)
			json_object_set_new(j, cases[i].key, parse(cases[i].value));
		else
			json_object_del(j, cases[i].key);
		assert_int_equal(shim_config_parse(j, &c, &err), -EINVAL);
		assert_non_null(err);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu (%s): '%s' lacks '%s'", i, cases[i].key, err,
				 cases[i].msg);
		free(err);
	}
}

/* The network may come after the start: a configuration without it, then the method's. */
static void test_network_later(void **state)
{
	json_auto_t *j = parse(CONFIG), *net = json_object(), *back = NULL;
	static const char *const network_keys[] = { "slot",	   "address", "hostname",
						    "nameservers", "search",  "env" };
	struct shim_config c = {};
	char *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(network_keys); i++) {
		json_object_set(net, network_keys[i], json_object_get(j, network_keys[i]));
		json_object_del(j, network_keys[i]);
	}
	assert_int_equal(shim_config_parse(j, &c, &err), 0);
	assert_false(c.has_network);
	assert_null(c.nameservers[0]);
	back = shim_config_to_json(&c);
	assert_true(json_equal(back, j));
	assert_int_equal(shim_network_parse(net, &c, &err), 0);
	assert_true(c.has_network);
	assert_int_equal(c.slot, 7);
	assert_string_equal(c.hostname, "ip-198-18-1-1.us-west-2.compute.internal");
	assert_string_equal(c.nameservers[1], "198.18.0.2");
	assert_int_equal(shim_network_parse(net, &c, &err), -EEXIST);
	free(err);
	err = NULL;
	shim_config_done(&c);

	/* the network's members need its slot; the method takes its own members only */
	json_object_set_new(j, "address", json_string("198.18.1.1"));
	assert_int_equal(shim_config_parse(j, &c, &err), -EINVAL);
	assert_non_null(strstr(err, "slot"));
	free(err);
	err = NULL;
	json_object_del(j, "address");
	assert_int_equal(shim_config_parse(j, &c, &err), 0);
	json_object_set_new(net, "volume_dir", json_string("/x"));
	assert_int_equal(shim_network_parse(net, &c, &err), -EINVAL);
	free(err);
	err = NULL;
	json_object_del(net, "volume_dir");
	json_object_set_new(net, "slot", json_integer(70000));
	assert_int_equal(shim_network_parse(net, &c, &err), -EINVAL);
	assert_false(c.has_network);
	free(err);
	shim_config_done(&c);
}

/* The network's members but its slot, ahead in the file; the network replaces them later. */
static void test_network_ahead(void **state)
{
	json_auto_t *j = parse(CONFIG), *net = json_object(), *ahead = json_object(), *back = NULL;
	static const char *const network_keys[] = { "slot",	   "address", "hostname",
						    "nameservers", "search",  "env" };
	struct shim_config c = {};
	char *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(network_keys); i++) {
		json_object_set(net, network_keys[i], json_object_get(j, network_keys[i]));
		if (i > 0)
			json_object_set(ahead, network_keys[i],
					json_object_get(j, network_keys[i]));
		json_object_del(j, network_keys[i]);
	}
	json_object_set(j, "ahead", ahead);
	assert_int_equal(shim_config_parse(j, &c, &err), 0);
	assert_null(err);
	assert_false(c.has_network);
	assert_true(c.has_ahead);
	assert_string_equal(c.hostname, "ip-198-18-1-1.us-west-2.compute.internal");
	assert_string_equal(c.address, "198.18.1.1");
	assert_string_equal(c.nameservers[1], "198.18.0.2");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(c.env, "app"), "AWS_REGION")),
		"us-west-2");
	back = shim_config_to_json(&c);
	assert_true(json_equal(back, j));
	/* the network: its values replace those ahead (nothing leaks under ASan) */
	json_object_set_new(net, "nameservers", json_pack("[s]", "198.18.0.9"));
	assert_int_equal(shim_network_parse(net, &c, &err), 0);
	assert_true(c.has_network);
	assert_int_equal(c.slot, 7);
	assert_string_equal(c.nameservers[0], "198.18.0.9");
	assert_null(c.nameservers[1]);
	shim_config_done(&c);

	/* no slot ahead, and an object */
	json_object_set_new(ahead, "slot", json_integer(7));
	assert_int_equal(shim_config_parse(j, &c, &err), -EINVAL);
	assert_non_null(strstr(err, "slot"));
	free(err);
	err = NULL;
	json_object_set_new(j, "ahead", json_string("x"));
	assert_int_equal(shim_config_parse(j, &c, &err), -EINVAL);
	free(err);
	err = NULL;
	/* its members are checked as the network's */
	json_object_set_new(j, "ahead", json_pack("{s:i}", "hostname", 1));
	assert_int_equal(shim_config_parse(j, &c, &err), -EINVAL);
	free(err);
}

static void test_states(void **state)
{
	for (enum shim_state s = SHIM_STATE_PREPARING; s <= SHIM_STATE_STOPPED; s++) {
		enum shim_state back;

		assert_int_equal(shim_state_from_string(shim_state_to_string(s), &back), 0);
		assert_int_equal(back, s);
	}
	assert_int_equal(shim_state_from_string("PENDING", &(enum shim_state){ 0 }), -EINVAL);
	assert_int_equal(shim_state_from_string(NULL, &(enum shim_state){ 0 }), -EINVAL);
}

static void test_signals(void **state)
{
	assert_int_equal(shim_signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(shim_signal_parse("TERM"), SIGTERM);
	assert_int_equal(shim_signal_parse("15"), 15);
	assert_int_equal(shim_signal_parse("SIGQUIT"), SIGQUIT);
	assert_int_equal(shim_signal_parse("SIGWINCH"), SIGWINCH);
	assert_int_equal(shim_signal_parse("SIGRTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(shim_signal_parse(""), -EINVAL);
	assert_int_equal(shim_signal_parse("SIGNOPE"), -EINVAL);
	assert_int_equal(shim_signal_parse("0"), -EINVAL);
	assert_int_equal(shim_signal_parse("15x"), -EINVAL);
	assert_int_equal(shim_signal_parse("999"), -EINVAL);
	assert_int_equal(shim_signal_parse(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_roundtrip), cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_network_later),	 cmocka_unit_test(test_network_ahead),
		cmocka_unit_test(test_states),		 cmocka_unit_test(test_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
