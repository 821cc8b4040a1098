// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus for netd. The endpoint is libmicrohttpd in "external polling" mode with epoll:
 * MHD's epoll fd is one io source of netd's loop and MHD_run() does the work when it is
 * readable, or when the timer that follows MHD_get_timeout() fires (connection timeouts, work
 * MHD left pending). No thread: the scrape is rendered on netd's thread, which owns the state.
 */
#include <microhttpd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "addr.h"
#include "eni.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "netd.h"
#include "prom.h"
#include "sock.h"

#define METRICS_MAX_CLIENTS 16
#define METRICS_MAX_HEAD    8192 /* MHD's memory per connection: the head must fit */
#define METRICS_TIMEOUT_SEC 10
#define METRICS_MAX_REASONS 32
#define METRICS_ALLOW	    "GET, HEAD"
#define METRICS_TEXT	    "text/plain; charset=utf-8"

struct metrics_server {
	struct event_loop *loop;
	struct MHD_Daemon *mhd;
	int io_id;
	int timer_id;
	metrics_render_fn render;
	void *data;
	char address[ADDR_SOCKADDR_STRLEN];
};

/* The mark of a request whose head was seen (MHD's per-request pointer). */
static char head_seen;

/* Queue a response of body (copied) with a status, a content type and maybe Allow. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, const char *type,
			       char *body, size_t len, bool take)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(
		len, body, take ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	if (!resp) {
		if (take)
			free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, METRICS_ALLOW) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned int status,
				    const char *text)
{
	return respond(conn, status, METRICS_TEXT, (char *)text, strlen(text), false);
}

static enum MHD_Result respond_metrics(struct metrics_server *m, struct MHD_Connection *conn)
{
	char *body = NULL, err[128];
	size_t len = 0;
	FILE *f;
	int r;

	f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	r = m->render(f, m->data);
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0) {
		free(body);
		snprintf(err, sizeof(err), "Failed to read the counters: %s\n", strerror(-r));
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
	}
	return respond(conn, MHD_HTTP_OK, PROM_CONTENT_TYPE, body, len, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct metrics_server *m = cls;
	bool get = streq(method, MHD_HTTP_METHOD_GET) || streq(method, MHD_HTTP_METHOD_HEAD);

	log_debug("Metrics: %.16s %.128s", method, url);
	/*
	 * MHD calls this first with the request head, then again once the body is in. An answer
	 * queued on the first call makes MHD close the connection afterwards, without reading a
	 * body: right for what is refused, not for the GETs of keep-alive scrapers, which are
	 * answered on the second call.
	 */
	if (!get)
		return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "Method Not Allowed: use GET or HEAD\n");
	if (!streq(url, "/metrics"))
		return respond_text(conn, MHD_HTTP_NOT_FOUND,
				    "Not Found: the metrics are at /metrics\n");
	if (!*req_cls) {
		*req_cls = &head_seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a GET with a body: the body is ignored */
		return MHD_YES;
	}
	return respond_metrics(m, conn);
}

/* MHD's own messages go through our logger, at debug level (clients' protocol errors). */
static _printf_(2, 0) void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("Metrics: %s", buf);
}

static void run_mhd(struct metrics_server *m);

static void on_timer(struct event_loop *loop, void *data)
{
	struct metrics_server *m = data;

	m->timer_id = 0;
	run_mhd(m);
}

static void on_io(struct event_loop *loop, int fd, uint32_t events, void *data)
{
	run_mhd(data);
}

/* Let MHD work, then arm the timer it asks for (0: work is pending, run again at once). */
static void run_mhd(struct metrics_server *m)
{
	MHD_UNSIGNED_LONG_LONG ms;
	int r;

	if (MHD_run(m->mhd) != MHD_YES)
		log_debug("Metrics: MHD_run failed, ignoring");
	event_cancel(m->loop, m->timer_id);
	m->timer_id = 0;
	if (MHD_get_timeout(m->mhd, &ms) != MHD_YES)
		return;
	r = event_add_timer(m->loop, (uint64_t)ms * 1000, on_timer, m, NULL);
	if (r < 0)
		log_warn_errno(r, "Metrics: failed to arm a timer: %m, ignoring");
	else
		m->timer_id = r;
}

int metrics_server_new(struct event_loop *loop, const char *address, metrics_render_fn render,
		       void *data, struct metrics_server **ret)
{
	const union MHD_DaemonInfo *info;
	struct metrics_server *m;
	int fd = -1, r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (struct metrics_server){ .loop = loop, .render = render, .data = data };
	r = sock_listen(address, &(struct sock_listen_opts){ .backlog = 64 }, &fd, m->address,
			sizeof(m->address));
	if (r < 0)
		goto out_free;
	/* MHD takes the socket: it closes it when stopped. */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, m,
				  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned int)METRICS_MAX_CLIENTS, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)METRICS_TIMEOUT_SEC,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MAX_HEAD,
				  MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_EXTERNAL_LOGGER,
				  mhd_log, NULL, MHD_OPTION_END);
	if (!m->mhd) {
		close(fd);
		r = -EINVAL;
		goto out_free;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		r = -EINVAL;
		goto out_stop;
	}
	r = event_add_io(loop, info->epoll_fd, EPOLLIN, on_io, m, NULL);
	if (r < 0)
		goto out_stop;
	m->io_id = r;
	*ret = m;
	return 0;

out_stop:
	MHD_stop_daemon(m->mhd);
