/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables through libmnl and libnftnl: a socket in any network namespace, transactions sent as
 * one batch (all or nothing), and dumps of rules and named counters. Returns 0/-errno.
 */
#ifndef TP_NFT_H
#define TP_NFT_H

#include <stdbool.h>
#include <stdint.h>

struct nft;
struct nft_batch;
struct nftnl_table;
struct nftnl_chain;
struct nftnl_rule;
struct nftnl_obj;

/* A counter object read back from the kernel. */
struct nft_counter {
	char name[64];
	uint64_t packets;
	uint64_t bytes;
};

typedef int (*nft_rule_fn)(struct nftnl_rule *rule, void *data);

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
/* Commit the transaction: every message applies or none does. Frees b. */
int nft_batch_commit(struct nft *n, struct nft_batch *b);

/* Whether a table exists. */
int nft_table_exists(struct nft *n, uint16_t family, const char *table, bool *ret);
/* Delete a table and everything in it; -ENOENT if there is none. */
int nft_table_delete(struct nft *n, uint16_t family, const char *table);
/* Call fn for every rule of table (in chain order; fn owns nothing). */
int nft_rules_foreach(struct nft *n, uint16_t family, const char *table, nft_rule_fn fn,
		      void *data);
/* Read the named counters of a table: up to max into ret; returns how many. */
int nft_counters_get(struct nft *n, uint16_t family, const char *table, struct nft_counter *ret,
		     unsigned int max);

#endif
