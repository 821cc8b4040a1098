// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskvm shim: one task's data plane (shim.h). One event loop; the blocking work of a pull runs
 * in a child process per image, or, for a name the store has, in a thread that unpacks nothing
 * (pull_thread()); either reports progress and its result as JSON lines on a pipe. Storage and
 * runc calls are synchronous and short. Pulls run one after the other, and no child is forked
 * while a pull thread runs but by posix_spawn() (prog.h, runc) or to exec at once (qemu).
 *
 * Who reaps what: the shim is the child subreaper of everything below it. Containers' inits
 * become its children when `runc create` exits; pull children are its own. On SIGCHLD it reaps
 * every exited child (waitpid(-1)) and matches the pid; a child it does not know (an orphan
 * reparented to it) is reaped and forgotten, so that no zombie stays. Helper programs (runc,
 * mkfs.ext4, rm) are waited for by prog.h on their own pid, synchronously: the loop never runs
 * while one is alive, so the SIGCHLD handler cannot take their status.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "creds.h"
#include "ctl-server.h"
#include "dns.h"
#include "event.h"
#include "flowsock.h"
#include "image.h"
#include "log.h"
#include "logfile.h"
#include "logship.h"
#include "oci.h"
#include "platform.h"
#include "prog.h"
#include "runc.h"
#include "secrets.h"
#include "shim-internal.h"
#include "shim-vm.h"
#include "shim.h"
#include "storage.h"
#include "taskdef.h"
#include "tc_counters.h"
#include "tmds.h"

#define SHIM_LINE_MAX	    (64 * 1024)
#define SHIM_DRAIN_DEFAULT  10	 /* s: log shippers at the end */
#define SHIM_USAGE_DEFAULT  10	 /* s: storage usage sampling */
#define SHIM_FINAL_GRACE    30	 /* s: beyond the containers' stop timeouts, for the end */
#define SHIM_ACK_TIMEOUT_MS 1000 /* a container's start waits this long at most for the agent */
#define SHIM_REASON_MAX	    1024

/* --- status ------------------------------------------------------------------------------- */

static void set_str(char **p, const char *v)
{
	free(*p);
	*p = v ? strdup(v) : NULL;
}

static json_t *time_json(uint64_t ns)
{
	return ns ? json_integer((json_int_t)ns) : json_null();
}

/* Every container that is to start has started (or never will). */
static bool all_started(struct shim *s)
{
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (!s->ctrs[i].started && !s->ctrs[i].skipped)
			return false;
	return true;
}

static json_t *status_json(struct shim *s)
{
	json_t *cs = json_array(), *j, *pull;
	uint64_t done = 0, total = 0;
	unsigned int ldone = 0, ltotal = 0;

	for (size_t i = 0; i < s->n_images; i++) {
		const struct image_progress *p = &s->images[i].progress;

		done += p->bytes_done;
		total += p->bytes_total;
		ldone += p->layers_done;
		ltotal += p->layers_total;
	}
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];
		json_t *o = json_pack(
			"{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "name", c->def->name, "image",
			c->def->image, "status", tmds_status_to_string(c->status), "created_ns",
			time_json(c->created_ns), "started_ns", time_json(c->started_ns),
			"finished_ns", time_json(c->finished_ns), "essential", c->def->essential);

		if (c->image && c->image->digest)
			json_object_set_new(o, "image_digest", json_string(c->image->digest));
		if (c->has_exit_code)
			json_object_set_new(o, "exit_code", json_integer(c->exit_code));
		if (c->reason)
			json_object_set_new(o, "reason", json_string(c->reason));
		if (c->pid > 0 && c->created && !c->exited)
			json_object_set_new(o, "pid", json_integer(c->pid));
		if (c->has_guest_stats && !c->exited)
			json_object_set_new(o, "guest_stats",
					    json_pack("{s:I, s:I, s:I}", "cpu_usec",
						      (json_int_t)c->guest_cpu_usec, "memory",
						      (json_int_t)c->guest_memory, "memory_peak",
						      (json_int_t)c->guest_memory_peak));
		json_array_append_new(cs, o);
	}
	pull = json_pack("{s:o, s:o, s:i, s:i, s:I, s:I}", "started_ns",
			 time_json(s->pull_started_ns), "stopped_ns", time_json(s->pull_stopped_ns),
			 "layers_done", (int)ldone, "layers_total", (int)ltotal, "bytes_done",
			 (json_int_t)done, "bytes_total", (json_int_t)total);
	j = json_pack("{s:s, s:i, s:b, s:b, s:o, s:o, s:I}", "state",
		      shim_state_to_string(s->state), "pid", (int)getpid(), "network",
		      s->cfg.has_network, "all_started", all_started(s), "containers", cs, "pull",
		      pull, "seq", (json_int_t)s->seq);
	if (s->has_usage)
		json_object_set_new(j, "storage",
				    json_pack("{s:I, s:I, s:s?}", "utilized_mib",
					      (json_int_t)s->usage.utilized_mib, "reserved_mib",
					      (json_int_t)s->usage.reserved_mib, "devices",
					      s->storage_devices));
	json_object_set_new(j, "times",
			    json_pack("{s:o, s:o, s:o, s:o}", "began_ns", time_json(s->began_ns),
				      "storage_ns", time_json(s->storage_ns), "network_ns",
				      time_json(s->network_ns), "prepared_ns",
				      time_json(s->prepared_ns)));
	if (s->stopping)
		json_object_set_new(j, "stop",
				    json_pack("{s:s?, s:s, s:I}", "code", s->stop_code, "reason",
					      s->stop_reason ?: "", "requested_ns",
					      (json_int_t)s->stop_ns));
	return j;
}

/*
 * Tell the subscribers and write status.json: at every change of state. With ack, the
 * subscriber (the agent) is asked to answer "ack" once it has taken the status in. Returns
 * whether some subscriber was told.
 */
static bool emit_status_ack(struct shim *s, bool ack)
{
	json_auto_t *st = NULL;
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	bool sent = false;
	int r;

	s->seq++;
	st = status_json(s);
	if (!st)
		return false;
	text = json_dumps(st, JSON_COMPACT);
	if (!text)
		return false;
	/* the agent first: the file is for a restarted one, written while it takes this in */
	if (s->ctl && ctl_server_has_topic(s->ctl, "events")) {
		json_auto_t *ev = json_pack("{s:s, s:O}", "type", "status", "status", st);

		if (ack)
			json_object_set_new(ev, "ack", json_integer((json_int_t)s->seq));
		ctl_server_broadcast(s->ctl, "events", "event", ev);
		sent = true;
	}
	snprintf(path, sizeof(path), "%s/%s", s->dir, SHIM_STATUS_FILE);
	r = write_file_exchange(path, text, strlen(text), 0600);
	if (r < 0)
		log_warn_errno(r, "Failed to write '%s': %m, ignoring", path);
	return sent;
}

void shim_emit_status(struct shim *s)
{
	emit_status_ack(s, false);
}

static void ctr_set_status(struct shim_ctr *c, enum tmds_status st)
{
	c->status = st;
}

void shim_ctr_set_reason(struct shim_ctr *c, const char *fmt, ...)
{
	va_list ap;

	if (c->reason)
		return; /* the first reason is the one */
	va_start(ap, fmt);
	if (vasprintf(&c->reason, fmt, ap) < 0)
		c->reason = NULL;
	va_end(ap);
}

/* --- pulls -------------------------------------------------------------------------------- */

/* In the pull child: one JSON line on fd. */
static void child_line(int fd, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (!text)
		return;
	(void)write_all(fd, text, strlen(text));
	(void)write_all(fd, "\n", 1);
	free(text);
}

struct child_progress {
	int fd;
};

static int child_on_progress(const struct image_progress *p, void *userdata)
{
	struct child_progress *cp = userdata;

	child_line(cp->fd, json_pack("{s:s, s:i, s:i, s:i, s:i, s:I, s:I}", "t", "progress",
				     "phase", (int)p->phase, "layer", (int)p->layer, "layers_done",
				     (int)p->layers_done, "layers_total", (int)p->layers_total,
				     "bytes_done", (json_int_t)p->bytes_done, "bytes_total",
				     (json_int_t)p->bytes_total));
	return 0;
}

/*
 * The namespace of flow f's sockets: the platform ENI's for a flow the platform version sends
 * through it (1.3.0's pull, auth, secrets, logs), else -1, the shim's own (the task's).
 */
static int flow_netns(const struct shim *s, enum platform_flow f)
{
	return platform_flow_eni(s->platform, f) == PLATFORM_ENI_PLATFORM ? s->platform_nsfd : -1;
}

/* The resolvers of flow f's names (NULL-terminated into ns): the platform ENI's or the task's. */
static void flow_nameservers(const struct shim *s, enum platform_flow f, const char **ns)
{
	char *const *v = platform_flow_eni(s->platform, f) == PLATFORM_ENI_PLATFORM
				 ? s->cfg.platform_nameservers
				 : s->cfg.nameservers;

	for (size_t i = 0; i < SHIM_MAX_LIST && v[i]; i++)
		ns[i] = v[i];
}

/* What a pull needs, copied out of the shim: a pull thread shares nothing else with the loop. */
struct pull_job {
	char *reference, *store;
	char *nameservers[SHIM_MAX_LIST + 1], *insecure[SHIM_MAX_LIST + 1];
	uint32_t pull_mark, auth_mark;
	unsigned int timeout_ms;
	int netns_fd;  /* the platform ENI's namespace (1.3.0's pull and auth), or -1: the task's */
	int cancel_fd; /* a thread's: the image's eventfd; -1 for a child (it is killed) */
	int fd;	       /* the pipe to the loop */
	bool store_layers_only;
};

static void pull_job_free(struct pull_job *j)
{
	if (!j)
		return;
	free(j->reference);
	free(j->store);
	for (size_t i = 0; i <= SHIM_MAX_LIST; i++) {
		free(j->nameservers[i]);
		free(j->insecure[i]);
	}
	safe_close(j->netns_fd);
	safe_close(j->fd);
	free(j);
}

/* The job of image im's pull, reporting on fd (taken, also on failure). NULL: no memory. */
static struct pull_job *pull_job_new(const struct shim *s, const struct shim_image *im, int fd)
{
	const char *ns[SHIM_MAX_LIST + 1] = {};
	struct pull_job *j = calloc(1, sizeof(*j));
	bool ok;

	if (!j) {
		safe_close(fd);
		return NULL;
	}
	j->fd = fd;
	j->netns_fd = j->cancel_fd = -1;
	j->pull_mark = TC_MARK(s->cfg.slot, TC_FLOW_PULL);
	j->auth_mark = TC_MARK(s->cfg.slot, TC_FLOW_AUTH);
	j->timeout_ms = s->cfg.pull_timeout_sec * 1000U;
	j->reference = strdup(im->reference);
	j->store = strdup(s->cfg.image_store);
	ok = j->reference && j->store;
	flow_nameservers(s, PLATFORM_FLOW_PULL, ns);
	for (size_t i = 0; ok && ns[i]; i++)
		ok = (j->nameservers[i] = strdup(ns[i]));
	for (size_t i = 0; ok && s->cfg.insecure_registries[i]; i++)
		ok = (j->insecure[i] = strdup(s->cfg.insecure_registries[i]));
	if (!ok) {
		pull_job_free(j);
		return NULL;
	}
	return j;
}

/* Run a pull: its progress and its result as JSON lines on j->fd. */
static int pull_run(const struct pull_job *j)
{
	struct child_progress cp = { .fd = j->fd };
	struct image *img = NULL;
	char *err = NULL;
	int r;

	r = image_pull(j->reference,
		       &(struct image_pull_opts){
			       .store = j->store,
			       .netns_fd = j->netns_fd, /* -1: the shim's, the task's namespace */
			       .pull_mark = j->pull_mark,
			       .auth_mark = j->auth_mark,
			       .nameservers = j->nameservers[0]
						      ? (const char *const *)j->nameservers
						      : NULL,
			       .insecure_registries = (const char *const *)j->insecure,
			       .timeout_ms = j->timeout_ms,
			       .cancel_fd = j->cancel_fd,
			       .policy = IMAGE_PULL_ALWAYS,
			       .store_layers_only = j->store_layers_only,
			       .progress = child_on_progress,
			       .userdata = &cp,
		       },
		       &img, &err);
	if (r < 0)
		child_line(j->fd, json_pack("{s:s, s:i, s:s}", "t", "error", "errno", -r, "message",
					    err ?: strerror(-r)));
	else
		child_line(j->fd, json_pack("{s:s, s:s, s:s, s:i, s:i, s:I}", "t", "done",
					    "reference", img->reference, "digest", img->digest,
					    "layers_downloaded", (int)img->layers_downloaded,
					    "layers_cached", (int)img->layers_cached, "bytes",
					    (json_int_t)img->bytes_downloaded));
	image_free(img);
	free(err);
	return r;
}

