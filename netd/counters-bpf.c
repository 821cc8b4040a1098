// SPDX-License-Identifier: GPL-2.0-only
/* The counters' BPF side (counters-bpf.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "counters-bpf.h"
#include "log.h"
#include "netns.h"
#include "tc_counters.skel.h"
#include "tc_platform.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

enum {
	COUNTERS_MAP_COUNTERS,
	COUNTERS_MAP_DROPS,
	COUNTERS_MAP_AUXCNT,
	COUNTERS_MAP_FLOWTAB,
	COUNTERS_MAP_PLATCNT,
	COUNTERS_MAP_SLOTOWNER,
	COUNTERS_MAP_PLATFLOWS,
	COUNTERS_MAP_COUNT,
};

struct counters_bpf {
	char *bpffs;
	int map_fd[COUNTERS_MAP_COUNT];
	uint32_t counters_map_id;
	uint32_t platcnt_map_id; /* a platform ENI's programs use it */
	unsigned int ncpus;
	size_t stride; /* of per-CPU values: round_up(sizeof(struct tc_count), 8) */
};

/* A task's programs (skel), or a platform ENI's (pskel). */
struct counters_prog {
	struct tc_counters *skel;
	struct tc_platform *pskel;
};

static const char *const map_names[COUNTERS_MAP_COUNT] = {
	[COUNTERS_MAP_COUNTERS] = "counters",	[COUNTERS_MAP_DROPS] = "drops",
	[COUNTERS_MAP_AUXCNT] = "auxcnt",	[COUNTERS_MAP_FLOWTAB] = "flowtab",
	[COUNTERS_MAP_PLATCNT] = "platcnt",	[COUNTERS_MAP_SLOTOWNER] = "slotowner",
	[COUNTERS_MAP_PLATFLOWS] = "platflows",
};

const char *const counters_flow_names[TC_FLOW_COUNT] = {
	[TC_FLOW_APP] = "app",		 [TC_FLOW_PULL] = "pull", [TC_FLOW_AUTH] = "auth",
	[TC_FLOW_SECRETS] = "secrets",	 [TC_FLOW_LOGS] = "logs", [TC_FLOW_EFS] = "efs",
	[TC_FLOW_METADATA] = "metadata",
};

const char *const counters_dir_names[TC_DIR_COUNT] = { [TC_DIR_RX] = "rx", [TC_DIR_TX] = "tx" };

const char *const counters_drop_names[TC_DROP_COUNT] = {
	[TC_DROP_SPOOF] = "spoof",
	[TC_DROP_IMDS] = "imds",
	[TC_DROP_POLICY] = "policy",
	[TC_DROP_METADATA_FILTER] = "metadata_filter",
};

const char *counters_flow_to_string(unsigned int flow)
{
	return flow < TC_FLOW_COUNT ? counters_flow_names[flow] : "unknown";
}

int counters_flow_from_string(const char *s)
{
	for (unsigned int i = 0; i < TC_FLOW_COUNT; i++)
		if (streq(counters_flow_names[i], s))
			return (int)i;
	return -EINVAL;
}

const char *counters_dir_to_string(unsigned int dir)
{
	return dir < TC_DIR_COUNT ? counters_dir_names[dir] : "unknown";
}

const char *counters_drop_to_string(unsigned int reason)
{
	return reason < TC_DROP_COUNT ? counters_drop_names[reason] : "unknown";
}

static void tc_counters_destroyp(struct tc_counters **p)
{
	tc_counters__destroy(*p);
}

static void tc_platform_destroyp(struct tc_platform **p)
{
	tc_platform__destroy(*p);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (level == LIBBPF_WARN)
		log_warn("libbpf: %s", buf);
	else
		log_debug("libbpf: %s", buf);
	return 0;
}

/* --- the namespace dance -------------------------------------------------------------------- */

static int ns_enter(int netns_fd, int *ret_saved)
{
	return netns_enter(netns_fd, ret_saved);
}

static void ns_leave(int saved)
{
	int r = netns_restore(saved);

	/* netd cannot go on in a task's namespace. */
	if (r < 0) {
		log_err_errno(r, "Failed to return to netd's own network namespace: %m");
		abort();
	}
}

