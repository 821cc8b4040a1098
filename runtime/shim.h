/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * taskvm shim: the data plane of one task, `taskvm shim --dir RUNDIR`, exec'd by the agent in a
 * session of its own. It enters the task's network namespace (so that every socket it opens is
 * the task's), becomes the child subreaper of its containers, and on one event loop: pulls the
 * images (image.h, in a child process per image), creates the task's storage (storage.h), writes
 * the bundles (oci.h), and, once the agent says `start` (netd's phase is READY then), creates
 * and starts the containers with runc in dependsOn order, their stdout and stderr going to the
 * log files and the shippers (logship.h). It reaps the containers, applies the essential rule,
 * stops the task (the image's StopSignal or SIGTERM, SIGKILL after stopTimeout, in reverse
 * dependency order), drains the logs, tears its storage and runc state down and exits. It
 * survives a restart of the agent; docs/runtime.md describes the launch as a whole.
 *
 * The agent talks to it on RUNDIR/shim.sock (the control protocol of docs/PROTOCOL.md):
 *   status                 the status object (below)
 *   events.subscribe       the same, then notifications "event": {"type": "status", "status":
 *                          {...}} at every change, {"type": "progress", ...} during pulls
 *   network {slot, ...}    the task's network, once netd has attached its ENI (the shim
 *                          starts before, to make its storage meanwhile; it pulls after)
 *   start                  start the containers (in state READY)
 *   stop {code, reason}    stop the task (any state); the first stop's reason is kept
 * The status is also written to RUNDIR/status.json at every change, the last one (state
 * STOPPED) before the shim exits, so that an agent that was not listening finds it.
 *
 * RUNDIR holds: shim.json (the configuration, written by the agent), shim.sock, status.json,
 * shim.log (its stderr), logs/<container>.log, bundles/<container>/, runc/ (runc --root),
 * mnt/ (storage mounts), etc/ (resolv.conf, hosts, hostname of the containers).
 */
#ifndef TP_SHIM_H
#define TP_SHIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SHIM_CONFIG_FILE "shim.json"
#define SHIM_SOCKET_FILE "shim.sock"
#define SHIM_STATUS_FILE "status.json"
#define SHIM_LOG_FILE	 "shim.log"
#define SHIM_LOG_DIR	 "logs"
/*
 * A spare shim's (--spare) file, from the agent, gone once a task takes it: {"volume_dir",
 * "platform_version", "platform_revision", "platforms_dir"}: the volumes it makes ahead there
 * (storage_premake()) for a task of that platform revision.
 */
#define SHIM_SPARE_FILE	    "spare"
#define SHIM_CONFIG_VERSION 1
#define SHIM_MAX_LIST	    8 /* nameservers, search domains, insecure registries */

/* Where the task is, as the status says it ("state"). */
enum shim_state {
	SHIM_STATE_PREPARING, /* pulling images, creating storage, writing bundles */
	SHIM_STATE_READY,     /* prepared: waits for start */
	SHIM_STATE_RUNNING,   /* containers started (some may have exited) */
	SHIM_STATE_STOPPING,  /* containers being stopped, logs drained, storage torn down */
	SHIM_STATE_STOPPED,   /* done: the shim exits */
};

/* When an image is taken from the store rather than the registry: ECS_IMAGE_PULL_BEHAVIOR. */
enum shim_pull_behavior {
	SHIM_PULL_DEFAULT,	 /* pull; if the pull fails, the store's copy if there is one */
	SHIM_PULL_ALWAYS,	 /* pull; a failure fails the task */
	SHIM_PULL_ONCE,		 /* the store's copy if there is one, else pull */
	SHIM_PULL_PREFER_CACHED, /* the same (the store is the host's: "once" is per host) */
	_SHIM_PULL_MAX,
};

