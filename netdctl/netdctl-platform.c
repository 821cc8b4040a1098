// SPDX-License-Identifier: GPL-2.0-only
/* netdctl platform: list, show, attach, detach, check (platform ENIs, platform version 1.3.0). */
#include "ctl-proto.h"
#include "netdctl.h"

static const struct netdctl_object platform_object = {
	.name = "platform",
	.key = "name",
	.arg = "NAME",
	.noun = "platform ENI",
	.detach_hint = "",
};

static void print_platform_row(json_t *p)
{
	char addrs[256];

	netdctl_join(json_object_get(p, "addresses"), NULL, addrs, sizeof(addrs));
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
	netdctl_print_dns(dns);
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

	return netdctl_list(&platform_object, headers, print_platform_row, argc, argv);
}

static int platform_show(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	r = netdctl_call_one(&platform_object, "show", argc, argv, &res);
	if (r)
		return r;
	print_platform_detail(res);
	return 0;
}

static int platform_attach(int argc, char **argv)
{
	_cleanup_(netdctl_attach_done) struct netdctl_attach a = {};
	json_auto_t *res = NULL;
	int r = 0;

	if (argc < 1 || argv[0][0] == '-')
		return usage_error(
			"usage: netdctl platform attach NAME netns PATH mac MAC addr CIDR...");
	netdctl_attach_init(&a, "name", argv[0]);
	NEXT_ARG();
	while (argc > 0) {
		if (!netdctl_attach_arg(&a, &argc, &argv, &r))
			return usage_error("unknown argument '%s' for 'platform attach'", argv[0]);
		if (r)
			return r;
	}
	if (!json_object_get(a.params, "netns") || !json_object_get(a.params, "mac") ||
	    json_array_size(a.addrs) == 0)
		return usage_error(
			"'platform attach' needs 'netns PATH', 'mac MAC' and 'addr CIDR'");
	netdctl_attach_finish(&a);
	r = cli_call("platform.attach", TAKE_PTR(a.params), &res);
	if (r == 0)
		print_platform_detail(res);
	return r;
}

static int platform_detach(int argc, char **argv)
{
	return netdctl_detach(&platform_object, argc, argv);
}

static int platform_check(int argc, char **argv)
{
	return netdctl_check(&platform_object, argc, argv);
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
