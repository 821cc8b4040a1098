// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the metadata endpoint's response builders (runtime/tmds.h): each body is
 * compared with the reference shapes (../shared/reference/fargate-platform-facts.md §2.4-§2.7,
 * §3.1, §4) key by key and type by type, and their values with what the task was registered
 * with. The shapes are written down once as schemas; the reference's own captured examples are
 * checked against the same schemas first, so that a schema cannot drift from the reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>

#include "platform.h"
#include "taskdef.h"
#include "tmds.h"
#include "util.h"

/* --- schemas ------------------------------------------------------------------------------
 * A schema is JSON: a type name ("string", "integer", "number", "boolean", "time", "object"),
 * [ELEMENT] for an array, or an object of member schemas where "?Key" is optional and "*"
 * stands for any key (a map). Members the schema does not name are errors.
 */

#define NETWORK_SCHEMA                                                                             \
	"{\"NetworkMode\":\"string\",\"IPv4Addresses\":[\"string\"],"                              \
	"\"?IPv6Addresses\":[\"string\"],\"AttachmentIndex\":\"integer\","                         \
	"\"MACAddress\":\"string\",\"IPv4SubnetCIDRBlock\":\"string\","                            \
	"\"?IPv6SubnetCIDRBlock\":\"string\",\"?DomainNameServers\":[\"string\"],"                 \
	"\"?DomainNameSearchList\":[\"string\"],\"PrivateDNSName\":\"string\","                    \
	"\"SubnetGatewayIpv4Address\":\"string\",\"?SubnetGatewayIpv6Address\":\"string\"}"

#define CONTAINER_SCHEMA                                                                           \
	"{\"DockerId\":\"string\",\"Name\":\"string\",\"DockerName\":\"string\","                  \
	"\"Image\":\"string\",\"ImageID\":\"string\","                                             \
	"\"?Ports\":[{\"?ContainerPort\":\"integer\",\"?Protocol\":\"string\","                    \
	"\"?HostPort\":\"integer\",\"?HostIp\":\"string\"}],"                                      \
	"\"?Labels\":{\"*\":\"string\"},\"DesiredStatus\":\"string\",\"KnownStatus\":\"string\","  \
	"\"?ExitCode\":\"integer\",\"Limits\":{\"?CPU\":\"number\",\"?Memory\":\"integer\"},"      \
	"\"?CreatedAt\":\"time\",\"?StartedAt\":\"time\",\"?FinishedAt\":\"time\","                \
	"\"Type\":\"string\",\"?Networks\":[" NETWORK_SCHEMA "],"                                  \
	"\"?Health\":\"object\",\"?Volumes\":[\"object\"],\"?LogDriver\":\"string\","              \
	"\"?LogOptions\":{\"*\":\"string\"},\"?ContainerARN\":\"string\","                         \
	"\"?Snapshotter\":\"string\",\"?RestartCount\":\"integer\"}"

#define TASK_SCHEMA                                                                                 \
	"{\"Cluster\":\"string\",\"TaskARN\":\"string\",\"Family\":\"string\","                     \
	"\"Revision\":\"string\",\"?DesiredStatus\":\"string\",\"KnownStatus\":\"string\","         \
	"\"?Limits\":{\"?CPU\":\"number\",\"?Memory\":\"integer\"},"                                \
	"\"?PullStartedAt\":\"time\",\"?PullStoppedAt\":\"time\",\"?ExecutionStoppedAt\":\"time\"," \
	"\"?AvailabilityZone\":\"string\",\"?AvailabilityZoneID\":\"string\","                      \
	"\"?LaunchType\":\"string\",\"Containers\":[" CONTAINER_SCHEMA "],"                         \
	"\"?ServiceName\":\"string\",\"?VPCID\":\"string\","                                        \
	"\"?ClockDrift\":{\"ClockErrorBound\":\"number\",\"ReferenceTimestamp\":\"time\","          \
	"\"ClockSynchronizationStatus\":\"string\"},"                                               \
	"\"?EphemeralStorageMetrics\":{\"Utilized\":\"integer\",\"Reserved\":\"integer\"},"         \
	"\"?FaultInjectionEnabled\":\"boolean\"}"

#define BLKIO                                                                                      \
	"[{\"major\":\"integer\",\"minor\":\"integer\",\"op\":\"string\",\"value\":\"integer\"}]"

#define CPU_SCHEMA                                                                                 \
	"{\"cpu_usage\":{\"total_usage\":\"integer\",\"?percpu_usage\":[\"integer\"],"             \
	"\"usage_in_kernelmode\":\"integer\",\"usage_in_usermode\":\"integer\"},"                  \
	"\"system_cpu_usage\":\"integer\",\"online_cpus\":\"integer\","                            \
	"\"throttling_data\":{\"periods\":\"integer\",\"throttled_periods\":\"integer\","          \
	"\"throttled_time\":\"integer\"}}"

#define STATS_SCHEMA                                                                               \
	"{\"read\":\"time\",\"preread\":\"time\",\"pids_stats\":\"object\","                       \
	"\"blkio_stats\":{\"io_service_bytes_recursive\":" BLKIO ","                               \
	"\"io_serviced_recursive\":" BLKIO ",\"io_queue_recursive\":" BLKIO ","                    \
	"\"io_service_time_recursive\":" BLKIO ",\"io_wait_time_recursive\":" BLKIO ","            \
	"\"io_merged_recursive\":" BLKIO ",\"io_time_recursive\":" BLKIO ","                       \
	"\"sectors_recursive\":" BLKIO "},"                                                        \
	"\"num_procs\":\"integer\",\"storage_stats\":\"object\","                                  \
	"\"cpu_stats\":" CPU_SCHEMA ",\"precpu_stats\":" CPU_SCHEMA ","                            \
	"\"memory_stats\":{\"usage\":\"integer\",\"max_usage\":\"integer\","                       \
	"\"stats\":{\"*\":\"integer\"},\"limit\":\"integer\"},"                                    \
	"\"name\":\"string\",\"id\":\"string\","                                                   \
	"\"?networks\":{\"*\":{\"rx_bytes\":\"integer\",\"rx_packets\":\"integer\","               \
	"\"rx_errors\":\"integer\",\"rx_dropped\":\"integer\",\"tx_bytes\":\"integer\","           \
	"\"tx_packets\":\"integer\",\"tx_errors\":\"integer\",\"tx_dropped\":\"integer\"}},"       \
	"\"?network_rate_stats\":{\"rx_bytes_per_sec\":\"number\",\"tx_bytes_per_sec\":\"number\"}}"

#define CREDENTIALS_SCHEMA                                                                         \
	"{\"RoleArn\":\"string\",\"AccessKeyId\":\"string\",\"SecretAccessKey\":\"string\","       \
	"\"Token\":\"string\",\"Expiration\":\"time\"}"

#define ERROR_SCHEMA "{\"code\":\"string\",\"message\":\"string\"}"

/* --- the reference's examples (§2.7, §3.1, §4); "…" elisions filled with values of the shape --- */

