// SPDX-License-Identifier: GPL-2.0-only
/*
 * vpcd: the service of the test VPC.
 *
 *   vpcd [--http ADDR:PORT] [--udp ADDR:PORT] [--body TEXT] [--quiet]
 *        [--dns ADDR:PORT] [--dns-name NAME=IPV4]... [--token-file FILE [--token-user U:P]]
 *        [--secrets ADDR:PORT --secrets-file FILE]
 *
 * HTTP: any GET (or HEAD) gets "200 OK", text/plain, "Connection: close" and the body
 * "hello from the test VPC, you are <client ip>\n" (or TEXT). Requests are bounded to 8 KiB,
 * idle clients are closed after 5 s, and at most 256 clients are served at once.
 * With --token-file, GET /token[?...] is a registry token server: with the Basic credentials
 * U:P (or any, without --token-user) it answers {"token": <the file's first line>,
 * "expires_in": 3600} as application/json; otherwise 401 with a Basic challenge.
 * Secrets (--secrets): an AWS JSON 1.1 endpoint shaped like Secrets Manager's GetSecretValue
 * (X-Amz-Target: secretsmanager.GetSecretValue) and SSM's GetParameters (AmazonSSM.GetParameters),
 * answering from FILE, read again for every request:
 *   {"credentials": {"AccessKeyId", "SecretAccessKey"[, "Token"]}, "account": "123456789012",
 *    "secrets": {ARN: {STAGE: {"VersionId", "SecretString"}}}, "parameters": {NAME: VALUE}}
 * Requests must be signed (SigV4, runtime/sigv4.h) with those credentials, for the service of
 * the target, within 15 minutes; otherwise, and for what FILE does not have, the answer is AWS's
 * error shape, {"__type": CODE, "message": ...} with status 400. Connections are kept alive; each
 * logs, when it closes, the bytes it read and wrote ("vpcd: secrets connection from IP: N bytes
 * in, M bytes out, K requests") for the tests' exact flow checks.
 * UDP: every datagram is echoed back to its sender unchanged.
 * DNS (UDP): queries for the names of --dns-name get their address (A, class IN), other types
 * of a known name an empty NOERROR answer, unknown names NXDOMAIN. Authoritative, no
 * recursion; each query is logged unless --quiet.
 *
 * Single-threaded, poll() based, no fork. SIGTERM or SIGINT ends it with status 0.
 * ADDR is IPv4 or [IPv6]; PORT 0 picks a free port, and the bound address is printed
 * on stdout as "vpcd: http ADDR:PORT" / "vpcd: udp ADDR:PORT" followed by "vpcd: ready".
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <jansson.h>

#include "addr.h"
#include "sigv4.h"
#include "sock.h"
#include "util.h"

#define VPCD_MAX_CLIENTS 256
#define VPCD_REQ_MAX	 8192
#define VPCD_IDLE_USEC	 (5ULL * 1000000ULL)
#define VPCD_UDP_BURST	 64
#define VPCD_DNS_NAMES	 16
#define VPCD_TOKEN_MAX	 8192
#define VPCD_FIXED_FDS	 5 /* signalfd, http, udp, dns, secrets */
#define VPCD_HEADERS_MAX 64
#define VPCD_SKEW_SEC	 (15 * 60) /* how far X-Amz-Date may be from now */
#define VPCD_ACCOUNT	 "123456789012"

enum client_state {
	CLIENT_STATE_READING,  /* collecting the request head */
	CLIENT_STATE_WRITING,  /* sending the response */
	CLIENT_STATE_DRAINING, /* response sent, write side shut, waiting for the peer's EOF */
};

struct client {
	int fd;
	bool secrets; /* of the --secrets listener: AWS JSON 1.1, kept alive */
	enum client_state state;
	size_t want;	   /* secrets: the request's length, head and body, once the head is in */
	uint64_t bytes_in; /* secrets: what the connection read and wrote */
	uint64_t bytes_out;
	unsigned int requests;
	uint64_t deadline;
	char peer[INET6_ADDRSTRLEN];
	size_t len;
	char req[VPCD_REQ_MAX];
	char *out;
	size_t out_len;
	size_t out_off;
};

static struct client *clients[VPCD_MAX_CLIENTS];
static unsigned int n_clients;
static const char *opt_body;
static bool opt_quiet;

struct dns_name {
	char name[256];
	struct in_addr addr;
};
static struct dns_name dns_names[VPCD_DNS_NAMES];
static unsigned int n_dns_names;
static const char *secrets_file;
static char *token;	       /* --token-file's first line */
static char *token_basic;      /* base64 of --token-user's USER:PASSWORD */
static const char *token_user; /* USER, for the log */

static int parse_addr(const char *s, struct sockaddr_storage *ret_ss, socklen_t *ret_len)
{
	return addr_sockaddr_parse(s, true, ret_ss, ret_len);
}

static void format_addr(const struct sockaddr_storage *ss, char *ip, size_t ip_size,
			unsigned int *ret_port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)ip_size);
		if (ret_port)
			*ret_port = ntohs(sin6->sin6_port);
	} else {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)ip_size);
		if (ret_port)
			*ret_port = ntohs(sin->sin_port);
	}
}

