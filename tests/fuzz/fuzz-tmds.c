// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what the taskvm agent reads: request paths from tasks, credentials files
 * from the operator, task definitions given at registration (and every response built from
 * them, and what launching them builds: the platform checks and each container's OCI config),
 * netd's task and stats objects, and a container's user against its image's passwd and group.
 *
 * Input: byte 0 picks the reader (mod 6), the rest is its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "http.h"
#include "log.h"
#include "oci.h"
#include "platform.h"
#include "taskdef.h"
#include "tmds.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input as a C string. Not strndup(): with strict_string_checks (tests/run.sh) ASan's
 * strndup wants its source NUL-terminated, which fuzzer inputs are not.
 */
static char *cstring(const void *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_LEVEL_ERR);
	return 0;
}

static void dump_free(json_t *j)
{
	char *s;

	if (!j)
		abort(); /* builders fail only on ENOMEM */
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		abort();
	free(s);
	json_decref(j);
}

static void fuzz_path(const char *s, size_t len)
{
	struct http_route r;
	char *path = cstring(s, len);

	if (http_route_parse(path, &r) == 0 && strlen(r.id) > HTTP_ID_MAX)
		abort();
	free(path);
}

static void fuzz_creds(const char *s, size_t len)
{
	struct creds c = {};
	char *err = NULL;

	if (creds_parse(s, len, &c, &err) < 0) {
		if (!err)
			abort(); /* a rejection says why */
	} else {
		int64_t sec;
		uint32_t nsec;

		if (!c.access_key_id || !c.secret_access_key || !c.token || !c.expiration)
			abort();
		if (tmds_parse_time(c.expiration, &sec, &nsec) < 0 || sec != c.expiration_sec)
			abort(); /* what is served parses back to the same instant */
		dump_free(tmds_credentials_json("arn:aws:iam::111122223333:role/r", c.access_key_id,
						c.secret_access_key, c.token, c.expiration));
	}
	free(err);
	creds_done(&c);
}

/* What a launch makes of a task definition that parsed: checks, start order, OCI configs. */
static void fuzz_launch(const struct taskdef *def)
{
	static const char *const paths[TASKDEF_MAX_VOLUMES + 1] = {
		"/v/0",	 "/v/1",  "/v/2",  "/v/3",  "/v/4",  "/v/5",  "/v/6",  "/v/7",
		"/v/8",	 "/v/9",  "/v/10", "/v/11", "/v/12", "/v/13", "/v/14", "/v/15",
		"/v/16", "/v/17", "/v/18", "/v/19", "/v/20", "/v/21", "/v/22", "/v/23",
		"/v/24", "/v/25", "/v/26", "/v/27", "/v/28", "/v/29", "/v/30", "/v/31",
	};
	static const char *const env[] = {
		"ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/t", NULL
	};
	json_t *image = json_pack("{s:[s], s:[s], s:[s], s:s}", "Entrypoint", "/bin/sh", "Cmd",
				  "-c", "Env", "PATH=/bin", "WorkingDir", "/srv");
	const struct oci_user user = { .uid = 1000, .gid = 1000 };
	size_t order[TASKDEF_MAX_CONTAINERS];
	bool seen[TASKDEF_MAX_CONTAINERS] = {};

	if (!image)
		abort();
	taskdef_start_order(def, order);
	for (size_t i = 0; i < def->n_containers; i++) {
		const struct taskdef_container *c = &def->containers[order[i]];

		/* a permutation, every container after those it depends on */
		if (order[i] >= def->n_containers || seen[order[i]])
			abort();
		for (size_t k = 0; k < c->n_depends_on; k++)
			if (!seen[c->depends_on[k].container])
				abort();
		seen[order[i]] = true;
	}
	for (const struct platform *const *p = platform_all(); *p; p++) {
		char *err = NULL;

		if (platform_check_taskdef(*p, def, &err) < 0 && !err)
			abort(); /* a refusal says why */
		free(err);
		if (platform_storage_gib(*p, def) < 1)
			abort();
		for (size_t i = 0; i < def->n_containers; i++) {
			struct oci_spec_opts o = {
				.platform = *p,
				.def = def,
				.container = &def->containers[i],
				.image_config = image,
				.user = &user,
				.rootfs = "/rootfs",
				.hostname = "ip-198-18-1-1",
				.netns_path = "/run/netns/t",
				.cgroups_path = "/taskvm/t/c",
				.volume_paths = paths,
				.resolv_conf = "/run/t/resolv.conf",
				.env = env,
			};
			json_t *spec = NULL;

			err = NULL;
			if (oci_spec_build(&o, &spec, &err) == 0)
				dump_free(spec);
			else if (!err)
				abort();
			free(err);
		}
	}
	json_decref(image);
}

