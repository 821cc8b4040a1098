// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the platform manifests (runtime/platform-manifest.c, docs/platforms.md): the
 * shipped ones load, built in and from runtime/platforms/, and say what the table said before
 * them; revisions; malformed manifests are refused with the file, the revision and the key.
 * Run from the repository's root (tests/run.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "platform.h"
#include "taskdef.h"
#include "util.h"

#define SHIPPED "runtime/platforms"

/* Docker's default capabilities as CapEff shows them: 00000000a80425fb. */
#define CAPS_DOCKER 0xa80425fbULL
#define CAP_PTRACE  (1ULL << 19)

/* The table as it was before the manifests (runtime/platform.c at ecaa1f9). */
static const struct platform_size sizes_1_3[] = {
	{ 256, 512, 512, 0 },	    { 256, 1024, 2048, 1024 },	 { 512, 1024, 4096, 1024 },
	{ 1024, 2048, 8192, 1024 }, { 2048, 4096, 16384, 1024 }, { 4096, 8192, 30720, 1024 },
};
static const struct platform_size sizes_1_4[] = {
	{ 256, 512, 512, 0 },	      { 256, 1024, 2048, 1024 },      { 512, 1024, 4096, 1024 },
	{ 1024, 2048, 8192, 1024 },   { 2048, 4096, 16384, 1024 },    { 4096, 8192, 30720, 1024 },
	{ 8192, 16384, 61440, 4096 }, { 16384, 32768, 122880, 8192 },
};

static void check_sizes(const struct platform *p, const struct platform_size *want, size_t n)
{
	assert_int_equal(p->n_sizes, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(p->sizes[i].cpu, want[i].cpu);
		assert_int_equal(p->sizes[i].memory_min, want[i].memory_min);
		assert_int_equal(p->sizes[i].memory_max, want[i].memory_max);
		assert_int_equal(p->sizes[i].memory_step, want[i].memory_step);
	}
}

/* The latest revisions equal the table's facts of before, and the flows of the issue. */
static void check_shipped_facts(void)
{
	const struct platform *p13 = platform_find("1.3.0"), *p14 = platform_find("1.4.0");

	assert_non_null(p13);
	assert_non_null(p14);
	assert_ptr_equal(platform_find("LATEST"), p14);
	assert_string_equal(p13->version, "1.3.0");
	assert_int_equal(p13->storage, PLATFORM_STORAGE_SPLIT);
	assert_int_equal(p13->layer_gib, 10);
	assert_int_equal(p13->volumes_gib, 4);
	assert_int_equal(p13->storage_min_gib, 0);
	assert_int_equal(p13->caps_default, CAPS_DOCKER);
	assert_int_equal(p13->caps_addable, 0);
	check_sizes(p13, sizes_1_3, ARRAY_SIZE(sizes_1_3));
	assert_int_equal(p13->nofile_soft, 1024);
	assert_int_equal(p13->nofile_hard, 4096);

	assert_int_equal(p14->storage, PLATFORM_STORAGE_FLAT);
	assert_int_equal(p14->storage_gib, 20);
	assert_int_equal(p14->storage_min_gib, 21);
	assert_int_equal(p14->storage_max_gib, 200);
	assert_int_equal(p14->caps_default, CAPS_DOCKER);
	assert_int_equal(p14->caps_addable, CAP_PTRACE);
	check_sizes(p14, sizes_1_4, ARRAY_SIZE(sizes_1_4));
	assert_int_equal(p14->nofile_soft, 1024);
	assert_int_equal(p14->nofile_hard, 4096);

	for (unsigned int f = 0; f < PLATFORM_FLOW_EFS; f++) {
		assert_int_equal(platform_flow_eni(p13, f), PLATFORM_ENI_PLATFORM);
		assert_int_equal(platform_flow_eni(p14, f), PLATFORM_ENI_TASK);
	}
	assert_int_equal(platform_flow_eni(p13, PLATFORM_FLOW_EFS), PLATFORM_ENI_UNSUPPORTED);
	assert_int_equal(platform_flow_eni(p14, PLATFORM_FLOW_EFS), PLATFORM_ENI_TASK);

	assert_true(p13->secrets.supported);
	assert_false(p13->secrets.json_key_and_version);
	assert_true(p14->secrets.json_key_and_version);
	assert_false(p13->metadata.network_stats);
	assert_false(p13->metadata.availability_zone);
	assert_true(p14->metadata.network_stats);
	assert_true(p14->metadata.network_rate_stats);
	assert_true(p14->metadata.availability_zone);
	assert_true(p14->metadata.ephemeral_storage_metrics);
	/* an optional key: absent in 1.3.0.json, false */
	assert_false(p13->metadata.snapshotter);
	assert_true(p14->metadata.snapshotter);
	assert_true(p13->insights.supported);
	assert_false(p13->insights.network_metrics);
	assert_true(p14->insights.network_metrics);

	assert_int_equal(p13->revision, 3);
	assert_int_equal(p13->n_revisions, 3);
	assert_int_equal(p14->revision, 5);
	assert_int_equal(p14->n_revisions, 5);
	assert_ptr_equal(&p14->revisions[4], p14);
	assert_string_equal(p14->date, "2022-11-18");
	assert_string_equal(p14->aliases[0], "LATEST");
	assert_null(p14->aliases[1]);
	assert_null(p13->aliases[0]);
}