/* Bind a socket of the given type to ADDR:PORT and print what it got. Returns the fd or -errno. */
static int open_listener(const char *what, const char *spec, int type)
{
	char bound[ADDR_SOCKADDR_STRLEN];
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r;

	if (parse_addr(spec, &ss, &len) < 0) {
		fprintf(stderr,
			"vpcd: invalid %s address '%s', expected ADDR:PORT or [ADDR6]:PORT\n", what,
			spec);
		return -EINVAL;
	}
	r = sock_listen(spec, &(struct sock_listen_opts){ .type = type }, &fd, bound,
			sizeof(bound));
	if (r < 0) {
		fprintf(stderr, "vpcd: cannot set up %s on %s: %s\n", what, spec, strerror(-r));
		return r;
	}
	printf("vpcd: %s %s\n", what, bound);
	return fd;
}

static void client_free(unsigned int i)
{
	struct client *c = clients[i];

	if (c->secrets && !opt_quiet)
		fprintf(stderr,
			"vpcd: secrets connection from %s: %llu bytes in, %llu bytes out, %u requests\n",
			c->peer, (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
			c->requests);
	close(c->fd);
	free(c->out);
	free(c);
	clients[i] = clients[--n_clients];
	clients[n_clients] = NULL;
}

static bool client_room(void *data)
{
	return n_clients < VPCD_MAX_CLIENTS;
}

static int client_take(int fd, const struct sockaddr_storage *peer, void *data)
{
	struct client *c = calloc(1, sizeof(*c));
	bool *secrets = data;

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->secrets = *secrets;
	c->state = CLIENT_STATE_READING;
	c->deadline = now_usec() + VPCD_IDLE_USEC;
	format_addr(peer, c->peer, sizeof(c->peer), NULL);
	clients[n_clients++] = c;
	return 0;
}

/* While there is room: the others wait in the backlog. */
static void accept_clients(int lfd, bool secrets)
{
	static const struct sock_accept_ops ops = { .room = client_room, .take = client_take };
	int r = sock_accept_all(lfd, &ops, &secrets);

	if (r < 0)
		fprintf(stderr, "vpcd: accept: %s, ignoring\n", strerror(-r));
}

static char *base64(const unsigned char *in, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned int v = (unsigned int)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned int)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* "GET /token HTTP/1.1" or "GET /token?scope=... HTTP/1.1" */
static bool is_token_request(const char *req)
{
	return !strncmp(req, "GET /token ", 11) || !strncmp(req, "GET /token?", 11);
}

/* The value of header name in the request head, into buf; false if absent. */
static bool request_header(const char *req, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	for (const char *l = strchr(req, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		const char *v = l + 1, *end;

		if (strncasecmp(v, name, n) || v[n] != ':')
			continue;
		v += n + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		end = v + strcspn(v, "\r\n");
		if ((size_t)(end - v) >= size)
			return false;
		memcpy(buf, v, (size_t)(end - v));
		buf[end - v] = '\0';
		return true;
	}
	return false;
}

/* The token server: the token for the right Basic credentials (or anyone without them). */
static int token_response(struct client *c)
{
	char auth[1024], target[512];
	bool ok = !token_basic;
	const char *status;
	char *body = NULL;
	int n;

	if (token_basic && request_header(c->req, "Authorization", auth, sizeof(auth)) &&
	    !strncasecmp(auth, "Basic ", 6) && streq(auth + 6, token_basic))
		ok = true;
	snprintf(target, sizeof(target), "%.*s", (int)strcspn(c->req + 4, " \r\n"), c->req + 4);
	if (ok) {
		status = "200 OK";
		if (asprintf(&body, "{\"token\":\"%s\",\"expires_in\":3600}\n", token) < 0)
			return -ENOMEM;
	} else {
		status = "401 Unauthorized";
		body = strdup("{\"details\":\"bad credentials\"}\n");
		if (!body)
			return -ENOMEM;
	}
	n = asprintf(&c->out,
		     "HTTP/1.1 %s\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %zu\r\n"
		     "%s"
		     "Connection: close\r\n"
		     "\r\n%s",
		     status, strlen(body), ok ? "" : "WWW-Authenticate: Basic realm=\"token\"\r\n",
		     body);
	free(body);
	if (n < 0) {
		c->out = NULL;
		return -ENOMEM;
	}
	c->out_len = (size_t)n;
	c->out_off = 0;
	if (!opt_quiet)
		fprintf(stderr, "vpcd: token %s from %s (user %s): %.3s\n", target, c->peer,
			token_user ?: "-", status);
	return 0;
}

/* Build the response for the request head in c->req. */
static int client_prepare_response(struct client *c)
{
	char head[512];
	char body_buf[128];
	const char *body, *status, *extra = "";
	size_t body_len, method_len;
	bool send_body = true;
	int hlen;

	method_len = strcspn(c->req, " \r\n");
	if (token && method_len == 3 && !memcmp(c->req, "GET", 3) && is_token_request(c->req))
		return token_response(c);
	if (method_len == 3 && !memcmp(c->req, "GET", 3)) {
		status = "200 OK";
	} else if (method_len == 4 && !memcmp(c->req, "HEAD", 4)) {
		status = "200 OK";
		send_body = false;
	} else {
		status = "405 Method Not Allowed";
		extra = "Allow: GET, HEAD\r\n";
	}

	if (c->state == CLIENT_STATE_READING && c->len >= VPCD_REQ_MAX) {
		status = "431 Request Header Fields Too Large";
		extra = "";
		send_body = true;
	}

	if (strncmp(status, "200", 3)) {
		snprintf(body_buf, sizeof(body_buf), "%s\n", status);
		body = body_buf;
	} else if (opt_body) {
		body = opt_body;
	} else {
		snprintf(body_buf, sizeof(body_buf), "hello from the test VPC, you are %s\n",
			 c->peer);
		body = body_buf;
	}
	body_len = strlen(body);

	hlen = snprintf(head, sizeof(head),
			"HTTP/1.1 %s\r\n"
			"Content-Type: text/plain\r\n"
			"Content-Length: %zu\r\n"
			"%s"
			"Connection: close\r\n"
			"\r\n",
			status, body_len, extra);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return -EOVERFLOW;

	c->out_len = (size_t)hlen + (send_body ? body_len : 0);
	c->out = malloc(c->out_len);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, head, (size_t)hlen);
	if (send_body)
		memcpy(c->out + hlen, body, body_len);
	c->out_off = 0;

	if (!opt_quiet)
		fprintf(stderr, "vpcd: http %.*s from %s: %.3s\n", (int)MIN(method_len, 16), c->req,
			c->peer, status);
	return 0;
}

/* --- the secrets service ------------------------------------------------------------------- */

struct header {
	const char *name;
	size_t name_len;
	char *value; /* NUL-terminated in place */
};

/* A parsed request: its line and head (pointing into c->req, which it modifies) and body. */
struct request {
	char method[8];
	char *target; /* path[?query], NUL-terminated */
	struct header headers[VPCD_HEADERS_MAX];
	size_t n_headers;
	const char *body;
	size_t body_len;
};

static const char *request_get(const struct request *q, const char *name)
{
	for (size_t i = 0; i < q->n_headers; i++)
		if (q->headers[i].name_len == strlen(name) &&
		    !strncasecmp(q->headers[i].name, name, q->headers[i].name_len))
			return q->headers[i].value;
	return NULL;
}

/* The head's length and its Content-Length, once the head is complete; 0 before. */
static size_t secrets_want(const struct client *c)
{
	const char *end = memmem(c->req, c->len, "\r\n\r\n", 4), *cl;
	unsigned long long n = 0;
	size_t head;

	if (!end)
		return 0;
	head = (size_t)(end - c->req) + 4;
	for (cl = c->req; (cl = strcasestr(cl, "\r\nContent-Length:")) && cl < end; cl += 2) {
		n = strtoull(cl + 17, NULL, 10);
		break;
	}
	return head + (size_t)MIN(n, (unsigned long long)VPCD_REQ_MAX);
}

/* Split c->req (a complete request of c->want bytes) into q. */
static int request_parse(struct client *c, struct request *q)
{
	char *line = c->req, *end = memmem(c->req, c->len, "\r\n\r\n", 4), *sp, *sp2;

	*q = (struct request){};
	if (!end)
		return -EINVAL;
	*end = '\0';
	q->body = end + 4;
	q->body_len = c->want - (size_t)(q->body - c->req);
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) >= sizeof(q->method))
		return -EINVAL;
	memcpy(q->method, line, (size_t)(sp - line));
	q->target = sp + 1;
	sp2 = strchr(q->target, ' ');
	line = strstr(q->target, "\r\n");
	if (!sp2 || !line || sp2 > line)
		return -EINVAL;
	*sp2 = '\0';
	for (line += 2; line && *line;) {
		char *next = strstr(line, "\r\n"), *colon;

		if (next)
			*next = '\0';
		colon = strchr(line, ':');
		if (!colon || q->n_headers == VPCD_HEADERS_MAX)
			return -EINVAL;
		q->headers[q->n_headers].name = line;
		q->headers[q->n_headers].name_len = (size_t)(colon - line);
		for (colon++; *colon == ' ' || *colon == '\t'; colon++)
			;
		q->headers[q->n_headers++].value = colon;
		line = next ? next + 2 : NULL;
	}
	return 0;
}

