// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <sys/random.h>

#include "addr.h"
#include "platform.h"
#include "taskdef.h"
#include "tmds.h"

static int random_bytes(void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((char *)buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * 128 random bits written as 8-4-4-4-12 hex. uuid: with the version-4 UUID bits set (for
 * ContainerARN, as ECS writes them); otherwise every bit random (credentials ids).
 */
static int random_id(char buf[TMDS_CREDS_ID_MAX], bool uuid)
{
	uint8_t b[16];
	char h[33];
	int r;

	r = random_bytes(b, sizeof(b));
	if (r < 0)
		return r;
	if (uuid) {
		b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
		b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	}
	hex(b, sizeof(b), h);
	snprintf(buf, TMDS_CREDS_ID_MAX, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16,
		 h + 20);
	return 0;
}

static const char *const status_names[] = {
	[TMDS_STATUS_NONE] = "NONE",	   [TMDS_STATUS_PULLED] = "PULLED",
	[TMDS_STATUS_CREATED] = "CREATED", [TMDS_STATUS_RUNNING] = "RUNNING",
	[TMDS_STATUS_STOPPED] = "STOPPED",
};

const char *tmds_status_to_string(enum tmds_status s)
{
	return (size_t)s < ARRAY_SIZE(status_names) ? status_names[s] : "NONE";
}

int tmds_status_from_string(const char *s, enum tmds_status *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(status_names); i++)
		if (streq(s, status_names[i])) {
			*ret = (enum tmds_status)i;
			return 0;
		}
	return -EINVAL;
}

/* The parts of "arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE". */
struct arn {
	char partition[32], service[32], region[64], account[32];
	const char *resource;
};

static int arn_parse(const char *s, struct arn *ret)
{
	char *fields[5] = { ret->partition, ret->service, ret->region, ret->account, NULL };
	size_t sizes[4] = { sizeof(ret->partition), sizeof(ret->service), sizeof(ret->region),
			    sizeof(ret->account) };
	const char *p;

	if (!startswith(s, "arn:"))
		return -EINVAL;
	p = s + 4;
	for (int i = 0; i < 4; i++) {
		const char *colon = strchr(p, ':');
		size_t n;

		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - p);
		if (n >= sizes[i])
			return -EINVAL;
		memcpy(fields[i], p, n);
		fields[i][n] = '\0';
		p = colon + 1;
	}
	if (!*p)
		return -EINVAL;
	ret->resource = p;
	return 0;
}

