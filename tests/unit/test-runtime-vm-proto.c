// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/vm-proto.h, the task VM's host-guest protocol: frames in pieces,
 * records, the spec of the containers both ways, the guest's kernel command line both ways.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <signal.h>

#include "util.h"
#include "vm-proto.h"

static void test_frames(void **state)
{
	uint8_t buf[256];
	struct vm_frame_reader r = {};
	struct vm_frame f;
	ssize_t n1, n2;

	n1 = vm_frame_encode(buf, sizeof(buf), VM_FRAME_STDOUT, 3, "hello", 5);
	assert_int_equal(n1, VM_FRAME_HEADER + 5);
	assert_memory_equal(buf, "\x05\x00\x03\x00\x05\x00\x00\x00hello", 13);
	n2 = vm_frame_encode(buf + n1, sizeof(buf) - n1, VM_FRAME_BYE, VM_CONTAINER_NONE, NULL, 0);
	assert_int_equal(n2, VM_FRAME_HEADER);

	/* One byte at a time: nothing until a frame is whole. */
	for (ssize_t i = 0; i < n1 - 1; i++) {
		assert_int_equal(vm_frame_reader_feed(&r, buf + i, 1), 0);
		assert_int_equal(vm_frame_reader_next(&r, &f), 0);
	}
	assert_int_equal(vm_frame_reader_feed(&r, buf + n1 - 1, n2 + 1), 0);
	assert_int_equal(vm_frame_reader_next(&r, &f), 1);
	assert_int_equal(f.type, VM_FRAME_STDOUT);
	assert_int_equal(f.container, 3);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.payload, "hello", 5);
	assert_int_equal(vm_frame_reader_next(&r, &f), 1);
	assert_int_equal(f.type, VM_FRAME_BYE);
	assert_int_equal(f.container, VM_CONTAINER_NONE);
	assert_int_equal(f.len, 0);
	assert_int_equal(vm_frame_reader_next(&r, &f), 0);
	vm_frame_reader_done(&r);

	assert_string_equal(vm_frame_type_name(VM_FRAME_SPEC), "SPEC");
	assert_null(vm_frame_type_name(0));
	assert_null(vm_frame_type_name(__VM_FRAME_MAX));
}

static void expect_bad_header(const char *hdr)
{
	struct vm_frame_reader r = {};
	struct vm_frame f;

	assert_int_equal(vm_frame_reader_feed(&r, hdr, VM_FRAME_HEADER), 0);
	assert_int_equal(vm_frame_reader_next(&r, &f), -EBADMSG);
	vm_frame_reader_done(&r);
}

static void test_frames_bad(void **state)
{
	static uint8_t big[VM_FRAME_HEADER + VM_FRAME_MAX + 1], payload[VM_FRAME_MAX + 1];

	expect_bad_header("\x00\x00\x00\x00\x00\x00\x00\x00"); /* type 0 */
	expect_bad_header("\x7f\x00\x00\x00\x00\x00\x00\x00"); /* unknown type */
	expect_bad_header("\x05\x01\x00\x00\x00\x00\x00\x00"); /* flags */
	expect_bad_header("\x05\x00\x00\x00\x01\x00\x01\x00"); /* 64 KiB + 1 */
	assert_int_equal(
		vm_frame_encode(big, sizeof(big), VM_FRAME_STDOUT, 0, payload, VM_FRAME_MAX + 1),
		-EMSGSIZE);
	assert_int_equal(vm_frame_encode(big, 10, VM_FRAME_STDOUT, 0, "abc", 3), -EMSGSIZE);
	assert_int_equal(
		vm_frame_encode(big, sizeof(big), VM_FRAME_STDOUT, 0, payload, VM_FRAME_MAX),
		VM_FRAME_HEADER + VM_FRAME_MAX);
}

