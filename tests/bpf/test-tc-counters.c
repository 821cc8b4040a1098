// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF tests of ebpf/tc_counters.bpf.c: the programs run with bpf_prog_test_run_opts on crafted
 * Ethernet frames (IPv4 and IPv6, TCP and UDP, with and without socket marks, ARP, fragments,
 * GSO) and the maps are read back: classification, byte and packet counts, the flow learned from
 * marked egress for ingress, anti-spoofing drops, fixed-flow programs. Needs root (CAP_BPF and
 * CAP_NET_ADMIN); exits 77 (skipped) without.
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
#include "tc_counters.skel.h"
#include "bpftest.h"
#include "util.h"

#define SLOT	   3
#define COOKIE	   0x0c00c1e5u
#define TASK_IP4   "198.18.1.1"
#define TASK_IP4B  "198.18.1.2"
#define PEER_IP4   "198.18.0.1"
#define TASK_IP6   "fd00:198:18::10"
#define PEER_IP6   "fd00:198:18::1"
#define ACT_PASS   TC_ACT_UNSPEC
#define MARK(flow) TC_MARK(SLOT, flow)

struct fixture {
	struct tc_counters *skel; /* classifying, slot SLOT, checking sources */
	unsigned int ncpus;
};

static struct fixture fx;

/* --- running and reading ----------------------------------------------------------------- */

static int egress(const struct pkt *p, uint32_t mark)
{
	return bpftest_run(fx.skel->progs.tc_egress, p, mark, 0);
}

static int ingress(const struct pkt *p)
{
	return bpftest_run(fx.skel->progs.tc_ingress, p, 0, 0);
}

static struct tc_count flow_count(unsigned int slot, unsigned int flow, unsigned int dir)
{
	return bpftest_sum(bpf_map__fd(fx.skel->maps.counters), TC_COUNTER_INDEX(slot, flow, dir),
			   fx.ncpus);
}

static struct tc_count drop_count(unsigned int slot, unsigned int reason, unsigned int dir)
{
	return bpftest_sum(bpf_map__fd(fx.skel->maps.drops), TC_DROP_INDEX(slot, reason, dir),
			   fx.ncpus);
}

static struct tc_count aux_count(unsigned int slot, unsigned int dir)
{
	return bpftest_sum(bpf_map__fd(fx.skel->maps.auxcnt), TC_AUX_INDEX(slot, dir), fx.ncpus);
}

/* Every counter of every slot, to see what one packet changed. */
struct all {
	struct tc_count flows[TC_FLOW_COUNT][TC_DIR_COUNT];
	struct tc_count drops[TC_DROP_COUNT][TC_DIR_COUNT];
};

static void snap(unsigned int slot, struct all *a)
{
	for (unsigned int f = 0; f < TC_FLOW_COUNT; f++)
		for (unsigned int d = 0; d < TC_DIR_COUNT; d++)
			a->flows[f][d] = flow_count(slot, f, d);
	for (unsigned int r = 0; r < TC_DROP_COUNT; r++)
		for (unsigned int d = 0; d < TC_DIR_COUNT; d++)
			a->drops[r][d] = drop_count(slot, r, d);
}

/*
 * Assert that between before and now exactly one counter of slot SLOT changed: flow (or drop
 * reason when drop is true) in dir, by one packet of len bytes and segs segments.
 */
static void assert_only(const struct all *before, bool drop, unsigned int which, unsigned int dir,
			uint32_t len, uint32_t segs)
{
	struct all now;

	snap(SLOT, &now);
	for (unsigned int f = 0; f < TC_FLOW_COUNT; f++)
		for (unsigned int d = 0; d < TC_DIR_COUNT; d++) {
			bool hit = !drop && f == which && d == dir;
			uint64_t db = now.flows[f][d].bytes - before->flows[f][d].bytes;
			uint64_t dp = now.flows[f][d].packets - before->flows[f][d].packets;
			uint64_t ds = now.flows[f][d].segs - before->flows[f][d].segs;

			if (db != (hit ? len : 0) || dp != (hit ? 1u : 0u))
				print_message(
					"# flow %u dir %u: +%llu bytes +%llu packets, want flow %u dir %u +%u bytes\n",
					f, d, (unsigned long long)db, (unsigned long long)dp, which,
					dir, len);
			assert_int_equal(db, hit ? len : 0);
			assert_int_equal(dp, hit ? 1 : 0);
			assert_int_equal(ds, hit ? segs : 0);
		}
	for (unsigned int r = 0; r < TC_DROP_COUNT; r++)
		for (unsigned int d = 0; d < TC_DIR_COUNT; d++) {
			bool hit = drop && r == which && d == dir;

			assert_int_equal(now.drops[r][d].bytes - before->drops[r][d].bytes,
					 hit ? len : 0);
			assert_int_equal(now.drops[r][d].packets - before->drops[r][d].packets,
					 hit ? 1 : 0);
		}
}

