// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shim's VM backend (shim-vm.h). Runs on the shim's loop; qemu is reaped through vm.h's
 * pidfd, or handed over by the shim's SIGCHLD handler (shim_vm_reaped()).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "event.h"
#include "log.h"
#include "shim-internal.h"
#include "shim-vm.h"
#include "vm-root.h"
#include "vm.h"

#define SHIM_VM_TAP	   "tap0"      /* netd's wiring vm: beside eth1 */
#define SHIM_VM_TAP_MD	   "tapmd"     /* beside md0 */
#define SHIM_VM_VOLUME	   "task"      /* the task's volume: the containers' writable layers */
#define SHIM_VM_VOLUMES	   "volumes"   /* 1.3.0: the drive of the task volumes' directories */
#define SHIM_VM_MEMORY_MIN 128	       /* MiB: the least the guest kernel boots in */
#define SHIM_VM_PIPE_MAX   (16u << 20) /* output held for a slow reader, per stream */
#define SHIM_VM_CONSOLE	   "vm-console.log"

/* One end of a container's output pipe, written from the guest's frames. */
struct vm_pipe {
	struct shim_vm *v;
	int fd;
	int io;	   /* EPOLLOUT watch while bytes wait */
	char *buf; /* bytes the pipe had no room for */
	size_t len;
	bool close_after; /* the stream ended: close once buf is written */
	uint64_t dropped;
};

struct vm_ctr {
	char *root; /* the root drive (a file of the image store) */
	char root_serial[VM_SERIAL_MAX + 1];
	char **argv, **env;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	uint64_t caps;
	uint64_t nofile_soft, nofile_hard;
	uint64_t memory_max, cpu_shares;
	bool readonly_root;
	struct vm_pipe out, err;
	bool queued;	/* its start waits for the guest's spec */
	bool in_guest;	/* START sent */
	int exit_timer; /* its exit, when the guest never ran it */
	int exit_status;
};

struct shim_vm {
	struct shim *s;
	struct vm *vm;
	struct vm_ctr ctrs[TASKDEF_MAX_CONTAINERS];
	char *volume_file;
	char *volumes_file; /* 1.3.0: the task volumes' own drive; NULL: on volume_file's */
	bool booted, spec_sent, exited, stop_sent;
};

/* --- output --------------------------------------------------------------------------------- */

static void pipe_close(struct vm_pipe *p)
{
	if (p->io)
		event_cancel(p->v->s->loop, p->io);
	p->io = 0;
	p->fd = safe_close(p->fd);
	free(p->buf);
	p->buf = NULL;
	p->len = 0;
	if (p->dropped)
		log_warn("Task VM: %" PRIu64 " bytes of output dropped (the log reader was stuck)",
			 p->dropped);
	p->dropped = 0;
}

static void pipe_flush(struct vm_pipe *p)
{
	while (p->len) {
		ssize_t n = write(p->fd, p->buf, p->len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			p->dropped += p->len;
			p->len = 0;
			break;
		}
		memmove(p->buf, p->buf + n, p->len - (size_t)n);
		p->len -= (size_t)n;
	}
	if (p->len == 0) {
		if (p->io)
			event_cancel(p->v->s->loop, p->io);
		p->io = 0;
		if (p->close_after)
			pipe_close(p);
	}
}

static void on_pipe_writable(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	pipe_flush(data);
}

static void pipe_write(struct vm_pipe *p, const void *data, size_t len)
{
	char *nb;
	int r;

	if (p->fd < 0 || len == 0)
		return;
	if (p->len + len > SHIM_VM_PIPE_MAX) {
		p->dropped += len;
		return;
	}
	nb = realloc(p->buf, p->len + len);
	if (!nb) {
		p->dropped += len;
		return;
	}
	p->buf = nb;
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	pipe_flush(p);
	if (p->len && !p->io && p->fd >= 0) {
		r = event_add_io(p->v->s->loop, p->fd, EPOLLOUT, on_pipe_writable, p, NULL);
		if (r > 0)
			p->io = r;
	}
}

/* The stream ended: closed once what waits is written (the reader then sees its end). */
static void pipe_end(struct vm_pipe *p)
{
	if (p->fd < 0)
		return;
	p->close_after = true;
	pipe_flush(p);
}

/* --- the guest's reports -------------------------------------------------------------------- */

