// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what the taskvm agent reads: request paths from tasks, credentials files
 * from the operator, task definitions given at registration (and every response built from
 * them), and netd's task and stats objects.
 *
 * Input: byte 0 picks the reader (mod 5), the rest is its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "http.h"
#include "log.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int which;
	json_t *j;

	if (size < 1 || size > 65536)
		return 0;
	which = data[0] % 5;
	data++;
	size--;
	if (which == 0) {
		fuzz_path((const char *)data, size);
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
