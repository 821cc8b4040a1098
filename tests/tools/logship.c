// SPDX-License-Identifier: GPL-2.0-only
/*
 * logship: a stand-in for the task shim's log path, for the tests (tests/logs/) and the
 * benchmark (bench/logs/). It runs a command with its stdout and stderr on pipes and does with
 * them what the shim does with a container's: runtime/logship.h's source, the container's local
 * log file (runtime/logfile.h) and, with awslogs options, a shipper to the collector.
 *
 *   logship run --container NAME --task-id ID [--log-opt KEY=VALUE]... [--log-dir DIR]
 *               [--log-max-size BYTES] [--netns PATH] [--mark N] [--hostname H]
 *               [--stats FILE] [--drain-timeout SEC] [--backoff-max-ms N] [--verbose]
 *               -- CMD [ARG...]
 *   logship logs --log-dir DIR [--container NAME] [--follow] [--count N] [--timeout SEC]
 *               [--json]
 *
 * run: when the command has exited and its pipes are read, the shipper is drained (everything
 * acknowledged by the collector, which then closed the connection) for at most --drain-timeout
 * (30 s). The counters are printed as one JSON object on stdout, and written to --stats FILE once
 * it is ready for signals, on SIGUSR1 and at the end. Exit status: 0 if the command exited 0
 * and (with shipping) every message was delivered or counted as dropped; 1 otherwise; 2 for bad
 * usage. SIGTERM and SIGINT go to the command.
 *
 * logs: the entries of the log files in time order: their bytes (stdout's to stdout, stderr's to
 * stderr), or with --json one object per entry ({"time","stream","container","log"}) on stdout.
 * --follow keeps reading as the files grow, until --count entries (or --timeout, default 30 s).
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "event.h"
#include "log.h"
#include "logfile.h"
#include "logship.h"
#include "netns.h"
#include "util.h"

struct run {
	struct event_loop *loop;
	struct logship *ship;
	struct logship_source *src;
	struct logfile *file;
	const char *stats_path;
	pid_t child;
	int child_status;
	bool child_exited;
	bool eof;
	bool drain_done;
	int drain_result;
	bool verbose;
	uint64_t drain_timeout_usec;
};

static int parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 0);
	return errno || *end || end == s || *ret > max ? -EINVAL : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: logship run --container NAME --task-id ID [--log-opt KEY=VALUE]...\n"
		"                   [--log-dir DIR] [--log-max-size BYTES] [--netns PATH] [--mark N]\n"
		"                   [--hostname H] [--stats FILE] [--drain-timeout SEC]\n"
		"                   [--backoff-max-ms N] [--verbose] -- CMD [ARG...]\n"
		"       logship logs --log-dir DIR [--container NAME] [--follow] [--count N]\n"
		"                   [--timeout SEC] [--json]\n");
}

static json_t *stats_json(struct run *run)
{
	json_t *j, *ship = json_null(), *file = json_null();
	uint64_t lines = 0, split = 0;

	if (run->src)
		logship_source_get_counts(run->src, &lines, &split);
	if (run->ship) {
		struct logship_stats st;

		logship_get_stats(run->ship, &st);
		ship = json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:i}",
			"messages", (json_int_t)st.messages, "delivered", (json_int_t)st.delivered,
			"delivered_bytes", (json_int_t)st.delivered_bytes, "dropped",
			(json_int_t)st.dropped, "dropped_bytes", (json_int_t)st.dropped_bytes,
			"resent", (json_int_t)st.resent, "buffered", (json_int_t)st.buffered,
			"buffered_bytes", (json_int_t)st.buffered_bytes, "connects",
			(json_int_t)st.connects, "connect_failures",
			(json_int_t)st.connect_failures, "disconnects", (json_int_t)st.disconnects,
			"resets", (json_int_t)st.resets, "full", (json_int_t)st.full, "connected",
			st.connected, "drained", st.drained, "last_error", st.last_error);
	}
	if (run->file)
		file = json_pack("{s:I, s:i}", "size", (json_int_t)logfile_size(run->file),
				 "rotations", (int)logfile_rotations(run->file));
	j = json_pack(
		"{s:i, s:b, s:i, s:b, s:I, s:I, s:b, s:i, s:o, s:o}", "child_pid", (int)run->child,
		"child_exited", run->child_exited, "child_status", run->child_status, "eof",
		run->eof, "lines", (json_int_t)lines, "split", (json_int_t)split, "paused",
		run->src ? logship_source_paused(run->src) : false, "file_error",
		run->src ? logship_source_file_error(run->src) : 0, "ship", ship, "file", file);
	return j;
}

static void stats_write(struct run *run)
{
	json_auto_t *j = stats_json(run);
	_cleanup_free_ char *s = NULL;

	if (!run->stats_path || !j)
		return;
	s = json_dumps(j, JSON_COMPACT);
	if (!s || write_file_atomic(run->stats_path, s, strlen(s), 0644) < 0)
		fprintf(stderr, "logship: cannot write %s\n", run->stats_path);
}

static void maybe_exit(struct run *run)
{
	if (run->child_exited && run->eof && run->drain_done)
		event_loop_exit(run->loop, 0);
}

static void on_drained(struct logship *ls, int result, void *data)
{
	struct run *run = data;

	run->drain_done = true;
	run->drain_result = result;
	if (result < 0)
		fprintf(stderr, "logship: drain: %s\n", strerror(-result));
	maybe_exit(run);
}

static void on_eof(struct logship_source *src, void *data)
{
	struct run *run = data;
	int r;

	run->eof = true;
	if (run->ship) {
		r = logship_drain(run->ship, run->drain_timeout_usec, on_drained, run);
		if (r < 0) {
			fprintf(stderr, "logship: drain: %s\n", strerror(-r));
			run->drain_done = true;
			run->drain_result = r;
		}
	} else {
		run->drain_done = true;
	}
	maybe_exit(run);
}

static void on_conn(struct logship *ls, int error, void *data)
{
	struct run *run = data;

	if (!run->verbose)
		return;
	if (error == 0)
		fprintf(stderr, "logship: connected\n");
	else
		fprintf(stderr, "logship: connection: %s\n", strerror(-error));
}

static void on_signal(struct event_loop *loop, int signo, void *data)
{
	struct run *run = data;
	int status;

	switch (signo) {
	case SIGUSR1:
		stats_write(run);
		break;
	case SIGCHLD:
		if (run->child > 0 && waitpid(run->child, &status, WNOHANG) == run->child) {
			run->child_exited = true;
			run->child_status =
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			maybe_exit(run);
		}
		break;
	case SIGTERM:
	case SIGINT:
		if (run->child > 0 && !run->child_exited)
			kill(run->child, signo);
		break;
	}
}

static int spawn(char **argv, int out_fd, int err_fd, pid_t *ret)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "logship: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*ret = pid;
	return 0;
}

static int add_opt(json_t *opts, const char *kv)
{
	const char *eq = strchr(kv, '=');
	_cleanup_free_ char *k = NULL;

	if (!eq || eq == kv)
		return -EINVAL;
	k = strndup(kv, (size_t)(eq - kv));
	if (!k)
		return -ENOMEM;
	return json_object_set_new(opts, k, json_string(eq + 1)) < 0 ? -ENOMEM : 0;
}

static int do_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "container", required_argument, NULL, 'c' },
		{ "task-id", required_argument, NULL, 't' },
		{ "log-opt", required_argument, NULL, 'o' },
		{ "log-dir", required_argument, NULL, 'd' },
		{ "log-max-size", required_argument, NULL, 'S' },
		{ "netns", required_argument, NULL, 'n' },
		{ "mark", required_argument, NULL, 'm' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "stats", required_argument, NULL, 's' },
		{ "drain-timeout", required_argument, NULL, 'D' },
		{ "backoff-max-ms", required_argument, NULL, 'B' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *container = NULL, *task_id = NULL, *log_dir = NULL, *netns = NULL;
	const char *hostname = NULL;
	unsigned long max_size = 0, mark = 0, drain = 30, backoff_max = 0;
	json_auto_t *opts = json_object(), *stats = NULL;
	_cleanup_logship_config_ struct logship_config *config = NULL;
	_cleanup_close_ int netns_fd = -1;
	_cleanup_free_ char *error = NULL;
	struct run run = { .child = -1 };
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int c, r, status = EXIT_FAILURE;

	if (!opts)
		return EXIT_FAILURE;
	while ((c = getopt_long(argc, argv, "+c:t:o:d:S:n:m:H:s:D:B:vh", options, NULL)) >= 0) {
		r = 0;
		switch (c) {
		case 'c':
			container = optarg;
			break;
		case 't':
			task_id = optarg;
			break;
		case 'o':
			r = add_opt(opts, optarg);
			break;
		case 'd':
			log_dir = optarg;
			break;
		case 'S':
			r = parse_ulong(optarg, ULONG_MAX, &max_size);
			break;
		case 'n':
			netns = optarg;
			break;
		case 'm':
			r = parse_ulong(optarg, UINT32_MAX, &mark);
			break;
		case 'H':
			hostname = optarg;
			break;
		case 's':
			run.stats_path = optarg;
			break;
		case 'D':
			r = parse_ulong(optarg, 3600, &drain);
			break;
		case 'B':
			r = parse_ulong(optarg, 3600000, &backoff_max);
			break;
		case 'v':
			run.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
		if (r < 0) {
			fprintf(stderr, "logship: invalid value '%s'\n", optarg);
			return 2;
		}
	}
	if (!container || !task_id || optind >= argc) {
		usage(stderr);
		return 2;
	}
	run.drain_timeout_usec = (uint64_t)drain * 1000000ULL;

	if (json_object_size(opts) > 0) {
		r = logship_config_parse(opts, &config, &error);
		if (r < 0) {
			fprintf(stderr, "logship: %s\n", error ?: strerror(-r));
			return 2;
		}
	}
	if (netns) {
		r = netns_open(netns, &netns_fd);
		if (r < 0) {
			fprintf(stderr, "logship: %s: %s\n", netns, strerror(-r));
			return EXIT_FAILURE;
		}
	}

	r = event_loop_new(&run.loop);
	if (r < 0)
		goto out;
	for (int s = 0, sigs[] = { SIGCHLD, SIGUSR1, SIGTERM, SIGINT }; s < 4; s++) {
		r = event_add_signal(run.loop, sigs[s], on_signal, &run);
		if (r < 0)
			goto out;
	}
	if (log_dir) {
		r = logfile_open(&(struct logfile_opts){ .dir = log_dir,
							 .container = container,
							 .max_size = max_size },
				 &run.file);
		if (r < 0) {
			fprintf(stderr, "logship: log file in %s: %s\n", log_dir, strerror(-r));
			goto out;
		}
	}
	if (config) {
		r = logship_new(run.loop,
				&(struct logship_opts){ .config = config,
							.container = container,
							.task_id = task_id,
							.hostname = hostname,
							.netns_fd = netns_fd,
							.mark = (uint32_t)mark,
							.backoff_max_usec = backoff_max * 1000ULL,
							.on_conn = on_conn,
							.data = &run },
				&run.ship, &error);
		if (r < 0) {
			fprintf(stderr, "logship: %s\n", error ?: strerror(-r));
			goto out;
		}
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	r = spawn(argv + optind, out[1], err[1], &run.child);
	out[1] = safe_close(out[1]);
	err[1] = safe_close(err[1]);
	if (r < 0) {
		fprintf(stderr, "logship: fork: %s\n", strerror(-r));
		goto out;
	}
	r = logship_source_new(run.loop,
			       &(struct logship_source_opts){ .stdout_fd = out[0],
							      .stderr_fd = err[0],
							      .file = run.file,
							      .ship = run.ship,
							      .on_eof = on_eof,
							      .data = &run },
			       &run.src);
	if (r < 0)
		goto out;
	out[0] = err[0] = -1;

	/* Once now: the signals are handled from here on (SIGUSR1 would have killed it before). */
	stats_write(&run);
	event_loop_run(run.loop);
	if (run.file) {
		r = logfile_flush(run.file);
		if (r < 0)
			fprintf(stderr, "logship: writing the log file: %s\n", strerror(-r));
	}
	stats_write(&run);
	stats = stats_json(&run);
	if (stats) {
		json_dumpf(stats, stdout, JSON_COMPACT);
		putchar('\n');
	}
	status = run.child_status == 0 && run.drain_result == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	r = 0;