out_free:
	free(m);
	return r;
}

const char *metrics_server_address(const struct metrics_server *m)
{
	return m->address;
}

struct metrics_server *metrics_server_free(struct metrics_server *m)
{
	if (!m)
		return NULL;
	event_cancel(m->loop, m->io_id);
	event_cancel(m->loop, m->timer_id);
	MHD_stop_daemon(m->mhd);
	free(m);
	return NULL;
}

/* --- netd's own metrics -------------------------------------------------------------------- */

/* Buckets for operations of milliseconds (an attach is 20-30 ms, most of it the kernel's move). */
static const uint64_t duration_bounds_usec[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
};

struct reason_count {
	const char *reason; /* static */
	uint64_t n;
};

struct netd_metrics {
	struct prom_histogram attach, detach;
	struct reason_count attach_failed[METRICS_MAX_REASONS];
	struct reason_count detach_failed[METRICS_MAX_REASONS];
};

/* Count one failure; the reasons are a small fixed set, and "other" takes any overflow. */
static void reason_add(struct reason_count *t, const char *reason, uint64_t n)
{
	unsigned int i;

	for (i = 0; i < METRICS_MAX_REASONS - 1 && t[i].reason; i++)
		if (streq(t[i].reason, reason))
			break;
	if (i == METRICS_MAX_REASONS - 1 && t[i].reason && !streq(t[i].reason, reason))
		reason = "other";
	t[i].reason = t[i].reason ?: reason;
	t[i].n += n;
}

int metrics_init(struct netd *d, const char *const *steps, unsigned int nsteps)
{
	struct netd_metrics *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->attach = (struct prom_histogram){ .bounds_usec = duration_bounds_usec,
					     .nbounds = ARRAY_SIZE(duration_bounds_usec) };
	m->detach = m->attach;
	/* Every reason known beforehand is there from the start, at 0: rate() needs a series. */
	for (unsigned int i = 0; i < nsteps; i++)
		reason_add(m->attach_failed, steps[i], 0);
	reason_add(m->attach_failed, "journal", 0);
	reason_add(m->attach_failed, "netns", 0);
	reason_add(m->attach_failed, "eni", 0);
	reason_add(m->attach_failed, "timeout", 0);
	reason_add(m->attach_failed, "cancelled", 0);
	reason_add(m->detach_failed, "teardown", 0);
	d->metrics = m;
	return 0;
}

void metrics_exit(struct netd *d)
{
	free(d->metrics);
	d->metrics = NULL;
}

void metrics_attach_done(struct netd *d, uint64_t usec)
{
	if (d->metrics)
		prom_histogram_observe(&d->metrics->attach, usec);
}

void metrics_attach_failed(struct netd *d, const char *reason)
{
	if (d->metrics)
		reason_add(d->metrics->attach_failed, reason, 1);
}

void metrics_detach_done(struct netd *d, uint64_t usec)
{
	if (d->metrics)
		prom_histogram_observe(&d->metrics->detach, usec);
}

void metrics_detach_failed(struct netd *d, const char *reason)
{
	if (d->metrics)
		reason_add(d->metrics->detach_failed, reason, 1);
}

static void write_reasons(FILE *f, const char *name, const struct reason_count *t)
{
	for (unsigned int i = 0; i < METRICS_MAX_REASONS && t[i].reason; i++) {
		fprintf(f, "%s{reason=\"", name);
		prom_write_label_value(f, t[i].reason);
		fprintf(f, "\"} %llu\n", (unsigned long long)t[i].n);
	}
}

void metrics_render_netd(struct netd *d, FILE *f)
{
	struct netd_metrics *m = d->metrics;
	unsigned int states[ENI_STATE_LOST + 1] = {};

	prom_write_head(f, "taskplane_build_info", "gauge",
			"The version of netd that serves these metrics (always 1).");
	fprintf(f, "taskplane_build_info{version=\"");
	prom_write_label_value(f, TP_VERSION);
	fprintf(f, "\"} 1\n");

	for (struct eni *e = d->enis; e; e = e->next)
		states[eni_get_state(e)]++;
	prom_write_head(f, "taskplane_enis", "gauge", "Registered ENIs, by state.");
	for (unsigned int s = 0; s < ARRAY_SIZE(states); s++)
		fprintf(f, "taskplane_enis{state=\"%s\"} %u\n",
			eni_state_to_string((enum eni_state)s), states[s]);
	if (!m)
		return;

	prom_write_head(
		f, "taskplane_attach_duration_seconds", "histogram",
		"Attaches netd carried out, from the first step to the answer (the wait for an ENI not on the host yet excluded).");
	prom_write_histogram(f, "taskplane_attach_duration_seconds", NULL, &m->attach);
	prom_write_head(
		f, "taskplane_attach_failures_total", "counter",
		"Attaches netd started that failed, by the step that failed or the reason (journal, netns, eni, timeout, cancelled).");
	write_reasons(f, "taskplane_attach_failures_total", m->attach_failed);
	prom_write_head(
		f, "taskplane_detach_duration_seconds", "histogram",
		"Detaches of a task, until the ENI was back on the host and the detach answered.");
	prom_write_histogram(f, "taskplane_detach_duration_seconds", NULL, &m->detach);
	prom_write_head(f, "taskplane_detach_failures_total", "counter",
			"Detaches that could not finish (the task stays DETACHING), by reason.");
	write_reasons(f, "taskplane_detach_failures_total", m->detach_failed);
}