_Noreturn static void pull_child(struct shim *s, struct shim_image *im, int fd, pid_t parent)
{
	struct pull_job *j;

	/* Die with the shim: a pull of a stopped task must not go on. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(2);
	/* Keep the pipe only: the shim's sockets are not the pull's to hold open. */
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(2);
		fd = 3;
	}
	close_range(4, ~0U, 0);
	j = pull_job_new(s, im, fd);
	if (!j)
		_exit(2);
	/* pull and auth leave through one ENI (load_config() checks): the platform ENI's
	 * namespace is opened again, the shim's descriptor of it being closed above */
	if (flow_netns(s, PLATFORM_FLOW_PULL) >= 0) {
		j->netns_fd = open(s->cfg.platform_netns, O_RDONLY | O_CLOEXEC);
		if (j->netns_fd < 0) {
			child_line(fd, json_pack("{s:s, s:i, s:s}", "t", "error", "errno", errno,
						 "message",
						 "cannot open the platform ENI's namespace"));
			_exit(1);
		}
	}
	_exit(pull_run(j) < 0 ? 1 : 0);
}

/*
 * A pull in a thread of the shim, not a child: the pull of a name the store has (asked again
 * under ECS's default and always behaviors), which is one manifest request when the name has
 * not moved. Nothing is unpacked (store_layers_only), so nothing is forked from the thread: a
 * layer the store lacks ends it with -ENOMEDIUM, and pull_finish() pulls again in a child.
 * Why: a child is a fork of the shim, its page tables, its copy-on-write faults (the shim's
 * too) and its exit, which cost more than the request, beside the containers' runc create.
 * The thread has its own copy of what it needs (struct pull_job) and touches nothing of the
 * shim; it reports on its pipe as a child does, and its end closes the pipe: pull_io() joins
 * it then. The stop cancels it (cancel_fd; the shim's signals are blocked in it, as in the
 * loop's thread).
 */
static void *pull_thread(void *data)
{
	struct pull_job *j = data;

	(void)pull_run(j);
	pull_job_free(j); /* the pipe's end closed: the loop joins */
	return NULL;
}

static int pull_thread_start(struct shim *s, struct shim_image *im, int fd)
{
	struct pull_job *j = pull_job_new(s, im, fd);
	int r;

	if (!j)
		return -ENOMEM;
	im->cancel_fd = eventfd(0, EFD_CLOEXEC);
	if (im->cancel_fd < 0) {
		r = -errno;
		goto fail;
	}
	j->cancel_fd = im->cancel_fd;
	j->store_layers_only = true;
	if (flow_netns(s, PLATFORM_FLOW_PULL) >= 0) {
		j->netns_fd = fcntl(flow_netns(s, PLATFORM_FLOW_PULL), F_DUPFD_CLOEXEC, 3);
		if (j->netns_fd < 0) {
			r = -errno;
			goto fail;
		}
	}
	r = -pthread_create(&im->thread, NULL, pull_thread, j);
	if (r < 0)
		goto fail;
	im->in_thread = im->thread_joinable = true;
	return 0;
fail:
	pull_job_free(j);
	im->cancel_fd = safe_close(im->cancel_fd);
	return r;
}

/* The pull thread ended (its pipe closed), or is to end (cancelled): joined. */
static void pull_thread_join(struct shim_image *im)
{
	if (!im->thread_joinable)
		return;
	(void)pthread_join(im->thread, NULL);
	im->thread_joinable = false;
	im->cancel_fd = safe_close(im->cancel_fd);
	im->reaped = true;
	im->status = 0;
}

/* A pull of a stopping task: its child killed, its thread cancelled. */
static void pull_abort(struct shim_image *im)
{
	if (im->pid > 0)
		kill(im->pid, SIGKILL);
	if (im->thread_joinable && im->cancel_fd >= 0)
		(void)eventfd_write(im->cancel_fd, 1);
}

static void broadcast_progress(struct shim *s, struct shim_image *im)
{
	const struct image_progress *p = &im->progress;
	json_auto_t *ev = NULL;

	if (!ctl_server_has_topic(s->ctl, "events"))
		return;
	ev = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:I}", "type", "progress", "image",
		       im->reference, "phase", (int)p->phase, "layer", (int)p->layer, "layers_done",
		       (int)p->layers_done, "layers_total", (int)p->layers_total, "bytes_done",
		       (json_int_t)p->bytes_done, "bytes_total", (json_int_t)p->bytes_total);
	ctl_server_broadcast(s->ctl, "events", "event", ev);
}

static void pull_line(struct shim_image *im, const char *line, size_t len)
{
	json_auto_t *j = json_loadb(line, len, 0, NULL);
	const char *t = json_string_value(json_object_get(j, "t"));

	if (streq_ptr(t, "progress")) {
		json_int_t phase = 0, layer = 0, ld = 0, lt = 0, bd = 0, bt = 0;

		if (json_unpack(j, "{s:I, s:I, s:I, s:I, s:I, s:I}", "phase", &phase, "layer",
				&layer, "layers_done", &ld, "layers_total", &lt, "bytes_done", &bd,
				"bytes_total", &bt) < 0)
			return;
		im->progress = (struct image_progress){ .phase = (enum image_pull_phase)phase,
							.layer = (unsigned int)layer,
							.layers_done = (unsigned int)ld,
							.layers_total = (unsigned int)lt,
							.bytes_done = (uint64_t)bd,
							.bytes_total = (uint64_t)bt };
		broadcast_progress(im->s, im);
	} else if (streq_ptr(t, "done")) {
		set_str(&im->digest, json_string_value(json_object_get(j, "digest")));
		set_str(&im->canonical, json_string_value(json_object_get(j, "reference")));
		log_info("Pulled %s (%s): %lld layers downloaded, %lld cached, %lld bytes",
			 im->reference, strna(im->digest),
			 (long long)json_integer_value(json_object_get(j, "layers_downloaded")),
			 (long long)json_integer_value(json_object_get(j, "layers_cached")),
			 (long long)json_integer_value(json_object_get(j, "bytes")));
	} else if (streq_ptr(t, "error")) {
		im->error = -(int)json_integer_value(json_object_get(j, "errno")) ?: -EIO;
		set_str(&im->error_msg, json_string_value(json_object_get(j, "message")));
	}
}

static void pull_next(struct shim *s);
static void prepare_maybe(struct shim *s);
static void stop_progress(struct shim *s);
static void on_create_watch(struct event_loop *loop, int fd, uint32_t events, void *data);
static int ctr_create(struct shim *s, struct shim_ctr *c, bool spawn, char **ret_error);
static void ctr_kill(struct shim *s, struct shim_ctr *c, int signo);

/* The image's config as oci.h takes it (the config blob's "config" object). */
static json_t *image_config_json(const struct image_spec_config *c)
{
	json_t *o = json_object();
	struct {
		const char *key;
		char **v;
	} vs[] = { { "Entrypoint", c->entrypoint }, { "Cmd", c->cmd }, { "Env", c->env } };

	for (size_t i = 0; o && i < ARRAY_SIZE(vs); i++) {
		json_t *a;

		if (!vs[i].v)
			continue;
		a = json_array();
		for (size_t k = 0; vs[i].v[k]; k++)
			json_array_append_new(a, json_string(vs[i].v[k]));
		json_object_set_new(o, vs[i].key, a);
	}
	if (o && c->working_dir)
		json_object_set_new(o, "WorkingDir", json_string(c->working_dir));
	if (o && c->user)
		json_object_set_new(o, "User", json_string(c->user));
	return o;
}

/* An image's pull as if it had not started: the thread's, to run again in a child. */
static void pull_reset(struct shim_image *im)
{
	im->started = im->eof = im->reaped = im->in_thread = false;
	im->error = 0;
	set_str(&im->error_msg, NULL);
	set_str(&im->digest, NULL);
	set_str(&im->canonical, NULL);
	im->progress = (struct image_progress){};
	ctl_linebuf_done(&im->lb);
}

/* The pull child is gone (or its thread joined) and its pipe read: take its result. */
static void pull_finish(struct shim_image *im)
{
	struct shim *s = im->s;
	_cleanup_free_ char *err = NULL, *ref = NULL;
	char status[64];
	int r;

	if (im->in_thread && im->error == -ENOMEDIUM && !s->stopping) {
		/* the name has moved to an image with layers the store lacks */
		log_info("%s: %s: pulled in a child", im->reference, strna(im->error_msg));
		pull_reset(im);
		im->uncached = true;
		pull_next(s);
		return;
	}
	im->done = true;
	im->pid = 0;
	im->stopped_ns = realtime_nsec();
	s->pull_stopped_ns = im->stopped_ns;
	if (s->stopping) {
		/* a child was killed; a thread was cancelled, and says so (or how it ended) */
		if (im->in_thread)
			log_info("Pull of %s ended, the task stopping: %s", im->reference,
				 im->error ? strna(im->error_msg) : "pulled");
		im->error = im->error ?: -ECANCELED;
		goto out;
	}
	if (!im->error && !(WIFEXITED(im->status) && WEXITSTATUS(im->status) == 0)) {
		prog_status_str(im->status, status, sizeof(status));
		im->error = -EIO;
		if (asprintf(&im->error_msg, "the pull process ended (%s)", status) < 0)
			im->error_msg = NULL;
	}
	if (!im->error && (!im->digest || !im->canonical))
		im->error = -EPROTO;
	/* ECS's default behavior: a failed pull falls back to the store's copy */
	if (im->error && im->error != -ECANCELED && s->cfg.pull_behavior == SHIM_PULL_DEFAULT &&
	    image_load(s->cfg.image_store, im->reference, &im->img, &err) == 0) {
		log_warn("Pull of %s failed (%s), using the image in the store (%s)", im->reference,
			 im->error_msg ?: strerror(-im->error), im->img->digest);
		im->error = 0;
		set_str(&im->digest, im->img->digest);
		set_str(&im->canonical, im->img->reference);
		im->config = image_config_json(&im->img->config);
		goto out;
	}
	if (!im->error) {
		/* What this pull resolved, by digest: not whatever the tag is now. */
		if (strchr(im->canonical, '@'))
			ref = strdup(im->canonical);
		else if (asprintf(&ref, "%s@%s", im->canonical, im->digest) < 0)
			ref = NULL;
		r = ref ? image_load(s->cfg.image_store, ref, &im->img, &err) : -ENOMEM;
		if (r < 0) {
			im->error = r;
			set_str(&im->error_msg, err ?: strerror(-r));
		} else {
			im->config = image_config_json(&im->img->config);
		}
	}
out:
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		if (c->image != im)
			continue;
		if (im->error) {
			if (!s->stopping)
				shim_ctr_set_reason(c, "CannotPullContainerError: %s",
						    im->error_msg ?: strerror(-im->error));
			ctr_set_status(c, TMDS_STATUS_STOPPED);
			c->skipped = true;
		} else {
			ctr_set_status(c, TMDS_STATUS_PULLED);
		}
	}
	if (im->error && !s->stopping) {
		log_err("Pull of %s failed: %s", im->reference,
			im->error_msg ?: strerror(-im->error));
		shim_task_stop(s, "TaskFailedToStart", "CannotPullContainerError: %s",
			       im->error_msg ?: strerror(-im->error));
	}
	shim_emit_status(s);
	if (!s->stopping)
		pull_next(s);
	prepare_maybe(s);
	shim_check_done(s);
}

static void pull_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct shim_image *im = data;

	for (;;) {
		char *line;
		size_t len;
		int r;

		while ((r = ctl_linebuf_next(&im->lb, &line, &len)) != 0)
			if (r > 0)
				pull_line(im, line, len);
		r = ctl_linebuf_fill(&im->lb, fd);
		if (r == -EAGAIN)
			return;
		if (r > 0)
			continue;
		/* EOF or an error: the child is done with the pipe */
		event_cancel(loop, im->io_id);
		im->io_id = 0;
		im->fd = safe_close(im->fd);
		im->eof = true;
		pull_thread_join(im); /* its last act was closing the pipe */
		if (im->reaped)
			pull_finish(im);
		return;
	}
}

/* A child of the shim pulls image im, reporting on fd (taken). */
static int pull_fork(struct shim *s, struct shim_image *im, int fd)
{
	pid_t pid, parent = getpid();

	pid = fork();
	if (pid < 0) {
		safe_close(fd);
		return -errno;
	}
	if (pid == 0)
		pull_child(s, im, fd, parent);
	safe_close(fd);
	im->pid = pid;
	return 0;
}

