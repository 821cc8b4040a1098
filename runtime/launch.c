// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's launcher (launch.h). Everything runs on the agent's loop. The synchronous steps
 * (a namespace, netd's attach, the registration, the cgroup, the shim's fork) are short and
 * taken in one go after task.run has answered; the long ones (pulls, storage, containers) are
 * the shim's, which reports over its socket.
 *
 * The shim is the agent's child while the agent lives (its exit is seen on a pidfd and reaped
 * with waitid(P_PIDFD)); after a restart of the agent it is adopted: its pid and start time
 * (from the journal, checked against /proc) and its command line name it, a pidfd watches it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "addr.h"
#include "cgroup.h"
#include "ctl-server.h"
#include "emf.h"
#include "event.h"
#include "ident.h"
#include "image-ref.h"
#include "image.h"
#include "launch.h"
#include "log.h"
#include "logfile.h"
#include "logship.h"
#include "netd-source.h"
#include "netns.h"
#include "platform.h"
#include "runc.h"
#include "secrets.h"
#include "shim.h"
#include "storage.h"
#include "taskdef.h"
#include "tmds.h"

#define LAUNCH_RECORD_VERSION	 1
#define LAUNCH_MAX_TASKS	 1024
#define LAUNCH_HOLDER		 "taskvm" /* the agent's holder name in netd (agent.c's) */
#define LAUNCH_ATTACH_TIMEOUT_MS 30000
#define LAUNCH_CONNECT_RETRY_MS	 10
#define LAUNCH_CONNECT_DEADLINE	 (10 * 1000000ULL)
#define LAUNCH_LOGS_LIMIT	 1000
#define LAUNCH_LOGS_LIMIT_MAX	 10000
#define LAUNCH_LOGS_WAIT_USEC	 (20 * 1000000ULL)
#define LAUNCH_LOGS_IDLE_USEC	 (120 * 1000000ULL)
#define LAUNCH_MAX_CURSORS	 64
#define LAUNCH_SPARE_MARK	 SHIM_SPARE_FILE
#define LAUNCH_SPARE_DELAY_USEC	 (100 * 1000ULL)
/*
 * A spare's niceness until a task claims it: what it makes ahead (the shim's exec, its volume's
 * mkfs.ext4 and mount) yields the CPUs to launches under way, its own agent's or another's;
 * the claim sets its process group back to 0 before it wakes.
 */
#define LAUNCH_SPARE_NICE 10

enum launch_phase {
	LAUNCH_PROVISIONING,
	LAUNCH_PENDING,
	LAUNCH_RUNNING,
	LAUNCH_STOPPING,
	LAUNCH_DEPROVISIONING,
	LAUNCH_STOPPED,
};

static const char *const phase_names[] = {
	[LAUNCH_PROVISIONING] = "PROVISIONING",
	[LAUNCH_PENDING] = "PENDING",
	[LAUNCH_RUNNING] = "RUNNING",
	[LAUNCH_STOPPING] = "STOPPING",
	[LAUNCH_DEPROVISIONING] = "DEPROVISIONING",
	[LAUNCH_STOPPED] = "STOPPED",
};

struct launch_task {
	struct launch_task *next;
	struct launch *l;
	char id[TMDS_ECS_ID_LEN + 1];
	enum launch_phase phase;
	bool desired_stop;
	json_t *params;	    /* task.run's parameters, as validated */
	json_t *reg_params; /* the registration's */
	json_t *ids;	    /* the registration's ids, once registered */
	json_t *draft_ids;  /* the ids drawn before netd's attach, for the registration */
	json_t *ahead;	    /* the shim's network ahead: its "ahead" (shim_config_write()) */
	uint64_t registered_ns;
	char *task_arn;
	const struct platform *platform; /* its revision, pinned at launch (NULL: none restored) */
	/* Container Insights: the sample of the last event (or the baseline) and its CPU time */
	uint64_t insights_read_ns;
	uint64_t insights_cpu_ns;
	uint64_t insights_events;
	char netns[PATH_MAX];
	char run_dir[PATH_MAX];
	char volume_dir[PATH_MAX];
	char cgroup[PATH_MAX];
	/* steps taken (journalled) */
	bool netns_made, attached, cgroup_made, shim_spawning, start_sent;
	char instance[IDENT_INSTANCE_LEN + 1];
	int slot;
	char address[INET6_ADDRSTRLEN];
	pid_t shim_pid;
	uint64_t shim_start;
	int pidfd, pidfd_id;
	/* the connection to the shim */
	int fd, io_id, retry_id;
	uint64_t connect_deadline;
	bool network_ready; /* attached, registered: the shim may have its network */
	bool network_sent;  /* on this connection */
	struct ctl_linebuf lb;
	json_int_t next_req;
	bool subscribed;
	struct agent_task *at;
	bool reg_pending; /* restored: the registration waits for netd */
	json_t *status;	  /* the shim's last status */
	json_t *progress; /* the last pull progress */
	char *stop_code;
	char *stop_reason;
	uint64_t created_ns, running_ns, stopping_ns, stopped_ns;
	bool teardown_pending;
	bool seen_storage;
	char *fault;
};

struct log_cursor {
	struct log_cursor *next;
	struct launch *l;
	char id[33];
	char task_id[TMDS_ECS_ID_LEN + 1];
	char *container; /* or NULL: all */
	struct logfile_reader *reader;
	bool follow;
	unsigned int limit;
	uint64_t last_usec;
	struct ctl_call *pending;
	int io_id, timer_id;
};

/*
 * The spare shim: `taskvm shim --dir RUN_DIR/ID --spare`, exec'd ahead of the next task, its
 * libraries loaded, waiting on a pipe (its stdin). task.run gives the task the spare's ID (its
 * run directory and command line are the task's then); the provisioning writes the task's
 * shim.json and a byte: the shim goes on as if just started. The pipe's close (the agent's
 * exit, or the spare not wanted) ends it. Until a task takes it, its directory holds
 * LAUNCH_SPARE_MARK, by which a restarted agent knows what to remove.
 */
struct launch_spare {
	char id[TMDS_ECS_ID_LEN + 1];
	pid_t pid; /* 0: no spare */
	uint64_t start;
	int fd; /* the pipe's write end */
	int pidfd, pidfd_id;
	bool taken;		  /* a task took its id: the directory is the task's */
	struct launch_task *task; /* that task, until its provisioning claims it */
	/* the next task's network namespace and cgroup (no limits), made ahead: spare_start() */
	bool netns_made, cgroup_made;
};

struct launch {
	struct agent *a;
	struct launch_opts o;
	char *dir; /* the journal: STATE_DIR/launch */
	char exe[PATH_MAX];
	struct launch_task *tasks;
	unsigned int ntasks;
	struct log_cursor *cursors;
	unsigned int ncursors;
	struct launch_spare spare;
	int spare_timer; /* spare_schedule()'s, 0: none */
	/* runc's sealed copy (runc_copy_open()), handed to every shim; -1: none (yet) */
	int runc_fd;
	struct runc_copy_id runc_id;
	bool runc_copy_failed; /* said once: shims run runc by its path */
	bool launched;	       /* a task was: spares are kept from then on */
};

static void task_teardown(struct launch_task *lt);
static void spare_schedule(struct launch *l);
static void shim_connect(struct launch_task *lt);
static void shim_network(struct launch_task *lt);
static void cursors_wake(struct launch *l, const char *task_id);

/* --- options ------------------------------------------------------------------------------- */

void launch_opts_init(struct launch_opts *o)
{
	*o = (struct launch_opts){
		.run_dir = LAUNCH_DEFAULT_RUN_DIR,
		.netns_dir = LAUNCH_DEFAULT_NETNS_DIR,
		.image_store = IMAGE_STORE_DEFAULT,
		.volume_dir = LAUNCH_DEFAULT_VOLUME_DIR,
		.cgroup = LAUNCH_DEFAULT_CGROUP,
		.retention_sec = LAUNCH_DEFAULT_RETENTION,
		.pull_timeout_sec = 600,
		.secrets_timeout_sec = 60,
		.insights_interval_sec = 60,
		.vm_kernel = LAUNCH_DEFAULT_VM_KERNEL,
		.vm_initrd = LAUNCH_DEFAULT_VM_INITRD,
	};
}

const char *launch_isolation_to_string(enum launch_isolation i)
{
	switch (i) {
	case LAUNCH_ISOLATION_RUNC:
		return "runc";
	case LAUNCH_ISOLATION_VM:
		return "vm";
	}
	return "runc";
}

int launch_isolation_from_string(const char *s, enum launch_isolation *ret)
{
	if (streq_ptr(s, "runc"))
		*ret = LAUNCH_ISOLATION_RUNC;
	else if (streq_ptr(s, "vm"))
		*ret = LAUNCH_ISOLATION_VM;
	else
		return -EINVAL;
	return 0;
}

static int opt_uint(const char *name, const char *s, unsigned long min, unsigned long max,
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
	return 1;
}

static int opt_dir(const char *name, const char *s, const char **ret)
{
	if (s[0] != '/') {
		fprintf(stderr, "taskvm agent: --%s wants an absolute path, not '%s'\n", name, s);
		return -EINVAL;
	}
	*ret = s;
	return 1;
}

int launch_parse_option(struct launch_opts *o, int c, const char *arg)
{
	size_t n = 0;

	switch (c) {
	case LAUNCH_ARG_RUN_DIR:
		return opt_dir("run-dir", arg, &o->run_dir);
	case LAUNCH_ARG_NETNS_DIR:
		return opt_dir("netns-dir", arg, &o->netns_dir);
	case LAUNCH_ARG_IMAGE_STORE:
		return opt_dir("image-store", arg, &o->image_store);
	case LAUNCH_ARG_VOLUME_DIR:
		return opt_dir("volume-dir", arg, &o->volume_dir);
	case LAUNCH_ARG_CGROUP:
		if (!cgroup_path_valid(arg)) {
			fprintf(stderr,
				"taskvm agent: --cgroup-parent '%s' must be a relative path without '.' or '..'\n",
				arg);
			return -EINVAL;
		}
		o->cgroup = arg;
		return 1;
	case LAUNCH_ARG_INSECURE:
		while (o->insecure[n])
			n++;
		if (n == LAUNCH_MAX_INSECURE) {
			fprintf(stderr, "taskvm agent: at most %d --insecure-registry\n",
				LAUNCH_MAX_INSECURE);
			return -EINVAL;
		}
		o->insecure[n] = arg;
		return 1;
	case LAUNCH_ARG_RETENTION:
		return opt_uint("retention", arg, 0, 30 * 86400, &o->retention_sec);
	case LAUNCH_ARG_PULL_TIMEOUT:
		return opt_uint("pull-timeout", arg, 1, 86400, &o->pull_timeout_sec);
	case LAUNCH_ARG_FAULT:
		o->fault_injection = true;
		return 1;
	case LAUNCH_ARG_SECRETSMANAGER_ENDPOINT:
	case LAUNCH_ARG_SSM_ENDPOINT:
		if (!startswith(arg, "https://") && !startswith(arg, "http://")) {
			fprintf(stderr,
				"taskvm agent: --%s wants https://HOST[:PORT] or http://..., not '%s'\n",
				c == LAUNCH_ARG_SSM_ENDPOINT ? "ssm-endpoint"
							     : "secretsmanager-endpoint",
				arg);
			return -EINVAL;
		}
		if (c == LAUNCH_ARG_SSM_ENDPOINT)
			o->ssm_endpoint = arg;
		else
			o->secretsmanager_endpoint = arg;
		return 1;
	case LAUNCH_ARG_SECRETS_TIMEOUT:
		return opt_uint("secrets-timeout", arg, 1, 3600, &o->secrets_timeout_sec);
	case LAUNCH_ARG_INSIGHTS_ENDPOINT: {
		_cleanup_free_ char *e = NULL;
		struct logship_config lc = {};
		int r = logship_parse_endpoint(arg, &lc, &e);

		free(lc.endpoint);
		free(lc.host);
		if (r == 0 && !lc.addr_len)
			r = fail_with(&e, "the host must be an IP address");
		if (r < 0) {
			fprintf(stderr, "taskvm agent: --insights-endpoint '%s': %s\n", arg,
				e ?: strerror(-r));
			return -EINVAL;
		}
		o->insights_endpoint = arg;
		return 1;
	}
	case LAUNCH_ARG_PULL_BEHAVIOR: {
		enum shim_pull_behavior b;

		if (shim_pull_behavior_from_string(arg, &b) < 0) {
			fprintf(stderr,
				"taskvm agent: --image-pull-behavior '%s' is not default, always, once or prefer-cached\n",
				arg);
			return -EINVAL;
		}
		o->pull_behavior = arg;
		return 1;
	}
	case LAUNCH_ARG_INSIGHTS_INTERVAL:
		return opt_uint("insights-interval", arg, 1, 3600, &o->insights_interval_sec);
	case LAUNCH_ARG_PLATFORM_ENI:
		if (strlen(arg) > 64 || !ident_task_id_valid(arg)) {
			fprintf(stderr,
				"taskvm agent: --platform-eni '%s': not a platform ENI's name (1-64 "
				"of [A-Za-z0-9_.-], first alphanumeric)\n",
				arg);
			return -EINVAL;
		}
		o->platform_eni = arg;
		return 1;
	case LAUNCH_ARG_ISOLATION:
		if (launch_isolation_from_string(arg, &o->isolation) < 0) {
			fprintf(stderr, "taskvm agent: --isolation '%s' is not runc or vm\n", arg);
			return -EINVAL;
		}
		return 1;
	case LAUNCH_ARG_NO_SPARE_SHIM:
		o->no_spare_shim = true;
		return 1;
	case LAUNCH_ARG_NO_RUNC_COPY:
		o->no_runc_copy = true;
		return 1;
	case LAUNCH_ARG_VM_KERNEL:
	case LAUNCH_ARG_VM_INITRD:
		if (arg[0] != '/') {
			fprintf(stderr, "taskvm agent: --%s '%s' must be an absolute path\n",
				c == LAUNCH_ARG_VM_KERNEL ? "vm-kernel" : "vm-initrd", arg);
			return -EINVAL;
		}
		if (c == LAUNCH_ARG_VM_KERNEL)
			o->vm_kernel = arg;
		else
			o->vm_initrd = arg;
		return 1;
	}
	return 0;
}

void launch_help(FILE *f)
{
	fprintf(f,
		"Launching tasks (taskvm run):\n"
		"      --run-dir DIR           the tasks' run directories (default %s)\n"
		"      --netns-dir DIR         their network namespaces, taskvm-<task> (default %s)\n"
		"      --image-store DIR       the image store shared by tasks (default %s)\n"
		"      --volume-dir DIR        the tasks' volume images (default %s)\n"
		"      --cgroup-parent PATH    the tasks' cgroups go below it (default %s)\n"
		"      --insecure-registry HOST[:PORT]  a registry spoken to in plain HTTP\n"
		"      --retention SEC         how long a stopped task stays visible (default %d)\n"
		"      --pull-timeout SEC      the bound of one image's pull (default 600)\n"
		"      --image-pull-behavior default|always|once|prefer-cached  as ECS_IMAGE_PULL_BEHAVIOR\n"
		"      --secretsmanager-endpoint URL  Secrets Manager (default: the task's region's,\n"
		"                              https://secretsmanager.REGION.amazonaws.com)\n"
		"      --ssm-endpoint URL      SSM Parameter Store (default https://ssm.REGION.amazonaws.com)\n"
		"      --secrets-timeout SEC   the bound of a task's secrets fetch (default 60)\n"
		"      --platform-eni NAME     netd's platform ENI (netdctl platform attach NAME ...)\n"
		"                              for the pull, auth, secrets and logs of 1.3.0 tasks\n"
		"                              (default: none, such tasks are refused)\n"
		"      --insights-endpoint tcp://IP[:PORT]  Container Insights: the syslog collector\n"
		"                              of the tasks' performance events (default: none made)\n"
		"      --insights-interval SEC Container Insights' interval (default 60)\n"
		"      --isolation runc|vm     where a task's containers run when taskvm run names\n"
		"                              none: runc containers, or a VM of the task's own\n"
		"                              (default runc)\n"
		"      --vm-kernel FILE        the task VMs' kernel, a vmlinux (default %s)\n"
		"      --vm-initrd FILE        their initramfs (default %s)\n"
		"      --no-spare-shim         keep no shim started ahead of the next task (default:\n"
		"                              one, once a task has been launched)\n"
		"      --no-runc-copy          shims run runc from PATH, not from the agent's sealed\n"
		"                              in-memory copy of it (default: the copy)\n",
		LAUNCH_DEFAULT_RUN_DIR, LAUNCH_DEFAULT_NETNS_DIR, IMAGE_STORE_DEFAULT,
		LAUNCH_DEFAULT_VOLUME_DIR, LAUNCH_DEFAULT_CGROUP, LAUNCH_DEFAULT_RETENTION,
		LAUNCH_DEFAULT_VM_KERNEL, LAUNCH_DEFAULT_VM_INITRD);
}

