// SPDX-License-Identifier: GPL-2.0-only
#include <curl/curl.h>
#include <math.h>
#include <strings.h>

#include "creds.h"
#include "flowsock.h"
#include "platform.h"
#include "secrets.h"
#include "sigv4.h"
#include "util.h"

#define DEFAULT_CONNECT_TIMEOUT 10000
#define DEFAULT_TIMEOUT		60000
#define HOSTS_MAX		8
#define HEADER_VALUE_MAX	1024
#define JSON_CONTENT_TYPE	"application/x-amz-json-1.1"

struct secrets {
	struct secret *v;
	size_t n;
	uint64_t sent;
	uint64_t received;
	ssize_t failed; /* the secret the last fetch failed on, or -1 */
};

/* --- valueFrom ----------------------------------------------------------------------------- */

void secret_done(struct secret *s)
{
	if (!s)
		return;
	if (s->value)
		explicit_bzero(s->value, s->value_len);
	free(s->value);
	free(s->container);
	free(s->name);
	free(s->value_from);
	free(s->partition);
	free(s->region);
	free(s->id);
	free(s->json_key);
	free(s->version_stage);
	free(s->version_id);
	*s = (struct secret){};
}

/* Printable ASCII only, at most 256 bytes: what goes into an error message from outside. */
static const char *printable(const char *s, char buf[static 260])
{
	size_t i;

	for (i = 0; s && i < 256 && s[i]; i++)
		buf[i] = (unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (s && s[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

static bool all_of(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(extra, c))))
			return false;
	}
	return true;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* An SSM parameter name: 1-2048 of a-zA-Z0-9_.-/, a path from the root, no aws/ssm prefix. */
static bool ssm_name_valid(const char *s, size_t n)
{
	const char *base = s;
	unsigned int levels = 0;

	if (n == 0 || n > 2048 || !all_of(s, n, "_.-/"))
		return false;
	if (memchr(s, '/', n) && s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		levels += s[i] == '/';
	if (levels > 15)
		return false;
	while (*base == '/')
		base++;
	return strncasecmp(base, "aws", 3) && strncasecmp(base, "ssm", 3);
}

int secret_value_from_parse(const char *vf, struct secret *ret, char **ret_error)
{
	const char *f[10];
	size_t len[10], n = 0;
	char buf[260];

	if (!vf || !*vf || strlen(vf) > SECRETS_VALUE_FROM_MAX)
		return fail_with(ret_error, "valueFrom must be a string of 1 to %d bytes",
				 SECRETS_VALUE_FROM_MAX);
	if (!startswith(vf, "arn:")) {
		if (!ssm_name_valid(vf, strlen(vf)))
			return fail_with(
				ret_error,
				"valueFrom '%s' is neither an ARN nor an SSM parameter name (a-z, A-Z, 0-9, _.-/, a path from /, not starting with aws or ssm)",
				printable(vf, buf));
		ret->source = SECRET_SOURCE_SSM;
		ret->id = strdup(vf);
		return ret->id ? 0 : -ENOMEM;
	}
	/* arn:partition:service:region:account:resource, the resource split at ':' too */
	for (const char *p = vf;; n++) {
		const char *e = strchr(p, ':');

		if (n == ARRAY_SIZE(f))
			return fail_with(ret_error, "valueFrom '%s': too many ':' for an ARN",
					 printable(vf, buf));
		f[n] = p;
		len[n] = e ? (size_t)(e - p) : strlen(p);
		if (!e) {
			n++;
			break;
		}
		p = e + 1;
	}
	if (n < 6 || !len[1] || !len[3] || !all_of(f[1], len[1], "-") ||
	    !all_of(f[3], len[3], "-") || len[4] != 12 || !all_of(f[4], len[4], ""))
		return fail_with(
			ret_error,
			"valueFrom '%s' is not an ARN arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE",
			printable(vf, buf));
	ret->partition = dup_n(f[1], len[1]);
	ret->region = dup_n(f[3], len[3]);
	if (!ret->partition || !ret->region)
		return -ENOMEM;
	if (len[2] == 3 && !strncmp(f[2], "ssm", 3)) {
		if (n != 6 || len[5] < 11 || strncmp(f[5], "parameter/", 10) ||
		    !ssm_name_valid(f[5] + 9, len[5] - 9))
			return fail_with(
				ret_error,
				"valueFrom '%s': an SSM ARN's resource must be parameter/NAME",
				printable(vf, buf));
		ret->source = SECRET_SOURCE_SSM;
		ret->id = strdup(vf);
		return ret->id ? 0 : -ENOMEM;
	}
	if (len[2] != 14 || strncmp(f[2], "secretsmanager", 14))
		return fail_with(
			ret_error,
			"valueFrom '%s' is neither a Secrets Manager secret nor an SSM parameter",
			printable(vf, buf));
	ret->source = SECRET_SOURCE_SECRETS_MANAGER;
	/* secret:NAME, or secret:NAME:json-key:version-stage:version-id (ECS's agent) */
	if ((n != 7 && n != 10) || len[5] != 6 || strncmp(f[5], "secret", 6) || !len[6] ||
	    len[6] > 512 || !all_of(f[6], len[6], "/_+=.@-"))
		return fail_with(
			ret_error,
			"valueFrom '%s': a Secrets Manager ARN is arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:JSON-KEY:VERSION-STAGE:VERSION-ID]",
			printable(vf, buf));
	ret->id = dup_n(vf, (size_t)(f[6] + len[6] - vf));
	if (!ret->id)
		return -ENOMEM;
	if (n == 10) {
		char **slots[] = { &ret->json_key, &ret->version_stage, &ret->version_id };

		for (size_t i = 0; i < 3; i++) {
			if (!len[7 + i])
				continue;
			*slots[i] = dup_n(f[7 + i], len[7 + i]);
			if (!*slots[i])
				return -ENOMEM;
		}
	}
	return 0;
}

/* --- the task definition ------------------------------------------------------------------- */

static int secrets_add(struct secrets *s, const char *container, json_t *e, size_t index,
		       char **ret_error)
{
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *vf = json_string_value(json_object_get(e, "valueFrom"));
	struct secret *n, *sec;
	_cleanup_free_ char *err = NULL;
	char buf[260];
	int r;

	if (!json_is_object(e) || !name || !vf)
		return fail_with(
			ret_error,
			"container '%s': secrets[%zu] needs a name and a valueFrom (strings)",
			container, index);
	if (!*name || strchr(name, '=') || strlen(name) > 255)
		return fail_with(
			ret_error,
			"container '%s': secret name '%s' must be 1 to 255 bytes without '='",
			container, printable(name, buf));
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->v[i].container, container) && streq(s->v[i].name, name))
			return fail_with(ret_error, "container '%s': secret '%s' is given twice",
					 container, name);
	n = realloc(s->v, (s->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->v = n;
	sec = &s->v[s->n++];
	*sec = (struct secret){ .container = strdup(container),
				.name = strdup(name),
				.value_from = strdup(vf) };
	if (!sec->container || !sec->name || !sec->value_from)
		return -ENOMEM;
	r = secret_value_from_parse(vf, sec, &err);
	if (r < 0)
		return r == -ENOMEM ? r
				    : fail_with(ret_error, "container '%s': secret '%s': %s",
						container, name, err ?: "bad valueFrom");
	return 0;
}

int secrets_parse(json_t *td, struct secrets **ret, char **ret_error)
{
	_cleanup_secrets_ struct secrets *s = calloc(1, sizeof(*s));
	json_t *cs, *c;
	size_t i;
	int r;

	if (!s)
		return -ENOMEM;
	s->failed = -1;
	cs = json_object_get(td, "containerDefinitions");
	json_array_foreach(cs, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *list = json_object_get(c, "secrets"), *e;
		size_t j;

		if (!list)
			continue;
		if (!name)
			return fail_with(ret_error, "containerDefinitions[%zu] has no name", i);
		if (!json_is_array(list) || json_array_size(list) > SECRETS_MAX)
			return fail_with(ret_error,
					 "container '%s': secrets must be an array of at most %d",
					 name, SECRETS_MAX);
		json_array_foreach(list, j, e) {
			r = secrets_add(s, name, e, j, ret_error);
			if (r < 0)
				return r;
		}
	}
	if (s->n && !json_is_string(json_object_get(td, "executionRoleArn")))
		return fail_with(
			ret_error,
			"container '%s': secrets need the task definition's executionRoleArn (the role that fetches them)",
			s->v[0].container);
	*ret = TAKE_PTR(s);
	return 0;
}

/* The first revision of any version that allows what want() asks, for the error message. */
static const struct platform *first_revision(bool (*want)(const struct platform *))
{
	const struct platform *const *all = platform_all();

	for (size_t i = 0; all[i]; i++)
		for (unsigned int r = 0; r < all[i]->n_revisions; r++)
			if (want(&all[i]->revisions[r]))
				return &all[i]->revisions[r];
	return NULL;
}

static bool allows_secrets(const struct platform *p)
{
	return p->secrets.supported;
}

static bool allows_json_key(const struct platform *p)
{
	return p->secrets.json_key_and_version;
}

static int refuse(const struct secret *sec, const struct platform *p, const char *what,
		  bool (*want)(const struct platform *), char **ret_error)
{
	const struct platform *later = first_revision(want);
	char buf[260];

	if (later)
		return fail_with(
			ret_error,
			"container '%s': secret '%s' (%s): %s not supported on platform version %s revision %u (they are from %s revision %u)",
			sec->container, sec->name, printable(sec->value_from, buf), what,
			p->version, p->revision, later->version, later->revision);
	return fail_with(
		ret_error,
		"container '%s': secret '%s' (%s): %s not supported on platform version %s",
		sec->container, sec->name, printable(sec->value_from, buf), what, p->version);
}

int secrets_check_platform(const struct secrets *s, const struct platform *p, char **ret_error)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct secret *sec = &s->v[i];

		if (!p->secrets.supported)
			return refuse(sec, p, "secrets are", allows_secrets, ret_error);
		if ((sec->json_key || sec->version_stage || sec->version_id) &&
		    !p->secrets.json_key_and_version)
			return refuse(sec, p, "JSON keys and versions in valueFrom are",
				      allows_json_key, ret_error);
	}
	return 0;
}