#define REF_CONTAINER                                                                              \
	"{\"DockerId\":\"67cd8a22b533459696d4ccab5278e009-2860414825\",\"Name\":\"app\","          \
	"\"DockerName\":\"app\",\"Image\":\"public.ecr.aws/x/app:9\",\"ImageID\":\"sha256:9d28\"," \
	"\"Labels\":{\"com.amazonaws.ecs.cluster\":"                                               \
	"\"arn:aws:ecs:ap-northeast-1:123456789012:cluster/c1\","                                  \
	"\"com.amazonaws.ecs.container-name\":\"app\",\"com.amazonaws.ecs.task-arn\":"             \
	"\"arn:aws:ecs:ap-northeast-1:123456789012:task/c1/67cd8a22b533459696d4ccab5278e009\","    \
	"\"com.amazonaws.ecs.task-definition-family\":\"fam\","                                    \
	"\"com.amazonaws.ecs.task-definition-version\":\"1\"},"                                    \
	"\"DesiredStatus\":\"RUNNING\",\"KnownStatus\":\"RUNNING\",\"Limits\":{\"CPU\":2},"        \
	"\"CreatedAt\":\"2023-06-20T01:13:35.073930071Z\","                                        \
	"\"StartedAt\":\"2023-06-20T01:13:35.073930071Z\",\"Type\":\"NORMAL\","                    \
	"\"Networks\":[{\"NetworkMode\":\"awsvpc\",\"IPv4Addresses\":[\"172.31.38.118\"],"         \
	"\"AttachmentIndex\":0,\"MACAddress\":\"0e:e9:74:a3:d1:ab\","                              \
	"\"IPv4SubnetCIDRBlock\":\"172.31.32.0/20\",\"DomainNameServers\":[\"172.31.0.2\"],"       \
	"\"DomainNameSearchList\":[\"ap-northeast-1.compute.internal\"],"                          \
	"\"PrivateDNSName\":\"ip-172-31-38-118.ap-northeast-1.compute.internal\","                 \
	"\"SubnetGatewayIpv4Address\":\"172.31.32.1/20\"}],"                                       \
	"\"ContainerARN\":\"arn:aws:ecs:ap-northeast-1:123456789012:container/c1/"                 \
	"67cd8a22b533459696d4ccab5278e009/a1241647-0000-4000-8000-000000000000\","                 \
	"\"LogDriver\":\"awslogs\",\"LogOptions\":{\"awslogs-group\":\"/ecs/fam\","                \
	"\"awslogs-region\":\"us-east-2\",\"awslogs-stream\":\"ecs/app/67cd8a22\","                \
	"\"awslogs-create-group\":\"true\"},\"Snapshotter\":\"overlayfs\"}"

#define REF_TASK                                                                                   \
	"{\"Cluster\":\"arn:aws:ecs:ap-northeast-1:123456789012:cluster/c1\","                     \
	"\"TaskARN\":\"arn:aws:ecs:ap-northeast-1:123456789012:task/c1/"                           \
	"67cd8a22b533459696d4ccab5278e009\",\"Family\":\"fam\",\"Revision\":\"1\","                \
	"\"DesiredStatus\":\"RUNNING\",\"KnownStatus\":\"RUNNING\","                               \
	"\"Limits\":{\"CPU\":1,\"Memory\":3072},"                                                  \
	"\"PullStartedAt\":\"2023-06-20T01:13:03.763177835Z\","                                    \
	"\"PullStoppedAt\":\"2023-06-20T01:13:30.942112076Z\","                                    \
	"\"AvailabilityZone\":\"ap-northeast-1d\",\"Containers\":[" REF_CONTAINER "],"             \
	"\"LaunchType\":\"FARGATE\",\"ClockDrift\":{\"ClockErrorBound\":0.4347665,"                \
	"\"ReferenceTimestamp\":\"2023-06-20T01:18:13Z\","                                         \
	"\"ClockSynchronizationStatus\":\"SYNCHRONIZED\"},"                                        \
	"\"EphemeralStorageMetrics\":{\"Utilized\":2925,\"Reserved\":21499}}"

#define REF_CPU                                                                                    \
	"{\"cpu_usage\":{\"total_usage\":4817594472,\"percpu_usage\":[2130796487,1675103146],"     \
	"\"usage_in_kernelmode\":540000000,\"usage_in_usermode\":2300000000},"                     \
	"\"system_cpu_usage\":1039490000000,\"online_cpus\":2,"                                    \
	"\"throttling_data\":{\"periods\":0,\"throttled_periods\":0,\"throttled_time\":0}}"

#define REF_STATS                                                                                      \
	"{\"read\":\"2023-06-20T01:19:45.077342978Z\",\"preread\":\"2023-06-20T01:19:35.076984286Z\"," \
	"\"pids_stats\":{},\"blkio_stats\":{\"io_service_bytes_recursive\":[{\"major\":259,"           \
	"\"minor\":0,\"op\":\"Write\",\"value\":57344}],\"io_serviced_recursive\":[],"                 \
	"\"io_queue_recursive\":[],\"io_service_time_recursive\":[],"                                  \
	"\"io_wait_time_recursive\":[],\"io_merged_recursive\":[],\"io_time_recursive\":[],"           \
	"\"sectors_recursive\":[]},\"num_procs\":0,\"storage_stats\":{},"                              \
	"\"cpu_stats\":" REF_CPU ",\"precpu_stats\":" REF_CPU ","                                      \
	"\"memory_stats\":{\"usage\":160886784,\"max_usage\":205619200,"                               \
	"\"stats\":{\"cache\":1,\"rss\":2},\"limit\":922337},"                                         \
	"\"name\":\"dd-agent\",\"id\":\"67cd8a22b533459696d4ccab5278e009-2860414825\","                \
	"\"networks\":{\"eth1\":{\"rx_bytes\":781187362,\"rx_packets\":527514,\"rx_errors\":0,"        \
	"\"rx_dropped\":0,\"tx_bytes\":971750,\"tx_packets\":6117,\"tx_errors\":0,"                    \
	"\"tx_dropped\":0}},\"network_rate_stats\":{\"rx_bytes_per_sec\":1911.33,"                     \
	"\"tx_bytes_per_sec\":2390.91}}"

#define REF_CREDENTIALS                                                                            \
	"{\"RoleArn\":\"arn:aws:iam::123456789012:role/r\",\"AccessKeyId\":\"AKIA\","              \
	"\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"2016-02-25T06:03:31Z\"}"

#define REF_ERROR "{\"code\":\"InvalidIdInRequest\",\"message\":\"CredentialsV2Request: x\"}"

/* --- the shape checker --------------------------------------------------------------------- */

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("bad JSON in the test: %s at %d", e.text, e.position);
	return j;
}

static void add_err(char *errs, size_t size, const char *fmt, ...) _printf_(3, 4);

static void add_err(char *errs, size_t size, const char *fmt, ...)
{
	size_t n = strlen(errs);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(errs + n, size - n, fmt, ap);
	va_end(ap);
	n = strlen(errs);
	if (n + 1 < size)
		strcat(errs, "\n");
}

static bool is_rfc3339(json_t *v)
{
	const char *s = json_string_value(v);
	int64_t sec;
	uint32_t nsec;

	return s && tmds_parse_time(s, &sec, &nsec) == 0 && s[strlen(s) - 1] == 'Z';
}

static void check_shape(const char *path, json_t *v, json_t *spec, char *errs, size_t size)
{
	char sub[512];

	if (json_is_string(spec)) {
		const char *t = json_string_value(spec);
		bool ok = (streq(t, "string") && json_is_string(v)) ||
			  (streq(t, "integer") && json_is_integer(v)) ||
			  (streq(t, "number") && json_is_number(v)) ||
			  (streq(t, "boolean") && json_is_boolean(v)) ||
			  (streq(t, "object") && json_is_object(v)) ||
			  (streq(t, "time") && is_rfc3339(v));

		if (!ok)
			add_err(errs, size, "%s: want %s", path, t);
		return;
	}
	if (json_is_array(spec)) {
		json_t *e;
		size_t i;

		if (!json_is_array(v)) {
			add_err(errs, size, "%s: want an array", path);
			return;
		}
		json_array_foreach(v, i, e) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			check_shape(sub, e, json_array_get(spec, 0), errs, size);
		}
		return;
	}
	if (!json_is_object(v)) {
		add_err(errs, size, "%s: want an object", path);
		return;
	}
	{
		json_t *any = json_object_get(spec, "*"), *s, *m;
		const char *k;

		json_object_foreach(v, k, m) {
			char opt[256];

			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			snprintf(opt, sizeof(opt), "?%s", k);
			s = json_object_get(spec, k) ?: json_object_get(spec, opt) ?: any;
			if (!s)
				add_err(errs, size, "%s: not in the reference", sub);
			else
				check_shape(sub, m, s, errs, size);
		}
		json_object_foreach(spec, k, s)
			if (k[0] != '?' && !streq(k, "*") && !json_object_get(v, k))
				add_err(errs, size, "%s.%s: missing", path, k);
	}
}

/* Fail with every difference between v and the schema. */
static void assert_shape(json_t *v, const char *schema)
{
	json_auto_t *spec = parse(schema);
	char errs[4096] = "";

	assert_non_null(v);
	check_shape("$", v, spec, errs, sizeof(errs));
	assert_string_equal(errs, "");
}

