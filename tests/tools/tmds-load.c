// SPDX-License-Identifier: GPL-2.0-only
/*
 * tmds-load: load for the metadata endpoint from inside many task namespaces at once, for the
 * benchmark (bench/metadata). Keep-alive HTTP/1.1 connections, each opened in its task's network
 * namespace (setns before socket(), so one process speaks as many tasks), send GETs of one
 * path: in a closed loop (each answer sends the next), or with --rate at that total pace (an
 * open loop: a request counts from when it was due, so waits for a slow answer show). Probe
 * connections send a credentials request at a fixed pace meanwhile and time it the same way.
 * Bounded in time and in requests.
 *
 *   tmds-load --tasks FILE [--connections N] [--duration SEC] [--max-requests N]
 *             [--creds-rate R] [--rate R] [--target ADDR:PORT]
 *
 * FILE has one line per task: NETNS_PATH LOAD_PATH CREDS_PATH ("-": no credentials probe).
 * The result is one JSON object on stdout: requests, seconds, rps, answers by status, latency
 * percentiles in microseconds, and the same for the credentials probes.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "util.h"

#define LOAD_BUF   (256 * 1024)
#define MAX_TASKS  4096
#define MAX_CONNS  16384
#define MAX_PROBES 16
#define MAX_STATUS 600

struct conn {
	int fd;
	int task;
	bool probe;
	bool busy; /* a request is out */
	bool connected;
	bool paced;	   /* sends at a fixed pace (probes; all with --rate), else closed loop */
	uint64_t sent;	   /* ns: when the request out went, or was due to go if it went late */
	uint64_t due;	   /* paced: when the next request is due */
	uint64_t interval; /* paced: ns between requests */
	size_t len;
	char *buf;
};

struct samples {
	uint32_t *v; /* µs */
	size_t n, cap;
	uint64_t status[MAX_STATUS];
	uint64_t errors;
};

struct task {
	int nsfd;
	char load_req[640];
	char creds_req[640];
	bool has_creds;
};

static struct task tasks[MAX_TASKS];
static int ntasks;
static struct conn conns[MAX_CONNS];
static int nconns;
static struct sockaddr_in target;
static int epfd, selfns;
static struct samples load, creds;
static uint64_t reconnects;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void record(struct samples *s, unsigned int status, uint64_t ns)
{
	if (status < MAX_STATUS)
		s->status[status]++;
	if (s->n < s->cap)
		s->v[s->n++] = (uint32_t)MIN(ns / 1000, (uint64_t)UINT32_MAX);
}

static int conn_open(struct conn *c)
{
	int one = 1, r;

	if (setns(tasks[c->task].nsfd, CLONE_NEWNET) < 0)
		return -errno;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r = c->fd < 0 ? -errno : 0;
	if (setns(selfns, CLONE_NEWNET) < 0)
		abort(); /* cannot go home: nothing after this would be right */
	if (r < 0)
		return r;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&target, sizeof(target)) < 0 &&
	    errno != EINPROGRESS) {
		r = -errno;
		c->fd = safe_close(c->fd);
		return r;
	}
	c->connected = false;
	c->busy = false;
	c->len = 0;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

	return RET_NERRNO(epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev));
}

static void conn_reset(struct conn *c)
{
	if (c->busy)
		(c->probe ? &creds : &load)->errors++;
	c->fd = safe_close(c->fd);
	reconnects++;
	if (conn_open(c) < 0)
		c->fd = -1;
}

/*
 * Send the connection's request. A paced request counts from when it was due: one that waited
 * for the answer before it counts its wait (no coordinated omission).
 */