/* Run one packet through a program and assert where it was counted. */
#define EXPECT(prog_call, pkt, want_ret, drop, which, dir)                                         \
	do {                                                                                       \
		struct all _b;                                                                     \
		snap(SLOT, &_b);                                                                   \
		assert_int_equal(prog_call, want_ret);                                             \
		assert_only(&_b, drop, which, dir, (pkt)->len, 1);                                 \
	} while (0)

/* --- tests ------------------------------------------------------------------------------- */

static void test_ipv4_unmarked_is_app(void **state)
{
	struct pkt p;

	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, 40000, 7, 100);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
	assert_int_equal(p.len, 14 + 20 + 8 + 100);
	bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, PEER_IP4, 40000, 443, 1000);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, TASK_IP4, 443, 40000, 1400);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_RX);
	/* the second address of the task is its own too */
	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4B, PEER_IP4, 40000, 53, 30);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
}

static void test_ipv4_marked_flow_and_reply(void **state)
{
	struct pkt p;

	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, 41000, 514, 200);
	EXPECT(egress(&p, MARK(TC_FLOW_LOGS)), &p, ACT_PASS, false, TC_FLOW_LOGS, TC_DIR_TX);
	assert_int_equal(fx.skel->bss->learned, 1);
	/* the reply: same connection, reversed */
	bpftest_v4(&p, IPPROTO_UDP, PEER_IP4, TASK_IP4, 514, 41000, 64);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_LOGS, TC_DIR_RX);
	/* another port of the same peer is not that connection */
	bpftest_v4(&p, IPPROTO_UDP, PEER_IP4, TASK_IP4, 514, 41001, 64);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_RX);
	/* nor the same ports over TCP */
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, TASK_IP4, 514, 41000, 64);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_RX);
	/* unmarked traffic of the same connection afterwards still counts for app on egress */
	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, 41000, 514, 10);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
}

static void test_ipv4_every_flow_by_mark(void **state)
{
	for (unsigned int f = 0; f < TC_FLOW_COUNT; f++) {
		struct pkt p;

		bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, PEER_IP4, (uint16_t)(42000 + f), 443, 50 + f);
		EXPECT(egress(&p, MARK(f)), &p, ACT_PASS, false, f, TC_DIR_TX);
		bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, TASK_IP4, 443, (uint16_t)(42000 + f), 70 + f);
		EXPECT(ingress(&p), &p, ACT_PASS, false, f, TC_DIR_RX);
	}
}

static void test_foreign_marks_are_app(void **state)
{
	struct pkt p;

	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, 43000, 80, 10);
	/* another task's slot */
	EXPECT(egress(&p, TC_MARK(SLOT + 1, TC_FLOW_PULL)), &p, ACT_PASS, false, TC_FLOW_APP,
	       TC_DIR_TX);
	/* an unknown flow */
	EXPECT(egress(&p, TC_MARK(SLOT, TC_FLOW_COUNT)), &p, ACT_PASS, false, TC_FLOW_APP,
	       TC_DIR_TX);
	/* not our magic */
	EXPECT(egress(&p, (0x55u << 24) | (SLOT << 8) | TC_FLOW_PULL), &p, ACT_PASS, false,
	       TC_FLOW_APP, TC_DIR_TX);
	/* nothing was learned from those */
	bpftest_v4(&p, IPPROTO_UDP, PEER_IP4, TASK_IP4, 80, 43000, 10);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_RX);
}

static void test_efs_by_port(void **state)
{
	struct pkt p;

	bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, PEER_IP4, 900, TC_EFS_PORT, 300);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_EFS, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, TASK_IP4, TC_EFS_PORT, 900, 1400);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_EFS, TC_DIR_RX);
	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, TC_EFS_PORT, 5555, 20);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_EFS, TC_DIR_TX);
	bpftest_v6(&p, IPPROTO_TCP, TASK_IP6, PEER_IP6, 901, TC_EFS_PORT, 20);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_EFS, TC_DIR_TX);
	/* a mark wins over the port */
	bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, PEER_IP4, 902, TC_EFS_PORT, 30);
	EXPECT(egress(&p, MARK(TC_FLOW_SECRETS)), &p, ACT_PASS, false, TC_FLOW_SECRETS, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, TASK_IP4, TC_EFS_PORT, 902, 30);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_SECRETS, TC_DIR_RX);
}

