// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <strings.h>
#include <sys/random.h>

/* <arpa/nameser.h> brings <sys/param.h>'s MIN and MAX; util.h has its own. */
#undef MIN
#undef MAX

#include "addr.h"
#include "dns.h"
#include "util.h"

#define DNS_PORT	     53
#define DNS_UDP_MAX	     1232
#define DNS_CNAME_MAX	     8
#define DNS_DEFAULT_TIMEOUT  1000
#define DNS_DEFAULT_ATTEMPTS 2
#define DNS_TYPE_A	     1
#define DNS_TYPE_AAAA	     28
#define DNS_TYPE_CNAME	     5
#define DNS_CLASS_IN	     1

int dns_query_build(const char *name, uint16_t id, uint16_t qtype, uint8_t *buf, size_t size,
		    size_t *ret_len)
{
	size_t n = strlen(name), off = 12;
	const char *p = name;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || size < 12 + n + 2 + 4)
		return -EINVAL;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (p < name + n) {
		const char *dot = memchr(p, '.', (size_t)(name + n - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(name + n - p);

		if (l == 0 || l > 63)
			return -EINVAL;
		buf[off++] = (uint8_t)l;
		memcpy(buf + off, p, l);
		off += l;
		p += l + (dot ? 1 : 0);
	}
	buf[off++] = 0;
	buf[off++] = (uint8_t)(qtype >> 8);
	buf[off++] = (uint8_t)qtype;
	buf[off++] = 0;
	buf[off++] = DNS_CLASS_IN;
	*ret_len = off;
	return 0;
}

/* Names as libresolv expands them (no trailing dot), case-insensitive. */
static bool name_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void result_add(struct dns_result *ret, int family, const void *addr)
{
	struct sockaddr_storage *ss;

	if (ret->n_addrs >= DNS_MAX_ADDRS)
		return;
	ss = &ret->addrs[ret->n_addrs++];
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
	}
}

int dns_answer_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name, uint16_t qtype,
		     struct dns_result *ret)
{
	char chain[DNS_CNAME_MAX + 1][NS_MAXDNAME];
	struct dns_result res = *ret; /* *ret changes only for a well-formed answer */
	size_t n_chain = 1;
	ns_msg m;
	ns_rr rr;
	int rcode, n_an;

	if (len > 65535 || ns_initparse(msg, (int)len, &m) < 0)
		return -EBADMSG;
	if (ns_msg_id(m) != id || !ns_msg_getflag(m, ns_f_qr) ||
	    ns_msg_getflag(m, ns_f_opcode) != ns_o_query || ns_msg_count(m, ns_s_qd) != 1)
		return -EBADMSG;
	if (ns_parserr(&m, ns_s_qd, 0, &rr) < 0 || ns_rr_type(rr) != qtype ||
	    ns_rr_class(rr) != DNS_CLASS_IN || !name_equal(ns_rr_name(rr), name))
		return -EBADMSG;
	rcode = ns_msg_getflag(m, ns_f_rcode);
	if (rcode != ns_r_noerror)
		return rcode;

	/* Follow CNAMEs from the name asked, then take the addresses of any name in the chain. */
	if (strscpy(chain[0], name, sizeof(chain[0])) < 0)
		return -EBADMSG;
	n_an = ns_msg_count(m, ns_s_an);
	for (bool more = true; more && n_chain <= DNS_CNAME_MAX;) {
		more = false;
		for (int i = 0; i < n_an; i++) {
			if (ns_parserr(&m, ns_s_an, i, &rr) < 0)
				return -EBADMSG;
			if (ns_rr_type(rr) != DNS_TYPE_CNAME || ns_rr_class(rr) != DNS_CLASS_IN ||
			    !name_equal(ns_rr_name(rr), chain[n_chain - 1]))
				continue;
			if (ns_name_uncompress(ns_msg_base(m), ns_msg_end(m), ns_rr_rdata(rr),
					       chain[n_chain], sizeof(chain[n_chain])) < 0)
				return -EBADMSG;
			n_chain++;
			more = true;
			break;
		}
	}
	for (int i = 0; i < n_an; i++) {
		bool ours = false;

		if (ns_parserr(&m, ns_s_an, i, &rr) < 0)
			return -EBADMSG;
		if (ns_rr_type(rr) != qtype || ns_rr_class(rr) != DNS_CLASS_IN)
			continue;
		for (size_t c = 0; c < n_chain && !ours; c++)
			ours = name_equal(ns_rr_name(rr), chain[c]);
		if (!ours)
			continue;
		if (qtype == DNS_TYPE_A && ns_rr_rdlen(rr) == 4)
			result_add(&res, AF_INET, ns_rr_rdata(rr));
		else if (qtype == DNS_TYPE_AAAA && ns_rr_rdlen(rr) == 16)
			result_add(&res, AF_INET6, ns_rr_rdata(rr));
		else
			return -EBADMSG;
	}
	*ret = res;
	return 0;
}

static bool ip_literal(const char *name, struct dns_result *ret)
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(name);

	if (inet_pton(AF_INET, name, &a4) == 1) {
		result_add(ret, AF_INET, &a4);
		return true;
	}
	/* "[::1]" as it appears in URLs, or a bare "::1". */
	if (name[0] == '[' && n >= 2 && name[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, name + 1, n - 2);
		buf[n - 2] = '\0';
		name = buf;
	}
	if (inet_pton(AF_INET6, name, &a6) == 1) {
		result_add(ret, AF_INET6, &a6);
		return true;
	}
	return false;
}