/* --- the maps -------------------------------------------------------------------------------- */

static int bpffs_prepare(const char *dir)
{
	struct statfs sfs;
	int r;

	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	if (statfs(dir, &sfs) < 0)
		return -errno;
	if ((unsigned long)sfs.f_type == (unsigned long)BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", dir, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return -errno;
	log_info("Mounted a bpf filesystem on '%s'", dir);
	return 0;
}

/* Open a pinned map and check that it is what the programs expect, or create and pin it. */
static int map_open(struct counters_bpf *k, const struct bpf_map *m, const char *name, int *ret_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", k->bpffs, name);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		r = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (r < 0) {
			close(fd);
			return r;
		}
		if (info.type != (__u32)bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		    info.value_size != bpf_map__value_size(m) ||
		    info.max_entries != bpf_map__max_entries(m)) {
			close(fd);
			log_err("Pinned map '%s' has another layout (type %u, key %u, value %u, %u entries) than this netd's: it belongs to another version. Remove it (the counts in it are lost) or give another --bpffs",
				path, info.type, info.key_size, info.value_size, info.max_entries);
			return -EEXIST;
		}
		log_debug("Reusing pinned map '%s' (id %u)", path, info.id);
		*ret_fd = fd;
		return 0;
	}
	if (fd != -ENOENT)
		return log_err_errno(fd, "Failed to open pinned map '%s': %m", path);
	fd = bpf_map_create(bpf_map__type(m), name, bpf_map__key_size(m), bpf_map__value_size(m),
			    bpf_map__max_entries(m), NULL);
	if (fd < 0)
		return log_err_errno(fd, "Failed to create map '%s': %m", name);
	r = bpf_obj_pin(fd, path);
	if (r < 0) {
		close(fd);
		return log_err_errno(r, "Failed to pin map '%s': %m", path);
	}
	log_info("Created and pinned map '%s'", path);
	*ret_fd = fd;
	return 0;
}

static int maps_open(struct counters_bpf *k)
{
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	_cleanup_(tc_platform_destroyp) struct tc_platform *pskel = NULL;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const struct bpf_map *maps[COUNTERS_MAP_COUNT];
	int r;

	skel = tc_counters__open();
	pskel = tc_platform__open();
	if (!skel || !pskel)
		return log_err_errno(errno_or(EINVAL), "Failed to open the counter programs: %m");
	maps[COUNTERS_MAP_COUNTERS] = skel->maps.counters;
	maps[COUNTERS_MAP_DROPS] = skel->maps.drops;
	maps[COUNTERS_MAP_AUXCNT] = skel->maps.auxcnt;
	maps[COUNTERS_MAP_FLOWTAB] = skel->maps.flowtab;
	maps[COUNTERS_MAP_PLATCNT] = pskel->maps.platcnt;
	maps[COUNTERS_MAP_SLOTOWNER] = pskel->maps.slotowner;
	maps[COUNTERS_MAP_PLATFLOWS] = pskel->maps.platflows;
	for (unsigned int i = 0; i < COUNTERS_MAP_COUNT; i++) {
		r = map_open(k, maps[i], map_names[i], &k->map_fd[i]);
		if (r < 0)
			return r;
	}
	r = bpf_obj_get_info_by_fd(k->map_fd[COUNTERS_MAP_COUNTERS], &info, &len);
	if (r < 0)
		return log_err_errno(r, "Failed to read the counters map's id: %m");
	k->counters_map_id = info.id;
	info = (struct bpf_map_info){};
	len = sizeof(info);
	r = bpf_obj_get_info_by_fd(k->map_fd[COUNTERS_MAP_PLATCNT], &info, &len);
	if (r < 0)
		return log_err_errno(r, "Failed to read the platcnt map's id: %m");
	k->platcnt_map_id = info.id;
	return 0;
}

/* Read entries [first, first + n) of a per-CPU map of struct tc_count, summed over CPUs: one
 * batch lookup (an array batch starts after in_batch, NULL: at 0, and ends -ENOENT at the end). */
