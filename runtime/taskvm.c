// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskvm: the task runtime's command. `taskvm agent` runs the host agent and `taskvm shim` a
 * task's shim (the agent starts it), both by exec of taskvm-runtime (taskvm-runtime.c); the
 * other commands talk to the agent over its control socket. Tables for people, -j/-p JSON for
 * programs. This program links jansson only, so that it starts as fast as a small program does
 * (`taskvm run` is on the path of every task's start).
 *   taskvm [OPTIONS] { agent | run | stop | logs | ps | inspect | register | deregister |
 *                      health | platform } [ARGS]
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>

#include "agent.h"
#include "cli.h"
#include "ctl-proto.h"
#include "json-util.h"
#include "platform-cmd.h"
#include "print.h"
#include "tmds.h"

/* A long poll of task.logs waits up to 20 s in the agent. */
#define LOGS_CALL_TIMEOUT_MS 60000

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

/* --- run, stop, logs -------------------------------------------------------------------------- */

static bool progress_tty(void)
{
	return !print_is_json() && isatty(STDERR_FILENO);
}

/* Where a followed task is, said on a terminal as it changes. */
struct follow_state {
	bool tty;
	bool progress_line; /* a progress line without its newline is on the terminal */
	char phase[32];
	json_t *containers; /* the last statuses shown */
};

static void progress_end(struct follow_state *f)
{
	if (f->progress_line)
		fputc('\n', stderr);
	f->progress_line = false;
}

static void follow_task(struct follow_state *f, json_t *t)
{
	const char *phase = json_str(t, "phase");
	json_t *cs = json_object_get(t, "containers"), *c;
	size_t i;

	if (!f->tty)
		goto out;
	if (phase && !streq(phase, f->phase)) {
		progress_end(f);
		fprintf(stderr, "taskvm: task %s %s\n", json_str(t, "task_id"), phase);
	}
	json_array_foreach(cs, i, c) {
		json_t *old = json_array_get(f->containers, i);

		if (old && streq_ptr(json_str(old, "status"), json_str(c, "status")))
			continue;
		progress_end(f);
		fprintf(stderr, "taskvm:   container %s %s", json_str(c, "name"),
			json_str(c, "status"));
		if (json_object_get(c, "exit_code"))
			fprintf(stderr, " (exit code %lld)", (long long)json_int(c, "exit_code"));
		if (json_str(c, "reason"))
			fprintf(stderr, ": %s", json_str(c, "reason"));
		fputc('\n', stderr);
	}
out:
	if (phase)
		snprintf(f->phase, sizeof(f->phase), "%s", phase);
	json_decref(f->containers);
	f->containers = json_incref(cs);
}

static void follow_progress(struct follow_state *f, json_t *p)
{
	if (!f->tty)
		return;
	fprintf(stderr, "\rtaskvm:   pulling %s: %lld/%lld layers, %.1f/%.1f MB\033[K",
		json_str(p, "image"), (long long)json_int(p, "layers_done"),
		(long long)json_int(p, "layers_total"), (double)json_int(p, "bytes_done") / 1e6,
		(double)json_int(p, "bytes_total") / 1e6);
	f->progress_line = true;
}

/*
 * Follow a task's notifications on c until its phase is one of until ("RUNNING", "STOPPED");
 * *ret gets the last task object. 0, or EXIT_FAILURE with the error printed.
 */
static int follow_until(struct ctl_client *c, struct follow_state *f, json_t *first,
			const char *const *until, json_t **ret)
{
	json_t *last = json_incref(first);

	for (;;) {
		json_auto_t *msg = NULL;
		const char *method, *phase = json_str(last, "phase");
		int r;

		for (size_t i = 0; until[i]; i++)
			if (streq_ptr(phase, until[i])) {
				progress_end(f);
				*ret = last;
				return 0;
			}
		r = ctl_client_next_notification(c, -1, &msg);
		if (r <= 0) {
			progress_end(f);
			json_decref(last);
			print_errorf("taskvm", CTL_ERR_UNAVAILABLE, NULL,
				     "Lost the connection to the agent: %s",
				     r == 0 ? "closed" : strerror(-r));
			return EXIT_FAILURE;
		}
		method = json_str(msg, "method");
		if (streq_ptr(method, "task")) {
			json_decref(last);
			last = json_incref(json_object_get(msg, "params"));
			follow_task(f, last);
		} else if (streq_ptr(method, "progress")) {
			follow_progress(f, json_object_get(msg, "params"));
		}
	}
}

static void print_stopped(json_t *t)
{
	if (print_is_json())
		return;
	fprintf(stderr, "taskvm: task %s stopped: %s%s%s%s\n", json_str(t, "task_id"),
		json_str(t, "stopped_reason") ?: "?", json_str(t, "stop_code") ? " (" : "",
		json_str(t, "stop_code") ?: "", json_str(t, "stop_code") ? ")" : "");
}

/* The exit code of `run --attach`: the essential container that stopped the task, as docker run. */
static int attach_exit_code(json_t *t)
{
	json_t *cs = json_object_get(t, "containers"), *c, *best = NULL;
	size_t i;

	json_array_foreach(cs, i, c) {
		if (!json_is_true(json_object_get(c, "essential")) ||
		    !json_is_integer(json_object_get(c, "exit_code")))
			continue;
		if (!best ||
		    strcmp(json_str(c, "finished") ?: "", json_str(best, "finished") ?: "") < 0)
			best = c;
	}
	if (!best)
		return EXIT_FAILURE;
	return (int)MIN(json_int(best, "exit_code"), 255);
}

static int print_entry(json_t *e)
{
	const char *log = json_str(e, "log");
	size_t len = json_string_length(json_object_get(e, "log"));
	FILE *f = streq_ptr(json_str(e, "stream"), "stderr") ? stderr : stdout;

	if (print_is_json()) {
		if (json_dumpf(e, stdout, JSON_COMPACT) < 0)
			return -EIO;
		fputc('\n', stdout);
		return 0;
	}
	/* The two streams in the order of the entries. */
	fflush(f == stderr ? stdout : stderr);
	if (log && fwrite(log, 1, len, f) != len)
		return -EIO;
	return 0;
}

/* Print a task's logs (following them: until the task is stopped and they are read). */
static int logs_loop(const char *task_id, const char *container, bool follow)
{
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_free_ char *cursor = NULL;
	int r;

	r = cli_connect(&c);
	if (r)
		return r;
	for (;;) {
		_cleanup_ctl_error_ struct ctl_error err = {};
		json_auto_t *res = NULL;
		json_t *params, *entries, *e;
		size_t i;

		if (cursor)
			params = json_pack("{s:s}", "cursor", cursor);
		else {
			params = json_pack("{s:s, s:b}", "task_id", task_id, "follow", follow);
			if (container)
				json_object_set_new(params, "container", json_string(container));
		}
		r = ctl_client_call(c, "task.logs", params, LOGS_CALL_TIMEOUT_MS, &res, &err);
		if (r < 0) {
			print_errorf("taskvm", err.code ?: CTL_ERR_UNAVAILABLE, err.data, "%s",
				     err.message ?: strerror(-r));
			return EXIT_FAILURE;
		}
		entries = json_object_get(res, "entries");
		json_array_foreach(entries, i, e)
			if (print_entry(e) < 0)
				return EXIT_FAILURE;
		fflush(stdout);
		fflush(stderr);
		if (json_is_true(json_object_get(res, "end")))
			return 0;
		if (!cursor)
			cursor = strdup(json_str(res, "cursor") ?: "");
	}
}

static int add_string(json_t *obj, const char *key, const char *value)
{
	json_t *a = json_object_get(obj, key);

	if (!a) {
		a = json_array();
		json_object_set_new(obj, key, a);
	}
	return json_array_append_new(a, json_string(value));
}

static int do_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "task-definition", required_argument, NULL, 'f' },
		{ "platform-version", required_argument, NULL, 'P' },
		{ "cluster", required_argument, NULL, 'c' },
		{ "region", required_argument, NULL, 'r' },
		{ "availability-zone", required_argument, NULL, 'z' },
		{ "account", required_argument, NULL, 'A' },
		{ "eni", required_argument, NULL, 'e' },
		{ "address", required_argument, NULL, 'a' },
		{ "nameserver", required_argument, NULL, 'n' },
		{ "search", required_argument, NULL, 'S' },
		{ "detach", no_argument, NULL, 'd' },
		{ "attach", no_argument, NULL, 't' },
		{ "isolation", required_argument, NULL, 'I' },
		{ "fault", required_argument, NULL,
		  'F' }, /* tests: agent --enable-fault-injection */
		{},
	};
	static const char *const until_running[] = { "RUNNING", "STOPPED", NULL };
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};
	json_auto_t *params = json_object(), *eni = json_object(), *res = NULL, *last = NULL;
	struct follow_state f = { .tty = progress_tty() };
	const char *file = NULL, *region = NULL, *az = NULL;
	bool detach = false, attach = false;
	char azbuf[64];
	json_t *def = NULL, *notes, *note;
	size_t i;
	int o, r;

	optind = 0;
	while ((o = getopt_long(argc + 1, argv - 1, "+", options, NULL)) >= 0) {
		switch (o) {
		case 'f':
			file = optarg;
			break;
		case 'P':
			json_object_set_new(params, "platform_version", json_string(optarg));
			break;
		case 'c':
			json_object_set_new(params, "cluster", json_string(optarg));
			break;
		case 'r':
			region = optarg;
			break;
		case 'z':
			az = optarg;
			break;
		case 'A':
			json_object_set_new(params, "account", json_string(optarg));
			break;
		case 'e':
			json_object_set_new(eni, "mac", json_string(optarg));
			break;
		case 'a':
			add_string(eni, "addresses", optarg);
			break;
		case 'n':
			add_string(eni, "nameservers", optarg);
			break;
		case 'S':
			add_string(eni, "search", optarg);
			break;
		case 'd':
			detach = true;
			break;
		case 't':
			attach = true;
			break;
		case 'I':
			json_object_set_new(params, "isolation", json_string(optarg));
			break;
		case 'F':
			json_object_set_new(params, "fault", json_string(optarg));
			break;
		default:
			return usage_error("unknown option for 'run'");
		}
	}
	if (optind < argc + 1)
		return usage_error("unexpected argument '%s'", argv[optind - 1]);
	if (!file)
		return usage_error("'run' needs --task-definition FILE");
	if (!json_object_get(eni, "mac") || !json_object_get(eni, "addresses"))
		return usage_error("'run' needs the task ENI: --eni MAC --address CIDR");
	if (detach && attach)
		return usage_error("'run' takes --detach or --attach, not both");
	/* The region as the AWS CLI finds it. */
	region = region ?: getenv("AWS_REGION") ?: getenv("AWS_DEFAULT_REGION") ?: "us-east-1";
	if (!az) {
		snprintf(azbuf, sizeof(azbuf), "%sa", region);
		az = azbuf;
	}
	r = read_json_file(file, &def);
	if (r)
		return r;
	json_object_set_new(params, "task_definition", def);
	json_object_set_new(params, "region", json_string(region));
	json_object_set_new(params, "availability_zone", json_string(az));
	json_object_set(params, "eni", eni);
	json_object_set_new(params, "follow", json_boolean(!detach && !attach));

	r = cli_connect(&c);
	if (r)
		return r;
	r = ctl_client_call(c, "task.run", json_incref(params), cli_get()->timeout_ms, &res, &err);
	if (r < 0) {
		print_errorf("taskvm", err.code ?: CTL_ERR_UNAVAILABLE, err.data, "%s",
			     err.message ?: strerror(-r));
		return EXIT_FAILURE;
	}
	notes = json_object_get(res, "notes");
	if (!print_is_json())
		json_array_foreach(notes, i, note)
			fprintf(stderr, "taskvm: note: %s\n", json_string_value(note));
	if (detach) {
		print_open_object(NULL, res);
		print_string(PRINT_FP, NULL, "%s\n", json_str(res, "task_id"));
		print_close_object();
		return 0;
	}
	if (attach) {
		_cleanup_free_ char *id = strdup(json_str(res, "task_id") ?: "");
		json_auto_t *t = NULL;

		if (f.tty)
			fprintf(stderr, "taskvm: task %s\n", id);
		ctl_client_free(TAKE_PTR(c));
		r = logs_loop(id, NULL, true);
		if (r)
			return r;
		r = cli_call("task.show", json_pack("{s:s}", "task_id", id), &t);
		if (r)
			return r;
		if (!streq_ptr(json_str(t, "stop_code"), "EssentialContainerExited"))
			print_stopped(t);
		return attach_exit_code(t);
	}
	follow_task(&f, res);
	r = follow_until(c, &f, res, until_running, &last);
	json_decref(f.containers);
	if (r)
		return r;
	if (streq_ptr(json_str(last, "phase"), "STOPPED")) {
		print_stopped(last);
		if (print_is_json()) {
			print_open_object(NULL, last);
			print_close_object();
		}
		return EXIT_FAILURE;
	}
	print_open_object(NULL, last);
	print_string(PRINT_FP, NULL, "%s\n", json_str(last, "task_id"));
	print_close_object();
	return 0;
}

