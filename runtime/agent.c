// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskvm agent. The main thread runs one epoll loop: the control socket, the stats timer, the
 * credentials directory watch, netd's events and signals. It owns every task and renders each
 * task's responses ahead (registry.h); the HTTP threads of libmicrohttpd (http.h) only look them
 * up. So an HTTP request never waits for netd, a cgroup file or a credentials file.
 *
 * A registration is bound to one instance of netd's task, which the agent holds in netd
 * (task.hold) so that its metadata address goes to no other task while the agent may answer for
 * it. The agent drops the task as soon as netd reports that instance detached (its event
 * stream; its task list at every sampling as the backstop), and releases the hold. Registrations
 * are journalled (journal.h) and restored at start once netd confirms them.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "cgroup.h"
#include "creds.h"
#include "ctl-server.h"
#include "daemon.h"
#include "event.h"
#include "http.h"
#include "ident.h"
#include "journal.h"
#include "launch.h"
#include "log.h"
#include "netd-source.h"
#include "platform.h"
#include "registry.h"
#include "taskdef.h"
#include "tmds.h"

#define AGENT_MAX_TASKS	      4096
#define AGENT_NETD_TIMEOUT_MS 3000
#define AGENT_HOLDER	      "taskvm" /* the agent's name for its holds in netd */

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
	char instance[IDENT_INSTANCE_LEN + 1]; /* the instance of netd's task it is bound to */
	json_t *params;			       /* task.register's parameters (the journal's) */
};

/* A registration read from the journal, until netd confirms it (or the task is gone). */
struct agent_pending {
	struct agent_pending *next;
	struct journal_record rec;
};

struct agent_opts {
	const char *socket;
	const char *netd_socket;
	const char *credentials_dir;
	const char *group;
	const char *mountinfo;
	const char *state_dir;
	const char *platforms_dir; /* NULL: PLATFORM_DEFAULT_DIR if it exists, else built-in */
	unsigned int stats_interval_sec;
	struct http_opts http;
	struct launch_opts launch;
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
	struct journal *journal;
	struct launch *launch; /* the tasks it launches (launch.h) */
	struct agent_pending *pending;
	unsigned int npending;
	bool pending_said; /* that they wait for netd was logged */
	bool holds_dirty;  /* netd may hold tasks the agent no longer has: look (holds_reconcile) */
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
	json_decref(at->params);
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

/*
 * A task VM's container: its cgroup in the guest, as the shim last heard. Its memory limit is
 * its own, else the task's (the VM's): Docker reports the host's for an unlimited cgroup.
 */
static void guest_sample(const struct tmds_task *t, size_t i, struct tmds_container_sample *c)
{
	const struct tmds_container_state *st = &t->containers[i].state;
	const struct taskdef_container *d = t->containers[i].def;

	c->has_cgroup = true;
	c->cpu.total_usage = st->guest_cpu_usec * 1000;
	c->mem.usage = st->guest_memory;
	c->mem.max_usage = st->guest_memory_peak;
	if (d->has_memory)
		c->mem.limit = (uint64_t)d->memory << 20;
	else if (t->def->has_memory)
		c->mem.limit = (uint64_t)t->def->memory_mib << 20;
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

		if (at->t->containers[i].state.has_guest_stats) {
			guest_sample(at->t, i, c);
		} else if (at->cgroup) {
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

/* --- tasks: registration, netd's instances and holds, the journal ------------------------ */

/* Give back the agent's hold of a task's instance in netd; on failure, look again later. */
static void hold_release(struct agent *a, const char *task_id, const char *instance)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	int r;

	r = a->netd->ops->task_release(a->netd, task_id, instance, AGENT_HOLDER, &err);
	if (r < 0) {
		a->holds_dirty = true;
		log_warn("Task '%s': netd's hold not released (%s); tried again later", task_id,
			 err.message ?: strerror(-r));
	}
}

static void task_unlink(struct agent *a, struct agent_task *at)
{
	for (struct agent_task **pp = &a->tasks; *pp; pp = &(*pp)->next)
		if (*pp == at) {
			*pp = at->next;
			a->ntasks--;
			return;
		}
}

/*
 * Forget a task: it is answered no more from the moment this starts (the registry entry goes
 * first), its record leaves the journal, and netd's hold of it is released. The caller logs why.
 */
static void task_drop(struct agent *a, struct agent_task *at)
{
	char id[IDENT_TASK_ID_MAX + 1], instance[IDENT_INSTANCE_LEN + 1];
	int r;

	strscpy(id, at->t->task_id, sizeof(id));
	strscpy(instance, at->instance, sizeof(instance));
	task_unlink(a, at);
	agent_task_free(a, at);
	launch_task_dropped(a->launch, id);
	r = a->journal ? journal_remove(a->journal, id) : 0;
	if (r < 0)
		log_warn_errno(r, "Failed to remove the journal record of task '%s': %m", id);
	hold_release(a, id, instance);
}

static int task_journal_save(struct agent *a, struct agent_task *at)
{
	struct journal_record rec = {
		.registered_ns = at->registered_ns,
		.params = at->params,
		.ids = tmds_task_ids_json(at->t),
	};
	int r;

	if (!rec.ids)
		return -ENOMEM;
	strscpy(rec.task_id, at->t->task_id, sizeof(rec.task_id));
	strscpy(rec.instance, at->instance, sizeof(rec.instance));
	r = journal_save(a->journal, &rec);
	json_decref(rec.ids);
	return r;
}

/* What a registration starts from. */
struct task_spec {
	json_t *params;		/* task.register's parameters */
	json_t *ids;		/* restored: the ids handed out before (NULL: new ones) */
	const char *instance;	/* restored: the instance of netd's task it was bound to */
	uint64_t registered_ns; /* restored: when (0: now) */
};

struct register_params {
	json_t *taskdef;
	const char *task_id, *cluster, *region, *az, *launch_type, *task_arn, *platform, *account;
	const char *md_addr, *cgroup;
	json_int_t platform_revision; /* 0: the version's latest (a new registration) */
	const struct platform *pf;    /* the revision it runs on */
};

/*
 * The platform revision a registration runs on: the one it names (a restored registration, a
 * launched task: pinned), else its version's latest. -EINVAL or -ENOENT with *ret_error listing
 * the versions or revisions there are.
 */
static int task_platform(struct register_params *p, char **ret_error)
{
	const char *version = p->platform ?: "LATEST";

	if (p->platform_revision < 0 || p->platform_revision > UINT_MAX)
		return asprintf(ret_error, "platform_revision %lld is not a revision",
				(long long)p->platform_revision) < 0
			       ? -ENOMEM
			       : -EINVAL;
	if (p->platform_revision)
		return platform_lookup_revision(version, (unsigned int)p->platform_revision, &p->pf,
						ret_error);
	return platform_lookup(version, &p->pf, ret_error);
}

/* The model of the task a registration describes (with its ids, restored ones if given). */
static int task_model(struct agent *a, const struct task_spec *spec, struct register_params *p,
		      struct tmds_task **ret, struct ctl_error *err)
{
	_cleanup_free_ char *msg = NULL;
	struct taskdef *def = NULL;
	struct tmds_task *t = NULL;
	json_error_t jerr;
	int r;

	r = task_platform(p, &msg);
	if (r < 0)
		return ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL, "%s", msg ?: strerror(-r)),
		       r;
	r = taskdef_parse(p->taskdef, &def, &msg);
	if (r < 0)
		return ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL, "task_definition: %s",
				     msg ?: strerror(-r)),
		       r;
	if (spec->ids) {
		json_int_t created = 0;

		/* The task ARN and the creation time come back; the other ids below. */
		if (json_unpack_ex(spec->ids, &jerr, 0, "{s:s, s:I}", "task_arn", &p->task_arn,
				   "created_ns", &created) < 0) {
			taskdef_free(def);
			return ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL, "ids: %s",
					     jerr.text),
			       -EINVAL;
		}
		r = tmds_task_new(&(struct tmds_task_opts){ .task_id = p->task_id,
							    .cluster = p->cluster,
							    .region = p->region,
							    .availability_zone = p->az,
							    .launch_type = p->launch_type,
							    .task_arn = p->task_arn,
							    .platform = p->pf,
							    .account = p->account,
							    .created_ns = (uint64_t)created },
				  def, &t, &msg);
		if (r == 0) {
			r = tmds_task_restore_ids(t, spec->ids, &msg);
			if (r < 0)
				t = tmds_task_free(t);
		}
	} else {
		r = tmds_task_new(&(struct tmds_task_opts){ .task_id = p->task_id,
							    .cluster = p->cluster,
							    .region = p->region,
							    .availability_zone = p->az,
							    .launch_type = p->launch_type,
							    .task_arn = p->task_arn,
							    .platform = p->pf,
							    .account = p->account },
				  def, &t, &msg);
	}
	if (r < 0)
		return ctl_error_set(err, r == -EINVAL ? CTL_ERR_INVALID_PARAMS : CTL_ERR_INTERNAL,
				     NULL, "%s", msg ?: strerror(-r)),
		       r;
	*ret = t;
	return 0;
}

