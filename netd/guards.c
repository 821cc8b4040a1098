// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guards: one nftables table per task, in the task's namespace, created and deleted in one
 * transaction. It rejects and counts traffic to the instance metadata service (169.254.169.254,
 * fd00:ec2::254), and lets only 169.254.170.2 port 80 over the metadata link. The counters are
 * named objects, read back for the task's drop statistics. Rejecting (ICMP administratively
 * prohibited) rather than dropping makes a probe fail at once, as the unreachable route of the
 * ECS plugins does, while every attempt is counted.
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
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#include "counters.h"
#include "guards.h"
#include "log.h"
#include "netd.h"
#include "nft.h"

#define GUARDS_TABLE  "taskplane"
#define GUARDS_FAMILY NFPROTO_INET
#define GUARDS_RULES  8

static const char *const counter_names[] = { "imds", "imds6", "metadata_out", "metadata_in" };

static struct nftnl_expr *expr_meta(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *expr_cmp(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *expr_payload(uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	return e;
}

static struct nftnl_expr *expr_counter_ref(const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc("objref");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
		nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	}
	return e;
}

static struct nftnl_expr *expr_verdict(int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return e;
}

static struct nftnl_expr *expr_reject(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
	}
	return e;
}

/* A rule under construction; any allocation failure is remembered and reported once. */
struct rule_builder {
	struct nftnl_rule *r;
	bool failed;
};

static void rb_add(struct rule_builder *rb, struct nftnl_expr *e)
{
	if (!e || !rb->r) {
		rb->failed = true;
		nftnl_expr_free(e);
		return;
	}
	nftnl_rule_add_expr(rb->r, e);
}

static void rb_start(struct rule_builder *rb, const char *chain)
{
	rb->failed = false;
	rb->r = nftnl_rule_alloc();
	if (!rb->r) {
		rb->failed = true;
		return;
	}
	nftnl_rule_set_u32(rb->r, NFTNL_RULE_FAMILY, GUARDS_FAMILY);
	nftnl_rule_set_str(rb->r, NFTNL_RULE_TABLE, GUARDS_TABLE);
	nftnl_rule_set_str(rb->r, NFTNL_RULE_CHAIN, chain);
}

static void rb_ifname(struct rule_builder *rb, uint32_t key, const char *ifname)
{
	char name[IFNAMSIZ] = {};

	strscpy(name, ifname, sizeof(name));
	rb_add(rb, expr_meta(key));
	rb_add(rb, expr_cmp(name, sizeof(name)));
}

static void rb_nfproto(struct rule_builder *rb, uint8_t proto)
{
	rb_add(rb, expr_meta(NFT_META_NFPROTO));
	rb_add(rb, expr_cmp(&proto, sizeof(proto)));
}

static void rb_ip4(struct rule_builder *rb, uint32_t offset, const char *addr)
{
	struct in_addr a;

	inet_pton(AF_INET, addr, &a);
	rb_nfproto(rb, NFPROTO_IPV4);
	rb_add(rb, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, offset, sizeof(a)));
	rb_add(rb, expr_cmp(&a, sizeof(a)));
}

static void rb_tcp_port(struct rule_builder *rb, uint32_t offset, uint16_t port)
{
	uint8_t proto = IPPROTO_TCP;
	uint16_t p = htons(port);

	rb_add(rb, expr_meta(NFT_META_L4PROTO));
	rb_add(rb, expr_cmp(&proto, sizeof(proto)));
	rb_add(rb, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, offset, sizeof(p)));
	rb_add(rb, expr_cmp(&p, sizeof(p)));
}

/* What each rule says, in nft's syntax, for messages (same order as build_rules()). */
static const char *const rule_text[] = {
	"output: ip daddr 169.254.169.254 counter name \"imds\" reject with icmpx admin-prohibited",
	"output: ip6 daddr fd00:ec2::254 counter name \"imds6\" reject with icmpx admin-prohibited",
	"output: oifname \"md0\" ip saddr (the task's metadata address) ip daddr 169.254.170.2 tcp dport 80 accept",
	"output: oifname \"md0\" counter name \"metadata_out\" drop",
	"input: iifname \"md0\" ip saddr 169.254.170.2 tcp sport 80 accept",
	"input: iifname \"md0\" counter name \"metadata_in\" drop",
};

/*
 * The rules of a task's table, in order; texts[i] gets rule i's description. Returns how many
 * (<= GUARDS_RULES), or -ENOMEM.
 */