static void test_builtin(void **state)
{
	const struct platform *const *all = platform_all();

	/* what this file loads comes later: the built-in table is the first one */
	assert_string_equal(platform_source(), "built-in");
	assert_string_equal(all[0]->version, "1.3.0");
	assert_string_equal(all[1]->version, "1.4.0");
	assert_null(all[2]);
	check_shipped_facts();
}

static void test_revisions(void **state)
{
	const struct platform *p;
	char *err = NULL;

	assert_int_equal(platform_lookup_revision("1.4.0", 1, &p, &err), 0);
	assert_int_equal(p->revision, 1);
	assert_string_equal(p->date, "2020-04-08");
	assert_int_equal(p->storage_min_gib, 0);
	assert_false(p->secrets.json_key_and_version);
	assert_false(p->metadata.network_rate_stats);
	assert_int_equal(p->n_sizes, 6);
	/* what did not change is the same as before */
	assert_int_equal(p->caps_addable, CAP_PTRACE);
	assert_int_equal(platform_flow_eni(p, PLATFORM_FLOW_PULL), PLATFORM_ENI_TASK);

	assert_int_equal(platform_lookup_revision("1.4.0", 2, &p, &err), 0);
	assert_true(p->secrets.json_key_and_version);
	assert_true(p->metadata.network_rate_stats);
	assert_int_equal(p->storage_min_gib, 0);
	assert_int_equal(platform_lookup_revision("1.4.0", 3, &p, &err), 0);
	assert_int_equal(p->storage_min_gib, 21);
	assert_int_equal(p->n_sizes, 6);
	assert_int_equal(platform_lookup_revision("LATEST", 4, &p, &err), 0);
	assert_string_equal(p->version, "1.4.0");
	assert_int_equal(p->n_sizes, 8);
	assert_false(p->metadata.ephemeral_storage_metrics);

	assert_int_equal(platform_lookup_revision("1.3.0", 1, &p, &err), 0);
	assert_false(p->secrets.supported);
	assert_false(p->insights.supported);
	assert_int_equal(platform_lookup_revision("1.3.0", 2, &p, &err), 0);
	assert_true(p->secrets.supported);
	assert_false(p->insights.supported);

	assert_int_equal(platform_lookup_revision("1.4.0", 6, &p, &err), -ENOENT);
	assert_string_equal(err, "platform version 1.4.0 has no revision 6 (it has revisions 1-5)");
	free(err);
	assert_int_equal(platform_lookup_revision("1.4.0", 0, &p, &err), -ENOENT);
	free(err);
	assert_int_equal(platform_lookup_revision("1.2.0", 1, &p, &err), -EINVAL);
	assert_string_equal(err, "unknown platform version '1.2.0' (known: 1.3.0, 1.4.0, LATEST)");
	free(err);
}

static struct taskdef *parse(const char *s)
{
	json_auto_t *j = json_loads(s, 0, NULL);
	struct taskdef *d = NULL;
	char *err = NULL;

	assert_non_null(j);
	if (taskdef_parse(j, &d, &err) < 0)
		fail_msg("taskdef_parse(%s): %s", s, err);
	return d;
}

