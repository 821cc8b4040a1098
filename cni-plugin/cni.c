// SPDX-License-Identifier: GPL-2.0-only
/*
 * task-eni's CNI side, without I/O: environment and configuration parsing with the spec's error
 * codes, netd's task turned into a result in the caller's spec version, prevResult passed
 * through, CHECK's comparison and GC's list of valid attachments.
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cni.h"
#include "log.h"
#include "sha256.h"

static const char *const command_names[] = {
	[CNI_COMMAND_ADD] = "ADD",     [CNI_COMMAND_DEL] = "DEL",
	[CNI_COMMAND_CHECK] = "CHECK", [CNI_COMMAND_STATUS] = "STATUS",
	[CNI_COMMAND_GC] = "GC",       [CNI_COMMAND_VERSION] = "VERSION",
};

static const char *const version_names[] = {
	[CNI_VERSION_0_4_0] = "0.4.0",
	[CNI_VERSION_1_0_0] = "1.0.0",
	[CNI_VERSION_1_1_0] = "1.1.0",
};

#define SUPPORTED_VERSIONS "0.4.0, 1.0.0, 1.1.0"

int cni_command_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(command_names); i++)
		if (streq(command_names[i], s))
			return (int)i;
	return -EINVAL;
}

const char *cni_command_to_string(enum cni_command c)
{
	return (size_t)c < ARRAY_SIZE(command_names) ? command_names[c] : "?";
}

int cni_version_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(version_names); i++)
		if (streq(version_names[i], s))
			return (int)i;
	return -EPROTONOSUPPORT;
}

const char *cni_version_to_string(enum cni_version v)
{
	return (size_t)v < ARRAY_SIZE(version_names) ? version_names[v] : "?";
}

/* --- errors -------------------------------------------------------------------------------- */

int cni_error_set(struct cni_error *e, int code, const char *details, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->details, sizeof(e->details), "%s", details ?: "");
	return -EINVAL;
}

json_t *cni_error_to_json(const struct cni_error *e, const char *version)
{
	json_t *j;

	j = json_pack("{s:s, s:i, s:s}", "cniVersion", version ?: "1.1.0", "code", e->code, "msg",
		      e->msg);
	if (j && e->details[0])
		json_object_set_new(j, "details", json_string(e->details));
	return j;
}

int cni_error_from_netd(int r, const struct ctl_error *ce, const char *what, const char *socket,
			struct cni_error *e)
{
	const char *msg = ce && ce->message ? ce->message : "";
	char details[200];
	int code;

	if (r != -EPROTO || !ce)
		return cni_error_set(e, CNI_ERR_TRY_AGAIN, socket,
				     "netd did not answer the %s request at '%s': %s%s%s", what,
				     socket, strerror(r < 0 ? -r : EIO), *msg ? ": " : "", msg);

	switch (ce->code) {
	case CTL_ERR_TIMEOUT:	  /* the ENI did not appear by the deadline */
	case CTL_ERR_BUSY:	  /* ENI held by a task that is going, or a task in transition */
	case CTL_ERR_UNAVAILABLE: /* netd is shutting down */
		code = CNI_ERR_TRY_AGAIN;
		break;
	case CTL_ERR_INVALID_PARAMS: /* netd names the parameter */
	case CTL_ERR_NOT_FOUND:	     /* an ENI that is not registered */
		/* Only an attach carries parameters from the configuration. */
		code = streq(what, "attach") ? CNI_ERR_INVALID_CONFIG : CNI_ERR_NETD;
		break;
	case CTL_ERR_EXISTS:
		code = CNI_ERR_EXISTS;
		break;
	default:
		code = CNI_ERR_NETD;
		break;
	}
	if (ctl_error_errno(ce))
		snprintf(details, sizeof(details), "netd error %d (%s)", ce->code,
			 ctl_errno_name(ctl_error_errno(ce)));
	else
		snprintf(details, sizeof(details), "netd error %d", ce->code);
	return cni_error_set(e, code, details, "netd refused the %s: %s", what, msg);
}