static void test_records(void **state)
{
	struct vm_records rec = {};
	const char *value;
	size_t pos = 0;
	char key[8];

	vm_records_add(&rec, "a", "1=2");
	vm_records_add(&rec, "env", "");
	vm_records_addf(&rec, "n", "%d", 42);
	assert_int_equal(rec.error, 0);
	assert_memory_equal(rec.buf, "a=1=2\0env=\0n=42\0", rec.len);
	assert_int_equal(
		vm_records_next((uint8_t *)rec.buf, rec.len, &pos, key, sizeof(key), &value), 1);
	assert_string_equal(key, "a");
	assert_string_equal(value, "1=2");
	assert_int_equal(
		vm_records_next((uint8_t *)rec.buf, rec.len, &pos, key, sizeof(key), &value), 1);
	assert_string_equal(value, "");
	assert_int_equal(
		vm_records_next((uint8_t *)rec.buf, rec.len, &pos, key, sizeof(key), &value), 1);
	assert_string_equal(value, "42");
	assert_int_equal(
		vm_records_next((uint8_t *)rec.buf, rec.len, &pos, key, sizeof(key), &value), 0);
	vm_records_done(&rec);

	vm_records_add(&rec, "a=b", "c");
	assert_int_equal(rec.error, -EINVAL);
	vm_records_done(&rec);

	pos = 0;
	assert_int_equal(vm_records_next((const uint8_t *)"a=1", 3, &pos, key, sizeof(key), &value),
			 -EBADMSG); /* no final NUL */
	pos = 0;
	assert_int_equal(vm_records_next((const uint8_t *)"a1", 3, &pos, key, sizeof(key), &value),
			 -EBADMSG); /* no '=' */
	pos = 0;
	assert_int_equal(vm_records_next((const uint8_t *)"=1", 3, &pos, key, sizeof(key), &value),
			 -EBADMSG); /* no key */
	pos = 0;
	assert_int_equal(vm_records_next((const uint8_t *)"toolongkey=1", 13, &pos, key,
					 sizeof(key), &value),
			 -EBADMSG);
}

static void test_spec_roundtrip(void **state)
{
	char *argv1[] = { "/bin/sh", "-c", "echo a,b; exit 3", NULL };
	char *env1[] = { "PATH=/bin", "A=b=c", "EMPTY=", NULL };
	char *argv2[] = { "sleep", "100", NULL };
	const gid_t groups[] = { 10, 20 };
	const struct vm_volume volumes[] = { { "data", "vol0" },
					     { "cache", "vol1", "volumes/my-cache_1.x" } };
	const struct vm_mount mounts[] = { { "data", "/var/data", false },
					   { "cache", "/tmp/a,b", true } };
	const struct vm_container containers[] = {
		{ .name = "app",
		  .root = "root0",
		  .argv = argv1,
		  .env = env1,
		  .cwd = "/srv",
		  .uid = 1000,
		  .gid = 100,
		  .groups = groups,
		  .n_groups = 2,
		  .stop_signal = SIGINT,
		  .caps = 0x80000000a80425fbULL, /* bit 63 too: all 64 travel */
		  .nofile_soft = 1024,
		  .nofile_hard = 1ULL << 40,
		  .memory_max = 300ULL << 20,
		  .cpu_shares = 262144,
		  .mounts = mounts,
		  .n_mounts = 2,
		  .readonly_root = true },
		{ .name = "side.car", .root = "root1", .upper = "data", .argv = argv2 },
	};
	const struct vm_spec spec = { volumes, 2, containers, 2 };
	struct vm_records rec = {};
	struct vm_spec_parsed p;
	const struct vm_container *c;
	char *error = NULL;

	assert_int_equal(vm_spec_encode(&spec, &rec, &error), 0);
	assert_null(error);
	assert_int_equal(vm_spec_decode((uint8_t *)rec.buf, rec.len, &p, &error), 0);
	assert_int_equal(p.spec.n_volumes, 2);
	assert_string_equal(p.spec.volumes[1].name, "cache");
	assert_string_equal(p.spec.volumes[1].serial, "vol1");
	assert_string_equal(p.spec.volumes[1].dir, "volumes/my-cache_1.x");
	assert_null(p.spec.volumes[0].dir);
	assert_int_equal(p.spec.n_containers, 2);

	c = &p.spec.containers[0];
	assert_string_equal(c->name, "app");
	assert_string_equal(c->root, "root0");
	assert_string_equal(c->argv[0], "/bin/sh");
	assert_string_equal(c->argv[2], "echo a,b; exit 3");
	assert_null(c->argv[3]);
	assert_string_equal(c->env[1], "A=b=c");
	assert_string_equal(c->env[2], "EMPTY=");
	assert_null(c->env[3]);
	assert_string_equal(c->cwd, "/srv");
	assert_int_equal(c->uid, 1000);
	assert_int_equal(c->gid, 100);
	assert_int_equal(c->n_groups, 2);
	assert_int_equal(c->groups[1], 20);
	assert_int_equal(c->stop_signal, SIGINT);
	assert_true(c->caps == 0x80000000a80425fbULL);
	assert_true(c->nofile_soft == 1024);
	assert_true(c->nofile_hard == 1ULL << 40);
	assert_true(c->memory_max == 300ULL << 20);
	assert_true(c->cpu_shares == 262144);
	assert_true(c->readonly_root);
	assert_null(c->upper);
	assert_int_equal(c->n_mounts, 2);
	assert_string_equal(c->mounts[1].volume, "cache");
	assert_string_equal(c->mounts[1].path, "/tmp/a,b");
	assert_true(c->mounts[1].readonly);
	assert_false(c->mounts[0].readonly);

	c = &p.spec.containers[1];
	assert_string_equal(c->name, "side.car");
	assert_string_equal(c->upper, "data");
	assert_string_equal(c->cwd, "/");
	assert_null(c->env);
	assert_int_equal(c->stop_signal, SIGTERM); /* the default, written out */
	assert_true(c->caps == 0);		   /* none, written out */
	assert_true(c->nofile_hard == 0 && c->nofile_soft == 0);
	assert_true(c->memory_max == 0 && c->cpu_shares == 0); /* none: not written */
	assert_false(c->readonly_root);
	vm_spec_parsed_done(&p);
	vm_records_done(&rec);
}

