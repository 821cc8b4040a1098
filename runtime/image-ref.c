// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>

#include "image-ref.h"
#include "util.h"

#define REF_INPUT_MAX 4096

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool image_digest_valid(const char *s)
{
	if (!s || !startswith(s, "sha256:") || strlen(s) != 7 + 64)
		return false;
	for (s += 7; *s; s++)
		if (!is_hex_lower(*s))
			return false;
	return true;
}

/* alpha-numeric (separator alpha-numeric)*, separator = [_.] | __ | -+ (n bytes at s). */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		size_t sep = 0;

		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '.')
			sep = 1;
		else if (s[i] == '_')
			sep = i + 1 < n && s[i + 1] == '_' ? 2 : 1;
		else if (s[i] == '-')
			while (i + sep < n && s[i + sep] == '-')
				sep++;
		else
			return false;
		i += sep;
		if (i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

/* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool port_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return atoi(s) <= 65535;
}

/* host[:port] where host is dot-separated components or a bracketed IPv6 address. */
static bool domain_valid(const char *d)
{
	const char *port = NULL, *host_end;

	if (d[0] == '[') {
		const char *close = strchr(d, ']');

		if (!close || close == d + 1)
			return false;
		for (const char *p = d + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return false;
		return !port || port_valid(port);
	}

	host_end = strchr(d, ':');
	if (host_end) {
		port = host_end + 1;
		if (!port_valid(port))
			return false;
	} else {
		host_end = d + strlen(d);
	}
	for (const char *p = d; p < host_end;) {
		const char *dot = memchr(p, '.', (size_t)(host_end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(host_end - p);

		if (!domain_component_valid(p, n))
			return false;
		p += n;
		if (dot) {
			p++;
			if (p == host_end)
				return false;
		}
	}
	return host_end > d;
}

/* [\w][\w.-]{0,127} */
static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > IMAGE_REF_TAG_MAX)
		return false;
	if (!isalnum((unsigned char)t[0]) && t[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

/* Docker's rule: the first component is a domain if it has '.' or ':', is "localhost", or has
 * an upper-case letter (paths are lower case). */
static bool looks_like_domain(const char *s, size_t n)
{
	if (memchr(s, '.', n) || memchr(s, ':', n))
		return true;
	if (n == 9 && !memcmp(s, "localhost", 9))
		return true;
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			return true;
	return false;
}

static bool has_control_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return true;
	return false;
}

void image_ref_done(struct image_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	*r = (struct image_ref){};
}

int image_ref_parse(const char *s, struct image_ref *ret, char **ret_error)
{
	_cleanup_free_ char *name = NULL, *domain = NULL, *path = NULL, *tag = NULL;
	_cleanup_free_ char *digest = NULL;
	const char *at;
	char *colon, *last_slash, *slash;

	if (!s || !*s)
		return fail_with(ret_error, "invalid image reference: empty");
	if (strlen(s) > REF_INPUT_MAX)
		return fail_with(ret_error, "invalid image reference: longer than %d bytes",
				 REF_INPUT_MAX);
	if (has_control_or_space(s))
		return fail_with(ret_error,
				 "invalid image reference '%s': blanks or control characters", s);

	at = strchr(s, '@');
	if (at) {
		if (!startswith(at + 1, "sha256:"))
			return fail_with(
				ret_error,
				"invalid image reference '%s': only sha256 digests are supported",
				s);
		if (!image_digest_valid(at + 1))
			return fail_with(
				ret_error,
				"invalid image reference '%s': a sha256 digest is 64 lower-case hex digits",
				s);
		digest = strdup(at + 1);
		if (!digest)
			return -ENOMEM;
		name = strndup(s, (size_t)(at - s));
	} else {
		name = strdup(s);
	}
	if (!name)
		return -ENOMEM;

	/* A tag is after the last ':' that follows the last '/'. */
	last_slash = strrchr(name, '/');
	colon = strrchr(last_slash ? last_slash : name, ':');
	if (colon) {
		*colon = '\0';
		if (!tag_valid(colon + 1))
			return fail_with(
				ret_error,
				"invalid image reference '%s': bad tag '%s' (letters, digits, '_', '.', '-', at most %d, not starting with '.' or '-')",
				s, colon + 1, IMAGE_REF_TAG_MAX);
		tag = strdup(colon + 1);
		if (!tag)
			return -ENOMEM;
	}
	if (!*name)
		return fail_with(ret_error, "invalid image reference '%s': no repository name", s);

	slash = strchr(name, '/');
	if (slash && looks_like_domain(name, (size_t)(slash - name))) {
		*slash = '\0';
		if (!domain_valid(name))
			return fail_with(ret_error,
					 "invalid image reference '%s': bad registry '%s'", s,
					 name);
		domain = strdup(streq(name, "index.docker.io") ? IMAGE_REF_DEFAULT_DOMAIN : name);
		path = strdup(slash + 1);
	} else {
		domain = strdup(IMAGE_REF_DEFAULT_DOMAIN);
		path = strdup(name);
	}
	if (!domain || !path)
		return -ENOMEM;

	for (const char *p = path;;) {
		const char *end = strchrnul(p, '/');

		if (!path_component_valid(p, (size_t)(end - p))) {
			for (const char *q = p; q < end; q++)
				if (isupper((unsigned char)*q))
					return fail_with(
						ret_error,
						"invalid image reference '%s': repository name must be lowercase",
						s);
			return fail_with(ret_error,
					 "invalid image reference '%s': bad path component '%.*s'",
					 s, (int)(end - p), p);
		}
		if (!*end)
			break;
		p = end + 1;
	}

	if (streq(domain, IMAGE_REF_DEFAULT_DOMAIN) && !strchr(path, '/')) {
		char *p;

		if (asprintf(&p, "library/%s", path) < 0)
			return -ENOMEM;
		free(path);
		path = p;
	}
	if (strlen(domain) + 1 + strlen(path) > IMAGE_REF_NAME_MAX)
		return fail_with(ret_error,
				 "invalid image reference '%s': the name is longer than %d bytes",
				 s, IMAGE_REF_NAME_MAX);

	if (!tag && !digest) {
		tag = strdup("latest");
		if (!tag)
			return -ENOMEM;
	}
	*ret = (struct image_ref){
		.domain = TAKE_PTR(domain),
		.path = TAKE_PTR(path),
		.tag = TAKE_PTR(tag),
		.digest = TAKE_PTR(digest),
	};
	return 0;
}

char *image_ref_format(const struct image_ref *r)
{
	char *s;

	if (asprintf(&s, "%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ?: "",
		     r->digest ? "@" : "", r->digest ?: "") < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

const char *image_ref_api_host(const struct image_ref *r)
{
	return streq(r->domain, IMAGE_REF_DEFAULT_DOMAIN) ? IMAGE_REF_DOCKER_HUB_API : r->domain;
}
