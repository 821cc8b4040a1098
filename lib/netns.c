// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "netns.h"
#include "util.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int netns_open(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;

	if (!path || path[0] != '/')
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	/* A bind mount of an nsfs file, or /proc/PID/ns/net itself. */
	if ((unsigned long)sfs.f_type != (unsigned long)NSFS_MAGIC)
		return -EINVAL;
	/* An nsfs file of another type (mnt, pid...) is refused by setns(CLONE_NEWNET) later;
	 * check now so that callers get a clear error before changing anything. */
	{
		int saved = -1, r;

		r = netns_enter(fd, &saved);
		if (r < 0)
			return r == -EINVAL ? -EINVAL : r;
		r = netns_restore(saved);
		if (r < 0)
			return r;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int netns_get_id(int fd, struct netns_id *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	ret->dev = (uint64_t)st.st_dev;
	ret->ino = (uint64_t)st.st_ino;
	return 0;
}

int netns_open_self(int *ret_fd)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

bool netns_id_equal(const struct netns_id *a, const struct netns_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

int netns_enter(int fd, int *ret_saved)
{
	int saved = -1, r;

	r = netns_open_self(&saved);
	if (r < 0)
		return r;
	if (setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(saved);
		return r;
	}
	*ret_saved = saved;
	return 0;
}

int netns_restore(int saved)
{
	int r = 0;

	if (saved < 0)
		return 0;
	if (setns(saved, CLONE_NEWNET) < 0)
		r = -errno;
	close(saved);
	return r;
}

int netns_socket(int fd, int domain, int type, int protocol)
{
	int saved = -1, sock, r;

	if (fd < 0)
		return RET_NERRNO(socket(domain, type, protocol));
	r = netns_enter(fd, &saved);
	if (r < 0)
		return r;
	sock = RET_NERRNO(socket(domain, type, protocol));
	r = netns_restore(saved);
	if (r < 0) {
		/* The thread is stuck in the other namespace: say so rather than go on there. */
		safe_close(sock);
		return r;
	}
	return sock;
}

int netns_create(const char *path)
{
	_cleanup_close_ int fd = -1;
	int saved = -1, r, k;

	if (!path || path[0] != '/')
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	fd = safe_close(fd);
	r = netns_open_self(&saved);
	if (r < 0)
		goto out_unlink;
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		close(saved);
		goto out_unlink;
	}
	r = RET_NERRNO(mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL));
	k = netns_restore(saved);
	if (r >= 0 && k < 0) {
		/* The thread stayed in the new namespace: say so rather than go on there. */
		umount2(path, MNT_DETACH);
		r = k;
	}
	if (r >= 0)
		return 0;
out_unlink:
	unlink(path);
	return r;
}

int netns_sysctl_write(int fd, const char *path, const char *value)
{
	char file[256];
	int saved = -1, f, r, k;

	if ((size_t)snprintf(file, sizeof(file), "/proc/sys/%s", path) >= sizeof(file) ||
	    strstr(path, ".."))
		return -EINVAL;
	r = netns_enter(fd, &saved);
	if (r < 0)
		return r;
	/* /proc/sys/net is the namespace of whoever opens it */
	f = open(file, O_WRONLY | O_CLOEXEC);
	r = f < 0 ? -errno : write_all(f, value, strlen(value));
	safe_close(f);
	k = netns_restore(saved);
	return r < 0 ? r : k;
}

int netns_remove(const char *path)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