static void format_server(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

/* One query to one server: rcode (>= 0) or -errno (-ETIMEDOUT when nothing came back). */
static int query_one(const struct dns_opts *opts, const struct sockaddr_storage *server,
		     const char *name, uint16_t qtype, unsigned int timeout_ms,
		     struct dns_result *ret)
{
	uint8_t q[300], a[DNS_UDP_MAX + 512];
	_cleanup_close_ int fd = -1;
	socklen_t slen = server->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						       : sizeof(struct sockaddr_in);
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;
	size_t qlen;
	uint16_t id;
	int r;

	if (opts->deadline_usec && opts->deadline_usec < end)
		end = opts->deadline_usec;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -errno;
	r = dns_query_build(name, id, qtype, q, sizeof(q), &qlen);
	if (r < 0)
		return r;

	if (opts->open_socket)
		fd = opts->open_socket(opts->userdata, server->ss_family,
				       SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	else
		fd = RET_NERRNO(
			socket(server->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (fd < 0)
		return fd;
	/* Connected: the kernel drops datagrams from anyone else. */
	if (connect(fd, (const struct sockaddr *)server, slen) < 0)
		return -errno;
	if (send(fd, q, qlen, MSG_NOSIGNAL) < 0)
		return -errno;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_usec();
		ssize_t n;

		if (now >= end)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)((end - now + 999) / 1000));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = recv(fd, a, sizeof(a), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno; /* e.g. ECONNREFUSED: nothing listens there */
		}
		r = dns_answer_parse(a, (size_t)n, id, name, qtype, ret);
		if (r == -EBADMSG)
			continue; /* not an answer to this query: keep waiting */
		return r;
	}
}

int dns_resolve(const struct dns_opts *opts, const char *name, struct dns_result *ret,
		char **ret_error)
{
	static const uint16_t qtypes[] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	struct sockaddr_storage servers[8];
	unsigned int timeout = opts->timeout_ms ?: DNS_DEFAULT_TIMEOUT;
	unsigned int attempts = opts->attempts ?: DNS_DEFAULT_ATTEMPTS;
	size_t n_servers = 0;
	char last[INET6_ADDRSTRLEN + 8] = "";
	int last_r = -ETIMEDOUT;

	*ret = (struct dns_result){};
	if (ip_literal(name, ret))
		return 0;
	{
		uint8_t probe[300];
		size_t plen;

		if (dns_query_build(name, 0, DNS_TYPE_A, probe, sizeof(probe), &plen) < 0)
			return fail_with(ret_error, "cannot resolve '%s': not a valid host name",
					 name);
	}
	for (size_t i = 0; opts->nameservers && opts->nameservers[i]; i++) {
		socklen_t len;

		if (n_servers == ARRAY_SIZE(servers))
			break;
		if (addr_sockaddr_parse(opts->nameservers[i], false, &servers[n_servers], &len) < 0)
			return fail_with(ret_error, "bad nameserver '%s'", opts->nameservers[i]);
		if (servers[n_servers].ss_family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&servers[n_servers];

			if (!s->sin_port)
				s->sin_port = htons(DNS_PORT);
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&servers[n_servers];

			if (!s->sin6_port)
				s->sin6_port = htons(DNS_PORT);
		}
		n_servers++;
	}
	if (n_servers == 0)
		return fail_with(ret_error, "cannot resolve '%s': no nameservers", name);

	for (size_t t = 0; t < ARRAY_SIZE(qtypes); t++) {
		bool answered = false;

		for (unsigned int a = 0; a < attempts && !answered; a++) {
			for (size_t s = 0; s < n_servers; s++) {
				int r;

				if (opts->deadline_usec && now_usec() >= opts->deadline_usec) {
					last_r = -ETIMEDOUT;
					goto out_fail;
				}
				r = query_one(opts, &servers[s], name, qtypes[t], timeout, ret);
				format_server(&servers[s], last, sizeof(last));
				if (r == ns_r_nxdomain) {
					if (ret_error &&
					    asprintf(
						    ret_error,
						    "cannot resolve '%s': no such name (NXDOMAIN from %s)",
						    name, last) < 0)
						*ret_error = NULL;
					return -ENOENT;
				}
				if (r == ns_r_noerror) {
					answered = true;
					break;
				}
				last_r = r;
			}
		}
		if (ret->n_addrs > 0)
			return 0;
		if (!answered)
			goto out_fail;
	}
	if (ret_error &&
	    asprintf(ret_error, "cannot resolve '%s': it has no address (answer from %s)", name,
		     last) < 0)
		*ret_error = NULL;
	return -ENOENT;

out_fail:
	if (ret_error) {
		const char *why = last_r == -ETIMEDOUT ? "no answer in time"
				  : last_r > 0	       ? "the server failed"
						       : strerror(-last_r);
		char code[24] = "";

		if (last_r > 0)
			snprintf(code, sizeof(code), " (rcode %d)", last_r);
		if (asprintf(ret_error, "cannot resolve '%s': %s%s from %s", name, why, code,
			     last) < 0)
			*ret_error = NULL;
	}
	return last_r == -ETIMEDOUT ? -ETIMEDOUT : last_r > 0 ? -EIO : last_r;
}
