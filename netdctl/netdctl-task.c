// SPDX-License-Identifier: GPL-2.0-only
/* netdctl task: list, show, attach, detach, check, phase, hold, release, holds. */
#include "ctl-proto.h"
#include "netdctl.h"

static void print_task_row(json_t *t)
{
	char eni[64], addrs[256] = "";
	json_t *ips = json_object_get(t, "ips"), *ip;
	size_t i, n = 0;

	snprintf(eni, sizeof(eni), "%s%s%s%s", json_str(t, "mac"),
		 json_str(t, "host_ifname") ? " (" : "", json_str(t, "host_ifname") ?: "",
		 json_str(t, "host_ifname") ? ")" : "");
	json_array_foreach(ips, i, ip)
		n += (size_t)snprintf(addrs + MIN(n, sizeof(addrs)),
				      sizeof(addrs) - MIN(n, sizeof(addrs)), "%s%s", i ? "," : "",
				      json_str(ip, "address"));

	print_open_object(NULL, t);
	print_string(PRINT_ANY, "task_id", "%s", json_str(t, "task_id"));
	print_string(PRINT_ANY, "phase", "%s", json_str(t, "phase"));
	print_string(PRINT_FP, NULL, "%s", eni);
	print_string(PRINT_ANY, "ifname", "%s", json_str(t, "ifname"));
	print_string(PRINT_FP, NULL, "%s", addrs);
	print_string(PRINT_ANY, "netns", "%s", json_str(t, "netns"));
	print_close_object();
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
	netdctl_print_strings("nameservers", json_object_get(dns, "nameservers"));
	netdctl_print_strings("search", json_object_get(dns, "search"));
	if (json_str(dns, "domain"))
		print_text("  domain %s\n", json_str(dns, "domain"));
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
	json_auto_t *res = NULL;
	json_t *t;
	size_t i;
	int r;

	if (argc > 0)
		return usage_error("'task list' takes no arguments, got '%s'", argv[0]);
	r = cli_call("task.list", NULL, &res);
	if (r)
		return r;
	print_table_begin(headers);
	print_open_array(NULL);
	json_array_foreach(res, i, t)
		print_task_row(t);
	print_close_array();
	print_table_end();
	return 0;
}

static int task_show(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	if (argc != 1)
		return usage_error("usage: netdctl task show ID");
	r = cli_call("task.show", json_pack("{s:s}", "task_id", argv[0]), &res);
	if (r)
		return r;
	print_task_detail(res);
	return 0;
}

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

/* route DST [ via GW ] [ mtu N ] [ advmss N ] [ metric N ] [ table N ] */
int netdctl_parse_route(int *pargc, char ***pargv, json_t *routes)
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