static int pull_start(struct shim *s, struct shim_image *im)
{
	int p[2], r = -1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* the store has the name: a thread asks the registry what it is now (see pull_thread()) */
	if (!im->uncached && image_in_store(s->cfg.image_store, im->reference)) {
		r = pull_thread_start(s, im, p[1]);
		if (r < 0) {
			/* p[1] was taken: the child gets a pipe of its own */
			log_warn("%s: no pull thread (%s): a child pulls it", im->reference,
				 strerror(-r));
			close(p[0]);
			if (pipe2(p, O_CLOEXEC) < 0)
				return -errno;
		}
	}
	if (r < 0)
		r = pull_fork(s, im, p[1]);
	if (r < 0) {
		close(p[0]);
		return r;
	}
	im->fd = p[0];
	im->started = true;
	im->started_ns = realtime_nsec();
	if (!s->pull_started_ns)
		s->pull_started_ns = im->started_ns;
	ctl_linebuf_init(&im->lb, SHIM_LINE_MAX);
	r = fcntl(im->fd, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
	if (r >= 0)
		r = event_add_io(s->loop, im->fd, EPOLLIN, pull_io, im, NULL);
	if (r < 0) {
		pull_abort(im);
		pull_thread_join(im);
		im->fd = safe_close(im->fd);
		im->eof = true;
		return r;
	}
	im->io_id = r;
	if (im->in_thread)
		log_info("Pulling %s (in a thread: the store has it)", im->reference);
	else
		log_info("Pulling %s (pid %d)", im->reference, (int)im->pid);
	return 0;
}

/*
 * once and prefer-cached: the images the store has are taken from it at once, without the
 * network or a pull process (the task's network may not be there yet); the others are pulled.
 */
static void pull_cached(struct shim *s)
{
	if (s->cfg.pull_behavior != SHIM_PULL_ONCE &&
	    s->cfg.pull_behavior != SHIM_PULL_PREFER_CACHED)
		return;
	for (size_t i = 0; i < s->n_images; i++) {
		struct shim_image *im = &s->images[i];
		_cleanup_free_ char *e = NULL;

		if (im->started || image_load(s->cfg.image_store, im->reference, &im->img, &e) < 0)
			continue;
		im->started = im->reaped = im->eof = im->done = true;
		im->started_ns = im->stopped_ns = realtime_nsec();
		set_str(&im->digest, im->img->digest);
		set_str(&im->canonical, im->img->reference);
		im->config = image_config_json(&im->img->config);
		log_info("%s: the image in the store (%s), image pull behavior %s", im->reference,
			 im->img->digest, shim_pull_behavior_to_string(s->cfg.pull_behavior));
		for (size_t k = 0; k < s->n_ctrs; k++)
			if (s->ctrs[k].image == im)
				ctr_set_status(&s->ctrs[k], TMDS_STATUS_PULLED);
	}
}

/* Pull the images one after the other (once the task has its network). */
static void pull_next(struct shim *s)
{
	if (!s->cfg.has_network)
		return;
	for (size_t i = 0; i < s->n_images; i++) {
		struct shim_image *im = &s->images[i];
		int r;

		if (im->done)
			continue;
		if (im->started)
			return; /* running */
		r = pull_start(s, im);
		if (r < 0 && !im->pid) {
			/* no child: nothing to wait for */
			im->error = r;
			set_str(&im->error_msg, "cannot start the pull process");
			im->started = im->reaped = im->eof = true;
			pull_finish(im);
		} else if (r < 0) {
			/* the child was killed: its reaping finishes the pull */
			im->error = r;
			set_str(&im->error_msg, "cannot read the pull process");
		}
		return;
	}
}

static struct shim_image *image_by_pid(struct shim *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_images; i++)
		if (s->images[i].pid == pid && !s->images[i].reaped)
			return &s->images[i];
	return NULL;
}

/* --- preparing the containers -------------------------------------------------------------- */

static int write_etc(struct shim *s, const char *name, const char *text, char **ret_path)
{
	char path[PATH_MAX + 64];
	int r;

	snprintf(path, sizeof(path), "%s/%s", s->etc_dir, name);
	r = write_file_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return r;
	*ret_path = strdup(path);
	return *ret_path ? 0 : -ENOMEM;
}

/* resolv.conf, hosts and hostname of the task's containers. */
static int etc_files(struct shim *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	r = mkdir_p(s->etc_dir, 0755);
	if (r < 0)
		return r;
	if (s->cfg.nameservers[0]) {
		f = open_memstream(&buf, &len);
		if (!f)
			return -ENOMEM;
		for (size_t i = 0; s->cfg.nameservers[i]; i++)
			fprintf(f, "nameserver %s\n", s->cfg.nameservers[i]);
		if (s->cfg.search[0]) {
			fputs("search", f);
			for (size_t i = 0; s->cfg.search[i]; i++)
				fprintf(f, " %s", s->cfg.search[i]);
			fputc('\n', f);
		}
		fclose(f);
		r = write_etc(s, "resolv.conf", buf, &s->resolv_conf);
		free(buf);
		if (r < 0)
			return r;
	}
	if (s->cfg.hostname) {
		char text[1024];

		snprintf(text, sizeof(text),
			 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
		if (s->cfg.address)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s\t%s\n",
				 s->cfg.address, s->cfg.hostname);
		r = write_etc(s, "hosts", text, &s->hosts);
		if (r >= 0) {
			snprintf(text, sizeof(text), "%s\n", s->cfg.hostname);
			r = write_etc(s, "hostname", text, &s->hostname_file);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Free a list of "NAME=value" that may hold secrets: zeroed first. */
static char **env_free_erase(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		explicit_bzero(env[i], strlen(env[i]));
	return image_spec_strv_free(env);
}

/* The agent's variables for a container, then its secrets, "NAME=value", NULL-terminated (to
 * free with env_free_erase()). */
static char **ctr_env(struct shim *s, struct shim_ctr *c)
{
	json_t *env = json_object_get(s->cfg.env, c->def->name), *v;
	size_t n = 0, n_secrets = s->secrets ? secrets_count(s->secrets) : 0;
	const char *k;
	char **out;

	out = calloc(json_object_size(env) + n_secrets + 1, sizeof(char *));
	if (!out)
		return NULL;
	json_object_foreach(env, k, v)
		if (asprintf(&out[n++], "%s=%s", k, json_string_value(v)) < 0)
			return env_free_erase(out);
	for (size_t i = 0; i < n_secrets; i++) {
		const struct secret *sec = secrets_get(s->secrets, i);

		if (!streq(sec->container, c->def->name))
			continue;
		if (!sec->value || asprintf(&out[n++], "%s=%s", sec->name, sec->value) < 0)
			return env_free_erase(out);
	}
	return out;
}

/* The awslogs collector's address: a name is resolved with the logs flow's nameservers. */
static int ctr_logs_prepare(struct shim *s, struct shim_ctr *c, char **ret_error)
{
	struct flowsock fs = { .netns_fd = flow_netns(s, PLATFORM_FLOW_LOGS),
			       .mark = TC_MARK(s->cfg.slot, TC_FLOW_LOGS) };
	struct dns_result res = {};
	const char *ns[SHIM_MAX_LIST + 1] = {};
	int r;

	if (!c->def->log_driver || !streq(c->def->log_driver, "awslogs"))
		return 0;
	r = logship_config_parse(c->def->log_options, &c->ship_cfg, ret_error);
	if (r < 0 || c->ship_cfg->addr_len)
		return r;
	flow_nameservers(s, PLATFORM_FLOW_LOGS, ns);
	if (!ns[0])
		return fail_with(ret_error,
				 "awslogs-endpoint '%s': the %s has no DNS servers to resolve '%s'",
				 c->ship_cfg->endpoint, fs.netns_fd >= 0 ? "platform ENI" : "task",
				 c->ship_cfg->host);
	r = dns_resolve(&(struct dns_opts){ .nameservers = ns,
					    .open_socket = flowsock_dns_open,
					    .userdata = &fs },
			c->ship_cfg->host, &res, ret_error);
	if (r < 0)
		return r;
	memcpy(&c->ship_addr, &res.addrs[0], sizeof(c->ship_addr));
	c->ship_addr_len = res.addrs[0].ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							      : sizeof(struct sockaddr_in);
	if (res.addrs[0].ss_family == AF_INET6)
		((struct sockaddr_in6 *)&c->ship_addr)->sin6_port = htons(c->ship_cfg->port);
	else
		((struct sockaddr_in *)&c->ship_addr)->sin_port = htons(c->ship_cfg->port);
	return 0;
}

/* A container's root file system, configuration and bundle (its log shipping: ctr_logs_prepare(),
 * once the network is there). */
static int ctr_prepare(struct shim *s, struct shim_ctr *c, char **ret_error)
{
	/* the pulled image, or ahead of the pull the store's (create_ahead()) */
	const struct image *img = c->image->done ? c->image->img : c->image->ahead;
	json_t *config = c->image->done ? c->image->config : c->image->ahead_config;
	_cleanup_free_ const char **lowers = NULL;
	_cleanup_free_ char *e = NULL;
	char **env = NULL;
	json_auto_t *spec = NULL;
	struct oci_user user;
	char cgroup[PATH_MAX + 300];
	int r;

	lowers = calloc(img->n_layers + 1, sizeof(char *));
	if (!lowers)
		return -ENOMEM;
	for (size_t i = 0; i < img->n_layers; i++)
		lowers[i] = img->layers[img->n_layers - 1 - i]; /* top first */
	r = storage_rootfs_mount(s->storage, c->def->name, lowers, img->n_layers, &c->rootfs, &e);
	if (r < 0)
		return fail_errno(ret_error, r, "root file system: %s", e ?: strerror(-r));
	r = oci_user_resolve(oci_user_spec(c->def, config), c->rootfs, &user, ret_error);
	if (r < 0)
		return r;
	env = ctr_env(s, c);
	if (!env)
		return -ENOMEM;
	snprintf(cgroup, sizeof(cgroup), "/%s/%s", s->cfg.cgroup, c->def->name);
	r = oci_spec_build(
		&(struct oci_spec_opts){
			.platform = s->platform,
			.def = s->def,
			.container = c->def,
			.image_config = config,
			.user = &user,
			.rootfs = c->rootfs,
			.hostname = s->cfg.hostname,
			.netns_path = s->cfg.netns,
			.cgroups_path = cgroup,
			.volume_paths = (const char *const *)s->volume_paths,
			.resolv_conf = s->resolv_conf,
			.hosts = s->hosts,
			.hostname_file = s->hostname_file,
			.env = (const char *const *)env,
		},
		&spec, ret_error);
	env_free_erase(env);
	if (r < 0)
		return r;
	if (s->vm) {
		/* a root drive and a process for the guest instead of a bundle */
		r = shim_vm_ctr_prepare(s->vm, c, spec, ret_error);
		if (r < 0)
			return r;
	} else {
		if (asprintf(&c->bundle, "%s/%s", s->bundles_dir, c->def->name) < 0) {
			c->bundle = NULL;
			return -ENOMEM;
		}
		r = oci_bundle_write(c->bundle, spec, ret_error);
		if (r < 0)
			return r;
	}
	c->stop_signal = SIGTERM;
	if (img->config.stop_signal) {
		int sig = shim_signal_parse(img->config.stop_signal);

		if (sig > 0)
			c->stop_signal = sig;
		else
			log_warn("Container '%s': the image's StopSignal '%s' is unknown, SIGTERM "
				 "is used",
				 c->def->name, img->config.stop_signal);
	}
	free(c->prepared_digest);
	c->prepared_digest = strdup(img->digest);
	if (!c->prepared_digest)
		return -ENOMEM;
	c->prepared = true;
	return 0;
}

static void usage_sample(struct shim *s)
{
	struct storage_usage u;

	/* a task VM's storage, once the guest has it: the guest says (shim-vm.c) */
	if (s->vm && shim_vm_sample(s->vm))
		return;
	if (!s->storage || storage_usage(s->storage, &u) < 0)
		return;
	if (s->has_usage && u.utilized_mib == s->usage.utilized_mib &&
	    u.reserved_mib == s->usage.reserved_mib)
		return;
	s->usage = u;
	s->has_usage = true;
	shim_emit_status(s);
}

static void on_usage_timer(struct event_loop *loop, void *data)
{
	usage_sample(data);
}

/* Create the task's storage: once, while the first pull runs. */
static void storage_setup(struct shim *s)
{
	const struct storage_opts o = {
		.state_dir = s->cfg.volume_dir,
		.mount_dir = s->mnt_dir,
		.platform = s->platform,
		.size_gib = platform_storage_gib(s->platform, s->def),
	};
	_cleanup_free_ char *e = NULL;
	bool ahead = false;
	int r = 0;

	/* the spare's volumes, mounted ahead (spare_premake()): as they are, if they are these */
	if (s->storage && storage_matches(s->storage, &o)) {
		ahead = true;
	} else if (s->storage) {
		log_info("Storage: the volumes the spare made ahead are not this task's (platform "
			 "version %s, %u GiB): removed",
			 s->platform->version, o.size_gib);
		s->storage = storage_free(s->storage);
		r = storage_teardown(s->spare_volume_dir, s->mnt_dir, &e);
	}
	if (!ahead && r >= 0)
		r = storage_create(&o, &s->storage, &e);
	if (r < 0) {
		log_err("Storage: %s", e ?: strerror(-r));
		shim_task_stop(s, "TaskFailedToStart",
			       "ResourceInitializationError: failed to create the task's ephemeral "
			       "storage: %s",
			       e ?: strerror(-r));
		return;
	}
	s->storage_devices = strdup(storage_devices(s->storage));
	for (size_t i = 0; i < s->def->n_volumes; i++) {
		free(e);
		e = NULL;
		r = storage_volume_path(s->storage, s->def->volumes[i].name, &s->volume_paths[i],
					&e);
		if (r < 0) {
			shim_task_stop(s, "TaskFailedToStart",
				       "ResourceInitializationError: volume '%s': %s",
				       s->def->volumes[i].name, e ?: strerror(-r));
			return;
		}
	}
	s->storage_done = true;
	s->storage_ns = realtime_nsec();
	log_info("Storage ready: %s%s", strna(s->storage_devices),
		 ahead ? " (its volumes made and mounted ahead by the spare)" : "");
	r = event_add_periodic(
		s->loop, (uint64_t)(s->cfg.usage_interval_sec ?: SHIM_USAGE_DEFAULT) * 1000000ULL,
		on_usage_timer, s, NULL);
	if (r > 0)
		s->usage_timer = r;
	usage_sample(s);
}

/* The task's etc files, written once (create_ahead() or prepare_maybe()); false: the task stops. */
static bool etc_ready(struct shim *s)
{
	int r;

	if (s->etc_done)
		return true;
	r = etc_files(s);
	if (r < 0) {
		shim_task_stop(s, "TaskFailedToStart",
			       "ResourceInitializationError: cannot write the task's etc files: %s",
			       strerror(-r));
		return false;
	}
	s->etc_done = true;
	return true;
}

/* A container that could not be prepared or created: the task fails to start. */
static void ctr_create_failed(struct shim *s, struct shim_ctr *c, int r, const char *e)
{
	shim_ctr_set_reason(c, "CannotCreateContainerError: %s", e ?: strerror(-r));
	log_err("Container '%s': %s", c->def->name, e ?: strerror(-r));
	shim_task_stop(s, "TaskFailedToStart", "CannotCreateContainerError: %s: %s", c->def->name,
		       e ?: strerror(-r));
}

/* The end of a discarded container (ctr_discard()): runc's state, its root, its bundle go. */
static void ctr_discarded(struct shim *s, struct shim_ctr *c)
{
	_cleanup_free_ char *e = NULL;

	c->discarding = false;
	if (c->created && runc_delete(&s->runc, c->def->name, true, &e) < 0)
		log_warn("Container '%s': runc delete: %s", c->def->name, strna(e));
	c->created = c->exited = false;
	c->pid = 0;
	c->created_ns = 0;
	c->out_fd = safe_close(c->out_fd);
	c->err_fd = safe_close(c->err_fd);
	free(e);
	e = NULL;
	if (c->rootfs && storage_rootfs_discard(s->storage, c->def->name, &e) < 0)
		log_warn("Container '%s': %s", c->def->name, strna(e));
	free(c->rootfs);
	free(c->bundle);
	free(c->prepared_digest);
	c->rootfs = c->bundle = c->prepared_digest = NULL;
	c->prepared = false;
	if (s->stopping && !c->skipped) {
		/* the task stopped meanwhile: it will not be made again */
		c->skipped = true;
		ctr_set_status(c, TMDS_STATUS_STOPPED);
	}
}

/*
 * A container created ahead with the store's image for its name, when the pull resolved another
 * digest: killed (its init waits in runc's exec.fifo: nothing of it ran) and, once reaped, gone;
 * prepare_maybe() makes it again with the pulled image.
 */
static void ctr_discard(struct shim *s, struct shim_ctr *c)
{
	log_info("Container '%s': its image is %s now, not the store's %s it was created with: "
		 "created again",
		 c->def->name, c->image->img->digest, strna(c->prepared_digest));
	if (c->created && !c->exited) {
		c->discarding = true;
		ctr_kill(s, c, SIGKILL);
		return;
	}
	ctr_discarded(s, c);
}

/*
 * The containers that start first (no dependsOn), prepared and created before the task has its
 * network, while netd attaches the ENI: when the agent gave the network's members ahead (all but
 * netd's slot: the metadata ids in the environment, the address and hostname, the DNS servers),
 * the store has the images (taken under once and prefer-cached; under default and always, taken
 * until the pull says which digest the name has now: prepare_maybe()), and nothing of their
 * configuration needs the network (secrets) or a VM. Their start waits as ever for the network,
 * the pulls, netd's READY and the agent's start. A failure stops the task as prepare_maybe()'s
 * would.
 */
static void create_ahead(struct shim *s)
{
	_cleanup_free_ char *e = NULL;
	uint64_t t0 = now_usec();
	size_t n = 0;
	int r;

	if (s->ahead_done || s->stopping || s->state != SHIM_STATE_PREPARING || !s->storage_done ||
	    !s->cfg.has_ahead || s->cfg.has_network || s->vm ||
	    (s->secrets && secrets_count(s->secrets)))
		return;
	for (size_t i = 0; i < s->n_images; i++) {
		struct shim_image *im = &s->images[i];

		if (im->done && !im->error)
			continue;
		/* default, always: the store's image of that name, if any, until the pull says */
		if (im->done || (s->cfg.pull_behavior != SHIM_PULL_DEFAULT &&
				 s->cfg.pull_behavior != SHIM_PULL_ALWAYS))
			return;
		if (!im->ahead) {
			if (image_load(s->cfg.image_store, im->reference, &im->ahead, &e) < 0)
				return;
			im->ahead_config = image_config_json(&im->ahead->config);
		}
	}
	s->ahead_done = true;
	if (!etc_ready(s))
		return;
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		if (c->def->n_depends_on)
			continue;
		r = ctr_prepare(s, c, &e);
		if (r >= 0)
			r = ctr_create(s, c, true, &e);
		if (r < 0) {
			ctr_create_failed(s, c, r, e);
			return;
		}
		n++;
	}
	log_info("%zu container%s to create ahead of the network, prepared in %.1f ms", n,
		 n == 1 ? "" : "s", (double)(now_usec() - t0) / 1000);
}

/* Everything pulled and the storage there: prepare every container, then wait for start. */
static void prepare_maybe(struct shim *s)
{
	_cleanup_free_ char *e = NULL;
	int r;

	if (s->stopping || s->state != SHIM_STATE_PREPARING || !s->storage_done ||
	    !s->cfg.has_network)
		return;
	for (size_t i = 0; i < s->n_images; i++)
		if (!s->images[i].done || s->images[i].error)
			return;
	/*
	 * Created ahead with the store's image when the pull resolved another: created again,
	 * once its runc create has ended. One whose runc create runs with the image the pull
	 * resolved does not hold the task back: the task is prepared meanwhile, and the
	 * container starts once it is created (shim_launch_ready(), ctr_create_done()), so
	 * that the agent's READY and start are not on the path after runc create.
	 */
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		if (!c->prepared || c->discarding ||
		    streq_ptr(c->prepared_digest, c->image->img->digest))
			continue;
		if (c->create_pid > 0)
			return; /* until its runc create ends */
		ctr_discard(s, c);
	}
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (s->ctrs[i].discarding)
			return; /* until it is reaped */
	if (!etc_ready(s))
		return;
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		r = c->prepared ? 0 : ctr_prepare(s, c, &e);
		if (r >= 0)
			r = ctr_logs_prepare(s, c, &e);
		if (r < 0) {
			ctr_create_failed(s, c, r, e);
			return;
		}
	}
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (s->ctrs[i].created && s->ctrs[i].status < TMDS_STATUS_CREATED)
			ctr_set_status(&s->ctrs[i], TMDS_STATUS_CREATED);
	/* the values are in the containers' configurations now: none stays in the shim */
	s->secrets = secrets_free(s->secrets);
	if (s->vm) {
		/* the VM boots while the task waits for start */
		free(e);
		e = NULL;
		r = shim_vm_boot(s->vm, &e);
		if (r < 0) {
			log_err("Task VM: %s", e ?: strerror(-r));
			shim_task_stop(s, "TaskFailedToStart",
				       "ResourceInitializationError: cannot start the task VM: %s",
				       e ?: strerror(-r));
			return;
		}
	}
	s->state = SHIM_STATE_READY;
	s->prepared_ns = realtime_nsec();
	log_info("Task prepared: waiting for start");
	shim_emit_status(s);
}