static struct shim_ctr *ctr_of(struct shim_vm *v, unsigned int index)
{
	return index < v->s->n_ctrs ? &v->s->ctrs[index] : NULL;
}

static struct vm_ctr *vctr(struct shim_vm *v, const struct shim_ctr *c)
{
	return &v->ctrs[c - v->s->ctrs];
}

static void start_in_guest(struct shim_vm *v, struct shim_ctr *c)
{
	struct vm_ctr *vc = vctr(v, c);
	int r;

	vc->queued = false;
	r = vm_start_container(v->vm, (unsigned int)(c - v->s->ctrs));
	if (r < 0) {
		log_err_errno(r, "Container '%s': cannot start it in the task VM: %m",
			      c->def->name);
		shim_ctr_set_reason(c, "CannotStartContainerError: %s", strerror(-r));
		shim_vm_ctr_kill(v, c, SIGKILL);
		return;
	}
	vc->in_guest = true;
}

/* The number of components of an absolute path. */
static size_t path_depth(const char *path)
{
	size_t n = 0;

	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			n++;
	return n;
}

static void on_ready(struct vm *vm, void *data)
{
	struct shim_vm *v = data;
	struct shim *s = v->s;
	struct vm_volume vols[TASKDEF_MAX_VOLUMES + 1] = {};
	char vnames[TASKDEF_MAX_VOLUMES][24], *vdirs[TASKDEF_MAX_VOLUMES] = {};
	struct vm_mount *mounts[TASKDEF_MAX_CONTAINERS] = {};
	struct vm_container cs[TASKDEF_MAX_CONTAINERS] = {};
	_cleanup_free_ char *e = NULL;
	size_t order[TASKDEF_MAX_CONTAINERS], n_vols = 0;
	int r = 0;

	log_info("Task VM: the guest is up after %.0f ms",
		 (double)(vm_ready_usec(vm) - vm_started_usec(vm)) / 1000);
	/*
	 * The task's drive, whole (the containers' writable layers), and the task definition's
	 * volumes: their directories volumes/<name>, made by storage_volume_path() before the
	 * storage was released, on the same drive (1.4.0) or the volumes' own (1.3.0). Named by
	 * index in the spec (a volume name may be longer than the spec allows).
	 */
	vols[n_vols++] = (struct vm_volume){ .name = SHIM_VM_VOLUME, .serial = SHIM_VM_VOLUME };
	for (size_t i = 0; i < s->def->n_volumes && r == 0; i++) {
		snprintf(vnames[i], sizeof(vnames[i]), "v%zu", i);
		if (asprintf(&vdirs[i], "volumes/%s", s->def->volumes[i].name) < 0) {
			vdirs[i] = NULL;
			r = -ENOMEM;
			break;
		}
		vols[n_vols++] = (struct vm_volume){
			.name = vnames[i],
			.serial = v->volumes_file ? SHIM_VM_VOLUMES : SHIM_VM_VOLUME,
			.dir = vdirs[i],
		};
	}
	for (size_t i = 0; i < s->n_ctrs && r == 0; i++) {
		const struct taskdef_container *d = s->ctrs[i].def;

		if (!d->n_mounts)
			continue;
		mounts[i] = calloc(d->n_mounts, sizeof(struct vm_mount));
		if (!mounts[i]) {
			r = -ENOMEM;
			break;
		}
		/* shallower paths first, as on the runc path (oci.c): /a before /a/b */
		for (size_t k = 0, n = 0; k < d->n_mounts; k++, n++) {
			const struct taskdef_mount *m = &d->mounts[k];
			size_t j = n;

			while (j > 0 &&
			       path_depth(mounts[i][j - 1].path) > path_depth(m->container_path)) {
				mounts[i][j] = mounts[i][j - 1];
				j--;
			}
			mounts[i][j] = (struct vm_mount){ .volume = vnames[m->volume],
							  .path = m->container_path,
							  .readonly = m->read_only };
		}
	}
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct vm_ctr *vc = &v->ctrs[i];

		cs[i] = (struct vm_container){
			.name = s->ctrs[i].def->name,
			.root = vc->root_serial,
			.upper = SHIM_VM_VOLUME,
			.argv = vc->argv,
			.env = vc->env,
			.cwd = vc->cwd,
			.uid = vc->uid,
			.gid = vc->gid,
			.groups = vc->groups,
			.n_groups = vc->n_groups,
			.stop_signal = s->ctrs[i].stop_signal,
			.caps = vc->caps,
			.nofile_soft = vc->nofile_soft,
			.nofile_hard = vc->nofile_hard,
			.memory_max = vc->memory_max,
			.cpu_shares = vc->cpu_shares,
			.readonly_root = vc->readonly_root,
			.mounts = mounts[i],
			.n_mounts = mounts[i] ? s->ctrs[i].def->n_mounts : 0,
		};
	}
	if (r == 0)
		r = vm_send_spec(vm,
				 &(struct vm_spec){ .volumes = vols,
						    .n_volumes = n_vols,
						    .containers = cs,
						    .n_containers = s->n_ctrs },
				 &e);
	for (size_t i = 0; i < TASKDEF_MAX_VOLUMES; i++)
		free(vdirs[i]);
	for (size_t i = 0; i < TASKDEF_MAX_CONTAINERS; i++)
		free(mounts[i]);
	if (r < 0) {
		log_err("Task VM: cannot send the task: %s", e ?: strerror(-r));
		shim_task_stop(s, "TaskFailedToStart",
			       "ResourceInitializationError: the task VM refused the task: %s",
			       e ?: strerror(-r));
		shim_check_done(s);
		return;
	}
	v->spec_sent = true;
	/* the containers whose start came before the guest was up, in their order */
	taskdef_start_order(s->def, order);
	for (size_t k = 0; k < s->n_ctrs; k++)
		if (v->ctrs[order[k]].queued && !s->stopping)
			start_in_guest(v, &s->ctrs[order[k]]);
	shim_vm_stop_progress(v);
}

