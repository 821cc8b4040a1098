// SPDX-License-Identifier: GPL-2.0-only
/*
 * task-eni: the CNI plugin of taskplane (CNI spec 1.1.0; answers 0.4.0 and 1.0.0 too). A thin
 * client of netd: each command is one or two requests on netd's control socket, and netd does
 * the work in the kernel. Results and errors go to stdout, logs to stderr or the 'logFile' of
 * the configuration. docs/task-eni.md describes the configuration and every error code.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "cni.h"
#include "log.h"
#include "netns.h"

#define NETD_CALL_TIMEOUT_MS 10000 /* for requests that do not wait for an ENI */
/*
 * A detach: netd carries out attaches and detaches one at a time, so a DEL in a burst waits for
 * those before it (200 at once took 12 s and more on a 2-CPU machine); the runtime's own
 * timeout is the one that counts.
 */
#define NETD_DETACH_TIMEOUT_MS 60000

extern char **environ;

struct plugin {
	struct cni_env env;
	struct cni_config cfg;
	struct cni_error err;
	struct ctl_client *netd;
};

static int print_json(json_t *j)
{
	if (!j)
		return log_oom();
	if (json_dumpf(j, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) == EOF)
		return log_err_errno(errno ?: EIO, "Failed to write to stdout: %m");
	return 0;
}

