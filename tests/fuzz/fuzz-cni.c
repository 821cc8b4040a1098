// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what task-eni reads from its runtime: the CNI_ARGS variable and the
 * network configuration on stdin, for every command, then what it derives from them (netd's
 * attach parameters, prevResult in every version).
 *
 * Input: byte 0 picks the command (low 3 bits) and whether CNI_ARGS is set (bit 3); then
 * CNI_ARGS up to the first NUL; the rest is the configuration.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const commands[] = {
	"ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION", "ADD", ""
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* the library logs what it rejects at debug level */
	log_set_level(LOG_LEVEL_ERR);
	return 0;
}

/* A result in the 1.1.0 form converts to every version and back without loss of validity. */
static void round_trip(json_t *canonical)
{
	for (int v = CNI_VERSION_0_4_0; v <= CNI_VERSION_1_1_0; v++) {
		struct cni_error e = {};
		json_t *conv, *back = NULL;

		conv = cni_result_convert(canonical, (enum cni_version)v);
		if (!conv)
			abort();
		if (cni_result_canonical(conv, (enum cni_version)v, &back, &e) < 0)
			abort(); /* what we print, we must read back */
		json_decref(back);
		json_decref(conv);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char cmdvar[32], *argsvar = NULL;
	char *envp[8];
	struct cni_error e = {};
	struct cni_config c = {};
	struct cni_env env = {};
	const uint8_t *nul;
	size_t n = 0;

	if (size < 1 || size > 65536)
		return 0;
	snprintf(cmdvar, sizeof(cmdvar), "CNI_COMMAND=%s", commands[data[0] & 7]);
	envp[n++] = cmdvar;
	envp[n++] = (char *)"CNI_CONTAINERID=c1";
	envp[n++] = (char *)"CNI_NETNS=/run/netns/x";
	envp[n++] = (char *)"CNI_IFNAME=eth1";
	envp[n++] = (char *)"CNI_PATH=/opt/cni/bin";
	data++;
	size--;
	nul = memchr(data, '\0', size);
	if (data[-1] & 8) {
		size_t alen = nul ? (size_t)(nul - data) : size;

		if (asprintf(&argsvar, "CNI_ARGS=%.*s", (int)alen, (const char *)data) < 0)
			abort();
		envp[n++] = argsvar;
	}
	envp[n] = NULL;
	if (nul) {
		size -= (size_t)(nul - data) + 1;
		data = nul + 1;
	}

	if (cni_env_parse(envp, &env, &e) < 0)
		goto out;
	if (cni_config_parse((const char *)data, size, &env, &c, &e) < 0) {
		if (e.code == 0)
			abort(); /* a failure always carries the spec's error */
		json_decref(cni_error_to_json(&e, c.version_str));
		goto out;
	}
	if (env.command == CNI_COMMAND_ADD) {
		json_t *p = cni_attach_params(&c, &env, "cni.t.c1.0");
		char *s;

		if (!p)
			abort();
		s = json_dumps(p, JSON_COMPACT);
		if (!s)
			abort();
		free(s);
		json_decref(p);
	}
	if (c.prev_result)
		round_trip(c.prev_result);
out:
	cni_config_done(&c);
	cni_env_done(&env);
	free(argsvar);
	return 0;
}
