// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for runtime/prog.h: helper programs with their stdio, signals, output and deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>

#include "prog.h"
#include "util.h"

static void test_status_and_output(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char *out = NULL, how[64];
	int status;

	assert_int_equal(prog_run(argv, &(struct prog_opts){ .capture = true }, &status, &out), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_string_equal(out, "out\nerr\n");
	prog_status_str(status, how, sizeof(how));
	assert_string_equal(how, "exit status 3");
	free(out);
}

/* Only the first PROG_OUTPUT_MAX bytes are kept; the rest is read, so the child never blocks. */
static void test_output_bounded(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", NULL };
	char *out = NULL;
	int status;

	assert_int_equal(prog_run(argv, &(struct prog_opts){ .capture = true }, &status, &out), 0);
	assert_int_equal(status, 0);
	assert_int_equal(strlen(out), PROG_OUTPUT_MAX);
	free(out);
}

static void test_deadline(void **state)
{
	char *argv[] = { "/bin/sleep", "10", NULL };
	uint64_t start = now_usec();
	int status;

	assert_int_equal(prog_run(argv, &(struct prog_opts){ .capture = true, .timeout_ms = 100 },
				  &status, NULL),
			 -ETIMEDOUT);
	/* killed and reaped, not waited for */
	assert_true(now_usec() - start < 5000000);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	/* without capture too */
	assert_int_equal(prog_run(argv, &(struct prog_opts){ .timeout_ms = 100 }, &status, NULL),
			 -ETIMEDOUT);
}

/* A caller that blocks or ignores signals (a signalfd loop) must not hand that on. */
static void test_signals_reset(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	uint64_t blocked, ignored;
	sigset_t set, saved;
	char *out = NULL;
	int status;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &saved);
	sigaction(SIGUSR1, &ign, &old);
	assert_int_equal(prog_run(argv, &(struct prog_opts){ .capture = true }, &status, &out), 0);
	sigaction(SIGUSR1, &old, NULL);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	assert_int_equal(status, 0);
	/* signals 1-31 (glibc reserves 32 and 33; what the test runner does with them stays) */
	assert_int_equal(sscanf(out, "SigBlk: %" SCNx64 " SigIgn: %" SCNx64, &blocked, &ignored),
			 2);
	free(out);
	assert_true((blocked & 0x7fffffff) == 0);
	assert_true((ignored & 0x7fffffff) == 0);
}

/* The given fds become the child's stdio; nothing else is inherited. */
static void test_stdio(void **state)
{
	char path[] = "/tmp/test-prog.XXXXXX";
	char *argv[] = { "/bin/sh", "-c", "echo to-file; ls /proc/self/fd | wc -l >&2", NULL };
	_cleanup_free_ char *text = NULL;
	int fd = mkstemp(path), leak = open("/dev/null", O_RDONLY), status;

	assert_true(fd >= 0 && leak >= 0);
	assert_int_equal(prog_run(argv, &(struct prog_opts){ .stdout_fd = fd, .stderr_fd = fd },
				  &status, NULL),
			 0);
	assert_int_equal(status, 0);
	assert_int_equal(read_file(path, 4096, &text, NULL), 0);
	/* fds 0, 1, 2 and the one ls opens to read the directory */
	assert_string_equal(text, "to-file\n4\n");
	unlink(path);
	close(fd);
	close(leak);
}

/*
 * keep_fd: a close-on-exec descriptor stays open until the exec, so that /proc/self/fd/N runs
 * what it holds; the program inherits neither it nor any other.
 */
static void test_keep_fd(void **state)
{
	char self[64], script[160];
	char *argv[] = { self, "-c", script, NULL };
	int sh, other, status;

	/* the shell as descriptor 21 (close-on-exec), and a plain descriptor 20 below it */
	sh = open("/bin/sh", O_RDONLY | O_CLOEXEC);
	assert_true(sh >= 0);
	assert_int_equal(dup3(sh, 21, O_CLOEXEC), 21);
	close(sh);
	other = open("/dev/null", O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(dup2(other, 20), 20);
	close(other);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", 21);
	snprintf(script, sizeof(script),
		 "test ! -e /proc/self/fd/20 && test ! -e /proc/self/fd/21 && echo ran");

	{
		char *out = NULL;

		assert_int_equal(prog_run(argv,
					  &(struct prog_opts){ .capture = true, .keep_fd = 21 },
					  &status, &out),
				 0);
		assert_int_equal(status, 0);
		assert_string_equal(out, "ran\n");
		free(out);
	}
	/* without it, descriptor 21 is closed before the exec: nothing to run */
	assert_int_equal(prog_run(argv, &(struct prog_opts){}, &status, NULL), -ENOENT);
	close(20);
	close(21);
}

static void test_missing_program(void **state)
{
	char *argv[] = { "no-such-program-taskplane", NULL };
	char *abs[] = { "/nonexistent/prog", NULL };
	int status;

	assert_int_equal(prog_run(argv, &(struct prog_opts){ .capture = true }, &status, NULL),
			 -ENOENT);
	assert_int_equal(prog_run(abs, &(struct prog_opts){}, &status, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_and_output),
		cmocka_unit_test(test_output_bounded),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_stdio),
		cmocka_unit_test(test_keep_fd),
		cmocka_unit_test(test_missing_program),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
