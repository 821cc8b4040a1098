// SPDX-License-Identifier: GPL-2.0-only
/* The pure part of logship.h: awslogs options, stream names and the RFC 5424 frames. */
#include <arpa/inet.h>
#include <ctype.h>
#include <strings.h>

#include "ident.h"
#include "logship.h"
#include "taskdef.h"

#define TIMESTAMP_LEN 27 /* 2006-01-02T15:04:05.000000Z: RFC 5424 allows 6 fraction digits */
#define BOM	      "\xef\xbb\xbf"

/* --- options --------------------------------------------------------------------------------- */

struct logship_config *logship_config_free(struct logship_config *c)
{
	if (!c)
		return NULL;
	free(c->group);
	free(c->region);
	free(c->stream_prefix);
	free(c->endpoint);
	free(c->host);
	free(c);
	return NULL;
}

/*
 * Docker's sizes (go-units RAMInBytes): a decimal number, an optional space, an optional unit
 * k, m, g, t or p (binary: k = 1024), an optional 'i' and an optional 'b', case-insensitive.
 */
int logship_parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "kmgtp";
	const char *p = s, *u;
	double v, mult = 1;
	char *end;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end != p)
		return -EINVAL;
	if (*p == ' ')
		p++;
	if (*p && (u = strchr(units, tolower((unsigned char)*p)))) {
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		return -EINVAL;
	v *= mult;
	if (!(v < 0x1p63))
		return -ERANGE;
	*ret = (uint64_t)v;
	return 0;
}

static bool hostname_label_char(char c)
{
	return isalnum((unsigned char)c) || c == '-';
}

/* A DNS name: labels of 1-63 letters, digits and '-' (not at either end), at most 253. */
static bool dns_name_valid(const char *s, size_t n)
{
	size_t label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
		} else if (hostname_label_char(s[i])) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

int logship_parse_endpoint(const char *s, struct logship_config *c, char **ret_error)
{
	const char *h, *end, *port = NULL;
	_cleanup_free_ char *host = NULL;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->addr;
	unsigned long p = LOGSHIP_PORT_DEFAULT;
	size_t n;

	if (strncasecmp(s, "tcp://", 6) != 0)
		return fail_with(
			ret_error,
			"awslogs-endpoint '%s': taskvm ships to a syslog collector: give tcp://HOST[:PORT]",
			s);
	h = s + 6;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return fail_with(ret_error,
					 "awslogs-endpoint '%s': no ']' after the IPv6 address", s);
		host = strndup(h + 1, (size_t)(end - h - 1));
		end++;
	} else {
		end = h + strcspn(h, ":/");
		host = strndup(h, (size_t)(end - h));
	}
	if (!host)
		return -ENOMEM;
	if (*end == ':') {
		char *e;

		port = end + 1;
		errno = 0;
		p = strtoul(port, &e, 10);
		if (!isdigit((unsigned char)*port) || errno || p == 0 || p > 65535 ||
		    (*e && !streq(e, "/")))
			return fail_with(ret_error,
					 "awslogs-endpoint '%s': the port must be 1-65535", s);
	} else if (*end == '/' && end[1] == '\0') {
		/* a trailing slash, as in a URL */
	} else if (*end) {
		return fail_with(ret_error, "awslogs-endpoint '%s': nothing may follow HOST:PORT",
				 s);
	}

	n = strlen(host);
	memset(&c->addr, 0, sizeof(c->addr));
	c->addr_len = 0;
	if (*h == '[') {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return fail_with(ret_error,
					 "awslogs-endpoint '%s': '%s' is not an IPv6 address", s,
					 host);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		c->addr_len = sizeof(*sin6);
	} else if (n > 0 && strspn(host, "0123456789.") == n) {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return fail_with(ret_error,
					 "awslogs-endpoint '%s': '%s' is not an IPv4 address", s,
					 host);
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		c->addr_len = sizeof(*sin);
	} else if (!dns_name_valid(host, n)) {
		return fail_with(
			ret_error,
			"awslogs-endpoint '%s': '%s' is neither an IP address nor a host name", s,
			host);
	}
	free(c->host);
	c->host = TAKE_PTR(host);
	c->port = (uint16_t)p;
	return 0;
}

