// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for runtime/image-spec.h: indexes, manifests and configs as registries serve them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "image-spec.h"
#include "util.h"

#define D(c)                                                                                       \
	"sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
		c c c c c c c c c c c c c c c c c c c c c c c c
#define DA D("a")
#define DB D("b")
#define DC D("c")

#define ENTRY(mt, digest, plat)                                                                    \
	"{\"mediaType\":\"" mt "\",\"digest\":\"" digest "\",\"size\":123,\"platform\":" plat "}"

static void parse_ok(const char *s, const char *ct, struct image_spec_document *d)
{
	char *err = NULL;
	int r = image_spec_document_parse(s, strlen(s), ct, d, &err);

	if (r < 0)
		fail_msg("parse(%s): %s", s, err ?: "?");
	assert_null(err);
}

static void parse_bad(const char *s, const char *ct, int want_r, const char *want)
{
	struct image_spec_document d = {};
	char *err = NULL;

	assert_int_equal(image_spec_document_parse(s, strlen(s), ct, &d, &err), want_r);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error for %s is '%s', want '%s' in it", s, err, want);
	free(err);
}

static const char *index_json =
	"{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_INDEX
	"\",\"manifests\":[" ENTRY(IMAGE_MT_OCI_MANIFEST, DA, "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}") "," ENTRY(
		IMAGE_MT_OCI_MANIFEST, DB,
		"{\"os\":\"windows\",\"architecture\":\"amd64\"}") "," ENTRY(IMAGE_MT_OCI_MANIFEST,
									     DC,
									     "{\"os\":\"linux\",\"architecture\":\"amd64\"}") ","
															      "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST
															      "\",\"digest\":\"" DA
															      "\",\"size\":5}]}";

static void test_index(void **state)
{
	struct image_spec_document d = {};
	size_t pos = 99;

	parse_ok(index_json, "application/vnd.oci.image.index.v1+json; charset=utf-8", &d);
	assert_int_equal(d.kind, IMAGE_SPEC_KIND_INDEX);
	assert_string_equal(d.media_type, IMAGE_MT_OCI_INDEX);
	assert_int_equal(d.index.n_manifests, 4);
	assert_string_equal(d.index.manifests[0].variant, "v8");
	assert_null(d.index.manifests[3].os);
	assert_int_equal(d.index.manifests[3].size, 5);
	assert_int_equal(image_spec_index_select(&d.index, "linux", "amd64", &pos, NULL), 0);
	assert_int_equal(pos, 2);
	assert_string_equal(d.index.manifests[pos].digest, DC);
	image_spec_document_done(&d);
}

static void test_index_variants(void **state)
{
	const char *s =
		"{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_DOCKER_LIST
		"\",\"manifests\":[" ENTRY(IMAGE_MT_DOCKER_MANIFEST, DA, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v3\"}") "," ENTRY(
			IMAGE_MT_DOCKER_MANIFEST, DB,
			"{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v1\"}") "]}";
	const char *only_v3 = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
		IMAGE_MT_DOCKER_MANIFEST, DA,
		"{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v3\"}") "]}";
	struct image_spec_document d = {};
	size_t pos;

	parse_ok(s, NULL, &d);
	assert_int_equal(d.kind, IMAGE_SPEC_KIND_INDEX);
	assert_int_equal(image_spec_index_select(&d.index, "linux", "amd64", &pos, NULL), 0);
	assert_int_equal(pos, 1);
	image_spec_document_done(&d);

	/* No mediaType in the body: the header says what it is. */
	parse_ok(only_v3, IMAGE_MT_DOCKER_LIST, &d);
	assert_int_equal(d.kind, IMAGE_SPEC_KIND_INDEX);
	assert_string_equal(d.media_type, IMAGE_MT_DOCKER_LIST);
	assert_int_equal(image_spec_index_select(&d.index, "linux", "amd64", &pos, NULL), 0);
	assert_int_equal(pos, 0);
	image_spec_document_done(&d);
}

