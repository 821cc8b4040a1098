// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "platform.h"
#include "prog.h"
#include "storage.h"
#include "taskdef.h"
#include "util.h"

#define STORAGE_MAX_VOLUMES 2
#define GIB		    (1024ULL * 1024 * 1024)
#define PREMADE_NEW_SUFFIX  ".spare-new" /* storage_premake()'s, being formatted */
#define MIB		    (1024ULL * 1024)
/* how long teardown waits for the kernel to release a loop device after its unmount */
#define LOOP_RELEASE_USEC (5 * 1000000ULL)

/* Every volume name storage_create() may use: teardown removes these files and nothing else. */
static const char *const volume_names[] = { "ephemeral", "layer", "volumes" };

struct storage_volume {
	const char *name;
	unsigned int size_gib;
	bool has_layers;  /* containers/<name>/upper, work */
	bool has_volumes; /* volumes/<name> */
	char *mount;	  /* mount_dir/<name> */
	char dev[32];	  /* /dev/loopN */
};

struct storage {
	char *state_dir;
	char *mount_dir;
	struct storage_volume vols[STORAGE_MAX_VOLUMES];
	size_t n_vols;
	char devices[2 * 32];
	bool released; /* storage_release(): nothing of it is mounted here any more */
};

struct storage *storage_free(struct storage *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_vols; i++)
		free(s->vols[i].mount);
	free(s->state_dir);
	free(s->mount_dir);
	free(s);
	return NULL;
}

const char *storage_devices(const struct storage *s)
{
	return s->devices;
}

/* snprintf for paths: -ENAMETOOLONG rather than a truncated path. */
_printf_(3, 4) static int pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* mountinfo escapes blanks and the like as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else
			*w++ = *r;
	}
	*w = '\0';
}

/* The mount points at or below dir, in mountinfo order (a mount comes after what it covers). */
static int mounts_below(const char *dir, char ***ret, size_t *ret_n)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char **list = NULL;
	size_t cap = 0, n = 0;
	int r = 0;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], **grown;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape_octal(mnt);
		if (!path_under(mnt, dir))
			continue;
		grown = realloc(list, (n + 2) * sizeof(*list));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		list = grown;
		list[n] = strdup(mnt);
		if (!list[n]) {
			r = -ENOMEM;
			break;
		}
		list[++n] = NULL;
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return r;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void strv_freep(char ***v)
{
	if (!*v)
		return;
	for (char **p = *v; *p; p++)
		free(*p);
	free(*v);
}

/* Unmount everything at or below dir, the top ones first; a busy one is detached (lazily). */
static int unmount_below(const char *dir, char **ret_error)
{
	for (int pass = 0; pass < 4; pass++) {
		_cleanup_(strv_freep) char **list = NULL;
		size_t n = 0;
		int r;

		r = mounts_below(dir, &list, &n);
		if (r < 0)
			return fail_errno(ret_error, r, "cannot read /proc/self/mountinfo: %s",
					  strerror(-r));
		if (n == 0)
			return 0;
		if (pass == 3)
			return fail_errno(ret_error, -EBUSY, "'%s' stays mounted", list[n - 1]);
		for (size_t i = n; i-- > 0;)
			if (umount2(list[i], UMOUNT_NOFOLLOW) < 0 && errno == EBUSY)
				umount2(list[i], UMOUNT_NOFOLLOW | MNT_DETACH);
	}
	return 0;
}

/* Loop devices whose backing file is below dir: call fn(dev number, backing file). */
static int loops_below(const char *dir, int (*fn)(int nr, const char *file, void *data), void *data)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	d = opendir("/sys/block");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX], *file = NULL, *deleted;
		size_t len;
		int nr;

		if (sscanf(de->d_name, "loop%d", &nr) != 1)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", de->d_name);
		if (read_file(path, PATH_MAX, &file, &len) < 0)
			continue; /* not bound */
		while (len > 0 && file[len - 1] == '\n')
			file[--len] = '\0';
		deleted = strstr(file, " (deleted)");
		if (deleted && deleted[strlen(" (deleted)")] == '\0')
			*deleted = '\0';
		if (path_under(file, dir) && r >= 0)
			r = fn(nr, file, data);
		free(file);
	}
	return r;
}

