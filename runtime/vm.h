/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A task VM: qemu-system-x86_64 -M microvm with Debian's cloud kernel (booted as vmlinux, PVH)
 * and our initramfs (guest/init.c), under KVM where the host's KVM can run that kernel and TCG
 * otherwise. docs/vm.md has the design.
 *
 * For a single-threaded event-loop caller (lib/event.h): vm_start() forks qemu and returns; from
 * then on everything arrives through callbacks run by the loop. qemu gets its file descriptors
 * from us and opens nothing by name but the kernel, the initramfs and the drives' files: QMP and
 * the guest channel are socketpairs (no socket files to clean up, nobody else can connect), each
 * NIC a tap device in the caller's network namespace (opened here, in the namespace the caller
 * is in: the task's). qemu dies with its parent (PR_SET_PDEATHSIG), so a caller killed mid-boot
 * leaves no VM behind. Its exit is seen through a pidfd, and it is reaped here (waitid on that
 * pidfd): a caller's SIGCHLD handler must not reap it with waitpid(-1) -- or must hand the status
 * over with vm_reaped().
 *
 * Stop: vm_stop() asks the guest to stop its containers (STOP on the channel, with their stop
 * signals and the timeout), and the guest powers off; should it not, QMP system_powerdown (the
 * ACPI power button: a guest whose kernel has the ACPI GED driver acts on it; Debian's cloud
 * kernel has none), then QMP quit, then SIGKILL, each after a deadline. A qemu that exits
 * otherwise (crash, kill, guest panic) is reported with the reason.
 *
 * Non-logging: -errno, and a message in *ret_error where the caller must say what went wrong.
 */
#ifndef TP_VM_H
#define TP_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm-proto.h"

struct event_loop;
struct vm;

enum vm_accel {
	VM_ACCEL_AUTO, /* KVM if the host's KVM can run a stock kernel (kvm_intel/kvm_amd), else TCG */
	VM_ACCEL_KVM,
	VM_ACCEL_TCG,
};

struct vm_nic {
	const char *tap;     /* an existing tap device (persistent) in the caller's netns */
	const char *ifname;  /* its name in the guest, e.g. "eth1" */
	const char *mac;     /* the guest NIC's MAC: the ENI's, so that the VPC sees the ENI */
	const char *address; /* the guest's address, A.B.C.D/PLEN */
	unsigned int mtu;    /* 0 = the driver's (1500) */
};

struct vm_route {
	const char *dst;     /* A.B.C.D/PLEN; 0.0.0.0/0 = default */
	const char *ifname;  /* a vm_nic's ifname */
	const char *gateway; /* NULL = on link */
};

struct vm_drive {
	const char *path;   /* a raw image file (ext4) */
	const char *serial; /* how the guest finds it (vm_container.root, vm_volume.serial) */
	bool readonly;
};

struct vm_opts {
	const char *qemu;   /* NULL = "qemu-system-x86_64" from PATH */
	const char *kernel; /* the vmlinux (scripts/vm-kernel.sh) */
	const char *initrd; /* the initramfs (scripts/vm-initramfs.sh) */
	enum vm_accel accel;
	unsigned int memory_mib;   /* 0 = 128 (the least the cloud kernel boots in) */
	unsigned int cpus;	   /* 0 = 1 */
	unsigned int tsc_khz;	   /* tsc_early_khz under TCG; 0 = 2000000 */
	const struct vm_nic *nics; /* at most VM_NICS_MAX */
	size_t n_nics;
	const struct vm_route *routes; /* at most VM_ROUTES_MAX */
	size_t n_routes;
	const char *const *dns; /* at most VM_DNS_MAX addresses, NULL-terminated; may be NULL */
	const char *hostname;	/* may be NULL */
	const struct vm_drive *drives;
	size_t n_drives;
	const char *console_log; /* the guest's serial console (kernel messages) to this file */
	bool debug;		 /* tp.debug: the guest's init says what it does on the console */
	/*
	 * The stop's deadlines after the containers' timeout; 0 = the defaults: 5 s for the guest
	 * to power off, 5 s for the power button, 3 s for quit.
	 */
	unsigned int poweroff_timeout_ms;
	unsigned int powerdown_timeout_ms;
	unsigned int quit_timeout_ms;
};

enum vm_state {
	VM_STATE_NEW,
	VM_STATE_BOOTING, /* qemu started, no HELLO yet */
	VM_STATE_RUNNING, /* the guest's init said HELLO */
	VM_STATE_STOPPING,
	VM_STATE_EXITED,
};

/* Why qemu is gone. */
enum vm_exit_reason {
	VM_EXIT_POWEROFF,  /* the guest powered off (the task ended or was stopped) */
	VM_EXIT_RESET,	   /* the guest reset or its kernel panicked (panic=-1, -no-reboot) */
	VM_EXIT_QUIT,	   /* we asked qemu to quit (QMP) */
	VM_EXIT_KILLED,	   /* we killed qemu (stop deadline, vm_kill, vm_free) */
	VM_EXIT_CRASHED,   /* qemu died on a signal not ours, or exited with an error */
	VM_EXIT_BOOT_FAIL, /* qemu exited before the guest said HELLO */
};

