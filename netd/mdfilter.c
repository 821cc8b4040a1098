// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host side of the metadata links. A task with CAP_NET_RAW bypasses its own guards (packet
 * sockets see no netfilter hook), and with CAP_NET_ADMIN it can delete them; so netd filters what
 * arrives from the links in its own namespace, where no task reaches. One table, created at start
 * and kept across restarts (it stays in force while netd is down), one element per task in two
 * sets, no rule per task:
 *
 *	table inet taskplane-metadata {			# comment: the layout, see MDF_LAYOUT
 *		set links { type ifname; counter; }		# "tpmd3": what task 3's link dropped
 *		set sources { type ifname . ipv4_addr; }	# "tpmd3" . 169.254.172.5
 *		counter unknown_link { }
 *		chain check_source {
 *			meta nfproto ipv4 iifname . ip saddr @sources return
 *			iifname @links drop
 *			counter name "unknown_link" drop
 *		}
 *		chain check_dest {
 *			ip daddr 169.254.170.2 tcp dport 80 return
 *			iifname @links drop
 *			counter name "unknown_link" drop
 *		}
 *		chain prerouting {
 *			type filter hook prerouting priority raw; policy accept;
 *			iifname "tpmd*" jump check_source
 *		}
 *		chain input {
 *			type filter hook input priority filter; policy accept;
 *			iifname "tpmd*" jump check_dest
 *		}
 *		chain forward {
 *			type filter hook forward priority filter; policy accept;
 *			iifname "tpmd*" jump check_dest
 *		}
 *	}
 *
 * The source is checked in prerouting, before the kernel's reverse-path filter (which drops
 * without counting) and before conntrack and NAT see the packet; the destination after NAT, in
 * input and forward. Everything a link sends that is not TCP to the endpoint's port 80 from the
 * task's own address is dropped and counted by the element of the link in `links` (per-element
 * counters count lookups that match, and only the drop rules look it up). A link of netd's name
 * that is in no set yet (an attach half-way, a leftover) is dropped too, into `unknown_link`. What
 * the host sends back over a link is not filtered here: the task's replies are; ARP is not IP and
 * not seen by these hooks.
 */
#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>

#include "attachment.h"
#include "counters-bpf.h"
#include "json-util.h"
#include "log.h"
#include "mdfilter.h"
#include "mdlink.h"
#include "netd.h"
#include "nft.h"

#define MDF_FAMILY  NFPROTO_INET
#define MDF_LINKS   "links"
#define MDF_SOURCES "sources"
#define MDF_UNKNOWN "unknown_link"
/* The table's comment: another layout (an older or newer netd's) is rebuilt, not adopted. */
#define MDF_LAYOUT "netd: filter of the metadata links, layout 1"
#define MDF_RULES  9
/* Set ids within the transaction that creates them, for the rules' lookups. */
#define MDF_LINKS_ID   1
#define MDF_SOURCES_ID 2
/* nft's datatype ids and byte order, so that `nft list` shows the keys as names and addresses. */
#define NFT_TYPE_IPADDR	   7
#define NFT_TYPE_IFNAME	   41
#define NFT_TYPE_BITS	   6
#define NFT_BYTEORDER_HOST 1 /* nft's BYTEORDER_HOST_ENDIAN */
#define MDF_LINK_KEY	   IFNAMSIZ
#define MDF_SOURCE_KEY	   (IFNAMSIZ + 4)
/* Elements per message of a batch, and links per transaction (see batch_add_set_elems()). */
#define MDF_MSG_ELEMS 32
#define MDF_TXN_ELEMS 256

/* What each rule says, in nft's syntax, for messages (same order as build_rules()). */
static const char *const rule_text[MDF_RULES] = {
	"check_source: meta nfproto ipv4 iifname . ip saddr @sources return",
	"check_source: iifname @links drop",
	"check_source: counter name \"unknown_link\" drop",
	"check_dest: ip daddr 169.254.170.2 tcp dport 80 return",
	"check_dest: iifname @links drop",
	"check_dest: counter name \"unknown_link\" drop",
	"prerouting: iifname \"tpmd*\" jump check_source",
	"input: iifname \"tpmd*\" jump check_dest",
	"forward: iifname \"tpmd*\" jump check_dest",
};

