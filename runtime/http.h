/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metadata endpoint's HTTP side, on libmicrohttpd: the task listener (169.254.170.2:80,
 * bound with IP_FREEBIND so that the address need not exist yet), where a request is tied to its
 * task by its source address, and the local listener (127.0.0.1:51679), which answers by id
 * alone. MHD runs its own threads (a pool on the task listener); they only read the registry.
 * Every response is JSON; connections idle for the timeout are closed, and so are those whose
 * request head is not in by its deadline, however slowly it trickles in; requests are bounded.
 */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "ratelimit.h"
#include "registry.h"

struct http_server;

#define HTTP_DEFAULT_LISTEN	  "169.254.170.2:80"
#define HTTP_DEFAULT_LOCAL_LISTEN "127.0.0.1:51679"
#define HTTP_ID_MAX		  128

struct http_opts {
	const char *listen;	  /* task listener ADDR:PORT, or NULL for none */
	const char *local_listen; /* local listener ADDR:PORT, or NULL for none */
	unsigned int threads;	  /* MHD threads on the task listener (0: one per CPU, at most 4) */
	unsigned int timeout_sec; /* idle timeout of a connection (5) */
	/* a request head must be in this long after the connection opened or, on a kept-alive
	 * connection, after the previous answer plus the idle timeout (5) */
	unsigned int header_timeout_sec;
	unsigned int max_connections;
	unsigned int max_per_address; /* connections from one address */
	unsigned int memory_limit;    /* bytes per connection: bounds the request head */
	struct ratelimit_opts limit;  /* per task, on the task listener */
};

/* What the server has answered since it started. */
struct http_stats {
	uint64_t ok, not_found, throttled, bad_request, unavailable, method_not_allowed;
	uint64_t header_timeout; /* connections closed because their request head was late */
};

/* A parsed request path. */
struct http_route {
	enum reg_body body;
	char id[HTTP_ID_MAX + 1]; /* "" for /v2/credentials without an id */
};

/* Parse a path: 0 with *ret, -ENOENT if no route matches (404). */
int http_route_parse(const char *path, struct http_route *ret);
/* Parse "A.B.C.D:PORT". */
int http_parse_listen(const char *s, struct sockaddr_in *ret);

/* Bind the listeners and start serving the registry. */
int http_server_start(const struct http_opts *o, struct registry *reg, struct http_server **ret);
/* Stop (closing every connection) and free; returns NULL. */
struct http_server *http_server_stop(struct http_server *s);
/* Counters of answers. */
void http_server_stats(struct http_server *s, struct http_stats *ret);

#endif
