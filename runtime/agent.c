// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskvm agent. The main thread runs one epoll loop: the control socket, the stats timer, the
 * credentials directory watch and signals. It owns every task and renders each task's responses
 * ahead (registry.h); the HTTP threads of libmicrohttpd (http.h) only look them up. So an HTTP
 * request never waits for netd, a cgroup file or a credentials file.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>

#include "agent.h"
#include "cgroup.h"
#include "creds.h"
#include "ctl-server.h"
#include "event.h"
#include "http.h"
#include "ident.h"
#include "log.h"
#include "netd-source.h"
#include "registry.h"
#include "taskdef.h"
#include "tmds.h"

#define AGENT_MAX_TASKS	      4096
#define AGENT_NETD_TIMEOUT_MS 3000

struct agent_task {
	struct agent_task *next;
	struct tmds_task *t;
	struct reg_task *rt;
	char *cgroup;		 /* the task's cgroup, or NULL */
	const char *addr_source; /* "netd", "register" or NULL */
	struct in_addr reg_addr; /* the address given at registration */
	bool has_reg_addr;
	struct tmds_sample cur, prev;
	bool has_cur, has_prev;
	char *net_note;	 /* why the task has no network stats, or NULL */
	char *netd_note; /* what netd said about the task at the last refresh, or NULL */
	uint64_t registered_ns;
};

struct agent_opts {
	const char *socket;
	const char *netd_socket;
	const char *credentials_dir;
	const char *group;
	const char *mountinfo;
	unsigned int stats_interval_sec;
	struct http_opts http;
};

struct agent {
	struct agent_opts opts;
	struct event_loop *loop;
	struct ctl_server *ctl;
	struct registry *reg;
	struct http_server *http;
	struct netd_source *netd;
	struct creds_provider *creds;
	struct cgroup_roots roots;
	struct agent_task *tasks;
	unsigned int ntasks;
	uint64_t start_usec;
	int timer_id;
	char uri_base[64]; /* "http://169.254.170.2" (with ":PORT" if not 80) */
	/* what netd said last, logged when it changes */
	char *netd_stats_error;
	char *netd_list_error;
	uint64_t last_refresh_ns;
	bool has_clock;
	struct tmds_clock clock;
};

static void set_note(char **note, const char *fmt, ...) _printf_(2, 3);

static void set_note(char **note, const char *fmt, ...)
{
	va_list ap;

	free(*note);
	*note = NULL;
	if (!fmt)
		return;
	va_start(ap, fmt);
	if (vasprintf(note, fmt, ap) < 0)
		*note = NULL;
	va_end(ap);
}

static struct agent_task *task_find(struct agent *a, const char *task_id)
{
	for (struct agent_task *at = a->tasks; at; at = at->next)
		if (streq(at->t->task_id, task_id))
			return at;
	return NULL;
}

static void agent_task_free(struct agent *a, struct agent_task *at)
{
	if (!at)
		return;
	if (at->rt) {
		registry_remove(a->reg, at->rt);
		reg_task_free(at->rt);
	}
	tmds_sample_done(&at->cur);
	tmds_sample_done(&at->prev);
	tmds_task_free(at->t);
	free(at->cgroup);
	free(at->net_note);
	free(at->netd_note);
	free(at);
}

/* --- stats ------------------------------------------------------------------------------ */

/* The cgroup of a container: <task cgroup>/<name> if it exists, else the task's own. */
static void container_cgroup(struct agent *a, const struct agent_task *at, size_t i, char *buf,
			     size_t size)
{
	snprintf(buf, size, "%s/%s", at->cgroup, at->t->containers[i].def->name);
	if (!cgroup_exists(&a->roots, buf))
		snprintf(buf, size, "%s", at->cgroup);
}

/* Take a new sample of the task; stats is this task's entry of netd's stats.get, or NULL. */
static void task_sample(struct agent *a, struct agent_task *at, json_t *stats, const char *why,
			uint64_t now_ns, uint64_t system_cpu, unsigned int online)
{
	struct tmds_sample s = { .read_ns = now_ns };
	_cleanup_free_ char *err = NULL;

	s.containers = calloc(at->t->n_containers, sizeof(*s.containers));
	if (!s.containers) {
		log_oom();
		return;
	}
	s.n_containers = at->t->n_containers;
	for (size_t i = 0; i < s.n_containers; i++) {
		struct tmds_container_sample *c = &s.containers[i];
		char path[2048];

		if (at->cgroup) {
			container_cgroup(a, at, i, path, sizeof(path));
			c->has_cgroup = cgroup_read(&a->roots, path, &c->cpu, &c->mem) == 0;
		}
		c->cpu.system_cpu_usage = system_cpu;
		c->cpu.online_cpus = online;
	}
	if (stats && tmds_net_stats_from_netd(stats, &s.net, &err) == 0) {
		s.has_net = true;
		set_note(&at->net_note, NULL);
	} else {
		set_note(&at->net_note, "%s", err ?: why ?: "no stats from netd");
	}
	tmds_sample_done(&at->prev);
	at->prev = at->cur;
	at->has_prev = at->has_cur;
	at->cur = s;
	at->has_cur = true;
}