static bool account_valid(const char *s)
{
	if (strlen(s) != 12)
		return false;
	for (int i = 0; i < 12; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Region and zone names: lower-case letters, digits and '-'. */
static bool region_like(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool ecs_id_valid(const char *s)
{
	if (strlen(s) != TMDS_ECS_ID_LEN)
		return false;
	for (int i = 0; i < TMDS_ECS_ID_LEN; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

struct tmds_task *tmds_task_free(struct tmds_task *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_containers; i++) {
		free(t->containers[i].arn);
		free(t->containers[i].state.image_id);
	}
	free(t->containers);
	taskdef_free(t->def);
	json_decref(t->network);
	free(t->task_id);
	free(t->task_arn);
	free(t->cluster_arn);
	free(t->region);
	free(t->availability_zone);
	free(t->launch_type);
	free(t);
	return NULL;
}

static inline void tmds_task_freep(struct tmds_task **t)
{
	tmds_task_free(*t);
}

static int task_arns(struct tmds_task *t, const struct tmds_task_opts *o, char *cluster_name,
		     size_t cluster_name_size, char *partition, size_t partition_size,
		     char *account, size_t account_size, char **ret_error)
{
	struct arn a;

	partition[0] = account[0] = '\0';
	if (startswith(o->cluster, "arn:")) {
		if (arn_parse(o->cluster, &a) < 0 || !streq(a.service, "ecs") ||
		    !startswith(a.resource, "cluster/") || !account_valid(a.account))
			return fail_with(
				ret_error,
				"cluster '%s' is not an ECS cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)",
				o->cluster);
		if (!streq(a.region, o->region))
			return fail_with(ret_error, "cluster ARN is in region '%s', not '%s'",
					 a.region, o->region);
		if (strscpy(cluster_name, a.resource + 8, cluster_name_size) < 0 ||
		    !ecs_name_valid(cluster_name))
			return fail_with(ret_error, "cluster ARN '%s' has an invalid name",
					 o->cluster);
		strscpy(partition, a.partition, partition_size);
		strscpy(account, a.account, account_size);
	} else {
		if (strscpy(cluster_name, o->cluster, cluster_name_size) < 0 ||
		    !ecs_name_valid(cluster_name))
			return fail_with(
				ret_error,
				"cluster name '%s' is not 1-255 letters, digits, '-' or '_'",
				o->cluster);
	}

	if (o->task_arn) {
		const char *slash;

		if (arn_parse(o->task_arn, &a) < 0 || !streq(a.service, "ecs") ||
		    !startswith(a.resource, "task/") || !account_valid(a.account))
			return fail_with(
				ret_error,
				"task ARN '%s' is not an ECS task ARN (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID)",
				o->task_arn);
		slash = strrchr(a.resource, '/');
		if (slash == a.resource + 4 || !ecs_id_valid(slash + 1))
			return fail_with(
				ret_error,
				"task ARN '%s' must end in /CLUSTER/ID with a 32-hex-digit ID",
				o->task_arn);
		if (!streq(a.region, o->region))
			return fail_with(ret_error, "task ARN is in region '%s', not '%s'",
					 a.region, o->region);
		if ((size_t)(slash - (a.resource + 5)) != strlen(cluster_name) ||
		    strncmp(a.resource + 5, cluster_name, strlen(cluster_name)) != 0)
			return fail_with(ret_error, "task ARN '%s' is not in cluster '%s'",
					 o->task_arn, cluster_name);
		if (account[0] && !streq(account, a.account))
			return fail_with(ret_error,
					 "task ARN and cluster ARN name different accounts");
		if (partition[0] && !streq(partition, a.partition))
			return fail_with(ret_error,
					 "task ARN and cluster ARN name different partitions");
		strscpy(partition, a.partition, partition_size);
		strscpy(account, a.account, account_size);
		memcpy(t->ecs_id, slash + 1, TMDS_ECS_ID_LEN + 1);
	}

	if (!account[0] && o->account) {
		if (!account_valid(o->account))
			return fail_with(ret_error, "account '%s' is not 12 digits", o->account);
		strscpy(account, o->account, account_size);
	}
	if (!account[0] && t->def->task_role_arn && arn_parse(t->def->task_role_arn, &a) == 0 &&
	    account_valid(a.account))
		strscpy(account, a.account, account_size);
	if (!account[0])
		return fail_with(
			ret_error,
			"cannot tell the AWS account: give the cluster or the task as an ARN, or an account");
	if (!partition[0])
		strscpy(partition, "aws", partition_size);
	return 0;
}

/* Check what needs no allocation. */
static int task_opts_check(const struct tmds_task_opts *o, const char *launch_type,
			   char **ret_error)
{
	if (!o->task_id || !o->cluster || !o->region || !o->availability_zone)
		return fail_with(ret_error,
				 "task id, cluster, region and availability zone are required");
	if (!region_like(o->region, 32))
		return fail_with(ret_error, "region '%s' is not a region name", o->region);
	if (!region_like(o->availability_zone, 40) ||
	    !startswith(o->availability_zone, o->region) ||
	    strlen(o->availability_zone) == strlen(o->region))
		return fail_with(ret_error, "availability zone '%s' is not a zone of region '%s'",
				 o->availability_zone, o->region);
	if (!streq(launch_type, "FARGATE") && !streq(launch_type, "EC2") &&
	    !streq(launch_type, "EXTERNAL"))
		return fail_with(ret_error, "launch type '%s' is not FARGATE, EC2 or EXTERNAL",
				 launch_type);
	return 0;
}

int tmds_task_new(const struct tmds_task_opts *o, struct taskdef *def, struct tmds_task **ret,
		  char **ret_error)
{
	_cleanup_(tmds_task_freep) struct tmds_task *t = NULL;
	char cluster_name[256], partition[32], account[32];
	const char *launch_type = o->launch_type ?: "FARGATE";
	const struct platform *platform = o->platform ?: platform_find("LATEST");
	int r;

	if (ret_error)
		*ret_error = NULL;
	r = task_opts_check(o, launch_type, ret_error);
	if (r == 0 && !platform)
		r = fail_with(ret_error, "no platform version is LATEST");
	if (r < 0) {
		taskdef_free(def);
		return r;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		taskdef_free(def);
		return -ENOMEM;
	}
	t->def = def;
	t->platform = platform;

	r = task_arns(t, o, cluster_name, sizeof(cluster_name), partition, sizeof(partition),
		      account, sizeof(account), ret_error);
	if (r < 0)
		return r;
	if (!t->ecs_id[0] && o->ecs_id) {
		if (!ecs_id_valid(o->ecs_id))
			return fail_with(ret_error, "task id '%s' is not 32 lower-case hex digits",
					 o->ecs_id);
		memcpy(t->ecs_id, o->ecs_id, TMDS_ECS_ID_LEN + 1);
	}
	if (!t->ecs_id[0]) {
		uint8_t b[16];

		r = random_bytes(b, sizeof(b));
		if (r < 0)
			return r;
		hex(b, sizeof(b), t->ecs_id);
	}

	t->task_id = strdup(o->task_id);
	t->region = strdup(o->region);
	t->availability_zone = strdup(o->availability_zone);
	t->launch_type = strdup(launch_type);
	if (asprintf(&t->cluster_arn, "arn:%s:ecs:%s:%s:cluster/%s", partition, o->region, account,
		     cluster_name) < 0)
		t->cluster_arn = NULL;
	if (asprintf(&t->task_arn, "arn:%s:ecs:%s:%s:task/%s/%s", partition, o->region, account,
		     cluster_name, t->ecs_id) < 0)
		t->task_arn = NULL;
	if (!t->task_id || !t->region || !t->availability_zone || !t->launch_type ||
	    !t->cluster_arn || !t->task_arn)
		return -ENOMEM;
	t->created_ns = o->created_ns ?: realtime_nsec();

	t->containers = calloc(def->n_containers, sizeof(*t->containers));
	if (!t->containers)
		return -ENOMEM;
	t->n_containers = def->n_containers;
	for (size_t i = 0; i < def->n_containers; i++) {
		struct tmds_container *c = &t->containers[i];
		char uuid[TMDS_CREDS_ID_MAX];
		uint32_t n;

		c->def = &def->containers[i];
		/* Fargate's endpoint ids: the task id, '-', ten digits; unique in the task. */
		do {
			r = random_bytes(&n, sizeof(n));
			if (r < 0)
				return r;
			snprintf(c->docker_id, sizeof(c->docker_id), "%s-%010u", t->ecs_id, n);
		} while (tmds_task_find_container(t, c->docker_id) != (int)i);
		r = random_id(uuid, true);
		if (r < 0)
			return r;
		if (asprintf(&c->arn, "arn:%s:ecs:%s:%s:container/%s/%s/%s", partition, o->region,
			     account, cluster_name, t->ecs_id, uuid) < 0) {
			c->arn = NULL;
			return -ENOMEM;
		}
	}
	if (def->task_role_arn) {
		r = random_id(t->creds_id, false);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(t);
	return 0;
}

json_t *tmds_task_ids_json(const struct tmds_task *t)
{
	json_t *o, *cs = json_array();

	for (size_t i = 0; i < t->n_containers; i++)
		json_array_append_new(cs, json_pack("{s:s, s:s, s:s}", "name",
						    t->containers[i].def->name, "docker_id",
						    t->containers[i].docker_id, "container_arn",
						    t->containers[i].arn));
	o = json_pack("{s:s, s:I, s:o}", "task_arn", t->task_arn, "created_ns",
		      (json_int_t)t->created_ns, "containers", cs);
	if (o && t->creds_id[0])
		json_object_set_new(o, "credentials_id", json_string(t->creds_id));
	return o;
}

/* s is n lower-case hex digits. */
static bool hex_of(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* 8-4-4-4-12 lower-case hex digits. */
static bool uuid_form(const char *s)
{
	static const size_t groups[] = { 8, 4, 4, 4, 12 };

	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		if (strlen(s) < groups[g] || !hex_of(s, groups[g]))
			return false;
		s += groups[g];
		if (g < ARRAY_SIZE(groups) - 1 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

/* An endpoint id of task t: "<ecs id>-<ten digits>". */
static bool docker_id_of(const struct tmds_task *t, const char *id)
{
	size_t n = strlen(t->ecs_id);

	if (strlen(id) != n + 11 || strncmp(id, t->ecs_id, n) != 0 || id[n] != '-')
		return false;
	for (size_t i = n + 1; i < n + 11; i++)
		if (!isdigit((unsigned char)id[i]))
			return false;
	return true;
}

int tmds_task_restore_ids(struct tmds_task *t, json_t *ids, char **ret_error)
{
	const char *arn = NULL, *creds = NULL;
	json_t *cs = NULL, *c;
	json_int_t created = 0;
	json_error_t jerr;
	size_t i;

	if (ret_error)
		*ret_error = NULL;
	if (json_unpack_ex(ids, &jerr, JSON_STRICT, "{s:s, s:I, s:o, s?s}", "task_arn", &arn,
			   "created_ns", &created, "containers", &cs, "credentials_id", &creds) < 0)
		return fail_with(ret_error, "ids: %s", jerr.text);
	if (!streq(arn, t->task_arn) || (uint64_t)created != t->created_ns)
		return fail_with(ret_error,
				 "ids: task ARN or creation time differ from the task's");
	if (!json_is_array(cs) || json_array_size(cs) != t->n_containers)
		return fail_with(ret_error, "ids: %zu containers, the task has %zu",
				 json_array_size(cs), t->n_containers);
	json_array_foreach(cs, i, c) {
		const char *name = NULL, *id = NULL, *carn = NULL, *slash;

		if (json_unpack_ex(c, &jerr, JSON_STRICT, "{s:s, s:s, s:s}", "name", &name,
				   "docker_id", &id, "container_arn", &carn) < 0)
			return fail_with(ret_error, "ids: containers[%zu]: %s", i, jerr.text);
		slash = strrchr(t->containers[i].arn, '/');
		if (!streq(name, t->containers[i].def->name) || !docker_id_of(t, id) ||
		    strncmp(carn, t->containers[i].arn,
			    (size_t)(slash - t->containers[i].arn + 1)) ||
		    !uuid_form(carn + (slash - t->containers[i].arn + 1)))
			return fail_with(ret_error, "ids: container '%s' does not fit the task",
					 name);
		for (size_t k = 0; k < i; k++)
			if (streq(json_string_value(
					  json_object_get(json_array_get(cs, k), "docker_id")),
				  id))
				return fail_with(ret_error, "ids: endpoint id '%s' given twice",
						 id);
	}
	if (!creds != !t->creds_id[0] || (creds && !uuid_form(creds)))
		return fail_with(ret_error, "ids: the credentials id does not fit the task role");

	/* Everything fits: take them. */
	json_array_foreach(cs, i, c) {
		char *carn = strdup(json_string_value(json_object_get(c, "container_arn")));

		if (!carn)
			return -ENOMEM;
		free(t->containers[i].arn);
		t->containers[i].arn = carn;
		strscpy(t->containers[i].docker_id,
			json_string_value(json_object_get(c, "docker_id")),
			sizeof(t->containers[i].docker_id));
	}
	if (creds)
		strscpy(t->creds_id, creds, sizeof(t->creds_id));
	return 0;
}

void tmds_task_set_network(struct tmds_task *t, json_t *network)
{
	json_decref(t->network);
	t->network = network;
}

int tmds_task_find_container(const struct tmds_task *t, const char *endpoint_id)
{
	for (size_t i = 0; i < t->n_containers; i++)
		if (t->containers[i].docker_id[0] && streq(t->containers[i].docker_id, endpoint_id))
			return (int)i;
	return -ENOENT;
}

void tmds_sample_done(struct tmds_sample *s)
{
	for (size_t i = 0; i < s->n_containers; i++) {
		free(s->containers[i].cpu.percpu_usage);
		json_decref(s->containers[i].mem.stats);
	}
	free(s->containers);
	*s = (struct tmds_sample){};
}

/* --- formats ---------------------------------------------------------------------------- */

int tmds_format_time(uint64_t ns, char *buf, size_t size)
{
	return format_rfc3339_nsec(ns, buf, size);
}

static int digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int tmds_parse_time(const char *s, int64_t *ret_sec, uint32_t *ret_nsec)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	uint32_t nsec = 0;
	const char *p = s;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't'))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, &se) < 0)
		return -EINVAL;
	if (*p == '.') {
		int n = 0;

		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++, n++)
			if (n < 9)
				nsec = nsec * 10 + (uint32_t)(*p - '0');
		for (; n < 9; n++)
			nsec *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 ||
		    om > 59)
			return -EINVAL;
	} else
		return -EINVAL;
	if (*p)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -EINVAL;
	*ret_sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + MIN(se, 59) -
		   sign * (oh * 3600 + om * 60);
	*ret_nsec = nsec;
	return 0;
}

json_t *tmds_json_number(double v)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(isfinite(v) ? v : 0);
}

