// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the mapping of netd's replies onto the metadata endpoint (runtime/tmds.h):
 * task.show → Networks[] and the metadata address; stats.get (the contract of issue 4: one task's
 * {"device", "rates", ...}) → networks.eth1 and network_rate_stats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "tmds.h"
#include "util.h"

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		fail_msg("bad JSON in the test: %s", e.text);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *jidx(json_t *o, const char *key, size_t i)
{
	return json_string_value(json_array_get(json_object_get(o, key), i));
}

static void test_network_dual_stack(void **state)
{
	json_auto_t *nt = parse(
		"{\"task_id\":\"t1\",\"mac\":\"02:aa:bb:cc:dd:ee\",\"ips\":["
		"{\"address\":\"198.19.4.10/22\",\"gateway\":\"198.19.4.1\",\"interface\":0},"
		"{\"address\":\"198.19.4.11/22\",\"gateway\":\"198.19.4.1\",\"interface\":0},"
		"{\"address\":\"2001:db8:1::10/64\",\"gateway\":\"2001:db8:1::1\",\"interface\":0}],"
		"\"dns\":{\"nameservers\":[\"198.19.0.2\",\"198.19.0.3\"],\"search\":[\"a.internal\","
		"\"b.internal\"],\"domain\":\"a.internal\"}}");
	json_auto_t *n = NULL;
	char *err = NULL;

	assert_int_equal(tmds_network_from_netd(nt, "us-east-1", &n, &err), 0);
	assert_string_equal(jstr(n, "NetworkMode"), "awsvpc");
	assert_int_equal(json_array_size(json_object_get(n, "IPv4Addresses")), 2);
	assert_string_equal(jidx(n, "IPv4Addresses", 0), "198.19.4.10");
	assert_string_equal(jidx(n, "IPv4Addresses", 1), "198.19.4.11");
	assert_string_equal(jidx(n, "IPv6Addresses", 0), "2001:db8:1::10");
	assert_string_equal(jstr(n, "MACAddress"), "02:aa:bb:cc:dd:ee");
	assert_string_equal(jstr(n, "IPv4SubnetCIDRBlock"), "198.19.4.0/22");
	assert_string_equal(jstr(n, "IPv6SubnetCIDRBlock"), "2001:db8:1::/64");
	/* the gateway with the subnet's prefix length, as real captures have it (§2.6) */
	assert_string_equal(jstr(n, "SubnetGatewayIpv4Address"), "198.19.4.1/22");
	assert_string_equal(jstr(n, "SubnetGatewayIpv6Address"), "2001:db8:1::1/64");
	assert_string_equal(jidx(n, "DomainNameServers", 1), "198.19.0.3");
	assert_string_equal(jidx(n, "DomainNameSearchList", 1), "b.internal");
	/* us-east-1 names its hosts in ec2.internal */
	assert_string_equal(jstr(n, "PrivateDNSName"), "ip-198-19-4-10.ec2.internal");
	assert_int_equal(json_integer_value(json_object_get(n, "AttachmentIndex")), 0);
}

static void test_network_minimal(void **state)
{
	json_auto_t *nt = parse("{\"mac\":\"02:00:00:00:00:01\",\"ips\":[{\"address\":"
				"\"198.18.1.1/16\"}],\"dns\":{}}");
	json_auto_t *n = NULL;
	char *err = NULL;

	assert_int_equal(tmds_network_from_netd(nt, "eu-west-1", &n, &err), 0);
	/* what netd does not have is left out (omitempty), not written empty */
	assert_null(json_object_get(n, "DomainNameServers"));
	assert_null(json_object_get(n, "DomainNameSearchList"));
	assert_null(json_object_get(n, "IPv6Addresses"));
	assert_null(json_object_get(n, "SubnetGatewayIpv4Address"));
	assert_string_equal(jstr(n, "PrivateDNSName"), "ip-198-18-1-1.eu-west-1.compute.internal");
}

