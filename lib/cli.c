// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli.h"
#include "print.h"

static const struct cli *cur;

const struct cli *cli_get(void)
{
	return cur;
}

int usage_error(const char *fmt, ...)
{
	const char *prog = cur ? cur->prog : program_invocation_short_name;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	print_errorf(prog, CTL_ERR_INVALID_PARAMS, NULL, "%s (try '%s --help')",
		     msg ?: "usage error", prog);
	free(msg);
	return EXIT_USAGE;
}

bool matches(const char *arg, const char *word)
{
	size_t n = strlen(arg);

	return n > 0 && n <= strlen(word) && strncmp(arg, word, n) == 0;
}

int cli_id_args(const char *command, int argc, char **argv, const char **ret_id,
		bool *ret_if_exists)
{
	*ret_id = NULL;
	*ret_if_exists = false;
	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--if-exists"))
			*ret_if_exists = true;
		else if (!*ret_id)
			*ret_id = argv[i];
		else
			return usage_error("unexpected argument '%s' for '%s'", argv[i], command);
	}
	return 0;
}

int cli_start(struct cli *c, int *argc, char ***argv)
{
	static const struct option options[] = { { "json", no_argument, NULL, 'j' },
						 { "pretty", no_argument, NULL, 'p' },
						 { "socket", required_argument, NULL, 's' },
						 { "timeout", required_argument, NULL, 't' },
						 { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, 'V' },
						 {} };
	bool json = false, pretty = false;
	const char *env;
	int opt;

	cur = c;
	env = c->socket_env ? getenv(c->socket_env) : NULL;
	if (env && *env)
		c->socket = env;
	/* '+': stop at the first non-option, so that "task attach ... -x" is not ours. */
	while ((opt = getopt_long(*argc, *argv, "+jps:t:hV", options, NULL)) >= 0) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'p':
			pretty = true;
			break;
		case 's':
			c->socket = optarg;
			break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v <= 0 || v > 3600000) {
				print_init(json, pretty);
				return usage_error("invalid timeout '%s'", optarg);
			}
			c->timeout_ms = (int)v;
			break;
		}
		case 'h':
			c->usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("%s %s\n", c->prog, TP_VERSION);
			return EXIT_SUCCESS;
		default:
			return EXIT_USAGE;
		}
	}
	print_init(json, pretty);
	*argc -= optind;
	*argv += optind;
	if (*argc == 0) {
		c->usage(stderr);
		return EXIT_USAGE;
	}
	if (streq((*argv)[0], "help")) {
		c->usage(stdout);
		return EXIT_SUCCESS;
	}
	return -1;
}

int cli_connect(struct ctl_client **ret)
{
	int r = ctl_client_open(cur->socket, ret);

	if (r < 0) {
		json_t *data =
			json_pack("{s:s, s:s}", "errno", ctl_errno_name(r), "socket", cur->socket);

		print_errorf(cur->prog, CTL_ERR_UNAVAILABLE, data, "Cannot reach %s at '%s': %s",
			     cur->peer, cur->socket, strerror(-r));
		json_decref(data);
		return EXIT_FAILURE;
	}
	return 0;
}

/*
 * Print a failed call's error: under -j, the error object as the peer sent it, or as the client
 * describes a failed transport (a code from the errno, data.errno).
 */
static int call_failed(int r, const struct ctl_error *err)
{
	print_errorf(cur->prog, err->code, err->data, "%s", err->message ?: strerror(-r));
	return EXIT_FAILURE;
}

/*
 * Connect and call, keeping the connection open in *c (for what follows the reply). An error
 * reply with code quiet_code (0: none) is returned as that code, not printed.
 */
static int cli_call_on(struct ctl_client **c, const char *method, json_t *params, int quiet_code,
		       json_t **ret_result, struct ctl_error *err)
{
	int r;

	r = cli_connect(c);
	if (r) {
		json_decref(params);
		return r;
	}
	r = ctl_client_call(*c, method, params, cur->timeout_ms, ret_result, err);
	if (r == -EPROTO && quiet_code && err->code == quiet_code)
		return quiet_code;
	return r < 0 ? call_failed(r, err) : 0;
}

int cli_call(const char *method, json_t *params, json_t **ret_result)
{
	return cli_call_quiet(method, params, 0, ret_result);
}

int cli_call_noargs(const char *command, const char *method, int argc, char **argv,
		    json_t **ret_result)
{
	if (argc > 0)
		return usage_error("'%s' takes no arguments, got '%s'", command, argv[0]);
	return cli_call(method, NULL, ret_result);
}

int cli_call_quiet(const char *method, json_t *params, int quiet_code, json_t **ret_result)
{
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};

	return cli_call_on(&c, method, params, quiet_code, ret_result, &err);
}

int cli_follow(const char *method, json_t *params, void (*first)(json_t *result),
	       void (*note)(json_t *params))
{
	_cleanup_ctl_client_ struct ctl_client *c = NULL;
	_cleanup_ctl_error_ struct ctl_error err = {};
	json_auto_t *res = NULL;
	int r;

	r = cli_call_on(&c, method, params, 0, &res, &err);
	if (r)
		return r;
	if (first)
		first(res);
	print_flush();
	for (;;) {
		json_auto_t *msg = NULL;

		r = ctl_client_next_notification(c, -1, &msg);
		if (r == 0)
			return 0;
		if (r < 0) {
			print_errorf(cur->prog, CTL_ERR_UNAVAILABLE, NULL,
				     "Lost the connection to %s: %s", cur->peer, strerror(-r));
			return EXIT_FAILURE;
		}
		note(json_object_get(msg, "params"));
		print_flush();
	}
}
