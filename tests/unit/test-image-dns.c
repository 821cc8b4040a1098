// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for runtime/dns.h: queries built, answers parsed (canned messages, no network). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns.h"
#include "util.h"

/* A message under construction. */
struct msg {
	uint8_t b[512];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 2);
}

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");
		uint8_t c = (uint8_t)l;

		put(m, &c, 1);
		put(m, name, l);
		name += l + (name[l] == '.');
	}
	put(m, "", 1);
}

/* Header and one question; answers are appended by the caller. */
static void answer_start(struct msg *m, uint16_t id, unsigned int rcode, uint16_t ancount,
			 const char *qname, uint16_t qtype)
{
	m->n = 0;
	put16(m, id);
	put16(m, (uint16_t)(0x8180 | rcode)); /* QR, RD, RA */
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, 1);
}

/* A resource record whose owner is a pointer to offset 12 (the question's name) or a name. */
static void put_rr(struct msg *m, const char *owner, uint16_t type, const void *rdata,
		   uint16_t rdlen)
{
	if (owner)
		put_name(m, owner);
	else
		put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60);
	put16(m, rdlen);
	put(m, rdata, rdlen);
}

static const char *addr4(const struct dns_result *r, size_t i, char *buf)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)&r->addrs[i];

	assert_int_equal(s->sin_family, AF_INET);
	return inet_ntop(AF_INET, &s->sin_addr, buf, INET_ADDRSTRLEN);
}