static int build_rules(const struct task *t, struct nftnl_rule **rules, const char **texts)
{
	int first = t->block_imds ? 0 : 2;
	struct rule_builder rb;
	int n = 0;

	if (t->block_imds) {
		struct in6_addr a6;

		rb_start(&rb, "output");
		rb_ip4(&rb, 16, "169.254.169.254");
		rb_add(&rb, expr_counter_ref("imds"));
		rb_add(&rb, expr_reject());
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		inet_pton(AF_INET6, "fd00:ec2::254", &a6);
		rb_start(&rb, "output");
		rb_nfproto(&rb, NFPROTO_IPV6);
		rb_add(&rb, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 24, sizeof(a6)));
		rb_add(&rb, expr_cmp(&a6, sizeof(a6)));
		rb_add(&rb, expr_counter_ref("imds6"));
		rb_add(&rb, expr_reject());
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;
	}
	if (t->metadata_link) {
		char src[INET_ADDRSTRLEN];
		struct in_prefix a;

		if (mdlink_address(t->slot, &a) < 0)
			goto out_fail;
		addr_ip_format(&a, src, sizeof(src));
		rb_start(&rb, "output");
		rb_ifname(&rb, NFT_META_OIFNAME, NETD_MD_IFNAME);
		rb_ip4(&rb, 12, src);
		rb_add(&rb, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4));
		{
			struct in_addr ep;

			inet_pton(AF_INET, NETD_MD_ENDPOINT, &ep);
			rb_add(&rb, expr_cmp(&ep, sizeof(ep)));
		}
		rb_tcp_port(&rb, 2, NETD_MD_PORT);
		rb_add(&rb, expr_verdict(NF_ACCEPT));
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, "output");
		rb_ifname(&rb, NFT_META_OIFNAME, NETD_MD_IFNAME);
		rb_add(&rb, expr_counter_ref("metadata_out"));
		rb_add(&rb, expr_verdict(NF_DROP));
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, "input");
		rb_ifname(&rb, NFT_META_IIFNAME, NETD_MD_IFNAME);
		rb_ip4(&rb, 12, NETD_MD_ENDPOINT);
		rb_tcp_port(&rb, 0, NETD_MD_PORT);
		rb_add(&rb, expr_verdict(NF_ACCEPT));
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;

		rb_start(&rb, "input");
		rb_ifname(&rb, NFT_META_IIFNAME, NETD_MD_IFNAME);
		rb_add(&rb, expr_counter_ref("metadata_in"));
		rb_add(&rb, expr_verdict(NF_DROP));
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;
	}
	for (int i = 0; texts && i < n; i++)
		texts[i] = rule_text[first + i];
	return n;

out_fail:
	while (n-- > 0)
		nftnl_rule_free(rules[n]);
	return -ENOMEM;
}

static void free_rules(struct nftnl_rule **rules, int n)
{
	while (n-- > 0)
		nftnl_rule_free(rules[n]);
}

static struct nftnl_chain *build_chain(const char *name, uint32_t hook)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, GUARDS_FAMILY);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, GUARDS_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

bool guards_wanted(const struct task *t)
{
	return t->block_imds || t->metadata_link;
}

int guards_install(int netns_fd, const struct task *t, char *err, size_t errlen)
{
	struct nftnl_rule *rules[GUARDS_RULES];
	struct nftnl_chain *out = NULL, *in = NULL;
	struct nftnl_table *table = NULL;
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
	out = build_chain("output", NF_INET_LOCAL_OUT);
	in = build_chain("input", NF_INET_LOCAL_IN);
	nrules = build_rules(t, rules, NULL);
	if (!table || !out || !in || nrules < 0) {
		r = -ENOMEM;
		goto out;
	}
	nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, GUARDS_FAMILY);
	nftnl_table_set_str(table, NFTNL_TABLE_NAME, GUARDS_TABLE);

	r = nft_batch_new(n, &b);
	if (r < 0)
		goto out;
	/* NLM_F_EXCL: an existing table of ours means something is off; do not merge into it. */
	r = nft_batch_add_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, table);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(counter_names); i++) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		if (!o) {
			r = -ENOMEM;
			break;
		}
		nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, GUARDS_FAMILY);
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, GUARDS_TABLE);
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
		snprintf(err, errlen, "Table inet %s already exists in '%s'", GUARDS_TABLE,
			 t->netns_path);
	else if (r < 0)
		snprintf(err, errlen, "Failed to create the nftables guards: %s", strerror(-r));
out:
	if (r == -ENOMEM)
		snprintf(err, errlen, "Out of memory building the nftables guards");
	free_rules(rules, MAX(nrules, 0));
	nftnl_chain_free(out);
	nftnl_chain_free(in);
	if (table)
		nftnl_table_free(table);
	nft_free(n);
	return r;
}

int guards_remove(int netns_fd)
{
	struct nft *n = NULL;
	int r;

	r = nft_open(netns_fd, &n);
	if (r < 0)
		return r;
	r = nft_table_delete(n, GUARDS_FAMILY, GUARDS_TABLE);
	nft_free(n);
	return r == -ENOENT ? 0 : r;
}

/* A rule as text without its handle, to compare what was built with what the kernel has. */
static void rule_fingerprint(struct nftnl_rule *r, char *buf, size_t size)
{
	nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
	nftnl_rule_unset(r, NFTNL_RULE_POSITION);
	nftnl_rule_unset(r, NFTNL_RULE_ID);
	nftnl_rule_unset(r, NFTNL_RULE_COMPAT_FLAGS);
	nftnl_rule_unset(r, NFTNL_RULE_COMPAT_PROTO);
	nftnl_rule_snprintf(buf, size, r, NFTNL_OUTPUT_DEFAULT, 0);
}

