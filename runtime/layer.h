/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unpacking one image layer (a tar, plain or compressed with gzip or zstd) into a directory
 * that overlayfs uses as a lower layer, with libarchive, in a child process confined to that
 * directory:
 *  - the child chroots into the directory, keeps only the capabilities that restoring files
 *    needs (CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, MKNOD, SETFCAP), sets
 *    no_new_privs and dies with its parent;
 *  - entries with an absolute path or "..", entries that would be written through a symlink,
 *    and hard links that point outside are refused (the whole layer fails);
 *  - owners are numeric (the layer's /etc/passwd is never read); modes, times, setuid bits and
 *    extended attributes are restored, except trusted.* (overlayfs's own namespace);
 *  - whiteouts become overlayfs whiteouts: ".wh.NAME" a 0/0 character device NAME, and
 *    ".wh..wh..opq" the xattr trusted.overlay.opaque="y" on its directory (set by the parent,
 *    through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS), as it needs CAP_SYS_ADMIN);
 *  - hard links carry no data (a pax hard link's payload would write through the target).
 *
 * Blocking (the parent waits for the child, bounded by the deadline and the cancel fd).
 * fork() is used: safe in a threaded caller with glibc, as the child only uses malloc,
 * libarchive and system calls. The child is waited for by its pid; if the caller's own
 * SIGCHLD handling reaps it first (waitpid(-1) in another thread), its report on a pipe still
 * tells whether it finished.
 */
#ifndef TP_LAYER_H
#define TP_LAYER_H

#include <stdint.h>

struct layer_unpack_opts {
	uint64_t deadline_usec; /* CLOCK_MONOTONIC (now_usec()); 0: none */
	int cancel_fd;		/* stop when it is readable; -1: none */
};

/* What a layer held. */
struct layer_stats {
	uint64_t entries;     /* archive entries, whiteouts included */
	uint64_t bytes;	      /* file data written */
	uint64_t whiteouts;   /* ".wh.NAME" entries */
	uint64_t opaque_dirs; /* ".wh..wh..opq" entries */
};

/*
 * Unpack the layer read from blob_fd (from its current offset) into the existing, empty
 * directory dir. -EINVAL with *ret_error naming the entry for a refused or bad archive,
 * -ETIMEDOUT, -ECANCELED, or another -errno. On failure dir holds a partial layer: the caller
 * removes it.
 */
int layer_unpack(int blob_fd, const char *dir, const struct layer_unpack_opts *opts,
		 struct layer_stats *ret_stats, char **ret_error);

#endif
