// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskvm: the task runtime's command. `taskvm agent` runs the host agent; the other commands talk
 * to it over its control socket. Tables for people, -j/-p JSON for programs.
 *   taskvm [OPTIONS] { agent | register | deregister | ps | inspect | health } [ARGS]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>

#include "agent.h"
#include "ctl-proto.h"
#include "print.h"

enum {
	EXIT_USAGE = 2,
};

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const char *opt_socket = AGENT_DEFAULT_SOCKET;
static int opt_timeout_ms = 30000;

static bool matches(const char *arg, const char *word)
{
	size_t n = strlen(arg);

	return n > 0 && n <= strlen(word) && strncmp(arg, word, n) == 0;
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);

static int usage_error(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	print_errorf("taskvm", NULL, "%s (try 'taskvm --help')", msg ?: "usage error");
	free(msg);
	return EXIT_USAGE;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Call a method on the agent; prints the error (text or JSON) and returns EXIT_FAILURE. */
static int agent_call(const char *method, json_t *params, json_t **ret)
{
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};
	int r;

	r = ctl_client_open(opt_socket, &c);
	if (r < 0) {
		json_t *data =
			json_pack("{s:s, s:s}", "errno", ctl_errno_name(r), "socket", opt_socket);

		json_decref(params);
		print_errorf("taskvm", data, "Cannot reach the agent at '%s': %s", opt_socket,
			     strerror(-r));
		json_decref(data);
		return EXIT_FAILURE;
	}
	r = ctl_client_call(c, method, params, opt_timeout_ms, ret, &err);
	if (r < 0) {
		json_t *data = err.data && json_is_object(err.data) ? json_deep_copy(err.data)
								    : json_object();

		json_object_set_new(data, "code", json_integer(err.code));
		print_errorf("taskvm", data, "%s", err.message ?: strerror(-r));
		json_decref(data);
		return EXIT_FAILURE;
	}
	return 0;
}

static void print_env(json_t *env)
{
	const char *k;
	json_t *v;

	json_object_foreach(env, k, v)
		print_text("%s=%s\n", k, json_string_value(v));
}

/* What a container needs, as environment lines (one block per container). */
static void print_registered(json_t *t)
{
	json_t *cs = json_object_get(t, "containers"), *c;
	size_t i;

	print_open_object(NULL, t);
	print_text("# task %s: %s\n", jstr(t, "task_id"), jstr(t, "task_arn"));
	json_array_foreach(cs, i, c) {
		print_text("# container %s\n", jstr(c, "name"));
		print_env(json_object_get(c, "env"));
	}
	if (!json_is_string(json_object_get(t, "metadata_address")))
		print_text("# no metadata address: only the local listener serves this task\n");
	print_close_object();
}

static int read_json_file(const char *path, json_t **ret)
{
	json_error_t jerr;

	*ret = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!*ret) {
		print_errorf("taskvm", NULL, "%s: %s (line %d)", path, jerr.text, jerr.line);
		return EXIT_FAILURE;
	}
	return 0;
}

static int do_register(int argc, char **argv)
{
	static const struct option options[] = {
		{ "task-definition", required_argument, NULL, 'f' },
		{ "cluster", required_argument, NULL, 'c' },
		{ "region", required_argument, NULL, 'r' },
		{ "availability-zone", required_argument, NULL, 'z' },
		{ "launch-type", required_argument, NULL, 'L' },
		{ "netd-task", required_argument, NULL, 'n' },
		{ "task-arn", required_argument, NULL, 'a' },
		{ "platform-version", required_argument, NULL, 'P' },
		{ "metadata-address", required_argument, NULL, 'm' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "account", required_argument, NULL, 'A' },
		{},
	};
	static const struct {
		int opt;
		const char *key;
	} keys[] = {
		{ 'c', "cluster" },
		{ 'r', "region" },
		{ 'z', "availability_zone" },
		{ 'L', "launch_type" },
		{ 'n', "netd_task" },
		{ 'a', "task_arn" },
		{ 'P', "platform_version" },
		{ 'm', "metadata_address" },
		{ 'g', "cgroup" },
		{ 'A', "account" },
	};
	json_auto_t *params = json_object(), *res = NULL;
	const char *file = NULL;
	json_t *def = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc + 1, argv - 1, "+", options, NULL)) >= 0) {
		bool known = false;

		if (c == 'f') {
			file = optarg;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (keys[i].opt == c) {
				json_object_set_new(params, keys[i].key, json_string(optarg));
				known = true;
			}
		if (!known)
			return usage_error("unknown option for 'register'");
	}
	if (optind < argc + 1)
		return usage_error("unexpected argument '%s'", argv[optind - 1]);
	if (!file)
		return usage_error("'register' needs --task-definition FILE");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		bool required = keys[i].opt == 'c' || keys[i].opt == 'r' || keys[i].opt == 'z' ||
				keys[i].opt == 'n';

		if (required && !json_object_get(params, keys[i].key))
			return usage_error("'register' needs --%s", options[i + 1].name);
	}
	r = read_json_file(file, &def);
	if (r)
		return r;
	json_object_set_new(params, "task_definition", def);
	r = agent_call("task.register", json_incref(params), &res);
	if (r)
		return r;
	print_registered(res);
	return 0;
}

