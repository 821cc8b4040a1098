// SPDX-License-Identifier: GPL-2.0-only
/*
 * netdctl: talk to netd over its control socket. Tables for people, -j/-p JSON for programs.
 *   netdctl [OPTIONS] { eni | task | stats | flows | health | events } [COMMAND] [ARGS]
 */
#include <getopt.h>
#include <stdarg.h>

#include "ctl-proto.h"
#include "netdctl.h"

const char *netdctl_socket = CTL_DEFAULT_SOCKET;
int netdctl_timeout_ms = 120000;

bool matches(const char *arg, const char *word)
{
	size_t n = strlen(arg);

	return n > 0 && n <= strlen(word) && strncmp(arg, word, n) == 0;
}

int usage_error(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	print_errorf("netdctl", NULL, "%s (try 'netdctl --help')", msg ?: "usage error");
	free(msg);
	return EXIT_USAGE;
}

const char *json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_int_t json_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

int netdctl_connect(struct ctl_client **ret)
{
	int r = ctl_client_open(netdctl_socket, ret);

	if (r < 0) {
		json_t *data = json_pack("{s:s, s:s}", "errno", ctl_errno_name(r), "socket",
					 netdctl_socket);

		print_errorf("netdctl", data, "Cannot reach netd at '%s': %s", netdctl_socket,
			     strerror(-r));
		json_decref(data);
		return EXIT_FAILURE;
	}
	return 0;
}

int netdctl_call(const char *method, json_t *params, json_t **ret_result)
{
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};
	int r;

	r = netdctl_connect(&c);
	if (r) {
		json_decref(params);
		return r;
	}
	r = ctl_client_call(c, method, params, netdctl_timeout_ms, ret_result, &err);
	if (r < 0) {
		json_t *data = err.data && json_is_object(err.data) ? json_deep_copy(err.data)
								    : json_object();

		json_object_set_new(data, "code", json_integer(err.code));
		print_errorf("netdctl", data, "%s", err.message ?: strerror(-r));
		json_decref(data);
		return EXIT_FAILURE;
	}
	return 0;
}

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

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: netdctl [OPTIONS] OBJECT [COMMAND] [ARGS]\n"
		"\n"
		"OBJECT := { eni | task | stats | flows | health | events }\n"
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
		"              [ attr KEY=VALUE ]...\n"
		"  task detach ID\n"
		"  task check ID\n"
		"  task phase ID { READY | READY_PULL }\n"
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

static const struct netdctl_cmd objects[] = { { "eni", do_eni },
					      { "task", do_task },
					      { "stats", do_stats },
					      { "flows", do_flows },
					      { "health", do_health },
					      { "events", do_events },
					      {} };

int main(int argc, char **argv)
{
	static const struct option options[] = { { "json", no_argument, NULL, 'j' },
						 { "pretty", no_argument, NULL, 'p' },
						 { "socket", required_argument, NULL, 's' },
						 { "timeout", required_argument, NULL, 't' },
						 { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, 'V' },
						 {} };
	bool json = false, pretty = false;
	const char *env;
	int c, r;

	env = getenv("NETD_SOCKET");
	if (env && *env)
		netdctl_socket = env;
	/* '+': stop at the first non-option, so that "task attach ... -x" is not ours. */
	while ((c = getopt_long(argc, argv, "+jps:t:hV", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			pretty = true;
			break;
		case 's':
			netdctl_socket = optarg;
			break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v <= 0 || v > 3600000) {
				print_init(json, pretty);
				return usage_error("invalid timeout '%s'", optarg);
			}
			netdctl_timeout_ms = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("netdctl %s\n", TP_VERSION);
			return EXIT_SUCCESS;
		default:
			return EXIT_USAGE;
		}
	}
	print_init(json, pretty);
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (streq(argv[0], "help")) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	for (const struct netdctl_cmd *o = objects; o->name; o++)
		if (matches(argv[0], o->name)) {
			r = o->fn(argc - 1, argv + 1);
			print_flush();
			return r;
		}
	return usage_error("unknown object '%s'", argv[0]);
}