static void on_started(struct vm *vm, unsigned int index, pid_t pid, void *data)
{
	struct shim_vm *v = data;
	struct shim_ctr *c = ctr_of(v, index);

	if (!c)
		return;
	/* it runs now: its start (decided when the guest may not have been up) is this */
	c->started_ns = realtime_nsec();
	log_info("Container '%s' runs in the task VM (pid %d there)", c->def->name, (int)pid);
	shim_emit_status(v->s);
}

static void on_output(struct vm *vm, unsigned int index, int stream, const void *buf, size_t len,
		      void *data)
{
	struct shim_vm *v = data;

	if (index >= v->s->n_ctrs)
		return;
	pipe_write(stream == 1 ? &v->ctrs[index].out : &v->ctrs[index].err, buf, len);
}

/* c ended (the guest's EXIT, or never run, or the VM gone): its output ends, then its exit. */
static void ctr_gone(struct shim_vm *v, struct shim_ctr *c, int status)
{
	struct vm_ctr *vc = vctr(v, c);
	struct shim *s = v->s;

	if (!c->created || c->exited)
		return;
	vc->queued = false;
	pipe_end(&vc->out);
	pipe_end(&vc->err);
	shim_ctr_exited(s, c, status);
	if (s->stopping)
		shim_vm_stop_progress(v);
	shim_launch_ready(s);
	shim_check_done(s);
}

static void on_exited(struct vm *vm, unsigned int index, int status, void *data)
{
	struct shim_vm *v = data;
	struct shim_ctr *c = ctr_of(v, index);

	if (c)
		ctr_gone(v, c, status);
}

static void on_error(struct vm *vm, unsigned int index, const char *message, void *data)
{
	struct shim_vm *v = data;
	struct shim_ctr *c = ctr_of(v, index);

	if (!c) {
		log_err("Task VM: %s", message);
		return;
	}
	log_err("Container '%s' in the task VM: %s", c->def->name, message);
	shim_ctr_set_reason(c, "CannotStartContainerError: %s", message);
}

static void on_stats(struct vm *vm, unsigned int index, const struct vm_stats *st, void *data)
{
	struct shim_vm *v = data;
	struct shim *s = v->s;
	struct shim_ctr *c = ctr_of(v, index);

	if (c) {
		c->has_guest_stats = st->has_cpu && st->has_memory;
		c->guest_cpu_usec = st->cpu_usec;
		c->guest_memory = st->memory;
		c->guest_memory_peak = st->has_memory_peak ? st->memory_peak : 0;
		shim_emit_status(s);
		return;
	}
	if (index != VM_CONTAINER_NONE || !st->has_storage)
		return;
	/* the size stays the task's (the drives' ext4 keeps some for itself) */
	if (s->has_usage && s->usage.utilized_mib == st->storage_used >> 20)
		return;
	s->usage.utilized_mib = st->storage_used >> 20;
	s->has_usage = true;
	shim_emit_status(s);
}

