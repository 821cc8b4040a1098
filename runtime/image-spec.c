// SPDX-License-Identifier: GPL-2.0-only
#include <jansson.h>
#include <strings.h>

#include "image-ref.h"
#include "image-spec.h"
#include "util.h"

#define STRV_MAX 65536

char **image_spec_strv_free(char **v)
{
	if (v)
		for (char **p = v; *p; p++)
			free(*p);
	free(v);
	return NULL;
}

static void descriptor_done(struct image_spec_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->architecture);
	free(d->variant);
	*d = (struct image_spec_descriptor){};
}

static void descriptors_free(struct image_spec_descriptor *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		descriptor_done(&v[i]);
	free(v);
}

void image_spec_document_done(struct image_spec_document *d)
{
	if (!d)
		return;
	free(d->media_type);
	descriptors_free(d->index.manifests, d->index.n_manifests);
	descriptor_done(&d->manifest.config);
	descriptors_free(d->manifest.layers, d->manifest.n_layers);
	*d = (struct image_spec_document){};
}

void image_spec_config_done(struct image_spec_config *c)
{
	if (!c)
		return;
	free(c->os);
	free(c->architecture);
	free(c->variant);
	image_spec_strv_free(c->entrypoint);
	image_spec_strv_free(c->cmd);
	image_spec_strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	free(c->stop_signal);
	image_spec_strv_free(c->diff_ids);
	*c = (struct image_spec_config){};
}

/* Copy an optional string member: absent or null gives NULL, another type is an error. */
static int dup_opt_string(json_t *obj, const char *key, char **ret)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : -ENOMEM;
}

/* A JSON array of strings as a NULL-terminated vector; absent or null gives NULL. */
static int strv_from_json(json_t *arr, char ***ret, size_t *ret_n)
{
	char **v;
	size_t n, i;
	json_t *e;

	*ret = NULL;
	if (ret_n)
		*ret_n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return -EINVAL;
	n = json_array_size(arr);
	if (n > STRV_MAX)
		return -E2BIG;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	json_array_foreach(arr, i, e) {
		if (!json_is_string(e)) {
			image_spec_strv_free(v);
			return -EINVAL;
		}
		v[i] = strdup(json_string_value(e));
		if (!v[i]) {
			image_spec_strv_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
}

/* "type/subtype; params" -> "type/subtype" in buf, lower case; "" for NULL. */
static void media_type_base(const char *ct, char *buf, size_t size)
{
	size_t n = 0;

	if (ct) {
		while (*ct == ' ' || *ct == '\t')
			ct++;
		while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t' && n + 1 < size) {
			buf[n] = (char)(ct[n] >= 'A' && ct[n] <= 'Z' ? ct[n] - 'A' + 'a' : ct[n]);
			n++;
		}
	}
	buf[n] = '\0';
}

static bool is_index_type(const char *mt)
{
	return streq(mt, IMAGE_MT_OCI_INDEX) || streq(mt, IMAGE_MT_DOCKER_LIST);
}

static bool is_manifest_type(const char *mt)
{
	return streq(mt, IMAGE_MT_OCI_MANIFEST) || streq(mt, IMAGE_MT_DOCKER_MANIFEST);
}

static bool is_schema1_type(const char *mt)
{
	return startswith(mt, "application/vnd.docker.distribution.manifest.v1+");
}

static int descriptor_parse(json_t *j, const char *what, size_t pos, bool platform,
			    struct image_spec_descriptor *ret, char **ret_error)
{
	_cleanup_(descriptor_done) struct image_spec_descriptor d = {};
	json_t *size, *p;
	int r;

	if (!json_is_object(j))
		return fail_with(ret_error, "%s %zu is not an object", what, pos);
	r = dup_opt_string(j, "mediaType", &d.media_type);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !d.media_type)
		return fail_with(ret_error, "%s %zu has no mediaType string", what, pos);
	r = dup_opt_string(j, "digest", &d.digest);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !image_digest_valid(d.digest))
		return fail_with(ret_error, "%s %zu has no valid sha256 digest", what, pos);
	size = json_object_get(j, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return fail_with(ret_error, "%s %zu has no valid size", what, pos);
	d.size = json_integer_value(size);

	p = json_object_get(j, "platform");
	if (platform && p && !json_is_null(p)) {
		if (!json_is_object(p))
			return fail_with(ret_error, "%s %zu: platform is not an object", what, pos);
		if (dup_opt_string(p, "os", &d.os) < 0 ||
		    dup_opt_string(p, "architecture", &d.architecture) < 0 ||
		    dup_opt_string(p, "variant", &d.variant) < 0)
			return fail_with(ret_error, "%s %zu: bad platform", what, pos);
	}
	*ret = d;
	d = (struct image_spec_descriptor){};
	return 0;
}