static void test_index_no_match(void **state)
{
	const char *s = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
		IMAGE_MT_OCI_MANIFEST, DA,
		"{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}") "," ENTRY(IMAGE_MT_OCI_INDEX,
											      DB,
											      "{\"os\":\"linux\",\"architecture\":\"amd64\"}") "]}";
	struct image_spec_document d = {};
	char *err = NULL;
	size_t pos;

	parse_ok(s, IMAGE_MT_OCI_INDEX, &d);
	/* A nested index is no image manifest. */
	assert_int_equal(image_spec_index_select(&d.index, "linux", "amd64", &pos, &err), -ENOENT);
	assert_non_null(err);
	assert_non_null(strstr(err, "no linux/amd64 image"));
	assert_non_null(strstr(err, "linux/arm64/v8, linux/amd64"));
	free(err);
	image_spec_document_done(&d);
}

static const char *manifest_json =
	"{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\","
	"\"config\":{\"mediaType\":\"" IMAGE_MT_OCI_CONFIG "\",\"digest\":\"" DA "\",\"size\":421},"
	"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DB
	"\",\"size\":1087971},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" DC
	"\",\"size\":0,"
	"\"annotations\":{\"x\":\"y\"}}],\"annotations\":{\"a\":\"b\"}}";

static void test_manifest(void **state)
{
	struct image_spec_document d = {};

	parse_ok(manifest_json, IMAGE_MT_OCI_MANIFEST, &d);
	assert_int_equal(d.kind, IMAGE_SPEC_KIND_MANIFEST);
	assert_string_equal(d.manifest.config.media_type, IMAGE_MT_OCI_CONFIG);
	assert_string_equal(d.manifest.config.digest, DA);
	assert_int_equal(d.manifest.config.size, 421);
	assert_int_equal(d.manifest.n_layers, 2);
	assert_string_equal(d.manifest.layers[0].digest, DB);
	assert_int_equal(d.manifest.layers[0].size, 1087971);
	assert_int_equal(d.manifest.layers[1].size, 0);
	assert_true(image_spec_layer_type_supported(d.manifest.layers[0].media_type));
	assert_true(image_spec_layer_type_supported(d.manifest.layers[1].media_type));
	image_spec_document_done(&d);

	/* A generic content type does not stand in the way of the body's own type. */
	parse_ok(manifest_json, "application/json", &d);
	assert_int_equal(d.kind, IMAGE_SPEC_KIND_MANIFEST);
	image_spec_document_done(&d);

	/* Neither says: the structure does. */
	parse_ok("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
		 "\",\"size\":1},\"layers\":[]}",
		 NULL, &d);
	assert_int_equal(d.kind, IMAGE_SPEC_KIND_MANIFEST);
	assert_string_equal(d.media_type, IMAGE_MT_OCI_MANIFEST);
	assert_int_equal(d.manifest.n_layers, 0);
	image_spec_document_done(&d);
}

static void test_layer_types(void **state)
{
	assert_true(image_spec_layer_type_supported(
		"application/vnd.docker.image.rootfs.diff.tar.gzip"));
	assert_true(image_spec_layer_type_supported("application/vnd.oci.image.layer.v1.tar+zstd"));
	assert_false(image_spec_layer_type_supported(
		"application/vnd.cncf.helm.chart.content.v1.tar+gzip"));
	assert_false(
		image_spec_layer_type_supported("application/vnd.oci.image.layer.v1.tar+bzip2"));
	assert_false(image_spec_layer_type_supported(""));
}

static void test_bad_documents(void **state)
{
	parse_bad("{", NULL, -EINVAL, "not valid JSON");
	parse_bad("[]", NULL, -EINVAL, "not a JSON object");
	parse_bad("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, -EPROTONOSUPPORT, "schema 1");
	parse_bad("{\"schemaVersion\":2}",
		  "application/vnd.docker.distribution.manifest.v1+prettyjws", -EPROTONOSUPPORT,
		  "schema 1");
	parse_bad("{\"schemaVersion\":3,\"layers\":[]}", NULL, -EINVAL, "schemaVersion is not 2");
	parse_bad(
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}",
		NULL, -EPROTONOSUPPORT, "is not an image manifest or index");
	parse_bad("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST
		  "\",\"manifests\":[]}",
		  IMAGE_MT_OCI_INDEX, -EINVAL, "but was served as");
	parse_bad("{\"schemaVersion\":2,\"mediaType\":7}", NULL, -EINVAL, "not a string");
	parse_bad("{\"schemaVersion\":2}", NULL, -EINVAL, "neither");
	parse_bad("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_INDEX "\",\"manifests\":{}}",
		  NULL, -EINVAL, "without a manifests array");
	parse_bad("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"layers\":[]}",
		  NULL, -EINVAL, "without a config");
	parse_bad(
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:00\",\"size\":1},\"layers\":[]}",
		NULL, -EINVAL, "config 0 has no valid sha256 digest");
	parse_bad("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
		  "\",\"size\":-1},\"layers\":[]}",
		  NULL, -EINVAL, "no valid size");
	parse_bad("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
		  "\",\"size\":1},"
		  "\"layers\":[{\"digest\":\"" DA "\",\"size\":1}]}",
		  NULL, -EINVAL, "layer 0 has no mediaType");
	parse_bad("{\"schemaVersion\":2,\"manifests\":[7]}", NULL, -EINVAL,
		  "manifest 0 is not an object");
	parse_bad("{\"schemaVersion\":2,\"manifests\":[" ENTRY("m", DA, "[]") "]}", NULL, -EINVAL,
		  "platform is not an object");
	parse_bad("{\"schemaVersion\":2,\"schemaVersion\":2}", NULL, -EINVAL, "not valid JSON");
}

