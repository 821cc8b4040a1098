/* SPDX-License-Identifier: GPL-2.0-only */
/* netdctl: the operators' CLI for netd, in iproute2's shape (netdctl OBJECT COMMAND ARGS). */
#ifndef NETD_NETDCTL_H
#define NETD_NETDCTL_H

#include <jansson.h>
#include <inttypes.h>
#include <stdbool.h>

#include "ctl-proto.h"

#include "print.h"

/* Exit status: 0 success, 1 failure (also: a check found differences), 2 usage. */
enum {
	EXIT_USAGE = 2,
};

struct netdctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* Global options. */
extern const char *netdctl_socket;
extern int netdctl_timeout_ms;

/* Call a method on netd; prints the error (text or JSON) and returns EXIT_FAILURE on failure. */
int netdctl_call(const char *method, json_t *params, json_t **ret_result);
/* Open a connection that stays open (for subscriptions); prints errors. */
int netdctl_connect(struct ctl_client **ret);
/* Print a usage error and return EXIT_USAGE. */
int usage_error(const char *fmt, ...) _printf_(1, 2);
/* iproute2's matches(): arg is a non-empty prefix of word. */
bool matches(const char *arg, const char *word);
/* Dispatch argv[0] against a command table (prefix match); unknown → usage error. */
int netdctl_dispatch(const char *object, const struct netdctl_cmd *cmds, int argc, char **argv);

int do_eni(int argc, char **argv);
int do_task(int argc, char **argv);
int do_health(int argc, char **argv);
int do_events(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_flows(int argc, char **argv);

/* Shared formatting of common fields. */
const char *json_str(json_t *obj, const char *key);
json_int_t json_int(json_t *obj, const char *key);

#define NEXT_ARG()                                                                                 \
	do {                                                                                       \
		argc--;                                                                            \
		argv++;                                                                            \
	} while (0)

#endif