static int loop_clear(int nr, const char *file, void *data)
{
	char dev[32];
	int fd;

	snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* with a user left, this only sets autoclear: the wait below sees whether it went */
	ioctl(fd, LOOP_CLR_FD, 0);
	close(fd);
	return 0;
}

struct loop_busy {
	char msg[PATH_MAX + 64];
	unsigned int n;
};

static int loop_count(int nr, const char *file, void *data)
{
	struct loop_busy *b = data;

	if (!b->n++)
		snprintf(b->msg, sizeof(b->msg), "/dev/loop%d (backed by '%s') is still in use", nr,
			 file);
	return 0;
}

static int detach_loops(const char *state_dir, char **ret_error)
{
	uint64_t deadline = now_usec() + LOOP_RELEASE_USEC;
	int r;

	r = loops_below(state_dir, loop_clear, NULL);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot list loop devices: %s", strerror(-r));
	for (;;) {
		struct loop_busy b = {};

		r = loops_below(state_dir, loop_count, &b);
		if (r < 0)
			return fail_errno(ret_error, r, "cannot list loop devices: %s",
					  strerror(-r));
		if (!b.n)
			return 0;
		if (now_usec() >= deadline)
			return fail_errno(ret_error, -EBUSY, "%s", b.msg);
		usleep(10000);
	}
}

/* Remove a tree of empty directories (mount points); never a file, never across a mount. */
static int rmdir_tree(int parent, const char *name, dev_t dev, char **ret_error)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int fd;

	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || st.st_dev != dev) {
		close(fd);
		return fail_errno(ret_error, -EBUSY, "'%s' is on another file system", name);
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int r;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (de->d_type != DT_DIR)
			return fail_errno(ret_error, -ENOTEMPTY,
					  "'%s' is not a directory the storage made", de->d_name);
		r = rmdir_tree(dirfd(d), de->d_name, dev, ret_error);
		if (r < 0)
			return r;
	}
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Remove the volumes storage_premake() left in state_dir, made or half made (the directory
 * stays). */
static int premade_remove(const char *state_dir, char **ret_error)
{
	static const char *const suffixes[] = { STORAGE_PREMADE_SUFFIX, PREMADE_NEW_SUFFIX };
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(volume_names); i++)
		for (size_t k = 0; k < ARRAY_SIZE(suffixes); k++) {
			if (pathf(path, sizeof(path), "%s/%s%s", state_dir, volume_names[i],
				  suffixes[k]) < 0)
				return fail_errno(ret_error, -ENAMETOOLONG, "'%s' is too long",
						  state_dir);
			if (unlink(path) < 0 && errno != ENOENT)
				return fail_errno(ret_error, -errno, "cannot remove '%s': %m",
						  path);
		}
	return 0;
}

