// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for runtime/secrets.h without a network: valueFrom as ECS reads it, the task
 * definition's rules, the platform's, the values out of Secrets Manager's and SSM's answers (JSON
 * keys made strings as ECS's agent makes them), AWS's error answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "platform.h"
#include "secrets.h"
#include "util.h"

#define SM  "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
#define SSM "arn:aws:ssm:eu-west-1:123456789012:parameter/"

static void test_value_from(void **state)
{
	static const struct {
		const char *vf;
		enum secret_source source;
		const char *region, *id, *key, *stage, *version;
	} good[] = {
		{ SM "db-AbCdEf", SECRET_SOURCE_SECRETS_MANAGER, "us-east-1", SM "db-AbCdEf" },
		{ SM "prod/db:password::", SECRET_SOURCE_SECRETS_MANAGER, "us-east-1", SM "prod/db",
		  "password" },
		{ SM "db:password:AWSPREVIOUS:", SECRET_SOURCE_SECRETS_MANAGER, "us-east-1",
		  SM "db", "password", "AWSPREVIOUS" },
		{ SM "db::AWSCURRENT:9c1b2a3d-0000-4000-8000-000000000001",
		  SECRET_SOURCE_SECRETS_MANAGER, "us-east-1", SM "db", NULL, "AWSCURRENT",
		  "9c1b2a3d-0000-4000-8000-000000000001" },
		{ SM "db:::", SECRET_SOURCE_SECRETS_MANAGER, "us-east-1", SM "db" },
		{ "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x",
		  SECRET_SOURCE_SECRETS_MANAGER, "cn-north-1",
		  "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x" },
		{ SSM "prod/db/password", SECRET_SOURCE_SSM, "eu-west-1", SSM "prod/db/password" },
		{ SSM "plain", SECRET_SOURCE_SSM, "eu-west-1", SSM "plain" },
		{ "/prod/db/password", SECRET_SOURCE_SSM, NULL, "/prod/db/password" },
		{ "db_password-2.txt", SECRET_SOURCE_SSM, NULL, "db_password-2.txt" },
	};
	static const struct {
		const char *vf, *want;
	} bad[] = {
		{ "", "valueFrom must be a string of 1 to 2048 bytes" },
		{ "arn:aws:s3:::bucket", "is not an ARN" },
		{ "arn:aws:s3:us-east-1:123456789012:bucket",
		  "is neither a Secrets Manager secret nor an SSM parameter" },
		{ "arn:aws:secretsmanager:us-east-1:1234:secret:x", "is not an ARN" },
		{ SM "db:key:stage", "a Secrets Manager ARN is arn:PARTITION:secretsmanager:" },
		{ "arn:aws:secretsmanager:us-east-1:123456789012:db", "a Secrets Manager ARN is" },
		{ SM "bad name", "a Secrets Manager ARN is" },
		{ SSM "", "an SSM ARN's resource must be parameter/NAME" },
		{ "arn:aws:ssm:eu-west-1:123456789012:document/x", "must be parameter/NAME" },
		{ "prod/db", "is neither an ARN nor an SSM parameter name" },
		{ "aws-reserved", "is neither an ARN nor an SSM parameter name" },
		{ "/ssm/x", "is neither an ARN nor an SSM parameter name" },
		{ "spaces are not allowed", "is neither an ARN nor an SSM parameter name" },
		{ "arn:aws:secretsmanager:us-east-1:123456789012:secret:a:b:c:d:e",
		  "too many ':' for an ARN" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct secret s = {};
		char *err = NULL;

		if (secret_value_from_parse(good[i].vf, &s, &err) < 0)
			fail_msg("%s: %s", good[i].vf, err);
		assert_int_equal(s.source, good[i].source);
		assert_true(streq_ptr(s.region, good[i].region));
		assert_string_equal(s.id, good[i].id);
		assert_true(streq_ptr(s.json_key, good[i].key));
		assert_true(streq_ptr(s.version_stage, good[i].stage));
		assert_true(streq_ptr(s.version_id, good[i].version));
		secret_done(&s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct secret s = {};
		char *err = NULL;

		if (secret_value_from_parse(bad[i].vf, &s, &err) != -EINVAL)
			fail_msg("'%s' accepted", bad[i].vf);
		if (!strstr(err, bad[i].want))
			fail_msg("'%s': '%s', want '%s'", bad[i].vf, err, bad[i].want);
		free(err);
		secret_done(&s);
	}
}

static int parse(const char *text, struct secrets **ret, char **ret_error)
{
	json_auto_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return secrets_parse(j, ret, ret_error);
}

#define TASK(roles, containers)                                                                    \
	"{\"family\":\"f\"" roles ",\"containerDefinitions\":[" containers "]}"
#define ROLE ",\"executionRoleArn\":\"arn:aws:iam::123456789012:role/exec\""

static void test_task_definition(void **state)
{
	static const struct {
		const char *td, *want;
	} bad[] = {
		{ TASK("",
		       "{\"name\":\"app\",\"secrets\":[{\"name\":\"A\",\"valueFrom\":\"/a\"}]}"),
		  "container 'app': secrets need the task definition's executionRoleArn" },
		{ TASK(ROLE, "{\"name\":\"app\",\"secrets\":{}}"),
		  "container 'app': secrets must be an array" },
		{ TASK(ROLE, "{\"name\":\"app\",\"secrets\":[{\"name\":\"A\"}]}"),
		  "container 'app': secrets[0] needs a name and a valueFrom" },
		{ TASK(ROLE,
		       "{\"name\":\"app\",\"secrets\":[{\"name\":\"A=B\",\"valueFrom\":\"/a\"}]}"),
		  "container 'app': secret name 'A=B' must be 1 to 255 bytes without '='" },
		{ TASK(ROLE, "{\"name\":\"app\",\"secrets\":[{\"name\":\"A\",\"valueFrom\":\"/a\"},"
			     "{\"name\":\"A\",\"valueFrom\":\"/b\"}]}"),
		  "container 'app': secret 'A' is given twice" },
		{ TASK(ROLE,
		       "{\"name\":\"app\",\"secrets\":[{\"name\":\"A\",\"valueFrom\":\"a/b\"}]}"),
		  "container 'app': secret 'A': valueFrom 'a/b' is neither an ARN" },
	};
	struct secrets *s = NULL;
	char *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse(bad[i].td, &s, &err) != -EINVAL)
			fail_msg("%s: accepted", bad[i].td);
		if (!strstr(err, bad[i].want))
			fail_msg("'%s', want '%s'", err, bad[i].want);
		free(err);
	}
	assert_int_equal(parse(TASK("", "{\"name\":\"app\"}"), &s, &err), 0);
	assert_int_equal(secrets_count(s), 0);
	s = secrets_free(s);
	assert_int_equal(
		parse(TASK(ROLE,
			   "{\"name\":\"a\",\"secrets\":[{\"name\":\"X\",\"valueFrom\":\"/x\"},"
			   "{\"name\":\"Y\",\"valueFrom\":\"" SM "y:k::\"}]},"
			   "{\"name\":\"b\",\"secrets\":[{\"name\":\"X\",\"valueFrom\":\"/x\"}]}"),
		      &s, &err),
		0);
	assert_int_equal(secrets_count(s), 3);
	assert_string_equal(secrets_get(s, 0)->container, "a");
	assert_string_equal(secrets_get(s, 1)->json_key, "k");
	assert_string_equal(secrets_get(s, 2)->container, "b");
	assert_string_equal(secrets_get(s, 2)->name, "X");
	assert_null(secrets_get(s, 3));
	secrets_free(s);
}

static void check_platform(const char *td, const char *version, unsigned int revision,
			   const char *want)
{
	const struct platform *p;
	struct secrets *s = NULL;
	char *err = NULL;
	int r;

	assert_int_equal(parse(td, &s, &err), 0);
	assert_int_equal(platform_lookup_revision(version, revision, &p, &err), 0);
	r = secrets_check_platform(s, p, &err);
	if (!want && r < 0)
		fail_msg("%s revision %u: %s", version, revision, err);
	if (want && (r != -EINVAL || !strstr(err, want)))
		fail_msg("%s revision %u: '%s', want '%s'", version, revision, err, want);
	free(err);
	secrets_free(s);
}

static void test_platform(void **state)
{
	const char *whole = TASK(ROLE, "{\"name\":\"app\",\"secrets\":[{\"name\":\"DB\","
				       "\"valueFrom\":\"" SM "db\"}]}");
	const char *keyed = TASK(ROLE, "{\"name\":\"app\",\"secrets\":[{\"name\":\"DB\","
				       "\"valueFrom\":\"" SM "db:password::\"}]}");

	check_platform(whole, "1.3.0", 1,
		       "container 'app': secret 'DB' (" SM "db): secrets are not supported on "
		       "platform version 1.3.0 revision 1 (they are from 1.3.0 revision 2)");
	check_platform(whole, "1.3.0", 2, NULL);
	check_platform(keyed, "1.3.0", 3,
		       "JSON keys and versions in valueFrom are not supported on platform version "
		       "1.3.0 revision 3 (they are from 1.4.0 revision 2)");
	check_platform(keyed, "1.4.0", 1, "(they are from 1.4.0 revision 2)");
	check_platform(keyed, "1.4.0", 2, NULL);
	check_platform(keyed, "LATEST", 5, NULL);
}

static void check_value(const char *vf, const char *body, const char *want, int want_r,
			const char *want_error)
{
	struct secret s = {};
	char *v = NULL, *err = NULL;
	size_t len = 0;
	int r;

	assert_int_equal(secret_value_from_parse(vf, &s, NULL), 0);
	r = secret_from_get_secret_value(&s, body, strlen(body), &v, &len, &err);
	if (r != want_r)
		fail_msg("%s: %d (%s), want %d", vf, r, err, want_r);
	if (want) {
		assert_string_equal(v, want);
		assert_int_equal(len, strlen(want));
	} else if (want_error && (!err || !strstr(err, want_error))) {
		fail_msg("%s: '%s', want '%s'", vf, err, want_error);
	}
	free(v);
	free(err);
	secret_done(&s);
}

#define JSON_SECRET                                                                                \
	"{\"ARN\":\"" SM "db-AbCdEf\",\"Name\":\"db\",\"VersionId\":\"v1\",\"SecretString\":"      \
	"\"{\\\"user\\\":\\\"admin\\\",\\\"port\\\":5432,\\\"big\\\":1234567,\\\"million\\\":"     \
	"1000000,\\\"f\\\":0.25,\\\"tiny\\\":0.00001,\\\"t\\\":true,\\\"n\\\":null,\\\"o\\\":{},"  \
	"\\\"a\\\":[1],\\\"nul\\\":\\\"a\\\\u0000b\\\"}\",\"VersionStages\":[\"AWSCURRENT\"],"     \
	"\"CreatedDate\":1.523477145713E9}"

/* JSON keys become strings as ECS's agent makes them (Go's %v of the decoded value). */
static void test_get_secret_value(void **state)
{
	check_value(SM "db", "{\"SecretString\":\"s3cret\"}", "s3cret", 0, NULL);
	check_value(SM "db", JSON_SECRET, NULL, 0, NULL);
	check_value(SM "db:user::", JSON_SECRET, "admin", 0, NULL);
	check_value(SM "db:port::", JSON_SECRET, "5432", 0, NULL);
	check_value(SM "db:big::", JSON_SECRET, "1.234567e+06", 0, NULL);
	check_value(SM "db:million::", JSON_SECRET, "1e+06", 0, NULL);
	check_value(SM "db:f::", JSON_SECRET, "0.25", 0, NULL);
	check_value(SM "db:tiny::", JSON_SECRET, "1e-05", 0, NULL);
	check_value(SM "db:t::", JSON_SECRET, "true", 0, NULL);
	check_value(SM "db:n::", JSON_SECRET, NULL, -EINVAL, "JSON key 'n' holds null");
	check_value(SM "db:o::", JSON_SECRET, NULL, -EINVAL, "JSON key 'o' holds an object");
	check_value(SM "db:a::", JSON_SECRET, NULL, -EINVAL, "JSON key 'a' holds an array");
	check_value(SM "db:nul::", JSON_SECRET, NULL, -EINVAL, "JSON key 'nul' holds a NUL byte");
	check_value(SM "db:missing::", JSON_SECRET, NULL, -ENOENT,
		    "the secret has no JSON key 'missing'");
	check_value(SM "db:user::", "{\"SecretString\":\"plain\"}", NULL, -EINVAL,
		    "the secret is not a JSON object, so it has no key 'user'");
	check_value(SM "db", "{\"SecretBinary\":\"AAE=\"}", NULL, -EINVAL,
		    "the secret is binary (SecretBinary)");
	check_value(SM "db", "{\"Name\":\"db\"}", NULL, -EPROTO,
		    "GetSecretValue's answer has no SecretString");
	check_value(SM "db", "[]", NULL, -EPROTO, "not a JSON object");
	check_value(SM "db", "{\"SecretString\":\"a\\u0000b\"}", NULL, -EINVAL, "a NUL byte");
}

static void test_get_parameters(void **state)
{
	struct secret a = { .name = (char *)"A", .value_from = (char *)"/a" };
	struct secret b = { .name = (char *)"B", .value_from = (char *)SSM "b" };
	struct secret *batch[] = { &a, &b };
	const char *ok = "{\"Parameters\":[{\"Name\":\"/b\",\"ARN\":\"" SSM "b\",\"Value\":\"vb\","
			 "\"Type\":\"SecureString\"},{\"Name\":\"/a\",\"Value\":\"va\"}],"
			 "\"InvalidParameters\":[]}";
	const char *missing = "{\"Parameters\":[],\"InvalidParameters\":[\"/a\"]}";
	char *err = NULL;

	a.id = (char *)"/a";
	b.id = (char *)SSM "b";
	assert_int_equal(secrets_from_get_parameters(batch, 2, ok, strlen(ok), &err), 0);
	assert_string_equal(a.value, "va");
	assert_string_equal(b.value, "vb");
	free(a.value);
	free(b.value);
	a.value = b.value = NULL;
	assert_int_equal(secrets_from_get_parameters(batch, 2, missing, strlen(missing), &err),
			 -ENOENT);
	assert_string_equal(err, "secret 'A' (/a): InvalidParameters: SSM Parameter Store has no "
				 "parameter '/a'");
	free(err);
	assert_int_equal(secrets_from_get_parameters(batch, 2, "{\"Parameters\":[]}", 17, &err),
			 -EPROTO);
	assert_string_equal(err, "secret 'A' (/a): GetParameters' answer does not have it");
	free(err);
	assert_null(a.value);
}

static void test_errors(void **state)
{
	static const struct {
		const char *header, *body, *code, *message;
	} cases[] = {
		{ NULL,
		  "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"Secrets Manager can't "
		  "find the specified secret.\"}",
		  "ResourceNotFoundException", "Secrets Manager can't find the specified secret." },
		{ NULL,
		  "{\"__type\":\"com.amazonaws.secretsmanager#AccessDeniedException\",\"message\":"
		  "\"no\"}",
		  "AccessDeniedException", "no" },
		{ "InvalidSignatureException:http://internal.amazon.com/coral/",
		  "{\"message\":\"x\"}", "InvalidSignatureException", "x" },
		{ NULL, "{\"message\":\"only a message\"}", NULL, "only a message" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *code = NULL, *msg = NULL;

		assert_int_equal(secrets_error_parse(cases[i].header, cases[i].body,
						     strlen(cases[i].body), &code, &msg),
				 0);
		assert_true(streq_ptr(code, cases[i].code));
		assert_true(streq_ptr(msg, cases[i].message));
		free(code);
		free(msg);
	}
	{
		char *code = NULL, *msg = NULL;

		assert_int_equal(secrets_error_parse(NULL, "<html>", 6, &code, &msg), -EINVAL);
	}
}

/* secrets_failed(): none before a fetch; the secret a fetch failed on (here: no credentials,
 * before any request) otherwise, which tells the service. */
static void test_failed(void **state)
{
	struct secrets *s = NULL;
	char *err = NULL;

	assert_int_equal(parse(TASK(ROLE, "{\"name\":\"app\",\"secrets\":["
					  "{\"name\":\"P\",\"valueFrom\":\"/prod/p\"},"
					  "{\"name\":\"Q\",\"valueFrom\":\"/prod/q\"}]}"),
			       &s, &err),
			 0);
	assert_null(secrets_failed(s));
	assert_int_equal(
		secrets_fetch(s, &(struct secrets_opts){ .netns_fd = -1, .region = "us-east-1" },
			      &err),
		-EINVAL);
	assert_non_null(secrets_failed(s));
	assert_string_equal(secrets_failed(s)->name, "P");
	assert_int_equal(secrets_failed(s)->source, SECRET_SOURCE_SSM);
	assert_string_equal(err,
			    "secret 'P': no credentials of the execution role to fetch it with");
	free(err);
	secrets_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_from),     cmocka_unit_test(test_task_definition),
		cmocka_unit_test(test_platform),       cmocka_unit_test(test_get_secret_value),
		cmocka_unit_test(test_get_parameters), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
