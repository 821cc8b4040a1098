// SPDX-License-Identifier: GPL-2.0-only
/* What the BPF tests of the counting programs share (bpftest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "bpftest.h"
#include "util.h"

void bpftest_eth(struct pkt *p, uint16_t proto)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 1 }, src[6] = { 0x02, 0, 0, 0, 0, 2 };

	memcpy(p->data, dst, 6);
	memcpy(p->data + 6, src, 6);
	p->data[12] = (uint8_t)(proto >> 8);
	p->data[13] = (uint8_t)proto;
	p->len = 14;
}

uint32_t bpftest_l4(uint8_t *l4, int proto, uint16_t sport, uint16_t dport, uint32_t payload)
{
	uint32_t hl = proto == IPPROTO_TCP ? 20 : 8;

	assert_true(payload <= 1900);
	memset(l4, 0, hl + payload);
	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	if (proto == IPPROTO_TCP) {
		l4[12] = 5 << 4; /* data offset */
		l4[13] = 0x10;	 /* ACK */
	} else {
		l4[4] = (uint8_t)((hl + payload) >> 8);
		l4[5] = (uint8_t)(hl + payload);
	}
	return hl + payload;
}

void bpftest_v4(struct pkt *p, int proto, const char *src, const char *dst, uint16_t sport,
		uint16_t dport, uint32_t payload)
{
	uint8_t *ip = p->data + 14;
	uint32_t l4len, tot;
	struct in_addr a;

	bpftest_eth(p, ETH_P_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	assert_int_equal(inet_pton(AF_INET, src, &a), 1);
	memcpy(ip + 12, &a, 4);
	assert_int_equal(inet_pton(AF_INET, dst, &a), 1);
	memcpy(ip + 16, &a, 4);
	l4len = bpftest_l4(ip + 20, proto, sport, dport, payload);
	tot = 20 + l4len;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	p->len = 14 + tot;
}

void bpftest_v6(struct pkt *p, int proto, const char *src, const char *dst, uint16_t sport,
		uint16_t dport, uint32_t payload)
{
	uint8_t *ip = p->data + 14;
	uint32_t l4len;

	bpftest_eth(p, ETH_P_IPV6);
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[6] = (uint8_t)proto;
	ip[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
	l4len = bpftest_l4(ip + 40, proto, sport, dport, payload);
	ip[4] = (uint8_t)(l4len >> 8);
	ip[5] = (uint8_t)l4len;
	p->len = 14 + 40 + l4len;
}

void bpftest_arp(struct pkt *p)
{
	bpftest_eth(p, ETH_P_ARP);
	memset(p->data + 14, 0, 28);
	p->data[15] = 1;    /* Ethernet */
	p->data[16] = 0x08; /* IPv4 */
	p->data[18] = 6;
	p->data[19] = 4;
	p->data[21] = 1; /* request */
	p->len = 14 + 28;
}

int bpftest_run(struct bpf_program *prog, const struct pkt *p, uint32_t mark, uint32_t gso_segs)
{
	struct __sk_buff ctx = { .mark = mark, .gso_segs = gso_segs };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &o), 0);
	return (int)o.retval;
}

struct tc_count bpftest_sum(int fd, uint32_t key, unsigned int ncpus)
{
	struct tc_count total = {}, *v = calloc(ncpus, sizeof(*v));

	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(fd, &key, v), 0);
	for (unsigned int i = 0; i < ncpus; i++) {
		total.bytes += v[i].bytes;
		total.packets += v[i].packets;
		total.segs += v[i].segs;
	}
	free(v);
	return total;
}

int bpftest_start(unsigned int *ret_ncpus)
{
	int n;

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (CAP_BPF, CAP_NET_ADMIN)\n");
		return 77;
	}
	n = libbpf_num_possible_cpus();
	if (n <= 0) {
		printf("1..0 # SKIP cannot count the CPUs\n");
		return 77;
	}
	*ret_ncpus = (unsigned int)n;
	return 0;
}