static void test_ipv6_marked_flow_and_reply(void **state)
{
	struct pkt p;

	bpftest_v6(&p, IPPROTO_TCP, TASK_IP6, PEER_IP6, 44000, 5000, 500);
	EXPECT(egress(&p, MARK(TC_FLOW_PULL)), &p, ACT_PASS, false, TC_FLOW_PULL, TC_DIR_TX);
	bpftest_v6(&p, IPPROTO_TCP, PEER_IP6, TASK_IP6, 5000, 44000, 1200);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_PULL, TC_DIR_RX);
	bpftest_v6(&p, IPPROTO_UDP, PEER_IP6, TASK_IP6, 5000, 44000, 100);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_RX);
	bpftest_v6(&p, IPPROTO_UDP, TASK_IP6, PEER_IP6, 44001, 53, 40);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
	assert_int_equal(p.len, 14 + 40 + 8 + 40);
}

static void test_ipv4_spoof_dropped(void **state)
{
	struct pkt p;

	bpftest_v4(&p, IPPROTO_UDP, "198.18.9.9", PEER_IP4, 40000, 7, 100);
	EXPECT(egress(&p, 0), &p, TC_ACT_SHOT, true, TC_DROP_SPOOF, TC_DIR_TX);
	/* a mark does not excuse it */
	EXPECT(egress(&p, MARK(TC_FLOW_PULL)), &p, TC_ACT_SHOT, true, TC_DROP_SPOOF, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_TCP, "0.0.0.0", PEER_IP4, 40000, 7, 0);
	EXPECT(egress(&p, 0), &p, TC_ACT_SHOT, true, TC_DROP_SPOOF, TC_DIR_TX);
	/* ingress has no source check: the task may be sent anything */
	bpftest_v4(&p, IPPROTO_UDP, "198.18.9.9", "198.18.9.8", 7, 40000, 100);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_RX);
}

static void test_ipv6_spoof_and_link_local(void **state)
{
	struct pkt p;

	bpftest_v6(&p, IPPROTO_UDP, "fd00:198:18::11", PEER_IP6, 40000, 7, 10);
	EXPECT(egress(&p, 0), &p, TC_ACT_SHOT, true, TC_DROP_SPOOF, TC_DIR_TX);
	bpftest_v6(&p, IPPROTO_UDP, "2001:db8::10", PEER_IP6, 40000, 7, 10);
	EXPECT(egress(&p, 0), &p, TC_ACT_SHOT, true, TC_DROP_SPOOF, TC_DIR_TX);
	/* link-local (ND, MLD) and the unspecified address (DAD) pass */
	bpftest_v6(&p, IPPROTO_UDP, "fe80::2", "ff02::1", 546, 547, 10);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
	bpftest_v6(&p, 58 /* ICMPv6 */, "::", "ff02::1:ff00:10", 0, 0, 20);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
	/* fe80::/10 ends at febf:: */
	bpftest_v6(&p, IPPROTO_UDP, "fec0::1", PEER_IP6, 40000, 7, 10);
	EXPECT(egress(&p, 0), &p, TC_ACT_SHOT, true, TC_DROP_SPOOF, TC_DIR_TX);
}

static void test_non_ip_and_odd_frames_are_app(void **state)
{
	struct pkt p;

	bpftest_arp(&p);
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_RX);
	/* a non-first IPv4 fragment has no ports: app even if its bytes look like port 2049 */
	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, TC_EFS_PORT, TC_EFS_PORT, 64);
	p.data[14 + 6] = 0x00;
	p.data[14 + 7] = 0x10; /* fragment offset 16 * 8 */
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_APP, TC_DIR_TX);
	/* the first fragment has them */
	p.data[14 + 6] = 0x20; /* MF */
	p.data[14 + 7] = 0x00;
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_EFS, TC_DIR_TX);
	/* an IPv4 header with options: ports are after them */
	bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, PEER_IP4, 1234, 80, 0);
	memmove(p.data + 14 + 24, p.data + 14 + 20, p.len - 34);
	memset(p.data + 14 + 20, 1, 4); /* NOPs */
	p.data[14] = 0x46;
	p.data[14 + 20 + 4 + 2] = TC_EFS_PORT >> 8;
	p.data[14 + 20 + 4 + 3] = TC_EFS_PORT & 0xff;
	p.len += 4;
	EXPECT(egress(&p, 0), &p, ACT_PASS, false, TC_FLOW_EFS, TC_DIR_TX);
}

