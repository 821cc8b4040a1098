// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmrun: runtime/vm.h driven as the per-task shim will drive it, for the root tests in tests/vm/
 * and bench/vm: one process, one event loop, one task VM with one container.
 *
 *   vmrun --kernel F --initrd F [--qemu F] [--console FILE] [--debug] [--accel auto|kvm|tcg]
 *         [--memory MIB] [--nic TAP,IFNAME,MAC,ADDR/PLEN[,MTU]]...
 *         [--route DST/PLEN,IFNAME[,GATEWAY]]... [--dns ADDR]... [--hostname NAME]
 *         [--drive FILE,SERIAL[,ro]]... [--volume NAME,SERIAL]...
 *         --root SERIAL [--upper VOLUME] [--name NAME] [--env K=V]... [--cwd DIR] [--user UID:GID]
 *         [--mount VOLUME,PATH[,ro]]... [--stop-signal N] [--readonly-root]
 *         [--stop-after MS] [--stop-timeout MS] [--timeout S] -- COMMAND [ARG]...
 *
 * The container's stdout and stderr become vmrun's. One line per event on the --events file
 * (default stderr), each with the milliseconds since the VM's start:
 *   vmrun PID (its own, first) qemu MS PID ACCEL (kvm, tcg)   ready MS   started MS PID
 *   output MS                  (the first byte of the container's output)
 *   exited MS status N | exited MS signal N
 *   error MS INDEX MESSAGE     exit MS REASON MESSAGE
 * --stop-after: vm_stop() that many ms after the container started, giving it --stop-timeout
 * ms (default 10000) after its stop signal; SIGTERM and SIGINT to vmrun do the same at once.
 * --timeout (default 120 s): vm_kill() then. Exit status: the container's (128+N for signal N)
 * when it exited, 125 when it did not (the VM failed or was stopped first), 2 on usage errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "event.h"
#include "util.h"
#include "vm.h"

#define MAX_ITEMS 16

struct run {
	struct event_loop *loop;
	struct vm *vm;
	FILE *events;
	unsigned int stop_after_ms, stop_timeout_ms;
	int status; /* the container's wait status, -1 before its exit */
	bool first_output;
	bool stop_asked;
	int stop_timer;
	struct vm_spec spec;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmrun --kernel F --initrd F [--qemu F] [--console FILE] [--debug] [--accel A]\n"
		"             [--memory MIB]\n"
		"             [--nic TAP,IFNAME,MAC,ADDR/PLEN[,MTU]]... [--route DST/PLEN,IFNAME[,GW]]...\n"
		"             [--dns ADDR]... [--hostname NAME] [--drive FILE,SERIAL[,ro]]...\n"
		"             [--volume NAME,SERIAL]... --root SERIAL [--upper VOLUME] [--name NAME]\n"
		"             [--env K=V]...\n"
		"             [--cwd DIR] [--user UID:GID] [--mount VOLUME,PATH[,ro]]...\n"
		"             [--stop-signal N] [--readonly-root] [--stop-after MS] [--stop-timeout MS]\n"
		"             [--timeout S] [--events FILE] -- COMMAND [ARG]...\n");
}

static unsigned long ms_since_start(struct run *r)
{
	uint64_t start = vm_started_usec(r->vm);

	return start ? (unsigned long)((now_usec() - start) / 1000) : 0;
}

static void event(struct run *r, const char *fmt, ...) _printf_(2, 3);
static void event(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(r->events, fmt, ap);
	va_end(ap);
	fputc('\n', r->events);
	fflush(r->events);
}

static void on_stop_timer(struct event_loop *loop, void *data)
{
	struct run *r = data;

	r->stop_timer = 0;
	if (!r->stop_asked) {
		r->stop_asked = true;
		vm_stop(r->vm, r->stop_timeout_ms);
	}
}

static void on_ready(struct vm *vm, void *data)
{
	struct run *r = data;
	_cleanup_free_ char *error = NULL;
	int e;

	event(r, "ready %lu", ms_since_start(r));
	e = vm_send_spec(vm, &r->spec, &error);
	if (e == 0)
		e = vm_start_container(vm, 0);
	if (e < 0) {
		fprintf(stderr, "vmrun: %s\n", error ? error : strerror(-e));
		vm_stop(vm, 0);
	}
}

static void on_started(struct vm *vm, unsigned int index, pid_t pid, void *data)
{
	struct run *r = data;

	event(r, "started %lu %d", ms_since_start(r), (int)pid);
	if (r->stop_after_ms)
		r->stop_timer = event_add_timer(r->loop, (uint64_t)r->stop_after_ms * 1000,
						on_stop_timer, r, NULL);
}

static void on_output(struct vm *vm, unsigned int index, int stream, const void *buf, size_t len,
		      void *data)
{
	struct run *r = data;

	if (!r->first_output) {
		r->first_output = true;
		event(r, "output %lu", ms_since_start(r));
	}
	write_all(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, buf, len);
}