/* --- helpers ------------------------------------------------------------------------------- */

static void set_str(char **p, const char *v)
{
	free(*p);
	*p = v ? strdup(v) : NULL;
}

static struct launch_task *task_find(struct launch *l, const char *id)
{
	for (struct launch_task *lt = l->tasks; lt; lt = lt->next)
		if (streq(lt->id, id))
			return lt;
	return NULL;
}

static json_t *time_str(uint64_t ns)
{
	char buf[64];

	if (!ns || tmds_format_time(ns, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

/* --fault crash:STEP: the agent dies there (the crash tests). */
static void fault_point(struct launch_task *lt, const char *step)
{
	if (lt->fault && startswith(lt->fault, "crash:") && streq(lt->fault + 6, step)) {
		log_notice("Task '%s': fault injection: crash at %s", lt->id, step);
		raise(SIGKILL);
	}
}

/* The start time of pid (clock ticks since boot, /proc/PID/stat field 22), 0 if none. */
static uint64_t proc_start_time(pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *p;
	unsigned long long v = 0;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, 4096, &buf, &len) < 0)
		return 0;
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ") ": state is field 3; start time is field 22 */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		   "%*d %*d %llu",
		   &v) != 1)
		return 0;
	return v;
}

/* Is pid the shim of run_dir ("taskvm shim --dir RUN_DIR ...")? */
static bool proc_is_shim(pid_t pid, const char *run_dir)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	size_t len, off;
	bool shim = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (read_file(path, 8192, &buf, &len) < 0)
		return false;
	for (off = strlen(buf) + 1; off < len; off += strlen(buf + off) + 1) {
		if (streq(buf + off, "shim"))
			shim = true;
		else if (shim && streq(buf + off, "--dir") && off + 6 < len)
			return streq(buf + off + 6, run_dir);
	}
	return false;
}

/* The shim of run_dir among the processes, 0 if none. */
static pid_t find_shim(const char *run_dir)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (proc_is_shim((pid_t)pid, run_dir))
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

/* --- the journal --------------------------------------------------------------------------- */

static json_t *record_json(struct launch_task *lt)
{
	json_t *j;

	j = json_pack("{s:i, s:s, s:s, s:s, s:I, s:O, s:s, s:s, s:s, s:s,"
		      " s:{s:b, s:b, s:b, s:b, s:b}}",
		      "version", LAUNCH_RECORD_VERSION, "task_id", lt->id, "phase",
		      phase_names[lt->phase], "desired", lt->desired_stop ? "STOPPED" : "RUNNING",
		      "created_ns", (json_int_t)lt->created_ns, "params", lt->params, "netns",
		      lt->netns, "run_dir", lt->run_dir, "volume_dir", lt->volume_dir, "cgroup",
		      lt->cgroup, "steps", "netns", lt->netns_made, "attached", lt->attached,
		      "cgroup", lt->cgroup_made, "shim_spawning", lt->shim_spawning, "start_sent",
		      lt->start_sent);
	if (!j)
		return NULL;
	if (lt->task_arn)
		json_object_set_new(j, "task_arn", json_string(lt->task_arn));
	if (lt->reg_params)
		json_object_set(j, "reg_params", lt->reg_params);
	if (lt->ids) {
		json_object_set(j, "ids", lt->ids);
		json_object_set_new(j, "registered_ns",
				    json_integer((json_int_t)lt->registered_ns));
	}
	if (lt->instance[0])
		json_object_set_new(j, "instance", json_string(lt->instance));
	if (lt->slot >= 0)
		json_object_set_new(j, "slot", json_integer(lt->slot));
	if (lt->address[0])
		json_object_set_new(j, "address", json_string(lt->address));
	if (lt->shim_pid > 0)
		json_object_set_new(j, "shim",
				    json_pack("{s:i, s:I}", "pid", (int)lt->shim_pid, "start_time",
					      (json_int_t)lt->shim_start));
	if (lt->stop_reason || lt->stop_code)
		json_object_set_new(j, "stop",
				    json_pack("{s:s?, s:s?}", "code", lt->stop_code, "reason",
					      lt->stop_reason));
	if (lt->running_ns)
		json_object_set_new(j, "running_ns", json_integer((json_int_t)lt->running_ns));
	if (lt->stopping_ns)
		json_object_set_new(j, "stopping_ns", json_integer((json_int_t)lt->stopping_ns));
	if (lt->stopped_ns)
		json_object_set_new(j, "stopped_ns", json_integer((json_int_t)lt->stopped_ns));
	if (lt->status)
		json_object_set(j, "status", lt->status);
	return j;
}

static int record_path(struct launch *l, const char *id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.json", l->dir, id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Write the task's record (before each step is taken, and after). Failing is logged. */
static int journal_save(struct launch_task *lt)
{
	json_auto_t *j = record_json(lt);
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	int r;

	r = record_path(lt->l, lt->id, path, sizeof(path));
	if (r < 0)
		return r;
	text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!text)
		return log_oom();
	r = write_file_exchange(path, text, strlen(text), 0600);
	if (r < 0)
		log_err_errno(r, "Task '%s': failed to journal its launch in '%s': %m", lt->id,
			      path);
	return r;
}

static void journal_remove(struct launch_task *lt)
{
	char path[PATH_MAX];
	int r;

	r = record_path(lt->l, lt->id, path, sizeof(path));
	if (r >= 0)
		r = unlink_file_exchange(path);
	if (r < 0)
		log_warn_errno(r, "Failed to remove '%s': %m", path);
}

/* --- tasks --------------------------------------------------------------------------------- */

static void conn_close(struct launch_task *lt)
{
	struct event_loop *loop = agent_loop(lt->l->a);

	event_cancel(loop, lt->io_id);
	event_cancel(loop, lt->retry_id);
	lt->io_id = lt->retry_id = 0;
	lt->fd = safe_close(lt->fd);
	ctl_linebuf_done(&lt->lb);
	lt->subscribed = false;
	lt->network_sent = false;
}

static void task_free(struct launch_task *lt)
{
	struct event_loop *loop = agent_loop(lt->l->a);

	conn_close(lt);
	event_cancel(loop, lt->pidfd_id);
	safe_close(lt->pidfd);
	json_decref(lt->params);
	json_decref(lt->reg_params);
	json_decref(lt->ids);
	json_decref(lt->draft_ids);
	json_decref(lt->ahead);
	json_decref(lt->status);
	json_decref(lt->progress);
	free(lt->task_arn);
	free(lt->stop_code);
	free(lt->stop_reason);
	free(lt->fault);
	free(lt);
}

static struct launch_task *task_alloc(struct launch *l, const char *id)
{
	struct launch_task *lt = calloc(1, sizeof(*lt));

	if (!lt)
		return NULL;
	lt->l = l;
	strscpy(lt->id, id, sizeof(lt->id));
	lt->slot = -1;
	lt->fd = lt->pidfd = -1;
	snprintf(lt->netns, sizeof(lt->netns), "%s/%s%s", l->o.netns_dir, LAUNCH_NETNS_PREFIX, id);
	snprintf(lt->run_dir, sizeof(lt->run_dir), "%s/%s", l->o.run_dir, id);
	snprintf(lt->volume_dir, sizeof(lt->volume_dir), "%s/%s", l->o.volume_dir, id);
	snprintf(lt->cgroup, sizeof(lt->cgroup), "%s/%s", l->o.cgroup, id);
	lt->next = l->tasks;
	l->tasks = lt;
	l->ntasks++;
	return lt;
}

static void task_unlink_free(struct launch_task *lt)
{
	struct launch *l = lt->l;

	for (struct launch_task **pp = &l->tasks; *pp; pp = &(*pp)->next)
		if (*pp == lt) {
			*pp = lt->next;
			l->ntasks--;
			break;
		}
	task_free(lt);
}

static const char *td_str(struct launch_task *lt, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(lt->params, "task_definition"), key));
}

/* The containers as ps/inspect show them: the shim's view, or the task definition's. */
static json_t *containers_json(struct launch_task *lt)
{
	json_t *cs = json_object_get(lt->status, "containers");
	json_t *defs = json_object_get(json_object_get(lt->params, "task_definition"),
				       "containerDefinitions");
	json_t *out = json_array(), *c;
	size_t i;

	if (json_is_array(cs)) {
		json_array_foreach(cs, i, c) {
			json_t *o = json_pack("{s:O?, s:O?, s:O?, s:O?}", "name",
					      json_object_get(c, "name"), "image",
					      json_object_get(c, "image"), "status",
					      json_object_get(c, "status"), "essential",
					      json_object_get(c, "essential"));

			if (!o)
				continue;
			for (const char *const *k = (const char *const[]){ "exit_code", "reason",
									   "image_digest", NULL };
			     *k; k++)
				if (json_object_get(c, *k))
					json_object_set(o, *k, json_object_get(c, *k));
			json_object_set_new(o, "created",
					    time_str((uint64_t)json_integer_value(
						    json_object_get(c, "created_ns"))));
			json_object_set_new(o, "started",
					    time_str((uint64_t)json_integer_value(
						    json_object_get(c, "started_ns"))));
			json_object_set_new(o, "finished",
					    time_str((uint64_t)json_integer_value(
						    json_object_get(c, "finished_ns"))));
			json_array_append_new(out, o);
		}
		return out;
	}
	json_array_foreach(defs, i, c)
		json_array_append_new(
			out, json_pack("{s:O?, s:O?, s:s}", "name", json_object_get(c, "name"),
				       "image", json_object_get(c, "image"), "status",
				       lt->phase == LAUNCH_STOPPED ? "STOPPED" : "NONE"));
	return out;
}

static json_t *task_json(struct launch_task *lt, bool detail)
{
	json_t *j, *eni = json_object_get(lt->params, "eni"), *pull;

	j = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:s, s:o, s:o, s:b}", "task_id", lt->id,
		      "task_arn", lt->task_arn, "family", td_str(lt, "family"), "cluster",
		      json_string_value(json_object_get(lt->params, "cluster")), "platform_version",
		      json_string_value(json_object_get(lt->params, "platform_version")), "phase",
		      phase_names[lt->phase], "desired_status",
		      lt->desired_stop ? "STOPPED" : "RUNNING", "created", time_str(lt->created_ns),
		      "containers", containers_json(lt), "launched", true);
	if (!j)
		return NULL;
	json_object_set(j, "platform_revision", json_object_get(lt->params, "platform_revision"));
	json_object_set_new(
		j, "isolation",
		json_string(json_string_value(json_object_get(lt->params, "isolation")) ?: "runc"));
	{
		json_t *rev =
			json_object_get(json_object_get(lt->params, "task_definition"), "revision");

		if (json_is_integer(rev))
			json_object_set_new(
				j, "revision",
				json_sprintf("%lld", (long long)json_integer_value(rev)));
		else if (json_is_string(rev))
			json_object_set(j, "revision", rev);
		else
			json_object_set_new(j, "revision", json_string("1"));
	}
	if (lt->stop_code)
		json_object_set_new(j, "stop_code", json_string(lt->stop_code));
	if (lt->stop_reason)
		json_object_set_new(j, "stopped_reason", json_string(lt->stop_reason));
	if (lt->running_ns)
		json_object_set_new(j, "started", time_str(lt->running_ns));
	if (lt->stopping_ns)
		json_object_set_new(j, "stopping", time_str(lt->stopping_ns));
	if (lt->stopped_ns)
		json_object_set_new(j, "stopped", time_str(lt->stopped_ns));
	json_object_set_new(j, "eni",
			    json_pack("{s:O?, s:s?}", "mac", json_object_get(eni, "mac"), "address",
				      lt->address[0] ? lt->address : NULL));
	pull = json_object_get(lt->status, "pull");
	if (pull)
		json_object_set_new(j, "pull",
				    json_pack("{s:O?, s:O?, s:O?, s:O?, s:o, s:o}", "layers_done",
					      json_object_get(pull, "layers_done"), "layers_total",
					      json_object_get(pull, "layers_total"), "bytes_done",
					      json_object_get(pull, "bytes_done"), "bytes_total",
					      json_object_get(pull, "bytes_total"), "started",
					      time_str((uint64_t)json_integer_value(
						      json_object_get(pull, "started_ns"))),
					      "stopped",
					      time_str((uint64_t)json_integer_value(
						      json_object_get(pull, "stopped_ns")))));
	if (json_object_get(lt->status, "storage"))
		json_object_set(j, "storage", json_object_get(lt->status, "storage"));
	if (detail) {
		json_object_set_new(j, "netns", json_string(lt->netns));
		json_object_set_new(j, "run_dir", json_string(lt->run_dir));
		json_object_set_new(j, "volume_dir", json_string(lt->volume_dir));
		json_object_set_new(j, "cgroup", json_string(lt->cgroup));
		if (lt->slot >= 0)
			json_object_set_new(j, "slot", json_integer(lt->slot));
		if (lt->instance[0])
			json_object_set_new(j, "netd_instance", json_string(lt->instance));
		json_object_set_new(
			j, "shim",
			json_pack("{s:i, s:s?, s:O?}", "pid", (int)lt->shim_pid, "state",
				  json_string_value(json_object_get(lt->status, "state")), "times",
				  json_object_get(lt->status, "times")));
	}
	return j;
}

/* Tell the followers of the task (task.run/task.stop subscriptions) where it is. */
static void task_broadcast(struct launch_task *lt)
{
	struct ctl_server *srv = agent_ctl(lt->l->a);
	char topic[64];
	json_auto_t *j = NULL;

	snprintf(topic, sizeof(topic), "task:%s", lt->id);
	if (!srv || !ctl_server_has_topic(srv, topic))
		return;
	j = task_json(lt, false);
	if (j)
		ctl_server_broadcast(srv, topic, "task", j);
}

static void set_phase(struct launch_task *lt, enum launch_phase p)
{
	if (lt->phase == p)
		return;
	log_info("Task '%s': %s", lt->id, phase_names[p]);
	lt->phase = p;
	journal_save(lt);
	task_broadcast(lt);
	/* a launch is over (its containers run, or it failed): a spare for the next one */
	if (p == LAUNCH_RUNNING || p == LAUNCH_STOPPED)
		spare_schedule(lt->l);
}

/* The first stop's code and reason are the task's. */
static void set_stop(struct launch_task *lt, const char *code, const char *reason)
{
	if (lt->stop_reason)
		return;
	set_str(&lt->stop_code, code);
	set_str(&lt->stop_reason, reason);
}

