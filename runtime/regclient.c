// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <strings.h>

#include "flowsock.h"
#include "image-ref.h"
#include "image-spec.h"
#include "regclient.h"
#include "util.h"

#define REDIRECTS_MAX		5
#define ERROR_BODY_MAX		(64 * 1024)
#define TOKEN_BODY_MAX		(1024 * 1024)
#define CHALLENGES_MAX		4
#define HEADER_VALUE_MAX	8192
#define DEFAULT_CONNECT_TIMEOUT 10000
#define DEFAULT_STALL_TIMEOUT	30000
#define RESOLVED_MAX		8

struct resolved {
	char *hostport; /* "host:port" as in CURLOPT_RESOLVE */
	char *entry;	/* "host:port:addr,addr" */
	char *first;	/* the first address, for messages */
};

struct regclient {
	struct regclient_opts o;
	char *base; /* "https://host:port" */
	char *host; /* the registry's host, as in its URLs */
	long port;
	CURL *pull;
	CURL *auth;
	struct flowsock pull_sock;
	struct flowsock auth_sock;
	char *authorization; /* "Authorization: ..." for the registry, once known */
	struct resolved resolved[RESOLVED_MAX];
	size_t n_resolved;
	uint64_t bytes;
	char errbuf[CURL_ERROR_SIZE];
};

/* Where a 2xx body goes, and what it must be. */
struct sink {
	int fd;	   /* >= 0: append here; else memory */
	char *buf; /* memory */
	size_t len;
	size_t max;	/* memory: at most this much */
	int64_t expect; /* exact size, or -1 */
	EVP_MD_CTX *md;
	bool progress; /* report bytes to opts.progress */
};

/* One HTTP exchange. */
struct xfer {
	struct regclient *c;
	struct sink *sink;
	long status;
	char *content_type;
	char *docker_digest;
	char *location;
	char *challenges[CHALLENGES_MAX];
	size_t n_challenges;
	char *errbody; /* body of a non-2xx answer, bounded */
	size_t errlen;
	uint64_t body_bytes; /* of the 2xx body */
	int stop;	     /* -errno why a callback stopped the transfer */
};

static void xfer_reset(struct xfer *x)
{
	free(x->content_type);
	free(x->docker_digest);
	free(x->location);
	for (size_t i = 0; i < x->n_challenges; i++)
		free(x->challenges[i]);
	free(x->errbody);
	*x = (struct xfer){ .c = x->c, .sink = x->sink };
}

static void curl_freep(char **p)
{
	curl_free(*p);
}
#define _cleanup_curl_free_ _cleanup_(curl_freep)

static void curl_url_cleanupp(CURLU **u)
{
	curl_url_cleanup(*u);
}
#define _cleanup_curlu_ _cleanup_(curl_url_cleanupp)

static void md_freep(EVP_MD_CTX **m)
{
	EVP_MD_CTX_free(*m);
}

/* --- pure parsers -------------------------------------------------------------------------- */

