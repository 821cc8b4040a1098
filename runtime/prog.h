/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Running helper programs (mkfs.ext4, runc): posix_spawn with the given stdio, every other fd
 * closed, signals unblocked and at their defaults (the caller may block SIGCHLD for a signalfd;
 * a container must not inherit that), an optional capture of the output, and a deadline.
 */
#ifndef TP_PROG_H
#define TP_PROG_H

#include <stdbool.h>
#include <sys/types.h>

/* Output kept for an error message; the rest is read and dropped. */
#define PROG_OUTPUT_MAX 4096

struct prog_opts {
	/* the child's stdin, stdout and stderr; 0 (unset) means /dev/null */
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	/*
	 * prog_run(): collect stdout and stderr (instead of the fds above) into *ret_output. Only
	 * for programs that leave nothing running behind them holding the pipe.
	 */
	bool capture;
	unsigned int timeout_ms; /* prog_run(): SIGKILL and -ETIMEDOUT after this; 0 = 60 s */
	/*
	 * > 2: a close-on-exec descriptor left open until the exec, which closes it: argv[0] may
	 * be (a symbolic link to) /proc/self/fd/keep_fd, to run the file it holds.
	 */
	int keep_fd;
};

/* Start argv[0] (searched in PATH when it has no '/'); does not wait. */
int prog_start(char *const argv[], const struct prog_opts *o, pid_t *ret_pid);
/*
 * Start argv and wait for it (blocking, bounded by o->timeout_ms). *ret_status gets the wait
 * status; *ret_output (if not NULL and o->capture) what it wrote, NUL-terminated, at most
 * PROG_OUTPUT_MAX bytes. Waits for that pid only: other children stay for the caller to reap.
 * Needs pidfd_open() (Linux 5.3).
 */
int prog_run(char *const argv[], const struct prog_opts *o, int *ret_status, char **ret_output);
/* "exit status 1", "killed by signal 9": a wait status in words. */
void prog_status_str(int status, char *buf, size_t size);

#endif
