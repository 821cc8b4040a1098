// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/timex.h>

#include "cgroup.h"
#include "tmds.h"
#include "util.h"

#define CGROUP_MAX_FILE (256 * 1024)

/* Does the comma-separated list contain word? */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* mountinfo escapes blanks as \040 and the like. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else
			*w++ = *r;
	}
	*w = '\0';
}

int cgroup_roots_detect(const char *mountinfo, struct cgroup_roots *ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct cgroup_roots r = {};
	char *line = NULL;
	size_t cap = 0;

	f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], fstype[64], opts[512];
		const char *sep = strstr(line, " - ");

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPEROPTS" */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		unescape(mnt);
		if (streq(fstype, "cgroup2")) {
			if (!r.unified[0])
				strscpy(r.unified, mnt, sizeof(r.unified));
		} else if (streq(fstype, "cgroup")) {
			if (list_has(opts, "cpuacct") && !r.cpuacct[0])
				strscpy(r.cpuacct, mnt, sizeof(r.cpuacct));
			if (list_has(opts, "cpu") && !r.cpu[0])
				strscpy(r.cpu, mnt, sizeof(r.cpu));
			if (list_has(opts, "memory") && !r.memory[0])
				strscpy(r.memory, mnt, sizeof(r.memory));
		}
	}
	free(line);
	*ret = r;
	return 0;
}

bool cgroup_path_valid(const char *path)
{
	const char *p = path;

	if (!path || !*path || *path == '/' || strlen(path) >= 1024)
		return false;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return path[strlen(path) - 1] != '/';
}