/* The task's statuses in its metadata, from the shim's status. */
static void model_update(struct launch_task *lt)
{
	struct tmds_task *t;
	json_t *cs, *c;
	size_t i;
	bool all_stopped = true, all_created = true;

	if (!lt->at)
		return;
	t = agent_task_model(lt->at);
	t->launched = true;
	t->desired = lt->desired_stop ? TMDS_STATUS_STOPPED : TMDS_STATUS_RUNNING;
	cs = json_object_get(lt->status, "containers");
	json_array_foreach(cs, i, c) {
		struct tmds_container_state *st;
		enum tmds_status s = TMDS_STATUS_NONE;
		const char *digest = json_string_value(json_object_get(c, "image_digest"));
		json_t *ec = json_object_get(c, "exit_code"), *gs;

		if (i >= t->n_containers)
			break;
		st = &t->containers[i].state;
		tmds_status_from_string(json_string_value(json_object_get(c, "status")), &s);
		st->known = s;
		st->desired = lt->desired_stop || s == TMDS_STATUS_STOPPED ? TMDS_STATUS_STOPPED
									   : TMDS_STATUS_RUNNING;
		st->created_ns = (uint64_t)json_integer_value(json_object_get(c, "created_ns"));
		st->started_ns = (uint64_t)json_integer_value(json_object_get(c, "started_ns"));
		st->finished_ns = (uint64_t)json_integer_value(json_object_get(c, "finished_ns"));
		st->has_exit_code = json_is_integer(ec);
		st->exit_code = (int)json_integer_value(ec);
		gs = json_object_get(c, "guest_stats");
		st->has_guest_stats = json_is_object(gs);
		st->guest_cpu_usec = (uint64_t)json_integer_value(json_object_get(gs, "cpu_usec"));
		st->guest_memory = (uint64_t)json_integer_value(json_object_get(gs, "memory"));
		st->guest_memory_peak =
			(uint64_t)json_integer_value(json_object_get(gs, "memory_peak"));
		if (digest && !streq_ptr(st->image_id, digest)) {
			free(st->image_id);
			st->image_id = strdup(digest);
		}
		if (s != TMDS_STATUS_STOPPED)
			all_stopped = false;
		if (s < TMDS_STATUS_CREATED)
			all_created = false;
	}
	if (all_stopped && json_array_size(cs))
		t->known = TMDS_STATUS_STOPPED;
	else if (lt->phase >= LAUNCH_RUNNING)
		t->known = TMDS_STATUS_RUNNING;
	else if (all_created && json_array_size(cs))
		t->known = TMDS_STATUS_CREATED;
	else
		t->known = TMDS_STATUS_NONE;
	{
		json_t *pull = json_object_get(lt->status, "pull");
		json_t *st = json_object_get(lt->status, "storage");

		t->pull_started_ns =
			(uint64_t)json_integer_value(json_object_get(pull, "started_ns"));
		t->pull_stopped_ns =
			(uint64_t)json_integer_value(json_object_get(pull, "stopped_ns"));
		if (st) {
			t->has_storage = true;
			t->storage_utilized_mib =
				(uint64_t)json_integer_value(json_object_get(st, "utilized_mib"));
			t->storage_reserved_mib =
				(uint64_t)json_integer_value(json_object_get(st, "reserved_mib"));
		}
		if (lt->stopping_ns)
			t->execution_stopped_ns = lt->stopping_ns;
	}
	agent_task_publish(lt->l->a, lt->at);
}

/* --- the shim's connection ------------------------------------------------------------------ */

static int shim_send(struct launch_task *lt, const char *method, json_t *params)
{
	_cleanup_free_ char *line = NULL;
	size_t len;
	int r;

	if (lt->fd < 0) {
		json_decref(params);
		return -ENOTCONN;
	}
	line = ctl_request_format(method, params, ++lt->next_req, &len);
	if (!line)
		return -ENOMEM;
	r = write_all(lt->fd, line, len);
	if (r < 0)
		log_warn_errno(r, "Task '%s': cannot send '%s' to its shim: %m", lt->id, method);
	return r;
}

static void shim_start(struct launch_task *lt)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	struct netd_source *netd = agent_netd(lt->l->a);
	uint64_t t0;
	int r;

	if (lt->start_sent || lt->desired_stop || lt->fd < 0)
		return;
	/* Fargate 1.4: the task ENI goes from READY_PULL to READY before any container runs. */
	t0 = now_usec();
	r = netd->ops->task_set_phase(netd, lt->id, "READY", &err);
	log_debug("Task '%s': netd's task.set_phase READY took %.1f ms", lt->id,
		  (double)(now_usec() - t0) / 1000);
	if (r < 0) {
		char reason[1024];

		snprintf(
			reason, sizeof(reason),
			"ResourceInitializationError: netd cannot make the task's network READY: %s",
			err.message ?: strerror(-r));
		log_err("Task '%s': %s", lt->id, reason);
		set_stop(lt, "TaskFailedToStart", reason);
		lt->desired_stop = true;
		shim_send(lt, "stop",
			  json_pack("{s:s, s:s}", "code", "TaskFailedToStart", "reason", reason));
		return;
	}
	lt->start_sent = true;
	journal_save(lt);
	fault_point(lt, "prepared");
	shim_send(lt, "start", NULL);
}

static void shim_stop(struct launch_task *lt)
{
	/* s*: a member without a value is left out (the shim wants strings or nothing) */
	shim_send(lt, "stop",
		  json_pack("{s:s*, s:s*}", "code", lt->stop_code, "reason", lt->stop_reason));
}

static void apply_status(struct launch_task *lt, json_t *status)
{
	enum shim_state st;
	json_t *stop;
	bool changed;

	if (!json_is_object(status) ||
	    shim_state_from_string(json_string_value(json_object_get(status, "state")), &st) < 0)
		return;
	changed = !lt->status || !json_equal(lt->status, status);
	json_decref(lt->status);
	lt->status = json_incref(status);
	if (!lt->seen_storage && json_object_get(status, "storage")) {
		lt->seen_storage = true;
		fault_point(lt, "storage");
	}
	stop = json_object_get(status, "stop");
	if (stop && (st == SHIM_STATE_STOPPING || st == SHIM_STATE_STOPPED)) {
		set_stop(lt, json_string_value(json_object_get(stop, "code")),
			 json_string_value(json_object_get(stop, "reason")));
		lt->desired_stop = true;
	}
	switch (st) {
	case SHIM_STATE_PREPARING:
		break;
	case SHIM_STATE_READY:
		if (lt->desired_stop)
			shim_stop(lt);
		else
			shim_start(lt);
		break;
	case SHIM_STATE_RUNNING:
		if (lt->desired_stop) {
			shim_stop(lt);
			break;
		}
		if (json_is_true(json_object_get(status, "all_started")) &&
		    lt->phase < LAUNCH_RUNNING) {
			lt->running_ns = realtime_nsec();
			set_phase(lt, LAUNCH_RUNNING);
			fault_point(lt, "running");
		}
		break;
	case SHIM_STATE_STOPPING:
	case SHIM_STATE_STOPPED:
		if (lt->phase < LAUNCH_STOPPING) {
			lt->stopping_ns = lt->stopping_ns ?: realtime_nsec();
			set_phase(lt, LAUNCH_STOPPING);
		}
		break;
	}
	model_update(lt);
	if (changed)
		task_broadcast(lt);
}

static void shim_event(struct launch_task *lt, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));

	if (streq_ptr(type, "status")) {
		json_t *ack = json_object_get(ev, "ack");

		apply_status(lt, json_object_get(ev, "status"));
		/* The status is served now: a container may start (its metadata says RUNNING). */
		if (json_is_integer(ack))
			shim_send(lt, "ack", json_pack("{s:O}", "seq", ack));
	} else if (streq_ptr(type, "progress")) {
		struct ctl_server *srv = agent_ctl(lt->l->a);
		char topic[64];

		json_decref(lt->progress);
		lt->progress = json_incref(ev);
		fault_point(lt, "pulling");
		snprintf(topic, sizeof(topic), "task:%s", lt->id);
		if (srv && ctl_server_has_topic(srv, topic)) {
			json_auto_t *p = json_deep_copy(ev);

			json_object_del(p, "type");
			json_object_set_new(p, "task_id", json_string(lt->id));
			ctl_server_broadcast(srv, topic, "progress", p);
		}
	}
}

static void shim_line(struct launch_task *lt, const char *line, size_t len)
{
	json_auto_t *msg = json_loadb(line, len, 0, NULL);
	json_t *res, *err;

	if (!msg)
		return;
	if (streq_ptr(json_string_value(json_object_get(msg, "method")), "event")) {
		shim_event(lt, json_object_get(msg, "params"));
		return;
	}
	err = json_object_get(msg, "error");
	if (err) {
		log_warn("Task '%s': its shim answered: %s", lt->id,
			 strna(json_string_value(json_object_get(err, "message"))));
		return;
	}
	res = json_object_get(msg, "result");
	if (json_object_get(res, "state")) {
		if (!lt->subscribed) {
			lt->subscribed = true;
			/* A stop asked while the shim was not reachable. */
			if (lt->desired_stop)
				shim_stop(lt);
		}
		apply_status(lt, res);
		shim_network(lt);
	}
}

static void shim_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct launch_task *lt = data;
	char *line;
	size_t len;
	int r;

	r = ctl_linebuf_fill(&lt->lb, fd);
	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		log_debug("Task '%s': the shim's connection closed", lt->id);
		conn_close(lt);
		/* Its exit arrives on the pidfd; if it lives, connect again. */
		if (lt->shim_pid > 0 && lt->pidfd >= 0) {
			lt->connect_deadline = now_usec() + LAUNCH_CONNECT_DEADLINE;
			shim_connect(lt);
		}
		return;
	}
	while ((r = ctl_linebuf_next(&lt->lb, &line, &len)) != 0)
		if (r > 0)
			shim_line(lt, line, len);
}

static void connect_retry(struct event_loop *loop, void *data)
{
	struct launch_task *lt = data;

	lt->retry_id = 0;
	shim_connect(lt);
}

/* Connect to the shim's socket (it may not listen yet: retried every 10 ms, 10 s at most). */
static void shim_connect(struct launch_task *lt)
{
	struct event_loop *loop = agent_loop(lt->l->a);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (lt->fd >= 0 || lt->retry_id)
		return;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", lt->run_dir,
			     SHIM_SOCKET_FILE) >= sizeof(sa.sun_path)) {
		log_err("Task '%s': the shim's socket path is too long", lt->id);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err_errno(errno, "Task '%s': socket: %m", lt->id);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		if (now_usec() > lt->connect_deadline) {
			log_err_errno(r, "Task '%s': cannot reach its shim at '%s': %m", lt->id,
				      sa.sun_path);
			return;
		}
		r = event_add_timer(loop, LAUNCH_CONNECT_RETRY_MS * 1000ULL, connect_retry, lt,
				    NULL);
		if (r > 0)
			lt->retry_id = r;
		return;
	}
	/* A shim that stopped reading holds the agent up for a second at most. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ .tv_sec = 1 },
		       sizeof(struct timeval)) < 0)
		log_debug_errno(errno, "Task '%s': SO_SNDTIMEO: %m", lt->id);
	lt->fd = fd;
	ctl_linebuf_init(&lt->lb, CTL_MAX_REPLY);
	r = event_add_io(loop, fd, EPOLLIN, shim_io, lt, NULL);
	if (r < 0) {
		log_err_errno(r, "Task '%s': cannot watch its shim's connection: %m", lt->id);
		conn_close(lt);
		return;
	}
	lt->io_id = r;
	shim_send(lt, "events.subscribe", NULL);
}

/* --- the shim's exit ------------------------------------------------------------------------ */

/* What the shim left in status.json (its last status), or NULL. */
static json_t *read_final_status(struct launch_task *lt)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", lt->run_dir, SHIM_STATUS_FILE);
	return json_load_file(path, 0, NULL);
}

/* The shim is gone: take its last status, tear the rest down. */
static void shim_gone(struct launch_task *lt, const char *how)
{
	json_auto_t *final = read_final_status(lt);
	enum shim_state st = SHIM_STATE_PREPARING;

	conn_close(lt);
	event_cancel(agent_loop(lt->l->a), lt->pidfd_id);
	lt->pidfd_id = 0;
	lt->pidfd = safe_close(lt->pidfd);
	if (final)
		shim_state_from_string(json_string_value(json_object_get(final, "state")), &st);
	if (final && st == SHIM_STATE_STOPPED) {
		apply_status(lt, final);
	} else {
		char reason[512];

		/* Its containers are killed by the teardown: say so in their status. */
		if (final) {
			json_t *cs = json_object_get(final, "containers"), *c;
			size_t i;

			json_array_foreach(cs, i, c)
				if (!streq_ptr(json_string_value(json_object_get(c, "status")),
					       "STOPPED")) {
					json_object_set_new(c, "status", json_string("STOPPED"));
					if (!json_object_get(c, "reason"))
						json_object_set_new(
							c, "reason",
							json_string(
								"TaskRuntimeError: stopped with "
								"its task's runtime"));
				}
			json_object_set_new(final, "state", json_string("STOPPED"));
			json_decref(lt->status);
			lt->status = json_incref(final);
		}
		snprintf(reason, sizeof(reason),
			 "TaskRuntimeError: the task's runtime (taskvm shim) %s", how);
		log_err("Task '%s': %s", lt->id, reason);
		set_stop(lt, lt->phase < LAUNCH_RUNNING ? "TaskFailedToStart" : NULL, reason);
		lt->desired_stop = true;
		model_update(lt);
	}
	task_teardown(lt);
}

static void on_pidfd(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct launch_task *lt = data;
	siginfo_t si = {};
	char how[96] = "exited";

	/* Reap it if it is our child (an adopted one is init's). */
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
		if (si.si_code == CLD_EXITED)
			snprintf(how, sizeof(how), "exited with status %d", si.si_status);
		else
			snprintf(how, sizeof(how), "was killed by signal %d (%s)", si.si_status,
				 strsignal(si.si_status));
	}
	log_info("Task '%s': its shim (pid %d) %s", lt->id, (int)lt->shim_pid, how);
	shim_gone(lt, how);
}

static int watch_shim(struct launch_task *lt)
{
	int fd, r;

	fd = pidfd_open(lt->shim_pid, 0);
	if (fd < 0)
		return -errno;
	r = event_add_io(agent_loop(lt->l->a), fd, EPOLLIN, on_pidfd, lt, NULL);
	if (r < 0) {
		close(fd);
		return r;
	}
	lt->pidfd = fd;
	lt->pidfd_id = r;
	return 0;
}

/* --- provisioning --------------------------------------------------------------------------- */

/*
 * The sealed copy of runc for the next shim: made once, and again when the binary in PATH is
 * no longer the one copied (an upgrade: shims running keep theirs). -1 if there is none: the
 * shim runs runc by its path (--no-runc-copy, a wrapper script, no memfd).
 */
static int runc_copy(struct launch *l)
{
	_cleanup_free_ char *e = NULL;
	int fd, r;

	if (l->o.no_runc_copy)
		return -1;
	if (l->runc_fd >= 0 && !runc_copy_stale(NULL, &l->runc_id))
		return l->runc_fd;
	r = runc_copy_open(NULL, &fd, &l->runc_id, &e);
	if (r < 0) {
		/* the old copy, if any, is better than none: the binary may be mid-upgrade */
		if (!l->runc_copy_failed)
			log_info("Shims run runc by its path, not from a sealed copy: %s",
				 e ?: strerror(-r));
		l->runc_copy_failed = true;
		return l->runc_fd;
	}
	if (l->runc_fd >= 0)
		log_info("runc changed: a new sealed copy for the shims from now on");
	safe_close(l->runc_fd);
	l->runc_fd = fd;
	l->runc_copy_failed = false;
	return fd;
}

/*
 * The agent's environment with LD_BIND_NOW=1, for a spare: its libraries' symbols are bound at
 * its exec, ahead of the task, instead of at each one's first call, which would come in the
 * task's start (the shim's way to runc create) and again in every pull child forked from it,
 * whose lookups are its own (about 10% of the CPU a pull of a cached image takes, beside runc
 * create). The shim takes it out of its environment at once: its children do not inherit it.
 */
static char **env_bind_now(void)
{
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!startswith(environ[i], "LD_BIND_NOW="))
			envp[k++] = environ[i];
	envp[k++] = (char *)"LD_BIND_NOW=1";
	envp[k] = NULL;
	return envp;
}

/*
 * Fork and exec `taskvm shim --dir RUN_DIR [--spare] [--runc-fd 3]` in a session of its own,
 * output to RUN_DIR/shim.log, its stdin in_fd (a spare's pipe, the spare at LAUNCH_SPARE_NICE)
 * or /dev/null, runc's sealed copy (runc_copy()) as its descriptor 3.
 */