static int do_stop(int argc, char **argv)
{
	static const char *const until_stopped[] = { "STOPPED", NULL };
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};
	json_auto_t *res = NULL, *last = NULL;
	struct follow_state f = { .tty = progress_tty() };
	const char *id = NULL, *reason = NULL;
	bool detach = false;
	json_t *params;
	int r;

	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--detach"))
			detach = true;
		else if (streq(argv[i], "--reason") && i + 1 < argc)
			reason = argv[++i];
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else
			return usage_error("usage: taskvm stop TASK [--reason TEXT] [--detach]");
	}
	if (!id)
		return usage_error("usage: taskvm stop TASK [--reason TEXT] [--detach]");
	params = json_pack("{s:s, s:b}", "task_id", id, "follow", !detach);
	if (reason)
		json_object_set_new(params, "reason", json_string(reason));
	r = cli_connect(&c);
	if (r) {
		json_decref(params);
		return r;
	}
	r = ctl_client_call(c, "task.stop", params, cli_get()->timeout_ms, &res, &err);
	if (r < 0) {
		print_errorf("taskvm", err.code ?: CTL_ERR_UNAVAILABLE, err.data, "%s",
			     err.message ?: strerror(-r));
		return EXIT_FAILURE;
	}
	if (!detach) {
		follow_task(&f, res);
		r = follow_until(c, &f, res, until_stopped, &last);
		json_decref(f.containers);
		if (r)
			return r;
	} else {
		last = json_incref(res);
	}
	print_open_object(NULL, last);
	print_string(PRINT_FP, NULL, "task %s ", json_str(last, "task_id"));
	print_string(PRINT_FP, NULL, "%s", json_str(last, "phase"));
	print_string(PRINT_FP, NULL, ": %s\n", json_str(last, "stopped_reason"));
	print_close_object();
	return 0;
}