static void fuzz_taskdef(json_t *j)
{
	struct tmds_sample cur = {}, prev = {};
	struct tmds_clock clock = { .error_bound_ms = 0.5,
				    .reference_ns = 1,
				    .synchronized = true };
	struct tmds_task *t = NULL;
	struct taskdef *def = NULL;
	char *err = NULL;

	if (taskdef_parse(j, &def, &err) < 0) {
		if (!err || def)
			abort();
		free(err);
		return;
	}
	fuzz_launch(def);
	if (tmds_task_new(&(struct tmds_task_opts){ .task_id = "t1",
						    .cluster = "prod",
						    .region = "eu-west-1",
						    .availability_zone = "eu-west-1b",
						    .account = "111122223333",
						    .created_ns = 1700000000123456789ULL },
			  def, &t, &err) < 0) {
		if (!err)
			abort();
		free(err);
		return;
	}
	dump_free(tmds_task_json(t, &clock));
	for (size_t i = 0; i < t->n_containers; i++)
		dump_free(tmds_container_json(t, i));
	cur.n_containers = prev.n_containers = t->n_containers;
	cur.containers = calloc(t->n_containers ?: 1, sizeof(*cur.containers));
	prev.containers = calloc(t->n_containers ?: 1, sizeof(*prev.containers));
	if (!cur.containers || !prev.containers)
		abort();
	cur.read_ns = 2000000000;
	prev.read_ns = 1000000000;
	dump_free(tmds_task_stats_json(t, &cur, &prev));
	dump_free(tmds_task_stats_json(t, &cur, NULL));
	tmds_sample_done(&cur);
	tmds_sample_done(&prev);
	tmds_task_free(t);
}

static void fuzz_netd_task(json_t *j)
{
	struct in_addr a;
	json_t *net = NULL;
	char *err = NULL;

	if (tmds_network_from_netd(j, "eu-west-1", &net, &err) == 0)
		dump_free(net);
	else if (!err)
		abort();
	free(err);
	if (tmds_md_address_from_netd(j, &a) == 0 && !tmds_md_address_valid(a))
		abort();
}

static void fuzz_netd_stats(json_t *j)
{
	struct tmds_net_stats st;
	char *err = NULL;

	if (tmds_net_stats_from_netd(j, &st, &err) < 0 && !err)
		abort();
	free(err);
	if (json_is_string(j)) {
		int64_t sec;
		uint32_t nsec;

		if (tmds_parse_time(json_string_value(j), &sec, &nsec) == 0 && nsec >= 1000000000u)
			abort();
	}
}

/* "SPEC\nPASSWD...\0GROUP...": a user spec against an image's /etc/passwd and /etc/group. */
static void fuzz_user(const char *s, size_t len)
{
	char *in = cstring(s, len), *nl = strchr(in, '\n');
	const char *passwd = nl ? nl + 1 : "", *group = nl ? nl + 1 + strlen(nl + 1) : "";
	struct oci_user u;
	char *err = NULL;

	if (nl)
		*nl = '\0';
	if ((size_t)(group - in) < len)
		group++; /* past the NUL that ends the passwd part */
	else
		group = "";
	if (oci_user_parse(in, passwd, group, &u, &err) < 0) {
		if (!err)
			abort();
	} else if (u.n_additional_gids > OCI_MAX_GROUPS || u.uid > INT32_MAX || u.gid > INT32_MAX) {
		abort();
	}
	free(err);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int which;
	json_t *j;

	if (size < 1 || size > 65536)
		return 0;
	which = data[0] % 6;
	data++;
	size--;
	if (which == 0) {
		fuzz_path((const char *)data, size);
		return 0;
	}
	if (which == 5) {
		fuzz_user((const char *)data, size);
		return 0;
	}
	if (which == 1) {
		fuzz_creds((const char *)data, size);
		return 0;
	}
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	if (which == 2)
		fuzz_taskdef(j);
	else if (which == 3)
		fuzz_netd_task(j);
	else
		fuzz_netd_stats(j);
	json_decref(j);
	return 0;
}
