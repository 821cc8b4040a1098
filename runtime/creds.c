// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "creds.h"
#include "event.h"
#include "log.h"
#include "tmds.h"

void creds_done(struct creds *c)
{
	free(c->access_key_id);
	free(c->secret_access_key);
	free(c->token);
	free(c->expiration);
	*c = (struct creds){};
}

void creds_erase(struct creds *c)
{
	if (c->secret_access_key)
		explicit_bzero(c->secret_access_key, strlen(c->secret_access_key));
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	creds_done(c);
}

static int creds_copy(const struct creds *from, struct creds *to)
{
	*to = (struct creds){
		.access_key_id = strdup(from->access_key_id),
		.secret_access_key = strdup(from->secret_access_key),
		.token = strdup(from->token),
		.expiration = strdup(from->expiration),
		.expiration_sec = from->expiration_sec,
	};
	if (!to->access_key_id || !to->secret_access_key || !to->token || !to->expiration) {
		creds_done(to);
		return -ENOMEM;
	}
	return 0;
}

int creds_parse(const char *buf, size_t len, struct creds *ret, char **ret_error)
{
	const char *akid, *secret, *token, *exp;
	json_auto_t *j = NULL;
	json_error_t jerr;
	int64_t sec;
	uint32_t nsec;
	char out[64];
	struct creds c = {};

	if (ret_error)
		*ret_error = NULL;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return fail_with(ret_error, "not JSON: %s (line %d)", jerr.text, jerr.line);
	/* Other members (e.g. "Code", "LastUpdated" of an IMDS document) are ignored. */
	if (json_unpack_ex(j, &jerr, 0, "{s:s, s:s, s:s, s:s}", "AccessKeyId", &akid,
			   "SecretAccessKey", &secret, "Token", &token, "Expiration", &exp) < 0)
		return fail_with(ret_error, "%s", jerr.text);
	if (!akid[0] || !secret[0] || !token[0])
		return fail_with(ret_error,
				 "AccessKeyId, SecretAccessKey and Token must not be empty");
	if (tmds_parse_time(exp, &sec, &nsec) < 0)
		return fail_with(ret_error, "Expiration '%s' is not an RFC 3339 time", exp);
	/* The JS SDK's fromHttp accepts only UTC ("...Z"): write offsets out in UTC. */
	if (exp[strlen(exp) - 1] == 'Z') {
		strscpy(out, exp, sizeof(out));
	} else {
		time_t t = (time_t)sec;
		struct tm tm;

		/* RFC 3339 has four-digit years: 0000-01-01T00:30:00+01:00 has no UTC form */
		if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
			return fail_with(ret_error, "Expiration '%s' is out of range", exp);
		snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	c.access_key_id = strdup(akid);
	c.secret_access_key = strdup(secret);
	c.token = strdup(token);
	c.expiration = strdup(out);
	c.expiration_sec = sec;
	if (!c.access_key_id || !c.secret_access_key || !c.token || !c.expiration) {
		creds_done(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

/* IAM role names: 1-64 of [A-Za-z0-9+=,.@_-]. */
int creds_role_name(const char *role_arn, char *buf, size_t size)
{
	const char *role = role_arn ? strstr(role_arn, ":role/") : NULL;
	const char *name;
	size_t n;

	if (!role)
		return -EINVAL;
	name = strrchr(role, '/') + 1;
	n = strlen(name);
	if (n == 0 || n > CREDS_ROLE_NAME_MAX || n >= size || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("+=,.@_-", ch)))
			return -EINVAL;
	}
	memcpy(buf, name, n + 1);
	return 0;
}

struct creds_provider *creds_provider_free(struct creds_provider *p)
{
	if (p)
		p->ops->free(p);
	return NULL;
}

/* --- the file provider ------------------------------------------------------------------- */

struct file_entry {
	struct file_entry *next;
	char role[CREDS_ROLE_NAME_MAX + 1];
	int state; /* 0: creds valid; -errno: why there are none */
	char *error;
	struct creds creds;
};

struct file_provider {
	struct creds_provider base;
	struct event_loop *loop;
	char *dir;
	int inotify_fd;
	int io_id;
	struct file_entry *entries;
};

static struct file_entry *entry_find(struct file_provider *fp, const char *role)
{
	for (struct file_entry *e = fp->entries; e; e = e->next)
		if (streq(e->role, role))
			return e;
	return NULL;
}

static void entry_clear(struct file_entry *e)
{
	creds_done(&e->creds);
	free(e->error);
	e->error = NULL;
}

static void entry_load(struct file_provider *fp, struct file_entry *e)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	char path[PATH_MAX];
	struct stat st;
	size_t len;
	int r;

	entry_clear(e);
	snprintf(path, sizeof(path), "%s/%s.json", fp->dir, e->role);
	r = read_file(path, CREDS_MAX_FILE, &buf, &len);
	if (r < 0) {
		e->state = r;
		if (asprintf(&e->error, "%s: %s", path, strerror(-r)) < 0)
			e->error = NULL;
		if (r != -ENOENT)
			log_warn_errno(r, "Failed to read credentials '%s': %m", path);
		return;
	}
	r = creds_parse(buf, len, &e->creds, &err);
	if (r < 0) {
		e->state = r;
		if (asprintf(&e->error, "%s: %s", path, err ?: strerror(-r)) < 0)
			e->error = NULL;
		log_warn("Credentials file '%s' cannot be served: %s", path, err ?: strerror(-r));
		return;
	}
	e->state = 0;
	if (stat(path, &st) == 0 && (st.st_mode & 0077))
		log_warn(
			"Credentials file '%s' is readable by others than its owner (mode %03o), serving it anyway",
			path, (unsigned int)(st.st_mode & 0777));
	if (e->creds.expiration_sec < (int64_t)(realtime_nsec() / 1000000000ULL))
		log_warn("Credentials of role '%s' expired at %s, serving them anyway", e->role,
			 e->creds.expiration);
	log_debug("Loaded credentials of role '%s' (expiring %s)", e->role, e->creds.expiration);
}

static struct file_entry *entry_get(struct file_provider *fp, const char *role)
{
	struct file_entry *e = entry_find(fp, role);

	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	strscpy(e->role, role, sizeof(e->role));
	entry_load(fp, e);
	e->next = fp->entries;
	fp->entries = e;
	return e;
}

static int file_get(struct creds_provider *p, const char *role_arn, struct creds *ret)
{
	struct file_provider *fp = (struct file_provider *)p;
	char role[CREDS_ROLE_NAME_MAX + 1];
	struct file_entry *e;

	if (creds_role_name(role_arn, role, sizeof(role)) < 0)
		return -EINVAL;
	e = entry_get(fp, role);
	if (!e)
		return -ENOMEM;
	if (e->state < 0)
		return e->state;
	return creds_copy(&e->creds, ret);
}

static int file_describe(struct creds_provider *p, const char *role_arn, char **ret)
{
	struct file_provider *fp = (struct file_provider *)p;
	char role[CREDS_ROLE_NAME_MAX + 1];
	struct file_entry *e;
	int r;

	if (creds_role_name(role_arn, role, sizeof(role)) < 0)
		r = asprintf(ret, "role ARN '%s' has no usable role name", role_arn);
	else if (!(e = entry_get(fp, role)))
		return -ENOMEM;
	else if (e->state == 0)
		r = asprintf(ret, "%s/%s.json, expires %s", fp->dir, role, e->creds.expiration);
	else
		r = asprintf(ret, "none: %s", e->error ?: strerror(-e->state));
	return r < 0 ? -ENOMEM : 0;
}

static void file_free(struct creds_provider *p)
{
	struct file_provider *fp = (struct file_provider *)p;

	while (fp->entries) {
		struct file_entry *e = fp->entries;

		fp->entries = e->next;
		entry_clear(e);
		free(e);
	}
	event_cancel(fp->loop, fp->io_id);
	safe_close(fp->inotify_fd);
	free(fp->dir);
	free(fp);
}

static const struct creds_provider_ops file_ops = {
	.name = "file",
	.get = file_get,
	.describe = file_describe,
	.free = file_free,
};

static void file_changed(struct file_provider *fp, const char *name)
{
	char role[CREDS_ROLE_NAME_MAX + 1];
	const char *dot = strrchr(name, '.');
	struct file_entry *e;
	size_t n;

	if (!dot || !streq(dot, ".json"))
		return;
	n = (size_t)(dot - name);
	if (n == 0 || n >= sizeof(role))
		return;
	memcpy(role, name, n);
	role[n] = '\0';
	e = entry_find(fp, role);
	if (e)
		entry_load(fp, e);
	if (fp->base.changed)
		fp->base.changed(role, fp->base.changed_data);
}

static void on_inotify(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	struct file_provider *fp = data;
	char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW) {
				/* Lost events: reload everything we serve. */
				for (struct file_entry *e = fp->entries; e; e = e->next) {
					entry_load(fp, e);
					if (fp->base.changed)
						fp->base.changed(e->role, fp->base.changed_data);
				}
			} else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				log_warn(
					"Credentials directory '%s' was removed or moved: credentials are no longer updated",
					fp->dir);
			} else if (ev->len > 0) {
				file_changed(fp, ev->name);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

int creds_file_provider_new(struct event_loop *loop, const char *dir, creds_changed_fn changed,
			    void *data, struct creds_provider **ret)
{
	struct file_provider *fp;
	int r;

	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	fp->base = (struct creds_provider){ .ops = &file_ops,
					    .changed = changed,
					    .changed_data = data };
	fp->loop = loop;
	fp->inotify_fd = -1;
	fp->dir = strdup(dir);
	if (!fp->dir) {
		r = -ENOMEM;
		goto out_free;
	}
	fp->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fp->inotify_fd < 0) {
		r = -errno;
		goto out_free;
	}
	r = RET_NERRNO(inotify_add_watch(fp->inotify_fd, dir,
					 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
						 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
						 IN_ONLYDIR));
	if (r < 0)
		goto out_free;
	r = event_add_io(loop, fp->inotify_fd, EPOLLIN, on_inotify, fp, NULL);
	if (r < 0)
		goto out_free;
	fp->io_id = r;
	*ret = &fp->base;
	return 0;

out_free:
	safe_close(fp->inotify_fd);
	free(fp->dir);
	free(fp);
	return r;
}
