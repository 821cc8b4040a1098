// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctlmutate: malformed control requests from valid ones, for the randomized tests of netd's
 * control socket.
 *
 *   ctlmutate [--seed N] [--count N] [--expect FILE] [SEEDS]
 *
 * Reads valid request lines (one JSON object per line; blank lines and lines starting with '#'
 * are skipped) from the file SEEDS, or stdin, and writes COUNT (default 1000) request lines to
 * stdout. Each is a seed with a fresh id (line N gets N or "mN"), then, for most lines, mutated:
 * members dropped, added, duplicated or renamed; values replaced by others of any JSON type
 * (negative, huge and fractional numbers, booleans, null, arrays, objects, very long strings,
 * strings with \u0000 or invalid UTF-8, values nested deeper than netd accepts); the method
 * swapped for another of netd's or a bad one; ids of every type; or, on the line's bytes,
 * bit flips, insertions, deletions, duplications and truncation. Some lines stay valid and some
 * are valid notifications, so that every method also runs. No line holds a newline byte. The
 * same seeds and --seed (default 1) give the same lines.
 *
 * --expect FILE writes one line for each request line: what netd must answer, from the rules
 * of docs/PROTOCOL.md (a trailing '\r' ends a line as '\n' does):
 *   -     nothing: an empty line, or a valid request without id (a notification);
 *   P     a parse error (-32700) with id null: not JSON, or nested deeper than 32 levels;
 *   I     an invalid request (-32600) with id null: not an object, a bad jsonrpc, method or id,
 *         an unknown member, or a line longer than 64 KiB;
 *   Q     params neither an object nor null (-32602), id null;
 *   X     both an I and a Q reason: -32600 or -32602, id null;
 *   else  the request's id as JSON (as netd echoes it): one reply, result or error, with it.
 *
 * Exit status: 0, 1 on an error (unreadable seeds, a seed that is not a JSON object), 2 on a
 * usage error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>

#include "ctl-proto.h"
#include "util.h"

/* A string value starting with this byte is written as the raw bytes that follow it. */
#define RAW_MARK      '\x01'
#define MAX_SLOTS     512
#define MAX_POOL      4096
#define MAX_TREE_OPS  3
#define MAX_BYTE_OPS  4
#define DEFAULT_COUNT 1000

static const char *const methods[] = {
	"health",	    "eni.register", "eni.deregister",  "eni.list",
	"eni.show",	    "task.attach",  "task.detach",     "task.set_phase",
	"task.check",	    "task.list",    "task.show",       "events.list",
	"events.subscribe", "stats.get",    "stats.subscribe", "stats.collect",
};

static const char *const bad_methods[] = {
	"",	  " ",		"task",		 "task.",	".attach",	"TASK.ATTACH",
	"Health", "health ",	"task.attach.",	 "task/attach", "rpc.discover", "event",
	"stats",  "eni.list\t", "h\303\251alth",
};

static const char *const param_keys[] = {
	"mac",	       "subnet",     "gateway", "name",	      "subnet6",
	"gateway6",    "task_id",    "netns",	"ifname",     "addresses",
	"mtu",	       "routes",     "dns",	"block_imds", "metadata_link",
	"phase",       "timeout_ms", "attrs",	"fault",      "since",
	"dst",	       "gw",	     "advmss",	"priority",   "table",
	"nameservers", "domain",     "search",	"options",    "jsonrpc",
	"method",      "params",     "id",
};

static const char *const junk_keys[] = {
	"", " ", "bogus", "Mac", "task_id ", "TASK_ID", "\xc3\xa9", "id\t", "__proto__", "1", "a.b",
};

/*
 * Strings to put anywhere. No unicast MAC that is not on the test's host: an attach to a
 * registered ENI that is missing would wait for it and answer late. Only 198.18.0.0/15 and
 * 169.254.0.0/16 addresses.
 */
static const char *const strings[] = {
	"",
	" ",
	"x",
	"eth1",
	"md0",
	"lo",
	"eth1.",
	"an-interface-name-longer-than-15",
	"READY",
	"READY_PULL",
	"ATTACHING",
	"DETACHING",
	"DELETED",
	"0.0.0.0/0",
	"198.18.0.0/16",
	"198.18.0.1",
	"198.18.1.2/16",
	"198.18.255.255/16",
	"198.18.1.2/33",
	"198.18.1.2/-1",
	"198.19.0.0/16",
	"198.19.1.1",
	"169.254.169.254/32",
	"169.254.170.2",
	"169.254.172.2/32",
	"256.1.1.1/16",
	"198.18.1.2",
	"ff:ff:ff:ff:ff:ff",
	"01:00:5e:00:00:01",
	"02:00:5e:zz:00:01",
	"02:00:5e:10:00",
	"02-00-5e-10-00-01",
	"/nonexistent/netns",
	"/proc/self/ns/net",
	"/proc/self/ns/mnt",
	"/dev/null",
	"/",
	".",
	"../../../../etc/passwd",
	"%s%s%s%n",
	"\\",
	"\"",
	"\xc3\xa9t\xc3\xa9",
	"\xe2\x80\xa8",
	"\xf0\x9f\x90\x9b",
	"true",
	"null",
	"0",
	"-1",
	"crash:move",
	"move",
	"routes",
};

