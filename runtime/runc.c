// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "runc.h"
#include "prog.h"
#include "util.h"

#define RUNC_MAX_ARGS 16
#define RUNC_MAX_LOG  (64 * 1024)

bool runc_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 128 || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("-_.", id[i]))
			return false;
	return true;
}

/* Drop trailing blanks and keep the last line: runc ends with its error. */
static const char *last_line(char *s)
{
	size_t n = strlen(s);
	char *nl;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

/* `runc --root ROOT args...` into argv (RUNC_MAX_ARGS + 4 entries). */
static int runc_argv(const struct runc_opts *r, const char *const *args, char **argv,
		     char **ret_error)
{
	size_t n = 0;

	if (!r->root)
		return fail_with(ret_error, "runc needs a root directory");
	argv[n++] = (char *)(r->binary ?: "runc");
	argv[n++] = "--root";
	argv[n++] = (char *)r->root;
	for (size_t i = 0; i < RUNC_MAX_ARGS && args[i]; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return 0;
}

/*
 * Run `runc --root ROOT args...` with its output captured. ret_out (if not NULL) gets stdout and
 * stderr. A failure becomes -ENOENT ("does not exist"), -ETIMEDOUT or -EIO with runc's last line.
 */
static int run(const struct runc_opts *r, const char *const *args, int stdio[3], char **ret_out,
	       char **ret_error)
{
	struct prog_opts so = {
		.capture = !stdio,
		.timeout_ms = r->timeout_ms ?: RUNC_TIMEOUT_MS_DEFAULT,
		.keep_fd = r->copy_fd,
	};
	_cleanup_free_ char *out = NULL;
	char *argv[RUNC_MAX_ARGS + 4];
	char how[64];
	int status, k;

	k = runc_argv(r, args, argv, ret_error);
	if (k < 0)
		return k;
	if (stdio) {
		so.stdin_fd = stdio[0];
		so.stdout_fd = stdio[1];
		so.stderr_fd = stdio[2];
	}

	k = prog_run(argv, &so, &status, &out);
	if (k == -ETIMEDOUT)
		return fail_errno(ret_error, k, "runc %s did not finish in %u ms", args[0],
				  so.timeout_ms);
	if (k < 0)
		return fail_errno(ret_error, k, "cannot run %s: %s", argv[0], strerror(-k));
	if (status == 0) {
		if (ret_out)
			*ret_out = TAKE_PTR(out);
		return 0;
	}
	prog_status_str(status, how, sizeof(how));
	if (out && strstr(out, "does not exist"))
		return fail_errno(ret_error, -ENOENT, "runc %s: %s", args[0], last_line(out));
	return fail_errno(ret_error, -EIO, "runc %s failed (%s)%s%s", args[0], how,
			  out && out[0] ? ": " : "", out ? last_line(out) : "");
}

/* The message of the last error in runc's JSON log ({"level":"error","msg":...}). */
static char *log_error(const char *log_path)
{
	_cleanup_free_ char *text = NULL;
	char *msg = NULL, *save = NULL;

	if (read_file(log_path, RUNC_MAX_LOG, &text, NULL) < 0)
		return NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_auto_t *j = json_loads(line, 0, NULL);
		const char *level = json_string_value(json_object_get(j, "level"));
		const char *m = json_string_value(json_object_get(j, "msg"));

		if (m && (streq_ptr(level, "error") || streq_ptr(level, "fatal"))) {
			free(msg);
			msg = strdup(m);
		}
	}
	return msg;
}

/* runc create's paths in the bundle: its log and the init's pid file. */
static int create_paths(const struct runc_create_opts *o, char log[static PATH_MAX],
			char pid_file[static PATH_MAX], char **ret_error)
{
	if (!runc_id_valid(o->id))
		return fail_with(ret_error, "'%.64s' is not a valid container id", o->id);
	if (snprintf(log, PATH_MAX, "%s/runc.log", o->bundle) >= PATH_MAX ||
	    snprintf(pid_file, PATH_MAX, "%s/init.pid", o->bundle) >= PATH_MAX)
		return fail_with(ret_error, "the bundle path '%s' is too long", o->bundle);
	return 0;
}

/* What runc create left once it ended (k: its result as run()'s): the init's pid, or its error. */
static int create_result(const struct runc_create_opts *o, int k, pid_t *ret_pid, char **ret_error)
{
	char log[PATH_MAX], pid_file[PATH_MAX];
	_cleanup_free_ char *pid_text = NULL, *msg = NULL;
	char *end;
	long pid;
	int r;

	r = create_paths(o, log, pid_file, NULL);
	if (r < 0)
		return k < 0 ? k : r;
	if (k < 0) {
		/* runc create's own stdio is the container's: its error comes from its log */
		msg = log_error(log);
		if (msg && ret_error) {
			free(*ret_error);
			*ret_error = NULL;
			fail_with(ret_error, "runc create %s: %s", o->id, msg);
		}
		return k;
	}
	k = read_file(pid_file, 64, &pid_text, NULL);
	if (k < 0)
		return fail_errno(ret_error, k, "runc create %s left no pid file: %s", o->id,
				  strerror(-k));
	errno = 0;
	pid = strtol(pid_text, &end, 10);
	if (errno || pid <= 1 || pid > INT_MAX || (*end && !isspace((unsigned char)*end)))
		return fail_errno(ret_error, -EIO, "runc create %s: bad pid file", o->id);
	*ret_pid = (pid_t)pid;
	return 0;
}

/* runc create's arguments (a NULL-terminated array of CREATE_NARGS), its stale log and pid file
 * removed. */
#define CREATE_NARGS 11
static int create_args(const struct runc_create_opts *o, char log[static PATH_MAX],
		       char pid_file[static PATH_MAX], const char *args[static CREATE_NARGS],
		       char **ret_error)
{
	const char *a[CREATE_NARGS] = { "--log",    log,       "--log-format", "json",	 "create",
					"--bundle", o->bundle, "--pid-file",   pid_file, o->id,
					NULL };
	int k;

	if (ret_error)
		*ret_error = NULL;
	k = create_paths(o, log, pid_file, ret_error);
	if (k < 0)
		return k;
	memcpy(args, a, sizeof(a));
	unlink(log);
	unlink(pid_file);
	return 0;
}

int runc_create(const struct runc_opts *r, const struct runc_create_opts *o, pid_t *ret_pid,
		char **ret_error)
{
	char log[PATH_MAX], pid_file[PATH_MAX];
	const char *args[CREATE_NARGS];
	int stdio[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd };
	int k;

	k = create_args(o, log, pid_file, args, ret_error);
	if (k < 0)
		return k;
	return create_result(o, run(r, args, stdio, NULL, ret_error), ret_pid, ret_error);
}

int runc_create_spawn(const struct runc_opts *r, const struct runc_create_opts *o,
		      pid_t *ret_runc_pid, char **ret_error)
{
	char log[PATH_MAX], pid_file[PATH_MAX];
	const char *args[CREATE_NARGS];
	char *argv[RUNC_MAX_ARGS + 4];
	int k;

	k = create_args(o, log, pid_file, args, ret_error);
	if (k >= 0)
		k = runc_argv(r, args, argv, ret_error);
	if (k < 0)
		return k;
	k = prog_start(argv,
		       &(struct prog_opts){ .stdin_fd = o->stdin_fd,
					    .stdout_fd = o->stdout_fd,
					    .stderr_fd = o->stderr_fd,
					    .keep_fd = r->copy_fd },
		       ret_runc_pid);
	if (k < 0)
		return fail_errno(ret_error, k, "cannot run %s: %s", argv[0], strerror(-k));
	return 0;
}

int runc_create_finish(const struct runc_create_opts *o, int status, pid_t *ret_pid,
		       char **ret_error)
{
	char how[64];
	int k = 0;

	if (ret_error)
		*ret_error = NULL;
	if (status != 0) {
		prog_status_str(status, how, sizeof(how));
		k = fail_errno(ret_error, -EIO, "runc create %s failed (%s)", o->id, how);
	}
	return create_result(o, k, ret_pid, ret_error);
}

int runc_create_watch(const struct runc_create_opts *o, int *ret_fd, char **ret_error)
{
	char log[PATH_MAX], pid_file[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	if (ret_error)
		*ret_error = NULL;
	r = create_paths(o, log, pid_file, ret_error);
	if (r < 0)
		return r;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return fail_errno(ret_error, -errno, "cannot watch the bundle: %m");
	/* runc renames a temporary file to init.pid; a write in place would close it */
	if (inotify_add_watch(fd, o->bundle, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0)
		return fail_errno(ret_error, -errno, "cannot watch the bundle '%s': %m", o->bundle);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int runc_create_check(const struct runc_create_opts *o, int fd, pid_t *ret_pid)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool landed = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->len && streq(ev->name, "init.pid"))
				landed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return -errno;
	/* the pid file was removed before the spawn (create_args()): there, it is this runc's */
	if (!landed)
		return 0;
	return create_result(o, 0, ret_pid, NULL) < 0 ? 0 : 1;
}

/* Is pid gone or a zombie (its unreaped exit)? */
static bool pid_dead(pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, 4096, &buf, NULL) < 0)
		return true;
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

/*
 * runc start without a second runc. runc create leaves the container's init blocked in opening
 * ROOT/ID/exec.fifo for writing; runc start opens it for reading, reads the byte the init writes
 * just before it execs the container's process, and removes the fifo (runc's state is
 * "running" from then on: no fifo, a live init). The same here saves an exec of runc, a Go
 * program of 10 MB (~30 ms on a small VM: as much as the rest of a container's start). 1: there
 * is no such fifo (another runtime, or another runc), for `runc start` to do it.
 */
static int fifo_start(const struct runc_opts *r, const char *id, pid_t pid, char **ret_error)
{
	unsigned int timeout_ms = r->timeout_ms ?: RUNC_TIMEOUT_MS_DEFAULT, waited = 0;
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX], byte;
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s/exec.fifo", r->root, id) >= (int)sizeof(path))
		return 1;
	/* non-blocking: a reader's open does not wait for the writer */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return fail_errno(ret_error, -errno, "runc start %s: cannot open %s: %s", id, path,
				  strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return 1;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int k;

		k = poll(&p, 1, 100);
		if (k < 0 && errno != EINTR)
			return fail_errno(ret_error, -errno, "runc start %s: poll: %s", id,
					  strerror(errno));
		if (k > 0) {
			n = read(fd, &byte, 1);
			if (n == 1)
				break;
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			/* the writer came and went without a byte: it did not exec */
			return fail_errno(ret_error, -ESRCH,
					  "runc start %s: the container's init closed its fifo",
					  id);
		}
		if (pid > 0 && pid_dead(pid))
			return fail_errno(ret_error, -ESRCH,
					  "runc start %s: the container's init (pid %d) is dead",
					  id, (int)pid);
		waited += 100;
		if (waited >= timeout_ms)
			return fail_errno(
				ret_error, -ETIMEDOUT,
				"runc start %s: the container's init did not open its fifo "
				"in %u ms",
				id, timeout_ms);
	}
	/* as runc start: its state is "running" from now on */
	if (unlink(path) < 0 && errno != ENOENT)
		return fail_errno(ret_error, -errno, "runc start %s: cannot remove %s: %s", id,
				  path, strerror(errno));
	return 0;
}

