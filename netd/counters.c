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
#include <dirent.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "counters.h"
#include "event.h"
#include "json-util.h"
#include "log.h"
#include "metrics.h"
#include "netd.h"
#include "tc_counters.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define COUNTERS_MAX_LINKS   4
#define COUNTERS_MAX_FINALS  (4 * NETD_MAX_TASKS)
#define COUNTERS_MAX_FILE    (256 * 1024)
#define COUNTERS_SLOT_VALUES (TC_FLOW_COUNT * TC_DIR_COUNT)

enum {
	MAP_COUNTERS,
	MAP_DROPS,
	MAP_AUXCNT,
	MAP_FLOWTAB,
	MAP_COUNT,
};

static const char *const map_names[MAP_COUNT] = {
	[MAP_COUNTERS] = "counters",
	[MAP_DROPS] = "drops",
	[MAP_AUXCNT] = "auxcnt",
	[MAP_FLOWTAB] = "flowtab",
};

static const char *const flow_names[TC_FLOW_COUNT] = {
	[TC_FLOW_APP] = "app",		 [TC_FLOW_PULL] = "pull", [TC_FLOW_AUTH] = "auth",
	[TC_FLOW_SECRETS] = "secrets",	 [TC_FLOW_LOGS] = "logs", [TC_FLOW_EFS] = "efs",
	[TC_FLOW_METADATA] = "metadata",
};

static const char *const dir_names[TC_DIR_COUNT] = { [TC_DIR_RX] = "rx", [TC_DIR_TX] = "tx" };

static const char *const drop_names[TC_DROP_COUNT] = {
	[TC_DROP_SPOOF] = "spoof",
	[TC_DROP_IMDS] = "imds",
	[TC_DROP_POLICY] = "policy",
};

/* A link's IFLA_STATS64, the part we report. */
struct counters_dev {
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/* A link other than the ENI with our programs (fixed flow). */
struct counters_link {
	int ifindex;
	unsigned int flow;
	bool hook_created;
};

struct counters_sample {
	uint64_t usec; /* CLOCK_MONOTONIC */
	uint64_t rx_bytes, tx_bytes;
};

/* A task whose ENI has our programs. */
struct counters_task {
	unsigned int slot;
	char id[IDENT_TASK_ID_MAX + 1];
	uint64_t created_ns; /* the task's creation time: tells two tasks of one id apart */
	uint32_t cookie;
	int ifindex;
	bool hook_created;
	uint64_t attached_ns;
	int nsid; /* the task namespace's id in netd's, for reading the ENI's stats; -1: none */
	struct counters_dev dev, base; /* last read; at attach */
	bool have_dev, have_base;
	struct counters_sample prev, last;
	struct counters_snapshot snap; /* at the last sample */
	struct counters_link links[COUNTERS_MAX_LINKS];
	unsigned int nlinks;
};

/* The final counters of a detached task. */
struct counters_final {
	struct counters_final *next;
	char id[IDENT_TASK_ID_MAX + 1];
	uint64_t created_ns;
	uint64_t detached_usec; /* CLOCK_MONOTONIC, for the retention */
	json_t *stats;
};

struct netd_counters {
	char *bpffs;
	char *final_dir;
	char *journal_dir;
	unsigned int interval_sec;
	unsigned int retention_sec;
	char *metrics_listen;
	int map_fd[MAP_COUNT];
	uint32_t counters_map_id;
	unsigned int ncpus;
	size_t stride;
	void *buf; /* batch reads: COUNTERS_SLOT_VALUES values of every CPU */
	struct counters_task *slots[TC_SLOTS];
	struct counters_final *finals;
	unsigned int nfinals;
	int timer_id;
	struct metrics_server *metrics;
	struct mnl_socket *rtnl; /* in netd's namespace: the ENIs' link statistics */
	unsigned int seq;
	counters_read_hook_fn hook;
	void *hook_data;
};

const char *counters_flow_to_string(unsigned int flow)
{
	return flow < TC_FLOW_COUNT ? flow_names[flow] : "unknown";
}

int counters_flow_from_string(const char *s)
{
	for (unsigned int i = 0; i < TC_FLOW_COUNT; i++)
		if (streq(flow_names[i], s))
			return (int)i;
	return -EINVAL;
}

const char *counters_dir_to_string(unsigned int dir)
{
	return dir < TC_DIR_COUNT ? dir_names[dir] : "unknown";
}

const char *counters_drop_to_string(unsigned int reason)
{
	return reason < TC_DROP_COUNT ? drop_names[reason] : "unknown";
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

/*
 * --- the ENI's device counters --------------------------------------------------------------
 *
 * One rtnetlink socket in netd's own namespace reads every task's ENI: RTM_GETLINK with
 * IFLA_TARGET_NETNSID, the id the host namespace gives the task's namespace. Nothing is held
 * open inside a task namespace: a socket there would keep the namespace alive (a socket holds a
 * reference to its namespace), and a deleted namespace must die, and give a physical ENI back to
 * the host, when its last process goes.
 */

static int rtnl_open(struct mnl_socket **ret)
{
	struct mnl_socket *nl;
	int one = 1;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		mnl_socket_close(nl);
		return r;
	}
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	*ret = nl;
	return 0;
}

/* Send one request and run cb on the answers until the ACK or the last part. */
static int rtnl_call(struct netd_counters *k, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = ++k->seq;
	ssize_t n;
	int r;

	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(k->rtnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(k->rtnl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(k->rtnl), cb, data);
		if (r < 0)
			return errno > 0 ? -errno : -EIO;
		if (r == MNL_CB_STOP)
			return 0;
		if (!(nlh->nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP)))
			return 0;
	}
}

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;
	int *ret = data;

	if (nlh->nlmsg_type != RTM_NEWNSID)
		return MNL_CB_OK;
	mnl_attr_for_each(
		a, nlh, sizeof(struct rtgenmsg)) if (mnl_attr_get_type(a) == NETNSA_NSID &&
						     mnl_attr_validate(a, MNL_TYPE_U32) == 0) *ret =
		(int32_t)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

/* The id of a task namespace in netd's, assigning one if it has none. */
static int nsid_of(struct netd_counters *k, int netns_fd, int *ret_nsid)
{
	char buf[256];
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	int nsid = -1, r;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)netns_fd);
	mnl_attr_put_u32(nlh, NETNSA_NSID, (uint32_t)-1);
	r = rtnl_call(k, nlh, nsid_cb, &nsid);
	if (r < 0 && r != -EEXIST)
		return r;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)netns_fd);
	r = rtnl_call(k, nlh, nsid_cb, &nsid);
	if (r < 0)
		return r;
	if (nsid < 0)
		return -ENOENT;
	*ret_nsid = nsid;
	return 0;
}

