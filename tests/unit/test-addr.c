// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for lib/addr.h: prefix, address and MAC parsing, formatting and comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "addr.h"
#include "util.h"

/* Compare a result and name the input in the failure message. */
static void assert_result(const char *input, int got, int want)
{
	char g[128], w[128];

	snprintf(g, sizeof(g), "\"%.100s\" -> %d", input, got);
	snprintf(w, sizeof(w), "\"%.100s\" -> %d", input, want);
	assert_string_equal(g, w);
}

/* Parse s as a prefix that must be valid, and return it. */
static struct in_prefix prefix(const char *s)
{
	struct in_prefix p;

	assert_int_equal(addr_prefix_parse(s, &p), 0);
	return p;
}

/* Parse s as a bare address that must be valid, and return it. */
static struct in_prefix ip(const char *s)
{
	struct in_prefix p;

	assert_int_equal(addr_ip_parse(s, 0, &p), 0);
	return p;
}

static void assert_v4(const struct in_prefix *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
		      uint8_t len)
{
	const uint8_t want[4] = { a, b, c, d };

	assert_int_equal(p->family, AF_INET);
	assert_memory_equal(p->u.bytes, want, sizeof(want));
	assert_int_equal(p->len, len);
}

static void test_prefix_parse_v4(void **state)
{
	struct in_prefix p;

	p = prefix("10.0.0.0/8");
	assert_v4(&p, 10, 0, 0, 0, 8);
	p = prefix("192.168.1.77/32");
	assert_v4(&p, 192, 168, 1, 77, 32);
	p = prefix("0.0.0.0/0");
	assert_v4(&p, 0, 0, 0, 0, 0);
	p = prefix("255.255.255.255/32");
	assert_v4(&p, 255, 255, 255, 255, 32);
	/* Host bits are kept: parsing does not mask. */
	p = prefix("10.1.2.3/24");
	assert_v4(&p, 10, 1, 2, 3, 24);
	p = prefix("172.16.0.1/12");
	assert_v4(&p, 172, 16, 0, 1, 12);
}

static void test_prefix_parse_v6(void **state)
{
	const uint8_t db8[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	const uint8_t loop[16] = { [15] = 1 };
	const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 };
	const uint8_t zero[16] = {};
	struct in_prefix p;

	p = prefix("2001:db8::/32");
	assert_int_equal(p.family, AF_INET6);
	assert_memory_equal(p.u.bytes, db8, 16);
	assert_int_equal(p.len, 32);

	p = prefix("::/0");
	assert_int_equal(p.family, AF_INET6);
	assert_memory_equal(p.u.bytes, zero, 16);
	assert_int_equal(p.len, 0);

	p = prefix("::1/128");
	assert_int_equal(p.family, AF_INET6);
	assert_memory_equal(p.u.bytes, loop, 16);
	assert_int_equal(p.len, 128);

	/* Leading zeros inside IPv6 groups are part of the syntax. */
	p = prefix("0000:0000:0000:0000:0000:0000:0000:0001/127");
	assert_memory_equal(p.u.bytes, loop, 16);
	assert_int_equal(p.len, 127);

	p = prefix("2001:DB8:0:0:0:0:0:0/48");
	assert_memory_equal(p.u.bytes, db8, 16);
	assert_int_equal(p.len, 48);

	/* An IPv4-mapped address is IPv6 and takes IPv6 lengths. */
	p = prefix("::ffff:10.0.0.1/96");
	assert_int_equal(p.family, AF_INET6);
	assert_memory_equal(p.u.bytes, mapped, 16);
	assert_int_equal(p.len, 96);
	p = prefix("::ffff:10.0.0.1/100");
	assert_int_equal(p.len, 100);
}