/* Set key to a string if s is not NULL (omitted otherwise: Go's omitempty). */
static void set_str_opt(json_t *o, const char *key, const char *s)
{
	if (s && *s)
		json_object_set_new(o, key, json_string(s));
}

static void set_time(json_t *o, const char *key, uint64_t ns)
{
	char buf[64];

	if (tmds_format_time(ns, buf, sizeof(buf)) == 0)
		json_object_set_new(o, key, json_string(buf));
}

/* --- metadata --------------------------------------------------------------------------- */

static json_t *container_labels(const struct tmds_task *t, const struct tmds_container *c)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "com.amazonaws.ecs.cluster", t->cluster_arn,
			 "com.amazonaws.ecs.container-name", c->def->name,
			 "com.amazonaws.ecs.task-arn", t->task_arn,
			 "com.amazonaws.ecs.task-definition-family", t->def->family,
			 "com.amazonaws.ecs.task-definition-version", t->def->revision);
}

/* "sha256:..." when the image is pinned by digest; "" otherwise (nothing was pulled). */
static const char *image_id(const char *image)
{
	const char *at = strrchr(image, '@');

	return at && startswith(at + 1, "sha256:") ? at + 1 : "";
}

/*
 * The log options as Fargate reports them. For awslogs the task definition names a stream
 * prefix and the platform writes to the stream <prefix>/<container name>/<task id>: that is
 * awslogs-stream, and the prefix itself is not reported. Without a prefix there is no stream
 * (a stream named in the task definition is not Fargate's, and not passed on). Other options,
 * and other drivers' options, are reported as given.
 */
