// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for cni-plugin/cni.h, part 2: task ids (and the SHA-256 under them), netd's attach
 * parameters, results in each spec version with prevResult passed through, CHECK's comparison,
 * netd's errors in CNI terms, the error object and VERSION.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cni.h"
#include "sha256.h"

#define MAC1  "02:00:5e:10:00:01"
#define NETNS "/run/netns/x"

/* netd's task.show of an attachment, as netd writes it. */
static const char *task_json =
	"{\"task_id\":\"t\",\"phase\":\"READY\",\"netns\":\"" NETNS "\",\"mac\":\"" MAC1 "\","
	"\"ifname\":\"eth1\",\"mtu\":9001,\"block_imds\":true,"
	"\"interfaces\":[{\"name\":\"eth1\",\"mac\":\"" MAC1 "\",\"mtu\":9001,"
	"\"sandbox\":\"" NETNS "\"}],"
	"\"ips\":[{\"address\":\"198.18.1.1/16\",\"gateway\":\"198.18.0.1\",\"interface\":0},"
	"{\"address\":\"2001:db8::1/64\",\"gateway\":\"2001:db8::ffff\",\"interface\":0}],"
	"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"198.18.0.1\",\"kind\":\"default\"},"
	"{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\",\"mtu\":1400,\"table\":100,\"kind\":\"extra\"},"
	"{\"dst\":\"169.254.169.254/32\",\"type\":\"unreachable\",\"kind\":\"imds\"}],"
	"\"metadata\":{\"ifname\":\"md0\",\"host_ifname\":\"tpmd3\",\"address\":\"169.254.172.5\","
	"\"endpoint\":\"169.254.170.2\",\"port\":80},"
	"\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"search\":[\"b.internal\"]},"
	"\"attrs\":{}}";

static char *env_check[] = { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=c1", "CNI_NETNS=" NETNS,
			     "CNI_IFNAME=eth1", NULL };

static void assert_ok(int r, const struct cni_error *e)
{
	if (r < 0)
		fail_msg("unexpected error %d: %s", e->code, e->msg);
}

static json_t *load(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &jerr);

	if (!j)
		fail_msg("bad test JSON: %s: %s", jerr.text, s);
	return j;
}

/* Compare JSON values by their canonical text (keys sorted), showing both on failure. */
static void assert_json_equal(json_t *got, const char *want)
{
	json_auto_t *w = load(want);
	char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	assert_string_equal(g, ws);
	free(g);
	free(ws);
}

/* Parse a configuration for command cmd with the environment of env_check. */
static void parse(const char *cmd, const char *json, struct cni_env *env, struct cni_config *c)
{
	char cmdvar[32];
	char *envp[ARRAY_SIZE(env_check)];
	struct cni_error e = {};

	memcpy(envp, env_check, sizeof(env_check));
	snprintf(cmdvar, sizeof(cmdvar), "CNI_COMMAND=%s", cmd);
	envp[0] = cmdvar;
	assert_ok(cni_env_parse(envp, env, &e), &e);
	assert_ok(cni_config_parse(json, strlen(json), env, c, &e), &e);
}

/* --- SHA-256 and task ids ------------------------------------------------------------------ */

