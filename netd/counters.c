// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-task network counters. The maps (counters, drops, auxcnt, flowtab) are pinned under a
 * bpffs directory and shared by every task; the programs are loaded once per task with its slot,
 * a cookie and its addresses in .rodata, and attached (tc clsact, fixed handle and priorities)
 * to the task's ENI from inside the task namespace. Only the filters hold the programs: nothing
 * of them stays open in netd, so counting goes on while netd is down, and a new netd finds them
 * again with bpf_tc_query.
 *
 * Reading sums the per-CPU values of a slot (three batch lookups) and the ENI's IFLA_STATS64
 * (RTM_GETSTATS on an rtnetlink socket kept open in the task namespace). A sampling timer keeps
 * the last two samples of every task for the rates and feeds the stats subscriptions. When a
 * task detaches, its final counters are kept, in memory and in state/final/, until collected or
 * until the retention passes; its slot is zeroed before a new task gets it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "counters-internal.h"
#include "step.h"
#include "devstats.h"
#include "event.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "metrics.h"
#include "tc_counters.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *const map_names[COUNTERS_MAP_COUNT] = {
	[COUNTERS_MAP_COUNTERS] = "counters",
	[COUNTERS_MAP_DROPS] = "drops",
	[COUNTERS_MAP_AUXCNT] = "auxcnt",
	[COUNTERS_MAP_FLOWTAB] = "flowtab",
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

/* --- the ENI's device counters ------------------------------------------------------------ */

int counters_devstats_read(struct netd_counters *k, const struct counters_task *rec,
			   struct link_stats *ret)
{
	struct devstats_query q = { .nsid = rec->nsid, .ifindex = rec->ifindex, .mac = rec->mac };
	int r;

	r = devstats_read(k->devstats, &q, 1);
	if (r == 0)
		r = q.error;
	if (r == 0)
		*ret = q.stats;
	return r;
}