bool shim_vm_sample(struct shim_vm *v)
{
	if (!v->volume_file)
		return false;
	if (vm_request_stats(v->vm) < 0)
		log_debug("Task VM: no statistics while the guest is not up");
	return true;
}

static void on_vm_exit(struct vm *vm, const struct vm_exit *how, void *data)
{
	struct shim_vm *v = data;
	struct shim *s = v->s;
	const char *reason = vm_exit_reason_to_string(how->reason);

	v->exited = true;
	if (how->reason == VM_EXIT_POWEROFF || how->reason == VM_EXIT_QUIT ||
	    (how->reason == VM_EXIT_KILLED && s->stopping))
		log_info("Task VM: qemu exited (%s)", reason);
	else
		log_err("Task VM: qemu exited (%s): %s", reason, strna(how->message));
	if (!s->stopping) {
		bool running = s->state == SHIM_STATE_RUNNING;

		/* nothing of the task can run any more */
		shim_task_stop(s, running ? NULL : "TaskFailedToStart", "%sThe task VM %s: %s",
			       running ? "" : "ResourceInitializationError: ",
			       how->reason == VM_EXIT_CRASHED	  ? "crashed"
			       : how->reason == VM_EXIT_BOOT_FAIL ? "failed to boot"
								  : "stopped",
			       how->message && *how->message ? how->message : reason);
	}
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		if (!c->created || c->exited)
			continue;
		shim_ctr_set_reason(c, "The task VM stopped before the container exited (%s)",
				    reason);
		ctr_gone(v, c, W_EXITCODE(0, SIGKILL));
	}
	shim_check_done(s);
}

/* --- the shim's calls --------------------------------------------------------------------- */

int shim_vm_new(struct shim *s, struct shim_vm **ret)
{
	struct shim_vm *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->s = s;
	for (size_t i = 0; i < TASKDEF_MAX_CONTAINERS; i++) {
		v->ctrs[i].out = (struct vm_pipe){ .v = v, .fd = -1 };
		v->ctrs[i].err = (struct vm_pipe){ .v = v, .fd = -1 };
	}
	*ret = v;
	return 0;
}

void shim_vm_shutdown(struct shim_vm *v)
{
	if (!v)
		return;
	v->vm = vm_free(v->vm); /* kills and reaps qemu if it runs */
	for (size_t i = 0; i < TASKDEF_MAX_CONTAINERS; i++) {
		struct vm_ctr *vc = &v->ctrs[i];

		if (vc->exit_timer)
			event_cancel(v->s->loop, vc->exit_timer);
		vc->exit_timer = 0;
		pipe_close(&vc->out);
		pipe_close(&vc->err);
	}
}

struct shim_vm *shim_vm_free(struct shim_vm *v)
{
	if (!v)
		return NULL;
	shim_vm_shutdown(v);
	for (size_t i = 0; i < TASKDEF_MAX_CONTAINERS; i++) {
		struct vm_ctr *vc = &v->ctrs[i];

		free(vc->root);
		image_spec_strv_free(vc->argv);
		for (size_t k = 0; vc->env && vc->env[k]; k++)
			explicit_bzero(vc->env[k], strlen(vc->env[k]));
		image_spec_strv_free(vc->env);
		free(vc->cwd);
		free(vc->groups);
	}
	free(v->volume_file);
	free(v->volumes_file);
	free(v);
	return NULL;
}

/* A JSON array of strings as a NULL-terminated vector. */
static char **strv_json(json_t *a)
{
	size_t i, n = json_array_size(a);
	char **v = calloc(n + 1, sizeof(char *));
	json_t *e;

	if (!v)
		return NULL;
	json_array_foreach(a, i, e) {
		v[i] = strdup(json_string_value(e) ?: "");
		if (!v[i])
			return image_spec_strv_free(v);
	}
	return v;
}

/* A JSON array of "CAP_NAME" strings as a mask. */
static int caps_json_mask(json_t *a, uint64_t *ret, char **ret_error)
{
	uint64_t mask = 0;
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e) {
		const char *n = json_string_value(e);
		int cap = n && startswith(n, "CAP_") ? taskdef_cap_from_name(n + 4) : -EINVAL;

		if (cap < 0)
			return fail_with(ret_error, "unknown capability '%.64s'", n ?: "");
		mask |= 1ULL << cap;
	}
	*ret = mask;
	return 0;
}

