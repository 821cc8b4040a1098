// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for lib/util.h (strings, files, time) and lib/log.h (levels, output). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "util.h"

/* A fresh temporary directory per test, removed with everything in it afterwards. */
static int tmpdir_setup(void **state)
{
	char *dir = strdup("/tmp/tp-test-util.XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int tmpdir_teardown(void **state)
{
	char *dir = *state;
	int r;

	r = rm_rf(dir);
	free(dir);
	return r == 0 ? 0 : -1;
}

/* Join dir and name into a static-sized buffer. */
static const char *path_join(char *buf, size_t size, const char *dir, const char *name)
{
	int r = snprintf(buf, size, "%s/%s", dir, name);

	assert_true(r > 0 && (size_t)r < size);
	return buf;
}

/* Write n bytes of a repeating pattern with plain stdio, for read_file bounds. */
static void write_pattern(const char *path, size_t n)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(fputc('a' + (int)(i % 26), f), EOF);
	assert_int_equal(fclose(f), 0);
}

/* The names in dir, sorted and joined with ',' (".", ".." left out). */
static char *dir_listing(const char *dir)
{
	struct dirent **list;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int n;

	n = scandir(dir, &list, NULL, alphasort);
	assert_true(n >= 0);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	for (int i = 0; i < n; i++) {
		if (!streq(list[i]->d_name, ".") && !streq(list[i]->d_name, ".."))
			fprintf(f, "%s%s", len ? "," : "", list[i]->d_name);
		fflush(f);
		free(list[i]);
	}
	free(list);
	fclose(f);
	return out;
}

static void test_strscpy(void **state)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(strscpy(buf, "hello", sizeof(buf)), 5);
	assert_string_equal(buf, "hello");

	/* Exactly fits: 7 characters and the NUL. */
	assert_int_equal(strscpy(buf, "1234567", sizeof(buf)), 7);
	assert_string_equal(buf, "1234567");

	/* One too many: truncated, terminated, and reported. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(strscpy(buf, "12345678", sizeof(buf)), -ENAMETOOLONG);
	assert_string_equal(buf, "1234567");
	assert_int_equal(strscpy(buf, "a much longer string", sizeof(buf)), -ENAMETOOLONG);
	assert_string_equal(buf, "a much ");

	assert_int_equal(strscpy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(strscpy(buf, "ab", 1), -ENAMETOOLONG);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'x');

	/* No room at all: nothing is written. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(strscpy(buf, "ab", 0), -ENAMETOOLONG);
	assert_int_equal(buf[0], 'x');
}

static void test_string_helpers(void **state)
{
	assert_true(streq("abc", "abc"));
	assert_false(streq("abc", "abd"));
	assert_true(streq_ptr(NULL, NULL));
	assert_false(streq_ptr("a", NULL));
	assert_false(streq_ptr(NULL, "a"));
	assert_true(streq_ptr("a", "a"));
	assert_true(startswith("netd.sock", "netd"));
	assert_true(startswith("netd", ""));
	assert_false(startswith("net", "netd"));
	assert_string_equal(strna(NULL), "n/a");
	assert_string_equal(strna("x"), "x");
}

static void test_file_roundtrip(void **state)
{
	static const char data[] = "line one\nline two\0after a NUL\n";
	const char *dir = *state;
	char path[PATH_MAX];
	char *buf = NULL, *names;
	size_t len = 0;
	struct stat st;

	path_join(path, sizeof(path), dir, "state.json");
	assert_int_equal(write_file_atomic(path, data, sizeof(data) - 1, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, sizeof(data) - 1);

	assert_int_equal(read_file(path, 4096, &buf, &len), 0);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(buf, data, sizeof(data) - 1);
	assert_int_equal(buf[len], '\0');
	free(buf);

	/* Replacing keeps one file, with the new contents and no temporary left over. */
	assert_int_equal(write_file_atomic(path, "v2", 2, 0600), 0);
	assert_int_equal(read_file(path, 4096, &buf, NULL), 0);
	assert_string_equal(buf, "v2");
	free(buf);
	names = dir_listing(dir);
	assert_string_equal(names, "state.json");
	free(names);

	/* An empty file. */
	assert_int_equal(write_file_atomic(path, "", 0, 0644), 0);
	assert_int_equal(read_file(path, 4096, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
}

static void test_file_errors(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], *names;
	char *buf = (char *)0x1;
	size_t len = 77;

	path_join(path, sizeof(path), dir, "missing/file");
	assert_int_equal(write_file_atomic(path, "x", 1, 0600), -ENOENT);
	assert_int_equal(read_file(path, 4096, &buf, &len), -ENOENT);
	path_join(path, sizeof(path), dir, "nothing-here");
	assert_int_equal(read_file(path, 4096, &buf, &len), -ENOENT);
	/* Outputs are untouched on failure. */
	assert_ptr_equal(buf, (char *)0x1);
	assert_int_equal(len, 77);

	assert_int_equal(read_file(dir, 4096, &buf, &len), -EISDIR);

	/* Writing over a directory fails and removes its temporary. */
	path_join(path, sizeof(path), dir, "sub");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(write_file_atomic(path, "x", 1, 0600), -EISDIR);
	names = dir_listing(dir);
	assert_string_equal(names, "sub");
	free(names);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* write_file_exchange(): the record and its sibling swap names; no inode after the second. */
static void test_file_exchange(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], next[PATH_MAX + 8], *buf = NULL, *names;
	ino_t a, b;
	struct stat st;

	path_join(path, sizeof(path), dir, "t.json");
	snprintf(next, sizeof(next), "%s%s", path, FILE_NEXT_SUFFIX);

	/* The first write: the record only (its sibling renamed into place). */
	assert_int_equal(write_file_exchange(path, "first, long", 11, 0600), 0);
	names = dir_listing(dir);
	assert_string_equal(names, "t.json");
	free(names);
	a = inode_of(path);

	/* The second: the sibling keeps the contents before. */
	assert_int_equal(write_file_exchange(path, "v2", 2, 0600), 0);
	assert_int_equal(read_file(path, 4096, &buf, NULL), 0);
	assert_string_equal(buf, "v2");
	free(buf);
	assert_int_equal(read_file(next, 4096, &buf, NULL), 0);
	assert_string_equal(buf, "first, long");
	free(buf);
	assert_true(inode_of(next) == a);
	b = inode_of(path);

	/* Then the two inodes take turns, each cut to its new size, with the mode asked. */
	assert_int_equal(write_file_exchange(path, "v3", 2, 0640), 0);
	assert_true(inode_of(path) == a && inode_of(next) == b);
	assert_int_equal(read_file(path, 4096, &buf, NULL), 0);
	assert_string_equal(buf, "v3");
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(write_file_exchange(path, "", 0, 0600), 0);
	assert_true(inode_of(path) == b);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);

	/* A reader's view: the sibling is no record; one whose record is gone is removed. */
	assert_true(file_exchange_sibling(dir, "t.json.next", ".json"));
	assert_int_equal(access(next, F_OK), 0);
	assert_false(file_exchange_sibling(dir, "t.json", ".json"));
	assert_false(file_exchange_sibling(dir, "t.next", ".json"));
	assert_false(file_exchange_sibling(dir, ".json.next", ".json"));
	assert_int_equal(unlink(path), 0);
	assert_true(file_exchange_sibling(dir, "t.json.next", ".json"));
	assert_int_equal(access(next, F_OK), -1);

	/* unlink_file_exchange() removes both, and nothing there is no error. */
	assert_int_equal(write_file_exchange(path, "x", 1, 0600), 0);
	assert_int_equal(write_file_exchange(path, "y", 1, 0600), 0);
	assert_int_equal(unlink_file_exchange(path), 0);
	names = dir_listing(dir);
	assert_string_equal(names, "");
	free(names);
	assert_int_equal(unlink_file_exchange(path), 0);

	/* Errors: no directory; a directory where the record would be. */
	path_join(path, sizeof(path), dir, "missing/file");
	assert_int_equal(write_file_exchange(path, "x", 1, 0600), -ENOENT);
	path_join(path, sizeof(path), dir, "sub");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(write_file_exchange(path, "x", 1, 0600), -EISDIR);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	names = dir_listing(dir);
	assert_string_equal(names, "sub");
	free(names);
}