/* The answer: status, and a JSON body (stolen). */
static int secrets_reply(struct client *c, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int n;

	json_decref(body);
	if (!text)
		return -ENOMEM;
	n = asprintf(&c->out,
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: application/x-amz-json-1.1\r\n"
		     "Content-Length: %zu\r\n"
		     "x-amzn-RequestId: vpcd-%u\r\n"
		     "\r\n%s",
		     status, status == 200 ? "OK" : "Bad Request", strlen(text), c->requests, text);
	free(text);
	if (n < 0) {
		c->out = NULL;
		return -ENOMEM;
	}
	c->out_len = (size_t)n;
	c->out_off = 0;
	return 0;
}

static int secrets_error(struct client *c, const char *code, const char *msg, const char *what)
{
	if (!opt_quiet)
		fprintf(stderr, "vpcd: secrets %s from %s: 400 %s\n", what, c->peer, code);
	return secrets_reply(c, 400, json_pack("{s:s, s:s}", "__type", code, "message", msg));
}

/* The Signature=... of an Authorization value, and its Credential=AKID/DATE/REGION/SERVICE. */
static bool authz_fields(const char *authz, char *cred, size_t cred_size, char *sig,
			 size_t sig_size)
{
	const char *c = strstr(authz, "Credential="), *s = strstr(authz, "Signature=");
	size_t n;

	if (!startswith(authz, SIGV4_ALGORITHM " ") || !c || !s)
		return false;
	c += 11;
	n = strcspn(c, ", ");
	if (n >= cred_size)
		return false;
	memcpy(cred, c, n);
	cred[n] = '\0';
	s += 10;
	n = strcspn(s, ", ");
	if (n >= sig_size)
		return false;
	memcpy(sig, s, n);
	sig[n] = '\0';
	return true;
}

