// SPDX-License-Identifier: GPL-2.0-only
/* The shim's configuration and names (pure: shim.h). */
#include <limits.h>
#include <signal.h>

#include "ident.h"
#include "shim.h"
#include "util.h"

static const char *const pull_behavior_names[] = {
	[SHIM_PULL_DEFAULT] = "default",
	[SHIM_PULL_ALWAYS] = "always",
	[SHIM_PULL_ONCE] = "once",
	[SHIM_PULL_PREFER_CACHED] = "prefer-cached",
};

const char *shim_pull_behavior_to_string(enum shim_pull_behavior b)
{
	return (size_t)b < ARRAY_SIZE(pull_behavior_names) ? pull_behavior_names[b] : "default";
}

int shim_pull_behavior_from_string(const char *s, enum shim_pull_behavior *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(pull_behavior_names); i++)
		if (streq(s, pull_behavior_names[i])) {
			*ret = (enum shim_pull_behavior)i;
			return 0;
		}
	return -EINVAL;
}

static const char *const state_names[] = {
	[SHIM_STATE_PREPARING] = "PREPARING", [SHIM_STATE_READY] = "READY",
	[SHIM_STATE_RUNNING] = "RUNNING",     [SHIM_STATE_STOPPING] = "STOPPING",
	[SHIM_STATE_STOPPED] = "STOPPED",
};

const char *shim_state_to_string(enum shim_state s)
{
	return (size_t)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

int shim_state_from_string(const char *s, enum shim_state *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(state_names); i++)
		if (streq(s, state_names[i])) {
			*ret = (enum shim_state)i;
			return 0;
		}
	return -EINVAL;
}

static void strv_done(char **v)
{
	for (size_t i = 0; v[i]; i++) {
		free(v[i]);
		v[i] = NULL;
	}
}

void shim_config_done(struct shim_config *c)
{
	free(c->task_id);
	free(c->platform_version);
	free(c->platforms_dir);
	free(c->region);
	free(c->insights_endpoint);
	free(c->insights_group);
	free(c->secretsmanager_endpoint);
	free(c->ssm_endpoint);
	json_decref(c->task_definition);
	free(c->netns);
	free(c->platform_netns);
	strv_done(c->platform_nameservers);
	free(c->address);
	free(c->hostname);
	strv_done(c->nameservers);
	strv_done(c->search);
	free(c->image_store);
	strv_done(c->insecure_registries);
	free(c->volume_dir);
	free(c->cgroup);
	free(c->vm_kernel);
	free(c->vm_initrd);
	free(c->vm_qemu);
	json_decref(c->env);
	*c = (struct shim_config){};
}

/* An array of at most SHIM_MAX_LIST strings into a NULL-terminated vector. */
static int strv_from_json(json_t *a, const char *key, char **v, char **ret_error)
{
	json_t *e;
	size_t i;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > SHIM_MAX_LIST)
		return fail_with(ret_error, "'%s' must be an array of at most %d strings", key,
				 SHIM_MAX_LIST);
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || !*json_string_value(e))
			return fail_with(ret_error, "'%s'[%zu] must be a non-empty string", key, i);
		v[i] = strdup(json_string_value(e));
		if (!v[i])
			return -ENOMEM;
	}
	return 0;
}

static json_t *strv_to_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int dup_opt(const char *s, char **ret)
{
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/*
 * The network part (shim.h: shim_network_parse()) into c: members of j, unknown ones ignored.
 * Without its slot (need_slot false): the network ahead ("ahead"), has_ahead.
 */
static int network_parse(json_t *j, struct shim_config *c, bool need_slot, char **ret_error)
{
	json_t *v, *env, *x;
	const char *k;
	int r;

	if (need_slot) {
		v = json_object_get(j, "slot");
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 65535)
			return fail_with(ret_error, "slot must be 0-65535");
		c->slot = (unsigned int)json_integer_value(v);
	}
	for (const char *const *key = (const char *const[]){ "address", "hostname", NULL }; *key;
	     key++) {
		v = json_object_get(j, *key);
		if (v && (!json_is_string(v) || !*json_string_value(v)))
			return fail_with(ret_error, "'%s' must be a non-empty string", *key);
	}
	env = json_object_get(j, "env");
	if (env) {
		if (!json_is_object(env))
			return fail_with(ret_error, "env must be an object of objects");
		json_object_foreach(env, k, v) {
			const char *name;

			if (!json_is_object(v))
				return fail_with(ret_error, "env['%s'] must be an object", k);
			json_object_foreach(v, name, x)
				if (!json_is_string(x) || !*name || strchr(name, '='))
					return fail_with(ret_error,
							 "env['%s']['%s'] must be a string", k,
							 name);
		}
	}
	r = dup_opt(json_string_value(json_object_get(j, "address")), &c->address);
	if (r >= 0)
		r = dup_opt(json_string_value(json_object_get(j, "hostname")), &c->hostname);
	if (r >= 0)
		r = strv_from_json(json_object_get(j, "nameservers"), "nameservers", c->nameservers,
				   ret_error);
	if (r >= 0)
		r = strv_from_json(json_object_get(j, "search"), "search", c->search, ret_error);
	if (r < 0)
		return r;
	c->env = env ? json_incref(env) : json_object();
	if (need_slot)
		c->has_network = true;
	else
		c->has_ahead = true;
	return 0;
}