/* --- running ------------------------------------------------------------------------------ */

/* Signal a created container: its init (runc), or the container in the VM. */
static void ctr_kill(struct shim *s, struct shim_ctr *c, int signo)
{
	if (s->vm)
		shim_vm_ctr_kill(s->vm, c, signo);
	else
		kill(c->pid, signo);
}

static struct shim_ctr *ctr_by_pid(struct shim *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (s->ctrs[i].created && !s->ctrs[i].exited && s->ctrs[i].pid == pid)
			return &s->ctrs[i];
	return NULL;
}

static void logs_done(struct shim_ctr *c)
{
	c->logs_done = true;
	if (c->file)
		logfile_flush(c->file);
	shim_check_done(c->s);
}

static void on_drained(struct logship *ls, int result, void *data)
{
	struct shim_ctr *c = data;
	struct logship_stats st;

	logship_get_stats(ls, &st);
	if (result < 0)
		log_warn("Container '%s': %" PRIu64 " log messages not delivered to %s: %s",
			 c->def->name, st.buffered, c->ship_cfg->endpoint, strerror(-result));
	else
		log_info("Container '%s': %" PRIu64 " log messages delivered, %" PRIu64 " dropped",
			 c->def->name, st.delivered, st.dropped);
	logs_done(c);
}

static void on_logs_eof(struct logship_source *src, void *data)
{
	struct shim_ctr *c = data;
	int r;

	if (!c->ship) {
		logs_done(c);
		return;
	}
	r = logship_drain(
		c->ship, (uint64_t)(c->s->cfg.drain_timeout_sec ?: SHIM_DRAIN_DEFAULT) * 1000000ULL,
		on_drained, c);
	if (r < 0) {
		log_warn_errno(r, "Container '%s': cannot drain its logs: %m", c->def->name);
		logs_done(c);
	}
}

static void on_ship_conn(struct logship *ls, int error, void *data)
{
	struct shim_ctr *c = data;

	if (error)
		log_debug("Container '%s': log collector %s: %s", c->def->name,
			  c->ship_cfg->endpoint, strerror(-error));
	else
		log_debug("Container '%s': connected to the log collector %s", c->def->name,
			  c->ship_cfg->endpoint);
}

/* The container's log file and shipper, before it runs. */
static int ctr_logs_open(struct shim *s, struct shim_ctr *c, char **ret_error)
{
	int r;

	r = logfile_open(&(struct logfile_opts){ .dir = s->log_dir,
						 .container = c->def->name,
						 .max_size = s->cfg.log_max_size },
			 &c->file);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot open its log file: %s", strerror(-r));
	if (!c->ship_cfg)
		return 0;
	return logship_new(
		s->loop,
		&(struct logship_opts){
			.config = c->ship_cfg,
			.container = c->def->name,
			.task_id = s->cfg.task_id,
			.hostname = s->cfg.address,
			.netns_fd = flow_netns(s, PLATFORM_FLOW_LOGS),
			.mark = TC_MARK(s->cfg.slot, TC_FLOW_LOGS),
			.addr = c->ship_addr_len ? (struct sockaddr *)&c->ship_addr : NULL,
			.addr_len = c->ship_addr_len,
			.on_conn = on_ship_conn,
			.data = c,
		},
		&c->ship, ret_error);
}

/* A container created (runc create, or the VM's). */
static void ctr_created(struct shim_ctr *c)
{
	c->created = true;
	c->created_ns = realtime_nsec();
	/* (created ahead with the store's image: CREATED once the pull has the same) */
	if (c->image->done)
		ctr_set_status(c, TMDS_STATUS_CREATED);
}

static void on_create_timer(struct event_loop *loop, void *data)
{
	struct shim_ctr *c = data;

	c->create_timer = 0;
	c->create_timed_out = true;
	kill(c->create_pid, SIGKILL); /* our unreaped child: its pid cannot have been reused */
}

/*
 * runc create (or the VM's), its stdout and stderr pipes' read ends kept for its launch. With
 * spawn (a container created ahead: create_ahead()), runc create runs beside the loop, which
 * takes the network and runs the pulls meanwhile: ctr_create_done() follows once runc is
 * reaped, bounded by runc's usual timeout.
 */
static int ctr_create(struct shim *s, struct shim_ctr *c, bool spawn, char **ret_error)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct runc_create_opts o = { .id = c->def->name, .bundle = c->bundle };
	int r;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = fail_errno(ret_error, -errno, "cannot make its output's pipes: %m");
		goto fail;
	}
	o.stdout_fd = out[1];
	o.stderr_fd = err[1];
	c->create_usec = now_usec();
	if (s->vm)
		r = shim_vm_ctr_create(s->vm, c, out[1], err[1], ret_error);
	else if (spawn) {
		_cleanup_free_ char *e = NULL;

		/* runc's pid file says that the container is created before runc has exited */
		if (runc_create_watch(&o, &c->create_watch_fd, &e) < 0)
			log_debug("Container '%s': %s: its creation is known once runc exits",
				  c->def->name, e ?: "no watch");
		r = runc_create_spawn(&s->runc, &o, &c->create_pid, ret_error);
		if (r >= 0 && c->create_watch_fd >= 0) {
			int k = event_add_io(s->loop, c->create_watch_fd, EPOLLIN, on_create_watch,
					     c, NULL);

			if (k > 0)
				c->create_watch = k;
		}
		if (r < 0 || c->create_watch <= 0)
			c->create_watch_fd = safe_close(c->create_watch_fd);
	} else
		r = runc_create(&s->runc, &o, &c->pid, ret_error);
	out[1] = safe_close(out[1]);
	err[1] = safe_close(err[1]);
	if (r < 0)
		goto fail;
	c->out_fd = out[0];
	c->err_fd = err[0];
	if (c->create_pid > 0) {
		r = event_add_timer(s->loop,
				    (uint64_t)(s->runc.timeout_ms ?: RUNC_TIMEOUT_MS_DEFAULT) *
					    1000ULL,
				    on_create_timer, c, NULL);
		if (r > 0)
			c->create_timer = r;
		return 0;
	}
	ctr_created(c);
	if (!s->vm)
		log_debug("Container '%s': runc create took %.1f ms", c->def->name,
			  (double)(now_usec() - c->create_usec) / 1000);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		safe_close(out[i]);
		safe_close(err[i]);
	}
	return r;
}