static const json_int_t integers[] = {
	0,	    1,	       -1,	  2,	     67,
	68,	    1400,      1500,	  9000,	     9001,
	65535,	    65536,     4095,	  4096,	     599999,
	600000,	    600001,    1000000,	  INT32_MAX, (json_int_t)INT32_MAX + 1,
	UINT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
};

static const double reals[] = { 0.5, -1.5, 1e300, 9001.0, 68.5, -0.0, 1e-300 };

static const char *const versions[] = { "1.0", "2", "2.00", "", " 2.0", "2.0\t" };

/* Numbers jansson cannot hold, or that it reads as reals. */
static const char *const raw_numbers[] = {
	"1e400",
	"-1e400",
	"123456789012345678901234567890",
	"9223372036854775808",
	"-9223372036854775809",
	"1E2",
	"-0",
	"0e0",
	"1.0",
	"-0.0",
	"1e-400",
	"2.5e+10",
	"01",
	"+1",
	".5",
	"1.",
	"0x10",
	"NaN",
	"Infinity",
};

/* Strings jansson must refuse: invalid UTF-8, lone surrogates; and some it must accept. */
static const char *const raw_strings[] = {
	"\"\xff\"",	"\"\xc3\x28\"",	      "\"\xed\xa0\x80\"",     "\"\xf8\x88\x80\x80\x80\"",
	"\"\xc0\xaf\"", "\"a\xe2\x82\"",      "\"\xfe\xfe\xff\xff\"", "\"\\ud800\"",
	"\"\\udc00x\"", "\"\\ud83d\\udc1b\"", "\"\\u0000\"",	      "\"a\\u0000b\"",
	"\"\\x41\"",	"\"\\u12\"",	      "\"tab\there\"",	      "\"\\/\\b\\f\\r\\t\"",
};

/* Bytes that matter to a JSON parser, for the byte mutations. */
static const char interesting_bytes[] = "{}[]\",:\\ \t\r0-+.eE\x01\x7f\x80\xbf\xc3\xed\xff";

static const char *const interesting_tokens[] = {
	"null",
	"true",
	"{",
	"}",
	"[",
	"]]]",
	",",
	"\"",
	"\\u0000",
	"\xed\xa0\x80",
	"\xef\xbb\xbf",
	"\r",
	"\"id\":1,",
	"\"params\":{},",
	"\"jsonrpc\":\"2.0\",",
	"1e999",
	"\\",
};

struct buf {
	char *p;
	size_t len, cap;
};

struct ctx {
	uint64_t rng;
	const char *pool[MAX_POOL]; /* strings and keys found in the seeds */
	size_t npool;
	/* emit this object's member once more (a reference; value NULL: the same value) */
	json_t *dup_obj;
	char *dup_key;
	json_t *dup_value;
	bool spaced; /* whitespace around separators */
};

struct slot {
	json_t *parent; /* an object or an array */
	const char *key;
	size_t index;
};

static void __attribute__((__noreturn__)) oom(void)
{
	fprintf(stderr, "ctlmutate: out of memory\n");
	exit(1);
}

static json_t *chk(json_t *v)
{
	if (!v)
		oom();
	return v;
}