int shim_network_parse(json_t *j, struct shim_config *c, char **ret_error)
{
	struct shim_config n = {};
	const char *address = NULL, *hostname = NULL;
	json_t *ns = NULL, *search = NULL, *env = NULL;
	json_int_t slot = 0;
	json_error_t jerr;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (c->has_network)
		return fail_errno(ret_error, -EEXIST, "the task has its network already");
	/* the members' values are checked by network_parse() */
	if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:I, s?s, s?s, s?o, s?o, s?o}", "slot", &slot,
			   "address", &address, "hostname", &hostname, "nameservers", &ns, "search",
			   &search, "env", &env) < 0)
		return fail_with(ret_error, "%s", jerr.text);
	r = network_parse(j, &n, true, ret_error);
	if (r < 0) {
		shim_config_done(&n);
		return r;
	}
	/* the network ahead, if there was one, is the network's now */
	free(c->address);
	free(c->hostname);
	strv_done(c->nameservers);
	strv_done(c->search);
	c->slot = n.slot;
	c->address = n.address;
	c->hostname = n.hostname;
	memcpy(c->nameservers, n.nameservers, sizeof(c->nameservers));
	memcpy(c->search, n.search, sizeof(c->search));
	json_decref(c->env);
	c->env = n.env;
	c->has_network = true;
	return 0;
}

