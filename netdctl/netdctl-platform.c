// SPDX-License-Identifier: GPL-2.0-only
/* netdctl platform: list, show, attach, detach, check (platform ENIs, platform version 1.3.0). */
#include "ctl-proto.h"
#include "netdctl.h"

static void join_strings(json_t *arr, char *buf, size_t size)
{
	json_t *v;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(arr, i, v)
		n += (size_t)snprintf(buf + MIN(n, size), size - MIN(n, size), "%s%s", i ? "," : "",
				      json_string_value(v));
}

static void print_platform_row(json_t *p)
{
	char addrs[256];

	join_strings(json_object_get(p, "addresses"), addrs, sizeof(addrs));
	print_open_object(NULL, p);
	print_string(PRINT_ANY, "name", "%s", json_str(p, "name"));
	print_string(PRINT_ANY, "state", "%s", json_str(p, "state"));
	print_string(PRINT_ANY, "mac", "%s", json_str(p, "mac"));
	print_string(PRINT_ANY, "ifname", "%s", json_str(p, "ifname"));
	print_string(PRINT_FP, NULL, "%s", addrs);
	print_string(PRINT_ANY, "netns", "%s", json_str(p, "netns"));
	print_close_object();
}

/* "rx B bytes P packets, tx B bytes P packets" of a {totals} member. */
static void print_share(const char *label, json_t *share)
{
	json_t *t = json_object_get(share, "totals");
	json_t *rx = json_object_get(t, "rx"), *tx = json_object_get(t, "tx");

	if (!share)
		return;
	print_text("  %s rx %lld bytes %lld packets, tx %lld bytes %lld packets\n", label,
		   (long long)json_int(rx, "bytes"), (long long)json_int(rx, "packets"),
		   (long long)json_int(tx, "bytes"), (long long)json_int(tx, "packets"));
}

static void print_platform_detail(json_t *p)
{
	json_t *dns = json_object_get(p, "dns"), *st = json_object_get(p, "stats"), *a;
	size_t i;

	/* JSON: netd's object, as it is. */
	print_open_object(NULL, p);
	print_text("platform %s (%s)\n", json_str(p, "name"), json_str(p, "id"));
	print_text("  state %s slot %lld\n", json_str(p, "state"), (long long)json_int(p, "slot"));
	print_text("  netns %s\n", json_str(p, "netns"));
	print_text("  eni %s", json_str(p, "mac"));
	if (json_str(p, "host_ifname"))
		print_text(" (host name %s)", json_str(p, "host_ifname"));
	print_text("\n  interface %s mtu %lld\n", json_str(p, "ifname"),
		   (long long)json_int(p, "mtu"));
	json_array_foreach(json_object_get(p, "addresses"), i, a)
		print_text("  address %s\n", json_string_value(a));
	netdctl_print_routes(json_object_get(p, "routes"));
	netdctl_print_strings("nameservers", json_object_get(dns, "nameservers"));
	netdctl_print_strings("search", json_object_get(dns, "search"));
	if (json_str(dns, "domain"))
		print_text("  domain %s\n", json_str(dns, "domain"));
	if (st) {
		json_t *dev = json_object_get(st, "device");

		if (dev)
			print_text(
				"  device rx %lld bytes %lld packets, tx %lld bytes %lld packets\n",
				(long long)json_int(dev, "rx_bytes"),
				(long long)json_int(dev, "rx_packets"),
				(long long)json_int(dev, "tx_bytes"),
				(long long)json_int(dev, "tx_packets"));
		print_share("counted     ", st);
		print_share("for tasks   ", json_object_get(st, "attributed"));
		print_share("platform's  ", json_object_get(st, "unattributed"));
	}
	print_text("  created %s\n", json_str(p, "created"));
	print_close_object();
}

static int platform_list(int argc, char **argv)
{
	static const char *const headers[] = { "NAME",	    "STATE", "ENI", "IFNAME",
					       "ADDRESSES", "NETNS", NULL };
	json_auto_t *res = NULL;
	json_t *p;
	size_t i;
	int r;

	if (argc > 0)
		return usage_error("'platform list' takes no arguments, got '%s'", argv[0]);
	r = cli_call("platform.list", NULL, &res);
	if (r)
		return r;
	print_table_begin(headers);
	print_open_array(NULL);
	json_array_foreach(res, i, p)
		print_platform_row(p);
	print_close_array();
	print_table_end();
	return 0;
}

static int platform_show(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	if (argc != 1)
		return usage_error("usage: netdctl platform show NAME");
	r = cli_call("platform.show", json_pack("{s:s}", "name", argv[0]), &res);
	if (r)
		return r;
	print_platform_detail(res);
	return 0;
}