/* --- the table ----------------------------------------------------------------------------- */

static void rb_link_drops(struct nft_rule_builder *rb, bool ids)
{
	nft_rule_meta_load(rb, NFT_META_IIFNAME, NFT_REG_1);
	nft_rule_lookup(rb, MDF_LINKS, ids ? MDF_LINKS_ID : 0);
	nft_rule_verdict(rb, NF_DROP, NULL);
}

static void rb_unknown_drops(struct nft_rule_builder *rb)
{
	nft_rule_counter(rb, MDF_UNKNOWN);
	nft_rule_verdict(rb, NF_DROP, NULL);
}

static void rb_from_links(struct nft_rule_builder *rb, const char *jump)
{
	static const char prefix[] = MDLINK_HOST_PREFIX; /* "tpmd*": a prefix match */

	nft_rule_meta_eq(rb, NFT_META_IIFNAME, prefix, sizeof(prefix) - 1);
	nft_rule_verdict(rb, NFT_JUMP, jump);
}

/*
 * The rules, in order (chain by chain); returns MDF_RULES or -ENOMEM. With ids, the lookups name
 * their sets by the ids of the transaction that creates them too (as the kernel reports the rules
 * without them, not for comparing).
 */
static int build_rules(struct nftnl_rule **rules, bool ids)
{
	struct nft_rule_builder rb;
	uint8_t v4 = NFPROTO_IPV4;
	int n = 0;

	for (int i = 0; i < MDF_RULES; i++) {
		static const char *const chains[MDF_RULES] = {
			"check_source", "check_source", "check_source", "check_dest", "check_dest",
			"check_dest",	"prerouting",	"input",	"forward",
		};

		nft_rule_start(&rb, MDF_FAMILY, MDFILTER_TABLE, chains[i]);
		switch (i) {
		case 0:
			nft_rule_meta_eq(&rb, NFT_META_NFPROTO, &v4, sizeof(v4));
			nft_rule_meta_load(&rb, NFT_META_IIFNAME, NFT_REG_1);
			/* the address right after the 16 bytes of the name: the next register */
			nft_rule_payload_load(&rb, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_2);
			nft_rule_lookup(&rb, MDF_SOURCES, ids ? MDF_SOURCES_ID : 0);
			nft_rule_verdict(&rb, NFT_RETURN, NULL);
			break;
		case 3:
			nft_rule_ip4_eq(&rb, 16, MDLINK_ENDPOINT);
			nft_rule_tcp_port_eq(&rb, 2, MDLINK_PORT);
			nft_rule_verdict(&rb, NFT_RETURN, NULL);
			break;
		case 1:
		case 4:
			rb_link_drops(&rb, ids);
			break;
		case 2:
		case 5:
			rb_unknown_drops(&rb);
			break;
		case 6:
			rb_from_links(&rb, "check_source");
			break;
		default:
			rb_from_links(&rb, "check_dest");
			break;
		}
		rules[n++] = rb.r;
		if (rb.failed)
			goto out_fail;
	}
	return n;

out_fail:
	nft_rules_free(rules, n);
	return -ENOMEM;
}

static struct nftnl_chain *build_chain(const char *name, int hook, int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, MDF_FAMILY);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, MDFILTER_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hook >= 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	return c;
}

/* A set object naming one of our sets (for elements, or to create it with its key). */
static struct nftnl_set *set_new(const char *name, bool define)
{
	struct nftnl_set *s = nftnl_set_alloc();
	bool links = streq(name, MDF_LINKS);

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, MDF_FAMILY);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, MDFILTER_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	if (!define)
		return s;
	nftnl_set_set_u32(s, NFTNL_SET_ID, links ? MDF_LINKS_ID : MDF_SOURCES_ID);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, links ? MDF_LINK_KEY : MDF_SOURCE_KEY);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
			  links ? NFT_TYPE_IFNAME
				: NFT_TYPE_IFNAME << NFT_TYPE_BITS | NFT_TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
	if (links) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		/* For `nft list`: a name is in host byte order (nft assumes network order else). */
		if (!u ||
		    !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST) ||
		    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
				       nftnl_udata_buf_len(u)) < 0) {
			nftnl_udata_buf_free(u);
			nftnl_set_free(s);
			return NULL;
		}
		nftnl_udata_buf_free(u);
	}
	if (links) {
		/* Every element gets a counter of its own. */
		struct nftnl_expr *e = nftnl_expr_alloc("counter");

		if (!e) {
			nftnl_set_free(s);
			return NULL;
		}
		nftnl_set_add_expr(s, e);
	}
	return s;
}