int shim_config_parse(json_t *j, struct shim_config *ret, char **ret_error)
{
	const char *task_id = NULL, *pv = NULL, *netns = NULL, *store = NULL, *volume_dir = NULL,
		   *cgroup = NULL, *pdir = NULL, *region = NULL, *sm_ep = NULL, *ssm_ep = NULL,
		   *pull_behavior = NULL;
	const char *address = NULL, *hostname = NULL, *in_ep = NULL, *in_group = NULL;
	const char *pe_netns = NULL, *vm_kernel = NULL, *vm_initrd = NULL, *vm_qemu = NULL;
	json_t *vm = NULL, *ahead = NULL;
	json_t *def = NULL, *insecure = NULL, *ns = NULL, *search = NULL, *env = NULL,
	       *insights = NULL, *pe = NULL, *pe_ns = NULL;
	json_int_t slot = 0, pull_timeout = 0, usage = 0, drain = 0, log_max = 0, prev = 0,
		   secrets_timeout = 0;
	struct shim_config c = {};
	json_error_t jerr;
	int version = 0, r;

	if (ret_error)
		*ret_error = NULL;
	/* the network's members are checked by network_parse() */
	if (json_unpack_ex(
		    j, &jerr, JSON_STRICT,
		    "{s:i, s:s, s:s, s?I, s?s, s:o, s:s, s?I, s?s, s?s, s?o, s?o, s:s, s?o, s:s,"
		    " s:s, s?o, s?I, s?I, s?I, s?I, s?s, s?s, s?s, s?I, s?o, s?s, s?o, s?o, s?o}",
		    "version", &version, "task_id", &task_id, "platform_version", &pv,
		    "platform_revision", &prev, "platforms_dir", &pdir, "task_definition", &def,
		    "netns", &netns, "slot", &slot, "address", &address, "hostname", &hostname,
		    "nameservers", &ns, "search", &search, "image_store", &store,
		    "insecure_registries", &insecure, "volume_dir", &volume_dir, "cgroup", &cgroup,
		    "env", &env, "pull_timeout_sec", &pull_timeout, "usage_interval_sec", &usage,
		    "drain_timeout_sec", &drain, "log_max_size", &log_max, "region", &region,
		    "secretsmanager_endpoint", &sm_ep, "ssm_endpoint", &ssm_ep,
		    "secrets_timeout_sec", &secrets_timeout, "insights", &insights,
		    "image_pull_behavior", &pull_behavior, "platform_eni", &pe, "vm", &vm, "ahead",
		    &ahead) < 0)
		return fail_with(ret_error, "%s", jerr.text);
	if (version != SHIM_CONFIG_VERSION)
		return fail_with(ret_error, "version %d, not %d", version, SHIM_CONFIG_VERSION);
	if (!ident_task_id_valid(task_id))
		return fail_with(ret_error, "invalid task_id");
	if (!json_is_object(def))
		return fail_with(ret_error, "task_definition must be an object");
	if (netns[0] != '/' || store[0] != '/' || volume_dir[0] != '/')
		return fail_with(ret_error, "netns, image_store and volume_dir must be absolute");
	if (!cgroup[0] || cgroup[0] == '/')
		return fail_with(ret_error, "cgroup must be a relative path");
	if (prev < 0 || prev > UINT_MAX)
		return fail_with(ret_error, "platform_revision is out of range");
	if (pdir && pdir[0] != '/')
		return fail_with(ret_error, "platforms_dir must be absolute");
	if (pull_behavior && shim_pull_behavior_from_string(pull_behavior, &c.pull_behavior) < 0)
		return fail_with(
			ret_error,
			"image_pull_behavior '%s' is not default, always, once or prefer-cached",
			pull_behavior);
	if (insights && json_unpack_ex(insights, &jerr, JSON_STRICT, "{s:s, s:s}", "endpoint",
				       &in_ep, "group", &in_group) < 0)
		return fail_with(ret_error, "insights: %s", jerr.text);
	if (pe && (json_unpack_ex(pe, &jerr, JSON_STRICT, "{s:s, s?o}", "netns", &pe_netns,
				  "nameservers", &pe_ns) < 0))
		return fail_with(ret_error, "platform_eni: %s", jerr.text);
	if (pe_netns && pe_netns[0] != '/')
		return fail_with(ret_error, "platform_eni: netns must be absolute");
	if (vm && json_unpack_ex(vm, &jerr, JSON_STRICT, "{s:s, s:s, s?s}", "kernel", &vm_kernel,
				 "initrd", &vm_initrd, "qemu", &vm_qemu) < 0)
		return fail_with(ret_error, "vm: %s", jerr.text);
	if (vm && (vm_kernel[0] != '/' || vm_initrd[0] != '/'))
		return fail_with(ret_error, "vm: kernel and initrd must be absolute");
	if (pull_timeout < 0 || usage < 0 || drain < 0 || log_max < 0 || pull_timeout > 86400 ||
	    usage > 3600 || drain > 3600 || secrets_timeout < 0 || secrets_timeout > 3600)
		return fail_with(ret_error, "a timeout or size is out of range");

	c.platform_revision = (unsigned int)prev;
	c.secrets_timeout_sec = (unsigned int)secrets_timeout;
	c.pull_timeout_sec = (unsigned int)pull_timeout;
	c.usage_interval_sec = (unsigned int)usage;
	c.drain_timeout_sec = (unsigned int)drain;
	c.log_max_size = (uint64_t)log_max;
	c.task_definition = json_incref(def);
	r = dup_opt(task_id, &c.task_id);
	if (r >= 0)
		r = dup_opt(pv, &c.platform_version);
	if (r >= 0)
		r = dup_opt(pdir, &c.platforms_dir);
	if (r >= 0)
		r = dup_opt(region, &c.region);
	if (r >= 0)
		r = dup_opt(in_ep, &c.insights_endpoint);
	if (r >= 0)
		r = dup_opt(in_group, &c.insights_group);
	if (r >= 0)
		r = dup_opt(sm_ep, &c.secretsmanager_endpoint);
	if (r >= 0)
		r = dup_opt(ssm_ep, &c.ssm_endpoint);
	if (r >= 0)
		r = dup_opt(netns, &c.netns);
	if (r >= 0)
		r = dup_opt(pe_netns, &c.platform_netns);
	if (r >= 0)
		r = strv_from_json(pe_ns, "platform_eni.nameservers", c.platform_nameservers,
				   ret_error);
	if (r >= 0)
		r = dup_opt(vm_kernel, &c.vm_kernel);
	if (r >= 0)
		r = dup_opt(vm_initrd, &c.vm_initrd);
	if (r >= 0)
		r = dup_opt(vm_qemu, &c.vm_qemu);
	if (r >= 0)
		r = dup_opt(store, &c.image_store);
	if (r >= 0)
		r = dup_opt(volume_dir, &c.volume_dir);
	if (r >= 0)
		r = dup_opt(cgroup, &c.cgroup);
	if (r >= 0)
		r = strv_from_json(insecure, "insecure_registries", c.insecure_registries,
				   ret_error);
	/* the network may come later (shim_network_parse()) */
	if (r >= 0 && json_object_get(j, "slot"))
		r = network_parse(j, &c, true, ret_error);
	else if (r >= 0 && (address || hostname || ns || search || env))
		r = fail_with(ret_error, "the network's members need its slot");
	else if (r >= 0 && ahead) {
		if (!json_is_object(ahead) || json_object_get(ahead, "slot"))
			r = fail_with(ret_error, "ahead must be an object of the network's members "
						 "but its slot");
		else
			r = network_parse(ahead, &c, false, ret_error);
	}
	if (r < 0) {
		shim_config_done(&c);
		return r;
	}
	*ret = c;
	return 0;
}