static int pairs_read(struct counters_bpf *k, int fd, uint32_t first, uint32_t n,
		      struct counters_pair *ret)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	_cleanup_free_ uint32_t *keys = NULL;
	_cleanup_free_ char *vals = NULL;
	uint32_t in = first - 1, out = 0, count = n;
	int r;

	if (n == 0)
		return 0;
	keys = calloc(n, sizeof(*keys));
	vals = calloc((size_t)n * k->ncpus, k->stride);
	if (!keys || !vals)
		return -ENOMEM;
	r = bpf_map_lookup_batch(fd, first ? &in : NULL, &out, keys, vals, &count, &o);
	if (r < 0 && r != -ENOENT)
		return r;
	if (count != n || keys[0] != first || keys[n - 1] != first + n - 1)
		return -EIO;
	for (uint32_t i = 0; i < n; i++) {
		ret[i] = (struct counters_pair){};
		for (unsigned int cpu = 0; cpu < k->ncpus; cpu++) {
			const struct tc_count *v =
				(const void *)(vals + ((size_t)i * k->ncpus + cpu) * k->stride);

			ret[i].bytes += v->bytes;
			ret[i].packets += v->packets;
			ret[i].segs += v->segs;
		}
	}
	return 0;
}

/* Write n entries (every CPU) from first: zeros, or bytes/packets on CPU 0. */
static int pairs_write(struct counters_bpf *k, int fd, uint32_t first, uint32_t n,
		       const struct counters_pair *cpu0)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	_cleanup_free_ uint32_t *keys = NULL;
	_cleanup_free_ char *vals = NULL;
	uint32_t count = n;

	keys = calloc(n, sizeof(*keys));
	vals = calloc((size_t)n * k->ncpus, k->stride);
	if (!keys || !vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		keys[i] = first + i;
		if (cpu0) {
			struct tc_count *v = (void *)(vals + (size_t)i * k->ncpus * k->stride);

			v->bytes = cpu0[i].bytes;
			v->packets = cpu0[i].packets;
			v->segs = cpu0[i].packets;
		}
	}
	return bpf_map_update_batch(fd, keys, vals, &count, &o);
}

int counters_bpf_read_slots(struct counters_bpf *k, unsigned int nslots,
			    struct counters_snapshot *ret)
{
	const unsigned int nf = TC_FLOW_COUNT * TC_DIR_COUNT, nd = TC_DROP_COUNT * TC_DIR_COUNT;
	_cleanup_free_ struct counters_pair *v = NULL;
	int r;

	if (nslots == 0)
		return 0;
	if (nslots > TC_SLOTS)
		return -EINVAL;
	v = calloc((size_t)nslots * nf, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_COUNTERS], 0, nslots * nf, v);
	if (r < 0)
		return r;
	for (unsigned int s = 0; s < nslots; s++)
		memcpy(ret[s].flows, v + (size_t)s * nf, sizeof(ret[s].flows));
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_DROPS], 0, nslots * nd, v);
	if (r < 0)
		return r;
	for (unsigned int s = 0; s < nslots; s++)
		memcpy(ret[s].drops, v + (size_t)s * nd, sizeof(ret[s].drops));
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_AUXCNT], 0, nslots * TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	for (unsigned int s = 0; s < nslots; s++)
		memcpy(ret[s].aux, v + (size_t)s * TC_DIR_COUNT, sizeof(ret[s].aux));
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_PLATCNT], 0, nslots * nf, v);
	if (r < 0)
		return r;
	for (unsigned int s = 0; s < nslots; s++)
		memcpy(ret[s].platform, v + (size_t)s * nf, sizeof(ret[s].platform));
	return 0;
}

