/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The shim's own structures (shim.c), shared with its VM backend (shim-vm.c): not an API.
 */
#ifndef TP_SHIM_INTERNAL_H
#define TP_SHIM_INTERNAL_H

#include <pthread.h>
#include <sys/socket.h>

#include "cgroup.h"
#include "creds.h"
#include "ctl-proto.h"
#include "image.h"
#include "runc.h"
#include "shim.h"
#include "storage.h"
#include "taskdef.h"
#include "tmds.h"

struct ctl_server;
struct event_loop;
struct logfile;
struct logship;
struct logship_config;
struct logship_source;
struct platform;
struct secrets;
struct shim_vm;

struct shim;

/* One image of the task (containers with the same reference share it). */
struct shim_image {
	struct shim *s;
	char *reference;
	struct image *img; /* once pulled (loaded from the store) */
	json_t *config;	   /* its config as oci.h takes it */
	/* default, always: the store's image for the reference, before the pull (create_ahead());
	 * the containers created with it are kept if the pull resolves the same digest */
	struct image *ahead;
	json_t *ahead_config;
	pid_t pid; /* the pull child, 0 when none */
	/* or the pull thread (pull_thread()), while joinable, and its cancellation (an eventfd) */
	pthread_t thread;
	bool in_thread, thread_joinable;
	int cancel_fd;
	bool uncached; /* a layer was not in the store: pulled in a child (pull_thread()) */
	int fd;	       /* the pull's pipe */
	int io_id;
	struct ctl_linebuf lb;
	bool eof, reaped, started, done; /* reaped: the child reaped, or the thread joined */
	int status;			 /* the child's wait status */
	int error;			 /* -errno of a failed pull */
	char *error_msg;
	char *digest; /* from the child */
	char *canonical;
	struct image_progress progress;
	uint64_t started_ns, stopped_ns;
};

struct shim_ctr {
	struct shim *s;
	const struct taskdef_container *def;
	struct shim_image *image;
	enum tmds_status status;
	/* started: its start was decided (status RUNNING); start_pending: runc start not done yet,
	 * waiting for the agent to have published that status (ack_seq) */
	bool created, started, exited, skipped, signalled, start_pending;
	bool prepared;	       /* its root file system and bundle (ctr_prepare()) */
	char *prepared_digest; /* of the image it was prepared with */
	bool discarding;       /* created ahead with another image: killed, to be reaped */
	/* created ahead: its runc create running (ctr_create_spawn()), to be reaped; its bound */
	pid_t create_pid;
	int create_timer;
	bool create_timed_out;
	/* its bundle watched for runc's pid file (runc_create_watch()): fd and source, or -1, 0 */
	int create_watch_fd, create_watch;
	/* created (its pid file written) while its runc create was still exiting: reaped later */
	pid_t create_exiting;
	uint64_t create_usec;
	/* created, not yet launched: the read ends of its stdout and stderr, or -1 */
	int out_fd, err_fd;
	uint64_t ack_seq;
	pid_t pid;
	int exit_code;
	bool has_exit_code;
	uint64_t created_ns, started_ns, finished_ns;
	char *reason;
	char *rootfs;
	char *bundle;
	int stop_signal;
	int kill_timer;
	struct logship_config *ship_cfg;
	struct sockaddr_storage ship_addr;
	socklen_t ship_addr_len;
	struct logfile *file;
	struct logship *ship;
	struct logship_source *src;
	bool logs_done; /* nothing more to read or to ship (or no logs at all) */
	/* a task VM's container: its cgroup in the guest, as the guest last said (STATS) */
	bool has_guest_stats;
	uint64_t guest_cpu_usec, guest_memory, guest_memory_peak;
};

struct shim {
	struct shim_config cfg;
	const char *dir;
	struct taskdef *def;
	const struct platform *platform;
	struct event_loop *loop;
	struct ctl_server *ctl;
	enum shim_state state;
	struct shim_ctr ctrs[TASKDEF_MAX_CONTAINERS];
	size_t n_ctrs;
	struct shim_image images[TASKDEF_MAX_CONTAINERS];
	size_t n_images;
	struct storage *storage;
	char *spare_volume_dir; /* where the spare made storage ahead (spare_premake()) */
	bool storage_done;
	bool etc_done;	 /* etc_files() written */
	bool ahead_done; /* create_ahead() ran: the containers were created ahead of the network */
	/* the containers' secrets: fetched once the network is there, kept in memory (zeroed when
	 * freed) until the containers' configurations are written */
	struct secrets *secrets;
	bool secrets_done;
	struct creds exec_creds; /* the execution role's, from the agent's "network" */
	/* Container Insights: the shipper of the agent's events, made at the first one */
	struct logship_config *insights_cfg;
	struct logship *insights;
	bool insights_draining, insights_done;
	char *volume_paths[TASKDEF_MAX_VOLUMES + 1];
	struct runc_opts runc;
	bool cpu_limited; /* the task's cgroup has its CPU limit (task_cpu_limit()) */
	struct cgroup_roots cgroup_roots; /* the host's cgroup mounts, found at the start ... */
	int cgroup_roots_r;		  /* ... or why not (cgroup_roots_detect()'s) */
	char runc_link[PATH_MAX]; /* RUN_DIR/bin/runc: runc's sealed copy (runc.copy_fd), if any */
	char runc_root[PATH_MAX], mnt_dir[PATH_MAX], log_dir[PATH_MAX], etc_dir[PATH_MAX],
		bundles_dir[PATH_MAX];
	char *resolv_conf, *hosts, *hostname_file;
	uint64_t pull_started_ns, pull_stopped_ns;
	struct storage_usage usage;
	bool has_usage;
	char *storage_devices;
	bool stopping;
	char *stop_code;
	char *stop_reason;
	uint64_t stop_ns;
	int usage_timer;
	int final_timer;
	int ack_timer;
	uint64_t seq; /* of the status events */
	/* when the shim began, its storage was ready, the task was prepared (for breakdowns) */
	uint64_t began_ns, storage_ns, network_ns, prepared_ns;
	bool torn_down;
	int rc;
	/* the platform ENI's namespace (cfg.platform_netns), -1: none */
	int platform_nsfd;
	/* isolation vm (cfg.vm_kernel): the containers run in a task VM (shim-vm.h); NULL: runc */
	struct shim_vm *vm;
};

/* Write status.json and tell the subscribers (at every change). */
void shim_emit_status(struct shim *s);
/* Stop the task (the first stop's code and reason are kept). */
void shim_task_stop(struct shim *s, const char *code, const char *fmt, ...) _printf_(3, 4);
/* Stopping and nothing left running: drain, tear down, report, exit the loop. */
void shim_check_done(struct shim *s);
/* Container c exited with a wait status: its status, exit code, the essential rule. */
void shim_ctr_exited(struct shim *s, struct shim_ctr *c, int status);
/* Start every container whose dependencies are met (state RUNNING). */
void shim_launch_ready(struct shim *s);
/* Its reason (the first one is kept). */
void shim_ctr_set_reason(struct shim_ctr *c, const char *fmt, ...) _printf_(2, 3);

#endif