/* read_file() of a file of size bytes with limit max must return want (and the bytes). */
static void check_sized(const char *dir, size_t size, size_t max, int want)
{
	char path[PATH_MAX], g[96], w[96];
	char *buf = NULL;
	size_t len = 0;
	int r;

	path_join(path, sizeof(path), dir, "sized");
	write_pattern(path, size);
	r = read_file(path, max, &buf, &len);
	snprintf(g, sizeof(g), "size %zu, max %zu -> %d", size, max, r);
	snprintf(w, sizeof(w), "size %zu, max %zu -> %d", size, max, want);
	assert_string_equal(g, w);
	if (r == 0) {
		assert_int_equal(len, size);
		assert_int_equal(strlen(buf), size);
		for (size_t i = 0; i < size; i++)
			assert_int_equal(buf[i], 'a' + (int)(i % 26));
		free(buf);
	} else {
		assert_null(buf);
	}
	assert_int_equal(unlink(path), 0);
}

static void test_read_file_max(void **state)
{
	static const size_t sizes[] = {
		1, 10, 100, 4094, 4095, 4096, 4097, 8191, 8192, 8193, 10000
	};
	const char *dir = *state;

	check_sized(dir, 0, 0, 0);
	check_sized(dir, 1, 0, -EFBIG);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];

		/* A file of exactly max bytes is read; one byte more is refused. */
		check_sized(dir, n, n, 0);
		check_sized(dir, n, n + 1, 0);
		check_sized(dir, n, n + 4096, 0);
		check_sized(dir, n, n - 1, -EFBIG);
	}
	check_sized(dir, 100000, 1 << 20, 0);
	check_sized(dir, 100000, SIZE_MAX, 0);
	check_sized(dir, 5000, SIZE_MAX - 1, 0);
	check_sized(dir, 100000, 99999, -EFBIG);
	check_sized(dir, 100000, 10, -EFBIG);
}