/* The keys both objects have appear in the same order (jansson keeps insertion order). */
static void assert_same_order(json_t *ours, json_t *ref)
{
	char a[2048] = "", b[2048] = "";
	const char *k;
	json_t *v;

	json_object_foreach(ours, k, v)
		if (json_object_get(ref, k))
			snprintf(a + strlen(a), sizeof(a) - strlen(a), "%s ", k);
	json_object_foreach(ref, k, v)
		if (json_object_get(ours, k))
			snprintf(b + strlen(b), sizeof(b) - strlen(b), "%s ", k);
	assert_string_equal(a, b);
}

static bool matches_re(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = s && regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

#define assert_re(s, re)                                                                           \
	do {                                                                                       \
		const char *_s = (s);                                                              \
		if (!matches_re(_s, re))                                                           \
			fail_msg("'%s' does not match %s", _s ?: "(null)", re);                    \
	} while (0)

static const char *jstr(json_t *o, const char *path)
{
	return json_string_value(json_object_get(o, path));
}

/* --- fixtures ------------------------------------------------------------------------------ */

#define TASKDEF                                                                                    \
	"{\"family\":\"web\",\"revision\":7,\"cpu\":\"256\",\"memory\":\"1 GB\","                  \
	"\"networkMode\":\"awsvpc\",\"taskRoleArn\":\"arn:aws:iam::111122223333:role/web-task\","  \
	"\"ephemeralStorage\":{\"sizeInGiB\":30},\"containerDefinitions\":["                       \
	"{\"name\":\"app\",\"image\":\"registry.example/app@sha256:"                               \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"cpu\":128,"          \
	"\"memory\":512,\"essential\":true,\"portMappings\":[{\"containerPort\":8080,"             \
	"\"protocol\":\"tcp\"}],\"logConfiguration\":{\"logDriver\":\"awslogs\",\"options\":{"     \
	"\"awslogs-group\":\"/ecs/web\",\"awslogs-region\":\"eu-west-1\","                         \
	"\"awslogs-stream-prefix\":\"ecs\"}},\"linuxParameters\":{\"initProcessEnabled\":true}},"  \
	"{\"name\":\"sidecar\",\"image\":\"busybox\"}]}"

#define NETD_TASK                                                                                     \
	"{\"task_id\":\"t1\",\"slot\":0,\"phase\":\"READY\",\"netns\":\"/run/netns/t1\","             \
	"\"mac\":\"02:3a:0b:00:00:01\",\"ifname\":\"eth1\",\"mtu\":9001,\"block_imds\":true,"         \
	"\"interfaces\":[{\"name\":\"eth1\",\"mac\":\"02:3a:0b:00:00:01\",\"mtu\":9001}],"            \
	"\"ips\":[{\"address\":\"198.18.1.2/16\",\"gateway\":\"198.18.0.1\",\"interface\":0}],"       \
	"\"routes\":[],\"dns\":{\"nameservers\":[\"198.18.0.2\"],\"search\":[\"example.internal\"]}," \
	"\"attrs\":{},\"metadata\":{\"address\":\"169.254.172.9\"}}"

/* One task of netd's stats.get (the contract of issue 4), with counters past 2^32. */
#define NETD_STATS                                                                                     \
	"{\"task_id\":\"t1\",\"slot\":3,\"phase\":\"READY\",\"detached\":false,"                       \
	"\"time\":\"2026-01-01T00:00:00.000000000Z\",\"device\":{\"ifname\":\"eth1\","                 \
	"\"rx_bytes\":6000000000,\"rx_packets\":5000001,\"rx_errors\":2,\"rx_dropped\":3,"             \
	"\"tx_bytes\":4000000004,\"tx_packets\":4000005,\"tx_errors\":6,\"tx_dropped\":7},"            \
	"\"totals\":{\"rx\":{\"bytes\":1,\"packets\":1},\"tx\":{\"bytes\":1,\"packets\":1}},"          \
	"\"flows\":{\"app\":{\"rx\":{\"bytes\":1,\"packets\":1},\"tx\":{\"bytes\":1,\"packets\":1}}}," \
	"\"drops\":{\"spoof\":{\"packets\":0},\"imds\":{\"packets\":4},\"policy\":{\"packets\":0}},"   \
	"\"rates\":{\"window_sec\":10,\"rx_bytes_per_sec\":1911.33,\"tx_bytes_per_sec\":0}}"

struct fixture {
	struct tmds_task *t;
	struct tmds_sample cur, prev;
	struct tmds_clock clock;
};

static struct tmds_task *make_task(const char *pv, const char *cluster, const char *task_arn)
{
	json_auto_t *j = parse(TASKDEF), *nt = parse(NETD_TASK);
	struct tmds_task *t = NULL;
	struct taskdef *def = NULL;
	char *err = NULL;
	json_t *net = NULL;

	assert_int_equal(taskdef_parse(j, &def, &err), 0);
	assert_int_equal(
		tmds_task_new(&(struct tmds_task_opts){ .task_id = "t1",
							.cluster = cluster,
							.region = "eu-west-1",
							.availability_zone = "eu-west-1b",
							.launch_type = "FARGATE",
							.task_arn = task_arn,
							.platform = platform_find(pv),
							.created_ns = 1700000000123456789ULL },
			      def, &t, &err),
		0);
	assert_null(err);
	assert_int_equal(tmds_network_from_netd(nt, "eu-west-1", &net, &err), 0);
	tmds_task_set_network(t, net);
	return t;
}

static void make_sample(struct tmds_sample *s, uint64_t read_ns, uint64_t cpu, bool net)
{
	json_auto_t *st = parse(NETD_STATS);
	char *err = NULL;

	*s = (struct tmds_sample){ .read_ns = read_ns, .n_containers = 2 };
	s->containers = calloc(2, sizeof(*s->containers));
	s->containers[0] = (struct tmds_container_sample){
		.has_cgroup = true,
		.cpu = { .total_usage = cpu,
			 .usage_in_kernelmode = cpu / 4,
			 .usage_in_usermode = cpu / 2,
			 .system_cpu_usage = 1039490000000ULL,
			 .online_cpus = 2,
			 .periods = 10,
			 .throttled_periods = 1,
			 .throttled_time = 5000 },
		.mem = { .usage = 160886784, .max_usage = 205619200, .limit = 536870912 },
	};
	s->containers[0].cpu.percpu_usage = calloc(2, sizeof(uint64_t));
	s->containers[0].cpu.percpu_usage[0] = cpu / 3;
	s->containers[0].cpu.percpu_usage[1] = cpu - cpu / 3;
	s->containers[0].cpu.n_percpu = 2;
	s->containers[0].mem.stats =
		json_pack("{s:I, s:I}", "cache", (json_int_t)4096, "rss", (json_int_t)8192);
	s->containers[1].cpu.system_cpu_usage = 1039490000000ULL;
	s->containers[1].cpu.online_cpus = 2;
	if (net) {
		assert_int_equal(tmds_net_stats_from_netd(st, &s->net, &err), 0);
		s->has_net = true;
	}
}

static int setup14(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->t = make_task("1.4.0", "arn:aws:ecs:eu-west-1:111122223333:cluster/prod", NULL);
	make_sample(&f->prev, 1700000010000000000ULL, 1000000, true);
	make_sample(&f->cur, 1700000020000000001ULL, 4000000, true);
	f->clock = (struct tmds_clock){ .error_bound_ms = 0.4347665,
					.reference_ns = 1700000020999999999ULL,
					.synchronized = true };
	*state = f;
	return 0;
}

static int setup13(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->t = make_task("1.3.0", "prod", NULL);
	make_sample(&f->cur, 1700000020000000001ULL, 4000000, true);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmds_task_free(f->t);
	tmds_sample_done(&f->cur);
	tmds_sample_done(&f->prev);
	free(f);
	return 0;
}

/* --- tests --------------------------------------------------------------------------------- */

/* The schemas describe the reference: its captured examples pass them. */
static void test_reference_examples_fit_schemas(void **state)
{
	json_auto_t *c = parse(REF_CONTAINER), *t = parse(REF_TASK), *s = parse(REF_STATS);
	json_auto_t *cr = parse(REF_CREDENTIALS), *e = parse(REF_ERROR);

	assert_shape(c, CONTAINER_SCHEMA);
	assert_shape(t, TASK_SCHEMA);
	assert_shape(s, STATS_SCHEMA);
	assert_shape(cr, CREDENTIALS_SCHEMA);
	assert_shape(e, ERROR_SCHEMA);
}

/* And the checker does fail: a wrong type, an unknown key, a missing key. */
static void test_checker_catches_differences(void **state)
{
	json_auto_t *spec = parse(TASK_SCHEMA), *t = parse(REF_TASK);
	char errs[4096] = "";

	json_object_set_new(t, "Revision", json_integer(1));
	json_object_set_new(t, "Bogus", json_true());
	json_object_del(t, "Cluster");
	json_object_set_new(json_array_get(json_object_get(t, "Containers"), 0), "CreatedAt",
			    json_string("2023-06-20 01:13:35"));
	check_shape("$", t, spec, errs, sizeof(errs));
	assert_non_null(strstr(errs, "$.Revision: want string"));
	assert_non_null(strstr(errs, "$.Bogus: not in the reference"));
	assert_non_null(strstr(errs, "$.Cluster: missing"));
	assert_non_null(strstr(errs, "$.Containers[0].CreatedAt: want time"));
}

static void test_container(void **state)
{
	struct fixture *f = *state;
	json_auto_t *c = tmds_container_json(f->t, 0), *ref = parse(REF_CONTAINER);
	json_t *labels, *net, *limits;

	assert_shape(c, CONTAINER_SCHEMA);
	assert_same_order(c, ref);
	/* every key of the captured container is there */
	{
		const char *k;
		json_t *v;

		json_object_foreach(ref, k, v)
			if (!json_object_get(c, k))
				fail_msg("key %s of the reference is missing", k);
	}
	assert_re(jstr(c, "DockerId"), "^[0-9a-f]{32}-[0-9]{10}$");
	assert_true(startswith(jstr(c, "DockerId"), f->t->ecs_id));
	assert_string_equal(jstr(c, "Name"), "app");
	assert_string_equal(jstr(c, "DockerName"), "app");
	assert_string_equal(
		jstr(c, "ImageID"),
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_string_equal(jstr(c, "DesiredStatus"), "RUNNING");
	assert_string_equal(jstr(c, "KnownStatus"), "RUNNING");
	assert_string_equal(jstr(c, "Type"), "NORMAL");
	assert_string_equal(jstr(c, "CreatedAt"), "2023-11-14T22:13:20.123456789Z");
	assert_string_equal(jstr(c, "StartedAt"), "2023-11-14T22:13:20.123456789Z");
	limits = json_object_get(c, "Limits");
	assert_true(json_is_integer(json_object_get(limits, "CPU"))); /* 128, as Go writes it */
	assert_int_equal(json_integer_value(json_object_get(limits, "CPU")), 128);
	assert_int_equal(json_integer_value(json_object_get(limits, "Memory")), 512);
	labels = json_object_get(c, "Labels");
	assert_string_equal(jstr(labels, "com.amazonaws.ecs.cluster"),
			    "arn:aws:ecs:eu-west-1:111122223333:cluster/prod");
	assert_string_equal(jstr(labels, "com.amazonaws.ecs.task-arn"), f->t->task_arn);
	assert_string_equal(jstr(labels, "com.amazonaws.ecs.container-name"), "app");
	assert_string_equal(jstr(labels, "com.amazonaws.ecs.task-definition-family"), "web");
	assert_string_equal(jstr(labels, "com.amazonaws.ecs.task-definition-version"), "7");
	assert_re(jstr(c, "ContainerARN"),
		  "^arn:aws:ecs:eu-west-1:111122223333:container/prod/[0-9a-f]{32}/"
		  "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
	assert_string_equal(jstr(c, "LogDriver"), "awslogs");
	{
		/* Fargate's shape: the stream the prefix makes, the prefix not reported. */
		json_t *lo = json_object_get(c, "LogOptions");
		char stream[128];

		snprintf(stream, sizeof(stream), "ecs/app/%s", f->t->ecs_id);
		assert_int_equal(json_object_size(lo), 3);
		assert_string_equal(jstr(lo, "awslogs-group"), "/ecs/web");
		assert_string_equal(jstr(lo, "awslogs-region"), "eu-west-1");
		assert_string_equal(jstr(lo, "awslogs-stream"), stream);
		assert_null(json_object_get(lo, "awslogs-stream-prefix"));
	}
	assert_string_equal(jstr(c, "Snapshotter"), "overlayfs");
	net = json_array_get(json_object_get(c, "Networks"), 0);
	assert_int_equal(json_array_size(json_object_get(c, "Networks")), 1);
	assert_string_equal(jstr(net, "NetworkMode"), "awsvpc");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(net, "IPv4Addresses"), 0)),
		"198.18.1.2");
	assert_int_equal(json_integer_value(json_object_get(net, "AttachmentIndex")), 0);
	assert_string_equal(jstr(net, "MACAddress"), "02:3a:0b:00:00:01");
	assert_string_equal(jstr(net, "IPv4SubnetCIDRBlock"), "198.18.0.0/16");
	assert_string_equal(jstr(net, "SubnetGatewayIpv4Address"), "198.18.0.1/16");
	assert_string_equal(jstr(net, "PrivateDNSName"),
			    "ip-198-18-1-2.eu-west-1.compute.internal");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(net, "DomainNameServers"), 0)),
		"198.18.0.2");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(net, "DomainNameSearchList"), 0)),
		"example.internal");
	assert_same_order(net, json_array_get(json_object_get(ref, "Networks"), 0));
	/* Ports: awsvpc, so the host port is the container port */
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(c, "Ports"), 0), "HostPort")),
			 8080);
}