size_t secrets_count(const struct secrets *s)
{
	return s ? s->n : 0;
}

const struct secret *secrets_get(const struct secrets *s, size_t i)
{
	return s && i < s->n ? &s->v[i] : NULL;
}

void secrets_bytes(const struct secrets *s, uint64_t *ret_sent, uint64_t *ret_received)
{
	*ret_sent = s->sent;
	*ret_received = s->received;
}

struct secrets *secrets_free(struct secrets *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		secret_done(&s->v[i]);
	free(s->v);
	free(s);
	return NULL;
}

/* --- answers ------------------------------------------------------------------------------- */

int secrets_error_parse(const char *type_header, const char *body, size_t len, char **ret_code,
			char **ret_message)
{
	json_auto_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
	const char *type = type_header, *msg;
	const char *start, *end;

	if (!type || !*type)
		type = json_string_value(json_object_get(j, "__type"));
	msg = json_string_value(json_object_get(j, "message"));
	if (!msg)
		msg = json_string_value(json_object_get(j, "Message"));
	*ret_code = *ret_message = NULL;
	if (type) {
		/* "com.amazonaws.secretsmanager#ResourceNotFoundException", or "Code:http://..." */
		start = strrchr(type, '#');
		start = start ? start + 1 : type;
		end = start + strcspn(start, ":");
		if (end > start) {
			*ret_code = dup_n(start, (size_t)(end - start));
			if (!*ret_code)
				return -ENOMEM;
		}
	}
	if (msg) {
		*ret_message = strdup(msg);
		if (!*ret_message) {
			free(*ret_code);
			*ret_code = NULL;
			return -ENOMEM;
		}
	}
	return *ret_code || *ret_message ? 0 : -EINVAL;
}