/* Read all of stdin, at most CNI_MAX_INPUT bytes. */
static int read_input(char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *p;

			if (cap >= CNI_MAX_INPUT)
				return -EFBIG;
			cap = cap ? cap * 2 : 16384;
			p = realloc(buf, cap);
			if (!p)
				return -ENOMEM;
			buf = p;
		}
		n = read(STDIN_FILENO, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* Logs go to the configuration's logFile (appended; one write per line) or stay on stderr. */
static void setup_logging(const struct plugin *p)
{
	static char ident[96];
	int fd;

	if (p->cfg.log_level >= 0)
		log_set_level((enum log_level)p->cfg.log_level);
	snprintf(ident, sizeof(ident), "task-eni[%d] %s %.32s", (int)getpid(),
		 cni_command_to_string(p->env.command), strna(p->env.container_id));
	log_set_ident(ident);
	if (!p->cfg.log_file)
		return;
	fd = open(p->cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		log_warn_errno(errno, "Failed to open log file '%s': %m, logging to stderr",
			       p->cfg.log_file);
		return;
	}
	if (dup2(fd, STDERR_FILENO) < 0)
		log_warn_errno(errno, "Failed to log to '%s': %m, logging to stderr",
			       p->cfg.log_file);
	close(fd);
}

static int netd_connect(struct plugin *p, int code)
{
	int r = ctl_client_open(p->cfg.socket, &p->netd);

	if (r < 0)
		return cni_error_set(&p->err, code, p->cfg.socket,
				     "netd cannot be reached at '%s': %s", p->cfg.socket,
				     strerror(-r));
	return 0;
}

/* One request; on failure p->err says why, in CNI terms. */
static int netd_call(struct plugin *p, const char *method, json_t *params, int timeout_ms,
		     const char *what, json_t **ret)
{
	_cleanup_ctl_error_ struct ctl_error ce = {};
	int r;

	r = ctl_client_call(p->netd, method, params, timeout_ms, ret, &ce);
	if (r < 0) {
		cni_error_from_netd(r, &ce, what, p->cfg.socket, &p->err);
		return r == -EPROTO ? ce.code : r;
	}
	return 0;
}

/* The task id of this call's attachment. */
static int task_id(struct plugin *p, char *buf, size_t size)
{
	int r = cni_task_id(p->cfg.name, p->env.container_id, p->env.ifname, buf, size);

	if (r < 0)
		return cni_error_set(&p->err, CNI_ERR_INVALID_CONFIG, NULL,
				     "No valid task id for network '%s', container '%s', '%s'",
				     p->cfg.name, p->env.container_id, p->env.ifname);
	return 0;
}

/* CNI_NETNS must name a network namespace other than the plugin's own. */
static int check_netns(struct plugin *p)
{
	_cleanup_close_ int fd = -1, self = -1;
	struct netns_id id, sid;
	int r;

	r = netns_open(p->env.netns, &fd);
	if (r == -ENOENT)
		return cni_error_set(&p->err, CNI_ERR_INVALID_ENV, NULL,
				     "CNI_NETNS '%s' does not exist", p->env.netns);
	if (r == -EINVAL)
		return cni_error_set(&p->err, CNI_ERR_INVALID_ENV, NULL,
				     "CNI_NETNS '%s' is not a network namespace", p->env.netns);
	if (r < 0)
		return cni_error_set(&p->err, CNI_ERR_INVALID_ENV, NULL,
				     "CNI_NETNS '%s' cannot be opened: %s", p->env.netns,
				     strerror(-r));
	if (netns_get_id(fd, &id) == 0 && netns_open_self(&self) == 0 &&
	    netns_get_id(self, &sid) == 0 && netns_id_equal(&id, &sid))
		return cni_error_set(
			&p->err, CNI_ERR_INVALID_ENV, NULL,
			"CNI_NETNS '%s' is the plugin's own network namespace, not a container's",
			p->env.netns);
	return 0;
}

/* A configured gateway must be the one netd has registered for the ENI. */
static int check_gateways(struct plugin *p)
{
	char mac[ADDR_MAC_STRLEN], buf[INET6_ADDRSTRLEN];
	json_auto_t *eni = NULL;
	int r;

	r = netd_call(p, "eni.show", json_pack("{s:s}", "mac", addr_mac_format(p->cfg.mac, mac)),
		      NETD_CALL_TIMEOUT_MS, "ENI lookup", &eni);
	if (r == CTL_ERR_NOT_FOUND)
		return cni_error_set(&p->err, CNI_ERR_INVALID_CONFIG, NULL,
				     "ENI %s (%s) is not registered with netd", mac,
				     p->cfg.mac_from);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < p->cfg.ngateways; i++) {
		const struct in_prefix *gw = &p->cfg.gateways[i];
		const char *have = json_string_value(
			json_object_get(eni, gw->family == AF_INET6 ? "gateway6" : "gateway"));
		struct in_prefix hp;

		addr_ip_format(gw, buf, sizeof(buf));
		if (!have || addr_ip_parse(have, gw->family, &hp) < 0 ||
		    !addr_prefix_equal(&hp, gw))
			return cni_error_set(
				&p->err, CNI_ERR_INVALID_CONFIG, NULL,
				"Invalid value for 'gateway': '%s' (netd has %s as the gateway of ENI %s)",
				buf, have ?: "no such gateway", mac);
	}
	return 0;
}

/* A list of differences as one "a; b; c" message (cut at size). */
static void join_diffs(json_t *diffs, char *msg, size_t size)
{
	size_t i, n = 0;
	json_t *d;

	msg[0] = '\0';
	json_array_foreach(diffs, i, d)
		n += (size_t)snprintf(msg + MIN(n, size - 1), size - MIN(n, size - 1), "%s%s",
				      i ? "; " : "", json_string_value(d));
}

/*
 * netd answered the attach with "exists". When it is this attachment's task (an ADD retried
 * after its answer was lost, e.g. on code 11 while netd was slow) and it asks for the same
 * thing, the retry gets the same result: *ret_task is netd's record. Otherwise p->err says why
 * not: 101 for other parameters or an interface of another owner, 11 while the first attach
 * is still running.
 */
