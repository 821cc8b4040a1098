// SPDX-License-Identifier: GPL-2.0-only
/*
 * vpcd: the service of the test VPC.
 *
 *   vpcd [--http ADDR:PORT] [--udp ADDR:PORT] [--body TEXT] [--quiet]
 *
 * HTTP: any GET (or HEAD) gets "200 OK", text/plain, "Connection: close" and the body
 * "hello from the test VPC, you are <client ip>\n" (or TEXT). Requests are bounded to 8 KiB,
 * idle clients are closed after 5 s, and at most 256 clients are served at once.
 * UDP: every datagram is echoed back to its sender unchanged.
 *
 * Single-threaded, poll() based, no fork. SIGTERM or SIGINT ends it with status 0.
 * ADDR is IPv4 or [IPv6]; PORT 0 picks a free port, and the bound address is printed
 * on stdout as "vpcd: http ADDR:PORT" / "vpcd: udp ADDR:PORT" followed by "vpcd: ready".
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "addr.h"
#include "util.h"

#define VPCD_MAX_CLIENTS 256
#define VPCD_REQ_MAX	 8192
#define VPCD_IDLE_USEC	 (5ULL * 1000000ULL)
#define VPCD_UDP_BURST	 64

enum client_state {
	CLIENT_STATE_READING,  /* collecting the request head */
	CLIENT_STATE_WRITING,  /* sending the response */
	CLIENT_STATE_DRAINING, /* response sent, write side shut, waiting for the peer's EOF */
};

struct client {
	int fd;
	enum client_state state;
	uint64_t deadline;
	char peer[INET6_ADDRSTRLEN];
	size_t len;
	char req[VPCD_REQ_MAX];
	char *out;
	size_t out_len;
	size_t out_off;
};

static struct client *clients[VPCD_MAX_CLIENTS];
static unsigned int n_clients;
static const char *opt_body;
static bool opt_quiet;

static int parse_addr(const char *s, struct sockaddr_storage *ret_ss, socklen_t *ret_len)
{
	return addr_sockaddr_parse(s, true, ret_ss, ret_len);
}

static void format_addr(const struct sockaddr_storage *ss, char *ip, size_t ip_size,
			unsigned int *ret_port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)ip_size);
		if (ret_port)
			*ret_port = ntohs(sin6->sin6_port);
	} else {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)ip_size);
		if (ret_port)
			*ret_port = ntohs(sin->sin_port);
	}
}

/* Bind a socket of the given type to ADDR:PORT and print what it got. Returns the fd or -errno. */
static int open_listener(const char *what, const char *spec, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char ip[INET6_ADDRSTRLEN];
	unsigned int port;
	int one = 1;
	int fd, r;

	r = parse_addr(spec, &ss, &len);
	if (r < 0) {
		fprintf(stderr,
			"vpcd: invalid %s address '%s', expected ADDR:PORT or [ADDR6]:PORT\n", what,
			spec);
		return r;
	}

	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto out_close;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto out_close;
	if (type == SOCK_STREAM && listen(fd, 128) < 0)
		goto out_close;

	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		goto out_close;
	format_addr(&ss, ip, sizeof(ip), &port);
	printf(ss.ss_family == AF_INET6 ? "vpcd: %s [%s]:%u\n" : "vpcd: %s %s:%u\n", what, ip,
	       port);
	return fd;

out_close:
	r = -errno;
	fprintf(stderr, "vpcd: cannot set up %s on %s: %s\n", what, spec, strerror(errno));
	close(fd);
	return r;
}

static void client_free(unsigned int i)
{
	struct client *c = clients[i];

	close(c->fd);
	free(c->out);
	free(c);
	clients[i] = clients[--n_clients];
	clients[n_clients] = NULL;
}

static void accept_clients(int lfd)
{
	while (n_clients < VPCD_MAX_CLIENTS) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct client *c;
		int fd;

		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "vpcd: accept: %s, ignoring\n", strerror(errno));
			return;
		}

		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->state = CLIENT_STATE_READING;
		c->deadline = now_usec() + VPCD_IDLE_USEC;
		format_addr(&ss, c->peer, sizeof(c->peer), NULL);
		clients[n_clients++] = c;
	}
}

