// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/vm-root.h: a root drive made from a tree once per image digest (a
 * valid ext4 image with the tree's files, read-only), taken from the store afterwards; bad
 * digests refused; a failing mkfs leaves nothing; concurrent makers of one digest leave one good
 * image and no temporary file. Needs mkfs.ext4, e2fsck and debugfs (skipped without).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"
#include "vm-root.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
	char dir[64];
	char tree[PATH_MAX];
	char store[PATH_MAX];
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && streq(s + n - k, suffix);
}

static bool have(const char *prog)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[PATH_MAX + 32];

	assert_non_null(f);
	strscpy(f->dir, "/tmp/tp-test-vm-root.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->dir);
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	snprintf(path, sizeof(path), "%s/bin", f->tree);
	assert_int_equal(mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin/hello", f->tree);
	assert_int_equal(write_file_atomic(path, "hello, drive\n", 13, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin/sh", f->tree);
	assert_int_equal(symlink("hello", path), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->dir);
	free(f);
	return 0;
}

/* How many files of the store's vm-root directory end with suffix (images, or ".tmp" files). */
static size_t count_entries(const char *store, const char *suffix)
{
	char dir[PATH_MAX + 16];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", store, VM_ROOT_DIR);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || strstr(de->d_name, ".tmp"))
			n += ends_with(de->d_name, suffix) ? 1 : 0;
	closedir(d);
	return n;
}

/* e2fsck says clean, and the file reads back through debugfs. */
static void check_image(const char *path)
{
	char cmd[PATH_MAX + 128];
	char buf[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "e2fsck -fn '%s' >/dev/null 2>&1", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "debugfs -R 'cat /bin/hello' '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(buf, sizeof(buf), p));
	pclose(p);
	assert_string_equal(buf, "hello, drive\n");
}

static void test_made_then_cached(void **state)
{
	struct fixture *f = *state;
	struct vm_root_opts o = { .store = f->store, .digest = DIGEST, .tree = f->tree };
	_cleanup_free_ char *path = NULL, *path2 = NULL, *err = NULL;
	char want[PATH_MAX + 128];
	struct stat st;
	bool made = false;

	if (!have("mkfs.ext4") || !have("e2fsck") || !have("debugfs"))
		skip();
	assert_int_equal(vm_root_image(&o, &path, &made, &err), 0);
	assert_null(err);
	assert_true(made);
	snprintf(want, sizeof(want), "%s/%s/sha256-%s.ext4", f->store, VM_ROOT_DIR,
		 DIGEST + strlen("sha256:"));
	assert_string_equal(path, want);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	check_image(path);

	/* the tree is not read again: a second call finds the image */
	assert_int_equal(vm_root_image(&(struct vm_root_opts){ .store = f->store,
							       .digest = DIGEST,
							       .tree = "/nonexistent" },
				       &path2, &made, &err),
			 0);
	assert_false(made);
	assert_string_equal(path2, path);
	assert_int_equal(count_entries(f->store, ".ext4"), 1);
	assert_int_equal(count_entries(f->store, ".tmp"), 0);
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "sha256",	  "sha256:",   ":abc",
					   "sha256:../x", "SHA256:ab", "sha256:ab/cd" };
	bool made = true;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *path = NULL, *err = NULL;

		assert_int_equal(vm_root_image(&(struct vm_root_opts){ .store = f->store,
								       .digest = bad[i],
								       .tree = f->tree },
					       &path, &made, &err),
				 -EINVAL);
		assert_non_null(err);
		assert_null(path);
		assert_false(made);
	}
}

static void test_mkfs_fails(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = NULL, *err = NULL;
	bool made = true;

	assert_int_equal(vm_root_image(&(struct vm_root_opts){ .store = f->store,
							       .digest = DIGEST,
							       .tree = f->tree,
							       .mkfs = "false" },
				       &path, &made, &err),
			 -EIO);
	assert_non_null(strstr(err, "failed"));
	assert_null(path);
	assert_false(made);
	assert_int_equal(count_entries(f->store, ".ext4"), 0);
	assert_int_equal(count_entries(f->store, ".tmp"), 0);
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = NULL, *err = NULL;
	pid_t pids[4];
	bool made;
	int status;

	if (!have("mkfs.ext4") || !have("e2fsck") || !have("debugfs"))
		skip();
	for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char *p = NULL, *e = NULL;
			bool m;

			_exit(vm_root_image(&(struct vm_root_opts){ .store = f->store,
								    .digest = DIGEST,
								    .tree = f->tree },
					    &p, &m, &e) == 0
				      ? 0
				      : 1);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(count_entries(f->store, ".ext4"), 1);
	assert_int_equal(count_entries(f->store, ".tmp"), 0);
	assert_int_equal(vm_root_image(&(struct vm_root_opts){ .store = f->store,
							       .digest = DIGEST,
							       .tree = f->tree },
				       &path, &made, &err),
			 0);
	assert_false(made);
	check_image(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_made_then_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkfs_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