out:
	if (r < 0)
		fprintf(stderr, "logship: %s\n", strerror(-r));
	if (run.child > 0 && !run.child_exited) {
		kill(run.child, SIGKILL);
		waitpid(run.child, NULL, 0);
	}
	logship_source_free(run.src);
	logship_free(run.ship);
	logfile_close(run.file);
	event_loop_free(run.loop);
	for (int i = 0; i < 2; i++) {
		safe_close(out[i]);
		safe_close(err[i]);
	}
	return status;
}

static int print_entry(const struct logfile_entry *e, bool json)
{
	if (json) {
		char t[40];
		json_auto_t *j = NULL;

		format_rfc3339_nsec(e->time_nsec, t, sizeof(t));
		j = json_pack("{s:s, s:s, s:s, s:s%}", "time", t, "stream",
			      logfile_stream_to_string(e->stream), "container", e->container, "log",
			      e->data, e->len);
		if (!j || json_dumpf(j, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) < 0)
			return -ENOMEM;
		putchar('\n');
		return 0;
	}
	fwrite(e->data, 1, e->len, e->stream == LOGFILE_STDERR ? stderr : stdout);
	return 0;
}

static int do_logs(int argc, char **argv)
{
	static const struct option options[] = {
		{ "log-dir", required_argument, NULL, 'd' },
		{ "container", required_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_logfile_reader_ struct logfile_reader *reader = NULL;
	struct logfile_reader_opts o = {};
	unsigned long count = 0, timeout = 30, seen = 0;
	bool json = false;
	uint64_t deadline;
	int c, r;

	while ((c = getopt_long(argc, argv, "d:c:fn:t:jh", options, NULL)) >= 0) {
		r = 0;
		switch (c) {
		case 'd':
			o.dir = optarg;
			break;
		case 'c':
			o.container = optarg;
			break;
		case 'f':
			o.follow = true;
			break;
		case 'n':
			r = parse_ulong(optarg, ULONG_MAX, &count);
			break;
		case 't':
			r = parse_ulong(optarg, 3600, &timeout);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
		if (r < 0) {
			fprintf(stderr, "logship: invalid value '%s'\n", optarg);
			return 2;
		}
	}
	if (!o.dir || optind < argc) {
		usage(stderr);
		return 2;
	}
	r = logfile_reader_open(&o, &reader);
	if (r < 0) {
		fprintf(stderr, "logship: %s: %s\n", o.dir, strerror(-r));
		return EXIT_FAILURE;
	}
	deadline = now_usec() + (uint64_t)timeout * 1000000ULL;
	for (;;) {
		struct logfile_entry e;
		struct pollfd pfd = { .fd = logfile_reader_fd(reader), .events = POLLIN };
		uint64_t now;

		r = logfile_reader_next(reader, &e);
		if (r < 0) {
			fprintf(stderr, "logship: reading: %s\n", strerror(-r));
			return EXIT_FAILURE;
		}
		if (r > 0) {
			if (print_entry(&e, json) < 0)
				return EXIT_FAILURE;
			if (count && ++seen >= count)
				break;
			continue;
		}
		if (!o.follow)
			break;
		fflush(stdout);
		now = now_usec();
		if (now >= deadline) {
			fprintf(stderr, "logship: %lu entries after %lu s\n", seen, timeout);
			return EXIT_FAILURE;
		}
		r = poll(&pfd, 1, (int)((deadline - now) / 1000 + 1));
		if (r < 0 && errno != EINTR)
			return EXIT_FAILURE;
		r = logfile_reader_wake(reader);
		if (r < 0) {
			fprintf(stderr, "logship: following: %s\n", strerror(-r));
			return EXIT_FAILURE;
		}
	}
	if (logfile_reader_skipped(reader))
		fprintf(stderr, "logship: %" PRIu64 " lines were not entries\n",
			logfile_reader_skipped(reader));
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	log_set_ident("logship");
	log_set_level(LOG_LEVEL_WARNING);
	if (argc >= 2 && streq(argv[1], "run"))
		return do_run(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "logs"))
		return do_logs(argc - 1, argv + 1);
	if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	usage(stderr);
	return 2;
}
