// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for runtime/oci.h: Docker's rules for a container's process, and its config.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "oci.h"
#include "platform.h"
#include "taskdef.h"
#include "util.h"

static struct taskdef *parse(const char *s)
{
	json_auto_t *j = json_loads(s, 0, NULL);
	struct taskdef *d = NULL;
	char *err = NULL;

	assert_non_null(j);
	if (taskdef_parse(j, &d, &err) < 0)
		fail_msg("taskdef_parse(%s): %s", s, err);
	return d;
}

/* The array of strings as one string, "a|b|c". */
static void join(json_t *arr, char *buf, size_t size)
{
	json_t *e;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(arr, i, e)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "|" : "",
			 json_string_value(e));
}

/*
 * Docker's rules (moby daemon merge()): a task entryPoint replaces the image's Entrypoint and
 * Cmd; an empty one resets the Entrypoint only; a command replaces the image's Cmd.
 */
static void test_args(void **state)
{
	static const struct {
		const char *td;	   /* container keys */
		const char *image; /* image config */
		const char *want;  /* args joined with |, NULL = refused */
	} cases[] = {
		{ "", "\"Entrypoint\":[\"/ep\",\"-x\"],\"Cmd\":[\"cmd\"]", "/ep|-x|cmd" },
		{ ",\"command\":[\"c1\",\"c2\"]", "\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"cmd\"]",
		  "/ep|c1|c2" },
		{ ",\"entryPoint\":[\"/e2\"]", "\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"cmd\"]",
		  "/e2" },
		{ ",\"entryPoint\":[\"/e2\"],\"command\":[\"c1\"]",
		  "\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"cmd\"]", "/e2|c1" },
		{ ",\"entryPoint\":[]", "\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"cmd\"]", "cmd" },
		{ ",\"entryPoint\":[],\"command\":[\"c1\"]",
		  "\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"cmd\"]", "c1" },
		{ ",\"command\":[]", "\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"cmd\"]", "/ep|cmd" },
		{ ",\"entryPoint\":[\"/e2\"],\"command\":[]", "\"Cmd\":[\"cmd\"]", "/e2" },
		{ "", "\"Entrypoint\":null,\"Cmd\":[\"sh\"]", "sh" },
		{ "", "\"Entrypoint\":[\"/ep\"],\"Cmd\":null", "/ep" },
		{ ",\"command\":[\"c1\"]", "", "c1" },
		{ ",\"entryPoint\":null,\"command\":null", "\"Cmd\":[\"cmd\"]", "cmd" },
		/* an image config that is not an array of strings counts as absent */
		{ "", "\"Entrypoint\":\"/ep\",\"Cmd\":[\"cmd\"]", "cmd" },
		{ "", "\"Entrypoint\":[1],\"Cmd\":[\"cmd\"]", "cmd" },
		{ "", "", NULL },
		{ "", "\"Entrypoint\":[],\"Cmd\":[]", NULL },
		{ ",\"entryPoint\":[]", "\"Entrypoint\":[\"/ep\"]", NULL },
		{ ",\"entryPoint\":[\"\"]", "\"Cmd\":[\"cmd\"]", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char td[512], img[512], got[512] = "";
		json_auto_t *image = NULL;
		struct taskdef *d;
		char **argv = NULL, *err = NULL;
		int r;

		snprintf(
			td, sizeof(td),
			"{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\"%s}]}",
			cases[i].td);
		snprintf(img, sizeof(img), "{%s}", cases[i].image);
		d = parse(td);
		image = json_loads(img, 0, NULL);
		assert_non_null(image);
		r = oci_args(&d->containers[0], image, &argv, &err);
		for (size_t k = 0; r == 0 && argv[k]; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "|" : "",
				 argv[k]);
		if (cases[i].want && (r < 0 || !streq(got, cases[i].want)))
			fail_msg("case %zu (%s / %s): '%s' (%s), want '%s'", i, cases[i].td,
				 cases[i].image, got, err ?: "ok", cases[i].want);
		if (!cases[i].want) {
			if (r != -EINVAL)
				fail_msg("case %zu: '%s' accepted", i, got);
			assert_non_null(strstr(err, "container 'a': nothing to run"));
		}
		for (size_t k = 0; r == 0 && argv[k]; k++)
			free(argv[k]);
		free(argv);
		free(err);
		taskdef_free(d);
	}
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "app:x:1000:1000::/home/app:/bin/sh\n"
			     "# a comment\n"
			     "broken line\n"
			     "bad:x:uid:1::/:/bin/sh\n"
			     "1234:x:3000:3001::/:/bin/sh\n";
static const char group[] = "root:x:0:\n"
			    "app:x:1000:app\n"
			    "staff:x:50:other,app\n"
			    "wheel:x:10:app\n"
			    "appagain:x:10:app\n"
			    "users:x:100:other\n"
			    "short:x:77\n"; /* no member list: a group all the same */

static void test_user(void **state)
{
	static const struct {
		const char *spec;
		uint32_t uid, gid;
		const char *groups; /* additional gids, "50,10" */
		const char *err;
	} cases[] = {
		{ NULL, 0, 0, "", NULL },
		{ "", 0, 0, "", NULL },
		{ "root", 0, 0, "", NULL },
		/* supplementary groups: those listing the name, not the primary one, once */
		{ "app", 1000, 1000, "50,10", NULL },
		{ "1000", 1000, 1000, "50,10", NULL },
		{ "app:staff", 1000, 50, "", NULL },
		{ "app:10", 1000, 10, "", NULL },
		{ "app:777", 1000, 777, "", NULL },
		{ "app:short", 1000, 77, "", NULL },
		{ "4242", 4242, 0, "", NULL },
		{ "4242:4243", 4242, 4243, "", NULL },
		{ "0:staff", 0, 50, "", NULL },
		/* a name is looked up before a uid, in file order */
		{ "1234", 3000, 3001, "", NULL },
		{ "nobody", 0, 0, NULL,
		  "unable to find user nobody: no matching entries in passwd file" },
		{ "app:nogroup", 0, 0, NULL,
		  "unable to find group nogroup: no matching entries in group file" },
		{ "bad", 0, 0, NULL, "unable to find user bad" },
		{ "99999999999", 0, 0, NULL, "unable to find user" },
		{ "app:", 0, 0, NULL, "is not name[:group] or uid[:gid]" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct oci_user u;
		char *err = NULL, got[256] = "";
		int r = oci_user_parse(cases[i].spec, passwd, group, &u, &err);

		if (cases[i].err) {
			if (r != -EINVAL || !strstr(err, cases[i].err))
				fail_msg("'%s': %s, want '%s'", cases[i].spec, err ?: "accepted",
					 cases[i].err);
			free(err);
			continue;
		}
		if (r < 0)
			fail_msg("'%s': %s", strna(cases[i].spec), err);
		for (unsigned int k = 0; k < u.n_additional_gids; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", k ? "," : "",
				 u.additional_gids[k]);
		if (u.uid != cases[i].uid || u.gid != cases[i].gid || !streq(got, cases[i].groups))
			fail_msg("'%s': %u:%u [%s], want %u:%u [%s]", strna(cases[i].spec), u.uid,
				 u.gid, got, cases[i].uid, cases[i].gid, cases[i].groups);
	}
}

static void test_user_without_files(void **state)
{
	struct oci_user u;
	char *err = NULL;

	assert_int_equal(oci_user_parse("42:43", NULL, NULL, &u, &err), 0);
	assert_true(u.uid == 42 && u.gid == 43 && u.n_additional_gids == 0);
	assert_int_equal(oci_user_parse("app", NULL, NULL, &u, &err), -EINVAL);
	free(err);
}

/* etc/passwd of the root file system, never the host's: symlinks resolve inside it. */
static void test_user_resolve_confined(void **state)
{
	char root[] = "/tmp/test-oci.XXXXXX", path[256];
	struct oci_user u;
	char *err = NULL;

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/etc", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/inside", root);
	assert_int_equal(write_file_atomic(path, "confined:x:4321:4322::/:/bin/sh\n", 32, 0644), 0);
	snprintf(path, sizeof(path), "%s/etc/passwd", root);
	assert_int_equal(symlink("/inside", path), 0);
	assert_int_equal(oci_user_resolve("confined", root, &u, &err), 0);
	assert_true(u.uid == 4321 && u.gid == 4322);
	/* the host's /etc/passwd has root: reaching it would be an escape */
	unlink(path);
	assert_int_equal(symlink("../../../../../../etc/passwd", path), 0);
	assert_true(oci_user_resolve("root", root, &u, &err) < 0);
	assert_non_null(strstr(err, "cannot read /etc/passwd"));
	free(err);
	err = NULL;
	/* no passwd at all: numbers work, names do not */
	unlink(path);
	assert_int_equal(oci_user_resolve("7:8", root, &u, &err), 0);
	assert_true(u.uid == 7 && u.gid == 8);
	assert_int_equal(oci_user_resolve("root", root, &u, &err), -EINVAL);
	free(err);
	snprintf(path, sizeof(path), "%s/inside", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc", root);
	rmdir(path);
	rmdir(root);
}

struct spec_case {
	struct taskdef *def;
	json_t *image;
	json_t *spec;
};

static json_t *build(struct spec_case *sc, const char *td, const char *image, const char *version,
		     const struct oci_spec_opts *extra)
{
	static const char *const volume_paths[] = { "/vol/data", "/vol/cache", NULL };
	static const char *const env[] = {
		"ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/x", "C=agent", NULL
	};
	struct oci_user user = {
		.uid = 1000, .gid = 1000, .additional_gids = { 50 }, .n_additional_gids = 1
	};
	struct oci_spec_opts o = extra ? *extra : (struct oci_spec_opts){};
	char *err = NULL;

	sc->def = parse(td);
	sc->image = json_loads(image, 0, NULL);
	assert_non_null(sc->image);
	o.platform = platform_find(version);
	o.def = sc->def;
	o.container = &sc->def->containers[0];
	o.image_config = sc->image;
	o.user = &user;
	o.rootfs = "/run/t/mnt/rootfs/app";
	o.hostname = o.hostname ?: "ip-198-18-1-1";
	o.netns_path = "/run/netns/task";
	o.cgroups_path = o.cgroups_path ?: "/taskvm/t1/app";
	o.volume_paths = o.volume_paths ?: volume_paths;
	o.env = env;
	if (oci_spec_build(&o, &sc->spec, &err) < 0)
		fail_msg("oci_spec_build: %s", err);
	return sc->spec;
}

static void spec_done(struct spec_case *sc)
{
	json_decref(sc->spec);
	json_decref(sc->image);
	taskdef_free(sc->def);
}

#define DOCKER_CAPS                                                                                \
	"CAP_CHOWN|CAP_DAC_OVERRIDE|CAP_FOWNER|CAP_FSETID|CAP_KILL|CAP_SETGID|CAP_SETUID|"         \
	"CAP_SETPCAP|CAP_NET_BIND_SERVICE|CAP_NET_RAW|CAP_SYS_CHROOT|CAP_MKNOD|CAP_AUDIT_WRITE|"   \
	"CAP_SETFCAP"

static void test_spec(void **state)
{
	struct spec_case sc = {};
	json_t *s = build(
		&sc,
		"{\"family\":\"f\",\"volumes\":[{\"name\":\"data\"},{\"name\":\"cache\"}],"
		"\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"i\",\"cpu\":128,"
		"\"memory\":256,\"memoryReservation\":128,\"command\":[\"serve\"],"
		"\"environment\":[{\"name\":\"A\",\"value\":\"td\"},{\"name\":\"C\",\"value\":\"td\"}],"
		"\"mountPoints\":[{\"sourceVolume\":\"cache\",\"containerPath\":\"/data/cache\","
		"\"readOnly\":true},{\"sourceVolume\":\"data\",\"containerPath\":\"/data\"}]}]}",
		"{\"Entrypoint\":[\"/bin/app\"],\"Env\":[\"PATH=/img\",\"A=img\",\"B=img\",\"NOEQ\"],"
		"\"WorkingDir\":\"srv\",\"User\":\"nobody\"}",
		"1.4.0",
		&(struct oci_spec_opts){ .resolv_conf = "/run/t/resolv.conf",
					 .hosts = "/run/t/hosts" });
	json_t *p = json_object_get(s, "process"), *m, *res;
	char buf[1024];

	assert_string_equal(json_string_value(json_object_get(s, "ociVersion")), "1.0.2");
	join(json_object_get(p, "args"), buf, sizeof(buf));
	assert_string_equal(buf, "/bin/app|serve");
	/* Docker's order: PATH (here the image's) and HOSTNAME, the image's, the task's, the
	 * agent's; a later value replaces an earlier one in its place */
	join(json_object_get(p, "env"), buf, sizeof(buf));
	assert_string_equal(buf, "HOSTNAME=ip-198-18-1-1|PATH=/img|A=td|B=img|C=agent|"
				 "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/x");
	/* a relative image WorkingDir is taken from / */
	assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/srv");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")),
			 1000);
	assert_int_equal(json_integer_value(json_array_get(
				 json_object_get(json_object_get(p, "user"), "additionalGids"), 0)),
			 50);
	join(json_object_get(json_object_get(p, "capabilities"), "bounding"), buf, sizeof(buf));
	assert_string_equal(buf, DOCKER_CAPS);
	join(json_object_get(json_object_get(p, "capabilities"), "effective"), buf, sizeof(buf));
	assert_string_equal(buf, DOCKER_CAPS);
	join(json_object_get(json_object_get(p, "capabilities"), "permitted"), buf, sizeof(buf));
	assert_string_equal(buf, DOCKER_CAPS);
	assert_null(json_object_get(json_object_get(p, "capabilities"), "ambient"));
	/* Fargate's nofile default */
	m = json_array_get(json_object_get(p, "rlimits"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "type")), "RLIMIT_NOFILE");
	assert_int_equal(json_integer_value(json_object_get(m, "soft")), 1024);
	assert_int_equal(json_integer_value(json_object_get(m, "hard")), 4096);
	assert_false(json_is_true(json_object_get(p, "terminal")));

	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "root"), "path")),
			    "/run/t/mnt/rootfs/app");
	assert_false(json_is_true(json_object_get(json_object_get(s, "root"), "readonly")));
	assert_string_equal(json_string_value(json_object_get(s, "hostname")), "ip-198-18-1-1");

	/* runc's defaults, the task's files, then volumes with parents first */
	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(json_object_get(s, "mounts")); i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "|" : "",
			 json_string_value(json_object_get(
				 json_array_get(json_object_get(s, "mounts"), i), "destination")));
	assert_string_equal(buf, "/proc|/dev|/dev/pts|/dev/shm|/dev/mqueue|/sys|/sys/fs/cgroup|"
				 "/etc/resolv.conf|/etc/hosts|/data|/data/cache");
	m = json_array_get(json_object_get(s, "mounts"), 10);
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/vol/cache");
	join(json_object_get(m, "options"), buf, sizeof(buf));
	assert_string_equal(buf, "rbind|rprivate|ro");
	m = json_array_get(json_object_get(s, "mounts"), 9);
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/vol/data");
	join(json_object_get(m, "options"), buf, sizeof(buf));
	assert_string_equal(buf, "rbind|rprivate|rw");
	m = json_array_get(json_object_get(s, "mounts"), 7);
	join(json_object_get(m, "options"), buf, sizeof(buf));
	assert_string_equal(buf, "rbind|rprivate|ro");

	m = json_object_get(s, "linux");
	assert_string_equal(json_string_value(json_object_get(m, "cgroupsPath")), "/taskvm/t1/app");
	res = json_object_get(m, "resources");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")),
		256 << 20);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(res, "memory"), "reservation")),
		128 << 20);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "shares")),
			 128);
	assert_false(json_is_true(
		json_object_get(json_array_get(json_object_get(res, "devices"), 0), "allow")));
	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(json_object_get(m, "namespaces")); i++) {
		json_t *ns = json_array_get(json_object_get(m, "namespaces"), i);

		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s%s%s", i ? "|" : "",
			 json_string_value(json_object_get(ns, "type")),
			 json_object_get(ns, "path") ? "=" : "",
			 json_string_value(json_object_get(ns, "path")) ?: "");
	}
	assert_string_equal(buf, "pid|ipc|uts|mount|network=/run/netns/task");
	join(json_object_get(m, "maskedPaths"), buf, sizeof(buf));
	assert_non_null(strstr(buf, "/proc/kcore"));
	join(json_object_get(m, "readonlyPaths"), buf, sizeof(buf));
	assert_non_null(strstr(buf, "/proc/sys"));
	spec_done(&sc);
}