/* Add the messages that create the table, empty, to a transaction. */
static int batch_add_table(struct nft_batch *b)
{
	struct nftnl_rule *rules[MDF_RULES];
	struct nftnl_chain *chains[5] = {
		build_chain("check_source", -1, 0),
		build_chain("check_dest", -1, 0),
		build_chain("prerouting", NF_INET_PRE_ROUTING, NF_IP_PRI_RAW),
		build_chain("input", NF_INET_LOCAL_IN, NF_IP_PRI_FILTER),
		build_chain("forward", NF_INET_FORWARD, NF_IP_PRI_FILTER),
	};
	struct nftnl_set *links = set_new(MDF_LINKS, true), *sources = set_new(MDF_SOURCES, true);
	struct nftnl_table *table = nftnl_table_alloc();
	struct nftnl_obj *unknown = nftnl_obj_alloc();
	int nrules = build_rules(rules, true), r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(chains); i++)
		if (!chains[i])
			r = -ENOMEM;
	if (!links || !sources || !table || !unknown || nrules < 0)
		r = -ENOMEM;
	if (r == 0) {
		nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, MDF_FAMILY);
		nftnl_table_set_str(table, NFTNL_TABLE_NAME, MDFILTER_TABLE);
		r = nft_table_set_comment(table, MDF_LAYOUT);
	}
	if (r == 0) {
		nftnl_obj_set_u32(unknown, NFTNL_OBJ_FAMILY, MDF_FAMILY);
		nftnl_obj_set_str(unknown, NFTNL_OBJ_TABLE, MDFILTER_TABLE);
		nftnl_obj_set_str(unknown, NFTNL_OBJ_NAME, MDF_UNKNOWN);
		nftnl_obj_set_u32(unknown, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		r = nft_batch_add_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, table);
	}
	if (r == 0)
		r = nft_batch_add_obj(b, NFT_MSG_NEWOBJ, NLM_F_CREATE, unknown);
	if (r == 0)
		r = nft_batch_add_set(b, NFT_MSG_NEWSET, NLM_F_CREATE, links);
	if (r == 0)
		r = nft_batch_add_set(b, NFT_MSG_NEWSET, NLM_F_CREATE, sources);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(chains); i++)
		r = nft_batch_add_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, chains[i]);
	for (int i = 0; r == 0 && i < nrules; i++)
		r = nft_batch_add_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, rules[i]);

	nft_rules_free(rules, MAX(nrules, 0));
	for (size_t i = 0; i < ARRAY_SIZE(chains); i++)
		if (chains[i])
			nftnl_chain_free(chains[i]);
	if (links)
		nftnl_set_free(links);
	if (sources)
		nftnl_set_free(sources);
	if (table)
		nftnl_table_free(table);
	if (unknown)
		nftnl_obj_free(unknown);
	return r;
}

/*
 * Compare the table with what this netd builds: 1 when it is (its layout comment, every rule
 * and no other), 0 when not (a difference per missing rule appended to diffs, if given), -errno.
 */
