// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the pure part of lib/nft.h: the rule builder (what it builds, as the kernel's
 * dump of the same rule reads, after a netlink round trip) and table comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"
#include "util.h"

/* The text of a rule as built, and as read back from the netlink message it makes. */
static void formats(struct nftnl_rule *r, char *built, char *parsed, size_t size)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *back = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	assert_non_null(back);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, 0, 1);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, back), 0);
	nft_rule_format(r, built, size);
	nft_rule_format(back, parsed, size);
	nftnl_rule_free(back);
}

static void test_rule_endpoint(void **state)
{
	struct nft_rule_builder rb;
	char built[1024], parsed[1024];

	nft_rule_start(&rb, NFPROTO_INET, "t", "check_dest");
	nft_rule_ip4_eq(&rb, 16, "169.254.170.2");
	nft_rule_tcp_port_eq(&rb, 2, 80);
	nft_rule_verdict(&rb, NFT_RETURN, NULL);
	assert_false(rb.failed);
	formats(rb.r, built, parsed, sizeof(built));
	assert_string_equal(built, "inet t check_dest\n"
				   "  [ meta load nfproto => reg 1 ]\n"
				   "  [ cmp eq reg 1 0x00000002 ]\n"
				   "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
				   "  [ cmp eq reg 1 0x02aafea9 ]\n"
				   "  [ meta load l4proto => reg 1 ]\n"
				   "  [ cmp eq reg 1 0x00000006 ]\n"
				   "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
				   "  [ cmp eq reg 1 0x00005000 ]\n"
				   "  [ immediate reg 0 return ]\n");
	assert_string_equal(built, parsed);
	nftnl_rule_free(rb.r);
}

static void test_rule_lookup_and_jump(void **state)
{
	static const char prefix[] = "tpmd";
	struct nft_rule_builder rb;
	char built[1024], parsed[1024];

	nft_rule_start(&rb, NFPROTO_INET, "t", "check_source");
	nft_rule_meta_load(&rb, NFT_META_IIFNAME, NFT_REG_1);
	nft_rule_payload_load(&rb, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_2);
	nft_rule_lookup(&rb, "sources", 0);
	nft_rule_verdict(&rb, NFT_RETURN, NULL);
	assert_false(rb.failed);
	formats(rb.r, built, parsed, sizeof(built));
	/* The kernel reports a lookup's flags (0): the built rule must say so to compare equal. */
	assert_non_null(strstr(built, "[ lookup reg 1 set sources 0x0 ]"));
	assert_non_null(strstr(built, "[ payload load 4b @ network header + 12 => reg 2 ]"));
	assert_string_equal(built, parsed);
	nftnl_rule_free(rb.r);

	nft_rule_start(&rb, NFPROTO_INET, "t", "prerouting");
	nft_rule_meta_eq(&rb, NFT_META_IIFNAME, prefix, sizeof(prefix) - 1);
	nft_rule_verdict(&rb, NFT_JUMP, "check_source");
	assert_false(rb.failed);
	formats(rb.r, built, parsed, sizeof(built));
	/* "tpmd*": four bytes compared, a prefix */
	assert_non_null(strstr(built, "[ cmp eq reg 1 0x646d7074 ]"));
	assert_non_null(strstr(built, "[ immediate reg 0 jump -> check_source ]"));
	assert_string_equal(built, parsed);
	nftnl_rule_free(rb.r);
}

