// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for runtime/image-ref.h: Docker's reference grammar and its normalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "image-ref.h"
#include "util.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* s parses, and its parts and canonical form are the expected ones (tag or digest NULL). */
static void ok(const char *s, const char *domain, const char *path, const char *tag,
	       const char *digest, const char *canonical)
{
	struct image_ref r = {};
	char *err = NULL, *f;
	int rc;

	rc = image_ref_parse(s, &r, &err);
	if (rc < 0)
		fail_msg("image_ref_parse(%s): %s", s, err ?: "?");
	assert_null(err);
	assert_string_equal(r.domain, domain);
	assert_string_equal(r.path, path);
	if (tag)
		assert_string_equal(r.tag, tag);
	else
		assert_null(r.tag);
	if (digest)
		assert_string_equal(r.digest, digest);
	else
		assert_null(r.digest);
	f = image_ref_format(&r);
	assert_non_null(f);
	assert_string_equal(f, canonical);
	free(f);
	image_ref_done(&r);
}

/* s is refused, and the message contains want. */
static void bad(const char *s, const char *want)
{
	struct image_ref r = {};
	char *err = NULL;

	assert_int_equal(image_ref_parse(s, &r, &err), -EINVAL);
	assert_null(r.domain);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error for '%s' is '%s', want '%s' in it", s, err, want);
	free(err);
}

static void test_docker_hub(void **state)
{
	ok("busybox", "docker.io", "library/busybox", "latest", NULL,
	   "docker.io/library/busybox:latest");
	ok("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL,
	   "docker.io/library/busybox:1.36");
	ok("library/busybox", "docker.io", "library/busybox", "latest", NULL,
	   "docker.io/library/busybox:latest");
	ok("user/app:v2", "docker.io", "user/app", "v2", NULL, "docker.io/user/app:v2");
	ok("docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
	   "docker.io/library/busybox:latest");
	ok("index.docker.io/user/app", "docker.io", "user/app", "latest", NULL,
	   "docker.io/user/app:latest");
	ok("a/b/c/d", "docker.io", "a/b/c/d", "latest", NULL, "docker.io/a/b/c/d:latest");
}

static void test_registries(void **state)
{
	ok("registry.vpc.test:5000/test/busybox:v1", "registry.vpc.test:5000", "test/busybox", "v1",
	   NULL, "registry.vpc.test:5000/test/busybox:v1");
	ok("localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest");
	ok("localhost:5000/a/b:t", "localhost:5000", "a/b", "t", NULL, "localhost:5000/a/b:t");
	ok("Registry/app", "Registry", "app", "latest", NULL, "Registry/app:latest");
	ok("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:2024-01",
	   "123456789012.dkr.ecr.us-east-1.amazonaws.com", "team/app", "2024-01", NULL,
	   "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:2024-01");
	ok("198.18.0.1:5000/x", "198.18.0.1:5000", "x", "latest", NULL, "198.18.0.1:5000/x:latest");
	ok("[fd00::1]:5000/app:1", "[fd00::1]:5000", "app", "1", NULL, "[fd00::1]:5000/app:1");
	ok("my-registry.example/a.b/c__d/e---f/g_h:_T.a-g", "my-registry.example",
	   "a.b/c__d/e---f/g_h", "_T.a-g", NULL, "my-registry.example/a.b/c__d/e---f/g_h:_T.a-g");
}

static void test_digests(void **state)
{
	ok("busybox@sha256:" D64, "docker.io", "library/busybox", NULL, "sha256:" D64,
	   "docker.io/library/busybox@sha256:" D64);
	ok("r.example:443/app:1.0@sha256:" D64, "r.example:443", "app", "1.0", "sha256:" D64,
	   "r.example:443/app:1.0@sha256:" D64);
	assert_true(image_digest_valid("sha256:" D64));
	assert_false(image_digest_valid("sha256:" D64 "0"));
	assert_false(image_digest_valid(
		"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(image_digest_valid("sha512:" D64));
	assert_false(image_digest_valid(NULL));
}

static void test_api_host(void **state)
{
	struct image_ref r = {};

	assert_int_equal(image_ref_parse("busybox", &r, NULL), 0);
	assert_string_equal(image_ref_api_host(&r), "registry-1.docker.io");
	image_ref_done(&r);
	assert_int_equal(image_ref_parse("registry.vpc.test:5000/a", &r, NULL), 0);
	assert_string_equal(image_ref_api_host(&r), "registry.vpc.test:5000");
	image_ref_done(&r);
}

static void test_bad(void **state)
{
	char name[300], tag[140];

	bad("", "empty");
	bad("UPPER", "lowercase");
	bad("r.example/Team/app", "lowercase");
	bad("busybox:", "bad tag");
	bad("busybox:-x", "bad tag");
	bad("busybox:.x", "bad tag");
	bad("busybox@sha256:abc", "64 lower-case hex");
	bad("busybox@md5:" D64, "only sha256");
	bad("busybox@", "only sha256");
	bad("a//b", "bad path component");
	bad("/busybox", "bad path component");
	bad("busybox/", "bad path component");
	bad("a..b", "bad path component");
	bad("a_/b", "bad path component");
	bad("-a/b", "bad path component");
	bad("a b", "blanks");
	bad("a\tb", "blanks");
	bad("r.example:99999/app", "bad registry");
	bad("r.example:/app", "bad registry");
	bad("-r.example/app", "bad registry");
	bad("r..example/app", "bad registry");
	bad("[zz]:5000/app", "bad registry");
	bad(":tag", "no repository");
	bad("@sha256:" D64, "no repository");
	memset(tag, 'a', 129);
	tag[129] = '\0';
	snprintf(name, sizeof(name), "busybox:%s", tag);
	bad(name, "bad tag");
	memset(name, 'a', 260);
	name[260] = '\0';
	bad(name, "longer than 255");
	bad("busybox\xc3\xa9", "control");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_hub), cmocka_unit_test(test_registries),
		cmocka_unit_test(test_digests),	   cmocka_unit_test(test_api_host),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
