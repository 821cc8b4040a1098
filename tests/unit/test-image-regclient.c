// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the pure parts of runtime/regclient.h: WWW-Authenticate challenges, token
 * server answers and registry error bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "regclient.h"
#include "util.h"

static void challenge_ok(const char *s, enum regclient_auth_scheme scheme, const char *realm,
			 const char *service, const char *scope)
{
	struct regclient_challenge ch = {};
	int r = regclient_challenge_parse(s, &ch);

	if (r < 0)
		fail_msg("challenge '%s': %s", s, strerror(-r));
	assert_int_equal(ch.scheme, scheme);
	if (realm)
		assert_string_equal(ch.realm, realm);
	else
		assert_null(ch.realm);
	if (service)
		assert_string_equal(ch.service, service);
	else
		assert_null(ch.service);
	if (scope)
		assert_string_equal(ch.scope, scope);
	else
		assert_null(ch.scope);
	regclient_challenge_done(&ch);
}

static void challenge_bad(const char *s, int want)
{
	struct regclient_challenge ch = {};

	assert_int_equal(regclient_challenge_parse(s, &ch), want);
	assert_null(ch.realm);
}

static void test_challenges(void **state)
{
	challenge_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		     "scope=\"repository:library/busybox:pull\"",
		     REGCLIENT_AUTH_BEARER, "https://auth.docker.io/token", "registry.docker.io",
		     "repository:library/busybox:pull");
	challenge_ok("bearer   realm = \"http://198.18.0.1/token\" , SERVICE=tp-registry",
		     REGCLIENT_AUTH_BEARER, "http://198.18.0.1/token", "tp-registry", NULL);
	challenge_ok("Basic realm=\"fabric\"", REGCLIENT_AUTH_BASIC, "fabric", NULL, NULL);
	challenge_ok("Basic", REGCLIENT_AUTH_BASIC, NULL, NULL, NULL);
	challenge_ok("Bearer realm=\"a\\\"b\\\\c\",error=\"insufficient_scope\"",
		     REGCLIENT_AUTH_BEARER, "a\"b\\c", NULL, NULL);
	/* The first of two challenges in one header; the second's params are not its. */
	challenge_ok("Bearer realm=\"r\", Basic realm=\"other\"", REGCLIENT_AUTH_BEARER, "r", NULL,
		     NULL);
	/* The first of repeated params wins. */
	challenge_ok("Bearer realm=\"one\",realm=\"two\"", REGCLIENT_AUTH_BEARER, "one", NULL,
		     NULL);

	challenge_bad("Negotiate abc", -EPROTONOSUPPORT);
	challenge_bad("Digest realm=\"x\"", -EPROTONOSUPPORT);
	challenge_bad("", -EINVAL);
	challenge_bad("Bearer", -EINVAL);
	challenge_bad("Bearer service=\"s\"", -EINVAL);
	challenge_bad("Bearer realm=\"unterminated", -EINVAL);
	challenge_bad("Bearer realm=", -EINVAL);
	challenge_bad("Bearer realm=\"x\" junk", -EINVAL);
	challenge_bad("Bearer=realm", -EINVAL);
}

static int tok(const char *s, char **t, char **err)
{
	return regclient_token_parse(s, strlen(s), t, err);
}

static void test_tokens(void **state)
{
	char *t = NULL, *err = NULL;

	assert_int_equal(tok("{\"token\":\"abc.def.ghi\",\"expires_in\":300}", &t, NULL), 0);
	assert_string_equal(t, "abc.def.ghi");
	free(t);
	assert_int_equal(tok("{\"access_token\":\"x\"}", &t, NULL), 0);
	assert_string_equal(t, "x");
	free(t);
	assert_int_equal(tok("{\"token\":\"\",\"access_token\":\"y\"}", &t, NULL), 0);
	assert_string_equal(t, "y");
	free(t);

	assert_int_equal(tok("{}", &t, &err), -EINVAL);
	assert_non_null(strstr(err, "has no token"));
	free(err);
	err = NULL;
	assert_int_equal(tok("[\"token\"]", &t, &err), -EINVAL);
	assert_non_null(strstr(err, "not a JSON object"));
	free(err);
	err = NULL;
	assert_int_equal(tok("{\"token\":\"a\\r\\nX-Evil: 1\"}", &t, &err), -EINVAL);
	assert_non_null(strstr(err, "bad characters"));
	free(err);
	assert_int_equal(tok("{\"token\":7}", &t, NULL), -EINVAL);
}

static void test_errors(void **state)
{
	const char *one =
		"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
		"\"detail\":{\"Tag\":\"nosuch\"}}]}";
	const char *two = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"a\\nb\"},"
			  "{\"code\":\"DENIED\"}]}";
	char *t = NULL;

	assert_int_equal(regclient_errors_parse(one, strlen(one), &t), 0);
	assert_string_equal(t, "MANIFEST_UNKNOWN: manifest unknown");
	free(t);
	assert_int_equal(regclient_errors_parse(two, strlen(two), &t), 0);
	assert_string_equal(t, "UNAUTHORIZED: a?b; DENIED");
	free(t);
	assert_int_equal(regclient_errors_parse("{\"errors\":[]}", 13, &t), -EINVAL);
	assert_int_equal(regclient_errors_parse("404 page not found", 18, &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenges),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