/* Render everything the task serves and swap it in. */
static int task_publish(struct agent *a, struct agent_task *at)
{
	const struct tmds_task *t = at->t;
	const struct tmds_sample *prev = at->has_prev ? &at->prev : NULL;
	struct reg_view *v;
	int r = 0;

	v = reg_view_new(t->n_containers);
	if (!v)
		return log_oom();
	for (size_t i = 0; r >= 0 && i < t->n_containers; i++) {
		r = reg_view_set(v, REG_BODY_CONTAINER, i, 200, tmds_container_json(t, i));
		if (r >= 0)
			r = reg_view_set(v, REG_BODY_CONTAINER_STATS, i, 200,
					 tmds_container_stats_json(t, i, &at->cur, prev));
	}
	if (r >= 0)
		r = reg_view_set(v, REG_BODY_TASK, 0, 200,
				 tmds_task_json(t, a->has_clock ? &a->clock : NULL));
	if (r >= 0)
		r = reg_view_set(v, REG_BODY_TASK_STATS, 0, 200,
				 tmds_task_stats_json(t, &at->cur, prev));
	if (r >= 0 && t->creds_id[0]) {
		struct creds c = {};
		int cr = a->creds->ops->get(a->creds, t->def->task_role_arn, &c);

		if (cr == 0)
			r = reg_view_set(v, REG_BODY_CREDENTIALS, 0, 200,
					 tmds_credentials_json(t->def->task_role_arn,
							       c.access_key_id, c.secret_access_key,
							       c.token, c.expiration));
		else
			/* The id is known, its credentials are not there (yet): 503. */
			r = reg_view_set(
				v, REG_BODY_CREDENTIALS, 0, 503,
				tmds_error_json(
					"CredentialsUninitialized",
					"CredentialsV2Request: Credentials uninitialized for ID"));
		creds_done(&c);
	}
	if (r < 0) {
		reg_view_free(v);
		return log_err_errno(r, "Failed to render the responses of task '%s': %m",
				     t->task_id);
	}
	reg_task_publish(at->rt, v);
	return 0;
}

/* netd's stats.get entry for task_id in {"tasks": [...]}, or NULL. */
static json_t *stats_entry(json_t *all, const char *task_id)
{
	json_t *tasks = json_object_get(all, "tasks"), *e;
	size_t i;

	json_array_foreach(tasks, i, e)
		if (streq_ptr(json_string_value(json_object_get(e, "task_id")), task_id))
			return e;
	return NULL;
}

/* Log netd trouble once when it starts and once when it ends, not at every refresh. */
static void note_netd(char **state, const char *what, const struct ctl_error *err, int r)
{
	if (r >= 0) {
		if (*state)
			log_notice("netd: %s works again", what);
		set_note(state, NULL);
		return;
	}
	if (*state && streq(*state, err->message ?: strerror(-r)))
		return;
	set_note(state, "%s", err->message ?: strerror(-r));
	log_warn("netd: %s failed: %s", what, *state ?: "?");
}

/* Apply netd's view of the task: its network and its metadata address. */
static void task_apply_netd(struct agent *a, struct agent_task *at, json_t *nt)
{
	_cleanup_free_ char *err = NULL;
	struct in_addr addr;
	json_t *net = NULL;
	int r;

	if (tmds_network_from_netd(nt, at->t->region, &net, &err) == 0) {
		if (!at->t->network || !json_equal(at->t->network, net))
			tmds_task_set_network(at->t, net);
		else
			json_decref(net);
		set_note(&at->netd_note, NULL);
	} else
		set_note(&at->netd_note, "%s", err ?: "netd's task cannot be read");

	r = tmds_md_address_from_netd(nt, &addr);
	if (r == 0) {
		struct in_addr cur;

		if (!reg_task_address(at->rt, &cur) || cur.s_addr != addr.s_addr) {
			r = registry_set_address(a->reg, at->rt, &addr);
			if (r < 0)
				log_warn_errno(r,
					       "Task '%s': netd's metadata address %s is taken: %m",
					       at->t->task_id, inet_ntoa(addr));
			else
				log_info("Task '%s' is reached from %s (netd's metadata link)",
					 at->t->task_id, inet_ntoa(addr));
		}
		if (r == 0)
			at->addr_source = "netd";
	} else if (r == -EINVAL)
		set_note(&at->netd_note, "netd's metadata address is not in 169.254.172.0/22");
}

