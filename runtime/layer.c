// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "layer.h"
#include "util.h"

#define WH_PREFIX	".wh."
#define WH_META_PREFIX	".wh..wh."
#define WH_OPAQUE	".wh..wh..opq"
#define OPAQUE_XATTR	"trusted.overlay.opaque"
#define REPORT_MAX	(16 * 1024 * 1024)
#define READ_BLOCK	(128 * 1024)
#define CHILD_BLOB_FD	3
#define CHILD_DIR_FD	4
#define CHILD_REPORT_FD 5

/* Report records from the child, each "<type><text>\0". */
#define REC_OPAQUE 'O' /* a directory (relative path) to mark opaque */
#define REC_ERROR  'E' /* why the layer was refused */
#define REC_STATS  'S' /* "entries bytes whiteouts opaque" */

/* --- the child ------------------------------------------------------------------------------ */

static void report(char type, const char *text)
{
	char t = type;

	if (write_all(CHILD_REPORT_FD, &t, 1) < 0 ||
	    write_all(CHILD_REPORT_FD, text, strlen(text) + 1) < 0)
		_exit(3);
}

_printf_(1, 2) static int child_fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	report(REC_ERROR, buf);
	return 2;
}

/* Keep only what restoring files needs; no way back (bounding set, no_new_privs). */
static int drop_capabilities(void)
{
	static const int keep[] = { CAP_CHOWN,	CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
				    CAP_FSETID, CAP_MKNOD,	  CAP_SETFCAP };
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	for (int cap = 0; cap < 64; cap++) {
		bool kept = false;

		for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
			kept = kept || keep[i] == cap;
		if (!kept && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		d[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		d[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/*
 * A whiteout's path, checked like libarchive checks the others: relative, no "..", and no
 * symlink on the way (missing directories are created, 0755). Splits it into its directory
 * (or "." for the top) and its last component.
 */
static int whiteout_split(char *path, const char **ret_dir, const char **ret_base)
{
	char *p = path, *slash;
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		p[--n] = '\0';
	if (p[0] == '/' || n == 0)
		return -EINVAL;
	for (char *c = p; c;) {
		char *next = strchr(c, '/');
		size_t len = next ? (size_t)(next - c) : strlen(c);

		if (len == 0 || (len == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		c = next ? next + 1 : NULL;
	}

	slash = strrchr(p, '/');
	if (!slash) {
		*ret_dir = ".";
		*ret_base = p;
		return 0;
	}
	*slash = '\0';
	for (char *c = p;;) {
		struct stat st;
		char *next = strchr(c, '/');

		if (next)
			*next = '\0';
		if (lstat(p, &st) < 0) {
			if (errno != ENOENT || mkdir(p, 0755) < 0)
				return -errno;
		} else if (!S_ISDIR(st.st_mode)) {
			return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
		}
		if (!next)
			break;
		*next = '/';
		c = next + 1;
	}
	*ret_dir = p;
	*ret_base = slash + 1;
	return 0;
}

/* A ".wh." entry: an overlayfs whiteout, or an opaque directory reported to the parent. */
static int child_whiteout(const char *name, struct layer_stats *st)
{
	_cleanup_free_ char *path = strdup(name), *target = NULL;
	const char *dir = NULL, *base = NULL;
	int r;

	if (!path)
		return child_fail("out of memory");
	r = whiteout_split(path, &dir, &base);
	if (r < 0)
		return child_fail("refused entry '%s': %s", name,
				  r == -EINVAL	? "bad path"
				  : r == -ELOOP ? "through a symlink"
						: strerror(-r));
	if (streq(base, WH_OPAQUE)) {
		report(REC_OPAQUE, dir);
		st->opaque_dirs++;
		return 0;
	}
	if (startswith(base, WH_META_PREFIX))
		return 0; /* other ".wh..wh." names are aufs metadata: nothing to do */
	base += strlen(WH_PREFIX);
	if (!*base || streq(base, ".") || streq(base, ".."))
		return child_fail("refused entry '%s': bad whiteout name", name);
	if (asprintf(&target, "%s/%s", dir, base) < 0)
		return child_fail("out of memory");
	/* Something this same layer made under that name stays: the whiteout is for lower ones. */
	if (mknod(target, S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST)
		return child_fail("cannot make the whiteout for '%s': %s", name, strerror(errno));
	st->whiteouts++;
	return 0;
}

/* Drop trusted.* (overlayfs's own: opaque, redirect, metacopy...) from an entry's xattrs. */
static int strip_trusted_xattrs(struct archive_entry *e)
{
	struct {
		char *name;
		void *value;
		size_t size;
	} keep[64];
	size_t n = 0, total;
	const char *name;
	const void *value;
	size_t size;
	bool strip = false;

	total = (size_t)archive_entry_xattr_reset(e);
	if (total == 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		strip = strip || startswith(name, "trusted.");
	if (!strip)
		return 0;
	if (total > ARRAY_SIZE(keep))
		return -E2BIG;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (startswith(name, "trusted."))
			continue;
		keep[n].name = strdup(name);
		keep[n].value = malloc(size ?: 1);
		if (!keep[n].name || !keep[n].value)
			return -ENOMEM;
		memcpy(keep[n].value, value, size);
		keep[n++].size = size;
	}
	archive_entry_xattr_clear(e);
	for (size_t i = 0; i < n; i++) {
		archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
		free(keep[i].name);
		free(keep[i].value);
	}
	return 0;
}

static int copy_data(struct archive *in, struct archive *out, struct layer_stats *st,
		     const char *name)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(in, &buf, &size, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return child_fail("reading '%s': %s", name, archive_error_string(in));
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN)
			return child_fail("writing '%s': %s", name, archive_error_string(out));
		st->bytes += size;
	}
}

static int child_unpack(void)
{
	const int flags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
			  ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
			  ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	struct layer_stats st = {};
	struct archive *in, *out;
	struct archive_entry *e;
	char stats[128];
	int r;

	/* Everything libarchive might load is loaded before the chroot. */
	in = archive_read_new();
	out = archive_write_disk_new();
	if (!in || !out)
		return child_fail("out of memory");
	archive_read_support_filter_gzip(in);
	archive_read_support_filter_zstd(in);
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, flags);

	if (fchdir(CHILD_DIR_FD) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return child_fail("cannot confine the unpacker to the layer: %s", strerror(errno));
	close(CHILD_DIR_FD);
	r = drop_capabilities();
	if (r < 0)
		return child_fail("cannot drop capabilities: %s", strerror(-r));
	umask(022); /* for directories the archive implies; its own entries keep their modes */

	if (archive_read_open_fd(in, CHILD_BLOB_FD, READ_BLOCK) != ARCHIVE_OK)
		return child_fail("not a tar archive: %s", archive_error_string(in));
	for (;;) {
		const char *name, *base;

		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return child_fail("bad archive after %" PRIu64 " entries: %s", st.entries,
					  archive_error_string(in));
		st.entries++;
		name = archive_entry_pathname(e);
		if (!name || !*name)
			return child_fail("entry %" PRIu64 " has no name", st.entries);
		base = strrchr(name, '/');
		base = base && base[1] ? base + 1 : name;
		if (startswith(base, WH_PREFIX)) {
			r = child_whiteout(name, &st);
			if (r)
				return r;
			continue;
		}
		if (strip_trusted_xattrs(e) < 0)
			return child_fail("entry '%s': too many extended attributes", name);
		if (archive_entry_hardlink(e))
			archive_entry_set_size(e, 0);

		if (archive_write_header(out, e) < ARCHIVE_WARN)
			return child_fail("refused entry '%s': %s", name,
					  archive_error_string(out));
		if (archive_entry_size(e) > 0) {
			r = copy_data(in, out, &st, name);
			if (r)
				return r;
		}
		if (archive_write_finish_entry(out) < ARCHIVE_WARN)
			return child_fail("entry '%s': %s", name, archive_error_string(out));
	}
	/* Deferred directory modes and times are set here. */
	if (archive_write_close(out) < ARCHIVE_WARN)
		return child_fail("finishing the layer: %s", archive_error_string(out));
	archive_write_free(out);
	archive_read_free(in);

	snprintf(stats, sizeof(stats), "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, st.entries,
		 st.bytes, st.whiteouts, st.opaque_dirs);
	report(REC_STATS, stats);
	return 0;
}

/* Move the three fds to 3, 4, 5 and close every other one above 2. */
static int child_fds(int blob_fd, int dir_fd, int report_fd)
{
	int fds[3] = { blob_fd, dir_fd, report_fd };

	for (int i = 0; i < 3; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD, 10);
		if (fds[i] < 0)
			return -errno;
	}
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], CHILD_BLOB_FD + i) < 0)
			return -errno;
	if (close_range(CHILD_REPORT_FD + 1, ~0U, 0) < 0)
		return -errno;
	return 0;
}

_Noreturn static void child_main(pid_t parent, int blob_fd, int dir_fd, int report_fd)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(4);
	if (child_fds(blob_fd, dir_fd, report_fd) < 0)
		_exit(4);
	_exit(child_unpack());
}

/* --- the parent ----------------------------------------------------------------------------- */

/* Mark dir (relative to the layer root) opaque, resolving it inside the layer only. */
static int set_opaque(int root_fd, const char *dir)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	_cleanup_close_ int fd = -1;

	fd = (int)syscall(SYS_openat2, root_fd, dir, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	return RET_NERRNO(fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0));
}

