/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The task VM's init (PID 1 of the guest): internal interfaces between its files. It is built
 * static (libc only) and is, with the kernel's modules, all the initramfs holds.
 */
#ifndef TP_GUEST_H
#define TP_GUEST_H

#include <stdbool.h>
#include <sys/types.h>

#include "vm-proto.h"

/* The console: errors always, steps with tp.debug. */
void guest_log(const char *fmt, ...) __attribute__((__format__(printf, 1, 2)));
void guest_debug(const char *fmt, ...) __attribute__((__format__(printf, 1, 2)));

/* net.c: lo up, then each tp.net interface (found by MAC, renamed, MTU, address, up), routes. */
int guest_net_setup(const struct vm_guest_config *c);

/* container.c */
struct guest_container {
	const struct vm_container *spec;
	unsigned int index;
	pid_t pid;  /* 0 before the start, and after it was reaped */
	int out_fd; /* read ends of its stdout and stderr, -1 after EOF */
	int err_fd;
	int status; /* wait status, once reaped */
	bool started;
	bool reaped;
	bool exit_sent;
	bool killed;   /* SIGKILL sent at the stop deadline */
	char root[64]; /* where its root file system is mounted in the guest */
	bool root_mounted;
};

/* The /dev/vdX of the virtio-blk drive with this serial, into buf; -ENOENT. */
int guest_drive_find(const char *serial, char *buf, size_t size);
/*
 * Mount the task's drives under /run/tp/drives/SERIAL, each once, and bind each volume (a drive
 * or a directory of one) on /run/tp/volumes/NAME.
 */
int guest_volumes_mount(const struct vm_spec *spec, char **ret_error);
/* Mount a container's root under /run/tp/roots/NAME. */
int guest_root_mount(struct guest_container *c, char **ret_error);
/*
 * Start one container: its own mount, PID, UTS and IPC namespaces, its root pivoted to, its
 * volumes, /proc, /sys, /dev, the task's resolv.conf, hosts and hostname, its user, groups,
 * working directory, environment and command. *ret_error says what failed.
 */
int guest_container_start(const struct vm_spec *spec, struct guest_container *c,
			  const char *hostname, char **ret_error);
/* Mount cgroup2 on /sys/fs/cgroup and enable cpu and memory for the containers' cgroups. */
int guest_cgroup_setup(void);
/* A container's cgroup figures: cpu.stat usage_usec, memory.current, memory.peak. */
void guest_container_stats(const struct guest_container *c, struct vm_stats *ret);
/* The task's drives (each once): bytes used and their size, from statvfs. */
void guest_storage_stats(const struct vm_spec *spec, struct vm_stats *ret);
/* Unmount every root, volume and drive (after the containers are gone). */
void guest_unmount_all(void);

#endif