/* Build the response for the request head in c->req. */
static int client_prepare_response(struct client *c)
{
	char head[512];
	char body_buf[128];
	const char *body, *status, *extra = "";
	size_t body_len, method_len;
	bool send_body = true;
	int hlen;

	method_len = strcspn(c->req, " \r\n");
	if (method_len == 3 && !memcmp(c->req, "GET", 3)) {
		status = "200 OK";
	} else if (method_len == 4 && !memcmp(c->req, "HEAD", 4)) {
		status = "200 OK";
		send_body = false;
	} else {
		status = "405 Method Not Allowed";
		extra = "Allow: GET, HEAD\r\n";
	}

	if (c->state == CLIENT_STATE_READING && c->len >= VPCD_REQ_MAX) {
		status = "431 Request Header Fields Too Large";
		extra = "";
		send_body = true;
	}

	if (strncmp(status, "200", 3)) {
		snprintf(body_buf, sizeof(body_buf), "%s\n", status);
		body = body_buf;
	} else if (opt_body) {
		body = opt_body;
	} else {
		snprintf(body_buf, sizeof(body_buf), "hello from the test VPC, you are %s\n",
			 c->peer);
		body = body_buf;
	}
	body_len = strlen(body);

	hlen = snprintf(head, sizeof(head),
			"HTTP/1.1 %s\r\n"
			"Content-Type: text/plain\r\n"
			"Content-Length: %zu\r\n"
			"%s"
			"Connection: close\r\n"
			"\r\n",
			status, body_len, extra);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return -EOVERFLOW;

	c->out_len = (size_t)hlen + (send_body ? body_len : 0);
	c->out = malloc(c->out_len);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, head, (size_t)hlen);
	if (send_body)
		memcpy(c->out + hlen, body, body_len);
	c->out_off = 0;

	if (!opt_quiet)
		fprintf(stderr, "vpcd: http %.*s from %s: %.3s\n", (int)MIN(method_len, 16), c->req,
			c->peer, status);
	return 0;
}

static bool request_complete(const struct client *c)
{
	return memmem(c->req, c->len, "\r\n\r\n", 4) || memmem(c->req, c->len, "\n\n", 2);
}

/* Handle readiness of one client. Returns false when the client is done and must be freed. */
static bool client_process(struct client *c, short revents)
{
	ssize_t n;

	if (revents & (POLLERR | POLLNVAL))
		return false;

	switch (c->state) {
	case CLIENT_STATE_READING:
		if (!(revents & (POLLIN | POLLHUP)))
			return true;
		n = read(c->fd, c->req + c->len, VPCD_REQ_MAX - c->len - 1);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		c->len += (size_t)n;
		c->req[c->len] = '\0';
		c->deadline = now_usec() + VPCD_IDLE_USEC;
		if (c->len >= VPCD_REQ_MAX - 1)
			c->len = VPCD_REQ_MAX;
		else if (!request_complete(c))
			return true;
		if (client_prepare_response(c) < 0)
			return false;
		c->state = CLIENT_STATE_WRITING;
		/* fall through - the socket is almost always writable now */
	case CLIENT_STATE_WRITING:
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += (size_t)n;
		c->deadline = now_usec() + VPCD_IDLE_USEC;
		if (c->out_off < c->out_len)
			return true;
		/* Close only after the peer's EOF, so that unread request bytes cause no RST. */
		shutdown(c->fd, SHUT_WR);
		c->state = CLIENT_STATE_DRAINING;
		return true;
	case CLIENT_STATE_DRAINING:
		if (!(revents & (POLLIN | POLLHUP)))
			return true;
		n = read(c->fd, c->req, sizeof(c->req));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		return n > 0;
	}
	return false;
}

static void udp_echo(int fd)
{
	static char buf[65536];

	for (int i = 0; i < VPCD_UDP_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
		if (n < 0)
			return;
		if (sendto(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss,
			   len) < 0 &&
		    !opt_quiet)
			fprintf(stderr, "vpcd: udp echo: %s, ignoring\n", strerror(errno));
	}
}

