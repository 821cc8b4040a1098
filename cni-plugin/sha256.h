/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SHA-256 (FIPS 180-4), for task-eni's deterministic task ids. Small and dependency-free: the
 * plugin is exec'd for every CNI call and links nothing it does not need.
 */
#ifndef TP_SHA256_H
#define TP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32

/* A running hash; zero-initialise with sha256_init(). */
struct sha256_ctx {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
	size_t nbuf;
};

/* Start a new hash. */
void sha256_init(struct sha256_ctx *c);
/* Hash len more bytes. */
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Finish and write the digest; the context must be re-initialised before reuse. */
void sha256_final(struct sha256_ctx *c, uint8_t ret[SHA256_DIGEST_LEN]);

#endif