/*
 * The capabilities and RLIMIT_NOFILE of the OCI process, which the guest applies as runc does.
 * oci.c gives the bounding, effective and permitted sets the same value and neither inheritable
 * nor ambient ones: a config that says otherwise is not one the guest can honour.
 */
static int ctr_confinement(struct vm_ctr *vc, json_t *proc, char **ret_error)
{
	json_t *caps = json_object_get(proc, "capabilities"), *rl;
	uint64_t eff, prm;
	size_t i;
	int r;

	r = caps_json_mask(json_object_get(caps, "bounding"), &vc->caps, ret_error);
	if (r == 0)
		r = caps_json_mask(json_object_get(caps, "effective"), &eff, ret_error);
	if (r == 0)
		r = caps_json_mask(json_object_get(caps, "permitted"), &prm, ret_error);
	if (r < 0)
		return r;
	if (eff != vc->caps || prm != vc->caps ||
	    json_array_size(json_object_get(caps, "inheritable")) ||
	    json_array_size(json_object_get(caps, "ambient")))
		return fail_with(ret_error, "capability sets other than bounding = effective = "
					    "permitted are not done in a task VM");
	json_array_foreach(json_object_get(proc, "rlimits"), i, rl) {
		const char *type = json_string_value(json_object_get(rl, "type"));
		json_int_t soft = json_integer_value(json_object_get(rl, "soft"));
		json_int_t hard = json_integer_value(json_object_get(rl, "hard"));

		if (!type || !streq(type, "RLIMIT_NOFILE"))
			return fail_with(ret_error, "rlimit '%.32s' is not done in a task VM",
					 type ?: "");
		if (hard <= 0 || soft < 0 || soft > hard)
			return fail_with(ret_error, "RLIMIT_NOFILE %lld:%lld is not a limit",
					 (long long)soft, (long long)hard);
		vc->nofile_soft = (uint64_t)soft;
		vc->nofile_hard = (uint64_t)hard;
	}
	return 0;
}

/*
 * The container's limits of the OCI config (oci.c's resources_json()): its memory limit and cpu
 * shares, for its cgroup in the guest. The task's own limits are the VM's size.
 */
static int ctr_resources(struct vm_ctr *vc, json_t *res, char **ret_error)
{
	json_t *limit = json_object_get(json_object_get(res, "memory"), "limit");
	json_t *shares = json_object_get(json_object_get(res, "cpu"), "shares");

	if (limit) {
		if (!json_is_integer(limit) || json_integer_value(limit) <= 0)
			return fail_with(ret_error, "memory limit is not a positive integer");
		vc->memory_max = (uint64_t)json_integer_value(limit);
	}
	if (shares) {
		if (!json_is_integer(shares) || json_integer_value(shares) < 2 ||
		    json_integer_value(shares) > 262144)
			return fail_with(ret_error, "cpu shares are not 2-262144");
		vc->cpu_shares = (uint64_t)json_integer_value(shares);
	}
	return 0;
}

