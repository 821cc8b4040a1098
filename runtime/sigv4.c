// SPDX-License-Identifier: GPL-2.0-only
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"
#include "util.h"

#define SHA256_LEN 32

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data ?: "", len, d, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
		return -EIO;
	hex(d, n, out);
	return 0;
}

static int hmac(const void *key, size_t key_len, const char *msg, unsigned char out[SHA256_LEN])
{
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out,
		  &n) ||
	    n != SHA256_LEN)
		return -EIO;
	return 0;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* s (n bytes) percent-encoded: all but the unreserved characters (and '/' if keep_slash). */
static void put_encoded(FILE *f, const char *s, size_t n, bool keep_slash)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/'))
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s (n bytes) with %XX decoded (a malformed escape stays as it is), encoded again strictly. */
static char *requote(const char *s, size_t n)
{
	_cleanup_free_ char *dec = malloc(n + 1);
	char *out = NULL;
	size_t len = 0, m = 0;
	FILE *f;

	if (!dec)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			dec[m++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			dec[m++] = s[i];
		}
	}
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	put_encoded(f, dec, m, false);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* The path with "." and ".." segments resolved and empty ones dropped (RFC 3986 5.2.4, and
 * AWS's normalization of duplicate slashes), each segment encoded. */
static void put_path(FILE *f, const char *path)
{
	const char *segs[256], *p = path && *path ? path : "/";
	size_t lens[256], n = 0;
	bool trailing = false;

	for (;;) {
		const char *e;
		size_t l;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = p + strcspn(p, "/");
		l = (size_t)(e - p);
		if (l == 1 && p[0] == '.') {
			trailing = true;
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (n)
				n--;
			trailing = true;
		} else {
			if (n < ARRAY_SIZE(segs)) {
				segs[n] = p;
				lens[n++] = l;
			}
			trailing = *e == '/';
		}
		p = e;
	}
	fputc('/', f);
	for (size_t i = 0; i < n; i++) {
		put_encoded(f, segs[i], lens[i], false);
		if (i + 1 < n || trailing)
			fputc('/', f);
	}
}

struct param {
	char *key;
	char *value;
};

static int param_cmp(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ?: strcmp(x->value, y->value);
}

static int put_query(FILE *f, const char *query)
{
	struct param *params = NULL;
	size_t n = 0, cap = 0;
	const char *p = query;
	int r = 0;

	while (p && *p) {
		const char *e = p + strcspn(p, "&"), *eq = memchr(p, '=', (size_t)(e - p));

		if (e > p) {
			if (n == cap) {
				struct param *np;

				cap = cap ? 2 * cap : 8;
				np = realloc(params, cap * sizeof(*np));
				if (!np) {
					r = -ENOMEM;
					goto out;
				}
				params = np;
			}
			params[n].key = requote(p, (size_t)((eq ?: e) - p));
			params[n].value = eq ? requote(eq + 1, (size_t)(e - eq - 1)) : strdup("");
			n++;
			if (!params[n - 1].key || !params[n - 1].value) {
				r = -ENOMEM;
				goto out;
			}
		}
		p = *e ? e + 1 : e;
	}
	if (n)
		qsort(params, n, sizeof(*params), param_cmp);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s=%s", i ? "&" : "", params[i].key, params[i].value);
out:
	for (size_t i = 0; i < n; i++) {
		free(params[i].key);
		free(params[i].value);
	}
	free(params);
	return r;
}

struct hdr {
	char *name; /* lower case */
	const char *value;
	size_t index; /* for a stable sort */
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ?: (x->index < y->index ? -1 : 1);
}

/* A header value trimmed, with runs of spaces as one. */
static void put_value(FILE *f, const char *v)
{
	bool space = false, any = false;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = any;
			continue;
		}
		if (space)
			fputc(' ', f);
		fputc(*v, f);
		space = false;
		any = true;
	}
}

/* The canonical headers and the signed headers' list, sorted by name. */
static int put_headers(FILE *canon, FILE *signed_list, const struct sigv4_request *r)
{
	struct hdr *h = calloc(r->n_headers ?: 1, sizeof(*h));
	int ret = 0;

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_headers; i++) {
		h[i].name = strdup(r->headers[i].name);
		if (!h[i].name) {
			ret = -ENOMEM;
			goto out;
		}
		for (char *c = h[i].name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		h[i].value = r->headers[i].value;
		h[i].index = i;
	}
	qsort(h, r->n_headers, sizeof(*h), hdr_cmp);
	for (size_t i = 0; i < r->n_headers; i++) {
		bool first = i == 0 || !streq(h[i].name, h[i - 1].name);

		if (first) {
			if (i)
				fputc('\n', canon);
			fprintf(canon, "%s:", h[i].name);
			fprintf(signed_list, "%s%s", i ? ";" : "", h[i].name);
		} else {
			fputc(',', canon);
		}
		put_value(canon, h[i].value);
	}
	if (r->n_headers)
		fputc('\n', canon);
out:
	for (size_t i = 0; i < r->n_headers; i++)
		free(h[i].name);
	free(h);
	return ret;
}