static void refresh(struct agent *a)
{
	_cleanup_ctl_error_ struct ctl_error lerr = {}, serr = {};
	json_auto_t *list = NULL, *stats = NULL;
	uint64_t now = realtime_nsec(), system_cpu = 0;
	unsigned int online = (unsigned int)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1L);
	int r;

	if (!a->tasks)
		return;
	r = a->netd->ops->task_list(a->netd, &list, &lerr);
	note_netd(&a->netd_list_error, "task.list", &lerr, r);
	r = a->netd->ops->stats_get(a->netd, NULL, &stats, &serr);
	note_netd(&a->netd_stats_error, "stats.get", &serr, r);
	host_system_cpu_usage("/proc/stat", &system_cpu);
	a->has_clock = host_clock(&a->clock) == 0;

	for (struct agent_task *at = a->tasks; at; at = at->next) {
		json_t *nt = NULL, *e;
		size_t i;

		json_array_foreach(list, i, e)
			if (streq_ptr(json_string_value(json_object_get(e, "task_id")),
				      at->t->task_id))
				nt = e;
		if (nt)
			task_apply_netd(a, at, nt);
		else if (list)
			set_note(&at->netd_note, "netd does not know the task (any more)");
		task_sample(a, at, stats ? stats_entry(stats, at->t->task_id) : NULL,
			    stats ? "netd's stats.get has no entry for the task"
				  : a->netd_stats_error,
			    now, system_cpu, online);
		task_publish(a, at);
	}
	a->last_refresh_ns = now;
}

static void on_timer(struct event_loop *loop, void *data)
{
	refresh(data);
}

static void on_creds_changed(const char *role, void *data)
{
	struct agent *a = data;
	char name[CREDS_ROLE_NAME_MAX + 1];

	for (struct agent_task *at = a->tasks; at; at = at->next)
		if (at->t->creds_id[0] &&
		    creds_role_name(at->t->def->task_role_arn, name, sizeof(name)) == 0 &&
		    streq(name, role)) {
			log_debug("Credentials of role '%s' changed: task '%s'", role,
				  at->t->task_id);
			task_publish(a, at);
		}
}

/* --- control methods --------------------------------------------------------------------- */

static json_t *task_env(struct agent *a, const struct agent_task *at, size_t idx, bool secrets)
{
	const struct tmds_task *t = at->t;
	json_t *env = json_object();
	char buf[256];

	snprintf(buf, sizeof(buf), "%s/v4/%s", a->uri_base, t->containers[idx].docker_id);
	json_object_set_new(env, "ECS_CONTAINER_METADATA_URI_V4",
			    json_string(secrets ? buf : "(hidden)"));
	if (t->creds_id[0]) {
		snprintf(buf, sizeof(buf), "/v2/credentials/%s", t->creds_id);
		json_object_set_new(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
				    json_string(secrets ? buf : "(hidden)"));
	}
	json_object_set_new(
		env, "AWS_EXECUTION_ENV",
		json_string(streq(t->launch_type, "FARGATE") ? "AWS_ECS_FARGATE" : "AWS_ECS_EC2"));
	json_object_set_new(env, "AWS_REGION", json_string(t->region));
	json_object_set_new(env, "AWS_DEFAULT_REGION", json_string(t->region));
	return env;
}

static const char *creds_state(struct agent *a, const struct agent_task *at)
{
	struct creds c = {};
	int r;

	if (!at->t->creds_id[0])
		return "none";
	r = a->creds->ops->get(a->creds, at->t->def->task_role_arn, &c);
	creds_done(&c);
	return r == 0 ? "ready" : "missing";
}

static json_t *task_summary(struct agent *a, struct agent_task *at)
{
	const struct tmds_task *t = at->t;
	struct reg_counters rc;
	struct in_addr addr;
	json_t *names = json_array();
	char when[64];

	for (size_t i = 0; i < t->n_containers; i++)
		json_array_append_new(names, json_string(t->containers[i].def->name));
	reg_task_counters(at->rt, &rc);
	tmds_format_time(at->registered_ns, when, sizeof(when));
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:{s:I, s:I, s:I, s:I}}",
		"task_id", t->task_id, "task_arn", t->task_arn, "family", t->def->family,
		"revision", t->def->revision, "platform_version",
		tmds_platform_to_string(t->platform), "registered", when, "metadata_address",
		reg_task_address(at->rt, &addr) ? json_string(inet_ntoa(addr)) : json_null(),
		"credentials", creds_state(a, at), "containers", names, "cluster", t->cluster_arn,
		"requests", "served", (json_int_t)rc.served, "throttled", (json_int_t)rc.throttled,
		"denied", (json_int_t)rc.denied, "header_timeouts", (json_int_t)rc.header_timeouts);
}