/* Check the request's signature as AWS would; 0 or an error answer already made (1). */
static int secrets_verify(struct client *c, const struct request *q, json_t *file,
			  const char *service, const char *what)
{
	json_t *creds = json_object_get(file, "credentials");
	const char *akid = json_string_value(json_object_get(creds, "AccessKeyId"));
	const char *secret = json_string_value(json_object_get(creds, "SecretAccessKey"));
	const char *session = json_string_value(json_object_get(creds, "Token"));
	const char *authz = request_get(q, "Authorization"), *date = request_get(q, "X-Amz-Date");
	const char *signed_list;
	char cred[512], sig[128], scope_akid[256], scope_date[16], scope_region[64];
	char scope_service[64], path[1024], *query, *expected = NULL, want[128], *p;
	struct sigv4_header headers[VPCD_HEADERS_MAX];
	size_t n = 0;
	struct tm tm = {};
	int r;

	if (!authz)
		return secrets_error(c, "MissingAuthenticationTokenException",
				     "Missing Authentication Token", what)
			       ?: 1;
	if (!authz_fields(authz, cred, sizeof(cred), sig, sizeof(sig)) ||
	    sscanf(cred, "%255[^/]/%15[^/]/%63[^/]/%63[^/]/aws4_request", scope_akid, scope_date,
		   scope_region, scope_service) != 4 ||
	    !(signed_list = strstr(authz, "SignedHeaders=")))
		return secrets_error(
			       c, "IncompleteSignatureException",
			       "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'",
			       what)
			       ?: 1;
	if (!akid || !secret || !streq(scope_akid, akid) ||
	    (session && !streq_ptr(request_get(q, "X-Amz-Security-Token"), session)))
		return secrets_error(c, "UnrecognizedClientException",
				     "The security token included in the request is invalid.", what)
			       ?: 1;
	if (!streq(scope_service, service)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "Credential should be scoped to correct service: '%s'.",
			 service);
		return secrets_error(c, "InvalidSignatureException", msg, what) ?: 1;
	}
	if (!date || !strptime(date, "%Y%m%dT%H%M%SZ", &tm) || strncmp(date, scope_date, 8) ||
	    llabs((long long)(timegm(&tm) - time(NULL))) > VPCD_SKEW_SEC)
		return secrets_error(
			       c, "InvalidSignatureException",
			       "Signature expired or not yet current: X-Amz-Date is more than 15 minutes from now, or not the credential's date",
			       what)
			       ?: 1;
	/* the signed headers, as sent, in the request's order */
	signed_list += 14;
	for (size_t i = 0; i < q->n_headers; i++) {
		const char *l = signed_list;

		while (*l && *l != ',' && *l != ' ') {
			size_t len = strcspn(l, ";, ");

			if (len == q->headers[i].name_len &&
			    !strncasecmp(l, q->headers[i].name, len) && n < VPCD_HEADERS_MAX) {
				headers[n].name = strndupa(q->headers[i].name, len);
				headers[n++].value = q->headers[i].value;
				break;
			}
			l += len;
			if (*l == ';')
				l++;
		}
	}
	snprintf(path, sizeof(path), "%s", q->target);
	query = strchr(path, '?');
	if (query)
		*query++ = '\0';
	{
		struct sigv4_request req = { .method = q->method,
					     .path = path,
					     .query = query,
					     .headers = headers,
					     .n_headers = n,
					     .payload = q->body,
					     .payload_len = q->body_len };
		struct sigv4_key key = { .access_key_id = akid,
					 .secret_access_key = secret,
					 .region = scope_region,
					 .service = scope_service,
					 .amz_date = date };

		r = sigv4_authorization(&req, &key, &expected);
	}
	if (r < 0)
		return secrets_error(c, "InvalidSignatureException", "The request cannot be signed",
				     what)
			       ?: 1;
	p = strstr(expected, "Signature=");
	snprintf(want, sizeof(want), "%s", p ? p + 10 : "");
	free(expected);
	if (!streq(want, sig))
		return secrets_error(
			       c, "InvalidSignatureException",
			       "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
			       what)
			       ?: 1;
	return 0;
}

/* The secret of FILE that SecretId names: its full ARN, the ARN without the random suffix, or
 * its name; *ret_arn gets the key. */