static void test_second_container(void **state)
{
	struct fixture *f = *state;
	json_auto_t *c = tmds_container_json(f->t, 1);

	assert_shape(c, CONTAINER_SCHEMA);
	assert_string_equal(jstr(c, "Name"), "sidecar");
	assert_string_equal(jstr(c, "ImageID"), ""); /* not pinned, nothing pulled */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "Limits"), "CPU")),
			 0);
	assert_null(json_object_get(json_object_get(c, "Limits"), "Memory"));
	assert_null(json_object_get(c, "LogDriver"));
	assert_null(json_object_get(c, "LogOptions"));
	assert_null(json_object_get(c, "Ports"));
	assert_string_not_equal(jstr(c, "DockerId"), f->t->containers[0].docker_id);
	assert_string_not_equal(jstr(c, "ContainerARN"), f->t->containers[0].arn);
}

static void test_task(void **state)
{
	struct fixture *f = *state;
	json_auto_t *t = tmds_task_json(f->t, &f->clock), *ref = parse(REF_TASK);
	json_t *cd, *limits;

	assert_shape(t, TASK_SCHEMA);
	assert_same_order(t, ref);
	assert_string_equal(jstr(t, "Cluster"), "arn:aws:ecs:eu-west-1:111122223333:cluster/prod");
	assert_re(jstr(t, "TaskARN"),
		  "^arn:aws:ecs:eu-west-1:111122223333:task/prod/[0-9a-f]{32}$");
	assert_string_equal(jstr(t, "Family"), "web");
	assert_string_equal(jstr(t, "Revision"), "7");
	assert_string_equal(jstr(t, "KnownStatus"), "RUNNING");
	assert_string_equal(jstr(t, "AvailabilityZone"), "eu-west-1b");
	assert_string_equal(jstr(t, "LaunchType"), "FARGATE");
	limits = json_object_get(t, "Limits");
	assert_true(json_is_real(json_object_get(limits, "CPU")));
	assert_true(json_real_value(json_object_get(limits, "CPU")) == 0.25); /* vCPU */
	assert_int_equal(json_integer_value(json_object_get(limits, "Memory")), 1024);
	assert_int_equal(json_array_size(json_object_get(t, "Containers")), 2);
	cd = json_object_get(t, "ClockDrift");
	assert_true(json_real_value(json_object_get(cd, "ClockErrorBound")) == 0.4347665);
	assert_string_equal(jstr(cd, "ReferenceTimestamp"), "2023-11-14T22:13:40Z");
	assert_string_equal(jstr(cd, "ClockSynchronizationStatus"), "SYNCHRONIZED");
	assert_same_order(cd, json_object_get(ref, "ClockDrift"));
	/* the containers of /task are the container bodies */
	{
		json_auto_t *c0 = tmds_container_json(f->t, 0);

		assert_true(json_equal(c0, json_array_get(json_object_get(t, "Containers"), 0)));
	}
	/* no clock: no ClockDrift; an unsynchronised clock says so */
	{
		json_auto_t *t2 = tmds_task_json(f->t, NULL);
		struct tmds_clock c = { .error_bound_ms = 16000,
					.reference_ns = 1,
					.synchronized = false };
		json_auto_t *t3 = tmds_task_json(f->t, &c);

		assert_null(json_object_get(t2, "ClockDrift"));
		assert_string_equal(
			jstr(json_object_get(t3, "ClockDrift"), "ClockSynchronizationStatus"),
			"NOT_SYNCHRONIZED");
		assert_int_equal(json_integer_value(json_object_get(
					 json_object_get(t3, "ClockDrift"), "ClockErrorBound")),
				 16000);
	}
}