int runc_start(const struct runc_opts *r, const char *id, pid_t pid, char **ret_error)
{
	const char *args[] = { "start", id, NULL };
	int k;

	if (ret_error)
		*ret_error = NULL;
	if (!runc_id_valid(id))
		return fail_with(ret_error, "'%.64s' is not a valid container id", id);
	if (!r->root)
		return fail_with(ret_error, "runc needs a root directory");
	k = fifo_start(r, id, pid, ret_error);
	if (k <= 0)
		return k;
	return run(r, args, NULL, NULL, ret_error);
}

int runc_kill(const struct runc_opts *r, const char *id, int signo, char **ret_error)
{
	char sig[16];
	const char *args[] = { "kill", id, sig, NULL };

	if (!runc_id_valid(id))
		return fail_with(ret_error, "'%.64s' is not a valid container id", id);
	snprintf(sig, sizeof(sig), "%d", signo);
	return run(r, args, NULL, NULL, ret_error);
}

int runc_delete(const struct runc_opts *r, const char *id, bool force, char **ret_error)
{
	const char *plain[] = { "delete", id, NULL };
	const char *forced[] = { "delete", "--force", id, NULL };

	if (!runc_id_valid(id))
		return fail_with(ret_error, "'%.64s' is not a valid container id", id);
	return run(r, force ? forced : plain, NULL, NULL, ret_error);
}

