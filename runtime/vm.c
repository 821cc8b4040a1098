// SPDX-License-Identifier: GPL-2.0-only
/*
 * The task VM on the host: qemu's command line, its start with our file descriptors, the guest
 * channel (runtime/vm-proto.h), QMP (runtime/vm-qmp.h), the stop ladder and the exit's reason.
 * See vm.h.
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "event.h"
#include "util.h"
#include "vm-qmp.h"
#include "vm.h"

#define VM_MEMORY_DEFAULT	128
#define VM_TSC_KHZ_DEFAULT	2000000
#define VM_POWEROFF_TIMEOUT_MS	5000 /* after the containers' timeout: the guest powers off */
#define VM_POWERDOWN_TIMEOUT_MS 5000
#define VM_QUIT_TIMEOUT_MS	3000
#define VM_STDERR_KEEP		2048
#define VM_FD_QMP		3 /* qemu's descriptors: QMP, the channel, then the taps */
#define VM_FD_CHANNEL		4
#define VM_FD_FIRST_TAP		5

enum stop_step {
	STOP_NONE,
	STOP_GUEST,	/* STOP sent: waiting for the guest to power off */
	STOP_POWERDOWN, /* system_powerdown sent */
	STOP_QUIT,	/* quit sent */
	STOP_KILL,	/* SIGKILL sent */
};

struct vm {
	struct event_loop *loop;
	struct vm_callbacks cb;
	void *data;

	/* the options, copied */
	char *qemu, *kernel, *initrd, *console_log;
	enum vm_accel accel;
	unsigned int memory_mib, cpus, tsc_khz;
	unsigned int poweroff_timeout_ms, powerdown_timeout_ms, quit_timeout_ms;
	char **taps; /* per NIC */
	char **macs;
	size_t n_nics;
	struct vm_drive *drives; /* strings owned */
	size_t n_drives;
	char *guest_config; /* the tp.* words */

	enum vm_state state;
	pid_t pid;
	int pidfd;
	int qmp_fd;
	int chan_fd;
	int err_fd;
	int pid_src, qmp_src, chan_src, err_src, timer_src;
	struct qmp *qmp;
	struct vm_frame_reader reader;
	uint8_t *out; /* frames for the guest, not written yet */
	size_t out_len, out_size;
	bool chan_out_armed, qmp_out_armed;
	size_t n_containers; /* of the spec sent; frames about others are dropped */
	bool spec_sent;
	enum stop_step stop;
	bool killed; /* we sent SIGKILL */
	bool quit_sent;
	char shutdown_reason[32]; /* from QMP's SHUTDOWN event */
	char err_tail[VM_STDERR_KEEP];
	size_t err_len;
	uint64_t started_usec, ready_usec;
};

static void qmp_event(struct qmp *q, const char *event, json_t *data, void *userdata);

static const char *const exit_reasons[] = {
	[VM_EXIT_POWEROFF] = "poweroff", [VM_EXIT_RESET] = "reset",
	[VM_EXIT_QUIT] = "quit",	 [VM_EXIT_KILLED] = "killed",
	[VM_EXIT_CRASHED] = "crashed",	 [VM_EXIT_BOOT_FAIL] = "boot-failed",
};

const char *vm_exit_reason_to_string(enum vm_exit_reason r)
{
	return r < ARRAY_SIZE(exit_reasons) ? exit_reasons[r] : NULL;
}

static const char *const states[] = {
	[VM_STATE_NEW] = "new",		[VM_STATE_BOOTING] = "booting",
	[VM_STATE_RUNNING] = "running", [VM_STATE_STOPPING] = "stopping",
	[VM_STATE_EXITED] = "exited",
};

const char *vm_state_to_string(enum vm_state s)
{
	return s < ARRAY_SIZE(states) ? states[s] : NULL;
}

const char *vm_accel_to_string(enum vm_accel a)
{
	switch (a) {
	case VM_ACCEL_AUTO:
		return "auto";
	case VM_ACCEL_KVM:
		return "kvm";
	case VM_ACCEL_TCG:
		return "tcg";
	}
	return NULL;
}

enum vm_accel vm_accel_probe(void)
{
	/*
	 * /dev/kvm alone is not enough: a host may offer a KVM flavour whose guests need kernels
	 * made for it (kvm_pvm). Debian's kernel runs under the hardware ones.
	 */
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return VM_ACCEL_TCG;
	if (access("/sys/module/kvm_intel", F_OK) == 0 || access("/sys/module/kvm_amd", F_OK) == 0)
		return VM_ACCEL_KVM;
	return VM_ACCEL_TCG;
}

/* --- options ----------------------------------------------------------------------------- */

static bool serial_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > VM_SERIAL_MAX)
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/*
 * The guest's configuration as tp.* words for the kernel command line, checked with the parser
 * the guest runs.
 */
