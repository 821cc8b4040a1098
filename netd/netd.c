// SPDX-License-Identifier: GPL-2.0-only
/*
 * netd: the host network daemon of taskplane. It owns every registered ENI on the host and every
 * task network built from one, and answers on a control socket. Single-threaded: one epoll loop.
 */
#include <getopt.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "counters-bpf.h"
#include "ctl-server.h"
#include "daemon.h"
#include "devstats.h"
#include "eni-methods.h"
#include "eni.h"
#include "event.h"
#include "events-methods.h"
#include "events.h"
#include "finals.h"
#include "guards.h"
#include "hold-methods.h"
#include "hold.h"
#include "journal.h"
#include "platform.h"
#include "log.h"
#include "mdfilter.h"
#include "metrics.h"
#include "netd.h"
#include "plans.h"
#include "reaper.h"
#include "slots.h"
#include "stats.h"
#include "step-counters.h"
#include "step-mdlink.h"
#include "task.h"

#define DEFAULT_RUN_DIR	  "/run/netd"
#define DEFAULT_STATE_DIR "/var/lib/netd"

static int do_health(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	unsigned int counts[4] = {};
	json_t *j;

	for (struct eni *e = d->enis; e; e = e->next)
		counts[eni_get_state(e)]++;
	struct ctl_server_stats cs = {};

	if (d->ctl)
		ctl_server_get_stats(d->ctl, &cs);
	j = json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:i, s:i}",
		      "status", "ok", "version", TP_VERSION, "pid", (int)getpid(), "uptime_sec",
		      (json_int_t)((now_usec() - d->start_usec) / 1000000), "socket",
		      d->socket_path, "run_dir", d->run_dir, "enis", "total", d->nenis, "available",
		      counts[ENI_STATE_AVAILABLE], "attached", counts[ENI_STATE_ATTACHED],
		      "missing", counts[ENI_STATE_MISSING], "lost", counts[ENI_STATE_LOST], "tasks",
		      d->ntasks, "clients", d->ctl ? ctl_server_clients(d->ctl) : 0);
	json_object_set_new(j, "state_dir", json_string(d->persist_dir));
	json_object_set_new(j, "schema_version", json_integer(CTL_SCHEMA_VERSION));
	json_object_set_new(j, "reaping", json_integer(reaper_pending(d)));
	json_object_set_new(j, "holds", json_integer(hold_count(d)));
	json_object_set_new(j, "platforms", json_integer(d->nplatforms));
	json_object_set_new(j, "control",
			    json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)cs.requests,
				      "refused_clients", (json_int_t)cs.refused,
				      "dropped_slow_clients", (json_int_t)cs.slow_dropped,
				      "dropped_stalled_clients", (json_int_t)cs.stalled_dropped));
	return ctl_call_reply(call, j);
}

static const struct ctl_method netd_methods[] = { { "health", do_health, 0 }, {} };

static const struct ctl_method *const method_tables[] = {
	netd_methods, eni_methods,   task_methods,  platform_methods,
	hold_methods, event_methods, stats_methods, NULL,
};

static void help(void)
{
	printf("Usage: netd [OPTIONS]\n"
	       "\n"
	       "The taskplane host network daemon: moves registered ENIs into task network\n"
	       "namespaces, configures them, and gives them back. See netd(8).\n"
	       "\n"
	       "  -s, --socket PATH           control socket (default %s)\n"
	       "  -r, --run-dir DIR           run directory: the tasks' journal (default %s)\n"
	       "      --state-dir DIR         state that survives a reboot: the ENI\n"
	       "                              registrations (default %s)\n"
	       "  -l, --log-level LEVEL       err, warning, notice, info (default), debug\n"
	       "  -g, --group NAME            group whose members may change state\n"
	       "      --bpffs DIR             where the counter maps are pinned (default %s)\n"
	       "      --stats-interval SECONDS  sampling interval for rates and subscriptions (default %d)\n"
	       "      --stats-retention SECONDS  how long a detached task's counters are kept (default %d)\n"
	       "      --metrics-listen ADDR:PORT  serve Prometheus metrics there (default off)\n"
	       "      --enable-fault-injection  accept the attach parameter 'fault' (tests only)\n"
	       "  -h, --help                  show this help\n"
	       "  -V, --version               show the version\n",
	       CTL_DEFAULT_SOCKET, DEFAULT_RUN_DIR, DEFAULT_STATE_DIR, COUNTERS_DEFAULT_BPFFS,
	       STATS_DEFAULT_INTERVAL, FINALS_DEFAULT_RETENTION);
}

enum {
	ARG_FAULT_INJECTION = 0x100,
	ARG_BPFFS,
	ARG_STATS_INTERVAL,
	ARG_STATS_RETENTION,
	ARG_METRICS_LISTEN,
	ARG_STATE_DIR,
};