/* Valid UTF-8 without control characters. */
static bool text_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = utf8_char_len(s + i, n - i);

		if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f)))
			return false;
		i += k;
	}
	return true;
}

/* CloudWatch Logs stream names: 1-512 characters, no ':' or '*'. */
static bool stream_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= LOGSHIP_STREAM_MAX && !strpbrk(s, ":*") && text_valid(s, n);
}

int logship_stream_name(const char *prefix, const char *container, const char *task_id, char **ret)
{
	char *s;

	if (!ecs_name_valid(container) || !ident_task_id_valid(task_id))
		return -EINVAL;
	if (asprintf(&s, "%s/%s/%s", prefix, container, task_id) < 0)
		return -ENOMEM;
	if (!stream_valid(s)) {
		free(s);
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

/* CloudWatch Logs group names: 1-512 of [A-Za-z0-9._/#-]. */
static bool group_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LOGSHIP_GROUP_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._/#-", s[i]))
			return false;
	return true;
}

static bool region_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Go's strconv.ParseBool, which Docker's options go through. */
static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (streq(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (streq(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int dup_opt(const char *v, char **ret)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*ret);
	*ret = s;
	return 0;
}

#define KNOWN_OPTIONS                                                                              \
	"awslogs-group, awslogs-region, awslogs-stream-prefix, awslogs-endpoint, "                 \
	"awslogs-create-group, awslogs-credentials-endpoint, mode, max-buffer-size"

static int config_set(struct logship_config *c, const char *k, const char *v, bool *has_size,
		      char **ret_error)
{
	bool b;

	if (streq(k, "awslogs-group")) {
		if (!group_valid(v))
			return fail_with(
				ret_error,
				"awslogs-group '%s' is not 1-%d letters, digits, '.', '_', '/', '#' or '-'",
				v, LOGSHIP_GROUP_MAX);
		return dup_opt(v, &c->group);
	}
	if (streq(k, "awslogs-region")) {
		if (!region_valid(v))
			return fail_with(ret_error, "awslogs-region '%s' is not a region name", v);
		return dup_opt(v, &c->region);
	}
	if (streq(k, "awslogs-stream-prefix")) {
		if (!stream_valid(v))
			return fail_with(
				ret_error,
				"awslogs-stream-prefix '%s' is not 1-%d characters of UTF-8 without ':', '*' or control characters",
				v, LOGSHIP_STREAM_MAX);
		return dup_opt(v, &c->stream_prefix);
	}
	if (streq(k, "awslogs-endpoint")) {
		int r = logship_parse_endpoint(v, c, ret_error);

		return r < 0 ? r : dup_opt(v, &c->endpoint);
	}
	if (streq(k, "awslogs-create-group")) {
		/* The collector has no groups to create: checked, then nothing to do. */
		if (parse_bool(v, &b) < 0)
			return fail_with(ret_error,
					 "awslogs-create-group '%s' is not true or false", v);
		return 0;
	}
	if (streq(k, "awslogs-credentials-endpoint"))
		return 0; /* the ECS agent's, for CloudWatch credentials: not needed here */
	if (streq(k, "mode")) {
		if (streq(v, "blocking"))
			c->mode = LOGSHIP_MODE_BLOCKING;
		else if (streq(v, "non-blocking"))
			c->mode = LOGSHIP_MODE_NON_BLOCKING;
		else
			return fail_with(ret_error, "mode '%s' is not blocking or non-blocking", v);
		return 0;
	}
	if (streq(k, "max-buffer-size")) {
		uint64_t size;

		if (logship_parse_size(v, &size) < 0 || size < LOGSHIP_BUFFER_MIN ||
		    size > LOGSHIP_BUFFER_MAX)
			return fail_with(
				ret_error,
				"max-buffer-size '%s' is not a size from 64k to 1g (like 1m or 512k)",
				v);
		c->max_buffer = (size_t)size;
		*has_size = true;
		return 0;
	}
	if (streq(k, "awslogs-datetime-format") || streq(k, "awslogs-multiline-pattern"))
		return fail_with(
			ret_error,
			"%s is not supported by taskvm: every line is a message of its own", k);
	return fail_with(ret_error, "unknown awslogs option '%s' (known: " KNOWN_OPTIONS ")", k);
}

int logship_config_parse(json_t *options, struct logship_config **ret, char **ret_error)
{
	_cleanup_logship_config_ struct logship_config *c = NULL;
	bool has_size = false;
	const char *k;
	json_t *v;
	int r;

	if (!json_is_object(options))
		return fail_with(ret_error,
				 "the awslogs log driver needs options (awslogs-group, ...)");
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->mode = LOGSHIP_MODE_BLOCKING;
	c->max_buffer = LOGSHIP_BUFFER_DEFAULT;
	json_object_foreach(options, k, v) {
		if (!json_is_string(v))
			return fail_with(ret_error, "awslogs option '%s' must be a string", k);
		r = config_set(c, k, json_string_value(v), &has_size, ret_error);
		if (r < 0)
			return r;
	}
	if (!c->group)
		return fail_with(ret_error, "awslogs-group is required");
	if (!c->region)
		return fail_with(ret_error, "awslogs-region is required");
	if (!c->stream_prefix)
		return fail_with(ret_error, "awslogs-stream-prefix is required on Fargate");
	if (!c->endpoint)
		return fail_with(
			ret_error,
			"awslogs-endpoint is required: taskvm ships to a syslog collector (tcp://HOST:PORT), not to CloudWatch Logs");
	if (has_size && c->mode != LOGSHIP_MODE_NON_BLOCKING)
		return fail_with(ret_error,
				 "max-buffer-size is only supported with mode=non-blocking");
	*ret = TAKE_PTR(c);
	return 0;
}

/* --- format ---------------------------------------------------------------------------------- */

struct logship_fmt {
	/* Per stream: "<PRI>1 " and " HOSTNAME APP-NAME - MSGID [SD]". */
	char pri[2][8];
	size_t pri_len[2];
	char *tail[2];
	size_t tail_len[2];
};

struct logship_fmt *logship_fmt_free(struct logship_fmt *f)
{
	if (!f)
		return NULL;
	free(f->tail[0]);
	free(f->tail[1]);
	free(f);
	return NULL;
}

/* Append s as an SD-PARAM value: '"', '\' and ']' escaped (RFC 5424 section 6.3.3). */
static void sd_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static bool printusascii(const char *s)
{
	for (; *s; s++)
		if (*s < 33 || *s > 126)
			return false;
	return true;
}

int logship_fmt_new(const struct logship_fmt_opts *o, struct logship_fmt **ret, char **ret_error)
{
	static const struct {
		unsigned int pri;
		const char *msgid;
	} streams[] = {
		/* Facility user (1); severity informational (6) for stdout, error (3) for stderr,
		 * as Docker's syslog driver. */
		[LOGFILE_STDOUT] = { 1 * 8 + 6, "stdout" },
		[LOGFILE_STDERR] = { 1 * 8 + 3, "stderr" },
	};
	const char *host = o->hostname && *o->hostname ? o->hostname : "-";
	_cleanup_logship_fmt_ struct logship_fmt *f = NULL;

	if (strlen(host) > LOGSHIP_HOSTNAME_MAX || !printusascii(host))
		return fail_with(ret_error, "hostname '%s' is not 1-%d printable ASCII characters",
				 host, LOGSHIP_HOSTNAME_MAX);
	if (!o->container || !ecs_name_valid(o->container))
		return fail_with(ret_error, "container name '%s' is not an ECS name",
				 strna(o->container));
	if (!o->group || !*o->group || !text_valid(o->group, strlen(o->group)))
		return fail_with(ret_error, "log group '%s' is not UTF-8 text", strna(o->group));
	if (!o->stream || !*o->stream || !text_valid(o->stream, strlen(o->stream)))
		return fail_with(ret_error, "log stream '%s' is not UTF-8 text", strna(o->stream));

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(streams); i++) {
		FILE *out;

		f->pri_len[i] =
			(size_t)snprintf(f->pri[i], sizeof(f->pri[i]), "<%u>1 ", streams[i].pri);
		out = open_memstream(&f->tail[i], &f->tail_len[i]);
		if (!out)
			return -ENOMEM;
		/* APP-NAME: the container's name, cut to RFC 5424's 48 characters (the whole
		 * name is in the stream). PROCID: none. */
		fprintf(out, " %s %.*s - %s [" LOGSHIP_SD_ID " group=\"", host, LOGSHIP_APPNAME_MAX,
			o->container, streams[i].msgid);
		sd_escape(out, o->group);
		fputs("\" stream=\"", out);
		sd_escape(out, o->stream);
		fputs("\"]", out);
		if (fclose(out) != 0 || !f->tail[i])
			return -ENOMEM;
	}
	*ret = TAKE_PTR(f);
	return 0;
}

size_t logship_fmt_frame_max(const struct logship_fmt *f, size_t len)
{
	size_t tail = MAX(f->tail_len[0], f->tail_len[1]);

	/* MSG-LEN and SP, PRI and VERSION and SP, TIMESTAMP, the rest, SP, a BOM. */
	return 21 + sizeof(f->pri[0]) + TIMESTAMP_LEN + tail + 1 + 3 + len;
}

/* MSG-UTF8 (with a BOM) when the message is UTF-8 with something beyond ASCII; MSG-ANY (the
 * bytes as they are) when it is ASCII, or not UTF-8, or starts with a BOM already. */
static bool needs_bom(const char *msg, size_t len)
{
	bool ascii = true;

	if (len >= 3 && memcmp(msg, BOM, 3) == 0)
		return false;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_char_len(msg + i, len - i);

		if (k == 0)
			return false;
		if (k > 1)
			ascii = false;
		i += k;
	}
	return !ascii;
}

static int format_timestamp(uint64_t nsec, char *buf)
{
	time_t sec = (time_t)(nsec / 1000000000ULL);
	struct tm tm;
	int r;

	if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
		return -EINVAL;
	r = snprintf(buf, TIMESTAMP_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned int)(nsec % 1000000000ULL / 1000));
	return r == TIMESTAMP_LEN ? 0 : -EINVAL;
}

ssize_t logship_fmt_frame(const struct logship_fmt *f, enum logfile_stream s, uint64_t time_nsec,
			  const void *msg, size_t len, char *buf, size_t size)
{
	char ts[TIMESTAMP_LEN + 1], count[24];
	bool bom = needs_bom(msg, len);
	size_t n, c;
	char *o;
	int r;

	r = format_timestamp(time_nsec, ts);
	if (r < 0)
		return r;
	n = f->pri_len[s] + TIMESTAMP_LEN + f->tail_len[s];
	if (len > 0)
		n += 1 + (bom ? 3 : 0) + len;
	c = (size_t)snprintf(count, sizeof(count), "%zu ", n);
	if (c + n > size)
		return -ENOSPC;
	o = buf;
	o = mempcpy(o, count, c);
	o = mempcpy(o, f->pri[s], f->pri_len[s]);
	o = mempcpy(o, ts, TIMESTAMP_LEN);
	o = mempcpy(o, f->tail[s], f->tail_len[s]);
	if (len > 0) {
		*o++ = ' ';
		if (bom)
			o = mempcpy(o, BOM, 3);
		o = mempcpy(o, msg, len);
	}
	return (ssize_t)(o - buf);
}
