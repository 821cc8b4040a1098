/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Image references in Docker's grammar (github.com/distribution/reference):
 *
 *   [DOMAIN[:PORT]/]PATH[:TAG][@sha256:HEX]
 *
 * The first component is a domain when it contains '.' or ':', is "localhost" or has an upper
 * case letter; otherwise the domain is docker.io, where a one-component path gets "library/".
 * Without a tag or digest the tag is "latest". Only sha256 digests are accepted. Pure: no I/O.
 */
#ifndef TP_IMAGE_REF_H
#define TP_IMAGE_REF_H

#include <stdbool.h>

#define IMAGE_REF_DEFAULT_DOMAIN "docker.io"
#define IMAGE_REF_DOCKER_HUB_API "registry-1.docker.io"
#define IMAGE_REF_NAME_MAX	 255 /* domain and path together */
#define IMAGE_REF_TAG_MAX	 128

struct image_ref {
	char *domain; /* "docker.io", "registry.vpc.test:5000", "[fd00::1]:5000" */
	char *path;   /* "library/busybox", "team/app" */
	char *tag;    /* "latest", or NULL when only a digest was given */
	char *digest; /* "sha256:<64 lower-case hex>", or NULL */
};

/* Parse and normalise s; on failure -EINVAL and *ret_error (if not NULL) says why. */
int image_ref_parse(const char *s, struct image_ref *ret, char **ret_error);
/* Free the members (the struct itself is the caller's). */
void image_ref_done(struct image_ref *r);
/* The canonical form, DOMAIN/PATH[:TAG][@DIGEST]; NULL with errno set on allocation failure. */
char *image_ref_format(const struct image_ref *r);
/* The host[:port] that serves the registry API (docker.io is registry-1.docker.io). */
const char *image_ref_api_host(const struct image_ref *r);
/* A digest "sha256:" followed by exactly 64 lower-case hex digits? */
bool image_digest_valid(const char *s);

#endif