int counters_bpf_read(struct counters_bpf *k, unsigned int slot, struct counters_snapshot *ret)
{
	struct counters_pair v[TC_FLOW_COUNT * TC_DIR_COUNT];
	int r;

	if (slot >= TC_SLOTS)
		return -EINVAL;
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_COUNTERS], TC_COUNTER_INDEX(slot, 0, 0),
		       TC_FLOW_COUNT * TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	memcpy(ret->flows, v, sizeof(ret->flows));
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_DROPS], TC_DROP_INDEX(slot, 0, 0),
		       TC_DROP_COUNT * TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	memcpy(ret->drops, v, sizeof(ret->drops));
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_AUXCNT], TC_AUX_INDEX(slot, 0), TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	memcpy(ret->aux, v, sizeof(ret->aux));
	r = pairs_read(k, k->map_fd[COUNTERS_MAP_PLATCNT], TC_COUNTER_INDEX(slot, 0, 0),
		       TC_FLOW_COUNT * TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	memcpy(ret->platform, v, sizeof(ret->platform));
	return 0;
}

int counters_bpf_zero(struct counters_bpf *k, unsigned int slot)
{
	int r;

	r = pairs_write(k, k->map_fd[COUNTERS_MAP_COUNTERS], TC_COUNTER_INDEX(slot, 0, 0),
			TC_FLOW_COUNT * TC_DIR_COUNT, NULL);
	if (r >= 0)
		r = pairs_write(k, k->map_fd[COUNTERS_MAP_DROPS], TC_DROP_INDEX(slot, 0, 0),
				TC_DROP_COUNT * TC_DIR_COUNT, NULL);
	if (r >= 0)
		r = pairs_write(k, k->map_fd[COUNTERS_MAP_AUXCNT], TC_AUX_INDEX(slot, 0),
				TC_DIR_COUNT, NULL);
	if (r >= 0)
		r = pairs_write(k, k->map_fd[COUNTERS_MAP_PLATCNT], TC_COUNTER_INDEX(slot, 0, 0),
				TC_FLOW_COUNT * TC_DIR_COUNT, NULL);
	return r;
}

int counters_bpf_set_owner(struct counters_bpf *k, unsigned int slot, uint32_t cookie)
{
	if (slot >= TC_SLOTS)
		return -EINVAL;
	return bpf_map_update_elem(k->map_fd[COUNTERS_MAP_SLOTOWNER], &slot, &cookie, BPF_ANY);
}

int counters_bpf_clear_owner(struct counters_bpf *k, unsigned int slot, uint32_t cookie)
{
	uint32_t have = 0, zero = 0;
	int r;

	if (slot >= TC_SLOTS)
		return -EINVAL;
	r = bpf_map_lookup_elem(k->map_fd[COUNTERS_MAP_SLOTOWNER], &slot, &have);
	if (r < 0)
		return r;
	/* Another attach of the slot is not this one's to clear. */
	if (cookie && have != cookie)
		return 0;
	return bpf_map_update_elem(k->map_fd[COUNTERS_MAP_SLOTOWNER], &slot, &zero, BPF_ANY);
}

int counters_bpf_set_drops(struct counters_bpf *k, unsigned int slot, enum tc_drop reason,
			   enum tc_dir dir, uint64_t bytes, uint64_t packets)
{
	struct counters_pair p = { .bytes = bytes, .packets = packets };

	if (reason == TC_DROP_SPOOF || reason >= TC_DROP_COUNT || dir >= TC_DIR_COUNT ||
	    slot >= TC_SLOTS)
		return -EINVAL;
	return pairs_write(k, k->map_fd[COUNTERS_MAP_DROPS], TC_DROP_INDEX(slot, reason, dir), 1,
			   &p);
}

int counters_bpf_set_link_flow(struct counters_bpf *k, unsigned int slot, enum tc_flow flow,
			       enum tc_dir dir, uint64_t bytes, uint64_t packets)
{
	struct counters_pair p = { .bytes = bytes, .packets = packets };
	int r;

	if (flow >= TC_FLOW_COUNT || dir >= TC_DIR_COUNT || slot >= TC_SLOTS)
		return -EINVAL;
	r = pairs_write(k, k->map_fd[COUNTERS_MAP_COUNTERS], TC_COUNTER_INDEX(slot, flow, dir), 1,
			&p);
	if (r < 0)
		return r;
	/* All of it is another link's: out of the ENI's share. */
	return pairs_write(k, k->map_fd[COUNTERS_MAP_AUXCNT], TC_AUX_INDEX(slot, dir), 1, &p);
}

/* --- loading and attaching ----------------------------------------------------------------- */

