// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcpget: one HTTP/1.0 GET over a TCP socket that carries a socket mark from before its SYN, as
 * the runtime's pulls do, for the tests that count a download in its flow.
 *
 *   tcpget --dst ADDR:PORT [--mark M] [--path PATH] [--timeout SEC]
 *
 * Prints the number of body bytes received (after the response head) and exits 0 iff the
 * response was "HTTP/1.x 200" and the server closed the connection before the timeout
 * (default 10 s).
 */
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "addr.h"
#include "util.h"

#define HEAD_MAX 8192

static void usage(FILE *f)
{
	fprintf(f, "Usage: tcpget --dst ADDR:PORT [--mark M] [--path PATH] [--timeout SEC]\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "dst", required_argument, NULL, 'd' },
		{ "mark", required_argument, NULL, 'm' },
		{ "path", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *dst = NULL, *path = "/";
	unsigned long mark = 0, timeout = 10;
	char head[HEAD_MAX + 1], req[512], buf[65536];
	size_t nhead = 0, body = 0;
	bool have_mark = false, in_body = false;
	struct sockaddr_storage ss;
	uint64_t deadline;
	socklen_t len;
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		char *end;

		switch (c) {
		case 'd':
			dst = optarg;
			break;
		case 'm':
			mark = strtoul(optarg, &end, 0);
			if (*end || end == optarg)
				return usage(stderr), 2;
			have_mark = true;
			break;
		case 'p':
			path = optarg;
			break;
		case 't':
			timeout = strtoul(optarg, &end, 0);
			if (*end || end == optarg || timeout == 0 || timeout > 600)
				return usage(stderr), 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dst || optind != argc || addr_sockaddr_parse(dst, true, &ss, &len) < 0) {
		usage(stderr);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("tcpget: socket");
		return 1;
	}
	if (have_mark) {
		unsigned int m = (unsigned int)mark;

		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) < 0) {
			perror("tcpget: SO_MARK");
			return 1;
		}
	}
	/* A blocking connect waits as long as SO_SNDTIMEO says, not the SYN retries' minutes. */
	{
		struct timeval tv = { .tv_sec = (time_t)timeout };

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("tcpget: connect");
		return 1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		perror("tcpget: write");
		return 1;
	}
	deadline = now_usec() + timeout * 1000000ULL;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_usec();
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000) + 1) <= 0) {
			fprintf(stderr, "tcpget: timed out\n");
			return 1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			perror("tcpget: read");
			return 1;
		}
		if (n == 0)
			break;
		if (in_body) {
			body += (size_t)n;
			continue;
		}
		/* The head, up to its blank line; the rest is body. */
		for (ssize_t i = 0; i < n; i++) {
			if (in_body) {
				body++;
				continue;
			}
			if (nhead < HEAD_MAX)
				head[nhead++] = buf[i];
			if (nhead >= 4 && !memcmp(head + nhead - 4, "\r\n\r\n", 4))
				in_body = true;
		}
	}
	close(fd);
	head[nhead] = '\0';
	if (!in_body || (!startswith(head, "HTTP/1.0 200") && !startswith(head, "HTTP/1.1 200"))) {
		fprintf(stderr, "tcpget: no 200 response\n");
		return 1;
	}
	printf("%zu\n", body);
	return 0;
}
