// SPDX-License-Identifier: GPL-2.0-only
/*
 * init: PID 1 of a task VM. It mounts /proc, /sys, /dev and /run, loads the modules of the
 * initramfs in their order (finit_module), configures the network from the kernel command line
 * (tp.* parameters), says HELLO on the virtio serial port "tp.ctl", then serves the host there:
 * SPEC (mount the task's volumes and the containers' roots), START, KILL and STOP; it forwards
 * the containers' stdout and stderr as frames, reports each exit after its output, and powers
 * the VM off (reboot(RB_POWER_OFF): qemu then exits) when every container has exited or a STOP
 * has run its course. Ctrl-Alt-Del (SIGINT), SIGTERM and SIGPWR are a STOP with the default
 * timeout. The protocol is runtime/vm-proto.h; docs/vm.md says the rest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#define MODULES_DIR	     "/lib/modules"
#define STOP_TIMEOUT_DEFAULT 30000 /* ms: ECS's default stopTimeout */
#define OUTPUT_CHUNK	     16384

static bool debug;
static char last_log[512]; /* the last error logged: what the host hears when boot fails */
static int chan_fd = -1;
static struct vm_guest_config config;
static uint8_t *spec_payload;
static struct vm_spec_parsed spec;
static struct guest_container *containers;
static size_t n_containers;
static bool have_spec;
static bool stopping;
static int timer_fd = -1;

static void vlog(const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	snprintf(last_log, sizeof(last_log), "%.*s", n, buf);
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, "tp-init: ", 9);
	(void)!write(STDERR_FILENO, buf, n);
}

void guest_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void guest_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn)) power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* not reached; if it were, the kernel panics when init exits (panic=-1: qemu stops) */
	_exit(1);
}

static int write_all_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Blocking: when the host does not read, the containers' output waits (nothing is dropped). */
static int send_frame(enum vm_frame_type type, uint16_t container, const void *payload, size_t len)
{
	static uint8_t buf[VM_FRAME_HEADER + VM_FRAME_MAX];
	ssize_t n;

	if (chan_fd < 0)
		return -ENOTCONN;
	n = vm_frame_encode(buf, sizeof(buf), type, container, payload, len);
	if (n < 0)
		return (int)n;
	return write_all_fd(chan_fd, buf, n);
}

static void send_records(enum vm_frame_type type, uint16_t container, struct vm_records *r)
{
	if (r->error == 0)
		(void)send_frame(type, container, r->buf, r->len);
	vm_records_done(r);
}

static void send_error(uint16_t container, const char *msg)
{
	guest_log("%s%s%s", container == VM_CONTAINER_NONE ? "" : containers[container].spec->name,
		  container == VM_CONTAINER_NONE ? "" : ": ", msg);
	(void)send_frame(VM_FRAME_ERROR, container, msg, strlen(msg));
}

/* --- boot ------------------------------------------------------------------------------------ */

/* The boot cannot go on: the host hears why (if the channel is open), then the VM goes off. */
static void __attribute__((noreturn)) boot_failed(void)
{
	if (chan_fd >= 0)
		(void)send_frame(VM_FRAME_ERROR, VM_CONTAINER_NONE, last_log, strlen(last_log));
	power_off();
}

static void mount_or_die(const char *src, const char *target, const char *type, unsigned long flags,
			 const char *data)
{
	mkdir(target, 0755);
	if (mount(src, target, type, flags, data) < 0) {
		guest_log("mount %s on %s: %m", type, target);
		power_off();
	}
}

static void setup_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* The modules in /lib/modules/order, each after those it depends on (scripts/vm-kernel.sh). */
static void load_modules(void)
{
	char line[256];
	FILE *f = fopen(MODULES_DIR "/order", "re");

	if (!f) {
		guest_log(MODULES_DIR "/order: %m");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char path[300];
		int fd;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		snprintf(path, sizeof(path), MODULES_DIR "/%s", line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			guest_log("%s: %m", path);
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			guest_log("finit_module %s: %m", line);
		close(fd);
	}
	fclose(f);
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r;

	if (fd < 0)
		return -errno;
	r = write_all_fd(fd, text, strlen(text));
	close(fd);
	return r;
}

/*
 * The initramfs is the kernel's rootfs, which pivot_root(2) cannot leave: the containers could
 * only be chroot'ed. So, as switch_root does, init moves to a tmpfs: the initramfs's files are
 * removed (the modules are loaded, init runs from memory), a tmpfs gets /dev, /proc and /sys
 * moved into it, and is moved over / and chroot'ed into; / is then a mount like any other.
 */
static void leave_initramfs(void)
{
	static const char *const keep[] = { "dev", "proc", "sys" };
	struct dirent *de;
	DIR *d;

	d = opendir(MODULES_DIR);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	unlink("/init");
	mount_or_die("tmpfs", "/newroot", "tmpfs", MS_NOSUID, "mode=0755");
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		char from[16], to[32];

		snprintf(from, sizeof(from), "/%s", keep[i]);
		snprintf(to, sizeof(to), "/newroot/%s", keep[i]);
		mkdir(to, 0755);
		if (mount(from, to, NULL, MS_MOVE, NULL) < 0) {
			guest_log("move %s: %m", from);
			power_off();
		}
	}
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		guest_log("leaving the initramfs: %m");
		power_off();
	}
}

