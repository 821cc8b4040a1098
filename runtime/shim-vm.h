/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The shim's VM backend (isolation vm, docs/vm.md): the task's containers run in a task VM
 * (vm.h) instead of runc. shim.c keeps the task's life (pulls, storage, statuses, dependsOn, the
 * essential rule, stop order, logs) and calls these where it would call runc:
 *   prepare  each container's root drive (an ext4 image of its image, made once per image
 *            digest, vm-root.h) and its process from the OCI spec runc would have had
 *   boot     once prepared: the task's volume handed over (storage_release()), the VM booted
 *            in the task's namespace on netd's taps (tap0 -> eth1, tapmd -> md0) with the
 *            namespace's addresses, MACs and routes; the spec sent when the guest is up
 *   create   the container's output pipes (the guest's output frames are written into them:
 *            the log file and the shipper read them as a runc container's)
 *   start    START (queued until the guest has the spec), kill: KILL
 *   exits    the guest's EXIT frames become shim_ctr_exited(); qemu's exit stops the task
 * qemu is the shim's child, with PR_SET_PDEATHSIG: it dies with the shim.
 */
#ifndef TP_SHIM_VM_H
#define TP_SHIM_VM_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct shim;
struct shim_ctr;
struct shim_vm;

/* The backend of the shim's task (nothing started). */
int shim_vm_new(struct shim *s, struct shim_vm **ret);
/* Kill qemu if it runs, close everything; returns NULL. */
struct shim_vm *shim_vm_free(struct shim_vm *v);
/* Container c's root drive and process, from the OCI spec built for it (its root mounted). */
int shim_vm_ctr_prepare(struct shim_vm *v, struct shim_ctr *c, json_t *spec, char **ret_error);
/* Every container prepared: hand the storage over and boot the VM (returns at once). */
int shim_vm_boot(struct shim_vm *v, char **ret_error);
/* runc create's place: c's output goes to these pipes (dup'd; the caller closes its own). */
int shim_vm_ctr_create(struct shim_vm *v, struct shim_ctr *c, int stdout_fd, int stderr_fd,
		       char **ret_error);
/* runc start's place: START now, or as soon as the guest has the spec. */
int shim_vm_ctr_start(struct shim_vm *v, struct shim_ctr *c, char **ret_error);
/* kill()'s place: a signal to c in the guest (a container the guest never ran just exits). */
void shim_vm_ctr_kill(struct shim_vm *v, struct shim_ctr *c, int signo);
/* The task stops: once no container runs any more, the VM is stopped. */
void shim_vm_stop_progress(struct shim_vm *v);
/* The shim's SIGCHLD handler reaped pid: true (and handed over) if it was qemu. */
bool shim_vm_reaped(struct shim_vm *v, pid_t pid, int status);
/* qemu is gone, or never ran. */
bool shim_vm_done(const struct shim_vm *v);
/*
 * Storage usage, once the task's storage is the guest's: ask the guest for its statistics (the
 * containers' cgroups and the drives' use come back into the containers and s->usage). False
 * while the storage is still the host's to sample.
 */
bool shim_vm_sample(struct shim_vm *v);
/* Teardown: qemu killed if it still runs, output pipes closed. */
void shim_vm_shutdown(struct shim_vm *v);

#endif