/* task.register's parameters into p (pointers into params). */
static int register_params_unpack(json_t *params, struct register_params *p, struct ctl_error *err)
{
	json_error_t jerr;

	if (!params ||
	    json_unpack_ex(params, &jerr, JSON_STRICT,
			   "{s:o, s:s, s:s, s:s, s:s, s?s, s?s, s?s, s?I, s?s, s?s, s?s}",
			   "task_definition", &p->taskdef, "netd_task", &p->task_id, "cluster",
			   &p->cluster, "region", &p->region, "availability_zone", &p->az,
			   "launch_type", &p->launch_type, "task_arn", &p->task_arn,
			   "platform_version", &p->platform, "platform_revision",
			   &p->platform_revision, "account", &p->account, "metadata_address",
			   &p->md_addr, "cgroup", &p->cgroup) < 0)
		return ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL, "Invalid parameters: %s",
				     params ? jerr.text : "missing"),
		       -EINVAL;
	if (!ident_task_id_valid(p->task_id))
		return ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL,
				     "Invalid netd_task '%s': 1-128 of [A-Za-z0-9_.-]", p->task_id),
		       -EINVAL;
	return 0;
}

/*
 * netd's task for a registration: ready, and the instance the registration is bound to (any,
 * for a new one); *ret_nt is netd's task. -EAGAIN when netd cannot be reached.
 */