static json_t *task_detail(struct agent *a, struct agent_task *at, bool secrets)
{
	const struct tmds_task *t = at->t;
	json_t *j = task_summary(a, at), *cs = json_array(), *st;
	_cleanup_free_ char *desc = NULL;
	char when[64];

	for (size_t i = 0; i < t->n_containers; i++)
		json_array_append_new(cs,
				      json_pack("{s:s, s:s, s:s, s:s, s:o}", "name",
						t->containers[i].def->name, "image",
						t->containers[i].def->image, "docker_id",
						secrets ? t->containers[i].docker_id : "(hidden)",
						"container_arn", t->containers[i].arn, "env",
						task_env(a, at, i, secrets)));
	json_object_set_new(j, "containers", cs);
	json_object_set_new(j, "region", json_string(t->region));
	json_object_set_new(j, "availability_zone", json_string(t->availability_zone));
	json_object_set_new(j, "launch_type", json_string(t->launch_type));
	json_object_set_new(j, "metadata_address_source",
			    at->addr_source ? json_string(at->addr_source) : json_null());
	json_object_set_new(j, "cgroup", at->cgroup ? json_string(at->cgroup) : json_null());
	json_object_set_new(j, "task_role_arn",
			    t->def->task_role_arn ? json_string(t->def->task_role_arn)
						  : json_null());
	if (t->creds_id[0]) {
		json_object_set_new(j, "credentials_id",
				    json_string(secrets ? t->creds_id : "(hidden)"));
		if (a->creds->ops->describe(a->creds, t->def->task_role_arn, &desc) == 0)
			json_object_set_new(j, "credentials_source", json_string(desc));
	}
	json_object_set_new(j, "network", t->network ? json_incref(t->network) : json_null());
	st = json_object();
	if (at->has_cur) {
		tmds_format_time(at->cur.read_ns, when, sizeof(when));
		json_object_set_new(st, "read", json_string(when));
		json_object_set_new(st, "network", json_boolean(at->cur.has_net));
		json_object_set_new(
			st, "cgroup",
			json_boolean(at->t->n_containers && at->cur.containers[0].has_cgroup));
	}
	if (at->net_note)
		json_object_set_new(st, "network_note", json_string(at->net_note));
	json_object_set_new(j, "stats", st);
	if (at->netd_note)
		json_object_set_new(j, "netd_note", json_string(at->netd_note));
	if (!secrets)
		json_object_set_new(j, "hidden", json_string("ids are shown to root only"));
	return j;
}

static bool caller_sees_secrets(struct ctl_call *call)
{
	const struct ucred *peer = ctl_call_peer(call);

	return peer && peer->uid == 0;
}

static int do_health(struct ctl_call *call, json_t *params, void *userdata)
{
	struct agent *a = userdata;
	struct http_stats hs = {};
	char when[64] = "";

	if (a->http)
		http_server_stats(a->http, &hs);
	if (a->last_refresh_ns)
		tmds_format_time(a->last_refresh_ns, when, sizeof(when));
	return ctl_call_reply(
		call,
		json_pack("{s:s, s:s, s:i, s:I, s:s, s:s?, s:s?, s:s, s:s, s:i, s:i, "
			  "s:{s:o, s:o, s:s?}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			  "status", "ok", "version", TP_VERSION, "pid", (int)getpid(), "uptime_sec",
			  (json_int_t)((now_usec() - a->start_usec) / 1000000), "socket",
			  a->opts.socket, "listen", a->opts.http.listen, "local_listen",
			  a->opts.http.local_listen, "netd_socket", a->opts.netd_socket,
			  "credentials_dir", a->opts.credentials_dir, "stats_interval_sec",
			  (int)a->opts.stats_interval_sec, "tasks", (int)a->ntasks, "netd",
			  "task_list",
			  a->netd_list_error ? json_string(a->netd_list_error) : json_string("ok"),
			  "stats_get",
			  a->netd_stats_error ? json_string(a->netd_stats_error)
					      : json_string("ok"),
			  "last_refresh", when[0] ? when : NULL, "http", "ok", (json_int_t)hs.ok,
			  "not_found", (json_int_t)hs.not_found, "throttled",
			  (json_int_t)hs.throttled, "bad_request", (json_int_t)hs.bad_request,
			  "unavailable", (json_int_t)hs.unavailable, "method_not_allowed",
			  (json_int_t)hs.method_not_allowed, "header_timeout",
			  (json_int_t)hs.header_timeout));
}

static int do_task_list(struct ctl_call *call, json_t *params, void *userdata)
{
	struct agent *a = userdata;
	json_t *arr;

	if (params && json_object_size(params))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "task.list takes no parameters");
	arr = json_array();
	for (struct agent_task *at = a->tasks; at; at = at->next)
		json_array_append_new(arr, task_summary(a, at));
	return ctl_call_reply(call, arr);
}

static int get_task_param(struct ctl_call *call, json_t *params, struct agent *a,
			  struct agent_task **ret)
{
	const char *id = NULL;
	json_error_t jerr;

	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s}", "task_id", &id) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing 'task_id'");
	*ret = task_find(a, id);
	if (!*ret)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task '%s'", id);
	return 1;
}

static int do_task_show(struct ctl_call *call, json_t *params, void *userdata)
{
	struct agent *a = userdata;
	struct agent_task *at;
	int r;

	r = get_task_param(call, params, a, &at);
	if (r <= 0)
		return r;
	return ctl_call_reply(call, task_detail(a, at, caller_sees_secrets(call)));
}

