// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF tests of ebpf/tc_platform.bpf.c, the platform ENI's programs, on crafted Ethernet frames
 * (bpf_prog_test_run_opts): every packet counted once in the platform ENI's own slot; a marked
 * packet of a slot with a live task (slotowner) counted for that task too (platcnt, under its
 * slot and under the platform ENI's); replies attributed by what egress learned, only while the
 * slot has the same task; marks of slots with no task, of the platform's own slot, or not ours,
 * the platform's own. Needs root (CAP_BPF and CAP_NET_ADMIN); exits 77 (skipped) without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include "tc_counters.h"
#include "tc_platform.skel.h"
#include "bpftest.h"
#include "util.h"

#define PSLOT	 9 /* the platform ENI's own */
#define PCOOKIE	 0x9a7f0001u
#define TASK_A	 3
#define TASK_B	 4
#define NOTASK	 5
#define PLAT_IP4 "198.18.1.50"
#define PEER_IP4 "198.18.0.1"
#define PLAT_IP6 "fd00:198:18::50"
#define PEER_IP6 "fd00:198:18::1"

static struct tc_platform *skel;
static unsigned int ncpus;

/* --- running and reading ------------------------------------------------------------------ */

static void egress(const struct pkt *p, uint32_t mark)
{
	assert_int_equal(bpftest_run(skel->progs.tc_platform_egress, p, mark, 0), TC_ACT_UNSPEC);
}

static void ingress(const struct pkt *p)
{
	assert_int_equal(bpftest_run(skel->progs.tc_platform_ingress, p, 0, 0), TC_ACT_UNSPEC);
}

static uint64_t sum_bytes(int fd, uint32_t key, uint64_t *ret_packets)
{
	struct tc_count c = bpftest_sum(fd, key, ncpus);

	if (ret_packets)
		*ret_packets = c.packets;
	return c.bytes;
}

/* What every slot of interest counted, in both maps: to see what a packet changed. */
#define NSLOTS 10
struct all {
	uint64_t own[NSLOTS][TC_FLOW_COUNT][TC_DIR_COUNT];  /* counters */
	uint64_t plat[NSLOTS][TC_FLOW_COUNT][TC_DIR_COUNT]; /* platcnt */
	uint64_t packets;				    /* of the platform's own slot, all */
};

static void snap(struct all *a)
{
	a->packets = 0;
	for (unsigned int s = 0; s < NSLOTS; s++)
		for (unsigned int f = 0; f < TC_FLOW_COUNT; f++)
			for (unsigned int d = 0; d < TC_DIR_COUNT; d++) {
				uint64_t n = 0;

				a->own[s][f][d] = sum_bytes(bpf_map__fd(skel->maps.counters),
							    TC_COUNTER_INDEX(s, f, d), &n);
				a->plat[s][f][d] = sum_bytes(bpf_map__fd(skel->maps.platcnt),
							     TC_COUNTER_INDEX(s, f, d), NULL);
				if (s == PSLOT)
					a->packets += n;
			}
}

/*
 * Exactly one packet of len bytes, counted in the platform's own slot for flow in dir, and, if
 * owner is a slot, in platcnt for owner and for the platform ENI: nothing else changed.
 */
static void assert_counted(const struct all *b, unsigned int flow, unsigned int dir,
			   unsigned int owner, uint32_t len)
{
	struct all a;

	snap(&a);
	assert_int_equal(a.packets - b->packets, 1);
	for (unsigned int s = 0; s < NSLOTS; s++)
		for (unsigned int f = 0; f < TC_FLOW_COUNT; f++)
			for (unsigned int d = 0; d < TC_DIR_COUNT; d++) {
				bool here = f == flow && d == dir;
				uint64_t own = a.own[s][f][d] - b->own[s][f][d];
				uint64_t plat = a.plat[s][f][d] - b->plat[s][f][d];

				if (own != (here && s == PSLOT ? len : 0) ||
				    plat != (here && owner < TC_SLOTS && (s == owner || s == PSLOT)
						     ? len
						     : 0))
					print_message(
						"# slot %u flow %u dir %u: own +%llu, platcnt +%llu\n",
						s, f, d, (unsigned long long)own,
						(unsigned long long)plat);
				assert_int_equal(own, here && s == PSLOT ? len : 0);
				assert_int_equal(plat, here && owner < TC_SLOTS &&
								       (s == owner || s == PSLOT)
							       ? len
							       : 0);
			}
}

#define EXPECT_EGRESS(pkt, mark, flow, owner)                                                      \
	do {                                                                                       \
		struct all _b;                                                                     \
		snap(&_b);                                                                         \
		egress(pkt, mark);                                                                 \
		assert_counted(&_b, flow, TC_DIR_TX, owner, (pkt)->len);                           \
	} while (0)

#define EXPECT_INGRESS(pkt, flow, owner)                                                           \
	do {                                                                                       \
		struct all _b;                                                                     \
		snap(&_b);                                                                         \
		ingress(pkt);                                                                      \
		assert_counted(&_b, flow, TC_DIR_RX, owner, (pkt)->len);                           \
	} while (0)

static void set_owner(unsigned int slot, uint32_t cookie)
{
	assert_int_equal(
		bpf_map_update_elem(bpf_map__fd(skel->maps.slotowner), &slot, &cookie, BPF_ANY), 0);
}

/* --- tests -------------------------------------------------------------------------------- */

static int setup(void **state)
{
	set_owner(TASK_A, 0xa);
	set_owner(TASK_B, 0xb);
	set_owner(NOTASK, 0);
	return 0;
}

static void test_unmarked_is_the_platforms(void **state)
{
	struct pkt p;

	bpftest_v4(&p, IPPROTO_TCP, PLAT_IP4, PEER_IP4, 41000, 443, 300);
	EXPECT_EGRESS(&p, 0, TC_FLOW_APP, TC_NO_OWNER);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, PLAT_IP4, 443, 41000, 1200);
	EXPECT_INGRESS(&p, TC_FLOW_APP, TC_NO_OWNER);
	bpftest_v4(&p, IPPROTO_UDP, PLAT_IP4, PEER_IP4, 41001, 2049, 100);
	EXPECT_EGRESS(&p, 0, TC_FLOW_EFS, TC_NO_OWNER);
	bpftest_arp(&p);
	EXPECT_EGRESS(&p, 0, TC_FLOW_APP, TC_NO_OWNER);
	EXPECT_INGRESS(&p, TC_FLOW_APP, TC_NO_OWNER);
}