static int shim_exec(struct launch *l, const char *run_dir, int in_fd, pid_t *ret_pid)
{
	int runc_fd = runc_copy(l);
	char log_path[PATH_MAX + 32], level[4];
	char *argv[10] = { "taskvm", "shim", "--dir", (char *)run_dir, "--log-level", level };
	size_t n = 6;
	_cleanup_close_ int log_fd = -1, null_fd = -1;
	_cleanup_free_ char **envp = NULL;
	bool spare = in_fd >= 0;
	sigset_t all;
	pid_t pid;

	if (spare) {
		argv[n++] = "--spare";
		envp = env_bind_now();
		if (!envp)
			return -ENOMEM;
	}
	if (runc_fd >= 0) {
		argv[n++] = "--runc-fd";
		argv[n++] = "3";
	}
	argv[n] = NULL;
	snprintf(level, sizeof(level), "%d", (int)log_get_level());
	snprintf(log_path, sizeof(log_path), "%s/%s", run_dir, SHIM_LOG_FILE);
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return -errno;
	if (in_fd < 0) {
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null_fd < 0)
			return -errno;
		in_fd = null_fd;
	}
	sigfillset(&all);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Only async-signal-safe calls here: the agent has threads. */
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &dfl, NULL);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		if (setsid() < 0 || dup2(in_fd, 0) < 0 || dup2(log_fd, 1) < 0 ||
		    dup2(log_fd, 2) < 0)
			_exit(127);
		if (spare)
			(void)setpriority(PRIO_PROCESS, 0, LAUNCH_SPARE_NICE);
		/* dup2() clears close-on-exec, but onto itself */
		if (runc_fd >= 0 && (runc_fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(runc_fd, 3)) < 0)
			_exit(127);
		close_range(runc_fd >= 0 ? 4 : 3, ~0U, 0);
		execve(l->exe, argv, envp ?: environ);
		_exit(127);
	}
	*ret_pid = pid;
	return 0;
}

/* The task's shim, started now. */
static int shim_spawn(struct launch_task *lt)
{
	int r;

	r = shim_exec(lt->l, lt->run_dir, -1, &lt->shim_pid);
	if (r < 0)
		return r;
	lt->shim_start = proc_start_time(lt->shim_pid);
	return 0;
}

/* --- the spare shim ------------------------------------------------------------------------- */

/*
 * The volumes a spare made and mounted ahead for a task that did not come (shim.c,
 * spare_premake(): VOLUME_DIR/ID, mounted below RUN_DIR/ID/mnt), before its directory goes. A
 * spare that lives removes them too once its pipe ends; storage_teardown() finds done what the
 * other did.
 */
static void spare_volumes_remove(struct launch *l, const char *id)
{
	_cleanup_free_ char *e = NULL;
	char dir[PATH_MAX + 64], mnt[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/%s", l->o.volume_dir, id);
	snprintf(mnt, sizeof(mnt), "%s/%s/mnt", l->o.run_dir, id);
	if (storage_teardown(dir, mnt, &e) < 0)
		log_warn("Cannot remove the spare shim's volumes: %s", e ?: "?");
}

/* The network namespace and the cgroup a task of id would have (task_new()'s paths). */
static void spare_paths(struct launch *l, const char *id, char *netns, size_t netns_size,
			char *cgroup, size_t cgroup_size)
{
	snprintf(netns, netns_size, "%s/%s%s", l->o.netns_dir, LAUNCH_NETNS_PREFIX, id);
	snprintf(cgroup, cgroup_size, "%s/%s", l->o.cgroup, id);
}

/* The namespace and cgroup a spare made ahead for a task that did not come. */
static void spare_netns_cgroup_remove(struct launch *l, const char *id)
{
	char netns[PATH_MAX], cgroup[PATH_MAX];
	int r;

	spare_paths(l, id, netns, sizeof(netns), cgroup, sizeof(cgroup));
	r = netns_remove(netns);
	if (r < 0)
		log_warn_errno(r, "Cannot remove the spare shim's namespace '%s': %m", netns);
	r = cgroup_remove("/proc/self/mountinfo", cgroup);
	if (r < 0)
		log_warn_errno(r, "Cannot remove the spare shim's cgroup '%s': %m", cgroup);
}

/* Forget the spare: its pipe closed (it exits), its directory removed unless a task has it. */
static void spare_drop(struct launch *l)
{
	struct launch_spare *sp = &l->spare;
	char dir[PATH_MAX];

	event_cancel(agent_loop(l->a), sp->pidfd_id);
	safe_close(sp->pidfd);
	safe_close(sp->fd);
	if (sp->id[0] && !sp->taken) {
		if (sp->netns_made || sp->cgroup_made)
			spare_netns_cgroup_remove(l, sp->id);
		spare_volumes_remove(l, sp->id); /* first: rm_rf() stops at a mount */
		snprintf(dir, sizeof(dir), "%s/%s", l->o.run_dir, sp->id);
		rm_rf(dir);
	}
	*sp = (struct launch_spare){ .fd = -1, .pidfd = -1 };
}

/* The spare exited before a task claimed it. */
static void on_spare_pidfd(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct launch *l = data;
	siginfo_t si = {};

	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	if (l->spare.fd < 0) {
		/* released (spare_release()): it read the end of its pipe; one for the next task */
		spare_drop(l);
		spare_schedule(l);
		return;
	}
	log_warn("The spare shim (pid %d) %s %d before a task took it", (int)l->spare.pid,
		 si.si_code == CLD_EXITED ? "exited with status" : "was killed by signal",
		 si.si_status);
	spare_drop(l); /* the next task starts a shim of its own */
}

/*
 * The spare's file (its mark, SHIM_SPARE_FILE): where to make the volumes of a task of the
 * version's latest revision ahead, that is the next task's own volume directory.
 */
static int spare_file_write(struct launch *l, const char *dir)
{
	const struct platform *pf;
	_cleanup_free_ char *e = NULL, *text = NULL;
	json_auto_t *j = NULL;
	char path[PATH_MAX + 16], volume_dir[PATH_MAX + 64];
	int r;

	r = platform_lookup("LATEST", &pf, &e);
	if (r < 0)
		return log_warn_errno(r, "No spare shim: %s", e ?: strerror(-r));
	snprintf(volume_dir, sizeof(volume_dir), "%s/%s", l->o.volume_dir, l->spare.id);
	j = json_pack("{s:s, s:s, s:i, s:s*}", "volume_dir", volume_dir, "platform_version",
		      pf->version, "platform_revision", (int)pf->revision, "platforms_dir",
		      l->o.platforms_dir);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, LAUNCH_SPARE_MARK);
	return write_file_atomic(path, text, strlen(text), 0600);
}

/*
 * The next task's network namespace (empty) and cgroup (no limits yet: provision() sets them),
 * made with the spare, named after its id: the task that takes the id takes them too, so that
 * neither is on its path before its shim creates its containers. Failing is only logged: that
 * task makes its own. Its directory's mark (spare_file_write()) names them for a restarted agent.
 */
static void spare_netns_cgroup_make(struct launch *l)
{
	struct launch_spare *sp = &l->spare;
	char netns[PATH_MAX], cgroup[PATH_MAX];
	int r;

	spare_paths(l, sp->id, netns, sizeof(netns), cgroup, sizeof(cgroup));
	r = mkdir_p(l->o.netns_dir, 0755);
	if (r >= 0)
		r = netns_create(netns);
	if (r < 0)
		log_warn_errno(r, "Spare shim: cannot make the next task's namespace '%s': %m",
			       netns);
	sp->netns_made = r >= 0;
	sp->cgroup_made = true; /* before: a failure halfway leaves nothing unknown */
	r = cgroup_create(agent_cgroup_roots(l->a), cgroup, &(struct cgroup_limits){});
	if (r < 0) {
		log_warn_errno(r, "Spare shim: cannot make the next task's cgroup '%s': %m",
			       cgroup);
		if (cgroup_remove("/proc/self/mountinfo", cgroup) >= 0)
			sp->cgroup_made = false;
	}
}

/* Start a spare shim, if none and the agent keeps one. */
static void spare_start(struct launch *l)
{
	struct launch_spare *sp = &l->spare;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int p[2] = { -1, -1 }, r;

	if (l->o.no_spare_shim || !l->launched || sp->pid > 0)
		return;
	*sp = (struct launch_spare){ .fd = -1, .pidfd = -1 };
	r = random_hex(sp->id, TMDS_ECS_ID_LEN / 2);
	if (r < 0)
		sp->id[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/%s", l->o.run_dir, sp->id);
	if (r >= 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, SHIM_LOG_DIR);
		r = mkdir_p(path, 0755);
	}
	if (r >= 0)
		r = spare_file_write(l, dir);
	if (r >= 0)
		r = RET_NERRNO(pipe2(p, O_CLOEXEC));
	if (r >= 0)
		r = shim_exec(l, dir, p[0], &sp->pid);
	safe_close(p[0]);
	sp->fd = p[1];
	if (r >= 0) {
		sp->start = proc_start_time(sp->pid);
		sp->pidfd = pidfd_open(sp->pid, 0);
		r = sp->pidfd < 0 ? -errno : 0;
	}
	if (r >= 0) {
		r = event_add_io(agent_loop(l->a), sp->pidfd, EPOLLIN, on_spare_pidfd, l, NULL);
		if (r >= 0)
			sp->pidfd_id = r;
	}
	if (r < 0) {
		log_warn_errno(r, "Cannot start a spare shim: %m");
		sp->fd = safe_close(sp->fd);
		if (sp->pid > 0)
			waitpid(sp->pid, NULL, 0); /* the end of its stdin: it exits at once */
		spare_drop(l);
		return;
	}
	spare_netns_cgroup_make(l);
	log_debug("Spare shim %s started (pid %d)", sp->id, (int)sp->pid);
}

static void on_spare_timer(struct event_loop *loop, void *data)
{
	struct launch *l = data;

	l->spare_timer = 0;
	spare_start(l);
}

/*
 * A spare shortly after a launch is over, not at once: its fork and exec, on the machine's
 * CPUs, would slow the start of the containers that were just let go (the shim starts them on
 * the agent's answer to the status that says RUNNING, sent after this).
 */
static void spare_schedule(struct launch *l)
{
	int r;

	if (l->o.no_spare_shim || !l->launched || l->spare.pid > 0 || l->spare_timer)
		return;
	r = event_add_timer(agent_loop(l->a), LAUNCH_SPARE_DELAY_USEC, on_spare_timer, l, NULL);
	if (r > 0)
		l->spare_timer = r;
	else
		spare_start(l);
}

/* A task takes the spare's id (task.run, journalled): the directory is the task's from now. */
static void spare_reserve(struct launch *l, struct launch_task *lt)
{
	char path[PATH_MAX + 16];

	l->spare.taken = true;
	l->spare.task = lt;
	snprintf(path, sizeof(path), "%s/%s", lt->run_dir, LAUNCH_SPARE_MARK);
	unlink(path);
}

/* A task that took the spare's id but will not run: the spare goes, the directory stays. */
static void spare_release(struct launch_task *lt)
{
	struct launch_spare *sp = &lt->l->spare;

	if (sp->task != lt)
		return;
	/* the end of its pipe: it exits, reaped on its pidfd (on_spare_pidfd()) */
	sp->task = NULL;
	sp->fd = safe_close(sp->fd);
}

/*
 * The task's shim is the spare whose id it took, if that one still lives: its pid journalled,
 * then the byte that starts it on the task's shim.json. false: start one.
 */
static bool spare_claim(struct launch_task *lt)
{
	struct launch_spare *sp = &lt->l->spare;
	siginfo_t si = {};

	if (sp->task != lt || sp->pid <= 0)
		return false;
	lt->shim_pid = sp->pid;
	lt->shim_start = sp->start;
	journal_save(lt);
	/* the task's now: its session (the shim, what it still makes ahead) at the usual priority */
	if (setpriority(PRIO_PGRP, sp->pid, 0) < 0)
		log_debug_errno(errno, "Task '%s': cannot renice the spare (pid %d): %m", lt->id,
				(int)sp->pid);
	if (write(sp->fd, "g", 1) == 1) {
		log_debug("Task '%s': its shim is the spare (pid %d)", lt->id, (int)sp->pid);
		spare_drop(lt->l); /* the task watches it from now */
		return true;
	}
	/* it died, its pipe's read end with it: reap it, start another, on volumes of its own */
	log_warn_errno(errno, "Task '%s': the spare shim (pid %d) is gone (%m), starting one",
		       lt->id, (int)sp->pid);
	waitid((idtype_t)P_PIDFD, (id_t)sp->pidfd, &si, WEXITED);
	spare_volumes_remove(lt->l, lt->id);
	spare_drop(lt->l);
	lt->shim_pid = 0;
	lt->shim_start = 0;
	return false;
}

/* A restarted agent: the spares of the one before (their directories marked) are removed. */
static void spare_orphans_remove(struct launch *l)
{
	DIR *d = opendir(l->o.run_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 80];

		if (!ident_task_id_valid(de->d_name) || strlen(de->d_name) != TMDS_ECS_ID_LEN ||
		    task_find(l, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", l->o.run_dir, de->d_name,
			 LAUNCH_SPARE_MARK);
		if (access(path, F_OK) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", l->o.run_dir, de->d_name);
		log_info("Removing '%s', the spare shim's of the agent before", path);
		spare_netns_cgroup_remove(l, de->d_name);
		spare_volumes_remove(l, de->d_name);
		rm_rf(path);
	}
	closedir(d);
}

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The cluster's name: the part of its ARN after "cluster/", or the name as given. */
static const char *cluster_name(struct launch_task *lt)
{
	const char *c = json_string_value(json_object_get(lt->params, "cluster")) ?: "default";
	const char *slash = strstr(c, ":cluster/");

	return slash ? slash + strlen(":cluster/") : c;
}

/* Container Insights' log group of the task's cluster, as Container Insights names it. */
static void insights_group(struct launch_task *lt, char *buf, size_t size)
{
	snprintf(buf, size, "/aws/ecs/containerinsights/%s/performance", cluster_name(lt));
}

/* Whether the task's containers run in a VM (isolation vm). */
static bool task_is_vm(struct launch_task *lt)
{
	return streq_ptr(json_string_value(json_object_get(lt->params, "isolation")), "vm");
}

/* RUN_DIR/shim.json: what the shim needs to start (its network comes later). */
static int shim_config_write(struct launch_task *lt)
{
	struct launch *l = lt->l;
	json_auto_t *j = NULL;
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX + 32];
	json_t *pe;

	j = json_pack("{s:i, s:s, s:s, s:i, s:s*, s:O, s:s, s:s, s:o, s:s, s:s, s:i, s:i}",
		      "version", SHIM_CONFIG_VERSION, "task_id", lt->id, "platform_version",
		      lt->platform->version, "platform_revision", (int)lt->platform->revision,
		      "platforms_dir", l->o.platforms_dir, "task_definition",
		      json_object_get(lt->params, "task_definition"), "netns", lt->netns,
		      "image_store", l->o.image_store, "insecure_registries",
		      strv_json(l->o.insecure), "volume_dir", lt->volume_dir, "cgroup", lt->cgroup,
		      "pull_timeout_sec", (int)l->o.pull_timeout_sec, "usage_interval_sec",
		      (int)agent_stats_interval(l->a));
	if (!j)
		return -ENOMEM;
	if (json_object_set_new(j, "region",
				json_string(json_string_value(
					json_object_get(lt->reg_params, "region")))) < 0 ||
	    (l->o.secretsmanager_endpoint &&
	     json_object_set_new(j, "secretsmanager_endpoint",
				 json_string(l->o.secretsmanager_endpoint)) < 0) ||
	    (l->o.ssm_endpoint &&
	     json_object_set_new(j, "ssm_endpoint", json_string(l->o.ssm_endpoint)) < 0) ||
	    json_object_set_new(j, "secrets_timeout_sec", json_integer(l->o.secrets_timeout_sec)) <
		    0)
		return -ENOMEM;
	/* the flows the platform version sends through the platform ENI: its namespace, DNS */
	pe = json_object_get(lt->params, "platform_eni");
	if (pe &&
	    json_object_set_new(j, "platform_eni",
				json_pack("{s:O, s:O}", "netns", json_object_get(pe, "netns"),
					  "nameservers", json_object_get(pe, "nameservers"))) < 0)
		return -ENOMEM;
	if (task_is_vm(lt) && json_object_set_new(j, "vm",
						  json_pack("{s:s, s:s}", "kernel", l->o.vm_kernel,
							    "initrd", l->o.vm_initrd)) < 0)
		return -ENOMEM;
	if (lt->ahead && json_object_set(j, "ahead", lt->ahead) < 0)
		return -ENOMEM;
	if (l->o.pull_behavior && !streq(l->o.pull_behavior, "default") &&
	    json_object_set_new(j, "image_pull_behavior", json_string(l->o.pull_behavior)) < 0)
		return -ENOMEM;
	if (l->o.insights_endpoint && lt->platform->insights.supported) {
		char group[LOGSHIP_GROUP_MAX + 64];
		json_t *in;

		insights_group(lt, group, sizeof(group));
		in = json_pack("{s:s, s:s}", "endpoint", l->o.insights_endpoint, "group", group);

		if (!in || json_object_set_new(j, "insights", in) < 0)
			return -ENOMEM;
	}
	text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", lt->run_dir, SHIM_CONFIG_FILE);
	return write_file_atomic(path, text, strlen(text), 0600);
}

