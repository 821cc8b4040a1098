// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "util.h"

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *buf, size_t len, unsigned int mode)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	r = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return -ENAMETOOLONG;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;

	r = write_all(fd, buf, len);
	if (r < 0)
		goto out_unlink;

	r = RET_NERRNO(close(TAKE_FD(fd)));
	if (r < 0)
		goto out_unlink;

	r = RET_NERRNO(rename(tmp, path));
	if (r < 0)
		goto out_unlink;
	return 0;

out_unlink:
	unlink(tmp);
	return r;
}

int write_file_exchange(const char *path, const void *buf, size_t len, unsigned int mode)
{
	char next[PATH_MAX];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = snprintf(next, sizeof(next), "%s%s", path, FILE_NEXT_SUFFIX);
	if (r < 0 || (size_t)r >= sizeof(next))
		return -ENAMETOOLONG;

	/* rewritten in place, then cut to size: not truncated to 0 first, which would make ext4
	 * flush it at the close (auto_da_alloc) */
	fd = open(next, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = RET_NERRNO(fchmod(fd, mode));
	if (r >= 0)
		r = write_all(fd, buf, len);
	if (r >= 0)
		r = RET_NERRNO(ftruncate(fd, (off_t)len));
	if (r >= 0)
		r = RET_NERRNO(close(TAKE_FD(fd)));
	if (r < 0)
		goto fail;

	/* exchanged with a regular file only (RENAME_EXCHANGE would swap a directory too) */
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (renameat2(AT_FDCWD, next, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
			return 0;
		/* else a file system that cannot exchange (or the record just went) */
		if (errno != EINVAL && errno != ENOSYS && errno != ENOENT) {
			r = -errno;
			goto fail;
		}
	}
	r = RET_NERRNO(rename(next, path));
	if (r >= 0)
		return 0;
fail:
	unlink(next);
	return r;
}

int unlink_file_exchange(const char *path)
{
	char next[PATH_MAX];
	int r;

	r = snprintf(next, sizeof(next), "%s%s", path, FILE_NEXT_SUFFIX);
	if (r < 0 || (size_t)r >= sizeof(next))
		return -ENAMETOOLONG;
	/* the sibling first: a crash in between leaves the record, removed again later */
	if (unlink(next) < 0 && errno != ENOENT)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

bool file_exchange_sibling(const char *dir, const char *name, const char *suffix)
{
	size_t n = strlen(name), sl = strlen(suffix), nl = strlen(FILE_NEXT_SUFFIX);
	char path[PATH_MAX];
	int r;

	if (n <= sl + nl || !streq(name + n - nl, FILE_NEXT_SUFFIX) ||
	    strncmp(name + n - nl - sl, suffix, sl) != 0)
		return false;
	r = snprintf(path, sizeof(path), "%s/%.*s", dir, (int)(n - nl), name);
	if (r < 0 || (size_t)r >= sizeof(path))
		return true;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		r = snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (r > 0 && (size_t)r < sizeof(path))
			(void)unlink(path);
	}
	return true;
}

int read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 4096;

	max = MIN(max, (size_t)SSIZE_MAX); /* so that max + 2 below cannot wrap */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nbuf;

			/* Room for max + 1 bytes and the NUL, so that one byte too many is seen. */
			if (cap > max + 1)
				return -EFBIG;
			cap = MIN(cap * 2, max + 2);
			nbuf = realloc(buf, cap);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

int mkdir_p(const char *path, unsigned int mode)
{
	char buf[PATH_MAX];
	char *p;

	if (strscpy(buf, path, sizeof(buf)) < 0)
		return -ENAMETOOLONG;
	if (!buf[0])
		return -ENOENT;

	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return -errno;
		/* Something is there already: fine if it is a directory (or a link to one). */
		if (stat(buf, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}

/* Empty the directory dfd (taken: closed here), which is on device dev; the first -errno. */
static int rm_below(int dfd, dev_t dev)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		int q = 0;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			q = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			int sub;

			if (st.st_dev != dev) {
				q = -EBUSY; /* another file system: not ours to empty */
			} else if ((sub = openat(dfd, de->d_name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
				   0) {
				q = -errno;
			} else {
				/* a directory made read-only (a layer's 0555) still has to be emptied */
				if ((st.st_mode & 0700) != 0700)
					(void)fchmod(sub, st.st_mode | 0700);
				q = rm_below(sub, dev);
				if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0 && !q)
					q = -errno;
			}
		} else if (unlinkat(dfd, de->d_name, 0) < 0) {
			q = -errno;
		}
		if (q == -ENOENT)
			q = 0; /* gone meanwhile */
		if (q && !r)
			r = q;
	}
	if (errno && !r)
		r = -errno;
	closedir(d);
	return r;
}

int find_executable(const char *name, char *buf, size_t size)
{
	const char *path =
		getenv("PATH") ?: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

	if (!name[0])
		return -ENOENT;
	if (strchr(name, '/'))
		return strscpy(buf, name, size) < 0 ? -ENAMETOOLONG : 0;
	for (const char *d = path, *end; *d; d = *end ? end + 1 : end) {
		struct stat st;
		int n;

		end = strchrnul(d, ':');
		/* an empty entry is the current directory, as for execvp() */
		n = end > d ? snprintf(buf, size, "%.*s/%s", (int)(end - d), d, name)
			    : snprintf(buf, size, "%s", name);
		if (n < 0 || (size_t)n >= size)
			continue;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

int rm_rf(const char *path)
{
	struct stat st;
	int dfd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = rm_below(dfd, st.st_dev);
	if (rmdir(path) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

int format_rfc3339_nsec(uint64_t nsec, char *buf, size_t size)
{
	time_t sec = (time_t)(nsec / 1000000000ULL);
	struct tm tm;
	int r;

	if (!gmtime_r(&sec, &tm))
		return -EINVAL;
	r = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned int)(nsec % 1000000000ULL));
	if (r < 0 || (size_t)r >= size)
		return -ENOSPC;
	return 0;
}

size_t utf8_char_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range excludes overlong forms, surrogates and values past U+10FFFF
	 * (RFC 3629 section 4). */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

int fail_with(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return -EINVAL;
}

int random_hex(char *buf, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t b[64];
	size_t got = 0;

	if (n > sizeof(b))
		return -EINVAL;
	while (got < n) {
		ssize_t r = getrandom(b + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[b[i] >> 4];
		buf[2 * i + 1] = digits[b[i] & 15];
	}
	buf[2 * n] = '\0';
	return 0;
}

int fail_errno(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return r;
}