static void test_marked_is_the_tasks_both_ways(void **state)
{
	static const unsigned int flows[] = { TC_FLOW_PULL, TC_FLOW_AUTH, TC_FLOW_SECRETS,
					      TC_FLOW_LOGS };
	struct pkt p;

	for (size_t i = 0; i < ARRAY_SIZE(flows); i++) {
		uint16_t port = (uint16_t)(42000 + i);

		bpftest_v4(&p, IPPROTO_TCP, PLAT_IP4, PEER_IP4, port, 443, 100 + (uint32_t)i);
		EXPECT_EGRESS(&p, TC_MARK(TASK_A, flows[i]), flows[i], TASK_A);
		bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, PLAT_IP4, 443, port, 1400);
		EXPECT_INGRESS(&p, flows[i], TASK_A);
	}
	/* Another task's connection: its own. */
	bpftest_v4(&p, IPPROTO_UDP, PLAT_IP4, PEER_IP4, 42100, 53, 60);
	EXPECT_EGRESS(&p, TC_MARK(TASK_B, TC_FLOW_PULL), TC_FLOW_PULL, TASK_B);
	bpftest_v4(&p, IPPROTO_UDP, PEER_IP4, PLAT_IP4, 53, 42100, 200);
	EXPECT_INGRESS(&p, TC_FLOW_PULL, TASK_B);
	/* A packet of no learned connection: the platform's. */
	bpftest_v4(&p, IPPROTO_UDP, PEER_IP4, PLAT_IP4, 53, 42101, 200);
	EXPECT_INGRESS(&p, TC_FLOW_APP, TC_NO_OWNER);
}

static void test_ipv6_marked_and_reply(void **state)
{
	struct pkt p;

	bpftest_v6(&p, IPPROTO_TCP, PLAT_IP6, PEER_IP6, 43000, 443, 500);
	EXPECT_EGRESS(&p, TC_MARK(TASK_B, TC_FLOW_LOGS), TC_FLOW_LOGS, TASK_B);
	bpftest_v6(&p, IPPROTO_TCP, PEER_IP6, PLAT_IP6, 443, 43000, 40);
	EXPECT_INGRESS(&p, TC_FLOW_LOGS, TASK_B);
}

