// SPDX-License-Identifier: GPL-2.0-only
/* netdctl task: list, show, attach, detach, check, phase, hold, release, holds. */
#include "ctl-proto.h"
#include "netdctl.h"

static const struct netdctl_object task_object = {
	.name = "task",
	.key = "task_id",
	.arg = "ID",
	.noun = "task",
	.detach_hint = " (--if-exists makes this a success)",
};

static void print_task_row(json_t *t)
{
	char eni[64], addrs[256];

	snprintf(eni, sizeof(eni), "%s%s%s%s", json_str(t, "mac"),
		 json_str(t, "host_ifname") ? " (" : "", json_str(t, "host_ifname") ?: "",
		 json_str(t, "host_ifname") ? ")" : "");
	netdctl_join(json_object_get(t, "ips"), "address", addrs, sizeof(addrs));

	print_open_object(NULL, t);
	print_string(PRINT_ANY, "task_id", "%s", json_str(t, "task_id"));
	print_string(PRINT_ANY, "phase", "%s", json_str(t, "phase"));
	print_string(PRINT_FP, NULL, "%s", eni);
	print_string(PRINT_ANY, "ifname", "%s", json_str(t, "ifname"));
	print_string(PRINT_FP, NULL, "%s", addrs);
	print_string(PRINT_ANY, "netns", "%s", json_str(t, "netns"));
	print_close_object();
}

static void print_task_detail(json_t *t)
{
	json_t *ips = json_object_get(t, "ips"), *dns = json_object_get(t, "dns"), *ip;
	json_t *attrs = json_object_get(t, "attrs"), *v;
	const char *k;
	size_t i;

	print_open_object(NULL, t);
	print_string(PRINT_ANY, "task_id", "task %s\n", json_str(t, "task_id"));
	print_string(PRINT_ANY, "phase", "  phase %s", json_str(t, "phase"));
	if (json_is_true(json_object_get(t, "waiting_for_eni")))
		print_text(" (waiting for its ENI)");
	print_text("\n");
	print_string(PRINT_ANY, "netns", "  netns %s\n", json_str(t, "netns"));
	print_string(PRINT_ANY, "mac", "  eni %s", json_str(t, "mac"));
	if (json_str(t, "host_ifname"))
		print_string(PRINT_ANY, "host_ifname", " (host name %s)",
			     json_str(t, "host_ifname"));
	print_text("\n");
	print_string(PRINT_ANY, "ifname", "  interface %s", json_str(t, "ifname"));
	print_int(PRINT_ANY, "mtu", " mtu %" PRId64 "\n", json_int(t, "mtu"));
	json_array_foreach(ips, i, ip) {
		print_text("  address %s", json_str(ip, "address"));
		if (json_str(ip, "gateway"))
			print_text(" gateway %s", json_str(ip, "gateway"));
		print_text("\n");
	}
	netdctl_print_routes(json_object_get(t, "routes"));
	print_bool(PRINT_ANY, "block_imds", "  imds blocked %s\n",
		   json_is_true(json_object_get(t, "block_imds")));
	if (json_object_get(t, "metadata")) {
		json_t *md = json_object_get(t, "metadata");

		print_text("  metadata link %s %s <-> %s %s:%lld\n", json_str(md, "ifname"),
			   json_str(md, "address"), json_str(md, "host_ifname"),
			   json_str(md, "endpoint"), (long long)json_int(md, "port"));
	}
	netdctl_print_dns(dns);
	netdctl_print_strings("options", json_object_get(dns, "options"));
	json_object_foreach(attrs, k, v)
		print_text("  attr %s=%s\n", k, json_string_value(v));
	netdctl_print_strings("held by", json_object_get(t, "holders"));
	if (json_str(t, "wiring"))
		print_text("  wiring %s: tap0 beside %s%s\n", json_str(t, "wiring"),
			   json_str(t, "ifname"),
			   json_object_get(t, "metadata") ? ", tapmd beside md0" : "");
	print_string(PRINT_ANY, "created", "  created %s\n", json_str(t, "created"));
	print_close_object();
}

static int task_list(int argc, char **argv)
{
	static const char *const headers[] = { "TASK",	    "PHASE", "ENI", "IFNAME",
					       "ADDRESSES", "NETNS", NULL };

	return netdctl_list(&task_object, headers, print_task_row, argc, argv);
}

static int task_show(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	r = netdctl_call_one(&task_object, "show", argc, argv, &res);
	if (r)
		return r;
	print_task_detail(res);
	return 0;
}