static int task_netd_check(struct agent *a, const struct task_spec *spec, const char *task_id,
			   json_t **ret_nt, struct ctl_error *err)
{
	_cleanup_ctl_error_ struct ctl_error nerr = {};
	json_auto_t *nt = NULL;
	const char *phase, *instance;
	int r;

	r = a->netd->ops->task_show(a->netd, task_id, &nt, &nerr);
	if (r == -EPROTO && nerr.code == CTL_ERR_NOT_FOUND)
		return ctl_error_set(err, CTL_ERR_NOT_FOUND, NULL, "netd has no task '%s'",
				     task_id),
		       -ENOENT;
	/* netd unreachable, or on its way out: a restored registration waits. */
	if (r < 0)
		return ctl_error_set(err, CTL_ERR_UNAVAILABLE, NULL, "netd: %s",
				     nerr.message ?: strerror(-r)),
		       r == -EPROTO && nerr.code != CTL_ERR_UNAVAILABLE ? -EPROTO : -EAGAIN;
	instance = json_string_value(json_object_get(nt, "instance"));
	if (!ident_instance_valid(instance))
		return ctl_error_set(
			       err, CTL_ERR_INTERNAL, NULL,
			       "netd's task '%s' has no instance id: is netd older than taskvm?",
			       task_id),
		       -EPROTO;
	if (spec->instance && !streq(spec->instance, instance))
		return ctl_error_set(err, CTL_ERR_NOT_FOUND, NULL,
				     "netd's task '%s' is another instance now", task_id),
		       -ENOENT;
	phase = json_string_value(json_object_get(nt, "phase"));
	if (!streq_ptr(phase, "READY") && !streq_ptr(phase, "READY_PULL"))
		return ctl_error_set(err, CTL_ERR_BUSY, NULL,
				     "netd's task '%s' is %s: register it once it is READY",
				     task_id, phase ?: "in no phase"),
		       -EBUSY;
	*ret_nt = TAKE_PTR(nt);
	return 0;
}

/*
 * Register a task: validate the registration, bind it to netd's task (its instance, held in
 * netd) and start serving it. Returns 0 with *ret (in the agent's list and the registry), or
 * -errno with err saying why: -EAGAIN when netd cannot be reached (a restored registration then
 * waits), other errors are final.
 */
static int task_create(struct agent *a, const struct task_spec *spec, struct agent_task **ret,
		       struct ctl_error *err)
{
	_cleanup_ctl_error_ struct ctl_error nerr = {};
	_cleanup_free_ char *msg = NULL;
	struct register_params p = {};
	json_auto_t *nt = NULL, *stats = NULL;
	struct agent_task *at = NULL;
	struct tmds_task *t = NULL;
	struct in_addr addr;
	json_t *net = NULL;
	bool held = false;
	int r;

	r = register_params_unpack(spec->params, &p, err);
	if (r < 0)
		return r;
	if (task_find(a, p.task_id))
		return ctl_error_set(err, CTL_ERR_EXISTS, NULL, "Task '%s' is registered already",
				     p.task_id),
		       -EEXIST;
	if (a->ntasks >= AGENT_MAX_TASKS)
		return ctl_error_set(err, CTL_ERR_LIMIT, NULL, "Too many tasks (at most %d)",
				     AGENT_MAX_TASKS),
		       -ENOSPC;
	if (p.md_addr &&
	    (inet_pton(AF_INET, p.md_addr, &addr) != 1 || !tmds_md_address_valid(addr)))
		return ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL,
				     "metadata_address '%s' is not an address in 169.254.172.0/22",
				     p.md_addr),
		       -EINVAL;
	if (p.cgroup && !cgroup_path_valid(p.cgroup))
		return ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL,
				     "cgroup '%s' must be a relative path without '.' or '..'",
				     p.cgroup),
		       -EINVAL;
	r = task_model(a, spec, &p, &t, err);
	if (r < 0)
		return r;

	/* The task's network comes from netd: it must know the task and have built it. */
	r = task_netd_check(a, spec, p.task_id, &nt, err);
	if (r < 0)
		goto out_free;
	r = tmds_network_from_netd(nt, t->region, &net, &msg);
	if (r < 0) {
		ctl_error_set(err, CTL_ERR_INVALID_PARAMS, NULL, "%s", msg ?: strerror(-r));
		goto out_free;
	}
	tmds_task_set_network(t, net);

	at = calloc(1, sizeof(*at));
	if (!at) {
		r = -ENOMEM;
		goto out_errno;
	}
	at->t = TAKE_PTR(t);
	at->registered_ns = spec->registered_ns ?: realtime_nsec();
	/* Journalled pinned: the version (not an alias) and the revision it runs on. */
	at->params = json_copy(spec->params);
	if (!at->params ||
	    json_object_set_new(at->params, "platform_version",
				json_string(at->t->platform->version)) < 0 ||
	    json_object_set_new(at->params, "platform_revision",
				json_integer(at->t->platform->revision)) < 0) {
		r = -ENOMEM;
		goto out_errno;
	}
	strscpy(at->instance, json_string_value(json_object_get(nt, "instance")),
		sizeof(at->instance));
	if (p.md_addr) {
		at->has_reg_addr = true;
		inet_pton(AF_INET, p.md_addr, &at->reg_addr);
	}
	if (p.cgroup && !(at->cgroup = strdup(p.cgroup))) {
		r = -ENOMEM;
		goto out_errno;
	}

	/* From here, netd keeps this instance's metadata address for the agent. */
	r = a->netd->ops->task_hold(a->netd, p.task_id, at->instance, AGENT_HOLDER, &nerr);
	if (r < 0) {
		ctl_error_set(err,
			      nerr.code == CTL_ERR_NOT_FOUND ? CTL_ERR_NOT_FOUND
							     : CTL_ERR_UNAVAILABLE,
			      NULL, "netd: task.hold: %s", nerr.message ?: strerror(-r));
		r = r == -EPROTO && nerr.code != CTL_ERR_UNAVAILABLE ? -EPROTO : -EAGAIN;
		goto out_free;
	}
	held = true;

	r = reg_task_new(at->t, &at->rt);
	if (r < 0)
		goto out_errno;
	/* A first sample now, so that /stats answers at once (precpu_stats of zeros). */
	ctl_error_done(&nerr);
	r = a->netd->ops->stats_get(a->netd, p.task_id, &stats, &nerr);
	{
		uint64_t system_cpu = 0;

		host_system_cpu_usage("/proc/stat", &system_cpu);
		if (!a->has_clock)
			a->has_clock = host_clock(&a->clock) == 0;
		task_sample(a, at, r == 0 ? stats : NULL, r == 0 ? NULL : nerr.message,
			    realtime_nsec(), system_cpu,
			    (unsigned int)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1L));
	}
	r = task_publish(a, at);
	if (r < 0)
		goto out_errno;
	r = registry_add(a->reg, at->rt);
	if (r < 0)
		goto out_errno;

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
			ctl_error_set(err, CTL_ERR_EXISTS, NULL,
				      "Metadata address %s is another task's", inet_ntoa(addr));
			goto out_free;
		}
		if (r < 0)
			goto out_errno;
	}
	at->next = a->tasks;
	a->tasks = at;
	a->ntasks++;
	*ret = at;
	return 0;

