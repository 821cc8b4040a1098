// SPDX-License-Identifier: GPL-2.0-only
/*
 * mktar: write a tar archive (pax format, uncompressed) exactly as described, for image layers
 * the tests need: whiteouts, opaque directories, owners, modes, xattrs, links, and hostile
 * entries (absolute paths, "..", writes through symlinks) that no well-behaved tool makes.
 *
 *   mktar OUT.tar < SPEC
 *
 * SPEC has one entry per line, "TYPE PATH [KEY=VALUE]...", in archive order; blank lines and
 * lines starting with '#' are skipped. TYPE is file, dir, symlink, hardlink, fifo or char.
 * Keys: mode (octal; default 0644 for files, 0755 for directories), uid, gid (default 0),
 * data (file contents), from (a file whose contents to take), target (link target), major, minor (char), mtime (default
 * 1700000000), xattr.NAME (an extended attribute). PATH and values are taken as written, with
 * %XX decoded (%20 is a blank, %0a a newline). Exit status 0 on success, 1 on any error.
 */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util.h"

#define LINE_MAX_LEN 65536
#define FROM_MAX     (256 * 1024 * 1024)

/* Decode %XX in place. */
static int unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
				return -EINVAL;
			char hex[3] = { s[1], s[2], 0 };

			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return 0;
}

static int parse_num(const char *s, int base, long *ret)
{
	char *end;

	errno = 0;
	*ret = strtol(s, &end, base);
	return errno || *end || end == s || *ret < 0 ? -EINVAL : 0;
}

/* One spec line into one archive entry. */
static int add_entry(struct archive *a, char *line, unsigned int lineno)
{
	struct archive_entry *e = archive_entry_new();
	const char *type = strtok(line, " \t"), *path = strtok(NULL, " \t");
	const char *data = "", *target = NULL;
	_cleanup_free_ char *from = NULL;
	long mode = -1, uid = 0, gid = 0, major = 0, minor = 0, mtime = 1700000000;
	size_t data_len = 0;
	char *kv;
	int r = -EINVAL;

	if (!e)
		return -ENOMEM;
	if (!type || !path) {
		fprintf(stderr, "mktar: line %u: want TYPE PATH [KEY=VALUE]...\n", lineno);
		goto out;
	}
	if (unescape((char *)path) < 0)
		goto out_bad;
	archive_entry_set_pathname(e, path);

	while ((kv = strtok(NULL, " \t"))) {
		char *eq = strchr(kv, '=');
		const char *v;

		if (!eq)
			goto out_bad;
		*eq = '\0';
		v = eq + 1;
		if (unescape(eq + 1) < 0)
			goto out_bad;
		if (streq(kv, "mode")) {
			if (parse_num(v, 8, &mode) < 0)
				goto out_bad;
		} else if (streq(kv, "uid")) {
			if (parse_num(v, 10, &uid) < 0)
				goto out_bad;
		} else if (streq(kv, "gid")) {
			if (parse_num(v, 10, &gid) < 0)
				goto out_bad;
		} else if (streq(kv, "major")) {
			if (parse_num(v, 10, &major) < 0)
				goto out_bad;
		} else if (streq(kv, "minor")) {
			if (parse_num(v, 10, &minor) < 0)
				goto out_bad;
		} else if (streq(kv, "mtime")) {
			if (parse_num(v, 10, &mtime) < 0)
				goto out_bad;
		} else if (streq(kv, "data")) {
			data = v;
			data_len = strlen(v);
		} else if (streq(kv, "from")) {
			free(from);
			from = NULL;
			if (read_file(v, FROM_MAX, &from, &data_len) < 0) {
				fprintf(stderr, "mktar: line %u: cannot read '%s'\n", lineno, v);
				goto out;
			}
			data = from;
		} else if (streq(kv, "target")) {
			target = v;
		} else if (startswith(kv, "xattr.")) {
			archive_entry_xattr_add_entry(e, kv + 6, v, strlen(v));
		} else {
			goto out_bad;
		}
	}

	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	archive_entry_set_mtime(e, mtime, 0);
	if (streq(type, "file")) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, mode < 0 ? 0644 : (mode_t)mode);
		archive_entry_set_size(e, (la_int64_t)data_len);
	} else if (streq(type, "dir")) {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, mode < 0 ? 0755 : (mode_t)mode);
	} else if (streq(type, "symlink") && target) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, target);
	} else if (streq(type, "hardlink") && target) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, mode < 0 ? 0644 : (mode_t)mode);
		archive_entry_set_hardlink(e, target);
		archive_entry_set_size(e, 0);
	} else if (streq(type, "fifo")) {
		archive_entry_set_filetype(e, AE_IFIFO);
		archive_entry_set_perm(e, mode < 0 ? 0644 : (mode_t)mode);
	} else if (streq(type, "char")) {
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_perm(e, mode < 0 ? 0644 : (mode_t)mode);
		archive_entry_set_rdev(e, makedev((unsigned int)major, (unsigned int)minor));
	} else {
		goto out_bad;
	}

	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (data_len && archive_write_data(a, data, data_len) != (la_ssize_t)data_len)) {
		fprintf(stderr, "mktar: line %u: %s\n", lineno, archive_error_string(a));
		r = -EIO;
		goto out;
	}
	r = 0;
	goto out;

out_bad:
	fprintf(stderr, "mktar: line %u: bad entry\n", lineno);
out:
	archive_entry_free(e);
	return r;
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *line = NULL;
	struct archive *a;
	unsigned int lineno = 0;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	if (argc != 2 || streq(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr, "Usage: mktar OUT.tar < SPEC\n");
		return argc == 2 ? 0 : 1;
	}
	a = archive_write_new();
	if (!a || archive_write_set_format_pax(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, argv[1]) != ARCHIVE_OK) {
		fprintf(stderr, "mktar: cannot write %s: %s\n", argv[1],
			a ? archive_error_string(a) : "out of memory");
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		char *p = line;

		lineno++;
		if (n > LINE_MAX_LEN) {
			r = -E2BIG;
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		r = add_entry(a, p, lineno);
		if (r < 0)
			break;
	}
	if (archive_write_close(a) != ARCHIVE_OK && r == 0) {
		fprintf(stderr, "mktar: %s\n", archive_error_string(a));
		r = -EIO;
	}
	archive_write_free(a);
	return r < 0 ? 1 : 0;
}