/* Read the child's report until EOF, the deadline or cancellation. */
static int read_report(int fd, const struct layer_unpack_opts *opts, char **buf, size_t *len)
{
	size_t cap = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = opts->cancel_fd, .events = POLLIN } };
		int timeout = -1, r;
		ssize_t n;

		if (opts->deadline_usec) {
			uint64_t now = now_usec();

			if (now >= opts->deadline_usec)
				return -ETIMEDOUT;
			timeout = (int)MIN((opts->deadline_usec - now + 999) / 1000, 60000);
		}
		r = poll(p, opts->cancel_fd >= 0 ? 2 : 1, timeout);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		if (opts->cancel_fd >= 0 && p[1].revents)
			return -ECANCELED;
		if (*len + 4096 > cap) {
			char *b;

			if (cap >= REPORT_MAX)
				return -EFBIG;
			cap = cap ? cap * 2 : 8192;
			b = realloc(*buf, cap + 1);
			if (!b)
				return -ENOMEM;
			*buf = b;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

int layer_unpack(int blob_fd, const char *dir, const struct layer_unpack_opts *opts,
		 struct layer_stats *ret_stats, char **ret_error)
{
	static const struct layer_unpack_opts no_opts = { .cancel_fd = -1 };
	_cleanup_close_ int dir_fd = -1, rfd = -1;
	_cleanup_free_ char *rep = NULL;
	struct layer_stats st = {};
	const char *error = NULL;
	bool reaped = false, finished = false;
	size_t len = 0;
	int p[2], status = 0, r, rr;
	pid_t pid, parent = getpid();

	if (!opts)
		opts = &no_opts;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0) {
		r = -errno;
		return fail_errno(ret_error, r, "cannot open the layer directory '%s': %s", dir,
				  strerror(-r));
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return fail_errno(ret_error, r, "cannot start the unpacker: %s", strerror(-r));
	}
	if (pid == 0)
		child_main(parent, blob_fd, dir_fd, p[1]);
	close(p[1]);
	rfd = p[0];

	rr = read_report(rfd, opts, &rep, &len);
	if (rr < 0)
		kill(pid, SIGKILL);
	/* A caller that reaps every child (waitpid(-1)) may have taken it: then its report
	 * alone says whether it finished (the stats record is its last word). */
	while (waitpid(pid, &status, 0) < 0) {
		if (errno == ECHILD) {
			reaped = true;
			break;
		}
		if (errno != EINTR)
			return -errno;
	}
	if (rr == -ETIMEDOUT)
		return fail_errno(ret_error, rr, "unpacking timed out (the pull's timeout)");
	if (rr == -ECANCELED)
		return fail_errno(ret_error, rr, "unpacking cancelled");
	if (rr < 0)
		return fail_errno(ret_error, rr, "reading the unpacker's report: %s",
				  strerror(-rr));

	/* Records are NUL-terminated; a truncated last one is ignored. */
	for (size_t off = 0; off < len;) {
		const char *rec = rep + off;
		size_t n = strnlen(rec, len - off);

		if (off + n == len)
			break;
		switch (rec[0]) {
		case REC_ERROR:
			error = error ?: rec + 1;
			break;
		case REC_STATS:
			finished = true;
			sscanf(rec + 1, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &st.entries,
			       &st.bytes, &st.whiteouts, &st.opaque_dirs);
			break;
		default:
			break;
		}
		off += n + 1;
	}
	if (error)
		return fail_errno(ret_error, -EINVAL, "%s", error);
	if (reaped && !finished)
		return fail_errno(ret_error, -EIO, "the unpacker ended without finishing");
	if (reaped)
		status = 0;
	if (WIFSIGNALED(status))
		return fail_errno(ret_error, -EIO, "the unpacker was killed by signal %d",
				  WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail_errno(ret_error, -EIO, "the unpacker failed (exit status %d)",
				  WEXITSTATUS(status));

	for (size_t off = 0; off < len;) {
		const char *rec = rep + off;
		size_t n = strnlen(rec, len - off);

		if (off + n == len)
			break;
		if (rec[0] == REC_OPAQUE) {
			r = set_opaque(dir_fd, rec + 1);
			if (r < 0)
				return fail_errno(ret_error, r, "cannot mark '%s' opaque: %s",
						  rec + 1, strerror(-r));
		}
		off += n + 1;
	}
	if (ret_stats)
		*ret_stats = st;
	return 0;
}