static void test_prefix_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"/",
		"/24",
		"10.0.0.0",   /* length missing */
		"2001:db8::", /* length missing */
		"10.0.0.0/",
		"2001:db8::/",
		"10.0.0.0/33",
		"10.0.0.0/255",
		"10.0.0.0/256",
		"::/129",
		"::/200",
		"::/1000",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/0x8",
		"10.0.0.0/8x",
		"10.0.0.0/8/8",
		"10.0.0.0//8",
		"10.0.0.0/abc",
		"10.0.0.0/8 ",
		"10.0.0.0/8\n",
		"10.0.0.0/ 8",
		"10.0.0.0 /8",
		" 10.0.0.0/8",
		"\t10.0.0.0/8",
		"10.0.0.0/08", /* leading zero in the length */
		"10.0.0.0/008",
		"::/0128",
		"::/00",
		"010.0.0.0/8", /* leading zero in an octet */
		"10.00.0.0/8",
		"10.0.0/8",
		"10.0.0.0.0/8",
		"10.0.0.256/8",
		"10.0.0.-1/8",
		"1.2.3.4.in-addr/8",
		"garbage",
		"garbage/8",
		"::g/64",
		"2001:db8:::1/64",
		"1:2:3:4:5:6:7:8:9/64",
		"00001::/64",
		"fe80::1%eth0/64",
		"[::1]/128",
		"10.0.0.0\\8",
	};
	struct in_prefix p, sentinel;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p = sentinel;
		assert_result(bad[i], addr_prefix_parse(bad[i], &p), -EINVAL);
		/* A failed parse leaves the output alone. */
		assert_memory_equal(&p, &sentinel, sizeof(p));
	}
	assert_int_equal(addr_prefix_parse(NULL, &p), -EINVAL);
}

static void test_prefix_parse_long(void **state)
{
	char buf[4096];
	struct in_prefix p;

	/* The longest textual IPv6 address (45 characters) still parses. */
	p = prefix("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128");
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 128);
	for (int i = 0; i < 16; i++)
		assert_int_equal(p.u.bytes[i], 0xff);

	/* Very long inputs are refused without overflowing anything. */
	memset(buf, '1', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(addr_prefix_parse(buf, &p), -EINVAL);
	assert_int_equal(addr_ip_parse(buf, 0, &p), -EINVAL);
	assert_int_equal(addr_prefix_parse_any(buf, &p), -EINVAL);

	buf[sizeof(buf) - 3] = '/';
	assert_int_equal(addr_prefix_parse(buf, &p), -EINVAL);

	/* A valid address followed by a long length. */
	memset(buf, '0', sizeof(buf));
	memcpy(buf, "10.0.0.0/", 9);
	buf[sizeof(buf) - 2] = '8';
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(addr_prefix_parse(buf, &p), -EINVAL);

	/* A long run of zeros in front of an IPv6 address. */
	memset(buf, '0', 60);
	strcpy(buf + 60, "::1/128");
	assert_int_equal(addr_prefix_parse(buf, &p), -EINVAL);
}