static int do_logs(int argc, char **argv)
{
	const char *id = NULL, *container = NULL;
	bool follow = false;

	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "-f") || streq(argv[i], "--follow"))
			follow = true;
		else if (argv[i][0] == '-')
			return usage_error("usage: taskvm logs TASK [CONTAINER] [-f]");
		else if (!id)
			id = argv[i];
		else if (!container)
			container = argv[i];
		else
			return usage_error("usage: taskvm logs TASK [CONTAINER] [-f]");
	}
	if (!id)
		return usage_error("usage: taskvm logs TASK [CONTAINER] [-f]");
	return logs_loop(id, container, follow);
}

static int do_deregister(int argc, char **argv)
{
	json_auto_t *res = NULL;
	bool if_exists;
	const char *id;
	int r;

	r = cli_id_args("deregister", argc, argv, &id, &if_exists);
	if (r)
		return r;
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
	static const char *const headers[] = { "TASK",	    "FAMILY:REV", "PV",	   "PHASE",
					       "ADDRESS",   "CONTAINERS", "CREDS", "SERVED",
					       "THROTTLED", "DENIED",	  "LATE",  "REASON",
					       NULL };
	json_auto_t *res = NULL;
	json_t *t;
	size_t i;
	int r;

	r = cli_call_noargs("ps", "task.list", argc, argv, &res);
	if (r)
		return r;
	print_table_begin(headers);
	print_open_array(NULL);
	json_array_foreach(res, i, t) {
		json_t *req = json_object_get(t, "requests");
		char fam[300];

		if (json_str(t, "family"))
			snprintf(fam, sizeof(fam), "%s:%s", json_str(t, "family"),
				 json_str(t, "revision") ?: "-");
		else
			strscpy(fam, "-", sizeof(fam));
		print_open_object(NULL, t);
		print_string(PRINT_ANY, "task_id", "%s", json_str(t, "task_id"));
		print_string(PRINT_FP, NULL, "%s", fam);
		print_string(PRINT_FP, NULL, "%s", json_str(t, "platform_version"));
		print_string(PRINT_FP, NULL, "%s", json_str(t, "phase") ?: "-");
		print_string(PRINT_FP, NULL, "%s", json_str(t, "metadata_address") ?: "-");
		print_u64(PRINT_FP, NULL, "%" PRIu64,
			  (uint64_t)json_array_size(json_object_get(t, "containers")));
		print_string(PRINT_FP, NULL, "%s", json_str(t, "credentials") ?: "-");
		if (req) {
			print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)json_int(req, "served"));
			print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)json_int(req, "throttled"));
			print_u64(PRINT_FP, NULL, "%" PRIu64, (uint64_t)json_int(req, "denied"));
			print_u64(PRINT_FP, NULL, "%" PRIu64,
				  (uint64_t)json_int(req, "header_timeouts"));
		} else {
			for (int k = 0; k < 4; k++)
				print_string(PRINT_FP, NULL, "%s", "-");
		}
		print_string(PRINT_FP, NULL, "%s", json_str(t, "stopped_reason") ?: "-");
		print_close_object();
	}
	print_close_array();
	print_table_end();
	return 0;
}