/* /run/tp/resolv.conf, hosts and hostname: bind-mounted into each container. */
static void write_etc_files(void)
{
	char buf[1024], a[INET_ADDRSTRLEN];
	size_t len = 0;

	mkdir("/run/tp", 0755);
	if (config.n_dns) {
		for (size_t i = 0; i < config.n_dns; i++) {
			inet_ntop(AF_INET, &config.dns[i], a, sizeof(a));
			len += snprintf(buf + len, sizeof(buf) - len, "nameserver %s\n", a);
		}
		write_text("/run/tp/resolv.conf", buf);
	}
	len = snprintf(buf, sizeof(buf), "127.0.0.1\tlocalhost\n");
	if (config.hostname[0] && config.n_nics) {
		inet_ntop(AF_INET, &config.nics[0].addr, a, sizeof(a));
		snprintf(buf + len, sizeof(buf) - len, "%s\t%s\n", a, config.hostname);
	}
	write_text("/run/tp/hosts", buf);
	if (config.hostname[0]) {
		snprintf(buf, sizeof(buf), "%s\n", config.hostname);
		write_text("/run/tp/hostname", buf);
		if (sethostname(config.hostname, strlen(config.hostname)) < 0)
			guest_log("sethostname: %m");
	}
}

/* The /dev/vportNpM whose name is tp.ctl (the port appears when virtio_console probes). */
static int open_channel(void)
{
	for (int tries = 0; tries < 200; tries++) {
		DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char path[300], name[64] = "";
			ssize_t n;
			int fd;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, name, sizeof(name) - 1);
			close(fd);
			if (n <= 0)
				continue;
			name[n] = '\0';
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, VM_CHANNEL_NAME) != 0)
				continue;
			snprintf(path, sizeof(path), "/dev/%s", de->d_name);
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				closedir(d);
				return fd;
			}
		}
		if (d)
			closedir(d);
		usleep(10000);
	}
	return -ENOENT;
}

/* --- the containers -------------------------------------------------------------------------- */

static void handle_spec(const struct vm_frame *f)
{
	char *error = NULL;
	int r;

	if (have_spec) {
		send_error(VM_CONTAINER_NONE, "a second SPEC: ignored");
		return;
	}
	/* The decoded spec points into its payload: keep a copy of it. */
	spec_payload = malloc(f->len ? f->len : 1);
	if (!spec_payload) {
		send_error(VM_CONTAINER_NONE, "out of memory");
		return;
	}
	memcpy(spec_payload, f->payload, f->len);
	r = vm_spec_decode(spec_payload, f->len, &spec, &error);
	if (r < 0) {
		send_error(VM_CONTAINER_NONE, error ? error : strerror(-r));
		free(error);
		return;
	}
	n_containers = spec.spec.n_containers;
	containers = calloc(n_containers, sizeof(*containers));
	if (!containers) {
		send_error(VM_CONTAINER_NONE, "out of memory");
		return;
	}
	for (size_t i = 0; i < n_containers; i++)
		containers[i] = (struct guest_container){
			.spec = &spec.spec.containers[i], .index = i, .out_fd = -1, .err_fd = -1
		};
	have_spec = true;
	r = guest_volumes_mount(&spec.spec, &error);
	for (size_t i = 0; r == 0 && i < n_containers; i++)
		r = guest_root_mount(&containers[i], &error);
	if (r < 0) {
		send_error(VM_CONTAINER_NONE, error ? error : strerror(-r));
		free(error);
	}
}

static void handle_start(uint16_t index)
{
	struct guest_container *c;
	struct vm_records rec = {};
	char *error = NULL;
	int r;

	if (!have_spec || index >= n_containers) {
		send_error(VM_CONTAINER_NONE, "START of a container the spec does not have");
		return;
	}
	c = &containers[index];
	if (c->started || stopping) {
		send_error(index, c->started ? "already started" : "the task is stopping");
		return;
	}
	if (!c->root_mounted) {
		send_error(index, "its root file system is not mounted");
		return;
	}
	r = guest_container_start(&spec.spec, c, config.hostname, &error);
	if (c->started) {
		vm_records_addf(&rec, "pid", "%d", (int)c->pid);
		send_records(VM_FRAME_STARTED, index, &rec);
	}
	if (r < 0) {
		send_error(index, error ? error : strerror(-r));
		free(error);
	}
	guest_debug("%s: started, pid %d", c->spec->name, (int)c->pid);
}