static int devstats_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counters_dev *ret = data;
	struct rtnl_link_stats64 s;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_get_type(a) != IFLA_STATS64 || mnl_attr_get_payload_len(a) < sizeof(s))
			continue;
		memcpy(&s, mnl_attr_get_payload(a), sizeof(s));
		*ret = (struct counters_dev){
			.rx_bytes = s.rx_bytes,
			.rx_packets = s.rx_packets,
			.rx_errors = s.rx_errors,
			.rx_dropped = s.rx_dropped,
			.tx_bytes = s.tx_bytes,
			.tx_packets = s.tx_packets,
			.tx_errors = s.tx_errors,
			.tx_dropped = s.tx_dropped,
		};
		return MNL_CB_STOP;
	}
	errno = ENODATA;
	return MNL_CB_ERROR;
}

/* The IFLA_STATS64 of the task's ENI. */
static int devstats_read(struct netd_counters *k, const struct counters_task *rec,
			 struct counters_dev *ret)
{
	char buf[256];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (rec->nsid < 0 || rec->ifindex <= 0)
		return -ENOTCONN;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = rec->ifindex;
	mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (uint32_t)rec->nsid);
	return rtnl_call(k, nlh, devstats_cb, ret);
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
	const struct bpf_map *maps[MAP_COUNT];
	int r;

	skel = tc_counters__open();
	if (!skel)
		return log_err_errno(errno_or(EINVAL), "Failed to open the counter programs: %m");
	maps[MAP_COUNTERS] = skel->maps.counters;
	maps[MAP_DROPS] = skel->maps.drops;
	maps[MAP_AUXCNT] = skel->maps.auxcnt;
	maps[MAP_FLOWTAB] = skel->maps.flowtab;
	for (unsigned int i = 0; i < MAP_COUNT; i++) {
		r = map_open(k, maps[i], map_names[i], &k->map_fd[i]);
		if (r < 0)
			return r;
	}
	r = bpf_obj_get_info_by_fd(k->map_fd[MAP_COUNTERS], &info, &len);
	if (r < 0)
		return log_err_errno(r, "Failed to read the counters map's id: %m");
	k->counters_map_id = info.id;
	return 0;
}

static int pairs_read(struct netd_counters *k, int fd, uint32_t first, uint32_t n,
		      struct counters_pair *ret)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint32_t keys[COUNTERS_SLOT_VALUES], in = first - 1, out = 0, count = n;
	int r;

	if (n > COUNTERS_SLOT_VALUES)
		return -EINVAL;
	/* An array batch starts after in_batch (NULL: at 0) and ends -ENOENT at the map's end. */
	r = bpf_map_lookup_batch(fd, first ? &in : NULL, &out, keys, k->buf, &count, &o);
	if (r < 0 && r != -ENOENT)
		return r;
	if (count != n || keys[0] != first)
		return -EIO;
	for (uint32_t i = 0; i < n; i++) {
		ret[i] = (struct counters_pair){};
		for (unsigned int cpu = 0; cpu < k->ncpus; cpu++) {
			const struct tc_count *v = (const void *)((const char *)k->buf +
								  (i * k->ncpus + cpu) * k->stride);

			ret[i].bytes += v->bytes;
			ret[i].packets += v->packets;
			ret[i].segs += v->segs;
		}
	}
	return 0;
}

/* Write n values (every CPU) from first: zeros, or bytes/packets on CPU 0. */
static int pairs_write(struct netd_counters *k, int fd, uint32_t first, uint32_t n,
		       const struct counters_pair *cpu0)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint32_t keys[COUNTERS_SLOT_VALUES], count = n;

	if (n > COUNTERS_SLOT_VALUES)
		return -EINVAL;
	memset(k->buf, 0, (size_t)n * k->ncpus * k->stride);
	for (uint32_t i = 0; i < n; i++) {
		keys[i] = first + i;
		if (cpu0) {
			struct tc_count *v = (void *)((char *)k->buf + i * k->ncpus * k->stride);

			v->bytes = cpu0[i].bytes;
			v->packets = cpu0[i].packets;
			v->segs = cpu0[i].packets;
		}
	}
	return bpf_map_update_batch(fd, keys, k->buf, &count, &o);
}

static void run_hook(struct netd *d)
{
	struct netd_counters *k = d->counters;

	if (k->hook)
		k->hook(d, k->hook_data);
}

