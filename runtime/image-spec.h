/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The JSON documents of an image, as a registry serves them: image indexes (OCI image index,
 * Docker manifest list), image manifests (OCI, Docker schema 2) and image configs (OCI, Docker).
 * Parsing and validation only; no I/O. Schema 1 manifests and other artifacts are refused.
 */
#ifndef TP_IMAGE_SPEC_H
#define TP_IMAGE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_MT_OCI_INDEX	 "application/vnd.oci.image.index.v1+json"
#define IMAGE_MT_OCI_MANIFEST	 "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MT_OCI_CONFIG	 "application/vnd.oci.image.config.v1+json"
#define IMAGE_MT_DOCKER_LIST	 "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMAGE_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMAGE_MT_DOCKER_CONFIG	 "application/vnd.docker.container.image.v1+json"

/* What a registry may send for a manifest request, for the Accept header. */
#define IMAGE_MANIFEST_ACCEPT                                                                      \
	IMAGE_MT_OCI_INDEX ", " IMAGE_MT_DOCKER_LIST ", " IMAGE_MT_OCI_MANIFEST                    \
			   ", " IMAGE_MT_DOCKER_MANIFEST

#define IMAGE_SPEC_MAX_LAYERS	 512
#define IMAGE_SPEC_MAX_MANIFESTS 1024

enum image_spec_kind {
	IMAGE_SPEC_KIND_INDEX,	  /* an OCI image index or a Docker manifest list */
	IMAGE_SPEC_KIND_MANIFEST, /* an OCI or Docker schema 2 image manifest */
};

/* A content descriptor; the platform members are set for index entries only (else NULL). */
struct image_spec_descriptor {
	char *media_type;
	char *digest; /* checked by image_digest_valid() */
	int64_t size; /* >= 0 */
	char *os;
	char *architecture;
	char *variant;
};

struct image_spec_index {
	struct image_spec_descriptor *manifests;
	size_t n_manifests;
};

struct image_spec_manifest {
	struct image_spec_descriptor config;
	struct image_spec_descriptor *layers; /* bottom first */
	size_t n_layers;
};

/* A parsed index or manifest. */
struct image_spec_document {
	enum image_spec_kind kind;
	char *media_type;
	struct image_spec_index index;	     /* kind INDEX */
	struct image_spec_manifest manifest; /* kind MANIFEST */
};

/* An image config: what running it needs. String vectors are NULL-terminated, NULL if absent. */
struct image_spec_config {
	char *os;
	char *architecture;
	char *variant;
	char **entrypoint;
	char **cmd;
	char **env; /* "NAME=value" */
	char *working_dir;
	char *user;
	char *stop_signal;
	char **diff_ids; /* rootfs.diff_ids: one per layer, bottom first */
	size_t n_diff_ids;
};

/*
 * Parse a manifest response. content_type is the response's Content-Type (may be NULL); the
 * document's own mediaType, when present, must agree with it. On failure -EINVAL (-EPROTONOSUPPORT
 * for schema 1 and unknown types) and *ret_error says why.
 */
int image_spec_document_parse(const char *buf, size_t len, const char *content_type,
			      struct image_spec_document *ret, char **ret_error);
/* Free the members. */
void image_spec_document_done(struct image_spec_document *d);
/*
 * The index entry for os/architecture (variant ignored for amd64; preferred empty or "v1"
 * otherwise): its position in *ret_pos. -ENOENT and a list of what there is in *ret_error.
 */
int image_spec_index_select(const struct image_spec_index *idx, const char *os,
			    const char *architecture, size_t *ret_pos, char **ret_error);
/* Parse an image config blob. */
int image_spec_config_parse(const char *buf, size_t len, struct image_spec_config *ret,
			    char **ret_error);
/* Free the members. */
void image_spec_config_done(struct image_spec_config *c);
/* Is media_type a layer we can unpack (tar, tar+gzip, tar+zstd, Docker's rootfs diffs)? */
bool image_spec_layer_type_supported(const char *media_type);
/* Free a NULL-terminated string vector; returns NULL. */
char **image_spec_strv_free(char **v);

#endif
