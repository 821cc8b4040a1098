// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include <sys/socket.h>
#include <sys/time.h>

#include "netns.h"
#include "nft.h"
#include "util.h"

#define NFT_BATCH_SIZE (64 * 1024)

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

struct nft_batch {
	struct nft *n;
	char *buf;
	struct mnl_nlmsg_batch *b;
	uint32_t first_seq;
	bool full;
};

int nft_open(int netns_fd, struct nft **ret)
{
	struct nft *n;
	int saved = -1, one = 1, r;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (netns_fd >= 0) {
		r = netns_enter(netns_fd, &saved);
		if (r < 0)
			goto out_free;
	}
	n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	r = n->nl ? 0 : -errno;
	if (netns_fd >= 0) {
		int q = netns_restore(saved);

		if (q < 0 && r == 0)
			r = q;
	}
	if (r < 0)
		goto out_close;
	r = RET_NERRNO(mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID));
	if (r < 0)
		goto out_close;
	(void)mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Never wait for ever on a reply the kernel does not send. */
	{
		struct timeval tv = { .tv_sec = 2 };

		(void)setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
				 sizeof(tv));
	}
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)now_usec();
	*ret = n;
	return 0;

out_close:
	if (n->nl)
		mnl_socket_close(n->nl);
out_free:
	free(n);
	return r;
}

struct nft *nft_free(struct nft *n)
{
	if (!n)
		return NULL;
	mnl_socket_close(n->nl);
	free(n);
	return NULL;
}

/* --- rules -------------------------------------------------------------------------------- */

void nft_rule_start(struct nft_rule_builder *rb, uint16_t family, const char *table,
		    const char *chain)
{
	rb->failed = false;
	rb->r = nftnl_rule_alloc();
	if (!rb->r) {
		rb->failed = true;
		return;
	}
	nftnl_rule_set_u32(rb->r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(rb->r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(rb->r, NFTNL_RULE_CHAIN, chain);
}

void nft_rule_add(struct nft_rule_builder *rb, struct nftnl_expr *e)
{
	if (!e || !rb->r) {
		rb->failed = true;
		if (e)
			nftnl_expr_free(e);
		return;
	}
	nftnl_rule_add_expr(rb->r, e);
}

void nft_rule_meta_load(struct nft_rule_builder *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	nft_rule_add(rb, e);
}

void nft_rule_payload_load(struct nft_rule_builder *rb, uint32_t base, uint32_t offset,
			   uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	nft_rule_add(rb, e);
}

void nft_rule_cmp_eq(struct nft_rule_builder *rb, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	nft_rule_add(rb, e);
}

void nft_rule_meta_eq(struct nft_rule_builder *rb, uint32_t key, const void *data, uint32_t len)
{
	nft_rule_meta_load(rb, key, NFT_REG_1);
	nft_rule_cmp_eq(rb, data, len);
}

void nft_rule_ip4_eq(struct nft_rule_builder *rb, uint32_t offset, const char *addr)
{
	uint8_t proto = NFPROTO_IPV4;
	struct in_addr a = {};

	if (inet_pton(AF_INET, addr, &a) != 1)
		rb->failed = true;
	nft_rule_meta_eq(rb, NFT_META_NFPROTO, &proto, sizeof(proto));
	nft_rule_payload_load(rb, NFT_PAYLOAD_NETWORK_HEADER, offset, sizeof(a), NFT_REG_1);
	nft_rule_cmp_eq(rb, &a, sizeof(a));
}

void nft_rule_tcp_port_eq(struct nft_rule_builder *rb, uint32_t offset, uint16_t port)
{
	uint8_t proto = IPPROTO_TCP;
	uint16_t p = htons(port);

	nft_rule_meta_eq(rb, NFT_META_L4PROTO, &proto, sizeof(proto));
	nft_rule_payload_load(rb, NFT_PAYLOAD_TRANSPORT_HEADER, offset, sizeof(p), NFT_REG_1);
	nft_rule_cmp_eq(rb, &p, sizeof(p));
}

void nft_rule_ct_state_in(struct nft_rule_builder *rb, uint32_t states)
{
	struct nftnl_expr *ct = nftnl_expr_alloc("ct"), *bw = NULL, *cmp = NULL;
	uint32_t zero = 0;

	if (ct) {
		nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	nft_rule_add(rb, ct);
	bw = nftnl_expr_alloc("bitwise");
	if (bw) {
		nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_LEN, sizeof(states));
		nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_MASK, &states, sizeof(states));
		nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	}
	nft_rule_add(rb, bw);
	cmp = nftnl_expr_alloc("cmp");
	if (cmp) {
		nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_NEQ);
		nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, &zero, sizeof(zero));
	}
	nft_rule_add(rb, cmp);
}

