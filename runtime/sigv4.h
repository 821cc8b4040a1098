/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AWS Signature Version 4 (AWS4-HMAC-SHA256) of an HTTP request, with an Authorization header:
 * the canonical request, the string to sign, the signing key of the date, region and service,
 * and the signature, as AWS's general reference and its test suite (aws-sig-v4-test-suite) say.
 * Every header given is signed; the path is normalized (dot segments, duplicate slashes) and
 * each byte but '/' and the unreserved ones is percent-encoded, as for every service but S3; the
 * query's parameters are decoded, encoded again strictly and sorted. Pure; libcrypto.
 */
#ifndef TP_SIGV4_H
#define TP_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_DATE_LEN	16 /* YYYYMMDDTHHMMSSZ */

/* One request header. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* A request as it is sent. */
struct sigv4_request {
	const char *method;		    /* "POST" */
	const char *path;		    /* "/": as in the request line */
	const char *query;		    /* without the '?'; NULL: none */
	const struct sigv4_header *headers; /* all of them signed: Host and X-Amz-Date at least */
	size_t n_headers;
	const void *payload;
	size_t payload_len;
};

/* Who signs, when, for what. */
struct sigv4_key {
	const char *access_key_id;
	const char *secret_access_key;
	const char *region;   /* "us-east-1" */
	const char *service;  /* "secretsmanager", "ssm" */
	const char *amz_date; /* the X-Amz-Date header's value, YYYYMMDDTHHMMSSZ */
};

/* The canonical request of r (the test suite's .creq). */
int sigv4_canonical_request(const struct sigv4_request *r, char **ret);
/* The string to sign (the .sts) of a canonical request. */
int sigv4_string_to_sign(const char *canonical, const struct sigv4_key *k, char **ret);
/* The Authorization header's value (the .authz): algorithm, credential, signed headers and the
 * signature. -EINVAL for a key without its members or with a malformed date. */
int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_key *k, char **ret);
/* The X-Amz-Date of a time: YYYYMMDDTHHMMSSZ (UTC) into buf. */
void sigv4_format_date(time_t t, char buf[SIGV4_DATE_LEN + 1]);

#endif