static void test_spec_variants(void **state)
{
	struct spec_case sc = {};
	json_t *s, *p, *m;
	char buf[1024];

	/* 1.4.0 SYS_PTRACE, ulimits, read-only root, no PATH anywhere, cpu unset */
	s = build(&sc,
		  "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"i\","
		  "\"readonlyRootFilesystem\":true,\"workingDirectory\":\"/w\","
		  "\"ulimits\":[{\"name\":\"nofile\",\"softLimit\":10,\"hardLimit\":20}],"
		  "\"linuxParameters\":{\"capabilities\":{\"add\":[\"SYS_PTRACE\"],"
		  "\"drop\":[\"NET_RAW\",\"MKNOD\"]}}}]}",
		  "{\"Cmd\":[\"sh\"],\"WorkingDir\":\"/ignored\"}", "1.4.0", NULL);
	p = json_object_get(s, "process");
	join(json_object_get(json_object_get(p, "capabilities"), "effective"), buf, sizeof(buf));
	assert_string_equal(buf, "CAP_CHOWN|CAP_DAC_OVERRIDE|CAP_FOWNER|CAP_FSETID|CAP_KILL|"
				 "CAP_SETGID|CAP_SETUID|CAP_SETPCAP|CAP_NET_BIND_SERVICE|"
				 "CAP_SYS_CHROOT|CAP_SYS_PTRACE|CAP_AUDIT_WRITE|CAP_SETFCAP");
	join(json_object_get(p, "env"), buf, sizeof(buf));
	assert_string_equal(buf,
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|"
			    "HOSTNAME=ip-198-18-1-1|"
			    "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/x|C=agent");
	assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/w");
	m = json_array_get(json_object_get(p, "rlimits"), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "soft")), 10);
	assert_int_equal(json_integer_value(json_object_get(m, "hard")), 20);
	assert_true(json_is_true(json_object_get(json_object_get(s, "root"), "readonly")));
	m = json_object_get(json_object_get(s, "linux"), "resources");
	/* the ECS agent's minimum */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "cpu"), "shares")),
			 2);
	assert_null(json_object_get(json_object_get(m, "memory"), "limit"));
	spec_done(&sc);

	/* the task's PATH keeps the default out; no WorkingDir anywhere: / */
	s = build(&sc,
		  "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"i\","
		  "\"environment\":[{\"name\":\"PATH\",\"value\":\"/td\"}]}]}",
		  "{\"Cmd\":[\"sh\"]}", "1.3.0", NULL);
	p = json_object_get(s, "process");
	join(json_object_get(p, "env"), buf, sizeof(buf));
	assert_string_equal(buf, "HOSTNAME=ip-198-18-1-1|PATH=/td|"
				 "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/x|C=agent");
	assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/");
	spec_done(&sc);
}