out_errno:
	ctl_error_set_errno(err, r, "Failed to register task '%s': %s", p.task_id, strerror(-r));
out_free:
	if (held)
		hold_release(a, p.task_id, at->instance);
	agent_task_free(a, at);
	tmds_task_free(t);
	return r;
}

static void pending_free(struct agent_pending *p)
{
	journal_record_done(&p->rec);
	free(p);
}

static void on_journal_record(struct journal_record *rec, void *data)
{
	struct agent *a = data;
	struct agent_pending *p = calloc(1, sizeof(*p));

	if (!p) {
		log_oom();
		journal_record_done(rec);
		return;
	}
	p->rec = *rec;
	p->next = a->pending;
	a->pending = p;
	a->npending++;
}

static void on_journal_bad(const char *path, const char *why, void *data)
{
	log_warn("Journal: '%s': %s, dropped", path, why);
}

/*
 * Restore the journal's registrations that netd confirms (the same instance, still ready) with
 * the ids they had; drop, with a log line, those whose task is gone. While netd cannot be
 * reached, they wait (unserved).
 */
static void restore_pending(struct agent *a)
{
	struct agent_pending **pp = &a->pending, *p;

	while ((p = *pp)) {
		_cleanup_ctl_error_ struct ctl_error err = {};
		struct journal_record *rec = &p->rec;
		struct agent_task *at;
		int r;

		r = task_create(a,
				&(struct task_spec){ .params = rec->params,
						     .ids = rec->ids,
						     .instance = rec->instance,
						     .registered_ns = rec->registered_ns },
				&at, &err);
		if (r == -EAGAIN) {
			if (!a->pending_said)
				log_notice("%u registrations of the journal wait for netd: %s",
					   a->npending, err.message ?: "unreachable");
			a->pending_said = true;
			return;
		}
		*pp = p->next;
		a->npending--;
		if (r == 0) {
			log_info("Task '%s' restored from the journal: %s", rec->task_id,
				 at->t->task_arn);
		} else {
			log_notice("Task '%s' dropped from the journal: %s", rec->task_id,
				   err.message ?: strerror(-r));
			r = journal_remove(a->journal, rec->task_id);
			if (r < 0)
				log_warn_errno(r, "Failed to remove the record of task '%s': %m",
					       rec->task_id);
			hold_release(a, rec->task_id, rec->instance);
		}
		pending_free(p);
	}
	a->pending_said = false;
}

/* A journal record of task_id (of that instance, or any with instance NULL) waits for netd. */
static bool pending_has(struct agent *a, const char *task_id, const char *instance)
{
	for (struct agent_pending *p = a->pending; p; p = p->next)
		if (streq(p->rec.task_id, task_id) &&
		    (!instance || streq(p->rec.instance, instance)))
			return true;
	return false;
}

/*
 * Release netd's holds of the agent that no registration has any more: those of tasks dropped
 * while netd could not be reached, or of a journal lost with an agent killed meanwhile.
 */