static json_t *log_options(const struct tmds_task *t, const struct tmds_container *c)
{
	const struct taskdef_container *d = c->def;
	const char *prefix;
	char *stream;
	json_t *o;

	if (!d->log_options)
		return NULL;
	o = json_deep_copy(d->log_options);
	if (!o || !streq(d->log_driver, "awslogs"))
		return o;
	prefix = json_string_value(json_object_get(o, "awslogs-stream-prefix"));
	if (prefix && *prefix && asprintf(&stream, "%s/%s/%s", prefix, d->name, t->ecs_id) >= 0) {
		json_object_set_new(o, "awslogs-stream", json_string(stream));
		free(stream);
	} else {
		json_object_del(o, "awslogs-stream");
	}
	json_object_del(o, "awslogs-stream-prefix");
	return o;
}

json_t *tmds_container_json(const struct tmds_task *t, size_t idx)
{
	const struct tmds_container *c = &t->containers[idx];
	const struct taskdef_container *d = c->def;
	json_t *o, *limits;

	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "DockerId", json_string(c->docker_id));
	json_object_set_new(o, "Name", json_string(d->name));
	json_object_set_new(o, "DockerName", json_string(d->name));
	json_object_set_new(o, "Image", json_string(d->image));
	json_object_set_new(
		o, "ImageID",
		json_string(t->launched ? c->state.image_id ?: "" : image_id(d->image)));
	if (d->n_ports) {
		json_t *ports = json_array();

		for (size_t i = 0; i < d->n_ports; i++)
			json_array_append_new(ports,
					      json_pack("{s:i, s:s, s:i}", "ContainerPort",
							(int)d->ports[i].container_port, "Protocol",
							d->ports[i].protocol, "HostPort",
							(int)d->ports[i].host_port));
		json_object_set_new(o, "Ports", ports);
	}
	json_object_set_new(o, "Labels", container_labels(t, c));
	if (t->launched) {
		json_object_set_new(o, "DesiredStatus",
				    json_string(tmds_status_to_string(c->state.desired)));
		json_object_set_new(o, "KnownStatus",
				    json_string(tmds_status_to_string(c->state.known)));
		if (c->state.has_exit_code)
			json_object_set_new(o, "ExitCode", json_integer(c->state.exit_code));
	} else {
		json_object_set_new(o, "DesiredStatus", json_string("RUNNING"));
		json_object_set_new(o, "KnownStatus", json_string("RUNNING"));
	}
	limits = json_object();
	json_object_set_new(limits, "CPU", tmds_json_number(d->has_cpu ? (double)d->cpu : 0));
	if (d->has_memory)
		json_object_set_new(limits, "Memory", json_integer(d->memory));
	json_object_set_new(o, "Limits", limits);
	if (t->launched) {
		if (c->state.created_ns)
			set_time(o, "CreatedAt", c->state.created_ns);
		if (c->state.started_ns)
			set_time(o, "StartedAt", c->state.started_ns);
		if (c->state.finished_ns)
			set_time(o, "FinishedAt", c->state.finished_ns);
	} else {
		set_time(o, "CreatedAt", t->created_ns);
		set_time(o, "StartedAt", t->created_ns);
	}
	json_object_set_new(o, "Type", json_string("NORMAL"));
	if (t->network)
		json_object_set_new(o, "Networks", json_pack("[O]", t->network));
	json_object_set_new(o, "ContainerARN", json_string(c->arn));
	if (d->log_driver) {
		json_t *lo = log_options(t, c);

		json_object_set_new(o, "LogDriver", json_string(d->log_driver));
		if (lo && json_object_size(lo))
			json_object_set_new(o, "LogOptions", lo);
		else
			json_decref(lo);
	}
	/* Fargate Linux 1.4.0 reports the snapshotter; overlayfs is the default one. */
	if (t->platform->metadata.snapshotter)
		json_object_set_new(o, "Snapshotter", json_string("overlayfs"));
	return o;
}