/* A task taskvm launched: real statuses, times, exit codes, digests, pulls and storage. */
static void test_launched(void **state)
{
	struct fixture *f = *state;
	struct tmds_task *t = f->t;
	json_auto_t *c0 = NULL, *c1 = NULL, *task = NULL, *ref = parse(REF_TASK);
	json_t *esm;
	enum tmds_status st;

	t->launched = true;
	t->known = TMDS_STATUS_RUNNING;
	t->desired = TMDS_STATUS_RUNNING;
	t->pull_started_ns = 1700000001000000000ULL;
	t->pull_stopped_ns = 1700000002500000000ULL;
	t->has_storage = true;
	t->storage_utilized_mib = 37;
	t->storage_reserved_mib = 20030;
	t->containers[0].state = (struct tmds_container_state){
		.known = TMDS_STATUS_RUNNING,
		.desired = TMDS_STATUS_RUNNING,
		.created_ns = 1700000003000000000ULL,
		.started_ns = 1700000003100000000ULL,
		.image_id =
			strdup("sha256:"
			       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	};
	t->containers[1].state = (struct tmds_container_state){
		.known = TMDS_STATUS_STOPPED,
		.desired = TMDS_STATUS_STOPPED,
		.created_ns = 1700000003000000000ULL,
		.started_ns = 1700000003200000000ULL,
		.finished_ns = 1700000004000000000ULL,
		.has_exit_code = true,
		.exit_code = 137,
	};
	c0 = tmds_container_json(t, 0);
	c1 = tmds_container_json(t, 1);
	task = tmds_task_json(t, &f->clock);
	assert_shape(c0, CONTAINER_SCHEMA);
	assert_shape(c1, CONTAINER_SCHEMA);
	assert_shape(task, TASK_SCHEMA);
	assert_same_order(task, ref);

	assert_string_equal(jstr(c0, "KnownStatus"), "RUNNING");
	assert_string_equal(
		jstr(c0, "ImageID"),
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_string_equal(jstr(c0, "CreatedAt"), "2023-11-14T22:13:23.000000000Z");
	assert_string_equal(jstr(c0, "StartedAt"), "2023-11-14T22:13:23.100000000Z");
	assert_null(json_object_get(c0, "FinishedAt"));
	assert_null(json_object_get(c0, "ExitCode"));

	assert_string_equal(jstr(c1, "KnownStatus"), "STOPPED");
	assert_string_equal(jstr(c1, "DesiredStatus"), "STOPPED");
	assert_int_equal(json_integer_value(json_object_get(c1, "ExitCode")), 137);
	assert_string_equal(jstr(c1, "FinishedAt"), "2023-11-14T22:13:24.000000000Z");
	assert_string_equal(jstr(c1, "ImageID"), ""); /* not pulled (yet) */

	assert_string_equal(jstr(task, "KnownStatus"), "RUNNING");
	assert_string_equal(jstr(task, "PullStartedAt"), "2023-11-14T22:13:21.000000000Z");
	assert_string_equal(jstr(task, "PullStoppedAt"), "2023-11-14T22:13:22.500000000Z");
	assert_null(json_object_get(task, "ExecutionStoppedAt"));
	esm = json_object_get(task, "EphemeralStorageMetrics");
	assert_int_equal(json_integer_value(json_object_get(esm, "Utilized")), 37);
	assert_int_equal(json_integer_value(json_object_get(esm, "Reserved")), 20030);

	/* a container not yet created has no times */
	t->containers[0].state.known = TMDS_STATUS_PULLED;
	t->containers[0].state.created_ns = t->containers[0].state.started_ns = 0;
	json_decref(c0);
	c0 = tmds_container_json(t, 0);
	assert_string_equal(jstr(c0, "KnownStatus"), "PULLED");
	assert_null(json_object_get(c0, "CreatedAt"));
	assert_null(json_object_get(c0, "StartedAt"));

	for (st = TMDS_STATUS_NONE; st <= TMDS_STATUS_STOPPED; st++) {
		enum tmds_status back;

		assert_int_equal(tmds_status_from_string(tmds_status_to_string(st), &back), 0);
		assert_int_equal(back, st);
	}
	assert_int_equal(tmds_status_from_string("PENDING", &st), -EINVAL);
}

/* A task id given for a new task ARN. */
static void test_ecs_id_given(void **state)
{
	json_auto_t *j = parse(TASKDEF);
	struct tmds_task *t = NULL;
	struct taskdef *def = NULL;
	char *err = NULL;

	assert_int_equal(taskdef_parse(j, &def, &err), 0);
	assert_int_equal(tmds_task_new(
				 &(struct tmds_task_opts){
					 .task_id = "0123456789abcdef0123456789abcdef",
					 .cluster = "arn:aws:ecs:eu-west-1:111122223333:cluster/c",
					 .region = "eu-west-1",
					 .availability_zone = "eu-west-1b",
					 .ecs_id = "0123456789abcdef0123456789abcdef" },
				 def, &t, &err),
			 0);
	assert_string_equal(t->task_arn, "arn:aws:ecs:eu-west-1:111122223333:task/c/"
					 "0123456789abcdef0123456789abcdef");
	t = tmds_task_free(t);
	assert_int_equal(taskdef_parse(j, &def, &err), 0);
	assert_int_equal(tmds_task_new(
				 &(struct tmds_task_opts){
					 .task_id = "x",
					 .cluster = "arn:aws:ecs:eu-west-1:111122223333:cluster/c",
					 .region = "eu-west-1",
					 .availability_zone = "eu-west-1b",
					 .ecs_id = "0123456789ABCDEF0123456789abcdef" },
				 def, &t, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "32 lower-case hex digits"));
	free(err);
}

static void test_stats(void **state)
{
	struct fixture *f = *state;
	json_auto_t *s = tmds_container_stats_json(f->t, 0, &f->cur, &f->prev);
	json_auto_t *ref = parse(REF_STATS);
	json_t *eth1, *rate, *cpu, *pre, *mem;

	assert_shape(s, STATS_SCHEMA);
	assert_same_order(s, ref);
	assert_string_equal(jstr(s, "read"), "2023-11-14T22:13:40.000000001Z");
	assert_string_equal(jstr(s, "preread"), "2023-11-14T22:13:30.000000000Z");
	assert_string_equal(jstr(s, "name"), "app");
	assert_string_equal(jstr(s, "id"), f->t->containers[0].docker_id);
	/* networks.eth1 is netd's "device", field for field */
	assert_int_equal(json_object_size(json_object_get(s, "networks")), 1);
	eth1 = json_object_get(json_object_get(s, "networks"), "eth1");
	assert_true(json_integer_value(json_object_get(eth1, "rx_bytes")) == 6000000000LL);
	assert_int_equal(json_integer_value(json_object_get(eth1, "rx_packets")), 5000001);
	assert_int_equal(json_integer_value(json_object_get(eth1, "rx_errors")), 2);
	assert_int_equal(json_integer_value(json_object_get(eth1, "rx_dropped")), 3);
	assert_true(json_integer_value(json_object_get(eth1, "tx_bytes")) == 4000000004LL);
	assert_int_equal(json_integer_value(json_object_get(eth1, "tx_packets")), 4000005);
	assert_int_equal(json_integer_value(json_object_get(eth1, "tx_errors")), 6);
	assert_int_equal(json_integer_value(json_object_get(eth1, "tx_dropped")), 7);
	assert_same_order(eth1, json_object_get(json_object_get(ref, "networks"), "eth1"));
	/* network_rate_stats is netd's "rates" */
	rate = json_object_get(s, "network_rate_stats");
	assert_true(json_number_value(json_object_get(rate, "rx_bytes_per_sec")) == 1911.33);
	assert_true(json_number_value(json_object_get(rate, "tx_bytes_per_sec")) == 0);
	/* cpu_stats now, precpu_stats the sample before */
	cpu = json_object_get(json_object_get(s, "cpu_stats"), "cpu_usage");
	pre = json_object_get(json_object_get(s, "precpu_stats"), "cpu_usage");
	assert_int_equal(json_integer_value(json_object_get(cpu, "total_usage")), 4000000);
	assert_int_equal(json_integer_value(json_object_get(pre, "total_usage")), 1000000);
	assert_int_equal(json_integer_value(json_object_get(cpu, "usage_in_usermode")), 2000000);
	assert_int_equal(json_integer_value(json_object_get(cpu, "usage_in_kernelmode")), 1000000);
	assert_int_equal(json_array_size(json_object_get(cpu, "percpu_usage")), 2);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(s, "cpu_stats"), "online_cpus")),
		2);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_object_get(s, "cpu_stats"), "throttling_data"),
			"throttled_time")),
		5000);
	mem = json_object_get(s, "memory_stats");
	assert_int_equal(json_integer_value(json_object_get(mem, "usage")), 160886784);
	assert_int_equal(json_integer_value(json_object_get(mem, "max_usage")), 205619200);
	assert_int_equal(json_integer_value(json_object_get(mem, "limit")), 536870912);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(mem, "stats"), "rss")),
			 8192);
}