void regclient_challenge_done(struct regclient_challenge *ch)
{
	if (!ch)
		return;
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
	*ch = (struct regclient_challenge){};
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or quoted-string at *p into a new string; *p moves past it. */
static int param_value(const char **p, char **ret)
{
	const char *s = *p;
	char *v, *o;

	if (*s == '"') {
		s++;
		v = malloc(strlen(s) + 1);
		if (!v)
			return -ENOMEM;
		o = v;
		for (; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			*o++ = *s;
		}
		if (*s != '"') {
			free(v);
			return -EINVAL;
		}
		*o = '\0';
		*p = s + 1;
	} else {
		while (is_tchar(*s) || *s == '/' || *s == ':' || *s == '=')
			s++;
		if (s == *p)
			return -EINVAL;
		v = strndup(*p, (size_t)(s - *p));
		if (!v)
			return -ENOMEM;
		*p = s;
	}
	*ret = v;
	return 0;
}

int regclient_challenge_parse(const char *value, struct regclient_challenge *ret)
{
	_cleanup_(regclient_challenge_done) struct regclient_challenge ch = {};
	const char *p = skip_ows(value), *scheme = p;
	size_t scheme_len;

	while (is_tchar(*p))
		p++;
	scheme_len = (size_t)(p - scheme);
	if (scheme_len == 6 && !strncasecmp(scheme, "Bearer", 6))
		ch.scheme = REGCLIENT_AUTH_BEARER;
	else if (scheme_len == 5 && !strncasecmp(scheme, "Basic", 5))
		ch.scheme = REGCLIENT_AUTH_BASIC;
	else
		return scheme_len ? -EPROTONOSUPPORT : -EINVAL;
	if (*p && *p != ' ' && *p != '\t' && *p != ',')
		return -EINVAL;

	/* #auth-param: name BWS "=" BWS (token / quoted-string), comma separated. A name without
	 * "=" starts the next challenge. */
	for (;;) {
		const char *name;
		size_t name_len;
		char *v = NULL, **slot = NULL;
		int r;

		p = skip_ows(p);
		while (*p == ',')
			p = skip_ows(p + 1);
		if (!*p)
			break;
		name = p;
		while (is_tchar(*p))
			p++;
		name_len = (size_t)(p - name);
		if (name_len == 0)
			return -EINVAL;
		p = skip_ows(p);
		if (*p != '=')
			break;
		p = skip_ows(p + 1);
		r = param_value(&p, &v);
		if (r < 0)
			return r;
		if (name_len == 5 && !strncasecmp(name, "realm", 5))
			slot = &ch.realm;
		else if (name_len == 7 && !strncasecmp(name, "service", 7))
			slot = &ch.service;
		else if (name_len == 5 && !strncasecmp(name, "scope", 5))
			slot = &ch.scope;
		if (slot && !*slot)
			*slot = v;
		else
			free(v);
		p = skip_ows(p);
		if (*p && *p != ',')
			return -EINVAL;
	}
	if (ch.scheme == REGCLIENT_AUTH_BEARER && (!ch.realm || !*ch.realm))
		return -EINVAL;
	*ret = ch;
	ch = (struct regclient_challenge){};
	return 0;
}

int regclient_token_parse(const char *buf, size_t len, char **ret_token, char **ret_error)
{
	json_auto_t *root = NULL;
	json_error_t jerr;
	const char *t;
	json_t *v;

	root = json_loadb(buf, len, 0, &jerr);
	if (!root || !json_is_object(root))
		return fail_with(ret_error, "the token server's answer is not a JSON object");
	v = json_object_get(root, "token");
	if (!json_is_string(v) || !*json_string_value(v))
		v = json_object_get(root, "access_token");
	if (!json_is_string(v) || !*json_string_value(v))
		return fail_with(ret_error, "the token server's answer has no token");
	t = json_string_value(v);
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return fail_with(ret_error, "the token server's token has bad characters");
	if (strlen(t) > HEADER_VALUE_MAX)
		return fail_with(ret_error, "the token server's token is too long");
	*ret_token = strdup(t);
	return *ret_token ? 0 : -ENOMEM;
}

/* Printable ASCII only, at most n bytes: what goes into an error message from outside. */
static void put_sanitized(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++)
		fputc((unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f ? s[i] : '?', f);
}

int regclient_errors_parse(const char *buf, size_t len, char **ret_text)
{
	json_auto_t *root = NULL;
	_cleanup_free_ char *text = NULL;
	size_t text_len = 0, i;
	json_t *arr, *e;
	FILE *f;

	root = json_loadb(buf, len, 0, NULL);
	arr = json_object_get(root, "errors");
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return -EINVAL;
	f = open_memstream(&text, &text_len);
	if (!f)
		return -ENOMEM;
	json_array_foreach(arr, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		if (i == 4) {
			fputs("; ...", f);
			break;
		}
		if (i)
			fputs("; ", f);
		put_sanitized(f, code ?: "?", 64);
		if (msg) {
			fputs(": ", f);
			put_sanitized(f, msg, 256);
		}
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret_text = TAKE_PTR(text);
	return 0;
}

/* --- names --------------------------------------------------------------------------------- */

/*
 * The CURLOPT_RESOLVE entry for host:port, resolved (once per client) with the client's
 * nameservers on sockets of spec. NULL entry for IP literals (nothing to resolve).
 */
static int resolve_host(struct regclient *c, struct flowsock *spec, const char *host, long port,
			const struct resolved **ret, char **ret_error)
{
	_cleanup_free_ char *hostport = NULL, *entry = NULL, *first = NULL;
	int r;

	*ret = NULL;
	if (asprintf(&hostport, "%s:%ld", host, port) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_resolved; i++)
		if (streq(c->resolved[i].hostport, hostport)) {
			*ret = &c->resolved[i];
			return 0;
		}
	r = flowsock_resolve(spec, c->o.nameservers, c->o.deadline_usec, host, port, &entry, &first,
			     ret_error);
	if (r < 0 || !entry)
		return r;

	if (c->n_resolved == RESOLVED_MAX) {
		/* Forget the oldest: the same name is simply resolved again when needed. */
		free(c->resolved[0].hostport);
		free(c->resolved[0].entry);
		free(c->resolved[0].first);
		memmove(&c->resolved[0], &c->resolved[1],
			sizeof(c->resolved[0]) * (RESOLVED_MAX - 1));
		c->n_resolved--;
	}
	c->resolved[c->n_resolved] = (struct resolved){
		.hostport = TAKE_PTR(hostport),
		.entry = TAKE_PTR(entry),
		.first = TAKE_PTR(first),
	};
	*ret = &c->resolved[c->n_resolved++];
	return 0;
}

/* --- libcurl callbacks --------------------------------------------------------------------- */

static bool status_ok(long s)
{
	return s >= 200 && s < 300;
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v, *end = line + len;
	char *out;

	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	v = line + n + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - v) > HEADER_VALUE_MAX)
		return NULL;
	/* libcurl's line is not NUL-terminated: no strndup(). */
	out = malloc((size_t)(end - v) + 1);
	if (!out)
		return NULL;
	memcpy(out, v, (size_t)(end - v));
	out[end - v] = '\0';
	return out;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;
	char *v;

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* A new response (after a 1xx): forget the previous one's headers. */
		const char *sp = memchr(data, ' ', len);

		xfer_reset(x);
		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	if ((v = header_value(data, len, "Content-Type"))) {
		free(x->content_type);
		x->content_type = v;
	} else if ((v = header_value(data, len, "Docker-Content-Digest"))) {
		free(x->docker_digest);
		x->docker_digest = v;
	} else if ((v = header_value(data, len, "Location"))) {
		free(x->location);
		x->location = v;
	} else if ((v = header_value(data, len, "WWW-Authenticate"))) {
		if (x->n_challenges < CHALLENGES_MAX)
			x->challenges[x->n_challenges++] = v;
		else
			free(v);
	}
	return len;
}

