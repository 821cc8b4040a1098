// SPDX-License-Identifier: GPL-2.0-only
/*
 * The platform versions' table, from manifests (docs/platforms.md): one JSON file per version
 * with dated revisions. Revision 1's "changes" are every fact; each later revision's "changes"
 * are a JSON merge patch (RFC 7386) over the previous revision's facts, and the result is checked
 * as a whole. The shipped manifests are compiled in ($(O)/gen/platforms-builtin.h) and are the
 * table until platform_load_dir() loads a directory.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>

#include "platform.h"
#include "taskdef.h"
#include "util.h"

#include "gen/platforms-builtin.h"

#define MANIFEST_MAX_BYTES     (256 * 1024)
#define MANIFEST_MAX_FILES     64
#define MANIFEST_MAX_REVISIONS 256
#define MANIFEST_MAX_ALIASES   8
#define MANIFEST_MAX_SIZES     64
#define MANIFEST_MAX_TEXT      2048 /* a description or source */
#define MANIFEST_MAX_GIB       16384
#define MANIFEST_MAX_CPU       (1024 * 1024)
#define MANIFEST_MAX_MIB       (16 * 1024 * 1024)
#define MANIFEST_ALIAS_MAX     32

/* One version: its revisions, oldest first. */
struct platform_version {
	char *name;
	char *description;
	char **aliases; /* NULL-terminated */
	struct platform *revisions;
	unsigned int n_revisions;
	unsigned int number[3]; /* major, minor, patch: the table's order */
};

/* A table. One replaced by platform_load_dir() is kept (platform.h). */
struct platform_set {
	struct platform_version *versions;
	size_t n_versions;
	const struct platform **latest; /* one per version, NULL-terminated */
	char *known;			/* "1.3.0, 1.4.0, LATEST" */
	char *source;
	char *error; /* the built-in manifests only: why they failed (a bug) */
	struct platform_set *replaced;
};

static struct platform_set *current;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static const char *const flow_names[PLATFORM_FLOW_COUNT] = {
	[PLATFORM_FLOW_PULL] = "pull",	     [PLATFORM_FLOW_AUTH] = "auth",
	[PLATFORM_FLOW_SECRETS] = "secrets", [PLATFORM_FLOW_LOGS] = "logs",
	[PLATFORM_FLOW_EFS] = "efs",
};

static const char *const eni_names[] = {
	[PLATFORM_ENI_TASK] = "task",
	[PLATFORM_ENI_PLATFORM] = "platform",
	[PLATFORM_ENI_UNSUPPORTED] = "unsupported",
};

const char *platform_flow_name(enum platform_flow f)
{
	return (size_t)f < ARRAY_SIZE(flow_names) ? flow_names[f] : NULL;
}

const char *platform_eni_name(enum platform_eni e)
{
	return (size_t)e < ARRAY_SIZE(eni_names) ? eni_names[e] : NULL;
}

/* --- errors -------------------------------------------------------------------------------- */

/* Where a manifest is being read: "FILE: revision N: KEY: what is wrong". */
struct mctx {
	const char *file;
	unsigned int revision; /* 0: outside the revisions */
	char **ret_error;
};

