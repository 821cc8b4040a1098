// SPDX-License-Identifier: GPL-2.0-only
/*
 * timed-exec: run a program the way a container runtime runs a CNI plugin (a fresh environment,
 * stdin from a file, in a given network namespace) and print how long it took, fork to reaped
 * exit, in microseconds, and its exit status: "USEC STATUS". The namespace is entered before the
 * clock starts, so every program compared is timed over the same window.
 *
 *   timed-exec [-n NETNS] [-i STDIN] [-o STDOUT] [-e NAME=VALUE]... -- PROGRAM [ARG]...
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>

#include "util.h"

#define MAX_ENV 32

int main(int argc, char **argv)
{
	const char *netns = NULL, *in = "/dev/null", *out = "/dev/null";
	char *envp[MAX_ENV + 1] = {};
	unsigned int nenv = 0;
	uint64_t start, end;
	int c, status;
	pid_t pid;

	while ((c = getopt(argc, argv, "+n:i:o:e:")) >= 0) {
		switch (c) {
		case 'n':
			netns = optarg;
			break;
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'e':
			if (nenv >= MAX_ENV) {
				fprintf(stderr, "timed-exec: too many -e\n");
				return 2;
			}
			envp[nenv++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: timed-exec [-n NETNS] [-i IN] [-o OUT] [-e K=V]... "
					"-- PROG [ARG]...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "timed-exec: no program\n");
		return 2;
	}
	if (netns) {
		_cleanup_close_ int fd = open(netns, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			fprintf(stderr, "timed-exec: cannot enter '%s': %m\n", netns);
			return 2;
		}
	}

	start = now_usec();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "timed-exec: fork: %m\n");
		return 2;
	}
	if (pid == 0) {
		int ifd = open(in, O_RDONLY), ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (ifd < 0 || ofd < 0 || dup2(ifd, 0) < 0 || dup2(ofd, 1) < 0)
			_exit(126);
		execve(argv[optind], argv + optind, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "timed-exec: waitpid: %m\n");
			return 2;
		}
	end = now_usec();
	printf("%llu %d\n", (unsigned long long)(end - start),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
