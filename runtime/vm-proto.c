// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host-guest protocol of the task VM: frames, records, the spec of the task's containers and
 * the guest's kernel command line. Pure and libc only: the guest's static init links it too.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm-proto.h"

static const char *const frame_names[__VM_FRAME_MAX] = {
	[VM_FRAME_HELLO] = "HELLO",   [VM_FRAME_SPEC] = "SPEC",
	[VM_FRAME_START] = "START",   [VM_FRAME_STARTED] = "STARTED",
	[VM_FRAME_STDOUT] = "STDOUT", [VM_FRAME_STDERR] = "STDERR",
	[VM_FRAME_EXIT] = "EXIT",     [VM_FRAME_ERROR] = "ERROR",
	[VM_FRAME_KILL] = "KILL",     [VM_FRAME_STOP] = "STOP",
	[VM_FRAME_BYE] = "BYE",	      [VM_FRAME_STATS_GET] = "STATS_GET",
	[VM_FRAME_STATS] = "STATS",
};

const char *vm_frame_type_name(unsigned int type)
{
	return type < __VM_FRAME_MAX ? frame_names[type] : NULL;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ssize_t vm_frame_encode(uint8_t *buf, size_t size, enum vm_frame_type type, uint16_t container,
			const void *payload, size_t len)
{
	if (len > VM_FRAME_MAX || size < VM_FRAME_HEADER + len)
		return -EMSGSIZE;
	buf[0] = type;
	buf[1] = 0;
	put_le16(buf + 2, container);
	put_le32(buf + 4, len);
	if (len)
		memcpy(buf + VM_FRAME_HEADER, payload, len);
	return VM_FRAME_HEADER + len;
}

int vm_frame_reader_feed(struct vm_frame_reader *r, const void *data, size_t len)
{
	if (r->skip) {
		memmove(r->buf, r->buf + r->skip, r->len - r->skip);
		r->len -= r->skip;
		r->skip = 0;
	}
	if (r->len + len > r->size) {
		size_t size = r->size ? r->size : 4096;
		uint8_t *p;

		while (size < r->len + len)
			size *= 2;
		p = realloc(r->buf, size);
		if (!p)
			return -ENOMEM;
		r->buf = p;
		r->size = size;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int vm_frame_reader_next(struct vm_frame_reader *r, struct vm_frame *ret)
{
	const uint8_t *h;
	uint32_t len;

	if (r->skip) {
		memmove(r->buf, r->buf + r->skip, r->len - r->skip);
		r->len -= r->skip;
		r->skip = 0;
	}
	if (r->len < VM_FRAME_HEADER)
		return 0;
	h = r->buf;
	len = get_le32(h + 4);
	if (h[0] == 0 || h[0] >= __VM_FRAME_MAX || h[1] != 0 || len > VM_FRAME_MAX)
		return -EBADMSG;
	if (r->len < VM_FRAME_HEADER + (size_t)len)
		return 0;
	*ret = (struct vm_frame){
		.type = h[0],
		.container = (uint16_t)(h[2] | h[3] << 8),
		.len = len,
		.payload = h + VM_FRAME_HEADER,
	};
	r->skip = VM_FRAME_HEADER + len;
	return 1;
}

void vm_frame_reader_done(struct vm_frame_reader *r)
{
	free(r->buf);
	*r = (struct vm_frame_reader){};
}

/* --- records ------------------------------------------------------------------------------ */

static void records_put(struct vm_records *r, const char *s, size_t n)
{
	if (r->error)
		return;
	if (r->len + n > r->size) {
		size_t size = r->size ? r->size : 512;
		char *p;

		while (size < r->len + n)
			size *= 2;
		p = realloc(r->buf, size);
		if (!p) {
			r->error = -ENOMEM;
			return;
		}
		r->buf = p;
		r->size = size;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

void vm_records_add(struct vm_records *r, const char *key, const char *value)
{
	if (!*key || strchr(key, '=')) {
		if (!r->error)
			r->error = -EINVAL;
		return;
	}
	records_put(r, key, strlen(key));
	records_put(r, "=", 1);
	records_put(r, value, strlen(value) + 1);
}

void vm_records_addf(struct vm_records *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!r->error)
			r->error = -ENOMEM;
		return;
	}
	vm_records_add(r, key, s);
	free(s);
}

void vm_records_done(struct vm_records *r)
{
	free(r->buf);
	*r = (struct vm_records){};
}

int vm_records_next(const uint8_t *payload, size_t len, size_t *pos, char *key, size_t key_size,
		    const char **ret_value)
{
	const char *start, *end, *eq;
	size_t left;

	if (*pos >= len)
		return 0; /* before any arithmetic: an empty payload may be NULL */
	start = (const char *)payload + *pos;
	left = len - *pos;
	end = memchr(start, '\0', left);
	if (!end)
		return -EBADMSG;
	eq = memchr(start, '=', end - start);
	if (!eq || eq == start || (size_t)(eq - start) >= key_size)
		return -EBADMSG;
	memcpy(key, start, eq - start);
	key[eq - start] = '\0';
	*ret_value = eq + 1;
	*pos += end - start + 1;
	return 1;
}

/* --- the spec ----------------------------------------------------------------------------- */

static int spec_fail(char **ret_error, const char *fmt, ...)
	__attribute__((__format__(printf, 2, 3)));
static int spec_fail(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return -EINVAL;
}

/* A name of a container or a volume, or a drive's serial: 1-64 of [A-Za-z0-9_.-]. */
static bool name_valid(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return n <= max;
}

static bool key_is(const char *key, const char *name)
{
	return strcmp(key, name) == 0;
}

/* Absolute, and no ".." component: the guest resolves it below the container's root. */
static bool path_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n < 4096 && s[0] == '/' && !strstr(s, "/../") &&
	       !(n >= 3 && strcmp(s + n - 3, "/..") == 0);
}

/*
 * A directory of a drive: relative, 1-VM_DIR_MAX of [A-Za-z0-9_.-/], no empty, "." or ".."
 * component (so no leading, trailing or double '/'): the guest resolves it below the drive's
 * mount point.
 */
static bool dir_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *c = s;

	if (n == 0 || n > VM_DIR_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./", *p))
			return false;
	for (;;) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[len])
			return true;
		c += len + 1;
	}
}