/* Whether a container of the task has secrets. */
static bool task_has_secrets(struct launch_task *lt)
{
	json_t *cs = json_object_get(json_object_get(lt->params, "task_definition"),
				     "containerDefinitions"),
	       *c;
	size_t i;

	json_array_foreach(cs, i, c)
		if (json_array_size(json_object_get(c, "secrets")))
			return true;
	return false;
}

/* The shim's "network": the slot (socket marks), DNS, the containers' hostname and env, and
 * the execution role's credentials when it has secrets to fetch. */
static json_t *shim_network_json(struct launch_task *lt)
{
	struct tmds_task *t = agent_task_model(lt->at);
	json_t *eni = json_object_get(lt->params, "eni"), *env = json_object(), *j;
	const char *hostname = json_string_value(json_object_get(t->network, "PrivateDNSName"));
	int r = 0;

	for (size_t i = 0; i < t->n_containers; i++)
		json_object_set_new(env, t->containers[i].def->name,
				    agent_task_env(lt->l->a, lt->at, i));
	j = json_pack("{s:i, s:O, s:O, s:o}", "slot", lt->slot, "nameservers",
		      json_object_get(eni, "nameservers") ?: json_array(), "search",
		      json_object_get(eni, "search") ?: json_array(), "env", env);
	if (j && lt->address[0])
		json_object_set_new(j, "address", json_string(lt->address));
	if (j && hostname)
		json_object_set_new(j, "hostname", json_string(hostname));
	/*
	 * The execution role's credentials, for the secrets the shim fetches: over its socket,
	 * never in a file. None (no credentials file for the role yet): the fetch fails on that.
	 */
	if (j && t->def->execution_role_arn && task_has_secrets(lt)) {
		json_t *creds = agent_role_credentials(lt->l->a, t->def->execution_role_arn, &r);

		if (creds)
			json_object_set_new(j, "execution_role_credentials", creds);
		else
			log_warn_errno(r,
				       "Task '%s': no credentials of its execution role '%s': %m",
				       lt->id, t->def->execution_role_arn);
	}
	return j;
}

/* Give the shim its network, once it is there and the shim listens and lacks it. */
static void shim_network(struct launch_task *lt)
{
	json_t *net;

	if (!lt->network_ready || !lt->at || lt->fd < 0 || !lt->subscribed || lt->network_sent ||
	    lt->desired_stop)
		return;
	if (json_is_true(json_object_get(lt->status, "network")))
		return;
	net = shim_network_json(lt);
	if (!net) {
		log_oom();
		return;
	}
	if (shim_send(lt, "network", net) >= 0)
		lt->network_sent = true;
}

/* netd's attach of the task ENI, in READY_PULL. */
static int provision_attach(struct launch_task *lt, char **ret_error)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	struct netd_source *netd = agent_netd(lt->l->a);
	json_t *eni = json_object_get(lt->params, "eni"), *params, *dns, *ips;
	json_auto_t *nt = NULL;
	const char *addr;
	int r;

	dns = json_object();
	if (json_object_get(eni, "nameservers"))
		json_object_set(dns, "nameservers", json_object_get(eni, "nameservers"));
	if (json_object_get(eni, "search"))
		json_object_set(dns, "search", json_object_get(eni, "search"));
	params = json_pack("{s:s, s:s, s:O, s:O, s:o, s:s, s:b, s:i, s:{s:s}}", "task_id", lt->id,
			   "netns", lt->netns, "mac", json_object_get(eni, "mac"), "addresses",
			   json_object_get(eni, "addresses"), "dns", dns, "phase", "READY_PULL",
			   "resolv_conf", false, "timeout_ms", 0, "attrs", "launched_by", "taskvm");
	if (params && json_object_get(eni, "routes"))
		json_object_set(params, "routes", json_object_get(eni, "routes"));
	if (params && json_object_get(eni, "mtu"))
		json_object_set(params, "mtu", json_object_get(eni, "mtu"));
	/* a VM's taps beside eth1 and md0 (netd's wiring vm) */
	if (params && task_is_vm(lt))
		json_object_set_new(params, "wiring", json_string("vm"));
	if (!params)
		return -ENOMEM;
	r = netd->ops->task_attach(netd, params, LAUNCH_ATTACH_TIMEOUT_MS, &nt, &err);
	if (r < 0)
		return fail_errno(ret_error, r, "netd cannot attach the task ENI %s: %s",
				  json_string_value(json_object_get(eni, "mac")),
				  err.message ?: strerror(-r));
	lt->attached = true;
	strscpy(lt->instance, json_string_value(json_object_get(nt, "instance")) ?: "",
		sizeof(lt->instance));
	lt->slot = (int)json_integer_value(json_object_get(nt, "slot"));
	ips = json_object_get(nt, "ips");
	addr = json_string_value(json_object_get(json_array_get(ips, 0), "address"));
	if (addr) {
		const char *slash = strchr(addr, '/');
		size_t n = slash ? (size_t)(slash - addr) : strlen(addr);

		if (n < sizeof(lt->address)) {
			memcpy(lt->address, addr, n);
			lt->address[n] = '\0';
		}
	}
	return 0;
}

static void provision_fail(struct launch_task *lt, const char *fmt, ...) _printf_(2, 3);
static void provision_fail(struct launch_task *lt, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *reason = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (asprintf(&reason, "ResourceInitializationError: %s", msg ?: "?") < 0)
		reason = NULL;
	log_err("Task '%s': %s", lt->id, reason ?: "provisioning failed");
	set_stop(lt, "TaskFailedToStart", reason);
	lt->desired_stop = true;
	journal_save(lt);
	/* A shim that was started stops (its storage with it); its exit ends the teardown. */
	if (lt->shim_pid > 0 && lt->pidfd >= 0)
		kill(lt->shim_pid, SIGTERM);
	task_teardown(lt);
}

/*
 * A task ENI without an IPv6 address: IPv6 off in the namespace (before the ENI comes in), so
 * that the kernel sends no neighbour discovery or MLD of its own on the task's behalf.
 */
static int netns_ipv4_only(struct launch_task *lt)
{
	json_t *addrs = json_object_get(json_object_get(lt->params, "eni"), "addresses"), *a;
	_cleanup_close_ int fd = -1;
	size_t i;
	int r;

	json_array_foreach(addrs, i, a)
		if (strchr(json_string_value(a) ?: "", ':'))
			return 0;
	r = netns_open(lt->netns, &fd);
	if (r < 0)
		return r;
	r = netns_sysctl_write(fd, "net/ipv6/conf/all/disable_ipv6", "1");
	if (r >= 0)
		r = netns_sysctl_write(fd, "net/ipv6/conf/default/disable_ipv6", "1");
	return r == -ENOENT ? 0 : r; /* a kernel without IPv6 */
}

/*
 * The task's network as its containers will see it, before netd's attach: the registration's ids
 * drawn now (it is made with them once netd has the task), the containers' environment, the
 * address (the ENI's first IPv4 one) and its DNS name, the DNS servers. The shim creates the
 * containers with it while netd attaches the ENI (docs/runtime.md); provision() checks that the
 * registration agrees.
 */
