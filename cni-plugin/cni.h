/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CNI side of task-eni: the environment and the network configuration (stdin), results in
 * each supported spec version, CHECK's comparison, GC's valid list, and the error object. No I/O
 * here: task-eni.c talks to netd and prints; this module turns data into data, so that the unit
 * tests (tests/unit/test-cni*.c) can cover every rule without a kernel or a daemon.
 * docs/task-eni.md is the user's reference.
 */
#ifndef TP_CNI_H
#define TP_CNI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "ctl-proto.h"
#include "ident.h"
#include "util.h"

#define CNI_MAX_INPUT	      (4 * 1024 * 1024) /* stdin: a config with its prevResult */
#define CNI_MAX_ADDRS	      16		/* as netd */
#define CNI_MAX_ROUTES	      60		/* netd's 64 less the default and IMDS routes */
#define CNI_MAX_NAME	      128		/* network name */
#define CNI_MAX_CONTAINER_ID  256		/* netd attrs values are at most 256 bytes */
#define CNI_DEFAULT_TIMEOUT   10000		/* ms to wait for the ENI to appear */
#define CNI_MAX_TIMEOUT	      600000
#define CNI_TASK_ID_PREFIX    "cni"
#define CNI_ATTR_NETWORK      "cni.network"
#define CNI_ATTR_CONTAINER_ID "cni.container_id"
#define CNI_ATTR_IFNAME	      "cni.ifname"

enum cni_command {
	CNI_COMMAND_ADD,
	CNI_COMMAND_DEL,
	CNI_COMMAND_CHECK,
	CNI_COMMAND_STATUS,
	CNI_COMMAND_GC,
	CNI_COMMAND_VERSION,
};

/* The spec versions task-eni speaks, oldest first; results are converted to the input's. */
enum cni_version {
	CNI_VERSION_0_4_0,
	CNI_VERSION_1_0_0,
	CNI_VERSION_1_1_0,
};

/* The error codes task-eni returns (spec §Error: 1-99 are the spec's, 100+ the plugin's). */
enum cni_error_code {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_LIMITED_CONNECTIVITY = 51,
	CNI_ERR_NETD = 100,   /* netd refused or failed the request for another reason */
	CNI_ERR_EXISTS = 101, /* the interface or the attachment already exists */
	CNI_ERR_CHECK = 102,  /* CHECK found a difference */
};

/* An error on its way to the runtime: {code, msg, details}. */
struct cni_error {
	int code; /* 0: no error */
	char msg[1024];
	char details[1024];
};

/* The CNI_* environment of one call. Strings point into the environment, or into args_buf. */
struct cni_env {
	enum cni_command command;
	const char *container_id; /* NULL when unset or empty */
	const char *netns;
	const char *ifname;
	const char *path;
	const char *args;   /* CNI_ARGS as given */
	const char *arg_ip; /* CNI_ARGS IP=..., comma-separated CIDRs */
	const char *arg_mac;
	char *args_buf; /* owned copy of CNI_ARGS, split in place */
};

/* The network configuration of one call, validated. Pointers point into root. */
struct cni_config {
	json_t *root;		 /* the whole input (owned) */
	const char *version_str; /* cniVersion as given, NULL if absent or not a string */
	enum cni_version version;
	const char *name;
	const char *type;
	bool has_mac;
	uint8_t mac[ADDR_MAC_LEN];
	const char *mac_from; /* the key that gave the MAC, for messages */
	struct in_prefix addrs[CNI_MAX_ADDRS];
	unsigned int naddrs;
	const char *addrs_from;
	struct in_prefix gateways[2]; /* at most one per family */
	unsigned int ngateways;
	uint32_t mtu;	/* 0: netd's default */
	json_t *routes; /* owned array in netd's form, or NULL */
	json_t *dns;	/* owned object in netd's form, or NULL */
	bool block_imds;
	bool metadata_link;
	const char *socket;
	uint32_t timeout_ms;
	const char *log_file;
	int log_level;		   /* -1: not set */
	json_t *prev_result;	   /* owned, in the 1.1.0 form, or NULL */
	json_t *valid_attachments; /* owned array of {containerID, ifname}, or NULL when absent */
	char ignored[1024];	   /* DEL and GC: the first error in a key they do not use */
};

/* "ADD" -> CNI_COMMAND_ADD; -EINVAL if unknown. */
int cni_command_from_string(const char *s);
/* CNI_COMMAND_ADD -> "ADD". */
const char *cni_command_to_string(enum cni_command c);
/* "1.0.0" -> CNI_VERSION_1_0_0; -EPROTONOSUPPORT if not one of ours. */
int cni_version_from_string(const char *s);
/* CNI_VERSION_1_0_0 -> "1.0.0". */
const char *cni_version_to_string(enum cni_version v);

