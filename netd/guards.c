// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guards: one nftables table per task, in the task's namespace, created and deleted in one
 * transaction. It rejects and counts traffic to the instance metadata service (169.254.169.254,
 * fd00:ec2::254), and lets only 169.254.170.2 port 80 over the metadata link. The counters are
 * named objects, read back for the task's drop statistics. Rejecting (ICMP administratively
 * prohibited) rather than dropping makes a probe fail at once, as the unreachable route of the
 * ECS plugins does, while every attempt is counted.
 *
 * A platform ENI's table (refuse_inbound) instead accepts on the ENI only what belongs to the
 * platform's own connections, and ICMPv6 (neighbour discovery): no connection is made to the
 * platform namespace from outside, a task's namespace included.
 *
 *		chain input {
 *			iifname "eth0" ct state established,related accept
 *			iifname "eth0" meta l4proto ipv6-icmp accept
 *			iifname "eth0" counter name "inbound" drop
 *		}
 *
 *	table inet taskplane {
 *		counter imds { }  counter imds6 { }  counter metadata_out { }  counter metadata_in { }
 *		chain output {
 *			type filter hook output priority filter; policy accept;
 *			ip daddr 169.254.169.254 counter name "imds" reject with icmpx admin-prohibited
 *			ip6 daddr fd00:ec2::254 counter name "imds6" reject with icmpx admin-prohibited
 *			oifname "md0" ip saddr 169.254.172.N ip daddr 169.254.170.2 tcp dport 80 accept
 *			oifname "md0" counter name "metadata_out" drop
 *		}
 *		chain input {
 *			type filter hook input priority filter; policy accept;
 *			iifname "md0" ip saddr 169.254.170.2 tcp sport 80 accept
 *			iifname "md0" counter name "metadata_in" drop
 *		}
 *	}
 */
#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#include "attachment.h"
#include "guards.h"
#include "json-util.h"
#include "log.h"
#include "mdfilter.h"
#include "mdlink.h"
#include "netd.h"
#include "nft.h"

#define GUARDS_FAMILY NFPROTO_INET
#define GUARDS_RULES  12

static const char *const counter_names[] = { "imds", "imds6", "metadata_out", "metadata_in",
					     "inbound" };

static void rb_start(struct nft_rule_builder *rb, const struct eni_attachment *t, const char *chain)
{
	nft_rule_start(rb, GUARDS_FAMILY, t->guards_table, chain);
}

static void rb_ifname(struct nft_rule_builder *rb, uint32_t key, const char *ifname)
{
	char name[IFNAMSIZ] = {};

	strscpy(name, ifname, sizeof(name));
	nft_rule_meta_eq(rb, key, name, sizeof(name));
}

/* What each rule says, in nft's syntax, for messages (same order as build_rules()). */
static const char *const rule_text[] = {
	"output: ip daddr 169.254.169.254 counter name \"imds\" reject with icmpx admin-prohibited",
	"output: ip6 daddr fd00:ec2::254 counter name \"imds6\" reject with icmpx admin-prohibited",
	"output: oifname \"md0\" ip saddr (the task's metadata address) ip daddr 169.254.170.2 tcp dport 80 accept",
	"output: oifname \"md0\" counter name \"metadata_out\" drop",
	"input: iifname \"md0\" ip saddr 169.254.170.2 tcp sport 80 accept",
	"input: iifname \"md0\" counter name \"metadata_in\" drop",
	"input: iifname (the ENI) ct state established,related accept",
	"input: iifname (the ENI) meta l4proto ipv6-icmp accept",
	"input: iifname (the ENI) counter name \"inbound\" drop",
};

/*
 * The rules of a task's table, in order; texts[i] gets rule i's description. Returns how many
 * (<= GUARDS_RULES), or -ENOMEM.
 */