int counters_read(struct netd *d, unsigned int slot, struct counters_snapshot *ret)
{
	struct netd_counters *k = d->counters;
	struct counters_pair v[COUNTERS_SLOT_VALUES];
	int r;

	if (slot >= TC_SLOTS)
		return -EINVAL;
	r = pairs_read(k, k->map_fd[MAP_COUNTERS], TC_COUNTER_INDEX(slot, 0, 0),
		       TC_FLOW_COUNT * TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	memcpy(ret->flows, v, sizeof(ret->flows));
	r = pairs_read(k, k->map_fd[MAP_DROPS], TC_DROP_INDEX(slot, 0, 0),
		       TC_DROP_COUNT * TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	memcpy(ret->drops, v, sizeof(ret->drops));
	r = pairs_read(k, k->map_fd[MAP_AUXCNT], TC_AUX_INDEX(slot, 0), TC_DIR_COUNT, v);
	if (r < 0)
		return r;
	memcpy(ret->aux, v, sizeof(ret->aux));
	return 0;
}

static int slot_zero(struct netd_counters *k, unsigned int slot)
{
	int r;

	r = pairs_write(k, k->map_fd[MAP_COUNTERS], TC_COUNTER_INDEX(slot, 0, 0),
			TC_FLOW_COUNT * TC_DIR_COUNT, NULL);
	if (r >= 0)
		r = pairs_write(k, k->map_fd[MAP_DROPS], TC_DROP_INDEX(slot, 0, 0),
				TC_DROP_COUNT * TC_DIR_COUNT, NULL);
	if (r >= 0)
		r = pairs_write(k, k->map_fd[MAP_AUXCNT], TC_AUX_INDEX(slot, 0), TC_DIR_COUNT,
				NULL);
	return r;
}

int counters_set_drops(struct netd *d, const struct task *t, enum tc_drop reason, enum tc_dir dir,
		       uint64_t bytes, uint64_t packets)
{
	struct netd_counters *k = d->counters;
	struct counters_pair p = { .bytes = bytes, .packets = packets };

	if (reason == TC_DROP_SPOOF || reason >= TC_DROP_COUNT || dir >= TC_DIR_COUNT ||
	    t->slot >= TC_SLOTS)
		return -EINVAL;
	return pairs_write(k, k->map_fd[MAP_DROPS], TC_DROP_INDEX(t->slot, reason, dir), 1, &p);
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
	struct bpf_map *maps[MAP_COUNT];
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

	maps[MAP_COUNTERS] = skel->maps.counters;
	maps[MAP_DROPS] = skel->maps.drops;
	maps[MAP_AUXCNT] = skel->maps.auxcnt;
	maps[MAP_FLOWTAB] = skel->maps.flowtab;
	for (unsigned int i = 0; i < MAP_COUNT; i++) {
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

static int journal_path(struct netd_counters *k, const char *id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.json", k->journal_dir, id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static json_t *dev_json(const struct counters_dev *v, const char *ifname)
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

static void dev_from_json(json_t *j, struct counters_dev *ret)
{
	*ret = (struct counters_dev){
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

static int journal_save(struct netd_counters *k, const struct counters_task *rec)
{
	_cleanup_free_ char *s = NULL;
	char path[PATH_MAX];
	json_auto_t *j = NULL;
	int r;

	r = journal_path(k, rec->id, path, sizeof(path));
	if (r < 0)
		return r;
	j = json_pack("{s:i, s:I, s:I, s:i, s:b, s:I}", "slot", rec->slot, "created_ns",
		      (json_int_t)rec->created_ns, "cookie", (json_int_t)rec->cookie, "ifindex",
		      rec->ifindex, "hook_created", rec->hook_created, "attached_ns",
		      (json_int_t)rec->attached_ns);
	if (!j)
		return -ENOMEM;
	if (rec->have_base)
		json_object_set_new(j, "device_at_attach", dev_json(&rec->base, NULL));
	s = json_dumps(j, JSON_SORT_KEYS);
	if (!s)
		return -ENOMEM;
	return write_file_atomic(path, s, strlen(s), 0600);
}

static void journal_remove(struct netd_counters *k, const char *id)
{
	char path[PATH_MAX];

	if (journal_path(k, id, path, sizeof(path)) == 0 && unlink(path) < 0 && errno != ENOENT)
		log_warn_errno(errno, "Failed to remove '%s': %m, ignoring", path);
}

/* A record for t from its counters journal (-ENOENT if none, or if it is another task's). */
static int journal_load(struct netd_counters *k, const struct task *t, struct counters_task *rec)
{
	_cleanup_free_ char *buf = NULL;
	json_int_t created = 0, cookie = 0, attached = 0;
	int slot = -1, ifindex = 0, hook = 0;
	json_t *base = NULL;
	char path[PATH_MAX];
	json_auto_t *j = NULL;
	json_error_t jerr;
	size_t len;
	int r;

	r = journal_path(k, t->id, path, sizeof(path));
	if (r < 0)
		return r;
	r = read_file(path, COUNTERS_MAX_FILE, &buf, &len);
	if (r < 0)
		return r;
	j = json_loadb(buf, len, 0, &jerr);
	if (!j || json_unpack_ex(j, &jerr, 0, "{s:i, s:I, s:I, s:i, s:b, s:I, s?o}", "slot", &slot,
				 "created_ns", &created, "cookie", &cookie, "ifindex", &ifindex,
				 "hook_created", &hook, "attached_ns", &attached,
				 "device_at_attach", &base) < 0) {
		log_warn("Counters journal '%s' is invalid (%s), ignoring it", path, jerr.text);
		return -EBADMSG;
	}
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

static struct counters_task *rec_new(const struct task *t)
{
	struct counters_task *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->slot = t->slot;
	strscpy(rec->id, t->id, sizeof(rec->id));
	rec->created_ns = t->created_ns;
	rec->ifindex = t->ifindex;
	rec->nsid = -1;
	return rec;
}

static void totals_of(const struct counters_snapshot *s, struct counters_pair ret[TC_DIR_COUNT])
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

/* Read the counters and the device into the record and shift the samples. */
static int rec_sample(struct netd *d, struct counters_task *rec)
{
	struct counters_pair tot[TC_DIR_COUNT];
	struct counters_dev dev;
	int r;

	r = counters_read(d, rec->slot, &rec->snap);
	if (r < 0)
		return r;
	if (devstats_read(d->counters, rec, &dev) == 0) {
		rec->dev = dev;
		rec->have_dev = true;
	}
	totals_of(&rec->snap, tot);
	rec->prev = rec->last;
	rec->last = (struct counters_sample){ .usec = now_usec(),
					      .rx_bytes = tot[TC_DIR_RX].bytes,
					      .tx_bytes = tot[TC_DIR_TX].bytes };
	return 0;
}

/* --- JSON ---------------------------------------------------------------------------------- */

static json_t *pair_json(const struct counters_pair *p)
{
	return json_pack("{s:I, s:I, s:I}", "bytes", (json_int_t)p->bytes, "packets",
			 (json_int_t)p->packets, "segments", (json_int_t)p->segs);
}

static json_t *dirs_json(const struct counters_pair p[TC_DIR_COUNT])
{
	return json_pack("{s:o, s:o}", "rx", pair_json(&p[TC_DIR_RX]), "tx",
			 pair_json(&p[TC_DIR_TX]));
}

static double rate(uint64_t a, uint64_t b, uint64_t usec)
{
	return usec > 0 && b >= a ? (double)(b - a) * 1e6 / (double)usec : 0.0;
}

struct stats_in {
	const char *id;
	unsigned int slot;
	const char *phase;
	bool detached;
	uint64_t time_ns;
	const char *ifname;
	const struct counters_snapshot *snap;
	const struct counters_dev *dev;	 /* NULL: unknown */
	const struct counters_dev *base; /* NULL: unknown */
	const struct counters_task *rec; /* for the rates; NULL: none */
	unsigned int window_sec;
};

/* One task's stats, in the shape of docs/PROTOCOL.md. */
static json_t *stats_json(const struct stats_in *in)
{
	struct counters_pair tot[TC_DIR_COUNT], eni[TC_DIR_COUNT];
	char ts[40];
	json_t *j, *flows, *drops;
	double rx = 0, tx = 0;

	totals_of(in->snap, tot);
	for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++) {
		const struct counters_pair *a = &in->snap->aux[dir];

		eni[dir] = (struct counters_pair){ .bytes = tot[dir].bytes - a->bytes,
						   .packets = tot[dir].packets - a->packets,
						   .segs = tot[dir].segs - a->segs };
	}
	flows = json_object();
	for (unsigned int f = 0; f < TC_FLOW_COUNT; f++)
		json_object_set_new(flows, flow_names[f], dirs_json(in->snap->flows[f]));
	drops = json_object();
	for (unsigned int r = 0; r < TC_DROP_COUNT; r++)
		json_object_set_new(drops, drop_names[r], dirs_json(in->snap->drops[r]));
	if (in->rec && in->rec->last.usec > in->rec->prev.usec) {
		uint64_t us = in->rec->last.usec - in->rec->prev.usec;

		rx = rate(in->rec->prev.rx_bytes, in->rec->last.rx_bytes, us);
		tx = rate(in->rec->prev.tx_bytes, in->rec->last.tx_bytes, us);
	}
	format_rfc3339_nsec(in->time_ns, ts, sizeof(ts));
	j = json_pack("{s:s, s:i, s:s, s:b, s:s}", "task_id", in->id, "slot", in->slot, "phase",
		      in->phase, "detached", in->detached, "time", ts);
	if (!j) {
		json_decref(flows);
		json_decref(drops);
		return NULL;
	}
	if (in->dev)
		json_object_set_new(j, "device", dev_json(in->dev, in->ifname));
	if (in->base) {
		json_t *b = json_pack("{s:I, s:I, s:I, s:I}", "rx_bytes",
				      (json_int_t)in->base->rx_bytes, "rx_packets",
				      (json_int_t)in->base->rx_packets, "tx_bytes",
				      (json_int_t)in->base->tx_bytes, "tx_packets",
				      (json_int_t)in->base->tx_packets);

		json_object_set_new(j, "device_at_attach", b);
	}
	json_object_set_new(j, "totals", dirs_json(tot));
	json_object_set_new(j, "eni", dirs_json(eni));
	json_object_set_new(j, "flows", flows);
	json_object_set_new(j, "drops", drops);
	json_object_set_new(j, "rates",
			    json_pack("{s:i, s:f, s:f}", "window_sec", in->window_sec,
				      "rx_bytes_per_sec", rx, "tx_bytes_per_sec", tx));
	if (in->rec && in->rec->attached_ns) {
		format_rfc3339_nsec(in->rec->attached_ns, ts, sizeof(ts));
		json_object_set_new(j, "attached", json_string(ts));
	}
	return j;
}

/* A live task's stats from its record: fresh (reading now) or from the last sample. */
static json_t *live_json(struct netd *d, const struct task *t, struct counters_task *rec,
			 bool fresh)
{
	struct netd_counters *k = d->counters;
	struct counters_snapshot snap;
	struct stats_in in = {
		.id = t->id,
		.slot = t->slot,
		.phase = task_phase_to_string(t->phase),
		.time_ns = realtime_nsec(),
		.ifname = t->ifname,
		.rec = rec,
		.window_sec = k->interval_sec,
	};

	if (fresh) {
		struct counters_dev dev;

		if (counters_read(d, t->slot, &snap) < 0)
			return NULL;
		if (devstats_read(d->counters, rec, &dev) == 0) {
			rec->dev = dev;
			rec->have_dev = true;
		}
		in.snap = &snap;
	} else {
		in.snap = &rec->snap;
	}
	in.dev = rec->have_dev ? &rec->dev : NULL;
	in.base = rec->have_base ? &rec->base : NULL;
	return stats_json(&in);
}

/* --- final counters ------------------------------------------------------------------------ */

static int final_path(struct netd_counters *k, const char *id, uint64_t created_ns, char *buf,
		      size_t size)
{
	int n = snprintf(buf, size, "%s/%s@%llu.json", k->final_dir, id,
			 (unsigned long long)created_ns);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void final_free(struct netd_counters *k, struct counters_final *f, bool remove_file)
{
	char path[PATH_MAX];

	if (remove_file && final_path(k, f->id, f->created_ns, path, sizeof(path)) == 0 &&
	    unlink(path) < 0 && errno != ENOENT)
		log_warn_errno(errno, "Failed to remove '%s': %m, ignoring", path);
	json_decref(f->stats);
	free(f);
}

/* Keep a detached task's stats (stolen), replacing an earlier record of the same task. */
static void final_add(struct netd_counters *k, const char *id, uint64_t created_ns,
		      uint64_t detached_usec, json_t *stats, bool save)
{
	_cleanup_free_ char *s = NULL;
	struct counters_final *f, **pp;
	char path[PATH_MAX];
	int r;

	for (pp = &k->finals; *pp; pp = &(*pp)->next)
		if (streq((*pp)->id, id) && (*pp)->created_ns == created_ns) {
			f = *pp;
			*pp = f->next;
			k->nfinals--;
			final_free(k, f, false);
			break;
		}
	while (k->nfinals >= COUNTERS_MAX_FINALS) {
		/* The oldest goes: they are kept newest first. */
		for (pp = &k->finals; (*pp)->next; pp = &(*pp)->next)
			;
		log_warn("Too many final counters kept; dropping those of task '%s'", (*pp)->id);
		final_free(k, *pp, true);
		*pp = NULL;
		k->nfinals--;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		json_decref(stats);
		return;
	}
	strscpy(f->id, id, sizeof(f->id));
	f->created_ns = created_ns;
	f->detached_usec = detached_usec;
	f->stats = stats;
	f->next = k->finals;
	k->finals = f;
	k->nfinals++;
	if (!save)
		return;
	r = final_path(k, id, created_ns, path, sizeof(path));
	s = r == 0 ? json_dumps(stats, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	r = s ? write_file_atomic(path, s, strlen(s), 0600) : (r < 0 ? r : -ENOMEM);
	if (r < 0)
		log_warn_errno(r, "Failed to save the final counters of task '%s': %m, ignoring",
			       id);
}

static void finals_expire(struct netd_counters *k)
{
	uint64_t now = now_usec(), keep = (uint64_t)k->retention_sec * 1000000ULL;
	struct counters_final **pp = &k->finals;

	while (*pp) {
		struct counters_final *f = *pp;

		if (now - f->detached_usec >= keep) {
			log_info("Final counters of task '%s' expired after %u s", f->id,
				 k->retention_sec);
			*pp = f->next;
			k->nfinals--;
			final_free(k, f, true);
		} else {
			pp = &f->next;
		}
	}
}

/* Load state/final/ at start; their age is unknown across a restart, so they get a full
 * retention from the file's modification time on (CLOCK_REALTIME, best effort). */
static int finals_load(struct netd_counters *k)
{
	DIR *dh = opendir(k->final_dir);
	struct dirent *de;

	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh))) {
		char path[PATH_MAX + 256];
		_cleanup_free_ char *buf = NULL;
		json_t *j;
		const char *id;
		json_int_t created = 0;
		struct stat st;
		uint64_t age_usec = 0, now_ns = realtime_nsec(), detached;
		size_t len, n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", k->final_dir, de->d_name);
		if (n < 6 || !streq(de->d_name + n - 5, ".json")) {
			unlink(path);
			continue;
		}
		if (read_file(path, COUNTERS_MAX_FILE, &buf, &len) < 0)
			continue;
		j = json_loadb(buf, len, 0, NULL);
		id = json_string_value(json_object_get(j, "task_id"));
		if (!j || !id || !ident_task_id_valid(id)) {
			log_warn("Final counters '%s' are invalid, removing them", path);
			json_decref(j);
			unlink(path);
			continue;
		}
		{
			const char *at = strrchr(de->d_name, '@');

			if (at)
				created = (json_int_t)strtoull(at + 1, NULL, 10);
		}
		if (stat(path, &st) == 0) {
			uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL +
					 (uint64_t)st.st_mtim.tv_nsec;

			if (now_ns > mtime)
				age_usec = (now_ns - mtime) / 1000;
		}
		detached = now_usec() > age_usec ? now_usec() - age_usec : 0;
		final_add(k, id, (uint64_t)created, detached, j, false);
	}
	closedir(dh);
	return 0;
}

/* --- the link of a task: by index, checked by MAC, else by MAC --------------------------------- */

static int task_link(struct attach_ctx *c, struct link_info *ret)
{
	struct task *t = c->t;
	int r;

	r = attach_ctx_open_tnl(c);
	if (r < 0)
		return r;
	if (t->ifindex > 0) {
		r = netlink_link_get(c->tnl, t->ifindex, NULL, ret);
		if (r == 0 && ret->has_mac && memcmp(ret->mac, t->mac, ADDR_MAC_LEN) == 0)
			return 0;
	}
	return netlink_link_find_mac(c->tnl, t->mac, ret);
}

/* --- the attach step ----------------------------------------------------------------------- */

int counters_step_run(struct attach_ctx *c)
{
	struct netd_counters *k = c->d->counters;
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct task *t = c->t;
	struct counters_task *rec;
	uint64_t start = now_usec();
	struct load_opts lo;
	int saved = -1, r;

	if (t->slot >= TC_SLOTS) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Slot %u is out of range", t->slot);
		return -EINVAL;
	}
	rec = rec_new(t);
	if (!rec)
		return -ENOMEM;
	rec->cookie = new_cookie();
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
	r = nsid_of(k, c->netns_fd, &rec->nsid);
	if (r < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "Failed to get an id for namespace '%s': %s",
			 t->netns_path, strerror(-r));
		goto out_detach;
	}
	r = devstats_read(k, rec, &rec->base);
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
	r = journal_save(k, rec);
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
	struct counters_dev dev, *devp = NULL;
	struct counters_task fallback = {};
	struct counters_snapshot snap;
	struct task *t = c->t;
	struct stats_in in;
	json_t *j;

	run_hook(c->d);
	if (counters_read(c->d, t->slot, &snap) < 0) {
		log_warn("Task '%s': failed to read its final counters, ignoring", t->id);
		return;
	}
	if (li) {
		dev = (struct counters_dev){
			.rx_bytes = li->stats.rx_bytes,
			.rx_packets = li->stats.rx_packets,
			.rx_errors = li->stats.rx_errors,
			.rx_dropped = li->stats.rx_dropped,
			.tx_bytes = li->stats.tx_bytes,
			.tx_packets = li->stats.tx_packets,
			.tx_errors = li->stats.tx_errors,
			.tx_dropped = li->stats.tx_dropped,
		};
		devp = &dev;
	} else if (rec && rec->have_dev) {
		devp = &rec->dev; /* the namespace is gone: the last we read */
	}
	if (!rec) {
		/* After a restart that did not adopt the task: what its journal says. */
		if (journal_load(k, t, &fallback) == 0)
			rec = &fallback;
	}
	in = (struct stats_in){
		.id = t->id,
		.slot = t->slot,
		.phase = "DELETED",
		.detached = true,
		.time_ns = realtime_nsec(),
		.ifname = t->ifname,
		.snap = &snap,
		.dev = devp,
		.base = rec && rec->have_base ? &rec->base : NULL,
		.rec = rec,
		.window_sec = k->interval_sec,
	};
	j = stats_json(&in);
	if (!j)
		return;
	json_object_set(j, "detached_at", json_object_get(j, "time"));
	final_add(k, t->id, t->created_ns, now_usec(), j, true);
	log_info("Task '%s': final counters kept for %u s (rx %llu bytes, tx %llu bytes)", t->id,
		 k->retention_sec,
		 (unsigned long long)json_integer_value(json_object_get(
			 json_object_get(json_object_get(j, "totals"), "rx"), "bytes")),
		 (unsigned long long)json_integer_value(json_object_get(
			 json_object_get(json_object_get(j, "totals"), "tx"), "bytes")));
}

int counters_step_undo(struct attach_ctx *c)
{
	struct netd_counters *k = c->d->counters;
	struct task *t = c->t;
	struct counters_task *rec = t->slot < TC_SLOTS ? k->slots[t->slot] : NULL;
	struct counters_task fallback = {};
	struct link_info li;
	bool have_link = false, hook_created;
	int saved = -1, r = 0;

	if (rec && (!streq(rec->id, t->id) || rec->created_ns != t->created_ns))
		rec = NULL; /* not this task's (cannot happen: slots are unique) */
	if (c->netns_fd >= 0 && task_link(c, &li) == 0)
		have_link = true;
	if (t->phase == TASK_PHASE_DETACHING)
		keep_final(c, rec, have_link ? &li : NULL);

	hook_created = rec ? rec->hook_created : false;
	if (!rec && journal_load(k, t, &fallback) == 0)
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
	journal_remove(k, t->id);
	if (rec) {
		k->slots[t->slot] = NULL;
		rec_free(rec);
	}
	return 0;
}

int counters_step_check(struct attach_ctx *c, json_t *diffs)
{
	struct netd_counters *k = c->d->counters;
	struct task *t = c->t;
	const char *what = NULL;
	char want[64], have[64];
	struct link_info li;
	int saved = -1, r;

	r = task_link(c, &li);
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
		check_diff(diffs, "counters", want, have);
	}
	return 0;
}

/* --- other links --------------------------------------------------------------------------- */

int counters_attach(struct netd *d, const struct task *t, int netns_fd,
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

int counters_detach(struct netd *d, const struct task *t, int netns_fd, int ifindex)
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

int counters_link_attached(struct netd *d, const struct task *t, int netns_fd, int ifindex)
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

static int adopt_task(struct netd *d, struct task *t)
{
	struct netd_counters *k = d->counters;
	_cleanup_(tc_counters_destroyp) struct tc_counters *skel = NULL;
	struct attach_ctx c = { .d = d, .t = t, .netns_fd = -1 };
	struct counters_task *rec;
	const char *what = NULL;
	struct netns_id id;
	struct link_info li;
	uint32_t cookie = 0;
	int saved = -1, r;

	rec = rec_new(t);
	if (!rec)
		return -ENOMEM;
	r = journal_load(k, t, rec);
	if (r < 0 && r != -ENOENT && r != -EBADMSG)
		log_warn_errno(r, "Task '%s': failed to read its counters journal: %m, ignoring",
			       t->id);
	r = netns_open(t->netns_path, &c.netns_fd);
	if (r == 0 && (netns_get_id(c.netns_fd, &id) < 0 || !netns_id_equal(&id, &t->netns_id)))
		r = -ENOENT;
	if (r == 0)
		r = task_link(&c, &li);
	if (r < 0) {
		/* Nothing to count any more; keep the record so that detach keeps the finals. */
		log_warn_errno(
			r, "Task '%s': its ENI is not in '%s' (%m); its counters stay as they are",
			t->id, t->netns_path);
		k->slots[t->slot] = rec;
		attach_ctx_done(&c);
		return 0;
	}
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
			events_emit(
				d, "counters.reattached", json_pack("{s:s}", "task_id", t->id),
				"Task '%s': the tc %s counter filter was missing or foreign; attached again",
				t->id, what);
		}
	} else if (r > 0) {
		rec->cookie = cookie;
	}
	ns_leave(saved);
	if (r < 0)
		goto out;
	r = nsid_of(k, c.netns_fd, &rec->nsid);
	if (r < 0)
		goto out;
	if (devstats_read(k, rec, &rec->dev) == 0)
		rec->have_dev = true;
	rec->last = rec->prev = (struct counters_sample){ .usec = now_usec() };
	if (counters_read(d, t->slot, &rec->snap) == 0) {
		struct counters_pair tot[TC_DIR_COUNT];

		totals_of(&rec->snap, tot);
		rec->last.rx_bytes = rec->prev.rx_bytes = tot[TC_DIR_RX].bytes;
		rec->last.tx_bytes = rec->prev.tx_bytes = tot[TC_DIR_TX].bytes;
	}
	if (!rec->attached_ns)
		rec->attached_ns = t->created_ns;
	k->slots[t->slot] = TAKE_PTR(rec);
	(void)journal_save(k, k->slots[t->slot]);
	log_info("Task '%s': counters re-adopted on '%s' (slot %u)", t->id, t->ifname, t->slot);
	r = 0;
out:
	attach_ctx_done(&c);
	rec_free(rec);
	return r;
}

/* Remove counters journals of tasks that do not exist. */
static void journal_sweep(struct netd *d)
{
	struct netd_counters *k = d->counters;
	DIR *dh = opendir(k->journal_dir);
	struct dirent *de;

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		char id[IDENT_TASK_ID_MAX + 1], path[PATH_MAX + 256];
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", k->journal_dir, de->d_name);
		if (n > 5 && n - 5 <= IDENT_TASK_ID_MAX && streq(de->d_name + n - 5, ".json")) {
			memcpy(id, de->d_name, n - 5);
			id[n - 5] = '\0';
			if (task_find(d, id))
				continue;
		}
		log_debug("Removing the counters journal '%s' of no task", path);
		unlink(path);
	}
	closedir(dh);
}

int counters_adopt(struct netd *d)
{
	struct netd_counters *k = d->counters;

	for (struct task *t = d->tasks; t; t = t->next) {
		int r;

		if (t->phase != TASK_PHASE_READY && t->phase != TASK_PHASE_READY_PULL)
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

/* --- sampling and subscriptions ------------------------------------------------------------ */

/* The record of a live task, or NULL. */
static struct counters_task *task_rec(struct netd *d, const struct task *t)
{
	struct counters_task *rec = t->slot < TC_SLOTS ? d->counters->slots[t->slot] : NULL;

	return rec && streq(rec->id, t->id) && rec->created_ns == t->created_ns ? rec : NULL;
}

static json_t *all_json(struct netd *d, bool fresh)
{
	struct netd_counters *k = d->counters;
	json_t *arr = json_array();

	for (struct task *t = d->tasks; t; t = t->next) {
		struct counters_task *rec = task_rec(d, t);
		json_t *j;

		if (!rec)
			continue;
		j = live_json(d, t, rec, fresh);
		if (j)
			json_array_append_new(arr, j);
	}
	for (struct counters_final *f = k->finals; f; f = f->next)
		json_array_append(arr, f->stats);
	json_array_sort_by_key(arr, "task_id");
	return json_pack("{s:o}", "tasks", arr);
}

static void on_sample(struct event_loop *loop, void *data)
{
	struct netd *d = data;
	struct netd_counters *k = d->counters;
	char topic[IDENT_TASK_ID_MAX + 8];

	run_hook(d);
	for (unsigned int s = 0; s < TC_SLOTS; s++)
		if (k->slots[s])
			(void)rec_sample(d, k->slots[s]);
	finals_expire(k);
	if (!d->ctl)
		return;
	if (ctl_server_has_topic(d->ctl, "stats")) {
		json_auto_t *all = all_json(d, false);

		ctl_server_broadcast(d->ctl, "stats", "stats", all);
	}
	for (struct task *t = d->tasks; t; t = t->next) {
		struct counters_task *rec = task_rec(d, t);
		json_auto_t *one = NULL;

		if (!rec)
			continue;
		snprintf(topic, sizeof(topic), "stats/%s", t->id);
		if (!ctl_server_has_topic(d->ctl, topic))
			continue;
		one = live_json(d, t, rec, false);
		if (one)
			ctl_server_broadcast(d->ctl, topic, "stats", one);
	}
}

/* --- control methods ----------------------------------------------------------------------- */

static int parse_opt_task_id(struct ctl_call *call, json_t *params, const char **ret)
{
	json_error_t jerr;

	*ret = NULL;
	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s}", "task_id", ret) < 0) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s", jerr.text);
		return -EINVAL;
	}
	if (*ret && !ident_task_id_valid(*ret)) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid task_id '%.64s'", *ret);
		return -EINVAL;
	}
	return 0;
}