/* Volume i of the spec: its name, drive and directory, and no earlier volume of its name. */
static int check_volume(const struct vm_spec *spec, size_t i, char **ret_error)
{
	const struct vm_volume *v = &spec->volumes[i];

	if (!name_valid(v->name, 64) || !name_valid(v->serial, VM_SERIAL_MAX))
		return spec_fail(
			ret_error,
			"volume '%s' (drive '%s'): names are 1-64 and serials 1-%d of [A-Za-z0-9_.-]",
			v->name ? v->name : "", v->serial ? v->serial : "", VM_SERIAL_MAX);
	if (v->dir && !dir_valid(v->dir))
		return spec_fail(ret_error,
				 "volume '%s': directory '%.*s' is not a relative path of 1-%d of "
				 "[A-Za-z0-9_.-/] without empty, '.' or '..' components",
				 v->name, VM_DIR_MAX, v->dir, VM_DIR_MAX);
	for (size_t j = 0; j < i; j++)
		if (strcmp(spec->volumes[j].name, v->name) == 0)
			return spec_fail(ret_error, "volume '%s' is there twice", v->name);
	return 0;
}

static int check_container(const struct vm_spec *spec, const struct vm_container *c,
			   char **ret_error)
{
	size_t i, j;

	if (!name_valid(c->name, 64))
		return spec_fail(ret_error, "container name '%s' is not 1-64 of [A-Za-z0-9_.-]",
				 c->name ? c->name : "");
	if (!name_valid(c->root, VM_SERIAL_MAX))
		return spec_fail(
			ret_error,
			"container '%s': root drive serial '%s' is not 1-%d of [A-Za-z0-9_.-]",
			c->name, c->root ? c->root : "", VM_SERIAL_MAX);
	if (!c->argv || !c->argv[0] || !c->argv[0][0])
		return spec_fail(ret_error, "container '%s': no command", c->name);
	if (c->upper) {
		for (j = 0; j < spec->n_volumes; j++)
			if (strcmp(spec->volumes[j].name, c->upper) == 0)
				break;
		if (j == spec->n_volumes)
			return spec_fail(
				ret_error,
				"container '%s': its writable layer is on unknown volume '%s'",
				c->name, c->upper);
	}
	if (c->cwd && !path_valid(c->cwd))
		return spec_fail(ret_error,
				 "container '%s': working directory '%s' is not an absolute path",
				 c->name, c->cwd);
	for (i = 0; c->env && c->env[i]; i++)
		if (!strchr(c->env[i], '=') || c->env[i][0] == '=')
			return spec_fail(ret_error,
					 "container '%s': environment entry '%s' is not NAME=value",
					 c->name, c->env[i]);
	if (c->stop_signal < 0 || c->stop_signal >= NSIG)
		return spec_fail(ret_error, "container '%s': stop signal %d is out of range",
				 c->name, c->stop_signal);
	if (c->nofile_soft > c->nofile_hard)
		return spec_fail(
			ret_error,
			"container '%s': nofile soft limit %llu is above the hard one %llu",
			c->name, (unsigned long long)c->nofile_soft,
			(unsigned long long)c->nofile_hard);
	if (c->cpu_shares && (c->cpu_shares < 2 || c->cpu_shares > 262144))
		return spec_fail(ret_error, "container '%s': cpu shares %llu are not 2-262144",
				 c->name, (unsigned long long)c->cpu_shares);
	for (i = 0; i < c->n_mounts; i++) {
		const struct vm_mount *m = &c->mounts[i];

		for (j = 0; j < spec->n_volumes; j++)
			if (m->volume && strcmp(spec->volumes[j].name, m->volume) == 0)
				break;
		if (j == spec->n_volumes)
			return spec_fail(ret_error, "container '%s': mount of unknown volume '%s'",
					 c->name, m->volume ? m->volume : "");
		if (!path_valid(m->path) || strcmp(m->path, "/") == 0)
			return spec_fail(
				ret_error,
				"container '%s': mount path '%s' is not an absolute path below /",
				c->name, m->path ? m->path : "");
	}
	return 0;
}

