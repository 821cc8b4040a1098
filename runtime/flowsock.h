/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sockets of one flow of a task (docs/counters.md): each created in a given network namespace
 * (the task's, or for a flow that leaves through the platform ENI the platform namespace) and
 * marked with the flow's SO_MARK, TC_MARK(slot, flow). Names are resolved with given nameservers
 * (dns.h, the task's, not the host's resolv.conf) on sockets made the same way, so that the
 * lookups count in the same flow, or with getaddrinfo() inside the namespace; for libcurl, the
 * answer is a CURLOPT_RESOLVE entry and the sockets come from an open-socket callback.
 * Used by the registry client (pull and auth) and the secrets client. Resolving blocks.
 */
#ifndef TP_FLOWSOCK_H
#define TP_FLOWSOCK_H

#include <curl/curl.h>
#include <stdint.h>

/* How the sockets of one flow are made. */
struct flowsock {
	int netns_fd;  /* network namespace of the sockets; -1: the caller's */
	uint32_t mark; /* their SO_MARK; 0: none */
	int error;     /* -errno of the last failure to make one (for messages) */
};

/* A socket (SOCK_CLOEXEC) in s's namespace with s's mark, or -errno (kept in s->error too). */
int flowsock_open(struct flowsock *s, int domain, int type, int protocol);
/* flowsock_open() as dns_opts.open_socket (userdata: the struct flowsock). */
int flowsock_dns_open(void *userdata, int domain, int type, int protocol);
/* flowsock_open() as CURLOPT_OPENSOCKETFUNCTION (CURLOPT_OPENSOCKETDATA: the struct flowsock). */
curl_socket_t flowsock_curl_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a);

/*
 * Resolve host for port: nameservers (NULL-terminated) asked on s's sockets, or NULL for
 * getaddrinfo() inside s's namespace. *ret_entry gets the CURLOPT_RESOLVE entry
 * "host:port:addr,[addr6],..." and *ret_first the first address (for messages); both NULL for an
 * IP literal, which needs no lookup. -ENOENT no such name, -ETIMEDOUT no answer, -EINVAL a bad
 * name; *ret_error says which.
 */
int flowsock_resolve(struct flowsock *s, const char *const *nameservers, uint64_t deadline_usec,
		     const char *host, long port, char **ret_entry, char **ret_first,
		     char **ret_error);

#endif