/* A JSON value shortened for a message. */
static const char *jtext(json_t *v, char *buf, size_t size)
{
	char *s;

	if (!v)
		return "(missing)";
	if (json_is_string(v)) {
		snprintf(buf, size, "'%.*s'", (int)MIN(size - 3, (size_t)200),
			 json_string_value(v));
		return buf;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(buf, size, "%.*s%s", (int)MIN(size - 4, (size_t)120), s ?: "?",
		 s && strlen(s) > 120 ? "..." : "");
	free(s);
	return buf;
}

/* Error 7 naming the key and its value. */
static int bad_value(struct cni_error *e, const char *key, json_t *v, const char *want)
{
	char buf[160];

	return cni_error_set(e, CNI_ERR_INVALID_CONFIG, NULL, "Invalid value for '%s': %s (%s)",
			     key, jtext(v, buf, sizeof(buf)), want);
}

/* --- environment --------------------------------------------------------------------------- */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The spec's container id: an alphanumeric, then alphanumerics, '_', '.', '-'. */
static bool container_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CNI_MAX_CONTAINER_ID || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* CNI_ARGS "K=V;K2=V2": IP and MAC are used, other keys are ignored (IgnoreUnknown or not). */
static int env_parse_args(struct cni_env *env, struct cni_error *e)
{
	char *p, *save = NULL;

	env->args_buf = strdup(env->args);
	if (!env->args_buf)
		return -ENOMEM;
	for (p = strtok_r(env->args_buf, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(p, '=');

		if (!eq || eq == p)
			return cni_error_set(e, CNI_ERR_INVALID_ENV, NULL,
					     "CNI_ARGS: '%.64s' is not KEY=VALUE (in '%.200s')", p,
					     env->args);
		*eq = '\0';
		if (streq(p, "IP"))
			env->arg_ip = eq + 1;
		else if (streq(p, "MAC"))
			env->arg_mac = eq + 1;
	}
	return 0;
}

int cni_env_parse(char *const *envp, struct cni_env *ret, struct cni_error *e)
{
	struct cni_env env = {};
	const char *cmd, *v;
	char missing[128] = "";
	bool need_netns;
	int r;

	*ret = env;
	cmd = env_get(envp, "CNI_COMMAND");
	if (!cmd || !*cmd)
		return cni_error_set(
			e, CNI_ERR_INVALID_ENV, NULL,
			"CNI_COMMAND is not set (want ADD, DEL, CHECK, STATUS, GC or VERSION)");
	r = cni_command_from_string(cmd);
	if (r < 0)
		return cni_error_set(
			e, CNI_ERR_INVALID_ENV, NULL,
			"CNI_COMMAND '%.32s' is not one of ADD, DEL, CHECK, STATUS, GC, VERSION",
			cmd);
	env.command = (enum cni_command)r;

	v = env_get(envp, "CNI_CONTAINERID");
	env.container_id = v && *v ? v : NULL;
	v = env_get(envp, "CNI_NETNS");
	env.netns = v && *v ? v : NULL;
	v = env_get(envp, "CNI_IFNAME");
	env.ifname = v && *v ? v : NULL;
	v = env_get(envp, "CNI_PATH");
	env.path = v && *v ? v : NULL;
	v = env_get(envp, "CNI_ARGS");
	env.args = v && *v ? v : NULL;

	if (env.command != CNI_COMMAND_ADD && env.command != CNI_COMMAND_DEL &&
	    env.command != CNI_COMMAND_CHECK) {
		*ret = env;
		return 0;
	}
	/* DEL may come with the namespace gone and CNI_NETNS empty. */
	need_netns = env.command != CNI_COMMAND_DEL;
	if (!env.container_id)
		strcat(missing, ", CNI_CONTAINERID");
	if (need_netns && !env.netns)
		strcat(missing, ", CNI_NETNS");
	if (!env.ifname)
		strcat(missing, ", CNI_IFNAME");
	if (missing[0])
		return cni_error_set(e, CNI_ERR_INVALID_ENV, NULL, "%s needs %s", cmd, missing + 2);
	if (!container_id_valid(env.container_id))
		return cni_error_set(
			e, CNI_ERR_INVALID_ENV, NULL,
			"CNI_CONTAINERID '%.64s' is invalid (1-%d characters: a letter or digit, then letters, digits, '_', '.', '-')",
			env.container_id, CNI_MAX_CONTAINER_ID);
	if (!ident_ifname_valid(env.ifname))
		return cni_error_set(e, CNI_ERR_INVALID_ENV, NULL,
				     "CNI_IFNAME '%.32s' is not a valid interface name",
				     env.ifname);
	if (need_netns && env.netns[0] != '/')
		return cni_error_set(e, CNI_ERR_INVALID_ENV, NULL,
				     "CNI_NETNS '%.200s' is not an absolute path", env.netns);
	if (env.args && env.command != CNI_COMMAND_DEL) {
		r = env_parse_args(&env, e);
		if (r < 0) {
			cni_env_done(&env);
			return r;
		}
	}
	*ret = env;
	return 0;
}

void cni_env_done(struct cni_env *env)
{
	free(env->args_buf);
	env->args_buf = NULL;
}

/* --- configuration ------------------------------------------------------------------------- */

/* Network names as the spec has them: an alphanumeric, then alphanumerics, '_', '.', '-'. */
static bool network_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CNI_MAX_NAME || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static int get_uint(json_t *v, const char *key, uint32_t min, uint32_t max, uint32_t *ret,
		    struct cni_error *e)
{
	char want[64];
	json_int_t n;

	snprintf(want, sizeof(want), "an integer %u..%u", min, max);
	if (!json_is_integer(v))
		return bad_value(e, key, v, want);
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return bad_value(e, key, v, want);
	*ret = (uint32_t)n;
	return 0;
}

/* An optional member of an object: NULL when absent or null. */
static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

static int parse_mac(json_t *v, const char *key, struct cni_config *c, struct cni_error *e)
{
	uint8_t mac[ADDR_MAC_LEN];

	if (!json_is_string(v) || addr_mac_parse(json_string_value(v), mac) < 0 ||
	    !addr_mac_is_unicast(mac))
		return bad_value(e, key, v, "a unicast MAC address such as 02:00:5e:10:00:01");
	memcpy(c->mac, mac, sizeof(mac));
	c->has_mac = true;
	c->mac_from = key;
	return 0;
}

/* Add one CIDR to c->addrs, refusing duplicates. */
static int add_addr(struct cni_config *c, const char *s, const char *key, json_t *v,
		    struct cni_error *e)
{
	struct in_prefix p;

	if (addr_prefix_parse(s, &p) < 0)
		return bad_value(e, key, v,
				 "an address with its prefix length, such as 198.18.1.2/16");
	for (unsigned int i = 0; i < c->naddrs; i++)
		if (addr_prefix_equal(&c->addrs[i], &p))
			return bad_value(e, key, v, "each address once");
	if (c->naddrs >= CNI_MAX_ADDRS)
		return bad_value(e, key, v, "at most 16 addresses");
	c->addrs[c->naddrs++] = p;
	return 0;
}

static int parse_addr_array(json_t *v, const char *key, struct cni_config *c, struct cni_error *e)
{
	char k[96];
	size_t i;
	json_t *a;
	int r;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad_value(e, key, v, "a non-empty array of CIDR strings");
	c->naddrs = 0;
	json_array_foreach(v, i, a) {
		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		if (!json_is_string(a))
			return bad_value(e, k, a, "a CIDR string");
		r = add_addr(c, json_string_value(a), k, a, e);
		if (r < 0)
			return r;
	}
	c->addrs_from = key;
	return 0;
}

static int parse_arg_ips(const char *list, struct cni_config *c, struct cni_error *e)
{
	_cleanup_free_ char *buf = strdup(list);
	char *p, *save = NULL;
	int r;

	if (!buf)
		return -ENOMEM;
	c->naddrs = 0;
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		json_auto_t *v = json_string(p);

		r = add_addr(c, p, "CNI_ARGS IP", v, e);
		if (r < 0) {
			e->code = CNI_ERR_INVALID_ENV;
			return r;
		}
	}
	if (c->naddrs == 0)
		return cni_error_set(e, CNI_ERR_INVALID_ENV, NULL, "CNI_ARGS: IP is empty");
	c->addrs_from = "CNI_ARGS IP";
	return 0;
}

static int parse_gateway(json_t *v, struct cni_config *c, struct cni_error *e)
{
	json_auto_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
	const char *want = "an IP address, or an array of at most one IPv4 and one IPv6 address";
	char k[64];
	size_t i;
	json_t *a;

	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 2)
		return bad_value(e, "gateway", v, want);
	json_array_foreach(list, i, a) {
		struct in_prefix p;

		if (json_is_string(v))
			snprintf(k, sizeof(k), "gateway");
		else
			snprintf(k, sizeof(k), "gateway[%zu]", i);
		if (!json_is_string(a) || addr_ip_parse(json_string_value(a), 0, &p) < 0)
			return bad_value(e, k, a, "an IP address");
		if (c->ngateways == 1 && c->gateways[0].family == p.family)
			return bad_value(e, "gateway", v, want);
		c->gateways[c->ngateways++] = p;
	}
	return 0;
}