static int do_task_deregister(struct ctl_call *call, json_t *params, void *userdata)
{
	struct agent *a = userdata;
	struct agent_task *at, **pp;
	_cleanup_free_ char *id = NULL;
	int r;

	r = get_task_param(call, params, a, &at);
	if (r <= 0)
		return r;
	for (pp = &a->tasks; *pp; pp = &(*pp)->next)
		if (*pp == at) {
			*pp = at->next;
			break;
		}
	a->ntasks--;
	id = strdup(at->t->task_id);
	agent_task_free(a, at);
	log_info("Task '%s' deregistered", id ?: "?");
	return ctl_call_reply(call,
			      json_pack("{s:s, s:b}", "task_id", id ?: "", "deregistered", true));
}

struct register_params {
	json_t *taskdef;
	const char *task_id, *cluster, *region, *az, *launch_type, *task_arn, *platform, *account;
	const char *md_addr, *cgroup;
};

static int do_task_register(struct ctl_call *call, json_t *params, void *userdata)
{
	struct agent *a = userdata;
	struct register_params p = {};
	_cleanup_ctl_error_ struct ctl_error nerr = {};
	_cleanup_free_ char *err = NULL;
	json_auto_t *nt = NULL, *stats = NULL;
	struct agent_task *at = NULL;
	struct taskdef *def = NULL;
	struct tmds_task *t = NULL;
	struct in_addr addr;
	json_error_t jerr;
	const char *phase;
	json_t *net = NULL;
	int r;

	if (!params ||
	    json_unpack_ex(params, &jerr, JSON_STRICT,
			   "{s:o, s:s, s:s, s:s, s:s, s?s, s?s, s?s, s?s, s?s, s?s}",
			   "task_definition", &p.taskdef, "netd_task", &p.task_id, "cluster",
			   &p.cluster, "region", &p.region, "availability_zone", &p.az,
			   "launch_type", &p.launch_type, "task_arn", &p.task_arn,
			   "platform_version", &p.platform, "account", &p.account,
			   "metadata_address", &p.md_addr, "cgroup", &p.cgroup) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing");
	if (!ident_task_id_valid(p.task_id))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "Invalid netd_task '%s': 1-128 of [A-Za-z0-9_.-]", p.task_id);
	if (task_find(a, p.task_id))
		return ctl_call_failf(call, CTL_ERR_EXISTS, "Task '%s' is registered already",
				      p.task_id);
	if (a->ntasks >= AGENT_MAX_TASKS)
		return ctl_call_failf(call, CTL_ERR_LIMIT, "Too many tasks (at most %d)",
				      AGENT_MAX_TASKS);
	if (p.md_addr &&
	    (inet_pton(AF_INET, p.md_addr, &addr) != 1 || !tmds_md_address_valid(addr)))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "metadata_address '%s' is not an address in 169.254.172.0/22",
				      p.md_addr);
	if (p.cgroup && !cgroup_path_valid(p.cgroup))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "cgroup '%s' must be a relative path without '.' or '..'",
				      p.cgroup);

	r = taskdef_parse(p.taskdef, &def, &err);
	if (r < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "task_definition: %s",
				      err ?: strerror(-r));
	r = tmds_task_new(&(struct tmds_task_opts){ .task_id = p.task_id,
						    .cluster = p.cluster,
						    .region = p.region,
						    .availability_zone = p.az,
						    .launch_type = p.launch_type,
						    .task_arn = p.task_arn,
						    .platform_version = p.platform,
						    .account = p.account },
			  def, &t, &err);
	if (r < 0)
		return ctl_call_failf(call,
				      r == -EINVAL ? CTL_ERR_INVALID_PARAMS : CTL_ERR_INTERNAL,
				      "%s", err ?: strerror(-r));

	/* The task's network comes from netd: it must know the task and have built it. */
	r = a->netd->ops->task_show(a->netd, p.task_id, &nt, &nerr);
	if (r < 0) {
		tmds_task_free(t);
		if (r == -EPROTO && nerr.code == CTL_ERR_NOT_FOUND)
			return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "netd has no task '%s'",
					      p.task_id);
		return ctl_call_failf(call, CTL_ERR_UNAVAILABLE, "netd: %s",
				      nerr.message ?: strerror(-r));
	}
	phase = json_string_value(json_object_get(nt, "phase"));
	if (!streq_ptr(phase, "READY") && !streq_ptr(phase, "READY_PULL")) {
		tmds_task_free(t);
		return ctl_call_failf(call, CTL_ERR_BUSY,
				      "netd's task '%s' is %s: register it once it is READY",
				      p.task_id, phase ?: "in no phase");
	}
	free(err);
	err = NULL;
	r = tmds_network_from_netd(nt, t->region, &net, &err);
	if (r < 0) {
		tmds_task_free(t);
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", err ?: strerror(-r));
	}
	tmds_task_set_network(t, net);

	at = calloc(1, sizeof(*at));
	if (!at) {
		tmds_task_free(t);
		return ctl_call_fail_errno(call, -ENOMEM, "Out of memory");
	}
	at->t = t;
	at->registered_ns = realtime_nsec();
	if (p.md_addr) {
		at->has_reg_addr = true;
		at->reg_addr = addr;
	}
	if (p.cgroup && !(at->cgroup = strdup(p.cgroup))) {
		r = -ENOMEM;
		goto out_free;
	}
	r = reg_task_new(t, &at->rt);
	if (r < 0)
		goto out_free;

	/* A first sample now, so that /stats answers at once (precpu_stats of zeros). */
	ctl_error_done(&nerr);
	r = a->netd->ops->stats_get(a->netd, p.task_id, &stats, &nerr);
	{
		uint64_t system_cpu = 0;

		host_system_cpu_usage("/proc/stat", &system_cpu);
		if (!a->has_clock)
			a->has_clock = host_clock(&a->clock) == 0;
		task_sample(a, at, r == 0 ? stats : NULL, r == 0 ? NULL : nerr.message,
			    at->registered_ns, system_cpu,
			    (unsigned int)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1L));
	}
	r = task_publish(a, at);
	if (r < 0)
		goto out_free;
	r = registry_add(a->reg, at->rt);
	if (r < 0)
		goto out_free;

	/* netd's metadata link wins over an address given here. */
	if (tmds_md_address_from_netd(nt, &addr) == 0) {
		at->addr_source = "netd";
	} else if (at->has_reg_addr) {
		addr = at->reg_addr;
		at->addr_source = "register";
	}
	if (at->addr_source) {
		r = registry_set_address(a->reg, at->rt, &addr);
		if (r == -EADDRINUSE) {
			agent_task_free(a, at);
			return ctl_call_failf(call, CTL_ERR_EXISTS,
					      "Metadata address %s is another task's",
					      inet_ntoa(addr));
		}
		if (r < 0)
			goto out_free;
	}
	at->next = a->tasks;
	a->tasks = at;
	a->ntasks++;
	if (at->addr_source)
		log_info("Task '%s' registered: %s, reached from %s", t->task_id, t->task_arn,
			 inet_ntoa(addr));
	else
		log_warn(
			"Task '%s' registered: %s, without a metadata address: only the local listener serves it",
			t->task_id, t->task_arn);
	return ctl_call_reply(call, task_detail(a, at, true));