static void conn_send(struct conn *c, uint64_t due)
{
	const char *req = c->probe ? tasks[c->task].creds_req : tasks[c->task].load_req;
	size_t len = strlen(req);

	c->sent = due;
	c->busy = true;
	if (send(c->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		conn_reset(c);
}

/* A complete response in c->buf: its length, and its status; 0 if not complete yet. */
static size_t response_complete(struct conn *c, unsigned int *ret_status)
{
	char *end, *p;
	size_t head, body = 0;

	c->buf[c->len] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return 0;
	head = (size_t)(end - c->buf) + 4;
	for (p = strstr(c->buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			body = strtoul(p + 17, NULL, 10);
	if (c->len < head + body)
		return 0;
	*ret_status = (unsigned int)strtoul(c->buf + 9, NULL, 10);
	return head + body;
}

static void conn_read(struct conn *c, bool stopping)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, LOAD_BUF - 1 - c->len, 0);
		unsigned int status;
		size_t used;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_reset(c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		while ((used = response_complete(c, &status)) > 0) {
			record(c->probe ? &creds : &load, status, now_ns() - c->sent);
			c->busy = false;
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			if (!c->paced && !stopping)
				conn_send(c, now_ns());
		}
		if (c->len >= LOAD_BUF - 1) {
			conn_reset(c);
			return;
		}
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static json_t *summary(struct samples *s, double secs)
{
	json_t *st = json_object(), *o;
	uint64_t total = 0;

	for (int i = 0; i < MAX_STATUS; i++)
		if (s->status[i]) {
			char k[8];

			snprintf(k, sizeof(k), "%d", i);
			json_object_set_new(st, k, json_integer((json_int_t)s->status[i]));
			total += s->status[i];
		}
	qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
#define PCT(p) (s->n ? s->v[MIN(s->n - 1, (size_t)((double)s->n * (p)))] : 0)
	o = json_pack("{s:I, s:f, s:o, s:I, s:{s:i, s:i, s:i, s:i, s:i}}", "requests",
		      (json_int_t)total, "rps", secs > 0 ? (double)total / secs : 0, "status", st,
		      "errors", (json_int_t)s->errors, "latency_us", "p50", (int)PCT(0.50), "p90",
		      (int)PCT(0.90), "p99", (int)PCT(0.99), "p999", (int)PCT(0.999), "max",
		      (int)(s->n ? s->v[s->n - 1] : 0));
#undef PCT
	return o;
}

static int load_tasks(const char *path, const char *host)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char ns[1024], lp[512], cp[512];

	if (!f)
		return -errno;
	while (ntasks < MAX_TASKS && fscanf(f, "%1023s %511s %511s", ns, lp, cp) == 3) {
		struct task *t = &tasks[ntasks];

		t->nsfd = open(ns, O_RDONLY | O_CLOEXEC);
		if (t->nsfd < 0)
			return -errno;
		snprintf(t->load_req, sizeof(t->load_req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
			 lp, host);
		t->has_creds = !streq(cp, "-");
		snprintf(t->creds_req, sizeof(t->creds_req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
			 cp, host);
		ntasks++;
	}
	return ntasks > 0 ? 0 : -ENOENT;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "tasks", required_argument, NULL, 't' },
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-requests", required_argument, NULL, 'm' },
		{ "creds-rate", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "target", required_argument, NULL, 'T' },
		{},
	};
	const char *tasks_file = NULL, *target_s = "169.254.170.2:80";
	unsigned long per_task = 2, max_requests = 5000000;
	double duration = 10, creds_rate = 100, rate = 0;
	uint64_t start, end, last = 0;
	char host[64];
	int c, nprobes = 0;

	while ((c = getopt_long(argc, argv, "t:c:d:m:r:R:T:", options, NULL)) >= 0) {
		switch (c) {
		case 't':
			tasks_file = optarg;
			break;
		case 'c':
			per_task = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'm':
			max_requests = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			creds_rate = strtod(optarg, NULL);
			break;
		case 'R':
			rate = strtod(optarg, NULL);
			break;
		case 'T':
			target_s = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!tasks_file || per_task < 1 || per_task > 64 || duration <= 0 || duration > 300 ||
	    max_requests < 1 || max_requests > 50000000 || creds_rate < 0 || creds_rate > 100000 ||
	    rate < 0 || rate > 10000000) {
		fprintf(stderr,
			"usage: tmds-load --tasks FILE [--connections 1-64] "
			"[--duration 0-300] [--max-requests N] [--creds-rate R] [--target A:P]\n");
		return 2;
	}
	{
		char *colon;

		strscpy(host, target_s, sizeof(host));
		colon = strrchr(host, ':');
		if (!colon)
			return 2;
		*colon = '\0';
		target = (struct sockaddr_in){ .sin_family = AF_INET,
					       .sin_port = htons((uint16_t)atoi(colon + 1)) };
		if (inet_pton(AF_INET, host, &target.sin_addr) != 1)
			return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (load_tasks(tasks_file, host) < 0) {
		fprintf(stderr, "tmds-load: cannot read the tasks in '%s'\n", tasks_file);
		return 1;
	}
	selfns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	load.cap = max_requests;
	load.v = calloc(load.cap, sizeof(*load.v));
	creds.cap = (size_t)(creds_rate * duration) + 1024;
	creds.v = calloc(creds.cap, sizeof(*creds.v));
	if (selfns < 0 || epfd < 0 || !load.v || !creds.v)
		return 1;

	for (int t = 0; t < ntasks; t++)
		for (unsigned long k = 0; k < per_task && nconns < MAX_CONNS; k++)
			conns[nconns++] = (struct conn){ .task = t, .fd = -1 };
	/* Probes: one connection each in up to MAX_PROBES tasks that have credentials. */
	for (int t = 0; creds_rate > 0 && t < ntasks && nprobes < MAX_PROBES; t++)
		if (tasks[t].has_creds && nconns < MAX_CONNS) {
			conns[nconns++] = (struct conn){ .task = t, .fd = -1, .probe = true };
			nprobes++;
		}
	for (int i = 0; i < nconns; i++) {
		conns[i].buf = malloc(LOAD_BUF);
		if (!conns[i].buf || conn_open(&conns[i]) < 0) {
			fprintf(stderr, "tmds-load: cannot open connection %d: %m\n", i);
			return 1;
		}
	}
	start = now_ns();
	end = start + (uint64_t)(duration * 1e9);
	{
		int nload = nconns - nprobes, li = 0, pi = 0;

		for (int i = 0; i < nconns; i++) {
			struct conn *x = &conns[i];

			if (x->probe) {
				x->paced = true;
				x->interval = (uint64_t)(1e9 * nprobes / creds_rate);
				x->due = start + x->interval * (uint64_t)pi++ / (uint64_t)nprobes;
			} else if (rate > 0) {
				x->paced = true;
				x->interval = (uint64_t)(1e9 * nload / rate);
				x->due = start + x->interval * (uint64_t)li++ / (uint64_t)nload;
			}
		}
	}

	for (;;) {
		struct epoll_event evs[256];
		uint64_t now = now_ns(), wake = end;
		bool stopping = now >= end || load.n >= load.cap;
		struct timespec ts;
		int n, busy = 0;

		for (int i = 0; i < nconns; i++) {
			struct conn *x = &conns[i];

			busy += x->busy;
			if (!x->paced || stopping || x->fd < 0 || !x->connected)
				continue;
			if (!x->busy && x->due <= now) {
				conn_send(x, x->due);
				x->due += x->interval;
				busy++;
			}
			if (!x->busy)
				wake = MIN(wake, x->due);
		}
		if (stopping && (busy == 0 || now > end + 3000000000ULL))
			break;
		if (stopping)
			wake = now + 100000000ULL;
		wake = MAX(wake, now);
		ts = (struct timespec){ .tv_sec = (time_t)((wake - now) / 1000000000ULL),
					.tv_nsec = (long)((wake - now) % 1000000000ULL) };
		n = epoll_pwait2(epfd, evs, 256, &ts, NULL);
		for (int i = 0; i < n; i++) {
			struct conn *x = evs[i].data.ptr;

			if (x->fd < 0)
				continue;
			if (!x->connected && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				int err = 0;
				socklen_t l = sizeof(err);

				getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				if (err) {
					conn_reset(x);
					continue;
				}
				x->connected = true;
				struct epoll_event ev = { .events = EPOLLIN, .data.ptr = x };

				epoll_ctl(epfd, EPOLL_CTL_MOD, x->fd, &ev);
				if (!x->paced && !stopping)
					conn_send(x, now_ns());
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(x, stopping);
		}
		last = now_ns();
	}
	{
		double secs = (double)(MIN(last, end) - start) / 1e9;
		json_t *out =
			json_pack("{s:i, s:i, s:i, s:f, s:I, s:o, s:o}", "tasks", ntasks,
				  "connections", nconns - nprobes, "probes", nprobes, "seconds",
				  secs, "reconnects", (json_int_t)reconnects, "load",
				  summary(&load, secs), "credentials", summary(&creds, secs));

		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	}
	return 0;
}
