// SPDX-License-Identifier: GPL-2.0-only
/*
 * netdctl stats and netdctl flows: a task's counters (or every task's), once or at every
 * sampling interval (--watch), and the final counters of detached tasks (collect).
 */
#include "ctl-proto.h"
#include "netdctl.h"

static const char *const flow_names[] = { "app",  "pull", "auth",     "secrets",
					  "logs", "efs",  "metadata", NULL };
static const char *const drop_names[] = { "spoof", "imds", "policy", "metadata_filter", NULL };

static json_t *jpath(json_t *j, const char *a, const char *b, const char *c)
{
	j = json_object_get(j, a);
	if (b)
		j = json_object_get(j, b);
	if (c)
		j = json_object_get(j, c);
	return j;
}

static uint64_t jnum(json_t *j, const char *a, const char *b, const char *c)
{
	return (uint64_t)json_integer_value(jpath(j, a, b, c));
}

static double jreal(json_t *j, const char *a, const char *b)
{
	return json_number_value(jpath(j, a, b, NULL));
}

/* One row of the all-tasks table. */
static void print_stats_row(json_t *t)
{
	uint64_t drops = 0;

	for (size_t i = 0; drop_names[i]; i++)
		drops += jnum(jpath(t, "drops", drop_names[i], NULL), "rx", "packets", NULL) +
			 jnum(jpath(t, "drops", drop_names[i], NULL), "tx", "packets", NULL);

	print_open_object(NULL, t);
	print_string(PRINT_ANY, "task_id", "%s", json_str(t, "task_id"));
	print_string(PRINT_ANY, "phase", "%s", json_str(t, "phase"));
	print_u64(PRINT_FP, NULL, "%" PRIu64, jnum(t, "totals", "rx", "bytes"));
	print_u64(PRINT_FP, NULL, "%" PRIu64, jnum(t, "totals", "rx", "packets"));
	print_u64(PRINT_FP, NULL, "%" PRIu64, jnum(t, "totals", "tx", "bytes"));
	print_u64(PRINT_FP, NULL, "%" PRIu64, jnum(t, "totals", "tx", "packets"));
	print_u64(PRINT_FP, NULL, "%" PRIu64, drops);
	print_text("%.1f", jreal(t, "rates", "rx_bytes_per_sec"));
	print_text("%.1f", jreal(t, "rates", "tx_bytes_per_sec"));
	print_close_object();
}

static void print_stats_all(json_t *res)
{
	static const char *const headers[] = { "TASK",	   "PHASE",	 "RX_BYTES", "RX_PACKETS",
					       "TX_BYTES", "TX_PACKETS", "DROPS",    "RX_B/S",
					       "TX_B/S",   NULL };
	json_t *t;
	size_t i;

	print_open_object(NULL, res);
	print_table_begin(headers);
	print_open_array("tasks");
	json_array_foreach(json_object_get(res, "tasks"), i, t)
		print_stats_row(t);
	print_close_array();
	print_table_end();
	print_close_object();
}

/* The flows of the task's ENI, or of its share on platform ENIs (member "platform"). */
static void print_flows_table(json_t *t, bool platform)
{
	static const char *const headers[] = { "FLOW",	   "RX_BYTES",	 "RX_PACKETS",
					       "TX_BYTES", "TX_PACKETS", NULL };
	json_t *flows =
		platform ? jpath(t, "platform", "flows", NULL) : json_object_get(t, "flows");

	print_table_begin(headers);
	for (size_t i = 0; flow_names[i]; i++) {
		json_t *f = json_object_get(flows, flow_names[i]);

		print_open_object(NULL, NULL);
		print_text("%s", flow_names[i]);
		print_text("%" PRIu64, jnum(f, "rx", "bytes", NULL));
		print_text("%" PRIu64, jnum(f, "rx", "packets", NULL));
		print_text("%" PRIu64, jnum(f, "tx", "bytes", NULL));
		print_text("%" PRIu64, jnum(f, "tx", "packets", NULL));
		print_close_object();
	}
	print_table_end();
}