void nft_rule_lookup(struct nft_rule_builder *rb, const char *set, uint32_t set_id)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		/* as the kernel reports it, so that a rule read back compares equal */
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
		if (set_id)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	}
	nft_rule_add(rb, e);
}

void nft_rule_counter(struct nft_rule_builder *rb, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc("objref");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
		nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	}
	nft_rule_add(rb, e);
}

void nft_rule_reject(struct nft_rule_builder *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	}
	nft_rule_add(rb, e);
}

void nft_rule_verdict(struct nft_rule_builder *rb, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
	nft_rule_add(rb, e);
}

void nft_rule_format(struct nftnl_rule *r, char *buf, size_t size)
{
	nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
	nftnl_rule_unset(r, NFTNL_RULE_POSITION);
	nftnl_rule_unset(r, NFTNL_RULE_ID);
	nftnl_rule_unset(r, NFTNL_RULE_COMPAT_FLAGS);
	nftnl_rule_unset(r, NFTNL_RULE_COMPAT_PROTO);
	nftnl_rule_snprintf(buf, size, r, NFTNL_OUTPUT_DEFAULT, 0);
}

/* --- transactions ------------------------------------------------------------------------- */

int nft_batch_new(struct nft *n, struct nft_batch **ret)
{
	struct nft_batch *b;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->buf = malloc(NFT_BATCH_SIZE);
	if (!b->buf) {
		free(b);
		return -ENOMEM;
	}
	b->n = n;
	b->b = mnl_nlmsg_batch_start(b->buf, NFT_BATCH_SIZE);
	b->first_seq = ++n->seq;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b->b), b->first_seq);
	mnl_nlmsg_batch_next(b->b);
	*ret = b;
	return 0;
}

struct nft_batch *nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return NULL;
	mnl_nlmsg_batch_stop(b->b);
	free(b->buf);
	free(b);
	return NULL;
}

/* Room for one more message of up to this size (a rule with a dozen expressions is < 1 KiB). */
static int batch_room(struct nft_batch *b)
{
	if (b->full || mnl_nlmsg_batch_size(b->b) + 4096 > NFT_BATCH_SIZE) {
		b->full = true;
		return -E2BIG;
	}
	return 0;
}

static struct nlmsghdr *batch_hdr(struct nft_batch *b, uint16_t type, uint16_t family,
				  uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b), type, family, flags | NLM_F_ACK,
				     ++b->n->seq);
}

int nft_batch_add_table(struct nft_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_table *t)
{
	struct nlmsghdr *nlh;

	if (batch_room(b) < 0)
		return -E2BIG;
	nlh = batch_hdr(b, type, (uint16_t)nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), flags);
	nftnl_table_nlmsg_build_payload(nlh, t);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

int nft_batch_add_chain(struct nft_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_chain *c)
{
	struct nlmsghdr *nlh;

	if (batch_room(b) < 0)
		return -E2BIG;
	nlh = batch_hdr(b, type, (uint16_t)nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), flags);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

int nft_batch_add_rule(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh;

	if (batch_room(b) < 0)
		return -E2BIG;
	nlh = batch_hdr(b, type, (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), flags);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

int nft_batch_add_obj(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_obj *o)
{
	struct nlmsghdr *nlh;

	if (batch_room(b) < 0)
		return -E2BIG;
	nlh = batch_hdr(b, type, (uint16_t)nftnl_obj_get_u32(o, NFTNL_OBJ_FAMILY), flags);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

int nft_batch_add_set(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_set *s)
{
	struct nlmsghdr *nlh;

	if (batch_room(b) < 0)
		return -E2BIG;
	nlh = batch_hdr(b, type, (uint16_t)nftnl_set_get_u32(s, NFTNL_SET_FAMILY), flags);
	nftnl_set_nlmsg_build_payload(nlh, s);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

int nft_batch_add_setelems(struct nft_batch *b, uint16_t type, uint16_t flags, struct nftnl_set *s)
{
	struct nlmsghdr *nlh;

	if (batch_room(b) < 0)
		return -E2BIG;
	nlh = batch_hdr(b, type, (uint16_t)nftnl_set_get_u32(s, NFTNL_SET_FAMILY), flags);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

/*
 * Read replies until every message up to last_seq is acknowledged (the kernel answers each message
 * of a batch, also after a failure, so the socket is left clean); the first error wins.
 */
static int recv_acks(struct nft *n, uint32_t first_seq, uint32_t last_seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int err = 0;

	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		struct nlmsghdr *nlh;
		int left;

		if (len < 0)
			return err ?: (errno == EAGAIN ? -ETIMEDOUT : -errno);
		left = (int)len;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_pid != n->portid || nlh->nlmsg_seq < first_seq ||
			    nlh->nlmsg_seq > last_seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (e->error && !err)
					err = e->error;
				if (nlh->nlmsg_seq == last_seq)
					return err;
			}
		}
	}
}

int nft_batch_commit(struct nft *n, struct nft_batch *b)
{
	uint32_t first, last;
	ssize_t sent;
	int r;

	if (b->full) {
		nft_batch_free(b);
		return -E2BIG;
	}
	last = b->n->seq;
	first = b->first_seq + 1;
	nftnl_batch_end(mnl_nlmsg_batch_current(b->b), ++n->seq);
	mnl_nlmsg_batch_next(b->b);
	sent = mnl_socket_sendto(n->nl, mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b));
	r = sent < 0 ? -errno : 0;
	nft_batch_free(b);
	if (r < 0)
		return r;
	if (last < first)
		return 0;
	return recv_acks(n, first, last);
}