static void assert_is_dir(const char *path, unsigned int mode)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	if (mode)
		assert_int_equal(st.st_mode & 07777, mode);
}

/* In a child's mount namespace with a tmpfs on mnt below tree: 0 if rm_rf() leaves it. */
static int rm_rf_mounted(const char *tree, const char *mnt)
{
	char inside[PATH_MAX], beside[PATH_MAX];
	struct stat st;

	write_pattern(path_join(inside, sizeof(inside), mnt, "inside"), 2);
	path_join(beside, sizeof(beside), tree, "beside");
	if (rm_rf(tree) != -EBUSY || stat(inside, &st) < 0 || lstat(beside, &st) == 0)
		return 1;
	if (umount(mnt) < 0 || rm_rf(tree) < 0 || lstat(tree, &st) == 0)
		return 1;
	return 0;
}

static void test_rm_rf(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], keep[PATH_MAX], tree[PATH_MAX], mnt[PATH_MAX];
	struct stat st;
	int status;
	pid_t pid;

	/* Files, directories, an empty one, a link out of the tree: all gone, its target kept. */
	path_join(tree, sizeof(tree), dir, "tree");
	assert_int_equal(mkdir_p(path_join(path, sizeof(path), tree, "a/b/c"), 0700), 0);
	assert_int_equal(mkdir_p(path_join(path, sizeof(path), tree, "empty"), 0700), 0);
	write_pattern(path_join(path, sizeof(path), tree, "a/file"), 10);
	write_pattern(path_join(path, sizeof(path), tree, "a/b/c/deep"), 3);
	assert_int_equal(mkdir_p(path_join(keep, sizeof(keep), dir, "keep"), 0700), 0);
	write_pattern(path_join(path, sizeof(path), keep, "kept"), 4);
	assert_int_equal(symlink(keep, path_join(path, sizeof(path), tree, "a/b/link")), 0);
	/* a directory of no permissions: root's rm_rf empties it anyway; others get -EACCES */
	assert_int_equal(chmod(path_join(path, sizeof(path), tree, "a/b"), 0), 0);
	if (geteuid() == 0) {
		assert_int_equal(rm_rf(tree), 0);
		assert_int_equal(lstat(tree, &st), -1);
		assert_int_equal(errno, ENOENT);
	} else {
		assert_int_equal(rm_rf(tree), -EACCES);
		assert_int_equal(chmod(path_join(path, sizeof(path), tree, "a/b"), 0700), 0);
		assert_int_equal(rm_rf(tree), 0);
	}
	assert_int_equal(stat(path_join(path, sizeof(path), keep, "kept"), &st), 0);

	/* Nothing there: nothing to do. A file, or a link: it alone. */
	assert_int_equal(rm_rf(tree), 0);
	write_pattern(tree, 1);
	assert_int_equal(rm_rf(tree), 0);
	assert_int_equal(lstat(tree, &st), -1);
	assert_int_equal(symlink(keep, tree), 0);
	assert_int_equal(rm_rf(tree), 0);
	assert_int_equal(lstat(tree, &st), -1);
	assert_int_equal(stat(keep, &st), 0);

	/*
	 * Another file system below (root only; in a mount namespace of a child, so that a
	 * failure leaves no mount behind): left as it is, with its parents, -EBUSY.
	 */
	path_join(mnt, sizeof(mnt), tree, "m");
	assert_int_equal(mkdir_p(mnt, 0700), 0);
	write_pattern(path_join(path, sizeof(path), tree, "beside"), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
			_exit(77);
		_exit(rm_rf_mounted(tree, mnt));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) /* no mount namespace here */
		assert_int_equal(rm_rf(tree), 0);
	else
		assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(rm_rf(tree), 0);
	assert_int_equal(lstat(tree, &st), -1);
}

