/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fargate platform versions: what a task gets on each (which ENI each platform flow leaves
 * through, storage layout and sizes, capabilities that may be added, task sizes, the nofile limit,
 * secrets, the metadata's shape, Container Insights), looked up in one table, and the check of a
 * task definition against one version before anything of the task is created.
 *
 * The table is data: one manifest per version (runtime/platforms/VERSION.json, docs/platforms.md)
 * with dated revisions, each revision a full set of facts. The shipped manifests are built in and
 * are the table until platform_load_dir() replaces it with a directory's. Every struct platform
 * is one revision of one version; what the lookups return stays valid for the life of the
 * process, also after the table was replaced, so that a running task keeps the revision it
 * launched with. Lookups are not thread-safe against platform_load_dir().
 */
#ifndef TP_PLATFORM_H
#define TP_PLATFORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct taskdef;
struct taskdef_container;

/* Where make install puts the shipped manifests (PLATFORMSDIR): the default directory. */
#define PLATFORM_DEFAULT_DIR TP_PLATFORMS_DIR

enum platform_storage {
	PLATFORM_STORAGE_FLAT,	/* one volume for container layers and task volumes (1.4.0) */
	PLATFORM_STORAGE_SPLIT, /* a container-layer volume and a task-volume volume (1.3.0) */
};

/* A task size Fargate offers: cpu units and memory from min to max MiB in steps of step. */
struct platform_size {
	unsigned int cpu;
	unsigned int memory_min;
	unsigned int memory_max;
	unsigned int memory_step;
};

/* The platform flows a manifest routes (the app and metadata flows never leave the task's ENI
 * and the host, and are not routed). */
enum platform_flow {
	PLATFORM_FLOW_PULL,    /* image layers and manifests, the registry's DNS */
	PLATFORM_FLOW_AUTH,    /* registry auth (token requests) */
	PLATFORM_FLOW_SECRETS, /* Secrets Manager and SSM Parameter Store */
	PLATFORM_FLOW_LOGS,    /* log shipping */
	PLATFORM_FLOW_EFS,     /* EFS volumes (NFS) */
	PLATFORM_FLOW_COUNT,
};

/* The ENI a flow leaves through. */
enum platform_eni {
	PLATFORM_ENI_TASK,     /* the task's own ENI */
	PLATFORM_ENI_PLATFORM, /* the host's platform ENI, in a namespace the task cannot reach */
	PLATFORM_ENI_UNSUPPORTED, /* the feature is refused on this version (efs on 1.3.0) */
};

/* What the task metadata endpoint v4 shows. */
struct platform_metadata {
	bool network_stats;		/* stats: networks (eth1) */
	bool network_rate_stats;	/* stats: network_rate_stats */
	bool availability_zone;		/* task: AvailabilityZone */
	bool ephemeral_storage_metrics; /* task: EphemeralStorageMetrics */
	bool snapshotter;		/* containers: Snapshotter (optional key, default false) */
};

/* What Container Insights reports of a task. */
struct platform_insights {
	bool supported;
	bool network_metrics;		/* NetworkRxBytes, NetworkTxBytes */
	bool ephemeral_storage_metrics; /* EphemeralStorageUtilized, EphemeralStorageReserved */
};

/* Container definitions' secrets. */
struct platform_secrets {
	bool supported;
	bool json_key_and_version; /* Secrets Manager ARNs with :json-key:version-stage:version-id */
};

struct platform {
	const char *version; /* "1.4.0" */
	enum platform_storage storage;
	unsigned int storage_gib;     /* FLAT: the volume's size without ephemeralStorage */
	unsigned int storage_min_gib; /* FLAT: ephemeralStorage.sizeInGiB range; 0 = not allowed */
	unsigned int storage_max_gib;
	unsigned int layer_gib;	  /* SPLIT: the container-layer volume */
	unsigned int volumes_gib; /* SPLIT: the task-volume volume */
	uint64_t caps_default;	  /* a container's capabilities, bit n = capability n */
	uint64_t caps_addable;	  /* those linuxParameters.capabilities.add may name */
	const struct platform_size *sizes;
	unsigned int n_sizes;
	uint64_t nofile_soft; /* RLIMIT_NOFILE without ulimits */
	uint64_t nofile_hard;

	/* the revision: a task keeps the one it launched with (docs/platforms.md) */
	unsigned int revision;		  /* 1, 2, ... */
	const char *date;		  /* YYYY-MM-DD */
	const char *description;	  /* what the revision changed */
	const char *source;		  /* where the facts come from, or NULL */
	const struct platform *revisions; /* every revision of the version, oldest first */
	unsigned int n_revisions;	  /* revisions[revision - 1] is this one */
	const char *version_description;  /* the version's */
	const char *const *aliases;	  /* names that resolve to this version, NULL-terminated */
	enum platform_eni flows[PLATFORM_FLOW_COUNT];
	struct platform_secrets secrets;
	struct platform_metadata metadata;
	struct platform_insights insights;
};

/* The latest revision of the platform version of that name ("1.4.0", or an alias: "LATEST"), or
 * NULL. */
const struct platform *platform_find(const char *version);
/* The same; on failure -EINVAL and *ret_error lists the known versions. */
int platform_lookup(const char *version, const struct platform **ret, char **ret_error);
/* Revision revision (1, 2, ...) of version (or an alias); on failure -EINVAL (unknown version) or
 * -ENOENT (no such revision) and *ret_error says which exist. */
int platform_lookup_revision(const char *version, unsigned int revision,
			     const struct platform **ret, char **ret_error);
/* The latest revision of every known version, in version order, NULL-terminated. */
const struct platform *const *platform_all(void);

/*
 * Load every VERSION.json of dir (docs/platforms.md) and make it the table. On failure the table
 * is left as it was, and -EINVAL (a manifest is malformed: *ret_error names the file, the
 * revision and the key), -ENOENT (no manifest) or another -errno from reading is returned. The
 * table replaced stays allocated: platforms handed out before stay valid.
 */
int platform_load_dir(const char *dir, char **ret_error);
/* Check one manifest (name is its file name, "1.4.0.json") without loading it. */
int platform_manifest_check(const char *name, const char *text, size_t len, char **ret_error);
/* Where the table came from: the directory platform_load_dir() loaded, or "built-in". */
const char *platform_source(void);

/* The manifest's name of a flow ("pull") and of an ENI ("task", "platform", "unsupported"). */
const char *platform_flow_name(enum platform_flow f);
const char *platform_eni_name(enum platform_eni e);
/* The ENI flow f of a task on p leaves through. */
static inline enum platform_eni platform_flow_eni(const struct platform *p, enum platform_flow f)
{
	return p->flows[f];
}
/* A platform revision's facts as JSON, in the manifest's shape (with version, revision, date,
 * description, aliases); NULL on allocation failure. */
json_t *platform_to_json(const struct platform *p);

/*
 * Check a task definition against a platform version: task size, container limits against it,
 * ephemeralStorage, capabilities to add, and keys taskvm cannot launch yet. On failure -EINVAL and
 * *ret_error names the container and the rule ("SYS_PTRACE needs platform version 1.4.0 or
 * later").
 */
int platform_check_taskdef(const struct platform *p, const struct taskdef *d, char **ret_error);

/* The size of the task's ephemeral storage in GiB (all its volumes together). */
unsigned int platform_storage_gib(const struct platform *p, const struct taskdef *d);

/*
 * A container's capabilities (Fargate's rules, as the ECS API documents them): drops first, then
 * adds. Without "ALL" in drop: the defaults minus the drops; with it: nothing. Then the adds,
 * where "ALL" in add means the defaults minus the drops. Adds are not checked against the
 * platform here (platform_check_taskdef() does it).
 */
uint64_t platform_container_caps(const struct platform *p, const struct taskdef_container *c);

#endif