static const char *config_json =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2026-01-01T00:00:00Z\","
	"\"config\":{\"User\":\"1000:1000\",\"Env\":[\"PATH=/bin\",\"A=b=c\"],"
	"\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],\"WorkingDir\":\"/srv\","
	"\"StopSignal\":\"SIGQUIT\",\"Labels\":{\"l\":\"v\"}},"
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DA "\",\"" DB "\"]},\"history\":[]}";

static void test_config(void **state)
{
	struct image_spec_config c = {};
	char *err = NULL;

	assert_int_equal(image_spec_config_parse(config_json, strlen(config_json), &c, &err), 0);
	assert_null(err);
	assert_string_equal(c.os, "linux");
	assert_string_equal(c.architecture, "amd64");
	assert_null(c.variant);
	assert_string_equal(c.user, "1000:1000");
	assert_string_equal(c.env[1], "A=b=c");
	assert_null(c.env[2]);
	assert_string_equal(c.entrypoint[0], "/bin/sh");
	assert_string_equal(c.entrypoint[1], "-c");
	assert_null(c.entrypoint[2]);
	assert_string_equal(c.cmd[0], "echo hi");
	assert_string_equal(c.working_dir, "/srv");
	assert_string_equal(c.stop_signal, "SIGQUIT");
	assert_int_equal(c.n_diff_ids, 2);
	assert_string_equal(c.diff_ids[1], DB);
	image_spec_config_done(&c);
}

static void test_config_minimal(void **state)
{
	const char *s =
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":null,"
		"\"Cmd\":[]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	struct image_spec_config c = {};

	assert_int_equal(image_spec_config_parse(s, strlen(s), &c, NULL), 0);
	assert_null(c.entrypoint);
	assert_non_null(c.cmd);
	assert_null(c.cmd[0]);
	assert_null(c.env);
	assert_null(c.working_dir);
	assert_int_equal(c.n_diff_ids, 0);
	image_spec_config_done(&c);
}

static void config_bad(const char *s, const char *want)
{
	struct image_spec_config c = {};
	char *err = NULL;

	assert_int_equal(image_spec_config_parse(s, strlen(s), &c, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error for %s is '%s', want '%s' in it", s, err, want);
	free(err);
}

static void test_config_bad(void **state)
{
	config_bad("x", "not valid JSON");
	config_bad("[]", "not a JSON object");
	config_bad("{\"os\":1}", "os, architecture or variant");
	config_bad("{\"config\":[]}", "config is not an object");
	config_bad("{\"config\":{\"Env\":[1]}}", "Entrypoint, Cmd or Env");
	config_bad("{\"config\":{\"Cmd\":\"sh\"}}", "Entrypoint, Cmd or Env");
	config_bad("{\"config\":{\"User\":0}}", "WorkingDir, User or StopSignal");
	config_bad("{}", "rootfs.type");
	config_bad("{\"rootfs\":{\"type\":\"layers\"}}", "diff_ids");
	config_bad("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:x\"]}}",
		   "diff_id 0 is not a sha256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),	       cmocka_unit_test(test_index_variants),
		cmocka_unit_test(test_index_no_match), cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_layer_types),    cmocka_unit_test(test_bad_documents),
		cmocka_unit_test(test_config),	       cmocka_unit_test(test_config_minimal),
		cmocka_unit_test(test_config_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