json_t *tmds_task_json(const struct tmds_task *t, const struct tmds_clock *clock)
{
	json_t *o, *containers;

	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "Cluster", json_string(t->cluster_arn));
	json_object_set_new(o, "TaskARN", json_string(t->task_arn));
	json_object_set_new(o, "Family", json_string(t->def->family));
	json_object_set_new(o, "Revision", json_string(t->def->revision));
	json_object_set_new(
		o, "DesiredStatus",
		json_string(t->launched ? tmds_status_to_string(t->desired) : "RUNNING"));
	json_object_set_new(o, "KnownStatus",
			    json_string(t->launched ? tmds_status_to_string(t->known) : "RUNNING"));
	if (t->def->has_cpu || t->def->has_memory) {
		json_t *limits = json_object();

		if (t->def->has_cpu)
			json_object_set_new(limits, "CPU", tmds_json_number(t->def->cpu_vcpu));
		if (t->def->has_memory)
			json_object_set_new(limits, "Memory", json_integer(t->def->memory_mib));
		json_object_set_new(o, "Limits", limits);
	}
	if (t->pull_started_ns)
		set_time(o, "PullStartedAt", t->pull_started_ns);
	if (t->pull_stopped_ns)
		set_time(o, "PullStoppedAt", t->pull_stopped_ns);
	if (t->execution_stopped_ns)
		set_time(o, "ExecutionStoppedAt", t->execution_stopped_ns);
	if (t->platform->metadata.availability_zone)
		json_object_set_new(o, "AvailabilityZone", json_string(t->availability_zone));
	containers = json_array();
	for (size_t i = 0; i < t->n_containers; i++)
		json_array_append_new(containers, tmds_container_json(t, i));
	json_object_set_new(o, "Containers", containers);
	set_str_opt(o, "LaunchType", t->launch_type);
	if (clock) {
		char ref[64];
		json_t *cd = json_object();

		/* The reference captures give the reference time to the second. */
		tmds_format_time(clock->reference_ns / 1000000000ULL * 1000000000ULL, ref,
				 sizeof(ref));
		memcpy(ref + 19, "Z", 2);
		json_object_set_new(cd, "ClockErrorBound", tmds_json_number(clock->error_bound_ms));
		json_object_set_new(cd, "ReferenceTimestamp", json_string(ref));
		json_object_set_new(
			cd, "ClockSynchronizationStatus",
			json_string(clock->synchronized ? "SYNCHRONIZED" : "NOT_SYNCHRONIZED"));
		json_object_set_new(o, "ClockDrift", cd);
	}
	if (t->has_storage && t->platform->metadata.ephemeral_storage_metrics)
		json_object_set_new(o, "EphemeralStorageMetrics",
				    json_pack("{s:I, s:I}", "Utilized",
					      (json_int_t)t->storage_utilized_mib, "Reserved",
					      (json_int_t)t->storage_reserved_mib));
	return o;
}

