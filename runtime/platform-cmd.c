// SPDX-License-Identifier: GPL-2.0-only
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "cli.h"
#include "platform-cmd.h"
#include "platform.h"
#include "print.h"
#include "taskdef.h"

/* Where the manifests come from, said under the output: "built-in (DIR does not exist)". */
static char source_note[512];

/*
 * The table the command shows: --platforms-dir DIR, else the installed directory when it exists,
 * else the built-in manifests (the same files, compiled in).
 */
static int load_table(const char *dir)
{
	_cleanup_free_ char *err = NULL;
	struct stat st;
	int r;

	if (!dir && stat(PLATFORM_DEFAULT_DIR, &st) < 0) {
		snprintf(source_note, sizeof(source_note), "built-in (%s: %s)",
			 PLATFORM_DEFAULT_DIR, strerror(errno));
		return 0;
	}
	r = platform_load_dir(dir ?: PLATFORM_DEFAULT_DIR, &err);
	if (r < 0) {
		print_errorf("taskvm", CTL_ERR_INVALID_PARAMS, NULL, "%s", err ?: strerror(-r));
		return EXIT_FAILURE;
	}
	snprintf(source_note, sizeof(source_note), "%s", platform_source());
	return 0;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* "10 GiB layers + 4 GiB volumes" or "20 GiB (ephemeralStorage 21-200)". */
static void storage_text(const struct platform *p, char *buf, size_t size)
{
	switch (p->storage) {
	case PLATFORM_STORAGE_SPLIT:
		snprintf(buf, size, "%u GiB layers + %u GiB volumes", p->layer_gib, p->volumes_gib);
		return;
	case PLATFORM_STORAGE_FLAT:
		if (p->storage_min_gib)
			snprintf(buf, size, "%u GiB flat (ephemeralStorage %u-%u)", p->storage_gib,
				 p->storage_min_gib, p->storage_max_gib);
		else
			snprintf(buf, size, "%u GiB flat", p->storage_gib);
		return;
	}
}

static void aliases_text(const struct platform *p, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; p->aliases[i] && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", p->aliases[i]);
}

/* Capability names of a set, "A B" (or "none"). */
static void caps_text(uint64_t set, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int cap = 0; cap < 64 && n < size; cap++)
		if (set & (1ULL << cap) && taskdef_cap_name(cap))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "",
					      taskdef_cap_name(cap));
	if (!n)
		snprintf(buf, size, "none");
}

static json_t *with_source(json_t *j)
{
	if (j)
		json_object_set_new(j, "manifests", json_string(source_note));
	return j;
}

static int do_list(int argc, char **argv, const char *dir)
{
	static const char *const headers[] = { "VERSION", "ALIASES", "REV",	"DATE",
					       "PULL",	  "AUTH",    "SECRETS", "LOGS",
					       "EFS",	  "STORAGE", NULL };
	const struct platform *const *all;
	int r;

	if (argc > 0)
		return usage_error("'platform list' takes no arguments, got '%s'", argv[0]);
	r = load_table(dir);
	if (r)
		return r;
	all = platform_all();
	print_table_begin(headers);
	print_open_array(NULL);
	for (size_t i = 0; all[i]; i++) {
		json_auto_t *j = with_source(platform_to_json(all[i]));
		char storage[128], aliases[128];

		if (!j)
			return EXIT_FAILURE;
		storage_text(all[i], storage, sizeof(storage));
		aliases_text(all[i], aliases, sizeof(aliases));
		print_open_object(NULL, j);
		print_string(PRINT_FP, NULL, "%s", all[i]->version);
		print_string(PRINT_FP, NULL, "%s", *aliases ? aliases : "-");
		print_u64(PRINT_FP, NULL, "%" PRIu64, all[i]->revision);
		print_string(PRINT_FP, NULL, "%s", all[i]->date);
		for (unsigned int f = 0; f < PLATFORM_FLOW_COUNT; f++)
			print_string(PRINT_FP, NULL, "%s",
				     platform_eni_name(platform_flow_eni(all[i], f)));
		print_string(PRINT_FP, NULL, "%s", storage);
		print_close_object();
	}
	print_close_array();
	print_table_end();
	print_text("manifests: %s\n", source_note);
	return 0;
}