static int table_as_built(struct nft *n, json_t *diffs)
{
	struct nftnl_rule *rules[MDF_RULES];
	struct nftnl_table *tb = NULL;
	bool found[MDF_RULES];
	char comment[128];
	int nrules = -1, nhave, ok = 0, r;

	r = nft_table_get(n, MDF_FAMILY, MDFILTER_TABLE, &tb);
	if (r == -ENOENT) {
		if (diffs)
			json_diff_append(diffs, "metadata-filter", "table inet " MDFILTER_TABLE,
					 "missing");
		return 0;
	}
	if (r < 0)
		return r;
	if (!streq_ptr(nft_table_get_comment(tb, comment, sizeof(comment)), MDF_LAYOUT)) {
		if (diffs)
			json_diff_append(diffs, "metadata-filter", MDF_LAYOUT, "another layout");
		goto out;
	}
	nrules = build_rules(rules, false);
	if (nrules < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = nft_rules_match(n, MDF_FAMILY, MDFILTER_TABLE, rules, nrules, MDF_RULES * 2, found,
			    &nhave);
	if (r < 0)
		goto out;
	ok = nhave == nrules;
	for (int i = 0; i < nrules; i++) {
		if (!found[i]) {
			ok = 0;
			if (diffs)
				json_diff_append(diffs, "metadata-filter", rule_text[i], "missing");
		}
	}
	if (!ok && diffs && nhave != nrules) {
		char a[24], b[24];

		snprintf(a, sizeof(a), "%d rules", nrules);
		snprintf(b, sizeof(b), "%d rules", nhave);
		json_diff_append(diffs, "metadata-filter", a, b);
	}
out:
	nft_rules_free(rules, MAX(nrules, 0));
	nftnl_table_free(tb);
	return r < 0 ? r : ok;
}

/* --- elements ------------------------------------------------------------------------------ */

static void link_key(unsigned int slot, uint8_t key[MDF_LINK_KEY])
{
	char name[IFNAMSIZ];

	memset(key, 0, MDF_LINK_KEY);
	mdlink_host_ifname(slot, name);
	memcpy(key, name, strlen(name));
}

/* The link's name, then the task's metadata address: -ERANGE past the last slot. */
static int source_key(unsigned int slot, uint8_t key[MDF_SOURCE_KEY])
{
	struct in_prefix a;
	int r;

	r = mdlink_address(slot, &a);
	if (r < 0)
		return r;
	link_key(slot, key);
	memcpy(key + MDF_LINK_KEY, &a.u.v4, 4);
	return 0;
}

/* The slot of an element's link name ("tpmd3" -> 3), or -EINVAL. */
static int key_slot(const void *key, uint32_t len)
{
	char name[IFNAMSIZ] = {};
	unsigned int slot;
	char extra;

	if (len < MDF_LINK_KEY)
		return -EINVAL;
	memcpy(name, key, IFNAMSIZ - 1);
	if (sscanf(name, MDLINK_HOST_PREFIX "%u%c", &slot, &extra) != 1 || slot >= NETD_MAX_TASKS)
		return -EINVAL;
	return (int)slot;
}

/* Append the element of slot's link to one set (links: with a counter starting at start). */
static int elem_add(struct nftnl_set *s, unsigned int slot, bool links,
		    const struct counters_pair *start)
{
	uint8_t key[MDF_SOURCE_KEY];
	struct nftnl_set_elem *e;
	int r;

	if (links)
		link_key(slot, key);
	else if ((r = source_key(slot, key)) < 0)
		return r;
	e = nftnl_set_elem_alloc();
	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, links ? MDF_LINK_KEY : MDF_SOURCE_KEY);
	if (links && start && start->packets) {
		struct nftnl_expr *c = nftnl_expr_alloc("counter");

		if (!c) {
			nftnl_set_elem_free(e);
			return -ENOMEM;
		}
		nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_PACKETS, start->packets);
		nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_BYTES, start->bytes);
		nftnl_set_elem_add_expr(e, c);
	}
	nftnl_set_elem_add(s, e);
	return 0;
}

/*
 * Add (or delete) the elements of one set for the links of slots[0..n) to a transaction, in
 * messages of at most MDF_MSG_ELEMS elements: a message of a batch must stay under 4 KiB (an
 * element of links with its counter takes about 80 bytes).
 */
static int batch_add_set_elems(struct nft_batch *b, struct netd *d, bool links,
			       const unsigned int *slots, unsigned int n, bool add)
{
	int r = 0;

	for (unsigned int i = 0; r == 0 && i < n; i += MDF_MSG_ELEMS) {
		struct nftnl_set *s = set_new(links ? MDF_LINKS : MDF_SOURCES, false);

		if (!s)
			return -ENOMEM;
		for (unsigned int k = i; r == 0 && k < MIN(n, i + MDF_MSG_ELEMS); k++) {
			struct counters_snapshot snap;
			const struct counters_pair *start = NULL;

			/* Carry the count on: a re-added element goes on from what the stats
			 * have. */
			if (add && links && counters_bpf_read(d->bpf, slots[k], &snap) == 0)
				start = &snap.drops[TC_DROP_METADATA_FILTER][TC_DIR_TX];
			r = elem_add(s, slots[k], links, start);
		}
		if (r == 0)
			r = nft_batch_add_setelems(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
						   add ? NLM_F_CREATE : 0, s);
		nftnl_set_free(s);
	}
	return r;
}