static int add_existing(struct plugin *p, const char *id, json_t **ret_task)
{
	json_auto_t *task = NULL, *diffs = NULL;
	struct cni_error exists = p->err;
	const char *phase;
	char msg[900];
	int r;

	r = netd_call(p, "task.show", json_pack("{s:s}", "task_id", id), NETD_CALL_TIMEOUT_MS,
		      "lookup", &task);
	if (r == CTL_ERR_NOT_FOUND) {
		/* No such task: the interface name is taken by another owner. */
		p->err = exists;
		return -EEXIST;
	}
	if (r < 0)
		return r;
	r = cni_add_compare(&p->cfg, &p->env, task, &diffs);
	if (r < 0)
		return log_oom();
	if (json_array_size(diffs) > 0) {
		join_diffs(diffs, msg, sizeof(msg));
		return cni_error_set(
			&p->err, CNI_ERR_EXISTS, id,
			"Container '%s' is attached as '%s' on network '%s' already, with other parameters (%s); DEL it first",
			p->env.container_id, p->env.ifname, p->cfg.name, msg);
	}
	phase = json_string_value(json_object_get(task, "phase"));
	if (streq_ptr(phase, "ATTACHING"))
		return cni_error_set(
			&p->err, CNI_ERR_TRY_AGAIN, id,
			"An earlier ADD of container '%s' as '%s' is still being carried out (netd task '%s' is ATTACHING)",
			p->env.container_id, p->env.ifname, id);
	if (!streq_ptr(phase, "READY") && !streq_ptr(phase, "READY_PULL"))
		return cni_error_set(
			&p->err, CNI_ERR_EXISTS, id,
			"The attachment of container '%s' as '%s' is half torn down (netd task '%s' is %s); a DEL finishes it",
			p->env.container_id, p->env.ifname, id, strna(phase));
	p->err = (struct cni_error){};
	log_info("Task '%s' is attached already with the same parameters: answering its result",
		 id);
	*ret_task = TAKE_PTR(task);
	return 0;
}

static int cmd_add(struct plugin *p)
{
	char id[IDENT_TASK_ID_MAX + 1];
	json_auto_t *task = NULL, *res = NULL;
	int r;

	if (task_id(p, id, sizeof(id)) < 0 || check_netns(p) < 0 ||
	    netd_connect(p, CNI_ERR_TRY_AGAIN) < 0)
		return -EINVAL;
	if (p->cfg.ngateways && check_gateways(p) < 0)
		return -EINVAL;
	r = netd_call(p, "task.attach", cni_attach_params(&p->cfg, &p->env, id),
		      (int)p->cfg.timeout_ms + NETD_CALL_TIMEOUT_MS, "attach", &task);
	if (r == CTL_ERR_EXISTS)
		r = add_existing(p, id, &task);
	if (r < 0)
		return r;
	log_info("Attached %s as task '%s'", p->env.ifname, id);
	r = cni_result_build(&p->cfg, task, &res, &p->err);
	if (r == 0)
		r = print_json(res);
	if (r < 0) {
		/* ADD is all or nothing. */
		json_auto_t *ignored = NULL;
		struct cni_error saved = p->err;

		if (!p->err.code)
			cni_error_set(&saved, CNI_ERR_IO, NULL, "Failed to write the result: %s",
				      strerror(-r));
		(void)netd_call(p, "task.detach", json_pack("{s:s}", "task_id", id),
				NETD_DETACH_TIMEOUT_MS, "rollback", &ignored);
		p->err = saved;
		return -EIO;
	}
	return 0;
}

static int cmd_del(struct plugin *p)
{
	char id[IDENT_TASK_ID_MAX + 1];
	json_auto_t *res = NULL;
	int r;

	if (p->cfg.ignored[0])
		log_info("DEL ignores a configuration error in a key it does not use: %s",
			 p->cfg.ignored);
	if (task_id(p, id, sizeof(id)) < 0 || netd_connect(p, CNI_ERR_TRY_AGAIN) < 0)
		return -EINVAL;
	r = netd_call(p, "task.detach", json_pack("{s:s}", "task_id", id), NETD_DETACH_TIMEOUT_MS,
		      "detach", &res);
	if (r < 0)
		return r;
	if (json_is_true(json_object_get(res, "detached")))
		log_info("Detached task '%s'; ENI %s is %s", id,
			 strna(json_string_value(json_object_get(res, "mac"))),
			 strna(json_string_value(json_object_get(res, "eni_state"))));
	else
		log_info("Task '%s' is not attached: nothing to do", id);
	return 0;
}