int shim_vm_ctr_prepare(struct shim_vm *v, struct shim_ctr *c, json_t *spec, char **ret_error)
{
	struct vm_ctr *vc = vctr(v, c);
	struct shim *s = v->s;
	json_t *proc = json_object_get(spec, "process"), *user = json_object_get(proc, "user");
	json_t *gids = json_object_get(user, "additionalGids"), *g;
	_cleanup_free_ char *e = NULL;
	bool made = false;
	uint64_t t0 = now_usec();
	size_t i;
	int r;

	/* the process runc would have run: its args, environment, directory and user */
	vc->argv = strv_json(json_object_get(proc, "args"));
	vc->env = strv_json(json_object_get(proc, "env"));
	vc->cwd = strdup(json_string_value(json_object_get(proc, "cwd")) ?: "/");
	if (!vc->argv || !vc->env || !vc->cwd)
		return -ENOMEM;
	if (!vc->argv[0])
		return fail_with(ret_error, "no command to run");
	vc->uid = (uid_t)json_integer_value(json_object_get(user, "uid"));
	vc->gid = (gid_t)json_integer_value(json_object_get(user, "gid"));
	vc->n_groups = json_array_size(gids);
	if (vc->n_groups) {
		vc->groups = calloc(vc->n_groups, sizeof(gid_t));
		if (!vc->groups)
			return -ENOMEM;
		json_array_foreach(gids, i, g)
			vc->groups[i] = (gid_t)json_integer_value(g);
	}
	vc->readonly_root =
		json_is_true(json_object_get(json_object_get(spec, "root"), "readonly"));
	r = ctr_confinement(vc, proc, ret_error);
	if (r < 0)
		return r;
	r = ctr_resources(vc, json_object_get(json_object_get(spec, "linux"), "resources"),
			  ret_error);
	if (r < 0)
		return r;

	/* its root drive: the image's tree, made once per image digest */
	r = vm_root_image(&(struct vm_root_opts){ .store = s->cfg.image_store,
						  .digest = c->image->img->digest,
						  .tree = c->rootfs },
			  &vc->root, &made, &e);
	if (r < 0)
		return fail_errno(ret_error, r, "root drive: %s", e ?: strerror(-r));
	log_info("Container '%s': root drive %s (%s, %.1f ms)", c->def->name, vc->root,
		 made ? "made" : "cached", (double)(now_usec() - t0) / 1000);
	/* one drive per image, whatever the number of its containers */
	for (size_t k = 0; k < (size_t)(c - s->ctrs); k++)
		if (v->ctrs[k].root && streq(v->ctrs[k].root, vc->root)) {
			memcpy(vc->root_serial, v->ctrs[k].root_serial, sizeof(vc->root_serial));
			return 0;
		}
	snprintf(vc->root_serial, sizeof(vc->root_serial), "root%zu", (size_t)(c - s->ctrs));
	return 0;
}

/* Interface name's IPv4 address (A.B.C.D/PLEN) and MAC from the task's namespace. */
static int link_info(const char *ifname, char *addr, size_t addr_size, char *mac, size_t mac_size)
{
	struct ifaddrs *ifa, *i;
	bool has_addr = false, has_mac = false;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !streq(i->ifa_name, ifname))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !has_addr && i->ifa_netmask) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)i->ifa_addr;
			const struct sockaddr_in *m = (const struct sockaddr_in *)i->ifa_netmask;
			char text[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
			snprintf(addr, addr_size, "%s/%d", text,
				 __builtin_popcount(m->sin_addr.s_addr));
			has_addr = true;
		} else if (i->ifa_addr->sa_family == AF_PACKET && !has_mac) {
			const struct sockaddr_ll *l = (const struct sockaddr_ll *)i->ifa_addr;
			const unsigned char *h = l->sll_addr;

			if (l->sll_halen != 6)
				continue;
			snprintf(mac, mac_size, "%02x:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2],
				 h[3], h[4], h[5]);
			has_mac = true;
		}
	}
	freeifaddrs(ifa);
	return has_addr && has_mac ? 0 : -ENOENT;
}

static unsigned int link_mtu(const char *ifname)
{
	_cleanup_free_ char *text = NULL;
	char path[128];
	size_t len;

	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", ifname);
	if (read_file(path, 32, &text, &len) < 0)
		return 0;
	return (unsigned int)strtoul(text, NULL, 10);
}

/* The routes of the task's namespace through eth1 and md0 but their connected prefixes. */
struct route_text {
	char dst[INET_ADDRSTRLEN + 4];
	char ifname[IFNAMSIZ];
	char gw[INET_ADDRSTRLEN];
};

static size_t ns_routes(struct route_text *rt, size_t max)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/net/route", "re");
	char line[256];
	size_t n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < max) {
		char ifname[IFNAMSIZ + 1];
		unsigned int dst, gw, flags, mask;
		struct in_addr a;

		if (sscanf(line, "%16s %x %x %x %*d %*d %*d %x", ifname, &dst, &gw, &flags,
			   &mask) != 5)
			continue;
		if (!streq(ifname, "eth1") && !streq(ifname, "md0"))
			continue;
		if (!(flags & 0x1) || (!gw && mask != 0xffffffff))
			continue; /* down, or a connected prefix (the guest has its own) */
		a.s_addr = dst;
		inet_ntop(AF_INET, &a, rt[n].dst, INET_ADDRSTRLEN);
		snprintf(rt[n].dst + strlen(rt[n].dst), 4, "/%d", __builtin_popcount(mask));
		strscpy(rt[n].ifname, ifname, sizeof(rt[n].ifname));
		rt[n].gw[0] = '\0';
		if (gw) {
			a.s_addr = gw;
			inet_ntop(AF_INET, &a, rt[n].gw, sizeof(rt[n].gw));
		}
		n++;
	}
	return n;
}