static void on_exited(struct vm *vm, unsigned int index, int status, void *data)
{
	struct run *r = data;

	r->status = status;
	if (WIFSIGNALED(status))
		event(r, "exited %lu signal %d", ms_since_start(r), WTERMSIG(status));
	else
		event(r, "exited %lu status %d", ms_since_start(r), WEXITSTATUS(status));
}

static void on_error(struct vm *vm, unsigned int index, const char *message, void *data)
{
	struct run *r = data;

	event(r, "error %lu %d %s", ms_since_start(r), index == VM_CONTAINER_NONE ? -1 : (int)index,
	      message);
}

static void on_vm_exit(struct vm *vm, const struct vm_exit *how, void *data)
{
	struct run *r = data;

	event(r, "exit %lu %s %s", ms_since_start(r), vm_exit_reason_to_string(how->reason),
	      how->message);
	event_loop_exit(r->loop, 0);
}

static void on_signal(struct event_loop *loop, int signo, void *data)
{
	on_stop_timer(loop, data);
}

static void on_timeout(struct event_loop *loop, void *data)
{
	struct run *r = data;

	fprintf(stderr, "vmrun: timed out: killing the VM\n");
	vm_kill(r->vm);
}

/* Split s at commas into at most max fields (s is modified). */
static size_t split(char *s, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		f[n++] = s;
		s = strchr(s, ',');
		if (!s)
			break;
		*s++ = '\0';
	}
	return n;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 10);
	return errno || *end || end == s || *ret > max ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "qemu", required_argument, NULL, 'q' },
		{ "console", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'D' },
		{ "accel", required_argument, NULL, 'a' },
		{ "memory", required_argument, NULL, 'M' },
		{ "nic", required_argument, NULL, 'n' },
		{ "route", required_argument, NULL, 'R' },
		{ "dns", required_argument, NULL, 'd' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "drive", required_argument, NULL, 'b' },
		{ "volume", required_argument, NULL, 'V' },
		{ "root", required_argument, NULL, 'r' },
		{ "upper", required_argument, NULL, 'U' },
		{ "name", required_argument, NULL, 'N' },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "mount", required_argument, NULL, 'm' },
		{ "stop-signal", required_argument, NULL, 's' },
		{ "readonly-root", no_argument, NULL, 'o' },
		{ "stop-after", required_argument, NULL, 'S' },
		{ "stop-timeout", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "events", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct vm_nic nics[VM_NICS_MAX];
	struct vm_route routes[VM_ROUTES_MAX];
	struct vm_drive drives[MAX_ITEMS];
	struct vm_volume volumes[MAX_ITEMS];
	struct vm_mount mounts[MAX_ITEMS];
	const char *dns[VM_DNS_MAX + 1] = {};
	char *env[64] = {};
	struct vm_opts o = { .accel = VM_ACCEL_AUTO };
	/* every capability the guest's kernel has: tests/vm spoof from inside (NET_ADMIN) */
	struct vm_container c = { .name = "app", .caps = UINT64_MAX };
	struct vm_callbacks cb = { .ready = on_ready,
				   .started = on_started,
				   .output = on_output,
				   .exited = on_exited,
				   .error = on_error,
				   .exit = on_vm_exit };
	struct run r = { .status = -1, .stop_timeout_ms = 10000, .events = stderr };
	size_t n_nics = 0, n_routes = 0, n_drives = 0, n_volumes = 0, n_mounts = 0, n_dns = 0;
	size_t n_env = 0;
	unsigned long timeout_s = 120, v;
	_cleanup_free_ char *error = NULL;
	char *f[6];
	int opt, e;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		size_t k;

		switch (opt) {
		case 'k':
			o.kernel = optarg;
			break;
		case 'i':
			o.initrd = optarg;
			break;
		case 'q':
			o.qemu = optarg;
			break;
		case 'c':
			o.console_log = optarg;
			break;
		case 'D':
			o.debug = true;
			break;
		case 'a':
			if (streq(optarg, "auto"))
				o.accel = VM_ACCEL_AUTO;
			else if (streq(optarg, "kvm"))
				o.accel = VM_ACCEL_KVM;
			else if (streq(optarg, "tcg"))
				o.accel = VM_ACCEL_TCG;
			else
				goto bad;
			break;
		case 'M':
			if (parse_uint(optarg, 65536, &v) < 0)
				goto bad;
			o.memory_mib = v;
			break;
		case 'n':
			if (n_nics == VM_NICS_MAX)
				goto bad;
			k = split(optarg, f, 5);
			if (k < 4)
				goto bad;
			nics[n_nics] = (struct vm_nic){
				.tap = f[0], .ifname = f[1], .mac = f[2], .address = f[3]
			};
			if (k == 5) {
				if (parse_uint(f[4], 65535, &v) < 0)
					goto bad;
				nics[n_nics].mtu = v;
			}
			n_nics++;
			break;
		case 'R':
			if (n_routes == VM_ROUTES_MAX)
				goto bad;
			k = split(optarg, f, 3);
			if (k < 2)
				goto bad;
			routes[n_routes++] = (struct vm_route){ .dst = f[0],
								.ifname = f[1],
								.gateway = k == 3 ? f[2] : NULL };
			break;
		case 'd':
			if (n_dns == VM_DNS_MAX)
				goto bad;
			dns[n_dns++] = optarg;
			break;
		case 'H':
			o.hostname = optarg;
			break;
		case 'b':
			if (n_drives == MAX_ITEMS)
				goto bad;
			k = split(optarg, f, 3);
			if (k < 2 || (k == 3 && !streq(f[2], "ro")))
				goto bad;
			drives[n_drives++] = (struct vm_drive){ .path = f[0],
								.serial = f[1],
								.readonly = k == 3 };
			break;
		case 'V':
			if (n_volumes == MAX_ITEMS || split(optarg, f, 2) != 2)
				goto bad;
			volumes[n_volumes++] = (struct vm_volume){ .name = f[0], .serial = f[1] };
			break;
		case 'r':
			c.root = optarg;
			break;
		case 'U':
			c.upper = optarg;
			break;
		case 'N':
			c.name = optarg;
			break;
		case 'e':
			if (n_env == ARRAY_SIZE(env) - 1)
				goto bad;
			env[n_env++] = optarg;
			break;
		case 'w':
			c.cwd = optarg;
			break;
		case 'u': {
			unsigned int uid, gid;
			char tail;

			if (sscanf(optarg, "%u:%u%c", &uid, &gid, &tail) != 2)
				goto bad;
			c.uid = uid;
			c.gid = gid;
			break;
		}
		case 'm':
			if (n_mounts == MAX_ITEMS)
				goto bad;
			k = split(optarg, f, 3);
			if (k < 2 || (k == 3 && !streq(f[2], "ro")))
				goto bad;
			mounts[n_mounts++] = (struct vm_mount){ .volume = f[0],
								.path = f[1],
								.readonly = k == 3 };
			break;
		case 's':
			if (parse_uint(optarg, 64, &v) < 0)
				goto bad;
			c.stop_signal = v;
			break;
		case 'o':
			c.readonly_root = true;
			break;
		case 'S':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0)
				goto bad;
			r.stop_after_ms = v;
			break;
		case 'T':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0)
				goto bad;
			r.stop_timeout_ms = v;
			break;
		case 't':
			if (parse_uint(optarg, 86400, &v) < 0 || v == 0)
				goto bad;
			timeout_s = v;
			break;
		case 'E':
			r.events = fopen(optarg, "we");
			if (!r.events) {
				fprintf(stderr, "vmrun: %s: %m\n", optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || !c.root) {
		usage(stderr);
		return 2;
	}
	c.argv = argv + optind;
	c.env = env;
	c.mounts = mounts;
	c.n_mounts = n_mounts;
	r.spec = (struct vm_spec){
		.volumes = volumes, .n_volumes = n_volumes, .containers = &c, .n_containers = 1
	};
	o.nics = nics;
	o.n_nics = n_nics;
	o.routes = routes;
	o.n_routes = n_routes;
	o.dns = dns;
	o.drives = drives;
	o.n_drives = n_drives;

	e = event_loop_new(&r.loop);
	if (e < 0) {
		fprintf(stderr, "vmrun: event loop: %s\n", strerror(-e));
		return 1;
	}
	e = vm_new(r.loop, &o, &cb, &r, &r.vm, &error);
	if (e < 0) {
		fprintf(stderr, "vmrun: %s\n", error ? error : strerror(-e));
		event_loop_free(r.loop);
		return 2;
	}
	event(&r, "vmrun %d", (int)getpid());
	event_add_signal(r.loop, SIGTERM, on_signal, &r);
	event_add_signal(r.loop, SIGINT, on_signal, &r);
	event_add_timer(r.loop, (uint64_t)timeout_s * 1000000, on_timeout, &r, NULL);
	e = vm_start(r.vm, &error);
	if (e < 0) {
		fprintf(stderr, "vmrun: %s\n", error ? error : strerror(-e));
		vm_free(r.vm);
		event_loop_free(r.loop);
		return 1;
	}
	event(&r, "qemu 0 %d %s", (int)vm_pid(r.vm), vm_accel_to_string(vm_get_accel(r.vm)));
	event_loop_run(r.loop);
	r.vm = vm_free(r.vm);
	event_loop_free(r.loop);
	if (r.events != stderr)
		fclose(r.events);
	if (r.status < 0)
		return 125;
	return WIFSIGNALED(r.status) ? 128 + WTERMSIG(r.status) : WEXITSTATUS(r.status);

bad:
	fprintf(stderr, "vmrun: bad value '%s'\n", optarg);
	usage(stderr);
	return 2;
}
