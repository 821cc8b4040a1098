/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A task's ephemeral storage: ext4 volumes on loop devices over sparse files, sized by the task's
 * platform version (platform.h), the containers' overlay root filesystems on them, and the task's
 * bind volumes. docs/runtime.md has the layout.
 *
 *   state_dir/ephemeral.img            1.4.0: one volume (20 GiB or ephemeralStorage.sizeInGiB)
 *   state_dir/layer.img, volumes.img   1.3.0: 10 GiB for container layers, 4 GiB for volumes
 *   mount_dir/<volume>/                each volume's mount point (ephemeral, layer, volumes)
 *       containers/<name>/upper, work  a container's writable layer
 *       volumes/<name>/                a task volume (bind-mounted into containers)
 *   mount_dir/rootfs/<name>/           a container's root filesystem (overlay)
 *
 * Both directories belong to the storage alone: teardown unmounts everything mounted below
 * mount_dir, detaches every loop device backed by a file below state_dir, removes the files it
 * created and the directories. It needs nothing but the two paths (no record in memory), so it
 * works after a crash, and again after a teardown that was interrupted.
 *
 * Non-logging; blocking where said (mkfs.ext4 is exec'd and waited; mounts are synchronous).
 */
#ifndef TP_STORAGE_H
#define TP_STORAGE_H

#include <stddef.h>
#include <stdint.h>

struct platform;
struct storage;

struct storage_opts {
	const char *state_dir; /* the volume images; created (0700) */
	const char *mount_dir; /* the mount points; created (0711) */
	const struct platform *platform;
	unsigned int size_gib; /* one flat volume's size (platform_storage_gib()); 0 = default */
	const char *mkfs;      /* mkfs.ext4 to exec; NULL = "mkfs.ext4" from PATH */
};

/* EphemeralStorageMetrics, in MiB as the metadata endpoint reports them. */
struct storage_usage {
	uint64_t utilized_mib; /* used on the task's volumes */
	uint64_t reserved_mib; /* their size */
};

/*
 * Create, format and mount the task's volumes (blocking: about 50 ms per volume here). -EEXIST if
 * state_dir already holds volumes. On failure everything made is removed again and *ret_error
 * says which step failed.
 */
int storage_create(const struct storage_opts *o, struct storage **ret, char **ret_error);
/*
 * Ahead of a task (the agent's spare shim): the volumes storage_create() would make with o, sized
 * and formatted, as state_dir/<name>.spare (no loop device, no mount). storage_create() on the
 * same state_dir takes those of the size it needs instead of formatting its own, and removes the
 * others; storage_teardown() removes them too.
 */
#define STORAGE_PREMADE_SUFFIX ".spare"
int storage_premake(const struct storage_opts *o, char **ret_error);
/*
 * Whether s, made ahead (a spare shim's, storage_create()), is what storage_create() would make
 * with o: the same directories and the same volumes of the same sizes. Its containers' layers and
 * volumes are not looked at: storage made ahead has none.
 */
bool storage_matches(const struct storage *s, const struct storage_opts *o);
/* Forget the handle (memory only: nothing is unmounted). Returns NULL. */
struct storage *storage_free(struct storage *s);

/* The directory of task volume name (created empty the first time), in *ret_path. */
int storage_volume_path(struct storage *s, const char *name, char **ret_path, char **ret_error);
/*
 * Mount container name's root filesystem: an overlay of lowers (image layer directories, the top
 * one first) under the container's writable layer on the task's volume. *ret_path gets its path.
 * -EEXIST if it is mounted already.
 */
int storage_rootfs_mount(struct storage *s, const char *name, const char *const *lowers,
			 size_t n_lowers, char **ret_path, char **ret_error);
/* Unmount it (the writable layer stays until teardown). */
int storage_rootfs_umount(struct storage *s, const char *name);
/* Unmount it and remove its writable layer: the next storage_rootfs_mount() starts afresh. */
int storage_rootfs_discard(struct storage *s, const char *name, char **ret_error);
/*
 * Hand the task's volumes to a task VM (docs/vm.md): unmount everything below mount_dir and
 * detach the loop devices (blocking, bounded); the image files stay, for the VM's drives, until
 * storage_teardown(). *ret_file gets the image of the volume with the containers' writable
 * layers, *ret_volumes_file the image of the one with the task volumes' directories (volumes/<name>)
 * when that is another (1.3.0), else NULL (1.4.0: the same). Afterwards nothing of the handle is
 * mounted: storage_usage() says -ENODEV.
 */
int storage_release(struct storage *s, char **ret_file, char **ret_volumes_file, char **ret_error);
/* Usage of the task's volumes (statvfs). */
int storage_usage(struct storage *s, struct storage_usage *ret);
/* The loop devices of the volumes, for diagnostics: "/dev/loop3 /dev/loop4" (no free). */
const char *storage_devices(const struct storage *s);

/*
 * Remove everything a storage_create() with these directories made, from what is mounted and on
 * disk. Idempotent: 0 when there is nothing (left) to remove. -EBUSY, with *ret_error naming it, if
 * something could not be removed (a loop device still in use, files it did not create).
 */
int storage_teardown(const char *state_dir, const char *mount_dir, char **ret_error);

static inline void storage_freep(struct storage **s)
{
	storage_free(*s);
}
#define _cleanup_storage_ __attribute__((__cleanup__(storage_freep)))

#endif