static int index_parse(json_t *root, struct image_spec_index *ret, char **ret_error)
{
	json_t *arr = json_object_get(root, "manifests"), *e;
	struct image_spec_descriptor *v;
	size_t n, i;
	int r;

	if (!json_is_array(arr))
		return fail_with(ret_error, "image index without a manifests array");
	n = json_array_size(arr);
	if (n > IMAGE_SPEC_MAX_MANIFESTS)
		return fail_with(ret_error, "image index with %zu manifests (at most %d)", n,
				 IMAGE_SPEC_MAX_MANIFESTS);
	v = calloc(n ?: 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	json_array_foreach(arr, i, e) {
		r = descriptor_parse(e, "manifest", i, true, &v[i], ret_error);
		if (r < 0) {
			descriptors_free(v, i);
			return r;
		}
	}
	ret->manifests = v;
	ret->n_manifests = n;
	return 0;
}

static int manifest_parse(json_t *root, struct image_spec_manifest *ret, char **ret_error)
{
	json_t *arr = json_object_get(root, "layers"), *e;
	struct image_spec_descriptor *v;
	size_t n, i;
	int r;

	if (!json_is_object(json_object_get(root, "config")))
		return fail_with(ret_error, "image manifest without a config descriptor");
	if (!json_is_array(arr))
		return fail_with(ret_error, "image manifest without a layers array");
	n = json_array_size(arr);
	if (n > IMAGE_SPEC_MAX_LAYERS)
		return fail_with(ret_error, "image manifest with %zu layers (at most %d)", n,
				 IMAGE_SPEC_MAX_LAYERS);
	r = descriptor_parse(json_object_get(root, "config"), "config", 0, false, &ret->config,
			     ret_error);
	if (r < 0)
		return r;
	v = calloc(n ?: 1, sizeof(*v));
	if (!v) {
		descriptor_done(&ret->config);
		return -ENOMEM;
	}
	json_array_foreach(arr, i, e) {
		r = descriptor_parse(e, "layer", i, false, &v[i], ret_error);
		if (r < 0) {
			descriptors_free(v, i);
			descriptor_done(&ret->config);
			return r;
		}
	}
	ret->layers = v;
	ret->n_layers = n;
	return 0;
}

int image_spec_document_parse(const char *buf, size_t len, const char *content_type,
			      struct image_spec_document *ret, char **ret_error)
{
	_cleanup_(image_spec_document_done) struct image_spec_document d = {};
	json_auto_t *root = NULL;
	char header_mt[128], body_mt[128];
	json_error_t jerr;
	json_t *sv, *mt;
	int r = 0;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail_with(ret_error, "manifest is not valid JSON: %s (line %d)", jerr.text,
				 jerr.line);
	if (!json_is_object(root))
		return fail_with(ret_error, "manifest is not a JSON object");

	media_type_base(content_type, header_mt, sizeof(header_mt));
	mt = json_object_get(root, "mediaType");
	if (mt && !json_is_string(mt))
		return fail_with(ret_error, "manifest mediaType is not a string");
	media_type_base(json_string_value(mt), body_mt, sizeof(body_mt));

	sv = json_object_get(root, "schemaVersion");
	if (is_schema1_type(body_mt) || is_schema1_type(header_mt) ||
	    (json_is_integer(sv) && json_integer_value(sv) == 1)) {
		if (ret_error)
			*ret_error = strdup("Docker schema 1 manifests are not supported");
		return -EPROTONOSUPPORT;
	}
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return fail_with(ret_error, "manifest schemaVersion is not 2");

	/* The body's own type wins; a known header type that disagrees is a confusion. */
	if (*body_mt && *header_mt && !streq(body_mt, header_mt) &&
	    (is_index_type(header_mt) || is_manifest_type(header_mt)))
		return fail_with(ret_error, "manifest says it is '%s' but was served as '%s'",
				 body_mt, header_mt);
	if (is_index_type(body_mt) || (!*body_mt && is_index_type(header_mt)))
		d.kind = IMAGE_SPEC_KIND_INDEX;
	else if (is_manifest_type(body_mt) || (!*body_mt && is_manifest_type(header_mt)))
		d.kind = IMAGE_SPEC_KIND_MANIFEST;
	else if (*body_mt || (*header_mt && !streq(header_mt, "application/json"))) {
		if (ret_error && asprintf(ret_error, "'%s' is not an image manifest or index",
					  *body_mt ? body_mt : header_mt) < 0)
			*ret_error = NULL;
		return -EPROTONOSUPPORT;
	} else if (json_object_get(root, "manifests"))
		d.kind = IMAGE_SPEC_KIND_INDEX;
	else if (json_object_get(root, "layers"))
		d.kind = IMAGE_SPEC_KIND_MANIFEST;
	else
		return fail_with(ret_error, "manifest is neither an image index nor a manifest");

	d.media_type = strdup(*body_mt						    ? body_mt
			      : *header_mt && !streq(header_mt, "application/json") ? header_mt
			      : d.kind == IMAGE_SPEC_KIND_INDEX ? IMAGE_MT_OCI_INDEX
								: IMAGE_MT_OCI_MANIFEST);
	if (!d.media_type)
		return -ENOMEM;

	switch (d.kind) {
	case IMAGE_SPEC_KIND_INDEX:
		r = index_parse(root, &d.index, ret_error);
		break;
	case IMAGE_SPEC_KIND_MANIFEST:
		r = manifest_parse(root, &d.manifest, ret_error);
		break;
	}
	if (r < 0)
		return r;
	*ret = d;
	d = (struct image_spec_document){};
	return 0;
}

static bool variant_preferred(const char *v)
{
	return !v || !*v || streq(v, "v1");
}

int image_spec_index_select(const struct image_spec_index *idx, const char *os,
			    const char *architecture, size_t *ret_pos, char **ret_error)
{
	_cleanup_free_ char *have = NULL;
	size_t have_len = 0, found = SIZE_MAX;
	FILE *f;

	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct image_spec_descriptor *m = &idx->manifests[i];

		if (!streq_ptr(m->os, os) || !streq_ptr(m->architecture, architecture))
			continue;
		if (!is_manifest_type(m->media_type))
			continue;
		if (variant_preferred(m->variant)) {
			found = i;
			break;
		}
		if (found == SIZE_MAX)
			found = i;
	}
	if (found != SIZE_MAX) {
		*ret_pos = found;
		return 0;
	}
	if (!ret_error)
		return -ENOENT;

	f = open_memstream(&have, &have_len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < idx->n_manifests && i < 16; i++) {
		const struct image_spec_descriptor *m = &idx->manifests[i];

		fprintf(f, "%s%s/%s%s%s", i ? ", " : "", m->os ?: "?", m->architecture ?: "?",
			m->variant ? "/" : "", m->variant ?: "");
	}
	if (idx->n_manifests > 16)
		fputs(", ...", f);
	fclose(f);
	if (asprintf(ret_error, "the image index has no %s/%s image (it has: %s)", os, architecture,
		     idx->n_manifests ? have : "nothing") < 0)
		*ret_error = NULL;
	return -ENOENT;
}