static int cmd_check(struct plugin *p)
{
	char id[IDENT_TASK_ID_MAX + 1], msg[900];
	json_auto_t *task = NULL, *check = NULL, *diffs = NULL;
	int r;

	if (task_id(p, id, sizeof(id)) < 0 || netd_connect(p, CNI_ERR_TRY_AGAIN) < 0)
		return -EINVAL;
	r = netd_call(p, "task.show", json_pack("{s:s}", "task_id", id), NETD_CALL_TIMEOUT_MS,
		      "lookup", &task);
	if (r == CTL_ERR_NOT_FOUND)
		return cni_error_set(
			&p->err, CNI_ERR_CHECK, id,
			"netd has no attachment of '%s' for container '%s' (task '%s')",
			p->env.ifname, p->env.container_id, id);
	if (r < 0)
		return r;
	r = netd_call(p, "task.check", json_pack("{s:s}", "task_id", id), NETD_CALL_TIMEOUT_MS,
		      "check", &check);
	if (r < 0)
		return r;
	r = cni_check_compare(&p->cfg, &p->env, task, check, &diffs);
	if (r < 0)
		return log_oom();
	if (json_array_size(diffs) == 0)
		return 0;
	join_diffs(diffs, msg, sizeof(msg));
	return cni_error_set(&p->err, CNI_ERR_CHECK, id, "CHECK found %zu difference%s: %s",
			     json_array_size(diffs), json_array_size(diffs) == 1 ? "" : "s", msg);
}

static int cmd_status(struct plugin *p)
{
	json_auto_t *health = NULL, *eni = NULL, *tasks = NULL;
	char mac[ADDR_MAC_STRLEN];
	const char *status;
	size_t i;
	json_t *t;
	int r;

	if (netd_connect(p, CNI_ERR_NOT_AVAILABLE) < 0)
		return -EINVAL;
	r = netd_call(p, "health", NULL, NETD_CALL_TIMEOUT_MS, "health check", &health);
	if (r < 0) {
		p->err.code = CNI_ERR_NOT_AVAILABLE;
		return r;
	}
	status = json_string_value(json_object_get(health, "status"));
	if (!status || !streq(status, "ok"))
		return cni_error_set(&p->err, CNI_ERR_NOT_AVAILABLE, NULL,
				     "netd reports status '%s'", strna(status));
	if (p->cfg.has_mac) {
		addr_mac_format(p->cfg.mac, mac);
		r = netd_call(p, "eni.show", json_pack("{s:s}", "mac", mac), NETD_CALL_TIMEOUT_MS,
			      "ENI lookup", &eni);
		if (r == CTL_ERR_NOT_FOUND)
			return cni_error_set(&p->err, CNI_ERR_NOT_AVAILABLE, NULL,
					     "ENI %s (%s) is not registered with netd", mac,
					     p->cfg.mac_from);
		if (r < 0) {
			p->err.code = CNI_ERR_NOT_AVAILABLE;
			return r;
		}
	}
	r = netd_call(p, "task.list",
		      json_pack("{s:{s:s}}", "attrs", CNI_ATTR_NETWORK, p->cfg.name),
		      NETD_CALL_TIMEOUT_MS, "task list", &tasks);
	if (r < 0) {
		p->err.code = CNI_ERR_NOT_AVAILABLE;
		return r;
	}
	json_array_foreach(tasks, i, t) {
		const char *phase = json_string_value(json_object_get(t, "phase"));

		if (phase && streq(phase, "DETACHING"))
			return cni_error_set(
				&p->err, CNI_ERR_LIMITED_CONNECTIVITY,
				json_string_value(json_object_get(t, "task_id")),
				"Attachment of container '%s' on network '%s' is half torn down (netd task '%s' is DETACHING); a DEL retries it",
				strna(json_string_value(json_object_get(json_object_get(t, "attrs"),
									CNI_ATTR_CONTAINER_ID))),
				p->cfg.name,
				strna(json_string_value(json_object_get(t, "task_id"))));
	}
	return 0;
}