static const char *or_dash(const char *s)
{
	return s ?: "-";
}

/* The launch part of inspect: phases, stop reason, containers' statuses. */
static void inspect_launch(json_t *res)
{
	json_t *eni = json_object_get(res, "eni"), *pull = json_object_get(res, "pull");
	json_t *st = json_object_get(res, "storage");

	print_text("  phase %s, desired %s, isolation %s\n", json_str(res, "phase"),
		   json_str(res, "desired_status"), or_dash(json_str(res, "isolation")));
	if (json_str(res, "stopped_reason"))
		print_text("  stopped: %s (%s)\n", json_str(res, "stopped_reason"),
			   or_dash(json_str(res, "stop_code")));
	print_text("  created %s, running %s, stopping %s, stopped %s\n",
		   or_dash(json_str(res, "created")), or_dash(json_str(res, "started")),
		   or_dash(json_str(res, "stopping")), or_dash(json_str(res, "stopped")));
	print_text("  eni %s, address %s\n", or_dash(json_str(eni, "mac")),
		   or_dash(json_str(eni, "address")));
	if (pull)
		print_text("  pull %lld/%lld layers, %lld/%lld bytes, %s - %s\n",
			   (long long)json_int(pull, "layers_done"),
			   (long long)json_int(pull, "layers_total"),
			   (long long)json_int(pull, "bytes_done"),
			   (long long)json_int(pull, "bytes_total"),
			   or_dash(json_str(pull, "started")), or_dash(json_str(pull, "stopped")));
	if (st)
		print_text("  ephemeral storage %lld MiB used of %lld MiB (%s)\n",
			   (long long)json_int(st, "utilized_mib"),
			   (long long)json_int(st, "reserved_mib"),
			   or_dash(json_str(st, "devices")));
	if (json_str(res, "netns"))
		print_text("  netns %s, run dir %s\n", json_str(res, "netns"),
			   json_str(res, "run_dir"));
}