static int guest_config_words(const struct vm_opts *o, char **ret, char **ret_error)
{
	_cleanup_free_ char *buf = NULL;
	struct vm_guest_config parsed;
	const char *error = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_nics; i++) {
		const struct vm_nic *n = &o->nics[i];

		fprintf(f, " tp.net=%s,%s,%s", strna(n->ifname), strna(n->mac), strna(n->address));
		if (n->mtu)
			fprintf(f, ",%u", n->mtu);
	}
	for (size_t i = 0; i < o->n_routes; i++) {
		const struct vm_route *rt = &o->routes[i];

		fprintf(f, " tp.route=%s,%s", strna(rt->dst), strna(rt->ifname));
		if (rt->gateway)
			fprintf(f, ",%s", rt->gateway);
	}
	for (size_t i = 0; o->dns && o->dns[i]; i++)
		fprintf(f, " tp.dns=%s", o->dns[i]);
	if (o->hostname)
		fprintf(f, " tp.hostname=%s", o->hostname);
	if (o->debug)
		fprintf(f, " tp.debug");
	if (fclose(f) != 0)
		return -ENOMEM;
	/* No space may hide in a value: the kernel splits its command line at spaces. */
	for (size_t i = 0; i < o->n_nics; i++)
		if (strpbrk(strna(o->nics[i].ifname), " \t\n") ||
		    strpbrk(strna(o->nics[i].mac), " \t\n") ||
		    strpbrk(strna(o->nics[i].address), " \t\n"))
			return fail_with(ret_error, "NIC %zu: a value with white space", i);
	for (size_t i = 0; o->dns && o->dns[i]; i++)
		if (!*o->dns[i] || strpbrk(o->dns[i], " \t\n"))
			return fail_with(ret_error, "bad nameserver '%s'", o->dns[i]);
	for (size_t i = 0; i < o->n_routes; i++)
		if (strpbrk(strna(o->routes[i].dst), " \t\n") ||
		    strpbrk(strna(o->routes[i].ifname), " \t\n") ||
		    (o->routes[i].gateway && strpbrk(o->routes[i].gateway, " \t\n")))
			return fail_with(ret_error, "route %zu: a value with white space", i);
	if (o->hostname && (!*o->hostname || strpbrk(o->hostname, " \t\n")))
		return fail_with(ret_error, "bad hostname '%s'", o->hostname);
	/* What the guest will parse, parsed here first: the same code, the same verdict. */
	r = vm_guest_config_parse(buf, &parsed, &error);
	if (r < 0)
		return fail_with(ret_error, "guest network: %s", error);
	if (parsed.n_nics != o->n_nics)
		return fail_with(ret_error, "guest network: %zu NICs given, %zu understood",
				 o->n_nics, parsed.n_nics);
	if (strlen(buf) > VM_CMDLINE_MAX / 2)
		return fail_with(ret_error,
				 "the guest's configuration is too long for a kernel command line");
	*ret = TAKE_PTR(buf);
	return 0;
}

static int check_opts(const struct vm_opts *o, char **ret_error)
{
	if (!o->kernel)
		return fail_with(ret_error, "no kernel given");
	if (access(o->kernel, R_OK) < 0)
		return fail_errno(ret_error, -errno, "kernel '%s': %m", o->kernel);
	if (!o->initrd)
		return fail_with(ret_error, "no initramfs given");
	if (access(o->initrd, R_OK) < 0)
		return fail_errno(ret_error, -errno, "initramfs '%s': %m", o->initrd);
	if (o->n_nics > VM_NICS_MAX)
		return fail_with(ret_error, "at most %d NICs, not %zu", VM_NICS_MAX, o->n_nics);
	for (size_t i = 0; i < o->n_nics; i++)
		if (!o->nics[i].tap || !*o->nics[i].tap || strlen(o->nics[i].tap) >= IFNAMSIZ)
			return fail_with(ret_error, "NIC %zu: bad tap device name '%s'", i,
					 strna(o->nics[i].tap));
	if (o->memory_mib && o->memory_mib < VM_MEMORY_DEFAULT)
		return fail_with(ret_error, "%u MiB of memory: the guest kernel needs at least %d",
				 o->memory_mib, VM_MEMORY_DEFAULT);
	if (o->cpus > 64)
		return fail_with(ret_error, "%u CPUs: at most 64", o->cpus);
	for (size_t i = 0; i < o->n_drives; i++) {
		const struct vm_drive *d = &o->drives[i];

		if (!serial_valid(d->serial))
			return fail_with(ret_error,
					 "drive %zu: serial '%s' is not 1-%d of [A-Za-z0-9_.-]", i,
					 strna(d->serial), VM_SERIAL_MAX);
		if (!d->path)
			return fail_with(ret_error, "drive %zu: no file given", i);
		if (access(d->path, d->readonly ? R_OK : R_OK | W_OK) < 0)
			return fail_errno(ret_error, -errno, "drive '%s': %m", d->path);
		for (size_t j = 0; j < i; j++)
			if (streq(o->drives[j].serial, d->serial))
				return fail_with(ret_error, "two drives with serial '%s'",
						 d->serial);
	}
	return 0;
}