/* What the agent tells the shim (RUNDIR/shim.json). */
struct shim_config {
	char *task_id;			/* netd's task id (the ECS task id) */
	char *platform_version;		/* "1.4.0" */
	unsigned int platform_revision; /* pinned at launch (0: the version's latest) */
	char *platforms_dir;		/* the agent's platform manifests (NULL: built-in) */
	char *region;			/* the task's (secrets' names, signing) */
	char *secretsmanager_endpoint;	/* NULL: the region's AWS endpoints */
	char *ssm_endpoint;
	unsigned int secrets_timeout_sec; /* the bound of the secrets' fetch; 0: 60 */
	/* Container Insights: where the agent's events go (the task's logs flow), or NULL */
	char *insights_endpoint; /* tcp://IP[:PORT] */
	char *insights_group;	 /* /aws/ecs/containerinsights/CLUSTER/performance */
	json_t *task_definition;
	char *netns; /* the task's network namespace (a file) */
	/* the host's platform ENI, for the flows the platform version sends through it (1.3.0):
	 * its namespace (a file; NULL: none) and the resolvers of those flows' names */
	char *platform_netns;
	char *platform_nameservers[SHIM_MAX_LIST + 1]; /* NULL-terminated */
	/*
	 * the network: in the file, or later from the agent (method "network"); its members but
	 * the slot may come ahead of it in the file ("ahead", has_ahead): the containers are
	 * created with them while netd attaches the ENI
	 */
	bool has_network;
	bool has_ahead;
	unsigned int slot; /* netd's slot: the socket marks */
	char *address;	   /* the task ENI's IPv4 address (HOSTNAME of log messages) */
	char *hostname;	   /* the containers' hostname */
	char *nameservers[SHIM_MAX_LIST + 1]; /* NULL-terminated */
	char *search[SHIM_MAX_LIST + 1];
	char *image_store;
	char *insecure_registries[SHIM_MAX_LIST + 1];
	char *volume_dir; /* the task's volume images (storage.h state_dir) */
	char *cgroup;	  /* the task's cgroup (relative, e.g. "taskvm/<id>") */
	/* isolation vm: the task's containers run in a VM (docs/vm.md) booted from these; NULL:
	 * runc. qemu NULL: qemu-system-x86_64 from PATH */
	char *vm_kernel;
	char *vm_initrd;
	char *vm_qemu;
	json_t *env; /* {container name: {NAME: value}}: set after the task definition's */
	unsigned int pull_timeout_sec; /* per image; 0: none */
	enum shim_pull_behavior pull_behavior;
	unsigned int usage_interval_sec; /* storage usage sampling; 0: 10 */
	unsigned int drain_timeout_sec;	 /* log shippers at the end; 0: 10 */
	uint64_t log_max_size;		 /* per container log file; 0: the default */
};

/* "PREPARING", ... */
const char *shim_state_to_string(enum shim_state s);
/* The reverse; -EINVAL for another name. */
int shim_state_from_string(const char *s, enum shim_state *ret);

/* Parse a configuration (pure). -EINVAL with *ret_error for a bad one. */
int shim_config_parse(json_t *j, struct shim_config *ret, char **ret_error);
/*
 * Take the network part (the "network" method's parameters: {slot, address, hostname,
 * nameservers, search, env}) into a configuration that has none. -EINVAL with *ret_error for a
 * bad one, -EEXIST if it has one.
 */
int shim_network_parse(json_t *j, struct shim_config *c, char **ret_error);
/* Release a configuration's contents. */
void shim_config_done(struct shim_config *c);
/* The configuration as JSON (for the agent to write). */
json_t *shim_config_to_json(const struct shim_config *c);

/* A signal by name as an image's StopSignal gives it ("SIGTERM", "TERM", "15"); -EINVAL. */
int shim_signal_parse(const char *s);
/* "default", "always", "once", "prefer-cached" (ECS's values), and back; -EINVAL for another. */
const char *shim_pull_behavior_to_string(enum shim_pull_behavior b);
int shim_pull_behavior_from_string(const char *s, enum shim_pull_behavior *ret);

/* `taskvm shim --dir RUNDIR`: run one task. Returns an exit status. */
int shim_main(int argc, char **argv);

#endif
