/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The root drives of task VMs (docs/vm.md): an ext4 image of a container image's merged tree,
 * made with `mkfs.ext4 -d`, once per image digest, in the image store (STORE/vm-root/), and
 * shared read-only by every task VM of that image since (each container's writes go to an
 * overlay on the task's volume, in the guest). Concurrent makers do not disturb each other: each
 * builds a file of its own and renames it into place; a finished image is never written again.
 *
 * Non-logging; blocking (mkfs.ext4 is exec'd and waited for).
 */
#ifndef TP_VM_ROOT_H
#define TP_VM_ROOT_H

#include <stdbool.h>

#define VM_ROOT_DIR "vm-root" /* below the image store */

struct vm_root_opts {
	const char *store;  /* the image store (image.h) */
	const char *digest; /* the image manifest's digest, "sha256:<hex>" */
	const char *tree;   /* the image's merged root file system (a mounted overlay), to copy */
	const char *mkfs;   /* NULL = "mkfs.ext4" from PATH */
};

/*
 * The root drive of the image: *ret_path gets STORE/vm-root/sha256-<hex>.ext4, made from o->tree
 * if it is not there yet (*ret_made says whether this call made it). On failure nothing is left
 * behind and *ret_error says what went wrong.
 */
int vm_root_image(const struct vm_root_opts *o, char **ret_path, bool *ret_made, char **ret_error);

#endif
