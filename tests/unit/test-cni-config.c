// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for cni-plugin/cni.h, part 1 (test-cni-result.c is part 2): the CNI environment and the network configuration,
 * with the error code and message the runtime gets for every kind of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cni.h"
#include "log.h"

#define MAC1 "02:00:5e:10:00:01"
#define MAC2 "02:00:5e:10:00:02"

static char *env_add[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c1",    "CNI_NETNS=/run/netns/x",
			   "CNI_IFNAME=eth1", "CNI_PATH=/opt/cni/bin", NULL };

/* Fail with the error message when a call that should succeed did not. */
static void assert_ok(int r, const struct cni_error *e)
{
	if (r < 0)
		fail_msg("unexpected error %d: %s", e->code, e->msg);
}

/* Check an error's code and that its message contains every given fragment (NULL-ended). */
static void assert_error(int r, const struct cni_error *e, int code, ...)
{
	const char *frag;
	va_list ap;

	if (r >= 0)
		fail_msg("expected error %d, got success", code);
	if (e->code != code)
		fail_msg("expected error %d, got %d: %s", code, e->code, e->msg);
	va_start(ap, code);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(e->msg, frag))
			fail_msg("error message '%s' lacks '%s'", e->msg, frag);
	va_end(ap);
}

static int parse_env(char **envp, struct cni_env *env, struct cni_error *e)
{
	return cni_env_parse(envp, env, e);
}

/* Parse json as the configuration of command cmd (the rest of the environment as env_add). */
static int parse_cfg(const char *cmd, const char *json, struct cni_config *c, struct cni_error *e)
{
	char cmdvar[32];
	char *envp[ARRAY_SIZE(env_add)];
	struct cni_env env;
	int r;

	memcpy(envp, env_add, sizeof(env_add));
	snprintf(cmdvar, sizeof(cmdvar), "CNI_COMMAND=%s", cmd);
	envp[0] = cmdvar;
	r = cni_env_parse(envp, &env, e);
	assert_ok(r, e);
	r = cni_config_parse(json, strlen(json), &env, c, e);
	cni_env_done(&env);
	return r;
}

/* --- environment --------------------------------------------------------------------------- */

static void test_env_add(void **state)
{
	struct cni_error e = {};
	struct cni_env env;

	assert_ok(parse_env(env_add, &env, &e), &e);
	assert_int_equal(env.command, CNI_COMMAND_ADD);
	assert_string_equal(env.container_id, "c1");
	assert_string_equal(env.netns, "/run/netns/x");
	assert_string_equal(env.ifname, "eth1");
	assert_string_equal(env.path, "/opt/cni/bin");
	assert_null(env.arg_ip);
	cni_env_done(&env);
}