int vm_new(struct event_loop *loop, const struct vm_opts *o, const struct vm_callbacks *cb,
	   void *data, struct vm **ret, char **ret_error)
{
	struct vm *vm;
	int r;

	r = check_opts(o, ret_error);
	if (r < 0)
		return r;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->loop = loop;
	vm->cb = *cb;
	vm->data = data;
	vm->pid = 0;
	vm->pidfd = vm->qmp_fd = vm->chan_fd = vm->err_fd = -1;
	vm->accel = o->accel == VM_ACCEL_AUTO ? vm_accel_probe() : o->accel;
	vm->memory_mib = o->memory_mib ?: VM_MEMORY_DEFAULT;
	vm->cpus = o->cpus ?: 1;
	vm->tsc_khz = o->tsc_khz ?: VM_TSC_KHZ_DEFAULT;
	vm->poweroff_timeout_ms = o->poweroff_timeout_ms ?: VM_POWEROFF_TIMEOUT_MS;
	vm->poweroff_timeout_ms = o->poweroff_timeout_ms ?: VM_POWEROFF_TIMEOUT_MS;
	vm->powerdown_timeout_ms = o->powerdown_timeout_ms ?: VM_POWERDOWN_TIMEOUT_MS;
	vm->quit_timeout_ms = o->quit_timeout_ms ?: VM_QUIT_TIMEOUT_MS;
	vm->qemu = strdup(o->qemu ?: "qemu-system-x86_64");
	vm->kernel = strdup(o->kernel);
	vm->initrd = strdup(o->initrd);
	vm->console_log = o->console_log ? strdup(o->console_log) : NULL;
	vm->taps = calloc(o->n_nics + 1, sizeof(char *));
	vm->macs = calloc(o->n_nics + 1, sizeof(char *));
	vm->drives = calloc(o->n_drives + 1, sizeof(*vm->drives));
	if (!vm->qemu || !vm->kernel || !vm->initrd || (o->console_log && !vm->console_log) ||
	    !vm->taps || !vm->macs || !vm->drives)
		goto out_nomem;
	vm->n_nics = o->n_nics;
	for (size_t i = 0; i < o->n_nics; i++) {
		vm->taps[i] = strdup(o->nics[i].tap);
		vm->macs[i] = strdup(strna(o->nics[i].mac));
		if (!vm->taps[i] || !vm->macs[i])
			goto out_nomem;
	}
	vm->n_drives = o->n_drives;
	for (size_t i = 0; i < o->n_drives; i++) {
		vm->drives[i].path = strdup(o->drives[i].path);
		vm->drives[i].serial = strdup(o->drives[i].serial);
		vm->drives[i].readonly = o->drives[i].readonly;
		if (!vm->drives[i].path || !vm->drives[i].serial)
			goto out_nomem;
	}
	r = guest_config_words(o, &vm->guest_config, ret_error);
	if (r < 0) {
		vm_free(vm);
		return r;
	}
	r = qmp_new(qmp_event, vm, &vm->qmp);
	if (r < 0)
		goto out_nomem;
	*ret = vm;
	return 0;

out_nomem:
	vm_free(vm);
	return -ENOMEM;
}

/* --- qemu's command line ----------------------------------------------------------------- */