static json_t *secret_lookup(json_t *secrets, const char *id, const char **ret_arn)
{
	const char *arn;
	json_t *v;

	json_object_foreach(secrets, arn, v) {
		const char *name = strstr(arn, ":secret:");
		size_t n = strlen(arn), bare = n > 7 && arn[n - 7] == '-' ? n - 7 : n;

		name = name ? name + 8 : arn;
		if (streq(arn, id) || (strlen(id) == bare && !strncmp(arn, id, bare)) ||
		    (strlen(id) == (size_t)(arn + bare - name) && !strncmp(name, id, strlen(id)))) {
			*ret_arn = arn;
			return v;
		}
	}
	return NULL;
}

static int get_secret_value(struct client *c, json_t *file, json_t *in)
{
	const char *what = "secretsmanager.GetSecretValue";
	const char *id = json_string_value(json_object_get(in, "SecretId"));
	const char *stage = json_string_value(json_object_get(in, "VersionStage"));
	const char *version = json_string_value(json_object_get(in, "VersionId"));
	const char *arn = NULL, *key, *name;
	json_t *secret, *v, *found = NULL;
	size_t bare;

	if (!id)
		return secrets_error(c, "InvalidParameterException", "SecretId is required", what);
	secret = secret_lookup(json_object_get(file, "secrets"), id, &arn);
	json_object_foreach(secret, key, v) {
		if (stage ? streq(key, stage)
			  : (version ? streq_ptr(json_string_value(json_object_get(v, "VersionId")),
						 version)
				     : streq(key, "AWSCURRENT"))) {
			if (stage && version &&
			    !streq_ptr(json_string_value(json_object_get(v, "VersionId")), version))
				break;
			found = v;
			stage = key;
			break;
		}
	}
	if (!found)
		return secrets_error(
			c, "ResourceNotFoundException",
			secret ? "Secrets Manager can't find the specified secret value for the version."
			       : "Secrets Manager can't find the specified secret.",
			what);
	name = strstr(arn, ":secret:");
	name = name ? name + 8 : arn;
	bare = strlen(name) > 7 && name[strlen(name) - 7] == '-' ? strlen(name) - 7 : strlen(name);
	if (!opt_quiet)
		fprintf(stderr, "vpcd: secrets %s '%s' from %s: 200\n", what, id, c->peer);
	return secrets_reply(c, 200,
			     json_pack("{s:s, s:s%, s:O?, s:O?, s:[s], s:f}", "ARN", arn, "Name",
				       name, bare, "VersionId", json_object_get(found, "VersionId"),
				       "SecretString", json_object_get(found, "SecretString"),
				       "VersionStages", stage, "CreatedDate", 1700000000.0));
}

static int get_parameters(struct client *c, json_t *file, json_t *in, const char *region)
{
	const char *what = "AmazonSSM.GetParameters";
	json_t *names = json_object_get(in, "Names"), *params = json_object_get(file, "parameters");
	const char *account = json_string_value(json_object_get(file, "account")) ?: VPCD_ACCOUNT;
	json_t *out = json_array(), *invalid = json_array(), *n;
	size_t i;

	if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > 10) {
		json_decref(out);
		json_decref(invalid);
		return secrets_error(c, "ValidationException", "Names must hold 1 to 10 names",
				     what);
	}
	json_array_foreach(names, i, n) {
		const char *id = json_string_value(n), *name = id;
		char arn[2048];
		json_t *v;

		if (id && startswith(id, "arn:") && strstr(id, ":parameter/"))
			name = strstr(id, ":parameter/") + 10;
		v = name ? json_object_get(params, name) : NULL;
		if (!v && name && name[0] == '/' && startswith(id ?: "", "arn:"))
			v = json_object_get(params, ++name);
		if (!json_is_string(v)) {
			json_array_append(invalid, n);
			continue;
		}
		snprintf(arn, sizeof(arn), "arn:aws:ssm:%s:%s:parameter%s%s", region, account,
			 name[0] == '/' ? "" : "/", name);
		json_array_append_new(out, json_pack("{s:s, s:s, s:O, s:i, s:s}", "Name", name,
						     "Type", "SecureString", "Value", v, "Version",
						     1, "ARN", arn));
	}
	if (!opt_quiet)
		fprintf(stderr, "vpcd: secrets %s from %s: 200 (%zu found, %zu invalid)\n", what,
			c->peer, json_array_size(out), json_array_size(invalid));
	return secrets_reply(
		c, 200, json_pack("{s:o, s:o}", "Parameters", out, "InvalidParameters", invalid));
}