static void test_network_errors(void **state)
{
	static const char *const bad[] = {
		"{\"ips\":[{\"address\":\"198.18.1.1/16\"}]}",
		"{\"mac\":\"02:00:00:00:00:01\"}",
		"{\"mac\":\"02:00:00:00:00:01\",\"ips\":[]}",
		"{\"mac\":\"02:00:00:00:00:01\",\"ips\":[{\"address\":\"2001:db8::1/64\"}]}",
		"{\"mac\":\"02:00:00:00:00:01\",\"ips\":[{\"address\":\"198.18.1.1\"}]}",
		"{\"mac\":\"02:00:00:00:00:01\",\"ips\":[{}]}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_auto_t *nt = parse(bad[i]);
		json_t *n = NULL;
		char *err = NULL;

		if (tmds_network_from_netd(nt, "eu-west-1", &n, &err) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_null(n);
		assert_non_null(err);
		free(err);
	}
}

static void test_md_address(void **state)
{
	static const struct {
		const char *json;
		int want;
		const char *addr;
	} cases[] = {
		{ "{\"metadata\":{\"address\":\"169.254.172.9\"}}", 0, "169.254.172.9" },
		{ "{\"metadata\":{\"address\":\"169.254.175.254/22\",\"ifname\":\"md3\"}}", 0,
		  "169.254.175.254" },
		{ "{\"metadata\":{\"address\":\"169.254.172.0\"}}", 0, "169.254.172.0" },
		{ "{}", -ENOENT, NULL },
		{ "{\"metadata\":null}", -ENOENT, NULL },
		{ "{\"metadata\":{}}", -ENOENT, NULL },
		{ "{\"metadata\":{\"address\":\"169.254.176.1\"}}", -EINVAL, NULL },
		{ "{\"metadata\":{\"address\":\"169.254.171.255\"}}", -EINVAL, NULL },
		{ "{\"metadata\":{\"address\":\"198.18.0.1\"}}", -EINVAL, NULL },
		{ "{\"metadata\":{\"address\":\"fe80::1\"}}", -EINVAL, NULL },
		{ "{\"metadata\":{\"address\":\"169.254.172.300\"}}", -EINVAL, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_auto_t *nt = parse(cases[i].json);
		struct in_addr a = {};
		int r = tmds_md_address_from_netd(nt, &a);

		if (r != cases[i].want)
			fail_msg("%s: %d, want %d", cases[i].json, r, cases[i].want);
		if (cases[i].addr)
			assert_string_equal(inet_ntoa(a), cases[i].addr);
	}
}

static void test_stats_mapping(void **state)
{
	/* the per-task shape fixed for stats.get, with counters past 2^32 */
	json_auto_t *st = parse(
		"{\"task_id\":\"t1\",\"slot\":3,\"phase\":\"READY\",\"detached\":false,"
		"\"time\":\"2026-01-01T00:00:00Z\",\"device\":{\"ifname\":\"eth1\","
		"\"rx_bytes\":18446744073709551,\"rx_packets\":2,\"rx_errors\":3,\"rx_dropped\":4,"
		"\"tx_bytes\":5000000000,\"tx_packets\":6,\"tx_errors\":7,\"tx_dropped\":8},"
		"\"totals\":{\"rx\":{\"bytes\":99,\"packets\":99},\"tx\":{\"bytes\":99,\"packets\":99}},"
		"\"flows\":{\"app\":{\"rx\":{\"bytes\":99,\"packets\":99},\"tx\":{\"bytes\":99,"
		"\"packets\":99}},\"metadata\":{\"rx\":{\"bytes\":7,\"packets\":1},\"tx\":{\"bytes\":7,"
		"\"packets\":1}}},\"drops\":{\"spoof\":{\"bytes\":0,\"packets\":0},\"imds\":{\"bytes\":"
		"60,\"packets\":1},\"policy\":{\"bytes\":0,\"packets\":0}},"
		"\"rates\":{\"window_sec\":10,\"rx_bytes_per_sec\":12.5,\"tx_bytes_per_sec\":3}}");
	struct tmds_net_stats n;
	char *err = NULL;

	assert_int_equal(tmds_net_stats_from_netd(st, &n, &err), 0);
	assert_string_equal(n.ifname, "eth1");
	/* networks.eth1 is the device's IFLA_STATS64, not the flow totals */
	assert_true(n.rx_bytes == 18446744073709551ULL);
	assert_true(n.rx_packets == 2 && n.rx_errors == 3 && n.rx_dropped == 4);
	assert_true(n.tx_bytes == 5000000000ULL);
	assert_true(n.tx_packets == 6 && n.tx_errors == 7 && n.tx_dropped == 8);
	assert_true(n.has_rates);
	assert_true(n.rx_bytes_per_sec == 12.5);
	assert_true(n.tx_bytes_per_sec == 3);
}

static void test_stats_without_rates(void **state)
{
	json_auto_t *st = parse("{\"device\":{\"ifname\":\"eth1\",\"rx_bytes\":1,\"rx_packets\":1,"
				"\"rx_errors\":0,\"rx_dropped\":0,\"tx_bytes\":1,\"tx_packets\":1,"
				"\"tx_errors\":0,\"tx_dropped\":0}}");
	struct tmds_net_stats n;
	char *err = NULL;

	assert_int_equal(tmds_net_stats_from_netd(st, &n, &err), 0);
	assert_false(n.has_rates);
}

static void test_stats_errors(void **state)
{
#define DEV(x)                                                                                     \
	"{\"device\":{\"ifname\":\"eth1\",\"rx_bytes\":1,\"rx_packets\":1,\"rx_errors\":0,"        \
	"\"rx_dropped\":0,\"tx_bytes\":1,\"tx_packets\":1,\"tx_errors\":0" x "}"
	static const char *const bad[] = {
		"{}",
		"{\"device\":[]}",
		DEV(",\"tx_dropped\":-1}"),
		DEV("}"),
		DEV(",\"tx_dropped\":1.5}"),
		DEV(",\"tx_dropped\":\"1\"}"),
		"{\"device\":{\"rx_bytes\":1}}",
		"{\"device\":{\"ifname\":\"a-very-long-interface-name\",\"rx_bytes\":1}}",
		DEV(",\"tx_dropped\":0},\"rates\":{\"rx_bytes_per_sec\":1}"),
		DEV(",\"tx_dropped\":0},\"rates\":{\"rx_bytes_per_sec\":-1,\"tx_bytes_per_sec\":1}"),
		DEV(",\"tx_dropped\":0},\"rates\":{\"rx_bytes_per_sec\":\"1\",\"tx_bytes_per_sec\":1}"),
	};
#undef DEV

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_auto_t *st = json_loads(bad[i], 0, NULL);
		struct tmds_net_stats n;
		char *err = NULL;

		assert_non_null(st);
		if (tmds_net_stats_from_netd(st, &n, &err) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(err);
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_dual_stack),
		cmocka_unit_test(test_network_minimal),
		cmocka_unit_test(test_network_errors),
		cmocka_unit_test(test_md_address),
		cmocka_unit_test(test_stats_mapping),
		cmocka_unit_test(test_stats_without_rates),
		cmocka_unit_test(test_stats_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