static bool container_running(const struct guest_container *c)
{
	return c->started && !c->reaped;
}

static void arm_timer(unsigned long ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (ms % 1000) * 1000000 + 1 } };

	timerfd_settime(timer_fd, 0, &its, NULL);
}

static void begin_stop(unsigned long timeout_ms)
{
	if (stopping)
		return;
	stopping = true;
	guest_debug("stopping, %lu ms before SIGKILL", timeout_ms);
	for (size_t i = 0; i < n_containers; i++)
		if (container_running(&containers[i]))
			kill(containers[i].pid, containers[i].spec->stop_signal ?: SIGTERM);
	arm_timer(timeout_ms);
}

static unsigned long record_ulong(const struct vm_frame *f, const char *name, unsigned long def)
{
	const char *value;
	size_t pos = 0;
	char key[32];

	while (vm_records_next(f->payload, f->len, &pos, key, sizeof(key), &value) == 1)
		if (strcmp(key, name) == 0)
			return strtoul(value, NULL, 10);
	return def;
}

/* STATS of each running container's cgroup, then of the task's drives. */
static void handle_stats(void)
{
	struct vm_records rec = {};
	struct vm_stats st;

	if (!have_spec)
		return;
	for (size_t i = 0; i < n_containers; i++) {
		if (!container_running(&containers[i]))
			continue;
		guest_container_stats(&containers[i], &st);
		vm_stats_encode(&st, &rec);
		send_records(VM_FRAME_STATS, i, &rec); /* and rec is empty again */
	}
	guest_storage_stats(&spec.spec, &st);
	vm_stats_encode(&st, &rec);
	send_records(VM_FRAME_STATS, VM_CONTAINER_NONE, &rec);
}

static void handle_frame(const struct vm_frame *f)
{
	guest_debug("frame %s for %u, %u bytes", vm_frame_type_name(f->type), f->container, f->len);
	switch (f->type) {
	case VM_FRAME_SPEC:
		handle_spec(f);
		break;
	case VM_FRAME_START:
		handle_start(f->container);
		break;
	case VM_FRAME_KILL: {
		unsigned long sig = record_ulong(f, "signal", SIGKILL);

		if (have_spec && f->container < n_containers &&
		    container_running(&containers[f->container]) && sig < NSIG)
			kill(containers[f->container].pid, (int)sig);
		break;
	}
	case VM_FRAME_STOP:
		begin_stop(record_ulong(f, "timeout_ms", STOP_TIMEOUT_DEFAULT));
		break;
	case VM_FRAME_STATS_GET:
		handle_stats();
		break;
	case VM_FRAME_HELLO:
	case VM_FRAME_STARTED:
	case VM_FRAME_STDOUT:
	case VM_FRAME_STDERR:
	case VM_FRAME_EXIT:
	case VM_FRAME_ERROR:
	case VM_FRAME_BYE:
	case VM_FRAME_STATS:
	case __VM_FRAME_MAX:
		send_error(VM_CONTAINER_NONE, "a frame the host does not send: ignored");
		break;
	}
}

/*
 * Forward what a pipe has, a few chunks at a time (a container that writes without pause does
 * not keep the loop from the channel and the signals); close it at EOF.
 */
static void pump(struct guest_container *c, int *fd, enum vm_frame_type type)
{
	static char buf[OUTPUT_CHUNK];
	ssize_t n;

	for (int chunks = 0; chunks < 4;) {
		n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			(void)send_frame(type, c->index, buf, n);
			chunks++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(*fd);
		*fd = -1;
		return;
	}
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < n_containers; i++)
			if (containers[i].pid == pid && !containers[i].reaped) {
				containers[i].reaped = true;
				containers[i].status = status;
			}
}

/*
 * EXIT frames for containers reaped whose output has ended. True when the VM may power off:
 * every container exited and was reported (those never started count as done once the task
 * stops), or a stop was asked before any spec.
 */
static bool report_exits(void)
{
	bool all = true;

	if (!have_spec)
		return stopping;

	for (size_t i = 0; i < n_containers; i++) {
		struct guest_container *c = &containers[i];

		if (c->reaped && c->out_fd < 0 && c->err_fd < 0 && !c->exit_sent) {
			struct vm_records rec = {};

			vm_records_addf(&rec, "status", "%d", c->status);
			send_records(VM_FRAME_EXIT, c->index, &rec);
			c->exit_sent = true;
			guest_debug("%s: exited, status %d", c->spec->name, c->status);
		}
		/* Done: exited and reported, or never started while the task stops. */
		if (!c->exit_sent && !(stopping && !c->started))
			all = false;
	}
	return all;
}