/* Answer the request in c->req (c->want bytes). */
static int secrets_response(struct client *c)
{
	static const struct {
		const char *target, *service;
	} targets[] = {
		{ "secretsmanager.GetSecretValue", "secretsmanager" },
		{ "AmazonSSM.GetParameters", "ssm" },
	};
	json_auto_t *file = NULL, *in = NULL;
	const char *target, *service = NULL;
	char region[64] = "us-east-1";
	struct request q;
	json_error_t jerr;
	int r;

	c->requests++;
	if (request_parse(c, &q) < 0 || strcmp(q.method, "POST") || strcmp(q.target, "/"))
		return secrets_error(c, "UnknownOperationException",
				     "a POST / of AWS JSON 1.1 is expected", "request");
	target = request_get(&q, "X-Amz-Target");
	for (size_t i = 0; target && i < ARRAY_SIZE(targets); i++)
		if (streq(target, targets[i].target))
			service = targets[i].service;
	if (!service)
		return secrets_error(c, "UnknownOperationException",
				     "X-Amz-Target is not an operation of this endpoint",
				     target ?: "request");
	file = json_load_file(secrets_file, 0, &jerr);
	if (!file) {
		fprintf(stderr, "vpcd: %s: %s\n", secrets_file, jerr.text);
		return secrets_error(c, "InternalServiceError", "the secrets file cannot be read",
				     target);
	}
	r = secrets_verify(c, &q, file, service, target);
	if (r)
		return r < 0 ? r : 0;
	in = json_loadb(q.body, q.body_len, 0, NULL);
	if (!json_is_object(in))
		return secrets_error(c, "SerializationException", "the body is not a JSON object",
				     target);
	if (streq(service, "ssm")) {
		const char *cred = strstr(request_get(&q, "Authorization"), "Credential=");

		if (cred)
			sscanf(cred, "Credential=%*[^/]/%*[^/]/%63[^/]/", region);
		return get_parameters(c, file, in, region);
	}
	return get_secret_value(c, file, in);
}

static bool request_complete(const struct client *c)
{
	return memmem(c->req, c->len, "\r\n\r\n", 4) || memmem(c->req, c->len, "\n\n", 2);
}

/* Handle readiness of one client. Returns false when the client is done and must be freed. */
static bool client_process(struct client *c, short revents)
{
	ssize_t n;

	if (revents & (POLLERR | POLLNVAL))
		return false;

	switch (c->state) {
	case CLIENT_STATE_READING:
		if (!(revents & (POLLIN | POLLHUP)))
			return true;
		n = read(c->fd, c->req + c->len, VPCD_REQ_MAX - c->len - 1);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		c->len += (size_t)n;
		c->bytes_in += (uint64_t)n;
		c->req[c->len] = '\0';
		c->deadline = now_usec() + VPCD_IDLE_USEC;
		if (c->secrets) {
			c->want = secrets_want(c);
			if (c->len >= VPCD_REQ_MAX - 1 || (c->want && c->want >= VPCD_REQ_MAX))
				return false; /* larger than any request of ours */
			if (!c->want || c->len < c->want)
				return true;
			if (secrets_response(c) < 0)
				return false;
			c->state = CLIENT_STATE_WRITING;
			goto write;
		}
		if (c->len >= VPCD_REQ_MAX - 1)
			c->len = VPCD_REQ_MAX;
		else if (!request_complete(c))
			return true;
		if (client_prepare_response(c) < 0)
			return false;
		c->state = CLIENT_STATE_WRITING;
		/* fall through - the socket is almost always writable now */
	case CLIENT_STATE_WRITING:
	write:
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += (size_t)n;
		c->bytes_out += (uint64_t)n;
		c->deadline = now_usec() + VPCD_IDLE_USEC;
		if (c->out_off < c->out_len)
			return true;
		if (c->secrets) {
			/* kept alive: the next request (none is sent before this answer) */
			free(c->out);
			c->out = NULL;
			c->len -= MIN(c->len, c->want);
			memmove(c->req, c->req + c->want, c->len);
			c->want = 0;
			c->state = CLIENT_STATE_READING;
			return true;
		}
		/* Close only after the peer's EOF, so that unread request bytes cause no RST. */
		shutdown(c->fd, SHUT_WR);
		c->state = CLIENT_STATE_DRAINING;
		return true;
	case CLIENT_STATE_DRAINING:
		if (!(revents & (POLLIN | POLLHUP)))
			return true;
		n = read(c->fd, c->req, sizeof(c->req));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		return n > 0;
	}
	return false;
}

static void udp_echo(int fd)
{
	static char buf[65536];

	for (int i = 0; i < VPCD_UDP_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
		if (n < 0)
			return;
		if (sendto(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss,
			   len) < 0 &&
		    !opt_quiet)
			fprintf(stderr, "vpcd: udp echo: %s, ignoring\n", strerror(errno));
	}
}