static int task_attach(int argc, char **argv)
{
	json_t *p, *addrs, *routes, *ns, *search, *attrs, *dns;
	json_auto_t *res = NULL;
	json_int_t v;
	int r;

	if (argc < 1 || argv[0][0] == '-')
		return usage_error(
			"usage: netdctl task attach ID netns PATH mac MAC [ addr CIDR ]...");
	p = json_pack("{s:s}", "task_id", argv[0]);
	addrs = json_array();
	routes = json_array();
	ns = json_array();
	search = json_array();
	attrs = json_object();
	dns = json_object();
	NEXT_ARG();

#define NEED_VALUE()                                                                               \
	do {                                                                                       \
		if (argc < 2) {                                                                    \
			r = usage_error("'%s' needs a value", argv[0]);                            \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

	r = 0;
	while (argc > 0) {
		if (streq(argv[0], "netns")) {
			NEED_VALUE();
			json_object_set_new(p, "netns", json_string(argv[1]));
		} else if (streq(argv[0], "mac")) {
			NEED_VALUE();
			json_object_set_new(p, "mac", json_string(argv[1]));
		} else if (streq(argv[0], "ifname") || streq(argv[0], "dev")) {
			NEED_VALUE();
			json_object_set_new(p, "ifname", json_string(argv[1]));
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
		} else if (streq(argv[0], "imds")) {
			NEED_VALUE();
			if (!streq(argv[1], "block") && !streq(argv[1], "allow")) {
				r = usage_error("'imds' takes 'block' or 'allow', not '%s'",
						argv[1]);
				goto out;
			}
			json_object_set_new(p, "block_imds", json_boolean(streq(argv[1], "block")));
		} else if (streq(argv[0], "metadata")) {
			NEED_VALUE();
			if (!streq(argv[1], "on") && !streq(argv[1], "off")) {
				r = usage_error("'metadata' takes 'on' or 'off', not '%s'",
						argv[1]);
				goto out;
			}
			json_object_set_new(p, "metadata_link", json_boolean(streq(argv[1], "on")));
		} else if (streq(argv[0], "phase")) {
			NEED_VALUE();
			json_object_set_new(p, "phase", json_string(argv[1]));
		} else if (streq(argv[0], "wiring")) {
			NEED_VALUE();
			json_object_set_new(p, "wiring", json_string(argv[1]));
		} else if (streq(argv[0], "wait")) {
			NEED_VALUE();
			if ((r = netdctl_parse_uint("wait", argv[1], 600000, &v)))
				goto out;
			json_object_set_new(p, "timeout_ms", json_integer(v));
		} else if (streq(argv[0], "attr")) {
			char *eq;

			NEED_VALUE();
			eq = strchr(argv[1], '=');
			if (!eq || eq == argv[1]) {
				r = usage_error("'attr' wants KEY=VALUE, not '%s'", argv[1]);
				goto out;
			}
			*eq = '\0';
			json_object_set_new(attrs, argv[1], json_string(eq + 1));
		} else if (streq(argv[0], "fault")) {
			/* for tests against netd --enable-fault-injection */
			NEED_VALUE();
			json_object_set_new(p, "fault", json_string(argv[1]));
		} else {
			r = usage_error("unknown argument '%s' for 'task attach'", argv[0]);
			goto out;
		}
		NEXT_ARG();
		NEXT_ARG();
	}
#undef NEED_VALUE

	if (!json_object_get(p, "netns") || !json_object_get(p, "mac")) {
		r = usage_error("'task attach' needs 'netns PATH' and 'mac MAC'");
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
	if (json_object_size(attrs))
		json_object_set(p, "attrs", attrs);

	r = cli_call("task.attach", TAKE_PTR(p), &res);
	if (r == 0)
		print_task_detail(res);
out:
	json_decref(p);
	json_decref(addrs);
	json_decref(routes);
	json_decref(ns);
	json_decref(search);
	json_decref(attrs);
	json_decref(dns);
	return r;
}

/* netd's detach succeeds for an unknown task (CNI's DEL needs that); the CLI, as ip, does not. */
static int task_detach(int argc, char **argv)
{
	json_auto_t *res = NULL;
	bool if_exists = false;
	const char *id = NULL;
	int r;

	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--if-exists"))
			if_exists = true;
		else if (!id)
			id = argv[i];
		else
			return usage_error("unexpected argument '%s' for 'task detach'", argv[i]);
	}
	if (!id)
		return usage_error("usage: netdctl task detach ID [ --if-exists ]");
	r = cli_call("task.detach", json_pack("{s:s}", "task_id", id), &res);
	if (r)
		return r;
	if (!if_exists && !json_is_true(json_object_get(res, "detached"))) {
		print_errorf(
			"netdctl", CTL_ERR_NOT_FOUND, NULL,
			"No such task '%s': nothing to detach (--if-exists makes this a success)",
			id);
		return EXIT_FAILURE;
	}
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "task_id", "task %s", json_str(res, "task_id"));
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

static int task_check(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *diffs, *d;
	size_t i;
	bool ok;
	int r;

	if (argc != 1)
		return usage_error("usage: netdctl task check ID");
	r = cli_call("task.check", json_pack("{s:s}", "task_id", argv[0]), &res);
	if (r)
		return r;
	ok = json_is_true(json_object_get(res, "ok"));
	diffs = json_object_get(res, "differences");
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "task_id", "task %s: ", json_str(res, "task_id"));
	print_bool(PRINT_JSON, "ok", "%s", ok);
	print_text("%s\n", ok ? "ok, the kernel matches the record" : "differs from its record");
	json_array_foreach(diffs, i, d)
		print_text("  %s: expected %s, found %s\n", json_str(d, "what"),
			   json_str(d, "expected"), json_str(d, "actual"));
	print_close_object();
	return ok ? 0 : EXIT_FAILURE;
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
	json_t *v;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(obj, "holders"), i, v)
		n += (size_t)snprintf(buf + MIN(n, size), size - MIN(n, size), "%s%s", i ? "," : "",
				      json_string_value(v));
	return buf;
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
	json_t *p = NULL, *h;
	size_t i;
	int r;

	if (argc == 2 && streq(argv[0], "holder"))
		p = json_pack("{s:s}", "holder", argv[1]);
	else if (argc > 0)
		return usage_error("usage: netdctl task holds [ holder NAME ]");
	r = cli_call("task.holds", p, &res);
	if (r)
		return r;
	print_table_begin(headers);
	print_open_array(NULL);
	json_array_foreach(res, i, h)
		print_hold(h);
	print_close_array();
	print_table_end();
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