out_free:
	agent_task_free(a, at);
	return ctl_call_fail_errno(call, r, "Failed to register task '%s': %s", p.task_id,
				   strerror(-r));
}

static const struct ctl_method agent_methods[] = {
	{ "health", do_health, 0 },
	{ "task.register", do_task_register, CTL_METHOD_WRITE },
	{ "task.deregister", do_task_deregister, CTL_METHOD_WRITE },
	{ "task.list", do_task_list, 0 },
	{ "task.show", do_task_show, 0 },
	{},
};

static const struct ctl_method *const method_tables[] = { agent_methods, NULL };

/* --- main -------------------------------------------------------------------------------- */

static void on_signal(struct event_loop *loop, int signo, void *data)
{
	log_info("Received %s, exiting", strsignal(signo));
	event_loop_exit(loop, 0);
}

static void help(void)
{
	printf("Usage: taskvm agent [OPTIONS]\n"
	       "\n"
	       "The taskplane host agent: registered tasks, their metadata endpoint v4 and\n"
	       "credentials endpoint. See taskvm(8).\n"
	       "\n"
	       "  -s, --socket PATH           control socket (default %s)\n"
	       "      --listen ADDR:PORT      task listener (default %s; 'none': off)\n"
	       "      --local-listen ADDR:PORT  local listener (default %s; 'none': off)\n"
	       "      --netd-socket PATH      netd's control socket (default %s)\n"
	       "      --credentials-dir DIR   role credentials files <role-name>.json (default %s)\n"
	       "      --stats-interval SEC    sampling interval of stats, 1-60 (default %d)\n"
	       "      --rate-limit R[:B]      requests/s and burst per task (default %d:%d; 0: off)\n"
	       "      --threads N             HTTP threads of the task listener (default: CPUs, at most 4)\n"
	       "      --timeout SEC           idle timeout of an HTTP connection (default 5)\n"
	       "      --header-timeout SEC    deadline of an HTTP request head (default 5)\n"
	       "      --max-connections N     HTTP connections at once (default 4096)\n"
	       "  -g, --group NAME            group whose members may register tasks\n"
	       "  -l, --log-level LEVEL       err, warning, notice, info (default), debug\n"
	       "  -h, --help                  show this help\n",
	       AGENT_DEFAULT_SOCKET, HTTP_DEFAULT_LISTEN, HTTP_DEFAULT_LOCAL_LISTEN,
	       CTL_DEFAULT_SOCKET, AGENT_DEFAULT_CREDENTIALS_DIR, AGENT_DEFAULT_STATS_INTERVAL,
	       RATELIMIT_DEFAULT_RATE, RATELIMIT_DEFAULT_BURST);
}