/* The question's name (labels, no compression) at q into name; its end or NULL. */
static const uint8_t *dns_qname(const uint8_t *q, const uint8_t *end, char *name, size_t size)
{
	size_t off = 0;

	while (q < end && *q) {
		size_t l = *q++;

		if (l > 63 || q + l > end || off + l + 2 > size)
			return NULL;
		if (off)
			name[off++] = '.';
		for (size_t i = 0; i < l; i++) {
			char ch = (char)q[i];

			name[off++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
		}
		q += l;
	}
	if (q >= end)
		return NULL;
	name[off] = '\0';
	return q + 1;
}

/* Answer one query in buf (n bytes) in place; returns the answer's length or 0 to drop it. */
static size_t dns_answer(uint8_t *buf, size_t n, size_t size, const char *peer)
{
	const struct dns_name *found = NULL;
	const uint8_t *qend;
	char name[256];
	unsigned int qtype, rcode = 0;
	size_t len;

	if (n < 12 || (buf[2] & 0x80) || buf[4] != 0 || buf[5] != 1)
		return 0; /* an answer, or not exactly one question */
	qend = dns_qname(buf + 12, buf + n, name, sizeof(name));
	if (!qend || qend + 4 > buf + n)
		return 0;
	qtype = (unsigned int)qend[0] << 8 | qend[1];
	len = (size_t)(qend + 4 - buf);

	if ((buf[2] >> 3 & 0xf) != 0) {
		rcode = 4; /* NOTIMP: only QUERY */
	} else {
		for (unsigned int i = 0; i < n_dns_names; i++)
			if (streq(dns_names[i].name, name))
				found = &dns_names[i];
		if (!found)
			rcode = 3; /* NXDOMAIN */
	}
	buf[2] = (uint8_t)(0x84 | (buf[2] & 0x79)); /* QR, AA; opcode and RD kept */
	buf[3] = (uint8_t)rcode;
	memset(buf + 6, 0, 6); /* AN, NS, AR counts */
	if (found && (qtype == 1 || qtype == 255) && qend[2] == 0 && qend[3] == 1 &&
	    len + 16 <= size) {
		static const uint8_t rr[12] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4 };

		memcpy(buf + len, rr, sizeof(rr));
		memcpy(buf + len + sizeof(rr), &found->addr, 4);
		len += sizeof(rr) + 4;
		buf[7] = 1;
	}
	if (!opt_quiet) {
		char ip[INET_ADDRSTRLEN] = "-";

		if (found && buf[7])
			inet_ntop(AF_INET, &found->addr, ip, sizeof(ip));
		fprintf(stderr, "vpcd: dns type %u '%s' from %s: %s %s\n", qtype, name, peer,
			rcode == 3 ? "NXDOMAIN"
			: rcode	   ? "NOTIMP"
				   : "NOERROR",
			ip);
	}
	return len;
}