static void print_stats_detail(json_t *t)
{
	json_t *dev = json_object_get(t, "device");

	print_open_object(NULL, t);
	print_string(PRINT_ANY, "task_id", "task %s", json_str(t, "task_id"));
	print_int(PRINT_ANY, "slot", " slot %" PRId64, json_int(t, "slot"));
	print_string(PRINT_ANY, "phase", " %s", json_str(t, "phase"));
	if (json_is_true(json_object_get(t, "detached")))
		print_text(" (detached %s)", json_str(t, "detached_at") ?: "");
	print_text("\n");
	print_string(PRINT_ANY, "time", "  time %s\n", json_str(t, "time"));
	if (dev)
		print_text("  device %s: rx %" PRIu64 " bytes %" PRIu64 " packets %" PRIu64
			   " errors %" PRIu64 " dropped; tx %" PRIu64 " bytes %" PRIu64
			   " packets %" PRIu64 " errors %" PRIu64 " dropped\n",
			   json_str(dev, "ifname") ?: "?", jnum(dev, "rx_bytes", NULL, NULL),
			   jnum(dev, "rx_packets", NULL, NULL), jnum(dev, "rx_errors", NULL, NULL),
			   jnum(dev, "rx_dropped", NULL, NULL), jnum(dev, "tx_bytes", NULL, NULL),
			   jnum(dev, "tx_packets", NULL, NULL), jnum(dev, "tx_errors", NULL, NULL),
			   jnum(dev, "tx_dropped", NULL, NULL));
	print_text("  totals: rx %" PRIu64 " bytes %" PRIu64 " packets; tx %" PRIu64
		   " bytes %" PRIu64 " packets\n",
		   jnum(t, "totals", "rx", "bytes"), jnum(t, "totals", "rx", "packets"),
		   jnum(t, "totals", "tx", "bytes"), jnum(t, "totals", "tx", "packets"));
	print_text("  rates over %" PRIu64 " s: rx %.1f B/s, tx %.1f B/s\n",
		   jnum(t, "rates", "window_sec", NULL), jreal(t, "rates", "rx_bytes_per_sec"),
		   jreal(t, "rates", "tx_bytes_per_sec"));
	print_text("  drops:");
	for (size_t i = 0; drop_names[i]; i++) {
		json_t *r = jpath(t, "drops", drop_names[i], NULL);

		print_text(" %s rx %" PRIu64 " tx %" PRIu64 " packets%s", drop_names[i],
			   jnum(r, "rx", "packets", NULL), jnum(r, "tx", "packets", NULL),
			   drop_names[i + 1] ? ";" : "\n");
	}
	print_flows_table(t, false);
	/* Platform version 1.3.0: what left through a platform ENI for the task. */
	if (jnum(jpath(t, "platform", "totals", "rx"), "packets", NULL, NULL) ||
	    jnum(jpath(t, "platform", "totals", "tx"), "packets", NULL, NULL)) {
		print_text("  on platform ENIs: rx %" PRIu64 " bytes %" PRIu64
			   " packets; tx %" PRIu64 " bytes %" PRIu64 " packets\n",
			   jnum(jpath(t, "platform", "totals", "rx"), "bytes", NULL, NULL),
			   jnum(jpath(t, "platform", "totals", "rx"), "packets", NULL, NULL),
			   jnum(jpath(t, "platform", "totals", "tx"), "bytes", NULL, NULL),
			   jnum(jpath(t, "platform", "totals", "tx"), "packets", NULL, NULL));
		print_flows_table(t, true);
	}
	print_close_object();
}

static void print_stats(json_t *res)
{
	/* Programs get the result as it is (no copy: it is 1.6 MB for 1,000 tasks). */
	if (print_is_json()) {
		print_json(NULL, res);
		return;
	}
	if (json_object_get(res, "tasks"))
		print_stats_all(res);
	else
		print_stats_detail(res);
}

static void print_first_sample(json_t *sub)
{
	print_stats(json_object_get(sub, "stats"));
}

static void print_next_sample(json_t *params)
{
	print_text("\n");
	print_stats(params);
}

static int stats_watch(const char *task)
{
	return cli_follow("stats.subscribe", task ? json_pack("{s:s}", "task_id", task) : NULL,
			  print_first_sample, print_next_sample);
}

/* netdctl stats [ show ] [ TASK ] [ -j | -p ] [ --watch ]; netdctl stats collect [ TASK ] */
int do_stats(int argc, char **argv)
{
	json_auto_t *res = NULL;
	const char *task = NULL;
	bool watch = false, collect = false, json = print_is_json(), pretty = false;
	int r;

	if (argc > 0 && streq(argv[0], "show")) {
		NEXT_ARG();
	} else if (argc > 0 && streq(argv[0], "collect")) {
		collect = true;
		NEXT_ARG();
	}
	for (; argc > 0; argc--, argv++) {
		if (streq(argv[0], "-j") || streq(argv[0], "--json"))
			json = true;
		else if (streq(argv[0], "-p") || streq(argv[0], "--pretty"))
			json = pretty = true;
		else if (streq(argv[0], "--watch") || streq(argv[0], "-w") ||
			 streq(argv[0], "watch"))
			watch = true;
		else if (argv[0][0] == '-' || task)
			return usage_error("usage: netdctl stats [ TASK ] [ -j ] [ --watch ]");
		else
			task = argv[0];
	}
	if (json)
		print_init(true, pretty);
	if (collect && watch)
		return usage_error("'stats collect' does not watch");
	if (watch)
		return stats_watch(task);
	r = cli_call(collect ? "stats.collect" : "stats.get",
		     task ? json_pack("{s:s}", "task_id", task) : NULL, &res);
	if (r)
		return r;
	print_stats(res);
	return 0;
}

/* netdctl flows TASK: the per-flow table of one task. */
int do_flows(int argc, char **argv)
{
	json_auto_t *res = NULL;
	int r;

	if (argc != 1 || argv[0][0] == '-')
		return usage_error("usage: netdctl flows TASK");
	r = cli_call("stats.get", json_pack("{s:s}", "task_id", argv[0]), &res);
	if (r)
		return r;
	print_open_object(NULL, json_object_get(res, "flows"));
	print_flows_table(res, false);
	print_close_object();
	return 0;
}
