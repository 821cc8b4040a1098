/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the counters module: its state, and what its two files share. counters.c is the
 * kernel side (maps, programs, the step, re-adoption, link statistics); counters-stats.c the
 * reading side (stats JSON, samples and rates, final counters, methods, Prometheus).
 */
#include "counters.h"
#include "netd.h"

struct devstats;
struct journal;
struct metrics_server;

#define COUNTERS_MAX_LINKS 4

enum {
	COUNTERS_MAP_COUNTERS,
	COUNTERS_MAP_DROPS,
	COUNTERS_MAP_AUXCNT,
	COUNTERS_MAP_FLOWTAB,
	COUNTERS_MAP_COUNT,
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
	int nsid; /* the task namespace's id in netd's, for the ENI's stats; -1: none */
	uint8_t mac[ADDR_MAC_LEN];   /* the ENI's */
	struct link_stats dev, base; /* last read; at attach */
	bool have_dev, have_base;
	struct counters_sample prev, last;
	struct counters_snapshot snap; /* at the last sample */
	struct counters_link links[COUNTERS_MAX_LINKS];
	unsigned int nlinks;
};

/* The final counters of a detached task, as stats JSON text. */
struct counters_final {
	struct counters_final *next;
	char id[IDENT_TASK_ID_MAX + 1];
	uint64_t created_ns;
	uint64_t detached_usec; /* CLOCK_MONOTONIC, for the retention */
	char *text;
	size_t len;
};

struct netd_counters {
	char *bpffs;
	struct journal *journal;
	unsigned int interval_sec;
	unsigned int retention_sec;
	char *metrics_listen;
	int map_fd[COUNTERS_MAP_COUNT];
	uint32_t counters_map_id;
	unsigned int ncpus;
	size_t stride; /* of per-CPU values: round_up(sizeof(struct tc_count), 8) */
	struct counters_task *slots[TC_SLOTS];
	struct counters_final *finals;
	unsigned int nfinals;
	int timer_id;
	struct metrics_server *metrics;
	struct devstats *devstats; /* in netd's namespace: the ENIs' link statistics */
	counters_read_hook_fn hook;
	void *hook_data;
};

extern const char *const counters_flow_names[TC_FLOW_COUNT];
extern const char *const counters_dir_names[TC_DIR_COUNT];
extern const char *const counters_drop_names[TC_DROP_COUNT];

/* counters.c */
/* Read slots [0, nslots) of the three counting maps, one batch lookup each. */
int counters_read_slots(struct netd_counters *k, unsigned int nslots,
			struct counters_snapshot *ret);
/* The ENI's link statistics of one task, or of n tasks at once (pipelined; a task whose read
 * fails keeps what it had). */
int counters_devstats_read(struct netd_counters *k, const struct counters_task *rec,
			   struct link_stats *ret);
void counters_devstats_read_many(struct netd_counters *k, struct counters_task **recs,
				 unsigned int n);
/* Run the read hook, if any (t: the one task about to be read, NULL: all). */
void counters_run_hook(struct netd *d, struct eni_attachment *t);
/* The record of a live task, or NULL. */
struct counters_task *counters_task_rec(struct netd *d, const struct eni_attachment *t);
/* Sum the flows of a snapshot per direction. */
void counters_totals(const struct counters_snapshot *s, struct counters_pair ret[TC_DIR_COUNT]);

/* counters-stats.c */
/* Load the final counters kept in the run directory and start sampling. */
int counters_stats_init(struct netd *d);
/* Forget them (in memory; the files stay). */
void counters_stats_exit(struct netd *d);
/* Keep the final counters of task t, which is detaching; dev is its ENI's last statistics (NULL:
 * unknown), rec its record (NULL after a restart that did not adopt it). */
void counters_keep_final(struct netd *d, struct eni_attachment *t, const struct counters_task *rec,
			 const struct link_stats *dev);
/* Prometheus text exposition of every live task. */
int counters_metrics_render(FILE *f, void *data);