static void holds_reconcile(struct agent *a)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	json_auto_t *holds = NULL;
	json_t *h;
	size_t i;
	int r;

	r = a->netd->ops->task_holds(a->netd, AGENT_HOLDER, &holds, &err);
	if (r < 0) {
		log_debug("netd: task.holds: %s; looking again later", err.message ?: strerror(-r));
		return;
	}
	a->holds_dirty = false;
	json_array_foreach(holds, i, h) {
		const char *id = json_string_value(json_object_get(h, "task_id"));
		const char *instance = json_string_value(json_object_get(h, "instance"));
		struct agent_task *at;

		if (!id || !instance)
			continue;
		at = task_find(a, id);
		if ((at && streq(at->instance, instance)) || pending_has(a, id, instance) ||
		    launch_owns(a->launch, id, instance))
			continue;
		log_notice(
			"Releasing netd's hold of task '%s' (%s): no registration is bound to it",
			id, json_string_value(json_object_get(h, "state")) ?: "?");
		hold_release(a, id, instance);
	}
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

	for (struct agent_task *at = a->tasks, *next; at; at = next) {
		json_t *nt = NULL, *e;
		size_t i;

		next = at->next;
		json_array_foreach(list, i, e)
			if (streq_ptr(json_string_value(json_object_get(e, "task_id")),
				      at->t->task_id))
				nt = e;
		/* The backstop of the event stream: the instance is gone from netd's list. */
		if (list && (!nt || !streq_ptr(json_string_value(json_object_get(nt, "instance")),
					       at->instance))) {
			log_notice("Task '%s' dropped: netd detached it (%s)", at->t->task_id,
				   nt ? "its task is another instance now"
				      : "not in its task list");
			task_drop(a, at);
			continue;
		}
		if (nt)
			task_apply_netd(a, at, nt);
		task_sample(a, at, stats ? stats_entry(stats, at->t->task_id) : NULL,
			    stats ? "netd's stats.get has no entry for the task"
				  : a->netd_stats_error,
			    now, system_cpu, online);
		task_publish(a, at);
	}
	a->last_refresh_ns = now;
}

/* What the agent does at every sampling, and whenever netd's event stream starts again. */
static void agent_tick(struct agent *a)
{
	if (a->launch)
		launch_tick(a->launch);
	if (a->pending)
		restore_pending(a);
	if (a->holds_dirty)
		holds_reconcile(a);
	refresh(a);
}

static void on_timer(struct event_loop *loop, void *data)
{
	agent_tick(data);
}

/* netd's events: a registered instance that is detached is dropped at once. */
static void on_netd_event(json_t *ev, void *data)
{
	struct agent *a = data;
	const char *id, *instance;
	struct agent_task *at;

	if (!ev) {
		/* The stream (re)started: what it missed is in netd's task list. */
		agent_tick(a);
		return;
	}
	if (!streq_ptr(json_string_value(json_object_get(ev, "type")), "task.detached"))
		return;
	id = json_string_value(json_object_get(ev, "task_id"));
	instance = json_string_value(json_object_get(ev, "instance"));
	at = id ? task_find(a, id) : NULL;
	if (!at || !streq_ptr(instance, at->instance))
		return;
	log_notice("Task '%s' dropped: netd detached it", id);
	task_drop(a, at);
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
		"{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:s, s:o, s:s, s:{s:I, s:I, s:I, s:I}}",
		"task_id", t->task_id, "task_arn", t->task_arn, "family", t->def->family,
		"revision", t->def->revision, "platform_version", t->platform->version,
		"platform_revision", (json_int_t)t->platform->revision, "registered", when,
		"metadata_address",
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
	json_object_set_new(j, "netd_instance", json_string(at->instance));
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
			  "s:{s:o, s:o, s:s?}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:s, s:i}",
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
			  (json_int_t)hs.header_timeout, "state_dir", a->opts.state_dir, "pending",
			  (int)a->npending));
}

/*
 * A registration's summary or detail, with the launch state of a task taskvm launched (its
 * phase, stop reason, and each container's status merged into the container's object).
 */
static json_t *task_json_merged(struct agent *a, struct agent_task *at, bool detail, bool secrets)
{
	json_t *j = detail ? task_detail(a, at, secrets) : task_summary(a, at);
	json_auto_t *l = launch_task_json(a->launch, at->t->task_id, detail);
	json_t *cs = json_object_get(j, "containers"), *lcs = json_object_get(l, "containers");
	const char *key;
	json_t *v;

	if (!j || !l)
		return j;
	json_object_foreach(l, key, v) {
		if (streq(key, "containers") && json_is_array(cs) && json_is_array(lcs) &&
		    json_array_size(cs) == json_array_size(lcs) && detail) {
			for (size_t i = 0; i < json_array_size(cs); i++)
				json_object_update(json_array_get(cs, i), json_array_get(lcs, i));
			continue;
		}
		json_object_set(j, key, v);
	}
	return j;
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
		json_array_append_new(arr, agent_task_json(a, at, false));
	launch_list_unregistered(a->launch, arr);
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
	const char *id = json_string_value(json_object_get(params, "task_id"));
	struct agent_task *at;
	json_t *j;
	int r;

	/* A launched task that is not (or no longer) registered. */
	if (id && !task_find(a, id) && (j = launch_task_json(a->launch, id, true)))
		return ctl_call_reply(call, j);
	r = get_task_param(call, params, a, &at);
	if (r <= 0)
		return r;
	return ctl_call_reply(call, task_json_merged(a, at, true, caller_sees_secrets(call)));
}

static int do_task_deregister(struct ctl_call *call, json_t *params, void *userdata)
{
	struct agent *a = userdata;
	struct agent_task *at;
	json_t *res;
	int r;

	r = get_task_param(call, params, a, &at);
	if (r <= 0)
		return r;
	if (launch_owns(a->launch, at->t->task_id, NULL))
		return ctl_call_failf(call, CTL_ERR_BUSY,
				      "Task '%s' was launched by taskvm: stop it (taskvm stop)",
				      at->t->task_id);
	res = json_pack("{s:s, s:b}", "task_id", at->t->task_id, "deregistered", true);
	log_info("Task '%s' deregistered", at->t->task_id);
	task_drop(a, at);
	return ctl_call_reply(call, res);
}