uint32_t counters_bpf_cookie(void)
{
	uint32_t c = 0;

	if (getrandom(&c, sizeof(c), GRND_NONBLOCK) != (ssize_t)sizeof(c))
		c = (uint32_t)(now_usec() ^ ((uint64_t)getpid() << 16));
	return c ?: 1;
}

/* A platform ENI's programs: its slot and cookie, the maps they share with the tasks'. */
static int platform_load(struct counters_bpf *k, const struct counters_load_opts *o,
			 struct tc_platform **ret)
{
	_cleanup_(tc_platform_destroyp) struct tc_platform *skel = NULL;
	struct {
		struct bpf_map *map;
		int idx;
	} maps[] = { { NULL, COUNTERS_MAP_COUNTERS },
		     { NULL, COUNTERS_MAP_PLATCNT },
		     { NULL, COUNTERS_MAP_SLOTOWNER },
		     { NULL, COUNTERS_MAP_PLATFLOWS } };
	int r;

	skel = tc_platform__open();
	if (!skel)
		return errno_or(EINVAL);
	skel->rodata->slot = o->slot;
	skel->rodata->cookie = o->cookie;
	maps[0].map = skel->maps.counters;
	maps[1].map = skel->maps.platcnt;
	maps[2].map = skel->maps.slotowner;
	maps[3].map = skel->maps.platflows;
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		r = bpf_map__reuse_fd(maps[i].map, k->map_fd[maps[i].idx]);
		if (r < 0)
			return r;
	}
	r = tc_platform__load(skel);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(skel);
	return 0;
}

static int prog_load(struct counters_bpf *k, const struct counters_load_opts *o,
		     struct counters_prog *ret)
{
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct tc_counters__rodata *ro;
	struct bpf_map *maps[COUNTERS_MAP_PLATCNT];
	unsigned int n4 = 0, n6 = 0;
	int r;

	*ret = (struct counters_prog){};
	if (o->fixed_flow == COUNTERS_PLATFORM)
		return platform_load(k, o, &ret->pskel);
	skel = tc_counters__open();
	if (!skel)
		return errno_or(EINVAL);
	ro = skel->rodata;
	ro->slot = o->slot;
	ro->cookie = o->cookie;
	ro->fixed_flow = o->fixed_flow;
	for (unsigned int i = 0; i < o->naddrs; i++) {
		const struct in_prefix *a = &o->addrs[i];

		if (a->family == AF_INET && n4 < TC_MAX_ADDRS)
			ro->addr4[n4++] = a->u.v4.s_addr;
		else if (a->family == AF_INET6 && n6 < TC_MAX_ADDRS)
			memcpy(ro->addr6[n6++], &a->u.v6, 16);
	}
	ro->n_addr4 = n4;
	ro->n_addr6 = n6;
	ro->check_source = o->naddrs > 0;

	maps[COUNTERS_MAP_COUNTERS] = skel->maps.counters;
	maps[COUNTERS_MAP_DROPS] = skel->maps.drops;
	maps[COUNTERS_MAP_AUXCNT] = skel->maps.auxcnt;
	maps[COUNTERS_MAP_FLOWTAB] = skel->maps.flowtab;
	for (unsigned int i = 0; i < ARRAY_SIZE(maps); i++) {
		r = bpf_map__reuse_fd(maps[i], k->map_fd[i]);
		if (r < 0)
			return r;
	}
	r = tc_counters__load(skel);
	if (r < 0)
		return r;
	ret->skel = TAKE_PTR(skel);
	return 0;
}

/*
 * Loading the programs (the verifier) takes a few milliseconds of CPU and needs nothing of the
 * namespace, while the move that comes first in an attach spends ~16 ms asleep in the kernel
 * waiting for an RCU grace period. So an attach starts the load on a helper thread before the
 * move, and the counters step takes the result. The thread touches only its own skeleton and
 * reads the map fds, which do not change while netd runs.
 */
struct counters_load {
	pthread_t thread;
	struct counters_bpf *k;
	struct counters_load_opts o;
	struct in_prefix addrs[COUNTERS_LOAD_MAX_ADDRS];
	struct counters_prog prog;
	int r;
};