/* A value inside a qemu option list: ',' is written ",,". */
static char *qemu_escape(const char *s)
{
	size_t n = strlen(s), commas = 0;
	char *out, *p;

	for (const char *c = s; *c; c++)
		commas += *c == ',';
	out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	for (p = out; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

int vm_cmdline(const struct vm *vm, char *buf, size_t size)
{
	char tsc[48] = "";
	int n;

	/*
	 * Measured (docs/vm.md): without a PIT or HPET to calibrate against, a TCG guest needs
	 * the TSC's frequency given; ACPI stays on (the cloud kernel finds the virtio-mmio
	 * devices through it); panic=-1 and reboot=t make a guest crash end qemu (-no-reboot).
	 */
	if (vm->accel == VM_ACCEL_TCG)
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%u", vm->tsc_khz);
	n = snprintf(buf, size,
		     "console=ttyS0 reboot=t panic=-1 quiet no_timer_check ipv6.disable=1%s%s", tsc,
		     vm->guest_config);
	if (n < 0 || (size_t)n >= size || n > VM_CMDLINE_MAX - 1)
		return -ENAMETOOLONG;
	return n;
}

struct argv_builder {
	char **v;
	size_t n, size;
	int error;
};

static void argv_add(struct argv_builder *a, char *s) /* takes s */
{
	if (a->error || !s) {
		if (!a->error)
			a->error = -ENOMEM;
		free(s);
		return;
	}
	if (a->n + 2 > a->size) {
		size_t size = a->size ? 2 * a->size : 64;
		char **v = realloc(a->v, size * sizeof(char *));

		if (!v) {
			a->error = -ENOMEM;
			free(s);
			return;
		}
		a->v = v;
		a->size = size;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void argv_addf(struct argv_builder *a, const char *fmt, ...) _printf_(2, 3);
static void argv_addf(struct argv_builder *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	argv_add(a, s);
}

void vm_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int vm_argv(const struct vm *vm, const int *fds, char ***ret, char **ret_error)
{
	struct argv_builder a = {};
	char cmdline[VM_CMDLINE_MAX];
	int r;

	r = vm_cmdline(vm, cmdline, sizeof(cmdline));
	if (r < 0)
		return fail_errno(ret_error, r, "the kernel command line is too long");

	argv_add(&a, strdup(vm->qemu));
	/* microvm: no PCI, no firmware; virtio-mmio devices found through ACPI. */
	argv_add(&a, strdup("-M"));
	argv_add(&a, strdup("microvm,acpi=on,pit=off,pic=off,isa-serial=on,rtc=on"));
	argv_add(&a, strdup("-accel"));
	argv_add(&a, strdup(vm->accel == VM_ACCEL_KVM ? "kvm" : "tcg"));
	if (vm->accel == VM_ACCEL_KVM) {
		argv_add(&a, strdup("-cpu"));
		argv_add(&a, strdup("host"));
	}
	argv_add(&a, strdup("-m"));
	argv_addf(&a, "%u", vm->memory_mib);
	argv_add(&a, strdup("-smp"));
	argv_addf(&a, "%u", vm->cpus);
	argv_add(&a, strdup("-nodefaults"));
	argv_add(&a, strdup("-no-user-config"));
	argv_add(&a, strdup("-display"));
	argv_add(&a, strdup("none"));
	argv_add(&a, strdup("-no-reboot"));
	argv_add(&a, strdup("-kernel"));
	argv_add(&a, strdup(vm->kernel));
	argv_add(&a, strdup("-initrd"));
	argv_add(&a, strdup(vm->initrd));
	argv_add(&a, strdup("-append"));
	argv_add(&a, strdup(cmdline));
	argv_add(&a, strdup("-serial"));
	if (vm->console_log) {
		_cleanup_free_ char *e = qemu_escape(vm->console_log);

		argv_addf(&a, "file:%s", e ? e : "");
	} else {
		argv_add(&a, strdup("null"));
	}
	argv_add(&a, strdup("-chardev"));
	argv_addf(&a, "socket,id=qmp,fd=%d", fds[0]);
	argv_add(&a, strdup("-mon"));
	argv_add(&a, strdup("chardev=qmp,mode=control"));
	argv_add(&a, strdup("-device"));
	argv_add(&a, strdup("virtio-serial-device,max_ports=2"));
	argv_add(&a, strdup("-chardev"));
	argv_addf(&a, "socket,id=ctl,fd=%d", fds[1]);
	argv_add(&a, strdup("-device"));
	argv_add(&a, strdup("virtserialport,chardev=ctl,name=" VM_CHANNEL_NAME));
	for (size_t i = 0; i < vm->n_nics; i++) {
		argv_add(&a, strdup("-netdev"));
		argv_addf(&a, "tap,id=net%zu,fd=%d", i, fds[2 + i]);
		argv_add(&a, strdup("-device"));
		argv_addf(&a, "virtio-net-device,netdev=net%zu,mac=%s", i, vm->macs[i]);
	}
	for (size_t i = 0; i < vm->n_drives; i++) {
		_cleanup_free_ char *e = qemu_escape(vm->drives[i].path);

		argv_add(&a, strdup("-drive"));
		argv_addf(&a, "if=none,id=drive%zu,format=raw,file=%s%s", i, e ? e : "",
			  vm->drives[i].readonly ? ",readonly=on" : "");
		argv_add(&a, strdup("-device"));
		argv_addf(&a, "virtio-blk-device,drive=drive%zu,serial=%s", i,
			  vm->drives[i].serial);
	}
	if (a.error) {
		vm_argv_free(a.v);
		return a.error;
	}
	*ret = a.v;
	return 0;
}

/* --- running ----------------------------------------------------------------------------- */

static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd, r;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	strscpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void report_exit(struct vm *vm, int status);

static void stop_timer_cancel(struct vm *vm)
{
	event_cancel(vm->loop, vm->timer_src);
	vm->timer_src = 0;
}

static void send_sigkill(struct vm *vm)
{
	if (vm->pidfd >= 0 && !vm->killed) {
		vm->killed = true;
		syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0);
	}
}

static void chan_flush(struct vm *vm)
{
	while (vm->out_len) {
		ssize_t n = write(vm->chan_fd, vm->out, vm->out_len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				vm->out_len = 0; /* qemu is gone; its exit tells */
			break;
		}
		memmove(vm->out, vm->out + n, vm->out_len - n);
		vm->out_len -= n;
	}
	if (!vm->chan_src)
		return;
	if (!!vm->out_len != vm->chan_out_armed) {
		vm->chan_out_armed = vm->out_len;
		event_modify_io(vm->loop, vm->chan_src, EPOLLIN | (vm->out_len ? EPOLLOUT : 0));
	}
}

static int chan_send(struct vm *vm, enum vm_frame_type type, uint16_t container,
		     const void *payload, size_t len)
{
	ssize_t n;

	if (vm->chan_fd < 0 || vm->state == VM_STATE_EXITED)
		return -ENOTCONN;
	if (vm->out_len + VM_FRAME_HEADER + len > vm->out_size) {
		size_t size = vm->out_size ? vm->out_size : 4096;
		uint8_t *p;

		while (size < vm->out_len + VM_FRAME_HEADER + len)
			size *= 2;
		p = realloc(vm->out, size);
		if (!p)
			return -ENOMEM;
		vm->out = p;
		vm->out_size = size;
	}
	n = vm_frame_encode(vm->out + vm->out_len, vm->out_size - vm->out_len, type, container,
			    payload, len);
	if (n < 0)
		return (int)n;
	vm->out_len += n;
	chan_flush(vm);
	return 0;
}

static void qmp_flush(struct vm *vm)
{
	size_t len;
	const char *out = qmp_output(vm->qmp, &len);

	while (len) {
		ssize_t n = write(vm->qmp_fd, out, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				qmp_output_consumed(vm->qmp, len);
			break;
		}
		qmp_output_consumed(vm->qmp, n);
		out = qmp_output(vm->qmp, &len);
	}
	qmp_output(vm->qmp, &len);
	if (vm->qmp_src && !!len != vm->qmp_out_armed) {
		vm->qmp_out_armed = len;
		event_modify_io(vm->loop, vm->qmp_src, EPOLLIN | (len ? EPOLLOUT : 0));
	}
}

static void qmp_event(struct qmp *q, const char *event, json_t *data, void *userdata)
{
	struct vm *vm = userdata;

	if (streq(event, "SHUTDOWN"))
		snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s",
			 strna(json_string_value(json_object_get(data, "reason"))));
}

/* Read what the socket has; false at EOF or error. */
static bool qmp_read(struct vm *vm)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(vm->qmp_fd, buf, sizeof(buf));

		if (n > 0) {
			if (qmp_feed(vm->qmp, buf, n) < 0)
				return false; /* not qemu's QMP: ignore the rest */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
}

static void on_qmp(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct vm *vm = data;

	if (events & EPOLLIN && !qmp_read(vm)) {
		event_cancel(loop, vm->qmp_src);
		vm->qmp_src = 0;
		return;
	}
	qmp_flush(vm);
}

static void handle_frame(struct vm *vm, const struct vm_frame *f)
{
	const char *value;
	char key[32];
	size_t pos = 0;
	long num = 0;

	if (f->type == VM_FRAME_HELLO || f->type == VM_FRAME_STARTED || f->type == VM_FRAME_EXIT)
		while (vm_records_next(f->payload, f->len, &pos, key, sizeof(key), &value) == 1)
			if (streq(key, "pid") || streq(key, "status"))
				num = strtol(value, NULL, 10);

	/* A guest speaks of the spec's containers only (or of the task, for an error). */
	if (f->type != VM_FRAME_HELLO && f->type != VM_FRAME_BYE &&
	    !((f->type == VM_FRAME_ERROR || f->type == VM_FRAME_STATS) &&
	      f->container == VM_CONTAINER_NONE) &&
	    f->container >= vm->n_containers)
		return;

	switch (f->type) {
	case VM_FRAME_HELLO:
		if (vm->state == VM_STATE_BOOTING) {
			vm->state = VM_STATE_RUNNING;
			vm->ready_usec = now_usec();
			if (vm->cb.ready)
				vm->cb.ready(vm, vm->data);
		}
		break;
	case VM_FRAME_STARTED:
		if (vm->cb.started)
			vm->cb.started(vm, f->container, (pid_t)num, vm->data);
		break;
	case VM_FRAME_STDOUT:
	case VM_FRAME_STDERR:
		if (vm->cb.output)
			vm->cb.output(vm, f->container, f->type == VM_FRAME_STDOUT ? 1 : 2,
				      f->payload, f->len, vm->data);
		break;
	case VM_FRAME_EXIT:
		if (vm->cb.exited)
			vm->cb.exited(vm, f->container, (int)num, vm->data);
		break;
	case VM_FRAME_ERROR: {
		/* not strndup(): the payload has no NUL of its own */
		_cleanup_free_ char *msg = malloc(f->len + 1);

		if (msg) {
			memcpy(msg, f->payload, f->len);
			msg[f->len] = '\0';
		}

		if (vm->cb.error)
			vm->cb.error(vm, f->container, msg ? msg : "(out of memory)", vm->data);
		break;
	}
	case VM_FRAME_STATS: {
		struct vm_stats st;

		/* a guest's malformed figures are dropped: the last good ones stay */
		if (vm_stats_decode(f->payload, f->len, &st) == 0 && vm->cb.stats)
			vm->cb.stats(vm, f->container, &st, vm->data);
		break;
	}
	case VM_FRAME_STATS_GET:
	case VM_FRAME_BYE:
	case VM_FRAME_SPEC:
	case VM_FRAME_START:
	case VM_FRAME_KILL:
	case VM_FRAME_STOP:
	case __VM_FRAME_MAX:
		break;
	}
}

/* Read and dispatch what the channel has; false at EOF or a broken stream. */
static bool chan_read(struct vm *vm)
{
	uint8_t buf[16384];

	for (;;) {
		struct vm_frame f;
		ssize_t n = read(vm->chan_fd, buf, sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 && errno == EAGAIN;
		if (vm_frame_reader_feed(&vm->reader, buf, n) < 0)
			return false;
		while ((r = vm_frame_reader_next(&vm->reader, &f)) > 0)
			handle_frame(vm, &f);
		if (r < 0)
			return false; /* the guest's init is not ours: nothing more it says counts */
	}
}

static void on_chan(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct vm *vm = data;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && !chan_read(vm)) {
		event_cancel(loop, vm->chan_src);
		vm->chan_src = 0;
		return;
	}
	if (events & EPOLLOUT)
		chan_flush(vm);
}

/* Keep the end of what qemu writes to stderr: its last error line explains a failure. */
static bool err_read(struct vm *vm)
{
	char buf[VM_STDERR_KEEP / 2];

	for (;;) {
		ssize_t n = read(vm->err_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 && errno == EAGAIN;
		if (vm->err_len + n > sizeof(vm->err_tail)) {
			size_t drop = vm->err_len + n - sizeof(vm->err_tail);

			memmove(vm->err_tail, vm->err_tail + drop, vm->err_len - drop);
			vm->err_len -= drop;
		}
		memcpy(vm->err_tail + vm->err_len, buf, n);
		vm->err_len += n;
	}
}

static void on_err(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct vm *vm = data;

	if (!err_read(vm)) {
		event_cancel(loop, vm->err_src);
		vm->err_src = 0;
	}
}

/* qemu's last non-empty stderr line, into buf. */
static void last_err_line(const struct vm *vm, char *buf, size_t size)
{
	size_t end = vm->err_len, start;

	while (end && (vm->err_tail[end - 1] == '\n' || vm->err_tail[end - 1] == '\r'))
		end--;
	start = end;
	while (start && vm->err_tail[start - 1] != '\n')
		start--;
	snprintf(buf, size, "%.*s", (int)(end - start), vm->err_tail + start);
}

static void report_exit(struct vm *vm, int status)
{
	struct vm_exit how = { .wait_status = status };
	char line[512], msg[768];

	/* What the guest said before it went: its last frames are still in the socket. */
	if (vm->chan_fd >= 0)
		chan_read(vm);
	if (vm->qmp_fd >= 0)
		qmp_read(vm);
	if (vm->err_fd >= 0)
		err_read(vm);
	last_err_line(vm, line, sizeof(line));

	if (vm->killed) {
		how.reason = VM_EXIT_KILLED;
		snprintf(msg, sizeof(msg), "qemu was killed (SIGKILL)%s",
			 vm->stop == STOP_KILL ? ": the stop deadlines passed" : "");
	} else if (WIFSIGNALED(status)) {
		how.reason = VM_EXIT_CRASHED;
		snprintf(msg, sizeof(msg), "qemu was killed by signal %d (%s)%s%s",
			 WTERMSIG(status), strsignal(WTERMSIG(status)), line[0] ? ": " : "", line);
	} else if (WEXITSTATUS(status) != 0) {
		how.reason = vm->state == VM_STATE_BOOTING ? VM_EXIT_BOOT_FAIL : VM_EXIT_CRASHED;
		snprintf(msg, sizeof(msg), "qemu exited with status %d%s%s", WEXITSTATUS(status),
			 line[0] ? ": " : "", line);
	} else if (streq(vm->shutdown_reason, "guest-shutdown")) {
		how.reason = vm->state == VM_STATE_BOOTING ? VM_EXIT_BOOT_FAIL : VM_EXIT_POWEROFF;
		snprintf(
			msg, sizeof(msg), "%s",
			vm->state == VM_STATE_BOOTING
				? "the guest powered off before its init was up (its console says why)"
				: "the guest powered off");
	} else if (streq(vm->shutdown_reason, "guest-reset") ||
		   streq(vm->shutdown_reason, "guest-panic")) {
		how.reason = VM_EXIT_RESET;
		snprintf(msg, sizeof(msg), "the guest %s (a kernel panic, or init died)",
			 streq(vm->shutdown_reason, "guest-panic") ? "panicked" : "reset");
	} else if (streq(vm->shutdown_reason, "host-qmp-quit") || vm->quit_sent) {
		how.reason = VM_EXIT_QUIT;
		snprintf(msg, sizeof(msg), "qemu quit as asked%s",
			 vm->stop == STOP_QUIT ? ": the guest did not power off in time" : "");
	} else {
		how.reason = VM_EXIT_CRASHED;
		snprintf(msg, sizeof(msg), "qemu exited%s%s%s", vm->shutdown_reason[0] ? " (" : "",
			 vm->shutdown_reason, vm->shutdown_reason[0] ? ")" : "");
	}
	how.message = msg;
	vm->state = VM_STATE_EXITED;
	stop_timer_cancel(vm);
	if (vm->cb.exit)
		vm->cb.exit(vm, &how, vm->data); /* may free vm */
}

static void on_pidfd(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct vm *vm = data;
	siginfo_t si = {};
	int status;

	if (waitid(P_PIDFD, vm->pidfd, &si, WEXITED | WNOHANG) < 0) {
		/* ECHILD: the caller's SIGCHLD handler reaped it; vm_reaped() will tell. */
		event_cancel(loop, vm->pid_src);
		vm->pid_src = 0;
		return;
	}
	if (si.si_pid == 0)
		return;
	if (si.si_code == CLD_EXITED)
		status = W_EXITCODE(si.si_status, 0);
	else
		status = si.si_status | (si.si_code == CLD_DUMPED ? WCOREFLAG : 0);
	event_cancel(loop, vm->pid_src);
	vm->pid_src = 0;
	vm->pid = 0;
	report_exit(vm, status);
}

void vm_reaped(struct vm *vm, int wait_status)
{
	if (vm->state == VM_STATE_EXITED || vm->pid == 0)
		return;
	event_cancel(vm->loop, vm->pid_src);
	vm->pid_src = 0;
	vm->pid = 0;
	report_exit(vm, wait_status);
}

/* The child: our descriptors at 3, 4, 5..., everything else closed, then qemu. */
static void __attribute__((noreturn))
exec_qemu(pid_t parent, int *fds, int nfds, int err_fd, char **argv)
{
	sigset_t all;
	int null;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	setsid();
	/* Above every target first, so that no dup2 overwrites a descriptor still to be moved. */
	for (int i = 0; i < nfds; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD, 64);
		if (fds[i] < 0)
			_exit(127);
	}
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(err_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	for (int i = 0; i < nfds; i++)
		if (dup2(fds[i], VM_FD_QMP + i) < 0)
			_exit(127);
	syscall(SYS_close_range, VM_FD_QMP + nfds, ~0U, 0);
	execvp(argv[0], argv);
	dprintf(2, "exec %s: %m\n", argv[0]);
	_exit(127);
}

int vm_start(struct vm *vm, char **ret_error)
{
	int qmp[2] = { -1, -1 }, chan[2] = { -1, -1 }, err[2] = { -1, -1 };
	int fds[2 + VM_NICS_MAX], targets[2 + VM_NICS_MAX], nfds = 2, r;
	char **argv = NULL;
	pid_t parent = getpid(), pid;

	if (vm->state != VM_STATE_NEW)
		return fail_with(ret_error, "the VM was started already");
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		fds[i] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0) {
		r = fail_errno(ret_error, -errno, "socketpair: %m");
		goto out_close;
	}
	fds[0] = qmp[1];
	fds[1] = chan[1];
	for (size_t i = 0; i < vm->n_nics; i++) {
		r = tap_open(vm->taps[i]);
		if (r < 0) {
			fail_errno(ret_error, r, "tap '%s': %s", vm->taps[i], strerror(-r));
			goto out_close;
		}
		fds[nfds++] = r;
	}
	for (int i = 0; i < nfds; i++)
		targets[i] = VM_FD_QMP + i;
	r = vm_argv(vm, targets, &argv, ret_error);
	if (r < 0)
		goto out_close;

	pid = fork();
	if (pid < 0) {
		r = fail_errno(ret_error, -errno, "fork: %m");
		goto out_close;
	}
	if (pid == 0)
		exec_qemu(parent, fds, nfds, err[1], argv);

	vm->pid = pid;
	vm->started_usec = now_usec();
	vm->state = VM_STATE_BOOTING;
	vm->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (vm->pidfd < 0) {
		r = fail_errno(ret_error, -errno, "pidfd_open: %m");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		vm->pid = 0;
		vm->state = VM_STATE_EXITED;
		goto out_close;
	}
	vm->qmp_fd = TAKE_FD(qmp[0]);
	vm->chan_fd = TAKE_FD(chan[0]);
	vm->err_fd = TAKE_FD(err[0]);
	fcntl(vm->qmp_fd, F_SETFL, O_NONBLOCK);
	fcntl(vm->chan_fd, F_SETFL, O_NONBLOCK);
	fcntl(vm->err_fd, F_SETFL, O_NONBLOCK);
	vm->pid_src = event_add_io(vm->loop, vm->pidfd, EPOLLIN, on_pidfd, vm, NULL);
	vm->qmp_src = event_add_io(vm->loop, vm->qmp_fd, EPOLLIN, on_qmp, vm, NULL);
	vm->chan_src = event_add_io(vm->loop, vm->chan_fd, EPOLLIN, on_chan, vm, NULL);
	vm->err_src = event_add_io(vm->loop, vm->err_fd, EPOLLIN, on_err, vm, NULL);
	if (vm->pid_src < 0 || vm->qmp_src < 0 || vm->chan_src < 0 || vm->err_src < 0) {
		r = -ENOMEM;
		goto out_kill;
	}
	r = 0;
	goto out_close;

out_kill:
	fail_errno(ret_error, r, "watching qemu: %s", strerror(-r));
	send_sigkill(vm);
out_close:
	vm_argv_free(argv);
	safe_close(qmp[0]);
	safe_close(qmp[1]);
	safe_close(chan[0]);
	safe_close(chan[1]);
	safe_close(err[0]);
	safe_close(err[1]);
	for (int i = 2; i < nfds; i++)
		safe_close(fds[i]);
	return r;
}

int vm_send_spec(struct vm *vm, const struct vm_spec *spec, char **ret_error)
{
	struct vm_records rec = {};
	int r;

	if (vm->state != VM_STATE_RUNNING)
		return fail_errno(ret_error, -ENOTCONN, "the VM is %s, not running",
				  vm_state_to_string(vm->state));
	if (vm->spec_sent)
		return fail_errno(ret_error, -EALREADY, "the VM has its spec already");
	r = vm_spec_encode(spec, &rec, ret_error);
	if (r == 0)
		r = chan_send(vm, VM_FRAME_SPEC, VM_CONTAINER_NONE, rec.buf, rec.len);
	vm_records_done(&rec);
	if (r == 0) {
		vm->spec_sent = true;
		vm->n_containers = spec->n_containers;
	}
	return r;
}

int vm_start_container(struct vm *vm, unsigned int index)
{
	if (vm->state != VM_STATE_RUNNING)
		return -ENOTCONN;
	if (index >= vm->n_containers)
		return -EINVAL;
	return chan_send(vm, VM_FRAME_START, index, NULL, 0);
}

int vm_request_stats(struct vm *vm)
{
	if (vm->state != VM_STATE_RUNNING)
		return -ENOTCONN;
	return chan_send(vm, VM_FRAME_STATS_GET, VM_CONTAINER_NONE, NULL, 0);
}

int vm_kill_container(struct vm *vm, unsigned int index, int signo)
{
	struct vm_records rec = {};
	int r;

	if (vm->state != VM_STATE_RUNNING && vm->state != VM_STATE_STOPPING)
		return -ENOTCONN;
	if (index >= vm->n_containers || signo <= 0 || signo >= NSIG)
		return -EINVAL;
	vm_records_addf(&rec, "signal", "%d", signo);
	r = rec.error ?: chan_send(vm, VM_FRAME_KILL, index, rec.buf, rec.len);
	vm_records_done(&rec);
	return r;
}

static void stop_next(struct event_loop *loop, void *data);

static void stop_arm(struct vm *vm, enum stop_step step, unsigned int ms)
{
	vm->stop = step;
	stop_timer_cancel(vm);
	vm->timer_src = event_add_timer(vm->loop, (uint64_t)ms * 1000, stop_next, vm, NULL);
	if (vm->timer_src < 0) {
		vm->timer_src = 0;
		vm->stop = STOP_KILL;
		send_sigkill(vm);
	}
}

/* A deadline passed: the next, harder step. */
static void stop_next(struct event_loop *loop, void *data)
{
	struct vm *vm = data;

	vm->timer_src = 0;
	switch (vm->stop) {
	case STOP_NONE:
	case STOP_GUEST:
		qmp_command(vm->qmp, "system_powerdown", NULL, NULL, NULL);
		qmp_flush(vm);
		stop_arm(vm, STOP_POWERDOWN, vm->powerdown_timeout_ms);
		break;
	case STOP_POWERDOWN:
		vm->quit_sent = true;
		qmp_command(vm->qmp, "quit", NULL, NULL, NULL);
		qmp_flush(vm);
		stop_arm(vm, STOP_QUIT, vm->quit_timeout_ms);
		break;
	case STOP_QUIT:
	case STOP_KILL:
		vm->stop = STOP_KILL;
		send_sigkill(vm);
		break;
	}
}

int vm_stop(struct vm *vm, unsigned int timeout_ms)
{
	struct vm_records rec = {};

	switch (vm->state) {
	case VM_STATE_NEW:
	case VM_STATE_EXITED:
		return -ESRCH;
	case VM_STATE_STOPPING:
		return 0;
	case VM_STATE_BOOTING:
		/* No init to ask yet: qemu quits (a booting guest has nothing to lose). */
		vm->state = VM_STATE_STOPPING;
		vm->stop = STOP_POWERDOWN;
		stop_next(vm->loop, vm);
		return 0;
	case VM_STATE_RUNNING:
		break;
	}
	vm->state = VM_STATE_STOPPING;
	vm_records_addf(&rec, "timeout_ms", "%u", timeout_ms);
	if (rec.error || chan_send(vm, VM_FRAME_STOP, VM_CONTAINER_NONE, rec.buf, rec.len) < 0) {
		vm_records_done(&rec);
		stop_next(vm->loop, vm);
		return 0;
	}
	vm_records_done(&rec);
	stop_arm(vm, STOP_GUEST, timeout_ms + vm->poweroff_timeout_ms);
	return 0;
}

struct status_query {
	struct vm *vm;
	vm_status_fn cb;
	void *data;
};

static void status_reply(struct qmp *q, json_t *ret, const char *error_class,
			 const char *error_desc, void *data)
{
	struct status_query *sq = data;
	const char *status = json_string_value(json_object_get(ret, "status"));

	if (status)
		sq->cb(sq->vm, status, NULL, sq->data);
	else
		sq->cb(sq->vm, NULL, ret ? "no status in the reply" : error_desc, sq->data);
	free(sq);
}

int vm_query_status(struct vm *vm, vm_status_fn cb, void *data)
{
	struct status_query *sq;
	int r;

	if (vm->state == VM_STATE_NEW || vm->state == VM_STATE_EXITED || !vm->qmp_src)
		return -ENOTCONN;
	sq = malloc(sizeof(*sq));
	if (!sq)
		return -ENOMEM;
	*sq = (struct status_query){ .vm = vm, .cb = cb, .data = data };
	r = qmp_command(vm->qmp, "query-status", NULL, status_reply, sq);
	if (r < 0) {
		free(sq);
		return r;
	}
	qmp_flush(vm);
	return 0;
}

int vm_kill(struct vm *vm)
{
	if (vm->pidfd < 0 || vm->state == VM_STATE_EXITED)
		return -ESRCH;
	if (vm->state != VM_STATE_STOPPING)
		vm->state = VM_STATE_STOPPING;
	send_sigkill(vm);
	return 0;
}

struct vm *vm_free(struct vm *vm)
{
	if (!vm)
		return NULL;
	if (vm->pid > 0 && vm->pidfd >= 0 && vm->state != VM_STATE_EXITED) {
		siginfo_t si;

		syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0);
		/* SIGKILL cannot be refused: this wait is short. */
		(void)waitid(P_PIDFD, vm->pidfd, &si, WEXITED);
	}
	if (vm->loop) {
		event_cancel(vm->loop, vm->pid_src);
		event_cancel(vm->loop, vm->qmp_src);
		event_cancel(vm->loop, vm->chan_src);
		event_cancel(vm->loop, vm->err_src);
		event_cancel(vm->loop, vm->timer_src);
	}
	safe_close(vm->pidfd);
	safe_close(vm->qmp_fd);
	safe_close(vm->chan_fd);
	safe_close(vm->err_fd);
	qmp_free(vm->qmp);
	vm_frame_reader_done(&vm->reader);
	free(vm->out);
	for (size_t i = 0; vm->taps && i < vm->n_nics; i++)
		free(vm->taps[i]);
	for (size_t i = 0; vm->macs && i < vm->n_nics; i++)
		free(vm->macs[i]);
	free(vm->taps);
	free(vm->macs);
	for (size_t i = 0; vm->drives && i < vm->n_drives; i++) {
		free((char *)vm->drives[i].path);
		free((char *)vm->drives[i].serial);
	}
	free(vm->drives);
	free(vm->guest_config);
	free(vm->qemu);
	free(vm->kernel);
	free(vm->initrd);
	free(vm->console_log);
	free(vm);
	return NULL;
}

enum vm_state vm_get_state(const struct vm *vm)
{
	return vm->state;
}

enum vm_accel vm_get_accel(const struct vm *vm)
{
	return vm->accel;
}

pid_t vm_pid(const struct vm *vm)
{
	return vm->pid;
}

uint64_t vm_started_usec(const struct vm *vm)
{
	return vm->started_usec;
}

uint64_t vm_ready_usec(const struct vm *vm)
{
	return vm->ready_usec;
}