int vm_spec_encode(const struct vm_spec *spec, struct vm_records *out, char **ret_error)
{
	size_t i, j;
	int r;

	if (spec->n_containers == 0 || spec->n_containers > VM_CONTAINERS_MAX)
		return spec_fail(ret_error, "a task has 1-%d containers, not %zu",
				 VM_CONTAINERS_MAX, spec->n_containers);
	if (spec->n_volumes > VM_VOLUMES_MAX)
		return spec_fail(ret_error, "at most %d volumes, not %zu", VM_VOLUMES_MAX,
				 spec->n_volumes);
	for (i = 0; i < spec->n_volumes; i++) {
		const struct vm_volume *v = &spec->volumes[i];

		r = check_volume(spec, i, ret_error);
		if (r < 0)
			return r;
		if (v->dir)
			vm_records_addf(out, "volume", "%s,%s,%s", v->name, v->serial, v->dir);
		else
			vm_records_addf(out, "volume", "%s,%s", v->name, v->serial);
	}
	for (i = 0; i < spec->n_containers; i++) {
		const struct vm_container *c = &spec->containers[i];

		r = check_container(spec, c, ret_error);
		if (r < 0)
			return r;
		for (j = 0; j < i; j++)
			if (strcmp(spec->containers[j].name, c->name) == 0)
				return spec_fail(ret_error, "container '%s' is there twice",
						 c->name);
		vm_records_add(out, "container", c->name);
		vm_records_add(out, "root", c->root);
		if (c->upper)
			vm_records_add(out, "upper", c->upper);
		if (c->readonly_root)
			vm_records_add(out, "readonly_root", "1");
		for (j = 0; c->argv[j]; j++)
			vm_records_add(out, "arg", c->argv[j]);
		for (j = 0; c->env && c->env[j]; j++)
			vm_records_add(out, "env", c->env[j]);
		vm_records_add(out, "cwd", c->cwd ? c->cwd : "/");
		vm_records_addf(out, "user", "%u:%u", (unsigned int)c->uid, (unsigned int)c->gid);
		for (j = 0; j < c->n_groups; j++)
			vm_records_addf(out, "group", "%u", (unsigned int)c->groups[j]);
		vm_records_addf(out, "stop_signal", "%d",
				c->stop_signal ? c->stop_signal : SIGTERM);
		vm_records_addf(out, "caps", "%016llx", (unsigned long long)c->caps);
		if (c->nofile_hard)
			vm_records_addf(out, "nofile", "%llu:%llu",
					(unsigned long long)c->nofile_soft,
					(unsigned long long)c->nofile_hard);
		if (c->memory_max)
			vm_records_addf(out, "memory_max", "%llu",
					(unsigned long long)c->memory_max);
		if (c->cpu_shares)
			vm_records_addf(out, "cpu_shares", "%llu",
					(unsigned long long)c->cpu_shares);
		for (j = 0; j < c->n_mounts; j++)
			vm_records_addf(out, "mount", "%s,%s,%s", c->mounts[j].volume,
					c->mounts[j].readonly ? "ro" : "rw", c->mounts[j].path);
	}
	if (out->error)
		return out->error == -EINVAL ? spec_fail(ret_error, "a record key is malformed")
					     : out->error;
	if (out->len > VM_FRAME_MAX)
		return spec_fail(ret_error, "the spec is %zu bytes, more than a frame's %d",
				 out->len, VM_FRAME_MAX);
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*ret = strtoul(s, &end, 10);
	return errno || *end || *ret > max ? -EINVAL : 0;
}