/* One route of the config, in netd's form {dst, gw, mtu, advmss, priority, table}. */
static int parse_route(json_t *v, size_t idx, json_t *out, struct cni_error *e)
{
	json_t *dst = member(v, "dst"), *gw = member(v, "gw"), *x;
	struct in_prefix pd, pg;
	json_auto_t *r = NULL;
	uint32_t n, table = 0;
	char k[64];

	snprintf(k, sizeof(k), "routes[%zu]", idx);
	if (!json_is_object(v))
		return bad_value(e, k, v, "an object {\"dst\": CIDR, \"gw\": IP, ...}");
	snprintf(k, sizeof(k), "routes[%zu].dst", idx);
	if (!json_is_string(dst) || addr_prefix_parse(json_string_value(dst), &pd) < 0)
		return bad_value(e, k, dst, "a CIDR such as 10.0.0.0/8");
	r = json_pack("{s:O}", "dst", dst);
	if (!r)
		return -ENOMEM;
	if (gw) {
		snprintf(k, sizeof(k), "routes[%zu].gw", idx);
		if (!json_is_string(gw) || addr_ip_parse(json_string_value(gw), pd.family, &pg) < 0)
			return bad_value(e, k, gw, "an IP address of the destination's family");
		json_object_set(r, "gw", gw);
	}
	x = member(v, "mtu");
	if (x) {
		snprintf(k, sizeof(k), "routes[%zu].mtu", idx);
		if (get_uint(x, k, 68, 65535, &n, e) < 0)
			return -EINVAL;
		json_object_set_new(r, "mtu", json_integer(n));
	}
	x = member(v, "advmss");
	if (x) {
		snprintf(k, sizeof(k), "routes[%zu].advmss", idx);
		if (get_uint(x, k, 1, 65535, &n, e) < 0)
			return -EINVAL;
		json_object_set_new(r, "advmss", json_integer(n));
	}
	x = member(v, "priority");
	if (x) {
		snprintf(k, sizeof(k), "routes[%zu].priority", idx);
		if (get_uint(x, k, 0, UINT32_MAX, &n, e) < 0)
			return -EINVAL;
		json_object_set_new(r, "priority", json_integer(n));
	}
	x = member(v, "table");
	if (x) {
		snprintf(k, sizeof(k), "routes[%zu].table", idx);
		if (get_uint(x, k, 1, 0xfffffffe, &table, e) < 0)
			return -EINVAL;
		json_object_set_new(r, "table", json_integer(table));
	}
	x = member(v, "scope");
	if (x) {
		char buf[64];

		return cni_error_set(
			e, CNI_ERR_UNSUPPORTED_FIELD, NULL,
			"Unsupported field 'routes[%zu].scope' = %s: netd adds universe-scope routes via a gateway, or link routes without one",
			idx, jtext(x, buf, sizeof(buf)));
	}
	if (pd.len == 0 && (table == 0 || table == 254)) {
		snprintf(k, sizeof(k), "routes[%zu].dst", idx);
		return bad_value(
			e, k, dst,
			"the default route comes from the ENI's gateway; give another table or leave it out");
	}
	return json_array_append(out, r);
}

static int parse_routes(json_t *v, struct cni_config *c, struct cni_error *e)
{
	json_auto_t *out = json_array();
	size_t i;
	json_t *rt;
	int r;

	if (!json_is_array(v) || json_array_size(v) > CNI_MAX_ROUTES)
		return bad_value(e, "routes", v, "an array of at most 60 routes");
	json_array_foreach(v, i, rt) {
		r = parse_route(rt, i, out, e);
		if (r < 0)
			return r;
	}
	c->routes = TAKE_PTR(out);
	return 0;
}

static int parse_string_list(json_t *v, const char *key, bool ips, json_t *out, struct cni_error *e)
{
	char k[64];
	size_t i;
	json_t *a;

	if (!json_is_array(v) || json_array_size(v) > 8)
		return bad_value(e, key, v, "an array of at most 8 strings");
	json_array_foreach(v, i, a) {
		struct in_prefix p;

		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		if (!json_is_string(a) || json_string_length(a) == 0 || json_string_length(a) > 253)
			return bad_value(e, k, a, "a non-empty string of at most 253 bytes");
		if (ips && addr_ip_parse(json_string_value(a), 0, &p) < 0)
			return bad_value(e, k, a, "an IP address");
	}
	return json_object_set(out, key + 4, v); /* key is "dns.xxx" */
}

static int parse_dns(json_t *v, struct cni_config *c, struct cni_error *e)
{
	json_auto_t *out = json_object();
	json_t *x;

	if (!json_is_object(v))
		return bad_value(e, "dns", v, "an object {nameservers, domain, search, options}");
	x = member(v, "nameservers");
	if (x && parse_string_list(x, "dns.nameservers", true, out, e) < 0)
		return -EINVAL;
	x = member(v, "domain");
	if (x) {
		if (!json_is_string(x) || json_string_length(x) > 253)
			return bad_value(e, "dns.domain", x, "a string of at most 253 bytes");
		json_object_set(out, "domain", x);
	}
	x = member(v, "search");
	if (x && parse_string_list(x, "dns.search", false, out, e) < 0)
		return -EINVAL;
	x = member(v, "options");
	if (x && parse_string_list(x, "dns.options", false, out, e) < 0)
		return -EINVAL;
	if (json_object_size(out) > 0)
		c->dns = TAKE_PTR(out);
	return 0;
}

static int parse_attachments(json_t *v, const char *key, json_t *out, struct cni_error *e)
{
	char k[96];
	size_t i;
	json_t *a;

	if (!json_is_array(v))
		return bad_value(e, key, v, "an array of {\"containerID\", \"ifname\"}");
	json_array_foreach(v, i, a) {
		json_t *cid = member(a, "containerID"), *ifn = member(a, "ifname");

		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		if (!json_is_object(a))
			return bad_value(e, k, a, "an object {\"containerID\", \"ifname\"}");
		snprintf(k, sizeof(k), "%s[%zu].containerID", key, i);
		if (!json_is_string(cid))
			return bad_value(e, k, cid, "a string");
		snprintf(k, sizeof(k), "%s[%zu].ifname", key, i);
		if (!json_is_string(ifn))
			return bad_value(e, k, ifn, "a string");
		json_array_append_new(out,
				      json_pack("{s:O, s:O}", "containerID", cid, "ifname", ifn));
	}
	return 0;
}

/* The ENI's MAC: runtimeConfig.mac, then args.cni.mac, then CNI_ARGS MAC, then mac. */
static int parse_eni_mac(struct cni_config *c, const struct cni_env *env, json_t *rc, json_t *acni,
			 struct cni_error *e)
{
	json_t *v;
	int r;