static void expect_encode_error(const struct vm_spec *spec, const char *what)
{
	struct vm_records rec = {};
	char *error = NULL;

	assert_int_equal(vm_spec_encode(spec, &rec, &error), -EINVAL);
	assert_non_null(error);
	if (!strstr(error, what))
		fail_msg("'%s' does not say '%s'", error, what);
	free(error);
	vm_records_done(&rec);
}

static void test_spec_refused(void **state)
{
	char *argv[] = { "true", NULL }, *noargv[] = { NULL }, *badenv[] = { "NOEQUALS", NULL };
	const struct vm_volume vol = { "data", "vol0" };
	const struct vm_mount mnt_unknown = { "nope", "/x", false };
	const struct vm_mount mnt_relative = { "data", "x", false };
	const struct vm_mount mnt_dotdot = { "data", "/a/../../etc", false };
	const struct vm_mount mnt_root = { "data", "/", false };
	struct vm_container c = { .name = "app", .root = "r", .argv = argv };
	struct vm_container two[2] = { c, c };
	struct vm_spec spec = { &vol, 1, &c, 1 };

	spec.n_containers = 0;
	expect_encode_error(&spec, "1-64 containers");
	spec.n_containers = 1;
	c.name = "bad name";
	expect_encode_error(&spec, "container name 'bad name'");
	c.name = "app";
	c.root = "a-serial-longer-than-20";
	expect_encode_error(&spec, "root drive serial");
	c.root = "r";
	c.argv = noargv;
	expect_encode_error(&spec, "no command");
	c.argv = argv;
	c.env = badenv;
	expect_encode_error(&spec, "'NOEQUALS' is not NAME=value");
	c.env = NULL;
	c.cwd = "srv";
	expect_encode_error(&spec, "working directory 'srv'");
	c.cwd = NULL;
	c.stop_signal = 200;
	expect_encode_error(&spec, "stop signal 200");
	c.stop_signal = 0;
	c.nofile_soft = 10;
	c.nofile_hard = 9;
	expect_encode_error(&spec, "nofile soft limit 10 is above the hard one 9");
	c.nofile_hard = 0;
	expect_encode_error(&spec, "nofile soft limit 10 is above the hard one 0");
	c.nofile_soft = 0;
	c.cpu_shares = 1;
	expect_encode_error(&spec, "cpu shares 1 are not 2-262144");
	c.cpu_shares = 262145;
	expect_encode_error(&spec, "cpu shares 262145 are not 2-262144");
	c.cpu_shares = 0;
	c.n_mounts = 1;
	c.mounts = &mnt_unknown;
	expect_encode_error(&spec, "unknown volume 'nope'");
	c.mounts = &mnt_relative;
	expect_encode_error(&spec, "mount path 'x'");
	c.mounts = &mnt_dotdot;
	expect_encode_error(&spec, "mount path '/a/../../etc'");
	c.mounts = &mnt_root;
	expect_encode_error(&spec, "mount path '/'");
	c.n_mounts = 0;
	c.upper = "scratch";
	expect_encode_error(&spec, "writable layer is on unknown volume 'scratch'");
	c.upper = NULL;
	{
		static const char *const bad_dirs[] = { "",    "/abs", "a/../b", "..",	"a/..",
							"./a", "a//b", "a/",	 "a,b", "a b" };
		char long_dir[VM_DIR_MAX + 2];
		struct vm_volume v = vol;

		spec.volumes = &v;
		for (size_t i = 0; i < ARRAY_SIZE(bad_dirs); i++) {
			v.dir = bad_dirs[i];
			expect_encode_error(&spec, "volume 'data': directory");
		}
		memset(long_dir, 'a', sizeof(long_dir) - 1);
		long_dir[sizeof(long_dir) - 1] = '\0';
		v.dir = long_dir;
		expect_encode_error(&spec, "volume 'data': directory");
		long_dir[VM_DIR_MAX] = '\0';
		v.dir = long_dir; /* the longest there is */
		{
			struct vm_records rec = {};

			assert_int_equal(vm_spec_encode(&spec, &rec, NULL), 0);
			vm_records_done(&rec);
		}
		spec.volumes = &vol;
	}
	spec.containers = two;
	spec.n_containers = 2;
	expect_encode_error(&spec, "container 'app' is there twice");
}