/*
 * A JSON number as ECS's agent makes it a string: Go's %v of a float64, the shortest digits that
 * read back the same number, as %e when the exponent is below -4 or at least 6 (1e+06), else as
 * %f (5432, 0.25).
 */
static int format_number(double v, char *buf, size_t size)
{
	char e[64];
	int digits, exp;

	if (!isfinite(v))
		return -EINVAL;
	for (digits = 1; digits <= 17; digits++) {
		snprintf(e, sizeof(e), "%.*e", digits - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6)
		snprintf(buf, size, "%s", e);
	else
		snprintf(buf, size, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
	return 0;
}

/* key's member of the secret's text as a JSON object, as ECS makes it a string. */
static int json_key_value(const struct secret *s, const char *text, size_t len, char **ret,
			  char **ret_error)
{
	json_auto_t *j = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
	json_t *v;
	char num[64];

	if (!json_is_object(j))
		return fail_errno(ret_error, -EINVAL,
				  "the secret is not a JSON object, so it has no key '%s'",
				  s->json_key);
	v = json_object_get(j, s->json_key);
	if (!v)
		return fail_errno(ret_error, -ENOENT, "the secret has no JSON key '%s'",
				  s->json_key);
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (strlen(json_string_value(v)) != json_string_length(v))
			return fail_with(ret_error, "JSON key '%s' holds a NUL byte", s->json_key);
		*ret = strdup(json_string_value(v));
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		if (format_number(json_number_value(v), num, sizeof(num)) < 0)
			return fail_with(ret_error, "JSON key '%s' holds a number out of range",
					 s->json_key);
		*ret = strdup(num);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		*ret = strdup(json_is_true(v) ? "true" : "false");
		break;
	case JSON_NULL:
	case JSON_OBJECT:
	case JSON_ARRAY:
		return fail_with(ret_error,
				 "JSON key '%s' holds %s, not a string, a number or a boolean",
				 s->json_key,
				 json_is_null(v)    ? "null"
				 : json_is_array(v) ? "an array"
						    : "an object");
	}
	return *ret ? 0 : -ENOMEM;
}

int secret_from_get_secret_value(const struct secret *s, const char *body, size_t len, char **ret,
				 size_t *ret_len, char **ret_error)
{
	json_auto_t *j = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
	json_t *str;
	char *v = NULL;
	int r;

	if (!json_is_object(j))
		return fail_errno(ret_error, -EPROTO,
				  "GetSecretValue's answer is not a JSON object");
	str = json_object_get(j, "SecretString");
	if (!str && json_object_get(j, "SecretBinary"))
		return fail_with(
			ret_error,
			"the secret is binary (SecretBinary): only a SecretString can be an environment variable");
	if (!json_is_string(str))
		return fail_errno(ret_error, -EPROTO,
				  "GetSecretValue's answer has no SecretString");
	if (json_string_length(str) > SECRETS_MAX_VALUE)
		return fail_with(ret_error, "the secret is larger than %d bytes",
				 SECRETS_MAX_VALUE);
	if (s->json_key) {
		r = json_key_value(s, json_string_value(str), json_string_length(str), &v,
				   ret_error);
		if (r < 0)
			return r;
	} else {
		if (strlen(json_string_value(str)) != json_string_length(str))
			return fail_with(
				ret_error,
				"the secret holds a NUL byte, which an environment variable cannot");
		v = strdup(json_string_value(str));
		if (!v)
			return -ENOMEM;
	}
	*ret_len = strlen(v);
	*ret = v;
	return 0;
}

int secrets_from_get_parameters(struct secret *const *batch, size_t n, const char *body, size_t len,
				char **ret_error)
{
	json_auto_t *j = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
	json_t *params, *invalid, *p;
	char buf[260];
	size_t i;

	if (!json_is_object(j))
		return fail_errno(ret_error, -EPROTO, "GetParameters' answer is not a JSON object");
	params = json_object_get(j, "Parameters");
	invalid = json_object_get(j, "InvalidParameters");
	if ((params && !json_is_array(params)) || (invalid && !json_is_array(invalid)))
		return fail_errno(ret_error, -EPROTO, "GetParameters' answer is malformed");
	json_array_foreach(invalid, i, p) {
		const char *name = json_string_value(p);

		for (size_t k = 0; name && k < n; k++)
			if (streq(batch[k]->id, name))
				return fail_errno(
					ret_error, -ENOENT,
					"secret '%s' (%s): InvalidParameters: SSM Parameter Store has no parameter '%s'",
					batch[k]->name, printable(batch[k]->value_from, buf),
					batch[k]->id);
	}
	for (size_t k = 0; k < n; k++) {
		json_t *found = NULL;
		const char *v;

		json_array_foreach(params, i, p) {
			const char *name = json_string_value(json_object_get(p, "Name"));
			const char *arn = json_string_value(json_object_get(p, "ARN"));

			if ((name && streq(name, batch[k]->id)) ||
			    (arn && streq(arn, batch[k]->id)))
				found = p;
		}
		if (!found)
			return fail_errno(
				ret_error, -EPROTO,
				"secret '%s' (%s): GetParameters' answer does not have it",
				batch[k]->name, printable(batch[k]->value_from, buf));
		v = json_string_value(json_object_get(found, "Value"));
		if (!v)
			return fail_errno(ret_error, -EPROTO,
					  "secret '%s' (%s): the parameter has no Value",
					  batch[k]->name, printable(batch[k]->value_from, buf));
		if (json_string_length(json_object_get(found, "Value")) != strlen(v) ||
		    strlen(v) > SECRETS_MAX_VALUE)
			return fail_with(
				ret_error,
				"secret '%s' (%s): the value holds a NUL byte or is larger than %d bytes",
				batch[k]->name, printable(batch[k]->value_from, buf),
				SECRETS_MAX_VALUE);
		batch[k]->value = strdup(v);
		if (!batch[k]->value)
			return -ENOMEM;
		batch[k]->value_len = strlen(v);
	}
	return 0;
}

/* --- fetching ------------------------------------------------------------------------------ */

/* One fetch: a libcurl handle kept across requests (a connection per endpoint). */
struct fetch {
	struct secrets *s;
	const struct secrets_opts *o;
	CURL *h;
	struct flowsock sock;
	uint64_t deadline;
	struct {
		char *hostport;
		char *entry;
		char *first;
	} hosts[HOSTS_MAX];
	size_t n_hosts;
	char errbuf[CURL_ERROR_SIZE];
	/* the answer */
	long status;
	char *error_type; /* x-amzn-ErrorType */
	char *body;
	size_t len;
	bool too_big;
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	static const char name[] = "x-amzn-ErrorType:";
	struct fetch *f = userdata;
	size_t len = size * nmemb, n = sizeof(name) - 1;

	f->s->received += len;
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		free(f->error_type);
		f->error_type = NULL;
		return len;
	}
	if (len > n && len < HEADER_VALUE_MAX && !strncasecmp(data, name, n)) {
		const char *v = data + n, *end = data + len;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		free(f->error_type);
		f->error_type = dup_n(v, (size_t)(end - v));
	}
	return len;
}

