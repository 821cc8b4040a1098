// SPDX-License-Identifier: GPL-2.0-only
/* netdctl eni: list, show, register, deregister. */
#include "ctl-proto.h"
#include "netdctl.h"

/* ENIs are not detached: no noun for it. */
static const struct netdctl_object eni_object = {
	.name = "eni",
	.key = "mac",
	.arg = "MAC",
};

static void print_eni_row(json_t *e)
{
	const char *task = json_str(e, "task_id");

	print_open_object(NULL, e);
	print_string(PRINT_ANY, "mac", "%s", json_str(e, "mac"));
	print_string(PRINT_ANY, "state", "%s", json_str(e, "state"));
	print_string(PRINT_FP, "ifname", "%s", json_str(e, "ifname"));
	print_string(PRINT_ANY, "subnet", "%s", json_str(e, "subnet"));
	print_string(PRINT_ANY, "gateway", "%s", json_str(e, "gateway"));
	print_string(PRINT_FP, "task_id", "%s", task);
	print_string(PRINT_ANY, "name", "%s", *json_str(e, "name") ? json_str(e, "name") : NULL);
	print_close_object();
}

static void print_eni_detail(json_t *e)
{
	print_open_object(NULL, e);
	print_string(PRINT_ANY, "mac", "eni %s\n", json_str(e, "mac"));
	print_string(PRINT_ANY, "state", "  state %s\n", json_str(e, "state"));
	if (json_str(e, "ifname")) {
		print_string(PRINT_ANY, "ifname", "  host interface %s", json_str(e, "ifname"));
		print_int(PRINT_ANY, "ifindex", " (index %" PRId64 ")", json_int(e, "ifindex"));
		print_int(PRINT_ANY, "mtu", " mtu %" PRId64 "\n", json_int(e, "mtu"));
	}
	print_string(PRINT_ANY, "subnet", "  subnet %s", json_str(e, "subnet"));
	print_string(PRINT_ANY, "gateway", " gateway %s\n", json_str(e, "gateway"));
	if (json_str(e, "subnet6")) {
		print_string(PRINT_ANY, "subnet6", "  subnet6 %s", json_str(e, "subnet6"));
		print_string(PRINT_ANY, "gateway6", " gateway6 %s", json_str(e, "gateway6"));
		print_text("\n");
	}
	if (json_str(e, "task_id"))
		print_string(PRINT_ANY, "task_id", "  task %s\n", json_str(e, "task_id"));
	if (*json_str(e, "name"))
		print_string(PRINT_ANY, "name", "  name %s\n", json_str(e, "name"));
	print_string(PRINT_ANY, "registered", "  registered %s\n", json_str(e, "registered"));
	print_close_object();
}

static int eni_list(int argc, char **argv)
{
	static const char *const headers[] = { "MAC",	  "STATE", "IFNAME", "SUBNET",
					       "GATEWAY", "TASK",  "NAME",   NULL };

	return netdctl_list(&eni_object, headers, print_eni_row, argc, argv);
}

static int eni_show(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	r = netdctl_call_one(&eni_object, "show", argc, argv, &res);
	if (r)
		return r;
	print_eni_detail(res);
	return 0;
}

static int eni_register(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *p;
	int r;

	if (argc < 1)
		return usage_error(
			"usage: netdctl eni register MAC subnet CIDR gateway IP [ name NAME ]");
	p = json_pack("{s:s}", "mac", argv[0]);
	NEXT_ARG();
	while (argc > 0) {
		const char *key = NULL;

		if (matches(argv[0], "subnet") && !streq(argv[0], "subnet6"))
			key = "subnet";
		else if (streq(argv[0], "subnet6"))
			key = "subnet6";
		else if (matches(argv[0], "gateway") && !streq(argv[0], "gateway6"))
			key = "gateway";
		else if (streq(argv[0], "gateway6"))
			key = "gateway6";
		else if (matches(argv[0], "name"))
			key = "name";
		if (!key) {
			json_decref(p);
			return usage_error("unknown argument '%s' for 'eni register'", argv[0]);
		}
		if (argc < 2) {
			json_decref(p);
			return usage_error("'%s' needs a value", argv[0]);
		}
		json_object_set_new(p, key, json_string(argv[1]));
		NEXT_ARG();
		NEXT_ARG();
	}
	r = cli_call("eni.register", p, &res);
	if (r)
		return r;
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "mac", "ENI %s registered", json_str(res, "mac"));
	print_string(PRINT_ANY, "state", ": %s", json_str(res, "state"));
	if (json_str(res, "ifname"))
		print_string(PRINT_ANY, "ifname", " as %s", json_str(res, "ifname"));
	print_text("\n");
	print_close_object();
	return 0;
}

static int eni_deregister(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	if (argc != 1)
		return usage_error("usage: netdctl eni deregister MAC");
	r = cli_call("eni.deregister", json_pack("{s:s}", "mac", argv[0]), &res);
	if (r)
		return r;
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "mac", "ENI %s deregistered\n", json_str(res, "mac"));
	print_close_object();
	return 0;
}

static int eni_help(int argc, char **argv)
{
	printf("Usage: netdctl eni { list | show MAC | deregister MAC }\n"
	       "       netdctl eni register MAC subnet CIDR gateway IP [ name NAME ]\n"
	       "                            [ subnet6 CIDR ] [ gateway6 IP ]\n");
	return 0;
}

static const struct netdctl_cmd eni_cmds[] = {
	{ "list", eni_list },	      { "show", eni_show },
	{ "register", eni_register }, { "deregister", eni_deregister },
	{ "help", eni_help },	      {}
};

int do_eni(int argc, char **argv)
{
	return netdctl_dispatch("eni", eni_cmds, argc, argv);
}
