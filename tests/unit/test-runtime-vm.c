// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/vm.h without booting anything: the options checked, qemu's command line
 * (accelerator, kernel command line with the guest's network, drives, escaping, descriptors),
 * and the supervision through stand-ins for qemu (shell scripts that speak a little QMP and a
 * few frames on the descriptors they get): a failed start, a guest that powers off, its STATS
 * (those of containers the spec has not, and malformed ones, dropped), a crash, and
 * the stop ladder down to SIGKILL when nobody answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "event.h"
#include "util.h"
#include "vm.h"

static char dir[] = "/tmp/test-vm.XXXXXX";
static char kernel[64], initrd[64], drive[80];

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs", dir);
	snprintf(drive, sizeof(drive), "%s/a,b.img", dir);
	assert_int_equal(write_file_atomic(kernel, "k", 1, 0644), 0);
	assert_int_equal(write_file_atomic(initrd, "i", 1, 0644), 0);
	assert_int_equal(write_file_atomic(drive, "d", 1, 0644), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const struct vm_callbacks no_cb;

static bool argv_has(char **argv, const char *a, const char *b)
{
	for (size_t i = 0; argv[i]; i++)
		if (streq(argv[i], a) && (!b || (argv[i + 1] && streq(argv[i + 1], b))))
			return true;
	return false;
}

static const char *argv_after(char **argv, const char *a)
{
	for (size_t i = 0; argv[i]; i++)
		if (streq(argv[i], a))
			return argv[i + 1];
	return NULL;
}

static void test_argv(void **state)
{
	const struct vm_nic nics[] = { { .tap = "tap0",
					 .ifname = "eth1",
					 .mac = "02:00:00:00:00:01",
					 .address = "198.18.1.1/16",
					 .mtu = 9001 } };
	const struct vm_route routes[] = { { "0.0.0.0/0", "eth1", "198.18.0.1" } };
	const char *dns[] = { "198.18.0.2", NULL };
	struct vm_drive drives[] = { { drive, "root", true } };
	struct vm_opts o = { .kernel = kernel,
			     .initrd = initrd,
			     .accel = VM_ACCEL_TCG,
			     .nics = nics,
			     .n_nics = 1,
			     .routes = routes,
			     .n_routes = 1,
			     .dns = dns,
			     .hostname = "task",
			     .drives = drives,
			     .n_drives = 1 };
	const int fds[] = { 3, 4, 5 };
	char **argv = NULL, *error = NULL, line[VM_CMDLINE_MAX];
	struct vm *vm;

	assert_int_equal(vm_new(NULL, &o, &no_cb, NULL, &vm, &error), 0);
	assert_int_equal(vm_argv(vm, fds, &argv, &error), 0);
	assert_string_equal(argv[0], "qemu-system-x86_64");
	assert_true(argv_has(argv, "-accel", "tcg"));
	assert_false(argv_has(argv, "-cpu", NULL));
	assert_true(argv_has(argv, "-m", "128"));
	assert_true(argv_has(argv, "-no-reboot", NULL));
	assert_true(argv_has(argv, "-kernel", kernel));
	assert_true(argv_has(argv, "-serial", "null"));
	assert_true(argv_has(argv, "-chardev", "socket,id=qmp,fd=3"));
	assert_true(argv_has(argv, "-chardev", "socket,id=ctl,fd=4"));
	assert_true(argv_has(argv, "-device", "virtserialport,chardev=ctl,name=tp.ctl"));
	assert_true(argv_has(argv, "-netdev", "tap,id=net0,fd=5"));
	assert_true(
		argv_has(argv, "-device", "virtio-net-device,netdev=net0,mac=02:00:00:00:00:01"));
	/* a comma in a file name is doubled for qemu's option parser */
	snprintf(line, sizeof(line), "if=none,id=drive0,format=raw,file=%s/a,,b.img,readonly=on",
		 dir);
	assert_true(argv_has(argv, "-drive", line));
	assert_true(argv_has(argv, "-device", "virtio-blk-device,drive=drive0,serial=root"));
	assert_string_equal(
		argv_after(argv, "-append"),
		"console=ttyS0 reboot=t panic=-1 quiet no_timer_check ipv6.disable=1 "
		"tsc_early_khz=2000000 tp.net=eth1,02:00:00:00:00:01,198.18.1.1/16,9001 "
		"tp.route=0.0.0.0/0,eth1,198.18.0.1 tp.dns=198.18.0.2 tp.hostname=task");
	vm_argv_free(argv);
	assert_int_equal(vm_get_state(vm), VM_STATE_NEW);
	vm_free(vm);

	/* KVM: the host's CPU, no TSC frequency to give; a console file; more memory. */
	o.accel = VM_ACCEL_KVM;
	o.console_log = "/tmp/x,y.log";
	o.memory_mib = 256;
	o.n_nics = o.n_routes = 0;
	o.dns = NULL;
	o.hostname = NULL;
	assert_int_equal(vm_new(NULL, &o, &no_cb, NULL, &vm, &error), 0);
	assert_int_equal(vm_argv(vm, fds, &argv, &error), 0);
	assert_true(argv_has(argv, "-accel", "kvm"));
	assert_true(argv_has(argv, "-cpu", "host"));
	assert_true(argv_has(argv, "-m", "256"));
	assert_true(argv_has(argv, "-serial", "file:/tmp/x,,y.log"));
	assert_string_equal(argv_after(argv, "-append"),
			    "console=ttyS0 reboot=t panic=-1 quiet no_timer_check ipv6.disable=1");
	vm_argv_free(argv);
	vm_free(vm);

	assert_string_equal(vm_exit_reason_to_string(VM_EXIT_BOOT_FAIL), "boot-failed");
	assert_string_equal(vm_state_to_string(VM_STATE_STOPPING), "stopping");
}

static void expect_refused(const struct vm_opts *o, const char *what)
{
	char *error = NULL;
	struct vm *vm = NULL;

	assert_true(vm_new(NULL, o, &no_cb, NULL, &vm, &error) < 0);
	assert_null(vm);
	assert_non_null(error);
	if (!strstr(error, what))
		fail_msg("'%s' does not say '%s'", error, what);
	free(error);
}

static void test_refused(void **state)
{
	struct vm_nic nic = { .tap = "tap0",
			      .ifname = "eth1",
			      .mac = "02:00:00:00:00:01",
			      .address = "198.18.1.1/16" };
	struct vm_route route = { "0.0.0.0/0", "eth9", NULL };
	struct vm_drive drives[2] = { { drive, "root", false }, { drive, "root", false } };
	struct vm_opts o = { .kernel = "/nonexistent/vmlinux", .initrd = initrd };
	const char *dns[] = { "1.2.3.4 5", NULL };

	expect_refused(&o, "kernel '/nonexistent/vmlinux': No such file or directory");
	o.kernel = kernel;
	o.initrd = NULL;
	expect_refused(&o, "no initramfs given");
	o.initrd = initrd;
	o.memory_mib = 64;
	expect_refused(&o, "needs at least 128");
	o.memory_mib = 0;
	o.drives = drives;
	o.n_drives = 2;
	expect_refused(&o, "two drives with serial 'root'");
	drives[1].serial = "has space";
	expect_refused(&o, "serial 'has space'");
	o.n_drives = 0;
	o.nics = &nic;
	o.n_nics = 1;
	nic.mac = "02:00:00:00:00";
	expect_refused(&o, "guest network: tp.net: bad MAC address");
	nic.mac = "02:00:00:00:00:01";
	nic.tap = "a-tap-name-far-too-long";
	expect_refused(&o, "bad tap device name");
	nic.tap = "tap0";
	o.routes = &route;
	o.n_routes = 1;
	expect_refused(&o, "the interface is not a tp.net");
	o.n_routes = 0;
	o.dns = dns;
	expect_refused(&o, "bad nameserver '1.2.3.4 5'");
	o.dns = NULL;
	o.hostname = "a b";
	expect_refused(&o, "bad hostname");
}

/* --- supervision, with a stand-in for qemu ----------------------------------------------- */

struct result {
	struct event_loop *loop;
	bool ready;
	int exited_index, exited_status;
	char output[64];
	enum vm_exit_reason reason;
	char message[256];
	bool gone;
	unsigned int stop_after_ready; /* ms+1: vm_stop(0) when ready */
	bool send_spec;		       /* a spec of one container when ready */
	bool query_status;	       /* vm_query_status() when ready */
	char status[32];
	bool request_stats; /* vm_request_stats() when ready (after the spec) */
	unsigned int n_stats;
	struct vm_stats stats[2]; /* container 0's, the task's */
};

static void r_stats(struct vm *vm, unsigned int index, const struct vm_stats *s, void *data)
{
	struct result *r = data;

	r->n_stats++;
	if (index == 0)
		r->stats[0] = *s;
	else if (index == VM_CONTAINER_NONE)
		r->stats[1] = *s;
	else
		fail_msg("STATS of container %u, which the spec has not", index);
}

static void r_status(struct vm *vm, const char *status, const char *error, void *data)
{
	struct result *r = data;

	snprintf(r->status, sizeof(r->status), "%s", status ? status : error);
}

static void r_ready(struct vm *vm, void *data)
{
	struct result *r = data;

	r->ready = true;
	if (r->send_spec) {
		static char *argv[] = { "true", NULL };
		static const struct vm_container c = { .name = "app",
						       .root = "root",
						       .argv = argv };
		const struct vm_spec spec = { .containers = &c, .n_containers = 1 };
		char *error = NULL;

		assert_int_equal(vm_send_spec(vm, &spec, &error), 0);
		assert_int_equal(vm_send_spec(vm, &spec, &error), -EALREADY);
		free(error);
		assert_int_equal(vm_start_container(vm, 1), -EINVAL);
		assert_int_equal(vm_start_container(vm, 0), 0);
	}
	if (r->request_stats)
		assert_int_equal(vm_request_stats(vm), 0);
	if (r->query_status)
		assert_int_equal(vm_query_status(vm, r_status, r), 0);
	if (r->stop_after_ready)
		assert_int_equal(vm_stop(vm, 0), 0);
}

static void r_output(struct vm *vm, unsigned int index, int stream, const void *buf, size_t len,
		     void *data)
{
	struct result *r = data;

	snprintf(r->output + strlen(r->output), sizeof(r->output) - strlen(r->output), "%d:%.*s",
		 stream, (int)len, (const char *)buf);
}

static void r_exited(struct vm *vm, unsigned int index, int status, void *data)
{
	struct result *r = data;

	r->exited_index = index;
	r->exited_status = status;
}

static void r_exit(struct vm *vm, const struct vm_exit *how, void *data)
{
	struct result *r = data;

	r->gone = true;
	r->reason = how->reason;
	snprintf(r->message, sizeof(r->message), "%s", how->message);
	event_loop_exit(r->loop, 0);
}

static void r_timeout(struct event_loop *loop, void *data)
{
	fail_msg("the stand-in for qemu did not end in time");
}

/* Run a VM whose "qemu" is the shell script body; fill r. */
static void run_fake(const char *body, struct result *r, const struct vm_opts *extra)
{
	const struct vm_callbacks cb = { .ready = r_ready,
					 .output = r_output,
					 .exited = r_exited,
					 .stats = r_stats,
					 .exit = r_exit };
	struct vm_opts o = { .kernel = kernel, .initrd = initrd, .accel = VM_ACCEL_TCG };
	char script[80], *text = NULL, *error = NULL;
	struct vm *vm;

	if (extra) {
		o.poweroff_timeout_ms = extra->poweroff_timeout_ms;
		o.powerdown_timeout_ms = extra->powerdown_timeout_ms;
		o.quit_timeout_ms = extra->quit_timeout_ms;
	}
	snprintf(script, sizeof(script), "%s/qemu", dir);
	assert_true(asprintf(&text, "#!/bin/sh\nP=/usr/bin/printf\n%s\n", body) > 0);
	assert_int_equal(write_file_atomic(script, text, strlen(text), 0755), 0);
	free(text);
	o.qemu = script;
	r->exited_index = -1;
	assert_int_equal(event_loop_new(&r->loop), 0);
	assert_int_equal(vm_new(r->loop, &o, &cb, r, &vm, &error), 0);
	assert_int_equal(vm_start(vm, &error), 0);
	assert_true(vm_pid(vm) > 0);
	event_add_timer(r->loop, 10 * 1000000ULL, r_timeout, NULL, NULL);
	event_loop_run(r->loop);
	assert_int_equal(vm_get_state(vm), VM_STATE_EXITED);
	assert_int_equal(vm_pid(vm), 0);
	vm_free(vm);
	event_loop_free(r->loop);
}

#define GREET                                                                                      \
	"$P '{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "     \
	"\"capabilities\": []}}\\r\\n' >&3\n"
#define HELLO  "$P '\\001\\000\\377\\377\\000\\000\\000\\000' >&4\n"
#define STDOUT "$P '\\005\\000\\000\\000\\003\\000\\000\\000hi\\n' >&4\n"
/* about a container the spec has not: dropped */
#define STDOUT5 "$P '\\005\\000\\005\\000\\003\\000\\000\\000no\\n' >&4\n"
#define EXIT3	"$P '\\007\\000\\000\\000\\013\\000\\000\\000status=768\\000' >&4\n"

static void test_boot_fail(void **state)
{
	struct result r = {};

	run_fake("echo 'qemu: warning: something' >&2\n"
		 "echo 'qemu-system-x86_64: -kernel x: could not load kernel' >&2\nexit 1",
		 &r, NULL);
	assert_false(r.ready);
	assert_int_equal(r.reason, VM_EXIT_BOOT_FAIL);
	assert_string_equal(r.message, "qemu exited with status 1: qemu-system-x86_64: -kernel x: "
				       "could not load kernel");
}

static void test_poweroff(void **state)
{
	struct result r = { .send_spec = true };

	/* What a guest says before it powers off is heard, though qemu is gone by then. */
	run_fake(GREET HELLO STDOUT STDOUT5 EXIT3
		 "$P '{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
		 "\"guest-shutdown\"}}\\r\\n' >&3\nexit 0",
		 &r, NULL);
	assert_true(r.ready);
	assert_string_equal(r.output, "1:hi\n");
	assert_int_equal(r.exited_index, 0);
	assert_true(WIFEXITED(r.exited_status) && WEXITSTATUS(r.exited_status) == 3);
	assert_int_equal(r.reason, VM_EXIT_POWEROFF);
	assert_string_equal(r.message, "the guest powered off");
}

static void test_stats(void **state)
{
	struct result r = { .send_spec = true, .request_stats = true };

	/*
	 * Container 0's figures, then some of container 5 (the spec has not: dropped), the task's,
	 * and a malformed frame (dropped).
	 */
	run_fake(
		GREET HELLO
		"$P '\\015\\000\\000\\000\\027\\000\\000\\000cpu_usec=5\\000memory=4096\\000' >&4\n"
		"$P '\\015\\000\\005\\000\\011\\000\\000\\000memory=1\\000' >&4\n"
		"$P '\\015\\000\\377\\377\\014\\000\\000\\000storage=1,2\\000' >&4\n"
		"$P '\\015\\000\\377\\377\\011\\000\\000\\000memory=x\\000' >&4\n"
		"$P '{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
		"\"guest-shutdown\"}}\\r\\n' >&3\nexit 0",
		&r, NULL);
	assert_int_equal(r.n_stats, 2);
	assert_true(r.stats[0].has_cpu && r.stats[0].cpu_usec == 5);
	assert_true(r.stats[0].has_memory && r.stats[0].memory == 4096);
	assert_false(r.stats[0].has_memory_peak || r.stats[0].has_storage);
	assert_true(r.stats[1].has_storage && r.stats[1].storage_used == 1 &&
		    r.stats[1].storage_size == 2);
	assert_false(r.stats[1].has_memory);
}

static void test_guest_reset(void **state)
{
	struct result r = {};

	run_fake(GREET HELLO
		 "$P '{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
		 "\"guest-reset\"}}\\r\\n' >&3\nexit 0",
		 &r, NULL);
	assert_int_equal(r.reason, VM_EXIT_RESET);
	assert_string_equal(r.message, "the guest reset (a kernel panic, or init died)");
}

static void test_query_status(void **state)
{
	struct result r = { .query_status = true };

	/* A monitor that answers the negotiation (id 0), then the question (id 1). */
	run_fake(GREET HELLO "read -r l <&3; $P '{\"return\": {}, \"id\": 0}\\r\\n' >&3\n"
			     "read -r l <&3; case $l in *query-status*) ;; *) exit 9;; esac\n"
			     "$P '{\"return\": {\"status\": \"running\", \"running\": true}, "
			     "\"id\": 1}\\r\\n' >&3\nsleep 0.2; kill -SEGV $$",
		 &r, NULL);
	assert_string_equal(r.status, "running");
	assert_int_equal(r.reason, VM_EXIT_CRASHED);
}

static void test_crash(void **state)
{
	struct result r = {};

	run_fake(GREET HELLO "kill -SEGV $$", &r, NULL);
	assert_true(r.ready);
	assert_int_equal(r.reason, VM_EXIT_CRASHED);
	assert_string_equal(r.message, "qemu was killed by signal 11 (Segmentation fault)");
}

static void test_stop_ladder(void **state)
{
	const struct vm_opts fast = { .poweroff_timeout_ms = 50,
				      .powerdown_timeout_ms = 50,
				      .quit_timeout_ms = 50 };
	struct result r = { .stop_after_ready = 1 };
	char got[64], *content = NULL;
	size_t len;

	/* It reads the STOP frame, then answers nothing: the ladder ends in SIGKILL. */
	snprintf(got, sizeof(got), "%s/got", dir);
	{
		char body[1024];

		snprintf(body, sizeof(body), GREET HELLO "head -c 21 <&4 >%s\nexec sleep 30", got);
		run_fake(body, &r, &fast);
	}
	assert_int_equal(r.reason, VM_EXIT_KILLED);
	assert_string_equal(r.message, "qemu was killed (SIGKILL): the stop deadlines passed");
	assert_int_equal(read_file(got, 64, &content, &len), 0);
	assert_int_equal(len, 21);
	assert_memory_equal(content, "\x0a\x00\xff\xff\x0d\x00\x00\x00timeout_ms=0\0", 21);
	free(content);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),	    cmocka_unit_test(test_refused),
		cmocka_unit_test(test_boot_fail),   cmocka_unit_test(test_poweroff),
		cmocka_unit_test(test_guest_reset), cmocka_unit_test(test_query_status),
		cmocka_unit_test(test_crash),	    cmocka_unit_test(test_stop_ladder),
		cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
