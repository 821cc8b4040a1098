// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include "prog.h"
#include "util.h"

extern char **environ;

#define PROG_TIMEOUT_MS_DEFAULT 60000

static int prog_spawn(char *const argv[], const struct prog_opts *o, int out_fd, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int fds[3] = { o->stdin_fd, out_fd >= 0 ? out_fd : o->stdout_fd,
		       out_fd >= 0 ? out_fd : o->stderr_fd };
	_cleanup_close_ int null_fd = -1;
	sigset_t none, all;
	int r;

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return -errno;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	for (int i = 0; i < 3 && !r; i++)
		r = posix_spawn_file_actions_adddup2(&fa, fds[i] > 0 ? fds[i] : null_fd, i);
	/*
	 * Every other descriptor closed, but keep_fd: open until the exec, which closes it
	 * (close-on-exec). Closing one that is not open is no error to posix_spawn.
	 */
	for (int fd = 3; fd < o->keep_fd && !r; fd++)
		r = posix_spawn_file_actions_addclose(&fa, fd);
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa,
							     o->keep_fd > 2 ? o->keep_fd + 1 : 3);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!r)
		r = strchr(argv[0], '/')
			    ? posix_spawn(ret_pid, argv[0], &fa, &attr, argv, environ)
			    : posix_spawnp(ret_pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int prog_start(char *const argv[], const struct prog_opts *o, pid_t *ret_pid)
{
	return prog_spawn(argv, o, -1, ret_pid);
}

void prog_status_str(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned int)status);
}

/* Read what the pipe has; keep the first PROG_OUTPUT_MAX bytes. Returns 0 at EOF, 1 if more. */
static int drain(int fd, char *buf, size_t *len)
{
	char scratch[4096];

	for (;;) {
		size_t room = PROG_OUTPUT_MAX - *len;
		ssize_t n = room ? read(fd, buf + *len, room) : read(fd, scratch, sizeof(scratch));

		if (n == 0)
			return 0;
		if (n < 0)
			return errno == EAGAIN ? 1 : errno == EINTR ? 1 : -errno;
		if (room)
			*len += (size_t)n;
	}
}

/* Kill and reap pid; returns r. */
static int kill_reap(pid_t pid, int r)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r;
}

int prog_run(char *const argv[], const struct prog_opts *o, int *ret_status, char **ret_output)
{
	unsigned int timeout = o->timeout_ms ?: PROG_TIMEOUT_MS_DEFAULT;
	_cleanup_close_ int pidfd = -1, rd = -1;
	char out[PROG_OUTPUT_MAX + 1];
	uint64_t deadline;
	size_t len = 0;
	bool eof = true;
	pid_t pid;
	int r, status;

	if (o->capture) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		rd = p[0];
		/* the read end only: a non-blocking stdout would fail the child's writes */
		if (fcntl(rd, F_SETFL, O_NONBLOCK) < 0) {
			safe_close(p[1]);
			return -errno;
		}
		r = prog_spawn(argv, o, p[1], &pid);
		safe_close(p[1]);
		eof = false;
	} else {
		r = prog_start(argv, o, &pid);
	}
	if (r < 0)
		return r;

	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return kill_reap(pid, -errno);
	deadline = now_usec() + (uint64_t)timeout * 1000;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = pidfd, .events = POLLIN },
					 { .fd = eof ? -1 : rd, .events = POLLIN } };
		uint64_t now = now_usec();

		if (now >= deadline)
			return kill_reap(pid, -ETIMEDOUT);
		if (poll(pfd, 2, (int)((deadline - now) / 1000) + 1) < 0 && errno != EINTR)
			return kill_reap(pid, -errno);
		if (!eof && pfd[1].revents)
			eof = drain(rd, out, &len) <= 0;
		if (pfd[0].revents) {
			/* exited: what is left in the pipe is there now, unless a child holds it */
			if (!eof)
				drain(rd, out, &len);
			break;
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_status = status;
	if (ret_output && o->capture) {
		out[len] = '\0';
		*ret_output = strdup(out);
		if (!*ret_output)
			return -ENOMEM;
	}
	return 0;
}