/* --- stats ------------------------------------------------------------------------------ */

static json_t *cpu_stats_json(const struct tmds_cpu_stats *c)
{
	json_t *usage, *o;

	usage = json_pack("{s:I}", "total_usage", (json_int_t)c->total_usage);
	if (c->percpu_usage && c->n_percpu) {
		json_t *per = json_array();

		for (unsigned int i = 0; i < c->n_percpu; i++)
			json_array_append_new(per, json_integer((json_int_t)c->percpu_usage[i]));
		json_object_set_new(usage, "percpu_usage", per);
	}
	json_object_set_new(usage, "usage_in_kernelmode",
			    json_integer((json_int_t)c->usage_in_kernelmode));
	json_object_set_new(usage, "usage_in_usermode",
			    json_integer((json_int_t)c->usage_in_usermode));
	o = json_pack("{s:o, s:I, s:i, s:{s:I, s:I, s:I}}", "cpu_usage", usage, "system_cpu_usage",
		      (json_int_t)c->system_cpu_usage, "online_cpus", (int)c->online_cpus,
		      "throttling_data", "periods", (json_int_t)c->periods, "throttled_periods",
		      (json_int_t)c->throttled_periods, "throttled_time",
		      (json_int_t)c->throttled_time);
	return o;
}

static json_t *blkio_stats_json(void)
{
	return json_pack("{s:[], s:[], s:[], s:[], s:[], s:[], s:[], s:[]}",
			 "io_service_bytes_recursive", "io_serviced_recursive",
			 "io_queue_recursive", "io_service_time_recursive",
			 "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
			 "sectors_recursive");
}

json_t *tmds_container_stats_json(const struct tmds_task *t, size_t idx,
				  const struct tmds_sample *cur, const struct tmds_sample *prev)
{
	static const struct tmds_container_sample zero = {};
	const struct tmds_container_sample *c =
		idx < cur->n_containers ? &cur->containers[idx] : &zero;
	const struct tmds_container_sample *p =
		prev && idx < prev->n_containers ? &prev->containers[idx] : &zero;
	struct tmds_cpu_stats precpu = p->cpu;
	json_t *o, *mem;

	o = json_object();
	if (!o)
		return NULL;
	set_time(o, "read", cur->read_ns);
	if (prev)
		set_time(o, "preread", prev->read_ns);
	else
		json_object_set_new(o, "preread", json_string(TMDS_ZERO_TIME));
	json_object_set_new(o, "pids_stats", json_object());
	json_object_set_new(o, "blkio_stats", blkio_stats_json());
	json_object_set_new(o, "num_procs", json_integer(0));
	json_object_set_new(o, "storage_stats", json_object());
	json_object_set_new(o, "cpu_stats", cpu_stats_json(&c->cpu));
	/* Docker's first sample has a zero precpu_stats; the host's CPU count is still known. */
	if (!prev)
		precpu.online_cpus = c->cpu.online_cpus;
	json_object_set_new(o, "precpu_stats", cpu_stats_json(&precpu));
	mem = json_pack("{s:I, s:I, s:o, s:I}", "usage", (json_int_t)c->mem.usage, "max_usage",
			(json_int_t)c->mem.max_usage, "stats",
			c->mem.stats ? json_incref(c->mem.stats) : json_object(), "limit",
			(json_int_t)c->mem.limit);
	json_object_set_new(o, "memory_stats", mem);
	json_object_set_new(o, "name", json_string(t->containers[idx].def->name));
	json_object_set_new(o, "id", json_string(t->containers[idx].docker_id));
	/* Network stats are Fargate 1.4's: every container reports the task ENI's counters. */
	if (t->platform->metadata.network_stats && cur->has_net) {
		const struct tmds_net_stats *n = &cur->net;

		json_object_set_new(
			o, "networks",
			json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
				  n->ifname[0] ? n->ifname : "eth1", "rx_bytes",
				  (json_int_t)n->rx_bytes, "rx_packets", (json_int_t)n->rx_packets,
				  "rx_errors", (json_int_t)n->rx_errors, "rx_dropped",
				  (json_int_t)n->rx_dropped, "tx_bytes", (json_int_t)n->tx_bytes,
				  "tx_packets", (json_int_t)n->tx_packets, "tx_errors",
				  (json_int_t)n->tx_errors, "tx_dropped",
				  (json_int_t)n->tx_dropped));
		if (n->has_rates && t->platform->metadata.network_rate_stats)
			json_object_set_new(o, "network_rate_stats",
					    json_pack("{s:o, s:o}", "rx_bytes_per_sec",
						      tmds_json_number(n->rx_bytes_per_sec),
						      "tx_bytes_per_sec",
						      tmds_json_number(n->tx_bytes_per_sec)));
	}
	return o;
}

