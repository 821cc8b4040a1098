// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what the image puller reads from outside: image references (task
 * definitions), manifests and indexes and image configs (registries), WWW-Authenticate
 * challenges, token server answers and registry error bodies (registries and token servers),
 * and DNS answers (nameservers).
 *
 * Input: byte 0 picks the reader (mod 9), the rest is its input. For DNS answers the question
 * is fixed (id 0x1234, "registry.vpc.test"), so that the seeds answer it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "image-ref.h"
#include "image-spec.h"
#include "regclient.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string (not strndup(): see fuzz-tmds.c). */
static char *cstring(const void *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void fuzz_ref(const char *s)
{
	struct image_ref r = {}, again = {};
	char *err = NULL, *f, *f2;

	if (image_ref_parse(s, &r, &err) < 0) {
		if (!err || r.domain)
			abort(); /* a rejection says why and leaves nothing */
		free(err);
		return;
	}
	if (!r.domain || !r.path || (!r.tag && !r.digest) ||
	    (r.digest && !image_digest_valid(r.digest)))
		abort();
	f = image_ref_format(&r);
	if (!f)
		abort();
	/* The canonical form is a fixed point. */
	if (image_ref_parse(f, &again, NULL) < 0)
		abort();
	f2 = image_ref_format(&again);
	if (!f2 || strcmp(f, f2) || !image_ref_api_host(&again))
		abort();
	free(f);
	free(f2);
	image_ref_done(&r);
	image_ref_done(&again);
}

static void fuzz_document(const char *s, size_t len, const char *content_type)
{
	struct image_spec_document d = {};
	char *err = NULL;
	size_t pos;

	if (image_spec_document_parse(s, len, content_type, &d, &err) < 0) {
		if (!err)
			abort();
		free(err);
		return;
	}
	if (!d.media_type)
		abort();
	switch (d.kind) {
	case IMAGE_SPEC_KIND_INDEX:
		for (size_t i = 0; i < d.index.n_manifests; i++)
			if (!image_digest_valid(d.index.manifests[i].digest) ||
			    d.index.manifests[i].size < 0)
				abort();
		if (image_spec_index_select(&d.index, "linux", "amd64", &pos, &err) == 0) {
			if (pos >= d.index.n_manifests)
				abort();
		} else {
			if (!err)
				abort();
			free(err);
		}
		break;
	case IMAGE_SPEC_KIND_MANIFEST:
		if (!image_digest_valid(d.manifest.config.digest))
			abort();
		for (size_t i = 0; i < d.manifest.n_layers; i++)
			(void)image_spec_layer_type_supported(d.manifest.layers[i].media_type);
		break;
	}
	image_spec_document_done(&d);
}

static void fuzz_config(const char *s, size_t len)
{
	struct image_spec_config c = {};
	char *err = NULL;

	if (image_spec_config_parse(s, len, &c, &err) < 0) {
		if (!err)
			abort();
		free(err);
		return;
	}
	if (!c.diff_ids)
		abort();
	for (size_t i = 0; i < c.n_diff_ids; i++)
		if (!image_digest_valid(c.diff_ids[i]))
			abort();
	image_spec_config_done(&c);
}

static void fuzz_challenge(const char *s)
{
	struct regclient_challenge ch = {};

	if (regclient_challenge_parse(s, &ch) < 0) {
		if (ch.realm || ch.service || ch.scope)
			abort();
		return;
	}
	if (ch.scheme == REGCLIENT_AUTH_BEARER && (!ch.realm || !*ch.realm))
		abort();
	regclient_challenge_done(&ch);
}

static void fuzz_token(const char *s, size_t len)
{
	char *t = NULL, *err = NULL;

	if (regclient_token_parse(s, len, &t, &err) < 0) {
		if (!err)
			abort();
		free(err);
		return;
	}
	/* What goes into an Authorization header: printable, no CR/LF. */
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			abort();
	free(t);
}

static void fuzz_errors(const char *s, size_t len)
{
	char *t = NULL;

	if (regclient_errors_parse(s, len, &t) == 0) {
		for (const char *p = t; *p; p++)
			if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
				abort(); /* goes into messages as it is */
		free(t);
	}
}

static void fuzz_dns(const uint8_t *msg, size_t len, uint16_t qtype)
{
	struct dns_result r = {};
	int rc = dns_answer_parse(msg, len, 0x1234, "registry.vpc.test", qtype, &r);

	if (rc < 0 && rc != -EBADMSG)
		abort();
	if (r.n_addrs > DNS_MAX_ADDRS || (rc != 0 && r.n_addrs))
		abort();
	for (size_t i = 0; i < r.n_addrs; i++)
		if (r.addrs[i].ss_family != (qtype == 1 ? AF_INET : AF_INET6))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int which;
	char *s;

	if (size < 1 || size > 65536)
		return 0;
	which = data[0] % 9;
	data++;
	size--;
	if (which == 7 || which == 8) {
		fuzz_dns(data, size, which == 7 ? 1 : 28);
		return 0;
	}
	s = cstring(data, size);
	switch (which) {
	case 0:
		fuzz_ref(s);
		break;
	case 1:
		fuzz_document(s, size, NULL);
		break;
	case 2:
		fuzz_document(s, size, IMAGE_MT_OCI_INDEX);
		break;
	case 3:
		fuzz_config(s, size);
		break;
	case 4:
		fuzz_challenge(s);
		break;
	case 5:
		fuzz_token(s, size);
		break;
	case 6:
		fuzz_errors(s, size);
		break;
	}
	free(s);
	return 0;
}