	v = member(c->root, "mac");
	if (v && parse_mac(v, "mac", c, e) < 0)
		return -EINVAL;
	if (env->arg_mac) {
		json_auto_t *s = json_string(env->arg_mac);

		r = parse_mac(s, "CNI_ARGS MAC", c, e);
		if (r < 0) {
			e->code = CNI_ERR_INVALID_ENV;
			return r;
		}
	}
	v = member(acni, "mac");
	if (v && parse_mac(v, "args.cni.mac", c, e) < 0)
		return -EINVAL;
	v = member(rc, "mac");
	if (v && parse_mac(v, "runtimeConfig.mac", c, e) < 0)
		return -EINVAL;
	return 0;
}

/* The addresses: runtimeConfig.ips, then args.cni.ips, then CNI_ARGS IP, then addresses. */
static int parse_eni_addrs(struct cni_config *c, const struct cni_env *env, json_t *rc,
			   json_t *acni, struct cni_error *e)
{
	json_t *v;

	v = member(c->root, "addresses");
	if (v && parse_addr_array(v, "addresses", c, e) < 0)
		return -EINVAL;
	if (env->arg_ip && parse_arg_ips(env->arg_ip, c, e) < 0)
		return -EINVAL;
	v = member(acni, "ips");
	if (v && parse_addr_array(v, "args.cni.ips", c, e) < 0)
		return -EINVAL;
	v = member(rc, "ips");
	if (v && parse_addr_array(v, "runtimeConfig.ips", c, e) < 0)
		return -EINVAL;
	return 0;
}

/* Everything that only ADD, CHECK and STATUS use. */
static int parse_attach_keys(struct cni_config *c, const struct cni_env *env, struct cni_error *e)
{
	json_t *rc = member(c->root, "runtimeConfig"), *args = member(c->root, "args");
	json_t *acni = NULL, *v;
	char buf[160];

	if (rc && !json_is_object(rc))
		return bad_value(e, "runtimeConfig", rc, "an object");
	if (args && !json_is_object(args))
		return bad_value(e, "args", args, "an object");
	acni = member(args, "cni");
	if (acni && !json_is_object(acni))
		return bad_value(e, "args.cni", acni, "an object");

	if (parse_eni_mac(c, env, rc, acni, e) < 0 || parse_eni_addrs(c, env, rc, acni, e) < 0)
		return -EINVAL;

	v = member(c->root, "gateway");
	if (v && parse_gateway(v, c, e) < 0)
		return -EINVAL;
	v = member(c->root, "mtu");
	if (v && get_uint(v, "mtu", 68, 65535, &c->mtu, e) < 0)
		return -EINVAL;
	v = member(c->root, "routes");
	if (v && parse_routes(v, c, e) < 0)
		return -EINVAL;
	v = member(c->root, "dns");
	if (v && parse_dns(v, c, e) < 0)
		return -EINVAL;
	v = member(c->root, "blockInstanceMetadata");
	if (v) {
		if (!json_is_boolean(v))
			return bad_value(e, "blockInstanceMetadata", v, "true or false");
		c->block_imds = json_is_true(v);
	}
	v = member(c->root, "metadataLink");
	if (v) {
		if (!json_is_boolean(v))
			return bad_value(e, "metadataLink", v, "true or false");
		c->metadata_link = json_is_true(v);
	}
	v = member(c->root, "eniTimeoutMs");
	if (v && get_uint(v, "eniTimeoutMs", 0, CNI_MAX_TIMEOUT, &c->timeout_ms, e) < 0)
		return -EINVAL;

	/* Well-known keys that ask for something task-eni does not do. */
	v = member(c->root, "ipam");
	if (v)
		return cni_error_set(
			e, CNI_ERR_UNSUPPORTED_FIELD, NULL,
			"Unsupported field 'ipam' = %s: task-eni runs no IPAM plugin; give the ENI's addresses in 'addresses' or through the 'ips' capability",
			jtext(v, buf, sizeof(buf)));
	v = member(c->root, "ipMasq");
	if (v && !json_is_false(v))
		return cni_error_set(
			e, CNI_ERR_UNSUPPORTED_FIELD, NULL,
			"Unsupported field 'ipMasq' = %s: an ENI has its own VPC addresses and is not masqueraded",
			jtext(v, buf, sizeof(buf)));
	return 0;
}

static int parse_common(struct cni_config *c, const struct cni_env *env, struct cni_error *e)
{
	json_t *v;
	int r;

	v = member(c->root, "cniVersion");
	if (!v)
		return cni_error_set(
			e, CNI_ERR_INVALID_CONFIG, NULL,
			"Missing key 'cniVersion' (task-eni supports " SUPPORTED_VERSIONS ")");
	if (!json_is_string(v))
		return bad_value(e, "cniVersion", v, "a version string such as \"1.1.0\"");
	c->version_str = json_string_value(v);
	r = cni_version_from_string(c->version_str);
	if (r < 0)
		return cni_error_set(
			e, CNI_ERR_INCOMPATIBLE_VERSION, NULL,
			"Incompatible CNI version '%.32s': task-eni supports " SUPPORTED_VERSIONS,
			c->version_str);
	c->version = (enum cni_version)r;
	if ((env->command == CNI_COMMAND_GC || env->command == CNI_COMMAND_STATUS) &&
	    c->version < CNI_VERSION_1_1_0)
		return cni_error_set(
			e, CNI_ERR_INCOMPATIBLE_VERSION, NULL,
			"%s needs cniVersion 1.1.0 or later; the configuration has '%s'",
			cni_command_to_string(env->command), c->version_str);

	v = member(c->root, "name");
	if (!v)
		return cni_error_set(e, CNI_ERR_INVALID_CONFIG, NULL, "Missing key 'name'");
	if (!json_is_string(v) || !network_name_valid(json_string_value(v)))
		return bad_value(
			e, "name", v,
			"1-128 characters: a letter or digit, then letters, digits, '_', '.', '-'");
	c->name = json_string_value(v);

	v = member(c->root, "type");
	if (v && !json_is_string(v))
		return bad_value(e, "type", v, "a string");
	c->type = json_string_value(v);

	v = member(c->root, "socket");
	if (v) {
		if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
		    json_string_length(v) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			return bad_value(e, "socket", v, "an absolute path of at most 107 bytes");
		c->socket = json_string_value(v);
	}
	v = member(c->root, "logFile");
	if (v) {
		if (!json_is_string(v) || json_string_value(v)[0] != '/')
			return bad_value(e, "logFile", v, "an absolute path");
		c->log_file = json_string_value(v);
	}
	v = member(c->root, "logLevel");
	if (v) {
		if (!json_is_string(v) || log_level_from_string(json_string_value(v)) < 0)
			return bad_value(e, "logLevel", v,
					 "one of err, warning, notice, info, debug");
		c->log_level = log_level_from_string(json_string_value(v));
	}
	return 0;
}

