// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctlsend: send raw bytes to a control socket and print what comes back, for the tests of
 * malformed input. Usage: ctlsend SOCKET [REPLIES] < input
 * Sends stdin as is, then prints reply lines until REPLIES lines (default: as many as input
 * lines) have arrived, the peer closes, or 5 seconds pass. Exit 0 if all replies arrived.
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util.h"

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *in = NULL;
	size_t len = 0, cap = 0, lines = 0, got = 0;
	_cleanup_close_ int fd = -1;
	uint64_t deadline;
	char buf[65536];
	long want;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ctlsend SOCKET [REPLIES] < input\n");
		return 2;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *p = realloc(in, cap ? cap * 2 : 65536);

			if (!p)
				return 1;
			in = p;
			cap = cap ? cap * 2 : 65536;
		}
		n = read(0, in + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	for (size_t i = 0; i < len; i++)
		lines += in[i] == '\n';
	want = argc == 3 ? strtol(argv[2], NULL, 10) : (long)lines;

	strscpy(sa.sun_path, argv[1], sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("ctlsend: connect");
		return 1;
	}
	if (write_all(fd, in, len) < 0) {
		perror("ctlsend: write");
		return 1;
	}
	deadline = now_usec() + 5000000;
	while ((long)got < want) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_usec();
		ssize_t n;

		if (now >= deadline || poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		for (ssize_t i = 0; i < n; i++)
			got += buf[i] == '\n';
	}
	fflush(stdout);
	return (long)got >= want ? 0 : 1;
}