json_t *tmds_task_stats_json(const struct tmds_task *t, const struct tmds_sample *cur,
			     const struct tmds_sample *prev)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < t->n_containers; i++)
		json_object_set_new(o, t->containers[i].docker_id,
				    tmds_container_stats_json(t, i, cur, prev));
	return o;
}

/* --- credentials ------------------------------------------------------------------------ */

json_t *tmds_credentials_json(const char *role_arn, const char *access_key_id,
			      const char *secret_access_key, const char *token,
			      const char *expiration)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "RoleArn", role_arn, "AccessKeyId",
			 access_key_id, "SecretAccessKey", secret_access_key, "Token", token,
			 "Expiration", expiration);
}

json_t *tmds_error_json(const char *code, const char *message)
{
	return json_pack("{s:s, s:s}", "code", code, "message", message);
}

/* --- netd ------------------------------------------------------------------------------- */

static json_t *string_array_copy(json_t *a)
{
	json_t *out, *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return NULL;
	out = json_array();
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			json_array_append(out, v);
	if (json_array_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* "ip-198-18-1-2.us-west-2.compute.internal" ("ec2.internal" in us-east-1, as in EC2). */
static void private_dns_name(const struct in_prefix *ip, const char *region, char *buf, size_t size)
{
	const uint8_t *b = ip->u.bytes;

	if (streq(region, "us-east-1"))
		snprintf(buf, size, "ip-%u-%u-%u-%u.ec2.internal", b[0], b[1], b[2], b[3]);
	else
		snprintf(buf, size, "ip-%u-%u-%u-%u.%s.compute.internal", b[0], b[1], b[2], b[3],
			 region);
}

int tmds_private_dns_name(const char *address, const char *region, char *buf, size_t size)
{
	struct in_prefix p;

	if (!address || addr_prefix_parse_any(address, &p) < 0 || p.family != AF_INET)
		return -EINVAL;
	private_dns_name(&p, region, buf, size);
	return 0;
}

int tmds_network_from_netd(json_t *netd_task, const char *region, json_t **ret, char **ret_error)
{
	json_t *ips, *ip, *dns, *v4 = NULL, *v6 = NULL, *n, *a;
	struct in_prefix first4 = {}, first6 = {};
	const char *gw4 = NULL, *gw6 = NULL, *mac;
	char buf[ADDR_PREFIX_STRLEN], dnsname[128];
	size_t i;

	if (ret_error)
		*ret_error = NULL;
	mac = json_string_value(json_object_get(netd_task, "mac"));
	ips = json_object_get(netd_task, "ips");
	if (!mac || !json_is_array(ips))
		return fail_with(ret_error, "netd's task has no 'mac' or no 'ips'");

	v4 = json_array();
	v6 = json_array();
	json_array_foreach(ips, i, ip) {
		const char *addr = json_string_value(json_object_get(ip, "address"));
		const char *gw = json_string_value(json_object_get(ip, "gateway"));
		struct in_prefix p;

		if (!addr || addr_prefix_parse(addr, &p) < 0) {
			json_decref(v4);
			json_decref(v6);
			return fail_with(ret_error,
					 "netd's task has a malformed address in ips[%zu]", i);
		}
		addr_ip_format(&p, buf, sizeof(buf));
		if (p.family == AF_INET) {
			if (json_array_size(v4) == 0) {
				first4 = p;
				gw4 = gw;
			}
			json_array_append_new(v4, json_string(buf));
		} else {
			if (json_array_size(v6) == 0) {
				first6 = p;
				gw6 = gw;
			}
			json_array_append_new(v6, json_string(buf));
		}
	}
	if (json_array_size(v4) == 0) {
		json_decref(v4);
		json_decref(v6);
		return fail_with(ret_error, "netd's task has no IPv4 address");
	}

	n = json_object();
	json_object_set_new(n, "NetworkMode", json_string("awsvpc"));
	json_object_set_new(n, "IPv4Addresses", v4);
	if (json_array_size(v6))
		json_object_set_new(n, "IPv6Addresses", v6);
	else
		json_decref(v6);
	json_object_set_new(n, "AttachmentIndex", json_integer(0));
	json_object_set_new(n, "MACAddress", json_string(mac));
	{
		struct in_prefix net = first4;

		addr_prefix_mask(&net);
		json_object_set_new(n, "IPv4SubnetCIDRBlock",
				    json_string(addr_prefix_format(&net, buf, sizeof(buf))));
	}
	if (first6.family == AF_INET6) {
		struct in_prefix net = first6;

		addr_prefix_mask(&net);
		json_object_set_new(n, "IPv6SubnetCIDRBlock",
				    json_string(addr_prefix_format(&net, buf, sizeof(buf))));
	}
	dns = json_object_get(netd_task, "dns");
	if ((a = string_array_copy(json_object_get(dns, "nameservers"))))
		json_object_set_new(n, "DomainNameServers", a);
	if ((a = string_array_copy(json_object_get(dns, "search"))))
		json_object_set_new(n, "DomainNameSearchList", a);
	private_dns_name(&first4, region, dnsname, sizeof(dnsname));
	json_object_set_new(n, "PrivateDNSName", json_string(dnsname));
	/* The wire value is the gateway with the subnet's prefix length (reference §2.6). */
	if (gw4) {
		snprintf(dnsname, sizeof(dnsname), "%s/%u", gw4, first4.len);
		json_object_set_new(n, "SubnetGatewayIpv4Address", json_string(dnsname));
	}
	if (gw6) {
		snprintf(dnsname, sizeof(dnsname), "%s/%u", gw6, first6.len);
		json_object_set_new(n, "SubnetGatewayIpv6Address", json_string(dnsname));
	}
	*ret = n;
	return 0;
}

bool tmds_md_address_valid(struct in_addr addr)
{
	uint32_t mask = ~0u << (32 - TMDS_MD_PREFIX);

	return (ntohl(addr.s_addr) & mask) == TMDS_MD_NET;
}

int tmds_md_address_from_netd(json_t *netd_task, struct in_addr *ret)
{
	json_t *md = json_object_get(netd_task, "metadata");
	char buf[INET_ADDRSTRLEN];
	const char *s, *slash;
	size_t n;

	if (!md || json_is_null(md))
		return -ENOENT;
	s = json_string_value(json_object_get(md, "address"));
	if (!s)
		return -ENOENT;
	/* netd may write it with its prefix length ("169.254.172.5/22"). */
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, ret) != 1 || !tmds_md_address_valid(*ret))
		return -EINVAL;
	return 0;
}