/* One task's stats: live, else its most recent final counters. NULL with the call failed. */
static json_t *one_json(struct netd *d, struct ctl_call *call, const char *id, bool fresh)
{
	struct netd_counters *k = d->counters;
	struct task *t = task_find(d, id);
	struct counters_task *rec = t ? task_rec(d, t) : NULL;

	if (rec) {
		json_t *j = live_json(d, t, rec, fresh);

		if (!j)
			ctl_call_failf(call, CTL_ERR_INTERNAL,
				       "Failed to read the counters of task '%s'", id);
		return j;
	}
	for (struct counters_final *f = k->finals; f; f = f->next)
		if (streq(f->id, id))
			return json_incref(f->stats);
	if (t)
		ctl_call_failf(call, CTL_ERR_BUSY, "Task '%s' has no counters yet (phase %s)", id,
			       task_phase_to_string(t->phase));
	else
		ctl_call_failf(call, CTL_ERR_NOT_FOUND, "No such task '%s'", id);
	return NULL;
}

static int do_stats_get(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	const char *id;
	json_t *j;

	if (parse_opt_task_id(call, params, &id) < 0)
		return 0;
	run_hook(d);
	if (!id)
		return ctl_call_reply(call, all_json(d, true));
	j = one_json(d, call, id, true);
	return j ? ctl_call_reply(call, j) : 0;
}