int cni_config_parse(const char *buf, size_t len, const struct cni_env *env, struct cni_config *ret,
		     struct cni_error *e)
{
	struct cni_config *c = ret;
	bool strict = env->command != CNI_COMMAND_DEL && env->command != CNI_COMMAND_GC;
	struct cni_error ie = {};
	json_error_t jerr;
	json_t *v;
	int r;

	*c = (struct cni_config){ .block_imds = true,
				  .metadata_link = true,
				  .socket = CTL_DEFAULT_SOCKET,
				  .timeout_ms = CNI_DEFAULT_TIMEOUT,
				  .log_level = -1 };
	if (len == 0)
		return cni_error_set(e, CNI_ERR_DECODE, NULL,
				     "No network configuration on stdin (want a JSON object)");
	c->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!c->root)
		return cni_error_set(
			e, CNI_ERR_DECODE, NULL,
			"Failed to decode the network configuration: %s (line %d, column %d)",
			jerr.text, jerr.line, jerr.column);
	if (!json_is_object(c->root))
		return cni_error_set(e, CNI_ERR_DECODE, NULL,
				     "The network configuration is not a JSON object");
	r = parse_common(c, env, e);
	if (r < 0)
		return r;
	if (env->command == CNI_COMMAND_VERSION)
		return 0;

	r = parse_attach_keys(c, env, &ie);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (strict) {
			*e = ie;
			return r;
		}
		snprintf(c->ignored, sizeof(c->ignored), "%s", ie.msg);
	}

	if (env->command == CNI_COMMAND_ADD || env->command == CNI_COMMAND_CHECK) {
		if (!c->has_mac)
			return cni_error_set(
				e, CNI_ERR_INVALID_CONFIG, NULL,
				"No ENI MAC address: set 'mac' in the configuration or pass the 'mac' capability");
		if (c->naddrs == 0)
			return cni_error_set(
				e, CNI_ERR_INVALID_CONFIG, NULL,
				"No address for the ENI: set 'addresses' in the configuration or pass the 'ips' capability");
	}

	v = member(c->root, "prevResult");
	if (v) {
		r = cni_result_canonical(v, c->version, &c->prev_result, &ie);
		if (r == -ENOMEM)
			return r;
		if (r < 0 && env->command != CNI_COMMAND_DEL) {
			*e = ie;
			return r;
		}
	}
	if (env->command == CNI_COMMAND_CHECK && !c->prev_result)
		return cni_error_set(e, CNI_ERR_INVALID_CONFIG, NULL,
				     "CHECK needs 'prevResult' (the result of the ADD)");

	if (env->command == CNI_COMMAND_GC) {
		json_auto_t *list = json_array();
		json_t *a = member(c->root, "cni.dev/valid-attachments");
		json_t *b = member(c->root, "cni.dev/attachments");

		if (a && parse_attachments(a, "cni.dev/valid-attachments", list, e) < 0)
			return -EINVAL;
		if (b && parse_attachments(b, "cni.dev/attachments", list, e) < 0)
			return -EINVAL;
		if (a || b)
			c->valid_attachments = TAKE_PTR(list);
	}
	return 0;
}

void cni_config_done(struct cni_config *c)
{
	json_decref(c->routes);
	json_decref(c->dns);
	json_decref(c->prev_result);
	json_decref(c->valid_attachments);
	json_decref(c->root);
	*c = (struct cni_config){};
}

/* --- netd's view: task id, attrs, attach parameters ---------------------------------------- */

/* Copy at most max bytes of s, replacing anything a task id may not hold. */
static size_t id_part(char *out, const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] && n < max; n++)
		out[n] = is_alnum(s[n]) || s[n] == '_' || s[n] == '.' || s[n] == '-' ? s[n] : '_';
	return n;
}

int cni_task_id(const char *network, const char *container_id, const char *ifname, char *buf,
		size_t size)
{
	uint8_t digest[SHA256_DIGEST_LEN];
	char tmp[IDENT_TASK_ID_MAX + 1];
	struct sha256_ctx h;
	size_t n;

	sha256_init(&h);
	/* The lengths keep ("a", "bc") and ("ab", "c") apart. */
	sha256_update(&h, network, strlen(network) + 1);
	sha256_update(&h, container_id, strlen(container_id) + 1);
	sha256_update(&h, ifname, strlen(ifname) + 1);
	sha256_final(&h, digest);

	n = (size_t)snprintf(tmp, sizeof(tmp), CNI_TASK_ID_PREFIX ".");
	n += id_part(tmp + n, network, 40);
	tmp[n++] = '.';
	n += id_part(tmp + n, container_id, 12);
	tmp[n++] = '.';
	for (unsigned int i = 0; i < 16; i++)
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%02x", digest[i]);
	if (!ident_task_id_valid(tmp))
		return -EINVAL;
	return strscpy(buf, tmp, size) < 0 ? -ENAMETOOLONG : 0;
}

json_t *cni_task_attrs(const char *network, const char *container_id, const char *ifname)
{
	return json_pack("{s:s, s:s, s:s}", CNI_ATTR_NETWORK, network, CNI_ATTR_CONTAINER_ID,
			 container_id, CNI_ATTR_IFNAME, ifname);
}

json_t *cni_attach_params(const struct cni_config *c, const struct cni_env *env,
			  const char *task_id)
{
	char mac[ADDR_MAC_STRLEN], buf[ADDR_PREFIX_STRLEN];
	json_t *p, *addrs;

	addrs = json_array();
	for (unsigned int i = 0; i < c->naddrs; i++)
		json_array_append_new(
			addrs, json_string(addr_prefix_format(&c->addrs[i], buf, sizeof(buf))));
	p = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:i, s:o}", "task_id", task_id, "netns",
		      env->netns, "mac", addr_mac_format(c->mac, mac), "ifname", env->ifname,
		      "addresses", addrs, "block_imds", c->block_imds, "timeout_ms",
		      (int)c->timeout_ms, "attrs",
		      cni_task_attrs(c->name, env->container_id, env->ifname));
	if (!p)
		return NULL;
	if (!c->metadata_link)
		json_object_set_new(p, "metadata_link", json_false());
	if (c->mtu)
		json_object_set_new(p, "mtu", json_integer(c->mtu));
	if (c->routes && json_array_size(c->routes) > 0)
		json_object_set(p, "routes", c->routes);
	if (c->dns) {
		json_object_set(p, "dns", c->dns);
		/* The runtime writes resolv.conf from the result's dns: netd must not. */
		json_object_set_new(p, "resolv_conf", json_false());
	}
	return p;
}