static void test_mkdir_p(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], sub[PATH_MAX];
	mode_t old = umask(022);

	path_join(path, sizeof(path), dir, "a/b/c");
	assert_int_equal(mkdir_p(path, 0700), 0);
	assert_is_dir(path, 0700);
	assert_is_dir(path_join(sub, sizeof(sub), dir, "a"), 0700);
	assert_is_dir(path_join(sub, sizeof(sub), dir, "a/b"), 0700);
	/* Again: nothing to do. */
	assert_int_equal(mkdir_p(path, 0700), 0);

	/* A trailing slash and doubled slashes. */
	path_join(path, sizeof(path), dir, "x//y/");
	assert_int_equal(mkdir_p(path, 0755), 0);
	assert_is_dir(path_join(sub, sizeof(sub), dir, "x/y"), 0755);

	/* A regular file in the way, at the end or in the middle. */
	path_join(path, sizeof(path), dir, "file");
	write_pattern(path, 3);
	assert_int_equal(mkdir_p(path, 0700), -ENOTDIR);
	path_join(path, sizeof(path), dir, "file/under");
	assert_int_equal(mkdir_p(path, 0700), -ENOTDIR);

	assert_int_equal(mkdir_p("", 0700), -ENOENT);

	/* Longer than PATH_MAX. */
	{
		char *longp = malloc(PATH_MAX + 16);

		assert_non_null(longp);
		memset(longp, 'd', PATH_MAX + 15);
		longp[0] = '/';
		longp[PATH_MAX + 15] = '\0';
		assert_int_equal(mkdir_p(longp, 0700), -ENAMETOOLONG);
		free(longp);
	}
	umask(old);
}