/* Fill e (code, message, optional details); returns -EINVAL so that callers can return it. */
int cni_error_set(struct cni_error *e, int code, const char *details, const char *fmt, ...)
	_printf_(4, 5);
/* The spec's error object {cniVersion, code, msg, details}; version NULL gives "1.1.0". */
json_t *cni_error_to_json(const struct cni_error *e, const char *version);
/*
 * Turn a failed netd call into a CNI error: r is ctl_client_call's result (-EPROTO for an error
 * reply described by ce, another -errno when netd could not be reached or did not answer).
 * what says what was asked ("attach", "detach"...): netd's invalid-parameter and not-found
 * errors are configuration errors (7) for an attach only. socket is where netd was looked for.
 */
int cni_error_from_netd(int r, const struct ctl_error *ce, const char *what, const char *socket,
			struct cni_error *e);

/* Read the CNI_* variables from envp (NULL-terminated "K=V" strings, as environ). */
int cni_env_parse(char *const *envp, struct cni_env *ret, struct cni_error *e);
/* Free what the env owns. */
void cni_env_done(struct cni_env *env);

/*
 * Parse and validate the configuration on stdin for env->command. ADD, CHECK and STATUS are
 * strict; DEL and GC ignore (and record in ->ignored) errors in keys they do not use, so that a
 * config that broke ADD does not also block the cleanup. ret must be cni_config_done()'d, also
 * on failure (its version_str names the version for the error object).
 */
int cni_config_parse(const char *buf, size_t len, const struct cni_env *env, struct cni_config *ret,
		     struct cni_error *e);
/* Free what the config owns. */
void cni_config_done(struct cni_config *c);

/*
 * The netd task id of an attachment: "cni.NET.CID12.HASH" with NET and CID12 shortened
 * readable parts and HASH the first 128 bits of SHA-256 over the three values, so that ids are
 * valid netd task ids, unique per (network, container, interface), and the same on every call.
 */
int cni_task_id(const char *network, const char *container_id, const char *ifname, char *buf,
		size_t size);
/* The attrs recorded with the task: {cni.network, cni.container_id, cni.ifname}. */
json_t *cni_task_attrs(const char *network, const char *container_id, const char *ifname);
/* The parameters of netd's task.attach for this ADD. */
json_t *cni_attach_params(const struct cni_config *c, const struct cni_env *env,
			  const char *task_id);

/* Validate a result in version from and return it in the 1.1.0 form (owned). */
int cni_result_canonical(json_t *result, enum cni_version from, json_t **ret, struct cni_error *e);
/* Convert a result in the 1.1.0 form to version to: only that version's fields (new object). */
json_t *cni_result_convert(json_t *canonical, enum cni_version to);
/*
 * ADD's result: prevResult (if any) with the task's interface, addresses, routes and DNS added,
 * in the config's version. task is netd's task object. Its metadata link (md0) and the IMDS
 * block (a reject rule of netd's guards) are not in the result (docs/task-eni.md says why).
 */
int cni_result_build(const struct cni_config *c, json_t *task, json_t **ret, struct cni_error *e);

/*
 * CHECK: compare the config and environment, prevResult, netd's record (task.show) and netd's
 * comparison with the kernel (task.check's result). ret gets an array of strings, one per
 * difference; empty when everything agrees. What a later plugin may change is not counted: a
 * route the final result no longer lists, the link's MTU (docs/task-eni.md, "CHECK").
 */
int cni_check_compare(const struct cni_config *c, const struct cni_env *env, json_t *task,
		      json_t *netd_check, json_t **ret);

/*
 * ADD of an attachment netd holds already (task.attach answered "exists"; task is task.show's
 * object): ret gets the differences between what this ADD asks for and netd's record, as
 * strings; none means the same attachment (same CNI_NETNS, MAC, addresses, and every key the
 * configuration sets: mtu, blockInstanceMetadata, metadataLink, routes, dns), which a retried
 * ADD may be answered with.
 */
int cni_add_compare(const struct cni_config *c, const struct cni_env *env, json_t *task,
		    json_t **ret);

/* GC: is (container_id, ifname) in cni.dev/valid-attachments or cni.dev/attachments? */
bool cni_gc_attachment_valid(const struct cni_config *c, const char *container_id,
			     const char *ifname);

/* VERSION's answer {cniVersion, supportedVersions}. */
json_t *cni_version_info(const char *input_version);

static inline void cni_env_donep(struct cni_env *e)
{
	cni_env_done(e);
}
#define _cleanup_cni_env_ _cleanup_(cni_env_donep)

static inline void cni_config_donep(struct cni_config *c)
{
	cni_config_done(c);
}
#define _cleanup_cni_config_ _cleanup_(cni_config_donep)

#endif
