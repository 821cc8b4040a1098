// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus endpoint: a bounded HTTP/1.x GET responder on netd's event loop. One request
 * per connection (every response says "Connection: close"); the body is rendered per request.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "event.h"
#include "log.h"
#include "metrics.h"
#include "addr.h"
#include "util.h"

#define METRICS_MAX_CLIENTS  16
#define METRICS_MAX_HEAD     8192
#define METRICS_TIMEOUT_USEC (10ULL * 1000000ULL)
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_conn {
	struct metrics_server *srv;
	int fd;
	int io_id;
	int timer_id;
	size_t len;
	char *out;
	size_t out_len, out_off;
	char head[METRICS_MAX_HEAD + 1];
};

struct metrics_server {
	struct event_loop *loop;
	int fd;
	int io_id;
	metrics_render_fn render;
	void *data;
	struct metrics_conn *conns[METRICS_MAX_CLIENTS];
	unsigned int nconns;
	char address[INET6_ADDRSTRLEN + 16];
};

static int parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	return addr_sockaddr_parse(s, true, ret, ret_len);
}

static void format_address(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	}
}

static void conn_close(struct metrics_conn *c)
{
	struct metrics_server *srv = c->srv;

	event_cancel(srv->loop, c->io_id);
	event_cancel(srv->loop, c->timer_id);
	safe_close(c->fd);
	for (unsigned int i = 0; i < srv->nconns; i++)
		if (srv->conns[i] == c) {
			srv->conns[i] = srv->conns[--srv->nconns];
			srv->conns[srv->nconns] = NULL;
			break;
		}
	free(c->out);
	free(c);
}

static void conn_timeout(struct event_loop *loop, void *data)
{
	struct metrics_conn *c = data;

	c->timer_id = 0;
	log_debug("Metrics client timed out, closing");
	conn_close(c);
}

/* Build the whole response (head and body) into c->out. */
static int conn_respond(struct metrics_conn *c, bool too_big)
{
	const char *status = "200 OK", *type = METRICS_CONTENT_TYPE, *extra = "";
	_cleanup_free_ char *body = NULL;
	size_t mlen, body_len = 0;
	bool head_only = false;
	char *path, *sp;
	FILE *f;
	int n;

	mlen = strcspn(c->head, " \r\n");
	path = c->head + mlen + (c->head[mlen] == ' ');
	sp = path + strcspn(path, " \r\n");
	*sp = '\0';
	if (too_big) {
		status = "431 Request Header Fields Too Large";
	} else if (!(mlen == 3 && !memcmp(c->head, "GET", 3)) &&
		   !(mlen == 4 && !memcmp(c->head, "HEAD", 4))) {
		status = "405 Method Not Allowed";
		extra = "Allow: GET, HEAD\r\n";
	} else if (!streq(path, "/metrics") && !startswith(path, "/metrics?")) {
		status = "404 Not Found";
	}
	head_only = mlen == 4;

	f = open_memstream(&body, &body_len);
	if (!f)
		return -ENOMEM;
	if (streq(status, "200 OK")) {
		int r = c->srv->render(f, c->srv->data);

		if (r < 0) {
			fclose(f);
			free(TAKE_PTR(body));
			f = open_memstream(&body, &body_len);
			if (!f)
				return -ENOMEM;
			status = "500 Internal Server Error";
			fprintf(f, "Failed to read the counters: %s\n", strerror(-r));
		}
	} else {
		fprintf(f, "%s\n", status);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	if (!streq(status, "200 OK"))
		type = "text/plain; charset=utf-8";

	n = asprintf(
		&c->out,
		"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
		status, type, body_len, extra);
	if (n < 0) {
		c->out = NULL;
		return -ENOMEM;
	}
	c->out_len = (size_t)n;
	if (!head_only && body_len) {
		char *all = realloc(c->out, c->out_len + body_len);

		if (!all)
			return -ENOMEM;
		memcpy(all + c->out_len, body, body_len);
		c->out = all;
		c->out_len += body_len;
	}
	log_debug("Metrics: %.*s %s: %.3s, %zu bytes", (int)MIN(mlen, 8), c->head, path, status,
		  c->out_len);
	return 0;
}

static void conn_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct metrics_conn *c = data;
	ssize_t n;

	if (!c->out) {
		bool too_big;

		n = read(fd, c->head + c->len, METRICS_MAX_HEAD - c->len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->len += (size_t)n;
		c->head[c->len] = '\0';
		too_big = c->len >= METRICS_MAX_HEAD;
		if (!too_big && !strstr(c->head, "\r\n\r\n") && !strstr(c->head, "\n\n"))
			return;
		if (conn_respond(c, too_big) < 0 || event_modify_io(loop, c->io_id, EPOLLOUT) < 0) {
			conn_close(c);
			return;
		}
		return;
	}
	n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len)
		conn_close(c);
}

static void server_accept(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct metrics_server *srv = data;

	for (;;) {
		struct metrics_conn *c;
		int cfd, r;

		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn_errno(errno, "Metrics: accept failed: %m, ignoring");
			return;
		}
		if (srv->nconns >= METRICS_MAX_CLIENTS) {
			log_debug("Metrics: too many clients, refusing one");
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			return;
		}
		*c = (struct metrics_conn){ .srv = srv, .fd = cfd };
		r = event_add_io(loop, cfd, EPOLLIN, conn_io, c, NULL);
		if (r > 0) {
			c->io_id = r;
			r = event_add_timer(loop, METRICS_TIMEOUT_USEC, conn_timeout, c, NULL);
		}
		if (r <= 0) {
			event_cancel(loop, c->io_id);
			close(cfd);
			free(c);
			continue;
		}
		c->timer_id = r;
		srv->conns[srv->nconns++] = c;
	}
}

int metrics_server_new(struct event_loop *loop, const char *address, metrics_render_fn render,
		       void *data, struct metrics_server **ret)
{
	struct sockaddr_storage ss;
	struct metrics_server *m;
	socklen_t len;
	int one = 1, r;

	r = parse_listen(address, &ss, &len);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (struct metrics_server){ .loop = loop, .render = render, .data = data };
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0) {
		r = -errno;
		goto out_free;
	}
	(void)setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->fd, (struct sockaddr *)&ss, len) < 0 || listen(m->fd, 64) < 0) {
		r = -errno;
		goto out_close;
	}
	len = sizeof(ss);
	if (getsockname(m->fd, (struct sockaddr *)&ss, &len) < 0) {
		r = -errno;
		goto out_close;
	}
	format_address(&ss, m->address, sizeof(m->address));
	r = event_add_io(loop, m->fd, EPOLLIN, server_accept, m, NULL);
	if (r < 0)
		goto out_close;
	m->io_id = r;
	*ret = m;
	return 0;

out_close:
	close(m->fd);
out_free:
	free(m);
	return r;
}

const char *metrics_server_address(const struct metrics_server *m)
{
	return m->address;
}

struct metrics_server *metrics_server_free(struct metrics_server *m)
{
	if (!m)
		return NULL;
	while (m->nconns)
		conn_close(m->conns[m->nconns - 1]);
	event_cancel(m->loop, m->io_id);
	safe_close(m->fd);
	free(m);
	return NULL;
}
