// SPDX-License-Identifier: GPL-2.0-only
/*
 * timed-start: run a container runtime's command whose container prints its first instruction's
 * time (stamp.c), and print "FIRST TOTAL STATUS": microseconds from the fork to the container's
 * stamp (the first line on the command's stdout; -1 if none), from the fork to the command's
 * exit, and its exit status. The rest of its output is read and dropped; stderr goes to ERRFILE.
 *
 *   timed-start [-e ERRFILE] -- PROGRAM [ARG]...
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>

#include "util.h"

int main(int argc, char **argv)
{
	const char *errfile = "/dev/null";
	char buf[4096], line[64] = "";
	size_t got = 0;
	uint64_t start, first = 0, end;
	int p[2], c, status;
	bool have_line = false;
	pid_t pid;

	while ((c = getopt(argc, argv, "+e:")) >= 0) {
		if (c != 'e') {
			fprintf(stderr, "usage: timed-start [-e ERRFILE] -- PROG [ARG]...\n");
			return 2;
		}
		errfile = optarg;
	}
	if (optind >= argc || pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "timed-start: no program, or no pipe\n");
		return 2;
	}
	start = now_usec();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "timed-start: fork: %m\n");
		return 2;
	}
	if (pid == 0) {
		int efd = open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nfd = open("/dev/null", O_RDONLY);

		if (efd < 0 || nfd < 0 || dup2(nfd, 0) < 0 || dup2(p[1], 1) < 0 || dup2(efd, 2) < 0)
			_exit(126);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && !have_line; i++) {
			if (buf[i] == '\n') {
				have_line = true;
				break;
			}
			if (got < sizeof(line) - 1)
				line[got++] = buf[i];
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "timed-start: waitpid: %m\n");
			return 2;
		}
	end = now_usec();
	if (have_line && sscanf(line, "%" SCNu64, &first) != 1)
		have_line = false;
	printf("%lld %llu %d\n", have_line && first >= start ? (long long)(first - start) : -1LL,
	       (unsigned long long)(end - start),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