/* --- results ------------------------------------------------------------------------------- */

static int bad_result(struct cni_error *e, const char *key, json_t *v, const char *want)
{
	char buf[160];

	return cni_error_set(e, CNI_ERR_INVALID_CONFIG, NULL, "Invalid 'prevResult': %s is %s (%s)",
			     key, jtext(v, buf, sizeof(buf)), want);
}

/* An array member that may be absent: an empty array then. -EINVAL if of another type. */
static int result_array(json_t *res, const char *key, json_t **ret, struct cni_error *e)
{
	json_t *v = member(res, key);

	if (!v) {
		v = json_array();
		json_object_set_new(res, key, v);
	}
	if (!json_is_array(v))
		return bad_result(e, key, v, "an array");
	*ret = v;
	return 0;
}

int cni_result_canonical(json_t *result, enum cni_version from, json_t **ret, struct cni_error *e)
{
	json_auto_t *res = NULL;
	json_t *ifaces, *ips, *routes, *dns, *v;
	char k[64];
	size_t i;

	if (!json_is_object(result))
		return bad_result(e, "it", result, "an object");
	res = json_deep_copy(result);
	if (!res)
		return -ENOMEM;
	if (result_array(res, "interfaces", &ifaces, e) < 0 ||
	    result_array(res, "ips", &ips, e) < 0 || result_array(res, "routes", &routes, e) < 0)
		return -EINVAL;
	json_array_foreach(ifaces, i, v) {
		snprintf(k, sizeof(k), "interfaces[%zu]", i);
		if (!json_is_object(v) || !json_is_string(member(v, "name")))
			return bad_result(e, k, v, "an object with a 'name'");
	}
	json_array_foreach(ips, i, v) {
		json_t *a = member(v, "address"), *idx = member(v, "interface");
		struct in_prefix p;

		snprintf(k, sizeof(k), "ips[%zu]", i);
		if (!json_is_object(v))
			return bad_result(e, k, v, "an object");
		snprintf(k, sizeof(k), "ips[%zu].address", i);
		if (!json_is_string(a) || addr_prefix_parse(json_string_value(a), &p) < 0)
			return bad_result(e, k, a, "a CIDR");
		snprintf(k, sizeof(k), "ips[%zu].interface", i);
		if (idx && (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
			    (size_t)json_integer_value(idx) >= json_array_size(ifaces)))
			return bad_result(e, k, idx, "an index into 'interfaces'");
		/* 0.4.0's "version" is implied by the address */
		if (from == CNI_VERSION_0_4_0)
			json_object_del(v, "version");
	}
	json_array_foreach(routes, i, v) {
		json_t *d = member(v, "dst");
		struct in_prefix p;

		snprintf(k, sizeof(k), "routes[%zu].dst", i);
		if (!json_is_object(v) || !json_is_string(d) ||
		    addr_prefix_parse(json_string_value(d), &p) < 0)
			return bad_result(e, k, d, "a CIDR");
	}
	dns = member(res, "dns");
	if (dns && !json_is_object(dns))
		return bad_result(e, "dns", dns, "an object");
	json_object_set_new(res, "cniVersion", json_string("1.1.0"));
	*ret = TAKE_PTR(res);
	return 0;
}

/* A copy of obj with only the listed members. */
static json_t *pick(json_t *obj, const char *const *keys)
{
	json_t *out = json_object();

	for (; *keys; keys++) {
		json_t *v = member(obj, *keys);

		if (v)
			json_object_set(out, *keys, v);
	}
	return out;
}

static json_t *pick_array(json_t *arr, const char *const *keys)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(arr, i, v)
		json_array_append_new(out, pick(v, keys));
	return out;
}

json_t *cni_result_convert(json_t *canonical, enum cni_version to)
{
	static const char *const if_110[] = { "name",	    "mac",   "mtu", "sandbox",
					      "socketPath", "pciID", NULL };
	static const char *const if_old[] = { "name", "mac", "sandbox", NULL };
	static const char *const ip_keys[] = { "address", "gateway", "interface", NULL };
	static const char *const rt_110[] = { "dst",	  "gw",	   "mtu",   "advmss",
					      "priority", "table", "scope", NULL };
	static const char *const rt_old[] = { "dst", "gw", NULL };
	static const char *const dns_keys[] = { "nameservers", "domain", "search", "options",
						NULL };
	bool v110 = to == CNI_VERSION_1_1_0;
	json_t *out, *ips, *ip;
	size_t i;

	out = json_pack("{s:s, s:o, s:o, s:o, s:o}", "cniVersion", cni_version_to_string(to),
			"interfaces",
			pick_array(member(canonical, "interfaces"), v110 ? if_110 : if_old), "ips",
			pick_array(member(canonical, "ips"), ip_keys), "routes",
			pick_array(member(canonical, "routes"), v110 ? rt_110 : rt_old), "dns",
			pick(member(canonical, "dns"), dns_keys));
	if (!out)
		return NULL;
	ips = json_object_get(out, "ips");
	if (to == CNI_VERSION_0_4_0)
		json_array_foreach(ips, i, ip) {
			struct in_prefix p;

			if (addr_prefix_parse(json_string_value(member(ip, "address")), &p) == 0)
				json_object_set_new(ip, "version",
						    json_string(p.family == AF_INET6 ? "6" : "4"));
		}
	return out;
}

/* Append the strings of src[key] to dst[key] that dst does not have yet. */
static void merge_list(json_t *dst, json_t *src, const char *key)
{
	json_t *from = member(src, key), *to = member(dst, key), *v, *w;
	size_t i, k;

	if (!json_is_array(from))
		return;
	if (!json_is_array(to)) {
		to = json_array();
		json_object_set_new(dst, key, to);
	}
	json_array_foreach(from, i, v) {
		bool have = false;

		json_array_foreach(to, k, w)
			if (json_equal(v, w))
				have = true;
		if (!have)
			json_array_append(to, v);
	}
}

