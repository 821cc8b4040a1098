// SPDX-License-Identifier: GPL-2.0-only
/*
 * netd: the host network daemon of taskplane. It owns every registered ENI on the host and every
 * task network built from one, and answers on a control socket. Single-threaded: one epoll loop.
 */
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "counters.h"
#include "guards.h"
#include "ctl-server.h"
#include "event.h"
#include "log.h"
#include "mdfilter.h"
#include "metrics.h"
#include "netd.h"

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
	json_object_set_new(j, "holds", json_integer(d->nholds));
	json_object_set_new(j, "control",
			    json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)cs.requests,
				      "refused_clients", (json_int_t)cs.refused,
				      "dropped_slow_clients", (json_int_t)cs.slow_dropped,
				      "dropped_stalled_clients", (json_int_t)cs.stalled_dropped));
	return ctl_call_reply(call, j);
}

static const struct ctl_method netd_methods[] = { { "health", do_health, 0 }, {} };

static const struct ctl_method *const method_tables[] = {
	netd_methods,  eni_methods,	 task_methods, hold_methods,
	event_methods, counters_methods, NULL,
};

static void on_signal(struct event_loop *loop, int signo, void *data)
{
	log_info("Received %s, exiting", strsignal(signo));
	(void)sd_notifyf(false, "STOPPING=1\nSTATUS=Stopping on %s", strsignal(signo));
	event_loop_exit(loop, 0);
}

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
	       COUNTERS_DEFAULT_INTERVAL, COUNTERS_DEFAULT_RETENTION);
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
	const char *socket;
	const char *run_dir;
	const char *state_dir;
	const char *group;
	bool fault_injection;
	struct counters_opts counters;
};

/* Seconds in [min, max]. */
static int parse_seconds(const char *opt, const char *s, unsigned int min, unsigned int max,
			 unsigned int *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "netd: invalid %s '%s' (want %u..%u seconds)\n", opt, s, min, max);
		return -EINVAL;
	}
	*ret = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct netd_opts *o)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
		{ "log-level", required_argument, NULL, 'l' },
		{ "group", required_argument, NULL, 'g' },
		{ "enable-fault-injection", no_argument, NULL, ARG_FAULT_INJECTION },
		{ "bpffs", required_argument, NULL, ARG_BPFFS },
		{ "stats-interval", required_argument, NULL, ARG_STATS_INTERVAL },
		{ "stats-retention", required_argument, NULL, ARG_STATS_RETENTION },
		{ "metrics-listen", required_argument, NULL, ARG_METRICS_LISTEN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "s:r:l:g:hV", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'r':
			o->run_dir = optarg;
			break;
		case ARG_STATE_DIR:
			o->state_dir = optarg;
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0) {
				fprintf(stderr, "netd: unknown log level '%s'\n", optarg);
				return -EINVAL;
			}
			log_set_level((enum log_level)r);
			break;
		case 'g':
			o->group = optarg;
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
			o->counters.bpffs = optarg;
			break;
		case ARG_STATS_INTERVAL:
			if (parse_seconds("--stats-interval", optarg, 1, 3600,
					  &o->counters.interval_sec) < 0)
				return -EINVAL;
			break;
		case ARG_STATS_RETENTION:
			if (parse_seconds("--stats-retention", optarg, 0, 366 * 86400,
					  &o->counters.retention_sec) < 0)
				return -EINVAL;
			break;
		case ARG_METRICS_LISTEN:
			o->counters.metrics_listen = optarg;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("netd %s\n", TP_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'netd --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "netd: unexpected argument '%s'\nTry 'netd --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	return 1;
}

