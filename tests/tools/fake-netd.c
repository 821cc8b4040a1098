// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-netd: a control socket that answers netd's methods from files, for the tests of clients
 * of netd (taskvm agent) while a method is not in netd yet or to make it fail on purpose.
 *
 *   fake-netd --socket PATH --replies DIR [--upstream PATH]
 *
 * Methods: health, task.show, task.list, stats.get; task.hold, task.release and task.holds go to
 * the real netd (events.subscribe is not served). Files are read at every call:
 *   DIR/<method>.error          {"code": N, "message": "..."}: every call of it fails so
 *   DIR/task.show/<ID>.json     the result of task.show for task ID (and its entry in task.list)
 *   DIR/stats.get/<ID>.json     the result of stats.get for task ID; stats.get without a task_id
 *                               answers {"tasks": [every such file]}
 * What no file answers goes to the real netd at --upstream (if given), else "No such task".
 * SIGTERM or SIGINT ends it with status 0.
 */
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>

#include "ctl-server.h"
#include "event.h"
#include "ident.h"
#include "util.h"

static const char *replies_dir;
static const char *upstream;

static json_t *load(const char *path)
{
	return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

/* Fail the call as DIR/<method>.error says: 1 if it did. */
static int canned_error(struct ctl_call *call)
{
	char path[PATH_MAX];
	json_auto_t *e = NULL;

	snprintf(path, sizeof(path), "%s/%s.error", replies_dir, ctl_call_method(call));
	e = load(path);
	if (!e)
		return 0;
	ctl_call_failf(call, (int)json_integer_value(json_object_get(e, "code")), "%s",
		       json_string_value(json_object_get(e, "message")) ?: "canned error");
	return 1;
}

static int forward(struct ctl_call *call, json_t *params)
{
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};
	json_t *res = NULL;
	int r;

	if (!upstream)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task (fake netd)");
	r = ctl_client_open(upstream, &c);
	if (r < 0)
		return ctl_call_failf(call, CTL_ERR_UNAVAILABLE, "upstream netd: %s", strerror(-r));
	r = ctl_client_call(c, ctl_call_method(call), params ? json_incref(params) : NULL, 10000,
			    &res, &err);
	if (r < 0)
		return ctl_call_fail(call, &err);
	return ctl_call_reply(call, res);
}

static const char *task_param(json_t *params)
{
	const char *id = json_string_value(json_object_get(params, "task_id"));

	return id && ident_task_id_valid(id) ? id : NULL;
}

static int do_health(struct ctl_call *call, json_t *params, void *data)
{
	if (canned_error(call))
		return 0;
	return ctl_call_reply(call, json_pack("{s:s, s:b}", "status", "ok", "fake", true));
}

static int do_task_show(struct ctl_call *call, json_t *params, void *data)
{
	const char *id = task_param(params);
	char path[PATH_MAX];
	json_t *res;

	if (canned_error(call))
		return 0;
	if (!id)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "task_id missing or invalid");
	snprintf(path, sizeof(path), "%s/task.show/%s.json", replies_dir, id);
	res = load(path);
	if (res)
		return ctl_call_reply(call, res);
	return forward(call, params);
}

/* Every DIR/SUB/<id>.json, as an array. */
static json_t *load_all(const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	json_t *all = json_array();
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", replies_dir, sub);
	d = opendir(path);
	if (!d)
		return all;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		json_t *j;

		if (n < 6 || !streq(de->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", replies_dir, sub, de->d_name);
		j = load(path);
		if (j)
			json_array_append_new(all, j);
	}
	closedir(d);
	return all;
}

static int do_task_list(struct ctl_call *call, json_t *params, void *data)
{
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};
	json_t *list = NULL, *mine, *t, *u;
	size_t i, k;

	if (canned_error(call))
		return 0;
	if (upstream && ctl_client_open(upstream, &c) == 0 &&
	    ctl_client_call(c, "task.list", NULL, 10000, &list, &err) < 0)
		return ctl_call_fail(call, &err);
	if (!json_is_array(list)) {
		json_decref(list);
		list = json_array();
	}
	mine = load_all("task.show");
	json_array_foreach(mine, i, t) {
		const char *id = json_string_value(json_object_get(t, "task_id"));
		bool replaced = false;

		json_array_foreach(list, k, u)
			if (streq_ptr(json_string_value(json_object_get(u, "task_id")), id)) {
				json_array_set(list, k, t);
				replaced = true;
			}
		if (!replaced)
			json_array_append(list, t);
	}
	json_decref(mine);
	return ctl_call_reply(call, list);
}

static int do_stats_get(struct ctl_call *call, json_t *params, void *data)
{
	const char *id = task_param(params);
	char path[PATH_MAX];
	json_t *res;

	if (canned_error(call))
		return 0;
	if (json_object_get(params, "task_id") && !id)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "task_id invalid");
	if (!id) {
		res = load_all("stats.get");
		if (json_array_size(res) == 0 && upstream) {
			json_decref(res);
			return forward(call, params);
		}
		return ctl_call_reply(call, json_pack("{s:o}", "tasks", res));
	}
	snprintf(path, sizeof(path), "%s/stats.get/%s.json", replies_dir, id);
	res = load(path);
	if (res)
		return ctl_call_reply(call, res);
	return forward(call, params);
}

static int do_forward(struct ctl_call *call, json_t *params, void *data)
{
	if (canned_error(call))
		return 0;
	return forward(call, params);
}

static const struct ctl_method methods[] = {
	{ "health", do_health, 0 },	   { "task.hold", do_forward, 0 },
	{ "task.release", do_forward, 0 }, { "task.holds", do_forward, 0 },
	{ "task.show", do_task_show, 0 },  { "task.list", do_task_list, 0 },
	{ "stats.get", do_stats_get, 0 },  {},
};

static const struct ctl_method *const tables[] = { methods, NULL };

static void on_signal(struct event_loop *loop, int signo, void *data)
{
	event_loop_exit(loop, 0);
}

int main(int argc, char **argv)
{
	static const struct option options[] = { { "socket", required_argument, NULL, 's' },
						 { "replies", required_argument, NULL, 'r' },
						 { "upstream", required_argument, NULL, 'u' },
						 {} };
	struct event_loop *loop = NULL;
	struct ctl_server *srv = NULL;
	const char *socket_path = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:r:u:", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'r':
			replies_dir = optarg;
			break;
		case 'u':
			upstream = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!socket_path || !replies_dir || optind < argc) {
		fprintf(stderr, "usage: fake-netd --socket PATH --replies DIR [--upstream PATH]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	r = event_loop_new(&loop);
	if (r >= 0)
		r = event_add_signal(loop, SIGTERM, on_signal, NULL);
	if (r >= 0)
		r = event_add_signal(loop, SIGINT, on_signal, NULL);
	if (r >= 0)
		r = ctl_server_new(
			loop, &(struct ctl_server_opts){ .path = socket_path, .tables = tables },
			&srv);
	if (r < 0) {
		fprintf(stderr, "fake-netd: %s\n", strerror(-r));
		event_loop_free(loop);
		return 1;
	}
	printf("fake-netd: ready on %s\n", socket_path);
	fflush(stdout);
	r = event_loop_run(loop);
	ctl_server_free(srv);
	event_loop_free(loop);
	return r;
}