static int do_task_register(struct ctl_call *call, json_t *params, void *userdata)
{
	struct agent *a = userdata;
	_cleanup_ctl_error_ struct ctl_error err = {};
	struct agent_task *at;
	struct in_addr addr;
	const char *id;
	int r;

	/* Its journal record is restored once netd answers: one registration of a task at a time. */
	id = json_string_value(json_object_get(params, "netd_task"));
	if (id && launch_owns(a->launch, id, NULL))
		return ctl_call_failf(
			call, CTL_ERR_EXISTS,
			"Task '%s' is one taskvm launched: it is registered by the launch", id);
	if (id && pending_has(a, id, NULL))
		return ctl_call_failf(call, CTL_ERR_BUSY,
				      "Task '%s' is in the journal, waiting for netd to confirm it",
				      id);
	r = task_create(a, &(struct task_spec){ .params = params }, &at, &err);
	if (r < 0)
		return ctl_call_fail(call, &err);
	r = task_journal_save(a, at);
	if (r < 0) {
		task_drop(a, at);
		return ctl_call_fail_errno(call, r, "Failed to journal the registration: %s",
					   strerror(-r));
	}
	if (reg_task_address(at->rt, &addr))
		log_info("Task '%s' registered: %s, reached from %s", at->t->task_id,
			 at->t->task_arn, inet_ntoa(addr));
	else
		log_warn(
			"Task '%s' registered: %s, without a metadata address: only the local listener serves it",
			at->t->task_id, at->t->task_arn);
	return ctl_call_reply(call, task_detail(a, at, true));
}

static const struct ctl_method agent_methods[] = {
	{ "health", do_health, 0 },
	{ "task.register", do_task_register, CTL_METHOD_WRITE },
	{ "task.deregister", do_task_deregister, CTL_METHOD_WRITE },
	{ "task.list", do_task_list, 0 },
	{ "task.show", do_task_show, 0 },
	{},
};

static const struct ctl_method *const method_tables[] = { agent_methods, launch_methods, NULL };

/* --- main -------------------------------------------------------------------------------- */

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
	       "      --state-dir DIR         the registrations, kept across restarts (default %s)\n"
	       "      --platforms-dir DIR     platform manifests VERSION.json (default %s if it\n"
	       "                              exists, else the built-in ones)\n"
	       "      --stats-interval SEC    sampling interval of stats, 1-60 (default %d)\n"
	       "      --rate-limit R[:B]      requests/s and burst per task (default %d:%d; 0: off)\n"
	       "      --threads N             HTTP threads of the task listener (default: CPUs, at most 4)\n"
	       "      --timeout SEC           idle timeout of an HTTP connection (default 5)\n"
	       "      --header-timeout SEC    deadline of an HTTP request head (default 5)\n"
	       "      --max-connections N     HTTP connections at once (default 4096)\n"
	       "  -g, --group NAME            group whose members may register tasks\n"
	       "  -l, --log-level LEVEL       err, warning, notice, info (default), debug\n"
	       "  -h, --help                  show this help\n"
	       "\n",
	       AGENT_DEFAULT_SOCKET, HTTP_DEFAULT_LISTEN, HTTP_DEFAULT_LOCAL_LISTEN,
	       CTL_DEFAULT_SOCKET, AGENT_DEFAULT_CREDENTIALS_DIR, AGENT_DEFAULT_STATE_DIR,
	       PLATFORM_DEFAULT_DIR, AGENT_DEFAULT_STATS_INTERVAL, RATELIMIT_DEFAULT_RATE,
	       RATELIMIT_DEFAULT_BURST);
	launch_help(stdout);
}

enum {
	ARG_LISTEN = 0x100,
	ARG_LOCAL_LISTEN,
	ARG_NETD_SOCKET,
	ARG_CREDENTIALS_DIR,
	ARG_STATE_DIR,
	ARG_STATS_INTERVAL,
	ARG_RATE_LIMIT,
	ARG_THREADS,
	ARG_TIMEOUT,
	ARG_HEADER_TIMEOUT,
	ARG_MAX_CONNECTIONS,
	ARG_MOUNTINFO,
	ARG_PLATFORMS_DIR,
};