static int do_inspect(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *cs, *c, *req, *st, *net;
	bool launched;
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
	launched = json_is_true(json_object_get(res, "launched"));
	print_open_object(NULL, res);
	print_text("task %s\n", json_str(res, "task_id"));
	print_text("  arn %s\n  cluster %s\n", or_dash(json_str(res, "task_arn")),
		   or_dash(json_str(res, "cluster")));
	print_text("  family %s revision %s, platform version %s revision %" PRIu64 ", %s\n",
		   or_dash(json_str(res, "family")), or_dash(json_str(res, "revision")),
		   or_dash(json_str(res, "platform_version")),
		   (uint64_t)json_int(res, "platform_revision"),
		   launched ? "launched by taskvm" : or_dash(json_str(res, "launch_type")));
	if (launched)
		inspect_launch(res);
	if (json_str(res, "region"))
		print_text("  region %s zone %s\n", json_str(res, "region"),
			   or_dash(json_str(res, "availability_zone")));
	if (req) {
		print_text("  metadata address %s", json_str(res, "metadata_address") ?: "none");
		if (json_str(res, "metadata_address_source"))
			print_text(" (from %s)", json_str(res, "metadata_address_source"));
		print_text("\n");
	}
	if (json_is_object(net))
		print_text("  network %s %s\n", json_str(net, "MACAddress"),
			   json_string_value(
				   json_array_get(json_object_get(net, "IPv4Addresses"), 0)));
	if (json_str(res, "cgroup"))
		print_text("  cgroup %s\n", json_str(res, "cgroup"));
	if (req)
		print_text("  task role %s\n", json_str(res, "task_role_arn") ?: "none");
	if (json_str(res, "credentials_source"))
		print_text("  credentials %s\n", json_str(res, "credentials_source"));
	json_array_foreach(cs, i, c) {
		if (json_is_string(c)) {
			print_text("  container %s\n", json_string_value(c));
			continue;
		}
		print_text("  container %s (%s)", json_str(c, "name"),
			   or_dash(json_str(c, "image")));
		if (json_str(c, "status"))
			print_text(" %s", json_str(c, "status"));
		if (json_object_get(c, "exit_code"))
			print_text(", exit code %lld", (long long)json_int(c, "exit_code"));
		print_text("\n");
		if (json_str(c, "reason"))
			print_text("    reason %s\n", json_str(c, "reason"));
		if (json_str(c, "image_digest"))
			print_text("    image %s\n", json_str(c, "image_digest"));
		if (json_str(c, "started") || json_str(c, "finished"))
			print_text("    started %s, finished %s\n", or_dash(json_str(c, "started")),
				   or_dash(json_str(c, "finished")));
		if (json_str(c, "docker_id"))
			print_text("    docker id %s\n", json_str(c, "docker_id"));
		print_env(json_object_get(c, "env"));
	}
	if (st)
		print_text("  stats read %s, network %s%s%s\n", json_str(st, "read") ?: "never",
			   json_is_true(json_object_get(st, "network")) ? "yes" : "no",
			   json_str(st, "network_note") ? ": " : "",
			   json_str(st, "network_note") ?: "");
	if (json_str(res, "netd_note"))
		print_text("  netd: %s\n", json_str(res, "netd_note"));
	if (req)
		print_text(
			"  requests served %lld, throttled %lld, denied %lld, late heads cut %lld\n",
			(long long)json_int(req, "served"), (long long)json_int(req, "throttled"),
			(long long)json_int(req, "denied"),
			(long long)json_int(req, "header_timeouts"));
	print_close_object();
	return 0;
}