static int task_attach(int argc, char **argv)
{
	_cleanup_(netdctl_attach_done) struct netdctl_attach a = {};
	json_auto_t *attrs = NULL, *res = NULL;
	json_int_t v;
	int r = 0;

	if (argc < 1 || argv[0][0] == '-')
		return usage_error(
			"usage: netdctl task attach ID netns PATH mac MAC [ addr CIDR ]...");
	netdctl_attach_init(&a, "task_id", argv[0]);
	attrs = json_object();
	NEXT_ARG();

#define NEED_VALUE()                                                                               \
	do {                                                                                       \
		if (argc < 2)                                                                      \
			return usage_error("'%s' needs a value", argv[0]);                         \
	} while (0)

	while (argc > 0) {
		if (netdctl_attach_arg(&a, &argc, &argv, &r)) {
			if (r)
				return r;
			continue;
		}
		if (streq(argv[0], "dev")) {
			NEED_VALUE();
			json_object_set_new(a.params, "ifname", json_string(argv[1]));
		} else if (streq(argv[0], "imds")) {
			NEED_VALUE();
			if (!streq(argv[1], "block") && !streq(argv[1], "allow"))
				return usage_error("'imds' takes 'block' or 'allow', not '%s'",
						   argv[1]);
			json_object_set_new(a.params, "block_imds",
					    json_boolean(streq(argv[1], "block")));
		} else if (streq(argv[0], "metadata")) {
			NEED_VALUE();
			if (!streq(argv[1], "on") && !streq(argv[1], "off"))
				return usage_error("'metadata' takes 'on' or 'off', not '%s'",
						   argv[1]);
			json_object_set_new(a.params, "metadata_link",
					    json_boolean(streq(argv[1], "on")));
		} else if (streq(argv[0], "phase") || streq(argv[0], "wiring")) {
			NEED_VALUE();
			json_object_set_new(a.params, argv[0], json_string(argv[1]));
		} else if (streq(argv[0], "wait")) {
			NEED_VALUE();
			if ((r = netdctl_parse_uint("wait", argv[1], 600000, &v)))
				return r;
			json_object_set_new(a.params, "timeout_ms", json_integer(v));
		} else if (streq(argv[0], "attr")) {
			char *eq;

			NEED_VALUE();
			eq = strchr(argv[1], '=');
			if (!eq || eq == argv[1])
				return usage_error("'attr' wants KEY=VALUE, not '%s'", argv[1]);
			*eq = '\0';
			json_object_set_new(attrs, argv[1], json_string(eq + 1));
		} else {
			return usage_error("unknown argument '%s' for 'task attach'", argv[0]);
		}
		NEXT_ARG();
		NEXT_ARG();
	}
#undef NEED_VALUE

	if (!json_object_get(a.params, "netns") || !json_object_get(a.params, "mac"))
		return usage_error("'task attach' needs 'netns PATH' and 'mac MAC'");
	netdctl_attach_finish(&a);
	if (json_object_size(attrs))
		json_object_set(a.params, "attrs", attrs);

	r = cli_call("task.attach", TAKE_PTR(a.params), &res);
	if (r == 0)
		print_task_detail(res);
	return r;
}

static int task_detach(int argc, char **argv)
{
	return netdctl_detach(&task_object, argc, argv);
}

static int task_check(int argc, char **argv)
{
	return netdctl_check(&task_object, argc, argv);
}

static int task_phase(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	if (argc != 2)
		return usage_error("usage: netdctl task phase ID { READY | READY_PULL }");
	r = cli_call("task.set_phase",
		     json_pack("{s:s, s:s}", "task_id", argv[0], "phase", argv[1]), &res);
	if (r)
		return r;
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "task_id", "task %s", json_str(res, "task_id"));
	print_string(PRINT_ANY, "phase", " is %s\n", json_str(res, "phase"));
	print_close_object();
	return 0;
}

/* ID holder NAME [ instance INSTANCE ]: the parameters of task.hold and task.release. */
static int hold_args(const char *verb, int argc, char **argv, json_t **ret)
{
	json_t *p;

	if (argc < 1 || argv[0][0] == '-')
		return usage_error("usage: netdctl task %s ID holder NAME [ instance INSTANCE ]",
				   verb);
	p = json_pack("{s:s}", "task_id", argv[0]);
	NEXT_ARG();
	while (argc > 0) {
		if (!streq(argv[0], "holder") && !streq(argv[0], "instance")) {
			json_decref(p);
			return usage_error("unknown argument '%s' for 'task %s'", argv[0], verb);
		}
		if (argc < 2) {
			json_decref(p);
			return usage_error("'%s' needs a value", argv[0]);
		}
		json_object_set_new(p, argv[0], json_string(argv[1]));
		NEXT_ARG();
		NEXT_ARG();
	}
	if (!json_object_get(p, "holder")) {
		json_decref(p);
		return usage_error("'task %s' needs 'holder NAME'", verb);
	}
	*ret = p;
	return 0;
}