/* s with anything but printable ASCII as '?', at most 64 characters: input in messages. */
static const char *printable(const char *s, char buf[static 68])
{
	size_t i;

	for (i = 0; i < 64 && s[i]; i++)
		buf[i] = (unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (s[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

static int mfail(const struct mctx *c, const char *path, const char *key, const char *fmt, ...)
	_printf_(4, 5);

static int mfail(const struct mctx *c, const char *path, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	char rev[32] = "", kbuf[68];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (c->revision)
		snprintf(rev, sizeof(rev), "revision %u: ", c->revision);
	return fail_with(c->ret_error, "%s: %s%s%s%s%s%s", c->file, rev, path ?: "",
			 path && key ? "." : "", key ? printable(key, kbuf) : "",
			 path || key ? ": " : "", msg);
}

/* --- typed members ------------------------------------------------------------------------- */

/* Every member of obj is one of known (NULL-terminated). */
static int check_keys(const struct mctx *c, json_t *obj, const char *path, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		char list[512] = "";
		size_t n = 0;
		bool ok = false;

		for (size_t i = 0; known[i]; i++)
			ok = ok || streq(key, known[i]);
		if (ok)
			continue;
		for (size_t i = 0; known[i] && n < sizeof(list); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
					      known[i]);
		return mfail(c, path, key, "unknown key (known: %s)", list);
	}
	return 0;
}

static int get_member(const struct mctx *c, json_t *obj, const char *path, const char *key,
		      json_t **ret)
{
	*ret = json_object_get(obj, key);
	if (!*ret)
		return mfail(c, path, key, "missing");
	return 0;
}

static int get_object(const struct mctx *c, json_t *obj, const char *path, const char *key,
		      json_t **ret)
{
	int r = get_member(c, obj, path, key, ret);

	if (r < 0)
		return r;
	if (!json_is_object(*ret))
		return mfail(c, path, key, "must be an object");
	return 0;
}

static int get_bool(const struct mctx *c, json_t *obj, const char *path, const char *key, bool *ret)
{
	json_t *v;
	int r = get_member(c, obj, path, key, &v);

	if (r < 0)
		return r;
	if (!json_is_boolean(v))
		return mfail(c, path, key, "must be true or false");
	*ret = json_is_true(v);
	return 0;
}

static int check_uint(const struct mctx *c, json_t *v, const char *path, const char *key,
		      uint64_t min, uint64_t max, uint64_t *ret)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max)
		return mfail(c, path, key, "must be an integer from %llu to %llu",
			     (unsigned long long)min, (unsigned long long)max);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_uint(const struct mctx *c, json_t *obj, const char *path, const char *key,
		    uint64_t min, uint64_t max, uint64_t *ret)
{
	json_t *v;
	int r = get_member(c, obj, path, key, &v);

	return r < 0 ? r : check_uint(c, v, path, key, min, max, ret);
}

static unsigned int get_uint32(uint64_t v)
{
	return (unsigned int)v;
}

/* A string of 1-max bytes without control characters. */
static int check_text(const struct mctx *c, json_t *v, const char *path, const char *key,
		      size_t max, const char **ret)
{
	const char *s = json_string_value(v);

	if (!s || !*s || strlen(s) > max)
		return mfail(c, path, key, "must be a string of 1 to %zu bytes", max);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return mfail(c, path, key, "must not contain control characters");
	*ret = s;
	return 0;
}

static int get_text(const struct mctx *c, json_t *obj, const char *path, const char *key,
		    size_t max, const char **ret)
{
	json_t *v;
	int r = get_member(c, obj, path, key, &v);

	return r < 0 ? r : check_text(c, v, path, key, max, ret);
}

/* One of names[0..n) (NULL entries skipped). */
static int get_enum(const struct mctx *c, json_t *obj, const char *path, const char *key,
		    const char *const *names, size_t n, unsigned int *ret)
{
	const char *s;
	char list[256] = "";
	size_t len = 0;
	json_t *v;
	int r = get_member(c, obj, path, key, &v);

	if (r < 0)
		return r;
	s = json_string_value(v);
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		if (s && streq(s, names[i])) {
			*ret = (unsigned int)i;
			return 0;
		}
		len += (size_t)snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0,
					"%s\"%s\"", len ? ", " : "", names[i]);
	}
	return mfail(c, path, key, "must be one of %s", list);
}

/* YYYY-MM-DD, a day that exists; into days since 1970 for ordering. */
static int parse_date(const char *s, long *ret_days)
{
	static const unsigned int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned int y, m, d;
	struct tm tm = {};
	char tail;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
		return -EINVAL;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -EINVAL;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)m - 1;
	tm.tm_mday = (int)d;
	*ret_days = (long)(timegm(&tm) / 86400);
	return 0;
}

/* --- the facts ----------------------------------------------------------------------------- */

static int parse_flows(const struct mctx *c, json_t *facts, struct platform *p)
{
	static const char *const keys[] = { "pull", "auth", "secrets", "logs", "efs", NULL };
	json_t *o;
	int r;

	r = get_object(c, facts, NULL, "flows", &o);
	if (r < 0)
		return r;
	r = check_keys(c, o, "flows", keys);
	if (r < 0)
		return r;
	for (unsigned int f = 0; f < PLATFORM_FLOW_COUNT; f++) {
		unsigned int e;

		r = get_enum(c, o, "flows", flow_names[f], eni_names, ARRAY_SIZE(eni_names), &e);
		if (r < 0)
			return r;
		if (e == PLATFORM_ENI_UNSUPPORTED && f != PLATFORM_FLOW_EFS)
			return mfail(c, "flows", flow_names[f],
				     "only efs may be \"unsupported\": a task needs this flow");
		p->flows[f] = (enum platform_eni)e;
	}
	return 0;
}