static int ahead_draft(struct launch_task *lt, char **ret_error)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	json_t *eni = json_object_get(lt->params, "eni"), *a, *env = NULL;
	const char *address = NULL,
		   *region = json_string_value(json_object_get(lt->reg_params, "region"));
	char host[128], addr[INET6_ADDRSTRLEN + 8];
	size_t i;
	int r;

	json_array_foreach(json_object_get(eni, "addresses"), i, a) {
		const char *v = json_string_value(a);

		if (v && !strchr(v, ':')) {
			address = v;
			break;
		}
	}
	if (!address || !region)
		return fail_with(ret_error, "the task ENI has no IPv4 address");
	strscpy(addr, address, sizeof(addr));
	addr[strcspn(addr, "/")] = '\0';
	r = tmds_private_dns_name(addr, region, host, sizeof(host));
	if (r < 0)
		return fail_with(ret_error, "the task ENI's address '%s' is not IPv4", address);
	r = agent_task_draft(lt->l->a, lt->reg_params, &lt->draft_ids, &env, &err);
	if (r < 0)
		return fail_with(ret_error, "%s", err.message ?: strerror(-r));
	lt->ahead = json_pack("{s:s, s:s, s:O, s:O, s:o}", "address", addr, "hostname", host,
			      "nameservers", json_object_get(eni, "nameservers") ?: json_array(),
			      "search", json_object_get(eni, "search") ?: json_array(), "env", env);
	if (!lt->ahead) {
		json_decref(lt->draft_ids);
		lt->draft_ids = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The registration agrees with what the shim was given ahead (ahead_draft()). */
static int ahead_check(struct launch_task *lt, char **ret_error)
{
	struct tmds_task *t = agent_task_model(lt->at);
	const char *host = json_string_value(json_object_get(t->network, "PrivateDNSName")),
		   *ahead_host = json_string_value(json_object_get(lt->ahead, "hostname")),
		   *ahead_addr = json_string_value(json_object_get(lt->ahead, "address"));

	if (!streq_ptr(host, ahead_host) || !streq_ptr(lt->address, ahead_addr))
		return fail_with(ret_error,
				 "netd's task is %s (%s), not %s (%s) as the containers were told",
				 lt->address, strna(host), strna(ahead_addr), strna(ahead_host));
	for (size_t i = 0; i < t->n_containers; i++) {
		json_auto_t *env = agent_task_env(lt->l->a, lt->at, i);

		if (!json_equal(env, json_object_get(json_object_get(lt->ahead, "env"),
						     t->containers[i].def->name)))
			return fail_with(ret_error,
					 "the registration's environment of container '%s' is not "
					 "the one it was given",
					 t->containers[i].def->name);
	}
	return 0;
}

static void provision(struct launch_task *lt)
{
	struct launch *l = lt->l;
	_cleanup_ctl_error_ struct ctl_error err = {};
	_cleanup_free_ char *e = NULL;
	const struct cgroup_roots *roots = agent_cgroup_roots(l->a);
	_cleanup_taskdef_ struct taskdef *def = NULL;
	char logs[PATH_MAX + 16];
	uint64_t start = now_usec(), t[4];
	int r;

	if (lt->phase != LAUNCH_PROVISIONING)
		return; /* stopped before its provisioning began: torn down already */
	r = mkdir_p(lt->run_dir, 0700);
	if (r >= 0) {
		snprintf(logs, sizeof(logs), "%s/%s", lt->run_dir, SHIM_LOG_DIR);
		r = mkdir_p(logs, 0755);
	}
	if (r >= 0)
		r = mkdir_p(l->o.netns_dir, 0755);
	if (r < 0)
		return provision_fail(lt, "cannot create the task's directories: %s", strerror(-r));

	/* The network namespace, empty (made with the spare whose id the task took, if so). */
	if (!lt->netns_made) {
		r = netns_create(lt->netns);
		if (r < 0)
			return provision_fail(lt, "cannot create the network namespace '%s': %s",
					      lt->netns, strerror(-r));
		lt->netns_made = true;
		journal_save(lt);
	}
	r = netns_ipv4_only(lt);
	if (r < 0)
		return provision_fail(lt, "cannot turn IPv6 off in the network namespace: %s",
				      strerror(-r));
	fault_point(lt, "netns");
	t[0] = now_usec();

	/*
	 * The task's cgroup with its memory limit, before the shim creates containers below it.
	 * Its CPU limit is the shim's to set, once it has created the first container and before
	 * that one starts (shim.c, task_cpu_limit()): runc's setup of the containers (runc init, a
	 * Go program) is the platform's work, and under a quarter of a vCPU it took two to three
	 * times as long.
	 */
	r = taskdef_parse(json_object_get(lt->params, "task_definition"), &def, &e);
	if (r < 0)
		return provision_fail(lt, "task definition: %s", e ?: strerror(-r));
	lt->cgroup_made = true; /* journalled before: a crash in between leaves nothing unknown */
	journal_save(lt);
	r = cgroup_create(
		roots, lt->cgroup,
		&(struct cgroup_limits){
			.memory_bytes = def->has_memory ? (uint64_t)def->memory_mib << 20 : 0,
		});
	if (r < 0)
		return provision_fail(lt, "cannot create the task's cgroup '%s': %s", lt->cgroup,
				      strerror(-r));
	fault_point(lt, "cgroup");

	/* The containers' network ahead of netd's attach: ids, environment, address, DNS. */
	r = ahead_draft(lt, &e);
	if (r < 0) {
		log_warn("Task '%s': its containers are created once it has its network: %s",
			 lt->id, e ?: strerror(-r));
		free(e);
		e = NULL;
	}

	/* The shim, at once: it makes the storage and the containers while netd attaches the ENI. */
	r = shim_config_write(lt);
	if (r < 0)
		return provision_fail(lt, "cannot write the shim's configuration: %s",
				      strerror(-r));
	lt->shim_spawning = true;
	journal_save(lt);
	r = spare_claim(lt) ? 0 : shim_spawn(lt);
	if (r < 0)
		return provision_fail(lt, "cannot start the task's shim: %s", strerror(-r));
	journal_save(lt);
	r = watch_shim(lt);
	if (r < 0)
		log_err_errno(r, "Task '%s': cannot watch its shim (pid %d): %m", lt->id,
			      (int)lt->shim_pid);
	fault_point(lt, "spawn");
	t[1] = now_usec();

	/* netd's attach of the ENI, in READY_PULL. */
	r = provision_attach(lt, &e);
	journal_save(lt);
	if (r < 0)
		return provision_fail(lt, "%s", e ?: strerror(-r));
	fault_point(lt, "attach");
	t[2] = now_usec();

	/* The metadata registration, with the ids drawn before, bound to netd's instance, held. */
	r = agent_task_register(l->a, lt->reg_params, lt->draft_ids, NULL, 0, &lt->at, &err);
	if (r < 0)
		return provision_fail(lt, "cannot register the task for its metadata: %s",
				      err.message ?: strerror(-r));
	lt->ids = tmds_task_ids_json(agent_task_model(lt->at));
	lt->registered_ns = realtime_nsec();
	model_update(lt);
	journal_save(lt);
	r = lt->ahead ? ahead_check(lt, &e) : 0;
	if (r < 0)
		return provision_fail(lt, "%s", e ?: strerror(-r));
	fault_point(lt, "register");
	t[3] = now_usec();

	log_info(
		"Task '%s': provisioned in %.1f ms: namespace %.1f, cgroup and shim %.1f (pid %d), "
		"netd's attach %.1f, registration %.1f",
		lt->id, (double)(t[3] - start) / 1000, (double)(t[0] - start) / 1000,
		(double)(t[1] - t[0]) / 1000, (int)lt->shim_pid, (double)(t[2] - t[1]) / 1000,
		(double)(t[3] - t[2]) / 1000);
	lt->network_ready = true;
	set_phase(lt, LAUNCH_PENDING);
	lt->connect_deadline = now_usec() + LAUNCH_CONNECT_DEADLINE;
	shim_connect(lt);
}

static void on_provision(struct event_loop *loop, void *data)
{
	provision(data);
}

/* --- teardown ------------------------------------------------------------------------------- */

/* The run directory but the logs (kept for `taskvm logs` during the retention). */
static void run_dir_clean(struct launch_task *lt)
{
	static const char *const files[] = {
		SHIM_CONFIG_FILE,  SHIM_SOCKET_FILE,
		SHIM_STATUS_FILE,  SHIM_STATUS_FILE FILE_NEXT_SUFFIX,
		"etc/resolv.conf", "etc/hosts",
		"etc/hostname",	   NULL,
	};
	char path[PATH_MAX + 64];

	for (size_t i = 0; files[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", lt->run_dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/etc", lt->run_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/bundles", lt->run_dir);
	rmdir(path);
}

/*
 * Tear down in reverse: containers and storage (the shim did it; again from disk, for a shim
 * that died), the registration (its hold released), netd's detach, the namespace, the cgroup.
 * What cannot be done now (netd unreachable, a cgroup still busy) is tried again at the next
 * tick; the task is STOPPED once all is gone.
 */
static void task_teardown(struct launch_task *lt)
{
	struct launch *l = lt->l;
	struct netd_source *netd = agent_netd(l->a);
	_cleanup_free_ char *e = NULL;
	char path[PATH_MAX + 16];
	bool left = false;
	int r;

	if (lt->phase == LAUNCH_STOPPED)
		return;
	spare_release(lt); /* a spare it did not claim */
	if (lt->shim_pid > 0 && lt->pidfd >= 0)
		return; /* the shim is still there: its exit comes back here */
	lt->desired_stop = true;
	if (!lt->stopping_ns)
		lt->stopping_ns = realtime_nsec();
	set_phase(lt, LAUNCH_DEPROVISIONING);

	snprintf(path, sizeof(path), "%s/runc", lt->run_dir);
	r = runc_teardown(&(struct runc_opts){ .root = path }, &e);
	if (r < 0) {
		log_warn("Task '%s': runc teardown: %s", lt->id, e ?: strerror(-r));
		left = true;
	}
	free(e);
	e = NULL;
	snprintf(path, sizeof(path), "%s/mnt", lt->run_dir);
	r = storage_teardown(lt->volume_dir, path, &e);
	if (r < 0) {
		log_warn("Task '%s': storage teardown: %s", lt->id, e ?: strerror(-r));
		left = true;
	}
	if (lt->at) {
		struct agent_task *at = lt->at;

		lt->at = NULL;
		agent_task_drop(l->a, at); /* releases netd's hold */
	} else if (lt->instance[0] && lt->ids) {
		_cleanup_ctl_error_ struct ctl_error err = {};

		/* Registered before the agent restarted, not again since: its hold. */
		netd->ops->task_release(netd, lt->id, lt->instance, LAUNCH_HOLDER, &err);
	}
	lt->reg_pending = false;
	if (lt->attached) {
		_cleanup_ctl_error_ struct ctl_error err = {};

		r = netd->ops->task_detach(netd, lt->id, NULL, &err);
		if (r < 0) {
			log_warn("Task '%s': netd's detach failed: %s; trying again later", lt->id,
				 err.message ?: strerror(-r));
			lt->teardown_pending = true;
			journal_save(lt);
			return;
		}
		lt->attached = false;
		journal_save(lt);
	}
	if (lt->netns_made) {
		r = netns_remove(lt->netns);
		if (r < 0) {
			log_warn_errno(r, "Task '%s': cannot remove '%s': %m", lt->id, lt->netns);
			left = true;
		} else {
			lt->netns_made = false;
		}
	}
	if (lt->cgroup_made) {
		r = cgroup_remove("/proc/self/mountinfo", lt->cgroup);
		if (r < 0) {
			log_warn_errno(r, "Task '%s': cannot remove its cgroup '%s': %m", lt->id,
				       lt->cgroup);
			left = true;
		} else {
			lt->cgroup_made = false;
		}
	}
	if (left) {
		lt->teardown_pending = true;
		journal_save(lt);
		return;
	}
	lt->teardown_pending = false;
	run_dir_clean(lt);
	rmdir(lt->volume_dir);
	lt->stopped_ns = realtime_nsec();
	if (lt->status)
		json_object_set_new(lt->status, "state", json_string("STOPPED"));
	log_notice("Task '%s' stopped: %s%s%s%s", lt->id, lt->stop_reason ?: "?",
		   lt->stop_code ? " (" : "", lt->stop_code ?: "", lt->stop_code ? ")" : "");
	set_phase(lt, LAUNCH_STOPPED);
	cursors_wake(l, lt->id);
}

/* --- recovery ------------------------------------------------------------------------------- */

/*
 * The platform revision a journalled task launched with: pinned, even when the manifests gained
 * revisions since (docs/platforms.md). A record of before the pinning names no revision and gets
 * its version's latest. A revision gone from the manifests leaves lt->platform NULL: the task
 * cannot be registered again, and stops.
 */
static void record_platform(struct launch_task *lt)
{
	const char *version = json_string_value(json_object_get(lt->params, "platform_version"));
	json_t *rev = json_object_get(lt->params, "platform_revision");
	_cleanup_free_ char *e = NULL;
	int r;

	if (json_is_integer(rev) && json_integer_value(rev) > 0 &&
	    json_integer_value(rev) <= UINT_MAX)
		r = platform_lookup_revision(version ?: "LATEST",
					     (unsigned int)json_integer_value(rev), &lt->platform,
					     &e);
	else
		r = platform_lookup(version ?: "LATEST", &lt->platform, &e);
	if (r < 0) {
		lt->platform = NULL;
		log_err("Task '%s': %s", lt->id, e ?: strerror(-r));
	}
}

static int record_load(struct launch *l, json_t *j, const char *name)
{
	const char *id = NULL, *phase = NULL, *desired = NULL, *netns = NULL, *run_dir = NULL,
		   *volume_dir = NULL, *cgroup = NULL;
	json_t *params = NULL, *steps, *v;
	json_int_t created = 0;
	struct launch_task *lt;
	json_error_t jerr;
	int version = 0;

	if (json_unpack_ex(j, &jerr, 0, "{s:i, s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:s, s:s}",
			   "version", &version, "task_id", &id, "phase", &phase, "desired",
			   &desired, "created_ns", &created, "params", &params, "netns", &netns,
			   "run_dir", &run_dir, "volume_dir", &volume_dir, "cgroup", &cgroup) < 0) {
		log_warn("Launch journal: '%s': %s, ignored", name, jerr.text);
		return -EINVAL;
	}
	if (version != LAUNCH_RECORD_VERSION || !ident_task_id_valid(id) ||
	    strlen(id) != TMDS_ECS_ID_LEN || task_find(l, id)) {
		log_warn("Launch journal: '%s' is not a record of this version, ignored", name);
		return -EINVAL;
	}
	lt = task_alloc(l, id);
	if (!lt)
		return log_oom();
	/* The paths it used (options may have changed since). */
	strscpy(lt->netns, netns, sizeof(lt->netns));
	strscpy(lt->run_dir, run_dir, sizeof(lt->run_dir));
	strscpy(lt->volume_dir, volume_dir, sizeof(lt->volume_dir));
	strscpy(lt->cgroup, cgroup, sizeof(lt->cgroup));
	for (size_t i = 0; i < ARRAY_SIZE(phase_names); i++)
		if (streq(phase, phase_names[i]))
			lt->phase = (enum launch_phase)i;
	lt->desired_stop = streq(desired, "STOPPED");
	lt->created_ns = (uint64_t)created;
	lt->params = json_incref(params);
	record_platform(lt);
	set_str(&lt->task_arn, json_string_value(json_object_get(j, "task_arn")));
	lt->reg_params = json_incref(json_object_get(j, "reg_params"));
	lt->ids = json_incref(json_object_get(j, "ids"));
	lt->registered_ns = (uint64_t)json_integer_value(json_object_get(j, "registered_ns"));
	steps = json_object_get(j, "steps");
	lt->netns_made = json_is_true(json_object_get(steps, "netns"));
	lt->attached = json_is_true(json_object_get(steps, "attached"));
	lt->cgroup_made = json_is_true(json_object_get(steps, "cgroup"));
	lt->shim_spawning = json_is_true(json_object_get(steps, "shim_spawning"));
	/* start_sent is not taken back: a shim still READY is sent 'start' again */
	strscpy(lt->instance, json_string_value(json_object_get(j, "instance")) ?: "",
		sizeof(lt->instance));
	v = json_object_get(j, "slot");
	lt->slot = json_is_integer(v) ? (int)json_integer_value(v) : -1;
	strscpy(lt->address, json_string_value(json_object_get(j, "address")) ?: "",
		sizeof(lt->address));
	v = json_object_get(j, "shim");
	lt->shim_pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
	lt->shim_start = (uint64_t)json_integer_value(json_object_get(v, "start_time"));
	v = json_object_get(j, "stop");
	set_str(&lt->stop_code, json_string_value(json_object_get(v, "code")));
	set_str(&lt->stop_reason, json_string_value(json_object_get(v, "reason")));
	lt->running_ns = (uint64_t)json_integer_value(json_object_get(j, "running_ns"));
	lt->stopping_ns = (uint64_t)json_integer_value(json_object_get(j, "stopping_ns"));
	lt->stopped_ns = (uint64_t)json_integer_value(json_object_get(j, "stopped_ns"));
	lt->status = json_incref(json_object_get(j, "status"));
	return 0;
}

/* Register a restored task again (its ids, its instance): 0, -EAGAIN (netd), or -errno. */
static int restore_registration(struct launch_task *lt)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	int r;

	if (!lt->ids || !lt->reg_params || !lt->instance[0])
		return -ENOENT;
	r = agent_task_register(lt->l->a, lt->reg_params, lt->ids, lt->instance, lt->registered_ns,
				&lt->at, &err);
	if (r == -EAGAIN) {
		if (!lt->reg_pending)
			log_notice("Task '%s': its registration waits for netd: %s", lt->id,
				   err.message ?: "unreachable");
		lt->reg_pending = true;
		return r;
	}
	lt->reg_pending = false;
	if (r < 0) {
		char reason[512];

		log_err("Task '%s': cannot restore its registration: %s", lt->id,
			err.message ?: strerror(-r));
		/* Final: the task stops (its shim once it is reached, if it is not yet). */
		snprintf(reason, sizeof(reason),
			 "TaskRuntimeError: cannot restore the task's registration: %s",
			 err.message ?: strerror(-r));
		set_stop(lt, NULL, reason);
		lt->desired_stop = true;
		journal_save(lt);
		if (lt->subscribed)
			shim_stop(lt);
		return r;
	}
	model_update(lt);
	log_info("Task '%s': registration restored", lt->id);
	/* It was provisioned: a shim that has no network yet gets it now. */
	lt->network_ready = true;
	shim_network(lt);
	return 0;
}

/* A shim that lives: adopt it. */
static bool adopt(struct launch_task *lt)
{
	int r;

	if (lt->shim_pid <= 0 && lt->shim_spawning) {
		/* Forked, its pid not journalled yet: its command line names it. */
		lt->shim_pid = find_shim(lt->run_dir);
		lt->shim_start = lt->shim_pid > 0 ? proc_start_time(lt->shim_pid) : 0;
	}
	if (lt->shim_pid <= 0 || !lt->shim_start ||
	    proc_start_time(lt->shim_pid) != lt->shim_start ||
	    !proc_is_shim(lt->shim_pid, lt->run_dir))
		return false;
	r = watch_shim(lt);
	if (r < 0)
		return false;
	log_notice("Task '%s': adopting its shim (pid %d)", lt->id, (int)lt->shim_pid);
	if (lt->phase == LAUNCH_PROVISIONING) {
		/* Its provisioning was cut short: the shim stops, then the rest is torn down. */
		set_stop(
			lt, "TaskFailedToStart",
			"TaskRuntimeError: the taskvm agent stopped while the task was provisioned");
		lt->desired_stop = true;
		journal_save(lt);
		kill(lt->shim_pid, SIGTERM);
		return true;
	}
	journal_save(lt);
	restore_registration(lt);
	lt->connect_deadline = now_usec() + LAUNCH_CONNECT_DEADLINE;
	shim_connect(lt);
	return true;
}

static void recover_one(struct launch_task *lt)
{
	if (lt->phase == LAUNCH_STOPPED)
		return;
	if (adopt(lt))
		return;
	lt->shim_pid = 0;
	if (lt->phase < LAUNCH_DEPROVISIONING) {
		json_auto_t *final = read_final_status(lt);
		char reason[512];

		if (final &&
		    streq_ptr(json_string_value(json_object_get(final, "state")), "STOPPED")) {
			/* The shim finished while the agent was away. */
			json_t *stop = json_object_get(final, "stop");

			json_decref(lt->status);
			lt->status = json_incref(final);
			set_stop(lt, json_string_value(json_object_get(stop, "code")),
				 json_string_value(json_object_get(stop, "reason")));
		} else {
			snprintf(
				reason, sizeof(reason), "TaskRuntimeError: %s",
				lt->phase == LAUNCH_PROVISIONING
					? "the taskvm agent stopped while the task was provisioned"
					: "the task's runtime (taskvm shim) ended while the taskvm agent was away");
			set_stop(lt, lt->phase < LAUNCH_RUNNING ? "TaskFailedToStart" : NULL,
				 reason);
			if (final) {
				json_decref(lt->status);
				lt->status = json_incref(final);
			}
		}
	}
	log_notice("Task '%s' (%s): its shim is gone; tearing it down", lt->id,
		   phase_names[lt->phase]);
	task_teardown(lt);
}

void launch_recover(struct launch *l)
{
	DIR *d = opendir(l->dir);
	struct dirent *de;
	unsigned int n = 0;

	if (!d) {
		log_warn_errno(errno, "Cannot read the launch journal '%s': %m", l->dir);
		return;
	}
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		json_auto_t *j = NULL;
		size_t len = strlen(de->d_name);

		/* (a record's sibling, journal_save()'s, is never the record) */
		if (file_exchange_sibling(l->dir, de->d_name, ".json") || len < 6 ||
		    !streq(de->d_name + len - 5, ".json"))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", l->dir, de->d_name) >=
		    sizeof(path))
			continue;
		j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
		if (!j) {
			log_warn("Launch journal: '%s' is not JSON, ignored", path);
			continue;
		}
		if (record_load(l, j, path) == 0)
			n++;
	}
	closedir(d);
	if (n)
		log_info("%u launched tasks in the journal", n);
	spare_orphans_remove(l);
	for (struct launch_task *lt = l->tasks; lt; lt = lt->next)
		recover_one(lt);
}

/* --- validation and task.run ---------------------------------------------------------------- */

struct run_params {
	json_t *taskdef;
	const char *platform, *cluster, *region, *az, *account, *fault, *isolation;
	json_t *eni;
	bool follow;
};