static int do_deregister(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	if (argc != 1)
		return usage_error("usage: taskvm deregister ID");
	r = agent_call("task.deregister", json_pack("{s:s}", "task_id", argv[0]), &res);
	if (r)
		return r;
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "task_id", "task %s deregistered\n", jstr(res, "task_id"));
	print_close_object();
	return 0;
}

static int do_ps(int argc, char **argv)
{
	static const char *const headers[] = { "TASK",	     "FAMILY:REV", "PV",     "ADDRESS",
					       "CONTAINERS", "CREDS",	   "SERVED", "THROTTLED",
					       "DENIED",     NULL };
	json_auto_t *res = NULL;
	json_t *t;
	size_t i;
	int r;

	if (argc > 0)
		return usage_error("'ps' takes no arguments, got '%s'", argv[0]);
	r = agent_call("task.list", NULL, &res);
	if (r)
		return r;
	print_table_begin(headers);
	print_open_array(NULL);
	json_array_foreach(res, i, t) {
		json_t *req = json_object_get(t, "requests");
		char fam[300];

		snprintf(fam, sizeof(fam), "%s:%s", jstr(t, "family"), jstr(t, "revision"));
		print_open_object(NULL, t);
		print_string(PRINT_ANY, "task_id", "%s", jstr(t, "task_id"));
		print_string(PRINT_FP, NULL, "%s", fam);
		print_string(PRINT_FP, NULL, "%s", jstr(t, "platform_version"));
		print_string(PRINT_FP, NULL, "%s", jstr(t, "metadata_address") ?: "-");
		print_u64(PRINT_FP, NULL, "%" PRIu64,
			  (uint64_t)json_array_size(json_object_get(t, "containers")));
		print_string(PRINT_FP, NULL, "%s", jstr(t, "credentials"));
		print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)jint(req, "served"));
		print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)jint(req, "throttled"));
		print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)jint(req, "denied"));
		print_close_object();
	}
	print_close_array();
	print_table_end();
	return 0;
}

static int do_inspect(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *cs, *c, *req, *st, *net;
	size_t i;
	int r;

	if (argc != 1)
		return usage_error("usage: taskvm inspect ID");
	r = agent_call("task.show", json_pack("{s:s}", "task_id", argv[0]), &res);
	if (r)
		return r;
	cs = json_object_get(res, "containers");
	req = json_object_get(res, "requests");
	st = json_object_get(res, "stats");
	net = json_object_get(res, "network");
	print_open_object(NULL, res);
	print_text("task %s\n", jstr(res, "task_id"));
	print_text("  arn %s\n  cluster %s\n", jstr(res, "task_arn"), jstr(res, "cluster"));
	print_text("  family %s revision %s, platform version %s, %s\n", jstr(res, "family"),
		   jstr(res, "revision"), jstr(res, "platform_version"), jstr(res, "launch_type"));
	print_text("  region %s zone %s\n", jstr(res, "region"), jstr(res, "availability_zone"));
	print_text("  metadata address %s", jstr(res, "metadata_address") ?: "none");
	if (jstr(res, "metadata_address_source"))
		print_text(" (from %s)", jstr(res, "metadata_address_source"));
	print_text("\n");
	if (json_is_object(net))
		print_text("  network %s %s\n", jstr(net, "MACAddress"),
			   json_string_value(
				   json_array_get(json_object_get(net, "IPv4Addresses"), 0)));
	if (jstr(res, "cgroup"))
		print_text("  cgroup %s\n", jstr(res, "cgroup"));
	print_text("  task role %s\n", jstr(res, "task_role_arn") ?: "none");
	if (jstr(res, "credentials_source"))
		print_text("  credentials %s\n", jstr(res, "credentials_source"));
	json_array_foreach(cs, i, c) {
		print_text("  container %s (%s)\n", jstr(c, "name"), jstr(c, "image"));
		print_text("    docker id %s\n", jstr(c, "docker_id"));
		print_env(json_object_get(c, "env"));
	}
	print_text("  stats read %s, network %s%s%s\n", jstr(st, "read") ?: "never",
		   json_is_true(json_object_get(st, "network")) ? "yes" : "no",
		   jstr(st, "network_note") ? ": " : "", jstr(st, "network_note") ?: "");
	if (jstr(res, "netd_note"))
		print_text("  netd: %s\n", jstr(res, "netd_note"));
	print_text("  requests served %lld, throttled %lld, denied %lld\n",
		   (long long)jint(req, "served"), (long long)jint(req, "throttled"),
		   (long long)jint(req, "denied"));
	print_close_object();
	return 0;
}