int runc_state(const struct runc_opts *r, const char *id, struct runc_state *ret, char **ret_error)
{
	const char *args[] = { "state", id, NULL };
	_cleanup_free_ char *out = NULL;
	json_auto_t *j = NULL;
	const char *status;
	int k;

	if (!runc_id_valid(id))
		return fail_with(ret_error, "'%.64s' is not a valid container id", id);
	k = run(r, args, NULL, &out, ret_error);
	if (k < 0)
		return k;
	j = json_loads(out, 0, NULL);
	status = json_string_value(json_object_get(j, "status"));
	if (!status || !json_is_integer(json_object_get(j, "pid")))
		return fail_errno(ret_error, -EIO, "runc state %s: unexpected output", id);
	strscpy(ret->status, status, sizeof(ret->status));
	ret->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	return 0;
}

static void ids_free(char **ids)
{
	for (size_t i = 0; ids && ids[i]; i++)
		free(ids[i]);
	free(ids);
}

int runc_list(const struct runc_opts *r, char ***ret_ids, char **ret_error)
{
	const char *args[] = { "list", "--quiet", NULL };
	_cleanup_free_ char *out = NULL;
	char **ids = NULL, *save = NULL;
	struct stat st;
	size_t n = 0;
	int k;

	ids = calloc(1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	if (!r->root || stat(r->root, &st) < 0) {
		*ret_ids = ids; /* runc has not been run with this root */
		return 0;
	}
	k = run(r, args, NULL, &out, ret_error);
	if (k < 0) {
		free(ids);
		return k;
	}
	for (char *id = strtok_r(out, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
		char **grown;

		if (!runc_id_valid(id))
			continue;
		grown = realloc(ids, (n + 2) * sizeof(*ids));
		if (!grown) {
			ids_free(ids);
			return -ENOMEM;
		}
		ids = grown;
		ids[n] = strdup(id);
		if (!ids[n]) {
			ids_free(ids);
			return -ENOMEM;
		}
		ids[++n] = NULL;
	}
	*ret_ids = ids;
	return 0;
}

int runc_teardown(const struct runc_opts *r, char **ret_error)
{
	char **ids = NULL;
	int k;

	if (ret_error)
		*ret_error = NULL;
	k = runc_list(r, &ids, ret_error);
	if (k < 0)
		return k;
	for (size_t i = 0; ids[i]; i++) {
		k = runc_delete(r, ids[i], true, ret_error);
		if (k < 0 && k != -ENOENT) {
			ids_free(ids);
			return k;
		}
		if (ret_error) {
			free(*ret_error);
			*ret_error = NULL;
		}
	}
	ids_free(ids);
	if (rmdir(r->root) < 0 && errno != ENOENT)
		return fail_errno(ret_error, -errno, "cannot remove '%s': %m", r->root);
	return 0;
}

/* --- a sealed copy of the binary ------------------------------------------------------------ */

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#define RUNC_COPY_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define RUNC_COPY_MAX	(512LL << 20)

static void copy_id_of(const struct stat *st, struct runc_copy_id *id)
{
	*id = (struct runc_copy_id){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = st->st_size,
		.ctime_ns = (long long)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec,
	};
}

int runc_copy_open(const char *binary, int *ret_fd, struct runc_copy_id *ret_id, char **ret_error)
{
	_cleanup_close_ int in = -1, fd = -1;
	char path[PATH_MAX];
	unsigned char magic[4];
	struct stat st;
	off_t done = 0;
	int r;

	binary = binary ?: "runc";
	r = find_executable(binary, path, sizeof(path));
	if (r < 0)
		return fail_errno(ret_error, r, "no '%s' in PATH", binary);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return fail_errno(ret_error, -errno, "cannot open '%s': %m", path);
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(magic) || st.st_size > RUNC_COPY_MAX)
		return fail_errno(ret_error, -ENOEXEC, "'%s' is not a runc binary", path);
	if (pread(in, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic))
		return fail_errno(ret_error, -EIO, "cannot read '%s'", path);
	if (memcmp(magic, "\177ELF", sizeof(magic)) != 0)
		return fail_errno(ret_error, -ENOEXEC, "'%s' is not an ELF executable", path);

	/* executable (MFD_EXEC: not the noexec seal of vm.memfd_noexec=1), before Linux 6.3 by
	 * default */
	fd = memfd_create("runc", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("runc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fail_errno(ret_error, -errno, "cannot create a memfd for runc: %m");
	while (done < st.st_size) {
		ssize_t n = sendfile(fd, in, &done, (size_t)(st.st_size - done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail_errno(ret_error, n < 0 ? -errno : -EIO, "cannot copy '%s': %s",
					  path, n < 0 ? strerror(errno) : "it shrank");
	}
	if (fcntl(fd, F_ADD_SEALS, RUNC_COPY_SEALS) < 0)
		return fail_errno(ret_error, -errno, "cannot seal the copy of '%s': %m", path);
	if (ret_id)
		copy_id_of(&st, ret_id);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

bool runc_copy_stale(const char *binary, const struct runc_copy_id *id)
{
	struct runc_copy_id now;
	char path[PATH_MAX];
	struct stat st;

	if (find_executable(binary ?: "runc", path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return true;
	copy_id_of(&st, &now);
	return now.dev != id->dev || now.ino != id->ino || now.size != id->size ||
	       now.ctime_ns != id->ctime_ns;
}

bool runc_copy_valid(int fd)
{
	return fd > 2 && fcntl(fd, F_GET_SEALS) == RUNC_COPY_SEALS;
}
