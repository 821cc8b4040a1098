// SPDX-License-Identifier: GPL-2.0-only
/*
 * udpsend: send exactly COUNT UDP datagrams of SIZE payload bytes to an echo service and count
 * the replies, for the counter tests (which then know the exact bytes and packets on the wire).
 *
 *   udpsend --dst ADDR:PORT --count N --size S [--mark M] [--src ADDR] [--window W]
 *           [--interval-us U] [--timeout SEC] [--no-replies]
 *
 * At most W datagrams (default 16) are unanswered at a time, so that nothing overflows a queue;
 * --interval-us paces a steady stream. --mark sets SO_MARK (the flow encoding of tc_counters.h),
 * --src binds the source address. Prints "sent N received R" and exits 0 iff every datagram was
 * sent and (unless --no-replies) answered before the timeout (default 20 s). ADDR is IPv4 or
 * [IPv6].
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "addr.h"
#include "util.h"

static int parse_addr(const char *s, bool with_port, struct sockaddr_storage *ret,
		      socklen_t *ret_len)
{
	return addr_sockaddr_parse(s, with_port, ret, ret_len);
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 0);
	return errno || *end || end == s || *ret > max ? -EINVAL : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: udpsend --dst ADDR:PORT --count N --size S [--mark M] [--src ADDR]\n"
		"               [--window W] [--interval-us U] [--timeout SEC] [--no-replies]\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "dst", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "mark", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 'S' },
		{ "window", required_argument, NULL, 'w' },
		{ "interval-us", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-replies", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long count = 0, size = 0, mark = 0, window = 16, interval = 0, timeout = 20;
	const char *dst = NULL, *src = NULL;
	bool have_mark = false, replies = true;
	struct sockaddr_storage dss, sss;
	socklen_t dlen = 0, slen = 0;
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	unsigned long sent = 0, received = 0;
	uint64_t deadline, next_send = 0;
	int c;

	while ((c = getopt_long(argc, argv, "d:n:s:m:S:w:i:t:Nh", options, NULL)) >= 0) {
		int r = 0;

		switch (c) {
		case 'd':
			dst = optarg;
			break;
		case 'n':
			r = parse_ulong(optarg, 100000000, &count);
			break;
		case 's':
			r = parse_ulong(optarg, 65507, &size);
			break;
		case 'm':
			r = parse_ulong(optarg, UINT32_MAX, &mark);
			have_mark = true;
			break;
		case 'S':
			src = optarg;
			break;
		case 'w':
			r = parse_ulong(optarg, 4096, &window);
			break;
		case 'i':
			r = parse_ulong(optarg, 10000000, &interval);
			break;
		case 't':
			r = parse_ulong(optarg, 3600, &timeout);
			break;
		case 'N':
			replies = false;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
		if (r < 0) {
			fprintf(stderr, "udpsend: invalid value '%s'\n", optarg);
			return 2;
		}
	}
	if (!dst || optind < argc || window == 0 || parse_addr(dst, true, &dss, &dlen) < 0 ||
	    (src && parse_addr(src, false, &sss, &slen) < 0)) {
		usage(stderr);
		return 2;
	}

	fd = socket(dss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "udpsend: socket: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	if (have_mark) {
		unsigned int m = (unsigned int)mark;

		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) < 0) {
			fprintf(stderr, "udpsend: SO_MARK: %s\n", strerror(errno));
			return EXIT_FAILURE;
		}
	}
	if (src && bind(fd, (struct sockaddr *)&sss, slen) < 0) {
		fprintf(stderr, "udpsend: bind %s: %s\n", src, strerror(errno));
		return EXIT_FAILURE;
	}
	if (connect(fd, (struct sockaddr *)&dss, dlen) < 0) {
		fprintf(stderr, "udpsend: connect %s: %s\n", dst, strerror(errno));
		return EXIT_FAILURE;
	}
	buf = calloc(1, size ? size : 1);
	if (!buf)
		return EXIT_FAILURE;

	deadline = now_usec() + timeout * 1000000ULL;
	while (sent < count || (replies && received < sent)) {
		uint64_t now = now_usec();
		bool may_send =
			sent < count && (!replies || sent - received < window) && now >= next_send;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait_ms;

		if (now >= deadline)
			break;
		if (may_send) {
			uint32_t seq = (uint32_t)sent;

			memcpy(buf, &seq, MIN(size, sizeof(seq)));
			if (send(fd, buf, size, 0) < 0) {
				if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)
					continue;
				fprintf(stderr, "udpsend: send: %s\n", strerror(errno));
				break;
			}
			sent++;
			next_send = interval ? now + interval : 0;
			continue;
		}
		if (!replies) {
			if (next_send > now)
				usleep((useconds_t)MIN(next_send - now, 1000000ULL));
			continue;
		}
		wait_ms = (int)MIN((deadline - now) / 1000 + 1, 1000ULL);
		if (sent < count && next_send > now && sent - received < window)
			wait_ms = (int)MIN((uint64_t)wait_ms, (next_send - now) / 1000 + 1);
		if (poll(&p, 1, wait_ms) <= 0)
			continue;
		while (recv(fd, buf, size ? size : 1, MSG_DONTWAIT) >= 0)
			received++;
	}
	printf("sent %lu received %lu\n", sent, received);
	return sent == count && (!replies || received == count) ? EXIT_SUCCESS : EXIT_FAILURE;
}