static int do_health(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *netd, *http;
	int r;

	if (argc > 0)
		return usage_error("'health' takes no arguments, got '%s'", argv[0]);
	r = agent_call("health", NULL, &res);
	if (r)
		return r;
	netd = json_object_get(res, "netd");
	http = json_object_get(res, "http");
	print_open_object(NULL, res);
	print_text("agent %s (version %s, pid %lld, up %lld s)\n", jstr(res, "status"),
		   jstr(res, "version"), (long long)jint(res, "pid"),
		   (long long)jint(res, "uptime_sec"));
	print_text("  tasks %lld\n", (long long)jint(res, "tasks"));
	print_text("  metadata %s, local %s\n", jstr(res, "listen") ?: "off",
		   jstr(res, "local_listen") ?: "off");
	print_text("  netd %s: task.list %s, stats.get %s\n", jstr(res, "netd_socket"),
		   jstr(netd, "task_list"), jstr(netd, "stats_get"));
	print_text("  http ok %lld, not found %lld, throttled %lld\n", (long long)jint(http, "ok"),
		   (long long)jint(http, "not_found"), (long long)jint(http, "throttled"));
	print_close_object();
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: taskvm [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"  agent [AGENT OPTIONS]          run the host agent (taskvm agent --help)\n"
		"  register --task-definition FILE --cluster NAME|ARN --region R\n"
		"           --availability-zone AZ --netd-task ID [--launch-type FARGATE]\n"
		"           [--task-arn ARN] [--platform-version 1.4.0] [--metadata-address IP]\n"
		"           [--cgroup PATH] [--account ID]\n"
		"  deregister ID\n"
		"  ps\n"
		"  inspect ID\n"
		"  health\n"
		"\n"
		"Options:\n"
		"  -j, --json           JSON output (errors too)\n"
		"  -p, --pretty         pretty JSON output\n"
		"  -s, --socket PATH    the agent's control socket (default %s, or $TASKVM_SOCKET)\n"
		"  -t, --timeout MS     how long to wait for the agent's answer (default 30000)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage.\n",
		AGENT_DEFAULT_SOCKET);
}

static const struct cmd cmds[] = {
	{ "register", do_register }, { "deregister", do_deregister }, { "ps", do_ps },
	{ "inspect", do_inspect },   { "health", do_health },	      {},
};

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

	env = getenv("TASKVM_SOCKET");
	if (env && *env)
		opt_socket = env;
	while ((c = getopt_long(argc, argv, "+jps:t:hV", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			pretty = true;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v <= 0 || v > 3600000) {
				print_init(json, pretty);
				return usage_error("invalid timeout '%s'", optarg);
			}
			opt_timeout_ms = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("taskvm %s\n", TP_VERSION);
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
	/* The agent parses its own options (and the socket option means its own socket). */
	if (streq(argv[0], "agent"))
		return agent_main(argc, argv);
	for (const struct cmd *cmd = cmds; cmd->name; cmd++)
		if (matches(argv[0], cmd->name)) {
			r = cmd->fn(argc - 1, argv + 1);
			print_flush();
			return r;
		}
	return usage_error("unknown command '%s'", argv[0]);
}
