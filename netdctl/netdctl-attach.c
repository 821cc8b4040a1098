// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the owners of attachments, task and platform, share in netdctl: the arguments of attach,
 * detach and check, and the printing of routes and DNS settings.
 */
#include "ctl-proto.h"
#include "netdctl.h"

int netdctl_parse_uint(const char *what, const char *s, long max, json_int_t *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return usage_error("invalid %s '%s'", what, s);
	*ret = v;
	return 0;
}

/*
 * 'route DST [ via GW ] [ mtu N ] [ advmss N ] [ metric N ] [ table N ]' at argv[0], appended to
 * routes; argv left at its last word.
 */
static int parse_route(int *pargc, char ***pargv, json_t *routes)
{
	int argc = *pargc;
	char **argv = *pargv;
	json_t *rt;

	if (argc < 2)
		return usage_error("'route' needs a destination");
	rt = json_pack("{s:s}", "dst", argv[1]);
	NEXT_ARG();
	while (argc > 1) {
		static const struct {
			const char *word, *key;
		} opts[] = { { "mtu", "mtu" },
			     { "advmss", "advmss" },
			     { "metric", "priority" },
			     { "table", "table" } };
		bool done = false;
		json_int_t v;

		if (streq(argv[1], "via")) {
			if (argc < 3)
				return json_decref(rt), usage_error("'via' needs a gateway");
			json_object_set_new(rt, "gw", json_string(argv[2]));
			NEXT_ARG();
			NEXT_ARG();
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
			if (!streq(argv[1], opts[i].word))
				continue;
			if (argc < 3)
				return json_decref(rt), usage_error("'%s' needs a value", argv[1]);
			if (netdctl_parse_uint(argv[1], argv[2], 0x7fffffff, &v))
				return json_decref(rt), EXIT_USAGE;
			json_object_set_new(rt, opts[i].key, json_integer(v));
			NEXT_ARG();
			NEXT_ARG();
			done = true;
			break;
		}
		if (!done)
			break;
	}
	json_array_append_new(routes, rt);
	*pargc = argc;
	*pargv = argv;
	return 0;
}

void netdctl_attach_init(struct netdctl_attach *a, const char *key, const char *id)
{
	a->params = json_pack("{s:s}", key, id);
	a->addrs = json_array();
	a->routes = json_array();
	a->nameservers = json_array();
	a->search = json_array();
	a->dns = json_object();
}

/* netns, mac, ifname and fault (for tests against netd --enable-fault-injection) go as they are. */
static bool is_param_word(const char *word)
{
	return streq(word, "netns") || streq(word, "mac") || streq(word, "ifname") ||
	       streq(word, "fault");
}

static bool is_addr_word(const char *word)
{
	return matches(word, "address") || streq(word, "addr");
}

bool netdctl_attach_arg(struct netdctl_attach *a, int *argc, char ***argv, int *ret_r)
{
	const char *word = (*argv)[0], *value = *argc > 1 ? (*argv)[1] : NULL;
	json_int_t v;

	*ret_r = 0;
	if (streq(word, "route")) {
		*ret_r = parse_route(argc, argv, a->routes);
		if (*ret_r == 0) {
			(*argc)--;
			(*argv)++;
		}
		return true;
	}
	if (!is_param_word(word) && !is_addr_word(word) && !streq(word, "mtu") &&
	    !streq(word, "nameserver") && !streq(word, "search") && !streq(word, "domain"))
		return false;
	if (!value) {
		*ret_r = usage_error("'%s' needs a value", word);
		return true;
	}
	if (is_param_word(word)) {
		json_object_set_new(a->params, word, json_string(value));
	} else if (is_addr_word(word)) {
		json_array_append_new(a->addrs, json_string(value));
	} else if (streq(word, "mtu")) {
		*ret_r = netdctl_parse_uint("mtu", value, 65535, &v);
		if (*ret_r)
			return true;
		json_object_set_new(a->params, "mtu", json_integer(v));
	} else if (streq(word, "nameserver")) {
		json_array_append_new(a->nameservers, json_string(value));
	} else if (streq(word, "search")) {
		json_array_append_new(a->search, json_string(value));
	} else {
		json_object_set_new(a->dns, "domain", json_string(value));
	}
	*argc -= 2;
	*argv += 2;
	return true;
}

void netdctl_attach_finish(struct netdctl_attach *a)
{
	json_object_set(a->params, "addresses", a->addrs);
	if (json_array_size(a->routes))
		json_object_set(a->params, "routes", a->routes);
	if (json_array_size(a->nameservers))
		json_object_set(a->dns, "nameservers", a->nameservers);
	if (json_array_size(a->search))
		json_object_set(a->dns, "search", a->search);
	if (json_object_size(a->dns))
		json_object_set(a->params, "dns", a->dns);
}