json_t *shim_config_to_json(const struct shim_config *c)
{
	json_t *j;

	j = json_pack("{s:i, s:s, s:s, s:O, s:s, s:s, s:o, s:s, s:s, s:i, s:i, s:i, s:I}",
		      "version", SHIM_CONFIG_VERSION, "task_id", c->task_id, "platform_version",
		      c->platform_version, "task_definition", c->task_definition, "netns", c->netns,
		      "image_store", c->image_store, "insecure_registries",
		      strv_to_json(c->insecure_registries), "volume_dir", c->volume_dir, "cgroup",
		      c->cgroup, "pull_timeout_sec", (int)c->pull_timeout_sec, "usage_interval_sec",
		      (int)c->usage_interval_sec, "drain_timeout_sec", (int)c->drain_timeout_sec,
		      "log_max_size", (json_int_t)c->log_max_size);
	if (j && c->platform_revision)
		json_object_set_new(j, "platform_revision", json_integer(c->platform_revision));
	if (j && c->platforms_dir)
		json_object_set_new(j, "platforms_dir", json_string(c->platforms_dir));
	if (j && c->region)
		json_object_set_new(j, "region", json_string(c->region));
	if (j && c->pull_behavior != SHIM_PULL_DEFAULT)
		json_object_set_new(j, "image_pull_behavior",
				    json_string(shim_pull_behavior_to_string(c->pull_behavior)));
	if (j && c->insights_endpoint)
		json_object_set_new(j, "insights",
				    json_pack("{s:s, s:s}", "endpoint", c->insights_endpoint,
					      "group", c->insights_group));
	if (j && c->secretsmanager_endpoint)
		json_object_set_new(j, "secretsmanager_endpoint",
				    json_string(c->secretsmanager_endpoint));
	if (j && c->ssm_endpoint)
		json_object_set_new(j, "ssm_endpoint", json_string(c->ssm_endpoint));
	if (j && c->platform_netns)
		json_object_set_new(j, "platform_eni",
				    json_pack("{s:s, s:o}", "netns", c->platform_netns,
					      "nameservers",
					      strv_to_json(c->platform_nameservers)));
	if (j && c->vm_kernel) {
		json_t *vm =
			json_pack("{s:s, s:s}", "kernel", c->vm_kernel, "initrd", c->vm_initrd);

		if (vm && c->vm_qemu)
			json_object_set_new(vm, "qemu", json_string(c->vm_qemu));
		json_object_set_new(j, "vm", vm);
	}
	if (j && c->secrets_timeout_sec)
		json_object_set_new(j, "secrets_timeout_sec", json_integer(c->secrets_timeout_sec));
	if (!j || (!c->has_network && !c->has_ahead))
		return j;
	if (!c->has_network) {
		json_t *a = json_pack("{s:o, s:o, s:O}", "nameservers",
				      strv_to_json(c->nameservers), "search",
				      strv_to_json(c->search), "env", c->env ?: json_object());

		if (a && c->address)
			json_object_set_new(a, "address", json_string(c->address));
		if (a && c->hostname)
			json_object_set_new(a, "hostname", json_string(c->hostname));
		json_object_set_new(j, "ahead", a);
		return j;
	}
	json_object_set_new(j, "slot", json_integer(c->slot));
	json_object_set_new(j, "nameservers", strv_to_json(c->nameservers));
	json_object_set_new(j, "search", strv_to_json(c->search));
	json_object_set_new(j, "env", json_incref(c->env ?: json_object()));
	if (c->address)
		json_object_set_new(j, "address", json_string(c->address));
	if (c->hostname)
		json_object_set_new(j, "hostname", json_string(c->hostname));
	return j;
}

int shim_signal_parse(const char *s)
{
	static const struct {
		const char *name;
		int signo;
	} names[] = {
		{ "HUP", SIGHUP },     { "INT", SIGINT },   { "QUIT", SIGQUIT },
		{ "KILL", SIGKILL },   { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
		{ "TERM", SIGTERM },   { "ALRM", SIGALRM }, { "PWR", SIGPWR },
		{ "WINCH", SIGWINCH },
	};
	char *end;
	long n;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		n = strtol(s, &end, 10);
		return errno || *end || n < 1 || n > SIGRTMAX ? -EINVAL : (int)n;
	}
	if (startswith(s, "SIG"))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(s, names[i].name))
			return names[i].signo;
	if (startswith(s, "RTMIN+")) {
		errno = 0;
		n = strtol(s + 6, &end, 10);
		if (!errno && !*end && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
			return SIGRTMIN + (int)n;
	}
	return -EINVAL;
}
