// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <math.h>
#include <strings.h>

#include "taskdef.h"

static void container_done(struct taskdef_container *c)
{
	free(c->name);
	free(c->image);
	free(c->log_driver);
	json_decref(c->log_options);
	free(c->ports);
}

struct taskdef *taskdef_free(struct taskdef *d)
{
	if (!d)
		return NULL;
	for (size_t i = 0; i < d->n_containers; i++)
		container_done(&d->containers[i]);
	free(d->containers);
	free(d->family);
	free(d->revision);
	free(d->task_role_arn);
	free(d->execution_role_arn);
	free(d);
	return NULL;
}

const struct taskdef_container *taskdef_find_container(const struct taskdef *d, const char *name)
{
	for (size_t i = 0; i < d->n_containers; i++)
		if (streq(d->containers[i].name, name))
			return &d->containers[i];
	return NULL;
}

/* A number followed by an optional unit (case-insensitive), with blanks allowed between. */
static int parse_amount(const char *s, double *ret_value, const char **ret_unit)
{
	char *end;
	double v;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	*ret_value = v;
	*ret_unit = end;
	return 0;
}

static bool unit_is(const char *unit, const char *want)
{
	size_t n = strlen(unit);

	while (n > 0 && isspace((unsigned char)unit[n - 1]))
		n--;
	return n == strlen(want) && strncasecmp(unit, want, n) == 0;
}

int taskdef_parse_cpu(json_t *v, double *ret_vcpu)
{
	const char *unit = "";
	double x;

	if (json_is_integer(v))
		x = (double)json_integer_value(v);
	else if (json_is_real(v))
		x = json_real_value(v);
	else if (json_is_string(v)) {
		if (parse_amount(json_string_value(v), &x, &unit) < 0)
			return -EINVAL;
	} else
		return -EINVAL;

	if (unit_is(unit, "vcpu")) {
		/* already in vCPUs */
	} else if (*unit == '\0') {
		x /= 1024.0; /* CPU units */
	} else
		return -EINVAL;
	if (!(x > 0) || x > 192)
		return -EINVAL;
	*ret_vcpu = x;
	return 0;
}

int taskdef_parse_memory(json_t *v, int64_t *ret_mib)
{
	const char *unit = "";
	double x;

	if (json_is_integer(v))
		x = (double)json_integer_value(v);
	else if (json_is_string(v)) {
		if (parse_amount(json_string_value(v), &x, &unit) < 0)
			return -EINVAL;
	} else
		return -EINVAL;

	if (unit_is(unit, "gb") || unit_is(unit, "gib"))
		x *= 1024.0;
	else if (*unit != '\0' && !unit_is(unit, "mb") && !unit_is(unit, "mib"))
		return -EINVAL;
	if (!(x >= 1) || x > 16.0 * 1024 * 1024 || x != floor(x))
		return -EINVAL;
	*ret_mib = (int64_t)x;
	return 0;
}