/* What is sent, counted as it goes: the request heads and bodies (before TLS). */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct fetch *f = userdata;

	if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT)
		f->s->sent += size;
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct fetch *f = userdata;
	size_t len = size * nmemb;
	char *b;

	f->s->received += len;
	if (f->len + len > SECRETS_MAX_RESPONSE) {
		f->too_big = true;
		return 0;
	}
	b = malloc(f->len + len + 1);
	if (!b)
		return 0;
	/* not realloc(): the old copy is zeroed, it may hold a secret */
	if (f->body) {
		memcpy(b, f->body, f->len);
		explicit_bzero(f->body, f->len);
		free(f->body);
	}
	memcpy(b + f->len, data, len);
	f->len += len;
	b[f->len] = '\0';
	f->body = b;
	return len;
}

static void answer_reset(struct fetch *f)
{
	if (f->body)
		explicit_bzero(f->body, f->len);
	free(f->body);
	free(f->error_type);
	f->body = f->error_type = NULL;
	f->len = 0;
	f->status = 0;
	f->too_big = false;
}

static void curl_freep(char **p)
{
	curl_free(*p);
}

static void curlu_cleanupp(CURLU **u)
{
	curl_url_cleanup(*u);
}

/* The endpoint's URL, host and port (for the Host header and the resolve entry). */
static int endpoint_of(const struct fetch *f, const struct secret *sec, char **ret_url,
		       char **ret_host, long *ret_port, bool *ret_default_port, char **ret_error)
{
	const char *configured = sec->source == SECRET_SOURCE_SSM ? f->o->ssm_endpoint
								  : f->o->secretsmanager_endpoint;
	const char *region = sec->region ?: f->o->region;
	_cleanup_(curlu_cleanupp) CURLU *u = curl_url();
	_cleanup_(curl_freep) char *host = NULL, *port = NULL, *scheme = NULL, *url = NULL;
	_cleanup_(curl_freep) char *given_port = NULL;
	_cleanup_free_ char *made = NULL;

	if (!u)
		return -ENOMEM;
	if (!configured) {
		if (!region)
			return fail_with(ret_error, "no region to find the endpoint in");
		if (asprintf(&made, "https://%s.%s.amazonaws.com%s",
			     sec->source == SECRET_SOURCE_SSM ? "ssm" : "secretsmanager", region,
			     sec->partition && streq(sec->partition, "aws-cn") ? ".cn" : "") < 0) {
			made = NULL;
			return -ENOMEM;
		}
		configured = made;
	}
	if (curl_url_set(u, CURLUPART_URL, configured, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (!streq(scheme, "https") && !streq(scheme, "http")) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, "/", 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		return fail_with(ret_error, "bad endpoint '%s' (http[s]://HOST[:PORT])",
				 configured);
	*ret_default_port = curl_url_get(u, CURLUPART_PORT, &given_port, 0) != CURLUE_OK;
	*ret_url = strdup(url);
	*ret_host = strdup(host);
	*ret_port = strtol(port, NULL, 10);
	if (!*ret_url || !*ret_host) {
		free(*ret_url);
		free(*ret_host);
		return -ENOMEM;
	}
	return 0;
}

/* The CURLOPT_RESOLVE entry of host:port (looked up once per fetch), or NULL for a literal. */
static int resolve(struct fetch *f, const char *host, long port, const char **ret_entry,
		   const char **ret_first, char **ret_error)
{
	_cleanup_free_ char *hostport = NULL, *entry = NULL, *first = NULL;
	int r;

	*ret_entry = *ret_first = NULL;
	if (asprintf(&hostport, "%s:%ld", host, port) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_hosts; i++)
		if (streq(f->hosts[i].hostport, hostport)) {
			*ret_entry = f->hosts[i].entry;
			*ret_first = f->hosts[i].first;
			return 0;
		}
	if (f->n_hosts == HOSTS_MAX)
		return fail_with(ret_error, "more than %d endpoints", HOSTS_MAX);
	r = flowsock_resolve(&f->sock, f->o->nameservers, f->deadline, host, port, &entry, &first,
			     ret_error);
	if (r < 0)
		return r;
	f->hosts[f->n_hosts].hostport = TAKE_PTR(hostport);
	f->hosts[f->n_hosts].entry = TAKE_PTR(entry);
	f->hosts[f->n_hosts].first = TAKE_PTR(first);
	*ret_entry = f->hosts[f->n_hosts].entry;
	*ret_first = f->hosts[f->n_hosts].first;
	f->n_hosts++;
	return 0;
}

static struct curl_slist *add_header(struct curl_slist *l, bool *ok, const char *fmt, ...)
	_printf_(3, 4);

static struct curl_slist *add_header(struct curl_slist *l, bool *ok, const char *fmt, ...)
{
	_cleanup_free_ char *h = NULL;
	struct curl_slist *n;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&h, fmt, ap);
	va_end(ap);
	if (r < 0) {
		h = NULL;
		*ok = false;
		return l;
	}
	n = curl_slist_append(l, h);
	explicit_bzero(h, strlen(h));
	if (!n) {
		*ok = false;
		return l;
	}
	return n;
}

/* -errno and a message for a failed curl_easy_perform(). */
static int transfer_error(struct fetch *f, CURLcode cc, const char *where, char **ret_error)
{
	const char *detail = f->errbuf[0] ? f->errbuf : curl_easy_strerror(cc);
	long os_errno = 0;
	int r;

	curl_easy_getinfo(f->h, CURLINFO_OS_ERRNO, &os_errno);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		if (f->sock.error < 0)
			return fail_errno(ret_error, f->sock.error,
					  "cannot open a socket for %s: %s", where,
					  strerror(-f->sock.error));
		r = os_errno > 0 ? -(int)os_errno : -ECONNREFUSED;
		return fail_errno(ret_error, r, "cannot connect to %s: %s", where, strerror(-r));
	case CURLE_OPERATION_TIMEDOUT:
		return fail_errno(ret_error, -ETIMEDOUT, "%s: timed out (%s)", where, detail);
	case CURLE_WRITE_ERROR:
		if (f->too_big)
			return fail_errno(ret_error, -EFBIG, "%s: an answer larger than %d bytes",
					  where, SECRETS_MAX_RESPONSE);
		return fail_errno(ret_error, -ENOMEM, "%s: %s", where, detail);
	default:
		return fail_errno(ret_error, -EPROTO, "%s: %s", where, detail);
	}
}