static void *load_thread(void *arg)
{
	struct counters_load *l = arg;

	l->r = prog_load(l->k, &l->o, &l->prog);
	return NULL;
}

int counters_bpf_load_start(struct counters_bpf *k, const struct counters_load_opts *o,
			    struct counters_load **ret)
{
	struct counters_load *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->k = k;
	l->o = *o;
	l->o.naddrs = MIN(o->naddrs, (unsigned int)COUNTERS_LOAD_MAX_ADDRS);
	memcpy(l->addrs, o->addrs, sizeof(l->addrs[0]) * l->o.naddrs);
	l->o.addrs = l->addrs;
	r = -pthread_create(&l->thread, NULL, load_thread, l);
	if (r < 0) {
		free(l);
		return r;
	}
	*ret = l;
	return 0;
}

int counters_load_finish(struct counters_load *l, struct counters_prog **ret, uint32_t *ret_cookie)
{
	struct counters_prog *p;
	int r;

	pthread_join(l->thread, NULL);
	r = l->r;
	if (r == 0) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			tc_counters__destroy(l->prog.skel);
			tc_platform__destroy(l->prog.pskel);
			r = -ENOMEM;
		} else {
			*p = l->prog;
			*ret = p;
			*ret_cookie = l->o.cookie;
			r = 1;
		}
	}
	free(l);
	return r;
}

int counters_bpf_load(struct counters_bpf *k, const struct counters_load_opts *o,
		      struct counters_prog **ret)
{
	struct counters_prog *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = prog_load(k, o, p);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

struct counters_prog *counters_prog_free(struct counters_prog *p)
{
	if (p) {
		tc_counters__destroy(p->skel);
		tc_platform__destroy(p->pskel);
		free(p);
	}
	return NULL;
}

static int tc_detach_one(int ifindex, enum bpf_tc_attach_point point, uint32_t prio)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = COUNTERS_TC_HANDLE, .priority = prio);
	int r;

	r = bpf_tc_detach(&hook, &o);
	/* No filter (ENOENT), or no clsact qdisc at all (EINVAL). */
	return r == -ENOENT || r == -EINVAL ? 0 : r;
}

/* Attach both programs to ifindex; the caller is inside the namespace. */
static int tc_attach(int ifindex, const struct counters_prog *p, bool *ret_hook_created)
{
	int in_fd = p->pskel ? bpf_program__fd(p->pskel->progs.tc_platform_ingress)
			     : bpf_program__fd(p->skel->progs.tc_ingress);
	int eg_fd = p->pskel ? bpf_program__fd(p->pskel->progs.tc_platform_egress)
			     : bpf_program__fd(p->skel->progs.tc_egress);
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, in, .handle = COUNTERS_TC_HANDLE,
			    .priority = COUNTERS_TC_PRIO_INGRESS, .flags = BPF_TC_F_REPLACE,
			    .prog_fd = in_fd);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, eg, .handle = COUNTERS_TC_HANDLE,
			    .priority = COUNTERS_TC_PRIO_EGRESS, .flags = BPF_TC_F_REPLACE,
			    .prog_fd = eg_fd);
	bool hook_created = false;
	int r;

	r = bpf_tc_hook_create(&hook);
	if (r == 0)
		hook_created = true;
	else if (r != -EEXIST)
		return r;

	hook.attach_point = BPF_TC_INGRESS;
	r = bpf_tc_attach(&hook, &in);
	if (r < 0)
		goto out_destroy_hook;
	hook.attach_point = BPF_TC_EGRESS;
	r = bpf_tc_attach(&hook, &eg);
	if (r < 0)
		goto out_detach_ingress;
	*ret_hook_created = hook_created;
	return 0;

out_detach_ingress:
	(void)tc_detach_one(ifindex, BPF_TC_INGRESS, COUNTERS_TC_PRIO_INGRESS);
out_destroy_hook:
	if (hook_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		(void)bpf_tc_hook_destroy(&hook);
	}
	return r;
}

