// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskvm: the task runtime's command. `taskvm agent` runs the host agent; the other commands talk
 * to it over its control socket. Tables for people, -j/-p JSON for programs.
 *   taskvm [OPTIONS] { agent | register | deregister | ps | inspect | health | platform } [ARGS]
 */
#include <getopt.h>
#include <inttypes.h>

#include "agent.h"
#include "cli.h"
#include "ctl-proto.h"
#include "json-util.h"
#include "platform-cmd.h"
#include "print.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

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
	print_text("# task %s: %s\n", json_str(t, "task_id"), json_str(t, "task_arn"));
	json_array_foreach(cs, i, c) {
		print_text("# container %s\n", json_str(c, "name"));
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
		print_errorf("taskvm", CTL_ERR_INVALID_PARAMS, NULL, "%s: %s (line %d)", path,
			     jerr.text, jerr.line);
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
	r = cli_call("task.register", json_incref(params), &res);
	if (r)
		return r;
	print_registered(res);
	return 0;
}

static int do_deregister(int argc, char **argv)
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
			return usage_error("unexpected argument '%s' for 'deregister'", argv[i]);
	}
	if (!id)
		return usage_error("usage: taskvm deregister ID [--if-exists]");
	r = cli_call_quiet("task.deregister", json_pack("{s:s}", "task_id", id),
			   if_exists ? CTL_ERR_NOT_FOUND : 0, &res);
	if (r == CTL_ERR_NOT_FOUND) {
		/* --if-exists: not registered is what was wanted. */
		res = json_pack("{s:s, s:b}", "task_id", id, "deregistered", false);
		print_open_object(NULL, res);
		print_string(PRINT_ANY, "task_id", "task %s is not registered: nothing to do\n",
			     id);
		print_close_object();
		return 0;
	}
	if (r)
		return r;
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "task_id", "task %s deregistered\n", json_str(res, "task_id"));
	print_close_object();
	return 0;
}

