/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Container images: pull from a registry (regclient.h) into a content-addressed store shared
 * by tasks, and load from it. docs/images.md describes the store, auth and what is verified.
 *
 *   STORE/blobs/sha256/HEX        indexes, manifests, configs (checked on every read)
 *   STORE/layers/sha256/HEX/      one unpacked layer per layer blob digest: an overlay lowerdir
 *   STORE/refs/HEX                reference -> digests (HEX = sha256 of the reference)
 *   STORE/locks/HEX, STORE/tmp/   one flock per layer; work in progress (HEX.blob, HEX.dir)
 *
 * A layer is made in tmp/ under its lock and renamed into layers/ when complete, so that two
 * pulls (two shims) of the same layer download it once and a crash leaves no half layer in
 * layers/ (the next pull of that layer removes the leftovers in tmp/).
 *
 * image_pull() blocks until done, failed, timed out or cancelled; it may run in a thread or a
 * child process of its own (unpacking forks a child: see layer.h). No global state.
 */
#ifndef TP_IMAGE_H
#define TP_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image-spec.h"

#define IMAGE_STORE_DEFAULT "/var/lib/taskvm/images"
#define IMAGE_OS	    "linux"
#define IMAGE_ARCHITECTURE  "amd64"

enum image_pull_policy {
	IMAGE_PULL_ALWAYS,     /* ask the registry what the tag is now (known layers stay cached) */
	IMAGE_PULL_IF_MISSING, /* use the store's copy of this reference if it has one */
};

enum image_pull_phase {
	IMAGE_PULL_PHASE_MANIFEST, /* resolving the reference to a manifest and config */
	IMAGE_PULL_PHASE_DOWNLOAD, /* downloading layer `layer` */
	IMAGE_PULL_PHASE_UNPACK,   /* unpacking layer `layer` */
	IMAGE_PULL_PHASE_DONE,
};

/* Where a pull is; given to the progress callback. */
struct image_progress {
	enum image_pull_phase phase;
	unsigned int layer;	   /* 0-based, bottom first */
	unsigned int layers_done;  /* in the store (downloaded now or before) */
	unsigned int layers_total; /* of the image */
	uint64_t bytes_done;	   /* layer bytes downloaded so far by this pull */
	uint64_t bytes_total;	   /* layer bytes this pull has to download */
};

struct image_pull_opts {
	const char *store; /* NULL: IMAGE_STORE_DEFAULT */
	/* Network namespace of every socket (names, registry, token server); 0 or -1: the
	 * caller's. */
	int netns_fd;
	uint32_t pull_mark; /* SO_MARK of registry and DNS sockets (TC_MARK(slot, TC_FLOW_PULL)) */
	uint32_t auth_mark; /* SO_MARK of token requests (TC_MARK(slot, TC_FLOW_AUTH)) */
	/* DNS servers ("198.18.0.1", "[fd00::53]:53"), NULL-terminated; NULL: getaddrinfo() (the
	 * host's resolv.conf, from within netns_fd). */
	const char *const *nameservers;
	/* Registries ("host" or "host:port", as in references) spoken to in plain HTTP. */
	const char *const *insecure_registries;
	const char *username; /* for the image's registry; NULL: anonymous */
	const char *password;
	const char *ca_file;		 /* PEM CA bundle for HTTPS; NULL: the system's */
	unsigned int connect_timeout_ms; /* per connection; 0: 10 s */
	unsigned int stall_timeout_ms; /* a transfer without a byte for this long fails; 0: 30 s */
	unsigned int timeout_ms;       /* the whole pull; 0: no limit */
	int cancel_fd;		       /* cancel when readable; 0 or -1: none */
	enum image_pull_policy policy;
	/* Nothing unpacked, so nothing forked (for a caller in a thread): a layer the store does
	 * not have fails the pull with -ENOMEDIUM instead of being downloaded. */
	bool store_layers_only;
	/* Called on phase changes and about 10 times a second while downloading; non-zero
	 * cancels the pull (-ECANCELED). */
	int (*progress)(const struct image_progress *p, void *userdata);
	void *userdata;
};

/* A pulled or loaded image. */
struct image {
	char *reference;     /* canonical: DOMAIN/PATH[:TAG][@DIGEST] */
	char *digest;	     /* the image manifest's digest (the metadata endpoint's ImageID) */
	char *index_digest;  /* the index or manifest list it was chosen from, or NULL */
	char *config_digest; /* the config blob's digest */
	struct image_spec_config config;
	char **layers; /* the layer directories, bottom first, NULL-terminated */
	size_t n_layers;
	/* What this call did. */
	unsigned int layers_downloaded;
	unsigned int layers_cached; /* found in the store (also when another pull made them) */
	uint64_t bytes_downloaded;  /* layer blob bytes */
	bool from_store;	    /* no registry was asked */
};

/*
 * Pull reference into the store. On failure -errno (as in regclient.h, plus -EINVAL for a bad
 * reference or a refused layer, -EPROTONOSUPPORT for what is not a linux/amd64 container image
 * and -ENOMEDIUM for a layer to download under store_layers_only) and *ret_error says what went
 * wrong.
 */
int image_pull(const char *reference, const struct image_pull_opts *opts, struct image **ret,
	       char **ret_error);
/*
 * Whether the store has a record of reference (a name pulled before, or the manifest a digest
 * names), without reading or verifying it: what image_load() would look for first.
 */
bool image_in_store(const char *store, const char *reference);
/* The store's copy of reference, without any network: -ENOENT if it has none. */
int image_load(const char *store, const char *reference, struct image **ret, char **ret_error);
/*
 * OpenSSL's first digest in a process loads its configuration and its default provider (about
 * 1 ms): done once here, ahead of the loads and pulls that verify digests. Optional.
 */
void image_digest_prepare(void);
/* Free an image; returns NULL. */
struct image *image_free(struct image *img);
/* The overlayfs lowerdir option for the image: its layers top first, ':'-separated, with
 * ':', ',' and '\' in paths escaped. */
int image_lowerdir(const struct image *img, char **ret);

#endif