int cni_result_build(const struct cni_config *c, json_t *task, json_t **ret, struct cni_error *e)
{
	json_auto_t *res = NULL;
	json_t *ifaces, *ips, *routes, *dns, *tif, *v;
	size_t i, idx;

	res = c->prev_result
		      ? json_deep_copy(c->prev_result)
		      : json_pack("{s:[], s:[], s:[], s:{}}", "interfaces", "ips", "routes", "dns");
	if (!res)
		return -ENOMEM;
	ifaces = json_object_get(res, "interfaces");
	ips = json_object_get(res, "ips");
	routes = json_object_get(res, "routes");
	dns = member(res, "dns");
	if (!dns) {
		dns = json_object();
		json_object_set_new(res, "dns", dns);
	}

	tif = json_array_get(member(task, "interfaces"), 0);
	if (!json_is_object(tif) || !json_is_array(member(task, "ips")) ||
	    !json_is_array(member(task, "routes")))
		return cni_error_set(e, CNI_ERR_NETD, NULL,
				     "netd's reply has no interface, ips or routes");
	idx = json_array_size(ifaces);
	json_array_append_new(
		ifaces, pick(tif, (const char *const[]){ "name", "mac", "mtu", "sandbox", NULL }));
	json_array_foreach(member(task, "ips"), i, v) {
		json_t *ip = pick(v, (const char *const[]){ "address", "gateway", NULL });

		json_object_set_new(ip, "interface", json_integer((json_int_t)idx));
		json_array_append_new(ips, ip);
	}
	json_array_foreach(member(task, "routes"), i, v) {
		const char *kind = json_string_value(member(v, "kind"));
		const char *type = json_string_value(member(v, "type"));

		/* A non-unicast route (the IMDS block of older netds) has no place in a result. */
		if ((kind && streq(kind, "imds")) || (type && !streq(type, "unicast")))
			continue;
		json_array_append_new(routes,
				      pick(v, (const char *const[]){ "dst", "gw", "mtu", "advmss",
								     "priority", "table", NULL }));
	}
	/*
	 * The metadata link (md0, netd's point-to-point /32 link to the task metadata endpoint) is
	 * not the attachment's network and is left out: runtimes take every sandbox interface of a
	 * result for a container network (podman wants a MAC for each), and netd reports md0.
	 */
	v = member(task, "dns");
	if (json_is_object(v)) {
		merge_list(dns, v, "nameservers");
		if (json_is_string(member(v, "domain")))
			json_object_set(dns, "domain", member(v, "domain"));
		merge_list(dns, v, "search");
		merge_list(dns, v, "options");
	}
	*ret = cni_result_convert(res, c->version);
	return *ret ? 0 : -ENOMEM;
}

/* --- CHECK --------------------------------------------------------------------------------- */

_printf_(2, 3) static void diff(json_t *diffs, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(diffs, json_string(buf));
}

static bool prefix_equal_str(const char *a, const char *b)
{
	struct in_prefix pa, pb;

	return a && b && addr_prefix_parse(a, &pa) == 0 && addr_prefix_parse(b, &pb) == 0 &&
	       addr_prefix_equal(&pa, &pb);
}

static bool ip_equal_str(const char *a, const char *b)
{
	struct in_prefix pa, pb;

	if (!a || !b)
		return a == b;
	return addr_ip_parse(a, 0, &pa) == 0 && addr_ip_parse(b, 0, &pb) == 0 &&
	       addr_prefix_equal(&pa, &pb);
}

/*
 * Does the result list the route netd describes as "[type ]DST[ via GW][ ...]" (DST may be
 * "default")? A route the final result no longer lists was changed by a later plugin.
 */
static bool result_has_route(json_t *res, const char *desc)
{
	char dst[ADDR_PREFIX_STRLEN + 16] = "", gw[INET6_ADDRSTRLEN + 1] = "";
	struct in_prefix pd = {}, pg = {};
	bool is_default;
	const char *p = desc;
	json_t *v;
	size_t i;

	if (startswith(p, "unreachable ") || startswith(p, "blackhole ") ||
	    startswith(p, "prohibit "))
		p = strchr(p, ' ') + 1;
	if (sscanf(p, "%63s via %46s", dst, gw) < 1)
		return true; /* cannot tell: keep the difference */
	is_default = streq(dst, "default");
	if (!is_default && addr_prefix_parse(dst, &pd) < 0)
		return true;
	if (gw[0] && addr_ip_parse(gw, 0, &pg) < 0)
		return true;
	json_array_foreach(member(res, "routes"), i, v) {
		const char *rd = json_string_value(member(v, "dst"));
		const char *rg = json_string_value(member(v, "gw"));
		struct in_prefix q;

		if (!rd || addr_prefix_parse(rd, &q) < 0)
			continue;
		if (is_default ? q.len != 0 || (pg.family && q.family != pg.family)
			       : !addr_prefix_equal(&q, &pd))
			continue;
		if (gw[0] ? ip_equal_str(rg, gw) : rg == NULL)
			return true;
	}
	return false;
}

/* The index of the attachment's interface in the result, or -1. */
static int result_find_iface(json_t *res, const char *ifname, const char *netns)
{
	json_t *v;
	size_t i;

	json_array_foreach(member(res, "interfaces"), i, v)
		if (streq_ptr(json_string_value(member(v, "name")), ifname) &&
		    streq_ptr(json_string_value(member(v, "sandbox")), netns))
			return (int)i;
	return -1;
}

/* The config and environment against netd's record of the attachment. */
static void check_record(const struct cni_config *c, const struct cni_env *env, json_t *task,
			 json_t *diffs)
{
	char mac[ADDR_MAC_STRLEN], buf[ADDR_PREFIX_STRLEN];
	const char *s;
	json_t *v;
	size_t i;

	s = json_string_value(member(task, "netns"));
	if (!streq_ptr(s, env->netns))
		diff(diffs, "netns: CNI_NETNS is '%s', netd's record '%s'", env->netns, strna(s));
	s = json_string_value(member(task, "ifname"));
	if (!streq_ptr(s, env->ifname))
		diff(diffs, "ifname: CNI_IFNAME is '%s', netd's record '%s'", env->ifname,
		     strna(s));
	s = json_string_value(member(task, "mac"));
	addr_mac_format(c->mac, mac);
	if (!streq_ptr(s, mac))
		diff(diffs, "mac: %s is %s, netd's record %s", c->mac_from, mac, strna(s));
	if (c->mtu && json_integer_value(member(task, "mtu")) != (json_int_t)c->mtu)
		diff(diffs, "mtu: the configuration has %u, netd's record %lld", c->mtu,
		     (long long)json_integer_value(member(task, "mtu")));
	if (json_is_boolean(member(task, "block_imds")) &&
	    json_is_true(member(task, "block_imds")) != c->block_imds)
		diff(diffs, "blockInstanceMetadata: the configuration has %s, netd's record %s",
		     c->block_imds ? "true" : "false", c->block_imds ? "false" : "true");
	for (unsigned int k = 0; k < c->naddrs; k++) {
		bool found = false;

		addr_prefix_format(&c->addrs[k], buf, sizeof(buf));
		json_array_foreach(member(task, "ips"), i, v)
			if (prefix_equal_str(json_string_value(member(v, "address")), buf))
				found = true;
		if (!found)
			diff(diffs, "address %s (%s): not in netd's record", buf, c->addrs_from);
	}
	json_array_foreach(member(task, "ips"), i, v) {
		bool found = false;

		s = json_string_value(member(v, "address"));
		for (unsigned int k = 0; k < c->naddrs; k++)
			if (prefix_equal_str(s, addr_prefix_format(&c->addrs[k], buf, sizeof(buf))))
				found = true;
		if (!found)
			diff(diffs, "address %s: in netd's record, not in %s", strna(s),
			     c->addrs_from);
	}
}