static int parse_storage(const struct mctx *c, json_t *facts, struct platform *p)
{
	static const char *const layouts[] = {
		[PLATFORM_STORAGE_FLAT] = "flat", [PLATFORM_STORAGE_SPLIT] = "split"
	};
	static const char *const flat_keys[] = { "layout", "size_gib", "ephemeral_min_gib",
						 "ephemeral_max_gib", NULL };
	static const char *const split_keys[] = { "layout", "layers_gib", "volumes_gib", NULL };
	bool has_min, has_max;
	unsigned int layout;
	uint64_t v;
	json_t *o;
	int r;

	r = get_object(c, facts, NULL, "storage", &o);
	if (r < 0)
		return r;
	r = get_enum(c, o, "storage", "layout", layouts, ARRAY_SIZE(layouts), &layout);
	if (r < 0)
		return r;
	p->storage = (enum platform_storage)layout;
	switch (p->storage) {
	case PLATFORM_STORAGE_FLAT:
		r = check_keys(c, o, "storage", flat_keys);
		if (r == 0)
			r = get_uint(c, o, "storage", "size_gib", 1, MANIFEST_MAX_GIB, &v);
		if (r < 0)
			return r;
		p->storage_gib = get_uint32(v);
		has_min = json_object_get(o, "ephemeral_min_gib");
		has_max = json_object_get(o, "ephemeral_max_gib");
		if (has_min != has_max)
			return mfail(
				c, "storage", has_min ? "ephemeral_max_gib" : "ephemeral_min_gib",
				"missing (ephemeral_min_gib and ephemeral_max_gib go together)");
		if (!has_min)
			return 0;
		r = get_uint(c, o, "storage", "ephemeral_min_gib", 1, MANIFEST_MAX_GIB, &v);
		if (r < 0)
			return r;
		p->storage_min_gib = get_uint32(v);
		r = get_uint(c, o, "storage", "ephemeral_max_gib", p->storage_min_gib,
			     MANIFEST_MAX_GIB, &v);
		if (r < 0)
			return r;
		p->storage_max_gib = get_uint32(v);
		return 0;
	case PLATFORM_STORAGE_SPLIT:
		r = check_keys(c, o, "storage", split_keys);
		if (r == 0)
			r = get_uint(c, o, "storage", "layers_gib", 1, MANIFEST_MAX_GIB, &v);
		if (r < 0)
			return r;
		p->layer_gib = get_uint32(v);
		r = get_uint(c, o, "storage", "volumes_gib", 1, MANIFEST_MAX_GIB, &v);
		if (r < 0)
			return r;
		p->volumes_gib = get_uint32(v);
		return 0;
	}
	return 0;
}

static int parse_cap_list(const struct mctx *c, json_t *o, const char *key, uint64_t *ret)
{
	char buf[68];
	json_t *a, *v;
	size_t i;
	int r;

	r = get_member(c, o, "capabilities", key, &a);
	if (r < 0)
		return r;
	if (!json_is_array(a))
		return mfail(c, "capabilities", key, "must be an array of capability names");
	*ret = 0;
	json_array_foreach(a, i, v) {
		const char *name = json_string_value(v);
		int cap = name ? taskdef_cap_from_name(name) : -EINVAL;

		if (cap < 0)
			return mfail(
				c, "capabilities", key,
				"unknown capability %s%s%s (names as ECS spells them: SYS_PTRACE)",
				name ? "'" : "", name ? printable(name, buf) : "(not a string)",
				name ? "'" : "");
		*ret |= 1ULL << cap;
	}
	return 0;
}

static int parse_caps(const struct mctx *c, json_t *facts, struct platform *p)
{
	static const char *const keys[] = { "default", "addable", NULL };
	json_t *o;
	int r;

	r = get_object(c, facts, NULL, "capabilities", &o);
	if (r == 0)
		r = check_keys(c, o, "capabilities", keys);
	if (r == 0)
		r = parse_cap_list(c, o, "default", &p->caps_default);
	if (r == 0)
		r = parse_cap_list(c, o, "addable", &p->caps_addable);
	return r;
}

static int parse_sizes(const struct mctx *c, json_t *facts, struct platform *p)
{
	static const char *const keys[] = { "cpu", "memory_min_mib", "memory_max_mib",
					    "memory_step_mib", NULL };
	struct platform_size *sizes;
	json_t *a, *e;
	size_t i;
	int r;

	r = get_member(c, facts, NULL, "task_sizes", &a);
	if (r < 0)
		return r;
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MANIFEST_MAX_SIZES)
		return mfail(c, NULL, "task_sizes", "must be an array of 1 to %d task sizes",
			     MANIFEST_MAX_SIZES);
	sizes = calloc(json_array_size(a), sizeof(*sizes));
	if (!sizes)
		return -ENOMEM;
	p->sizes = sizes;
	p->n_sizes = (unsigned int)json_array_size(a);
	json_array_foreach(a, i, e) {
		struct platform_size *s = &sizes[i];
		char path[48];
		uint64_t v;

		snprintf(path, sizeof(path), "task_sizes[%zu]", i);
		if (!json_is_object(e))
			return mfail(c, path, NULL, "must be an object");
		r = check_keys(c, e, path, keys);
		if (r == 0)
			r = get_uint(c, e, path, "cpu", 1, MANIFEST_MAX_CPU, &v);
		if (r < 0)
			return r;
		s->cpu = get_uint32(v);
		r = get_uint(c, e, path, "memory_min_mib", 1, MANIFEST_MAX_MIB, &v);
		if (r < 0)
			return r;
		s->memory_min = get_uint32(v);
		r = get_uint(c, e, path, "memory_max_mib", s->memory_min, MANIFEST_MAX_MIB, &v);
		if (r < 0)
			return r;
		s->memory_max = get_uint32(v);
		if (s->memory_min == s->memory_max && !json_object_get(e, "memory_step_mib"))
			continue;
		r = get_uint(c, e, path, "memory_step_mib", 1, MANIFEST_MAX_MIB, &v);
		if (r < 0)
			return r;
		s->memory_step = get_uint32(v);
		if ((s->memory_max - s->memory_min) % s->memory_step)
			return mfail(c, path, "memory_step_mib",
				     "steps of %u MiB from %u MiB do not reach %u MiB",
				     s->memory_step, s->memory_min, s->memory_max);
	}
	return 0;
}