static void test_ip_parse(void **state)
{
	struct in_prefix p, sentinel;

	assert_int_equal(addr_ip_parse("10.1.2.3", 0, &p), 0);
	assert_v4(&p, 10, 1, 2, 3, 32);
	assert_int_equal(addr_ip_parse("10.1.2.3", AF_INET, &p), 0);
	assert_v4(&p, 10, 1, 2, 3, 32);

	assert_int_equal(addr_ip_parse("fe80::1", 0, &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 128);
	assert_int_equal(p.u.bytes[0], 0xfe);
	assert_int_equal(p.u.bytes[1], 0x80);
	assert_int_equal(p.u.bytes[15], 1);
	assert_int_equal(addr_ip_parse("fe80::1", AF_INET6, &p), 0);

	memset(&sentinel, 0x5a, sizeof(sentinel));
	p = sentinel;
	/* The family filter. */
	assert_int_equal(addr_ip_parse("10.1.2.3", AF_INET6, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("::1", AF_INET, &p), -EINVAL);
	/* A bare address only. */
	assert_int_equal(addr_ip_parse("10.1.2.3/32", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("::1/128", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse(NULL, 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse(" 10.1.2.3", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("10.1.2.3 ", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("010.1.2.3", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("10.1.2", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("localhost", 0, &p), -EINVAL);
	assert_int_equal(addr_ip_parse("10.1.2.3", AF_UNIX, &p), -EINVAL);
	assert_memory_equal(&p, &sentinel, sizeof(p));
}

static void test_prefix_parse_any(void **state)
{
	struct in_prefix p;

	assert_int_equal(addr_prefix_parse_any("10.1.2.3", &p), 0);
	assert_v4(&p, 10, 1, 2, 3, 32);
	assert_int_equal(addr_prefix_parse_any("10.1.2.3/16", &p), 0);
	assert_v4(&p, 10, 1, 2, 3, 16);
	assert_int_equal(addr_prefix_parse_any("2001:db8::5", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 128);
	assert_int_equal(addr_prefix_parse_any("2001:db8::5/64", &p), 0);
	assert_int_equal(p.len, 64);

	assert_int_equal(addr_prefix_parse_any("", &p), -EINVAL);
	assert_int_equal(addr_prefix_parse_any(NULL, &p), -EINVAL);
	assert_int_equal(addr_prefix_parse_any("10.1.2.3/", &p), -EINVAL);
	assert_int_equal(addr_prefix_parse_any("10.1.2.3/33", &p), -EINVAL);
	assert_int_equal(addr_prefix_parse_any("bogus", &p), -EINVAL);
}

static void test_prefix_format_roundtrip(void **state)
{
	static const char *const canon[] = {
		"10.0.0.0/8",
		"192.168.1.77/32",
		"0.0.0.0/0",
		"255.255.255.255/32",
		"10.1.2.3/24",
		"2001:db8::/32",
		"::/0",
		"::1/128",
		"fe80::1:2/64",
		"::ffff:10.0.0.1/96",
		"2001:db8:0:1:2:3:4:5/128",
		"1111:2222:3333:4444:5555:6666:7777:8888/128",
	};
	char buf[ADDR_PREFIX_STRLEN];

	for (size_t i = 0; i < ARRAY_SIZE(canon); i++) {
		struct in_prefix p = prefix(canon[i]), q;

		assert_ptr_equal(addr_prefix_format(&p, buf, sizeof(buf)), buf);
		assert_string_equal(buf, canon[i]);
		q = prefix(buf);
		assert_true(addr_prefix_equal(&p, &q));
	}
}

static void test_prefix_format_canonical(void **state)
{
	char buf[ADDR_PREFIX_STRLEN];
	struct in_prefix p;

	p = prefix("2001:DB8:0:0:0:0:0:1/64");
	assert_string_equal(addr_prefix_format(&p, buf, sizeof(buf)), "2001:db8::1/64");
	assert_string_equal(addr_ip_format(&p, buf, sizeof(buf)), "2001:db8::1");
	p = prefix("0000:0000:0000:0000:0000:0000:0000:0001/128");
	assert_string_equal(addr_prefix_format(&p, buf, sizeof(buf)), "::1/128");
	p = prefix("10.1.2.3/24");
	assert_string_equal(addr_ip_format(&p, buf, sizeof(buf)), "10.1.2.3");

	p = ip("192.0.2.1");
	assert_string_equal(addr_prefix_format(&p, buf, sizeof(buf)), "192.0.2.1/32");

	/* Too small a buffer: truncated but terminated, or "?" for the address alone. */
	p = prefix("10.0.0.0/8");
	addr_prefix_format(&p, buf, 8);
	assert_string_equal(buf, "10.0.0.");
	assert_string_equal(addr_ip_format(&p, buf, 4), "?");
}

static void test_family_len(void **state)
{
	assert_int_equal(addr_family_len(AF_INET), 4);
	assert_int_equal(addr_family_len(AF_INET6), 16);
}

static void test_prefix_contains(void **state)
{
	struct in_prefix net, a;

	net = prefix("10.0.0.0/8");
	a = ip("10.255.1.2");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("10.0.0.0");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("11.0.0.1");
	assert_false(addr_prefix_contains(&net, &a));
	a = ip("9.255.255.255");
	assert_false(addr_prefix_contains(&net, &a));

	/* A length off a byte boundary. */
	net = prefix("192.168.4.0/22");
	a = ip("192.168.7.255");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("192.168.4.0");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("192.168.8.0");
	assert_false(addr_prefix_contains(&net, &a));
	a = ip("192.168.3.255");
	assert_false(addr_prefix_contains(&net, &a));

	/* Host bits in net do not matter beyond its length. */
	net = prefix("172.16.5.9/12");
	a = ip("172.31.255.254");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("172.32.0.0");
	assert_false(addr_prefix_contains(&net, &a));

	/* Only the address part of ip counts. */
	a = prefix("172.16.0.0/8");
	assert_true(addr_prefix_contains(&net, &a));

	net = prefix("10.1.2.3/32");
	a = ip("10.1.2.3");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("10.1.2.2");
	assert_false(addr_prefix_contains(&net, &a));

	/* /0 holds every address of its own family and none of the other. */
	net = prefix("0.0.0.0/0");
	a = ip("203.0.113.9");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("::");
	assert_false(addr_prefix_contains(&net, &a));
	net = prefix("::/0");
	a = ip("2001:db8::1");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("0.0.0.0");
	assert_false(addr_prefix_contains(&net, &a));

	net = prefix("2001:db8::/32");
	a = ip("2001:db8:ffff:ffff::1");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("2001:db9::");
	assert_false(addr_prefix_contains(&net, &a));

	net = prefix("fe80::/10");
	a = ip("febf:ffff::1");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("fec0::1");
	assert_false(addr_prefix_contains(&net, &a));

	net = prefix("2001:db8::1/128");
	a = ip("2001:db8::1");
	assert_true(addr_prefix_contains(&net, &a));
	a = ip("2001:db8::");
	assert_false(addr_prefix_contains(&net, &a));

	/* The IPv4-mapped form is not the IPv4 address. */
	net = prefix("10.0.0.0/8");
	a = ip("::ffff:10.0.0.1");
	assert_false(addr_prefix_contains(&net, &a));
}

static void assert_masked(const char *in, const char *want)
{
	char buf[ADDR_PREFIX_STRLEN];
	struct in_prefix p = prefix(in);

	addr_prefix_mask(&p);
	assert_string_equal(addr_prefix_format(&p, buf, sizeof(buf)), want);
}

static void test_prefix_mask(void **state)
{
	struct in_prefix p;

	assert_masked("10.1.2.3/8", "10.0.0.0/8");
	assert_masked("192.168.7.255/22", "192.168.4.0/22");
	assert_masked("192.168.7.255/23", "192.168.6.0/23");
	assert_masked("203.0.113.77/0", "0.0.0.0/0");
	assert_masked("203.0.113.77/31", "203.0.113.76/31");
	assert_masked("203.0.113.77/32", "203.0.113.77/32");
	assert_masked("10.255.255.255/9", "10.128.0.0/9");
	assert_masked("2001:db8:abcd:1234::1/52", "2001:db8:abcd:1000::/52");
	assert_masked("2001:db8::1/64", "2001:db8::/64");
	assert_masked("::3/127", "::2/127");
	assert_masked("::3/128", "::3/128");
	assert_masked("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1", "8000::/1");
	assert_masked("ffff::/0", "::/0");

	/* The unused bytes of an IPv4 prefix are left alone. */
	memset(&p, 0x77, sizeof(p));
	assert_int_equal(addr_prefix_parse("10.1.2.3/16", &p), 0);
	p.u.bytes[4] = 0x77;
	addr_prefix_mask(&p);
	assert_v4(&p, 10, 1, 0, 0, 16);
	assert_int_equal(p.u.bytes[4], 0x77);
}

static void test_prefix_equal(void **state)
{
	struct in_prefix a, b;

	a = prefix("10.0.0.0/8");
	b = prefix("10.0.0.0/8");
	assert_true(addr_prefix_equal(&a, &b));
	b = prefix("10.0.0.0/9");
	assert_false(addr_prefix_equal(&a, &b));
	b = prefix("10.0.0.1/8");
	assert_false(addr_prefix_equal(&a, &b));
	addr_prefix_mask(&b);
	assert_true(addr_prefix_equal(&a, &b));

	a = prefix("0.0.0.0/0");
	b = prefix("::/0");
	assert_false(addr_prefix_equal(&a, &b));
	assert_false(addr_prefix_equal(&b, &a));

	a = prefix("2001:db8::/32");
	b = prefix("2001:0db8:0000::/32");
	assert_true(addr_prefix_equal(&a, &b));
	b = prefix("2001:db8::1/32");
	assert_false(addr_prefix_equal(&a, &b));

	/* Only the family's bytes are compared. */
	a = prefix("10.0.0.1/32");
	b = a;
	b.u.bytes[8] ^= 0xff;
	assert_true(addr_prefix_equal(&a, &b));

	/* A bare address and its host prefix are the same. */
	a = ip("10.0.0.1");
	b = prefix("10.0.0.1/32");
	assert_true(addr_prefix_equal(&a, &b));
}

static void test_mac_parse(void **state)
{
	const uint8_t want[ADDR_MAC_LEN] = { 0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc };
	uint8_t mac[ADDR_MAC_LEN];

	memset(mac, 0xee, sizeof(mac));
	assert_int_equal(addr_mac_parse("00:11:22:aa:bb:cc", mac), 0);
	assert_memory_equal(mac, want, ADDR_MAC_LEN);
	memset(mac, 0xee, sizeof(mac));
	assert_int_equal(addr_mac_parse("00:11:22:AA:BB:CC", mac), 0);
	assert_memory_equal(mac, want, ADDR_MAC_LEN);
	memset(mac, 0xee, sizeof(mac));
	assert_int_equal(addr_mac_parse("00-11-22-Aa-bB-cc", mac), 0);
	assert_memory_equal(mac, want, ADDR_MAC_LEN);

	assert_int_equal(addr_mac_parse("ff:ff:ff:ff:ff:ff", mac), 0);
	for (int i = 0; i < ADDR_MAC_LEN; i++)
		assert_int_equal(mac[i], 0xff);
}

static void test_mac_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"00:11-22:33:44:55", /* mixed separators */
		"00-11:22-33:44-55",
		"00:11:22:33:44:55-",
		"00:11:22:33:44", /* too short */
		"00:11:22:33:44:5",
		"00:11:22:33:44:55:66", /* too long */
		"00:11:22:33:44:55:",
		"00:11:22:33:44:555",
		"0:11:22:33:44:55",
		"0:1:2:3:4:5",
		"001:1:22:33:44:55", /* right length, separator misplaced */
		"001122334455",
		"0011.2233.4455",
		"00.11.22.33.44.55",
		"00 11 22 33 44 55",
		"00_11_22_33_44_55",
		"00:11:22:33:44:5g",
		"g0:11:22:33:44:55",
		"0x:11:22:33:44:55",
		" 00:11:22:33:44:55",
		"00:11:22:33:44:55 ",
		"00::11:22:33:44:55",
		":00:11:22:33:44:55",
		"+0:11:22:33:44:55",
	};
	uint8_t mac[ADDR_MAC_LEN], sentinel[ADDR_MAC_LEN];

	memset(sentinel, 0xee, sizeof(sentinel));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(mac, sentinel, sizeof(mac));
		assert_result(bad[i], addr_mac_parse(bad[i], mac), -EINVAL);
		assert_memory_equal(mac, sentinel, sizeof(mac));
	}
	assert_int_equal(addr_mac_parse(NULL, mac), -EINVAL);
}

static void test_mac_format(void **state)
{
	static const char *const canon[] = {
		"00:00:00:00:00:00",
		"02:00:5e:10:00:01",
		"ff:ff:ff:ff:ff:ff",
		"0a:1b:2c:3d:4e:5f",
	};
	const uint8_t mac[ADDR_MAC_LEN] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a };
	char buf[ADDR_MAC_STRLEN];
	uint8_t m[ADDR_MAC_LEN];

	assert_ptr_equal(addr_mac_format(mac, buf), buf);
	assert_string_equal(buf, "de:ad:be:ef:00:0a");
	assert_int_equal(strlen(buf), ADDR_MAC_STRLEN - 1);

	for (size_t i = 0; i < ARRAY_SIZE(canon); i++) {
		assert_int_equal(addr_mac_parse(canon[i], m), 0);
		assert_string_equal(addr_mac_format(m, buf), canon[i]);
	}

	/* Dashes and capitals come back in the canonical form. */
	assert_int_equal(addr_mac_parse("0A-1B-2C-3D-4E-5F", m), 0);
	assert_string_equal(addr_mac_format(m, buf), "0a:1b:2c:3d:4e:5f");
}

static bool mac_unicast(const char *s)
{
	uint8_t m[ADDR_MAC_LEN];

	assert_int_equal(addr_mac_parse(s, m), 0);
	return addr_mac_is_unicast(m);
}

static void test_mac_unicast(void **state)
{
	assert_true(mac_unicast("02:00:00:00:00:01"));
	assert_true(mac_unicast("00:00:00:00:00:01"));
	assert_true(mac_unicast("0e:de:ad:be:ef:00"));
	assert_true(mac_unicast("fe:ff:ff:ff:ff:ff"));
	assert_true(mac_unicast("00:00:00:00:01:00"));
	assert_false(mac_unicast("00:00:00:00:00:00"));
	assert_false(mac_unicast("01:00:5e:00:00:01"));
	assert_false(mac_unicast("33:33:00:00:00:01"));
	assert_false(mac_unicast("ff:ff:ff:ff:ff:ff"));
	assert_false(mac_unicast("03:00:00:00:00:00"));
}

static void test_sockaddr_parse(void **state)
{
	static const char *const bad[] = {
		"",
		":80",
		"198.18.0.1",
		"198.18.0.1:",
		"198.18.0.1:0",
		"198.18.0.1:65536",
		"198.18.0.1:-1",
		"198.18.0.1:8x",
		"[fd00::1]",
		"[fd00::1]:",
		"[fd00::1:80",
		"fd00::1]:80",
		"host:80",
		"198.18.0.256:80",
		"[198.18.0.1]:80x",
	};
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	char buf[INET6_ADDRSTRLEN];
	socklen_t len;

	assert_int_equal(addr_sockaddr_parse("198.18.0.1:80", true, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(sin->sin_port), 80);
	assert_string_equal(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)), "198.18.0.1");

	assert_int_equal(addr_sockaddr_parse("[fd00::1]:9100", true, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(sin6->sin6_port), 9100);
	assert_string_equal(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)), "fd00::1");

	/* Without a port needed, a bare address (IPv4 or IPv6) is port 0. */
	assert_int_equal(addr_sockaddr_parse("198.18.0.7", false, &ss, &len), 0);
	assert_int_equal(ntohs(sin->sin_port), 0);
	assert_int_equal(addr_sockaddr_parse("fd00::7", false, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addr_sockaddr_parse("[fd00::7]", false, &ss, &len), 0);
	assert_int_equal(addr_sockaddr_parse("198.18.0.7:7", false, &ss, &len), 0);
	assert_int_equal(ntohs(sin->sin_port), 7);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (addr_sockaddr_parse(bad[i], true, &ss, &len) == 0)
			fail_msg("'%s' was accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse_v4),
		cmocka_unit_test(test_prefix_parse_v6),
		cmocka_unit_test(test_prefix_parse_bad),
		cmocka_unit_test(test_prefix_parse_long),
		cmocka_unit_test(test_ip_parse),
		cmocka_unit_test(test_prefix_parse_any),
		cmocka_unit_test(test_prefix_format_roundtrip),
		cmocka_unit_test(test_prefix_format_canonical),
		cmocka_unit_test(test_family_len),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_prefix_mask),
		cmocka_unit_test(test_prefix_equal),
		cmocka_unit_test(test_mac_parse),
		cmocka_unit_test(test_mac_parse_bad),
		cmocka_unit_test(test_mac_format),
		cmocka_unit_test(test_mac_unicast),
		cmocka_unit_test(test_sockaddr_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