/* prevResult against netd's record: the interface and its addresses must be there. */
static void check_prev_result(const struct cni_config *c, const struct cni_env *env, json_t *task,
			      json_t *diffs)
{
	json_t *res = c->prev_result, *iface, *v, *w;
	const char *tmac = json_string_value(member(task, "mac"));
	size_t i, k;
	int idx;

	idx = result_find_iface(res, env->ifname, env->netns);
	if (idx < 0) {
		diff(diffs, "prevResult: no interface '%s' in sandbox '%s'", env->ifname,
		     env->netns);
		return;
	}
	iface = json_array_get(member(res, "interfaces"), (size_t)idx);
	if (!streq_ptr(json_string_value(member(iface, "mac")), tmac))
		diff(diffs, "prevResult: interface '%s' has MAC %s, netd's record %s", env->ifname,
		     strna(json_string_value(member(iface, "mac"))), strna(tmac));
	json_array_foreach(member(task, "ips"), i, v) {
		const char *a = json_string_value(member(v, "address"));
		bool found = false;

		json_array_foreach(member(res, "ips"), k, w) {
			json_t *wi = member(w, "interface");

			if (prefix_equal_str(json_string_value(member(w, "address")), a) &&
			    (!wi || json_integer_value(wi) == idx))
				found = true;
		}
		if (!found)
			diff(diffs, "prevResult: address %s of '%s' is missing", strna(a),
			     env->ifname);
	}
}

int cni_check_compare(const struct cni_config *c, const struct cni_env *env, json_t *task,
		      json_t *netd_check, json_t **ret)
{
	json_auto_t *diffs = json_array();
	json_t *v;
	size_t i;

	if (!diffs)
		return -ENOMEM;
	check_record(c, env, task, diffs);
	check_prev_result(c, env, task, diffs);

	json_array_foreach(member(netd_check, "differences"), i, v) {
		const char *what = json_string_value(member(v, "what"));
		const char *want = json_string_value(member(v, "expected"));
		const char *have = json_string_value(member(v, "actual"));

		if (!what)
			continue;
		/* A route the final result no longer lists was changed by a later plugin. */
		if (streq(what, "route") && want && !result_has_route(c->prev_result, want))
			continue;
		/*
		 * The link's MTU is a later plugin's to change (tuning's "mtu"), and no result
		 * before 1.1.0 can say so, nor does tuning update a 1.1.0 one: not verified.
		 * netd's record still is, against the configuration (check_record()).
		 */
		if (streq(what, "mtu"))
			continue;
		diff(diffs, "%s: expected %s, actual %s", what, strna(want), strna(have));
	}
	*ret = TAKE_PTR(diffs);
	return 0;
}

/* --- ADD of an attachment netd holds already ---------------------------------------------- */

/* A route of the configuration (netd's form) against one of netd's record. */
static bool route_equal(json_t *want, json_t *have)
{
	static const char *const ints[] = { "mtu", "advmss", "priority", NULL };
	json_int_t wt = json_integer_value(member(want, "table"));
	json_int_t ht = json_integer_value(member(have, "table"));

	if (!prefix_equal_str(json_string_value(member(want, "dst")),
			      json_string_value(member(have, "dst"))) ||
	    !ip_equal_str(json_string_value(member(want, "gw")),
			  json_string_value(member(have, "gw"))))
		return false;
	for (const char *const *k = ints; *k; k++)
		if (json_integer_value(member(want, *k)) != json_integer_value(member(have, *k)))
			return false;
	/* netd leaves the main table out of its record. */
	return (wt == 0 || wt == RT_TABLE_MAIN ? 0 : wt) == (ht == RT_TABLE_MAIN ? 0 : ht);
}

int cni_add_compare(const struct cni_config *c, const struct cni_env *env, json_t *task,
		    json_t **ret)
{
	json_auto_t *diffs = json_array();
	json_t *dns = member(task, "dns"), *v, *w;
	size_t i, k, nextra = 0;

	if (!diffs)
		return -ENOMEM;
	check_record(c, env, task, diffs);
	if (json_is_object(member(task, "metadata")) != c->metadata_link)
		diff(diffs, "metadataLink: the configuration has %s, netd's record %s",
		     c->metadata_link ? "true" : "false", c->metadata_link ? "false" : "true");
	json_array_foreach(c->routes, i, v) {
		bool found = false;

		json_array_foreach(member(task, "routes"), k, w)
			if (streq_ptr(json_string_value(member(w, "kind")), "extra") &&
			    route_equal(v, w))
				found = true;
		if (!found)
			diff(diffs, "route %s: not in netd's record",
			     strna(json_string_value(member(v, "dst"))));
	}
	json_array_foreach(member(task, "routes"), k, w)
		if (streq_ptr(json_string_value(member(w, "kind")), "extra"))
			nextra++;
	if (nextra != json_array_size(c->routes))
		diff(diffs, "routes: the configuration has %zu, netd's record %zu",
		     json_array_size(c->routes), nextra);
	if (c->dns ? !json_equal(c->dns, dns) : json_object_size(dns) > 0)
		diff(diffs, "dns: not the one in netd's record");
	*ret = TAKE_PTR(diffs);
	return 0;
}

/* --- GC and VERSION ------------------------------------------------------------------------ */

bool cni_gc_attachment_valid(const struct cni_config *c, const char *container_id,
			     const char *ifname)
{
	json_t *v;
	size_t i;

	json_array_foreach(c->valid_attachments, i, v)
		if (streq_ptr(json_string_value(member(v, "containerID")), container_id) &&
		    streq_ptr(json_string_value(member(v, "ifname")), ifname))
			return true;
	return false;
}

json_t *cni_version_info(const char *input_version)
{
	const char *v = input_version && cni_version_from_string(input_version) >= 0 ? input_version
										     : "1.1.0";

	return json_pack("{s:s, s:[s, s, s]}", "cniVersion", v, "supportedVersions",
			 version_names[CNI_VERSION_0_4_0], version_names[CNI_VERSION_1_0_0],
			 version_names[CNI_VERSION_1_1_0]);
}
