/* SPDX-License-Identifier: GPL-2.0-only */
/* netdctl: the operators' CLI for netd, in iproute2's shape (netdctl OBJECT COMMAND ARGS). */
#ifndef NETD_NETDCTL_H
#define NETD_NETDCTL_H

#include <jansson.h>
#include <inttypes.h>
#include <stdbool.h>

#include "cli.h"
#include "ctl-proto.h"
#include "json-util.h"
#include "print.h"

/* Exit status (cli.h): 0 success, 1 failure (also: a check found differences), 2 usage. */

struct netdctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* Dispatch argv[0] against a command table (prefix match); unknown → usage error. */
int netdctl_dispatch(const char *object, const struct netdctl_cmd *cmds, int argc, char **argv);

int do_eni(int argc, char **argv);
int do_task(int argc, char **argv);
int do_health(int argc, char **argv);
int do_events(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_flows(int argc, char **argv);
int do_platform(int argc, char **argv);

/* What task and platform attach share (netdctl-task.c): an integer argument in [0, max]; a
 * 'route DST [ via GW ] [ mtu N ] ...' at argv[0], appended to routes (argv left at its last
 * word); routes and string lists printed as 'task show' does. */
int netdctl_parse_uint(const char *what, const char *s, long max, json_int_t *ret);
int netdctl_parse_route(int *pargc, char ***pargv, json_t *routes);
void netdctl_print_routes(json_t *routes);
void netdctl_print_strings(const char *label, json_t *arr);

#define NEXT_ARG()                                                                                 \
	do {                                                                                       \
		argc--;                                                                            \
		argv++;                                                                            \
	} while (0)

#endif
