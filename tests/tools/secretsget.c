// SPDX-License-Identifier: GPL-2.0-only
/*
 * secretsget: fetch a task definition's secrets with runtime/secrets.h, as the task shim will
 * before the containers start, for the tests.
 *
 *   secretsget --task-definition FILE --credentials FILE --region REGION [--netns PATH]
 *              [--slot N] [--nameserver ADDR]... [--secretsmanager-endpoint URL]
 *              [--ssm-endpoint URL] [--platform-version V[:REVISION]] [--timeout MS]
 *              [--connect-timeout MS]
 *
 * --credentials is a credentials file of the agent's (creds.h: AccessKeyId, SecretAccessKey,
 * Token, Expiration): the execution role's. --slot N marks every socket (DNS included)
 * TC_MARK(N, TC_FLOW_SECRETS). --platform-version checks the secrets against a platform revision
 * first (default LATEST). On success prints {"containers": {NAME: {VAR: VALUE}}, "bytes_sent",
 * "bytes_received"} on stdout (HTTP bytes, headers included); on failure "secretsget: ERRNO_NAME:
 * message" on stderr and exit status 1 (2 for bad usage).
 */
#include <getopt.h>
#include <jansson.h>
#include <linux/types.h>

#include "creds.h"
#include "netns.h"
#include "platform.h"
#include "secrets.h"
#include "tc_counters.h"
#include "util.h"

#define MAX_LIST 8

static void usage(FILE *f)
{
	fprintf(f, "Usage: secretsget --task-definition FILE --credentials FILE --region REGION\n"
		   "                  [--netns PATH] [--slot N] [--nameserver ADDR]...\n"
		   "                  [--secretsmanager-endpoint URL] [--ssm-endpoint URL]\n"
		   "                  [--platform-version V[:REVISION]] [--timeout MS]\n"
		   "                  [--connect-timeout MS]\n");
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *ret > max)
		return -EINVAL;
	return 0;
}

static int fail(int r, const char *msg)
{
	fprintf(stderr, "secretsget: %s: %s\n", strerrorname_np(-r) ?: "?", msg ?: strerror(-r));
	return 1;
}

static int print_result(const struct secrets *s)
{
	json_auto_t *out = json_object(), *cs = json_object();
	uint64_t sent, received;

	if (!out || !cs)
		return -ENOMEM;
	for (size_t i = 0; i < secrets_count(s); i++) {
		const struct secret *sec = secrets_get(s, i);
		json_t *c = json_object_get(cs, sec->container);

		if (!c) {
			c = json_object();
			json_object_set_new(cs, sec->container, c);
		}
		json_object_set_new(c, sec->name, json_stringn(sec->value, sec->value_len));
	}
	secrets_bytes(s, &sent, &received);
	json_object_set(out, "containers", cs);
	json_object_set_new(out, "bytes_sent", json_integer((json_int_t)sent));
	json_object_set_new(out, "bytes_received", json_integer((json_int_t)received));
	if (json_dumpf(out, stdout, JSON_COMPACT) < 0)
		return -EIO;
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "task-definition", required_argument, NULL, 'f' },
		{ "credentials", required_argument, NULL, 'c' },
		{ "region", required_argument, NULL, 'r' },
		{ "netns", required_argument, NULL, 'n' },
		{ "slot", required_argument, NULL, 'S' },
		{ "nameserver", required_argument, NULL, 'N' },
		{ "secretsmanager-endpoint", required_argument, NULL, 'E' },
		{ "ssm-endpoint", required_argument, NULL, 'P' },
		{ "platform-version", required_argument, NULL, 'V' },
		{ "timeout", required_argument, NULL, 't' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *nameservers[MAX_LIST + 1] = {}, *td_file = NULL, *creds_file = NULL;
	const char *version = "LATEST";
	struct secrets_opts o = { .netns_fd = -1 };
	_cleanup_free_ char *err = NULL, *text = NULL, *pv = NULL;
	_cleanup_secrets_ struct secrets *s = NULL;
	_cleanup_close_ int netns_fd = -1;
	struct creds creds = {};
	json_auto_t *td = NULL;
	const struct platform *p;
	unsigned long long v, revision = 0;
	json_error_t jerr;
	size_t n_ns = 0, len;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'f':
			td_file = optarg;
			break;
		case 'c':
			creds_file = optarg;
			break;
		case 'r':
			o.region = optarg;
			break;
		case 'n':
			r = netns_open(optarg, &netns_fd);
			if (r < 0) {
				fprintf(stderr,
					"secretsget: cannot open network namespace '%s': %s\n",
					optarg, strerror(-r));
				return 2;
			}
			o.netns_fd = netns_fd;
			break;
		case 'S':
			if (parse_uint(optarg, TC_SLOTS - 1, &v) < 0) {
				fprintf(stderr, "secretsget: bad slot '%s'\n", optarg);
				return 2;
			}
			o.mark = TC_MARK(v, TC_FLOW_SECRETS);
			break;
		case 'N':
			if (n_ns == MAX_LIST) {
				fprintf(stderr, "secretsget: at most %d nameservers\n", MAX_LIST);
				return 2;
			}
			nameservers[n_ns++] = optarg;
			o.nameservers = nameservers;
			break;
		case 'E':
			o.secretsmanager_endpoint = optarg;
			break;
		case 'P':
			o.ssm_endpoint = optarg;
			break;
		case 'V': {
			char *colon;

			free(pv);
			pv = strdup(optarg);
			if (!pv)
				return 1;
			colon = strchr(pv, ':');
			if (colon) {
				*colon = '\0';
				if (parse_uint(colon + 1, UINT32_MAX, &revision) < 0 || !revision) {
					fprintf(stderr, "secretsget: bad revision '%s'\n",
						colon + 1);
					return 2;
				}
			}
			version = pv;
			break;
		}
		case 't':
		case 'C':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0) {
				fprintf(stderr, "secretsget: bad time '%s' (milliseconds)\n",
					optarg);
				return 2;
			}
			if (c == 't')
				o.timeout_ms = (unsigned int)v;
			else
				o.connect_timeout_ms = (unsigned int)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !td_file || !creds_file || !o.region) {
		usage(stderr);
		return 2;
	}

	td = json_load_file(td_file, JSON_REJECT_DUPLICATES, &jerr);
	if (!td) {
		fprintf(stderr, "secretsget: %s: %s\n", td_file, jerr.text);
		return 1;
	}
	r = read_file(creds_file, CREDS_MAX_FILE, &text, &len);
	if (r < 0) {
		fprintf(stderr, "secretsget: %s: %s\n", creds_file, strerror(-r));
		return 1;
	}
	r = creds_parse(text, len, &creds, &err);
	explicit_bzero(text, len);
	if (r < 0)
		return fail(r, err);
	o.creds = &creds;

	r = secrets_parse(td, &s, &err);
	if (r == 0)
		r = revision ? platform_lookup_revision(version, (unsigned int)revision, &p, &err)
			     : platform_lookup(version, &p, &err);
	if (r == 0)
		r = secrets_check_platform(s, p, &err);
	if (r == 0)
		r = secrets_fetch(s, &o, &err);
	if (r == 0)
		r = print_result(s);
	creds_done(&creds);
	if (r < 0)
		return fail(r, err);
	return 0;
}
