// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctrrun: the runtime's container modules (platform.h, taskdef.h, storage.h, oci.h, runc.h)
 * driven as the per-task shim drives them, for the root tests in tests/runtime/: one process,
 * one event loop, subreaper of its containers.
 *
 *   ctrrun validate --taskdef F [--platform V]
 *   ctrrun storage-create --dir D [--platform V] [--taskdef F] [--crash-at STEP]
 *   ctrrun storage-teardown --dir D
 *   ctrrun run --dir D --taskdef F --image-config F --layer DIR... --cgroup PATH [--platform V]
 *              [--netns PATH] [--hostname H] [--resolv-conf F] [--env K=V]... [--stop-after MS]
 *              [--timeout S] [--keep] [--crash-at STEP]
 *   ctrrun teardown --dir D [--cgroup PATH]
 *
 * D holds: state/ (volume images), mnt/ (mounts), bundles/<container>/, runc/ (runc --root),
 * logs/<container>.log (stdout and stderr), etc/ (hosts, hostname). --layer is an image layer
 * directory, the top one first; every container runs the same image (--image-config: its config
 * blob or just the blob's "config" object). --platform defaults to LATEST.
 *
 * run prints one line per event on stdout:
 *   storage DEVICES            the task's loop devices
 *   started NAME PID           exited NAME status N | exited NAME signal N
 *   skipped NAME REASON        stopping NAME SIGTERM | killing NAME SIGKILL
 *   usage UTILIZED RESERVED    (MiB) after the start, and on SIGUSR1
 *   done
 * The task stops (SIGTERM to every container, SIGKILL after its stopTimeout) on SIGTERM or SIGINT,
 * after --stop-after ms, after --timeout s (120) and when an essential container exits; then all
 * is torn down unless --keep (logs and etc stay). --crash-at STEP ends ctrrun with SIGKILL right
 * after STEP (storage-create: file, mkfs, loop, mount are not separable from the outside, so it
 * takes "storage" only; run: cgroup, storage, rootfs, bundle, create, start), to test the teardown
 * from disk. Exit status: 0 if the task ran, 1 on an error (printed on stderr), 2 on usage.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "event.h"
#include "oci.h"
#include "platform.h"
#include "runc.h"
#include "prog.h"
#include "storage.h"
#include "taskdef.h"
#include "util.h"

#define MAX_LAYERS 32
#define MAX_ENV	   32

enum ctr_state {
	CTR_WAITING,
	CTR_CREATED,
	CTR_RUNNING,
	CTR_EXITED,
	CTR_SKIPPED,
};

struct ctr {
	const struct taskdef_container *def;
	enum ctr_state state;
	pid_t pid;
	int status;
	int kill_timer;
};

struct run {
	struct event_loop *loop;
	struct taskdef *def;
	const struct platform *platform;
	json_t *image_config;
	struct storage *storage;
	char *volume_paths[TASKDEF_MAX_VOLUMES + 1];
	struct ctr ctrs[TASKDEF_MAX_CONTAINERS];
	struct runc_opts runc;
	bool stopping;
	int rc;
};

static struct {
	const char *dir;
	const char *taskdef;
	const char *platform;
	const char *image_config;
	const char *layers[MAX_LAYERS + 1];
	unsigned int n_layers;
	const char *netns;
	const char *cgroup;
	const char *hostname;
	const char *resolv_conf;
	const char *env[MAX_ENV + 1];
	unsigned int n_env;
	unsigned int stop_after_ms;
	unsigned int timeout_s;
	bool keep;
	const char *crash_at;
} arg = { .platform = "LATEST", .timeout_s = 120 };

static char path_state[PATH_MAX], path_mnt[PATH_MAX], path_runc[PATH_MAX];

static void out(const char *fmt, ...) _printf_(1, 2);
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int err(int r, const char *fmt, ...) _printf_(2, 3);
static int err(int r, const char *fmt, ...)
{
	va_list ap;

	fputs("ctrrun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return r;
}

/* --crash-at: a SIGKILL of ourselves, as a crash leaves things. */
static void crash_point(const char *step)
{
	if (arg.crash_at && streq(arg.crash_at, step)) {
		out("crash %s", step);
		raise(SIGKILL);
	}
}

static int load_taskdef(struct taskdef **ret_def, const struct platform **ret_p)
{
	_cleanup_free_ char *e = NULL;
	json_auto_t *j = NULL;
	json_error_t jerr;
	int r;

	r = platform_lookup(arg.platform, ret_p, &e);
	if (r < 0)
		return err(r, "%s", e);
	if (!arg.taskdef) {
		*ret_def = NULL;
		return 0;
	}
	j = json_load_file(arg.taskdef, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return err(-EINVAL, "%s: %s", arg.taskdef, jerr.text);
	r = taskdef_parse(j, ret_def, &e);
	if (r < 0)
		return err(r, "task definition: %s", e);
	r = platform_check_taskdef(*ret_p, *ret_def, &e);
	if (r < 0) {
		*ret_def = taskdef_free(*ret_def);
		return err(r, "%s", e);
	}
	return 0;
}

static int set_paths(void)
{
	if (!arg.dir || arg.dir[0] != '/')
		return err(-EINVAL, "--dir must be an absolute path");
	snprintf(path_state, sizeof(path_state), "%s/state", arg.dir);
	snprintf(path_mnt, sizeof(path_mnt), "%s/mnt", arg.dir);
	snprintf(path_runc, sizeof(path_runc), "%s/runc", arg.dir);
	return 0;
}

/* --- storage only --------------------------------------------------------------------------- */

static int storage_create_for(const struct platform *p, const struct taskdef *d,
			      struct storage **ret)
{
	_cleanup_free_ char *e = NULL;
	int r;

	r = storage_create(&(struct storage_opts){ .state_dir = path_state,
						   .mount_dir = path_mnt,
						   .platform = p,
						   .size_gib = d ? platform_storage_gib(p, d) : 0 },
			   ret, &e);
	if (r < 0)
		return err(r, "storage: %s", e ?: strerror(-r));
	return 0;
}

static int cmd_storage_create(void)
{
	_cleanup_storage_ struct storage *s = NULL;
	_cleanup_taskdef_ struct taskdef *d = NULL;
	const struct platform *p;
	struct storage_usage u;
	int r;

	r = set_paths();
	if (r >= 0)
		r = load_taskdef(&d, &p);
	if (r >= 0)
		r = storage_create_for(p, d, &s);
	if (r < 0)
		return 1;
	crash_point("storage");
	out("storage %s", storage_devices(s));
	r = storage_usage(s, &u);
	if (r < 0)
		return err(r, "storage usage: %s", strerror(-r)), 1;
	out("usage %" PRIu64 " %" PRIu64, u.utilized_mib, u.reserved_mib);
	return 0;
}

/* --- teardown ------------------------------------------------------------------------------- */

static int teardown(void)
{
	_cleanup_free_ char *e = NULL;
	char bundles[PATH_MAX + 16];
	int r, rc = 0;

	r = runc_teardown(&(struct runc_opts){ .root = path_runc }, &e);
	if (r < 0)
		rc = err(r, "runc teardown: %s", e ?: strerror(-r));
	free(e);
	e = NULL;
	r = storage_teardown(path_state, path_mnt, &e);
	if (r < 0)
		rc = err(r, "storage teardown: %s", e ?: strerror(-r));
	if (arg.cgroup) {
		r = cgroup_remove("/proc/self/mountinfo", arg.cgroup);
		if (r < 0)
			rc = err(r, "cgroup '%s' teardown: %s", arg.cgroup, strerror(-r));
	}
	snprintf(bundles, sizeof(bundles), "%s/bundles", arg.dir);
	r = rm_rf(bundles);
	if (r < 0)
		rc = err(r, "cannot remove '%s': %s", bundles, strerror(-r));
	return rc;
}

static int cmd_teardown(void)
{
	if (set_paths() < 0)
		return 1;
	if (arg.cgroup && !cgroup_path_valid(arg.cgroup))
		return err(1, "--cgroup '%s' is not a relative cgroup path", arg.cgroup);
	return teardown() < 0 ? 1 : 0;
}

static int cmd_storage_teardown(void)
{
	_cleanup_free_ char *e = NULL;
	int r;

	if (set_paths() < 0)
		return 1;
	r = storage_teardown(path_state, path_mnt, &e);
	if (r < 0)
		return err(1, "storage teardown: %s", e ?: strerror(-r));
	return 0;
}

/* --- run ------------------------------------------------------------------------------------ */

static void task_stop(struct run *run, const char *why);

static struct ctr *ctr_by_pid(struct run *run, pid_t pid)
{
	for (size_t i = 0; i < run->def->n_containers; i++)
		if ((run->ctrs[i].state == CTR_RUNNING || run->ctrs[i].state == CTR_CREATED) &&
		    run->ctrs[i].pid == pid)
			return &run->ctrs[i];
	return NULL;
}

static int write_etc(const char *name, const char *text, char **ret_path)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	int r;

	snprintf(dir, sizeof(dir), "%s/etc", arg.dir);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = write_file_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return r;
	*ret_path = strdup(path);
	return *ret_path ? 0 : -ENOMEM;
}

static int open_log(const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	int r;

	snprintf(dir, sizeof(dir), "%s/logs", arg.dir);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	r = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return r < 0 ? -errno : r;
}

/* Everything from the root file system to a running container process. */
static int ctr_launch(struct run *run, struct ctr *c)
{
	const char *name = c->def->name;
	_cleanup_free_ char *e = NULL, *rootfs = NULL, *hosts = NULL, *hostname = NULL;
	char bundle[PATH_MAX + 300], cgroup[PATH_MAX + 300];
	_cleanup_close_ int log_fd = -1;
	json_auto_t *spec = NULL;
	struct oci_user user;
	int r;

	r = storage_rootfs_mount(run->storage, name, arg.layers, arg.n_layers, &rootfs, &e);
	if (r < 0)
		return err(r, "container '%s': %s", name, e);
	crash_point("rootfs");
	r = oci_user_resolve(oci_user_spec(c->def, run->image_config), rootfs, &user, &e);
	if (r < 0)
		return err(r, "container '%s': %s", name, e);
	if (arg.hostname) {
		char text[512];

		snprintf(text, sizeof(text), "127.0.0.1\tlocalhost\n::1\tlocalhost\n%s\n",
			 arg.hostname);
		r = write_etc("hosts", text, &hosts);
		if (r >= 0) {
			snprintf(text, sizeof(text), "%s\n", arg.hostname);
			r = write_etc("hostname", text, &hostname);
		}
		if (r < 0)
			return err(r, "cannot write the task's etc files: %s", strerror(-r));
	}
	snprintf(cgroup, sizeof(cgroup), "/%s/%s", arg.cgroup, name);
	r = oci_spec_build(
		&(struct oci_spec_opts){
			.platform = run->platform,
			.def = run->def,
			.container = c->def,
			.image_config = run->image_config,
			.user = &user,
			.rootfs = rootfs,
			.hostname = arg.hostname,
			.netns_path = arg.netns,
			.cgroups_path = cgroup,
			.volume_paths = (const char *const *)run->volume_paths,
			.resolv_conf = arg.resolv_conf,
			.hosts = hosts,
			.hostname_file = hostname,
			.env = arg.env,
		},
		&spec, &e);
	if (r < 0)
		return err(r, "container '%s': %s", name, e ?: strerror(-r));
	snprintf(bundle, sizeof(bundle), "%s/bundles/%s", arg.dir, name);
	r = oci_bundle_write(bundle, spec, &e);
	if (r < 0)
		return err(r, "container '%s': %s", name, e ?: strerror(-r));
	crash_point("bundle");

	log_fd = open_log(name);
	if (log_fd < 0)
		return err(log_fd, "container '%s': cannot open its log: %s", name,
			   strerror(-log_fd));
	r = runc_create(
		&run->runc,
		&(struct runc_create_opts){
			.id = name, .bundle = bundle, .stdout_fd = log_fd, .stderr_fd = log_fd },
		&c->pid, &e);
	if (r < 0)
		return err(r, "container '%s': %s", name, e ?: strerror(-r));
	c->state = CTR_CREATED;
	crash_point("create");
	r = runc_start(&run->runc, name, c->pid, &e);
	if (r < 0)
		return err(r, "container '%s': %s", name, e ?: strerror(-r));
	c->state = CTR_RUNNING;
	crash_point("start");
	out("started %s %d", name, (int)c->pid);
	return 0;
}

/* Can c start (1), not yet (0), or never (-1, a dependency failed or was skipped)? */
static int ctr_ready(struct run *run, struct ctr *c, const char **ret_dep)
{
	for (size_t i = 0; i < c->def->n_depends_on; i++) {
		const struct taskdef_dependency *dep = &c->def->depends_on[i];
		struct ctr *t = &run->ctrs[dep->container];

		*ret_dep = t->def->name;
		if (t->state == CTR_SKIPPED)
			return -1;
		switch (dep->condition) {
		case TASKDEF_CONDITION_START:
			if (t->state != CTR_RUNNING && t->state != CTR_EXITED)
				return 0;
			break;
		case TASKDEF_CONDITION_COMPLETE:
			if (t->state != CTR_EXITED)
				return 0;
			break;
		case TASKDEF_CONDITION_SUCCESS:
			if (t->state != CTR_EXITED)
				return 0;
			if (!WIFEXITED(t->status) || WEXITSTATUS(t->status) != 0)
				return -1;
			break;
		case TASKDEF_CONDITION_HEALTHY:
			return -1; /* platform_check_taskdef() refuses health checks */
		}
	}
	return 1;
}

static void task_check_done(struct run *run)
{
	for (size_t i = 0; i < run->def->n_containers; i++)
		if (run->ctrs[i].state == CTR_WAITING || run->ctrs[i].state == CTR_CREATED ||
		    run->ctrs[i].state == CTR_RUNNING)
			return;
	event_loop_exit(run->loop, 0);
}

/* Start every container whose dependencies are met, in the task definition's start order. */
static void launch_ready(struct run *run)
{
	size_t order[TASKDEF_MAX_CONTAINERS];
	bool progress = true;

	taskdef_start_order(run->def, order);
	while (progress && !run->stopping) {
		progress = false;
		for (size_t k = 0; k < run->def->n_containers && !run->stopping; k++) {
			struct ctr *c = &run->ctrs[order[k]];
			const char *dep = NULL;
			int ready;

			if (c->state != CTR_WAITING)
				continue;
			ready = ctr_ready(run, c, &dep);
			if (ready < 0) {
				c->state = CTR_SKIPPED;
				out("skipped %s dependency %s failed", c->def->name, dep);
				progress = true;
				if (c->def->essential)
					task_stop(run, "an essential container cannot start");
			} else if (ready > 0) {
				progress = true;
				if (ctr_launch(run, c) < 0) {
					run->rc = 1;
					if (c->state == CTR_WAITING)
						c->state = CTR_SKIPPED;
					task_stop(run, "a container failed to start");
				}
			}
		}
	}
	task_check_done(run);
}

static void on_kill_timer(struct event_loop *loop, void *data)
{
	struct ctr *c = data;

	c->kill_timer = 0;
	if (c->state != CTR_RUNNING && c->state != CTR_CREATED)
		return;
	out("killing %s SIGKILL", c->def->name);
	kill(c->pid, SIGKILL);
}

static void task_stop(struct run *run, const char *why)
{
	if (run->stopping)
		return;
	run->stopping = true;
	out("stop %s", why);
	for (size_t i = 0; i < run->def->n_containers; i++) {
		struct ctr *c = &run->ctrs[i];

		if (c->state == CTR_WAITING) {
			c->state = CTR_SKIPPED;
			continue;
		}
		if (c->state != CTR_RUNNING && c->state != CTR_CREATED)
			continue;
		/* the init is our unreaped child: its pid cannot have been reused */
		out("stopping %s SIGTERM", c->def->name);
		kill(c->pid, SIGTERM);
		c->kill_timer = event_add_timer(run->loop, c->def->stop_timeout * 1000000ULL,
						on_kill_timer, c, NULL);
	}
	task_check_done(run);
}

static void on_sigchld(struct event_loop *loop, int signo, void *data)
{
	struct run *run = data;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		_cleanup_free_ char *e = NULL;
		struct ctr *c = ctr_by_pid(run, pid);

		if (!c)
			continue; /* an orphan reparented to us */
		c->state = CTR_EXITED;
		c->status = status;
		event_cancel(loop, c->kill_timer);
		c->kill_timer = 0;
		if (WIFEXITED(status))
			out("exited %s status %d", c->def->name, WEXITSTATUS(status));
		else
			out("exited %s signal %d", c->def->name, WTERMSIG(status));
		if (runc_delete(&run->runc, c->def->name, false, &e) < 0)
			err(0, "container '%s': %s", c->def->name, e);
		if (c->def->essential)
			task_stop(run, "an essential container exited");
	}
	launch_ready(run);
}

static void print_usage(struct run *run)
{
	struct storage_usage u;

	if (storage_usage(run->storage, &u) == 0)
		out("usage %" PRIu64 " %" PRIu64, u.utilized_mib, u.reserved_mib);
}

static void on_signal(struct event_loop *loop, int signo, void *data)
{
	struct run *run = data;

	if (signo == SIGUSR1)
		print_usage(run);
	else
		task_stop(run, signo == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_stop_timer(struct event_loop *loop, void *data)
{
	task_stop(data, "requested");
}

static void on_timeout(struct event_loop *loop, void *data)
{
	struct run *run = data;

	run->rc = 1;
	task_stop(run, "timeout");
}

static int load_image_config(json_t **ret)
{
	json_auto_t *j = NULL;
	json_error_t jerr;
	json_t *config;

	j = json_load_file(arg.image_config, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return err(-EINVAL, "%s: %s", arg.image_config, jerr.text);
	config = json_object_get(j, "config");
	*ret = json_incref(json_is_object(config) ? config : j);
	return 0;
}

/* Storage, the task's cgroup, volumes: what every container needs. */
static int task_setup(struct run *run)
{
	const struct taskdef *d = run->def;
	struct cgroup_roots roots;
	_cleanup_free_ char *e = NULL;
	int r;

	r = cgroup_roots_detect("/proc/self/mountinfo", &roots);
	if (r < 0)
		return err(r, "cannot find the cgroup hierarchies: %s", strerror(-r));
	r = cgroup_create(&roots, arg.cgroup,
			  &(struct cgroup_limits){
				  .cpu_quota_us = taskdef_cpu_quota_us(d),
				  .cpu_period_us = TASKDEF_CPU_PERIOD_US,
				  .memory_bytes = (uint64_t)d->memory_mib << 20,
			  });
	if (r < 0)
		return err(r, "cannot create the task's cgroup '%s': %s", arg.cgroup, strerror(-r));
	crash_point("cgroup");
	r = storage_create_for(run->platform, d, &run->storage);
	if (r < 0)
		return r;
	crash_point("storage");
	out("storage %s", storage_devices(run->storage));
	for (size_t i = 0; i < d->n_volumes; i++) {
		r = storage_volume_path(run->storage, d->volumes[i].name, &run->volume_paths[i],
					&e);
		if (r < 0)
			return err(r, "volume '%s': %s", d->volumes[i].name, e);
	}
	return 0;
}

static int cmd_run(void)
{
	struct run run = { .rc = 0 };
	int r;

	if (set_paths() < 0)
		return 1;
	if (!arg.taskdef || !arg.image_config || !arg.n_layers || !arg.cgroup)
		return err(2, "run needs --taskdef, --image-config, --layer and --cgroup");
	if (!cgroup_path_valid(arg.cgroup))
		return err(2, "--cgroup '%s' is not a relative cgroup path", arg.cgroup);
	/* everything is checked before anything is created */
	if (load_taskdef(&run.def, &run.platform) < 0 || load_image_config(&run.image_config) < 0)
		return 1;
	run.runc.root = path_runc;
	for (size_t i = 0; i < run.def->n_containers; i++)
		run.ctrs[i].def = &run.def->containers[i];

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return err(1, "cannot become a subreaper: %m");
	r = event_loop_new(&run.loop);
	if (r >= 0)
		r = event_add_signal(run.loop, SIGCHLD, on_sigchld, &run);
	if (r >= 0)
		r = event_add_signal(run.loop, SIGTERM, on_signal, &run);
	if (r >= 0)
		r = event_add_signal(run.loop, SIGINT, on_signal, &run);
	if (r >= 0)
		r = event_add_signal(run.loop, SIGUSR1, on_signal, &run);
	if (r >= 0 && arg.stop_after_ms)
		r = event_add_timer(run.loop, arg.stop_after_ms * 1000ULL, on_stop_timer, &run,
				    NULL);
	if (r >= 0)
		r = event_add_timer(run.loop, arg.timeout_s * 1000000ULL, on_timeout, &run, NULL);
	if (r < 0) {
		err(r, "cannot set up the event loop: %s", strerror(-r));
		run.rc = 1;
		goto out;
	}

	if (task_setup(&run) < 0) {
		run.rc = 1;
		goto out_teardown;
	}
	launch_ready(&run);
	if (run.storage && !run.stopping)
		print_usage(&run);
	event_loop_run(run.loop);
	out("done");

out_teardown:
	if (!arg.keep && teardown() < 0)
		run.rc = 1;
out:
	run.loop = event_loop_free(run.loop);
	storage_free(run.storage);
	for (size_t i = 0; i < TASKDEF_MAX_VOLUMES; i++)
		free(run.volume_paths[i]);
	json_decref(run.image_config);
	taskdef_free(run.def);
	return run.rc;
}

static int cmd_validate(void)
{
	_cleanup_taskdef_ struct taskdef *d = NULL;
	const struct platform *p;

	if (!arg.taskdef)
		return err(2, "validate needs --taskdef");
	return load_taskdef(&d, &p) < 0 ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ctrrun validate --taskdef F [--platform V]\n"
		"       ctrrun storage-create --dir D [--platform V] [--taskdef F] [--crash-at STEP]\n"
		"       ctrrun storage-teardown --dir D\n"
		"       ctrrun run --dir D --taskdef F --image-config F --layer DIR... --cgroup PATH\n"
		"                  [--platform V] [--netns PATH] [--hostname H] [--resolv-conf F]\n"
		"                  [--env K=V]... [--stop-after MS] [--timeout S] [--keep]\n"
		"                  [--crash-at STEP]\n"
		"       ctrrun teardown --dir D [--cgroup PATH]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "taskdef", required_argument, NULL, 't' },
		{ "platform", required_argument, NULL, 'p' },
		{ "image-config", required_argument, NULL, 'i' },
		{ "layer", required_argument, NULL, 'l' },
		{ "netns", required_argument, NULL, 'n' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "resolv-conf", required_argument, NULL, 'r' },
		{ "env", required_argument, NULL, 'e' },
		{ "stop-after", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "keep", no_argument, NULL, 'k' },
		{ "crash-at", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *cmd;
	int c;

	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'd':
			arg.dir = optarg;
			break;
		case 't':
			arg.taskdef = optarg;
			break;
		case 'p':
			arg.platform = optarg;
			break;
		case 'i':
			arg.image_config = optarg;
			break;
		case 'l':
			if (arg.n_layers == MAX_LAYERS)
				return err(2, "more than %d layers", MAX_LAYERS);
			arg.layers[arg.n_layers++] = optarg;
			break;
		case 'n':
			arg.netns = optarg;
			break;
		case 'g':
			arg.cgroup = optarg;
			break;
		case 'H':
			arg.hostname = optarg;
			break;
		case 'r':
			arg.resolv_conf = optarg;
			break;
		case 'e':
			if (arg.n_env == MAX_ENV)
				return err(2, "more than %d --env", MAX_ENV);
			arg.env[arg.n_env++] = optarg;
			break;
		case 's':
			arg.stop_after_ms = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			arg.timeout_s = (unsigned int)strtoul(optarg, NULL, 10) ?: 120;
			break;
		case 'k':
			arg.keep = true;
			break;
		case 'c':
			arg.crash_at = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (streq(cmd, "validate"))
		return cmd_validate();
	if (streq(cmd, "storage-create"))
		return cmd_storage_create();
	if (streq(cmd, "storage-teardown"))
		return cmd_storage_teardown();
	if (streq(cmd, "run"))
		return cmd_run();
	if (streq(cmd, "teardown"))
		return cmd_teardown();
	usage(stderr);
	return 2;
}