/* 16 hex digits, exactly as encoded. */
static int parse_caps(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i == 16 || !isxdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v << 4 | (uint64_t)(isdigit((unsigned char)s[i]) ? s[i] - '0'
								     : (tolower(s[i]) - 'a' + 10));
	}
	if (i != 16)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Decimal, digits only, 64 bits. */
static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* SOFT:HARD, decimal, 1 <= hard, soft <= hard. */
static int parse_nofile(const char *s, uint64_t *ret_soft, uint64_t *ret_hard)
{
	unsigned long long soft, hard;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	soft = strtoull(s, &end, 10);
	if (errno || *end != ':' || !isdigit((unsigned char)end[1]))
		return -EINVAL;
	s = end + 1;
	hard = strtoull(s, &end, 10);
	if (errno || *end || hard == 0 || soft > hard)
		return -EINVAL;
	*ret_soft = soft;
	*ret_hard = hard;
	return 0;
}

/* Grow a NULL-terminated array of strings by one. */
static int strv_push(char ***v, size_t *n, const char *s)
{
	char **p = realloc(*v, (*n + 2) * sizeof(char *));

	if (!p)
		return -ENOMEM;
	p[(*n)++] = (char *)s;
	p[*n] = NULL;
	*v = p;
	return 0;
}

struct spec_state {
	size_t n_argv, n_env, n_mounts_alloc;
};