/*
 * POST body to sec's service (target: X-Amz-Target) and leave the answer in f. An HTTP error
 * is not an error here; the caller reads it.
 */
static int call(struct fetch *f, const struct secret *sec, const char *target, const char *body,
		char **ret_error)
{
	_cleanup_free_ char *url = NULL, *host = NULL, *hosthdr = NULL, *authz = NULL;
	const struct creds *c = f->o->creds;
	const char *entry, *first, *service;
	char date[SIGV4_DATE_LEN + 1], where[512];
	struct curl_slist *headers = NULL, *res = NULL;
	bool default_port = true, ok = true;
	long port = 0;
	CURLcode cc;
	int r;

	r = endpoint_of(f, sec, &url, &host, &port, &default_port, ret_error);
	if (r < 0)
		return r;
	r = resolve(f, host, port, &entry, &first, ret_error);
	if (r < 0)
		return r;
	snprintf(where, sizeof(where), "%s:%ld%s%s%s", host, port, first ? " (" : "", first ?: "",
		 first ? ")" : "");
	if (now_usec() >= f->deadline)
		return fail_errno(ret_error, -ETIMEDOUT, "%s: out of time", where);

	if (default_port)
		hosthdr = strdup(host);
	else if (asprintf(&hosthdr, "%s:%ld", host, port) < 0)
		hosthdr = NULL;
	if (!hosthdr)
		return -ENOMEM;
	sigv4_format_date(time(NULL), date);
	service = sec->source == SECRET_SOURCE_SSM ? "ssm" : "secretsmanager";
	{
		struct sigv4_header h[] = {
			{ "Host", hosthdr },
			{ "Content-Type", JSON_CONTENT_TYPE },
			{ "X-Amz-Date", date },
			{ "X-Amz-Target", target },
			{ "X-Amz-Security-Token", c->token },
		};
		struct sigv4_request req = {
			.method = "POST",
			.path = "/",
			.headers = h,
			.n_headers = c->token && *c->token ? ARRAY_SIZE(h) : ARRAY_SIZE(h) - 1,
			.payload = body,
			.payload_len = strlen(body),
		};
		struct sigv4_key key = {
			.access_key_id = c->access_key_id,
			.secret_access_key = c->secret_access_key,
			.region = sec->region ?: f->o->region,
			.service = service,
			.amz_date = date,
		};

		r = sigv4_authorization(&req, &key, &authz);
		if (r < 0)
			return fail_errno(ret_error, r, "cannot sign the request: %s",
					  r == -EINVAL
						  ? "the credentials or the region are malformed"
						  : strerror(-r));
		headers = add_header(headers, &ok, "Host: %s", hosthdr);
		headers = add_header(headers, &ok, "Content-Type: %s", JSON_CONTENT_TYPE);
		headers = add_header(headers, &ok, "X-Amz-Date: %s", date);
		headers = add_header(headers, &ok, "X-Amz-Target: %s", target);
		if (req.n_headers == ARRAY_SIZE(h))
			headers = add_header(headers, &ok, "X-Amz-Security-Token: %s", c->token);
		headers = add_header(headers, &ok, "Authorization: %s", authz);
		headers = add_header(headers, &ok, "Accept:");
		headers = add_header(headers, &ok, "Expect:");
		explicit_bzero(authz, strlen(authz));
	}
	if (entry && !(res = curl_slist_append(NULL, entry)))
		ok = false;
	if (!ok) {
		curl_slist_free_all(headers);
		return -ENOMEM;
	}

	answer_reset(f);
	f->errbuf[0] = '\0';
	f->sock.error = 0;
	curl_easy_setopt(f->h, CURLOPT_URL, url);
	curl_easy_setopt(f->h, CURLOPT_RESOLVE, res);
	curl_easy_setopt(f->h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(f->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(f->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(f->h, CURLOPT_TIMEOUT_MS, (long)MAX((f->deadline - now_usec()) / 1000, 1));
	cc = curl_easy_perform(f->h);
	curl_easy_setopt(f->h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(f->h, CURLOPT_RESOLVE, NULL);
	curl_slist_free_all(headers);
	curl_slist_free_all(res);
	if (cc != CURLE_OK)
		return transfer_error(f, cc, where, ret_error);
	curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &f->status);
	return 0;
}

/* The message of a failed answer in f, for secret sec. */
static int service_error(struct fetch *f, const struct secret *sec, char **ret_error)
{
	_cleanup_free_ char *code = NULL, *msg = NULL;
	char buf[260], mbuf[260];
	int r;

	if (secrets_error_parse(f->error_type, f->body, f->len, &code, &msg) == -ENOMEM)
		return -ENOMEM;
	if (code && (streq(code, "ResourceNotFoundException") || streq(code, "ParameterNotFound")))
		r = -ENOENT;
	else if (f->status == 403 ||
		 (code &&
		  (strstr(code, "Signature") || strstr(code, "UnrecognizedClient") ||
		   strstr(code, "AccessDenied") || strstr(code, "Token") || strstr(code, "Auth"))))
		r = -EACCES;
	else if (f->status >= 500 || f->status == 429)
		r = -EIO;
	else
		r = -EPROTO;
	return fail_errno(ret_error, r, "secret '%s' (%s): %s%s%s%s", sec->name,
			  printable(sec->value_from, buf), code ?: "", code ? ": " : "",
			  msg ? printable(msg, mbuf) : "",
			  !code && !msg ? "HTTP error without an AWS error body" : "");
}

static int fetch_ssm(struct fetch *f, struct secret *const *batch, size_t n, char **ret_error)
{
	_cleanup_free_ char *body = NULL, *err = NULL;
	json_auto_t *req = json_pack("{s:[], s:b}", "Names", "WithDecryption", true);
	json_t *names = json_object_get(req, "Names");
	char buf[260];
	int r;

	if (!req)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(names, json_string(batch[i]->id));
	body = json_dumps(req, JSON_COMPACT);
	if (!body)
		return -ENOMEM;
	r = call(f, batch[0], "AmazonSSM.GetParameters", body, &err);
	if (r < 0)
		return fail_errno(ret_error, r, "secret '%s' (%s): %s", batch[0]->name,
				  printable(batch[0]->value_from, buf), err ?: strerror(-r));
	if (f->status != 200)
		return service_error(f, batch[0], ret_error);
	return secrets_from_get_parameters(batch, n, f->body, f->len, ret_error);
}

/* Asked of the same service in the same region (an SSM name is in the task's). */
static bool same_place(const struct fetch *f, const struct secret *a, const struct secret *b)
{
	return a->source == b->source &&
	       streq_ptr(a->region ?: f->o->region, b->region ?: f->o->region);
}

/* The same request: the same id (and version) of the same service and region. Secrets that
 * differ by their JSON key only are one request. */
static bool same_request(const struct fetch *f, const struct secret *a, const struct secret *b)
{
	return same_place(f, a, b) && streq(a->id, b->id) &&
	       streq_ptr(a->version_stage, b->version_stage) &&
	       streq_ptr(a->version_id, b->version_id);
}

/* Whether a secret before the i-th makes the same request. */
static bool asked_before(const struct fetch *f, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (same_request(f, &f->s->v[k], &f->s->v[i]))
			return true;
	return false;
}

/* GetSecretValue of the i-th secret; its value, and that of every later one of the same request
 * (their JSON keys), from the answer. */
static int fetch_secretsmanager(struct fetch *f, size_t i, char **ret_error)
{
	struct secret *sec = &f->s->v[i];
	_cleanup_free_ char *body = NULL, *err = NULL;
	json_auto_t *req = json_pack("{s:s}", "SecretId", sec->id);
	char buf[260];
	int r;

	if (!req)
		return -ENOMEM;
	if (sec->version_stage)
		json_object_set_new(req, "VersionStage", json_string(sec->version_stage));
	if (sec->version_id)
		json_object_set_new(req, "VersionId", json_string(sec->version_id));
	body = json_dumps(req, JSON_COMPACT);
	if (!body)
		return -ENOMEM;
	r = call(f, sec, "secretsmanager.GetSecretValue", body, &err);
	if (r < 0)
		return fail_errno(ret_error, r, "secret '%s' (%s): %s", sec->name,
				  printable(sec->value_from, buf), err ?: strerror(-r));
	if (f->status != 200)
		return service_error(f, sec, ret_error);
	for (size_t k = i; k < f->s->n; k++) {
		struct secret *o = &f->s->v[k];

		if (o->value || !same_request(f, sec, o))
			continue;
		r = secret_from_get_secret_value(o, f->body, f->len, &o->value, &o->value_len,
						 &err);
		if (r < 0)
			return fail_errno(ret_error, r, "secret '%s' (%s): %s", o->name,
					  printable(o->value_from, buf), err ?: strerror(-r));
	}
	return 0;
}

static int fetch_all(struct fetch *f, char **ret_error)
{
	struct secrets *s = f->s;
	int r;

	/* Secrets Manager: one request per secret and version */
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].source != SECRET_SOURCE_SECRETS_MANAGER || s->v[i].value ||
		    asked_before(f, i))
			continue;
		r = fetch_secretsmanager(f, i, ret_error);
		if (r < 0) {
			s->failed = (ssize_t)i;
			return r;
		}
	}
	/* SSM: up to 10 names of a region per request, each name once */
	for (size_t i = 0; i < s->n; i++) {
		struct secret *batch[SECRETS_SSM_BATCH];
		size_t n = 0;

		if (s->v[i].source != SECRET_SOURCE_SSM || s->v[i].value || asked_before(f, i))
			continue;
		for (size_t k = i; k < s->n && n < SECRETS_SSM_BATCH; k++)
			if (same_place(f, &s->v[i], &s->v[k]) && !s->v[k].value &&
			    !asked_before(f, k))
				batch[n++] = &s->v[k];
		r = fetch_ssm(f, batch, n, ret_error);
		if (r < 0) {
			s->failed = (ssize_t)i;
			return r;
		}
	}
	/* an SSM name asked twice: the first one's value */
	for (size_t i = 0; i < s->n; i++) {
		const struct secret *first = NULL;

		for (size_t k = 0; k < i && !s->v[i].value && !first; k++)
			if (same_request(f, &s->v[k], &s->v[i]))
				first = &s->v[k];
		if (!first)
			continue;
		s->v[i].value = dup_n(first->value, first->value_len);
		if (!s->v[i].value)
			return -ENOMEM;
		s->v[i].value_len = first->value_len;
	}
	return 0;
}