static void test_gso_segments(void **state)
{
	struct tc_count before, after;
	struct pkt p;

	bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, PEER_IP4, 45000, 443, 1500);
	before = flow_count(SLOT, TC_FLOW_APP, TC_DIR_TX);
	assert_int_equal(bpftest_run(fx.skel->progs.tc_egress, &p, 0, 5), ACT_PASS);
	after = flow_count(SLOT, TC_FLOW_APP, TC_DIR_TX);
	assert_int_equal(after.packets - before.packets, 1);
	assert_int_equal(after.segs - before.segs, 5);
	assert_int_equal(after.bytes - before.bytes, p.len);
}

static int load(unsigned int slot, uint32_t cookie, unsigned int fixed_flow, bool reuse,
		struct tc_counters **ret)
{
	struct tc_counters *skel = tc_counters__open();
	struct in_addr a;
	int r;

	if (!skel)
		return -errno;
	skel->rodata->slot = slot;
	skel->rodata->cookie = cookie;
	skel->rodata->fixed_flow = fixed_flow;
	skel->rodata->check_source = 1;
	inet_pton(AF_INET, TASK_IP4, &a);
	skel->rodata->addr4[0] = a.s_addr;
	inet_pton(AF_INET, TASK_IP4B, &a);
	skel->rodata->addr4[1] = a.s_addr;
	skel->rodata->n_addr4 = 2;
	inet_pton(AF_INET6, TASK_IP6, (void *)skel->rodata->addr6[0]);
	skel->rodata->n_addr6 = 1;
	if (reuse) {
		bpf_map__reuse_fd(skel->maps.counters, bpf_map__fd(fx.skel->maps.counters));
		bpf_map__reuse_fd(skel->maps.drops, bpf_map__fd(fx.skel->maps.drops));
		bpf_map__reuse_fd(skel->maps.auxcnt, bpf_map__fd(fx.skel->maps.auxcnt));
		bpf_map__reuse_fd(skel->maps.flowtab, bpf_map__fd(fx.skel->maps.flowtab));
	}
	r = tc_counters__load(skel);
	if (r < 0) {
		tc_counters__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

static void test_learned_flows_are_per_attach(void **state)
{
	struct tc_counters *other = NULL;
	struct pkt p;

	/* Same slot, another cookie (the next task of that slot): nothing learned by this one
	 * counts there, and its own learning starts from nothing. */
	assert_int_equal(load(SLOT, COOKIE + 1, TC_FLOW_COUNT, true, &other), 0);
	assert_int_equal(other->bss->learned, 0);
	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, 46000, 514, 20);
	EXPECT(egress(&p, MARK(TC_FLOW_LOGS)), &p, ACT_PASS, false, TC_FLOW_LOGS, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_UDP, PEER_IP4, TASK_IP4, 514, 46000, 20);
	EXPECT(bpftest_run(other->progs.tc_ingress, &p, 0, 0), &p, ACT_PASS, false, TC_FLOW_APP,
	       TC_DIR_RX);
	EXPECT(ingress(&p), &p, ACT_PASS, false, TC_FLOW_LOGS, TC_DIR_RX);
	tc_counters__destroy(other);
}

static void test_fixed_flow_program(void **state)
{
	struct tc_counters *md = NULL;
	struct tc_count a0, a1;
	struct pkt p;

	/* A task's metadata link: every packet is metadata, and also counted in auxcnt. */
	assert_int_equal(load(SLOT, COOKIE, TC_FLOW_METADATA, true, &md), 0);
	a0 = aux_count(SLOT, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, "169.254.170.2", 47000, 80, 120);
	EXPECT(bpftest_run(md->progs.tc_egress, &p, MARK(TC_FLOW_PULL), 0), &p, ACT_PASS, false,
	       TC_FLOW_METADATA, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_TCP, TASK_IP4, "169.254.170.2", 47000, TC_EFS_PORT, 1);
	EXPECT(bpftest_run(md->progs.tc_egress, &p, 0, 0), &p, ACT_PASS, false, TC_FLOW_METADATA,
	       TC_DIR_TX);
	a1 = aux_count(SLOT, TC_DIR_TX);
	assert_int_equal(a1.packets - a0.packets, 2);
	bpftest_v4(&p, IPPROTO_TCP, "169.254.170.2", TASK_IP4, 80, 47000, 300);
	EXPECT(bpftest_run(md->progs.tc_ingress, &p, 0, 0), &p, ACT_PASS, false, TC_FLOW_METADATA,
	       TC_DIR_RX);
	bpftest_arp(&p);
	EXPECT(bpftest_run(md->progs.tc_ingress, &p, 0, 0), &p, ACT_PASS, false, TC_FLOW_METADATA,
	       TC_DIR_RX);
	/* its anti-spoofing still holds */
	bpftest_v4(&p, IPPROTO_TCP, "169.254.172.9", "169.254.170.2", 47000, 80, 1);
	EXPECT(bpftest_run(md->progs.tc_egress, &p, 0, 0), &p, TC_ACT_SHOT, true, TC_DROP_SPOOF,
	       TC_DIR_TX);
	/* the ENI's own programs never touch auxcnt */
	a0 = aux_count(SLOT, TC_DIR_RX);
	bpftest_v4(&p, IPPROTO_TCP, PEER_IP4, TASK_IP4, 443, 47001, 10);
	assert_int_equal(ingress(&p), ACT_PASS);
	a1 = aux_count(SLOT, TC_DIR_RX);
	assert_int_equal(a1.packets, a0.packets);
	tc_counters__destroy(md);
}

static void test_slots_are_separate(void **state)
{
	struct tc_counters *seven = NULL;
	struct tc_count s3, s7;
	struct pkt p;

	assert_int_equal(load(7, 77, TC_FLOW_COUNT, true, &seven), 0);
	s3 = flow_count(SLOT, TC_FLOW_APP, TC_DIR_TX);
	s7 = flow_count(7, TC_FLOW_APP, TC_DIR_TX);
	bpftest_v4(&p, IPPROTO_UDP, TASK_IP4, PEER_IP4, 48000, 7, 33);
	assert_int_equal(bpftest_run(seven->progs.tc_egress, &p, 0, 0), ACT_PASS);
	assert_int_equal(flow_count(SLOT, TC_FLOW_APP, TC_DIR_TX).packets, s3.packets);
	assert_int_equal(flow_count(7, TC_FLOW_APP, TC_DIR_TX).packets, s7.packets + 1);
	assert_int_equal(flow_count(7, TC_FLOW_APP, TC_DIR_TX).bytes, s7.bytes + p.len);
	/* the last slot works too */
	tc_counters__destroy(seven);
	assert_int_equal(load(TC_SLOTS - 1, 1, TC_FLOW_COUNT, true, &seven), 0);
	assert_int_equal(bpftest_run(seven->progs.tc_ingress, &p, 0, 0), ACT_PASS);
	assert_int_equal(flow_count(TC_SLOTS - 1, TC_FLOW_APP, TC_DIR_RX).bytes, p.len);
	tc_counters__destroy(seven);
}

static void test_mark_encoding(void **state)
{
	assert_int_equal(TC_MARK(3, TC_FLOW_LOGS), 0x54000304);
	assert_int_equal(TC_MARK(4095, TC_FLOW_METADATA), 0x540fff06);
	assert_true(TC_MARK_IS_OURS(0x54000304));
	assert_int_equal(TC_MARK_SLOT(0x540fff06), 4095);
	assert_int_equal(TC_MARK_FLOW(0x540fff06), TC_FLOW_METADATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_encoding),
		cmocka_unit_test(test_ipv4_unmarked_is_app),
		cmocka_unit_test(test_ipv4_marked_flow_and_reply),
		cmocka_unit_test(test_ipv4_every_flow_by_mark),
		cmocka_unit_test(test_foreign_marks_are_app),
		cmocka_unit_test(test_efs_by_port),
		cmocka_unit_test(test_ipv6_marked_flow_and_reply),
		cmocka_unit_test(test_ipv4_spoof_dropped),
		cmocka_unit_test(test_ipv6_spoof_and_link_local),
		cmocka_unit_test(test_non_ip_and_odd_frames_are_app),
		cmocka_unit_test(test_gso_segments),
		cmocka_unit_test(test_learned_flows_are_per_attach),
		cmocka_unit_test(test_fixed_flow_program),
		cmocka_unit_test(test_slots_are_separate),
	};
	int r;

	r = bpftest_start(&fx.ncpus);
	if (r)
		return r;
	r = load(SLOT, COOKIE, TC_FLOW_COUNT, false, &fx.skel);
	if (r == -EPERM || r == -EACCES) {
		printf("1..0 # SKIP cannot load BPF programs: %s\n", strerror(-r));
		return 77;
	}
	if (r < 0) {
		printf("Bail out! Failed to load the counter programs: %s\n", strerror(-r));
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	tc_counters__destroy(fx.skel);
	return r;
}