void counters_devstats_read_many(struct netd_counters *k, struct counters_task **recs,
				 unsigned int n)
{
	_cleanup_free_ struct devstats_query *q = calloc(MAX(n, 1u), sizeof(*q));
	int r;

	if (!q) {
		log_oom();
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		q[i] = (struct devstats_query){ .nsid = recs[i]->nsid,
						.ifindex = recs[i]->ifindex,
						.mac = recs[i]->mac };
	r = devstats_read(k->devstats, q, n);
	if (r < 0)
		log_debug_errno(r, "Link statistics requests failed: %m");
	/* A task whose read failed keeps what it had. */
	for (unsigned int i = 0; i < n; i++)
		if (q[i].error == 0) {
			recs[i]->dev = q[i].stats;
			recs[i]->have_dev = true;
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
static int map_open(struct netd_counters *k, const struct bpf_map *m, const char *name, int *ret_fd)
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

static int maps_open(struct netd_counters *k)
{
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const struct bpf_map *maps[COUNTERS_MAP_COUNT];
	int r;

	skel = tc_counters__open();
	if (!skel)
		return log_err_errno(errno_or(EINVAL), "Failed to open the counter programs: %m");
	maps[COUNTERS_MAP_COUNTERS] = skel->maps.counters;
	maps[COUNTERS_MAP_DROPS] = skel->maps.drops;
	maps[COUNTERS_MAP_AUXCNT] = skel->maps.auxcnt;
	maps[COUNTERS_MAP_FLOWTAB] = skel->maps.flowtab;
	for (unsigned int i = 0; i < COUNTERS_MAP_COUNT; i++) {
		r = map_open(k, maps[i], map_names[i], &k->map_fd[i]);
		if (r < 0)
			return r;
	}
	r = bpf_obj_get_info_by_fd(k->map_fd[COUNTERS_MAP_COUNTERS], &info, &len);
	if (r < 0)
		return log_err_errno(r, "Failed to read the counters map's id: %m");
	k->counters_map_id = info.id;
	return 0;
}

/* Read entries [first, first + n) of a per-CPU map of struct tc_count, summed over CPUs: one
 * batch lookup (an array batch starts after in_batch, NULL: at 0, and ends -ENOENT at the end). */
static int pairs_read(struct netd_counters *k, int fd, uint32_t first, uint32_t n,
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
static int pairs_write(struct netd_counters *k, int fd, uint32_t first, uint32_t n,
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

int counters_read_slots(struct netd_counters *k, unsigned int nslots, struct counters_snapshot *ret)
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
	return 0;
}

void counters_run_hook(struct netd *d, struct eni_attachment *t)
{
	struct netd_counters *k = d->counters;

	if (k->hook)
		k->hook(d, t, k->hook_data);
}

int counters_read(struct netd *d, unsigned int slot, struct counters_snapshot *ret)
{
	struct netd_counters *k = d->counters;
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
	return 0;
}

static int slot_zero(struct netd_counters *k, unsigned int slot)
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
	return r;
}

int counters_set_drops(struct netd *d, const struct eni_attachment *t, enum tc_drop reason,
		       enum tc_dir dir, uint64_t bytes, uint64_t packets)
{
	struct netd_counters *k = d->counters;
	struct counters_pair p = { .bytes = bytes, .packets = packets };

	if (reason == TC_DROP_SPOOF || reason >= TC_DROP_COUNT || dir >= TC_DIR_COUNT ||
	    t->slot >= TC_SLOTS)
		return -EINVAL;
	return pairs_write(k, k->map_fd[COUNTERS_MAP_DROPS], TC_DROP_INDEX(t->slot, reason, dir), 1,
			   &p);
}

int counters_set_link_flow(struct netd *d, const struct eni_attachment *t, enum tc_flow flow,
			   enum tc_dir dir, uint64_t bytes, uint64_t packets)
{
	struct netd_counters *k = d->counters;
	struct counters_pair p = { .bytes = bytes, .packets = packets };
	int r;

	if (flow >= TC_FLOW_COUNT || dir >= TC_DIR_COUNT || t->slot >= TC_SLOTS)
		return -EINVAL;
	r = pairs_write(k, k->map_fd[COUNTERS_MAP_COUNTERS], TC_COUNTER_INDEX(t->slot, flow, dir),
			1, &p);
	if (r < 0)
		return r;
	/* All of it is another link's: out of the ENI's share. */
	return pairs_write(k, k->map_fd[COUNTERS_MAP_AUXCNT], TC_AUX_INDEX(t->slot, dir), 1, &p);
}

void counters_set_read_hook(struct netd *d, counters_read_hook_fn fn, void *data)
{
	d->counters->hook = fn;
	d->counters->hook_data = data;
}

/* --- loading and attaching ----------------------------------------------------------------- */

struct load_opts {
	unsigned int slot;
	uint32_t cookie;
	unsigned int fixed_flow; /* TC_FLOW_COUNT: classify */
	const struct in_prefix *addrs;
	unsigned int naddrs;
};

static uint32_t new_cookie(void)
{
	uint32_t c = 0;

	if (getrandom(&c, sizeof(c), GRND_NONBLOCK) != (ssize_t)sizeof(c))
		c = (uint32_t)(now_usec() ^ ((uint64_t)getpid() << 16));
	return c ?: 1;
}

static int prog_load(struct netd_counters *k, const struct load_opts *o, struct tc_counters **ret)
{
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct tc_counters__rodata *ro;
	struct bpf_map *maps[COUNTERS_MAP_COUNT];
	unsigned int n4 = 0, n6 = 0;
	int r;

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
	for (unsigned int i = 0; i < COUNTERS_MAP_COUNT; i++) {
		r = bpf_map__reuse_fd(maps[i], k->map_fd[i]);
		if (r < 0)
			return r;
	}
	r = tc_counters__load(skel);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(skel);
	return 0;
}

/*
 * Loading the programs (the verifier) takes a few milliseconds of CPU and needs nothing of the
 * namespace, while the move that comes first in an attach spends ~16 ms asleep in the kernel
 * waiting for an RCU grace period. So an attach starts the load on a helper thread before the
 * move, and the counters step takes the result. The thread touches only its own skeleton and
 * reads the map fds, which do not change while netd runs.
 */
struct counters_prep {
	pthread_t thread;
	struct netd_counters *k;
	struct load_opts lo;
	struct in_prefix addrs[ATTACH_MAX_ADDRS];
	struct tc_counters *skel;
	int r;
};

static void *prep_thread(void *arg)
{
	struct counters_prep *p = arg;

	p->r = prog_load(p->k, &p->lo, &p->skel);
	return NULL;
}

static int counters_step_prepare(struct attach_ctx *c)
{
	struct counters_prep *p;
	int r;

	if (c->priv || c->a->slot >= TC_SLOTS)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return 0; /* the step loads them itself */
	p->k = c->d->counters;
	memcpy(p->addrs, c->a->addrs, sizeof(p->addrs[0]) * MIN(c->a->naddrs, ATTACH_MAX_ADDRS));
	p->lo = (struct load_opts){ .slot = c->a->slot,
				    .cookie = new_cookie(),
				    .fixed_flow = TC_FLOW_COUNT,
				    .addrs = p->addrs,
				    .naddrs = MIN(c->a->naddrs, ATTACH_MAX_ADDRS) };
	r = -pthread_create(&p->thread, NULL, prep_thread, p);
	if (r < 0) {
		free(p);
		/* The step loads them itself then. */
		log_debug_errno(r, "%s '%s': no early load of the counters (%m)", c->a->kind,
				c->a->id);
		return 0;
	}
	c->priv = p;
	return 0;
}

/* Wait for a prepared load; takes its skeleton and cookie (0 if there was none). */
static int prep_take(struct attach_ctx *c, struct tc_counters **ret_skel, uint32_t *ret_cookie)
{
	struct counters_prep *p = c->priv;
	int r;

	if (!p)
		return 0;
	c->priv = NULL;
	pthread_join(p->thread, NULL);
	r = p->r;
	if (r == 0) {
		*ret_skel = p->skel;
		*ret_cookie = p->lo.cookie;
		r = 1;
	}
	free(p);
	return r;
}

static void counters_step_release(struct attach_ctx *c)
{
	struct tc_counters *skel = NULL;
	uint32_t cookie;

	if (prep_take(c, &skel, &cookie) > 0)
		tc_counters__destroy(skel);
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
static int tc_attach(int ifindex, struct tc_counters *skel, bool *ret_hook_created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, in, .handle = COUNTERS_TC_HANDLE,
			    .priority = COUNTERS_TC_PRIO_INGRESS, .flags = BPF_TC_F_REPLACE,
			    .prog_fd = bpf_program__fd(skel->progs.tc_ingress));
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, eg, .handle = COUNTERS_TC_HANDLE,
			    .priority = COUNTERS_TC_PRIO_EGRESS, .flags = BPF_TC_F_REPLACE,
			    .prog_fd = bpf_program__fd(skel->progs.tc_egress));
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

static int prog_inspect(struct netd_counters *k, uint32_t prog_id, struct prog_facts *ret)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[16];
	_cleanup_close_ int fd = -1;
	bool have_ro = false;
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
		_cleanup_close_ int mfd = -1;
		size_t nlen;

		if (ids[i] == k->counters_map_id) {
			ret->ours = true;
			continue;
		}
		mfd = bpf_map_get_fd_by_id(ids[i]);
		if (mfd < 0 || bpf_obj_get_info_by_fd(mfd, &mi, &mlen) < 0)
			continue;
		nlen = strnlen(mi.name, sizeof(mi.name));
		if (nlen < 7 || !streq(mi.name + nlen - 7, ".rodata") ||
		    mi.value_size != sizeof(ro))
			continue;
		if (bpf_map_lookup_elem(mfd, &zero, &ro) < 0)
			continue;
		ret->slot = ro.slot;
		ret->cookie = ro.cookie;
		ret->fixed_flow = ro.fixed_flow;
		have_ro = true;
	}
	if (!have_ro)
		ret->ours = false;
	return 0;
}

/* Query our filter on one hook: 0 with the program's facts, -ENOENT when there is none. */
static int tc_query(struct netd_counters *k, int ifindex, enum bpf_tc_attach_point point,
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
static int tc_verify(struct netd_counters *k, int ifindex, unsigned int slot,
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

/* --- the counters journal: what a restarted netd needs to know of an attach ---------------- */

static json_t *dev_json(const struct link_stats *v, const char *ifname)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes",
			      (json_int_t)v->rx_bytes, "rx_packets", (json_int_t)v->rx_packets,
			      "rx_errors", (json_int_t)v->rx_errors, "rx_dropped",
			      (json_int_t)v->rx_dropped, "tx_bytes", (json_int_t)v->tx_bytes,
			      "tx_packets", (json_int_t)v->tx_packets, "tx_errors",
			      (json_int_t)v->tx_errors, "tx_dropped", (json_int_t)v->tx_dropped);

	if (j && ifname)
		json_object_set_new(j, "ifname", json_string(ifname));
	return j;
}

static void dev_from_json(json_t *j, struct link_stats *ret)
{
	*ret = (struct link_stats){
		.rx_bytes = (uint64_t)json_integer_value(json_object_get(j, "rx_bytes")),
		.rx_packets = (uint64_t)json_integer_value(json_object_get(j, "rx_packets")),
		.rx_errors = (uint64_t)json_integer_value(json_object_get(j, "rx_errors")),
		.rx_dropped = (uint64_t)json_integer_value(json_object_get(j, "rx_dropped")),
		.tx_bytes = (uint64_t)json_integer_value(json_object_get(j, "tx_bytes")),
		.tx_packets = (uint64_t)json_integer_value(json_object_get(j, "tx_packets")),
		.tx_errors = (uint64_t)json_integer_value(json_object_get(j, "tx_errors")),
		.tx_dropped = (uint64_t)json_integer_value(json_object_get(j, "tx_dropped")),
	};
}

static int rec_save(struct netd_counters *k, const struct counters_task *rec)
{
	json_t *j;

	j = json_pack("{s:i, s:I, s:I, s:i, s:b, s:I}", "slot", rec->slot, "created_ns",
		      (json_int_t)rec->created_ns, "cookie", (json_int_t)rec->cookie, "ifindex",
		      rec->ifindex, "hook_created", rec->hook_created, "attached_ns",
		      (json_int_t)rec->attached_ns);
	if (j && rec->have_base)
		json_object_set_new(j, "device_at_attach", dev_json(&rec->base, NULL));
	return journal_save(k->journal, JOURNAL_COUNTERS, rec->id, j);
}

static void rec_unsave(struct netd_counters *k, const char *id)
{
	int r = journal_remove(k->journal, JOURNAL_COUNTERS, id);

	if (r < 0)
		log_warn_errno(r, "Failed to remove the counters journal of '%s': %m, ignoring",
			       id);
}

/* A record for t from its counters journal (-ENOENT if none, or if it is another task's). */
static int rec_load(struct netd_counters *k, const struct eni_attachment *t,
		    struct counters_task *rec)
{
	json_int_t created = 0, cookie = 0, attached = 0;
	int slot = -1, ifindex = 0, hook = 0;
	json_t *base = NULL;
	char path[PATH_MAX];
	json_auto_t *j = NULL;
	json_error_t jerr;
	int r;

	r = journal_load(k->journal, JOURNAL_COUNTERS, t->id, &j, &jerr);
	if (r == -EBADMSG ||
	    (r == 0 && json_unpack_ex(j, &jerr, 0, "{s:i, s:I, s:I, s:i, s:b, s:I, s?o}", "slot",
				      &slot, "created_ns", &created, "cookie", &cookie, "ifindex",
				      &ifindex, "hook_created", &hook, "attached_ns", &attached,
				      "device_at_attach", &base) < 0)) {
		(void)journal_path(k->journal, JOURNAL_COUNTERS, t->id, path, sizeof(path));
		log_warn("Counters journal '%s' is invalid (%s), ignoring it", path, jerr.text);
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	if ((unsigned int)slot != t->slot || (uint64_t)created != t->created_ns)
		return -ENOENT;
	rec->cookie = (uint32_t)cookie;
	rec->ifindex = ifindex;
	rec->hook_created = hook;
	rec->attached_ns = (uint64_t)attached;
	if (base) {
		dev_from_json(base, &rec->base);
		rec->have_base = true;
	}
	return 0;
}

/* --- records ------------------------------------------------------------------------------- */

static struct counters_task *rec_free(struct counters_task *rec)
{
	free(rec);
	return NULL;
}

static struct counters_task *rec_new(const struct eni_attachment *t)
{
	struct counters_task *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->slot = t->slot;
	strscpy(rec->id, t->id, sizeof(rec->id));
	rec->created_ns = t->created_ns;
	rec->ifindex = t->ifindex;
	rec->nsid = -1;
	memcpy(rec->mac, t->mac, ADDR_MAC_LEN);
	return rec;
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

/* --- the attach step ----------------------------------------------------------------------- */

static int counters_step_run(struct attach_ctx *c)
{
	struct netd_counters *k = c->d->counters;
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct eni_attachment *t = c->a;
	struct counters_task *rec;
	uint64_t start = now_usec();
	struct load_opts lo;
	int saved = -1, r;

	if (t->slot >= TC_SLOTS) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Slot %u is out of range", t->slot);
		return -EINVAL;
	}
	rec = rec_new(t);
	if (!rec) {
		counters_step_release(c);
		return -ENOMEM;
	}
	/* The load started before the move, if it did (counters_step_prepare()). */
	r = prep_take(c, &skel, &rec->cookie);
	if (r <= 0) {
		if (r < 0)
			log_debug_errno(r, "Task '%s': the early load failed (%m), loading now",
					t->id);
		rec->cookie = new_cookie();
	}
	lo = (struct load_opts){ .slot = t->slot,
				 .cookie = rec->cookie,
				 .fixed_flow = TC_FLOW_COUNT,
				 .addrs = t->addrs,
				 .naddrs = t->naddrs };

	/* The previous task of this slot is gone and its final counters are copied out. */
	r = slot_zero(k, t->slot);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to zero the counters of slot %u: %s",
			 t->slot, strerror(-r));
		goto out_free;
	}
	if (!skel)
		r = prog_load(k, &lo, &skel);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to load the counter programs: %s",
			 strerror(-r));
		goto out_free;
	}

	r = ns_enter(c->netns_fd, &saved);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to enter '%s': %s", t->netns_path,
			 strerror(-r));
		goto out_free;
	}
	r = tc_attach(t->ifindex, skel, &rec->hook_created);
	if (r < 0) {
		ns_leave(saved);
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "Failed to attach tc counters to '%s' in '%s': %s", t->ifname,
			 t->netns_path, strerror(-r));
		goto out_free;
	}
	ns_leave(saved);
	r = devstats_nsid(k->devstats, c->netns_fd, &rec->nsid);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to get an id for namespace '%s': %s",
			 t->netns_path, strerror(-r));
		goto out_detach;
	}
	r = counters_devstats_read(k, rec, &rec->base);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to read the statistics of '%s': %s",
			 t->ifname, strerror(-r));
		goto out_detach;
	}
	rec->have_base = true;
	rec->dev = rec->base;
	rec->have_dev = true;
	rec->attached_ns = realtime_nsec();
	rec->last = rec->prev = (struct counters_sample){ .usec = now_usec() };
	r = rec_save(k, rec);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to write the counters journal: %s",
			 strerror(-r));
		goto out_detach;
	}
	k->slots[t->slot] = rec;
	log_debug("Task '%s': counters attached to '%s' (slot %u, cookie %08x) in %llu us", t->id,
		  t->ifname, t->slot, rec->cookie, (unsigned long long)(now_usec() - start));
	return 0;