static struct shim_ctr *ctr_by_create_pid(struct shim *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (s->ctrs[i].create_pid == pid)
			return &s->ctrs[i];
	return NULL;
}

static struct shim_ctr *ctr_by_create_exiting(struct shim *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (s->ctrs[i].create_exiting == pid)
			return &s->ctrs[i];
	return NULL;
}

/* No more watch of the container's bundle (ctr_create()'s, for runc's pid file). */
static void ctr_create_unwatch(struct shim *s, struct shim_ctr *c)
{
	event_cancel(s->loop, c->create_watch);
	c->create_watch = 0;
	c->create_watch_fd = safe_close(c->create_watch_fd);
}

/* The end of a runc create beside the loop (ctr_create()): created (r >= 0), or failed (e). */
static void ctr_create_end(struct shim *s, struct shim_ctr *c, int r, const char *e)
{
	c->create_pid = 0;
	event_cancel(s->loop, c->create_timer);
	c->create_timer = 0;
	ctr_create_unwatch(s, c);
	if (r >= 0 && kill(c->pid, 0) < 0 && errno == ESRCH) {
		/* reaped before runc was, as not ours: it ended before its start */
		r = -ESRCH;
		e = "its init ended while runc created it";
	}
	if (r < 0) {
		c->pid = 0;
		c->out_fd = safe_close(c->out_fd);
		c->err_fd = safe_close(c->err_fd);
		if (!s->stopping) {
			ctr_create_failed(s, c, r, e);
			return;
		}
		log_warn("Container '%s': %s", c->def->name, e ?: strerror(-r));
		c->skipped = true;
		ctr_set_status(c, TMDS_STATUS_STOPPED);
		return;
	}
	ctr_created(c);
	log_info("Container '%s' created ahead of the network (runc create: %.1f ms%s)",
		 c->def->name, (double)(now_usec() - c->create_usec) / 1000,
		 c->create_exiting ? ", its pid file written, runc exiting" : "");
	/* the task prepared while runc create ran (prepare_maybe()): it may start now */
	if (s->state == SHIM_STATE_READY || s->state == SHIM_STATE_RUNNING)
		ctr_set_status(c, TMDS_STATUS_CREATED);
	shim_launch_ready(s);
	shim_emit_status(s);
}

/* runc create reaped with status, before its pid file was seen (on_create_watch()). */
static void ctr_create_done(struct shim *s, struct shim_ctr *c, int status)
{
	_cleanup_free_ char *e = NULL;
	int r;

	r = runc_create_finish(
		&(struct runc_create_opts){ .id = c->def->name, .bundle = c->bundle }, status,
		&c->pid, &e);
	if (c->create_timed_out) {
		free(e);
		e = NULL;
		r = fail_errno(&e, -ETIMEDOUT, "runc create did not finish in %u ms",
			       s->runc.timeout_ms ?: RUNC_TIMEOUT_MS_DEFAULT);
	}
	ctr_create_end(s, c, r, e);
}

/*
 * Something landed in the bundle of a container whose runc create runs: once it is runc's pid
 * file, the container is created, and runc only exits from there (its reaping,
 * ctr_create_exited(), is not waited for).
 */
static void on_create_watch(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct shim_ctr *c = data;
	struct shim *s = c->s;
	pid_t pid;
	int r;

	r = runc_create_check(&(struct runc_create_opts){ .id = c->def->name, .bundle = c->bundle },
			      fd, &pid);
	if (r < 0) {
		/* the watch is no use: runc's reaping says when it is done */
		log_debug("Container '%s': cannot read the watch of its bundle: %s", c->def->name,
			  strerror(-r));
		ctr_create_unwatch(s, c);
		return;
	}
	if (r == 0 || c->create_timed_out)
		return;
	c->pid = pid;
	c->create_exiting = c->create_pid;
	ctr_create_end(s, c, 0, NULL);
	prepare_maybe(s);
	if (s->stopping)
		stop_progress(s);
	shim_check_done(s);
}

/* The exit of a runc create whose container was created before it (on_create_watch()). */
static void ctr_create_exited(struct shim_ctr *c, int status)
{
	char how[64];

	c->create_exiting = 0;
	if (status == 0) {
		log_debug("Container '%s': its runc create exited", c->def->name);
		return;
	}
	prog_status_str(status, how, sizeof(how));
	log_warn("Container '%s': runc create ended with %s after writing its pid file",
		 c->def->name, how);
}

/*
 * Launch a container: created (now, or ahead of the network: create_ahead()), its output to
 * its log source; the start comes after (ctr_start).
 */
static int ctr_launch(struct shim *s, struct shim_ctr *c, char **ret_error)
{
	int r;

	if (c->created && c->exited)
		return fail_errno(ret_error, -ESRCH, "it ended before its start");
	r = ctr_logs_open(s, c, ret_error);
	if (r >= 0 && !c->created)
		r = ctr_create(s, c, false, ret_error);
	if (r < 0)
		return r;
	r = logship_source_new(s->loop,
			       &(struct logship_source_opts){ .stdout_fd = c->out_fd,
							      .stderr_fd = c->err_fd,
							      .file = c->file,
							      .ship = c->ship,
							      .on_eof = on_logs_eof,
							      .data = c },
			       &c->src);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot read its output: %s", strerror(-r));
	c->out_fd = c->err_fd = -1; /* the source's */
	/*
	 * Its start is decided: RUNNING from now on, as its metadata will say before it runs
	 * (ctr_start() follows once the agent has taken the status in).
	 */
	c->started = true;
	c->start_pending = true;
	c->started_ns = realtime_nsec();
	ctr_set_status(c, TMDS_STATUS_RUNNING);
	return 0;
}

/*
 * The task's CPU limit on its cgroup, before its first container starts: the agent made the
 * cgroup without it, so that runc's setup of the containers created until then (runc init, a Go
 * program) ran at the host's speed (launch.c, provision()). Every process of the task runs
 * under it from its first instruction; containers created later are set up under it.
 */
static int task_cpu_limit(struct shim *s, char **ret_error)
{
	uint64_t quota = taskdef_cpu_quota_us(s->def);
	int r;

	if (s->cpu_limited)
		return 0;
	if (quota) {
		/* found at the shim's start (a spare's, before its task), else now */
		r = s->cgroup_roots_r;
		if (r < 0)
			r = s->cgroup_roots_r =
				cgroup_roots_detect("/proc/self/mountinfo", &s->cgroup_roots);
		if (r >= 0)
			r = cgroup_set_cpu_limit(&s->cgroup_roots, s->cfg.cgroup, quota,
						 TASKDEF_CPU_PERIOD_US);
		if (r < 0)
			return fail_errno(ret_error, r,
					  "cannot set the task's CPU limit on '%s': %s",
					  s->cfg.cgroup, strerror(-r));
		log_debug("The task's CPU limit: %" PRIu64 " us per %d us", quota,
			  TASKDEF_CPU_PERIOD_US);
	}
	s->cpu_limited = true;
	return 0;
}

/* runc start of a created container whose start was decided. */
static void ctr_start(struct shim *s, struct shim_ctr *c)
{
	_cleanup_free_ char *e = NULL;
	uint64_t t0;
	int r;

	if (!c->start_pending)
		return;
	c->start_pending = false;
	t0 = now_usec();
	r = task_cpu_limit(s, &e);
	if (r >= 0)
		r = s->vm ? shim_vm_ctr_start(s->vm, c, &e)
			  : runc_start(&s->runc, c->def->name, c->pid, &e);
	if (!s->vm)
		log_debug("Container '%s': runc start took %.1f ms", c->def->name,
			  (double)(now_usec() - t0) / 1000);
	if (r < 0) {
		log_err("Container '%s' failed to start: %s", c->def->name, e ?: strerror(-r));
		shim_ctr_set_reason(c, "CannotStartContainerError: %s", e ?: strerror(-r));
		/* its init waits in runc's fifo: killed, reaped by SIGCHLD (status STOPPED) */
		ctr_kill(s, c, SIGKILL);
		if (c->def->essential)
			shim_task_stop(s, "TaskFailedToStart", "CannotStartContainerError: %s: %s",
				       c->def->name, e ?: strerror(-r));
		return;
	}
	if (!s->vm)
		log_info("Container '%s' started (pid %d)", c->def->name, (int)c->pid);
}

/* Start the containers whose RUNNING status the agent took in (up to seq; all: UINT64_MAX). */
static void starts_release(struct shim *s, uint64_t seq)
{
	size_t order[TASKDEF_MAX_CONTAINERS];

	taskdef_start_order(s->def, order);
	for (size_t k = 0; k < s->n_ctrs; k++) {
		struct shim_ctr *c = &s->ctrs[order[k]];

		if (c->start_pending && c->ack_seq <= seq)
			ctr_start(s, c);
	}
	for (size_t k = 0; k < s->n_ctrs; k++)
		if (s->ctrs[k].start_pending)
			return;
	event_cancel(s->loop, s->ack_timer);
	s->ack_timer = 0;
}

static void on_ack_timer(struct event_loop *loop, void *data)
{
	struct shim *s = data;

	s->ack_timer = 0;
	log_warn("The agent did not answer in %d ms: starting the containers", SHIM_ACK_TIMEOUT_MS);
	starts_release(s, UINT64_MAX);
}

/* Can c start (1), not yet (0), or never (-1: a dependency failed or will not start)? */
static int ctr_ready(struct shim *s, struct shim_ctr *c, const struct shim_ctr **ret_dep)
{
	for (size_t i = 0; i < c->def->n_depends_on; i++) {
		const struct taskdef_dependency *dep = &c->def->depends_on[i];
		const struct shim_ctr *t = &s->ctrs[dep->container];

		*ret_dep = t;
		if (t->skipped)
			return -1;
		switch (dep->condition) {
		case TASKDEF_CONDITION_START:
			if (!t->started)
				return 0;
			break;
		case TASKDEF_CONDITION_COMPLETE:
			if (!t->exited)
				return 0;
			break;
		case TASKDEF_CONDITION_SUCCESS:
			if (!t->exited)
				return 0;
			if (!t->has_exit_code || t->exit_code != 0)
				return -1;
			break;
		case TASKDEF_CONDITION_HEALTHY:
			return -1; /* refused before the launch: no health checks */
		}
	}
	return 1;
}

/* Start every container whose dependencies are met, in the task definition's start order. */
void shim_launch_ready(struct shim *s)
{
	size_t order[TASKDEF_MAX_CONTAINERS];
	bool progress = true, changed = false;

	if (s->state != SHIM_STATE_RUNNING)
		return;
	taskdef_start_order(s->def, order);
	while (progress && !s->stopping) {
		progress = false;
		for (size_t k = 0; k < s->n_ctrs && !s->stopping; k++) {
			struct shim_ctr *c = &s->ctrs[order[k]];
			_cleanup_free_ char *e = NULL;
			const struct shim_ctr *dep = NULL;
			int ready, r;

			if (c->started || c->skipped || c->create_pid > 0)
				continue; /* (its runc create ends in ctr_create_done()) */
			ready = ctr_ready(s, c, &dep);
			if (ready == 0)
				continue;
			progress = changed = true;
			if (ready < 0) {
				c->skipped = true;
				ctr_set_status(c, TMDS_STATUS_STOPPED);
				shim_ctr_set_reason(
					c,
					"DependencyConditionError: container '%s' did not "
					"meet its dependsOn condition",
					dep->def->name);
				if (c->def->essential)
					shim_task_stop(s, "TaskFailedToStart",
						       "Essential container '%s' cannot start: its "
						       "dependency '%s' failed",
						       c->def->name, dep->def->name);
				continue;
			}
			r = ctr_launch(s, c, &e);
			if (r < 0) {
				log_err("Container '%s' failed to start: %s", c->def->name,
					e ?: strerror(-r));
				shim_ctr_set_reason(c, "CannotStartContainerError: %s",
						    e ?: strerror(-r));
				c->skipped = true; /* it will not start */
				if (c->created && !c->exited) {
					/* its init waits in runc's fifo: reaped by SIGCHLD */
					ctr_kill(s, c, SIGKILL);
				} else {
					ctr_set_status(c, TMDS_STATUS_STOPPED);
					if (!c->src)
						c->logs_done = true;
				}
				if (c->def->essential || !c->created)
					shim_task_stop(s, "TaskFailedToStart",
						       "CannotStartContainerError: %s: %s",
						       c->def->name, e ?: strerror(-r));
			}
		}
	}
	if (!changed)
		return;
	/* The containers whose start was decided get their seq: started once the agent said so. */
	for (size_t k = 0; k < s->n_ctrs; k++)
		if (s->ctrs[k].start_pending && !s->ctrs[k].ack_seq)
			s->ctrs[k].ack_seq = s->seq + 1;
	if (!emit_status_ack(s, true)) {
		starts_release(s, UINT64_MAX); /* nobody to wait for */
		return;
	}
	/*
	 * The task's CPU limit while the agent takes the status in, not after its answer: the
	 * containers whose start waits for it are created, none of them has run. A failure is
	 * ctr_start()'s to report, where it is tried again.
	 */
	if (!s->cpu_limited) {
		_cleanup_free_ char *e = NULL;

		if (task_cpu_limit(s, &e) < 0)
			log_debug("The task's CPU limit, ahead of the agent's answer: %s",
				  strna(e));
	}
	if (!s->ack_timer) {
		int r = event_add_timer(s->loop, SHIM_ACK_TIMEOUT_MS * 1000ULL, on_ack_timer, s,
					NULL);

		if (r > 0)
			s->ack_timer = r;
		else
			starts_release(s, UINT64_MAX);
	}
}