/* find_executable(): a name with a '/' as it is; else the first executable in $PATH's order. */
static void test_find_executable(void **state)
{
	const char *dir = *state;
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX], got[PATH_MAX], path[2 * PATH_MAX + 8];
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

	path_join(a, sizeof(a), dir, "a");
	path_join(b, sizeof(b), dir, "b");
	assert_int_equal(mkdir_p(a, 0755), 0);
	assert_int_equal(mkdir_p(b, 0755), 0);
	/* in a: not executable, and a directory of the name; in b: the executable */
	write_pattern(path_join(p, sizeof(p), a, "tool"), 3);
	assert_int_equal(mkdir(path_join(p, sizeof(p), a, "dirtool"), 0755), 0);
	write_pattern(path_join(p, sizeof(p), b, "tool"), 3);
	assert_int_equal(chmod(p, 0755), 0);
	snprintf(path, sizeof(path), "%s:%s", a, b);
	assert_int_equal(setenv("PATH", path, 1), 0);

	assert_int_equal(find_executable("tool", got, sizeof(got)), 0);
	assert_string_equal(got, p);
	assert_int_equal(find_executable("dirtool", got, sizeof(got)), -ENOENT);
	assert_int_equal(find_executable("no-such-tool", got, sizeof(got)), -ENOENT);
	assert_int_equal(find_executable("", got, sizeof(got)), -ENOENT);
	/* a path is taken as it is, found or not */
	assert_int_equal(find_executable("./x/y", got, sizeof(got)), 0);
	assert_string_equal(got, "./x/y");
	assert_int_equal(find_executable("tool", got, 8), -ENOENT); /* too long for the buffer */
	assert_int_equal(find_executable("/a/long/path", got, 8), -ENAMETOOLONG);

	if (old)
		assert_int_equal(setenv("PATH", old, 1), 0);
	else
		unsetenv("PATH");
	free(old);
}

static void test_write_all(void **state)
{
	const size_t n = 200000;
	char *big = malloc(n), *got = malloc(n);
	int fds[2];
	FILE *f;

	/* A file takes everything; check the bytes arrive in order. */
	assert_non_null(big);
	assert_non_null(got);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 7);
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(write_all(fileno(f), big, n), 0);
	assert_int_equal(pread(fileno(f), got, n, 0), n);
	assert_memory_equal(got, big, n);
	free(got);
	free(big);
	fclose(f);

	assert_int_equal(write_all(-1, "x", 1), -EBADF);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(write_all(fds[1], "", 0), 0);
	assert_int_equal(write_all(fds[0], "x", 1), -EBADF);
	close(fds[0]);
	close(fds[1]);
}