int storage_teardown(const char *state_dir, const char *mount_dir, char **ret_error)
{
	char state[PATH_MAX], mnt[PATH_MAX];
	struct stat st;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!state_dir || !mount_dir || state_dir[0] != '/' || mount_dir[0] != '/')
		return fail_with(ret_error, "storage directories must be absolute paths");
	/* mountinfo and backing_file show resolved paths */
	if (!realpath(state_dir, state))
		strscpy(state, state_dir, sizeof(state));
	if (!realpath(mount_dir, mnt))
		strscpy(mnt, mount_dir, sizeof(mnt));

	r = unmount_below(mnt, ret_error);
	if (r < 0)
		return r;
	r = detach_loops(state, ret_error);
	if (r < 0)
		return r;

	for (size_t i = 0; i < ARRAY_SIZE(volume_names); i++) {
		char path[PATH_MAX];

		if (pathf(path, sizeof(path), "%s/%s.img", state, volume_names[i]) < 0)
			return fail_errno(ret_error, -ENAMETOOLONG, "'%s' is too long", state);
		if (unlink(path) < 0 && errno != ENOENT)
			return fail_errno(ret_error, -errno, "cannot remove '%s': %m", path);
	}
	r = premade_remove(state, ret_error);
	if (r < 0)
		return r;
	if (rmdir(state) < 0 && errno != ENOENT)
		return fail_errno(ret_error, -errno, "cannot remove '%s': %m", state);

	if (lstat(mnt, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	r = rmdir_tree(AT_FDCWD, mnt, st.st_dev, ret_error);
	if (r < 0 && ret_error && !*ret_error)
		fail_with(ret_error, "cannot remove '%s': %s", mnt, strerror(-r));
	return r;
}

/* Attach file to a free loop device, detached again when its last user goes (autoclear). */
static int loop_attach(const char *file, int *ret_fd, char *dev, size_t size)
{
	_cleanup_close_ int ctl = -1, backing = -1;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	backing = open(file, O_RDWR | O_CLOEXEC);
	if (backing < 0)
		return -errno;
	for (int tries = 0; tries < 32; tries++) {
		struct loop_config cfg = {
			.fd = (unsigned int)backing,
			.info.lo_flags = LO_FLAGS_AUTOCLEAR,
		};
		int nr, fd;

		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return -errno;
		snprintf(dev, size, "/dev/loop%d", nr);
		strscpy((char *)cfg.info.lo_file_name, file, sizeof(cfg.info.lo_file_name));
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			*ret_fd = fd;
			return 0;
		}
		close(fd);
		if (errno != EBUSY)
			return -errno;
		/* someone else took it between GET_FREE and CONFIGURE: another one */
	}
	return -EBUSY;
}

static int mkfs(const struct storage_opts *o, const char *file, const char *label, char **ret_error)
{
	char *argv[] = { (char *)(o->mkfs ?: "mkfs.ext4"),
			 "-q",
			 "-F",
			 "-m",
			 "0",
			 "-L",
			 (char *)label,
			 "-E",
			 "lazy_itable_init=1,lazy_journal_init=1",
			 (char *)file,
			 NULL };
	_cleanup_free_ char *out = NULL;
	char how[64];
	int status, r;

	r = prog_run(argv, &(struct prog_opts){ .capture = true }, &status, &out);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot run %s: %s", argv[0], strerror(-r));
	if (status == 0)
		return 0;
	prog_status_str(status, how, sizeof(how));
	return fail_errno(ret_error, -EIO, "%s on '%s' failed (%s): %s", argv[0], file, how,
			  out && out[0] ? out : "no output");
}

/* A volume's image file, sized and formatted: state_dir/<name><suffix>. */
static int image_make(const struct storage_opts *o, const char *state_dir, const char *name,
		      const char *suffix, unsigned int size_gib, char **ret_error)
{
	char file[PATH_MAX], label[17];
	int fd, r;

	r = pathf(file, sizeof(file), "%s/%s%s", state_dir, name, suffix);
	if (r < 0)
		return fail_errno(ret_error, r, "the storage directory's path is too long");
	fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail_errno(ret_error, -errno, "cannot create '%s': %m", file);
	r = RET_NERRNO(ftruncate(fd, (off_t)(size_gib * GIB)));
	close(fd);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot size '%s' to %u GiB: %s", file, size_gib,
				  strerror(-r));
	snprintf(label, sizeof(label), "tv-%s", name);
	return mkfs(o, file, label, ret_error);
}