/* splitmix64: small, and the same numbers everywhere. */
static uint64_t rnd(struct ctx *x)
{
	uint64_t z = (x->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t rnd_below(struct ctx *x, size_t n)
{
	return n ? (size_t)(rnd(x) % n) : 0;
}

static bool chance(struct ctx *x, unsigned int percent)
{
	return rnd_below(x, 100) < percent;
}

#define PICK(x, a) ((a)[rnd_below((x), ARRAY_SIZE(a))])

static void buf_reserve(struct buf *b, size_t more)
{
	size_t ncap;
	char *n;

	if (b->len + more <= b->cap)
		return;
	ncap = MAX(b->cap * 2, b->len + more + 256);
	n = realloc(b->p, ncap);
	if (!n)
		oom();
	b->p = n;
	b->cap = ncap;
}

static void buf_put(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

static void buf_insert(struct buf *b, size_t at, const void *data, size_t n)
{
	buf_reserve(b, n);
	memmove(b->p + at + n, b->p + at, b->len - at);
	memcpy(b->p + at, data, n);
	b->len += n;
}

static void buf_delete(struct buf *b, size_t at, size_t n)
{
	memmove(b->p + at, b->p + at + n, b->len - at - n);
	b->len -= n;
}

/* --- values ---------------------------------------------------------------------------------- */

static json_t *raw(const char *text, size_t len)
{
	_cleanup_free_ char *s = malloc(len + 1);

	if (!s)
		oom();
	s[0] = RAW_MARK;
	memcpy(s + 1, text, len);
	return chk(json_stringn_nocheck(s, len + 1));
}

static json_t *random_string(struct ctx *x)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.:/ ";
	size_t n = 1 + rnd_below(x, 24);
	char s[32];

	for (size_t i = 0; i < n; i++)
		s[i] = chars[rnd_below(x, sizeof(chars) - 1)];
	if (chance(x, 20))
		s[rnd_below(x, n)] = (char)(1 + rnd_below(x, 31)); /* a control character */
	return chk(json_stringn(s, n));
}

static json_t *long_string(struct ctx *x)
{
	static const size_t sizes[] = { 1024, 16384, 65000, 65400, 65480, 65500, 65536, 70000 };
	size_t n = PICK(x, sizes) + rnd_below(x, 64);
	_cleanup_free_ char *s = malloc(n);
	char c = (char)('a' + rnd_below(x, 26));

	if (!s)
		oom();
	memset(s, c, n);
	return chk(json_stringn(s, n));
}

/* [[[...]]], {"a":{"a":...}}, or only the opening half. */
static json_t *deep(struct ctx *x)
{
	static const size_t depths[] = { 3, 16, 29, 30, 31, 32, 33, 34, 100, 3000 };
	size_t d = PICK(x, depths);
	unsigned int kind = (unsigned int)rnd_below(x, 4);
	struct buf b = {};
	json_t *v;

	for (size_t i = 0; i < d; i++)
		buf_puts(&b, kind == 1 || (kind == 2 && i % 2) ? "{\"a\":" : "[");
	buf_puts(&b, "1");
	if (kind != 3)
		for (size_t i = d; i-- > 0;)
			buf_putc(&b, kind == 1 || (kind == 2 && i % 2) ? '}' : ']');
	v = raw(b.p, b.len);
	free(b.p);
	return v;
}

static json_t *random_value(struct ctx *x, unsigned int depth);

static json_t *random_array(struct ctx *x, unsigned int depth)
{
	json_t *a = chk(json_array());
	size_t n = rnd_below(x, 5);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, random_value(x, depth + 1));
	return a;
}

static const char *random_key(struct ctx *x)
{
	switch (rnd_below(x, 3)) {
	case 0:
		return PICK(x, param_keys);
	case 1:
		return PICK(x, junk_keys);
	default:
		return x->npool ? x->pool[rnd_below(x, x->npool)] : "k";
	}
}

static json_t *random_object(struct ctx *x, unsigned int depth)
{
	json_t *o = chk(json_object());
	size_t n = rnd_below(x, 4);

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, random_key(x), random_value(x, depth + 1));
	return o;
}

static json_t *random_value(struct ctx *x, unsigned int depth)
{
	unsigned int kind = (unsigned int)rnd_below(x, depth > 2 ? 9 : 20);

	switch (kind) {
	case 0:
		return chk(json_string(PICK(x, strings)));
	case 1:
		if (x->npool)
			return chk(json_string(x->pool[rnd_below(x, x->npool)]));
		return random_string(x);
	case 2:
		return random_string(x);
	case 3:
		return chk(json_integer(PICK(x, integers)));
	case 4:
		return chk(json_integer((json_int_t)rnd(x)));
	case 5:
		return chk(json_real(PICK(x, reals)));
	case 6:
		return chk(json_boolean(chance(x, 50)));
	case 7:
		return chk(json_null());
	case 8:
		return chk(json_string(PICK(x, methods)));
	case 9:
	case 10:
		return random_array(x, depth);
	case 11:
	case 12:
		return random_object(x, depth);
	case 13: {
		const char *s = PICK(x, raw_numbers);

		return raw(s, strlen(s));
	}
	case 14: {
		const char *s = PICK(x, raw_strings);

		return raw(s, strlen(s));
	}
	case 15: /* written as \u0000 */
		return chk(chance(x, 50) ? json_stringn("eth1\0", 5) : json_stringn("a\0b", 3));
	case 16:
		return deep(x);
	case 17:
		return rnd_below(x, 4) ? random_array(x, depth) : long_string(x);
	default:
		return random_string(x);
	}
}