static void assert_rfc3339(uint64_t nsec, const char *want)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(format_rfc3339_nsec(nsec, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_format_rfc3339(void **state)
{
	char buf[31];

	assert_rfc3339(0, "1970-01-01T00:00:00.000000000Z");
	assert_rfc3339(1, "1970-01-01T00:00:00.000000001Z");
	assert_rfc3339(999999999, "1970-01-01T00:00:00.999999999Z");
	assert_rfc3339(1000000000, "1970-01-01T00:00:01.000000000Z");
	assert_rfc3339(1234567890000000000ULL, "2009-02-13T23:31:30.000000000Z");
	assert_rfc3339(1700000000123456789ULL, "2023-11-14T22:13:20.123456789Z");
	assert_rfc3339(951782400000000042ULL, "2000-02-29T00:00:00.000000042Z");
	assert_rfc3339(UINT64_MAX, "2554-07-21T23:34:33.709551615Z");

	/* 30 characters and the NUL. */
	assert_int_equal(format_rfc3339_nsec(0, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 30);
	assert_int_equal(format_rfc3339_nsec(0, buf, sizeof(buf) - 1), -ENOSPC);
	assert_int_equal(format_rfc3339_nsec(0, buf, 1), -ENOSPC);
}

static void test_random_hex(void **state)
{
	char a[33], b[33], big[130];

	assert_int_equal(random_hex(a, 16), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_int_equal(random_hex(b, 16), 0);
	/* 128 random bits twice alike: not in this universe. */
	assert_string_not_equal(a, b);
	assert_int_equal(random_hex(a, 0), 0);
	assert_string_equal(a, "");
	assert_int_equal(random_hex(big, 64), 0);
	assert_int_equal(strlen(big), 128);
	assert_int_equal(random_hex(big, 65), -EINVAL);
}

static void test_time_helpers(void **state)
{
	uint64_t a, b, rt;

	a = now_usec();
	b = now_usec();
	assert_true(b >= a);
	rt = realtime_nsec();
	/* After 2020-01-01 and before 2200-01-01. */
	assert_true(rt > 1577836800ULL * 1000000000ULL);
	assert_true(rt < 7258118400ULL * 1000000000ULL);
}

static void test_errno_helpers(void **state)
{
	int fd;

	errno = 0;
	assert_int_equal(RET_NERRNO(close(-1)), -EBADF);
	assert_int_equal(RET_NERRNO(0), 0);
	assert_int_equal(RET_NERRNO(5), 5);
	errno = ENOENT;
	assert_int_equal(errno_or(ENOMEM), -ENOENT);
	errno = 0;
	assert_int_equal(errno_or(ENOMEM), -ENOMEM);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	errno = EXDEV;
	fd = safe_close(fd);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(safe_close(-1), -1);
}

static void test_take(void **state)
{
	char *p = strdup("x"), *q;
	int fd = 42, g, seven[7];

	q = TAKE_PTR(p);
	assert_null(p);
	assert_string_equal(q, "x");
	free(q);
	g = TAKE_FD(fd);
	assert_int_equal(fd, -1);
	assert_int_equal(g, 42);
	assert_int_equal(ARRAY_SIZE(seven), 7);
	assert_int_equal(MIN(3, -2), -2);
	assert_int_equal(MAX(3, -2), 3);
}

static void test_log_level_from_string(void **state)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{ "err", LOG_LEVEL_ERR },
		{ "error", LOG_LEVEL_ERR },
		{ "ERR", LOG_LEVEL_ERR },
		{ "warning", LOG_LEVEL_WARNING },
		{ "warn", LOG_LEVEL_WARNING },
		{ "Warning", LOG_LEVEL_WARNING },
		{ "notice", LOG_LEVEL_NOTICE },
		{ "info", LOG_LEVEL_INFO },
		{ "INFO", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
		{ "DeBuG", LOG_LEVEL_DEBUG },
		{ "3", 3 },
		{ "4", 4 },
		{ "5", 5 },
		{ "6", 6 },
		{ "7", 7 },
		{ "", -EINVAL },
		{ "0", -EINVAL },
		{ "2", -EINVAL },
		{ "8", -EINVAL },
		{ "9", -EINVAL },
		{ "37", -EINVAL },
		{ "07", -EINVAL },
		{ "-3", -EINVAL },
		{ " info", -EINVAL },
		{ "info ", -EINVAL },
		{ "inf", -EINVAL },
		{ "infos", -EINVAL },
		{ "crit", -EINVAL },
		{ "emerg", -EINVAL },
		{ "trace", -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char g[64], w[64];

		snprintf(g, sizeof(g), "\"%s\" -> %d", cases[i].s,
			 log_level_from_string(cases[i].s));
		snprintf(w, sizeof(w), "\"%s\" -> %d", cases[i].s, cases[i].want);
		assert_string_equal(g, w);
	}
}

/* Send stderr to a temporary file until capture_stderr_end(), which returns what was written. */
static void capture_stderr_begin(int *saved, FILE **f)
{
	fflush(stderr);
	*f = tmpfile();
	assert_non_null(*f);
	*saved = dup(STDERR_FILENO);
	assert_true(*saved >= 0);
	assert_int_equal(dup2(fileno(*f), STDERR_FILENO), STDERR_FILENO);
}

static char *capture_stderr_end(int saved, FILE *f)
{
	char *buf = calloc(1, 4096);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_non_null(buf);
	assert_true(pread(fileno(f), buf, 4095, 0) >= 0);
	fclose(f);
	return buf;
}

static void test_log_output(void **state)
{
	enum log_level old = log_get_level();
	char *out;
	FILE *f;
	int saved, r1, r2, r3, r4, e;

	log_set_ident("test-util");
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(log_get_level(), LOG_LEVEL_INFO);

	capture_stderr_begin(&saved, &f);
	errno = EXDEV;
	r1 = log_err_errno(-ENOENT, "Failed to open '%s': %m", "x");
	e = errno;
	r2 = log_info("hello %d", 42);
	r3 = log_debug_errno(EBUSY, "not printed");
	r4 = log_warn("careful");
	out = capture_stderr_end(saved, f);

	log_set_level(old);
	log_set_ident("taskplane");
	assert_int_equal(r1, -ENOENT);
	assert_int_equal(e, EXDEV);
	assert_int_equal(r2, 0);
	assert_int_equal(r3, -EBUSY);
	assert_int_equal(r4, 0);
	assert_string_equal(out, "test-util: err: Failed to open 'x': No such file or directory\n"
				 "test-util: hello 42\n"
				 "test-util: warning: careful\n");
	free(out);
}

static void test_log_journal_stream(void **state)
{
	assert_true(log_journal_stream_matches("8:12345", 8, 12345));
	assert_true(log_journal_stream_matches("0:0", 0, 0));
	assert_true(log_journal_stream_matches("18446744073709551615:1", (dev_t)UINT64_MAX, 1));
	assert_false(log_journal_stream_matches("8:12346", 8, 12345));
	assert_false(log_journal_stream_matches("9:12345", 8, 12345));
	assert_false(log_journal_stream_matches(NULL, 8, 12345));
	assert_false(log_journal_stream_matches("", 8, 12345));
	assert_false(log_journal_stream_matches("8", 8, 12345));
	assert_false(log_journal_stream_matches("8:", 8, 12345));
	assert_false(log_journal_stream_matches(":12345", 8, 12345));
	assert_false(log_journal_stream_matches("8:12345x", 8, 12345));
	assert_false(log_journal_stream_matches("8:12345\n", 8, 12345));
	assert_false(log_journal_stream_matches(" 8:12345", 8, 12345));
	assert_false(log_journal_stream_matches("8: 12345", 8, 12345));
	assert_false(log_journal_stream_matches("+8:12345", 8, 12345));
	assert_false(log_journal_stream_matches("8:-12345", 8, 12345));
	assert_false(log_journal_stream_matches("99999999999999999999:1", 8, 1));
}

/* With $JOURNAL_STREAM naming stderr, lines carry "<N>" and nothing else of ours. */
static void test_log_journal_output(void **state)
{
	char *out, env[64];
	struct stat st;
	FILE *f;
	int saved;

	log_set_ident("test-util");
	capture_stderr_begin(&saved, &f);
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_err_errno(ENOENT, "Failed to open '%s': %m", "x");
	log_warn("careful");
	log_notice("two\nlines\n");
	log_info("hello");
	/* stderr elsewhere (a log file, a pipe): not the journal */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_info("plain");
	unsetenv("JOURNAL_STREAM");
	log_info("plain again");
	out = capture_stderr_end(saved, f);
	log_set_ident("taskplane");

	assert_string_equal(out, "<3>Failed to open 'x': No such file or directory\n"
				 "<4>careful\n"
				 "<5>two\n<5>lines\n"
				 "<6>hello\n"
				 "test-util: plain\n"
				 "test-util: plain again\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strscpy),
		cmocka_unit_test(test_string_helpers),
		cmocka_unit_test_setup_teardown(test_file_roundtrip, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_file_exchange, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_max, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_p, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_rm_rf, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_find_executable, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_format_rfc3339),
		cmocka_unit_test(test_random_hex),
		cmocka_unit_test(test_time_helpers),
		cmocka_unit_test(test_errno_helpers),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_log_level_from_string),
		cmocka_unit_test(test_log_output),
		cmocka_unit_test(test_log_journal_stream),
		cmocka_unit_test(test_log_journal_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