static int cmd_gc(struct plugin *p)
{
	json_auto_t *tasks = NULL;
	char failed[600] = "";
	unsigned int nfailed = 0, ndetached = 0;
	size_t i;
	json_t *t;
	int r;

	if (p->cfg.ignored[0])
		log_info("GC ignores a configuration error in a key it does not use: %s",
			 p->cfg.ignored);
	if (netd_connect(p, CNI_ERR_TRY_AGAIN) < 0)
		return -EINVAL;
	r = netd_call(p, "task.list",
		      json_pack("{s:{s:s}}", "attrs", CNI_ATTR_NETWORK, p->cfg.name),
		      NETD_CALL_TIMEOUT_MS, "task list", &tasks);
	if (r < 0)
		return r;
	json_array_foreach(tasks, i, t) {
		json_t *attrs = json_object_get(t, "attrs");
		const char *tid = json_string_value(json_object_get(t, "task_id"));
		const char *cid = json_string_value(json_object_get(attrs, CNI_ATTR_CONTAINER_ID));
		const char *ifn = json_string_value(json_object_get(attrs, CNI_ATTR_IFNAME));
		char want[IDENT_TASK_ID_MAX + 1];
		json_auto_t *res = NULL;

		/* Only tasks that task-eni made for this network, by their id. */
		if (!tid || !cid || !ifn ||
		    cni_task_id(p->cfg.name, cid, ifn, want, sizeof(want)) < 0 ||
		    !streq(want, tid)) {
			log_info("GC leaves task '%s' alone: not an attachment of network '%s'",
				 strna(tid), p->cfg.name);
			continue;
		}
		if (cni_gc_attachment_valid(&p->cfg, cid, ifn))
			continue;
		r = netd_call(p, "task.detach", json_pack("{s:s}", "task_id", tid),
			      NETD_DETACH_TIMEOUT_MS, "detach", &res);
		if (r < 0) {
			log_warn("GC: detaching '%s' (container '%s', '%s') failed: %s", tid, cid,
				 ifn, p->err.msg);
			nfailed++;
			snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed), "%s%s",
				 nfailed > 1 ? ", " : "", tid);
			continue;
		}
		ndetached++;
		log_info("GC detached stale attachment '%s' (container '%s', '%s')", tid, cid, ifn);
	}
	if (nfailed)
		return cni_error_set(&p->err,
				     p->err.code == CNI_ERR_TRY_AGAIN ? CNI_ERR_TRY_AGAIN
								      : CNI_ERR_NETD,
				     failed, "GC detached %u stale attachment%s; %u failed: %s",
				     ndetached, ndetached == 1 ? "" : "s", nfailed, p->err.msg);
	return 0;
}

/* VERSION answers in the version it was asked in (stdin may be empty: then 1.1.0). */
static int cmd_version(struct plugin *p, const char *buf, size_t len)
{
	json_auto_t *in = NULL;
	json_error_t jerr;

	if (len > 0) {
		in = json_loadb(buf, len, 0, &jerr);
		if (!json_is_object(in))
			return cni_error_set(&p->err, CNI_ERR_DECODE, NULL,
					     "Failed to decode the input of VERSION: %s",
					     in ? "not an object" : jerr.text);
	}
	return print_json(cni_version_info(json_string_value(json_object_get(in, "cniVersion"))));
}

/* The cniVersion of the input, for an error found before the configuration was parsed. */
static const char *input_version(const char *buf, size_t len, json_t **keep)
{
	json_error_t jerr;

	*keep = len ? json_loadb(buf, len, 0, &jerr) : NULL;
	return json_string_value(json_object_get(*keep, "cniVersion"));
}