/* An id of any type: mostly valid ones (string, integer, null), often not. */
static json_t *random_id(struct ctx *x, size_t line)
{
	char s[64];

	switch (rnd_below(x, 16)) {
	case 0:
		return chk(json_integer((json_int_t)line));
	case 1:
		snprintf(s, sizeof(s), "m%zu", line);
		return chk(json_string(s));
	case 2:
		return chk(json_null());
	case 3:
		return chk(json_integer(PICK(x, integers)));
	case 4:
		return chk(json_string(""));
	case 5:
		snprintf(s, sizeof(s), "\xc3\xa9\xe2\x80\xa8\"\\\t%zu", line);
		return chk(json_string(s));
	case 6:
		return chk(json_real(1.5));
	case 7:
		return chk(json_boolean(chance(x, 50)));
	case 8:
		return random_array(x, 1);
	case 9:
		return random_object(x, 1);
	case 10:
		return long_string(x);
	case 11: {
		const char *r = PICK(x, raw_numbers);

		return raw(r, strlen(r));
	}
	case 12: {
		const char *r = PICK(x, raw_strings);

		return raw(r, strlen(r));
	}
	case 13:
		return chk(json_integer(-(json_int_t)line));
	case 14:
		return chk(json_string(PICK(x, methods)));
	default:
		return random_value(x, 0);
	}
}

/* --- emitting -------------------------------------------------------------------------------- */

static void emit_string(struct buf *b, const char *s, size_t n)
{
	if (n > 0 && s[0] == RAW_MARK) {
		buf_put(b, s + 1, n - 1);
		return;
	}
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			buf_puts(b, esc);
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}

static void emit(struct ctx *x, struct buf *b, json_t *v);

static void emit_member(struct ctx *x, struct buf *b, const char *key, json_t *v, bool first)
{
	if (!first)
		buf_puts(b, x->spaced ? ", " : ",");
	emit_string(b, key, strlen(key));
	buf_puts(b, x->spaced ? ": " : ":");
	emit(x, b, v);
}

/* Compact JSON like json_dumps(), but raw strings and a duplicated member are possible. */
static void emit(struct ctx *x, struct buf *b, json_t *v)
{
	char num[64];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		bool first = true;
		json_t *m;

		buf_putc(b, '{');
		json_object_foreach(v, key, m) {
			emit_member(x, b, key, m, first);
			first = false;
		}
		if (v == x->dup_obj)
			emit_member(x, b, x->dup_key,
				    x->dup_value ?: json_object_get(v, x->dup_key) ?: json_null(),
				    first);
		buf_putc(b, '}');
		break;
	}
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_puts(b, x->spaced ? ", " : ",");
			emit(x, b, json_array_get(v, i));
		}
		buf_putc(b, ']');
		break;
	case JSON_STRING:
		emit_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		buf_puts(b, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		if (!strpbrk(num, ".eE"))
			strcat(num, ".0");
		buf_puts(b, num);
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	case JSON_NULL:
		buf_puts(b, "null");
		break;
	}
}

/* --- mutations of the request ---------------------------------------------------------------- */

static void collect(json_t *v, struct slot *slots, size_t *n, unsigned int depth)
{
	const char *key;
	json_t *m;

	if (depth > 6)
		return;
	if (json_is_object(v)) {
		json_object_foreach(v, key, m) {
			if (*n >= MAX_SLOTS)
				return;
			slots[(*n)++] = (struct slot){ .parent = v, .key = key };
			collect(m, slots, n, depth + 1);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && *n < MAX_SLOTS; i++) {
			slots[(*n)++] = (struct slot){ .parent = v, .index = i };
			collect(json_array_get(v, i), slots, n, depth + 1);
		}
	}
}

/* A random member (of the request, its params or deeper) or element; false if there is none. */
static bool pick_slot(struct ctx *x, json_t *root, struct slot *ret)
{
	struct slot slots[MAX_SLOTS];
	size_t n = 0;

	collect(root, slots, &n, 0);
	if (n == 0)
		return false;
	*ret = slots[rnd_below(x, n)];
	return true;
}