/* --- stopping ----------------------------------------------------------------------------- */

static void on_kill_timer(struct event_loop *loop, void *data)
{
	struct shim_ctr *c = data;

	c->kill_timer = 0;
	if (!c->created || c->exited)
		return;
	log_notice("Container '%s' did not stop within %us: SIGKILL", c->def->name,
		   c->def->stop_timeout);
	ctr_kill(c->s, c, SIGKILL);
}

/* Does a live container depend on c? Then c stops after it. */
static bool ctr_needed(struct shim *s, const struct shim_ctr *c)
{
	size_t idx = (size_t)(c - s->ctrs);

	for (size_t i = 0; i < s->n_ctrs; i++) {
		const struct shim_ctr *d = &s->ctrs[i];

		if (!d->created || d->exited)
			continue;
		for (size_t k = 0; k < d->def->n_depends_on; k++)
			if (d->def->depends_on[k].container == idx)
				return true;
	}
	return false;
}

/* Signal the containers that nothing live depends on any more (reverse dependency order). */
static void stop_progress(struct shim *s)
{
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];
		int r;

		if (!c->created || c->exited || c->signalled)
			continue;
		if (!c->started || c->start_pending) {
			c->start_pending = false;
			/* created, never started: nothing of it ran */
			c->signalled = true;
			ctr_kill(s, c, SIGKILL);
			continue;
		}
		if (ctr_needed(s, c))
			continue;
		c->signalled = true;
		log_info("Stopping container '%s' (%s, SIGKILL after %us)", c->def->name,
			 strsignal(c->stop_signal), c->def->stop_timeout);
		/* The init is our unreaped child: its pid cannot have been reused. */
		ctr_kill(s, c, c->stop_signal);
		r = event_add_timer(s->loop, (uint64_t)c->def->stop_timeout * 1000000ULL,
				    on_kill_timer, c, NULL);
		if (r > 0)
			c->kill_timer = r;
		else
			ctr_kill(s, c, SIGKILL);
	}
	if (s->vm)
		shim_vm_stop_progress(s->vm);
}

static void on_final_timer(struct event_loop *loop, void *data)
{
	struct shim *s = data;

	s->final_timer = 0;
	log_warn("The task did not finish stopping in time: tearing down what is left");
	for (size_t i = 0; i < s->n_ctrs; i++)
		s->ctrs[i].logs_done = true;
	for (size_t i = 0; i < s->n_images; i++)
		pull_abort(&s->images[i]);
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (s->ctrs[i].create_pid > 0)
			kill(s->ctrs[i].create_pid, SIGKILL);
	shim_check_done(s);
}

void shim_task_stop(struct shim *s, const char *code, const char *fmt, ...)
{
	unsigned int longest = 0;
	va_list ap;
	int r;

	if (s->stopping)
		return;
	s->stopping = true;
	s->stop_ns = realtime_nsec();
	set_str(&s->stop_code, code);
	va_start(ap, fmt);
	if (vasprintf(&s->stop_reason, fmt, ap) < 0)
		s->stop_reason = NULL;
	va_end(ap);
	log_notice("Stopping the task: %s%s%s", s->stop_reason ?: "?", code ? ", " : "",
		   code ?: "");
	s->state = SHIM_STATE_STOPPING;
	for (size_t i = 0; i < s->n_images; i++)
		pull_abort(&s->images[i]);
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		if (!c->created && !c->skipped && !c->create_pid) {
			c->skipped = true;
			ctr_set_status(c, TMDS_STATUS_STOPPED);
		}
		if (!c->src)
			c->logs_done = true;
		longest = MAX(longest, c->def->stop_timeout);
	}
	/* A bound on the whole: every container's timeout, the drains, and some room. */
	r = event_add_timer(s->loop,
			    (uint64_t)(longest * s->n_ctrs +
				       (s->cfg.drain_timeout_sec ?: SHIM_DRAIN_DEFAULT) +
				       SHIM_FINAL_GRACE) *
				    1000000ULL,
			    on_final_timer, s, NULL);
	if (r > 0)
		s->final_timer = r;
	stop_progress(s);
	shim_emit_status(s);
}

static void teardown(struct shim *s)
{
	_cleanup_free_ char *e = NULL;
	int r;

	if (s->vm)
		shim_vm_shutdown(s->vm); /* before the storage goes: qemu has its files open */
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		c->src = logship_source_free(c->src);
		c->ship = logship_free(c->ship);
		c->file = logfile_close(c->file);
		c->out_fd = safe_close(c->out_fd);
		c->err_fd = safe_close(c->err_fd);
	}
	event_cancel(s->loop, s->usage_timer);
	s->usage_timer = 0;
	usage_sample(s);
	s->storage = storage_free(s->storage);
	r = runc_teardown(&s->runc, &e);
	if (r < 0) {
		log_err("runc teardown: %s", e ?: strerror(-r));
		s->rc = EXIT_FAILURE;
	}
	free(e);
	e = NULL;
	r = storage_teardown(s->cfg.volume_dir, s->mnt_dir, &e);
	if (r < 0) {
		log_err("Storage teardown: %s", e ?: strerror(-r));
		s->rc = EXIT_FAILURE;
	}
	r = rm_rf(s->bundles_dir);
	if (r < 0)
		log_warn_errno(r, "Failed to remove '%s': %m", s->bundles_dir);
	s->torn_down = true;
}

static void on_insights_drained(struct logship *ls, int result, void *data)
{
	struct shim *s = data;
	struct logship_stats st;

	logship_get_stats(ls, &st);
	log_info("Container Insights: %" PRIu64 " events delivered, %" PRIu64 " dropped, %" PRIu64
		 " not delivered",
		 st.delivered, st.dropped, result < 0 ? st.buffered : 0);
	s->insights_done = true;
	shim_check_done(s);
}

/* The Container Insights events drained (once the containers' logs are): whether done. */
static bool insights_drained(struct shim *s)
{
	int r;

	if (!s->insights || s->insights_done)
		return true;
	if (s->insights_draining)
		return false;
	s->insights_draining = true;
	r = logship_drain(s->insights,
			  (uint64_t)(s->cfg.drain_timeout_sec ?: SHIM_DRAIN_DEFAULT) * 1000000ULL,
			  on_insights_drained, s);
	if (r < 0) {
		log_warn_errno(r, "Container Insights: cannot drain the events: %m");
		s->insights_done = true;
	}
	return s->insights_done;
}

/* Stopping and nothing left running: drain, tear down, report, exit. */
void shim_check_done(struct shim *s)
{
	if (!s->stopping || s->torn_down)
		return;
	for (size_t i = 0; i < s->n_images; i++)
		if (s->images[i].started && !s->images[i].done)
			return;
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		if ((c->created && !c->exited) || c->create_pid > 0)
			return;
		if (!c->logs_done)
			return;
	}
	if (s->vm && !shim_vm_done(s->vm))
		return;
	if (!insights_drained(s))
		return;
	event_cancel(s->loop, s->final_timer);
	s->final_timer = 0;
	event_cancel(s->loop, s->ack_timer);
	s->ack_timer = 0;
	teardown(s);
	s->state = SHIM_STATE_STOPPED;
	log_notice("Task stopped: %s", s->stop_reason ?: "?");
	shim_emit_status(s);
	event_loop_exit(s->loop, 0);
}

void shim_ctr_exited(struct shim *s, struct shim_ctr *c, int status)
{
	_cleanup_free_ char *e = NULL;
	char how[64];

	c->exited = true;
	c->finished_ns = realtime_nsec();
	c->has_exit_code = true;
	/* Docker's ExitCode: the status, or 128 + the signal */
	c->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	ctr_set_status(c, TMDS_STATUS_STOPPED);
	event_cancel(s->loop, c->kill_timer);
	c->kill_timer = 0;
	prog_status_str(status, how, sizeof(how));
	log_info("Container '%s' exited (%s)", c->def->name, how);
	if (!s->vm && runc_delete(&s->runc, c->def->name, false, &e) < 0)
		log_warn("Container '%s': runc delete: %s", c->def->name, strna(e));
	if (c->def->essential)
		shim_task_stop(s, "EssentialContainerExited", "Essential container in task exited");
	else if (s->stopping)
		stop_progress(s);
	shim_emit_status(s);
}

static void on_sigchld(struct shim *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct shim_image *im = image_by_pid(s, pid);
		struct shim_ctr *c;

		if (im) {
			im->reaped = true;
			im->status = status;
			if (im->eof)
				pull_finish(im);
			continue;
		}
		if (s->vm && shim_vm_reaped(s->vm, pid, status))
			continue;
		c = ctr_by_create_pid(s, pid);
		if (c) {
			ctr_create_done(s, c, status);
			prepare_maybe(s);
			continue;
		}
		c = ctr_by_create_exiting(s, pid);
		if (c) {
			ctr_create_exited(c, status);
			continue;
		}
		c = ctr_by_pid(s, pid);
		if (c && c->discarding) {
			ctr_discarded(s, c);
			prepare_maybe(s);
			continue;
		}
		if (c) {
			shim_ctr_exited(s, c, status);
			continue;
		}
		log_debug("Reaped process %d, not ours", (int)pid);
	}
	if (s->stopping)
		stop_progress(s);
	shim_launch_ready(s);
	shim_check_done(s);
}

static void on_signal(struct event_loop *loop, int signo, void *data)
{
	struct shim *s = data;

	if (signo == SIGCHLD) {
		on_sigchld(s);
		return;
	}
	shim_task_stop(s, NULL, "The taskvm shim received %s", strsignal(signo));
	shim_check_done(s);
}

/* --- control methods ------------------------------------------------------------------------ */

static int do_status(struct ctl_call *call, json_t *params, void *userdata)
{
	return ctl_call_reply(call, status_json(userdata));
}

static int do_subscribe(struct ctl_call *call, json_t *params, void *userdata)
{
	int r = ctl_call_subscribe(call, "events");

	if (r < 0)
		return ctl_call_fail_errno(call, r, "Cannot subscribe: %s", strerror(-r));
	return ctl_call_reply(call, status_json(userdata));
}

static int do_start(struct ctl_call *call, json_t *params, void *userdata)
{
	struct shim *s = userdata;

	if (s->state == SHIM_STATE_RUNNING)
		return ctl_call_reply(call, status_json(s)); /* again, after an agent restart */
	if (s->state != SHIM_STATE_READY)
		return ctl_call_failf(call, CTL_ERR_BUSY, "The task is %s, not READY",
				      shim_state_to_string(s->state));
	s->state = SHIM_STATE_RUNNING;
	log_info("Starting the containers");
	shim_launch_ready(s);
	shim_emit_status(s);
	shim_check_done(s);
	return ctl_call_reply(call, status_json(s));
}

/* The execution role's credentials the agent sent with the network, into s->exec_creds. */
static int exec_creds_take(struct shim *s, json_t *j, char **ret_error)
{
	char *text;
	int r;

	creds_erase(&s->exec_creds);
	text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	r = creds_parse(text, strlen(text), &s->exec_creds, ret_error);
	explicit_bzero(text, strlen(text));
	free(text);
	return r;
}

/*
 * The containers' secrets, fetched over the task's secrets flow (in its namespace, marked) once
 * it has its network and before any container is created; a failure stops the task with ECS's
 * reason. Blocking, bounded by the config's secrets_timeout_sec.
 */