static int build_rules(const struct eni_attachment *t, struct nftnl_rule **rules,
		       const char **texts)
{
	const char *text[GUARDS_RULES];
	struct nft_rule_builder rb;
	int n = 0;

	if (t->block_imds) {
		uint8_t proto = NFPROTO_IPV6;
		struct in6_addr a6;

		rb_start(&rb, t, "output");
		nft_rule_ip4_eq(&rb, 16, "169.254.169.254");
		nft_rule_counter(&rb, "imds");
		nft_rule_reject(&rb, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
		text[n] = rule_text[0];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		inet_pton(AF_INET6, "fd00:ec2::254", &a6);
		rb_start(&rb, t, "output");
		nft_rule_meta_eq(&rb, NFT_META_NFPROTO, &proto, sizeof(proto));
		nft_rule_payload_load(&rb, NFT_PAYLOAD_NETWORK_HEADER, 24, sizeof(a6), NFT_REG_1);
		nft_rule_cmp_eq(&rb, &a6, sizeof(a6));
		nft_rule_counter(&rb, "imds6");
		nft_rule_reject(&rb, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
		text[n] = rule_text[1];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;
	}
	if (t->metadata_link) {
		char src[INET_ADDRSTRLEN];
		struct in_prefix a;
		struct in_addr ep;

		if (mdlink_address(t->slot, &a) < 0)
			goto out_fail;
		addr_ip_format(&a, src, sizeof(src));
		inet_pton(AF_INET, MDLINK_ENDPOINT, &ep);
		rb_start(&rb, t, "output");
		rb_ifname(&rb, NFT_META_OIFNAME, MDLINK_IFNAME);
		nft_rule_ip4_eq(&rb, 12, src);
		nft_rule_payload_load(&rb, NFT_PAYLOAD_NETWORK_HEADER, 16, sizeof(ep), NFT_REG_1);
		nft_rule_cmp_eq(&rb, &ep, sizeof(ep));
		nft_rule_tcp_port_eq(&rb, 2, MDLINK_PORT);
		nft_rule_verdict(&rb, NF_ACCEPT, NULL);
		text[n] = rule_text[2];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, t, "output");
		rb_ifname(&rb, NFT_META_OIFNAME, MDLINK_IFNAME);
		nft_rule_counter(&rb, "metadata_out");
		nft_rule_verdict(&rb, NF_DROP, NULL);
		text[n] = rule_text[3];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, t, "input");
		rb_ifname(&rb, NFT_META_IIFNAME, MDLINK_IFNAME);
		nft_rule_ip4_eq(&rb, 12, MDLINK_ENDPOINT);
		nft_rule_tcp_port_eq(&rb, 0, MDLINK_PORT);
		nft_rule_verdict(&rb, NF_ACCEPT, NULL);
		text[n] = rule_text[4];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, t, "input");
		rb_ifname(&rb, NFT_META_IIFNAME, MDLINK_IFNAME);
		nft_rule_counter(&rb, "metadata_in");
		nft_rule_verdict(&rb, NF_DROP, NULL);
		text[n] = rule_text[5];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;
	}
	if (t->refuse_inbound) {
		uint8_t icmp6 = IPPROTO_ICMPV6;

		rb_start(&rb, t, "input");
		rb_ifname(&rb, NFT_META_IIFNAME, t->ifname);
		nft_rule_ct_state_in(&rb, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
						  NF_CT_STATE_BIT(IP_CT_RELATED));
		nft_rule_verdict(&rb, NF_ACCEPT, NULL);
		text[n] = rule_text[6];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, t, "input");
		rb_ifname(&rb, NFT_META_IIFNAME, t->ifname);
		nft_rule_meta_eq(&rb, NFT_META_L4PROTO, &icmp6, sizeof(icmp6));
		nft_rule_verdict(&rb, NF_ACCEPT, NULL);
		text[n] = rule_text[7];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, t, "input");
		rb_ifname(&rb, NFT_META_IIFNAME, t->ifname);
		nft_rule_counter(&rb, "inbound");
		nft_rule_verdict(&rb, NF_DROP, NULL);
		text[n] = rule_text[8];
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;
	}
	for (int i = 0; texts && i < n; i++)
		texts[i] = text[i];
	return n;