/* A container without a cgroup: every field there, zero as Docker's shape allows. */
static void test_stats_without_cgroup(void **state)
{
	struct fixture *f = *state;
	json_auto_t *s = tmds_container_stats_json(f->t, 1, &f->cur, &f->prev);
	json_t *cpu = json_object_get(s, "cpu_stats"), *mem = json_object_get(s, "memory_stats");

	assert_shape(s, STATS_SCHEMA);
	assert_int_equal(json_integer_value(
				 json_object_get(json_object_get(cpu, "cpu_usage"), "total_usage")),
			 0);
	assert_null(json_object_get(json_object_get(cpu, "cpu_usage"), "percpu_usage"));
	assert_true(json_integer_value(json_object_get(cpu, "system_cpu_usage")) > 0);
	assert_int_equal(json_integer_value(json_object_get(mem, "usage")), 0);
	assert_int_equal(json_integer_value(json_object_get(mem, "limit")), 0);
	assert_int_equal(json_object_size(json_object_get(mem, "stats")), 0);
	/* the task ENI's counters are every container's (reference §3.2) */
	{
		json_auto_t *s0 = tmds_container_stats_json(f->t, 0, &f->cur, &f->prev);

		assert_non_null(json_object_get(s, "networks"));
		assert_true(json_equal(json_object_get(s, "networks"),
				       json_object_get(s0, "networks")));
		assert_true(json_equal(json_object_get(s, "network_rate_stats"),
				       json_object_get(s0, "network_rate_stats")));
	}
}

static void test_task_stats(void **state)
{
	struct fixture *f = *state;
	json_auto_t *ts = tmds_task_stats_json(f->t, &f->cur, &f->prev);
	json_auto_t *c0 = tmds_container_stats_json(f->t, 0, &f->cur, &f->prev);
	json_auto_t *c1 = tmds_container_stats_json(f->t, 1, &f->cur, &f->prev);
	json_auto_t *spec = parse("{\"*\":" STATS_SCHEMA "}");
	char errs[4096] = "";

	check_shape("$", ts, spec, errs, sizeof(errs));
	assert_string_equal(errs, "");
	/* keyed by DockerId, one entry per container */
	assert_int_equal(json_object_size(ts), 2);
	assert_true(json_equal(json_object_get(ts, f->t->containers[0].docker_id), c0));
	assert_true(json_equal(json_object_get(ts, f->t->containers[1].docker_id), c1));
	/* every container reports the same task-level network counters */
	assert_true(json_equal(json_object_get(c0, "networks"), json_object_get(c1, "networks")));
}

/* The first sample: preread is Docker's zero time and precpu_stats zeros. */
static void test_first_sample(void **state)
{
	struct fixture *f = *state;
	json_auto_t *s = tmds_container_stats_json(f->t, 0, &f->cur, NULL);
	json_t *pre = json_object_get(s, "precpu_stats");

	assert_shape(s, STATS_SCHEMA);
	assert_string_equal(jstr(s, "preread"), "0001-01-01T00:00:00Z");
	assert_int_equal(json_integer_value(
				 json_object_get(json_object_get(pre, "cpu_usage"), "total_usage")),
			 0);
	assert_int_equal(json_integer_value(json_object_get(pre, "system_cpu_usage")), 0);
}

/* Before netd has counters for the task: no networks, no network_rate_stats. */
static void test_stats_without_network(void **state)
{
	struct fixture *f = *state;
	struct tmds_sample s;
	json_auto_t *j = NULL;

	make_sample(&s, 1700000030000000000ULL, 1, false);
	j = tmds_container_stats_json(f->t, 0, &s, &f->cur);
	assert_shape(j, STATS_SCHEMA);
	assert_null(json_object_get(j, "networks"));
	assert_null(json_object_get(j, "network_rate_stats"));
	tmds_sample_done(&s);
	/* and rates are left out when netd gives none */
	make_sample(&s, 1700000030000000000ULL, 1, true);
	s.net.has_rates = false;
	json_decref(j);
	j = tmds_container_stats_json(f->t, 0, &s, &f->cur);
	assert_non_null(json_object_get(j, "networks"));
	assert_null(json_object_get(j, "network_rate_stats"));
	tmds_sample_done(&s);
}

/* Platform version 1.3.0: no network stats and no AvailabilityZone (DESIGN.md §2). */
static void test_platform_1_3_0(void **state)
{
	struct fixture *f = *state;
	json_auto_t *t = tmds_task_json(f->t, NULL);
	json_auto_t *s = tmds_container_stats_json(f->t, 0, &f->cur, NULL);
	json_auto_t *c = tmds_container_json(f->t, 0);

	assert_shape(t, TASK_SCHEMA);
	assert_shape(s, STATS_SCHEMA);
	assert_null(json_object_get(t, "AvailabilityZone"));
	assert_null(json_object_get(s, "networks"));
	assert_null(json_object_get(s, "network_rate_stats"));
	assert_null(json_object_get(c, "Snapshotter"));
	/* a cluster given by name is reported as its ARN, with the account of the task role */
	assert_string_equal(jstr(t, "Cluster"), "arn:aws:ecs:eu-west-1:111122223333:cluster/prod");
	/* the container's Networks stay: the task ENI exists in 1.3.0 too */
	assert_non_null(json_object_get(c, "Networks"));
}

static void test_credentials(void **state)
{
	json_auto_t *c = tmds_credentials_json("arn:aws:iam::111122223333:role/web-task", "AKIA1",
					       "secret", "token", "2030-01-01T00:00:00Z");
	json_auto_t *ref = parse(REF_CREDENTIALS);
	json_auto_t *e = tmds_error_json("InvalidIdInRequest", "CredentialsV2Request: x");

	assert_shape(c, CREDENTIALS_SCHEMA);
	assert_same_order(c, ref);
	assert_string_equal(jstr(c, "RoleArn"), "arn:aws:iam::111122223333:role/web-task");
	assert_string_equal(jstr(c, "AccessKeyId"), "AKIA1");
	assert_string_equal(jstr(c, "SecretAccessKey"), "secret");
	assert_string_equal(jstr(c, "Token"), "token");
	assert_string_equal(jstr(c, "Expiration"), "2030-01-01T00:00:00Z");
	/* errors: lower-case code and message (reference §4) */
	assert_shape(e, ERROR_SCHEMA);
	assert_string_equal(jstr(e, "code"), "InvalidIdInRequest");
}