static int platform_attach(int argc, char **argv)
{
	json_t *p, *addrs, *routes, *ns, *search, *dns;
	json_auto_t *res = NULL;
	json_int_t v;
	int r = 0;

	if (argc < 1 || argv[0][0] == '-')
		return usage_error(
			"usage: netdctl platform attach NAME netns PATH mac MAC addr CIDR...");
	p = json_pack("{s:s}", "name", argv[0]);
	addrs = json_array();
	routes = json_array();
	ns = json_array();
	search = json_array();
	dns = json_object();
	NEXT_ARG();

#define NEED_VALUE()                                                                               \
	do {                                                                                       \
		if (argc < 2) {                                                                    \
			r = usage_error("'%s' needs a value", argv[0]);                            \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

	while (argc > 0) {
		if (streq(argv[0], "netns") || streq(argv[0], "mac") || streq(argv[0], "ifname") ||
		    streq(argv[0], "fault")) {
			/* fault: for tests against netd --enable-fault-injection */
			NEED_VALUE();
			json_object_set_new(p, argv[0], json_string(argv[1]));
		} else if (matches(argv[0], "address") || streq(argv[0], "addr")) {
			NEED_VALUE();
			json_array_append_new(addrs, json_string(argv[1]));
		} else if (streq(argv[0], "mtu")) {
			NEED_VALUE();
			if ((r = netdctl_parse_uint("mtu", argv[1], 65535, &v)))
				goto out;
			json_object_set_new(p, "mtu", json_integer(v));
		} else if (streq(argv[0], "route")) {
			if ((r = netdctl_parse_route(&argc, &argv, routes)))
				goto out;
			NEXT_ARG();
			continue;
		} else if (streq(argv[0], "nameserver")) {
			NEED_VALUE();
			json_array_append_new(ns, json_string(argv[1]));
		} else if (streq(argv[0], "search")) {
			NEED_VALUE();
			json_array_append_new(search, json_string(argv[1]));
		} else if (streq(argv[0], "domain")) {
			NEED_VALUE();
			json_object_set_new(dns, "domain", json_string(argv[1]));
		} else {
			r = usage_error("unknown argument '%s' for 'platform attach'", argv[0]);
			goto out;
		}
		NEXT_ARG();
		NEXT_ARG();
	}
#undef NEED_VALUE

	if (!json_object_get(p, "netns") || !json_object_get(p, "mac") ||
	    json_array_size(addrs) == 0) {
		r = usage_error("'platform attach' needs 'netns PATH', 'mac MAC' and 'addr CIDR'");
		goto out;
	}
	json_object_set(p, "addresses", addrs);
	if (json_array_size(routes))
		json_object_set(p, "routes", routes);
	if (json_array_size(ns))
		json_object_set(dns, "nameservers", ns);
	if (json_array_size(search))
		json_object_set(dns, "search", search);
	if (json_object_size(dns))
		json_object_set(p, "dns", dns);
	r = cli_call("platform.attach", TAKE_PTR(p), &res);
	if (r == 0)
		print_platform_detail(res);
out:
	json_decref(p);
	json_decref(addrs);
	json_decref(routes);
	json_decref(ns);
	json_decref(search);
	json_decref(dns);
	return r;
}

static int platform_detach(int argc, char **argv)
{
	json_auto_t *res = NULL;
	bool if_exists = false;
	const char *name = NULL;
	int r;

	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--if-exists"))
			if_exists = true;
		else if (!name)
			name = argv[i];
		else
			return usage_error("unexpected argument '%s' for 'platform detach'",
					   argv[i]);
	}
	if (!name)
		return usage_error("usage: netdctl platform detach NAME [ --if-exists ]");
	r = cli_call("platform.detach", json_pack("{s:s}", "name", name), &res);
	if (r)
		return r;
	if (!if_exists && !json_is_true(json_object_get(res, "detached"))) {
		print_errorf("netdctl", CTL_ERR_NOT_FOUND, NULL,
			     "No such platform ENI '%s': nothing to detach", name);
		return EXIT_FAILURE;
	}
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "name", "platform %s", json_str(res, "name"));
	print_bool(PRINT_JSON, "detached", "%s", json_is_true(json_object_get(res, "detached")));
	if (!json_is_true(json_object_get(res, "detached"))) {
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

static int platform_check(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *diffs, *d;
	size_t i;
	bool ok;
	int r;

	if (argc != 1)
		return usage_error("usage: netdctl platform check NAME");
	r = cli_call("platform.check", json_pack("{s:s}", "name", argv[0]), &res);
	if (r)
		return r;
	ok = json_is_true(json_object_get(res, "ok"));
	diffs = json_object_get(res, "differences");
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "name", "platform %s: ", json_str(res, "name"));
	print_bool(PRINT_JSON, "ok", "%s", ok);
	print_text("%s\n", ok ? "ok, the kernel matches the record" : "differs from its record");
	json_array_foreach(diffs, i, d)
		print_text("  %s: expected %s, found %s\n", json_str(d, "what"),
			   json_str(d, "expected"), json_str(d, "actual"));
	print_close_object();
	return ok ? 0 : EXIT_FAILURE;
}

static int platform_help(int argc, char **argv)
{
	printf("Usage: netdctl platform { list | show NAME | check NAME }\n"
	       "       netdctl platform detach NAME [ --if-exists ]\n"
	       "       netdctl platform attach NAME netns PATH mac MAC addr CIDR... [ ifname NAME ]\n"
	       "            [ mtu MTU ] [ route DST [ via GW ] [ mtu N ] [ advmss N ] [ metric N ]\n"
	       "            [ table N ] ]... [ nameserver IP ]... [ search DOMAIN ]...\n"
	       "            [ domain DOMAIN ]\n");
	return 0;
}

static const struct netdctl_cmd platform_cmds[] = { { "list", platform_list },
						    { "show", platform_show },
						    { "attach", platform_attach },
						    { "detach", platform_detach },
						    { "check", platform_check },
						    { "help", platform_help },
						    {} };

int do_platform(int argc, char **argv)
{
	return netdctl_dispatch("platform", platform_cmds, argc, argv);
}
