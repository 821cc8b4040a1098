/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables through libmnl and libnftnl: a socket in any network namespace, transactions sent as
 * one batch (all or nothing), and dumps of rules and named counters. Returns 0/-errno.
 */
#ifndef TP_NFT_H
#define TP_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nft;
struct nft_batch;
struct nftnl_table;
struct nftnl_chain;
struct nftnl_rule;
struct nftnl_obj;
struct nftnl_set;

/* A counter object read back from the kernel. */
struct nft_counter {
	char name[64];
	uint64_t packets;
	uint64_t bytes;
};

typedef int (*nft_rule_fn)(struct nftnl_rule *rule, void *data);

/* A rule under construction: an allocation failure is remembered and reported once (failed). */
struct nft_rule_builder {
	struct nftnl_rule *r;
	bool failed;
};

/* Open a netfilter netlink socket in netns_fd (-1: the caller's namespace). */
int nft_open(int netns_fd, struct nft **ret);
/* Close; returns NULL. */
struct nft *nft_free(struct nft *n);

/* Start a transaction. */
int nft_batch_new(struct nft *n, struct nft_batch **ret);
/* Free a transaction that was not sent; returns NULL. */
struct nft_batch *nft_batch_free(struct nft_batch *b);
/* Add messages to the transaction (the objects stay the caller's). */
int nft_batch_add_table(struct nft_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_table *t);
int nft_batch_add_chain(struct nft_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_chain *c);
int nft_batch_add_rule(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_rule *r);
int nft_batch_add_obj(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_obj *o);
/* A set (NFT_MSG_NEWSET, _DELSET), or the elements it holds (NFT_MSG_NEWSETELEM, _DELSETELEM). */
int nft_batch_add_set(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_set *s);
int nft_batch_add_setelems(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_set *s);
/* Commit the transaction: every message applies or none does. Frees b. */
int nft_batch_commit(struct nft *n, struct nft_batch *b);

/*
 * Rules. Matches load into NFT_REG_1 and compare for equality; a lookup takes its key from
 * NFT_REG_1 on (a concatenation: the fields in consecutive registers, each padded to 4 bytes).
 */
void nft_rule_start(struct nft_rule_builder *rb, uint16_t family, const char *table,
		    const char *chain);
/* Append an expression (NULL records a failure). */
void nft_rule_add(struct nft_rule_builder *rb, struct nftnl_expr *e);
/* meta KEY == data (len bytes: a shorter ifname is a prefix match, as nft's "eth*"). */
void nft_rule_meta_eq(struct nft_rule_builder *rb, uint32_t key, const void *data, uint32_t len);
/* NFT_REG_1 == data. */
void nft_rule_cmp_eq(struct nft_rule_builder *rb, const void *data, uint32_t len);
/* Load meta KEY into register dreg (for a lookup). */
void nft_rule_meta_load(struct nft_rule_builder *rb, uint32_t key, uint32_t dreg);
/* Load len bytes of a header (NFT_PAYLOAD_*_HEADER) at offset into register dreg. */
void nft_rule_payload_load(struct nft_rule_builder *rb, uint32_t base, uint32_t offset,
			   uint32_t len, uint32_t dreg);
/* The IPv4 header's address at offset (12 source, 16 destination) == addr; checks nfproto. */
void nft_rule_ip4_eq(struct nft_rule_builder *rb, uint32_t offset, const char *addr);
/* TCP, and the port at offset of the TCP header (0 source, 2 destination) == port. */
void nft_rule_tcp_port_eq(struct nft_rule_builder *rb, uint32_t offset, uint16_t port);
/* ct state is one of states (NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | ..., as nft's "ct state
 * established,related"). */
void nft_rule_ct_state_in(struct nft_rule_builder *rb, uint32_t states);
/* The key in NFT_REG_1.. is in set (set_id: a set created in the same transaction, or 0). */
void nft_rule_lookup(struct nft_rule_builder *rb, const char *set, uint32_t set_id);
/* Count in the named counter object. */
void nft_rule_counter(struct nft_rule_builder *rb, const char *name);
/* reject with icmpx TYPE CODE (NFT_REJECT_ICMPX_*). */
void nft_rule_reject(struct nft_rule_builder *rb, uint32_t type, uint8_t code);
/* A verdict: NF_ACCEPT, NF_DROP, NFT_RETURN, or NFT_JUMP/NFT_GOTO to chain. */
void nft_rule_verdict(struct nft_rule_builder *rb, int verdict, const char *chain);
/* A rule as text without its handle and position, to compare what was built with the kernel's. */
void nft_rule_format(struct nftnl_rule *r, char *buf, size_t size);

/* Give a table a comment (its userdata, as nft's "comment"); -EINVAL when too long. */
int nft_table_set_comment(struct nftnl_table *t, const char *comment);
/* A table's comment into buf, or NULL when it has none. */
const char *nft_table_get_comment(const struct nftnl_table *t, char *buf, size_t size);
/* Read a table (its handle, flags, userdata): -ENOENT if there is none. */
int nft_table_get(struct nft *n, uint16_t family, const char *table, struct nftnl_table **ret);
/* Whether a table exists. */
int nft_table_exists(struct nft *n, uint16_t family, const char *table, bool *ret);
/* Delete a table and everything in it; -ENOENT if there is none. */
int nft_table_delete(struct nft *n, uint16_t family, const char *table);
/* Call fn for every rule of table (in chain order; fn owns nothing). */
int nft_rules_foreach(struct nft *n, uint16_t family, const char *table, nft_rule_fn fn,
		      void *data);
/*
 * Which of the rules want[0..nwant) table has (found[i]), compared as text (nft_rule_format())
 * with its first max_have rules; *ret_have its number of rules. -ENOENT when there is no table.
 */
int nft_rules_match(struct nft *n, uint16_t family, const char *table,
		    struct nftnl_rule *const *want, int nwant, int max_have, bool *found,
		    int *ret_have);
/* Free rules[0..n). */
void nft_rules_free(struct nftnl_rule **rules, int n);
/* Read the named counters of a table: up to max into ret; returns how many. */
int nft_counters_get(struct nft *n, uint16_t family, const char *table, struct nft_counter *ret,
		     unsigned int max);

/*
 * Read the elements of a set into a new set object: all of them (keys NULL), or those of keys
 * (-ENOENT when one is not there). Each element comes with its expressions (counters).
 */
int nft_set_elems_get(struct nft *n, uint16_t family, const char *table, const char *set,
		      struct nftnl_set *keys, struct nftnl_set **ret);

#endif