static const struct daemon_info agent_info = { .name = "taskvm agent", .help = help };

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, ARG_LISTEN },
		{ "local-listen", required_argument, NULL, ARG_LOCAL_LISTEN },
		{ "netd-socket", required_argument, NULL, ARG_NETD_SOCKET },
		{ "credentials-dir", required_argument, NULL, ARG_CREDENTIALS_DIR },
		{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
		{ "platforms-dir", required_argument, NULL, ARG_PLATFORMS_DIR },
		{ "stats-interval", required_argument, NULL, ARG_STATS_INTERVAL },
		{ "rate-limit", required_argument, NULL, ARG_RATE_LIMIT },
		{ "threads", required_argument, NULL, ARG_THREADS },
		{ "timeout", required_argument, NULL, ARG_TIMEOUT },
		{ "header-timeout", required_argument, NULL, ARG_HEADER_TIMEOUT },
		{ "max-connections", required_argument, NULL, ARG_MAX_CONNECTIONS },
		{ "mountinfo", required_argument, NULL, ARG_MOUNTINFO }, /* tests */
		DAEMON_OPTIONS,
		LAUNCH_OPTIONS,
		{},
	};
	struct daemon_opts dopts = { .socket = o->socket };
	struct sockaddr_in sin;
	int c, r;

	optind = 0; /* taskvm's main() used getopt already */
	while ((c = getopt_long(argc, argv, DAEMON_SHORT_OPTIONS, options, NULL)) >= 0) {
		r = daemon_opt(&agent_info, c, optarg, &dopts);
		if (r != -ENOENT) {
			if (r <= 0)
				return r;
			continue;
		}
		switch (c) {
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
		case ARG_STATE_DIR:
			if (optarg[0] != '/') {
				fprintf(stderr,
					"taskvm agent: --state-dir wants an absolute path, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->state_dir = optarg;
			break;
		case ARG_STATS_INTERVAL:
			r = daemon_opt_uint(&agent_info, "stats-interval", optarg, 1, 60,
					    &o->stats_interval_sec);
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
			r = daemon_opt_uint(&agent_info, "threads", optarg, 1, 64,
					    &o->http.threads);
			if (r < 0)
				return r;
			break;
		case ARG_TIMEOUT:
			r = daemon_opt_uint(&agent_info, "timeout", optarg, 1, 600,
					    &o->http.timeout_sec);
			if (r < 0)
				return r;
			break;
		case ARG_HEADER_TIMEOUT:
			r = daemon_opt_uint(&agent_info, "header-timeout", optarg, 1, 600,
					    &o->http.header_timeout_sec);
			if (r < 0)
				return r;
			break;
		case ARG_MAX_CONNECTIONS:
			r = daemon_opt_uint(&agent_info, "max-connections", optarg, 1, 1000000,
					    &o->http.max_connections);
			if (r < 0)
				return r;
			break;
		case ARG_MOUNTINFO:
			o->mountinfo = optarg;
			break;
		case ARG_PLATFORMS_DIR:
			o->platforms_dir = optarg;
			break;
		default:
			r = launch_parse_option(&o->launch, c, optarg);
			if (r < 0)
				return r;
			if (r > 0)
				break;
			fprintf(stderr, "Try 'taskvm agent --help'.\n");
			return -EINVAL;
		}
	}
	o->socket = dopts.socket;
	o->group = dopts.group;
	r = daemon_opt_end(&agent_info, argc, argv);
	return r < 0 ? r : 1;
}

/*
 * The platform manifests, before anything names a version: --platforms-dir, else the installed
 * directory when it exists, else the built-in ones. A directory that does not load stops the
 * start. The shims load the same directory (launch_opts.platforms_dir).
 */
static int platforms_load(struct agent_opts *o)
{
	_cleanup_free_ char *err = NULL, *path = NULL;
	const char *dir = o->platforms_dir;
	struct stat st;
	int r;

	if (!dir && stat(PLATFORM_DEFAULT_DIR, &st) < 0) {
		log_info("Platform manifests: the built-in ones (%s: %s)", PLATFORM_DEFAULT_DIR,
			 strerror(errno));
		return 0;
	}
	dir = dir ?: PLATFORM_DEFAULT_DIR;
	/* absolute: the shims start elsewhere */
	path = realpath(dir, NULL);
	if (!path)
		return log_err_errno(-errno, "Failed to load the platform manifests of '%s': %m",
				     dir);
	r = platform_load_dir(path, &err);
	if (r < 0)
		return log_err_errno(r, "Failed to load the platform manifests of '%s': %s", dir,
				     err ?: strerror(-r));
	log_info("Platform manifests: %s", platform_source());
	o->launch.platforms_dir = platform_source();
	return 0;
}

static int run(struct agent *a)
{
	struct agent_opts *o = &a->opts;
	struct ctl_server_opts copts = {
		.path = o->socket,
		.tables = method_tables,
		.userdata = a,
	};
	struct daemon_opts dopts = { .socket = o->socket, .group = o->group };
	struct sockaddr_in sin;
	int r, signo;

	r = daemon_ctl_prepare(&dopts, &copts);
	if (r == -ENOENT)
		return log_err_errno(r, "Unknown group '%s'", o->group);
	if (r < 0)
		return log_err_errno(r, "Failed to create the socket's directory: %m");
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

	r = platforms_load(o);
	if (r < 0)
		return r;

	r = cgroup_roots_detect(o->mountinfo ?: "/proc/self/mountinfo", &a->roots);
	if (r < 0)
		log_warn_errno(
			r,
			"Failed to find the cgroup hierarchies, CPU and memory stats will be zero: %m");

	r = event_loop_new(&a->loop);
	if (r < 0)
		return log_err_errno(r, "Failed to create the event loop: %m");
	/* Signals are blocked before MHD's threads start, so that they inherit the mask. */
	r = daemon_stop_signals(a->loop);
	if (r < 0)
		return log_err_errno(r, "Failed to set up signal handling: %m");

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

	/* The registrations of the agent that ran before, once netd confirms them. */
	r = journal_open(o->state_dir, &a->journal);
	if (r < 0)
		return log_err_errno(r, "Failed to open the journal in '%s': %m", o->state_dir);
	r = journal_load(a->journal, on_journal_record, on_journal_bad, a);
	if (r < 0)
		return log_err_errno(r, "Failed to read the journal in '%s': %m", o->state_dir);
	if (a->npending)
		log_info("%u registrations in the journal", a->npending);
	/* The tasks it launched: shims to adopt, or what is left of them to tear down. */
	r = launch_new(a, &o->launch, o->state_dir, &a->launch);
	if (r < 0)
		return log_err_errno(r, "Failed to start the launcher in '%s': %m", o->state_dir);
	launch_recover(a->launch);
	a->holds_dirty = true;
	agent_tick(a);
	/* netd's events, for a detach to take effect at once; its start runs agent_tick() again. */
	r = a->netd->ops->watch_events(a->netd, a->loop, on_netd_event, a);
	if (r < 0)
		return log_err_errno(r, "Failed to follow netd's events: %m");

	log_notice("taskvm agent %s ready on %s: metadata on %s, local %s, netd %s", TP_VERSION,
		   o->socket, o->http.listen ?: "(none)", o->http.local_listen ?: "(none)",
		   o->netd_socket);
	r = sd_notifyf(false, "READY=1\nSTATUS=Ready on %s: metadata on %s", o->socket,
		       o->http.listen ?: "(none)");
	if (r < 0)
		log_warn_errno(r, "Failed to notify the service manager: %m, ignoring");
	r = daemon_run(a->loop, &signo);
	if (signo)
		log_info("Received %s, exiting", strsignal(signo));
	return r;
}

static void cleanup(struct agent *a)
{
	/* HTTP threads first: after this nothing reads the registry. */
	a->http = http_server_stop(a->http);
	/* Before the connections go: its log readers may hold calls. The shims go on. */
	a->launch = launch_free(a->launch);
	a->ctl = ctl_server_free(a->ctl);
	while (a->tasks) {
		struct agent_task *at = a->tasks;

		a->tasks = at->next;
		agent_task_free(a, at);
	}
	a->reg = registry_free(a->reg);
	while (a->pending) {
		struct agent_pending *p = a->pending;

		a->pending = p->next;
		pending_free(p);
	}
	a->journal = journal_free(a->journal);
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
			.state_dir = AGENT_DEFAULT_STATE_DIR,
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
	launch_opts_init(&a.opts.launch);
	r = parse_args(argc, argv, &a.opts);
	if (r <= 0)
		return r < 0 ? 2 : EXIT_SUCCESS;
	umask(0022);
	a.start_usec = now_usec();
	r = run(&a);
	cleanup(&a);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* --- services for the launcher (launch.h) --------------------------------------------------- */

struct event_loop *agent_loop(struct agent *a)
{
	return a->loop;
}

struct launch *agent_launch(struct agent *a)
{
	return a->launch;
}

struct ctl_server *agent_ctl(struct agent *a)
{
	return a->ctl;
}

struct netd_source *agent_netd(struct agent *a)
{
	return a->netd;
}

const struct cgroup_roots *agent_cgroup_roots(struct agent *a)
{
	return &a->roots;
}

unsigned int agent_stats_interval(struct agent *a)
{
	return a->opts.stats_interval_sec;
}

int agent_task_register(struct agent *a, json_t *params, json_t *ids, const char *instance,
			uint64_t registered_ns, struct agent_task **ret, struct ctl_error *err)
{
	struct agent_task *at;
	int r;

	r = task_create(a,
			&(struct task_spec){ .params = params,
					     .ids = ids,
					     .instance = instance,
					     .registered_ns = registered_ns },
			&at, err);
	if (r < 0)
		return r;
	log_info("Task '%s' registered: %s", at->t->task_id, at->t->task_arn);
	*ret = at;
	return 0;
}

int agent_task_draft(struct agent *a, json_t *params, json_t **ret_ids, json_t **ret_env,
		     struct ctl_error *err)
{
	struct register_params p = {};
	struct tmds_task *t = NULL;
	json_t *ids, *env;
	int r;

	r = register_params_unpack(params, &p, err);
	if (r >= 0)
		r = task_model(a, &(struct task_spec){ .params = params }, &p, &t, err);
	if (r < 0)
		return r;
	ids = tmds_task_ids_json(t);
	env = json_object();
	for (size_t i = 0; ids && env && i < t->n_containers; i++)
		if (json_object_set_new(env, t->containers[i].def->name,
					task_env(a, &(struct agent_task){ .t = t }, i, true)) < 0) {
			json_decref(env);
			env = NULL;
		}
	tmds_task_free(t);
	if (!ids || !env) {
		json_decref(ids);
		json_decref(env);
		return ctl_error_set(err, CTL_ERR_INTERNAL, NULL, "Out of memory"), -ENOMEM;
	}
	*ret_ids = ids;
	*ret_env = env;
	return 0;
}

void agent_task_drop(struct agent *a, struct agent_task *at)
{
	log_info("Task '%s' deregistered", at->t->task_id);
	task_drop(a, at);
}

struct tmds_task *agent_task_model(struct agent_task *at)
{
	return at->t;
}

void agent_task_publish(struct agent *a, struct agent_task *at)
{
	task_publish(a, at);
}

const struct tmds_sample *agent_task_sample(struct agent_task *at)
{
	return at->has_cur ? &at->cur : NULL;
}

json_t *agent_role_credentials(struct agent *a, const char *role_arn, int *ret_errno)
{
	struct creds c = {};
	json_t *j = NULL;
	int r;

	r = a->creds->ops->get(a->creds, role_arn, &c);
	if (r == 0) {
		j = json_pack("{s:s, s:s, s:s*, s:s}", "AccessKeyId", c.access_key_id,
			      "SecretAccessKey", c.secret_access_key, "Token", c.token,
			      "Expiration", c.expiration);
		r = j ? 0 : -ENOMEM;
	}
	creds_done(&c);
	*ret_errno = r;
	return j;
}

json_t *agent_task_env(struct agent *a, struct agent_task *at, size_t idx)
{
	return task_env(a, at, idx, true);
}

json_t *agent_task_json(struct agent *a, struct agent_task *at, bool detail)
{
	return task_json_merged(a, at, detail, true);
}
