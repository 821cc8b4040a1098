// SPDX-License-Identifier: GPL-2.0-only
#include <netinet/in.h>

#include "addr.h"
#include "sock.h"
#include "util.h"

int sock_listen(const char *address, const struct sock_listen_opts *opts, int *ret_fd,
		char *ret_bound, size_t size)
{
	int type = opts && opts->type ? opts->type : SOCK_STREAM;
	struct sockaddr_storage ss;
	_cleanup_close_ int fd = -1;
	socklen_t len;
	int one = 1, r;

	r = addr_sockaddr_parse(address, true, &ss, &len);
	if (r < 0)
		return r;
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (opts && opts->freebind &&
	    setsockopt(fd, ss.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       ss.ss_family == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND, &one,
		       sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	if (type == SOCK_STREAM && listen(fd, opts && opts->backlog ? opts->backlog : 128) < 0)
		return -errno;
	if (ret_bound) {
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			return -errno;
		addr_sockaddr_format(&ss, ret_bound, size);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int sock_accept_all(int lfd, const struct sock_accept_ops *ops, void *data)
{
	int n = 0;

	for (;;) {
		bool room = !ops->room || ops->room(data);
		struct sockaddr_storage peer = {};
		socklen_t len = sizeof(peer);
		int fd;

		if (!room && !ops->refuse)
			return n;
		fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? n : -errno;
		}
		if (!room) {
			ops->refuse(fd, data);
			close(fd);
			continue;
		}
		if (ops->take(fd, &peer, data) < 0) {
			close(fd);
			continue;
		}
		n++;
	}
}
