// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-prog: what the counter programs cost, measured in process.
 *
 *   bench-prog packet [--repeat N] [--rounds R]
 *       ns per packet of each program path (bpf_prog_test_run_opts with repeat, 64-byte TCP
 *       frames) against an empty tc program (r0 = TC_ACT_UNSPEC), rounds interleaved; prints
 *       the median of the rounds and the difference to the empty program.
 *   bench-prog attach IFNAME [--rounds R]
 *       the counters step's parts on IFNAME in the caller's namespace: open, load (verifier),
 *       clsact + two filters, detach; prints the median and the 90th percentile.
 *
 * Needs root. A benchmark, not a test: it prints numbers and passes or fails on nothing but
 * errors.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>

#include "tc_counters.h"
#include "tc_counters.skel.h"
#include "util.h"

#define SLOT 5

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, unsigned int p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[MIN(n - 1, n * p / 100)];
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int load(unsigned int fixed_flow, struct tc_counters *maps_of, struct tc_counters **ret)
{
	struct tc_counters *skel = tc_counters__open();
	struct in_addr a;
	int r;

	if (!skel)
		return -errno;
	skel->rodata->slot = SLOT;
	skel->rodata->cookie = 0x1234;
	skel->rodata->fixed_flow = fixed_flow;
	skel->rodata->check_source = 1;
	inet_pton(AF_INET, "198.18.1.1", &a);
	skel->rodata->addr4[0] = a.s_addr;
	skel->rodata->n_addr4 = 1;
	if (maps_of) {
		bpf_map__reuse_fd(skel->maps.counters, bpf_map__fd(maps_of->maps.counters));
		bpf_map__reuse_fd(skel->maps.drops, bpf_map__fd(maps_of->maps.drops));
		bpf_map__reuse_fd(skel->maps.auxcnt, bpf_map__fd(maps_of->maps.auxcnt));
		bpf_map__reuse_fd(skel->maps.flowtab, bpf_map__fd(maps_of->maps.flowtab));
	}
	r = tc_counters__load(skel);
	if (r < 0) {
		tc_counters__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

/* A 64-byte Ethernet/IPv4/TCP frame, task 198.18.1.1:40000 <-> 198.18.0.1:443. */
static void frame(uint8_t *p, bool egress)
{
	static const uint8_t hdr[] = {
		2,    0,    0,	  0,	0,   1,	 2,    0, 0,  0, 0, 2, 0x08, 0x00, /* Ethernet */
		0x45, 0,    0,	  50,	0,   0,	 0x40, 0, 64, 6, 0, 0,		   /* IPv4 */
		198,  18,   1,	  1,	198, 18, 0,    1,			   /* addresses */
		0x9c, 0x40, 0x01, 0xbb, 0,   0,	 0,    1, 0,  0, 0, 1, 0x50, 0x10,
		0xff, 0xff, 0,	  0,	0,   0,
	};

	memset(p, 0, 64);
	memcpy(p, hdr, sizeof(hdr));
	if (!egress) { /* swap addresses and ports */
		uint8_t t[4];

		memcpy(t, p + 26, 4);
		memcpy(p + 26, p + 30, 4);
		memcpy(p + 30, t, 4);
		memcpy(t, p + 34, 2);
		memcpy(p + 34, p + 36, 2);
		memcpy(p + 36, t, 2);
	}
}

/* The kernel's average ns per run over repeat runs (bpf_test_run times only the runs: time
 * given to other tasks when it yields is not counted, which matters on a shared machine). */
static int run_ns(int prog_fd, const uint8_t *pkt, uint32_t mark, uint32_t repeat, uint64_t *ret_ns)
{
	struct __sk_buff ctx = { .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = 64, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int r;

	r = bpf_prog_test_run_opts(prog_fd, &o);
	if (r < 0)
		return r;
	*ret_ns = o.duration;
	return 0;
}

struct pcase {
	const char *name;
	int fd;
	bool egress;
	uint32_t mark;
	uint64_t *samples;
};

static int cmd_packet(uint32_t repeat, unsigned int rounds)
{
	static const struct bpf_insn empty[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct tc_counters *cls = NULL, *fixed = NULL, *learning = NULL;
	uint8_t eg[64], in[64];
	int efd, cfd = -1, r;

	efd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "tc_empty", "GPL", empty, ARRAY_SIZE(empty),
			    NULL);
	if (efd < 0) {
		fprintf(stderr, "bench-prog: loading an empty program: %s\n", strerror(-efd));
		return 1;
	}
	r = load(TC_FLOW_COUNT, NULL, &cls);
	if (r == 0) {
		/* The floor: one per-CPU counter at a constant index, nothing parsed. */
		struct bpf_insn counter[] = {
			{ .code = BPF_ALU64 | BPF_MOV | BPF_X,
			  .dst_reg = BPF_REG_6,
			  .src_reg = BPF_REG_1 },
			{ .code = BPF_ST | BPF_MEM | BPF_W,
			  .dst_reg = BPF_REG_10,
			  .off = -4,
			  .imm = TC_COUNTER_INDEX(SLOT, 0, 1) },
			{ .code = BPF_ALU64 | BPF_MOV | BPF_X,
			  .dst_reg = BPF_REG_2,
			  .src_reg = BPF_REG_10 },
			{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -4 },
			{ .code = BPF_LD | BPF_DW | BPF_IMM,
			  .dst_reg = BPF_REG_1,
			  .src_reg = BPF_PSEUDO_MAP_FD,
			  .imm = bpf_map__fd(cls->maps.counters) },
			{},
			{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem },
			{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_0, .off = 7 },
			{ .code = BPF_LDX | BPF_MEM | BPF_W,
			  .dst_reg = BPF_REG_1,
			  .src_reg = BPF_REG_6,
			  .off = offsetof(struct __sk_buff, len) },
			{ .code = BPF_LDX | BPF_MEM | BPF_DW,
			  .dst_reg = BPF_REG_2,
			  .src_reg = BPF_REG_0,
			  .off = 0 },
			{ .code = BPF_ALU64 | BPF_ADD | BPF_X,
			  .dst_reg = BPF_REG_2,
			  .src_reg = BPF_REG_1 },
			{ .code = BPF_STX | BPF_MEM | BPF_DW,
			  .dst_reg = BPF_REG_0,
			  .src_reg = BPF_REG_2,
			  .off = 0 },
			{ .code = BPF_LDX | BPF_MEM | BPF_DW,
			  .dst_reg = BPF_REG_2,
			  .src_reg = BPF_REG_0,
			  .off = 8 },
			{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = 1 },
			{ .code = BPF_STX | BPF_MEM | BPF_DW,
			  .dst_reg = BPF_REG_0,
			  .src_reg = BPF_REG_2,
			  .off = 8 },
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
			{ .code = BPF_JMP | BPF_EXIT },
		};

		cfd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "tc_one_counter", "GPL", counter,
				    ARRAY_SIZE(counter), NULL);
		if (cfd < 0)
			r = cfd;
	}
	if (r == 0)
		r = load(TC_FLOW_COUNT, cls, &learning);
	if (r == 0)
		r = load(TC_FLOW_METADATA, cls, &fixed);
	if (r < 0) {
		fprintf(stderr, "bench-prog: loading the counter programs: %s\n", strerror(-r));
		return 1;
	}
	frame(eg, true);
	frame(in, false);
	{
		/* teach 'learning' the connection: its ingress then looks up and hits */
		uint64_t dummy;

		run_ns(bpf_program__fd(learning->progs.tc_egress), eg, TC_MARK(SLOT, TC_FLOW_LOGS),
		       1, &dummy);
	}

	struct pcase cases[] = {
		{ "empty program (baseline)", efd, true, 0, NULL },
		{ "one per-CPU counter, no parsing (floor)", cfd, true, 0, NULL },
		{ "egress, unmarked (app)", bpf_program__fd(cls->progs.tc_egress), true, 0, NULL },
		{ "ingress, nothing learned (app)", bpf_program__fd(cls->progs.tc_ingress), false,
		  0, NULL },
		{ "egress, marked (flow table hit)", bpf_program__fd(learning->progs.tc_egress),
		  true, TC_MARK(SLOT, TC_FLOW_LOGS), NULL },
		{ "ingress, learned flow (lookup hit)", bpf_program__fd(learning->progs.tc_ingress),
		  false, 0, NULL },
		{ "egress, fixed flow (metadata link)", bpf_program__fd(fixed->progs.tc_egress),
		  true, 0, NULL },
	};
	const size_t n = ARRAY_SIZE(cases);
	uint64_t base;

	for (size_t c = 0; c < n; c++) {
		cases[c].samples = calloc(rounds, sizeof(uint64_t));
		if (!cases[c].samples)
			return 1;
	}
	for (unsigned int round = 0; round < rounds; round++)
		for (size_t c = 0; c < n; c++) {
			r = run_ns(cases[c].fd, cases[c].egress ? eg : in, cases[c].mark, repeat,
				   &cases[c].samples[round]);
			if (r < 0) {
				fprintf(stderr, "bench-prog: test run: %s\n", strerror(-r));
				return 1;
			}
		}
	printf("%-40s %10s %10s %15s\n", "program path (64-byte TCP frame)", "median ns", "min ns",
	       "median - empty");
	base = pct(cases[0].samples, rounds, 50);
	for (size_t c = 0; c < n; c++) {
		uint64_t med = pct(cases[c].samples, rounds, 50), min = cases[c].samples[0];
		char add[32] = "-";

		if (c > 0)
			snprintf(add, sizeof(add), "%+lld", (long long)med - (long long)base);
		printf("%-40s %10llu %10llu %15s\n", cases[c].name, (unsigned long long)med,
		       (unsigned long long)min, add);
		free(cases[c].samples);
	}
	printf("(median of %u interleaved rounds of %u runs each)\n", rounds, repeat);
	tc_counters__destroy(fixed);
	tc_counters__destroy(learning);
	tc_counters__destroy(cls);
	close(cfd);
	close(efd);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmd_attach(const char *ifname, unsigned int rounds)
{
	enum { OPEN, LOAD, ATTACH, DETACH, TOTAL, NPHASES };
	static const char *const names[] = { "open (ELF, BTF)", "load (maps, verifier)",
					     "clsact + 2 filters", "detach + clsact", "total" };
	struct tc_counters *maps = NULL;
	uint64_t *s[NPHASES];
	int ifindex = (int)if_nametoindex(ifname), r;

	if (ifindex <= 0) {
		fprintf(stderr, "bench-prog: no interface '%s'\n", ifname);
		return 1;
	}
	r = load(TC_FLOW_COUNT, NULL, &maps);
	if (r < 0) {
		fprintf(stderr, "bench-prog: load: %s\n", strerror(-r));
		return 1;
	}
	for (int p = 0; p < NPHASES; p++)
		s[p] = calloc(rounds, sizeof(uint64_t));
	for (unsigned int i = 0; i < rounds; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, oi, .handle = 0x54, .priority = 1);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, oe, .handle = 0x54, .priority = 0xfff0);
		struct tc_counters *skel;
		uint64_t t0 = now_ns(), t1, t2, t3, t4;
		struct in_addr a;

		skel = tc_counters__open();
		if (!skel)
			return 1;
		t1 = now_ns();
		skel->rodata->slot = SLOT;
		skel->rodata->cookie = i + 1;
		skel->rodata->check_source = 1;
		inet_pton(AF_INET, "198.18.1.1", &a);
		skel->rodata->addr4[0] = a.s_addr;
		skel->rodata->n_addr4 = 1;
		bpf_map__reuse_fd(skel->maps.counters, bpf_map__fd(maps->maps.counters));
		bpf_map__reuse_fd(skel->maps.drops, bpf_map__fd(maps->maps.drops));
		bpf_map__reuse_fd(skel->maps.auxcnt, bpf_map__fd(maps->maps.auxcnt));
		bpf_map__reuse_fd(skel->maps.flowtab, bpf_map__fd(maps->maps.flowtab));
		r = tc_counters__load(skel);
		t2 = now_ns();
		if (r == 0)
			r = bpf_tc_hook_create(&hook);
		if (r == 0) {
			hook.attach_point = BPF_TC_INGRESS;
			oi.prog_fd = bpf_program__fd(skel->progs.tc_ingress);
			r = bpf_tc_attach(&hook, &oi);
		}
		if (r == 0) {
			hook.attach_point = BPF_TC_EGRESS;
			oe.prog_fd = bpf_program__fd(skel->progs.tc_egress);
			r = bpf_tc_attach(&hook, &oe);
		}
		tc_counters__destroy(skel);
		t3 = now_ns();
		if (r < 0) {
			fprintf(stderr, "bench-prog: attach: %s\n", strerror(-r));
			return 1;
		}
		oi.prog_fd = oe.prog_fd = 0;
		oi.prog_id = oe.prog_id = 0;
		hook.attach_point = BPF_TC_INGRESS;
		bpf_tc_detach(&hook, &oi);
		hook.attach_point = BPF_TC_EGRESS;
		bpf_tc_detach(&hook, &oe);
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		t4 = now_ns();
		s[OPEN][i] = t1 - t0;
		s[LOAD][i] = t2 - t1;
		s[ATTACH][i] = t3 - t2;
		s[DETACH][i] = t4 - t3;
		s[TOTAL][i] = t3 - t0;
	}
	printf("%-28s %10s %10s\n", "counters step part", "p50 us", "p90 us");
	for (int p = 0; p < NPHASES; p++) {
		uint64_t p50 = pct(s[p], rounds, 50), p90 = pct(s[p], rounds, 90);

		printf("%-28s %10.0f %10.0f\n", names[p], (double)p50 / 1000.0,
		       (double)p90 / 1000.0);
		free(s[p]);
	}
	printf("(%u rounds; 'total' is open + load + attach, what an attach adds besides its "
	       "journal and the netlink stats read)\n",
	       rounds);
	tc_counters__destroy(maps);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long repeat = 2000000, rounds = 0;

	libbpf_set_print(silent);
	if (argc < 2) {
		fprintf(stderr,
			"usage: bench-prog packet [--repeat N] [--rounds R] | attach IFNAME "
			"[--rounds R]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (streq(argv[i], "--repeat") && i + 1 < argc)
			repeat = strtoul(argv[++i], NULL, 10);
		else if (streq(argv[i], "--rounds") && i + 1 < argc)
			rounds = strtoul(argv[++i], NULL, 10);
	}
	if (repeat == 0 || repeat > 100000000)
		repeat = 2000000;
	if (streq(argv[1], "packet"))
		return cmd_packet((uint32_t)repeat, rounds ? (unsigned int)MIN(rounds, 101UL) : 7);
	if (streq(argv[1], "attach") && argc >= 3)
		return cmd_attach(argv[2], rounds ? (unsigned int)MIN(rounds, 1000UL) : 50);
	fprintf(stderr, "bench-prog: unknown command '%s'\n", argv[1]);
	return 2;
}