static void test_env_command(void **state)
{
	char *none[] = { "CNI_CONTAINERID=c1", NULL };
	char *empty[] = { "CNI_COMMAND=", NULL };
	char *bad[] = { "CNI_COMMAND=add", NULL };
	struct cni_error e = {};
	struct cni_env env;

	assert_error(parse_env(none, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_COMMAND", NULL);
	assert_error(parse_env(empty, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_COMMAND", NULL);
	assert_error(parse_env(bad, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_COMMAND 'add'", NULL);
}

static void test_env_missing(void **state)
{
	char *add[] = { "CNI_COMMAND=ADD", "CNI_NETNS=/run/netns/x", NULL };
	char *check[] = { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=c", "CNI_IFNAME=eth1", NULL };
	char *del[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth1",
			"CNI_NETNS=", NULL };
	char *del_noid[] = { "CNI_COMMAND=DEL", "CNI_IFNAME=eth1", NULL };
	char *gc[] = { "CNI_COMMAND=GC", NULL };
	char *status[] = { "CNI_COMMAND=STATUS", NULL };
	char *version[] = { "CNI_COMMAND=VERSION", NULL };
	struct cni_error e = {};
	struct cni_env env;

	/* every missing variable is named */
	assert_error(parse_env(add, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_CONTAINERID",
		     "CNI_IFNAME", NULL);
	assert_null(strstr(e.msg, "CNI_NETNS"));
	assert_error(parse_env(check, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_NETNS", NULL);
	/* DEL may come with the namespace gone: CNI_NETNS empty is fine */
	assert_ok(parse_env(del, &env, &e), &e);
	assert_null(env.netns);
	cni_env_done(&env);
	assert_error(parse_env(del_noid, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_CONTAINERID",
		     NULL);
	assert_ok(parse_env(gc, &env, &e), &e);
	assert_ok(parse_env(status, &env, &e), &e);
	assert_ok(parse_env(version, &env, &e), &e);
}

static void test_env_invalid(void **state)
{
	char *cid[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=-abc", "CNI_NETNS=/n", "CNI_IFNAME=e",
			NULL };
	char *cid2[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=a b", "CNI_IFNAME=e", NULL };
	char *ifn[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n", "CNI_IFNAME=eth1/2",
			NULL };
	char *ifn2[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n",
			 "CNI_IFNAME=abcdefghijklmnop", NULL };
	char *ns[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=run/netns/x",
		       "CNI_IFNAME=eth1", NULL };
	struct cni_error e = {};
	struct cni_env env;

	assert_error(parse_env(cid, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_CONTAINERID '-abc'",
		     NULL);
	assert_error(parse_env(cid2, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_CONTAINERID", NULL);
	assert_error(parse_env(ifn, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_IFNAME 'eth1/2'",
		     NULL);
	assert_error(parse_env(ifn2, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_IFNAME", NULL);
	assert_error(parse_env(ns, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_NETNS", NULL);
}

static void test_env_args(void **state)
{
	char *ok[] = { "CNI_COMMAND=ADD",
		       "CNI_CONTAINERID=c",
		       "CNI_NETNS=/n",
		       "CNI_IFNAME=e",
		       "CNI_ARGS=IgnoreUnknown=1;IP=198.18.1.5/16;MAC=" MAC2 ";K8S_POD_NAME=p;",
		       NULL };
	char *bad[] = { "CNI_COMMAND=ADD",
			"CNI_CONTAINERID=c",
			"CNI_NETNS=/n",
			"CNI_IFNAME=e",
			"CNI_ARGS=IP=198.18.1.5/16;oops",
			NULL };
	struct cni_error e = {};
	struct cni_env env;

	assert_ok(parse_env(ok, &env, &e), &e);
	assert_string_equal(env.arg_ip, "198.18.1.5/16");
	assert_string_equal(env.arg_mac, MAC2);
	cni_env_done(&env);
	assert_error(parse_env(bad, &env, &e), &e, CNI_ERR_INVALID_ENV, "CNI_ARGS", "'oops'", NULL);
}

/* --- configuration ------------------------------------------------------------------------- */

#define BASE "\"cniVersion\":\"1.1.0\",\"name\":\"tasks\",\"type\":\"task-eni\""
#define ENI  "\"mac\":\"" MAC1 "\",\"addresses\":[\"198.18.1.1/16\"]"

static void test_config_minimal(void **state)
{
	struct cni_config c;
	struct cni_error e = {};
	char buf[ADDR_PREFIX_STRLEN];

	assert_ok(parse_cfg("ADD", "{" BASE "," ENI "}", &c, &e), &e);
	assert_int_equal(c.version, CNI_VERSION_1_1_0);
	assert_string_equal(c.name, "tasks");
	assert_true(c.has_mac);
	assert_string_equal(c.mac_from, "mac");
	assert_int_equal(c.naddrs, 1);
	assert_string_equal(addr_prefix_format(&c.addrs[0], buf, sizeof(buf)), "198.18.1.1/16");
	assert_true(c.block_imds);
	assert_true(c.metadata_link);
	assert_int_equal(c.mtu, 0);
	assert_string_equal(c.socket, "/run/netd/netd.sock");
	assert_int_equal(c.timeout_ms, 10000);
	assert_int_equal(c.log_level, -1);
	assert_null(c.prev_result);
	cni_config_done(&c);
}

static void test_config_all_keys(void **state)
{
	static const char *json =
		"{" BASE "," ENI ",\"gateway\":[\"198.18.0.1\",\"2001:db8::1\"],\"mtu\":1500,"
		"\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\",\"mtu\":1400,"
		"\"advmss\":1360,\"priority\":10,\"table\":100,\"note\":\"ignored\"},"
		"{\"dst\":\"0.0.0.0/0\",\"table\":200}],"
		"\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"domain\":\"d\",\"search\":[\"s\"],"
		"\"options\":[\"ndots:2\"],\"extra\":1},"
		"\"blockInstanceMetadata\":false,\"metadataLink\":false,\"socket\":\"/tmp/n.sock\","
		"\"eniTimeoutMs\":0,\"logFile\":\"/tmp/x.log\",\"logLevel\":\"debug\","
		"\"capabilities\":{\"mac\":true},\"somethingElse\":[1,2]}";
	struct cni_config c;
	struct cni_error e = {};
	char *s;

	assert_ok(parse_cfg("ADD", json, &c, &e), &e);
	assert_int_equal(c.ngateways, 2);
	assert_int_equal(c.gateways[1].family, AF_INET6);
	assert_int_equal(c.mtu, 1500);
	assert_false(c.block_imds);
	assert_false(c.metadata_link);
	assert_string_equal(c.socket, "/tmp/n.sock");
	assert_int_equal(c.timeout_ms, 0);
	assert_string_equal(c.log_file, "/tmp/x.log");
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	/* routes in netd's form: unknown members dropped */
	s = json_dumps(c.routes, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "[{\"advmss\":1360,\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\","
			       "\"mtu\":1400,\"priority\":10,\"table\":100},"
			       "{\"dst\":\"0.0.0.0/0\",\"table\":200}]");
	free(s);
	s = json_dumps(c.dns, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"domain\":\"d\",\"nameservers\":[\"198.18.0.2\"],"
			       "\"options\":[\"ndots:2\"],\"search\":[\"s\"]}");
	free(s);
	cni_config_done(&c);
}

static void test_config_decode(void **state)
{
	struct cni_config c;
	struct cni_error e = {};

	assert_error(parse_cfg("ADD", "", &c, &e), &e, CNI_ERR_DECODE, "No network configuration",
		     NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("ADD", "{\"cniVersion\":", &c, &e), &e, CNI_ERR_DECODE,
		     "Failed to decode", NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("ADD", "[1]", &c, &e), &e, CNI_ERR_DECODE, "not a JSON object",
		     NULL);
	cni_config_done(&c);
	/* two values for one key: which one would a runtime mean? */
	assert_error(parse_cfg("ADD", "{" BASE "," ENI ",\"mtu\":1,\"mtu\":2}", &c, &e), &e,
		     CNI_ERR_DECODE, "duplicate", NULL);
	cni_config_done(&c);
}

static void test_config_version(void **state)
{
	struct cni_config c;
	struct cni_error e = {};

	assert_error(parse_cfg("ADD", "{\"name\":\"n\"," ENI "}", &c, &e), &e,
		     CNI_ERR_INVALID_CONFIG, "cniVersion", NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("ADD", "{\"cniVersion\":1,\"name\":\"n\"}", &c, &e), &e,
		     CNI_ERR_INVALID_CONFIG, "'cniVersion'", "1", NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("ADD", "{\"cniVersion\":\"0.3.1\",\"name\":\"n\"," ENI "}", &c, &e),
		     &e, CNI_ERR_INCOMPATIBLE_VERSION, "'0.3.1'", "0.4.0, 1.0.0, 1.1.0", NULL);
	/* the error object can still name the version asked for */
	assert_string_equal(c.version_str, "0.3.1");
	cni_config_done(&c);
	for (int v = CNI_VERSION_0_4_0; v <= CNI_VERSION_1_1_0; v++) {
		char json[256];

		snprintf(json, sizeof(json), "{\"cniVersion\":\"%s\",\"name\":\"n\"," ENI "}",
			 cni_version_to_string((enum cni_version)v));
		assert_ok(parse_cfg("ADD", json, &c, &e), &e);
		assert_int_equal(c.version, v);
		cni_config_done(&c);
	}
	/* GC and STATUS came with 1.1.0 */
	assert_error(parse_cfg("GC", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", &c, &e), &e,
		     CNI_ERR_INCOMPATIBLE_VERSION, "GC", "1.1.0", NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("STATUS", "{\"cniVersion\":\"0.4.0\",\"name\":\"n\"}", &c, &e), &e,
		     CNI_ERR_INCOMPATIBLE_VERSION, "STATUS", NULL);
	cni_config_done(&c);
	assert_ok(parse_cfg("STATUS", "{\"cniVersion\":\"1.1.0\",\"name\":\"n\"}", &c, &e), &e);
	cni_config_done(&c);
}

struct bad_case {
	const char *fragment; /* members added to BASE */
	int code;
	const char *key;   /* must be in the message */
	const char *value; /* must be in the message */
};

static void test_config_bad_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "\"name\":\"-x\"," ENI, 7, "'name'", "-x" },
		{ "\"mac\":17,\"addresses\":[\"198.18.1.1/16\"]", 7, "'mac'", "17" },
		{ "\"mac\":\"02:00:5e\",\"addresses\":[\"198.18.1.1/16\"]", 7, "'mac'",
		  "02:00:5e" },
		{ "\"mac\":\"01:00:5e:00:00:01\",\"addresses\":[\"198.18.1.1/16\"]", 7, "'mac'",
		  "01:00:5e:00:00:01" },
		{ "\"mac\":\"" MAC1 "\",\"addresses\":\"198.18.1.1/16\"", 7, "'addresses'",
		  "198.18.1.1/16" },
		{ "\"mac\":\"" MAC1 "\",\"addresses\":[]", 7, "'addresses'", "[]" },
		{ "\"mac\":\"" MAC1 "\",\"addresses\":[\"198.18.1.1\"]", 7, "'addresses[0]'",
		  "198.18.1.1" },
		{ "\"mac\":\"" MAC1 "\",\"addresses\":[\"198.18.1.1/16\",\"198.18.1.1/16\"]", 7,
		  "'addresses[1]'", "198.18.1.1/16" },
		{ "\"mac\":\"" MAC1 "\",\"addresses\":[5]", 7, "'addresses[0]'", "5" },
		{ ENI ",\"mtu\":\"9001\"", 7, "'mtu'", "9001" },
		{ ENI ",\"mtu\":67", 7, "'mtu'", "67" },
		{ ENI ",\"mtu\":65536", 7, "'mtu'", "65536" },
		{ ENI ",\"gateway\":\"198.18.0\"", 7, "'gateway'", "198.18.0" },
		{ ENI ",\"gateway\":[\"198.18.0.1\",\"198.18.0.2\"]", 7, "'gateway'",
		  "198.18.0.2" },
		{ ENI ",\"routes\":{}", 7, "'routes'", "{}" },
		{ ENI ",\"routes\":[{\"gw\":\"198.18.0.1\"}]", 7, "'routes[0].dst'", "missing" },
		{ ENI ",\"routes\":[{\"dst\":\"10.0.0.0/33\"}]", 7, "'routes[0].dst'",
		  "10.0.0.0/33" },
		{ ENI ",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"2001:db8::1\"}]", 7,
		  "'routes[0].gw'", "2001:db8::1" },
		{ ENI ",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"mtu\":true}]", 7, "'routes[0].mtu'",
		  "true" },
		{ ENI ",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"table\":0}]", 7, "'routes[0].table'",
		  "0" },
		{ ENI ",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"198.18.0.9\"}]", 7,
		  "'routes[0].dst'", "0.0.0.0/0" },
		{ ENI ",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"scope\":253}]", 2,
		  "'routes[0].scope'", "253" },
		{ ENI ",\"dns\":[]", 7, "'dns'", "[]" },
		{ ENI ",\"dns\":{\"nameservers\":[\"ns1\"]}", 7, "'dns.nameservers[0]'", "ns1" },
		{ ENI ",\"dns\":{\"domain\":5}", 7, "'dns.domain'", "5" },
		{ ENI ",\"dns\":{\"search\":\"a\"}", 7, "'dns.search'", "a" },
		{ ENI ",\"blockInstanceMetadata\":\"yes\"", 7, "'blockInstanceMetadata'", "yes" },
		{ ENI ",\"metadataLink\":0", 7, "'metadataLink'", "0" },
		{ ENI ",\"eniTimeoutMs\":-1", 7, "'eniTimeoutMs'", "-1" },
		{ ENI ",\"eniTimeoutMs\":600001", 7, "'eniTimeoutMs'", "600001" },
		{ ENI ",\"socket\":\"netd.sock\"", 7, "'socket'", "netd.sock" },
		{ ENI ",\"logFile\":7", 7, "'logFile'", "7" },
		{ ENI ",\"logLevel\":\"loud\"", 7, "'logLevel'", "loud" },
		{ ENI ",\"runtimeConfig\":[]", 7, "'runtimeConfig'", "[]" },
		{ ENI ",\"runtimeConfig\":{\"mac\":\"zz\"}", 7, "'runtimeConfig.mac'", "zz" },
		{ ENI ",\"runtimeConfig\":{\"ips\":[\"198.18.1.9\"]}", 7, "'runtimeConfig.ips[0]'",
		  "198.18.1.9" },
		{ ENI ",\"args\":{\"cni\":{\"ips\":\"x\"}}", 7, "'args.cni.ips'", "x" },
		{ ENI ",\"args\":{\"cni\":{\"mac\":1}}", 7, "'args.cni.mac'", "1" },
		{ ENI ",\"ipam\":{\"type\":\"host-local\"}", 2, "'ipam'", "host-local" },
		{ ENI ",\"ipMasq\":true", 2, "'ipMasq'", "true" },
		{ ENI ",\"prevResult\":{\"ips\":[{\"address\":\"x\"}]}", 7, "prevResult",
		  "ips[0].address" },
		{ ENI ",\"prevResult\":{\"ips\":[{\"address\":\"198.18.1.1/16\",\"interface\":0}]}",
		  7, "prevResult", "ips[0].interface" },
		{ ENI ",\"prevResult\":{\"interfaces\":[{\"mac\":\"x\"}]}", 7, "prevResult",
		  "interfaces[0]" },
		{ "\"addresses\":[\"198.18.1.1/16\"]", 7, "MAC", "'mac'" },
		{ "\"mac\":\"" MAC1 "\"", 7, "address", "'addresses'" },
	};
	struct cni_config c;
	struct cni_error e;
	char json[1024];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct bad_case *bc = &cases[i];

		if (strstr(bc->fragment, "\"name\""))
			snprintf(json, sizeof(json), "{\"cniVersion\":\"1.1.0\",%s}", bc->fragment);
		else
			snprintf(json, sizeof(json), "{" BASE ",%s}", bc->fragment);
		e = (struct cni_error){};
		assert_error(parse_cfg("ADD", json, &c, &e), &e, bc->code, bc->key, bc->value,
			     NULL);
		cni_config_done(&c);
	}
}

static void test_config_null_is_absent(void **state)
{
	struct cni_config c;
	struct cni_error e = {};

	assert_ok(parse_cfg("ADD", "{" BASE "," ENI ",\"mtu\":null,\"routes\":null,\"dns\":null}",
			    &c, &e),
		  &e);
	assert_int_equal(c.mtu, 0);
	assert_null(c.routes);
	cni_config_done(&c);
}

static void test_config_precedence(void **state)
{
	static const char *json =
		"{" BASE ",\"mac\":\"02:00:5e:10:00:0a\",\"addresses\":[\"198.18.1.10/16\"],"
		"\"args\":{\"cni\":{\"mac\":\"02:00:5e:10:00:0b\",\"ips\":[\"198.18.1.11/16\"]}},"
		"\"runtimeConfig\":{\"mac\":\"02:00:5e:10:00:0c\",\"ips\":[\"198.18.1.12/16\","
		"\"2001:db8::12/64\"]}}";
	char *envp[] = { "CNI_COMMAND=ADD",
			 "CNI_CONTAINERID=c",
			 "CNI_NETNS=/n",
			 "CNI_IFNAME=e",
			 "CNI_ARGS=IP=198.18.1.13/16,198.18.1.14/16;MAC=02:00:5e:10:00:0d",
			 NULL };
	char mac[ADDR_MAC_STRLEN], buf[ADDR_PREFIX_STRLEN];
	struct cni_config c;
	struct cni_error e = {};
	struct cni_env env;
	json_auto_t *j = json_loads(json, 0, NULL);
	char *s;

	assert_ok(cni_env_parse(envp, &env, &e), &e);
	/* runtimeConfig wins */
	assert_ok(cni_config_parse(json, strlen(json), &env, &c, &e), &e);
	assert_string_equal(addr_mac_format(c.mac, mac), "02:00:5e:10:00:0c");
	assert_string_equal(c.mac_from, "runtimeConfig.mac");
	assert_int_equal(c.naddrs, 2);
	assert_string_equal(c.addrs_from, "runtimeConfig.ips");
	cni_config_done(&c);
	/* then args.cni */
	json_object_del(j, "runtimeConfig");
	s = json_dumps(j, 0);
	assert_ok(cni_config_parse(s, strlen(s), &env, &c, &e), &e);
	assert_string_equal(addr_mac_format(c.mac, mac), "02:00:5e:10:00:0b");
	assert_string_equal(addr_prefix_format(&c.addrs[0], buf, sizeof(buf)), "198.18.1.11/16");
	cni_config_done(&c);
	free(s);
	/* then CNI_ARGS (ignored when args.cni has the key, as CONVENTIONS.md asks) */
	json_object_del(j, "args");
	s = json_dumps(j, 0);
	assert_ok(cni_config_parse(s, strlen(s), &env, &c, &e), &e);
	assert_string_equal(addr_mac_format(c.mac, mac), "02:00:5e:10:00:0d");
	assert_int_equal(c.naddrs, 2);
	assert_string_equal(addr_prefix_format(&c.addrs[1], buf, sizeof(buf)), "198.18.1.14/16");
	cni_config_done(&c);
	cni_env_done(&env);
	/* and last the configuration's own keys */
	assert_ok(parse_cfg("ADD", s, &c, &e), &e);
	assert_string_equal(addr_mac_format(c.mac, mac), "02:00:5e:10:00:0a");
	assert_string_equal(c.mac_from, "mac");
	cni_config_done(&c);
	free(s);
}

static void test_config_bad_cni_args(void **state)
{
	char *envp[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c",       "CNI_NETNS=/n",
			 "CNI_IFNAME=e",    "CNI_ARGS=IP=198.18.1.13", NULL };
	const char *json = "{" BASE ",\"mac\":\"" MAC1 "\"}";
	struct cni_config c;
	struct cni_error e = {};
	struct cni_env env;

	assert_ok(cni_env_parse(envp, &env, &e), &e);
	assert_error(cni_config_parse(json, strlen(json), &env, &c, &e), &e, CNI_ERR_INVALID_ENV,
		     "CNI_ARGS IP", "198.18.1.13", NULL);
	cni_config_done(&c);
	cni_env_done(&env);
}

static void test_config_del_lenient(void **state)
{
	struct cni_config c;
	struct cni_error e = {};

	/* a config that broke ADD must not block the DEL */
	assert_ok(parse_cfg("DEL", "{" BASE ",\"mtu\":\"big\",\"prevResult\":[]}", &c, &e), &e);
	assert_non_null(strstr(c.ignored, "'mtu'"));
	cni_config_done(&c);
	/* DEL without prevResult, mac or addresses */
	assert_ok(parse_cfg("DEL", "{" BASE "}", &c, &e), &e);
	assert_string_equal(c.ignored, "");
	cni_config_done(&c);
	/* but what DEL uses must be right */
	assert_error(parse_cfg("DEL", "{\"cniVersion\":\"1.1.0\"}", &c, &e), &e,
		     CNI_ERR_INVALID_CONFIG, "'name'", NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("DEL", "{" BASE ",\"socket\":1}", &c, &e), &e,
		     CNI_ERR_INVALID_CONFIG, "'socket'", NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("DEL", "{\"cniVersion\":\"0.3.0\",\"name\":\"n\"}", &c, &e), &e,
		     CNI_ERR_INCOMPATIBLE_VERSION, NULL);
	cni_config_done(&c);
}

static void test_config_check_needs_prev_result(void **state)
{
	struct cni_config c;
	struct cni_error e = {};

	assert_error(parse_cfg("CHECK", "{" BASE "," ENI "}", &c, &e), &e, CNI_ERR_INVALID_CONFIG,
		     "prevResult", NULL);
	cni_config_done(&c);
	assert_ok(parse_cfg("CHECK", "{" BASE "," ENI ",\"prevResult\":{}}", &c, &e), &e);
	assert_non_null(c.prev_result);
	cni_config_done(&c);
}

static void test_config_gc(void **state)
{
	static const char *json =
		"{" BASE
		",\"cni.dev/valid-attachments\":[{\"containerID\":\"a\",\"ifname\":\"eth1\"}],"
		"\"cni.dev/attachments\":[{\"containerID\":\"b\",\"ifname\":\"eth2\"}]}";
	struct cni_config c;
	struct cni_error e = {};

	assert_ok(parse_cfg("GC", json, &c, &e), &e);
	assert_true(cni_gc_attachment_valid(&c, "a", "eth1"));
	assert_true(cni_gc_attachment_valid(&c, "b", "eth2"));
	assert_false(cni_gc_attachment_valid(&c, "a", "eth2"));
	assert_false(cni_gc_attachment_valid(&c, "c", "eth1"));
	cni_config_done(&c);

	/* null (a Go nil slice) or absent: nothing is valid */
	assert_ok(parse_cfg("GC", "{" BASE ",\"cni.dev/valid-attachments\":null}", &c, &e), &e);
	assert_null(c.valid_attachments);
	assert_false(cni_gc_attachment_valid(&c, "a", "eth1"));
	cni_config_done(&c);

	assert_error(parse_cfg("GC",
			       "{" BASE ",\"cni.dev/valid-attachments\":[{\"containerID\":\"a\","
			       "\"ifname\":\"eth1\"},{\"containerID\":\"b\"}]}",
			       &c, &e),
		     &e, CNI_ERR_INVALID_CONFIG, "'cni.dev/valid-attachments[1].ifname'", NULL);
	cni_config_done(&c);
	assert_error(parse_cfg("GC", "{" BASE ",\"cni.dev/attachments\":{}}", &c, &e), &e,
		     CNI_ERR_INVALID_CONFIG, "'cni.dev/attachments'", NULL);
	cni_config_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_add),
		cmocka_unit_test(test_env_command),
		cmocka_unit_test(test_env_missing),
		cmocka_unit_test(test_env_invalid),
		cmocka_unit_test(test_env_args),
		cmocka_unit_test(test_config_minimal),
		cmocka_unit_test(test_config_all_keys),
		cmocka_unit_test(test_config_decode),
		cmocka_unit_test(test_config_version),
		cmocka_unit_test(test_config_bad_values),
		cmocka_unit_test(test_config_null_is_absent),
		cmocka_unit_test(test_config_precedence),
		cmocka_unit_test(test_config_bad_cni_args),
		cmocka_unit_test(test_config_del_lenient),
		cmocka_unit_test(test_config_check_needs_prev_result),
		cmocka_unit_test(test_config_gc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
