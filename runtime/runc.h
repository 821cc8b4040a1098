/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Containers with runc (1.1): create, start, kill, delete, state and list through its command
 * line, with a runc --root per task. Each call execs runc and waits for it (blocking: tens of
 * milliseconds; bounded by opts.timeout_ms), so a single-threaded caller stays simple, but for
 * runc create, which may also run while the caller's loop goes on (runc_create_spawn()); the
 * start is runc's own exec.fifo protocol, without an exec (runc_start()).
 *
 * Who waits for what. runc create forks the container's init and exits; the init then belongs to
 * the nearest child subreaper. The caller makes itself one (prctl(PR_SET_CHILD_SUBREAPER, 1))
 * before runc_create(): the container's init becomes its child, its exit arrives as SIGCHLD and
 * the caller reaps it (waitpid) and reads the exit status there. runc_*() reap only the runc
 * process they started (waitpid on its pid), so a caller's SIGCHLD handler may reap any other
 * child, and must leave runc's to these calls (it can: they return before the loop runs again);
 * the runc of runc_create_spawn() is the caller's to reap.
 * After the container's exit, runc_delete() removes runc's state and the container's cgroup.
 *
 * Non-logging: errors as -errno, and *ret_error with runc's own message.
 */
#ifndef TP_RUNC_H
#define TP_RUNC_H

#include <stdbool.h>
#include <sys/types.h>

#define RUNC_TIMEOUT_MS_DEFAULT 30000

struct runc_opts {
	const char *binary;	 /* NULL = "runc" from PATH */
	const char *root;	 /* runc --root: the task's container state (created by runc) */
	unsigned int timeout_ms; /* per command; 0 = RUNC_TIMEOUT_MS_DEFAULT */
	/* > 2: runc's sealed copy (runc_copy_open()), kept open for binary, a symbolic link to
	 * /proc/self/fd/copy_fd, to run */
	int copy_fd;
};

struct runc_create_opts {
	const char *id;	    /* the container's id (runc_id_valid()) */
	const char *bundle; /* a directory with config.json (oci_bundle_write()) */
	/* the container's stdin, stdout, stderr (pipes or files); 0 = /dev/null */
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
};

/* runc's view of a container. */
struct runc_state {
	char status[16]; /* "created", "running", "paused", "stopped" */
	pid_t pid;	 /* its init, 0 when stopped */
};

/* 1-128 letters, digits, '-', '_' and '.', not starting with '.' (safe as a file name). */
bool runc_id_valid(const char *id);

/*
 * runc create: the container's init is set up and waits for runc_start(). *ret_pid gets its pid
 * (from bundle/init.pid). runc's log goes to bundle/runc.log; on failure *ret_error has its error.
 */
int runc_create(const struct runc_opts *r, const struct runc_create_opts *o, pid_t *ret_pid,
		char **ret_error);
/*
 * The same in two halves, for a caller whose loop goes on meanwhile: runc_create_spawn() starts
 * runc create and does not wait (*ret_runc_pid: runc's pid, for the caller to reap and to bound
 * in time); runc_create_finish() takes runc's wait status once reaped and gives the init's pid,
 * or runc's error.
 */
int runc_create_spawn(const struct runc_opts *r, const struct runc_create_opts *o,
		      pid_t *ret_runc_pid, char **ret_error);
int runc_create_finish(const struct runc_create_opts *o, int status, pid_t *ret_pid,
		       char **ret_error);
/*
 * runc create renames the init's pid file into the bundle once the container is created, and
 * then only exits (about 1 ms of its Go runtime's teardown, on a task's start path). A caller
 * of runc_create_spawn() learns of the creation that much earlier by watching the bundle:
 * runc_create_watch() (before the spawn) gives an inotify descriptor, readable when something
 * lands in the bundle; runc_create_check() reads its events and gives 1 and the init's pid
 * once runc has written the pid file, 0 until then. runc is still the caller's to reap.
 */
int runc_create_watch(const struct runc_create_opts *o, int *ret_fd, char **ret_error);
int runc_create_check(const struct runc_create_opts *o, int fd, pid_t *ret_pid);
/*
 * runc start: the container's process runs. As runc start does it, through runc's exec.fifo in
 * the container's state directory (no exec of runc); `runc start` when there is none. pid: its
 * init (runc_create()'s), so that an init that died is an error at once (0: not checked).
 */
int runc_start(const struct runc_opts *r, const char *id, pid_t pid, char **ret_error);
/* runc kill: signal the container's init (the caller may also kill(2) its pid while it is its
 * unreaped child). */
int runc_kill(const struct runc_opts *r, const char *id, int signo, char **ret_error);
/* runc delete: remove a stopped container (force: kill it first). -ENOENT if runc does not know
 * it. */
int runc_delete(const struct runc_opts *r, const char *id, bool force, char **ret_error);
/* runc state. -ENOENT if runc does not know it. */
int runc_state(const struct runc_opts *r, const char *id, struct runc_state *ret, char **ret_error);
/* The ids runc knows under its root (runc list), NULL-terminated; an empty list if no root. */
int runc_list(const struct runc_opts *r, char ***ret_ids, char **ret_error);
/*
 * Delete (force) every container under the root, then remove the root: the teardown of a task's
 * containers from what is on disk, also after a crash. Idempotent.
 */
int runc_teardown(const struct runc_opts *r, char **ret_error);

/*
 * A sealed in-memory copy of runc's binary (binary: a path, or a name looked up in PATH; NULL =
 * "runc"): a memfd, close-on-exec, sealed against any change (F_SEAL_SEAL, SHRINK, GROW, WRITE).
 * runc's init (1.1) copies the binary it runs from into such a memfd before it enters a
 * container (CVE-2019-5736), unless it already runs from one: exec'd from this copy
 * (runc_opts.copy_fd), every runc create skips that copy and its re-exec, and one copy serves
 * every container (the way runc's memfd-bind does it). -ENOEXEC if the binary is not an ELF
 * executable (a wrapper script: it is run by its path). *ret_id: what the binary was (its
 * device, inode, size and change time), for runc_copy_stale().
 */
struct runc_copy_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	long long ctime_ns;
};
int runc_copy_open(const char *binary, int *ret_fd, struct runc_copy_id *ret_id, char **ret_error);
/* Is the binary behind id no longer what it was (replaced, changed, gone)? */
bool runc_copy_stale(const char *binary, const struct runc_copy_id *id);
/* Is fd a copy as runc_copy_open() makes them (a memfd with exactly those seals)? */
bool runc_copy_valid(int fd);

#endif