out_detach:
	if (ns_enter(c->netns_fd, &saved) == 0) {
		(void)tc_detach(t->ifindex, rec->hook_created);
		ns_leave(saved);
	}
out_free:
	rec_free(rec);
	return r;
}

/* The final counters of a task that is detaching: read while its ENI is still there. */
static void keep_final(struct attach_ctx *c, struct counters_task *rec, const struct link_info *li)
{
	struct netd_counters *k = c->d->counters;
	const struct link_stats *devp = NULL;
	struct counters_task fallback = {};
	struct eni_attachment *t = c->a;

	if (li) {
		devp = &li->stats;
	} else if (rec && rec->have_dev) {
		devp = &rec->dev; /* the namespace is gone: the last we read */
	}
	/* After a restart that did not adopt the task: what its journal says. */
	if (!rec && rec_load(k, t, &fallback) == 0)
		rec = &fallback;
	counters_keep_final(c->d, t, rec, devp);
}

static int counters_step_undo(struct attach_ctx *c)
{
	struct netd_counters *k = c->d->counters;
	struct eni_attachment *t = c->a;
	struct counters_task *rec = t->slot < TC_SLOTS ? k->slots[t->slot] : NULL;
	struct counters_task fallback = {};
	struct link_info li;
	bool have_link = false, hook_created;
	int saved = -1, r = 0;

	if (rec && (!streq(rec->id, t->id) || rec->created_ns != t->created_ns))
		rec = NULL; /* not this task's (cannot happen: slots are unique) */
	if (c->netns_fd >= 0 && step_find_link(c, &li) == 0)
		have_link = true;
	if (c->detach)
		keep_final(c, rec, have_link ? &li : NULL);

	hook_created = rec ? rec->hook_created : false;
	if (!rec && rec_load(k, t, &fallback) == 0)
		hook_created = fallback.hook_created;
	if (have_link) {
		r = ns_enter(c->netns_fd, &saved);
		if (r < 0)
			return r;
		for (unsigned int i = 0; rec && i < rec->nlinks; i++)
			(void)tc_detach(rec->links[i].ifindex, rec->links[i].hook_created);
		r = tc_detach(li.ifindex, hook_created);
		ns_leave(saved);
		if (r < 0) {
			snprintf(c->errmsg, sizeof(c->errmsg),
				 "Failed to detach tc counters from '%s': %s", li.ifname,
				 strerror(-r));
			return r;
		}
	}
	rec_unsave(k, t->id);
	if (rec) {
		k->slots[t->slot] = NULL;
		rec_free(rec);
	}
	return 0;
}