static void __attribute__((noreturn)) shutdown_now(void)
{
	guest_unmount_all();
	(void)send_frame(VM_FRAME_BYE, VM_CONTAINER_NONE, NULL, 0);
	power_off();
}

static void __attribute__((noreturn)) serve(int sig_fd)
{
	struct vm_frame_reader reader = {};

	for (;;) {
		struct pollfd pfd[3 + 2 * VM_CONTAINERS_MAX];
		size_t n = 0;
		int r;

		pfd[n++] = (struct pollfd){ .fd = chan_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = timer_fd, .events = POLLIN };
		for (size_t i = 0; i < n_containers; i++) {
			pfd[n++] = (struct pollfd){ .fd = containers[i].out_fd, .events = POLLIN };
			pfd[n++] = (struct pollfd){ .fd = containers[i].err_fd, .events = POLLIN };
		}
		r = poll(pfd, n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			guest_log("poll: %m");
			shutdown_now();
		}

		/* Output first, so that an exit is reported after it. */
		for (size_t i = 0; i < n_containers; i++) {
			struct guest_container *c = &containers[i];

			if (c->out_fd >= 0 && pfd[3 + 2 * i].revents)
				pump(c, &c->out_fd, VM_FRAME_STDOUT);
			if (c->err_fd >= 0 && pfd[4 + 2 * i].revents)
				pump(c, &c->err_fd, VM_FRAME_STDERR);
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap();
				else
					begin_stop(STOP_TIMEOUT_DEFAULT);
			}
		}
		if (pfd[2].revents) {
			uint64_t ticks;

			(void)!read(timer_fd, &ticks, sizeof(ticks));
			for (size_t i = 0; i < n_containers; i++)
				if (container_running(&containers[i])) {
					kill(containers[i].pid, SIGKILL);
					containers[i].killed = true;
				}
		}
		if (pfd[0].revents & POLLIN) {
			uint8_t buf[8192];
			struct vm_frame f;
			ssize_t len = read(chan_fd, buf, sizeof(buf));

			if (len > 0) {
				if (vm_frame_reader_feed(&reader, buf, len) < 0) {
					guest_log("out of memory");
					shutdown_now();
				}
				while ((r = vm_frame_reader_next(&reader, &f)) > 0)
					handle_frame(&f);
				if (r < 0) {
					guest_log("the host sent a malformed frame: stopping");
					begin_stop(STOP_TIMEOUT_DEFAULT);
				}
			} else if (len == 0) {
				/* the host closed its end: nobody will hear the containers */
				begin_stop(STOP_TIMEOUT_DEFAULT);
			}
		} else if (pfd[0].revents & (POLLHUP | POLLERR)) {
			begin_stop(STOP_TIMEOUT_DEFAULT);
			/* poll no more on a port that hung up */
			usleep(100000);
		}
		if (report_exits())
			shutdown_now();
	}
}

int main(int argc, char **argv)
{
	char cmdline[VM_CMDLINE_MAX + 1];
	struct vm_records hello = {};
	const char *error = NULL;
	struct timespec ts;
	sigset_t mask;
	ssize_t n;
	int fd, sig_fd, r;

	if (getpid() != 1) {
		fprintf(stderr, "%s: the init of a task VM; it runs as PID 1 of the guest only\n",
			argv[0]);
		return 1;
	}
	(void)argc;
	mount_or_die("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	setup_console();
	mount_or_die("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_die("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	/* Ctrl-Alt-Del becomes SIGINT to us: an orderly stop, as a power button would be. */
	reboot(RB_DISABLE_CAD);

	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;
	if (fd >= 0)
		close(fd);
	cmdline[n > 0 ? n : 0] = '\0';
	if (vm_guest_config_parse(cmdline, &config, &error) < 0) {
		guest_log("kernel command line: %s", error);
		power_off();
	}
	debug = config.debug;

	load_modules();
	leave_initramfs();
	mount_or_die("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	chan_fd = open_channel();
	if (chan_fd < 0) {
		guest_log("no virtio serial port named " VM_CHANNEL_NAME);
		power_off();
	}
	r = guest_cgroup_setup();
	if (r < 0) {
		guest_log("cgroup2 on /sys/fs/cgroup with cpu and memory: %s", strerror(-r));
		boot_failed();
	}
	if (guest_net_setup(&config) < 0)
		boot_failed();
	write_etc_files();

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGPWR);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sig_fd < 0 || timer_fd < 0) {
		guest_log("signalfd, timerfd: %m");
		boot_failed();
	}
	clock_gettime(CLOCK_BOOTTIME, &ts);
	vm_records_addf(&hello, "version", "%d", VM_PROTO_VERSION);
	vm_records_addf(&hello, "uptime_ms", "%llu",
			(unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	send_records(VM_FRAME_HELLO, VM_CONTAINER_NONE, &hello);
	guest_debug("up");
	serve(sig_fd);
}
