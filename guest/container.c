// SPDX-License-Identifier: GPL-2.0-only
/*
 * The task's containers inside the VM. Each one's root file system is an ext4 drive (found by
 * its virtio-blk serial), the task's volumes are ext4 drives, or directories of them, each drive
 * mounted once, each volume bound to /run/tp/volumes/NAME and from there into the containers that
 * name it. A container runs in its own mount, PID, UTS and IPC namespaces
 * (the VM is the task's isolation boundary; the namespaces keep its containers apart as on the
 * runc path) with its root pivoted to, /proc, /sys (read-only), a /dev of its own, and the task's
 * resolv.conf, hosts and hostname.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guest.h"

#define ROOTS_DIR   "/run/tp/roots"
#define IMAGES_DIR  "/run/tp/images"
#define DRIVES_DIR  "/run/tp/drives"
#define VOLUMES_DIR "/run/tp/volumes"
#define CGROUP_DIR  "/sys/fs/cgroup"
/*
 * A container's cgroup: CGROUP_PREFIX NAME. The prefix keeps a name from being one of cgroupfs's
 * own files (controller.file) or "." and "..", which vm-proto's names may be.
 */
#define CGROUP_PREFIX CGROUP_DIR "/ctr-"

static int fail(char **ret_error, int r, const char *fmt, ...)
	__attribute__((__format__(printf, 3, 4)));
static int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (ret_error)
		*ret_error = s;
	else
		free(s);
	return r;
}