static int decode_container_field(struct vm_container *c, struct spec_state *st, const char *key,
				  const char *value, char **ret_error)
{
	unsigned long a, b;
	const char *comma, *comma2;

	if (key_is(key, "root")) {
		c->root = value;
	} else if (key_is(key, "upper")) {
		c->upper = value;
	} else if (key_is(key, "readonly_root")) {
		c->readonly_root = strcmp(value, "1") == 0;
	} else if (key_is(key, "arg")) {
		return strv_push(&c->argv, &st->n_argv, value);
	} else if (key_is(key, "env")) {
		return strv_push(&c->env, &st->n_env, value);
	} else if (key_is(key, "cwd")) {
		c->cwd = value;
	} else if (key_is(key, "user")) {
		char *end;

		errno = 0;
		a = strtoul(value, &end, 10);
		if (errno || end == value || *end != ':' ||
		    parse_uint(end + 1, UINT32_MAX - 1, &b) < 0 || a > UINT32_MAX - 1)
			return spec_fail(ret_error, "container '%s': bad user '%s'", c->name,
					 value);
		c->uid = a;
		c->gid = b;
	} else if (key_is(key, "group")) {
		gid_t *g;

		if (parse_uint(value, UINT32_MAX - 1, &a) < 0)
			return spec_fail(ret_error, "container '%s': bad group '%s'", c->name,
					 value);
		g = realloc((gid_t *)c->groups, (c->n_groups + 1) * sizeof(gid_t));
		if (!g)
			return -ENOMEM;
		g[c->n_groups++] = a;
		c->groups = g;
	} else if (key_is(key, "stop_signal")) {
		if (parse_uint(value, NSIG - 1, &a) < 0)
			return spec_fail(ret_error, "container '%s': bad stop signal '%s'", c->name,
					 value);
		c->stop_signal = a;
	} else if (key_is(key, "caps")) {
		if (parse_caps(value, &c->caps) < 0)
			return spec_fail(ret_error, "container '%s': bad caps '%s'", c->name,
					 value);
	} else if (key_is(key, "nofile")) {
		if (parse_nofile(value, &c->nofile_soft, &c->nofile_hard) < 0)
			return spec_fail(ret_error, "container '%s': bad nofile '%s'", c->name,
					 value);
	} else if (key_is(key, "memory_max")) {
		if (parse_u64(value, &c->memory_max) < 0 || c->memory_max == 0)
			return spec_fail(ret_error, "container '%s': bad memory_max '%s'", c->name,
					 value);
	} else if (key_is(key, "cpu_shares")) {
		if (parse_u64(value, &c->cpu_shares) < 0 || c->cpu_shares == 0)
			return spec_fail(ret_error, "container '%s': bad cpu_shares '%s'", c->name,
					 value);
	} else if (key_is(key, "mount")) {
		struct vm_mount *m;

		comma = strchr(value, ',');
		comma2 = comma ? strchr(comma + 1, ',') : NULL;
		if (!comma || !comma2 || comma2 - comma != 3 ||
		    (strncmp(comma + 1, "ro", 2) != 0 && strncmp(comma + 1, "rw", 2) != 0))
			return spec_fail(ret_error, "container '%s': bad mount '%s'", c->name,
					 value);
		if (c->n_mounts == st->n_mounts_alloc) {
			size_t n = st->n_mounts_alloc ? 2 * st->n_mounts_alloc : 4;

			m = realloc((struct vm_mount *)c->mounts, n * sizeof(*m));
			if (!m)
				return -ENOMEM;
			c->mounts = m;
			st->n_mounts_alloc = n;
		}
		m = (struct vm_mount *)&c->mounts[c->n_mounts++];
		/* The volume's name is cut out of the payload: the comma becomes its end. */
		*(char *)comma = '\0';
		m->volume = value;
		m->readonly = comma[1] == 'r' && comma[2] == 'o';
		m->path = comma2 + 1;
	} else {
		/* A field of a newer host: refuse, rather than run a container differently. */
		return spec_fail(ret_error, "container '%s': unknown field '%s'", c->name, key);
	}
	return 0;
}

int vm_spec_decode(uint8_t *payload, size_t len, struct vm_spec_parsed *ret, char **ret_error)
{
	struct vm_spec_parsed p = {};
	struct spec_state st = {};
	struct vm_container *c = NULL;
	const char *value;
	size_t pos = 0, n = 0;
	char key[32];
	int r;

	for (;;) {
		r = vm_records_next(payload, len, &pos, key, sizeof(key), &value);
		if (r == 0)
			break;
		if (r < 0) {
			r = spec_fail(ret_error, "malformed record at byte %zu", pos);
			goto out_free;
		}
		if (key_is(key, "volume")) {
			const char *comma = strchr(value, ','), *dir;

			if (c) {
				r = spec_fail(ret_error, "volume '%s' after the first container",
					      value);
				goto out_free;
			}
			if (!comma || p.spec.n_volumes == VM_VOLUMES_MAX) {
				r = spec_fail(ret_error, "bad volume '%s'", value);
				goto out_free;
			}
			/* name,serial[,dir]: the commas become the ends (neither has one) */
			dir = strchr(comma + 1, ',');
			*(char *)comma = '\0';
			if (dir)
				*(char *)dir++ = '\0';
			p.volumes[p.spec.n_volumes++] = (struct vm_volume){ .name = value,
									    .serial = comma + 1,
									    .dir = dir };
		} else if (key_is(key, "container")) {
			struct vm_container *cs;

			if (n == VM_CONTAINERS_MAX) {
				r = spec_fail(ret_error, "more than %d containers",
					      VM_CONTAINERS_MAX);
				goto out_free;
			}
			cs = realloc(p.containers, (n + 1) * sizeof(*cs));
			if (!cs) {
				r = -ENOMEM;
				goto out_free;
			}
			p.containers = cs;
			c = &cs[n++];
			*c = (struct vm_container){ .name = value };
			st = (struct spec_state){};
			p.spec.n_containers = n;
		} else if (!c) {
			r = spec_fail(ret_error, "field '%s' before the first container", key);
			goto out_free;
		} else {
			r = decode_container_field(c, &st, key, value, ret_error);
			if (r < 0)
				goto out_free;
		}
	}
	p.spec.volumes = p.volumes;
	p.spec.containers = p.containers;
	for (size_t i = 0; i < p.spec.n_volumes; i++) {
		r = check_volume(&p.spec, i, ret_error);
		if (r < 0)
			goto out_free;
	}
	if (n == 0) {
		r = spec_fail(ret_error, "no container");
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		r = check_container(&p.spec, &p.containers[i], ret_error);
		if (r < 0)
			goto out_free;
		for (size_t j = 0; j < i; j++)
			if (strcmp(p.containers[j].name, p.containers[i].name) == 0) {
				r = spec_fail(ret_error, "container '%s' is there twice",
					      p.containers[i].name);
				goto out_free;
			}
	}
	*ret = p;
	/* The array may have moved while containers were added: point into the copy. */
	ret->spec.volumes = ret->volumes;
	return 0;

out_free:
	p.spec.containers = p.containers;
	vm_spec_parsed_done(&p);
	return r;
}