static void secrets_run(struct shim *s)
{
	const char *ns[SHIM_MAX_LIST + 1] = {};
	_cleanup_free_ char *e = NULL;
	const struct secret *failed;
	uint64_t sent, received, t0;
	int r;

	if (s->secrets_done || !s->secrets || !secrets_count(s->secrets))
		return;
	s->secrets_done = true;
	flow_nameservers(s, PLATFORM_FLOW_SECRETS, ns);
	t0 = now_usec();
	r = secrets_fetch(s->secrets,
			  &(struct secrets_opts){
				  .netns_fd = flow_netns(s, PLATFORM_FLOW_SECRETS),
				  .mark = TC_MARK(s->cfg.slot, TC_FLOW_SECRETS),
				  .nameservers = ns[0] ? ns : NULL,
				  .region = s->cfg.region,
				  .secretsmanager_endpoint = s->cfg.secretsmanager_endpoint,
				  .ssm_endpoint = s->cfg.ssm_endpoint,
				  .creds = s->exec_creds.access_key_id ? &s->exec_creds : NULL,
				  .timeout_ms = (s->cfg.secrets_timeout_sec ?: 60) * 1000U,
			  },
			  &e);
	creds_erase(&s->exec_creds);
	secrets_bytes(s->secrets, &sent, &received);
	if (r < 0) {
		failed = secrets_failed(s->secrets);
		log_err("Secrets: %s", e ?: strerror(-r));
		/* ECS's words, which name the service that failed */
		shim_task_stop(
			s, "TaskFailedToStart",
			"ResourceInitializationError: unable to pull secrets or registry auth: "
			"execution resource retrieval failed: %s: %s",
			failed && failed->source == SECRET_SOURCE_SSM
				? "unable to retrieve secrets from ssm"
				: "unable to retrieve secret from asm",
			e ?: strerror(-r));
		return;
	}
	log_info("Secrets: %zu fetched in %.1f ms (HTTP: %" PRIu64 " bytes sent, %" PRIu64
		 " received)",
		 secrets_count(s->secrets), (double)(now_usec() - t0) / 1000.0, sent, received);
}

static int do_network(struct ctl_call *call, json_t *params, void *userdata)
{
	struct shim *s = userdata;
	_cleanup_free_ char *e = NULL, *ahead_host = NULL, *ahead_addr = NULL;
	json_auto_t *net = NULL, *ahead_env = NULL;
	json_t *creds;
	int r;

	if (!params)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Missing parameters");
	/* the credentials go to the fetch, not into the configuration */
	net = json_copy(params);
	if (!net)
		return ctl_call_fail_errno(call, -ENOMEM, "Out of memory");
	creds = json_object_get(net, "execution_role_credentials");
	if (creds) {
		/* (sent again after an agent restart: the secrets were fetched already) */
		r = s->secrets_done ? 0 : exec_creds_take(s, creds, &e);
		json_object_del(net, "execution_role_credentials");
		if (r < 0)
			return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
					      "execution_role_credentials: %s", e ?: strerror(-r));
	}
	/* the network the containers created ahead have: the agent gives the same again */
	ahead_host = s->ahead_done ? strdup(s->cfg.hostname ?: "") : NULL;
	ahead_addr = s->ahead_done ? strdup(s->cfg.address ?: "") : NULL;
	ahead_env = s->ahead_done ? json_incref(s->cfg.env) : NULL;
	r = shim_network_parse(net, &s->cfg, &e);
	if (r == -EEXIST)
		return ctl_call_reply(call, status_json(s)); /* again, after an agent restart */
	if (r < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", e ?: strerror(-r));
	s->network_ns = realtime_nsec();
	if (s->ahead_done && (!streq(s->cfg.hostname ?: "", ahead_host ?: "") ||
			      !streq(s->cfg.address ?: "", ahead_addr ?: "") ||
			      !json_equal(s->cfg.env, ahead_env))) {
		log_err("The task's network is not the one its containers were created with");
		shim_task_stop(
			s, "TaskFailedToStart",
			"ResourceInitializationError: the task's network (%s, %s) is not the "
			"one its containers were created with (%s, %s)",
			strna(s->cfg.address), strna(s->cfg.hostname), strna(ahead_addr),
			strna(ahead_host));
	}
	log_info("The task's network: slot %u, address %s", s->cfg.slot, strna(s->cfg.address));
	shim_emit_status(s);
	if (!s->stopping)
		secrets_run(s);
	if (!s->stopping)
		pull_next(s);
	prepare_maybe(s);
	shim_check_done(s);
	return ctl_call_reply(call, status_json(s));
}

/* The shipper of the Container Insights events: the task's logs flow, to the agent's collector. */
static int insights_open(struct shim *s, char **ret_error)
{
	json_auto_t *opts = NULL;
	int r;

	if (s->insights)
		return 0;
	if (!s->cfg.insights_endpoint || !s->cfg.has_network)
		return fail_with(ret_error, "Container Insights is not configured for the task");
	opts = json_pack("{s:s, s:s, s:s, s:s, s:s}", "awslogs-group", s->cfg.insights_group,
			 "awslogs-region", s->cfg.region ?: "us-east-1", "awslogs-stream-prefix",
			 "FargateTelemetry", "awslogs-endpoint", s->cfg.insights_endpoint, "mode",
			 "non-blocking");
	if (!opts)
		return -ENOMEM;
	r = logship_config_parse(opts, &s->insights_cfg, ret_error);
	if (r < 0)
		return r;
	return logship_new(s->loop,
			   &(struct logship_opts){
				   .config = s->insights_cfg,
				   .container = "containerinsights",
				   .task_id = s->cfg.task_id,
				   .hostname = s->cfg.address,
				   /* where the task's logs go */
				   .netns_fd = flow_netns(s, PLATFORM_FLOW_LOGS),
				   .mark = TC_MARK(s->cfg.slot, TC_FLOW_LOGS),
			   },
			   &s->insights, ret_error);
}

/* The agent's Container Insights events (EMF, checked), shipped as they are. */
static int do_insights(struct ctl_call *call, json_t *params, void *userdata)
{
	struct shim *s = userdata;
	_cleanup_free_ char *e = NULL;
	json_t *events = NULL, *v;
	json_error_t jerr;
	size_t i;
	int r;

	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:o}", "events", &events) < 0 ||
	    !json_is_array(events))
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing");
	if (s->stopping)
		return ctl_call_failf(call, CTL_ERR_BUSY, "The task is stopping");
	r = insights_open(s, &e);
	if (r < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", e ?: strerror(-r));
	json_array_foreach(events, i, v) {
		const char *text = json_string_value(v);

		if (text && logship_submit(s->insights, LOGFILE_STDOUT, realtime_nsec(), text,
					   strlen(text)) == 1)
			log_debug("Container Insights: an event dropped, the buffer is full");
	}
	return ctl_call_reply(call, json_pack("{s:I}", "events", (json_int_t)i));
}

static int do_ack(struct ctl_call *call, json_t *params, void *userdata)
{
	struct shim *s = userdata;
	json_int_t seq = 0;
	json_error_t jerr;

	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:I}", "seq", &seq) < 0 ||
	    seq < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      params ? jerr.text : "missing 'seq'");
	starts_release(s, (uint64_t)seq);
	shim_check_done(s);
	return ctl_call_reply(call, json_pack("{s:I}", "seq", seq));
}

static int do_stop(struct ctl_call *call, json_t *params, void *userdata)
{
	struct shim *s = userdata;
	const char *code = NULL, *reason = NULL;
	json_error_t jerr;

	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s, s?s}", "code", &code,
				     "reason", &reason) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      jerr.text);
	shim_task_stop(s, code, "%s", reason ?: "Task stopped");
	shim_check_done(s);
	return ctl_call_reply(call, status_json(s));
}

static const struct ctl_method shim_methods[] = {
	{ "status", do_status, 0 },
	{ "events.subscribe", do_subscribe, 0 },
	{ "start", do_start, CTL_METHOD_WRITE },
	{ "stop", do_stop, CTL_METHOD_WRITE },
	{ "ack", do_ack, CTL_METHOD_WRITE },
	{ "network", do_network, CTL_METHOD_WRITE },
	{ "insights", do_insights, CTL_METHOD_WRITE },
	{},
};

static const struct ctl_method *const shim_tables[] = { shim_methods, NULL };

/* --- main ----------------------------------------------------------------------------------- */

static int load_config(struct shim *s)
{
	_cleanup_free_ char *e = NULL;
	json_auto_t *j = NULL;
	json_error_t jerr;
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/%s", s->dir, SHIM_CONFIG_FILE);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return log_err_errno(EINVAL, "%s: %s", path, jerr.text);
	r = shim_config_parse(j, &s->cfg, &e);
	if (r < 0)
		return log_err_errno(r, "%s: %s", path, e ?: strerror(-r));
	r = taskdef_parse(s->cfg.task_definition, &s->def, &e);
	if (r < 0)
		return log_err_errno(r, "%s: task definition: %s", path, e ?: strerror(-r));
	/* the agent's manifests, and the revision the task was pinned to at launch */
	if (s->cfg.platforms_dir) {
		r = platform_load_dir(s->cfg.platforms_dir, &e);
		if (r < 0)
			return log_err_errno(r, "%s: %s", s->cfg.platforms_dir, e ?: strerror(-r));
	}
	if (s->cfg.platform_revision)
		r = platform_lookup_revision(s->cfg.platform_version, s->cfg.platform_revision,
					     &s->platform, &e);
	else
		r = platform_lookup(s->cfg.platform_version, &s->platform, &e);
	if (r < 0)
		return log_err_errno(r, "%s: %s", path, e ?: strerror(-r));
	r = secrets_parse(s->cfg.task_definition, &s->secrets, &e);
	if (r == 0)
		r = secrets_check_platform(s->secrets, s->platform, &e);
	if (r < 0)
		return log_err_errno(r, "%s: %s", path, e ?: strerror(-r));
	for (int f = 0; f < PLATFORM_FLOW_COUNT; f++)
		if (platform_flow_eni(s->platform, (enum platform_flow)f) ==
			    PLATFORM_ENI_PLATFORM &&
		    !s->cfg.platform_netns)
			return log_err_errno(EINVAL,
					     "%s: platform version %s sends the %s flow through a "
					     "platform ENI, and the configuration names none",
					     path, s->platform->version,
					     platform_flow_name((enum platform_flow)f));
	/* one image pull's sockets, registry and token service, are made in one namespace */
	if (platform_flow_eni(s->platform, PLATFORM_FLOW_PULL) !=
	    platform_flow_eni(s->platform, PLATFORM_FLOW_AUTH))
		return log_err_errno(EINVAL,
				     "%s: platform version %s sends pull and auth through "
				     "different ENIs, which taskvm does not do",
				     path, s->platform->version);
	return 0;
}

/*
 * runc from the agent's sealed copy (runc.copy_fd, shim_main()): run through RUN_DIR/bin/runc, a
 * symbolic link to /proc/self/fd/N, which every runc this shim starts has open until its exec,
 * so that its name stays "runc". Without it, runc by its path.
 */
static void runc_link(struct shim *s)
{
	char target[64], dir[PATH_MAX - 8];
	int r;

	if (s->runc.copy_fd <= 2)
		return;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", s->runc.copy_fd);
	snprintf(dir, sizeof(dir), "%s/bin", s->dir);
	snprintf(s->runc_link, sizeof(s->runc_link), "%s/runc", dir);
	r = mkdir_p(dir, 0700);
	if (r >= 0 && (unlink(s->runc_link) < 0 && errno != ENOENT))
		r = -errno;
	if (r >= 0 && symlink(target, s->runc_link) < 0)
		r = -errno;
	if (r < 0) {
		log_warn_errno(r, "Cannot link '%s' to runc's copy: %m; runc runs by its path",
			       s->runc_link);
		s->runc.copy_fd = safe_close(s->runc.copy_fd);
		s->runc_link[0] = '\0';
		return;
	}
	s->runc.binary = s->runc_link;
}

static int setup(struct shim *s)
{
	_cleanup_close_ int nsfd = -1;
	char sock[PATH_MAX];
	int r;

	snprintf(s->runc_root, sizeof(s->runc_root), "%s/runc", s->dir);
	snprintf(s->mnt_dir, sizeof(s->mnt_dir), "%s/mnt", s->dir);
	snprintf(s->log_dir, sizeof(s->log_dir), "%s/%s", s->dir, SHIM_LOG_DIR);
	snprintf(s->etc_dir, sizeof(s->etc_dir), "%s/etc", s->dir);
	snprintf(s->bundles_dir, sizeof(s->bundles_dir), "%s/bundles", s->dir);
	s->runc.root = s->runc_root;
	runc_link(s);
	r = mkdir_p(s->log_dir, 0755);
	if (r < 0)
		return log_err_errno(r, "Failed to create '%s': %m", s->log_dir);

	/*
	 * Every socket of the shim is the task's (names, pulls, secrets, logs), but those of the
	 * flows the platform version sends through the platform ENI: made in its namespace.
	 */
	if (s->cfg.platform_netns) {
		s->platform_nsfd = open(s->cfg.platform_netns, O_RDONLY | O_CLOEXEC);
		if (s->platform_nsfd < 0)
			return log_err_errno(errno,
					     "Failed to open the platform ENI's namespace '%s': %m",
					     s->cfg.platform_netns);
	}
	nsfd = open(s->cfg.netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return log_err_errno(errno, "Failed to open the task's network namespace '%s': %m",
				     s->cfg.netns);
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return log_err_errno(errno, "Failed to enter the network namespace '%s': %m",
				     s->cfg.netns);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return log_err_errno(errno, "Failed to become a subreaper: %m");

	r = event_loop_new(&s->loop);
	if (r < 0)
		return log_err_errno(r, "Failed to create the event loop: %m");
	for (int i = 0, sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP }; i < 4; i++) {
		r = event_add_signal(s->loop, sigs[i], on_signal, s);
		if (r < 0)
			return log_err_errno(r, "Failed to set up signal handling: %m");
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock, sizeof(sock), "%s/%s", s->dir, SHIM_SOCKET_FILE);
	r = ctl_server_new(
		s->loop,
		&(struct ctl_server_opts){
			.path = sock, .max_clients = 16, .tables = shim_tables, .userdata = s },
		&s->ctl);
	if (r < 0)
		return log_err_errno(r, "Failed to listen on '%s': %m", sock);
	return 0;
}