static int parse_nofile(const struct mctx *c, json_t *facts, struct platform *p)
{
	static const char *const keys[] = { "soft", "hard", NULL };
	json_t *o;
	int r;

	r = get_object(c, facts, NULL, "nofile", &o);
	if (r == 0)
		r = check_keys(c, o, "nofile", keys);
	if (r == 0)
		r = get_uint(c, o, "nofile", "hard", 1, TASKDEF_NOFILE_MAX, &p->nofile_hard);
	if (r == 0)
		r = get_uint(c, o, "nofile", "soft", 1, p->nofile_hard, &p->nofile_soft);
	return r;
}

/* An object of booleans: keys[i] into *fields[i]; those from keys[required] on are optional
 * (false when absent). */
static int parse_flags(const struct mctx *c, json_t *facts, const char *key,
		       const char *const *keys, size_t required, bool *const *fields)
{
	json_t *o;
	int r;

	r = get_object(c, facts, NULL, key, &o);
	if (r == 0)
		r = check_keys(c, o, key, keys);
	for (size_t i = 0; r == 0 && keys[i]; i++) {
		*fields[i] = false;
		if (i < required || json_object_get(o, keys[i]))
			r = get_bool(c, o, key, keys[i], fields[i]);
	}
	return r;
}

static int parse_features(const struct mctx *c, json_t *facts, struct platform *p)
{
	static const char *const secrets_keys[] = { "supported", "json_key_and_version", NULL };
	static const char *const metadata_keys[] = {
		"network_stats",     "network_rate_stats",
		"availability_zone", "ephemeral_storage_metrics",
		"snapshotter",	     NULL
	};
	static const char *const insights_keys[] = { "supported", "network_metrics",
						     "ephemeral_storage_metrics", NULL };
	bool *const secrets[] = { &p->secrets.supported, &p->secrets.json_key_and_version };
	bool *const metadata[] = { &p->metadata.network_stats, &p->metadata.network_rate_stats,
				   &p->metadata.availability_zone,
				   &p->metadata.ephemeral_storage_metrics,
				   &p->metadata.snapshotter };
	bool *const insights[] = { &p->insights.supported, &p->insights.network_metrics,
				   &p->insights.ephemeral_storage_metrics };
	int r;

	r = parse_flags(c, facts, "secrets", secrets_keys, ARRAY_SIZE(secrets), secrets);
	if (r < 0)
		return r;
	if (!p->secrets.supported && p->secrets.json_key_and_version)
		return mfail(c, "secrets", "json_key_and_version",
			     "must be false when secrets are not supported");
	r = parse_flags(c, facts, "metadata", metadata_keys, 4, metadata);
	if (r < 0)
		return r;
	if (p->metadata.network_rate_stats && !p->metadata.network_stats)
		return mfail(c, "metadata", "network_rate_stats",
			     "must be false without network_stats");
	r = parse_flags(c, facts, "insights", insights_keys, ARRAY_SIZE(insights), insights);
	if (r < 0)
		return r;
	if (!p->insights.supported &&
	    (p->insights.network_metrics || p->insights.ephemeral_storage_metrics))
		return mfail(c, "insights",
			     p->insights.network_metrics ? "network_metrics"
							 : "ephemeral_storage_metrics",
			     "must be false when Container Insights is not supported");
	return 0;
}

/* A revision's facts (the merged object) into p. */
static int parse_facts(const struct mctx *c, json_t *facts, struct platform *p)
{
	static const char *const keys[] = { "flows",	  "storage",  "capabilities",
					    "task_sizes", "nofile",   "secrets",
					    "metadata",	  "insights", NULL };
	int r;

	r = check_keys(c, facts, NULL, keys);
	if (r == 0)
		r = parse_flows(c, facts, p);
	if (r == 0)
		r = parse_storage(c, facts, p);
	if (r == 0)
		r = parse_caps(c, facts, p);
	if (r == 0)
		r = parse_sizes(c, facts, p);
	if (r == 0)
		r = parse_nofile(c, facts, p);
	if (r == 0)
		r = parse_features(c, facts, p);
	return r;
}