static void forget_values(struct secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].value)
			explicit_bzero(s->v[i].value, s->v[i].value_len);
		free(s->v[i].value);
		s->v[i].value = NULL;
		s->v[i].value_len = 0;
	}
}

int secrets_fetch(struct secrets *s, const struct secrets_opts *o, char **ret_error)
{
	struct fetch f = { .s = s, .o = o };
	int64_t now = (int64_t)(realtime_nsec() / 1000000000ULL);
	int r;

	if (ret_error)
		*ret_error = NULL;
	forget_values(s);
	s->sent = s->received = 0;
	s->failed = -1;
	if (s->n == 0)
		return 0;
	/* what follows fails before any request: on the first secret */
	s->failed = 0;
	if (!o->creds || !o->creds->access_key_id || !o->creds->secret_access_key)
		return fail_with(
			ret_error,
			"secret '%s': no credentials of the execution role to fetch it with",
			s->v[0].name);
	if (o->creds->expiration_sec && o->creds->expiration_sec <= now)
		return fail_errno(ret_error, -EACCES,
				  "secret '%s': the execution role's credentials expired at %s",
				  s->v[0].name, o->creds->expiration ?: "?");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	f.h = curl_easy_init();
	if (!f.h) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	f.sock = (struct flowsock){ .netns_fd = o->netns_fd, .mark = o->mark };
	f.deadline = now_usec() + 1000ULL * (o->timeout_ms ?: DEFAULT_TIMEOUT);
	curl_easy_setopt(f.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f.h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f.h, CURLOPT_PROXY, "");
	curl_easy_setopt(f.h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(f.h, CURLOPT_USERAGENT, "taskplane/" TP_VERSION);
	curl_easy_setopt(f.h, CURLOPT_OPENSOCKETFUNCTION, flowsock_curl_open);
	curl_easy_setopt(f.h, CURLOPT_OPENSOCKETDATA, &f.sock);
	curl_easy_setopt(f.h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(f.h, CURLOPT_HEADERDATA, &f);
	curl_easy_setopt(f.h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f.h, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(f.h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(f.h, CURLOPT_DEBUGDATA, &f);
	curl_easy_setopt(f.h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(f.h, CURLOPT_ERRORBUFFER, f.errbuf);
	curl_easy_setopt(f.h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(o->connect_timeout_ms ?: DEFAULT_CONNECT_TIMEOUT));
	if (o->ca_file)
		curl_easy_setopt(f.h, CURLOPT_CAINFO, o->ca_file);

	s->failed = -1;
	r = fetch_all(&f, ret_error);
	if (r < 0)
		forget_values(s);
	answer_reset(&f);
	for (size_t i = 0; i < f.n_hosts; i++) {
		free(f.hosts[i].hostport);
		free(f.hosts[i].entry);
		free(f.hosts[i].first);
	}
	curl_easy_cleanup(f.h);
	curl_global_cleanup();
	return r;
}

const struct secret *secrets_failed(const struct secrets *s)
{
	return s->failed >= 0 && (size_t)s->failed < s->n ? &s->v[s->failed] : NULL;
}