static int run(struct plugin *p, const char *buf, size_t len)
{
	int r;

	if (p->env.command == CNI_COMMAND_VERSION)
		return cmd_version(p, buf, len);
	r = cni_config_parse(buf, len, &p->env, &p->cfg, &p->err);
	setup_logging(p);
	if (r < 0)
		return r;
	switch (p->env.command) {
	case CNI_COMMAND_ADD:
		return cmd_add(p);
	case CNI_COMMAND_DEL:
		return cmd_del(p);
	case CNI_COMMAND_CHECK:
		return cmd_check(p);
	case CNI_COMMAND_STATUS:
		return cmd_status(p);
	case CNI_COMMAND_GC:
		return cmd_gc(p);
	case CNI_COMMAND_VERSION:
		break;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: task-eni [ --help | --version ]\n"
		"\n"
		"The CNI plugin of taskplane (CNI 1.1.0; answers 0.4.0 and 1.0.0 runtimes). A container\n"
		"runtime runs it, with the network configuration on stdin and in the environment:\n"
		"  CNI_COMMAND      ADD, DEL, CHECK, STATUS, GC or VERSION\n"
		"  CNI_CONTAINERID  the container (ADD, DEL, CHECK)\n"
		"  CNI_NETNS        its network namespace (ADD, CHECK; optional for DEL)\n"
		"  CNI_IFNAME       the interface name in it (ADD, DEL, CHECK)\n"
		"  CNI_ARGS         optional: IP=CIDR[,CIDR...];MAC=MAC\n"
		"The result, or the error object, is written on stdout; logs go to stderr. netd does the\n"
		"work: it must run (socket %s by default) and know the ENI.\n"
		"See task-eni(8) and docs/task-eni.md.\n"
		"\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version and the CNI versions it speaks\n",
		CTL_DEFAULT_SOCKET);
}

/* Options, when CNI_COMMAND is not set: a person at a terminal, not a runtime. */
static int run_by_hand(int argc, char **argv)
{
	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (argc == 2 &&
	    (streq(argv[1], "--version") || streq(argv[1], "-V") || streq(argv[1], "-v"))) {
		printf("task-eni %s (CNI 0.4.0, 1.0.0, 1.1.0)\n", TP_VERSION);
		return EXIT_SUCCESS;
	}
	fprintf(stderr, "task-eni: unknown argument '%s'; try 'task-eni --help'\n", argv[1]);
	return 2;
}

int main(int argc, char **argv)
{
	struct plugin p = {};
	_cleanup_free_ char *buf = NULL;
	json_auto_t *keep = NULL;
	const char *version;
	size_t len = 0;
	int r;

	log_set_ident("task-eni");
	log_set_level(LOG_LEVEL_WARNING);
	/* A runtime always sets CNI_COMMAND; without it, someone ran the plugin by hand. */
	if (!getenv("CNI_COMMAND") && argc > 1)
		return run_by_hand(argc, argv);

	r = read_input(&buf, &len);
	if (r < 0)
		cni_error_set(&p.err, r == -EFBIG ? CNI_ERR_DECODE : CNI_ERR_IO, NULL,
			      "Failed to read the network configuration from stdin: %s",
			      r == -EFBIG ? "more than 4 MiB" : strerror(-r));
	else
		r = cni_env_parse(environ, &p.env, &p.err);
	if (r == 0)
		r = run(&p, buf, len);

	if (r < 0 || p.err.code) {
		if (!p.err.code)
			cni_error_set(&p.err, CNI_ERR_IO, NULL, "%s", strerror(r < 0 ? -r : EIO));
		version = p.cfg.version_str ?: input_version(buf, len, &keep);
		log_err("%s (code %d)", p.err.msg, p.err.code);
		print_json(cni_error_to_json(&p.err, version));
	}
	p.netd = ctl_client_free(p.netd);
	cni_config_done(&p.cfg);
	cni_env_done(&p.env);
	return p.err.code ? EXIT_FAILURE : EXIT_SUCCESS;
}