/* Both sets' elements of the links of slots[0..n), n <= MDF_TXN_ELEMS, to a transaction. */
static int batch_add_elems(struct nft_batch *b, struct netd *d, const unsigned int *slots,
			   unsigned int n, bool add)
{
	int r;

	r = batch_add_set_elems(b, d, true, slots, n, add);
	if (r == 0)
		r = batch_add_set_elems(b, d, false, slots, n, add);
	return r;
}

/*
 * Add (or delete) elements in transactions of at most MDF_TXN_ELEMS links each, so that a batch
 * stays within its buffer: the links of slots in both sets (links < 0), or in one set.
 */
static int commit_elems(struct nft *n, struct netd *d, int links, const unsigned int *slots,
			unsigned int count, bool add)
{
	int r = 0;

	for (unsigned int i = 0; r == 0 && i < count; i += MDF_TXN_ELEMS) {
		unsigned int k = MIN(count - i, (unsigned int)MDF_TXN_ELEMS);
		struct nft_batch *b = NULL;

		r = nft_batch_new(n, &b);
		if (r == 0)
			r = links < 0 ? batch_add_elems(b, d, slots + i, k, add)
				      : batch_add_set_elems(b, d, links, slots + i, k, add);
		if (r < 0) {
			nft_batch_free(b);
			return r;
		}
		r = nft_batch_commit(n, b);
	}
	return r;
}