/* Check the ENI: {mac, addresses: [CIDR], nameservers?: [IP], search?: [name], routes?, mtu?}. */
static int eni_check(json_t *eni, char **ret_error)
{
	const char *mac = NULL;
	json_t *addrs = NULL, *ns = NULL, *search = NULL, *routes = NULL, *mtu = NULL, *v;
	uint8_t m[ADDR_MAC_LEN];
	json_error_t jerr;
	bool v4 = false;
	size_t i;

	if (json_unpack_ex(eni, &jerr, JSON_STRICT, "{s:s, s:o, s?o, s?o, s?o, s?o}", "mac", &mac,
			   "addresses", &addrs, "nameservers", &ns, "search", &search, "routes",
			   &routes, "mtu", &mtu) < 0)
		return fail_with(ret_error, "eni: %s", jerr.text);
	if (addr_mac_parse(mac, m) < 0)
		return fail_with(ret_error, "eni: '%s' is not a MAC address", mac);
	if (!json_is_array(addrs) || json_array_size(addrs) == 0 || json_array_size(addrs) > 16)
		return fail_with(ret_error, "eni: addresses must be 1-16 CIDRs");
	json_array_foreach(addrs, i, v) {
		struct in_prefix p;

		if (!json_is_string(v) || addr_prefix_parse(json_string_value(v), &p) < 0)
			return fail_with(ret_error,
					 "eni: '%s' is not an address with a prefix "
					 "length (198.18.1.1/16)",
					 json_is_string(v) ? json_string_value(v) : "?");
		v4 |= p.family == AF_INET;
	}
	if (!v4)
		return fail_with(ret_error, "eni: the task needs an IPv4 address");
	if (ns && (!json_is_array(ns) || json_array_size(ns) > SHIM_MAX_LIST))
		return fail_with(ret_error, "eni: at most %d nameservers", SHIM_MAX_LIST);
	json_array_foreach(ns, i, v) {
		struct in_prefix p;

		if (!json_is_string(v) || addr_ip_parse(json_string_value(v), 0, &p) < 0)
			return fail_with(ret_error, "eni: nameserver '%s' is not an IP address",
					 json_is_string(v) ? json_string_value(v) : "?");
	}
	if (search && (!json_is_array(search) || json_array_size(search) > SHIM_MAX_LIST))
		return fail_with(ret_error, "eni: at most %d search domains", SHIM_MAX_LIST);
	json_array_foreach(search, i, v)
		if (!json_is_string(v) || !*json_string_value(v) ||
		    strpbrk(json_string_value(v), " \t\n"))
			return fail_with(ret_error, "eni: a search domain is not a name");
	return 0;
}

/*
 * The platform ENI of a version that sends flows through one (1.3.0): netd's platform.show of
 * the agent's --platform-eni, attached. *ret {name, netns, nameservers} (the namespace the
 * shim opens those flows' sockets in, the resolvers of their names), or NULL for a version
 * whose flows all leave through the task's ENI. -ENXIO: no platform ENI to use.
 */
static int platform_eni_resolve(struct launch *l, const struct platform *pf, json_t **ret,
				char **ret_error)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	struct netd_source *netd = agent_netd(l->a);
	json_auto_t *pe = NULL;
	const char *flow = NULL, *state, *netns;
	json_t *ns;
	int r;

	*ret = NULL;
	for (int f = 0; f < PLATFORM_FLOW_COUNT && !flow; f++)
		if (platform_flow_eni(pf, (enum platform_flow)f) == PLATFORM_ENI_PLATFORM)
			flow = platform_flow_name((enum platform_flow)f);
	if (!flow)
		return 0;
	if (!l->o.platform_eni)
		return fail_errno(
			ret_error, -ENXIO,
			"platform version %s sends a task's %s (and more) through a "
			"platform ENI, and this agent has none: attach one with `netdctl "
			"platform attach NAME ...` and start the agent with --platform-eni "
			"NAME",
			pf->version, flow);
	r = netd->ops->platform_show(netd, l->o.platform_eni, &pe, &err);
	if (r < 0)
		return fail_errno(
			ret_error, r == -EPROTO ? -ENXIO : r,
			"platform version %s needs the platform ENI '%s' (--platform-eni): "
			"netd: %s%s",
			pf->version, l->o.platform_eni, err.message ?: strerror(-r),
			err.code == CTL_ERR_NOT_FOUND ? " (attach it with `netdctl platform "
							"attach`)"
						      : "");
	state = json_string_value(json_object_get(pe, "state"));
	netns = json_string_value(json_object_get(pe, "netns"));
	if (!streq_ptr(state, "ATTACHED") || !netns)
		return fail_errno(
			ret_error, -ENXIO,
			"platform version %s needs the platform ENI '%s' (--platform-eni), "
			"which netd has %s, not ATTACHED",
			pf->version, l->o.platform_eni, state ?: "in no state");
	ns = json_object_get(json_object_get(pe, "dns"), "nameservers");
	*ret = json_pack("{s:s, s:s, s:o}", "name", l->o.platform_eni, "netns", netns,
			 "nameservers", json_is_array(ns) ? json_incref(ns) : json_array());
	return *ret ? 0 : -ENOMEM;
}

/*
 * Everything that can be checked before anything is made: the task definition against the
 * platform version (SYS_PTRACE, ephemeralStorage, unsupported keys), log drivers and awslogs
 * options, image references, the ENI, the platform ENI of the version, the ARNs.
 */
/* Is name an executable in PATH? */
static bool in_path(const char *name)
{
	char f[PATH_MAX];

	return find_executable(name, f, sizeof(f)) == 0;
}

/* Is a regular file there to read? */
static int file_readable(const char *what, const char *path, char **ret_error)
{
	struct stat st;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return fail_errno(ret_error, -ENXIO,
				  "the task VM's %s '%s': %m (taskvm agent --vm-%s)", what, path,
				  what);
	if (!S_ISREG(st.st_mode))
		return fail_errno(ret_error, -ENXIO, "the task VM's %s '%s' is not a file", what,
				  path);
	return 0;
}

/* The isolation asked (or the agent's default): for a VM, what it boots must be there. */
static int isolation_check(struct launch *l, const struct run_params *p, char **ret_error)
{
	enum launch_isolation iso = l->o.isolation;
	int r;

	if (p->isolation && launch_isolation_from_string(p->isolation, &iso) < 0)
		return fail_with(ret_error, "isolation '%.32s' is not runc or vm", p->isolation);
	if (iso != LAUNCH_ISOLATION_VM)
		return 0;
	r = file_readable("kernel", l->o.vm_kernel, ret_error);
	if (r == 0)
		r = file_readable("initrd", l->o.vm_initrd, ret_error);
	if (r < 0)
		return r;
	if (!in_path(LAUNCH_VM_QEMU))
		return fail_errno(ret_error, -ENXIO,
				  "isolation vm: %s is not installed (not in PATH)",
				  LAUNCH_VM_QEMU);
	return 0;
}

static int run_validate(struct launch *l, const struct run_params *p, const char *id,
			const struct platform **ret_pf, json_t **ret_platform_eni,
			char **ret_task_arn, char **ret_error)
{
	_cleanup_taskdef_ struct taskdef *def = NULL;
	_cleanup_secrets_ struct secrets *secrets = NULL;
	const struct platform *pf;
	struct tmds_task *t = NULL;
	struct taskdef *def2 = NULL;
	int r;

	r = platform_lookup(p->platform ?: "LATEST", &pf, ret_error);
	if (r < 0)
		return r;
	r = taskdef_parse(p->taskdef, &def, ret_error);
	if (r < 0)
		return r;
	r = platform_check_taskdef(pf, def, ret_error);
	if (r < 0)
		return r;
	r = secrets_parse(p->taskdef, &secrets, ret_error);
	if (r == 0)
		r = secrets_check_platform(secrets, pf, ret_error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < def->n_containers; i++) {
		const struct taskdef_container *c = &def->containers[i];
		_cleanup_logship_config_ struct logship_config *lc = NULL;
		_cleanup_free_ char *e = NULL;
		struct image_ref ref;

		r = image_ref_parse(c->image, &ref, &e);
		if (r < 0)
			return fail_with(ret_error, "container '%s': image '%s': %s", c->name,
					 c->image, e ?: "invalid reference");
		image_ref_done(&ref);
		if (!c->log_driver)
			continue;
		if (!streq(c->log_driver, "awslogs"))
			return fail_with(
				ret_error,
				"container '%s': logDriver '%s' is not supported by taskvm "
				"yet (awslogs is)",
				c->name, c->log_driver);
		r = logship_config_parse(c->log_options, &lc, &e);
		if (r < 0)
			return fail_with(ret_error, "container '%s': %s", c->name,
					 e ?: "invalid awslogs options");
	}
	r = eni_check(p->eni, ret_error);
	if (r < 0)
		return r;
	r = isolation_check(l, p, ret_error);
	if (r < 0)
		return r;
	if (p->fault && !l->o.fault_injection)
		return fail_with(ret_error, "fault injection is off (taskvm agent "
					    "--enable-fault-injection)");
	r = platform_eni_resolve(l, pf, ret_platform_eni, ret_error);
	if (r < 0)
		return r;
	/* The ARNs, as the registration will make them. */
	r = taskdef_parse(p->taskdef, &def2, ret_error);
	if (r < 0)
		return r;
	r = tmds_task_new(&(struct tmds_task_opts){ .task_id = id,
						    .cluster = p->cluster,
						    .region = p->region,
						    .availability_zone = p->az,
						    .launch_type = "FARGATE",
						    .platform = pf,
						    .account = p->account,
						    .ecs_id = id },
			  def2, &t, ret_error);
	if (r < 0)
		return r;
	*ret_pf = pf;
	*ret_task_arn = strdup(t->task_arn);
	tmds_task_free(t);
	return *ret_task_arn ? 0 : -ENOMEM;
}

static int subscribe_task(struct ctl_call *call, struct launch_task *lt)
{
	char topic[64];

	snprintf(topic, sizeof(topic), "task:%s", lt->id);
	return ctl_call_subscribe(call, topic);
}

static int do_task_run(struct ctl_call *call, json_t *params, void *userdata)
{
	struct launch *l = agent_launch(userdata);
	struct run_params p = { .cluster = "default" };
	_cleanup_free_ char *e = NULL, *arn = NULL;
	char id[TMDS_ECS_ID_LEN + 1];
	const struct platform *pf = NULL;
	json_auto_t *plat = NULL;
	struct launch_task *lt;
	json_t *res;
	json_error_t jerr;
	bool spare;
	int r, follow = 0;

	if (!l)
		return ctl_call_failf(call, CTL_ERR_UNAVAILABLE, "The agent does not launch tasks");
	if (!params ||
	    json_unpack_ex(params, &jerr, JSON_STRICT,
			   "{s:o, s?s, s?s, s:s, s:s, s?s, s:o, s?b, s?s, s?s}", "task_definition",
			   &p.taskdef, "platform_version", &p.platform, "cluster", &p.cluster,
			   "region", &p.region, "availability_zone", &p.az, "account", &p.account,
			   "eni", &p.eni, "follow", &follow, "fault", &p.fault, "isolation",
			   &p.isolation) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing");
	if (l->ntasks >= LAUNCH_MAX_TASKS)
		return ctl_call_failf(call, CTL_ERR_LIMIT, "Too many tasks (at most %d)",
				      LAUNCH_MAX_TASKS);
	/* the spare shim's id, if there is one that no task took: the task's shim is ready */
	spare = l->spare.pid > 0 && !l->spare.taken;
	if (spare)
		strscpy(id, l->spare.id, sizeof(id));
	else {
		r = random_hex(id, TMDS_ECS_ID_LEN / 2);
		if (r < 0)
			return ctl_call_fail_errno(call, r, "Cannot draw a task id: %s",
						   strerror(-r));
	}
	r = run_validate(l, &p, id, &pf, &plat, &arn, &e);
	if (r < 0)
		return ctl_call_failf(call,
				      r == -EINVAL  ? CTL_ERR_INVALID_PARAMS
				      : r == -ENXIO ? CTL_ERR_UNAVAILABLE
						    : CTL_ERR_INTERNAL,
				      "%s", e ?: strerror(-r));

	lt = task_alloc(l, id);
	if (!lt)
		return ctl_call_fail_errno(call, -ENOMEM, "Out of memory");
	lt->params = json_deep_copy(params);
	json_object_del(lt->params, "follow");
	json_object_del(lt->params, "fault");
	/* Pinned: the version (not an alias) and its revision at launch, for the task's life. */
	lt->platform = pf;
	json_object_set_new(lt->params, "platform_version", json_string(pf->version));
	json_object_set_new(lt->params, "platform_revision", json_integer(pf->revision));
	json_object_set_new(lt->params, "cluster", json_string(p.cluster));
	json_object_set_new(lt->params, "isolation",
			    json_string(p.isolation ?: launch_isolation_to_string(l->o.isolation)));
	if (plat)
		json_object_set(lt->params, "platform_eni", plat);
	lt->task_arn = TAKE_PTR(arn);
	lt->created_ns = realtime_nsec();
	if (p.fault)
		lt->fault = strdup(p.fault);
	lt->reg_params = json_pack(
		"{s:O, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "task_definition", p.taskdef,
		"netd_task", id, "cluster", p.cluster, "region", p.region, "availability_zone",
		p.az, "launch_type", "FARGATE", "task_arn", lt->task_arn, "platform_version",
		pf->version, "platform_revision", (int)pf->revision, "cgroup", lt->cgroup);
	if (!lt->params || !lt->reg_params) {
		task_unlink_free(lt);
		return ctl_call_fail_errno(call, -ENOMEM, "Out of memory");
	}
	if (p.account)
		json_object_set_new(lt->reg_params, "account", json_string(p.account));
	/* the spare's namespace and cgroup are the task's: its teardown removes them */
	lt->netns_made = spare && l->spare.netns_made;
	lt->cgroup_made = spare && l->spare.cgroup_made;
	r = journal_save(lt);
	if (r < 0) {
		task_unlink_free(lt);
		return ctl_call_fail_errno(call, r, "Cannot journal the task: %s", strerror(-r));
	}
	if (spare)
		spare_reserve(l, lt);
	l->launched = true;
	log_info("Task '%s' (%s): run of %s:%s on platform version %s revision %u", id,
		 lt->task_arn, strna(td_str(lt, "family")),
		 json_string_value(json_object_get(lt->params, "cluster")), pf->version,
		 pf->revision);
	if (follow) {
		r = subscribe_task(call, lt);
		if (r < 0)
			log_warn_errno(r, "Task '%s': cannot subscribe the caller: %m", id);
	}
	fault_point(lt, "start");
	r = event_add_timer(agent_loop(l->a), 1, on_provision, lt, NULL);
	if (r < 0) {
		provision_fail(lt, "cannot schedule the provisioning: %s", strerror(-r));
		return ctl_call_fail_errno(call, r, "Cannot launch: %s", strerror(-r));
	}
	res = task_json(lt, false);
	json_object_set_new(res, "notes", json_array());
	return ctl_call_reply(call, res);
}

static int do_task_stop(struct ctl_call *call, json_t *params, void *userdata)
{
	struct launch *l = agent_launch(userdata);
	const char *id = NULL, *reason = NULL;
	struct launch_task *lt;
	json_error_t jerr;
	int follow = 0;

	if (!l)
		return ctl_call_failf(call, CTL_ERR_UNAVAILABLE, "The agent does not launch tasks");
	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s, s?s, s?b}", "task_id", &id,
				      "reason", &reason, "follow", &follow) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing 'task_id'");
	lt = task_find(l, id);
	if (!lt)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No task '%s' launched here", id);
	if (reason && (strlen(reason) > 255 || !*reason))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "The reason is 1-255 characters");
	if (follow && lt->phase != LAUNCH_STOPPED)
		subscribe_task(call, lt);
	if (!lt->desired_stop) {
		lt->desired_stop = true;
		set_stop(lt, "UserInitiated", reason ?: "Task stopped by user");
		log_info("Task '%s': stop requested: %s", lt->id, lt->stop_reason);
		journal_save(lt);
		if (lt->fd >= 0 && lt->subscribed)
			shim_stop(lt);
		else if (lt->shim_pid <= 0 || lt->pidfd < 0)
			task_teardown(lt); /* no shim: nothing runs */
		/* else: sent once the shim answers */
		model_update(lt);
		task_broadcast(lt);
	}
	return ctl_call_reply(call, task_json(lt, false));
}

/* --- logs ----------------------------------------------------------------------------------- */

static struct log_cursor *cursor_free(struct log_cursor *c)
{
	struct launch *l = c->l;
	struct event_loop *loop = agent_loop(l->a);

	for (struct log_cursor **pp = &l->cursors; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			l->ncursors--;
			break;
		}
	event_cancel(loop, c->io_id);
	event_cancel(loop, c->timer_id);
	if (c->pending) {
		ctl_call_failf(c->pending, CTL_ERR_CANCELLED, "The log cursor was closed");
		ctl_call_unref(c->pending);
	}
	logfile_reader_free(c->reader);
	free(c->container);
	free(c);
	return NULL;
}