/* A non-2xx body: kept (bounded) for the error message. */
static size_t keep_error_body(struct xfer *x, const char *data, size_t len)
{
	size_t keep = MIN(len, ERROR_BODY_MAX - x->errlen);
	char *b;

	if (keep == 0)
		return len;
	b = realloc(x->errbody, x->errlen + keep + 1);
	if (!b) {
		x->stop = -ENOMEM;
		return 0;
	}
	memcpy(b + x->errlen, data, keep);
	x->errlen += keep;
	b[x->errlen] = '\0';
	x->errbody = b;
	return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	struct sink *s = x->sink;
	size_t len = size * nmemb;

	x->c->bytes += len;
	if (!status_ok(x->status))
		return keep_error_body(x, data, len);

	if (s->expect >= 0 && x->body_bytes + len > (uint64_t)s->expect) {
		x->stop = -EFBIG;
		return 0;
	}
	if (s->fd >= 0) {
		int r = write_all(s->fd, data, len);

		if (r < 0) {
			x->stop = r;
			return 0;
		}
	} else {
		char *b;

		if (s->len + len > s->max) {
			x->stop = -EFBIG;
			return 0;
		}
		b = realloc(s->buf, s->len + len + 1);
		if (!b) {
			x->stop = -ENOMEM;
			return 0;
		}
		memcpy(b + s->len, data, len);
		s->len += len;
		b[s->len] = '\0';
		s->buf = b;
	}
	if (EVP_DigestUpdate(s->md, data, len) != 1) {
		x->stop = -EIO;
		return 0;
	}
	x->body_bytes += len;
	if (s->progress && x->c->o.progress && x->c->o.progress(x->c->o.userdata, len)) {
		x->stop = -ECANCELED;
		return 0;
	}
	return len;
}

static int on_xferinfo(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = clientp;
	const struct regclient_opts *o = &x->c->o;

	if (o->cancel_fd >= 0) {
		struct pollfd p = { .fd = o->cancel_fd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0) {
			x->stop = -ECANCELED;
			return 1;
		}
	}
	if (o->deadline_usec && now_usec() >= o->deadline_usec) {
		x->stop = -ETIMEDOUT;
		return 1;
	}
	return 0;
}

/* --- the client ---------------------------------------------------------------------------- */

static void handle_setup(struct regclient *c, CURL *h, struct flowsock *spec)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "taskplane/" TP_VERSION);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, flowsock_curl_open);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, spec);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(c->o.connect_timeout_ms ?: DEFAULT_CONNECT_TIMEOUT));
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
			 (long)(((c->o.stall_timeout_ms ?: DEFAULT_STALL_TIMEOUT) + 999) / 1000));
	if (c->o.ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
}