static int counter_cb(struct nftnl_expr *e, void *data)
{
	struct counters_pair *p = data;

	if (streq_ptr(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter")) {
		p->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		p->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

/* What slot's link dropped: 0 with *ret, -ENOENT when it has no element. */
static int read_link(struct nft *n, unsigned int slot, struct counters_pair *ret)
{
	struct nftnl_set *q = set_new(MDF_LINKS, false), *have = NULL;
	struct nftnl_set_elem *e;
	struct nftnl_set_elems_iter *it;
	int r;

	*ret = (struct counters_pair){};
	if (!q)
		return -ENOMEM;
	r = elem_add(q, slot, true, NULL);
	if (r == 0)
		r = nft_set_elems_get(n, MDF_FAMILY, MDFILTER_TABLE, MDF_LINKS, q, &have);
	nftnl_set_free(q);
	if (r < 0)
		return r;
	it = nftnl_set_elems_iter_create(have);
	e = it ? nftnl_set_elems_iter_cur(it) : NULL;
	if (e)
		nftnl_set_elem_expr_foreach(e, counter_cb, ret);
	else
		r = -ENOENT;
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(have);
	return r;
}

/* Whether the element of slot's link in a set is there: 1, 0, -errno. */
static int elem_exists(struct nft *n, unsigned int slot, bool links)
{
	struct nftnl_set *q = set_new(links ? MDF_LINKS : MDF_SOURCES, false), *have = NULL;
	int r;

	if (!q)
		return -ENOMEM;
	r = elem_add(q, slot, links, NULL);
	if (r == 0)
		r = nft_set_elems_get(n, MDF_FAMILY, MDFILTER_TABLE,
				      links ? MDF_LINKS : MDF_SOURCES, q, &have);
	nftnl_set_free(q);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	nftnl_set_free(have);
	return 1;
}

/* --- the module ---------------------------------------------------------------------------- */

struct mdfilter {
	mdfilter_link_fn has_link;
};

/* Whether the attachment's metadata link may exist (the metadata step says). */
static bool has_link(struct netd *d, const struct eni_attachment *a)
{
	return d->mdfilter->has_link(a);
}

struct sync_ctx {
	const struct eni_attachment **by_slot; /* tasks whose element should be there */
	bool *seen;
	unsigned int nstale;
	unsigned int stale[64]; /* slots of elements of no task (more go at the next start) */
};

static int sync_elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct sync_ctx *c = data;
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	int slot = key ? key_slot(key, len) : -EINVAL;

	if (slot >= 0 && c->by_slot[slot])
		c->seen[slot] = true;
	else if (slot >= 0 && c->nstale < ARRAY_SIZE(c->stale))
		c->stale[c->nstale++] = (unsigned int)slot;
	return 0;
}

/*
 * Remove the elements of the links of slots[0..count) that are there: a transaction with one
 * that is not fails as a whole.
 */
static int remove_elems(struct nft *n, struct netd *d, const unsigned int *slots,
			unsigned int count)
{
	_cleanup_free_ unsigned int *del = calloc(MAX(count, 1u), sizeof(*del));
	int r = del ? 0 : -ENOMEM;

	for (int links = 0; r == 0 && links < 2; links++) {
		unsigned int ndel = 0;

		for (unsigned int i = 0; r == 0 && i < count; i++) {
			int e = elem_exists(n, slots[i], links);

			if (e < 0)
				r = e;
			else if (e > 0)
				del[ndel++] = slots[i];
		}
		if (r == 0)
			r = commit_elems(n, d, links, del, ndel, false);
	}
	return r;
}

/* In an adopted table: remove elements of no task, add those missing. */
static int sync_elems(struct nft *n, struct netd *d, const struct eni_attachment **by_slot)
{
	struct sync_ctx c = { .by_slot = by_slot };
	unsigned int *add = NULL;
	struct nftnl_set *have = NULL;
	unsigned int nadd = 0;
	int r;

	c.seen = calloc(NETD_MAX_TASKS, sizeof(*c.seen));
	add = calloc(NETD_MAX_TASKS, sizeof(*add));
	if (!c.seen || !add) {
		r = -ENOMEM;
		goto out;
	}
	r = nft_set_elems_get(n, MDF_FAMILY, MDFILTER_TABLE, MDF_LINKS, NULL, &have);
	if (r < 0)
		goto out;
	nftnl_set_elem_foreach(have, sync_elem_cb, &c);
	for (unsigned int s = 0; s < NETD_MAX_TASKS; s++)
		if (by_slot[s] && !c.seen[s]) {
			log_info("Task '%s': its metadata link was not in the filter; added",
				 by_slot[s]->id);
			add[nadd++] = s;
		}
	/* The elements of a link of no task: its sources element is by the same slot. A stale
	 * sources element without its links element is possible only by hand, and harmless (it
	 * lets a source through only for a link that is in no set, which is dropped anyway). */
	for (unsigned int i = 0; i < c.nstale; i++)
		log_info("Removing the metadata filter's element of '" MDLINK_HOST_PREFIX
			 "%u', which is no task's",
			 c.stale[i]);
	r = remove_elems(n, d, c.stale, c.nstale);
	if (r == 0)
		r = commit_elems(n, d, -1, add, nadd, true);
out:
	if (have)
		nftnl_set_free(have);
	free(c.seen);
	free(add);
	return r;
}

static void warn_loose_rp_filter(void)
{
	_cleanup_free_ char *buf = NULL;

	if (read_file("/proc/sys/net/ipv4/conf/all/rp_filter", 16, &buf, NULL) == 0 &&
	    atoi(buf) == 2)
		log_notice("net.ipv4.conf.all.rp_filter is 2 (loose), which overrides the strict "
			   "setting of the metadata links (the kernel uses the higher value); the "
			   "source check of table inet " MDFILTER_TABLE " applies regardless");
}

/* Create the table, or adopt (and bring up to date) the one there. */
static int mdfilter_build(struct netd *d)
{
	const struct eni_attachment **by_slot = NULL;
	unsigned int *all = NULL;
	struct nft_batch *b = NULL;
	struct nft *n = NULL;
	unsigned int nall = 0;
	int r;

	by_slot = calloc(NETD_MAX_TASKS, sizeof(*by_slot));
	all = calloc(NETD_MAX_TASKS, sizeof(*all));
	if (!by_slot || !all) {
		r = log_oom();
		goto out;
	}
	for (const struct eni_attachment *t = d->attachments; t; t = t->next)
		if (has_link(d, t) && t->slot < NETD_MAX_TASKS) {
			by_slot[t->slot] = t;
			all[nall++] = t->slot;
		}
	r = nft_open(-1, &n);
	if (r < 0) {
		log_err_errno(r, "Failed to open nftables: %m");
		goto out;
	}
	r = table_as_built(n, NULL);
	if (r < 0) {
		log_err_errno(r, "Failed to read table inet " MDFILTER_TABLE ": %m");
		goto out;
	}
	if (r > 0) {
		r = sync_elems(n, d, by_slot);
		if (r < 0)
			log_err_errno(r,
				      "Failed to update the elements of table inet " MDFILTER_TABLE
				      ": %m");
		else
			log_info("Adopted table inet " MDFILTER_TABLE " (%u tasks with a metadata "
				 "link)",
				 nall);
		goto out;
	}
	/* None, or not as built: (re)build it with every task's elements; the table and the first
	 * of them in one transaction (the links of the others are dropped until theirs follow). */
	r = nft_batch_new(n, &b);
	if (r < 0)
		goto out;
	{
		bool exists = false;

		(void)nft_table_exists(n, MDF_FAMILY, MDFILTER_TABLE, &exists);
		if (exists) {
			struct nftnl_table *old = nftnl_table_alloc();

			log_notice("Table inet " MDFILTER_TABLE " is not as this netd builds it: "
				   "rebuilding it");
			if (!old)
				r = -ENOMEM;
			else {
				nftnl_table_set_u32(old, NFTNL_TABLE_FAMILY, MDF_FAMILY);
				nftnl_table_set_str(old, NFTNL_TABLE_NAME, MDFILTER_TABLE);
				r = nft_batch_add_table(b, NFT_MSG_DELTABLE, 0, old);
				nftnl_table_free(old);
			}
		}
	}
	if (r == 0)
		r = batch_add_table(b);
	if (r == 0)
		r = batch_add_elems(b, d, all, MIN(nall, (unsigned int)MDF_TXN_ELEMS), true);
	if (r < 0) {
		nft_batch_free(b);
		log_err_errno(r, "Failed to build table inet " MDFILTER_TABLE ": %m");
		goto out;
	}
	r = nft_batch_commit(n, b);
	if (r == 0 && nall > MDF_TXN_ELEMS)
		r = commit_elems(n, d, -1, all + MDF_TXN_ELEMS, nall - MDF_TXN_ELEMS, true);
	if (r < 0)
		log_err_errno(r, "Failed to create table inet " MDFILTER_TABLE ": %m");
	else
		log_info("Created table inet " MDFILTER_TABLE " (%u tasks with a metadata link)",
			 nall);
out:
	if (r >= 0)
		warn_loose_rp_filter();
	nft_free(n);
	free(by_slot);
	free(all);
	return r < 0 ? r : 0;
}

int mdfilter_init(struct netd *d, mdfilter_link_fn link_fn)
{
	d->mdfilter = calloc(1, sizeof(*d->mdfilter));
	if (!d->mdfilter)
		return log_oom();
	d->mdfilter->has_link = link_fn;
	return mdfilter_build(d);
}

void mdfilter_exit(struct netd *d)
{
	struct nft *n = NULL;
	int r;

	if (!d->mdfilter)
		return;
	for (struct eni_attachment *a = d->attachments; a; a = a->next)
		if (a->metadata_link)
			goto out; /* its link stays: so does the filter */
	if (nft_open(-1, &n) < 0)
		goto out;
	r = nft_table_delete(n, MDF_FAMILY, MDFILTER_TABLE);
	if (r < 0 && r != -ENOENT)
		log_warn_errno(r, "Failed to delete table inet " MDFILTER_TABLE ": %m, ignoring");
	nft_free(n);
out:
	free(d->mdfilter);
	d->mdfilter = NULL;
}

int mdfilter_add(struct netd *d, const struct eni_attachment *t)
{
	struct nft *n = NULL;
	int r;

	r = nft_open(-1, &n);
	if (r == 0)
		r = commit_elems(n, d, -1, &t->slot, 1, true);
	nft_free(n);
	if (r == -ENOENT) {
		/* Deleted behind netd's back: make it again, with every task's elements (this
		 * one's too: its step has begun), rather than leave the links unfiltered. */
		log_warn("Table inet " MDFILTER_TABLE " is gone: creating it again");
		r = mdfilter_build(d);
	}
	return r;
}

void mdfilter_keep_count(struct netd *d, const struct eni_attachment *t)
{
	struct counters_pair p;
	struct nft *n = NULL;

	if (nft_open(-1, &n) < 0)
		return;
	if (read_link(n, t->slot, &p) == 0)
		(void)counters_bpf_set_drops(d->bpf, t->slot, TC_DROP_METADATA_FILTER, TC_DIR_TX,
					     p.bytes, p.packets);
	nft_free(n);
}

int mdfilter_remove(struct netd *d, const unsigned int *slots, unsigned int count)
{
	struct nft *n = NULL;
	int r;

	r = nft_open(-1, &n);
	if (r == 0)
		r = remove_elems(n, d, slots, count);
	nft_free(n);
	return r;
}

int mdfilter_check(struct netd *d, const struct eni_attachment *t, json_t *diffs)
{
	char name[IFNAMSIZ], want[64];
	struct nft *n = NULL;
	int r;

	r = nft_open(-1, &n);
	if (r < 0)
		return r;
	r = table_as_built(n, diffs);
	if (r <= 0)
		goto out;
	mdlink_host_ifname(t->slot, name);
	for (int links = 1; links >= 0; links--) {
		r = elem_exists(n, t->slot, links);
		if (r < 0)
			goto out;
		if (r == 0) {
			snprintf(want, sizeof(want), "element \"%s\" of @%s", name,
				 links ? MDF_LINKS : MDF_SOURCES);
			json_diff_append(diffs, "metadata-filter", want, "missing");
		}
	}
	r = 0;
out:
	nft_free(n);
	return r;
}

struct refresh_ctx {
	struct netd *d;
	const struct eni_attachment **by_slot;
};

static int refresh_cb(struct nftnl_set_elem *e, void *data)
{
	struct refresh_ctx *c = data;
	struct counters_pair p = {};
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	int slot = key ? key_slot(key, len) : -EINVAL;

	if (slot < 0 || !c->by_slot[slot])
		return 0;
	nftnl_set_elem_expr_foreach(e, counter_cb, &p);
	(void)counters_bpf_set_drops(c->d->bpf, (unsigned int)slot, TC_DROP_METADATA_FILTER,
				     TC_DIR_TX, p.bytes, p.packets);
	return 0;
}

void mdfilter_refresh(struct netd *d, const struct eni_attachment *t)
{
	struct refresh_ctx c = { .d = d };
	struct nftnl_set *have = NULL;
	struct counters_pair p;
	struct nft *n = NULL;
	bool any = false;
	int r;

	if (t && !has_link(d, t))
		return;
	for (struct eni_attachment *k = d->attachments; !t && k && !any; k = k->next)
		any = has_link(d, k);
	if (!t && !any)
		return;
	if (nft_open(-1, &n) < 0)
		return;
	if (t) {
		/* An element that is gone (detached, or removed by hand) keeps the last count. */
		if (read_link(n, t->slot, &p) == 0)
			(void)counters_bpf_set_drops(d->bpf, t->slot, TC_DROP_METADATA_FILTER,
						     TC_DIR_TX, p.bytes, p.packets);
		goto out;
	}
	c.by_slot = calloc(NETD_MAX_TASKS, sizeof(*c.by_slot));
	if (!c.by_slot)
		goto out;
	for (struct eni_attachment *k = d->attachments; k; k = k->next)
		if (has_link(d, k) && k->slot < NETD_MAX_TASKS)
			c.by_slot[k->slot] = k;
	r = nft_set_elems_get(n, MDF_FAMILY, MDFILTER_TABLE, MDF_LINKS, NULL, &have);
	if (r < 0)
		log_debug_errno(r, "Failed to read the metadata filter's counters: %m");
	else
		nftnl_set_elem_foreach(have, refresh_cb, &c);
	if (have)
		nftnl_set_free(have);
	free(c.by_slot);
out:
	nft_free(n);
}