/* Take state_dir/<name>.spare as <name>.img if storage_premake() made it of this size. */
static bool premade_take(const char *state_dir, const struct storage_volume *v, const char *file)
{
	char spare[PATH_MAX];
	struct stat st;

	if (pathf(spare, sizeof(spare), "%s/%s%s", state_dir, v->name, STORAGE_PREMADE_SUFFIX) <
		    0 ||
	    stat(spare, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != v->size_gib * GIB)
		return false;
	return rename(spare, file) == 0;
}

static int volume_create(struct storage *s, struct storage_volume *v, const struct storage_opts *o,
			 char **ret_error)
{
	_cleanup_close_ int loop_fd = -1;
	char file[PATH_MAX], dir[PATH_MAX];
	int r;

	r = pathf(file, sizeof(file), "%s/%s.img", s->state_dir, v->name);
	if (r < 0)
		return fail_errno(ret_error, r, "the storage directory's path is too long");
	if (!premade_take(s->state_dir, v, file)) {
		r = image_make(o, s->state_dir, v->name, ".img", v->size_gib, ret_error);
		if (r < 0)
			return r;
	}

	r = loop_attach(file, &loop_fd, v->dev, sizeof(v->dev));
	if (r < 0)
		return fail_errno(ret_error, r, "cannot attach '%s' to a loop device: %s", file,
				  strerror(-r));
	if (asprintf(&v->mount, "%s/%s", s->mount_dir, v->name) < 0) {
		v->mount = NULL;
		return -ENOMEM;
	}
	if (mkdir(v->mount, 0711) < 0 && errno != EEXIST)
		return fail_errno(ret_error, -errno, "cannot create '%s': %m", v->mount);
	/* noinit_itable: no background zeroing of inode tables, so the file stays sparse */
	if (mount(v->dev, v->mount, "ext4", 0, "noinit_itable") < 0)
		return fail_errno(ret_error, -errno, "cannot mount %s on '%s': %m", v->dev,
				  v->mount);
	/* from here the mount holds the loop device; autoclear detaches it at unmount */

	if (v->has_layers) {
		if (pathf(dir, sizeof(dir), "%s/containers", v->mount) < 0 || mkdir(dir, 0700) < 0)
			return fail_errno(ret_error, -errno, "cannot create '%s': %m", dir);
	}
	if (v->has_volumes) {
		if (pathf(dir, sizeof(dir), "%s/volumes", v->mount) < 0 || mkdir(dir, 0711) < 0)
			return fail_errno(ret_error, -errno, "cannot create '%s': %m", dir);
	}
	return 0;
}

static int volumes_plan(struct storage *s, const struct storage_opts *o, char **ret_error)
{
	const struct platform *p = o->platform;

	switch (p->storage) {
	case PLATFORM_STORAGE_FLAT:
		s->vols[0] = (struct storage_volume){ .name = "ephemeral",
						      .size_gib = o->size_gib ?: p->storage_gib,
						      .has_layers = true,
						      .has_volumes = true };
		s->n_vols = 1;
		break;
	case PLATFORM_STORAGE_SPLIT:
		s->vols[0] = (struct storage_volume){ .name = "layer",
						      .size_gib = p->layer_gib,
						      .has_layers = true };
		s->vols[1] = (struct storage_volume){ .name = "volumes",
						      .size_gib = p->volumes_gib,
						      .has_volumes = true };
		s->n_vols = 2;
		break;
	}
	for (size_t i = 0; i < s->n_vols; i++)
		if (s->vols[i].size_gib < 1 || s->vols[i].size_gib > 16384)
			return fail_with(ret_error, "volume size %u GiB is out of range",
					 s->vols[i].size_gib);
	return 0;
}

int storage_create(const struct storage_opts *o, struct storage **ret, char **ret_error)
{
	_cleanup_storage_ struct storage *s = NULL;
	char path[PATH_MAX];
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!o->platform || !o->state_dir || !o->mount_dir || o->state_dir[0] != '/' ||
	    o->mount_dir[0] != '/')
		return fail_with(ret_error, "storage needs a platform and absolute directories");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = volumes_plan(s, o, ret_error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(volume_names); i++) {
		if (pathf(path, sizeof(path), "%s/%s.img", o->state_dir, volume_names[i]) < 0)
			return fail_errno(ret_error, -ENAMETOOLONG, "'%s' is too long",
					  o->state_dir);
		if (access(path, F_OK) == 0)
			return fail_errno(ret_error, -EEXIST,
					  "'%s' exists: the task has storage already", path);
	}
	r = mkdir_p(o->state_dir, 0700);
	if (r >= 0)
		r = mkdir_p(o->mount_dir, 0711);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot create the storage directories: %s",
				  strerror(-r));
	s->state_dir = realpath(o->state_dir, NULL);
	s->mount_dir = realpath(o->mount_dir, NULL);
	if (!s->state_dir || !s->mount_dir)
		return -ENOMEM;

	for (size_t i = 0; i < s->n_vols; i++) {
		r = volume_create(s, &s->vols[i], o, ret_error);
		if (r < 0)
			goto out_teardown;
		snprintf(s->devices + strlen(s->devices), sizeof(s->devices) - strlen(s->devices),
			 "%s%s", i ? " " : "", s->vols[i].dev);
	}
	if (pathf(path, sizeof(path), "%s/rootfs", s->mount_dir) < 0 || mkdir(path, 0711) < 0) {
		r = fail_errno(ret_error, -errno, "cannot create '%s/rootfs': %m", s->mount_dir);
		goto out_teardown;
	}
	/* premade volumes this task did not take (another size or layout) are of no use */
	r = premade_remove(s->state_dir, ret_error);
	if (r < 0)
		goto out_teardown;
	*ret = TAKE_PTR(s);
	return 0;

