// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dns step: for a task namespace given as /run/netns/NAME (what `ip netns add` makes), an
 * attach that carries nameservers gets /etc/netns/NAME/resolv.conf, which `ip netns exec NAME`
 * bind-mounts over /etc/resolv.conf. Runtimes that write resolv.conf themselves say so
 * (resolv_conf false: task-eni, as a CNI runtime writes it from the result's dns; taskvm writes it
 * into the container bundle); for any other namespace path nothing is written. The file starts with a line naming
 * the attach that wrote it: the undo removes only that file, never one someone else wrote, and
 * the directory only if the step created it (journalled before it is created).
 */
#include <limits.h>
#include <sys/stat.h>

#include "json-util.h"
#include "log.h"
#include "step-dns.h"

#define NETNS_RUN_DIR "/run/netns/"
#define NETNS_ETC_DIR "/etc/netns"
#define RESOLV_MAX    16384

/* /etc/netns/NAME and its resolv.conf for a namespace named /run/netns/NAME; -ENOENT for others. */
static int resolv_paths(const struct eni_attachment *a, char dir[PATH_MAX], char file[PATH_MAX])
{
	const char *name = startswith(a->netns_path, NETNS_RUN_DIR)
				   ? a->netns_path + strlen(NETNS_RUN_DIR)
				   : NULL;

	if (!name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, "..") ||
	    strlen(name) > NAME_MAX)
		return -ENOENT;
	snprintf(dir, PATH_MAX, NETNS_ETC_DIR "/%s", name);
	snprintf(file, PATH_MAX, NETNS_ETC_DIR "/%s/resolv.conf", name);
	return 0;
}

/* Nameservers in the attach's dns, and the caller does not write resolv.conf itself. */
static bool resolv_wanted(const struct eni_attachment *a)
{
	return a->resolv_conf && a->dns &&
	       json_array_size(json_object_get(a->dns, "nameservers")) > 0;
}

static void put_list(FILE *f, const char *keyword, json_t *arr)
{
	size_t i;
	json_t *v;

	if (json_array_size(arr) == 0)
		return;
	fputs(keyword, f);
	json_array_foreach(arr, i, v)
		fprintf(f, " %s", json_string_value(v));
	fputc('\n', f);
}

/* The file's first line: which attach wrote it. */
static int resolv_header(const struct eni_attachment *a, char *buf, size_t size)
{
	return snprintf(
		buf, size,
		"# Written by netd for task '%s' (attach %llu); removed when it detaches.\n", a->id,
		(unsigned long long)a->created_ns);
}

/* The whole file; free() it. */
static char *resolv_build(const struct eni_attachment *a, size_t *ret_len)
{
	json_t *ns = json_object_get(a->dns, "nameservers");
	json_t *search = json_object_get(a->dns, "search");
	const char *domain = json_string_value(json_object_get(a->dns, "domain"));
	char header[512], *buf = NULL;
	size_t i, len = 0;
	json_t *v;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	resolv_header(a, header, sizeof(header));
	fputs(header, f);
	json_array_foreach(ns, i, v)
		fprintf(f, "nameserver %s\n", json_string_value(v));
	/* search and domain exclude each other in resolv.conf (the last one wins): search, else
	 * the domain. */
	if (json_array_size(search) > 0)
		put_list(f, "search", search);
	else if (domain)
		fprintf(f, "domain %s\n", domain);
	put_list(f, "options", json_object_get(a->dns, "options"));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}

/* Whether the file at path is the one this attach wrote: 1, 0 (absent or another's), -errno. */
static int resolv_is_ours(const struct eni_attachment *a, const char *path, char **ret_content)
{
	_cleanup_free_ char *buf = NULL;
	char header[512];
	int r;

	r = read_file(path, RESOLV_MAX, &buf, NULL);
	if (r == -ENOENT)
		return 0;
	if (r == -EFBIG)
		return 0; /* too big to be ours */
	if (r < 0)
		return r;
	resolv_header(a, header, sizeof(header));
	if (!startswith(buf, header))
		return 0;
	if (ret_content)
		*ret_content = TAKE_PTR(buf);
	return 1;
}

static int dns_run(struct attach_ctx *c)
{
	char dir[PATH_MAX], file[PATH_MAX];
	_cleanup_free_ char *content = NULL;
	struct eni_attachment *a = c->a;
	struct stat st;
	size_t len = 0;
	int r;

	if (!resolv_wanted(a) || resolv_paths(a, dir, file) < 0)
		return 0;
	if (lstat(file, &st) == 0) {
		log_info("%s '%s': '%s' exists, leaving it as it is", a->kind, a->id, file);
		return 0;
	}
	content = resolv_build(a, &len);
	if (!content) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Out of memory writing '%.300s'", file);
		return -ENOMEM;
	}
	/* Journal what is about to be made, so that an undo after a crash removes it. */
	a->resolv_written = true;
	a->resolv_dir_created = stat(dir, &st) < 0;
	r = attachment_save(a);
	if (r < 0) {
		a->resolv_written = a->resolv_dir_created = false;
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to write the journal: %s",
			 strerror(-r));
		return r;
	}
	r = mkdir_p(dir, 0755);
	if (r == 0)
		r = write_file_atomic(file, content, len, 0644);
	if (r < 0)
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to write '%.300s': %s", file,
			 strerror(-r));
	return r;
}

static int dns_undo(struct attach_ctx *c)
{
	char dir[PATH_MAX], file[PATH_MAX];
	struct eni_attachment *a = c->a;
	int r;

	if (!resolv_wanted(a) || resolv_paths(a, dir, file) < 0)
		return 0;
	r = resolv_is_ours(a, file, NULL);
	if (r < 0)
		log_warn_errno(r, "%s '%s': failed to read '%s': %m, leaving it", a->kind, a->id,
			       file);
	if (r > 0 && unlink(file) < 0 && errno != ENOENT) {
		r = -errno;
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to remove '%.300s': %s", file,
			 strerror(-r));
		return r;
	}
	/* Only if the step made it, and only when nothing else is in it. */
	if (a->resolv_dir_created && rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
	    errno != EEXIST)
		log_warn_errno(-errno, "%s '%s': failed to remove '%s': %m, ignoring", a->kind,
			       a->id, dir);
	a->resolv_written = a->resolv_dir_created = false;
	return 0;
}

static int dns_check(struct attach_ctx *c, json_t *diffs)
{
	char dir[PATH_MAX], file[PATH_MAX];
	_cleanup_free_ char *have = NULL, *want = NULL;
	const struct eni_attachment *a = c->a;
	size_t len = 0;
	int r;

	if (!a->resolv_written || resolv_paths(a, dir, file) < 0)
		return 0;
	r = resolv_is_ours(a, file, &have);
	if (r < 0)
		return r;
	if (r == 0) {
		json_diff_append(diffs, "resolv.conf", file,
				 access(file, F_OK) == 0 ? "another's file" : "missing");
		return 0;
	}
	want = resolv_build(a, &len);
	if (!want)
		return -ENOMEM;
	if (!streq(have, want))
		json_diff_append(diffs, "resolv.conf", file, "changed");
	return 0;
}

const struct attach_step step_dns = {
	.name = "dns",
	.run = dns_run,
	.undo = dns_undo,
	.check = dns_check,
};