/* The holders of a hold or a task, comma-separated. */
static const char *holders_text(json_t *obj, char *buf, size_t size)
{
	return netdctl_join(json_object_get(obj, "holders"), NULL, buf, size);
}

static void print_hold(json_t *h)
{
	char names[256];

	holders_text(h, names, sizeof(names));
	print_open_object(NULL, h);
	print_string(PRINT_ANY, "task_id", "%s", json_str(h, "task_id"));
	print_string(PRINT_ANY, "state", "%s", json_str(h, "state"));
	print_int(PRINT_ANY, "slot", "%" PRId64, json_int(h, "slot"));
	print_string(PRINT_ANY, "metadata_address", "%s", json_str(h, "metadata_address") ?: "-");
	print_string(PRINT_FP, NULL, "%s", names);
	print_string(PRINT_FP, NULL, "%s", json_str(h, "detached") ?: "-");
	print_close_object();
}

static int task_hold(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *p = NULL;
	char names[256];
	int r;

	r = hold_args("hold", argc, argv, &p);
	if (r)
		return r;
	r = cli_call("task.hold", p, &res);
	if (r)
		return r;
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "task_id", "task %s", json_str(res, "task_id"));
	print_int(PRINT_ANY, "slot", " (slot %" PRId64 ")", json_int(res, "slot"));
	print_text(" is held by %s\n", holders_text(res, names, sizeof(names)));
	print_close_object();
	return 0;
}

static int task_release(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *p = NULL;
	int r;

	r = hold_args("release", argc, argv, &p);
	if (r)
		return r;
	r = cli_call("task.release", p, &res);
	if (r)
		return r;
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "task_id", "task %s", json_str(res, "task_id"));
	print_string(PRINT_ANY, "holder", ": '%s'", json_str(res, "holder"));
	print_int(PRINT_ANY, "released", " released %" PRId64 " hold(s)\n",
		  json_int(res, "released"));
	print_close_object();
	return 0;
}

static int task_holds(int argc, char **argv)
{
	static const char *const headers[] = { "TASK",	  "STATE",    "SLOT", "ADDRESS",
					       "HOLDERS", "DETACHED", NULL };
	json_auto_t *res = NULL;
	json_t *p = NULL;
	int r;

	if (argc == 2 && streq(argv[0], "holder"))
		p = json_pack("{s:s}", "holder", argv[1]);
	else if (argc > 0)
		return usage_error("usage: netdctl task holds [ holder NAME ]");
	r = cli_call("task.holds", p, &res);
	if (r)
		return r;
	netdctl_table(res, headers, print_hold);
	return 0;
}

static int task_help(int argc, char **argv)
{
	printf("Usage: netdctl task { list | show ID | check ID }\n"
	       "       netdctl task detach ID [ --if-exists ]\n"
	       "       netdctl task phase ID { READY | READY_PULL }\n"
	       "       netdctl task { hold | release } ID holder NAME [ instance INSTANCE ]\n"
	       "       netdctl task holds [ holder NAME ]\n"
	       "       netdctl task attach ID netns PATH mac MAC [ ifname NAME ] [ addr CIDR ]...\n"
	       "            [ mtu MTU ] [ route DST [ via GW ] [ mtu N ] [ advmss N ] [ metric N ]\n"
	       "            [ table N ] ]... [ nameserver IP ]... [ search DOMAIN ]...\n"
	       "            [ domain DOMAIN ] [ imds { block | allow } ] [ metadata { on | off } ]\n"
	       "            [ phase { READY | READY_PULL } ] [ wait MS ] [ attr KEY=VALUE ]...\n"
	       "            [ wiring { none | vm } ]\n");
	return 0;
}

static const struct netdctl_cmd task_cmds[] = { { "list", task_list },
						{ "show", task_show },
						{ "attach", task_attach },
						{ "detach", task_detach },
						{ "check", task_check },
						{ "phase", task_phase },
						{ "hold", task_hold },
						{ "holds", task_holds },
						{ "release", task_release },
						{ "help", task_help },
						{} };

int do_task(int argc, char **argv)
{
	return netdctl_dispatch("task", task_cmds, argc, argv);
}