static void dns_serve(int fd)
{
	static uint8_t buf[1232];

	for (int i = 0; i < VPCD_UDP_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char peer[INET6_ADDRSTRLEN];
		ssize_t n;
		size_t out;

		n = recvfrom(fd, buf, 512, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
		if (n < 0)
			return;
		format_addr(&ss, peer, sizeof(peer), NULL);
		out = dns_answer(buf, (size_t)n, sizeof(buf), peer);
		if (out &&
		    sendto(fd, buf, out, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss, len) <
			    0 &&
		    !opt_quiet)
			fprintf(stderr, "vpcd: dns answer: %s, ignoring\n", strerror(errno));
	}
}

static int poll_timeout_ms(void)
{
	uint64_t now = now_usec(), first = UINT64_MAX;

	for (unsigned int i = 0; i < n_clients; i++)
		first = MIN(first, clients[i]->deadline);
	if (first == UINT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	return (int)MIN((first - now + 999) / 1000, 60000ULL);
}

static void expire_clients(void)
{
	uint64_t now = now_usec();

	for (unsigned int i = 0; i < n_clients;) {
		if (clients[i]->deadline <= now)
			client_free(i);
		else
			i++;
	}
}

static int run(int sfd, int http_fd, int udp_fd, int dns_fd, int secrets_fd)
{
	struct pollfd pfd[VPCD_FIXED_FDS + VPCD_MAX_CLIENTS];
	struct client *polled[VPCD_MAX_CLIENTS];

	for (;;) {
		unsigned int n = n_clients;
		int r;

		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = n_clients < VPCD_MAX_CLIENTS ? http_fd : -1,
					  .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = udp_fd, .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = dns_fd, .events = POLLIN };
		pfd[4] = (struct pollfd){ .fd = n_clients < VPCD_MAX_CLIENTS ? secrets_fd : -1,
					  .events = POLLIN };
		for (unsigned int i = 0; i < n; i++) {
			struct client *c = clients[i];

			polled[i] = c;
			pfd[VPCD_FIXED_FDS + i] = (struct pollfd){
				.fd = c->fd,
				.events = c->state == CLIENT_STATE_WRITING ? POLLOUT : POLLIN,
			};
		}

		r = poll(pfd, VPCD_FIXED_FDS + n, poll_timeout_ms());
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vpcd: poll: %s\n", strerror(errno));
			return -errno;
		}

		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && !opt_quiet)
				fprintf(stderr, "vpcd: signal %u, exiting\n", si.ssi_signo);
			return 0;
		}

		/* Clients first: freeing reorders clients[], so go by the pointers polled. */
		for (unsigned int i = 0; i < n; i++) {
			if (!pfd[VPCD_FIXED_FDS + i].revents ||
			    client_process(polled[i], pfd[VPCD_FIXED_FDS + i].revents))
				continue;
			for (unsigned int j = 0; j < n_clients; j++) {
				if (clients[j] == polled[i]) {
					client_free(j);
					break;
				}
			}
		}
		if (pfd[1].revents & POLLIN)
			accept_clients(http_fd, false);
		if (pfd[2].revents & POLLIN)
			udp_echo(udp_fd);
		if (pfd[3].revents & POLLIN)
			dns_serve(dns_fd);
		if (pfd[4].revents & POLLIN)
			accept_clients(secrets_fd, true);
		expire_clients();
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vpcd [--http ADDR:PORT] [--udp ADDR:PORT] [--body TEXT] [--quiet]\n"
		"            [--dns ADDR:PORT] [--dns-name NAME=IPV4]...\n"
		"            [--token-file FILE [--token-user USER:PASSWORD]]\n"
		"            [--secrets ADDR:PORT --secrets-file FILE]\n"
		"  --http ADDR:PORT  answer HTTP GET on this TCP address\n"
		"  --udp ADDR:PORT   echo UDP datagrams on this address\n"
		"  --body TEXT       HTTP body (default: hello from the test VPC, you are <ip>)\n"
		"  --dns ADDR:PORT   answer DNS queries (UDP) for the --dns-name names\n"
		"  --dns-name N=IP   a name and its IPv4 address (at most 16)\n"
		"  --token-file F    serve GET /token: a registry token server handing out F's token\n"
		"  --token-user U:P  ... only to these Basic credentials\n"
		"  --secrets A:P     a Secrets Manager / SSM shaped endpoint (AWS JSON 1.1, SigV4)\n"
		"  --secrets-file F  ... answering from F (read for every request)\n"
		"  --quiet           no per-request log on stderr\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = { { "http", required_argument, NULL, 'H' },
						 { "udp", required_argument, NULL, 'U' },
						 { "body", required_argument, NULL, 'b' },
						 { "quiet", no_argument, NULL, 'q' },
						 { "dns", required_argument, NULL, 'D' },
						 { "dns-name", required_argument, NULL, 'n' },
						 { "token-file", required_argument, NULL, 'T' },
						 { "token-user", required_argument, NULL, 'u' },
						 { "secrets", required_argument, NULL, 'S' },
						 { "secrets-file", required_argument, NULL, 'F' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *http = NULL, *udp = NULL, *dns = NULL, *secrets = NULL;
	_cleanup_close_ int sfd = -1, http_fd = -1, udp_fd = -1, dns_fd = -1, secrets_fd = -1;
	sigset_t mask;
	int c, r;

	while ((c = getopt_long(argc, argv, "H:U:b:qh", options, NULL)) >= 0) {
		switch (c) {
		case 'H':
			http = optarg;
			break;
		case 'U':
			udp = optarg;
			break;
		case 'b':
			opt_body = optarg;
			break;
		case 'q':
			opt_quiet = true;
			break;
		case 'D':
			dns = optarg;
			break;
		case 'n': {
			const char *eq = strchr(optarg, '=');
			struct dns_name *d = &dns_names[n_dns_names];

			if (n_dns_names == VPCD_DNS_NAMES || !eq || eq == optarg ||
			    (size_t)(eq - optarg) >= sizeof(d->name) ||
			    inet_pton(AF_INET, eq + 1, &d->addr) != 1) {
				fprintf(stderr,
					"vpcd: bad --dns-name '%s' (NAME=IPV4, at most %d)\n",
					optarg, VPCD_DNS_NAMES);
				return EXIT_FAILURE;
			}
			for (size_t i = 0; optarg + i < eq; i++)
				d->name[i] = (char)(optarg[i] >= 'A' && optarg[i] <= 'Z'
							    ? optarg[i] - 'A' + 'a'
							    : optarg[i]);
			d->name[eq - optarg] = '\0';
			n_dns_names++;
			break;
		}
		case 'T': {
			size_t len;

			free(token);
			token = NULL;
			if (read_file(optarg, VPCD_TOKEN_MAX, &token, &len) < 0 || !len) {
				fprintf(stderr, "vpcd: cannot read the token file '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			token[strcspn(token, "\r\n\"\\")] = '\0';
			break;
		}
		case 'u': {
			char *colon = strchr(optarg, ':');

			if (!colon) {
				fprintf(stderr, "vpcd: --token-user takes USER:PASSWORD\n");
				return EXIT_FAILURE;
			}
			free(token_basic);
			token_basic = base64((const unsigned char *)optarg, strlen(optarg));
			*colon = '\0';
			token_user = optarg;
			if (!token_basic)
				return EXIT_FAILURE;
			break;
		}
		case 'S':
			secrets = optarg;
			break;
		case 'F':
			secrets_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc || (!http && !udp && !dns && !secrets) || !secrets != !secrets_file) {
		usage(stderr);
		return EXIT_FAILURE;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return EXIT_FAILURE;
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "vpcd: signalfd: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}

	if (http) {
		http_fd = open_listener("http", http, SOCK_STREAM);
		if (http_fd < 0)
			return EXIT_FAILURE;
	}
	if (udp) {
		udp_fd = open_listener("udp", udp, SOCK_DGRAM);
		if (udp_fd < 0)
			return EXIT_FAILURE;
	}
	if (dns) {
		dns_fd = open_listener("dns", dns, SOCK_DGRAM);
		if (dns_fd < 0)
			return EXIT_FAILURE;
	}
	if (secrets) {
		secrets_fd = open_listener("secrets", secrets, SOCK_STREAM);
		if (secrets_fd < 0)
			return EXIT_FAILURE;
	}
	printf("vpcd: ready\n");
	fflush(stdout);

	r = run(sfd, http_fd, udp_fd, dns_fd, secrets_fd);
	while (n_clients)
		client_free(n_clients - 1);
	free(token);
	free(token_basic);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
