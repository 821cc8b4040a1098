// SPDX-License-Identifier: GPL-2.0-only
/*
 * imgpull: pull an image with runtime/image.h, as the task shim will, for the tests and the
 * benchmark.
 *
 *   imgpull --store DIR [--netns PATH] [--slot N] [--nameserver ADDR]... [--insecure HOST]...
 *           [--user USER:PASSWORD] [--ca-file FILE] [--timeout MS] [--connect-timeout MS]
 *           [--stall-timeout MS] [--if-missing | --load | --in-store] [--store-layers-only]
 *           [--progress] [--cancel-after BYTES] [--reap-all] REFERENCE
 *
 * --slot N marks registry and DNS sockets TC_MARK(N, TC_FLOW_PULL) and token requests
 * TC_MARK(N, TC_FLOW_AUTH). --load only reads the store; --in-store says (yes or no, exit
 * status 0) whether the store has a record of REFERENCE. --store-layers-only: a layer the
 * store lacks fails the pull (ENOMEDIUM), as in the shim's pull thread. --cancel-after cancels the pull from
 * the progress callback once that many layer bytes have arrived. --reap-all ignores SIGCHLD,
 * so that the kernel reaps every child, as a caller that reaps all its children would
 * (waitpid(-1)) before the puller could. On success prints the image
 * as JSON on stdout (reference, digests, config, layers, lowerdir, what was downloaded); on
 * failure "imgpull: ERRNO_NAME: message" on stderr and exit status 1 (2 for bad usage).
 */
#include <inttypes.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/types.h>
#include <signal.h>

#include "image.h"
#include "netns.h"
#include "tc_counters.h"
#include "util.h"

#define MAX_LIST 8

struct progress_state {
	bool print;
	uint64_t cancel_after; /* 0: never */
	enum image_pull_phase last_phase;
	unsigned int last_layer;
	bool any;
};

static const char *phase_name(enum image_pull_phase p)
{
	switch (p) {
	case IMAGE_PULL_PHASE_MANIFEST:
		return "manifest";
	case IMAGE_PULL_PHASE_DOWNLOAD:
		return "download";
	case IMAGE_PULL_PHASE_UNPACK:
		return "unpack";
	case IMAGE_PULL_PHASE_DONE:
		return "done";
	}
	return "?";
}

static int on_progress(const struct image_progress *p, void *userdata)
{
	struct progress_state *s = userdata;

	if (s->print && (!s->any || p->phase != s->last_phase || p->layer != s->last_layer)) {
		if (p->phase == IMAGE_PULL_PHASE_MANIFEST)
			fprintf(stderr, "imgpull: manifest\n");
		else
			fprintf(stderr,
				"imgpull: %s layer %u/%u, %u done, %" PRIu64 "/%" PRIu64 " bytes\n",
				phase_name(p->phase), p->layer + 1, p->layers_total, p->layers_done,
				p->bytes_done, p->bytes_total);
	}
	s->any = true;
	s->last_phase = p->phase;
	s->last_layer = p->layer;
	return s->cancel_after && p->bytes_done >= s->cancel_after;
}