static void expect_decode_error(const char *payload, size_t len, const char *what)
{
	uint8_t *copy = malloc(len);
	struct vm_spec_parsed p;
	char *error = NULL;

	memcpy(copy, payload, len);
	assert_int_equal(vm_spec_decode(copy, len, &p, &error), -EINVAL);
	assert_non_null(error);
	if (!strstr(error, what))
		fail_msg("'%s' does not say '%s'", error, what);
	free(error);
	free(copy);
}

static void test_spec_decode_refused(void **state)
{
#define P(s) s, sizeof(s) - 1
	expect_decode_error(P(""), "no container");
	expect_decode_error(P("arg=x\0"), "before the first container");
	expect_decode_error(P("container=a\0root=r\0arg=x\0volume=v,s\0"),
			    "after the first container");
	expect_decode_error(P("volume=v,s\0volume=v,t\0container=a\0root=r\0arg=x\0"),
			    "volume 'v' is there twice");
	/* a volume's directory: what the encoder refuses */
	expect_decode_error(P("volume=v,s,\0container=a\0root=r\0arg=x\0"), "directory ''");
	expect_decode_error(P("volume=v,s,a/../..\0container=a\0root=r\0arg=x\0"),
			    "directory 'a/../..'");
	expect_decode_error(P("volume=v,s,/etc\0container=a\0root=r\0arg=x\0"), "directory '/etc'");
	expect_decode_error(P("volume=v,s,a,b\0container=a\0root=r\0arg=x\0"), "directory 'a,b'");
	expect_decode_error(P("volume=v,s/x,d\0container=a\0root=r\0arg=x\0"), "drive 's/x'");
	expect_decode_error(P("container=a\0root=r\0arg=x\0color=red\0"), "unknown field 'color'");
	expect_decode_error(P("container=a\0root=r\0arg=x\0user=1\0"), "bad user '1'");
	expect_decode_error(P("container=a\0root=r\0arg=x\0user=-1:0\0"), "bad user");
	expect_decode_error(P("container=a\0root=r\0arg=x\0mount=v,xx,/a\0"), "bad mount");
	expect_decode_error(P("container=a\0root=r\0"), "no command");
	expect_decode_error(P("container=a\0root=r\0arg=x\0stop_signal=99\0"), "bad stop signal");
	expect_decode_error(P("container=a\0root=r\0arg=x"), "malformed record");
	expect_decode_error(P("container=a\0root=r\0arg=x\0caps=ff\0"), "bad caps 'ff'");
	expect_decode_error(P("container=a\0root=r\0arg=x\0caps=00000000000000000\0"), "bad caps");
	expect_decode_error(P("container=a\0root=r\0arg=x\0caps=-000000000000001\0"), "bad caps");
	expect_decode_error(P("container=a\0root=r\0arg=x\0caps=000000000000000g\0"), "bad caps");
	expect_decode_error(P("container=a\0root=r\0arg=x\0nofile=10:9\0"), "bad nofile '10:9'");
	expect_decode_error(P("container=a\0root=r\0arg=x\0nofile=0:0\0"), "bad nofile");
	expect_decode_error(P("container=a\0root=r\0arg=x\0nofile=1:-2\0"), "bad nofile");
	expect_decode_error(P("container=a\0root=r\0arg=x\0nofile=5\0"), "bad nofile");
	expect_decode_error(P("container=a\0root=r\0arg=x\0memory_max=0\0"), "bad memory_max '0'");
	expect_decode_error(P("container=a\0root=r\0arg=x\0memory_max=-1\0"), "bad memory_max");
	expect_decode_error(P("container=a\0root=r\0arg=x\0memory_max=1k\0"), "bad memory_max");
	expect_decode_error(P("container=a\0root=r\0arg=x\0cpu_shares=0\0"), "bad cpu_shares");
	expect_decode_error(P("container=a\0root=r\0arg=x\0cpu_shares=1\0"), "cpu shares 1 are");
	expect_decode_error(P("container=a\0root=r\0arg=x\0cpu_shares=262145\0"),
			    "cpu shares 262145 are");
	expect_decode_error(P("container=a\0root=r\0arg=x\0nofile=1:99999999999999999999\0"),
			    "bad nofile");
#undef P
}