struct netd_opts {
	struct daemon_opts daemon;
	const char *run_dir;
	const char *state_dir;
	bool fault_injection;
	const char *bpffs;
	struct stats_opts stats;
	unsigned int retention_sec;
};

static const struct daemon_info netd_info = {
	.name = "netd",
	.help = help,
	.version = TP_VERSION,
};

static int parse_args(int argc, char **argv, struct netd_opts *o)
{
	static const struct option options[] = {
		DAEMON_OPTIONS,
		DAEMON_OPTION_VERSION,
		{ "run-dir", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
		{ "enable-fault-injection", no_argument, NULL, ARG_FAULT_INJECTION },
		{ "bpffs", required_argument, NULL, ARG_BPFFS },
		{ "stats-interval", required_argument, NULL, ARG_STATS_INTERVAL },
		{ "stats-retention", required_argument, NULL, ARG_STATS_RETENTION },
		{ "metrics-listen", required_argument, NULL, ARG_METRICS_LISTEN },
		{}
	};
	int c, r;

	while ((c = getopt_long(argc, argv, DAEMON_SHORT_OPTIONS "r:V", options, NULL)) >= 0) {
		r = daemon_opt(&netd_info, c, optarg, &o->daemon);
		if (r != -ENOENT) {
			if (r <= 0)
				return r;
			continue;
		}
		switch (c) {
		case 'r':
			o->run_dir = optarg;
			break;
		case ARG_STATE_DIR:
			o->state_dir = optarg;
			break;
		case ARG_FAULT_INJECTION:
			o->fault_injection = true;
			break;
		case ARG_BPFFS:
			if (optarg[0] != '/') {
				fprintf(stderr, "netd: --bpffs wants an absolute path, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->bpffs = optarg;
			break;
		case ARG_STATS_INTERVAL:
			r = daemon_opt_uint(&netd_info, "stats-interval", optarg, 1, 3600,
					    &o->stats.interval_sec);
			if (r < 0)
				return r;
			break;
		case ARG_STATS_RETENTION:
			r = daemon_opt_uint(&netd_info, "stats-retention", optarg, 0, 366 * 86400,
					    &o->retention_sec);
			if (r < 0)
				return r;
			break;
		case ARG_METRICS_LISTEN:
			o->stats.metrics_listen = optarg;
			break;
		}
	}
	r = daemon_opt_end(&netd_info, argc, argv);
	return r < 0 ? r : 1;
}

static int run(struct netd *d, const struct netd_opts *o)
{
	struct ctl_server_opts copts = {
		.tables = method_tables,
		.userdata = d,
	};
	int r, signo;

	r = daemon_ctl_prepare(&o->daemon, &copts);
	if (r == -ENOENT)
		return log_err_errno(r, "Unknown group '%s'", o->daemon.group);
	if (r < 0)
		return log_err_errno(r, "Failed to create the socket's directory: %m");
	r = mkdir_p(o->run_dir, 0755);
	if (r < 0)
		return log_err_errno(r, "Failed to create run directory '%s': %m", o->run_dir);

	r = event_loop_new(&d->loop);
	if (r < 0)
		return log_err_errno(r, "Failed to create the event loop: %m");
	r = daemon_stop_signals(d->loop);
	if (r < 0)
		return log_err_errno(r, "Failed to set up signal handling: %m");

	r = netns_open_self(&d->host_netns_fd);
	if (r < 0)
		return log_err_errno(r, "Failed to open netd's own network namespace: %m");
	r = netns_get_id(d->host_netns_fd, &d->host_netns_id);
	if (r < 0)
		return log_err_errno(r, "Failed to identify netd's network namespace: %m");
	r = netlink_open(-1, &d->host_nl);
	if (r < 0)
		return log_err_errno(r, "Failed to open rtnetlink: %m");

	r = events_init(d);
	if (r < 0)
		return log_err_errno(r, "Failed to set up events: %m");
	{
		const char *steps[64];
		unsigned int n = 0;

		for (size_t p = 0; netd_plans[p]; p++)
			for (unsigned int i = 0; i < netd_plans[p]->nsteps && n < ARRAY_SIZE(steps);
			     i++)
				steps[n++] = netd_plans[p]->steps[i]->name;
		r = metrics_init(d, steps, n);
	}
	if (r < 0)
		return log_oom();
	r = slots_new(NETD_MAX_TASKS, &d->slots);
	if (r < 0)
		return log_oom();
	r = journal_new(d->run_dir, d->persist_dir, &d->journal);
	if (r < 0)
		return log_err_errno(r, "Failed to prepare the journal in '%s' and '%s': %m",
				     d->run_dir, d->persist_dir);
	r = eni_journal_load(d);
	if (r >= 0)
		r = task_journal_load(d);
	if (r >= 0)
		r = platform_journal_load(d);
	if (r < 0)
		return r; /* logged */
	r = devstats_new(&d->devstats);
	if (r < 0)
		return log_err_errno(r, "Failed to open rtnetlink: %m");
	r = counters_bpf_new(o->bpffs, &d->bpf);
	if (r < 0)
		return r; /* logged */
	r = finals_init(d, o->retention_sec);
	if (r >= 0)
		r = step_counters_init(d);
	if (r < 0)
		return log_oom();
	r = stats_init(d, &o->stats);
	if (r < 0)
		return r;
	log_info("Counters: maps in '%s', sampling every %u s, final counters kept %u s", o->bpffs,
		 d->stats_interval_sec, o->retention_sec);
	r = eni_init(d, task_eni_appeared);
	if (r < 0)
		return r;
	r = task_init(d);
	if (r < 0)
		return r;
	r = mdfilter_init(d, step_mdlink_may_exist);
	if (r < 0)
		return r;
	r = task_recover(d);
	if (r < 0)
		return log_err_errno(r, "Failed to recover tasks: %m");
	r = platform_recover(d);
	if (r < 0)
		return log_err_errno(r, "Failed to recover the platform ENIs: %m");
	r = step_counters_adopt(d);
	if (r < 0)
		return log_err_errno(r, "Failed to re-adopt the counters: %m");
	r = reaper_init(d, netd_plans);
	if (r < 0)
		return log_err_errno(r, "Failed to finish pending teardown: %m");
	r = hold_init(d, task_is_live);
	if (r < 0)
		return log_err_errno(r, "Failed to read the holds: %m");
	r = eni_scan_host(d);
	if (r < 0)
		return log_err_errno(r, "Failed to look for ENIs on the host: %m");

	r = ctl_server_new(d->loop, &copts, &d->ctl);
	if (r == -EADDRINUSE)
		return log_err_errno(r, "Another netd is serving '%s'", o->daemon.socket);
	if (r < 0)
		return log_err_errno(r, "Failed to listen on '%s': %m", o->daemon.socket);
	r = stats_metrics_start(d);
	if (r < 0)
		return r;

	log_notice("netd %s ready on %s: %u ENIs, %u tasks", TP_VERSION, o->daemon.socket, d->nenis,
		   d->ntasks);
	/* The socket listens and the journal is recovered: systemd may start what needs netd. */
	r = sd_notifyf(false, "READY=1\nSTATUS=Ready on %s: %u ENIs, %u tasks", o->daemon.socket,
		       d->nenis, d->ntasks);
	if (r < 0)
		log_warn_errno(r, "Failed to notify the service manager: %m, ignoring");
	r = daemon_run(d->loop, &signo);
	if (signo)
		log_info("Received %s, exiting", strsignal(signo));
	return r;
}

static void cleanup(struct netd *d)
{
	d->ctl = ctl_server_free(d->ctl);
	reaper_exit(d);
	mdfilter_exit(d);
	stats_exit(d);
	step_counters_exit(d);
	finals_exit(d);
	d->bpf = counters_bpf_free(d->bpf);
	d->devstats = devstats_free(d->devstats);
	task_exit(d);
	platform_exit(d);
	hold_exit(d);
	eni_exit(d);
	events_exit(d);
	metrics_exit(d);
	d->host_nl = netlink_free(d->host_nl);
	d->loop = event_loop_free(d->loop);
	d->host_netns_fd = safe_close(d->host_netns_fd);
	d->journal = journal_free(d->journal);
	d->slots = slots_free(d->slots);
}

int main(int argc, char **argv)
{
	struct netd_opts o = {
		.daemon = { .socket = CTL_DEFAULT_SOCKET },
		.run_dir = DEFAULT_RUN_DIR,
		.state_dir = DEFAULT_STATE_DIR,
		.bpffs = COUNTERS_DEFAULT_BPFFS,
		.stats = { .interval_sec = STATS_DEFAULT_INTERVAL },
		.retention_sec = FINALS_DEFAULT_RETENTION,
	};
	struct netd d = { .host_netns_fd = -1, .monitor_id = 0 };
	int r;

	log_set_ident("netd");
	r = parse_args(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? 2 : EXIT_SUCCESS;
	umask(0022);
	d.start_usec = now_usec();
	d.run_dir = (char *)o.run_dir;
	d.persist_dir = (char *)o.state_dir;
	d.socket_path = (char *)o.daemon.socket;
	d.fault_injection = o.fault_injection;
	if (d.fault_injection)
		log_warn("Fault injection is enabled: for tests only");

	r = run(&d, &o);
	cleanup(&d);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