out_teardown:
	storage_teardown(s->state_dir, s->mount_dir, NULL);
	return r;
}

int storage_premake(const struct storage_opts *o, char **ret_error)
{
	struct storage s = {};
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!o->platform || !o->state_dir || o->state_dir[0] != '/')
		return fail_with(ret_error, "storage needs a platform and an absolute directory");
	r = volumes_plan(&s, o, ret_error);
	if (r < 0)
		return r;
	r = mkdir_p(o->state_dir, 0700);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot create '%s': %s", o->state_dir,
				  strerror(-r));
	for (size_t i = 0; i < s.n_vols && r >= 0; i++) {
		char file[PATH_MAX], spare[PATH_MAX];

		/* formatted under another name first: a .spare is whole, whenever this stops */
		r = image_make(o, o->state_dir, s.vols[i].name, PREMADE_NEW_SUFFIX,
			       s.vols[i].size_gib, ret_error);
		if (r < 0)
			break;
		snprintf(file, sizeof(file), "%s/%s%s", o->state_dir, s.vols[i].name,
			 PREMADE_NEW_SUFFIX);
		snprintf(spare, sizeof(spare), "%s/%s%s", o->state_dir, s.vols[i].name,
			 STORAGE_PREMADE_SUFFIX);
		if (rename(file, spare) < 0)
			r = fail_errno(ret_error, -errno, "cannot rename '%s': %m", file);
	}
	if (r < 0)
		premade_remove(o->state_dir, NULL);
	return r;
}

bool storage_matches(const struct storage *s, const struct storage_opts *o)
{
	struct storage plan = {};
	char state[PATH_MAX], mnt[PATH_MAX];

	if (!o->platform || !o->state_dir || !o->mount_dir || volumes_plan(&plan, o, NULL) < 0 ||
	    !realpath(o->state_dir, state) || !realpath(o->mount_dir, mnt) ||
	    !streq(state, s->state_dir) || !streq(mnt, s->mount_dir) || plan.n_vols != s->n_vols)
		return false;
	for (size_t i = 0; i < s->n_vols; i++)
		if (!streq(plan.vols[i].name, s->vols[i].name) ||
		    plan.vols[i].size_gib != s->vols[i].size_gib)
			return false;
	return true;
}