static void test_stats(void **state)
{
	const struct vm_stats in = { .has_cpu = true,
				     .cpu_usec = 12345678901ULL,
				     .has_memory = true,
				     .memory = 1ULL << 33,
				     .has_memory_peak = true,
				     .memory_peak = UINT64_MAX,
				     .has_storage = true,
				     .storage_used = 5,
				     .storage_size = 20ULL << 30 };
	struct vm_records rec = {};
	struct vm_stats out;

	vm_stats_encode(&in, &rec);
	assert_int_equal(rec.error, 0);
	assert_int_equal(vm_stats_decode((uint8_t *)rec.buf, rec.len, &out), 0);
	assert_true(vm_stats_equal(&in, &out));
	vm_records_done(&rec);
	/* what it does not have, it does not say */
	vm_stats_encode(&(struct vm_stats){ .has_memory = true, .memory = 7 }, &rec);
	assert_int_equal(vm_stats_decode((uint8_t *)rec.buf, rec.len, &out), 0);
	assert_true(out.has_memory && out.memory == 7);
	assert_false(out.has_cpu || out.has_memory_peak || out.has_storage);
	vm_records_done(&rec);
	assert_int_equal(vm_stats_decode(NULL, 0, &out), 0);
	assert_false(out.has_cpu || out.has_memory || out.has_memory_peak || out.has_storage);

#define BAD(s) assert_int_equal(vm_stats_decode((const uint8_t *)s, sizeof(s) - 1, &out), -EBADMSG)
	BAD("cpu_usec=\0");
	BAD("cpu_usec=-1\0");
	BAD("cpu_usec=1x\0");
	BAD("memory=18446744073709551616\0"); /* 2^64 */
	BAD("memory_peak= 1\0");
	BAD("storage=1\0");
	BAD("storage=2,1\0"); /* more used than there is */
	BAD("storage=,1\0");
	BAD("storage=1,\0");
	BAD("storage=000000000000000000000001,2\0");
	BAD("color=red\0");
	BAD("memory=1");
#undef BAD
}