struct vm_exit {
	enum vm_exit_reason reason;
	int wait_status; /* qemu's */
	const char
		*message; /* what happened, in words (qemu's last error line when there is one) */
};

/*
 * What the guest says. Callbacks other than exit() must not free the VM. A container index is
 * always one of the spec sent (frames about others are dropped: the guest is not trusted).
 */
struct vm_callbacks {
	/* The guest's init is up (HELLO): vm_send_spec() may follow. */
	void (*ready)(struct vm *vm, void *data);
	/* Container index started (its pid in the guest). */
	void (*started)(struct vm *vm, unsigned int index, pid_t pid, void *data);
	/* Bytes container index wrote; stream 1 = stdout, 2 = stderr. */
	void (*output)(struct vm *vm, unsigned int index, int stream, const void *buf, size_t len,
		       void *data);
	/* Container index exited (a wait status), after all its output. */
	void (*exited)(struct vm *vm, unsigned int index, int status, void *data);
	/* The guest could not do something (index, or VM_CONTAINER_NONE for the task). */
	void (*error)(struct vm *vm, unsigned int index, const char *message, void *data);
	/*
	 * Statistics (STATS), after vm_request_stats(): container index's cgroup in the guest, or
	 * the task's drives (VM_CONTAINER_NONE). A frame that does not decode is dropped.
	 */
	void (*stats)(struct vm *vm, unsigned int index, const struct vm_stats *s, void *data);
	/* qemu is gone (reaped); the last callback. The vm may be freed from here. */
	void (*exit)(struct vm *vm, const struct vm_exit *how, void *data);
};

/* "poweroff", "reset", ... */
const char *vm_exit_reason_to_string(enum vm_exit_reason r);
/* "kvm", "tcg" ("auto" for VM_ACCEL_AUTO) */
const char *vm_accel_to_string(enum vm_accel a);
const char *vm_state_to_string(enum vm_state s);

/* Which accelerator AUTO picks on this host. */
enum vm_accel vm_accel_probe(void);

/* Check opts and make a VM (not started); *ret_error says what is wrong. */
int vm_new(struct event_loop *loop, const struct vm_opts *o, const struct vm_callbacks *cb,
	   void *data, struct vm **ret, char **ret_error);
/*
 * qemu's argv for the VM (for vm_start(), and for tests): fds name the descriptors qemu gets:
 * QMP, the channel, then one per NIC. NULL-terminated; free with vm_argv_free().
 */
int vm_argv(const struct vm *vm, const int *fds, char ***ret, char **ret_error);
void vm_argv_free(char **argv);
/* The kernel command line, guest configuration included (tp.* words). */
int vm_cmdline(const struct vm *vm, char *buf, size_t size);
/* Open the taps, fork and exec qemu; returns at once (the boot goes on in the loop). */
int vm_start(struct vm *vm, char **ret_error);
/* Send the task's spec (SPEC): the guest mounts the drives. After ready(); once. */
int vm_send_spec(struct vm *vm, const struct vm_spec *spec, char **ret_error);
/* Start container index of the spec (START); -EINVAL for an index the spec has not. */
int vm_start_container(struct vm *vm, unsigned int index);
/* Ask the guest for its statistics (STATS_GET): stats() follows, per running container and
 * for the task. -ENOTCONN before the guest is up. */
int vm_request_stats(struct vm *vm);
/* Send container index a signal (KILL). */
int vm_kill_container(struct vm *vm, unsigned int index, int signo);
/*
 * Stop: the containers get their stop signals, SIGKILL after timeout_ms; the guest powers off.
 * The deadlines after that are the opts'. Idempotent; exit() follows.
 */
int vm_stop(struct vm *vm, unsigned int timeout_ms);
/*
 * Ask qemu for its run state (QMP query-status): cb gets "running", "paused", "shutdown",
 * "internal-error", ... or NULL and the error when the question could not be answered (the VM
 * is not running, the monitor closed). Later, from the loop.
 */
typedef void (*vm_status_fn)(struct vm *vm, const char *status, const char *error, void *data);
int vm_query_status(struct vm *vm, vm_status_fn cb, void *data);
/* SIGKILL qemu now; exit() follows (VM_EXIT_KILLED). */
int vm_kill(struct vm *vm);
/* The caller reaped qemu itself (its pid, status): report the exit as if seen here. */
void vm_reaped(struct vm *vm, int wait_status);
/* Kill qemu if it runs (and reap it), close everything; no callback runs. Returns NULL. */
struct vm *vm_free(struct vm *vm);

enum vm_state vm_get_state(const struct vm *vm);
/* The accelerator the VM uses (AUTO resolved). */
enum vm_accel vm_get_accel(const struct vm *vm);
pid_t vm_pid(const struct vm *vm);
/* Microseconds (CLOCK_MONOTONIC) of qemu's start and of the guest's HELLO (0 before). */
uint64_t vm_started_usec(const struct vm *vm);
uint64_t vm_ready_usec(const struct vm *vm);

#endif