static void test_query(void **state)
{
	static const uint8_t want[] = { 0x12, 0x34, 0x01, 0,   0,   1,	 0,   0,   0,	0, 0,	0,
					8,    'r',  'e',  'g', 'i', 's', 't', 'r', 'y', 3, 'v', 'p',
					'c',  4,    't',  'e', 's', 't', 0,   0,   1,	0, 1 };
	uint8_t buf[300];
	size_t len;

	assert_int_equal(dns_query_build("registry.vpc.test", 0x1234, 1, buf, sizeof(buf), &len),
			 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, len);
	/* A trailing dot is the same name. */
	assert_int_equal(dns_query_build("registry.vpc.test.", 0x1234, 1, buf, sizeof(buf), &len),
			 0);
	assert_memory_equal(buf, want, len);

	assert_int_equal(dns_query_build("", 1, 1, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(dns_query_build("a..b", 1, 1, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(dns_query_build(".a", 1, 1, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(dns_query_build("a.b", 1, 1, buf, 10, &len), -EINVAL);
	memset(buf, 'a', 64);
	buf[64] = '\0';
	assert_int_equal(dns_query_build((char *)buf, 1, 1, buf + 100, 150, &len), -EINVAL);
}

static void test_answer_a(void **state)
{
	static const uint8_t a1[4] = { 198, 18, 0, 1 }, a2[4] = { 198, 18, 0, 2 },
			     other[4] = { 10, 0, 0, 1 };
	struct dns_result r = {};
	struct msg m;
	char ip[INET_ADDRSTRLEN];

	answer_start(&m, 7, 0, 3, "registry.vpc.test", 1);
	put_rr(&m, NULL, 1, a1, 4);
	put_rr(&m, "elsewhere.test", 1, other, 4); /* not the name asked: ignored */
	put_rr(&m, "REGISTRY.vpc.test", 1, a2, 4);
	assert_int_equal(dns_answer_parse(m.b, m.n, 7, "registry.vpc.test", 1, &r), 0);
	assert_int_equal(r.n_addrs, 2);
	assert_string_equal(addr4(&r, 0, ip), "198.18.0.1");
	assert_string_equal(addr4(&r, 1, ip), "198.18.0.2");
}

static void test_answer_cname(void **state)
{
	static const uint8_t a[4] = { 198, 18, 0, 9 };
	struct dns_result r = {};
	struct msg m, target;
	char ip[INET_ADDRSTRLEN];

	target.n = 0;
	put_name(&target, "real.vpc.test");
	answer_start(&m, 9, 0, 2, "alias.vpc.test", 1);
	put_rr(&m, NULL, 5, target.b, (uint16_t)target.n);
	put_rr(&m, "real.vpc.test", 1, a, 4);
	assert_int_equal(dns_answer_parse(m.b, m.n, 9, "alias.vpc.test", 1, &r), 0);
	assert_int_equal(r.n_addrs, 1);
	assert_string_equal(addr4(&r, 0, ip), "198.18.0.9");
}

static void test_answer_aaaa(void **state)
{
	struct in6_addr a6;
	struct dns_result r = {};
	struct msg m;

	assert_int_equal(inet_pton(AF_INET6, "fd00::53", &a6), 1);
	answer_start(&m, 3, 0, 1, "v6.test", 28);
	put_rr(&m, NULL, 28, &a6, 16);
	assert_int_equal(dns_answer_parse(m.b, m.n, 3, "v6.test", 28, &r), 0);
	assert_int_equal(r.n_addrs, 1);
	assert_int_equal(r.addrs[0].ss_family, AF_INET6);
	assert_memory_equal(&((struct sockaddr_in6 *)&r.addrs[0])->sin6_addr, &a6, 16);
}

static void test_answer_bad(void **state)
{
	static const uint8_t a[4] = { 1, 2, 3, 4 };
	struct dns_result r = {};
	struct msg m;

	/* NXDOMAIN and SERVFAIL are answers: their code comes back. */
	answer_start(&m, 5, 3, 0, "nosuch.test", 1);
	assert_int_equal(dns_answer_parse(m.b, m.n, 5, "nosuch.test", 1, &r), 3);
	answer_start(&m, 5, 2, 0, "x.test", 1);
	assert_int_equal(dns_answer_parse(m.b, m.n, 5, "x.test", 1, &r), 2);

	/* Not answers to this query. */
	answer_start(&m, 5, 0, 1, "x.test", 1);
	put_rr(&m, NULL, 1, a, 4);
	assert_int_equal(dns_answer_parse(m.b, m.n, 6, "x.test", 1, &r), -EBADMSG);
	assert_int_equal(dns_answer_parse(m.b, m.n, 5, "y.test", 1, &r), -EBADMSG);
	assert_int_equal(dns_answer_parse(m.b, m.n, 5, "x.test", 28, &r), -EBADMSG);
	assert_int_equal(dns_answer_parse(m.b, m.n - 1, 5, "x.test", 1, &r), -EBADMSG);
	assert_int_equal(dns_answer_parse(m.b, 11, 5, "x.test", 1, &r), -EBADMSG);
	m.b[2] &= 0x7f; /* a query, not a response */
	assert_int_equal(dns_answer_parse(m.b, m.n, 5, "x.test", 1, &r), -EBADMSG);

	/* An A record of 5 bytes. */
	answer_start(&m, 5, 0, 1, "x.test", 1);
	put_rr(&m, NULL, 1, "\1\2\3\4\5", 5);
	assert_int_equal(dns_answer_parse(m.b, m.n, 5, "x.test", 1, &r), -EBADMSG);
	assert_int_equal(r.n_addrs, 0);
}

static void test_resolve_literal(void **state)
{
	struct dns_opts o = {}; /* no nameservers: a literal needs none */
	struct dns_result r;
	char ip[INET_ADDRSTRLEN], *err = NULL;

	assert_int_equal(dns_resolve(&o, "198.18.0.1", &r, NULL), 0);
	assert_int_equal(r.n_addrs, 1);
	assert_string_equal(addr4(&r, 0, ip), "198.18.0.1");
	assert_int_equal(dns_resolve(&o, "[fd00::1]", &r, NULL), 0);
	assert_int_equal(r.addrs[0].ss_family, AF_INET6);
	assert_int_equal(dns_resolve(&o, "registry.vpc.test", &r, &err), -EINVAL);
	assert_non_null(strstr(err, "no nameservers"));
	free(err);
	err = NULL;
	assert_int_equal(dns_resolve(&o, "bad..name", &r, &err), -EINVAL);
	assert_non_null(strstr(err, "not a valid host name"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),	     cmocka_unit_test(test_answer_a),
		cmocka_unit_test(test_answer_cname), cmocka_unit_test(test_answer_aaaa),
		cmocka_unit_test(test_answer_bad),   cmocka_unit_test(test_resolve_literal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
