// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <linux/capability.h>
#include <math.h>
#include <strings.h>

#include "taskdef.h"

static char **strv_free(char **v)
{
	if (!v)
		return NULL;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
	return NULL;
}

static void container_done(struct taskdef_container *c)
{
	free(c->name);
	free(c->image);
	free(c->log_driver);
	json_decref(c->log_options);
	free(c->ports);
	strv_free(c->entry_point);
	strv_free(c->command);
	for (size_t i = 0; i < c->n_env; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
	}
	free(c->env);
	free(c->working_directory);
	free(c->user);
	free(c->depends_on);
	for (size_t i = 0; i < c->n_mounts; i++)
		free(c->mounts[i].container_path);
	free(c->mounts);
	free(c->unsupported);
}

struct taskdef *taskdef_free(struct taskdef *d)
{
	if (!d)
		return NULL;
	for (size_t i = 0; i < d->n_containers; i++)
		container_done(&d->containers[i]);
	free(d->containers);
	for (size_t i = 0; i < d->n_volumes; i++)
		free(d->volumes[i].name);
	free(d->volumes);
	free(d->unsupported);
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
	if (strlen(s) != json_string_length(v))
		return fail_with(ret_error, "%s contains a NUL character", what);
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

/* ECS's KernelCapabilities names (the API's enum but "ALL"), without the CAP_ prefix. */
static const struct {
	const char *name;
	unsigned int cap;
} cap_names[] = {
	{ "AUDIT_CONTROL", CAP_AUDIT_CONTROL },
	{ "AUDIT_WRITE", CAP_AUDIT_WRITE },
	{ "BLOCK_SUSPEND", CAP_BLOCK_SUSPEND },
	{ "CHOWN", CAP_CHOWN },
	{ "DAC_OVERRIDE", CAP_DAC_OVERRIDE },
	{ "DAC_READ_SEARCH", CAP_DAC_READ_SEARCH },
	{ "FOWNER", CAP_FOWNER },
	{ "FSETID", CAP_FSETID },
	{ "IPC_LOCK", CAP_IPC_LOCK },
	{ "IPC_OWNER", CAP_IPC_OWNER },
	{ "KILL", CAP_KILL },
	{ "LEASE", CAP_LEASE },
	{ "LINUX_IMMUTABLE", CAP_LINUX_IMMUTABLE },
	{ "MAC_ADMIN", CAP_MAC_ADMIN },
	{ "MAC_OVERRIDE", CAP_MAC_OVERRIDE },
	{ "MKNOD", CAP_MKNOD },
	{ "NET_ADMIN", CAP_NET_ADMIN },
	{ "NET_BIND_SERVICE", CAP_NET_BIND_SERVICE },
	{ "NET_BROADCAST", CAP_NET_BROADCAST },
	{ "NET_RAW", CAP_NET_RAW },
	{ "SETFCAP", CAP_SETFCAP },
	{ "SETGID", CAP_SETGID },
	{ "SETPCAP", CAP_SETPCAP },
	{ "SETUID", CAP_SETUID },
	{ "SYS_ADMIN", CAP_SYS_ADMIN },
	{ "SYS_BOOT", CAP_SYS_BOOT },
	{ "SYS_CHROOT", CAP_SYS_CHROOT },
	{ "SYS_MODULE", CAP_SYS_MODULE },
	{ "SYS_NICE", CAP_SYS_NICE },
	{ "SYS_PACCT", CAP_SYS_PACCT },
	{ "SYS_PTRACE", CAP_SYS_PTRACE },
	{ "SYS_RAWIO", CAP_SYS_RAWIO },
	{ "SYS_RESOURCE", CAP_SYS_RESOURCE },
	{ "SYS_TIME", CAP_SYS_TIME },
	{ "SYS_TTY_CONFIG", CAP_SYS_TTY_CONFIG },
	{ "SYSLOG", CAP_SYSLOG },
	{ "WAKE_ALARM", CAP_WAKE_ALARM },
};

int taskdef_cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (streq(cap_names[i].name, name))
			return (int)cap_names[i].cap;
	return -EINVAL;
}