static int counters_step_check(struct attach_ctx *c, json_t *diffs)
{
	struct netd_counters *k = c->d->counters;
	struct eni_attachment *t = c->a;
	const char *what = NULL;
	char want[64], have[64];
	struct link_info li;
	int saved = -1, r;

	r = step_find_link(c, &li);
	if (r < 0)
		return r;
	r = ns_enter(c->netns_fd, &saved);
	if (r < 0)
		return r;
	r = tc_verify(k, li.ifindex, t->slot, TC_FLOW_COUNT, &what, NULL);
	ns_leave(saved);
	if (r < 0)
		return r;
	if (r == 0) {
		snprintf(want, sizeof(want), "tc %s filter of slot %u on %s", what, t->slot,
			 t->ifname);
		snprintf(have, sizeof(have), "missing or not ours");
		json_diff_append(diffs, "counters", want, have);
	}
	return 0;
}

/* Right after the move (which drops qdiscs), before the link is up: the filters see every packet
 * the device counts. */
const struct attach_step step_counters = {
	.name = "counters",
	.prepare = counters_step_prepare,
	.run = counters_step_run,
	.undo = counters_step_undo,
	.check = counters_step_check,
	.release = counters_step_release,
};

/* --- other links --------------------------------------------------------------------------- */

int counters_attach(struct netd *d, const struct eni_attachment *t, int netns_fd,
		    const struct counters_attach_opts *opts)
{
	struct netd_counters *k = d->counters;
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct counters_task *rec = t->slot < TC_SLOTS ? k->slots[t->slot] : NULL;
	struct load_opts lo;
	bool created = false;
	int saved = -1, r;

	if (!opts || opts->ifindex <= 0 || opts->fixed_flow >= TC_FLOW_COUNT)
		return -EINVAL;
	if (!rec)
		return -ENOENT;
	if (rec->nlinks >= COUNTERS_MAX_LINKS)
		return -ENOSPC;
	lo = (struct load_opts){ .slot = t->slot,
				 .cookie = rec->cookie,
				 .fixed_flow = opts->fixed_flow,
				 .addrs = opts->addrs,
				 .naddrs = opts->addrs ? opts->naddrs : 0 };
	r = prog_load(k, &lo, &skel);
	if (r < 0)
		return r;
	r = ns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = tc_attach(opts->ifindex, skel, &created);
	ns_leave(saved);
	if (r < 0)
		return r;
	rec->links[rec->nlinks++] = (struct counters_link){ .ifindex = opts->ifindex,
							    .flow = opts->fixed_flow,
							    .hook_created = created };
	return 0;
}

