/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small stub resolver that asks given nameservers (a task's, not the host's resolv.conf) over
 * UDP, on sockets the caller creates (so that they can be opened in another network namespace
 * and marked for a flow). A and AAAA records, CNAME chains within one answer; no search
 * domains, no TCP fallback (a truncated answer is used for what it holds). Blocking.
 */
#ifndef TP_DNS_H
#define TP_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_MAX_ADDRS 8

struct dns_opts {
	/* IPv4 or IPv6 literals, optionally ADDR:PORT or [ADDR6]:PORT; NULL-terminated. */
	const char *const *nameservers;
	/* Create a socket (like socket(2), returns an fd or -errno); NULL: socket(2) here. */
	int (*open_socket)(void *userdata, int domain, int type, int protocol);
	void *userdata;
	unsigned int timeout_ms; /* per query sent; 0: 1000 */
	unsigned int attempts;	 /* rounds over the nameservers; 0: 2 */
	uint64_t deadline_usec;	 /* CLOCK_MONOTONIC (now_usec()), 0: none */
};

/* The addresses of a name (port 0): A records first, then AAAA when there are no A records. */
struct dns_result {
	struct sockaddr_storage addrs[DNS_MAX_ADDRS];
	size_t n_addrs;
};

/*
 * Resolve name. An IP literal is returned as is, without a query. -ENOENT for a name that does
 * not exist or has no address, -ETIMEDOUT when no server answered, -EINVAL for a bad name or
 * nameserver; *ret_error (if not NULL) says what happened.
 */
int dns_resolve(const struct dns_opts *opts, const char *name, struct dns_result *ret,
		char **ret_error);
/* Build a recursive query for name and qtype (1 = A, 28 = AAAA) with the given id. */
int dns_query_build(const char *name, uint16_t id, uint16_t qtype, uint8_t *buf, size_t size,
		    size_t *ret_len);
/*
 * Parse an answer to the query (id, name, qtype): its addresses are appended to *ret (up to
 * DNS_MAX_ADDRS). Returns the response code (0 NOERROR, 3 NXDOMAIN, ...) or -EBADMSG for a
 * message that is not a well-formed answer to this query.
 */
int dns_answer_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name, uint16_t qtype,
		     struct dns_result *ret);

#endif