const char *taskdef_cap_name(unsigned int cap)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (cap_names[i].cap == cap)
			return cap_names[i].name;
	return NULL;
}

static const char *const condition_names[] = {
	[TASKDEF_CONDITION_START] = "START",
	[TASKDEF_CONDITION_COMPLETE] = "COMPLETE",
	[TASKDEF_CONDITION_SUCCESS] = "SUCCESS",
	[TASKDEF_CONDITION_HEALTHY] = "HEALTHY",
};

const char *taskdef_condition_name(enum taskdef_condition c)
{
	return (size_t)c < ARRAY_SIZE(condition_names) ? condition_names[c] : NULL;
}

static bool present(json_t *v)
{
	return v && !json_is_null(v);
}

/* The key asks for something: present and not null, false, 0, "", [] or {}. */
static bool key_set(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	default:
		return true;
	}
}

/* Remember the first key a launch must refuse (taskvm cannot honour it yet). */
static int note_unsupported(char **slot, const char *what, const char *key)
{
	if (*slot)
		return 0;
	if (asprintf(slot, "%s: %s", what, key) < 0) {
		*slot = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Container keys Fargate refuses on every platform version (fargate-platform-facts §8). */
static const char *const fargate_refused[] = {
	"privileged",		"links",
	"extraHosts",		"dnsServers",
	"dnsSearchDomains",	"dockerSecurityOptions",
	"systemControls",	"hostname",
	"resourceRequirements",
};
static const char *const fargate_refused_linux[] = {
	"devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness",
};
/* Container keys Fargate accepts and taskvm cannot launch yet. */
static const char *const launch_unsupported[] = {
	"environmentFiles",	 "volumesFrom",	   "healthCheck", "repositoryCredentials",
	"firelensConfiguration", "pseudoTerminal", "interactive", "restartPolicy",
};

/* A NULL-terminated array of strings (entryPoint, command). */
static int parse_strv(json_t *v, const char *what, const char *key, char ***ret, char **ret_error)
{
	char **strv;
	json_t *e;
	size_t i;
	int r;

	if (!json_is_array(v))
		return fail_with(ret_error, "%s: %s must be an array of strings", what, key);
	if (json_array_size(v) > TASKDEF_MAX_ARGS)
		return fail_with(ret_error, "%s: %s has more than %d entries", what, key,
				 TASKDEF_MAX_ARGS);
	strv = calloc(json_array_size(v) + 1, sizeof(*strv));
	if (!strv)
		return -ENOMEM;
	*ret = strv;
	json_array_foreach(v, i, e) {
		r = dup_string(e, key, &strv[i], ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_env(json_t *v, struct taskdef_container *c, const char *what, char **ret_error)
{
	json_t *e;
	size_t i;
	int r;

	if (!json_is_array(v))
		return fail_with(ret_error, "%s: environment must be an array", what);
	if (json_array_size(v) > TASKDEF_MAX_ENV)
		return fail_with(ret_error, "%s: environment has more than %d entries", what,
				 TASKDEF_MAX_ENV);
	c->env = calloc(json_array_size(v) + 1, sizeof(*c->env));
	if (!c->env)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		struct taskdef_env *env = &c->env[i];
		json_t *value = json_object_get(e, "value");

		c->n_env = i + 1;
		if (!json_is_object(e) || !json_object_get(e, "name"))
			return fail_with(ret_error, "%s: environment[%zu] needs a name", what, i);
		r = dup_string(json_object_get(e, "name"), "environment name", &env->name,
			       ret_error);
		if (r < 0)
			return r;
		if (!env->name[0] || strchr(env->name, '='))
			return fail_with(
				ret_error,
				"%s: environment name '%s' must be non-empty and without '='", what,
				env->name);
		if (value && !json_is_null(value))
			r = dup_string(value, "environment value", &env->value, ret_error);
		else
			r = (env->value = strdup("")) ? 0 : -ENOMEM;
		if (r < 0)
			return r;
	}
	return 0;
}

/* Docker's user forms: name, uid, name:group, uid:gid (and the mixed ones). */
static bool user_valid(const char *u)
{
	const char *colon = strchr(u, ':');

	if (!u[0] || u[0] == ':' || (colon && (!colon[1] || strchr(colon + 1, ':'))))
		return false;
	for (const char *p = u; *p; p++)
		if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return false;
	return true;
}

/* An absolute path without "." or ".." components. */
static bool abs_path_valid(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *s = p; *s;) {
		size_t n;

		while (*s == '/')
			s++;
		n = strcspn(s, "/");
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
	}
	return true;
}

static int parse_cap_list(json_t *v, const char *what, const char *key, uint64_t *ret_mask,
			  bool *ret_all, char **ret_error)
{
	json_t *e;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail_with(ret_error, "%s: linuxParameters.capabilities.%s must be an array",
				 what, key);
	json_array_foreach(v, i, e) {
		const char *name = json_string_value(e);
		int cap;

		if (!name)
			return fail_with(
				ret_error,
				"%s: linuxParameters.capabilities.%s[%zu] must be a string", what,
				key, i);
		if (streq(name, "ALL")) {
			*ret_all = true;
			continue;
		}
		cap = taskdef_cap_from_name(name);
		if (cap < 0 && startswith(name, "CAP_") && taskdef_cap_from_name(name + 4) >= 0)
			return fail_with(
				ret_error,
				"%s: capability '%.64s' is named without the CAP_ prefix: '%.64s'",
				what, name, name + 4);
		if (cap < 0)
			return fail_with(ret_error, "%s: unknown capability '%.64s' in %s", what,
					 name, key);
		*ret_mask |= 1ULL << cap;
	}
	return 0;
}

static int parse_linux_parameters(json_t *lp, struct taskdef_container *c, const char *what,
				  char **ret_error)
{
	json_t *caps;
	int r;

	if (!json_is_object(lp))
		return fail_with(ret_error, "%s: linuxParameters must be an object", what);
	for (size_t i = 0; i < ARRAY_SIZE(fargate_refused_linux); i++)
		if (key_set(lp, fargate_refused_linux[i]))
			return fail_with(ret_error,
					 "%s: linuxParameters.%s is not supported on Fargate", what,
					 fargate_refused_linux[i]);
	if (key_set(lp, "initProcessEnabled")) {
		r = note_unsupported(&c->unsupported, what, "linuxParameters.initProcessEnabled");
		if (r < 0)
			return r;
	}
	caps = json_object_get(lp, "capabilities");
	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return fail_with(ret_error, "%s: linuxParameters.capabilities must be an object",
				 what);
	r = parse_cap_list(json_object_get(caps, "add"), what, "add", &c->cap_add, &c->cap_add_all,
			   ret_error);
	if (r < 0)
		return r;
	return parse_cap_list(json_object_get(caps, "drop"), what, "drop", &c->cap_drop,
			      &c->cap_drop_all, ret_error);
}

static int get_ulimit(json_t *u, const char *key, const char *what, uint64_t *ret, char **ret_error)
{
	json_t *v = json_object_get(u, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TASKDEF_NOFILE_MAX)
		return fail_with(ret_error, "%s: ulimits nofile %s must be an integer from 0 to %d",
				 what, key, TASKDEF_NOFILE_MAX);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* Fargate sets only nofile (fargate-platform-facts §8). */
static int parse_ulimits(json_t *v, struct taskdef_container *c, const char *what, char **ret_error)
{
	json_t *u;
	size_t i;
	int r;

	if (!json_is_array(v))
		return fail_with(ret_error, "%s: ulimits must be an array", what);
	json_array_foreach(v, i, u) {
		const char *name = json_string_value(json_object_get(u, "name"));

		if (!name)
			return fail_with(ret_error, "%s: ulimits[%zu] needs a name", what, i);
		if (!streq(name, "nofile"))
			return fail_with(
				ret_error,
				"%s: ulimit '%.32s' is not supported on Fargate (only nofile)",
				what, name);
		if (c->has_nofile)
			return fail_with(ret_error, "%s: ulimit nofile is given twice", what);
		r = get_ulimit(u, "softLimit", what, &c->nofile_soft, ret_error);
		if (r >= 0)
			r = get_ulimit(u, "hardLimit", what, &c->nofile_hard, ret_error);
		if (r < 0)
			return r;
		if (c->nofile_soft > c->nofile_hard)
			return fail_with(ret_error,
					 "%s: ulimit nofile softLimit is more than its hardLimit",
					 what);
		c->has_nofile = true;
	}
	return 0;
}

static int get_bool(json_t *obj, const char *key, const char *what, bool *ret, char **ret_error)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail_with(ret_error, "%s: %s must be a boolean", what, key);
	*ret = json_is_true(v);
	return 0;
}

/* What launching a container needs, but dependsOn and mountPoints (they name other objects). */
static int parse_launch(json_t *j, struct taskdef_container *c, const char *what, char **ret_error)
{
	json_t *v;
	int64_t x;
	bool has;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(fargate_refused); i++)
		if (key_set(j, fargate_refused[i]))
			return fail_with(ret_error, "%s: %s is not supported on Fargate", what,
					 fargate_refused[i]);
	for (size_t i = 0; i < ARRAY_SIZE(launch_unsupported); i++)
		if (key_set(j, launch_unsupported[i])) {
			r = note_unsupported(&c->unsupported, what, launch_unsupported[i]);
			if (r < 0)
				return r;
		}
	c->has_health_check = key_set(j, "healthCheck");
	v = json_object_get(j, "logConfiguration");
	if (json_is_object(v) && key_set(v, "secretOptions")) {
		r = note_unsupported(&c->unsupported, what, "logConfiguration.secretOptions");
		if (r < 0)
			return r;
	}

	v = json_object_get(j, "entryPoint");
	r = present(v) ? parse_strv(v, what, "entryPoint", &c->entry_point, ret_error) : 0;
	if (r < 0)
		return r;
	v = json_object_get(j, "command");
	r = present(v) ? parse_strv(v, what, "command", &c->command, ret_error) : 0;
	if (r < 0)
		return r;
	v = json_object_get(j, "environment");
	r = present(v) ? parse_env(v, c, what, ret_error) : 0;
	if (r < 0)
		return r;

	v = json_object_get(j, "workingDirectory");
	if (v && !json_is_null(v)) {
		r = dup_string(v, "workingDirectory", &c->working_directory, ret_error);
		if (r < 0)
			return r;
		if (!abs_path_valid(c->working_directory))
			return fail_with(
				ret_error,
				"%s: workingDirectory '%s' must be an absolute path without '.' or '..'",
				what, c->working_directory);
	}
	v = json_object_get(j, "user");
	if (v && !json_is_null(v)) {
		r = dup_string(v, "user", &c->user, ret_error);
		if (r < 0)
			return r;
		if (!user_valid(c->user))
			return fail_with(
				ret_error,
				"%s: user '%s' must be a name or uid, optionally ':' and a group or gid",
				what, c->user);
	}

	c->stop_timeout = TASKDEF_STOP_TIMEOUT_DEFAULT;
	r = get_int(j, "stopTimeout", what, TASKDEF_STOP_TIMEOUT_MAX, &has, &x, ret_error);
	if (r < 0)
		return r;
	if (has)
		c->stop_timeout = (unsigned int)x;
	r = get_int(j, "startTimeout", what, 120, &has, &x, ret_error);
	if (r < 0)
		return r;
	if (has && x < 2)
		return fail_with(ret_error, "%s: startTimeout must be 2-120 seconds on Fargate",
				 what);
	if (has)
		c->start_timeout = (unsigned int)x;

	r = get_bool(j, "readonlyRootFilesystem", what, &c->readonly_rootfs, ret_error);
	if (r < 0)
		return r;
	v = json_object_get(j, "linuxParameters");
	r = present(v) ? parse_linux_parameters(v, c, what, ret_error) : 0;
	if (r < 0)
		return r;
	v = json_object_get(j, "ulimits");
	r = present(v) ? parse_ulimits(v, c, what, ret_error) : 0;
	if (r < 0)
		return r;

	if (c->has_memory && c->memory < 6)
		return fail_with(ret_error, "%s: memory must be at least 6 MiB", what);
	if (c->has_memory && c->has_memory_reservation && c->memory_reservation > c->memory)
		return fail_with(ret_error, "%s: memoryReservation must not be more than memory",
				 what);
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
	return parse_launch(j, c, what, ret_error);
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

static int parse_volumes(json_t *vols, struct taskdef *d, char **ret_error)
{
	json_t *v;
	size_t i;
	int r;

	if (!json_is_array(vols))
		return fail_with(ret_error, "volumes must be an array");
	if (json_array_size(vols) > TASKDEF_MAX_VOLUMES)
		return fail_with(ret_error, "volumes has more than %d entries",
				 TASKDEF_MAX_VOLUMES);
	d->volumes = calloc(json_array_size(vols) + 1, sizeof(*d->volumes));
	if (!d->volumes)
		return -ENOMEM;
	json_array_foreach(vols, i, v) {
		struct taskdef_volume *vol = &d->volumes[i];
		char what[300];

		d->n_volumes = i + 1;
		if (!json_is_object(v) || !json_object_get(v, "name"))
			return fail_with(ret_error, "volumes[%zu] needs a name", i);
		r = dup_string(json_object_get(v, "name"), "volume name", &vol->name, ret_error);
		if (r < 0)
			return r;
		if (!ecs_name_valid(vol->name))
			return fail_with(
				ret_error,
				"volume name '%s' is not 1-255 letters, digits, '-' or '_'",
				vol->name);
		for (size_t k = 0; k < i; k++)
			if (streq(d->volumes[k].name, vol->name))
				return fail_with(ret_error, "volume name '%s' is used twice",
						 vol->name);
		if (key_set(json_object_get(v, "host"), "sourcePath"))
			return fail_with(ret_error,
					 "volume '%s': host.sourcePath is not supported on Fargate",
					 vol->name);
		if (key_set(v, "dockerVolumeConfiguration") ||
		    key_set(v, "fsxWindowsFileServerVolumeConfiguration"))
			return fail_with(
				ret_error,
				"volume '%s': only bind and EFS volumes are supported on Fargate",
				vol->name);
		snprintf(what, sizeof(what), "volume '%s'", vol->name);
		r = 0;
		if (key_set(v, "efsVolumeConfiguration"))
			r = note_unsupported(&d->unsupported, what, "efsVolumeConfiguration");
		else if (key_set(v, "configuredAtLaunch"))
			r = note_unsupported(&d->unsupported, what, "configuredAtLaunch");
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_mounts(json_t *mps, struct taskdef *d, struct taskdef_container *c,
			char **ret_error)
{
	json_t *m;
	size_t i;
	int r;

	if (!json_is_array(mps))
		return fail_with(ret_error, "container '%s': mountPoints must be an array",
				 c->name);
	if (json_array_size(mps) > TASKDEF_MAX_MOUNTS)
		return fail_with(ret_error, "container '%s': mountPoints has more than %d entries",
				 c->name, TASKDEF_MAX_MOUNTS);
	c->mounts = calloc(json_array_size(mps) + 1, sizeof(*c->mounts));
	if (!c->mounts)
		return -ENOMEM;
	json_array_foreach(mps, i, m) {
		struct taskdef_mount *mp = &c->mounts[i];
		const char *src = json_string_value(json_object_get(m, "sourceVolume"));
		json_t *ro = json_object_get(m, "readOnly");
		size_t k;

		c->n_mounts = i + 1;
		if (!src)
			return fail_with(ret_error,
					 "container '%s': mountPoints[%zu].sourceVolume is missing",
					 c->name, i);
		for (k = 0; k < d->n_volumes; k++)
			if (streq(d->volumes[k].name, src))
				break;
		if (k == d->n_volumes)
			return fail_with(
				ret_error,
				"container '%s': mountPoints[%zu].sourceVolume '%.255s' is not a volume of the task",
				c->name, i, src);
		mp->volume = k;
		if (!json_object_get(m, "containerPath"))
			return fail_with(
				ret_error,
				"container '%s': mountPoints[%zu].containerPath is missing",
				c->name, i);
		r = dup_string(json_object_get(m, "containerPath"), "containerPath",
			       &mp->container_path, ret_error);
		if (r < 0)
			return r;
		if (!abs_path_valid(mp->container_path) || streq(mp->container_path, "/"))
			return fail_with(
				ret_error,
				"container '%s': containerPath '%s' must be an absolute path other than / without '.' or '..'",
				c->name, mp->container_path);
		for (k = 0; k < i; k++)
			if (streq(c->mounts[k].container_path, mp->container_path))
				return fail_with(
					ret_error,
					"container '%s': containerPath '%s' is mounted twice",
					c->name, mp->container_path);
		if (ro && !json_is_null(ro) && !json_is_boolean(ro))
			return fail_with(
				ret_error,
				"container '%s': mountPoints[%zu].readOnly must be a boolean",
				c->name, i);
		mp->read_only = json_is_true(ro);
	}
	return 0;
}

static int parse_condition(const char *s, enum taskdef_condition *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(condition_names); i++)
		if (streq(condition_names[i], s)) {
			*ret = (enum taskdef_condition)i;
			return 0;
		}
	return -EINVAL;
}

static int parse_depends_on(json_t *deps, struct taskdef *d, size_t idx, char **ret_error)
{
	struct taskdef_container *c = &d->containers[idx];
	json_t *e;
	size_t i;

	if (!json_is_array(deps))
		return fail_with(ret_error, "container '%s': dependsOn must be an array", c->name);
	if (json_array_size(deps) > TASKDEF_MAX_CONTAINERS)
		return fail_with(ret_error, "container '%s': dependsOn has more than %d entries",
				 c->name, TASKDEF_MAX_CONTAINERS);
	c->depends_on = calloc(json_array_size(deps) + 1, sizeof(*c->depends_on));
	if (!c->depends_on)
		return -ENOMEM;
	json_array_foreach(deps, i, e) {
		struct taskdef_dependency *dep = &c->depends_on[i];
		const char *name = json_string_value(json_object_get(e, "containerName"));
		const char *cond = json_string_value(json_object_get(e, "condition"));
		const struct taskdef_container *t;

		if (!name || !cond)
			return fail_with(
				ret_error,
				"container '%s': dependsOn[%zu] needs containerName and condition",
				c->name, i);
		t = taskdef_find_container(d, name);
		if (!t)
			return fail_with(
				ret_error,
				"container '%s': dependsOn names '%.255s', which is not a container of the task",
				c->name, name);
		if (t == c)
			return fail_with(ret_error, "container '%s' depends on itself", c->name);
		dep->container = (size_t)(t - d->containers);
		for (size_t k = 0; k < i; k++)
			if (c->depends_on[k].container == dep->container)
				return fail_with(ret_error,
						 "container '%s': dependsOn names '%s' twice",
						 c->name, name);
		if (parse_condition(cond, &dep->condition) < 0)
			return fail_with(
				ret_error,
				"container '%s': dependsOn condition '%.32s' is not START, COMPLETE, SUCCESS or HEALTHY",
				c->name, cond);
		/* ECS: an essential container never completes while the task runs */
		if ((dep->condition == TASKDEF_CONDITION_COMPLETE ||
		     dep->condition == TASKDEF_CONDITION_SUCCESS) &&
		    t->essential)
			return fail_with(
				ret_error,
				"container '%s': condition %s cannot be set on '%s', an essential container",
				c->name, cond, t->name);
		if (dep->condition == TASKDEF_CONDITION_HEALTHY && !t->has_health_check)
			return fail_with(
				ret_error,
				"container '%s': condition HEALTHY needs a healthCheck on '%s'",
				c->name, t->name);
		c->n_depends_on = i + 1;
	}
	return 0;
}

/* Kahn's algorithm, taking the first ready container in definition order. Returns how many
 * containers could be placed (fewer than n_containers when dependsOn has a cycle). */
static size_t start_order(const struct taskdef *d, size_t *order)
{
	bool placed[TASKDEF_MAX_CONTAINERS] = {};
	size_t n = 0;

	while (n < d->n_containers) {
		size_t i;

		for (i = 0; i < d->n_containers; i++) {
			const struct taskdef_container *c = &d->containers[i];
			bool ready = !placed[i];

			for (size_t k = 0; ready && k < c->n_depends_on; k++)
				ready = placed[c->depends_on[k].container];
			if (ready)
				break;
		}
		if (i == d->n_containers)
			break;
		placed[i] = true;
		order[n++] = i;
	}
	return n;
}

void taskdef_start_order(const struct taskdef *d, size_t *ret_order)
{
	start_order(d, ret_order);
}

/* Task keys Fargate refuses, and those taskvm cannot launch yet. */
static int parse_task_launch(json_t *j, struct taskdef *d, char **ret_error)
{
	const char *pid_mode;
	json_t *v;
	int r = 0;

	if (key_set(j, "ipcMode"))
		return fail_with(ret_error, "ipcMode is not supported on Fargate");
	if (key_set(j, "inferenceAccelerators"))
		return fail_with(ret_error, "inferenceAccelerators is not supported on Fargate");
	v = json_object_get(j, "pidMode");
	if (v && !json_is_null(v)) {
		pid_mode = json_string_value(v);
		if (!streq_ptr(pid_mode, "task"))
			return fail_with(ret_error, "pidMode must be task on Fargate");
		r = note_unsupported(&d->unsupported, "task", "pidMode");
	}
	if (r >= 0 && key_set(j, "proxyConfiguration"))
		r = note_unsupported(&d->unsupported, "task", "proxyConfiguration");
	v = json_object_get(json_object_get(j, "runtimePlatform"), "cpuArchitecture");
	if (r >= 0 && v && !streq_ptr(json_string_value(v), "X86_64"))
		r = note_unsupported(&d->unsupported, "task", "runtimePlatform.cpuArchitecture");
	v = json_object_get(json_object_get(j, "runtimePlatform"), "operatingSystemFamily");
	if (r >= 0 && v && !streq_ptr(json_string_value(v), "LINUX"))
		r = note_unsupported(&d->unsupported, "task",
				     "runtimePlatform.operatingSystemFamily");
	return r;
}

/* After every container is parsed: what names other containers or volumes. */
static int parse_references(json_t *cds, struct taskdef *d, char **ret_error)
{
	size_t order[TASKDEF_MAX_CONTAINERS], n;
	bool essential = false;
	json_t *v;
	size_t i;
	int r;

	json_array_foreach(cds, i, v) {
		json_t *mps = json_object_get(v, "mountPoints");
		json_t *deps = json_object_get(v, "dependsOn");

		r = present(mps) ? parse_mounts(mps, d, &d->containers[i], ret_error) : 0;
		if (r < 0)
			return r;
		r = present(deps) ? parse_depends_on(deps, d, i, ret_error) : 0;
		if (r < 0)
			return r;
		essential |= d->containers[i].essential;
	}
	if (!essential)
		return fail_with(ret_error, "at least one container must be essential");
	n = start_order(d, order);
	if (n < d->n_containers) {
		bool placed[TASKDEF_MAX_CONTAINERS] = {};

		for (i = 0; i < n; i++)
			placed[order[i]] = true;
		for (i = 0; placed[i]; i++)
			;
		return fail_with(ret_error, "dependsOn has a cycle through container '%s'",
				 d->containers[i].name);
	}
	return 0;
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
		d->has_ephemeral = true;
	}
	r = parse_task_launch(j, d, ret_error);
	if (r < 0)
		return r;
	v = json_object_get(j, "volumes");
	if (v && !json_is_null(v)) {
		r = parse_volumes(v, d, ret_error);
		if (r < 0)
			return r;
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
	r = parse_references(cds, d, ret_error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}

uint64_t taskdef_cpu_quota_us(const struct taskdef *d)
{
	return d->has_cpu ? (uint64_t)lround(d->cpu_vcpu * TASKDEF_CPU_PERIOD_US) : 0;
}