int counters_detach(struct netd *d, const struct eni_attachment *t, int netns_fd, int ifindex)
{
	struct netd_counters *k = d->counters;
	struct counters_task *rec = t->slot < TC_SLOTS ? k->slots[t->slot] : NULL;
	bool created = false;
	int saved = -1, r;

	for (unsigned int i = 0; rec && i < rec->nlinks; i++)
		if (rec->links[i].ifindex == ifindex) {
			created = rec->links[i].hook_created;
			rec->links[i] = rec->links[--rec->nlinks];
			break;
		}
	r = ns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = tc_detach(ifindex, created);
	ns_leave(saved);
	return r == -ENODEV ? 0 : r;
}

int counters_link_attached(struct netd *d, const struct eni_attachment *t, int netns_fd,
			   int ifindex)
{
	struct netd_counters *k = d->counters;
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
	return f.ours && f.slot == t->slot;
}

/* --- start: re-adopting what a previous netd attached -------------------------------------- */

static int adopt_task(struct netd *d, struct eni_attachment *t)
{
	struct netd_counters *k = d->counters;
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct attach_ctx c = { .d = d, .a = t, .netns_fd = -1 };
	struct counters_task *rec;
	const char *what = NULL;
	struct netns_id id;
	struct link_info li;
	uint32_t cookie = 0;
	bool save = false;
	int saved = -1, r;

	rec = rec_new(t);
	if (!rec)
		return -ENOMEM;
	r = rec_load(k, t, rec);
	if (r < 0 && r != -ENOENT && r != -EBADMSG)
		log_warn_errno(r, "Task '%s': failed to read its counters journal: %m, ignoring",
			       t->id);
	save = r < 0; /* write it again only if it was not there or changed */
	r = netns_open(t->netns_path, &c.netns_fd);
	if (r == 0 && (netns_get_id(c.netns_fd, &id) < 0 || !netns_id_equal(&id, &t->netns_id)))
		r = -ENOENT;
	if (r == 0)
		r = step_find_link(&c, &li);
	if (r < 0) {
		/* Nothing to count any more; keep the record so that detach keeps the finals. */
		log_warn_errno(
			r, "Task '%s': its ENI is not in '%s' (%m); its counters stay as they are",
			t->id, t->netns_path);
		k->slots[t->slot] = rec;
		c.tnl = netlink_free(c.tnl);
		c.netns_fd = safe_close(c.netns_fd);
		return 0;
	}
	save = save || rec->ifindex != li.ifindex;
	rec->ifindex = li.ifindex;

	r = ns_enter(c.netns_fd, &saved);
	if (r < 0)
		goto out;
	r = tc_verify(k, li.ifindex, t->slot, TC_FLOW_COUNT, &what, &cookie);
	if (r == 0) {
		/* A filter is missing or not ours: attach again (a restart must not stop counting). */
		struct load_opts lo = { .slot = t->slot,
					.cookie = cookie ?: (rec->cookie ?: new_cookie()),
					.fixed_flow = TC_FLOW_COUNT,
					.addrs = t->addrs,
					.naddrs = t->naddrs };
		bool created = false;

		ns_leave(saved);
		r = prog_load(k, &lo, &skel);
		if (r >= 0)
			r = ns_enter(c.netns_fd, &saved);
		if (r < 0)
			goto out;
		r = tc_attach(li.ifindex, skel, &created);
		if (r == 0) {
			rec->cookie = lo.cookie;
			rec->hook_created = rec->hook_created || created;
			save = true;
			events_emit(
				d, "counters.reattached", json_pack("{s:s}", "task_id", t->id),
				"Task '%s': the tc %s counter filter was missing or foreign; attached again",
				t->id, what);
		}
	} else if (r > 0) {
		save = save || rec->cookie != cookie;
		rec->cookie = cookie;
	}
	ns_leave(saved);
	if (r < 0)
		goto out;
	r = devstats_nsid(k->devstats, c.netns_fd, &rec->nsid);
	if (r < 0)
		goto out;
	if (counters_devstats_read(k, rec, &rec->dev) == 0)
		rec->have_dev = true;
	rec->last = rec->prev = (struct counters_sample){ .usec = now_usec() };
	if (counters_read(d, t->slot, &rec->snap) == 0) {
		struct counters_pair tot[TC_DIR_COUNT];

		counters_totals(&rec->snap, tot);
		rec->last.rx_bytes = rec->prev.rx_bytes = tot[TC_DIR_RX].bytes;
		rec->last.tx_bytes = rec->prev.tx_bytes = tot[TC_DIR_TX].bytes;
	}
	if (!rec->attached_ns)
		rec->attached_ns = t->created_ns;
	k->slots[t->slot] = TAKE_PTR(rec);
	if (save)
		(void)rec_save(k, k->slots[t->slot]);
	log_info("Task '%s': counters re-adopted on '%s' (slot %u)", t->id, t->ifname, t->slot);
	r = 0;
out:
	c.tnl = netlink_free(c.tnl);
	c.netns_fd = safe_close(c.netns_fd);
	rec_free(rec);
	return r;
}

