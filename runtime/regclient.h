/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A client of one repository of an OCI distribution (Docker registry v2) API, on libcurl:
 * manifests and blobs, each checked against its sha256 digest (and a blob against its size),
 * Bearer-token auth (the WWW-Authenticate challenge, then a token request to the realm) and
 * Basic auth. Every socket, name lookups included, is created in a given network namespace and
 * carries a given SO_MARK: one for the registry's traffic (pull), one for token requests (auth).
 * Names are resolved with given nameservers (dns.h) or getaddrinfo() in that namespace, then
 * pinned for libcurl (CURLOPT_RESOLVE); redirects are followed here, at most 5, and credentials
 * go to the registry's own host:port and to the token realm only. Proxies from the
 * environment are ignored.
 *
 * Blocking. One client is used by one thread at a time; different clients are independent.
 * Errors are -errno with *ret_error saying what happened:
 *   -ENOENT unknown repository, tag, manifest or blob     -EACCES authentication failed
 *   -EBADMSG digest or size mismatch                       -ETIMEDOUT connect, stall or deadline
 *   -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH as connect(2) says
 *   -ECANCELED cancelled (cancel_fd or the progress callback)
 *   -EFBIG larger than allowed     -EPROTO bad HTTP, TLS or auth exchange     -EIO other errors
 */
#ifndef TP_REGCLIENT_H
#define TP_REGCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct regclient;

struct regclient_opts {
	const char *host;	/* host[:port] of the registry API, e.g. "registry.vpc.test:5000" */
	const char *repository; /* e.g. "library/busybox" */
	bool insecure;		/* plain HTTP (and an http:// token realm) instead of HTTPS */
	const char *username;	/* NULL: anonymous */
	const char *password;
	const char *ca_file;		 /* PEM bundle for HTTPS; NULL: the system's */
	int netns_fd;			 /* network namespace of every socket; -1: the caller's */
	uint32_t pull_mark;		 /* SO_MARK of the registry's sockets; 0: none */
	uint32_t auth_mark;		 /* SO_MARK of the token requests' sockets; 0: none */
	const char *const *nameservers;	 /* NULL: getaddrinfo() (in netns_fd) */
	unsigned int connect_timeout_ms; /* 0: 10 s */
	unsigned int stall_timeout_ms;	 /* fail a transfer without a byte for this long; 0: 30 s */
	uint64_t deadline_usec; /* CLOCK_MONOTONIC end of everything (now_usec()); 0: none */
	int cancel_fd;		/* cancel when it is readable; -1: none */
	/* Called as blob bytes arrive (the count since the last call); non-zero cancels. */
	int (*progress)(void *userdata, uint64_t bytes);
	void *userdata;
};

/* A manifest as received. */
struct regclient_manifest {
	char *body;
	size_t len;
	char *content_type; /* or NULL */
	char *digest;	    /* "sha256:..." of body, computed here */
};

enum regclient_auth_scheme {
	REGCLIENT_AUTH_BASIC,
	REGCLIENT_AUTH_BEARER,
};

/* One WWW-Authenticate challenge. */
struct regclient_challenge {
	enum regclient_auth_scheme scheme;
	char *realm;   /* Bearer: the token server's URL; Basic: the realm's name (may be NULL) */
	char *service; /* or NULL */
	char *scope;   /* or NULL */
};

/* A client; the strings of opts must outlive it. NULL with errno set on failure. */
struct regclient *regclient_new(const struct regclient_opts *opts);
/* Free the client; returns NULL. */
struct regclient *regclient_free(struct regclient *c);
/*
 * GET /v2/REPOSITORY/manifests/REFERENCE (a tag or a digest), at most max bytes. With a digest
 * reference, the body must hash to it; with a tag, it must agree with Docker-Content-Digest
 * when the registry sends one.
 */
int regclient_get_manifest(struct regclient *c, const char *reference, size_t max,
			   struct regclient_manifest *ret, char **ret_error);
/* Free the members. */
void regclient_manifest_done(struct regclient_manifest *m);
/* GET /v2/REPOSITORY/blobs/DIGEST into fd (appending); exactly size bytes hashing to digest. */
int regclient_get_blob_fd(struct regclient *c, const char *digest, int64_t size, int fd,
			  char **ret_error);
/* The same into memory (*ret_buf, size bytes plus a NUL). */
int regclient_get_blob_mem(struct regclient *c, const char *digest, int64_t size, char **ret_buf,
			   char **ret_error);
/* Bytes of response bodies received so far (manifests, blobs, tokens, errors). */
uint64_t regclient_bytes_received(const struct regclient *c);

/* Parse one WWW-Authenticate value (its first challenge). -EPROTONOSUPPORT: another scheme. */
int regclient_challenge_parse(const char *value, struct regclient_challenge *ret);
/* Free the members. */
void regclient_challenge_done(struct regclient_challenge *ch);
/* The token of a token server's JSON answer ("token", else "access_token"). */
int regclient_token_parse(const char *buf, size_t len, char **ret_token, char **ret_error);
/* The registry's error body {"errors":[{"code","message"}]} as "CODE: message; ...". */
int regclient_errors_parse(const char *buf, size_t len, char **ret_text);

#endif