int shim_vm_boot(struct shim_vm *v, char **ret_error)
{
	struct shim *s = v->s;
	char eth_addr[64], eth_mac[32], md_addr[64], md_mac[32], console[PATH_MAX];
	struct vm_nic nics[2];
	struct vm_route routes[VM_ROUTES_MAX];
	struct route_text rt[VM_ROUTES_MAX];
	struct vm_drive drives[TASKDEF_MAX_CONTAINERS + 2];
	const char *dns[VM_DNS_MAX + 1] = {};
	size_t n_nics = 0, n_routes = 0, n_drives = 0, n_dns = 0;
	unsigned int memory = SHIM_VM_MEMORY_MIN, cpus = 1;
	static const struct vm_callbacks cb = { .ready = on_ready,
						.started = on_started,
						.output = on_output,
						.exited = on_exited,
						.error = on_error,
						.stats = on_stats,
						.exit = on_vm_exit };
	int r;

	if (if_nametoindex(SHIM_VM_TAP) == 0)
		return fail_with(ret_error, "the task's namespace has no %s (netd's wiring vm)",
				 SHIM_VM_TAP);
	r = link_info("eth1", eth_addr, sizeof(eth_addr), eth_mac, sizeof(eth_mac));
	if (r < 0)
		return fail_errno(ret_error, r, "the task's eth1 has no IPv4 address or MAC");
	nics[n_nics++] = (struct vm_nic){ .tap = SHIM_VM_TAP,
					  .ifname = "eth1",
					  .mac = eth_mac,
					  .address = eth_addr,
					  .mtu = link_mtu("eth1") };
	if (if_nametoindex(SHIM_VM_TAP_MD) &&
	    link_info("md0", md_addr, sizeof(md_addr), md_mac, sizeof(md_mac)) == 0)
		nics[n_nics++] = (struct vm_nic){
			.tap = SHIM_VM_TAP_MD, .ifname = "md0", .mac = md_mac, .address = md_addr
		};
	/* the namespace's routes through the VM's NICs */
	for (size_t i = 0, n = ns_routes(rt, VM_ROUTES_MAX); i < n; i++)
		if (n_nics == 2 || streq(rt[i].ifname, "eth1"))
			routes[n_routes++] =
				(struct vm_route){ .dst = rt[i].dst,
						   .ifname = rt[i].ifname,
						   .gateway = rt[i].gw[0] ? rt[i].gw : NULL };
	for (size_t i = 0; s->cfg.nameservers[i] && n_dns < VM_DNS_MAX; i++)
		if (!strchr(s->cfg.nameservers[i], ':'))
			dns[n_dns++] = s->cfg.nameservers[i];

	/* the drives: each image's root once, read-only; the task's volume */
	for (size_t i = 0; i < s->n_ctrs; i++) {
		bool seen = false;

		for (size_t k = 0; k < n_drives; k++)
			seen |= streq(drives[k].serial, v->ctrs[i].root_serial);
		if (!seen)
			drives[n_drives++] = (struct vm_drive){ .path = v->ctrs[i].root,
								.serial = v->ctrs[i].root_serial,
								.readonly = true };
	}
	r = storage_release(s->storage, &v->volume_file, &v->volumes_file, ret_error);
	if (r < 0)
		return r;
	drives[n_drives++] = (struct vm_drive){ .path = v->volume_file, .serial = SHIM_VM_VOLUME };
	/* 1.3.0: the task volumes' own drive (the hard boundary between layers and volumes) */
	if (v->volumes_file)
		drives[n_drives++] =
			(struct vm_drive){ .path = v->volumes_file, .serial = SHIM_VM_VOLUMES };

	/* the task's size: its memory (at least what the guest boots in), its vCPUs */
	if (s->def->has_memory && s->def->memory_mib > SHIM_VM_MEMORY_MIN)
		memory = (unsigned int)MIN(s->def->memory_mib, 120 * 1024);
	if (s->def->has_cpu && s->def->cpu_vcpu > 1)
		cpus = (unsigned int)MIN(ceil(s->def->cpu_vcpu), 16.0);
	snprintf(console, sizeof(console), "%s/%s", s->dir, SHIM_VM_CONSOLE);

	r = vm_new(s->loop,
		   &(struct vm_opts){ .qemu = s->cfg.vm_qemu,
				      .kernel = s->cfg.vm_kernel,
				      .initrd = s->cfg.vm_initrd,
				      .accel = VM_ACCEL_AUTO,
				      .memory_mib = memory,
				      .cpus = cpus,
				      .nics = nics,
				      .n_nics = n_nics,
				      .routes = routes,
				      .n_routes = n_routes,
				      .dns = dns,
				      .hostname = s->cfg.hostname,
				      .drives = drives,
				      .n_drives = n_drives,
				      .console_log = console },
		   &cb, v, &v->vm, ret_error);
	if (r < 0)
		return r;
	r = vm_start(v->vm, ret_error);
	if (r < 0) {
		v->vm = vm_free(v->vm);
		return r;
	}
	v->booted = true;
	log_info("Task VM: qemu %d started (%s, %u MiB, %u vCPU, %zu drives)", (int)vm_pid(v->vm),
		 vm_accel_to_string(vm_get_accel(v->vm)), memory, cpus, n_drives);
	return 0;
}