static int sweep_one(struct journal *j, const char *name, void *data)
{
	char path[PATH_MAX];

	if (attachment_find(data, name))
		return 0;
	(void)journal_path(j, JOURNAL_COUNTERS, name, path, sizeof(path));
	log_debug("Removing the counters journal '%s' of no task", path);
	(void)journal_remove(j, JOURNAL_COUNTERS, name);
	return 0;
}

/* Remove counters journals of tasks that do not exist. */
static void journal_sweep(struct netd *d)
{
	(void)journal_foreach(d->journal, JOURNAL_COUNTERS, sweep_one, d);
}

int counters_adopt(struct netd *d)
{
	struct netd_counters *k = d->counters;

	for (struct eni_attachment *t = d->attachments; t; t = t->next) {
		int r;

		if (t->state != ATTACH_STATE_ATTACHED)
			continue;
		if (t->slot >= TC_SLOTS || k->slots[t->slot])
			continue;
		r = adopt_task(d, t);
		if (r < 0)
			log_warn_errno(
				r,
				"Task '%s': failed to re-adopt its counters: %m; 'netdctl task check' reports it",
				t->id);
	}
	journal_sweep(d);
	return 0;
}

struct counters_task *counters_task_rec(struct netd *d, const struct eni_attachment *t)
{
	struct counters_task *rec = t->slot < TC_SLOTS ? d->counters->slots[t->slot] : NULL;

