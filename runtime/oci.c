// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "oci.h"
#include "platform.h"
#include "taskdef.h"
#include "util.h"

#define OCI_VERSION	 "1.0.2"
#define OCI_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define OCI_MAX_ETC_FILE (1024 * 1024)

/* --- command line --------------------------------------------------------------------------- */

/* A JSON array of strings, or NULL (absent, null or not an array of strings). */
static json_t *image_strv(json_t *image_config, const char *key)
{
	json_t *v = json_object_get(image_config, key), *e;
	size_t i;

	if (!json_is_array(v))
		return NULL;
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return NULL;
	return v;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static int argv_append(char ***argv, size_t *n, const char *s)
{
	char **grown = realloc(*argv, (*n + 2) * sizeof(**argv));

	if (!grown)
		return -ENOMEM;
	*argv = grown;
	grown[*n] = strdup(s);
	if (!grown[*n])
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

static int argv_append_strv(char ***argv, size_t *n, char *const *v)
{
	for (size_t i = 0; v && v[i]; i++) {
		int r = argv_append(argv, n, v[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

static int argv_append_json(char ***argv, size_t *n, json_t *v)
{
	json_t *e;
	size_t i;

	json_array_foreach(v, i, e) {
		int r = argv_append(argv, n, json_string_value(e));

		if (r < 0)
			return r;
	}
	return 0;
}

static void argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int oci_args(const struct taskdef_container *c, json_t *image_config, char ***ret_argv,
	     char **ret_error)
{
	json_t *image_ep = image_strv(image_config, "Entrypoint");
	json_t *image_cmd = image_strv(image_config, "Cmd");
	char *const *ep = c->entry_point, *const *cmd = c->command;
	bool use_image_ep = false, use_image_cmd = false;
	char **argv = NULL;
	size_t n = 0;
	int r;

	/* moby's merge(): an entryPoint of the task replaces the image's Entrypoint and Cmd */
	if (strv_len(ep) == 0) {
		if (strv_len(cmd) == 0)
			use_image_cmd = true;
		if (!ep)
			use_image_ep = true;
	}
	r = use_image_ep ? argv_append_json(&argv, &n, image_ep) : argv_append_strv(&argv, &n, ep);
	if (r >= 0)
		r = use_image_cmd ? argv_append_json(&argv, &n, image_cmd)
				  : argv_append_strv(&argv, &n, cmd);
	if (r < 0) {
		argv_free(argv);
		return r;
	}
	if (n == 0 || !argv[0][0]) {
		argv_free(argv);
		return fail_with(
			ret_error,
			"container '%s': nothing to run (no entryPoint or command in the task definition, no Entrypoint or Cmd in the image)",
			c->name);
	}
	*ret_argv = argv;
	return 0;
}

/* --- user ----------------------------------------------------------------------------------- */

const char *oci_user_spec(const struct taskdef_container *c, json_t *image_config)
{
	const char *u = json_string_value(json_object_get(image_config, "User"));

	if (c->user)
		return c->user;
	return u && u[0] ? u : NULL;
}

/* A decimal id (no sign, no blanks, below 2^31 as runc wants). */
static bool parse_id(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* Split one line of an /etc/passwd or /etc/group into its colon-separated fields. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;

	for (char *p = line; n < max;) {
		f[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

struct passwd_entry {
	bool found;
	uint32_t uid;
	uint32_t gid;
	char name[256];
};

/* The first passwd entry whose name is user, or (if user is numeric) whose uid is. */
static void passwd_find(const char *passwd, const char *user, struct passwd_entry *ret)
{
	_cleanup_free_ char *copy = passwd ? strdup(passwd) : NULL;
	uint32_t want;
	bool numeric = parse_id(user, strlen(user), &want);
	char *save = NULL;

	*ret = (struct passwd_entry){};
	for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[7] = {};
		uint32_t uid, gid;

		if (line[0] == '#' || split_fields(line, f, 7) < 4 ||
		    !parse_id(f[2], strlen(f[2]), &uid) || !parse_id(f[3], strlen(f[3]), &gid))
			continue;
		if (streq(f[0], user) || (numeric && uid == want)) {
			*ret = (struct passwd_entry){ .found = true, .uid = uid, .gid = gid };
			strscpy(ret->name, f[0], sizeof(ret->name));
			return;
		}
	}
}

/* Does the comma-separated member list contain name? */
static bool member_of(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/*
 * Walk /etc/group: with want_name, the gid of the first group whose name (or, if numeric, gid)
 * is want_name; with member, the gids of the groups listing member, except gid skip.
 */
static int group_walk(const char *group, const char *want_name, uint32_t *ret_gid, bool *ret_found,
		      const char *member, uint32_t skip, struct oci_user *u)
{
	_cleanup_free_ char *copy = group ? strdup(group) : NULL;
	uint32_t want = 0;
	bool numeric = want_name && parse_id(want_name, strlen(want_name), &want);
	char *save = NULL;

	if (group && !copy)
		return -ENOMEM;
	for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = {};
		uint32_t gid;

		if (line[0] == '#' || split_fields(line, f, 4) < 3 ||
		    !parse_id(f[2], strlen(f[2]), &gid))
			continue;
		if (want_name && (streq(f[0], want_name) || (numeric && gid == want))) {
			*ret_gid = gid;
			*ret_found = true;
			return 0;
		}
		if (member && gid != skip && f[3] && member_of(f[3], member)) {
			bool dup = false;

			for (unsigned int i = 0; i < u->n_additional_gids; i++)
				dup |= u->additional_gids[i] == gid;
			if (dup)
				continue;
			if (u->n_additional_gids == OCI_MAX_GROUPS)
				return -E2BIG;
			u->additional_gids[u->n_additional_gids++] = gid;
		}
	}
	return 0;
}

int oci_user_parse(const char *spec, const char *passwd, const char *group, struct oci_user *ret,
		   char **ret_error)
{
	struct oci_user u = {};
	struct passwd_entry pw;
	char user[256];
	const char *colon, *grp = NULL;
	size_t ulen;
	int r;

	if (!spec || !spec[0]) {
		*ret = u; /* root */
		return 0;
	}
	colon = strchr(spec, ':');
	ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (ulen == 0 || ulen >= sizeof(user) || (colon && !colon[1]))
		return fail_with(ret_error, "user '%.64s' is not name[:group] or uid[:gid]", spec);
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	if (colon)
		grp = colon + 1;

	passwd_find(passwd, user, &pw);
	if (pw.found) {
		u.uid = pw.uid;
		u.gid = pw.gid;
	} else if (parse_id(user, ulen, &u.uid)) {
		u.gid = 0; /* a uid without an entry: group root, as Docker */
	} else {
		return fail_with(ret_error,
				 "unable to find user %s: no matching entries in passwd file",
				 user);
	}

	if (grp) {
		bool found = false;
		uint32_t gid;

		r = group_walk(group, grp, &gid, &found, NULL, 0, &u);
		if (r < 0)
			return r;
		if (found)
			u.gid = gid;
		else if (!parse_id(grp, strlen(grp), &u.gid))
			return fail_with(
				ret_error,
				"unable to find group %.64s: no matching entries in group file",
				grp);
	} else if (pw.found) {
		r = group_walk(group, NULL, NULL, NULL, pw.name, u.gid, &u);
		if (r == -E2BIG)
			return fail_with(ret_error, "user %s is in more than %d groups", user,
					 OCI_MAX_GROUPS);
		if (r < 0)
			return r;
	}
	*ret = u;
	return 0;
}

/* rootfs/path, opened without leaving rootfs: ".." and absolute symlinks stay inside. */
static int read_in_root(int root_fd, const char *path, char **ret)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	buf = malloc(OCI_MAX_ETC_FILE + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, OCI_MAX_ETC_FILE - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == OCI_MAX_ETC_FILE)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

int oci_user_resolve(const char *spec, const char *rootfs, struct oci_user *ret, char **ret_error)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	_cleanup_close_ int root_fd = -1;
	int r;

	if (!spec || !spec[0]) {
		*ret = (struct oci_user){};
		return 0;
	}
	root_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return fail_errno(ret_error, -errno, "cannot open the root file system '%s': %m",
				  rootfs);
	r = read_in_root(root_fd, "etc/passwd", &passwd);
	if (r < 0 && r != -ENOENT)
		return fail_errno(ret_error, r, "cannot read /etc/passwd of '%s': %s", rootfs,
				  strerror(-r));
	r = read_in_root(root_fd, "etc/group", &group);
	if (r < 0 && r != -ENOENT)
		return fail_errno(ret_error, r, "cannot read /etc/group of '%s': %s", rootfs,
				  strerror(-r));
	return oci_user_parse(spec, passwd, group, ret, ret_error);
}

/* --- environment ---------------------------------------------------------------------------- */

/* Set name=value in env (an array of "K=V" strings), replacing an earlier one of that name. */
static int env_set(json_t *env, const char *kv)
{
	size_t n = strcspn(kv, "="), i;
	json_t *e;

	if (kv[n] != '=' || n == 0)
		return 0; /* "NAME" alone unsets nothing in OCI: dropped */
	json_array_foreach(env, i, e) {
		const char *old = json_string_value(e);

		if (strncmp(old, kv, n) == 0 && old[n] == '=')
			return json_array_set_new(env, i, json_string(kv)) < 0 ? -ENOMEM : 0;
	}
	return json_array_append_new(env, json_string(kv)) < 0 ? -ENOMEM : 0;
}

static bool env_has(json_t *env, const char *name)
{
	size_t n = strlen(name), i;
	json_t *e;

	json_array_foreach(env, i, e)
		if (strncmp(json_string_value(e), name, n) == 0 && json_string_value(e)[n] == '=')
			return true;
	return false;
}

/*
 * Docker's order: PATH (a default when nothing sets it) and HOSTNAME, then the image's Env, the
 * task definition's environment and the agent's variables, each replacing what came before.
 */
static int build_env(const struct oci_spec_opts *o, json_t **ret)
{
	json_t *image_env = json_object_get(o->image_config, "Env"), *e;
	const struct taskdef_container *c = o->container;
	json_auto_t *env = json_array();
	bool has_path;
	size_t i;
	int r = 0;

	if (!env)
		return -ENOMEM;
	has_path = json_is_array(image_env) && env_has(image_env, "PATH");
	for (i = 0; i < c->n_env; i++)
		has_path |= streq(c->env[i].name, "PATH");
	if (!has_path)
		r = env_set(env, OCI_DEFAULT_PATH);
	if (r >= 0 && o->hostname) {
		_cleanup_free_ char *kv = NULL;

		r = asprintf(&kv, "HOSTNAME=%s", o->hostname) < 0 ? -ENOMEM : env_set(env, kv);
	}
	if (json_is_array(image_env))
		json_array_foreach(image_env, i, e)
			if (r >= 0 && json_is_string(e))
				r = env_set(env, json_string_value(e));
	for (i = 0; r >= 0 && i < c->n_env; i++) {
		_cleanup_free_ char *kv = NULL;

		r = asprintf(&kv, "%s=%s", c->env[i].name, c->env[i].value) < 0 ? -ENOMEM
										: env_set(env, kv);
	}
	for (i = 0; r >= 0 && o->env && o->env[i]; i++)
		r = env_set(env, o->env[i]);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(env);
	return 0;
}

/* --- the document --------------------------------------------------------------------------- */

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *caps_json(uint64_t caps)
{
	json_t *a = json_array();

	for (unsigned int cap = 0; a && cap < 64; cap++) {
		char name[64];

		if (!(caps & (1ULL << cap)) || !taskdef_cap_name(cap))
			continue;
		snprintf(name, sizeof(name), "CAP_%s", taskdef_cap_name(cap));
		if (json_array_append_new(a, json_string(name)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *process_json(const struct oci_spec_opts *o, char **ret_error, int *ret_r)
{
	const struct taskdef_container *c = o->container;
	const char *wd = json_string_value(json_object_get(o->image_config, "WorkingDir"));
	uint64_t caps = platform_container_caps(o->platform, c);
	json_t *env = NULL, *gids, *user, *args_j;
	_cleanup_free_ char *cwd = NULL;
	char **argv = NULL;
	json_t *p;
	int r;

	r = oci_args(c, o->image_config, &argv, ret_error);
	if (r < 0) {
		*ret_r = r;
		return NULL;
	}
	args_j = strv_json((const char *const *)argv);
	argv_free(argv);
	r = build_env(o, &env);
	if (r < 0 || !args_j) {
		json_decref(args_j);
		*ret_r = r < 0 ? r : -ENOMEM;
		return NULL;
	}

	/* Docker: a relative image WorkingDir is taken from / */
	if (c->working_directory)
		cwd = strdup(c->working_directory);
	else if (wd && wd[0])
		r = asprintf(&cwd, "%s%s", wd[0] == '/' ? "" : "/", wd);
	else
		cwd = strdup("/");
	gids = json_array();
	for (unsigned int i = 0; gids && i < o->user->n_additional_gids; i++)
		json_array_append_new(gids, json_integer(o->user->additional_gids[i]));
	user = json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)o->user->uid, "gid",
			 (json_int_t)o->user->gid, "additionalGids", gids);
	p = json_pack("{s:b, s:o, s:o, s:o, s:s?, s:{s:o, s:o, s:o}, s:[{s:s, s:I, s:I}], s:b}",
		      "terminal", 0, "user", user, "args", args_j, "env", env, "cwd", cwd,
		      "capabilities", "bounding", caps_json(caps), "effective", caps_json(caps),
		      "permitted", caps_json(caps), "rlimits", "type", "RLIMIT_NOFILE", "hard",
		      (json_int_t)(c->has_nofile ? c->nofile_hard : o->platform->nofile_hard),
		      "soft",
		      (json_int_t)(c->has_nofile ? c->nofile_soft : o->platform->nofile_soft),
		      "noNewPrivileges", 0);
	if (!p || !cwd || r < 0)
		*ret_r = -ENOMEM;
	return p;
}

static int mount_add(json_t *mounts, const char *dest, const char *type, const char *source,
		     const char *const *options)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source",
			      source, "options", strv_json(options));

	return m && json_array_append_new(mounts, m) == 0 ? 0 : -ENOMEM;
}

static int bind_add(json_t *mounts, const char *dest, const char *source, bool read_only)
{
	const char *const ro[] = { "rbind", "rprivate", "ro", NULL };
	const char *const rw[] = { "rbind", "rprivate", "rw", NULL };

	return mount_add(mounts, dest, "bind", source, read_only ? ro : rw);
}

static size_t path_depth(const char *p)
{
	size_t n = 0;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

/* runc's defaults (as `runc spec` and Docker), the task's files, then the volumes, parents first. */
static int build_mounts(const struct oci_spec_opts *o, json_t **ret, char **ret_error)
{
	static const char *const proc_o[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const dev_o[] = { "nosuid", "strictatime", "mode=755", "size=65536k",
					     NULL };
	static const char *const pts_o[] = { "nosuid",	  "noexec", "newinstance", "ptmxmode=0666",
					     "mode=0620", "gid=5",  NULL };
	static const char *const shm_o[] = { "nosuid",	  "noexec",	 "nodev",
					     "mode=1777", "size=65536k", NULL };
	static const char *const sys_o[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const cg_o[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
	const struct taskdef_container *c = o->container;
	json_auto_t *mounts = json_array();
	size_t order[TASKDEF_MAX_MOUNTS];
	int r;

	if (!mounts)
		return -ENOMEM;
	r = mount_add(mounts, "/proc", "proc", "proc", proc_o);
	if (r >= 0)
		r = mount_add(mounts, "/dev", "tmpfs", "tmpfs", dev_o);
	if (r >= 0)
		r = mount_add(mounts, "/dev/pts", "devpts", "devpts", pts_o);
	if (r >= 0)
		r = mount_add(mounts, "/dev/shm", "tmpfs", "shm", shm_o);
	if (r >= 0)
		r = mount_add(mounts, "/dev/mqueue", "mqueue", "mqueue", proc_o);
	if (r >= 0)
		r = mount_add(mounts, "/sys", "sysfs", "sysfs", sys_o);
	if (r >= 0)
		r = mount_add(mounts, "/sys/fs/cgroup", "cgroup", "cgroup", cg_o);
	if (r >= 0 && o->resolv_conf)
		r = bind_add(mounts, "/etc/resolv.conf", o->resolv_conf, true);
	if (r >= 0 && o->hosts)
		r = bind_add(mounts, "/etc/hosts", o->hosts, true);
	if (r >= 0 && o->hostname_file)
		r = bind_add(mounts, "/etc/hostname", o->hostname_file, true);
	if (r < 0)
		return r;

	/* insertion sort by depth: /data before /data/cache, else as in the task definition */
	for (size_t i = 0; i < c->n_mounts; i++) {
		size_t k = i;

		while (k > 0 && path_depth(c->mounts[order[k - 1]].container_path) >
					path_depth(c->mounts[i].container_path)) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct taskdef_mount *m = &c->mounts[order[i]];
		const char *src = o->volume_paths ? o->volume_paths[m->volume] : NULL;

		if (!src)
			return fail_with(ret_error, "container '%s': volume '%s' has no directory",
					 c->name, o->def->volumes[m->volume].name);
		r = bind_add(mounts, m->container_path, src, m->read_only);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(mounts);
	return 0;
}

/*
 * Fargate's container limits: cpu units as shares (2 at least, as the ECS agent), memory and
 * memoryReservation as the hard and soft limits. The task's own limits are on its cgroup.
 */
static json_t *resources_json(const struct taskdef_container *c)
{
	json_t *res, *mem;

	res = json_pack("{s:[{s:b, s:s}], s:{s:I}}", "devices", "allow", 0, "access", "rwm", "cpu",
			"shares", (json_int_t)(c->has_cpu && c->cpu > 2 ? c->cpu : 2));
	if (!res)
		return NULL;
	mem = json_object();
	if (!mem || json_object_set_new(res, "memory", mem) < 0) {
		json_decref(res);
		return NULL;
	}
	if (c->has_memory)
		json_object_set_new(mem, "limit", json_integer((json_int_t)c->memory << 20));
	if (c->has_memory_reservation)
		json_object_set_new(mem, "reservation",
				    json_integer((json_int_t)c->memory_reservation << 20));
	return res;
}

static json_t *namespaces_json(const char *netns_path)
{
	json_t *ns = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "ipc", "type",
			       "uts", "type", "mount");

	if (ns && json_array_append_new(ns, json_pack("{s:s, s:s?}", "type", "network", "path",
						      netns_path)) < 0) {
		json_decref(ns);
		return NULL;
	}
	return ns;
}

static json_t *linux_json(const struct oci_spec_opts *o)
{
	static const char *const masked[] = { "/proc/acpi",
					      "/proc/asound",
					      "/proc/kcore",
					      "/proc/keys",
					      "/proc/latency_stats",
					      "/proc/timer_list",
					      "/proc/timer_stats",
					      "/proc/sched_debug",
					      "/sys/firmware",
					      "/proc/scsi",
					      NULL };
	static const char *const readonly[] = { "/proc/bus",	       "/proc/fs",
						"/proc/irq",	       "/proc/sys",
						"/proc/sysrq-trigger", NULL };

	return json_pack("{s:o, s:s?, s:o, s:o, s:o}", "resources", resources_json(o->container),
			 "cgroupsPath", o->cgroups_path, "namespaces",
			 namespaces_json(o->netns_path), "maskedPaths", strv_json(masked),
			 "readonlyPaths", strv_json(readonly));
}

int oci_spec_build(const struct oci_spec_opts *o, json_t **ret, char **ret_error)
{
	json_t *process, *mounts = NULL, *lnx, *spec;
	int r = 0;

	if (ret_error)
		*ret_error = NULL;
	if (!o->platform || !o->def || !o->container || !o->user || !o->rootfs)
		return fail_with(
			ret_error,
			"an OCI spec needs a platform, a container, a user and a root file system");
	if (o->cgroups_path && o->cgroups_path[0] != '/')
		return fail_with(ret_error, "cgroupsPath '%s' must be absolute", o->cgroups_path);
	process = process_json(o, ret_error, &r);
	if (r < 0) {
		json_decref(process);
		return r;
	}
	r = build_mounts(o, &mounts, ret_error);
	if (r < 0) {
		json_decref(process);
		return r;
	}
	lnx = linux_json(o);
	spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s?, s:o, s:o}", "ociVersion", OCI_VERSION,
			 "process", process, "root", "path", o->rootfs, "readonly",
			 o->container->readonly_rootfs, "hostname", o->hostname, "mounts", mounts,
			 "linux", lnx);
	if (!spec)
		return -ENOMEM;
	*ret = spec;
	return 0;
}

int oci_bundle_write(const char *bundle_dir, json_t *spec, char **ret_error)
{
	_cleanup_free_ char *text = NULL, *path = NULL;
	int r;

	r = mkdir_p(bundle_dir, 0700);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot create the bundle '%s': %s", bundle_dir,
				  strerror(-r));
	text = json_dumps(spec, JSON_INDENT(1));
	if (!text || asprintf(&path, "%s/config.json", bundle_dir) < 0)
		return -ENOMEM;
	r = write_file_atomic(path, text, strlen(text), 0600);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot write '%s': %s", path, strerror(-r));
	return 0;
}
