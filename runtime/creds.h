/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Task role credentials. A provider answers "the current credentials of role ARN X"; the agent
 * asks it when it builds a task's credentials response, and the provider tells the agent when a
 * role's credentials changed. The provider built now reads <dir>/<role-name>.json, a file the
 * operator keeps current ({AccessKeyId, SecretAccessKey, Token, Expiration}), and watches the
 * directory with inotify. Single-threaded: the agent's event loop calls it.
 */
#ifndef TP_CREDS_H
#define TP_CREDS_H

#include <stddef.h>

#include "util.h"

struct event_loop;
struct creds_provider;

#define CREDS_MAX_FILE	    (64 * 1024)
#define CREDS_ROLE_NAME_MAX 64

/* One role's credentials, as served. */
struct creds {
	char *access_key_id;
	char *secret_access_key;
	char *token;
	char *expiration; /* RFC 3339, UTC ("Z"): what the AWS SDKs parse */
	int64_t expiration_sec;
};

/* Called when the credentials of role_name may have changed. */
typedef void (*creds_changed_fn)(const char *role_name, void *data);

struct creds_provider_ops {
	const char *name;
	/*
	 * The role's current credentials, copied into *ret (free with creds_done()). -ENOENT when
	 * there are none (yet), -EINVAL when what there is cannot be served.
	 */
	int (*get)(struct creds_provider *p, const char *role_arn, struct creds *ret);
	/* A line for `taskvm inspect`: where the role's credentials come from, and their state. */
	int (*describe)(struct creds_provider *p, const char *role_arn, char **ret);
	void (*free)(struct creds_provider *p);
};

struct creds_provider {
	const struct creds_provider_ops *ops;
	creds_changed_fn changed;
	void *changed_data;
};

/* The file provider on dir (watched in loop); changed is called for every file event. */
int creds_file_provider_new(struct event_loop *loop, const char *dir, creds_changed_fn changed,
			    void *data, struct creds_provider **ret);

/* Free a provider; returns NULL. */
struct creds_provider *creds_provider_free(struct creds_provider *p);
/* Free the contents of c. */
void creds_done(struct creds *c);
/* The same, the secret key and the token zeroed first (a copy held for one use). */
void creds_erase(struct creds *c);
/*
 * Parse a credentials file. Expiration must be RFC 3339; one with an offset is rewritten in UTC.
 * -EINVAL with *ret_error set on failure.
 */
int creds_parse(const char *buf, size_t len, struct creds *ret, char **ret_error);
/* The role name of an IAM role ARN (its last path component), checked to be a safe file name. */
int creds_role_name(const char *role_arn, char *buf, size_t size);

#endif
