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

/*
 * An object whose commands name one of its members by a single word (eni, task, platform): its
 * word, the methods' prefix ("task" for "task.show"), the parameter that names a member, that
 * member's word in usage messages, the noun of "No such task '%s'" and the hint that follows
 * "nothing to detach" (or "").
 */
struct netdctl_object {
	const char *name;
	const char *key;
	const char *arg;
	const char *noun;
	const char *detach_hint;
};

/* Print a table of res, an array: a row a member. */
void netdctl_table(json_t *res, const char *const *headers, void (*row)(json_t *m));
/* 'OBJECT list': call OBJECT.list and print a table of its result, a row a member. */
int netdctl_list(const struct netdctl_object *o, const char *const *headers, void (*row)(json_t *m),
		 int argc, char **argv);
/* 'OBJECT VERB ID': call OBJECT.VERB for the one member argv[0] names. */
int netdctl_call_one(const struct netdctl_object *o, const char *verb, int argc, char **argv,
		     json_t **ret_result);
/* 'OBJECT detach ID [ --if-exists ]': an unknown member fails unless --if-exists. */
int netdctl_detach(const struct netdctl_object *o, int argc, char **argv);
/* 'OBJECT check ID': the differences between the record and the kernel; 1 if any. */
int netdctl_check(const struct netdctl_object *o, int argc, char **argv);

/* The parameters of a task or platform attach, as the arguments give them. */
struct netdctl_attach {
	json_t *params;
	json_t *addrs;
	json_t *routes;
	json_t *nameservers;
	json_t *search;
	json_t *dns;
};

/* Start the parameters with key (the object's) set to id. */
void netdctl_attach_init(struct netdctl_attach *a, const char *key, const char *id);
/*
 * Take the argument at argv[0] if it is one task and platform attach share (netns, mac, ifname,
 * addr, mtu, route, nameserver, search, domain, fault), moving argc and argv past it: true if it
 * did, with *ret_r 0 or the exit status of a usage error; false, argv untouched, if it is not.
 */
bool netdctl_attach_arg(struct netdctl_attach *a, int *argc, char ***argv, int *ret_r);
/* Put the addresses, routes and DNS settings taken into the parameters. */
void netdctl_attach_finish(struct netdctl_attach *a);
/* Release what is left of the parameters. */
void netdctl_attach_done(struct netdctl_attach *a);

/* An integer argument in [0, max], or a usage error. */
int netdctl_parse_uint(const char *what, const char *s, long max, json_int_t *ret);
/* The strings of arr (or the members key of its objects) joined by commas into buf; buf. */
const char *netdctl_join(json_t *arr, const char *key, char *buf, size_t size);
/* Routes, string lists and DNS settings, printed as 'task show' does. */
void netdctl_print_routes(json_t *routes);
void netdctl_print_strings(const char *label, json_t *arr);
void netdctl_print_dns(json_t *dns);

#define NEXT_ARG()                                                                                 \
	do {                                                                                       \
		argc--;                                                                            \
		argv++;                                                                            \
	} while (0)

#endif