static struct storage_volume *volume_with(struct storage *s, bool layers)
{
	for (size_t i = 0; i < s->n_vols; i++)
		if (layers ? s->vols[i].has_layers : s->vols[i].has_volumes)
			return &s->vols[i];
	return NULL;
}

int storage_volume_path(struct storage *s, const char *name, char **ret_path, char **ret_error)
{
	struct storage_volume *v = volume_with(s, false);
	char *path;
	int r;

	if (!ecs_name_valid(name))
		return fail_with(ret_error, "volume name '%.64s' is not valid", name);
	if (asprintf(&path, "%s/volumes/%s", v->mount, name) < 0)
		return -ENOMEM;
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		r = fail_errno(ret_error, -errno, "cannot create '%s': %m", path);
		free(path);
		return r;
	}
	*ret_path = path;
	return 0;
}

/* Is path the root of a mount? */
static bool is_mount_point(const char *path)
{
	struct statx stx;

	return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* The kernel's messages about a failed fsconfig/fsmount ("e overlay: ..."), appended to buf. */
static void fs_messages(int fsfd, char *buf, size_t size)
{
	char msg[512];
	ssize_t n;

	while ((n = read(fsfd, msg, sizeof(msg) - 1)) > 0) {
		size_t len = strlen(buf);

		msg[n] = '\0';
		snprintf(buf + len, size - len, "%s%s", len ? "; " : "", msg + (n > 2 ? 2 : 0));
	}
}

/* lowerdir as one string, for kernels without "lowerdir+" (before 6.8). */
static int legacy_lowerdir(int fsfd, const char *const *lowers, size_t n)
{
	_cleanup_free_ char *all = NULL;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (strpbrk(lowers[i], ":,\\"))
			return -EINVAL;
		len += strlen(lowers[i]) + 1;
	}
	all = calloc(1, len + 1);
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		strcat(all, lowers[i]);
		if (i + 1 < n)
			strcat(all, ":");
	}
	return RET_NERRNO(fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", all, 0));
}

static int overlay_mount(const char *target, const char *const *lowers, size_t n, const char *upper,
			 const char *work, char **ret_error)
{
	_cleanup_close_ int fsfd = -1, mfd = -1;
	char msgs[1024] = "";
	int r = 0;

	fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return fail_errno(ret_error, -errno, "cannot open an overlay file system: %m");
	r = RET_NERRNO(fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0));
	for (size_t i = 0; i < n && r >= 0; i++) {
		r = RET_NERRNO(fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0));
		if (r == -EINVAL && i == 0) {
			fs_messages(fsfd, msgs, sizeof(msgs));
			msgs[0] = '\0';
			r = legacy_lowerdir(fsfd, lowers, n);
			break;
		}
	}
	if (r >= 0)
		r = RET_NERRNO(fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0));
	if (r >= 0)
		r = RET_NERRNO(fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0));
	if (r >= 0)
		r = RET_NERRNO(fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
	if (r >= 0) {
		mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
		r = mfd < 0 ? -errno : 0;
	}
	if (r >= 0)
		r = RET_NERRNO(move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH));
	if (r < 0) {
		fs_messages(fsfd, msgs, sizeof(msgs));
		return fail_errno(ret_error, r, "cannot mount the overlay on '%s': %s%s%s", target,
				  strerror(-r), msgs[0] ? ": " : "", msgs);
	}
	return 0;
}