enum {
	ARG_LISTEN = 0x100,
	ARG_LOCAL_LISTEN,
	ARG_NETD_SOCKET,
	ARG_CREDENTIALS_DIR,
	ARG_STATS_INTERVAL,
	ARG_RATE_LIMIT,
	ARG_THREADS,
	ARG_TIMEOUT,
	ARG_HEADER_TIMEOUT,
	ARG_MAX_CONNECTIONS,
	ARG_MOUNTINFO,
};

static int parse_uint_arg(const char *name, const char *s, unsigned long min, unsigned long max,
			  unsigned int *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "taskvm agent: --%s must be %lu-%lu, not '%s'\n", name, min, max,
			s);
		return -EINVAL;
	}
	*ret = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, ARG_LISTEN },
		{ "local-listen", required_argument, NULL, ARG_LOCAL_LISTEN },
		{ "netd-socket", required_argument, NULL, ARG_NETD_SOCKET },
		{ "credentials-dir", required_argument, NULL, ARG_CREDENTIALS_DIR },
		{ "stats-interval", required_argument, NULL, ARG_STATS_INTERVAL },
		{ "rate-limit", required_argument, NULL, ARG_RATE_LIMIT },
		{ "threads", required_argument, NULL, ARG_THREADS },
		{ "timeout", required_argument, NULL, ARG_TIMEOUT },
		{ "header-timeout", required_argument, NULL, ARG_HEADER_TIMEOUT },
		{ "max-connections", required_argument, NULL, ARG_MAX_CONNECTIONS },
		{ "mountinfo", required_argument, NULL, ARG_MOUNTINFO }, /* tests */
		{ "group", required_argument, NULL, 'g' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct sockaddr_in sin;
	int c, r;

	optind = 0; /* taskvm's main() used getopt already */
	while ((c = getopt_long(argc, argv, "s:g:l:h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case ARG_LISTEN:
		case ARG_LOCAL_LISTEN:
			if (streq(optarg, "none")) {
				optarg = NULL;
			} else if (http_parse_listen(optarg, &sin) < 0) {
				fprintf(stderr,
					"taskvm agent: invalid address '%s' (want A.B.C.D:PORT)\n",
					optarg);
				return -EINVAL;
			}
			if (c == ARG_LISTEN)
				o->http.listen = optarg;
			else
				o->http.local_listen = optarg;
			break;
		case ARG_NETD_SOCKET:
			o->netd_socket = optarg;
			break;
		case ARG_CREDENTIALS_DIR:
			o->credentials_dir = optarg;
			break;
		case ARG_STATS_INTERVAL:
			r = parse_uint_arg("stats-interval", optarg, 1, 60, &o->stats_interval_sec);
			if (r < 0)
				return r;
			break;
		case ARG_RATE_LIMIT:
			if (ratelimit_opts_parse(optarg, &o->http.limit) < 0) {
				fprintf(stderr,
					"taskvm agent: invalid rate limit '%s' (want RATE[:BURST])\n",
					optarg);
				return -EINVAL;
			}
			break;
		case ARG_THREADS:
			r = parse_uint_arg("threads", optarg, 1, 64, &o->http.threads);
			if (r < 0)
				return r;
			break;
		case ARG_TIMEOUT:
			r = parse_uint_arg("timeout", optarg, 1, 600, &o->http.timeout_sec);
			if (r < 0)
				return r;
			break;
		case ARG_HEADER_TIMEOUT:
			r = parse_uint_arg("header-timeout", optarg, 1, 600,
					   &o->http.header_timeout_sec);
			if (r < 0)
				return r;
			break;
		case ARG_MAX_CONNECTIONS:
			r = parse_uint_arg("max-connections", optarg, 1, 1000000,
					   &o->http.max_connections);
			if (r < 0)
				return r;
			break;
		case ARG_MOUNTINFO:
			o->mountinfo = optarg;
			break;
		case 'g':
			o->group = optarg;
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0) {
				fprintf(stderr, "taskvm agent: unknown log level '%s'\n", optarg);
				return -EINVAL;
			}
			log_set_level((enum log_level)r);
			break;
		case 'h':
			help();
			return 0;
		default:
			fprintf(stderr, "Try 'taskvm agent --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "taskvm agent: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 1;
}

static int make_parent(const char *path)
{
	char dir[PATH_MAX], *slash;

	if (strscpy(dir, path, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, 0755);
}

static int run(struct agent *a)
{
	struct agent_opts *o = &a->opts;
	struct ctl_server_opts copts = {
		.path = o->socket,
		.tables = method_tables,
		.userdata = a,
	};
	struct sockaddr_in sin;
	int r;

	if (o->group) {
		struct group *g = getgrnam(o->group);

		if (!g)
			return log_err_errno(ENOENT, "Unknown group '%s'", o->group);
		copts.has_group = true;
		copts.group = g->gr_gid;
	}
	if (o->http.listen && http_parse_listen(o->http.listen, &sin) == 0) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
		if (ntohs(sin.sin_port) == 80)
			snprintf(a->uri_base, sizeof(a->uri_base), "http://%s", ip);
		else
			snprintf(a->uri_base, sizeof(a->uri_base), "http://%s:%u", ip,
				 ntohs(sin.sin_port));
	} else
		snprintf(a->uri_base, sizeof(a->uri_base), "http://169.254.170.2");

	r = cgroup_roots_detect(o->mountinfo ?: "/proc/self/mountinfo", &a->roots);
	if (r < 0)
		log_warn_errno(
			r,
			"Failed to find the cgroup hierarchies, CPU and memory stats will be zero: %m");

	r = event_loop_new(&a->loop);
	if (r < 0)
		return log_err_errno(r, "Failed to create the event loop: %m");
	/* Signals are blocked before MHD's threads start, so that they inherit the mask. */
	r = event_add_signal(a->loop, SIGTERM, on_signal, a);
	if (r >= 0)
		r = event_add_signal(a->loop, SIGINT, on_signal, a);
	if (r < 0)
		return log_err_errno(r, "Failed to set up signal handling: %m");
	signal(SIGPIPE, SIG_IGN);

	r = mkdir_p(o->credentials_dir, 0700);
	if (r < 0)
		return log_err_errno(r, "Failed to create the credentials directory '%s': %m",
				     o->credentials_dir);
	r = creds_file_provider_new(a->loop, o->credentials_dir, on_creds_changed, a, &a->creds);
	if (r < 0)
		return log_err_errno(r, "Failed to watch the credentials directory '%s': %m",
				     o->credentials_dir);
	r = netd_source_socket_new(o->netd_socket, AGENT_NETD_TIMEOUT_MS, &a->netd);
	if (r < 0)
		return log_oom();
	r = registry_new(&a->reg);
	if (r < 0)
		return log_err_errno(r, "Failed to create the registry: %m");
	r = http_server_start(&o->http, a->reg, &a->http);
	if (r < 0)
		return r; /* logged */

	r = make_parent(o->socket);
	if (r < 0)
		return log_err_errno(r, "Failed to create the socket's directory: %m");
	r = ctl_server_new(a->loop, &copts, &a->ctl);
	if (r == -EADDRINUSE)
		return log_err_errno(r, "Another agent is serving '%s'", o->socket);
	if (r < 0)
		return log_err_errno(r, "Failed to listen on '%s': %m", o->socket);
	r = event_add_periodic(a->loop, (uint64_t)o->stats_interval_sec * 1000000ULL, on_timer, a,
			       NULL);
	if (r < 0)
		return log_err_errno(r, "Failed to start the stats timer: %m");
	a->timer_id = r;

	log_notice("taskvm agent %s ready on %s: metadata on %s, local %s, netd %s", TP_VERSION,
		   o->socket, o->http.listen ?: "(none)", o->http.local_listen ?: "(none)",
		   o->netd_socket);
	return event_loop_run(a->loop);
}

static void cleanup(struct agent *a)
{
	/* HTTP threads first: after this nothing reads the registry. */
	a->http = http_server_stop(a->http);
	a->ctl = ctl_server_free(a->ctl);
	while (a->tasks) {
		struct agent_task *at = a->tasks;

		a->tasks = at->next;
		agent_task_free(a, at);
	}
	a->reg = registry_free(a->reg);
	a->netd = netd_source_free(a->netd);
	a->creds = creds_provider_free(a->creds);
	a->loop = event_loop_free(a->loop);
	free(a->netd_stats_error);
	free(a->netd_list_error);
}

int agent_main(int argc, char **argv)
{
	struct agent a = {
		.opts = {
			.socket = AGENT_DEFAULT_SOCKET,
			.netd_socket = CTL_DEFAULT_SOCKET,
			.credentials_dir = AGENT_DEFAULT_CREDENTIALS_DIR,
			.stats_interval_sec = AGENT_DEFAULT_STATS_INTERVAL,
			.http = {
				.listen = HTTP_DEFAULT_LISTEN,
				.local_listen = HTTP_DEFAULT_LOCAL_LISTEN,
				.limit = { .rate = RATELIMIT_DEFAULT_RATE,
					   .burst = RATELIMIT_DEFAULT_BURST },
			},
		},
	};
	int r;

	log_set_ident("taskvm");
	r = parse_args(argc, argv, &a.opts);
	if (r <= 0)
		return r < 0 ? 2 : EXIT_SUCCESS;
	umask(0022);
	a.start_usec = now_usec();
	r = run(&a);
	cleanup(&a);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