/* Detach both programs (and the clsact qdisc if we created it); the caller is inside. */
static int tc_detach(int ifindex, bool hook_created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int r, q;

	r = tc_detach_one(ifindex, BPF_TC_INGRESS, COUNTERS_TC_PRIO_INGRESS);
	q = tc_detach_one(ifindex, BPF_TC_EGRESS, COUNTERS_TC_PRIO_EGRESS);
	if (r == 0)
		r = q;
	if (r == 0 && hook_created) {
		q = bpf_tc_hook_destroy(&hook);
		if (q < 0 && q != -ENOENT && q != -EINVAL)
			r = q;
	}
	return r;
}

/* What a filter of ours says about itself: its slot and cookie, from its .rodata. */
struct prog_facts {
	bool ours; /* uses our counters map */
	unsigned int slot;
	uint32_t cookie;
	unsigned int fixed_flow;
};

static int prog_inspect(struct counters_bpf *k, uint32_t prog_id, struct prog_facts *ret)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[16];
	_cleanup_close_ int fd = -1;
	bool have_ro = false, have_pro = false, platform = false;
	int r;

	*ret = (struct prog_facts){};
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return fd;
	info.nr_map_ids = ARRAY_SIZE(ids);
	info.map_ids = (__u64)(unsigned long)ids;
	r = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < MIN(info.nr_map_ids, (__u32)ARRAY_SIZE(ids)); i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi), zero = 0;
		struct tc_counters__rodata ro;
		struct tc_platform__rodata pro;
		_cleanup_close_ int mfd = -1;
		size_t nlen;

		if (ids[i] == k->counters_map_id) {
			ret->ours = true;
			continue;
		}
		if (ids[i] == k->platcnt_map_id) {
			platform = true;
			continue;
		}
		mfd = bpf_map_get_fd_by_id(ids[i]);
		if (mfd < 0 || bpf_obj_get_info_by_fd(mfd, &mi, &mlen) < 0)
			continue;
		nlen = strnlen(mi.name, sizeof(mi.name));
		if (nlen < 7 || !streq(mi.name + nlen - 7, ".rodata"))
			continue;
		if (mi.value_size == sizeof(ro) && bpf_map_lookup_elem(mfd, &zero, &ro) == 0) {
			ret->slot = ro.slot;
			ret->cookie = ro.cookie;
			ret->fixed_flow = ro.fixed_flow;
			have_ro = true;
		} else if (mi.value_size == sizeof(pro) &&
			   bpf_map_lookup_elem(mfd, &zero, &pro) == 0) {
			ret->slot = pro.slot;
			ret->cookie = pro.cookie;
			have_pro = true;
		}
	}
	/* A task's programs do not use platcnt; a platform ENI's have their own .rodata. */
	if (platform)
		ret->fixed_flow = COUNTERS_PLATFORM;
	if (platform ? !have_pro : !have_ro)
		ret->ours = false;
	return 0;
}

/* Query our filter on one hook: 0 with the program's facts, -ENOENT when there is none. */
static int tc_query(struct counters_bpf *k, int ifindex, enum bpf_tc_attach_point point,
		    uint32_t prio, struct prog_facts *ret)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = COUNTERS_TC_HANDLE, .priority = prio);
	int r;

	r = bpf_tc_query(&hook, &o);
	if (r == -EINVAL)
		r = -ENOENT; /* no clsact qdisc */
	if (r < 0)
		return r;
	return prog_inspect(k, o.prog_id, ret);
}

/* Both filters present, ours, for this slot (and fixed flow): 1, else 0; or -errno. The caller
 * is inside the namespace. ret_cookie gets the cookie of the first one found. */