static int do_stats_subscribe(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	char topic[IDENT_TASK_ID_MAX + 8];
	const char *id;
	json_t *now;
	int r;

	if (parse_opt_task_id(call, params, &id) < 0)
		return 0;
	run_hook(d);
	if (id) {
		now = one_json(d, call, id, true);
		if (!now)
			return 0;
		snprintf(topic, sizeof(topic), "stats/%s", id);
	} else {
		now = all_json(d, true);
		strscpy(topic, "stats", sizeof(topic));
	}
	r = ctl_call_subscribe(call, topic);
	if (r < 0) {
		json_decref(now);
		return ctl_call_fail_errno(call, r, "Failed to subscribe: %s", strerror(-r));
	}
	return ctl_call_reply(call,
			      json_pack("{s:s, s:i, s:o}", "subscribed", topic, "interval_sec",
					d->counters->interval_sec, "stats", now));
}

static int do_stats_collect(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	struct netd_counters *k = d->counters;
	struct counters_final **pp = &k->finals;
	const char *id;
	json_t *arr;

	if (parse_opt_task_id(call, params, &id) < 0)
		return 0;
	arr = json_array();
	while (*pp) {
		struct counters_final *f = *pp;

		if (id && !streq(f->id, id)) {
			pp = &f->next;
			continue;
		}
		json_array_append(arr, f->stats);
		*pp = f->next;
		k->nfinals--;
		final_free(k, f, true);
	}
	json_array_sort_by_key(arr, "task_id");
	return ctl_call_reply(call, json_pack("{s:o}", "tasks", arr));
}