int storage_rootfs_mount(struct storage *s, const char *name, const char *const *lowers,
			 size_t n_lowers, char **ret_path, char **ret_error)
{
	struct storage_volume *v = volume_with(s, true);
	char dir[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
	_cleanup_free_ char *target = NULL;
	int r;

	if (!ecs_name_valid(name))
		return fail_with(ret_error, "container name '%.64s' is not valid", name);
	if (n_lowers == 0)
		return fail_with(ret_error, "container '%s': an image without layers", name);
	if (pathf(dir, sizeof(dir), "%s/containers/%s", v->mount, name) < 0 ||
	    pathf(upper, sizeof(upper), "%s/upper", dir) < 0 ||
	    pathf(work, sizeof(work), "%s/work", dir) < 0)
		return fail_errno(ret_error, -ENAMETOOLONG, "'%s' is too long", v->mount);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(upper, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(work, 0700) < 0 && errno != EEXIST))
		return fail_errno(ret_error, -errno, "cannot create the writable layer in '%s': %m",
				  dir);
	if (asprintf(&target, "%s/rootfs/%s", s->mount_dir, name) < 0) {
		target = NULL;
		return -ENOMEM;
	}
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return fail_errno(ret_error, -errno, "cannot create '%s': %m", target);
	if (is_mount_point(target))
		return fail_errno(ret_error, -EEXIST,
				  "container '%s': its root file system is mounted already", name);
	r = overlay_mount(target, lowers, n_lowers, upper, work, ret_error);
	if (r < 0)
		return r;
	*ret_path = TAKE_PTR(target);
	return 0;
}

int storage_rootfs_umount(struct storage *s, const char *name)
{
	char target[PATH_MAX];

	if (!ecs_name_valid(name))
		return -EINVAL;
	if (pathf(target, sizeof(target), "%s/rootfs/%s", s->mount_dir, name) < 0)
		return -ENAMETOOLONG;
	if (umount2(target, UMOUNT_NOFOLLOW) < 0) {
		if (errno != EBUSY)
			return -errno;
		if (umount2(target, UMOUNT_NOFOLLOW | MNT_DETACH) < 0)
			return -errno;
	}
	return RET_NERRNO(rmdir(target));
}

int storage_rootfs_discard(struct storage *s, const char *name, char **ret_error)
{
	struct storage_volume *v = volume_with(s, true);
	char dir[PATH_MAX];
	struct stat st;
	int r;

	if (ret_error)
		*ret_error = NULL;
	r = storage_rootfs_umount(s, name);
	if (r < 0 && r != -EINVAL && r != -ENOENT) /* EINVAL: not mounted */
		return fail_errno(ret_error, r, "cannot unmount the root file system of '%s': %s",
				  name, strerror(-r));
	if (pathf(dir, sizeof(dir), "%s/containers/%s", v->mount, name) < 0)
		return fail_errno(ret_error, -ENAMETOOLONG, "'%s' is too long", v->mount);
	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : fail_errno(ret_error, -errno, "'%s': %m", dir);
	return rmdir_tree(AT_FDCWD, dir, st.st_dev, ret_error);
}

int storage_release(struct storage *s, char **ret_file, char **ret_volumes_file, char **ret_error)
{
	struct storage_volume *v = volume_with(s, true), *vv = volume_with(s, false);
	_cleanup_free_ char *file = NULL, *vfile = NULL;
	int r;

	if (asprintf(&file, "%s/%s.img", s->state_dir, v->name) < 0)
		return -ENOMEM;
	if (vv != v && asprintf(&vfile, "%s/%s.img", s->state_dir, vv->name) < 0)
		return -ENOMEM;
	r = unmount_below(s->mount_dir, ret_error);
	if (r < 0)
		return r;
	r = detach_loops(s->state_dir, ret_error);
	if (r < 0)
		return r;
	s->released = true;
	*ret_file = TAKE_PTR(file);
	*ret_volumes_file = TAKE_PTR(vfile);
	return 0;
}

int storage_usage(struct storage *s, struct storage_usage *ret)
{
	struct storage_usage u = {};

	if (s->released)
		return -ENODEV;

	for (size_t i = 0; i < s->n_vols; i++) {
		struct statvfs st;

		if (statvfs(s->vols[i].mount, &st) < 0)
			return -errno;
		u.utilized_mib += (uint64_t)(st.f_blocks - st.f_bfree) * st.f_frsize / MIB;
		u.reserved_mib += (uint64_t)s->vols[i].size_gib * 1024;
	}
	*ret = u;
	return 0;
}
