// SPDX-License-Identifier: GPL-2.0-only
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "ctl-server.h"
#include "daemon.h"
#include "event.h"
#include "log.h"

/* The signal that stopped the loop (one daemon loop per process). */
static int stop_signo;

int daemon_opt(const struct daemon_info *info, int c, const char *arg, struct daemon_opts *o)
{
	int r;

	switch (c) {
	case 's':
		o->socket = arg;
		return 1;
	case 'g':
		o->group = arg;
		return 1;
	case 'l':
		r = log_level_from_string(arg);
		if (r < 0) {
			fprintf(stderr, "%s: unknown log level '%s'\n", info->name, arg);
			return -EINVAL;
		}
		log_set_level((enum log_level)r);
		return 1;
	case 'h':
		info->help();
		return 0;
	case 'V':
		if (!info->version)
			break;
		printf("%s %s\n", info->name, info->version);
		return 0;
	case '?':
	case ':':
		fprintf(stderr, "Try '%s --help'.\n", info->name);
		return -EINVAL;
	}
	return -ENOENT;
}

int daemon_opt_uint(const struct daemon_info *info, const char *name, const char *arg,
		    unsigned long min, unsigned long max, unsigned int *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min || v > max || v > UINT_MAX) {
		fprintf(stderr, "%s: --%s must be %lu-%lu, not '%s'\n", info->name, name, min, max,
			arg);
		return -EINVAL;
	}
	*ret = (unsigned int)v;
	return 0;
}

int daemon_opt_end(const struct daemon_info *info, int argc, char **argv)
{
	if (optind >= argc)
		return 0;
	fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", info->name,
		argv[optind], info->name);
	return -EINVAL;
}

int daemon_mkdir_parent(const char *path)
{
	char dir[PATH_MAX], *slash;

	if (strscpy(dir, path, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, 0755);
}

int daemon_ctl_prepare(const struct daemon_opts *o, struct ctl_server_opts *copts)
{
	copts->path = o->socket;
	if (o->group) {
		struct group *g = getgrnam(o->group);

		if (!g)
			return -ENOENT;
		copts->has_group = true;
		copts->group = g->gr_gid;
	}
	return daemon_mkdir_parent(o->socket);
}

static void on_stop_signal(struct event_loop *loop, int signo, void *data)
{
	stop_signo = signo;
	event_loop_exit(loop, 0);
}

int daemon_stop_signals(struct event_loop *loop)
{
	int r;

	r = event_add_signal(loop, SIGTERM, on_stop_signal, NULL);
	if (r >= 0)
		r = event_add_signal(loop, SIGINT, on_stop_signal, NULL);
	if (r < 0)
		return r;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int daemon_run(struct event_loop *loop, int *ret_signo)
{
	int r;

	stop_signo = 0;
	r = event_loop_run(loop);
	if (stop_signo)
		(void)sd_notifyf(false, "STOPPING=1\nSTATUS=Stopping on %s", strsignal(stop_signo));
	*ret_signo = stop_signo;
	return r;
}