static void test_marks_of_no_task_are_the_platforms(void **state)
{
	struct pkt p;

	/* A slot with no live task: the flow is kept, the bytes are the platform's own. */
	bpftest_v4(&p, IPPROTO_TCP, PLAT_IP4, PEER_IP4, 44000, 443, 100);
	EXPECT_EGRESS(&p, TC_MARK(NOTASK, TC_FLOW_PULL), TC_FLOW_PULL, TC_NO_OWNER);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, PLAT_IP4, 443, 44000, 900);
	EXPECT_INGRESS(&p, TC_FLOW_PULL, TC_NO_OWNER);
	/* The platform ENI's own slot. */
	bpftest_v4(&p, IPPROTO_TCP, PLAT_IP4, PEER_IP4, 44001, 443, 100);
	EXPECT_EGRESS(&p, TC_MARK(PSLOT, TC_FLOW_LOGS), TC_FLOW_LOGS, TC_NO_OWNER);
	/* Not ours (another magic), an unknown flow. */
	bpftest_v4(&p, IPPROTO_TCP, PLAT_IP4, PEER_IP4, 44002, 443, 100);
	EXPECT_EGRESS(&p, 0x55000301, TC_FLOW_APP, TC_NO_OWNER);
	EXPECT_EGRESS(&p, TC_MARK(TASK_A, TC_FLOW_COUNT), TC_FLOW_APP, TC_NO_OWNER);
	/* A slot out of range. */
	EXPECT_EGRESS(&p, TC_MARK(TC_SLOTS, TC_FLOW_PULL), TC_FLOW_PULL, TC_NO_OWNER);
}

static void test_slot_reused_by_another_task(void **state)
{
	struct pkt p;

	set_owner(TASK_A, 0xa);
	bpftest_v4(&p, IPPROTO_TCP, PLAT_IP4, PEER_IP4, 45000, 443, 100);
	EXPECT_EGRESS(&p, TC_MARK(TASK_A, TC_FLOW_PULL), TC_FLOW_PULL, TASK_A);
	/* Task A is gone: its slot has no task. */
	set_owner(TASK_A, 0);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, PLAT_IP4, 443, 45000, 700);
	EXPECT_INGRESS(&p, TC_FLOW_PULL, TC_NO_OWNER);
	/* The next task of the slot: the replies of A's connection are still not its own... */
	set_owner(TASK_A, 0xa2);
	EXPECT_INGRESS(&p, TC_FLOW_PULL, TC_NO_OWNER);
	/* ...its own marks are, and their replies. */
	bpftest_v4(&p, IPPROTO_TCP, PLAT_IP4, PEER_IP4, 45000, 443, 100);
	EXPECT_EGRESS(&p, TC_MARK(TASK_A, TC_FLOW_PULL), TC_FLOW_PULL, TASK_A);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, PLAT_IP4, 443, 45000, 700);
	EXPECT_INGRESS(&p, TC_FLOW_PULL, TASK_A);
	set_owner(TASK_A, 0xa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_unmarked_is_the_platforms, setup),
		cmocka_unit_test_setup(test_marked_is_the_tasks_both_ways, setup),
		cmocka_unit_test_setup(test_ipv6_marked_and_reply, setup),
		cmocka_unit_test_setup(test_marks_of_no_task_are_the_platforms, setup),
		cmocka_unit_test_setup(test_slot_reused_by_another_task, setup),
	};
	int r;

	r = bpftest_start(&ncpus);
	if (r)
		return r;
	skel = tc_platform__open();
	if (!skel) {
		printf("Bail out! Failed to open the platform programs\n");
		return 1;
	}
	skel->rodata->slot = PSLOT;
	skel->rodata->cookie = PCOOKIE;
	r = tc_platform__load(skel);
	if (r == -EPERM || r == -EACCES) {
		printf("1..0 # SKIP cannot load BPF programs: %s\n", strerror(-r));
		tc_platform__destroy(skel);
		return 77;
	}
	if (r < 0) {
		printf("Bail out! Failed to load the platform programs: %s\n", strerror(-r));
		tc_platform__destroy(skel);
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	tc_platform__destroy(skel);
	return r;
}