static json_t *entry_json(const struct logfile_entry *e)
{
	char when[64];

	tmds_format_time(e->time_nsec, when, sizeof(when));
	return json_pack("{s:s, s:I, s:s, s:s, s:s%}", "time", when, "time_ns",
			 (json_int_t)e->time_nsec, "stream", logfile_stream_to_string(e->stream),
			 "container", e->container ?: "", "log", e->data, e->len);
}

/* Up to limit entries; *ret_more: the reader may have more now. */
static json_t *cursor_read(struct log_cursor *c, bool *ret_more)
{
	json_t *arr = json_array();
	struct logfile_entry e;
	int r = 0;

	*ret_more = false;
	if (c->follow)
		logfile_reader_wake(c->reader);
	while (json_array_size(arr) < c->limit && (r = logfile_reader_next(c->reader, &e)) > 0) {
		if (c->container && !streq_ptr(e.container, c->container))
			continue;
		json_array_append_new(arr, entry_json(&e));
	}
	*ret_more = r > 0;
	return arr;
}

/* Answer with what there is: the entries, the cursor, whether the stream ended. */
static int cursor_answer(struct log_cursor *c, struct ctl_call *call, bool may_wait);

static void cursor_wakeup(struct log_cursor *c)
{
	struct ctl_call *call = c->pending;
	struct event_loop *loop = agent_loop(c->l->a);

	if (!call)
		return;
	event_cancel(loop, c->io_id);
	event_cancel(loop, c->timer_id);
	c->io_id = c->timer_id = 0;
	c->pending = NULL;
	if (ctl_call_is_connected(call))
		cursor_answer(c, call, false);
	ctl_call_unref(call);
}

static void cursor_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	cursor_wakeup(data);
}

static void cursor_timer(struct event_loop *loop, void *data)
{
	struct log_cursor *c = data;

	c->timer_id = 0;
	cursor_wakeup(c);
}

static void cursors_wake(struct launch *l, const char *task_id)
{
	for (struct log_cursor *c = l->cursors, *next; c; c = next) {
		next = c->next;
		if (streq(c->task_id, task_id))
			cursor_wakeup(c);
	}
}

static int cursor_answer(struct log_cursor *c, struct ctl_call *call, bool may_wait)
{
	struct launch_task *lt = task_find(c->l, c->task_id);
	bool stopped = !lt || lt->phase == LAUNCH_STOPPED, more, end;
	json_t *entries;
	int r;

	c->last_usec = now_usec();
	entries = cursor_read(c, &more);
	if (!entries)
		return ctl_call_fail_errno(call, -ENOMEM, "Out of memory");
	if (json_array_size(entries) == 0 && c->follow && !stopped && may_wait) {
		struct event_loop *loop = agent_loop(c->l->a);

		/* Nothing yet: answer when the files change, the task stops, or at the bound. */
		json_decref(entries);
		r = event_add_io(loop, logfile_reader_fd(c->reader), EPOLLIN, cursor_io, c, NULL);
		if (r < 0)
			return ctl_call_fail_errno(call, r, "Cannot follow the logs: %s",
						   strerror(-r));
		c->io_id = r;
		r = event_add_timer(loop, LAUNCH_LOGS_WAIT_USEC, cursor_timer, c, NULL);
		if (r > 0)
			c->timer_id = r;
		c->pending = ctl_call_ref(call);
		return 0;
	}
	/* Without follow the end is now; with follow, once the task is stopped and read. */
	end = !more && (!c->follow || stopped);
	r = ctl_call_reply(call, json_pack("{s:s, s:o, s:b}", "cursor", c->id, "entries", entries,
					   "end", end));
	if (end)
		cursor_free(c);
	return r;
}

static int do_task_logs(struct ctl_call *call, json_t *params, void *userdata)
{
	struct launch *l = agent_launch(userdata);
	const char *id = NULL, *container = NULL, *cursor = NULL;
	json_int_t limit = LAUNCH_LOGS_LIMIT;
	struct launch_task *lt;
	struct log_cursor *c;
	json_error_t jerr;
	char dir[PATH_MAX + 16];
	int follow = 0, r;

	if (!l)
		return ctl_call_failf(call, CTL_ERR_UNAVAILABLE, "The agent does not launch tasks");
	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s, s?s, s?b, s?s, s?I}",
				      "task_id", &id, "container", &container, "follow", &follow,
				      "cursor", &cursor, "limit", &limit) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing");
	if (limit < 1 || limit > LAUNCH_LOGS_LIMIT_MAX)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "limit is 1-%d",
				      LAUNCH_LOGS_LIMIT_MAX);
	if (cursor) {
		for (c = l->cursors; c; c = c->next)
			if (streq(c->id, cursor))
				break;
		if (!c)
			return ctl_call_failf(call, CTL_ERR_NOT_FOUND,
					      "No log cursor '%s' (closed, or idle too long)",
					      cursor);
		if (c->pending)
			return ctl_call_failf(call, CTL_ERR_BUSY,
					      "The log cursor '%s' has a call waiting", cursor);
		c->limit = (unsigned int)limit;
		return cursor_answer(c, call, true);
	}
	if (!id)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "task.logs needs task_id");
	lt = task_find(l, id);
	if (!lt)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No task '%s' launched here", id);
	if (container) {
		json_t *defs = json_object_get(json_object_get(lt->params, "task_definition"),
					       "containerDefinitions"),
		       *cd;
		size_t i;
		bool known = false;

		json_array_foreach(defs, i, cd)
			known |= streq_ptr(json_string_value(json_object_get(cd, "name")),
					   container);
		if (!known)
			return ctl_call_failf(call, CTL_ERR_NOT_FOUND,
					      "Task '%s' has no container '%s'", id, container);
	}
	if (l->ncursors >= LAUNCH_MAX_CURSORS) {
		/* the idlest goes */
		struct log_cursor *old = NULL;

		for (c = l->cursors; c; c = c->next)
			if (!c->pending && (!old || c->last_usec < old->last_usec))
				old = c;
		if (!old)
			return ctl_call_failf(call, CTL_ERR_LIMIT, "Too many log readers");
		cursor_free(old);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return ctl_call_fail_errno(call, -ENOMEM, "Out of memory");
	c->l = l;
	strscpy(c->task_id, id, sizeof(c->task_id));
	c->follow = follow;
	c->limit = (unsigned int)limit;
	c->container = container ? strdup(container) : NULL;
	random_hex(c->id, 16);
	snprintf(dir, sizeof(dir), "%s/%s", lt->run_dir, SHIM_LOG_DIR);
	r = logfile_reader_open(&(struct logfile_reader_opts){ .dir = dir, .follow = follow },
				&c->reader);
	if (r < 0) {
		free(c->container);
		free(c);
		return ctl_call_fail_errno(call, r, "Cannot read the logs of task '%s': %s", id,
					   strerror(-r));
	}
	c->next = l->cursors;
	l->cursors = c;
	l->ncursors++;
	return cursor_answer(c, call, true);
}

const struct ctl_method launch_methods[] = {
	{ "task.run", do_task_run, CTL_METHOD_WRITE },
	{ "task.stop", do_task_stop, CTL_METHOD_WRITE },
	/* the containers' output may hold what only the task's owner should read */
	{ "task.logs", do_task_logs, CTL_METHOD_WRITE },
	{},
};

/* --- the agent's side ----------------------------------------------------------------------- */

int launch_new(struct agent *a, const struct launch_opts *o, const char *state_dir,
	       struct launch **ret)
{
	struct launch *l;
	ssize_t n;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->a = a;
	l->o = *o;
	l->spare = (struct launch_spare){ .fd = -1, .pidfd = -1 };
	l->runc_fd = -1;
	if (asprintf(&l->dir, "%s/launch", state_dir) < 0) {
		free(l);
		return -ENOMEM;
	}
	r = mkdir_p(l->dir, 0700);
	if (r < 0)
		goto fail;
	n = readlink("/proc/self/exe", l->exe, sizeof(l->exe) - 1);
	if (n < 0) {
		r = -errno;
		goto fail;
	}
	l->exe[n] = '\0';
	runc_copy(l); /* now, not in the first task's time */
	*ret = l;
	return 0;
fail:
	free(l->dir);
	free(l);
	return r;
}

struct launch *launch_free(struct launch *l)
{
	if (!l)
		return NULL;
	while (l->cursors)
		cursor_free(l->cursors);
	event_cancel(agent_loop(l->a), l->spare_timer);
	spare_drop(l); /* the end of its stdin: it exits */
	while (l->tasks) {
		struct launch_task *lt = l->tasks;

		l->tasks = lt->next;
		task_free(lt);
	}
	safe_close(l->runc_fd);
	free(l->dir);
	free(l);
	return NULL;
}

/*
 * Container Insights: a Task event of the interval since the last one, from the agent's last
 * sample of the task (its cgroups, netd's counters and rates, the shim's storage usage),
 * checked against the EMF specification and handed to the shim, which ships it over the task's
 * logs flow. The first sample is the baseline.
 */
static void insights_tick(struct launch_task *lt)
{
	const struct launch_opts *o = &lt->l->o;
	const struct tmds_sample *cur;
	struct tmds_task *t;
	_cleanup_free_ char *text = NULL, *e = NULL;
	char account[32] = "", *colon;
	json_auto_t *ev = NULL;
	struct emf_usage u = { .storage_io_unknown = true };
	uint64_t cpu = 0, mem = 0, dt;
	int r;

	if (!o->insights_endpoint || !lt->at || lt->phase != LAUNCH_RUNNING || lt->desired_stop ||
	    !lt->platform || !lt->platform->insights.supported || lt->fd < 0)
		return;
	t = agent_task_model(lt->at);
	cur = agent_task_sample(lt->at);
	if (!cur || cur->read_ns <= lt->insights_read_ns)
		return;
	for (size_t i = 0; i < cur->n_containers; i++)
		if (cur->containers[i].has_cgroup) {
			cpu += cur->containers[i].cpu.total_usage;
			mem += cur->containers[i].mem.usage;
		}
	if (!lt->insights_read_ns || cpu < lt->insights_cpu_ns) {
		lt->insights_read_ns = cur->read_ns;
		lt->insights_cpu_ns = cpu;
		return;
	}
	dt = cur->read_ns - lt->insights_read_ns;
	if (dt < (uint64_t)o->insights_interval_sec * 1000000000ULL - 500000000ULL)
		return; /* (half a second early is on time: samples come once a stats interval) */
	u.cpu_utilized = (double)(cpu - lt->insights_cpu_ns) / (double)dt * 1024.0;
	u.cpu_reserved = t->def->has_cpu ? t->def->cpu_vcpu * 1024.0 : 0;
	u.memory_utilized_mib = (double)mem / (1024.0 * 1024.0);
	u.memory_reserved_mib = t->def->has_memory ? (double)t->def->memory_mib : 0;
	u.ephemeral_utilized_gb = (double)t->storage_utilized_mib / 1024.0;
	u.ephemeral_reserved_gb = (double)t->storage_reserved_mib / 1024.0;
	if (cur->has_net && cur->net.has_rates)
		u.net = (struct emf_network){ .rx_bytes_per_sec = cur->net.rx_bytes_per_sec,
					      .tx_bytes_per_sec = cur->net.tx_bytes_per_sec,
					      .rx_packets = cur->net.rx_packets,
					      .tx_packets = cur->net.tx_packets,
					      .rx_dropped = cur->net.rx_dropped,
					      .tx_dropped = cur->net.tx_dropped,
					      .rx_errors = cur->net.rx_errors,
					      .tx_errors = cur->net.tx_errors };
	else
		u.net_unknown = true;
	/* arn:PARTITION:ecs:REGION:ACCOUNT:task/...: the account */
	if (t->task_arn && (colon = strchr(t->task_arn, ':')) && (colon = strchr(colon + 1, ':')) &&
	    (colon = strchr(colon + 1, ':')) && (colon = strchr(colon + 1, ':')))
		snprintf(account, sizeof(account), "%.*s", (int)strcspn(colon + 1, ":"), colon + 1);
	r = emf_task_event(
		&(struct emf_task){
			.platform = lt->platform,
			.cluster = cluster_name(lt),
			.task_id = t->ecs_id,
			.family = t->def->family,
			.revision = t->def->revision,
			.account_id = account[0] ? account : NULL,
			.region = t->region,
			.availability_zone = t->availability_zone,
			.known_status = "RUNNING",
			.launch_type = t->launch_type,
			.pull_started_at_ms = t->pull_started_ns / 1000000,
			.pull_stopped_at_ms = t->pull_stopped_ns / 1000000,
			.created_at_ms = lt->created_ns / 1000000,
			.started_at_ms = lt->running_ns / 1000000,
		},
		&u, cur->read_ns / 1000000, &ev);
	if (r == 0) {
		text = json_dumps(ev, JSON_COMPACT);
		r = text ? emf_validate_text(text, strlen(text), realtime_nsec() / 1000000, &e)
			 : -ENOMEM;
	}
	/* the next interval starts here, whatever became of this one */
	lt->insights_read_ns = cur->read_ns;
	lt->insights_cpu_ns = cpu;
	if (r < 0) {
		log_err("Task '%s': its Container Insights event: %s", lt->id, e ?: strerror(-r));
		return;
	}
	if (shim_send(lt, "insights", json_pack("{s:[s]}", "events", text)) >= 0)
		lt->insights_events++;
}

void launch_tick(struct launch *l)
{
	uint64_t now = realtime_nsec(), mono = now_usec();

	for (struct launch_task *lt = l->tasks, *next; lt; lt = next) {
		next = lt->next;
		if (lt->reg_pending && !lt->at)
			restore_registration(lt);
		insights_tick(lt);
		if (lt->teardown_pending)
			task_teardown(lt);
		if (lt->phase == LAUNCH_STOPPED &&
		    now - lt->stopped_ns > (uint64_t)l->o.retention_sec * 1000000000ULL) {
			bool busy = false;

			for (struct log_cursor *c = l->cursors; c; c = c->next)
				busy |= streq(c->task_id, lt->id) && c->pending;
			if (busy)
				continue;
			log_info("Task '%s': stopped %us ago, forgotten", lt->id,
				 l->o.retention_sec);
			(void)rm_rf(lt->run_dir);
			journal_remove(lt);
			for (struct log_cursor *c = l->cursors, *cn; c; c = cn) {
				cn = c->next;
				if (streq(c->task_id, lt->id))
					cursor_free(c);
			}
			task_unlink_free(lt);
		}
	}
	for (struct log_cursor *c = l->cursors, *next; c; c = next) {
		next = c->next;
		if (!c->pending && mono - c->last_usec > LAUNCH_LOGS_IDLE_USEC)
			cursor_free(c);
	}
}

bool launch_owns(struct launch *l, const char *task_id, const char *instance)
{
	struct launch_task *lt = l ? task_find(l, task_id) : NULL;

	return lt && lt->phase != LAUNCH_STOPPED &&
	       (!instance || !lt->instance[0] || streq(lt->instance, instance));
}

void launch_task_dropped(struct launch *l, const char *task_id)
{
	struct launch_task *lt = l ? task_find(l, task_id) : NULL;

	if (!lt || !lt->at)
		return;
	lt->at = NULL;
	if (lt->phase >= LAUNCH_DEPROVISIONING)
		return;
	log_notice("Task '%s': netd detached its network: stopping it", lt->id);
	set_stop(lt, NULL, "ResourceInitializationError: the task's network was detached by netd");
	lt->desired_stop = true;
	journal_save(lt);
	if (lt->fd >= 0 && lt->subscribed)
		shim_stop(lt);
	else if (lt->pidfd < 0)
		task_teardown(lt);
}

json_t *launch_task_json(struct launch *l, const char *task_id, bool detail)
{
	struct launch_task *lt = l ? task_find(l, task_id) : NULL;

	return lt ? task_json(lt, detail) : NULL;
}

void launch_list_unregistered(struct launch *l, json_t *arr)
{
	if (!l)
		return;
	for (struct launch_task *lt = l->tasks; lt; lt = lt->next)
		if (!lt->at)
			json_array_append_new(arr, task_json(lt, false));
}
