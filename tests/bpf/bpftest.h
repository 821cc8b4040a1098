/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the BPF tests of the counting programs share (test-tc-counters.c, test-tc-platform.c):
 * crafted Ethernet frames, a program run on one, a per-CPU counter summed, and the start (root
 * and the number of CPUs, or a skip).
 */
#ifndef TP_TESTS_BPFTEST_H
#define TP_TESTS_BPFTEST_H

#include <stdint.h>

#include "tc_counters.h"

struct bpf_program;

struct pkt {
	uint8_t data[2048];
	uint32_t len;
};

/* An Ethernet header (02:00:00:00:00:02 to 02:00:00:00:00:01) of proto; p->len 14. */
void bpftest_eth(struct pkt *p, uint16_t proto);
/* A TCP (ACK, no options) or UDP header and payload zero bytes at l4 (payload <= 1900); the
 * length of both. */
uint32_t bpftest_l4(uint8_t *l4, int proto, uint16_t sport, uint16_t dport, uint32_t payload);
/* A whole IPv4 frame of proto from src:sport to dst:dport with payload bytes. */
void bpftest_v4(struct pkt *p, int proto, const char *src, const char *dst, uint16_t sport,
		uint16_t dport, uint32_t payload);
/* The same in IPv6. */
void bpftest_v6(struct pkt *p, int proto, const char *src, const char *dst, uint16_t sport,
		uint16_t dport, uint32_t payload);
/* An ARP request frame. */
void bpftest_arp(struct pkt *p);
/* Run prog once on p with that skb mark and gso_segs; its return value. */
int bpftest_run(struct bpf_program *prog, const struct pkt *p, uint32_t mark, uint32_t gso_segs);
/* The entry key of the per-CPU map fd, summed over ncpus CPUs. */
struct tc_count bpftest_sum(int fd, uint32_t key, unsigned int ncpus);
/* 0 with the number of CPUs, or 77 (a skip, printed) when not root or the CPUs are unknown. */
int bpftest_start(unsigned int *ret_ncpus);

#endif