/* The canonical request and the signed headers' list. */
static int canonical(const struct sigv4_request *r, char **ret, char **ret_signed)
{
	_cleanup_free_ char *text = NULL, *list = NULL;
	size_t text_len = 0, list_len = 0;
	char payload[2 * SHA256_LEN + 1];
	FILE *f, *s;
	int rr;

	if (!r->method)
		return -EINVAL;
	rr = sha256_hex(r->payload, r->payload_len, payload);
	if (rr < 0)
		return rr;
	f = open_memstream(&text, &text_len);
	if (!f)
		return -ENOMEM;
	s = open_memstream(&list, &list_len);
	if (!s) {
		fclose(f);
		return -ENOMEM;
	}
	fprintf(f, "%s\n", r->method);
	put_path(f, r->path);
	fputc('\n', f);
	rr = put_query(f, r->query);
	fputc('\n', f);
	if (rr == 0)
		rr = put_headers(f, s, r);
	if (fclose(s) != 0 && rr == 0)
		rr = -ENOMEM;
	if (rr == 0)
		fprintf(f, "\n%s\n%s", list, payload);
	if (fclose(f) != 0 && rr == 0)
		rr = -ENOMEM;
	if (rr < 0)
		return rr;
	*ret = TAKE_PTR(text);
	if (ret_signed)
		*ret_signed = TAKE_PTR(list);
	return 0;
}

int sigv4_canonical_request(const struct sigv4_request *r, char **ret)
{
	return canonical(r, ret, NULL);
}

static bool key_valid(const struct sigv4_key *k)
{
	if (!k->access_key_id || !k->secret_access_key || !k->region || !k->service ||
	    !k->amz_date || strlen(k->amz_date) != SIGV4_DATE_LEN || k->amz_date[8] != 'T' ||
	    k->amz_date[15] != 'Z' || !*k->region || !*k->service || !*k->access_key_id)
		return false;
	for (const char *s = k->region; *s; s++)
		if (*s == '/' || *s == ' ')
			return false;
	return !strchr(k->service, '/') && !strchr(k->access_key_id, '/');
}

int sigv4_string_to_sign(const char *canonical_request, const struct sigv4_key *k, char **ret)
{
	char digest[2 * SHA256_LEN + 1];
	int r;

	if (!key_valid(k))
		return -EINVAL;
	r = sha256_hex(canonical_request, strlen(canonical_request), digest);
	if (r < 0)
		return r;
	if (asprintf(ret, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", k->amz_date,
		     k->amz_date, k->region, k->service, digest) < 0)
		return -ENOMEM;
	return 0;
}

int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_key *k, char **ret)
{
	_cleanup_free_ char *creq = NULL, *signed_list = NULL, *sts = NULL, *secret = NULL;
	unsigned char key[SHA256_LEN], sig[SHA256_LEN];
	char date[9], sig_hex[2 * SHA256_LEN + 1];
	int rr;

	if (!key_valid(k))
		return -EINVAL;
	rr = canonical(r, &creq, &signed_list);
	if (rr == 0)
		rr = sigv4_string_to_sign(creq, k, &sts);
	if (rr < 0)
		return rr;
	if (asprintf(&secret, "AWS4%s", k->secret_access_key) < 0) {
		secret = NULL;
		return -ENOMEM;
	}
	memcpy(date, k->amz_date, 8);
	date[8] = '\0';
	rr = hmac(secret, strlen(secret), date, key);
	explicit_bzero(secret, strlen(secret));
	if (rr == 0)
		rr = hmac(key, sizeof(key), k->region, key);
	if (rr == 0)
		rr = hmac(key, sizeof(key), k->service, key);
	if (rr == 0)
		rr = hmac(key, sizeof(key), "aws4_request", key);
	if (rr == 0)
		rr = hmac(key, sizeof(key), sts, sig);
	explicit_bzero(key, sizeof(key));
	if (rr < 0)
		return rr;
	hex(sig, sizeof(sig), sig_hex);
	if (asprintf(ret,
		     SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
				     "Signature=%s",
		     k->access_key_id, date, k->region, k->service, signed_list, sig_hex) < 0)
		return -ENOMEM;
	return 0;
}

void sigv4_format_date(time_t t, char buf[SIGV4_DATE_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}