static void slot_set(struct slot *s, json_t *v)
{
	if (json_is_object(s->parent)) {
		_cleanup_free_ char *key = strdup(s->key);

		if (!key)
			oom();
		json_object_set_new(s->parent, key, v);
	} else {
		json_array_set_new(s->parent, s->index, v);
	}
}

static void slot_del(struct slot *s)
{
	if (json_is_object(s->parent)) {
		_cleanup_free_ char *key = strdup(s->key);

		if (!key)
			oom();
		json_object_del(s->parent, key);
	} else {
		json_array_remove(s->parent, s->index);
	}
}

/* An object to add a member to: scope itself, or an object inside it. */
static json_t *pick_object(struct ctx *x, json_t *scope)
{
	struct slot s;
	json_t *v;

	if (!json_is_object(scope))
		return NULL;
	if (chance(x, 60) || !pick_slot(x, scope, &s))
		return scope;
	v = json_is_object(s.parent) ? json_object_get(s.parent, s.key)
				     : json_array_get(s.parent, s.index);
	if (json_is_object(v))
		return v;
	return json_is_object(s.parent) ? s.parent : scope;
}

static char *mutate_key(struct ctx *x, const char *key)
{
	size_t n = strlen(key);
	char *k = malloc(n + 3);

	if (!k)
		oom();
	memcpy(k, key, n + 1);
	switch (rnd_below(x, 4)) {
	case 0:
		if (n)
			k[rnd_below(x, n)] ^= 0x20; /* case */
		break;
	case 1:
		k[n] = " _\ts"[rnd_below(x, 4)];
		k[n + 1] = '\0';
		break;
	case 2:
		if (n)
			k[n - 1] = '\0';
		break;
	default:
		memmove(k + 1, k, n + 1);
		k[0] = ' ';
		break;
	}
	return k;
}

static json_t *seed_params(json_t *seed)
{
	json_t *p = json_object_get(seed, "params");

	return json_is_object(p) ? p : NULL;
}

enum tree_op {
	TREE_OP_REPLACE, /* a value of another type */
	TREE_OP_DROP,	 /* a member or element less */
	TREE_OP_ADD,	 /* a member more */
	TREE_OP_DUP,	 /* a member twice */
	TREE_OP_RENAME,	 /* a member under a near name */
	TREE_OP_SPLICE,	 /* a parameter of another seed (of another method, mostly) */
	TREE_OP_CROSS,	 /* a value of another seed's parameters, in place */
	TREE_OP_METHOD,	 /* another method, mostly one of netd's */
	TREE_OP_ID,	 /* an id of another type, or none */
	TREE_OP_JSONRPC, /* another jsonrpc, or none */
	TREE_OP_PARAMS,	 /* params of another type, or none */
	TREE_OP_WRAP,	 /* a batch, or no object at all */
};

/* Inside the parameters, where the methods' own checks are. */
static const enum tree_op params_ops[] = {
	TREE_OP_REPLACE, TREE_OP_REPLACE, TREE_OP_DROP,	 TREE_OP_ADD,	TREE_OP_DUP,
	TREE_OP_RENAME,	 TREE_OP_SPLICE,  TREE_OP_CROSS, TREE_OP_CROSS,
};

/* Anywhere in the request. */
static const enum tree_op request_ops[] = {
	TREE_OP_REPLACE, TREE_OP_DROP,	 TREE_OP_ADD,	 TREE_OP_DUP, TREE_OP_RENAME,
	TREE_OP_METHOD,	 TREE_OP_METHOD, TREE_OP_METHOD, TREE_OP_ID,  TREE_OP_ID,
	TREE_OP_JSONRPC, TREE_OP_PARAMS, TREE_OP_WRAP,
};