/* Split url into scheme, host (IPv6 without brackets) and port. */
static int url_host_port(const char *url, char **ret_scheme, char **ret_host, long *ret_port)
{
	_cleanup_curlu_ CURLU *u = curl_url();
	_cleanup_curl_free_ char *scheme = NULL, *host = NULL, *port = NULL;
	size_t n;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		return -EINVAL;
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		*ret_host = strndup(host + 1, n - 2);
	else
		*ret_host = strdup(host);
	*ret_scheme = strdup(scheme);
	*ret_port = strtol(port, NULL, 10);
	if (!*ret_scheme || !*ret_host) {
		free(*ret_scheme);
		free(*ret_host);
		return -ENOMEM;
	}
	return 0;
}

/* The absolute URL of a Location relative to base. */
static int url_join(const char *base, const char *location, char **ret)
{
	_cleanup_curlu_ CURLU *u = curl_url();
	_cleanup_curl_free_ char *s = NULL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		return -EINVAL;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

struct regclient *regclient_new(const struct regclient_opts *opts)
{
	struct regclient *c;
	_cleanup_free_ char *scheme = NULL;

	if (!opts || !opts->host || !opts->repository) {
		errno = EINVAL;
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errno = EIO;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		curl_global_cleanup();
		errno = ENOMEM;
		return NULL;
	}
	c->o = *opts;
	c->pull_sock = (struct flowsock){ .netns_fd = opts->netns_fd, .mark = opts->pull_mark };
	c->auth_sock = (struct flowsock){ .netns_fd = opts->netns_fd, .mark = opts->auth_mark };
	c->pull = curl_easy_init();
	c->auth = curl_easy_init();
	if (!c->pull || !c->auth ||
	    asprintf(&c->base, "%s://%s", opts->insecure ? "http" : "https", opts->host) < 0) {
		c->base = NULL;
		regclient_free(c);
		errno = ENOMEM;
		return NULL;
	}
	if (url_host_port(c->base, &scheme, &c->host, &c->port) < 0) {
		regclient_free(c);
		errno = EINVAL;
		return NULL;
	}
	handle_setup(c, c->pull, &c->pull_sock);
	handle_setup(c, c->auth, &c->auth_sock);
	return c;
}

struct regclient *regclient_free(struct regclient *c)
{
	if (!c)
		return NULL;
	curl_easy_cleanup(c->pull);
	curl_easy_cleanup(c->auth);
	for (size_t i = 0; i < c->n_resolved; i++) {
		free(c->resolved[i].hostport);
		free(c->resolved[i].entry);
		free(c->resolved[i].first);
	}
	if (c->authorization)
		explicit_bzero(c->authorization, strlen(c->authorization));
	free(c->authorization);
	free(c->base);
	free(c->host);
	free(c);
	curl_global_cleanup();
	return NULL;
}

uint64_t regclient_bytes_received(const struct regclient *c)
{
	return c->bytes;
}

void regclient_manifest_done(struct regclient_manifest *m)
{
	if (!m)
		return;
	free(m->body);
	free(m->content_type);
	free(m->digest);
	*m = (struct regclient_manifest){};
}

/* -errno and a message for a failed curl_easy_perform(). */
static int transfer_error(struct regclient *c, CURL *h, const struct xfer *x, CURLcode cc,
			  const struct flowsock *spec, const char *what, const char *where,
			  char **ret_error)
{
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
	long os_errno = 0;
	double connect_time = 0;
	int r;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(h, CURLINFO_CONNECT_TIME, &connect_time);

	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_WRITE_ERROR:
		r = x->stop ?: -EIO;
		if (r == -ECANCELED)
			return fail_errno(ret_error, r, "%s: cancelled", what);
		if (r == -ETIMEDOUT)
			return fail_errno(ret_error, r,
					  "%s from %s: out of time (the pull's timeout)", what,
					  where);
		if (r == -EFBIG)
			return fail_errno(ret_error, r, "%s from %s: more data than expected", what,
					  where);
		return fail_errno(ret_error, r, "%s from %s: cannot store it: %s", what, where,
				  strerror(-r));
	case CURLE_COULDNT_CONNECT:
		if (spec->error < 0)
			return fail_errno(ret_error, spec->error,
					  "%s: cannot open a socket for %s: %s", what, where,
					  strerror(-spec->error));
		r = os_errno > 0 ? -(int)os_errno : -ECONNREFUSED;
		return fail_errno(ret_error, r, "%s: cannot connect to %s: %s", what, where,
				  strerror(-r));
	case CURLE_OPERATION_TIMEDOUT:
		/* CURLOPT_TIMEOUT_MS is what is left of the deadline: say which limit it was. */
		if (c->o.deadline_usec && now_usec() + 50000 >= c->o.deadline_usec)
			return fail_errno(ret_error, -ETIMEDOUT,
					  "%s from %s: out of time (the pull's timeout)", what,
					  where);
		if (connect_time <= 0)
			return fail_errno(ret_error, -ETIMEDOUT,
					  "%s: cannot connect to %s: timed out (%s)", what, where,
					  detail);
		return fail_errno(ret_error, -ETIMEDOUT, "%s from %s: timed out (%s)", what, where,
				  detail);
	case CURLE_SSL_CONNECT_ERROR:
		return fail_errno(
			ret_error, -EPROTO,
			"%s from %s: %s (a registry that speaks plain HTTP must be configured insecure)",
			what, where, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
		return fail_errno(ret_error, -EPROTO, "%s from %s: %s", what, where, detail);
	default:
		return fail_errno(ret_error, -EIO, "%s from %s: %s", what, where, detail);
	}
}

/* One GET on handle h: resolve, perform. Leaves status, headers and body in x. */
static int perform(struct regclient *c, CURL *h, struct flowsock *spec, const char *url,
		   const char *accept, const char *authorization, const char *userpwd,
		   struct xfer *x, const char *what, char **ret_error)
{
	struct curl_slist *headers = NULL, *resolve = NULL;
	_cleanup_free_ char *scheme = NULL, *host = NULL, *accept_h = NULL;
	const struct resolved *res = NULL;
	char where[512];
	long port = 0;
	CURLcode cc;
	int r;

	r = url_host_port(url, &scheme, &host, &port);
	if (r < 0)
		return fail_errno(ret_error, r, "%s: bad URL '%s'", what, url);
	r = resolve_host(c, spec, host, port, &res, ret_error);
	if (r < 0)
		return r;
	snprintf(where, sizeof(where), "%s:%ld%s%s%s", host, port, res ? " (" : "",
		 res ? res->first : "", res ? ")" : "");
	if (c->o.deadline_usec) {
		uint64_t now = now_usec();

		if (now >= c->o.deadline_usec)
			return fail_errno(ret_error, -ETIMEDOUT,
					  "%s: out of time (the pull's timeout)", what);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
				 (long)MAX((c->o.deadline_usec - now) / 1000, 1));
	}

	r = -ENOMEM;
	if (res && !(resolve = curl_slist_append(NULL, res->entry)))
		goto out;
	if (accept) {
		struct curl_slist *l;

		if (asprintf(&accept_h, "Accept: %s", accept) < 0) {
			accept_h = NULL;
			goto out;
		}
		if (!(l = curl_slist_append(headers, accept_h)))
			goto out;
		headers = l;
	}
	if (authorization) {
		struct curl_slist *l = curl_slist_append(headers, authorization);

		if (!l)
			goto out;
		headers = l;
	}

	spec->error = 0;
	c->errbuf[0] = '\0';
	xfer_reset(x);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	if (userpwd)
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
	cc = curl_easy_perform(h);
	/* The lists die with this call: libcurl must not keep pointers to them. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_RESOLVE, NULL);
	curl_easy_setopt(h, CURLOPT_USERPWD, NULL);
	if (cc != CURLE_OK)
		r = transfer_error(c, h, x, cc, spec, what, where, ret_error);
	else
		r = 0;
out:
	curl_slist_free_all(headers);
	curl_slist_free_all(resolve);
	return r;
}

static char *basic_header(const char *user, const char *password)
{
	_cleanup_free_ char *plain = NULL, *enc = NULL;
	char *h;
	int n;

	n = asprintf(&plain, "%s:%s", user, password ?: "");
	if (n < 0)
		return NULL;
	enc = malloc(4 * (((size_t)n + 2) / 3) + 1);
	if (!enc) {
		explicit_bzero(plain, (size_t)n);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain, n);
	explicit_bzero(plain, (size_t)n);
	if (asprintf(&h, "Authorization: Basic %s", enc) < 0)
		h = NULL;
	explicit_bzero(enc, strlen(enc));
	return h;
}

static int md_new(EVP_MD_CTX **ret)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -EIO;
	}
	*ret = md;
	return 0;
}

static int md_final(EVP_MD_CTX *md, char ret[7 + 64 + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(md, d, &n) != 1 || n != 32)
		return -EIO;
	memcpy(ret, "sha256:", 7);
	for (unsigned int i = 0; i < n; i++)
		snprintf(ret + 7 + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* Ask the challenge's realm for a token on the auth handle; sets c->authorization. */
static int fetch_token(struct regclient *c, const struct regclient_challenge *ch, char **ret_error)
{
	_cleanup_free_ char *url = NULL, *scope = NULL, *userpwd = NULL, *token = NULL;
	_cleanup_free_ char *scheme = NULL, *host = NULL;
	_cleanup_curl_free_ char *e_service = NULL, *e_scope = NULL;
	_cleanup_(md_freep) EVP_MD_CTX *md = NULL;
	struct sink sink = { .fd = -1, .max = TOKEN_BODY_MAX, .expect = -1 };
	struct xfer x = { .c = c, .sink = &sink };
	long port;
	int r;

	r = md_new(&md);
	if (r < 0)
		return r;
	sink.md = md;
	r = url_host_port(ch->realm, &scheme, &host, &port);
	if (r < 0)
		return fail_errno(ret_error, -EPROTO, "registry %s: bad token realm '%s'",
				  c->o.host, ch->realm);
	if (!streq(scheme, "https") && !(streq(scheme, "http") && c->o.insecure))
		return fail_errno(
			ret_error, -EPROTO,
			"registry %s: the token realm '%s' is not https (allowed only for an insecure registry)",
			c->o.host, ch->realm);

	if (ch->scope)
		scope = strdup(ch->scope);
	else if (asprintf(&scope, "repository:%s:pull", c->o.repository) < 0)
		scope = NULL;
	if (!scope)
		return -ENOMEM;
	e_scope = curl_easy_escape(c->auth, scope, 0);
	e_service = ch->service ? curl_easy_escape(c->auth, ch->service, 0) : NULL;
	if (!e_scope || (ch->service && !e_service))
		return -ENOMEM;
	if (asprintf(&url, "%s%sscope=%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
		     e_scope, e_service ? "&service=" : "", e_service ?: "") < 0) {
		url = NULL;
		return -ENOMEM;
	}
	if (c->o.username && asprintf(&userpwd, "%s:%s", c->o.username, c->o.password ?: "") < 0)
		return -ENOMEM;

	r = perform(c, c->auth, &c->auth_sock, url, "application/json", NULL, userpwd, &x,
		    "token request", ret_error);
	if (userpwd)
		explicit_bzero(userpwd, strlen(userpwd));
	if (r < 0)
		goto out;
	if (x.status == 401 || x.status == 403) {
		if (c->o.username)
			r = fail_errno(
				ret_error, -EACCES,
				"registry %s: the token server %s refused the credentials of user '%s' (HTTP %ld)",
				c->o.host, host, c->o.username, x.status);
		else
			r = fail_errno(
				ret_error, -EACCES,
				"registry %s: the token server %s refused anonymous access (HTTP %ld): credentials are needed",
				c->o.host, host, x.status);
		goto out;
	}
	if (!status_ok(x.status)) {
		r = fail_errno(ret_error, -EPROTO,
			       "registry %s: the token server %s answered HTTP %ld", c->o.host,
			       host, x.status);
		goto out;
	}
	r = regclient_token_parse(sink.buf ?: "", sink.len, &token, ret_error);
	if (r < 0) {
		r = r == -ENOMEM ? r : -EPROTO;
		goto out;
	}
	if (c->authorization)
		explicit_bzero(c->authorization, strlen(c->authorization));
	free(c->authorization);
	if (asprintf(&c->authorization, "Authorization: Bearer %s", token) < 0) {
		c->authorization = NULL;
		r = -ENOMEM;
	}
	explicit_bzero(token, strlen(token));
out:
	if (sink.buf)
		explicit_bzero(sink.buf, sink.len);
	free(sink.buf);
	xfer_reset(&x);
	return r;
}

/* After a 401 from the registry: set c->authorization from its challenges. */
static int authenticate(struct regclient *c, const struct xfer *x, char **ret_error)
{
	struct regclient_challenge best = {}, ch;
	bool have = false;
	int r = -EACCES;

	for (size_t i = 0; i < x->n_challenges; i++) {
		if (regclient_challenge_parse(x->challenges[i], &ch) < 0)
			continue;
		if (!have ||
		    (best.scheme == REGCLIENT_AUTH_BASIC && ch.scheme == REGCLIENT_AUTH_BEARER)) {
			regclient_challenge_done(&best);
			best = ch;
			have = true;
		} else {
			regclient_challenge_done(&ch);
		}
	}
	if (!have)
		return fail_errno(
			ret_error, -EACCES,
			"registry %s: authentication required, but no Basic or Bearer challenge understood",
			c->o.host);

	switch (best.scheme) {
	case REGCLIENT_AUTH_BEARER:
		r = fetch_token(c, &best, ret_error);
		break;
	case REGCLIENT_AUTH_BASIC:
		if (!c->o.username) {
			r = fail_errno(
				ret_error, -EACCES,
				"registry %s: authentication required (Basic), and no credentials were given",
				c->o.host);
			break;
		}
		free(c->authorization);
		c->authorization = basic_header(c->o.username, c->o.password);
		r = c->authorization ? 0 : -ENOMEM;
		break;
	}
	regclient_challenge_done(&best);
	return r;
}

static int status_error(struct regclient *c, const struct xfer *x, const char *what,
			char **ret_error)
{
	_cleanup_free_ char *detail = NULL;
	const char *sep;

	if (x->errbody && regclient_errors_parse(x->errbody, x->errlen, &detail) < 0)
		detail = NULL;
	sep = detail ? ": " : "";
	switch (x->status) {
	case 401:
	case 403:
		if (c->o.username)
			return fail_errno(
				ret_error, -EACCES,
				"%s: registry %s refused the credentials of user '%s' (HTTP %ld%s%s)",
				what, c->o.host, c->o.username, x->status, sep, detail ?: "");
		return fail_errno(
			ret_error, -EACCES,
			"%s: registry %s refused access (HTTP %ld%s%s): credentials are needed",
			what, c->o.host, x->status, sep, detail ?: "");
	case 404:
		return fail_errno(ret_error, -ENOENT, "%s: not found in registry %s (HTTP 404%s%s)",
				  what, c->o.host, sep, detail ?: "");
	default:
		return fail_errno(ret_error, x->status == 429 || x->status >= 500 ? -EIO : -EPROTO,
				  "%s: registry %s answered HTTP %ld%s%s", what, c->o.host,
				  x->status, sep, detail ?: "");
	}
}

/*
 * GET base + path on the pull handle into x->sink: authentication (one retry after a 401, one
 * more with a fresh Bearer token), redirects. 0 with a 2xx status in x, or -errno. The caller
 * frees x's contents with xfer_reset().
 */
static int registry_get(struct regclient *c, const char *path, const char *accept, struct xfer *x,
			const char *what, char **ret_error)
{
	_cleanup_free_ char *url = NULL;
	unsigned int auths = 0, redirects = 0;
	int r;

	if (asprintf(&url, "%s%s", c->base, path) < 0)
		return -ENOMEM;
	for (;;) {
		_cleanup_free_ char *scheme = NULL, *host = NULL, *next = NULL;
		_cleanup_free_ char *nscheme = NULL, *nhost = NULL;
		long port = 0, nport = 0;
		bool same;

		r = url_host_port(url, &scheme, &host, &port);
		if (r < 0)
			return fail_errno(ret_error, -EPROTO, "%s: bad URL '%s'", what, url);
		/* Credentials go to the registry itself only, never where it redirects. */
		same = streq(host, c->host) && port == c->port &&
		       streq(scheme, c->o.insecure ? "http" : "https");
		r = perform(c, c->pull, &c->pull_sock, url, accept, same ? c->authorization : NULL,
			    NULL, x, what, ret_error);
		if (r < 0)
			return r;

		if (x->status == 401 && same && auths < 2) {
			if (auths == 1 && c->authorization &&
			    startswith(c->authorization, "Authorization: Basic"))
				break;
			auths++;
			r = authenticate(c, x, ret_error);
			if (r < 0)
				return r;
			continue;
		}
		if (x->status != 301 && x->status != 302 && x->status != 303 && x->status != 307 &&
		    x->status != 308)
			break;
		if (!x->location)
			return fail_errno(ret_error, -EPROTO, "%s: redirect without a Location",
					  what);
		if (++redirects > REDIRECTS_MAX)
			return fail_errno(ret_error, -EPROTO, "%s: more than %d redirects", what,
					  REDIRECTS_MAX);
		r = url_join(url, x->location, &next);
		if (r == 0)
			r = url_host_port(next, &nscheme, &nhost, &nport);
		if (r < 0 ||
		    (!streq(nscheme, "https") && !(streq(nscheme, "http") && c->o.insecure)))
			return fail_errno(ret_error, -EPROTO,
					  "%s: redirect to a bad or insecure URL", what);
		free(url);
		url = TAKE_PTR(next);
	}

	if (!status_ok(x->status))
		return status_error(c, x, what, ret_error);
	if (x->sink->expect >= 0 && x->body_bytes != (uint64_t)x->sink->expect)
		return fail_errno(ret_error, -EBADMSG,
				  "%s: got %" PRIu64 " bytes, its descriptor says %" PRId64, what,
				  x->body_bytes, x->sink->expect);
	return 0;
}

int regclient_get_manifest(struct regclient *c, const char *reference, size_t max,
			   struct regclient_manifest *ret, char **ret_error)
{
	_cleanup_(md_freep) EVP_MD_CTX *md = NULL;
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct sink sink = { .fd = -1, .max = max, .expect = -1 };
	struct xfer x = { .c = c, .sink = &sink };
	char digest[7 + 64 + 1];
	int r;

	r = md_new(&md);
	if (r < 0)
		return r;
	sink.md = md;
	if (asprintf(&path, "/v2/%s/manifests/%s", c->o.repository, reference) < 0 ||
	    asprintf(&what, "manifest %s%s%s", c->o.repository,
		     startswith(reference, "sha256:") ? "@" : ":", reference) < 0)
		return -ENOMEM;

	r = registry_get(c, path, IMAGE_MANIFEST_ACCEPT, &x, what, ret_error);
	if (r < 0)
		goto out;
	r = md_final(md, digest);
	if (r < 0)
		goto out;
	if (startswith(reference, "sha256:") && !streq(reference, digest)) {
		r = fail_errno(ret_error, -EBADMSG,
			       "%s: digest mismatch, the registry's content hashes to %s", what,
			       digest);
		goto out;
	}
	if (x.docker_digest && image_digest_valid(x.docker_digest) &&
	    !streq(x.docker_digest, digest)) {
		r = fail_errno(
			ret_error, -EBADMSG,
			"%s: digest mismatch, the registry says %s but the content hashes to %s",
			what, x.docker_digest, digest);
		goto out;
	}
	ret->body = sink.buf ?: strdup("");
	ret->len = sink.len;
	ret->content_type = TAKE_PTR(x.content_type);
	ret->digest = strdup(digest);
	sink.buf = NULL;
	if (!ret->body || !ret->digest) {
		regclient_manifest_done(ret);
		r = -ENOMEM;
	}
out:
	free(sink.buf);
	xfer_reset(&x);
	return r;
}

static int get_blob(struct regclient *c, const char *digest, struct sink *sink, char **ret_error)
{
	_cleanup_(md_freep) EVP_MD_CTX *md = NULL;
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct xfer x = { .c = c, .sink = sink };
	char got[7 + 64 + 1];
	int r;

	if (!image_digest_valid(digest))
		return fail_errno(ret_error, -EINVAL, "bad blob digest '%s'", digest);
	r = md_new(&md);
	if (r < 0)
		return r;
	sink->md = md;
	if (asprintf(&path, "/v2/%s/blobs/%s", c->o.repository, digest) < 0 ||
	    asprintf(&what, "blob %s of %s", digest, c->o.repository) < 0)
		return -ENOMEM;
	r = registry_get(c, path, NULL, &x, what, ret_error);
	if (r == 0)
		r = md_final(md, got);
	if (r == 0 && !streq(got, digest))
		r = fail_errno(
			ret_error, -EBADMSG,
			"%s: digest mismatch, the content hashes to %s (corrupt in the registry or on the way)",
			what, got);
	xfer_reset(&x);
	sink->md = NULL;
	return r;
}

int regclient_get_blob_fd(struct regclient *c, const char *digest, int64_t size, int fd,
			  char **ret_error)
{
	struct sink sink = { .fd = fd, .expect = size, .progress = true };

	if (size < 0)
		return -EINVAL;
	return get_blob(c, digest, &sink, ret_error);
}

int regclient_get_blob_mem(struct regclient *c, const char *digest, int64_t size, char **ret_buf,
			   char **ret_error)
{
	struct sink sink = { .fd = -1, .max = (size_t)size, .expect = size };
	int r;

	if (size < 0)
		return -EINVAL;
	r = get_blob(c, digest, &sink, ret_error);
	if (r < 0) {
		free(sink.buf);
		return r;
	}
	*ret_buf = sink.buf ?: strdup("");
	return *ret_buf ? 0 : -ENOMEM;
}