/* Run a dump request and call cb for each message. */
static int dump(struct nft *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = nlh->nlmsg_seq;
	int r;

	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));

		if (len < 0)
			return -errno;
		r = mnl_cb_run(buf, (size_t)len, seq, n->portid, cb, data);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

int nft_table_set_comment(struct nftnl_table *t, const char *comment)
{
	struct nftnl_udata_buf *u;
	int r = 0;

	if (strlen(comment) >= NFTNL_UDATA_COMMENT_MAXLEN)
		return -EINVAL;
	u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!u)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(u, NFTNL_UDATA_TABLE_COMMENT, comment) ||
	    nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(u),
				 nftnl_udata_buf_len(u)) < 0)
		r = -ENOMEM;
	nftnl_udata_buf_free(u);
	return r;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **tb = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_TABLE_COMMENT)
		tb[NFTNL_UDATA_TABLE_COMMENT] = attr;
	return 0;
}

const char *nft_table_get_comment(const struct nftnl_table *t, char *buf, size_t size)
{
	const struct nftnl_udata *tb[NFTNL_UDATA_TABLE_MAX + 1] = {};
	const void *data;
	uint32_t len = 0, alen;

	if (!nftnl_table_is_set(t, NFTNL_TABLE_USERDATA))
		return NULL;
	data = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
	if (!data || nftnl_udata_parse(data, len, comment_cb, tb) < 0 ||
	    !tb[NFTNL_UDATA_TABLE_COMMENT])
		return NULL;
	alen = nftnl_udata_len(tb[NFTNL_UDATA_TABLE_COMMENT]);
	if (alen == 0 || (size_t)alen > size)
		return NULL;
	memcpy(buf, nftnl_udata_get(tb[NFTNL_UDATA_TABLE_COMMENT]), alen);
	buf[alen - 1] = '\0'; /* stored with its NUL */
	return buf;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table *t = data;

	return nftnl_table_nlmsg_parse(nlh, t) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int nft_table_get(struct nft *n, uint16_t family, const char *table, struct nftnl_table **ret)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t;
	struct nlmsghdr *nlh;
	int r;

	t = nftnl_table_alloc();
	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK, ++n->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_unset(t, NFTNL_TABLE_NAME);
	r = dump(n, nlh, table_cb, t);
	if (r < 0 || !nftnl_table_is_set(t, NFTNL_TABLE_NAME)) {
		nftnl_table_free(t);
		return r < 0 ? r : -ENOENT;
	}
	*ret = t;
	return 0;
}

int nft_table_exists(struct nft *n, uint16_t family, const char *table, bool *ret)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t;
	struct nlmsghdr *nlh;
	int r;

	t = nftnl_table_alloc();
	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK, ++n->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	r = dump(n, nlh, NULL, NULL);
	if (r == -ENOENT) {
		*ret = false;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = true;
	return 0;
}

int nft_table_delete(struct nft *n, uint16_t family, const char *table)
{
	struct nft_batch *b = NULL;
	struct nftnl_table *t;
	int r;

	t = nftnl_table_alloc();
	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	r = nft_batch_new(n, &b);
	if (r == 0)
		r = nft_batch_add_table(b, NFT_MSG_DELTABLE, 0, t);
	nftnl_table_free(t);
	if (r < 0) {
		nft_batch_free(b);
		return r;
	}
	return nft_batch_commit(n, b);
}

