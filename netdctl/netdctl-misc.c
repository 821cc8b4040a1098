// SPDX-License-Identifier: GPL-2.0-only
/* netdctl health and netdctl events. */
#include "ctl-proto.h"
#include "netdctl.h"

int do_health(int argc, char **argv)
{
	json_auto_t *res = NULL;
	json_t *enis;
	int r;

	r = cli_call_noargs("health", "health", argc, argv, &res);
	if (r)
		return r;
	enis = json_object_get(res, "enis");
	print_open_object(NULL, res);
	print_string(PRINT_ANY, "status", "netd %s", json_str(res, "status"));
	print_string(PRINT_ANY, "version", " (version %s", json_str(res, "version"));
	print_int(PRINT_ANY, "pid", ", pid %" PRId64, json_int(res, "pid"));
	print_int(PRINT_ANY, "uptime_sec", ", up %" PRId64 " s)\n", json_int(res, "uptime_sec"));
	print_text("  enis %lld: %lld available, %lld attached, %lld missing, %lld lost\n",
		   (long long)json_int(enis, "total"), (long long)json_int(enis, "available"),
		   (long long)json_int(enis, "attached"), (long long)json_int(enis, "missing"),
		   (long long)json_int(enis, "lost"));
	print_int(PRINT_ANY, "tasks", "  tasks %" PRId64 "\n", json_int(res, "tasks"));
	print_int(PRINT_ANY, "platforms", "  platform ENIs %" PRId64 "\n",
		  json_int(res, "platforms"));
	print_int(PRINT_ANY, "clients", "  clients %" PRId64 "\n", json_int(res, "clients"));
	print_string(PRINT_ANY, "socket", "  socket %s\n", json_str(res, "socket"));
	print_string(PRINT_ANY, "run_dir", "  run dir %s\n", json_str(res, "run_dir"));
	if (json_str(res, "state_dir"))
		print_string(PRINT_ANY, "state_dir", "  state dir %s\n",
			     json_str(res, "state_dir"));
	print_close_object();
	return 0;
}

static void print_event(json_t *e)
{
	print_open_object(NULL, e);
	print_string(PRINT_ANY, "time", "%s ", json_str(e, "time"));
	print_string(PRINT_ANY, "type", "%-20s ", json_str(e, "type"));
	print_string(PRINT_ANY, "message", "%s\n", json_str(e, "message"));
	print_close_object();
}

int do_events(int argc, char **argv)
{
	json_auto_t *res = NULL;
	bool follow = false;
	json_t *e;
	size_t i;
	int r;

	if (argc > 0 && matches(argv[0], "follow")) {
		follow = true;
		NEXT_ARG();
	}
	if (argc > 0)
		return usage_error("usage: netdctl events [ follow ]");
	if (!follow) {
		r = cli_call("events.list", NULL, &res);
		if (r)
			return r;
		print_open_array(NULL);
		json_array_foreach(res, i, e)
			print_event(e);
		print_close_array();
		return 0;
	}

	/* Stream: one JSON object per line under -j, one line of text otherwise. */
	return cli_follow("events.subscribe", NULL, NULL, print_event);
}