static int run(struct netd *d, const struct netd_opts *o)
{
	struct ctl_server_opts copts = {
		.path = o->socket,
		.tables = method_tables,
		.userdata = d,
	};
	int r;

	if (o->group) {
		struct group *g = getgrnam(o->group);

		if (!g)
			return log_err_errno(ENOENT, "Unknown group '%s'", o->group);
		copts.has_group = true;
		copts.group = g->gr_gid;
	}

	r = mkdir_p(o->run_dir, 0755);
	if (r < 0)
		return log_err_errno(r, "Failed to create run directory '%s': %m", o->run_dir);
	{
		char *slash, *dir = strdup(o->socket);

		if (!dir)
			return log_oom();
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			r = mkdir_p(dir, 0755);
		}
		free(dir);
		if (r < 0)
			return log_err_errno(r, "Failed to create the socket's directory: %m");
	}

	r = event_loop_new(&d->loop);
	if (r < 0)
		return log_err_errno(r, "Failed to create the event loop: %m");
	r = event_add_signal(d->loop, SIGTERM, on_signal, d);
	if (r >= 0)
		r = event_add_signal(d->loop, SIGINT, on_signal, d);
	if (r < 0)
		return log_err_errno(r, "Failed to set up signal handling: %m");
	signal(SIGPIPE, SIG_IGN);

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
	r = metrics_init(d);
	if (r < 0)
		return log_oom();
	r = state_init(d);
	if (r < 0)
		return log_err_errno(r, "Failed to prepare the journal in '%s' and '%s': %m",
				     d->run_dir, d->persist_dir);
	r = state_load(d);
	if (r < 0)
		return r; /* logged */
	d->stats_interval_sec = o->counters.interval_sec;
	r = counters_init(d, &o->counters);
	if (r < 0)
		return r;
	/* The guards count IMDS and metadata-link drops in nftables: into the stats. */
	counters_set_read_hook(d, guards_stats_hook, NULL);
	r = eni_init(d);
	if (r < 0)
		return r;
	r = task_init(d);
	if (r < 0)
		return r;
	r = mdfilter_init(d);
	if (r < 0)
		return r;
	r = task_recover(d);
	if (r < 0)
		return log_err_errno(r, "Failed to recover tasks: %m");
	r = counters_adopt(d);
	if (r < 0)
		return log_err_errno(r, "Failed to re-adopt the counters: %m");
	r = reaper_init(d);
	if (r < 0)
		return log_err_errno(r, "Failed to finish pending teardown: %m");
	r = hold_init(d);
	if (r < 0)
		return log_err_errno(r, "Failed to read the holds: %m");
	r = eni_scan_host(d);
	if (r < 0)
		return log_err_errno(r, "Failed to look for ENIs on the host: %m");

	r = ctl_server_new(d->loop, &copts, &d->ctl);
	if (r == -EADDRINUSE)
		return log_err_errno(r, "Another netd is serving '%s'", o->socket);
	if (r < 0)
		return log_err_errno(r, "Failed to listen on '%s': %m", o->socket);
	r = counters_metrics_start(d);
	if (r < 0)
		return r;

	log_notice("netd %s ready on %s: %u ENIs, %u tasks", TP_VERSION, o->socket, d->nenis,
		   d->ntasks);
	/* The socket listens and the journal is recovered: systemd may start what needs netd. */
	r = sd_notifyf(false, "READY=1\nSTATUS=Ready on %s: %u ENIs, %u tasks", o->socket, d->nenis,
		       d->ntasks);
	if (r < 0)
		log_warn_errno(r, "Failed to notify the service manager: %m, ignoring");
	return event_loop_run(d->loop);
}

static void cleanup(struct netd *d)
{
	d->ctl = ctl_server_free(d->ctl);
	reaper_exit(d);
	mdfilter_exit(d);
	counters_exit(d);
	task_exit(d);
	hold_exit(d);
	eni_exit(d);
	events_exit(d);
	metrics_exit(d);
	d->host_nl = netlink_free(d->host_nl);
	d->loop = event_loop_free(d->loop);
	d->host_netns_fd = safe_close(d->host_netns_fd);
	free(d->state_dir);
}

int main(int argc, char **argv)
{
	struct netd_opts o = {
		.socket = CTL_DEFAULT_SOCKET,
		.run_dir = DEFAULT_RUN_DIR,
		.state_dir = DEFAULT_STATE_DIR,
		.counters = { .bpffs = COUNTERS_DEFAULT_BPFFS,
			      .interval_sec = COUNTERS_DEFAULT_INTERVAL,
			      .retention_sec = COUNTERS_DEFAULT_RETENTION },
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
	d.socket_path = (char *)o.socket;
	d.fault_injection = o.fault_injection;
	if (d.fault_injection)
		log_warn("Fault injection is enabled: for tests only");

	r = run(&d, &o);
	cleanup(&d);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