static int do_health(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *netd, *http;
	int r;

	r = cli_call_noargs("health", "health", argc, argv, &res);
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
		"  run --task-definition FILE --eni MAC --address CIDR [--nameserver IP]...\n"
		"      [--search DOMAIN]... [--platform-version 1.4.0] [--cluster NAME|ARN]\n"
		"      [--region R] [--availability-zone AZ] [--account ID] [--isolation runc|vm]\n"
		"      [--detach | --attach]\n"
		"  stop TASK [--reason TEXT] [--detach]\n"
		"  logs TASK [CONTAINER] [-f]\n"
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

/*
 * taskvm-runtime: beside this program (the build directory, or an install that put both in
 * one directory), else in LIBEXECDIR.
 */
static int runtime_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, size, "%s/taskvm-runtime", self);
			if (access(buf, X_OK) == 0)
				return 0;
		}
	}
	snprintf(buf, size, "%s/taskvm-runtime", TP_LIBEXEC_DIR);
	return access(buf, X_OK) < 0 ? -errno : 0;
}

/* `taskvm agent|shim ARGS`: taskvm-runtime with the same arguments, under the name "taskvm". */
static int exec_runtime(int argc, char **argv)
{
	_cleanup_free_ char **args = NULL;
	char path[PATH_MAX + 32];
	int r;

	r = runtime_path(path, sizeof(path));
	if (r < 0) {
		fprintf(stderr, "taskvm: cannot find taskvm-runtime (%s): %s\n", path,
			strerror(-r));
		return 1;
	}
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args) {
		fprintf(stderr, "taskvm: out of memory\n");
		return 1;
	}
	args[0] = (char *)"taskvm";
	memcpy(args + 1, argv, (size_t)argc * sizeof(*args));
	execv(path, args);
	fprintf(stderr, "taskvm: cannot run %s: %m\n", path);
	return 1;
}

static const struct cmd cmds[] = {
	{ "run", do_run },
	{ "stop", do_stop },
	{ "logs", do_logs },
	{ "ps", do_ps },
	{ "inspect", do_inspect },
	{ "register", do_register },
	{ "deregister", do_deregister },
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
	if (streq(argv[0], "agent") || streq(argv[0], "shim"))
		return exec_runtime(argc, argv);
	for (const struct cmd *cmd = cmds; cmd->name; cmd++)
		if (matches(argv[0], cmd->name)) {
			r = cmd->fn(argc - 1, argv + 1);
			print_flush();
			return r;
		}
	return usage_error("unknown command '%s'", argv[0]);
}