struct rules_ctx {
	nft_rule_fn fn;
	void *data;
	int r;
};

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rules_ctx *c = data;
	struct nftnl_rule *rule;

	if (c->r)
		return MNL_CB_OK;
	rule = nftnl_rule_alloc();
	if (!rule) {
		c->r = -ENOMEM;
		return MNL_CB_OK;
	}
	if (nftnl_rule_nlmsg_parse(nlh, rule) < 0)
		c->r = -EBADMSG;
	else
		c->r = c->fn(rule, c->data);
	nftnl_rule_free(rule);
	return MNL_CB_OK;
}

int nft_rules_foreach(struct nft *n, uint16_t family, const char *table, nft_rule_fn fn, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rules_ctx c = { .fn = fn, .data = data };
	struct nftnl_rule *rule;
	struct nlmsghdr *nlh;
	int r;

	rule = nftnl_rule_alloc();
	if (!rule)
		return -ENOMEM;
	nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, family, NLM_F_DUMP, ++n->seq);
	nftnl_rule_nlmsg_build_payload(nlh, rule);
	nftnl_rule_free(rule);
	r = dump(n, nlh, rule_cb, &c);
	return r < 0 ? r : c.r;
}

struct match_ctx {
	char (*text)[512];
	int max, n;
};

static int collect_text(struct nftnl_rule *r, void *data)
{
	struct match_ctx *c = data;

	if (c->n < c->max)
		nft_rule_format(r, c->text[c->n], sizeof(c->text[0]));
	c->n++;
	return 0;
}

int nft_rules_match(struct nft *n, uint16_t family, const char *table,
		    struct nftnl_rule *const *want, int nwant, int max_have, bool *found,
		    int *ret_have)
{
	struct match_ctx c = { .max = max_have };
	int r;

	c.text = calloc((size_t)max_have, sizeof(*c.text));
	if (!c.text)
		return -ENOMEM;
	r = nft_rules_foreach(n, family, table, collect_text, &c);
	if (r == 0) {
		for (int i = 0; i < nwant; i++) {
			char w[sizeof(c.text[0])];

			nft_rule_format(want[i], w, sizeof(w));
			found[i] = false;
			for (int k = 0; k < MIN(c.n, max_have); k++)
				if (streq(c.text[k], w))
					found[i] = true;
		}
		*ret_have = c.n;
	}
	free(c.text);
	return r;
}

void nft_rules_free(struct nftnl_rule **rules, int n)
{
	while (n-- > 0)
		nftnl_rule_free(rules[n]);
}

struct counters_ctx {
	const char *table;
	struct nft_counter *ret;
	unsigned int max, n;
};

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counters_ctx *c = data;
	struct nftnl_obj *o;

	o = nftnl_obj_alloc();
	if (!o)
		return MNL_CB_OK;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0 && c->n < c->max &&
	    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER &&
	    streq_ptr(nftnl_obj_get_str(o, NFTNL_OBJ_TABLE), c->table)) {
		struct nft_counter *k = &c->ret[c->n++];

		strscpy(k->name, nftnl_obj_get_str(o, NFTNL_OBJ_NAME) ?: "", sizeof(k->name));
		k->packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
		k->bytes = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
	}
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

int nft_counters_get(struct nft *n, uint16_t family, const char *table, struct nft_counter *ret,
		     unsigned int max)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct counters_ctx c = { .table = table, .ret = ret, .max = max };
	struct nftnl_obj *o;
	struct nlmsghdr *nlh;
	int r;

	o = nftnl_obj_alloc();
	if (!o)
		return -ENOMEM;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, family, NLM_F_DUMP, ++n->seq);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	r = dump(n, nlh, obj_cb, &c);
	return r < 0 ? r : (int)c.n;
}

static int setelems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = data;

	return nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int nft_set_elems_get(struct nft *n, uint16_t family, const char *table, const char *set,
		      struct nftnl_set *keys, struct nftnl_set **ret)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *q = keys, *s;
	struct nlmsghdr *nlh;
	int r;

	s = nftnl_set_alloc();
	if (!s)
		return -ENOMEM;
	if (!q)
		q = s; /* an empty query: the whole set */
	nftnl_set_set_str(q, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(q, NFTNL_SET_NAME, set);
	nftnl_set_set_u32(q, NFTNL_SET_FAMILY, family);
	/* A dump for every element; a get (one reply, then the ack) for given ones. */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, family, keys ? NLM_F_ACK : NLM_F_DUMP,
				    ++n->seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, q);
	r = dump(n, nlh, setelems_cb, s);
	if (r < 0) {
		nftnl_set_free(s);
		return r;
	}
	*ret = s;
	return 0;
}
