/* SPDX-License-Identifier: GPL-2.0-only */
/* Network namespaces: open by path, identify, enter and leave (single-threaded callers). */
#ifndef TP_NETNS_H
#define TP_NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A namespace's identity: the nsfs device and inode of its file. */
struct netns_id {
	uint64_t dev;
	uint64_t ino;
};

/* Open a network namespace file (e.g. /run/netns/x, /proc/PID/ns/net); -ENOENT if gone,
 * -EINVAL if the path is not a network namespace. */
int netns_open(const char *path, int *ret_fd);
/* The identity of an open namespace fd. */
int netns_get_id(int fd, struct netns_id *ret);
/* The namespace of the calling thread. */
int netns_open_self(int *ret_fd);
/* Same namespace? */
bool netns_id_equal(const struct netns_id *a, const struct netns_id *b);
/* Switch the calling thread to fd's namespace; *ret_saved gets an fd to switch back with. */
int netns_enter(int fd, int *ret_saved);
/* Switch back and close saved. */
int netns_restore(int saved);
/*
 * Create a new network namespace and keep it at path (a new file, bind-mounted from the calling
 * thread's new namespace, as `ip netns add` does); the thread comes back to its own namespace.
 * -EEXIST if path exists. The directory must exist.
 */
int netns_create(const char *path);
/*
 * Write value to the sysctl at path (below /proc/sys, e.g. "net/ipv6/conf/all/disable_ipv6") of
 * the network namespace fd: the calling thread enters it for the write only.
 */
int netns_sysctl_write(int fd, const char *path, const char *value);
/* Remove a namespace made by netns_create() (unmount, unlink); 0 if it is not there. */
int netns_remove(const char *path);
/*
 * socket(2) in the network namespace fd (-1: the caller's): the calling thread enters it for
 * the call only. Returns the socket or -errno.
 */
int netns_socket(int fd, int domain, int type, int protocol);

#endif
