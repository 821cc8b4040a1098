// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "image-ref.h"
#include "image.h"
#include "layer.h"
#include "regclient.h"
#include "util.h"

#define MANIFEST_MAX	     (4 * 1024 * 1024)
#define CONFIG_MAX	     (8 * 1024 * 1024)
#define REF_FILE_MAX	     (64 * 1024)
#define LOCK_POLL_MS	     50
#define PROGRESS_INTERVAL_US 100000

/* One pull in progress. */
struct pull {
	const struct image_pull_opts *o;
	const char *store;
	uint64_t deadline;
	int cancel_fd;
	struct regclient *rc;
	struct image_progress prog;
	uint64_t last_progress;
};

/* --- small file helpers --------------------------------------------------------------------- */

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int sha256_hex(const void *buf, size_t len, char ret[7 + 64 + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(buf, len, d, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -EIO;
	memcpy(ret, "sha256:", 7);
	for (unsigned int i = 0; i < n; i++)
		snprintf(ret + 7 + 2 * i, 3, "%02x", d[i]);
	return 0;
}

void image_digest_prepare(void)
{
	char d[7 + 64 + 1];

	/* the same call as every digest after it: the same lookup made and kept */
	(void)sha256_hex("", 0, d);
}

static int store_path(char **ret, const char *store, const char *dir, const char *digest)
{
	/* digest is "sha256:HEX", checked by the caller */
	if (asprintf(ret, "%s/%s/%s", store, dir, digest + 7) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int store_init(const char *store)
{
	static const char *const dirs[] = { "blobs/sha256", "layers/sha256", "refs", "locks",
					    "tmp" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = NULL;
		int r;

		if (asprintf(&p, "%s/%s", store, dirs[i]) < 0)
			return -ENOMEM;
		r = mkdir_p(p, 0700);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A small blob of the store, checked against its digest. -ENOENT if absent. */
static int blob_read(const char *store, const char *digest, size_t max, char **ret_buf,
		     size_t *ret_len, char **ret_error)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	char got[7 + 64 + 1];
	size_t len;
	int r;

	r = store_path(&path, store, "blobs/sha256", digest);
	if (r < 0)
		return r;
	r = read_file(path, max, &buf, &len);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return fail_errno(ret_error, r, "cannot read %s: %s", path, strerror(-r));
	r = sha256_hex(buf, len, got);
	if (r < 0)
		return r;
	if (!streq(got, digest))
		return fail_errno(ret_error, -EBADMSG,
				  "the store's copy of %s is corrupt (it hashes to %s): remove %s",
				  digest, got, path);
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* Write a blob (already verified) atomically; an existing one is left alone. */
static int blob_write(const char *store, const char *digest, const char *buf, size_t len)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = store_path(&path, store, "blobs/sha256", digest);
	if (r < 0)
		return r;
	if (access(path, F_OK) == 0)
		return 0;
	return write_file_atomic(path, buf, len, 0600);
}

/* --- references ---------------------------------------------------------------------------- */

static int ref_path(const char *store, const char *canonical, char **ret)
{
	char h[7 + 64 + 1];
	int r;

	r = sha256_hex(canonical, strlen(canonical), h);
	if (r < 0)
		return r;
	return store_path(ret, store, "refs", h);
}

static int ref_write(const char *store, const struct image *img)
{
	_cleanup_free_ char *path = NULL, *text = NULL, *old = NULL;
	json_auto_t *j = NULL;
	int r;

	r = ref_path(store, img->reference, &path);
	if (r < 0)
		return r;
	j = json_pack("{s:s, s:s, s:s*}", "reference", img->reference, "digest", img->digest,
		      "index_digest", img->index_digest);
	if (!j)
		return -ENOMEM;
	text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	/* the same already (a pull of a tag that has not moved): left alone */
	if (read_file(path, REF_FILE_MAX, &old, NULL) == 0 && streq(old, text))
		return 0;
	return write_file_atomic(path, text, strlen(text), 0600);
}

/* The manifest digest the store has for a canonical reference. -ENOENT if none. */
static int ref_read(const char *store, const char *canonical, char **ret_digest,
		    char **ret_index_digest)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	json_auto_t *j = NULL;
	const char *ref, *digest, *index = NULL;
	size_t len;
	int r;

	r = ref_path(store, canonical, &path);
	if (r < 0)
		return r;
	r = read_file(path, REF_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	j = json_loadb(buf, len, 0, NULL);
	if (!j ||
	    json_unpack(j, "{s:s, s:s, s?s}", "reference", &ref, "digest", &digest, "index_digest",
			&index) < 0 ||
	    !streq(ref, canonical) || !image_digest_valid(digest) ||
	    (index && !image_digest_valid(index)))
		return -EBADMSG;
	*ret_digest = strdup(digest);
	*ret_index_digest = index ? strdup(index) : NULL;
	if (!*ret_digest || (index && !*ret_index_digest)) {
		free(*ret_digest);
		free(*ret_index_digest);
		return -ENOMEM;
	}
	return 0;
}

/* --- images -------------------------------------------------------------------------------- */

struct image *image_free(struct image *img)
{
	if (!img)
		return NULL;
	free(img->reference);
	free(img->digest);
	free(img->index_digest);
	free(img->config_digest);
	image_spec_config_done(&img->config);
	image_spec_strv_free(img->layers);
	free(img);
	return NULL;
}

static void image_freep(struct image **img)
{
	image_free(*img);
}

/* An image with its names; index_digest may be NULL. NULL with errno set on failure. */
static struct image *image_new(const char *reference, const char *digest, const char *index_digest)
{
	struct image *img = calloc(1, sizeof(*img));

	if (!img)
		return NULL;
	img->reference = strdup(reference);
	img->digest = strdup(digest);
	img->index_digest = index_digest ? strdup(index_digest) : NULL;
	if (!img->reference || !img->digest || (index_digest && !img->index_digest)) {
		errno = ENOMEM;
		return image_free(img);
	}
	return img;
}

int image_lowerdir(const struct image *img, char **ret)
{
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	FILE *f;

	if (img->n_layers == 0)
		return -EINVAL;
	f = open_memstream(&s, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = img->n_layers; i-- > 0;) {
		if (i != img->n_layers - 1)
			fputc(':', f);
		for (const char *p = img->layers[i]; *p; p++) {
			if (*p == ':' || *p == ',' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

/* Check a manifest and its config; fill img's config and layer paths (not yet checked). */
static int image_fill(struct image *img, const char *store, const struct image_spec_manifest *m,
		      const char *config_buf, size_t config_len, char **ret_error)
{
	int r;

	r = image_spec_config_parse(config_buf, config_len, &img->config, ret_error);
	if (r < 0)
		return r;
	if (!streq_ptr(img->config.os, IMAGE_OS) ||
	    !streq_ptr(img->config.architecture, IMAGE_ARCHITECTURE))
		return fail_errno(ret_error, -EPROTONOSUPPORT, "the image is for %s/%s, not %s/%s",
				  strna(img->config.os), strna(img->config.architecture), IMAGE_OS,
				  IMAGE_ARCHITECTURE);
	if (img->config.n_diff_ids != m->n_layers)
		return fail_errno(ret_error, -EINVAL,
				  "the manifest has %zu layers but the config %zu diff_ids",
				  m->n_layers, img->config.n_diff_ids);
	img->layers = calloc(m->n_layers + 1, sizeof(char *));
	if (!img->layers)
		return -ENOMEM;
	img->n_layers = m->n_layers;
	for (size_t i = 0; i < m->n_layers; i++) {
		if (!image_spec_layer_type_supported(m->layers[i].media_type))
			return fail_errno(
				ret_error, -EPROTONOSUPPORT,
				"layer %zu has media type '%s', not a container image layer", i + 1,
				m->layers[i].media_type);
		r = store_path(&img->layers[i], store, "layers/sha256", m->layers[i].digest);
		if (r < 0)
			return r;
	}
	img->config_digest = strdup(m->config.digest);
	return img->config_digest ? 0 : -ENOMEM;
}

static int config_type_check(const struct image_spec_manifest *m, char **ret_error)
{
	if (!streq(m->config.media_type, IMAGE_MT_OCI_CONFIG) &&
	    !streq(m->config.media_type, IMAGE_MT_DOCKER_CONFIG))
		return fail_errno(ret_error, -EPROTONOSUPPORT,
				  "not a container image: its config is '%s'",
				  m->config.media_type);
	if (m->config.size > CONFIG_MAX)
		return fail_errno(ret_error, -EFBIG,
				  "the image config is %" PRId64 " bytes (at most %d)",
				  m->config.size, CONFIG_MAX);
	return 0;
}

/* Everything from the store: manifest digest -> image. -ENOENT if a piece is missing. */
static int image_from_store(const char *store, const char *canonical, const char *digest,
			    const char *index_digest, struct image **ret, char **ret_error)
{
	_cleanup_(image_spec_document_done) struct image_spec_document doc = {};
	_cleanup_(image_freep) struct image *img = NULL;
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	size_t mlen, clen;
	int r;

	r = blob_read(store, digest, MANIFEST_MAX, &mbuf, &mlen, ret_error);
	if (r < 0)
		return r;
	r = image_spec_document_parse(mbuf, mlen, NULL, &doc, ret_error);
	if (r < 0)
		return r;
	if (doc.kind == IMAGE_SPEC_KIND_INDEX) {
		size_t pos;

		/* A digest reference to an index: its linux/amd64 image, one level down only. */
		if (index_digest)
			return fail_errno(ret_error, -EPROTONOSUPPORT,
					  "the index %s names another index for %s/%s",
					  index_digest, IMAGE_OS, IMAGE_ARCHITECTURE);
		r = image_spec_index_select(&doc.index, IMAGE_OS, IMAGE_ARCHITECTURE, &pos,
					    ret_error);
		if (r < 0)
			return r == -ENOENT ? -EPROTONOSUPPORT : r;
		return image_from_store(store, canonical, doc.index.manifests[pos].digest, digest,
					ret, ret_error);
	}
	r = config_type_check(&doc.manifest, ret_error);
	if (r < 0)
		return r;
	r = blob_read(store, doc.manifest.config.digest, CONFIG_MAX, &cbuf, &clen, ret_error);
	if (r < 0)
		return r;

	img = image_new(canonical, digest, index_digest);
	if (!img)
		return -ENOMEM;
	r = image_fill(img, store, &doc.manifest, cbuf, clen, ret_error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < img->n_layers; i++)
		if (!is_dir(img->layers[i]))
			return -ENOENT;
	img->layers_cached = (unsigned int)img->n_layers;
	img->from_store = true;
	*ret = TAKE_PTR(img);
	return 0;
}

bool image_in_store(const char *store, const char *reference)
{
	_cleanup_(image_ref_done) struct image_ref ref = {};
	_cleanup_free_ char *canonical = NULL, *path = NULL;

	store = store ?: IMAGE_STORE_DEFAULT;
	if (image_ref_parse(reference, &ref, NULL) < 0)
		return false;
	canonical = image_ref_format(&ref);
	if (!canonical)
		return false;
	if (ref_path(store, canonical, &path) == 0 && access(path, F_OK) == 0)
		return true;
	free(path);
	path = NULL;
	return ref.digest && store_path(&path, store, "blobs/sha256", ref.digest) == 0 &&
	       access(path, F_OK) == 0;
}

int image_load(const char *store, const char *reference, struct image **ret, char **ret_error)
{
	_cleanup_(image_ref_done) struct image_ref ref = {};
	_cleanup_free_ char *canonical = NULL, *digest = NULL, *index_digest = NULL;
	int r;

	store = store ?: IMAGE_STORE_DEFAULT;
	r = image_ref_parse(reference, &ref, ret_error);
	if (r < 0)
		return r;
	canonical = image_ref_format(&ref);
	if (!canonical)
		return -ENOMEM;
	r = ref_read(store, canonical, &digest, &index_digest);
	if (r == -ENOENT && ref.digest) {
		/* A digest reference names its manifest (or index) itself. */
		digest = strdup(ref.digest);
		if (!digest)
			return -ENOMEM;
		r = 0;
	}
	if (r == -ENOENT)
		return fail_errno(ret_error, r, "'%s' is not in the store %s", canonical, store);
	if (r < 0)
		return fail_errno(ret_error, r, "the store's record of '%s' is unreadable: %s",
				  canonical, strerror(-r));
	r = image_from_store(store, canonical, digest, index_digest, ret, ret_error);
	if (r == -ENOENT)
		return fail_errno(ret_error, r, "'%s' is not complete in the store %s", canonical,
				  store);
	return r;
}

/* --- pulling ------------------------------------------------------------------------------- */

static int report_progress(struct pull *p, bool force)
{
	uint64_t now;

	if (!p->o->progress)
		return 0;
	now = now_usec();
	if (!force && now - p->last_progress < PROGRESS_INTERVAL_US)
		return 0;
	p->last_progress = now;
	if (p->o->progress(&p->prog, p->o->userdata))
		return -ECANCELED;
	return 0;
}

static int on_blob_bytes(void *userdata, uint64_t bytes)
{
	struct pull *p = userdata;

	p->prog.bytes_done += bytes;
	return report_progress(p, false) < 0;
}

/* Wait for a layer's lock, bounded by the deadline and cancellation. */
static int layer_lock(struct pull *p, const char *hex, int *ret_fd, char **ret_error)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;

	if (asprintf(&path, "%s/locks/%s", p->store, hex) < 0)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail_errno(ret_error, -errno, "cannot open %s: %s", path, strerror(errno));
	/* flock() cannot be waited for with poll(): try again every LOCK_POLL_MS meanwhile. */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		struct pollfd pfd = { .fd = p->cancel_fd, .events = POLLIN };

		if (errno != EWOULDBLOCK && errno != EINTR)
			return fail_errno(ret_error, -errno, "cannot lock %s: %s", path,
					  strerror(errno));
		if (p->deadline && now_usec() >= p->deadline)
			return fail_errno(ret_error, -ETIMEDOUT,
					  "out of time waiting for another pull of the same layer");
		if (poll(&pfd, p->cancel_fd >= 0 ? 1 : 0, LOCK_POLL_MS) > 0)
			return fail_errno(ret_error, -ECANCELED, "cancelled");
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Download, check and unpack layer i (under its lock) unless the store has it. */
static int layer_fetch(struct pull *p, struct image *img, const struct image_spec_descriptor *d,
		       unsigned int i, char **ret_error)
{
	_cleanup_free_ char *blob = NULL, *tmpdir = NULL, *err = NULL;
	_cleanup_close_ int lock = -1, fd = -1;
	const char *hex = d->digest + 7;
	struct layer_unpack_opts uo = { .deadline_usec = p->deadline, .cancel_fd = p->cancel_fd };
	struct layer_stats st;
	int r;

	if (is_dir(img->layers[i])) {
		img->layers_cached++;
		return 0;
	}
	if (p->o->store_layers_only)
		return fail_errno(ret_error, -ENOMEDIUM, "layer %u of %zu (%s) is not in the store",
				  i + 1, img->n_layers, d->digest);
	r = layer_lock(p, hex, &lock, ret_error);
	if (r < 0)
		return r;
	if (is_dir(img->layers[i])) {
		/* Another pull made it while this one waited. */
		img->layers_cached++;
		p->prog.bytes_total -= MIN(p->prog.bytes_total, (uint64_t)d->size);
		return 0;
	}

	if (asprintf(&blob, "%s/tmp/%s.blob", p->store, hex) < 0 ||
	    asprintf(&tmpdir, "%s/tmp/%s.dir", p->store, hex) < 0)
		return -ENOMEM;
	/* Leftovers of a pull that crashed while it held this lock. */
	r = rm_rf(blob);
	if (r == 0)
		r = rm_rf(tmpdir);
	if (r < 0)
		return fail_errno(ret_error, r,
				  "cannot remove the leftovers of layer %s in %s/tmp: %s",
				  d->digest, p->store, strerror(-r));

	p->prog.phase = IMAGE_PULL_PHASE_DOWNLOAD;
	p->prog.layer = i;
	r = report_progress(p, true);
	if (r < 0)
		return fail_errno(ret_error, r, "cancelled");
	fd = open(blob, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail_errno(ret_error, -errno, "cannot create %s: %s", blob, strerror(errno));
	r = regclient_get_blob_fd(p->rc, d->digest, d->size, fd, ret_error);
	if (r < 0)
		goto out_unlink;
	img->bytes_downloaded += (uint64_t)d->size;

	p->prog.phase = IMAGE_PULL_PHASE_UNPACK;
	r = report_progress(p, true);
	if (r < 0) {
		fail_errno(ret_error, r, "cancelled");
		goto out_unlink;
	}
	if (lseek(fd, 0, SEEK_SET) < 0 || mkdir(tmpdir, 0755) < 0) {
		r = fail_errno(ret_error, -errno, "cannot unpack layer %s in %s/tmp: %s", d->digest,
			       p->store, strerror(errno));
		goto out_unlink;
	}
	r = layer_unpack(fd, tmpdir, &uo, &st, &err);
	if (r < 0) {
		fail_errno(ret_error, r, "layer %u of %zu (%s): %s", i + 1, img->n_layers,
			   d->digest, err ?: strerror(-r));
		goto out_rmdir;
	}
	if (rename(tmpdir, img->layers[i]) < 0) {
		r = fail_errno(ret_error, -errno, "cannot move layer %s into the store: %s",
			       d->digest, strerror(errno));
		goto out_rmdir;
	}
	img->layers_downloaded++;
	r = 0;
	goto out_unlink;

out_rmdir:
	(void)rm_rf(tmpdir);
out_unlink:
	(void)unlink(blob);
	return r;
}

/* A manifest (or index) by digest: from the store if it has it, else from the registry. */
static int manifest_by_digest(struct pull *p, const char *digest, struct regclient_manifest *ret,
			      char **ret_error)
{
	int r;

	*ret = (struct regclient_manifest){};
	r = blob_read(p->store, digest, MANIFEST_MAX, &ret->body, &ret->len, ret_error);
	if (r != -ENOENT) {
		if (r < 0)
			return r;
		ret->digest = strdup(digest);
		return ret->digest ? 0 : -ENOMEM;
	}
	return regclient_get_manifest(p->rc, digest, MANIFEST_MAX, ret, ret_error);
}

static bool registry_insecure(const struct image_pull_opts *o, const struct image_ref *ref)
{
	for (size_t i = 0; o->insecure_registries && o->insecure_registries[i]; i++)
		if (streq(o->insecure_registries[i], ref->domain) ||
		    streq(o->insecure_registries[i], image_ref_api_host(ref)))
			return true;
	return false;
}

static int pull_image(struct pull *p, const struct image_ref *ref, const char *canonical,
		      struct image **ret, char **ret_error)
{
	_cleanup_(regclient_manifest_done) struct regclient_manifest top = {}, man = {};
	_cleanup_(image_spec_document_done) struct image_spec_document doc = {}, mdoc = {};
	_cleanup_(image_freep) struct image *img = NULL;
	_cleanup_free_ char *cbuf = NULL;
	const struct image_spec_manifest *m;
	size_t clen;
	int r;

	p->prog.phase = IMAGE_PULL_PHASE_MANIFEST;
	r = report_progress(p, true);
	if (r < 0)
		return fail_errno(ret_error, r, "cancelled");

	if (ref->digest)
		r = manifest_by_digest(p, ref->digest, &top, ret_error);
	else
		r = regclient_get_manifest(p->rc, ref->tag, MANIFEST_MAX, &top, ret_error);
	if (r < 0)
		return r;
	r = image_spec_document_parse(top.body, top.len, top.content_type, &doc, ret_error);
	if (r < 0)
		return r;

	if (doc.kind == IMAGE_SPEC_KIND_INDEX) {
		size_t pos;

		r = image_spec_index_select(&doc.index, IMAGE_OS, IMAGE_ARCHITECTURE, &pos,
					    ret_error);
		if (r < 0)
			return r == -ENOENT ? -EPROTONOSUPPORT : r;
		r = manifest_by_digest(p, doc.index.manifests[pos].digest, &man, ret_error);
		if (r < 0)
			return r;
		r = image_spec_document_parse(man.body, man.len, man.content_type, &mdoc,
					      ret_error);
		if (r < 0)
			return r;
		if (mdoc.kind != IMAGE_SPEC_KIND_MANIFEST)
			return fail_errno(ret_error, -EPROTONOSUPPORT,
					  "the index's %s/%s entry is not an image manifest",
					  IMAGE_OS, IMAGE_ARCHITECTURE);
		img = image_new(canonical, man.digest, top.digest);
		m = &mdoc.manifest;
	} else {
		img = image_new(canonical, top.digest, NULL);
		m = &doc.manifest;
	}
	if (!img)
		return -ENOMEM;

	r = config_type_check(m, ret_error);
	if (r < 0)
		return r;
	r = blob_read(p->store, m->config.digest, CONFIG_MAX, &cbuf, &clen, ret_error);
	if (r == -ENOENT) {
		r = regclient_get_blob_mem(p->rc, m->config.digest, m->config.size, &cbuf,
					   ret_error);
		clen = (size_t)m->config.size;
		if (r == 0)
			r = blob_write(p->store, m->config.digest, cbuf, clen);
	}
	if (r < 0)
		return r;
	r = image_fill(img, p->store, m, cbuf, clen, ret_error);
	if (r < 0)
		return r;

	p->prog.layers_total = (unsigned int)img->n_layers;
	for (size_t i = 0; i < img->n_layers; i++)
		if (!is_dir(img->layers[i]))
			p->prog.bytes_total += (uint64_t)m->layers[i].size;
	for (size_t i = 0; i < img->n_layers; i++) {
		r = layer_fetch(p, img, &m->layers[i], (unsigned int)i, ret_error);
		if (r < 0)
			return r;
		p->prog.layers_done++;
	}

	/* Only now is the image complete: its manifests and reference may be recorded. */
	if (doc.kind == IMAGE_SPEC_KIND_INDEX)
		r = blob_write(p->store, man.digest, man.body, man.len);
	if (r == 0)
		r = blob_write(p->store, top.digest, top.body, top.len);
	if (r == 0)
		r = ref_write(p->store, img);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot record the image in the store %s: %s",
				  p->store, strerror(-r));
	p->prog.phase = IMAGE_PULL_PHASE_DONE;
	(void)report_progress(p, true);
	*ret = TAKE_PTR(img);
	return 0;
}

int image_pull(const char *reference, const struct image_pull_opts *opts, struct image **ret,
	       char **ret_error)
{
	static const struct image_pull_opts defaults = {};
	_cleanup_(image_ref_done) struct image_ref ref = {};
	_cleanup_free_ char *canonical = NULL;
	struct regclient_opts ro;
	struct pull p;
	int r;

	opts = opts ?: &defaults;
	p = (struct pull){
		.o = opts,
		.store = opts->store ?: IMAGE_STORE_DEFAULT,
		.deadline = opts->timeout_ms ? now_usec() + (uint64_t)opts->timeout_ms * 1000 : 0,
		.cancel_fd = opts->cancel_fd > 0 ? opts->cancel_fd : -1,
	};

	r = image_ref_parse(reference, &ref, ret_error);
	if (r < 0)
		return r;
	canonical = image_ref_format(&ref);
	if (!canonical)
		return -ENOMEM;
	r = store_init(p.store);
	if (r < 0)
		return fail_errno(ret_error, r, "cannot set up the image store %s: %s", p.store,
				  strerror(-r));

	if (opts->policy == IMAGE_PULL_IF_MISSING || ref.digest) {
		_cleanup_free_ char *err = NULL;

		r = image_load(p.store, reference, ret, &err);
		if (r == 0)
			return 0;
		if (r != -ENOENT)
			return fail_errno(ret_error, r, "%s", err ?: strerror(-r));
	}

	ro = (struct regclient_opts){
		.host = image_ref_api_host(&ref),
		.repository = ref.path,
		.insecure = registry_insecure(opts, &ref),
		.username = opts->username,
		.password = opts->password,
		.ca_file = opts->ca_file,
		.netns_fd = opts->netns_fd > 0 ? opts->netns_fd : -1,
		.pull_mark = opts->pull_mark,
		.auth_mark = opts->auth_mark,
		.nameservers = opts->nameservers,
		.connect_timeout_ms = opts->connect_timeout_ms,
		.stall_timeout_ms = opts->stall_timeout_ms,
		.deadline_usec = p.deadline,
		.cancel_fd = p.cancel_fd,
		.progress = on_blob_bytes,
		.userdata = &p,
	};
	p.rc = regclient_new(&ro);
	if (!p.rc)
		return fail_errno(ret_error, -errno, "cannot set up a registry client: %s",
				  strerror(errno));
	r = pull_image(&p, &ref, canonical, ret, ret_error);
	regclient_free(p.rc);
	return r;
}
