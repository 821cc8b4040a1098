/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A task's secrets (container definitions' "secrets": [{name, valueFrom}], docs/secrets.md),
 * fetched before its containers start, over the task's secrets flow: AWS Secrets Manager
 * (GetSecretValue) and SSM Parameter Store (GetParameters, WithDecryption), JSON 1.1 over HTTP(S)
 * on libcurl, signed with SigV4 (sigv4.h) by the task's execution role. Every socket, the name
 * lookups' included, is made in a given network namespace with the flow's mark (flowsock.h).
 *
 * valueFrom is parsed as ECS does: a Secrets Manager secret's full ARN, optionally followed by
 * :json-key:version-stage:version-id; an SSM parameter's ARN, or its name (in the task's region).
 * Values are kept in memory only, zeroed when freed; nothing is written to disk here.
 *
 * Blocking (a fetch runs to its deadline). Errors name the secret and the reason:
 *   secret 'DB_PASS' (arn:aws:secretsmanager:...): ResourceNotFoundException: ...
 * -EINVAL a malformed definition or a refused one, -ENOENT a secret or key that does not exist,
 * -EACCES refused by the service (signature, permissions), -ETIMEDOUT, -ECONNREFUSED... for the
 * network, -EPROTO an answer that cannot be understood.
 */
#ifndef TP_SECRETS_H
#define TP_SECRETS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct creds;
struct platform;
struct secrets;

#define SECRETS_MAX	       1024 /* per container */
#define SECRETS_SSM_BATCH      10   /* names per GetParameters (the API's limit) */
#define SECRETS_MAX_VALUE      (64 * 1024)
#define SECRETS_MAX_RESPONSE   (1024 * 1024)
#define SECRETS_VALUE_FROM_MAX 2048

enum secret_source {
	SECRET_SOURCE_SECRETS_MANAGER,
	SECRET_SOURCE_SSM,
};

/* One secret of one container. */
struct secret {
	char *container;  /* the container definition's name */
	char *name;	  /* the environment variable */
	char *value_from; /* as given */
	enum secret_source source;
	char *partition; /* "aws", "aws-cn", ...: of the ARN, or NULL for an SSM name */
	char *region;	 /* of the ARN; NULL: the task's */
	char *id; /* what is asked for: SecretId (the ARN without the key, stage and id), or the
			  * parameter's name or ARN */
	char *json_key;	     /* Secrets Manager: the key of a JSON secret, or NULL */
	char *version_stage; /* or NULL */
	char *version_id;    /* or NULL */
	char *value;	     /* after secrets_fetch() */
	size_t value_len;
};

struct secrets_opts {
	int netns_fd;			/* network namespace of every socket; -1: the caller's */
	uint32_t mark;			/* SO_MARK: TC_MARK(slot, TC_FLOW_SECRETS); 0: none */
	const char *const *nameservers; /* NULL: getaddrinfo() in netns_fd */
	const char *region;		/* the task's: names' region and default signing region */
	/* Endpoints, "https://host[:port]" or "http://..."; NULL: the AWS ones of the region
	 * (https://secretsmanager.REGION.amazonaws.com, https://ssm.REGION.amazonaws.com). */
	const char *secretsmanager_endpoint;
	const char *ssm_endpoint;
	const char *ca_file;		 /* PEM bundle for HTTPS; NULL: the system's */
	const struct creds *creds;	 /* the execution role's (creds.h) */
	unsigned int connect_timeout_ms; /* 0: 10 s */
	unsigned int timeout_ms;	 /* the whole fetch; 0: 60 s */
};

/*
 * The secrets of a task definition (every container's), checked with ECS's rules: names of
 * environment variables, not twice in a container, valueFrom a Secrets Manager ARN or an SSM
 * parameter, an executionRoleArn to fetch them with. A task without secrets gives an empty set.
 */
int secrets_parse(json_t *task_definition, struct secrets **ret, char **ret_error);
/* Refuse what the platform revision does not offer (secrets, JSON keys and versions). */
int secrets_check_platform(const struct secrets *s, const struct platform *p, char **ret_error);
/* Fetch every value (each id once). On failure the values fetched stay unset. */
int secrets_fetch(struct secrets *s, const struct secrets_opts *o, char **ret_error);
/* How many secrets; the i-th (in definition order), or NULL. */
size_t secrets_count(const struct secrets *s);
const struct secret *secrets_get(const struct secrets *s, size_t i);
/* The secret the last fetch failed on (its request, or the credentials checked before any), or
 * NULL: what says which service refused (ECS names it in its stop reason). */
const struct secret *secrets_failed(const struct secrets *s);
/* HTTP bytes of the last fetch (requests sent, answers received, headers included). */
void secrets_bytes(const struct secrets *s, uint64_t *ret_sent, uint64_t *ret_received);
/* Free, values zeroed first; returns NULL. */
struct secrets *secrets_free(struct secrets *s);

/* --- the parts, for tests and fuzzing ------------------------------------------------------ */

/* Parse one valueFrom into ret's source, partition, region, id, json_key, version_*. */
int secret_value_from_parse(const char *value_from, struct secret *ret, char **ret_error);
/* Free the members of a secret (value zeroed). */
void secret_done(struct secret *s);
/* The value of s from a GetSecretValue answer (its JSON key, if s has one): *ret (NUL-terminated,
 * *ret_len bytes). */
int secret_from_get_secret_value(const struct secret *s, const char *body, size_t len, char **ret,
				 size_t *ret_len, char **ret_error);
/* The values of batch (n secrets of one region) from a GetParameters answer. */
int secrets_from_get_parameters(struct secret *const *batch, size_t n, const char *body, size_t len,
				char **ret_error);
/* An AWS JSON error answer: its code (from x-amzn-ErrorType or __type, without the namespace
 * before '#' or after ':') and message. */
int secrets_error_parse(const char *error_type_header, const char *body, size_t len,
			char **ret_code, char **ret_message);

static inline void secrets_freep(struct secrets **s)
{
	secrets_free(*s);
}
#define _cleanup_secrets_ _cleanup_(secrets_freep)

#endif
