// SPDX-License-Identifier: GPL-2.0-only
/*
 * Root drives of task VMs (vm-root.h).
 */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"
#include "util.h"
#include "vm-root.h"

#define MIB (1024ULL * 1024)

/* What a tree holds: its blocks and inodes (nftw has no user data: one walk at a time). */
static uint64_t walk_bytes, walk_inodes;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	walk_bytes += (uint64_t)st->st_blocks * 512 + 4096; /* the data, and room per inode */
	walk_inodes++;
	return 0;
}

/* A digest as a file name: "sha256:<hex>" -> "sha256-<hex>", or -EINVAL. */
static int digest_name(const char *digest, char *buf, size_t size)
{
	const char *colon = strchr(digest, ':');

	if (!colon || colon == digest || strlen(digest) >= size || !colon[1])
		return -EINVAL;
	for (const char *p = digest; *p; p++)
		if (p != colon && !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return -EINVAL;
	strscpy(buf, digest, size);
	buf[colon - digest] = '-';
	return 0;
}

int vm_root_image(const struct vm_root_opts *o, char **ret_path, bool *ret_made, char **ret_error)
{
	char dir[PATH_MAX], name[160], tmp[PATH_MAX + 192], size_arg[32], inodes_arg[32];
	_cleanup_free_ char *path = NULL, *out = NULL;
	char how[64];
	uint64_t size;
	int status, r;

	*ret_made = false;
	if (digest_name(o->digest, name, sizeof(name)) < 0)
		return fail_with(ret_error, "image digest '%.80s' is not a digest", o->digest);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", o->store, VM_ROOT_DIR) >= sizeof(dir))
		return fail_errno(ret_error, -ENAMETOOLONG, "the image store's path is too long");
	if (asprintf(&path, "%s/%s.ext4", dir, name) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	if (access(path, R_OK) == 0) {
		*ret_path = TAKE_PTR(path);
		return 0;
	}
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot create '%s': %s", dir, strerror(-r));

	walk_bytes = walk_inodes = 0;
	/* (not FTW_MOUNT: an overlay's files show the st_dev of the layer they come from) */
	if (nftw(o->tree, walk_one, 64, FTW_PHYS) < 0)
		return fail_errno(ret_error, -errno, "cannot read the tree '%s': %m", o->tree);
	/* what it holds, a quarter more for ext4's own, and 16 MiB of room */
	size = (walk_bytes + walk_bytes / 4 + 16 * MIB + MIB - 1) / MIB;
	snprintf(size_arg, sizeof(size_arg), "%" PRIu64 "M", size);
	snprintf(inodes_arg, sizeof(inodes_arg), "%" PRIu64, walk_inodes + walk_inodes / 4 + 256);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", dir, name, (int)getpid());

	char *argv[] = { (char *)(o->mkfs ?: "mkfs.ext4"),
			 "-q",
			 "-F",
			 "-m",
			 "0",
			 "-O",
			 "^has_journal",
			 "-N",
			 inodes_arg,
			 "-L",
			 "tp-root",
			 "-E",
			 "root_owner=0:0",
			 "-d",
			 (char *)o->tree,
			 tmp,
			 size_arg,
			 NULL };

	r = prog_run(argv, &(struct prog_opts){ .capture = true, .timeout_ms = 600000 }, &status,
		     &out);
	if (r < 0) {
		unlink(tmp);
		return fail_errno(ret_error, r, "cannot run %s: %s", argv[0], strerror(-r));
	}
	if (status != 0) {
		unlink(tmp);
		prog_status_str(status, how, sizeof(how));
		return fail_errno(ret_error, -EIO, "%s -d '%s' failed (%s): %s", argv[0], o->tree,
				  how, out && out[0] ? out : "no output");
	}
	if (chmod(tmp, 0444) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return fail_errno(ret_error, r, "cannot put the root drive '%s' in place: %s", path,
				  strerror(-r));
	}
	*ret_made = true;
	*ret_path = TAKE_PTR(path);
	return 0;
}
