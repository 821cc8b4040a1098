// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "dns.h"
#include "flowsock.h"
#include "netns.h"
#include "util.h"

int flowsock_open(struct flowsock *s, int domain, int type, int protocol)
{
	int fd = netns_socket(s->netns_fd, domain, type | SOCK_CLOEXEC, protocol);

	if (fd < 0) {
		s->error = fd;
		return fd;
	}
	if (s->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &s->mark, sizeof(s->mark)) < 0) {
		s->error = -errno;
		close(fd);
		return s->error;
	}
	return fd;
}

int flowsock_dns_open(void *userdata, int domain, int type, int protocol)
{
	return flowsock_open(userdata, domain, type, protocol);
}

curl_socket_t flowsock_curl_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	int fd = flowsock_open(clientp, a->family, a->socktype, a->protocol);

	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static void format_sockaddr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf,
			  (socklen_t)size);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
			  (socklen_t)size);
}

/* getaddrinfo() inside the namespace: the system's resolver, but the flow's network. */
static int resolve_system(struct flowsock *s, const char *host, struct dns_result *ret,
			  char **ret_error)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int saved = -1, r, g;

	if (s->netns_fd >= 0) {
		r = netns_enter(s->netns_fd, &saved);
		if (r < 0)
			return fail_errno(ret_error, r, "cannot enter the network namespace: %s",
					  strerror(-r));
	}
	g = getaddrinfo(host, NULL, &hints, &ai);
	r = netns_restore(saved);
	if (r < 0) {
		if (ai)
			freeaddrinfo(ai);
		return r;
	}
	if (g != 0)
		return fail_errno(ret_error, g == EAI_NONAME || g == EAI_NODATA ? -ENOENT : -EIO,
				  "cannot resolve '%s': %s", host, gai_strerror(g));
	*ret = (struct dns_result){};
	for (struct addrinfo *p = ai; p && ret->n_addrs < DNS_MAX_ADDRS; p = p->ai_next) {
		if (p->ai_family != AF_INET && p->ai_family != AF_INET6)
			continue;
		memcpy(&ret->addrs[ret->n_addrs++], p->ai_addr, p->ai_addrlen);
	}
	freeaddrinfo(ai);
	if (ret->n_addrs == 0)
		return fail_errno(ret_error, -ENOENT, "cannot resolve '%s': no address", host);
	return 0;
}

int flowsock_resolve(struct flowsock *s, const char *const *nameservers, uint64_t deadline_usec,
		     const char *host, long port, char **ret_entry, char **ret_first,
		     char **ret_error)
{
	_cleanup_free_ char *entry = NULL, *first = NULL;
	struct dns_result res;
	struct in6_addr a6;
	struct in_addr a4;
	size_t len = 0;
	FILE *f;
	int r;

	*ret_entry = *ret_first = NULL;
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1 ||
	    host[0] == '[')
		return 0;
	if (nameservers) {
		struct dns_opts d = {
			.nameservers = nameservers,
			.open_socket = flowsock_dns_open,
			.userdata = s,
			.deadline_usec = deadline_usec,
		};

		r = dns_resolve(&d, host, &res, ret_error);
	} else {
		r = resolve_system(s, host, &res, ret_error);
	}
	if (r < 0)
		return r;

	f = open_memstream(&entry, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%s:%ld:", host, port);
	for (size_t i = 0; i < res.n_addrs; i++) {
		char ip[INET6_ADDRSTRLEN];

		format_sockaddr(&res.addrs[i], ip, sizeof(ip));
		fprintf(f, res.addrs[i].ss_family == AF_INET6 ? "%s[%s]" : "%s%s", i ? "," : "",
			ip);
		if (i == 0)
			first = strdup(ip);
	}
	if (fclose(f) != 0 || !first)
		return -ENOMEM;
	*ret_entry = TAKE_PTR(entry);
	*ret_first = TAKE_PTR(first);
	return 0;
}