static int poll_timeout_ms(void)
{
	uint64_t now = now_usec(), first = UINT64_MAX;

	for (unsigned int i = 0; i < n_clients; i++)
		first = MIN(first, clients[i]->deadline);
	if (first == UINT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	return (int)MIN((first - now + 999) / 1000, 60000ULL);
}

static void expire_clients(void)
{
	uint64_t now = now_usec();

	for (unsigned int i = 0; i < n_clients;) {
		if (clients[i]->deadline <= now)
			client_free(i);
		else
			i++;
	}
}

static int run(int sfd, int http_fd, int udp_fd)
{
	struct pollfd pfd[3 + VPCD_MAX_CLIENTS];
	struct client *polled[VPCD_MAX_CLIENTS];

	for (;;) {
		unsigned int n = n_clients;
		int r;

		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = n_clients < VPCD_MAX_CLIENTS ? http_fd : -1,
					  .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = udp_fd, .events = POLLIN };
		for (unsigned int i = 0; i < n; i++) {
			struct client *c = clients[i];

			polled[i] = c;
			pfd[3 + i] = (struct pollfd){
				.fd = c->fd,
				.events = c->state == CLIENT_STATE_WRITING ? POLLOUT : POLLIN,
			};
		}

		r = poll(pfd, 3 + n, poll_timeout_ms());
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vpcd: poll: %s\n", strerror(errno));
			return -errno;
		}

		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && !opt_quiet)
				fprintf(stderr, "vpcd: signal %u, exiting\n", si.ssi_signo);
			return 0;
		}

		/* Clients first: freeing reorders clients[], so go by the pointers polled. */
		for (unsigned int i = 0; i < n; i++) {
			if (!pfd[3 + i].revents || client_process(polled[i], pfd[3 + i].revents))
				continue;
			for (unsigned int j = 0; j < n_clients; j++) {
				if (clients[j] == polled[i]) {
					client_free(j);
					break;
				}
			}
		}
		if (pfd[1].revents & POLLIN)
			accept_clients(http_fd);
		if (pfd[2].revents & POLLIN)
			udp_echo(udp_fd);
		expire_clients();
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vpcd [--http ADDR:PORT] [--udp ADDR:PORT] [--body TEXT] [--quiet]\n"
		"  --http ADDR:PORT  answer HTTP GET on this TCP address\n"
		"  --udp ADDR:PORT   echo UDP datagrams on this address\n"
		"  --body TEXT       HTTP body (default: hello from the test VPC, you are <ip>)\n"
		"  --quiet           no per-request log on stderr\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "http", required_argument, NULL, 'H' }, { "udp", required_argument, NULL, 'U' },
		{ "body", required_argument, NULL, 'b' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },	  {}
	};
	const char *http = NULL, *udp = NULL;
	_cleanup_close_ int sfd = -1, http_fd = -1, udp_fd = -1;
	sigset_t mask;
	int c, r;

	while ((c = getopt_long(argc, argv, "H:U:b:qh", options, NULL)) >= 0) {
		switch (c) {
		case 'H':
			http = optarg;
			break;
		case 'U':
			udp = optarg;
			break;
		case 'b':
			opt_body = optarg;
			break;
		case 'q':
			opt_quiet = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc || (!http && !udp)) {
		usage(stderr);
		return EXIT_FAILURE;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return EXIT_FAILURE;
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "vpcd: signalfd: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}

	if (http) {
		http_fd = open_listener("http", http, SOCK_STREAM);
		if (http_fd < 0)
			return EXIT_FAILURE;
	}
	if (udp) {
		udp_fd = open_listener("udp", udp, SOCK_DGRAM);
		if (udp_fd < 0)
			return EXIT_FAILURE;
	}
	printf("vpcd: ready\n");
	fflush(stdout);

	r = run(sfd, http_fd, udp_fd);
	while (n_clients)
		client_free(n_clients - 1);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