int shim_vm_ctr_create(struct shim_vm *v, struct shim_ctr *c, int stdout_fd, int stderr_fd,
		       char **ret_error)
{
	struct vm_ctr *vc = vctr(v, c);

	if (!v->vm || v->exited)
		return fail_with(ret_error, "the task VM is not running");
	vc->out.fd = fcntl(stdout_fd, F_DUPFD_CLOEXEC, 3);
	vc->err.fd = fcntl(stderr_fd, F_DUPFD_CLOEXEC, 3);
	if (vc->out.fd < 0 || vc->err.fd < 0) {
		pipe_close(&vc->out);
		pipe_close(&vc->err);
		return fail_errno(ret_error, -errno, "cannot keep its output pipes: %m");
	}
	for (int i = 0; i < 2; i++) {
		int fd = i ? vc->err.fd : vc->out.fd;

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETPIPE_SZ, 1 << 20);
	}
	c->pid = 0; /* no process of the host: its signals go through the guest */
	return 0;
}

int shim_vm_ctr_start(struct shim_vm *v, struct shim_ctr *c, char **ret_error)
{
	struct vm_ctr *vc = vctr(v, c);

	if (!v->vm || v->exited)
		return fail_with(ret_error, "the task VM is not running");
	if (!v->spec_sent) {
		vc->queued = true;
		return 0;
	}
	start_in_guest(v, c);
	return 0;
}

static void on_exit_timer(struct event_loop *loop, void *data)
{
	struct shim_ctr *c = data;
	struct shim_vm *v = c->s->vm;
	struct vm_ctr *vc = vctr(v, c);

	vc->exit_timer = 0;
	ctr_gone(v, c, vc->exit_status);
}

void shim_vm_ctr_kill(struct shim_vm *v, struct shim_ctr *c, int signo)
{
	struct vm_ctr *vc = vctr(v, c);
	int r;

	if (!c->created || c->exited)
		return;
	if (vc->in_guest) {
		if (v->vm && !v->exited)
			vm_kill_container(v->vm, (unsigned int)(c - v->s->ctrs), signo);
		return; /* its EXIT follows, or the VM's exit */
	}
	/* the guest never ran it: it ends here, on whatever signal, as it never ran */
	if (vc->exit_timer)
		return;
	vc->queued = false;
	vc->exit_status = W_EXITCODE(0, signo);
	r = event_add_timer(v->s->loop, 1, on_exit_timer, c, NULL);
	if (r > 0)
		vc->exit_timer = r;
}

void shim_vm_stop_progress(struct shim_vm *v)
{
	struct shim *s = v->s;

	if (!s->stopping || !v->vm || v->exited || v->stop_sent)
		return;
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (s->ctrs[i].created && !s->ctrs[i].exited)
			return;
	/* nothing runs: the guest unmounts and powers off */
	v->stop_sent = true;
	log_info("Task VM: stopping");
	vm_stop(v->vm, 0);
}

bool shim_vm_reaped(struct shim_vm *v, pid_t pid, int status)
{
	if (!v->vm || v->exited || vm_pid(v->vm) != pid)
		return false;
	vm_reaped(v->vm, status);
	return true;
}

bool shim_vm_done(const struct shim_vm *v)
{
	return !v->vm || v->exited;
}