static void show_text(const struct platform *p)
{
	char buf[512], aliases[128];
	size_t n = 0;

	aliases_text(p, aliases, sizeof(aliases));
	print_text("platform version %s%s%s%s, revision %u of %u (%s)\n", p->version,
		   *aliases ? " (" : "", aliases, *aliases ? ")" : "", p->revision, p->n_revisions,
		   p->date);
	print_text("  %s\n", p->version_description);
	print_text("  flows:");
	for (unsigned int f = 0; f < PLATFORM_FLOW_COUNT; f++)
		print_text(" %s %s%s", platform_flow_name(f),
			   platform_eni_name(platform_flow_eni(p, f)),
			   f + 1 < PLATFORM_FLOW_COUNT ? "," : "\n");
	storage_text(p, buf, sizeof(buf));
	print_text("  storage: %s\n", buf);
	caps_text(p->caps_default, buf, sizeof(buf));
	print_text("  capabilities: %s\n", buf);
	caps_text(p->caps_addable, buf, sizeof(buf));
	print_text("  capabilities.add may name: %s\n", buf);
	buf[0] = '\0';
	for (unsigned int i = 0; i < p->n_sizes && n < sizeof(buf); i++) {
		const struct platform_size *s = &p->sizes[i];

		if (s->memory_min == s->memory_max)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u/%u", i ? ", " : "",
					      s->cpu, s->memory_min);
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u/%u-%u:%u",
					      i ? ", " : "", s->cpu, s->memory_min, s->memory_max,
					      s->memory_step);
	}
	print_text("  task sizes (cpu units/memory MiB, min-max:step): %s\n", buf);
	print_text("  nofile: soft %" PRIu64 ", hard %" PRIu64 "\n", p->nofile_soft,
		   p->nofile_hard);
	print_text("  secrets: %s, JSON keys and versions: %s\n", yes_no(p->secrets.supported),
		   yes_no(p->secrets.json_key_and_version));
	print_text("  metadata v4: network stats %s, network rate stats %s, AvailabilityZone %s, "
		   "EphemeralStorageMetrics %s, Snapshotter %s\n",
		   yes_no(p->metadata.network_stats), yes_no(p->metadata.network_rate_stats),
		   yes_no(p->metadata.availability_zone),
		   yes_no(p->metadata.ephemeral_storage_metrics), yes_no(p->metadata.snapshotter));
	print_text("  Container Insights: %s, network metrics %s, ephemeral storage metrics %s\n",
		   yes_no(p->insights.supported), yes_no(p->insights.network_metrics),
		   yes_no(p->insights.ephemeral_storage_metrics));
	print_text("  revisions:\n");
	for (unsigned int i = 0; i < p->n_revisions; i++)
		print_text("  %c %u %s  %s\n", i + 1 == p->revision ? '*' : ' ',
			   p->revisions[i].revision, p->revisions[i].date,
			   p->revisions[i].description);
	print_text("manifests: %s\n", source_note);
}

static int do_show(int argc, char **argv, const char *dir, const char *revision)
{
	_cleanup_free_ char *err = NULL;
	json_auto_t *j = NULL;
	const struct platform *p;
	json_t *revs;
	unsigned long rev = 0;
	char *end;
	int r;

	if (argc != 1)
		return usage_error("usage: taskvm platform show VERSION [--revision N]");
	if (revision) {
		errno = 0;
		rev = strtoul(revision, &end, 10);
		if (errno || end == revision || *end || rev < 1 || rev > UINT32_MAX)
			return usage_error(
				"--revision takes a revision number (1, 2, ...), got '%s'",
				revision);
	}
	r = load_table(dir);
	if (r)
		return r;
	r = rev ? platform_lookup_revision(argv[0], (unsigned int)rev, &p, &err)
		: platform_lookup(argv[0], &p, &err);
	if (r < 0) {
		print_errorf("taskvm", r == -ENOENT ? CTL_ERR_NOT_FOUND : CTL_ERR_INVALID_PARAMS,
			     NULL, "%s", err ?: strerror(-r));
		return EXIT_FAILURE;
	}
	j = with_source(platform_to_json(p));
	revs = json_array();
	if (!j || !revs) {
		json_decref(revs);
		return EXIT_FAILURE;
	}
	for (unsigned int i = 0; i < p->n_revisions; i++)
		json_array_append_new(revs, json_pack("{s:I, s:s, s:s, s:s?}", "revision",
						      (json_int_t)p->revisions[i].revision, "date",
						      p->revisions[i].date, "description",
						      p->revisions[i].description, "source",
						      p->revisions[i].source));
	json_object_set_new(j, "revision_list", revs);
	print_open_object(NULL, j);
	show_text(p);
	print_close_object();
	return 0;
}

int platform_cmd(int argc, char **argv)
{
	static const struct option options[] = {
		{ "platforms-dir", required_argument, NULL, 'd' },
		{ "revision", required_argument, NULL, 'r' },
		{},
	};
	const char *dir = NULL, *revision = NULL, *sub;
	int c;

	if (argc < 1)
		return usage_error("usage: taskvm platform { list | show VERSION [--revision N] } "
				   "[--platforms-dir DIR]");
	sub = argv[0];
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'r':
			revision = optarg;
			break;
		default:
			return usage_error("unknown option for 'platform'");
		}
	}
	argc -= optind;
	argv += optind;
	if (matches(sub, "list")) {
		if (revision)
			return usage_error("'platform list' takes no --revision");
		return do_list(argc, argv, dir);
	}
	if (matches(sub, "show"))
		return do_show(argc, argv, dir, revision);
	return usage_error("unknown 'platform' command '%s' (list, show)", sub);
}