static int tc_verify(struct counters_bpf *k, int ifindex, unsigned int slot,
		     unsigned int fixed_flow, const char **ret_what, uint32_t *ret_cookie)
{
	static const struct {
		enum bpf_tc_attach_point point;
		uint32_t prio;
		const char *name;
	} hooks[] = { { BPF_TC_INGRESS, COUNTERS_TC_PRIO_INGRESS, "ingress" },
		      { BPF_TC_EGRESS, COUNTERS_TC_PRIO_EGRESS, "egress" } };
	int ok = 1;

	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++) {
		struct prog_facts f;
		int r = tc_query(k, ifindex, hooks[i].point, hooks[i].prio, &f);

		if (r == -ENOENT) {
			if (ret_what)
				*ret_what = hooks[i].name;
			ok = 0;
			continue;
		}
		if (r < 0)
			return r;
		if (!f.ours || f.slot != slot || f.fixed_flow != fixed_flow) {
			if (ret_what)
				*ret_what = hooks[i].name;
			ok = 0;
			continue;
		}
		if (ret_cookie && !*ret_cookie)
			*ret_cookie = f.cookie;
	}
	return ok;
}

void counters_totals(const struct counters_snapshot *s, struct counters_pair ret[TC_DIR_COUNT])
{
	for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
		ret[dir] = (struct counters_pair){};
		for (unsigned int f = 0; f < TC_FLOW_COUNT; f++) {
			ret[dir].bytes += s->flows[f][dir].bytes;
			ret[dir].packets += s->flows[f][dir].packets;
			ret[dir].segs += s->flows[f][dir].segs;
		}
	}
}

/* --- in a namespace ----------------------------------------------------------------------------- */

int counters_bpf_attach(int netns_fd, int ifindex, struct counters_prog *p, bool *ret_hook_created)
{
	int saved = -1, r;

	r = ns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = tc_attach(ifindex, p, ret_hook_created);
	ns_leave(saved);
	return r;
}

int counters_bpf_detach(int netns_fd, int ifindex, bool hook_created)
{
	int saved = -1, r;

	r = ns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = tc_detach(ifindex, hook_created);
	ns_leave(saved);
	return r;
}

int counters_bpf_verify(struct counters_bpf *k, int netns_fd, int ifindex, unsigned int slot,
			unsigned int fixed_flow, const char **ret_what, uint32_t *ret_cookie)
{
	int saved = -1, r;

	r = ns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = tc_verify(k, ifindex, slot, fixed_flow, ret_what, ret_cookie);
	ns_leave(saved);
	return r;
}

int counters_bpf_attached(struct counters_bpf *k, int netns_fd, int ifindex, unsigned int slot)
{
	struct prog_facts f;
	int saved = -1, r;

	r = ns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = tc_query(k, ifindex, BPF_TC_INGRESS, COUNTERS_TC_PRIO_INGRESS, &f);
	ns_leave(saved);
	if (r == -ENOENT || r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	return f.ours && f.slot == slot;
}

/* --- start and stop ----------------------------------------------------------------------------- */

int counters_bpf_new(const char *bpffs, struct counters_bpf **ret)
{
	struct counters_bpf *k;
	int n, r;

	libbpf_set_print(libbpf_print);
	k = calloc(1, sizeof(*k));
	if (!k)
		return log_oom();
	for (unsigned int i = 0; i < COUNTERS_MAP_COUNT; i++)
		k->map_fd[i] = -1;
	k->bpffs = strdup(bpffs ?: COUNTERS_DEFAULT_BPFFS);
	if (!k->bpffs) {
		counters_bpf_free(k);
		return log_oom();
	}
	n = libbpf_num_possible_cpus();
	if (n <= 0) {
		counters_bpf_free(k);
		return log_err_errno(n < 0 ? n : -EINVAL, "Failed to count the possible CPUs: %m");
	}
	k->ncpus = (unsigned int)n;
	/* Per-CPU values are laid out 8-byte aligned. */
	k->stride = (sizeof(struct tc_count) + 7) & ~(size_t)7;
	r = bpffs_prepare(k->bpffs);
	if (r < 0) {
		log_err_errno(r, "Failed to prepare the bpf filesystem '%s': %m", k->bpffs);
		counters_bpf_free(k);
		return r;
	}
	r = maps_open(k);
	if (r < 0) {
		counters_bpf_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

struct counters_bpf *counters_bpf_free(struct counters_bpf *k)
{
	if (!k)
		return NULL;
	for (unsigned int i = 0; i < COUNTERS_MAP_COUNT; i++)
		safe_close(k->map_fd[i]);
	free(k->bpffs);
	free(k);
	return NULL;
}