out_fail:
	nft_rules_free(rules, n);
	return -ENOMEM;
}

static struct nftnl_chain *build_chain(const struct eni_attachment *t, const char *name,
				       uint32_t hook)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, GUARDS_FAMILY);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, t->guards_table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

bool guards_wanted(const struct eni_attachment *t)
{
	return t->block_imds || t->metadata_link || t->refuse_inbound;
}

void guards_table_name(const char *ifname, char buf[GUARDS_TABLE_MAX])
{
	snprintf(buf, GUARDS_TABLE_MAX, GUARDS_TABLE_PREFIX "%s", ifname);
}

void guards_owner(const struct eni_attachment *t, char buf[GUARDS_OWNER_MAX])
{
	/* created_ns makes it this attach's; the id, cut to fit, is for people reading it. */
	snprintf(buf, GUARDS_OWNER_MAX, "netd %llu %.100s", (unsigned long long)t->created_ns,
		 t->id);
}

/* A table of the journal of an older netd, from before tables were per ENI and owned. */
static bool legacy_table(const char *table)
{
	return streq(table, GUARDS_TABLE_LEGACY);
}

int guards_install(int netns_fd, const struct eni_attachment *t, char *err, size_t errlen)
{
	struct nftnl_rule *rules[GUARDS_RULES];
	struct nftnl_chain *out = NULL, *in = NULL;
	struct nftnl_table *table = NULL;
	char owner[GUARDS_OWNER_MAX];
	struct nft_batch *b = NULL;
	struct nft *n = NULL;
	int nrules = 0, r;

	if (!guards_wanted(t))
		return 0;
	r = nft_open(netns_fd, &n);
	if (r < 0) {
		snprintf(err, errlen, "Failed to open nftables: %s", strerror(-r));
		return r;
	}
	table = nftnl_table_alloc();
	out = build_chain(t, "output", NF_INET_LOCAL_OUT);
	in = build_chain(t, "input", NF_INET_LOCAL_IN);
	nrules = build_rules(t, rules, NULL);
	if (!table || !out || !in || nrules < 0) {
		r = -ENOMEM;
		goto out;
	}
	nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, GUARDS_FAMILY);
	nftnl_table_set_str(table, NFTNL_TABLE_NAME, t->guards_table);
	/* The owner: an undo deletes the table only if it is the one this attach made. */
	guards_owner(t, owner);
	r = nft_table_set_comment(table, owner);
	if (r < 0)
		goto out;

	r = nft_batch_new(n, &b);
	if (r < 0)
		goto out;
	/* NLM_F_EXCL: a table of that name is not ours to merge into (another's, or left over). */
	r = nft_batch_add_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, table);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(counter_names); i++) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		if (!o) {
			r = -ENOMEM;
			break;
		}
		nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, GUARDS_FAMILY);
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, t->guards_table);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, counter_names[i]);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		r = nft_batch_add_obj(b, NFT_MSG_NEWOBJ, NLM_F_CREATE, o);
		nftnl_obj_free(o);
	}
	if (r == 0)
		r = nft_batch_add_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, out);
	if (r == 0)
		r = nft_batch_add_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, in);
	for (int i = 0; r == 0 && i < nrules; i++)
		r = nft_batch_add_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, rules[i]);
	if (r < 0) {
		nft_batch_free(b);
		goto out;
	}
	r = nft_batch_commit(n, b);
	if (r == -EEXIST)
		snprintf(
			err, errlen,
			"Table inet %s already exists in '%s' and is not this task's: nothing of it was changed",
			t->guards_table, t->netns_path);
	else if (r < 0)
		snprintf(err, errlen, "Failed to create the nftables guards: %s", strerror(-r));
out:
	if (r == -ENOMEM)
		snprintf(err, errlen, "Out of memory building the nftables guards");
	nft_rules_free(rules, MAX(nrules, 0));
	nftnl_chain_free(out);
	nftnl_chain_free(in);
	if (table)
		nftnl_table_free(table);
	nft_free(n);
	return r;
}