const struct ctl_method counters_methods[] = {
	{ "stats.get", do_stats_get, 0 },
	{ "stats.subscribe", do_stats_subscribe, 0 },
	{ "stats.collect", do_stats_collect, CTL_METHOD_WRITE },
	{},
};

/* --- Prometheus ------------------------------------------------------------------------------ */

struct metric_row {
	const struct task *t;
	struct counters_snapshot snap;
	struct counters_dev dev;
	bool have_dev;
};

static void metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int metrics_render(FILE *f, void *data)
{
	struct netd *d = data;
	_cleanup_free_ struct metric_row *rows = NULL;
	size_t n = 0;

	run_hook(d);
	rows = calloc(TC_SLOTS, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (struct task *t = d->tasks; t && n < TC_SLOTS; t = t->next) {
		struct counters_task *rec = task_rec(d, t);

		if (!rec || counters_read(d, t->slot, &rows[n].snap) < 0)
			continue;
		if (devstats_read(d->counters, rec, &rec->dev) == 0)
			rec->have_dev = true;
		rows[n].dev = rec->dev;
		rows[n].have_dev = rec->have_dev;
		rows[n].t = t;
		n++;
	}

	metric_head(f, "taskplane_tasks", "gauge", "Tasks whose network netd counts.");
	fprintf(f, "taskplane_tasks %zu\n", n);
	metric_head(f, "taskplane_task_info", "gauge",
		    "A task's slot and phase (always 1; join on task_id).");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "taskplane_task_info{task_id=\"%s\",slot=\"%u\",phase=\"%s\"} 1\n",
			rows[i].t->id, rows[i].t->slot, task_phase_to_string(rows[i].t->phase));

	metric_head(f, "taskplane_task_network_bytes_total", "counter",
		    "Bytes a task received (rx) or sent (tx), by flow, L2 headers included.");
	for (size_t i = 0; i < n; i++)
		for (unsigned int fl = 0; fl < TC_FLOW_COUNT; fl++)
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++)
				fprintf(f,
					"taskplane_task_network_bytes_total{task_id=\"%s\",flow=\"%s\",direction=\"%s\"} %llu\n",
					rows[i].t->id, flow_names[fl], dir_names[dir],
					(unsigned long long)rows[i].snap.flows[fl][dir].bytes);
	metric_head(
		f, "taskplane_task_network_packets_total", "counter",
		"Packets a task received (rx) or sent (tx), by flow (a GSO packet counts once).");
	for (size_t i = 0; i < n; i++)
		for (unsigned int fl = 0; fl < TC_FLOW_COUNT; fl++)
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++)
				fprintf(f,
					"taskplane_task_network_packets_total{task_id=\"%s\",flow=\"%s\",direction=\"%s\"} %llu\n",
					rows[i].t->id, flow_names[fl], dir_names[dir],
					(unsigned long long)rows[i].snap.flows[fl][dir].packets);
	metric_head(f, "taskplane_task_network_dropped_packets_total", "counter",
		    "Packets of a task dropped, by reason (spoof, imds, policy).");
	for (size_t i = 0; i < n; i++)
		for (unsigned int r = 0; r < TC_DROP_COUNT; r++)
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++)
				fprintf(f,
					"taskplane_task_network_dropped_packets_total{task_id=\"%s\",reason=\"%s\",direction=\"%s\"} %llu\n",
					rows[i].t->id, drop_names[r], dir_names[dir],
					(unsigned long long)rows[i].snap.drops[r][dir].packets);
	metric_head(f, "taskplane_task_network_dropped_bytes_total", "counter",
		    "Bytes of a task dropped, by reason (spoof, imds, policy).");
	for (size_t i = 0; i < n; i++)
		for (unsigned int r = 0; r < TC_DROP_COUNT; r++)
			for (unsigned int dir = 0; dir < TC_DIR_COUNT; dir++)
				fprintf(f,
					"taskplane_task_network_dropped_bytes_total{task_id=\"%s\",reason=\"%s\",direction=\"%s\"} %llu\n",
					rows[i].t->id, drop_names[r], dir_names[dir],
					(unsigned long long)rows[i].snap.drops[r][dir].bytes);

	{
		static const struct {
			const char *name, *help;
			size_t rx, tx;
		} dev_metrics[] = {
			{ "taskplane_task_device_bytes_total",
			  "Bytes of the task's ENI, from its link statistics.",
			  offsetof(struct counters_dev, rx_bytes),
			  offsetof(struct counters_dev, tx_bytes) },
			{ "taskplane_task_device_packets_total",
			  "Packets of the task's ENI, from its link statistics.",
			  offsetof(struct counters_dev, rx_packets),
			  offsetof(struct counters_dev, tx_packets) },
			{ "taskplane_task_device_errors_total",
			  "Errors of the task's ENI, from its link statistics.",
			  offsetof(struct counters_dev, rx_errors),
			  offsetof(struct counters_dev, tx_errors) },
			{ "taskplane_task_device_dropped_total",
			  "Packets the task's ENI dropped, from its link statistics.",
			  offsetof(struct counters_dev, rx_dropped),
			  offsetof(struct counters_dev, tx_dropped) },
		};

		for (size_t m = 0; m < ARRAY_SIZE(dev_metrics); m++) {
			metric_head(f, dev_metrics[m].name, "counter", dev_metrics[m].help);
			for (size_t i = 0; i < n; i++) {
				const char *base = (const char *)&rows[i].dev;

				if (!rows[i].have_dev)
					continue;
				fprintf(f,
					"%s{task_id=\"%s\",interface=\"%s\",direction=\"rx\"} %llu\n",
					dev_metrics[m].name, rows[i].t->id, rows[i].t->ifname,
					(unsigned long long)*(const uint64_t *)(base +
										dev_metrics[m].rx));
				fprintf(f,
					"%s{task_id=\"%s\",interface=\"%s\",direction=\"tx\"} %llu\n",
					dev_metrics[m].name, rows[i].t->id, rows[i].t->ifname,
					(unsigned long long)*(const uint64_t *)(base +
										dev_metrics[m].tx));
			}
		}
	}
	return ferror(f) ? -EIO : 0;
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
	for (unsigned int i = 0; i < MAP_COUNT; i++)
		k->map_fd[i] = -1;
	k->interval_sec = o->interval_sec ?: COUNTERS_DEFAULT_INTERVAL;
	k->retention_sec = o->retention_sec;
	k->bpffs = strdup(o->bpffs ?: COUNTERS_DEFAULT_BPFFS);
	k->metrics_listen = o->metrics_listen ? strdup(o->metrics_listen) : NULL;
	if (!k->bpffs || (o->metrics_listen && !k->metrics_listen) ||
	    asprintf(&k->final_dir, "%s/final", d->state_dir) < 0 ||
	    asprintf(&k->journal_dir, "%s/counters", d->state_dir) < 0)
		return log_oom();

	n = libbpf_num_possible_cpus();
	if (n <= 0)
		return log_err_errno(n < 0 ? n : -EINVAL, "Failed to count the possible CPUs: %m");
	k->ncpus = (unsigned int)n;
	/* Per-CPU values are laid out 8-byte aligned. */
	k->stride = (sizeof(struct tc_count) + 7) & ~(size_t)7;
	k->buf = calloc((size_t)COUNTERS_SLOT_VALUES * k->ncpus, k->stride);
	if (!k->buf)
		return log_oom();

	r = mkdir_p(k->final_dir, 0700);
	if (r >= 0)
		r = mkdir_p(k->journal_dir, 0700);
	if (r < 0)
		return log_err_errno(r, "Failed to create '%s': %m", k->final_dir);
	r = rtnl_open(&k->rtnl);
	if (r < 0)
		return log_err_errno(r, "Failed to open rtnetlink: %m");
	r = bpffs_prepare(k->bpffs);
	if (r < 0)
		return log_err_errno(r, "Failed to prepare the bpf filesystem '%s': %m", k->bpffs);
	r = maps_open(k);
	if (r < 0)
		return r;
	r = finals_load(k);
	if (r < 0)
		log_warn_errno(r, "Failed to read the final counters in '%s': %m, ignoring",
			       k->final_dir);
	finals_expire(k);

	r = event_add_periodic(d->loop, (uint64_t)k->interval_sec * 1000000ULL, on_sample, d, NULL);
	if (r < 0)
		return log_err_errno(r, "Failed to arm the sampling timer: %m");
	k->timer_id = r;
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
	r = metrics_server_new(d->loop, k->metrics_listen, metrics_render, d, &k->metrics);
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
	if (d->loop)
		event_cancel(d->loop, k->timer_id);
	for (unsigned int s = 0; s < TC_SLOTS; s++)
		k->slots[s] = rec_free(k->slots[s]);
	while (k->finals) {
		struct counters_final *f = k->finals;

		k->finals = f->next;
		final_free(k, f, false);
	}
	for (unsigned int i = 0; i < MAP_COUNT; i++)
		k->map_fd[i] = safe_close(k->map_fd[i]);
	if (k->rtnl)
		mnl_socket_close(k->rtnl);
	free(k->buf);
	free(k->bpffs);
	free(k->final_dir);
	free(k->journal_dir);
	free(k->metrics_listen);
	free(k);
	d->counters = NULL;
}