void vm_spec_parsed_done(struct vm_spec_parsed *p)
{
	for (size_t i = 0; p->containers && i < p->spec.n_containers; i++) {
		free(p->containers[i].argv);
		free(p->containers[i].env);
		free((gid_t *)p->containers[i].groups);
		free((struct vm_mount *)p->containers[i].mounts);
	}
	free(p->containers);
	*p = (struct vm_spec_parsed){};
}

/* --- the kernel command line -------------------------------------------------------------- */

static int parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	unsigned int b[6];
	char tmp[18], tail;

	if (n != 17)
		return -EINVAL;
	memcpy(tmp, s, 17);
	tmp[17] = '\0';
	if (sscanf(tmp, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)tmp[3 * i]) ||
		    !isxdigit((unsigned char)tmp[3 * i + 1]))
			return -EINVAL;
		mac[i] = b[i];
	}
	return 0;
}

static int parse_ip(const char *s, size_t n, uint32_t *ret)
{
	char tmp[INET_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, ret) == 1 ? 0 : -EINVAL;
}

/* ADDR/PLEN */
static int parse_prefix(const char *s, size_t n, uint32_t *ret, uint8_t *ret_len)
{
	const char *slash = memchr(s, '/', n);
	unsigned long plen;
	char tmp[4];
	size_t m;

	if (!slash)
		return -EINVAL;
	m = n - (slash - s) - 1;
	if (m == 0 || m >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, slash + 1, m);
	tmp[m] = '\0';
	if (parse_uint(tmp, 32, &plen) < 0)
		return -EINVAL;
	*ret_len = plen;
	return parse_ip(s, slash - s, ret);
}