/* A task keeps its revision: the checks follow the revision's facts, not the latest's. */
static void test_checks_per_revision(void **state)
{
	static const struct {
		unsigned int revision;
		const char *task;
		const char *error; /* NULL: accepted */
	} cases[] = {
		{ 2, "\"cpu\":\"256\",\"memory\":\"512\",\"ephemeralStorage\":{\"sizeInGiB\":30}",
		  "ephemeralStorage is not supported on platform version 1.4.0" },
		{ 3, "\"cpu\":\"256\",\"memory\":\"512\",\"ephemeralStorage\":{\"sizeInGiB\":30}",
		  NULL },
		{ 3, "\"cpu\":\"8192\",\"memory\":\"16384\"",
		  "task size cpu 8 vCPU and memory 16384 MiB is not offered on platform version 1.4.0" },
		{ 4, "\"cpu\":\"8192\",\"memory\":\"16384\"", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct platform *p;
		struct taskdef *d;
		char buf[512], *err = NULL;
		int r;

		snprintf(buf, sizeof(buf),
			 "{\"family\":\"f\",%s,\"containerDefinitions\":[{\"name\":\"a\",\"image\":"
			 "\"i\"}]}",
			 cases[i].task);
		d = parse(buf);
		assert_int_equal(platform_lookup_revision("1.4.0", cases[i].revision, &p, &err), 0);
		r = platform_check_taskdef(p, d, &err);
		if (cases[i].error) {
			assert_int_equal(r, -EINVAL);
			if (!strstr(err, cases[i].error))
				fail_msg("revision %u: '%s', want '%s'", cases[i].revision, err,
					 cases[i].error);
		} else if (r < 0) {
			fail_msg("revision %u refused: %s", cases[i].revision, err);
		}
		free(err);
		taskdef_free(d);
	}
}

static json_t *load_shipped(const char *name)
{
	char path[256];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", SHIPPED, name);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("%s: %s (run from the repository's root)", path, jerr.text);
	return j;
}

/* Check name's manifest text; its error (or NULL) into *ret_error. */
static int check_text(const char *name, const char *text, char **ret_error)
{
	return platform_manifest_check(name, text, strlen(text), ret_error);
}

static int check_json(const char *name, json_t *m, char **ret_error)
{
	_cleanup_free_ char *text = json_dumps(m, 0);

	assert_non_null(text);
	return check_text(name, text, ret_error);
}

/* Set the member at a path of keys and indexes ("revisions", "0", "changes", ...) to v. */
static void set_path(json_t *root, json_t *v, const char *const *path)
{
	json_t *at = root;
	size_t n = 0;

	while (path[n + 1])
		n++;
	for (size_t i = 0; i < n; i++) {
		json_t *next = json_is_array(at) ? json_array_get(at, strtoul(path[i], NULL, 10))
						 : json_object_get(at, path[i]);

		if (!next) {
			next = json_object();
			json_object_set_new(at, path[i], next);
		}
		at = next;
	}
	if (json_is_array(at))
		json_array_set_new(at, strtoul(path[n], NULL, 10), v);
	else if (v)
		json_object_set_new(at, path[n], v);
	else
		json_object_del(at, path[n]);
}

#define PATH(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_malformed(void **state)
{
	const struct {
		const char *json; /* the new value (NULL: the member is removed) */
		const char *const *path;
		const char *want;
	} cases[] = {
		{ "\"blue\"", PATH("colour"),
		  "1.4.0.json: colour: unknown key (known: version, aliases, description, revisions)" },
		{ "\"1.4\"", PATH("version"),
		  "1.4.0.json: version: '1.4' is not a version MAJOR.MINOR.PATCH" },
		{ "\"1.4.1\"", PATH("version"),
		  "1.4.0.json: version: '1.4.1' must be the file's name without .json" },
		{ NULL, PATH("description"), "1.4.0.json: description: missing" },
		{ "[\"latest\"]", PATH("aliases"),
		  "1.4.0.json: aliases: 'latest' is not an alias name" },
		{ "[]", PATH("revisions"),
		  "1.4.0.json: revisions: must be an array of 1 to 256 revisions" },
		{ "3", PATH("revisions", "1", "revision"),
		  "1.4.0.json: revision 2: revision: must be 2: revisions are numbered 1, 2, ... in order" },
		{ "\"2021-02-30\"", PATH("revisions", "2", "date"),
		  "1.4.0.json: revision 3: date: must be a date YYYY-MM-DD" },
		{ "\"2020-01-01\"", PATH("revisions", "2", "date"),
		  "1.4.0.json: revision 3: date: must not be before the previous revision's" },
		{ "\"\"", PATH("revisions", "0", "description"),
		  "1.4.0.json: revision 1: description: must be a string of 1 to 2048 bytes" },
		{ "\"eni\"", PATH("revisions", "0", "changes", "flows", "pull"),
		  "1.4.0.json: revision 1: flows.pull: must be one of \"task\", \"platform\", \"unsupported\"" },
		{ "\"unsupported\"", PATH("revisions", "0", "changes", "flows", "logs"),
		  "1.4.0.json: revision 1: flows.logs: only efs may be \"unsupported\"" },
		{ NULL, PATH("revisions", "0", "changes", "flows", "secrets"),
		  "1.4.0.json: revision 1: flows.secrets: missing" },
		{ "\"20\"", PATH("revisions", "0", "changes", "storage", "size_gib"),
		  "1.4.0.json: revision 1: storage.size_gib: must be an integer from 1 to 16384" },
		{ "10", PATH("revisions", "0", "changes", "storage", "layers_gib"),
		  "1.4.0.json: revision 1: storage.layers_gib: unknown key (known: layout, size_gib, ephemeral_min_gib, ephemeral_max_gib)" },
		{ "{\"ephemeral_min_gib\":21}", PATH("revisions", "2", "changes", "storage"),
		  "1.4.0.json: revision 3: storage.ephemeral_max_gib: missing (ephemeral_min_gib and ephemeral_max_gib go together)" },
		{ "{\"ephemeral_min_gib\":210,\"ephemeral_max_gib\":200}",
		  PATH("revisions", "2", "changes", "storage"),
		  "1.4.0.json: revision 3: storage.ephemeral_max_gib: must be an integer from 210 to 16384" },
		{ "{\"nofile\":null}", PATH("revisions", "4", "changes"),
		  "1.4.0.json: revision 5: nofile: missing" },
		{ "[\"SYS_PTRACE\",\"CAP_NET_ADMIN\"]",
		  PATH("revisions", "0", "changes", "capabilities", "addable"),
		  "1.4.0.json: revision 1: capabilities.addable: unknown capability 'CAP_NET_ADMIN'" },
		{ "{\"cpu\":256,\"memory_min_mib\":1024,\"memory_max_mib\":2048,\"memory_step_mib\":1000}",
		  PATH("revisions", "0", "changes", "task_sizes", "1"),
		  "1.4.0.json: revision 1: task_sizes[1].memory_step_mib: steps of 1000 MiB from 1024 MiB do not reach 2048 MiB" },
		{ "{\"cpu\":256,\"memory_min_mib\":1024,\"memory_max_mib\":2048}",
		  PATH("revisions", "0", "changes", "task_sizes", "1"),
		  "1.4.0.json: revision 1: task_sizes[1].memory_step_mib: missing" },
		{ "{\"soft\":8192,\"hard\":4096}", PATH("revisions", "0", "changes", "nofile"),
		  "1.4.0.json: revision 1: nofile.soft: must be an integer from 1 to 4096" },
		{ "{\"supported\":false,\"json_key_and_version\":true}",
		  PATH("revisions", "1", "changes", "secrets"),
		  "1.4.0.json: revision 2: secrets.json_key_and_version: must be false when secrets are not supported" },
		{ "\"yes\"", PATH("revisions", "0", "changes", "metadata", "network_stats"),
		  "1.4.0.json: revision 1: metadata.network_stats: must be true or false" },
		{ "{\"gpu\":true}", PATH("revisions", "3", "changes"),
		  "1.4.0.json: revision 4: gpu: unknown key (known: flows, storage, capabilities, task_sizes, nofile, secrets, metadata, insights)" },
		{ "\"not\\u0001ok\"", PATH("revisions", "0", "source"),
		  "1.4.0.json: revision 1: source: must not contain control characters" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_auto_t *m = load_shipped("1.4.0.json");
		char *err = NULL;

		set_path(m, cases[i].json ? json_loads(cases[i].json, JSON_DECODE_ANY, NULL) : NULL,
			 cases[i].path);
		if (check_json("1.4.0.json", m, &err) != -EINVAL)
			fail_msg("case %zu accepted, want '%s'", i, cases[i].want);
		if (!err || !startswith(err, cases[i].want))
			fail_msg("case %zu: '%s', want '%s'", i, err, cases[i].want);
		free(err);
	}
}

static void test_malformed_text(void **state)
{
	char *err = NULL;

	assert_int_equal(check_text("1.4.0.json", "{\"version\": ", &err), -EINVAL);
	assert_true(startswith(err, "1.4.0.json: line 1: "));
	free(err);
	assert_int_equal(
		check_text("1.4.0.json", "{\"version\": \"1.4.0\", \"version\": \"1.4.0\"}", &err),
		-EINVAL);
	assert_non_null(strstr(err, "duplicate object key"));
	free(err);
	assert_int_equal(check_text("1.4.0.json", "[]", &err), -EINVAL);
	assert_string_equal(err, "1.4.0.json: must be a JSON object");
	free(err);
	/* the shipped ones pass */
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "1.4.0.json" : "1.3.0.json";
		json_auto_t *m = load_shipped(name);

		if (check_json(name, m, &err) < 0)
			fail_msg("%s: %s", name, err);
		assert_null(err);
	}
}

/* --- directories --------------------------------------------------------------------------- */

static char tmpdir[64];

static void write_manifest(const char *dir, const char *name, json_t *m)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(json_dump_file(m, path, JSON_INDENT(1)), 0);
}

static void make_dir(const char *name, char *ret, size_t size)
{
	snprintf(ret, size, "%s/%s", tmpdir, name);
	assert_int_equal(mkdir(ret, 0700), 0);
}

static void expect_load_error(const char *dir, int want_r, const char *want)
{
	const char *before = platform_source();
	char *err = NULL;

	assert_int_equal(platform_load_dir(dir, &err), want_r);
	if (!err || !strstr(err, want))
		fail_msg("%s: '%s', want '%s'", dir, err, want);
	free(err);
	/* the table is left as it was */
	assert_ptr_equal(platform_source(), before);
}

static void test_load_dir_errors(void **state)
{
	json_auto_t *m13 = load_shipped("1.3.0.json"), *m14 = load_shipped("1.4.0.json");
	char dir[128];

	make_dir("empty", dir, sizeof(dir));
	expect_load_error(dir, -ENOENT, "no platform manifest (VERSION.json)");
	expect_load_error("/nonexistent/platforms", -ENOENT,
			  "/nonexistent/platforms: No such file or directory");

	make_dir("nolatest", dir, sizeof(dir));
	write_manifest(dir, "1.3.0.json", m13);
	expect_load_error(dir, -EINVAL, "no manifest names the alias LATEST");

	make_dir("twolatest", dir, sizeof(dir));
	write_manifest(dir, "1.4.0.json", m14);
	json_object_set_new(m13, "aliases", json_pack("[s]", "LATEST"));
	write_manifest(dir, "1.3.0.json", m13);
	expect_load_error(dir, -EINVAL, "the alias LATEST is claimed by 1.3.0.json and 1.4.0.json");

	make_dir("bad", dir, sizeof(dir));
	write_manifest(dir, "1.4.0.json", m14);
	json_object_set_new(m13, "aliases", json_array());
	json_object_set_new(
		json_object_get(json_array_get(json_object_get(m13, "revisions"), 0), "changes"),
		"storage", json_pack("{s:s}", "layout", "flat"));
	write_manifest(dir, "1.3.0.json", m13);
	expect_load_error(dir, -EINVAL, "/bad/1.3.0.json: revision 1: storage.size_gib: missing");
}

/* The shipped directory loads, and says what the built-in table says. */
static void test_load_shipped(void **state)
{
	const struct platform *before = platform_find("1.4.0");
	const struct platform *old_rev2;
	char *err = NULL;

	assert_int_equal(platform_lookup_revision("1.4.0", 2, &old_rev2, &err), 0);
	if (platform_load_dir(SHIPPED, &err) < 0)
		fail_msg("%s", err);
	assert_null(err);
	assert_string_equal(platform_source(), SHIPPED);
	assert_ptr_not_equal(platform_find("1.4.0"), before);
	check_shipped_facts();
	/* what was handed out before stays valid: a running task keeps its revision */
	assert_string_equal(before->version, "1.4.0");
	assert_int_equal(before->revision, 5);
	assert_int_equal(old_rev2->revision, 2);
	assert_true(old_rev2->secrets.json_key_and_version);
	assert_int_equal(old_rev2->n_sizes, 6);
}

static void assert_same_facts(const struct platform *a, const struct platform *b)
{
	assert_int_equal(a->storage, b->storage);
	assert_int_equal(a->storage_gib, b->storage_gib);
	assert_int_equal(a->storage_min_gib, b->storage_min_gib);
	assert_int_equal(a->storage_max_gib, b->storage_max_gib);
	assert_int_equal(a->layer_gib, b->layer_gib);
	assert_int_equal(a->volumes_gib, b->volumes_gib);
	assert_int_equal(a->caps_default, b->caps_default);
	assert_int_equal(a->caps_addable, b->caps_addable);
	check_sizes(a, b->sizes, b->n_sizes);
	assert_int_equal(a->nofile_soft, b->nofile_soft);
	assert_int_equal(a->nofile_hard, b->nofile_hard);
	assert_memory_equal(a->flows, b->flows, sizeof(a->flows));
	assert_memory_equal(&a->secrets, &b->secrets, sizeof(a->secrets));
	assert_memory_equal(&a->metadata, &b->metadata, sizeof(a->metadata));
	assert_memory_equal(&a->insights, &b->insights, sizeof(a->insights));
}

/* A revision's JSON, as revision 1 of a manifest of its own, loads as the same facts. */
static void test_json_round_trip(void **state)
{
	static const char *const meta[] = { "version",	   "aliases",	"version_description",
					    "revision",	   "revisions", "date",
					    "description", "source" };
	const struct platform *const *all = platform_all();
	unsigned int n = 0;

	for (size_t i = 0; all[i]; i++) {
		for (unsigned int r = 0; r < all[i]->n_revisions; r++) {
			const struct platform *p = &all[i]->revisions[r], *q;
			json_auto_t *j = platform_to_json(p), *m = NULL;
			char dir[128], name[64], sub[32], *err = NULL;

			assert_non_null(j);
			assert_string_equal(json_string_value(json_object_get(j, "version")),
					    p->version);
			assert_int_equal(json_integer_value(json_object_get(j, "revision")),
					 p->revision);
			m = json_pack("{s:s, s:[s], s:s, s:[{s:i, s:s, s:s, s:O}]}", "version",
				      p->version, "aliases", "LATEST", "description",
				      p->version_description, "revisions", "revision", 1, "date",
				      p->date, "description", p->description, "changes", j);
			assert_non_null(m);
			for (size_t k = 0; k < ARRAY_SIZE(meta); k++)
				json_object_del(j, meta[k]);
			snprintf(sub, sizeof(sub), "round-trip-%u", n++);
			make_dir(sub, dir, sizeof(dir));
			snprintf(name, sizeof(name), "%s.json", p->version);
			write_manifest(dir, name, m);
			if (platform_load_dir(dir, &err) < 0)
				fail_msg("%s revision %u: %s", p->version, p->revision, err);
			q = platform_find("LATEST");
			assert_non_null(q);
			assert_string_equal(q->version, p->version);
			assert_int_equal(q->revision, 1);
			assert_same_facts(q, p);
		}
	}
	assert_int_equal(n, 8);
}

static int setup(void **state)
{
	strscpy(tmpdir, "/tmp/tp-manifest.XXXXXX", sizeof(tmpdir));
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	/* in this order: the built-in table first, then the shipped directory, then others */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_revisions),
		cmocka_unit_test(test_checks_per_revision),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_malformed_text),
		cmocka_unit_test(test_load_dir_errors),
		cmocka_unit_test(test_load_shipped),
		cmocka_unit_test(test_json_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
