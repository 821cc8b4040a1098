/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The OCI runtime configuration (config.json, runtime-spec 1.0) of one container of a task, from
 * its task definition, its image's config and the task's platform version: Docker's rules for the
 * command line, environment, working directory and user; Fargate's capabilities, nofile limit and
 * cpu/memory; the task's network namespace and cgroup; its volumes. docs/runtime.md lists the
 * rules. Pure but oci_user_resolve() (reads the root file system) and oci_bundle_write().
 */
#ifndef TP_OCI_H
#define TP_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct platform;
struct taskdef;
struct taskdef_container;

#define OCI_MAX_GROUPS 64

/* The process's credentials, as runc takes them (numbers). */
struct oci_user {
	uint32_t uid;
	uint32_t gid;
	uint32_t additional_gids[OCI_MAX_GROUPS];
	unsigned int n_additional_gids;
};

struct oci_spec_opts {
	const struct platform *platform;
	const struct taskdef *def;
	const struct taskdef_container *container; /* one of def's */
	/* the image config's "config" object (Entrypoint, Cmd, Env, WorkingDir, User), or NULL */
	json_t *image_config;
	const struct oci_user *user; /* from oci_user_resolve() */
	const char *rootfs;	     /* absolute path of the mounted root file system */
	const char *hostname;	     /* the task's, or NULL */
	const char *netns_path;	     /* the task's network namespace; NULL = a new empty one */
	const char *cgroups_path;    /* absolute in the hierarchy: "/taskvm/<task>/<container>" */
	/* the host directory of each task volume, indexed like def->volumes */
	const char *const *volume_paths;
	/* files of the task bind-mounted read-only at /etc/resolv.conf, hosts, hostname, or NULL */
	const char *resolv_conf;
	const char *hosts;
	const char *hostname_file;
	/* "NAME=value" set after the task definition's environment (the agent's), NULL-terminated */
	const char *const *env;
};

/*
 * The command line by Docker's rules: the task definition's entryPoint and command, falling back
 * to the image's Entrypoint and Cmd (docs/runtime.md has the table). *ret_argv is
 * NULL-terminated. -EINVAL if there is nothing to run.
 */
int oci_args(const struct taskdef_container *c, json_t *image_config, char ***ret_argv,
	     char **ret_error);
/* The user to run as: the task definition's, else the image's, else NULL (root). */
const char *oci_user_spec(const struct taskdef_container *c, json_t *image_config);
/*
 * Resolve a user spec (NULL = root) as Docker does, against the contents of an /etc/passwd and an
 * /etc/group (either may be NULL: empty). "name" and "uid" take the primary group from passwd and
 * the supplementary groups that list the name; "x:group" sets the primary group only. A uid or gid
 * not in the files is used as it is; an unknown name is an error.
 */
int oci_user_parse(const char *spec, const char *passwd, const char *group, struct oci_user *ret,
		   char **ret_error);
/* The same, reading etc/passwd and etc/group of rootfs without leaving it (symlinks included). */
int oci_user_resolve(const char *spec, const char *rootfs, struct oci_user *ret, char **ret_error);

/* The runtime configuration. On failure -EINVAL (or -ENOMEM) and *ret_error says why. */
int oci_spec_build(const struct oci_spec_opts *o, json_t **ret, char **ret_error);
/* Write spec as bundle_dir/config.json (atomically; the directory is created, 0700). */
int oci_bundle_write(const char *bundle_dir, json_t *spec, char **ret_error);

#endif