	return rec && streq(rec->id, t->id) && rec->created_ns == t->created_ns ? rec : NULL;
}

/* --- start and stop ------------------------------------------------------------------------ */

int counters_init(struct netd *d, const struct counters_opts *o)
{
	struct netd_counters *k;
	int n, r;

	libbpf_set_print(libbpf_print);
	k = calloc(1, sizeof(*k));
	if (!k)
		return log_oom();
	d->counters = k;
	for (unsigned int i = 0; i < COUNTERS_MAP_COUNT; i++)
		k->map_fd[i] = -1;
	k->interval_sec = o->interval_sec ?: COUNTERS_DEFAULT_INTERVAL;
	k->retention_sec = o->retention_sec;
	k->journal = d->journal;
	k->bpffs = strdup(o->bpffs ?: COUNTERS_DEFAULT_BPFFS);
	k->metrics_listen = o->metrics_listen ? strdup(o->metrics_listen) : NULL;
	if (!k->bpffs || (o->metrics_listen && !k->metrics_listen))
		return log_oom();

	n = libbpf_num_possible_cpus();
	if (n <= 0)
		return log_err_errno(n < 0 ? n : -EINVAL, "Failed to count the possible CPUs: %m");
	k->ncpus = (unsigned int)n;
	/* Per-CPU values are laid out 8-byte aligned. */
	k->stride = (sizeof(struct tc_count) + 7) & ~(size_t)7;

	r = devstats_new(&k->devstats);
	if (r < 0)
		return log_err_errno(r, "Failed to open rtnetlink: %m");
	r = bpffs_prepare(k->bpffs);
	if (r < 0)
		return log_err_errno(r, "Failed to prepare the bpf filesystem '%s': %m", k->bpffs);
	r = maps_open(k);
	if (r < 0)
		return r;
	r = counters_stats_init(d);
	if (r < 0)
		return r;
	log_info("Counters: maps in '%s', sampling every %u s, final counters kept %u s", k->bpffs,
		 k->interval_sec, k->retention_sec);
	return 0;
}

int counters_metrics_start(struct netd *d)
{
	struct netd_counters *k = d->counters;
	int r;

	if (!k->metrics_listen)
		return 0;
	r = metrics_server_new(d->loop, k->metrics_listen, counters_metrics_render, d, &k->metrics);
	if (r < 0)
		return log_err_errno(r, "Failed to serve metrics on '%s': %m", k->metrics_listen);
	log_info("Prometheus metrics on http://%s/metrics", metrics_server_address(k->metrics));
	return 0;
}

void counters_exit(struct netd *d)
{
	struct netd_counters *k = d->counters;

	if (!k)
		return;
	k->metrics = metrics_server_free(k->metrics);
	counters_stats_exit(d);
	for (unsigned int s = 0; s < TC_SLOTS; s++)
		k->slots[s] = rec_free(k->slots[s]);
	for (unsigned int i = 0; i < COUNTERS_MAP_COUNT; i++)
		k->map_fd[i] = safe_close(k->map_fd[i]);
	k->devstats = devstats_free(k->devstats);
	free(k->bpffs);
	free(k->metrics_listen);
	free(k);
	d->counters = NULL;
}