int image_spec_config_parse(const char *buf, size_t len, struct image_spec_config *ret,
			    char **ret_error)
{
	_cleanup_(image_spec_config_done) struct image_spec_config c = {};
	json_auto_t *root = NULL;
	json_error_t jerr;
	json_t *cfg, *rootfs;
	int r;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail_with(ret_error, "image config is not valid JSON: %s (line %d)",
				 jerr.text, jerr.line);
	if (!json_is_object(root))
		return fail_with(ret_error, "image config is not a JSON object");

	if (dup_opt_string(root, "os", &c.os) < 0 ||
	    dup_opt_string(root, "architecture", &c.architecture) < 0 ||
	    dup_opt_string(root, "variant", &c.variant) < 0)
		return fail_with(ret_error,
				 "image config: os, architecture or variant is not a string");

	cfg = json_object_get(root, "config");
	if (cfg && !json_is_null(cfg)) {
		if (!json_is_object(cfg))
			return fail_with(ret_error, "image config: config is not an object");
		r = strv_from_json(json_object_get(cfg, "Entrypoint"), &c.entrypoint, NULL);
		if (r == 0)
			r = strv_from_json(json_object_get(cfg, "Cmd"), &c.cmd, NULL);
		if (r == 0)
			r = strv_from_json(json_object_get(cfg, "Env"), &c.env, NULL);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return fail_with(
				ret_error,
				"image config: Entrypoint, Cmd or Env is not an array of strings");
		if (dup_opt_string(cfg, "WorkingDir", &c.working_dir) < 0 ||
		    dup_opt_string(cfg, "User", &c.user) < 0 ||
		    dup_opt_string(cfg, "StopSignal", &c.stop_signal) < 0)
			return fail_with(
				ret_error,
				"image config: WorkingDir, User or StopSignal is not a string");
	}

	rootfs = json_object_get(root, "rootfs");
	if (!json_is_object(rootfs) || !json_is_string(json_object_get(rootfs, "type")) ||
	    !streq(json_string_value(json_object_get(rootfs, "type")), "layers"))
		return fail_with(ret_error, "image config: rootfs.type is not \"layers\"");
	r = strv_from_json(json_object_get(rootfs, "diff_ids"), &c.diff_ids, &c.n_diff_ids);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !c.diff_ids)
		return fail_with(ret_error,
				 "image config: rootfs.diff_ids is not an array of strings");
	for (size_t i = 0; i < c.n_diff_ids; i++)
		if (!image_digest_valid(c.diff_ids[i]))
			return fail_with(ret_error,
					 "image config: diff_id %zu is not a sha256 digest", i);
	*ret = c;
	c = (struct image_spec_config){};
	return 0;
}

bool image_spec_layer_type_supported(const char *mt)
{
	static const char *const types[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (streq(mt, types[i]))
			return true;
	return false;
}