/* Ids: the task's 32 hex digits, DockerIds unique, and 128 random bits of credentials id. */
static void test_ids(void **state)
{
	struct fixture *f = *state;
	struct tmds_task *t2 =
		make_task("1.4.0", "arn:aws:ecs:eu-west-1:111122223333:cluster/prod", NULL);

	assert_re(f->t->ecs_id, "^[0-9a-f]{32}$");
	assert_re(f->t->creds_id, "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
	assert_string_not_equal(f->t->ecs_id, t2->ecs_id);
	assert_string_not_equal(f->t->creds_id, t2->creds_id);
	assert_string_not_equal(f->t->containers[0].docker_id, f->t->containers[1].docker_id);
	assert_int_equal(tmds_task_find_container(f->t, f->t->containers[1].docker_id), 1);
	assert_int_equal(tmds_task_find_container(f->t, t2->containers[1].docker_id), -ENOENT);
	assert_int_equal(tmds_task_find_container(f->t, f->t->creds_id), -ENOENT);
	tmds_task_free(t2);
}

/* The ids a task handed out come back, each checked, onto a task made the same way. */
static void test_ids_restore(void **state)
{
	struct fixture *f = *state;
	json_auto_t *ids = tmds_task_ids_json(f->t);
	struct tmds_task *t;
	char *err = NULL;
	static const char *const bad[] = {
		/* a member too many, one missing */
		"{\"x\": 1}",
		"del(.credentials_id)",
		/* another task's ARN, another time */
		".task_arn = \"arn:aws:ecs:eu-west-1:111122223333:task/prod/"
		"0123456789abcdef0123456789abcdef\"",
		".created_ns = 1",
		/* containers: one less, renamed, an id of another task, twice the same id */
		".containers = [.containers[0]]",
		".containers[1].name = \"other\"",
		".containers[0].docker_id = \"0123456789abcdef0123456789abcdef-0000000001\"",
		".containers[1].docker_id = .containers[0].docker_id",
		".containers[0].container_arn = \"arn:aws:ecs:eu-west-1:111122223333:container/x\"",
		".credentials_id = \"not-a-uuid\"",
	};

	assert_string_equal(jstr(ids, "task_arn"), f->t->task_arn);
	assert_int_equal(json_integer_value(json_object_get(ids, "created_ns")),
			 (json_int_t)f->t->created_ns);
	assert_string_equal(jstr(ids, "credentials_id"), f->t->creds_id);
	assert_string_equal(jstr(json_array_get(json_object_get(ids, "containers"), 1), "name"),
			    "sidecar");

	/* A task made anew from the same definition, ARN and time gets them all back. */
	t = make_task("1.4.0", "arn:aws:ecs:eu-west-1:111122223333:cluster/prod", f->t->task_arn);
	assert_string_not_equal(t->containers[0].docker_id, f->t->containers[0].docker_id);
	assert_int_equal(tmds_task_restore_ids(t, ids, &err), 0);
	assert_null(err);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(t->containers[i].docker_id, f->t->containers[i].docker_id);
		assert_string_equal(t->containers[i].arn, f->t->containers[i].arn);
	}
	assert_string_equal(t->creds_id, f->t->creds_id);
	{
		json_auto_t *again = tmds_task_ids_json(t);

		assert_true(json_equal(again, ids));
	}

	/* Each change that does not fit is refused, and leaves the task as it was. */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_auto_t *b = json_deep_copy(ids);
		json_t *cs = json_object_get(b, "containers");
		char before[TMDS_DOCKER_ID_MAX];

		strscpy(before, t->containers[0].docker_id, sizeof(before));
		switch (i) {
		case 0:
			json_object_set_new(b, "x", json_integer(1));
			break;
		case 1:
			json_object_del(b, "credentials_id");
			break;
		case 2:
			json_object_set_new(b, "task_arn",
					    json_string("arn:aws:ecs:eu-west-1:111122223333:task/"
							"prod/0123456789abcdef0123456789abcdef"));
			break;
		case 3:
			json_object_set_new(b, "created_ns", json_integer(1));
			break;
		case 4:
			json_array_remove(cs, 1);
			break;
		case 5:
			json_object_set_new(json_array_get(cs, 1), "name", json_string("other"));
			break;
		case 6:
			json_object_set_new(
				json_array_get(cs, 0), "docker_id",
				json_string("0123456789abcdef0123456789abcdef-0000000001"));
			break;
		case 7:
			json_object_set(json_array_get(cs, 1), "docker_id",
					json_object_get(json_array_get(cs, 0), "docker_id"));
			break;
		case 8:
			json_object_set_new(
				json_array_get(cs, 0), "container_arn",
				json_string("arn:aws:ecs:eu-west-1:111122223333:container/x"));
			break;
		case 9:
			json_object_set_new(b, "credentials_id", json_string("not-a-uuid"));
			break;
		}
		err = NULL;
		if (tmds_task_restore_ids(t, b, &err) != -EINVAL)
			fail_msg("ids changed by '%s' were taken", bad[i]);
		assert_non_null(err);
		free(err);
		assert_string_equal(t->containers[0].docker_id, before);
	}
	tmds_task_free(t);
}

/* The LogOptions of a container whose logConfiguration is logconf (a JSON object). */
static json_t *log_options_of(const char *logconf)
{
	char buf[1024];
	json_auto_t *j = NULL;
	struct taskdef *def = NULL;
	struct tmds_task *t = NULL;
	char *err = NULL;
	json_t *c, *lo;

	snprintf(buf, sizeof(buf),
		 "{\"family\":\"f\",\"networkMode\":\"awsvpc\",\"containerDefinitions\":"
		 "[{\"name\":\"web\",\"image\":\"x\",\"logConfiguration\":%s}]}",
		 logconf);
	j = parse(buf);
	assert_int_equal(taskdef_parse(j, &def, &err), 0);
	assert_int_equal(tmds_task_new(
				 &(struct tmds_task_opts){
					 .task_id = "t",
					 .cluster = "c",
					 .region = "eu-west-1",
					 .availability_zone = "eu-west-1a",
					 .account = "111122223333",
					 .task_arn = "arn:aws:ecs:eu-west-1:111122223333:"
						     "task/c/0123456789abcdef0123456789abcdef" },
				 def, &t, &err),
			 0);
	c = tmds_container_json(t, 0);
	lo = json_incref(json_object_get(c, "LogOptions"));
	json_decref(c);
	tmds_task_free(t);
	return lo;
}

/* awslogs: the stream is <prefix>/<container>/<task id>, as Fargate reports it (ref. §2.7). */
static void test_log_options(void **state)
{
	json_t *lo;

	lo = log_options_of("{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\","
			    "\"awslogs-region\":\"eu-west-1\",\"awslogs-create-group\":\"true\","
			    "\"awslogs-stream-prefix\":\"svc\",\"mode\":\"non-blocking\"}}");
	assert_int_equal(json_object_size(lo), 5);
	assert_string_equal(jstr(lo, "awslogs-group"), "g");
	assert_string_equal(jstr(lo, "awslogs-region"), "eu-west-1");
	assert_string_equal(jstr(lo, "awslogs-create-group"), "true");
	assert_string_equal(jstr(lo, "mode"), "non-blocking");
	assert_string_equal(jstr(lo, "awslogs-stream"), "svc/web/0123456789abcdef0123456789abcdef");
	json_decref(lo);

	/* No prefix: no stream, also not one the task definition names. */
	lo = log_options_of("{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\","
			    "\"awslogs-stream\":\"mine\"}}");
	assert_int_equal(json_object_size(lo), 1);
	assert_string_equal(jstr(lo, "awslogs-group"), "g");
	json_decref(lo);

	/* Only the prefix: only the stream. */
	lo = log_options_of("{\"logDriver\":\"awslogs\",\"options\":{"
			    "\"awslogs-stream-prefix\":\"p\"}}");
	assert_int_equal(json_object_size(lo), 1);
	assert_string_equal(jstr(lo, "awslogs-stream"), "p/web/0123456789abcdef0123456789abcdef");
	json_decref(lo);

	/* Other drivers: as given. */
	lo = log_options_of("{\"logDriver\":\"splunk\",\"options\":{"
			    "\"awslogs-stream-prefix\":\"p\",\"splunk-url\":\"u\"}}");
	assert_int_equal(json_object_size(lo), 2);
	assert_string_equal(jstr(lo, "awslogs-stream-prefix"), "p");
	json_decref(lo);

	/* An empty prefix makes no stream; nothing left: no LogOptions at all. */
	lo = log_options_of("{\"logDriver\":\"awslogs\",\"options\":{"
			    "\"awslogs-stream-prefix\":\"\"}}");
	assert_null(lo);
}