static int do_ps(int argc, char **argv)
{
	static const char *const headers[] = { "TASK",	     "FAMILY:REV", "PV",     "ADDRESS",
					       "CONTAINERS", "CREDS",	   "SERVED", "THROTTLED",
					       "DENIED",     "LATE",	   NULL };
	json_auto_t *res = NULL;
	json_t *t;
	size_t i;
	int r;

	if (argc > 0)
		return usage_error("'ps' takes no arguments, got '%s'", argv[0]);
	r = cli_call("task.list", NULL, &res);
	if (r)
		return r;
	print_table_begin(headers);
	print_open_array(NULL);
	json_array_foreach(res, i, t) {
		json_t *req = json_object_get(t, "requests");
		char fam[300];

		snprintf(fam, sizeof(fam), "%s:%s", json_str(t, "family"), json_str(t, "revision"));
		print_open_object(NULL, t);
		print_string(PRINT_ANY, "task_id", "%s", json_str(t, "task_id"));
		print_string(PRINT_FP, NULL, "%s", fam);
		print_string(PRINT_FP, NULL, "%s", json_str(t, "platform_version"));
		print_string(PRINT_FP, NULL, "%s", json_str(t, "metadata_address") ?: "-");
		print_u64(PRINT_FP, NULL, "%" PRIu64,
			  (uint64_t)json_array_size(json_object_get(t, "containers")));
		print_string(PRINT_FP, NULL, "%s", json_str(t, "credentials"));
		print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)json_int(req, "served"));
		print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)json_int(req, "throttled"));
		print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)json_int(req, "denied"));
		print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)json_int(req, "header_timeouts"));
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
	r = cli_call("task.show", json_pack("{s:s}", "task_id", argv[0]), &res);
	if (r)
		return r;
	cs = json_object_get(res, "containers");
	req = json_object_get(res, "requests");
	st = json_object_get(res, "stats");
	net = json_object_get(res, "network");
	print_open_object(NULL, res);
	print_text("task %s\n", json_str(res, "task_id"));
	print_text("  arn %s\n  cluster %s\n", json_str(res, "task_arn"), json_str(res, "cluster"));
	print_text("  family %s revision %s, platform version %s, %s\n", json_str(res, "family"),
		   json_str(res, "revision"), json_str(res, "platform_version"),
		   json_str(res, "launch_type"));
	print_text("  region %s zone %s\n", json_str(res, "region"),
		   json_str(res, "availability_zone"));
	print_text("  metadata address %s", json_str(res, "metadata_address") ?: "none");
	if (json_str(res, "metadata_address_source"))
		print_text(" (from %s)", json_str(res, "metadata_address_source"));
	print_text("\n");
	if (json_is_object(net))
		print_text("  network %s %s\n", json_str(net, "MACAddress"),
			   json_string_value(
				   json_array_get(json_object_get(net, "IPv4Addresses"), 0)));
	if (json_str(res, "cgroup"))
		print_text("  cgroup %s\n", json_str(res, "cgroup"));
	print_text("  task role %s\n", json_str(res, "task_role_arn") ?: "none");
	if (json_str(res, "credentials_source"))
		print_text("  credentials %s\n", json_str(res, "credentials_source"));
	json_array_foreach(cs, i, c) {
		print_text("  container %s (%s)\n", json_str(c, "name"), json_str(c, "image"));
		print_text("    docker id %s\n", json_str(c, "docker_id"));
		print_env(json_object_get(c, "env"));
	}
	print_text("  stats read %s, network %s%s%s\n", json_str(st, "read") ?: "never",
		   json_is_true(json_object_get(st, "network")) ? "yes" : "no",
		   json_str(st, "network_note") ? ": " : "", json_str(st, "network_note") ?: "");
	if (json_str(res, "netd_note"))
		print_text("  netd: %s\n", json_str(res, "netd_note"));
	print_text("  requests served %lld, throttled %lld, denied %lld, late heads cut %lld\n",
		   (long long)json_int(req, "served"), (long long)json_int(req, "throttled"),
		   (long long)json_int(req, "denied"), (long long)json_int(req, "header_timeouts"));
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
	r = cli_call("health", NULL, &res);
	if (r)
		return r;
	netd = json_object_get(res, "netd");
	http = json_object_get(res, "http");
	print_open_object(NULL, res);
	print_text("agent %s (version %s, pid %lld, up %lld s)\n", json_str(res, "status"),
		   json_str(res, "version"), (long long)json_int(res, "pid"),
		   (long long)json_int(res, "uptime_sec"));
	print_text("  tasks %lld\n", (long long)json_int(res, "tasks"));
	print_text("  metadata %s, local %s\n", json_str(res, "listen") ?: "off",
		   json_str(res, "local_listen") ?: "off");
	print_text("  netd %s: task.list %s, stats.get %s\n", json_str(res, "netd_socket"),
		   json_str(netd, "task_list"), json_str(netd, "stats_get"));
	print_text("  http ok %lld, not found %lld, throttled %lld, late heads cut %lld\n",
		   (long long)json_int(http, "ok"), (long long)json_int(http, "not_found"),
		   (long long)json_int(http, "throttled"),
		   (long long)json_int(http, "header_timeout"));
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
		"  deregister ID [--if-exists]\n"
		"  ps\n"
		"  inspect ID\n"
		"  health\n"
		"  platform list [--platforms-dir DIR]\n"
		"  platform show VERSION [--revision N] [--platforms-dir DIR]\n"
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
	{ "register", do_register },
	{ "deregister", do_deregister },
	{ "ps", do_ps },
	{ "inspect", do_inspect },
	{ "health", do_health },
	{ "platform", platform_cmd },
	{},
};

int main(int argc, char **argv)
{
	static struct cli cli = { .prog = "taskvm",
				  .peer = "the agent",
				  .socket_env = "TASKVM_SOCKET",
				  .socket = AGENT_DEFAULT_SOCKET,
				  .timeout_ms = 30000,
				  .usage = usage };
	int r;

	r = cli_start(&cli, &argc, &argv);
	if (r >= 0)
		return r;
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