/* One change to the request tree; may replace the root. */
static void mutate_tree(struct ctx *x, json_t **root, json_t *const *seeds, size_t nseeds,
			size_t line)
{
	json_t *r = *root, *params = json_object_get(r, "params"), *scope = r, *o;
	enum tree_op op;
	struct slot s;

	if (json_is_object(params) && chance(x, 55)) {
		scope = params;
		op = PICK(x, params_ops);
	} else {
		op = PICK(x, request_ops);
	}
	switch (op) {
	case TREE_OP_REPLACE:
		if (pick_slot(x, scope, &s))
			slot_set(&s, random_value(x, 0));
		break;
	case TREE_OP_DROP:
		if (pick_slot(x, scope, &s))
			slot_del(&s);
		break;
	case TREE_OP_ADD:
		o = pick_object(x, scope);
		if (o)
			json_object_set_new(o, random_key(x), random_value(x, 0));
		break;
	case TREE_OP_DUP:
		if (!x->dup_obj && pick_slot(x, scope, &s) && json_is_object(s.parent)) {
			x->dup_obj = json_incref(s.parent);
			x->dup_key = strdup(s.key);
			if (!x->dup_key)
				oom();
			if (chance(x, 50))
				x->dup_value = random_value(x, 0);
		}
		break;
	case TREE_OP_RENAME: {
		_cleanup_free_ char *k = NULL;
		json_t *v;

		if (!pick_slot(x, scope, &s) || !json_is_object(s.parent))
			break;
		v = json_incref(json_object_get(s.parent, s.key));
		k = mutate_key(x, s.key);
		slot_del(&s);
		json_object_set_new(s.parent, k, v);
		break;
	}
	case TREE_OP_SPLICE: {
		json_t *from = seed_params(seeds[rnd_below(x, nseeds)]);
		const char *key;
		size_t i = 0, n;
		json_t *v;

		if (!from || !json_object_size(from) || !json_is_object(scope))
			break;
		n = rnd_below(x, json_object_size(from));
		json_object_foreach(from, key, v) {
			if (i++ == n) {
				json_object_set_new(scope, key, chk(json_deep_copy(v)));
				break;
			}
		}
		break;
	}
	case TREE_OP_CROSS: {
		json_t *from = seed_params(seeds[rnd_below(x, nseeds)]);
		struct slot t;

		if (from && pick_slot(x, scope, &s) && pick_slot(x, from, &t))
			slot_set(&s,
				 chk(json_deep_copy(json_is_object(t.parent)
							    ? json_object_get(t.parent, t.key)
							    : json_array_get(t.parent, t.index))));
		break;
	}
	case TREE_OP_METHOD:
		if (json_is_object(r))
			json_object_set_new(r, "method",
					    chk(json_string(chance(x, 85) ? PICK(x, methods)
									  : PICK(x, bad_methods))));
		break;
	case TREE_OP_ID:
		if (!json_is_object(r))
			break;
		if (chance(x, 20))
			json_object_del(r, "id");
		else
			json_object_set_new(r, "id", random_id(x, line));
		break;
	case TREE_OP_JSONRPC:
		if (!json_is_object(r))
			break;
		if (chance(x, 25))
			json_object_del(r, "jsonrpc");
		else
			json_object_set_new(r, "jsonrpc",
					    chance(x, 50) ? chk(json_string(PICK(x, versions)))
							  : random_value(x, 0));
		break;
	case TREE_OP_PARAMS:
		if (!json_is_object(r))
			break;
		if (chance(x, 25))
			json_object_del(r, "params");
		else
			json_object_set_new(r, "params",
					    chance(x, 50) ? random_object(x, 0)
							  : random_value(x, 0));
		break;
	case TREE_OP_WRAP:
		if (chance(x, 50)) {
			json_t *a = chk(json_array());

			json_array_append_new(a, r);
			if (chance(x, 50))
				json_array_append(a, r);
			*root = a;
		} else {
			json_decref(r);
			*root = random_value(x, 0);
		}
		break;
	}
}

static char random_byte(struct ctx *x)
{
	char c;

	do
		c = chance(x, 50) ? interesting_bytes[rnd_below(x, sizeof(interesting_bytes) - 1)]
				  : (char)rnd_below(x, 256);
	while (c == '\n');
	return c;
}

/* One change to the bytes of the line. */
static void mutate_bytes(struct ctx *x, struct buf *b)
{
	size_t at = rnd_below(x, b->len + 1), len = 1 + rnd_below(x, 32);

	switch (rnd_below(x, 8)) {
	case 0: /* flip a bit */
		if (at < b->len) {
			b->p[at] ^= (char)(1 << rnd_below(x, 8));
			if (b->p[at] == '\n')
				b->p[at] = ' ';
		}
		break;
	case 1: /* replace a byte */
		if (at < b->len)
			b->p[at] = random_byte(x);
		break;
	case 2: { /* insert a byte */
		char c = random_byte(x);

		buf_insert(b, at, &c, 1);
		break;
	}
	case 3: { /* insert a token */
		const char *t = PICK(x, interesting_tokens);

		buf_insert(b, at, t, strlen(t));
		break;
	}
	case 4: /* delete bytes */
		if (at < b->len)
			buf_delete(b, at, MIN(b->len - at, len % 8 + 1));
		break;
	case 5: /* truncate */
		b->len = rnd_below(x, b->len + 1);
		break;
	case 6: { /* duplicate a span */
		size_t n = MIN(b->len - at, len);
		_cleanup_free_ char *span = malloc(n + 1);

		if (!span)
			oom();
		memcpy(span, b->p + at, n);
		buf_insert(b, at, span, n);
		break;
	}
	default: /* swap two bytes */
		if (b->len >= 2) {
			size_t other = rnd_below(x, b->len);
			char c;

			at = rnd_below(x, b->len);
			c = b->p[at];
			b->p[at] = b->p[other];
			b->p[other] = c;
		}
		break;
	}
}

