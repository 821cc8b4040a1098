// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/runc.h: runc_start() through runc's exec.fifo, as `runc start` does it
 * (the init's side played by a child), and `runc start` itself when there is no fifo; runc
 * create in two halves, with a fake runc, and the watch of its pid file; runc's sealed copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runc.h"
#include "util.h"

struct fx {
	char root[64];
	char fifo[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char dir[96];

	assert_non_null(f);
	strcpy(f->root, "/tmp/test-runc.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(dir, sizeof(dir), "%s/c1", f->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(f->fifo, sizeof(f->fifo), "%s/exec.fifo", dir);
	assert_int_equal(mkfifo(f->fifo, 0600), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The init's side: after delay_ms, open the fifo for writing (blocks until a reader), write
 * the byte (or not), then exit or wait to be killed. */
static pid_t init_like(const char *fifo, int delay_ms, bool write_byte, bool linger)
{
	pid_t pid = fork();
	int fd;

	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	if (delay_ms)
		usleep((useconds_t)delay_ms * 1000);
	if (fifo) {
		fd = open(fifo, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		if (write_byte && write(fd, "0", 1) != 1)
			_exit(3);
		close(fd);
	}
	while (linger)
		pause();
	_exit(0);
}

static int reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* The init writes its byte: started, the fifo gone (runc's "running"), runc never run. */
static void test_fifo_start(void **state)
{
	struct fx *f = *state;
	struct runc_opts r = { .binary = "/bin/false", .root = f->root };
	char *e = NULL;
	pid_t pid;

	/* the init already waits in its open, as after runc create */
	pid = init_like(f->fifo, 0, true, false);
	assert_int_equal(runc_start(&r, "c1", pid, &e), 0);
	assert_null(e);
	assert_int_equal(access(f->fifo, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(reap(pid), 0);

	/* an init that opens it only later (the poll waits, the init is alive) */
	assert_int_equal(mkfifo(f->fifo, 0600), 0);
	pid = init_like(f->fifo, 300, true, false);
	assert_int_equal(runc_start(&r, "c1", pid, &e), 0);
	assert_int_equal(access(f->fifo, F_OK), -1);
	assert_int_equal(reap(pid), 0);
}

/* An init that died before: an error at once, not a wait to the timeout. */
static void test_fifo_dead_init(void **state)
{
	struct fx *f = *state;
	struct runc_opts r = { .binary = "/bin/false", .root = f->root };
	uint64_t t0 = now_usec();
	char *e = NULL;
	pid_t pid;

	pid = init_like(NULL, 0, false, false); /* exits, unreaped: a zombie, as the shim's */
	usleep(100 * 1000);
	assert_int_equal(runc_start(&r, "c1", pid, &e), -ESRCH);
	assert_non_null(strstr(e, "is dead"));
	assert_true(now_usec() - t0 < 5000000);
	free(e);
	e = NULL;
	reap(pid);

	/* gone altogether (reaped) */
	assert_int_equal(runc_start(&r, "c1", pid, &e), -ESRCH);
	free(e);
}

/* The writer came and went without its byte: not started. */
static void test_fifo_no_byte(void **state)
{
	struct fx *f = *state;
	struct runc_opts r = { .binary = "/bin/false", .root = f->root };
	char *e = NULL;
	pid_t pid;

	pid = init_like(f->fifo, 100, false, true);
	assert_int_equal(runc_start(&r, "c1", pid, &e), -ESRCH);
	assert_non_null(strstr(e, "closed its fifo"));
	free(e);
	kill(pid, SIGKILL);
	reap(pid);
}

/* An init alive that never opens it: bounded by the timeout. */
static void test_fifo_timeout(void **state)
{
	struct fx *f = *state;
	struct runc_opts r = { .binary = "/bin/false", .root = f->root, .timeout_ms = 300 };
	char *e = NULL;
	pid_t pid;

	pid = init_like(NULL, 0, false, true);
	assert_int_equal(runc_start(&r, "c1", pid, &e), -ETIMEDOUT);
	assert_non_null(strstr(e, "did not open its fifo in 300 ms"));
	free(e);
	kill(pid, SIGKILL);
	reap(pid);
}

/* No fifo (another runtime): `RUNC --root ROOT start ID`, and its failure is an error. */
static void test_no_fifo_runs_runc(void **state)
{
	struct fx *f = *state;
	char script[96], out[96], cmd[512];
	struct runc_opts r = { .binary = script, .root = f->root };
	char *e = NULL, *got = NULL;

	assert_int_equal(unlink(f->fifo), 0);
	snprintf(script, sizeof(script), "%s/fake-runc", f->root);
	snprintf(out, sizeof(out), "%s/args", f->root);
	snprintf(cmd, sizeof(cmd), "printf '#!/bin/sh\\necho \"$*\" >%s\\n' >%s && chmod +x %s",
		 out, script, script);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(runc_start(&r, "c1", 0, &e), 0);
	assert_int_equal(read_file(out, 4096, &got, NULL), 0);
	snprintf(cmd, sizeof(cmd), "--root %s start c1\n", f->root);
	assert_string_equal(got, cmd);
	free(got);

	r.binary = "/bin/false";
	assert_true(runc_start(&r, "c1", 0, &e) < 0);
	assert_non_null(e);
	free(e);
	e = NULL;
	assert_int_equal(runc_start(&r, "../c1", 0, &e) < 0, true);
	free(e);
}

/*
 * A fake runc create in f's directory (script), with its bundle made (bundle): it takes its
 * arguments as runc does (--log FILE in $log, --pid-file FILE in $pf), then runs the shell of
 * fmt.
 */
static void fake_runc_create(const struct fx *f, char script[static 96], char bundle[static 96],
			     const char *fmt, ...) _printf_(4, 5);
static void fake_runc_create(const struct fx *f, char script[static 96], char bundle[static 96],
			     const char *fmt, ...)
{
	FILE *fake;
	va_list ap;

	snprintf(script, 96, "%s/fake-runc", f->root);
	snprintf(bundle, 96, "%s/bundle", f->root);
	assert_int_equal(mkdir(bundle, 0700), 0);
	fake = fopen(script, "w");
	assert_non_null(fake);
	fprintf(fake, "#!/bin/sh\n"
		      "while [ $# -gt 0 ]; do\n"
		      "\tcase $1 in --log) log=$2; shift ;; --pid-file) pf=$2; shift ;; esac\n"
		      "\tshift\n"
		      "done\n");
	va_start(ap, fmt);
	vfprintf(fake, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(fake), 0);
	assert_int_equal(chmod(script, 0700), 0);
}

/*
 * runc create in two halves (runc_create_spawn(), runc_create_finish()), as runc_create(): a fake
 * runc that takes its arguments as runc does (--log FILE, --pid-file FILE) and writes the init's
 * pid, or a JSON error to its log and fails.
 */
static void test_create_spawn(void **state)
{
	struct fx *f = *state;
	char script[96], bundle[96], cmd[160];
	struct runc_opts r = { .binary = script, .root = f->root };
	struct runc_create_opts o = { .id = "c1", .bundle = bundle };
	char *e = NULL;
	pid_t runc, pid = 0;

	fake_runc_create(f, script, bundle,
			 "[ -e %s/slow ] && exec sleep 10\n"
			 "if [ -e %s/fail ]; then\n"
			 "\techo '{\"level\":\"error\",\"msg\":\"no such thing\"}' >\"$log\"\n"
			 "\texit 1\n"
			 "fi\n"
			 "echo 4242 >\"$pf\"\n",
			 f->root, f->root);

	assert_int_equal(runc_create_spawn(&r, &o, &runc, &e), 0);
	assert_null(e);
	assert_true(runc > 0);
	assert_int_equal(runc_create_finish(&o, reap(runc), &pid, &e), 0);
	assert_null(e);
	assert_int_equal(pid, 4242);

	/* its failure: runc's message from its log */
	snprintf(cmd, sizeof(cmd), "touch %s/fail", f->root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(runc_create_spawn(&r, &o, &runc, &e), 0);
	assert_int_equal(runc_create_finish(&o, reap(runc), &pid, &e), -EIO);
	assert_string_equal(e, "runc create c1: no such thing");
	free(e);
	e = NULL;

	/* killed (the caller's bound): the signal, and nothing of the run before */
	snprintf(cmd, sizeof(cmd), "touch %s/slow", f->root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(runc_create_spawn(&r, &o, &runc, &e), 0);
	assert_int_equal(kill(runc, SIGKILL), 0);
	assert_int_equal(runc_create_finish(&o, reap(runc), &pid, &e), -EIO);
	assert_non_null(strstr(e, "signal 9"));
	free(e);
	e = NULL;

	/* a bad id is refused before anything runs */
	o.id = "../c1";
	assert_true(runc_create_spawn(&r, &o, &runc, &e) < 0);
	assert_non_null(e);
	free(e);
}

/* Wait until fd is readable, at most timeout_ms: 1, or 0 on the timeout. */
static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms);
}

/* Spawn the fake runc create with the bundle watched: the check's result once it says. */
static int watched_create(const struct runc_opts *r, const struct runc_create_opts *o,
			  pid_t *ret_runc, pid_t *ret_pid)
{
	char *e = NULL;
	int fd = -1, k = 0;

	assert_int_equal(runc_create_watch(o, &fd, &e), 0);
	assert_null(e);
	/* nothing there yet */
	assert_int_equal(runc_create_check(o, fd, ret_pid), 0);
	assert_int_equal(runc_create_spawn(r, o, ret_runc, &e), 0);
	/* every event until the pid file, or 1 s without one */
	while (k == 0 && readable(fd, 1000) == 1)
		k = runc_create_check(o, fd, ret_pid);
	close(fd);
	return k;
}

/*
 * The watch of a bundle (runc_create_watch(), runc_create_check()): a fake runc create that
 * writes its log, then renames the init's pid file into the bundle as runc does, and lingers
 * (runc's exit, still to come). Its log alone is not the pid file; the pid file renamed in is
 * seen while runc runs, one written in place too; a bundle that is not there is refused.
 */
static void test_create_watch(void **state)
{
	struct fx *f = *state;
	char script[96], bundle[96], cmd[160];
	struct runc_opts r = { .binary = script, .root = f->root };
	struct runc_create_opts o = { .id = "c1", .bundle = bundle };
	char *e = NULL;
	pid_t runc, pid = 0;
	int fd = -1;

	fake_runc_create(
		f, script, bundle,
		"echo '{\"level\":\"info\",\"msg\":\"creating\"}' >\"$log\"\n"
		"[ -e %s/go ] || exec sleep 10\n"
		"if [ -e %s/in-place ]; then echo 4343 >\"$pf\"\n"
		"else echo 4242 >\"${pf%%/*}/.init.pid\" && mv \"${pf%%/*}/.init.pid\" \"$pf\"; fi\n"
		"exec sleep 10\n",
		f->root, f->root);

	/* its log lands, not the pid file: not created */
	assert_int_equal(watched_create(&r, &o, &runc, &pid), 0);
	assert_int_equal(kill(runc, SIGKILL), 0);
	reap(runc);

	/* the pid file renamed in: created, while runc still runs */
	snprintf(cmd, sizeof(cmd), "touch %s/go", f->root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(watched_create(&r, &o, &runc, &pid), 1);
	assert_int_equal(pid, 4242);
	assert_int_equal(kill(runc, 0), 0);
	assert_int_equal(kill(runc, SIGKILL), 0);
	reap(runc);

	/* written in place (closed once written): the same */
	snprintf(cmd, sizeof(cmd), "touch %s/in-place", f->root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(watched_create(&r, &o, &runc, &pid), 1);
	assert_int_equal(pid, 4343);
	assert_int_equal(kill(runc, SIGKILL), 0);
	reap(runc);

	/* no such bundle: refused, saying which */
	snprintf(bundle, sizeof(bundle), "%s/nothing", f->root);
	assert_true(runc_create_watch(&o, &fd, &e) < 0);
	assert_int_equal(fd, -1);
	assert_non_null(e);
	assert_non_null(strstr(e, "nothing"));
	free(e);
}

/*
 * runc's sealed copy: an ELF binary copied into a memfd with every seal runc's init looks for,
 * refused for a script; stale once the file changes; run through a link to /proc/self/fd/N
 * (runc_opts.copy_fd), here `runc start` with no fifo, a copy of true and of false standing in.
 */
static void test_copy(void **state)
{
	struct fx *f = *state;
	char bin[96], script[96], link[96], target[64], cmd[512];
	struct runc_copy_id id;
	struct stat st, cst;
	char *e = NULL;
	int fd, fd2;

	snprintf(bin, sizeof(bin), "%s/fake-runc", f->root);
	snprintf(cmd, sizeof(cmd), "cp /bin/true %s", bin);
	assert_int_equal(system(cmd), 0);

	assert_int_equal(runc_copy_open(bin, &fd, &id, &e), 0);
	assert_null(e);
	assert_true(runc_copy_valid(fd));
	assert_int_equal(fcntl(fd, F_GET_SEALS),
			 F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(stat(bin, &st), 0);
	assert_int_equal(fstat(fd, &cst), 0);
	assert_int_equal(cst.st_size, st.st_size);
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_false(runc_copy_stale(bin, &id));

	/* run from it: a link to /proc/self/fd/N, N kept open until runc's exec */
	snprintf(link, sizeof(link), "%s/runc-link", f->root);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(unlink(f->fifo), 0);
	assert_int_equal(
		runc_start(&(struct runc_opts){ .binary = link, .root = f->root, .copy_fd = fd },
			   "c1", 0, &e),
		0);
	/* without the descriptor kept, the link leads nowhere */
	assert_true(runc_start(&(struct runc_opts){ .binary = link, .root = f->root }, "c1", 0,
			       &e) < 0);
	free(e);
	e = NULL;

	/* the binary replaced (an upgrade): stale, and a new copy is false's */
	snprintf(cmd, sizeof(cmd), "cp /bin/false %s.new && mv %s.new %s", bin, bin, bin);
	assert_int_equal(system(cmd), 0);
	assert_true(runc_copy_stale(bin, &id));
	assert_int_equal(runc_copy_open(bin, &fd2, &id, &e), 0);
	assert_false(runc_copy_stale(bin, &id));
	assert_int_equal(dup3(fd2, fd, O_CLOEXEC), fd);
	close(fd2);
	assert_true(
		runc_start(&(struct runc_opts){ .binary = link, .root = f->root, .copy_fd = fd },
			   "c1", 0, &e) < 0);
	assert_non_null(strstr(e, "exit status 1"));
	free(e);
	e = NULL;
	close(fd);
	assert_int_equal(unlink(bin), 0);
	assert_true(runc_copy_stale(bin, &id));

	/* a script (a wrapper) is run by its path, not copied; so is what is not there */
	snprintf(script, sizeof(script), "%s/wrapper", f->root);
	snprintf(cmd, sizeof(cmd), "printf '#!/bin/sh\\nexit 0\\n' >%s && chmod +x %s", script,
		 script);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(runc_copy_open(script, &fd, NULL, &e), -ENOEXEC);
	assert_non_null(strstr(e, "not an ELF executable"));
	free(e);
	e = NULL;
	assert_int_equal(runc_copy_open(bin, &fd, NULL, &e), -ENOENT);
	free(e);
	e = NULL;

	/* what is not such a copy: a plain file, an unsealed memfd */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_false(runc_copy_valid(fd));
	close(fd);
	fd = memfd_create("runc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_false(runc_copy_valid(fd));
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	assert_false(runc_copy_valid(fd)); /* not every seal */
	close(fd);
	assert_false(runc_copy_valid(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fifo_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_dead_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_no_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fifo_runs_runc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_spawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