/* RFC 7386: patch (an object) merged into target (an object), in place. */
static int merge_patch(json_t *target, json_t *patch)
{
	const char *key;
	json_t *v;

	json_object_foreach(patch, key, v) {
		json_t *t = json_object_get(target, key);

		if (json_is_null(v)) {
			json_object_del(target, key);
			continue;
		}
		if (json_is_object(v)) {
			json_t *o = json_is_object(t) ? json_incref(t) : json_object();
			int r;

			if (!o)
				return -ENOMEM;
			r = merge_patch(o, v);
			if (r == 0 && json_object_set_new(target, key, o) < 0)
				r = -ENOMEM;
			else if (r < 0)
				json_decref(o);
			if (r < 0)
				return r;
			continue;
		}
		if (json_object_set_new(target, key, json_deep_copy(v)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* --- one manifest -------------------------------------------------------------------------- */

static void revision_done(struct platform *p)
{
	free((void *)p->sizes);
	free((char *)p->date);
	free((char *)p->description);
	free((char *)p->source);
}

static void version_done(struct platform_version *v)
{
	for (unsigned int i = 0; i < v->n_revisions; i++)
		revision_done(&v->revisions[i]);
	free(v->revisions);
	for (size_t i = 0; v->aliases && v->aliases[i]; i++)
		free(v->aliases[i]);
	free(v->aliases);
	free(v->name);
	free(v->description);
	*v = (struct platform_version){};
}

static int parse_version_name(const char *s, unsigned int number[3])
{
	char tail;

	if (strlen(s) > 32 ||
	    sscanf(s, "%u.%u.%u%c", &number[0], &number[1], &number[2], &tail) != 3)
		return -EINVAL;
	/* digits and dots only, no sign, no leading zeros but "0" */
	for (const char *p = s; *p; p++) {
		if (*p == '.')
			continue;
		if (*p < '0' || *p > '9' ||
		    (*p == '0' && (p == s || p[-1] == '.') && p[1] && p[1] != '.'))
			return -EINVAL;
	}
	return 0;
}

static int parse_aliases(const struct mctx *c, json_t *root, struct platform_version *v)
{
	json_t *a = json_object_get(root, "aliases"), *e;
	char buf[68];
	size_t i;

	v->aliases = calloc(MANIFEST_MAX_ALIASES + 1, sizeof(*v->aliases));
	if (!v->aliases)
		return -ENOMEM;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MANIFEST_MAX_ALIASES)
		return mfail(c, NULL, "aliases", "must be an array of at most %d names",
			     MANIFEST_MAX_ALIASES);
	json_array_foreach(a, i, e) {
		const char *s = json_string_value(e);
		bool ok = s && *s && strlen(s) <= MANIFEST_ALIAS_MAX && s[0] >= 'A' && s[0] <= 'Z';

		for (const char *p = s; ok && *p; p++)
			ok = (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
		if (!ok)
			return mfail(
				c, NULL, "aliases",
				"%s%s%s is not an alias name (upper-case letters, digits and _, starting with a letter, at most %d: LATEST)",
				s ? "'" : "",
				s ? printable(s, buf) : "a value that is not a string",
				s ? "'" : "", MANIFEST_ALIAS_MAX);
		for (size_t j = 0; j < i; j++)
			if (streq(v->aliases[j], s))
				return mfail(c, NULL, "aliases", "'%s' is named twice", s);
		v->aliases[i] = strdup(s);
		if (!v->aliases[i])
			return -ENOMEM;
	}
	return 0;
}

static int dup_text(const char *s, const char **ret)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

static int parse_revision(struct mctx *c, json_t *e, json_t *facts, struct platform_version *v,
			  long *last_day)
{
	static const char *const keys[] = { "revision", "date",	   "description",
					    "source",	"changes", NULL };
	struct platform *p = &v->revisions[v->n_revisions];
	const char *date, *desc, *source = NULL;
	json_t *changes, *sv;
	uint64_t number;
	long day;
	int r;

	if (!json_is_object(e))
		return mfail(c, NULL, NULL, "must be an object");
	r = check_keys(c, e, NULL, keys);
	if (r < 0)
		return r;
	r = get_uint(c, e, NULL, "revision", 1, MANIFEST_MAX_REVISIONS, &number);
	if (r < 0)
		return r;
	if (number != v->n_revisions + 1)
		return mfail(c, NULL, "revision",
			     "must be %u: revisions are numbered 1, 2, ... in order",
			     v->n_revisions + 1);
	r = get_text(c, e, NULL, "date", 10, &date);
	if (r < 0)
		return r;
	if (parse_date(date, &day) < 0)
		return mfail(c, NULL, "date", "must be a date YYYY-MM-DD");
	if (day < *last_day)
		return mfail(c, NULL, "date", "must not be before the previous revision's");
	*last_day = day;
	r = get_text(c, e, NULL, "description", MANIFEST_MAX_TEXT, &desc);
	if (r < 0)
		return r;
	sv = json_object_get(e, "source");
	if (sv) {
		r = check_text(c, sv, NULL, "source", MANIFEST_MAX_TEXT, &source);
		if (r < 0)
			return r;
	}
	r = get_object(c, e, NULL, "changes", &changes);
	if (r < 0)
		return r;
	r = merge_patch(facts, changes);
	if (r < 0)
		return r;

	/* The revision exists from here on: version_done() frees what it holds. */
	*p = (struct platform){
		.version = v->name,
		.revision = (unsigned int)number,
		.version_description = v->description,
		.aliases = (const char *const *)v->aliases,
	};
	v->n_revisions++;
	r = dup_text(date, &p->date);
	if (r == 0)
		r = dup_text(desc, &p->description);
	if (r == 0)
		r = dup_text(source, &p->source);
	if (r < 0)
		return r;
	/* facts are checked whole: the key paths are the merged facts' */
	return parse_facts(c, facts, p);
}

/* Parse root (the manifest named name) into *ret. */
static int version_parse(const char *name, json_t *root, struct platform_version *ret,
			 char **ret_error)
{
	static const char *const keys[] = { "version", "aliases", "description", "revisions",
					    NULL };
	_cleanup_(version_done) struct platform_version v = {};
	struct mctx c = { .file = name, .ret_error = ret_error };
	json_auto_t *facts = json_object();
	const char *s, *desc;
	long last_day = 0;
	json_t *revs, *e;
	size_t i, n;
	int r;

	if (!facts)
		return -ENOMEM;
	if (!json_is_object(root))
		return mfail(&c, NULL, NULL, "must be a JSON object");
	r = check_keys(&c, root, NULL, keys);
	if (r == 0)
		r = get_text(&c, root, NULL, "version", 32, &s);
	if (r < 0)
		return r;
	if (parse_version_name(s, v.number) < 0)
		return mfail(&c, NULL, "version", "'%s' is not a version MAJOR.MINOR.PATCH", s);
	n = strlen(s);
	if (strlen(name) != n + 5 || strncmp(name, s, n) || !streq(name + n, ".json"))
		return mfail(&c, NULL, "version", "'%s' must be the file's name without .json", s);
	v.name = strdup(s);
	if (!v.name)
		return -ENOMEM;
	r = get_text(&c, root, NULL, "description", MANIFEST_MAX_TEXT, &desc);
	if (r < 0)
		return r;
	v.description = strdup(desc);
	if (!v.description)
		return -ENOMEM;
	r = parse_aliases(&c, root, &v);
	if (r < 0)
		return r;
	r = get_member(&c, root, NULL, "revisions", &revs);
	if (r < 0)
		return r;
	if (!json_is_array(revs) || json_array_size(revs) == 0 ||
	    json_array_size(revs) > MANIFEST_MAX_REVISIONS)
		return mfail(&c, NULL, "revisions", "must be an array of 1 to %d revisions",
			     MANIFEST_MAX_REVISIONS);
	v.revisions = calloc(json_array_size(revs), sizeof(*v.revisions));
	if (!v.revisions)
		return -ENOMEM;
	json_array_foreach(revs, i, e) {
		c.revision = (unsigned int)i + 1;
		r = parse_revision(&c, e, facts, &v, &last_day);
		if (r < 0)
			return r;
	}
	for (i = 0; i < v.n_revisions; i++) {
		v.revisions[i].revisions = v.revisions;
		v.revisions[i].n_revisions = v.n_revisions;
	}
	*ret = v;
	v = (struct platform_version){};
	return 0;
}

static int version_parse_text(const char *name, const char *text, size_t len,
			      struct platform_version *ret, char **ret_error)
{
	json_auto_t *root = NULL;
	json_error_t jerr;

	if (len > MANIFEST_MAX_BYTES)
		return fail_with(ret_error, "%s: larger than %d bytes", name, MANIFEST_MAX_BYTES);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail_with(ret_error, "%s: line %d: %s", name, jerr.line, jerr.text);
	return version_parse(name, root, ret, ret_error);
}

int platform_manifest_check(const char *name, const char *text, size_t len, char **ret_error)
{
	struct platform_version v = {};
	int r;

	if (ret_error)
		*ret_error = NULL;
	r = version_parse_text(name, text, len, &v, ret_error);
	version_done(&v);
	return r;
}

/* --- tables -------------------------------------------------------------------------------- */

static struct platform_set *set_free(struct platform_set *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_versions; i++)
		version_done(&s->versions[i]);
	free(s->versions);
	free(s->latest);
	free(s->known);
	free(s->source);
	free(s->error);
	free(s);
	return NULL;
}

static int version_cmp(const void *a, const void *b)
{
	const struct platform_version *x = a, *y = b;

	for (int i = 0; i < 3; i++)
		if (x->number[i] != y->number[i])
			return x->number[i] < y->number[i] ? -1 : 1;
	return 0;
}

/* Order the versions, check names across them, make the lookups' lists. */
static int set_finish(struct platform_set *s, const char *where, char **ret_error)
{
	bool latest = false;
	size_t len = 0;
	FILE *f;

	if (s->n_versions == 0)
		return fail_errno(ret_error, -ENOENT, "%s: no platform manifest (VERSION.json)",
				  where);
	qsort(s->versions, s->n_versions, sizeof(*s->versions), version_cmp);
	for (size_t i = 0; i < s->n_versions; i++) {
		for (size_t j = 0; j < i; j++)
			if (streq(s->versions[i].name, s->versions[j].name))
				return fail_with(ret_error, "%s: version %s is there twice", where,
						 s->versions[i].name);
		for (char **a = s->versions[i].aliases; *a; a++) {
			latest = latest || streq(*a, "LATEST");
			for (size_t j = 0; j < s->n_versions; j++)
				for (char **b = s->versions[j].aliases; *b; b++)
					if ((i != j || a != b) && streq(*a, *b))
						return fail_with(
							ret_error,
							"%s: the alias %s is claimed by %s.json and %s.json",
							where, *a, s->versions[i].name,
							s->versions[j].name);
		}
	}
	if (!latest)
		return fail_with(
			ret_error,
			"%s: no manifest names the alias LATEST (\"aliases\": [\"LATEST\"])",
			where);
	s->latest = calloc(s->n_versions + 1, sizeof(*s->latest));
	if (!s->latest)
		return -ENOMEM;
	f = open_memstream(&s->known, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_versions; i++) {
		s->latest[i] = &s->versions[i].revisions[s->versions[i].n_revisions - 1];
		fprintf(f, "%s%s", i ? ", " : "", s->versions[i].name);
	}
	for (size_t i = 0; i < s->n_versions; i++)
		for (char **a = s->versions[i].aliases; *a; a++)
			fprintf(f, ", %s", *a);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int set_add(struct platform_set *s, const char *name, const char *text, size_t len,
		   char **ret_error)
{
	struct platform_version *n;
	int r;

	n = realloc(s->versions, (s->n_versions + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->versions = n;
	n[s->n_versions] = (struct platform_version){};
	r = version_parse_text(name, text, len, &n[s->n_versions], ret_error);
	if (r < 0) {
		version_done(&n[s->n_versions]);
		return r;
	}
	s->n_versions++;
	return 0;
}

static void load_builtin(void)
{
	static struct platform_set no_memory = { .source = (char *)"built-in",
						 .error = (char *)"out of memory" };
	struct platform_set *s = calloc(1, sizeof(*s));
	char *err = NULL;
	int r = 0;

	if (!s || !(s->source = strdup("built-in"))) {
		free(s);
		current = &no_memory;
		return;
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(platform_builtin); i++)
		r = set_add(s, platform_builtin[i].name, (const char *)platform_builtin[i].text,
			    platform_builtin[i].len, &err);
	if (r == 0)
		r = set_finish(s, "built-in", &err);
	if (r < 0) {
		/* A bug of the build: the lookups say so. */
		for (size_t i = 0; i < s->n_versions; i++)
			version_done(&s->versions[i]);
		s->n_versions = 0;
		free(s->latest);
		s->latest = NULL;
		s->error = err ?: strdup(strerror(-r));
		err = NULL;
	}
	free(err);
	current = s;
}

static struct platform_set *get_set(void)
{
	pthread_once(&builtin_once, load_builtin);
	return current;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The manifests' file names in dir, sorted. */
static int list_dir(const char *dir, char **names, size_t *ret_n, char **ret_error)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return fail_errno(ret_error, -errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 || !streq(de->d_name + len - 5, ".json"))
			continue;
		if (n == MANIFEST_MAX_FILES) {
			r = fail_with(ret_error, "%s: more than %d manifests", dir,
				      MANIFEST_MAX_FILES);
			break;
		}
		names[n] = strdup(de->d_name);
		if (!names[n++]) {
			r = -ENOMEM;
			break;
		}
	}
	closedir(d);
	*ret_n = n;
	if (r == 0)
		qsort(names, n, sizeof(names[0]), name_cmp);
	return r;
}

/* The manifests of dir into s. */
static int load_files(struct platform_set *s, const char *dir, char **names, size_t n,
		      char **ret_error)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL, *text = NULL, *err = NULL;
		size_t len;
		int r;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			return -ENOMEM;
		}
		r = read_file(path, MANIFEST_MAX_BYTES, &text, &len);
		if (r < 0)
			return fail_errno(ret_error, r, "%s: %s", path,
					  r == -EFBIG ? "larger than 256 KiB" : strerror(-r));
		r = set_add(s, names[i], text, len, &err);
		if (r < 0)
			/* the manifest's own messages name the file; say where it is */
			return err ? fail_errno(ret_error, r, "%s/%s", dir, err) : r;
	}
	return set_finish(s, dir, ret_error);
}

int platform_load_dir(const char *dir, char **ret_error)
{
	char *names[MANIFEST_MAX_FILES] = {};
	struct platform_set *s;
	size_t n = 0;
	int r;

	if (ret_error)
		*ret_error = NULL;
	get_set();
	r = list_dir(dir, names, &n, ret_error);
	if (r == 0) {
		s = calloc(1, sizeof(*s));
		r = s ? 0 : -ENOMEM;
		if (r == 0 && !(s->source = strdup(dir)))
			r = -ENOMEM;
		if (r == 0)
			r = load_files(s, dir, names, n, ret_error);
		if (r == 0) {
			s->replaced = current;
			current = s;
		} else {
			set_free(s);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return r;
}

const char *platform_source(void)
{
	return get_set()->source;
}

const struct platform *const *platform_all(void)
{
	static const struct platform *const none[] = { NULL };
	struct platform_set *s = get_set();

	return s->latest ? s->latest : none;
}

static const struct platform_version *find_version(const struct platform_set *s, const char *name)
{
	for (size_t i = 0; i < s->n_versions; i++) {
		if (streq(s->versions[i].name, name))
			return &s->versions[i];
		for (char **a = s->versions[i].aliases; *a; a++)
			if (streq(*a, name))
				return &s->versions[i];
	}
	return NULL;
}

const struct platform *platform_find(const char *version)
{
	const struct platform_version *v = find_version(get_set(), version);

	return v ? &v->revisions[v->n_revisions - 1] : NULL;
}

static int unknown_version(const struct platform_set *s, const char *version, char **ret_error)
{
	char buf[68];

	if (s->error)
		return fail_with(ret_error, "the built-in platform manifests are broken: %s",
				 s->error);
	return fail_with(ret_error, "unknown platform version '%s' (known: %s)",
			 printable(version, buf), s->known);
}

int platform_lookup(const char *version, const struct platform **ret, char **ret_error)
{
	const struct platform *p = platform_find(version);

	if (!p)
		return unknown_version(get_set(), version, ret_error);
	*ret = p;
	return 0;
}

int platform_lookup_revision(const char *version, unsigned int revision,
			     const struct platform **ret, char **ret_error)
{
	const struct platform_set *s = get_set();
	const struct platform_version *v = find_version(s, version);

	if (!v)
		return unknown_version(s, version, ret_error);
	if (revision < 1 || revision > v->n_revisions)
		return fail_errno(ret_error, -ENOENT,
				  "platform version %s has no revision %u (it has %s%u)", v->name,
				  revision, v->n_revisions > 1 ? "revisions 1-" : "revision ",
				  v->n_revisions);
	*ret = &v->revisions[revision - 1];
	return 0;
}

/* --- as JSON ------------------------------------------------------------------------------- */

static json_t *caps_json(uint64_t set)
{
	json_t *a = json_array();

	for (unsigned int cap = 0; a && cap < 64; cap++)
		if (set & (1ULL << cap) && taskdef_cap_name(cap))
			json_array_append_new(a, json_string(taskdef_cap_name(cap)));
	return a;
}

json_t *platform_to_json(const struct platform *p)
{
	json_t *flows = json_object(), *sizes = json_array(), *aliases = json_array();
	json_t *storage = NULL;

	for (unsigned int f = 0; flows && f < PLATFORM_FLOW_COUNT; f++)
		json_object_set_new(flows, flow_names[f], json_string(eni_names[p->flows[f]]));
	for (unsigned int i = 0; sizes && i < p->n_sizes; i++) {
		const struct platform_size *s = &p->sizes[i];
		json_t *e = json_pack("{s:I, s:I, s:I}", "cpu", (json_int_t)s->cpu,
				      "memory_min_mib", (json_int_t)s->memory_min, "memory_max_mib",
				      (json_int_t)s->memory_max);

		if (e && s->memory_step)
			json_object_set_new(e, "memory_step_mib", json_integer(s->memory_step));
		json_array_append_new(sizes, e);
	}
	for (size_t i = 0; aliases && p->aliases[i]; i++)
		json_array_append_new(aliases, json_string(p->aliases[i]));
	switch (p->storage) {
	case PLATFORM_STORAGE_FLAT:
		storage = json_pack("{s:s, s:I}", "layout", "flat", "size_gib",
				    (json_int_t)p->storage_gib);
		if (storage && p->storage_min_gib) {
			json_object_set_new(storage, "ephemeral_min_gib",
					    json_integer(p->storage_min_gib));
			json_object_set_new(storage, "ephemeral_max_gib",
					    json_integer(p->storage_max_gib));
		}
		break;
	case PLATFORM_STORAGE_SPLIT:
		storage = json_pack("{s:s, s:I, s:I}", "layout", "split", "layers_gib",
				    (json_int_t)p->layer_gib, "volumes_gib",
				    (json_int_t)p->volumes_gib);
		break;
	}
	return json_pack(
		"{s:s, s:o, s:s, s:I, s:I, s:s, s:s, s:s?, s:o, s:o, s:{s:o, s:o}, s:o, s:{s:I, s:I},"
		" s:{s:b, s:b}, s:{s:b, s:b, s:b, s:b, s:b}, s:{s:b, s:b, s:b}}",
		"version", p->version, "aliases", aliases, "version_description",
		p->version_description, "revision", (json_int_t)p->revision, "revisions",
		(json_int_t)p->n_revisions, "date", p->date, "description", p->description,
		"source", p->source, "flows", flows, "storage", storage, "capabilities", "default",
		caps_json(p->caps_default), "addable", caps_json(p->caps_addable), "task_sizes",
		sizes, "nofile", "soft", (json_int_t)p->nofile_soft, "hard",
		(json_int_t)p->nofile_hard, "secrets", "supported", p->secrets.supported,
		"json_key_and_version", p->secrets.json_key_and_version, "metadata",
		"network_stats", p->metadata.network_stats, "network_rate_stats",
		p->metadata.network_rate_stats, "availability_zone", p->metadata.availability_zone,
		"ephemeral_storage_metrics", p->metadata.ephemeral_storage_metrics, "snapshotter",
		p->metadata.snapshotter, "insights", "supported", p->insights.supported,
		"network_metrics", p->insights.network_metrics, "ephemeral_storage_metrics",
		p->insights.ephemeral_storage_metrics);
}
