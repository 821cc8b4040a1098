/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The frame of taskplane's daemons (netd, the taskvm agent): the options they share (control
 * socket, group, log level, --help, --version), their control socket's group and directory, and
 * the signals that stop them. A daemon puts DAEMON_OPTIONS in its getopt_long() table, hands
 * every option to daemon_opt() first and takes those it returns -ENOENT for.
 */
#ifndef TP_DAEMON_H
#define TP_DAEMON_H

#include <getopt.h>
#include <stdbool.h>

struct event_loop;
struct ctl_server_opts;

/* The daemon, for its messages and for --help and --version. */
struct daemon_info {
	const char *name;    /* messages on stderr start with it: "netd", "taskvm agent" */
	void (*help)(void);  /* prints the usage on stdout */
	const char *version; /* --version prints "NAME VERSION"; NULL: the daemon has none */
};

/* The shared options' values (the log level is set at once). */
struct daemon_opts {
	const char *socket;
	const char *group;
};

/* The shared options' entries in the getopt_long() table, and their short letters. */
#define DAEMON_OPTIONS                                                                             \
	{ "socket", required_argument, NULL, 's' }, { "group", required_argument, NULL, 'g' },     \
		{ "log-level", required_argument, NULL, 'l' },                                     \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}
#define DAEMON_OPTION_VERSION                                                                      \
	{                                                                                          \
		"version", no_argument, NULL, 'V'                                                  \
	}
#define DAEMON_SHORT_OPTIONS "s:g:l:h"

/*
 * Take option c of getopt_long() (arg its argument) if it is a shared one: 1 taken, 0 when --help
 * or --version was printed (the daemon exits successfully), -EINVAL for a bad value or an
 * unknown option (said on stderr), -ENOENT when c is one of the daemon's own.
 */
int daemon_opt(const struct daemon_info *info, int c, const char *arg, struct daemon_opts *o);
/* The number of option --name, in [min, max]; -EINVAL, said on stderr, when it is not. */
int daemon_opt_uint(const struct daemon_info *info, const char *name, const char *arg,
		    unsigned long min, unsigned long max, unsigned int *ret);
/* After the options: no argument may follow (-EINVAL, said on stderr). */
int daemon_opt_end(const struct daemon_info *info, int argc, char **argv);

/* The control socket of o: set copts' group from its name (-ENOENT: no such group) and
 * create the socket's directory. */
int daemon_ctl_prepare(const struct daemon_opts *o, struct ctl_server_opts *copts);
/* Create the directory that will hold path (mode 0755), if path has one. */
int daemon_mkdir_parent(const char *path);

/* SIGTERM and SIGINT stop the loop; SIGPIPE is ignored (a peer that went away is an error on
 * its socket). */
int daemon_stop_signals(struct event_loop *loop);
/*
 * Run the loop until it is stopped; *ret_signo gets the stopping signal (0: stopped otherwise),
 * which has been told to systemd (STOPPING=1). Returns the loop's exit code.
 */
int daemon_run(struct event_loop *loop, int *ret_signo);

#endif
