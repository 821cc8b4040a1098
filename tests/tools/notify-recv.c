// SPDX-License-Identifier: GPL-2.0-only
/*
 * notify-recv: stand in for systemd's notification socket in the tests. Binds a datagram socket
 * at PATH (removing a stale one), and prints every line of every message it receives as
 * "PID LINE", PID being the sender's (SCM_CREDENTIALS, as systemd checks NotifyAccess=main),
 * until SIGTERM or SIGINT; then removes PATH.
 *
 *   notify-recv PATH
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util.h"

static volatile sig_atomic_t stop;

static void on_signal(int signo)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = on_signal };
	_cleanup_close_ int fd = -1;
	int one = 1;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify-recv PATH\n");
		return 2;
	}
	strscpy(sa.sun_path, argv[1], sizeof(sa.sun_path));
	/* No SA_RESTART: recvmsg() returns EINTR on a signal. */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		perror("notify-recv: socket");
		return 1;
	}
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify-recv: bind");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop) {
		char buf[4097], cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		pid_t pid = 0;
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("notify-recv: recvmsg");
			break;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
				struct ucred uc;

				memcpy(&uc, CMSG_DATA(c), sizeof(uc));
				pid = uc.pid;
			}
		buf[n] = '\0';
		for (char *line = buf, *nl; line && *line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			printf("%d %s\n", (int)pid, line);
		}
	}
	unlink(sa.sun_path);
	return 0;
}