static int dup_string(json_t *v, const char *what, char **ret, char **ret_error)
{
	const char *s = json_string_value(v);

	if (!s)
		return fail_with(ret_error, "%s must be a string", what);
	if (strlen(s) > TASKDEF_MAX_STRING)
		return fail_with(ret_error, "%s is longer than %d bytes", what, TASKDEF_MAX_STRING);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* An optional non-negative integer member (ECS writes them as JSON numbers). */
static int get_int(json_t *obj, const char *key, const char *what, int64_t max, bool *ret_has,
		   int64_t *ret, char **ret_error)
{
	json_t *v = json_object_get(obj, key);

	*ret_has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return fail_with(ret_error, "%s.%s must be an integer from 0 to %lld", what, key,
				 (long long)max);
	*ret_has = true;
	*ret = json_integer_value(v);
	return 0;
}

bool ecs_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static int parse_log_configuration(json_t *lc, struct taskdef_container *c, const char *what,
				   char **ret_error)
{
	json_t *driver, *options, *v;
	const char *k;
	int r;

	if (!json_is_object(lc))
		return fail_with(ret_error, "%s.logConfiguration must be an object", what);
	driver = json_object_get(lc, "logDriver");
	if (!driver)
		return fail_with(ret_error, "%s.logConfiguration.logDriver is missing", what);
	r = dup_string(driver, "logConfiguration.logDriver", &c->log_driver, ret_error);
	if (r < 0)
		return r;
	options = json_object_get(lc, "options");
	if (!options || json_is_null(options))
		return 0;
	if (!json_is_object(options))
		return fail_with(ret_error, "%s.logConfiguration.options must be an object", what);
	json_object_foreach(options, k, v)
		if (!json_is_string(v))
			return fail_with(ret_error,
					 "%s.logConfiguration.options.%s must be a string", what,
					 k);
	c->log_options = json_deep_copy(options);
	return c->log_options ? 0 : -ENOMEM;
}

static int parse_ports(json_t *pm, struct taskdef_container *c, const char *what, char **ret_error)
{
	json_t *p;
	size_t i;

	if (!json_is_array(pm))
		return fail_with(ret_error, "%s.portMappings must be an array", what);
	if (json_array_size(pm) > TASKDEF_MAX_PORTS)
		return fail_with(ret_error, "%s.portMappings has more than %d entries", what,
				 TASKDEF_MAX_PORTS);
	c->ports = calloc(json_array_size(pm) + 1, sizeof(*c->ports));
	if (!c->ports)
		return -ENOMEM;
	json_array_foreach(pm, i, p) {
		struct taskdef_port *port = &c->ports[i];
		json_t *cp = json_object_get(p, "containerPort");
		json_t *hp = json_object_get(p, "hostPort");
		const char *proto = json_string_value(json_object_get(p, "protocol"));

		if (!json_is_integer(cp) || json_integer_value(cp) < 1 ||
		    json_integer_value(cp) > 65535)
			return fail_with(ret_error,
					 "%s.portMappings[%zu].containerPort must be 1-65535", what,
					 i);
		port->container_port = (unsigned int)json_integer_value(cp);
		port->host_port = port->container_port;
		/* awsvpc: a hostPort, when given, must equal the containerPort (as in ECS). */
		if (hp && !json_is_null(hp) &&
		    (!json_is_integer(hp) || json_integer_value(hp) != json_integer_value(cp)))
			return fail_with(
				ret_error,
				"%s.portMappings[%zu].hostPort must equal containerPort in awsvpc mode",
				what, i);
		if (!proto)
			proto = "tcp";
		if (!streq(proto, "tcp") && !streq(proto, "udp"))
			return fail_with(ret_error,
					 "%s.portMappings[%zu].protocol must be tcp or udp", what,
					 i);
		strscpy(port->protocol, proto, sizeof(port->protocol));
	}
	c->n_ports = json_array_size(pm);
	return 0;
}

static int parse_container(json_t *j, size_t idx, struct taskdef_container *c, char **ret_error)
{
	char what[64];
	json_t *v;
	int r;

	snprintf(what, sizeof(what), "containerDefinitions[%zu]", idx);
	if (!json_is_object(j))
		return fail_with(ret_error, "%s must be an object", what);
	v = json_object_get(j, "name");
	if (!v)
		return fail_with(ret_error, "%s.name is missing", what);
	r = dup_string(v, "name", &c->name, ret_error);
	if (r < 0)
		return r;
	if (!ecs_name_valid(c->name))
		return fail_with(ret_error, "%s.name '%s' is not 1-255 letters, digits, '-' or '_'",
				 what, c->name);
	snprintf(what, sizeof(what), "container '%.40s'", c->name);
	v = json_object_get(j, "image");
	if (!v)
		return fail_with(ret_error, "%s: image is missing", what);
	r = dup_string(v, "image", &c->image, ret_error);
	if (r < 0)
		return r;
	if (!c->image[0])
		return fail_with(ret_error, "%s: image is empty", what);

	r = get_int(j, "cpu", what, 10 * 1024 * 192, &c->has_cpu, &c->cpu, ret_error);
	if (r >= 0)
		r = get_int(j, "memory", what, 16LL * 1024 * 1024, &c->has_memory, &c->memory,
			    ret_error);
	if (r >= 0)
		r = get_int(j, "memoryReservation", what, 16LL * 1024 * 1024,
			    &c->has_memory_reservation, &c->memory_reservation, ret_error);
	if (r < 0)
		return r;

	v = json_object_get(j, "essential");
	if (v && !json_is_boolean(v))
		return fail_with(ret_error, "%s: essential must be a boolean", what);
	c->essential = !v || json_is_true(v);

	v = json_object_get(j, "logConfiguration");
	if (v && !json_is_null(v)) {
		r = parse_log_configuration(v, c, what, ret_error);
		if (r < 0)
			return r;
	}
	v = json_object_get(j, "portMappings");
	if (v && !json_is_null(v)) {
		r = parse_ports(v, c, what, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_revision(json_t *v, char **ret, char **ret_error)
{
	char buf[32];

	if (!v || json_is_null(v)) {
		*ret = strdup("1");
		return *ret ? 0 : -ENOMEM;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 1) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		*ret = strdup(buf);
		return *ret ? 0 : -ENOMEM;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);

		if (n == 0 || n > 10 || s[0] == '0')
			goto bad;
		for (size_t i = 0; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				goto bad;
		*ret = strdup(s);
		return *ret ? 0 : -ENOMEM;
	}
bad:
	return fail_with(ret_error, "revision must be a positive integer");
}

/* "arn:aws:iam::123456789012:role/name" (any partition, optional path). */
static bool role_arn_valid(const char *s)
{
	const char *p;

	if (!startswith(s, "arn:") || !(p = strstr(s, ":iam::")) || !strstr(p, ":role/"))
		return false;
	return s[strlen(s) - 1] != '/';
}

int taskdef_parse(json_t *j, struct taskdef **ret, char **ret_error)
{
	_cleanup_taskdef_ struct taskdef *d = NULL;
	json_t *cds, *v;
	size_t i;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!json_is_object(j))
		return fail_with(ret_error, "a task definition must be a JSON object");
	/* `aws ecs describe-task-definition` output wraps it: accept that too. */
	v = json_object_get(j, "taskDefinition");
	if (json_is_object(v) && !json_object_get(j, "containerDefinitions"))
		j = v;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	v = json_object_get(j, "family");
	if (!v)
		return fail_with(ret_error, "family is missing");
	r = dup_string(v, "family", &d->family, ret_error);
	if (r < 0)
		return r;
	/* it goes into the task definition's ARN and the containers' labels */
	if (!ecs_name_valid(d->family))
		return fail_with(ret_error, "family '%s' must be 1-255 letters, digits, '-' or '_'",
				 d->family);
	r = parse_revision(json_object_get(j, "revision"), &d->revision, ret_error);
	if (r < 0)
		return r;

	v = json_object_get(j, "networkMode");
	if (v && !json_is_null(v) && !streq_ptr(json_string_value(v), "awsvpc"))
		return fail_with(ret_error,
				 "networkMode must be awsvpc (the only mode of Fargate tasks)");

	v = json_object_get(j, "taskRoleArn");
	if (v && !json_is_null(v)) {
		r = dup_string(v, "taskRoleArn", &d->task_role_arn, ret_error);
		if (r < 0)
			return r;
		if (!role_arn_valid(d->task_role_arn))
			return fail_with(ret_error, "taskRoleArn '%s' is not an IAM role ARN",
					 d->task_role_arn);
	}
	v = json_object_get(j, "executionRoleArn");
	if (v && !json_is_null(v)) {
		r = dup_string(v, "executionRoleArn", &d->execution_role_arn, ret_error);
		if (r < 0)
			return r;
	}

	v = json_object_get(j, "cpu");
	if (v && !json_is_null(v)) {
		if (taskdef_parse_cpu(v, &d->cpu_vcpu) < 0)
			return fail_with(ret_error,
					 "cpu must be CPU units (\"256\") or vCPUs (\"1 vCPU\")");
		d->has_cpu = true;
	}
	v = json_object_get(j, "memory");
	if (v && !json_is_null(v)) {
		if (taskdef_parse_memory(v, &d->memory_mib) < 0)
			return fail_with(ret_error,
					 "memory must be MiB (\"512\") or GB (\"1 GB\")");
		d->has_memory = true;
	}

	d->ephemeral_gib = 20;
	v = json_object_get(j, "ephemeralStorage");
	if (v && !json_is_null(v)) {
		json_t *size = json_object_get(v, "sizeInGiB");

		if (!json_is_integer(size) || json_integer_value(size) < 21 ||
		    json_integer_value(size) > 200)
			return fail_with(ret_error, "ephemeralStorage.sizeInGiB must be 21-200");
		d->ephemeral_gib = (unsigned int)json_integer_value(size);
	}

	cds = json_object_get(j, "containerDefinitions");
	if (!json_is_array(cds) || json_array_size(cds) == 0)
		return fail_with(ret_error, "containerDefinitions must be a non-empty array");
	if (json_array_size(cds) > TASKDEF_MAX_CONTAINERS)
		return fail_with(ret_error, "containerDefinitions has more than %d containers",
				 TASKDEF_MAX_CONTAINERS);
	d->containers = calloc(json_array_size(cds), sizeof(*d->containers));
	if (!d->containers)
		return -ENOMEM;
	json_array_foreach(cds, i, v) {
		r = parse_container(v, i, &d->containers[i], ret_error);
		d->n_containers = i + 1;
		if (r < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			if (streq(d->containers[k].name, d->containers[i].name))
				return fail_with(ret_error, "container name '%s' is used twice",
						 d->containers[i].name);
	}
	*ret = TAKE_PTR(d);
	return 0;
}