struct have_rules {
	char text[GUARDS_RULES * 2][512];
	int n;
};

static int collect_rule(struct nftnl_rule *r, void *data)
{
	struct have_rules *h = data;

	if (h->n < (int)ARRAY_SIZE(h->text))
		rule_fingerprint(r, h->text[h->n], sizeof(h->text[0]));
	h->n++;
	return 0;
}

int guards_check(int netns_fd, const struct task *t, json_t *diffs)
{
	struct nftnl_rule *rules[GUARDS_RULES];
	const char *texts[GUARDS_RULES];
	struct have_rules *have = NULL;
	struct nft *n = NULL;
	int nrules, r;
	bool exists;

	if (!guards_wanted(t))
		return 0;
	r = nft_open(netns_fd, &n);
	if (r < 0)
		return r;
	r = nft_table_exists(n, GUARDS_FAMILY, GUARDS_TABLE, &exists);
	if (r < 0)
		goto out;
	if (!exists) {
		check_diff(diffs, "guards", "table inet " GUARDS_TABLE, "missing");
		goto out;
	}
	have = calloc(1, sizeof(*have));
	nrules = build_rules(t, rules, texts);
	if (!have || nrules < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = nft_rules_foreach(n, GUARDS_FAMILY, GUARDS_TABLE, collect_rule, have);
	if (r == 0) {
		for (int i = 0; i < nrules; i++) {
			char want[512];
			bool found = false;

			rule_fingerprint(rules[i], want, sizeof(want));
			for (int k = 0; k < MIN(have->n, (int)ARRAY_SIZE(have->text)); k++)
				if (streq(have->text[k], want))
					found = true;
			if (!found)
				check_diff(diffs, "guards", texts[i], "missing");
		}
		if (have->n != nrules) {
			char a[24], b[24];

			snprintf(a, sizeof(a), "%d rules", nrules);
			snprintf(b, sizeof(b), "%d rules", have->n);
			check_diff(diffs, "guards", a, b);
		}
	}
	free_rules(rules, nrules);
out:
	free(have);
	nft_free(n);
	return r;
}

int guards_read(int netns_fd, struct guards_counters *ret)
{
	struct nft_counter c[ARRAY_SIZE(counter_names)];
	struct nft *n = NULL;
	int r;

	*ret = (struct guards_counters){};
	r = nft_open(netns_fd, &n);
	if (r < 0)
		return r;
	r = nft_counters_get(n, GUARDS_FAMILY, GUARDS_TABLE, c, ARRAY_SIZE(c));
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
		} else if (streq(c[i].name, "metadata_in")) {
			ret->policy_rx_packets += c[i].packets;
			ret->policy_rx_bytes += c[i].bytes;
		}
	}
	return 0;
}

static void guards_refresh(struct netd *d, struct task *t)
{
	struct guards_counters gc;
	int fd, r;

	if (!(guards_wanted(t) || t->metadata_link) ||
	    (t->phase != TASK_PHASE_READY && t->phase != TASK_PHASE_READY_PULL &&
	     t->phase != TASK_PHASE_DETACHING))
		return;
	if (task_netns_open(d, t, &fd) < 0)
		return;
	if (t->metadata_link) {
		struct netlink *nl = NULL;
		struct link_info li;

		/* The metadata flow is md0's traffic, counted by the kernel for that link alone. */
		if (netlink_open(fd, &nl) == 0 &&
		    netlink_link_get(nl, 0, NETD_MD_IFNAME, &li) == 0) {
			(void)counters_set_link_flow(d, t, TC_FLOW_METADATA, TC_DIR_RX,
						     li.stats.rx_bytes, li.stats.rx_packets);
			(void)counters_set_link_flow(d, t, TC_FLOW_METADATA, TC_DIR_TX,
						     li.stats.tx_bytes, li.stats.tx_packets);
		}
		netlink_free(nl);
	}
	r = guards_read(fd, &gc);
	close(fd);
	if (r < 0) {
		log_debug_errno(r, "Task '%s': failed to read the guards' counters: %m", t->id);
		return;
	}
	t->guards_read_usec = now_usec();
	(void)counters_set_drops(d, t, TC_DROP_IMDS, TC_DIR_TX, gc.imds_bytes, gc.imds_packets);
	(void)counters_set_drops(d, t, TC_DROP_POLICY, TC_DIR_TX, gc.policy_tx_bytes,
				 gc.policy_tx_packets);
	(void)counters_set_drops(d, t, TC_DROP_POLICY, TC_DIR_RX, gc.policy_rx_bytes,
				 gc.policy_rx_packets);
}

void guards_stats_hook(struct netd *d, const struct task *one, void *data)
{
	uint64_t now = now_usec(), max_age = (uint64_t)d->stats_interval_sec * 1000000ULL;

	if (one) {
		/* The one task being read: exact. (const only for the counters module's sake.) */
		guards_refresh(d, task_find(d, one->id));
		return;
	}
	for (struct task *t = d->tasks; t; t = t->next)
		if (now - t->guards_read_usec >= max_age)
			guards_refresh(d, t);
}