static void test_cmdline(void **state)
{
	const char *line = "console=ttyS0 quiet tp.net=eth1,02:aB:cd:00:00:01,198.18.1.1/16,9001 "
			   "tp.net=md0,02:00:00:00:00:02,169.254.172.2/22 "
			   "tp.route=0.0.0.0/0,eth1,198.18.0.1 tp.route=169.254.170.2/32,md0 "
			   "tp.dns=198.18.0.2 tp.hostname=ip-198-18-1-1.ec2.internal tp.debug\n";
	struct vm_guest_config c, c2;
	const char *error = NULL;
	char buf[VM_CMDLINE_MAX], a[INET_ADDRSTRLEN];

	assert_int_equal(vm_guest_config_parse(line, &c, &error), 0);
	assert_int_equal(c.n_nics, 2);
	assert_string_equal(c.nics[0].ifname, "eth1");
	assert_memory_equal(c.nics[0].mac, "\x02\xab\xcd\x00\x00\x01", 6);
	assert_string_equal(inet_ntop(AF_INET, &c.nics[0].addr, a, sizeof(a)), "198.18.1.1");
	assert_int_equal(c.nics[0].prefixlen, 16);
	assert_int_equal(c.nics[0].mtu, 9001);
	assert_int_equal(c.nics[1].mtu, 0);
	assert_int_equal(c.n_routes, 2);
	assert_int_equal(c.routes[0].prefixlen, 0);
	assert_string_equal(inet_ntop(AF_INET, &c.routes[0].gateway, a, sizeof(a)), "198.18.0.1");
	assert_int_equal(c.routes[1].gateway, 0);
	assert_string_equal(c.routes[1].ifname, "md0");
	assert_int_equal(c.n_dns, 1);
	assert_string_equal(c.hostname, "ip-198-18-1-1.ec2.internal");
	assert_true(c.debug);

	/* What the host writes, the guest reads back the same. */
	assert_true(vm_guest_config_format(&c, buf, sizeof(buf)) > 0);
	assert_string_equal(buf,
			    "tp.net=eth1,02:ab:cd:00:00:01,198.18.1.1/16,9001 "
			    "tp.net=md0,02:00:00:00:00:02,169.254.172.2/22 "
			    "tp.route=0.0.0.0/0,eth1,198.18.0.1 tp.route=169.254.170.2/32,md0 "
			    "tp.dns=198.18.0.2 tp.hostname=ip-198-18-1-1.ec2.internal tp.debug");
	assert_int_equal(vm_guest_config_parse(buf, &c2, &error), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
	assert_int_equal(vm_guest_config_format(&c, buf, 20), -ENAMETOOLONG);

	/* Nothing of ours: an empty configuration. */
	assert_int_equal(vm_guest_config_parse("root=/dev/vda quiet tpx=1", &c, &error), 0);
	assert_int_equal(c.n_nics + c.n_routes + c.n_dns, 0);
}

static void expect_cmdline_error(const char *line, const char *what)
{
	struct vm_guest_config c;
	const char *error = NULL;

	assert_int_equal(vm_guest_config_parse(line, &c, &error), -EINVAL);
	assert_non_null(error);
	if (!strstr(error, what))
		fail_msg("'%s': '%s' does not say '%s'", line, error, what);
}

static void test_cmdline_refused(void **state)
{
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00:0g,1.2.3.4/8", "bad MAC");
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00,1.2.3.4/8", "bad MAC");
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00:01,1.2.3.4", "bad ADDR/PLEN");
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00:01,1.2.3.4/33", "bad ADDR/PLEN");
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00:01,1.2.3.4/8,67", "bad MTU");
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00:01,1.2.3.4/8,65536", "bad MTU");
	expect_cmdline_error("tp.net=a-name-too-long-x,02:00:00:00:00:01,1.2.3.4/8",
			     "interface name");
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00:01", "IFNAME,MAC,ADDR/PLEN");
	expect_cmdline_error("tp.net=eth1,02:00:00:00:00:01,1.2.3.4/8,1500,x", "IFNAME,MAC");
	expect_cmdline_error("tp.route=0.0.0.0/0,eth9", "not a tp.net");
	expect_cmdline_error(
		"tp.net=eth1,02:00:00:00:00:01,1.2.3.4/8 tp.route=0.0.0.0/0,eth1,1.2.3",
		"bad gateway");
	expect_cmdline_error("tp.dns=1 tp.dns=2", "bad address");
	expect_cmdline_error("tp.dns=1.1.1.1 tp.dns=1.1.1.2 tp.dns=1.1.1.3 tp.dns=1.1.1.4",
			     "too many tp.dns");
	expect_cmdline_error("tp.hostname=-x", "bad name");
	expect_cmdline_error("tp.hostname=a_b", "bad name");
	expect_cmdline_error("tp.color=red", "unknown tp.* parameter");
	expect_cmdline_error("tp.net", "without a value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),		cmocka_unit_test(test_frames_bad),
		cmocka_unit_test(test_records),		cmocka_unit_test(test_spec_roundtrip),
		cmocka_unit_test(test_spec_refused),	cmocka_unit_test(test_spec_decode_refused),
		cmocka_unit_test(test_stats),		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_cmdline_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