/* --- the expected answer --------------------------------------------------------------------- */

static unsigned int depth_of(json_t *v)
{
	unsigned int d = 0;
	const char *key;
	json_t *m;

	if (json_is_object(v)) {
		json_object_foreach(v, key, m) {
			unsigned int dm = depth_of(m);

			d = MAX(d, dm);
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			unsigned int di = depth_of(json_array_get(v, i));

			d = MAX(d, di);
		}
		return d + 1;
	}
	return 0;
}

/* What netd must answer to one line (without its '\n'), as documented in the header. */
static void expect_line(FILE *f, const char *s, size_t len)
{
	json_auto_t *root = NULL;
	json_t *id, *version, *method, *params, *v;
	bool invalid, bad_params;
	_cleanup_free_ char *ids = NULL;
	json_error_t jerr;
	const char *key;

	if (len + 1 > CTL_MAX_REQUEST) {
		fputs("I\n", f);
		return;
	}
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len == 0) {
		fputs("-\n", f);
		return;
	}
	root = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!root || depth_of(root) > CTL_MAX_DEPTH) {
		fputs("P\n", f);
		return;
	}
	if (!json_is_object(root)) {
		fputs("I\n", f);
		return;
	}
	id = json_object_get(root, "id");
	version = json_object_get(root, "jsonrpc");
	method = json_object_get(root, "method");
	params = json_object_get(root, "params");
	invalid = (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) ||
		  !json_is_string(version) || !streq(json_string_value(version), "2.0") ||
		  !json_is_string(method) || json_string_length(method) == 0;
	json_object_foreach(root, key, v)
		if (!streq(key, "jsonrpc") && !streq(key, "method") && !streq(key, "params") &&
		    !streq(key, "id"))
			invalid = true;
	bad_params = params && !json_is_object(params) && !json_is_null(params);
	if (invalid || bad_params) {
		fputs(invalid && bad_params ? "X\n" : invalid ? "I\n" : "Q\n", f);
		return;
	}
	if (!id) {
		fputs("-\n", f);
		return;
	}
	ids = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!ids)
		oom();
	fprintf(f, "%s\n", ids);
}

/* --- main ------------------------------------------------------------------------------------ */

static void pool_add(struct ctx *x, const char *s)
{
	for (size_t i = 0; i < x->npool; i++)
		if (streq(x->pool[i], s))
			return;
	if (x->npool < MAX_POOL)
		x->pool[x->npool++] = s;
}

/* Remember the seeds' keys and strings (they point into the seeds, which live to the end). */
static void harvest(struct ctx *x, json_t *v)
{
	const char *key;
	json_t *m;

	if (json_is_object(v)) {
		json_object_foreach(v, key, m) {
			pool_add(x, key);
			harvest(x, m);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			harvest(x, json_array_get(v, i));
	} else if (json_is_string(v)) {
		pool_add(x, json_string_value(v));
	}
}

static int read_seeds(FILE *in, const char *name, json_t ***ret, size_t *ret_n)
{
	_cleanup_free_ char *line = NULL;
	json_t **seeds = NULL;
	size_t cap = 0, n = 0, lineno = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, in)) >= 0) {
		json_error_t jerr;
		json_t *v, **ns;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		v = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(v)) {
			fprintf(stderr, "ctlmutate: %s:%zu: not a JSON object: %s\n", name, lineno,
				v ? "another JSON value" : jerr.text);
			json_decref(v);
			goto out_free;
		}
		ns = realloc(seeds, (n + 1) * sizeof(*seeds));
		if (!ns)
			oom();
		seeds = ns;
		seeds[n++] = v;
	}
	if (ferror(in)) {
		fprintf(stderr, "ctlmutate: reading %s: %m\n", name);
		goto out_free;
	}
	if (n == 0) {
		fprintf(stderr, "ctlmutate: %s holds no seed request\n", name);
		goto out_free;
	}
	*ret = seeds;
	*ret_n = n;
	return 0;