static void test_rule_counter_reject(void **state)
{
	struct nft_rule_builder rb;
	char built[1024];

	nft_rule_start(&rb, NFPROTO_INET, "t", "output");
	nft_rule_ip4_eq(&rb, 16, "169.254.169.254");
	nft_rule_counter(&rb, "imds");
	nft_rule_reject(&rb, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
	assert_false(rb.failed);
	/* Not read back: libnftnl writes the counter's name without its NUL, which the kernel
	 * adds in its dumps; a parse of our own message would read past it. */
	nft_rule_format(rb.r, built, sizeof(built));
	assert_non_null(strstr(built, "[ objref type 1 name imds ]"));
	assert_non_null(strstr(built, "[ reject type 2 code 3 ]"));
	nftnl_rule_free(rb.r);
}

/* ct state established,related accept: the platform ENI's guards (netd/guards.c). */
static void test_rule_ct_state(void **state)
{
	struct nft_rule_builder rb;
	char built[1024], parsed[1024];

	nft_rule_start(&rb, NFPROTO_INET, "t", "input");
	nft_rule_ct_state_in(&rb,
			     NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	nft_rule_verdict(&rb, NF_ACCEPT, NULL);
	assert_false(rb.failed);
	formats(rb.r, built, parsed, sizeof(built));
	/* as nft itself builds "ct state established,related accept" */
	assert_string_equal(built, "inet t input\n"
				   "  [ ct load state => reg 1 ]\n"
				   "  [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]\n"
				   "  [ cmp neq reg 1 0x00000000 ]\n"
				   "  [ immediate reg 0 accept ]\n");
	assert_string_equal(built, parsed);
	nftnl_rule_free(rb.r);
}

static void test_rule_bad_address(void **state)
{
	struct nft_rule_builder rb;

	nft_rule_start(&rb, NFPROTO_INET, "t", "c");
	nft_rule_ip4_eq(&rb, 16, "not-an-address");
	assert_true(rb.failed);
	nftnl_rule_free(rb.r);

	/* A failure before is kept: adding a NULL expression is one. */
	nft_rule_start(&rb, NFPROTO_INET, "t", "c");
	nft_rule_add(&rb, NULL);
	nft_rule_verdict(&rb, NF_ACCEPT, NULL);
	assert_true(rb.failed);
	nftnl_rule_free(rb.r);
}

static void test_table_comment(void **state)
{
	struct nftnl_table *t = nftnl_table_alloc();
	char buf[128], longer[200];

	assert_non_null(t);
	assert_null(nft_table_get_comment(t, buf, sizeof(buf)));
	assert_int_equal(nft_table_set_comment(t, "netd 1764312958555127041 t1"), 0);
	assert_string_equal(nft_table_get_comment(t, buf, sizeof(buf)),
			    "netd 1764312958555127041 t1");
	/* A buffer too small for it: none rather than a cut one (owners are compared). */
	assert_null(nft_table_get_comment(t, buf, 8));

	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(nft_table_set_comment(t, longer), -EINVAL);
	/* nft's limit is 128 bytes with the NUL */
	longer[127] = '\0';
	assert_int_equal(nft_table_set_comment(t, longer), 0);
	assert_int_equal(strlen(nft_table_get_comment(t, buf, sizeof(buf))), 127);
	nftnl_table_free(t);
}

/* A comment survives the netlink message a table is created with, as the kernel gives it back. */
static void test_table_comment_roundtrip(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], comment[128];
	struct nftnl_table *t = nftnl_table_alloc(), *back = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	assert_non_null(t);
	assert_non_null(back);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "taskplane-eth1");
	assert_int_equal(nft_table_set_comment(t, "netd 1 t1"), 0);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET, 0, 1);
	nftnl_table_nlmsg_build_payload(nlh, t);
	assert_int_equal(nftnl_table_nlmsg_parse(nlh, back), 0);
	assert_string_equal(nft_table_get_comment(back, comment, sizeof(comment)), "netd 1 t1");
	nftnl_table_free(t);
	nftnl_table_free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_endpoint),
		cmocka_unit_test(test_rule_lookup_and_jump),
		cmocka_unit_test(test_rule_counter_reject),
		cmocka_unit_test(test_rule_ct_state),
		cmocka_unit_test(test_rule_bad_address),
		cmocka_unit_test(test_table_comment),
		cmocka_unit_test(test_table_comment_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