void netdctl_attach_done(struct netdctl_attach *a)
{
	json_decref(a->params);
	json_decref(a->addrs);
	json_decref(a->routes);
	json_decref(a->nameservers);
	json_decref(a->search);
	json_decref(a->dns);
	*a = (struct netdctl_attach){};
}

/* netd's detach succeeds for an unknown member (CNI's DEL needs that); the CLI, as ip, does not. */
int netdctl_detach(const struct netdctl_object *o, int argc, char **argv)
{
	json_auto_t *res = NULL;
	bool if_exists, detached;
	char method[64];
	const char *id;
	int r;

	snprintf(method, sizeof(method), "%s detach", o->name);
	r = cli_id_args(method, argc, argv, &id, &if_exists);
	if (r)
		return r;
	if (!id)
		return usage_error("usage: netdctl %s detach %s [ --if-exists ]", o->name, o->arg);
	snprintf(method, sizeof(method), "%s.detach", o->name);
	r = cli_call(method, json_pack("{s:s}", o->key, id), &res);
	if (r)
		return r;
	detached = json_is_true(json_object_get(res, "detached"));
	if (!if_exists && !detached) {
		print_errorf("netdctl", CTL_ERR_NOT_FOUND, NULL,
			     "No such %s '%s': nothing to detach%s", o->noun, id, o->detach_hint);
		return EXIT_FAILURE;
	}
	print_open_object(NULL, res);
	print_text("%s ", o->name);
	print_string(PRINT_ANY, o->key, "%s", json_str(res, o->key));
	print_bool(PRINT_JSON, "detached", "%s", detached);
	if (!detached) {
		print_string(PRINT_ANY, "message", ": %s\n", json_str(res, "message"));
	} else {
		print_string(PRINT_ANY, "mac", " detached; ENI %s", json_str(res, "mac"));
		print_string(PRINT_ANY, "eni_state", " is %s", json_str(res, "eni_state"));
		if (json_str(res, "host_ifname"))
			print_string(PRINT_ANY, "host_ifname", " as %s",
				     json_str(res, "host_ifname"));
		print_text("\n");
	}
	print_close_object();
	return 0;
}

int netdctl_check(const struct netdctl_object *o, int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *d;
	size_t i;
	bool ok;
	int r;

	r = netdctl_call_one(o, "check", argc, argv, &res);
	if (r)
		return r;
	ok = json_is_true(json_object_get(res, "ok"));
	print_open_object(NULL, res);
	print_text("%s ", o->name);
	print_string(PRINT_ANY, o->key, "%s: ", json_str(res, o->key));
	print_bool(PRINT_JSON, "ok", "%s", ok);
	print_text("%s\n", ok ? "ok, the kernel matches the record" : "differs from its record");
	json_array_foreach(json_object_get(res, "differences"), i, d)
		print_text("  %s: expected %s, found %s\n", json_str(d, "what") ?: "-",
			   json_str(d, "expected") ?: "nothing",
			   json_str(d, "actual") ?: "nothing");
	print_close_object();
	return ok ? 0 : EXIT_FAILURE;
}

const char *netdctl_join(json_t *arr, const char *key, char *buf, size_t size)
{
	json_t *v;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(arr, i, v)
		n += (size_t)snprintf(buf + MIN(n, size), size - MIN(n, size), "%s%s", i ? "," : "",
				      key ? json_str(v, key) : json_string_value(v));
	return buf;
}

void netdctl_print_routes(json_t *routes)
{
	json_t *rt;
	size_t i;

	json_array_foreach(routes, i, rt) {
		const char *dst = json_str(rt, "dst");
		bool dflt = streq(dst, "0.0.0.0/0") || streq(dst, "::/0");

		print_text("  route %s%s", json_str(rt, "type") ? "unreachable " : "",
			   dflt ? "default" : dst);
		if (json_str(rt, "gw"))
			print_text(" via %s", json_str(rt, "gw"));
		if (json_int(rt, "mtu"))
			print_text(" mtu %lld", (long long)json_int(rt, "mtu"));
		if (json_int(rt, "advmss"))
			print_text(" advmss %lld", (long long)json_int(rt, "advmss"));
		if (json_int(rt, "priority"))
			print_text(" metric %lld", (long long)json_int(rt, "priority"));
		if (json_int(rt, "table"))
			print_text(" table %lld", (long long)json_int(rt, "table"));
		print_text(" (%s)\n", json_str(rt, "kind"));
	}
}

void netdctl_print_strings(const char *label, json_t *arr)
{
	json_t *v;
	size_t i;

	if (!arr || json_array_size(arr) == 0)
		return;
	print_text("  %s", label);
	json_array_foreach(arr, i, v)
		print_text(" %s", json_string_value(v));
	print_text("\n");
}

void netdctl_print_dns(json_t *dns)
{
	netdctl_print_strings("nameservers", json_object_get(dns, "nameservers"));
	netdctl_print_strings("search", json_object_get(dns, "search"));
	if (json_str(dns, "domain"))
		print_text("  domain %s\n", json_str(dns, "domain"));
}
