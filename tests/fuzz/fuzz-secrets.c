// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what the secrets client reads (runtime/secrets.h): valueFrom and the
 * task definition's secrets (an operator's), Secrets Manager's and SSM's answers and AWS's error
 * answers (a service's, or whatever answers in its place). A value that comes out is a C string
 * of its stated length.
 *
 * Input: byte 0 picks the target (mod 5); for the answers, the first line is the valueFrom (or
 * the x-amzn-ErrorType header) and the rest the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "secrets.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *cstring(const void *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void fuzz_value_from(const char *s)
{
	struct secret sec = {};
	char *err = NULL;

	if (secret_value_from_parse(s, &sec, &err) == 0 && !sec.id)
		abort();
	free(err);
	secret_done(&sec);
}

static void fuzz_task(const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, 0, NULL);
	struct secrets *set = NULL;
	char *err = NULL;

	if (!j)
		return;
	if (secrets_parse(j, &set, &err) == 0) {
		for (const struct platform *const *p = platform_all(); *p; p++) {
			if (secrets_check_platform(set, *p, &err) < 0 && !err)
				abort();
			free(err);
			err = NULL;
		}
		for (size_t i = 0; i < secrets_count(set); i++)
			if (!secrets_get(set, i)->id || !secrets_get(set, i)->container)
				abort();
	}
	free(err);
	secrets_free(set);
	json_decref(j);
}

static void fuzz_get_secret_value(const char *vf, const char *body, size_t len)
{
	struct secret sec = {};
	char *v = NULL, *err = NULL;
	size_t n = 0;

	if (secret_value_from_parse(vf, &sec, NULL) < 0) {
		secret_done(&sec);
		return;
	}
	if (secret_from_get_secret_value(&sec, body, len, &v, &n, &err) == 0 && strlen(v) != n)
		abort();
	free(v);
	free(err);
	secret_done(&sec);
}

static void fuzz_get_parameters(const char *ids, const char *body, size_t len)
{
	struct secret a = { .name = (char *)"A", .value_from = (char *)ids, .id = (char *)ids };
	struct secret b = { .name = (char *)"B", .value_from = (char *)"/b", .id = (char *)"/b" };
	struct secret *batch[] = { &a, &b };
	char *err = NULL;

	if (secrets_from_get_parameters(batch, 2, body, len, &err) == 0 &&
	    (strlen(a.value) != a.value_len || strlen(b.value) != b.value_len))
		abort();
	free(a.value);
	free(b.value);
	free(err);
}

static void fuzz_error(const char *header, const char *body, size_t len)
{
	char *code = NULL, *msg = NULL;

	secrets_error_parse(*header ? header : NULL, body, len, &code, &msg);
	free(code);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *nl, *rest;
	size_t rest_len;

	if (size < 1)
		return 0;
	s = cstring(data + 1, size - 1);
	nl = memchr(s, '\n', size - 1);
	rest = nl ? nl + 1 : s + size - 1;
	rest_len = (size_t)(s + size - 1 - rest);
	if (nl)
		*nl = '\0';
	switch (data[0] % 5) {
	case 0:
		fuzz_value_from(s);
		break;
	case 1:
		if (nl)
			*nl = '\n';
		fuzz_task(s, size - 1);
		break;
	case 2:
		fuzz_get_secret_value(s, rest, rest_len);
		break;
	case 3:
		fuzz_get_parameters(s, rest, rest_len);
		break;
	case 4:
		fuzz_error(s, rest, rest_len);
		break;
	}
	free(s);
	return 0;
}
