// SPDX-License-Identifier: GPL-2.0-only
/*
 * netdctl: talk to netd over its control socket. Tables for people, -j/-p JSON for programs.
 *   netdctl [OPTIONS] { eni | task | platform | stats | flows | health | events } [COMMAND] [ARGS]
 */
#include "ctl-proto.h"
#include "netdctl.h"

int netdctl_dispatch(const char *object, const struct netdctl_cmd *cmds, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "list";

	if (argc > 0 && (streq(verb, "help") || streq(verb, "-h") || streq(verb, "--help")))
		verb = "help";
	for (const struct netdctl_cmd *c = cmds; c->name; c++)
		if (matches(verb, c->name))
			return c->fn(argc > 0 ? argc - 1 : 0, argc > 0 ? argv + 1 : argv);
	return usage_error("unknown command '%s' for '%s'", verb, object);
}

void netdctl_table(json_t *res, const char *const *headers, void (*row)(json_t *m))
{
	json_t *m;
	size_t i;

	print_table_begin(headers);
	print_open_array(NULL);
	json_array_foreach(res, i, m)
		row(m);
	print_close_array();
	print_table_end();
}

int netdctl_list(const struct netdctl_object *o, const char *const *headers, void (*row)(json_t *m),
		 int argc, char **argv)
{
	json_auto_t *res = NULL;
	char command[64], method[64];
	int r;

	snprintf(command, sizeof(command), "%s list", o->name);
	snprintf(method, sizeof(method), "%s.list", o->name);
	r = cli_call_noargs(command, method, argc, argv, &res);
	if (r)
		return r;
	netdctl_table(res, headers, row);
	return 0;
}

int netdctl_call_one(const struct netdctl_object *o, const char *verb, int argc, char **argv,
		     json_t **ret_result)
{
	char method[64];

	if (argc != 1)
		return usage_error("usage: netdctl %s %s %s", o->name, verb, o->arg);
	snprintf(method, sizeof(method), "%s.%s", o->name, verb);
	return cli_call(method, json_pack("{s:s}", o->key, argv[0]), ret_result);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: netdctl [OPTIONS] OBJECT [COMMAND] [ARGS]\n"
		"\n"
		"OBJECT := { eni | task | platform | stats | flows | health | events }\n"
		"\n"
		"  eni list\n"
		"  eni show MAC\n"
		"  eni register MAC subnet CIDR gateway IP [ name NAME ] [ subnet6 CIDR ] [ gateway6 IP ]\n"
		"  eni deregister MAC\n"
		"  task list\n"
		"  task show ID\n"
		"  task attach ID netns PATH mac MAC [ ifname NAME ] [ addr CIDR ]... [ mtu MTU ]\n"
		"              [ route DST [ via GW ] [ mtu MTU ] [ advmss N ] [ metric N ] [ table N ] ]...\n"
		"              [ nameserver IP ]... [ search DOMAIN ]... [ domain DOMAIN ]\n"
		"              [ imds { block | allow } ] [ metadata { on | off } ]\n"
		"              [ phase { READY | READY_PULL } ] [ wait MS ]\n"
		"              [ attr KEY=VALUE ]... [ wiring { none | vm } ]\n"
		"  task detach ID [ --if-exists ]\n"
		"  task check ID\n"
		"  task phase ID { READY | READY_PULL }\n"
		"  task { hold | release } ID holder NAME [ instance INSTANCE ]\n"
		"  task holds [ holder NAME ]\n"
		"  platform list\n"
		"  platform show NAME\n"
		"  platform attach NAME netns PATH mac MAC addr CIDR... [ ifname NAME ] [ mtu MTU ]\n"
		"              [ route DST [ via GW ] ... ]... [ nameserver IP ]... [ search DOMAIN ]...\n"
		"              [ domain DOMAIN ]\n"
		"  platform detach NAME [ --if-exists ]\n"
		"  platform check NAME\n"
		"  stats [ TASK ] [ -j ] [ --watch ]\n"
		"  stats collect [ TASK ]\n"
		"  flows TASK\n"
		"  health\n"
		"  events [ follow ]\n"
		"\n"
		"Options:\n"
		"  -j, --json           JSON output (errors too)\n"
		"  -p, --pretty         pretty JSON output\n"
		"  -s, --socket PATH    netd's control socket (default %s, or $NETD_SOCKET)\n"
		"  -t, --timeout MS     how long to wait for netd's answer (default 120000)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n"
		"\n"
		"Exit status: 0 success, 1 failure (a check that finds differences too), 2 usage.\n",
		CTL_DEFAULT_SOCKET);
}

static const struct netdctl_cmd objects[] = { { "eni", do_eni },	   { "task", do_task },
					      { "platform", do_platform }, { "stats", do_stats },
					      { "flows", do_flows },	   { "health", do_health },
					      { "events", do_events },	   {} };

int main(int argc, char **argv)
{
	static struct cli cli = { .prog = "netdctl",
				  .peer = "netd",
				  .socket_env = "NETD_SOCKET",
				  .socket = CTL_DEFAULT_SOCKET,
				  .timeout_ms = 120000,
				  .usage = usage };
	int r;

	r = cli_start(&cli, &argc, &argv);
	if (r >= 0)
		return r;
	for (const struct netdctl_cmd *o = objects; o->name; o++)
		if (matches(argv[0], o->name)) {
			r = o->fn(argc - 1, argv + 1);
			print_flush();
			return r;
		}
	return usage_error("unknown object '%s'", argv[0]);
}