out_free:
	for (size_t i = 0; i < n; i++)
		json_decref(seeds[i]);
	free(seeds);
	return -EINVAL;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 0);
	return errno || *end || end == s || s[0] == '-' || *ret > max ? -EINVAL : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ctlmutate [--seed N] [--count N] [--expect FILE] [SEEDS]\n"
		"Writes COUNT (default 1000) mutated control requests, one per line, made from\n"
		"the valid requests in SEEDS (one JSON object per line; default stdin).\n"
		"  --seed N       random seed (default 1): the same seed, the same lines\n"
		"  --count N      how many lines to write\n"
		"  --expect FILE  write, for each line, the answer netd owes it:\n"
		"                 '-' none, P parse error, I invalid request, Q invalid params,\n"
		"                 X invalid request or params (all with id null), else the id\n");
}

/* One output line: a seed picked at random, with a fresh id, then (mostly) mutated. */
static void make_line(struct ctx *x, json_t *const *seeds, size_t nseeds, size_t line,
		      struct buf *b)
{
	json_auto_t *root = chk(json_deep_copy(seeds[rnd_below(x, nseeds)]));
	unsigned int what = (unsigned int)rnd_below(x, 100), n;
	char id[32];

	if (chance(x, 50)) {
		json_object_set_new(root, "id", chk(json_integer((json_int_t)line)));
	} else {
		snprintf(id, sizeof(id), "m%zu", line);
		json_object_set_new(root, "id", chk(json_string(id)));
	}
	x->dup_obj = NULL;
	x->dup_key = NULL;
	x->dup_value = NULL;
	x->spaced = chance(x, 10);

	if (what < 8) /* a valid notification */
		json_object_del(root, "id");
	if (what >= 20 && what < 80) /* tree mutations only; 80..89 both; 90..99 bytes only */
		for (n = 1 + (unsigned int)rnd_below(x, MAX_TREE_OPS); n > 0; n--)
			mutate_tree(x, &root, seeds, nseeds, line);
	else if (what >= 80 && what < 90)
		mutate_tree(x, &root, seeds, nseeds, line);

	b->len = 0;
	if (chance(x, 3))
		buf_putc(b, " \t\r"[rnd_below(x, 3)]); /* whitespace before the JSON */
	emit(x, b, root);
	if (what >= 80)
		for (n = 1 + (unsigned int)rnd_below(x, MAX_BYTE_OPS); n > 0; n--)
			mutate_bytes(x, b);
	if (chance(x, 3))
		buf_putc(b, '\r'); /* CRLF */
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] == '\n')
			b->p[i] = ' ';

	json_decref(x->dup_obj);
	free(x->dup_key);
	json_decref(x->dup_value);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "expect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long seed = 1, count = DEFAULT_COUNT;
	_cleanup_fclose_ FILE *in = NULL, *expect = NULL;
	const char *expect_path = NULL, *name = "stdin";
	static struct ctx x;
	struct buf b = {};
	json_t **seeds = NULL;
	size_t nseeds = 0;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "s:n:e:h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			if (parse_ulong(optarg, ULONG_MAX, &seed) < 0) {
				fprintf(stderr, "ctlmutate: --seed needs a number, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_ulong(optarg, 100000000, &count) < 0) {
				fprintf(stderr,
					"ctlmutate: --count needs a number up to 100000000, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'e':
			expect_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "ctlmutate: one seed file at most\n");
		usage(stderr);
		return 2;
	}
	if (optind < argc && !streq(argv[optind], "-")) {
		name = argv[optind];
		in = fopen(name, "re");
		if (!in) {
			fprintf(stderr, "ctlmutate: cannot open %s: %m\n", name);
			return 1;
		}
	}
	if (read_seeds(in ?: stdin, name, &seeds, &nseeds) < 0)
		return 1;
	if (expect_path) {
		expect = fopen(expect_path, "we");
		if (!expect) {
			fprintf(stderr, "ctlmutate: cannot create %s: %m\n", expect_path);
			r = 1;
			goto out_free;
		}
	}

	x.rng = seed;
	for (size_t i = 0; i < nseeds; i++)
		harvest(&x, seeds[i]);
	for (size_t line = 1; line <= count; line++) {
		make_line(&x, seeds, nseeds, line, &b);
		buf_putc(&b, '\n');
		fwrite(b.p, 1, b.len, stdout);
		if (expect)
			expect_line(expect, b.p, b.len - 1);
	}
	if (fflush(stdout) != 0 || ferror(stdout) || (expect && fflush(expect) != 0)) {
		fprintf(stderr, "ctlmutate: write error: %m\n");
		r = 1;
	}

out_free:
	free(b.p);
	for (size_t i = 0; i < nseeds; i++)
		json_decref(seeds[i]);
	free(seeds);
	return r;
}