static bool dir_exists(const char *root, const char *path)
{
	char buf[PATH_MAX * 2];
	struct stat st;

	if (!root[0])
		return false;
	snprintf(buf, sizeof(buf), "%s/%s", root, path);
	return stat(buf, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool use_v1(const struct cgroup_roots *roots)
{
	return roots->cpuacct[0] || roots->memory[0];
}

bool cgroup_exists(const struct cgroup_roots *roots, const char *path)
{
	if (use_v1(roots))
		return dir_exists(roots->cpuacct, path) || dir_exists(roots->memory, path);
	return dir_exists(roots->unified, path);
}

static int read_text(const char *root, const char *path, const char *file, char **ret)
{
	char buf[PATH_MAX * 2];

	if (!root[0])
		return -ENOENT;
	snprintf(buf, sizeof(buf), "%s/%s/%s", root, path, file);
	return read_file(buf, CGROUP_MAX_FILE, ret, NULL);
}

static int read_u64(const char *root, const char *path, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	char *end;
	int r;

	r = read_text(root, path, file, &s);
	if (r < 0)
		return r;
	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	return 0;
}

/* The value of "key N" in a flat keyed file (cpu.stat, cpuacct.stat). */
static bool keyed(const char *text, const char *key, uint64_t *ret)
{
	size_t n = strlen(key);

	for (const char *p = text; p && *p;) {
		if (strncmp(p, key, n) == 0 && p[n] == ' ') {
			*ret = strtoull(p + n + 1, NULL, 10);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* memory.stat as an object of integers. */
static json_t *keyed_object(const char *text)
{
	json_t *o = json_object();

	for (const char *p = text; o && p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char key[128];
		unsigned long long v;
		int used = 0;

		if (len < sizeof(key) + 24) {
			char line[sizeof(key) + 24];

			memcpy(line, p, len);
			line[len] = '\0';
			if (sscanf(line, "%127s %llu%n", key, &v, &used) == 2 &&
			    (size_t)used == len)
				json_object_set_new(o, key, json_integer((json_int_t)v));
		}
		p = eol ? eol + 1 : NULL;
	}
	return o;
}

static int read_percpu(const char *root, const char *path, struct tmds_cpu_stats *cpu)
{
	_cleanup_free_ char *s = NULL;
	uint64_t *v = NULL;
	unsigned int n = 0, cap = 0;
	char *p, *end;
	int r;

	r = read_text(root, path, "cpuacct.usage_percpu", &s);
	if (r < 0)
		return r;
	for (p = s;; p = end) {
		unsigned long long x;

		errno = 0;
		x = strtoull(p, &end, 10);
		if (end == p || errno)
			break;
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = x;
	}
	free(cpu->percpu_usage);
	cpu->percpu_usage = v;
	cpu->n_percpu = n;
	return 0;
}

static int read_v1(const struct cgroup_roots *roots, const char *path, struct tmds_cpu_stats *cpu,
		   struct tmds_mem_stats *mem)
{
	_cleanup_free_ char *stat = NULL, *cstat = NULL, *mstat = NULL;
	uint64_t ticks, user = 0, sys = 0;
	long hz = sysconf(_SC_CLK_TCK);
	bool any = false;

	if (hz <= 0)
		hz = 100;
	if (read_u64(roots->cpuacct, path, "cpuacct.usage", &cpu->total_usage) == 0) {
		any = true;
		read_percpu(roots->cpuacct, path, cpu);
		if (read_text(roots->cpuacct, path, "cpuacct.stat", &stat) == 0) {
			if (keyed(stat, "user", &ticks))
				user = ticks * (1000000000ULL / (uint64_t)hz);
			if (keyed(stat, "system", &ticks))
				sys = ticks * (1000000000ULL / (uint64_t)hz);
		}
		cpu->usage_in_usermode = user;
		cpu->usage_in_kernelmode = sys;
	}
	if (read_text(roots->cpu, path, "cpu.stat", &cstat) == 0) {
		keyed(cstat, "nr_periods", &cpu->periods);
		keyed(cstat, "nr_throttled", &cpu->throttled_periods);
		keyed(cstat, "throttled_time", &cpu->throttled_time);
	}
	if (read_u64(roots->memory, path, "memory.usage_in_bytes", &mem->usage) == 0) {
		any = true;
		read_u64(roots->memory, path, "memory.max_usage_in_bytes", &mem->max_usage);
		read_u64(roots->memory, path, "memory.limit_in_bytes", &mem->limit);
		if (read_text(roots->memory, path, "memory.stat", &mstat) == 0) {
			json_decref(mem->stats);
			mem->stats = keyed_object(mstat);
		}
	}
	return any ? 0 : -ENOENT;
}

static int read_v2(const struct cgroup_roots *roots, const char *path, struct tmds_cpu_stats *cpu,
		   struct tmds_mem_stats *mem)
{
	_cleanup_free_ char *cstat = NULL, *mstat = NULL, *max = NULL;
	uint64_t v;
	bool any = false;

	if (read_text(roots->unified, path, "cpu.stat", &cstat) == 0) {
		any = true;
		if (keyed(cstat, "usage_usec", &v))
			cpu->total_usage = v * 1000;
		if (keyed(cstat, "user_usec", &v))
			cpu->usage_in_usermode = v * 1000;
		if (keyed(cstat, "system_usec", &v))
			cpu->usage_in_kernelmode = v * 1000;
		keyed(cstat, "nr_periods", &cpu->periods);
		keyed(cstat, "nr_throttled", &cpu->throttled_periods);
		if (keyed(cstat, "throttled_usec", &v))
			cpu->throttled_time = v * 1000;
	}
	if (read_u64(roots->unified, path, "memory.current", &mem->usage) == 0) {
		any = true;
		read_u64(roots->unified, path, "memory.peak", &mem->max_usage);
		if (read_text(roots->unified, path, "memory.max", &max) == 0) {
			if (startswith(max, "max")) {
				struct sysinfo si;

				/* Docker reports the host's memory for an unlimited cgroup. */
				if (sysinfo(&si) == 0)
					mem->limit = (uint64_t)si.totalram * si.mem_unit;
			} else
				mem->limit = strtoull(max, NULL, 10);
		}
		if (read_text(roots->unified, path, "memory.stat", &mstat) == 0) {
			json_decref(mem->stats);
			mem->stats = keyed_object(mstat);
		}
	}
	return any ? 0 : -ENOENT;
}

int cgroup_read(const struct cgroup_roots *roots, const char *path, struct tmds_cpu_stats *cpu,
		struct tmds_mem_stats *mem)
{
	if (!cgroup_path_valid(path))
		return -EINVAL;
	if (use_v1(roots))
		return read_v1(roots, path, cpu, mem);
	if (roots->unified[0])
		return read_v2(roots, path, cpu, mem);
	return -ENOENT;
}

int host_system_cpu_usage(const char *proc_stat, uint64_t *ret_ns)
{
	_cleanup_free_ char *s = NULL;
	unsigned long long f[7];
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t sum = 0;
	int r;

	r = read_file(proc_stat, 1024 * 1024, &s, NULL);
	if (r < 0)
		return r;
	if (!startswith(s, "cpu ") || sscanf(s + 4, "%llu %llu %llu %llu %llu %llu %llu", &f[0],
					     &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]) != 7)
		return -EINVAL;
	for (int i = 0; i < 7; i++)
		sum += f[i];
	if (hz <= 0)
		hz = 100;
	*ret_ns = sum * (1000000000ULL / (uint64_t)hz);
	return 0;
}

int host_clock(struct tmds_clock *ret)
{
	struct timex tx = {};
	int state;

	state = adjtimex(&tx);
	if (state < 0)
		return -errno;
	*ret = (struct tmds_clock){
		/* maxerror: the kernel's bound on the clock's error, in µs */
		.error_bound_ms = (double)tx.maxerror / 1000.0,
		.reference_ns = realtime_nsec(),
		.synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC),
	};
	return 0;
}

static int write_u64(const char *dir, const char *file, uint64_t v)
{
	char path[PATH_MAX * 2], buf[32];
	_cleanup_close_ int fd = -1;
	int n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return write_all(fd, buf, (size_t)n);
}

static int write_str(const char *dir, const char *file, const char *s)
{
	char path[PATH_MAX * 2];
	_cleanup_close_ int fd = -1;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_all(fd, s, strlen(s));
}

static int make_dir(const char *root, const char *path, char *buf, size_t size)
{
	if (!root[0])
		return -ENOENT;
	if (snprintf(buf, size, "%s/%s", root, path) >= (int)size)
		return -ENAMETOOLONG;
	return mkdir_p(buf, 0755);
}

/* The CPU limit in dir: v1's cpu hierarchy, or v2's cpu.max. */
static int set_cpu(const char *dir, bool v1, uint64_t quota_us, uint64_t period_us)
{
	char max[64];
	int r;

	if (v1) {
		r = write_u64(dir, "cpu.cfs_period_us", period_us ?: 100000);
		return r < 0 ? r : write_u64(dir, "cpu.cfs_quota_us", quota_us);
	}
	snprintf(max, sizeof(max), "%" PRIu64 " %" PRIu64, quota_us, period_us ?: 100000);
	return write_str(dir, "cpu.max", max);
}

int cgroup_create(const struct cgroup_roots *roots, const char *path, const struct cgroup_limits *l)
{
	char dir[PATH_MAX * 2];
	int r;

	if (!cgroup_path_valid(path))
		return -EINVAL;
	if (roots->cpu[0] || roots->memory[0]) {
		r = make_dir(roots->cpu, path, dir, sizeof(dir));
		if (r >= 0 && l->cpu_quota_us)
			r = set_cpu(dir, true, l->cpu_quota_us, l->cpu_period_us);
		if (r < 0)
			return r;
		r = make_dir(roots->memory, path, dir, sizeof(dir));
		if (r >= 0 && l->memory_bytes)
			r = write_u64(dir, "memory.limit_in_bytes", l->memory_bytes);
		return r;
	}
	r = make_dir(roots->unified, path, dir, sizeof(dir));
	if (r >= 0 && l->cpu_quota_us)
		r = set_cpu(dir, false, l->cpu_quota_us, l->cpu_period_us);
	if (r >= 0 && l->memory_bytes)
		r = write_u64(dir, "memory.max", l->memory_bytes);
	return r;
}

int cgroup_set_cpu_limit(const struct cgroup_roots *roots, const char *path, uint64_t quota_us,
			 uint64_t period_us)
{
	bool v1 = roots->cpu[0] || roots->memory[0];
	char dir[PATH_MAX * 2];

	if (!cgroup_path_valid(path) || !quota_us)
		return -EINVAL;
	if (v1 && !roots->cpu[0])
		return -ENOENT;
	if (snprintf(dir, sizeof(dir), "%s/%s", v1 ? roots->cpu : roots->unified, path) >=
	    (int)sizeof(dir))
		return -ENAMETOOLONG;
	return set_cpu(dir, v1, quota_us, period_us);
}

/* rmdir a cgroup after its children; files in cgroupfs are the kernel's and go with it. */
static int remove_tree(const char *dir)
{
	_cleanup_free_ char *child = NULL;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		int k;

		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		free(child);
		if (asprintf(&child, "%s/%s", dir, de->d_name) < 0) {
			child = NULL;
			r = -ENOMEM;
			break;
		}
		k = remove_tree(child);
		if (k < 0 && r >= 0)
			r = k;
	}
	closedir(d);
	if (r < 0)
		return r;
	if (rmdir(dir) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cgroup_remove(const char *mountinfo, const char *path)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!cgroup_path_valid(path))
		return -EINVAL;
	f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], fstype[64], dir[PATH_MAX * 2];
		const char *sep = strstr(line, " - ");
		int k;

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (!streq(fstype, "cgroup") && !streq(fstype, "cgroup2"))
			continue;
		unescape(mnt);
		if (snprintf(dir, sizeof(dir), "%s/%s", mnt, path) >= (int)sizeof(dir))
			continue;
		k = remove_tree(dir);
		if (k < 0 && r >= 0)
			r = k;
	}
	return r;
}
