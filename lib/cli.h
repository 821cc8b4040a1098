/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The frame shared by the control-socket CLIs (netdctl, taskvm): the global options, usage
 * errors, iproute2's prefix matching, and calls whose errors are printed as text or JSON.
 */
#ifndef TP_CLI_H
#define TP_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "ctl-proto.h"
#include "util.h"

/* Exit status: 0 success, 1 failure, 2 usage. */
enum {
	EXIT_USAGE = 2,
};

struct cli {
	const char *prog;	/* "netdctl": the prefix of errors, --version */
	const char *peer;	/* "netd": in "Cannot reach netd at '...'" */
	const char *socket_env; /* the variable that overrides the default socket */
	const char *socket;	/* the default; then the variable's, then --socket's */
	int timeout_ms;		/* the default; then --timeout's */
	void (*usage)(FILE *f);
};

/*
 * Parse the global options (-j, -p, -s SOCKET, -t MS, -h, -V) of c's program, up to the first
 * non-option, and set up the output. -1 with *argc and *argv at the command word; otherwise
 * the exit status (help or version printed, a usage error, or no command given).
 */
int cli_start(struct cli *c, int *argc, char ***argv);
/* The running program's frame (valid after cli_start()). */
const struct cli *cli_get(void);

/* Print a usage error (with a pointer to --help) and return EXIT_USAGE. */
int usage_error(const char *fmt, ...) _printf_(1, 2);
/* iproute2's matches(): arg is a non-empty prefix of word. */
bool matches(const char *arg, const char *word);
/*
 * The arguments 'ID [ --if-exists ]' (in either order) of command (its words, for "unexpected
 * argument '...' for 'COMMAND'"): 0 with *ret_id, NULL when none was given (the caller's usage
 * error), and *ret_if_exists; or the exit status of a usage error.
 */
int cli_id_args(const char *command, int argc, char **argv, const char **ret_id,
		bool *ret_if_exists);

/* Connect to the program's socket; prints the error and returns EXIT_FAILURE on failure. */
int cli_connect(struct ctl_client **ret);
/* Call a method (params stolen); prints the error and returns EXIT_FAILURE on failure. */
int cli_call(const char *method, json_t *params, json_t **ret_result);
/* A command that takes no arguments (command: its words, for the usage error) calls method. */
int cli_call_noargs(const char *command, const char *method, int argc, char **argv,
		    json_t **ret_result);
/*
 * As cli_call(), except that an error reply with code quiet_code (a CTL_ERR_*, negative) is not
 * printed but returned, for the caller to take as an answer ("--if-exists").
 */
int cli_call_quiet(const char *method, json_t *params, int quiet_code, json_t **ret_result);
/*
 * Subscribe (call method, params stolen) and print what comes: first(result) once (may be
 * NULL), then note(params) for every notification. 0 when the peer closes; EXIT_FAILURE, with
 * the error printed, when the call or the connection fails.
 */
int cli_follow(const char *method, json_t *params, void (*first)(json_t *result),
	       void (*note)(json_t *params));

#endif