/* mkdir -p of an absolute path (0755). */
static int mkdir_parents(const char *path, bool last)
{
	char tmp[4096], *p;

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (last && mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Write a short string to a (cgroup) file; -errno. */
static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int guest_cgroup_setup(void)
{
	if (mount("cgroup2", CGROUP_DIR, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	return write_str(CGROUP_DIR "/cgroup.subtree_control", "+cpu +memory");
}

/*
 * runc's cpu shares to cpu.weight (libcontainer's ConvertCPUSharesToCgroupV2Value): [2-262144]
 * onto [1-10000] linearly.
 */
static uint64_t cpu_weight(uint64_t shares)
{
	return 1 + ((shares - 2) * 9999) / 262142;
}

/* The first number of a (cgroup) file, or of its line starting with key; -errno. */
static int read_u64(const char *path, const char *key, uint64_t *ret)
{
	char buf[4096], *p = buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (key) {
		size_t klen = strlen(key);

		for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
			if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
				break;
		if (!p)
			return -ENOENT;
		p += klen + 1;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	*ret = strtoull(p, NULL, 10);
	return 0;
}

void guest_container_stats(const struct guest_container *c, struct vm_stats *ret)
{
	char path[256];

	*ret = (struct vm_stats){};
	snprintf(path, sizeof(path), CGROUP_PREFIX "%s/cpu.stat", c->spec->name);
	ret->has_cpu = read_u64(path, "usage_usec", &ret->cpu_usec) == 0;
	snprintf(path, sizeof(path), CGROUP_PREFIX "%s/memory.current", c->spec->name);
	ret->has_memory = read_u64(path, NULL, &ret->memory) == 0;
	snprintf(path, sizeof(path), CGROUP_PREFIX "%s/memory.peak", c->spec->name);
	ret->has_memory_peak = read_u64(path, NULL, &ret->memory_peak) == 0;
}

void guest_storage_stats(const struct vm_spec *spec, struct vm_stats *ret)
{
	*ret = (struct vm_stats){};
	for (size_t i = 0; i < spec->n_volumes; i++) {
		const char *serial = spec->volumes[i].serial;
		char drive[128];
		struct statvfs st;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= strcmp(spec->volumes[j].serial, serial) == 0;
		snprintf(drive, sizeof(drive), DRIVES_DIR "/%s", serial);
		if (seen || statvfs(drive, &st) < 0)
			continue;
		ret->storage_used += (uint64_t)(st.f_blocks - st.f_bfree) * st.f_frsize;
		ret->storage_size += (uint64_t)st.f_blocks * st.f_frsize;
		ret->has_storage = true;
	}
}

/* The container's cgroup, CGROUP_PREFIX NAME, with its limits. */
static int cgroup_make(const struct vm_container *s, char **ret_error)
{
	char path[256], file[300], v[32];
	int r;

	snprintf(path, sizeof(path), CGROUP_PREFIX "%s", s->name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return fail(ret_error, -errno, "cgroup %s: %m", path);
	if (s->memory_max) {
		snprintf(file, sizeof(file), "%s/memory.max", path);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)s->memory_max);
		r = write_str(file, v);
		if (r < 0)
			return fail(ret_error, r, "%s = %s: %s", file, v, strerror(-r));
	}
	if (s->cpu_shares) {
		snprintf(file, sizeof(file), "%s/cpu.weight", path);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)cpu_weight(s->cpu_shares));
		r = write_str(file, v);
		if (r < 0)
			return fail(ret_error, r, "%s = %s: %s", file, v, strerror(-r));
	}
	return 0;
}

int guest_drive_find(const char *serial, char *buf, size_t size)
{
	struct dirent *de;
	DIR *d = opendir("/sys/block");
	int r = -ENOENT;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300], s[VM_SERIAL_MAX + 2] = "";
		ssize_t n;
		int fd;

		if (strncmp(de->d_name, "vd", 2) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/serial", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, s, sizeof(s) - 1);
		close(fd);
		if (n <= 0)
			continue;
		s[n] = '\0';
		s[strcspn(s, "\n")] = '\0';
		if (strcmp(s, serial) == 0) {
			snprintf(buf, size, "/dev/%s", de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

static int mount_drive(const char *serial, const char *where, bool readonly, char **ret_error)
{
	char dev[64];
	int r;

	r = guest_drive_find(serial, dev, sizeof(dev));
	if (r < 0)
		return fail(ret_error, r, "no drive with serial '%s'", serial);
	r = mkdir_parents(where, true);
	if (r < 0)
		return fail(ret_error, r, "mkdir %s: %s", where, strerror(-r));
	if (mount(dev, where, "ext4", MS_NODEV | MS_NOSUID | (readonly ? MS_RDONLY : 0), NULL) < 0)
		return fail(ret_error, -errno, "mount %s (serial '%s') on %s: %m", dev, serial,
			    where);
	guest_debug("%s (serial '%s') on %s", dev, serial, where);
	return 0;
}

int guest_volumes_mount(const struct vm_spec *spec, char **ret_error)
{
	for (size_t i = 0; i < spec->n_volumes; i++) {
		const struct vm_volume *v = &spec->volumes[i];
		char drive[128], src[128 + VM_DIR_MAX + 2], where[128];
		bool mounted = false;
		struct stat st;
		int r;

		/* each drive once, whatever the number of its volumes */
		snprintf(drive, sizeof(drive), DRIVES_DIR "/%s", v->serial);
		for (size_t j = 0; j < i; j++)
			mounted |= strcmp(spec->volumes[j].serial, v->serial) == 0;
		if (!mounted) {
			r = mount_drive(v->serial, drive, false, ret_error);
			if (r < 0)
				return r;
		}
		/*
		 * The volume's directory (the host made it; made here if not). vm-proto checked it
		 * is relative without "..": below the drive, unless a symlink leads out, and only
		 * this init wrote the drive since the host made it, before any container runs.
		 */
		snprintf(src, sizeof(src), "%s%s%s", drive, v->dir ? "/" : "",
			 v->dir ? v->dir : "");
		if (v->dir) {
			r = mkdir_parents(src, true);
			if (r < 0)
				return fail(ret_error, r, "volume '%s': mkdir %s: %s", v->name, src,
					    strerror(-r));
			if (lstat(src, &st) < 0 || !S_ISDIR(st.st_mode))
				return fail(ret_error, -ENOTDIR,
					    "volume '%s': %s is not a directory", v->name, src);
		}
		snprintf(where, sizeof(where), VOLUMES_DIR "/%s", v->name);
		r = mkdir_parents(where, true);
		if (r < 0)
			return fail(ret_error, r, "mkdir %s: %s", where, strerror(-r));
		if (mount(src, where, NULL, MS_BIND, NULL) < 0)
			return fail(ret_error, -errno, "volume '%s': bind %s on %s: %m", v->name,
				    src, where);
		guest_debug("volume %s: %s", v->name, src);
	}
	return 0;
}

int guest_root_mount(struct guest_container *c, char **ret_error)
{
	char image[64], upper[256], work[256], opts[700];
	const struct vm_container *s = c->spec;
	int r;

	snprintf(c->root, sizeof(c->root), ROOTS_DIR "/%u", c->index);
	if (!s->upper) {
		r = mount_drive(s->root, c->root, s->readonly_root, ret_error);
		if (r == 0)
			c->root_mounted = true;
		return r;
	}
	/* The image read-only below, the container's writes on the task's volume above. */
	snprintf(image, sizeof(image), IMAGES_DIR "/%u", c->index);
	r = mount_drive(s->root, image, true, ret_error);
	if (r < 0)
		return r;
	snprintf(upper, sizeof(upper), VOLUMES_DIR "/%s/.tp-rootfs/%s/upper", s->upper, s->name);
	snprintf(work, sizeof(work), VOLUMES_DIR "/%s/.tp-rootfs/%s/work", s->upper, s->name);
	r = mkdir_parents(upper, true);
	if (r == 0)
		r = mkdir_parents(work, true);
	if (r == 0)
		r = mkdir_parents(c->root, true);
	if (r < 0)
		return fail(ret_error, r, "%s: the overlay's directories: %s", s->name,
			    strerror(-r));
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", image, upper, work);
	if (mount("overlay", c->root, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return fail(ret_error, -errno, "%s: overlay root: %m", s->name);
	guest_debug("overlay on %s: %s", c->root, opts);
	c->root_mounted = true;
	return 0;
}

/* Unmount everything below dir, then the directories. */
static void unmount_below(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (umount2(path, 0) < 0 && errno != EINVAL)
			guest_log("umount %s: %m", path);
	}
	closedir(d);
}

void guest_unmount_all(void)
{
	unmount_below(ROOTS_DIR);
	unmount_below(IMAGES_DIR);
	unmount_below(VOLUMES_DIR);
	unmount_below(DRIVES_DIR);
	sync();
}

/* --- in the child, before exec: report failures through the error pipe -------------------- */

static int child_fd = -1;

static void __attribute__((noreturn, format(printf, 1, 2))) child_die(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && child_fd >= 0)
		(void)!write(child_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	_exit(127);
}

/* path below root (a validated absolute path: no ".." components). */
static void below(char *buf, size_t size, const char *root, const char *path)
{
	if ((size_t)snprintf(buf, size, "%s%s", root, path) >= size)
		child_die("path '%s' is too long", path);
}

static void child_mount(const char *src, const char *target, const char *type, unsigned long flags,
			const char *data)
{
	if (mount(src, target, type, flags, data) < 0)
		child_die("mount %s on %s: %m", type ? type : src ? src : "(remount)", target);
}

static void child_mkdir(const char *path)
{
	int r = mkdir_parents(path, true);

	if (r < 0)
		child_die("mkdir %s: %s", path, strerror(-r));
}

/* A /dev of the container's own: a tmpfs with the usual nodes, devpts, shm. */
static void child_dev(const char *root)
{
	static const struct {
		const char *name;
		unsigned int major, minor;
	} nodes[] = { { "null", 1, 3 },	  { "zero", 1, 5 },    { "full", 1, 7 },
		      { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
	char dev[4200], path[4300];

	below(dev, sizeof(dev), root, "/dev");
	child_mkdir(dev);
	child_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, "mode=755");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
			child_die("mknod %s: %m", path);
		chmod(path, 0666);
	}
	snprintf(path, sizeof(path), "%s/pts", dev);
	child_mkdir(path);
	child_mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
		    "newinstance,ptmxmode=0666,mode=620");
	snprintf(path, sizeof(path), "%s/ptmx", dev);
	if (symlink("pts/ptmx", path) < 0)
		child_die("symlink %s: %m", path);
	snprintf(path, sizeof(path), "%s/shm", dev);
	child_mkdir(path);
	child_mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777");
	snprintf(path, sizeof(path), "%s/fd", dev);
	(void)!symlink("/proc/self/fd", path);
	snprintf(path, sizeof(path), "%s/stdin", dev);
	(void)!symlink("/proc/self/fd/0", path);
	snprintf(path, sizeof(path), "%s/stdout", dev);
	(void)!symlink("/proc/self/fd/1", path);
	snprintf(path, sizeof(path), "%s/stderr", dev);
	(void)!symlink("/proc/self/fd/2", path);
}

/* The task's file over root/etc/NAME, if the image has an /etc (created when missing). */
static void child_etc_file(const char *root, const char *name, bool readonly_root)
{
	char src[128], dst[4200];
	struct stat st;
	int fd;

	snprintf(src, sizeof(src), "/run/tp/%s", name);
	if (stat(src, &st) < 0)
		return;
	below(dst, sizeof(dst), root, "/etc");
	if (stat(dst, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	strncat(dst, "/", sizeof(dst) - strlen(dst) - 1);
	strncat(dst, name, sizeof(dst) - strlen(dst) - 1);
	if (lstat(dst, &st) < 0) {
		if (readonly_root)
			return;
		fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			child_die("create %s: %m", dst);
		close(fd);
	} else if (!S_ISREG(st.st_mode)) {
		return; /* a symlink in the image: leave it be */
	}
	child_mount(src, dst, NULL, MS_BIND, NULL);
	child_mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

/*
 * The process runc makes of an OCI process with these capabilities and rlimits: the limits set
 * while still root, the bounding set dropped, the user changed keeping the permitted set, then
 * effective = permitted = the set, no inheritable and no ambient capabilities. An exec by a
 * non-root user then ends with none, as under runc. noNewPrivileges stays off, as in oci.c.
 */
static void child_confine(const struct vm_container *s)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

	if (s->nofile_hard) {
		struct rlimit rl = { .rlim_cur = s->nofile_soft, .rlim_max = s->nofile_hard };

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			child_die("setrlimit RLIMIT_NOFILE %llu:%llu: %m",
				  (unsigned long long)s->nofile_soft,
				  (unsigned long long)s->nofile_hard);
	}
	/* every capability the kernel knows (it says EINVAL past the last) */
	for (unsigned int cap = 0; cap < 64; cap++) {
		if (s->caps & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			child_die("drop capability %u from the bounding set: %m", cap);
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		child_die("PR_SET_KEEPCAPS: %m");
	if (setgroups(s->n_groups, s->groups) < 0)
		child_die("setgroups: %m");
	if (setgid(s->gid) < 0)
		child_die("setgid %u: %m", (unsigned int)s->gid);
	if (setuid(s->uid) < 0)
		child_die("setuid %u: %m", (unsigned int)s->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		child_die("PR_SET_KEEPCAPS: %m");
	/* the kernel's bounding set already lacks what it does not know: keep to it */
	for (unsigned int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t set = (uint32_t)(s->caps >> (32 * i));

		for (unsigned int b = 0; b < 32; b++)
			if ((set & (1U << b)) && prctl(PR_CAPBSET_READ, 32 * i + b, 0, 0, 0) != 1)
				set &= ~(1U << b);
		d[i].effective = d[i].permitted = set;
	}
	if (syscall(SYS_capset, &h, d) < 0)
		child_die("capset: %m");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		child_die("clear the ambient capabilities: %m");
}

static void child_setup(const struct vm_spec *spec, const struct guest_container *c,
			const char *hostname)
{
	const struct vm_container *s = c->spec;
	char path[4200];

	if (setsid() < 0)
		child_die("setsid: %m");
	/* its cgroup, and a cgroup namespace rooted there (runc's default on cgroup v2) */
	snprintf(path, sizeof(path), CGROUP_PREFIX "%s/cgroup.procs", s->name);
	if (write_str(path, "0") < 0)
		child_die("join %s: %m", path);
	if (unshare(CLONE_NEWCGROUP) < 0)
		child_die("cgroup namespace: %m");
	child_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	/* pivot_root wants a mount point */
	child_mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL);

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct vm_mount *m = &s->mounts[i];
		char src[128];

		snprintf(src, sizeof(src), VOLUMES_DIR "/%s", m->volume);
		below(path, sizeof(path), c->root, m->path);
		child_mkdir(path);
		child_mount(src, path, NULL, MS_BIND, NULL);
		if (m->readonly)
			child_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	}
	below(path, sizeof(path), c->root, "/proc");
	child_mkdir(path);
	child_mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	below(path, sizeof(path), c->root, "/sys");
	child_mkdir(path);
	child_mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	below(path, sizeof(path), c->root, CGROUP_DIR);
	child_mount("cgroup2", path, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	child_dev(c->root);
	child_etc_file(c->root, "resolv.conf", s->readonly_root);
	child_etc_file(c->root, "hosts", s->readonly_root);
	child_etc_file(c->root, "hostname", s->readonly_root);
	if (hostname[0] && sethostname(hostname, strlen(hostname)) < 0)
		child_die("sethostname: %m");

	if (chdir(c->root) < 0)
		child_die("chdir %s: %m", c->root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_die("pivot_root: %m");
	if (umount2(".", MNT_DETACH) < 0)
		child_die("umount the old root: %m");
	if (chdir("/") < 0)
		child_die("chdir /: %m");
	if (s->readonly_root)
		child_mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	if (chdir(s->cwd ? s->cwd : "/") < 0)
		child_die("working directory %s: %m", s->cwd);
	(void)spec;
	child_confine(s);
}

int guest_container_start(const struct vm_spec *spec, struct guest_container *c,
			  const char *hostname, char **ret_error)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, status[2] = { -1, -1 }, r;
	char msg[512];
	ssize_t n;
	pid_t pid;

	r = cgroup_make(c->spec, ret_error);
	if (r < 0)
		return r;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(status, O_CLOEXEC) < 0) {
		r = fail(ret_error, -errno, "pipe: %m");
		goto out_close;
	}
	/* A fork into new namespaces: the child is PID 1 of its own PID namespace. */
	pid = syscall(SYS_clone, SIGCHLD | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC,
		      NULL, NULL, NULL, NULL);
	if (pid < 0) {
		r = fail(ret_error, -errno, "clone: %m");
		goto out_close;
	}
	if (pid == 0) {
		const struct vm_container *s = c->spec;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		sigset_t all;

		child_fd = status[1];
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			child_die("stdio: %m");
		child_setup(spec, c, hostname);
		environ = s->env ? s->env : (char *[]){ NULL };
		execvp(s->argv[0], s->argv);
		child_die("exec %s: %m", s->argv[0]);
	}
	close(out[1]);
	close(err[1]);
	close(status[1]);
	/* The error pipe closes on exec (success) or carries what failed. */
	do
		n = read(status[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(status[0]);
	c->pid = pid;
	c->out_fd = out[0];
	c->err_fd = err[0];
	c->started = true;
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	if (n > 0) {
		msg[n] = '\0';
		return fail(ret_error, -ENOEXEC, "%s", msg);
	}
	return 0;

out_close:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (status[i] >= 0)
			close(status[i]);
	}
	return r;
}