/* Whether the table is the one owner made: 1 yes, 0 no (another's, or none), -errno. */
static int table_owned(struct nft *n, const char *table, const char *owner)
{
	struct nftnl_table *tb = NULL;
	char have[GUARDS_OWNER_MAX];
	const char *c;
	int r;

	r = nft_table_get(n, GUARDS_FAMILY, table, &tb);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	c = nft_table_get_comment(tb, have, sizeof(have));
	r = !owner || streq_ptr(c, owner);
	nftnl_table_free(tb);
	return r;
}

int guards_remove(int netns_fd, const char *table, const char *owner)
{
	struct nft *n = NULL;
	int r;

	r = nft_open(netns_fd, &n);
	if (r < 0)
		return r;
	r = table_owned(n, table, legacy_table(table) ? NULL : owner);
	if (r > 0)
		r = nft_table_delete(n, GUARDS_FAMILY, table);
	else if (r == 0)
		log_debug("No table inet %s of '%s' to delete", table, owner);
	nft_free(n);
	return r == -ENOENT ? 0 : MIN(r, 0);
}

int guards_check(int netns_fd, const struct eni_attachment *t, json_t *diffs)
{
	struct nftnl_rule *rules[GUARDS_RULES];
	const char *texts[GUARDS_RULES];
	bool found[GUARDS_RULES];
	char want_table[GUARDS_TABLE_MAX + 16], owner[GUARDS_OWNER_MAX];
	struct nft *n = NULL;
	int nrules, nhave, r;

	if (!guards_wanted(t))
		return 0;
	snprintf(want_table, sizeof(want_table), "table inet %s", t->guards_table);
	r = nft_open(netns_fd, &n);
	if (r < 0)
		return r;
	guards_owner(t, owner);
	r = table_owned(n, t->guards_table, legacy_table(t->guards_table) ? NULL : owner);
	if (r < 0)
		goto out;
	if (r == 0) {
		bool exists;

		r = nft_table_exists(n, GUARDS_FAMILY, t->guards_table, &exists);
		if (r == 0)
			json_diff_append(diffs, "guards", want_table,
					 exists ? "another owner's table" : "missing");
		goto out;
	}
	nrules = build_rules(t, rules, texts);
	if (nrules < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = nft_rules_match(n, GUARDS_FAMILY, t->guards_table, rules, nrules, GUARDS_RULES * 2,
			    found, &nhave);
	if (r == 0) {
		for (int i = 0; i < nrules; i++)
			if (!found[i])
				json_diff_append(diffs, "guards", texts[i], "missing");
		if (nhave != nrules) {
			char a[24], b[24];

			snprintf(a, sizeof(a), "%d rules", nrules);
			snprintf(b, sizeof(b), "%d rules", nhave);
			json_diff_append(diffs, "guards", a, b);
		}
	}
	nft_rules_free(rules, nrules);
out:
	nft_free(n);
	return r;
}

int guards_read(int netns_fd, const char *table, struct guards_counters *ret)
{
	struct nft_counter c[ARRAY_SIZE(counter_names)];
	struct nft *n = NULL;
	int r;

	*ret = (struct guards_counters){};
	r = nft_open(netns_fd, &n);
	if (r < 0)
		return r;
	r = nft_counters_get(n, GUARDS_FAMILY, table, c, ARRAY_SIZE(c));
	nft_free(n);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (int i = 0; i < r; i++) {
		if (streq(c[i].name, "imds") || streq(c[i].name, "imds6")) {
			ret->imds_packets += c[i].packets;
			ret->imds_bytes += c[i].bytes;
		} else if (streq(c[i].name, "metadata_out")) {
			ret->policy_tx_packets += c[i].packets;
			ret->policy_tx_bytes += c[i].bytes;
		} else if (streq(c[i].name, "metadata_in") || streq(c[i].name, "inbound")) {
			ret->policy_rx_packets += c[i].packets;
			ret->policy_rx_bytes += c[i].bytes;
		}
	}
	return 0;
}