static int get_u64(json_t *obj, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EINVAL;
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

int tmds_net_stats_from_netd(json_t *task_stats, struct tmds_net_stats *ret, char **ret_error)
{
	struct tmds_net_stats n = {};
	json_t *dev, *rates;
	const char *ifname;
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
		{ "rx_bytes", offsetof(struct tmds_net_stats, rx_bytes) },
		{ "rx_packets", offsetof(struct tmds_net_stats, rx_packets) },
		{ "rx_errors", offsetof(struct tmds_net_stats, rx_errors) },
		{ "rx_dropped", offsetof(struct tmds_net_stats, rx_dropped) },
		{ "tx_bytes", offsetof(struct tmds_net_stats, tx_bytes) },
		{ "tx_packets", offsetof(struct tmds_net_stats, tx_packets) },
		{ "tx_errors", offsetof(struct tmds_net_stats, tx_errors) },
		{ "tx_dropped", offsetof(struct tmds_net_stats, tx_dropped) },
	};

	if (ret_error)
		*ret_error = NULL;
	dev = json_object_get(task_stats, "device");
	if (!json_is_object(dev))
		return fail_with(ret_error, "stats.get: no 'device' object");
	ifname = json_string_value(json_object_get(dev, "ifname"));
	if (!ifname || strscpy(n.ifname, ifname, sizeof(n.ifname)) <= 0)
		return fail_with(ret_error, "stats.get: 'device.ifname' missing or too long");
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (get_u64(dev, fields[i].key, (uint64_t *)((char *)&n + fields[i].off)) < 0)
			return fail_with(
				ret_error,
				"stats.get: 'device.%s' missing or not a non-negative integer",
				fields[i].key);

	rates = json_object_get(task_stats, "rates");
	if (rates && !json_is_null(rates)) {
		json_t *rx = json_object_get(rates, "rx_bytes_per_sec");
		json_t *tx = json_object_get(rates, "tx_bytes_per_sec");

		if (!json_is_number(rx) || !json_is_number(tx) || json_number_value(rx) < 0 ||
		    json_number_value(tx) < 0)
			return fail_with(
				ret_error,
				"stats.get: 'rates' needs non-negative rx_bytes_per_sec and tx_bytes_per_sec");
		n.has_rates = true;
		n.rx_bytes_per_sec = json_number_value(rx);
		n.tx_bytes_per_sec = json_number_value(tx);
	}
	*ret = n;
	return 0;
}