static json_t *strv_json(char **v)
{
	json_t *a;

	if (!v)
		return json_null();
	a = json_array();

	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int print_image(const struct image *img)
{
	_cleanup_free_ char *lower = NULL;
	json_auto_t *j = NULL;
	int r;

	r = image_lowerdir(img, &lower);
	if (r < 0 && r != -EINVAL)
		return r;
	j = json_pack("{s:s, s:s, s:s*, s:s, s:{s:s*, s:s*, s:o, s:o, s:o, s:s*, s:s*, s:s*},"
		      " s:o, s:s*, s:i, s:i, s:I, s:b}",
		      "reference", img->reference, "digest", img->digest, "index_digest",
		      img->index_digest, "config_digest", img->config_digest, "config", "os",
		      img->config.os, "architecture", img->config.architecture, "entrypoint",
		      strv_json(img->config.entrypoint), "cmd", strv_json(img->config.cmd), "env",
		      strv_json(img->config.env), "working_dir", img->config.working_dir, "user",
		      img->config.user, "stop_signal", img->config.stop_signal, "layers",
		      strv_json(img->layers), "lowerdir", lower, "layers_downloaded",
		      (int)img->layers_downloaded, "layers_cached", (int)img->layers_cached,
		      "bytes_downloaded", (json_int_t)img->bytes_downloaded, "from_store",
		      img->from_store);
	if (!j)
		return -ENOMEM;
	if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
		return -EIO;
	putchar('\n');
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 0);
	return errno || *end || end == s || *ret > max ? -EINVAL : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: imgpull --store DIR [--netns PATH] [--slot N] [--nameserver ADDR]...\n"
		"               [--insecure HOST[:PORT]]... [--user USER:PASSWORD] [--ca-file FILE]\n"
		"               [--timeout MS] [--connect-timeout MS] [--stall-timeout MS]\n"
		"               [--if-missing | --load | --in-store] [--store-layers-only]\n"
		"               [--progress] [--cancel-after BYTES] [--reap-all] REFERENCE\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store", required_argument, NULL, 's' },
		{ "netns", required_argument, NULL, 'n' },
		{ "slot", required_argument, NULL, 'S' },
		{ "nameserver", required_argument, NULL, 'N' },
		{ "insecure", required_argument, NULL, 'i' },
		{ "user", required_argument, NULL, 'u' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "stall-timeout", required_argument, NULL, 'T' },
		{ "if-missing", no_argument, NULL, 'm' },
		{ "load", no_argument, NULL, 'l' },
		{ "in-store", no_argument, NULL, 'I' },
		{ "store-layers-only", no_argument, NULL, 'L' },
		{ "progress", no_argument, NULL, 'p' },
		{ "cancel-after", required_argument, NULL, 'x' },
		{ "reap-all", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *nameservers[MAX_LIST + 1] = {}, *insecure[MAX_LIST + 1] = {};
	size_t n_ns = 0, n_insecure = 0;
	struct progress_state ps = {};
	struct image_pull_opts o = { .progress = on_progress, .userdata = &ps };
	_cleanup_free_ char *user = NULL, *err = NULL;
	_cleanup_close_ int netns_fd = -1;
	struct image *img = NULL;
	unsigned long long v;
	bool load = false, in_store = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			o.store = optarg;
			break;
		case 'n':
			r = netns_open(optarg, &netns_fd);
			if (r < 0) {
				fprintf(stderr, "imgpull: cannot open network namespace '%s': %s\n",
					optarg, strerror(-r));
				return 2;
			}
			o.netns_fd = netns_fd;
			break;
		case 'S':
			if (parse_uint(optarg, TC_SLOTS - 1, &v) < 0) {
				fprintf(stderr, "imgpull: bad slot '%s'\n", optarg);
				return 2;
			}
			o.pull_mark = TC_MARK(v, TC_FLOW_PULL);
			o.auth_mark = TC_MARK(v, TC_FLOW_AUTH);
			break;
		case 'N':
			if (n_ns == MAX_LIST) {
				fprintf(stderr, "imgpull: at most %d nameservers\n", MAX_LIST);
				return 2;
			}
			nameservers[n_ns++] = optarg;
			o.nameservers = nameservers;
			break;
		case 'i':
			if (n_insecure == MAX_LIST) {
				fprintf(stderr, "imgpull: at most %d insecure registries\n",
					MAX_LIST);
				return 2;
			}
			insecure[n_insecure++] = optarg;
			o.insecure_registries = insecure;
			break;
		case 'u': {
			char *colon;

			free(user);
			user = strdup(optarg);
			if (!user)
				return 1;
			colon = strchr(user, ':');
			if (!colon) {
				fprintf(stderr, "imgpull: --user takes USER:PASSWORD\n");
				return 2;
			}
			*colon = '\0';
			o.username = user;
			o.password = colon + 1;
			break;
		}
		case 'c':
			o.ca_file = optarg;
			break;
		case 't':
		case 'C':
		case 'T':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0) {
				fprintf(stderr, "imgpull: bad time '%s' (milliseconds)\n", optarg);
				return 2;
			}
			if (c == 't')
				o.timeout_ms = (unsigned int)v;
			else if (c == 'C')
				o.connect_timeout_ms = (unsigned int)v;
			else
				o.stall_timeout_ms = (unsigned int)v;
			break;
		case 'm':
			o.policy = IMAGE_PULL_IF_MISSING;
			break;
		case 'l':
			load = true;
			break;
		case 'I':
			in_store = true;
			break;
		case 'L':
			o.store_layers_only = true;
			break;
		case 'p':
			ps.print = true;
			break;
		case 'x':
			if (parse_uint(optarg, UINT64_MAX, &v) < 0 || v == 0) {
				fprintf(stderr, "imgpull: bad byte count '%s'\n", optarg);
				return 2;
			}
			ps.cancel_after = v;
			break;
		case 'r':
			signal(SIGCHLD, SIG_IGN);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !o.store) {
		usage(stderr);
		return 2;
	}

	if (in_store) {
		puts(image_in_store(o.store, argv[optind]) ? "yes" : "no");
		return 0;
	}
	if (load)
		r = image_load(o.store, argv[optind], &img, &err);
	else
		r = image_pull(argv[optind], &o, &img, &err);
	if (r < 0) {
		fprintf(stderr, "imgpull: %s: %s\n", strerrorname_np(-r) ?: "?",
			err ?: strerror(-r));
		return 1;
	}
	r = print_image(img);
	image_free(img);
	if (r < 0) {
		fprintf(stderr, "imgpull: cannot print the result: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