static void hex(const uint8_t *d, char *out)
{
	for (unsigned int i = 0; i < SHA256_DIGEST_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256_vectors(void **state)
{
	/* FIPS 180-4 examples (NIST CSRC) */
	static const struct {
		const char *in;
		const char *out;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	uint8_t d[SHA256_DIGEST_LEN];
	char out[2 * SHA256_DIGEST_LEN + 1];
	struct sha256_ctx h;
	char block[1000];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		sha256_init(&h);
		sha256_update(&h, v[i].in, strlen(v[i].in));
		sha256_final(&h, d);
		hex(d, out);
		assert_string_equal(out, v[i].out);
	}
	/* one million 'a', fed in pieces that straddle block boundaries */
	memset(block, 'a', sizeof(block));
	sha256_init(&h);
	for (int i = 0; i < 1000; i++)
		sha256_update(&h, block, sizeof(block));
	sha256_final(&h, d);
	hex(d, out);
	assert_string_equal(out,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_task_id(void **state)
{
	char a[IDENT_TASK_ID_MAX + 1], b[IDENT_TASK_ID_MAX + 1], longname[200], longcid[300];

	assert_int_equal(cni_task_id("tasks", "c1", "eth1", a, sizeof(a)), 0);
	assert_true(ident_task_id_valid(a));
	assert_int_equal(strncmp(a, "cni.tasks.c1.", 13), 0);
	assert_int_equal(strlen(a), 13 + 32);
	/* the same attachment always maps to the same task */
	assert_int_equal(cni_task_id("tasks", "c1", "eth1", b, sizeof(b)), 0);
	assert_string_equal(a, b);
	/* and any other attachment to another */
	assert_int_equal(cni_task_id("tasks", "c1", "eth2", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(cni_task_id("other", "c1", "eth1", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(cni_task_id("a", "bc", "eth1", a, sizeof(a)), 0);
	assert_int_equal(cni_task_id("ab", "c", "eth1", b, sizeof(b)), 0);
	assert_string_not_equal(a + strlen(a) - 32, b + strlen(b) - 32);
	/* containers ids that share their first 12 characters still differ */
	assert_int_equal(cni_task_id("n", "0123456789abX", "eth1", a, sizeof(a)), 0);
	assert_int_equal(cni_task_id("n", "0123456789abY", "eth1", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	/* long names and ids, and odd interface names, still give a valid id */
	memset(longname, 'n', 128);
	longname[128] = '\0';
	memset(longcid, 'c', 256);
	longcid[256] = '\0';
	assert_int_equal(cni_task_id(longname, longcid, "e:%/x", a, sizeof(a)), 0);
	assert_true(ident_task_id_valid(a));
	assert_true(strlen(a) <= IDENT_TASK_ID_MAX);
	assert_int_equal(cni_task_id("tasks", "c1", "eth1", a, 10), -ENAMETOOLONG);
}

/* --- netd's attach parameters -------------------------------------------------------------- */

static void test_attach_params(void **state)
{
	struct cni_config c;
	struct cni_env env;
	json_auto_t *p = NULL;

	parse("ADD",
	      "{\"cniVersion\":\"1.0.0\",\"name\":\"tasks\",\"mac\":\"02:00:5E:10:00:01\","
	      "\"addresses\":[\"198.18.1.1/16\"],\"eniTimeoutMs\":2500}",
	      &env, &c);
	p = cni_attach_params(&c, &env, "cni.t");
	assert_json_equal(p, "{\"task_id\":\"cni.t\",\"netns\":\"" NETNS "\",\"mac\":\"" MAC1 "\","
			     "\"ifname\":\"eth1\",\"addresses\":[\"198.18.1.1/16\"],"
			     "\"block_imds\":true,\"timeout_ms\":2500,"
			     "\"attrs\":{\"cni.network\":\"tasks\",\"cni.container_id\":\"c1\","
			     "\"cni.ifname\":\"eth1\"}}");
	cni_config_done(&c);
	cni_env_done(&env);
	json_decref(p);

	parse("ADD",
	      "{\"cniVersion\":\"1.1.0\",\"name\":\"tasks\",\"mac\":\"" MAC1 "\","
	      "\"addresses\":[\"198.18.1.1/16\"],\"mtu\":1500,\"blockInstanceMetadata\":false,"
	      "\"metadataLink\":false,\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\"}],"
	      "\"dns\":{\"nameservers\":[\"198.18.0.2\"]}}",
	      &env, &c);
	p = cni_attach_params(&c, &env, "cni.t");
	assert_json_equal(json_object_get(p, "mtu"), "1500");
	assert_json_equal(json_object_get(p, "block_imds"), "false");
	assert_json_equal(json_object_get(p, "metadata_link"), "false");
	assert_json_equal(json_object_get(p, "routes"),
			  "[{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\"}]");
	assert_json_equal(json_object_get(p, "dns"), "{\"nameservers\":[\"198.18.0.2\"]}");
	assert_json_equal(json_object_get(p, "resolv_conf"), "false");
	cni_config_done(&c);
	cni_env_done(&env);
}

/* --- results ------------------------------------------------------------------------------- */

#define ETH1_110 "{\"name\":\"eth1\",\"mac\":\"" MAC1 "\",\"mtu\":9001,\"sandbox\":\"" NETNS "\"}"
#define ETH1_OLD "{\"name\":\"eth1\",\"mac\":\"" MAC1 "\",\"sandbox\":\"" NETNS "\"}"

static void build(const char *version, const char *prev, json_t **ret)
{
	char json[4096];
	struct cni_config c;
	struct cni_error e = {};
	struct cni_env env;
	json_auto_t *task = load(task_json);

	snprintf(json, sizeof(json),
		 "{\"cniVersion\":\"%s\",\"name\":\"tasks\",\"mac\":\"" MAC1 "\","
		 "\"addresses\":[\"198.18.1.1/16\"]%s%s}",
		 version, prev ? ",\"prevResult\":" : "", prev ?: "");
	parse("ADD", json, &env, &c);
	assert_ok(cni_result_build(&c, task, ret, &e), &e);
	cni_config_done(&c);
	cni_env_done(&env);
}

static void test_result_110(void **state)
{
	json_auto_t *r = NULL;

	build("1.1.0", NULL, &r);
	/* the IMDS block (an unreachable route) and the metadata link are left out */
	assert_json_equal(
		r,
		"{\"cniVersion\":\"1.1.0\",\"interfaces\":[" ETH1_110 "],"
		"\"ips\":[{\"address\":\"198.18.1.1/16\",\"gateway\":\"198.18.0.1\",\"interface\":0},"
		"{\"address\":\"2001:db8::1/64\",\"gateway\":\"2001:db8::ffff\",\"interface\":0}],"
		"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"198.18.0.1\"},"
		"{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\",\"mtu\":1400,\"table\":100}],"
		"\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"search\":[\"b.internal\"]}}");
}

static void test_result_100(void **state)
{
	json_auto_t *r = NULL;

	build("1.0.0", NULL, &r);
	/* no interface MTU, no route mtu/table before 1.1.0 */
	assert_json_equal(
		r,
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[" ETH1_OLD "],"
		"\"ips\":[{\"address\":\"198.18.1.1/16\",\"gateway\":\"198.18.0.1\",\"interface\":0},"
		"{\"address\":\"2001:db8::1/64\",\"gateway\":\"2001:db8::ffff\",\"interface\":0}],"
		"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"198.18.0.1\"},"
		"{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\"}],"
		"\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"search\":[\"b.internal\"]}}");
}

static void test_result_040(void **state)
{
	json_auto_t *r = NULL;

	build("0.4.0", NULL, &r);
	/* 0.4.0 names each address's IP version */
	assert_json_equal(
		r,
		"{\"cniVersion\":\"0.4.0\",\"interfaces\":[" ETH1_OLD "],"
		"\"ips\":[{\"version\":\"4\",\"address\":\"198.18.1.1/16\",\"gateway\":\"198.18.0.1\","
		"\"interface\":0},{\"version\":\"6\",\"address\":\"2001:db8::1/64\","
		"\"gateway\":\"2001:db8::ffff\",\"interface\":0}],"
		"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"198.18.0.1\"},"
		"{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\"}],"
		"\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"search\":[\"b.internal\"]}}");
}

static void test_result_prev_result(void **state)
{
	/* an earlier plugin's result, in 0.4.0 */
	static const char *prev =
		"{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"0a:58:00:00:00:01\","
		"\"sandbox\":\"" NETNS "\"},{\"name\":\"veth1\"}],"
		"\"ips\":[{\"version\":\"4\",\"address\":\"169.254.100.2/24\",\"gateway\":"
		"\"169.254.100.1\",\"interface\":0}],"
		"\"routes\":[{\"dst\":\"169.254.100.0/24\"}],"
		"\"dns\":{\"nameservers\":[\"169.254.100.1\",\"198.18.0.2\"],\"domain\":\"x\"}}";
	json_auto_t *r = NULL;
	json_t *ifaces, *ips;

	build("0.4.0", prev, &r);
	ifaces = json_object_get(r, "interfaces");
	ips = json_object_get(r, "ips");
	/* prevResult first, unchanged; ours appended, and our addresses point at our interface */
	assert_int_equal(json_array_size(ifaces), 3);
	assert_json_equal(json_array_get(ifaces, 0),
			  "{\"name\":\"eth0\",\"mac\":\"0a:58:00:00:00:01\",\"sandbox\":\"" NETNS
			  "\"}");
	assert_json_equal(json_array_get(ifaces, 1), "{\"name\":\"veth1\"}");
	assert_json_equal(json_object_get(json_array_get(ifaces, 2), "name"), "\"eth1\"");
	assert_json_equal(json_array_get(ips, 0),
			  "{\"version\":\"4\",\"address\":\"169.254.100.2/24\","
			  "\"gateway\":\"169.254.100.1\",\"interface\":0}");
	assert_json_equal(json_object_get(json_array_get(ips, 1), "interface"), "2");
	assert_json_equal(json_object_get(json_array_get(ips, 2), "interface"), "2");
	assert_int_equal(json_array_size(ips), 3);
	assert_json_equal(json_array_get(json_object_get(r, "routes"), 0),
			  "{\"dst\":\"169.254.100.0/24\"}");
	/* DNS: the earlier plugin's, with ours added once */
	assert_json_equal(json_object_get(r, "dns"),
			  "{\"nameservers\":[\"169.254.100.1\",\"198.18.0.2\"],\"domain\":\"x\","
			  "\"search\":[\"b.internal\"]}");
}

static void test_result_canonical_roundtrip(void **state)
{
	static const char *r040 =
		"{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth1\",\"sandbox\":\"/n\"}],"
		"\"ips\":[{\"version\":\"6\",\"address\":\"2001:db8::1/64\",\"interface\":0}],"
		"\"routes\":[],\"dns\":{}}";
	static const char *r110 =
		"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth1\",\"mtu\":1500,"
		"\"socketPath\":\"/s\",\"pciID\":\"0000:00:01.0\",\"extra\":1}],"
		"\"ips\":[],\"routes\":[{\"dst\":\"10.0.0.0/8\",\"scope\":253,\"advmss\":1300,"
		"\"priority\":5}],\"dns\":{\"options\":[\"a\"],\"junk\":1}}";
	json_auto_t *in = load(r040), *in2 = load(r110), *canon = NULL, *canon2 = NULL;
	json_auto_t *out = NULL, *out2 = NULL, *out3 = NULL;
	struct cni_error e = {};

	assert_ok(cni_result_canonical(in, CNI_VERSION_0_4_0, &canon, &e), &e);
	assert_null(json_object_get(json_array_get(json_object_get(canon, "ips"), 0), "version"));
	out = cni_result_convert(canon, CNI_VERSION_0_4_0);
	assert_json_equal(out, r040);

	assert_ok(cni_result_canonical(in2, CNI_VERSION_1_1_0, &canon2, &e), &e);
	out2 = cni_result_convert(canon2, CNI_VERSION_1_1_0);
	/* only the spec's fields come out */
	assert_json_equal(out2, "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth1\","
				"\"mtu\":1500,\"socketPath\":\"/s\",\"pciID\":\"0000:00:01.0\"}],"
				"\"ips\":[],\"routes\":[{\"dst\":\"10.0.0.0/8\",\"scope\":253,"
				"\"advmss\":1300,\"priority\":5}],\"dns\":{\"options\":[\"a\"]}}");
	out3 = cni_result_convert(canon2, CNI_VERSION_1_0_0);
	assert_json_equal(out3, "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth1\"}],"
				"\"ips\":[],\"routes\":[{\"dst\":\"10.0.0.0/8\"}],"
				"\"dns\":{\"options\":[\"a\"]}}");
}

static void test_result_canonical_errors(void **state)
{
	static const char *bad[] = {
		"[]",
		"{\"interfaces\":{}}",
		"{\"interfaces\":[{\"mac\":\"x\"}]}",
		"{\"ips\":[{\"address\":\"198.18.1.1\"}]}",
		"{\"ips\":[{\"address\":\"198.18.1.1/16\",\"interface\":\"0\"}]}",
		"{\"ips\":[{\"address\":\"198.18.1.1/16\",\"interface\":-1}]}",
		"{\"routes\":[{\"gw\":\"198.18.0.1\"}]}",
		"{\"dns\":[]}",
	};
	struct cni_error e;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_auto_t *in = load(bad[i]), *out = NULL;

		e = (struct cni_error){};
		assert_int_equal(cni_result_canonical(in, CNI_VERSION_1_0_0, &out, &e), -EINVAL);
		assert_int_equal(e.code, CNI_ERR_INVALID_CONFIG);
		assert_non_null(strstr(e.msg, "prevResult"));
		assert_null(out);
	}
}

static void test_result_bad_task(void **state)
{
	struct cni_config c;
	struct cni_error e = {};
	struct cni_env env;
	json_auto_t *task = load("{\"ips\":[]}");
	json_t *r = NULL;

	parse("ADD",
	      "{\"cniVersion\":\"1.1.0\",\"name\":\"tasks\",\"mac\":\"" MAC1
	      "\",\"addresses\":[\"198.18.1.1/16\"]}",
	      &env, &c);
	assert_int_equal(cni_result_build(&c, task, &r, &e), -EINVAL);
	assert_int_equal(e.code, CNI_ERR_NETD);
	cni_config_done(&c);
	cni_env_done(&env);
}

/* --- CHECK --------------------------------------------------------------------------------- */

/* CHECK with the given prevResult (a 1.1.0 result), config extras and netd check differences. */
static json_t *check(const char *prev, const char *extra, const char *netd_diffs)
{
	char json[4096], nd[1024];
	struct cni_config c;
	struct cni_env env;
	json_auto_t *task = load(task_json), *nc = NULL;
	json_t *diffs = NULL;

	snprintf(json, sizeof(json),
		 "{\"cniVersion\":\"1.1.0\",\"name\":\"tasks\",\"mac\":\"" MAC1 "\","
		 "\"addresses\":[\"198.18.1.1/16\",\"2001:db8::1/64\"]%s,\"prevResult\":%s}",
		 extra, prev);
	snprintf(nd, sizeof(nd), "{\"ok\":false,\"differences\":%s}", netd_diffs);
	nc = load(nd);
	parse("CHECK", json, &env, &c);
	assert_int_equal(cni_check_compare(&c, &env, task, nc, &diffs), 0);
	cni_config_done(&c);
	cni_env_done(&env);
	return diffs;
}

/* The ADD result of the sample task, as a string, to use as prevResult. */
static char *add_result(const char *version)
{
	json_auto_t *r = NULL;

	build(version, NULL, &r);
	return json_dumps(r, JSON_COMPACT);
}

static void test_check_agree(void **state)
{
	char *prev = add_result("1.1.0");
	json_auto_t *d = check(prev, "", "[]");

	assert_json_equal(d, "[]");
	free(prev);
}

static void test_check_netd_differences(void **state)
{
	char *prev = add_result("1.1.0");
	json_auto_t *d = check(
		prev, "",
		"[{\"what\":\"mtu\",\"expected\":\"9001\",\"actual\":\"1500\"},"
		"{\"what\":\"guards\",\"expected\":\"imds reject\",\"actual\":\"missing\"},"
		"{\"what\":\"route\",\"expected\":\"10.0.0.0/8 via 198.18.0.9 table 100 mtu 1400\","
		"\"actual\":\"missing\"},"
		"{\"what\":\"route\",\"expected\":\"default via 198.18.0.1\",\"actual\":\"missing\"}]");

	/* The link's MTU is not verified: a later plugin may have set it. */
	assert_json_equal(d,
			  "[\"guards: expected imds reject, actual missing\","
			  "\"route: expected 10.0.0.0/8 via 198.18.0.9 table 100 mtu 1400, actual "
			  "missing\",\"route: expected default via 198.18.0.1, actual missing\"]");
	free(prev);
}

static void test_check_later_plugin_changes(void **state)
{
	/* a later plugin set the MTU to 1500 and said so, and took the extra route out */
	json_auto_t *r = NULL, *d = NULL;
	char *prev;

	build("1.1.0", NULL, &r);
	json_object_set_new(json_array_get(json_object_get(r, "interfaces"), 0), "mtu",
			    json_integer(1500));
	json_array_remove(json_object_get(r, "routes"), 1);
	prev = json_dumps(r, JSON_COMPACT);
	d = check(prev, "",
		  "[{\"what\":\"mtu\",\"expected\":\"9001\",\"actual\":\"1500\"},"
		  "{\"what\":\"route\",\"expected\":\"10.0.0.0/8 via 198.18.0.9 table 100\","
		  "\"actual\":\"missing\"}]");
	assert_json_equal(d, "[]");
	free(prev);
	/*
	 * Nor an MTU nobody reported (Debian's tuning sets it and passes the result through
	 * unchanged; 0.4.0 and 1.0.0 results cannot carry it)...
	 */
	json_decref(d);
	d = check(prev = add_result("1.1.0"), "",
		  "[{\"what\":\"mtu\",\"expected\":\"9001\",\"actual\":\"1400\"}]");
	assert_json_equal(d, "[]");
	free(prev);
	/* ... but a route the result still lists, the link, its addresses and the guards do. */
	json_decref(d);
	d = check(
		prev = add_result("1.1.0"), "",
		"[{\"what\":\"mtu\",\"expected\":\"9001\",\"actual\":\"1400\"},"
		"{\"what\":\"route\",\"expected\":\"default via 198.18.0.1\",\"actual\":\"missing\"},"
		"{\"what\":\"link\",\"expected\":\"up\",\"actual\":\"down\"},"
		"{\"what\":\"address\",\"expected\":\"198.18.1.1/16\",\"actual\":\"missing\"}]");
	assert_int_equal(json_array_size(d), 3);
	free(prev);
}

static void test_check_prev_result(void **state)
{
	json_auto_t *r = NULL, *d = NULL;
	json_t *eth1;
	char *prev;

	/* no interface of ours in prevResult */
	d = check("{\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"" NETNS "\"}]}", "", "[]");
	assert_int_equal(json_array_size(d), 1);
	assert_non_null(strstr(json_string_value(json_array_get(d, 0)), "no interface 'eth1'"));
	json_decref(d);

	/* another MAC, an address missing */
	build("1.1.0", NULL, &r);
	eth1 = json_array_get(json_object_get(r, "interfaces"), 0);
	json_object_set_new(eth1, "mac", json_string("02:00:5e:10:00:99"));
	json_array_remove(json_object_get(r, "ips"), 1);
	prev = json_dumps(r, JSON_COMPACT);
	d = check(prev, "", "[]");
	free(prev);
	assert_json_equal(d, "[\"prevResult: interface 'eth1' has MAC 02:00:5e:10:00:99, netd's "
			     "record " MAC1 "\",\"prevResult: address 2001:db8::1/64 of 'eth1' is "
			     "missing\"]");
}

static void test_check_record(void **state)
{
	char *prev = add_result("1.1.0");
	json_auto_t *d = NULL;
	char json[4096];
	struct cni_config c;
	struct cni_env env;
	json_auto_t *task = load(task_json), *nc = load("{\"differences\":[]}");

	/* the configuration no longer matches what netd attached */
	snprintf(json, sizeof(json),
		 "{\"cniVersion\":\"1.1.0\",\"name\":\"tasks\",\"mac\":\"02:00:5e:10:00:02\","
		 "\"addresses\":[\"198.18.1.2/16\"],\"mtu\":1500,\"blockInstanceMetadata\":false,"
		 "\"prevResult\":%s}",
		 prev);
	parse("CHECK", json, &env, &c);
	assert_int_equal(cni_check_compare(&c, &env, task, nc, &d), 0);
	assert_json_equal(d, "[\"mac: mac is 02:00:5e:10:00:02, netd's record " MAC1 "\","
			     "\"mtu: the configuration has 1500, netd's record 9001\","
			     "\"blockInstanceMetadata: the configuration has false, netd's record "
			     "true\","
			     "\"address 198.18.1.2/16 (addresses): not in netd's record\","
			     "\"address 198.18.1.1/16: in netd's record, not in addresses\","
			     "\"address 2001:db8::1/64: in netd's record, not in addresses\"]");
	cni_config_done(&c);
	cni_env_done(&env);
	free(prev);
}

/* --- ADD of an attachment netd holds already ---------------------------------------------- */

/* The differences between an ADD with config extras and the sample task. */
static json_t *add_again(const char *extra)
{
	char json[2048];
	struct cni_config c;
	struct cni_env env;
	json_auto_t *task = load(task_json);
	json_t *diffs = NULL;

	snprintf(json, sizeof(json),
		 "{\"cniVersion\":\"1.1.0\",\"name\":\"tasks\",\"mac\":\"" MAC1 "\","
		 "\"addresses\":[\"2001:db8::1/64\",\"198.18.1.1/16\"]%s}",
		 extra);
	parse("ADD", json, &env, &c);
	assert_int_equal(cni_add_compare(&c, &env, task, &diffs), 0);
	cni_config_done(&c);
	cni_env_done(&env);
	return diffs;
}

#define SAME_ROUTES                                                                                \
	",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\",\"mtu\":1400,\"table\":100}]"
#define SAME_DNS ",\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"search\":[\"b.internal\"]}"

static void test_add_same(void **state)
{
	json_auto_t *d = add_again(SAME_ROUTES SAME_DNS);

	/* The same attachment; addresses in another order, mtu and the booleans at netd's default. */
	assert_json_equal(d, "[]");
	json_decref(d);
	d = add_again(SAME_ROUTES SAME_DNS ",\"mtu\":9001,\"blockInstanceMetadata\":true,"
					   "\"metadataLink\":true");
	assert_json_equal(d, "[]");
}

static void test_add_different(void **state)
{
	json_auto_t *d = NULL;

	d = add_again(SAME_ROUTES SAME_DNS ",\"mtu\":1500,\"metadataLink\":false");
	assert_json_equal(d, "[\"mtu: the configuration has 1500, netd's record 9001\","
			     "\"metadataLink: the configuration has false, netd's record true\"]");
	json_decref(d);
	/* other routes, no DNS */
	d = add_again(",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"198.18.0.9\",\"table\":100}]");
	assert_json_equal(d, "[\"route 10.0.0.0/8: not in netd's record\","
			     "\"dns: not the one in netd's record\"]");
	json_decref(d);
	d = add_again(SAME_DNS);
	assert_json_equal(d, "[\"routes: the configuration has 0, netd's record 1\"]");
	json_decref(d);
	/* another address: the record's is not asked for, the new one is not there */
	d = add_again(SAME_ROUTES SAME_DNS ",\"runtimeConfig\":{\"ips\":[\"198.18.1.9/16\"]}");
	assert_json_equal(
		d, "[\"address 198.18.1.9/16 (runtimeConfig.ips): not in netd's record\","
		   "\"address 198.18.1.1/16: in netd's record, not in runtimeConfig.ips\","
		   "\"address 2001:db8::1/64: in netd's record, not in runtimeConfig.ips\"]");
}

/* --- errors and VERSION -------------------------------------------------------------------- */

static void netd_error(int code, const char *errname, int want, const char *want_details)
{
	struct ctl_error ce = {};
	struct cni_error e = {};

	ctl_error_set(&ce, code, errname ? json_pack("{s:s}", "errno", errname) : NULL,
		      "Something '%s'", "x");
	cni_error_from_netd(-EPROTO, &ce, "attach", "/run/netd/netd.sock", &e);
	assert_int_equal(e.code, want);
	assert_string_equal(e.msg, "netd refused the attach: Something 'x'");
	assert_string_equal(e.details, want_details);
	ctl_error_done(&ce);
}

static void test_error_from_netd(void **state)
{
	struct cni_error e = {};

	netd_error(CTL_ERR_TIMEOUT, "ETIMEDOUT", 11, "netd error -32004 (ETIMEDOUT)");
	netd_error(CTL_ERR_BUSY, NULL, 11, "netd error -32005");
	netd_error(CTL_ERR_UNAVAILABLE, NULL, 11, "netd error -32009");
	netd_error(CTL_ERR_INVALID_PARAMS, "EINVAL", 7, "netd error -32602 (EINVAL)");
	netd_error(CTL_ERR_NOT_FOUND, "ENOENT", 7, "netd error -32001 (ENOENT)");
	netd_error(CTL_ERR_EXISTS, "EEXIST", 101, "netd error -32002 (EEXIST)");
	netd_error(CTL_ERR_KERNEL, "EPERM", 100, "netd error -32006 (EPERM)");
	netd_error(CTL_ERR_PERMISSION, "EACCES", 100, "netd error -32003 (EACCES)");
	netd_error(CTL_ERR_CANCELLED, NULL, 100, "netd error -32008");
	/* a detach gets no parameter from the configuration: netd failed */
	{
		struct ctl_error ce = {};

		ctl_error_set(&ce, CTL_ERR_INVALID_PARAMS, NULL, "Failed to open namespace");
		cni_error_from_netd(-EPROTO, &ce, "detach", "/s", &e);
		assert_int_equal(e.code, CNI_ERR_NETD);
		ctl_error_done(&ce);
	}
	/* no answer at all: try again later */
	cni_error_from_netd(-ECONNRESET, NULL, "detach", "/s", &e);
	assert_int_equal(e.code, 11);
	assert_non_null(strstr(e.msg, "'/s'"));
	assert_non_null(strstr(e.msg, "detach"));
}

static void test_error_object(void **state)
{
	struct cni_error e = {};
	json_auto_t *j = NULL, *k = NULL;

	cni_error_set(&e, 7, NULL, "Invalid value for '%s'", "mtu");
	j = cni_error_to_json(&e, "1.0.0");
	assert_json_equal(j, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"Invalid value for "
			     "'mtu'\"}");
	cni_error_set(&e, 11, "/run/netd/netd.sock", "netd cannot be reached");
	k = cni_error_to_json(&e, NULL);
	assert_json_equal(k, "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"netd cannot be "
			     "reached\",\"details\":\"/run/netd/netd.sock\"}");
}

static void test_version_info(void **state)
{
	json_auto_t *a = cni_version_info("1.0.0"), *b = cni_version_info("0.3.1"),
		    *c = cni_version_info(NULL);

	assert_json_equal(a, "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\","
			     "\"1.0.0\",\"1.1.0\"]}");
	assert_json_equal(json_object_get(b, "cniVersion"), "\"1.1.0\"");
	assert_json_equal(json_object_get(c, "cniVersion"), "\"1.1.0\"");
	assert_int_equal(cni_version_from_string("1.1.0"), CNI_VERSION_1_1_0);
	assert_int_equal(cni_version_from_string("1.1"), -EPROTONOSUPPORT);
	assert_int_equal(cni_command_from_string("GC"), CNI_COMMAND_GC);
	assert_int_equal(cni_command_from_string("gc"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_task_id),
		cmocka_unit_test(test_attach_params),
		cmocka_unit_test(test_result_110),
		cmocka_unit_test(test_result_100),
		cmocka_unit_test(test_result_040),
		cmocka_unit_test(test_result_prev_result),
		cmocka_unit_test(test_result_canonical_roundtrip),
		cmocka_unit_test(test_result_canonical_errors),
		cmocka_unit_test(test_result_bad_task),
		cmocka_unit_test(test_check_agree),
		cmocka_unit_test(test_check_netd_differences),
		cmocka_unit_test(test_check_later_plugin_changes),
		cmocka_unit_test(test_check_prev_result),
		cmocka_unit_test(test_check_record),
		cmocka_unit_test(test_add_same),
		cmocka_unit_test(test_add_different),
		cmocka_unit_test(test_error_from_netd),
		cmocka_unit_test(test_error_object),
		cmocka_unit_test(test_version_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