static bool ifname_valid(const char *s, size_t n)
{
	if (n == 0 || n >= 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* Split value at commas into at most max fields; returns their number. */
static size_t split(const char *s, size_t n, const char *f[], size_t flen[], size_t max)
{
	size_t k = 0;
	const char *end = s + n;

	while (k < max) {
		const char *c = memchr(s, ',', end - s);

		f[k] = s;
		flen[k] = (c ? c : end) - s;
		k++;
		if (!c)
			return k;
		s = c + 1;
	}
	return max + 1; /* too many */
}

static int parse_net(const char *v, size_t n, struct vm_guest_config *c, const char **ret_error)
{
	struct vm_guest_nic *nic;
	const char *f[4];
	size_t fl[4], k = split(v, n, f, fl, 4);
	unsigned long mtu = 0;
	char tmp[8];

	if (c->n_nics == VM_NICS_MAX)
		return *ret_error = "too many tp.net", -EINVAL;
	if (k < 3 || k > 4)
		return *ret_error = "tp.net is IFNAME,MAC,ADDR/PLEN[,MTU]", -EINVAL;
	nic = &c->nics[c->n_nics];
	*nic = (struct vm_guest_nic){};
	if (!ifname_valid(f[0], fl[0]))
		return *ret_error = "tp.net: bad interface name", -EINVAL;
	memcpy(nic->ifname, f[0], fl[0]);
	if (parse_mac(f[1], fl[1], nic->mac) < 0)
		return *ret_error = "tp.net: bad MAC address", -EINVAL;
	if (parse_prefix(f[2], fl[2], &nic->addr, &nic->prefixlen) < 0)
		return *ret_error = "tp.net: bad ADDR/PLEN", -EINVAL;
	if (k == 4) {
		if (fl[3] == 0 || fl[3] >= sizeof(tmp))
			return *ret_error = "tp.net: bad MTU", -EINVAL;
		memcpy(tmp, f[3], fl[3]);
		tmp[fl[3]] = '\0';
		if (parse_uint(tmp, 65535, &mtu) < 0 || mtu < 68)
			return *ret_error = "tp.net: bad MTU", -EINVAL;
	}
	nic->mtu = mtu;
	c->n_nics++;
	return 0;
}

static int parse_route(const char *v, size_t n, struct vm_guest_config *c, const char **ret_error)
{
	struct vm_guest_route *rt;
	const char *f[3];
	size_t fl[3], k = split(v, n, f, fl, 3);

	if (c->n_routes == VM_ROUTES_MAX)
		return *ret_error = "too many tp.route", -EINVAL;
	if (k < 2 || k > 3)
		return *ret_error = "tp.route is DST/PLEN,IFNAME[,GATEWAY]", -EINVAL;
	rt = &c->routes[c->n_routes];
	*rt = (struct vm_guest_route){};
	if (parse_prefix(f[0], fl[0], &rt->dst, &rt->prefixlen) < 0)
		return *ret_error = "tp.route: bad DST/PLEN", -EINVAL;
	if (!ifname_valid(f[1], fl[1]))
		return *ret_error = "tp.route: bad interface name", -EINVAL;
	memcpy(rt->ifname, f[1], fl[1]);
	if (k == 3 && parse_ip(f[2], fl[2], &rt->gateway) < 0)
		return *ret_error = "tp.route: bad gateway", -EINVAL;
	c->n_routes++;
	return 0;
}

static bool hostname_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static int parse_word(const char *w, size_t n, struct vm_guest_config *c, const char **ret_error)
{
	const char *eq = memchr(w, '=', n);
	size_t klen = eq ? (size_t)(eq - w) : n, vlen = eq ? n - klen - 1 : 0;
	const char *v = eq ? eq + 1 : NULL;

#define KEY_IS(k) (klen == strlen(k) && memcmp(w, k, klen) == 0)
	if (KEY_IS("tp.debug")) {
		c->debug = true;
		return 0;
	}
	if (!v)
		return *ret_error = "a tp.* parameter without a value", -EINVAL;
	if (KEY_IS("tp.net"))
		return parse_net(v, vlen, c, ret_error);
	if (KEY_IS("tp.route"))
		return parse_route(v, vlen, c, ret_error);
	if (KEY_IS("tp.dns")) {
		if (c->n_dns == VM_DNS_MAX)
			return *ret_error = "too many tp.dns", -EINVAL;
		if (parse_ip(v, vlen, &c->dns[c->n_dns]) < 0)
			return *ret_error = "tp.dns: bad address", -EINVAL;
		c->n_dns++;
		return 0;
	}
	if (KEY_IS("tp.hostname")) {
		if (!hostname_valid(v, vlen))
			return *ret_error = "tp.hostname: bad name", -EINVAL;
		memset(c->hostname, 0, sizeof(c->hostname));
		memcpy(c->hostname, v, vlen);
		return 0;
	}
#undef KEY_IS
	return *ret_error = "unknown tp.* parameter", -EINVAL;
}

int vm_guest_config_parse(const char *cmdline, struct vm_guest_config *ret, const char **ret_error)
{
	struct vm_guest_config c = {};
	const char *p = cmdline, *dummy;
	int r;

	if (!ret_error)
		ret_error = &dummy;
	for (;;) {
		size_t n;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		n = strcspn(p, " \t\n");
		if (n > 3 && strncmp(p, "tp.", 3) == 0) {
			r = parse_word(p, n, &c, ret_error);
			if (r < 0)
				return r;
		}
		p += n;
	}
	/* A route names an interface of the configuration. */
	for (size_t i = 0; i < c.n_routes; i++) {
		size_t j;

		for (j = 0; j < c.n_nics; j++)
			if (strcmp(c.routes[i].ifname, c.nics[j].ifname) == 0)
				break;
		if (j == c.n_nics)
			return *ret_error = "tp.route: the interface is not a tp.net", -EINVAL;
	}
	*ret = c;
	return 0;
}

int vm_guest_config_format(const struct vm_guest_config *c, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	size_t len = 0;
	int n;

#define APPEND(...)                                                                                \
	do {                                                                                       \
		n = snprintf(buf + len, size - len, __VA_ARGS__);                                  \
		if (n < 0 || (size_t)n >= size - len)                                              \
			return -ENAMETOOLONG;                                                      \
		len += n;                                                                          \
	} while (0)

	if (size == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (size_t i = 0; i < c->n_nics; i++) {
		const struct vm_guest_nic *nic = &c->nics[i];
		const uint8_t *m = nic->mac;

		inet_ntop(AF_INET, &nic->addr, a, sizeof(a));
		APPEND("%stp.net=%s,%02x:%02x:%02x:%02x:%02x:%02x,%s/%u", len ? " " : "",
		       nic->ifname, m[0], m[1], m[2], m[3], m[4], m[5], a, nic->prefixlen);
		if (nic->mtu)
			APPEND(",%u", nic->mtu);
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct vm_guest_route *rt = &c->routes[i];

		inet_ntop(AF_INET, &rt->dst, a, sizeof(a));
		APPEND("%stp.route=%s/%u,%s", len ? " " : "", a, rt->prefixlen, rt->ifname);
		if (rt->gateway) {
			inet_ntop(AF_INET, &rt->gateway, g, sizeof(g));
			APPEND(",%s", g);
		}
	}
	for (size_t i = 0; i < c->n_dns; i++) {
		inet_ntop(AF_INET, &c->dns[i], a, sizeof(a));
		APPEND("%stp.dns=%s", len ? " " : "", a);
	}
	if (c->hostname[0])
		APPEND("%stp.hostname=%s", len ? " " : "", c->hostname);
	if (c->debug)
		APPEND("%stp.debug", len ? " " : "");
#undef APPEND
	return (int)len;
}

void vm_stats_encode(const struct vm_stats *s, struct vm_records *out)
{
	if (s->has_cpu)
		vm_records_addf(out, "cpu_usec", "%llu", (unsigned long long)s->cpu_usec);
	if (s->has_memory)
		vm_records_addf(out, "memory", "%llu", (unsigned long long)s->memory);
	if (s->has_memory_peak)
		vm_records_addf(out, "memory_peak", "%llu", (unsigned long long)s->memory_peak);
	if (s->has_storage)
		vm_records_addf(out, "storage", "%llu,%llu", (unsigned long long)s->storage_used,
				(unsigned long long)s->storage_size);
}

bool vm_stats_equal(const struct vm_stats *a, const struct vm_stats *b)
{
	return a->has_cpu == b->has_cpu && a->has_memory == b->has_memory &&
	       a->has_memory_peak == b->has_memory_peak && a->has_storage == b->has_storage &&
	       a->cpu_usec == b->cpu_usec && a->memory == b->memory &&
	       a->memory_peak == b->memory_peak && a->storage_used == b->storage_used &&
	       a->storage_size == b->storage_size;
}

int vm_stats_decode(const uint8_t *payload, size_t len, struct vm_stats *ret)
{
	struct vm_stats s = {};
	const char *value;
	size_t pos = 0;
	char key[32];
	int r;

	while ((r = vm_records_next(payload, len, &pos, key, sizeof(key), &value)) == 1) {
		if (key_is(key, "cpu_usec")) {
			s.has_cpu = parse_u64(value, &s.cpu_usec) == 0;
			if (!s.has_cpu)
				return -EBADMSG;
		} else if (key_is(key, "memory")) {
			s.has_memory = parse_u64(value, &s.memory) == 0;
			if (!s.has_memory)
				return -EBADMSG;
		} else if (key_is(key, "memory_peak")) {
			s.has_memory_peak = parse_u64(value, &s.memory_peak) == 0;
			if (!s.has_memory_peak)
				return -EBADMSG;
		} else if (key_is(key, "storage")) {
			const char *comma = strchr(value, ',');
			char used[24];

			if (!comma || (size_t)(comma - value) >= sizeof(used))
				return -EBADMSG;
			memcpy(used, value, comma - value);
			used[comma - value] = '\0';
			if (parse_u64(used, &s.storage_used) < 0 ||
			    parse_u64(comma + 1, &s.storage_size) < 0 ||
			    s.storage_used > s.storage_size)
				return -EBADMSG;
			s.has_storage = true;
		} else {
			return -EBADMSG;
		}
	}
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}