/* A task ARN given at registration is kept, and must agree with cluster and region. */
static void test_task_arn_given(void **state)
{
	static const char *const arn =
		"arn:aws:ecs:eu-west-1:111122223333:task/prod/67cd8a22b533459696d4ccab5278e009";
	struct tmds_task *t = make_task("LATEST", "prod", arn);
	static const struct {
		const char *cluster, *arn, *region;
	} bad[] = {
		{ "other", arn, "eu-west-1" },
		{ "prod", "arn:aws:ecs:eu-west-1:111122223333:task/prod/XYZ", "eu-west-1" },
		{ "prod", arn, "us-east-1" },
		{ "arn:aws:ecs:eu-west-1:999999999999:cluster/prod", arn, "eu-west-1" },
		{ "arn:aws:s3:eu-west-1:111122223333:cluster/prod", NULL, "eu-west-1" },
		{ "bad name!", NULL, "eu-west-1" },
	};

	assert_string_equal(t->task_arn, arn);
	assert_string_equal(t->ecs_id, "67cd8a22b533459696d4ccab5278e009");
	assert_true(startswith(t->containers[0].docker_id, "67cd8a22b533459696d4ccab5278e009-"));
	assert_string_equal(t->cluster_arn, "arn:aws:ecs:eu-west-1:111122223333:cluster/prod");
	/* without a platform: LATEST's latest revision */
	assert_ptr_equal(t->platform, platform_find("LATEST"));
	tmds_task_free(t);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_auto_t *j = parse(TASKDEF);
		struct taskdef *def = NULL;
		struct tmds_task *x = NULL;
		char *err = NULL;

		assert_int_equal(taskdef_parse(j, &def, &err), 0);
		assert_int_equal(
			tmds_task_new(&(struct tmds_task_opts){ .task_id = "t",
								.cluster = bad[i].cluster,
								.region = bad[i].region,
								.availability_zone = "eu-west-1a",
								.task_arn = bad[i].arn },
				      def, &x, &err),
			-EINVAL);
		assert_null(x);
		assert_non_null(err);
		free(err);
	}
}

static void test_task_opts_errors(void **state)
{
	static const struct tmds_task_opts bad[] = {
		{ .task_id = "t",
		  .cluster = "c",
		  .region = "eu-west-1",
		  .availability_zone = "us-east-1a" },
		{ .task_id = "t",
		  .cluster = "c",
		  .region = "eu-west-1",
		  .availability_zone = "eu-west-1" },
		{ .task_id = "t", .cluster = "c", .region = "EU", .availability_zone = "EUa" },
		{ .task_id = "t",
		  .cluster = "c",
		  .region = "eu-west-1",
		  .availability_zone = "eu-west-1a",
		  .launch_type = "LAMBDA" },
		{ .task_id = "t", .region = "eu-west-1", .availability_zone = "eu-west-1a" },
	};
	json_auto_t *noacct = parse("{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\","
				    "\"image\":\"i\"}]}");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_auto_t *j = parse(TASKDEF);
		struct taskdef *def = NULL;
		struct tmds_task *x = NULL;
		char *err = NULL;

		assert_int_equal(taskdef_parse(j, &def, &err), 0);
		assert_int_equal(tmds_task_new(&bad[i], def, &x, &err), -EINVAL);
		assert_non_null(err);
		free(err);
	}
	/* no account anywhere: the cluster ARN cannot be written */
	{
		struct taskdef *def = NULL;
		struct tmds_task *x = NULL;
		char *err = NULL;

		assert_int_equal(taskdef_parse(noacct, &def, &err), 0);
		assert_int_equal(
			tmds_task_new(&(struct tmds_task_opts){ .task_id = "t",
								.cluster = "c",
								.region = "eu-west-1",
								.availability_zone = "eu-west-1a" },
				      def, &x, &err),
			-EINVAL);
		assert_non_null(strstr(err, "account"));
		free(err);
		assert_int_equal(taskdef_parse(noacct, &def, &err), 0);
		assert_int_equal(
			tmds_task_new(&(struct tmds_task_opts){ .task_id = "t",
								.cluster = "c",
								.region = "eu-west-1",
								.availability_zone = "eu-west-1a",
								.account = "123456789012" },
				      def, &x, &err),
			0);
		assert_string_equal(x->cluster_arn, "arn:aws:ecs:eu-west-1:123456789012:cluster/c");
		assert_string_equal(x->creds_id, ""); /* no task role, no credentials id */
		tmds_task_free(x);
	}
}

static void test_json_number(void **state)
{
	json_auto_t *a = tmds_json_number(2), *b = tmds_json_number(0.25), *c = tmds_json_number(0);

	assert_true(json_is_integer(a));
	assert_int_equal(json_integer_value(a), 2);
	assert_true(json_is_real(b));
	assert_true(json_is_integer(c));
}

static void test_times(void **state)
{
	char buf[64];
	int64_t sec;
	uint32_t nsec;

	assert_int_equal(tmds_format_time(1687223615073930071ULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2023-06-20T01:13:35.073930071Z");
	assert_int_equal(tmds_parse_time("2023-06-20T01:13:35.073930071Z", &sec, &nsec), 0);
	assert_true(sec == 1687223615);
	assert_int_equal(nsec, 73930071);
	assert_int_equal(tmds_parse_time("2016-02-25T06:03:31Z", &sec, &nsec), 0);
	assert_true(sec == 1456380211);
	assert_int_equal(tmds_parse_time("2016-02-25T08:03:31+02:00", &sec, &nsec), 0);
	assert_true(sec == 1456380211);
	assert_int_equal(tmds_parse_time("0001-01-01T00:00:00Z", &sec, &nsec), 0);
	assert_int_equal(tmds_parse_time("2016-02-25 06:03:31Z", &sec, &nsec), -EINVAL);
	assert_int_equal(tmds_parse_time("2016-02-30T06:03:31Z", &sec, &nsec), -EINVAL);
	assert_int_equal(tmds_parse_time("2015-02-29T06:03:31Z", &sec, &nsec), -EINVAL);
	assert_int_equal(tmds_parse_time("2016-02-25T06:03:31", &sec, &nsec), -EINVAL);
	assert_int_equal(tmds_parse_time("2016-02-25T06:03:31.Z", &sec, &nsec), -EINVAL);
	assert_int_equal(tmds_parse_time("2016-02-25T06:03:31Zx", &sec, &nsec), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_examples_fit_schemas),
		cmocka_unit_test(test_checker_catches_differences),
		cmocka_unit_test_setup_teardown(test_container, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_second_container, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_task, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_launched, setup14, teardown),
		cmocka_unit_test(test_ecs_id_given),
		cmocka_unit_test_setup_teardown(test_stats_without_cgroup, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_task_stats, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_first_sample, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_stats_without_network, setup14, teardown),
		cmocka_unit_test_setup_teardown(test_platform_1_3_0, setup13, teardown),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test_setup_teardown(test_ids, setup14, teardown),
		cmocka_unit_test(test_task_arn_given),
		cmocka_unit_test(test_log_options),
		cmocka_unit_test_setup_teardown(test_ids_restore, setup14, teardown),
		cmocka_unit_test(test_task_opts_errors),
		cmocka_unit_test(test_json_number),
		cmocka_unit_test(test_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