static void test_spec_errors(void **state)
{
	const char *const no_paths[] = { NULL, NULL };
	struct oci_user user = {};
	struct taskdef *d = parse(
		"{\"family\":\"f\",\"volumes\":[{\"name\":\"data\"}],\"containerDefinitions\":[{"
		"\"name\":\"app\",\"image\":\"i\",\"command\":[\"x\"],\"mountPoints\":[{"
		"\"sourceVolume\":\"data\",\"containerPath\":\"/data\"}]}]}");
	struct oci_spec_opts o = { .platform = platform_find("1.4.0"),
				   .def = d,
				   .container = &d->containers[0],
				   .user = &user,
				   .rootfs = "/r",
				   .cgroups_path = "relative/app" };
	json_t *spec = NULL;
	char *err = NULL;

	assert_int_equal(oci_spec_build(&o, &spec, &err), -EINVAL);
	assert_string_equal(err, "cgroupsPath 'relative/app' must be absolute");
	free(err);
	o.cgroups_path = NULL;
	o.volume_paths = no_paths;
	assert_int_equal(oci_spec_build(&o, &spec, &err), -EINVAL);
	assert_string_equal(err, "container 'app': volume 'data' has no directory");
	free(err);
	o.rootfs = NULL;
	assert_int_equal(oci_spec_build(&o, &spec, &err), -EINVAL);
	free(err);
	assert_null(spec);
	taskdef_free(d);
}

static void test_bundle_write(void **state)
{
	char dir[] = "/tmp/test-oci-bundle.XXXXXX", path[256];
	json_auto_t *spec = json_pack("{s:s}", "ociVersion", "1.0.2"), *back = NULL;
	char *err = NULL;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b/app", dir);
	assert_int_equal(oci_bundle_write(path, spec, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/b/app/config.json", dir);
	back = json_load_file(path, 0, NULL);
	assert_true(json_equal(back, spec));
	unlink(path);
	snprintf(path, sizeof(path), "%s/b/app", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/b", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_user_without_files),
		cmocka_unit_test(test_user_resolve_confined),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_spec_variants),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_bundle_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