/* The containers and their images (one pull per distinct reference). */
static void plan(struct shim *s)
{
	s->n_ctrs = s->def->n_containers;
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];
		struct shim_image *im = NULL;

		c->s = s;
		c->def = &s->def->containers[i];
		c->status = TMDS_STATUS_NONE;
		c->out_fd = c->err_fd = -1;
		c->create_watch_fd = -1;
		for (size_t k = 0; k < s->n_images && !im; k++)
			if (streq(s->images[k].reference, c->def->image))
				im = &s->images[k];
		if (!im) {
			im = &s->images[s->n_images++];
			im->s = s;
			im->fd = im->cancel_fd = -1;
			im->reference = c->def->image;
		}
		c->image = im;
	}
}

static void cleanup(struct shim *s)
{
	for (size_t i = 0; i < s->n_ctrs; i++) {
		struct shim_ctr *c = &s->ctrs[i];

		logship_source_free(c->src);
		logship_free(c->ship);
		logfile_close(c->file);
		safe_close(c->out_fd);
		safe_close(c->err_fd);
		safe_close(c->create_watch_fd);
		logship_config_free(c->ship_cfg);
		free(c->reason);
		free(c->rootfs);
		free(c->bundle);
		free(c->prepared_digest);
	}
	for (size_t i = 0; i < s->n_images; i++) {
		struct shim_image *im = &s->images[i];

		/* a loop that failed may leave a pull thread: it ends before what it uses goes */
		pull_abort(im);
		pull_thread_join(im);
		safe_close(im->fd);
		ctl_linebuf_done(&im->lb);
		image_free(im->img);
		json_decref(im->config);
		image_free(im->ahead);
		json_decref(im->ahead_config);
		free(im->error_msg);
		free(im->digest);
		free(im->canonical);
	}
	for (size_t i = 0; i < TASKDEF_MAX_VOLUMES; i++)
		free(s->volume_paths[i]);
	s->vm = shim_vm_free(s->vm);
	secrets_free(s->secrets);
	creds_erase(&s->exec_creds);
	logship_free(s->insights);
	logship_config_free(s->insights_cfg);
	storage_free(s->storage);
	s->platform_nsfd = safe_close(s->platform_nsfd);
	s->ctl = ctl_server_free(s->ctl);
	s->loop = event_loop_free(s->loop);
	free(s->resolv_conf);
	free(s->hosts);
	free(s->hostname_file);
	free(s->storage_devices);
	free(s->spare_volume_dir);
	free(s->stop_code);
	free(s->stop_reason);
	taskdef_free(s->def);
	shim_config_done(&s->cfg);
}

/*
 * A spare (--spare, launch.c): started ahead of its task, it waits for the agent's byte on its
 * stdin, after which the run directory is a task's. false: the end of the file (the agent does
 * not want it, or exited).
 */
/*
 * A spare's volumes, made while no task waits for them (SHIM_SPARE_FILE says where and for which
 * platform revision): formatted (storage_premake(), so that a spare killed halfway leaves no
 * volume a task could take whole), then attached and mounted where its task's shim mounts them
 * (storage_create(): RUN_DIR/mnt, the spare's id being its task's). The task takes them as they
 * are if they are what it needs (storage_setup()). Failing is only logged: that task makes its
 * own. *ret_volume_dir: where, to remove them if no task comes.
 */
static void spare_premake(struct shim *s, char **ret_volume_dir)
{
	const char *volume_dir = NULL, *version = NULL, *pdir = NULL;
	const struct platform *pf = NULL;
	_cleanup_free_ char *e = NULL;
	json_auto_t *j = NULL;
	json_int_t revision = 0;
	json_error_t jerr;
	char path[PATH_MAX], mnt[PATH_MAX];
	uint64_t t0 = now_usec();
	int r;

	*ret_volume_dir = NULL;
	snprintf(path, sizeof(path), "%s/%s", s->dir, SHIM_SPARE_FILE);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s:I, s?s}", "volume_dir",
				 &volume_dir, "platform_version", &version, "platform_revision",
				 &revision, "platforms_dir", &pdir) < 0) {
		log_warn("%s: %s: no volumes made ahead", path, jerr.text);
		return;
	}
	if (volume_dir[0] != '/' || (pdir && pdir[0] != '/') || revision <= 0 ||
	    revision > UINT_MAX) {
		log_warn("%s: invalid volume_dir, platforms_dir or platform_revision: no volumes "
			 "made ahead",
			 path);
		return;
	}
	r = pdir ? platform_load_dir(pdir, &e) : 0;
	if (r >= 0)
		r = platform_lookup_revision(version, (unsigned int)revision, &pf, &e);
	if (r >= 0) {
		*ret_volume_dir = strdup(volume_dir);
		r = *ret_volume_dir
			    ? storage_premake(&(struct storage_opts){ .state_dir = volume_dir,
								      .platform = pf },
					      &e)
			    : -ENOMEM;
	}
	if (r < 0) {
		log_warn("Spare: no volumes made ahead: %s", e ?: strerror(-r));
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", s->dir);
	r = storage_create(
		&(struct storage_opts){ .state_dir = volume_dir, .mount_dir = mnt, .platform = pf },
		&s->storage, &e);
	if (r < 0) {
		log_warn("Spare: the volumes made ahead could not be mounted: %s",
			 e ?: strerror(-r));
		return;
	}
	log_debug("Spare: the volumes of platform version %s made and mounted ahead in '%s' in "
		  "%.1f ms",
		  pf->version, volume_dir, (double)(now_usec() - t0) / 1000);
}

/*
 * A spare waits for its task: a byte on its stdin (the agent's pipe); false at its end, or on
 * SIGTERM, SIGINT or SIGHUP (blocked since shim_main()'s start: taken here, not pending).
 */
static bool spare_wait(void)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = -1 } };
	_cleanup_close_ int sfd = -1;
	ssize_t n = -1;
	sigset_t mask;
	char b;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	p[1].fd = sfd;
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				log_info("Spare: %s before a task came",
					 strsignal((int)si.ssi_signo));
			return false;
		}
		if (p[0].revents) {
			n = read(STDIN_FILENO, &b, 1);
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
	}
	if (n != 1)
		return false;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	return true;
}

int shim_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "spare", no_argument, NULL, 's' },
		{ "runc-fd", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct shim s = { .rc = EXIT_SUCCESS, .platform_nsfd = -1, .cgroup_roots_r = -ENOENT };
	bool spare = false;
	int c, r, runc_fd = -1;

	log_set_ident("taskvm-shim");
	optind = 0;
	while ((c = getopt_long(argc, argv, "d:l:sh", options, NULL)) >= 0) {
		switch (c) {
		case 'd':
			s.dir = optarg;
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0) {
				fprintf(stderr, "taskvm shim: unknown log level '%s'\n", optarg);
				return 2;
			}
			log_set_level((enum log_level)r);
			break;
		case 's':
			spare = true;
			break;
		case 'r': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 3 || v > INT_MAX) {
				fprintf(stderr, "taskvm shim: --runc-fd '%s' is not a descriptor\n",
					optarg);
				return 2;
			}
			runc_fd = (int)v;
			break;
		}
		case 'h':
			printf("Usage: taskvm shim --dir RUNDIR [--log-level LEVEL] [--spare] "
			       "[--runc-fd FD]\n\n"
			       "The per-task process the agent starts (see taskvm(8)); not for\n"
			       "interactive use.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!s.dir || s.dir[0] != '/' || optind < argc) {
		fprintf(stderr, "taskvm shim: --dir RUNDIR (absolute) is required\n");
		return 2;
	}
	umask(0022);
	/* a spare's libraries were bound at its exec (launch.c, env_bind_now()): not its children's */
	unsetenv("LD_BIND_NOW");
	/*
	 * The signals the loop takes (setup()'s event_add_signal()) blocked from the start: one
	 * that comes before the loop is there, as the agent's SIGTERM right after a spare's byte
	 * when the task fails at once, waits for it (the task stops as asked, with what was made
	 * so far) instead of killing the shim halfway.
	 */
	{
		sigset_t mask;

		sigemptyset(&mask);
		sigaddset(&mask, SIGCHLD);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGHUP);
		sigprocmask(SIG_BLOCK, &mask, NULL);
	}
	/* runc's sealed copy from the agent (launch.c, runc_copy()): runc runs from it */
	if (runc_fd >= 0) {
		if (runc_copy_valid(runc_fd) && fcntl(runc_fd, F_SETFD, FD_CLOEXEC) == 0) {
			s.runc.copy_fd = runc_fd;
		} else {
			log_warn("--runc-fd %d is not a sealed copy of runc: runc runs by its path",
				 runc_fd);
			close(runc_fd);
		}
	}
	/*
	 * libcurl (and its TLS library) set up now, before the task (a spare's wait): the pull
	 * children forked from here have it, instead of each paying for it beside runc create
	 * (regclient_new()'s call only counts then). So is OpenSSL's first digest, which loads
	 * its configuration and default provider: 0.7 ms in the image's load from the store
	 * (create_ahead()), before runc create, otherwise.
	 */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_warn("Cannot set up libcurl: the pulls will try again");
	image_digest_prepare();
	/* the cgroup mounts, for the task's CPU limit (task_cpu_limit()), read once here */
	s.cgroup_roots_r = cgroup_roots_detect("/proc/self/mountinfo", &s.cgroup_roots);
	if (spare) {
		_cleanup_free_ char *volume_dir = NULL, *e = NULL;
		char mnt[PATH_MAX];

		spare_premake(&s, &volume_dir);
		if (!spare_wait()) {
			/*
			 * No task came: what was made for it goes. The agent removes it too (the
			 * spare's directories, once it exits: launch.c, spare_drop()); either may
			 * come first, and storage_teardown() finds done what the other did.
			 */
			snprintf(mnt, sizeof(mnt), "%s/mnt", s.dir);
			if (volume_dir && storage_teardown(volume_dir, mnt, &e) < 0)
				log_warn("Spare: %s", e ?: "cannot remove its volumes");
			s.storage = storage_free(s.storage);
			return EXIT_SUCCESS;
		}
		/* the task's volume directory is the one named in the spare's file */
		if (s.storage)
			s.spare_volume_dir = TAKE_PTR(volume_dir);
	}
	r = load_config(&s);
	if (r >= 0)
		r = setup(&s);
	if (r < 0) {
		cleanup(&s);
		return EXIT_FAILURE;
	}
	plan(&s);
	if (s.cfg.vm_kernel) {
		r = shim_vm_new(&s, &s.vm);
		if (r < 0) {
			log_err_errno(r, "Task VM: %m");
			cleanup(&s);
			return EXIT_FAILURE;
		}
	}
	log_info("Task %s: %zu containers, %zu images, platform version %s", s.cfg.task_id,
		 s.n_ctrs, s.n_images, s.platform->version);
	s.state = SHIM_STATE_PREPARING;
	s.began_ns = realtime_nsec();
	pull_cached(&s); /* the images the store has, as the pull behavior allows ... */
	shim_emit_status(&s);
	pull_next(&s);	   /* the first pull runs in its child (once there is a network) ... */
	storage_setup(&s); /* ... while the storage is made */
	create_ahead(&s);  /* ... and the containers, if their network came ahead */
	prepare_maybe(&s);
	shim_check_done(&s);
	if (!s.torn_down)
		event_loop_run(s.loop);
	if (!s.torn_down) {
		/* The loop failed: leave nothing running or mounted behind. */
		shim_task_stop(&s, NULL, "The taskvm shim failed");
		for (size_t i = 0; i < s.n_ctrs; i++)
			if (s.ctrs[i].created && !s.ctrs[i].exited)
				ctr_kill(&s, &s.ctrs[i], SIGKILL);
		teardown(&s);
		s.state = SHIM_STATE_STOPPED;
		shim_emit_status(&s);
		s.rc = EXIT_FAILURE;
	}
	r = s.rc;
	cleanup(&s);
	return r;
}
